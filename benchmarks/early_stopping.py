"""Early stopping on the competition metric or on the loss: which gives the better CV (sets ``early_stopping_metric
= "auto"``).

A boosting model early-stops on its fold's validation rows. Stopping on the competition metric itself follows what
is scored, but a flat metric (accuracy) or one that saturates on few rows (AUC of an imbalanced task) makes the
stopping point noisy: on real data LightGBM stopped after 4-76 rounds on an imbalanced AUC task and after 43-49 on a
10-class accuracy task. Stopping on the smooth loss (log loss / RMSE) is steadier but follows another quantity.

For each dataset, library and choice (``metric``, ``loss``) the script holds out 20 % of the rows (stratified for
classification) and runs the kit's own ``run()`` on the rest (5 stratified folds, the library's kit defaults,
learning rate 0.05, up to ``--rounds`` rounds, patience ``--patience``) for ``--seeds`` seeds (the hold-out, the
folds and the model seeds change together). It prints, averaged over the seeds, three scores: the OOF score of all
rows at once (the leaderboard's CV), the mean of the per-fold scores, and the held-out rows scored on the
fold-averaged test predictions (what a submission gets), with the mean rounds kept. Pooled OOF and per-fold scores
can disagree for a rank metric: folds stopped at very different rounds put their predictions on different scales.
Datasets, all made or shipped by scikit-learn:

* ``breast_cancer`` (569 rows, binary, ROC AUC);
* ``imbalanced`` (``make_classification``, 3,000 rows, 5 % positives, 2 % flipped labels, binary, ROC AUC);
* ``digits`` (1,797 rows, 10 classes, accuracy);
* ``diabetes`` (442 rows, regression, MAE).

    .venv/bin/python benchmarks/early_stopping.py                     # every dataset, xgboost and lightgbm
    .venv/bin/python benchmarks/early_stopping.py --libraries lightgbm,catboost --seeds 5
    .venv/bin/python benchmarks/early_stopping.py --quick             # seconds: the test suite's check
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _machine import load_average, machine_line, versions
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, make_classification

from kaggle_kit.config import build_spec
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.runner import run

CHOICES = ("metric", "loss")
SCORES = ("cv", "fold_mean", "held_out")


def _better(metric: Any, a: float, b: float) -> str:
    return "metric" if metric.better(a, b) else "loss" if metric.better(b, a) else "tie"


def _imbalanced() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=3000, n_features=20, n_informative=5, weights=[0.95], flip_y=0.02, random_state=0
    )


#: name -> (loader returning X, y; task; metric)
DATASETS: dict[str, tuple[Callable[[], tuple[np.ndarray, np.ndarray]], str, str]] = {
    "breast_cancer": (lambda: load_breast_cancer(return_X_y=True), "binary", "roc_auc"),
    "imbalanced": (_imbalanced, "binary", "roc_auc"),
    "digits": (lambda: load_digits(return_X_y=True), "multiclass", "accuracy"),
    "diabetes": (lambda: load_diabetes(return_X_y=True), "regression", "mae"),
}


def frame(X: np.ndarray, y: np.ndarray) -> pl.DataFrame:
    columns = {f"f{i}": X[:, i].astype(np.float32) for i in range(X.shape[1])}
    return pl.DataFrame({"id": np.arange(len(y)), **columns, "target": y})


def split(X: np.ndarray, y: np.ndarray, task: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training part and of the 20 % held out (per class for classification)."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    stratify = y if task != "regression" else None
    train, held = train_test_split(rows, test_size=0.2, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(held)


def cv_score(
    dataset: str, library: str, choice: str, seed: int, args: argparse.Namespace, root: Path
) -> dict[str, float]:
    """OOF score, mean fold score, held-out score, mean rounds kept and seconds of one run of the kit."""
    from kaggle_kit.runtime.store import RunStore

    loader, task, metric = DATASETS[dataset]
    X_all, y_all = loader()
    train_rows, held_rows = split(X_all, y_all, task, seed)
    X, y = X_all[train_rows], y_all[train_rows]
    model: dict[str, Any] = {
        "name": "m",
        "kind": library,
        "num_boost_round": args.rounds,
        "early_stopping_rounds": args.patience,
        "early_stopping_metric": choice,
    }
    spec = build_spec(
        {
            "name": f"es-{dataset}-{library}-{choice}-{seed}",
            "task": task,
            "metric": metric,
            "seed": seed,
            "device": "cpu",
            "data": {"train": "unused.csv", "id": "id", "target": "target"},
            "folds": {"n_splits": 5},
            "run": {"n_jobs": 1, "threads_per_task": args.threads},
            "models": [model],
        }
    )
    test = frame(X_all[held_rows], y_all[held_rows]).drop("target").with_columns(pl.col("id") + len(y_all))
    start = time.perf_counter()
    result = run(spec, runs_root=root, train=frame(X, y), test=test, progress=None, record_history=False)
    seconds = time.perf_counter() - start
    entry = next(m for m in result.models if m.name == "m")
    if entry.status != "ok":
        raise SystemExit(f"{dataset} {library} {choice}: the run failed: {entry.error}")
    pred = RunStore(result.run_dir).read_predictions("m", "test").drop("id").to_numpy()
    return {
        "cv": entry.cv,
        "fold_mean": float(np.mean(entry.fold_scores)),
        "held_out": get_metric(metric).score(y_all[held_rows], pred),
        "rounds": float(entry.best_iteration or 0),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--libraries", default="xgboost,lightgbm")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--patience", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.datasets, args.libraries, args.seeds, args.rounds, args.patience = "breast_cancer", "lightgbm", 1, 40, 10

    libraries = args.libraries.split(",")
    print(machine_line())
    print(versions(*libraries))
    print(
        f"80 % of the rows in 5 stratified folds, 20 % held out, x {args.seeds} seed(s); up to {args.rounds} rounds, "
        f"patience {args.patience}, {args.threads} thread(s); scores averaged over the seeds: OOF / fold mean / "
        "held out (rounds kept)"
    )
    rows: list[dict[str, Any]] = []
    header = f"{'dataset':14} {'metric':9} {'library':9} " + " ".join(f"{'on ' + c:>38}" for c in CHOICES)
    print(header + "   better (OOF, fold mean, held out)")
    with tempfile.TemporaryDirectory(prefix="kit-es-") as tmp:
        for dataset in args.datasets.split(","):
            _, _, metric_name = DATASETS[dataset]
            metric = get_metric(metric_name)
            for library in libraries:
                row: dict[str, Any] = {"dataset": dataset, "scored_by": metric_name, "library": library}
                for choice in CHOICES:
                    runs = [
                        cv_score(dataset, library, choice, seed, args, Path(tmp) / f"{dataset}-{library}-{choice}")
                        for seed in range(args.seeds)
                    ]
                    row[choice] = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
                    row[choice]["seconds"] = float(sum(r["seconds"] for r in runs))
                    for key in SCORES:
                        row[choice][f"{key}_per_seed"] = [r[key] for r in runs]
                row["better"] = {key: _better(metric, row["metric"][key], row["loss"][key]) for key in SCORES}
                rows.append(row)
                cells = " ".join(
                    " ".join(f"{row[c][k]:.5f}" for k in SCORES) + f" ({row[c]['rounds']:>5.0f})" for c in CHOICES
                )
                verdict = ", ".join(row["better"][k] for k in SCORES)
                print(f"{dataset:14} {metric_name:9} {library:9} {cells}   {verdict}", flush=True)
    print(f"load average after: {load_average()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "load_after": load_average()}, indent=1))


if __name__ == "__main__":
    main()
