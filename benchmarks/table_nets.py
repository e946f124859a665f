"""The table nets side by side: ``mlp`` vs ``realmlp`` vs ``tabm``, each at its defaults, on the same folds.

Datasets (nothing downloaded): scikit-learn's breast cancer (binary, ROC AUC), diabetes (regression, RMSE) and a
generated regression table with periodic effects, ``y = sin(6 x1) + sin(8 x2) + x3 + noise`` with 3 noise columns
(RMSE; the noise std 0.1 is the best RMSE possible). Each kind runs through the kit's net adapter with its default
params, except ``epochs`` capped by ``--epochs`` for all (the same cap; early stopping on each fold's validation rows
as the runner does), on 1 thread. Printed per dataset and kind: the CV score over all OOF rows, the mean and std of
the fold scores, and the mean fit time per fold. The machine's load average is printed before and after.

    .venv/bin/python benchmarks/table_nets.py                      # 3 folds, epochs <= 32 (a few minutes)
    .venv/bin/python benchmarks/table_nets.py --kinds mlp realmlp --epochs 64 --params '{"embedding_sigma": 1.0}'
    .venv/bin/python benchmarks/table_nets.py --quick              # 2 folds, 2 epochs: the smoke test
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _machine import load_average, machine_line, versions
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import KFold, StratifiedKFold

from kaggle_kit.config import ModelSpec
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter

KINDS = ("mlp", "realmlp", "tabm")


def periodic(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 6))
    y = np.sin(6 * X[:, 0]) + np.sin(8 * X[:, 1]) + X[:, 2] + 0.1 * rng.normal(size=n)
    return X.astype(np.float32), y


def datasets(rows: int) -> dict[str, tuple[np.ndarray, np.ndarray, str, str]]:
    """name -> (X, y, task, metric)."""
    bc = load_breast_cancer(return_X_y=True)
    db = load_diabetes(return_X_y=True)
    return {
        "breast_cancer": (bc[0].astype(np.float32), bc[1], "binary", "roc_auc"),
        "diabetes": (db[0].astype(np.float32), db[1], "regression", "rmse"),
        f"periodic_{rows}": (*periodic(rows), "regression", "rmse"),
    }


def cross_validate(kind: str, X: np.ndarray, y: np.ndarray, task: str, metric: str, args: argparse.Namespace) -> dict:
    n_classes = 1 if task == "regression" else int(y.max()) + 1
    ctx = FitContext(task=task, n_classes=n_classes, metric=get_metric(metric), seed=0, device="cpu", threads=1)
    splitter = (KFold if task == "regression" else StratifiedKFold)(args.folds, shuffle=True, random_state=0)
    names = tuple(f"f{i}" for i in range(X.shape[1]))
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), names, ())  # noqa: E731
    oof = np.zeros((len(y), max(n_classes, 1)), dtype=np.float32)
    seconds, scores, epochs = [], [], []
    for tr, va in splitter.split(X, y):
        params = {"epochs": args.epochs} | (args.params if kind != "mlp" else {})
        adapter = make_adapter(ModelSpec(name=kind, kind=kind, params=params))
        start = time.perf_counter()
        fitted = adapter.fit(fm(tr), y[tr], fm(va), y[va], ctx)
        oof[va] = adapter.predict(fitted, fm(va), ctx)
        seconds.append(time.perf_counter() - start)
        scores.append(ctx.metric.score(y[va], oof[va]))
        epochs.append(fitted.best_iteration)
    return {
        "cv": float(ctx.metric.score(y, oof)),
        "fold_mean": float(np.mean(scores)),
        "fold_std": float(np.std(scores)),
        "seconds_per_fold": float(np.mean(seconds)),
        "best_epochs": epochs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=32, help="the epochs cap of every kind")
    parser.add_argument("--rows", type=int, default=2000, help="rows of the periodic table")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument(
        "--params", type=json.loads, default={}, help="JSON params for realmlp and tabm, e.g. '{\"k\": 8}'"
    )
    parser.add_argument("--quick", action="store_true", help="2 folds, 2 epochs, 400 periodic rows")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.folds, args.epochs, args.rows = 2, 2, 400
    import torch

    torch.set_num_threads(1)
    print(machine_line())
    print(versions("torch", "numpy"))
    print(f"{args.folds} folds, epochs <= {args.epochs}, 1 thread, the kinds' default params otherwise {args.params}\n")
    figures: dict = {"load_before": load_average(), "folds": args.folds, "epochs": args.epochs, "params": args.params}
    figures["datasets"] = {}
    for name, (X, y, task, metric) in datasets(args.rows).items():
        print(f"{name}: {X.shape[0]} rows x {X.shape[1]} columns, {task}, {metric}")
        figures["datasets"][name] = {}
        for kind in args.kinds:
            r = cross_validate(kind, X, y, task, metric, args)
            figures["datasets"][name][kind] = r
            print(
                f"  {kind:8s} CV {r['cv']:.5f}   folds {r['fold_mean']:.5f} +- {r['fold_std']:.5f}   "
                f"{r['seconds_per_fold']:6.1f} s/fold   best epochs {r['best_epochs']}",
                flush=True,
            )
    figures["load_after"] = load_average()
    print(f"\nload average before {figures['load_before']}, after {figures['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
