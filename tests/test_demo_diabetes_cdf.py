"""demo-diabetes-cdf run exactly as its config is written, through the command line a user types: ``kaggle-kit
demo-data``, ``run``, ``blend``, ``submit`` and ``report``. The submission is a CDF per row, one column per bin
(``Progression40 .. Progression320``, the sample submission's), scored here on the hidden test values (solution.csv)
by CRPS against the constant training CDF. About 40 s on 2 busy cores."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import COMPETITIONS

from kaggle_kit.blend import read_blend
from kaggle_kit.cli import main
from kaggle_kit.leaderboard import leaderboard
from kaggle_kit.metrics import get_metric

pytest.importorskip("torch")
pytestmark = pytest.mark.slow

BINS = tuple(float(b) for b in range(40, 321, 10))


def test_demo_diabetes_cdf_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "competitions").mkdir()
    config = Path(shutil.copy(COMPETITIONS / "demo-diabetes-cdf.toml", tmp_path / "competitions"))
    run_dir = tmp_path / "runs" / "demo-diabetes-cdf"
    printed = io.StringIO()
    sub_model, sub_blend = tmp_path / "model.csv", tmp_path / "blend.csv"
    with contextlib.redirect_stdout(printed):
        assert main(["demo-data", "demo-diabetes-cdf", "--out", str(tmp_path / "data")]) == 0
        assert main(["run", str(config), "--runs-root", str(tmp_path / "runs")]) == 0
        assert main(["blend", str(run_dir), "--method", "all"]) == 0
        assert main(["submit", str(run_dir), "--model", "mlp_cdf", "--out", str(sub_model)]) == 0
        assert main(["submit", str(run_dir), "--blend", "nelder_mead", "--out", str(sub_blend)]) == 0
        assert main(["report", str(run_dir)]) == 0

    crps = get_metric("crps", BINS)
    models = {m.name: m for m in leaderboard(run_dir)}
    assert not {n: m.error for n, m in models.items() if m.status != "ok"}
    assert set(models) == {"baseline", "lgbm_bins", "ridge_gauss", "xgb_resid", "mlp_cdf"}
    for name, m in models.items():  # every way of predicting a distribution beats the training CDF
        assert name == "baseline" or m.cv < 0.95 * models["baseline"].cv, (name, m.cv, models["baseline"].cv)
    # the stored OOF is the CDF at every bin, scored as the leaderboard says
    data = tmp_path / "data" / "demo-diabetes-cdf"
    train = pl.read_csv(data / "train.csv")
    oof = pl.read_parquet(next((run_dir / "models" / "ridge_gauss").rglob("oof.parquet")))
    assert oof.columns == ["id", *(f"cdf_{int(b)}" for b in BINS)]
    assert abs(crps.score(train["progression"].to_numpy(), oof.drop("id").to_numpy()) - models["ridge_gauss"].cv) < 1e-6

    blend = read_blend(run_dir, "nelder_mead")
    assert blend.objective == "crps" and abs(sum(blend.weights or ()) - 1) < 1e-9
    assert not (run_dir / "blends" / "stack").exists()  # a level-2 stacker does not average distributions

    sample, solution = pl.read_csv(data / "sample_submission.csv"), pl.read_csv(data / "solution.csv")
    truth = solution["progression"].to_numpy()
    constant = np.tile([np.mean(train["progression"].to_numpy() <= b) for b in BINS], (len(truth), 1))
    for path in (sub_model, sub_blend):
        sub = pl.read_csv(path)
        assert sub.columns == sample.columns and sub.columns[1] == "Progression40" and len(sub.columns) == 30
        assert sub["id"].to_list() == sample["id"].to_list() == solution["id"].to_list()
        cdf = sub.drop("id").to_numpy()
        assert cdf.min() >= 0 and cdf.max() <= 1 and (np.diff(cdf, axis=1) >= -1e-6).all()
        assert crps.score(truth, cdf) < 0.9 * crps.score(truth, constant)  # on the hidden test rows
    report = (run_dir / "report" / "report.md").read_text()
    assert "crps (predicted: the median)" in report
