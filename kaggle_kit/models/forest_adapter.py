"""Random forests and extra trees (scikit-learn) as first-class kinds: ``random_forest`` and ``extra_trees``.

The classifier or regressor is chosen by the task. Defaults follow AutoGluon's RF / XT models: 300 trees, leaves
capped at 15000 per tree (no effect up to ~15k rows; bounds memory and file size on large data), scikit-learn's
``max_features`` (``sqrt`` for classification, all features for regression). Any other constructor parameter passes
through; unknown names are rejected before any fit, with the closest names. ``n_jobs`` and ``random_state`` come
from the run (threads per task, seed).

Missing values go to the trees as NaN: scikit-learn >= 1.4 forests learn at each split which side they take. A
criterion without that support gets the fold's training medians instead.

Saved as scikit-learn's own tree state (node and value arrays in an ``.npz``, parameters and learned scalars in
JSON; :mod:`.sklearn_state`): a loaded forest predicts exactly what the fitted one did. Predictions are computed in
blocks of rows, one thread each, so they do not depend on the thread count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..config import ModelSpec
from ..errors import KitError
from ..features import FeatureMatrix
from .base import FitContext, Fitted, check_reserved, class_positions
from .sklearn_adapter import (
    check_params,
    check_task,
    impute,
    in_row_blocks,
    load_estimator_files,
    native_nan,
    predict_matrix,
    save_estimator,
    training_medians,
    validate_params,
)
from .sklearn_state import estimator_class

ESTIMATORS: dict[str, tuple[str, str]] = {  # kind -> (classifier, regressor)
    "random_forest": ("sklearn.ensemble.RandomForestClassifier", "sklearn.ensemble.RandomForestRegressor"),
    "extra_trees": ("sklearn.ensemble.ExtraTreesClassifier", "sklearn.ensemble.ExtraTreesRegressor"),
}
DEFAULTS: dict[str, Any] = {"n_estimators": 300, "max_leaf_nodes": 15000}
RESERVED = {
    "n_jobs": "the threads per fold come from run.threads_per_task",
    "random_state": "the seed comes from seed in the spec",
}


class ForestAdapter:
    file_name = "model.json"
    uses_gpu = False
    thread_invariant = False
    library = "sklearn.ensemble"
    reads_features = True

    def __init__(self, spec: ModelSpec) -> None:
        check_reserved(spec.params, RESERVED, spec.name)
        self.spec = spec

    def _class_path(self, task: str) -> str:
        classifier, regressor = ESTIMATORS[self.spec.kind]
        return regressor if task == "regression" else classifier

    def make(self, ctx: FitContext) -> Any:
        """The unfitted estimator: the kit's defaults, the spec's params over them, threads and seed from the run."""
        path = self._class_path(ctx.task)
        cls = estimator_class(path, self.spec.name)
        check_params(cls, self.spec.params, self.spec.name, f"kind = {self.spec.kind!r} ({path})", RESERVED)
        params = {**DEFAULTS, **self.spec.params}
        if ctx.task != "regression" and isinstance(params.get("class_weight"), dict):  # labels -> the kit's codes
            params["class_weight"] = class_positions(params["class_weight"], ctx, self.spec.name, "class_weight")
        est = cls(**{**params, "n_jobs": ctx.threads, "random_state": ctx.seed})
        validate_params(est, self.spec.name, f"kind = {self.spec.kind!r} ({path})")
        return est

    def check(self, ctx: FitContext) -> None:
        check_task(self.make(ctx), ctx, self.spec.name)

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        est = self.make(ctx)
        medians = None if native_nan(est) else training_medians(train.X)
        X = train.X if medians is None else impute(train.X, medians)
        with threadpool_limits(limits=ctx.threads):
            est.fit(X, y_train)
        est.set_params(n_jobs=1)  # predictions run in row blocks (in_row_blocks), one thread each
        return Fitted(model={"estimator": est, "medians": medians})

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        est, medians = fitted.model["estimator"], fitted.model["medians"]
        rows = X.X if medians is None else impute(X.X, medians)
        with threadpool_limits(limits=ctx.threads):
            return in_row_blocks(lambda block: predict_matrix(est, block, ctx), rows, ctx.threads)

    def save(self, fitted: Fitted, path: Path) -> None:
        medians = fitted.model["medians"]
        save_estimator(path, fitted.model["estimator"], {} if medians is None else {"__medians": medians}, {})

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        est, _, arrays = load_estimator_files(path, self.spec.name)
        expected = self._class_path(ctx.task)
        if f"sklearn.ensemble.{type(est).__name__}" != expected:
            raise KitError(f"{path}: model {self.spec.name!r} holds a {type(est).__name__}, not {expected}")
        return Fitted(model={"estimator": est, "medians": arrays.get("__medians")})
