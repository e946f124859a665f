"""What the public Python API hands back to a notebook: a submission to look at, frames of the kind given, and the
warnings of folds fitted in worker processes.

``write_submission`` returned a bare path (the frame written was read back by hand), ``predict`` returned a polars
frame to a caller who gave it a pandas one, and a worker's warnings never reached a Python caller.
"""

from __future__ import annotations

import copy
import os
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

import kaggle_kit
from kaggle_kit.config import CompetitionSpec, build_spec
from kaggle_kit.errors import ConfigError, DataWarning, KitError
from kaggle_kit.features.base import FeatureWarning
from kaggle_kit.runtime.relay import recording, relayed_by, warn_again
from kaggle_kit.runtime.runner import run
from kaggle_kit.submit import Submission


def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(5)
    n = 60
    x = rng.normal(size=(n, 2))
    frame = pl.DataFrame({"id": np.arange(100, 100 + n), "a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] > 0).astype(int)})
    return frame[:45], frame[45:].drop("y")


def _spec(tmp_path: Path) -> CompetitionSpec:
    return build_spec(
        {
            "name": "api",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [{"name": "logreg", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}],
        },
        base_dir=tmp_path,
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    tmp_path = tmp_path_factory.mktemp("api")
    train, test = _frames()
    result = run(_spec(tmp_path), train=train, test=test, runs_root=tmp_path / "runs", progress=None,
                 record_history=False)  # fmt: skip
    return result.run_dir, test


def test_write_submission_returns_the_frame_written_and_stands_for_its_path(
    finished: tuple[Path, pl.DataFrame], tmp_path: Path
) -> None:
    run_dir, test = finished
    sub = kaggle_kit.write_submission(run_dir, "logreg", out=tmp_path / "submission.csv")
    assert isinstance(sub, kaggle_kit.Submission) and (sub.kind, sub.source) == ("model", "logreg")
    assert kaggle_kit.Submission is Submission and set(kaggle_kit.__all__) == set(kaggle_kit._PUBLIC)
    assert sub.path == tmp_path / "submission.csv"
    written = pl.read_csv(sub.path)
    assert sub.frame.columns == written.columns == ["id", "y", "0", "1"]  # the file's, not the store's p_0, p_1
    assert sub.frame["id"].to_list() == written["id"].to_list() == test["id"].to_list()
    assert np.allclose(sub.frame["y"].to_numpy(), written["y"].to_numpy(), atol=1e-6)
    # it is still the path it returned before: wherever a path is taken, with a Path's attributes
    assert isinstance(sub, Path) and sub == tmp_path / "submission.csv" and type(sub.path) is type(Path())
    assert pl.read_csv(sub).equals(written) and pd.read_csv(sub).shape == (test.height, 4)
    assert os.fspath(sub) == str(sub) == str(tmp_path / "submission.csv")
    assert sub.is_file() and sub.name == "submission.csv" and sub.parent == tmp_path and sub.parent.frame is None
    assert "submission.csv" in repr(sub) and f"{test.height} row(s)" in repr(sub)
    assert "<table" in sub._repr_html_()  # a notebook cell ending in it shows the frame
    # pickled (a cache, a process pool) or copied, it keeps what it holds (PurePath's __reduce__ kept the path only)
    for again in (pickle.loads(pickle.dumps(sub)), copy.copy(sub), copy.deepcopy(sub)):
        assert type(again) is Submission and again == sub and (again.kind, again.source) == ("model", "logreg")
        assert again.frame is not None and again.frame.equals(sub.frame)
    assert pickle.loads(pickle.dumps(sub.parent)).frame is None
    # the file given where the model's name goes (the second argument): TypeError: expected string, got 'PosixPath'
    with pytest.raises(KitError, match=r"model= takes the name of a model of the run \(a str, as on the leaderboard\); "
                       r"got PosixPath '.*other.csv': the file to write is out="):  # fmt: skip
        kaggle_kit.write_submission(run_dir, tmp_path / "other.csv")


def test_predict_hands_a_pandas_caller_pandas_back(finished: tuple[Path, pl.DataFrame]) -> None:
    run_dir, test = finished
    ours = kaggle_kit.predict(run_dir, test, model="logreg")
    assert isinstance(ours, pl.DataFrame)
    theirs = kaggle_kit.predict(run_dir, test.to_pandas(), model="logreg")
    assert isinstance(theirs, pd.DataFrame) and list(theirs.columns) == ours.columns
    assert np.allclose(theirs.to_numpy(), ours.to_numpy())
    indexed = kaggle_kit.predict(run_dir, test.to_pandas().set_index("id"), model="logreg")  # the id as its index
    assert isinstance(indexed, pd.DataFrame) and indexed.index.name == "id"
    assert indexed.index.to_list() == test["id"].to_list() and list(indexed.columns) == ours.columns[1:]
    # a slice of the test rows (its index 5, 6, ...): the predictions keep its index, so that pandas' assignment,
    # which aligns on the index, puts each row's beside its own (a fresh 0, 1, ... index: 5 NaN and the rest shifted)
    part = test.to_pandas().iloc[5:].copy()
    sliced = kaggle_kit.predict(run_dir, part, model="logreg")
    assert sliced.index.equals(part.index) and sliced["id"].to_list() == part["id"].to_list()
    part["p"] = sliced["p_1"]
    assert np.allclose(part["p"].to_numpy(), ours["p_1"].to_numpy()[5:])


def test_a_fold_warning_of_a_worker_process_reaches_a_python_caller_once(tmp_path: Path) -> None:
    """n_jobs = 2: the folds are fitted in worker processes, whose warnings went to their own standard error (the
    CLI printed them there); a script's or notebook's caller caught none of them."""
    train, test = _frames()
    train, test = train.with_columns(c=pl.lit(1.0)), test.with_columns(c=pl.lit(1.0))
    raw = _spec(tmp_path).model_dump(mode="json", exclude_none=True)
    raw["run"] = {"n_jobs": 2, "threads_per_task": 1}
    raw["pipelines"] = {"scaled": {"steps": [{"step": "standardize", "columns": "numeric"}]}}
    raw["models"][0]["pipeline"] = "scaled"
    spec = build_spec(raw, base_dir=tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every one said: each fold's warning would show, were it warned per fold
        result = run(spec, train=train, test=test, runs_root=tmp_path / "runs", progress=None, record_history=False)
    assert result.fitted == 6  # the logreg's and the baseline's 3 folds, in the workers
    said = [w for w in caught if "column 'c' is constant in the training rows" in str(w.message)]
    assert len(said) == 1 and said[0].category is FeatureWarning  # its own class, as in the worker


def _warning_spec(tmp_path: Path, **params: object) -> CompetitionSpec:
    """Folds in 2 worker processes, each warning of the constant column 'c' (standardize); ``params``: the model's."""
    raw = _spec(tmp_path).model_dump(mode="json", exclude_none=True)
    raw["run"] = {"n_jobs": 2, "threads_per_task": 1}
    raw["pipelines"] = {"scaled": {"steps": [{"step": "standardize", "columns": "numeric"}]}}
    raw["models"][0] |= {"pipeline": "scaled", "params": params}
    return build_spec(raw, base_dir=tmp_path)


def _constant_c() -> tuple[pl.DataFrame, pl.DataFrame]:
    train, test = _frames()
    return train.with_columns(c=pl.lit(1.0)), test.with_columns(c=pl.lit(1.0))


def test_a_relayed_warning_under_an_error_filter_does_not_end_the_run(tmp_path: Path) -> None:
    """simplefilter("error") (pytest -W error): the worker's fold was fitted and stored, and warning it again raised
    FeatureWarning in the middle of the pool's loop: the run ended, the other worker's fold was killed, and the next
    run fitted 2 folds again. It is shown (recorded here) instead; every fold is kept."""
    train, test = _constant_c()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        result = run(_warning_spec(tmp_path), train=train, test=test, runs_root=tmp_path / "runs", progress=None,
                     record_history=False)  # fmt: skip
    assert result.fitted == 6 and [m.status for m in result.models] == ["ok", "ok"]
    said = [w for w in caught if "column 'c' is constant in the training rows" in str(w.message)]
    assert len(said) == 1 and said[0].category is FeatureWarning


def test_the_warnings_of_a_failed_fold_in_a_worker_reach_the_caller(tmp_path: Path) -> None:
    """A fold that warned and then failed in a worker: its warnings were dropped with its result (they may say why
    it failed); a fold fitted in this process shows them before its failure."""
    train, test = _constant_c()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = _warning_spec(tmp_path, solver="newton-cg", penalty="l1")  # no l1 for newton-cg: a ValueError in fit
        result = run(spec, train=train, test=test, runs_root=tmp_path / "runs", progress=None, record_history=False)
    assert {m.name: m.status for m in result.models} == {"logreg": "failed", "baseline": "ok"}
    said = [w for w in caught if "column 'c' is constant in the training rows" in str(w.message)]
    assert len(said) == 1 and said[0].category is FeatureWarning


def test_warn_again_under_an_error_filter_shows_the_warning() -> None:
    seen: set[tuple[str, str]] = set()
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("error")
        warn_again((("kaggle_kit.errors:DataWarning", "a"),), seen)  # raised DataWarning
    assert [(w.category, str(w.message)) for w in again] == [(DataWarning, "a")]

    def fails() -> None:
        warnings.warn("b", DataWarning, stacklevel=1)
        raise ValueError("no")

    with pytest.raises(ValueError, match="no") as info:
        recording(fails)
    assert relayed_by(info.value) == (("kaggle_kit.errors:DataWarning", "b"),) and relayed_by(None) == ()


def test_relayed_warnings_keep_their_category_and_are_said_once() -> None:
    def fit() -> int:
        warnings.warn("a", DataWarning, stacklevel=1)
        warnings.warn("a", DataWarning, stacklevel=1)
        warnings.warn("b", RuntimeWarning, stacklevel=1)
        return 7

    value, caught = recording(fit)
    assert value == 7 and caught == (("kaggle_kit.errors:DataWarning", "a"), ("builtins:RuntimeWarning", "b"))
    seen: set[tuple[str, str]] = set()
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        warn_again(caught, seen)
        warn_again((*caught, ("no.such.module:Gone", "c")), seen)  # another fold's: only the new one
    said = [(w.category, str(w.message)) for w in again]
    assert said == [(DataWarning, "a"), (RuntimeWarning, "b"), (UserWarning, "c")]


def test_run_and_load_competition_take_a_configs_path(tmp_path: Path) -> None:
    """`kaggle-kit run CONFIG` takes the TOML's path; run("competitions/x.toml") met AttributeError: 'str' object has
    no attribute 'models' (load_competition: 'kaggle')."""
    train, test = _frames()
    train.write_csv(tmp_path / "train.csv")
    test.write_csv(tmp_path / "test.csv")
    config = tmp_path / "api.toml"
    config.write_text(_spec(tmp_path).to_toml())
    assert kaggle_kit.load_competition(str(config)).train.height == train.height
    result = kaggle_kit.run(config, runs_root=tmp_path / "runs", progress=None, record_history=False, only="logreg")
    assert result.run_dir == tmp_path / "runs" / "api" and result.fitted == 6
    with pytest.raises(ConfigError, match=r"the spec must be a CompetitionSpec or the path of a competition TOML "
                       r"file; got dict \(build_spec\(d, base_dir=...\) makes one of a dict\)"):  # fmt: skip
        kaggle_kit.run({"name": "api"})


def test_fit_blend_of_an_unknown_method_names_the_methods(finished: tuple[Path, pl.DataFrame]) -> None:
    """fit_blend(run_dir, "nope") met `KeyError: 'nope'` in the blenders' registry (blend_report said it clearly)."""
    with pytest.raises(ConfigError, match=r"unknown blend method 'nope'; allowed: .*'nelder_mead'"):
        kaggle_kit.fit_blend(finished[0], "nope")


def test_model_names_in_a_str_are_names_not_letters(finished: tuple[Path, pl.DataFrame], tmp_path: Path) -> None:
    """refit(run_dir, "logreg") said `no finished model named 'l'`: the str was read letter by letter (so were
    fit_blend's and blend_report's models=, and run's only=); one name, or several comma-separated, as the CLI."""
    from kaggle_kit.predict import refit

    run_dir = tmp_path / "run"
    shutil.copytree(finished[0], run_dir)  # refit writes into the run folder: not into the shared one
    (done,) = refit(run_dir, "logreg", train=_frames()[0], progress=None)
    assert done.model == "logreg"
    blend = kaggle_kit.fit_blend(run_dir, "mean", models="logreg, baseline", save=False)
    assert blend.models == ("logreg", "baseline")
    report = kaggle_kit.blend_report(run_dir, "mean", models="logreg,baseline", save=False)
    assert report.blends[0].models == ("logreg", "baseline")
    grouped = kaggle_kit.blend_report(run_dir, "mean", groups={"both": "logreg,baseline"}, save=False)
    assert grouped.groups == {"both": ("logreg", "baseline")}  # a group's str: its names too
