"""Frames handed to the kit in Python (a notebook's ``train_df``), as the polars frames every reader returns.

A Kaggle notebook holds pandas frames as often as polars ones: both are taken, a pandas frame converted once at the
boundary (its index kept as a column where it is named: ``df.set_index("id")`` still has its id column). Anything
else is refused naming the argument, not met later as an ``AttributeError`` deep inside the checks.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ..errors import DataError


def as_polars(frame: Any, what: str) -> pl.DataFrame | None:
    """``frame`` as a polars DataFrame (None stays None); ``what`` names the argument in the error, e.g. ``'train'``."""
    if frame is None or isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if type(frame).__module__.startswith("pandas") and hasattr(frame, "index") and hasattr(frame, "columns"):
        named_index = any(name is not None for name in frame.index.names)
        try:
            return pl.from_pandas(frame, include_index=named_index)
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
            return (
                f"the {what} data's column {column!r} holds values of several types ({', '.join(kinds)}), which a "
                f"table column cannot; cast it to one, e.g. df[{column!r}] = df[{column!r}].astype(str) for text or "
                f"pd.to_numeric(df[{column!r}], errors='coerce') for numbers"
            )
    return f"the {what} data cannot be read as a table ({type(exc).__name__}: {exc})"
