"""What a run shows while it fits: one live display on a terminal, a line per model elsewhere, every fold in run.log.

A search fits hundreds of (model, fold) tasks, so a line per fold is noise on a terminal. The run calls the hooks of
a :class:`RunProgress`; the implementations here are

* :class:`LiveProgress`: a `rich` display redrawn in place (tasks done / planned, elapsed, time left when the run
  has a deadline, the best CV so far, the models fitting now), finished models printed above it;
* :class:`PlainProgress`: no ANSI, for output that is not a terminal (CI, notebooks, pipes): the run's notes and
  one line per finished or failed model;
* :class:`LineProgress`: the library's contract for ``run(progress=callable)``: every note and one line per fold
  handed to the callable (``print``, ``list.append``);
* :class:`RunLog`: every line, a failed fold's full traceback included, appended to ``<run_dir>/run.log``.

``--verbose`` (or ``verbose=True``) adds the per-fold lines to the terminal. :func:`plain_warning` is the CLI's
one-line warning format (``warning: ...``); the library never installs it by itself.
"""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

import numpy as np

from ..errors import StoreError
from .pooling import FoldPool, Space
from .scoring import FoldScores, score_folds
from .store import FoldResult, RunStore

#: a model whose folds of this batch finished while others are still to fit (a time limit's probe or sizing fold)
NOT_WHOLE = "fold(s) measured, not whole yet"

if TYPE_CHECKING:
    from ..metrics import Metric
    from .executors import Task
    from .folds import Folds

Say = Callable[[str], None]


class RunProgress:
    """The hooks a run calls, in this order: notes, ``start``, task events, ``close``. Each is a no-op here, so an
    implementation overrides only what it shows. Calling the object itself is :meth:`note` (the old ``say``)."""

    def note(self, line: str) -> None:
        """A run-level line: what is reused, how the tasks run, an interruption."""

    def start(self, planned: int, deadline: float | None = None) -> None:
        """``planned`` tasks are about to be fitted; ``deadline`` is the run's end on :func:`time.monotonic`'s clock
        when it has a time limit."""

    def task_started(self, task: Task, threads: int) -> None:
        """A task was handed to a worker with ``threads`` threads."""

    def task_done(self, task: Task, result: FoldResult, line: str) -> None:
        """A task's fold is in the store; ``line`` is its one-line summary."""

    def task_failed(self, task: Task, line: str, details: str) -> None:
        """A task raised; ``line`` names it and the error, ``details`` is the full traceback."""

    def model_scored(self, model: str, scores: FoldScores) -> None:
        """``model``'s fold scores, handed just before its :meth:`model_done` (whose ``cv`` is ``scores.pooled``):
        what ranks it, as every leaderboard ranks (:func:`kaggle_kit.leaderboard.rank_score`, the fold mean). A hook
        of its own so that an implementation overriding ``model_done(model, cv, error)`` keeps working."""

    def model_done(self, model: str, cv: float | None, error: str | None) -> None:
        """Every fold of ``model`` is finished (``cv`` its CV score, None if it could not be computed) or the model
        failed (``error``)."""

    def interrupted(self) -> None:
        """The run was interrupted (Ctrl-C); ``close`` follows. Its caller says so to the user."""

    def close(self) -> None:
        """The tasks are over (finished, failed or interrupted)."""

    def __call__(self, line: str) -> None:
        self.note(line)


class Fanout(RunProgress):
    """Hands every event to several reporters (the terminal's and the run log)."""

    def __init__(self, *reporters: RunProgress) -> None:
        self.reporters = reporters

    def note(self, line: str) -> None:
        for r in self.reporters:
            r.note(line)

    def start(self, planned: int, deadline: float | None = None) -> None:
        for r in self.reporters:
            r.start(planned, deadline)

    def task_started(self, task: Task, threads: int) -> None:
        for r in self.reporters:
            r.task_started(task, threads)

    def task_done(self, task: Task, result: FoldResult, line: str) -> None:
        for r in self.reporters:
            r.task_done(task, result, line)

    def task_failed(self, task: Task, line: str, details: str) -> None:
        for r in self.reporters:
            r.task_failed(task, line, details)

    def model_scored(self, model: str, scores: FoldScores) -> None:
        for r in self.reporters:
            r.model_scored(model, scores)

    def model_done(self, model: str, cv: float | None, error: str | None) -> None:
        for r in self.reporters:
            r.model_done(model, cv, error)

    def interrupted(self) -> None:
        for r in self.reporters:
            r.interrupted()

    def close(self) -> None:
        for r in self.reporters:
            r.close()


class LineProgress(RunProgress):
    """``run(progress=say)``: every note and one line per fold (a failed fold's line says FAILED) go to ``say``."""

    def __init__(self, say: Say) -> None:
        self.say = say

    def note(self, line: str) -> None:
        self.say(line)

    def task_done(self, task: Task, result: FoldResult, line: str) -> None:
        self.say(line)

    def task_failed(self, task: Task, line: str, details: str) -> None:
        self.say(line)


class RunLog(RunProgress):
    """Appends every line, with the time, to ``path`` (``<run_dir>/run.log``); a failed fold with its traceback."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _write(self, text: str) -> None:
        stamp = datetime.now().isoformat(sep=" ", timespec="seconds")
        try:
            with open(self.path, "a", encoding="utf-8") as log:
                log.write("".join(f"{stamp}  {line}\n" for line in text.rstrip("\n").splitlines()))
        except OSError:  # the log must never be why a run fails (a full disk is reported by the store)
            pass

    def note(self, line: str) -> None:
        self._write(line)

    def start(self, planned: int, deadline: float | None = None) -> None:
        self._write(f"--- fitting {planned} task(s)")

    def task_done(self, task: Task, result: FoldResult, line: str) -> None:
        self._write(line)

    def task_failed(self, task: Task, line: str, details: str) -> None:
        self._write(f"{line}\n{details}")

    def model_done(self, model: str, cv: float | None, error: str | None) -> None:
        if error is None and cv is not None:
            self._write(f"{model}: every fold finished, CV {cv:.6g}")
        elif error is None:  # a time limit's probe or sizing fold: the model has other folds still to fit
            self._write(f"{model}: {NOT_WHOLE}")

    def interrupted(self) -> None:
        self._write("interrupted: the finished folds are kept; the next run resumes from them")


class _Tally(RunProgress, ABC):
    """What the terminal displays share: counts, the clock, the best model so far, the tasks running now."""

    def __init__(self, metric: Metric | None = None, verbose: bool = False) -> None:
        self.metric, self.verbose = metric, verbose
        self.planned = self.done = self.failed = 0
        self.started_at = time.monotonic()
        self.deadline: float | None = None
        self.best: tuple[str, float] | None = None  # the best model so far and its pooled CV
        #: what ``best`` was ranked by: its fold mean (its pooled CV where no fold scores came, ``model_done`` alone)
        self.best_score: float | None = None
        self._ranked_by: dict[str, float] = {}  # model_scored's fold means, for the model_done that follows
        self.running: dict[tuple[str, int, int], tuple[Task, int]] = {}

    def start(self, planned: int, deadline: float | None = None) -> None:
        """Each batch of tasks (a time limit's waves; a net's folds, then its embeddings' readers) adds to the counts
        and the clock of the first."""
        if not (self.planned or self.done or self.failed):
            self.started_at = time.monotonic()
        self.planned, self.deadline = self.done + self.failed + planned, deadline

    def task_started(self, task: Task, threads: int) -> None:
        self.running[(task.model.name, task.repeat, task.fold)] = (task, threads)

    @abstractmethod
    def _print(self, line: str) -> None:
        """Show one line (plain text on a stream, or above the live display)."""

    def note(self, line: str) -> None:
        self._print(line)

    def task_done(self, task: Task, result: FoldResult, line: str) -> None:
        self.running.pop((task.model.name, task.repeat, task.fold), None)
        self.done += 1
        if self.verbose:
            self._print(line)

    def task_failed(self, task: Task, line: str, details: str) -> None:
        self.running.pop((task.model.name, task.repeat, task.fold), None)
        self.failed += 1
        if self.verbose:
            self._print(line)

    def model_scored(self, model: str, scores: FoldScores) -> None:
        from ..leaderboard import rank_score  # that module imports the run machinery

        self._ranked_by[model] = rank_score(scores.scores, scores.pooled)

    def model_done(self, model: str, cv: float | None, error: str | None) -> None:
        """Print the model's line; the best so far ranked by the fold mean, as the leaderboard ranks (the best line
        had been picked by the pooled CV: another model than the table's first where the two orders differ)."""
        self._print(self.model_line(model, cv, error))
        score = self._ranked_by.pop(model, cv)
        if cv is None or score is None or not np.isfinite(score) or self.metric is None:
            return
        sign = 1 if self.metric.greater_is_better else -1
        if self.best_score is None or sign * score > sign * self.best_score:
            self.best, self.best_score = (model, cv), score

    def best_text(self) -> str:
        """The live display's best line: the fold mean it is ranked by, and the pooled CV beside it (the same number
        where no fold scores came)."""
        if self.best is None or self.metric is None:
            return ""
        (name, cv), score = self.best, self.best_score
        if score is None or score == cv:
            return f"{name}  {self.metric.name} {cv:.5f}"
        return f"{name}  {self.metric.name} {score:.5f} fold mean (CV {cv:.5f})"

    def counts(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self.done}/{self.planned} task(s) done{failed}"

    def clock(self) -> str:
        now = time.monotonic()
        text = f"elapsed {_duration(now - self.started_at)}"
        if self.deadline is not None:
            text += f", {_duration(max(0.0, self.deadline - now))} left"
        return text

    def model_line(self, model: str, cv: float | None, error: str | None) -> str:
        if error is not None:
            return f"{model:<14} FAILED: {error}"
        metric = f"{self.metric.name} " if self.metric is not None else ""
        score = NOT_WHOLE if cv is None else f"CV {metric}{cv:.5f}"
        return f"{model:<14} {score}  [{self.counts()}, {self.clock()}]"


class PlainProgress(_Tally):
    """For output that is not a terminal: notes and a line per finished or failed model, no ANSI codes; per-fold
    lines too when ``verbose``."""

    def __init__(self, stream: TextIO | None = None, *, metric: Metric | None = None, verbose: bool = False) -> None:
        super().__init__(metric, verbose)
        self.stream = stream

    def _print(self, line: str) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        stream.write(line + "\n")
        stream.flush()


class LiveProgress(_Tally):
    """A `rich` live display on a terminal, redrawn in place; finished models (and, when ``verbose``, folds) are
    printed above it and stay on the screen."""

    def __init__(self, stream: TextIO | None = None, *, metric: Metric | None = None, verbose: bool = False) -> None:
        from rich.console import Console

        super().__init__(metric, verbose)
        self.console = Console(file=stream if stream is not None else sys.stdout, highlight=False)
        self.live: Any = None

    def _print(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def start(self, planned: int, deadline: float | None = None) -> None:
        from rich.live import Live

        super().start(planned, deadline)
        self.live = Live(console=self.console, get_renderable=self._render, refresh_per_second=2, transient=True)
        self.live.start()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
            left = self.planned - self.done - self.failed  # a failed model's other folds, or an interrupted run's
            self._print(f"{self.counts()}" + (f", {left} not run" if left > 0 else "") + f", {self.clock()}")

    def _render(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold")
        grid.add_column()
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            ProgressBar(total=max(1, self.planned), completed=self.done + self.failed, width=30),
            Text(f"{self.counts()}  {self.clock()}"),
        )
        grid.add_row("fitting", bar)
        if self.best is not None and self.metric is not None:
            grid.add_row("best CV", Text(self.best_text()))
        now = [
            f"{t.model.name} fold {t.fold + 1}" + (f" r{t.repeat}" if t.repeat else "") + f" ({n}t)"
            for t, n in self.running.values()
        ]
        if now:
            grid.add_row("now", Text(", ".join(now[:6]) + (f" +{len(now) - 6}" if len(now) > 6 else "")))
        return grid


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def terminal_progress(
    stream: TextIO | None = None, *, metric: Metric | None = None, verbose: bool = False
) -> PlainProgress | LiveProgress:
    """The live display when ``stream`` (default stdout) is a terminal, plain lines otherwise."""
    out = stream if stream is not None else sys.stdout
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        return LiveProgress(out, metric=metric, verbose=verbose)
    return PlainProgress(out, metric=metric, verbose=verbose)


def as_progress(progress: RunProgress | Say | Literal["auto"] | None, *, metric: Metric | None = None) -> RunProgress:
    """What ``run(progress=...)`` takes: a :class:`RunProgress`, a callable of lines (every fold, as before),
    ``"auto"`` (:func:`terminal_progress` on stdout) or None (silent)."""
    if progress is None:
        return RunProgress()
    if isinstance(progress, RunProgress):
        if isinstance(progress, _Tally) and progress.metric is None:
            progress.metric = metric
        return progress
    if progress == "auto":
        return terminal_progress(metric=metric)
    if callable(progress):
        return LineProgress(progress)
    raise TypeError(f"progress must be a RunProgress, a callable taking a line, 'auto' or None; got {progress!r}")


# --------------------------------------------------------------------------------------------- the live CV
def model_scores(
    store: RunStore,
    folds: Folds,
    y: np.ndarray,
    metric: Metric,
    model: str,
    key: str,
    results: Sequence[FoldResult] = (),
    *,
    space: Space,
) -> FoldScores | None:
    """A model's fold scores and CV from its finished folds in the store, as :func:`kaggle_kit.runtime.runner._assemble`
    computes it (each row's validation predictions pooled over repeats in ``space``, the task's
    :func:`~kaggle_kit.runtime.pooling.pooling_space`: no default, since a live CV pooled otherwise would differ from
    the leaderboard's with repeats; scored over the rows validated at least once by
    :func:`~kaggle_kit.runtime.scoring.score_folds`: a label metric at thresholds chosen out of fold); None when a
    fold is missing or unreadable. ``results`` are fold results already in hand (the rest are read). The run
    hands these scores to the model's assembly (:class:`~kaggle_kit.runtime.executors.Outcomes`), which scores
    only a model it was not given, so that each model's OOF is scored once (0.33 s a model on 1M rows)."""
    known = {(r.repeat, r.fold): r for r in results}
    pool: FoldPool | None = None
    try:
        for r, k in folds.tasks():
            res = known.get((r, k))
            if res is None:
                path = store.fold_dir(model, key, r, k) / "result.json"
                res = FoldResult.from_json(path.read_text())
            pred = store.read_fold_array(res, "valid.npy")
            _, valid_idx = folds.train_valid(r, k)
            pool = pool or FoldPool(len(y), pred.shape[1], space)
            pool.add(pred, valid_idx)
    except (OSError, ValueError, TypeError, StoreError):
        return None
    if pool is None:
        return None
    try:
        return score_folds(pool.result(), y, folds, metric)
    except (ValueError, FloatingPointError):
        return None


# --------------------------------------------------------------------------------------------- warnings
def plain_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` for the command line: ``warning: <message>``, without the source file and line; a
    message said already by this command is not said again (Python's "once per place" forgets what it showed each
    time a library enters ``warnings.catch_warnings``: `predict` said a pipeline's dtype cast once per fold model)."""
    text = str(message)
    if text in _SHOWN:
        return
    _SHOWN.add(text)
    stream = file if file is not None else sys.stderr
    with contextlib.suppress(OSError):  # stderr closed: a warning must not end the run
        stream.write(f"warning: {text}\n")


#: the messages :func:`plain_warning` printed since :func:`install_plain_warnings` (one command)
_SHOWN: set[str] = set()


def install_plain_warnings() -> None:
    """Print warnings as ``warning: ...`` lines, each message once (the CLI does, inside
    ``warnings.catch_warnings``)."""
    _SHOWN.clear()
    warnings.showwarning = plain_warning
