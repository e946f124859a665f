"""The search seen per family: each model kind's leaderboard by fold mean (best, median, spread), the fit time it
took, the selected ensemble's weights grouped by family, and the bias-variance diagnosis in words.

A family is a model kind: a search's configs (``lightgbm_c007``), their seed bags (``lightgbm_c007_s43``) and the
configs a time limit shortened all belong to the kind they run as. The baseline is left out (it is on the
leaderboard, and it sets the scale below). Models are scored as every leaderboard of the kit ranks them: by the mean
of their fold scores (:func:`kaggle_kit.leaderboard.rank_score`).

**The diagnosis** compares each family's best model (by fold mean) on its own training rows with its validation rows:
every fold records the metric on a seeded subsample of its training rows (``FoldResult.train_score``, at most
:data:`kaggle_kit.runtime.runner.TRAIN_SCORE_ROWS` rows) beside its validation score. ``train`` and ``valid`` are the
means over the folds that recorded both; the ``gap`` is ``train - valid`` turned so that a positive gap means the
training rows score better, whatever the metric's direction. Gaps are judged on the metric's scale: as a share of the
*headroom*, the distance from the baseline's fold mean to a perfect score (1 for a score where higher is better:
accuracy, AUC, F1, QWK, R2; 0 for a loss: log loss, RMSE, RMSLE, MAE). Without a baseline (or a headroom of 0) the
distance from the family's own validation score to a perfect one is used.

=====================  ========================================================================================
``overfits``           gap >= :data:`OVERFIT` (10 %) of the headroom: high variance. More regularisation, fewer
                       rounds / epochs, smaller trees / nets, more data
``slightly overfits``  :data:`CLOSE` (5 %) <= gap < 10 % of the headroom
``underfits``          gap < 5 % of the headroom (train ~ valid) and the family's best fold mean is behind the best
                       family's by at least :data:`BEHIND` (5 %) of the headroom: high bias. More capacity: more
                       rounds, deeper trees / wider nets, less regularisation, better features
``fits well``          gap < 5 % and not behind: neither clearly
``not measured``       no fold of the model recorded a training score (folds fitted before the kit recorded them)
=====================  ========================================================================================

Example::

    from kaggle_kit.report import family_report
    print(family_report("runs/demo-breast-cancer").text())
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..blend.storage import external_sources
from ..config import BASELINE_NAME
from ..leaderboard import direction, rank, rank_score, score_text
from ..metrics import Metric, run_metric
from ..runtime.store import FoldResult, ModelResult, RunStore
from .blends import BlendSummary, current_blends, read_blends
from .training import fold_dirs

OVERFIT = 0.10  #: a gap of at least this share of the headroom: overfits
CLOSE = 0.05  #: a gap below this share of the headroom: train ~ valid
BEHIND = 0.05  #: behind the best family's fold mean by this share of the headroom (with train ~ valid): underfits
VERDICTS = ("overfits", "slightly overfits", "underfits", "fits well", "not measured")


@dataclass(frozen=True)
class Diagnosis:
    """The bias-variance verdict of one family (one of :data:`VERDICTS`) and the sentence that says it."""

    verdict: str
    text: str


@dataclass(frozen=True)
class FamilyRow:
    """One model kind of a run: its finished models' fold-mean spread, the fit time it took, and its diagnosis.

    ``best`` .. ``iqr`` are over the fold means of its models that finished every fold (``n_models``); ``n_unfinished``
    counts its failed and incomplete ones. ``fit_seconds`` sums the fit times of every finished fold of all of them;
    ``share`` is that over the run's total (the baseline left out). ``train``, ``valid`` and ``gap`` belong to the
    best model: means over its folds that recorded a training score (``train_folds`` of them).
    """

    family: str
    n_models: int
    n_unfinished: int
    best_model: str
    best: float
    median: float
    q25: float
    q75: float
    worst: float
    fit_seconds: float
    share: float
    train: float | None
    valid: float | None
    gap: float | None
    train_folds: int
    diagnosis: Diagnosis

    @property
    def iqr(self) -> float:
        return abs(self.q75 - self.q25)


@dataclass(frozen=True)
class EnsembleFamily:
    """A family's part of the selected ensemble: its total weight and its models' weights, largest first."""

    family: str
    weight: float
    models: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Ensemble:
    """The selected ensemble (a stored blend with weights: ensemble selection when there is one) by family."""

    name: str
    method: str
    nested_cv: float
    mean: float
    families: tuple[EnsembleFamily, ...]


@dataclass(frozen=True)
class FamilyReport:
    """The per-family view of a run: what :func:`family_report` computes, :meth:`text` prints."""

    metric: Metric
    rows: tuple[FamilyRow, ...]  # best family first
    baseline: float | None
    headroom: float
    total_fit_seconds: float
    ensemble: Ensemble | None
    notes: tuple[str, ...] = ()

    def row(self, family: str) -> FamilyRow:
        return next(r for r in self.rows if r.family == family)

    def text(self) -> str:
        return format_families(self)


# ---------------------------------------------------------------------------------------------- the diagnosis
def perfect_score(metric: Metric) -> float:
    """A perfect value of the metric: 1 for a score where higher is better, 0 for a loss (see the module doc)."""
    return 1.0 if metric.greater_is_better else 0.0


def headroom(metric: Metric, baseline: float | None, fallback: float | None = None) -> float:
    """The distance from the baseline's score to a perfect score: the scale gaps are judged on. Without a baseline (or a
    distance of 0) the distance from ``fallback`` to a perfect score, else 1."""
    for value in (baseline, fallback):
        if value is not None and math.isfinite(value):
            distance = abs(perfect_score(metric) - value)
            if distance > 0:
                return distance
    return 1.0


def better_by(metric: Metric, a: float, b: float) -> float:
    """How much better ``a`` is than ``b`` in the metric's direction (negative: worse)."""
    return a - b if metric.greater_is_better else b - a


def diagnose(
    metric: Metric,
    *,
    train: float | None,
    valid: float | None,
    cv: float,
    best_cv: float,
    best_family: str,
    scale: float,
) -> Diagnosis:
    """The bias-variance verdict from a family's ``train`` and ``valid`` fold means, its ``cv`` against the best
    family's ``best_cv``, on the ``scale`` of :func:`headroom` (thresholds: :data:`OVERFIT`, :data:`CLOSE`,
    :data:`BEHIND`)."""
    if train is None or valid is None or not (math.isfinite(train) and math.isfinite(valid)):
        return Diagnosis(
            "not measured",
            "not measured: its folds recorded no score on their training rows (they were fitted before the kit "
            "recorded one); a new run folder measures it",
        )
    gap = better_by(metric, train, valid)
    behind = better_by(metric, best_cv, cv) if math.isfinite(best_cv) and math.isfinite(cv) else 0.0
    share = gap / scale
    said = (
        f"train {score_text(train, 4)} vs valid {score_text(valid, 4)} (gap {score_text(gap, 4, signed=True)}, "
        f"{100 * share:.0f}% of the headroom)"
    )
    if share >= OVERFIT:
        return Diagnosis(
            "overfits",
            f"overfits: {said} - more regularisation, fewer rounds / epochs, smaller trees or nets, more data",
        )
    if share >= CLOSE:
        return Diagnosis("slightly overfits", f"slightly overfits: {said} - a little more regularisation may help")
    if behind / scale >= BEHIND:
        return Diagnosis(
            "underfits",
            f"underfits: {said}, and its fold mean is {score_text(behind, 4)} behind the best family ({best_family}) - "
            "more capacity: more rounds, deeper trees or wider nets, less regularisation, better features",
        )
    return Diagnosis("fits well", f"fits well: {said}; neither clearly over- nor underfitting")


# ---------------------------------------------------------------------------------------------- from the store
def train_valid(folds: list[FoldResult]) -> tuple[float | None, float | None, int]:
    """Means over the folds that recorded a training score: (train, valid, how many folds)."""
    both = [f for f in folds if f.train_score is not None and math.isfinite(f.train_score)]
    if not both:
        return None, None, 0
    return (
        float(np.mean([f.train_score for f in both])),
        float(np.mean([f.score for f in both])),
        len(both),
    )


def _score(s: ModelResult) -> float:
    """What a family's models are ranked and summarised by: the leaderboard's :func:`~kaggle_kit.leaderboard.rank_score`
    (the mean of the fold scores)."""
    return rank_score(s.fold_scores, s.cv)


def family_report(run_dir: Path | str) -> FamilyReport:
    """The per-family view of the run folder ``run_dir`` (see the module doc), read from its store alone."""
    store = RunStore(run_dir)
    meta = store.read_meta()
    metric = run_metric(meta)
    summaries = [store.read_summary(name) for name in store.current_models() if store.has_summary(name)]
    # scored as every leaderboard ranks (rank_score: the fold mean); by pooled CV, a family's "best model" had been
    # another than the leaderboard's best
    baseline = next((_score(s) for s in summaries if s.name == BASELINE_NAME and s.status == "ok"), None)
    models = [s for s in summaries if s.name != BASELINE_NAME]
    folds = {s.name: [res for res, _ in fold_dirs(store, s.name, s.key)] for s in models}

    by_family: dict[str, list[ModelResult]] = {}
    for s in models:
        by_family.setdefault(s.kind, []).append(s)
    seconds = {fam: sum(f.fit_seconds for s in group for f in folds[s.name]) for fam, group in by_family.items()}
    total = sum(seconds.values())

    ranked: list[tuple[str, list[ModelResult]]] = []
    for fam, group in by_family.items():
        ok = rank([s for s in group if s.status == "ok" and math.isfinite(_score(s))], metric)
        ranked.append((fam, ok))
    scored = [(fam, ok) for fam, ok in ranked if ok]
    scored.sort(key=lambda t: -_score(t[1][0]) if metric.greater_is_better else _score(t[1][0]))
    best_family, best_cv = (scored[0][0], _score(scored[0][1][0])) if scored else ("", math.nan)
    scale = headroom(metric, baseline, best_cv)

    rows = []
    for fam, ok in scored:
        cvs = np.array([_score(s) for s in ok], dtype=np.float64)
        top = ok[0]
        train, valid, n_train = train_valid(folds[top.name])
        q25, q75 = np.percentile(cvs, [25, 75])
        rows.append(
            FamilyRow(
                family=fam,
                n_models=len(ok),
                n_unfinished=len(by_family[fam]) - len(ok),
                best_model=top.name,
                best=float(_score(top)),
                median=float(np.median(cvs)),
                q25=float(q25),
                q75=float(q75),
                worst=float(_score(ok[-1])),
                fit_seconds=float(seconds[fam]),
                share=seconds[fam] / total if total > 0 else math.nan,
                train=train,
                valid=valid,
                gap=better_by(metric, train, valid) if train is not None and valid is not None else None,
                train_folds=n_train,
                diagnosis=diagnose(
                    metric,
                    train=train,
                    valid=valid,
                    cv=_score(top),
                    best_cv=best_cv,
                    best_family=best_family,
                    scale=scale,
                ),
            )
        )
    notes = [
        f"{fam}: none of its {len(by_family[fam])} model(s) finished every fold ({seconds[fam]:.1f} s of fitting)"
        for fam, ok in ranked
        if not ok
    ]
    kinds = {s.name: s.kind for s in summaries}
    kinds.update({name: "external" for name in external_sources(store.root) if name not in kinds})  # imported
    fresh, stale = current_blends(store.root, read_blends(store.root))
    ensemble, why = _ensemble(fresh, kinds, metric)
    if stale and not fresh:  # not "no blend stored yet": the report names them, and the command that remakes them
        why = "No stored blend is made from the current versions of its models: blend again."
    if why:
        notes.append(why)
    return FamilyReport(metric, tuple(rows), baseline, scale, total, ensemble, tuple(notes))


def _ensemble(blends: list[BlendSummary], kinds: dict[str, str], metric: Metric) -> tuple[Ensemble | None, str]:
    """The selected ensemble: the best (by nested-CV fold mean) stored ensemble selection (``hill_climb``), else the
    best stored blend with weights; and a note on what else the run holds."""
    weighted = [b for b in blends if b.weights is not None]
    pool = [b for b in weighted if b.method == "hill_climb"] or weighted
    if not pool:
        if blends:
            return None, "No stored blend has weights (level-2 models only)."
        return (
            None,
            "No blend stored yet: `kaggle-kit blend RUN_DIR --method auto` selects an ensemble over every model.",
        )
    pick = pool[0]
    for b in pool[1:]:
        if metric.better(b.mean, pick.mean):
            pick = b
    groups: dict[str, list[tuple[str, float]]] = {}
    assert pick.weights is not None
    for model, weight in zip(pick.models, pick.weights, strict=True):
        if weight > 0:
            groups.setdefault(kinds.get(model, "other"), []).append((model, float(weight)))
    families = [
        EnsembleFamily(fam, float(sum(w for _, w in members)), tuple(sorted(members, key=lambda t: -t[1])))
        for fam, members in groups.items()
    ]
    families.sort(key=lambda f: -f.weight)
    note = ""
    best_any = pick
    for b in blends:
        if metric.better(b.mean, best_any.mean):
            best_any = b
    if best_any is not pick:
        note = (
            f"The best stored blend by nested CV is {best_any.name!r} ({best_any.method}, "
            f"{score_text(best_any.mean)}); "
            f"the weights shown are those of {pick.name!r} ({pick.method})."
        )
    return Ensemble(pick.name, pick.method, pick.nested_cv, pick.mean, tuple(families)), note


# ---------------------------------------------------------------------------------------------- the text
def format_families(report: FamilyReport) -> str:
    """The per-family table, the diagnosis per family, and the selected ensemble's weights by family."""
    m = report.metric
    if not report.rows:
        return "\n".join(["Families: no model of the run finished every fold.", *report.notes])
    headers = ["family", "models", "best", "median", "IQR", "worst", "fit s", "share", "train", "valid", "gap"]
    cells = []
    for r in report.rows:
        models = str(r.n_models) + (f" (+{r.n_unfinished})" if r.n_unfinished else "")
        cells.append(
            [
                r.family,
                models,
                score_text(r.best),
                score_text(r.median),
                score_text(r.iqr),
                score_text(r.worst),
                f"{r.fit_seconds:.1f}",
                "-" if math.isnan(r.share) else f"{100 * r.share:.0f}%",
                "-" if r.train is None else score_text(r.train, 4),
                "-" if r.valid is None else score_text(r.valid, 4),
                "-" if r.gap is None else score_text(r.gap, 4, signed=True),
            ]
        )
    widths = [max(len(h), *(len(c[j]) for c in cells)) for j, h in enumerate(headers)]

    def line(texts: list[str]) -> str:
        return "  ".join(
            f"{t:<{w}}" if j == 0 else f"{t:>{w}}" for j, (t, w) in enumerate(zip(texts, widths, strict=True))
        )

    base = "-" if report.baseline is None else score_text(report.baseline)
    lines = [
        f"Families (fold mean {m.name}, {direction(m)}; best, median, IQR and worst over each kind's finished models; "
        f"fit s: all its folds, {report.total_fit_seconds:.1f} s in all)",
        "train / valid / gap: the best model's fold means on its own training rows vs its validation rows "
        f"(gap > 0: training rows score better), judged on the headroom {score_text(report.headroom, 4)}: from the "
        f"baseline's {base} to a perfect {perfect_score(m):g}",
        line(headers),
        "-" * len(line(headers)),
        *(line(c) for c in cells),
        "",
        "Diagnosis (bias-variance, per family's best model):",
        *(f"  {r.family} ({r.best_model}): {r.diagnosis.text}" for r in report.rows),
    ]
    e = report.ensemble
    if e is not None:
        lines += [
            "",
            f"Ensemble weights of {e.name} ({e.method}; nested CV {score_text(e.mean)}, fold mean; all rows "
            f"{score_text(e.nested_cv)}), by family:",
        ]
        for f in e.families:
            members = ", ".join(f"{n} {w:.3f}" for n, w in f.models)
            lines.append(f"  {f.family:<14} {f.weight:.3f}  ({members})")
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)
