"""One fold of one model: the step every executor runs (:func:`fit_fold`), and what it needs.

Features are fitted on the fold's training rows only (the base encoding, or the model's pipeline with the target
handed in as ``y``), the model is fitted with early stopping on the fold's validation rows, and the validation (OOF)
and test predictions, the fitted model and its feature state are written to the store in one step. The runner
(:mod:`kaggle_kit.runtime.runner`) plans the tasks and assembles the folds; pseudo-labelling and the refit paths call
into this module for the same fit.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from ..config import MAX_SEED, CompetitionSpec, ModelSpec
from ..features import FeatureMatrix, Pipeline, TableEncoder
from ..features.sequence_store import SequenceStore, open_sequence_store, run_sequences_folder
from ..metrics import Metric
from ..models import FitContext, make_adapter
from ..models.base import Fitted, ModelAdapter
from ..readers.competition import CompetitionData
from . import embeddings
from .executors import Context, Task
from .pool import uncounted
from .pseudo_rows import PseudoRows
from .store import FoldResult

#: at most this many of a fold's training rows (a seeded subsample) are predicted to score the fold on its own
#: training rows (``FoldResult.train_score``: the train vs validation gap of the report)
TRAIN_SCORE_ROWS = 10_000


def model_seed(model: ModelSpec, spec: CompetitionSpec) -> int:
    """The seed a model's fits start from: its own ``seed``, else the run's (each repeat adds its index)."""
    return spec.seed if model.seed is None else model.seed


_SET_UP: set[str] = set()  #: model kinds whose adapter (and library) this process has made


def _adapter(model: ModelSpec, task: str) -> tuple[ModelAdapter, float]:
    """The fold's adapter, and the seconds its library's import took where it is the first of its kind in this
    process: a one-time cost of the process (``make_adapter`` imports LightGBM, and LightGBM scikit-learn: 3 s on a
    loaded machine), which a time limit's measuring fold does not count (:func:`~kaggle_kit.runtime.pool.uncounted`)
    and its cost model leaves out of a fold's cost (``FoldResult.import_seconds``)."""
    if model.kind in _SET_UP:
        return make_adapter(model, task), 0.0
    with uncounted():
        start = time.perf_counter()
        adapter = make_adapter(model, task)
        if (library := getattr(adapter, "library", None)) is not None:
            importlib.import_module(library)
        seconds = time.perf_counter() - start
    _SET_UP.add(model.kind)
    return adapter, seconds


def fit_fold(ctx: Context, task: Task, pseudo: PseudoRows | None = None) -> FoldResult:
    """Fit one model on one fold: features fitted on the fold's training rows, early stopping on its validation
    rows, predictions for the validation rows (OOF) and the test rows, all written to the store in one step.
    ``pseudo``: pseudo-labelled test rows added to the training rows only (:mod:`kaggle_kit.runtime.pseudo`)."""
    task_start = time.perf_counter()
    data, metric = ctx.data, ctx.metric
    train_idx, valid_idx = ctx.folds.train_valid(task.repeat, task.fold)
    adapter, import_seconds = _adapter(
        task.model, data.task
    )  # per target (multi_target) where the family fits one only
    fit_ctx = FitContext(
        task=data.task,
        n_classes=data.n_classes,
        metric=metric,
        seed=(model_seed(task.model, ctx.spec) + task.repeat) % (MAX_SEED + 1),
        device=ctx.device,
        threads=ctx.threads,
        gpu_share=ctx.gpu_share,
        images=data.images.cached_in(ctx.images_root or ctx.store.root) if data.images is not None else None,
        sequences=run_sequences(ctx),
        classes=data.classes,
    )
    features = data.features_for(getattr(adapter, "reads_images", False))  # streamed images: the image nets only
    # the baseline reads the rows' count alone: the fold's rows of one column, not of every column (two gathers of
    # 500k rows x 60 columns, 1 s a fold)
    rows_of = data.train if adapter.reads_features else data.train.select(pl.first())
    train_rows, valid_rows = rows_of[train_idx], rows_of[valid_idx]
    y_train, y_valid = _to_fit_space(data.y[train_idx], metric), _to_fit_space(data.y[valid_idx], metric)
    encode: Callable[[pl.DataFrame], FeatureMatrix]
    encode_test: Callable[[pl.DataFrame], FeatureMatrix] | None = None  # when not ``encode``
    state: dict[str, Any]
    if not adapter.reads_features:  # the baseline predicts from the target alone: nothing to encode
        state, encode = {}, _no_features
        X_train = encode(train_rows)
    else:  # fitted on the training rows only (a pipeline's target encodings out of inner folds)
        first = (task.repeat, task.fold) == (0, 0)  # a pipeline's notes are the same on every fold: once a model
        X_train, state, encoder = fit_features(
            ctx.spec, task.model, data, features, train_rows, y_train, fit_ctx.seed, say_empty=first
        )
        if isinstance(encoder, TableEncoder):
            encode = partial(encoder.transform, state=state)
        else:
            encode = partial(encoder.transform_matrix, state=state, checks=False)  # validation rows: CV's own
            # the test rows' unseen keys, once per model (its first fold), but for the categorical columns the run
            # warned of already (readers/levels.py): an undeclared number used as a key, a group of keys
            if first:
                encode_test = partial(encoder.transform_matrix, state=state, told=frozenset(data.categorical))
    X_valid = encode(valid_rows)
    emb = embeddings.for_fold(ctx, task)  # a net's out-of-fold embeddings as columns (runtime/embeddings.py)
    if emb is not None:
        X_train, X_valid = emb.rows(X_train, train_idx), emb.rows(X_valid, valid_idx)
    del train_rows, valid_rows  # the matrices are what the fit needs: do not hold the frames beside them
    X_fit, y_fit, fit_with, n_pseudo = X_train, y_train, fit_ctx, 0
    if pseudo is not None and data.test is not None and pseudo.rows.size:  # encoded as the test rows are
        soft_targets = getattr(adapter, "soft_targets", False)
        X_fit, y_fit, weight = pseudo.augment(X_train, y_train, encode(data.test[pseudo.rows]), soft_targets)
        fit_with, n_pseudo = replace(fit_ctx, sample_weight=weight), int(pseudo.rows.size)

    if (library := getattr(adapter, "library", None)) is not None:  # an import is not the fit: ModelAdapter.library
        importlib.import_module(library)  # (imported by _adapter already, but where a family imports it lazily)
    start = time.perf_counter()
    try:
        fitted = adapter.fit(X_fit, y_fit, X_valid, y_valid, fit_with)
    except FloatingPointError as exc:  # a diverged net: say which model and fold (the leaderboard keeps this text)
        raise type(exc)(f"model {task.model.name!r} repeat {task.repeat} fold {task.fold + 1}: {exc}") from exc
    fit_seconds = time.perf_counter() - start

    start = time.perf_counter()
    valid_pred = _from_fit_space(adapter.predict(fitted, X_valid, fit_ctx), metric)
    test_pred = None
    if data.test is not None:
        X_test = (encode_test or encode)(data.test)
        raw = (
            adapter.predict(fitted, X_test, fit_ctx)
            if emb is None
            else emb.predict_test(lambda X: adapter.predict(fitted, X, fit_ctx), X_test)
        )
        test_pred = _from_fit_space(raw, metric)
    predict_seconds = time.perf_counter() - start
    _check_finite(valid_pred, test_pred, f"model {task.model.name!r} repeat {task.repeat} fold {task.fold + 1}")
    # the one place predictions are clipped into the metric's domain (RMSLE: >= 0; probabilities: [0, 1])
    valid_pred, clipped_valid = metric.clip(valid_pred)
    test_pred, clipped_test = metric.clip(test_pred) if test_pred is not None else (None, 0)
    train_score, train_rows = _train_score(adapter, fitted, X_train, data.y[train_idx], metric, fit_ctx, task)

    result = FoldResult(
        model=task.model.name,
        key=task.key,
        repeat=task.repeat,
        fold=task.fold,
        score=metric.score(data.y[valid_idx], valid_pred),
        best_iteration=fitted.best_iteration,
        target_iterations=fitted.target_iterations,
        n_train=len(train_idx),
        n_valid=len(valid_idx),
        fit_seconds=round(fit_seconds, 4),
        predict_seconds=round(predict_seconds, 4),
        device=fitted.device or ctx.device,  # a small boosting fit of a CUDA run: the CPU
        threads=ctx.threads,
        clipped=(clipped_valid, clipped_test),
        task_seconds=round(time.perf_counter() - task_start, 4),
        import_seconds=round(import_seconds, 4),
        train_score=train_score,
        train_rows=train_rows,
        n_pseudo=n_pseudo,
        embedded_by=emb.nets if emb is not None else None,
    )
    extras = {
        "features.json": json.dumps(state).encode(),
        "history.json": json.dumps(fitted.history).encode(),
    }
    return ctx.store.write_fold(
        result,
        valid_pred=valid_pred,
        test_pred=test_pred,
        save_model=lambda folder: adapter.save(fitted, folder / adapter.file_name),
        extra=extras,
    )


def fit_features(
    spec: CompetitionSpec,
    model: ModelSpec,
    data: CompetitionData,
    features: Sequence[str],
    rows: pl.DataFrame,
    y: np.ndarray,
    seed: int,
    say_empty: bool = True,
) -> tuple[FeatureMatrix, dict[str, Any], TableEncoder | Pipeline]:
    """``model``'s features fitted on ``rows`` (a fold's training rows; a refit's, all of them) and those rows'
    matrix: the base encoding, or the model's pipeline with the target handed in as ``y`` only (``y`` in the fit
    space). Returns the matrix, the fitted state (``features.json``) and what applies it to other rows. One function
    for the folds and the refit: a refit encoded otherwise than its folds would predict from other features."""
    if (steps := spec.feature_steps(model)) is None:
        encoder = TableEncoder(features, data.categorical)
        state = encoder.fit(rows)
        return encoder.transform(rows, state), state, encoder
    pipeline = Pipeline(steps, name=model.pipeline, places=spec.feature_step_places(model))
    y_steps, step_task, classes = pipeline_target(data, y)
    out, state = pipeline.fit_transform(
        rows.drop(data.targets or data.target_column, strict=False),  # the target goes in as y only
        y_steps,
        task=step_task,  # type: ignore[arg-type]
        classes=classes,
        seed=seed,
        features=features,
        categorical=data.categorical,
        say_empty=say_empty,
    )
    return pipeline.matrix(out, state), state, pipeline


def _train_score(
    adapter: ModelAdapter,
    fitted: Fitted,
    X_train: FeatureMatrix,
    y_train: np.ndarray,
    metric: Metric,
    ctx: FitContext,
    task: Task,
) -> tuple[float | None, int]:
    """The metric on the fold's own training rows (a seeded subsample of at most :data:`TRAIN_SCORE_ROWS`), scored as
    the validation rows are: the train side of the report's train vs validation gap. One more predict call, on at
    most that many rows; (None, 0) when the metric is undefined on them (e.g. one class only)."""
    n = X_train.X.shape[0]
    if n == 0:
        return None, 0
    rows = np.arange(n)
    if n > TRAIN_SCORE_ROWS:
        rng = np.random.default_rng((ctx.seed, task.repeat, task.fold))
        rows = np.sort(rng.choice(n, TRAIN_SCORE_ROWS, replace=False))
        X_train = FeatureMatrix(np.ascontiguousarray(X_train.X[rows]), X_train.names, X_train.categorical)
    pred, _ = metric.clip(_from_fit_space(adapter.predict(fitted, X_train, ctx), metric))
    if not np.isfinite(pred).all():
        return None, 0
    score = metric.score(y_train[rows], pred)
    return (float(score), len(rows)) if np.isfinite(score) else (None, 0)


def pipeline_target(data: CompetitionData, y: np.ndarray) -> tuple[np.ndarray | None, str | None, range | None]:
    """What a feature pipeline's target-aware steps get: ``(y, task, classes)``. A distribution task's target is a
    number (its encoders see a regression); a multi-target task's steps get no target (none of them may use one:
    checked when the run starts)."""
    if data.targets:
        return None, None, None
    task = "regression" if data.task == "distribution" else data.task
    return y, task, (range(data.n_classes) if task != "regression" else None)


def run_sequences(ctx: Context) -> SequenceStore | None:
    """The run's streamed sequences: the data's, else (a worker handed the frames only) the run folder's."""
    spec = ctx.spec.data.sequences
    if spec is None or spec.layout != "streamed":
        return None
    if ctx.data.sequences is not None:
        return ctx.data.sequences
    return open_sequence_store(run_sequences_folder(ctx.store.root))


def _no_features(rows: pl.DataFrame) -> FeatureMatrix:
    return FeatureMatrix(np.empty((rows.height, 0), dtype=np.float32), (), ())


def _to_fit_space(y: np.ndarray, metric: Metric) -> np.ndarray:
    return np.log1p(y) if metric.fit_transform == "log1p" else y


def _from_fit_space(pred: np.ndarray, metric: Metric) -> np.ndarray:
    return np.expm1(pred).astype(np.float32) if metric.fit_transform == "log1p" else pred


def _check_finite(valid_pred: np.ndarray, test_pred: np.ndarray | None, where: str) -> None:
    """Reject NaN / infinite predictions before they reach the store (a ``FloatingPointError`` fails the model only).

    ``where`` names the model and fold, e.g. ``"model 'mlp' repeat 0 fold 3"``.
    """
    for what, pred in (("validation", valid_pred), ("test", test_pred)):
        if pred is not None and not np.isfinite(pred).all():
            bad = int((~np.isfinite(pred)).sum())
            raise FloatingPointError(
                f"{where} produced {bad} NaN or infinite {what} prediction value(s) (diverged); check the model's "
                "params and the inputs for infinite or huge values"
            )
