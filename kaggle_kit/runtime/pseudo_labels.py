"""Where pseudo labels come from (:mod:`kaggle_kit.runtime.pseudo`): for each ``(repeat, fold)``, test-row
probabilities made by models that never saw that fold's held-out rows or their labels: the source model's fold model,
a stored blend fitted again on the fold's training rows (or a stacker's level-2 model of the fold), or round
``r - 1``'s fold models; and the confident rows taken from them."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, StoreError
from ..metrics import Metric
from .pseudo_rows import PseudoRows
from .store import ModelResult, RunStore

if TYPE_CHECKING:
    from ..blend.result import BlendResult
    from .folds import Folds
    from .pseudo import PseudoPlan
    from .runner import RunSession


class LabelSource(ABC):
    """Test-row probabilities for one ``(repeat, fold)``, made by a model that never saw that fold's rows;
    ``fingerprint`` (JSON-able) names what made them, for the pseudo-labelled models' keys."""

    fingerprint: Any

    @abstractmethod
    def fold(self, repeat: int, fold: int) -> np.ndarray:
        """``(n_test, C)`` probabilities of the test rows for fold ``(repeat, fold)``."""


@dataclass(frozen=True)
class LabelsOf:
    """What labels a round, as ``pseudo.json`` and the notes name it: round 1 the plan's source (a model or a blend),
    round ``r > 1`` round ``r - 1``'s models (their mean), with their CV where one number says it (a model, a blend;
    the mean of several models was never scored)."""

    kind: str  # "model", "blend" or "round <r - 1>"
    name: str
    cv: float | None

    @staticmethod
    def first(plan: PseudoPlan, done: dict[str, ModelResult]) -> LabelsOf:
        cv = done[plan.source].cv if plan.blend is None else plan.blend.nested_cv
        return LabelsOf(plan.source_kind, plan.source, cv)

    @staticmethod
    def round(round_: int, made: Sequence[ModelResult]) -> LabelsOf:
        cv = made[0].cv if len(made) == 1 else None
        return LabelsOf(f"round {round_}", " + ".join(m.name for m in made), cv)


def hard_votes(proba: np.ndarray) -> bool:
    """Whether every probability is exactly 0 or 1 (a classifier's vote, not how sure it is)."""
    return bool(np.isin(np.asarray(proba), (0.0, 1.0)).all())


def top_probability(proba: np.ndarray) -> float:
    """The highest probability of a most probable class over the test rows (as :func:`confident` measures it)."""
    p = np.asarray(proba, dtype=np.float64)
    return float((p / p.sum(axis=1, keepdims=True)).max(axis=1).max()) if len(p) else 0.0


def source_models(plan: PseudoPlan) -> list[str]:
    return [plan.source] if plan.blend is None else list(plan.blend.models)


def fold_test(store: RunStore, name: str, key: str, repeat: int, fold: int) -> np.ndarray:
    found = store.finished(name, key, repeat, fold)
    if found is None:
        raise StoreError(f"model {name!r} has no finished fold r{repeat}_f{fold} to pseudo-label with; run again")
    return store.read_fold_array(found, "test.npy").astype(np.float64)


class ModelSource(LabelSource):
    def __init__(self, store: RunStore, name: str, key: str) -> None:
        self.store, self.name, self.key = store, name, key
        self.fingerprint = self.fingerprint_of(name, key)

    @staticmethod
    def fingerprint_of(name: str, key: str) -> Any:
        return {"model": name, "key": key}

    def fold(self, repeat: int, fold: int) -> np.ndarray:
        return fold_test(self.store, self.name, self.key, repeat, fold)


class PreviousRound(LabelSource):
    """Round ``r > 1``: the mean of round ``r - 1``'s models' test predictions of the same fold."""

    def __init__(self, store: RunStore, models: Sequence[tuple[str, str]]) -> None:
        self.store, self.models = store, list(models)
        self.fingerprint = {"round_models": self.models}

    def fold(self, repeat: int, fold: int) -> np.ndarray:
        return np.mean([fold_test(self.store, n, k, repeat, fold) for n, k in self.models], axis=0)


class BlendSource(LabelSource):
    """A stored blend applied to its models' test predictions of one fold, as its nested CV fitted it for that fold:
    a stacker's level-2 model of the fold, or the weights (and the calibration) fitted here again on the fold's
    training rows' OOF only. The stored weights and calibration were fitted on every OOF row, the fold's held-out
    rows among them: an isotonic map steps at their labels, and the rows it calls sure (the pseudo rows) with them."""

    def __init__(self, store: RunStore, blend: BlendResult, keys: dict[str, str], metric: Metric, folds: Folds) -> None:
        from ..blend.registry import make_blender

        self.store, self.blend, self.keys, self.metric, self.folds = store, blend, keys, metric, folds
        self.blender = make_blender(blend.method, blend.options)
        self.level2: dict[tuple[int, int], Any] = {}
        self.oof: np.ndarray | None = None
        if self.blender.nested_only:
            from ..blend.storage import read_level2, reblend_hint

            models = read_level2(store.root, blend, reblend_hint(store.root, blend))
            if models is None:
                raise ConfigError(
                    f"pseudo_label.source = {blend.name!r} is a stacker stored without its level-2 models; "
                    f"{reblend_hint(store.root, blend)}"
                )
            self.level2 = {tuple(rk): m for rk, m in zip(blend.folds, models, strict=True)}  # type: ignore[misc]
        else:  # the fold fits' inputs: the models' OOF (train row order) and the target's class codes
            from ..blend.engine import stack_predictions
            from ..blend.target import run_target

            oof = {m: read_oof(store, m, keys[m]) for m in blend.models}
            self.oof, self.y = stack_predictions(oof, metric), run_target(store)
            self.usable = np.isfinite(self.oof).all(axis=(0, 2))
        self.fingerprint = self.fingerprint_of(blend)

    @staticmethod
    def fingerprint_of(blend: BlendResult) -> Any:
        return {
            "blend": blend.name,
            "summary": {
                k: v
                for k, v in json.loads(blend.to_json()).items()
                if k in ("method", "options", "weights", "models", "model_keys", "temperature", "isotonic", "folds")
            },
            "fitted": "per fold",  # not the stored weights and calibration (fitted on every OOF row): other labels
        }

    def fold(self, repeat: int, fold: int) -> np.ndarray:
        from ..blend.base import Fitted
        from ..blend.engine import stack_predictions

        preds = {m: fold_test(self.store, m, self.keys[m], repeat, fold) for m in self.blend.models}
        stack = stack_predictions(preds, self.metric, "test")
        if self.blender.nested_only:
            level2 = self.level2.get((repeat, fold))
            if level2 is None:  # a fold nested CV did not fit (time folds' first): see unfitted
                return unfitted(stack)
            return np.asarray(self.blender.predict(Fitted(model=level2), stack), dtype=np.float64)
        return np.asarray(self._refit(repeat, fold, stack), dtype=np.float64)

    def _refit(self, repeat: int, fold: int, stack: np.ndarray) -> np.ndarray:
        """The blend (and its calibration) fitted on the fold's training rows, as its nested CV does, on ``stack``."""
        from ..blend.calibration import fit_calibration

        assert self.oof is not None and self.blend.weights is not None
        train_idx, _ = self.folds.train_valid(repeat, fold)
        train_idx = train_idx[self.usable[train_idx]]
        if train_idx.size == 0:  # no training row every model predicted (time folds' first): see unfitted
            return unfitted(stack)
        oof = self.oof[:, train_idx]
        rng = np.random.default_rng([0, repeat, fold])  # fit_blend's default seed, per fold as nested CV seeds it
        fitted = self.blender.fit(oof, self.y[train_idx], self.metric, rng, self.folds.ids[0][train_idx])
        out = self.blender.predict(fitted, stack)
        method = "temperature" if self.blend.temperature is not None else "isotonic" if self.blend.isotonic else None
        if method is not None:
            calibration = fit_calibration(method, self.y[train_idx], self.blender.predict(fitted, oof))
            out = calibration.apply(out)
        return out


def unfitted(stack: np.ndarray) -> np.ndarray:
    """A fold none of whose training rows has OOF predictions of every model (the first fold of time folds: its
    training rows are never validated) has no blend fitted on its training rows alone: the plain mean of the models'
    probabilities, which no label shaped. (The mean of the other folds' level-2 models, or the stored weights, were
    fitted on OOF rows that this fold holds out: its held-out labels chose its pseudo rows.)"""
    return np.asarray(stack, dtype=np.float64).mean(axis=0)


def read_oof(store: RunStore, name: str, key: str) -> np.ndarray:
    import polars as pl

    path = store.model_dir(name, key) / "oof.parquet"
    if not path.is_file():
        raise StoreError(
            f"model {name!r} has no OOF predictions ({str(path)!r}) to fit its blend's folds on; run again"
        )
    frame = pl.read_parquet(path)
    return frame.drop(frame.columns[0]).to_numpy().astype(np.float32, copy=False)


def first_source(session: RunSession, plan: PseudoPlan, keys: dict[str, str]) -> LabelSource:
    """Round 1's labels, from the source models' versions in ``keys``: the ones the run fitted and lists (a time
    limit may have fitted a model shortened, under another key than the spec's: its folds are the ones stored)."""
    if plan.blend is None:
        return ModelSource(session.store, plan.source, keys[plan.source])
    return BlendSource(session.store, plan.blend, keys, session.metric, session.folds)


def confident(proba: np.ndarray, threshold: float, soft: bool) -> PseudoRows:
    """The test rows whose most probable class has probability >= ``threshold``, with their probabilities."""
    p = np.asarray(proba, dtype=np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    rows = np.flatnonzero(p.max(axis=1) >= threshold)
    return PseudoRows(rows.astype(np.int64), p[rows].astype(np.float32), soft)
