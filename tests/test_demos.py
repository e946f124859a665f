"""Every demo competition run exactly as its config is written, through the command line a user types:
``kaggle-kit demo-data NAME``, ``kaggle-kit run``, ``kaggle-kit blend``, ``kaggle-kit submit``.

The configs are copied unchanged into a temporary ``competitions/`` folder beside the generated ``data/`` folder, so
their relative data paths resolve as they do in the repository. Each demo runs once per module (on a busy 2-core
machine 25 s for breast cancer, 45 s for diabetes, 3 min for digits); the tests read its run folder, its stored
blends and its submissions. demo-mnist1d (about 2-3 minutes on 2 idle cores) is in tests/test_demo_mnist1d.py.
"""

from __future__ import annotations

import contextlib
import io
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import COMPETITIONS
from sklearn.metrics import accuracy_score, roc_auc_score

from kaggle_kit.blend import BlendResult, blend_report, read_blend
from kaggle_kit.cli import DEMO_CONFIGS, main
from kaggle_kit.leaderboard import leaderboard
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.store import ModelResult

pytestmark = pytest.mark.slow

#: every demo config but demo-mnist1d (its own tests run it)
DEMOS = ("demo-breast-cancer", "demo-digits", "demo-diabetes")


@dataclass(frozen=True)
class DemoRun:
    name: str
    data: Path  # data/<name>: train, test, sample_submission, solution
    run_dir: Path
    models: dict[str, ModelResult]  # best CV first
    blends: dict[str, BlendResult]  # as stored by `kaggle-kit blend --method all`
    output: str  # what `run` and `blend` printed
    submissions: dict[str, Path]  # "model": the best single model's, "blend": the best blend's

    @property
    def best_model(self) -> ModelResult:
        return next(m for m in self.models.values() if m.name != "baseline")

    @property
    def best_blend(self) -> BlendResult:
        return _best_blend(self.blends)

    def hidden_score(self, which: str) -> float:
        """A submission scored on the hidden test labels (solution.csv) with the competition's metric."""
        solution = pl.read_csv(self.data / "solution.csv")
        target = solution.columns[1]
        joined = solution.join(pl.read_csv(self.submissions[which]), on="id", suffix="_pred")
        truth, pred = joined[target].to_numpy(), joined[f"{target}_pred"].to_numpy()
        if self.name == "demo-breast-cancer":  # the submission holds P(malignant), the second label in sorted order
            return float(roc_auc_score(truth == "malignant", pred))
        if self.name == "demo-digits":
            return float(accuracy_score(truth, pred))
        return float(np.sqrt(np.mean((truth - pred) ** 2)))


def _best_blend(blends: dict[str, BlendResult]) -> BlendResult:
    """The blend of two or more models with the best honest (nested-CV) fold mean."""
    metric = get_metric(next(iter(blends.values())).metric)
    several = [b for b in blends.values() if len(b.models) > 1]
    return min(several, key=lambda b: -b.mean if metric.greater_is_better else b.mean)


@pytest.fixture(scope="module", params=DEMOS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One demo: its data written by `demo-data`, the repository's config run as it is, every blend method, and
    submissions of the best model and of the best blend."""
    name: str = request.param
    root = tmp_path_factory.mktemp(name)
    (root / "competitions").mkdir()
    config = Path(shutil.copy(COMPETITIONS / f"{name}.toml", root / "competitions"))
    run_dir = root / "runs" / name
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["demo-data", name, "--out", str(root / "data")]) == 0
        assert main(["run", str(config), "--runs-root", str(root / "runs")]) == 0
        assert main(["blend", str(run_dir), "--method", "all"]) == 0
    models = {m.name: m for m in leaderboard(run_dir)}
    failed = {m.name: m.error for m in models.values() if m.status != "ok"}
    assert not failed, failed
    blends = {p.name: read_blend(run_dir, p.name) for p in sorted((run_dir / "blends").iterdir())}
    out = DemoRun(name, root / "data" / name, run_dir, models, blends, printed.getvalue(), {})
    subs = {"model": root / "model.csv", "blend": root / "blend.csv"}
    with contextlib.redirect_stdout(printed):
        assert main(["submit", str(run_dir), "--model", out.best_model.name, "--out", str(subs["model"])]) == 0
        assert main(["submit", str(run_dir), "--blend", out.best_blend.name, "--out", str(subs["blend"])]) == 0
    out.submissions.update(subs)
    return out


def test_the_demo_command_runs_every_demo_here() -> None:
    assert set(DEMO_CONFIGS) <= set(DEMOS)
    own_tests = {"demo-mnist1d", "demo-reviews", "demo-diabetes-cdf", "demo-photos", "demo-multilabel"}
    assert {p.stem for p in COMPETITIONS.glob("demo-*.toml")} == {*DEMOS, *own_tests}


def test_every_model_beats_the_baseline(demo: DemoRun) -> None:
    metric = get_metric(demo.best_model.metric)
    baseline = demo.models["baseline"].cv
    for m in demo.models.values():
        if m.name != "baseline":
            assert metric.better(m.cv, baseline), (m.name, m.cv, baseline)
    assert "CV leaderboard" in demo.output and "Blend leaderboard" in demo.output


def test_demo_scores(demo: DemoRun) -> None:
    """What each demo is there to show."""
    cv = {name: m.cv for name, m in demo.models.items()}
    if demo.name == "demo-breast-cancer":
        assert {"xgb", "lgbm", "logreg", "mlp"} <= set(cv)  # trees (wide) and nets (deep) for the blend
        assert cv["mlp"] > 0.98
        assert demo.best_model.cv > 0.98
        assert demo.best_blend.nested_cv > 0.98
    elif demo.name == "demo-digits":  # the CNN sees the pixels as an image; the trees see 64 columns
        assert cv["cnn"] > max(cv["xgb"], cv["lgbm"])
        assert cv["cnn"] > 0.98
    else:  # diabetes: a clear margin over predicting the training mean, and the wide-and-deep blend adds to it
        assert demo.best_model.cv < 0.8 * cv["baseline"]
        assert demo.best_blend.nested_cv < 0.8 * cv["baseline"]
        assert {"xgb", "lgbm", "ridge", "mlp"} <= set(cv)
        assert demo.best_blend.mean < min(np.mean(m.fold_scores) for n, m in demo.models.items() if n != "baseline")


@pytest.mark.parametrize("which", ["model", "blend"])
def test_submission_matches_the_sample_and_its_hidden_score_is_close_to_cv(demo: DemoRun, which: str) -> None:
    sample = pl.read_csv(demo.data / "sample_submission.csv")
    sub = pl.read_csv(demo.submissions[which])
    assert sub.columns == sample.columns
    assert sub["id"].to_list() == sample["id"].to_list()
    assert sub.null_count().sum_horizontal().item() == 0
    cv = demo.best_model.cv if which == "model" else demo.best_blend.nested_cv
    hidden = demo.hidden_score(which)
    assert math.isfinite(hidden)
    # The hidden test set is small (113 / 359 / 90 rows), so its score moves with the draw: the bounds are a few
    # standard errors of that score, not a tolerance on the kit.
    if demo.name == "demo-breast-cancer":
        assert hidden > 0.97 and abs(hidden - cv) < 0.03
    elif demo.name == "demo-digits":
        assert np.isin(sub["label"].to_numpy(), np.arange(10)).all()
        assert hidden > 0.96 and abs(hidden - cv) < 0.03
    else:
        assert sub["progression"].dtype == pl.Float64
        assert abs(hidden - cv) < 0.15 * cv


def test_demo_command_reuses_the_run_and_submits(demo: DemoRun) -> None:
    """`kaggle-kit demo NAME` (what `make demo` runs for each demo) on the same folders: the finished run is reused,
    not refitted, and the blends, the report and a submission are written."""
    if demo.name != "demo-breast-cancer":
        pytest.skip("the demo command is checked on the quickest demo")
    root = demo.run_dir.parents[1]
    fitted = {p: p.stat().st_mtime_ns for p in demo.run_dir.glob("models/*/*/folds/*/result.json")}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        argv = ["demo", demo.name, "--competitions", str(root / "competitions"), "--runs-root", str(root / "runs")]
        assert main(argv) == 0
    out = printed.getvalue()
    assert f"=== {demo.name}" in out and out.count("CV leaderboard") == 1 and "Blend leaderboard" in out
    assert {p: p.stat().st_mtime_ns for p in demo.run_dir.glob("models/*/*/folds/*/result.json")} == fitted
    line = next(line for line in out.splitlines() if line.startswith("submission ("))
    assert Path(line.split(": ", 1)[1]).is_file()
    verdict = blend_report(demo.run_dir, "all")  # what is submitted is what the blend report's verdict says
    chosen = f"blend {verdict.best_blend.name}" if verdict.beats_best_model else f"model {verdict.best_model.name}"
    assert line.startswith(f"submission ({chosen})"), (line, chosen)
    assert (demo.run_dir / "report" / "report.html").is_file()


def test_a_demos_test_split_is_the_same_in_every_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stratified hold-out drew each class's test rows in the order polars' unique() listed the classes, which
    varies from process to process (its hashing): the demo's train/test split, and every score on it, changed from
    one session to the next (a test of a blend beating its models passed or failed by chance). Here unique() lists
    them in one order, then in the other, as two processes may."""
    from kaggle_kit.demo import make_demo

    ids = []
    unique = pl.Series.unique
    for reverse in (False, True):
        monkeypatch.setattr(
            pl.Series, "unique", lambda self, *a, r=reverse, **k: unique(self, maintain_order=True)[:: -1 if r else 1]
        )
        make_demo("demo-breast-cancer", tmp_path / str(reverse))
        ids.append(pl.read_csv(tmp_path / str(reverse) / "demo-breast-cancer" / "test.csv")["id"].to_list())
    assert ids[0] == ids[1]
