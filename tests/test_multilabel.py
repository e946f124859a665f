"""Several targets: multilabel (0/1 columns) and multiregression (value columns), with missing labels.

The demo competition (competitions/demo-multilabel.toml: generated labels with 5% of the cells empty) runs as written
through the command line (run, blend, submit, report); its OOF column-wise log loss is checked against scikit-learn
per column on the labelled rows. The pieces are tested on their own: the column-wise metrics, the iterative
stratification, the per-target adapter's row dropping, the nets' masked loss, the error messages.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from conftest import COMPETITIONS
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

from kaggle_kit import run
from kaggle_kit.blend import read_blend
from kaggle_kit.cli import main
from kaggle_kit.config import build_spec
from kaggle_kit.demo import MULTILABEL_TARGETS
from kaggle_kit.errors import ConfigError, DataError, DataWarning
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.leaderboard import leaderboard
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import make_adapter
from kaggle_kit.models.base import FitContext, Fitted
from kaggle_kit.models.multi_target import PerTargetAdapter
from kaggle_kit.models.nn.task import TaskHead
from kaggle_kit.runtime.folds import make_folds
from kaggle_kit.runtime.store import RunStore

TARGETS = list(MULTILABEL_TARGETS)


def _independent_mean_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """scikit-learn's log loss per column on its labelled rows, averaged over the columns."""
    losses = []
    for j in range(y.shape[1]):
        seen = ~np.isnan(y[:, j])
        losses.append(log_loss(y[seen, j].astype(int), p[seen, j], labels=[0, 1]))
    return float(np.mean(losses))


# --------------------------------------------------------------------------------------------- the demo, via the CLI
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """demo-multilabel as a user runs it: demo-data, run, blend (mean, Nelder-Mead, hill climbing), submit, report."""
    root = tmp_path_factory.mktemp("multilabel")
    (root / "competitions").mkdir()
    config = Path(shutil.copy(COMPETITIONS / "demo-multilabel.toml", root / "competitions"))
    run_dir = root / "runs" / "demo-multilabel"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["demo-data", "demo-multilabel", "--out", str(root / "data")]) == 0
        assert main(["run", str(config), "--runs-root", str(root / "runs")]) == 0
        assert main(["blend", str(run_dir), "--method", "mean,nelder_mead,hill_climb"]) == 0
        assert main(["submit", str(run_dir), "--blend", "hill_climb", "--out", str(root / "blend.csv")]) == 0
        assert main(["submit", str(run_dir), "--model", "lgbm", "--out", str(root / "lgbm.csv")]) == 0
        assert main(["report", str(run_dir), "--no-adversarial"]) == 0
        test_csv = str(root / "data" / "demo-multilabel" / "test.csv")
        out = str(root / "predicted.csv")
        assert main(["predict", str(run_dir), "--test", test_csv, "--model", "lgbm", "--out", out]) == 0
    return {"root": root, "run_dir": run_dir, "data": root / "data" / "demo-multilabel", "out": printed.getvalue()}


@pytest.mark.slow  # the demo's run: ~25-45 s on a busy 2-core machine
def test_demo_data_has_missing_labels(demo: dict) -> None:
    train = pl.read_csv(demo["data"] / "train.csv")
    missing = train.select(pl.col(TARGETS).is_null().mean()).row(0)
    assert all(0.03 < m < 0.07 for m in missing), missing  # 5% of the cells, in every label


@pytest.mark.slow  # the demo's run: ~25-45 s on a busy 2-core machine
def test_oof_mean_log_loss_matches_sklearn_per_column(demo: dict) -> None:
    run_dir = demo["run_dir"]
    store = RunStore(run_dir)
    y = store.read_target()
    train = pl.read_csv(demo["data"] / "train.csv")
    expected_y = train.select(TARGETS).to_numpy().astype(np.float64)  # null -> nan
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected_y))
    np.testing.assert_array_equal(y[~np.isnan(y)], expected_y[~np.isnan(expected_y)])
    models = {m.name: m for m in leaderboard(run_dir)}
    assert {m.status for m in models.values()} == {"ok"}
    for name in ("baseline", "lgbm", "logreg", "mlp"):
        oof = store.read_predictions(name, "oof")
        assert oof.columns == ["id", *[f"p_{t}" for t in TARGETS]]
        p = oof.drop("id").to_numpy()
        assert np.isfinite(p).all()  # every row predicted once, in every column (missing labels included)
        assert models[name].cv == pytest.approx(_independent_mean_log_loss(y, p), rel=1e-6)


@pytest.mark.slow  # the demo's run: ~25-45 s on a busy 2-core machine
def test_per_target_gbdt_and_the_net_beat_the_baseline_on_every_label(demo: dict) -> None:
    store = RunStore(demo["run_dir"])
    y = store.read_target()
    base = store.read_predictions("baseline", "oof").drop("id").to_numpy()
    for name in ("lgbm", "mlp", "logreg"):
        p = store.read_predictions(name, "oof").drop("id").to_numpy()
        for j in range(len(TARGETS)):
            seen = ~np.isnan(y[:, j])
            model, constant = log_loss(y[seen, j], p[seen, j]), log_loss(y[seen, j], base[seen, j])
            assert model < 0.9 * constant, (name, TARGETS[j], model, constant)


@pytest.mark.slow  # the demo's run: ~25-45 s on a busy 2-core machine
def test_lgbm_fits_one_native_model_per_target(demo: dict) -> None:
    """A fold of the per-target LightGBM holds one native booster per target, and column j of its stored validation
    predictions is booster j's prediction on the fold's validation rows (the base encoding: the raw columns)."""
    import lightgbm as lgb

    store = RunStore(demo["run_dir"])
    folds = store.load_folds(5, "complement")
    key = json.loads((demo["run_dir"] / "run.json").read_text())["models"]["lgbm"]
    fold_dir = demo["run_dir"] / "models" / "lgbm" / key / "folds" / "r0_f0"
    assert json.loads((fold_dir / "targets.json").read_text()) == {"n_targets": len(TARGETS), "constant": {}}
    _, valid_idx = folds.train_valid(0, 0)
    train = pl.read_csv(demo["data"] / "train.csv")
    X = train.select([f"w{i}" for i in range(20)]).to_numpy().astype(np.float32)[valid_idx]
    stored = np.load(fold_dir / "valid.npy", allow_pickle=False)
    assert stored.shape == (len(valid_idx), len(TARGETS))
    for j in range(len(TARGETS)):
        booster = lgb.Booster(model_file=str(fold_dir / f"t{j}-model.txt"))
        np.testing.assert_allclose(stored[:, j], booster.predict(X), rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # the demo's run: ~25-45 s on a busy 2-core machine
def test_blends_weight_models_and_score_column_wise(demo: dict) -> None:
    run_dir = demo["run_dir"]
    store = RunStore(run_dir)
    y = store.read_target()
    for method in ("mean", "nelder_mead", "hill_climb"):
        blend = read_blend(run_dir, method)
        weights = np.asarray(blend.weights)
        assert weights.min() >= 0 and weights.sum() == pytest.approx(1.0)
        oofs = [store.read_predictions(m, "oof").drop("id").to_numpy() for m in blend.models]
        tests = [store.read_predictions(m, "test").drop("id").to_numpy() for m in blend.models]
        in_sample = sum(w * p for w, p in zip(weights, oofs, strict=True))
        assert blend.cv == pytest.approx(_independent_mean_log_loss(y, in_sample), rel=1e-5)
        submitted = pl.read_csv(demo["root"] / "blend.csv") if method == "hill_climb" else None
        if submitted is not None:  # the wide layout of the sample, values = the weights on the test predictions
            sample = pl.read_csv(demo["data"] / "sample_submission.csv")
            assert submitted.columns == sample.columns == ["id", *TARGETS]
            assert submitted["id"].to_list() == sample["id"].to_list()
            ids = store.read_predictions(blend.models[0], "test")["id"]
            expected = pl.DataFrame(sum(w * p for w, p in zip(weights, tests, strict=True)), schema=TARGETS)
            expected = expected.with_columns(ids).join(submitted.select("id"), on="id", how="right")
            np.testing.assert_allclose(
                submitted.select(TARGETS).to_numpy(), expected.select(TARGETS).to_numpy(), atol=1e-5
            )
    best = min((read_blend(run_dir, m) for m in ("nelder_mead", "hill_climb")), key=lambda b: b.mean)
    single = min(m.cv for m in leaderboard(run_dir) if m.name != "baseline")
    assert best.nested_cv < single  # the weighted blend beats the best single model out of fold


@pytest.mark.slow  # the demo's run: ~25-45 s on a busy 2-core machine
def test_submission_scores_on_the_hidden_labels_close_to_cv(demo: dict) -> None:
    solution = pl.read_csv(demo["data"] / "solution.csv")
    sub = pl.read_csv(demo["root"] / "lgbm.csv")
    joined = solution.join(sub, on="id", suffix="_pred")
    y = joined.select(TARGETS).to_numpy().astype(np.float64)
    p = joined.select([f"{t}_pred" for t in TARGETS]).to_numpy()
    hidden = _independent_mean_log_loss(y, p)
    cv = next(m.cv for m in leaderboard(demo["run_dir"]) if m.name == "lgbm")
    assert abs(hidden - cv) < 0.05, (hidden, cv)


@pytest.mark.slow  # the demo's run: ~25-45 s on a busy 2-core machine
def test_predict_reloads_the_per_target_models(demo: dict) -> None:
    """`kaggle-kit predict` on the run folder (the per-target boosters read back from their native files) gives the
    submission `submit` wrote from the stored fold predictions."""
    predicted = pl.read_csv(demo["root"] / "predicted.csv")
    submitted = pl.read_csv(demo["root"] / "lgbm.csv")
    assert predicted.columns == submitted.columns == ["id", *TARGETS]
    joined = submitted.join(predicted, on="id", suffix="_new")
    assert joined.height == submitted.height
    for t in TARGETS:
        np.testing.assert_allclose(joined[t].to_numpy(), joined[f"{t}_new"].to_numpy(), atol=1e-6)


@pytest.mark.slow  # the demo's run: ~25-45 s on a busy 2-core machine
def test_report_ranks_rows_by_their_labelled_targets(demo: dict) -> None:
    report = (demo["run_dir"] / "report" / "report.md").read_text()
    assert "Worst OOF mistakes" in report and "| id | true | predicted | row log loss |" in report
    assert "- " in report.split("Worst OOF mistakes")[1].split("\n\n##")[0]  # a missing label shown as '-'


@pytest.mark.slow  # the demo's run: ~25-45 s on a busy 2-core machine
def test_stack_is_refused_with_the_methods_that_apply(demo: dict) -> None:
    from kaggle_kit.blend import fit_blend

    with pytest.raises(ConfigError, match=r"level-2 model of one target column.*hill_climb"):
        fit_blend(demo["run_dir"], "stack", save=False)


# --------------------------------------------------------------------------------------------- multiregression
def test_multiregression_end_to_end_with_missing_values(tmp_path: Path) -> None:
    from sklearn.datasets import make_regression

    x, y = make_regression(n_samples=300, n_features=6, n_targets=3, noise=5.0, random_state=0)
    y[np.random.default_rng(1).random(y.shape) < 0.05] = np.nan
    frame = pl.DataFrame(x, schema=[f"f{i}" for i in range(6)], orient="row").with_row_index("id")
    frame = frame.with_columns([pl.Series(f"t{j}", y[:, j]).fill_nan(None) for j in range(3)])
    train, test = frame[:240], frame[240:].drop(["t0", "t1", "t2"])
    spec = build_spec(
        {
            "name": "mreg",
            "task": "multiregression",
            "metric": "mean_rmse",
            "data": {"train": "train.csv", "id": "id", "target": ["t0", "t1", "t2"]},
            "run": {"threads_per_task": 1},  # the nets' OOF then does not depend on the load (rerun below)
            "folds": {"n_splits": 3},
            "models": [
                {"name": "ridge", "kind": "sklearn", "estimator": "sklearn.linear_model.Ridge"},
                {"name": "mlp", "kind": "mlp", "params": {"epochs": 60, "hidden": [32], "lr": 3e-3}},
            ],
        }
    )
    result = run(spec, runs_root=tmp_path, train=train, test=test, n_jobs=1, progress=None, record_history=False)
    scores = {m.name: m.cv for m in result.models}
    store = RunStore(result.run_dir)
    yy = store.read_target()
    for name in ("baseline", "ridge", "mlp"):
        p = store.read_predictions(name, "oof").drop("id").to_numpy()
        expected = np.mean(
            [math.sqrt(mean_squared_error(yy[~np.isnan(yy[:, j]), j], p[~np.isnan(yy[:, j]), j])) for j in range(3)]
        )
        assert scores[name] == pytest.approx(expected, rel=1e-6)
    assert scores["ridge"] < 7 < scores["baseline"] / 5  # the noise is 5; the constant is far off
    assert scores["mlp"] < scores["baseline"] / 2
    assert store.read_predictions("ridge", "test").columns == ["id", "pred_t0", "pred_t1", "pred_t2"]
    # the seed fixes everything: the same spec in another runs folder gives the same OOF, bit for bit
    again = run(
        spec, runs_root=tmp_path / "again", train=train, test=test, n_jobs=1, progress=None, record_history=False
    )
    for name in ("ridge", "mlp"):
        first = store.read_predictions(name, "oof")
        assert RunStore(again.run_dir).read_predictions(name, "oof").equals(first)


# --------------------------------------------------------------------------------------------- the pieces
@pytest.mark.parametrize("name", ["mean_rmse", "mean_log_loss", "mean_roc_auc"])
def test_blend_objectives_score_every_column(name: str) -> None:
    """The weight searches (Nelder-Mead's objective, hill climbing's scorer) score the blended matrix column-wise,
    every column, as an independent per-column computation does (not only the first column)."""
    from kaggle_kit.blend.objective import make_objective
    from kaggle_kit.blend.selection import make_scorer

    rng = np.random.default_rng(5)
    regression = name == "mean_rmse"
    y = rng.normal(size=(150, 3)) if regression else (rng.random((150, 3)) < 0.4).astype(np.float64)
    y[rng.random(y.shape) < 0.1] = np.nan
    preds = np.stack([np.nan_to_num(y) + rng.normal(scale=s, size=y.shape) for s in (0.3, 0.8)]).astype(np.float32)
    if not regression:
        preds = 1 / (1 + np.exp(-3 * (preds - 0.5)))
    w = np.array([0.3, 0.7])
    blended = w[0] * preds[0].astype(np.float64) + w[1] * preds[1]
    per_column = []
    for j in range(3):
        seen = ~np.isnan(y[:, j])
        if regression:
            per_column.append(math.sqrt(mean_squared_error(y[seen, j], blended[seen, j])))
        elif name == "mean_log_loss":
            per_column.append(log_loss(y[seen, j], blended[seen, j]))
        else:
            per_column.append(roc_auc_score(y[seen, j], blended[seen, j]))
    expected = float(np.mean(per_column)) * (-1 if name == "mean_roc_auc" else 1)
    assert make_objective(get_metric(name), preds, y).loss(w) == pytest.approx(expected, rel=1e-5)
    scorer = make_scorer(get_metric(name), preds, y)
    assert scorer.loss(scorer.mix(w), 1.0) == pytest.approx(expected, rel=1e-5)


def test_column_metrics_match_sklearn_on_labelled_rows() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((200, 4)) < [0.1, 0.3, 0.5, 0.7]).astype(np.float64)
    y[rng.random(y.shape) < 0.1] = np.nan
    p = np.clip(0.5 * y + 0.5 * rng.random(y.shape), 0.01, 0.99)
    p[np.isnan(p)] = 0.5
    assert get_metric("mean_log_loss").score(y, p) == pytest.approx(_independent_mean_log_loss(y, p), rel=1e-10)
    aucs = [roc_auc_score(y[~np.isnan(y[:, j]), j], p[~np.isnan(y[:, j]), j]) for j in range(4)]
    assert get_metric("mean_roc_auc").score(y, p) == pytest.approx(np.mean(aucs), rel=1e-10)
    one_class = y.copy()
    one_class[:, 0] = np.where(np.isnan(one_class[:, 0]), np.nan, 0.0)  # AUC undefined there: left out of the mean
    assert get_metric("mean_roc_auc").score(one_class, p) == pytest.approx(np.mean(aucs[1:]), rel=1e-10)
    empty = y.copy()
    empty[:, 3] = np.nan  # a column with no labelled row is not scored
    assert get_metric("mean_log_loss").score(empty, p) == pytest.approx(
        _independent_mean_log_loss(empty[:, :3], p[:, :3]), rel=1e-10
    )


def test_multilabel_stratified_folds_keep_each_label_rate() -> None:
    rng = np.random.default_rng(3)
    rates = np.array([0.02, 0.05, 0.1, 0.3, 0.5])
    y = (rng.random((1500, 5)) < rates).astype(np.float64)
    y[rng.random(y.shape) < 0.05] = np.nan
    folds = make_folds(1500, strategy="stratified", n_splits=5, n_repeats=2, seed=7, y=y)
    plain = make_folds(1500, strategy="kfold", n_splits=5, seed=7)
    overall = np.nansum(y, axis=0)
    for r in range(2):
        ids = folds.ids[r]
        assert sorted(np.bincount(ids, minlength=5)) == pytest.approx([300] * 5, abs=3)
        positives = np.stack([np.nansum(y[ids == k], axis=0) for k in range(5)])
        # each fold holds its fifth of every label's positives, to within one row
        assert np.abs(positives - overall / 5).max() <= 1.0
    assert not np.array_equal(folds.ids[0], folds.ids[1])  # repeats differ
    again = make_folds(1500, strategy="stratified", n_splits=5, n_repeats=2, seed=7, y=y)
    assert np.array_equal(again.ids, folds.ids)  # the seed fixes them
    plain_positives = np.stack([np.nansum(y[plain.ids[0] == k], axis=0) for k in range(5)])
    assert np.abs(plain_positives - overall / 5).max() > 2.0  # what a plain K-fold does to the same labels


class _Recorder:
    """A single-target adapter that records the rows it is given and predicts their labels' mean."""

    file_name = "rec.json"
    uses_gpu = False
    thread_invariant = True
    reads_features = True

    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, np.ndarray, np.ndarray, str, str]] = []

    def check(self, ctx: FitContext) -> None:
        pass

    def fit(self, train, y_train, valid, y_valid, ctx):  # type: ignore[no-untyped-def]
        self.calls.append((train.X[:, 0].copy(), y_train.copy(), valid.X[:, 0].copy(), ctx.task, ctx.metric.name))
        return Fitted(model=float(np.mean(y_train)))

    def predict(self, fitted, X, ctx):  # type: ignore[no-untyped-def]
        return np.column_stack([1 - np.full(len(X.X), fitted.model), np.full(len(X.X), fitted.model)])


def test_per_target_adapter_drops_each_targets_missing_rows_only() -> None:
    rows = np.arange(8, dtype=np.float32)[:, None]  # the feature is the row number: the fits show which rows they got
    y = np.array([[1, 0], [0, np.nan], [np.nan, 1], [1, 1], [0, 0], [np.nan, 1], [1, np.nan], [0, 1]])
    y_valid = np.array([[1, np.nan], [0, 1], [np.nan, 0]])
    inner = _Recorder()
    adapter = PerTargetAdapter(inner, "rec")
    ctx = FitContext("multilabel", 2, get_metric("mean_log_loss"), 0, "cpu", 1)
    X, V = FeatureMatrix(rows, ("r",), ()), FeatureMatrix(np.arange(3, dtype=np.float32)[:, None], ("r",), ())
    fitted = adapter.fit(X, y, V, y_valid, ctx)
    (x0, y0, v0, task, metric), (x1, y1, v1, _, _) = inner.calls
    assert (task, metric) == ("binary", "log_loss")
    assert x0.tolist() == [0, 1, 3, 4, 6, 7] and y0.tolist() == [1, 0, 1, 0, 1, 0] and v0.tolist() == [0, 1]
    assert x1.tolist() == [0, 2, 3, 4, 5, 7] and y1.tolist() == [0, 1, 1, 0, 1, 1] and v1.tolist() == [1, 2]
    pred = adapter.predict(fitted, FeatureMatrix(np.zeros((2, 1), np.float32), ("r",), ()), ctx)
    np.testing.assert_allclose(pred, [[0.5, 4 / 6]] * 2, rtol=1e-6)


def test_per_target_adapter_predicts_a_one_class_label_as_its_smoothed_rate(tmp_path: Path) -> None:
    from kaggle_kit.config import ModelSpec

    adapter = make_adapter(
        ModelSpec(name="lr", kind="sklearn", estimator="sklearn.linear_model.LogisticRegression"), "multilabel"
    )
    X = FeatureMatrix(np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32), ("a", "b", "c"), ())
    y = np.column_stack([np.r_[np.zeros(20), np.ones(20)], np.zeros(40)])  # label 2: no positive in these rows
    ctx = FitContext("multilabel", 2, get_metric("mean_log_loss"), 0, "cpu", 1)
    fitted = adapter.fit(X, y, X, y, ctx)
    pred = adapter.predict(fitted, X, ctx)
    np.testing.assert_allclose(pred[:, 1], 0.5 / 41, rtol=1e-6)
    adapter.save(fitted, tmp_path / adapter.file_name)
    again = adapter.load(tmp_path / adapter.file_name, ctx)
    np.testing.assert_array_equal(adapter.predict(again, X, ctx), pred)  # the native files read back


@pytest.mark.parametrize("task", ["multilabel", "multiregression"])
def test_masked_loss_ignores_what_masked_cells_hold(task: str) -> None:
    """Garbage in a masked cell changes neither the loss nor a gradient, and the loss is the plain loss over the
    present cells alone (the cells dropped)."""
    head = TaskHead(task, 3)
    gen = torch.Generator().manual_seed(0)
    out = torch.randn(16, 3, generator=gen)
    labels = (torch.rand(16, 3, generator=gen) < 0.5).float()
    mask = (torch.rand(16, 3, generator=gen) < 0.7).float()
    losses, grads = [], []
    for garbage in (0.0, 1.0, 7.5, -3.0):
        target = torch.cat([torch.where(mask > 0, labels, torch.full_like(labels, garbage)), mask], dim=1)
        o = out.clone().requires_grad_(True)
        loss = head.loss_fn()(o, target)
        loss.backward()
        losses.append(loss.item())
        grads.append(o.grad.clone())
    assert all(v == losses[0] for v in losses)
    assert all(torch.equal(g, grads[0]) for g in grads)
    assert torch.all(grads[0][mask == 0] == 0)
    present = mask > 0
    if task == "multilabel":
        dropped = torch.nn.functional.binary_cross_entropy_with_logits(out[present], labels[present])
    else:
        dropped = torch.nn.functional.mse_loss(out[present], labels[present])
    assert losses[0] == pytest.approx(dropped.item(), rel=1e-6)
    # TabM's member axis: every member against the same target, the same masking
    members = torch.stack([out, out], dim=1)
    assert head.loss_fn()(members, target).item() == pytest.approx(dropped.item(), rel=1e-6)


def test_a_net_trained_with_garbage_in_masked_cells_is_the_same_net(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole fit: the masked target cells filled with 0 (as the kit does) or with garbage give the same net."""
    from kaggle_kit.config import ModelSpec

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    y = (X[:, :2] + 0.3 * rng.normal(size=(120, 2)) > 0).astype(np.float64)
    y[rng.random(y.shape) < 0.2] = np.nan
    fm = FeatureMatrix(X, ("a", "b", "c", "d"), ())
    spec = ModelSpec(name="mlp", kind="mlp", params={"epochs": 5, "hidden": [16], "patience": 0})
    ctx = FitContext("multilabel", 2, get_metric("mean_log_loss"), 0, "cpu", 1)
    adapter = make_adapter(spec, "multilabel")
    clean = adapter.predict(adapter.fit(fm, y, fm, y, ctx), fm, ctx)
    original = TaskHead.target_array

    def with_garbage(self: TaskHead, y: np.ndarray, state: dict) -> np.ndarray:
        arr = original(self, y, state)
        n = arr.shape[1] // 2
        arr[:, :n] = np.where(arr[:, n:] > 0, arr[:, :n], 5.0)  # a masked cell now holds 5
        return arr

    monkeypatch.setattr(TaskHead, "target_array", with_garbage)
    garbage = adapter.predict(adapter.fit(fm, y, fm, y, ctx), fm, ctx)
    np.testing.assert_array_equal(garbage, clean)
    assert clean.shape == (120, 2) and ((clean > 0) & (clean < 1)).all()


# --------------------------------------------------------------------------------------------- bad input
def _spec(**overrides: object) -> dict:
    raw: dict = {
        "name": "ml",
        "task": "multilabel",
        "metric": "mean_log_loss",
        "data": {"train": "train.csv", "id": "id", "target": ["a", "b"]},
        "models": [{"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}],
    }
    raw.update(overrides)
    return raw


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"task": "binary", "metric": "roc_auc"}, "lists 2 columns, but a binary task has one target"),
        ({"metric": "log_loss"}, "cannot score a multilabel task; use one of 'mean_log_loss'"),
        ({"metric": "mean_rmse"}, "cannot score a multilabel task"),
        ({"task": "multiregression", "metric": "mean_rmse", "folds": {"strategy": "stratified"}}, "use 'kfold'"),
        ({"data": {"train": "t.csv", "target": ["a", "a"]}}, "lists 'a' more than once"),
        ({"data": {"train": "t.csv", "target": ["a", "b"], "classes": [0, 1]}}, "remove it"),
        # the distribution task (one numeric target) and the multi-target tasks do not mix
        (
            {"task": "distribution", "metric": "crps", "distribution": {"bins": [0.0, 1.0]}},
            "lists 2 columns, but a distribution task has one target",
        ),
        ({"distribution": {"bins": [0.0, 1.0]}}, r"\[distribution\] is for task = 'distribution'"),
        ({"metric": "crps"}, "cannot score a multilabel task"),
    ],
)
def test_spec_errors(overrides: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_spec(_spec(**overrides))


def test_make_adapter_wraps_by_task() -> None:
    """One make_adapter: the per-target wrapper for the multi-target tasks (not around a net, which has a head per
    target), the distribution wrapper for a distribution task, the family's own adapter otherwise."""
    from kaggle_kit.config import ModelSpec
    from kaggle_kit.models.distribution import DistributionAdapter
    from kaggle_kit.models.lightgbm_adapter import LightGBMAdapter
    from kaggle_kit.models.nn.adapter import NetAdapter

    gbdt = ModelSpec(name="g", kind="lightgbm", num_boost_round=5)
    net = ModelSpec(name="n", kind="mlp", params={"hidden": [8], "epochs": 1})
    for task in ("multilabel", "multiregression"):
        assert isinstance(make_adapter(gbdt, task), PerTargetAdapter)
        assert isinstance(make_adapter(net, task), NetAdapter)
    assert isinstance(make_adapter(gbdt, "distribution"), DistributionAdapter)
    assert isinstance(make_adapter(net, "distribution"), DistributionAdapter)
    for task in (None, "binary", "multiclass", "regression"):
        assert type(make_adapter(gbdt, task)) is LightGBMAdapter


def test_bad_label_columns_and_target_steps_are_refused(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"id": range(40), "x": np.arange(40.0), "c": ["u", "v"] * 20, "a": [0, 1] * 20, "b": [0, 2] * 20}
    )
    spec = build_spec(_spec())
    with pytest.raises(DataError, match=r"'b' holds 2\.0 besides 0 and 1"):
        run(spec, runs_root=tmp_path, train=frame, n_jobs=1, progress=None, record_history=False)
    encoded = build_spec(
        _spec(
            pipelines={"te": {"steps": [{"step": "target_encode", "columns": ["c"]}]}},
            models=[{"name": "lgbm", "kind": "lightgbm", "pipeline": "te"}],
        )
    )
    ok = frame.with_columns(pl.Series("b", [1, 0, 0, 1] * 10))
    with pytest.raises(ConfigError, match=r"'lgbm': pipeline step 0 .* learns from the target"):
        run(encoded, runs_root=tmp_path, train=ok, n_jobs=1, progress=None, record_history=False)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A 60-row multilabel run (3 folds, logistic regression and a small net) whose label ``b`` is 0 in every row; the
    run folder and the data warnings it gave."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    frame = pl.DataFrame({"id": range(60), "x": x, "a": (x > 0).astype(int), "b": [0] * 60})
    test = pl.DataFrame({"id": range(60, 70), "x": x[:10]})
    net = {"name": "mlp", "kind": "mlp", "params": {"hidden": [8], "epochs": 3}}
    models = [*_spec()["models"], net]
    spec = build_spec(_spec(folds={"n_splits": 3}, models=models))
    root = tmp_path_factory.mktemp("small")
    with pytest.warns(DataWarning) as caught:
        result = run(spec, runs_root=root, train=frame, test=test, n_jobs=1, progress=None, record_history=False)
    return result.run_dir, [str(w.message) for w in caught if w.category is DataWarning]


def test_a_label_never_positive_in_train_is_kept_and_predicted_at_its_smoothed_rate(
    small_run: tuple[Path, list[str]],
) -> None:
    """A label with no positive row (a MoA target no training row has) was refused with `remove it from
    data.target`, a dead end: the sample submission still asks for it. It is warned of and predicted at its smoothed
    rate, ``0.5 / (rows + 1)`` on each fold's training rows, out of fold and on the test rows, by a model fitted per
    target and by a net (one output per label: it predicted where its output drifted, 0.04 .. 0.24)."""
    run_dir, said = small_run
    assert any("'b' holds one label (0) in every labelled row: no model can learn it" in w for w in said), said
    store = RunStore(run_dir)
    rate = 0.5 / (40 + 1)  # 3 folds of 60 rows: 40 training rows each
    for model in ("lr", "mlp"):
        for kind in ("oof", "test"):
            np.testing.assert_allclose(store.read_predictions(model, kind)["p_b"].to_numpy(), rate, rtol=1e-6)
        assert store.read_predictions(model, "oof")["p_a"].std() > 0.01  # the other label is learnt


def test_an_imported_multilabel_oof_file_keeping_its_labels(small_run: tuple[Path, list[str]], tmp_path: Path) -> None:
    """A notebook's OOF file with the run's columns ``p_a``, ``p_b`` and the labels ``a``, ``b`` beside them: the
    labels are no predictions. The first target was taken as a one-target run's truth column and ``b`` refused
    (`has column(s) ['b'] besides the run's prediction columns`)."""
    from kaggle_kit.blend import import_predictions
    from kaggle_kit.blend.target import run_target

    run_dir = small_run[0]
    store = RunStore(run_dir)
    oof = store.read_predictions("lr", "oof")
    labels = run_target(store)
    path = tmp_path / "oof.csv"
    oof.with_columns(pl.Series("a", labels[:, 0]), pl.Series("b", labels[:, 1])).write_csv(path)
    with pytest.warns(UserWarning, match="no fold column"):
        import_predictions(run_dir, "with_labels", path)
    stored = pl.read_parquet(run_dir / "external" / "with_labels" / "oof.parquet").sort("id")
    assert stored.columns == ["id", "p_a", "p_b"]
    np.testing.assert_allclose(stored.drop("id").to_numpy(), oof.sort("id").drop("id").to_numpy())


def test_imported_predictions_of_several_targets(small_run: tuple[Path, list[str]], tmp_path: Path) -> None:
    """A teammate's multilabel file named as the submission (the targets, in another order) is read by name; a file
    of one column was an IndexError traceback, and logits were stored as probabilities without a word."""
    from kaggle_kit.blend import import_predictions

    run_dir = small_run[0]
    store = RunStore(run_dir)
    own = {kind: store.read_predictions("lr", kind) for kind in ("oof", "test")}
    files = {}
    for kind, frame in own.items():
        files[kind] = tmp_path / f"{kind}.csv"
        frame.select("id", pl.col("p_b").alias("b"), pl.col("p_a").alias("a")).write_csv(files[kind])
    with pytest.warns(UserWarning, match="no fold column"):
        import_predictions(run_dir, "mate", files["oof"], files["test"])
    for kind in ("oof", "test"):
        stored = pl.read_parquet(run_dir / "external" / "mate" / f"{kind}.parquet").sort("id")
        assert stored.columns == ["id", "p_a", "p_b"]
        np.testing.assert_allclose(stored.drop("id").to_numpy(), own[kind].sort("id").drop("id").to_numpy())
    one = tmp_path / "one.csv"
    own["oof"].select("id", "p_a").write_csv(one)
    with pytest.raises(
        DataError, match=r"has columns \['p_a'\]; the run needs the columns \['p_a', 'p_b'\] \(or \['a', 'b'\]\)"
    ):
        import_predictions(run_dir, "one", one)
    logits = tmp_path / "logits.csv"
    own["oof"].with_columns(pl.col("p_a") * 8 - 4).write_csv(logits)
    with pytest.raises(DataError, match=r"a multilabel task needs each label's probability within \[0, 1\]"):
        import_predictions(run_dir, "logits", logits)


@pytest.mark.parametrize("time_limit", [None, 600.0])
def test_a_sample_submission_the_run_cannot_fill_stops_it_before_any_fit(
    time_limit: float | None, tmp_path: Path
) -> None:
    """The sample asks for a label ``c`` that data.target leaves out: `submit` refused it, after every fold was fitted;
    the run now stops with that error before fitting anything (a time-limited run or a search too: its own loop)."""
    x = np.random.default_rng(4).normal(size=40)
    frame = pl.DataFrame({"id": range(40), "x": x, "a": (x > 0).astype(int), "b": (x > 1).astype(int)})
    test = pl.DataFrame({"id": range(40, 50), "x": x[:10]})
    sample = tmp_path / "sample_submission.csv"
    pl.DataFrame({"id": range(40, 50), "a": 0.5, "b": 0.5, "c": 0.5}).write_csv(sample)
    raw = _spec(folds={"n_splits": 2})
    spec = build_spec({**raw, "data": {**raw["data"], "sample_submission": str(sample)}})
    with pytest.raises(
        DataError,
        match=r"asks for column\(s\) \['c'\] .* targets: add them to data.target .*\(found before fitting anything",
    ):
        run(
            spec,
            runs_root=tmp_path,
            train=frame,
            test=test,
            n_jobs=1,
            progress=None,
            record_history=False,
            time_limit=time_limit,
        )
    assert not (tmp_path / "ml" / "models").exists()  # no fold was fitted


def test_target_columns_in_the_test_file_are_named_in_one_warning() -> None:
    """A test file carrying a multi-target task's target columns (placeholders): one warning naming a few, not one
    line per target (MoA's 206 made 206 lines)."""
    from kaggle_kit.readers.competition import prepare_competition

    targets = [f"t{j}" for j in range(7)]
    frame = pl.DataFrame({"id": range(20), "x": np.arange(20.0), **{t: [0, 1] * 10 for t in targets}})
    test = pl.DataFrame({"id": range(20, 24), "x": np.arange(4.0), **{t: [None] * 4 for t in targets}})
    raw = _spec()
    spec = build_spec({**raw, "data": {**raw["data"], "target": targets}})
    with pytest.warns(DataWarning) as caught:
        data = prepare_competition(spec, frame, test)
    said = [str(w.message) for w in caught if "target column" in str(w.message)]
    assert said == ["test has the 7 target columns ('t0', 't1', 't2', 't3', 't4', and 2 more); they are ignored"]
    assert data.test is not None and data.test.columns == ["id", "x"]


@pytest.mark.parametrize("calibrate", ["temperature", "isotonic"])
def test_calibration_of_a_multilabel_blend_says_why_it_is_refused(calibrate: str) -> None:
    """It said temperature scaling `changes no ranking ... so it cannot move 'mean_log_loss'`, which it would: the
    calibrations fit one target column."""
    from kaggle_kit.blend.calibration import check_calibration

    with pytest.raises(ConfigError, match=r"fits the probabilities of one target column, and a run scored by "):
        check_calibration(calibrate, get_metric("mean_log_loss"), "mean", nested_only=False)


def test_a_refit_trains_each_target_for_its_own_rounds(tmp_path: Path) -> None:
    """A refit on all rows trained every target for the mean over targets and folds of the kept rounds: a noise label
    that early stopping kept at a few rounds was refit for the many of a learnable one. Each target now gets the mean
    over its folds of its own rounds."""
    import lightgbm

    from kaggle_kit.predict.refit import refit

    rng = np.random.default_rng(5)
    x = rng.normal(size=(150, 2))
    frame = pl.DataFrame(
        {
            "id": range(150),
            "x0": x[:, 0],
            "x1": x[:, 1],
            "a": (x[:, 0] + x[:, 1] ** 2 > 0.5).astype(int),
            "b": rng.integers(0, 2, 150),
        }
    )
    model = {"name": "gbm", "kind": "lightgbm", "params": {"learning_rate": 0.3, "min_data_in_leaf": 5}}
    spec = build_spec(_spec(folds={"n_splits": 3}, models=[model]))
    result = run(spec, runs_root=tmp_path, train=frame, n_jobs=1, progress=None, record_history=False)
    store = RunStore(result.run_dir)
    key = store.current_models()["gbm"]
    folds = [json.loads(p.read_text()) for p in sorted((store.model_dir("gbm", key) / "folds").glob("*/result.json"))]
    per_target = np.array([f["target_iterations"] for f in folds], dtype=float)
    expected = [max(1, round(float(v))) for v in per_target.mean(axis=0)]
    assert expected[0] != expected[1], expected  # the learnable label runs longer than the noise
    refit(result.run_dir, ["gbm"], train=frame)
    refit_dir = store.model_dir("gbm", key) / "refit"
    trees = [lightgbm.Booster(model_file=str(f)).num_trees() for f in sorted(refit_dir.glob("t*-*"))]
    assert trees == expected
