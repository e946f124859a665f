"""Honest blend scores: nested cross-validation over the run's own folds.

For each (repeat, fold) of the run, the blend is fitted on the OOF rows the fold trains on (the other folds, or the
earlier ones for time folds) and predicts the held-out fold, which it never saw. Those held-out predictions form
the blend's *nested OOF*, pooled over repeats as a model's fold models are (class probabilities in log space,
:mod:`kaggle_kit.runtime.pooling`), as are a stacker's test predictions over its fold fits; the nested OOF is scored
exactly as a model's OOF is (:func:`~.scoring.score_folds`): each fold on its own, and all rows at once.

Pooling a stacker's fold fits in log space instead of averaging their probabilities (``benchmarks/fold_pooling.py``,
``benchmarks/RESULTS.md`` section 20; hidden log loss of ``good``'s stack): anes96 1.37829 -> 1.37803 over 20 hold-out
splits (better on 17), digits better on 3 of 3, fair level, breast cancer better on 2 of 3.

Where the metric labels a binary prediction at a decision threshold, each fold's threshold is chosen on the fold's
training rows only (the fold fit's predictions there), never on the held-out rows it is scored on; so is a
calibration (``calibrate``: a temperature or isotonic maps, :mod:`.calibration`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..metrics import Metric, choose_threshold
from ..runtime.folds import Folds
from ..runtime.pooling import FoldPool, metric_pooling_space
from .base import Blender, Fitted
from .calibration import fit_calibration


class OutOfTime(Exception):
    """A blend's nested CV would end after its deadline (a time-limited command's): the method is left out."""


@dataclass(frozen=True)
class NestedScores:
    """The nested-CV outcome: ``oof`` (``nan`` on rows never held out), which ``(repeat, fold)`` pairs were
    fitted and predicted, and, when test predictions were given, the fold fits' pool of them; ``fitted``: each
    scored fold's fit, in the order of ``scored`` (a stacker's level-2 models, stored for ``predict``)."""

    oof: np.ndarray
    scored: tuple[tuple[int, int], ...]
    test: np.ndarray | None
    fitted: tuple[Fitted, ...] = ()
    thresholds: dict[tuple[int, int], float] | None = None  # per scored fold, for a thresholded label metric


def nested_cv(
    blender: Blender,
    preds: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    metric: Metric,
    *,
    usable: np.ndarray | None = None,
    seed: int = 0,
    test: np.ndarray | None = None,
    calibrate: str | None = None,
    deadline: float | None = None,
) -> NestedScores:
    """Fit ``blender`` on each fold's training rows of ``preds`` (``(n_models, n_rows, n_columns)``) and score it
    on the fold's held-out rows. ``usable`` marks the rows every model predicted (default: all); a fold with no
    usable training rows (the first block of time folds) is not fitted. ``calibrate`` (``"temperature"``,
    ``"isotonic"``): calibrate each fold fit's predictions with the calibration fitted
    on its training rows only (their labels and the fold fit's predictions there). ``deadline``
    (``time.monotonic()``): raise :class:`OutOfTime` as soon as the fold fits so far say the rest would end after
    it (a stacker on 200,000 rows x 30 features took 9 s of a 180 s limit's 9 s reserve)."""
    n = preds.shape[1]
    usable = np.ones(n, dtype=bool) if usable is None else usable
    space = metric_pooling_space(metric)
    oof_pool = FoldPool(n, preds.shape[2], space)
    test_pool = FoldPool(test.shape[1], test.shape[2], space) if test is not None else None
    scored: list[tuple[int, int]] = []
    fits: list[Fitted] = []
    thresholds: dict[tuple[int, int], float] | None = {} if metric.thresholded(preds[0]) else None
    row_folds = folds.ids[0]
    tasks = folds.tasks()
    began = time.monotonic()
    for i, (r, k) in enumerate(tasks):
        if deadline is not None:
            now = time.monotonic()
            per_fold = (now - began) / i if i else 0.0
            ends = now + per_fold * (len(tasks) - i)
            if ends >= deadline:
                raise OutOfTime(
                    f"its nested CV would end {ends - deadline:.1f} s after the time limit ({per_fold:.1f} s a fold "
                    f"fit, {len(tasks) - i} to go)"
                )
        train_idx, valid_idx = folds.train_valid(r, k)
        train_idx, valid_idx = train_idx[usable[train_idx]], valid_idx[usable[valid_idx]]
        if train_idx.size == 0 or valid_idx.size == 0:
            continue
        rng = np.random.default_rng([seed, r, k])
        fitted = blender.fit(preds[:, train_idx], y[train_idx], metric, rng, row_folds[train_idx])
        held_out = blender.predict(fitted, preds[:, valid_idx])
        if thresholds is not None or calibrate:  # fitted on the fold's training rows only
            on_train = blender.predict(fitted, preds[:, train_idx])
            if calibrate:
                c = fit_calibration(calibrate, y[train_idx], on_train)
                on_train, held_out = c.apply(on_train), c.apply(held_out)
            if thresholds is not None:
                thresholds[(r, k)] = choose_threshold(metric, y[train_idx], on_train)
        scored.append((r, k))
        fits.append(fitted)
        oof_pool.add(held_out, valid_idx)
        if test is not None and test_pool is not None:
            test_pool.add(blender.predict(fitted, test))
    pooled_test = test_pool.result() if test_pool is not None and scored else None
    return NestedScores(oof_pool.result(), tuple(scored), pooled_test, tuple(fits), thresholds)
