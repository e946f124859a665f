"""Fitting a run's models in waves: a search's configs, a wall-clock budget, TPE batches and seed bags.

:func:`drive` is what :func:`kaggle_kit.runtime.runner.run` calls when the run has a ``[search]``, a time limit or extra
models. Every config is a model of the run (``lightgbm_c007``): its own content key, folds, OOF and test
predictions in the store, so a stopped search resumes without refitting anything and a larger ``n_configs`` fits
only the new configs. Without a time limit a random search is one wave of every unfinished fold (the same as a
plain run); TPE asks and tells in batches of ``search.batch`` configs. With a time limit the waves are planned by
:mod:`kaggle_kit.runtime.search.budget`, and time left over when every config is done goes to seed bags of the best
ones:
``<config>_s<seed>``, the same config refitted with another seed, recorded under ``bags`` in run.json so that their
OOF predictions can be averaged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from ...config import BASELINE_NAME, ModelSpec, SearchSpec
from ...errors import name_a_few
from ..store import ModelResult
from .budget import Budget, CostModel, bag_floor, cap_of, cost_key, plan_wave, with_cap
from .plan import Config, build_model, check_search, config_order, default_params, random_configs, search_seed
from .recorded import Recorded
from .sampler import TPESearch
from .spaces import SPACES

if TYPE_CHECKING:  # the runner imports this module lazily
    from ..executors import Task
    from ..runner import FitOutcome, RunSession

BAG_TOP = 3  #: seed bags go to this many of the best configs
BAG_SEEDS = 4  #: at most this many other seeds per config
SEARCH_DB = ("search", "search.db")  #: the TPE study, inside the run folder


class Proposer(Protocol):
    #: True when the next configs depend on the results of the last ones (asked only once they are done)
    waits: bool

    def more(self) -> bool: ...

    def next(self) -> list[Config]: ...

    def tell(self, result: ModelResult) -> None: ...


class RandomProposer:
    """Every config of a random search, in order (they do not depend on results)."""

    waits = False

    def __init__(self, configs: list[Config]) -> None:
        self.configs = configs

    def more(self) -> bool:
        return bool(self.configs)

    def next(self) -> list[Config]:
        out, self.configs = self.configs, []
        return out

    def tell(self, result: ModelResult) -> None:
        pass


class TPEProposer:
    """Configs asked of the Optuna study ``search.batch`` at a time; configs asked before (a stopped search) are taken
    back. The batch is the spec's, not the worker count: a batch's configs are asked before any of them is told, so
    batches of the worker count asked other configs at ``n_jobs`` 1 and 2 (from the 12th on, past TPE's random start)
    and on machines of other core counts, from one seed."""

    waits = True

    def __init__(self, search: SearchSpec, session: RunSession) -> None:
        self.search = search
        self.tpe = TPESearch(
            session.store.root.joinpath(*SEARCH_DB),
            seed=search_seed(search, session.spec),
            maximize=session.metric.greater_is_better,
        )
        self.asked = self.tpe.asked()
        self.numbers: dict[str, int] = {}
        self.todo = config_order(search)

    def more(self) -> bool:
        return bool(self.todo)

    def next(self) -> list[Config]:
        out, k = [], self.search.batch
        for index, family in self.todo[:k]:
            space = SPACES[family]
            name = f"{family}_c{index:03d}"
            if index == 0 and self.search.include_default:
                params = default_params(space)
            elif name in self.asked:
                self.numbers[name], params = self.asked[name]
            else:
                self.numbers[name], params = self.tpe.ask(space, name, index)
            out.append(Config(family, index, params, build_model(self.search, family, index, params)))
        self.todo = self.todo[k:]
        return out

    def tell(self, result: ModelResult) -> None:
        if result.name in self.numbers:
            self.tpe.tell(self.numbers[result.name], result.cv if result.status == "ok" else None)


@dataclass
class Item:
    """A model waiting to be fitted: a plain model, a search config or a seed bag."""

    model: ModelSpec
    config: Config | None = None
    bag_of: str | None = None
    started: bool = False  #: some of its folds are finished: its key is fixed (its cap is never lowered)
    todo: list[Task] | None = None  #: its unfinished folds (None: not looked up in the store yet)
    sizing: bool = False  #: a sizing fold of a config (budget.SIZING_UNITS): measures its kind, is not a model

    @property
    def shrinkable(self) -> bool:
        """Its cap may be lowered: not started (a seed bag to no less than half its config's, budget.bag_floor)."""
        return not self.started and self.model.name != BASELINE_NAME


def drive(
    session: RunSession,
    models: Sequence[ModelSpec],
    *,
    search: SearchSpec | None,
    time_limit: float | None,
    started: float,
    keep: Sequence[ModelSpec] = (),
    recorded: Recorded | None = None,
    submits: bool = False,
) -> FitOutcome:
    """Fit ``models`` and the configs of ``search`` under ``time_limit`` seconds counted from ``started``
    (``time.monotonic()``); ``keep``: models run.json lists although this call fits none of their folds;
    ``recorded``: what earlier commands fitted and recorded (seed bags, shortened models), kept where unchanged;
    ``submits``: the caller submits after the fits (the CLI's time-limited command; a Python ``run`` never does)."""
    from ..runner import FitOutcome

    spec = session.spec
    budget = Budget(time_limit, started) if time_limit is not None else None
    proposer: Proposer | None = None
    n_models = len(models)
    if search is not None:
        check_search(search, spec)
        if search.sampler == "tpe":
            proposer = TPEProposer(search, session)
        else:
            proposer = RandomProposer(random_configs(search, spec))
        n_models += sum(search.count(f) for f in search.families)
    session.check(models)
    session.check_sample(submits=submits)  # the CLI's time-limited command submits after its fits
    session.start(n_models * len(session.folds.tasks()), in_workers=budget is not None)

    state = _State(session, budget, keep, recorded, reserved={m.name for m in [*models, *keep]})
    queue = [Item(m) for m in models]
    parked: list[Item] = []  #: models that did not fit in the time left (not started, or incomplete)
    bag_round = 0
    while True:
        if proposer is not None and proposer.more() and not (queue and proposer.waits):
            configs = proposer.next()
            # a family's overrides are checked on its first config now; every config is checked before its first fold
            # (run_wave): checking hundreds at once (XGBoost's parameter probes) would eat a time limit's start
            families = {c.family: c.model for c in reversed(configs)}
            session.check([m for m in families.values() if m.name not in state.checked])
            state.checked.update(m.name for m in families.values())
            queue += [Item(c.model, config=c) for c in configs]
        while not queue and budget is not None and bag_round < BAG_SEEDS and budget.remaining() > 0:
            bag_round += 1  # a round whose bags an earlier command fitted (kept already) has none to add
            queue = state.bags(bag_round)
        if not queue:
            break
        queue = state.take_finished(queue, proposer)
        if not queue:
            continue
        queue.sort(key=lambda it: not it.started)  # configs already started finish first
        wave = state.plan(queue)
        if not wave and budget is not None and budget.remaining() > 0 and not (proposer and proposer.more()):
            # nothing left fits in the time that is left (it only shrinks): set it aside and bag the best configs
            parked += queue
            queue = []
            continue
        if not wave or not state.run_wave(wave, queue, proposer):  # nothing fits, or a wave finished nothing
            break
    results = state.finish(queue + parked)
    return FitOutcome(results, fitted=state.fitted, reused=state.reused, notes=state.notes(search, queue + parked))


class _State:
    """What :func:`drive` has done so far: the models of the run, their results, costs, bags."""

    def __init__(
        self,
        session: RunSession,
        budget: Budget | None,
        keep: Sequence[ModelSpec],
        recorded: Recorded | None = None,
        reserved: set[str] | None = None,
    ) -> None:
        self.session, self.budget = session, budget
        self.recorded = recorded = recorded or Recorded()
        #: the names of the models given (a seed bag never takes one: run.json would list it under the bag's key)
        self.reserved: set[str] = reserved or set()
        self.cost = CostModel()
        self.order: dict[str, ModelSpec] = {}  # run.json's models, in order
        self.results: dict[str, ModelResult] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.shrunk: dict[str, tuple[int, int]] = {}
        self.bag_members: dict[str, list[str]] = {}
        self.fitted = self.reused = 0
        self.checked: set[str] = set()  #: configs whose params were checked (session.check)
        self.waves = 0  #: waves run so far
        self.slots = session.jobs  #: tasks that can run at once: the workers, or fewer when the last wave ran fewer
        self.sized: set[str] = set()  #: configs whose sizing fold is stored (fold 0 of the config at SIZING_UNITS)
        # configs an earlier time-limited run shortened: their folds are kept and resumed, not refitted at full size
        previous = session.store.read_meta() if budget is not None and session.store.exists() else {}
        self.shortened_before: dict[str, int] = {
            name: int(v["to"]) for name, v in previous.get("time_limit", {}).get("shortened", {}).items()
        }
        for model in keep:  # listed as the last command fitted them (a lowered cap), with their seed bags
            fitted = recorded.as_fitted(model, session.key)
            self.order[model.name] = fitted or model
            if fitted is not None:
                self._keep_bags(fitted, assemble=False)

    # ------------------------------------------------------------------ bookkeeping
    def _record(self, item: Item) -> None:
        self.order[item.model.name] = item.model
        if item.config is not None:
            c = item.config
            self.configs[item.model.name] = {"family": c.family, "index": c.index, "params": c.params}
        if item.bag_of is not None and item.model.name not in self.bag_members.setdefault(item.bag_of, []):
            self.bag_members[item.bag_of].append(item.model.name)

    def _done(self, item: Item, error: str | None, proposer: Proposer | None) -> None:
        result = self.session.assemble(item.model, error)
        self.results[item.model.name] = result
        self._record(item)
        if proposer is not None and item.config is not None:
            proposer.tell(result)
        if result.status == "ok" and item.bag_of is None:
            self._keep_bags(item.model, assemble=True)

    def _keep_bags(self, model: ModelSpec, assemble: bool) -> None:
        """List the seed bags of ``model`` (as fitted) that an earlier command recorded, unchanged and whole in the
        store (a plain or ``--only`` run fits no bag; a time-limited one would make the same ones again); with
        ``assemble``, as models of this command's results too."""
        if model.name in self.bag_members:
            return
        if self.recorded.lowered(model) and model.name not in self.shrunk:
            short = self.recorded.shortened[model.name]
            self.shrunk[model.name] = (int(short["from"]), int(short["to"]))
        for bag in self.recorded.bags_of(model, self.session.key, lambda b: not self.session.tasks(b)[0]):
            if bag.name in self.reserved or bag.name in self.order:
                continue
            self.order[bag.name] = bag
            self.bag_members.setdefault(model.name, []).append(bag.name)
            if self.recorded.lowered(bag):
                short = self.recorded.shortened[bag.name]
                self.shrunk[bag.name] = (int(short["from"]), int(short["to"]))
            if assemble:
                self.results[bag.name] = self.session.assemble(bag, None)
                self.reused += len(self.session.folds.tasks())

    def take_finished(self, queue: list[Item], proposer: Proposer | None) -> list[Item]:
        """Assemble the items whose folds are all in the store already (a resumed or repeated run); learn the cost
        of every finished fold met for the first time."""
        left = []
        for item in queue:
            if item.todo is None and item.model.name in self.shortened_before and cap_of(item.model) is not None:
                short = with_cap(item.model, self.shortened_before[item.model.name])
                todo, done = self.session.tasks(short)
                if done:
                    self.shrunk[item.model.name] = (cap_of(item.model) or 0, self.shortened_before[item.model.name])
                    item.model, item.todo, item.started = short, todo, True
                    self.reused += len(done)
                    for res in done:
                        self.cost.observe(item.model, res)
            if item.todo is None:
                item.todo, done = self.session.tasks(item.model)
                self.reused += len(done)
                for res in done:
                    self.cost.observe(item.model, res)
                item.started = item.started or bool(done)
            if item.todo:
                left.append(item)
            else:
                self._done(item, None, proposer)
        self.write_meta()
        return left

    # ------------------------------------------------------------------ waves
    def plan(self, queue: list[Item]) -> list[tuple[Item, int]]:
        """(item, how many of its unfinished folds) to fit now; an item's model may come back with a lowered cap."""
        counts = {it.model.name: len(it.todo or []) for it in queue}
        if self.budget is None:
            return [(it, counts[it.model.name]) for it in queue]
        remaining = self.budget.remaining()
        if remaining <= 0:
            return []
        by_name = {it.model.name: it for it in queue}
        candidates = [(it.model, counts[it.model.name], it.shrinkable) for it in queue]
        whole = any(r.status == "ok" and r.kind != "dummy" for r in self.results.values())
        pool = self.session.pool
        startup = None  # no worker yet: what the first wave took beyond its tasks (the cost model's guess)
        if pool is not None and pool.pids():
            startup = 0.0  # its workers are started: nothing to pay again
        elif pool is not None and pool.startup is not None:
            startup = pool.startup  # a worker to start again (one was ended): what the last start took
        floors: dict[str, int] = {}  # a seed bag's lowest cap
        for it in queue:
            if it.bag_of is not None and (floor := bag_floor(self.order[it.bag_of])) is not None:
                floors[it.model.name] = floor
        wave = []
        planned = plan_wave(
            candidates,
            self.cost,
            remaining,
            self.slots,
            anchor=not whole,
            startup=startup,
            sized=self.sized,
            floors=floors,
        )
        # sizing folds first, before any item is changed: one measured by an earlier run that stopped after it is
        # learnt and the wave planned again (a config the first plan shortened would keep that cap, and be recorded
        # as shortened, though the second plan leaves it out)
        sizing_todo = {}
        for adm in planned:
            if adm.sizing:
                todo, done = self.session.tasks(adm.model)
                if done:
                    for res in done:
                        self.cost.observe(adm.model, res, sizing=True)
                    self.sized.add(adm.model.name)
                    return self.plan(queue)
                sizing_todo[adm.model.name] = todo
        for adm in planned:
            if adm.sizing:
                limits = {"max_seconds": adm.max_seconds, "start_within": adm.max_seconds}
                todo = sizing_todo[adm.model.name]
                wave.append((Item(adm.model, sizing=True, todo=[replace(t, **limits) for t in todo[:1]]), 1))
                continue
            item = by_name[adm.model.name]
            if adm.shrunk_from is not None:
                self.shrunk[item.model.name] = (adm.shrunk_from, cap_of(adm.model) or 0)
                item.model = adm.model
                item.todo = self.session.tasks(adm.model)[0]
            # a probe may run for max_seconds, and not start later than that into the wave (the next wave probes it)
            item.todo = [replace(t, max_seconds=adm.max_seconds, start_within=adm.max_seconds) for t in item.todo or []]
            wave.append((item, adm.n_tasks))
        return wave

    def run_wave(self, wave: list[tuple[Item, int]], queue: list[Item], proposer: Proposer | None) -> bool:
        """Fit the wave's folds; True when progress was made (a fold finished, failed or was stopped, or a config
        is done)."""
        import time

        self.waves += 1
        unchecked = [item.model for item, _ in wave if item.config is not None and item.model.name not in self.checked]
        self.session.check(unchecked)
        self.checked.update(m.name for m in unchecked)
        tasks: list[Task] = []
        for item, n in wave:
            tasks += (item.todo or [])[:n]
            if not item.sizing:
                item.started = True
                self._record(item)
        self.write_meta()
        if self.budget is not None:
            # a probe: a config's one fold with a time limit of its own (not a sizing fold)
            probes = sum(1 for it, n in wave if not it.sizing and any(t.max_seconds for t in (it.todo or [])[:n]))
            sizing = sum(1 for it, _ in wave if it.sizing)
            self.session.say(
                f"time limit: {len(wave) - sizing} model(s), {len(tasks)} fold(s) now"
                + (f" ({probes} measuring a new kind)" if probes else "")
                + (f" ({sizing} short fold(s) sizing a new kind)" if sizing else "")
                + f"; {self.budget.remaining():.1f} s left before the reserve of {self.budget.reserve:.1f} s"
            )
        start = time.monotonic()
        pool = self.session.pool
        spawned = pool.started if pool is not None else 0
        outcomes = self.session.run_tasks(tasks, self.budget.deadline() if self.budget is not None else None)
        errors = outcomes.errors
        for task, _seconds in outcomes.stopped:
            if task.max_seconds is not None:  # a probe: one fold of the kind takes longer than its config could
                self.cost.too_slow.add(cost_key(task.model))
        folds = []
        finished = set()
        for task in tasks:
            res = self.session.store.finished(task.model.name, task.key, task.repeat, task.fold)
            if res is not None:
                folds.append((task.model, res))
                finished.add((task.model.name, task.repeat, task.fold))
        # fitted: the folds now in the store, as without a time limit (RunSession.fit_all); neither a failed model's
        # folds (they were counted) nor the stopped ones
        self.fitted += len(finished)
        post, completed = 0.0, 0
        for item, _ in wave:
            if item.sizing:  # its fold only measured the kind (observed below); the config is planned next wave
                if any((t.model.name, t.repeat, t.fold) in finished for t in item.todo or []):
                    self.sized.add(item.model.name)
                config = next((it for it in queue if it.model.name == item.model.name), None)
                if item.model.name in errors and config is not None:
                    # its config would fail alike at full size: failed now, else the kind, still unmeasured, would
                    # be sized again with this config every wave until the limit; the kind's next config is sized
                    self._done(config, errors[item.model.name], proposer)
                    queue.remove(config)
                continue
            item.todo = [t for t in item.todo or [] if (t.model.name, t.repeat, t.fold) not in finished]
            if item.model.name in errors or not item.todo:
                t0 = time.monotonic()
                self._done(item, errors.get(item.model.name), proposer)
                self.cost.observe_post(time.monotonic() - t0)
                post += time.monotonic() - t0
                queue.remove(item)
                completed += 1
        self.write_meta()
        # worker processes started during the wave (the first, or replacing one a stopped probe ended) read the data
        # and import their libraries: what the wave took beyond its tasks is counted as their start
        pool = self.session.pool
        fresh = (pool is not None and pool.started > spawned) or self.session.settings.executor == "ray"
        stopped = [seconds for _, seconds in outcomes.stopped]
        if len(tasks) >= self.session.jobs and outcomes.peak:  # the tasks that ran at once: fewer under load
            self.slots = min(self.session.jobs, outcomes.peak)
        sized = frozenset(t.key for it, _ in wave if it.sizing for t in it.todo or [])
        self.cost.observe_wave(time.monotonic() - start - post, folds, self.slots, fresh, stopped, sized)
        # progress: a fold finished, failed or was stopped, or a config is done (one whose folds at a shortened size
        # were all in the store had none to fit)
        return bool(finished or errors or stopped or completed)

    # ------------------------------------------------------------------ seed bags
    def bags(self, round_: int) -> list[Item]:
        """Round ``round_`` of seed bags: the best configs (by fold mean), each refitted with seed + ``round_``."""
        from ...leaderboard import rank

        bagged = {name for names in self.bag_members.values() for name in names}
        ok = [
            r
            for r in self.results.values()
            if r.status == "ok"
            and r.name != BASELINE_NAME
            and r.name not in bagged
            and r.kind != "dummy"
            and not self._seed_blind(r)
        ]
        items = []
        for r in rank(ok, self.session.metric)[:BAG_TOP]:
            model = self.order[r.name]
            seed = (self.session.spec.seed if model.seed is None else model.seed) + round_
            name = f"{r.name}_s{seed}"
            if name in self.order or name in self.reserved:
                continue
            try:
                bag = ModelSpec.model_validate({**model.model_dump(), "name": name, "seed": seed})
            except ValueError:  # the name would be too long: no bag for this one
                continue
            items.append(Item(bag, bag_of=r.name))
        return items

    def _seed_blind(self, config: ModelResult) -> bool:
        """Whether a seed bag of ``config`` scored exactly as the config on every fold: its kind does not use the seed
        (a linear model), so more bags would be copies; the time goes to the next best config instead."""
        members = (self.results.get(m) for m in self.bag_members.get(config.name, []))
        return any(m is not None and m.status == "ok" and m.fold_scores == config.fold_scores for m in members)

    # ------------------------------------------------------------------ the end
    def finish(self, queue: list[Item]) -> tuple[ModelResult, ...]:
        """Configs left with some folds are "incomplete: time limit"; the others were never started."""
        for item in queue:
            if item.started:  # without a time limit, folds left unfinished are a failure ("N fold(s) unfinished")
                cut = "time limit" if self.budget is not None else None
                self.results[item.model.name] = self.session.assemble(item.model, None, incomplete=cut)
                self._record(item)
        self.write_meta()
        return tuple(self.results[name] for name in self.order if name in self.results)

    def write_meta(self) -> None:
        if self.budget is not None:
            self.budget.models = len(self.order)
        extra: dict[str, Any] = {}
        if self.configs:
            extra["search"] = {"configs": self.configs}
        bags = {}
        for config, members in self.bag_members.items():  # a bag the time limit cut short is left out
            kept = [m for m in members if m not in self.results or self.results[m].status == "ok"]
            if kept:
                bags[config] = {"models": [config, *kept], "seeds": [self._seed(config), *map(self._seed, kept)]}
        if bags:
            extra["bags"] = bags
        if self.budget is None and self.shrunk:  # kept from an earlier time-limited command
            extra["time_limit"] = {"shortened": {name: {"from": a, "to": b} for name, (a, b) in self.shrunk.items()}}
        if self.budget is not None:
            extra["time_limit"] = {
                "limit_s": self.budget.limit,
                "reserve_s": round(self.budget.reserve, 3),
                "used_s": round(self.budget.used(), 3),
                "shortened": {name: {"from": a, "to": b} for name, (a, b) in self.shrunk.items()},
                "incomplete": [n for n, r in self.results.items() if r.status == "incomplete"],
            }
        self.session.write_meta(list(self.order.values()), extra)

    def _seed(self, name: str) -> int:
        model = self.order[name]
        return self.session.spec.seed if model.seed is None else model.seed

    def notes(self, search: SearchSpec | None, queue: list[Item]) -> tuple[str, ...]:
        lines = []
        if search is not None:
            total = sum(search.count(f) for f in search.families)
            lines.append(
                f"search ({search.sampler}, seed {search_seed(search, self.session.spec)}): {len(self.configs)} of "
                f"{total} config(s) of {', '.join(search.families)} started"
            )
            if search.sampler == "tpe":
                path = self.session.store.root.joinpath(*SEARCH_DB)
                lines.append(f"TPE study: optuna.load_study(study_name='search', storage='sqlite:///{path}')")
        if self.budget is not None:
            # named: a model of the spec (or a search's config) the limit left out is missing from the leaderboard
            not_started = [it.model.name for it in queue if not it.started and it.bag_of is None]
            bags_left = sum(1 for it in queue if not it.started and it.bag_of is not None)
            incomplete = [n for n, r in self.results.items() if r.status == "incomplete"]
            bags = sum(len(m) for m in self.bag_members.values())
            parts = [f"time limit {self.budget.limit:g} s: fitting ended at {self.budget.used():.1f} s"]
            if not_started:
                parts.append(f"{len(not_started)} model(s) not started ({name_a_few(not_started, 'models', ', ')})")
            if not self.waves:  # not one fold started: the time went before the first wave, not to the models
                parts.append(
                    "no fold could start: the limit had gone to what comes before the fits (reading the data, checking "
                    "the models, the reserve for what follows them)"
                )
            if bags_left:
                parts.append(f"{bags_left} seed bag(s) not started")
            if incomplete:
                parts.append(f"{len(incomplete)} incomplete")
            if self.shrunk:
                first, (a, b) = next(iter(self.shrunk.items()))
                parts.append(f"{len(self.shrunk)} shortened (e.g. {first}: {a} -> {b} rounds/epochs)")
            if bags:
                parts.append(f"{bags} seed bag(s) of {len(self.bag_members)} config(s)")
            lines.append("; ".join(parts))
        return tuple(lines)
