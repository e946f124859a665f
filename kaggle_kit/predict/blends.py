"""A stored blend applied to its models' predictions for new rows.

Weighting methods (``mean``, ``nelder_mead``, ``hill_climb``) store their weights in the blend's ``summary.json``;
``rank`` stores equal weights; each model's prediction for a new row is ranked among that model's stored predictions
for the run's test rows (average ranks over their count, as the blend ranked them), so a row of the run's test set
gets its stored value whatever rows it is predicted with, and rows predicted in separate calls (one row, chunks of a
big file) are on one scale. It had ranked within the rows given: one row scored 1.0 whatever its models said. A run
without test rows has none to rank against: it ranks within the rows given, with a warning.

Stacking stores the level-2 model of each nested-CV fold (``level2.json`` + ``level2.npz``: scikit-learn state as
JSON and arrays, never pickle) and their mean is applied to the new rows, as the blend applied it to the run's test
rows. A stacking blend stored before they were has its level-2 models fitted again on the run folder's
stored OOF predictions over the run's folds, exactly as the blend fitted them (logistic regression / ridge are
deterministic).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from ..blend.base import Fitted, weighted_sum
from ..blend.calibration import calibrate_blend
from ..blend.engine import in_domain, stack_predictions
from ..blend.inputs import current_keys, load_run, stale_reason
from ..blend.nested import nested_cv
from ..blend.registry import make_blender
from ..blend.result import BlendResult
from ..blend.storage import external_sources, read_blend, read_level2, reblend_command
from ..errors import DataWarning, StoreError, allowed
from ..runtime.pooling import FoldPool, metric_pooling_space
from .run_folder import RunFolder


def blend_spec(folder: RunFolder, name: str) -> BlendResult:
    """The stored blend ``name``, refused when it cannot be applied to new rows: its models were refit since it was
    made, or it blends imported predictions (made elsewhere: there is no model here to predict new rows with)."""
    result = read_blend(folder.root, name)
    why = stale_reason(result.models, result.model_keys, current_keys(folder.root))
    if why:
        raise StoreError(f"the blend {name!r} was {why}; blend again: {reblend_command(folder.root, result)}")
    imported = [m for m in result.models if m in external_sources(folder.root)]
    if imported:
        raise StoreError(
            f"the blend {name!r} uses imported predictions {allowed(imported)}, made outside this run: there is no "
            "model here to predict new rows with. Blend the run's own models for `kaggle-kit predict` (--models)"
        )
    return result


def apply_blend(folder: RunFolder, result: BlendResult, preds: Mapping[str, np.ndarray]) -> np.ndarray:
    """Blend ``preds`` (model name -> ``(n_rows, n_columns)``, the blend's models) as the stored blend did."""
    blender = make_blender(result.method, result.options)
    test = stack_predictions({m: preds[m] for m in result.models}, folder.metric, "test")
    if not blender.nested_only:
        if result.weights is None:
            raise StoreError(f"the blend {result.name!r} ({result.method}) stored no weights; blend again")
        weights = np.asarray(result.weights, dtype=np.float64)
        reference = _stored_test(folder, result) if result.method == "rank" else None
        if reference is not None:
            blended = _rank_against(weights, test, reference)
        else:
            blended = blender.predict(Fitted(weights=weights), test)
        return calibrate_blend(result, blended)
    fix = f"blend again: {reblend_command(folder.root, result)}"
    level2 = read_level2(folder.root, result, fix)
    if level2 is not None:  # each nested-CV fold's level-2 model, as the blend stored them, pooled as nested_cv does
        pool = FoldPool(test.shape[1], test.shape[2], metric_pooling_space(folder.metric))
        for model in level2:
            pool.add(blender.predict(Fitted(model=model), test))
        return in_domain(pool.result(), folder.metric)  # as the blend clipped its test predictions
    run = load_run(folder.root, list(result.models))  # stored before level-2 models were: fitted again, the same
    oof = stack_predictions(run.oof, folder.metric)
    usable = np.isfinite(oof).all(axis=(0, 2))
    nested = nested_cv(blender, oof, run.y, run.folds, folder.metric, usable=usable, test=test)
    if nested.test is None:
        raise StoreError(f"the blend {result.name!r} has no fold to fit its level-2 model on; blend again")
    return in_domain(nested.test, folder.metric)


def _stored_test(folder: RunFolder, result: BlendResult) -> np.ndarray | None:
    """The blend's models' stored test predictions, ``(n_models, n_test, n_columns)``; None for a run without test
    rows (with a warning: the new rows are ranked among themselves)."""
    if folder.meta.get("n_test") == 0:
        warnings.warn(
            f"the rank blend {result.name!r} ranks each model's predictions among the rows given (the run had no "
            "test rows to rank them against): predict all the rows in one call, as scores of separate calls are "
            "not on one scale",
            DataWarning,
            stacklevel=4,
        )
        return None
    stored = {m: folder.store.read_predictions(m, "test").select(folder.columns).to_numpy() for m in result.models}
    return stack_predictions(stored, folder.metric, "stored test")


def _rank_against(weights: np.ndarray, preds: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """:class:`~kaggle_kit.blend.weighting.Rank`'s blend with each row ranked among ``reference`` (per model and
    column: its average rank there, a value between two of them half-way, over their count) instead of among
    ``preds``: equal to ranking the reference rows themselves (scipy's average ranks) for each row they hold.

    A value above every reference value ranks as the largest (1.0): half a rank above it had scored 1 + 0.5 / n, out
    of the rank blend's ``(0, 1]``, and a binary pair's other class below 0. A value below them all ranks 0.5 / n;
    a missing one (NaN) stays missing, as in a mean blend."""
    binary = preds.shape[2] == 2  # binary: rank the positive class, keep the pair complementary, as Rank does
    cols = [1] if binary else range(preds.shape[2])
    ranks = np.empty((preds.shape[0], preds.shape[1], len(cols)), dtype=np.float64)
    for m in range(preds.shape[0]):
        for j, c in enumerate(cols):
            ref = np.sort(reference[m, :, c])
            order = np.argsort(preds[m, :, c])  # sorted needles: searchsorted stays in cache (1M rows: 3x faster)
            values = _snapped(preds[m, order, c], ref)
            below = np.searchsorted(ref, values, side="left")
            ties = np.searchsorted(ref, values, side="right") - below
            rank = np.minimum(below + (ties + 1) / 2, ref.shape[0]) / ref.shape[0]
            ranks[m, order, j] = np.where(np.isnan(values), np.nan, rank)  # NaN sorts last: it had scored 1.0
    ranked = ranks.astype(np.float32)
    if binary:
        positive = weighted_sum(weights, ranked)[:, 0]
        return np.column_stack([1 - positive, positive]).astype(np.float32)
    return weighted_sum(weights, ranked)


def _snapped(values: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``values`` with each one a few float32 steps from a value of the sorted ``ref`` taken as that value: a net
    predicts a row a step apart in another batch (the rows in another order), which is the same prediction, not
    half a rank away. The tolerance is relative only (about eight float32 steps): an absolute one had merged tiny
    predictions of another scale (``4.4e-10`` taken as ``5e-10``, a whole rank off)."""
    last = ref.shape[0] - 1
    at = np.searchsorted(ref, values)
    upper = ref[np.clip(at, 0, last)]
    lower = ref[np.clip(at - 1, 0, last)]
    nearest = np.where(np.abs(values - lower) <= np.abs(upper - values), lower, upper)
    return np.where(np.isclose(values, nearest, rtol=1e-6, atol=0.0), nearest, values)
