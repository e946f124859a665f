"""A test hook that kills the process at a named point, so crash-safety tests are deterministic, not timed.

Set ``KAGGLE_KIT_FAULT=<point>:<n>`` and the process SIGKILLs itself the ``n``-th time it reaches ``<point>``
(counted per process). ``KAGGLE_KIT_FAULT=<point>:<n>:parent`` instead kills the parent of a pool worker (the
run's main process) and lets the worker carry on, to test what a killed run leaves behind in its workers;
``<point>:<n>:hang`` makes the process sleep there for an hour instead (a fold that never ends, to test that an
interrupt does not wait for it). The variable is read once at import; when it is unset, :func:`fault_point` costs
one comparison with ``None``.

The points (``<file>`` is a file name such as ``folds.parquet``, ``run.json``, ``oof.parquet``, ``summary.json``):

==================  ==============================================================================================
``write:<file>``    :func:`~kaggle_kit.runtime.store.atomic_write` wrote the temporary file, before renaming it into
place
``epoch``           a net finished a training epoch (:class:`~kaggle_kit.models.nn.trainer.Trainer`)
``fold-files``      a fold's files are in its hidden temporary folder, before the rename that publishes it
``fold-renamed``    a fold's folder was just renamed into place
==================  ==============================================================================================

Not for users: it exists for ``tests/test_faults.py``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from dataclasses import dataclass

from ..errors import ConfigError

ENV = "KAGGLE_KIT_FAULT"


@dataclass(frozen=True)
class Fault:
    point: str
    nth: int
    target: str  # "self" | "parent" | "hang"


def parse_fault(text: str) -> Fault:
    """``"<point>:<n>"``, ``"<point>:<n>:parent"`` or ``"<point>:<n>:hang"``; a point may itself hold a colon
    (``write:run.json:1``)."""
    head, _, last = text.rpartition(":")
    target = "self"
    if last in ("parent", "hang"):
        target = last
        head, _, last = head.rpartition(":")
    if not head or not last.isdigit() or int(last) < 1:
        raise ConfigError(
            f"{ENV}={text!r} must be '<point>:<n>', '<point>:<n>:parent' or '<point>:<n>:hang' with n >= 1, "
            "e.g. 'fold-renamed:2'"
        )
    return Fault(head, int(last), target)


_FAULT: Fault | None = parse_fault(os.environ[ENV]) if os.environ.get(ENV) else None
_hits = 0


def fault_point(point: str) -> None:
    """SIGKILL this process (or its parent) here if ``KAGGLE_KIT_FAULT`` names ``point`` and this is its n-th hit."""
    if _FAULT is None:
        return
    _hit(_FAULT, point)


def _hit(fault: Fault, point: str) -> None:
    global _hits
    if point != fault.point:
        return
    _hits += 1
    if _hits != fault.nth:
        return
    if fault.target == "self":
        os.kill(os.getpid(), signal.SIGKILL)
    elif fault.target == "hang":
        time.sleep(3600)
    elif multiprocessing.parent_process() is not None:  # only a worker may kill its parent, never a test runner
        os.kill(os.getppid(), signal.SIGKILL)
