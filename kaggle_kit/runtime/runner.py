"""The K-fold loop: every (model, repeat, fold) fitted once, its predictions written to the run store.

A finished fold is never recomputed: results are content-addressed by a key that hashes the model's spec, the data
and the folds, so rerunning the same spec refits nothing, adding a model fits only that model, changing a model's
parameters fits it afresh (the old results stay on disk), and a run killed halfway resumes where it stopped.

Tasks run in this process, in a pool of processes sized to the CPU cores, or on Ray
(:mod:`kaggle_kit.runtime.executors`),
each with an explicit thread count that leaves out the cores other processes keep busy, so the cores are never
oversubscribed (two OpenMP libraries spin-waiting against each other is the classic 10-100x slowdown).

Example::

    from kaggle_kit import load_spec, run
    result = run(load_spec("competitions/demo-breast-cancer.toml"))
    print(result.leaderboard())
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import ValidationError

from .. import __version__
from ..config import (
    BASELINE_NAME,
    BOOSTING_KINDS,
    CompetitionSpec,
    ModelSpec,
    RunSpec,
    SearchSpec,
    as_spec,
    names_of,
    spec_hash,
)
from ..config_hints import validation_message
from ..device import resolve_device
from ..errors import ConfigError, DataError, DataWarning, StoreError, allowed, name_a_few
from ..features.pipeline import check_step_columns, check_step_types
from ..features.sequence_store import run_sequences_folder
from ..metrics import Metric, get_metric, grid_columns
from ..models import FitContext, check_kinds, make_adapter
from ..models.base import legacy_stopping_metric, stopping_metric
from ..models.files import file_fingerprints, resolve_files
from ..models.lightgbm_adapter import GROUPS_FROM_ROWS, LIGHTGBM_KINDS
from ..models.nn.images import DECODING
from ..presets import DATES, DataProfile, expand_preset
from ..readers.codes import split_record
from ..readers.competition import (
    CompetitionData,
    RawFrames,
    column_record,
    load_competition,
    prepare_competition,
    read_frames,
)
from ..readers.dates import date_ranges
from ..readers.frames import unclashing
from ..readers.images import image_mode, image_shape
from ..readers.levels import training_levels
from ..readers.scales import numeric_ranges
from ..readers.sequences import sequence_layout
from . import embeddings
from .executors import Context, FitFold, Job, Outcomes, Task, make_pool, pinned_threads, run_tasks
from .fold_fit import fit_fold, model_seed
from .folds import Folds, check_labelled_targets, make_folds, rare_classes
from .pool import WorkerPool, stop_if_worker_starting
from .pooling import FoldPool, pooling_space
from .progress import Fanout, RunLog, RunProgress, as_progress
from .scoring import FoldScores, score_folds, undefined_folds
from .search.recorded import Recorded
from .store import FoldResult, ModelResult, RunStore, StoreWarning
from .threads import MachineLoad, cpu_count, machine_load, take_reading, task_threads

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` did: the leaderboard rows, and how many folds it fitted versus found already finished."""

    run_dir: Path  #: absolute: a notebook cell may change the working folder before it reads it
    metric: str
    models: tuple[ModelResult, ...]
    fitted: int
    reused: int
    incomplete: tuple[str, ...] = ()  #: configs a time limit left without all their folds (not ranked)
    notes: tuple[str, ...] = ()  #: what a search or a time limit did, one line each

    def leaderboard(self) -> str:
        from ..leaderboard import format_leaderboard

        table = format_leaderboard([m for m in self.models if m.status != "incomplete"], get_metric(self.metric))
        lines = [table, *self.notes]
        if self.incomplete:
            lines.append(f"incomplete (time limit, not ranked or blended): {', '.join(self.incomplete)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        """``print(run(spec))``, as a notebook cell ending in ``run(spec)``, shows the leaderboard and the run folder
        (the dataclass repr is one line of every model's fields)."""
        return f"{self.leaderboard()}\nrun folder: {self.run_dir}  (fitted {self.fitted} fold(s), reused {self.reused})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def baseline_spec() -> ModelSpec:
    return ModelSpec(name=BASELINE_NAME, kind="dummy")


#: ModelSpec fields added after results were first stored, and the value that means "as before"
_NEW_MODEL_FIELDS: dict[str, Any] = {
    "seed": None,
    "early_stopping_metric": "auto",
    "distribution": "auto",
    "embeddings": None,
}


def model_key(
    model: ModelSpec, spec: CompetitionSpec, data_fp: str, folds_fp: str, *, small_categorical: bool = False
) -> str:
    """Everything a model's OOF predictions depend on, hashed: same key = same predictions, reuse them.

    A declared pipeline enters as its resolved steps (base steps included), not its name: editing a pipeline refits
    the models that use it, renaming one refits nothing. A model without one hashes as before pipelines existed.
    A file a param names (a backbone's ``pretrained`` weights) enters as the SHA-256 of its bytes.
    ``small_categorical``: the data has categorical features and its folds' training rows are fewer than 2,000,
    where LightGBM's group size (``category_groups``) is not the 100 its folds were fitted with before it.
    """
    dump = model.model_dump(mode="json")
    if dump.get("seed") is None:  # keys of models without a seed of their own stay what they were before seeds
        dump.pop("seed", None)
    dump.pop("pipeline", None)
    files = file_fingerprints(model, spec.base_dir)  # a weights file enters by its content, not its path
    if files:
        dump["params"] = {**dump["params"], **files}
    for key, unset in _NEW_MODEL_FIELDS.items():  # a spec that leaves them unset hashes as before they existed
        if key in dump and dump[key] == unset:
            del dump[key]
    payload = {
        "model": dump,
        "task": spec.task,
        "metric": spec.metric,
        "seed": spec.seed,
        "data": data_fp,
        "folds": folds_fp,
    }
    if spec.grid is not None:  # a distribution task's bins / quantile levels
        payload["grid"] = list(spec.grid)
    steps = spec.feature_steps(model)  # the pipeline's steps, after data.text's text step (if any)
    if steps is not None:
        payload["pipeline"] = steps
    if model.embeddings is not None:  # the source net's key: refitting the net refits its readers
        payload["embeddings"] = model_key(spec.model(model.embeddings), spec, data_fp, folds_fp)
    if model.kind in BOOSTING_KINDS and model.early_stopping_metric == "auto":
        metric = get_metric(spec.metric)
        stops_on = stopping_metric(metric, spec.task)
        if stops_on != legacy_stopping_metric(metric, spec.task):  # "auto" changed its answer for this metric
            payload["early_stopping"] = stops_on
    if small_categorical and model.kind in LIGHTGBM_KINDS and "min_data_per_group" not in model.params:
        payload["lightgbm_groups"] = "a 20th of the fit's rows, 20 to 100"  # session 14: was LightGBM's 100
    return spec_hash(payload)


def resolve_folds(spec: CompetitionSpec, data: CompetitionData) -> Folds:
    f = spec.folds
    strategy = spec.fold_strategy
    groups = data.train[f.group].to_numpy() if f.group else None
    order = data.train[f.time].to_physical().to_numpy() if f.time else None
    return make_folds(
        data.train.height,
        strategy=strategy,
        n_splits=f.n_splits,
        n_repeats=f.n_repeats,
        seed=spec.seed,
        # the labels themselves (not their codes) so that a message about a rare class names the user's label;
        # the codes are the indices of the sorted labels, so the folds are the same
        y=_fold_labels(data) if strategy in ("stratified", "stratified_group") else None,
        groups=groups,
        order=order,
        shuffle=f.shuffle,
        merge_rare=_merges_rare_classes(spec),
    )


def _merges_rare_classes(spec: CompetitionSpec) -> bool:
    """Whether the run's folds stratify classes rarer than the folds as one: when the folds' strategy is the
    default's (a ``strategy`` the user set refuses them with the fixes), for one class column."""
    return spec.folds.strategy is None and spec.task in ("binary", "multiclass")


def _record_history(run_dir: Path) -> None:
    """Record the run in the history beside its folder; a history that cannot be written (a read-only or foreign
    database file in a writable runs root) is a warning: the run's folds are stored, and the command had failed after
    fitting them all."""
    from ..report.history import record_run

    try:
        record_run(run_dir)
    except StoreError as exc:
        warnings.warn(
            f"the run is not recorded in the run history ({exc}); `kaggle-kit history` will not list it "
            "(its folds are stored in the run folder as usual)",
            StoreWarning,
            stacklevel=3,
        )


def _warn_rare_classes(spec: CompetitionSpec, data: CompetitionData) -> None:
    """The classes with fewer rows than folds, told once per run (:func:`_merges_rare_classes`)."""
    if not _merges_rare_classes(spec):
        return
    rare = rare_classes(_fold_labels(data), spec.folds.n_splits)
    if not rare:
        return
    rows = [f"{label!r} ({count} row{'s' if count > 1 else ''})" for label, count in rare]
    named = name_a_few(rows, "class(es)", ", ")
    warnings.warn(
        f"{len(rare)} class(es) have fewer training rows than the {spec.folds.n_splits} folds: {named}. The folds "
        "spread their rows as one group; a fold whose training rows lack a class cannot predict it, so its "
        "validation rows of that class score as new data would. Merge rare classes (or lower folds.n_splits) to "
        "stratify each; with folds.strategy = 'stratified' set, such data is refused instead",
        DataWarning,
        stacklevel=2,
    )


def _warn_large_group(spec: CompetitionSpec, data: CompetitionData, folds: Folds) -> None:
    """Group folds where one group holds most rows: the fold that validates it trains on the few rows left, so its
    score and OOF predictions (most of the OOF) are a small model's, which the leaderboard did not say."""
    column = spec.folds.group
    if column is None:  # group or stratified_group folds
        return
    n = data.train.height
    smallest, fewest = folds.fewest_training_rows()
    # half what a fold trains on where the rows spread evenly ((k - 1) / k of them): 2-fold group CV's folds train on
    # about half the rows each, and had been warned of whatever the groups
    if fewest >= n * (folds.n_splits - 1) / folds.n_splits / 2:
        return
    top = _largest_group(data.train[column].gather(folds.train_valid(*smallest)[1]))
    warnings.warn(
        f"folds.group: the group {top[0]!r} of column {column!r} holds {top[1]} of the {n} training rows "
        f"({top[1] / n:.0%}), so the fold that validates it trains on {fewest} rows: its score and its OOF "
        "predictions are those of a model fitted on few rows, not on most of them as in the other folds. Split that "
        "group (a finer folds.group column) or use another folds.strategy",
        DataWarning,
        stacklevel=2,
    )


def _largest_group(values: pl.Series) -> tuple[Any, int]:
    """The value most rows hold and their count; of tied ones the first in ``values``' order (value_counts orders
    ties by thread timing, and a warning named one of them at random)."""
    rows = unclashing("rows", values.name)  # a group column 'count' clashed with value_counts' name
    counts = values.to_frame().group_by(values.name, maintain_order=True).len(name=rows)
    top = counts.sort(rows, descending=True, maintain_order=True).row(0)
    return top[0], int(top[1])


def _warn_unused_pipelines(
    spec: CompetitionSpec, declared: Sequence[str], extra_models: Sequence[ModelSpec], search: SearchSpec | None
) -> None:
    """A pipeline the config declares (``declared``) that no model of ``spec`` (nor of ``extra_models``, nor a config
    of ``search``) reads (``pipeline = ...`` forgotten on the model): the model ran on the base encoding, unsaid."""
    used = {m.pipeline for m in [*spec.models, *extra_models] if m.pipeline}
    if search is not None:
        used |= {str(o["pipeline"]) for o in search.overrides.values() if o.get("pipeline")}
    frontier = list(used)
    while frontier:  # the pipelines they extend run too
        base = spec.pipelines[name].extends if (name := frontier.pop()) in spec.pipelines else None
        if base is not None and base not in used:
            used.add(base)
            frontier.append(base)
    unused = [name for name in declared if name not in used]
    if unused:
        warnings.warn(
            f"pipeline(s) {allowed(unused)} are declared but no model reads them; set pipeline = {unused[0]!r} on a "
            "model ([[models]]) for its steps to make that model's features",
            DataWarning,
            stacklevel=2,
        )


def check_time_limit(limit: float | None) -> None:
    """``time_limit`` (``--time-limit``): seconds, a finite number more than 0. ``inf`` or ``nan`` had started a run
    whose budget was all NaN: every fold was stopped as it started, and the command never ended."""
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, numbers.Real) or not 0 < limit < math.inf
    ):
        raise ConfigError(f"--time-limit (time_limit) takes seconds, a finite number more than 0; got {limit!r}")


def _fold_labels(data: CompetitionData) -> np.ndarray:
    """What stratified folds stratify on: the labels themselves (not their codes) so that a message about a rare class
    names the user's label (the codes are the indices of the sorted labels, so the folds are the same); a multilabel
    task's ``(n, T)`` 0/1 matrix (NaN = missing), stratified iteratively."""
    return data.y if data.targets else data.train[data.target_column].to_numpy()


def run(
    spec: CompetitionSpec | Path | str,
    *,
    runs_root: Path | str = "runs",
    train: pl.DataFrame | None = None,
    test: pl.DataFrame | None = None,
    only: Sequence[str] | str | None = None,
    n_jobs: int | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    progress: RunProgress | Progress | Literal["auto"] | None = "auto",
    record_history: bool = True,
    time_limit: float | None = None,
    extra_models: Sequence[ModelSpec] = (),
    search: SearchSpec | None = None,
    started: float | None = None,
    submits: bool = False,
) -> RunResult:
    """Fit every model of ``spec`` (a spec, or a competition TOML's path) plus the baseline on every fold, or reuse
    what the run store already holds.

    ``train``/``test`` frames (polars or pandas), when given, are used instead of reading ``spec.data`` paths
    (notebooks); one needs the other (no ``test`` frame: ``spec.data.test`` must be None). ``only``
    restricts the run to the named models. ``n_jobs``, ``executor`` (``"local"`` or ``"ray"``) and ``ray_address``
    override ``spec.run``'s (an address implies Ray). Each run is recorded in the run history
    (``<runs_root>/history.sqlite``) unless ``record_history`` is False.

    ``progress``: ``"auto"`` shows a live display on a terminal and a line per model elsewhere
    (:func:`kaggle_kit.runtime.progress.terminal_progress`); a callable (``print``, ``list.append``) gets every line,
    one per
    fold; a :class:`~kaggle_kit.runtime.progress.RunProgress` gets the events; None shows nothing. Every line, a failed
    fold's
    traceback included, is also appended to ``<run_dir>/run.log``. A ``spec.preset`` is resolved for the data once it
    is read (:mod:`kaggle_kit.presets`).

    ``search`` (default ``spec.search``) adds the configs of a search over model families, ``extra_models`` more
    models; ``time_limit`` (default ``spec.run.time_limit``, seconds) bounds the whole call: both go through
    :func:`kaggle_kit.runtime.search.driver.drive` (waves of whole configs under the budget, TPE batches, seed bags).
    The
    limit counts from ``started`` (a ``time.monotonic()`` value; default: now), e.g. the start of a command.

    ``submits``: the caller submits after the fits (``kaggle-kit run --time-limit`` does), so a sample submission of
    other rows than data.test's stops the run before any fit; otherwise (this call never submits) it is warned of and
    ``kaggle-kit predict RUN_DIR --test ITS_TEST_FILE --sample SAMPLE`` can write that test set's submission.
    """
    stop_if_worker_starting()  # a script without a main guard, re-imported by a fold worker: before any work
    started = time.monotonic() if started is None else started
    spec = as_spec(spec)  # a config's path too, as `kaggle-kit run CONFIG` takes it
    only = names_of(only)  # only="lgbm": the model, not its letters
    check_kinds(spec.models)
    for m in spec.models:  # not one --only leaves out: a typo, or CatBoost not installed, had refused the run
        if m.kind in BOOSTING_KINDS and (not only or m.name in only):  # their adapters resolve the params' names: a
            make_adapter(m)  # typo is said before the data is read (a value's check needs the classes: once it is)
    if only and spec.preset is None:  # a preset's models are known once the data is read: checked in _run then
        for name in only:
            spec.model(name)  # an unknown name, before the data is read (it was read first, then refused)
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 0):
        # as run.n_jobs: scikit-learn's -1 (every core) had run one task at a time, without a word
        raise ConfigError(f"n_jobs (--jobs) must be 0 (one task per CPU core) or a positive number; got {n_jobs!r}")
    check_time_limit(time_limit)
    take_reading()  # the thread rule measures the cores' load from here, while the data is read
    session = RunSession.open(spec, runs_root, train, test, n_jobs, executor, ray_address, progress)
    try:
        # the config's own pipelines (a preset's come with the models reading them), against the models with the
        # preset's, and those run(search=..., extra_models=...) adds in Python
        _warn_unused_pipelines(
            session.spec, list(spec.pipelines), extra_models, search if search is not None else spec.search
        )
        return _run(session, only, extra_models, search, time_limit, started, record_history, submits)
    finally:
        session.close()


def _run(
    session: RunSession,
    only: Sequence[str] | None,
    extra_models: Sequence[ModelSpec],
    search: SearchSpec | None,
    time_limit: float | None,
    started: float,
    record_history: bool,
    submits: bool = False,
) -> RunResult:
    spec = session.spec  # with its preset's models, resolved for the data
    listed_before = session.store.listed_models()
    models = [baseline_spec(), *spec.models]
    if only:
        for name in only:
            spec.model(name)  # unknown names raise, listing the spec's models
        models = [m for m in models if m.name in only or m.name == BASELINE_NAME]
    models += list(extra_models)
    clash = sorted({m.name for m in extra_models if [x.name for x in models].count(m.name) > 1})
    if clash:
        raise ConfigError(f"extra_models: {clash[0]!r} is the name of another model of the run; rename it")
    search = _with_date_parts(search if search is not None else spec.search, spec)
    limit = time_limit if time_limit is not None else spec.run.time_limit
    from .pseudo import keep_pseudo, plan_pseudo, run_pseudo

    pseudo = plan_pseudo(session) if not only else None  # [pseudo_label] checked before anything is fitted
    # what earlier commands fitted and recorded (seed bags, shortened models): kept unless that model's spec changed
    recorded = Recorded.read(session.store)
    if search is None and limit is None and not extra_models:
        current, bags = _carried(session, recorded, models, [baseline_spec(), *spec.models])
        named = {m.name for m in models}
        kept_bags = [b for config, members in bags.items() if config in named for b in members]  # reused, not fitted
        extra = recorded.meta(bags, current, spec.seed)
        outcome = session.fit_all([*models, *kept_bags], current=current, extra=extra, submits=submits)
    else:
        from .search.driver import drive

        embeddings.check_supported(models, time_limit=limit is not None, search=search is not None)

        named = {m.name for m in models}
        keep = [m for m in [baseline_spec(), *spec.models] if m.name not in named]  # --only: listed, not fitted
        outcome = drive(
            session,
            models,
            search=search,
            time_limit=limit,
            started=started,
            keep=keep,
            recorded=recorded,
            submits=submits,
        )
    if pseudo is not None:  # after the models it labels with: new models <model>@pl<round>
        from .search.budget import Budget

        deadline = Budget(limit, started, len(models)).deadline() if limit is not None else None  # as the fits had
        outcome = run_pseudo(session, pseudo, outcome, deadline)
    elif only and spec.pseudo_label is not None:  # its stored rounds stay listed while their sources are unchanged
        kept = keep_pseudo(session)
        session.say(
            "pseudo-labelling skipped: --only fits the models named, not [pseudo_label]'s rounds"
            + (f"; {name_a_few(kept, 'models', ', ')} stay listed (every fold stored)" if kept else "")
        )
    if record_history:
        _record_history(session.store.root)
    listed = session.store.listed_models()
    dropped = [name for name in listed_before if name not in listed]
    notes = outcome.notes + _undefined_folds_note(session)
    if dropped:  # a search's configs after a plain run: gone from the leaderboard and blends, which had not said so
        notes += (
            f"{len(dropped)} model(s) of the run folder's last command are not models of this one: "
            f"{name_a_few(dropped, 'models', ', ')}. Their folds stay in the run folder, and a command that makes them "
            "again (the same --search, a --time-limit's seed bags, the model back in the config) reuses them; until "
            "then the leaderboard, blends and submissions leave them out",
        )
    return RunResult(
        session.store.root.absolute(),  # a notebook may chdir before it reads the result
        spec.metric,
        outcome.results,
        fitted=outcome.fitted,
        reused=outcome.reused,
        incomplete=tuple(r.name for r in outcome.results if r.status == "incomplete"),
        notes=notes,
    )


def _carried(
    session: RunSession, recorded: Recorded, models: Sequence[ModelSpec], listed: Sequence[ModelSpec]
) -> tuple[list[ModelSpec], dict[str, list[ModelSpec]]]:
    """run.json's models for a plain run fitting ``models``: each of ``listed``, the ones it does not fit (``--only``)
    as the last command fitted them (a time limit's lowered cap), and after each the seed bags run.json recorded of
    it as this command lists it that the store holds whole; and those bags by model. A model it fits at its full size
    keeps none of the bags of its shortened size: they are another config's seeds (a search dropped them alike)."""
    fitted, names = {m.name for m in models}, {m.name for m in listed}
    current, bags = [], {}
    for model in listed:
        as_fitted = recorded.as_fitted(model, session.key)
        current.append(model if model.name in fitted or as_fitted is None else as_fitted)
        if as_fitted is not None and current[-1] is as_fitted:
            kept = recorded.bags_of(as_fitted, session.key, lambda bag: not session.tasks(bag)[0])
            # a bag never takes the name of a model of the spec (run.json lists one key a name)
            bags[model.name] = [bag for bag in kept if bag.name not in names]
            current += bags[model.name]
    return current, bags


def _undefined_folds_note(session: RunSession) -> tuple[str, ...]:
    """A line on the folds where the metric is undefined (one label in their held-out rows), which every fold mean
    leaves out: the leaderboard's fold scores are fewer than the folds, and the means rest on the others."""
    data, folds, metric = session.data, session.folds, session.metric
    undefined = undefined_folds(data.y, folds, metric, len(prediction_columns(data, metric)))
    if not undefined:
        return ()
    n = len(folds.tasks())
    named = [f"fold {k}" if folds.n_repeats == 1 else f"repeat {r} fold {k}" for r, k in undefined]
    rest = f"the means rest on the other {n - len(undefined)}" if len(undefined) < n else "no model has a fold mean"
    return (
        f"{metric.name} is undefined on the held-out rows of {len(undefined)} of the {n} folds ("
        f"{name_a_few(named, 'folds', ', ')}: one label only): every model's and blend's fold mean leaves them out, "
        f"{rest}. Fewer folds, or folds that spread each label over all of them (stratified), make every fold count",
    )


@dataclass(frozen=True)
class FitOutcome:
    """What fitting a run's models gave: their leaderboard rows, folds fitted and reused, lines for the user."""

    results: tuple[ModelResult, ...]
    fitted: int
    reused: int
    notes: tuple[str, ...] = ()


@dataclass
class RunSession:
    """One run's data, folds and store, and the means to fit folds of any model on them: what :func:`run` and the
    search driver (:mod:`kaggle_kit.runtime.search.driver`) share. Built by :meth:`open`; :meth:`start` fixes the
    workers."""

    spec: CompetitionSpec
    data: CompetitionData
    folds: Folds
    store: RunStore
    metric: Metric
    device: str
    settings: RunSpec
    in_memory: bool
    say: RunProgress
    n_jobs: int | None = None
    job: Job | None = None
    execution: dict[str, Any] | None = None
    #: the worker processes, kept from the first task to :meth:`close` (every wave of a time-limited run uses them)
    pool: WorkerPool | None = None
    #: the local Ray this run started, kept from the first task to :meth:`close` as the pool is (each wave of a
    #: time-limited run, each pseudo-labelling round had started its own and shut it down: seconds a wave)
    ray_kept: bool = False
    _keys: dict[tuple[str, str], str] = field(default_factory=dict)
    _fewest: int | None = None  # the fewest training rows of a fold (:meth:`_smallest_fit`)
    _sample_checked: bool = False  # the sample submission fits the run's predictions (:meth:`fit_all`)
    #: :func:`embeddings.nets_digest`'s memo: a net's fold files hashed once per run, not once per reader and build
    net_digests: dict[tuple[Any, ...], str | None] = field(default_factory=dict)
    #: train and test as read from the spec's files, and the spec they were read by: handed to the pool's workers,
    #: which prepare them instead of reading the files again (:meth:`start`, which lets them go)
    read: tuple[RawFrames, CompetitionSpec] | None = None
    _record: tuple[CompetitionData, dict[str, Any]] | None = None  # (the data, :func:`data_record` of it)
    #: (model name, key) -> fold scores of a model whose last fold came in (the live CV's), until it is assembled
    _scores: dict[tuple[str, str], FoldScores] = field(default_factory=dict)
    #: target.parquet written (:meth:`write_meta`): with run.json's keys, not as the run opens, so that a run refused
    #: by its checks leaves the target beside the models run.json lists (their OOF is scored and blended against it)
    _target_saved: bool = False

    @classmethod
    def open(
        cls,
        spec: CompetitionSpec,
        runs_root: Path | str,
        train: pl.DataFrame | None,
        test: pl.DataFrame | None,
        n_jobs: int | None,
        executor: str | None,
        ray_address: str | None,
        progress: RunProgress | Progress | Literal["auto"] | None,
    ) -> RunSession:
        settings = _run_settings(spec.run, executor, ray_address)
        if settings.executor == "ray":  # Ray missing, an address where nothing answers: said before the data is read
            from .ray_executor import check_ray

            check_ray(settings.ray_address)
        # frames stand in for spec.data's files together: one alone was a test frame dropped for data.test's file, or
        # a run without test predictions (nothing to submit) while the spec names a test file, both without a word
        if train is None and test is not None:
            raise ConfigError(
                "a test frame was given without a train frame; frames stand in for spec.data's files together: "
                "pass train= too (or leave test= out to read data.test)"
            )
        if train is not None and test is None and spec.data.test is not None:
            raise ConfigError(
                f"a train frame was given without a test frame, but data.test names {str(spec.data.test)!r}: frames "
                "stand in for spec.data's files together, so the run would make no test predictions (nothing to "
                "submit). Pass test= too, or set data.test = None for a run without test rows"
            )
        raw = read_frames(spec) if train is None else None
        data = prepare_competition(spec, train, test) if raw is None else load_competition(spec, frames=raw)
        read_with = spec
        if data.date_formats != spec.data.date_formats:  # found in train: the spec.toml beside the run records them
            spec = spec.model_copy(update={"data": spec.data.model_copy(update={"date_formats": data.date_formats})})
        streamed = spec.data.sequences is not None and spec.data.sequences.layout == "streamed"
        if streamed and data.sequences is None:
            raise DataError(
                'data.sequences.layout = "streamed" keeps the steps in a store the frames given do not carry: run '
                'from the spec\'s files (kaggle_kit.run(spec) / kaggle-kit run CONFIG), or use layout = "wide"'
            )
        metric = get_metric(spec.metric, spec.grid)
        device = resolve_device(spec.device)
        store = RunStore.in_runs_folder(runs_root, spec.run_name)
        store.ensure_writable()
        say = Fanout(RunLog(store.root / "run.log"), as_progress(progress, metric=metric))
        spec = _with_preset(spec, data, device, n_jobs or settings.n_jobs or cpu_count(), say)
        folds = _folds_for_run(store, spec, data)
        if data.sequences is not None:  # streamed sequences: saved once, memory-mapped by every fold from there
            data = replace(data, sequences=data.sequences.save(run_sequences_folder(store.root)))
        read = (raw, read_with) if raw is not None else None
        return cls(spec, data, folds, store, metric, device, settings, train is not None, say, n_jobs, read=read)

    def resolved(self, model: ModelSpec) -> ModelSpec:
        """``model`` with the files its params name (``pretrained``) as paths from the config file's folder."""
        return resolve_files(model, self.spec.base_dir)

    def check(self, models: Sequence[ModelSpec]) -> None:
        """Reject bad params (a reserved key, a task the model cannot do), a step column the data lacks, and a name
        the run folder's imported predictions or stored blends hold, before anything trains."""
        self._check_names_free(models)
        columns = self.data.train.columns
        for m in models:
            steps = self.spec.feature_steps(m)
            if steps:  # a step's column typo, named now: not at the model's first fold, after the models before it
                targets = self.data.targets or (self.data.target_column,)
                test_columns = self.data.test.columns if self.data.test is not None else None
                places = self.spec.feature_step_places(m)
                check_step_columns(steps, columns, f"model {m.name!r}", places, targets, test_columns)
                check_step_types(steps, self.data.train.schema, f"model {m.name!r}", places)
            if self.data.targets:  # multilabel / multiregression: no step may encode with one target
                from ..models.multi_target import check_target_free

                check_target_free(m.name, self.spec.feature_steps(m), self.data.task)
            make_adapter(self.resolved(m), self.data.task).check(
                FitContext(
                    self.data.task,
                    self.data.n_classes,
                    self.metric,
                    model_seed(m, self.spec),
                    self.device,
                    threads=1,
                    classes=self.data.classes,
                )
            )

    def _check_names_free(self, models: Sequence[ModelSpec]) -> None:
        """Names are unique across models, blends and imported predictions (every blend reads them together): a
        model named as one of the others had stopped the blend and submission after all its folds were fitted
        (`model(s) 'x' are named more than once`)."""
        from ..blend.storage import blend_names, external_sources

        imported, blends = set(external_sources(self.store.root)), set(blend_names(self.store.root))
        for m in models:
            if m.name in imported or m.name in blends:
                held, folder = (
                    ("predictions imported into", "external") if m.name in imported else ("a blend of", "blends")
                )
                raise ConfigError(
                    f"model {m.name!r} has the name of {held} the run {str(self.store.root)!r}; names are unique "
                    f"across models, blends and imported predictions: rename the model, or delete "
                    f"{self.store.root / folder / m.name}"
                )

    def _smallest_fit(self) -> int:
        """The fewest training rows of any fold (a time-ordered scheme's first fold trains on the fewest)."""
        if self._fewest is None:
            self._fewest = self.folds.fewest_training_rows()[1]
        return self._fewest

    def key(self, model: ModelSpec) -> str:
        cache = (model.name, model.model_dump_json())
        if cache not in self._keys:
            self._keys[cache] = model_key(
                model,
                self.spec,
                self.data.fingerprint(),
                self.folds.fingerprint(),
                small_categorical=bool(self.data.categorical) and self._smallest_fit() < GROUPS_FROM_ROWS,
            )
        return self._keys[cache]

    def tasks(self, model: ModelSpec) -> tuple[list[Task], list[FoldResult]]:
        """The model's unfinished (repeat, fold) tasks, and the results of its finished folds (a reader's folds read
        through net folds refitted since count as unfinished: :func:`embeddings.stale_reader_folds`)."""
        key, missing, done = self.key(model), [], []
        for r, k in self.folds.tasks():
            found = self.store.finished(model.name, key, r, k)
            if found is None:
                missing.append((r, k))
            else:
                done.append(found)
        threads = pinned_threads(model, done)  # a resumed model's folds: all fitted on one thread count
        todo = [Task(self.resolved(model), key, r, k, threads=threads) for r, k in missing]
        stale = embeddings.stale_reader_folds(self, model, done)  # a reader whose net's folds changed
        if stale:
            todo += [
                Task(self.resolved(model), key, d.repeat, d.fold, threads=threads)
                for d in done
                if (d.repeat, d.fold) in stale
            ]
            todo.sort(key=lambda t: (t.repeat, t.fold))
            done = [d for d in done if (d.repeat, d.fold) not in stale]
        return todo, done

    def _frames_for_workers(self, pooled: bool) -> RawFrames | None:
        """The frames read from the spec's files for the pool's workers (``pooled``: the tasks run in a local process
        pool), where this run's spec reads its files as the spec they were read by did (the run adds the date formats
        it found, and its models); None otherwise: the workers read the files. Let go here either way: the run holds
        its prepared frames only from now on."""
        read, self.read = self.read, None
        if read is None or not pooled:
            return None
        raw, read_with = read
        now, then = self.spec.data, read_with.data
        same = now.model_copy(update={"date_formats": then.date_formats}) == then
        return raw if same and self.spec.base_dir == read_with.base_dir and self.spec.task == read_with.task else None

    def start(self, n_tasks: int, in_workers: bool = False) -> None:
        """Fix the worker count and threads per task (once per run) and say so; ``in_workers``: the tasks run in
        worker processes even with one job (a time limit, which stops a fold by ending its worker)."""
        if self.job is not None:
            return
        settings = self.settings
        asked = self.n_jobs or settings.n_jobs or cpu_count()
        jobs = max(1, min(asked, n_tasks or 1))
        if settings.executor == "local" and jobs > cpu_count():  # each worker a copy of the data and libraries
            self.say(  # the number asked (it said the tasks' count where there were fewer tasks than that)
                f"n_jobs (--jobs) {asked} is more than the {cpu_count()} core(s) this process may use: {cpu_count()} "
                "worker process(es), as more would only take turns on the cores, each with its own copy of the data"
            )
            jobs = cpu_count()
        load = machine_load(wait=not settings.threads_per_task)  # measured when it sets the threads
        threads = settings.threads_per_task or task_threads(load.cores, jobs, load.others)
        self.execution = _execution(settings, jobs, threads, load, in_workers)
        workers = "Ray tasks" if settings.executor == "ray" and settings.ray_address else f"{jobs} worker(s)"
        self.say(
            f"fitting {n_tasks} fold(s) with {workers} x {threads} thread(s) on {self.device} "
            f"({self.execution['where']}; load {load.load:.2f} on {load.cores} core(s), {load.others:.2f} of it "
            "other processes)"
        )
        self.job = Job(
            Context(
                self.spec,
                self.data,
                self.folds,
                self.store,
                self.metric,
                self.device,
                threads,
                gpu_share=1.0 if settings.executor == "ray" else 1.0 / jobs,  # Ray: per task, its gpus_per_task
            ),
            in_memory=self.in_memory,
            frames=self._frames_for_workers(settings.executor == "local" and (jobs > 1 or in_workers)),
            jobs=jobs,
            executor=settings.executor,
            ray_address=settings.ray_address,
            gpus_per_task=settings.gpus_per_task,
            adaptive_threads=not settings.threads_per_task,
        )

    def decode_images(self, pending: Sequence[Task]) -> None:
        """Streamed images with a cache, when a pending fold's model reads them: decoded into the cache now, before
        any fold fits (the first such fold would decode them all anyway, in its worker), so that a file that cannot
        be read stops the run before the other models' folds have been fitted for nothing; without the cache, every
        file checked readable now (:meth:`ImageStream.check_files`: a corrupt file had been found by a net's batch,
        minutes of folds in). ``start()`` first."""
        images = self.data.images
        if images is None or self.job is None:
            return
        models = {t.model.name: t.model for t in pending}.values()
        if not any(getattr(make_adapter(m, self.data.task), "reads_images", False) for m in models):
            return
        if not images.cache:
            record = images.checked_path(self.store.root)  # a resumed run's unchanged files: checked once
            if not record.is_file():
                self.say(f"checking the {len(images)} image files")
            images.check_files(max(1, self.job.context.threads * self.job.jobs), record)
            return
        stream = images.cached_in(self.store.root)
        if stream.cache_path is not None and not stream.cache_path.is_file():
            self.say(f"decoding the {len(stream)} image files into the run's image cache (once)")
        stream.open_cache(max(1, self.job.context.threads * self.job.jobs))

    @property
    def jobs(self) -> int:
        assert self.job is not None, "start() first"
        return self.job.jobs

    def execute(self, tasks: list[Task]) -> dict[str, str]:
        """Fit the tasks; model name -> error text of the models that failed."""
        return self.run_tasks(tasks).errors

    def run_tasks(self, tasks: list[Task], deadline: float | None = None, fit: FitFold | None = None) -> Outcomes:
        """Fit the tasks; with a ``deadline`` (``time.monotonic()``) none starts after it and one running then, or
        past its ``max_seconds``, is stopped (in worker processes, so even with one job: see :attr:`pool`). ``fit``:
        what fits a task (a pseudo-labelling round's folds: :func:`~kaggle_kit.runtime.pseudo.fit_pseudo_fold`;
        None: :func:`fit_fold`), in the run's one pool either way."""
        assert self.job is not None, "start() first"
        job = replace(self.job, deadline=deadline)
        if self.pool is None and job.executor == "local" and (job.jobs > 1 or deadline is not None):
            self.pool = make_pool(self.job)
        if tasks:
            self.keep_ray()
        outcomes = run_tasks(tasks, job, fit or fit_fold, self.say, pool=self.pool if job.executor == "local" else None)
        self._scores.update(outcomes.scores)
        return outcomes

    def keep_ray(self) -> None:
        """On Ray, start the run's local Ray now and keep it to :meth:`close` (each wave of a time limit, each
        pseudo-labelling round then use it). Called with the first tasks to fit: a run that fits none (every fold
        reused) had started one and shut it down, seconds for nothing."""
        assert self.job is not None, "start() first"
        if self.job.executor == "ray" and not self.ray_kept:
            from .ray_executor import keep_local_ray

            self.ray_kept = keep_local_ray(self.job, self.say)

    def close(self) -> None:
        """Stop the worker processes (idle by now), and the local Ray the run started."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None
        if self.ray_kept:
            from .ray_executor import release_local_ray

            release_local_ray()
            self.ray_kept = False

    def assemble(self, model: ModelSpec, error: str | None, incomplete: str | None = None) -> ModelResult:
        key = self.key(model)
        scores = self._scores.pop((model.name, key), None)
        return _assemble(self.store, model, key, self.data, self.folds, self.metric, error, incomplete, scores)

    def write_meta(self, models: Sequence[ModelSpec], extra: dict[str, Any] | None = None) -> None:
        """run.json: ``models`` (name -> key) are the run's current models, in this order; target.parquet (once) with
        the first."""
        keys = {m.name: self.key(m) for m in models}
        kinds = {m.name: m.kind for m in models}
        _write_meta(
            self.store,
            self.spec,
            self.data,
            self.folds,
            self.metric,
            self.device,
            keys,
            self.execution or {},
            kinds=kinds,
            extra=extra,
            record=self._data_record(),
            target=None if self._target_saved else (self.data.train_ids, self.data.y),
        )
        self._target_saved = True

    def _data_record(self) -> dict[str, Any]:
        """What run.json records of the training frame (:func:`data_record`), once per data: a time-limited search
        writes run.json twice a wave, and each numeric feature's spread over 1M rows took 0.45 s a write."""
        if self._record is None or self._record[0] is not self.data:
            self._record = (self.data, data_record(self.data, self.spec))
        return self._record[1]

    def check_sample(self, submits: bool = False) -> None:
        """Once per run, before any fit: the sample submission fits the predictions the run will make
        (:func:`kaggle_kit.submit.check_sample_fits`; ``submits``: the CLI's time-limited command submits after its
        fits, so a sample of another test set's rows stops it too; a Python ``run(time_limit=...)`` never submits)."""
        if not self._sample_checked and self.data.test_ids is not None:
            from ..submit import check_sample_fits

            meta = _submission_meta(self.spec, self.data, self.metric)
            check_sample_fits(meta, self.data.test_ids, submits=submits)
            self._sample_checked = True

    def fit_all(
        self,
        models: Sequence[ModelSpec],
        current: Sequence[ModelSpec],
        extra: dict[str, Any] | None = None,
        submits: bool = False,
    ) -> FitOutcome:
        """Every unfinished fold of ``models`` at once (``current``: all models run.json lists; ``extra``: more of
        run.json, e.g. the seed bags kept; ``submits``: as :meth:`check_sample`'s, the caller submits after)."""
        self.check(models)
        pending: list[Task] = []
        reused = 0
        for m in models:
            todo, done = self.tasks(m)
            pending += todo
            reused += len(done)
        if reused:
            self.say(f"reusing {reused} finished fold(s) from {self.store.root}")
        self.check_sample(submits=submits)
        self.start(len(pending))
        self.write_meta(current, extra)
        self.decode_images(pending)
        errors = embeddings.execute_in_stages(self, pending)  # a net's embeddings before the models reading them
        results = tuple(self.assemble(m, errors.get(m.name)) for m in models)
        # the folds now in the store (a failed model's were counted as fitted, its skipped folds too)
        fitted = sum(self.store.finished(t.model.name, t.key, t.repeat, t.fold) is not None for t in pending)
        return FitOutcome(results, fitted=fitted, reused=reused)


def _with_preset(
    spec: CompetitionSpec, data: CompetitionData, device: str, jobs: int, say: Progress
) -> CompetitionSpec:
    """The spec with its preset's models added (resolved for this data); one line per model says why."""
    if spec.preset is None:
        return spec
    streamed = data.images.shape if data.images is not None else None  # streamed [data.images]: the cnn reads them
    # [data.images] as pixel columns: their shape is the images', which the columns' count tells only when square
    memory = image_shape(spec, data.train) if streamed is None else None
    profile = DataProfile.of(
        data.train, data.features, data.categorical, data.task, data.n_classes, gpu=device == "cuda",
        streamed_shape=streamed, image_shape=memory,
    )  # fmt: skip
    expanded, resolved = expand_preset(spec, profile, jobs=jobs)
    assert resolved is not None
    own = {m.name for m in spec.models}  # a model of the spec's own wins a name clash: said, not only done

    def told(m: Any) -> str:
        name, kind = m.spec["name"], m.spec["kind"]
        clash = f": not added, the config's own model {name!r} has the name" if name in own else ""
        return f"{name} ({kind}{clash})"

    say(f"preset {spec.preset!r}: " + "; ".join(told(m) for m in resolved.models))
    for line in resolved.left_out:
        say(f"preset {spec.preset!r} left out {line}")
    return expanded


def _with_date_parts(search: SearchSpec | None, spec: CompetitionSpec) -> SearchSpec | None:
    """``search`` with its configs reading the date parts the preset gave its models (the ``dates`` pipeline), for
    every family whose ``[search.overrides]`` names no pipeline of its own."""
    if search is None or DATES not in spec.pipelines:
        return search
    overrides = {f: dict(search.overrides.get(f, {})) for f in search.families}
    for table in overrides.values():
        table.setdefault("pipeline", DATES)
    return search.model_copy(update={"overrides": {**search.overrides, **overrides}})


def _run_settings(run: RunSpec, executor: str | None, ray_address: str | None) -> RunSpec:
    """``spec.run`` with the caller's overrides, validated like the spec itself."""
    updates: dict[str, Any] = {}
    if ray_address is not None and executor not in (None, "ray"):
        # it said "run.ray_address is only used with run.executor = 'ray'", keys of a config that set neither
        raise ConfigError(
            f"--ray-address (ray_address=) runs the tasks on Ray, and --executor (executor=) asks for {executor!r}: "
            "leave one of them out"
        )
    ray_only = [
        f"run.{k} = {getattr(run, k)!r}" for k in ("ray_address", "gpus_per_task") if getattr(run, k) is not None
    ]
    if executor not in (None, "ray") and ray_only:  # "run.ray_address is only used with ...", as if it were a typo
        is_, them = ("is", "it") if len(ray_only) == 1 else ("are", "them")
        raise ConfigError(
            f"--executor (executor=) asks for {executor!r}, and the config's {' and '.join(ray_only)} {is_} for Ray: "
            f"leave --executor out to run on Ray, or remove {them} from [run]"
        )
    if executor is not None:
        updates["executor"] = executor
    if ray_address is not None:
        updates.update(ray_address=ray_address, executor=executor or "ray")
    if not updates:
        return run
    try:
        return RunSpec.model_validate({**run.model_dump(), **updates})
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, "run options").replace("competition spec", "run options")) from None


def _execution(
    settings: RunSpec, jobs: int, threads: int, load: MachineLoad, in_workers: bool = False
) -> dict[str, Any]:
    """How the run's tasks were run, as recorded in run.json: the thread rule's inputs and its outcome."""
    if settings.executor == "ray":
        where = f"Ray at {settings.ray_address}" if settings.ray_address else "a local Ray"
    else:
        where = "this process" if jobs == 1 and not in_workers else "a local process pool"
        if jobs == 1 and in_workers:  # n_jobs = 1 under a time limit: why not this process, said where it shows
            where = "one worker process: the time limit stops a fold still running at its deadline by ending it"
    return {
        "executor": settings.executor,
        "where": where,
        "jobs": jobs,
        "threads": threads,
        "threads_rule": "run.threads_per_task" if settings.threads_per_task else "load-aware",
        "cores": load.cores,
        "load": load.load,  # busy cores lately (the 1-minute load average where not measurable)
        "load_own": load.own,
    }


def _folds_for_run(store: RunStore, spec: CompetitionSpec, data: CompetitionData) -> Folds:
    folds = resolve_folds(spec, data)
    if spec.task == "multiregression":  # a target labelled on too few rows had failed inside a fold
        check_labelled_targets(data.y, data.targets, folds)
    _warn_rare_classes(spec, data)
    _warn_large_group(spec, data, folds)
    try:
        saved = store.load_folds(folds.n_splits, folds.scheme)
        fits = saved is None or saved == folds
    except DataError:  # the saved ids do not fit this spec's fold settings (e.g. n_splits changed)
        saved, fits = None, False
    if not fits:
        raise StoreError(
            f"the run folder {str(store.root)!r} holds folds made from other data or fold settings; a run never "
            "overwrites another: set run.name to a new name (or delete that folder)"
        )
    if saved is None:
        store.save_folds(folds, data.train_ids)
    return folds


def _write_meta(
    store: RunStore,
    spec: CompetitionSpec,
    data: CompetitionData,
    folds: Folds,
    metric: Metric,
    device: str,
    keys: dict[str, str],
    execution: dict[str, Any],
    *,
    kinds: dict[str, str],
    extra: dict[str, Any] | None = None,
    record: dict[str, Any] | None = None,
    target: tuple[pl.Series, np.ndarray] | None = None,
) -> None:
    """run.json, spec.toml and levels.parquet. ``record``: :func:`data_record` of ``data`` where the caller keeps
    it (computed here otherwise); ``target``: the ids and target to write to target.parquet first (once a run)."""
    record = data_record(data, spec) if record is None else record
    previous = store.read_meta() if store.exists() else {}
    if previous and (previous.get("task"), previous.get("metric")) != (spec.task, spec.metric):
        raise StoreError(
            f"the run folder {str(store.root)!r} belongs to a {previous.get('task')} run scored by "
            f"{previous.get('metric')!r}; set run.name to a new name for this spec"
        )
    if target is not None:  # after the check above: a run refused leaves the folder's target as it was
        store.save_target(*target)
    submission = _submission_meta(spec, data, metric)
    head = _sample_head(
        Path(submission["sample_submission"]) if submission["sample_submission"] else None, spec.data.encoding
    )
    store.write_meta(
        {
            "name": spec.name,
            "kit_version": __version__,
            "created": previous.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "task": spec.task,
            **submission,
            "n_test": data.test.height if data.test is not None else 0,
            # its columns: `kaggle-kit predict` writes them where the run folder moved without the file (a code
            # competition's dataset), not the kit's own layout
            "sample_columns": head[0] if head else None,
            # and its first row, which spells its labels ('1' where train spells '1.0'), as `predict` writes them
            "sample_first_row": head[1] if len(head) > 1 else None,
            "config_dir": str(spec.base_dir.resolve()),
            "data_fingerprint": data.fingerprint(),
            "folds_fingerprint": folds.fingerprint(),
            "device": device,
            "execution": execution,
            "models": keys,
            "kinds": kinds,
            "columns": record["columns"],
            "categorical": list(data.categorical),
            # the code columns' parts (data.split_codes): `kaggle-kit predict` splits a new test file alike
            "split_codes": split_record(data.splits),
            "date_ranges": record["date_ranges"],
            "numeric_ranges": record["numeric_ranges"],
            # how image files / long tables became columns: `kaggle-kit predict` reads new ones to the same shape
            "image_shape": list(data.images.shape) if data.images is not None else image_shape(spec, data.train),
            "image_mode": image_mode(spec, data.train),
            # how its image files were decoded: `kaggle-kit predict` warns when it decodes new ones otherwise
            "image_decoding": DECODING if spec.data.images is not None else None,
            "image_float_scales": record.get("image_float_scales"),
            "sequence_layout": sequence_layout(spec, data.train, data.sequences),
            **(extra or {}),
        }
    )
    (store.root / "spec.toml").write_text(spec.to_toml())
    store.save_levels(training_levels(data.train, data.categorical))


def data_record(data: CompetitionData, spec: CompetitionSpec | None = None) -> dict[str, Any]:
    """What run.json records of the training frame, for `kaggle-kit predict`'s checks of a new test file (and, with
    the ``spec``, of new image files)."""
    from ..readers.images import float_scales

    return {
        # the float scales train's image files are read on: `kaggle-kit predict` warns of new files read on another
        "image_float_scales": sorted(float_scales(spec, data.train, "train")) if spec and spec.data.images else None,
        # the training features' dtypes and kinds: `kaggle-kit predict` checks a new test file against them
        "columns": column_record(data.train, data.features, data.categorical),
        # the first and last training date of each date column: `kaggle-kit predict` warns of a later test file
        "date_ranges": date_ranges(data.train, data.train.columns),
        # each numeric feature's spread: `kaggle-kit predict` warns of a new file on another scale (0 .. 1 pixels)
        "numeric_ranges": numeric_ranges(data.train, [c for c in data.features if c not in data.categorical]),
    }


def _submission_meta(spec: CompetitionSpec, data: CompetitionData, metric: Metric) -> dict[str, Any]:
    """The part of run.json that shapes a submission (:func:`kaggle_kit.submit.submission_frame`, the sample's
    matching): before any fit, :meth:`RunSession.check_sample` shapes one from it."""
    sample = spec.resolve(spec.data.sample_submission).resolve() if spec.data.sample_submission else None
    return {
        "metric": metric.name,
        "id_column": data.id_column,
        "target_column": data.target_column,
        "classes": list(data.classes) if data.classes is not None else None,
        "targets": list(data.targets) or None,  # a multilabel / multiregression task's target columns
        "n_train": data.train.height,
        "sample_submission": str(sample) if sample else None,
        "encoding": spec.data.encoding,  # data.encoding: `submit` and `predict` read the sample as the run did
        # a distribution task's bins / quantile levels (what its metric scores) and submission column names
        **(
            {"grid": list(spec.distribution.grid), "grid_columns": spec.distribution.columns}
            if spec.distribution is not None
            else {}
        ),
    }


def _sample_head(sample: Path | None, encoding: str | None = None) -> list[list[str]]:
    """The sample submission's header and first row, read as :func:`~kaggle_kit.sample_submission.read_sample` reads
    it but for those lines only (run.json is written after every wave of a time-limited run); none without a sample
    file."""
    if sample is None or not sample.is_file():
        return []
    from ..readers.tables import read_head

    try:
        return read_head(sample, 2, encoding)
    except OSError:  # `submit` reads the file itself and says what is wrong with it
        return []


# --------------------------------------------------------------------------------------------- assembly
def target_columns(task: str, targets: Sequence[str]) -> list[str]:
    """A multi-target task's stored prediction columns: ``p_<target>`` (the probability of label 1) or
    ``pred_<target>`` (a value)."""
    return [("p_" if task == "multilabel" else "pred_") + t for t in targets]


def _assemble(
    store: RunStore,
    model: ModelSpec,
    key: str,
    data: CompetitionData,
    folds: Folds,
    metric: Metric,
    error: str | None,
    incomplete: str | None = None,
    scores: FoldScores | None = None,
) -> ModelResult:
    """Gather a model's folds into OOF (row order = train order, pooled over repeats) and test predictions pooled
    over folds (:mod:`kaggle_kit.runtime.pooling`), score them, and write them with the model's summary. ``scores``:
    the same pooled OOF's, scored when its last fold came in (the live CV); scored here only when not given (a model
    whose folds were all reused). Temporary fold folders a killed write left behind are removed here, when none of
    this run's writes is in flight."""
    store.remove_stale_temps(model.name, key)
    results = [store.finished(model.name, key, r, k) for r, k in folds.tasks()]
    done = [r for r in results if r is not None]
    if error is not None or len(done) != len(results):
        cut_short = error is None and incomplete is not None  # a time limit, not a failure
        summary = ModelResult(
            name=model.name,
            kind=model.kind,
            key=key,
            metric=metric.name,
            cv=float("nan"),
            fold_scores=tuple(r.score for r in done),
            fit_seconds=sum(r.fit_seconds for r in done),
            best_iteration=None,
            status="incomplete" if cut_short else "failed",
            error=f"incomplete: {incomplete} ({len(done)} of {len(results)} folds)"
            if cut_short
            else error or f"{len(results) - len(done)} fold(s) unfinished",
        )
        store.write_summary(summary)
        return summary

    columns = prediction_columns(data, metric)
    space = pooling_space(data.task)
    oof_pool = FoldPool(data.train.height, len(columns), space)
    test_pool = FoldPool(data.test.height, len(columns), space) if data.test is not None else None
    for res in done:
        _, valid_idx = folds.train_valid(res.repeat, res.fold)
        oof_pool.add(store.read_fold_array(res, "valid.npy"), valid_idx)
        if test_pool is not None:
            test_pool.add(store.read_fold_array(res, "test.npy"))
    oof = oof_pool.result()

    ids = data.train_ids
    store.write_predictions(model.name, key, "oof", _prediction_frame(ids, oof, columns))
    if test_pool is not None:
        test_ids = data.test_ids
        assert test_ids is not None
        store.write_predictions(model.name, key, "test", _prediction_frame(test_ids, test_pool.result(), columns))

    iters = [r.best_iteration for r in done if r.best_iteration is not None]
    honest = scores if scores is not None else score_folds(oof, data.y, folds, metric)  # as `report`, `blend` do
    summary = ModelResult(
        name=model.name,
        kind=model.kind,
        key=key,
        metric=metric.name,
        cv=honest.pooled,
        fold_scores=honest.scores,
        fit_seconds=round(sum(r.fit_seconds for r in done), 3),
        best_iteration=float(np.mean(iters)) if iters else None,
        note=clip_note(done, metric),
    )
    store.write_summary(summary)
    return summary


def clip_note(done: Sequence[FoldResult], metric: Metric) -> str:
    """The leaderboard's note on predictions clipped into the metric's domain, or "" when none were."""
    valid, test = sum(r.clipped[0] for r in done), sum(r.clipped[1] for r in done)
    if not (valid or test) or metric.domain is None:
        return ""
    lo, hi = metric.domain
    return (
        f"{valid} OOF and {test} test prediction value(s) (summed over folds) were outside [{lo:g}, {hi:g}], "
        f"what {metric.name} scores, and were clipped into it"
    )


def prediction_columns(data: CompetitionData, metric: Metric | None = None) -> list[str]:
    """Stored prediction column names: one per class label (``p_<label>``), ``prediction`` for regression, or a
    distribution task's one per bin (``cdf_<bin>``) or quantile level (``q_<level>``) of ``metric.grid``; one per
    target column for a multi-target task (``p_<target>``: the probability of label 1; ``pred_<target>``: a value)."""
    if metric is not None and metric.grid is not None:
        return grid_columns(metric)
    if data.targets:
        return target_columns(data.task, data.targets)
    if data.classes is None:
        return ["prediction"]
    return [f"p_{c}" for c in data.classes]


def _prediction_frame(ids: pl.Series, pred: np.ndarray, columns: list[str]) -> pl.DataFrame:
    cols: dict[str, Any] = {ids.name: ids}
    for j, name in enumerate(columns):
        cols[name] = pl.Series(name, pred[:, j], dtype=pl.Float32)
    return pl.DataFrame(cols)
