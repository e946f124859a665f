"""One wall-clock budget for a run: which configs to start, when to shorten them, when to stop.

The scheduler predicts each (config, fold) task's cost from what it has measured so far, per model kind: the first
fold of a config of an unmeasured kind is fitted alone (a probe); after that, a fold's cost is the measured seconds
per boosting round / epoch (75th percentile, the largest for the worst case, times 1.2) times the rounds it will
run, plus the seconds a task took beyond its fit (encoding, writing) and a wave beyond its tasks (starting
workers). Work is started in waves of whole configs:

- a config gets all its folds or none: one whose folds cannot all finish before the deadline is not started;
- a config whose worst case (every round up to its cap) would not finish in the remaining time gets its cap
  lowered (``num_boost_round`` or ``params.epochs``: a new content key) when the lowered cap is still worth fitting
  (:data:`MIN_UNITS`), else it is not started;
- a config shortened so is resumed at that size by a later time-limited run (run.json's
  ``time_limit.shortened``; :mod:`kaggle_kit.search.driver`), so a stopped run refits nothing;
- a reserve is kept for what follows the fits (assembling predictions, run.json, the history), so that the whole
  call ends within 5 % of the limit;
- a wave packs configs by their expected cost up to a quarter of the remaining time, so that later waves are
  planned with what the earlier ones measured.

A config a probe started and whose remaining folds do not fit is left incomplete ("incomplete: time limit"): it
is not ranked or blended, and a rerun with more time fits only its missing folds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..config import ModelSpec
from ..store import FoldResult
from .spaces import SPACES

Unit = Literal["rounds", "epochs"]

#: kinds whose cost grows with a cap the budget may lower: boosting rounds (ModelSpec.num_boost_round) or epochs
#: (params.epochs); search families declare theirs in their Space
UNIT_OF_KIND: dict[str, Unit] = {
    "xgboost": "rounds",
    "lightgbm": "rounds",
    "mlp": "epochs",
    "cnn": "epochs",
    "rnn": "epochs",
    "cnn1d": "epochs",
}
MIN_UNITS: dict[Unit, int] = {"rounds": 50, "epochs": 5}  #: a cap lowered below this is not worth fitting
DEFAULT_EPOCHS = 30  #: the nets' params.epochs default (kaggle_kit.models.nn.params.TRAIN_PARAMS)
DEFAULT_PATIENCE = 10
WAVE_SHARE = 0.25  #: a wave is packed up to this share of the remaining time (expected cost)
MIN_WAVE_S = 5.0
SAFETY = 1.2  #: measured seconds per round / epoch are scaled by this (a loaded machine varies)
RESERVE_SHARE, MIN_RESERVE_S = 0.03, 1.5  #: time kept back for assembling, run.json, history


def unit_of(model: ModelSpec) -> Unit | None:
    for space in SPACES.values():
        if space.kind == model.kind and space.budget is not None:
            return space.budget
    return UNIT_OF_KIND.get(model.kind)


def cap_of(model: ModelSpec) -> int | None:
    """The most rounds / epochs the model may run (what the budget lowers), or None for a kind without one."""
    unit = unit_of(model)
    if unit == "rounds":
        return model.num_boost_round
    if unit == "epochs":
        return int(model.params.get("epochs", DEFAULT_EPOCHS))
    return None


def with_cap(model: ModelSpec, cap: int) -> ModelSpec:
    """The model with its rounds / epochs lowered to ``cap`` (a new content key)."""
    if unit_of(model) == "rounds":
        return model.model_copy(update={"num_boost_round": cap})
    return model.model_copy(update={"params": {**model.params, "epochs": cap}})


def units_run(model: ModelSpec, result: FoldResult) -> int:
    """How many rounds / epochs a fold ran: the kept ones plus the early-stopping patience, at most the cap."""
    cap = cap_of(model)
    if cap is None:
        return 1
    best = result.best_iteration or cap
    if unit_of(model) == "rounds":
        patience = model.early_stopping_rounds or 0
    else:
        patience = int(model.params.get("patience", DEFAULT_PATIENCE))
    return cap if patience == 0 else max(1, min(cap, best + patience))


def lpt(loads: Sequence[float], costs: Sequence[float]) -> list[float]:
    """Worker loads after placing each cost, in order, on the least-loaded worker (how a pool takes a queue)."""
    out = list(loads)
    for c in costs:
        i = int(np.argmin(out))
        out[i] += c
    return out


@dataclass
class CostModel:
    """Seconds per round / epoch (per fold) measured per kind, plus the seconds a task costs beyond its fit and
    predictions (encoding the fold's features, writing its files, starting workers), learnt from each wave."""

    per_unit: dict[str, list[float]] = field(default_factory=dict)
    units: dict[str, list[int]] = field(default_factory=dict)
    overhead: float = 0.0  #: seconds per task beyond its fit (encoding the fold's features, writing its files)
    wave_overhead: float = 0.0  #: seconds per wave (starting workers, each reading the data)
    waves: list[tuple[float, float]] = field(default_factory=list)  #: (tasks per worker, unexplained seconds)

    def observe(self, model: ModelSpec, result: FoldResult) -> float:
        """Record a finished fold; returns its measured seconds."""
        seconds = result.fit_seconds + result.predict_seconds
        n = units_run(model, result)
        self.per_unit.setdefault(model.kind, []).append(max(seconds, 1e-4) / n)
        self.units.setdefault(model.kind, []).append(n)
        return seconds

    def observe_wave(self, wall: float, measured: Sequence[float], jobs: int) -> None:
        """A wave of tasks whose fits took ``measured`` seconds ran in ``wall`` seconds on ``jobs`` workers. What
        their fits do not explain is split into a part per wave and a part per task (least squares over the waves
        seen, both >= 0); with one wave all of it counts per wave, which is what small last waves need."""
        if not measured:
            return
        per_worker = len(measured) / min(jobs, len(measured))
        self.waves.append((per_worker, max(0.0, wall - makespan(measured, jobs))))
        x = np.array([w[0] for w in self.waves])
        y = np.array([w[1] for w in self.waves])
        if len(self.waves) < 2 or np.ptp(x) == 0:
            self.wave_overhead, self.overhead = float(y.max()), 0.0
            return
        slope, intercept = np.polyfit(x, y, 1)
        if intercept < 0:
            slope, intercept = float(np.sum(x * y) / np.sum(x * x)), 0.0
        self.overhead = max(0.0, float(slope))
        self.wave_overhead = max(0.0, float(intercept))

    def knows(self, kind: str) -> bool:
        return bool(self.per_unit.get(kind))

    def unit_cost(self, kind: str, worst: bool = False) -> float:
        """Seconds per round / epoch of a fold: the 75th percentile of those measured (the largest for the worst
        case: configs of one kind differ, a net's width or a tree's leaves), times :data:`SAFETY`."""
        measured = self.per_unit[kind]
        return (max(measured) if worst else float(np.quantile(measured, 0.75))) * SAFETY

    def fold_cost(self, model: ModelSpec) -> tuple[float, float]:
        """(expected, worst-case) seconds of one fold of ``model``; its kind must be known."""
        unit, most = self.unit_cost(model.kind), self.unit_cost(model.kind, worst=True)
        cap = cap_of(model)
        if cap is None:
            return self.overhead + unit, self.overhead + most * 1.5
        return self.overhead + unit * min(cap, max(self.units[model.kind])), self.overhead + most * cap


@dataclass
class Budget:
    """The deadline of a run started at ``started`` (``time.monotonic()``) with ``limit`` seconds."""

    limit: float
    started: float

    @property
    def reserve(self) -> float:
        return max(MIN_RESERVE_S, RESERVE_SHARE * self.limit)

    def remaining(self) -> float:
        """Seconds left for fitting (the reserve excluded)."""
        return self.started + self.limit - self.reserve - time.monotonic()

    def used(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Admitted:
    """A config a wave starts: the model as it will run (maybe with a lowered cap), the tasks, whether a probe."""

    model: ModelSpec
    n_tasks: int
    probe: bool = False
    shrunk_from: int | None = None


def plan_wave(
    candidates: Sequence[tuple[ModelSpec, int, bool]],
    cost: CostModel,
    remaining: float,
    jobs: int,
) -> list[Admitted]:
    """Which configs to start now. ``candidates``: (model, unfinished folds, may its cap be lowered) in priority
    order (configs already started first). The first config of an unmeasured kind is probed with one fold.

    A config is started with all its folds when its worst case ends within ``remaining`` and its expected cost fits
    the wave (a quarter of the remaining time, or all of it for the wave's first config); else, when allowed, with
    the largest lowered cap that does; else not at all."""
    remaining -= cost.wave_overhead
    wave_budget = min(remaining, max(MIN_WAVE_S, WAVE_SHARE * remaining))
    loads = [0.0] * jobs
    admitted: list[Admitted] = []
    probed: set[str] = set()
    for model, n, shrinkable in candidates:
        if remaining <= 0:
            break
        if not cost.knows(model.kind):
            if model.kind not in probed:
                probed.add(model.kind)
                admitted.append(Admitted(model, 1, probe=True))
            continue
        bound = wave_budget if any(loads) else remaining
        expected, worst = cost.fold_cost(model)
        cap = cap_of(model)
        fixed = not shrinkable or cap is None
        if _fits(loads, n, expected, worst if not fixed else expected, remaining, bound):
            admitted.append(Admitted(model, n))  # (a config whose cap may not be lowered: on its expected cost)
            loads = lpt(loads, [expected] * n)
            continue
        if fixed:
            continue
        assert cap is not None
        unit, top, overhead = cost.unit_cost(model.kind), cost.unit_cost(model.kind, worst=True), cost.overhead
        most = max(cost.units[model.kind])
        lo, hi = 0, cap - 1  # the largest lowered cap that fits (fitting holds up to some cap, not beyond)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _fits(loads, n, overhead + unit * min(mid, most), overhead + top * mid, remaining, bound):
                lo = mid
            else:
                hi = mid - 1
        best = lo
        unit_name = unit_of(model)
        assert unit_name is not None
        if best >= MIN_UNITS[unit_name]:
            admitted.append(Admitted(with_cap(model, best), n, shrunk_from=cap))
            loads = lpt(loads, [overhead + unit * min(best, most)] * n)
    return admitted


def _fits(loads: Sequence[float], n: int, expected: float, worst: float, remaining: float, bound: float) -> bool:
    """Whether ``n`` folds end within ``remaining`` at worst and within ``bound`` as expected."""
    return max(lpt(loads, [worst] * n)) <= remaining and max(lpt(loads, [expected] * n)) <= bound


def makespan(costs: Sequence[float], jobs: int) -> float:
    return max(lpt([0.0] * jobs, costs)) if costs else 0.0


__all__ = [
    "Admitted",
    "Budget",
    "CostModel",
    "cap_of",
    "lpt",
    "makespan",
    "plan_wave",
    "unit_of",
    "units_run",
    "with_cap",
]
