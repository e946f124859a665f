"""Where the K-fold loop's (model, fold) tasks run: in this process, in a local process pool, or on Ray.

Every executor gives the same answer: each task is one call of the runner's ``fit_fold`` and writes the same fold
folder, so the OOF predictions are byte-identical whichever runs them. They also fail alike: a model that raises is
recorded as failed (its remaining folds are skipped or cancelled) and the other models carry on, while a
:class:`~kaggle_kit.errors.KitError` (bad input the user must fix) aborts the run.

The fit function is handed in rather than imported, so this module does not depend on the runner; it must be a
module-level function (worker processes import it by name).
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl

from .config import CompetitionSpec, Executor, ModelSpec
from .data import CompetitionData, load_competition, prepare_competition
from .errors import KitError
from .folds import Folds
from .lifeline import exit_with_parent
from .metrics import Metric, get_metric
from .store import FoldResult, RunStore
from .threads import thread_env

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


class Outcomes:
    """Collects the tasks' outcomes: prints one line per fold, remembers the first error of each failed model."""

    def __init__(self, folds: Folds, metric: Metric, say: Progress) -> None:
        self.errors: dict[str, str] = {}
        self._folds, self._metric, self._say = folds, metric, say

    def record(self, task: Task, result: FoldResult | None, exc: BaseException | None) -> None:
        """Report a finished task; re-raise a :class:`KitError` (it aborts the run)."""
        where = f"{task.model.name:<14} repeat {task.repeat} fold {task.fold + 1}/{self._folds.n_splits}"
        if exc is not None:
            if isinstance(exc, KitError):
                raise exc
            self.errors.setdefault(task.model.name, f"{type(exc).__name__}: {exc}")
            self._say(f"{where}  FAILED: {type(exc).__name__}: {exc}")
            return
        assert result is not None
        iters = f"  rounds {result.best_iteration}" if result.best_iteration is not None else ""
        self._say(f"{where}  {self._metric.name} {result.score:.5f}{iters}  {result.fit_seconds:.1f}s")


def execute(tasks: list[Task], job: Job, fit: FitFold, say: Progress) -> dict[str, str]:
    """Run the tasks; return model name -> error text for the models that failed (the others carry on)."""
    outcomes = Outcomes(job.context.folds, job.context.metric, say)
    if not tasks:
        return outcomes.errors
    if job.executor == "ray":
        from .ray_executor import run_on_ray

        run_on_ray(tasks, job, fit, outcomes, say)
    elif job.jobs == 1:
        run_sequential(tasks, job.context, fit, outcomes)
    else:
        run_in_pool(tasks, job, fit, outcomes)
    return outcomes.errors


def run_sequential(tasks: list[Task], ctx: Context, fit: FitFold, outcomes: Outcomes) -> None:
    """In this process, one task after another; a failed model's remaining folds are skipped."""
    for task in tasks:
        if task.model.name in outcomes.errors:
            continue
        try:
            result = fit(ctx, task)
        except KitError:
            raise
        except Exception as exc:
            traceback.print_exc()
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
) -> None:
    global _WORKER
    exit_with_parent()  # a killed run takes its workers with it instead of leaving them to linger
    data = prepare_competition(spec, *frames) if frames is not None else load_competition(spec)
    store = RunStore(root)
    folds = store.load_folds(spec.folds.n_splits, "past" if spec.fold_strategy == "time" else "complement")
    assert folds is not None  # written by the parent before any worker starts
    _WORKER = (Context(spec, data, folds, store, get_metric(spec.metric), device, threads), fit)


def _run_in_worker(task: Task) -> FoldResult:
    assert _WORKER is not None
    ctx, fit = _WORKER
    return fit(ctx, task)


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


def run_in_pool(tasks: list[Task], job: Job, fit: FitFold, outcomes: Outcomes) -> None:
    """On ``job.jobs`` spawned processes. Each worker reads the data once (from the spec's paths, or the frames it is
    handed) and the folds from the store. The thread variables are in the workers' environment from their start,
    before numpy, polars or an OpenMP library is imported (the adapters pass their thread counts explicitly too)."""
    ctx = job.context
    frames = (ctx.data.train, ctx.data.test) if job.in_memory else None
    pool = ProcessPoolExecutor(
        max_workers=job.jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(ctx.spec, frames, str(ctx.store.root), ctx.device, ctx.threads, fit),
    )
    try:
        with environment(thread_env(ctx.threads)):  # workers are spawned by the submissions below
            running: dict[Future[FoldResult], Task] = {pool.submit(_run_in_worker, t): t for t in tasks}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                task = running.pop(fut)
                exc = fut.exception()
                outcomes.record(task, None if exc else fut.result(), exc)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
