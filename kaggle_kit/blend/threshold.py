"""Decision thresholds of a run's models for a binary label metric (F1, Dice, accuracy, balanced accuracy).

A model's threshold is chosen on its whole OOF (every row predicted by a fold model that never saw it), by
:func:`~kaggle_kit.metrics.choose_threshold`, and is what its test predictions are labelled at when the submission
is written; a blend stores its own (``BlendResult.threshold``). Both are a function of stored predictions only, so
the report and the submission always agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..metrics import Metric, choose_threshold
from ..runtime.store import RunStore
from .storage import read_external_predictions
from .target import run_target


def oof_threshold(metric: Metric, y: np.ndarray, oof: np.ndarray) -> float | None:
    """The threshold ``metric`` labels ``oof`` at, chosen on its predicted rows; ``None`` when it uses none."""
    oof = np.asarray(oof)
    if not metric.thresholded(oof):
        return None
    seen = np.isfinite(oof.reshape(len(oof), -1)).all(axis=1)
    return choose_threshold(metric, y[seen], oof[seen]) if seen.any() else 0.5


def model_threshold(run_dir: Path | str, model: str, metric: Metric) -> float | None:
    """The decision threshold of a run's ``model`` (or imported predictions), chosen on its stored OOF; ``None``
    when the metric uses none."""
    store = RunStore(run_dir)
    imported = None if model in store.current_models() else read_external_predictions(run_dir, model, "oof")
    oof = imported if imported is not None else store.read_predictions(model, "oof")
    values = oof.drop(oof.columns[0]).to_numpy()
    if not metric.thresholded(values):
        return None
    return oof_threshold(metric, run_target(store), values)
