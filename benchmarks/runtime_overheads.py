"""Two per-model overheads of a run, each against the way the kit did it before (the peer, measured in this run):

* ``linear design``: the linear model's design matrix (scaled numbers, missing indicators, a one-hot of three
  categorical columns) written into one preallocated array, against the parts built one by one and joined with
  ``np.hstack`` (9.7 s over the folds of 1M rows); the linear model's predictions from both designs are compared;
* ``score once``: a model's OOF scored when its last fold is in (the live CV) and again when the run assembles it:
  the second time is now a digest of the matrix (:func:`kaggle_kit.runtime.scoring.score_oof`), against a second
  :func:`~kaggle_kit.runtime.scoring.score_folds` (0.33 s a model on 1M rows).

    .venv/bin/python benchmarks/runtime_overheads.py                 # 1M rows
    .venv/bin/python benchmarks/runtime_overheads.py --rows 200000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from _machine import load_average, machine_line

from kaggle_kit.config import ModelSpec
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter
from kaggle_kit.models.linear_adapter import _Preprocessor
from kaggle_kit.runtime import scoring
from kaggle_kit.runtime.folds import make_folds


def best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def hstack_design(prep: _Preprocessor, X: np.ndarray) -> np.ndarray:
    """The design as the kit built it before: each part its own array, then ``np.hstack`` (the peer)."""
    num = X[:, prep.numeric].astype(np.float64)
    missing = np.isnan(num)
    part = prep._numeric_part(np.where(missing, prep.medians, num))
    parts = [prep.steps["scaler"].transform(part), missing[:, prep.indicators].astype(np.float64)]
    for j, kept, rare in zip(prep.categorical, prep.levels, prep.rare, strict=True):
        one_hot = np.zeros((len(X), len(kept) + bool(rare)))
        lookup = np.full(max(kept + rare) + 1, -1)
        lookup[kept] = np.arange(len(kept))
        lookup[rare] = len(kept)
        codes = np.where(np.isnan(X[:, j]), -1, X[:, j]).astype(np.int64)
        target = np.where((codes >= 0) & (codes < len(lookup)), lookup[np.clip(codes, 0, len(lookup) - 1)], -1)
        hit = target >= 0
        one_hot[np.flatnonzero(hit), target[hit]] = 1.0
        parts.append(one_hot)
    return np.ascontiguousarray(np.hstack(parts))


def linear_design(n: int) -> None:
    rng = np.random.default_rng(0)
    numbers = rng.normal(size=(n, 8))
    numbers[rng.random(numbers.shape) < 0.05] = np.nan
    codes = np.column_stack([rng.integers(0, k, size=n) for k in (40, 12, 200)]).astype(float)
    X = np.column_stack([numbers, codes]).astype(np.float32)
    fm = FeatureMatrix(X, tuple(f"c{j}" for j in range(X.shape[1])), (8, 9, 10))
    y = np.nan_to_num(numbers[:, 0]) + (codes[:, 0] % 3) + rng.normal(size=n)
    ctx = FitContext("regression", 1, get_metric("rmse"), 0, "cpu", threads=1)
    adapter = make_adapter(ModelSpec(name="lin", kind="linear"))
    fitted = adapter.fit(fm, y, fm, y, ctx)
    prep, est = fitted.model["prep"], fitted.model["estimator"]
    # each design read once (.sum()), as the solver reads it: a preallocated array's zero pages are only mapped then
    kit = best_of(lambda: prep.transform(X).sum(), 3)
    peer = best_of(lambda: hstack_design(prep, X).sum(), 3)
    ours, theirs = prep.transform(X), hstack_design(prep, X)
    diff = float(np.abs(est.predict(ours) - est.predict(theirs)).max())
    print(
        f"linear design, {n:,} rows x {ours.shape[1]} columns, built and read once: preallocated {kit:.3f} s, "
        f"hstack (before) {peer:.3f} s, ratio {kit / peer:.2f}; designs equal: {np.array_equal(ours, theirs)}, "
        f"predictions' largest difference {diff:.3g}"
    )


def score_once(n: int) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=n).astype(np.float64)
    oof = np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1)[:, None]
    folds = make_folds(n, strategy="kfold", n_splits=5, seed=0)
    metric = get_metric("roc_auc")
    full = best_of(lambda: scoring.score_folds(oof, y, folds, metric), 3)
    scoring.score_oof(oof, y, folds, metric)  # the live CV's
    again = best_of(lambda: scoring.score_oof(oof.copy(), y, folds, metric), 3)  # the assembly's: another array
    print(
        f"score once, {n:,} rows, 5 folds, roc_auc: a model's second scoring {again:.4f} s (a digest) against "
        f"{full:.4f} s (score_folds again, before): ratio {again / full:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(machine_line())
    linear_design(args.rows)
    score_once(args.rows)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
