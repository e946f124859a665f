"""A search's configs as models of the run: ``<family>_c<index>`` ModelSpecs built from a family's space.

Config 0 is the family's default (``include_default``); the others come from the sampler
(:mod:`kaggle_kit.runtime.search.sampler`). ``[search.overrides.<family>]`` sets ModelSpec fields on every config of a
family (``num_boost_round``, ``early_stopping_rounds``, ``pipeline``) and params over the sampled ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...config import CompetitionSpec, ModelSpec, SearchSpec
from ...errors import ConfigError, allowed
from .sampler import plain_params, sample_params
from .spaces import SPACES, Space


@dataclass(frozen=True)
class Config:
    """One config of a search: its family, index, the params that were sampled (or the default's) and its model."""

    family: str
    index: int
    params: dict[str, Any]
    model: ModelSpec


def config_name(family: str, index: int) -> str:
    return f"{family}_c{index:03d}"


def search_seed(search: SearchSpec, spec: CompetitionSpec) -> int:
    return spec.seed if search.seed is None else search.seed


def check_search(search: SearchSpec, spec: CompetitionSpec) -> None:
    """Every family's kind is registered, and no model of the spec takes a config's name."""
    from ...models import ADAPTERS

    for family in search.families:
        kind = SPACES[family].kind
        if kind not in ADAPTERS:
            raise ConfigError(
                f"search family {family!r} runs as model kind {kind!r}, which this installation does not have "
                f"(its kinds: {allowed(ADAPTERS)}); remove {family!r} from search.families, or install the kit "
                "version that provides that kind"
            )
    names = {m.name for m in spec.models}
    for family in search.families:
        clash = sorted(n for n in names if n.startswith(f"{family}_c"))
        if clash:
            raise ConfigError(
                f"model {clash[0]!r} takes the name of a config of the search over {family!r} (configs are named "
                f"{config_name(family, 0)}, {config_name(family, 1)}, ...); rename that model"
            )


def build_model(search: SearchSpec, family: str, index: int, params: dict[str, Any]) -> ModelSpec:
    """The ModelSpec of a config: the space's fixed params, then the sampled ones, then the user's overrides."""
    space = SPACES[family]
    over = search.overrides.get(family, {})
    fields: dict[str, Any] = {**space.model, **{k: v for k, v in over.items() if k != "params"}}
    merged = {**space.fixed, **plain_params(params), **over.get("params", {})}
    try:
        return ModelSpec(name=config_name(family, index), kind=space.kind, params=merged, **fields)
    except Exception as exc:  # a bad override value (pydantic); name where it came from
        raise ConfigError(f"search.overrides.{family}: {exc}") from None


def default_params(space: Space) -> dict[str, Any]:
    return dict(space.default)


def random_configs(search: SearchSpec, spec: CompetitionSpec) -> list[Config]:
    """Every config of a random search, in the order they are fitted: index by index, each family in turn."""
    return list(_random(search, spec))


def _random(search: SearchSpec, spec: CompetitionSpec) -> Iterator[Config]:
    seed = search_seed(search, spec)
    for index, family in config_order(search):
        space = SPACES[family]
        default = index == 0 and search.include_default
        params = default_params(space) if default else sample_params(space, seed, index)
        yield Config(family, index, params, build_model(search, family, index, params))


def config_order(search: SearchSpec) -> list[tuple[int, str]]:
    """(index, family) of every config: c000 of each family first (the defaults), then c001 of each, ..."""
    top = max(search.count(f) for f in search.families)
    return [(i, f) for i in range(top) for f in search.families if i < search.count(f)]
