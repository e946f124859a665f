"""The one leaderboard table: ranking in the metric's direction, failed rows last, missing values as '-', columns that
widen to fit their values, and the three tables printed with it (models, models + blends, blends)."""

from __future__ import annotations

import math

import pytest

from kaggle_kit.blend import BlendResult, format_blend_leaderboard
from kaggle_kit.leaderboard import TableRow, format_leaderboard, format_table, name_column, rank, value_column
from kaggle_kit.metrics import get_metric
from kaggle_kit.report.entries import Entry, format_entries
from kaggle_kit.runtime.store import ModelResult

RMSE = get_metric("rmse")
AUC = get_metric("roc_auc")


def _model(name: str, cv: float, folds: tuple[float, ...], status: str = "ok", error: str | None = None):
    return ModelResult(name, "lightgbm", "k", "rmse", cv, folds, 1.5, 120.0, status, error)


MODELS = (
    _model("slow_and_wrong", math.nan, (), status="failed", error="ValueError: boom"),
    _model("a", 54.5, (56.0, 53.0)),
    _model("baseline", 12345.678, (12000.0, 12600.0)),  # a wide value: its columns must widen
    _model("b", 53.9, (55.0, 52.8)),
)


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:2].strip().isdigit()]


def test_models_table_ranks_by_direction_and_puts_failures_last() -> None:
    text = format_leaderboard(MODELS, RMSE)
    rows = _rows(text)
    assert [r.split()[1] for r in rows] == ["b", "a", "baseline", "slow_and_wrong"]
    assert rows[-1].split()[3:] == ["FAILED", "ValueError:", "boom"]
    assert text.splitlines()[0] == "CV leaderboard (rmse, lower is better; ranked by the fold mean)"
    assert "12345.67800" in text and "54.50000" in text and f"{53.9:.5f}" in text
    assert [m.name for m in rank(MODELS, AUC)][:3] == ["baseline", "a", "b"]  # higher is better


def test_columns_widen_to_their_widest_value() -> None:
    lines = format_leaderboard(MODELS, RMSE).splitlines()
    header, rule, *rows = lines[1:]
    assert len(rule) == len(header)
    fit = header.index("fit s") + len("fit s")  # right-aligned: every value ends where the header does
    cv_end = header.index("CV rmse") + len("CV rmse")
    for row in rows[:-1]:  # not the failed row
        assert row[:fit].endswith(" 1.5"), row
    assert {row[:cv_end].split()[-1] for row in rows[:-1]} == {"53.90000", "54.50000", "12345.67800"}


def test_missing_values_print_as_a_dash_and_order_can_be_kept() -> None:
    rows = [
        TableRow("x", "m", 2.0, cv=None),
        TableRow("y", "m", 1.0, cv=math.nan),
        TableRow("z", "m", math.nan, cv=0.5),
    ]
    columns = [name_column(), value_column("CV", lambda r: r.cv)]
    ranked = _rows(format_table(rows, columns, RMSE, ["t"]))
    assert [r.split()[1:] for r in ranked] == [["y", "-"], ["x", "-"], ["z", "0.50000"]]  # unscored last
    kept = _rows(format_table(rows, columns, RMSE, ["t"], ranked=False))
    assert [r.split()[1] for r in kept] == ["x", "y", "z"]


def test_entries_table_ranks_models_and_blends_by_their_fold_mean() -> None:
    entries = [Entry.from_model(m) for m in MODELS] + [
        Entry("nm", "blend", cv=50.0, fold_scores=(54.0, 53.0), nested_cv=53.5, method="nelder_mead")
    ]
    text = format_entries(entries, RMSE)
    rows = _rows(text)
    assert [r.split()[1] for r in rows] == ["nm", "b", "a", "baseline", "slow_and_wrong"]
    assert rows[0].split()[2] == "nelder_mead" and "53.50000" in rows[0]
    assert rows[1].split()[4] == "-"  # a model has no nested CV
    assert "ranked by the mean of fold scores, nested CV for blends" in text.splitlines()[0]


@pytest.mark.parametrize("metric", [RMSE, AUC])
def test_blend_table_ranks_models_and_blends_by_their_honest_fold_mean(metric) -> None:
    folds = ((0, 0), (0, 1))
    blend = BlendResult(
        name="nelder_mead",
        method="nelder_mead",
        metric=metric.name,
        objective=metric.name,
        models=("a", "b"),
        weights=(0.3, 0.7),
        cv=53.0,
        nested_cv=53.6,
        fold_scores=(54.0, 53.2),
        in_sample_fold_scores=(53.8, 53.0),
        folds=folds,
        fit_seconds=0.1,
        n_rows=100,
    )
    text = format_blend_leaderboard(MODELS[1:], [blend], metric, folds)
    rows = _rows(text)
    order = [r.split()[1] for r in rows]
    assert order == (["nelder_mead", "b", "a", "baseline"] if metric is RMSE else ["baseline", "a", "b", "nelder_mead"])
    line = rows[order.index("nelder_mead")]
    assert "53.60000 +- 0.40000" in line and line.endswith("b 0.70 a 0.30")
    assert f" {blend.gap:+.5f}  " in line and abs(blend.gap) == pytest.approx(0.2)
    assert rows[order.index("a")].rstrip().endswith("-  lightgbm")  # a model has no in-sample score or gap


def test_the_package_name_stays_the_leaderboard_function_once_its_module_is_imported(tmp_path) -> None:
    """`kaggle-kit run` (and `run(spec)` in a notebook) imports the module kaggle_kit.leaderboard, which Python then
    sets as the package's attribute `leaderboard`: `kaggle_kit.leaderboard(run_dir)` after a run in the same process
    was `TypeError: 'module' object is not callable`."""
    import subprocess
    import sys

    code = (
        "import sys, kaggle_kit, kaggle_kit.leaderboard\n"
        "try:\n"
        "    kaggle_kit.leaderboard(sys.argv[1])\n"
        "except kaggle_kit.KitError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert "is not a run directory" in out.stdout, out.stderr
