"""One wall-clock budget for a run: which configs to start, when to shorten them, when to stop.

The scheduler predicts each (config, fold) task's cost from what it has measured so far, per model kind and pipeline
(:func:`cost_key`; "kind" below means that pair). A kind with
a cap (boosting rounds, epochs) is first measured on one short fold (a sizing fold: :data:`SIZING_UNITS`, its own
content key, not a model of the run): at full size even the cheapest kind's fold may outlast the limit on a large
table. The first wave sizes the cheapest capped kinds, one per worker; later waves size the others after their whole
configs. A sizing fold is fold 0 of its config shortened to :data:`SIZING_UNITS`: when no longer cap fits the time,
that config runs on its other folds. The first fold of a config of an unmeasured kind without a cap is fitted alone
(a probe); after that, a fold's cost is the measured seconds
per boosting round / epoch (75th percentile, the largest for the worst case, times 1.2) times the rounds it will
run, plus the rest of its task (encoding its features), plus per wave a library's first use in fresh worker
processes and what the wave took beyond its tasks (:class:`CostModel`). Work is started in waves of whole configs:

- a config gets all its folds or none: one whose folds cannot all finish before the deadline is not started;
- a config whose worst case (every round up to its cap) would not finish in the remaining time gets its cap
  lowered (``num_boost_round`` or ``params.epochs``: a new content key) when the lowered cap is still worth fitting
  (:data:`MIN_UNITS`), else it is not started;
- a config shortened so is resumed at that size by a later time-limited run (run.json's
  ``time_limit.shortened``; :mod:`kaggle_kit.runtime.search.driver`), so a stopped run refits nothing;
- a reserve (5 % of the limit, at least 2 s, plus 50 ms per model) is kept for what follows the fits (the
  last run.json, the history, the leaderboard), so that the whole call ends within 5 % of the limit;
- a wave packs configs by their expected cost up to a quarter of the remaining time, so that later waves are
  planned with what the earlier ones measured.

A config a probe started and whose remaining folds do not fit is left incomplete ("incomplete: time limit"): it
is not ranked or blended, and a rerun with more time fits only its missing folds.

What holds the limit when a prediction is wrong: every wave runs with the fits' deadline (:meth:`Budget.deadline`),
after which no fold starts and a running one is stopped by ending its worker process
(:mod:`kaggle_kit.runtime.executors`; nothing of it stays in the store). Before any model is whole, the config of the
cheapest unmeasured kind without a sizing cap (:data:`PRIOR_ORDER`; once some kind is measured, only up to
:data:`CHEAP_ANCHOR`) gets all its folds at once instead of a probe, so a whole model exists early; probes and
sizing folds go after a wave's whole configs, cheapest kind first, each stopped at :func:`probe_limit` (a kind whose
probe or sizing fold is stopped is not started again) and not started later than that into its wave. That limit
counts from when its worker is ready and leaves out its library's import (:func:`kaggle_kit.runtime.pool.uncounted`),
which the cost model also leaves out of a fold's cost (``FoldResult.import_seconds``): a one-time cost of the worker.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...config import ModelSpec
from ...models.nn.families import FAMILIES
from ..store import FoldResult
from .spaces import SPACES

Unit = Literal["rounds", "epochs"]

#: kinds whose cost grows with a cap the budget may lower: boosting rounds (ModelSpec.num_boost_round); search
#: families declare theirs in their Space, and every net kind (kaggle_kit.models.nn.families) has epochs
UNIT_OF_KIND: dict[str, Unit] = dict.fromkeys(("xgboost", "lightgbm", "lightgbm_xt", "catboost"), "rounds")
MIN_UNITS: dict[Unit, int] = {"rounds": 50, "epochs": 5}  #: a cap lowered below this is not worth fitting
#: a boosting config cut below this many rounds gets a larger learning rate (:func:`faster_learning_rate`), at most
#: MAX_LR_BOOST times its own
LR_REFERENCE_ROUNDS, MAX_LR_BOOST = 800, 4.0
LR_NAMES = ("learning_rate", "eta", "shrinkage_rate")  #: its names in XGBoost, LightGBM and CatBoost params
DEFAULT_LEARNING_RATE = 0.05  #: the kit's XGBoost, LightGBM and CatBoost adapters' default (their DEFAULTS)
#: a sizing fold's cap: before any model is whole, a capped kind is measured on one fold this short, not at full size
SIZING_UNITS: dict[Unit, int] = {"rounds": 50, "epochs": 2}
#: kinds from the cheapest fold to the dearest, before anything is measured (fold seconds of preset 'best' on the
#: 5k-row ``fair`` table, 2 loaded cores: lightgbm 0.6, xgboost 0.6, lightgbm_xt 0.8, linear 1.1, catboost 1.4,
#: forests 3-6, realmlp 15, tabm 45): the first whole model and the probes of unmeasured kinds go in this order
PRIOR_ORDER = (
    "dummy",
    "lightgbm",
    "xgboost",
    "lightgbm_xt",
    "linear",
    "catboost",
    "sklearn",
    "random_forest",
    "extra_trees",
    "mlp",
    "realmlp",
    "cnn1d",
    "rnn",
    "cnn",
    "hybrid",
    "tabm",
)
#: the dearest kind without a cap that still anchors (all its folds at once, unmeasured) beside sized configs
CHEAP_ANCHOR = PRIOR_ORDER.index("linear")
DEFAULT_PATIENCE = 10
WAVE_SHARE = 0.25  #: a wave is packed up to this share of the remaining time (expected cost)
MIN_WAVE_S = 5.0
SAFETY = 1.2  #: measured seconds per round / epoch are scaled by this (a loaded machine varies)
#: a shortened config runs every round of its lowered cap (early stopping rarely ends it sooner), so its worst case is
#: what it will take: it is sized to end within this share of the time left. Seen: CatBoost measured at 0.055 s a
#: round on its sizing fold ran 0.068 s a round at 303 rounds; sized to fill the time left (x 1.2), its 5th fold was
#: stopped at the deadline and 4 finished folds (84 s) were lost
SHRUNK_SLACK = 0.85
#: time kept back for what follows the fits: assembling, run.json, history, and in the CLI the ensemble selection over
#: every config (nested CV) and the submission
RESERVE_SHARE, MIN_RESERVE_S = 0.05, 2.0
PER_MODEL_RESERVE_S = 0.05  #: and per model of the run (its selection candidates, history rows, leaderboard line)


def cost_key(model: ModelSpec) -> str:
    """What the cost model measures a fold's cost by: the model kind, and the pipeline its features come from. One
    kind on another pipeline is another cost: preset 'best''s ``lgbm_ar`` (LightGBM extra trees on the arithmetic
    pairs) runs about twice as long a round as ``lgbm_xt`` (the same kind on the base encoding), and sharing one
    per-round cost had predicted the dearer one low."""
    return model.kind if model.pipeline is None else f"{model.kind} on {model.pipeline}"


def unit_of(model: ModelSpec) -> Unit | None:
    for space in SPACES.values():
        if space.kind == model.kind and space.budget is not None:
            return space.budget
    if model.kind in UNIT_OF_KIND:
        return UNIT_OF_KIND[model.kind]
    return "epochs" if model.kind in FAMILIES else None


def cap_of(model: ModelSpec) -> int | None:
    """The most rounds / epochs the model may run (what the budget lowers), or None for a kind without one."""
    unit = unit_of(model)
    if unit == "rounds":
        return model.num_boost_round
    if unit == "epochs":
        return int(model.params.get("epochs", FAMILIES[model.kind].schema["epochs"].default))
    return None


def with_cap(model: ModelSpec, cap: int) -> ModelSpec:
    """The model with its rounds / epochs lowered to ``cap`` (a new content key); a boosting model cut below
    :data:`LR_REFERENCE_ROUNDS` rounds also learns faster (:func:`faster_learning_rate`)."""
    if unit_of(model) == "rounds":
        return model.model_copy(update={"num_boost_round": cap, "params": faster_learning_rate(model, cap)})
    return model.model_copy(update={"params": {**model.params, "epochs": cap}})


def faster_learning_rate(model: ModelSpec, cap: int) -> dict[str, Any]:
    """``model.params`` with the learning rate (the user's, under the alias they wrote, else the adapter's default)
    times ``min(cap before, LR_REFERENCE_ROUNDS) / cap``, at most :data:`MAX_LR_BOOST` times (a kind not of
    :data:`UNIT_OF_KIND`, a user's family, only when it names a rate itself): a boosting model given
    fewer rounds than it would use reaches further with larger steps (measured: LightGBM, 5 classes, 160,000 rows,
    200 rounds: validation log loss 0.554 at 0.05, 0.517 at 0.1, 0.498 at 0.2, 0.522 at 0.3; 0.463 at 0.05 over
    2,000 rounds)."""
    before = model.num_boost_round
    boost = min(MAX_LR_BOOST, min(before, LR_REFERENCE_ROUNDS) / max(1, cap))
    if boost <= 1.0:
        return dict(model.params)
    name = next((n for n in LR_NAMES if n in model.params), None)
    if name is None and model.kind not in UNIT_OF_KIND:  # a user's family of another kind: it may have no such param
        return dict(model.params)
    name = name or "learning_rate"
    rate = float(model.params.get(name, DEFAULT_LEARNING_RATE))
    return {**model.params, name: round(rate * boost, 6)}


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
    """What a fold costs, learnt from the waves run so far.

    - per kind, seconds per round / epoch of a fold's fit and predictions (``per_unit``, with the rounds run), and
      the seconds of the rest of its task (``fixed``: encoding the fold's features; ``task_seconds`` of a fold);
    - per kind, a first-use cost (``first_use``): the first fold of a kind in a fresh process also imports its
      library (seconds under load), and a process pool is started afresh for each wave. That fold is an outlier,
      not a slow round: in each wave the slowest fold of the kind per worker is set apart, and what it took beyond
      the others counts once per wave that runs the kind;
    - what the tasks do not explain: per wave with fresh worker processes (``wave_overhead``: starting them, each
      reading the data), per task when one process fits everything (``task_excess``: writing a fold's files); the
      largest of the last three waves.
    """

    per_unit: dict[str, list[float]] = field(default_factory=dict)
    units: dict[str, list[int]] = field(default_factory=dict)
    fixed: dict[str, list[float]] = field(default_factory=dict)
    first_use: dict[str, float] = field(default_factory=dict)
    overhead: float = 0.0  #: seconds per task beyond its fit where no fold of the kind recorded its task time
    task_excess: float = 0.0  #: seconds per task outside it (writing its files, fsync, the progress line)
    post: float = 0.0  #: seconds per finished config in this process after its wave (assembling OOF, summary)
    wave_overhead: float = 0.0
    excess: list[float] = field(default_factory=list)  #: per wave that started workers: wall its tasks do not explain
    task_excesses: list[float] = field(default_factory=list)  #: per other wave: the same, per task
    #: kinds whose probe was stopped at its limit: one fold takes longer than a whole config could (not started again)
    too_slow: set[str] = field(default_factory=set)
    _rough: dict[str, list[float]] = field(default_factory=dict)  #: per-unit costs of first-use folds only

    def observe(self, model: ModelSpec, result: FoldResult, *, sizing: bool = False) -> float:
        """Record a fold found finished (a resumed run: not a first use); returns its task's seconds. ``sizing``: a
        sizing fold (:data:`SIZING_UNITS`), whose rounds say nothing of where the kind's early stopping ends."""
        self._add(model, result, sizing)
        return _task_seconds(result)

    def _add(self, model: ModelSpec, result: FoldResult, sizing: bool = False) -> None:
        n = units_run(model, result)
        self.per_unit.setdefault(cost_key(model), []).append(max(_fit_seconds(result), 1e-4) / n)
        if not sizing:
            self.units.setdefault(cost_key(model), []).append(n)
        if result.task_seconds > 0:
            self.fixed.setdefault(cost_key(model), []).append(_rest_seconds(result))

    def observe_wave(
        self,
        wall: float,
        folds: Sequence[tuple[ModelSpec, FoldResult]],
        jobs: int,
        fresh: bool,
        stopped: Sequence[float] = (),
        sizing: frozenset[str] = frozenset(),
    ) -> list[float]:
        """A wave's finished folds ran in ``wall`` seconds on ``jobs`` workers; ``fresh``: some of its workers were
        new processes rather than ones that fitted these kinds before; ``stopped``: seconds of the wave's tasks that
        were stopped at their limit (they took a worker's time too); ``sizing``: the content keys of its sizing
        folds. Returns the tasks' seconds."""
        by_kind: dict[str, list[tuple[ModelSpec, FoldResult]]] = {}
        for model, res in folds:
            by_kind.setdefault(cost_key(model), []).append((model, res))
        for kind, group in by_kind.items():
            first = min(jobs, len(group)) if fresh or not self.knows(kind) else 0
            ordered = sorted(group, key=lambda g: _fit_seconds(g[1]) / units_run(g[0], g[1]))
            clean, slow = ordered[: len(group) - first], ordered[len(group) - first :]
            for model, res in clean:
                self._add(model, res, res.key in sizing)
            for model, res in slow:
                self._rough.setdefault(kind, []).append(max(_fit_seconds(res), 1e-4) / units_run(model, res))
                if res.key not in sizing:  # a full-size fold: where its early stopping ended is worth knowing
                    self.units.setdefault(kind, []).append(units_run(model, res))
                if res.task_seconds > 0 and not self.fixed.get(kind):
                    self.fixed.setdefault(kind, []).append(_rest_seconds(res))
            if clean and slow:
                extra = float(
                    np.median([_task_seconds(r) for _, r in slow]) - np.median([_task_seconds(r) for _, r in clean])
                )
                self.first_use[kind] = max(0.0, extra) if fresh else 0.0
        measured = [_task_seconds(res) for _, res in folds]
        if measured:
            excess = max(0.0, wall - makespan([*measured, *stopped], jobs))
            if fresh:  # new worker processes: starting them and reading the data
                self.excess.append(excess)
                self.wave_overhead = max(self.excess[-3:])
            else:  # workers that have everything loaded: what is left is per task (writing the fold's files)
                self.task_excesses.append(excess / len(measured))
                self.task_excess = max(self.task_excesses[-3:])
        return measured

    def observe_post(self, seconds: float) -> None:
        """A finished config's assembly (OOF, test predictions, summary) took ``seconds`` here, after its wave."""
        self.post = seconds if self.post == 0 else max(seconds, 0.7 * self.post + 0.3 * seconds)

    def knows(self, kind: str) -> bool:
        return bool(self.per_unit.get(kind) or self._rough.get(kind))

    def _measured(self, kind: str) -> list[float]:
        return self.per_unit.get(kind) or self._rough[kind]

    def unit_cost(self, kind: str, worst: bool = False) -> float:
        """Seconds per round / epoch of a fold: the 75th percentile of those measured (the largest for the worst
        case: configs of one kind differ, a net's width or a tree's leaves), times :data:`SAFETY`."""
        measured = self._measured(kind)
        return (max(measured) if worst else float(np.quantile(measured, 0.75))) * SAFETY

    def most_units(self, kind: str) -> int | None:
        """The most rounds / epochs a fold of ``kind`` ran, or None where only sizing folds measured it."""
        return max(self.units[kind]) if self.units.get(kind) else None

    def expected_units(self, kind: str, cap: int) -> int:
        """The rounds / epochs a fold of ``kind`` capped at ``cap`` is expected to run: :meth:`most_units`, at most
        ``cap``; all of ``cap`` where only sizing folds measured the kind (they say nothing of where its early
        stopping ends)."""
        return min(cap, self.most_units(kind) or cap)

    def task_overhead(self, kind: str) -> float:
        """Seconds of a fold's task beyond its fit and predictions (75th percentile, times :data:`SAFETY`)."""
        fixed = self.fixed.get(kind)
        return (float(np.quantile(fixed, 0.75)) * SAFETY if fixed else self.overhead) + self.task_excess

    def fold_cost(self, model: ModelSpec) -> tuple[float, float]:
        """(expected, worst-case) seconds of one fold of ``model``; its kind must be known."""
        unit, most = self.unit_cost(cost_key(model)), self.unit_cost(cost_key(model), worst=True)
        base = self.task_overhead(cost_key(model))
        cap = cap_of(model)
        if cap is None:
            return base + unit, base + most * 1.5
        return base + unit * self.expected_units(cost_key(model), cap), base + most * cap


@dataclass
class Budget:
    """The deadline of a run started at ``started`` (``time.monotonic()``) with ``limit`` seconds."""

    limit: float
    started: float
    models: int = 0  #: models of the run so far: the steps after the fits (history, leaderboard) grow with them

    @property
    def reserve(self) -> float:
        return max(MIN_RESERVE_S, RESERVE_SHARE * self.limit) + PER_MODEL_RESERVE_S * self.models

    def remaining(self) -> float:
        """Seconds left for fitting (the reserve excluded)."""
        return self.started + self.limit - self.reserve - time.monotonic()

    def used(self) -> float:
        return time.monotonic() - self.started

    def deadline(self) -> float:
        """When the fits must end (``time.monotonic()``): no fold starts after it, and one running then is stopped."""
        return self.started + self.limit - self.reserve


@dataclass
class Admitted:
    """A config a wave starts: the model as it will run (maybe with a lowered cap), the tasks, whether a probe."""

    model: ModelSpec
    n_tasks: int
    probe: bool = False
    shrunk_from: int | None = None
    #: a probe is stopped after this long: a fold slower than that leaves no time for the config's other folds
    max_seconds: float | None = None
    #: a sizing fold: ``model`` is the config at :data:`SIZING_UNITS` (its own content key), fitted only to measure
    #: the kind; the config itself keeps its size, unstarted
    sizing: bool = False


def bag_floor(config: ModelSpec) -> int | None:
    """The lowest cap a seed bag of ``config`` may get: half the config's. A bag is worth fitting shorter than its
    config where the time left holds no full one (seen on digits at a 120 s limit: a CNN's bag of 30 epochs did not
    fit in the last 21 s, which went unused), but not much shorter: a weak member adds little to the bag."""
    cap = cap_of(config)
    return None if cap is None else -(-cap // 2)


def sizing_cap(model: ModelSpec) -> int | None:
    """The cap of ``model``'s sizing fold, or None where its own cap is small enough to measure it with."""
    unit, cap = unit_of(model), cap_of(model)
    if unit is None or cap is None or cap < 4 * SIZING_UNITS[unit]:
        return None
    return SIZING_UNITS[unit]


def prior_rank(kind: str) -> int:
    """Where ``kind`` stands in :data:`PRIOR_ORDER` (a kind not listed: after every listed one)."""
    return PRIOR_ORDER.index(kind) if kind in PRIOR_ORDER else len(PRIOR_ORDER)


def probe_limit(remaining: float, n_tasks: int, jobs: int) -> float:
    """How long a probe (one fold of a config of an unmeasured kind) may run: when one fold takes ``c`` seconds its
    config's other ``n_tasks - 1`` folds take ``ceil((n_tasks - 1) / jobs) * c`` more on ``jobs`` workers, so a
    probe still running after ``remaining / (1 + ceil((n_tasks - 1) / jobs))`` cannot give a whole config."""
    return remaining / (1 + -(-(n_tasks - 1) // max(1, jobs)))


def plan_wave(
    candidates: Sequence[tuple[ModelSpec, int, bool]],
    cost: CostModel,
    remaining: float,
    jobs: int,
    *,
    anchor: bool = False,
    startup: float | None = None,
    sized: Collection[str] = (),
    floors: Mapping[str, int] | None = None,
) -> list[Admitted]:
    """Which configs to start now. ``candidates``: (model, unfinished folds, may its cap be lowered) in priority
    order (configs already started first). The first config of an unmeasured kind is measured with one fold, stopped
    at :func:`probe_limit`: a sizing fold (:func:`sizing_cap`) for a kind with a cap, else a probe at full size;
    these go after the wave's whole configs, cheapest kind first (:data:`PRIOR_ORDER`). ``anchor`` (no whole model
    yet): while no kind is measured, the cheapest capped kinds, one per worker, get their sizing folds and nothing
    else starts in that wave but the baseline; after that, the config of the cheapest unmeasured kind without a cap
    gets all its folds at once instead of a probe (only up to :data:`CHEAP_ANCHOR` once a kind is measured), so that
    a whole model exists early whatever the other kinds cost. ``startup``: seconds the workers
    still need to start (default: the cost model's per-wave overhead). ``sized``: configs whose sizing fold is stored,
    which is fold 0 of the config shortened to :data:`SIZING_UNITS`: where no longer cap fits, that one does with
    its other folds only. ``floors``: the lowest cap a model (by name) may be lowered to where that is above
    :data:`MIN_UNITS` (a seed bag: half its config's, :func:`bag_floor`); a model with a floor is started at its
    full cap when its expected cost fits, as a started config is (a bag's cost is its config's, measured).

    A config is started with all its folds when its worst case ends within ``remaining`` and its expected cost fits
    the wave (a quarter of the remaining time, or all of it for the wave's first config); else, when allowed, with
    the largest lowered cap that does; else not at all."""
    remaining -= cost.wave_overhead if startup is None else startup
    wave_budget = min(remaining, max(MIN_WAVE_S, WAVE_SHARE * remaining))
    loads = [0.0] * jobs
    admitted: list[Admitted] = []
    probes: list[Admitted] = []
    probed: set[str] = set()
    started_kinds: set[str] = set()
    post = cost.post * SAFETY  # each finished config is assembled here after the wave, one after another
    serial = 0.0
    unknown = [
        m
        for m, _, _ in candidates
        if not cost.knows(cost_key(m)) and cost_key(m) not in cost.too_slow and m.kind != "dummy"
    ]
    folds_of = {id(m): n for m, n, _ in candidates}
    sizable: dict[str, tuple[ModelSpec, int, int]] = {}  # kind -> its first config, that config's folds, sizing cap
    for m in sorted(unknown, key=lambda m: prior_rank(m.kind)):
        small = sizing_cap(m)
        if small is not None and cost_key(m) not in sizable:
            sizable[cost_key(m)] = (m, folds_of[id(m)], small)
    measured = any(cost.knows(cost_key(m)) for m, _, _ in candidates if m.kind != "dummy")
    if anchor and sizable and remaining > 0 and not measured:
        # nothing is whole and nothing is known: a full-size fold of even the cheapest kind may outlast the limit
        # (LightGBM, 5 classes, 200,000 rows, 1 thread: > 160 s a fold), so the cheapest capped kinds, one per worker,
        # are first measured on one short fold each, and the next wave sizes their configs from that (lowering caps
        # where the time asks) beside the other kinds' sizing folds. Sizing every kind first had taken a 60 s limit's
        # first 27 s on that table (5 kinds on 2 workers), and only a linear model was whole at the end
        wave = [Admitted(m, n) for m, n, _ in candidates if m.kind == "dummy" and not cost.knows(cost_key(m))]
        return wave + [_sizing_fold(*s, remaining, jobs) for s in list(sizable.values())[: max(1, jobs)]]
    # a capped kind is measured by a sizing fold (below), never by a full-size fold
    uncapped = [m for m in unknown if cost_key(m) not in sizable]
    first = min(uncapped, key=lambda m: prior_rank(m.kind)) if uncapped else None
    # a kind without a cap anchors only where nothing else can be whole, or where it is cheap (a linear model): a
    # forest's every fold at full size, unmeasured and not counted in the wave, could take the limit from the configs
    # the sizing folds just measured; it is probed like any other kind then
    if anchor and first is not None and remaining > 0 and (not measured or prior_rank(first.kind) <= CHEAP_ANCHOR):
        n = next(n for m, n, _ in candidates if m is first)
        admitted.append(Admitted(first, n))
        probed.add(cost_key(first))
        serial += post
    for model, n, shrinkable in candidates:
        if remaining <= 0:
            break
        if cost_key(model) in cost.too_slow:
            continue
        if model.kind == "dummy" and not cost.knows(cost_key(model)):  # the baseline: no fit to speak of, never probed
            admitted.insert(0, Admitted(model, n))
            serial += post
            continue
        if not cost.knows(key := cost_key(model)):
            if key not in probed:
                probed.add(key)
                if key in sizable:  # the config the first wave sizes: the kind's first worth sizing
                    probes.append(_sizing_fold(*sizable[key], remaining, jobs))
                else:
                    probes.append(Admitted(model, 1, probe=True, max_seconds=probe_limit(remaining, n, jobs)))
                    serial += post
            continue
        key = cost_key(model)
        if key not in started_kinds and cost.first_use.get(key, 0.0) > 0:
            before = loads  # every worker that runs the kind pays its first use once: count it on each
            loads = [load + cost.first_use[key] for load in loads]
        else:
            before = None
        bound = wave_budget if started_kinds else remaining  # the first config may take all the time left
        expected, worst = cost.fold_cost(model)
        cap = cap_of(model)
        fixed = not shrinkable or cap is None
        left, room = remaining - serial - post, bound - serial - post
        # the worst case must end in time, since a fold still running at the deadline is stopped (its config's other
        # folds wasted); except for a capped config whose cap may not be lowered (started) or a seed bag at its full
        # cap (its config's cost, measured): its worst case is every round up to the cap, which early stopping makes
        # unlikely, so its expected cost
        floor = (floors or {}).get(model.name)
        hard = expected if cap is not None and (not shrinkable or floor is not None) else worst
        if _fits(loads, n, expected, hard, left, room):
            admitted.append(Admitted(model, n))
            loads = lpt(loads, [expected] * n)
            started_kinds.add(key)
            serial += post
            continue
        if fixed:
            loads = before if before is not None else loads
            continue
        assert cap is not None
        unit, top = cost.unit_cost(key), cost.unit_cost(key, worst=True)
        overhead = cost.task_overhead(key)
        lo, hi = 0, cap - 1  # the largest lowered cap that fits (fitting holds up to some cap, not beyond)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            expected = overhead + unit * cost.expected_units(key, mid)
            if _fits(loads, n, expected, overhead + top * mid, left * SHRUNK_SLACK, room):
                lo = mid
            else:
                hi = mid - 1
        best, todo = lo, n
        unit_name = unit_of(model)
        assert unit_name is not None
        small = SIZING_UNITS[unit_name]
        if best < MIN_UNITS[unit_name] <= small < cap and model.name in sized and n > 1:
            # its sizing fold is that config's fold 0: seen at a 60 s limit on 200,000 rows, where 5 folds of 47
            # rounds fitted and 50 did not, so nothing but a linear model was whole
            e = overhead + unit * small
            if _fits(loads, n - 1, e, overhead + top * small, left * SHRUNK_SLACK, room):
                best, todo = small, n - 1
        if best >= max(MIN_UNITS[unit_name], floor or 0):
            admitted.append(Admitted(with_cap(model, best), todo, shrunk_from=cap))
            loads = lpt(loads, [overhead + unit * cost.expected_units(key, best)] * todo)
            started_kinds.add(key)
            serial += post
        elif before is not None:
            loads = before
    return admitted + sorted(probes, key=lambda a: prior_rank(a.model.kind))


def _sizing_fold(config: ModelSpec, folds: int, small: int, remaining: float, jobs: int) -> Admitted:
    """One fold of ``config`` cut to ``small`` rounds / epochs, stopped where its ``folds`` could not all finish."""
    return Admitted(with_cap(config, small), 1, True, max_seconds=probe_limit(remaining, folds, jobs), sizing=True)


def _fits(loads: Sequence[float], n: int, expected: float, worst: float, remaining: float, bound: float) -> bool:
    """Whether ``n`` folds end within ``remaining`` at worst and within ``bound`` as expected."""
    return max(lpt(loads, [worst] * n)) <= remaining and max(lpt(loads, [expected] * n)) <= bound


def _fit_seconds(result: FoldResult) -> float:
    return result.fit_seconds + result.predict_seconds


def _rest_seconds(result: FoldResult) -> float:
    """A fold's task beyond its fit and predictions (encoding its features), without its library's import: a
    process's one-time cost, which a fold's cost left the only measure of its kind with (``import lightgbm``, 2.5 s on
    a loaded machine, had priced each of a 300-row table's LightGBM folds at 3 s, and nothing fitted in a 12 s
    limit's 3.4 s left)."""
    return max(0.0, result.task_seconds - _fit_seconds(result) - result.import_seconds)


def _task_seconds(result: FoldResult) -> float:
    return result.task_seconds if result.task_seconds > 0 else _fit_seconds(result)


def makespan(costs: Sequence[float], jobs: int) -> float:
    return max(lpt([0.0] * jobs, costs)) if costs else 0.0


__all__ = [
    "Admitted",
    "Budget",
    "CostModel",
    "bag_floor",
    "cap_of",
    "cost_key",
    "faster_learning_rate",
    "lpt",
    "makespan",
    "plan_wave",
    "prior_rank",
    "probe_limit",
    "sizing_cap",
    "unit_of",
    "units_run",
    "with_cap",
]
