"""Blend prediction matrices held in memory: fit on all OOF rows, score honestly by nested CV, predict the test rows.

This is the whole blend step without the run store, for a notebook that holds its own OOF matrices::

    import numpy as np
    from kaggle_kit.blend import blend_predictions
    from kaggle_kit.runtime.folds import make_folds

    y = np.random.default_rng(0).integers(0, 2, 1000)
    noisy = lambda s: np.clip(y + np.random.default_rng(s).normal(0, 0.8, 1000), 0, 1)
    oof = {f"m{s}": np.column_stack([1 - noisy(s), noisy(s)]) for s in range(3)}
    folds = make_folds(1000, strategy="stratified", n_splits=5, y=y)
    outcome = blend_predictions(oof, y, folds, "roc_auc", "nelder_mead")
    print(outcome.result.weights, outcome.result.nested_cv)
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from ..errors import DataError, KitError
from ..leaderboard import score_text
from ..metrics import Metric, choose_threshold, get_metric
from ..runtime.folds import Folds
from ..runtime.scoring import score_folds
from .calibration import Calibration, check_calibration, fit_calibration
from .nested import OutOfTime, nested_cv
from .objective import search_metric
from .registry import check_applicable, make_blender
from .result import BlendResult


@dataclass(frozen=True)
class BlendOutcome:
    """A blend's result and its predictions: the nested-CV OOF (``(n_rows, n_columns)``, ``nan`` on rows never
    held out), the test predictions (``None`` without test matrices) and a stacker's fold models."""

    result: BlendResult
    oof: np.ndarray
    test: np.ndarray | None
    level2: tuple[Any, ...] = ()  # a stacker's level-2 model of each nested-CV fold (their pool predicts test)


def stack_predictions(preds: Mapping[str, np.ndarray], metric: Metric, what: str = "OOF") -> np.ndarray:
    """Stack named prediction matrices into a float32 ``(n_models, n_rows, n_columns)`` array, checking shapes.

    A 1-D array is one column for a regression metric and the positive-class probability of a binary task
    (expanded to ``[1 - p, p]``) otherwise.
    """
    if not preds:
        raise KitError("nothing to blend: pass at least one model's predictions")
    mats = []
    for name, values in preds.items():
        a = np.asarray(values, dtype=np.float32)
        if a.ndim == 1:
            a = a[:, None] if metric.needs == "value" else np.column_stack([1 - a, a])
        if a.ndim != 2:
            raise DataError(f"the {what} predictions of {name!r} must be a 2-D (rows, columns) matrix; got {a.shape}")
        mats.append(a)
    first_name, first = next(iter(preds)), mats[0]
    for name, a in zip(preds, mats, strict=True):
        if a.shape != first.shape:
            raise DataError(
                f"the {what} predictions of {name!r} have shape {a.shape} but those of {first_name!r} have "
                f"{first.shape}; every model must predict the same rows and columns"
            )
    return np.stack(mats)


def blend_predictions(
    oof: Mapping[str, np.ndarray],
    y: np.ndarray,
    folds: Folds,
    metric: str | Metric,
    method: str = "nelder_mead",
    *,
    test: Mapping[str, np.ndarray] | None = None,
    options: Mapping[str, Any] | None = None,
    name: str | None = None,
    seed: int = 0,
    model_keys: Mapping[str, str] | None = None,
    calibrate: str | None = None,
    deadline: float | None = None,
) -> BlendOutcome:
    """Blend the models' OOF matrices with ``method``; score the blend in-sample and by nested CV over ``folds``;
    apply it to the ``test`` matrices (weights fitted on all OOF rows; a level-2 model's fold fits pooled).

    Rows that any model left unpredicted (``nan``: time folds' first block) are neither fitted nor scored.
    ``calibrate="temperature"`` or ``"isotonic"`` (log loss only) calibrates the blend's probabilities, fitted out of
    fold (:mod:`.calibration`). ``deadline`` (``time.monotonic()``): :class:`~.nested.OutOfTime` when it has passed
    (before any fit) or the nested CV would end after it.
    """
    metric = get_metric(metric) if isinstance(metric, str) else metric
    check_applicable(method, metric)
    blender = make_blender(method, options)
    check_calibration(calibrate, metric, method, blender.nested_only)
    stack = stack_predictions(oof, metric)
    names = tuple(oof)
    y = np.asarray(y)
    # a multi-target metric scores (rows, targets) against the same columns; any other one row value per row
    if y.shape != ((stack.shape[1], stack.shape[2]) if metric.column_metric else (stack.shape[1],)):
        raise DataError(f"y has shape {y.shape} but the OOF predictions have {stack.shape[1]} rows")
    if folds.n_rows != stack.shape[1]:
        raise DataError(f"the folds cover {folds.n_rows} rows but the OOF predictions have {stack.shape[1]}")
    test_stack = stack_predictions(test, metric, "test") if test else None
    if test_stack is not None and test_stack.shape[0::2] != stack.shape[0::2]:
        raise DataError(
            f"the test predictions have {test_stack.shape[0]} model(s) x {test_stack.shape[2]} column(s) but the "
            f"OOF predictions {stack.shape[0]} x {stack.shape[2]}; give both for the same models"
        )
    usable = np.isfinite(stack).all(axis=(0, 2))
    if not usable.any():
        raise DataError(f"no OOF row was predicted by every one of the models {list(names)}; nothing to blend")

    start = time.perf_counter()
    cv, weights, info, blended_test, in_sample = float("nan"), None, {}, None, None
    threshold: float | None = None
    calibration: Calibration | None = None
    if deadline is not None and time.monotonic() >= deadline:  # not even the fit on every row (before nested CV)
        raise OutOfTime("the time limit was reached before it started")
    if not blender.nested_only:
        fitted = blender.fit(stack[:, usable], y[usable], metric, np.random.default_rng(seed), folds.ids[0][usable])
        in_sample = np.full(stack.shape[1:], np.nan, dtype=np.float32)
        in_sample[usable] = blender.predict(fitted, stack[:, usable])
        if calibrate is not None:  # the test calibration: fitted on all OOF rows, as the weights are
            calibration = fit_calibration(calibrate, y[usable], in_sample[usable])
            in_sample[usable] = calibration.apply(in_sample[usable])
        if metric.thresholded(stack[0]):  # the test threshold: chosen on all OOF rows, as the weights are
            threshold = choose_threshold(metric, y[usable], in_sample[usable])
        cv = metric.score(y[usable], in_sample[usable], threshold)
        weights = tuple(float(w) for w in fitted.weights) if fitted.weights is not None else None
        info = fitted.info
        if test_stack is not None:
            blended_test = blender.predict(fitted, test_stack)
            if calibration is not None:
                blended_test = calibration.apply(blended_test)
    nested = nested_cv(
        blender,
        stack,
        y,
        folds,
        metric,
        usable=usable,
        seed=seed,
        test=test_stack if blender.nested_only else None,
        calibrate=calibrate,
        deadline=deadline,
    )
    if blender.nested_only:
        blended_test = nested.test
    # into the metric's domain, as the run clips its models': a weighted mean of clipped predictions stays in it, but
    # a stacker's ridge can undershoot (RMSLE: negative values, scored as 0 and submitted below 0)
    nested_oof = in_domain(nested.oof, metric)
    blended_test = in_domain(blended_test, metric) if blended_test is not None else None
    # the nested OOF is scored as a model's OOF is (one function for both): a blend of one model scores that model
    honest = score_folds(nested_oof, y, folds, metric, nested.scored, nested.thresholds)
    if blender.nested_only and nested.thresholds is not None:  # the test predictions pool the fold fits
        seen = np.isfinite(nested_oof).all(axis=1)
        threshold = choose_threshold(metric, y[seen], nested_oof[seen]) if seen.any() else 0.5
    in_sample_scores: tuple[float, ...] = ()
    if in_sample is not None:  # the full fit scored fold by fold, on the folds nested CV scored: the like-for-like gap
        in_sample_scores = score_folds(in_sample, y, folds, metric, honest.folds, threshold).scores
    seconds = time.perf_counter() - start

    result = BlendResult(
        name=name or method,
        method=method,
        metric=metric.name,
        objective=str(info.get("objective", _objective_name(method, metric))),
        models=names,
        weights=weights,
        cv=float(cv),
        nested_cv=honest.pooled,
        fold_scores=honest.scores,
        in_sample_fold_scores=in_sample_scores,
        folds=honest.folds,
        fit_seconds=round(seconds, 4),
        n_rows=int(usable.sum()),
        options=blender.options(),
        model_keys=dict(model_keys or {}),
        threshold=threshold,
        fold_thresholds=honest.thresholds,
        temperature=calibration.temperature if calibration is not None else None,
        isotonic=calibration.isotonic if calibration is not None else None,
    )
    level2 = tuple(f.model for f in nested.fitted) if blender.nested_only and test_stack is not None else ()
    return BlendOutcome(result, nested_oof, blended_test, level2)


def in_domain(values: np.ndarray, metric: Metric) -> np.ndarray:
    """A blend's predictions clipped into ``metric``'s domain (RMSLE: >= 0), where its models' predictions are."""
    return metric.clip(values)[0]


def _objective_name(method: str, metric: Metric) -> str:
    if method in ("mean", "rank"):
        return "none"
    if method == "stack":
        return "squared_error" if metric.needs == "value" else "log_loss"
    return search_metric(metric).name


def stacking_guard(
    outcomes: Sequence[BlendOutcome], metric: Metric
) -> tuple[list[BlendOutcome], list[tuple[BlendResult, BlendResult]]]:
    """AutoGluon's guard against stacked overfitting: among ``outcomes``, a level-2 stacker (``stack``) is kept only
    when its honest score (the mean of its nested-CV fold scores) beats the ensemble selection's (``hill_climb``),
    fitted on the same models. Returns the outcomes kept and, for a dropped stacker, ``(its result, the
    selection's)``: both scores, for the report."""
    stacker = next((o for o in outcomes if o.result.method == "stack"), None)
    selection = next((o for o in outcomes if o.result.method == "hill_climb"), None)
    if stacker is None or selection is None or metric.better(stacker.result.mean, selection.result.mean):
        return list(outcomes), []
    return [o for o in outcomes if o is not stacker], [(stacker.result, selection.result)]


class _Stored(Protocol):
    """A stored blend as :func:`stored_guard` reads it (a :class:`BlendResult`, or the report's summary of one)."""

    name: str
    method: str
    model_keys: dict[str, str]

    @property
    def mean(self) -> float: ...


_B = TypeVar("_B", bound=_Stored)


def stored_guard(blends: Sequence[_B], metric: Metric) -> tuple[list[_B], list[tuple[_B, _B]]]:
    """:func:`stacking_guard` over blends stored by separate calls (``kaggle-kit blend --method stack``, then
    ``--method hill_climb``), for what ranks stored blends (``submit --best``, ``kaggle-kit report``): a stored
    stacker is left out when a stored selection (``hill_climb``) over the same models, the same versions of them
    (their keys), scores at least as well by nested CV. Returns the blends kept and, for each stacker left out,
    ``(it, the selection)``. A stacker without such a selection beside it is kept, as one call of ``stack`` alone
    keeps it.

    ``calibrated_hill_climb`` is not guarded, though its twins are level-2 fits: it is an ensemble selection, whose
    search is the guard (a twin enters only where it improves the blend; without one it is ``hill_climb``'s
    selection), and one call's :func:`stacking_guard` keeps it, so leaving it out here would make ``submit --best``
    disagree with that call's verdict. A tie with ``hill_climb`` goes to ``hill_climb``
    (:func:`~.report.tie_order`)."""
    # the plain selection, as one call's guard compares with (not hill_climb_temperature: calibrated)
    selections = [b for b in blends if b.method == "hill_climb" and b.model_keys and not _calibrated(b)]
    kept, dropped = [], []
    for b in blends:
        rival = next(
            (
                s
                for s in selections
                if b.method == "stack" and s.model_keys == b.model_keys and not metric.better(b.mean, s.mean)
            ),
            None,
        )
        if rival is None:
            kept.append(b)
        else:
            dropped.append((b, rival))
    return kept, dropped


def _calibrated(blend: _Stored) -> bool:
    """Whether a stored blend was calibrated: a :class:`BlendResult`'s temperature or isotonic maps, or the report's
    summary's ``calibrate``."""
    return any(getattr(blend, a, None) is not None for a in ("temperature", "isotonic", "calibrate"))


def guard_note(dropped: Sequence[tuple[_Stored, _Stored]]) -> str:
    """The note for stored stackers :func:`stored_guard` left out."""
    return "Stacking left out (stacked-overfitting guard, over stored blends): " + "; ".join(
        f"{b.name!r} scores {score_text(b.mean)} by nested CV, which does not beat the ensemble selection {s.name!r} "
        f"over the same models ({score_text(s.mean)})"
        for b, s in dropped
    )
