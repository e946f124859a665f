"""Numeric steps: standardise, robust scale, quantile (rank-gauss), signed log1p, clipping, missing flags, imputation.

Every numeric step reads its columns as float64 with NaN treated as missing, and writes float64 (missing stays
missing unless the step is the imputer). Rules for awkward columns, each with a :class:`FeatureWarning` naming the
column, once per fit:

* a column with no value in the training rows stays missing (standardize, robust_scale, quantile, clip, impute
  with mean / median / most_frequent);
* a constant column is centred to 0 with scale 1 (standardize, robust_scale), as scikit-learn does; quantile makes
  it the distribution's middle (0 for ``normal``, 0.5 for ``uniform``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from ..errors import DataError
from .base import Columns, Roles, Step, StepContext, is_temporal, json_float, num, register, warn

_EPS = float(np.finfo(np.float64).eps)


def _stats(frame: pl.LazyFrame, columns: list[str], exprs: dict[str, Any]) -> dict[str, list[Any]]:
    """One pass over the training rows: ``{name: [value per column]}`` for each named aggregation."""
    if not columns:
        return {name: [] for name in exprs}
    select = [fn(c).alias(f"{name}\x00{i}") for name, fn in exprs.items() for i, c in enumerate(columns)]
    row = frame.select(select).collect().row(0, named=True)
    return {name: [row[f"{name}\x00{i}"] for i in range(len(columns))] for name in exprs}


def _warn_empty(step: str, columns: list[str], counts: list[int], rule: str) -> None:
    for col, n in zip(columns, counts, strict=True):
        if n == 0:
            warn(f"column {col!r} has no values in the training rows; {step} {rule}")


def _scaled(column: str, center: float | None, scale: float) -> pl.Expr:
    """``(x - center) / scale`` as ``(x - center) * (1 / scale)``: polars divides a column of many rows by a number
    so (a multiplication by its reciprocal) but one row exactly, so a row's feature differed in its last bit between
    a 100-row test file and the same row predicted alone; the one multiplication is the same for any rows."""
    return ((num(column) - pl.lit(center, pl.Float64)) * pl.lit(1.0 / scale, pl.Float64)).alias(column)


@register
class Standardize(Step):
    """``(x - mean) / std`` with the training rows' mean and (population) standard deviation, like scikit-learn's
    ``StandardScaler``. A constant column gets scale 1 (so it becomes 0); an all-missing one stays missing."""

    kind = "standardize"
    columns: Columns = "numeric"

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        cols = ctx.resolve_numeric(self.columns, frame.collect_schema(), self.kind)
        s = _stats(
            frame,
            cols,
            {"n": lambda c: num(c).count(), "mean": lambda c: num(c).mean(), "std": lambda c: num(c).std(ddof=0)},
        )
        _warn_empty(self.kind, cols, s["n"], "leaves it missing")
        scale = []
        for col, n, std in zip(cols, s["n"], s["std"], strict=True):
            if n and (std is None or std < 10 * _EPS):
                warn(f"column {col!r} is constant in the training rows; standardize makes it 0")
                std = 1.0
            scale.append(json_float(std) if n else 1.0)
        return {"columns": cols, "mean": [json_float(m) for m in s["mean"]], "scale": scale}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        return frame.with_columns(
            _scaled(c, m, s) for c, m, s in zip(state["columns"], state["mean"], state["scale"], strict=True)
        )


@register
class RobustScale(Step):
    """``(x - median) / (q_high - q_low)`` with the training rows' quantiles (linear interpolation), like
    scikit-learn's ``RobustScaler``; a zero range gets scale 1."""

    kind = "robust_scale"
    columns: Columns = "numeric"
    quantile_range: tuple[float, float] = (25.0, 75.0)

    @model_validator(mode="after")
    def _range(self) -> RobustScale:
        low, high = self.quantile_range
        if not 0 <= low < high <= 100:
            raise ValueError(f"quantile_range must be two percentiles 0 <= low < high <= 100; got {[low, high]}")
        return self

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        cols = ctx.resolve_numeric(self.columns, frame.collect_schema(), self.kind)
        low, high = (q / 100 for q in self.quantile_range)
        s = _stats(
            frame,
            cols,
            {
                "n": lambda c: num(c).count(),
                "median": lambda c: num(c).median(),
                "low": lambda c: num(c).quantile(low, "linear"),
                "high": lambda c: num(c).quantile(high, "linear"),
                "min": lambda c: num(c).min(),
                "max": lambda c: num(c).max(),
            },
        )
        _warn_empty(self.kind, cols, s["n"], "leaves it missing")
        scale = []
        for col, n, lo, hi, mn, mx in zip(cols, s["n"], s["low"], s["high"], s["min"], s["max"], strict=True):
            if n and mn == mx:
                warn(f"column {col!r} is constant in the training rows; robust_scale makes it 0")
            width = (hi - lo) if n else 1.0
            scale.append(width if width >= 10 * _EPS else 1.0)
        return {"columns": cols, "center": [json_float(m) for m in s["median"]], "scale": scale}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        return frame.with_columns(
            _scaled(c, m, s) for c, m, s in zip(state["columns"], state["center"], state["scale"], strict=True)
        )


_BOUNDS = 1e-7  # scikit-learn's BOUNDS_THRESHOLD


def quantile_map(x: np.ndarray, quantiles: np.ndarray, normal: bool) -> np.ndarray:
    """Map values through the training quantiles to uniform [0, 1] (or a standard normal), as scikit-learn's
    ``QuantileTransformer`` does: the mean of the two interpolations, so repeated quantiles map to their middle."""
    out = np.array(x, dtype=np.float64, copy=True)
    refs = np.linspace(0, 1, len(quantiles))
    with np.errstate(invalid="ignore"):
        if normal:
            lower, upper = out - _BOUNDS < quantiles[0], out + _BOUNDS > quantiles[-1]
        else:
            lower, upper = out == quantiles[0], out == quantiles[-1]
    finite = ~np.isnan(out)
    xf = out[finite]
    out[finite] = 0.5 * (np.interp(xf, quantiles, refs) - np.interp(-xf, -quantiles[::-1], -refs[::-1]))
    out[upper] = 1.0
    out[lower] = 0.0
    if normal:
        from scipy.special import ndtri  # here, not at import: scipy.special costs a tree-only notebook 0.3 s

        low, high = ndtri(_BOUNDS - np.spacing(1)), ndtri(1 - (_BOUNDS - np.spacing(1)))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.clip(ndtri(out), low, high)
    return out


@register
class QuantileTransform(Step):
    """Rank-gauss (``output = 'normal'``) or uniform quantile transform with the training rows' quantiles, like
    scikit-learn's ``QuantileTransformer``. ``subsample``: quantiles from that many random training rows (seeded);
    default all rows."""

    kind = "quantile"
    columns: Columns = "numeric"
    n_quantiles: int = Field(default=1000, ge=2, le=100_000)
    output: Literal["normal", "uniform"] = "normal"
    subsample: int | None = Field(default=None, ge=10)

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        cols = ctx.resolve_numeric(self.columns, frame.collect_schema(), self.kind)
        if not cols:
            return {"columns": [], "quantiles": [], "constant": []}
        rows = frame.select(pl.len()).collect().item()
        if self.subsample is not None and self.subsample < rows:
            frame = frame.with_row_index("__row").filter(
                pl.col("__row").is_in(np.sort(np.random.default_rng(ctx.seed).permutation(rows)[: self.subsample]))
            )
            rows = self.subsample
        refs = np.linspace(0, 1, max(1, min(self.n_quantiles, rows)))
        values = frame.select(num(c).fill_null(np.nan) for c in cols).collect().to_numpy()
        # numpy's percentiles exactly, as scikit-learn: with tied values, a last-bit difference in a quantile moves
        # rows between flat segments of the interpolation
        counts = (~np.isnan(values)).sum(axis=0)
        quantiles: list[list[float] | None] = []
        constant = []
        for j, col in enumerate(cols):
            q = [float(v) for v in np.nanpercentile(values[:, j], refs * 100)] if counts[j] else None
            if q is None:
                warn(f"column {col!r} has no values in the training rows; quantile leaves it missing")
            elif q[0] == q[-1]:
                middle = "0" if self.output == "normal" else "0.5"
                warn(f"column {col!r} is constant in the training rows; quantile makes it {middle}")
            quantiles.append(q)
            constant.append(q is not None and q[0] == q[-1])
        return {"columns": cols, "quantiles": quantiles, "constant": constant}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        normal = self.output == "normal"

        def mapper(q: list[float]) -> Any:
            quantiles = np.asarray(q, dtype=np.float64)
            return lambda s: pl.Series(s.name, quantile_map(s.to_numpy(), quantiles, normal)).fill_nan(None)

        middle = 0.0 if normal else 0.5
        exprs = []
        for c, q, constant in zip(state["columns"], state["quantiles"], state["constant"], strict=True):
            if q is None:  # no training value: missing, as standardize makes it (test values passed through raw)
                exprs.append(pl.lit(None, pl.Float64).alias(c))
            elif constant:
                exprs.append(pl.when(num(c).is_not_null()).then(pl.lit(middle)).alias(c))
            else:
                exprs.append(num(c).map_batches(mapper(q), return_dtype=pl.Float64, is_elementwise=True).alias(c))
        return frame.with_columns(exprs)


@register
class Log1p(Step):
    """Signed ``log1p``: ``sign(x) * log(1 + |x|)``, equal to ``log1p(x)`` for ``x >= 0`` and defined for every
    value (negative values keep their sign instead of becoming NaN). Fits nothing."""

    kind = "log1p"
    columns: Columns = "numeric"

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        return {"columns": ctx.resolve_numeric(self.columns, frame.collect_schema(), self.kind)}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        return frame.with_columns((num(c).sign() * num(c).abs().log1p()).alias(c) for c in state["columns"])


@register
class Clip(Step):
    """Clip to the training rows' ``lower_quantile`` / ``upper_quantile`` (linear interpolation), or to fixed
    ``lower`` / ``upper`` values where given (winsorising)."""

    kind = "clip"
    columns: Columns = "numeric"
    lower_quantile: float | None = Field(default=0.01, ge=0, le=1)
    upper_quantile: float | None = Field(default=0.99, ge=0, le=1)
    lower: float | None = None
    upper: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Clip:
        lo = self.lower if self.lower is not None else self.lower_quantile
        hi = self.upper if self.upper is not None else self.upper_quantile
        if lo is None and hi is None:
            raise ValueError("clip needs a lower or an upper bound (lower_quantile, upper_quantile, lower, upper)")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower must be <= upper; got lower = {self.lower}, upper = {self.upper}")
        lq, uq = self.lower_quantile, self.upper_quantile
        if lq is not None and uq is not None and lq > uq:
            raise ValueError(f"lower_quantile must be <= upper_quantile; got {lq} > {uq}")
        return self

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        cols = ctx.resolve_numeric(self.columns, frame.collect_schema(), self.kind)
        lq = self.lower_quantile if self.lower is None else None
        uq = self.upper_quantile if self.upper is None else None
        exprs: dict[str, Any] = {"n": lambda c: num(c).count()}
        if lq is not None:
            exprs["lower"] = lambda c: num(c).quantile(lq, "linear")
        if uq is not None:
            exprs["upper"] = lambda c: num(c).quantile(uq, "linear")
        s = _stats(frame, cols, exprs)
        _warn_empty(self.kind, cols, s["n"], "leaves it missing")
        lower = [json_float(v) for v in s["lower"]] if "lower" in s else [self.lower] * len(cols)
        upper = [json_float(v) for v in s["upper"]] if "upper" in s else [self.upper] * len(cols)
        return {"columns": cols, "lower": lower, "upper": upper}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        return frame.with_columns(
            self._clipped(c, lo, hi) for c, lo, hi in zip(state["columns"], state["lower"], state["upper"], strict=True)
        )

    def _clipped(self, column: str, lower: float | None, upper: float | None) -> pl.Expr:
        """A bound read from the training rows' quantiles is None where they hold no value: the column is then
        missing, as standardize makes it (other rows' values passed through unclipped, on a scale no training row
        had: 1e6 into a net fitted on a missing column)."""
        empty = (self.lower is None and self.lower_quantile is not None and lower is None) or (
            self.upper is None and self.upper_quantile is not None and upper is None
        )
        return pl.lit(None, pl.Float64).alias(column) if empty else num(column).clip(lower, upper).alias(column)


@register
class MissingIndicator(Step):
    """Add ``<column>__isna`` (0/1) for each column; with ``only_missing`` (default) only for columns that have a
    missing value in the training rows, like scikit-learn's ``MissingIndicator``."""

    kind = "missing_indicator"
    columns: Columns = "all"
    only_missing: bool = True

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        schema = frame.collect_schema()
        cols = ctx.resolve(self.columns, schema)
        if self.only_missing and cols:
            counts = frame.select(_isna(c, schema[c]).sum().alias(c) for c in cols).collect().row(0)
            cols = [c for c, n in zip(cols, counts, strict=True) if n]
        ctx.new_names([f"{c}__isna" for c in cols], schema)
        return {"columns": cols}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        schema = frame.collect_schema()
        return frame.with_columns(_isna(c, schema[c]).cast(pl.UInt8).alias(f"{c}__isna") for c in state["columns"])

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        roles.add([f"{c}__isna" for c in state["columns"]])


def _isna(column: str, dtype: pl.DataType) -> pl.Expr:
    expr = pl.col(column).is_null()
    return expr | pl.col(column).is_nan() if dtype.is_float() else expr


@register
class Impute(Step):
    """Fill missing values with the training rows' ``mean``, ``median`` or ``most_frequent`` value (the smallest
    of tied values, as scikit-learn), or a ``constant`` ``fill_value``. Numeric columns come out as float64;
    ``most_frequent`` and ``constant`` also fill categorical columns (as text) and date columns (as dates: a constant
    must then be a date, '2020-01-01')."""

    kind = "impute"
    columns: Columns = "numeric"
    strategy: Literal["mean", "median", "most_frequent", "constant"] = "median"
    fill_value: float | str | None = None

    @model_validator(mode="after")
    def _fill(self) -> Impute:
        if self.strategy == "constant" and self.fill_value is None:
            raise ValueError("strategy = 'constant' needs fill_value")
        if self.strategy != "constant" and self.fill_value is not None:
            raise ValueError(f"fill_value is only for strategy = 'constant'; got strategy = {self.strategy!r}")
        if self.columns == "numeric" and isinstance(self.fill_value, str) and not spells_number(self.fill_value):
            raise ValueError(
                f"fill_value {self.fill_value!r} is text, but columns = 'numeric' (the default) picks numeric "
                "columns; give a number (fill_value = -1), or name text columns (columns = 'categorical')"
            )
        return self

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        schema = frame.collect_schema()
        cols = ctx.resolve(self.columns, schema)
        numeric = [schema[c].is_numeric() for c in cols]
        if self.strategy in ("mean", "median"):
            bad = [c for c, is_num in zip(cols, numeric, strict=True) if not is_num]
            if bad:
                raise DataError(
                    f"{ctx.where}: strategy {self.strategy!r} needs numeric columns, but {bad[0]!r} is "
                    f"{schema[bad[0]]}; use strategy = 'most_frequent' or 'constant' for it"
                )
        if self.strategy == "constant":
            values = [self._constant(c, is_num, schema, ctx) for c, is_num in zip(cols, numeric, strict=True)]
        elif self.strategy == "most_frequent":
            values = [_most_frequent(frame, c, is_num, schema[c]) for c, is_num in zip(cols, numeric, strict=True)]
        else:
            agg = (lambda c: num(c).mean()) if self.strategy == "mean" else (lambda c: num(c).median())
            values = [json_float(v) for v in _stats(frame, cols, {"v": agg})["v"]]
        for c, v in zip(cols, values, strict=True):
            if v is None:
                warn(f"column {c!r} has no values in the training rows; impute leaves it missing")
        return {"columns": cols, "numeric": numeric, "values": values}

    def _constant(self, column: str, numeric: bool, schema: pl.Schema, ctx: StepContext) -> float | str | None:
        """``fill_value`` for ``column``: a number for a numeric column (text that spells one, "0", is read so);
        other text there is a :class:`DataError` naming the column (it was polars' "conversion from str to f64
        failed in column 'literal'", at the first fold's transform)."""
        value = self.fill_value
        if is_temporal(schema[column]):
            return _date_fill(value, column, schema[column], ctx)
        if not numeric or not isinstance(value, str):
            return value
        try:
            return float(value)
        except ValueError:
            raise DataError(
                f"{ctx.where}: fill_value {value!r} is text, but column {column!r} is numeric ({schema[column]}); "
                "give a number (fill_value = -1), or name only the text columns in columns (columns = 'categorical')"
            ) from None

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        schema = frame.collect_schema()
        exprs = []
        for c, is_num, v in zip(state["columns"], state["numeric"], state["values"], strict=True):
            if is_num:
                exprs.append(num(c).fill_null(pl.lit(v, pl.Float64)).alias(c))
            elif isinstance(v, int) and not isinstance(v, bool) and is_temporal(dtype := schema[c]):
                # a date keeps its type (its physical value: days, or its time unit since 1970)
                exprs.append(pl.col(c).fill_null(pl.lit(v, pl.Int64).cast(dtype)).alias(c))
            elif v is not None:
                exprs.append(pl.col(c).cast(pl.String).fill_null(pl.lit(str(v))).alias(c))
        return frame.with_columns(exprs)


def spells_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _date_fill(value: Any, column: str, dtype: pl.DataType, ctx: StepContext) -> int:
    """A constant ``fill_value`` for a date column, as the column's physical value; text no date reads (and a number)
    is a :class:`DataError` naming the column (the column became text, a category per day)."""
    text = pl.Series([value if isinstance(value, str) else ""])
    try:
        parsed = (
            text.str.to_date(strict=False)
            if dtype == pl.Date
            else text.str.to_datetime(
                time_unit=dtype.time_unit,
                time_zone=dtype.time_zone,
                strict=False,  # type: ignore[attr-defined]
            )
        )
    except pl.exceptions.PolarsError:
        parsed = pl.Series([None], dtype=dtype)
    if parsed[0] is None:
        raise DataError(
            f"{ctx.where}: fill_value {value!r} is no date, but column {column!r} is {dtype}; give a date "
            "(fill_value = '2020-01-01'), or leave the column out of columns (the base encoding reads a missing date)"
        )
    return int(parsed.to_physical()[0])


def _most_frequent(frame: pl.LazyFrame, column: str, numeric: bool, dtype: pl.DataType) -> Any:
    """The most frequent value (the smallest of tied ones): a number as float, a date as its physical value (the
    column keeps its type: cast to text, each date became a category, and a later test date an unseen one), others
    as text."""
    if numeric:
        value = num(column).alias("v")
    elif is_temporal(dtype):
        value = pl.col(column).to_physical().alias("v")
    else:
        value = pl.col(column).cast(pl.String).alias("v")
    top = (
        frame.select(value)
        .drop_nulls()
        .group_by("v")
        .len()
        .sort(["len", "v"], descending=[True, False])
        .head(1)
        .collect()
    )
    if top.height == 0:
        return None
    v = top["v"][0]
    return json_float(v) if numeric else int(v) if is_temporal(dtype) else v
