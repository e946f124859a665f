"""The per-family report: each model kind's CV spread and fit time checked against the run store read directly, the
selected ensemble's weights grouped by kind, each fold's score on its own training rows, and the bias-variance
diagnosis on planted cases (an unpruned tree on noise overfits, a heavily regularised linear model on a nonlinear
target underfits), for a score metric and a loss metric."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest
from conftest import demo_spec
from sklearn.metrics import mean_squared_error, roc_auc_score

from kaggle_kit.blend import blend_report
from kaggle_kit.cli import main
from kaggle_kit.config import build_spec
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext
from kaggle_kit.models.base import Fitted
from kaggle_kit.report import family_report
from kaggle_kit.report.families import CLOSE, OVERFIT, diagnose, headroom
from kaggle_kit.runtime.executors import Task
from kaggle_kit.runtime.fold_fit import _train_score
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import FoldResult, RunStore

FAST = {"num_boost_round": 15, "early_stopping_rounds": 0}
SEQUENTIAL = {"n_jobs": 1, "threads_per_task": 1}


@pytest.fixture(scope="module")
def searched(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A search over two kinds (3 configs each, 3 folds) on the breast-cancer demo, then ensemble selection."""
    search = {"families": ["lightgbm", "linear"], "n_configs": 3, "overrides": {"lightgbm": FAST}}
    spec = demo_spec(
        "demo-breast-cancer",
        demo_data,
        models=[],
        search=search,
        run=SEQUENTIAL,
        folds={"strategy": "stratified", "n_splits": 3},
    )
    root = tmp_path_factory.mktemp("families")
    result = run(spec, runs_root=root, progress=None, record_history=False)
    blend_report(result.run_dir, "hill_climb")
    return result.run_dir


def _stored(run_dir: Path) -> dict[str, tuple[dict, list[dict]]]:
    """name -> (summary.json, [result.json of each fold]) of the run's current models, read as plain JSON."""
    meta = json.loads((run_dir / "run.json").read_text())
    out = {}
    for name, key in meta["models"].items():
        folder = run_dir / "models" / name / key
        folds = [json.loads(p.read_text()) for p in sorted(folder.glob("folds/r*_f*/result.json"))]
        out[name] = (json.loads((folder / "summary.json").read_text()), folds)
    return out


def _fold_mean(summary: dict) -> float:
    return float(np.mean(summary["fold_scores"]))


def test_family_table_equals_the_store_read_independently(searched: Path) -> None:
    report = family_report(searched)
    stored = _stored(searched)
    assert [r.family for r in report.rows] == sorted(
        {"lightgbm", "linear"}, key=lambda f: -max(_fold_mean(s) for s, _ in stored.values() if s["kind"] == f)
    )
    total = sum(f["fit_seconds"] for name, (_, folds) in stored.items() if name != "baseline" for f in folds)
    assert report.total_fit_seconds == pytest.approx(total, rel=1e-9)
    for family in ("lightgbm", "linear"):
        members = {n: v for n, v in stored.items() if v[0]["kind"] == family}
        assert len(members) == 3  # the baseline (kind dummy) is not a family
        # scored as every leaderboard ranks: the fold mean (by pooled CV, the best model could differ from the
        # leaderboard's)
        cvs = np.array([_fold_mean(s) for s, _ in members.values()])
        row = report.row(family)
        assert row.n_models == 3 and row.n_unfinished == 0
        assert row.best == pytest.approx(cvs.max()) and row.worst == pytest.approx(cvs.min())  # roc_auc: higher
        assert row.median == pytest.approx(np.median(cvs))
        assert row.iqr == pytest.approx(np.percentile(cvs, 75) - np.percentile(cvs, 25))
        seconds = sum(f["fit_seconds"] for _, folds in members.values() for f in folds)
        assert row.fit_seconds == pytest.approx(seconds, rel=1e-9)
        assert row.share == pytest.approx(seconds / total)
        best_name = max(members, key=lambda n: _fold_mean(members[n][0]))
        assert row.best_model == best_name
        folds = members[best_name][1]
        assert len(folds) == 3 and all(f["train_rows"] == f["n_train"] for f in folds)  # < 10k rows: all of them
        assert row.train == pytest.approx(np.mean([f["train_score"] for f in folds]))
        assert row.valid == pytest.approx(np.mean([f["score"] for f in folds]))
        assert row.gap == pytest.approx(row.train - row.valid)  # roc_auc: higher is better
    assert sum(r.share for r in report.rows) == pytest.approx(1.0)


def test_selected_ensemble_weights_grouped_by_family(searched: Path) -> None:
    blend = json.loads((searched / "blends" / "hill_climb" / "summary.json").read_text())
    kinds = {n: s["kind"] for n, (s, _) in _stored(searched).items()}
    expected: dict[str, float] = {}
    for model, weight in zip(blend["models"], blend["weights"], strict=True):
        if weight > 0:
            expected[kinds[model]] = expected.get(kinds[model], 0.0) + weight
    ensemble = family_report(searched).ensemble
    assert ensemble is not None and ensemble.method == "hill_climb"
    assert {f.family: f.weight for f in ensemble.families} == pytest.approx(expected)
    assert sum(f.weight for f in ensemble.families) == pytest.approx(1.0)
    for f in ensemble.families:
        assert all(kinds[m] == f.family for m, _ in f.models)
        assert [w for _, w in f.models] == sorted((w for _, w in f.models), reverse=True)


def test_train_score_is_the_metric_on_the_folds_training_rows(searched: Path) -> None:
    """Recomputed for one fold from the native model file, the stored folds and target, and scikit-learn's AUC."""
    meta = json.loads((searched / "run.json").read_text())
    name = "lightgbm_c001"
    folder = searched / "models" / name / meta["models"][name] / "folds" / "r0_f1"
    result = json.loads((folder / "result.json").read_text())
    folds = pl.read_parquet(searched / "folds.parquet")["fold_r0"].to_numpy()
    train_rows = np.flatnonzero((folds != 1) & (folds >= 0))
    target = pl.read_parquet(searched / "target.parquet")["y"].to_numpy()
    features = json.loads((folder / "features.json").read_text())["features"]
    train = pl.read_csv(_train_csv(searched))
    X = train.select(features).to_numpy().astype(np.float32)[train_rows]
    p = lgb.Booster(model_file=str(folder / "model.txt")).predict(X)
    assert result["train_rows"] == len(train_rows)
    assert result["train_score"] == pytest.approx(roc_auc_score(target[train_rows], p), abs=1e-9)
    assert result["score"] < result["train_score"]  # the validation rows score worse than the training rows


def _train_csv(run_dir: Path) -> Path:
    spec = (run_dir / "spec.toml").read_text()
    line = next(x for x in spec.splitlines() if x.startswith("train = "))
    return Path(line.split("=", 1)[1].strip().strip('"'))


class _Recorder:
    """A model that predicts ``sigmoid(x0)`` and records the rows it was asked about (x1 holds the row number)."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        self.seen.append(X.X[:, 1].astype(np.int64))
        p = 1 / (1 + np.exp(-X.X[:, 0]))
        return np.column_stack([1 - p, p]).astype(np.float32)


def test_train_score_scores_a_seeded_subsample_aligned_with_its_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    from kaggle_kit.runtime import fold_fit

    monkeypatch.setattr(fold_fit, "TRAIN_SCORE_ROWS", 50)
    rng = np.random.default_rng(3)
    n = 400
    x0 = rng.normal(size=n)
    y = (x0 + rng.normal(scale=1.5, size=n) > 0).astype(np.int64)
    X = FeatureMatrix(np.column_stack([x0, np.arange(n)]).astype(np.float32), ("x0", "row"), ())
    metric = get_metric("roc_auc")
    ctx = FitContext(task="binary", n_classes=2, metric=metric, seed=5, device="cpu", threads=1)
    fitted = Fitted(model=None)
    model = _Recorder()
    task = Task(model=None, key="k", repeat=0, fold=2)  # type: ignore[arg-type]
    score, rows = _train_score(model, fitted, X, y, metric, ctx, task)  # type: ignore[arg-type]
    seen = model.seen[-1]
    assert rows == 50 and len(set(seen.tolist())) == 50
    assert score == pytest.approx(roc_auc_score(y[seen], x0[seen]))  # each prediction scored against its own row
    again, _ = _train_score(model, fitted, X, y, metric, ctx, task)  # type: ignore[arg-type]
    assert again == score and np.array_equal(model.seen[-1], seen)  # seeded
    other = Task(model=None, key="k", repeat=0, fold=3)  # type: ignore[arg-type]
    _train_score(model, fitted, X, y, metric, ctx, other)  # type: ignore[arg-type]
    assert not np.array_equal(model.seen[-1], seen)  # another fold, another subsample


def test_a_fold_stored_before_train_scores_reads_as_not_measured() -> None:
    old = {
        "model": "m",
        "key": "k",
        "repeat": 0,
        "fold": 0,
        "score": 0.9,
        "best_iteration": None,
        "n_train": 10,
        "n_valid": 5,
        "fit_seconds": 0.1,
        "predict_seconds": 0.0,
        "device": "cpu",
        "threads": 1,
    }
    result = FoldResult.from_json(json.dumps(old))
    assert result.train_score is None and result.train_rows == 0
    d = diagnose(get_metric("roc_auc"), train=None, valid=None, cv=0.9, best_cv=0.9, best_family="m", scale=0.5)
    assert d.verdict == "not measured"


# ------------------------------------------------------------------------------------------------ the diagnosis
@pytest.mark.parametrize(
    ("metric", "baseline", "train", "valid", "cv", "best_cv", "verdict"),
    [
        # a score (higher is better): headroom = 1 - 0.5 = 0.5
        ("roc_auc", 0.5, 0.999, 0.93, 0.93, 0.93, "overfits"),  # gap 0.069 = 14 % of 0.5
        ("roc_auc", 0.5, 0.965, 0.93, 0.93, 0.93, "slightly overfits"),  # 7 %
        ("roc_auc", 0.5, 0.86, 0.85, 0.85, 0.93, "underfits"),  # 2 %, and 0.08 behind (16 %)
        ("roc_auc", 0.5, 0.935, 0.93, 0.93, 0.93, "fits well"),
        # a loss (lower is better): the same cases mirrored; headroom = baseline log loss 0.69 - 0
        ("log_loss", 0.69, 0.01, 0.20, 0.20, 0.20, "overfits"),  # gap 0.19 = 28 %
        ("log_loss", 0.69, 0.15, 0.20, 0.20, 0.20, "slightly overfits"),  # 7 %
        ("log_loss", 0.69, 0.39, 0.40, 0.40, 0.20, "underfits"),  # 1 %, 0.2 behind (29 %)
        ("log_loss", 0.69, 0.40, 0.39, 0.39, 0.39, "fits well"),  # valid better than train: no gap
        # the scale matters: a gap of 0.05 RMSE is nothing when the baseline is 10, a lot when it is 0.2
        ("rmse", 10.0, 1.0, 1.05, 1.05, 1.05, "fits well"),
        ("rmse", 0.2, 0.0, 0.05, 0.05, 0.05, "overfits"),
    ],
)
def test_diagnosis_thresholds_follow_the_metrics_direction_and_scale(
    metric: str, baseline: float, train: float, valid: float, cv: float, best_cv: float, verdict: str
) -> None:
    m = get_metric(metric)
    scale = headroom(m, baseline)
    d = diagnose(m, train=train, valid=valid, cv=cv, best_cv=best_cv, best_family="best", scale=scale)
    assert d.verdict == verdict, d.text
    assert d.text.startswith(verdict)


def test_headroom_is_the_baselines_distance_from_a_perfect_score() -> None:
    assert headroom(get_metric("roc_auc"), 0.5) == pytest.approx(0.5)
    assert headroom(get_metric("rmse"), 3.0) == pytest.approx(3.0)
    assert headroom(get_metric("r2"), None, 0.8) == pytest.approx(0.2)  # no baseline: from the given score
    assert headroom(get_metric("accuracy"), 1.0) == 1.0  # no distance at all: 1
    assert CLOSE < OVERFIT


def _frame_spec(name: str, task: str, metric: str, models: list[dict]) -> object:
    return build_spec(
        {
            "name": name,
            "task": task,
            "metric": metric,
            "data": {"train": "unused.csv", "id": "id", "target": "target"},
            "folds": {"strategy": "stratified" if task != "regression" else "kfold", "n_splits": 3},
            "run": SEQUENTIAL,
            "models": models,
        }
    )


def test_an_unpruned_tree_on_noise_overfits(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 300
    train = pl.DataFrame(
        {"id": np.arange(n), **{f"x{i}": rng.normal(size=n) for i in range(5)}, "target": rng.integers(0, 2, n)}
    )
    tree = {
        "name": "tree",
        "kind": "random_forest",  # one tree, every row, every feature, grown until its leaves are pure
        "params": {"n_estimators": 1, "bootstrap": False, "max_features": 1.0, "min_samples_leaf": 1},
    }
    spec = _frame_spec("noise", "binary", "roc_auc", [tree])
    result = run(spec, runs_root=tmp_path, train=train, progress=None, record_history=False)
    row = family_report(result.run_dir).row("random_forest")
    assert row.train == pytest.approx(1.0)  # it learnt the noise by heart
    assert 0.35 < row.valid < 0.65  # and predicts nothing
    assert row.diagnosis.verdict == "overfits", row.diagnosis.text
    assert "regularisation" in row.diagnosis.text


def test_a_heavily_regularised_linear_model_on_a_nonlinear_target_underfits(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 400
    x = rng.uniform(-3, 3, size=(n, 2))
    y = np.sin(2 * x[:, 0]) * 3 + x[:, 1] ** 2 + rng.normal(scale=0.1, size=n)
    train = pl.DataFrame({"id": np.arange(n), "a": x[:, 0], "b": x[:, 1], "target": y})
    models = [
        {"name": "ridge", "kind": "linear", "params": {"alpha": 1e4}},
        {"name": "gbm", "kind": "lightgbm", "num_boost_round": 200, "params": {"learning_rate": 0.1, "num_leaves": 7}},
    ]
    spec = _frame_spec("curve", "regression", "rmse", models)
    result = run(spec, runs_root=tmp_path, train=train, progress=None, record_history=False)
    report = family_report(result.run_dir)
    assert [r.family for r in report.rows] == ["lightgbm", "linear"]  # rmse: the lowest first
    linear = report.row("linear")
    assert linear.diagnosis.verdict == "underfits", linear.diagnosis.text
    assert "more capacity" in linear.diagnosis.text and "lightgbm" in linear.diagnosis.text
    assert abs(linear.gap or 0) < CLOSE * report.headroom
    # on its own training rows the ridge is as poor as on its validation rows: it barely moves off the mean
    store = RunStore(result.run_dir)
    fold = json.loads(next((store.root / "models" / "ridge").glob("*/folds/r0_f0/result.json")).read_text())
    assert fold["train_score"] > 0.9 * float(np.std(y))
    assert mean_squared_error(y, np.full(n, y.mean())) ** 0.5 == pytest.approx(report.baseline, rel=0.05)


def test_report_command_and_files_show_the_families(searched: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(searched), "--no-adversarial"]) == 0
    out = capsys.readouterr().out
    assert "Families (fold mean roc_auc" in out and "Diagnosis (bias-variance" in out and "Ensemble weights of " in out
    html = (searched / "report" / "report.html").read_text()
    assert 'id="families-table"' in html and 'data-family="lightgbm"' in html and 'data-family="linear"' in html
    md = (searched / "report" / "report.md").read_text()
    assert "## Families" in md and "**linear**" in md


@pytest.mark.slow  # an end-to-end run: CI runs it, `make test-fast` leaves it out
def test_a_time_limited_search_prints_the_families_and_counts_seed_bags_in_their_kind(
    demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    search = {"families": ["lightgbm", "linear"], "n_configs": 2, "overrides": {"lightgbm": FAST}}
    spec = demo_spec(
        "demo-breast-cancer",
        demo_data,
        models=[],
        search=search,
        run=SEQUENTIAL,
        folds={"strategy": "stratified", "n_splits": 3},
    )
    config = tmp_path / "c.toml"
    config.write_text(spec.to_toml())
    runs = tmp_path / "runs"
    assert main(["search", str(config), "--runs-root", str(runs), "--time-limit", "120"]) == 0
    out = capsys.readouterr().out
    assert "Families (fold mean roc_auc" in out and "Diagnosis (bias-variance" in out and "Ensemble weights of " in out
    assert out.index("submission (") < out.index("Families (fold mean") < out.index("time: ")
    meta = RunStore(runs / spec.run_name).read_meta()
    bags = [m for members in meta["bags"].values() for m in members["models"][1:]]
    assert bags  # time was left over for seed bags of the best configs
    report = family_report(runs / spec.run_name)
    kinds = {name: meta["kinds"][name] for name in meta["models"] if name != "baseline"}
    for family in ("lightgbm", "linear"):
        row = report.row(family)
        assert row.n_models + row.n_unfinished == sum(k == family for k in kinds.values())  # configs and bags
