"""Fitted scikit-learn estimators to JSON + one ``.npz`` and back, without pickle.

:func:`dump_estimator` walks an estimator's learned attributes (the public ones ending in ``_``, plus the private
state a few families need to predict) and writes each as JSON (scalars, lists, nested estimators) or as an array of
the ``.npz`` (numbers, and the structured node arrays of trees: a structured dtype without object fields is saved and
read back with ``allow_pickle=False``). Trees are scikit-learn's own ``Tree`` state (``tree_.__getstate__()``: the
node array, the value array, ``max_depth``, ``node_count``), rebuilt on load as
``Tree(n_features, n_classes, n_outputs)`` + ``__setstate__``, so a loaded forest predicts exactly as the fitted one.
Histogram gradient boosting keeps its ``TreePredictor`` node arrays, its binner, its baseline and the categories of
its categorical columns; its loss object and categorical encoder are rebuilt from them.

Loading only ever constructs classes under ``sklearn.`` that are estimators, with JSON parameters, then sets
attributes: a crafted file cannot name other code to run, and numpy refuses pickled object arrays.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, KitError

#: private attributes a family needs to predict, beside its public ``*_`` ones (class name prefix -> names)
_PRIVATE_STATE: dict[str, tuple[str, ...]] = {
    "HistGradientBoosting": (
        "_baseline_prediction",
        "_n_features",
        "_bin_mapper",
        "_predictors",
        "_preprocessor",
        "_is_categorical_remapped",
        "_label_encoder",
    ),
}


class NotPersistable(Exception):
    """An attribute has no safe file format; the message says which (the caller records it as not persisted)."""


def estimator_class(path: str, model: str) -> type:
    """The scikit-learn estimator class at ``path`` (``sklearn.<module>.<Class>``), or a ConfigError naming it."""
    if not path.startswith("sklearn."):
        raise ConfigError(f"model {model!r}: {path!r} is not a scikit-learn class path; only sklearn.* is loaded")
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


def _class_path(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _learned(est: Any) -> dict[str, Any]:
    names = [k for k in vars(est) if k.endswith("_") and not k.startswith("_")]
    for prefix, private in _PRIVATE_STATE.items():
        if type(est).__name__.startswith(prefix):
            names += [k for k in private if k in vars(est)]
    return {k: vars(est)[k] for k in names}


class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, key: str, value: np.ndarray) -> dict[str, str]:
        if value.dtype.hasobject:
            raise NotPersistable(f"{key} is an array of Python objects")
        self.arrays[key] = value
        return {"array": key}

    def value(self, key: str, value: Any) -> Any:
        from scipy.interpolate import BSpline
        from sklearn.base import BaseEstimator
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
        from sklearn.tree._tree import Tree

        if value is None or isinstance(value, (bool, int, float, str)):
            return {"value": value}
        if isinstance(value, (np.integer, np.floating, np.bool_)):
            return {"value": value.item()}
        if isinstance(value, np.ndarray):
            return self.array(key, value)
        if isinstance(value, (list, tuple)):
            items = [self.value(f"{key}.{i}", item) for i, item in enumerate(value)]
            return {"tuple" if isinstance(value, tuple) else "list": items}
        if isinstance(value, BaseEstimator):
            return self.estimator(key, value)
        if isinstance(value, Tree):
            state = value.__getstate__()
            return {
                "tree": {
                    "n_features": int(value.n_features),
                    "n_classes": [int(c) for c in value.n_classes],
                    "n_outputs": int(value.n_outputs),
                    "max_depth": int(state["max_depth"]),
                    "node_count": int(state["node_count"]),
                    "nodes": self.array(f"{key}.nodes", state["nodes"]),
                    "values": self.array(f"{key}.values", state["values"]),
                }
            }
        if isinstance(value, TreePredictor):
            return {
                "tree_predictor": {
                    name: self.array(f"{key}.{name}", getattr(value, name))
                    for name in ("nodes", "binned_left_cat_bitsets", "raw_left_cat_bitsets")
                }
            }
        if isinstance(value, BSpline):
            return {
                "bspline": {
                    "t": self.array(f"{key}.t", value.t),
                    "c": self.array(f"{key}.c", value.c),
                    "k": int(value.k),
                    "extrapolate": self.value(f"{key}.extrapolate", value.extrapolate),
                    "axis": int(value.axis),
                }
            }
        raise NotPersistable(f"{key} is a {type(value).__name__}")

    def estimator(self, key: str, est: Any) -> dict[str, Any]:
        prefix = f"{key}." if key else ""
        params = {name: self.value(f"{prefix}params.{name}", v) for name, v in est.get_params(deep=False).items()}
        attrs = {}
        for name, value in _learned(est).items():
            if name == "_preprocessor" and value is not None:  # histogram boosting's categorical encoder
                categories = value.named_transformers_["encoder"].categories_
                nodes = [self.array(f"{prefix}{name}.{i}", c) for i, c in enumerate(categories)]
                attrs[name] = {"hgb_categories": nodes}
            else:
                attrs[name] = self.value(prefix + name, value)
        return {"class": _class_path(est), "params": params, "attributes": attrs}


def dump_estimator(est: Any, key: str = "") -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(json_node, arrays)`` for a fitted estimator, array names starting with ``key``; raises
    :class:`NotPersistable` naming the attribute."""
    writer = _Writer()
    return writer.estimator(key, est), writer.arrays


class _Reader:
    def __init__(self, arrays: Any, model: str) -> None:
        self.arrays = arrays
        self.model = model

    def array(self, node: dict[str, str]) -> np.ndarray:
        return np.asarray(self.arrays[node["array"]])

    def value(self, node: dict[str, Any]) -> Any:
        if "value" in node:
            return node["value"]
        if "array" in node:
            return self.array(node)
        if "list" in node:
            return [self.value(item) for item in node["list"]]
        if "tuple" in node:
            return tuple(self.value(item) for item in node["tuple"])
        if "class" in node:
            return self.estimator(node)
        if "tree" in node:
            from sklearn.tree._tree import Tree

            spec = node["tree"]
            tree = Tree(int(spec["n_features"]), np.asarray(spec["n_classes"], dtype=np.intp), int(spec["n_outputs"]))
            state = {
                "max_depth": int(spec["max_depth"]),
                "node_count": int(spec["node_count"]),
                "nodes": self.array(spec["nodes"]),
                "values": self.array(spec["values"]),
            }
            tree.__setstate__(state)
            return tree
        if "tree_predictor" in node:
            from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

            spec = node["tree_predictor"]
            return TreePredictor(
                self.array(spec["nodes"]),
                self.array(spec["binned_left_cat_bitsets"]),
                self.array(spec["raw_left_cat_bitsets"]),
            )
        if "bspline" in node:
            from scipy.interpolate import BSpline

            spec = node["bspline"]
            return BSpline.construct_fast(
                self.array(spec["t"]),
                self.array(spec["c"]),
                int(spec["k"]),
                self.value(spec["extrapolate"]),
                int(spec["axis"]),
            )
        raise KitError(f"unknown entry {sorted(node)}")

    def estimator(self, node: dict[str, Any]) -> Any:
        cls = estimator_class(str(node["class"]), self.model)
        est = cls(**{str(name): self.value(value) for name, value in node["params"].items()})
        categories = None
        for name, value in node["attributes"].items():
            if "hgb_categories" in value:
                categories = [self.array(c) for c in value["hgb_categories"]]
            else:
                setattr(est, str(name), self.value(value))
        if type(est).__name__.startswith("HistGradientBoosting"):
            est._loss = est._get_loss(sample_weight=None)  # a stateless object rebuilt from the parameters
            if categories is not None:
                _rebuild_hgb_encoder(est, categories)
        return est


def _rebuild_hgb_encoder(est: Any, categories: list[np.ndarray]) -> None:
    """Histogram boosting encodes its categorical columns with a ColumnTransformer (one of its steps is a closure, with
    no safe format). Its only learned state is each column's sorted categories: fitting the same construction on rows
    that hold exactly those values rebuilds it; the categories are compared to make sure."""
    is_categorical, n_features = est.is_categorical_, int(est.n_features_in_)
    if is_categorical is None or int(np.sum(is_categorical)) != len(categories):
        raise KitError("the categorical columns of the histogram boosting model do not match its categories")
    n_rows = max(1, *(len(c) for c in categories))
    rows = np.zeros((n_rows, n_features))
    for column, values in zip(np.flatnonzero(is_categorical), categories, strict=True):
        if len(values):
            rows[:, column] = np.resize(values, n_rows)
    saved = {k: getattr(est, k) for k in ("is_categorical_", "_is_categorical_remapped", "n_features_in_")}
    est._preprocess_X(rows, reset=True)
    rebuilt = est._preprocessor.named_transformers_["encoder"].categories_
    same = len(rebuilt) == len(categories) and all(
        np.array_equal(a, b, equal_nan=True) for a, b in zip(rebuilt, categories, strict=True)
    )
    if not same or not np.array_equal(saved["is_categorical_"], est.is_categorical_):
        raise KitError("the categorical encoder of the histogram boosting model could not be rebuilt")
    for key, value in saved.items():
        setattr(est, key, value)


def load_estimator(node: dict[str, Any], arrays: Any, model: str) -> Any:
    """The estimator :func:`dump_estimator` wrote; ``arrays`` is the opened ``.npz`` (``allow_pickle=False``)."""
    return _Reader(arrays, model).estimator(node)


def save_model_files(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """``meta`` as JSON at ``path`` and ``arrays`` beside it as ``path.with_suffix('.npz')`` (compressed: tree node
    arrays shrink ~7x, at ~15 ms per MB)."""
    with open(path.with_suffix(".npz"), "wb") as fh:
        np.savez_compressed(fh, **arrays)
    path.write_text(json.dumps(meta, separators=(",", ":")))  # one line: a forest's JSON holds every tree


def read_model_files(path: Path, model: str, read: Any) -> Any:
    """``read(meta, arrays)`` on the files :func:`save_model_files` wrote; a damaged or crafted file is a KitError
    naming the file (numpy refuses pickled arrays: ``allow_pickle=False``)."""
    try:
        meta = json.loads(path.read_text())
        if isinstance(meta, dict) and "not_persisted" in meta:
            raise KitError(str(meta["not_persisted"]))
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
            return read(meta, arrays)
    except KitError as exc:
        raise KitError(f"{path}: model {model!r} cannot be loaded: {exc}") from None
    except (OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise KitError(
            f"{path}: model {model!r} cannot be loaded ({type(exc).__name__}: {exc}); the file is damaged or was not "
            "written by kaggle_kit: delete the fold folder and run again to refit it"
        ) from None
