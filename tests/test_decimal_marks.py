"""Files whose numbers use different decimal marks: a ';'-separated train file with decimal commas beside a test file
written apart (','-separated with dots, or ';'-separated with dots). Both read as the same numbers, or an error names
the file, the column, a value and the exact [data] key; never a number read as text or as another number."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.errors import ConfigError, DataError
from kaggle_kit.readers.competition import load_competition

TRAIN = "id;x;cat;y\n1;1,5;a;0\n2;2,25;b;1\n3;3,0;a;0\n4;-0,5;b;1\n"
MODEL = {"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}


def spec(folder: Path, test: str, *, train: str = TRAIN, **data: object):
    (folder / "train.csv").write_text(train)
    (folder / "test.csv").write_text(test)
    keys = {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y", **data}
    return build_spec(
        {"name": "t", "task": "binary", "metric": "roc_auc", "data": keys, "models": [MODEL]}, base_dir=folder
    )


def test_comma_separated_test_file_with_dots_reads_as_the_decimal_comma_train(tmp_path: Path) -> None:
    """data.decimal = ',' (for train) used to stop on the ','-separated test file ("set data.separator")."""
    data = load_competition(spec(tmp_path, "id,x,cat\n5,1.5,a\n6,2.75,b\n", decimal=","))
    assert data.train["x"].to_list() == [1.5, 2.25, 3.0, -0.5]
    assert data.test["x"].to_list() == [1.5, 2.75]
    assert data.train.schema["x"] == data.test.schema["x"] == pl.Float64


def test_quoted_decimal_commas_in_a_comma_separated_file_are_numbers(tmp_path: Path) -> None:
    data = load_competition(spec(tmp_path, 'id,x,cat\n5,"1,5",a\n6,"2,75",b\n', decimal=","))
    assert data.test["x"].to_list() == [1.5, 2.75]  # not the text '1,5', nor 15


def test_semicolon_test_file_with_dots_names_the_file_column_value_and_per_file_key(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_competition(spec(tmp_path, "id;x;cat\n5;1.5;a\n6;2.75;b\n", decimal=","))
    message = str(err.value)
    assert "column 'x' of the test file" in message and "test.csv" in message
    assert "like '1.5'" in message
    assert "set decimal = { train = ',', test = '.' } in [data]" in message


def test_the_per_file_key_the_error_gives_reads_both_files(tmp_path: Path) -> None:
    data = load_competition(spec(tmp_path, "id;x;cat\n5;1.5;a\n6;2.75;b\n", decimal={"train": ",", "test": "."}))
    assert data.train["x"].to_list() == [1.5, 2.25, 3.0, -0.5]
    assert data.test["x"].to_list() == [1.5, 2.75]
    assert data.train.schema["x"] == data.test.schema["x"] == pl.Float64


def test_a_test_file_with_decimal_commas_beside_a_dotted_train_gets_the_per_file_key(tmp_path: Path) -> None:
    s = spec(tmp_path, "id;x;cat\n5;1,5;a\n6;2,75;b\n")
    (tmp_path / "train.csv").write_text("id,x,cat,y\n1,1.5,a,0\n2,2.25,b,1\n3,3.0,a,0\n")
    with pytest.raises(DataError, match=r"column 'x' of the test file .* set decimal = \{ train = '\.', test = ',' \}"):
        load_competition(s)


def test_a_table_naming_another_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data.decimal: must be '\.' or ',', or one per file as"):
        spec(tmp_path, "id,x,cat\n5,1.5,a\n", decimal={"tarin": ","})


def test_dots_in_a_comma_separated_file_are_refused_when_dots_group_thousands(tmp_path: Path) -> None:
    """1.500 in a ','-separated file cannot use the decimal comma: 1.5, or 1500 as data.thousands = '.' says?"""
    s = spec(tmp_path, "id,x,cat\n5,1.500,a\n6,2,b\n", decimal=",", thousands=".")
    with pytest.raises(
        DataError, match=r"column 'x' of the test file .* holds numbers like '1\.500': .* save the file"
    ):
        load_competition(s)


def test_a_comma_separated_file_of_whole_numbers_is_read_beside_dot_thousands(tmp_path: Path) -> None:
    data = load_competition(spec(tmp_path, 'id,x,cat\n5,"1.500,5",a\n6,2,b\n', decimal=",", thousands="."))
    assert data.test["x"].to_list() == [1500.5, 2.0]  # the quoted number read as data.thousands and decimal say


def test_dots_that_cannot_group_thousands_are_read_beside_dot_thousands(tmp_path: Path) -> None:
    """2.75 is no thousands grouping: read as 2.75; the refusal names the column that holds '1.500', not the first
    float column."""
    data = load_competition(spec(tmp_path, "id,x,cat\n5,2.75,a\n6,0.5,b\n", decimal=",", thousands="."))
    assert data.test["x"].to_list() == [2.75, 0.5]
    train = "id;a;x;cat;y\n1;1,5;1,5;a;0\n2;2,25;2,25;b;1\n"
    two_floats = spec(tmp_path, "id,a,x,cat\n5,1e5,1.500,a\n6,2.5,2,b\n", train=train, decimal=",", thousands=".")
    with pytest.raises(DataError, match=r"column 'x' of the test file .* like '1\.500'"):
        load_competition(two_floats)


def test_numbers_no_setting_can_read_beside_the_train_file_say_to_save_the_file(tmp_path: Path) -> None:
    """Train's decimal comma and test's '1,234.5': data.thousands = ',' (one for all files) would clash with train's
    decimal mark, which the config refuses; the error must not suggest it."""
    with pytest.raises(DataError) as err:
        load_competition(spec(tmp_path, "id;x;cat\n5;1,234.5;a\n6;2,000.25;b\n", decimal=","))
    message = str(err.value)
    assert "column 'x' of the test file" in message and "like '1,234.5'" in message
    assert "save this file with its numbers written without thousands grouping" in message
    assert "thousands = ','" not in message
