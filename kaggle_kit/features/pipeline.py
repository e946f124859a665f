"""A feature pipeline: polars steps fitted on training rows only, then the base encoding to a :class:`FeatureMatrix`.

The runner fits a model's declared pipeline on each fold's training rows and applies it to that fold's validation
rows and to the test rows ("normalise test data with training data values"); the fitted state is a JSON dict saved
as the fold's ``features.json``. The same object works in a notebook on any polars or pandas frame::

    from kaggle_kit.features import Pipeline, Standardize, TargetEncode

    pipe = Pipeline([TargetEncode(columns=["city"], smooth=20), Standardize(columns="numeric")])
    train_out, state = pipe.fit_transform(train, y, task="binary", seed=0)  # training rows: encoded out of fold
    test_out = pipe.transform(test, state)                                  # any other rows
    X = pipe.matrix(test_out, state)                                        # FeatureMatrix for a model

The target goes in as a separate array (``y``), never as a column, so no step can read it as a feature.
``fit_transform`` is how training rows must be encoded: ``transform(train, fit(train, y))`` would give target
encoders their in-sample (leaky) values.

Rules for a frame being transformed: a column the pipeline read at fit time must be there (else
:class:`~kaggle_kit.errors.DataError`); one of another dtype than in training is cast to the training dtype, values
that do not convert becoming missing, with a :class:`FeatureWarning` naming the column. An integer column holding
non-whole numbers (2.5) is read as float64 instead: numeric steps take the values as they are, lookups (see
:func:`~kaggle_kit.features.base.key_cast`) take a non-whole value for an unseen level.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import polars as pl
from pydantic import ValidationError

from ..errors import ConfigError, DataError, KitError, allowed, did_you_mean
from .base import (
    LOOKUPS,
    STEPS,
    Roles,
    Step,
    StepContext,
    TargetKind,
    dtype_from_name,
    dtype_name,
    is_categorical_dtype,
    is_temporal,
    out_of_fold_error,
    warn,
)
from .encoder import FeatureMatrix, TableEncoder
from .numeric import spells_number

STATE_FORMAT = 1


# ---------------------------------------------------------------------------------------------- config -> steps
def _explain(error: dict[str, Any], step: type[Step]) -> str:
    loc = [str(p) for p in error["loc"] if not isinstance(p, int)]
    key = loc[0] if loc else "(step)"
    kind = error["type"]
    fields = list(step.model_fields)
    if kind == "extra_forbidden":
        return f"unknown key {key!r}; allowed here: {allowed(fields)}.{did_you_mean(key, fields)}"
    if kind == "missing":
        return f"missing required key {key!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        got = error.get("input")
        options = [o.strip(" '") for o in str(expected).replace(" or ", ",").split(",")]
        hint = did_you_mean(got, options) if isinstance(got, str) else ""
        return f"{key} must be one of {expected}; got {got!r}.{hint}"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{key}: {message}; got {error.get('input')!r}"
    return f"{key}: {message}" if loc else message


def step_from_config(table: Mapping[str, Any] | Step, where: str = "step") -> Step:
    """A step from its config table ``{"step": kind, **params}`` (or a step object, returned as it is). Errors
    name ``where`` (e.g. ``steps[2]``), the step kind and the key at fault, with "did you mean ...?"."""
    if isinstance(table, Step):
        return table
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: a step must be a table such as {{ step = 'standardize' }}; got {table!r}")
    params = dict(table)
    kind = params.pop("step", None)
    if kind is None:
        raise ConfigError(f"{where}: missing key 'step' (the step kind: one of {allowed(STEPS)})")
    if not isinstance(kind, str) or kind not in STEPS:
        got = kind if isinstance(kind, str) else str(kind)
        raise ConfigError(f"{where}: unknown step {kind!r}; allowed: {allowed(STEPS)}.{did_you_mean(got, STEPS)}")
    cls = STEPS[kind]
    try:
        return cls.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(_explain(e, cls) for e in exc.errors())
        raise ConfigError(f"{where} ({kind}): {problems}") from None


def validate_steps(steps: Sequence[Mapping[str, Any] | Step], where: str = "steps") -> list[dict[str, Any]]:
    """Check a list of step tables; return them normalised (every parameter spelled out), for the spec and its
    hash. Raises :class:`ConfigError` naming the step (``<where>[i] (kind)``) and the key."""
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
        raise ConfigError(f"{where + ' ' if where else ''}must be a list of step tables; got {steps!r}")
    return [step_from_config(s, f"{where}[{i}]").to_config() for i, s in enumerate(steps)]


# ---------------------------------------------------------------------------------------------- frames and target
def check_step_columns(
    steps: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    label: str,
    places: Sequence[str] | None = None,
    targets: Collection[str] = (),
    test_columns: Collection[str] | None = None,
) -> None:
    """Each column a step names (its ``columns`` list, group_aggregate's ``by``) is one of ``columns`` (those of the
    rows the pipeline is fitted on) or may be one an earlier step makes (``<column>__<what>``: date parts, arithmetic
    pairs, aggregates); else a :class:`ConfigError` naming the step of ``label`` (``model 'lr'``),
    the column and the near miss. Checked when the data is read, before any fit: a typo stopped the run at its
    model's first fold, after the models before it had fitted. ``places``: where each step is written, in the
    message's words (:meth:`~kaggle_kit.config.CompetitionSpec.feature_step_places`), else ``steps[i]``.
    A step may not name one of ``targets``: the validation rows' own target would become their feature; nor a
    column of the training rows the test rows lack (``test_columns``; a ``data.drop`` column used as a group key):
    each fold stopped at its test rows, after its fit."""
    known = set(columns)
    for i, step in enumerate(steps):
        for key in ("columns", "by"):
            value = step.get(key)
            names = [value] if isinstance(value, str) and key == "by" else value if isinstance(value, list) else []
            for name in names:
                if name in targets and step.get("step") in ("select", "drop"):  # they only name feature columns
                    place = places[i] if places else f"steps[{i}]"
                    raise ConfigError(
                        f"{label} {place} ({step.get('step')}): {key} names {name!r}, the target, which is not a "
                        "feature column (select and drop name feature columns); leave it out"
                    )
                if name in targets:
                    place = places[i] if places else f"steps[{i}]"
                    raise ConfigError(
                        f"{label} {place} ({step.get('step')}): {key} names {name!r}, the target: a step never reads "
                        "it (each validation and test row's features would be made of its own target); the steps that "
                        "use the target (target_encode, arithmetic_pairs, text) are given the training rows' apart"
                    )
                # an earlier step's output; never of a target's ('y__sin': no step reads the target, so none makes it)
                made = i > 0 and any(name.startswith(f"{c}__") for c in columns if c not in targets)
                place = places[i] if places else f"steps[{i}]"
                if name in known and test_columns is not None and name not in test_columns:
                    raise ConfigError(
                        f"{label} {place} ({step.get('step')}): {key} names {name!r}, which the test file lacks: "
                        "the fitted steps could not be applied to the test rows; add the column to the test file, "
                        "or leave it out of the step"
                    )
                if name in known or made:
                    continue
                raise ConfigError(
                    f"{label} {place} ({step.get('step')}): {key} names {name!r}, which is not a column of the "
                    f"data.{did_you_mean(name, columns)} Columns: {list(columns)[:20]}{' ...' * (len(columns) > 20)}"
                )


#: steps that may rewrite a column in place as another type (text -> codes or encodings, numbers -> text)
_RETYPING = ("ordinal", "count_encode", "target_encode", "rare_group", "impute")
#: steps whose ``columns`` must read as numbers (booleans read as 0 / 1)
_NUMERIC_STEPS = ("standardize", "robust_scale", "quantile", "log1p", "clip", "cyclical", "arithmetic_pairs")
_NUMERIC_FIX = "leave it out of columns (columns = 'numeric' picks the numeric feature columns)"


def check_step_types(
    steps: Sequence[Mapping[str, Any]],
    schema: Mapping[str, pl.DataType],
    label: str,
    places: Sequence[str] | None = None,
) -> None:
    """Each column a step lists by name has a type the step reads (numbers for standardize, ..., arithmetic_pairs,
    impute's mean / median and group_aggregate's statistics other than counts; dates for date_parts), else a
    :class:`DataError` naming the step of ``label``, the column, its type and the fix, as the step's fit says it.
    Checked when the data is read, before any fit: the step stopped the run at its model's first fold, after the
    models before it had fitted. ``schema``: the training rows'. A column an earlier step may have rewritten as
    another type (an encoder naming it, or picking columns by a shortcut) is left to the step's fit."""
    retyped: set[str] = set()
    encoded: set[str] = set()  # columns an earlier target_encode replaced in place with its out-of-fold encoding
    anything = False  # an earlier retyping step picked its columns by a shortcut: any column may be retyped
    for i, step in enumerate(steps):
        kind, cols = step.get("step"), step.get("columns")
        named = [c for c in cols if c in schema and c not in retyped] if isinstance(cols, list) and not anything else []
        where = f"{label} {places[i] if places else f'steps[{i}]'} ({kind})"
        by = step.get("by")
        keys = [by] if isinstance(by, str) else list(by or [])
        looked_up = [("by", keys, "keys")] if kind == "group_aggregate" else []
        if kind in LOOKUPS and kind != "group_aggregate" and isinstance(cols, list):
            looked_up.append(("columns", cols, "values"))
        for key, names, what in looked_up:
            for c in (c for c in names if c in encoded):
                raise out_of_fold_error(where, key, c, "target_encode", str(kind), what)
        for c in named:
            dtype = schema[c]
            number = dtype.is_numeric() or dtype == pl.Boolean
            if kind in _NUMERIC_STEPS and not number:
                raise DataError(f"{where}: {kind} needs numeric columns, but {c!r} is {dtype}; {_NUMERIC_FIX}")
            if kind == "date_parts" and not is_temporal(dtype):
                raise DataError(
                    f"{where}: date_parts needs Date or Datetime columns, but {c!r} is {dtype}; parse it when reading "
                    "(try_parse_dates) or cast it first"
                )
            if kind == "impute" and step.get("strategy", "median") in ("mean", "median") and not dtype.is_numeric():
                raise DataError(
                    f"{where}: strategy {step.get('strategy', 'median')!r} needs numeric columns, but {c!r} is "
                    f"{dtype}; use strategy = 'most_frequent' or 'constant' for it"
                )
            fill = step.get("fill_value")
            if kind == "impute" and isinstance(fill, str) and dtype.is_numeric() and not spells_number(fill):
                raise DataError(
                    f"{where}: fill_value {fill!r} is text, but column {c!r} is numeric ({dtype}); give a number "
                    "(fill_value = -1), or name only the text columns in columns (columns = 'categorical')"
                )
            stats = (step.get("stats") or ["mean"]) if kind == "group_aggregate" else []
            computed = [s for s in stats if s not in ("count", "size", "nunique")]
            if computed and not (number or is_temporal(dtype)) and c not in keys:
                raise DataError(
                    f"{where}: stat {computed[0]!r} needs numbers, but column {c!r} is {dtype}; leave it out of "
                    "columns (columns = 'numeric' picks the numeric columns), or count it in a group_aggregate of its "
                    "own with stats = ['count', 'size', 'nunique'] only"
                )
        if kind == "target_encode" and not step.get("keep") and isinstance(cols, list):
            encoded.update(cols)
        if kind in _RETYPING:
            if isinstance(cols, list):
                retyped.update(cols)
            else:  # a shortcut (or the default 'categorical' / 'numeric')
                anything = True


def _refuse_target_column(df: pl.DataFrame, schema: pl.Schema, y: Any, columns: Sequence[str]) -> None:
    """A feature column that holds the target ``y`` itself (``fit(train, train["y"].to_numpy())``: the array has no
    name, so the column stayed a feature; a polars series renamed or built from the values, ``pl.Series(arr)``, is
    named otherwise, ``''``): every row's features would hold its own target. A :class:`DataError` naming it."""
    c = _target_column(df, schema, y, columns)
    if c is not None:
        raise DataError(
            f"column {c!r} of the frame holds the target y itself, so every row's features would hold its own "
            f"target; drop it from the frame, or pass y as that column (y = frame[{c!r}]: a named column is left "
            "out of the features)"
        )


def _target_column(df: pl.DataFrame, schema: pl.Schema, y: Any, columns: Sequence[str]) -> str | None:
    """The first of ``columns`` that holds the values of ``y``, else None; compared on their first rows, then in
    full."""
    values = pl.Series("y", np.asarray(y).reshape(-1))
    if len(values) != df.height or values.dtype == pl.Object:
        return None
    same_kind = [
        c
        for c in columns
        if (schema[c].is_numeric() and values.dtype.is_numeric())
        or (schema[c] == values.dtype and values.dtype in (pl.String, pl.Boolean))
    ]
    head = min(df.height, 1000)
    for c in same_kind:
        if not df[c][:head].equals(values[:head].cast(schema[c], strict=False), check_names=False):
            continue  # most columns: told apart on their first rows, without casting the whole target
        if df[c].equals(values.cast(schema[c], strict=False), check_names=False):
            return c
    return None


def _as_polars(frame: Any) -> tuple[pl.DataFrame, str]:
    if isinstance(frame, pl.DataFrame):
        return frame, "polars"
    if isinstance(frame, pl.LazyFrame):
        return frame.collect(), "polars"
    if type(frame).__module__.startswith("pandas"):
        return pl.from_pandas(frame), "pandas"
    raise TypeError(f"expected a polars or pandas DataFrame; got {type(frame).__name__}")


def _back(frame: pl.DataFrame, kind: str, given: Any) -> Any:
    """``frame`` as the kind of frame it was ``given`` as; a pandas frame keeps the given frame's index (every step
    keeps the rows and their order). It came back numbered 0, 1, ...: ``valid.assign(te=out["city__te"])`` on a
    shuffled or sliced frame aligned the rows by their labels, each row getting another row's feature, or NaN."""
    if kind != "pandas":
        return frame
    out = frame.to_pandas()
    out.index = given.index
    return out


def _prepare_target(
    y: Any, task: TargetKind | None, classes: Sequence[Any] | None, n_rows: int
) -> tuple[np.ndarray, TargetKind, list[Any] | None]:
    """The target as the steps see it: class codes 0..C-1 (in sorted label order) or float64 values."""
    if isinstance(y, (pl.Series, pl.DataFrame)) or type(y).__module__.startswith("pandas"):
        y = y.to_numpy()
    values = np.asarray(y).reshape(-1)
    if len(values) != n_rows:
        raise DataError(f"the target has {len(values)} value(s) but the frame has {n_rows} row(s)")
    if task is None:
        if values.dtype.kind == "f":
            task = "regression"
        elif len(np.unique(values)) == 2:
            task = "binary"
        else:
            raise ConfigError(
                "cannot tell the task from a target with more than two values: pass task='multiclass' or "
                "task='regression'"
            )
    if task == "regression":
        out = values.astype(np.float64)
        if not np.isfinite(out).all():
            raise DataError("the target has missing or infinite values")
        return out, task, None
    labels = np.asarray(classes) if classes is not None else np.unique(values)
    codes = np.searchsorted(labels, values)
    if (codes >= len(labels)).any() or not (labels[np.minimum(codes, len(labels) - 1)] == values).all():
        raise DataError(f"the target holds labels outside the classes {labels.tolist()[:10]}")
    if task == "binary" and len(labels) > 2:
        raise DataError(f"task is binary but the target has {len(labels)} classes")
    return codes.astype(np.int64), task, [v.item() if hasattr(v, "item") else v for v in labels]


#: the selectors a step may find empty because of the data or an earlier step ("all" is never empty while the
#: pipeline has a feature)
_SHORTCUTS = ("categorical", "numeric", "temporal")


def _warn_empty_selector(where: str, selector: str, emptied_by: str | None) -> None:
    """A step whose ``columns`` shortcut picks no column does nothing: say so (once per pipeline: the message names
    no fold, and the command line says a message once), naming the earlier step that left none where one did."""
    if emptied_by is not None:
        why = (
            f"{emptied_by} replaced the last {selector} column(s) before it; name the columns it should read "
            f"(columns = [...], e.g. the originals kept with keep = true), or move it before {emptied_by}"
        )
    else:
        why = f"the data has no {selector} feature column; name the columns it should read (columns = [...])"
    warn(f"{where}: columns = {selector!r} picks no column, so the step does nothing: {why}")


# ---------------------------------------------------------------------------------------------- the pipeline
class Pipeline:
    """Steps applied in order, fitted on training rows; :meth:`matrix` ends with the base encoding."""

    def __init__(
        self,
        steps: Sequence[Step | Mapping[str, Any]] = (),
        name: str | None = None,
        places: Sequence[str] | None = None,
    ) -> None:
        """``places``: where each step is written, in a message's words (a spec's
        :meth:`~kaggle_kit.config.CompetitionSpec.feature_step_places`: ``(pipeline 'p') steps[0]``, ``(data.text)``):
        the index of a step among the fitted ones is not the user's where ``data.text`` adds a step first or the
        pipeline extends another."""
        self.steps: tuple[Step, ...] = tuple(step_from_config(s, f"steps[{i}]") for i, s in enumerate(steps))
        self.name = name
        self.places = list(places) if places is not None and len(places) == len(self.steps) else None

    @classmethod
    def from_config(cls, steps: Sequence[Mapping[str, Any]], name: str | None = None) -> Pipeline:
        return cls(steps, name)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Pipeline:
        """The pipeline that produced a fitted ``state`` (e.g. a fold's ``features.json``)."""
        return cls([s["params"] for s in state["steps"]], state.get("name"))

    def to_config(self) -> list[dict[str, Any]]:
        return [s.to_config() for s in self.steps]

    def __repr__(self) -> str:
        return f"Pipeline({[s.kind for s in self.steps]}, name={self.name!r})"

    # ------------------------------------------------------------------ fitting
    def fit(self, frame: Any, y: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Fit every step on ``frame`` (training rows); return the JSON-able state. See :meth:`fit_transform`."""
        return self.fit_transform(frame, y, **kwargs)[1]

    def fit_transform(
        self,
        frame: Any,
        y: Any = None,
        *,
        task: TargetKind | None = None,
        classes: Sequence[Any] | None = None,
        seed: int = 0,
        features: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        say_empty: bool = True,
    ) -> tuple[Any, dict[str, Any]]:
        """Fit on the training rows and return them transformed (target encodings out of fold) with the state.

        ``y``: the training rows' target (needed by target encoders). ``task``: binary, multiclass or regression
        (default: regression for a float target, binary for two values). ``seed`` fixes the inner folds.
        ``features`` / ``categorical``: the columns the steps' ``"numeric"`` / ``"categorical"`` shortcuts pick
        from and the matrix holds (default: every column but a named ``y``'s; text, categorical and boolean ones as
        categorical). ``say_empty``: warn of a step whose ``columns`` shortcut picks no column (it depends on the
        columns' types only, not on the rows: the runner says it on a model's first fold, not on each).
        """
        df, kind = _as_polars(frame)
        # one chunk per column: polars sums chunk by chunk, so a mean or a group's std of the same rows read in
        # another layout (a CSV read in parallel, a concat, a worker's copy) differed in its last bits
        df = df.rechunk()
        # default: every column, except the target when it is a named column of the frame (y = train["target"])
        target_name = getattr(y, "name", None) if y is not None else None
        feats = list(features) if features is not None else [c for c in df.columns if c != target_name]
        # a frame's schema and columns are rebuilt on each access: read them once (10k pixel columns are normal)
        schema, present = df.schema, set(df.columns)
        if y is not None and target_name not in present:  # no column named as y: the one holding its values
            if features is None:  # a feature: refused
                _refuse_target_column(df, schema, y, feats)
            else:  # not a feature (features given), but a step may name it: resolve refuses it as the target
                kept = set(feats)
                target_name = _target_column(df, schema, y, [c for c in df.columns if c not in kept])
        missing = [c for c in feats if c not in present]
        if missing:
            raise DataError(f"feature column {missing[0]!r} is not in the frame.{did_you_mean(missing[0], df.columns)}")
        if categorical is None:
            cats = [c for c in feats if is_categorical_dtype(schema[c])]
        else:
            cats = [c for c in feats if c in set(categorical)]
        roles = Roles(feats, cats)
        ctx = StepContext(roles=roles, seed=seed, target_name=target_name if target_name in present else None)
        target: dict[str, Any] | None = None
        if y is not None:
            ctx.y, ctx.task, labels = _prepare_target(y, task, classes, df.height)
            ctx.n_classes = len(labels) if labels is not None else 1
            target = {"task": ctx.task, "classes": labels}
        elif any(s.needs_target for s in self.steps):
            kinds = [s.kind for s in self.steps if s.needs_target]
            raise ConfigError(f"{self._label()}: step {kinds[0]!r} needs the target: pass y to fit / fit_transform")

        inputs: dict[str, str] = {c: dtype_name(schema[c]) for c in feats}
        created: set[str] = set()
        states = []
        emptied: dict[str, str] = {}  # selector -> the step after which it picked no column
        for i, step in enumerate(self.steps):
            ctx.where = f"{self._place(i)} ({step.kind})"
            before, schema = set(df.columns), df.schema
            picks = {s: ctx.resolve(s, schema) for s in _SHORTCUTS}
            selector = getattr(step, "columns", None)
            empty = isinstance(selector, str) and selector in picks and not picks[selector]
            if say_empty and empty and step.kind != "select":
                _warn_empty_selector(ctx.where, selector, emptied.get(selector))
            lazy, state = step.fit_transform(df.lazy(), ctx)
            for col in step.inputs(state):
                if col in before and col not in created and col not in inputs:
                    inputs[col] = dtype_name(schema[col])
            df = lazy.collect().rechunk()
            created |= set(df.columns) - before
            ctx.gone.update((c, f"{self._place(i)} ({step.kind})") for c in before - set(df.columns))
            step.update_roles(state, roles)
            states.append({"step": step.kind, "params": step.to_config(), "state": state})
            schema = df.schema
            for s, cols in picks.items():
                if cols and not ctx.resolve(s, schema):
                    emptied[s] = f"{self._place(i, short=True)} ({step.kind})"

        # anything left as text is categorical for the base encoding
        schema = df.schema
        for c in roles.features:
            if c in schema and is_categorical_dtype(schema[c]) and c not in roles.categorical:
                roles.categorical.append(c)
        encoder = TableEncoder(tuple(roles.features), tuple(c for c in roles.features if c in roles.categorical))
        state = {
            "format": STATE_FORMAT,
            "name": self.name,
            "inputs": inputs,
            "target": target,
            "seed": seed,
            "steps": states,
            "features": list(encoder.features),
            "categorical": list(encoder.categorical),
            "encoder": encoder.fit(df),
        }
        return _back(df, kind, frame), state

    # ------------------------------------------------------------------ applying
    def transform(
        self, frame: Any, state: Mapping[str, Any], *, checks: bool = True, told: Collection[str] = ()
    ) -> Any:
        """Apply the fitted steps to any rows (validation, test, new data); same frame kind back. ``checks``: warn
        of a column cast to its training dtype and of rows a step's state has not seen (categories, keys), except of
        the input columns in ``told`` (the run warned of the test file's new categories once, ``readers/levels.py``);
        a fold turns them off for its validation rows, whose new categories are what K-fold CV is made of, and
        ``predict`` for its fold models after the first (the same rows: said once)."""
        self._check_state(state)
        df, kind = _as_polars(frame)
        df = self._conform(df, state["inputs"], warns=checks)
        for step, entry in zip(self.steps, state["steps"], strict=True):
            st = entry["state"]
            lazy = df.lazy()
            found = [c for c in step.checks(lazy, st) if c.column not in told] if checks else []
            out = step.transform(lazy, st)
            if not found:
                df = out.collect()
                continue
            df, *summaries = pl.collect_all([out, *(c.frame for c in found)])
            for check, summary in zip(found, summaries, strict=True):
                count, example = summary.row(0)
                if count:
                    warn(check.message.format(count=count, example=example))
        return _back(df, kind, frame)

    def matrix(self, frame: Any, state: Mapping[str, Any]) -> FeatureMatrix:
        """The model input from rows already transformed (the output of :meth:`fit_transform` / :meth:`transform`)."""
        df, _ = _as_polars(frame)
        encoder = TableEncoder(tuple(state["features"]), tuple(state["categorical"]))
        return encoder.transform(df, state["encoder"])

    def transform_matrix(
        self, frame: Any, state: Mapping[str, Any], *, checks: bool = True, told: Collection[str] = ()
    ) -> FeatureMatrix:
        return self.matrix(self.transform(frame, state, checks=checks, told=told), state)

    # ------------------------------------------------------------------ helpers
    def _label(self) -> str:
        return f"pipeline {self.name!r}" if self.name else "pipeline"

    def _place(self, i: int, *, short: bool = False) -> str:
        """Step ``i`` in a message: ``pipeline 'p' steps[1]`` (``short``: ``steps[1]`` where it is of this
        pipeline), as the user wrote it where :attr:`places` says."""
        if self.places is None:
            return f"steps[{i}]" if short else f"{self._label()} steps[{i}]"
        place = self.places[i]
        if place.startswith("(") and ") " in place:  # "(pipeline 'p') steps[0]" -> "pipeline 'p' steps[0]"
            of, at = place[1:].split(") ", 1)
            return at if short and of == self._label() else f"{of} {at}" if "," not in of else f"{of}, {at}"
        return place.strip("()") + " step"  # "(data.text)": the step data.text adds

    def _check_state(self, state: Mapping[str, Any]) -> None:
        kinds = [s["step"] for s in state.get("steps", [])]
        if state.get("format") != STATE_FORMAT or kinds != [s.kind for s in self.steps]:
            raise KitError(
                f"{self._label()}: this state was fitted by another pipeline (steps {kinds}); use "
                "Pipeline.from_state(state) to rebuild the pipeline that made it"
            )
        # the same kinds with other parameters (a notebook cell edited, by = "b" where the state grouped by "a"): a
        # step reads some of them from itself, the rest from the state, and made the wrong features without a word.
        # Parameters a state lacks (added to the step since) are not compared.
        for i, (step, entry) in enumerate(zip(self.steps, state["steps"], strict=True)):
            ours = step.to_config()
            differ = [k for k, v in entry.get("params", {}).items() if k in ours and ours[k] != v]
            if differ:
                raise KitError(
                    f"{self._label()}: this state's steps[{i}] ({step.kind}) was fitted with {differ[0]} = "
                    f"{entry['params'][differ[0]]!r}, this pipeline's has {ours[differ[0]]!r}; use "
                    "Pipeline.from_state(state) to rebuild the pipeline that made it, or fit this one"
                )

    def _conform(self, df: pl.DataFrame, inputs: Mapping[str, str], *, warns: bool = True) -> pl.DataFrame:
        """``df``'s input columns as the pipeline read them at fit time; a cast said unless ``warns`` is False (the
        fold models after the first, in ``predict``: the same rows, the same cast, said once)."""
        schema = df.schema
        missing = [c for c in inputs if c not in schema]
        if missing:
            raise DataError(
                f"{self._label()}: the frame lacks column {missing[0]!r}, which the pipeline was fitted with."
                f"{did_you_mean(missing[0], df.columns)}"
            )
        casts = []
        for col, expected in inputs.items():
            got = dtype_name(schema[col])
            if got == expected:
                continue
            dtype = dtype_from_name(expected)
            if dtype is None or schema[col] == pl.Null:
                casts.append(pl.col(col).cast(dtype) if dtype is not None else pl.col(col))
                continue
            original = df[col]
            if dtype == pl.Date and isinstance(schema[col], pl.Datetime):
                days = original.dt.date()
                timed = original.is_not_null() & (original != days.cast(schema[col]))
                casts.append(days)
                if warns and (n_timed := int(timed.sum())):
                    warn(
                        f"column {col!r} is {got} here but was Date in the training rows, and {n_timed} value(s) hold "
                        f"a time of day (e.g. {original.filter(timed)[0]}); {self._label()} reads their dates (the "
                        "time of day is dropped, as no training row had one)"
                    )
                continue
            if dtype.is_integer() and schema[col].is_float() and (part := _non_whole(original)) is not None:
                casts.append(original.cast(pl.Float64).fill_nan(None))
                if warns:
                    warn(
                        f"column {col!r} is {got} here but was {expected} in the training rows, and holds "
                        f"{part[0]} non-whole value(s) (e.g. {part[1]}); {self._label()} reads it as numbers: steps "
                        "that compute on numbers (standardize, quantile, clip, arithmetic_pairs, group_aggregate's "
                        "statistics, ...) take the values as they are, and steps that look a value up (ordinal, "
                        "one_hot, count_encode, target_encode, rare_group, group_aggregate's keys) take a non-whole "
                        "value for a level the training rows never held (a whole 2.0 is the level 2)"
                    )
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    dates_as_text = (dtype == pl.Date or isinstance(dtype, pl.Datetime)) and schema[col] == pl.String
                    if dates_as_text:
                        cast = _parse_dates(original, dtype, self._label())
                        same = cast.is_not_null() | original.is_null()
                    else:
                        cast = original.cast(dtype, strict=False)
                        same = cast.cast(original.dtype, strict=False).eq_missing(original)
                except pl.exceptions.PolarsError:
                    cast, same = pl.Series(col, [None] * len(original), dtype=dtype), original.is_null()
            lost = int((~same & original.is_not_null()).sum())
            kept = pl.DataFrame({"value": cast, "ok": same.fill_null(False)})
            casts.append(kept.select(pl.when(pl.col("ok")).then(pl.col("value")).alias(col)).to_series())
            if not warns:
                continue
            warn(
                f"column {col!r} is {got} here but was {expected} in the training rows; {self._label()} casts it "
                f"to {expected}" + (f" ({lost} value(s) that do not convert become missing)" if lost else "")
            )
        return df.with_columns(casts) if casts else df


def _parse_dates(text: pl.Series, dtype: pl.DataType, where: str) -> pl.Series:
    """Text as ``dtype`` (Date or Datetime), a value the format does not read missing. The format is the one usual
    format (:data:`~kaggle_kit.readers.date_formats.DATE_FORMATS`) that reads every value, as the kit reads a file's
    text dates; else polars' own reading (ISO dates). Where the day and the month cannot be told apart
    ('01/02/2021': no day after the 12th) a :class:`DataError` names the column: polars read it day first, without a
    word, whatever format the training rows were parsed with. polars 2 refuses to cast text to a date (every value
    became missing), and a datetime cast back to text never spelled the test file's '2020-01-01 05:00:00' as it was
    written, so each was taken for a value that does not convert (polars 1)."""
    from ..readers.date_formats import find_formats, parse

    found, ambiguous = find_formats(text.to_frame("v"), ())
    if ambiguous:
        fmts = ambiguous["v"]
        raise DataError(
            f"{where}: column {text.name!r} holds dates written as text (e.g. {text.drop_nulls()[0]!r}) that "
            f"{' and '.join(repr(f) for f in fmts)} read as other dates (the day and the month cannot be told apart), "
            f"and it was {dtype} in the training rows; parse it as the training rows were parsed, e.g. "
            f"pl.col({text.name!r}).str.to_date({fmts[0]!r})"
        )
    if "v" in found:
        parsed = parse(text, found["v"])
        return parsed.cast(pl.Date) if dtype == pl.Date else parsed.cast(dtype)
    if dtype == pl.Date:
        return text.str.to_date(strict=False)
    assert isinstance(dtype, pl.Datetime)
    return text.str.to_datetime(time_unit=dtype.time_unit, time_zone=dtype.time_zone, strict=False)


def _non_whole(values: pl.Series) -> tuple[int, float] | None:
    """How many of a float column's values are not whole numbers (infinities aside: no integer spells them either),
    and one of them; None when every value is whole or missing."""
    x = values.cast(pl.Float64).fill_nan(None)
    odd = x.is_finite() & (x != x.round())
    count = int(odd.sum())
    return (count, float(x.filter(odd)[0])) if count else None


def encoder_from_state(
    state: Mapping[str, Any], *, checks: bool = True, told: Collection[str] = ()
) -> Callable[[Any], FeatureMatrix]:
    """The function a fold encoded rows with, rebuilt from its fitted ``state`` (``features.json``): a declared
    pipeline's (``Pipeline.fit_transform``, its steps' warnings on unseen values as ``checks`` and ``told`` say) or
    the base encoding's (``TableEncoder.fit``)."""
    if "steps" in state:
        return partial(Pipeline.from_state(state).transform_matrix, state=state, checks=checks, told=told)
    encoder = TableEncoder(tuple(state["features"]), tuple(state["levels"]))
    return partial(encoder.transform, state=state)
