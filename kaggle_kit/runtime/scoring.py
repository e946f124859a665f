"""The one honest score of a prediction matrix, fold by fold: what a run's leaderboard, ``kaggle-kit report`` and
``kaggle-kit blend`` all score a model's OOF with (and ``blend`` a blend's nested OOF), so that the three agree.

The metric is taken on each (repeat, fold)'s held-out rows of train-order predictions (``nan`` rows were never
predicted), their mean is what leaderboards rank by, and all rows are also scored at once (``pooled``: a model's CV).
A label metric on a binary task (F1, Dice, accuracy, balanced accuracy) labels each fold's held-out rows at the
decision threshold chosen on the fold's *training* rows of the same predictions
(:func:`~kaggle_kit.metrics.choose_threshold`), never at a fixed 0.5 and never on the rows it scores. It lives with
the run machinery because the runner scores every model it assembles with it; :mod:`kaggle_kit.blend.scoring` adds
the comparison of several matrices on common folds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..metrics import Metric, choose_threshold
from .folds import Folds

Thresholds = Mapping[tuple[int, int], float]


@dataclass(frozen=True)
class FoldScores:
    """``scores[i]`` is the metric on the held-out rows of ``folds[i]`` (a ``(repeat, fold)`` pair); ``pooled`` is
    every predicted row scored at once; :attr:`mean` is the honest score leaderboards rank by."""

    folds: tuple[tuple[int, int], ...]
    scores: tuple[float, ...]
    pooled: float
    thresholds: tuple[float, ...] = ()  # the decision threshold each fold was scored at (label metrics, binary)

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
    thresholds: Thresholds | float | None = None,
) -> FoldScores:
    """Score ``pred`` (``(n_rows, n_columns)`` in train row order; ``nan`` rows were never predicted) fold by fold
    over ``tasks`` (default: every ``(repeat, fold)`` of ``folds``); a fold with no predicted row is left out, and so
    is a fold whose held-out rows hold one label, where the metric is undefined (ROC AUC on a fold without a positive
    of a rare class): its ``nan`` had made the mean of every model and blend ``nan``, and their ranking arbitrary.

    Where the metric uses a decision threshold (:meth:`~kaggle_kit.metrics.Metric.thresholded`), each fold is scored
    at ``thresholds[(repeat, fold)]``, or at one threshold for all when a number is given; otherwise (a fold not in
    ``thresholds``, or none given) at the threshold chosen on the fold's training rows of ``pred`` (a model's OOF).
    The pooled score labels each row at the mean threshold of the folds that held it out."""
    pred = np.asarray(pred)
    if pred.ndim == 1:
        pred = pred[:, None]
    finite = np.isfinite(pred).all(axis=1)
    use_threshold = metric.thresholded(pred)
    row_threshold = np.zeros(len(pred))  # the sum of the thresholds of the folds that held a row out, and how many
    row_count = np.zeros(len(pred))
    pairs, scores, chosen = [], [], []
    for r, k in folds.tasks() if tasks is None else tasks:
        train_idx, valid_idx = folds.train_valid(r, k)
        valid_idx = valid_idx[finite[valid_idx]]
        if not valid_idx.size:
            continue
        t = None
        if use_threshold:
            if isinstance(thresholds, (int, float)):
                t = float(thresholds)
            elif thresholds is not None and (int(r), int(k)) in thresholds:
                t = float(thresholds[(int(r), int(k))])
            else:  # chosen on the fold's training rows of pred
                train_idx = train_idx[finite[train_idx]]
                t = choose_threshold(metric, y[train_idx], pred[train_idx]) if train_idx.size else 0.5
            row_threshold[valid_idx] += t
            row_count[valid_idx] += 1
        score = float(metric.score(y[valid_idx], pred[valid_idx], t))
        if np.isnan(score) and _one_label(y[valid_idx]):
            continue  # the metric is undefined on one label (ROC AUC, a fold without a positive): not a score of 0
        if use_threshold:
            chosen.append(t)
        pairs.append((int(r), int(k)))
        scores.append(score)
    pooled = float("nan")
    if use_threshold:
        scored = finite & (row_count > 0)
        if scored.any():
            at = row_threshold[scored] / row_count[scored]
            pooled = float(metric.fn(y[scored], (pred[scored][:, -1] > at).astype(np.intp)))
    elif finite.any():
        pooled = float(metric.score(y[finite], pred[finite]))
    return FoldScores(tuple(pairs), tuple(scores), pooled, tuple(chosen))


def undefined_folds(y: np.ndarray, folds: Folds, metric: Metric, n_columns: int) -> tuple[tuple[int, int], ...]:
    """The ``(repeat, fold)`` pairs whose held-out labels leave ``metric`` undefined (one label: ROC AUC without a
    positive), which :func:`score_folds` leaves out of every model's and blend's mean; said once by a run, since the
    leaderboard's fold scores are then fewer than its folds. Probed with a constant ``n_columns``-column prediction:
    whether the metric is undefined on one label depends on the labels alone."""
    out = []
    for r, k in folds.tasks():
        labels = y[folds.train_valid(r, k)[1]]
        if not labels.size or not _one_label(labels):
            continue
        try:
            score = metric.score(labels, np.full((len(labels), n_columns), 1 / max(n_columns, 2)))
        except Exception:  # a prediction this probe cannot stand in for: not said (a note, never a failed run)
            continue
        if np.isnan(score):
            out.append((int(r), int(k)))
    return tuple(out)


def _one_label(y: np.ndarray) -> bool:
    """Whether every target column of ``y`` holds at most one distinct label (``nan``: a multi-target row's missing
    label), where a metric such as ROC AUC is undefined: a multilabel fold whose columns are each of one class, though
    of different classes (0 in one, 1 in another), is undefined too."""
    columns = np.asarray(y).reshape(len(y), -1).T
    labelled = (c[c == c] for c in columns)
    return all(not (c != c[0]).any() for c in labelled if c.size)  # one pass, no sort: a run asks of every fold
