"""Categorical steps: ordinal codes, one-hot, count / frequency, out-of-fold target encoding, rare-level grouping.

Levels are read as they are for integer, text and boolean columns, and as text for polars categoricals, enums and
dates. The rule for a level the training rows never held ("unseen"), with a :class:`FeatureWarning` naming the
column and how many rows hold one, each time rows are transformed:

==================  ====================================================================================
``ordinal``         code 0 (shared with missing values); known levels are 1..K
``one_hot``         the ``<column>__infrequent`` indicator if the column has one, else all zeros
``count_encode``    0
``target_encode``   the training rows' mean target (the prior)
``rare_group``      the rare label (``"__rare__"``)
==================  ====================================================================================

Missing values: ``count_encode`` and ``target_encode`` treat "missing" as a level of its own (as scikit-learn's
``TargetEncoder`` does); ``ordinal`` gives them code 0, ``one_hot`` all zeros, ``rare_group`` keeps them missing.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from .base import (
    Check,
    Columns,
    Roles,
    Step,
    StepContext,
    dtype_from_name,
    is_level,
    key_cast,
    key_expr,
    register,
    unseen_check,
    warn,
)


def _level_counts(frame: pl.LazyFrame, columns: list[str]) -> dict[str, tuple[str, pl.DataFrame]]:
    """Per column: the key's dtype name and a frame (level, len) of the training rows' levels, missing included,
    most frequent first (ties: smallest level first, missing last)."""
    schema = frame.collect_schema()
    keys = [key_expr(c, schema[c]) for c in columns]
    lazy = [
        frame.select(key.alias("level"))
        .group_by("level")
        .len()
        .sort(["len", "level"], descending=[True, False], nulls_last=True)
        for key, _ in keys
    ]
    counts = pl.collect_all(lazy) if lazy else []
    return {c: (dtype, table) for c, (_, dtype), table in zip(columns, keys, counts, strict=True)}


def _warn_all_missing(column: str, table: pl.DataFrame, step: str, rule: str) -> None:
    if table.height == 0 or table["level"].null_count() == table.height:
        warn(f"column {column!r} has no values in the training rows; {step} {rule}")


def _unseen(frame: pl.LazyFrame, state: dict[str, Any], step: str, rule: str) -> list[Check]:
    schema = frame.collect_schema()
    return [
        unseen_check(frame, c, key_cast(c, state["key_dtype"][c], schema), state["levels"][c], step, rule)
        for c in state["columns"]
    ]


@register
class OrdinalEncode(Step):
    """Integer codes 1..K of the training levels, by ``order`` (``frequency``: most frequent first, or
    ``lexical``); code 0 for missing values, unseen levels and levels seen fewer than ``min_count`` times.
    With ``categorical`` (default) the codes stay a categorical column (trees split them natively, nets embed
    them); otherwise they are plain numbers."""

    kind = "ordinal"
    columns: Columns = "categorical"
    order: Literal["frequency", "lexical"] = "frequency"
    min_count: int = Field(default=1, ge=1)
    categorical: bool = True

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        cols = ctx.resolve(self.columns, frame.collect_schema())
        ctx.refuse_out_of_fold(cols, self.kind)
        key_dtype, levels, codes = {}, {}, {}
        for c, (dtype, table) in _level_counts(frame, cols).items():
            _warn_all_missing(c, table, self.kind, "gives every row code 0")
            table = table.drop_nulls("level")
            if self.order == "lexical":
                table = table.sort("level")
            kept = (table["len"] >= self.min_count).to_numpy()
            key_dtype[c], levels[c] = dtype, table["level"].to_list()
            codes[c] = np.where(kept, np.cumsum(kept), 0).tolist()  # 1..K in order; 0 for levels too rare
        return {"columns": cols, "key_dtype": key_dtype, "levels": levels, "codes": codes}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        schema = frame.collect_schema()
        return frame.with_columns(
            key_cast(c, state["key_dtype"][c], schema)
            .replace_strict(state["levels"][c], state["codes"][c], default=0, return_dtype=pl.Int32)
            .alias(c)
            for c in state["columns"]
        )

    def checks(self, frame: pl.LazyFrame, state: dict[str, Any]) -> list[Check]:
        return _unseen(frame, state, self.kind, "gives them code 0")

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        if self.categorical:
            roles.add(state["columns"], categorical=True)
        else:
            roles.numeric(state["columns"])


@register
class OneHot(Step):
    """One 0/1 column ``<column>__<level>`` per training level (levels in sorted order), replacing the column.
    Levels seen fewer than ``min_frequency`` times (a count, or a fraction of the training rows when below 1),
    and beyond the ``max_categories - 1`` most frequent, share one ``<column>__infrequent`` column, as in
    scikit-learn's ``OneHotEncoder(handle_unknown='infrequent_if_exist')``."""

    kind = "one_hot"
    columns: Columns = "categorical"
    min_frequency: int | float = 1
    max_categories: int | None = Field(default=None, ge=2)

    @field_validator("min_frequency")
    @classmethod
    def _frequency(cls, value: int | float) -> int | float:
        if isinstance(value, float) and not 0 < value < 1:
            raise ValueError(f"min_frequency must be a count >= 1 or a fraction in (0, 1); got {value}")
        if isinstance(value, int) and value < 1:
            raise ValueError(f"min_frequency must be a count >= 1 or a fraction in (0, 1); got {value}")
        return value

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        schema = frame.collect_schema()
        cols = ctx.resolve(self.columns, schema)
        ctx.refuse_out_of_fold(cols, self.kind)
        n_rows = frame.select(pl.len()).collect().item()
        key_dtype, levels, frequent, infrequent, outputs = {}, {}, {}, {}, {}
        for c, (dtype, table) in _level_counts(frame, cols).items():
            _warn_all_missing(c, table, self.kind, "gives every row zeros")
            table = table.drop_nulls("level").sort("level")
            counts = table["len"].to_numpy()
            rare = self._infrequent(counts, n_rows)
            names = table["level"].to_list()
            key_dtype[c], levels[c] = dtype, names
            frequent[c] = [v for v, r in zip(names, rare, strict=True) if not r]
            infrequent[c] = bool(rare.any())
            outputs[c] = [f"{c}__{v}" for v in frequent[c]] + ([f"{c}__infrequent"] if infrequent[c] else [])
            if len(outputs[c]) > 1000:
                warn(
                    f"column {c!r}: one_hot makes {len(outputs[c])} columns; set min_frequency or max_categories "
                    "(or use target_encode / count_encode for a column with this many levels)"
                )
        ctx.new_names([name for c in cols for name in outputs[c]], schema)  # across columns: a/'b__c', a__b/'c'
        return {
            "columns": cols,
            "key_dtype": key_dtype,
            "levels": levels,
            "frequent": frequent,
            "infrequent": infrequent,
            "outputs": outputs,
        }

    def _infrequent(self, counts: np.ndarray, n_rows: int) -> np.ndarray:
        # scikit-learn's OneHotEncoder._identify_infrequent, on counts in sorted-level order
        mask = np.zeros(len(counts), dtype=bool)
        if isinstance(self.min_frequency, int):
            if self.min_frequency > 1:
                mask = counts < self.min_frequency
        else:
            mask = counts < self.min_frequency * n_rows
        n_current = len(counts) - mask.sum() + 1
        if self.max_categories is not None and self.max_categories < n_current:
            keep = self.max_categories - 1
            if keep == 0:
                mask[:] = True
            else:
                mask[np.argsort(counts, kind="mergesort")[:-keep]] = True
        return mask

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        schema = frame.collect_schema()
        exprs = []
        for c in state["columns"]:
            key = key_cast(c, state["key_dtype"][c], schema)
            frequent = state["frequent"][c]
            for level, name in zip(frequent, state["outputs"][c][: len(frequent)], strict=True):
                exprs.append((key == level).fill_null(False).cast(pl.UInt8).alias(name))
            if state["infrequent"][c]:
                known = is_level(key, frequent)
                exprs.append((key.is_not_null() & ~known).cast(pl.UInt8).alias(f"{c}__infrequent"))
        return frame.with_columns(exprs).drop(state["columns"])

    def checks(self, frame: pl.LazyFrame, state: dict[str, Any]) -> list[Check]:
        schema = frame.collect_schema()
        return [
            unseen_check(
                frame,
                c,
                key_cast(c, state["key_dtype"][c], schema),
                state["levels"][c],
                self.kind,
                f"puts them in {c + '__infrequent'!r}" if state["infrequent"][c] else "gives them all zeros",
            )
            for c in state["columns"]
        ]

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        roles.remove(state["columns"])
        for c in state["columns"]:
            roles.add(state["outputs"][c])


@register
class CountEncode(Step):
    """Replace each level by how many training rows hold it (``normalize``: the fraction of training rows).
    Missing counts as a level; an unseen level gets 0. ``keep`` adds ``<column>__count`` / ``__frequency``
    beside the column instead of replacing it."""

    kind = "count_encode"
    columns: Columns = "categorical"
    normalize: bool = False
    keep: bool = False

    def _name(self, column: str) -> str:
        return (f"{column}__frequency" if self.normalize else f"{column}__count") if self.keep else column

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        schema = frame.collect_schema()
        cols = ctx.resolve(self.columns, schema)
        ctx.refuse_out_of_fold(cols, self.kind)
        n_rows = frame.select(pl.len()).collect().item()
        key_dtype, levels, values = {}, {}, {}
        for c, (dtype, table) in _level_counts(frame, cols).items():
            counts = table["len"].to_list()
            key_dtype[c], levels[c] = dtype, table["level"].to_list()
            values[c] = [n / n_rows for n in counts] if self.normalize else counts
        if self.keep:
            ctx.new_names([self._name(c) for c in cols], schema)
        return {"columns": cols, "key_dtype": key_dtype, "levels": levels, "values": values}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        schema = frame.collect_schema()
        dtype = pl.Float64 if self.normalize else pl.Int64
        return frame.with_columns(
            key_cast(c, state["key_dtype"][c], schema)
            .replace_strict(state["levels"][c], state["values"][c], default=0, return_dtype=dtype)
            .alias(self._name(c))
            for c in state["columns"]
        )

    def checks(self, frame: pl.LazyFrame, state: dict[str, Any]) -> list[Check]:
        return _unseen(frame, state, self.kind, "gives them 0")

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        if self.keep:
            roles.add([self._name(c) for c in state["columns"]])
        else:
            roles.numeric(state["columns"])


def _smoothed(
    n: np.ndarray, s: np.ndarray, q: np.ndarray, prior: np.ndarray | float, var: np.ndarray | float, smooth: float | str
) -> np.ndarray:
    """The encoding of a level seen ``n`` times with target sum ``s`` and sum of squares ``q``, shrunk to ``prior``
    (scikit-learn's TargetEncoder: ``(s + m prior) / (n + m)``, or with ``'auto'`` the empirical-Bayes weight
    ``lambda = var n / (var n + within-level variance)``). A level with no rows gets the prior."""
    prior = np.broadcast_to(prior, np.shape(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        if smooth == "auto":
            mean = s / n
            within = np.maximum(q / n - mean * mean, 0.0)
            lam = var * n / (var * n + within)
            enc = lam * mean + (1.0 - lam) * prior
        else:
            m = float(smooth)
            enc = (s + m * prior) / (n + m)
    return np.where((n > 0) & ~np.isnan(enc), enc, prior)


_INT64_MAX = 2**63 - 1


def _dense_codes(frame: pl.LazyFrame, column: str, dtype: pl.DataType, n_rows: int) -> tuple[pl.LazyFrame, Any]:
    """Per row a code ``1..L`` of its level (0 for missing), and how to read a level back from its code: integers
    with a compact range use ``value - min + 1`` (no sort); other columns the dense rank (levels in sorted order)."""
    col = pl.col(column)
    if dtype.is_integer():
        lo, hi = frame.select(col.min().alias("lo"), col.max().alias("hi")).collect().row(0)
        if lo is None:
            return frame.select(pl.lit(0, pl.Int64).alias("code")), ("offset", 0)
        # the offset path counts in Int64: a UInt64 beyond its range (a 64-bit hash id) takes the dense rank
        if int(hi) - int(lo) <= 4 * n_rows + 1024 and int(hi) <= _INT64_MAX:
            return frame.select((col.cast(pl.Int64) - int(lo) + 1).fill_null(0).alias("code")), ("offset", int(lo))
    ranked = col.cast(pl.UInt8) if dtype == pl.Boolean else col
    codes = frame.select(ranked.rank("dense").cast(pl.Int64).fill_null(0).alias("code"))
    return codes, ("levels", frame.select(col.drop_nulls().unique().sort().alias("level")))


@register
class TargetEncode(Step):
    """Replace each level by the training rows' mean target for it, smoothed towards the overall mean
    (``smooth``: a pseudo-count, or ``'auto'`` as scikit-learn). One column per class for multiclass targets
    (``<column>__te_<k>``), one otherwise.

    Leak-free by construction: the training rows themselves are encoded **out of fold**, with ``cv`` inner
    folds (stratified for classification, seeded) on the training rows: a row's value comes from the other inner
    folds' rows, never from its own target. Validation and test rows use the encoding of all training rows.
    ``keep`` adds ``<column>__te`` beside the column instead of replacing it.

    Fitting codes the levels densely with polars and sums the target by (level, inner fold) with ``numpy.bincount``;
    applying the state is a polars ``replace_strict``."""

    kind = "target_encode"
    needs_target = True
    columns: Columns = "categorical"
    smooth: float | Literal["auto"] = "auto"
    cv: int = Field(default=5, ge=2, le=100)
    keep: bool = False

    @field_validator("smooth")
    @classmethod
    def _non_negative(cls, value: float | str) -> float | str:
        if not isinstance(value, str) and value < 0:
            raise ValueError(f"smooth must be 'auto' or a pseudo-count >= 0; got {value}")
        return value

    def _outputs(self, column: str, n_out: int) -> list[str]:
        if n_out > 1:
            return [f"{column}__te_{k}" for k in range(n_out)]
        return [f"{column}__te" if self.keep else column]

    def _targets(self, ctx: StepContext) -> list[np.ndarray]:
        y = ctx.target(self.kind)
        if ctx.task == "regression":
            return [y.astype(np.float64)]
        if ctx.task == "binary":
            return [(y == 1).astype(np.float64)]
        return [(y == k).astype(np.float64) for k in range(ctx.n_classes)]

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        return self.fit_transform(frame, ctx)[1]

    def fit_transform(self, frame: pl.LazyFrame, ctx: StepContext) -> tuple[pl.LazyFrame, dict[str, Any]]:
        schema = frame.collect_schema()
        cols = ctx.resolve(self.columns, schema)
        ctx.refuse_out_of_fold(cols, self.kind)
        targets = self._targets(ctx)
        n_out, cv = len(targets), self.cv
        prior = [float(t.mean()) for t in targets]
        if n_out > 1 or self.keep:
            ctx.new_names([o for c in cols for o in self._outputs(c, n_out)], schema)
        if not cols:
            return frame, self._state(cols, {}, {}, {}, prior)
        folds = ctx.inner_folds(cv)
        need_sq = self.smooth == "auto" and ctx.task == "regression"
        # per split, as scikit-learn: the target's mean and variance on the rows outside each inner fold
        outside = [folds != f for f in range(cv)]
        priors = np.array([[t[m].mean() for m in outside] for t in targets])  # (n_out, cv)
        variances = np.array([[t[m].var() for m in outside] for t in targets])

        # dense level codes (polars), then the sums by (level, inner fold) in one numpy bincount each
        keys = {c: key_expr(c, schema[c]) for c in cols}
        keyed = frame.select(key.alias(c) for c, (key, _) in keys.items()).collect()
        encoded: dict[str, np.ndarray] = {}
        key_dtype, levels, values = {}, {}, {}
        for c in cols:  # one column at a time: only one column's codes in memory
            codes, how = _dense_codes(keyed.lazy(), c, keyed.schema[c], keyed.height)
            code = codes.collect()["code"].to_numpy()
            n_codes = int(code.max()) + 1
            cell = code * cv + folds
            counts = np.bincount(cell, minlength=n_codes * cv).reshape(n_codes, cv).astype(np.float64)
            n_level = counts.sum(axis=1)
            full_values = []
            for k, (name, t) in enumerate(zip(self._outputs(c, n_out), targets, strict=True)):
                sums = np.bincount(cell, weights=t, minlength=n_codes * cv).reshape(n_codes, cv)
                squares = (
                    np.bincount(cell, weights=t * t, minlength=n_codes * cv).reshape(n_codes, cv) if need_sq else sums
                )
                # out of fold: the level's totals minus its rows in the row's own inner fold
                table = _smoothed(
                    n_level[:, None] - counts,
                    sums.sum(axis=1, keepdims=True) - sums,
                    squares.sum(axis=1, keepdims=True) - squares,
                    priors[k][None, :],
                    variances[k][None, :],
                    self.smooth,
                )
                encoded[name] = table[code, folds]
                # all training rows: the encoding for validation / test rows
                full_values.append(
                    _smoothed(n_level, sums.sum(axis=1), squares.sum(axis=1), prior[k], float(t.var()), self.smooth)
                )
            # levels most frequent first; ties: smallest level first, missing (code 0) last
            seen = np.flatnonzero(n_level)  # codes in level order (0: missing)
            order = seen[np.lexsort((seen == 0, -n_level[seen]))]  # stable: ties keep level order
            if how[0] == "offset":
                names: list[Any] = [None if i == 0 else int(i) - 1 + how[1] for i in order]
            else:
                sorted_levels = how[1].collect()["level"].to_list()
                names = [None if i == 0 else sorted_levels[i - 1] for i in order]
            if all(v is None for v in names):
                warn(
                    f"column {c!r} has no values in the training rows; target_encode gives every row the training mean"
                )
            key_dtype[c], levels[c] = keys[c][1], names
            values[c] = [v[order].tolist() for v in full_values]
        state = self._state(cols, key_dtype, levels, values, prior)
        return self._replace(frame, pl.DataFrame(encoded).lazy(), cols, n_out), state

    def _state(
        self, cols: list[str], key_dtype: dict, levels: dict, values: dict, prior: list[float]
    ) -> dict[str, Any]:
        return {
            "columns": cols,
            "key_dtype": key_dtype,
            "levels": levels,
            "values": values,
            "prior": prior,
            "outputs": {c: self._outputs(c, len(prior)) for c in cols},
        }

    def _replace(self, frame: pl.LazyFrame, encoded: pl.LazyFrame, cols: list[str], n_out: int) -> pl.LazyFrame:
        if n_out == 1 and not self.keep:  # in place: the encoding takes the column's name and position
            return pl.concat([frame.drop(cols), encoded], how="horizontal").select(frame.collect_schema().names())
        out = pl.concat([frame, encoded], how="horizontal")
        return out if self.keep else out.drop(cols)

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        schema = frame.collect_schema()
        exprs = []
        for c in state["columns"]:
            key = key_cast(c, state["key_dtype"][c], schema)
            for name, values, prior in zip(state["outputs"][c], state["values"][c], state["prior"], strict=True):
                exprs.append(
                    key.replace_strict(state["levels"][c], values, default=prior, return_dtype=pl.Float64).alias(name)
                )
        out = frame.with_columns(exprs)
        if len(state["prior"]) > 1 and not self.keep:
            out = out.drop(state["columns"])
        return out

    def checks(self, frame: pl.LazyFrame, state: dict[str, Any]) -> list[Check]:
        return _unseen(frame, state, self.kind, "gives them the training mean")

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        cols = state["columns"]
        if len(state["prior"]) > 1 or self.keep:
            for c in cols:
                roles.add(state["outputs"][c])
            if not self.keep:
                roles.remove(cols)
        else:
            roles.numeric(cols)
            roles.out_of_fold.update(dict.fromkeys(cols, self.kind))


@register
class RareGroup(Step):
    """Merge levels seen fewer than ``min_count`` times (or in less than ``min_frequency`` of the training rows)
    into one ``label``; unseen levels join it too, missing values stay missing. The column comes out as text."""

    kind = "rare_group"
    columns: Columns = "categorical"
    min_count: int = Field(default=10, ge=1)
    min_frequency: float | None = Field(default=None, gt=0, lt=1)
    label: str = "__rare__"

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        cols = ctx.resolve(self.columns, frame.collect_schema())
        ctx.refuse_out_of_fold(cols, self.kind)
        n_rows = frame.select(pl.len()).collect().item()
        threshold = max(self.min_count, self.min_frequency * n_rows if self.min_frequency else 0)
        key_dtype, levels, keep = {}, {}, {}
        for c, (dtype, table) in _level_counts(frame, cols).items():
            _warn_all_missing(c, table, self.kind, "leaves it missing")
            table = table.drop_nulls("level")
            key_dtype[c], levels[c] = dtype, table["level"].to_list()
            keep[c] = table.filter(pl.col("len") >= threshold)["level"].to_list()
        return {"columns": cols, "key_dtype": key_dtype, "levels": levels, "keep": keep}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        schema = frame.collect_schema()
        exprs = []
        for c in state["columns"]:
            key = key_cast(c, state["key_dtype"][c], schema)
            known = is_level(key, state["keep"][c])
            as_text = key.cast(pl.String)
            if (dtype := dtype_from_name(state["key_dtype"][c])) is not None and dtype.is_integer():
                as_text = key.cast(dtype, strict=False).cast(pl.String)  # a kept level is whole: 2.0 reads '2'
            exprs.append(
                pl.when(key.is_null())
                .then(pl.lit(None, pl.String))
                .when(known)
                .then(as_text)
                .otherwise(pl.lit(self.label))
                .alias(c)
            )
        return frame.with_columns(exprs)

    def checks(self, frame: pl.LazyFrame, state: dict[str, Any]) -> list[Check]:
        return _unseen(frame, state, self.kind, f"puts them in {self.label!r}")

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        roles.add(state["columns"], categorical=True)
