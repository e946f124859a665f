"""The target of a multilabel / multiregression task: several columns -> one ``(n, T)`` float64 matrix.

A cell may be empty (a missing label): it becomes NaN, and everything downstream skips it for that target only
(the nets' loss masks it, a per-target GBDT / scikit-learn fit drops the row, a column-wise metric leaves it out).
A multilabel column holds 0/1 labels (integers, whole floats or booleans); a multiregression column numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from ..errors import DataError, allowed


def encode_targets(train: pl.DataFrame, targets: Sequence[str], task: str) -> np.ndarray:
    """``train``'s target columns as ``(n, T)`` float64, NaN where a label is missing; a column that cannot be the
    task's target (text, labels other than 0/1, no labelled row) is a :class:`DataError` naming it."""
    columns = []
    for name in targets:
        column = train[name]
        if column.dtype == pl.Boolean:
            column = column.cast(pl.Float64)
        if not (column.dtype.is_numeric() or column.dtype == pl.Null):
            raise DataError(
                f"the target column {name!r} is {column.dtype}; a {task} task's targets must be "
                f"{'0/1 labels' if task == 'multilabel' else 'numbers'} (empty cells = missing labels)"
            )
        values = column.cast(pl.Float64).to_numpy().astype(np.float64, copy=True)
        if np.isinf(values).any():
            raise DataError(f"the target column {name!r} has {int(np.isinf(values).sum())} infinite value(s)")
        seen = ~np.isnan(values)
        if not seen.any():
            raise DataError(
                f"the target column {name!r} has no value in any train row; a {task} target needs labelled rows: "
                "remove it from data.target"
            )
        if task == "multilabel":
            bad = seen & (values != 0) & (values != 1)
            if bad.any():
                found = sorted({float(v) for v in values[bad]})[:5]
                raise DataError(
                    f"the target column {name!r} holds {allowed(found)} besides 0 and 1; a multilabel target is a "
                    "0/1 label per column (empty = missing): encode it, or use task = 'multiregression'"
                )
            if np.unique(values[seen]).size < 2:
                raise DataError(
                    f"the target column {name!r} holds one label ({values[seen][0]:g}) in every labelled row; a "
                    "classifier needs both 0 and 1 to learn from: remove it from data.target"
                )
        columns.append(values)
    return np.column_stack(columns)
