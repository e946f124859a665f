"""Arithmetic combinations of numeric columns for the extra-trees LightGBM: measured before a pipeline step is built.

AutoGluon 1.6's CPU portfolio feeds an extra-trees LightGBM with features generated inside the folds, arithmetic
combinations among them; the kit's ``lightgbm_xt`` reads counts and target encodings of categorical columns only.
Here, with LightGBM itself (the kit's ``lightgbm_xt`` defaults: learning rate 0.05, ``extra_trees``, early stopping
after 100 rounds on the fold's validation rows, as the kit stops), on the same folds: the numeric columns as they
are, against them plus the sum, difference, product and ratio of every pair of the 6 columns a first fit of the
fold's training rows found most useful (gain). Scored on the pooled OOF rows, mean of 3 fold seeds.

The portfolio's tables (``_datasets.py``; fixed, nothing is downloaded) but digits, whose pixels are no quantities.

    .venv/bin/python benchmarks/arithmetic_features.py
    .venv/bin/python benchmarks/arithmetic_features.py --datasets fair --seeds 5
    .venv/bin/python benchmarks/arithmetic_features.py --quick     # seconds: the code path only (the tests)
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
from _datasets import Dataset, by_name
from _machine import load_average, machine_line

from kaggle_kit.metrics import get_metric

DATASETS = "breast_cancer,diabetes,fair,anes96,randhie"
TOP = 6  # the columns whose pairs are combined: 15 pairs, 60 new columns


def with_pairs(X: np.ndarray, columns: list[int]) -> np.ndarray:
    """``X`` and, for each pair of ``columns``, their sum, difference, product and ratio (missing where the divisor
    is 0)."""
    out = [X]
    for i, j in itertools.combinations(columns, 2):
        a, b = X[:, i], X[:, j]
        ratio = np.divide(a, b, out=np.full_like(a, np.nan), where=np.abs(b) > 1e-12)
        out.append(np.column_stack([a + b, a - b, a * b, ratio]))
    return np.hstack(out)


def _oof(ds: Dataset, X: np.ndarray, y: np.ndarray, seed: int, quick: bool) -> dict[str, np.ndarray]:
    import lightgbm as lgb
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (KFold if ds.task == "regression" else StratifiedKFold)(
        2 if quick else 5, shuffle=True, random_state=seed
    )
    n_classes = int(y.max()) + 1 if ds.task == "multiclass" else 1
    oof = {v: np.zeros((len(y), n_classes)) for v in ("as they are", "with pairs")}
    objective = {"regression": "regression", "binary": "binary", "multiclass": "multiclass"}[ds.task]
    params = {"objective": objective, "learning_rate": 0.05, "extra_trees": True, "num_threads": 1, "verbose": -1,
              "seed": seed, **({"num_class": n_classes} if ds.task == "multiclass" else {})}  # fmt: skip

    def fit(matrix: np.ndarray, train: np.ndarray, valid: np.ndarray) -> Any:
        data = lgb.Dataset(matrix[train], y[train])
        held = lgb.Dataset(matrix[valid], y[valid], reference=data)
        stop = [lgb.early_stopping(10 if quick else 100, verbose=False)]
        return lgb.train(params, data, num_boost_round=60 if quick else 5000, valid_sets=[held], callbacks=stop)

    for train, valid in splitter.split(X, y):
        first = fit(X, train, valid)
        top = [int(c) for c in np.argsort(-first.feature_importance("gain"))[:TOP]]
        paired = with_pairs(X, top)
        second = fit(paired, train, valid)
        for variant, booster, matrix in (("as they are", first, X), ("with pairs", second, paired)):
            pred = booster.predict(matrix[valid], num_iteration=booster.best_iteration)
            oof[variant][valid] = pred.reshape(len(valid), n_classes)
    return oof


def measure(ds: Dataset, seeds: int, quick: bool) -> dict[str, Any]:
    frame = ds.load()
    raw = frame[ds.target].to_numpy()
    y = raw if ds.task == "regression" else np.unique(raw, return_inverse=True)[1]
    X = frame.drop(ds.target).to_numpy().astype(np.float64)
    if quick:  # 300 rows drawn at random: a file may be sorted by its target
        rows = np.random.default_rng(0).permutation(len(y))[:300]
        X, y = X[rows], y[rows]
    metric = get_metric(ds.metric)
    scores: dict[str, list[float]] = {"as they are": [], "with pairs": []}
    for seed in range(seeds):
        for variant, pred in _oof(ds, X, y, seed, quick).items():
            scores[variant].append(float(metric.score(y, pred[:, 0] if pred.shape[1] == 1 else pred)))
    return {"metric": ds.metric, "scores": scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=DATASETS)
    parser.add_argument("--seeds", type=int, default=3, help="fold seeds 0 .. N-1")
    parser.add_argument("--quick", action="store_true", help="300 rows, 2 folds, 60 rounds: the code path only")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    print(machine_line())
    figures: dict[str, Any] = {}
    for ds in by_name(args.datasets):
        load_before = load_average()
        entry = measure(ds, 1 if args.quick else args.seeds, args.quick)
        entry["load"] = [load_before, load_average()]
        figures[ds.name] = entry
        base, pairs = (float(np.mean(entry["scores"][v])) for v in ("as they are", "with pairs"))
        better = get_metric(ds.metric).better(pairs, base)
        print(
            f"{ds.name:<14} {ds.metric:<9} as they are {base:.5f}, with pairs {pairs:.5f} "
            f"({'better' if better else 'worse'}); load {entry['load']}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
