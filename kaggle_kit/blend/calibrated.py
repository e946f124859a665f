"""Ensemble selection over the models and their recalibrations: the ``calibrated_hill_climb`` blend method.

Each of the best ``max_calibrated`` models gets a *twin*: the same level-2 model ``stack`` fits on all models (a
logistic regression on the model's log-odds or class log-probabilities, ridge for a value), fitted on that model
alone with a fixed ``C``. For a multiclass model that is matrix scaling (Guo et al. 2017): it moves probability
between classes, which temperature scaling cannot (an ordinal target's neighbouring classes, a class the model
over- or under-predicts). Ensemble selection (``hill_climb``) then picks among the models and the twins, so a twin
enters only where it improves the blend. The twins the selection sees are fitted out of fold over the rows' own
folds, and the whole fit is scored by nested CV, so no row's label shapes its own blended value.

Measured (``benchmarks/hidden_gap.py`` on anes96, 755 rows, 7 ordered classes, 20 hold-out splits; RESULTS.md
section 8): LightGBM's hidden-row log loss fell from 1.426 to 1.378 when recalibrated so, and the ``good`` preset's
submission from 1.3872 to 1.3767 (the old LightGBM + XGBoost stack: 1.3770); on digits (10 classes) the twins were
worse than the models by nested CV and not picked.

Like ``stack``, it is scored by nested CV only, and the test predictions pool its fold fits' (:mod:`.nested`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import ConfigError
from ..metrics import Metric
from .base import Blender, Fitted, check_positive, one_blas_thread, weighted_sum
from .objective import search_metric
from .selection import HillClimb
from .stacking import AUTO_MAX_ROWS, fit_level2, level2_features, predict_level2, subsample_rows

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

#: above this many class columns no model gets a twin (a C x C recalibration has too many parameters): the blend is
#: ``hill_climb``'s, and its fit says so (``info["twins"] == 0``)
MAX_TWIN_COLUMNS = 20


@dataclass(frozen=True)
class CalibratedFit:
    """One fit: ``weights`` over the models then the twins, ``twins`` the model index of each twin, and each twin's
    level-2 model (fitted on all the fit's rows)."""

    weights: np.ndarray
    twins: tuple[int, ...]
    calibrators: tuple[Pipeline | Any, ...]

    def blend(self, preds: np.ndarray) -> np.ndarray:
        """The weighted sum of the models and their twins on ``preds`` (``(n_models, n_rows, n_columns)``); a twin
        the selection gave no weight is not evaluated."""
        n = preds.shape[0]
        out = weighted_sum(self.weights[:n], preds).astype(np.float64)
        for w, m, cal in zip(self.weights[n:], self.twins, self.calibrators, strict=True):
            if w > 0:
                out += w * predict_level2(cal, level2_features(preds[m : m + 1]), preds[m])
        return out.astype(np.float32)


@dataclass(frozen=True)
class CalibratedHillClimb(Blender):
    """Ensemble selection over the models and a logistic (ridge) recalibration of each of the best
    ``max_calibrated`` ones, with inverse regularisation ``C``; see :mod:`kaggle_kit.blend.calibrated`."""

    method: ClassVar[str] = "calibrated_hill_climb"
    single_target: ClassVar[bool] = True
    nested_only: ClassVar[bool] = True
    C: float = 1.0
    max_calibrated: int = 8

    def __post_init__(self) -> None:
        check_positive(self.method, "max_calibrated", self.max_calibrated)
        if isinstance(self.C, bool) or not isinstance(self.C, (int, float)) or not self.C > 0:
            raise ConfigError(f"the C of blend method {self.method!r} must be a positive number; got {self.C!r}")

    @classmethod
    def by_default(cls, metric: Metric) -> bool:
        """Where the selection searches log loss (log loss itself, and accuracy-like metrics it stands in for): on
        ROC AUC and regression errors the twins changed no pick and took 10x the selection's time (fair, diabetes,
        randhie: 0.6-0.8 s against 0.01-0.08 s)."""
        return search_metric(metric).name == "log_loss"

    def fit(
        self,
        preds: np.ndarray,
        y: np.ndarray,
        metric: Metric,
        rng: np.random.Generator,
        row_folds: np.ndarray | None = None,
    ) -> Fitted:
        folds = np.asarray(row_folds) if row_folds is not None else None
        if folds is None or np.unique(folds).size < 2:
            folds = rng.permutation(np.arange(len(y)) % min(5, len(y)))
        twins = self._twins(preds, y, metric, folds)
        inner = np.empty((len(twins), *preds.shape[1:]), dtype=np.float32)
        calibrators = []
        with one_blas_thread():
            for i, m in enumerate(twins):
                X = level2_features(preds[m : m + 1])
                for f in np.unique(folds):
                    held = folds == f
                    cal = self._fit_one(X, y, ~held, metric, rng)
                    inner[i, held] = predict_level2(cal, X[held], preds[m, held])
                calibrators.append(self._fit_one(X, y, np.ones(len(y), dtype=bool), metric, rng))
        selection = HillClimb().fit(np.concatenate([preds, inner]), y, metric, rng, row_folds)
        assert selection.weights is not None
        model = CalibratedFit(selection.weights, tuple(twins), tuple(calibrators))
        return Fitted(model=model, info={**selection.info, "twins": len(twins)})

    def predict(self, fitted: Fitted, preds: np.ndarray) -> np.ndarray:
        model: CalibratedFit = fitted.model
        return model.blend(preds)

    def _twins(self, preds: np.ndarray, y: np.ndarray, metric: Metric, folds: np.ndarray) -> list[int]:
        """The models that get a twin: the best ``max_calibrated`` by ``metric`` on these rows; none above
        :data:`MAX_TWIN_COLUMNS` columns, nor when some inner fold's other rows hold a single class (a classifier
        cannot be fitted there). A class these rows lack keeps its model's probability in the twin
        (:func:`~kaggle_kit.blend.stacking.predict_level2`)."""
        if preds.shape[2] > MAX_TWIN_COLUMNS:
            return []
        if metric.needs != "value" and any(np.unique(y[folds != f]).size < 2 for f in np.unique(folds)):
            return []
        scores = [metric.score(y, preds[m]) for m in range(preds.shape[0])]
        order = sorted(range(len(scores)), key=lambda m: scores[m], reverse=metric.greater_is_better)
        return sorted(order[: self.max_calibrated])

    def _fit_one(self, X: np.ndarray, y: np.ndarray, rows: np.ndarray, metric: Metric, rng: np.random.Generator) -> Any:
        """A twin's level-2 model on ``rows`` (at most about :data:`AUTO_MAX_ROWS` of them: a seeded subsample,
        every class kept)."""
        idx = np.flatnonzero(rows)
        idx = idx[subsample_rows(y[idx], AUTO_MAX_ROWS, rng, metric.needs != "value")]
        return fit_level2(X[idx], y[idx], float(self.C), metric)
