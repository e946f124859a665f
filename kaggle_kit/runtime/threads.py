"""How many threads each (model, fold) task gets, and the environment that holds a worker process to that count.

The rule is load-aware because the costly mistake is asymmetric: on a machine where other processes keep cores
busy, XGBoost / LightGBM with more OpenMP threads than free cores run 10-100x slower (threads spin-waiting for
cores they do not get), while one thread too few costs at most the lost parallelism (about 1.8x on 2 cores)::

    available = cores - round_half_down(load average of OTHER processes over the last minute)   (at least 1)
    threads   = max(1, available // jobs)

A core counts as taken once other processes keep it busy at least half the time. The 1-minute load average counts
this process and its pool workers too; their share is estimated from their CPU time (see :func:`own_load`) and taken
off.

The rule is applied again before each task is handed to a worker (:func:`allocate_threads`): a task submitted when
fewer tasks are left than workers gets the cores the others leave, and when other processes take cores the number of
tasks running at once shrinks, not only their threads. A task's thread count never changes while it runs.
Only families whose predictions are byte-identical at any thread count (an adapter's ``thread_invariant``) are given
more than the run's first count; the others keep it, so a fold's OOF never depends on when it ran. Measured on this
kit's adapters (binary, multiclass and regression, 24k training rows): LightGBM is (the adapter sets ``deterministic``
and ``force_col_wise``) and so is the baseline (no threads); XGBoost differed on multiclass (``hist``, 200 rounds),
torch nets differed (CPU reductions split by thread), scikit-learn's LogisticRegression differed (BLAS). (XGBoost
could not use more anyway: in a worker started with OMP_NUM_THREADS=1 its nthread=2 ran on one core, while LightGBM,
which sets its OpenMP count itself, and torch used two.)
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
    """What the thread rule saw: the usable cores, the 1-minute load average and this process's estimated share."""

    cores: int
    load: float
    own: float

    @property
    def others(self) -> float:
        return max(0.0, self.load - self.own)


def cpu_count() -> int:
    """Cores this process may run on (its affinity mask, which containers and `taskset` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


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


def _process_times(pid: int | str = "self") -> tuple[float, float] | None:
    """(CPU seconds, seconds since start) of a process (Linux: /proc), or None where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # counted after "(comm)"
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime (fields 14, 15): all its threads
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return cpu, max(0.0, uptime - int(fields[19]) / ticks)  # starttime: field 22
    except (OSError, ValueError, IndexError):
        return None


def _process_age() -> float | None:
    """Seconds since this process started (Linux: /proc), or None where that cannot be read."""
    times = _process_times()
    return times[1] if times is not None else None


def machine_load(workers: Iterable[int] = ()) -> MachineLoad:
    """Read the cores, the 1-minute load average and this run's share of it (0 where the OS has none): this
    process's and that of its ``workers`` (process ids), so a pool's own busy workers never count as other load."""
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
    return MachineLoad(cpu_count(), round(load, 2), round(own, 2))


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
