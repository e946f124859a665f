"""Run the (model, fold) tasks on Ray: a local Ray started for the run, or a cluster (``run.ray_address``).

Design:

* **Data travels by the object store, not by path.** The prepared data and the folds are ``ray.put`` once; a
  cluster's nodes need not see the driver's files (streamed images and sequences excepted: they are read by path),
  nothing re-reads or re-parses a CSV, and each worker process deserialises them once (cached for its later tasks).
* **Only the driver writes the run store.** A task fits into a temporary store on its own node and returns the fold
  folder's files; the driver writes them with the same atomic :meth:`RunStore.write_fold`. So the run folder needs
  no shared file system, and the fold files are byte-identical to a sequential run's. The store files a fit reads
  (a pseudo-labelled fold's rows) travel with its task (:func:`store_inputs`); streamed images are read through the
  run folder's cache where the node sees it.
* **Time limits as in the local pool**: under one, only the tasks the cluster runs at once are submitted, and one
  past its limit is cancelled (:func:`run_on_ray`). A task whose worker dies is not retried: it fails its model.
* **Resources are declared per task**: ``num_cpus`` = the task's threads (Ray never runs more threads than a node
  has cores), ``num_gpus`` from :func:`task_resources`. The thread variables are in each worker's environment from
  its start (``runtime_env``), as in the local pool.

Ray is imported only here, and only when ``executor = "ray"`` is chosen: ``import kaggle_kit`` never imports it.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import CompetitionSpec
from ..errors import ConfigError, KitError
from ..metrics import get_metric
from ..models import make_adapter
from .executors import Context, FitFold, Job, Outcomes, Progress, Task, task_limit
from .pool import WorkerDied
from .relay import Caught, recording, relayed_by, warn_again
from .store import FoldResult, RunStore, process_alive
from .threads import thread_env

INSTALL_HINT = "pip install 'kaggle-kit[ray]'"
CONNECT_FIX = "start it (`ray start --head`), or leave ray_address unset to start a local Ray"


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


def check_ray(address: str | None) -> None:
    """Before the run reads its data (minutes, for a large table): Ray installed, and an address that answers."""
    import_ray()
    if address is not None and (why := unreachable(address)) is not None:
        raise ConfigError(f"cannot connect to the Ray cluster at run.ray_address = {address!r} ({why}); {CONNECT_FIX}")


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
    fit: FitFold,
    spec: CompetitionSpec,
    shared: list[Any],
    device: str,
    threads: int,
    gpu_share: float,
    task: Task,
    inputs: dict[str, bytes],
    run_root: str | None = None,
) -> tuple[FoldResult, dict[str, bytes], tuple[Caught, ...]]:
    """Fit one task into a temporary store holding ``inputs`` (:func:`store_inputs`) and return its fold folder's
    files (the driver writes them), and the warnings the fit raised (the driver warns them: :mod:`.relay`).

    Streamed images are read through the run folder's cache (``run_root``, decoded by the driver before any fit)
    where this node sees it; else each task decoded every image into its scratch store again (time, and a full copy
    of the cache in the node's temporary folder per running task)."""
    ctx = replace(_worker_context(spec, shared, device, threads), gpu_share=gpu_share, threads=threads)
    images = ctx.data.images
    if images is not None and images.cache and run_root is not None:
        cached = images.cached_in(Path(run_root)).cache_path
        if cached is not None and cached.is_file():
            ctx = replace(ctx, images_root=Path(run_root))
    sweep_scratch()  # a killed worker's on this node (a task cancelled at its time limit): never removed by it
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))  # its worker's: told from a dead one's
    try:
        for name, blob in inputs.items():
            (scratch / name).parent.mkdir(parents=True, exist_ok=True)
            (scratch / name).write_bytes(blob)
        store = RunStore(scratch)
        result, caught = recording(fit, replace(ctx, store=store), task)
        folder = store.fold_dir(task.model.name, task.key, task.repeat, task.fold)
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != "result.json"}
        return result, files, caught
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


#: the start of a task's scratch store's name in the node's temporary folder, then its worker's process id
SCRATCH_PREFIX = "kaggle-kit-fold-"


def sweep_scratch(folder: Path | None = None) -> None:
    """Remove the scratch stores (in ``folder``, default the temporary folder) of worker processes no longer alive.

    A task cancelled at its time limit ends with its worker (``force=True``), as does one killed for memory: its
    own clean-up never runs, and each such task left its scratch store (a fold's files half-written, or a copy of
    the image cache) in the node's /tmp for good. Swept by each task as it starts, and by the driver once it has shut
    down the Ray it started (its workers ended)."""
    for path in Path(folder or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = path.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def store_inputs(fit: FitFold, store: RunStore, task: Task) -> dict[str, bytes]:
    """The run-store files ``fit`` reads for ``task`` besides the data (a pseudo-labelled fold's rows: its
    ``reads_from_store``), by their paths relative to the store's root: the task's scratch store gets them. Without
    them, a pseudo-labelled fold on Ray found no file and its StoreError ended the run."""
    reads = getattr(fit, "reads_from_store", None)
    if reads is None:
        return {}
    root = Path(store.root)
    files = [Path(path) for path in reads(store, task)]
    return {str(path.relative_to(root)): path.read_bytes() for path in files if path.is_file()}


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
        if not _KEPT[0]:  # the run's own, kept from its first task: said when started
            say("using the Ray instance already initialised in this process")
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address is None:
        _init(ray, address="local", num_cpus=local_cpus, **options)
        return True
    fix = CONNECT_FIX
    if (why := unreachable(address)) is not None:
        raise ConfigError(f"cannot connect to the Ray cluster at run.ray_address = {address!r} ({why}); {fix}")
    try:
        _init(ray, address=address, **options)
    except (ConnectionError, RuntimeError) as exc:
        raise ConfigError(
            f"cannot connect to the Ray cluster at run.ray_address = {address!r} ({exc}); {fix}"
        ) from None
    return True


def _init(ray: Any, **options: Any) -> None:
    """``ray.init``, and nothing of it left where it did not return: a Ctrl-C while a local Ray starts (seconds) left
    its processes running for the rest of the notebook's session, none of the run's to shut down."""
    try:
        ray.init(**options)
    except BaseException:
        ray.shutdown()
        raise


#: seconds a cluster's address may take to accept a connection before the run says it cannot be reached
CONNECT_TIMEOUT = 10.0


def unreachable(address: str, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """Why nothing listens at ``address`` (``host:port`` or ``ray://host:port``), or None (it accepts connections;
    ``auto`` and other forms are left to Ray). Ray retries an address where nothing listens for minutes, printing
    `Failed to connect to GCS` every few seconds (seen: no answer after 120 s): a run must say so instead."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except OSError as exc:
        return f"nothing answers at {hostport}: {exc.strerror or exc}"


_KEPT: list[bool] = [False]  #: the local Ray up now is the one :func:`keep_local_ray` started


def keep_local_ray(job: Job, say: Progress) -> bool:
    """Start the run's local Ray now, for every call of the executor until :func:`release_local_ray` (a time limit's
    waves, the pseudo-labelling rounds); False where an address is given or a Ray is up already (a notebook's)."""
    ray = import_ray()
    if job.ray_address is not None or ray.is_initialized():
        return False
    connect(ray, None, job.jobs * job.context.threads, say)
    _KEPT[0] = True
    return True


def release_local_ray() -> None:
    """Shut down the local Ray :func:`keep_local_ray` started."""
    import ray

    _KEPT[0] = False
    ray.shutdown()
    sweep_scratch()  # what the tasks cancelled at their limit left (their workers ended with them)


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
    """Submit the tasks to Ray, write each finished fold into the store, record failures as the pool does.

    Without a time limit every task is submitted at once (Ray queues what the cluster cannot run yet). With one
    (``job.deadline``, a task's ``max_seconds`` or ``start_within``) only as many as the cluster can run at once are
    submitted, so that a task's submission is its start: none is submitted after the deadline, and one still running
    at its limit is cancelled (its worker ended), its fold not written, as the local pool stops its workers. Ray had
    been handed every task and ran them all, however long past the limit.
    """
    ray = import_ray()
    ctx = job.context
    models = {t.model.name: t.model for t in tasks}
    # a resumed model's tasks fit on its finished folds' count (pinned_threads), and ask Ray for as many CPUs: they
    # had asked for the run's count (Ray ran a task of 2 threads on each core it counted as 1)
    threads = {t.model.name: t.threads or ctx.threads for t in tasks}
    needs = {  # CPU-only families (scikit-learn, the baseline) declare uses_gpu = False
        name: task_resources(ctx.device, threads[name], job.gpus_per_task, uses_gpu=make_adapter(m).uses_gpu)
        for name, m in models.items()
    }
    # a local Ray sized to the run: `jobs` tasks of `threads` CPUs at once (and room for a resumed model's count)
    started = connect(ray, job.ray_address, max(job.jobs * ctx.threads, *threads.values()), say)
    try:
        where = "the local Ray" if job.ray_address is None else f"the Ray cluster at {job.ray_address!r}"
        if job.ray_address is None:  # a local Ray sized to the run's count: a pinned count beyond it still runs
            pinned = {name for name, n in threads.items() if n > ctx.threads}
            needs = _within_local(ray, needs, pinned, ctx.threads)
        _check_capacity(ray, needs, where)
        shared = [ray.put(ctx.data), ray.put(ctx.folds)]  # nested in a list: workers fetch them once, not per task
        remote = ray.remote(_fit_remote)
        env = {"env_vars": thread_env(ctx.threads)}
        run_root = str(ctx.store.root.resolve())  # its image cache, where a task's node sees it

        def submit(t: Task) -> Any:
            res = needs[t.model.name]
            # max_retries=0: a worker that died (killed for memory, a library's crash) fails its model as in the
            # local pool; Ray ran such a task 3 more times, each as long, to the same end
            options = {"num_cpus": res.num_cpus, "num_gpus": res.num_gpus, "runtime_env": env, "max_retries": 0}
            return remote.options(**options).remote(
                fit,
                ctx.spec,
                shared,
                ctx.device,
                threads[t.model.name],
                gpu_share(res),
                t,
                store_inputs(fit, ctx.store, t),
                run_root,
            )

        timed = job.deadline is not None or any(t.max_seconds is not None or t.start_within is not None for t in tasks)
        slots = _slots(ray, needs) if timed else len(tasks)
        say(f"submitting {len(tasks)} task(s) to {where} ({_describe(needs)})")
        _collect(ray, tasks, submit, slots, job, outcomes, timed)
    finally:
        if started:
            ray.shutdown()
            sweep_scratch()  # what the tasks cancelled at their limit left (their workers ended with them)


def _within_local(
    ray: Any, needs: dict[str, TaskResources], pinned: set[str], threads: int
) -> dict[str, TaskResources]:
    """The CPUs of the ``pinned`` models' tasks (a resumed model's count, above the run's ``threads``) at most the
    local Ray's (``jobs x threads``: fewer where the machine is busier than when its first folds were fitted): such
    a task runs alone rather than ask for more than there is. The run's own count is checked as it is."""
    most = max(ray.cluster_resources().get("CPU", 0.0), float(threads))
    return {n: replace(res, num_cpus=min(res.num_cpus, most)) if n in pinned else res for n, res in needs.items()}


def _slots(ray: Any, needs: dict[str, TaskResources]) -> int:
    """How many of the tasks the cluster runs at once, by its CPUs (the local Ray has ``jobs x threads``) and, where
    the tasks ask for GPUs, its GPUs: a task submitted beyond them would wait in Ray's queue, its time limit running."""
    have = ray.cluster_resources()
    slots = int(have.get("CPU", 1.0) // max(res.num_cpus for res in needs.values()))
    gpus = max(res.num_gpus for res in needs.values())
    if gpus > 0:
        slots = min(slots, int(have.get("GPU", 0.0) // gpus))
    return max(1, slots)


def _collect(
    ray: Any,
    tasks: list[Task],
    submit: Callable[[Task], Any],
    slots: int,
    job: Job,
    outcomes: Outcomes,
    timed: bool,
) -> None:
    """Keep up to ``slots`` tasks submitted; store each finished fold; with ``timed``, honour the time limits as
    :func:`~kaggle_kit.runtime.executors.run_in_pool` does (a task's submission is its start)."""
    ctx = job.context
    warned: set[Caught] = set()  # each warning of the tasks once
    queue = list(tasks)
    running: dict[Any, tuple[Task, float]] = {}
    began = time.monotonic()
    try:
        while queue or running:
            queue = [t for t in queue if t.model.name not in outcomes.errors]  # a failed model's folds: skipped
            now = time.monotonic()
            if job.deadline is not None and now >= job.deadline:
                queue = []  # the time is up: nothing more starts
            queue = [t for t in queue if t.start_within is None or now - began < t.start_within]
            while queue and len(running) < slots:
                task = queue.pop(0)
                running[submit(task)] = (task, time.monotonic())
                if timed:
                    outcomes.started(task, task.threads or ctx.threads)
                    outcomes.peak = max(outcomes.peak, len(running))
            if not running:
                continue
            limits = [task_limit(t, at, job.deadline) for t, at in running.values()]
            ends = [limit for limit in limits if limit is not None]
            timeout = max(0.0, min(ends) - time.monotonic()) + 0.01 if ends else None
            done, _ = ray.wait(list(running), num_returns=1, timeout=timeout)
            for ref in done:
                task, _ = running.pop(ref)
                _take(ray, ref, task, running, ctx, outcomes, warned)
            _stop_overrunning(ray, running, job, outcomes)
    finally:
        for ref in running:  # a KitError or an interrupt: nothing left should keep running on the cluster
            ray.cancel(ref, force=True)


def _take(
    ray: Any,
    ref: Any,
    task: Task,
    running: dict[Any, tuple[Task, float]],
    ctx: Context,
    outcomes: Outcomes,
    warned: set[Caught],
) -> None:
    """Store a finished task's fold, or record its failure (a failed model's other running folds cancelled)."""
    failure: BaseException | None = None
    caught: tuple[Caught, ...] = ()
    try:
        result, files, caught = ray.get(ref)
    except ray.exceptions.TaskCancelledError:
        return  # a fold of a model that had already failed
    except ray.exceptions.RayTaskError as err:  # the task raised: judge it by its own exception
        failure = err.cause if isinstance(err.cause, BaseException) else err
        if isinstance(failure, ray.exceptions.RayError):  # Ray's own, as the worker unpickled the task's arguments
            failure = _system_failure(failure)
    except ray.exceptions.RayError as err:  # the worker died (out of memory, node lost): the error names the fold
        failure = _system_failure(err)
    warn_again(caught or relayed_by(failure), warned)  # a failed fold's, on its exception
    if failure is None:
        outcomes.record(task, store_shipped(ctx.store, result, files), None)
        return
    if not isinstance(failure, KitError):  # a failed model: cancel its other folds, carry on
        for other, (t, _) in running.items():
            if t.model.name == task.model.name:
                ray.cancel(other)
    outcomes.record(task, None, failure)  # raises a KitError: the run stops


def _system_failure(err: BaseException) -> BaseException:
    """What a Ray error that is no exception of the task's own says: a module the worker cannot import stops the run
    (every task would fail alike: kaggle_kit missing on a node, each model failed with Ray's traceback as its error);
    else the worker died, which fails the fold's model (the error names the fold, as the pool's)."""
    text = str(err).strip()
    if (missing := re.search(r"No module named '([^']+)'", text)) is not None:
        return ConfigError(
            f"a Ray worker cannot import {missing.group(1)!r}, which the tasks need: install kaggle_kit (with the "
            "model libraries, as on this machine) on every node of the Ray cluster, or leave run.ray_address unset"
        )
    first = text.splitlines()[0] if text else ""
    return WorkerDied(f"the Ray worker fitting it ended ({type(err).__name__}: {first})")


def _stop_overrunning(ray: Any, running: dict[Any, tuple[Task, float]], job: Job, outcomes: Outcomes) -> None:
    """Cancel the tasks running past their limit (their worker ended: a fold mid-fit is in no store)."""
    now = time.monotonic()
    for ref, (task, at) in list(running.items()):
        limit = task_limit(task, at, job.deadline)
        if limit is None or now < limit:
            continue
        del running[ref]
        ray.cancel(ref, force=True)
        outcomes.stop(task, now - at)


def _describe(needs: dict[str, TaskResources]) -> str:
    kinds = sorted({(r.num_cpus, r.num_gpus) for r in needs.values()})
    parts = [f"{c:g} CPU" + (f" + {g:g} GPU" if g else "") for c, g in kinds]
    return "each task: " + " or ".join(parts)
