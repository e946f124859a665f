"""Where the K-fold loop's (model, fold) tasks run: in this process, in a local process pool, or on Ray.

Every executor gives the same answer: each task is one call of ``fold_fit.fit_fold`` and writes the same fold
folder, so the OOF predictions are byte-identical whichever runs them. They also fail alike: a model that raises is
recorded as failed (its remaining folds are skipped or cancelled) and the other models carry on, while a
:class:`~kaggle_kit.errors.KitError` (bad input the user must fix) aborts the run. An interrupt (Ctrl-C) stops the
run at once: pool workers ignore SIGINT and are terminated by the parent, nothing is recorded as failed, and every
fold already in the store is reused by the next run.

Each task's thread count is decided as it is handed to a worker (:func:`~kaggle_kit.runtime.threads.allocate_threads`),
from
the load measured then: the last tasks of a run get the cores the finished ones left, and other processes' load
shrinks the number of tasks running at once. What the run shows goes through :mod:`kaggle_kit.runtime.progress`.

The fit function is handed in rather than imported, so this module does not depend on the runner; it must be a
module-level function (worker processes import it by name).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from ..config import CompetitionSpec, Executor, ModelSpec
from ..errors import KitError
from ..features.sequence_store import open_sequence_store, run_sequences_folder
from ..metrics import Metric, get_metric
from ..models import thread_invariant
from ..readers.competition import CompetitionData, RawFrames, load_competition, prepare_competition
from .folds import Folds
from .frame_files import FrameFile, FrameFolder, frame_of
from .lifeline import exit_with_parent
from .pool import WorkerDied, WorkerPool
from .pooling import pooling_space
from .progress import RunProgress, as_progress, install_plain_warnings, model_scores, plain_warning
from .relay import Caught, recording, relayed_by, warn_again
from .scoring import FoldScores
from .store import FoldResult, RunStore
from .threads import allocate_threads, available_cores, cpu_count, machine_load, thread_env

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Task:
    """One unit of work: a model on one fold of one repeat; ``key`` addresses its results in the store."""

    model: ModelSpec
    key: str
    repeat: int
    fold: int
    #: stop the task when it has run this long (a time limit's probe of a new kind); None: only the run's deadline
    max_seconds: float | None = field(default=None, compare=False)
    #: not started when this many seconds have passed since its batch of tasks began (it stays unfinished)
    start_within: float | None = field(default=None, compare=False)
    #: the thread count the model's finished folds were fitted with, where its family predicts otherwise at another
    #: count (:func:`pinned_threads`): a resumed run fits its other folds so; None: the run's thread rule decides
    threads: int | None = field(default=None, compare=False)


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
    gpu_share: float = 1.0  #: see :attr:`kaggle_kit.models.FitContext.gpu_share`
    #: the folder whose ``image_cache`` the folds read, where not ``store``'s (a Ray task's scratch store): the run
    #: folder, when the task's node sees its cache
    images_root: Path | None = None


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
    #: when the fits must end, on :func:`time.monotonic`'s clock (a time limit): no task starts after it, and one
    #: still running then is stopped (in a process pool; shown as the time left)
    deadline: float | None = None
    #: train and test as the run read them from the spec's files (not ``in_memory``): the pool's workers prepare
    #: them, handed through their pipe, instead of reading the files again (14 s a worker on 1M rows x 60 columns
    #: and a 400k test; the frames' way through the pipe: 2 s); None: each worker reads the files
    frames: RawFrames | None = None


class Outcomes:
    """Collects the tasks' outcomes and reports them: a line per fold, a model's CV once all its folds are in the
    store, the first error of each failed model (with the traceback for the run log)."""

    def __init__(self, tasks: list[Task], ctx: Context, reporter: RunProgress) -> None:
        self.errors: dict[str, str] = {}
        #: (model name, key) -> the fold scores of a model whose every fold is in the store, for its assembly
        self.scores: dict[tuple[str, str], FoldScores] = {}
        #: tasks stopped at their time limit (not failed: nothing of theirs is in the store), and how long they ran
        self.stopped: list[tuple[Task, float]] = []
        self.peak = 0  #: the most tasks that ran at once (fewer than the workers when other processes take cores)
        self.reporter = reporter
        self._ctx = ctx
        #: by (model name, key): a model's folds of one version are pooled, never another version's of its name
        self._left: dict[tuple[str, str], int] = {}
        self._results: dict[tuple[str, str], list[FoldResult]] = {}
        for t in tasks:
            self._left[(t.model.name, t.key)] = self._left.get((t.model.name, t.key), 0) + 1

    def _where(self, task: Task) -> str:
        return f"{task.model.name:<14} repeat {task.repeat} fold {task.fold + 1}/{self._ctx.folds.n_splits}"

    def started(self, task: Task, threads: int) -> None:
        self.reporter.task_started(task, threads)

    def stop(self, task: Task, seconds: float) -> None:
        """The task was stopped after ``seconds`` (its time limit): not a failure; the model stays unfinished."""
        self.stopped.append((task, seconds))
        self.reporter.note(f"{self._where(task)}  stopped after {seconds:.1f}s: it would overrun the time limit")

    def record(self, task: Task, result: FoldResult | None, exc: BaseException | None) -> None:
        """Report a finished task; re-raise a :class:`KitError` (it aborts the run)."""
        name = task.model.name
        if exc is not None:
            if isinstance(exc, KitError):
                raise exc
            error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, WorkerDied):  # no traceback tells which fold it was
                fold = f"repeat {task.repeat} fold {task.fold + 1}/{self._ctx.folds.n_splits}"
                error = f"{type(exc).__name__} ({fold}): {exc}"
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
        version = (name, task.key)
        self._results.setdefault(version, []).append(result)
        self._left[version] -= 1
        if self._left[version] == 0 and name not in self.errors:
            ctx = self._ctx
            done = self._results.pop(version)
            space = pooling_space(ctx.data.task)
            scores = model_scores(ctx.store, ctx.folds, ctx.data.y, ctx.metric, name, task.key, done, space=space)
            if scores is not None:
                self.scores[version] = scores
                self.reporter.model_scored(name, scores)  # what the live best ranks by (model_done keeps 3 args)
            self.reporter.model_done(name, scores.pooled if scores is not None else None, None)


def execute(
    tasks: list[Task], job: Job, fit: FitFold, progress: RunProgress | Progress | None = None
) -> dict[str, str]:
    """Run the tasks; return model name -> error text for the models that failed (the others carry on)."""
    return run_tasks(tasks, job, fit, progress).errors


def run_tasks(
    tasks: list[Task],
    job: Job,
    fit: FitFold,
    progress: RunProgress | Progress | None = None,
    pool: WorkerPool | None = None,
) -> Outcomes:
    """Run the tasks; the outcomes say which models failed (``errors``) and which tasks a deadline stopped.

    ``progress`` is told what happens (a :class:`~kaggle_kit.runtime.progress.RunProgress`, or a callable of lines:
    every
    fold, as before). A KeyboardInterrupt stops the tasks at once and is raised again, nothing recorded as failed.
    ``pool``: worker processes the caller keeps across calls (:func:`make_pool`); with one, the tasks run there even
    with one job (so that a task can be stopped at its limit), else in a pool of this call (more than one job) or in
    this process.
    """
    reporter = as_progress(progress, metric=job.context.metric)
    outcomes = Outcomes(tasks, job.context, reporter)
    if not tasks:
        return outcomes
    reporter.start(len(tasks), job.deadline)
    try:
        if job.executor == "ray":
            from .ray_executor import run_on_ray

            run_on_ray(tasks, job, fit, outcomes, reporter.note)
        elif pool is not None or job.jobs > 1:
            run_in_pool(tasks, job, fit, outcomes, pool)
        else:
            run_sequential(tasks, job, fit, outcomes)
    except KeyboardInterrupt:
        reporter.interrupted()
        raise
    finally:
        reporter.close()
    return outcomes


def pinned_threads(model: ModelSpec, done: Sequence[FoldResult]) -> int | None:
    """The thread count ``model``'s finished folds (``done``) were fitted with, where its family's predictions
    depend on the count (not :func:`~kaggle_kit.models.thread_invariant`); None otherwise, or with none finished.

    A run keeps one count per family for all its folds, but the count is the load's and the worker count's of the
    run that fitted them: a run killed on a busy machine (1 thread) and resumed on an idle one (2 threads; or with one
    fold left, so one worker with all the cores) fitted its last folds otherwise, and a torch net's OOF rows differed
    from the uninterrupted run's. Its remaining folds take the count of its first finished fold, at most this
    process's cores: a run folder moved to a machine of fewer cores (8 threads on 2 cores, each such fold waiting
    for all of them) fits them on its cores.
    """
    if not done or thread_invariant(model):
        return None
    return max(1, min(int(min(done, key=lambda d: (d.repeat, d.fold)).threads), cpu_count()))


def task_threads_now(task: Task, job: Job, running: list[int], waiting: int, workers: Iterable[int] = ()) -> int | None:
    """The threads ``task`` gets if it is submitted now, or None (wait for a running task to finish).

    Families whose predictions depend on the thread count keep the run's first count (``context.threads``), or the
    count their finished folds were fitted with (``task.threads``, run.threads_per_task or not), so a fold's OOF does
    not depend on when it ran; the others share what the machine has free now.
    """
    base = task.threads or job.context.threads
    if not job.adaptive_threads:
        return base if len(running) < job.jobs else None
    load = machine_load(workers)
    free = available_cores(load.cores, load.others)
    fixed = None if thread_invariant(task.model) else base
    return allocate_threads(free, min(job.jobs, free), running, waiting, fixed)


def run_sequential(tasks: list[Task], job: Job, fit: FitFold, outcomes: Outcomes) -> None:
    """In this process, one task after another; a failed model's remaining folds are skipped."""
    for i, task in enumerate(tasks):
        if task.model.name in outcomes.errors:
            continue
        if job.deadline is not None and time.monotonic() >= job.deadline:
            break  # the time is up: nothing more starts (a task that started runs to its end here)
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
HandedFrame = pl.DataFrame | FrameFile | None  #: a frame a worker is handed: itself, or the file it was written to
_WORKER: Context | None = None  #: a worker's run context; each task brings its own fit


def _init_worker(
    spec: CompetitionSpec,
    frames: tuple[HandedFrame, HandedFrame] | None,
    root: str,
    device: str,
    threads: int,
    gpu_share: float,
    plain_warnings: bool = False,
    read: tuple[HandedFrame, HandedFrame] | None = None,
) -> None:
    """``frames``: a run given frames (prepared again here); ``read``: the spec's files as the run read them (else
    read here). Each a frame, or the file it was handed over as (:mod:`.frame_files`)."""
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the workers
    exit_with_parent()  # a killed run takes its workers with it instead of leaving them to linger
    if plain_warnings:
        install_plain_warnings()
    if frames is not None:
        data = prepare_competition(spec, *(frame_of(f) for f in frames))
    else:
        data = load_competition(spec, frames=None if read is None else (frame_of(read[0]), frame_of(read[1])))
    if data.sequences is not None:  # streamed sequences: the run folder's copy, memory-mapped (shared page cache)
        data = replace(data, sequences=open_sequence_store(run_sequences_folder(root)))
    store = RunStore(root)
    folds = store.load_folds(spec.folds.n_splits, "past" if spec.fold_strategy == "time" else "complement")
    assert folds is not None  # written by the parent before any worker starts
    metric = get_metric(spec.metric, spec.grid)
    _WORKER = Context(spec, data, folds, store, metric, device, threads, gpu_share)


def _run_in_worker(task: Task, threads: int | None, fit: FitFold) -> tuple[FoldResult, tuple[Caught, ...]]:
    """The task's fold by ``fit`` (a run's pool fits its models and its pseudo-labelling rounds alike), and the
    warnings it raised: the parent warns them (:mod:`.relay`)."""
    return recording(_fit_in_worker, task, threads, fit)


def _fit_in_worker(task: Task, threads: int | None, fit: FitFold) -> FoldResult:
    assert _WORKER is not None
    ctx = _WORKER
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


def run_in_pool(tasks: list[Task], job: Job, fit: FitFold, outcomes: Outcomes, pool: WorkerPool | None = None) -> None:
    """On up to ``job.jobs`` spawned processes (``pool``, kept by the caller across calls; else one for this call).
    Each worker reads the data once (from the spec's paths, or the frames it is handed) and the folds from the store.
    The thread variables are in the workers' environment from their start, before numpy, polars or an OpenMP library
    is imported (the adapters pass their thread counts explicitly too). Tasks are submitted one by one as workers free
    up, each with the threads :func:`task_threads_now` gives.

    Deadlines (a time limit): no task starts after ``job.deadline`` (nor ``task.start_within`` seconds after this call
    began), and a task still running at its own limit (the deadline, or ``task.max_seconds`` after it started) is
    stopped by ending its worker: its fold is not written (a temporary folder it left is removed), the other workers
    carry on, and ``outcomes.stopped`` records it.

    Any exception here (an interrupt, a KitError) terminates the workers at once instead of waiting for their folds.
    """
    own = pool is None
    if pool is None:
        pool = make_pool(job)
    queue = list(tasks)
    began = time.monotonic()
    try:
        while queue or pool.running():
            queue = [t for t in queue if t.model.name not in outcomes.errors]  # a failed model's folds: skipped
            now = time.monotonic()
            if job.deadline is not None and now >= job.deadline:
                queue = []  # the time is up: nothing more starts
            queue = [t for t in queue if t.start_within is None or now - began < t.start_within]
            while queue and len(pool.running()) < job.jobs:
                running = [w.busy[1] for w in pool.running()]
                threads = task_threads_now(queue[0], job, running, len(queue), pool.pids())
                if threads is None:
                    break
                task = queue.pop(0)
                with environment(thread_env(job.context.threads)), _sigint_deferred(pool.will_spawn()):
                    pool.submit((task, threads), _run_in_worker, (task, threads, fit), time.monotonic())
                outcomes.started(task, threads)
                outcomes.peak = max(outcomes.peak, len(pool.running()))
            if not pool.running():
                continue
            for (task, _), value, exc in pool.wait(_wait_timeout(pool, job)):  # timeout: re-read the load
                caught = relayed_by(exc)  # a failed fold's, on its exception: they may say why it failed
                if value is not None:
                    value, caught = value
                warn_again(caught, pool.warned)  # before a KitError of the fold ends the run
                outcomes.record(task, value, exc)
            _stop_overrunning(pool, job, outcomes)
    except BaseException:
        pool.terminate()
        raise
    if own:
        pool.close()


def make_pool(job: Job) -> WorkerPool:
    """The worker processes of a run (started on first use; see :mod:`kaggle_kit.runtime.pool`)."""
    ctx = job.context
    files = FrameFolder(ctx.store.root)  # the frames go to the workers as files, not pickled (4x their size)
    frames = (files.put(ctx.data.train), files.put(ctx.data.test)) if job.in_memory else None
    read = None if job.in_memory or job.frames is None else (files.put(job.frames[0]), files.put(job.frames[1]))
    initargs = (
        ctx.spec,
        frames,
        str(ctx.store.root),
        ctx.device,
        ctx.threads,
        ctx.gpu_share,
        warnings.showwarning is plain_warning,
        read,
    )
    return WorkerPool(job.jobs, _init_worker, initargs, on_close=files.remove)


def task_limit(task: Task, started_at: float, deadline: float | None) -> float | None:
    """When a task started at ``started_at`` must be stopped: the run's deadline or its own ``max_seconds``."""
    own = None if task.max_seconds is None else started_at + task.max_seconds
    ends = [t for t in (deadline, own) if t is not None]
    return min(ends) if ends else None


def _wait_timeout(pool: WorkerPool, job: Job) -> float:
    """Wake up at the next task limit (or in 2 s, to re-read the load)."""
    now, timeout = time.monotonic(), 2.0
    for w in pool.running():
        limit = task_limit(w.busy[0], w.task_clock(now), job.deadline)
        if limit is not None:
            timeout = min(timeout, max(0.0, limit - now) + 0.01)
    return timeout


def _stop_overrunning(pool: WorkerPool, job: Job, outcomes: Outcomes) -> None:
    """End the workers whose task ran past its limit; remove what their fold left half-written."""
    now = time.monotonic()
    for w in list(pool.running()):
        task, _ = w.busy
        limit = task_limit(task, w.task_clock(now), job.deadline)
        if limit is None or now < limit:
            continue
        pool.kill(w)
        job.context.store.remove_stale_temps(task.model.name, task.key)
        outcomes.stop(task, now - w.started_at)  # the worker's time it took, its library's import included
