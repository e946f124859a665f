"""Group aggregates: statistics of a column by a key, computed on the training rows and joined onto any rows.

``{ step = "group_aggregate", by = "store", columns = ["sales"], stats = ["mean", "std"] }`` adds
``sales__mean_by_store`` and ``sales__std_by_store``: for every row, the statistic of ``sales`` over the *training*
rows of its store (pandas' ``groupby(by)[col].transform(stat)`` on the training rows; ``std`` with ``ddof = 1``).
Rows whose key is missing get missing aggregates (pandas drops missing keys too); a key the training rows never
held also gets missing aggregates, except ``count`` and ``size``, which are 0, with a :class:`FeatureWarning`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from ..errors import DataError
from .base import (
    Check,
    Columns,
    Roles,
    Step,
    StepContext,
    dtype_from_name,
    is_temporal,
    key_cast,
    key_expr,
    num,
    once_each,
    register,
)

Stat = Literal["mean", "std", "min", "max", "median", "sum", "count", "size", "nunique"]

_AGGS = {
    "mean": lambda c, _: num(c).mean(),
    "std": lambda c, _: num(c).std(ddof=1),
    "min": lambda c, _: num(c).min(),
    "max": lambda c, _: num(c).max(),
    "median": lambda c, _: num(c).median(),
    "sum": lambda c, _: num(c).sum(),
    "count": lambda c, dtype: _values(c, dtype).count(),  # non-missing values
    "size": lambda c, _: pl.len(),  # rows, missing or not
    "nunique": lambda c, dtype: _values(c, dtype).drop_nulls().n_unique(),
}
_COUNTS = ("count", "size", "nunique")
_SUMMED = ("mean", "std", "sum")  # summed with numpy, in row order (see GroupAggregate._sums)


def _values(column: str, dtype: pl.DataType) -> pl.Expr:
    """A column's values for ``count`` and ``nunique``: a float column's NaN and infinities are missing, as the other
    statistics (:func:`num`) read them; they were counted as values (a group holding 1.0, NaN, NaN had count 3 and
    nunique 2 beside a mean of the one 1.0; pandas says 1 and 1). Other columns as they are (text is counted too)."""
    x = pl.col(column)
    return pl.when(x.is_finite()).then(x).alias(column) if dtype.is_float() else x


@register
class GroupAggregate(Step):
    """Add ``<column>__<stat>_by_<key>`` for each column and statistic (``by`` may list several keys; their names
    are then joined with ``+``)."""

    kind = "group_aggregate"
    by: str | list[str]
    columns: Columns
    stats: list[Stat] = Field(default_factory=lambda: ["mean", "std", "min", "max", "count"], min_length=1)

    @field_validator("by")
    @classmethod
    def _keys(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("by must name at least one key column")
        if isinstance(value, list):
            once_each(value, "the key")
        return value

    @field_validator("stats")
    @classmethod
    def _stats_once(cls, value: list[str]) -> list[str]:
        once_each(value, "the statistic")
        return value

    @property
    def keys(self) -> list[str]:
        return [self.by] if isinstance(self.by, str) else list(self.by)

    def _name(self, column: str, stat: str) -> str:
        return f"{column}__{stat}_by_{'+'.join(self.keys)}"

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        schema = frame.collect_schema()
        ctx.resolve(self.keys, schema)  # the keys must exist
        ctx.refuse_out_of_fold(self.keys, self.kind, "by", "keys")
        cols = [c for c in ctx.resolve(self.columns, schema) if c not in self.keys]
        self._check_numbers(cols, schema, ctx)
        ctx.new_names([self._name(c, s) for c in cols for s in self.stats], schema)
        keys = {k: key_expr(k, schema[k]) for k in self.keys}
        rows = frame.select(*(e.alias(k) for k, (e, _) in keys.items()), *cols).drop_nulls(self.keys).collect()
        table = (
            rows.lazy()
            .group_by(self.keys)
            .agg(_AGGS[s](c, schema[c]).cast(pl.Float64).alias(self._name(c, s)) for c in cols for s in self.stats)
            .sort(self.keys)
            .collect()
        )
        summed = [s for s in self.stats if s in _SUMMED]
        if summed and table.height:
            table = table.with_columns(self._sums(rows, table, cols, summed))
        return {
            "columns": cols,
            "keys": {k: table[k].to_list() for k in self.keys},
            "key_dtype": {k: dtype for k, (_, dtype) in keys.items()},
            "values": {name: table[name].to_list() for name in table.columns if name not in self.keys},
        }

    def _check_numbers(self, cols: list[str], schema: pl.Schema, ctx: StepContext) -> None:
        """A statistic other than a count of a text column is a :class:`DataError` naming the column and the fix (it
        was polars' ``conversion from `str` to `f64` failed``, at the model's first fit). Booleans read as 0 / 1,
        dates as days (datetimes as their time unit) since 1970-01-01."""
        computed = [s for s in self.stats if s not in _COUNTS]
        text = [c for c in cols if not (schema[c].is_numeric() or schema[c] == pl.Boolean or is_temporal(schema[c]))]
        if computed and text:
            raise DataError(
                f"{ctx.where}: stat {computed[0]!r} needs numbers, but column {text[0]!r} is {schema[text[0]]}; "
                "leave it out of columns (columns = 'numeric' picks the numeric columns), or count it in a "
                "group_aggregate of its own with stats = ['count', 'size', 'nunique'] only"
            )

    def _sums(self, rows: pl.DataFrame, table: pl.DataFrame, cols: list[str], stats: list[str]) -> list[pl.Series]:
        """``mean``, ``std`` and ``sum`` by group, summed in row order with numpy: polars' parallel group sums
        add in an order that varies from one call to the next, so the same rows gave statistics (and a fold's
        features) that differed in their last bits between two fits."""
        index = table.select(self.keys).with_row_index("__group")
        group = rows.join(index, on=self.keys, how="left", maintain_order="left")["__group"].to_numpy()
        n_groups, out = table.height, []
        for c in cols:
            values = rows[c].cast(pl.Float64).fill_nan(None).to_numpy()
            seen = np.isfinite(values)  # an infinity is missing, as num() reads it (the mean and sum were inf)
            g, v = group[seen], values[seen]
            n = np.bincount(g, minlength=n_groups).astype(np.float64)
            total = np.bincount(g, weights=v, minlength=n_groups)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / n
                squares = np.bincount(g, weights=(v - mean[g]) ** 2, minlength=n_groups)
                std = np.sqrt(squares / (n - 1))
            made = {"sum": total, "mean": np.where(n > 0, mean, np.nan), "std": np.where(n > 1, std, np.nan)}
            out += [pl.Series(self._name(c, s), made[s]).fill_nan(None) for s in stats]
        return out

    def inputs(self, state: dict[str, Any]) -> list[str]:
        return [*self.keys, *state["columns"]]

    def _table(self, state: dict[str, Any], schema: pl.Schema) -> pl.LazyFrame:
        """The training rows' statistics by key, each key of the dtype :func:`key_cast` gives it in ``schema``'s
        frame (an integer key whose column holds floats here is joined as float64)."""
        columns: dict[str, pl.Series] = {}
        for k in self.keys:
            dtype = dtype_from_name(state["key_dtype"][k])
            if dtype is not None and dtype.is_integer() and schema.get(k, dtype).is_float():
                dtype = pl.Float64
            columns[k] = pl.Series(k, state["keys"][k], dtype=dtype, strict=False)
        for name, values in state["values"].items():
            columns[name] = pl.Series(name, values, dtype=pl.Float64)
        return pl.DataFrame(columns).lazy()

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        if not state["values"]:
            return frame
        counts = {self._name(c, s) for c in state["columns"] for s in self.stats if s in _COUNTS}
        schema = frame.collect_schema()
        if len(self.keys) == 1:  # one key: a lookup per statistic (faster than a join)
            key = key_cast(self.keys[0], state["key_dtype"][self.keys[0]], schema)
            known = state["keys"][self.keys[0]]
            return frame.with_columns(
                key.replace_strict(known, values, default=0.0 if name in counts else None, return_dtype=pl.Float64)
                .fill_null(pl.lit(0.0) if name in counts else pl.lit(None, pl.Float64))
                .alias(name)
                for name, values in state["values"].items()
            )
        tmp = [f"__key{i}" for i in range(len(self.keys))]
        # a column of these rows already named as an output (rows transformed twice, stale features): replaced, as
        # with_columns replaces it for one key; the join kept it and put the aggregate beside it as '<name>_right'
        stale = [name for name in state["values"] if name in schema]
        joined = (
            frame.drop(stale)
            .with_columns(
                key_cast(k, state["key_dtype"][k], schema).alias(t) for k, t in zip(self.keys, tmp, strict=True)
            )
            .join(
                self._table(state, schema).rename(dict(zip(self.keys, tmp, strict=True))),
                on=tmp,
                how="left",
                maintain_order="left",
            )
        )
        return joined.with_columns(pl.col(n).fill_null(0.0) for n in counts).drop(tmp)

    def checks(self, frame: pl.LazyFrame, state: dict[str, Any]) -> list[Check]:
        if not state["values"]:
            return []
        tmp = [f"__key{i}" for i in range(len(self.keys))]
        schema = frame.collect_schema()
        keys = frame.select(
            key_cast(k, state["key_dtype"][k], schema).alias(t) for k, t in zip(self.keys, tmp, strict=True)
        ).drop_nulls()
        known = self._table(state, schema).select(self.keys).rename(dict(zip(self.keys, tmp, strict=True)))
        unseen = keys.join(known, on=tmp, how="anti", maintain_order="left")  # the example: the first in the frame
        summary = unseen.select(
            pl.len().alias("count"), pl.concat_str(pl.col(tmp).cast(pl.String), separator="/").first().alias("example")
        )
        return [
            Check(
                summary,
                f"key {'+'.join(self.keys)!r}: {{count}} row(s) hold keys not seen in the training rows "
                f"(e.g. {{example!r}}); group_aggregate gives them missing aggregates (counts 0)",
            )
        ]

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        roles.add([self._name(c, s) for c in state["columns"] for s in self.stats])
