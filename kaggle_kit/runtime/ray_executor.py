"""Run the (model, fold) tasks on Ray: a local Ray started for the run, or a cluster (``run.ray_address``).

Design:

* **Data travels by the object store, not by path.** The prepared data and the folds are ``ray.put`` once; a
  cluster's nodes need not see the driver's files, nothing re-reads or re-parses a CSV, and each worker process
  deserialises them once (cached for its later tasks).
* **Only the driver writes the run store.** A task fits into a temporary store on its own node and returns the fold
  folder's files; the driver writes them with the same atomic :meth:`RunStore.write_fold`. So the run folder needs
  no shared file system, and the fold files are byte-identical to a sequential run's.
* **Resources are declared per task**: ``num_cpus`` = the task's threads (Ray never runs more threads than a node
  has cores), ``num_gpus`` from :func:`task_resources`. The thread variables are in each worker's environment from
  its start (``runtime_env``), as in the local pool.

Ray is imported only here, and only when ``executor = "ray"`` is chosen: ``import kaggle_kit`` never imports it.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import CompetitionSpec
from ..errors import ConfigError, KitError
from ..metrics import get_metric
from ..models import make_adapter
from .executors import Context, FitFold, Job, Outcomes, Progress, Task
from .relay import Caught, recording, relayed_by, warn_again
from .store import FoldResult, RunStore
from .threads import thread_env

INSTALL_HINT = "pip install 'kaggle-kit[ray]'"


@dataclass(frozen=True)
class TaskResources:
    """What one task asks Ray for."""

    num_cpus: float
    num_gpus: float


def task_resources(device: str, threads: int, gpus_per_task: float | None, *, uses_gpu: bool = True) -> TaskResources:
    """The resources of one task: its threads as CPUs, and GPUs where it trains on one.

    ``gpus_per_task`` None means 1 GPU for a model that trains on the GPU when the run's device resolved to CUDA,
    else 0; a fraction (e.g. 0.5) lets that many tasks share one GPU. A model that never uses the GPU
    (``uses_gpu=False``: scikit-learn, the baseline) asks for none either way.
    """
    if gpus_per_task is not None and gpus_per_task > 0 and device != "cuda":
        raise ConfigError(
            f"run.gpus_per_task = {gpus_per_task} but the device resolved to {device!r}, so no task would use a "
            "GPU; set device = 'cuda', or remove run.gpus_per_task"
        )
    if device != "cuda" or not uses_gpu:
        return TaskResources(num_cpus=float(max(1, threads)), num_gpus=0.0)
    return TaskResources(num_cpus=float(max(1, threads)), num_gpus=1.0 if gpus_per_task is None else gpus_per_task)


def gpu_share(res: TaskResources) -> float:
    """The share of a GPU's memory a task may take: the GPUs it asks Ray for, at most one (a task asking for 2 still
    has each of them to itself); 1 where it asks for none."""
    return min(1.0, res.num_gpus) if res.num_gpus > 0 else 1.0


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            f"run.executor = 'ray' needs Ray, which is not installed; install it with: {INSTALL_HINT}"
        ) from None
    return ray


# --------------------------------------------------------------------------------------------- worker side
_CACHED: tuple[str, Context] | None = None


def _worker_context(
    spec: CompetitionSpec, shared: list[Any], device: str, threads: int
) -> Context:  # pragma: no cover - runs in Ray workers
    """The run's context in this worker process, deserialising the data and folds only for the first task."""
    global _CACHED
    import ray

    data_ref, folds_ref = shared
    key = data_ref.hex()
    if _CACHED is None or _CACHED[0] != key:
        data, folds = ray.get([data_ref, folds_ref])
        ctx = Context(spec, data, folds, RunStore("."), get_metric(spec.metric, spec.grid), device, threads)
        _CACHED = (key, ctx)
    return _CACHED[1]


def _fit_remote(
    fit: FitFold, spec: CompetitionSpec, shared: list[Any], device: str, threads: int, gpu_share: float, task: Task
) -> tuple[FoldResult, dict[str, bytes], tuple[Caught, ...]]:  # pragma: no cover - runs in Ray workers
    """Fit one task into a temporary store and return its fold folder's files (the driver writes them), and the
    warnings the fit raised (the driver warns them: :mod:`.relay`)."""
    ctx = replace(_worker_context(spec, shared, device, threads), gpu_share=gpu_share, threads=threads)
    scratch = Path(tempfile.mkdtemp(prefix="kaggle-kit-fold-"))
    try:
        store = RunStore(scratch)
        result, caught = recording(fit, replace(ctx, store=store), task)
        folder = store.fold_dir(task.model.name, task.key, task.repeat, task.fold)
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != "result.json"}
        return result, files, caught
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def store_shipped(store: RunStore, result: FoldResult, files: dict[str, bytes]) -> FoldResult:
    """Write a fold fitted elsewhere into ``store``, atomically, as :meth:`RunStore.write_fold` writes every fold."""
    blobs = dict(files)
    valid = np.load(io.BytesIO(blobs.pop("valid.npy")), allow_pickle=False)
    test_blob = blobs.pop("test.npy", None)
    test = np.load(io.BytesIO(test_blob), allow_pickle=False) if test_blob is not None else None
    return store.write_fold(
        replace(result, files={}), valid_pred=valid, test_pred=test, save_model=lambda _folder: None, extra=blobs
    )


# --------------------------------------------------------------------------------------------- driver side
def connect(ray: Any, address: str | None, local_cpus: int, say: Progress) -> bool:
    """Connect to Ray; return whether this call started it (the caller then shuts it down).

    A Ray already initialised in this process (a notebook's) is used as it is. ``address`` None starts a private
    local Ray of ``local_cpus`` CPUs without the dashboard (Ray 2.60 also guards it with an auth token); otherwise it
    joins the cluster at ``address``. Ray's usage statistics stay off unless RAY_USAGE_STATS_ENABLED says otherwise.
    """
    if ray.is_initialized():
        say("using the Ray instance already initialised in this process")
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address is None:
        ray.init(address="local", num_cpus=local_cpus, **options)
        return True
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError) as exc:
        raise ConfigError(
            f"cannot connect to the Ray cluster at run.ray_address = {address!r} ({exc}); start it "
            "(`ray start --head`), or leave ray_address unset to start a local Ray"
        ) from None
    return True


def _check_capacity(ray: Any, needs: dict[str, TaskResources], where: str) -> None:
    """A task asking for more than the whole cluster has would wait forever: say so now."""
    have = ray.cluster_resources()
    for name, res in needs.items():
        for kind, asked in (("CPU", res.num_cpus), ("GPU", res.num_gpus)):
            if asked > have.get(kind, 0.0):
                fix = "run.threads_per_task" if kind == "CPU" else "run.gpus_per_task (or device = 'cpu')"
                raise ConfigError(
                    f"model {name!r}: each task asks Ray for {asked:g} {kind}(s) but {where} has "
                    f"{have.get(kind, 0.0):g}; lower {fix}, or add nodes"
                )


def run_on_ray(tasks: list[Task], job: Job, fit: FitFold, outcomes: Outcomes, say: Progress) -> None:
    """Submit every task to Ray, write each finished fold into the store, record failures as the pool does."""
    ray = import_ray()
    ctx = job.context
    models = {t.model.name: t.model for t in tasks}
    # a resumed model's tasks run on its finished folds' count (Task.threads, executors.pinned_threads): asked of
    # Ray as such, or a task asking for the run's 1 CPU ran 2 threads beside another on its core
    threads: dict[str, int] = {}
    for t in tasks:
        threads[t.model.name] = max(threads.get(t.model.name, 1), t.threads or ctx.threads)
    needs = {  # CPU-only families (scikit-learn, the baseline) declare uses_gpu = False
        name: task_resources(ctx.device, threads[name], job.gpus_per_task, uses_gpu=make_adapter(m).uses_gpu)
        for name, m in models.items()
    }
    # a local Ray sized to the run: `jobs` tasks of `threads` CPUs at once (and room for a resumed model's count)
    started = connect(ray, job.ray_address, max(job.jobs * ctx.threads, *threads.values()), say)
    try:
        where = "the local Ray" if job.ray_address is None else f"the Ray cluster at {job.ray_address!r}"
        _check_capacity(ray, needs, where)
        shared = [ray.put(ctx.data), ray.put(ctx.folds)]  # nested in a list: workers fetch them once, not per task
        remote = ray.remote(_fit_remote)
        env = {"env_vars": thread_env(ctx.threads)}
        running: dict[Any, Task] = {}
        for t in tasks:
            res = needs[t.model.name]
            ref = remote.options(num_cpus=res.num_cpus, num_gpus=res.num_gpus, runtime_env=env).remote(
                fit, ctx.spec, shared, ctx.device, t.threads or ctx.threads, gpu_share(res), t
            )
            running[ref] = t
        say(f"submitted {len(tasks)} task(s) to {where} ({_describe(needs)})")
        _collect(ray, running, ctx, outcomes)
    finally:
        if started:
            ray.shutdown()


def _collect(ray: Any, running: dict[Any, Task], ctx: Context, outcomes: Outcomes) -> None:
    warned: set[Caught] = set()  # each warning of the tasks once
    try:
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                task = running.pop(ref)
                failure: BaseException | None = None
                caught: tuple[Caught, ...] = ()
                try:
                    result, files, caught = ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    continue  # a fold of a model that had already failed
                except ray.exceptions.RayTaskError as err:  # the task raised: judge it by its own exception
                    failure = err.cause if isinstance(err.cause, BaseException) else err
                except ray.exceptions.RayError as err:  # the worker died (out of memory, node lost)
                    failure = err
                warn_again(caught or relayed_by(failure), warned)  # a failed fold's, on its exception
                if failure is None:
                    outcomes.record(task, store_shipped(ctx.store, result, files), None)
                    continue
                if not isinstance(failure, KitError):  # a failed model: cancel its other folds, carry on
                    for other, t in running.items():
                        if t.model.name == task.model.name:
                            ray.cancel(other)
                outcomes.record(task, None, failure)  # raises a KitError: the run stops
    finally:
        for ref in running:  # a KitError or an interrupt: nothing left should keep running on the cluster
            ray.cancel(ref)


def _describe(needs: dict[str, TaskResources]) -> str:
    kinds = sorted({(r.num_cpus, r.num_gpus) for r in needs.values()})
    parts = [f"{c:g} CPU" + (f" + {g:g} GPU" if g else "") for c, g in kinds]
    return "each task: " + " or ".join(parts)
