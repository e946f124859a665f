"""Test dates outside the training range: a test file later (or earlier) in time than train, which a random K-fold
CV does not see. Told, never refused: from each date column's minimum and maximum, and one comparison per value."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

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
        if train_schema[col] != test_schema[col]:
            continue  # Date in one file, Datetime in the other: no comparison without a guess at the time of day
        shifted = _outside(train[col], test[col])
        if shifted is not None:
            found.append((col, *shifted))
    if not found:
        return None
    described = "; ".join(
        f"column {col!r}: train {t_lo} .. {t_hi}, test {s_lo} .. {s_hi} ({share:.0%} of the test dates {where})"
        for col, t_lo, t_hi, s_lo, s_hi, share, where in found
    )
    first = found[0][0]
    return (
        f"most test dates lie outside the train dates ({described}): the test rows are from another time than the "
        "training rows (time-based drift), so a random K-fold CV, which validates on rows from train's own time, will "
        f"be optimistic; validate on later rows as the leaderboard will, with [folds] strategy = 'time' and time = "
        f"{first!r} (the column then orders the folds and is no feature), or expect the leaderboard below the CV"
    )


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
