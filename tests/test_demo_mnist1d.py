"""demo-mnist1d run exactly as its config is written, through the command line: ``kaggle-kit demo-data
demo-mnist1d`` writes the long tables, ``kaggle-kit run`` joins them (``[data.sequences]``), the trees read the
per-series statistics and the 1D-CNN and GRU the steps. About 2-3 minutes on 2 idle cores."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import COMPETITIONS
from sklearn.metrics import accuracy_score

from kaggle_kit.blend import read_blend
from kaggle_kit.cli import main
from kaggle_kit.leaderboard import leaderboard

pytest.importorskip("mnist1d")
pytest.importorskip("torch")
pytestmark = pytest.mark.slow


def test_demo_mnist1d_nets_beat_the_trees(tmp_path: Path) -> None:
    (tmp_path / "competitions").mkdir()
    config = Path(shutil.copy(COMPETITIONS / "demo-mnist1d.toml", tmp_path / "competitions"))
    run_dir = tmp_path / "runs" / "demo-mnist1d"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["demo-data", "demo-mnist1d", "--out", str(tmp_path / "data")]) == 0
        assert main(["run", str(config), "--runs-root", str(tmp_path / "runs")]) == 0
    data = tmp_path / "data" / "demo-mnist1d"
    long = pl.read_csv(data / "train_sequences.csv")
    assert long.columns == ["id", "step", "x"] and long.group_by("id").len()["len"].unique().to_list() == [40]

    models = {m.name: m for m in leaderboard(run_dir)}
    failed = {m.name: m.error for m in models.values() if m.status != "ok"}
    assert not failed, failed
    cv = {name: m.cv for name, m in models.items()}
    for net in ("cnn1d", "gru"):
        assert cv[net] >= 0.90, cv
        assert cv[net] > max(cv["xgb"], cv["lgbm"]), cv
    assert min(cv["xgb"], cv["lgbm"]) > 0.4, cv  # the statistics carry signal (10 classes: chance is 0.1)

    # the wide-and-deep blend of trees and nets, scored by nested CV
    with contextlib.redirect_stdout(printed):
        assert main(["blend", str(run_dir), "--method", "nelder_mead,mean"]) == 0
    blend = read_blend(run_dir, "nelder_mead")
    assert set(blend.models) == {"xgb", "lgbm", "cnn1d", "gru"}
    assert blend.nested_cv >= 0.90, blend.nested_cv

    sub = tmp_path / "cnn1d.csv"
    with contextlib.redirect_stdout(printed):
        assert main(["submit", str(run_dir), "--model", "cnn1d", "--out", str(sub)]) == 0
    sample, solution = pl.read_csv(data / "sample_submission.csv"), pl.read_csv(data / "solution.csv")
    submitted = pl.read_csv(sub)
    assert submitted.columns == sample.columns and submitted["id"].to_list() == sample["id"].to_list()
    joined = solution.join(submitted, on="id", suffix="_pred")
    assert accuracy_score(joined["label"], joined["label_pred"]) >= 0.90  # the hidden test labels
