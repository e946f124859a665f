"""One model per target column, for a multilabel / multiregression task, around any single-target adapter.

The runner's task stays (model, repeat, fold): a fold of a multi-target model fits its T targets in turn inside
this adapter, so the store, the folds and the blends see one model with one prediction column per target, exactly as
they see a multiclass model. Each target ``j`` is fitted as a binary (multilabel) or regression (multiregression)
task of its own, on the fold's rows whose label ``j`` is present: a missing label (NaN) drops the row for that
target only, from the training and the early-stopping rows alike. Its metric is the column metric the competition's
metric averages (``mean_log_loss`` -> ``log_loss`` per target). A target whose labelled training rows hold one
class only (a rare label in a small fold) predicts its smoothed rate ``(positives + 0.5) / (rows + 1)`` instead of
fitting a classifier that cannot be fitted.

The nets fit every target at once instead (``multi_target = True``: one body, one output per target, a masked
loss; :mod:`kaggle_kit.models.nn.task`); :func:`kaggle_kit.models.make_adapter` picks which.

Files: ``targets.json`` (the adapter's ``file_name``: the number of targets and the constant ones) and target
``j``'s model as the inner adapter's file named ``t<j>-<its file name>`` beside it, so every file stays a native
format.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..features import FeatureMatrix
from ..metrics import get_metric
from ..readers.targets import one_class_rate
from .base import FitContext, Fitted, ModelAdapter, take_rows

TARGETS_FILE = "targets.json"


class PerTargetAdapter:
    """A single-target ``inner`` adapter fitted once per target column; predictions ``(n, T)``: the probability of
    label 1 (multilabel) or the value (multiregression) of each target."""

    multi_target = True

    def __init__(self, inner: ModelAdapter, name: str, per_target: list[ModelAdapter] | None = None) -> None:
        self.inner = inner
        #: one adapter per target (a refit trains each for its own rounds: :func:`kaggle_kit.predict.refit`); else
        #: ``inner`` fits every target
        self.per_target = per_target
        self.name = name
        self.file_name = TARGETS_FILE
        self.uses_gpu = inner.uses_gpu
        self.thread_invariant = bool(getattr(inner, "thread_invariant", False))
        self.reads_features = inner.reads_features
        self.library = getattr(inner, "library", None)

    def target_context(self, ctx: FitContext) -> FitContext:
        """The context each target is fitted in: a binary or a regression task scored by the column metric."""
        single = "binary" if ctx.task == "multilabel" else "regression"
        column_metric = ctx.metric.column_metric or ("log_loss" if single == "binary" else "rmse")
        return replace(ctx, task=single, n_classes=2 if single == "binary" else 1, metric=get_metric(column_metric))

    def check(self, ctx: FitContext) -> None:
        self.inner.check(self.target_context(ctx))

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        inner_ctx = self.target_context(ctx)
        y_train, y_valid = _as_matrix(y_train), _as_matrix(y_valid)
        models: list[Fitted | float] = []
        history: dict[str, list[float]] = {}
        iterations = []
        per_target: list[int | None] = []
        if self.per_target is not None and len(self.per_target) != y_train.shape[1]:
            raise ValueError(f"{len(self.per_target)} adapters for {y_train.shape[1]} targets")
        for j in range(y_train.shape[1]):
            rows = np.flatnonzero(~np.isnan(y_train[:, j]))
            labels = y_train[rows, j]
            if inner_ctx.task == "binary" and (rate := one_class_rate(labels)) is not None:
                models.append(rate)  # one class (or none) to learn from
                per_target.append(None)
                continue
            if rows.size == 0:
                raise DataError(
                    f"model {self.name!r}: the target data.target[{j}] has no value in this fold's training rows; "
                    "a multiregression target needs values to fit: label more rows, or remove it from data.target"
                )
            seen = np.flatnonzero(~np.isnan(y_valid[:, j]))
            # early stopping needs labelled rows: a fold where this target has none stops on the training rows
            if seen.size:
                stop_X, stop_y = take_rows(valid, seen), y_valid[seen, j]
            else:
                stop_X, stop_y = take_rows(train, rows), labels
            inner = self.per_target[j] if self.per_target is not None else self.inner
            fitted = inner.fit(
                take_rows(train, rows),
                _inner_target(labels, inner_ctx),
                stop_X,
                _inner_target(stop_y, inner_ctx),
                replace(inner_ctx, seed=(ctx.seed + j) % 2**32),
            )
            models.append(fitted)
            history.update({f"t{j}/{k}": v for k, v in fitted.history.items()})
            per_target.append(fitted.best_iteration)
            if fitted.best_iteration is not None:
                iterations.append(fitted.best_iteration)
        best = round(float(np.mean(iterations))) if iterations else None
        return Fitted(model=models, best_iteration=best, history=history, target_iterations=tuple(per_target))

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        inner_ctx = self.target_context(ctx)
        n = X.X.shape[0]
        columns = []
        for model in fitted.model:
            if isinstance(model, float):
                columns.append(np.full(n, model, dtype=np.float32))
                continue
            pred = np.asarray(self.inner.predict(model, X, inner_ctx), dtype=np.float32)
            columns.append(pred[:, -1] if pred.ndim == 2 else pred)  # p(label 1) of the (n, 2), or the (n, 1) value
        return np.ascontiguousarray(np.column_stack(columns), dtype=np.float32) if columns else np.zeros((n, 0))

    def save(self, fitted: Fitted, path: Path) -> None:
        constants: dict[str, float] = {}
        for j, model in enumerate(fitted.model):
            if isinstance(model, float):
                constants[str(j)] = model
            else:
                self.inner.save(model, self._target_path(path, j))
        meta: dict[str, Any] = {"n_targets": len(fitted.model), "constant": constants}
        path.write_text(json.dumps(meta))

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        meta = json.loads(path.read_text())
        inner_ctx = self.target_context(ctx)
        constants = meta["constant"]
        models: list[Fitted | float] = [
            float(constants[str(j)]) if str(j) in constants else self.inner.load(self._target_path(path, j), inner_ctx)
            for j in range(int(meta["n_targets"]))
        ]
        return Fitted(model=models)

    def _target_path(self, path: Path, j: int) -> Path:
        return path.with_name(f"t{j}-{self.inner.file_name}")


def _as_matrix(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return y.reshape(-1, 1) if y.ndim == 1 else y


def _inner_target(values: np.ndarray, ctx: FitContext) -> np.ndarray:
    """A column's labels as a single-target adapter takes them: class codes for binary, floats for regression."""
    return values.astype(np.int64) if ctx.task == "binary" else values.astype(np.float64)


def check_target_free(model: str, steps: list[dict[str, Any]] | None, task: str) -> None:
    """A multi-target model's feature steps must not learn from the target (a target encoding, the text step's
    out-of-fold linear model): they take one target column, and a multilabel / multiregression task has several. A
    :class:`~kaggle_kit.errors.ConfigError` names the step and the fix, before anything is fitted."""
    from ..errors import ConfigError
    from ..features.pipeline import step_from_config

    for i, table in enumerate(steps or []):
        step = step_from_config(table)
        if step.needs_target or (step.kind == "text" and getattr(step, "linear", False)):
            fix = "set linear = false on it" if step.kind == "text" else "remove it from the pipeline"
            raise ConfigError(
                f"model {model!r}: pipeline step {i} ({step.kind!r}) learns from the target, which a {task} task has "
                f"several columns of; {fix} (the model itself fits every target)"
            )
