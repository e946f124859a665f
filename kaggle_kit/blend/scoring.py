"""The one honest score of a prediction matrix, for models and blends alike: the metric on each (repeat, fold)'s
held-out rows of its train-order predictions, their mean, and all rows scored at once.

A model's stored OOF and a blend's nested-CV OOF are the same kind of thing: one prediction per training row, made
by something that never saw that row, averaged over the repeats of repeated folds. Both are scored here, the same
way, so that a blend of one model scores exactly that model, and ``kaggle-kit blend`` and ``kaggle-kit report`` rank
models and blends alike. (A model's per-fold scores recorded by the run score each repeat's fold model on its own;
with repeated folds those are not comparable with predictions averaged over repeats, so neither ranking uses them.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..folds import Folds
from ..metrics import Metric


@dataclass(frozen=True)
class FoldScores:
    """``scores[i]`` is the metric on the held-out rows of ``folds[i]`` (a ``(repeat, fold)`` pair); ``pooled`` is
    every predicted row scored at once; :attr:`mean` is the honest score leaderboards rank by."""

    folds: tuple[tuple[int, int], ...]
    scores: tuple[float, ...]
    pooled: float

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores)) if self.scores else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.scores)) if self.scores else float("nan")


def score_folds(
    pred: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    metric: Metric,
    tasks: Iterable[tuple[int, int]] | None = None,
) -> FoldScores:
    """Score ``pred`` (``(n_rows, n_columns)`` in train row order; ``nan`` rows were never predicted) fold by fold
    over ``tasks`` (default: every ``(repeat, fold)`` of ``folds``); a fold with no predicted row is left out."""
    pred = np.asarray(pred)
    if pred.ndim == 1:
        pred = pred[:, None]
    finite = np.isfinite(pred).all(axis=1)
    pairs, scores = [], []
    for r, k in folds.tasks() if tasks is None else tasks:
        valid_idx = folds.train_valid(r, k)[1]
        valid_idx = valid_idx[finite[valid_idx]]
        if valid_idx.size:
            pairs.append((int(r), int(k)))
            scores.append(float(metric.score(y[valid_idx], pred[valid_idx])))
    pooled = float(metric.score(y[finite], pred[finite])) if finite.any() else float("nan")
    return FoldScores(tuple(pairs), tuple(scores), pooled)


def common_folds(preds: Mapping[str, np.ndarray], folds: Folds) -> tuple[tuple[int, int], ...]:
    """The ``(repeat, fold)`` pairs whose held-out rows every one of ``preds`` predicted somewhere: the folds on which
    they can all be compared (a blend is not scored on the first block of time folds, which it cannot fit on)."""
    finite = [np.isfinite(np.asarray(p).reshape(len(p), -1)).all(axis=1) for p in preds.values()]
    out = []
    for r, k in folds.tasks():
        valid_idx = folds.train_valid(r, k)[1]
        if all(f[valid_idx].any() for f in finite):
            out.append((int(r), int(k)))
    return tuple(out)


def honest_scores(
    preds: Mapping[str, np.ndarray], y: np.ndarray, folds: Folds, metric: Metric
) -> dict[str, FoldScores]:
    """:func:`score_folds` of every prediction matrix (models' OOF, blends' nested OOF) on their common folds."""
    tasks = common_folds(preds, folds)
    return {name: score_folds(p, y, folds, metric, tasks) for name, p in preds.items()}
