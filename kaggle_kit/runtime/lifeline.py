"""Tie a worker process's life to its parent's: a pool worker must not outlive a run that was killed.

When a run's main process dies abruptly (SIGKILL, the OOM killer), a pool worker busy with a fold is not told: it
fits on for minutes, still holding cores and memory (an idle one sees its pipe close and exits; see
:mod:`kaggle_kit.runtime.pool`). :func:`exit_with_parent` starts one daemon thread per worker that waits on
the parent's sentinel (a pipe that closes when the parent dies) and ends the worker at once. Whatever fold it was
fitting is lost whole: fold folders are published by one rename, so nothing half-written is left to trust.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading

_lock = threading.Lock()
_watching = False

EXIT_STATUS = 70  #: a worker ended because its parent died (EX_SOFTWARE)


def exit_with_parent() -> bool:
    """In a process started by :mod:`multiprocessing`, exit as soon as the parent process dies.

    A no-op in a main process; idempotent (one watcher per process). Returns whether a watcher is running.
    """
    global _watching
    parent = multiprocessing.parent_process()
    if parent is None:
        return False
    with _lock:
        if not _watching:
            watcher = threading.Thread(target=_watch, args=(parent.sentinel,), name="kaggle-kit-lifeline", daemon=True)
            watcher.start()
            _watching = True
    return True


def _watch(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(EXIT_STATUS)  # no cleanup handlers: the parent that would collect the results is gone
