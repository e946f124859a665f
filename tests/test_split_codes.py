"""Code columns split into their parts (``data.split_codes``, :mod:`kaggle_kit.readers.codes`): a cabin ``B/45/P``
is a category with a level per row, from which no model learns; its parts (a deck, a number, a side) carry the
signal. Train, test and a later test file are split alike; ``init`` proposes the split."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec, load_spec
from kaggle_kit.errors import ConfigError, DataError, DataWarning, StoreError
from kaggle_kit.init_config import infer_spec
from kaggle_kit.predict.api import predict
from kaggle_kit.readers.codes import find_split
from kaggle_kit.readers.competition import prepare_competition
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

N = 400


def _cabins(n: int, seed: int) -> tuple[list[str | None], np.ndarray]:
    """Cabins ``<deck>/<number>/<side>``, distinct in (almost) every row, and a target set by the deck and the side
    alone, with the number as noise."""
    rng = np.random.default_rng(seed)
    deck = rng.choice(list("ABCD"), n)
    side = rng.choice(["P", "S"], n)
    number = rng.permutation(2000)[:n]
    cabins: list[str | None] = [f"{d}/{k}/{s}" for d, k, s in zip(deck, number, side, strict=True)]
    cabins[3] = None  # a missing cabin: every part missing
    y = (np.isin(deck, ["A", "B"]) & (side == "S")).astype(int)
    flip = rng.random(n) < 0.05
    return cabins, np.where(flip, 1 - y, y)


def _files(tmp_path: Path) -> None:
    cabins, y = _cabins(N, 0)
    rng = np.random.default_rng(1)
    frame = pl.DataFrame({"id": range(N), "cabin": cabins, "x": rng.normal(size=N), "y": y})
    frame[:300].write_csv(tmp_path / "train.csv")
    frame[300:].drop("y").write_csv(tmp_path / "test.csv")


def _spec(tmp_path: Path, **data: object) -> object:
    raw = {
        "name": "codes",
        "task": "binary",
        "metric": "roc_auc",
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y", **data},
        "folds": {"n_splits": 3},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "models": [{"name": "lgbm", "kind": "lightgbm", "num_boost_round": 60, "params": {"min_child_samples": 5}}],
    }
    return build_spec(raw, base_dir=tmp_path)


@pytest.mark.parametrize(
    ("values", "found"),
    [
        ([f"{'ABC'[i % 3]}/{i}/{'PS'[i % 2]}" for i in range(60)], ("/", 3)),
        ([f"{i:04d}_{1 + i % 3:02d}" for i in range(60)], ("_", 2)),
        ([f"AX-{i}-{'RL'[i % 2]}" for i in range(60)] + ["AX-1"], ("-", 3)),  # 1 of 61 with fewer parts
        ([f"A/{100000 + i}" for i in range(60)], None),  # a constant prefix and a serial: no structure
        ([f"{i:08x}-{i * 7919:08x}" for i in range(60)], None),  # hex ids: no part repeats
        ([f"{i * 7919:08x}-{i % 2000:04x}" for i in range(6000)], None),  # a hash's tail: 2,000 levels, 3 rows each
        ([f"Smith{i}, Mr. John" for i in range(60)], None),  # words, not a code
        ([f"{'AB'[i % 2]}/{i}" if i % 3 else f"{i}" for i in range(60)], None),  # a third has no separator
        # numbers written as text, which a '.' split misread (12.05 and 12.5 both 12 and 5): no codes
        ([f"{i % 7}.{i:02d}" for i in range(60)] + ["unknown"] * 2, None),
        ([f"-{i % 7}.{i % 13}" for i in range(60)], None),
        # e-mail, web addresses and file names were split by '.', ':' and '/': their parts hold other marks
        ([f"user{i}@{'gy'[i % 2]}mail.{('com', 'org')[i % 2]}" for i in range(60)], None),
        ([f"{('http', 'https')[i % 2]}://site.com/p{i}" for i in range(60)], None),
        ([f"train/{('cat', 'dog')[i % 2]}/{i}.jpg" for i in range(60)], None),
        ([f"2020-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 4 * 15:02d}" for i in range(60)], None),
    ],
)
def test_a_split_is_found_where_one_separator_cuts_almost_every_value_into_repeating_parts(
    values: list[str], found: tuple[str, int] | None
) -> None:
    assert find_split(pl.Series(values)) == found


def test_a_run_splits_the_code_learns_from_its_parts_and_predict_splits_a_new_file_alike(tmp_path: Path) -> None:
    """Dropped (as init did with such a code), the cabin's deck and side are lost: LightGBM scores as a coin. Split,
    they are learnt; the number is a number. The run's spec.toml keeps the split, and predict on the test file (split
    as the run split it) gives the run's own test predictions."""
    _files(tmp_path)
    dropped = run(_spec(tmp_path, drop=["cabin"]), runs_root=tmp_path / "a", progress=None, record_history=False)
    result = run(_spec(tmp_path, split_codes={"cabin": "/"}), runs_root=tmp_path / "b", progress=None)
    auc = {m.name: m.cv for m in result.models}["lgbm"]
    assert auc > 0.7 and auc > {m.name: m.cv for m in dropped.models}["lgbm"] + 0.15, (auc, dropped.models)
    data = prepare_competition(load_spec(result.run_dir / "spec.toml"), pl.read_csv(tmp_path / "train.csv"), None)
    assert data.features == ("cabin_1", "cabin_2", "cabin_3", "x")
    assert [data.train.schema[c] for c in data.features[:3]] == [pl.String, pl.Int64, pl.String]
    assert data.train.row(3, named=True) | {"x": 0} == {"id": 3, "cabin_1": None, "cabin_2": None, "cabin_3": None,
                                                       "x": 0, "y": data.train["y"][3]}  # fmt: skip
    stored = RunStore(result.run_dir).read_predictions("lgbm", "test")
    again = predict(result.run_dir, tmp_path / "test.csv", model="lgbm")
    np.testing.assert_allclose(again["p_1"].to_numpy(), stored["p_1"].to_numpy(), rtol=1e-6)
    new = pl.DataFrame({"id": [900, 901, 902], "cabin": ["A/5/P", "A/5/S", "B/x/S"], "x": [0.0, 0.0, 0.0]})
    warned = r"column 'cabin_2' \(a part of 'cabin', data.split_codes\) of the test rows holds 'x' \(1 value\(s\)\)"
    with pytest.warns(DataWarning, match=warned + " where train's parts are whole numbers: read as missing"):
        p = predict(result.run_dir, new, model="lgbm")["p_1"].to_numpy()
    assert p[0] < p[1] - 0.1, p  # deck A: the side decides
    meta = json.loads((result.run_dir / "run.json").read_text())
    assert meta["split_codes"] == {"cabin": ["String", "Int64", "String"]}
    del meta["split_codes"]  # a run folder made before the kit recorded the parts
    (result.run_dir / "run.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match=r"records no parts of 'cabin' \(data.split_codes\): .* run its config again"):
        predict(result.run_dir, new, model="lgbm")


def test_predict_splits_as_the_run_did_where_the_last_part_is_dropped_or_a_fold_group(tmp_path: Path) -> None:
    """predict took the number of parts from the training features the run recorded: without the dropped side (or a
    fold group's part) it cut 'B/45/P' in two, read '45/P' as no number, and predicted every row without the number
    (warned, but wrong). The run records the parts of each split."""
    _files(tmp_path)
    frame = pl.read_csv(tmp_path / "train.csv").with_columns(
        grp=pl.format("{}_{}", pl.col("id") // 3, pl.col("id") % 5)
    )
    frame.write_csv(tmp_path / "train.csv")
    test = pl.read_csv(tmp_path / "test.csv")
    test.with_columns(grp=pl.format("{}_{}", pl.col("id") // 3, pl.col("id") % 5)).write_csv(tmp_path / "test.csv")
    spec = _spec(tmp_path, split_codes={"cabin": "/", "grp": "_"}, drop=["cabin_3"])
    spec = spec.model_copy(update={"folds": spec.folds.model_copy(update={"strategy": "group", "group": "grp_2"})})
    result = run(spec, runs_root=tmp_path / "runs", progress=None)
    assert result.run_dir.joinpath("run.json").read_text().count('"Int64"') >= 3  # cabin_2, grp_1, grp_2
    stored = RunStore(result.run_dir).read_predictions("lgbm", "test")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # no part read as missing
        again = predict(result.run_dir, tmp_path / "test.csv", model="lgbm")
    np.testing.assert_allclose(again["p_1"].to_numpy(), stored["p_1"].to_numpy(), rtol=1e-6)


def test_a_split_of_the_fold_group_is_refused_naming_both_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"folds.group names 'cabin', which data.split_codes splits into its parts"):
        build_spec(
            {
                "name": "c", "task": "binary", "metric": "roc_auc", "models": [{"name": "m", "kind": "lightgbm"}],
                "data": {"train": "t.csv", "id": "id", "target": "y", "split_codes": {"cabin": "/"}},
                "folds": {"strategy": "group", "group": "cabin"},
            }
        )  # fmt: skip


def test_whole_number_parts_are_read_as_whole_numbers_however_long_and_a_test_fraction_is_said() -> None:
    """A part of 20 digits stopped the run with polars' overflow; one of 17 lost its last digit through a float. A
    test '1.5' where train's part holds whole numbers is read as missing and said, the column's type kept."""
    from kaggle_kit.readers.codes import split_like, split_train

    said: list[str] = []
    codes = ["A_1", "B_2", "A_3", "B_12345678901234567", "A_5"]
    train, splits = split_train(pl.DataFrame({"c": codes}), {"c": "_"}, said.append)
    assert train["c_2"].dtype == pl.Int64 and train["c_2"][3] == 12345678901234567
    huge, _ = split_train(pl.DataFrame({"c": ["A_1", "B_2", "A_123456789012345678901"]}), {"c": "_"}, said.append)
    assert huge["c_2"].dtype == pl.Float64 and huge["c_2"][2] == pytest.approx(1.2345678901234568e20)
    test = split_like(pl.DataFrame({"c": ["A_1.5", "B_ 7", None, "C"]}), splits, "test", said.append)
    assert test["c_2"].dtype == pl.Int64 and test["c_2"].to_list() == [None, 7, None, None]
    assert said == [
        "column 'c_2' (a part of 'c', data.split_codes) of the test rows holds '1.5' (1 value(s)) where train's parts "
        "are whole numbers: read as missing"
    ]


def test_a_part_may_be_dropped_or_listed_categorical(tmp_path: Path) -> None:
    _files(tmp_path)
    train, test = pl.read_csv(tmp_path / "train.csv"), pl.read_csv(tmp_path / "test.csv")
    data = prepare_competition(
        _spec(tmp_path, split_codes={"cabin": "/"}, drop=["cabin_2"], categorical=["cabin_3"]), train, test
    )
    assert data.features == ("cabin_1", "cabin_3", "x") and data.categorical == ("cabin_1", "cabin_3")
    assert data.test is not None and data.test["cabin_1"].to_list()[:2] == [c.split("/")[0] for c in test["cabin"][:2]]


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        ({"split_codes": {"cabin": "/"}, "drop": ["cabin"]}, ConfigError, r"names 'cabin', which data.drop also names"),
        ({"split_codes": {"cabin": ""}}, ConfigError, r"data.split_codes: cabin = '' is no separator"),
        ({"split_codes": {"cabn": "/"}}, DataError, r"'cabn' is not a column of the train file"),
        ({"split_codes": {"x": "/"}}, DataError, r"names 'x', but the train column holds Float64 values"),
        ({"split_codes": {"cabin": "-"}}, DataError, r"most values of 'cabin' \(e.g. '[A-G]/\d+/[PS]'\) hold no '-'"),
    ],
)
def test_bad_split_codes_are_refused_with_the_key_and_the_column(
    data: dict[str, object], error: type[Exception], match: str, tmp_path: Path
) -> None:
    _files(tmp_path)
    with pytest.raises(error, match=match):
        prepare_competition(_spec(tmp_path, **data), pl.read_csv(tmp_path / "train.csv"), None)


def test_a_code_column_of_categories_is_split_as_its_text(tmp_path: Path) -> None:
    """A parquet file keeps a column of categories as such: it was refused as 'Categorical values, not text codes'."""
    _files(tmp_path)
    train, test = (
        pl.read_csv(tmp_path / f).with_columns(pl.col("cabin").cast(pl.Categorical)) for f in ("train.csv", "test.csv")
    )
    data = prepare_competition(_spec(tmp_path, split_codes={"cabin": "/"}), train, test)
    assert data.test is not None and data.features == ("cabin_1", "cabin_2", "cabin_3", "x")
    assert data.train["cabin_2"].dtype == data.test["cabin_2"].dtype == pl.Int64
    assert data.test["cabin_3"].to_list()[:3] == [c.split("/")[2] for c in test["cabin"].cast(pl.String)[:3]]


def test_a_part_whose_name_a_column_has_already_is_refused(tmp_path: Path) -> None:
    _files(tmp_path)
    train = pl.read_csv(tmp_path / "train.csv").with_columns(cabin_2=pl.lit(1.0))
    with pytest.raises(DataError, match=r"into 'cabin_1', 'cabin_2', 'cabin_3', but the train file has a column "):
        prepare_competition(_spec(tmp_path, split_codes={"cabin": "/"}), train, None)


def test_init_splits_a_code_whose_parts_repeat_and_says_so(tmp_path: Path) -> None:
    cabins, y = _cabins(N, 0)
    pl.DataFrame({"id": range(N), "cabin": cabins, "y": y}).write_csv(tmp_path / "train.csv")
    spec, why = infer_spec("cabins", tmp_path / "train.csv", preset="fast")
    assert spec["data"]["split_codes"] == {"cabin": "/"} and "cabin" not in spec["data"].get("drop", []), why
    assert any(
        # the share is of the filled rows (one cabin is missing), and the line says so
        line.startswith("split_codes = { cabin = '/' } (a different value in 100% of its 399 filled rows of 400, but")
        for line in why
    ), why


def test_init_splits_no_code_whose_part_names_a_column_has(tmp_path: Path) -> None:
    """A table with 'cabin' and 'cabin_1' was given split_codes = { cabin = '/' }, and the run it proposed stopped on
    the clash of names."""
    cabins, y = _cabins(N, 0)
    frame = pl.DataFrame({"id": range(N), "cabin": cabins, "cabin_1": np.arange(N) % 7, "x": np.arange(N) / 10, "y": y})
    frame.write_csv(tmp_path / "train.csv")
    spec, why = infer_spec("cabins", tmp_path / "train.csv", preset="fast")
    assert "split_codes" not in spec["data"] and spec["data"]["drop"] == ["cabin"], why
