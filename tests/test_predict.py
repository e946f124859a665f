"""``predict`` / ``refit`` / ``--best`` on a finished run folder: one small run (every model family, 2 x 2 folds)
built once for the module, then read back from a read-only copy whose config folder is gone."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_breast_cancer

import kaggle_kit
from kaggle_kit.blend import blend_report, fit_blend, read_blend
from kaggle_kit.cli import main
from kaggle_kit.config import build_spec
from kaggle_kit.errors import ConfigError, DataError, DataWarning, StoreError
from kaggle_kit.predict import best_choice, prediction_speed, refit
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore, sha256_bytes

NETS = r"f\d+"  # the nets read the 30 numeric columns (as a 5 x 6 image, a 30-step sequence)
MODELS = [
    {"name": "xgb", "kind": "xgboost", "num_boost_round": 40, "early_stopping_rounds": 5, "pipeline": "te",
     "params": {"max_depth": 3, "learning_rate": 0.2}},
    {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 30, "early_stopping_rounds": 5,
     "params": {"num_leaves": 7, "min_data_in_leaf": 5, "learning_rate": 0.2}},
    {"name": "mlp", "kind": "mlp", "params": {"epochs": 3, "patience": 2, "hidden": [16]}},
    {"name": "cnn", "kind": "cnn", "params": {"image_shape": [5, 6, 1], "channels": [4, 8], "epochs": 2,
     "columns": NETS}},
    {"name": "rnn", "kind": "rnn", "params": {"sequence_shape": [30, 1], "hidden": 8, "layers": 1, "epochs": 2,
     "columns": NETS}},
    {"name": "cnn1d", "kind": "cnn1d", "params": {"sequence_shape": [30, 1], "channels": [4], "epochs": 2,
     "columns": NETS}},
    {"name": "linear", "kind": "linear"},
    {"name": "rf", "kind": "random_forest", "params": {"n_estimators": 8}},
    {"name": "et", "kind": "extra_trees", "params": {"n_estimators": 8}},
    {"name": "hgb", "kind": "sklearn", "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
     "params": {"max_iter": 15}},
    {"name": "cat", "kind": "catboost", "num_boost_round": 30, "early_stopping_rounds": 5,
     "params": {"depth": 3, "learning_rate": 0.2}},
    {"name": "lgbm_xt", "kind": "lightgbm_xt", "num_boost_round": 30, "early_stopping_rounds": 5,
     "params": {"num_leaves": 7, "min_data_in_leaf": 5}},
    {"name": "realmlp", "kind": "realmlp", "params": {"epochs": 2, "hidden": [16]}},
    {"name": "tabm", "kind": "tabm", "params": {"epochs": 2, "hidden": [16], "k": 4}},
]  # fmt: skip
BLENDS = ("mean", "rank", "nelder_mead", "hill_climb", "calibrated_hill_climb", "stack")


def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    X, y = load_breast_cancer(return_X_y=True)
    frame = pl.DataFrame({f"f{j}": X[:, j] for j in range(X.shape[1])}).with_columns(
        pl.Series("id", np.arange(1000, 1000 + len(y))),
        pl.Series("grade", np.array(["a", "b", "c"])[np.arange(len(y)) % 3]),
        pl.Series("target", y),
    )
    return frame[:450], frame[450:].drop("target")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The run (writable, its config folder in place), then a read-only copy moved elsewhere."""
    root = tmp_path_factory.mktemp("predict")
    comp = root / "comp"
    comp.mkdir()
    train, test = _frames()
    train.write_csv(comp / "train.csv")
    test.write_csv(comp / "test.csv")
    test.select("id", pl.lit(0.5).alias("target")).write_csv(comp / "sample_submission.csv")
    spec = build_spec(
        {
            "name": "predict-test",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "sample_submission": "sample_submission.csv",
                     "id": "id", "target": "target"},
            "folds": {"n_splits": 2, "n_repeats": 2},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "pipelines": {"te": {"steps": [{"step": "target_encode", "columns": ["grade"], "cv": 2}]}},
            "models": MODELS,
        },
        base_dir=comp,
    )  # fmt: skip
    result = run(spec, runs_root=comp / "runs", progress=None, record_history=False)
    assert all(m.status == "ok" for m in result.models), [(m.name, m.error) for m in result.models]
    run_dir = result.run_dir
    blend_report(run_dir, "all")
    if not (run_dir / "blends" / "stack").is_dir():  # the stacking guard dropped it: stored on its own
        fit_blend(run_dir, "stack")
    fit_blend(run_dir, "calibrated_hill_climb")  # not in "all" for ROC AUC: named on its own
    refit(run_dir, ["xgb", "lgbm", "mlp", "rf"], progress=None)
    moved = root / "input" / "my-run"
    shutil.copytree(run_dir, moved)
    meta = json.loads((moved / "run.json").read_text())
    meta.update(config_dir=str(root / "gone"), sample_submission=str(root / "gone" / "sample_submission.csv"))
    (moved / "run.json").write_text(json.dumps(meta))
    _read_only(moved)
    yield {"run": run_dir, "moved": moved, "comp": comp, "root": root}
    _writable(moved)  # so that pytest can remove its temporary folders


def _read_only(folder: Path) -> None:
    for dirpath, _, files in os.walk(folder):
        for f in files:
            os.chmod(Path(dirpath) / f, stat.S_IRUSR)
        os.chmod(dirpath, stat.S_IRUSR | stat.S_IXUSR)


def _writable(folder: Path) -> None:
    for dirpath, _, files in os.walk(folder):
        os.chmod(dirpath, stat.S_IRWXU)
        for f in files:
            os.chmod(Path(dirpath) / f, stat.S_IRUSR | stat.S_IWUSR)


def _stored(run_dir: Path, name: str, kind: str = "model") -> pl.DataFrame:
    if kind == "blend":
        return pl.read_parquet(run_dir / "blends" / name / "test.parquet")
    return RunStore(run_dir).read_predictions(name, "test")


@pytest.mark.parametrize("name", ["baseline", *[m["name"] for m in MODELS]])
def test_fold_models_reproduce_the_stored_test_predictions(built: dict[str, Path], name: str) -> None:
    got = kaggle_kit.predict(built["moved"], built["comp"] / "test.csv", model=name, threads=1)
    want = _stored(built["run"], name)
    assert got.columns == want.columns and got["id"].to_list() == want["id"].to_list()
    np.testing.assert_allclose(got.drop("id").to_numpy(), want.drop("id").to_numpy(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("method", BLENDS)
def test_every_blend_method_reproduces_its_stored_test_predictions(built: dict[str, Path], method: str) -> None:
    got = kaggle_kit.predict(built["moved"], built["comp"] / "test.csv", blend=method, threads=1)
    want = _stored(built["run"], method, "blend")
    np.testing.assert_allclose(got.drop("id").to_numpy(), want.drop("id").to_numpy(), atol=1e-6, rtol=0)


def test_a_rank_blend_scores_a_few_rows_or_one_as_it_scored_them_among_the_test_rows(built: dict[str, Path]) -> None:
    test = pl.read_csv(built["comp"] / "test.csv")
    want = _stored(built["run"], "rank", "blend")
    for part in (test.reverse()[:7], test[30:31], test.sample(fraction=1.0, shuffle=True, seed=3)):
        got = kaggle_kit.predict(built["moved"], part, blend="rank", threads=1)
        joined = got.join(want, on="id", suffix="_want")
        assert joined.height == part.height
        # ranked among the rows given, one row scored 1.0 and seven rows k / 7, whatever their models said
        np.testing.assert_array_equal(joined["p_1"].to_numpy(), joined["p_1_want"].to_numpy())
        np.testing.assert_array_equal(joined["p_0"].to_numpy(), joined["p_0_want"].to_numpy())


def test_new_rows_in_another_order_get_the_same_predictions_per_id(built: dict[str, Path]) -> None:
    test = pl.read_csv(built["comp"] / "test.csv")
    part = test.reverse()[:40]
    got = kaggle_kit.predict(built["moved"], part, model="xgb", threads=1)
    want = _stored(built["run"], "xgb").join(got.select("id"), on="id", how="semi")
    joined = got.join(want, on="id", suffix="_want")
    np.testing.assert_allclose(joined["p_1"].to_numpy(), joined["p_1_want"].to_numpy(), atol=1e-6)


@pytest.mark.slow
def test_the_submission_has_the_sample_columns_and_the_new_rows(built: dict[str, Path], tmp_path: Path) -> None:
    rows = pl.read_csv(built["comp"] / "test.csv")[:25]
    rows.write_csv(tmp_path / "new_test.csv")
    want = kaggle_kit.predict(built["moved"], rows, blend="nelder_mead", threads=1)["p_1"].to_numpy()
    for run_dir in (built["run"], built["moved"]):
        # the run's recorded sample lists other ids: its columns are used; moved, it is gone: the columns it recorded
        columns = ["id", "target"]
        out = tmp_path / f"{run_dir.name}.csv"
        args = ["predict", str(run_dir), "--test", str(tmp_path / "new_test.csv"), "--blend", "nelder_mead"]
        assert main([*args, "--out", str(out)]) == 0
        sub = pl.read_csv(out)
        assert sub.columns == columns and sub["id"].to_list() == rows["id"].to_list()
        np.testing.assert_allclose(sub["target"].to_numpy(), want, atol=1e-6)
    assert main(["predict", str(built["moved"]), "--test", str(tmp_path / "missing.csv"), "--model", "xgb"]) == 2


def test_a_moved_run_without_its_sample_writes_the_sample_columns_it_recorded(tmp_path: Path) -> None:
    """A run folder uploaded as a code competition's dataset has no sample file beside it: predict had written the
    kit's own layout (id, target, 0, 1), which Kaggle refuses, without a word. A run made before it recorded the
    sample's columns says so, and how to give them."""
    train, test = _frames()
    comp = tmp_path / "comp"
    comp.mkdir()
    train.select("id", "f0", "f1", "target").write_csv(comp / "train.csv")
    test.select("id", "f0", "f1").write_csv(comp / "test.csv")
    # each line ends in a separator (a spreadsheet's export): its empty unnamed column is no column of the sample's
    sample = "id,target,\n" + "".join(f"{i},0.5,\n" for i in test["id"])
    (comp / "sample_submission.csv").write_text(sample)
    data = {"train": "train.csv", "test": "test.csv", "sample_submission": "sample_submission.csv", "id": "id",
            "target": "target"}  # fmt: skip
    logreg = {"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
    spec = build_spec(
        {"name": "moved", "task": "binary", "metric": "roc_auc", "data": data, "folds": {"n_splits": 2},
         "run": {"n_jobs": 1, "threads_per_task": 1}, "models": [logreg]},
        base_dir=comp,
    )  # fmt: skip
    run_dir = run(spec, runs_root=comp / "runs", progress=None, record_history=False).run_dir
    moved = tmp_path / "input" / "moved"
    shutil.copytree(run_dir, moved)
    shutil.rmtree(comp)  # nothing of the competition's folder is left
    rows = test.select("id", "f0", "f1")[:7]
    with pytest.warns(DataWarning, match="an unnamed column empty in every row"):
        kaggle_kit.predict(moved, rows, model="lr", out=tmp_path / "sub.csv")
    sub = pl.read_csv(tmp_path / "sub.csv")
    assert sub.columns == ["id", "target"] and sub["id"].to_list() == rows["id"].to_list()
    meta = json.loads((moved / "run.json").read_text())
    del meta["sample_columns"]  # a run made before run.json recorded them
    (moved / "run.json").write_text(json.dumps(meta))
    with pytest.warns(DataWarning, match=r"sample submission recorded for this run .* is not here, so the file has "
                      r"the kit's own columns \(id, target, 0, 1\).* --sample FILE"):  # fmt: skip
        kaggle_kit.predict(moved, rows, model="lr", out=tmp_path / "old.csv")
    assert pl.read_csv(tmp_path / "old.csv").columns == ["id", "target", "0", "1"]


def test_a_model_that_failed_is_named_as_failed_not_as_unknown(tmp_path: Path) -> None:
    """It had said "no finished model named 'knn'", as for a typo, listing the others."""
    train, test = _frames()
    knn = {"name": "knn", "kind": "sklearn", "estimator": "sklearn.neighbors.KNeighborsClassifier",
           "params": {"n_neighbors": 10_000}}  # fmt: skip
    data = {"train": "t.csv", "test": "u.csv", "id": "id", "target": "target"}
    spec = build_spec(
        {"name": "failed", "task": "binary", "metric": "roc_auc", "data": data, "folds": {"n_splits": 2},
         "run": {"n_jobs": 1, "threads_per_task": 1}, "models": [knn]}
    )  # fmt: skip
    frames = {"train": train[["id", "f0", "target"]], "test": test[["id", "f0"]]}
    run_dir = run(spec, runs_root=tmp_path, progress=None, **frames).run_dir
    with pytest.raises(ConfigError, match=r"model 'knn' did not finish in .* \(failed: ValueError: .*n_neighbors.*\): "
                       r"it has no model for every fold; rerun `kaggle-kit run CONFIG` once it is fixed"):  # fmt: skip
        kaggle_kit.predict(run_dir, test[["id", "f0"]], model="knn")
    with pytest.raises(ConfigError, match=r"model 'knn' did not finish"):
        refit(run_dir, ["knn"], progress=None)
    from kaggle_kit.submit import write_submission

    with pytest.raises(StoreError, match=r"no test predictions .*: it did not finish \(failed: ValueError: "):
        write_submission(run_dir, "knn")  # it had said "its run did not finish"
    # one a time limit cut: its status said once, and more time as the fix (not "once it is fixed")
    cut = RunStore(run_dir).read_summary("knn")
    cut = type(cut)(**{**cut.__dict__, "status": "incomplete", "error": "incomplete: time limit (1 of 2 folds)"})
    assert cut.why == "incomplete: time limit (1 of 2 folds)" and "with a longer --time-limit" in cut.rerun


def test_a_sample_given_orders_the_rows(built: dict[str, Path], tmp_path: Path) -> None:
    rows = pl.read_csv(built["comp"] / "test.csv")[:10]
    sample = tmp_path / "sample.csv"
    rows.select("id", pl.lit(0).alias("target")).reverse().write_csv(sample)
    out = tmp_path / "sub.csv"
    kaggle_kit.predict(built["moved"], rows, model="lgbm", out=out, sample=sample, threads=1)
    assert pl.read_csv(out)["id"].to_list() == rows["id"].reverse().to_list()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda f: f.drop("f3"), r"test lacks feature column\(s\) 'f3' that train has"),
        (lambda f: f.with_columns(pl.col("f3").cast(pl.String) + "x"), r"column 'f3' is Float64 in train but String"),
        (lambda f: f.drop("id"), r"data.id = 'id' is not a column of the test file"),
        (lambda f: pl.concat([f, f[:1]]), r"the id column 'id' of test is not unique"),
    ],
)
def test_a_test_file_unlike_train_is_refused_as_run_refuses_it(built: dict[str, Path], change, match: str) -> None:
    test = pl.read_csv(built["comp"] / "test.csv")
    with pytest.raises(DataError, match=match):
        kaggle_kit.predict(built["moved"], change(test), model="xgb")


def test_unknown_names_and_missing_choice_are_clear(built: dict[str, Path]) -> None:
    test = built["comp"] / "test.csv"
    with pytest.raises(ConfigError, match=r"no finished model named 'xgbb'.*Did you mean 'xgb'"):
        kaggle_kit.predict(built["moved"], test, model="xgbb")
    with pytest.raises(StoreError, match=r"no blend named 'stak'"):
        kaggle_kit.predict(built["moved"], test, blend="stak")
    with pytest.raises(ConfigError, match="exactly one of"):
        kaggle_kit.predict(built["moved"], test)


def test_refit_models_train_on_all_rows_with_the_fold_mean_iterations(built: dict[str, Path]) -> None:
    store = RunStore(built["run"])
    for name in ("xgb", "lgbm", "mlp", "rf"):
        folder = store.model_dir(name, store.current_models()[name]) / "refit"
        record = json.loads((folder / "result.json").read_text())
        assert record["cv"] == "not measured" and record["n_train"] == 450
        mean_best = store.read_summary(name).best_iteration
        assert record["iterations"] == (max(1, round(mean_best)) if mean_best is not None else None)
    import xgboost as xgb

    key = store.current_models()["xgb"]
    booster = xgb.Booster(model_file=str(store.model_dir("xgb", key) / "refit" / "model.ubj"))
    assert booster.num_boosted_rounds() == max(1, round(store.read_summary("xgb").best_iteration))


def test_predict_refit_uses_the_one_model_and_differs_from_the_folds(built: dict[str, Path]) -> None:
    test = built["comp"] / "test.csv"
    refit_pred = kaggle_kit.predict(built["moved"], test, model="xgb", refit=True, threads=1)["p_1"].to_numpy()
    folds_pred = _stored(built["run"], "xgb")["p_1"].to_numpy()
    assert not np.allclose(refit_pred, folds_pred, atol=1e-4)
    y = load_breast_cancer(return_X_y=True)[1][450:]
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y, refit_pred) > 0.9  # a real model, trained on every row
    with pytest.raises(StoreError, match=r"model 'et' has no model refit on all rows.*kaggle-kit refit"):
        kaggle_kit.predict(built["moved"], test, model="et", refit=True)


def test_best_names_the_verdicts_choice_and_submit_best_writes_it(built: dict[str, Path], tmp_path: Path) -> None:
    choice = best_choice(built["moved"])
    assert choice.kind in ("model", "blend")
    report = blend_report(built["run"], "all", save=False)
    expected = report.best_blend.name if report.beats_best_model else report.best_model.name
    assert choice.name == expected
    out = tmp_path / "best.csv"
    assert main(["submit", str(built["run"]), "--best", "--out", str(out)]) == 0
    stored = _stored(built["run"], choice.name, choice.kind)
    np.testing.assert_allclose(pl.read_csv(out)["target"].to_numpy(), stored["p_1"].to_numpy(), atol=1e-6)


def test_prediction_speed_from_the_fold_timings(built: dict[str, Path]) -> None:
    speeds = prediction_speed(built["moved"])
    store = RunStore(built["run"])
    key = store.current_models()["xgb"]
    folds = [store.finished("xgb", key, r, k) for r in range(2) for k in range(2)]
    rows = sum(f.n_valid + 119 for f in folds)
    assert speeds["xgb"].rows_per_second == pytest.approx(rows / sum(f.predict_seconds for f in folds))
    assert speeds["xgb"].seconds(1000) == pytest.approx(4 * 1000 / speeds["xgb"].rows_per_second)


def _tampered_copy(built: dict[str, Path], tmp_path: Path, name: str, fname: str, blob: bytes) -> Path:
    """A writable copy of the run whose fold r0_f0 of ``name`` holds ``blob`` as ``fname``, checksum updated (so
    only the loader stands between the file and the model)."""
    copy = tmp_path / "run"
    shutil.copytree(built["moved"], copy)
    _writable(copy)
    store = RunStore(copy)
    fold = store.fold_dir(name, store.current_models()[name], 0, 0)
    (fold / fname).write_bytes(blob)
    result = json.loads((fold / "result.json").read_text())
    result["files"][fname] = sha256_bytes(blob)
    (fold / "result.json").write_text(json.dumps(result))
    return copy


class _Boom:
    def __reduce__(self):  # unpickling this would run os.system
        return (os.system, ("touch PWNED",))


def test_unsafe_model_files_are_refused_without_running_them(
    built: dict[str, Path], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    test = built["comp"] / "test.csv"
    pickled = pickle.dumps({"weights": _Boom()})
    copy = _tampered_copy(built, tmp_path / "a", "mlp", "model.pt", pickled)
    with pytest.raises(StoreError, match=r"model\.pt: model 'mlp' \(r0_f0\) cannot be loaded.*never unpickled"):
        kaggle_kit.predict(copy, test, model="mlp")
    buf = __import__("io").BytesIO()
    np.savez(buf, coef_=np.array([_Boom()], dtype=object))
    copy = _tampered_copy(built, tmp_path / "b", "linear", "model.npz", buf.getvalue())
    with pytest.raises(StoreError, match=r"model\.json: model 'linear' \(r0_f0\) cannot be loaded"):
        kaggle_kit.predict(copy, test, model="linear")
    node = {"class": "os.system", "params": {"command": "touch PWNED"}, "attributes": {}}
    crafted = json.dumps({"format": "kaggle_kit.sklearn/2", "estimator": node})
    copy = _tampered_copy(built, tmp_path / "c", "rf", "model.json", crafted.encode())
    with pytest.raises(StoreError, match=r"model 'rf' \(r0_f0\) cannot be loaded.*'os.system' is not a scikit-learn"):
        kaggle_kit.predict(copy, test, model="rf")
    assert not (tmp_path / "PWNED").exists()


def test_an_edited_fold_file_is_refused_by_its_checksum(built: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(built["moved"], copy)
    _writable(copy)
    store = RunStore(copy)
    fold = store.fold_dir("xgb", store.current_models()["xgb"], 1, 1)
    (fold / "features.json").write_text("{}")
    with pytest.raises(StoreError, match=r"features\.json does not match the checksum.*repeat 1 fold 2"):
        kaggle_kit.predict(copy, built["comp"] / "test.csv", model="xgb")


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A regression run scored by RMSLE: models fit log1p(y), predictions come back through expm1 and clipping."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    frame = pl.DataFrame({f"f{j}": X[:, j] for j in range(X.shape[1])}).with_columns(
        pl.Series("id", [f"r{i:04d}" for i in range(len(y))]), pl.Series("target", y)
    )
    comp = tmp_path_factory.mktemp("predict_regression")
    frame[:350].write_csv(comp / "train.csv")
    frame[350:].drop("target").write_csv(comp / "test.csv")
    spec = build_spec(
        {
            "name": "predict-regression",
            "task": "regression",
            "metric": "rmsle",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "target"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [
                {"name": "xgb", "kind": "xgboost", "num_boost_round": 30, "early_stopping_rounds": 5},
                {"name": "mlp", "kind": "mlp", "params": {"epochs": 3, "patience": 0, "hidden": [8]}},
                {"name": "linear", "kind": "linear"},
            ],
        },
        base_dir=comp,
    )
    run_dir = run(spec, runs_root=comp / "runs", progress=None, record_history=False).run_dir
    blend_report(run_dir, "nelder_mead,stack")
    return {"run": run_dir, "test": comp / "test.csv"}


@pytest.mark.parametrize(("name", "kind"), [("xgb", "model"), ("mlp", "model"), ("linear", "model"),
                                            ("nelder_mead", "blend"), ("stack", "blend")])  # fmt: skip
def test_regression_in_the_metrics_fit_space_reproduces_the_stored_predictions(
    regression: dict[str, Path], name: str, kind: str
) -> None:
    which = {kind: name}
    got = kaggle_kit.predict(regression["run"], regression["test"], **which, threads=1)
    want = _stored(regression["run"], name, kind)
    assert got["id"].to_list() == want["id"].to_list()
    np.testing.assert_allclose(got["prediction"].to_numpy(), want["prediction"].to_numpy(), atol=1e-6, rtol=1e-6)
    assert got["prediction"].min() > 10  # values in the target's units (expm1 applied), not log1p ones


def test_the_best_blend_within_an_inference_budget(built: dict[str, Path], capsys) -> None:
    from kaggle_kit.predict.best import stored_report
    from kaggle_kit.predict.speed import best_within

    report, speeds = stored_report(built["moved"]), prediction_speed(built["moved"])
    n = 100_000
    cost = {b.name: sum(speeds[m].seconds(n) for m in b.models) for b in report.blends}
    cost.update({m.name: speeds[m.name].seconds(n) for m in report.models})
    score = {b.name: b.mean for b in report.blends} | {m.name: report.model_mean(m) for m in report.models}
    cheapest_blend = min(cost[b.name] for b in report.blends)
    limit = (cheapest_blend + max(cost.values())) / 2  # some blends fit, the slowest does not
    fitting = [k for k in cost if cost[k] <= limit]
    chosen = best_within(report, speeds, limit, n)
    assert chosen.name in fitting and chosen.seconds == pytest.approx(cost[chosen.name])
    assert chosen.score == max(score[k] for k in fitting)  # AUC: greater is better
    with pytest.raises(ConfigError, match=r"no blend or model predicts 100,000 rows within --max-predict-seconds"):
        best_within(report, speeds, min(cost.values()) / 2, n)
    args = ["blend", str(built["run"]), "--method", "mean", "--max-predict-seconds", "1e9", "--test-rows", "5"]
    assert main(args) == 0
    assert "within 1e+09s for 5 test rows:" in capsys.readouterr().out


def test_refit_from_a_train_file_when_the_config_folder_is_gone(built: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(built["moved"], copy)
    _writable(copy)
    with pytest.raises(DataError, match=r"refit needs the training rows: .*pass the training file with --train FILE"):
        refit(copy, ["xgb"], progress=None)
    assert main(["refit", str(copy), "--model", "xgb", "--train", str(built["comp"] / "train.csv")]) == 0
    test = built["comp"] / "test.csv"
    here = kaggle_kit.predict(copy, test, model="xgb", refit=True, threads=1)
    there = kaggle_kit.predict(built["run"], test, model="xgb", refit=True, threads=1)  # refit from the spec
    np.testing.assert_allclose(here["p_1"].to_numpy(), there["p_1"].to_numpy(), atol=1e-6)


def test_a_refit_net_trains_the_fold_mean_epochs_without_early_stopping(built: dict[str, Path]) -> None:
    store = RunStore(built["run"])
    folder = store.model_dir("mlp", store.current_models()["mlp"]) / "refit"
    config = json.loads((folder / "model.json").read_text())
    epochs = max(1, round(store.read_summary("mlp").best_iteration))
    assert config["params"]["epochs"] == epochs and config["params"]["patience"] == 0
    assert len(json.loads((folder / "history.json").read_text())["train_loss"]) == epochs


def test_a_sequence_run_without_its_recorded_layout_says_to_rerun(built: dict[str, Path], tmp_path: Path) -> None:
    import tomli_w

    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover
        import tomli as tomllib
    copy = tmp_path / "run"
    shutil.copytree(built["moved"], copy)
    _writable(copy)
    spec = tomllib.loads((copy / "spec.toml").read_text())
    spec["data"]["sequences"] = {"train": "seq_train.csv", "test": "seq_test.csv", "order_by": "step"}
    (copy / "spec.toml").write_text(tomli_w.dumps(spec))
    with pytest.raises(DataError, match=r"pass the test long table with --sequences FILE \(sequences= in Python\)"):
        kaggle_kit.predict(copy, built["comp"] / "test.csv", model="xgb")
    long = pl.DataFrame({"id": [1], "step": [0], "f0": [1.0]})
    with pytest.raises(StoreError, match=r"does not record the sequences' columns and steps.*rerun `kaggle-kit run"):
        kaggle_kit.predict(copy, built["comp"] / "test.csv", sequences=long, model="xgb")


def test_the_package_name_is_the_predict_function_and_imports_no_model_library() -> None:
    import subprocess
    import sys

    code = "import sys, kaggle_kit; f = kaggle_kit.predict; print(callable(f), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]


def test_a_run_without_recorded_columns_says_to_rerun(built: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(built["moved"], copy)
    _writable(copy)
    meta = json.loads((copy / "run.json").read_text())
    del meta["columns"]
    (copy / "run.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match=r"does not record the training columns.*rerun `kaggle-kit run CONFIG` once"):
        kaggle_kit.predict(copy, built["comp"] / "test.csv", model="xgb")


def test_multiclass_labels_models_and_stacking(tmp_path: Path) -> None:
    """Iris with text labels: one probability column per label, the submission's label by arg-max."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    labels = np.array(["setosa", "versicolor", "virginica"])[y[order]]
    frame = pl.DataFrame({f"f{j}": X[order, j] for j in range(4)}).with_columns(
        pl.Series("id", np.arange(len(y))), pl.Series("species", labels)
    )
    frame[:120].write_csv(tmp_path / "train.csv")
    frame[120:].drop("species").write_csv(tmp_path / "test.csv")
    spec = build_spec(
        {
            "name": "iris",
            "task": "multiclass",
            "metric": "log_loss",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "species"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [
                {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 20, "params": {"min_data_in_leaf": 5}},
                {"name": "linear", "kind": "linear"},
            ],
        },
        base_dir=tmp_path,
    )
    run_dir = run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False).run_dir
    blend_report(run_dir, "nelder_mead,stack,calibrated_hill_climb")
    blends = (("nelder_mead", "blend"), ("stack", "blend"), ("calibrated_hill_climb", "blend"))
    for which, kind in (("lgbm", "model"), ("linear", "model"), *blends):
        got = kaggle_kit.predict(run_dir, tmp_path / "test.csv", **{kind: which}, threads=1)
        want = _stored(run_dir, which, kind)
        assert got.columns == ["id", "p_setosa", "p_versicolor", "p_virginica"]
        np.testing.assert_allclose(got.drop("id").to_numpy(), want.drop("id").to_numpy(), atol=1e-6)
    out = tmp_path / "sub.csv"
    preds = kaggle_kit.predict(run_dir, tmp_path / "test.csv", blend="stack", out=out, threads=1)
    names = np.array(["setosa", "versicolor", "virginica"])
    assert pl.read_csv(out)["species"].to_list() == names[np.argmax(preds.drop("id").to_numpy(), axis=1)].tolist()


def test_a_whole_number_column_and_a_pandas_frame_are_read_as_run_reads_them(built: dict[str, Path]) -> None:
    """f0 written as integers (Int64 where train had Float64) is accepted, as `run` accepts it (numeric either way),
    and predicts exactly as the same values as floats; a pandas frame is taken as a polars one."""
    test = pl.read_csv(built["comp"] / "test.csv")
    rounded = test.with_columns(pl.col("f0").round(0))
    as_int = rounded.with_columns(pl.col("f0").cast(pl.Int64))
    want = kaggle_kit.predict(built["moved"], rounded, model="lgbm", threads=1)
    got = kaggle_kit.predict(built["moved"], as_int.to_pandas(), model="lgbm", threads=1)
    np.testing.assert_array_equal(got["p_1"].to_numpy(), want["p_1"].to_numpy())


def _blend_copy(built: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    copy = tmp_path / "run"
    shutil.copytree(built["moved"], copy)
    _writable(copy)
    return copy, copy / "blends" / "stack"


def test_stacking_predicts_with_its_stored_level2_models(built: dict[str, Path], monkeypatch) -> None:
    """The level-2 model of each nested-CV fold is stored as JSON + npz and applied as stored: nothing is fitted
    at predict time (nested CV, which fits them, is made to fail), and the predictions are the stored ones."""
    import kaggle_kit.predict.blends as blends

    folder = built["moved"] / "blends" / "stack"
    meta = json.loads((folder / "level2.json").read_text())
    assert meta["format"] == "kaggle_kit.level2/1" and len(meta["folds"]) == 4  # 2 repeats x 2 folds
    assert {node["class"] for node in meta["folds"]} == {"sklearn.pipeline.Pipeline"}
    with np.load(folder / "level2.npz", allow_pickle=False) as arrays:
        assert all(not arrays[k].dtype.hasobject for k in arrays.files)

    def no_refit(*args, **kwargs):
        raise AssertionError("the level-2 models were fitted again")

    monkeypatch.setattr(blends, "nested_cv", no_refit)
    got = kaggle_kit.predict(built["moved"], built["comp"] / "test.csv", blend="stack", threads=1)
    np.testing.assert_allclose(
        got["p_1"].to_numpy(), _stored(built["run"], "stack", "blend")["p_1"].to_numpy(), atol=1e-6
    )


def test_calibrated_selection_predicts_with_its_stored_fold_fits(built: dict[str, Path], monkeypatch) -> None:
    """Each nested-CV fold's weights, twins and the twins' level-2 models are stored as JSON + npz and applied as
    stored (nothing fitted at predict time)."""
    import kaggle_kit.predict.blends as blends

    folder = built["moved"] / "blends" / "calibrated_hill_climb"
    meta = json.loads((folder / "level2.json").read_text())
    n = len(read_blend(built["moved"], "calibrated_hill_climb").models)
    assert len(meta["folds"]) == 4 and all(len(f["weights"]) == n + len(f["twins"]) > n for f in meta["folds"])
    assert {node["class"] for f in meta["folds"] for node in f["models"]} == {"sklearn.pipeline.Pipeline"}
    monkeypatch.setattr(blends, "nested_cv", lambda *a, **k: pytest.fail("the fold fits were fitted again"))
    got = kaggle_kit.predict(built["moved"], built["comp"] / "test.csv", blend="calibrated_hill_climb", threads=1)
    want = _stored(built["run"], "calibrated_hill_climb", "blend")["p_1"].to_numpy()
    np.testing.assert_allclose(got["p_1"].to_numpy(), want, atol=1e-6)


def test_a_stacking_blend_stored_without_level2_models_fits_them_again(built: dict[str, Path], tmp_path: Path) -> None:
    copy, folder = _blend_copy(built, tmp_path)
    sums = json.loads((folder / "checksums.json").read_text())
    for fname in ("level2.json", "level2.npz"):
        (folder / fname).unlink()
        del sums[fname]
    (folder / "checksums.json").write_text(json.dumps(sums))
    got = kaggle_kit.predict(copy, built["comp"] / "test.csv", blend="stack", threads=1)
    np.testing.assert_allclose(
        got["p_1"].to_numpy(), _stored(built["run"], "stack", "blend")["p_1"].to_numpy(), atol=1e-6
    )


def test_crafted_or_edited_level2_files_are_refused(built: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    test = built["comp"] / "test.csv"
    copy, folder = _blend_copy(built, tmp_path / "a")
    node = {"class": "os.system", "params": {"command": {"value": "touch PWNED"}}, "attributes": {}}
    crafted = json.dumps({"format": "kaggle_kit.level2/1", "folds": [node]}).encode()
    (folder / "level2.json").write_bytes(crafted)
    sums = json.loads((folder / "checksums.json").read_text())
    sums["level2.json"] = sha256_bytes(crafted)
    (folder / "checksums.json").write_text(json.dumps(sums))
    with pytest.raises(
        StoreError, match=r"level2\.json: the level-2 models of blend 'stack' cannot be loaded.*os\.sys"
    ):
        kaggle_kit.predict(copy, test, blend="stack")
    assert not (tmp_path / "PWNED").exists()
    copy, folder = _blend_copy(built, tmp_path / "b")
    (folder / "level2.npz").write_bytes(pickle.dumps(_Boom()))
    with pytest.raises(StoreError, match=r"level2\.npz is missing or does not match its checksum.*blend again"):
        kaggle_kit.predict(copy, test, blend="stack")


def _edited_calibrated(built: dict[str, Path], where: Path, edit) -> Path:
    """A copy of the run whose calibrated selection's level2.json is edited by ``edit(meta)``, its checksum
    updated (a crafted file, not a corrupted one)."""
    copy = where / "run"
    shutil.copytree(built["moved"], copy)
    _writable(copy)
    folder = copy / "blends" / "calibrated_hill_climb"
    meta = json.loads((folder / "level2.json").read_text())
    edit(meta)
    blob = json.dumps(meta).encode()
    (folder / "level2.json").write_bytes(blob)
    sums = json.loads((folder / "checksums.json").read_text())
    sums["level2.json"] = sha256_bytes(blob)
    (folder / "checksums.json").write_text(json.dumps(sums))
    return copy


def _first_fold(change):
    def edit(meta: dict) -> None:
        change(meta["folds"][0])

    return edit


@pytest.mark.parametrize(
    ("case", "edit", "match"),
    [
        ("twin out of range", _first_fold(lambda f: f["twins"].__setitem__(-1, len(f["weights"]))), "twins"),
        ("negative twin", _first_fold(lambda f: f["twins"].__setitem__(0, -1)), "twins"),
        ("a twin dropped", _first_fold(lambda f: (f["twins"].pop(), f["models"].pop())), "not one per model"),
        ("a weight over", _first_fold(lambda f: f["weights"].append(0.0)), "not one per model"),
        ("a twin's model gone", _first_fold(lambda f: f["models"].pop()), "do not match"),
        ("NaN weight", _first_fold(lambda f: f["weights"].__setitem__(0, float("nan"))), "finite"),
        ("a stacker's fold", lambda meta: meta["folds"].__setitem__(0, meta["folds"][0]["models"][0]), "not one"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_crafted_calibrated_selection_file_is_refused(
    built: dict[str, Path], tmp_path: Path, case: str, edit, match: str
) -> None:
    """A calibrated selection's fold (weights over the models then the twins, each twin a model index and its
    level-2 model) that does not fit the blend's models is a StoreError naming the file, never an IndexError or a
    wrong prediction."""
    copy = _edited_calibrated(built, tmp_path, edit)
    refused = rf"level2\.json: the level-2 models of blend 'calibrated_hill_climb' cannot be loaded.*{match}"
    with pytest.raises(StoreError, match=refused):
        kaggle_kit.predict(copy, built["comp"] / "test.csv", blend="calibrated_hill_climb", threads=1)
