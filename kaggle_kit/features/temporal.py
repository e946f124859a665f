"""Datetime parts and cyclical encodings. Neither fits anything: the same parts for every row.

``date_parts`` adds ``<column>__<part>`` integer columns for Date / Datetime columns (read CSV dates with
``try_parse_dates``, as :func:`kaggle_kit.readers.competition.read_table` does); ``cyclical`` adds ``<column>__sin`` and
``<column>__cos`` of ``2 pi x / period`` for numeric columns, e.g. ``date__month`` with ``period = 12``, so that
December sits next to January.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import polars as pl
from pydantic import Field, field_validator

from ..errors import DataError
from .base import Columns, Roles, Step, StepContext, is_temporal, num, once_each, register

Part = Literal[
    "year", "quarter", "month", "week", "day", "dayofyear", "weekday", "hour", "minute", "second", "is_weekend"
]


def _part(column: str, dtype: pl.DataType, part: str) -> pl.Expr:
    col = pl.col(column)
    if part in ("hour", "minute", "second") and dtype == pl.Date:
        col = col.cast(pl.Datetime("us"))
    dt = col.dt
    expr = {
        "year": lambda: dt.year(),
        "quarter": lambda: dt.quarter(),
        "month": lambda: dt.month(),
        "week": lambda: dt.week(),  # ISO week 1..53
        "day": lambda: dt.day(),
        "dayofyear": lambda: dt.ordinal_day(),
        "weekday": lambda: dt.weekday(),  # ISO: Monday 1 .. Sunday 7
        "hour": lambda: dt.hour(),
        "minute": lambda: dt.minute(),
        "second": lambda: dt.second(),
        "is_weekend": lambda: dt.weekday() >= 6,
    }[part]()
    return expr.cast(pl.Int32)


@register
class DateParts(Step):
    """Add ``<column>__<part>`` for each of ``parts`` (ISO week and weekday: Monday = 1). ``keep = false`` drops
    the date column itself (the base encoding otherwise gives it as days since 1970-01-01)."""

    kind = "date_parts"
    columns: Columns = "temporal"
    parts: list[Part] = Field(default_factory=lambda: ["year", "month", "day", "weekday"], min_length=1)
    keep: bool = True

    @field_validator("parts")
    @classmethod
    def _parts_once(cls, value: list[str]) -> list[str]:
        once_each(value, "the part")
        return value

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        schema = frame.collect_schema()
        cols = ctx.resolve(self.columns, schema)
        bad = [c for c in cols if not is_temporal(schema[c])]
        if bad:
            raise DataError(
                f"{ctx.where}: date_parts needs Date or Datetime columns, but {bad[0]!r} is {schema[bad[0]]}; "
                "parse it when reading (try_parse_dates) or cast it first"
            )
        ctx.new_names([f"{c}__{p}" for c in cols for p in self.parts], schema)
        return {"columns": cols, "dtypes": {c: str(schema[c]) for c in cols}}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        schema = frame.collect_schema()
        out = frame.with_columns(
            _part(c, schema[c], p).alias(f"{c}__{p}") for c in state["columns"] for p in self.parts
        )
        return out if self.keep else out.drop(state["columns"])

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        roles.add([f"{c}__{p}" for c in state["columns"] for p in self.parts])
        if not self.keep:
            roles.remove(state["columns"])


@register
class Cyclical(Step):
    """Add ``<column>__sin`` and ``<column>__cos`` of ``2 pi x / period``; ``keep = false`` drops the column."""

    kind = "cyclical"
    columns: Columns
    period: float = Field(gt=0)
    keep: bool = True

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        schema = frame.collect_schema()
        fix = "for dates, add a date_parts step first and encode e.g. '<date>__month' with period = 12"
        cols = ctx.resolve_numeric(self.columns, schema, self.kind, fix)
        ctx.new_names([f"{c}__{f}" for c in cols for f in ("sin", "cos")], schema)
        return {"columns": cols}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        w = 2 * math.pi / self.period
        exprs = []
        for c in state["columns"]:
            exprs += [(num(c) * w).sin().alias(f"{c}__sin"), (num(c) * w).cos().alias(f"{c}__cos")]
        out = frame.with_columns(exprs)
        return out if self.keep else out.drop(state["columns"])

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        roles.add([f"{c}__{f}" for c in state["columns"] for f in ("sin", "cos")])
        if not self.keep:
            roles.remove(state["columns"])
