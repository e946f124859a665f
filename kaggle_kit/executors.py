"""Where the K-fold loop's (model, fold) tasks run: in this process, in a local process pool, or on Ray.

Every executor gives the same answer: each task is one call of the runner's ``fit_fold`` and writes the same fold
folder, so the OOF predictions are byte-identical whichever runs them. They also fail alike: a model that raises is
recorded as failed (its remaining folds are skipped or cancelled) and the other models carry on, while a
:class:`~kaggle_kit.errors.KitError` (bad input the user must fix) aborts the run. An interrupt (Ctrl-C) stops the
run at once: pool workers ignore SIGINT and are terminated by the parent, nothing is recorded as failed, and every
fold already in the store is reused by the next run.

Each task's thread count is decided as it is handed to a worker (:func:`~kaggle_kit.threads.allocate_threads`), from
the load measured then: the last tasks of a run get the cores the finished ones left, and other processes' load
shrinks the number of tasks running at once. What the run shows goes through :mod:`kaggle_kit.progress`.

The fit function is handed in rather than imported, so this module does not depend on the runner; it must be a
module-level function (worker processes import it by name).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace

import polars as pl

from .config import CompetitionSpec, Executor, ModelSpec
from .data import CompetitionData, load_competition, prepare_competition
from .errors import KitError
from .folds import Folds
from .lifeline import exit_with_parent
from .metrics import Metric, get_metric
from .progress import RunProgress, as_progress, install_plain_warnings, model_cv, plain_warning
from .store import FoldResult, RunStore
from .threads import THREAD_INVARIANT_KINDS, allocate_threads, available_cores, machine_load, thread_env

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Task:
    """One unit of work: a model on one fold of one repeat; ``key`` addresses its results in the store."""

    model: ModelSpec
    key: str
    repeat: int
    fold: int


@dataclass(frozen=True)
class Context:
    """Everything a worker needs to fit folds; built once per process."""

    spec: CompetitionSpec
    data: CompetitionData
    folds: Folds
    store: RunStore
    metric: Metric
    device: str
    threads: int


FitFold = Callable[[Context, Task], FoldResult]


@dataclass(frozen=True)
class Job:
    """A run's tasks and how to run them: ``in_memory`` says the frames came from Python, not from the spec's paths
    (workers are then handed the frames instead of reading the files)."""

    context: Context
    in_memory: bool
    jobs: int
    executor: Executor = "local"
    ray_address: str | None = None
    gpus_per_task: float | None = None
    #: decide each task's threads from the load when it is submitted (False: ``context.threads`` for every task,
    #: as when the user sets run.threads_per_task)
    adaptive_threads: bool = False
    #: when the run must end, on :func:`time.monotonic`'s clock (a time limit); shown as the time left
    deadline: float | None = None


class Outcomes:
    """Collects the tasks' outcomes and reports them: a line per fold, a model's CV once all its folds are in the
    store, the first error of each failed model (with the traceback for the run log)."""

    def __init__(self, tasks: list[Task], ctx: Context, reporter: RunProgress) -> None:
        self.errors: dict[str, str] = {}
        self.reporter = reporter
        self._ctx = ctx
        self._left: dict[str, int] = {}
        self._results: dict[str, list[FoldResult]] = {}
        for t in tasks:
            self._left[t.model.name] = self._left.get(t.model.name, 0) + 1

    def _where(self, task: Task) -> str:
        return f"{task.model.name:<14} repeat {task.repeat} fold {task.fold + 1}/{self._ctx.folds.n_splits}"

    def started(self, task: Task, threads: int) -> None:
        self.reporter.task_started(task, threads)

    def record(self, task: Task, result: FoldResult | None, exc: BaseException | None) -> None:
        """Report a finished task; re-raise a :class:`KitError` (it aborts the run)."""
        name = task.model.name
        if exc is not None:
            if isinstance(exc, KitError):
                raise exc
            error = f"{type(exc).__name__}: {exc}"
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.reporter.task_failed(task, f"{self._where(task)}  FAILED: {error}", details)
            if name not in self.errors:
                self.errors[name] = error
                self.reporter.model_done(name, None, error)
            return
        assert result is not None
        iters = f"  rounds {result.best_iteration}" if result.best_iteration is not None else ""
        threads = f" on {result.threads} thread(s)"
        train = f" (train {result.train_score:.5f})" if result.train_score is not None else ""
        line = (
            f"{self._where(task)}  {self._ctx.metric.name} {result.score:.5f}{train}{iters}  {result.fit_seconds:.1f}s"
        )
        self.reporter.task_done(task, result, line + threads)
        self._results.setdefault(name, []).append(result)
        self._left[name] -= 1
        if self._left[name] == 0 and name not in self.errors:
            ctx = self._ctx
            cv = model_cv(ctx.store, ctx.folds, ctx.data.y, ctx.metric, name, task.key, self._results.pop(name))
            self.reporter.model_done(name, cv, None)


def execute(
    tasks: list[Task], job: Job, fit: FitFold, progress: RunProgress | Progress | None = None
) -> dict[str, str]:
    """Run the tasks; return model name -> error text for the models that failed (the others carry on).

    ``progress`` is told what happens (a :class:`~kaggle_kit.progress.RunProgress`, or a callable of lines: every
    fold, as before). A KeyboardInterrupt stops the tasks at once and is raised again, nothing recorded as failed.
    """
    reporter = as_progress(progress, metric=job.context.metric)
    outcomes = Outcomes(tasks, job.context, reporter)
    if not tasks:
        return outcomes.errors
    reporter.start(len(tasks), job.deadline)
    try:
        if job.executor == "ray":
            from .ray_executor import run_on_ray

            run_on_ray(tasks, job, fit, outcomes, reporter.note)
        elif job.jobs == 1:
            run_sequential(tasks, job, fit, outcomes)
        else:
            run_in_pool(tasks, job, fit, outcomes)
    except KeyboardInterrupt:
        reporter.interrupted()
        raise
    finally:
        reporter.close()
    return outcomes.errors


def task_threads_now(task: Task, job: Job, running: list[int], waiting: int, workers: Iterable[int] = ()) -> int | None:
    """The threads ``task`` gets if it is submitted now, or None (wait for a running task to finish).

    Families whose predictions depend on the thread count keep the run's first count (``context.threads``), so a
    fold's OOF does not depend on when it ran; the others share what the machine has free now.
    """
    base = job.context.threads
    if not job.adaptive_threads:
        return base if len(running) < job.jobs else None
    load = machine_load(workers)
    free = available_cores(load.cores, load.others)
    fixed = None if task.model.kind in THREAD_INVARIANT_KINDS else base
    return allocate_threads(free, min(job.jobs, free), running, waiting, fixed)


def run_sequential(tasks: list[Task], job: Job, fit: FitFold, outcomes: Outcomes) -> None:
    """In this process, one task after another; a failed model's remaining folds are skipped."""
    for i, task in enumerate(tasks):
        if task.model.name in outcomes.errors:
            continue
        threads = task_threads_now(task, job, [], len(tasks) - i) or job.context.threads
        outcomes.started(task, threads)
        try:
            result = fit(replace(job.context, threads=threads), task)
        except KitError:
            raise
        except Exception as exc:
            outcomes.record(task, None, exc)
        else:
            outcomes.record(task, result, None)


# --------------------------------------------------------------------------------------------- process pool
_WORKER: tuple[Context, FitFold] | None = None


def _init_worker(
    spec: CompetitionSpec,
    frames: tuple[pl.DataFrame, pl.DataFrame | None] | None,
    root: str,
    device: str,
    threads: int,
    fit: FitFold,
    plain_warnings: bool = False,
) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the workers
    exit_with_parent()  # a killed run takes its workers with it instead of leaving them to linger
    if plain_warnings:
        install_plain_warnings()
    data = prepare_competition(spec, *frames) if frames is not None else load_competition(spec)
    store = RunStore(root)
    folds = store.load_folds(spec.folds.n_splits, "past" if spec.fold_strategy == "time" else "complement")
    assert folds is not None  # written by the parent before any worker starts
    _WORKER = (Context(spec, data, folds, store, get_metric(spec.metric), device, threads), fit)


def _run_in_worker(task: Task, threads: int | None = None) -> FoldResult:
    assert _WORKER is not None
    ctx, fit = _WORKER
    if threads is None or threads == ctx.threads:
        return fit(ctx, task)
    from threadpoolctl import threadpool_limits  # BLAS / OpenMP pools already loaded, beyond the start count

    with threadpool_limits(limits=threads):
        return fit(replace(ctx, threads=threads), task)


@contextmanager
def environment(updates: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then restore them: spawned processes inherit them at start."""
    before = {k: os.environ.get(k) for k in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def _sigint_deferred(spawning: bool) -> Iterator[None]:
    """Hold a Ctrl-C back while a task is submitted and raise it after: a SIGINT that lands meanwhile is remembered
    (seen lost once: the run then waited on its hanging folds forever) and is a KeyboardInterrupt on leaving the block.

    ``spawning`` (the pool may start a worker in this submission): SIGINT is ignored instead, so that the new worker
    inherits it ignored from its first instruction and never prints a traceback mid-import (an exec'd process keeps
    an ignored signal, not a handler). Only the pool's first submissions spawn, so only a Ctrl-C within those few
    milliseconds is not seen; press it again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    before = signal.signal(signal.SIGINT, signal.SIG_IGN if spawning else lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
    if caught:
        raise KeyboardInterrupt


def run_in_pool(tasks: list[Task], job: Job, fit: FitFold, outcomes: Outcomes) -> None:
    """On up to ``job.jobs`` spawned processes. Each worker reads the data once (from the spec's paths, or the frames
    it is handed) and the folds from the store. The thread variables are in the workers' environment from their
    start, before numpy, polars or an OpenMP library is imported (the adapters pass their thread counts explicitly
    too). Tasks are submitted one by one as workers free up, each with the threads :func:`task_threads_now` gives.

    Any exception here (an interrupt, a KitError) terminates the workers at once instead of waiting for their folds.
    """
    ctx = job.context
    frames = (ctx.data.train, ctx.data.test) if job.in_memory else None
    pool = ProcessPoolExecutor(
        max_workers=job.jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(
            ctx.spec,
            frames,
            str(ctx.store.root),
            ctx.device,
            ctx.threads,
            fit,
            warnings.showwarning is plain_warning,
        ),
    )
    queue = list(tasks)
    running: dict[Future[FoldResult], tuple[Task, int]] = {}
    try:
        while queue or running:
            queue = [t for t in queue if t.model.name not in outcomes.errors]  # a failed model's folds: skipped
            while queue:
                workers = list(getattr(pool, "_processes", None) or {})
                threads = task_threads_now(queue[0], job, [n for _, n in running.values()], len(queue), workers)
                if threads is None:
                    break
                task = queue.pop(0)
                spawning = len(workers) < job.jobs  # the pool starts its workers on submission
                with environment(thread_env(ctx.threads)), _sigint_deferred(spawning):
                    running[pool.submit(_run_in_worker, task, threads)] = (task, threads)
                outcomes.started(task, threads)
            if not running:
                continue
            done, _ = wait(running, timeout=2.0, return_when=FIRST_COMPLETED)  # timeout: re-read the load
            for fut in done:
                task, _ = running.pop(fut)
                exc = fut.exception()
                outcomes.record(task, None if exc else fut.result(), exc)
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """End the pool's workers now (SIGTERM, then SIGKILL): a fold being written is left as a temporary folder that
    the next run removes; the folds already renamed into place are kept."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
    pool.shutdown(wait=True, cancel_futures=True)  # the workers are gone: this only joins the pool's own thread
