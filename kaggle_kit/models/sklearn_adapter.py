"""Any scikit-learn estimator under the kit's K-fold, plus the dummy baseline every leaderboard shows.

Missing values are imputed with the fold's training medians (most scikit-learn estimators reject NaN), except for
estimators that declare they take NaN (forests, histogram gradient boosting: they learn where missing values go). Fitted
estimators are persisted without pickle (:mod:`.sklearn_state`): constructor parameters and learned scalars go to
JSON, learned arrays (``coef_``, ``classes_``, tree node arrays, ...) to an ``.npz`` read with ``allow_pickle=False``.
Estimators whose learned state has no such form, or whose copy rebuilt from it does not predict a few training rows
identically (checked right after the fit), are recorded as not persisted, with the reason, and ``load`` says so;
their OOF and test predictions are stored all the same. BLAS / OpenMP threads are capped at the task's thread count.

``check`` rejects, before any fold is fitted, what cannot work: a regressor for a classification task (or the
reverse), a classifier without ``predict_proba`` when the metric scores probabilities, unknown parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..config import ModelSpec
from ..errors import ConfigError, did_you_mean
from ..features import FeatureMatrix
from .base import FitContext, Fitted
from .sklearn_state import (
    NotPersistable,
    dump_estimator,
    estimator_class,
    load_estimator,
    read_model_files,
    save_model_files,
)

#: the layout of the JSON written by :func:`save_estimator` (earlier files have no ``format`` key)
FORMAT = "kaggle_kit.sklearn/2"


def _is_classifier(est: Any) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(est))


def _is_regressor(est: Any) -> bool:
    from sklearn.base import is_regressor

    return bool(is_regressor(est))


def check_params(cls: type, params: dict[str, Any], model: str, what: str, set_by_kit: Iterable[str] = ()) -> None:
    """Unknown constructor parameters of ``cls`` -> a ConfigError naming the closest of ``get_params()`` (less the
    ones the kit sets itself)."""
    known = sorted(set(cls().get_params(deep=False)) - set(set_by_kit))
    for key in params:
        if key not in known:
            raise ConfigError(
                f"model {model!r}: bad params for {what}: unknown param {key!r}.{did_you_mean(key, known)} "
                f"Its parameters are: {', '.join(known)}"
            )


def validate_params(est: Any, model: str, what: str) -> None:
    """scikit-learn's own check of parameter values (types, ranges, choices), run before any fit."""
    from sklearn.utils._param_validation import InvalidParameterError

    validate = getattr(est, "_validate_params", None)
    if validate is None:
        return
    try:
        validate()
    except InvalidParameterError as exc:
        raise ConfigError(f"model {model!r}: bad params for {what}: {exc}") from None


def check_task(est: Any, ctx: FitContext, model: str) -> None:
    """A classifier for classification, a regressor for regression, and probabilities when the metric needs them."""
    name = type(est).__name__
    if ctx.task == "regression":
        if not _is_regressor(est):
            raise ConfigError(
                f"model {model!r}: {name} is not a regressor and the task is regression; use a regressor such as "
                "'sklearn.linear_model.Ridge' or 'sklearn.ensemble.RandomForestRegressor'"
            )
        return
    if not _is_classifier(est):
        raise ConfigError(
            f"model {model!r}: {name} is not a classifier and the task is {ctx.task}; use a classifier such as "
            "'sklearn.linear_model.LogisticRegression' or 'sklearn.ensemble.RandomForestClassifier'"
        )
    if ctx.metric.needs == "proba" and not hasattr(est, "predict_proba"):
        fix = (
            "set params.probability = true"
            if "probability" in est.get_params(deep=False)
            else "use a classifier with predict_proba (e.g. 'sklearn.linear_model.LogisticRegression')"
        )
        raise ConfigError(
            f"model {model!r}: {name} has no predict_proba with these params, and the metric {ctx.metric.name!r} "
            f"scores probabilities; {fix}"
        )


def classifier_proba(est: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """predict_proba spread onto all C columns: a fold may lack a rare class, so ``classes_`` can be a subset."""
    out = np.zeros((len(X), n_classes), dtype=np.float32)
    if hasattr(est, "predict_proba"):
        out[:, np.asarray(est.classes_, dtype=np.int64)] = est.predict_proba(X)
    else:  # e.g. RidgeClassifier, LinearSVC: a hard vote
        out[np.arange(len(X)), np.asarray(est.predict(X), dtype=np.int64)] = 1.0
    return out


def predict_matrix(est: Any, X: np.ndarray, ctx: FitContext) -> np.ndarray:
    """The kit's prediction matrix: (n, C) probabilities or (n, 1) values, float32."""
    if ctx.task == "regression":
        return np.asarray(est.predict(X), dtype=np.float32).reshape(-1, 1)
    return classifier_proba(est, X, ctx.n_classes)


def in_row_blocks(fn: Callable[[np.ndarray], np.ndarray], X: np.ndarray, threads: int) -> np.ndarray:
    """``fn`` over ``threads`` blocks of rows in parallel (threads; the tree code releases the GIL).

    Each row's result is computed the same way whatever the thread count, unlike a forest's own ``n_jobs``
    prediction, which adds the trees' outputs in the order the threads finish (the last bits then vary).
    """
    if threads <= 1 or len(X) < 2 * threads:
        return fn(X)
    blocks = np.array_split(np.arange(len(X)), threads)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        parts = list(pool.map(lambda rows: fn(X[rows]), blocks))
    return np.concatenate(parts, axis=0)


def training_medians(X: np.ndarray) -> np.ndarray:
    """Column medians ignoring NaN; 0 for a column that is all missing."""
    if not X.size:
        return np.zeros(X.shape[1], dtype=np.float32)
    medians = np.nanmedian(np.where(np.isnan(X).all(axis=0), 0.0, X), axis=0)
    return np.nan_to_num(np.asarray(medians, dtype=np.float32))


def native_nan(est: Any) -> bool:
    """Whether the estimator takes NaN itself (forests and histogram boosting learn where missing values go)."""
    try:
        return bool(est.__sklearn_tags__().input_tags.allow_nan)
    except AttributeError:  # an estimator written before scikit-learn's tags
        return False


def impute(X: np.ndarray, medians: np.ndarray) -> np.ndarray:
    if not np.isnan(X).any():
        return X
    return np.where(np.isnan(X), medians, X).astype(np.float32)


#: training rows a just-fitted estimator predicts twice, itself and rebuilt from its saved form
PROBE_ROWS = 64


def round_trip_problem(est: Any, probe: np.ndarray, ctx: FitContext) -> str | None:
    """Why the saved form of ``est`` would not predict as ``est`` does, or None when it would.

    An estimator named by class path may keep state its saved form misses (``SVC`` keeps its support vectors in
    private attributes): rebuilt from that form, it must predict ``probe`` identically, else it is recorded as not
    persisted rather than saved to fail, or to predict differently, later.
    """
    try:
        node, arrays = dump_estimator(est)
    except NotPersistable as exc:
        return f"{type(est).__name__}: {exc}{_NOT_KEPT}"
    try:
        rebuilt = load_estimator(node, arrays, "probe")
        same = np.array_equal(predict_matrix(rebuilt, probe, ctx), predict_matrix(est, probe, ctx))
    except Exception as exc:  # any failure of the rebuilt copy means "not persisted"
        return f"{type(est).__name__}: rebuilt from its saved form, it fails ({type(exc).__name__}: {exc}){_NOT_KEPT}"
    return None if same else f"{type(est).__name__}: rebuilt from its saved form, it predicts differently{_NOT_KEPT}"


_NOT_KEPT = (
    ", so it has no safe file format (pickle is not used); the OOF and test predictions are kept, the fitted "
    "estimator is not"
)


def save_estimator(path: Path, est: Any, extra_arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
    """The estimator (:func:`~.sklearn_state.dump_estimator`) plus the adapter's own arrays (``__name`` keys) and
    JSON; an estimator without a safe format is recorded as not persisted, with the reason."""
    try:
        node, arrays = dump_estimator(est)
    except NotPersistable as exc:
        path.write_text(json.dumps({"format": FORMAT, "not_persisted": f"{type(est).__name__}: {exc}{_NOT_KEPT}"}))
        return
    save_model_files(path, {"format": FORMAT, "estimator": node, **extra}, {**arrays, **extra_arrays})


def load_estimator_files(path: Path, model: str) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
    """``(estimator, extra JSON, extra arrays)`` as :func:`save_estimator` wrote them."""

    def read(meta: dict[str, Any], arrays: Any) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
        if meta.get("format") != FORMAT:
            return _legacy(meta, arrays, model), {}, {"__medians": np.asarray(arrays["__medians"])}
        est = load_estimator(meta["estimator"], arrays, model)
        extra_arrays = {k: np.asarray(arrays[k]) for k in arrays.files if k.startswith("__")}
        return est, {k: v for k, v in meta.items() if k not in ("format", "estimator")}, extra_arrays

    return read_model_files(path, model, read)  # type: ignore[no-any-return]


def _legacy(meta: dict[str, Any], arrays: Any, model: str) -> Any:
    """Files written before ``format`` existed: params and scalars in JSON, public arrays in the npz."""
    est = estimator_class(str(meta["class"]), model)(**meta["params"])
    for key in arrays.files:
        if not key.startswith("__"):
            setattr(est, key, np.asarray(arrays[key]))
    for key, value in meta["attributes"].items():
        setattr(est, key, value)
    return est


class SklearnAdapter:
    file_name = "model.json"
    uses_gpu = False
    thread_invariant = False
    reads_features = True

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        assert spec.estimator is not None  # guaranteed by ModelSpec validation
        self.estimator: str = spec.estimator  # its class path
        self.library = spec.estimator.rpartition(".")[0]  # the estimator's module

    def _make(self, ctx: FitContext) -> Any:
        cls = estimator_class(self.estimator, self.spec.name)
        check_params(cls, self.spec.params, self.spec.name, self.estimator)
        try:
            est = cls(**self.spec.params)
        except TypeError as exc:
            raise ConfigError(f"model {self.spec.name!r}: bad params for {self.estimator}: {exc}") from None
        validate_params(est, self.spec.name, self.estimator)
        return est.set_params(random_state=ctx.seed) if "random_state" in est.get_params() else est

    def check(self, ctx: FitContext) -> None:
        check_task(self._make(ctx), ctx, self.spec.name)

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        est = self._make(ctx)
        check_task(est, ctx, self.spec.name)
        medians = None if native_nan(est) else training_medians(train.X)
        X = train.X if medians is None else impute(train.X, medians)
        with threadpool_limits(limits=ctx.threads):
            est.fit(X, y_train)
            problem = round_trip_problem(est, X[:PROBE_ROWS], ctx)
        return Fitted(model={"estimator": est, "medians": medians, "not_persisted": problem})

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        est, medians = fitted.model["estimator"], fitted.model["medians"]
        with threadpool_limits(limits=ctx.threads):
            return predict_matrix(est, X.X if medians is None else impute(X.X, medians), ctx)

    def save(self, fitted: Fitted, path: Path) -> None:
        medians, problem = fitted.model["medians"], fitted.model.get("not_persisted")
        if problem:
            path.write_text(json.dumps({"format": FORMAT, "not_persisted": problem}, indent=1))
            return
        save_estimator(path, fitted.model["estimator"], {} if medians is None else {"__medians": medians}, {})

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        est, _, arrays = load_estimator_files(path, self.spec.name)
        return Fitted(model={"estimator": est, "medians": arrays.get("__medians")})


class DummyAdapter:
    """The baseline: class frequencies of the fold's training rows (so log loss is meaningful and the arg-max is the
    majority class), or their mean for regression."""

    file_name = "model.json"
    uses_gpu = False
    thread_invariant = True  # no threads at all
    reads_features = False
    library = None

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
