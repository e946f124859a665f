"""Gather everything the report shows from a run folder (and the competition data, where a section needs it), then
write the HTML report and the Markdown summary.

Example::

    from kaggle_kit.report import build_report
    files = build_report("runs/demo-digits")
    print(files.html)            # runs/demo-digits/report/report.html: one self-contained file, opens offline
    print(files.leaderboard)     # the plain-text leaderboard of models and blends
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..blend.engine import guard_note, stored_guard
from ..blend.inputs import run_folds
from ..blend.report import tie_order
from ..blend.scoring import honest_scores
from ..blend.storage import external_sources, read_external_predictions
from ..config import BASELINE_NAME
from ..errors import KitError, allowed
from ..metrics import Metric, run_metric
from ..readers.competition import CompetitionData
from ..runtime.pseudo import pseudo_notes
from ..runtime.store import KAGGLE_WRITABLE, RunStore, atomic_write, check_writable
from .adversarial import AdversarialResult, adversarial_validation
from .blends import BlendSummary, current_blends, read_blends
from .diversity import Correlation, oof_correlation
from .entries import Entry, best_entry, format_entries, rank_entries
from .families import FamilyReport, family_report
from .history import History, SubmissionRecord, default_db
from .inputs import check_run_data, try_load_run_data
from .marks import blend_oofs, marked, matrix
from .mistakes import ErrorAnalysis, analyse_errors, pixel_images, stream_images
from .training import Curve, Importance, feature_importance, learning_curves

#: ``progress(done, total, label)``: called before each step of the report (see :class:`~.progress.ProgressBar`)
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Report:
    """Everything the report shows, computed once; the HTML and Markdown renderers only format it."""

    run_dir: Path
    meta: dict[str, Any]
    metric: Metric
    entries: tuple[Entry, ...]  # ranked, best first
    blends: tuple[BlendSummary, ...]
    correlation: Correlation | None
    curves: dict[str, list[Curve]]
    importance: dict[str, Importance]
    errors: ErrorAnalysis | None
    error_rows: pl.DataFrame | None  # the worst rows' id, target and leading features
    error_images: np.ndarray | None  # the worst rows as images, when the data are images
    adversarial: AdversarialResult | None
    submissions: tuple[SubmissionRecord, ...]  # of this competition, from the history database
    notes: tuple[str, ...] = ()  # sections left out, and why
    families: FamilyReport | None = None  # the leaderboard per model kind, the ensemble by kind, the diagnosis
    generated: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def best(self) -> Entry | None:
        return best_entry(list(self.entries), self.metric)

    @property
    def baseline(self) -> Entry | None:
        return next((e for e in self.entries if e.is_baseline), None)

    def leaderboard(self) -> str:
        return format_entries(list(self.entries), self.metric)


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path
    report: Report

    @property
    def leaderboard(self) -> str:
        return self.report.leaderboard()


def collect_report(
    run_dir: Path | str,
    *,
    data: CompetitionData | None = None,
    base_dir: Path | str | None = None,
    images: np.ndarray | None = None,
    adversarial: bool = True,
    history_db: Path | str | None = None,
    threads: int = 1,
    progress: Progress | None = None,
) -> Report:
    """Compute every section of the report for ``run_dir``.

    ``data`` is the competition data the run was trained on (error analysis and adversarial validation need it);
    when None it is loaded from the paths in the run's spec (see :func:`~.inputs.load_run_data`; ``base_dir`` is the
    config file's folder) and those sections are left out, with a note, when it cannot be found. ``images``
    (``(n_train, H, W[, 3])``) shows the worst mistakes as pictures; pixel columns ``pixel0..`` are recognised
    without it. ``history_db`` defaults to the run's ``<runs root>/history.sqlite``.
    """
    store = RunStore(run_dir)
    meta = store.read_meta()
    metric = run_metric(meta)
    notes: list[str] = []
    step = _stepper(progress)

    step("leaderboard")
    models = [store.read_summary(name) for name in store.current_models() if store.has_summary(name)]
    if (not_run := store.not_run_note()) is not None:  # `run --only`: the report had stopped at the first of them
        notes.append(not_run)
    notes.extend(f"{m.name}: {m.note}" for m in models if m.note)  # e.g. predictions clipped into the domain
    notes.extend(pseudo_notes(store, metric))  # did pseudo-labelling help: each <model>@pl<r> vs its base model
    blends, stale = current_blends(store.root, read_blends(store.root))
    if stale:
        notes.append("Blends left out, their models changed since they were made: " + "; ".join(stale))
    blends, dropped = stored_guard(blends, metric)  # as `submit --best` ranks them
    if dropped:
        notes.append(guard_note(dropped))
    ok = [m.name for m in models if m.status == "ok"]
    notes.extend(_finished_after_the_blends(store, blends, ok))
    oofs = {name: matrix(store.read_predictions(name, "oof")) for name in ok}
    blends = blend_oofs(store, blends, oofs, notes)
    imported = _imported(store, oofs)
    entries = rank_entries(
        _honest(
            # blends in the order ties are broken, as `submit --best` and the blend verdict break them (the ranking
            # is stable; they had been by name: a tie named calibrated_hill_climb where --best named hill_climb)
            marked(
                [*map(Entry.from_model, models), *imported, *map(Entry.from_blend, sorted(blends, key=tie_order))],
                store,
                blends,
                notes,
            ),
            oofs,
            store,
            metric,
            notes,
            {b.name: b.fold_thresholds for b in blends if b.fold_thresholds},
        ),
        metric,
    )

    families = None
    try:
        families = family_report(store.root)
    except KitError as exc:
        notes.append(f"The per-family view was left out: {exc}")

    step("diversity")
    correlation = oof_correlation({n: oofs[n] for n in ok if n != BASELINE_NAME})  # it predicts fold priors

    step("learning curves")
    curves = {name: c for name in ok if (c := learning_curves(store, name))}

    step("importance")
    importance = {name: imp for name in ok if (imp := feature_importance(store, name)) is not None}

    step("data")
    if data is None:
        data, why = try_load_run_data(store.root, base_dir=base_dir)
        if data is None:
            notes.append(f"Error analysis and adversarial validation need the competition data: {why}")
    else:
        check_run_data(meta, data, str(store.root))

    step("errors")
    errors = error_rows = error_images = None
    best = best_entry(entries, metric)
    if data is not None and best is not None:
        if best.name not in oofs:
            notes.append(f"Error analysis: the best entry {best.name!r} has no stored OOF predictions.")
        else:
            classes = list(data.classes) if data.classes is not None else None
            errors = analyse_errors(
                best.name,
                oofs[best.name],
                data.y,
                data.train_ids.to_numpy(),
                classes,
                metric=metric,
                multilabel=data.task == "multilabel",
            )
            rows = [m.row for m in errors.mistakes]
            if images is not None:
                error_images = images[rows]
            elif data.images is not None:  # streamed [data.images]: the rows' files
                error_images = stream_images(data.images, rows)
            else:
                error_images = pixel_images(data.train, rows)
            error_rows = _error_rows(data, rows, importance.get(best.name))

    step("adversarial")
    adv = None
    if adversarial and data is not None:
        if data.test is None:
            notes.append("Adversarial validation: the competition has no test rows.")
        else:
            try:
                adv = adversarial_validation(
                    data.train, data.test, data.features, categorical=data.categorical, threads=threads
                )
            except KitError as exc:
                notes.append(f"Adversarial validation was skipped: {exc}")

    step("history")
    submissions: tuple[SubmissionRecord, ...] = ()
    db = Path(history_db) if history_db else default_db(store.root)
    if db.is_file():
        competition = str(meta.get("name") or store.root.name)
        with History(db) as h:
            recorded, metrics = h.submissions(competition), h.run_metrics()
        # a CV is comparable only in its own metric: another run of the competition scored by another one (rmse, then
        # mae) had put its CVs on the same CV-vs-LB axes and into one rank correlation
        submissions = tuple(s for s in recorded if metrics.get(s.run_id) == meta["metric"])
        others = sorted({metrics.get(s.run_id, "?") for s in recorded} - {meta["metric"]})
        if others:
            notes.append(
                f"CV vs leaderboard: {len(recorded) - len(submissions)} submission(s) of {competition!r} come from "
                f"runs scored by {', '.join(others)}, not {meta['metric']}: left out, their CVs are not comparable"
            )

    return Report(
        run_dir=store.root,
        meta=meta,
        metric=metric,
        entries=tuple(entries),
        blends=tuple(blends),
        correlation=correlation,
        curves=curves,
        importance=importance,
        errors=errors,
        error_rows=error_rows,
        error_images=error_images,
        adversarial=adv,
        submissions=submissions,
        notes=tuple(notes),
        families=families,
    )


def _honest(
    entries: list[Entry],
    oofs: dict[str, np.ndarray],
    store: RunStore,
    metric: Metric,
    notes: list[str],
    thresholds: dict[str, dict[tuple[int, int], float]] | None = None,
) -> list[Entry]:
    """The entries with their fold scores (what they are ranked by) and all-rows scores recomputed from their stored
    predictions by the function ``kaggle-kit blend`` scores models and blends with, on the folds all of them were
    scored on: models and blends ranked on the same basis, also with repeated folds."""
    try:
        y, folds = store.read_target(), run_folds(store)
    except KitError as exc:
        notes.append(f"Models and blends are ranked by their recorded scores: {exc}")
        return entries
    # a blend's folds are scored at the thresholds its nested CV chose (a binary label metric), as `blend` scores them
    honest = honest_scores({e.name: oofs[e.name] for e in entries if e.name in oofs}, y, folds, metric, thresholds)
    out = []
    for e in entries:
        h = honest.get(e.name)
        if h is None:
            out.append(e)
        elif e.is_blend:
            out.append(replace(e, fold_scores=h.scores, nested_cv=h.pooled))
        else:
            out.append(replace(e, fold_scores=h.scores, cv=h.pooled))
    return out


def build_report(
    run_dir: Path | str,
    *,
    out_dir: Path | str | None = None,
    data: CompetitionData | None = None,
    base_dir: Path | str | None = None,
    images: np.ndarray | None = None,
    adversarial: bool = True,
    history_db: Path | str | None = None,
    threads: int = 1,
    progress: Progress | None = None,
) -> ReportFiles:
    """Write ``report.html`` (self-contained: plots inlined, no network) and ``report.md`` into ``out_dir``
    (default ``RUN_DIR/report/``). Arguments as :func:`collect_report`."""
    from .html import render_html
    from .markdown import render_markdown

    store = RunStore(run_dir)
    store.read_meta()  # not a run folder: that error, before a report folder is made in it
    folder = Path(out_dir) if out_dir else store.root / "report"
    check_writable(
        folder,
        "the report",
        f"write it elsewhere: --out DIR (out_dir= in Python; {KAGGLE_WRITABLE})",
    )
    report = collect_report(
        run_dir,
        data=data,
        base_dir=base_dir,
        images=images,
        adversarial=adversarial,
        history_db=history_db,
        threads=threads,
        progress=progress,
    )
    step = _stepper(progress)
    step("render")
    html_path, md_path = folder / "report.html", folder / "report.md"
    atomic_write(html_path, render_html(report).encode())
    atomic_write(md_path, render_markdown(report).encode())
    step("done")
    return ReportFiles(html_path, md_path, report)


_STEPS = (
    "leaderboard",
    "diversity",
    "learning curves",
    "importance",
    "data",
    "errors",
    "adversarial",
    "history",
    "render",
    "done",
)


def _stepper(progress: Progress | None) -> Callable[[str], None]:
    def step(label: str) -> None:
        if progress is not None:
            progress(_STEPS.index(label), len(_STEPS) - 1, label)

    return step


def _finished_after_the_blends(store: RunStore, blends: list[BlendSummary], ok: list[str]) -> list[str]:
    """A note naming the models that finished after every stored blend was made (a model added to the config and run
    since): the blends are not stale, their models are unchanged, but none of them could weigh it, and the best of
    them may no longer be the best blend the run can make. A blend records what the run could blend when it was
    made (:attr:`~kaggle_kit.blend.result.BlendResult.run_models`); file times cannot tell (a resumed run rewrites
    every model's summary, a copy of the folder sets new times). Blends that record nothing (older) say nothing."""
    if not blends or not all(b.run_models for b in blends):
        return []
    keys = store.current_models()
    later = [name for name in ok if name != BASELINE_NAME and all(b.run_models.get(name) != keys[name] for b in blends)]
    if not later:
        return []
    return [
        f"{allowed(later)} finished after the stored blends were made, and none of them weighs it: blend again to "
        f"weigh it (`kaggle-kit blend {store.root} --method auto`)"
    ]


def _imported(store: RunStore, oofs: dict[str, np.ndarray]) -> list[Entry]:
    """A row for each set of imported predictions (``kaggle-kit import-predictions``), scored from its stored OOF as a
    model is (:func:`_honest`), its OOF added to ``oofs``: they rank beside the models in ``kaggle-kit blend`` and are
    candidates of ``submit --best``, and the report had shown blends of them but never them."""
    entries = []
    for name in external_sources(store.root):
        frame = read_external_predictions(store.root, name, "oof")
        if frame is None or name in oofs:  # a name clash is refused by `blend`, which says how to resolve it
            continue
        oofs[name] = matrix(frame)
        entries.append(Entry(name=name, kind="external", cv=math.nan, fold_scores=()))
    return entries


def _error_rows(
    data: CompetitionData, rows: list[int], importance: Importance | None, n_features: int = 8
) -> pl.DataFrame | None:
    """The worst rows as a table: id, target and the features that matter most to the model (else the first)."""
    ranked = [f for f in importance.features if f in data.features] if importance else []
    features = (ranked or list(data.features))[:n_features]
    keep = [c for c in (data.id_column, *(data.targets or (data.target_column,)), *features) if c]
    return data.train.select(keep)[np.asarray(rows, dtype=np.int64)] if rows else None


def cv_lb_points(report: Report) -> list[tuple[str, float, float]]:
    """(label, CV, public LB) of the competition's submissions that have both."""
    return [
        (f"#{s.id} {s.source}", float(s.cv), float(s.public_lb))
        for s in report.submissions
        if s.cv is not None and s.public_lb is not None and not math.isnan(s.cv)
    ]


def cv_lb_agreement(points: list[tuple[str, float, float]]) -> float | None:
    """Spearman rank correlation of CV and public LB over the submissions (needs three); 1 = the CV orders the
    submissions as the leaderboard does."""
    if len(points) < 3:
        return None
    from scipy.stats import spearmanr

    cv, lb = np.array([p[1] for p in points]), np.array([p[2] for p in points])
    if np.ptp(cv) == 0 or np.ptp(lb) == 0:
        return None
    return float(spearmanr(cv, lb).statistic)
