"""A stored blend applied to its models' predictions for new rows.

Weighting methods (``mean``, ``nelder_mead``, ``hill_climb``) store their weights in the blend's ``summary.json``;
``rank`` stores equal weights and ranks within the rows it is given (the new test rows, as it ranked the run's test
rows). Stacking stores the level-2 model of each nested-CV fold (``level2.json`` + ``level2.npz``: scikit-learn
state as JSON and arrays, never pickle) and their mean is applied to the new rows, as the blend applied it to the
run's test rows. A stacking blend stored before they were has its level-2 models fitted again on the run folder's
stored OOF predictions over the run's folds, exactly as the blend fitted them (logistic regression / ridge are
deterministic).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..blend.base import Fitted
from ..blend.calibration import calibrate_blend
from ..blend.engine import in_domain, stack_predictions
from ..blend.inputs import current_keys, load_run, stale_reason
from ..blend.nested import nested_cv
from ..blend.registry import make_blender
from ..blend.result import BlendResult
from ..blend.storage import external_sources, read_blend, read_level2, reblend_command
from ..errors import StoreError, allowed
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
        blended = blender.predict(Fitted(weights=np.asarray(result.weights, dtype=np.float64)), test)
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
