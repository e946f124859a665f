"""Tests for kaggle_kit.readers.competition: reading a competition's files and checking them against the spec."""

from __future__ import annotations

import gzip
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from kaggle_kit.config import CompetitionSpec, build_spec
from kaggle_kit.errors import DataError, DataWarning, KitError
from kaggle_kit.readers.competition import CompetitionData, load_competition, prepare_competition
from kaggle_kit.readers.tables import read_table

METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}


def make_spec(
    tmp_path: Path, *, task: str = "binary", folds: dict[str, Any] | None = None, **data: Any
) -> CompetitionSpec:
    """A spec over ``train.parquet`` / ``test.parquet`` in ``tmp_path``; keyword arguments replace [data] keys."""
    keys = {"train": "train.parquet", "test": "test.parquet", "id": "row_id", "target": "target", **data}
    spec: dict[str, Any] = {
        "name": "t",
        "task": task,
        "metric": METRIC[task],
        "data": {k: v for k, v in keys.items() if v is not None},
        "models": [{"name": "m", "kind": "dummy"}],
    }
    if folds:
        spec["folds"] = folds
    return build_spec(spec, base_dir=tmp_path)


def write(frame: pl.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path)
    return path


def good_train() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row_id": [1, 2, 3, 4, 5, 6, 7, 8],
            "f_num": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5],
            "f_int": [1, 2, 3, 4, 5, 6, 7, 8],
            "f_cat": ["a", "b", "a", "c", "b", "a", "c", "b"],
            "patient": ["p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4"],
            "target": [0, 1, 0, 1, 0, 1, 1, 0],
        }
    )


def good_test() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row_id": [101, 102, 103],
            "f_num": [0.25, 9.0, 3.0],
            "f_int": [2, 3, 9],
            "f_cat": ["a", "c", "z"],
            "patient": ["p9", "p9", "p8"],
        }
    )


@dataclass
class Case:
    """One broken input: changes to the good frames or files, and the spec keys that go with them."""

    train: Callable[[pl.DataFrame], pl.DataFrame] = lambda f: f
    test: Callable[[pl.DataFrame], pl.DataFrame] = lambda f: f
    files: dict[str, bytes] = field(default_factory=dict)  # raw files, written as they are
    task: str = "binary"
    folds: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)


def col(name: str, values: list[Any], dtype: Any = None) -> Callable[[pl.DataFrame], pl.DataFrame]:
    return lambda f: f.with_columns(pl.Series(name, values, dtype=dtype))


def _as_text_ids(train: pl.DataFrame) -> pl.DataFrame:
    """Train's rows as test rows (no target), their ids written as text."""
    return train.drop("target").with_columns(pl.col("row_id").cast(pl.String))


CSV = b"row_id,f_num,target\n1,0.5,0\n2,1.5,1\n"

ERRORS = [
    # files
    pytest.param(
        Case(data={"train": "nope.csv"}),
        r"the train file '.*nope\.csv' does not exist; check data\.train",
        id="missing-train-file",
    ),
    pytest.param(
        Case(data={"test": "sub/nope.parquet"}),
        r"the test file '.*nope\.parquet' does not exist; check data\.test",
        id="missing-test-file",
    ),
    pytest.param(
        Case(files={"train.csv": b""}, data={"train": "train.csv"}),
        r"the train file '.*train\.csv' is empty",
        id="empty-file",
    ),
    pytest.param(
        Case(files={"train.csv": b"row_id,f_num,target\n"}, data={"train": "train.csv"}),
        r"the train file '.*train\.csv' has a header but no rows",
        id="header-only-csv",
    ),
    pytest.param(
        Case(files={"train.xlsx": CSV}, data={"train": "train.xlsx"}),
        r"the train file '.*train\.xlsx' must be \.csv or \.parquet; got '\.xlsx'",
        id="unsupported-extension",
    ),
    pytest.param(
        Case(files={"train.parquet": b"PAR1 not really"}),
        r"could not read the train file '.*train\.parquet'",
        id="corrupt-parquet",
    ),
    pytest.param(
        Case(files={"train.csv": CSV + b"3,2.5,0,extra\n"}, data={"train": "train.csv"}),
        r"line 4 of the train file '.*train\.csv' has 4 fields but its header has 3 \(separator ','\); fix that line",
        id="ragged-csv",
    ),
    pytest.param(
        Case(files={"train.csv": CSV + b"3,2.5\n4,0.5,1\n"}, data={"train": "train.csv"}),
        r"line 4 of the train file '.*train\.csv' has 2 fields but its header has 3 \(separator ','\); fix that line "
        r"\(every column needs a field, an empty one where the value is missing, as in '1,,3'\)",
        id="short-csv-row",
    ),
    pytest.param(  # the short record is counted from its first line: a quoted value before it spans two lines
        Case(files={"train.csv": b'row_id,f_num,target\n1,"0.5\n",0\n2,1.5\n'}, data={"train": "train.csv"}),
        r"line 4 of the train file '.*train\.csv' has 2 fields but its header has 3",
        id="short-csv-row-after-a-quoted-newline",
    ),
    pytest.param(
        Case(files={"train.csv": b"row_id;f_num;target\n1;0.5;0\n2;1.5\n"}, data={"train": "train.csv"}),
        r"line 3 of the train file '.*train\.csv' has 2 fields but its header has 3 \(separator ';'\).*as in '1;;3'",
        id="short-row-in-a-semicolon-file",
    ),
    # columns the spec names
    pytest.param(
        Case(data={"target": "targte"}),
        r"data\.target = 'targte' is not a column of the train file\. Did you mean 'target'\? Columns: \[",
        id="target-missing",
    ),
    pytest.param(
        Case(data={"id": "rowid"}),
        r"data\.id = 'rowid' is not a column of the train file\. Did you mean 'row_id'\?",
        id="id-missing",
    ),
    pytest.param(
        Case(test=lambda f: f.drop("row_id")),
        r"data\.id = 'row_id' is not a column of the test file",
        id="id-missing-in-test",
    ),
    pytest.param(
        Case(data={"drop": ["f_nmu"]}),
        r"data\.drop = 'f_nmu' is not a column of the train file\. Did you mean 'f_num'\?",
        id="drop-missing",
    ),
    pytest.param(
        Case(data={"categorical": ["f_cta"]}),
        r"data\.categorical = 'f_cta' is not a column of the train file",
        id="categorical-missing",
    ),
    pytest.param(
        Case(folds={"strategy": "group", "group": "patient_id"}),
        r"folds\.group = 'patient_id' is not a column of the train file\. Did you mean 'patient'\?",
        id="group-column-missing",
    ),
    pytest.param(
        Case(folds={"strategy": "time", "time": "date"}),
        r"folds\.time = 'date' is not a column of the train file",
        id="time-column-missing",
    ),
    # the target
    pytest.param(
        Case(train=col("target", [0, 1, None, 1, 0, 1, 1, 0])),
        r"the target column 'target' has 1 missing value\(s\); drop those rows or fill them",
        id="null-in-target",
    ),
    pytest.param(
        Case(train=col("target", [0.0, 1.0, float("nan"), 1.0, 0.0, 1.0, 1.0, 0.0])),
        r"the target column 'target' has NaN",
        id="nan-in-class-target",
    ),
    pytest.param(
        Case(task="regression", train=col("target", [0.1, 1.0, float("inf"), 1.0, 0.0, 1.0, 1.0, 0.0])),
        r"the target column 'target' has 1 NaN or infinite value",
        id="inf-in-regression-target",
    ),
    pytest.param(
        Case(task="regression", train=col("target", [0.1, float("nan"), 2.0, 1.0, 0.0, 1.0, 1.0, 0.0])),
        r"the target column 'target' has 1 NaN or infinite value",
        id="nan-in-regression-target",
    ),
    pytest.param(
        Case(train=col("target", [0, 1, 2, 1, 0, 1, 2, 0])),
        r"task is binary but the target column 'target' has 3 distinct value\(s\) \[0, 1, 2\]; "
        r"use task = 'multiclass'",
        id="binary-with-3-classes",
    ),
    pytest.param(
        Case(train=col("target", [1] * 8)),
        r"the target column 'target' holds one value \(1\) in every row; a classifier needs at least two classes",
        id="binary-with-1-class",
    ),
    pytest.param(
        Case(task="multiclass"),
        r"task is multiclass but the target column 'target' has 2 distinct value\(s\); use task = 'binary'",
        id="multiclass-with-2-classes",
    ),
    pytest.param(
        Case(train=col("target", [0.0, 1.0, 0.5, 1.0, 0.0, 1.0, 1.0, 0.0])),
        r"task is binary but the target column 'target' has non-integer numbers; use task = 'regression'",
        id="fractional-class-target",
    ),
    pytest.param(
        Case(task="regression", train=col("target", list("abcdefgh"))),
        r"task is regression but the target column 'target' is String, not numeric",
        id="text-regression-target",
    ),
    # ids
    pytest.param(
        Case(train=col("row_id", [1, 2, 3, 4, 5, 6, 7, 7])),
        r"the id column 'row_id' of train is not unique: 1 value\(s\) repeat, e\.g\. 7",
        id="duplicate-train-ids",
    ),
    pytest.param(
        Case(test=col("row_id", [101, 102, 101])),
        r"the id column 'row_id' of test is not unique: 1 value\(s\) repeat, e\.g\. 101",
        id="duplicate-test-ids",
    ),
    pytest.param(
        Case(train=col("row_id", [1, 2, 3, 4, 5, 6, 7, None])),
        r"the id column 'row_id' of train has 1 missing value",
        id="null-train-id",
    ),
    pytest.param(  # test rows 8 and 3 are train's rows 8 and 3: ids and values alike
        Case(test=lambda f: pl.concat([f.head(1), good_train().drop("target").filter(pl.col("row_id").is_in([8, 3]))])),
        r"2 id\(s\) in column 'row_id' appear in both train and test \(e\.g\. \d\) with the same values: the test "
        r"rows must be different rows",
        id="test-ids-overlap-train",
    ),
    pytest.param(  # the same, test carrying a target column of placeholders (1 where train has 0): not compared
        Case(test=lambda f: good_train().filter(pl.col("row_id").is_in([8, 3])).with_columns(target=pl.lit(1))),
        r"2 id\(s\) in column 'row_id' appear in both train and test \(e\.g\. \d\) with the same values",
        id="test-rows-of-train-with-a-target-placeholder",
    ),
    pytest.param(  # the same rows, test's f_int read as floats (2.0: a pandas writer) and f_num written with fewer
        # digits: compared as text ('3' against '3.0') and exactly, they were 'other rows' (a warning)
        Case(
            test=lambda f: (
                good_train()
                .drop("target")
                .filter(pl.col("row_id").is_in([8, 3]))
                .with_columns(pl.col("f_int").cast(pl.Float64), pl.col("f_num") * (1 + 3e-7))
            )
        ),
        r"2 id\(s\) in column 'row_id' appear in both train and test \(e\.g\. \d\) with the same values",
        id="test-rows-of-train-written-otherwise",
    ),
    pytest.param(  # every train row, two of them with f_num filled in (imputed): 6 of the 8 repeat their train row
        Case(
            test=lambda f: (
                good_train()
                .drop("target")
                .with_columns(pl.when(pl.col("row_id") <= 2).then(0.0).otherwise(pl.col("f_num")).alias("f_num"))
            )
        ),
        r"8 id\(s\) in column 'row_id' appear in both train and test \(e\.g\. \d\), 6 of them with the same values",
        id="test-rows-of-train-most-of-them-alike",
    ),
    pytest.param(  # train's first 4 rows renumbered 8, 7, 6, 5 (a sample of train, its index reset): ids of train's
        # other rows, so that no id's rows repeat; the old check (any shared id) refused it, the id-by-id one warned
        Case(test=lambda f: good_train().drop("target").head(4).with_columns(row_id=pl.Series([8, 7, 6, 5]))),
        r"4 of the 4 test rows repeat a train row's values under other ids \(the test ids are train ids too, in "
        r"column 'row_id'\): the test rows must be different rows, not train rows renumbered",
        id="test-rows-of-train-renumbered",
    ),
    pytest.param(  # train's rows 3 and 8 with NaN and inf in f_num (a notebook's frame), as test rows: alike
        Case(
            train=col("f_num", [0.5, 1.5, float("nan"), 3.5, 4.5, 5.5, 6.5, float("inf")]),
            test=lambda f: (
                good_train()
                .drop("target")
                .filter(pl.col("row_id").is_in([8, 3]))
                .with_columns(f_num=pl.Series([float("nan"), float("inf")]))
            ),
        ),
        r"2 id\(s\) in column 'row_id' appear in both train and test \(e\.g\. \d\) with the same values",
        id="test-rows-of-train-with-nan",
    ),
    pytest.param(
        Case(
            train=col("row_id", [str(i) for i in range(1, 9)]),
            test=lambda f: pl.concat(
                [f.head(1).with_columns(pl.col("row_id").cast(pl.String)), _as_text_ids(good_train()).slice(6, 1)]
            ),
        ),
        r"1 id\(s\) in column 'row_id' appear in both train and test \(e\.g\. '7'\) with the same values",
        id="text-ids-overlap",
    ),
    # features
    pytest.param(
        Case(test=lambda f: f.drop("f_cat")),
        r"test lacks feature column\(s\) 'f_cat' that train has; add them to data\.drop",
        id="test-lacks-feature",
    ),
    pytest.param(
        Case(
            train=col("f_code", ["x1", "7", "x3", "x2", "x4", "4", "x5", "6"]),
            test=col("f_code", [7.0, float("inf"), 9.0]),
        ),  # parquet numbers are read as train's text (tests/test_messy_files.py); inf spells no level
        r"column 'f_code' is String in train but Float64 in test, whose values hold inf, which no text level of train "
        r"spells; write the test column's values as the train file writes them",
        id="text-in-train-number-in-test",
    ),
    pytest.param(
        Case(test=col("f_num", ["0.5", "n/a", "1"])),
        r"column 'f_num' of the test file '.*test\.parquet' is numbers but for 'n/a' \(1 row\): add it to "
        r"data\.na_values \(na_values = \['n/a'\]\)",
        id="number-in-train-text-in-test",
    ),
    pytest.param(
        Case(
            train=col("f_day", [date(2024, 1, day) for day in range(1, 9)]),
            test=col("f_day", ["2024-02-01", "2024-02-02", "unknown"]),
        ),
        r"column 'f_day' is Date in train but String in test",
        id="date-in-train-text-in-test",
    ),
    pytest.param(
        Case(train=lambda f: f.select("row_id", "target"), test=lambda f: f.select("row_id")),
        r"train has no feature columns left after removing id, target and data\.drop",
        id="no-features",
    ),
    pytest.param(
        Case(train=col("f_list", [[i] for i in range(8)]), test=col("f_list", [[1], [2], [3]])),
        r"column\(s\) 'f_list' have types the models cannot use \(List\(Int64\)\); add them to data\.drop",
        id="list-column",
    ),
]


@pytest.mark.parametrize(("case", "match"), ERRORS)
def test_bad_data_is_rejected(tmp_path: Path, case: Case, match: str) -> None:
    write(case.train(good_train()), tmp_path / "train.parquet")
    write(case.test(good_test()), tmp_path / "test.parquet")
    for name, content in case.files.items():
        (tmp_path / name).write_bytes(content)
    spec = make_spec(tmp_path, task=case.task, folds=case.folds, **case.data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a bad input is an error, not a warning
        with pytest.raises(DataError, match=match) as info:
            load_competition(spec)
    assert isinstance(info.value, KitError) and isinstance(info.value, ValueError)
    message = str(info.value)
    assert "Traceback" not in message and "polars.exceptions" not in message


# ---------------------------------------------------------------------------------------------- reading files
def test_read_table_reads_csv_and_parquet_alike(tmp_path: Path) -> None:
    frame = good_train()
    from_csv = read_table(write(frame, tmp_path / "t.csv"), role="train")
    from_parquet = read_table(write(frame, tmp_path / "t.parquet"), role="train")
    assert from_csv.equals(frame) and from_parquet.equals(frame)
    upper = tmp_path / "T.CSV"
    upper.write_bytes((tmp_path / "t.csv").read_bytes())
    assert read_table(upper, role="train").equals(frame)


def test_read_table_reads_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "train.csv.gz"
    path.write_bytes(gzip.compress(good_train().write_csv().encode()))
    assert read_table(path, role="train").equals(good_train())


def test_csv_rows_with_empty_fields_quoted_newlines_and_blank_lines_are_read_as_written(tmp_path: Path) -> None:
    """A trailing empty field is a missing value (``1,2,`` has 3 fields), a quoted value may hold the separator and
    newlines, and a blank line holds no row (polars alone reads it as a row of nulls): none is a short row."""
    path = tmp_path / "train.csv"
    path.write_bytes(b'id,text,x\n1,"a,b",\n\n2,"line\r\nbreak",2.5\n3,,\n\n')
    frame = read_table(path, role="train")
    expected = pl.DataFrame({"id": [1, 2, 3], "text": ["a,b", "line\r\nbreak", None], "x": [None, 2.5, None]})
    assert frame.equals(expected), frame


@pytest.mark.parametrize(("codec", "bom", "sep"), [("utf-16-le", b"\xff\xfe", "\t"), ("utf-16-be", b"\xfe\xff", ",")])
def test_a_utf16_file_with_its_byte_order_mark_is_read_as_utf16(
    codec: str, bom: bytes, sep: str, tmp_path: Path
) -> None:
    """A spreadsheet's "Unicode text" export (UTF-16, tab-separated) was read as Windows-1252 with a warning, every
    other byte a NUL, and stopped at 'line 10 has 1 fields but its header has 3'. Its byte order mark says its
    encoding: read as such, without a warning, as the UTF-8 file is."""
    text = (
        sep.join(["id", "city", "x"])
        + "\r\n"
        + "".join(f"{i}{sep}Zürich{sep}{i / 2 if i % 3 else ''}\r\n" for i in range(8))
    )
    path = tmp_path / "train.csv"
    path.write_bytes(bom + text.encode(codec))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = read_table(path, role="train")
    (tmp_path / "utf8.csv").write_text(text, encoding="utf-8")
    assert frame.equals(read_table(tmp_path / "utf8.csv", role="train")), frame
    assert frame.columns == ["id", "city", "x"] and frame["city"][0] == "Zürich" and frame["x"].null_count() == 3


def test_a_mostly_number_category_is_told_data_categorical_first(tmp_path: Path) -> None:
    """Grades 'A', 'B' beside '1' .. '4' (a quarter of the rows): the error offered na_values = ['A', 'B'] first, which
    reads a category's levels as missing. Non-numbers this common are offered data.categorical first; a '?', '--' or
    'unknown' is a placeholder however common, na_values first."""
    path = tmp_path / "train.csv"
    pl.DataFrame(
        {"id": range(120), "grade": ["A", "B", "1", "2", "3", "4", "1", "2", "3", "4", "A", "2"] * 10}
    ).write_csv(path)
    with pytest.raises(DataError) as caught:
        read_table(path, role="train")
    assert str(caught.value).endswith(
        "is numbers but for 'A' (20 rows), 'B' (10 rows) (25% of its values): if they are levels of a category, list "
        "the column in data.categorical to keep it as text (categorical = ['grade']); if they stand for a missing "
        "value, add them to data.na_values (na_values = ['A', 'B']) to read them as missing"
    )
    for placeholder in ["?", "unknown", "--"]:  # a placeholder for a missing value, however common
        pl.DataFrame({"id": range(4), "x": [placeholder, "1.5", placeholder, "2"]}).write_csv(path)
        with pytest.raises(
            DataError, match=r"is numbers but for '.*' \(2 rows\): add it to data.na_values .*; or list"
        ):
            read_table(path, role="train")


def test_read_table_error_names_the_role(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"the sample_submission file '.*s\.csv' does not exist"):
        read_table(tmp_path / "s.csv", role="sample_submission")


def _same_data(a: CompetitionData, b: CompetitionData) -> None:
    assert a.features == b.features and a.categorical == b.categorical and a.classes == b.classes
    np.testing.assert_array_equal(a.y, b.y)
    assert a.y.dtype == b.y.dtype
    assert a.train.select(a.features).equals(b.train.select(b.features))
    assert a.test is not None and b.test is not None
    assert a.test.select(a.features).equals(b.test.select(b.features))
    assert a.fingerprint() == b.fingerprint()


def test_parquet_and_csv_give_the_same_competition(tmp_path: Path) -> None:
    cancer = load_breast_cancer()
    names = [str(n).replace(" ", "_") for n in cancer.feature_names]
    frame = pl.DataFrame(cancer.data, schema=names, orient="row").with_columns(
        pl.Series("id", np.arange(len(cancer.target)) * 3 + 1),
        pl.Series("diagnosis", np.asarray(cancer.target_names)[cancer.target]),
    )
    train, test = frame[:400], frame[400:].drop("diagnosis")
    for ext in ("csv", "parquet"):
        write(train, tmp_path / f"train.{ext}")
        write(test, tmp_path / f"test.{ext}")
    spec_csv = make_spec(tmp_path, train="train.csv", test="test.csv", id="id", target="diagnosis")
    spec_pq = make_spec(tmp_path, id="id", target="diagnosis")
    from_csv, from_pq = load_competition(spec_csv), load_competition(spec_pq)
    _same_data(from_csv, from_pq)
    assert len(from_csv.features) == 30 and from_csv.categorical == ()
    assert from_csv.classes == ("benign", "malignant")  # sorted
    np.testing.assert_array_equal(from_csv.y, 1 - cancer.target[:400])  # sklearn codes malignant as 0
    assert from_csv.test_ids is not None and from_csv.test_ids.to_list() == test["id"].to_list()


# ---------------------------------------------------------------------------------------------- column roles
def test_categorical_columns_are_recognised(tmp_path: Path) -> None:
    train = good_train().with_columns(
        pl.Series("f_bool", [True, False] * 4), pl.Series("f_enum", ["u", "v"] * 4, dtype=pl.Categorical)
    )
    test = good_test().with_columns(
        pl.Series("f_bool", [True, True, False]), pl.Series("f_enum", ["u", "u", "v"], dtype=pl.Categorical)
    )
    data = prepare_competition(make_spec(tmp_path), train, test)
    assert data.features == ("f_num", "f_int", "f_cat", "patient", "f_bool", "f_enum")
    assert data.categorical == ("f_cat", "patient", "f_bool", "f_enum")  # text and booleans; numbers are not


def test_explicit_categorical_overrides_the_dtypes(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, categorical=["f_int"])
    data = prepare_competition(spec, good_train(), good_test())
    # the listed int column becomes categorical; text columns stay categorical (no model reads text as numbers)
    assert data.categorical == ("f_int", "f_cat", "patient")
    assert "f_cat" in data.features


def test_explicit_categorical_may_change_type_between_train_and_test(tmp_path: Path) -> None:
    """What the dtype-mismatch message recommends: list the column in data.categorical."""
    train = good_train().with_columns(pl.Series("f_code", ["x1", "7", "9", "x2", "3", "4", "5", "6"]))
    test = good_test().with_columns(pl.Series("f_code", [7, 8, 9]))
    data = prepare_competition(make_spec(tmp_path, categorical=["f_code", "f_cat"]), train, test)
    assert data.categorical == ("f_cat", "patient", "f_code")
    assert data.test is not None and data.test["f_code"].to_list() == ["7", "8", "9"]


def test_id_target_group_and_dropped_columns_are_not_features(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, drop=["f_num"], folds={"strategy": "group", "group": "patient"})
    data = prepare_competition(spec, good_train(), good_test())
    assert data.features == ("f_int", "f_cat")
    assert data.id_column == "row_id" and data.target_column == "target"
    assert data.train_ids.to_list() == list(range(1, 9))
    time_spec = make_spec(tmp_path, folds={"strategy": "time", "time": "f_int"})
    assert "f_int" not in prepare_competition(time_spec, good_train(), good_test()).features


def test_a_dropped_column_is_never_refused_for_how_it_writes_numbers(tmp_path: Path) -> None:
    """A number column holding a '?' is refused with the data.na_values fix; data.drop, which the kit's messages also
    offer, left the run stopped by the same error (a dropped column's values were still parsed and checked)."""
    train = good_train().with_columns(junk=pl.Series(["1.5", "?", "2.5", "3.5", "4.5", "5.5", "6.5", "7.5"]))
    test = good_test().with_columns(junk=pl.lit("-"))
    write(train, tmp_path / "train.csv")
    write(test, tmp_path / "test.csv")
    files = {"train": "train.csv", "test": "test.csv"}
    with pytest.raises(DataError, match=r"column 'junk' of the train file .* is numbers but for '\?' \(1 row\)"):
        load_competition(make_spec(tmp_path, **files))
    data = load_competition(make_spec(tmp_path, drop=["junk"], **files))
    assert "junk" not in data.features and data.features == ("f_num", "f_int", "f_cat", "patient")


@pytest.mark.parametrize("key", ["drop", "categorical"])
def test_a_test_header_spelled_otherwise_is_read_by_the_keys_naming_trains_column(key: str, tmp_path: Path) -> None:
    """data.drop / data.categorical name train's 'junk'; the test file heads it ' Junk' (read as train's, spaces and
    case aside): its '?' among numbers still stopped the run, the keys being matched to the exact header."""
    write(good_train().with_columns(junk=pl.Series([1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5])), tmp_path / "train.csv")
    write(good_test().with_columns(pl.Series(" Junk", ["1.5", "?", "2"])), tmp_path / "test.csv")
    spec = make_spec(tmp_path, train="train.csv", test="test.csv", **{key: ["junk"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # unseen levels; ' Junk' read as train's 'junk' (a feature)
        data = load_competition(spec)
    column = "junk" if key == "categorical" else " Junk"  # a dropped column is no feature: not renamed
    assert ("junk" in data.features) == (key == "categorical") and data.test[column][1] == "?"


@pytest.mark.parametrize(
    "levels", [["7", "4", "7"], ["7", "x1", "4"], ["7.5", "4", "7"]], ids=["numbers", "a-level", "decimals"]
)
def test_a_test_column_train_holds_as_text_is_read_as_text(levels: list[str], tmp_path: Path) -> None:
    """A category whose test rows hold only numbers (train's 'x1', '7', '4'; test's '7', '4'): read as Int64, `run`
    refused it ('String in train but Int64 in test') while `kaggle-kit predict` took the same file; with one train
    level among them ('x1') it was "numbers but for 'x1'", a placeholder. Read as text, as train's levels, spelled as
    written ('7.5', not a float; a test header ' F_CODE' is train's 'f_code' all the same)."""
    codes = ["x1", "7", "x3", "4", "x5", "7.5", "x1", "x2"]
    write(good_train().with_columns(f_code=pl.Series(codes)), tmp_path / "train.csv")
    write(good_test().with_columns(pl.Series(" F_CODE", levels)), tmp_path / "test.csv")
    with pytest.warns(DataWarning, match="read as train's: ' F_CODE' as 'f_code'"):
        data = load_competition(make_spec(tmp_path, train="train.csv", test="test.csv"))
    assert "f_code" in data.categorical and data.test["f_code"].to_list() == levels


def test_a_test_column_of_iso_dates_beside_trains_text_dates_stays_dates(tmp_path: Path) -> None:
    """Train's dates written '01/31/2020' are text as read (their format is found from train's values); a test file's
    ISO dates are read as dates by polars. Reading test's columns train holds as text as text made them text, which
    train's format '%m/%d/%Y' then refused: only columns this file reads as numbers are read again as text."""
    days = [date(2020, 1, 13 + i) for i in range(8)]  # a day after the 12th: the format is found
    write(good_train().with_columns(day=pl.Series([d.strftime("%m/%d/%Y") for d in days])), tmp_path / "train.csv")
    write(good_test().with_columns(day=pl.Series([date(2020, 3, 1 + i) for i in range(3)])), tmp_path / "test.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # text dates read with a format; unseen levels
        data = load_competition(make_spec(tmp_path, train="train.csv", test="test.csv"))
    assert data.test["day"].to_list() == [date(2020, 3, 1 + i) for i in range(3)]


def test_predict_reads_a_new_files_column_train_holds_as_text_as_text(tmp_path: Path) -> None:
    """`kaggle-kit predict` reads a new test file as `run` reads its test file: train's text column 'f_code' whose new
    rows hold '7', 'x1', '4' (one train level among numbers) stopped with "is numbers but for 'x1'"."""
    import kaggle_kit
    from kaggle_kit.runtime.runner import run

    codes = ["x1", "7", "x3", "4", "x5", "7.5", "x1", "x2"]
    write(good_train().with_columns(f_code=pl.Series(codes)), tmp_path / "train.csv")
    write(good_test().with_columns(f_code=pl.Series(["x1", "7", "x3"])), tmp_path / "test.csv")
    spec = make_spec(tmp_path, train="train.csv", test="test.csv", folds={"n_splits": 2})
    run_dir = run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False).run_dir
    write(good_test().with_columns(f_code=pl.Series(["7", "x1", "4"])), tmp_path / "new.csv")
    assert kaggle_kit.predict(run_dir, tmp_path / "new.csv", model="m").height == 3


def test_without_id_rows_are_numbered(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, id=None, drop=["row_id"])
    data = prepare_competition(spec, good_train(), good_test())
    assert "row_id" not in data.features
    assert data.train_ids.to_list() == list(range(8))
    assert data.test_ids is not None and data.test_ids.to_list() == [0, 1, 2]


def test_no_test_file(tmp_path: Path) -> None:
    write(good_train(), tmp_path / "train.parquet")
    data = load_competition(make_spec(tmp_path, test=None))
    assert data.test is None and data.test_ids is None
    assert data.features == ("f_num", "f_int", "f_cat", "patient")


# ---------------------------------------------------------------------------------------------- test vs train
def test_target_in_test_is_dropped_with_a_warning(tmp_path: Path) -> None:
    test = good_test().with_columns(pl.Series("target", [0, 1, 1]))
    with pytest.warns(UserWarning, match=r"test has the target column 'target'; it is ignored"):
        data = prepare_competition(make_spec(tmp_path), good_train(), test)
    assert data.test is not None and "target" not in data.test.columns


def test_int_in_train_float_in_test_is_cast(tmp_path: Path) -> None:
    test = good_test().with_columns(pl.Series("f_int", [2.0, 3.0, None]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning about the cast (the fixture's new test levels are told of)
        warnings.filterwarnings("ignore", message="test rows hold categories that no training row has")
        data = prepare_competition(make_spec(tmp_path), good_train(), test)
    assert data.test is not None
    assert data.test.schema["f_int"] == pl.Int64
    assert data.test["f_int"].to_list() == [2, 3, None]


def test_fractional_test_values_are_not_truncated(tmp_path: Path) -> None:
    """Casting 1.5 to train's int type would silently change the test data to 1."""
    test = good_test().with_columns(pl.Series("f_int", [1.5, 2.0, float("nan")]))
    data = prepare_competition(make_spec(tmp_path), good_train(), test)
    assert data.test is not None
    values = data.test["f_int"].to_numpy()
    assert values[:2].tolist() == [1.5, 2.0] and np.isnan(values[2])


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_all_null_test_column_is_accepted(tmp_path: Path, fmt: str) -> None:
    """Parquet keeps an all-missing column as Null; CSV reads an empty column as String."""
    write(good_train(), tmp_path / f"train.{fmt}")
    write(good_test().with_columns(pl.lit(None).alias("f_num")), tmp_path / f"test.{fmt}")
    data = load_competition(make_spec(tmp_path, train=f"train.{fmt}", test=f"test.{fmt}"))
    assert data.test is not None and data.test["f_num"].null_count() == 3
    assert "f_num" in data.features and "f_num" not in data.categorical


def test_boolean_in_train_text_in_test_does_not_crash(tmp_path: Path) -> None:
    """polars cannot cast text to boolean; the column is kept as text (the encoder compares categories as text)."""
    train = good_train().with_columns(pl.Series("f_flag", [True, False] * 4))
    test = good_test().with_columns(pl.Series("f_flag", ["true", "false", "maybe"]))
    data = prepare_competition(make_spec(tmp_path), train, test)
    assert "f_flag" in data.categorical
    assert data.test is not None and data.test["f_flag"].to_list() == ["true", "false", "maybe"]


def test_test_ids_of_another_type_are_compared(tmp_path: Path) -> None:
    test = good_test().with_columns(pl.Series("row_id", ["a101", "a102", "a103"]))
    data = prepare_competition(make_spec(tmp_path), good_train(), test)
    assert data.test_ids is not None and data.test_ids.to_list() == ["a101", "a102", "a103"]


# ---------------------------------------------------------------------------------------------- the target
def test_class_labels_become_codes_in_sorted_order(tmp_path: Path) -> None:
    labels = ["malignant", "benign", "benign", "malignant", "benign", "benign", "malignant", "benign"]
    train = good_train().with_columns(pl.Series("target", labels))
    data = prepare_competition(make_spec(tmp_path), train, good_test())
    assert data.classes == ("benign", "malignant") and data.n_classes == 2
    assert data.y.tolist() == [1, 0, 0, 1, 0, 0, 1, 0]
    assert np.issubdtype(data.y.dtype, np.integer)
    decoded = np.asarray(data.classes, dtype=object)[data.y]
    assert decoded.tolist() == labels


def test_test_ids_numbered_from_1_as_train_s_are_warned_and_read(tmp_path: Path) -> None:
    """Otto numbers its train rows and its test rows from 1 each: test ids that are train ids on other rows name rows
    of their own file. It stopped the run (`appear in both train and test ... must be different rows`); now a
    warning names them and the rows are read (a test row repeating its train row's values is still an error)."""
    test = good_test().with_columns(pl.Series("row_id", [1, 2, 3]))
    with pytest.warns(DataWarning) as caught:
        data = prepare_competition(make_spec(tmp_path), good_train(), test)
    assert (
        "3 test id(s) in column 'row_id' are also train ids (e.g. 1), on other rows: each file numbers its own rows, "
        "as Otto's train and test both count from 1. The run goes on; the submission takes the test file's ids"
    ) in [str(w.message) for w in caught]
    assert data.test_ids is not None and data.test_ids.to_list() == [1, 2, 3]


def test_test_ids_numbered_from_1_on_rows_alike_by_chance_are_warned(tmp_path: Path) -> None:
    """A table of one coarse column (mostly 'a'): 27 of test's 30 rows are alike the train row of their id, as
    alike as rows of two other ids are (the chance pairing: each test row beside the train row of another id). Not
    the copy of train rows that most rows alike would else be taken for: a warning, as Otto's."""
    train = pl.DataFrame({"row_id": range(1, 41), "c": ["a"] * 36 + ["b"] * 4, "target": [0, 1] * 20})
    test = pl.DataFrame({"row_id": range(1, 31), "c": ["a"] * 27 + ["b"] * 3})
    with pytest.warns(DataWarning) as caught:
        prepare_competition(make_spec(tmp_path), train, test)
    said = [str(w.message) for w in caught]
    assert any(
        m.startswith("30 test id(s) in column 'row_id' are also train ids (e.g. 1), on other rows (27 of them")
        for m in said
    ), said


@pytest.mark.parametrize("differs", [None, 0, 5, 69])
def test_test_rows_of_train_are_told_by_every_numeric_column(tmp_path: Path, differs: int | None) -> None:
    """Numbers are compared a block of columns at a time (4, then 64) on the rows still alike: test rows of train's ids
    and values (70 columns of pixels, say) are refused, and rows differing in any one column, the first block's or
    a later one's, are other rows."""
    rng = np.random.default_rng(0)
    pixels = {f"p{j}": rng.integers(0, 255, 12) for j in range(70)}
    train = pl.DataFrame({"row_id": range(12), **pixels, "target": [0, 1] * 6})
    test = train.drop("target").head(6)
    if differs is None:
        with pytest.raises(DataError, match=r"6 id\(s\) in column 'row_id' appear in both train and test"):
            prepare_competition(make_spec(tmp_path), train, test)
        return
    test = test.with_columns(pl.col(f"p{differs}") + 300)
    with pytest.warns(
        DataWarning, match=r"6 test id\(s\) in column 'row_id' are also train ids \(e\.g\. 0\), on other"
    ):
        prepare_competition(make_spec(tmp_path), train, test)


@pytest.mark.parametrize("layout", ["images", "sequences"])
def test_streamed_test_rows_that_are_train_s_files_or_sequences_are_refused(tmp_path: Path, layout: str) -> None:
    """Test ids naming train's own images (one folder for both) or train's own sequences: their streamed rows hold
    positions (train's rows first, then test's), which always differ, so a test of train's rows was warned of as
    'other rows' (the table's copy, or the pixel columns', was refused). The files and the steps are compared."""
    data: dict[str, Any] = {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"}
    rng = np.random.default_rng(0)
    if layout == "images":
        from PIL import Image

        (tmp_path / "images").mkdir()
        for i in range(12):
            Image.fromarray(rng.integers(0, 255, (4, 4)).astype(np.uint8)).save(tmp_path / "images" / f"{i}.png")
        data["images"] = {"folder": "images", "channels": 1, "mode": "stream"}
        model = {"name": "cnn", "kind": "cnn", "params": {"image_shape": [4, 4, 1]}}
    else:
        steps = [(i, t, float(rng.normal())) for i in range(12) for t in range(5)]
        long = pl.DataFrame(steps, schema=["id", "step", "a"], orient="row")
        long.write_csv(tmp_path / "X_train.csv")
        long.filter(pl.col("id") < 6).write_csv(tmp_path / "X_test.csv")
        sequences = {"train": "X_train.csv", "test": "X_test.csv", "order_by": "step", "layout": "streamed"}
        data["sequences"] = sequences | {"aggregates": ["mean"]}
        model = {"name": "c", "kind": "cnn1d"}
    pl.DataFrame({"id": range(12), "y": [0, 1] * 6}).write_csv(tmp_path / "train.csv")
    pl.DataFrame({"id": range(6)}).write_csv(tmp_path / "test.csv")  # train's ids 0 .. 5: their files, their steps
    raw = {"name": "s", "task": "binary", "metric": "accuracy", "data": data, "models": [model]}
    with pytest.raises(DataError, match=r"6 id\(s\) in column 'id' appear in both train and test \(e\.g\. \d\) with"):
        load_competition(build_spec(raw, base_dir=tmp_path))


def test_class_labels_differing_only_in_case_are_warned_and_kept_apart(tmp_path: Path) -> None:
    """'Yes', 'yes' and 'YES' were three classes without a word (a yes/no target ran as 5 classes, its CV fell). They
    stay apart ('a' and 'A' may be two classes), with a warning naming them; labels cased one way say nothing."""
    labels = ["Yes", "no", "yes", "No", "YES", "No", "Yes", "No"]
    train = good_train().with_columns(pl.Series("target", labels))
    with pytest.warns(DataWarning) as caught:
        data = prepare_competition(make_spec(tmp_path, task="multiclass"), train, good_test())
    said = [str(w.message) for w in caught]
    assert (
        "class labels of 'target' differ only in case ('No', 'no'; 'YES', 'Yes', 'yes'): each is a class of its own "
        "(5 classes, 2 with case aside); if they are one class, write them alike in the train file"
    ) in said
    assert data.n_classes == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lower = good_train().with_columns(pl.Series("target", labels).str.to_lowercase())
        assert prepare_competition(make_spec(tmp_path, test=None), lower, None).classes == ("no", "yes")


def test_multiclass_codes_follow_sorted_classes(tmp_path: Path) -> None:
    iris = load_iris()
    names = np.asarray(["setosa", "versicolor", "virginica"])[iris.target]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(names))
    train = pl.DataFrame(iris.data[order], schema=["a", "b", "c", "d"], orient="row").with_columns(
        pl.Series("row_id", np.arange(150)), pl.Series("target", names[order])
    )
    data = prepare_competition(make_spec(tmp_path, task="multiclass", test=None), train, None)
    assert data.classes == ("setosa", "versicolor", "virginica") and data.n_classes == 3
    np.testing.assert_array_equal(data.y, iris.target[order])

    numeric = train.with_columns(pl.Series("target", (iris.target[order] + 1) * 10))  # 10, 20, 30
    data = prepare_competition(make_spec(tmp_path, task="multiclass", test=None), numeric, None)
    assert data.classes == (10, 20, 30)
    np.testing.assert_array_equal(data.y, iris.target[order])


def test_whole_float_class_labels_are_accepted(tmp_path: Path) -> None:
    train = good_train().with_columns(pl.col("target").cast(pl.Float64))
    data = prepare_competition(make_spec(tmp_path), train, good_test())
    assert data.classes == (0.0, 1.0)
    assert data.y.tolist() == good_train()["target"].to_list()


def test_regression_target_is_float(tmp_path: Path) -> None:
    diabetes = load_diabetes()
    train = pl.DataFrame(diabetes.data, schema=[f"x{i}" for i in range(10)], orient="row").with_columns(
        pl.Series("row_id", np.arange(442)), pl.Series("target", diabetes.target.astype(np.int64))
    )
    data = prepare_competition(make_spec(tmp_path, task="regression", test=None), train, None)
    assert data.y.dtype == np.float64 and data.classes is None and data.n_classes == 1
    np.testing.assert_array_equal(data.y, diabetes.target)


# ---------------------------------------------------------------------------------------------- fingerprint
def test_fingerprint_is_stable_for_equal_data(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    first = prepare_competition(spec, good_train(), good_test()).fingerprint()
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert prepare_competition(spec, good_train(), good_test()).fingerprint() == first
    write(good_train(), tmp_path / "train.parquet")
    write(good_test(), tmp_path / "test.parquet")
    assert load_competition(spec).fingerprint() == first


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda tr, te: (tr.with_columns(pl.Series("f_num", [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.6])), te),
            id="one-train-value",
        ),
        pytest.param(lambda tr, te: (tr, te.with_columns(pl.Series("f_cat", ["a", "c", "y"]))), id="one-test-value"),
        pytest.param(
            lambda tr, te: (tr.with_columns(pl.Series("target", [1, 1, 0, 1, 0, 1, 1, 0])), te), id="one-label"
        ),
        pytest.param(lambda tr, te: (tr.reverse(), te), id="row-order"),
        pytest.param(lambda tr, te: (tr.rename({"f_num": "f_other"}), te.rename({"f_num": "f_other"})), id="rename"),
        pytest.param(lambda tr, te: (tr, te[:2]), id="fewer-test-rows"),
    ],
)
def test_fingerprint_changes_with_the_data(tmp_path: Path, change: Callable[..., Any]) -> None:
    spec = make_spec(tmp_path)
    before = prepare_competition(spec, good_train(), good_test()).fingerprint()
    train, test = change(good_train(), good_test())
    assert prepare_competition(spec, train, test).fingerprint() != before


def test_fingerprint_changes_with_the_roles(tmp_path: Path) -> None:
    base = prepare_competition(make_spec(tmp_path), good_train(), good_test()).fingerprint()
    dropped = prepare_competition(make_spec(tmp_path, drop=["f_num"]), good_train(), good_test()).fingerprint()
    as_category = prepare_competition(make_spec(tmp_path, categorical=["f_int"]), good_train(), good_test())
    assert len({base, dropped, as_category.fingerprint()}) == 3
