"""A level-2 model trained on the OOF prediction matrix: logistic regression (classification) or ridge (regression).

Its features are the models' predictions (log-odds of the positive class, or log-probabilities of every class),
standardised on the rows it is fitted on. Scored only by nested CV: a level-2 model fitted on all OOF rows would
be scored on its own training rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..errors import ConfigError
from ..metrics import Metric
from .base import Blender, Fitted

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

_EPS = 1e-6


@dataclass(frozen=True)
class Stack(Blender):
    """Logistic regression (or ridge for regression) on the models' OOF predictions; ``C`` is the inverse
    regularisation strength (ridge's ``alpha = 1 / C``)."""

    method: ClassVar[str] = "stack"
    single_target: ClassVar[bool] = True  # one level-2 model of one target column
    nested_only: ClassVar[bool] = True
    C: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.C, bool) or not isinstance(self.C, (int, float)) or not self.C > 0:
            raise ConfigError(f"the C of blend method 'stack' must be a positive number; got {self.C!r}")

    def fit(
        self,
        preds: np.ndarray,
        y: np.ndarray,
        metric: Metric,
        rng: np.random.Generator,
        row_folds: np.ndarray | None = None,
    ) -> Fitted:
        # scikit-learn imported here: loading it costs a tree-only notebook's `import` ~1.8 s
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        X = _features(preds)
        if metric.needs == "value":
            model: Pipeline = make_pipeline(StandardScaler(), Ridge(alpha=1.0 / self.C))
            model.fit(X, y)
        else:
            model = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=1000))
            model.fit(X, y)
        return Fitted(model=model, info={"features": X.shape[1]})

    def predict(self, fitted: Fitted, preds: np.ndarray) -> np.ndarray:
        model: Pipeline = fitted.model
        X = _features(preds)
        if preds.shape[2] == 1:
            return model.predict(X).astype(np.float32).reshape(-1, 1)
        proba = model.predict_proba(X)
        out = np.zeros((preds.shape[1], preds.shape[2]), dtype=np.float32)
        out[:, model.classes_.astype(np.intp)] = proba  # a class absent from the training rows keeps 0
        return out


def _features(preds: np.ndarray) -> np.ndarray:
    """Level-2 features, ``(n_rows, n_features)``: log-odds (binary), log-probabilities (multiclass), values."""
    if preds.shape[2] == 1:
        return np.ascontiguousarray(preds[:, :, 0].T, dtype=np.float64)
    p = np.clip(preds.astype(np.float64), _EPS, 1 - _EPS)
    if preds.shape[2] == 2:
        return np.log(p[:, :, 1] / p[:, :, 0]).T
    return np.log(p).transpose(1, 0, 2).reshape(preds.shape[1], -1)
