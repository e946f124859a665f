"""Executors: the load-aware thread rule, Ray's per-task resources, the run options, and a real run on a local Ray
whose OOF predictions must equal a sequential run's byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_breast_cancer

from kaggle_kit.config import RunSpec, build_spec
from kaggle_kit.errors import ConfigError
from kaggle_kit.metrics import get_metric
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.runtime import threads
from kaggle_kit.runtime.executors import Context, Job, Task, execute, run_tasks
from kaggle_kit.runtime.pool import SCRIPT_RERAN_EXIT, WorkerDied, WorkerPool
from kaggle_kit.runtime.ray_executor import TaskResources, gpu_share, task_resources
from kaggle_kit.runtime.runner import RunSession, resolve_folds, run
from kaggle_kit.runtime.store import FoldResult, RunStore
from kaggle_kit.runtime.threads import (
    THREAD_ENV_VARS,
    MachineLoad,
    available_cores,
    own_load,
    task_threads,
    thread_env,
)


# --------------------------------------------------------------------------------------------- the thread rule
@pytest.mark.parametrize(
    ("cores", "jobs", "others", "threads"),
    [
        (2, 1, 0.0, 2),  # idle machine: every core
        (2, 1, 0.4, 2),  # a little noise does not take a core away
        (2, 1, 0.5, 2),  # half a core busy: rounded half down, still free
        (2, 1, 0.6, 1),  # more than half a core busy: that core is taken
        (2, 1, 1.0, 1),  # the measured case: another process busy on a 2-core machine -> one thread, no spin-wait
        (2, 2, 0.0, 1),
        (2, 1, 7.0, 1),  # overloaded: never fewer than one thread
        (16, 4, 0.0, 4),
        (16, 4, 4.2, 3),  # 12 cores free, 4 jobs
        (16, 1, 3.5, 13),  # 3.5 rounds half down to 3
        (16, 32, 0.0, 1),
    ],
)
def test_task_threads_discounts_the_load_of_other_processes(cores: int, jobs: int, others: float, threads: int) -> None:
    assert task_threads(cores, jobs, others) == threads


def test_available_cores_is_between_one_and_all() -> None:
    assert [available_cores(4, load) for load in (-1.0, 0.0, 1.0, 2.6, 3.9, 100.0)] == [4, 4, 3, 1, 1, 1]
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        task_threads(4, 0, 0.0)


def _spin(seconds: float, started: object = None) -> None:
    if started is not None:
        started.set()  # type: ignore[attr-defined]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time as the scheduler counts it (``/proc/<pid>/schedstat``, ns): apart from the clock ticks
    of ``/proc/<pid>/stat`` that the thread rule reads."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


class _Around:
    """Clock and CPU seconds of some processes read just before and just after a call: what those processes ran
    between two calls' readings lies between the inner and the outer differences, whatever else the machine does."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.before = self.after = (0.0, [0.0] * len(pids))

    def _read(self) -> tuple[float, list[float]]:
        return time.monotonic(), [_cpu_seconds(p) for p in self.pids]

    def call(self, fn, *args):
        self.before = self._read()
        out = fn(*args)
        self.after = self._read()
        return out

    def share(self, since: _Around, i: int) -> tuple[float, float]:
        """Bounds on process ``i``'s cores used between a reading inside ``since``'s call and one inside this."""
        inner = (self.before[1][i] - since.after[1][i]) / (self.after[0] - since.before[0])
        outer = (self.after[1][i] - since.before[1][i]) / (self.before[0] - since.after[0])
        return inner, outer


def test_measured_load_is_the_cores_busy_between_two_readings_less_this_runs_own() -> None:
    me, cores = os.getpid(), threads.cpu_count()
    tick = os.sysconf("SC_CLK_TCK")
    before = threads.CpuSample(at=0.0, busy=0, total=1000, own={me: 0}, boot_age=1e12)
    # half the cores' ticks busy over 5 s; this process ran 0.1 of a core of it; 4242424 was not known before
    now = threads.CpuSample(at=5.0, busy=500, total=2000, own={me: int(0.5 * tick), 4242424: 10**6}, boot_age=1e12)
    load = threads.measured_load(before, now)
    assert load.load == pytest.approx(cores * 0.5) and load.own == pytest.approx(0.1, abs=0.01)
    # a process absent from the first reading counts all its CPU when it started after that reading (a new worker:
    # this one started after boot), none when it started before (its CPU in between is not known)
    after_boot = threads.CpuSample(at=0.0, busy=0, total=1000, own={}, boot_age=0.0)
    assert threads.measured_load(after_boot, now).own == pytest.approx(0.1, abs=0.01)
    long_after = threads.CpuSample(at=0.0, busy=0, total=1000, own={}, boot_age=1e12)
    assert threads.measured_load(long_after, now).own == 0.0


def test_a_busy_process_counts_as_other_load_unless_it_is_one_of_the_runs_workers(monkeypatch) -> None:
    """Checked against what the spinner and this process actually ran (their scheduler CPU time), so that it holds
    however busy other processes keep the machine."""
    import multiprocessing

    if not Path(f"/proc/{os.getpid()}/schedstat").is_file():
        pytest.skip("no /proc/<pid>/schedstat to check the readings against")
    monkeypatch.setattr(threads, "_last", [])
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    spinner = context.Process(target=_spin, args=(60.0, started), daemon=True)
    spinner.start()
    me, window = os.getpid(), 0.5
    slack = 2 / os.sysconf("SC_CLK_TCK") / window + 0.02  # a clock tick at each end per process, and the rounding
    try:
        assert started.wait(60), "the spinner did not start"
        first = _Around([spinner.pid, me])
        first.call(threads.take_reading)
        time.sleep(window)
        seen = _Around([spinner.pid, me])
        load = seen.call(threads.machine_load)
        spinning, _ = seen.share(first, 0)
        assert load.others >= spinning - 0.1  # its CPU is busy cores (0.1: /proc/stat samples them at each tick)
        assert load.own <= seen.share(first, 1)[1] + slack  # this process's alone
        time.sleep(window)
        theirs = _Around([spinner.pid, me])
        load = theirs.call(threads.machine_load, [spinner.pid])
        # a worker not known at the last reading that started before it: none of its CPU is taken as this run's
        assert load.own <= theirs.share(seen, 1)[1] + slack
        time.sleep(window)
        mine = _Around([spinner.pid, me])
        load = mine.call(threads.machine_load, [spinner.pid])
        low, high = mine.share(theirs, 0)
        assert low - slack <= load.own <= high + mine.share(theirs, 1)[1] + 2 * slack
        assert low > 0.05  # the spinner did run: what this checks is not vacuous
    finally:
        spinner.terminate()
        spinner.join()


def test_a_reading_taken_before_lets_the_next_measure_without_waiting(monkeypatch) -> None:
    monkeypatch.setattr(threads, "_last", [])
    me = [os.getpid()]
    first = _Around(me)
    first.call(threads.take_reading)
    _spin(0.3)  # this process busy meanwhile (a run reading its data)
    monkeypatch.setattr(threads.time, "sleep", lambda s: pytest.fail("it waited for a second reading"))
    second = _Around(me)
    load = second.call(threads.machine_load)
    low, high = second.share(first, 0)  # measured over the 0.3 s since the reading: this process's own CPU
    slack = 2 / os.sysconf("SC_CLK_TCK") / 0.3 + 0.02
    assert low - slack <= load.own <= high + slack and low > 0.05


def test_cpu_sample_reads_the_busy_and_all_ticks_of_this_processs_cores(monkeypatch) -> None:
    """``/proc/stat`` lines of the affinity's cores only (not the all-cores line, nor cpu10 for cpu1): busy is user,
    nice, system, irq, softirq and steal; all is those and idle and iowait (guest time is already in user / nice)."""
    files = {
        "/proc/stat": "cpu  9 9 9 9 9 9 9 9 9 9\n"
        "cpu0 10 1 5 100 7 2 3 4 50 60\n"
        "cpu1 999 999 999 999 999 999 999 999 0 0\n"
        "cpu2 20 0 10 200 0 0 0 0 0 0\n"
        "cpu10 999 999 999 999 999 999 999 999 0 0\n"
        "intr 12345 0 0\nctxt 999\n",
        "/proc/uptime": "4711.25 9000.00\n",
    }

    class FakePath:
        def __init__(self, path: str) -> None:
            self.path = str(path)

        def read_text(self) -> str:
            if self.path not in files:
                raise FileNotFoundError(self.path)
            return files[self.path]

    monkeypatch.setattr(threads, "Path", FakePath)
    monkeypatch.setattr(threads, "_affinity", lambda: [0, 2])
    sample = threads.cpu_sample([4242424])
    assert sample is not None
    assert (sample.busy, sample.total, sample.boot_age) == (10 + 1 + 5 + 2 + 3 + 4 + 20 + 10, 132 + 230, 4711.25)
    assert sample.own == {}  # a process that is gone is left out
    files["/proc/stat"] = "cpu  1 2 3 4 5 6 7 8\n"
    assert threads.cpu_sample([]) is None  # no line for its cores: not measurable


def test_machine_load_measures_from_the_last_reading_and_waits_only_without_a_recent_one(monkeypatch) -> None:
    """Which two readings each call measures between, on a fake clock: the window is encoded in the result."""
    clock, sleeps, fallback = [0.0], [], threads.MachineLoad(1, -1.0, 0.0)

    def sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 6))
        clock[0] += seconds

    def sample(pids) -> threads.CpuSample:
        return threads.CpuSample(at=clock[0], busy=0, total=1, own={}, boot_age=0.0)

    monkeypatch.setattr(threads, "_last", [])
    monkeypatch.setattr(threads.time, "sleep", sleep)
    monkeypatch.setattr(threads, "cpu_sample", sample)
    monkeypatch.setattr(threads, "measured_load", lambda a, b: threads.MachineLoad(1, round(a.at, 6), round(b.at, 6)))
    monkeypatch.setattr(threads, "_load_average", lambda workers=(): fallback)

    def at(t: float, **kwargs) -> tuple[float, float]:
        clock[0] = t
        load = threads.machine_load(**kwargs)
        return (load.load, load.own)

    assert at(0.0) == (0.0, threads.FIRST_WINDOW) and sleeps == [threads.FIRST_WINDOW]  # none before: it waits
    assert at(threads.FIRST_WINDOW + 0.01) == (0.0, threads.FIRST_WINDOW)  # a moment later: the same reading
    assert at(3.0) == (threads.FIRST_WINDOW, 3.0) and len(sleeps) == 1  # from the last reading, no wait
    late = 3.0 + threads.RECENT_SECONDS + 1
    clock[0] = late
    assert threads.machine_load(wait=False) == fallback and len(sleeps) == 1  # too old, and it must not wait
    assert at(late) == (late, late + threads.FIRST_WINDOW)  # too old: a fresh pair
    threads.take_reading()
    assert at(clock[0] + 0.01, wait=False) == (-1.0, 0.0)  # taken a moment ago, reported only: the fallback
    assert at(clock[0]) == (late + threads.FIRST_WINDOW, late + threads.FIRST_WINDOW + threads.MIN_WINDOW)
    assert sleeps[-1] == round(threads.MIN_WINDOW - 0.01, 6)  # waited for enough ticks after the reading
    threads.take_reading()
    start = clock[0]
    assert at(start + 2.0, wait=False) == (start, start + 2.0)  # a recent reading: measured, reported-only or not


def test_without_proc_or_a_recent_reading_the_load_average_stands_in(monkeypatch) -> None:
    monkeypatch.setattr(threads, "_last", [])
    monkeypatch.setattr(threads.time, "sleep", lambda s: pytest.fail("a reported-only load must not wait"))
    monkeypatch.setattr(threads, "_load_average", lambda workers=(): threads.MachineLoad(7, 1.5, 0.5))
    assert threads.machine_load(wait=False) == threads.MachineLoad(7, 1.5, 0.5)
    monkeypatch.setattr(threads, "cpu_sample", lambda pids: None)
    assert threads.machine_load() == threads.MachineLoad(7, 1.5, 0.5)


def test_own_load_follows_the_damped_one_minute_average() -> None:
    assert own_load(0.0, 3600.0) == 0.0  # an idle notebook kernel adds nothing
    assert own_load(10.0, 10.0) == pytest.approx(1 - np.exp(-10 / 60))  # a busy CLI started 10 s ago: ~0.15
    assert own_load(600.0, 600.0) == pytest.approx(1.0, abs=1e-4)  # busy for 10 minutes: one full core
    assert own_load(5.0, 0.0) == 0.0


def test_thread_env_names_every_pool_and_one_count() -> None:
    env = thread_env(3)
    assert set(env) == set(THREAD_ENV_VARS) and set(env.values()) == {"3"}
    assert {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"} <= set(env)
    assert thread_env(0)["OMP_NUM_THREADS"] == "1"


# --------------------------------------------------------------------------------------------- Ray resources
@pytest.mark.parametrize(
    ("device", "threads", "gpus", "uses_gpu", "expected"),
    [
        ("cpu", 2, None, True, (2.0, 0.0)),
        ("cuda", 2, None, True, (2.0, 1.0)),  # default: one GPU per GPU task
        ("cuda", 1, 0.5, True, (1.0, 0.5)),  # fractional: two tasks share a GPU
        ("cuda", 4, 2, True, (4.0, 2.0)),
        ("cuda", 2, None, False, (2.0, 0.0)),  # a CPU-only family asks for no GPU on a GPU run
        ("cuda", 2, 0, True, (2.0, 0.0)),  # gpus_per_task = 0: GPU models queue for none (user's choice)
        ("cpu", 0, None, True, (1.0, 0.0)),
    ],
)
def test_task_resources(
    device: str, threads: int, gpus: float | None, uses_gpu: bool, expected: tuple[float, float]
) -> None:
    res = task_resources(device, threads, gpus, uses_gpu=uses_gpu)
    assert (res.num_cpus, res.num_gpus) == expected


def test_gpus_asked_on_a_cpu_run_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"gpus_per_task = 1.*resolved to 'cpu'.*device = 'cuda'"):
        task_resources("cpu", 1, 1, uses_gpu=True)


@pytest.mark.parametrize(
    ("run_options", "message"),
    [
        ({"executor": "dask"}, r"run.executor must be one of 'local' or 'ray'; got 'dask'"),
        ({"ray_address": "auto"}, r"ray_address is only used with run.executor = 'ray'"),
        ({"gpus_per_task": 0.5}, r"gpus_per_task is only used with run.executor = 'ray'"),
        ({"executor": "ray", "gpus_per_task": 1.5}, r"below 1 \(a share of one GPU\) or a whole number; got 1.5"),
        ({"executor": "ray", "gpus_per_task": -1}, r"gpus_per_task"),
        ({"executor": "ray", "ray_address": " "}, r"ray_address must be 'auto'"),
        ({"executr": "ray"}, r"unknown key 'run.executr'.*Did you mean 'executor'"),
    ],
)
def test_run_options_are_validated(run_options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_spec({**_raw(), "run": run_options})


def test_run_spec_accepts_ray_settings_and_round_trips() -> None:
    spec = build_spec({**_raw(), "run": {"executor": "ray", "ray_address": "auto", "gpus_per_task": 0.25}})
    assert spec.run == RunSpec(executor="ray", ray_address="auto", gpus_per_task=0.25)
    assert 'executor = "ray"' in spec.to_toml() and "gpus_per_task = 0.25" in spec.to_toml()


@pytest.mark.parametrize("case", ["ray missing", "address unreachable"])
def test_ray_problems_are_said_before_the_data_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """They were said at the first fold, after the data was read (minutes, for a large table): here the data files
    are not there at all, and the error is still about Ray."""
    spec = build_spec(_raw(), base_dir=tmp_path)  # train.csv, test.csv: never written
    options: dict[str, object] = {"executor": "ray"}
    if case == "ray missing":
        monkeypatch.setitem(sys.modules, "ray", None)
        match = r"needs Ray, which is not installed"
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            options["ray_address"] = f"127.0.0.1:{s.getsockname()[1]}"
        match = r"cannot connect to the Ray cluster at run.ray_address = '127.0.0.1:\d+' \(nothing answers"
    with pytest.raises(ConfigError, match=match):
        run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("form", ["127.0.0.1:{port}", "ray://127.0.0.1:{port}"])
def test_ray_address_where_nothing_listens_is_refused_at_once(form: str) -> None:
    """Ray retried such an address for minutes (no answer after 120 s, printing `Failed to connect to GCS`): the
    run hung. Now nothing is handed to ray.init and the error names the address."""
    from types import SimpleNamespace

    from kaggle_kit.runtime.ray_executor import connect

    with socket.socket() as s:  # a port nothing listens on (bound, then freed)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = form.format(port=port)

    def hangs(**_: object) -> None:
        raise AssertionError("ray.init was called: it retries an unreachable address for minutes")

    ray = SimpleNamespace(is_initialized=lambda: False, init=hangs)
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=rf"cannot connect to the Ray cluster at run.ray_address = '{address}' "
                       rf"\(nothing answers at 127.0.0.1:{port}: .*\); start it \(`ray start --head`\)"):  # fmt: skip
        connect(ray, address, 1, print)
    assert time.perf_counter() - start < 5


def test_ray_missing_gives_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    spec = _spec(tmp_path)
    with pytest.raises(ConfigError, match=r"needs Ray, which is not installed.*pip install 'kaggle-kit\[ray\]'"):
        run(spec, runs_root=tmp_path / "runs", executor="ray", progress=None, record_history=False)


# --------------------------------------------------------------------------------------------- runs
def _competition(folder: Path) -> None:
    """300 rows of breast cancer (10 features), 100 test rows: small enough for seconds per model."""
    X, y = load_breast_cancer(return_X_y=True)
    frame = pl.DataFrame(X[:, :10], schema=[f"f{i}" for i in range(10)], orient="row").with_columns(
        pl.Series("id", np.arange(len(y))), pl.Series("target", y)
    )
    frame[:300].write_csv(folder / "train.csv")
    frame[300:400].drop("target").write_csv(folder / "test.csv")


def _models(kinds: tuple[str, ...] = ("xgboost", "lightgbm", "mlp")) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    if "xgboost" in kinds:
        out.append({"name": "xgb", "kind": "xgboost", "num_boost_round": 40, "early_stopping_rounds": 10, "params": {}})
    if "lightgbm" in kinds:
        out.append(
            {
                "name": "lgbm",
                "kind": "lightgbm",
                "num_boost_round": 40,
                "early_stopping_rounds": 10,
                "params": {"num_leaves": 7, "min_data_in_leaf": 5},
            }
        )
    if "mlp" in kinds:
        out.append({"name": "mlp", "kind": "mlp", "params": {"hidden": [16], "epochs": 4, "batch_size": 64}})
    return out


def _raw(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "name": "ray-check",
        "task": "binary",
        "metric": "roc_auc",
        "device": "cpu",
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "target"},
        "folds": {"n_splits": 3},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "models": _models(("xgboost",)),
    }
    raw.update(over)
    return raw


def _spec(folder: Path, **over: object):
    _competition(folder)
    return build_spec(_raw(**over), base_dir=folder)


def _oof_bytes(run_dir: Path, model: str) -> bytes:
    return RunStore(run_dir).read_predictions(model, "oof").drop("id").to_numpy().tobytes()


@pytest.fixture(scope="module")
def local_ray():
    """The executor's own local Ray start (no dashboard, usage statistics off), once for this module."""
    ray = pytest.importorskip("ray")
    from kaggle_kit.runtime.ray_executor import connect

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    assert connect(ray, None, 2, print)  # started here, so the test shuts it down
    assert ray.cluster_resources()["CPU"] == 2 and ray.cluster_resources().get("GPU", 0) == 0
    yield ray
    ray.shutdown()


def test_ray_run_equals_a_sequential_run_and_isolates_a_failing_model(tmp_path: Path, local_ray) -> None:
    pytest.importorskip("torch")
    models = [
        *_models(),
        {  # raises inside its tasks (more neighbours than a fold has rows): marked failed, the others finish
            "name": "broken",
            "kind": "sklearn",
            "estimator": "sklearn.neighbors.KNeighborsClassifier",
            "params": {"n_neighbors": 100000},
        },
    ]
    spec = _spec(tmp_path, models=models)
    start = time.perf_counter()
    sequential = run(spec, runs_root=tmp_path / "seq", progress=None, record_history=False)
    print(f"sequential run: {time.perf_counter() - start:.1f}s")
    lines: list[str] = []
    start = time.perf_counter()
    on_ray = run(spec, runs_root=tmp_path / "ray", executor="ray", progress=lines.append, record_history=False)
    seconds = time.perf_counter() - start
    print(f"ray run: {seconds:.1f}s for {on_ray.fitted} task(s)")
    assert local_ray.is_initialized()  # the caller's own Ray (a notebook's ray.init()): used, never shut down

    rows = {m.name: m for m in on_ray.models}
    assert on_ray.fitted == sequential.fitted == 12  # (baseline + 3 models) x 3 folds: the broken model's failed
    assert rows["broken"].status == "failed" and "n_neighbors" in (rows["broken"].error or "")
    assert any("broken" in line and "FAILED" in line for line in lines)
    for name in ("baseline", "xgb", "lgbm", "mlp"):
        assert rows[name].status == "ok", rows[name].error
        assert _oof_bytes(on_ray.run_dir, name) == _oof_bytes(sequential.run_dir, name), name
        assert rows[name].cv == next(m.cv for m in sequential.models if m.name == name)
    execution = json.loads((on_ray.run_dir / "run.json").read_text())["execution"]
    assert execution["executor"] == "ray" and execution["threads"] == 1 and "load" in execution
    # the driver wrote every fold into its own store: a rerun (here sequential) reuses them all; only the failed
    # model is tried again
    again = run(spec, runs_root=tmp_path / "ray", only=["xgb"], progress=None, record_history=False)
    assert again.fitted == 0 and again.reused == 6


def test_ray_pseudo_labelled_folds_equal_a_sequential_runs(tmp_path: Path, local_ray) -> None:
    """A pseudo-labelled fold reads its rows from the run store, which a Ray task's scratch store did not hold: the
    run ended with `the pseudo labels '/tmp/kaggle-kit-fold-.../r0_f0.npz' cannot be read`. The driver hands them."""
    spec = _spec(tmp_path, pseudo_label={"source": "xgb", "threshold": 0.9})
    sequential = run(spec, runs_root=tmp_path / "seq", progress=None, record_history=False)
    on_ray = run(spec, runs_root=tmp_path / "ray", executor="ray", progress=None, record_history=False)
    assert {m.name: m.status for m in on_ray.models} == {"baseline": "ok", "xgb": "ok", "xgb@pl1": "ok"}
    assert _oof_bytes(on_ray.run_dir, "xgb@pl1") == _oof_bytes(sequential.run_dir, "xgb@pl1")
    pseudo = RunStore(on_ray.run_dir).read_predictions("xgb@pl1", "test").drop("id").to_numpy().tobytes()
    assert pseudo == RunStore(sequential.run_dir).read_predictions("xgb@pl1", "test").drop("id").to_numpy().tobytes()


def test_ray_fold_warnings_reach_the_caller_once(tmp_path: Path, local_ray) -> None:
    """A Ray task's warnings went to the worker's log (Ray echoes it to the terminal); the driver warns them again,
    once each, as for the process pool (kaggle_kit.runtime.relay)."""
    from kaggle_kit.features.base import FeatureWarning

    linear = {"name": "lin", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression",
              "pipeline": "scaled"}  # fmt: skip
    spec = _spec(
        tmp_path, models=[linear], pipelines={"scaled": {"steps": [{"step": "standardize", "columns": "numeric"}]}}
    )
    for name in ("train.csv", "test.csv"):  # a constant column: each fold's standardize warns of it
        pl.read_csv(tmp_path / name).with_columns(c=pl.lit(1.0)).write_csv(tmp_path / name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(spec, runs_root=tmp_path / "runs", executor="ray", progress=None, record_history=False)
    assert result.fitted == 6
    said = [w for w in caught if "column 'c' is constant in the training rows" in str(w.message)]
    assert len(said) == 1 and said[0].category is FeatureWarning


def test_ray_fold_warnings_under_an_error_filter_and_of_a_failed_fold(tmp_path: Path, local_ray) -> None:
    """On Ray too: a relayed warning under simplefilter("error") is shown, not raised in the driver's loop (it ended
    the run, its tasks cancelled, the fold whose warning it was not stored); a failed task's warnings come with its
    exception."""
    from kaggle_kit.features.base import FeatureWarning

    def linear(name: str, pipeline: str, **params: object) -> dict[str, object]:
        return {"name": name, "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression",
                "pipeline": pipeline, "params": params}  # fmt: skip

    spec = _spec(
        tmp_path,
        models=[linear("lin", "on_c"), linear("bad", "on_d", solver="newton-cg", penalty="l1")],  # bad: a ValueError
        pipelines={p: {"steps": [{"step": "standardize", "columns": [p[-1]]}]} for p in ("on_c", "on_d")},
    )
    for name in ("train.csv", "test.csv"):  # constant columns: each fold's standardize warns of its own
        pl.read_csv(tmp_path / name).with_columns(c=pl.lit(1.0), d=pl.lit(2.0)).write_csv(tmp_path / name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        result = run(spec, runs_root=tmp_path / "runs", executor="ray", progress=None, record_history=False)
    assert {m.name: m.status for m in result.models} == {"lin": "ok", "bad": "failed", "baseline": "ok"}
    said = sorted(str(w.message).split("'")[1] for w in caught if w.category is FeatureWarning)
    assert said == ["c", "d"]  # once each: d's from the failed tasks


def test_ray_kit_error_in_a_task_aborts_the_run(tmp_path: Path, local_ray) -> None:
    pytest.importorskip("torch")
    bad_columns = {"name": "mlp", "kind": "mlp", "params": {"hidden": [4], "epochs": 1, "columns": ["nope"]}}
    spec = _spec(tmp_path, run={"n_jobs": 1, "threads_per_task": 1, "executor": "ray"}, models=[bad_columns])
    with pytest.raises(ConfigError, match=r"params\.columns names 'nope', which is not a feature column"):
        run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False)


def test_ray_task_larger_than_the_cluster_is_refused(tmp_path: Path, local_ray) -> None:
    spec = _spec(tmp_path, run={"n_jobs": 1, "threads_per_task": 4, "executor": "ray"})
    with pytest.raises(ConfigError, match=r"asks Ray for 4 CPU\(s\) but the local Ray has 2; lower run.threads_per"):
        run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False)


def test_run_json_records_the_thread_rule(tmp_path: Path) -> None:
    spec = _spec(tmp_path, run={"n_jobs": 1})
    lines: list[str] = []
    result = run(spec, runs_root=tmp_path / "runs", progress=lines.append, record_history=False)
    execution = json.loads((result.run_dir / "run.json").read_text())["execution"]
    assert execution["executor"] == "local" and execution["jobs"] == 1 and execution["threads_rule"] == "load-aware"
    others = max(0.0, execution["load"] - execution["load_own"])
    assert execution["threads"] == task_threads(execution["cores"], 1, others)
    assert f"load {execution['load']:.2f} on {execution['cores']} core(s)" in lines[0]


@pytest.mark.parametrize("threads_per_task", [0, 1])
def test_a_run_takes_a_reading_first_and_waits_for_one_only_when_the_load_sets_the_threads(
    tmp_path: Path, monkeypatch, threads_per_task: int
) -> None:
    """The thread rule's reading (start) measures from the one the run took before reading its data; a run whose
    threads the user fixed only reports the load, so it must not wait for a fresh one."""
    import kaggle_kit.runtime.runner as runner

    calls: list[object] = []
    real = runner.machine_load

    def spy(workers=(), *, wait: bool = True) -> MachineLoad:
        calls.append(("load", wait))
        return real(workers, wait=wait)

    monkeypatch.setattr(runner, "take_reading", lambda: calls.append("reading"))
    monkeypatch.setattr(runner, "machine_load", spy)
    spec = _spec(tmp_path, run={"n_jobs": 1, "threads_per_task": threads_per_task})
    run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False)
    assert calls == ["reading", ("load", threads_per_task == 0)]


# --------------------------------------------------------------------------------------------- worker environment
def _probe_fit(ctx: Context, task: Task) -> FoldResult:
    """A stand-in for fit_fold that records what the worker process saw: polars' thread pool (sized once, when
    polars is imported), OMP_NUM_THREADS (as the score) and the task's share of the GPU (as predict_seconds)."""
    _, valid_idx = ctx.folds.train_valid(task.repeat, task.fold)
    seen = FoldResult(
        model=task.model.name,
        key=task.key,
        repeat=task.repeat,
        fold=task.fold,
        score=float(os.environ.get("OMP_NUM_THREADS", "0")),
        best_iteration=None,
        n_train=0,
        n_valid=len(valid_idx),
        fit_seconds=0.0,
        predict_seconds=ctx.gpu_share,
        device=ctx.device,
        threads=pl.thread_pool_size(),
    )
    pred = np.zeros((len(valid_idx), 2), dtype=np.float32)
    return ctx.store.write_fold(seen, valid_pred=pred, test_pred=None, save_model=lambda _folder: None)


def _probe(tmp_path: Path, executor: str) -> list[FoldResult]:
    spec = _spec(tmp_path)
    data = load_competition(spec)
    folds = resolve_folds(spec, data)
    store = RunStore(tmp_path / executor)
    store.save_folds(folds, data.train_ids)
    tasks = [Task(spec.models[0], "k", r, k) for r, k in folds.tasks()]
    ctx = Context(spec, data, folds, store, get_metric(spec.metric), "cpu", threads=1, gpu_share=0.5)
    before = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    assert execute(tasks, Job(ctx, in_memory=False, jobs=2, executor=executor), _probe_fit, lambda _m: None) == {}
    assert {k: os.environ.get(k) for k in THREAD_ENV_VARS} == before  # the driver's environment is left alone
    return [store.finished(t.model.name, t.key, t.repeat, t.fold) for t in tasks]  # type: ignore[misc]


def test_pool_workers_start_with_the_thread_variables(tmp_path: Path) -> None:
    assert pl.thread_pool_size() > 1 or os.cpu_count() == 1  # else the check below proves nothing
    seen = _probe(tmp_path, "local")
    assert [(r.threads, r.score) for r in seen] == [(1, 1.0)] * 3  # set before polars was imported in the worker
    assert [r.predict_seconds for r in seen] == [0.5] * 3  # the context's GPU share reached the workers


def test_the_tasks_sharing_a_gpu_split_its_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A local pool's workers share one GPU: each task's share is 1 / the workers (CatBoost reserves its part of the
    GPU's memory up front; two at 0.95 each would not fit)."""
    monkeypatch.setattr("kaggle_kit.runtime.runner.cpu_count", lambda: 8)  # 3 workers on any machine (at most 1 a core)
    session = RunSession.open(_spec(tmp_path), tmp_path / "runs", None, None, 3, None, None, None)
    session.start(n_tasks=9)
    assert session.jobs == 3 and session.job is not None and session.job.context.gpu_share == 1 / 3


@pytest.mark.parametrize(("num_gpus", "share"), [(0.0, 1.0), (0.25, 0.25), (1.0, 1.0), (2.0, 1.0)])
def test_a_ray_task_may_take_the_share_of_a_gpu_it_asks_for(num_gpus: float, share: float) -> None:
    assert gpu_share(TaskResources(num_cpus=1.0, num_gpus=num_gpus)) == share  # CatBoost's gpu_ram_part is <= 1


def test_a_fold_fit_hands_the_adapter_its_gpu_share_and_records_where_it_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kaggle_kit.runtime import fold_fit

    spec = _spec(tmp_path)
    data = load_competition(spec)
    folds = resolve_folds(spec, data)
    store = RunStore(tmp_path / "run")
    store.save_folds(folds, data.train_ids)
    seen: list[float] = []
    real = fold_fit.make_adapter

    def spying(model, task):
        adapter = real(model, task)
        fit = adapter.fit
        adapter.fit = lambda *a: seen.append(a[-1].gpu_share) or fit(*a)
        return adapter

    monkeypatch.setattr(fold_fit, "make_adapter", spying)
    ctx = Context(spec, data, folds, store, get_metric(spec.metric), "cuda", threads=1, gpu_share=0.25)
    result = fold_fit.fit_fold(ctx, Task(spec.models[0], "k", 0, 0))
    assert seen == [0.25]
    assert result.device == "cpu"  # a CUDA run's XGBoost fold too small for the GPU is recorded where it ran


def test_ray_workers_start_with_the_thread_variables(tmp_path: Path, local_ray) -> None:
    # Ray workers cannot import this test module by name: ship _probe_fit by value
    local_ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        seen = _probe(tmp_path, "ray")
    finally:
        local_ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert [(r.threads, r.score) for r in seen] == [(1, 1.0)] * 3
    assert [r.predict_seconds for r in seen] == [1.0] * 3  # a Ray task's share is what it asks Ray for (no GPU: 1)


def _slow_fit(ctx: Context, task: Task) -> FoldResult:
    """A fold that would take a minute."""
    time.sleep(60)
    return _probe_fit(ctx, task)


@pytest.mark.parametrize(
    ("have", "needs", "slots"),
    [
        ({"CPU": 8.0}, [(2.0, 0.0)], 4),
        ({"CPU": 8.0, "GPU": 1.0}, [(1.0, 1.0)], 1),  # by CPUs it was 8: 7 waiting for the GPU, their limits running
        ({"CPU": 8.0, "GPU": 2.0}, [(1.0, 0.5), (2.0, 0.0)], 4),
        ({"CPU": 1.0}, [(4.0, 0.0)], 1),
    ],
)
def test_ray_tasks_at_once_under_a_time_limit(have: dict[str, float], needs: list[tuple[float, float]], slots: int):
    from types import SimpleNamespace

    from kaggle_kit.runtime.ray_executor import _slots

    cluster = SimpleNamespace(cluster_resources=lambda: have)
    assert _slots(cluster, {str(i): TaskResources(c, g) for i, (c, g) in enumerate(needs)}) == slots


@pytest.mark.parametrize("limit", ["deadline", "max_seconds"])
def test_ray_honours_the_time_limit(tmp_path: Path, local_ray, limit: str) -> None:
    """Ray was handed every task and ran it to its end, the deadline (and a probe's max_seconds) ignored: a time
    limited search ran past its limit by a fold's whole fit. Now as many tasks start as the local Ray runs at once
    (2), none starts after the limit, and one still running at its limit is cancelled, recorded as stopped, its fold
    not in the store."""
    spec = _spec(tmp_path)
    data = load_competition(spec)
    folds = resolve_folds(spec, data)
    store = RunStore(tmp_path / "ray")
    store.save_folds(folds, data.train_ids)
    seconds = 4.0
    own = seconds if limit == "max_seconds" else None
    tasks = [Task(spec.models[0], "k", r, k, max_seconds=own, start_within=own) for r, k in folds.tasks()]
    ctx = Context(spec, data, folds, store, get_metric(spec.metric), "cpu", threads=1)
    deadline = time.monotonic() + seconds if limit == "deadline" else None
    job = Job(ctx, in_memory=False, jobs=2, executor="ray", deadline=deadline)
    local_ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        start = time.perf_counter()
        outcomes = run_tasks(tasks, job, _slow_fit, lambda _m: None)
        took = time.perf_counter() - start
    finally:
        local_ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert took < seconds + 10, took  # not the minute of a slow fold
    assert outcomes.errors == {}
    assert sorted(t.fold for t, _ in outcomes.stopped) == [0, 1]  # fold 2 never started
    assert [store.finished("xgb", "k", 0, k) for k in range(3)] == [None] * 3
    freed = time.monotonic() + 10  # the stopped tasks ended, not only left behind: their CPUs are Ray's again
    while local_ray.available_resources().get("CPU", 0.0) < 2 and time.monotonic() < freed:
        time.sleep(0.2)
    assert local_ray.available_resources().get("CPU", 0.0) == 2


def _crashing_fit(ctx: Context, task: Task) -> FoldResult:
    """Fold 2's worker is killed (as for memory); each attempt leaves a line in the competition's crashes.txt."""
    if task.fold == 1:
        with open(Path(ctx.spec.base_dir) / "crashes.txt", "a") as attempts:  # the competition folder (tmp_path)
            attempts.write("attempt\n")
        os.kill(os.getpid(), signal.SIGKILL)
    return _probe_fit(ctx, task)


def test_ray_worker_killed_mid_fold_fails_its_model_once_naming_the_fold(tmp_path: Path, local_ray) -> None:
    """Ray retried a task whose worker died 3 times (4 fits as long, to the same end) and the model's error did not
    say which fold: `WorkerCrashedError: The worker died unexpectedly ...`. Now as in the local pool."""
    spec = _spec(tmp_path)
    data = load_competition(spec)
    folds = resolve_folds(spec, data)
    store = RunStore(tmp_path / "ray" / "run")
    store.save_folds(folds, data.train_ids)
    tasks = [Task(spec.models[0], "k", r, k) for r, k in folds.tasks()]
    ctx = Context(spec, data, folds, store, get_metric(spec.metric), "cpu", threads=1)
    local_ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        outcomes = run_tasks(tasks, Job(ctx, in_memory=False, jobs=2, executor="ray"), _crashing_fit, lambda _m: None)
    finally:
        local_ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert outcomes.errors["xgb"].startswith("WorkerDied (repeat 0 fold 2/3): the Ray worker fitting it ended (Worker")
    assert (tmp_path / "crashes.txt").read_text() == "attempt\n"  # once: not retried
    assert store.finished("xgb", "k", 0, 1) is None


def test_ray_workers_that_cannot_import_a_module_stop_the_run(tmp_path: Path, local_ray) -> None:
    """A fit function the workers cannot import (as kaggle_kit missing on a cluster's node): every model had failed,
    each with Ray's deserialisation traceback as its error (`RaySystemError: System error: No module named ...`)."""
    spec = _spec(tmp_path)
    data = load_competition(spec)
    folds = resolve_folds(spec, data)
    store = RunStore(tmp_path / "ray")
    store.save_folds(folds, data.train_ids)
    tasks = [Task(spec.models[0], "k", r, k) for r, k in folds.tasks()]
    ctx = Context(spec, data, folds, store, get_metric(spec.metric), "cpu", threads=1)
    job = Job(ctx, in_memory=False, jobs=2, executor="ray")
    with pytest.raises(ConfigError, match=r"a Ray worker cannot import 'test_executors', which the tasks need: inst"):
        run_tasks(tasks, job, _probe_fit, lambda _m: None)  # this module, not shipped by value


def test_ray_tasks_read_streamed_images_through_the_run_folders_cache(tmp_path: Path, local_ray) -> None:
    """The driver decodes the run's image cache before any fit; each Ray task decoded every image again into a
    cache in its scratch store (the time of a decode and a full copy of the cache in the node's /tmp per task).
    Called here in the driver's process, so that its decodes are counted."""
    pytest.importorskip("torch")
    from PIL import Image

    from kaggle_kit.readers.image_stream import decode_count
    from kaggle_kit.runtime.fold_fit import fit_fold
    from kaggle_kit.runtime.ray_executor import _fit_remote

    (tmp_path / "images").mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8), mode="L").save(tmp_path / "images" / f"{i}.png")
    pl.DataFrame({"id": range(18), "label": [0, 1] * 9}).write_csv(tmp_path / "train.csv")
    pl.DataFrame({"id": range(18, 24)}).write_csv(tmp_path / "test.csv")
    cnn = {"image_shape": [8, 8, 1], "channels": [2], "epochs": 1, "batch_size": 8}
    spec = build_spec(
        _raw(
            data={"train": "train.csv", "test": "test.csv", "id": "id", "target": "label",
                  "images": {"folder": "images", "channels": 1, "mode": "stream"}},
            models=[{"name": "cnn", "kind": "cnn", "params": cnn}],
        ),
        base_dir=tmp_path,
    )  # fmt: skip
    data = load_competition(spec)
    folds = resolve_folds(spec, data)
    store = RunStore(tmp_path / "run")
    data.images.cached_in(store.root).open_cache()  # as the driver does before any fit  # type: ignore[union-attr]
    shared = [local_ray.put(data), local_ray.put(folds)]
    before = decode_count()
    task = Task(spec.models[0], "k", 0, 0)
    result, files, _ = _fit_remote(fit_fold, spec, shared, "cpu", 1, 1.0, task, {}, str(store.root))
    assert decode_count() == before  # not one image decoded again
    assert result.n_valid == 6 and "valid.npy" in files and "model.pt" in files
    # a node that does not see the run folder (a cluster's, without a shared file system): its scratch store's cache,
    # and nothing written where the run folder would be
    unseen = tmp_path / "elsewhere" / "run"
    result, files, _ = _fit_remote(fit_fold, spec, shared, "cpu", 1, 1.0, task, {}, str(unseen))
    assert decode_count() == before + 24 and "model.pt" in files and not (tmp_path / "elsewhere").exists()


def test_a_net_resumed_on_ray_keeps_its_folds_thread_count_and_asks_ray_for_it(tmp_path: Path, local_ray) -> None:
    """A net whose first fold was fitted on 2 threads, resumed on Ray with run.threads_per_task = 1: its other folds
    are fitted on 2 threads (the uninterrupted run's OOF), and each of its tasks asks Ray for 2 CPUs (it asked for
    the run's 1 while running 2 threads: Ray placed twice the threads the cores have)."""
    pytest.importorskip("torch")
    spec = _spec(tmp_path, models=_models(("mlp",)), run={"n_jobs": 1, "threads_per_task": 2})
    whole = run(spec, runs_root=tmp_path / "whole", progress=None, record_history=False)
    killed = run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False)
    store = RunStore(killed.run_dir)
    key = store.current_models()["mlp"]
    for fold in (1, 2):
        shutil.rmtree(store.fold_dir("mlp", key, 0, fold))
    lines: list[str] = []
    spec = _spec(tmp_path, models=_models(("mlp",)), run={"n_jobs": 1, "threads_per_task": 1})
    resumed = run(spec, runs_root=tmp_path / "runs", executor="ray", progress=lines.append, record_history=False)
    assert resumed.fitted == 2
    assert [store.finished("mlp", key, 0, k).threads for k in range(3)] == [2, 2, 2]  # type: ignore[union-attr]
    assert _oof_bytes(resumed.run_dir, "mlp") == _oof_bytes(whole.run_dir, "mlp")
    assert any("submitting 2 task(s)" in line and "each task: 2 CPU" in line for line in lines), lines


def test_cli_run_options_reach_the_run_settings() -> None:
    from kaggle_kit.cli import build_parser
    from kaggle_kit.runtime.runner import _run_settings

    args = build_parser().parse_args(["run", "c.toml", "--executor", "ray", "--ray-address", "ray://head:10001"])
    assert (args.executor, args.ray_address) == ("ray", "ray://head:10001")
    assert _run_settings(RunSpec(), None, "auto") == RunSpec(executor="ray", ray_address="auto")  # address => Ray
    assert _run_settings(RunSpec(n_jobs=3), "ray", None) == RunSpec(n_jobs=3, executor="ray")
    with pytest.raises(ConfigError, match=r"invalid run options:\n  - executor must be one of 'local' or 'ray'"):
        _run_settings(RunSpec(), "spark", None)


# --------------------------------------------------------------------------------------------- a script's main guard
_UNGUARDED = """
from kaggle_kit.config import build_spec
from kaggle_kit.runtime.runner import run
spec = build_spec({{"name": "h", "task": "binary", "metric": "roc_auc",
    "data": {{"train": "train.csv", "id": "id", "target": "y"}},
    "models": [{{"name": "lgbm", "kind": "lightgbm", "num_boost_round": 5}}], "run": {{"n_jobs": 2}}}}, base_dir=".")
{call}
"""


def _script_run(tmp_path: Path, call: str) -> tuple[subprocess.CompletedProcess, Path]:
    X, y = load_breast_cancer(return_X_y=True)
    frame = pl.DataFrame(X[:, :4], schema=[f"f{i}" for i in range(4)])
    frame.with_columns(pl.Series("y", y), pl.Series("id", range(len(y)))).write_csv(tmp_path / "train.csv")
    (tmp_path / "script.py").write_text(_UNGUARDED.format(call=call))
    done = subprocess.run(
        [sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    return done, tmp_path / "runs" / "h" / "run.log"


def test_a_script_without_a_main_guard_is_told_the_fix_and_its_workers_start_no_second_run(tmp_path: Path) -> None:
    """Spawned workers import the script that started the run: its top-level run() would run again inside each one,
    on the same run folder (seen: a hang; then every fold 'WorkerDied' and the call ending as if it had run). The
    worker ends at once and the run fails with the fix, naming the script."""
    done, log = _script_run(tmp_path, 'run(spec, runs_root="runs", progress=None, record_history=False)')
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and 'if __name__ == "__main__":' in done.stderr
    assert "script.py" in done.stderr and "bootstrapping phase" not in done.stderr  # not multiprocessing's own text
    assert log.read_text().count("--- fitting") == 1  # the workers did not start runs of their own


def test_a_script_without_a_main_guard_handing_frames_to_the_run_is_told_the_fix_not_hung(tmp_path: Path) -> None:
    """The same script handing the run its frames (a notebook's `run(spec, train=df)` saved as a script), 145 kB of
    them: the run hung for ever (multiprocessing's write of a worker's arguments, the frames among them, blocked
    once the worker had ended while starting). A hang is this subprocess's timeout."""
    X, y = load_breast_cancer(return_X_y=True)
    frame = pl.DataFrame(X, schema=[f"f{i}" for i in range(X.shape[1])])
    frame.with_columns(pl.Series("y", y), pl.Series("id", range(len(y)))).write_csv(tmp_path / "train.csv")
    call = 'import polars as pl\nrun(spec, train=pl.read_csv("train.csv"), runs_root="runs", progress=None)'
    (tmp_path / "script.py").write_text(_UNGUARDED.format(call=call))
    done = subprocess.run(
        [sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and 'if __name__ == "__main__":' in done.stderr


def test_the_same_script_under_a_main_guard_runs(tmp_path: Path) -> None:
    call = 'if __name__ == "__main__":\n    print([m.status for m in run(spec, progress=None).models])'
    done, _ = _script_run(tmp_path, call)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['ok', 'ok']"


def test_a_worker_that_ends_so_after_it_started_is_a_worker_death_not_the_script_error() -> None:
    """The exit code alone is not the cause: a worker that said ready and then ended with it died in a task."""
    pool = WorkerPool(1, int, ())
    try:
        pool.submit("dies", os._exit, (SCRIPT_RERAN_EXIT,), time.monotonic())
        got: list = []
        deadline = time.monotonic() + 60
        while not got and time.monotonic() < deadline:
            got = pool.wait(5.0)
        assert isinstance(got[0][2], WorkerDied)
    finally:
        pool.close()


@pytest.mark.parametrize("address", [None, "auto"])
def test_a_ray_start_interrupted_leaves_nothing_running(address: str | None) -> None:
    """A Ctrl-C while ray.init starts a local Ray (seconds) left its processes running: the run had not started it
    as far as it knew, so none shut it down (a notebook kept them until its kernel ended)."""
    from types import SimpleNamespace

    from kaggle_kit.runtime.ray_executor import connect

    calls: list[str] = []

    def interrupted(**_: object) -> None:
        calls.append("init")
        raise KeyboardInterrupt

    ray = SimpleNamespace(is_initialized=lambda: False, init=interrupted, shutdown=lambda: calls.append("shutdown"))
    with pytest.raises(KeyboardInterrupt):
        connect(ray, address, 1, print)
    assert calls == ["init", "shutdown"]


def _assigned_fit(ctx: Context, task: Task) -> FoldResult:
    """Records the CPUs Ray gave the task (as the score) and the threads it fitted on."""
    import ray

    _, valid_idx = ctx.folds.train_valid(task.repeat, task.fold)
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 0.0)
    seen = FoldResult(task.model.name, task.key, task.repeat, task.fold, cpus, None, 0, len(valid_idx), 0.0, 0.0,
                      ctx.device, ctx.threads)  # fmt: skip
    pred = np.zeros((len(valid_idx), 2), dtype=np.float32)
    return ctx.store.write_fold(seen, valid_pred=pred, test_pred=None, save_model=lambda _folder: None)


def test_ray_tasks_of_a_resumed_model_ask_for_its_pinned_threads(tmp_path: Path, local_ray) -> None:
    """A resumed model's folds fit on the count its finished folds had (Task.threads), but a Ray task asked for the
    run's count of CPUs: Ray ran as many 2-thread tasks at once as it counted 1-CPU ones. A count beyond the local
    Ray's CPUs (a busier machine now) asks for them all, rather than waiting forever for more."""
    spec = _spec(tmp_path)
    data = load_competition(spec)
    folds = resolve_folds(spec, data)
    store = RunStore(tmp_path / "ray")
    store.save_folds(folds, data.train_ids)
    three = spec.models[0].model_copy(update={"name": "xgb3"})
    tasks = [Task(spec.models[0], "k", 0, 0, threads=2), Task(three, "k", 0, 1, threads=3)]
    ctx = Context(spec, data, folds, store, get_metric(spec.metric), "cpu", threads=1)
    local_ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        assert execute(tasks, Job(ctx, in_memory=False, jobs=2, executor="ray"), _assigned_fit, lambda _m: None) == {}
    finally:
        local_ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    seen = [store.finished(t.model.name, t.key, t.repeat, t.fold) for t in tasks]
    assert [(r.threads, r.score) for r in seen] == [(2, 2.0), (3, 2.0)]  # type: ignore[union-attr]


def test_a_ray_address_that_answers_is_not_refused() -> None:
    """The connect check refuses only where nothing answers: a cluster too busy to accept its connections yet (the
    kernel completes the handshake: a listening socket that never accepts here) and `auto` (Ray's to find) pass."""
    from kaggle_kit.runtime.ray_executor import unreachable

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        start = time.perf_counter()
        found = [unreachable(a) for a in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}", f"localhost:{port}")]
        assert found == [None, None, None] and time.perf_counter() - start < 5
    assert unreachable("auto") is None


def test_a_ray_task_sweeps_what_killed_workers_left(tmp_path: Path, local_ray) -> None:
    """A scratch store whose worker was killed (a task cancelled at its limit on a cluster's node, where the driver
    cannot reach) is removed by the next task there; one of a live worker is left alone."""
    from kaggle_kit.runtime.ray_executor import _fit_remote

    spec = _spec(tmp_path)
    data = load_competition(spec)
    folds = resolve_folds(spec, data)
    ended = subprocess.Popen(["true"])
    ended.wait()
    dead = Path(tempfile.mkdtemp(prefix=f"kaggle-kit-fold-{ended.pid}-"))
    (dead / "valid.npy").write_bytes(b"half")
    alive = Path(tempfile.mkdtemp(prefix=f"kaggle-kit-fold-{os.getpid()}-"))
    try:
        shared = [local_ray.put(data), local_ray.put(folds)]
        result, _, _ = _fit_remote(_probe_fit, spec, shared, "cpu", 1, 1.0, Task(spec.models[0], "k", 0, 0), {})
        assert result.fold == 0 and not dead.exists() and alive.is_dir()
    finally:
        shutil.rmtree(alive, ignore_errors=True)
        shutil.rmtree(dead, ignore_errors=True)


def _refusing_fit(ctx: Context, task: Task) -> FoldResult:
    """Fold 1 refuses the run (a KitError); the others would take a minute."""
    if task.fold == 0:
        raise ConfigError("refused")
    return _slow_fit(ctx, task)


def test_ray_tasks_still_running_when_the_run_stops_are_ended(tmp_path: Path, local_ray) -> None:
    """A KitError (or a Ctrl-C) stops the run: its other tasks must not run on in the caller's Ray (or a cluster)."""
    spec = _spec(tmp_path)
    data = load_competition(spec)
    folds = resolve_folds(spec, data)
    store = RunStore(tmp_path / "ray")
    store.save_folds(folds, data.train_ids)
    tasks = [Task(spec.models[0], "k", r, k) for r, k in folds.tasks()]
    ctx = Context(spec, data, folds, store, get_metric(spec.metric), "cpu", threads=1)
    local_ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with pytest.raises(ConfigError, match="refused"):
            run_tasks(tasks, Job(ctx, in_memory=False, jobs=2, executor="ray"), _refusing_fit, lambda _m: None)
    finally:
        local_ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    freed = time.monotonic() + 10
    while local_ray.available_resources().get("CPU", 0.0) < 2 and time.monotonic() < freed:
        time.sleep(0.2)
    assert local_ray.available_resources().get("CPU", 0.0) == 2
