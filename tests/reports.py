"""A report built from entries alone (no run folder behind it): what the report renderers' tests start from."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from kaggle_kit.metrics import get_metric
from kaggle_kit.report.build import Report
from kaggle_kit.report.entries import Entry, rank_entries


def bare_report(entries: list[Entry], metric: str = "rmse", **fields: Any) -> Report:
    """A regression run's report of ``entries`` ranked by ``metric``, its other parts empty; ``fields`` set them
    (``blends``, ``correlation``, ``adversarial``, ``run_dir``...)."""
    scorer = get_metric(metric)
    report = Report(
        run_dir=Path("runs/x"),
        meta={"name": "x", "task": "regression", "metric": metric},
        metric=scorer,
        entries=tuple(rank_entries(entries, scorer)),
        blends=(),
        correlation=None,
        curves={},
        importance={},
        errors=None,
        error_rows=None,
        error_images=None,
        adversarial=None,
        submissions=(),
    )
    return replace(report, **fields)
