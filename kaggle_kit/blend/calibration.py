"""Calibration of blended class probabilities for log loss, fitted out of fold: temperature scaling or isotonic.

* ``temperature`` (Guo et al. 2017): ``p`` becomes ``softmax(log(p) / T)``; ``T > 1`` softens overconfident
  predictions, ``T < 1`` sharpens timid ones. One number, so it cannot overfit much, and it changes no ranking and
  no argmax.
* ``isotonic`` (Zadrozny & Elkan 2002): a non-decreasing step map from a predicted probability to the rate of the
  class among the rows predicted so, fitted by isotonic regression (pool adjacent violators). A binary task maps the
  positive-class probability (the other column is one minus it); a multiclass task maps each class's probability
  one-vs-rest, then renormalises each row to sum to 1. It fixes any monotone miscalibration (a shifted, bent or
  overconfident model), not only a wrong temperature, at the price of more parameters: it wants more rows. Its
  output is kept inside ``[1 / (n + 2), 1 - 1 / (n + 2)]`` for ``n`` fitted rows (a step fitted on rows of one
  class would otherwise say 0 or 1, and one held-out row of the other class would cost ``-log(1e-15)``). It can
  tie rows a model ranked apart (AUC) and, renormalised, move a row's most probable class.

Both are for metric ``log_loss`` only, and are fitted like a blend's weights: in nested CV on each fold's training
rows (the fold fit's predictions there), so that no row's own label shapes its calibrated OOF value, and for the test
rows on all OOF rows. The fitted map is stored with the blend (``BlendResult.temperature`` / ``.isotonic``:
numbers in ``summary.json``) and applied wherever it predicts (:func:`calibrate_blend`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import minimize_scalar

from ..errors import ConfigError, allowed
from ..metrics import Metric

if TYPE_CHECKING:
    from .result import BlendResult

CALIBRATIONS = frozenset({"temperature", "isotonic"})
_LOG_T_BOUNDS = (math.log(0.05), math.log(20.0))

#: an isotonic map of one probability column: its knots ``(x, y)``, applied by linear interpolation between them
#: and clamped to the end values outside them (what scikit-learn's ``IsotonicRegression.predict`` does)
Knots = tuple[tuple[float, ...], tuple[float, ...]]


def check_calibration(calibrate: str | None, metric: Metric, method: str, nested_only: bool) -> None:
    """Refuse a calibration the blend cannot use, naming why and what to do."""
    if calibrate is None:
        return
    if calibrate not in CALIBRATIONS:
        raise ConfigError(f"unknown calibration {calibrate!r}; allowed: {allowed(CALIBRATIONS)}")
    if metric.column_metric == "log_loss":  # mean_log_loss: it would serve, but the calibrations fit one target
        raise ConfigError(
            f"calibration {calibrate!r} fits the probabilities of one target column, and a run scored by "
            f"{metric.name!r} has several (each its own label): it is not built for them; leave --calibrate out"
        )
    if metric.name != "log_loss":
        why = (
            "changes no ranking and no most-probable class, so it cannot move"
            if calibrate == "temperature"
            else "fits probabilities for log loss (it may tie rows or move a most-probable class), which does not serve"
        )
        raise ConfigError(
            f"calibration {calibrate!r} {why} {metric.name!r}; it is for metric 'log_loss' only: leave --calibrate out"
        )
    if nested_only:
        raise ConfigError(
            f"blend method {method!r} fits a logistic regression on the models' log-odds, which calibrates already; "
            "use --calibrate with mean, nelder_mead or hill_climb"
        )


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration: ``temperature`` for temperature scaling, ``isotonic`` (one map per calibrated column:
    the positive class of a binary task, every class of a multiclass one) for isotonic."""

    temperature: float | None = None
    isotonic: tuple[Knots, ...] | None = None

    def apply(self, proba: np.ndarray) -> np.ndarray:
        """The calibrated probabilities of ``proba`` (``(n, C)``), float32."""
        if self.temperature is not None:
            return apply_temperature(proba, self.temperature)
        assert self.isotonic is not None
        return apply_isotonic(proba, self.isotonic)


def fit_calibration(method: str, y: np.ndarray, proba: np.ndarray) -> Calibration:
    """Fit ``method`` (``"temperature"`` or ``"isotonic"``) on these rows' labels (class codes) and probabilities."""
    if method == "temperature":
        return Calibration(temperature=fit_temperature(y, proba))
    if method == "isotonic":
        return Calibration(isotonic=fit_isotonic(y, proba))
    raise ConfigError(f"unknown calibration {method!r}; allowed: {allowed(CALIBRATIONS)}")


def calibrate_blend(result: BlendResult, proba: np.ndarray) -> np.ndarray:
    """A stored blend's blended probabilities through the calibration it stored (``proba`` when it has none)."""
    if result.temperature is None and result.isotonic is None:
        return proba
    return Calibration(temperature=result.temperature, isotonic=result.isotonic).apply(proba)


# --------------------------------------------------------------------------------------------- temperature
def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(proba) / temperature)`` row by row (float32 out; probabilities clipped at 1e-15 first)."""
    logits = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def fit_temperature(y: np.ndarray, proba: np.ndarray) -> float:
    """The temperature in [0.05, 20] that minimises the log loss of ``apply_temperature(proba, T)`` on these rows."""
    log_p = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1.0))
    rows = np.arange(log_p.shape[0])
    codes = np.asarray(y, dtype=np.intp)

    def loss(log_t: float) -> float:
        z = log_p / math.exp(log_t)
        z_max = z.max(axis=1)
        log_norm = z_max + np.log(np.exp(z - z_max[:, None]).sum(axis=1))
        return float(np.mean(log_norm - z[rows, codes]))

    result = minimize_scalar(loss, bounds=_LOG_T_BOUNDS, method="bounded", options={"xatol": 1e-6})
    return float(math.exp(result.x))


# --------------------------------------------------------------------------------------------- isotonic
def _columns(n_columns: int) -> range:
    """The columns an isotonic calibration maps: the positive class of a binary task, every class otherwise."""
    return range(1, 2) if n_columns == 2 else range(n_columns)


def fit_isotonic(y: np.ndarray, proba: np.ndarray) -> tuple[Knots, ...]:
    """One isotonic map per calibrated column of ``proba`` (see :func:`_columns`), each fitted one-vs-rest on these
    rows: the column's probability against whether the row is of that class."""
    from sklearn.isotonic import IsotonicRegression

    p = np.asarray(proba, dtype=np.float64)
    codes = np.asarray(y).astype(np.intp).reshape(-1)
    eps = 1.0 / (len(codes) + 2)
    maps = []
    for c in _columns(p.shape[1]):
        iso = IsotonicRegression(y_min=eps, y_max=1.0 - eps, increasing=True, out_of_bounds="clip")
        iso.fit(p[:, c], (codes == c).astype(np.float64))
        maps.append((tuple(float(v) for v in iso.X_thresholds_), tuple(float(v) for v in iso.y_thresholds_)))
    return tuple(maps)


def apply_isotonic(proba: np.ndarray, maps: tuple[Knots, ...]) -> np.ndarray:
    """``proba`` (``(n, C)``) through the isotonic ``maps`` of :func:`fit_isotonic`: binary, ``[1 - q, q]`` with
    ``q`` the mapped positive probability; multiclass, every column mapped and each row renormalised (float32)."""
    p = np.asarray(proba, dtype=np.float64)
    columns = _columns(p.shape[1])
    if len(maps) != len(columns):
        raise ConfigError(
            f"the stored isotonic calibration has {len(maps)} map(s) but the blend predicts {p.shape[1]} columns; "
            "blend again"
        )
    mapped = [np.interp(p[:, c], np.asarray(x), np.asarray(v)) for c, (x, v) in zip(columns, maps, strict=True)]
    if p.shape[1] == 2:
        q = mapped[0]
        return np.column_stack([1.0 - q, q]).astype(np.float32)
    out = np.column_stack(mapped)
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)
