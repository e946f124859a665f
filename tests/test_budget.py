"""A time limit that holds whatever a fold costs: a fold that would overrun is stopped (its worker ended), nothing of
it is left in the store, the cheapest model is whole early, and one pool of workers serves every wave.

The slow folds are made with the fault hook (:mod:`kaggle_kit.runtime.faults`): ``epoch:1:hang`` makes a net's first
epoch
last an hour and ``fold-files:2:hang`` a worker's second fold stop with its files half-written, so the tests do not
depend on how fast the machine is."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import demo_spec

from kaggle_kit.leaderboard import leaderboard
from kaggle_kit.runtime import runner
from kaggle_kit.runtime.pool import WorkerDied, WorkerPool
from kaggle_kit.runtime.runner import RunSession, baseline_spec, run
from kaggle_kit.runtime.store import RunStore

FAST = {"num_boost_round": 12, "early_stopping_rounds": 0}
FOLDS = {"strategy": "stratified", "n_splits": 3}
LGBM = {"name": "lgbm", "kind": "lightgbm", **FAST}
MLP = {"name": "mlp", "kind": "mlp", "params": {"epochs": 3, "hidden": [16]}}


def _temps(run_dir: Path) -> list[Path]:
    """Hidden temporary files and folders (a fold or a file caught mid-write) anywhere in the run folder."""
    return [p for p in run_dir.rglob(".*") if p.name.endswith(".tmp")]


@pytest.mark.slow  # an end-to-end run: CI runs it, `make test-fast` leaves it out
def test_a_slow_first_fold_is_stopped_and_the_command_ends_within_its_limit_with_a_whole_model(
    demo_data: Path, tmp_path: Path
) -> None:
    """The net's first fold never ends (its first epoch hangs): it is stopped at its probe limit, not left to run
    past the command's limit; LightGBM, the cheapest kind, was whole early and is submitted. The next run (no limit,
    no fault) reuses every finished fold and fits only the net's."""
    limit = 25.0
    spec = demo_spec(
        "demo-breast-cancer", demo_data, run={"n_jobs": 1, "threads_per_task": 1}, folds=FOLDS, models=[MLP, LGBM]
    )
    config = tmp_path / "c.toml"
    config.write_text(spec.to_toml())
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "kaggle_kit.cli", "run", str(config), "--runs-root", str(runs)]
    env = {**os.environ, "KAGGLE_KIT_FAULT": "epoch:1:hang"}
    start = time.monotonic()
    proc = subprocess.run([*cmd, "--time-limit", str(limit)], capture_output=True, text=True, timeout=300, env=env)
    wall = time.monotonic() - start
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert wall <= limit * 1.05 + 3.0, out[-3000:]  # the margin covers starting Python on a loaded machine
    run_dir = runs / spec.run_name
    assert "mlp            repeat 0 fold 1/3  stopped after" in (run_dir / "run.log").read_text()
    ranked = {r.name: r for r in leaderboard(run_dir)}
    assert ranked["lgbm"].status == "ok" and len(ranked["lgbm"].fold_scores) == 3
    assert "mlp" not in ranked  # never whole: not ranked, blended or submitted
    assert "submission (" in proc.stdout and list((run_dir / "submissions").glob("*.csv"))
    assert _temps(run_dir) == [] and not list(run_dir.glob("models/mlp/*/folds/*"))
    assert RunStore(run_dir).read_meta()["execution"]["where"].startswith("one worker process")  # even with one job

    stamps = {p: p.stat().st_mtime_ns for p in run_dir.glob("models/*/*/folds/*/result.json")}
    bags = [m for b in RunStore(run_dir).read_meta().get("bags", {}).values() for m in b["models"][1:]]
    again = run(spec, runs_root=runs, progress=None, record_history=False)
    # the net's 3 folds; the baseline's and lgbm's reused, and those of lgbm's seed bags (kept by a plain run)
    assert again.fitted == 3 and again.reused == 6 + 3 * len(bags)
    assert all(p.stat().st_mtime_ns == s for p, s in stamps.items())
    statuses = {"baseline": "ok", "mlp": "ok", "lgbm": "ok", **dict.fromkeys(bags, "ok")}
    assert {m.name: m.status for m in again.models} == statuses


def test_a_fold_stopped_mid_write_leaves_nothing_and_its_worker_is_replaced(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's 2nd fold hangs with its files in its hidden folder; stopped at its ``max_seconds``, its worker is
    ended and that folder removed; the 1st fold stays, and the 3rd runs on a new worker of the same pool."""
    monkeypatch.setenv("KAGGLE_KIT_FAULT", "fold-files:2:hang")  # read by the workers (spawned), not this process
    spec = demo_spec("demo-breast-cancer", demo_data, run={"n_jobs": 1, "threads_per_task": 1}, folds=FOLDS)
    session = RunSession.open(spec, tmp_path, None, None, None, None, None, None)
    try:
        model = baseline_spec()
        todo, _ = session.tasks(model)
        session.start(len(todo))
        todo[1] = todo[1].__class__(**{**todo[1].__dict__, "max_seconds": 2.0})
        outcomes = session.run_tasks(todo, deadline=time.monotonic() + 240)
        assert [(t.fold, round(s)) for t, s in outcomes.stopped] == [(1, 2)] and not outcomes.errors
        assert session.pool is not None and session.pool.started == 2  # the ended worker was replaced
        left, done = session.tasks(model)
        assert [t.fold for t in left] == [1] and sorted(r.fold for r in done) == [0, 2]
        assert _temps(session.store.root) == []
    finally:
        session.close()
    assert session.pool is None


def test_one_pool_of_workers_serves_every_wave(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A time-limited run fits its models in several waves (the anchor and probes, the whole configs, rounds of
    seed bags): the worker processes are started once for all of them, not once per wave."""
    pools = []
    make = runner.make_pool

    def counting(*args, **kwargs):
        pools.append(make(*args, **kwargs))
        return pools[-1]

    monkeypatch.setattr(runner, "make_pool", counting)
    xgb = {"name": "xgb", "kind": "xgboost", **FAST}
    spec = demo_spec(
        "demo-breast-cancer", demo_data, run={"n_jobs": 2, "threads_per_task": 1}, folds=FOLDS, models=[LGBM, xgb]
    )
    lines: list[str] = []
    result = run(spec, runs_root=tmp_path, time_limit=120, progress=lines.append, record_history=False)
    assert sum(line.startswith("time limit:") for line in lines) >= 3, lines  # several waves ...
    assert len(pools) == 1 and pools[0].started <= 2  # ... one pool, its workers started once
    assert pools[0].workers == []  # closed at the end of the run
    meta = RunStore(result.run_dir).read_meta()
    assert meta["bags"] and all(m.status == "ok" for m in result.models)


def test_worker_pool_returns_values_errors_deaths_and_ends_a_worker_on_demand() -> None:
    """The pool the time limit relies on: a value comes back, an exception comes back with the worker's traceback,
    a worker that dies is a WorkerDied naming its exit code, and a worker ended mid-task is replaced on the next
    submission; the same workers serve later tasks."""
    pool = WorkerPool(2, int, ())  # int(): an initializer that does nothing

    def outcomes(n: int) -> dict:
        got: dict = {}
        deadline = time.monotonic() + 120
        while len(got) < n and time.monotonic() < deadline:
            got.update({h: (v, e) for h, v, e in pool.wait(5.0)})
        return got

    try:
        pool.submit("ok", abs, (-3,), time.monotonic())
        pool.submit("bad", int, ("x",), time.monotonic())
        got = outcomes(2)
        assert got["ok"] == (3, None)
        error = got["bad"][1]
        assert isinstance(error, ValueError) and "invalid literal" in str(error.__cause__)
        assert pool.started == 2 and pool.startup is not None and pool.startup > 0
        pool.submit("again", abs, (-5,), time.monotonic())
        assert outcomes(1) == {"again": (5, None)} and pool.started == 2  # no new process for a later task
        pool.submit("dies", os._exit, (3,), time.monotonic())
        died = outcomes(1)["dies"][1]
        assert isinstance(died, WorkerDied) and "exit code 3" in str(died)
        worker = pool.submit("hangs", time.sleep, (600,), time.monotonic())
        pool.kill(worker)
        assert not worker.process.is_alive() and pool.running() == []
        pool.submit("after", abs, (-7,), time.monotonic())
        assert outcomes(1) == {"after": (7, None)}
    finally:
        pool.close()
    assert pool.workers == []


def test_a_workers_start_and_what_it_sets_apart_as_uncounted_are_not_its_tasks_own_time() -> None:
    """A measuring fold's own limit (``max_seconds``) counted its worker's start and its library's import (``import
    lightgbm``, 2.5 s on a loaded machine): LightGBM's sizing fold on a 300-row table was stopped at a 12 s limit, the
    kind never started again, and the command failed with nothing whole. The task's clock starts once the worker is
    ready and stands still between the worker's "pause" and "resume" (pool.uncounted); the run's deadline is apart."""
    import multiprocessing

    from kaggle_kit.runtime.pool import Worker

    pool = WorkerPool(1, int, ())
    parent, child = multiprocessing.Pipe(duplex=True)
    worker = Worker(process=None, conn=parent, busy="probe", started_at=time.monotonic())
    time.sleep(0.2)  # the worker starting: reading the data
    child.send(("ready", None))
    assert pool._read(worker) is None and worker.ready
    assert time.monotonic() - worker.task_clock(time.monotonic()) < 0.1  # its task begins now
    child.send(("pause", None))
    pool._read(worker)
    time.sleep(0.2)  # importing the library
    now = time.monotonic()
    assert now - worker.task_clock(now) < 0.1  # standing still while paused
    child.send(("resume", None))
    pool._read(worker)
    time.sleep(0.1)  # the fit
    child.send(("ok", 1))
    assert pool._read(worker) == ("ok", 1)
    now = time.monotonic()
    assert 0.1 <= now - worker.task_clock(now) < 0.2


@pytest.mark.parametrize(
    ("kind", "params", "unit", "cap"),
    [
        ("realmlp", {}, "epochs", 64),  # its own default (the paper-like 64), not the mlp's 30
        ("tabm", {"epochs": 12}, "epochs", 12),
        ("hybrid", {}, "epochs", 30),  # every net kind can be shortened, the ones added later too
        ("mlp", {}, "epochs", 30),
        ("lightgbm_xt", {}, "rounds", 5000),
        ("catboost", {}, "rounds", 5000),
        ("random_forest", {}, None, None),
    ],
)
def test_the_budget_knows_each_kinds_cap_from_the_kind_itself(
    kind: str, params: dict, unit: str | None, cap: int | None
) -> None:
    from kaggle_kit.config import ModelSpec
    from kaggle_kit.runtime.search.budget import cap_of, unit_of

    model = ModelSpec(name="m", kind=kind, params=params)
    assert (unit_of(model), cap_of(model)) == (unit, cap)


def test_a_sizing_fold_measures_a_kind_before_its_config_is_sized_and_is_never_fitted_twice(
    demo_data: Path, tmp_path: Path
) -> None:
    """Before anything is whole, LightGBM at 400 rounds is first measured on one 50-round fold (its own content key:
    nothing in run.json, nothing on the leaderboard); on this small table its config then runs whole at its full
    400 rounds. A run that finds the sizing folds already in the store learns from them and fits none again."""
    lgbm = {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 400, "early_stopping_rounds": 20}
    spec = demo_spec(
        "demo-breast-cancer", demo_data, run={"n_jobs": 2, "threads_per_task": 1}, folds=FOLDS, models=[lgbm]
    )
    lines: list[str] = []
    result = run(spec, runs_root=tmp_path / "a", time_limit=120, progress=lines.append, record_history=False)
    assert any("1 short fold(s) sizing a new kind" in line for line in lines), lines
    # the sizing fold is logged as a measurement, not as the model being done
    log = (result.run_dir / "run.log").read_text()
    assert "lgbm: fold(s) measured, not whole yet" in log and log.count("lgbm: every fold finished") == 1
    meta = RunStore(result.run_dir).read_meta()
    assert "lgbm" not in meta["time_limit"]["shortened"]
    keys = sorted(p.name for p in (result.run_dir / "models" / "lgbm").iterdir())
    assert len(keys) == 2 and meta["models"]["lgbm"] in keys  # the config's key and the sizing fold's
    sizing_key = next(k for k in keys if k != meta["models"]["lgbm"])
    assert len(list((result.run_dir / "models" / "lgbm" / sizing_key / "folds").iterdir())) == 1
    assert {m.name for m in result.models} >= {"baseline", "lgbm"} and "lgbm" in meta["bags"]
    ranked = leaderboard(result.run_dir)
    assert all(r.status == "ok" for r in ranked) and sum(r.name == "lgbm" for r in ranked) == 1

    # the 50-round config fitted whole beforehand: its folds are the sizing folds a time-limited run would fit
    small = {**lgbm, "num_boost_round": 50, "params": {"learning_rate": 0.2}}  # cut from 400: 4x the rate
    run(
        demo_spec(
            "demo-breast-cancer", demo_data, run={"n_jobs": 2, "threads_per_task": 1}, folds=FOLDS, models=[small]
        ),
        runs_root=tmp_path / "b",
        progress=None,
        record_history=False,
    )
    lines.clear()
    again = run(spec, runs_root=tmp_path / "b", time_limit=120, progress=lines.append, record_history=False)
    assert not any("sizing" in line for line in lines), lines
    assert {m.name: m.status for m in again.models}["lgbm"] == "ok"
    assert RunStore(again.run_dir).read_meta()["models"]["lgbm"] == meta["models"]["lgbm"]


@pytest.mark.slow  # an end-to-end run: CI runs it, `make test-fast` leaves it out
def test_seed_bags_may_be_shortened_to_half_their_config(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner is handed each seed bag as shortenable, with half its config's rounds as the floor (the budget's
    unit test shows what it does with them): a bag of 400 rounds may be cut to 200, not below."""
    from kaggle_kit.runtime.search import driver

    real_plan = driver.plan_wave
    seen: list[tuple[str, bool, int | None]] = []

    def plan(candidates, *args, **kwargs):  # type: ignore[no-untyped-def]
        floors = kwargs.get("floors") or {}
        seen.extend((m.name, ok, floors.get(m.name)) for m, _, ok in candidates if "_s4" in m.name)
        return real_plan(candidates, *args, **kwargs)

    monkeypatch.setattr(driver, "plan_wave", plan)
    lgbm = {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 400, "early_stopping_rounds": 5}
    spec = demo_spec("demo-breast-cancer", demo_data, run={"n_jobs": 2, "threads_per_task": 1}, folds=FOLDS,
                     models=[lgbm])  # fmt: skip
    result = run(spec, runs_root=tmp_path, time_limit=120, progress=None, record_history=False)
    assert ("lgbm_s43", True, 200) in seen and all(ok and floor == 200 for _, ok, floor in seen)
    assert RunStore(result.run_dir).read_meta()["bags"]["lgbm"]["models"][:2] == ["lgbm", "lgbm_s43"]


def test_seed_bags_stop_for_a_config_whose_first_bag_changed_nothing(demo_data: Path, tmp_path: Path) -> None:
    """A linear model does not use its seed: its first seed bag scores exactly as it on every fold, so it gets no
    second (three more copies cost a 200,000-row run 18 s of a 180 s limit); LightGBM's bags go on."""
    linear = {"name": "linear", "kind": "linear"}
    spec = demo_spec(
        "demo-breast-cancer", demo_data, run={"n_jobs": 2, "threads_per_task": 1}, folds=FOLDS, models=[LGBM, linear]
    )
    result = run(spec, runs_root=tmp_path, time_limit=120, progress=None, record_history=False)
    bags = RunStore(result.run_dir).read_meta()["bags"]
    assert bags["linear"]["models"] == ["linear", "linear_s43"]
    scores = {m.name: m.fold_scores for m in result.models}
    assert scores["linear_s43"] == scores["linear"]
    assert bags["lgbm"]["models"] == ["lgbm", "lgbm_s43", "lgbm_s44", "lgbm_s45", "lgbm_s46"]


def test_a_sizing_fold_that_fails_fails_its_config_once_and_the_next_config_of_the_kind_is_sized(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sizing fold of ``lgbm`` raises (as its params would at full size): ``lgbm`` is failed with that error,
    its sizing fold is not fitted again wave after wave until the limit (each wave 'made progress' with its error),
    and ``lgbm2``, the kind's next config, is sized in its place and fitted whole."""
    from kaggle_kit.runtime.search.budget import SIZING_UNITS

    sized: list[str] = []
    real = RunSession.run_tasks

    def failing_sizing(self, tasks, deadline=None):  # type: ignore[no-untyped-def]
        sizing = [t for t in tasks if t.model.kind == "lightgbm" and t.model.num_boost_round == SIZING_UNITS["rounds"]]
        sized.extend(t.model.name for t in sizing)
        if sized.count("lgbm") > 1:
            raise AssertionError(f"the failed sizing fold of 'lgbm' was fitted again: {sized}")
        outcomes = real(self, [t for t in tasks if not (t in sizing and t.model.name == "lgbm")], deadline)
        if any(t.model.name == "lgbm" for t in sizing):
            outcomes.errors["lgbm"] = "ValueError: boom"
        return outcomes

    monkeypatch.setattr(RunSession, "run_tasks", failing_sizing)
    models = [
        {"name": name, "kind": "lightgbm", "num_boost_round": 400, "early_stopping_rounds": 20}
        for name in ("lgbm", "lgbm2")
    ]
    spec = demo_spec(
        "demo-breast-cancer", demo_data, run={"n_jobs": 2, "threads_per_task": 1}, folds=FOLDS, models=models
    )
    result = run(spec, runs_root=tmp_path, time_limit=60, progress=None, record_history=False)
    assert sized == ["lgbm", "lgbm2"]
    by_name = {m.name: m for m in result.models}
    assert by_name["lgbm"].status == "failed" and by_name["lgbm"].error == "ValueError: boom"
    assert by_name["lgbm2"].status == "ok" and len(by_name["lgbm2"].fold_scores) == 3


@pytest.mark.slow  # an end-to-end run: CI runs it, `make test-fast` leaves it out
def test_a_config_too_dear_for_all_its_folds_reuses_its_sizing_fold_as_fold_0(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LightGBM made to look dear (1.4 s a round): 3 folds of even 50 rounds do not fit the time left (2 after one
    another on 2 workers), the 2 beside its 50-round sizing fold do (1). The config runs at 50 rounds on folds 1
    and 2 only, and the sizing fold is its fold 0: fitted once, whole, recorded as shortened."""
    from kaggle_kit.runtime.search.budget import SIZING_UNITS, CostModel

    real_cost = CostModel.unit_cost
    monkeypatch.setattr(
        CostModel,
        "unit_cost",
        lambda self, kind, worst=False: 1.4 if kind == "lightgbm" else real_cost(self, kind, worst),
    )
    fitted: list[tuple[int | None, int]] = []
    real_tasks = RunSession.run_tasks

    def recording(self, tasks, deadline=None):  # type: ignore[no-untyped-def]
        fitted.extend((t.model.num_boost_round, t.fold) for t in tasks if t.model.name == "lgbm")
        return real_tasks(self, tasks, deadline)

    monkeypatch.setattr(RunSession, "run_tasks", recording)
    lgbm = {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 400, "early_stopping_rounds": 20}
    spec = demo_spec(
        "demo-breast-cancer", demo_data, run={"n_jobs": 2, "threads_per_task": 1}, folds=FOLDS, models=[lgbm]
    )
    result = run(spec, runs_root=tmp_path, time_limit=120, progress=None, record_history=False)
    small = SIZING_UNITS["rounds"]
    assert fitted == [(small, 0), (small, 1), (small, 2)]
    by_name = {m.name: m for m in result.models}
    assert by_name["lgbm"].status == "ok" and len(by_name["lgbm"].fold_scores) == 3
    meta = RunStore(result.run_dir).read_meta()
    assert meta["time_limit"]["shortened"]["lgbm"] == {"from": 400, "to": small}
    assert [p.name for p in (result.run_dir / "models" / "lgbm").iterdir()] == [meta["models"]["lgbm"]]
    # run again on that store: run.json's shortened 400 -> 50 finds all three folds, the sizing fold among them
    again = run(spec, runs_root=tmp_path, time_limit=120, progress=None, record_history=False)
    assert fitted == [(small, 0), (small, 1), (small, 2)] and again.reused >= 3
    assert RunStore(again.run_dir).read_meta()["models"]["lgbm"] == meta["models"]["lgbm"]


@pytest.mark.slow  # end-to-end runs: CI runs it, `make test-fast` leaves it out
def test_a_wave_whose_config_was_already_whole_at_its_new_size_lets_the_run_go_on(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config shortened to a size whose every fold is in the store (its 50-round twin fitted whole before) gives a
    wave with no fold to fit: the config is done there, and the run goes on to the next wave (it had taken "no fold
    finished" for "nothing fits" and stopped, leaving ``linear`` unfitted)."""
    from kaggle_kit.config import ModelSpec
    from kaggle_kit.runtime.search import driver
    from kaggle_kit.runtime.search.budget import Admitted, with_cap

    lgbm = {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 400, "early_stopping_rounds": 20}
    small = {**lgbm, "num_boost_round": 50, "params": {"learning_rate": 0.2}}  # with_cap(lgbm, 50)
    seq = {"n_jobs": 1, "threads_per_task": 1}
    run(demo_spec("demo-breast-cancer", demo_data, run=seq, folds=FOLDS, models=[small]), runs_root=tmp_path,
        progress=None, record_history=False)  # fmt: skip
    real_plan = driver.plan_wave
    calls = []

    def plan(candidates, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append([m.name for m, _, _ in candidates])
        if len(calls) == 1:  # the first wave: lgbm cut to the 50 rounds already stored, and nothing else
            model = next(m for m, _, _ in candidates if m.name == "lgbm")
            assert with_cap(model, 50) == ModelSpec.model_validate(small)
            return [Admitted(with_cap(model, 50), 2, shrunk_from=400)]
        return real_plan(candidates, *args, **kwargs)

    monkeypatch.setattr(driver, "plan_wave", plan)
    linear = {"name": "linear", "kind": "linear"}
    spec = demo_spec("demo-breast-cancer", demo_data, run=seq, folds=FOLDS, models=[lgbm, linear])
    result = run(spec, runs_root=tmp_path, time_limit=120, progress=None, record_history=False)
    status = {m.name: m.status for m in result.models}
    assert status["lgbm"] == "ok" and status["linear"] == "ok", status
    assert len(calls) >= 2


@pytest.mark.slow  # an end-to-end run: CI runs it, `make test-fast` leaves it out
def test_the_other_fold_of_a_config_started_from_its_sizing_fold_is_not_called_a_measurement(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2 folds, 1 worker: the config started beside its sizing fold has one fold to fit, which the progress line
    had counted as a probe ("measuring a new kind"); a probe is a task with a time limit of its own, as the random
    forest's first fold in the same wave."""
    from kaggle_kit.runtime.search.budget import CostModel

    real_cost = CostModel.unit_cost
    monkeypatch.setattr(
        CostModel,
        "unit_cost",
        lambda self, kind, worst=False: 1.4 if kind == "lightgbm" else real_cost(self, kind, worst),
    )
    lgbm = {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 400, "early_stopping_rounds": 20}
    spec = demo_spec(
        "demo-breast-cancer",
        demo_data,
        run={"n_jobs": 1, "threads_per_task": 1},
        folds={"strategy": "stratified", "n_splits": 2},
        models=[lgbm, {"name": "rf", "kind": "random_forest", "params": {"n_estimators": 10}}],
    )
    lines: list[str] = []
    result = run(spec, runs_root=tmp_path, time_limit=120, progress=lines.append, record_history=False)
    assert RunStore(result.run_dir).read_meta()["time_limit"]["shortened"]["lgbm"]["to"] == 50
    waves = [line for line in lines if line.startswith("time limit: ") and " fold(s) now" in line]
    assert waves[1].startswith("time limit: 2 model(s), 2 fold(s) now (1 measuring a new kind);"), waves
