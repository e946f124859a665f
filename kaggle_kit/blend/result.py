"""What a blend produced, as recorded in ``RUN_DIR/blends/<name>/summary.json``."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..metrics import get_metric


def optimism(in_sample: float, honest: float, greater_is_better: bool) -> float:
    """The one rule for a blend's gap, wherever it is shown or stored (``kaggle-kit blend``, the report, the history):
    how much better the in-sample score looks than the honest one, turned by the metric's direction so that > 0 always
    means optimistic; ``nan`` where either is missing. ``+ 0.0``: a mean blend's gap is 0, never -0 (``-0.00000``)."""
    if math.isnan(in_sample) or math.isnan(honest):
        return float("nan")
    diff = in_sample - honest
    return (diff if greater_is_better else -diff) + 0.0


@dataclass(frozen=True)
class BlendResult:
    """A blend's scores, honest and in-sample.

    Honest (nested CV): for each fold, the blend is fitted on the other folds' OOF rows and scores the held-out
    fold: ``fold_scores`` (their mean +- std is the headline: each fold scored on its own, as the test set will be,
    and paired fold by fold with a model's ``fold_scores``), and ``nested_cv``, all held-out rows scored at once
    (comparable to a model's ``cv``).

    In-sample (optimistic; not computed for stacking, which is never scored this way): the blend fitted on all OOF
    rows, scored on all of them at once (``cv``) and fold by fold (``in_sample_fold_scores``); :attr:`gap` compares
    the in-sample and honest fold means. ``folds`` lists the ``(repeat, fold)`` pairs scored.
    """

    name: str
    method: str
    metric: str
    objective: str  # what the weights were fitted on: the metric, or log loss where the metric is flat
    models: tuple[str, ...]
    weights: tuple[float, ...] | None  # one per model, on the simplex; None for a level-2 model
    cv: float
    nested_cv: float
    fold_scores: tuple[float, ...]
    in_sample_fold_scores: tuple[float, ...]
    folds: tuple[tuple[int, int], ...]
    fit_seconds: float  # the whole blend: full fit, nested CV, test predictions
    n_rows: int  # OOF rows blended (rows every model predicted)
    options: dict[str, Any] = field(default_factory=dict)
    model_keys: dict[str, str] = field(default_factory=dict)  # name -> store key (or file hash) blended
    # a binary label metric's decision threshold on the positive probability, chosen on the OOF rows (the full
    # fit's in-sample predictions; a stacker's nested OOF) and applied to the test predictions; None otherwise
    threshold: float | None = None
    fold_thresholds: tuple[float, ...] = ()  # the threshold each nested-CV fold was scored at, paired with ``folds``
    # temperature scaling (--calibrate temperature): fitted on all OOF rows, applied to the test predictions
    temperature: float | None = None
    # isotonic calibration (--calibrate isotonic): per calibrated column, the knots (x, y) of its map, fitted on all
    # OOF rows and applied to the test predictions (:mod:`.calibration`)
    isotonic: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...] | None = None
    # name -> key of what the run could blend when this blend was made (its finished models and imported predictions,
    # weighed or not): a model not among them finished after it (the report's note). Empty: not recorded (older)
    run_models: dict[str, str] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_scores)) if self.fold_scores else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.fold_scores)) if self.fold_scores else float("nan")

    @property
    def in_sample_mean(self) -> float:
        return float(np.mean(self.in_sample_fold_scores)) if self.in_sample_fold_scores else float("nan")

    @property
    def gap(self) -> float:
        """How much better the in-sample fold mean looks than the honest one, in the metric's units (> 0: the
        in-sample score is optimistic by that much); ``nan`` for stacking. See :func:`optimism`."""
        return optimism(self.in_sample_mean, self.mean, get_metric(self.metric).greater_is_better)

    @property
    def weight_map(self) -> dict[str, float]:
        return dict(zip(self.models, self.weights, strict=True)) if self.weights is not None else {}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> BlendResult:
        data = json.loads(text)
        data["models"] = tuple(data["models"])
        data["fold_scores"] = tuple(data["fold_scores"])
        data["in_sample_fold_scores"] = tuple(data["in_sample_fold_scores"])
        data["folds"] = tuple(tuple(pair) for pair in data["folds"])
        data["fold_thresholds"] = tuple(data.get("fold_thresholds", ()))
        if data["weights"] is not None:
            data["weights"] = tuple(data["weights"])
        if data.get("isotonic") is not None:
            data["isotonic"] = tuple((tuple(x), tuple(v)) for x, v in data["isotonic"])
        return cls(**data)
