"""Pseudo-labelling as a Kaggler leans on it: a multiclass target of strings (hard and soft labels) checked against
fits made here from the same rows; a round killed mid-way and resumed; the same seed giving the same OOF; a round
that fails; a threshold that takes no row; a 0-row test; `predict --refit` of a pseudo-labelled model."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.errors import ConfigError, DataError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter
from kaggle_kit.runtime.pseudo_rows import pseudo_path, read_pseudo_rows
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

N_TRAIN, N_TEST, THRESHOLD = 90, 400, 0.8
CLASSES = ("zeta", "alpha", "mid")  # not in sorted order: the class codes are the sorted labels' positions
FEATURES = ("x0", "x1", "x2")


def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(1)
    n = N_TRAIN + N_TEST
    x = rng.normal(size=(n, 3))
    label = np.array(CLASSES)[np.argmax(x @ rng.normal(size=(3, 3)), axis=1)]
    frame = pl.DataFrame({"id": np.arange(n), **{f: x[:, j] for j, f in enumerate(FEATURES)}, "target": label})
    return frame[:N_TRAIN], frame[N_TRAIN:].drop("target")


LGBM = {
    "name": "lgbm",
    "kind": "lightgbm",
    "params": {"num_leaves": 4, "min_data_in_leaf": 3},
    "num_boost_round": 30,
}


def _spec(pseudo: dict[str, Any] | None, name: str = "mc") -> Any:
    spec: dict[str, Any] = {
        "name": name,
        "task": "multiclass",
        "metric": "multi_logloss",
        "seed": 0,
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "target"},
        "folds": {"n_splits": 3},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "models": [
            {
                "name": "logreg",
                "kind": "sklearn",
                "estimator": "sklearn.linear_model.LogisticRegression",
                "params": {"max_iter": 500},
            },
            LGBM,
        ],
    }
    if pseudo is not None:
        spec["pseudo_label"] = pseudo
    return build_spec(spec)


def _run(root: Path, pseudo: dict[str, Any] | None, name: str = "mc", test: pl.DataFrame | None = None):
    train, test_ = _frames()
    return run(
        _spec(pseudo, name),
        runs_root=root,
        train=train,
        test=test_ if test is None else test,
        progress=None,
        record_history=False,
    )


def _oof(run_dir: Path, name: str) -> np.ndarray:
    return RunStore(run_dir).read_predictions(name, "oof").drop("id").to_numpy()


@pytest.mark.parametrize("soft", [False, True])
def test_multiclass_pseudo_folds_match_fits_made_here_from_the_same_rows(tmp_path: Path, soft: bool) -> None:
    """Each fold of ``lgbm@pl1`` is fitted here again, from the fold's training rows plus the test rows that the
    logistic regression fitted here on the same training rows only (so it never saw the fold's held-out rows) is
    sure of, labelled with the class code of the sorted labels: the kit's validation predictions must be these."""
    from sklearn.linear_model import LogisticRegression

    result = _run(tmp_path, {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"], "soft": soft})
    train, test = _frames()
    store = RunStore(result.run_dir)
    keys = store.current_models()
    folds = store.load_folds(3, "complement")
    assert folds is not None
    classes = sorted(CLASSES)
    y = np.array([classes.index(v) for v in train["target"]])
    X, X_test = train.select(FEATURES).to_numpy(), test.select(FEATURES).to_numpy()
    assert store.read_predictions("lgbm@pl1", "oof").columns == ["id", *(f"p_{c}" for c in classes)]
    ctx = FitContext("multiclass", 3, get_metric("multi_logloss"), 0, "cpu", 1)
    adapter = make_adapter(_spec(None).model("lgbm"))
    for r, k in folds.tasks():
        tr, va = folds.train_valid(r, k)
        source = LogisticRegression(max_iter=500).fit(X[tr], y[tr]).predict_proba(X_test)
        stored_source = store.read_fold_array(store.finished("logreg", keys["logreg"], r, k), "test.npy")  # type: ignore[arg-type]
        np.testing.assert_allclose(stored_source, source, atol=1e-5)  # the same fold's source, blind to `va`
        rows = np.flatnonzero(source.max(axis=1) >= THRESHOLD)
        assert 0 < len(rows) < N_TEST
        if soft:  # each row once per class, weighted by its probability
            row, cls = np.nonzero(source[rows] > 0)
            X_fit = np.vstack([X[tr], X_test[rows][row]])
            y_fit = np.concatenate([y[tr], cls])
            weight = np.concatenate([np.ones(len(tr)), source[rows][row, cls]])
        else:
            X_fit = np.vstack([X[tr], X_test[rows]])
            y_fit, weight = np.concatenate([y[tr], source[rows].argmax(axis=1)]), None
        matrix = FeatureMatrix(np.ascontiguousarray(X_fit, dtype=np.float32), FEATURES, ())
        valid = FeatureMatrix(np.ascontiguousarray(X[va], dtype=np.float32), FEATURES, ())
        from dataclasses import replace

        fitted = adapter.fit(matrix, y_fit, valid, y[va], replace(ctx, sample_weight=weight))
        folder = store.finished("lgbm@pl1", keys["lgbm@pl1"], r, k)
        assert folder is not None and folder.n_pseudo == len(rows) and folder.n_valid == len(va)
        np.testing.assert_allclose(
            store.read_fold_array(folder, "valid.npy"), adapter.predict(fitted, valid, ctx), atol=1e-5
        )


def test_a_killed_round_resumes_to_the_same_oof_and_a_fresh_run_repeats_it(tmp_path: Path) -> None:
    pseudo = {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"], "rounds": 2}
    first = _run(tmp_path / "a", pseudo)
    oofs = {m: _oof(first.run_dir, m) for m in ("lgbm@pl1", "lgbm@pl2")}
    store = RunStore(first.run_dir)
    keys = store.current_models()
    # killed in round 1 after its first fold, so round 2 never started: round 1's last two folds and all of round 2
    for r, k in [(0, 1), (0, 2)]:
        shutil.rmtree(store.fold_dir("lgbm@pl1", keys["lgbm@pl1"], r, k))
    shutil.rmtree(store.model_dir("lgbm@pl2", keys["lgbm@pl2"]))
    again = _run(tmp_path / "a", pseudo)
    assert again.fitted == 2 + 3 and again.reused == 9 + 1  # baseline, logreg, lgbm: 3 folds each; lgbm@pl1 fold 1
    for name, oof in oofs.items():
        np.testing.assert_array_equal(_oof(again.run_dir, name), oof)
    fresh = _run(tmp_path / "b", pseudo)  # the same seed in another folder: the same OOF
    for name, oof in oofs.items():
        np.testing.assert_array_equal(_oof(fresh.run_dir, name), oof)


def test_round_two_names_round_ones_model_as_its_label_source(tmp_path: Path) -> None:
    result = _run(tmp_path, {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"], "rounds": 2})
    records = {r["name"]: r for r in json.loads((result.run_dir / "pseudo.json").read_text())["pseudo_label"]}
    cv = {m.name: m.cv for m in result.models}
    assert (records["lgbm@pl1"]["source"], records["lgbm@pl1"]["source_cv"]) == ("logreg", cv["logreg"])
    # round 2 labels with lgbm@pl1's fold models: it said "labels from model 'logreg'" with logreg's CV
    assert (records["lgbm@pl2"]["source"], records["lgbm@pl2"]["source_cv"]) == ("lgbm@pl1", cv["lgbm@pl1"])
    line = next(n for n in result.notes if n.startswith("pseudo-labelling: lgbm@pl2"))
    assert "labels from round 1's 'lgbm@pl1'" in line and "logreg" not in line
    from kaggle_kit.report import collect_report

    assert line in collect_report(result.run_dir, adversarial=False).notes  # `kaggle-kit report` says the same


def test_a_failed_round_says_the_later_rounds_were_not_fitted_and_a_rerun_refits_only_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kaggle_kit.runtime import pseudo

    real = pseudo.fit_pseudo_fold

    def round_two_fails(ctx, task):  # a model that fails in round 2 (out of memory, a diverged net)
        if task.model.name == "lgbm@pl2":
            raise MemoryError("round 2 ran out of memory")
        return real(ctx, task)

    monkeypatch.setattr(pseudo, "fit_pseudo_fold", round_two_fails)
    spec = {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"], "rounds": 3}
    first = _run(tmp_path, spec)
    status = {m.name: m.status for m in first.models}
    assert status["lgbm@pl1"] == "ok" and status["lgbm@pl2"] == "failed" and "lgbm@pl3" not in status
    assert any(
        "stopped after round 2 of 3: 'lgbm@pl2' failed" in n and "round 3 was not fitted" in n for n in first.notes
    )
    monkeypatch.setattr(pseudo, "fit_pseudo_fold", real)
    again = _run(tmp_path, spec)
    assert again.fitted == 3 + 3  # round 2's and round 3's folds; round 1's are kept
    assert {m.name: m.status for m in again.models}["lgbm@pl3"] == "ok"


def test_a_threshold_that_takes_no_test_row_says_so(tmp_path: Path) -> None:
    result = _run(tmp_path, {"source": "logreg", "threshold": 0.999999, "models": ["lgbm"]})
    store = RunStore(result.run_dir)
    keys = store.current_models()
    top = max(
        store.read_fold_array(store.finished("logreg", keys["logreg"], 0, k), "test.npy").max()  # type: ignore[arg-type]
        for k in range(3)
    )
    line = next(n for n in result.notes if n.startswith("pseudo-labelling: lgbm@pl1"))
    assert "no test row reached pseudo_label.threshold = 0.999999 in any fold" in line
    said = float(re.search(r"the most confident had ([0-9.]+)\)", line).group(1))  # type: ignore[union-attr]
    assert said == pytest.approx(top, abs=1e-6) and said < 0.999999  # not rounded up to the threshold or past it
    assert "lower the threshold" in line
    assert "did not help" not in line  # it was called a result: "did not help (+0.00000)"


def test_a_test_table_without_rows_is_refused_before_anything_is_fitted(tmp_path: Path) -> None:
    _, test = _frames()
    # it went on: the sources predicted no row (a scikit-learn one failed on it), every round refitted its models on
    # their training rows alone, and a DataWarning called every feature column "empty in every test row"
    with pytest.raises(DataError, match=r"the test frame has columns but no rows; pass the test rows, or test=None"):
        _run(tmp_path, {"source": "lgbm", "threshold": THRESHOLD}, test=test[:0])
    assert not (tmp_path / "mc" / "models").exists()


def test_one_test_row_is_pseudo_labelled(tmp_path: Path) -> None:
    _, test = _frames()
    result = _run(tmp_path, {"source": "logreg", "threshold": 0.34, "models": ["lgbm"]}, test=test[:1])
    store = RunStore(result.run_dir)
    key = store.current_models()["lgbm@pl1"]
    assert [store.finished("lgbm@pl1", key, 0, k).n_pseudo for k in range(3)] == [1, 1, 1]  # type: ignore[union-attr]
    assert read_pseudo_rows(pseudo_path(store.model_dir("lgbm@pl1", key), 0, 0)).rows.tolist() == [0]


def test_predict_with_refit_refuses_a_pseudo_labelled_model_without_sending_the_user_round(tmp_path: Path) -> None:
    from kaggle_kit.blend import fit_blend
    from kaggle_kit.predict import predict, refit

    result = _run(tmp_path, {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"]})
    train, test = _frames()
    fit_blend(result.run_dir, "mean", models=["logreg", "lgbm@pl1"], name="mix")
    refit(result.run_dir, None, train=train, progress=None)
    # it said: run `kaggle-kit refit RUN --model lgbm@pl1` first, which refuses a pseudo-labelled model
    for how in ({"model": "lgbm@pl1"}, {"blend": "mix"}):
        with pytest.raises(ConfigError, match=r"'lgbm@pl1' is pseudo-labelled.*without --refit"):
            predict(result.run_dir, test, refit=True, **how)
    folds = predict(result.run_dir, test, blend="mix")  # with the fold models: the blend of the stored predictions
    stored = RunStore(result.run_dir)
    mean = (
        stored.read_predictions("logreg", "test").drop("id").to_numpy()
        + stored.read_predictions("lgbm@pl1", "test").drop("id").to_numpy()
    ) / 2
    np.testing.assert_allclose(folds.drop("id").to_numpy(), mean, atol=1e-5)


def test_a_calibrated_blend_source_labels_each_fold_with_a_calibration_fitted_on_its_training_rows_only(
    tmp_path: Path,
) -> None:
    """An isotonic map fitted on every OOF row steps at the labels of each fold's held-out rows, and decides which
    test rows it calls sure: a fold's pseudo labels must come from the map fitted on that fold's training rows."""
    from sklearn.isotonic import IsotonicRegression

    from kaggle_kit.blend import fit_blend

    first = _run(tmp_path, None)
    fit_blend(first.run_dir, "mean", models=["logreg", "lgbm"], name="iso", calibrate="isotonic")
    result = _run(tmp_path, {"source": "iso", "threshold": THRESHOLD, "models": ["lgbm"]})
    store = RunStore(result.run_dir)
    keys = store.current_models()
    folds = store.load_folds(3, "complement")
    assert folds is not None
    train, _ = _frames()
    y = np.array([sorted(CLASSES).index(v) for v in train["target"]])
    oof = (_oof(result.run_dir, "logreg") + _oof(result.run_dir, "lgbm")) / 2
    for r, k in folds.tasks():
        tr, _ = folds.train_valid(r, k)
        test = (
            sum(
                store.read_fold_array(store.finished(m, keys[m], r, k), "test.npy")  # type: ignore[arg-type]
                for m in ("logreg", "lgbm")
            )
            / 2
        )
        eps = 1 / (len(tr) + 2)
        mapped = np.column_stack(
            [
                IsotonicRegression(y_min=eps, y_max=1 - eps, out_of_bounds="clip")
                .fit(oof[tr, c], (y[tr] == c).astype(float))
                .predict(test[:, c])
                for c in range(3)
            ]
        )
        expected = mapped / mapped.sum(axis=1, keepdims=True)
        given = read_pseudo_rows(pseudo_path(store.model_dir("lgbm@pl1", keys["lgbm@pl1"]), r, k))
        np.testing.assert_array_equal(given.rows, np.flatnonzero(expected.max(axis=1) >= THRESHOLD))
        np.testing.assert_allclose(given.targets, expected[given.rows], atol=1e-5)


def test_only_keeps_the_stored_rounds_listed_while_their_sources_are_unchanged(tmp_path: Path) -> None:
    """``--only`` fits no pseudo-labelling round; it dropped every ``<model>@pl<r>`` from run.json, so the
    leaderboard, blends and submissions lost them (a stored blend of one could not be applied) until a full rerun."""
    from kaggle_kit.blend import fit_blend
    from kaggle_kit.predict import predict

    pseudo = {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"], "rounds": 2}
    first = _run(tmp_path, pseudo)
    keys = RunStore(first.run_dir).current_models()
    fit_blend(first.run_dir, "mean", models=["logreg", "lgbm@pl2"], name="mix")
    train, test = _frames()
    lines: list[str] = []
    again = run(_spec(pseudo), runs_root=tmp_path, train=train, test=test, progress=lines.append, only=["logreg"])
    assert again.fitted == 0
    assert RunStore(again.run_dir).current_models() == keys  # the pseudo-labelled models' keys too
    assert any("--only fits the models named" in n and "lgbm@pl1, lgbm@pl2 stay listed" in n for n in lines)
    predict(again.run_dir, test, blend="mix")  # the blend still applies
    # lgbm changed and refitted under --only: its pseudo-labelled models are of the old lgbm, and are not listed
    edited = _spec(pseudo).model_dump(mode="json", exclude={"base_dir"})
    edited["models"][1]["num_boost_round"] = 20
    third = run(build_spec(edited), runs_root=tmp_path, train=train, test=test, progress=None, only=["lgbm"])
    assert third.fitted == 3
    assert not any("@pl" in name for name in RunStore(third.run_dir).current_models())


def test_time_folds_first_fold_takes_no_label_it_holds_out_from_a_stacker_source(tmp_path: Path) -> None:
    """Time folds: the first fold trains on the never-validated first block, which has no OOF, so the stacker's nested
    CV fits no level-2 model for it. Its pseudo labels were the mean of the other folds' level-2 models, fitted on OOF
    rows that include this fold's held-out rows (their labels chose its pseudo rows); they are the plain mean of the
    stacked models' fold test predictions, which no label shaped."""
    from kaggle_kit.blend import fit_blend

    spec = _spec(None, "time").model_dump(mode="json", exclude={"base_dir"})
    spec["folds"] = {"strategy": "time", "n_splits": 3}
    train, test = _frames()
    first = run(build_spec(spec), runs_root=tmp_path, train=train, test=test, progress=None, record_history=False)
    stacked = fit_blend(first.run_dir, "stack", models=["logreg", "lgbm"], name="stk")
    assert (0, 0) not in stacked.folds  # nested CV fitted no level-2 model for the first fold
    spec["pseudo_label"] = {"source": "stk", "threshold": 0.6, "models": ["lgbm"]}
    result = run(build_spec(spec), runs_root=tmp_path, train=train, test=test, progress=None, record_history=False)
    store = RunStore(result.run_dir)
    keys = store.current_models()
    mean = (
        sum(
            store.read_fold_array(store.finished(m, keys[m], 0, 0), "test.npy")  # type: ignore[arg-type]
            for m in ("logreg", "lgbm")
        )
        / 2
    )
    given = read_pseudo_rows(pseudo_path(store.model_dir("lgbm@pl1", keys["lgbm@pl1"]), 0, 0))
    np.testing.assert_array_equal(given.rows, np.flatnonzero(mean.max(axis=1) >= 0.6))
    np.testing.assert_allclose(given.targets, mean[given.rows], atol=1e-5)


def test_a_time_limit_spent_by_the_models_fits_no_round(tmp_path: Path) -> None:
    """The rounds came after the time limit's fits with no limit of their own: a Kaggle notebook's run went on past
    the limit it was given (and its kernel's) for as long as the rounds took."""
    import time

    _run(tmp_path, None)  # the models' folds: reused below
    train, test = _frames()
    pseudo = {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"]}
    spec = _spec(pseudo)
    result = run(
        spec, runs_root=tmp_path, train=train, test=test, progress=None, time_limit=30, started=time.monotonic() - 29
    )
    assert result.fitted == 0 and "lgbm@pl1" not in {m.name for m in result.models}
    assert any(
        n.startswith("pseudo-labelling stopped before round 1 of 1: the time limit's fitting time is spent")
        and "longer --time-limit" in n
        for n in result.notes
    )
    again = _run(tmp_path, pseudo)  # without the limit: the round is fitted
    assert again.fitted == 3 and {m.name: m.status for m in again.models}["lgbm@pl1"] == "ok"


def test_a_source_that_failed_skips_the_rounds_saying_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kaggle_kit.runtime import runner

    real = runner.fit_fold

    def logreg_fails(ctx, task, *args):
        if task.model.name == "logreg":
            raise ValueError("singular matrix")
        return real(ctx, task, *args)

    monkeypatch.setattr(runner, "fit_fold", logreg_fails)  # one job: the folds fit in this process
    result = _run(tmp_path, {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"]})
    assert "lgbm@pl1" not in {m.name for m in result.models}
    note = next(n for n in result.notes if n.startswith("pseudo-labelling skipped"))
    # it said "its source 'logreg' has no finished folds in this run", also for one a time limit cut after some folds
    assert "its source did not finish in this run ('logreg': failed: ValueError: singular matrix" in note
    assert "once it is fixed" in note


def test_a_rank_blend_is_refused_as_the_source(tmp_path: Path) -> None:
    """A rank blend's output is a rank score in (0, 1]: ``max >= 0.8`` took the top and bottom fifths of the test rows
    by rank whatever the models' probabilities, labelled (or soft-labelled) with ranks, without a word."""
    from kaggle_kit.blend import fit_blend

    spec = _spec(None, "rank").model_dump(mode="json", exclude={"base_dir"})
    spec.update(task="binary", metric="roc_auc")
    train, test = _frames()
    train = train.with_columns((pl.col("target") == "zeta").cast(pl.Int64))
    first = run(build_spec(spec), runs_root=tmp_path, train=train, test=test, progress=None, record_history=False)
    fit_blend(first.run_dir, "rank", models=["logreg", "lgbm"], name="rk")
    spec["pseudo_label"] = {"source": "rk", "threshold": THRESHOLD, "models": ["lgbm"]}
    with pytest.raises(
        ConfigError, match=r"pseudo_label.source = 'rk' is a 'rank' blend, whose output is a rank score"
    ):
        run(build_spec(spec), runs_root=tmp_path, train=train, test=test, progress=None, record_history=False)
    assert not (first.run_dir / "models" / "lgbm@pl1").exists()  # refused before anything was fitted


def test_a_source_of_hard_votes_is_not_used(tmp_path: Path) -> None:
    """Under a label metric a classifier without predict_proba stores one-hot votes: every test row had probability
    1 and passed any threshold, so all of them were pseudo-labelled whatever `threshold` said."""
    spec = _spec(None, "votes").model_dump(mode="json", exclude={"base_dir"})
    spec["metric"] = "accuracy"
    spec["models"].append({"name": "ridge", "kind": "sklearn", "estimator": "sklearn.linear_model.RidgeClassifier"})
    spec["pseudo_label"] = {"source": "ridge", "threshold": 0.99, "models": ["lgbm"]}
    train, test = _frames()
    result = run(build_spec(spec), runs_root=tmp_path, train=train, test=test, progress=None, record_history=False)
    assert "lgbm@pl1" not in {m.name for m in result.models}
    assert any("pseudo-labelling skipped: model 'ridge' predicts hard votes" in n for n in result.notes)
    # refitted with pseudo labels, a classifier of votes labels round 2 with votes: the rounds stop there
    spec["pseudo_label"] = {"source": "logreg", "threshold": 0.9, "models": ["ridge"], "rounds": 2}
    result = run(build_spec(spec), runs_root=tmp_path, train=train, test=test, progress=None, record_history=False)
    assert {m.name: m.status for m in result.models}["ridge@pl1"] == "ok"
    assert "ridge@pl2" not in {m.name for m in result.models}
    assert any("stopped before round 2: round 1's 'ridge@pl1' predicts hard votes" in n for n in result.notes)


def test_a_blend_of_pseudo_labelled_models_as_the_source_says_what_to_do(tmp_path: Path) -> None:
    from kaggle_kit.blend import fit_blend

    pseudo = {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"]}
    first = _run(tmp_path, pseudo)
    fit_blend(first.run_dir, "mean", models=["logreg", "lgbm@pl1"], name="mix")
    # it said "blends 'lgbm@pl1', which are not models of the spec (imported predictions have no fold models ...)"
    with pytest.raises(ConfigError, match=r"blends pseudo-labelled model\(s\) 'lgbm@pl1'.*pseudo_label.rounds = 2"):
        _run(tmp_path, {**pseudo, "source": "mix"})


def test_a_weighted_blend_source_on_time_folds_is_fitted_on_each_folds_usable_training_rows(tmp_path: Path) -> None:
    """A nelder_mead blend source: fold ``k`` of time folds trains on the rows before its block, of which the first
    block has no OOF. Its labels are the blend fitted on the training rows that have OOF (taken here by hand from the
    fold ids), the weights applied to the held-out rows being the blend's own nested OOF there; the first fold, with no
    such row, labels with the plain mean. (Neither the stored weights, fitted on every OOF row, nor a fit on rows
    without OOF.)"""
    from kaggle_kit.blend import fit_blend
    from kaggle_kit.blend.base import Fitted
    from kaggle_kit.blend.registry import make_blender
    from kaggle_kit.blend.storage import read_blend_predictions

    spec = _spec(None, "tw").model_dump(mode="json", exclude={"base_dir"})
    spec["folds"] = {"strategy": "time", "n_splits": 3}
    train, test = _frames()
    first = run(build_spec(spec), runs_root=tmp_path, train=train, test=test, progress=None, record_history=False)
    blend = fit_blend(first.run_dir, "nelder_mead", models=["logreg", "lgbm"], name="nm")
    spec["pseudo_label"] = {"source": "nm", "threshold": 0.6, "models": ["lgbm"]}
    result = run(build_spec(spec), runs_root=tmp_path, train=train, test=test, progress=None, record_history=False)
    store = RunStore(result.run_dir)
    keys = store.current_models()
    ids = pl.read_parquet(result.run_dir / "folds.parquet")["fold_r0"].to_numpy()
    y = np.array([sorted(CLASSES).index(v) for v in train["target"]])
    oof = np.stack([_oof(result.run_dir, m) for m in ("logreg", "lgbm")])
    nested = read_blend_predictions(result.run_dir, "nm", "oof").drop("id").to_numpy()
    blender, metric = make_blender("nelder_mead", None), get_metric("multi_logloss")
    stored = Fitted(weights=np.asarray(blend.weights))
    differs = False
    for k in range(3):
        test_k = np.stack(
            [store.read_fold_array(store.finished(m, keys[m], 0, k), "test.npy") for m in ("logreg", "lgbm")]  # type: ignore[arg-type]
        ).astype(np.float64)
        rows = np.flatnonzero((ids < k) & np.isfinite(oof).all(axis=(0, 2)))  # before the fold's block, with OOF
        if k == 0:
            assert rows.size == 0
            expected = test_k.mean(axis=0)
        else:
            fitted = blender.fit(oof[:, rows], y[rows], metric, np.random.default_rng([0, 0, k]), ids[rows])
            held = np.flatnonzero(ids == k)
            np.testing.assert_allclose(blender.predict(fitted, oof[:, held]), nested[held], atol=1e-5)
            expected = blender.predict(fitted, test_k)
        given = read_pseudo_rows(pseudo_path(store.model_dir("lgbm@pl1", keys["lgbm@pl1"]), 0, k))
        np.testing.assert_array_equal(given.rows, np.flatnonzero(expected.max(axis=1) >= 0.6))
        np.testing.assert_allclose(given.targets, expected[given.rows], atol=1e-5)
        differs |= not np.allclose(blender.predict(stored, test_k), expected, atol=1e-4)
    assert differs  # the stored weights would have labelled otherwise: the test tells them apart


def test_only_keeps_no_round_whose_model_was_not_assembled(tmp_path: Path) -> None:
    """A run killed after round 2's folds but before its model was assembled (no summary.json): ``--only`` lists
    round 1 and not round 2, which has no CV to list (a full run assembles it from the stored folds)."""
    pseudo = {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"], "rounds": 2}
    first = _run(tmp_path, pseudo)
    store = RunStore(first.run_dir)
    keys = store.current_models()
    (store.model_dir("lgbm@pl2", keys["lgbm@pl2"]) / "summary.json").unlink()
    train, test = _frames()
    lines: list[str] = []
    again = run(_spec(pseudo), runs_root=tmp_path, train=train, test=test, progress=lines.append, only=["logreg"])
    listed = RunStore(again.run_dir).current_models()
    assert listed.get("lgbm@pl1") == keys["lgbm@pl1"] and "lgbm@pl2" not in listed
    assert any("--only fits the models named" in n and "lgbm@pl1 stay listed" in n for n in lines)


def test_a_round_starts_under_a_time_limit_only_while_the_time_left_exceeds_its_base_models_folds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Time is left (a 600 s limit, the models reused), but less than the base model's folds took: the round is not
    started; with their real (short) time it is fitted, under the same limit."""
    from dataclasses import replace

    from kaggle_kit.runtime import pseudo

    _run(tmp_path, None)  # the models' folds: reused below
    train, test = _frames()
    spec = _spec({"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"]})
    real = pseudo.run_pseudo

    def lgbm_took_long(session, plan, outcome, deadline=None):  # as if lgbm's folds had taken 1e6 s
        slow = tuple(replace(r, fit_seconds=1e6) if r.name == "lgbm" else r for r in outcome.results)
        return real(session, plan, replace(outcome, results=slow), deadline)

    monkeypatch.setattr(pseudo, "run_pseudo", lgbm_took_long)
    cut = run(spec, runs_root=tmp_path, train=train, test=test, progress=None, time_limit=600)
    assert "lgbm@pl1" not in {m.name for m in cut.models}
    note = next(n for n in cut.notes if n.startswith("pseudo-labelling stopped before round 1 of 1"))
    left = float(re.search(r"the time limit leaves (\d+) s to fit in", note).group(1))  # type: ignore[union-attr]
    assert 0 < left < 600 and "'lgbm', whose folds took 1000000 s" in note
    monkeypatch.setattr(pseudo, "run_pseudo", real)
    fitted = run(spec, runs_root=tmp_path, train=train, test=test, progress=None, time_limit=600)
    assert {m.name: m.status for m in fitted.models}["lgbm@pl1"] == "ok"


def _shortened_lgbm_run(root: Path, pseudo: dict[str, Any]) -> tuple[Any, Any]:
    """A run whose ``lgbm`` (30 rounds in the spec) is stored and listed at 10 rounds, as a time-limited run that cut
    it leaves it (run.json's ``time_limit.shortened``); the spec with ``pseudo``."""
    from kaggle_kit.runtime.search.budget import with_cap

    train, test = _frames()
    spec = _spec(pseudo)
    as_cut = spec.model_dump(mode="json", exclude={"base_dir"})
    as_cut["models"][1] = with_cap(spec.model("lgbm"), 10).model_dump(mode="json", exclude_defaults=True)
    del as_cut["pseudo_label"]
    first = run(build_spec(as_cut), runs_root=root, train=train, test=test, progress=None, record_history=False)
    meta = json.loads((first.run_dir / "run.json").read_text())
    meta["time_limit"] = {"limit_s": 30, "shortened": {"lgbm": {"from": 30, "to": 10}}, "incomplete": []}
    (first.run_dir / "run.json").write_text(json.dumps(meta))
    return first, spec


def test_a_source_a_time_limit_shortened_labels_as_the_run_lists_it(tmp_path: Path) -> None:
    """An earlier time-limited run shortened the source (``lgbm``: 30 -> 10 rounds, another key) and the next one
    resumed it at 10: the run lists that ``lgbm``, and its fold models label. The rounds looked for the folds of the
    spec's 30-round ``lgbm``: `model 'lgbm' has no finished fold r0_f0 to pseudo-label with; run again`, after every
    fit, at every rerun (or, where a full-size lgbm had been fitted before, its folds labelled without a word)."""
    first, spec = _shortened_lgbm_run(tmp_path, {"source": "lgbm", "threshold": 0.6, "models": ["logreg"]})
    train, test = _frames()
    result = run(spec, runs_root=tmp_path, train=train, test=test, progress=None, time_limit=600)
    store = RunStore(result.run_dir)
    keys = store.current_models()
    assert keys["lgbm"] == {m.name: m.key for m in first.models}["lgbm"]  # the 10-round lgbm, resumed
    assert {m.name: m.status for m in result.models}["logreg@pl1"] == "ok"
    for k in range(3):
        source = store.read_fold_array(store.finished("lgbm", keys["lgbm"], 0, k), "test.npy")  # type: ignore[arg-type]
        given = read_pseudo_rows(pseudo_path(store.model_dir("logreg@pl1", keys["logreg@pl1"]), 0, k))
        np.testing.assert_array_equal(given.rows, np.flatnonzero(source.max(axis=1) >= 0.6))
    lines: list[str] = []  # --only keeps the round listed: its source is the lgbm the run lists
    again = run(spec, runs_root=tmp_path, train=train, test=test, progress=lines.append, only=["logreg"])
    assert RunStore(again.run_dir).current_models()["logreg@pl1"] == keys["logreg@pl1"]
    assert any("logreg@pl1 stay listed" in n for n in lines)


def test_a_blend_of_a_source_a_time_limit_shortened_labels(tmp_path: Path) -> None:
    """A blend of the shortened ``lgbm`` (as the run lists it) is no stale source: it was refused with `was blended
    from other versions of 'lgbm' than this spec fits; run, then blend again, then run again`, at every rerun. Where
    the run fits another version after all (the shortened one's folds gone), the rounds are skipped with a note."""
    from kaggle_kit.blend import fit_blend

    first, spec = _shortened_lgbm_run(tmp_path, {"source": "nm", "threshold": 0.6, "models": ["logreg"]})
    fit_blend(first.run_dir, "nelder_mead", models=["logreg", "lgbm"], name="nm")
    train, test = _frames()
    result = run(spec, runs_root=tmp_path, train=train, test=test, progress=None, time_limit=600)
    assert {m.name: m.status for m in result.models}["logreg@pl1"] == "ok"
    store = RunStore(result.run_dir)
    shutil.rmtree(store.model_dir("lgbm", store.current_models()["lgbm"]))  # the 30-round lgbm is fitted now
    again = run(spec, runs_root=tmp_path, train=train, test=test, progress=None, time_limit=600)
    assert "logreg@pl1" not in {m.name for m in again.models}
    note = next(n for n in again.notes if n.startswith("pseudo-labelling skipped"))
    assert "blend 'nm', was blended from other versions of 'lgbm' than this run fitted; blend again" in note


def test_a_base_model_a_time_limit_shortened_is_refitted_at_that_size(tmp_path: Path) -> None:
    """``lgbm`` is listed at the 10 rounds a time limit cut it to: ``lgbm@pl1`` is fitted at 10 rounds too (beside
    the base it is compared with). It was fitted at the spec's full size, which the time limit could not afford, and
    the round's time was foretold from the shortened folds' time."""
    _, spec = _shortened_lgbm_run(tmp_path, {"source": "logreg", "threshold": 0.6, "models": ["lgbm"]})
    train, test = _frames()
    result = run(spec, runs_root=tmp_path, train=train, test=test, progress=None, time_limit=600)
    rounds = {m.name: m.best_iteration for m in result.models}
    assert rounds["lgbm"] is not None and rounds["lgbm"] <= 10
    assert rounds["lgbm@pl1"] is not None and rounds["lgbm@pl1"] <= 10


def test_a_round_runs_with_the_runs_deadline_and_a_fold_running_then_is_stopped_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rounds ran their folds with no deadline (only the up-front check of the time left), so a round could run
    past the limit. Now a round's fold still running at the deadline is stopped (here: one that never ends, so what
    is asserted is what was stopped, not seconds): nothing of it is stored, the model is incomplete (not ranked nor
    blended), the later round is not fitted, and a rerun fits the round."""
    import time

    from kaggle_kit.runtime import pseudo

    train, test = _frames()
    # the models' folds (and the time limit's sizing folds): reused below, so the round's are the pool's only tasks
    run(_spec(None), runs_root=tmp_path, train=train, test=test, progress=None, time_limit=600)
    spec = _spec({"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"], "rounds": 2})
    real = pseudo.run_pseudo

    def three_seconds_left(session, plan, outcome, deadline=None):  # the base folds took no time: the round starts
        quick = tuple(replace(r, fit_seconds=0.0) for r in outcome.results)
        return real(session, plan, replace(outcome, results=quick), time.monotonic() + 3)

    monkeypatch.setattr(pseudo, "run_pseudo", three_seconds_left)
    monkeypatch.setenv("KAGGLE_KIT_FAULT", "fold-files:1:hang")  # read by the workers this run spawns
    cut = run(spec, runs_root=tmp_path, train=train, test=test, progress=None, time_limit=600)
    status = {m.name: m.status for m in cut.models}
    assert status["lgbm@pl1"] == "incomplete" and "lgbm@pl2" not in status
    key = next(m.key for m in cut.models if m.name == "lgbm@pl1")
    store = RunStore(cut.run_dir)
    assert all(store.finished("lgbm@pl1", key, 0, k) is None for k in range(3))
    assert not list(store.model_dir("lgbm@pl1", key).glob("folds/.*.tmp"))  # the stopped fold's temporary folder
    assert any(
        n.startswith("pseudo-labelling stopped in round 1 of 2: the time limit ended the fits") for n in cut.notes
    )
    monkeypatch.delenv("KAGGLE_KIT_FAULT")
    monkeypatch.setattr(pseudo, "run_pseudo", real)
    again = run(spec, runs_root=tmp_path, train=train, test=test, progress=None, time_limit=600)  # in the run's pool
    assert {m.name: m.status for m in again.models}["lgbm@pl2"] == "ok"
    keys = {m.name: m.key for m in again.models}
    assert all(store.finished("lgbm@pl1", keys["lgbm@pl1"], 0, k).n_pseudo > 0 for k in range(3))  # type: ignore[union-attr]
    plain = _run(tmp_path / "plain", {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"], "rounds": 2})
    for name in ("lgbm@pl1", "lgbm@pl2"):  # the pool's round fitted as a round without a limit fits it
        np.testing.assert_array_equal(_oof(again.run_dir, name), _oof(plain.run_dir, name))
