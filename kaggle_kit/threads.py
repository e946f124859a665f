"""How many threads each (model, fold) task gets, and the environment that holds a worker process to that count.

The rule is load-aware because the costly mistake is asymmetric: on a machine where other processes keep cores
busy, XGBoost / LightGBM with more OpenMP threads than free cores run 10-100x slower (threads spin-waiting for
cores they do not get), while one thread too few costs at most the lost parallelism (about 1.8x on 2 cores)::

    available = cores - round_half_down(load average of OTHER processes over the last minute)   (at least 1)
    threads   = max(1, available // jobs)

A core counts as taken once other processes keep it busy at least half the time. The 1-minute load average counts
this process too; its share is estimated from its own CPU time (see :func:`own_load`) and taken off.
"""

from __future__ import annotations

import math
import os
import time
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
    """
    if age_seconds <= 0:
        return 0.0
    busy = min(1.0, max(0.0, cpu_seconds / age_seconds))
    return busy * (1.0 - math.exp(-age_seconds / 60.0))


def _process_age() -> float | None:
    """Seconds since this process started (Linux: /proc), or None where that cannot be read."""
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime, counted after "(comm)"
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def machine_load() -> MachineLoad:
    """Read the cores, the 1-minute load average and this process's share of it (0 where the OS has none)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - Windows
        load = 0.0
    age = _process_age()
    own = own_load(time.process_time(), age) if age is not None else 0.0
    return MachineLoad(cpu_count(), round(load, 2), round(own, 2))


def thread_env(threads: int) -> dict[str, str]:
    """The environment variables that cap a worker process's thread pools at ``threads``."""
    return dict.fromkeys(THREAD_ENV_VARS, str(max(1, int(threads))))
