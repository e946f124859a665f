"""Search spaces per model family, as data: one :class:`Space` per family in the plain dict :data:`SPACES`.

The ranges follow the published TabArena spaces (``tabrepo/models/*/generate_alt.py``, the "tuned" configs of
the TabArena benchmark) and AutoGluon's ``NN_TORCH`` space, written with each library's own parameter names:
LightGBM, XGBoost and CatBoost parameters as the libraries spell them, scikit-learn's constructor arguments for the
forests, and the kit's ``mlp`` params for the net. Learning rates, leaf counts, minimum leaf sizes and other
scale-free quantities are log-uniform (a value ten times smaller is as likely as one ten times larger); fractions
are uniform.

Config 0 of every family is its default (``Space.default``: the adapter's own defaults unless given), then config
``i`` is drawn from ``(seed, family, i)`` alone (:mod:`kaggle_kit.runtime.search.sampler`). Adding a family is one
entry::

    SPACES["my_family"] = Space(family="my_family", kind="my_kind", params={"alpha": Float(1e-3, 10.0, log=True)})

``kind`` is the model kind the configs run as (a key of :data:`kaggle_kit.models.ADAPTERS`); a family whose kind is
not registered when a search runs is a :class:`~kaggle_kit.errors.ConfigError`, so spaces can be declared for kinds
that other modules (or optional extras) provide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

#: what a search shortens when the remaining time calls for it: ModelSpec.num_boost_round, params.epochs, or nothing
BudgetKey = Literal["rounds", "epochs"]


class Dim(Protocol):
    """One searched parameter: sampled by the random sampler, handed to Optuna as distributions for TPE."""

    def sample(self, rng: np.random.Generator) -> Any: ...

    def contains(self, value: Any) -> bool: ...

    def distributions(self, name: str) -> dict[str, Any]:
        """Optuna distributions keyed by trial parameter name (one dimension may be several trial parameters)."""
        ...

    def decode(self, name: str, values: Mapping[str, Any]) -> Any:
        """The parameter's value from a trial's parameters (the keys :meth:`distributions` gave)."""
        ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Float:
    """A real number in ``[low, high]``; ``log``: uniform on the log scale (``low`` must be > 0)."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high or (self.log and self.low <= 0):
            raise ValueError(f"Float({self.low}, {self.high}, log={self.log}) is not a valid range")

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return float(min(max(value, self.low), self.high))

    def contains(self, value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high

    def distributions(self, name: str) -> dict[str, Any]:
        from optuna.distributions import FloatDistribution

        return {name: FloatDistribution(self.low, self.high, log=self.log)}

    def decode(self, name: str, values: Mapping[str, Any]) -> float:
        return float(values[name])

    def describe(self) -> str:
        return f"{'log-uniform' if self.log else 'uniform'}({self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class Int:
    """A whole number in ``[low, high]``; ``log``: each value's chance falls like 1/value (``low`` must be >= 1)."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high or (self.log and self.low < 1):
            raise ValueError(f"Int({self.low}, {self.high}, log={self.log}) is not a valid range")

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:  # log-uniform on [low, high + 1), floored: the discrete version of a log-uniform real
            value = math.floor(math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1))))
        else:
            value = int(rng.integers(self.low, self.high + 1))
        return int(min(max(value, self.low), self.high))

    def contains(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high

    def distributions(self, name: str) -> dict[str, Any]:
        from optuna.distributions import IntDistribution

        return {name: IntDistribution(self.low, self.high, log=self.log)}

    def decode(self, name: str, values: Mapping[str, Any]) -> int:
        return int(values[name])

    def describe(self) -> str:
        return f"{'log-uniform' if self.log else 'uniform'} integer({self.low}, {self.high})"


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (strings, numbers or booleans), each equally likely."""

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if len(self.values) < 2:
            raise ValueError("Choice needs two or more values; put a single value in Space.fixed")

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def contains(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)

    def distributions(self, name: str) -> dict[str, Any]:
        from optuna.distributions import CategoricalDistribution

        return {name: CategoricalDistribution(self.values)}

    def decode(self, name: str, values: Mapping[str, Any]) -> Any:
        return values[name]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Layers:
    """Hidden layer widths ``[width] * depth``: a net's depth and (log-uniform) width searched together."""

    depth: Int
    width: Int

    def sample(self, rng: np.random.Generator) -> list[int]:
        depth = self.depth.sample(rng)
        return [self.width.sample(rng)] * depth

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, list)
            and self.depth.contains(len(value))
            and len(set(value)) == 1
            and self.width.contains(value[0])
        )

    def distributions(self, name: str) -> dict[str, Any]:
        return {**self.depth.distributions(f"{name}.depth"), **self.width.distributions(f"{name}.width")}

    def decode(self, name: str, values: Mapping[str, Any]) -> list[int]:
        return [int(values[f"{name}.width"])] * int(values[f"{name}.depth"])

    def describe(self) -> str:
        return f"[width] * depth, depth {self.depth.describe()}, width {self.width.describe()}"


@dataclass(frozen=True)
class Space:
    """A family's searched parameters (``params``), the parameters every config of it sets (``fixed``), its default
    config (``default``: config 0, the adapter's defaults when empty), the ModelSpec fields its configs start from
    (``model``, e.g. ``num_boost_round``), and what a late start may shorten (``budget``)."""

    family: str
    kind: str
    params: Mapping[str, Dim]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    default: Mapping[str, Any] = field(default_factory=dict)
    model: Mapping[str, Any] = field(default_factory=dict)
    budget: BudgetKey | None = None
    source: str = ""

    def describe(self) -> str:
        lines = [f"{self.family} (kind {self.kind!r}){': ' + self.source if self.source else ''}"]
        lines += [f"  {name:<28} {dim.describe()}" for name, dim in self.params.items()]
        lines += [f"  {name:<28} = {value!r}" for name, value in self.fixed.items()]
        return "\n".join(lines)


_TABARENA = "TabArena (tabrepo/models/{}/generate_alt.py)"

_LIGHTGBM_PARAMS: dict[str, Dim] = {
    "learning_rate": Float(5e-3, 0.1, log=True),
    "feature_fraction": Float(0.4, 1.0),
    "bagging_fraction": Float(0.7, 1.0),
    "num_leaves": Int(2, 200, log=True),
    "min_data_in_leaf": Int(1, 64, log=True),
    "extra_trees": Choice((False, True)),
    # categorical splits
    "min_data_per_group": Int(2, 100, log=True),
    "cat_l2": Float(5e-3, 2.0, log=True),
    "cat_smooth": Float(1e-3, 100.0, log=True),
    "max_cat_to_onehot": Int(8, 100, log=True),
    # uniform, as TabArena has them: small values matter little, so the log scale would waste draws on them
    "lambda_l1": Float(1e-4, 1.0),
    "lambda_l2": Float(1e-4, 2.0),
}

_FOREST_PARAMS: dict[str, Dim] = {
    "max_leaf_nodes": Int(5000, 50000, log=True),
    "min_samples_leaf": Choice((1, 2, 3, 4, 5, 10, 20, 40, 80)),
    "max_features": Choice(("sqrt", "log2", 0.5, 0.75, 1.0)),
}

#: family -> its search space. A plain dict: adding a family is one entry (see the module docstring).
SPACES: dict[str, Space] = {
    "lightgbm": Space(
        family="lightgbm",
        kind="lightgbm",
        params=_LIGHTGBM_PARAMS,
        fixed={"bagging_freq": 1},
        budget="rounds",
        source=_TABARENA.format("lightgbm"),
    ),
    "lightgbm_xt": Space(  # the extremely randomised variant: its kind sets extra_trees, so it is not searched
        family="lightgbm_xt",
        kind="lightgbm_xt",
        params={k: v for k, v in _LIGHTGBM_PARAMS.items() if k != "extra_trees"},
        fixed={"bagging_freq": 1},
        budget="rounds",
        source=_TABARENA.format("lightgbm") + " without extra_trees",
    ),
    "xgboost": Space(
        family="xgboost",
        kind="xgboost",
        params={
            "learning_rate": Float(5e-3, 0.1, log=True),
            "max_depth": Int(4, 10, log=True),
            "min_child_weight": Float(1e-3, 5.0, log=True),
            "subsample": Float(0.6, 1.0),
            "colsample_bylevel": Float(0.6, 1.0),
            "colsample_bynode": Float(0.6, 1.0),
            "reg_alpha": Float(1e-4, 5.0),
            "reg_lambda": Float(1e-4, 5.0),
            "grow_policy": Choice(("depthwise", "lossguide")),
            "max_cat_to_onehot": Int(8, 100, log=True),
        },
        budget="rounds",
        source=_TABARENA.format("xgboost"),
    ),
    "catboost": Space(
        family="catboost",
        kind="catboost",
        params={
            "learning_rate": Float(5e-3, 0.1, log=True),
            "subsample": Float(0.7, 1.0),
            "grow_policy": Choice(("SymmetricTree", "Depthwise")),
            "depth": Int(4, 8),
            "colsample_bylevel": Float(0.85, 1.0),
            "l2_leaf_reg": Float(1e-4, 5.0, log=True),
            "leaf_estimation_iterations": Int(1, 20, log=True),
            "one_hot_max_size": Int(8, 100, log=True),
            "model_size_reg": Float(0.1, 1.5, log=True),
            "max_ctr_complexity": Int(2, 5),
        },
        fixed={"bootstrap_type": "Bernoulli", "boosting_type": "Plain", "max_bin": 254},
        budget="rounds",
        source=_TABARENA.format("catboost"),
    ),
    "random_forest": Space(
        family="random_forest",
        kind="random_forest",
        params=_FOREST_PARAMS,
        fixed={"n_estimators": 300},
        source="TabArena (tabrepo/models/random_forest/generate.py), scikit-learn names",
    ),
    "extra_trees": Space(
        family="extra_trees",
        kind="extra_trees",
        params=_FOREST_PARAMS,
        fixed={"n_estimators": 300},
        source="TabArena (tabrepo/models/extra_trees/generate.py), scikit-learn names",
    ),
    "mlp": Space(
        family="mlp",
        kind="mlp",
        params={
            "lr": Float(1e-4, 3e-2, log=True),
            # AutoGluon searches from 1e-12; below 1e-6 decay does nothing in a few dozen epochs
            "weight_decay": Float(1e-6, 1e-1, log=True),
            "dropout": Float(0.0, 0.4),
            "batch_norm": Choice((False, True)),
            "hidden": Layers(depth=Int(1, 4), width=Int(32, 512, log=True)),
            "activation": Choice(("relu", "gelu", "silu")),
        },
        budget="epochs",
        source="AutoGluon NN_TORCH (as in TabArena), the kit's mlp param names",
    ),
    "realmlp": Space(
        family="realmlp",
        kind="realmlp",
        params={
            "lr": Float(2e-2, 3e-1, log=True),
            "weight_decay": Choice((0.0, 0.02)),
            "dropout": Choice((0.0, 0.15, 0.3)),
            "label_smoothing": Choice((0.0, 0.1)),
            "num_embedding": Choice(("pbld", "pl", "plr", "none")),
            "embedding_sigma": Float(0.05, 0.5, log=True),
            "hidden": Layers(depth=Int(1, 5), width=Int(64, 512, log=True)),
            "activation": Choice(("selu", "mish", "relu")),
            "front_scale": Choice((True, False)),
        },
        budget="epochs",
        source=_TABARENA.format("realmlp") + ", the kit's realmlp param names",
    ),
    "tabm": Space(
        family="tabm",
        kind="tabm",
        params={
            "lr": Float(1e-4, 3e-3, log=True),
            "weight_decay": Choice((0.0, 1e-4, 1e-3, 1e-2, 1e-1)),
            "dropout": Choice((0.0, 0.1, 0.2, 0.3, 0.4, 0.5)),
            "hidden": Layers(depth=Int(1, 4), width=Int(64, 1024, log=True)),
            "num_embedding": Choice(("pl", "none")),
            "bins": Int(2, 128, log=True),
        },
        fixed={"k": 32},
        budget="epochs",
        source=_TABARENA.format("tabm") + " (n_blocks 1-5, d_block 64-1024), the kit's tabm param names",
    ),
    "linear": Space(
        family="linear",
        kind="linear",
        params={
            "numeric": Choice(("standard", "spline", "quantile")),
            "n_knots": Int(3, 12),
            "min_frequency": Int(1, 100, log=True),
        },
        source="the kit's linear kind: the numeric map and rare-level grouping; its strength C / alpha at default",
    ),
}


def space_of(family: str) -> Space:
    """The space of ``family``; an unknown name is a :class:`~kaggle_kit.errors.ConfigError` listing the known."""
    from ...errors import ConfigError, allowed, did_you_mean

    if family not in SPACES:
        raise ConfigError(f"unknown search family {family!r}; known: {allowed(SPACES)}.{did_you_mean(family, SPACES)}")
    return SPACES[family]
