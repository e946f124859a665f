"""Model adapters behind one protocol (:class:`~kaggle_kit.models.base.ModelAdapter`), looked up by ``kind``.

The registry is a plain dict of factories; a library is imported only when a model of its kind is made (to check its
params or fit it), never by ``import kaggle_kit``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..config import ModelSpec
from ..errors import ConfigError, allowed, did_you_mean
from .base import FitContext, Fitted, ModelAdapter


def _xgboost(spec: ModelSpec) -> ModelAdapter:
    from .xgboost_adapter import XGBoostAdapter

    return XGBoostAdapter(spec)


def _lightgbm(spec: ModelSpec) -> ModelAdapter:
    from .lightgbm_adapter import LightGBMAdapter

    return LightGBMAdapter(spec)


def _catboost(spec: ModelSpec) -> ModelAdapter:
    from .catboost_adapter import CatBoostAdapter

    return CatBoostAdapter(spec)


def _sklearn(spec: ModelSpec) -> ModelAdapter:
    from .sklearn_adapter import SklearnAdapter

    return SklearnAdapter(spec)


def _forest(spec: ModelSpec) -> ModelAdapter:
    from .forest_adapter import ForestAdapter

    return ForestAdapter(spec)


def _linear(spec: ModelSpec) -> ModelAdapter:
    from .linear_adapter import LinearAdapter

    return LinearAdapter(spec)


def _dummy(spec: ModelSpec) -> ModelAdapter:
    from .sklearn_adapter import DummyAdapter

    return DummyAdapter(spec)


def _net(spec: ModelSpec) -> ModelAdapter:
    # the net kinds share one adapter; torch is imported only when a net is fitted or loaded
    from .nn.adapter import NetAdapter

    return NetAdapter(spec)


ADAPTERS: dict[str, Callable[[ModelSpec], ModelAdapter]] = {
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "lightgbm_xt": _lightgbm,  # LightGBM with extra_trees and AutoGluon's GBMXT defaults
    "catboost": _catboost,  # optional extra: pip install 'kaggle-kit[catboost]'
    "sklearn": _sklearn,
    "dummy": _dummy,
    "random_forest": _forest,  # scikit-learn RandomForest{Classifier,Regressor}, saved as tree arrays
    "extra_trees": _forest,  # scikit-learn ExtraTrees{Classifier,Regressor}
    "linear": _linear,  # LogisticRegression / Ridge on impute + one-hot + standardize / spline / quantile
    "mlp": _net,  # Dense net for tables (kaggle_kit.models.nn)
    "realmlp": _net,  # RealMLP for tables: robust scaling, numeric embeddings, the paper's recipe
    "tabm": _net,  # TabM for tables: k weight-sharing MLPs trained at once (BatchEnsemble)
    "cnn": _net,  # CNN for images given as pixel columns
    "hybrid": _net,  # image + table in one net: a CNN branch for the pixels, a dense branch for the other columns
    "rnn": _net,  # GRU / LSTM for sequences given as columns
    "cnn1d": _net,  # 1D-CNN for sequences given as columns
}


def register_adapter(kind: str, factory: Callable[[ModelSpec], ModelAdapter]) -> None:
    """Add a model family; a kind that is already registered is an error naming both factories."""
    if kind in ADAPTERS:
        old = ADAPTERS[kind]
        raise ConfigError(
            f"model kind {kind!r} is already registered by {old.__module__}.{old.__qualname__}; "
            f"cannot register {factory.__module__}.{factory.__qualname__} under the same name"
        )
    ADAPTERS[kind] = factory


def check_kinds(models: Sequence[ModelSpec]) -> None:
    """Every model's kind is a registered adapter, checked where a run resolves its spec (before any data is read):
    the spec itself stays data, and :func:`register_adapter` may add kinds after it was loaded."""
    for i, model in enumerate(models):
        if model.kind not in ADAPTERS:
            raise ConfigError(
                f"models[{i}].kind (model {model.name!r}): kind must be one of {allowed(ADAPTERS)}; got {model.kind!r}."
                f"{did_you_mean(model.kind, ADAPTERS)}"
            )


def make_adapter(spec: ModelSpec, task: str | None = None) -> ModelAdapter:
    """The adapter of ``spec``'s kind; for a distribution ``task``, wrapped to predict a distribution
    (:class:`~kaggle_kit.models.distribution.DistributionAdapter`), whatever the family; for a multilabel /
    multiregression ``task``, one that fits a model per target column around it (:mod:`.multi_target`) unless the
    family fits every target at once (``multi_target = True``: the nets, one body with a head per target); otherwise
    the plain adapter."""
    if task == "distribution":
        from .distribution import DistributionAdapter

        return DistributionAdapter(make_adapter(spec), spec)
    try:
        factory = ADAPTERS[spec.kind]
    except KeyError:
        raise ConfigError(
            f"model {spec.name!r}: unknown kind {spec.kind!r}; allowed: {allowed(ADAPTERS)}."
            f"{did_you_mean(spec.kind, ADAPTERS)}"
        ) from None
    adapter = factory(spec)
    if task in ("multilabel", "multiregression") and not getattr(adapter, "multi_target", False):
        from .multi_target import PerTargetAdapter

        return PerTargetAdapter(adapter, spec.name)
    return adapter


def thread_invariant(spec: ModelSpec) -> bool:
    """Whether ``spec``'s family predicts the same at any thread count (its adapter's ``thread_invariant``; an
    adapter registered without that attribute is taken not to)."""
    return bool(getattr(make_adapter(spec), "thread_invariant", False))


__all__ = [
    "ADAPTERS",
    "FitContext",
    "Fitted",
    "ModelAdapter",
    "check_kinds",
    "make_adapter",
    "register_adapter",
    "thread_invariant",
]
