"""Inference cost of each model, from the fold timings the run stored (no model is loaded or run).

A fold's ``predict_seconds`` timed the prediction of its validation rows and of the run's test rows (their encoding
included), so one fold model predicts ``(n_valid + n_test) / predict_seconds`` rows per second; a model's fold
models together predict a row ``len(folds)`` times, and a blend runs every one of its models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..store import FoldResult
from .run_folder import RunFolder


@dataclass(frozen=True)
class ModelSpeed:
    """``rows_per_second`` of one fold model (the mean over folds, weighted by rows); ``fold_models`` of them."""

    model: str
    rows_per_second: float
    fold_models: int

    def seconds(self, n_rows: int) -> float:
        """Predicted seconds to predict ``n_rows`` rows with every fold model (as ``predict`` does)."""
        return self.fold_models * n_rows / self.rows_per_second if self.rows_per_second > 0 else float("inf")


def speed_of(model: str, folds: Iterable[FoldResult], n_test: int) -> ModelSpeed:
    done = list(folds)
    rows = sum(r.n_valid + n_test for r in done)
    seconds = sum(r.predict_seconds for r in done)
    return ModelSpeed(model, rows / seconds if seconds > 0 else float("inf"), len(done))


def prediction_speed(run_dir: Path | str) -> dict[str, ModelSpeed]:
    """model name -> its :class:`ModelSpeed`, for every finished model of the run."""
    folder = RunFolder.open(run_dir)
    n_test = int(folder.meta.get("n_test") or 0)
    tasks = list(folder.folds().tasks())
    return {
        name: speed_of(name, (folder.fold(name, r, k)[1] for r, k in tasks), n_test) for name in folder.model_names()
    }


def blend_seconds(speeds: dict[str, ModelSpeed], models: Iterable[str], n_rows: int) -> float:
    """Predicted seconds for a blend of ``models`` on ``n_rows`` rows: the sum of its models' (the blending itself
    is a weighted sum, negligible beside them)."""
    return sum(speeds[m].seconds(n_rows) for m in models)
