"""LightGBM adapter: histogram trees on CPU or GPU (the pip wheel's OpenCL ``device_type="gpu"``), native
categorical splits, early stopping on the fold's validation rows, models saved as LightGBM text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..config import ModelSpec
from ..features import FeatureMatrix
from .base import FitContext, Fitted, as_probabilities, check_reserved, stopping_metric

_RESERVED = {
    key: where
    for keys, where in [
        (("device", "device_type"), "set device in the spec (auto | cpu | cuda)"),
        (("num_threads", "n_jobs", "nthread", "num_thread", "nthreads"), "set run.threads_per_task"),
        (("seed", "random_state", "random_seed"), "set seed in the spec"),
        (("num_class",), "it follows from the target"),
        (
            (
                "num_iterations",
                "num_iteration",
                "n_iter",
                "num_tree",
                "num_trees",
                "num_round",
                "num_rounds",
                "n_estimators",
                "num_boost_round",
            ),
            "set num_boost_round on the model, not in params",
        ),
        (("early_stopping_round", "early_stopping_rounds", "early_stopping"), "set early_stopping_rounds on the model"),
    ]
    for key in keys
}
_OBJECTIVE = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
_EVAL = {
    ("auc", "binary"): "auc",
    ("logloss", "binary"): "binary_logloss",
    ("logloss", "multiclass"): "multi_logloss",
    ("rmse", "regression"): "rmse",
    ("mae", "regression"): "l1",
}


class LightGBMAdapter:
    file_name = "model.txt"
    uses_gpu = True
    reads_features = True

    def __init__(self, spec: ModelSpec) -> None:
        check_reserved(spec.params, _RESERVED, spec.name)
        self.spec = spec

    def params(self, ctx: FitContext) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": _OBJECTIVE[ctx.task],
            "metric": _EVAL[(stopping_metric(ctx.metric, ctx.task), ctx.task)],
            "learning_rate": 0.05,
            "num_leaves": 31,
            "min_data_in_leaf": 20,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            **self.spec.params,
            # "gpu" is the OpenCL build every pip wheel ships; a CUDA build would be "cuda".
            "device_type": "gpu" if ctx.device == "cuda" else "cpu",
            "num_threads": ctx.threads,
            "seed": ctx.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
        }
        if ctx.task == "multiclass":
            params["num_class"] = ctx.n_classes
        return params

    def check(self, ctx: FitContext) -> None:
        pass

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        import lightgbm as lgb

        cats = list(train.categorical)
        dtrain = lgb.Dataset(
            train.X, label=y_train, feature_name=list(train.model_names), categorical_feature=cats, free_raw_data=True
        )
        dvalid = lgb.Dataset(valid.X, label=y_valid, reference=dtrain, categorical_feature=cats)
        history: dict[str, dict[str, list[float]]] = {}
        callbacks = [lgb.record_evaluation(history)]
        if self.spec.early_stopping_rounds is not None:
            callbacks.append(lgb.early_stopping(self.spec.early_stopping_rounds, verbose=False))
        booster = lgb.train(
            self.params(ctx),
            dtrain,
            num_boost_round=self.spec.num_boost_round,
            valid_sets=[dvalid],
            valid_names=["valid"],
            callbacks=callbacks,
        )
        best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
        return Fitted(model=booster, best_iteration=best, history=history.get("valid", {}))

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        raw = fitted.model.predict(X.X, num_iteration=fitted.best_iteration, num_threads=ctx.threads)
        if ctx.task == "regression":
            return np.asarray(raw, dtype=np.float32).reshape(-1, 1)
        return as_probabilities(raw, ctx.n_classes)

    def save(self, fitted: Fitted, path: Path) -> None:
        fitted.model.save_model(str(path), num_iteration=fitted.best_iteration)

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(path))
        return Fitted(model=booster, best_iteration=booster.current_iteration())
