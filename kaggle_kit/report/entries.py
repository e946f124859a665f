"""The report's leaderboard: every model, imported predictions and every blend of a run as one kind of row, ranked by
its honest score.

A row's honest score is the mean of its fold scores: a model's OOF, and a blend's nested-CV OOF (weights fit on K-1
folds, scored on the held-out fold; its plain CV scores the rows its weights were fit on), scored fold by fold by
the one function ``kaggle-kit blend`` ranks with (:func:`kaggle_kit.runtime.scoring.score_folds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import BASELINE_NAME
from ..leaderboard import (
    TableRow,
    direction,
    folds_column,
    format_table,
    kind_column,
    mean_std_column,
    name_column,
    rank_by,
    rank_score,
    value_column,
)
from ..metrics import Metric
from ..runtime.store import ModelResult
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
    # what `submit --best` cannot pick (imported predictions without test predictions, a blend without them): ranked
    # by its score, marked, and never named the best
    submittable: bool = True
    unchecked: bool = False  # imported predictions whose folds were not checked, or a blend of them: see the note

    @property
    def label(self) -> str:
        """The kind column: a blend's method, marked when ``submit --best`` cannot pick it or its folds were not
        checked."""
        kind = f"blend: {self.method}" if self.is_blend and self.method else self.kind
        marks = [
            m for m, on in (("no test predictions", not self.submittable), ("folds unchecked", self.unchecked)) if on
        ]
        return f"{kind} ({', '.join(marks)})" if marks else kind

    @property
    def is_blend(self) -> bool:
        return self.kind == "blend"

    @property
    def is_baseline(self) -> bool:
        return self.name == BASELINE_NAME and not self.is_blend

    @property
    def score(self) -> float:
        """Every held-out row scored at once: nested CV for blends (when known), CV for models."""
        if self.is_blend and self.nested_cv is not None and not math.isnan(self.nested_cv):
            return self.nested_cv
        return self.cv

    @property
    def score_name(self) -> str:
        """What :attr:`score` is: "nested CV", or "CV" (a model, or a blend whose summary records no nested CV: its
        in-sample CV, which the summary had called nested)."""
        nested = self.is_blend and self.nested_cv is not None and not math.isnan(self.nested_cv)
        return "nested CV" if nested else "CV"

    @property
    def rank_score(self) -> float:
        """The number the row is ranked by, as ``kaggle-kit blend`` ranks: the mean of its fold scores (a blend's
        nested-CV ones); :attr:`score` when it has none."""
        return rank_score(self.fold_scores, self.score)  # one rule with `kaggle-kit run` and `leaderboard`

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
    """Best first by :attr:`Entry.rank_score` in the metric's direction; failed or unscored rows last."""
    return rank_by(entries, metric, lambda e: e.rank_score, lambda e: e.status == "ok")


def best_entry(entries: list[Entry], metric: Metric, *, blends: bool = True) -> Entry | None:
    """The best scored row that is not the baseline (optionally not a blend) and that ``submit --best`` could pick
    (imported predictions without test predictions are ranked, never named the best)."""
    for e in rank_entries(entries, metric):
        if (
            e.status == "ok"
            and not math.isnan(e.rank_score)
            and not e.is_baseline
            and e.submittable
            and (blends or not e.is_blend)
        ):
            return e
    return None


def entry_row(e: Entry) -> TableRow:
    """The row :func:`format_entries` prints for ``e``: a blend's kind column shows its method."""
    return TableRow(
        name=e.name,
        kind=e.label.removeprefix("blend: "),
        score=e.rank_score,
        cv=e.cv,
        nested_cv=e.nested_cv,
        mean=e.mean,
        std=e.std,
        rounds=e.best_iteration,
        fit_seconds=e.fit_seconds,
        fold_scores=e.fold_scores,
        failed=e.status != "ok",
        error=e.error,
        status=e.status,
    )


def format_entries(entries: list[Entry], metric: Metric) -> str:
    """A plain-text leaderboard of models and blends for the terminal (what ``kaggle-kit report`` prints)."""
    columns = [
        name_column("name", 18),
        kind_column("kind", 14),
        value_column(f"CV {metric.name}", lambda r: r.cv, width=14),
        value_column("nested CV", lambda r: r.nested_cv, width=10),
        mean_std_column(),
        value_column("rounds", lambda r: r.rounds, ".0f", width=7, gap=2),
        value_column("fit s", lambda r: r.fit_seconds, ".1f", width=7),
        folds_column(),
    ]
    title = [
        f"CV leaderboard ({metric.name}, {direction(metric)}; ranked by the mean of fold scores, nested CV for blends)"
    ]
    return format_table([entry_row(e) for e in entries], columns, metric, title)
