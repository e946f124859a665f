"""The one honest score of a prediction matrix, for models and blends alike: the metric on each (repeat, fold)'s
held-out rows of its train-order predictions, their mean, and all rows scored at once.

A model's stored OOF and a blend's nested-CV OOF are the same kind of thing: one prediction per training row, made
by something that never saw that row, averaged over the repeats of repeated folds. Both are scored here, the same
way, so that a blend of one model scores exactly that model, and ``kaggle-kit blend`` and ``kaggle-kit report`` rank
models and blends alike, and the run's own leaderboard agrees with both: :func:`score_folds` lives in
:mod:`kaggle_kit.runtime.scoring`, and the runner scores every model it assembles with it. (The score each repeat's
fold model got on its own, in its ``result.json``, is a progress line only: at a fixed 0.5 threshold for a label
metric, and with repeated folds not comparable with predictions averaged over repeats.)

A label metric on a binary task (F1, Dice, accuracy, balanced accuracy) turns probabilities into labels at a
decision threshold, and that threshold is fitted honestly too: for each fold it is chosen on the fold's *training*
rows (:func:`~kaggle_kit.metrics.choose_threshold`) and applied to its held-out rows, so that the fold score never
saw the rows it scores. A blend's nested CV passes the thresholds it chose on its own fits' training rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..metrics import Metric
from ..runtime.folds import Folds
from ..runtime.scoring import FoldScores, Thresholds, score_folds


def common_folds(preds: Mapping[str, np.ndarray], folds: Folds) -> tuple[tuple[int, int], ...]:
    """The ``(repeat, fold)`` pairs whose held-out rows every one of ``preds`` predicted somewhere: the folds on which
    they can all be compared (a blend is not scored on the first block of time folds, which it cannot fit on)."""
    finite = [np.isfinite(np.asarray(p).reshape(len(p), -1)).all(axis=1) for p in preds.values()]
    out = []
    for r, k in folds.tasks():
        valid_idx = folds.train_valid(r, k)[1]
        if all(f[valid_idx].any() for f in finite):
            out.append((int(r), int(k)))
    return tuple(out)


def honest_scores(
    preds: Mapping[str, np.ndarray],
    y: np.ndarray,
    folds: Folds,
    metric: Metric,
    thresholds: Mapping[str, Thresholds] | None = None,
) -> dict[str, FoldScores]:
    """:func:`score_folds` of every prediction matrix (models' OOF, blends' nested OOF) on their common folds;
    ``thresholds``: a blend's decision thresholds per fold, as its nested CV chose them (``fold_thresholds``)."""
    tasks = common_folds(preds, folds)
    given = thresholds or {}
    return {name: score_folds(p, y, folds, metric, tasks, given.get(name)) for name, p in preds.items()}
