"""Fixes from a review of the report fixes (score_text, the blend gap, the blend command's text), each a case the
earlier tests let through."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kaggle_kit.blend import BlendResult, format_blend_leaderboard
from kaggle_kit.blend.report import BlendReport
from kaggle_kit.leaderboard import score_text
from kaggle_kit.metrics import get_metric
from kaggle_kit.report.blends import parse_blend_summary
from kaggle_kit.report.build import Report
from kaggle_kit.report.diversity import Correlation
from kaggle_kit.report.entries import Entry, rank_entries
from kaggle_kit.report.html import render_html
from kaggle_kit.runtime.store import ModelResult

RMSE = get_metric("rmse")


@pytest.mark.parametrize(
    ("value", "kwargs", "text"),
    [
        (0.5, {}, "0.50000"),
        (0.00012, {}, "0.00012"),  # as .5f wrote it: no digit lost where fixed was fine
        (1234.5, {}, "1234.50000"),
        (-0.25, {}, "-0.25000"),  # a negative R2
        (-3.2, {"signed": True}, "-3.20000"),
        (0.0123, {"signed": True}, "+0.01230"),
        (9e-5, {}, "9.0000e-05"),
        (2e9, {}, "2.0000e+09"),
        (math.inf, {}, "inf"),
        (-0.0, {}, "0.00000"),  # a mean blend's gap, a diagnosis' train - valid: had read -0.00000
        (-0.0, {"signed": True}, "+0.00000"),
        (math.nan, {"signed": True}, "nan"),  # had read +nan
    ],
)
def test_score_text(value: float, kwargs: dict, text: str) -> None:
    assert score_text(value, **kwargs) == text


def _blend(name: str, fold: tuple[float, ...], in_sample: tuple[float, ...], weights=(0.5, 0.5)) -> BlendResult:
    return BlendResult(
        name=name,
        method=name,
        metric="rmse",
        objective="rmse",
        models=("a", "b"),
        weights=weights,
        cv=float(sum(in_sample) / len(in_sample)) - 0.01,
        nested_cv=float(sum(fold) / len(fold)) + 0.01,
        fold_scores=fold,
        in_sample_fold_scores=in_sample,
        folds=tuple((0, k) for k in range(len(fold))),
        fit_seconds=0.1,
        n_rows=10,
    )


def test_the_blend_command_shows_a_mean_blend_gap_as_zero_not_minus_zero() -> None:
    mean = _blend("mean", (0.5, 0.7), (0.5, 0.7))
    assert math.copysign(1.0, mean.gap) == 1.0
    models = [ModelResult("a", "sklearn", "k", "rmse", 0.65, (0.6, 0.7), 0.1, None)]
    table = format_blend_leaderboard(models, [mean], RMSE)
    assert "-0.00000" not in table and "+0.00000" in table


def test_the_report_gap_is_the_blend_commands_gap(tmp_path: Path) -> None:
    """The report had worked the gap out from cv - nested_cv (every row at once) and `kaggle-kit blend` from the fold
    means: two gaps for one blend, and the history stored the report's."""
    b = _blend("hill_climb", (0.60, 0.64), (0.55, 0.57))
    parsed = parse_blend_summary(json.loads(b.to_json()), tmp_path, "rmse")  # as the kit writes it: no gap
    assert parsed.gap == pytest.approx(b.gap) == pytest.approx(0.06)
    assert parsed.gap != pytest.approx(parsed.nested_cv - parsed.cv)
    stacked = replace(b, weights=None, in_sample_fold_scores=())  # stacking: no in-sample score, no gap
    assert math.isnan(parse_blend_summary(json.loads(stacked.to_json()), tmp_path, "rmse").gap)
    assert math.isnan(stacked.gap)


def test_the_blend_verdict_writes_tiny_scores_with_their_digits() -> None:
    a = ModelResult("a", "sklearn", "k", "rmse", 3e-9, (2e-9, 4e-9), 0.1, None)
    b = ModelResult("b", "sklearn", "k", "rmse", 5e-9, (4e-9, 6e-9), 0.1, None)
    blend = _blend("mean", (1e-9, 2e-9), (1e-9, 2e-9))
    report = BlendReport(
        metric="rmse",
        models=(a, b),
        blends=(blend,),
        tasks=blend.folds,
        correlation=np.array([[1.0, 0.5], [0.5, 1.0]]),
        train_seconds=1.0,
        blend_seconds=0.1,
    )
    verdict = report.verdict()
    assert "0.00000" not in verdict and "1.5000e-09" in verdict and "3.0000e-09" in verdict


def test_weights_and_correlations_are_not_written_as_scores(tmp_path: Path) -> None:
    """score_text is for scores: a blend weight of 0.00018 had read 1.824e-04 in the report's weights table."""
    summary = parse_blend_summary(
        {"name": "nm", "method": "nelder_mead", "models": ["a", "b"], "weights": [0.99982, 0.00018], "cv": 1.0},
        tmp_path,
        "rmse",
    )
    entries = [Entry("a", "sklearn", 1.0, (1.0, 1.1)), Entry("b", "sklearn", 1.2, (1.2, 1.3))]
    report = Report(
        run_dir=tmp_path,
        meta={"name": "x", "task": "regression", "metric": "rmse"},
        metric=RMSE,
        entries=tuple(rank_entries(entries, RMSE)),
        blends=(summary,),
        correlation=Correlation(("a", "b"), np.array([[1.0, -0.0004], [-0.0004, 1.0]])),
        curves={},
        importance={},
        errors=None,
        error_rows=None,
        error_images=None,
        adversarial=None,
        submissions=(),
    )
    html = render_html(report)
    assert ">0.0002</td>" in html and "1.800e-04" not in html
    assert ">-0.000</td>" in html and "e-04</td>" not in html
