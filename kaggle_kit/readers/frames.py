"""Frames handed to the kit in Python (a notebook's ``train_df``), as the polars frames every reader returns.

A Kaggle notebook holds pandas frames as often as polars ones: both are taken, a pandas frame converted once at the
boundary (its index kept as a column where it is named: ``df.set_index("id")`` still has its id column). Anything
else is refused naming the argument, not met later as an ``AttributeError`` deep inside the checks.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ..errors import DataError, allowed


def is_pandas(frame: Any) -> bool:
    """Whether ``frame`` is a pandas DataFrame (told without importing pandas)."""
    return type(frame).__module__.startswith("pandas") and hasattr(frame, "index") and hasattr(frame, "columns")


def like_input(result: pl.DataFrame, given: Any) -> Any:
    """``result`` (one row per row of ``given``, in its order, where their counts agree) as the kind of frame the
    caller gave: a pandas frame for a pandas frame, else the polars frame itself. Its index: the id where the
    caller's id was its named index (``df.set_index("id")``), else the caller's own index, as pandas aligns an
    assignment on it (``df["p"] = out["p_1"]`` of a slice ``df.iloc[5:]`` had met 0, 1, ...: NaN and shifted rows)."""
    if not is_pandas(given):
        return result
    out = result.to_pandas()
    first = result.columns[0] if result.width else None
    if first is not None and first in [str(n) for n in given.index.names if n is not None]:
        out = out.set_index(first)
    elif len(out) == len(given) and (first not in given.columns or list(out[first]) == list(given[first])):
        out.index = given.index  # row for row (a long table of one step per id in another order: not adopted)
    return out


def as_polars(frame: Any, what: str) -> pl.DataFrame | None:
    """``frame`` as a polars DataFrame (None stays None); ``what`` names the argument in the error, e.g. ``'train'``."""
    if frame is None or isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if is_pandas(frame):
        columns = [str(c) for c in frame.columns]  # as polars names them: 0 -> '0'
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:  # polars' "duplicate column names" was read below as a column of mixed types
            raise DataError(
                f"the {what} data has more than one column named {allowed(repeated)}; give each column its own name "
                "(df.columns = [...])"
            )
        # its named index levels as columns (df.set_index("id")), but one a column already holds (drop=False): the
        # column; an unnamed level (a RangeIndex) is row numbers, no column of the data
        kept = [n for n in frame.index.names if n is not None and str(n) not in columns]
        try:
            return pl.from_pandas(frame.reset_index(level=kept) if kept else frame)
        except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:  # an object column of mixed types
            raise DataError(_unconvertible(frame, what, exc)) from None
    raise DataError(f"the {what} data must be a polars or pandas DataFrame; got {type(frame).__name__}")


def _unconvertible(frame: Any, what: str, exc: Exception) -> str:
    """The message for a pandas frame polars cannot read: the first column it cannot, and the cast that fixes it."""
    for column in frame.columns:
        try:
            pl.from_pandas(frame[[column]])
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            values = frame[column].dropna()
            kinds = sorted({type(v).__name__ for v in values})
            held = f"values of several types ({', '.join(kinds)})" if len(kinds) > 1 else f"Python objects ({kinds[0]})"
            return (
                f"the {what} data's column {column!r} holds {held}, which a table column cannot; cast it to text or "
                f"numbers, e.g. df[{column!r}] = df[{column!r}].astype(str) for text or "
                f"pd.to_numeric(df[{column!r}], errors='coerce') for numbers"
            )
    return f"the {what} data cannot be read as a table ({type(exc).__name__}: {exc})"


def unclashing(name: str, *taken: str) -> str:
    """``name``, or it with ``_`` before it until none of ``taken`` is it: the name of the count polars adds beside a
    data column (``value_counts``' ``count``, ``group_by(...).len()``'s ``len``), which the data's own column may
    have (Bike Sharing's target ``count``; a text column ``n``, a sequence id ``len``): polars refuses the clash."""
    while name in taken:
        name = "_" + name
    return name
