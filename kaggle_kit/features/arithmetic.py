"""Arithmetic combinations of the most telling numeric columns (AutoGluon 1.6's in-fold arithmetic features).

``{ step = "arithmetic_pairs", top = 6 }`` scores its ``columns`` (the numeric feature columns by default) against the
training rows' target, keeps the ``top`` best, and adds for each pair ``(a, b)`` of them (``a`` the better scored)
``a__plus__b``, ``a__minus__b``, ``a__times__b`` and ``a__over__b``: missing where ``b`` is 0, and where a result is
too large for the models' float32 matrix. A tree splits on one column at a time, so a sum or a ratio of two
quantities is a line it can only approximate with many splits.

The columns are scored by the gain of a quick LightGBM on them (100 rounds of 15 leaves, one thread, seeded; fewer
rounds per class for many classes) fitted to the training rows' target: a column that matters only together with
another one (the divisor of a ratio) scores too, where a column-by-column score would miss it. At most 100,000
training rows drawn by the seed are read, so a large table costs seconds.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from .base import Columns, Roles, Step, StepContext, num, register

Op = Literal["add", "subtract", "multiply", "divide"]
_OPS: dict[str, str] = {"add": "plus", "subtract": "minus", "multiply": "times", "divide": "over"}
_SCORE_ROWS = 100_000
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def column_gains(X: np.ndarray, y: np.ndarray, task: str | None, n_classes: int, seed: int) -> np.ndarray:
    """Each column's total gain in a quick, seeded, single-threaded LightGBM fitted to ``y``."""
    import lightgbm as lgb

    params: dict[str, Any] = {"learning_rate": 0.1, "num_leaves": 15, "num_threads": 1, "seed": seed,
                              "deterministic": True, "force_row_wise": True, "verbose": -1}  # fmt: skip
    rounds = 100
    if task == "regression":
        params["objective"] = "regression"
    elif n_classes <= 2:
        params["objective"] = "binary"
    else:
        params.update(objective="multiclass", num_class=n_classes)
        rounds = max(10, 300 // n_classes)  # each round fits a tree per class
    booster = lgb.train(params, lgb.Dataset(X, y, params={"verbose": -1}), num_boost_round=rounds)
    return booster.feature_importance("gain")


def _name(a: str, op: str, b: str) -> str:
    return f"{a}__{_OPS[op]}__{b}"


def _finite(expr: pl.Expr) -> pl.Expr:
    """``expr`` where the models' float32 matrix can hold it, else missing (a product of two large values)."""
    return pl.when(expr.abs() <= _FLOAT32_MAX).then(expr).otherwise(None)


@register
class ArithmeticPairs(Step):
    """Add the sum, difference, product and ratio (``ops``) of each pair of the ``top`` numeric columns a quick
    LightGBM found most useful for the target (see the module docstring)."""

    kind = "arithmetic_pairs"
    needs_target: ClassVar[bool] = True
    columns: Columns = "numeric"
    top: int = Field(6, ge=2, le=30)
    ops: list[Op] = Field(default_factory=lambda: list(_OPS), min_length=1)

    @field_validator("ops")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an operation more than once")
        return value

    def _names(self, pairs: list[list[str]]) -> list[str]:
        return [_name(a, op, b) for a, b in pairs for op in self.ops]

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        schema = frame.collect_schema()
        cols = ctx.resolve_numeric(self.columns, schema, self.kind)
        y = ctx.target(self.kind)
        if len(cols) < 2:  # no pair to make
            return {"columns": [], "scores": [], "pairs": []}
        values = [num(c).cast(pl.Float32) for c in cols]
        if len(y) > _SCORE_ROWS:  # only the drawn rows are read into memory
            rows = np.sort(np.random.default_rng(ctx.seed).choice(len(y), _SCORE_ROWS, replace=False))
            values, y = [v.gather(pl.Series(rows)) for v in values], y[rows]
        gains = column_gains(frame.select(values).collect().to_numpy(), y, ctx.task, ctx.n_classes, ctx.seed)
        scores = dict(zip(cols, map(float, gains), strict=True))
        best = sorted((c for c in cols if scores[c] > 0), key=lambda c: (-scores[c], cols.index(c)))[: self.top]
        pairs = [list(p) for p in itertools.combinations(best, 2)]
        ctx.new_names(self._names(pairs), schema)
        return {"columns": best, "scores": [scores[c] for c in best], "pairs": pairs}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        exprs = []
        for a, b in state["pairs"]:
            x, z = num(a), num(b)
            made = {
                "add": x + z,
                "subtract": x - z,
                "multiply": x * z,
                "divide": x / z,  # x / 0 is infinite or NaN: missing, as :func:`_finite` makes it
            }
            exprs += [_finite(made[op]).alias(_name(a, op, b)) for op in self.ops]
        return frame.with_columns(exprs) if exprs else frame

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        roles.add(self._names(state["pairs"]))
