"""What every feature step shares: the :class:`Step` base class, column roles and selectors, the step registry.

A step is a frozen pydantic model whose fields are its parameters (so a config's step table is validated like the
rest of the spec) with two pure methods over polars lazy frames:

* ``fit(frame, ctx) -> state``: statistics of the training rows, as a small JSON-able dict (no pickle);
* ``transform(frame, state) -> frame``: polars expressions that apply them to any rows.

Steps that use the target (target encoding) also override ``fit_transform``: the training rows are encoded out of
fold, so a row never sees its own target. Steps never see validation or test rows while fitting: the pipeline
hands them the fold's training rows only.
"""

from __future__ import annotations

import math
import re
import warnings
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict

from ..errors import ConfigError, DataError, allowed, did_you_mean

#: Column shortcuts a step's ``columns`` may name instead of a list: resolved against the columns the pipeline
#: treats as features at that step (the data's recognised columns, plus what earlier steps added).
SELECTORS = ("all", "categorical", "numeric", "temporal")
Selector = Literal["all", "categorical", "numeric", "temporal"]
TargetKind = Literal["binary", "multiclass", "regression"]

_TEXT = (pl.String, pl.Categorical, pl.Enum)
_CATEGORICAL_DTYPES = (*_TEXT, pl.Boolean)
_TEMPORAL = (pl.Date, pl.Datetime)


class FeatureWarning(UserWarning):
    """A feature step met data it handles by a documented rule (unseen level, constant or all-missing column, a
    column of another type than in training). The message names the column; filter by this class to silence."""


def warn(message: str) -> None:
    warnings.warn(message, FeatureWarning, stacklevel=4)


def _check_columns(value: Any) -> Any:
    if isinstance(value, str):
        if value not in SELECTORS:
            raise ValueError(
                f"must be a list of column names or one of {allowed(SELECTORS)}; got {value!r}."
                f"{did_you_mean(value, SELECTORS)} (write [{value!r}] for a column of that name)"
            )
        return value
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("must name at least one column")
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            raise ValueError(f"must be column names (text); got {bad[0]!r}")
        dupes = sorted({v for v in value if list(value).count(v) > 1})
        if dupes:
            raise ValueError(f"lists {allowed(dupes)} more than once")
        return list(value)
    raise ValueError(f"must be a list of column names or one of {allowed(SELECTORS)}; got {value!r}")


def once_each(values: Sequence[Any], what: str) -> None:
    """A list parameter that names an item twice (``stats = ["mean", "mean"]``): a ``ValueError`` for the spec's
    validation, naming it (the step made the column twice, or polars stopped on a duplicate key, at the first fit)."""
    twice = [v for v, n in Counter(values).items() if n > 1]
    if twice:
        raise ValueError(f"lists {what} {twice[0]!r} more than once; list each once")


#: A step's ``columns``: explicit names, or a selector shortcut.
Columns = Annotated[list[str] | str, BeforeValidator(_check_columns)]


@dataclass
class Roles:
    """The columns the pipeline treats as features at a step, and which of them are categorical (ordered)."""

    features: list[str]
    categorical: list[str]
    #: columns an earlier step replaced in place with an out-of-fold encoding (-> that step's kind): their training
    #: rows hold each row's out-of-fold value and other rows the full fit's, so no step may group by them
    out_of_fold: dict[str, str] = field(default_factory=dict)

    def add(self, names: Sequence[str], *, categorical: bool = False) -> None:
        for name in names:
            if name not in self.features:
                self.features.append(name)
            if categorical and name not in self.categorical:
                self.categorical.append(name)

    def remove(self, names: Sequence[str]) -> None:
        gone = set(names)
        self.features = [c for c in self.features if c not in gone]
        self.categorical = [c for c in self.categorical if c not in gone]

    def numeric(self, names: Sequence[str]) -> None:
        """``names`` now hold numbers (an encoder replaced the categories in place)."""
        gone = set(names)
        self.categorical = [c for c in self.categorical if c not in gone]


_NUMERIC_FIX = "leave it out of columns (columns = 'numeric' picks the numeric feature columns)"


@dataclass
class StepContext:
    """What a step's ``fit`` may know besides the training rows: their target, the task, a seed and the roles."""

    roles: Roles
    seed: int = 0
    #: the training rows' target: class codes ``0..C-1`` (classification) or floats (regression); None when the
    #: pipeline was fitted without one
    y: np.ndarray | None = None
    task: TargetKind | None = None
    n_classes: int = 0
    where: str = "step"
    #: the frame's column of the target ``y`` came from (``y = train["target"]``), which no step may read
    target_name: str | None = None
    #: columns an earlier step of the pipeline replaced or dropped -> that step, as a message names it
    gone: dict[str, str] = field(default_factory=dict)
    _folds: dict[int, np.ndarray] = field(default_factory=dict)

    def target(self, step: str) -> np.ndarray:
        if self.y is None or self.task is None:
            raise ConfigError(
                f"{self.where}: {step} needs the training rows' target: call fit(frame, y) / fit_transform(frame, y)"
            )
        return self.y

    def inner_folds(self, n_splits: int) -> np.ndarray:
        """Inner fold ids of the training rows (stratified by class for classification), fixed by the seed: the
        same for every step of a fit, so a run is deterministic."""
        if n_splits not in self._folds:
            y = self.target("inner folds")
            if len(y) < n_splits:
                raise DataError(f"{self.where}: {len(y)} training row(s) cannot be split into {n_splits} inner folds")
            self._folds[n_splits] = inner_folds(y, n_splits, self.seed, stratify=self.task != "regression")
        return self._folds[n_splits]

    def refuse_out_of_fold(self, names: Sequence[str], step: str, key: str = "columns", what: str = "values") -> None:
        """A :class:`ConfigError` for a step that looks values up (a group key, a level) in a column an earlier step
        replaced in place with its out-of-fold encoding: each training row holds its own value and other rows the
        full fit's, so no validation or test value matches one of the training rows. ``count_encode`` (``ordinal``,
        ``one_hot``, ``rare_group``, ``target_encode``) after ``target_encode`` of the same column gave the training
        rows counts and every validation and test row 0, without a word in a run (its folds do not warn of their
        validation rows' unseen levels)."""
        encoded = [c for c in names if c in self.roles.out_of_fold]
        if encoded:
            raise out_of_fold_error(self.where, key, encoded[0], self.roles.out_of_fold[encoded[0]], step, what)

    def resolve(self, columns: list[str] | str, schema: pl.Schema, *, reads: bool = True) -> list[str]:
        """A step's ``columns`` as names of the frame: explicit names must exist; shortcuts pick feature columns.
        ``reads``: the step reads the columns' values (select / drop only name them: the target is no feature)."""
        roles = self.roles
        if isinstance(columns, list):
            if reads and self.target_name in columns:
                raise DataError(
                    f"{self.where}: column {self.target_name!r} is the target (y): no step reads it as a column (the "
                    "rows transformed would get features made of their own target); leave it out of columns"
                )
            missing = [c for c in columns if c not in schema]
            if missing and missing[0] in self.gone:
                raise DataError(
                    f"{self.where}: column {missing[0]!r} is no longer in the frame: {self.gone[missing[0]]} replaced "
                    "or dropped it; move this step before that one, or keep the column there (keep = true where the "
                    "step has it)"
                )
            if missing:
                raise DataError(
                    f"{self.where}: column {missing[0]!r} is not in the frame.{did_you_mean(missing[0], schema)} "
                    f"Columns: {list(schema)[:20]}{' ...' if len(schema) > 20 else ''}"
                )
            return list(columns)
        cat = set(roles.categorical)
        if columns == "categorical":
            return [c for c in roles.features if c in cat]
        if columns == "numeric":
            return [c for c in roles.features if c not in cat and c in schema and schema[c].is_numeric()]
        if columns == "temporal":
            return [c for c in roles.features if c in schema and isinstance(schema[c], _TEMPORAL)]
        return [c for c in roles.features if c in schema]

    def resolve_numeric(
        self, columns: list[str] | str, schema: pl.Schema, step: str, fix: str = _NUMERIC_FIX
    ) -> list[str]:
        """:meth:`resolve` for a step that computes on numbers: a column that does not read as numbers (text, dates;
        booleans read as 0 / 1) is a :class:`DataError` naming it and ``fix``, not polars' cast error."""
        cols = self.resolve(columns, schema)
        bad = [c for c in cols if not (schema[c].is_numeric() or schema[c] == pl.Boolean)]
        if bad:
            raise DataError(f"{self.where}: {step} needs numeric columns, but {bad[0]!r} is {schema[bad[0]]}; {fix}")
        return cols

    def new_names(self, names: Sequence[str], schema: pl.Schema) -> None:
        """Refuse new columns whose names the frame has, or that the step would make twice (names holding ``__``
        run together: the pairs ``(a, b__plus__c)`` and ``(a__plus__b, c)`` both make ``a__plus__b__plus__c``)."""
        taken = [n for n in names if n in schema]
        if taken:
            raise DataError(
                f"{self.where}: it would add column {taken[0]!r}, which the frame already has; rename that column"
            )
        twice = [n for n, count in Counter(names).items() if count > 1]
        if twice:
            raise DataError(
                f"{self.where}: it would make column {twice[0]!r} twice, from input columns whose names run together "
                "around '__'; rename one of them"
            )


#: steps that look a column's values up (levels, group keys): none may read an out-of-fold encoding
LOOKUPS = ("ordinal", "one_hot", "count_encode", "target_encode", "rare_group", "group_aggregate")


def out_of_fold_error(where: str, key: str, name: str, encoder: str, step: str, what: str = "values") -> ConfigError:
    """The error of :meth:`StepContext.refuse_out_of_fold`, also raised by the run's check before any fit."""
    return ConfigError(
        f"{where}: {key} names {name!r}, which an earlier {encoder} step replaced with its out-of-fold encoding: the "
        f"training rows' {what} would be each row's own encoding and the other rows' the full fit's, so no validation "
        f"or test {what[:-1]} would match; put {step} before that step, or set keep = true on it (the encoding then "
        "goes in a column of its own)"
    )


def inner_folds(y: np.ndarray, n_splits: int, seed: int, *, stratify: bool) -> np.ndarray:
    """Fold ids ``0..n_splits-1`` for the training rows, fixed by ``seed``; with ``stratify`` the rows of each class
    (in random order) take folds 0, 1, ..., k-1, 0, ... so every inner fold keeps the class balance."""
    n = len(y)
    rng = np.random.default_rng(seed)
    if not stratify:
        return (rng.permutation(n) % n_splits).astype(np.int64)
    folds = np.empty(n, dtype=np.int64)
    start = 0
    for cls in np.unique(y):
        rows = np.flatnonzero(y == cls)
        folds[rows[rng.permutation(len(rows))]] = (start + np.arange(len(rows))) % n_splits
        start += len(rows)
    return folds


class Step(BaseModel, ABC):
    """Base of every step: the fields are its parameters; ``fit``/``transform`` are pure over lazy frames."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ClassVar[str] = ""
    needs_target: ClassVar[bool] = False

    @abstractmethod
    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        """Learn the step's state (JSON-able) from the training rows."""

    @abstractmethod
    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        """Apply a fitted state to any rows."""

    def fit_transform(self, frame: pl.LazyFrame, ctx: StepContext) -> tuple[pl.LazyFrame, dict[str, Any]]:
        """Fit on the training rows and return them transformed (target encoders override: out of fold)."""
        state = self.fit(frame, ctx)
        return self.transform(frame, state), state

    def checks(self, frame: pl.LazyFrame, state: dict[str, Any]) -> list[Check]:
        """Problems to count on rows being transformed (e.g. categories unseen in training); none by default."""
        return []

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        """How the step changes the feature columns; by default it rewrites its columns in place."""

    def inputs(self, state: dict[str, Any]) -> list[str]:
        """The input columns the step reads (their training dtypes are recorded and checked at transform)."""
        return list(state.get("columns", []))

    def to_config(self) -> dict[str, Any]:
        """The step as a config table, every parameter spelled out: ``{"step": kind, **params}``."""
        return {"step": self.kind, **self.model_dump(mode="json")}


@dataclass(frozen=True)
class Check:
    """A problem to look for while transforming: ``frame`` (lazy, one row) holds ``count`` and ``example``."""

    frame: pl.LazyFrame
    message: str  # formatted with {count} and {example}
    #: the input column it looks at (None: several, e.g. a group's key): a caller that told the user of that
    #: column's unseen levels already may skip it (``Pipeline.transform(told=...)``)
    column: str | None = None


#: step kind -> class; filled by :func:`register`.
STEPS: dict[str, type[Step]] = {}


def register(cls: type[Step]) -> type[Step]:
    if not cls.kind:
        raise TypeError(f"{cls.__name__} needs a class attribute 'kind'")
    if cls.kind in STEPS:
        raise TypeError(f"step kind {cls.kind!r} is registered twice: {STEPS[cls.kind].__name__} and {cls.__name__}")
    STEPS[cls.kind] = cls
    return cls


# ---------------------------------------------------------------------------------------------- helpers for steps
def num(column: str) -> pl.Expr:
    """A column as float64 with NaN and infinities read as missing (as the readers read a file's ``inf``): numeric
    steps compute and output in float64. An infinity in a notebook's frame made standardize's scale NaN, then a
    ``TypeError`` (``float / None``); robust_scale and quantile turned whole columns into NaN."""
    x = pl.col(column).cast(pl.Float64)
    return pl.when(x.is_finite()).then(x).alias(column)


def key_expr(column: str, dtype: pl.DataType) -> tuple[pl.Expr, str]:
    """A categorical column as a lookup key: integers, text and booleans as they are; categoricals, dates and
    others as text; floats with NaN read as missing. Returns the expression and the key's dtype name."""
    if dtype.is_integer() or dtype == pl.String or dtype == pl.Boolean:
        return pl.col(column), dtype_name(dtype)
    if dtype.is_float():
        return pl.col(column).cast(pl.Float64).fill_nan(None), "Float64"
    return pl.col(column).cast(pl.String), "String"


def key_cast(column: str, key_dtype: str, schema: pl.Schema | None = None) -> pl.Expr:
    """The same key at transform time, whatever the column's dtype now is. An integer key whose column holds floats
    here (``schema``: the frame's; the pipeline keeps an integer column's non-whole values, 2.5, as numbers) is
    compared as float64: a whole 2.0 finds the level 2, a 2.5 finds none (an unseen level, never the truncated 2)."""
    dtype = dtype_from_name(key_dtype)
    expr = pl.col(column)
    if dtype == pl.String:
        return expr.cast(pl.String)
    if dtype is not None and dtype.is_float():
        return expr.cast(pl.Float64).fill_nan(None)
    if dtype is not None and dtype.is_integer() and schema is not None and schema.get(column, dtype).is_float():
        return expr.cast(pl.Float64).fill_nan(None)
    return expr.cast(dtype) if dtype is not None else expr


def is_level(key: pl.Expr, levels: list[Any]) -> pl.Expr:
    """``key.is_in(levels)`` (False for a missing key) that also compares a float key with integer levels (polars'
    ``is_in`` refuses Float64 in a list of Int64: :func:`key_cast`'s float keys)."""
    if not levels:
        return pl.lit(False)
    return key.replace_strict(levels, [True] * len(levels), default=False, return_dtype=pl.Boolean)


def unseen_check(frame: pl.LazyFrame, column: str, key: pl.Expr, levels: list[Any], step: str, rule: str) -> Check:
    """Count rows whose non-missing level was never seen in training; the warning names the column and the rule."""
    known = [v for v in levels if v is not None]
    unseen = key.is_not_null() & ~is_level(key, known)
    summary = frame.select(count=unseen.sum(), example=key.filter(unseen).first().cast(pl.String))
    return Check(
        summary,
        f"column {column!r}: {{count}} row(s) hold categories not seen in the training rows (e.g. {{example!r}}); "
        f"{step} {rule}",
        column,
    )


def json_float(value: Any) -> float | None:
    """A statistic as JSON: NaN and missing as None."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def dtype_name(dtype: pl.DataType) -> str:
    """A dtype's name for a JSON state; categoricals and enums are text to every step."""
    if isinstance(dtype, _TEXT):
        return "String"
    return str(dtype)


_SIMPLE_DTYPES = {
    str(d): d
    for d in (
        pl.Int8,
        pl.Int16,
        pl.Int32,
        pl.Int64,
        pl.UInt8,
        pl.UInt16,
        pl.UInt32,
        pl.UInt64,
        pl.Float32,
        pl.Float64,
        pl.String,
        pl.Boolean,
        pl.Date,
        pl.Null,
    )
}
_DATETIME = re.compile(r"Datetime\(time_unit='(ms|us|ns)', time_zone=(None|'[^']*')\)")


def dtype_from_name(name: str) -> pl.DataType | None:
    """Inverse of :func:`dtype_name` for the dtypes steps record; None for others (no cast is attempted)."""
    if name in _SIMPLE_DTYPES:
        return _SIMPLE_DTYPES[name]
    match = _DATETIME.fullmatch(name)
    if match:
        tz = None if match.group(2) == "None" else match.group(2).strip("'")
        return pl.Datetime(match.group(1), tz)  # type: ignore[arg-type]
    return None


def is_categorical_dtype(dtype: pl.DataType) -> bool:
    return isinstance(dtype, _CATEGORICAL_DTYPES)


def is_temporal(dtype: pl.DataType) -> bool:
    return isinstance(dtype, _TEMPORAL)
