"""``refit(run_dir, train=...)`` on training rows given anew (a file or frame): the run's models refit on the run's
columns, in the run's order, of the run's labels; and a run folder of another kaggle_kit version. One small run (a
feature pipeline with group aggregates and target encoding) built once for the module."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import kaggle_kit
from kaggle_kit.blend import fit_blend
from kaggle_kit.config import build_spec
from kaggle_kit.errors import ConfigError, DataError, DataWarning, StoreError
from kaggle_kit.predict import refit
from kaggle_kit.predict.blends import _rank_against
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import FORMAT_VERSION

STEPS = [
    {"step": "group_aggregate", "by": "store", "columns": ["x1"], "stats": ["mean", "std"]},
    {"step": "target_encode", "columns": ["store"], "cv": 2},
]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    comp = tmp_path_factory.mktemp("refit_train")
    rng = np.random.default_rng(0)
    n = 300
    store = rng.choice(["s1", "s2", "s3", "s4"], n)
    x1, x2 = rng.normal(size=n), rng.integers(0, 10, n)
    y = ((x1 + (store == "s2") + 0.1 * x2 + rng.normal(size=n) * 0.5) > 0.7).astype(int)
    frame = pl.DataFrame({"id": np.arange(5000, 5000 + n), "x1": x1, "x2": x2, "store": store, "target": y})
    frame[:200].write_csv(comp / "train.csv")
    frame[200:].drop("target").write_csv(comp / "test.csv")
    spec = build_spec(
        {
            "name": "refit-train",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "target"},
            "folds": {"n_splits": 2},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "pipelines": {"fe": {"steps": STEPS}},
            "models": [
                {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 30, "early_stopping_rounds": 5,
                 "pipeline": "fe", "params": {"num_leaves": 7, "min_data_in_leaf": 5, "learning_rate": 0.2}},
                {"name": "linear", "kind": "linear"},
            ],
        },
        base_dir=comp,
    )  # fmt: skip
    result = run(spec, runs_root=comp / "runs", progress=None, record_history=False)
    assert all(m.status == "ok" for m in result.models), [(m.name, m.error) for m in result.models]
    yield {"run": result.run_dir, "comp": comp}


def _refit_predictions(run_dir: Path, comp: Path, **kw) -> pl.DataFrame:
    refit(run_dir, ["lgbm", "linear"], progress=None, **kw)
    test = comp / "test.csv"
    return pl.concat(
        [
            kaggle_kit.predict(run_dir, test, model=m, refit=True, threads=1).select(pl.all().name.prefix(f"{m}_"))
            for m in ("lgbm", "linear")
        ],
        how="horizontal",
    )


def test_a_train_of_other_column_order_and_an_extra_column_refits_the_runs_model(
    made: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(made["run"], run_dir)
    own = _refit_predictions(run_dir, made["comp"])  # from the run's own train file
    train = pl.read_csv(made["comp"] / "train.csv")
    reordered = train.select(list(reversed(train.columns)))
    # the lgbm had been fitted on the columns in the file's order: 0.3 off the refit from the run's file
    assert _refit_predictions(run_dir, made["comp"], train=reordered).equals(own)
    with pytest.warns(DataWarning, match=r"column\(s\) 'extra' that are no feature of the run: left out"):
        again = _refit_predictions(run_dir, made["comp"], train=reordered.with_columns(pl.lit(3.0).alias("extra")))
    assert again.equals(own)  # it was fitted with 'extra', and the new rows (checked without it) then refused


def test_a_train_without_a_feature_column_is_refused_naming_it(made: dict[str, Path], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(made["run"], run_dir)
    path = tmp_path / "train_no_x2.csv"
    pl.read_csv(made["comp"] / "train.csv").drop("x2").write_csv(path)
    with pytest.raises(DataError, match=r"lack feature column\(s\) 'x2' that the run's models were trained on"):
        refit(run_dir, ["linear"], train=path, progress=None)  # it refit a model without x2, without a word


def test_a_train_of_other_labels_is_refused_and_labels_written_as_floats_are_the_runs(
    made: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(made["run"], run_dir)
    train = pl.read_csv(made["comp"] / "train.csv")
    with pytest.raises(DataError, match=r"target labels \['1', '2'\], but the run's models predict the classes"):
        refit(run_dir, ["linear"], train=train.with_columns(pl.col("target") + 1), progress=None)
    # P(2) had been written under p_1 and P(1) under p_0, without a word; 0.0 / 1.0 are the run's 0 / 1
    own = _refit_predictions(run_dir, made["comp"])
    floats = _refit_predictions(run_dir, made["comp"], train=train.with_columns(pl.col("target").cast(pl.Float64)))
    assert floats.equals(own)


def _edited_copy(made: dict[str, Path], tmp_path: Path, **meta: object) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(made["run"], run_dir)
    record = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**record, **meta}))
    return run_dir


def test_a_run_folder_of_a_newer_format_is_refused_naming_the_version(made: dict[str, Path], tmp_path: Path) -> None:
    run_dir = _edited_copy(made, tmp_path, format_version=FORMAT_VERSION + 1, kit_version="9.0.0")
    with pytest.raises(
        StoreError, match=r"run folder format 2 by kaggle_kit 9\.0\.0; this kaggle_kit .* reads format 1"
    ):
        kaggle_kit.predict(run_dir, made["comp"] / "test.csv", model="linear")  # it was read as format 1


def test_a_spec_of_another_kit_version_names_both_versions(made: dict[str, Path], tmp_path: Path) -> None:
    run_dir = _edited_copy(made, tmp_path)
    spec = run_dir / "spec.toml"
    spec.write_text(spec.read_text().replace("[data]\n", "[data]\nthousands_sep = ','\n"))
    test = made["comp"] / "test.csv"
    with pytest.raises(ConfigError, match=r"unknown key 'data.thousands_sep'") as same:
        kaggle_kit.predict(run_dir, test, model="linear")  # this version's own spec: the key is the message
    assert "made by kaggle_kit" not in str(same.value)
    record = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**record, "kit_version": "9.0.0"}))
    with pytest.raises(StoreError, match=r"(?s)thousands_sep.*made by kaggle_kit 9\.0\.0, and this is kaggle_kit"):
        kaggle_kit.predict(run_dir, test, model="linear")


def test_a_rank_blend_of_a_run_without_test_rows_says_it_ranks_among_the_rows_given(
    made: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(made["run"], run_dir)
    fit_blend(run_dir, "rank")
    test = pl.read_csv(made["comp"] / "test.csv")
    whole = kaggle_kit.predict(run_dir, test, blend="rank", threads=1)  # ranked among the run's test rows
    assert kaggle_kit.predict(run_dir, test[:3], blend="rank", threads=1).equals(whole[:3])
    record = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**record, "n_test": 0}))  # as a run made without data.test
    with pytest.warns(DataWarning, match=r"ranks each model's predictions among the rows given \(the run had no"):
        got = kaggle_kit.predict(run_dir, test[:3], blend="rank", threads=1)
    assert got["p_1"].max() == pytest.approx(1.0)  # the best of three rows, whatever its score among the others


@pytest.mark.parametrize("made_as", [{"format_version": 0}, {"format_version": None}])
def test_a_run_folder_of_an_older_format_or_none_recorded_is_read_as_before(
    made: dict[str, Path], tmp_path: Path, made_as: dict[str, object]
) -> None:
    run_dir = _edited_copy(made, tmp_path, **made_as)
    if made_as["format_version"] is None:  # a run.json written before it recorded its format
        record = json.loads((run_dir / "run.json").read_text())
        (run_dir / "run.json").write_text(json.dumps({k: v for k, v in record.items() if k != "format_version"}))
    test = made["comp"] / "test.csv"
    want = kaggle_kit.predict(made["run"], test, model="linear", threads=1)
    assert kaggle_kit.predict(run_dir, test, model="linear", threads=1).equals(want)


def test_a_rank_blend_scores_a_row_above_every_stored_test_prediction_within_0_1() -> None:
    stored = np.array([0.1, 0.4, 0.4, 0.9], dtype=np.float32)
    reference = np.stack([1 - stored, stored], axis=1)[None]
    new = np.array([0.95, 0.05, 0.4, 0.9], dtype=np.float32)
    got = _rank_against(np.ones(1), np.stack([1 - new, new], axis=1)[None], reference)
    # above the stored maximum: ranked as it (4 / 4), not 4.5 / 4, whose pair's other class had scored -0.125
    np.testing.assert_array_equal(got[:, 1], np.float32([1.0, 0.5 / 4, 2.5 / 4, 1.0]))
    np.testing.assert_array_equal(got[:, 0], 1 - got[:, 1])


def test_a_rank_blend_tells_tiny_predictions_apart_whatever_their_scale() -> None:
    stored = np.array([1e-10, 3e-10, 5e-10, 9e-10], dtype=np.float32)[None, :, None]
    new = np.array([4.4e-10, 5e-10 * (1 + 2e-7)], dtype=np.float32)[None, :, None]  # one between, one jittered
    got = _rank_against(np.ones(1), new, stored)
    # 4.4e-10 had been taken as 5e-10 (within an absolute 1e-9 of it): ranked 3 / 4 instead of 2.5 / 4
    np.testing.assert_array_equal(got[:, 0], np.float32([2.5 / 4, 3 / 4]))


def test_a_train_with_a_numeric_feature_read_as_text_is_refused_naming_it(
    made: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(made["run"], run_dir)
    train = pl.read_csv(made["comp"] / "train.csv")
    text = train.with_columns(pl.col("x2").cast(pl.String).replace({"3": "three"}))  # a frame: no reader's check
    with pytest.raises(DataError, match=r"column\(s\) 'x2' as categorical \(String\), but the run read them as num"):
        refit(run_dir, ["lgbm"], train=text, progress=None)  # it refit a LightGBM of x2 as categories, silently
    refit(run_dir, ["lgbm"], train=train.with_columns(pl.col("x2").cast(pl.Float64)), progress=None)  # numbers


def test_a_train_with_a_text_feature_given_as_numbers_is_refused_naming_it(
    made: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(made["run"], run_dir)
    train = pl.read_csv(made["comp"] / "train.csv")
    codes = train.with_columns(pl.col("store").str.slice(1).cast(pl.Int64))  # 's2' as 2: other values, not text
    with pytest.raises(DataError, match=r"'store' as numeric \(Int64\), but the run read them as categorical \(Str"):
        refit(run_dir, ["lgbm"], train=codes, progress=None)  # its group aggregates and encoding by numbers


def test_a_rank_blend_keeps_a_missing_prediction_missing() -> None:
    stored = np.array([0.1, 0.4, 0.9], dtype=np.float32)[None, :, None]
    got = _rank_against(np.ones(1), np.array([np.nan, 0.4], dtype=np.float32)[None, :, None], stored)
    # NaN sorts above every value: it had scored 1.0, the most likely row, without a word (a mean blend says NaN)
    np.testing.assert_array_equal(got[:, 0], np.float32([np.nan, 2 / 3]))


def test_an_extra_text_column_leaves_no_trace_in_the_refits_feature_state(
    made: dict[str, Path], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(made["run"], run_dir)
    train = pl.read_csv(made["comp"] / "train.csv")
    states = []
    for given in (train, train.with_columns(pl.lit("a").alias("colour"))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            refit(run_dir, ["linear"], train=given, progress=None)
        states.append(next(run_dir.glob("models/linear/*/refit/features.json")).read_text())
    assert states[1] == states[0]  # the levels of 'colour' had been kept, a column the refit never reads
