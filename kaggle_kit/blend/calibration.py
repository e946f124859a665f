"""Temperature scaling (Guo et al. 2017) of blended class probabilities, fitted out of fold, for log loss.

The blend's probabilities ``p`` become ``softmax(log(p) / T)``: ``T > 1`` softens overconfident predictions, ``T < 1``
sharpens timid ones. One number, fitted by minimising log loss, so it cannot overfit much; it changes no ranking
and no argmax (AUC, MAP@K, accuracy are untouched), which is why only log loss may ask for it. Fitted like a blend's
weights: in nested CV on each fold's training rows (the fold fit's predictions there), for the test rows on all OOF
rows; the fitted ``T`` is stored with the blend (``BlendResult.temperature``) and applied wherever it predicts.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar

from ..errors import ConfigError, allowed
from ..metrics import Metric

CALIBRATIONS = frozenset({"temperature"})
_LOG_T_BOUNDS = (math.log(0.05), math.log(20.0))


def check_calibration(calibrate: str | None, metric: Metric, method: str, nested_only: bool) -> None:
    """Refuse a calibration the blend cannot use, naming why and what to do."""
    if calibrate is None:
        return
    if calibrate not in CALIBRATIONS:
        raise ConfigError(f"unknown calibration {calibrate!r}; allowed: {allowed(CALIBRATIONS)}")
    if metric.name != "log_loss":
        raise ConfigError(
            f"calibration {calibrate!r} changes no ranking and no most-probable class, so it cannot move "
            f"{metric.name!r}; it is for metric 'log_loss' only: leave --calibrate out"
        )
    if nested_only:
        raise ConfigError(
            f"blend method {method!r} fits a logistic regression on the models' log-odds, which calibrates already; "
            "use --calibrate with mean, nelder_mead or hill_climb"
        )


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
