"""The CV leaderboard: every model of a run, best first, with the baseline row so "beats the baseline" is visible."""

from __future__ import annotations

import math
from pathlib import Path

from .metrics import Metric, get_metric
from .store import ModelResult, RunStore


def leaderboard(run_dir: Path | str) -> list[ModelResult]:
    """The current models' results in a run folder, best CV first (failed models last)."""
    store = RunStore(run_dir)
    meta = store.read_meta()
    metric = get_metric(meta["metric"])
    rows = [store.read_summary(name) for name in store.current_models() if store.has_summary(name)]
    return rank(rows, metric)


def rank(rows: list[ModelResult] | tuple[ModelResult, ...], metric: Metric) -> list[ModelResult]:
    def sort_key(row: ModelResult) -> tuple[int, float]:
        if row.status != "ok" or math.isnan(row.cv):
            return (1, 0.0)
        return (0, -row.cv if metric.greater_is_better else row.cv)

    return sorted(rows, key=sort_key)


def format_leaderboard(rows: list[ModelResult] | tuple[ModelResult, ...], metric: Metric) -> str:
    """A plain-text table for the terminal: CV over all OOF rows, mean +- std over folds, each fold, time."""
    rows = rank(rows, metric)
    arrow = "higher is better" if metric.greater_is_better else "lower is better"
    header = (
        f"{'#':>2}  {'model':<16} {'kind':<9} {'CV ' + metric.name:>14} {'mean +- std':>19}  {'rounds':>7} "
        f"{'fit s':>7}  folds"
    )
    lines = [f"CV leaderboard ({metric.name}, {arrow})", header, "-" * len(header)]
    for i, r in enumerate(rows, 1):
        if r.status != "ok":
            lines.append(f"{i:>2}  {r.name:<16} {r.kind:<9} {'FAILED':>14}  {r.error or ''}")
            continue
        folds = " ".join(f"{s:.4f}" for s in r.fold_scores[:10]) + (" ..." if len(r.fold_scores) > 10 else "")
        rounds = f"{r.best_iteration:.0f}" if r.best_iteration is not None else "-"
        lines.append(
            f"{i:>2}  {r.name:<16} {r.kind:<9} {r.cv:>14.5f} {r.mean:>10.5f} +- {r.std:.5f}  {rounds:>7} "
            f"{r.fit_seconds:>7.1f}  {folds}"
        )
    return "\n".join(lines)
