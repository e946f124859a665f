"""Fixes from a review of the report fixes (score_text, the blend gap, the blend command's text), each a case the
earlier tests let through."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from reports import bare_report

from kaggle_kit.blend import BlendResult, format_blend_leaderboard
from kaggle_kit.blend.report import BlendReport
from kaggle_kit.leaderboard import score_text
from kaggle_kit.metrics import get_metric
from kaggle_kit.report.blends import parse_blend_summary
from kaggle_kit.report.diversity import Correlation
from kaggle_kit.report.entries import Entry
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
        (2e9, {}, "2000000000"),
        (1234567890.123, {}, "1234567890"),  # every digit .5f showed: in scientific notation it read 1.2346e+09,
        (1234512345.0, {}, "1234512345"),  # as this one (1.2345e+09) but for one digit
        (1.5e15, {}, "1.5000e+15"),
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
    report = bare_report(
        entries,
        blends=(summary,),
        correlation=Correlation(("a", "b"), np.array([[1.0, -0.0004], [-0.0004, 1.0]])),
    )
    html = render_html(report)
    assert ">0.0002</td>" in html and "1.800e-04" not in html
    assert ">-0.000</td>" in html and "e-04</td>" not in html


BAD = "$x^$"  # matplotlib's mathtext raised ParseSyntaxException on it at savefig: no report was written


def _plots(tmp_path: Path) -> dict:
    from kaggle_kit.report import plots
    from kaggle_kit.report.adversarial import AdversarialResult, FeatureShift
    from kaggle_kit.report.training import Curve, Importance

    blend = parse_blend_summary({"name": BAD, "models": [BAD, "b"], "weights": [0.6, 0.4], "cv": 1.0}, tmp_path)
    shift = FeatureShift(BAD, 0.9, 0.5, 1e-9, "a", "b")
    curve = Curve(BAD, 0, 0, {"valid_rmse": [3.0, 2.0, 1.5]}, 2)
    return {
        "fold_strip": lambda: plots.fold_strip([Entry(BAD, "sklearn", 1.0, (1.0, 1.1))], RMSE),
        "weights_bar": lambda: plots.weights_bar(blend),
        "heatmap": lambda: plots.heatmap(np.eye(2), [BAD, "b"], [BAD, "b"], BAD),
        "learning_curves": lambda: plots.learning_curves([curve], BAD, "round"),
        "importance_bar": lambda: plots.importance_bar(Importance(BAD, (BAD, "b"), (0.7, 0.3), (0.0, 0.0), 2)),
        "image_grid": lambda: plots.image_grid(np.zeros((2, 4, 4)), [BAD, "b"]),
        "cv_vs_lb": lambda: plots.cv_vs_lb([(BAD, 0.5, 0.6), ("b", 0.7, 0.65)], get_metric("roc_auc")),
        "adversarial_bar": lambda: plots.adversarial_bar(
            AdversarialResult(0.9, (0.9,), 10, 10, (shift,), "strong", BAD)
        ),
    }


@pytest.mark.parametrize(
    "plot",
    [
        "fold_strip",
        "weights_bar",
        "heatmap",
        "learning_curves",
        "importance_bar",
        "image_grid",
        "cv_vs_lb",
        "adversarial_bar",
    ],
)
def test_every_plot_draws_dollars_as_written(plot: str, tmp_path: Path) -> None:
    """Only the heat map had a test of its own: a plot that lost its literal-text wrapper went unnoticed."""
    assert _plots(tmp_path)[plot]().startswith(b"\x89PNG")


# ------------------------------------------------------------------------- cases no test of the earlier fixes held
def _ridge_run(tmp_path: Path, metric: str, scale: float = 1.0):
    """One ridge on 60 made regression rows (the target times ``scale``), 3 folds; competition 'reg'."""
    from kaggle_kit.config import build_spec
    from kaggle_kit.runtime.runner import run

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    frame = pl.DataFrame(
        {"id": np.arange(60), "a": x[:, 0], "b": x[:, 1], "y": (2 * x[:, 0] + rng.normal(size=60)) * scale}
    )
    spec = build_spec(
        {
            "name": "reg",
            "task": "regression",
            "metric": metric,
            "data": {"train": "t.csv", "test": "u.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [{"name": "ridge", "kind": "sklearn", "estimator": "sklearn.linear_model.Ridge"}],
        }
    )
    return run(
        spec, runs_root=tmp_path, train=frame[:45], test=frame[45:].drop("y"), progress=None, record_history=False
    )


def test_read_blends_turns_a_hand_written_gap_by_the_run_json_metric(tmp_path: Path) -> None:
    """A summary naming no metric takes the direction of the run's (run.json): read_blends had no test of it."""
    from kaggle_kit.report.blends import read_blends

    (tmp_path / "run.json").write_text(json.dumps({"metric": "rmse"}))
    folder = tmp_path / "blends" / "hand"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"models": ["a"], "weights": [1.0], "cv": 0.50, "nested_cv": 0.52}))
    (blend,) = read_blends(tmp_path)
    assert blend.gap == pytest.approx(0.02)  # rmse: the in-sample 0.50 flatters it


def test_the_mean_column_writes_tiny_scores_with_their_digits() -> None:
    from kaggle_kit.leaderboard import format_leaderboard

    rows = [ModelResult("a", "sklearn", "k", "rmse", 1.6e-9, (1e-9, 2e-9), 0.1, None)]
    assert "1.5000e-09 +- 5.0000e-10" in format_leaderboard(rows, RMSE)


def test_the_markdown_adversarial_message_escapes_the_column_names_it_quotes(tmp_path: Path) -> None:
    from kaggle_kit.report.adversarial import AdversarialResult
    from kaggle_kit.report.markdown import render_markdown

    message = "the test set looks different: '<b>f</b>' gives it away"
    report = bare_report(
        [Entry("a", "sklearn", 1.0, (1.0, 1.1))],
        adversarial=AdversarialResult(0.9, (0.9,), 10, 10, (), "strong", message),
    )
    md = render_markdown(report)
    assert "\\<b\\>f\\</b\\>" in md and "<b>f</b>" not in md


def test_an_experiment_made_before_the_metric_tag_is_judged_by_its_runs(tmp_path: Path) -> None:
    """An MLflow experiment made by an older kit has no metric tag: its latest run's metric parameter says which."""
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from kaggle_kit.report import log_to_mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    old = client.create_experiment("reg", artifact_location=(tmp_path / "art").as_uri())  # no tag
    client.log_param(client.create_run(old).info.run_id, "metric", "rmse")
    run_id = log_to_mlflow(_ridge_run(tmp_path, "mae").run_dir, tracking_uri=uri)
    assert client.get_experiment(client.get_run(run_id).info.experiment_id).name == "reg (mae)"


def test_the_runner_up_distance_is_in_fold_means(tmp_path: Path) -> None:
    """The rows are ranked by fold mean and the line says so: its distance had a test only where CV = fold mean."""
    best = Entry("best", "sklearn", 0.55, (0.48, 0.52))  # CV 0.55, fold mean 0.50
    second = Entry("second", "sklearn", 0.58, (0.59, 0.61))  # CV 0.58, fold mean 0.60
    html = render_html(bare_report([best, second]))
    assert "Runner-up second is 0.10000 behind by fold mean" in html


def test_a_blend_without_a_gap_is_not_said_to_have_no_optimism(tmp_path: Path) -> None:
    stack = parse_blend_summary(
        {"name": "stack", "method": "stack", "models": ["a", "b"], "weights": None, "cv": math.nan, "nested_cv": 1.0},
        tmp_path,
        "rmse",
    )
    assert math.isnan(stack.gap)
    html = render_html(bare_report([Entry("a", "sklearn", 1.0, (1.0, 1.1))], blends=(stack,)))
    assert "gap -." in html and "no optimism" not in html


def test_the_baseline_line_writes_a_tiny_gain_with_its_digits(tmp_path: Path) -> None:
    base = Entry("baseline", "dummy", 3e-9, (3e-9, 3e-9))
    best = Entry("a", "sklearn", 1e-9, (1e-9, 1e-9))
    html = render_html(bare_report([base, best]))
    assert "the best beats it by 2.0000e-09" in html


def test_the_printed_family_table_writes_tiny_scores_with_their_digits(tmp_path: Path) -> None:
    """`kaggle-kit report` prints the families' table: only the HTML and the diagnosis had a test of tiny scores."""
    from kaggle_kit.report.families import family_report, format_families

    fam = family_report(_ridge_run(tmp_path, "rmse", 1e-9).run_dir)
    (row,) = fam.rows
    line = next(ln for ln in format_families(fam).splitlines() if ln.startswith("sklearn"))
    cells = line.split()  # family, models, best, median, IQR, worst: best and worst had read 0.00000
    assert cells[2] == cells[5] == score_text(row.best) and cells[2].endswith("e-09")
