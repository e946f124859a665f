"""Fast objectives for weight search: ``loss(weights) -> float`` (lower is better) on a fixed prediction stack.

A weight search evaluates the blend thousands of times, so everything that does not depend on the weights is
computed once, when the objective is made:

* **ROC AUC** (binary): the models' positive-class columns are split into positive and negative rows; each
  evaluation is two float32 matrix-vector products, two SIMD sorts and a merge count (``searchsorted``) of the
  negatives below each positive, ties counted 1/2: the exact Mann-Whitney AUC, ~7x faster than
  ``sklearn.metrics.roc_auc_score`` on a million rows. Multiclass AUC averages this over the class columns.
* **Log loss**: a convex combination of probability rows has, in the true class's column, the same combination
  of the models' true-class probabilities, so the stack is reduced once to ``(n_models, n_rows)`` true-class
  probabilities and an evaluation is one matrix-vector product and a log.
* **Regression metrics**: one matrix-vector product, then the metric's own function.
* Flat metrics (those scored on labels: accuracy, F1, QWK; and MAP@k, a top-k ranking) give a weight search
  nothing to follow, so the search optimises log loss as a smooth surrogate; the blend is still reported in the
  competition's metric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..metrics import Metric, get_metric


@dataclass(frozen=True)
class Objective:
    """``loss(weights)``: the searched metric (``name``) of the weighted blend, negated when higher is better."""

    name: str
    loss: Callable[[np.ndarray], float]


def search_metric(metric: Metric) -> Metric:
    """The metric a weight search optimises: the competition's own, or log loss where it is flat (labels)."""
    return get_metric("log_loss") if metric.flat else metric


def make_objective(metric: Metric, preds: np.ndarray, y: np.ndarray, row_folds: np.ndarray | None = None) -> Objective:
    """An :class:`Objective` for blending ``preds`` (``(n_models, n_rows, n_columns)``) against ``y``.

    ``row_folds`` (the fold each row was held out in) makes ROC AUC the mean of per-fold AUCs, as the blend
    leaderboard scores it: OOF rows of different folds come from different fold models whose scores need not be
    on one scale, which a pooled AUC would count against them (the fold-pooled test predictions are on one
    scale). Decomposable metrics (log loss, errors) are the same pooled or per fold.
    """
    target = search_metric(metric)
    sign = -1.0 if target.greater_is_better else 1.0
    if target.name == "log_loss":
        return Objective("log_loss", _log_loss_loss(preds, y))
    if target.name == "roc_auc":
        if preds.shape[2] <= 2:
            per_class = [_auc_fn(preds[:, :, -1], y == 1, row_folds)]
        else:
            per_class = [_auc_fn(preds[:, :, c], y == c, row_folds) for c in range(preds.shape[2])]
        defined = [f for f in per_class if f is not None]
        if not defined:  # one class only: AUC is undefined, every weighting is as good as any other
            return Objective("roc_auc", lambda w: 0.0)
        if len(defined) == 1:
            return Objective("roc_auc", lambda w: -defined[0](w))
        return Objective("roc_auc", lambda w: -float(np.mean([f(w) for f in defined])))
    if target.needs == "value" and target.column_metric is None:  # one value column (a multi-target one: generic)
        values = np.ascontiguousarray(preds[:, :, 0], dtype=np.float32)
        fn = target.fn
        return Objective(target.name, lambda w: sign * fn(y, np.asarray(w, dtype=np.float32) @ values))

    def generic(w: np.ndarray) -> float:  # any other registered metric: score the whole blended matrix
        from .base import weighted_sum

        return sign * target.score(y, weighted_sum(w, preds))

    return Objective(target.name, generic)


def _log_loss_loss(preds: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], float]:
    rows = np.arange(preds.shape[1])
    codes = np.asarray(y, dtype=np.intp)
    # the true class's probability per model and row; a single column holds the positive class's
    single = preds.shape[2] == 1
    true_p = np.where(codes == 1, preds[:, :, 0], 1 - preds[:, :, 0]) if single else preds[:, rows, codes]
    true_p = np.ascontiguousarray(true_p, dtype=np.float32)
    eps = np.float32(np.finfo(np.float64).eps)  # the clip metrics.log_loss applies, whatever the dtype (2.2e-16)

    def loss(w: np.ndarray) -> float:
        p = np.asarray(w, dtype=np.float32) @ true_p
        np.clip(p, eps, 1 - eps, out=p)
        return float(-np.mean(np.log(p), dtype=np.float64))

    return loss


#: Above this many rows a per-fold AUC sorts fold by fold (float32); below, all folds in one float64 pass.
_ONE_PASS_ROWS = 50_000


def _auc_fn(
    score: np.ndarray, positive: np.ndarray, row_folds: np.ndarray | None
) -> Callable[[np.ndarray], float] | None:
    """Exact ROC AUC of ``w @ score`` (``score``: ``(n_models, n_rows)``) against ``positive``, averaged over the
    folds in ``row_folds`` that hold both classes (one fold when None); None when no fold has both."""
    groups = np.zeros(positive.shape[0], dtype=np.int64) if row_folds is None else np.asarray(row_folds)
    both = [g for g in np.unique(groups) if positive[groups == g].any() and not positive[groups == g].all()]
    if not both:
        return None
    if len(both) == 1:
        rows = groups == both[0]
        return _single_auc_fn(score[:, rows], positive[rows])
    if positive.shape[0] > _ONE_PASS_ROWS:  # many rows: fold by fold, each in float32
        per_fold = [_single_auc_fn(score[:, groups == g], positive[groups == g]) for g in both]
        return lambda w: float(np.mean([f(w) for f in per_fold]))
    # Few rows, where numpy's per-call overhead dominates: all folds in one pass. Each fold's scores are shifted by a
    # multiple of a step wider than their range, so that one sort orders fold by fold; the negatives of earlier folds
    # that every positive then counts are subtracted.
    pos_idx = np.concatenate([np.flatnonzero(positive & (groups == g)) for g in both])
    neg_idx = np.concatenate([np.flatnonzero(~positive & (groups == g)) for g in both])
    n_pos = np.array([np.count_nonzero(positive & (groups == g)) for g in both], dtype=np.int64)
    n_neg = np.array([np.count_nonzero(~positive & (groups == g)) for g in both], dtype=np.int64)
    step = float(np.ceil(float(np.max(score)) - float(np.min(score)))) + 1.0  # blends on the simplex stay in range
    pos_shift = np.repeat(np.arange(len(both)) * step, n_pos)
    neg_shift = np.repeat(np.arange(len(both)) * step, n_neg)
    pos = np.ascontiguousarray(score[:, pos_idx], dtype=np.float32)
    neg = np.ascontiguousarray(score[:, neg_idx], dtype=np.float32)
    starts = np.cumsum(n_pos) - n_pos
    earlier = 2 * n_pos * (np.cumsum(n_neg) - n_neg)  # counted twice: below and below-or-tied
    pairs2 = 2.0 * n_pos * n_neg
    n_folds = len(both)

    def auc(w: np.ndarray) -> float:
        w32 = np.asarray(w, dtype=np.float32)
        sp = np.sort((w32 @ pos) + pos_shift)
        sn = np.sort((w32 @ neg) + neg_shift)
        counts = np.searchsorted(sn, sp, side="left") + np.searchsorted(sn, sp, side="right")  # few rows: 2 calls
        per_fold = (np.add.reduceat(counts, starts) - earlier) / pairs2
        return float(per_fold.sum()) / n_folds

    return auc


def _single_auc_fn(score: np.ndarray, positive: np.ndarray) -> Callable[[np.ndarray], float]:
    """Exact ROC AUC of ``w @ score`` against ``positive`` (both classes present), in float32."""
    pos = np.ascontiguousarray(score[:, positive], dtype=np.float32)
    neg = np.ascontiguousarray(score[:, ~positive], dtype=np.float32)
    pairs = float(pos.shape[1]) * float(neg.shape[1])

    def auc(w: np.ndarray) -> float:
        w32 = np.asarray(w, dtype=np.float32)
        sp = np.sort(w32 @ pos)  # sorted needles: searchsorted walks the negatives in order
        sn = np.sort(w32 @ neg)
        return float(_twice_wins(sn, sp).sum(dtype=np.int64)) / (2.0 * pairs)

    return auc


def _twice_wins(sorted_neg: np.ndarray, sorted_pos: np.ndarray) -> np.ndarray:
    """For each positive: twice the negatives scored below it plus the negatives tied with it (a tie counts 1/2).

    One ``searchsorted`` finds the negatives below; ties, rare in a blend of continuous scores, are counted with a
    second one on the tied positives only.
    """
    below = np.searchsorted(sorted_neg, sorted_pos, side="left")
    out = 2 * below
    at = sorted_neg[np.minimum(below, sorted_neg.shape[0] - 1)]
    tied = np.flatnonzero(at == sorted_pos)
    if tied.size:
        out[tied] += np.searchsorted(sorted_neg, sorted_pos[tied], side="right") - below[tied]
    return out
