"""The last step of every pipeline: a polars frame -> the numeric matrix the models take, fitted on training rows.

:class:`TableEncoder` is the base encoding every model gets, after its declared pipeline if it has one: numeric
columns as float32, dates as days since the epoch, categorical columns as integer codes of the levels seen in the
fold's *training* rows (most frequent first). A level never seen in training, and a missing value, become NaN: both
GBDT libraries treat NaN as "missing" and route it down a learned default branch, so unseen test categories never
crash a model.

The fitted state is a small JSON-able dict (no pickle), stored beside each fold's model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

_TEMPORAL = (pl.Date, pl.Datetime)
_US_PER_DAY = 86_400_000_000
_BLOCK_VALUES = 16_000_000  # float32 values converted at a time (64 MB): bounds the copy beside the matrix


_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def model_feature_names(names: Sequence[str]) -> tuple[str, ...]:
    """The names a model library is given for ``names``: each name that is a plain ASCII identifier as it is, any
    other (``[``, ``]``, ``<``, quotes, ``:``, braces, spaces, unicode, empty: names XGBoost or LightGBM refuse or
    rewrite) as ``f<position>_<its identifier characters>``, unique among all of them.

    A pure function of the names in column order, so a report maps a model's names back to the columns with
    :func:`original_feature_names` from the fold's stored feature list alone.
    """
    out: list[str] = []
    taken = {n for n in names if _SAFE_NAME.fullmatch(n)}
    for i, name in enumerate(names):
        if _SAFE_NAME.fullmatch(name):
            out.append(name)
            continue
        base = f"f{i}_" + re.sub(r"[^A-Za-z0-9_]+", "_", name.encode("ascii", "ignore").decode()).strip("_")
        safe, k = base.rstrip("_"), 1
        while safe in taken:
            safe, k = f"{base}_{k}", k + 1
        taken.add(safe)
        out.append(safe)
    return tuple(out)


def original_feature_names(names: Sequence[str]) -> dict[str, str]:
    """Model name -> column name, for the columns ``names`` (the inverse of :func:`model_feature_names`)."""
    return dict(zip(model_feature_names(names), names, strict=True))


@dataclass(frozen=True)
class FeatureMatrix:
    """Model input: a C-contiguous float32 matrix, its column names, and which columns hold category codes.

    ``names`` are the frame's column names (what users and reports see); model libraries get ``model_names``.
    """

    X: np.ndarray
    names: tuple[str, ...]
    categorical: tuple[int, ...]

    @property
    def model_names(self) -> tuple[str, ...]:
        """``names`` as the model libraries take them (see :func:`model_feature_names`)."""
        return model_feature_names(self.names)


_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _as_level_text(column: str, dtype: pl.DataType, levels: Sequence[str]) -> pl.Expr:
    """A categorical column as the text of its levels. A float column whose training levels are all whole numbers
    (an integer column that holds a 2.5 in these rows: it was not cast to integers) writes its whole values as
    integers, 2.0 as '2' (polars writes '2.0', which no level spells); a non-whole 2.5 stays '2.5', an unseen level."""
    expr = pl.col(column)
    if dtype.is_float() and levels and all(_WHOLE_NUMBER.fullmatch(v) for v in levels):
        whole = expr.is_finite() & (expr == expr.round())
        return pl.when(whole).then(expr.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(expr.cast(pl.String))
    return expr.cast(pl.String)


@dataclass(frozen=True)
class TableEncoder:
    """Encode ``features`` of a frame; ``categorical`` ones as codes of the levels seen at fit time."""

    features: tuple[str, ...]
    categorical: tuple[str, ...]

    def fit(self, train: pl.DataFrame) -> dict[str, Any]:
        levels: dict[str, list[str]] = {}
        for col in self.categorical:
            counts = (
                train.select(pl.col(col).cast(pl.String).alias("level"))
                .drop_nulls()
                .group_by("level")
                .len()
                .sort(["len", "level"], descending=[True, False])
            )
            levels[col] = counts["level"].to_list()
        return {"features": list(self.features), "levels": levels}

    def transform(self, frame: pl.DataFrame, state: dict[str, Any]) -> FeatureMatrix:
        levels: dict[str, list[str]] = state["levels"]
        schema = frame.schema  # built anew on each access: once, not per column (quadratic on 10k pixel columns)
        exprs = []
        for col in state["features"]:
            if col in levels:
                codes = list(range(len(levels[col])))
                expr = _as_level_text(col, schema[col], levels[col]).replace_strict(
                    levels[col], codes, default=None, return_dtype=pl.Float32
                )
            elif isinstance(schema[col], _TEMPORAL):
                expr = pl.col(col).cast(pl.Datetime("us")).dt.epoch("us").cast(pl.Float64) / _US_PER_DAY
            else:
                expr = pl.col(col)
            exprs.append(expr.cast(pl.Float32).alias(col))
        # filled a block of columns at a time: the float32 frame is never held whole next to the matrix, and a
        # wide frame (10k pixel columns) is not converted a few columns at a time either
        X = np.empty((frame.height, len(exprs)), dtype=np.float32)
        step = max(1, _BLOCK_VALUES // max(1, frame.height))
        for start in range(0, len(exprs), step):
            block = frame.select(exprs[start : start + step])
            X[:, start : start + block.width] = block.to_numpy()
        cat_idx = tuple(i for i, col in enumerate(state["features"]) if col in levels)
        return FeatureMatrix(X=X, names=tuple(state["features"]), categorical=cat_idx)
