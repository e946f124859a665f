"""The blend methods by name: a plain dict of :class:`Blender` classes, options checked when one is made."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, allowed, did_you_mean
from ..metrics import DISTRIBUTION_INPUTS, Metric
from .base import Blender
from .calibrated import CalibratedHillClimb
from .selection import HillClimb
from .stacking import Stack
from .weighting import Mean, NelderMead, Rank

#: Metrics that only look at the order of the predictions, so a rank average can be scored by them.
RANK_METRICS: frozenset[str] = frozenset({"roc_auc"})

BLENDERS: dict[str, type[Blender]] = {}


def register(cls: type[Blender]) -> type[Blender]:
    """Add a blender class under its ``method`` name; a name already taken raises, naming both classes."""
    name = cls.method
    if not name:
        raise ConfigError(f"blender {cls.__qualname__} has no method name; set the class attribute `method`")
    existing = BLENDERS.get(name)
    if existing is not None and existing is not cls:
        raise ConfigError(
            f"blend method {name!r} is already registered by {existing.__module__}.{existing.__qualname__}; "
            f"cannot register {cls.__module__}.{cls.__qualname__} under the same name; pick another name"
        )
    BLENDERS[name] = cls
    return cls


for _cls in (Mean, Rank, NelderMead, HillClimb, CalibratedHillClimb, Stack):
    register(_cls)


def make_blender(method: str, options: Mapping[str, Any] | None = None) -> Blender:
    """The blender registered as ``method``, built with ``options`` (its dataclass fields)."""
    cls = BLENDERS.get(method) if isinstance(method, str) else None
    if cls is None:
        raise ConfigError(
            f"unknown blend method {method!r}; allowed: {allowed(BLENDERS)}." + did_you_mean(str(method), BLENDERS)
        )
    fields = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    for key in options or {}:
        if key not in fields:
            hint = f"it takes {allowed(fields)}." if fields else "it takes no options."
            raise ConfigError(
                f"unknown option {key!r} for blend method {method!r}; {hint}" + did_you_mean(str(key), fields)
            )
    return cls(**dict(options or {}))


def applicable(method: str, metric: Metric) -> bool:
    """Whether ``method`` can be scored by ``metric`` (a rank average only by a rank metric; a distribution task's
    CDFs / quantiles only by weighted averages, which keep them distributions, not by a level-2 model; a level-2
    model not by a multi-target metric)."""
    cls = BLENDERS.get(method) if isinstance(method, str) else None
    if cls is None:  # fit_blend(run_dir, "nope") had met a KeyError here
        make_blender(method)  # the unknown method's ConfigError, with the allowed ones
    cls = BLENDERS[method]
    if metric.needs in DISTRIBUTION_INPUTS:
        return not cls.needs_rank_metric and not cls.nested_only
    if cls.single_target and metric.column_metric is not None:
        return False
    return not cls.needs_rank_metric or metric.name in RANK_METRICS


def check_applicable(method: str, metric: Metric) -> None:
    """A :class:`ConfigError` saying why ``method`` cannot be scored by ``metric`` (see :func:`applicable`), and
    which methods can."""
    if applicable(method, metric):
        return
    others = allowed([m for m in BLENDERS if applicable(m, metric)])
    if metric.needs in DISTRIBUTION_INPUTS:
        raise ConfigError(
            f"blend method {method!r} does not average the models' distributions ({metric.name!r} scores a "
            f"{metric.needs}); use {others}"
        )
    if BLENDERS[method].single_target and metric.column_metric is not None:
        raise ConfigError(
            f"blend method {method!r} fits a level-2 model of one target column; this run has several, scored by "
            f"{metric.name!r}: use {others} (one weight per model, on the column-wise metric)"
        )
    raise ConfigError(
        f"blend method {method!r} averages ranks, which only a rank metric ({allowed(RANK_METRICS)}) can "
        f"score; this run is scored by {metric.name!r}: use {others}"
    )
