"""The metric registry: what a competition is scored by, in which direction, and on what kind of prediction.

Every metric is a plain numpy function of ``(y_true, y_pred)`` wrapped in a :class:`Metric` that knows
its direction, which prediction kind it scores and which tasks it is valid for. :meth:`Metric.score` takes the
kit's *stored* prediction matrix and converts it: argmax labels for label metrics, the positive column or the
full matrix for probability metrics, a flat vector for regression metrics.

The functions are written for speed (a blend optimiser calls them thousands of times on up to a million rows)
and agree with scikit-learn 1.9 to ~1e-12 on ordinary inputs. Deliberate differences, all documented on the
function:

* ``roc_auc`` returns ``nan`` (no warning, no exception) when ``y_true`` holds a single class; for multiclass
  it averages one-vs-rest AUCs over the classes present in ``y_true`` (scikit-learn raises when one is
  missing).
* ``qwk`` weights disagreements by the distance between class *codes*, as Kaggle's reference implementation
  does; scikit-learn weights by the distance between *indices of the labels seen*, which differs only when a
  code in the middle appears in neither ``y_true`` nor the predictions.
* ``rmsle`` clips negative predictions at 0 and refuses a negative target.
* No metric warns: undefined values come back as ``nan`` for the caller to handle. A NaN *input* is no undefined
  value: :meth:`Metric.score` refuses it (a :class:`~kaggle_kit.errors.DataError` naming the rows), since a label
  metric would read a NaN row as class 0 and a multiclass ROC AUC would leave the column out, without a word.

A distribution task (``task = "distribution"``) is scored on a CDF at bins (``crps``) or on values at quantile levels
(``pinball``): those metrics are bound to the run's bins / levels (:meth:`Metric.bind`, :func:`run_metric`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from .errors import ConfigError, DataError, KitError, allowed, did_you_mean

Task = Literal["binary", "multiclass", "regression", "distribution", "multilabel", "multiregression"]
MetricInput = Literal["proba", "label", "value", "cdf", "quantile"]

TASKS: frozenset[str] = frozenset(
    {"binary", "multiclass", "regression", "distribution", "multilabel", "multiregression"}
)
#: tasks with several target columns (``data.target = ["a", "b", ...]``): scored column by column
MULTI_TARGET_TASKS: frozenset[str] = frozenset({"multilabel", "multiregression"})
METRIC_INPUTS: frozenset[str] = frozenset({"proba", "label", "value", "cdf", "quantile"})
FIT_TRANSFORMS: frozenset[str] = frozenset({"log1p"})
_CLASSIFICATION = frozenset({"binary", "multiclass"})
_REGRESSION = frozenset({"regression"})
_VALUE_TASKS = frozenset({"regression", "multiregression"})
_DISTRIBUTION = frozenset({"distribution"})
#: the prediction kinds of a distribution task: a CDF at given bins, or values at given quantile levels
DISTRIBUTION_INPUTS: frozenset[str] = frozenset({"cdf", "quantile"})


# ------------------------------------------------------------------------------------------------------------
# Conversions
# ------------------------------------------------------------------------------------------------------------


def to_labels(pred: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Label codes from a prediction matrix: the argmax over columns (ties go to the lowest code).

    A 1-D array (or a single column) is read as the positive-class probability of a binary task: label 1 where
    it exceeds 0.5, the same answer as the argmax of ``[1 - p, p]``. ``threshold`` (binary only) replaces 0.5:
    label 1 where the positive-class probability exceeds it.
    """
    pred = np.asarray(pred)
    if threshold is not None and is_binary(pred):
        return (positive_column(pred) > threshold).astype(np.intp)
    if pred.ndim == 2 and pred.shape[1] > 1:
        return np.argmax(pred, axis=1)
    if pred.ndim == 1 or (pred.ndim == 2 and pred.shape[1] == 1):
        return (pred.reshape(-1) > 0.5).astype(np.intp)
    raise KitError(f"to_labels needs a prediction matrix of shape (n, n_classes) or (n,); got shape {pred.shape}")


def is_binary(pred: np.ndarray) -> bool:
    """Whether ``pred`` is a binary prediction: ``(n,)``, ``(n, 1)`` (the positive class) or ``(n, 2)``."""
    return pred.ndim == 1 or (pred.ndim == 2 and pred.shape[1] <= 2)


def positive_column(pred: np.ndarray) -> np.ndarray:
    """The positive-class probability of a binary prediction (``(n,)``, ``(n, 1)`` or column 1 of ``(n, 2)``)."""
    pred = np.asarray(pred)
    return pred.reshape(-1) if pred.ndim == 1 or pred.shape[1] == 1 else pred[:, 1]


def top_k_codes(proba: np.ndarray, k: int) -> np.ndarray:
    """``(n, min(k, C))`` class codes ranked by descending probability (ties: the lower code first)."""
    p = np.asarray(proba)
    if p.ndim == 1 or p.shape[1] == 1:
        p = np.column_stack([1 - p.reshape(-1), p.reshape(-1)])
    return np.argsort(-p, axis=1, kind="stable")[:, :k]


def _codes(y_true: np.ndarray) -> np.ndarray:
    """``y_true`` as an integer code array, without copying when it already is one."""
    y = np.asarray(y_true)
    if y.dtype.kind in "iu":
        return y
    if y.dtype.kind == "b":
        return y.astype(np.intp)
    if y.dtype.kind == "f":
        with np.errstate(invalid="ignore"):  # nan/inf cast to garbage, then fail the equality check
            codes = y.astype(np.intp)
        if np.array_equal(codes, y):
            return codes
    if y.dtype.kind == "f" and np.isnan(y).any():
        rows = np.flatnonzero(np.isnan(y.reshape(y.shape[0], -1)).any(axis=1))
        raise DataError(
            f"a classification y_true holds NaN (a missing label) in {rows.shape[0]} of {y.shape[0]} rows (first: row "
            f"{int(rows[0])}); score the labelled rows only"
        )
    if y.dtype.kind == "f":  # name a value that is no whole number: the first three may all be
        odd = np.flatnonzero(codes != y)
        first = float(y.reshape(-1)[odd[0]])
        raise DataError(
            f"a classification y_true must hold integer class codes 0..C-1; got {first!r} in row {int(odd[0])} "
            f"({odd.shape[0]} of {y.size} values are no whole number); encode the target column first"
        )
    raise DataError(
        "a classification y_true must hold integer class codes 0..C-1; got dtype "
        f"{y.dtype} with values such as {y[:3].tolist()}; encode the target column first"
    )


def _numbers(metric: str, values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as numbers: an object array (a pandas column) converted; text refused with a :class:`DataError`
    (ROC AUC had ranked text predictions alphabetically, without a word)."""
    if values.dtype.kind in "iufb":
        return values
    if values.dtype.kind == "O":
        try:
            return values.astype(np.float64)
        except (TypeError, ValueError):
            pass
    shown = [str(v) for v in values.reshape(-1)[:3]]
    raise DataError(
        f"metric {metric!r}: the {what} must hold numbers; got dtype {values.dtype} with values such as {shown}"
    )


def _refuse_nan(metric: str, values: np.ndarray, what: str, rows: np.ndarray | None = None) -> None:
    """Raise a :class:`DataError` when ``values`` hold NaN: a metric has no score for a missing value, and the
    functions would not say so (a label metric reads a NaN row as class 0, a multiclass ROC AUC leaves its column
    out, the others return ``nan``). One ``min`` over the array, which NaN propagates through: the blend optimiser
    scores thousands of times. ``rows``: the target's row of each value (a multi-target column's labelled rows)."""
    if values.dtype.kind != "f" or not values.size or not np.isnan(values.min()):
        return
    bad = np.flatnonzero(np.isnan(values.reshape(values.shape[0], -1)).any(axis=1))
    first = int(bad[0] if rows is None else rows[bad[0]])
    raise DataError(
        f"metric {metric!r}: the {what} holds NaN in {bad.shape[0]} of {values.shape[0]} "
        f"{'rows' if rows is None else 'labelled rows'} (first: row {first}), which no metric can score; score the "
        "rows that have a value only"
    )


# ------------------------------------------------------------------------------------------------------------
# The metric functions: fn(y_true, y_pred) -> float, y_pred already in the kind the metric needs
# ------------------------------------------------------------------------------------------------------------


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of rows whose predicted label equals the true one."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def log_loss(y_true: np.ndarray, y_proba: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class, computed as ``sklearn.metrics.log_loss`` 1.9 does on float64.

    ``y_proba`` is ``(n, C)`` (one column per class code) or ``(n,)``, the positive-class probability of a
    binary task. Probabilities are clipped to ``[eps, 1 - eps]`` with ``eps`` the float64 machine epsilon (2.2e-16,
    so a confident miss costs ~36.04, not ``inf``; Kaggle's 1e-15 makes it 34.5), whatever their dtype: scikit-learn
    takes the epsilon of the input's dtype, which for the float32 predictions a run stores is 1.2e-7, and a
    confident miss cost only 15.9, ranking an overconfident model above where the leaderboard puts it. Rows are
    *not* renormalised (scikit-learn only warns when they do not sum to one).
    """
    y = _codes(y_true)
    p = np.asarray(y_proba)
    eps = np.finfo(np.float64).eps
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    # a flat column is the positive class: sklearn builds [1 - p, p] first, then clips (1 - p in float64)
    p_true = np.where(y == 1, p, 1 - p.astype(np.float64)) if p.ndim == 1 else p[np.arange(p.shape[0]), y]
    p_true = np.clip(p_true.astype(np.float64, copy=False), eps, 1 - eps)
    return float(-np.mean(np.log(p_true)))


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney U statistic over average ranks (ties count 1/2); nan for one class.

    Same ranks as ``scipy.stats.rankdata`` but about twice as fast: one argsort, then tie groups found on the
    sorted scores and the positives' rank sum accumulated in exact integer arithmetic (as twice the sum, so
    that the half ranks of tie groups stay integral). A nan score makes the result nan.
    """
    n = positive.shape[0]
    n_pos = int(np.count_nonzero(positive))
    n_neg = n - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(score)
    s = score[order]
    if s.dtype.kind in "fc" and np.isnan(s[-1]):  # argsort puts nan last
        return math.nan
    pos = positive[order]
    group_start = np.empty(n, dtype=bool)
    group_start[0] = True
    np.not_equal(s[1:], s[:-1], out=group_start[1:])
    starts = np.flatnonzero(group_start)
    if starts.shape[0] == n:  # no ties: the rank of sorted position i is i + 1
        twice_rank_sum = 2 * (int(np.flatnonzero(pos).sum()) + n_pos)
    else:  # a tie group over positions [start, end) shares the rank (start + 1 + end) / 2
        ends = np.append(starts[1:], n)
        pos_in_group = np.diff(np.cumsum(pos, dtype=np.int64)[ends - 1], prepend=0)
        twice_rank_sum = int(np.dot(pos_in_group, starts + ends + 1))
    return (twice_rank_sum / 2 - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve; for multiclass the unweighted mean of one-vs-rest AUCs.

    ``y_score`` is ``(n,)`` (the positive-class score), ``(n, 2)`` (column 1 is used) or ``(n, C)`` with
    ``C > 2``: then each column ``c`` is scored against ``y_true == c`` and the AUCs are averaged, which is
    ``sklearn.metrics.roc_auc_score(multi_class="ovr", average="macro")``.

    Undefined cases return ``nan`` quietly instead of raising: a binary ``y_true`` with one class only, or a
    multiclass ``y_true`` with no class that has both positives and negatives. A multiclass class absent from
    ``y_true`` (common in a small fold) is left out of the average rather than failing the whole score.
    """
    y = _codes(y_true)
    s = np.asarray(y_score)
    if s.ndim == 2 and s.shape[1] <= 2:
        s = s[:, -1]
    if s.ndim == 1:
        return _binary_auc(y == 1, s)
    aucs = [_binary_auc(y == c, s[:, c]) for c in range(s.shape[1])]
    defined = [a for a in aucs if not math.isnan(a)]
    return float(np.mean(defined)) if defined else math.nan


def _confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Confusion matrix via bincount (rows: true code, columns: predicted code), sized to the largest code."""
    y = _codes(y_true)
    p = _codes(y_pred)
    n_classes = int(max(y.max(initial=0), p.max(initial=0))) + 1
    return np.bincount(y * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def f1_macro(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``y_true`` or ``y_pred`` (as scikit-learn).

    For a binary task this averages the F1 of *both* classes; it is not the positive-class F1.
    """
    cm = _confusion(y_true, y_pred)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1) + cm.sum(axis=0)  # = 2 tp + fp + fn
    present = support > 0
    if not present.any():
        return math.nan
    return float(np.mean(2.0 * tp[present] / support[present]))


def f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 of the positive class (code 1) of a binary task, ``2 tp / (2 tp + fp + fn)``; on binary labels this is the
    Dice coefficient. ``nan`` when undefined (no positive row and no positive prediction; scikit-learn gives 0)."""
    y = np.asarray(y_true) == 1
    p = np.asarray(y_pred) == 1
    tp = int(np.count_nonzero(y & p))
    denominator = 2 * tp + int(np.count_nonzero(y ^ p))
    return 2.0 * tp / denominator if denominator else math.nan


def mcc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Matthews correlation coefficient of class codes (``sklearn.metrics.matthews_corrcoef``; multiclass: its
    K-class form, ``(c s - t.p) / sqrt((s^2 - p.p) (s^2 - t.t))`` over the confusion matrix). A constant prediction
    scores 0 (no correlation, as scikit-learn); ``nan`` when ``y_true`` holds one class, where it is undefined
    (scikit-learn gives 0): a fold without a positive is left out, as ROC AUC's is."""
    cm = _confusion(y_true, y_pred).astype(np.float64)
    true, predicted = cm.sum(axis=1), cm.sum(axis=0)
    if np.count_nonzero(true) < 2:
        return math.nan
    s = cm.sum()
    denominator = math.sqrt((s * s - float(predicted @ predicted)) * (s * s - float(true @ true)))  # as sklearn
    return float((np.trace(cm) * s - float(true @ predicted)) / denominator) if denominator else 0.0


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y_true`` (``sklearn.metrics.balanced_accuracy_score``); a class
    that is only predicted, never true, does not count."""
    cm = _confusion(y_true, y_pred)
    support = cm.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(cm)[present] / support[present]))


def map_at_k(k: int) -> Callable[[np.ndarray, np.ndarray], float]:
    """Mean average precision at ``k`` with one true label per row, as Kaggle defines it: a row scores
    ``1 / rank`` of its true label among the ``k`` most probable classes (ties: the lower code ranks first, as
    :func:`top_k_codes` writes them), 0 when it is not among them. Scores ``(n, C)`` class probabilities."""

    def fn(y_true: np.ndarray, y_proba: np.ndarray) -> float:
        y = _codes(y_true)
        p = np.asarray(y_proba)
        if p.ndim == 1 or p.shape[1] == 1:
            p = np.column_stack([1 - p.reshape(-1), p.reshape(-1)])
        p_true = p[np.arange(p.shape[0]), y][:, None]
        codes = np.arange(p.shape[1])[None, :]
        # the true class's rank: classes more probable, and equally probable ones with a lower code, come first
        rank = 1 + np.count_nonzero((p > p_true) | ((p == p_true) & (codes < y[:, None])), axis=1)
        return float(np.mean(np.where(rank <= k, 1.0 / rank, 0.0)))

    fn.__qualname__ = f"map_at_k({k})"
    return fn


def qwk(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Quadratic weighted Cohen's kappa over ordinal class codes.

    Equals ``sklearn.metrics.cohen_kappa_score(weights="quadratic")`` whenever every code between the smallest
    and largest one seen occurs in ``y_true`` or ``y_pred``; otherwise it equals scikit-learn with
    ``labels=range(C)`` (weights use the code distance, as in Kaggle's reference implementation). ``nan`` when
    undefined (every row in one and the same class).
    """
    cm = _confusion(y_true, y_pred).astype(np.float64)
    n_classes = cm.shape[0]
    codes = np.arange(n_classes, dtype=np.float64)
    weights = (codes[:, None] - codes[None, :]) ** 2
    total = cm.sum()
    if total == 0:
        return math.nan
    expected = np.outer(cm.sum(axis=1), cm.sum(axis=0)) / total
    denominator = float(np.sum(weights * expected))
    if denominator == 0:
        return math.nan
    return float(1.0 - np.sum(weights * cm) / denominator)


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    diff = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.sqrt(np.mean(diff * diff)))


def rmsle(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared log error, ``rmse(log1p(y_true), log1p(max(y_pred, 0)))``.

    Negative predictions are clipped at 0 (a regressor may undershoot a non-negative target; scikit-learn
    would raise below -1 and score -1 < y < 0 as is). A negative ``y_true`` raises a
    :class:`~kaggle_kit.errors.DataError`: the metric is meaningless there. Models scored by it should be fit
    on ``log1p(y)`` (see ``Metric.fit_transform``), so that minimising squared error minimises this metric.
    """
    y = np.asarray(y_true, dtype=np.float64)
    if np.any(y < 0):
        raise DataError(
            f"rmsle needs a non-negative target, but y_true has {int(np.count_nonzero(y < 0))} negative "
            f"values (min {float(np.min(y))}); use metric 'rmse' instead, "
            "or shift the target so that it is >= 0"
        )
    p = np.maximum(np.asarray(y_pred, dtype=np.float64), 0.0)
    diff = np.log1p(y) - np.log1p(p)
    return float(np.sqrt(np.mean(diff * diff)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64))))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination; for a constant ``y_true``: 1.0 if hit exactly, else 0.0 (as sklearn)."""
    y = np.asarray(y_true, dtype=np.float64)
    diff = y - np.asarray(y_pred, dtype=np.float64)
    ss_res = float(np.sum(diff * diff))
    centred = y - np.mean(y)
    ss_tot = float(np.sum(centred * centred))
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return 1.0 - ss_res / ss_tot


def crps(y_true: np.ndarray, cdf: np.ndarray, bins: np.ndarray | tuple[float, ...]) -> float:
    """The discrete continuous ranked probability score of Kaggle's NFL Big Data Bowl: the mean over rows ``i`` and
    bins ``j`` of ``(cdf[i, j] - 1[y_i <= bins[j]])^2``. ``cdf`` is ``(n, len(bins))``, the predicted
    ``P(Y <= bins[j])``; lower is better, 0 for a step at the right place. Times ``bin width x number of bins`` it
    approximates the continuous CRPS ``integral (F(x) - 1[y <= x])^2 dx`` over the bins' range."""
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    F = np.asarray(cdf, dtype=np.float64)
    b = np.asarray(bins, dtype=np.float64)
    if F.ndim != 2 or F.shape != (y.shape[0], b.shape[0]):
        raise KitError(
            f"crps needs one CDF row per target row and one column per bin: ({y.shape[0]}, {b.shape[0]}); got {F.shape}"
        )
    return float(np.mean(crps_rows(y, F, b)))


def crps_rows(y_true: np.ndarray, cdf: np.ndarray, bins: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """Each row's CRPS (the mean over its bins), the terms :func:`crps` averages."""
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    b = np.asarray(bins, dtype=np.float64)
    # 1[y <= b_j] is 1 from the first bin at or above y on: a row's step starts at searchsorted(bins, y, "left")
    step = np.arange(b.shape[0])[None, :] >= np.searchsorted(b, y, side="left")[:, None]
    diff = np.asarray(cdf, dtype=np.float64) - step
    return np.mean(diff * diff, axis=1)


def pinball(y_true: np.ndarray, quantiles: np.ndarray, levels: np.ndarray | tuple[float, ...]) -> float:
    """Pinball (quantile) loss averaged over rows and levels: for level ``t`` and prediction ``q``,
    ``max(t (y - q), (t - 1) (y - q))``. ``quantiles`` is ``(n, len(levels))``; lower is better."""
    y = np.asarray(y_true, dtype=np.float64).reshape(-1, 1)
    q = np.asarray(quantiles, dtype=np.float64)
    t = np.asarray(levels, dtype=np.float64)[None, :]
    if q.ndim != 2 or q.shape != (y.shape[0], t.shape[1]):
        raise KitError(
            f"pinball needs one row per target row and one column per quantile level: ({y.shape[0]}, {t.shape[1]}); "
            f"got {q.shape}"
        )
    return float(np.mean(pinball_rows(y, q, t)))


def pinball_rows(y_true: np.ndarray, quantiles: np.ndarray, levels: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """Each row's pinball loss (the mean over its levels), the terms :func:`pinball` averages."""
    diff = np.asarray(y_true, dtype=np.float64).reshape(-1, 1) - np.asarray(quantiles, dtype=np.float64)
    t = np.asarray(levels, dtype=np.float64).reshape(1, -1)
    return np.mean(np.maximum(t * diff, (t - 1.0) * diff), axis=1)


def grid_label(value: float) -> str:
    """A bin or quantile level as a column name spells it: ``-99`` and ``7`` for whole numbers, else ``0.25``."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def grid_columns(metric: Metric) -> list[str]:
    """A distribution task's stored prediction columns: ``cdf_<bin>`` per bin, or ``q_<level>`` per level."""
    prefix = "cdf" if metric.needs == "cdf" else "q"
    return [f"{prefix}_{grid_label(v)}" for v in metric.grid or ()]


def distribution_median(pred: np.ndarray, needs: str, grid: tuple[float, ...]) -> np.ndarray:
    """A point summary of each row's predicted distribution: the first bin where the CDF reaches 0.5 (the last bin
    when it never does), or the value at the quantile level nearest 0.5."""
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(grid, dtype=np.float64)
    if needs == "cdf":
        return g[np.minimum(np.argmax(p >= 0.5, axis=1) + (~(p >= 0.5).any(axis=1)) * (len(g) - 1), len(g) - 1)]
    return p[:, int(np.argmin(np.abs(g - 0.5)))]


def _f1_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2.0 * tp / denominator, np.nan)


def _accuracy_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    return (tp + tn) / (tp + fp + fn + tn)


def _balanced_accuracy_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    n_pos, n_neg = tp + fn, tn + fp  # the same for every threshold
    if n_pos[0] and n_neg[0]:
        return (tp / n_pos + tn / n_neg) / 2
    return tp / n_pos if n_pos[0] else tn / n_neg


def _mcc_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    # a cut predicting one class scores 0, as mcc() does (the rows of one class only: 0 at every cut, 0.5 kept)
    denominator = np.sqrt((tp + fp) * (tn + fn) * (tp + fn) * (tn + fp))  # float64 counts: no integer overflow
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (tp * tn - fp * fn) / denominator, 0.0)


#: binary label metrics as a vectorised function of the confusion counts at every threshold (exact and fast);
#: any other label metric is evaluated candidate by candidate
_FROM_COUNTS: dict[Callable[..., float], Callable[..., np.ndarray]] = {
    f1: _f1_counts,
    accuracy: _accuracy_counts,
    balanced_accuracy: _balanced_accuracy_counts,
    mcc: _mcc_counts,
}


def choose_threshold(metric: Metric, y_true: np.ndarray, pred: np.ndarray, max_candidates: int = 256) -> float:
    """The decision threshold on the positive-class probability that scores best by ``metric`` on these rows.

    Candidates are 0.5 and the midpoints between consecutive distinct probabilities: all of them for F1 / Dice,
    accuracy, balanced accuracy and MCC (scored at once from confusion counts, ``O(n log n)``), at most
    ``max_candidates`` (at evenly spaced quantiles) for another label metric, which is scored at each. Ties go to
    the candidate nearest 0.5. Call it on out-of-fold rows only: the threshold is fitted to them. Returns 0.5 for a
    metric that uses none (see :meth:`Metric.thresholded`) or when there are no rows.
    """
    p = np.asarray(pred)
    if not metric.thresholded(p) or p.shape[0] == 0:
        return 0.5
    y = _codes(np.asarray(y_true).reshape(-1))
    pos = positive_column(p).astype(np.float64)
    values = np.unique(pos)
    counts_fn = _FROM_COUNTS.get(metric.fn)
    if counts_fn is None and values.shape[0] > max_candidates + 1:
        values = np.unique(np.quantile(values, np.linspace(0.0, 1.0, max_candidates + 1)))
    candidates = np.append((values[1:] + values[:-1]) / 2, 0.5) if values.shape[0] > 1 else np.array([0.5])
    candidates = candidates[np.argsort(np.abs(candidates - 0.5), kind="stable")]  # nearest 0.5 first wins ties
    if counts_fn is not None:
        is_pos = y == 1
        sorted_all, sorted_pos = np.sort(pos), np.sort(pos[is_pos])
        predicted = (pos.shape[0] - np.searchsorted(sorted_all, candidates, side="right")).astype(np.float64)
        tp = (sorted_pos.shape[0] - np.searchsorted(sorted_pos, candidates, side="right")).astype(np.float64)
        fp = predicted - tp
        fn = sorted_pos.shape[0] - tp
        tn = (pos.shape[0] - sorted_pos.shape[0]) - fp
        scores = counts_fn(tp, fp, fn, tn)
        if np.all(np.isnan(scores)):
            return 0.5
        best_index = int(np.nanargmax(scores) if metric.greater_is_better else np.nanargmin(scores))
        return float(candidates[best_index])  # argmax: the first best, i.e. the one nearest 0.5
    best, best_score = 0.5, metric.worst
    for t in candidates:
        score = metric.fn(y, (pos > t).astype(np.intp))
        if metric.better(score, best_score):
            best, best_score = float(t), score
    return best


# ------------------------------------------------------------------------------------------------------------
# Metric and registry
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """A named metric: its raw function, direction, the prediction kind it scores and its valid tasks.

    ``fit_transform="log1p"`` tells the trainer to fit models on ``log1p(y)`` and ``expm1`` their predictions,
    so that the models' squared-error objective is the metric (RMSLE); :meth:`score` always works on the
    original scale.

    ``domain`` is the closed range of values the metric can score: a prediction outside it is clipped into it
    (:meth:`clip`, the one place the runner does so, and the leaderboard says how many), and a regression target
    outside it is refused before anything is fitted. Classification metrics score probabilities: ``(0, 1)``.
    ``ordinal`` metrics (qwk) weigh the distance between class codes, so text labels need an order from the user.
    """

    name: str
    fn: Callable[..., float]
    greater_is_better: bool
    needs: MetricInput
    tasks: frozenset[str]
    fit_transform: Literal["log1p"] | None = None
    domain: tuple[float, float] | None = None
    ordinal: bool = False
    top_k: int | None = None  # MAP@k: the submission is the k most probable labels per row, space-separated
    #: a distribution metric's bins (``needs="cdf"``) or quantile levels (``"quantile"``), set by :meth:`bind`
    grid: tuple[float, ...] | None = None
    #: a multi-target metric: the registered single-target metric scored on each target column (its non-missing
    #: rows only) and averaged over the columns where it is defined (:meth:`score`)
    column_metric: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"a metric name must be a non-empty string; got {self.name!r}")
        if not callable(self.fn):
            raise ConfigError(f"metric {self.name!r}: fn must be callable; got {self.fn!r}")
        if self.needs not in METRIC_INPUTS:
            raise ConfigError(
                f"metric {self.name!r}: needs={self.needs!r} is not one of {allowed(METRIC_INPUTS)}."
                + did_you_mean(str(self.needs), METRIC_INPUTS)
            )
        tasks = frozenset(self.tasks)
        object.__setattr__(self, "tasks", tasks)
        if not tasks:
            raise ConfigError(f"metric {self.name!r}: tasks is empty; give at least one of {allowed(TASKS)}")
        unknown = sorted(tasks - TASKS)
        if unknown:
            raise ConfigError(
                f"metric {self.name!r}: unknown task {unknown[0]!r} in tasks; allowed: {allowed(TASKS)}."
                + did_you_mean(unknown[0], TASKS)
            )
        if self.needs == "value":
            fits = tasks <= _VALUE_TASKS
        elif self.needs in DISTRIBUTION_INPUTS:
            fits = tasks == _DISTRIBUTION
        else:
            fits = tasks <= _CLASSIFICATION | {"multilabel"}
        if not fits:
            raise ConfigError(
                f"metric {self.name!r}: needs='value' goes with tasks {{'regression', 'multiregression'}} only, "
                f"'cdf'/'quantile' with tasks={{'distribution'}} only, and 'proba'/'label' with classification tasks "
                f"(binary, multiclass, multilabel) only; "
                f"got needs={self.needs!r}, tasks={sorted(tasks)}"
            )
        if (self.column_metric is not None) != bool(tasks & MULTI_TARGET_TASKS) or (
            tasks & MULTI_TARGET_TASKS and not tasks <= MULTI_TARGET_TASKS
        ):
            raise ConfigError(
                f"metric {self.name!r}: a metric of the multi-target tasks ({allowed(MULTI_TARGET_TASKS)}) names "
                f"the single-target metric it averages over the columns (column_metric), and scores those tasks "
                f"only; got column_metric={self.column_metric!r}, tasks={sorted(tasks)}"
            )
        if self.top_k is not None and (not isinstance(self.top_k, int) or self.top_k < 1 or self.needs != "proba"):
            raise ConfigError(f"metric {self.name!r}: top_k={self.top_k!r} must be an int >= 1 on a 'proba' metric")
        if self.fit_transform is not None and self.fit_transform not in FIT_TRANSFORMS:
            raise ConfigError(
                f"metric {self.name!r}: fit_transform={self.fit_transform!r} is not None or {allowed(FIT_TRANSFORMS)}"
            )

    def bind(self, grid: tuple[float, ...] | list[float] | np.ndarray) -> Metric:
        """This distribution metric scoring predictions at ``grid``: the bins of a CDF (increasing) or the quantile
        levels (increasing, inside (0, 1)), one prediction column each."""
        if self.needs not in DISTRIBUTION_INPUTS:
            raise ConfigError(f"metric {self.name!r} scores {self.needs!r} predictions; it takes no bins or levels")
        values = tuple(float(v) for v in np.asarray(grid, dtype=np.float64).reshape(-1))
        if not values or not all(math.isfinite(v) for v in values):
            raise ConfigError(f"metric {self.name!r}: the bins / levels must be finite numbers; got {list(values)}")
        if any(b <= a for a, b in itertools.pairwise(values)):
            raise ConfigError(f"metric {self.name!r}: the bins / levels must increase; got {list(values)[:10]}")
        if self.needs == "quantile" and not (values[0] > 0.0 and values[-1] < 1.0):
            raise ConfigError(f"metric {self.name!r}: quantile levels must lie in (0, 1); got {list(values)[:10]}")
        return replace(self, grid=values)

    @property
    def flat(self) -> bool:
        """Whether the metric is piecewise constant in the probabilities (labels, a top-k ranking): a weight search
        has nothing to follow on it."""
        return self.needs == "label" or self.top_k is not None

    def thresholded(self, pred: np.ndarray) -> bool:
        """Whether scoring ``pred`` turns probabilities into labels at a decision threshold (a label metric on a
        binary prediction): then :func:`choose_threshold` picks it on out-of-fold rows instead of 0.5."""
        return self.needs == "label" and is_binary(np.asarray(pred))

    def score(self, y_true: np.ndarray, pred: np.ndarray, threshold: float | None = None) -> float:
        """Score a *stored* prediction matrix against ``y_true``, converting it to what :attr:`fn` needs.

        Classification: ``pred`` is ``(n, C)`` probabilities (``(n,)`` or ``(n, 1)`` is read as the
        positive-class probability of a binary task) and ``y_true`` integer codes ``0..C-1``; a label metric on a
        binary prediction labels 1 where the positive probability exceeds ``threshold`` (default 0.5). Regression:
        ``pred`` is ``(n,)`` or ``(n, 1)``. Rows are not filtered; a row-count or shape mismatch raises a
        :class:`KitError`.
        """
        y = np.asarray(y_true)
        p = np.asarray(pred)
        if self.column_metric is not None:
            return self._score_columns(y, p)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise KitError(f"metric {self.name!r}: y_true must be 1-D; got shape {y.shape}")
        if p.ndim not in (1, 2) or p.shape[0] != y.shape[0]:
            raise KitError(
                f"metric {self.name!r}: the prediction has shape {p.shape} but y_true has {y.shape[0]} rows; "
                "pass one prediction row per target row, in the same order"
            )
        if y.shape[0] == 0:
            raise KitError(f"metric {self.name!r}: nothing to score (0 rows)")
        p = _numbers(self.name, p, "prediction")
        _refuse_nan(self.name, p, "prediction")
        if self.needs in DISTRIBUTION_INPUTS or self.needs == "value":
            y = _numbers(self.name, y, "y_true")
            _refuse_nan(self.name, y, "y_true")

        if self.needs in DISTRIBUTION_INPUTS:
            if self.grid is None:
                raise KitError(
                    f"metric {self.name!r} scores predictions at bins / quantile levels, and none were given; use "
                    "get_metric(name, grid) (a run's: kaggle_kit.metrics.run_metric(meta))"
                )
            if p.ndim != 2 or p.shape[1] != len(self.grid):
                raise KitError(
                    f"metric {self.name!r} scores {len(self.grid)} column(s), one per bin / level, but the prediction "
                    f"has shape {p.shape}"
                )
            return self.fn(y.astype(np.float64), p, self.grid)  # type: ignore[call-arg]

        if self.needs == "value":
            if p.ndim == 2 and p.shape[1] != 1:
                raise KitError(
                    f"metric {self.name!r} scores one value per row, but the prediction has {p.shape[1]} columns"
                )
            return self.fn(y, p.reshape(-1))

        y = _codes(y)
        n_classes = p.shape[1] if p.ndim == 2 and p.shape[1] > 1 else 2
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            raise DataError(
                f"metric {self.name!r}: y_true holds class code {lo if lo < 0 else hi}, but the prediction "
                f"has {n_classes} class columns (codes 0..{n_classes - 1}); encode the target as 0..C-1 and "
                "store one probability column per class"
            )
        if self.needs == "label":
            return self.fn(y, to_labels(p, threshold))
        if p.ndim == 2 and p.shape[1] == 1:
            p = p[:, 0]
        return self.fn(y, p)

    def _score_columns(self, y: np.ndarray, p: np.ndarray) -> float:
        """The column-wise mean of a multi-target metric, as competitions define it (mean column-wise log loss,
        mean ROC AUC, MCRMSE): column ``j`` of ``y`` (``(n, T)``, NaN = a missing label) is scored against column
        ``j`` of ``p`` on its non-missing rows only; columns where the metric is undefined (no labelled row, or one
        class only for ROC AUC) are left out of the mean; ``nan`` when no column is defined."""
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        p = p.reshape(-1, 1) if p.ndim == 1 else p
        if y.ndim != 2 or p.shape != y.shape:
            raise KitError(
                f"metric {self.name!r}: the prediction has shape {p.shape} but y_true {y.shape}; a multi-target "
                "metric scores one prediction column per target column, row for row"
            )
        if y.shape[0] == 0:
            raise KitError(f"metric {self.name!r}: nothing to score (0 rows)")
        p = _numbers(self.name, p, "prediction")
        inner = get_metric(self.column_metric)  # type: ignore[arg-type]
        y = _numbers(self.name, y, "y_true").astype(np.float64, copy=False)  # text: not '1' read as 1
        scores = []
        for j in range(y.shape[1]):
            seen = ~np.isnan(y[:, j])
            if not seen.any():
                continue
            # a NaN prediction of a labelled row had made the column's score nan, and the column left out of the mean
            _refuse_nan(self.name, p[seen, j], f"prediction of target column {j}", np.flatnonzero(seen))
            target = y[seen, j]
            if self.needs != "value":  # 0 / 1 labels: a soft 0.5 had been truncated to 0, a 2 read as a negative
                odd = np.flatnonzero(seen & (y[:, j] != 0) & (y[:, j] != 1))  # rows of the target, not of the column
                if odd.size:
                    raise DataError(
                        f"metric {self.name!r}: target column {j} holds {float(y[odd[0], j]):g} in row {int(odd[0])} "
                        f"({odd.size} of {int(seen.sum())} labelled rows); a multilabel column holds 0 / 1 labels "
                        "(NaN = missing)"
                    )
                target = target.astype(np.intp)
            score = inner.fn(target, p[seen, j])
            if not math.isnan(score):
                scores.append(score)
        return float(np.mean(scores)) if scores else math.nan

    def clip(self, pred: np.ndarray) -> tuple[np.ndarray, int]:
        """``pred`` clipped into :attr:`domain` and how many values were outside it (NaN stays NaN, uncounted)."""
        if self.domain is None:
            return pred, 0
        lo, hi = self.domain
        with np.errstate(invalid="ignore"):
            outside = int(np.count_nonzero((pred < lo) | (pred > hi)))
        return (np.clip(pred, lo, hi).astype(pred.dtype, copy=False) if outside else pred), outside

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` is strictly better than ``b``; ``nan`` loses to any number and to itself."""
        if math.isnan(a):
            return False
        if math.isnan(b):
            return True
        return a > b if self.greater_is_better else a < b

    @property
    def worst(self) -> float:
        """The worst possible value in this metric's direction: a starting point that any real score beats."""
        return -math.inf if self.greater_is_better else math.inf


METRICS: dict[str, Metric] = {}


def _qualname(fn: Callable[..., object]) -> str:
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None) or repr(fn)
    return f"{module}.{name}" if module else name


def register(metric: Metric) -> Metric:
    """Add ``metric`` to :data:`METRICS` and return it; a name already taken raises a :class:`ConfigError`, and so
    does one that :func:`get_metric` reads as another metric's (``"Log-Loss"``, ``"AUC"``: case, spaces and ``-``
    aside, and :data:`ALIASES`)."""
    existing = METRICS.get(metric.name)
    if existing is not None:
        raise ConfigError(
            f"metric {metric.name!r} is already registered with fn {_qualname(existing.fn)}; cannot register "
            f"{_qualname(metric.fn)} under the same name; pick another name"
        )
    key = _name_key(metric.name)
    if _MAP_AT_K.fullmatch(key) and metric.name != key:  # get_metric reads 'MAP@7' as the built-in map@7
        raise ConfigError(
            f"metric {metric.name!r} would read as the built-in metric {key!r} (MAP@K, registered on first use; "
            "names are matched with case and spaces aside); pick another name"
        )
    taken = ALIASES.get(key) or next((name for name in METRICS if _name_key(name) == key), None)
    if taken is not None:
        raise ConfigError(
            f"metric {metric.name!r} would read as the registered metric {taken!r} (names are matched with case, "
            "spaces and '-' aside, and by their usual other names); pick another name"
        )
    METRICS[metric.name] = metric
    return metric


_MAP_AT_K = re.compile(r"map@([1-9][0-9]?)")

#: names a competition's evaluation page (or a library) uses for a registered metric, spelt as :func:`_name_key`
#: writes them; case, spaces and hyphens aside, a registered name is found without an entry here
ALIASES: dict[str, str] = {
    "auc": "roc_auc",
    "rocauc": "roc_auc",
    "auc_roc": "roc_auc",
    "roc_auc_score": "roc_auc",
    "area_under_the_roc_curve": "roc_auc",
    "logloss": "log_loss",
    "mlogloss": "log_loss",
    "multi_logloss": "log_loss",
    "binary_logloss": "log_loss",
    "cross_entropy": "log_loss",
    "logarithmic_loss": "log_loss",
    "multi_class_log_loss": "log_loss",
    "multiclass_log_loss": "log_loss",
    "multi_class_logarithmic_loss": "log_loss",
    "mean_column_wise_log_loss": "mean_log_loss",
    "mean_columnwise_log_loss": "mean_log_loss",
    "mean_column_wise_roc_auc": "mean_roc_auc",
    "mean_columnwise_roc_auc": "mean_roc_auc",
    "continuous_ranked_probability_score": "crps",
    "acc": "accuracy",
    "accuracy_score": "accuracy",
    "balanced_accuracy_score": "balanced_accuracy",
    "macro_f1": "f1_macro",
    "f1_score": "f1",
    "quadratic_weighted_kappa": "qwk",
    "matthews_corrcoef": "mcc",
    "matthews_correlation": "mcc",
    "matthews_correlation_coefficient": "mcc",
    "root_mean_squared_error": "rmse",
    "root_mean_squared_log_error": "rmsle",
    "root_mean_squared_logarithmic_error": "rmsle",
    "mean_absolute_error": "mae",
    "r2_score": "r2",
    "mcrmse": "mean_rmse",
    "pinball_loss": "pinball",
    "quantile_loss": "pinball",
}


def _name_key(name: str) -> str:
    """A metric name as a user may type it, folded for lookup: ``" Log-Loss "`` -> ``log_loss``, ``MAP @ 3`` ->
    ``map@3``."""
    key = re.sub(r"[\s\-]+", "_", name.strip().casefold())
    return re.sub(r"_*@_*", "@", key)


def get_metric(name: str, grid: tuple[float, ...] | list[float] | None = None) -> Metric:
    """The registered metric called ``name``; an unknown name raises a :class:`ConfigError` listing all.

    Case, surrounding spaces and ``-`` / space for ``_`` aside (``"Log-Loss"``, ``"MAP@3"``), and the usual other
    names (:data:`ALIASES`: ``"auc"``, ``"logloss"``, ...), find the registered metric, whose :attr:`Metric.name` is
    the canonical name a config and a run store. ``map@K`` (K from 1 to 99) is registered on first use: MAP@K for
    ranked label lists. ``grid``: a distribution metric's bins or quantile levels (:meth:`Metric.bind`); ignored by
    every other metric."""
    metric = _registered(name)
    return metric.bind(grid) if grid is not None and metric.needs in DISTRIBUTION_INPUTS else metric


def run_metric(meta: dict) -> Metric:
    """A run folder's metric (``run.json``), bound to its distribution task's bins / levels when it has them."""
    return get_metric(meta["metric"], meta.get("grid"))


def _registered(name: str) -> Metric:
    try:
        return METRICS[name]
    except (KeyError, TypeError):
        key = _name_key(name) if isinstance(name, str) else None
        if key is not None:
            key = ALIASES.get(key, key)
            folded = {_name_key(registered): registered for registered in METRICS}
            if key in folded:
                return METRICS[folded[key]]
        match = _MAP_AT_K.fullmatch(key) if key is not None else None
        if match:
            k = int(match.group(1))
            return register(
                Metric(
                    f"map@{k}",
                    map_at_k(k),
                    greater_is_better=True,
                    needs="proba",
                    tasks=_CLASSIFICATION,
                    domain=_PROBA,
                    top_k=k,
                )
            )
        raise ConfigError(
            f"unknown metric {name!r}; allowed: {allowed(METRICS)}."
            + did_you_mean(key if key is not None else str(name), [*METRICS, *ALIASES])
        ) from None


_PROBA = (0.0, 1.0)
register(Metric("accuracy", accuracy, greater_is_better=True, needs="label", tasks=_CLASSIFICATION, domain=_PROBA))
register(Metric("log_loss", log_loss, greater_is_better=False, needs="proba", tasks=_CLASSIFICATION, domain=_PROBA))
register(Metric("roc_auc", roc_auc, greater_is_better=True, needs="proba", tasks=_CLASSIFICATION, domain=_PROBA))
register(Metric("f1_macro", f1_macro, greater_is_better=True, needs="label", tasks=_CLASSIFICATION, domain=_PROBA))
register(Metric("f1", f1, greater_is_better=True, needs="label", tasks=frozenset({"binary"}), domain=_PROBA))
register(Metric("dice", f1, greater_is_better=True, needs="label", tasks=frozenset({"binary"}), domain=_PROBA))
register(
    Metric(
        "balanced_accuracy",
        balanced_accuracy,
        greater_is_better=True,
        needs="label",
        tasks=_CLASSIFICATION,
        domain=_PROBA,
    )
)
get_metric("map@3")  # registers MAP@3 up front, so that error messages list it
register(Metric("mcc", mcc, greater_is_better=True, needs="label", tasks=_CLASSIFICATION, domain=_PROBA))
register(Metric("qwk", qwk, greater_is_better=True, needs="label", tasks=_CLASSIFICATION, domain=_PROBA, ordinal=True))
register(Metric("rmse", rmse, greater_is_better=False, needs="value", tasks=_REGRESSION))
register(
    Metric(
        "rmsle",
        rmsle,
        greater_is_better=False,
        needs="value",
        tasks=_REGRESSION,
        fit_transform="log1p",
        domain=(0.0, math.inf),
    )
)
register(Metric("mae", mae, greater_is_better=False, needs="value", tasks=_REGRESSION))
register(Metric("r2", r2, greater_is_better=True, needs="value", tasks=_REGRESSION))
register(Metric("crps", crps, greater_is_better=False, needs="cdf", tasks=_DISTRIBUTION, domain=_PROBA))
register(Metric("pinball", pinball, greater_is_better=False, needs="quantile", tasks=_DISTRIBUTION))

# the multi-target metrics: a single-target metric per target column (its labelled rows), averaged over the columns
_MULTILABEL = frozenset({"multilabel"})
_MULTIREGRESSION = frozenset({"multiregression"})
for _name, _inner, _tasks in (
    ("mean_log_loss", "log_loss", _MULTILABEL),  # MoA's "mean column-wise log loss"
    ("mean_roc_auc", "roc_auc", _MULTILABEL),  # Jigsaw toxic comments' "mean column-wise ROC AUC"
    ("mean_rmse", "rmse", _MULTIREGRESSION),  # MCRMSE: "mean column-wise root mean squared error"
    ("mean_mae", "mae", _MULTIREGRESSION),
):
    _base = METRICS[_inner]
    register(
        Metric(
            _name,
            _base.fn,
            greater_is_better=_base.greater_is_better,
            needs=_base.needs,
            tasks=_tasks,
            domain=_base.domain,
            column_metric=_inner,
        )
    )
