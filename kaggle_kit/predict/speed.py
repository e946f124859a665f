"""Inference cost of each model, from the fold timings the run stored (no model is loaded or run).

A fold's ``predict_seconds`` timed the prediction of its validation rows and of the run's test rows (their encoding
included), so one fold model predicts ``(n_valid + n_test) / predict_seconds`` rows per second; a model's fold
models together predict a row ``len(folds)`` times, and a blend runs every one of its models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..blend.report import BlendReport
from ..errors import ConfigError
from ..metrics import get_metric
from ..runtime.store import FoldResult
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


@dataclass(frozen=True)
class BudgetChoice:
    """The best blend (or model) whose predicted inference time on ``n_rows`` rows fits ``max_seconds``."""

    kind: str  # "blend" or "model"
    name: str
    score: float  # the honest fold mean the blend report compares on
    seconds: float

    def text(self, max_seconds: float, n_rows: int) -> str:
        return (
            f"within {max_seconds:g}s for {n_rows:,} test rows: {self.kind} {self.name!r} (honest fold mean "
            f"{self.score:.5f}; predicted {self.seconds:.2f}s with its fold models)"
        )


def best_within(report: BlendReport, speeds: dict[str, ModelSpeed], max_seconds: float, n_rows: int) -> BudgetChoice:
    """The best of ``report``'s blends and models (by the honest fold mean the report compares them on) whose
    predicted time to predict ``n_rows`` rows is at most ``max_seconds``; a :class:`ConfigError` when none fits."""
    metric = get_metric(report.metric)
    candidates = [
        BudgetChoice("blend", b.name, b.mean, blend_seconds(speeds, b.models, n_rows))
        for b in report.blends
        if all(m in speeds for m in b.models)
    ]
    candidates += [
        BudgetChoice("model", m.name, report.model_mean(m), speeds[m.name].seconds(n_rows))
        for m in report.models
        if m.name in speeds
    ]
    fits = [c for c in candidates if c.seconds <= max_seconds]
    if not fits:
        fastest = min(candidates, key=lambda c: c.seconds, default=None)
        hint = f" The fastest, {fastest.name!r}, needs {fastest.seconds:.2f}s." if fastest else ""
        raise ConfigError(
            f"no blend or model predicts {n_rows:,} rows within --max-predict-seconds {max_seconds:g}.{hint} Raise "
            "the limit, or refit fewer, faster models (`kaggle-kit refit` predicts with one model instead of one per "
            "fold)"
        )
    best = fits[0]
    for c in fits[1:]:
        if metric.better(c.score, best.score):
            best = c
    return best
