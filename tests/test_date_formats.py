"""Dates written as text (``03/22/2022``, ``22 Mar 2022``): read as dates with the one usual format that reads every
train value, the same format for test and for a later test file; text where day and month cannot be told apart;
``data.date_formats`` applied as written."""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec, load_spec
from kaggle_kit.errors import ConfigError, DataError, DataWarning
from kaggle_kit.predict.api import predict
from kaggle_kit.readers.competition import prepare_competition
from kaggle_kit.readers.date_formats import find_formats
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

DAY0 = date(2020, 1, 1)


def _text(days: np.ndarray, fmt: str) -> list[str]:
    return [(DAY0 + timedelta(days=int(d))).strftime(fmt) for d in days]


@pytest.mark.parametrize(
    ("fmt", "found"),
    [
        ("%m/%d/%Y", "%m/%d/%Y"),
        ("%d/%m/%Y", "%d/%m/%Y"),
        ("%m/%d/%y", "%m/%d/%y"),
        ("%d %b %Y", "%d %B %Y"),  # %B reads abbreviations too
        ("%d %B %Y", "%d %B %Y"),
        ("%b %d, %Y", "%B %d, %Y"),
        ("%d-%b-%y", "%d-%B-%y"),
        ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M"),
        ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M %p"),
    ],
)
def test_the_one_format_that_reads_every_value_is_found(fmt: str, found: str) -> None:
    days = np.arange(0, 900, 7)
    frame = pl.DataFrame({"when": _text(days, fmt), "code": ["a/b/c"] * days.size})
    assert find_formats(frame, skip=()) == ({"when": found}, {})


def test_day_and_month_that_cannot_be_told_apart_are_ambiguous_and_a_non_date_is_nothing() -> None:
    first_days = [(date(2021, m, d)).strftime("%m/%d/%Y") for m in range(1, 13) for d in (1, 5, 12)]
    frame = pl.DataFrame({"when": first_days, "mixed": ["03/22/2022"] * 35 + ["soon"]})
    found, ambiguous = find_formats(frame, skip=())
    assert found == {} and ambiguous == {"when": ["%m/%d/%Y", "%d/%m/%Y"]}
    assert find_formats(frame, skip=("when",)) == ({}, {})


def _spec(tmp_path: Path, **data: object) -> object:
    raw = {
        "name": "dates",
        "task": "regression",
        "metric": "rmse",
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y", **data},
        "folds": {"n_splits": 3},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "models": [{"name": "lgbm", "kind": "lightgbm", "num_boost_round": 60}],
    }
    return build_spec(raw, base_dir=tmp_path)


def _files(tmp_path: Path, fmt: str = "%m/%d/%Y") -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    days = rng.integers(0, 1000, 300)
    y = days / 100 + rng.normal(size=days.size) * 0.3
    frame = pl.DataFrame({"id": range(days.size), "when": _text(days, fmt), "x": rng.normal(size=days.size), "y": y})
    frame[:240].write_csv(tmp_path / "train.csv")
    frame[240:].drop("y").write_csv(tmp_path / "test.csv")
    return days, y


def test_a_run_reads_us_dates_as_dates_records_the_format_and_predict_reads_a_new_file_the_same(
    tmp_path: Path,
) -> None:
    """The date was the signal: read as text (a category per day) LightGBM scored as the baseline (RMSE ~2.9). Read
    as dates it is learnt; the format goes into the run's spec.toml, and predict on the test file, read with it,
    gives the run's own test predictions."""
    _files(tmp_path)
    with pytest.warns(DataWarning, match=r"'when' \(e.g. '\d\d/\d\d/\d{4}': '%m/%d/%Y'\) hold dates"):
        result = run(_spec(tmp_path), runs_root=tmp_path / "runs", progress=None, record_history=False)
    scores = {m.name: m.cv for m in result.models}
    assert scores["lgbm"] < 0.5 * scores["baseline"], scores
    recorded = load_spec(result.run_dir / "spec.toml")
    assert recorded.data.date_formats == {"when": "%m/%d/%Y"}
    stored = RunStore(result.run_dir).read_predictions("lgbm", "test")
    again = predict(result.run_dir, tmp_path / "test.csv", model="lgbm")
    assert again.columns == stored.columns
    np.testing.assert_allclose(again.to_series(1).to_numpy(), stored.to_series(1).to_numpy(), rtol=1e-6)
    # a new file whose days are all <= 12 reads month first, as the run did (polars alone read them day first)
    new = tmp_path / "new.csv"
    new.write_text("id,when,x\n900,01/12/2021,0.1\n901,02/11/2021,0.2\n902,03/10/2021,0.3\n")
    typed = pl.DataFrame(
        {"id": [900, 901, 902], "when": [date(2021, 1, 12), date(2021, 2, 11), date(2021, 3, 10)], "x": [0.1, 0.2, 0.3]}
    )
    from_file, from_dates = predict(result.run_dir, new, model="lgbm"), predict(result.run_dir, typed, model="lgbm")
    np.testing.assert_allclose(from_file.to_series(1).to_numpy(), from_dates.to_series(1).to_numpy(), rtol=1e-6)
    assert np.ptp(from_file.to_series(1).to_numpy()) > 0.1  # the dates matter to the model


def test_frames_in_memory_and_a_given_format_are_read_alike(tmp_path: Path) -> None:
    """A notebook's frames get the same reading; a format given in the config wins (day first here), and a value it
    does not read is an error naming the column, the value and the fixes."""
    _files(tmp_path, "%d/%m/%Y")
    train, test = pl.read_csv(tmp_path / "train.csv"), pl.read_csv(tmp_path / "test.csv")
    data = prepare_competition(_spec(tmp_path, date_formats={"when": "%d/%m/%Y"}), train, test)
    assert data.train.schema["when"] == pl.Date and data.test is not None and data.test.schema["when"] == pl.Date
    assert data.date_formats == {"when": "%d/%m/%Y"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a given format: nothing found, nothing said
        prepare_competition(_spec(tmp_path, date_formats={"when": "%d/%m/%Y"}), train, test)
    bad = test.with_columns(pl.when(pl.col("id") == 250).then(pl.lit("soon")).otherwise(pl.col("when")).alias("when"))
    with pytest.raises(DataError, match=r"column 'when' of the test rows holds 'soon' \(1 value\(s\)\), which the"):
        prepare_competition(_spec(tmp_path), train, bad)


def test_ambiguous_dates_stay_text_with_the_setting_named(tmp_path: Path) -> None:
    days = [date(2021, m, d) for m in range(1, 13) for d in (1, 5, 12)] * 3
    train = pl.DataFrame({"id": range(len(days)), "when": [d.strftime("%m/%d/%Y") for d in days], "y": range(108)})
    with pytest.warns(DataWarning, match=r"data.date_formats = \{ when = '%m/%d/%Y' \} \(or another of them\)"):
        data = prepare_competition(_spec(tmp_path), train.with_columns(pl.col("y").cast(pl.Float64)), None)
    assert data.train.schema["when"] == pl.String and data.date_formats == {}


def test_a_date_format_without_percent_codes_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"data.date_formats: when = 'dd/mm/yyyy' is no strptime format"):
        build_spec(
            {
                "name": "d",
                "task": "regression",
                "metric": "rmse",
                "data": {"train": "t.csv", "target": "y", "date_formats": {"when": "dd/mm/yyyy"}},
                "models": [{"name": "lgbm", "kind": "lightgbm"}],
            }
        )


def test_predict_reads_a_new_files_text_dates_where_train_had_dates_as_run_reads_its_test_file(tmp_path: Path) -> None:
    """Train's ISO dates, a new file's '01/31/2021': ``run`` reads such a test file with the one format that reads it
    (competition._text_dates); predict had refused it ('Date in train but String in test'), and a run made before
    data.date_formats (its polars read '22.03.2022' itself; such a column now stays text) alike."""
    _files(tmp_path, "%Y-%m-%d")
    result = run(_spec(tmp_path), runs_root=tmp_path / "runs", progress=None, record_history=False)
    new = tmp_path / "new.csv"
    new.write_text("id,when,x\n900,01/31/2021,0.1\n901,02/11/2021,0.2\n902,03/10/2021,0.3\n")
    typed = pl.DataFrame(
        {"id": [900, 901, 902], "when": [date(2021, 1, 31), date(2021, 2, 11), date(2021, 3, 10)], "x": [0.1, 0.2, 0.3]}
    )
    with pytest.warns(DataWarning, match=r"'when' \(e.g. '01/31/2021': '%m/%d/%Y'\) of the test file \(dates in"):
        from_file = predict(result.run_dir, new, model="lgbm")
    from_dates = predict(result.run_dir, typed, model="lgbm")
    np.testing.assert_allclose(from_file.to_series(1).to_numpy(), from_dates.to_series(1).to_numpy(), rtol=1e-6)
    dotted = tmp_path / "dotted.csv"
    dotted.write_text("id,when,x\n900,31.01.2021,0.1\n901,11.02.2021,0.2\n902,10.03.2021,0.3\n")
    with pytest.warns(DataWarning, match="'%d.%m.%Y'"):
        np.testing.assert_allclose(
            predict(result.run_dir, dotted, model="lgbm").to_series(1).to_numpy(),
            from_dates.to_series(1).to_numpy(),
            rtol=1e-6,
        )


def test_a_code_read_as_a_date_far_from_now_is_no_date() -> None:
    """'13-05-1234' reads as 13 May 1234 with '%d-%m-%Y': a code, not a date; years outside 1800-2200 are refused."""
    frame = pl.DataFrame({"code": ["13-05-1234", "14-06-1235", "15-07-1236"], "day": ["13-05-1999"] * 3})
    assert find_formats(frame, ()) == ({"day": "%d-%m-%Y"}, {})


def test_a_column_of_times_spelled_two_ways_is_read_as_text_not_a_failed_file(tmp_path: Path) -> None:
    """polars takes a column for times from its first values ('10:00') and stopped the whole file at the others
    ('10:00:05': "conversion from `str` to `time` failed"). The column is read as text, also where the file is read
    again for train's text columns that its own values read as numbers (a test file's codes '7', '8')."""
    from kaggle_kit.readers.tables import ReadOptions, read_table

    path = tmp_path / "test.csv"
    path.write_text("code,at,x\n7,10:00,1.5\n8,10:00:05,2.5\n")
    for options in (ReadOptions(), ReadOptions(text=("code",))):
        frame = read_table(path, role="test", options=options)
        assert frame["at"].to_list() == ["10:00", "10:00:05"] and frame["x"].to_list() == [1.5, 2.5]
    assert read_table(path, role="test", options=ReadOptions(text=("code",)))["code"].to_list() == ["7", "8"]
