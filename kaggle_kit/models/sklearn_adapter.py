"""Any scikit-learn estimator under the kit's K-fold, plus the dummy baseline every leaderboard shows.

Missing values are imputed with the fold's training medians (most scikit-learn estimators reject NaN). Fitted
estimators are persisted without pickle: the constructor parameters go to JSON and the learned attributes
(``coef_``, ``classes_``, ...) to an ``.npz`` read with ``allow_pickle=False``. Estimators whose learned state is not
plain arrays and scalars (e.g. forests) are recorded as not persisted, with the reason, and ``load`` says so; their
OOF and test predictions are stored all the same. BLAS / OpenMP threads are capped at the task's thread count.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..config import ModelSpec
from ..errors import ConfigError, KitError
from ..features import FeatureMatrix
from .base import FitContext, Fitted


def _estimator_class(path: str, model: str) -> type:
    module_name, _, class_name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ConfigError(f"model {model!r}: estimator module {module_name!r} does not exist in scikit-learn") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ConfigError(f"model {model!r}: {module_name!r} has no estimator class {class_name!r}")
    from sklearn.base import BaseEstimator

    if not issubclass(cls, BaseEstimator):  # e.g. a Path or Thread re-exported by a scikit-learn module
        raise ConfigError(
            f"model {model!r}: {path!r} is not a scikit-learn estimator; name an estimator class such as "
            "'sklearn.linear_model.LogisticRegression'"
        )
    return cls


def _is_classifier(est: Any) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(est))


def _classifier_proba(est: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """predict_proba spread onto all C columns: a fold may lack a rare class, so ``classes_`` can be a subset."""
    out = np.zeros((len(X), n_classes), dtype=np.float32)
    if hasattr(est, "predict_proba"):
        out[:, np.asarray(est.classes_, dtype=np.int64)] = est.predict_proba(X)
    else:  # e.g. RidgeClassifier, LinearSVC: a hard vote
        out[np.arange(len(X)), np.asarray(est.predict(X), dtype=np.int64)] = 1.0
    return out


class SklearnAdapter:
    file_name = "model.json"
    uses_gpu = False
    reads_features = True

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    def _make(self, ctx: FitContext) -> Any:
        assert self.spec.estimator is not None  # guaranteed by ModelSpec validation
        cls = _estimator_class(self.spec.estimator, self.spec.name)
        try:
            est = cls(**self.spec.params)
        except TypeError as exc:
            raise ConfigError(f"model {self.spec.name!r}: bad params for {self.spec.estimator}: {exc}") from None
        return est.set_params(random_state=ctx.seed) if "random_state" in est.get_params() else est

    def check(self, ctx: FitContext) -> None:
        pass

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        est = self._make(ctx)
        if ctx.task != "regression" and not _is_classifier(est):
            raise ConfigError(
                f"model {self.spec.name!r}: {type(est).__name__} is not a classifier; the task is {ctx.task}"
            )
        medians = np.nanmedian(np.where(np.isnan(train.X).all(axis=0), 0.0, train.X), axis=0) if train.X.size else []
        medians = np.nan_to_num(np.asarray(medians, dtype=np.float32))
        with threadpool_limits(limits=ctx.threads):
            est.fit(_impute(train.X, medians), y_train)
        return Fitted(model={"estimator": est, "medians": medians})

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        est, medians = fitted.model["estimator"], fitted.model["medians"]
        Xi = _impute(X.X, medians)
        with threadpool_limits(limits=ctx.threads):
            if ctx.task == "regression":
                return np.asarray(est.predict(Xi), dtype=np.float32).reshape(-1, 1)
            return _classifier_proba(est, Xi, ctx.n_classes)

    def save(self, fitted: Fitted, path: Path) -> None:
        est, medians = fitted.model["estimator"], fitted.model["medians"]
        arrays: dict[str, np.ndarray] = {"__medians": medians}
        scalars: dict[str, Any] = {}
        meta: dict[str, Any] = {
            "class": f"{type(est).__module__}.{type(est).__qualname__}",
            "params": {k: v for k, v in est.get_params(deep=False).items() if _json_safe(v)},
        }
        for key, value in vars(est).items():
            if not key.endswith("_") or key.startswith("_"):
                continue
            if isinstance(value, np.ndarray) and value.dtype != object:
                arrays[key] = value
            elif isinstance(value, (bool, int, float, str)) or value is None:
                scalars[key] = value
            elif isinstance(value, (np.integer, np.floating)):
                scalars[key] = value.item()
            else:
                meta["not_persisted"] = (
                    f"{type(est).__name__}.{key} is a {type(value).__name__}, which has no safe file format (pickle "
                    "is not used); the OOF and test predictions are kept, the fitted estimator is not"
                )
                path.write_text(json.dumps(meta, indent=1))
                return
        path.write_text(json.dumps({**meta, "attributes": scalars}, indent=1))
        with open(path.with_suffix(".npz"), "wb") as fh:
            np.savez(fh, **arrays)

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        meta = json.loads(path.read_text())
        if "not_persisted" in meta:
            raise KitError(f"{path}: model {self.spec.name!r} cannot be loaded: {meta['not_persisted']}")
        if not meta["class"].startswith("sklearn."):
            raise KitError(f"{path}: refusing to load {meta['class']!r}; only scikit-learn estimators are loaded")
        est = _estimator_class(meta["class"], self.spec.name)(**meta["params"])
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
            medians = arrays["__medians"]
            for key in arrays.files:
                if key != "__medians":
                    setattr(est, key, arrays[key])
        for key, value in meta["attributes"].items():
            setattr(est, key, value)
        return Fitted(model={"estimator": est, "medians": medians})


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


def _impute(X: np.ndarray, medians: np.ndarray) -> np.ndarray:
    if not np.isnan(X).any():
        return X
    return np.where(np.isnan(X), medians, X).astype(np.float32)


class DummyAdapter:
    """The baseline: class frequencies of the fold's training rows (so log loss is meaningful and the arg-max is the
    majority class), or their mean for regression."""

    file_name = "model.json"
    uses_gpu = False
    reads_features = False

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    def check(self, ctx: FitContext) -> None:
        pass

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        if ctx.task == "regression":
            value = np.array([float(np.mean(y_train))], dtype=np.float32)
        else:
            value = (np.bincount(y_train.astype(np.int64), minlength=ctx.n_classes) / len(y_train)).astype(np.float32)
        return Fitted(model=value)

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(fitted.model, (len(X.X), len(fitted.model))), dtype=np.float32)

    def save(self, fitted: Fitted, path: Path) -> None:
        path.write_text(json.dumps({"prediction": fitted.model.tolist()}))

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        return Fitted(model=np.asarray(json.loads(path.read_text())["prediction"], dtype=np.float32))
