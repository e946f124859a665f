"""Test categories no training row has: one warning per run, from the whole train file (``readers/levels.py``),
and none from the folds, whose validation rows hold levels their training rows lack as K-fold CV always does."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.errors import DataWarning
from kaggle_kit.features.base import FeatureWarning
from kaggle_kit.predict.api import predict
from kaggle_kit.readers.levels import levels_missing_from_train, training_levels
from kaggle_kit.runtime.runner import run


def test_names_each_column_with_its_new_rows_levels_and_an_example() -> None:
    train = pl.DataFrame({"city": ["a", "b", None], "code": [1, 2, 3], "shop": ["x", "y", "x"]})
    test = pl.DataFrame({"city": ["a", "paris", "lyon", "paris", None], "code": [1, 2, 9, 3, 1], "shop": ["x"] * 5})
    message = levels_missing_from_train(train, test, ["city", "code", "shop"])
    assert message is not None
    assert message.startswith(
        "test rows hold categories that no training row has (column 'city': 3 row(s), 2 level(s) (e.g. 'paris'); "
        "column 'code': 1 row(s), 1 level(s) (e.g. '9')): "
    )
    assert "shop" not in message  # every test level is in train; a missing value is no new level


def test_the_recorded_training_levels_are_in_the_order_they_first_appear() -> None:
    """A run's levels.parquet lists each column's levels in their first row's order: unique() alone ordered 50,000
    levels by thread timing, a run folder's file differing between two runs of the same train file."""
    codes = np.random.default_rng(0).permutation(50_000)
    train = pl.DataFrame({"code": [f"c{v}" for v in codes for _ in range(2)]})
    assert training_levels(train, ["code"])["code"].to_list() == [f"c{v}" for v in codes]


def test_none_when_test_holds_only_training_levels_and_more_columns_are_counted() -> None:
    train = pl.DataFrame({f"c{i}": ["a", "b"] for i in range(8)})
    assert levels_missing_from_train(train, pl.DataFrame({"c0": ["b", "a", None]}), ["c0"]) is None
    message = levels_missing_from_train(train, pl.DataFrame({f"c{i}": ["z"] for i in range(8)}), list(train.columns))
    assert message is not None
    assert "column 'c4'" in message and "column 'c5'" not in message and "and 3 more column(s)" in message


def test_a_run_warns_once_of_test_levels_and_of_an_undeclared_keys_in_one_fold(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 200
    cities = np.array([f"c{i}" for i in range(8)])[rng.integers(0, 8, n)]
    zips = rng.integers(0, 5, n)  # a number used as a key: not categorical to the run, so not in its warning
    train = pl.DataFrame(
        {"id": range(n), "city": cities, "zip": zips, "x": rng.normal(size=n), "y": rng.integers(0, 2, n)}
    )
    test = pl.DataFrame(
        {
            "id": range(n, n + 6),
            "city": ["c0", "new1", "new2", "new1", "c3", "c9"],
            "zip": [0, 1, 100, 101, 2, 3],
            "x": [0.0] * 6,
        }
    )
    spec = build_spec(
        {
            "name": "levels",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 5},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "pipelines": {"te": {"steps": [{"step": "target_encode", "columns": ["city", "zip"]}]}},
            "models": [{"name": "lgbm", "kind": "lightgbm", "pipeline": "te", "num_boost_round": 5}],
        },
        base_dir=tmp_path,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(spec, runs_root=tmp_path / "runs", train=train, test=test, progress=None, record_history=False)
    said = [str(w.message) for w in caught if issubclass(w.category, DataWarning | FeatureWarning)]
    levels = [m for m in said if "categories" in m]
    assert levels == [
        "test rows hold categories that no training row has (column 'city': 4 row(s), 3 level(s) (e.g. 'new1')): "
        "no model learnt anything of them; each reads them as a level unseen in training (missing to the GBDTs, the "
        "training mean to a target encoding, a count of 0), as the CV's validation rows read the levels their folds "
        "lacked",
        # the fold's check on the test rows, for the key the run did not tell of: once (the first fold), not per fold
        "column 'zip': 2 row(s) hold categories not seen in the training rows (e.g. '100'); target_encode gives "
        "them the training mean",
    ]

    # predict on new rows with the finished run: the categorical columns' new levels told as the run told them,
    # against all the training rows (levels.parquet); the undeclared key by the fold models' pipeline, once
    new = test.with_columns(pl.Series("zip", [0, 1, 100, 555, 2, 3]), pl.Series("id", range(900, 906)))

    def predicted() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            predict(result.run_dir, new, model="lgbm", out=tmp_path / "new.csv")
        return [str(w.message) for w in caught if issubclass(w.category, DataWarning | FeatureWarning)]

    assert predicted() == [
        levels[0],  # the run's own words, for the same new levels
        "column 'zip': 2 row(s) hold categories not seen in the training rows (e.g. '100'); target_encode gives "
        "them the training mean",
    ]
    (result.run_dir / "levels.parquet").unlink()  # a run folder made before the levels were recorded
    assert predicted() == [
        "column 'city': 4 row(s) hold categories not seen in the training rows (e.g. 'new1'); target_encode gives "
        "them the training mean",
        "column 'zip': 2 row(s) hold categories not seen in the training rows (e.g. '100'); target_encode gives "
        "them the training mean",
    ]


def test_predict_tells_of_new_levels_for_a_model_without_a_pipeline_against_every_training_row(tmp_path: Path) -> None:
    """The base encoding reads a new level as missing and said nothing at predict; a fold's steps (which saw 80 % of
    the rows) would name a level only the other folds' training rows held. Told once, against all training rows."""
    rng = np.random.default_rng(1)
    n = 100
    shops = [f"s{i}" for i in range(n)]  # every level in one row: each fold's training rows lack 20 of them
    train = pl.DataFrame({"id": range(n), "shop": shops, "x": rng.normal(size=n), "y": rng.integers(0, 2, n)})
    spec = build_spec(
        {
            "name": "base",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 5},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [{"name": "lgbm", "kind": "lightgbm", "num_boost_round": 5}],
        },
        base_dir=tmp_path,
    )
    result = run(spec, runs_root=tmp_path / "runs", train=train, progress=None, record_history=False)
    known = pl.DataFrame({"id": [900, 901], "shop": ["s0", "s99"], "x": [0.0, 0.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every level is a training level: nothing to say
        predict(result.run_dir, known, model="lgbm")
    with pytest.warns(DataWarning, match=r"column 'shop': 2 row\(s\), 1 level\(s\) \(e.g. 'paris'\)"):
        predict(result.run_dir, known.with_columns(shop=pl.lit("paris")), model="lgbm")


def test_a_pool_worker_reading_the_data_again_does_not_scan_it_for_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repeated-row, date and level scans run in the process that runs the competition, not in every worker."""
    from kaggle_kit.readers import competition

    def scanned(*_: object) -> None:
        raise AssertionError("a worker scanned the data for warnings")

    train = pl.DataFrame({"id": range(20), "city": ["a", "b"] * 10, "y": [0, 1] * 10})
    test = pl.DataFrame({"id": range(20, 24), "city": ["a", "z", "b", "z"]})
    spec = build_spec(
        {
            "name": "w",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"},
            "models": [{"name": "lgbm", "kind": "lightgbm"}],
        }
    )
    for name in ("_warn_repeated_rows", "dates_outside_train", "levels_missing_from_train"):
        monkeypatch.setattr(competition, name, scanned)
    monkeypatch.setattr(competition.multiprocessing, "parent_process", lambda: object())
    competition.prepare_competition(spec, train, test)  # a worker: no scan
    monkeypatch.undo()
    monkeypatch.setattr(competition, "levels_missing_from_train", scanned)
    with pytest.raises(AssertionError, match="scanned"):  # the main process scans
        competition.prepare_competition(spec, train, test)
