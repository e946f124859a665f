"""The target of a multilabel / multiregression task: several columns -> one ``(n, T)`` float64 matrix.

A cell may be empty (a missing label): it becomes NaN, and everything downstream skips it for that target only
(the nets' loss masks it, a per-target GBDT / scikit-learn fit drops the row, a column-wise metric leaves it out).
A multilabel column holds 0/1 labels (integers, whole floats or booleans); a multiregression column numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from ..errors import DataError, allowed


def encode_targets(
    train: pl.DataFrame, targets: Sequence[str], task: str, warn: Callable[[str], None] = lambda message: None
) -> np.ndarray:
    """``train``'s target columns as ``(n, T)`` float64, NaN where a label is missing; a column that cannot be the
    task's target (text, labels other than 0/1, no labelled row) is a :class:`DataError` naming it.

    A multilabel column holding one label in every row is ``warn``-ed of and kept: the sample submission asks for
    it, and :class:`~kaggle_kit.models.multi_target.PerTargetAdapter` predicts such a label's smoothed rate (it was
    refused, and the fix it named, leaving the column out, then stopped ``submit`` at the sample's column)."""
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
            if (rate := one_class_rate(values[seen])) is not None:
                one = int(values[seen][0])
                warn(
                    f"the target column {name!r} holds one label ({one}) in every labelled row: no model can learn "
                    f"it, so each predicts its smoothed rate (about {rate:.2g}, the "
                    "submission's column too); a column the competition does not score can leave data.target"
                )
        columns.append(values)
    return np.column_stack(columns)


def one_class_rate(labels: np.ndarray) -> float | None:
    """The smoothed rate ``(positives + 0.5) / (rows + 1)`` a 0/1 label column is predicted at where its labelled
    rows hold one class (or none): no model can learn it (the per-target models and the nets alike); None where they
    hold both."""
    if np.unique(labels).size >= 2:
        return None
    return float((labels.sum() + 0.5) / (labels.size + 1))
