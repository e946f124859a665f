"""Test dates outside the training range (a test file later in time than train): one warning naming the column,
both ranges and what it means for a random K-fold CV; none when the ranges overlap as a random split's do."""

from __future__ import annotations

import json
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.errors import DataWarning
from kaggle_kit.predict.api import predict
from kaggle_kit.readers.competition import prepare_competition
from kaggle_kit.readers.dates import date_ranges, ranges_frame
from kaggle_kit.runtime.runner import run

MODEL = {"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
DAY0 = date(2020, 1, 1)


def frames(train_days: list[int], test_days: list[int], *, as_datetime: bool = False) -> tuple[pl.DataFrame, ...]:
    rng = np.random.default_rng(0)

    def when(days: list[int]) -> list[object]:
        if as_datetime:
            return [datetime(2020, 1, 1, 6, 30) + timedelta(days=d) for d in days]
        return [DAY0 + timedelta(days=d) for d in days]

    n, m = len(train_days), len(test_days)
    train = pl.DataFrame(
        {"id": range(n), "date": when(train_days), "x": rng.normal(size=n), "y": [i % 2 for i in range(n)]}
    )
    test = pl.DataFrame({"id": range(n, n + m), "date": when(test_days), "x": rng.normal(size=m)})
    return train, test


def drift_warnings(train: pl.DataFrame, test: pl.DataFrame, **folds: object) -> list[str]:
    spec = build_spec(
        {
            "name": "d",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"},
            "folds": folds,
            "models": [MODEL],
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepare_competition(spec, train, test)
    return [str(w.message) for w in caught if issubclass(w.category, DataWarning) and "test dates" in str(w.message)]


def test_test_dates_after_train_are_warned_once_with_both_ranges_and_the_time_folds_fix() -> None:
    said = drift_warnings(*frames(list(range(0, 360, 9)), list(range(400, 480, 7))))
    assert len(said) == 1
    message = said[0]
    assert "column 'date': train 2020-01-01 .. 2020-12-17, test 2021-02-04 .. 2021-04-22" in message
    assert "100% of the test dates after train's last date" in message
    assert "time-based drift" in message and "random K-fold CV" in message and "optimistic" in message
    assert "[folds] strategy = 'time' and time = 'date'" in message


def test_test_dates_before_train_are_named_so() -> None:
    said = drift_warnings(*frames(list(range(400, 760, 9)), list(range(0, 80, 7))))
    assert len(said) == 1 and "before train's first date" in said[0]


def test_datetimes_are_compared_too() -> None:
    said = drift_warnings(*frames(list(range(0, 360, 9)), list(range(400, 480, 7)), as_datetime=True))
    assert len(said) == 1 and "train 2020-01-01 06:30:00 .. 2020-12-17 06:30:00" in said[0]


@pytest.mark.parametrize(
    "test_days",
    [
        list(range(3, 360, 30)),  # a random split: test dates among train's
        [100, 200, 300, 350, 370, 380, 390],  # 3 of 7 after train's last date: not most
    ],
)
def test_no_warning_when_the_ranges_overlap(test_days: list[int]) -> None:
    assert drift_warnings(*frames(list(range(0, 360, 9)), test_days)) == []


def test_no_warning_when_the_folds_are_in_time_already() -> None:
    train, test = frames(list(range(0, 360, 9)), list(range(400, 480, 7)))
    assert drift_warnings(train, test, strategy="time", time="date") == []


def test_test_dates_before_train_do_not_advise_time_folds() -> None:
    """Time-ordered folds validate on later rows; a test file from before train is not that."""
    (message,) = drift_warnings(*frames(list(range(400, 760, 9)), list(range(0, 80, 7))))
    assert "strategy = 'time'" not in message and "expect the leaderboard below the CV" in message


def test_another_time_unit_or_zone_in_test_is_compared_and_missing_dates_are_not_counted() -> None:
    train, test = frames(list(range(0, 360, 9)), list(range(400, 480, 7)), as_datetime=True)
    test = test.with_columns(pl.col("date").dt.cast_time_unit("ms"))  # train's are microseconds
    nulls = pl.DataFrame({"id": [900, 901, 902], "date": [None, None, None], "x": [0.0] * 3}, schema=test.schema)
    (message,) = drift_warnings(train, pl.concat([test, nulls]))
    assert "100% of the test dates after train's last date" in message  # the 3 missing dates are no test dates
    zoned = [f.with_columns(pl.col("date").dt.replace_time_zone("UTC")) for f in (train, test)]
    paris = zoned[1].with_columns(pl.col("date").dt.convert_time_zone("Europe/Paris"))
    assert len(drift_warnings(zoned[0], paris)) == 1


def test_a_bare_majority_reads_as_one_and_many_columns_are_counted() -> None:
    train, test = frames(list(range(0, 360, 9)), [400 + i for i in range(501)] + [10 + i % 300 for i in range(499)])
    (message,) = drift_warnings(train, test)
    assert "(50.1% of the test dates after train's last date)" in message
    wide_train = train.with_columns(pl.col("date").alias(f"d{i}") for i in range(7))
    wide_test = frames(list(range(0, 360, 9)), list(range(400, 480, 7)))[1]
    wide_test = wide_test.with_columns(pl.col("date").alias(f"d{i}") for i in range(7))
    (message,) = drift_warnings(wide_train, wide_test)
    assert "column 'd3'" in message and "column 'd4'" not in message and "and 3 more column(s)" in message


def test_recorded_ranges_stand_in_for_the_training_rows_in_every_dtype() -> None:
    stamp = datetime(2020, 1, 1, 6, 30)
    train = pl.DataFrame(
        {
            "d": [DAY0, DAY0 + timedelta(days=40), None],
            "t": pl.Series([stamp, stamp + timedelta(hours=5), stamp], dtype=pl.Datetime("ms", "Europe/Paris")),
            "x": [1.0, 2.0, 3.0],
            "empty": pl.Series([None, None, None], dtype=pl.Date),
        }
    )
    ranges = date_ranges(train, train.columns)
    assert set(ranges) == {"d", "t"}  # not a number, not a column without a date
    back = ranges_frame(json.loads(json.dumps(ranges)))  # as the run folder's meta stores them
    assert back.schema == {"d": pl.Date, "t": pl.Datetime("ms", "Europe/Paris")}
    assert back["d"].to_list() == [DAY0, DAY0 + timedelta(days=40)]
    assert back["t"].to_list() == [train["t"].min(), train["t"].max()]


def test_predict_warns_of_a_new_test_file_later_than_the_training_dates(tmp_path: Path) -> None:
    train, test = frames(list(range(0, 360, 9)), list(range(3, 360, 30)))  # the run's own test: among train's dates
    spec = build_spec(
        {
            "name": "d",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [MODEL],
        },
        base_dir=tmp_path,
    )
    result = run(spec, runs_root=tmp_path / "runs", train=train, test=test, progress=None, record_history=False)
    later = frames(list(range(0, 360, 9)), list(range(400, 480, 7)))[1]
    for new, expected in ((test, 0), (later, 1)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            predict(result.run_dir, new, model="lr", out=tmp_path / "p.csv")
        said = [
            str(w.message) for w in caught if issubclass(w.category, DataWarning) and "test dates" in str(w.message)
        ]
        assert len(said) == expected
    assert "column 'date': train 2020-01-01 .. 2020-12-17, test 2021-02-04 .. 2021-04-22" in said[0]
