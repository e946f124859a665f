"""End-to-end runs of the K-fold core on the demo competitions: OOF integrity, caching, determinism, failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import demo_spec, fast_models, geometric_pool
from sklearn.datasets import load_diabetes

from kaggle_kit.config import build_spec
from kaggle_kit.errors import StoreError
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.folds import Folds
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import FoldResult, RunStore

SEQUENTIAL = {"n_jobs": 1, "threads_per_task": 1}


def _spec(demo_data: Path, name: str = "demo-breast-cancer", **over: object):
    over.setdefault("models", fast_models())
    over.setdefault("run", SEQUENTIAL)
    return demo_spec(name, demo_data, **over)


def _oof(run_dir: Path, model: str) -> np.ndarray:
    return RunStore(run_dir).read_predictions(model, "oof").drop("id").to_numpy()


@pytest.fixture(scope="module")
def first_run(demo_data: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("runs")
    return root, run(_spec(demo_data), runs_root=root, progress=None)


def test_oof_rows_are_exactly_the_held_out_rows(first_run, demo_data: Path) -> None:
    _, result = first_run
    store = RunStore(result.run_dir)
    folds = store.load_folds(5, "complement")
    assert isinstance(folds, Folds)
    train = pl.read_csv(demo_data / "demo-breast-cancer" / "train.csv")
    for name, key in store.current_models().items():
        oof = store.read_predictions(name, "oof")
        assert oof["id"].to_list() == train["id"].to_list()  # row order = train order
        values = oof.drop("id").to_numpy()
        assert values.shape == (train.height, 2) and not np.isnan(values).any()
        seen = np.zeros(train.height, dtype=int)
        for r, k in folds.tasks():
            res = store.finished(name, key, r, k)
            assert res is not None
            train_idx, valid_idx = folds.train_valid(r, k)
            assert res.n_valid == len(valid_idx) and res.n_train == len(train_idx)
            assert not set(train_idx) & set(valid_idx)
            fold_pred = store.read_fold_array(res, "valid.npy")
            np.testing.assert_array_equal(values[valid_idx], fold_pred)  # OOF rows come from the held-out fold
            seen[valid_idx] += 1
        assert (seen == 1).all()  # every row predicted exactly once, by the fold that held it out


def test_trees_beat_baseline_and_scores_recorded(first_run) -> None:
    _, result = first_run
    rows = {m.name: m for m in result.models}
    metric = get_metric("roc_auc")
    assert set(rows) == {"baseline", "xgb", "lgbm"}
    for name in ("xgb", "lgbm"):
        assert rows[name].status == "ok"
        assert metric.better(rows[name].cv, rows["baseline"].cv)
        assert rows[name].cv > 0.95 and len(rows[name].fold_scores) == 5
        assert rows[name].best_iteration is not None
    assert "baseline" in result.leaderboard() and "xgb" in result.leaderboard()


def test_test_predictions_are_the_fold_models_pooled(first_run) -> None:
    _, result = first_run
    store = RunStore(result.run_dir)
    key = store.current_models()["xgb"]
    folds = store.load_folds(5, "complement")
    per_fold = [store.read_fold_array(store.finished("xgb", key, r, k), "test.npy") for r, k in folds.tasks()]
    test = store.read_predictions("xgb", "test").drop("id").to_numpy()
    np.testing.assert_allclose(test, geometric_pool(per_fold), rtol=1e-5)
    assert not np.allclose(test, np.mean(per_fold, axis=0), rtol=1e-4)  # not the probabilities' mean


def test_rerun_refits_nothing(first_run, demo_data: Path) -> None:
    root, result = first_run
    results = sorted(result.run_dir.glob("models/*/*/folds/*/result.json"))
    stamps = [p.stat().st_mtime_ns for p in results]
    again = run(_spec(demo_data), runs_root=root, progress=None)
    assert again.fitted == 0 and again.reused == 15
    assert [p.stat().st_mtime_ns for p in results] == stamps
    for name in ("xgb", "lgbm"):
        np.testing.assert_array_equal(_oof(again.run_dir, name), _oof(result.run_dir, name))


def test_adding_a_model_fits_only_that_model(first_run, demo_data: Path) -> None:
    root, _ = first_run
    models = [*fast_models(), {"name": "ridge", "kind": "linear"}]
    result = run(_spec(demo_data, models=models), runs_root=root, progress=None)
    assert result.fitted == 5 and result.reused == 15
    assert [m.name for m in result.models] == ["baseline", "xgb", "lgbm", "ridge"]


def test_only_runs_the_named_models(demo_data: Path, tmp_path: Path) -> None:
    from kaggle_kit.leaderboard import leaderboard

    result = run(_spec(demo_data), runs_root=tmp_path, only=["lgbm"], progress=None)
    assert result.fitted == 10 and [m.name for m in result.models] == ["baseline", "lgbm"]
    assert [m.name for m in leaderboard(result.run_dir)] == ["lgbm", "baseline"]
    again = run(_spec(demo_data), runs_root=tmp_path, progress=None)  # the rest later: lgbm is reused
    assert again.fitted == 5 and again.reused == 10


def test_changed_params_refit_that_model_only(first_run, demo_data: Path) -> None:
    root, _ = first_run
    models = fast_models()
    models[0] = {**models[0], "params": {"learning_rate": 0.3, "max_depth": 2}}
    result = run(_spec(demo_data, models=models), runs_root=root, progress=None)
    assert result.fitted == 5 and result.reused == 10
    assert len(list((result.run_dir / "models" / "xgb").iterdir())) == 2  # the old results stay on disk


@pytest.mark.slow  # an end-to-end run: CI runs it, `make test-fast` leaves it out
def test_same_seed_same_oof_and_parallel_equals_sequential(demo_data: Path, tmp_path: Path) -> None:
    spec = _spec(demo_data, name="demo-digits")
    a = run(spec, runs_root=tmp_path / "a", progress=None)
    b = run(spec, runs_root=tmp_path / "b", progress=None)
    c = run(spec, runs_root=tmp_path / "c", n_jobs=2, progress=None)
    for name in ("baseline", "xgb", "lgbm"):
        np.testing.assert_array_equal(_oof(a.run_dir, name), _oof(b.run_dir, name))
        np.testing.assert_array_equal(_oof(a.run_dir, name), _oof(c.run_dir, name))
    other = run(_spec(demo_data, name="demo-digits", seed=43), runs_root=tmp_path / "d", progress=None)
    assert not np.array_equal(_oof(a.run_dir, "xgb"), _oof(other.run_dir, "xgb"))


def test_repeated_kfold_pools_repeats(demo_data: Path, tmp_path: Path) -> None:
    spec = _spec(
        demo_data, folds={"strategy": "stratified", "n_splits": 3, "n_repeats": 2}, models=fast_models(("lightgbm",))
    )
    result = run(spec, runs_root=tmp_path, progress=None)
    assert result.fitted == 12  # (baseline + lgbm) x 2 repeats x 3 folds
    store = RunStore(result.run_dir)
    folds = store.load_folds(3, "complement")
    key = store.current_models()["lgbm"]
    per_repeat = np.zeros((2, folds.n_rows, 2))
    for r, k in folds.tasks():
        _, valid_idx = folds.train_valid(r, k)
        per_repeat[r, valid_idx] = store.read_fold_array(store.finished("lgbm", key, r, k), "valid.npy")
    np.testing.assert_allclose(_oof(result.run_dir, "lgbm"), geometric_pool(list(per_repeat)), rtol=1e-5)
    assert len(next(m for m in result.models if m.name == "lgbm").fold_scores) == 6


def _diabetes_competition(tmp_path: Path) -> Path:
    X, y = load_diabetes(return_X_y=True)
    frame = pl.DataFrame(X, schema=[f"x{i}" for i in range(X.shape[1])], orient="row").with_columns(
        pl.Series("id", np.arange(len(y)) + 1),
        pl.Series("progression", y),
        pl.Series("visit", np.arange(len(y)) // 10),
    )
    frame[:400].write_csv(tmp_path / "train.csv")
    frame[400:].drop("progression").write_csv(tmp_path / "test.csv")
    return tmp_path


def test_regression_rmsle_and_time_folds(tmp_path: Path) -> None:
    folder = _diabetes_competition(tmp_path)
    spec = build_spec(
        {
            "name": "diabetes",
            "task": "regression",
            "metric": "rmsle",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "progression"},
            "folds": {"strategy": "time", "n_splits": 4, "time": "visit"},
            "run": SEQUENTIAL,
            "models": fast_models(("lightgbm",)),
        },
        base_dir=folder,
    )
    result = run(spec, runs_root=tmp_path / "runs", progress=None)
    rows = {m.name: m for m in result.models}
    assert rows["lgbm"].status == "ok" and rows["lgbm"].cv < rows["baseline"].cv
    oof = _oof(result.run_dir, "lgbm")
    folds = RunStore(result.run_dir).load_folds(4, "past")
    never = folds.ids[0] == -1
    assert never.any() and np.isnan(oof[never]).all() and not np.isnan(oof[~never]).any()
    test = RunStore(result.run_dir).read_predictions("lgbm", "test")["prediction"].to_numpy()
    assert (test > 0).all()  # predictions are back on the target's scale (expm1 of the log1p fit)


def test_a_failing_model_is_marked_failed_and_the_run_goes_on(demo_data: Path, tmp_path: Path) -> None:
    models = [
        *fast_models(("lightgbm",)),
        {  # valid params (so the check before any fit passes), but more neighbours than a fold has rows
            "name": "broken",
            "kind": "sklearn",
            "estimator": "sklearn.neighbors.KNeighborsClassifier",
            "params": {"n_neighbors": 100000},
        },
    ]
    result = run(_spec(demo_data, models=models), runs_root=tmp_path, progress=None)
    rows = {m.name: m for m in result.models}
    assert rows["lgbm"].status == "ok"
    assert rows["broken"].status == "failed" and "n_neighbors" in (rows["broken"].error or "")
    assert "FAILED" in result.leaderboard()


def test_run_folder_of_other_folds_is_not_overwritten(first_run, demo_data: Path) -> None:
    root, _ = first_run
    with pytest.raises(StoreError, match=r"holds folds made from other data or fold settings.*run.name"):
        run(_spec(demo_data, seed=7), runs_root=root, progress=None)


def test_corrupted_prediction_file_is_detected(demo_data: Path, tmp_path: Path) -> None:
    result = run(_spec(demo_data, models=fast_models(("lightgbm",))), runs_root=tmp_path, progress=None)
    fold = next(result.run_dir.glob("models/lgbm/*/folds/r0_f0"))
    res = FoldResult.from_json((fold / "result.json").read_text())
    arr = np.load(fold / "valid.npy")
    np.save(fold / "valid.npy", arr + 0.1)
    with pytest.raises(StoreError, match=r"does not match the checksum.*rerun `kaggle-kit run` to refit that fold"):
        RunStore(result.run_dir).read_fold_array(res, "valid.npy")


def test_every_run_is_recorded_in_the_history(first_run) -> None:
    from kaggle_kit.report import format_history, history_path

    root, _ = first_run
    assert history_path(root).is_file()
    assert "demo-breast-cancer" in format_history(history_path(root))


def test_a_fold_fit_time_leaves_out_the_first_import_of_its_library(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner imports an adapter's ``library`` before it times the fit: a time limit divides ``fit_seconds`` by
    the rounds or epochs, and ``import torch`` counted there had made RealMLP's 2-epoch sizing fold look several times
    too slow per epoch (cut from 12 epochs to 5 at a 40 s limit). A library that takes 0.6 s to import, imported by
    the adapter's own fit as the real ones do: fold 1's task pays it, no fold's fit does."""
    import importlib

    from kaggle_kit.models.lightgbm_adapter import LightGBMAdapter

    (tmp_path / "slow_library_for_kit_test.py").write_text("import time\ntime.sleep(0.6)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "slow_library_for_kit_test", raising=False)
    real_fit = LightGBMAdapter.fit

    def importing_fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        importlib.import_module("slow_library_for_kit_test")
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(LightGBMAdapter, "library", "slow_library_for_kit_test")
    monkeypatch.setattr(LightGBMAdapter, "fit", importing_fit)
    spec = _spec(demo_data, models=fast_models(("lightgbm",)))
    result = run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False)
    store = RunStore(result.run_dir)
    key = store.current_models()["lgbm"]
    folds = [store.finished("lgbm", key, 0, k) for k in range(spec.folds.n_splits)]
    assert spec.folds.n_repeats == 1 and all(f is not None for f in folds)
    assert max(f.fit_seconds for f in folds if f) < 0.4
    assert max(f.task_seconds for f in folds if f) >= 0.6  # the import was paid, outside the fit
