"""The report on the edges a demanding user meets: a lower-is-better metric's blend gap, scores far from 1 (1e-9,
1e12), names and labels that are markup (HTML, Markdown, matplotlib's TeX), many classes, and the summary's runner-up.

Each run is a few logistic or ridge regressions (and one tiny LightGBM) on a table made in ``tmp_path``.
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from reports import bare_report

from kaggle_kit.config import build_spec
from kaggle_kit.metrics import get_metric
from kaggle_kit.report import build_report, collect_report
from kaggle_kit.report.blends import parse_blend_summary
from kaggle_kit.report.entries import Entry, format_entries, rank_entries
from kaggle_kit.report.html import fmt, render_html
from kaggle_kit.report.markdown import render_markdown
from kaggle_kit.report.plots import heatmap
from kaggle_kit.runtime.runner import run

RIDGE = {"kind": "sklearn", "estimator": "sklearn.linear_model.Ridge"}


def _regression_run(
    tmp_path: Path, scale: float = 1.0, rows: int = 120, metric: str = "rmse", folder: str | None = None
):
    """Two ridges (one nearly unregularised, one too regularised) on a made regression of ``rows`` rows whose target
    is ``scale`` times a standard one; competition 'reg', run folder ``folder`` (default: 'reg')."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3))
    y = (2 * x[:, 0] + x[:, 1] + 0.5 * rng.normal(size=rows)) * scale
    frame = pl.DataFrame({"id": np.arange(rows), "a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})
    spec = build_spec(
        {
            "name": "reg",
            "task": "regression",
            "metric": metric,
            "data": {"train": "t.csv", "test": "u.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1, **({"name": folder} if folder else {})},
            "models": [
                {"name": "ridge", **RIDGE, "params": {"alpha": 1e-3}},
                {"name": "stiff", **RIDGE, "params": {"alpha": 300.0}},
            ],
        }
    )
    cut = rows * 3 // 4
    return run(
        spec, runs_root=tmp_path, train=frame[:cut], test=frame[cut:].drop("y"), progress=None, record_history=False
    )


# ------------------------------------------------------------------------------------------------- blend gap
@pytest.mark.parametrize(
    ("summary", "run_metric", "gap"),
    [
        ({"metric": "rmse", "cv": 0.50, "nested_cv": 0.52}, None, 0.02),  # in-sample lower = optimistic
        ({"metric": "roc_auc", "cv": 0.91, "nested_cv": 0.90}, None, 0.01),
        ({"cv": 0.30, "nested_cv": 0.33}, "log_loss", 0.03),  # no metric in the summary: the run's
        ({"metric": "rmse", "cv": 0.50, "nested_cv": 0.52, "gap": 0.5}, None, 0.5),  # written: as written
        ({"metric": "rmse", "cv": 0.50, "nested_cv": 0.50}, None, 0.0),  # a mean blend: 0.00000, not -0.00000
    ],
)
def test_a_blend_gap_is_optimism_in_the_metric_direction(summary, run_metric, gap, tmp_path: Path) -> None:
    """The gap had been cv - nested_cv whatever the metric: an rmse blend whose in-sample score flattered it by 0.02
    read -0.02, "no optimism"."""
    b = parse_blend_summary({"models": ["a"], "weights": [1.0], **summary}, tmp_path, run_metric)
    assert b.gap == pytest.approx(gap) and fmt(b.gap) == fmt(gap)


def test_the_report_of_an_rmse_blend_says_its_in_sample_score_flatters_it(tmp_path: Path) -> None:
    from kaggle_kit.blend import blend_report, read_blend

    result = _regression_run(tmp_path)
    blend_report(result.run_dir, "hill_climb")
    files = build_report(result.run_dir, adversarial=False)
    (b,) = files.report.blends
    assert b.nested_cv > b.cv  # rmse: the weights fit on the rows they score look better, as they always may
    # one rule with `kaggle-kit blend` (and so the history): the in-sample fold mean vs the nested one, turned by the
    # metric's direction; the report had taken cv - nested_cv (all rows at once), another number for the same blend
    stored = read_blend(result.run_dir, "hill_climb")
    assert b.gap > 0 and b.gap == pytest.approx(np.mean(stored.fold_scores) - np.mean(stored.in_sample_fold_scores))
    assert b.gap == pytest.approx(stored.gap) and b.gap != pytest.approx(b.nested_cv - b.cv)
    from kaggle_kit.report.history import History
    from kaggle_kit.report.records import snapshot

    with History(tmp_path / "h.sqlite") as h:  # the history stores that one gap
        (recorded,) = h.blends(h.record_run(snapshot(result.run_dir)))
    assert recorded.gap == pytest.approx(stored.gap)
    html = files.html.read_text()
    assert f"gap {b.gap:.5f}: the in-sample score flatters the blend" in html
    assert f"gap {b.gap:.5f};" in files.markdown.read_text()
    # and the leaderboard's note says what the rows are ranked by: the mean of fold scores (it said "by CV")
    assert "Rows are ranked by the mean of their fold scores" in html and "Models are ranked by CV" not in html
    means = [e.rank_score for e in files.report.entries]
    assert means == sorted(means)  # lower is better: smallest mean first


# ------------------------------------------------------------------------------------------------- tiny, huge
@pytest.mark.parametrize("scale", [1e-9, 1e12])
def test_scores_far_from_one_are_shown_with_their_digits(scale: float, tmp_path: Path) -> None:
    """An rmse of 1e-9 was shown 0.00000 for every model (ranked in an order the table could not show); one of 1e11
    as 100000000000.00000. Every shown score reads back to its value within 1e-4 relative."""
    result = _regression_run(tmp_path, scale)
    files = build_report(result.run_dir, adversarial=False)
    entries = files.report.entries
    assert all(0.05 * scale < e.cv < 10 * scale for e in entries)
    html = files.html.read_text()
    for e in entries:  # the HTML cell of each score (its exact value in data-value) shows its digits
        for value in (e.cv, e.mean, e.std, *e.fold_scores):
            (text,) = set(re.findall(f'data-value="{re.escape(repr(value))}">([^<]*)<', html))
            assert float(text) == pytest.approx(value, rel=1e-4), (value, text)
            assert len(text) <= 13, text  # 1e11 had read 100000000000.00000; now 100000000000
    for row in files.report.families.rows:  # the per-family table and its diagnosis (train 0.0000 vs valid 0.0000)
        for value in (row.best, row.worst, row.train, row.valid, row.gap):
            (text,) = set(re.findall(f'data-value="{re.escape(repr(value))}">([^<]*)<', html))
            assert float(text) == pytest.approx(value, rel=1e-3), (value, text)
        said = re.search(r"train (\S+) vs valid (\S+) \(gap (\S+),", row.diagnosis.text)
        assert said is not None, row.diagnosis.text
        shown = [float(said[1]), float(said[2]), float(said[3])]
        assert shown == pytest.approx([row.train, row.valid, row.gap], rel=1e-3), row.diagnosis.text
    for e in entries:  # the printed table and the Markdown summary too
        line = next(ln for ln in files.leaderboard.splitlines() if f" {e.name} " in ln)
        assert any(float(t) == pytest.approx(e.cv, rel=1e-4) for t in line.split() if _is_number(t)), line
        row = next(ln for ln in files.markdown.read_text().splitlines() if f"| {e.name} |" in ln)
        assert float(row.split("|")[4]) == pytest.approx(e.cv, rel=1e-4), row


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_entries_of_tiny_scores_keep_their_order_readable() -> None:
    metric = get_metric("rmse")
    entries = [Entry("a", "sklearn", 2e-9, (2e-9, 2e-9)), Entry("b", "sklearn", 1e-9, (1e-9, 1e-9))]
    table = format_entries(rank_entries(entries, metric), metric)
    assert [ln.split()[1] for ln in table.splitlines()[3:]] == ["b", "a"]
    assert "1.0000e-09" in table and "2.0000e-09" in table and "2.000e-09 2.000e-09" in table


# ------------------------------------------------------------------------------------------------- markup
LABELS = ["<b>x</b>", 'a&b|c "q"', "$x^$ \u00fc"]
FEATURES = {"<script>alert(1)</script>": 0, "f|$\\frac$": 1}


def test_names_and_labels_that_are_markup_are_shown_as_text(tmp_path: Path) -> None:
    """Class labels and column names with HTML, a table's bar and matplotlib's TeX: a feature ``f|$\\frac$`` in the
    importance plot (or a class ``$x^$`` in the confusion matrix) raised a mathtext ParseSyntaxException at savefig,
    and no report was written."""
    rng = np.random.default_rng(0)
    n = 150
    x = rng.normal(size=(n, 2))
    y = np.array(LABELS)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 1).astype(int)]
    frame = pl.DataFrame({"id": np.arange(n), **{c: x[:, j] for c, j in FEATURES.items()}, "y": y})
    frame[:100].write_csv(tmp_path / "t.csv")
    frame[100:].drop("y").write_csv(tmp_path / "u.csv")
    spec = build_spec(
        {
            "name": "cls",
            "task": "multiclass",
            "metric": "log_loss",
            "data": {"train": str(tmp_path / "t.csv"), "test": str(tmp_path / "u.csv"), "id": "id", "target": "y"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [
                {"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"},
                {
                    "name": "lgb",
                    "kind": "lightgbm",
                    "num_boost_round": 15,
                    "params": {"learning_rate": 0.2, "num_leaves": 4, "min_data_in_leaf": 5},
                },
            ],
        }
    )
    result = run(spec, runs_root=tmp_path, progress=None, record_history=False)
    files = build_report(result.run_dir, adversarial=True)
    html = files.html.read_text()
    assert "<script" not in html and "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "a&amp;b|c &quot;q&quot;" in html
    assert files.report.errors is not None and set(files.report.errors.labels) == set(LABELS)
    md = files.markdown.read_text()
    assert "a&b\\|c" in md and "\\$x^\\$" in md and "<script>" not in md


def test_plots_draw_dollars_as_written() -> None:
    png = heatmap(np.eye(2), ["$x^$", "$\\frac$"], ["$5-$10", "b"], "classes $x^$")
    assert png.startswith(b"\x89PNG")


def _png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def test_a_confusion_matrix_of_many_classes_stays_a_readable_size() -> None:
    """60 classes had drawn a 3850 x 3180 pixel picture (100: 6250 x 5180 pixels, 14 s)."""
    labels = [f"class_{i}" for i in range(60)]
    width, height = _png_size(heatmap(np.random.default_rng(0).random((60, 60)), labels, labels, "c"))
    assert width <= 2200 and height <= 2200


# ------------------------------------------------------------------------------------------------- runner-up
def test_the_runner_up_is_the_next_scored_row_below_the_best() -> None:
    """Imported predictions without test predictions rank above the best (it cannot be submitted) and had been named
    its runner-up, "behind" by the distance they were ahead; an unscored row read "nan behind"."""
    ext = Entry("ext", "external", 0.40, (0.39, 0.41), submittable=False)
    best = Entry("best", "sklearn", 0.50, (0.48, 0.52))
    second = Entry("second", "sklearn", 0.60, (0.59, 0.61))
    html = render_html(bare_report([second, ext, best]))
    assert "Runner-up second is 0.10000 behind" in html and "Runner-up ext" not in html
    unscored = Entry("unscored", "sklearn", math.nan, ())
    html = render_html(bare_report([best, unscored]))
    assert "Runner-up" not in html and "nan behind" not in html
    assert "nan" not in render_markdown(bare_report([best, unscored])).split("## Leaderboard")[0]


# ------------------------------------------------------------------------------------------------- history
def test_cv_vs_lb_compares_only_submissions_scored_by_the_run_metric(tmp_path: Path) -> None:
    """Two runs of one competition, one scored by rmse, one by mae, each with a submission and its public LB score:
    the rmse run's report had put the mae run's CV on its CV-vs-LB axes (and in its rank correlation)."""
    from kaggle_kit.report import add_lb_score, format_submissions, record_submission
    from kaggle_kit.report.build import cv_lb_points
    from kaggle_kit.report.history import default_db, history_path
    from kaggle_kit.submit import write_submission

    runs = {
        metric: _regression_run(tmp_path, metric=metric, folder=f"reg-{metric}").run_dir for metric in ("rmse", "mae")
    }
    for lb, model, run_dir in ((0.61, "ridge", runs["rmse"]), (0.47, "stiff", runs["mae"])):  # two files
        path = write_submission(run_dir, model)
        record_submission(run_dir, model, path)
        add_lb_score(path, lb, db=default_db(run_dir))
    report = collect_report(runs["rmse"], adversarial=False)
    rmse_cv = next(e.cv for e in report.entries if e.name == "ridge")
    assert [(cv, lb) for _, cv, lb in cv_lb_points(report)] == [(pytest.approx(rmse_cv), 0.61)]
    assert any("1 submission(s) of 'reg' come from runs scored by mae, not rmse" in n for n in report.notes)
    listing = format_submissions(history_path(tmp_path)).splitlines()
    assert "metric" in listing[0].split() and [ln.split()[4] for ln in listing[2:]] == ["rmse", "mae"]


def test_the_history_names_the_best_as_the_report_does_by_fold_mean(tmp_path: Path) -> None:
    """'wide' has the better CV over all rows, 'steady' the better mean of fold scores, which the report, `blend` and
    `submit --best` rank by: `kaggle-kit history` had named 'wide' the run's best."""
    from kaggle_kit.report.history import History, format_history
    from kaggle_kit.report.records import RunSnapshot
    from kaggle_kit.runtime.store import ModelResult

    def model(name: str, cv: float, folds: tuple[float, ...]) -> ModelResult:
        return ModelResult(name, "sklearn", f"k-{name}", "roc_auc", cv, folds, 0.1, None)

    models = (model("wide", 0.90, (0.80, 0.82)), model("steady", 0.85, (0.86, 0.88)))
    entries = [Entry.from_model(m) for m in models]
    assert rank_entries(entries, get_metric("roc_auc"))[0].name == "steady"  # the report's order
    snap = RunSnapshot(tmp_path / "r", "c", "binary", "roc_auc", True, None, "0", None, None, None, 10, 5, models, ())
    db = tmp_path / "history.sqlite"
    with History(db) as h:
        h.record_run(snap)
        (run,) = h.runs()
    assert (run.best, run.best_cv) == ("steady", 0.85)
    assert format_history(db).splitlines()[2].split()[4] == "steady"


def test_the_best_blend_without_a_nested_cv_is_not_said_to_have_one() -> None:
    """A hand-written blend summary with only its in-sample ``cv``: the summary had shown it as its nested CV."""
    blend = Entry("hand", "blend", 0.40, (), nested_cv=math.nan, method="mean")
    model = Entry("ridge", "sklearn", 0.50, (0.49, 0.51))
    html, md = render_html(bare_report([blend, model])), render_markdown(bare_report([blend, model]))
    assert "Best: <b>hand</b> (blend: mean), CV rmse <b>0.40000</b>" in html
    assert "**Best: hand** — CV 0.40000" in md
    nested = Entry("nested", "blend", 0.40, (0.41, 0.43), nested_cv=0.42, method="mean")
    assert "Best: <b>nested</b> (blend: mean), nested CV rmse <b>0.42000</b>" in render_html(
        bare_report([nested, model])
    )


def test_a_model_a_time_limit_cut_short_is_incomplete_not_failed() -> None:
    """The tables printed FAILED and the summary listed it under "Failed:" beside a model that raised."""
    cut = Entry("cut", "lightgbm", math.nan, (), status="incomplete", error="incomplete: time limit (1 of 3 folds)")
    broken = Entry("broken", "sklearn", math.nan, (), status="failed", error="ValueError: bad")
    ridge = Entry("ridge", "sklearn", 0.50, (0.49, 0.51))
    report = bare_report([cut, broken, ridge])
    lines = report.leaderboard().splitlines()
    assert next(ln for ln in lines if " cut " in ln).split()[3:] == [
        "INCOMPLETE",
        "time",
        "limit",
        "(1",
        "of",
        "3",
        "folds)",
    ]
    assert next(ln for ln in lines if " broken " in ln).split()[3:5] == ["FAILED", "ValueError:"]
    html = render_html(report)
    assert "Incomplete: cut (see the leaderboard)" in html and "Failed: broken (see the leaderboard)" in html
    assert "| INCOMPLETE: time limit (1 of 3 folds) |" in render_markdown(report)


def test_a_run_whose_models_all_failed_says_there_is_no_best() -> None:
    """Only the baseline scored: the summary had named no best and said nothing about it."""
    baseline = Entry("baseline", "dummy", 0.70, (0.69, 0.71))
    broken = Entry("broken", "sklearn", math.nan, (), status="failed", error="ValueError: bad")
    report = bare_report([broken, baseline])
    assert report.best is None and [e.name for e in report.entries] == ["baseline", "broken"]
    html, md = render_html(report), render_markdown(report)
    assert "<b>No best</b>: no model or blend besides the baseline has a score" in html
    assert "Failed: broken" in html and "Best:" not in html
    assert "**No best**: no model or blend besides the baseline" in md


def test_a_line_break_in_a_class_label_keeps_the_markdown_table_whole() -> None:
    from dataclasses import replace

    from kaggle_kit.report.mistakes import ErrorAnalysis, Mistake

    label = "two\nlines | and a bar"
    errors = ErrorAnalysis("ridge", (Mistake(0, 7, label, "other", 0.1, 2.3),), (label, "other"), None)
    report = replace(bare_report([Entry("ridge", "sklearn", 0.5, (0.5,))]), errors=errors)
    md = render_markdown(report)
    rows = md.split("## Worst OOF mistakes of ridge")[1].strip().splitlines()[:3]
    assert rows[2] == "| 7 | two lines \\| and a bar | other | 0.10000 |"


def test_kaggle_kit_leaderboard_names_the_models_a_time_limit_left_incomplete(tmp_path: Path, capsys) -> None:
    """`kaggle-kit run` names them under the table; `kaggle-kit leaderboard` had left them out without a word."""
    from dataclasses import replace

    from kaggle_kit.cli import main
    from kaggle_kit.runtime.store import RunStore

    result = _regression_run(tmp_path)
    store = RunStore(result.run_dir)
    stiff = store.read_summary("stiff")
    store.write_summary(replace(stiff, status="incomplete", error="incomplete: time limit (2 of 3 folds)"))
    assert main(["leaderboard", str(result.run_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "incomplete (time limit, not ranked or blended): stiff"
    assert not any(" stiff " in line for line in out[:-1])  # not ranked


def test_mlflow_keeps_runs_of_another_metric_in_their_own_experiment(tmp_path: Path) -> None:
    """An rmse run and an mae run of one competition had been logged to one experiment, their `ridge.cv` side by side
    as if one quantity."""
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from kaggle_kit.report import log_to_mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs = {m: _regression_run(tmp_path, metric=m, folder=f"reg-{m}").run_dir for m in ("rmse", "mae")}
    ids = [log_to_mlflow(runs[m], tracking_uri=uri) for m in ("rmse", "mae", "rmse")]
    client = MlflowClient(tracking_uri=uri)
    names = [client.get_experiment(client.get_run(i).info.experiment_id).name for i in ids]
    assert names == ["reg", "reg (mae)", "reg"]
    assert [client.get_run(i).data.params["metric"] for i in ids] == ["rmse", "mae", "rmse"]
