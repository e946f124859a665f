"""How the predictions of a model's fold models are pooled into one: its test predictions (every fold's model on
the test rows), its OOF predictions over repeats, and new rows' predictions (``kaggle-kit predict``).

Class probabilities are pooled in log space: the mean of the fold models' log-probabilities, normalised (a
normalised geometric mean; for one probability per column, a multilabel target's, the mean log-odds). Other values
(regression, a distribution's bins or quantiles) are averaged.

Why: the mean of the probabilities of models that disagree is less confident than the models are, so
fold-averaged test predictions were less confident than the same model's OOF predictions (one fold model per row),
which the blends are fitted on. ``benchmarks/fold_pooling.py`` re-pools the stored fold predictions both ways,
the fitted models and blends unchanged (hidden-row log loss of the submission; ``benchmarks/RESULTS.md`` section
18): digits 0.02047 -> 0.01771 (``good``) and 0.02117 -> 0.01845 (``best`` at 120 s), the 200,000-row 5-class
table at 60 s 0.51358 -> 0.51124, anes96 level over 20 splits (-0.00013, s.e. 0.00028); ROC AUC on fair and breast
cancer unchanged or within 0.0007. A probability is floored at :data:`FLOOR` first: a fold model's 0 (a forest's
leaf with no row of the class) would otherwise make the pooled probability 0 whatever the other folds say.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..metrics import Metric

Space = Literal["mean", "log", "logit"]
FLOOR = 1e-6  #: probabilities are clipped to [FLOOR, 1 - FLOOR] before their logs are pooled


def metric_pooling_space(metric: Metric) -> Space:
    """:func:`pooling_space` of the task ``metric`` scores (a blend knows the run's metric, not its task): class
    probabilities in log space, a multi-target metric's independent probabilities as log-odds, values as they are."""
    if metric.needs not in ("proba", "label"):
        return "mean"
    return "logit" if metric.column_metric is not None else "log"


def pooling_space(task: str) -> Space:
    """``log`` for class probabilities (binary, multiclass: one column per class), ``logit`` for a multilabel
    target's independent probabilities, ``mean`` for values (regression, multi-target regression, a distribution
    task's CDF at its bins or values at its quantile levels)."""
    if task in ("binary", "multiclass"):
        return "log"
    return "logit" if task == "multilabel" else "mean"


class FoldPool:
    """A running pool of fold models' predictions: :meth:`add` each fold's ``(n_rows, n_columns)`` predictions (of
    all rows, or of ``rows``), then :meth:`result` (rows no fold predicted are NaN; a row one fold predicted is that
    prediction, exactly: a pool of one is its member, unclipped)."""

    def __init__(self, n_rows: int, n_columns: int, space: Space) -> None:
        self.space = space
        self.total = np.zeros((n_rows, n_columns), dtype=np.float64)
        self.count = np.zeros(n_rows, dtype=np.int64)
        self.first = np.zeros((n_rows, n_columns), dtype=np.float64) if space != "mean" else None

    def add(self, pred: np.ndarray, rows: np.ndarray | slice = slice(None)) -> None:
        values = np.asarray(pred, dtype=np.float64).reshape(self.total[rows].shape)
        if self.first is not None:
            positions = np.arange(len(self.count))[rows]
            fresh = self.count[positions] == 0
            self.first[positions[fresh]] = values[fresh]
        if self.space == "log":
            values = np.log(np.clip(values, FLOOR, 1.0))
        elif self.space == "logit":
            p = np.clip(values, FLOOR, 1.0 - FLOOR)
            values = np.log(p) - np.log1p(-p)
        self.total[rows] += values
        self.count[rows] += 1

    def result(self) -> np.ndarray:
        out = np.full(self.total.shape, np.nan, dtype=np.float64)
        seen = self.count > 0
        mean = self.total[seen] / self.count[seen, None]
        if self.space == "log":
            mean = np.exp(mean)  # >= FLOOR: nothing to underflow
            mean /= mean.sum(axis=1, keepdims=True)
        elif self.space == "logit":
            mean = 1.0 / (1.0 + np.exp(-mean))
        out[seen] = mean
        if self.first is not None:
            once = self.count == 1
            out[once] = self.first[once]
        return out.astype(np.float32)


__all__ = ["FLOOR", "FoldPool", "Space", "metric_pooling_space", "pooling_space"]
