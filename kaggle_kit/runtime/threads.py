"""How many threads each (model, fold) task gets, and the environment that holds a worker process to that count.

The rule is load-aware because the costly mistake is asymmetric: on a machine where other processes keep cores
busy, XGBoost / LightGBM with more OpenMP threads than free cores run 10-100x slower (threads spin-waiting for
cores they do not get), while one thread too few costs at most the lost parallelism (about 1.8x on 2 cores)::

    available = cores - round_half_down(cores kept busy by OTHER processes lately)   (at least 1)
    threads   = max(1, available // jobs)

A core counts as taken once other processes keep it busy at least half the time. "Lately" is measured, not averaged
over a minute (:func:`machine_load`): the busy time of this process's cores in ``/proc/stat`` since the last reading
(a run takes the first reading before it reads its data; without a recent one, a reading waits 0.25 s), less this
process's and its pool workers' own CPU time over the same seconds. The 1-minute load average it replaced still
counted a run that had just ended: a second run started right after a first (a notebook, a benchmark, a script running
two configs) saw "0.6 cores busy" and fitted one fold at a time on 2 cores (``benchmarks/portfolio.py``'s fair:
RealMLP's five folds one after the other). Where ``/proc/stat`` is not readable, the 1-minute load average stands in,
this run's share of it estimated from its CPU time (:func:`own_load`).

The rule is applied again before each task is handed to a worker (:func:`allocate_threads`): a task submitted when
fewer tasks are left than workers gets the cores the others leave, and when other processes take cores the number of
tasks running at once shrinks, not only their threads. A task's thread count never changes while it runs.
Only families whose predictions are byte-identical at any thread count (an adapter's ``thread_invariant``) are given
more than the run's first count; the others keep it, so a fold's OOF never depends on when it ran (and a resumed model's
remaining folds take the count its finished folds recorded: :func:`~.executors.pinned_threads`). Measured on this kit's
adapters (binary, multiclass and regression, 24k training rows): LightGBM is (the adapter sets ``deterministic`` and
``force_col_wise``) and so is the baseline (no threads); XGBoost differed on multiclass (``hist``, 200 rounds), torch
nets differed (CPU reductions split by thread), scikit-learn's LogisticRegression differed (BLAS). (XGBoost could not
use more anyway: in a worker started with OMP_NUM_THREADS=1 its nthread=2 ran on one core, while LightGBM, which sets
its OpenMP count itself, and torch used two.)
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Thread-count variables read by OpenMP (XGBoost, LightGBM, torch), the BLAS builds numpy and scipy ship, and polars.
#: They must be in a worker's environment before those libraries are imported: most read them once, when loaded.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "POLARS_MAX_THREADS",
)


@dataclass(frozen=True)
class MachineLoad:
    """What the thread rule saw: the usable cores, the cores busy lately (or the 1-minute load average where that
    cannot be measured) and this run's share of them."""

    cores: int
    load: float
    own: float

    @property
    def others(self) -> float:
        return max(0.0, self.load - self.own)


def cpu_count() -> int:
    """Cores this process may use: its affinity mask (which ``taskset`` and ``--cpuset-cpus`` narrow), or fewer where
    a CPU quota caps it (``docker --cpus 2``, a Kubernetes limit, a hosted notebook's container: the mask shows every
    core of the host there, and a worker per host core each spinning OpenMP threads ran throttled)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        cores = os.cpu_count() or 1
    quota = cpu_quota()
    return max(1, min(cores, math.ceil(quota))) if quota is not None else cores


def cpu_quota(root: Path = Path("/sys/fs/cgroup"), membership: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in cores (``quota / period``; the tightest of its cgroup and the cgroups
    above it), or None where none is set or none can be read. cgroup v2 keeps it in ``cpu.max`` (``"200000 100000"``
    or ``"max 100000"``); v1 in ``cpu.cfs_quota_us`` (-1: none) and ``cpu.cfs_period_us`` of the ``cpu`` hierarchy."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        names = [n for n in fields[1].split(",") if n]
        path = fields[2]
        if not names:  # v2: "0::/path"
            found = (_v2_quota(d / "cpu.max") for d in _up_from(root, path))
        elif "cpu" in names:  # v1: "4:cpu,cpuacct:/path", mounted as cpu, cpu,cpuacct or cpuacct,cpu
            mounts = [root / m for m in ("cpu", ",".join(names), "cpu,cpuacct", "cpuacct,cpu") if (root / m).is_dir()]
            found = (_v1_quota(d) for m in mounts[:1] for d in _up_from(m, path))
        else:
            continue
        quotas += [q for q in found if q is not None]
    return min(quotas) if quotas else None


def _up_from(mount: Path, path: str) -> list[Path]:
    """``mount/path`` and each folder above it up to ``mount`` (a container sees its own cgroup as ``/``)."""
    parts = [p for p in path.strip().split("/") if p and p != ".."]
    return [mount.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]


def _v2_quota(path: Path) -> float | None:
    try:
        quota, period = path.read_text().split()[:2]
        return int(quota) / int(period) if quota != "max" and int(period) > 0 else None
    except (OSError, ValueError):
        return None


def _v1_quota(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def available_cores(cores: int, others_load: float) -> int:
    """Cores left to this run when other processes add ``others_load`` to the load average (at least 1)."""
    taken = math.ceil(others_load - 0.5) if others_load > 0.5 else 0  # round half down: 0.5 -> 0, 0.6 -> 1
    return max(1, min(cores, cores - taken))


def task_threads(cores: int, jobs: int, others_load: float) -> int:
    """Threads per task for ``jobs`` parallel tasks: the available cores shared out, never fewer than one."""
    if cores < 1 or jobs < 1:
        raise ValueError(f"cores and jobs must be at least 1; got cores={cores}, jobs={jobs}")
    return max(1, available_cores(cores, max(0.0, others_load)) // jobs)


def own_load(cpu_seconds: float, age_seconds: float) -> float:
    """This process's estimated part of the 1-minute load average.

    A process busy a fraction ``u`` of its life adds about ``u * (1 - exp(-age / 60))`` to the exponentially damped
    1-minute average: a CLI run started seconds ago has hardly entered it yet, an idle notebook kernel adds ~0.
    A process running several threads may be busy more than once over (``u`` > 1): it adds that many to the load.
    """
    if age_seconds <= 0:
        return 0.0
    busy = max(0.0, cpu_seconds / age_seconds)
    return busy * (1.0 - math.exp(-age_seconds / 60.0))


def _proc_stat(pid: int | str) -> tuple[int, int] | None:
    """(CPU ticks: utime + stime of all its threads, start: clock ticks after boot) of a process (Linux:
    ``/proc/<pid>/stat``), or None when it is gone or cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # counted after "(comm)"
        return int(fields[11]) + int(fields[12]), int(fields[19])  # fields 14 + 15, and 22
    except (OSError, ValueError, IndexError):
        return None


def _process_times(pid: int | str = "self") -> tuple[float, float] | None:
    """(CPU seconds, seconds since start) of a process (Linux: /proc), or None where that cannot be read."""
    stat = _proc_stat(pid)
    try:
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if stat is None:
        return None
    return stat[0] / _clock_ticks(), max(0.0, uptime - stat[1] / _clock_ticks())


def _process_age() -> float | None:
    """Seconds since this process started (Linux: /proc), or None where that cannot be read."""
    times = _process_times()
    return times[1] if times is not None else None


@dataclass(frozen=True)
class CpuSample:
    """One reading of ``/proc/stat`` for this process's cores and of its own processes' CPU ticks."""

    at: float  #: time.monotonic()
    busy: int  #: ticks the cores spent busy (user, nice, system, irq, softirq, steal)
    total: int  #: ticks of the cores, idle and iowait included
    own: dict[int, int]  #: pid -> its utime + stime ticks (this process and its workers)
    boot_age: float  #: seconds since boot (``/proc/uptime``): which processes started after this reading


#: a reading older than this is not "lately": the next one waits for a fresh pair. Within a run the span between
#: readings is what the pool's own workers (tracked) and other processes did, so up to a minute (what the load average
#: it replaced looked at) measures well; each run starts its own span (:func:`take_reading`)
RECENT_SECONDS = 60.0
#: how long a first reading waits between its two samples
FIRST_WINDOW = 0.25
#: the shortest span measured (5 clock ticks of 10 ms per core); a reading this recent is reused
MIN_WINDOW = 0.05
#: the previous reading and what it gave (None: taken by :func:`take_reading`); one element at most
_last: list[tuple[CpuSample, MachineLoad | None]] = []


def take_reading() -> None:
    """Read the cores now, so that the next :func:`machine_load` measures from here instead of waiting
    :data:`FIRST_WINDOW` (a run takes one before it reads its data)."""
    now = cpu_sample([os.getpid()])
    if now is not None:
        _last[:] = [(now, None)]


def machine_load(workers: Iterable[int] = (), *, wait: bool = True) -> MachineLoad:
    """The cores, how many of them were busy lately and this run's part of that: this process's and its
    ``workers``' (process ids) CPU over the same seconds, so a pool's own busy workers never count as other load
    (see the module docstring). Falls back to the 1-minute load average where ``/proc`` is not readable, and where
    there is no recent reading and ``wait`` is False (the figure is only reported: the threads are the user's)."""
    workers = list(workers)
    pids = [os.getpid(), *workers]
    now = cpu_sample(pids)
    if now is None:
        return _load_average(workers)
    age = now.at - _last[0][0].at if _last else math.inf
    if age < MIN_WINDOW and _last[0][1] is not None:  # read a moment ago (tasks submitted at once): reuse it
        return _last[0][1]
    before = _last[0][0] if age <= RECENT_SECONDS else None
    if before is None or age < MIN_WINDOW:  # no recent reading, or one taken a moment ago: wait for enough ticks
        if not wait:
            return _load_average(workers)
        time.sleep(FIRST_WINDOW if before is None else MIN_WINDOW - age)
        before, now = before or now, cpu_sample(pids)
        if now is None:  # pragma: no cover - /proc vanished between two reads
            return _load_average(workers)
    load = measured_load(before, now)
    _last[:] = [(now, load)]
    return load


def measured_load(before: CpuSample, now: CpuSample) -> MachineLoad:
    """Busy cores and this run's share of them between two readings. A process absent from ``before`` counts all
    its CPU when it started after that reading (a new worker), none otherwise (not known then). Under a CPU quota the
    readings are of the host's cores (:func:`_affinity`), more than the quota's: other processes take the quota's
    cores only where they leave fewer than those free (:func:`_within_quota`)."""
    cores, host = cpu_count(), len(_affinity())
    total = max(1, now.total - before.total)
    busy = host * max(0, now.busy - before.busy) / total
    seconds = max(1e-6, now.at - before.at)
    ticks = 0
    for pid, t in now.own.items():
        if pid in before.own:
            ticks += max(0, t - before.own[pid])
        elif _started_after(pid, before.boot_age):
            ticks += t
    own = min(ticks / _clock_ticks() / seconds, busy)
    return MachineLoad(cores, round(own + _within_quota(busy - own, host, cores), 2), round(own, 2))


def _within_quota(others: float, host: int, cores: int) -> float:
    """The cores of a quota of ``cores`` that other processes keeping ``others`` of the ``host``'s cores busy take:
    none while they leave at least ``cores`` free (a 2-core container on a 16-core host half busy with other
    containers' work runs 2 threads, not 1: the host load had been scaled down to the quota, as though the others ran
    within it); the same load where there is no quota (``host == cores``)."""
    return max(0.0, others - max(0, host - cores))


def cpu_sample(pids: Sequence[int]) -> CpuSample | None:
    """Read the busy and total ticks of this process's cores from ``/proc/stat`` and the CPU ticks of ``pids``;
    None where ``/proc`` cannot be read (not Linux)."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
        boot_age = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    mine = {f"cpu{i}" for i in _affinity()}
    busy = total = 0
    for line in lines:
        fields = line.split()
        if not fields or fields[0] not in mine:
            continue
        values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
        busy += values[0] + values[1] + values[2] + values[5] + values[6] + values[7]
        total += sum(values)
    if total == 0:
        return None
    own = {}
    for pid in pids:
        ticks = _process_ticks(pid)
        if ticks is not None:
            own[pid] = ticks
    return CpuSample(time.monotonic(), busy, total, own, boot_age)


def _affinity() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return list(range(os.cpu_count() or 1))


def _clock_ticks() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def _process_ticks(pid: int) -> int | None:
    """utime + stime of a process in clock ticks, or None when it is gone."""
    stat = _proc_stat(pid)
    return stat[0] if stat is not None else None


def _started_after(pid: int, boot_age: float) -> bool:
    """Whether process ``pid`` started after the moment ``boot_age`` seconds after boot."""
    stat = _proc_stat(pid)
    return stat is not None and stat[1] / _clock_ticks() >= boot_age


def _load_average(workers: Iterable[int] = ()) -> MachineLoad:
    """The fallback: the 1-minute load average and this run's estimated share of it (0 where the OS has none)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - Windows
        load = 0.0
    age = _process_age()
    own = own_load(time.process_time(), age) if age is not None else 0.0
    for pid in workers:
        times = _process_times(pid)
        if times is not None:
            own += own_load(*times)
    others, cores = max(0.0, load - own), cpu_count()
    load -= others - _within_quota(others, len(_affinity()), cores)  # the host's load: as measured_load, the quota's
    return MachineLoad(cores, round(load, 2), round(own, 2))


def allocate_threads(
    free: int, slots: int, running: Sequence[int], waiting: int, fixed: int | None = None
) -> int | None:
    """Threads for the next task, decided as it is submitted, or None: wait until a running task finishes.

    ``free``: cores left to the run now (:func:`available_cores`); ``slots``: tasks that may run at once (the pool's
    workers, fewer when ``free`` is lower); ``running``: the thread counts of the tasks running now; ``waiting``:
    tasks not yet submitted, this one included. The cores the running tasks leave are shared among the tasks that
    can start now, so when fewer tasks are left than workers each gets more (1 task left, 2 free cores: 2 threads).
    A task whose family must keep one count (``fixed``) waits until that many cores are free. With nothing running
    a task always starts (at least one thread), so a busy machine slows a run down but never stalls it.
    """
    if running and len(running) >= max(1, slots):
        return None
    left = free - sum(running)
    if fixed is not None:
        return fixed if not running or left >= fixed else None
    if running and left < 1:
        return None
    sharers = max(1, min(waiting, max(1, slots) - len(running)))
    return max(1, left // sharers)


def thread_env(threads: int) -> dict[str, str]:
    """The environment variables that cap a worker process's thread pools at ``threads``."""
    return dict.fromkeys(THREAD_ENV_VARS, str(max(1, int(threads))))
