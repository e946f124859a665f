"""XGBoost adapter: ``hist`` trees on CPU or CUDA, native categorical splits, early stopping on the fold's
validation rows, models saved as UBJSON truncated at the best iteration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..config import ModelSpec
from ..features import FeatureMatrix
from .base import FitContext, Fitted, as_probabilities, check_reserved, stopping_metric

_RESERVED = {
    "device": "set device in the spec (auto | cpu | cuda)",
    "nthread": "set run.threads_per_task",
    "n_jobs": "set run.threads_per_task",
    "seed": "set seed in the spec",
    "random_state": "set seed in the spec",
    "num_class": "it follows from the target",
    "n_estimators": "set num_boost_round on the model",
    "num_boost_round": "set num_boost_round on the model, not in params",
    "early_stopping_rounds": "set early_stopping_rounds on the model, not in params",
}
_OBJECTIVE = {"binary": "binary:logistic", "multiclass": "multi:softprob", "regression": "reg:squarederror"}
_EVAL = {
    ("auc", "binary"): "auc",
    ("logloss", "binary"): "logloss",
    ("logloss", "multiclass"): "mlogloss",
    ("rmse", "regression"): "rmse",
    ("mae", "regression"): "mae",
}


class XGBoostAdapter:
    file_name = "model.ubj"
    uses_gpu = True
    reads_features = True

    def __init__(self, spec: ModelSpec) -> None:
        check_reserved(spec.params, _RESERVED, spec.name)
        self.spec = spec
        self._built: tuple[FeatureMatrix, Any] | None = None

    def params(self, ctx: FitContext) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": _OBJECTIVE[ctx.task],
            "eval_metric": _EVAL[(stopping_metric(ctx.metric, ctx.task), ctx.task)],
            "learning_rate": 0.05,
            "max_depth": 6,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "max_cat_to_onehot": 4,
            **self.spec.params,
            "tree_method": "hist",
            "device": ctx.device,
            "nthread": ctx.threads,
            "seed": ctx.seed,
            "verbosity": 0,
        }
        if ctx.task == "multiclass":
            params["num_class"] = ctx.n_classes
        return params

    @staticmethod
    def _matrix(X: FeatureMatrix, threads: int, y: np.ndarray | None = None) -> Any:
        import xgboost as xgb

        cats = set(X.categorical)
        types = ["c" if i in cats else "q" for i in range(len(X.names))]
        return xgb.DMatrix(  # nthread: without it the DMatrix is built on every core (oversubscribing the pool)
            X.X,
            label=y,
            feature_names=list(X.model_names),  # names the library accepts (no [, ], <)
            feature_types=types,
            enable_categorical=True,
            missing=np.nan,
            nthread=threads,
        )

    def check(self, ctx: FitContext) -> None:
        pass

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        import xgboost as xgb

        dtrain, dvalid = self._matrix(train, ctx.threads, y_train), self._matrix(valid, ctx.threads, y_valid)
        self._built = (valid, dvalid)  # predict() on the same validation rows reuses their DMatrix
        evals_result: dict[str, dict[str, list[float]]] = {}
        booster = xgb.train(
            self.params(ctx),
            dtrain,
            num_boost_round=self.spec.num_boost_round,
            evals=[(dvalid, "valid")],
            early_stopping_rounds=self.spec.early_stopping_rounds,
            evals_result=evals_result,
            verbose_eval=False,
        )
        if self.spec.early_stopping_rounds is not None:
            best = int(booster.best_iteration) + 1  # XGBoost counts from 0
            booster = booster[:best]  # keep exactly the trees that scored best
        else:
            best = booster.num_boosted_rounds()
        return Fitted(model=booster, best_iteration=best, history=evals_result.get("valid", {}))

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        built = self._built[1] if self._built is not None and self._built[0] is X else None
        raw = fitted.model.predict(built if built is not None else self._matrix(X, ctx.threads))
        if ctx.task == "regression":
            return np.asarray(raw, dtype=np.float32).reshape(-1, 1)
        return as_probabilities(raw, ctx.n_classes)

    def save(self, fitted: Fitted, path: Path) -> None:
        fitted.model.save_model(str(path))

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        import xgboost as xgb

        booster = xgb.Booster(model_file=str(path))
        booster.set_param({"device": ctx.device, "nthread": ctx.threads})
        return Fitted(model=booster, best_iteration=booster.num_boosted_rounds())
