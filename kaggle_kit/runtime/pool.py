"""Worker processes kept for a whole run, each of which can be ended on its own.

:class:`concurrent.futures.ProcessPoolExecutor` cannot end one task: killing one of its workers breaks the whole
pool (every pending future fails), and it exposes its processes only through a private attribute. A time-limited
run needs both: a fold that would overrun the limit is stopped by ending its worker, the other workers carry on,
and the thread rule reads the workers' process ids to tell this run's load from other processes'. So the run keeps
its own small pool: one spawned process per slot, each with a pipe, fed one task at a time. A worker is started
when a task first needs it (its initializer prepares the data once) and serves every later task of the run, whatever
wave of a time-limited run it belongs to: importing torch or reading the data is paid once per worker, not per wave.

A worker that is ended mid-task leaves at most a hidden temporary fold folder (fold folders are published by one
rename), which :func:`kaggle_kit.runtime.store.remove_stale_temps` removes once its writer is gone.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ..errors import ConfigError

#: the exit code of a worker that was asked, while it started, to run the kit itself (:func:`stop_if_worker_starting`)
SCRIPT_RERAN_EXIT = 86


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker, as text (attached as the exception's ``__cause__``)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def died_message(code: int | None) -> str:
    """Why a worker ended mid-task, as far as its exit code tells: SIGKILL, which the pool never sends mid-task, is
    most often the system's out-of-memory killer."""
    said = f"the worker process ended (exit code {code}) while fitting"
    if code == -signal.SIGKILL:
        return (
            f"{said}: killed (SIGKILL), most often by the system's out-of-memory killer; give each fold more memory: "
            "fewer folds at once (--jobs 1, run.n_jobs), or a smaller model or table"
        )
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            name = signal.Signals(-code).name
            if name in _CRASHES:
                return f"{said}: {name}, a crash in its library"
            # SIGTERM, SIGHUP: another process ended it (it said "a crash in its library" of these too)
            return f"{said}: {name}, sent by another process (the system stopping, a kill command)"
    return said


#: the signals a process gets from its own fault: a crash in a compiled library, not another process's doing
_CRASHES = frozenset({"SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE", "SIGSYS", "SIGTRAP"})


class WorkerDied(RuntimeError):
    """A worker process ended while it ran a task, not by the pool's hand (out of memory, a crash in a library)."""


def stop_if_worker_starting() -> None:
    """End this process now if it is a worker still starting. A spawned worker first imports the script that started
    the run (as ``__mp_main__``); a script that calls the kit at its top level, not under
    ``if __name__ == "__main__":``, would start a second run from inside each worker, on the same run folder. The
    parent sees the exit code and names the fix (:func:`script_reran_error`). (``_inheriting`` is the flag
    multiprocessing itself reads to refuse a process started at that point.)"""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        os._exit(SCRIPT_RERAN_EXIT)


def script_reran_error() -> ConfigError:
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    script = repr(main) if main else "the script that started the run"
    return ConfigError(
        f"the fold workers could not start: each worker process imports {script} (Python's 'spawn' start method), "
        "and its top-level code called kaggle_kit again. Put the calls to kaggle_kit in that file under "
        '`if __name__ == "__main__":` (a notebook needs nothing)'
    )


@dataclass
class Worker:
    """One worker process, its end of the pipe and the task it runs now (None: idle)."""

    process: Any  # multiprocessing's SpawnProcess
    conn: multiprocessing.connection.Connection
    busy: Any = None  #: the caller's handle of the task it runs
    started_at: float = 0.0  #: time.monotonic() when its task was sent, or its worker became ready if later
    spawned_at: float = field(default_factory=time.monotonic)
    tasks_run: int = field(default=0)
    ready: bool = False  #: its initializer has run (it said "ready")
    #: when its task's one-time cost began (:func:`uncounted`: importing a library), while it lasts; else None
    paused_at: float | None = None
    uncounted: float = 0.0  #: seconds of its task that :func:`uncounted` set apart, once ended

    def task_clock(self, now: float) -> float:
        """When its task's own time began, as a task's ``max_seconds`` counts it: from when the task was sent or the
        worker became ready, whichever is later, leaving out what :func:`uncounted` set apart (so far, ``now``)."""
        return self.started_at + self.uncounted + (now - self.paused_at if self.paused_at is not None else 0.0)

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)


#: in a worker process, its end of the pipe (for :func:`uncounted`); None elsewhere
_PARENT: multiprocessing.connection.Connection | None = None


@contextlib.contextmanager
def uncounted() -> Iterator[None]:
    """In a worker: the block is a one-time cost of the process (importing a library), which a task's own limit
    (``max_seconds``, a time limit's measuring fold) does not count; the run's deadline still does. Elsewhere nothing.
    A measuring fold is stopped once the config's other folds could no longer finish, and they would not pay it again:
    counted, ``import lightgbm`` (which imports scikit-learn: 2.5 s on a loaded machine) had stopped LightGBM's sizing
    fold on a 300-row table at a 12 s limit, and the kind was not started again."""
    if _PARENT is None:
        yield
        return
    with contextlib.suppress(OSError):
        _PARENT.send(("pause", None))
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            _PARENT.send(("resume", None))


def _serve(conn: multiprocessing.connection.Connection) -> None:
    """A worker's life: receive the initializer and its arguments and run it, then ``(fn, args)`` messages one at a
    time until told to stop (None) or the parent's end of the pipe closes. Each reply is ``("ok", value)`` or
    ``("error", (exc, traceback))``, after any ``("pause" | "resume", None)`` of :func:`uncounted`."""
    global _PARENT
    _PARENT = conn
    try:
        initializer, initargs = conn.recv()
        initializer(*initargs)
        init_error = None
        conn.send(("ready", None))  # the parent times a worker's start (reading the data) from this
    except BaseException as exc:  # every task this worker is sent fails with it (the parent sees why)
        init_error = exc
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        fn, args = msg
        try:
            if init_error is not None:
                raise init_error
            reply: tuple[str, Any] = ("ok", fn(*args))
        except BaseException as exc:
            reply = ("error", (_portable(exc), "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))))
        try:
            conn.send(reply)
        except Exception as exc:  # the exception (or the value) does not pickle: send it as text
            kind, payload = reply
            text = payload[1] if kind == "error" else ""
            conn.send(("error", (RuntimeError(f"{type(exc).__name__}: {exc}"), text)))
        if init_error is not None:
            return


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives the pipe both ways (the parent must be able to rebuild it), else a RuntimeError with its
    type and message. (The pipe between the processes serialises as multiprocessing does; nothing is read from a
    file this way.)"""
    try:
        ForkingPickler.loads(ForkingPickler.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


class WorkerPool:
    """Up to ``size`` spawned worker processes, each started with ``initializer(*initargs)`` on first use.

    ``start_worker`` wraps the start of a process (a context manager factory: the caller sets the environment the
    worker inherits and holds Ctrl-C back meanwhile). ``on_close`` runs once the workers have ended
    (:meth:`terminate`): it removes what they read at their start (the frames' files of :mod:`.frame_files`)."""

    def __init__(
        self,
        size: int,
        initializer: Callable[..., None],
        initargs: tuple,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.size = size
        self._initializer, self._initargs = initializer, initargs
        self._on_close = on_close  #: called once every worker has ended (removes the files the workers read)
        self._ctx = multiprocessing.get_context("spawn")
        self.workers: list[Worker] = []
        self.started = 0  #: worker processes started so far (a replacement of an ended one counts too)
        self.startup: float | None = None  #: seconds the last worker took from its start to being ready
        #: the workers' warnings warned again in this process (``runtime.relay``): each once per pool (a run)
        self.warned: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ state
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.process.is_alive()]

    def running(self) -> list[Worker]:
        return [w for w in self.workers if w.busy is not None]

    def will_spawn(self) -> bool:
        """Whether the next submission starts a new process (no idle live worker)."""
        return not any(w.busy is None and w.process.is_alive() for w in self.workers)

    # ------------------------------------------------------------------ tasks
    def submit(self, handle: Any, fn: Callable[..., Any], args: Sequence[Any], now: float) -> Worker:
        """Send ``fn(*args)`` to an idle worker (starting one if none is idle); ``handle`` comes back with its
        outcome. At most ``size`` tasks run at once."""
        worker = next((w for w in self.workers if w.busy is None and w.process.is_alive()), None)
        if worker is None:
            self.workers = [w for w in self.workers if w.busy is not None or w.process.is_alive()]
            if len(self.workers) >= self.size:
                raise RuntimeError(f"all {self.size} workers are busy")
            worker = self._spawn()
        with contextlib.suppress(OSError):  # it ended while starting: `wait` reads its exit code
            worker.conn.send((fn, tuple(args)))
        worker.busy, worker.started_at, worker.paused_at, worker.uncounted = handle, now, None, 0.0
        worker.tasks_run += 1
        return worker

    def wait(self, timeout: float) -> list[tuple[Any, Any, BaseException | None]]:
        """Wait up to ``timeout`` seconds for running tasks to end; (handle, value, exception) of those that did."""
        busy = self.running()
        if not busy:
            return []
        ready = set(
            multiprocessing.connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout)
        )
        out: list[tuple[Any, Any, BaseException | None]] = []
        for w in busy:
            if w.conn not in ready and w.process.sentinel not in ready:
                continue
            reply = self._read(w)
            if reply is None and w.process.is_alive():
                continue  # only the worker's "ready": its task goes on
            handle, w.busy = w.busy, None
            if reply is None:
                w.process.join(timeout=1)
                code = w.process.exitcode
                self._drop(w)
                if code == SCRIPT_RERAN_EXIT and not w.ready:
                    raise script_reran_error()
                out.append((handle, None, WorkerDied(died_message(code))))
            elif reply[0] == "ok":
                out.append((handle, reply[1], None))
            else:
                exc, text = reply[1]
                exc.__cause__ = RemoteTraceback(text)
                out.append((handle, None, exc))
        return out

    def _read(self, worker: Worker) -> tuple[str, Any] | None:
        """The worker's reply to its task, or None (nothing yet, or it died); a "ready" on the way is recorded."""
        try:
            while worker.conn.poll():
                kind, payload = worker.conn.recv()
                now = time.monotonic()
                if kind == "pause":
                    worker.paused_at = now
                elif kind == "resume":
                    if worker.paused_at is not None:
                        worker.uncounted += now - worker.paused_at
                    worker.paused_at = None
                elif kind == "ready":
                    worker.ready = True
                    self.startup = now - worker.spawned_at
                    # a task sent to a worker still starting begins now: its start is the pool's (pool.startup)
                    worker.started_at = max(worker.started_at, now)
                else:
                    return kind, payload
        except (EOFError, OSError):
            pass
        return None

    def kill(self, worker: Worker) -> None:
        """End ``worker`` now (SIGTERM, then SIGKILL); its task is dropped. A later submission starts another."""
        _end(worker.process)
        worker.busy = None
        self._drop(worker)

    def close(self) -> None:
        """Stop every worker now. An idle worker holds nothing (its last fold is published or was never begun), so
        it is ended rather than asked to exit: a worker that imported torch took 1.4 s to exit of its own accord,
        time a time-limited command needs for its ensemble selection."""
        self.terminate()

    def terminate(self) -> None:
        """End every worker at once (the end of a run, an interrupt, an error that aborts it)."""
        for w in self.workers:
            if w.process.is_alive():
                w.process.terminate()
        for w in self.workers:
            _end(w.process)
            w.conn.close()
        self.workers = []
        if self._on_close is not None:
            self._on_close()

    # ------------------------------------------------------------------ internals
    def _spawn(self) -> Worker:
        """A started worker. Its initializer's arguments (the data frames of a run given frames) go through the pipe,
        not the process's arguments: multiprocessing writes those to the child before it reads them all, and a
        child that ends while starting (a script without a main guard: :func:`stop_if_worker_starting`) left that
        write blocked for ever once they passed the pipe's 64 kB (a notebook's `run(spec, train=df)` run as a
        script hung). Sent here, the write fails with the dead child, whose exit code then says why."""
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=_serve, args=(child,), daemon=True)
        process.start()
        child.close()
        with contextlib.suppress(OSError):  # it ended while starting: `wait` reads its exit code
            parent.send((self._initializer, self._initargs))
        self.started += 1
        worker = Worker(process, parent)
        self.workers.append(worker)
        return worker

    def _drop(self, worker: Worker) -> None:
        worker.conn.close()
        if worker in self.workers:
            self.workers.remove(worker)


def _end(process: Any) -> None:
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join(timeout=5)
    elif process.exitcode is None:
        process.join(timeout=5)
