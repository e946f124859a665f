"""The CV leaderboard: every model of a run, best first, with the baseline row so "beats the baseline" is visible.

It also holds the one plain-text table every leaderboard of the kit is printed with (:func:`format_table`): the
models of a run (:func:`format_leaderboard`, what ``kaggle-kit run`` prints), models and blends together
(:func:`kaggle_kit.report.format_entries`, ``kaggle-kit report``) and blends beside the models they combine
(:func:`kaggle_kit.blend.format_blend_leaderboard`, ``kaggle-kit blend``). Each caller turns its results into
:class:`TableRow` values and picks its columns; ranking, alignment, missing values and failed rows are done here
once, and columns widen to fit their values (an RMSE in the thousands stays aligned).
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from .metrics import Metric, run_metric
from .runtime.store import ModelResult, RunStore

T = TypeVar("T")

#: fold scores shown on a row before the rest are elided
MAX_FOLDS_SHOWN = 10


class Leaderboard(list[ModelResult]):
    """The rows of :func:`leaderboard`, a list that prints as the table (``print(...)``, or a notebook cell ending
    in it) rather than as every field of every row."""

    def __init__(
        self,
        rows: Iterable[ModelResult],
        metric: Metric,
        incomplete: Sequence[str] = (),
        not_run: str | None = None,
    ) -> None:
        super().__init__(rows)
        self.metric = metric
        self.incomplete = tuple(incomplete)  # configs a time limit cut short: not ranked, but named
        self.not_run = not_run  # RunStore.not_run_note: the config's models no command has run yet

    def __str__(self) -> str:
        table = format_leaderboard(self, self.metric)
        if self.incomplete:  # as `kaggle-kit run` prints it: `kaggle-kit leaderboard` had left them out unsaid
            table += f"\nincomplete (time limit, not ranked or blended): {', '.join(self.incomplete)}"
        if self.not_run:  # after `run --only`: the rest had been left out unsaid
            table += f"\nnote: {self.not_run}"
        return table

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def leaderboard(run_dir: Path | str) -> Leaderboard:
    """The current models' results in a run folder, best first by :func:`rank_score` (the mean of the fold scores;
    failed models last). Configs a time limit left without all their folds (status ``"incomplete"``) are not
    ranked; models the config lists that no command has run yet (``run --only``) are named below the table."""
    store = RunStore(run_dir)
    meta = store.read_meta()
    metric = run_metric(meta)
    rows = [store.read_summary(name) for name in store.current_models() if store.has_summary(name)]
    incomplete = [r.name for r in rows if r.status == "incomplete"]
    ranked = rank([r for r in rows if r.status != "incomplete"], metric)
    return Leaderboard(ranked, metric, incomplete, store.not_run_note())


def rank_by(items: Iterable[T], metric: Metric, score: Callable[[T], float], ok: Callable[[T], bool]) -> list[T]:
    """``items`` best first by ``score`` in the metric's direction; items not ``ok`` or scored NaN last, in their
    original order (the sort is stable)."""

    def key(item: T) -> tuple[int, float]:
        value = score(item)
        if not ok(item) or math.isnan(value):
            return (1, 0.0)
        return (0, -value if metric.greater_is_better else value)

    return sorted(items, key=key)


def rank_score(fold_scores: Sequence[float], cv: float) -> float:
    """The number every leaderboard of the kit ranks a row by: the mean of its fold scores
    (:attr:`~kaggle_kit.runtime.scoring.FoldScores.mean`, a blend's nested-CV ones), ``cv`` (every held-out row scored
    at once) only for a row without fold scores. ``kaggle-kit run`` and ``kaggle-kit leaderboard`` had ranked models
    by ``cv`` while the report, ``blend``, ``submit --best`` and the history ranked by the fold mean: two 'best'
    models for one run wherever the two orders differ."""
    return math.fsum(fold_scores) / len(fold_scores) if fold_scores else cv


def rank(rows: list[ModelResult] | tuple[ModelResult, ...], metric: Metric) -> list[ModelResult]:
    """Models best first by :func:`rank_score` (fold mean); failed models last."""
    return rank_by(rows, metric, lambda r: rank_score(r.fold_scores, r.cv), lambda r: r.status == "ok")


# ---------------------------------------------------------------------------------------------- the one table
@dataclass(frozen=True)
class TableRow:
    """One row of a leaderboard table: a model or a blend, with whichever numbers its table shows.

    ``score`` is what the row is ranked by (a model's CV, a blend's nested CV, or a mean of fold scores); a value
    left ``None`` (or NaN) prints as ``-``. A ``failed`` row prints its name, kind, ``FAILED`` and ``error``.
    """

    name: str
    kind: str
    score: float
    cv: float | None = None
    nested_cv: float | None = None
    mean: float | None = None
    std: float | None = None
    in_sample: float | None = None
    gap: float | None = None
    rounds: float | None = None
    fit_seconds: float | None = None
    fold_scores: tuple[float, ...] = ()
    note: str = ""  # free text at the end of the row, e.g. a blend's weights
    failed: bool = False
    error: str | None = None
    status: str = "failed"  # what a failed row prints, upper-cased: "failed", or "incomplete" (a time limit)


@dataclass(frozen=True)
class Column:
    """A column of :func:`format_table`: its header, the text of a row's cell, alignment and minimum width.

    ``label`` columns (name, kind) are the ones a failed row still fills; a ``last`` column is free text, never
    padded. ``gap`` is the number of spaces before the column.
    """

    header: str
    cell: Callable[[TableRow], str]
    align: Literal["<", ">"] = ">"
    width: int = 0
    gap: int = 1
    label: bool = False
    last: bool = False


#: from here up, a score is written without decimals (1e12 took 19 characters of spurious decimals); in scientific
#: notation it had lost its digits from the sixth on: two MSEs of 1234567890 and 1234512345 read 1.2346e+09, 1.2345e+09
LARGE = 1e9
#: from here up, scientific notation: a float holds no more than about 16 significant digits
HUGE = 1e15


def score_text(value: float, digits: int = 5, *, signed: bool = False) -> str:
    """A score (or a difference of scores) with ``digits`` decimals, in scientific notation with as many significant
    digits below ``10**(1 - digits)`` (an MSE of 1e-9 read ``0.00000`` for every model, ranked in an order the table
    could not show) and from :data:`HUGE` up; from :data:`LARGE` up without decimals (every digit of the integer part
    kept, as fixed decimals kept them). Zero and NaN stay fixed. ``signed``: a ``+`` before a positive value (a
    gap)."""
    v = float(value) + 0.0  # -0.0 (a mean blend's gap, a diagnosis' train - valid) had read -0.00000
    sign = "+" if signed and not math.isnan(v) else ""  # "+nan" is no gap
    if v != 0 and math.isfinite(v) and not 10.0 ** (1 - digits) <= abs(v) < HUGE:
        return format(v, f"{sign}.{digits - 1}e")
    if math.isfinite(v) and abs(v) >= LARGE:
        return format(v, f"{sign}.0f")
    return format(v, f"{sign}.{digits}f")


#: the ``fmt`` of a signed difference of scores (a gap) for :func:`number`: ``+0.01234``, ``+1.2340e-09``
SIGNED = "+score"


def number(value: float | None, fmt: str | None = None) -> str:
    """``value`` formatted (a score by :func:`score_text` when ``fmt`` is None, a signed one when it is
    :data:`SIGNED`), or ``-`` where there is none (None or NaN)."""
    if value is None or math.isnan(value):
        return "-"
    if fmt is None or fmt == SIGNED:
        return score_text(value, signed=fmt == SIGNED)
    return format(value, fmt)


def name_column(header: str = "name", width: int = 16) -> Column:
    return Column(header, lambda r: r.name, "<", width, gap=2, label=True)


def kind_column(header: str = "kind", width: int = 9) -> Column:
    return Column(header, lambda r: r.kind, "<", width, label=True)


def value_column(
    header: str, value: Callable[[TableRow], float | None], fmt: str | None = None, width: int = 10, gap: int = 1
) -> Column:
    return Column(header, lambda r: number(value(r), fmt), ">", width, gap)


def mean_std_column(header: str = "mean +- std", width: int = 19, gap: int = 1) -> Column:
    def cell(r: TableRow) -> str:
        return "-" if r.mean is None or math.isnan(r.mean) else f"{score_text(r.mean):>10} +- {number(r.std)}"

    return Column(header, cell, ">", width, gap)


def folds_column(header: str = "folds", gap: int = 2) -> Column:
    def cell(r: TableRow) -> str:
        shown = " ".join(score_text(s, 4) for s in r.fold_scores[:MAX_FOLDS_SHOWN])
        return shown + (" ..." if len(r.fold_scores) > MAX_FOLDS_SHOWN else "")

    return Column(header, cell, "<", gap=gap, last=True)


def note_column(header: str, gap: int = 2) -> Column:
    return Column(header, lambda r: r.note, "<", gap=gap, last=True)


def format_table(
    rows: Sequence[TableRow], columns: Sequence[Column], metric: Metric, title: Sequence[str], *, ranked: bool = True
) -> str:
    """The leaderboard as plain text: ``title`` lines, a header, a rule, then one numbered line per row, best first
    by ``score`` in the metric's direction (failed and unscored rows last) unless ``ranked`` is false."""
    if ranked:
        rows = rank_by(rows, metric, lambda r: r.score, lambda r: not r.failed)
    cells = [[col.cell(r) for col in columns] for r in rows]
    pairs = list(zip(cells, rows, strict=True))
    widths = [  # a failed row prints only its label cells
        0 if col.last else max(col.width, len(col.header), *(len(c[j]) for c, r in pairs if col.label or not r.failed))
        for j, col in enumerate(columns)
    ]

    def line(texts: Sequence[str], cols: Sequence[Column]) -> str:
        out = ""
        for text, col, width in zip(texts, cols, widths, strict=False):  # cols may be a prefix
            out += " " * col.gap + (text if col.last else f"{text:{col.align}{width}}")
        return out

    header = f"{'#':>2}" + line([c.header for c in columns], columns)
    lines = [*title, header, "-" * len(header)]
    n_labels = next((j for j, c in enumerate(columns) if not c.label), len(columns))
    for i, (r, texts) in enumerate(zip(rows, cells, strict=True), 1):
        if r.failed:
            labels = line(texts[:n_labels], columns[:n_labels])
            word = r.status.upper()  # an incomplete model had read FAILED  incomplete: time limit (...)
            status = f"{word:>{widths[n_labels]}}" if n_labels < len(columns) else word
            lines.append(f"{i:>2}{labels} {status}  {(r.error or '').removeprefix(f'{r.status}: ')}".rstrip())
        else:
            lines.append(f"{i:>2}{line(texts, columns)}".rstrip())
    return "\n".join(lines)


def direction(metric: Metric) -> str:
    return "higher is better" if metric.greater_is_better else "lower is better"


# ---------------------------------------------------------------------------------------------- models of a run
def model_row(r: ModelResult) -> TableRow:
    return TableRow(
        name=r.name,
        kind=r.kind,
        score=rank_score(r.fold_scores, r.cv),
        cv=r.cv,
        mean=r.mean,
        std=r.std,
        rounds=r.best_iteration,
        fit_seconds=r.fit_seconds,
        fold_scores=tuple(r.fold_scores),
        failed=r.status != "ok",
        error=r.error,
        status=r.status,
    )


def format_leaderboard(rows: list[ModelResult] | tuple[ModelResult, ...], metric: Metric) -> str:
    """A plain-text table for the terminal, ranked by the mean of the fold scores (:func:`rank_score`): CV over all OOF
    rows, mean +- std over folds, each fold, time."""
    columns = [
        name_column("model", 16),
        kind_column("kind", 9),
        value_column(f"CV {metric.name}", lambda r: r.cv, width=14),
        mean_std_column(),
        value_column("rounds", lambda r: r.rounds, ".0f", width=7, gap=2),
        value_column("fit s", lambda r: r.fit_seconds, ".1f", width=7),
        folds_column(),
    ]
    title = [f"CV leaderboard ({metric.name}, {direction(metric)}; ranked by the fold mean)"]
    notes = [f"note: {r.name}: {r.note}" for r in rows if r.note]
    return "\n".join([format_table([model_row(r) for r in rows], columns, metric, title), *notes])


class _CallableModule(types.ModuleType):
    """Importing this module (``kaggle-kit run`` does, to print its table) sets the package's attribute
    ``kaggle_kit.leaderboard`` to the module, in place of the function the package exports under that name: calling
    the module calls :func:`leaderboard`, so ``kaggle_kit.leaderboard(run_dir)`` works before and after a run in one
    process (a notebook's), as ``kaggle_kit.predict`` does."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return leaderboard(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
