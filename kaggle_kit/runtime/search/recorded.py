"""What earlier commands of a run folder fitted and recorded in run.json that a later command keeps.

A time-limited run records two things a later command cannot make again from the spec alone: the seed bags of its
best models (``bags``: ``<model>_s<seed>``, each its model refitted with another seed) and the models it shortened
(``time_limit.shortened``: their rounds / epochs lowered, a content key of their own). A later ``--only`` or plain run
had listed its models as the spec has them: the bags were gone from run.json (so from the leaderboard, blends and
submissions) and a shortened model left unfitted was listed under the key of its full size, which has no folds.

:class:`Recorded` rebuilds them from the models as the spec has them now: a model is listed as it was fitted (at its
shortened cap) where run.json's key for it is that one's, and a seed bag is kept where its rebuilt key is the one
run.json recorded and its folds are all in the store. A model whose spec the user changed has another key: its
bags and its shortened size are not carried (the note on models no longer listed names them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...config import ModelSpec
from ...errors import StoreError
from ..store import RunStore
from .budget import cap_of, with_cap

Key = Callable[[ModelSpec], str]


@dataclass(frozen=True)
class Recorded:
    """run.json's models (name -> key), the caps a time limit lowered, and the seed bags, as the last command left
    them."""

    keys: Mapping[str, str] = field(default_factory=dict)
    shortened: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  #: name -> {"from": cap, "to": cap}
    bags: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)  #: model -> its (bag, seed)s

    @classmethod
    def read(cls, store: RunStore) -> Recorded:
        """What ``store``'s run.json records; nothing before the first command (or where run.json is unreadable:
        its own error comes where it is needed)."""
        try:
            meta = store.read_meta() if store.exists() else {}
        except StoreError:
            return cls()
        bags = {}
        for config, bag in (meta.get("bags") or {}).items():
            names, seeds = bag.get("models") or [], bag.get("seeds") or []  # the first: the model itself
            bags[config] = tuple((n, int(s)) for n, s in zip(names[1:], seeds[1:], strict=False))
        shortened = (meta.get("time_limit") or {}).get("shortened") or {}
        return cls(dict(meta.get("models") or {}), {n: dict(v) for n, v in shortened.items()}, bags)

    def as_fitted(self, model: ModelSpec, key: Key) -> ModelSpec | None:
        """``model`` as run.json lists it: itself, or at the cap a time limit lowered it to; None where run.json lists
        it under another key (its spec changed) or not at all."""
        want = self.keys.get(model.name)
        if want is None:
            return None
        if key(model) == want:
            return model
        short = self.shortened.get(model.name)
        if short is not None and cap_of(model) is not None:
            lowered = with_cap(model, int(short["to"]))
            if key(lowered) == want:
                return lowered
        return None

    def bags_of(self, model: ModelSpec, key: Key, whole: Callable[[ModelSpec], bool]) -> list[ModelSpec]:
        """The seed bags run.json records of ``model`` (as it was fitted, :meth:`as_fitted`), rebuilt from it: those
        whose key is the one recorded and that are ``whole`` (every fold in the store)."""
        out = []
        for name, seed in self.bags.get(model.name, ()):
            try:
                bag = ModelSpec.model_validate({**model.model_dump(), "name": name, "seed": seed})
            except ValueError:
                continue
            fitted = self.as_fitted(bag, key)
            if fitted is not None and whole(fitted):
                out.append(fitted)
        return out

    def meta(self, bags: Mapping[str, Sequence[ModelSpec]], models: Sequence[ModelSpec], seed: int) -> dict[str, Any]:
        """run.json's ``bags`` of the kept ``bags`` (model -> its bags), and ``time_limit.shortened`` of ``models``
        listed at a lowered cap, for a command that fits no bag and shortens nothing itself (``seed``: the spec's)."""
        out: dict[str, Any] = {}
        kept = {
            config: {
                "models": [config, *(m.name for m in members)],
                "seeds": [
                    self._seed_of(config, models, seed),
                    *(m.seed if m.seed is not None else seed for m in members),
                ],
            }
            for config, members in bags.items()
            if members
        }
        if kept:
            out["bags"] = kept
        short = {m.name: dict(self.shortened[m.name]) for m in models if self.lowered(m)}
        if short:
            out["time_limit"] = {"shortened": short}
        return out

    def lowered(self, model: ModelSpec) -> bool:
        """Whether ``model`` (as :meth:`as_fitted` gave it) is at the cap a time limit lowered it to."""
        short = self.shortened.get(model.name)
        return short is not None and cap_of(model) == int(short["to"])

    @staticmethod
    def _seed_of(name: str, models: Sequence[ModelSpec], seed: int) -> int:
        model = next((m for m in models if m.name == name), None)
        return seed if model is None or model.seed is None else model.seed


__all__ = ["Recorded"]
