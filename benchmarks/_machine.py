"""What every benchmark prints beside its figures: the machine, its load, and the threads the run used.

The project's machine is shared: a figure means little without the load average seen before and after it.
"""

from __future__ import annotations

import os
import platform
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``"1.52 1.10 0.98"``."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def machine_line() -> str:
    """One line naming the Python, the CPU, the cores this process may use, the memory and the load."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory = f"{mem_gb:.0f} GB RAM"
    except (ValueError, OSError):  # pragma: no cover - not Linux
        memory = "RAM unknown"
    return (
        f"python {platform.python_version()} on {platform.processor() or platform.machine()}, {cores} cores, "
        f"{memory}, load average {load_average()}"
    )


def versions(*modules: str) -> str:
    """``"xgboost 3.2.0, lightgbm 4.7.0"`` for the modules named (imports them)."""
    import importlib

    return ", ".join(f"{m} {getattr(importlib.import_module(m), '__version__', '?')}" for m in modules)


@dataclass
class TreeMemory:
    """Peak resident memory of a process and all its descendants together, sampled from a background thread.

    ``resource.getrusage(RUSAGE_CHILDREN)`` only gives the largest single child; a run with a worker pool holds
    memory in several processes at once, so their sum is sampled instead (every ``interval`` seconds: a peak
    shorter than that can be missed).
    """

    pid: int
    interval: float = 0.05
    peak_bytes: int = 0
    samples: int = 0

    def __post_init__(self) -> None:
        try:
            import psutil  # noqa: F401  (checked here: a failed import inside the thread would go unseen)
        except ImportError:
            raise SystemExit("measuring a process tree's memory needs psutil: .venv/bin/pip install psutil") from None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.peak_bytes = max(self.peak_bytes, total)
            self.samples += 1
            time.sleep(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_python(args: Sequence[str], *, env: dict[str, str] | None = None) -> tuple[float, int, int, str]:
    """Run ``python args`` in a fresh interpreter; return (wall seconds, peak tree RSS bytes, exit code, stdout).

    The child's stderr goes to ours, so its errors are seen as they happen."""
    import subprocess

    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True, env=env)
    with TreeMemory(proc.pid) as mem:
        out, _ = proc.communicate()
    return time.perf_counter() - start, mem.peak_bytes, proc.returncode, out
