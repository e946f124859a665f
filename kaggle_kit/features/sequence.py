"""Long tables (one row per id and step: sensor readings, transactions, events) -> one row per id.

* :func:`sequence_aggregates`: per-id statistics of each column (mean, std, min, max, quantiles, first, last, the
  step of the maximum, ...), a wide frame the trees take, joined onto the main table by id.
* :func:`sequence_wide`: the steps themselves laid side by side, ``<column>__t<step>`` in step-major order (step 0's
  features, then step 1's, ...), missing where a sequence is shorter: the ``(N, T, F)`` layout the nets' sequence
  inputs reshape (``order = 'tf'``; ``rnn`` / ``cnn1d`` read ``T`` and ``F`` from these names when
  ``params.sequence_shape`` is left out). :func:`sequence_tensor` gives the numpy array and lengths directly.

Neither uses the target or other ids' rows, so neither needs fitting inside a fold. For long, many or unequal
sequences the wide layout costs ``ids x T x F`` values: :mod:`kaggle_kit.features.sequence_store` keeps the steps end
to end instead (``[data.sequences] layout = "streamed"``), read per batch.

From a competition config, ``[data.sequences]`` does both and joins the result onto the train and test frames (see
:mod:`kaggle_kit.readers.sequences`). For a sensor competition (``X_train.csv`` = series_id, measurement_number and
the sensor columns; ``y_train.csv`` = series_id, label)::

    [data]
    train = "y_train.csv"              # labels, one row per series (leave out if the long table holds the label)
    id = "series_id"
    target = "label"

    [data.sequences]
    train = "X_train.csv"
    test = "X_test.csv"                # the test ids come from here (or from data.test when given)
    order_by = "measurement_number"
    aggregates = ["mean", "std", "min", "max", "q10", "q90", "first", "last"]

Trees then drop the step columns (a ``drop`` step with ``pattern = '.+__t\\d+'``); the nets select them
(``params.columns = '.+__t\\d+'``).

Example::

    long = pl.DataFrame({"id": [1, 1, 2], "t": [0, 1, 0], "x": [0.5, 1.5, 2.0]})
    sequence_aggregates(long, "id", order_by="t", stats=["mean", "last"])   # id, n_steps, x__mean, x__last
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np
import polars as pl

from ..errors import DataError, allowed, did_you_mean
from ..readers.frames import unclashing
from .base import num

SequenceStat = Literal[
    "mean",
    "std",
    "min",
    "max",
    "median",
    "sum",
    "first",
    "last",
    "count",
    "nunique",
    "q10",
    "q25",
    "q75",
    "q90",
    "argmin",
    "argmax",
    "skew",
    "kurtosis",
    "diff_abs_mean",
]
SEQUENCE_STATS: tuple[str, ...] = get_args(SequenceStat)
#: The name of a step column, as :func:`sequence_wide` writes it: ``<column>__t<step>``.
STEP_COLUMN = re.compile(r"(?s)(.+)__t(\d+)")


def as_frame(long: Any) -> pl.DataFrame:
    """A long table given as a polars (lazy) or pandas frame, as a polars DataFrame."""
    if isinstance(long, pl.LazyFrame):
        return long.collect()
    if isinstance(long, pl.DataFrame):
        return long
    if type(long).__module__.startswith("pandas"):
        return pl.from_pandas(long)
    raise TypeError(f"expected a polars or pandas frame; got {type(long).__name__}")


def _prepare(long: Any, id: str, columns: Sequence[str] | None, order_by: str | None) -> tuple[pl.DataFrame, list[str]]:
    frame = as_frame(long)
    for role, col in (("id", id), ("order_by", order_by)):
        if col is not None and col not in frame.columns:
            raise DataError(
                f"the long table has no {role} column {col!r}.{did_you_mean(col, frame.columns)} "
                f"Columns: {frame.columns[:20]}"
            )
    reserved = {id, order_by}
    if columns is None:
        columns = [c for c in frame.columns if c not in reserved and frame.schema[c].is_numeric()]
    else:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"the long table has no column {missing[0]!r}.{did_you_mean(missing[0], frame.columns)} "
                f"Columns: {frame.columns[:20]}"
            )
        bad = [c for c in columns if not frame.schema[c].is_numeric()]
        if bad:
            raise DataError(f"sequence column {bad[0]!r} is {frame.schema[bad[0]]}; sequences take numeric columns")
    if not columns:
        raise DataError("the long table has no numeric columns besides the id and order columns")
    if order_by is not None:
        frame = frame.sort([id, order_by], maintain_order=True)
    return frame, list(columns)


def sequence_aggregates(
    long: Any,
    id: str,
    columns: Sequence[str] | None = None,
    *,
    order_by: str | None = None,
    stats: Sequence[SequenceStat] = ("mean", "std", "min", "max", "first", "last", "count"),
    ddof: int = 1,
) -> pl.DataFrame:
    """One row per id (in order of first appearance): ``id``, ``n_steps`` (rows of that id) and
    ``<column>__<stat>`` for each column and statistic. ``first`` / ``last`` follow ``order_by`` (else the row
    order); ``std`` uses ``ddof`` (1, as pandas); ``count`` counts non-missing values. ``q10`` ... ``q90`` are
    quantiles (linear interpolation, numpy's default); ``argmin`` / ``argmax`` the step (0-based, in order) of the
    first minimum / maximum; ``skew`` / ``kurtosis`` the biased sample skewness and excess kurtosis (scipy's
    defaults); ``diff_abs_mean`` the mean absolute change from one step to the next (how rough the signal is).
    Missing values (and NaN) are skipped: ``first`` / ``last`` are the first / last value present (a sensor's
    dropout at the last step made ``last`` missing), ``diff_abs_mean`` steps over a missing value."""
    unknown = [s for s in stats if s not in SEQUENCE_STATS]
    if unknown:
        raise DataError(
            f"unknown sequence statistic {unknown[0]!r}; allowed: {allowed(SEQUENCE_STATS)}."
            f"{did_you_mean(unknown[0], SEQUENCE_STATS)}"
        )
    frame, columns = _prepare(long, id, columns, order_by)
    aggs = {
        "mean": lambda c: num(c).mean(),
        "std": lambda c: num(c).std(ddof=ddof),
        "min": lambda c: num(c).min(),
        "max": lambda c: num(c).max(),
        "median": lambda c: num(c).median(),
        "sum": lambda c: num(c).sum(),
        "first": lambda c: num(c).drop_nulls().first(),
        "last": lambda c: num(c).drop_nulls().last(),
        "count": lambda c: num(c).count(),
        "nunique": lambda c: num(c).drop_nulls().n_unique(),
        "q10": lambda c: num(c).quantile(0.10, interpolation="linear"),
        "q25": lambda c: num(c).quantile(0.25, interpolation="linear"),
        "q75": lambda c: num(c).quantile(0.75, interpolation="linear"),
        "q90": lambda c: num(c).quantile(0.90, interpolation="linear"),
        "argmin": lambda c: num(c).arg_min(),
        "argmax": lambda c: num(c).arg_max(),
        "skew": lambda c: num(c).skew(bias=True),
        "kurtosis": lambda c: num(c).kurtosis(fisher=True, bias=True),
        "diff_abs_mean": lambda c: num(c).drop_nulls().diff().abs().mean(),
    }
    return (
        frame.lazy()
        .group_by(id, maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("n_steps"),
            *(aggs[s](c).cast(pl.Float64).alias(f"{c}__{s}") for c in columns for s in stats),
        )
        .collect()
    )


def sequence_wide(
    long: Any,
    id: str,
    columns: Sequence[str] | None = None,
    *,
    order_by: str | None = None,
    max_len: int | None = None,
    keep: Literal["first", "last"] = "first",
) -> pl.DataFrame:
    """One row per id (in order of first appearance): ``id`` then ``<column>__t<step>`` for steps ``0..T-1``
    (``T`` = ``max_len``, or the longest sequence), step-major; shorter sequences are padded with missing values
    at the end. Longer ones keep their ``first`` or ``last`` ``max_len`` steps."""
    if max_len is not None and max_len < 1:
        raise DataError(f"max_len must be >= 1; got {max_len}")
    frame, columns = _prepare(long, id, columns, order_by)
    step = pl.int_range(pl.len(), dtype=pl.Int64).over(id)
    if keep == "last" and max_len is not None:
        step = step - (pl.len().over(id).cast(pl.Int64) - max_len).clip(lower_bound=0)
    frame = frame.select(pl.col(id), step.alias("__t"), *(num(c).alias(c) for c in columns))
    if max_len is not None:
        frame = frame.filter(pl.col("__t").is_between(0, max_len - 1))
    n_steps = max_len or (int(frame["__t"].max()) + 1 if frame.height else 0)
    # one value column, named "<column>\x00<step>", pivoted: the names are its values on every polars 1.x (pivot's
    # column_naming, which named several value columns so, came in a 2026 release: an older polars refused it)
    named = pl.concat_str(pl.col("__c"), pl.lit("\x00"), pl.col("__t").cast(pl.String)).alias("__name")
    wide = (
        frame.unpivot(on=columns, index=[id, "__t"], variable_name="__c", value_name="__v")
        .select(pl.col(id), named, pl.col("__v"))
        .pivot(on="__name", index=id, values="__v", maintain_order=True)
    )
    names: list[str] = []
    exprs: list[pl.Expr] = [pl.col(id)]
    for t in range(n_steps):
        for c in columns:
            source = f"{c}\x00{t}"
            name = f"{c}__t{t}"
            names.append(name)
            exprs.append(pl.col(source).alias(name) if source in wide.columns else pl.lit(None, pl.Float64).alias(name))
    return wide.select(exprs)


def sequence_tensor(
    long: Any,
    id: str,
    columns: Sequence[str] | None = None,
    *,
    order_by: str | None = None,
    max_len: int | None = None,
    keep: Literal["first", "last"] = "first",
) -> tuple[np.ndarray, np.ndarray, pl.Series]:
    """``(X, lengths, ids)``: ``X`` float32 ``(N, T, F)`` with NaN padding, each id's number of kept steps, and the
    ids in the order of ``X``'s rows."""
    frame, cols = _prepare(long, id, columns, order_by)
    wide = sequence_wide(frame, id, cols, max_len=max_len, keep=keep)
    n_steps = (wide.width - 1) // len(cols)
    X = wide.drop(id).to_numpy().astype(np.float32).reshape(wide.height, n_steps, len(cols))
    steps = unclashing("len", id)  # a sequence id named 'len' clashed with polars' count
    counts = frame.group_by(id, maintain_order=True).len(name=steps)[steps].to_numpy()
    lengths = np.minimum(counts, n_steps).astype(np.int64)
    return np.ascontiguousarray(X), lengths, wide[id]


def infer_sequence_shape(names: list[str]) -> tuple[tuple[int, int], str] | None:
    """``((T, F), order)`` when ``names`` are exactly ``<column>__t<k>`` for ``k = 0..T-1`` and ``F`` columns, in
    step-major (``'tf'``) or feature-major (``'ft'``) order; None otherwise."""
    parts = [STEP_COLUMN.fullmatch(n) for n in names]
    if not names or not all(parts):
        return None
    pairs = [(m.group(1), int(m.group(2))) for m in parts if m]
    features = list(dict.fromkeys(c for c, _ in pairs))
    n_steps = len(names) // len(features)
    if n_steps * len(features) != len(names):
        return None
    if pairs == [(c, t) for t in range(n_steps) for c in features]:
        return (n_steps, len(features)), "tf"
    if pairs == [(c, t) for c in features for t in range(n_steps)]:
        return (n_steps, len(features)), "ft"
    return None
