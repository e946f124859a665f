"""Test dates outside the training range: a test file later (or earlier) in time than train, which a random K-fold
CV does not see. Told, never refused: from each date column's minimum and maximum, and one comparison per value."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ..errors import name_a_few

#: Warn when more than this share of a column's test dates lies outside train's [first, last] date.
OUTSIDE_SHARE = 0.5


def dates_outside_train(
    train: pl.DataFrame, test: pl.DataFrame, columns: Sequence[str], fold_strategy: str
) -> str | None:
    """A warning's text when most test values of a Date / Datetime column lie outside train's range (``columns``:
    those to look at, e.g. the features); None when the ranges overlap as a random split's do, or the folds are in
    time already (``fold_strategy = 'time'``: validated on later rows, as the leaderboard will be)."""
    if fold_strategy == "time":
        return None
    found = []
    train_schema, test_schema = train.schema, test.schema  # each access rebuilds it: once, not per column
    for col in columns:
        if col not in test_schema or not isinstance(train_schema[col], pl.Date | pl.Datetime):
            continue
        values = _comparable(train_schema[col], test[col])
        if values is None:
            continue  # Date in one file, Datetime in the other: no comparison without a guess at the time of day
        shifted = _outside(train[col], values)
        if shifted is not None:
            found.append((col, *shifted))
    if not found:
        return None
    described = name_a_few(
        [
            f"column {col!r}: train {t_lo} .. {t_hi}, test {s_lo} .. {s_hi} ({_share(share)} of the test dates {where})"
            for col, t_lo, t_hi, s_lo, s_hi, share, where in found
        ],
        "column(s)",
    )
    first, later = found[0][0], all(where.startswith("after") for *_, where in found)
    fix = (
        f"validate on later rows as the leaderboard will, with [folds] strategy = 'time' and time = {first!r} (the "
        "column then orders the folds and is no feature), or expect the leaderboard below the CV"
        if later
        else "expect the leaderboard below the CV (time-ordered folds validate on later rows, which these are not)"
    )
    return (
        f"most test dates lie outside the train dates ({described}): the test rows are from another time than "
        "the training rows (time-based drift), so a random K-fold CV, which validates on rows from train's own time, "
        f"will be optimistic; {fix}"
    )


def _comparable(dtype: pl.DataType, test: pl.Series) -> pl.Series | None:
    """``test`` in the train column's ``dtype`` (another time unit, another time zone converted), or None when the two
    cannot be compared without a guess (a Date beside a Datetime, a time zone beside none)."""
    if test.dtype == dtype:
        return test
    if not (isinstance(dtype, pl.Datetime) and isinstance(test.dtype, pl.Datetime)):
        return None
    zone, test_zone = dtype.time_zone, test.dtype.time_zone
    if (zone is None) != (test_zone is None):
        return None
    if zone is not None and zone != test_zone:
        test = test.dt.convert_time_zone(zone)
    return test.cast(dtype)


def _share(share: float) -> str:
    """A majority as a percentage that reads as one: 50.4 % is not '50%'."""
    return f"{share:.0%}" if round(share * 100) > 50 else f"{share:.1%}"


def _outside(train: pl.Series, test: pl.Series) -> tuple[object, object, object, object, float, str] | None:
    """(train's first, last, test's first, last, the share of test dates outside, where) when that share is a
    majority; None otherwise, or when either file has no date in the column."""
    t_lo, t_hi, s_lo, s_hi = train.min(), train.max(), test.min(), test.max()
    n = test.len() - test.null_count()
    if t_lo is None or s_lo is None or n == 0:
        return None
    after = int((test > t_hi).sum())
    before = int((test < t_lo).sum())
    if after + before <= OUTSIDE_SHARE * n:
        return None
    if before == 0:
        where = "after train's last date"
    elif after == 0:
        where = "before train's first date"
    else:
        where = "outside train's range"
    return t_lo, t_hi, s_lo, s_hi, (after + before) / n, where


def date_ranges(train: pl.DataFrame, columns: Sequence[str]) -> dict[str, dict[str, object]]:
    """The first and last value of each Date / Datetime column of ``columns`` as JSON (their physical integers, the
    dtype's unit and time zone): what ``kaggle-kit predict`` compares a new test file with."""
    schema, out = train.schema, {}
    for col in columns:
        dtype = schema.get(col)
        if not isinstance(dtype, pl.Date | pl.Datetime) or train[col].null_count() == train.height:
            continue
        physical = train[col].to_physical()
        out[col] = {"first": int(physical.min()), "last": int(physical.max())}  # type: ignore[arg-type]
        if isinstance(dtype, pl.Datetime):
            out[col].update(unit=dtype.time_unit, zone=dtype.time_zone)
    return out


def ranges_frame(ranges: dict[str, dict[str, object]]) -> pl.DataFrame:
    """Two rows (first, last) per recorded column, in its dtype: a stand-in for the training rows that
    :func:`dates_outside_train` reads only the minimum and maximum of."""
    columns = {}
    for col, r in ranges.items():
        values = pl.Series(col, [r["first"], r["last"]], dtype=pl.Int64)
        if "unit" in r:
            columns[col] = values.cast(pl.Datetime(r["unit"], r["zone"]))  # type: ignore[arg-type]
        else:
            columns[col] = values.cast(pl.Int32).cast(pl.Date)
    return pl.DataFrame(columns)
