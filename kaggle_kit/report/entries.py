"""The report's leaderboard: every model and every blend of a run as one kind of row, ranked by its honest score.

A model's honest score is its CV (every OOF row scored at once); a blend's is its nested-CV score (weights fit on
K-1 folds, scored on the held-out fold), since its plain CV scores the rows its weights were fit on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import BASELINE_NAME
from ..metrics import Metric
from ..store import ModelResult
from .blends import BlendSummary


@dataclass(frozen=True)
class Entry:
    """One leaderboard row: a model or a blend."""

    name: str
    kind: str  # the model kind, or "blend"
    cv: float
    fold_scores: tuple[float, ...]  # per fold; for blends the nested-CV fold scores
    nested_cv: float | None = None  # blends only
    fit_seconds: float | None = None
    best_iteration: float | None = None
    method: str | None = None  # blends: the blend method
    status: str = "ok"
    error: str | None = None

    @property
    def is_blend(self) -> bool:
        return self.kind == "blend"

    @property
    def is_baseline(self) -> bool:
        return self.name == BASELINE_NAME and not self.is_blend

    @property
    def score(self) -> float:
        """The number the row is ranked by: nested CV for blends (when known), CV for models."""
        if self.is_blend and self.nested_cv is not None and not math.isnan(self.nested_cv):
            return self.nested_cv
        return self.cv

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_scores)) if self.fold_scores else math.nan  # as ModelResult.mean

    @property
    def std(self) -> float:
        return float(np.std(self.fold_scores)) if self.fold_scores else math.nan

    @classmethod
    def from_model(cls, row: ModelResult) -> Entry:
        return cls(
            name=row.name,
            kind=row.kind,
            cv=row.cv,
            fold_scores=tuple(row.fold_scores),
            fit_seconds=row.fit_seconds,
            best_iteration=row.best_iteration,
            status=row.status,
            error=row.error,
        )

    @classmethod
    def from_blend(cls, blend: BlendSummary) -> Entry:
        return cls(
            name=blend.name,
            kind="blend",
            cv=blend.cv,
            fold_scores=blend.nested_fold_scores,
            nested_cv=blend.nested_cv,
            fit_seconds=blend.fit_seconds,
            method=blend.method,
        )


def rank_entries(entries: list[Entry], metric: Metric) -> list[Entry]:
    """Best first by :attr:`Entry.score` in the metric's direction; failed or unscored rows last."""

    def key(e: Entry) -> tuple[int, float]:
        if e.status != "ok" or math.isnan(e.score):
            return (1, 0.0)
        return (0, -e.score if metric.greater_is_better else e.score)

    return sorted(entries, key=key)


def best_entry(entries: list[Entry], metric: Metric, *, blends: bool = True) -> Entry | None:
    """The best scored row that is not the baseline (optionally not a blend)."""
    for e in rank_entries(entries, metric):
        if e.status == "ok" and not math.isnan(e.score) and not e.is_baseline and (blends or not e.is_blend):
            return e
    return None


def _num(value: float | None, fmt: str = ".5f") -> str:
    return "-" if value is None or math.isnan(value) else format(value, fmt)


def format_entries(entries: list[Entry], metric: Metric) -> str:
    """A plain-text leaderboard of models and blends for the terminal (what ``kaggle-kit report`` prints)."""
    rows = rank_entries(entries, metric)
    arrow = "higher is better" if metric.greater_is_better else "lower is better"
    header = (
        f"{'#':>2}  {'name':<18} {'kind':<14} {'CV ' + metric.name:>14} {'nested CV':>10} {'mean +- std':>19}  "
        f"{'rounds':>7} {'fit s':>7}  folds"
    )
    lines = [f"CV leaderboard ({metric.name}, {arrow}; blends ranked by nested CV)", header, "-" * len(header)]
    for i, e in enumerate(rows, 1):
        kind = e.method or e.kind if e.is_blend else e.kind
        if e.status != "ok":
            lines.append(f"{i:>2}  {e.name:<18} {kind:<14} {'FAILED':>14}  {e.error or ''}")
            continue
        folds = " ".join(f"{s:.4f}" for s in e.fold_scores[:10]) + (" ..." if len(e.fold_scores) > 10 else "")
        lines.append(
            f"{i:>2}  {e.name:<18} {kind[:14]:<14} {_num(e.cv):>14} {_num(e.nested_cv):>10} "
            f"{_num(e.mean):>10} +- {_num(e.std)}  {_num(e.best_iteration, '.0f'):>7} {_num(e.fit_seconds, '.1f'):>7}  "
            f"{folds}"
        )
    return "\n".join(lines)
