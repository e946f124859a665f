"""The blend leaderboard: single models and blends side by side on honest scores, the optimism gap, the weights,
the wide-and-deep groups, and a plain verdict on whether blending beat the best single model (and why not)."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import allowed
from ..leaderboard import (
    SIGNED,
    TableRow,
    direction,
    format_table,
    kind_column,
    mean_std_column,
    name_column,
    note_column,
    score_text,
    value_column,
)
from ..metrics import Metric, get_metric
from ..runtime.scoring import FoldScores
from ..runtime.store import ModelResult
from .registry import BLENDERS
from .result import BlendResult

_CORRELATED = 0.97  # mean pairwise OOF correlation above which models rarely add to each other
_DOMINANT = 0.9  # a weight above which one model is the blend


@dataclass(frozen=True)
class BlendReport:
    """A set of blends of one run's models, with what is needed to judge them.

    Models and blends are compared like for like, on the mean of their per-fold scores over the folds nested CV
    scored, computed by one function (:func:`~.scoring.score_folds`) from a model's OOF and a blend's nested OOF
    alike (``model_folds``), so that a blend of one model scores exactly that model, also with repeated folds
    (``tasks``: the run's ``(repeat, fold)`` pairs). ``dropped`` lists each stacker the stacked-overfitting guard
    dropped, with the selection it failed to beat. ``groups``
    (name -> models) and ``group_blends`` (group name, and the groups' names joined by ``+``, -> the blend of those
    models) give the wide-and-deep view; ``correlation`` is the Pearson correlation of the models' OOF predictions;
    ``train_seconds`` is the time the blended models took to fit, ``blend_seconds`` the time these blends took.
    """

    metric: str
    models: tuple[ModelResult, ...]
    blends: tuple[BlendResult, ...]
    tasks: tuple[tuple[int, int], ...]
    correlation: np.ndarray
    train_seconds: float
    blend_seconds: float
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    group_blends: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    model_folds: dict[str, FoldScores] = field(default_factory=dict)
    dropped: tuple[tuple[BlendResult, BlendResult], ...] = ()
    model_thresholds: dict[str, float] = field(default_factory=dict)  # binary label metrics: chosen on each OOF
    # imported predictions whose folds could not be checked against (every repeat of) the run's: a blend of them is
    # scored by nested CV on folds they may not have been made with, optimistically; marked wherever it is ranked
    unchecked: tuple[str, ...] = ()

    def unchecked_in(self, blend: BlendResult) -> list[str]:
        """The models of ``blend`` whose folds could not be checked (:attr:`unchecked`)."""
        return [m for m in blend.models if m in self.unchecked]

    def model_scores(self, model: ModelResult) -> tuple[float, ...]:
        """A model's fold scores on the folds the blends were scored on (all but the first block of time folds)."""
        if model.name in self.model_folds:
            return self.model_folds[model.name].scores
        return matched_scores(model, self.blends[0].folds if self.blends else self.tasks, self.tasks)

    def model_pooled(self, model: ModelResult) -> float:
        """A model's OOF scored at once (its CV), by the function that scores a blend's nested OOF."""
        return self.model_folds[model.name].pooled if model.name in self.model_folds else model.cv

    def model_mean(self, model: ModelResult) -> float:
        scores = self.model_scores(model)
        return float(np.mean(scores)) if scores else float("nan")

    @property
    def best_model(self) -> ModelResult:
        return _best(self.models, get_metric(self.metric), self.model_mean)

    @property
    def best_blend(self) -> BlendResult:
        """The blend with the best honest score, among those of two or more models (when there are any); a tie goes
        as :func:`tie_order` says, whatever the order of :attr:`blends` (one call lists them in its method order,
        stored blends by name: the verdict and ``submit --best`` had named different blends of one score)."""
        several = [b for b in self.blends if len(b.models) > 1] or list(self.blends)
        return _best(sorted(several, key=tie_order), get_metric(self.metric), lambda b: b.mean)

    @property
    def beats_best_model(self) -> bool:
        return get_metric(self.metric).better(self.best_blend.mean, self.model_mean(self.best_model))

    def choice(self) -> tuple[Literal["blend", "model"], str]:
        """What the verdict submits, as ``(kind, name)``: ``("blend", best blend)`` when its nested CV beats the best
        single model on the same held-out folds, else ``("model", best model)``. The one rule the CLI's submission,
        ``kaggle-kit predict --best`` and the benchmarks follow."""
        if self.blends and self.beats_best_model:
            return "blend", self.best_blend.name
        return "model", self.best_model.name

    def verdict(self) -> str:
        """One paragraph: does the best blend's honest score beat the best single model's CV; if not, why not."""
        metric = get_metric(self.metric)
        model, blend = self.best_model, self.best_blend
        model_mean = self.model_mean(model)
        diff = blend.mean - model_mean
        theirs = self.model_scores(model)
        wins = sum(metric.better(a, b) for a, b in zip(blend.fold_scores, theirs, strict=False))
        detail = (
            f"mean over {len(blend.fold_scores)} held-out folds, where it wins {wins}; all held-out rows at once: "
            f"{score_text(blend.nested_cv)} vs CV {score_text(self.model_pooled(model))}"
        )
        if self.beats_best_model:
            text = (
                f"The best blend, {blend.name!r} ({blend.method}), scores {score_text(blend.mean)} by nested CV and "
                f"beats the best single model {model.name!r} ({score_text(model_mean)}) by {score_text(abs(diff))} "
                f"({detail})."
            )
            se = _paired_standard_error(blend.fold_scores, theirs)
            if not math.isnan(se) and abs(diff) < 2 * se:
                text += (
                    f" The margin is within noise, though: less than twice the standard error of the fold-by-fold "
                    f"differences ({score_text(se)})."
                )
            unchecked = self.unchecked_in(blend)
            if unchecked:
                text += (
                    f" Its nested CV is optimistic, though, if {allowed(unchecked)} (imported predictions whose folds "
                    "could not be checked against the run's) were made on other folds: import them again with their "
                    "fold column (--fold-column) to check them."
                )
            return text
        reasons = self._reasons(model, blend, abs(diff))
        return (
            f"No blend beats the best single model {model.name!r} ({score_text(model_mean)}): the best blend, "
            f"{blend.name!r} ({blend.method}), scores {score_text(blend.mean)} by nested CV "
            f"({score_text(diff, signed=True)}; {detail}). Why: " + " ".join(reasons)
        )

    def _reasons(self, model: ModelResult, blend: BlendResult, margin: float) -> list[str]:
        if len(self.models) == 1:
            return ["there is only one model, so a blend can only reproduce it."]
        reasons = []
        for b in self.blends:
            if b.weights is None or b.method not in ("nelder_mead", "hill_climb"):
                continue
            top = int(np.argmax(b.weights))
            if b.weights[top] >= _DOMINANT:
                reasons.append(
                    f"{b.method} puts {100 * b.weights[top]:.0f}% of the weight on {b.models[top]!r}: the other "
                    "models add little that it does not already have."
                )
                break
        corr = _mean_offdiagonal(self.correlation)
        if corr >= _CORRELATED:
            reasons.append(f"The models' OOF predictions are highly correlated (mean r = {corr:.3f}).")
        gaps = [b.gap for b in self.blends if not math.isnan(b.gap)]
        if gaps and max(gaps) > margin:
            reasons.append(
                f"Fitting blends on the OOF overfits here: in-sample scores look up to {score_text(max(gaps))} better "
                "than nested CV, more than the margin."
            )
        spread = float(np.std(self.model_scores(model))) if self.model_scores(model) else float("nan")
        if not math.isnan(spread) and margin < spread:
            reasons.append(
                f"The difference ({score_text(margin)}) is smaller than the fold-to-fold spread of the best model "
                f"(+- {score_text(spread)}): within noise on {blend.n_rows} rows."
            )
        if not reasons:
            reasons.append("the weaker models' errors are not offset by the best one's; try models of other kinds.")
        return reasons

    def text(self) -> str:
        metric = get_metric(self.metric)
        parts = [
            format_blend_leaderboard(self.models, self.blends, metric, self.tasks, self.model_folds, self.unchecked)
        ]
        marked = [b.name for b in self.blends if self.unchecked_in(b)]
        if marked:
            names = sorted({m for b in self.blends for m in self.unchecked_in(b)})
            parts.append(
                f"Folds unchecked: the imported predictions {allowed(names)} came without a fold "
                "column matching the run's folds (every repeat's), so the nested CV of the blends of them "
                f"({allowed(marked)}) is optimistic if they were made on other folds; import them again with their "
                "fold column (--fold-column)."
            )
        if self.groups:
            parts.append(self._group_text())
        if 1 < len(self.models) <= 12:
            parts.append(_format_correlation([m.name for m in self.models], self.correlation))
        parts.append(self.verdict())
        thresholds = self._threshold_text()
        if thresholds:
            parts.append(thresholds)
        scaled = [(b.name, b.temperature) for b in self.blends if b.temperature is not None]
        if scaled:
            parts.append(
                "Temperature scaling (softmax(log p / T), fitted on the OOF rows; nested CV fits each fold's on its "
                "training rows): " + ", ".join(f"{name} T = {t:.3f}" for name, t in scaled)
            )
        isotonic = [b.name for b in self.blends if b.isotonic is not None]
        if isotonic:
            parts.append(
                "Isotonic calibration (a non-decreasing map per class, one-vs-rest, rows renormalised; fitted on the "
                "OOF rows, nested CV fits each fold's on its training rows): " + ", ".join(isotonic)
            )
        timing = f"Blending took {self.blend_seconds:.2f} s in all"
        if self.train_seconds > 0 and self.blends:
            slowest = max(self.blends, key=lambda b: b.fit_seconds)
            timing += (
                f" ({100 * self.blend_seconds / self.train_seconds:.1f}% of the {self.train_seconds:.1f} s its models "
                f"took to fit); the slowest blend, {slowest.name!r}, {slowest.fit_seconds:.2f} s "
                f"({100 * slowest.fit_seconds / self.train_seconds:.1f}%)."
            )
        parts.append(timing)
        parts.extend(self.notes)
        return "\n\n".join(parts)

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """A notebook cell ending in the report shows its text (the dataclass repr is one line of every field)."""
        printer.text(self.text())

    def _threshold_text(self) -> str:
        """The decision thresholds a binary label metric labels the positive class at, chosen on OOF rows."""
        chosen = [(b.name, b.threshold) for b in self.blends if b.threshold is not None]
        chosen += [(m.name, self.model_thresholds[m.name]) for m in self.models if m.name in self.model_thresholds]
        if not chosen:
            return ""
        return (
            f"Decision thresholds ({self.metric} labels the positive class where its probability exceeds it; chosen "
            "on the OOF rows, applied to the test rows by `kaggle-kit submit`; honest scores choose each fold's on "
            "its training rows): " + ", ".join(f"{name} {t:.4f}" for name, t in chosen)
        )

    def _group_text(self) -> str:
        metric = get_metric(self.metric)
        by_name = {m.name: m for m in self.models}
        blends = {b.name: b for b in self.blends}
        best = self.best_model
        lines = [
            "Groups (honest CV: mean over held-out folds)",
            f"  best single model: {best.name:<16} {score_text(self.model_mean(best))}",
        ]
        for group, names in self.groups.items():
            top = _best([by_name[n] for n in names], metric, self.model_mean)
            line = f"  {group:<10} best model {top.name:<16} {score_text(self.model_mean(top))}"
            blend = blends.get(self.group_blends.get(group, ""))
            if blend is not None:
                line += f"   blend of its {len(names)} ({blend.method}) {score_text(blend.mean)}"
            lines.append(line)
        union = blends.get(self.group_blends.get("+".join(self.groups), ""))
        if union is not None:
            lines.append(
                f"  {' + '.join(self.groups)}: blend of {len(union.models)} ({union.method}) {score_text(union.mean)}"
            )
        return "\n".join(lines)


def matched_scores(
    model: ModelResult, folds: tuple[tuple[int, int], ...], tasks: tuple[tuple[int, int], ...]
) -> tuple[float, ...]:
    """``model``'s fold scores for the ``(repeat, fold)`` pairs in ``folds`` (its ``fold_scores`` follow
    ``tasks``, the run's order)."""
    if len(model.fold_scores) != len(tasks):
        return model.fold_scores
    index = {task: i for i, task in enumerate(tasks)}
    return tuple(model.fold_scores[index[f]] for f in folds if f in index)


def format_blend_leaderboard(
    models: list[ModelResult] | tuple[ModelResult, ...],
    blends: list[BlendResult] | tuple[BlendResult, ...],
    metric: Metric,
    tasks: tuple[tuple[int, int], ...] = (),
    model_folds: Mapping[str, FoldScores] | None = None,
    unchecked: Collection[str] = (),
) -> str:
    """Models and blends ranked by their honest score: the mean of per-fold scores over the folds nested CV scored
    (``model_folds``: each model's OOF scored by :func:`~.scoring.score_folds`, as a blend's nested OOF is; without
    it, a model's recorded fold scores, which match only without repeated folds). Beside it: all held-out rows
    scored at once (a model's CV, a blend's nested CV), a blend's in-sample fold mean, the gap between the two
    means, the weights. ``unchecked``: imported predictions whose folds were not checked, marked with every blend
    of them (its nested CV may be optimistic)."""
    folds = blends[0].folds if blends else tasks
    rows = [_blend_row(b, any(m in unchecked for m in b.models)) for b in blends]
    for m in models:
        honest = (model_folds or {}).get(m.name)
        if honest is not None:
            scores, cv = honest.scores, honest.pooled
        else:
            scores, cv = (matched_scores(m, folds, tasks) if tasks else m.fold_scores), m.cv
        mean = float(np.mean(scores)) if scores else float("nan")
        std = float(np.std(scores)) if scores else float("nan")
        note = f"{m.kind}, folds unchecked" if m.name in unchecked else m.kind
        rows.append(TableRow(name=m.name, kind="model", score=mean, cv=cv, mean=mean, std=std, note=note))
    columns = [
        name_column("name", 22),
        kind_column("method", 12),
        mean_std_column("honest CV mean +- std", 21),
        value_column("all rows", lambda r: r.cv, width=10),
        value_column("in-sample", lambda r: r.in_sample, width=10),
        value_column("gap", lambda r: r.gap, SIGNED, width=9),
        note_column("weights"),
    ]
    title = [
        f"Blend leaderboard ({metric.name}, {direction(metric)}). Honest CV: the mean of per-fold scores; a blend's "
        "are nested CV (fitted on the other folds' OOF, scored on the held-out fold).",
        "'all rows': every held-out row scored at once (a model's CV). 'in-sample': the blend fitted on all OOF rows, "
        "fold mean; 'gap': how much better that looks than the honest score.",
    ]
    return format_table(rows, columns, metric, title)


def _blend_row(b: BlendResult, unchecked: bool = False) -> TableRow:
    if b.weights is None:
        weights = f"level-2 model on {len(b.models)} models"
    else:
        ordered = sorted(zip(b.models, b.weights, strict=True), key=lambda t: -t[1])
        weights = " ".join(f"{n} {w:.2f}" for n, w in ordered if w > 0.005)
    if unchecked:
        weights = f"folds unchecked; {weights}"
    return TableRow(
        name=b.name,
        kind=b.method,
        score=b.mean,
        cv=b.nested_cv,
        mean=b.mean,
        std=b.std,
        in_sample=b.in_sample_mean,
        gap=b.gap,
        note=weights,
    )


def oof_correlation(oof: dict[str, np.ndarray]) -> np.ndarray:
    """Pearson correlation of the models' OOF predictions over rows every model predicted."""
    mats = list(oof.values())
    usable = np.logical_and.reduce([np.isfinite(a).all(axis=1) for a in mats])
    cols = [a[usable][:, -1] if a.shape[1] == 2 else a[usable].reshape(-1) for a in mats]
    if len(cols) < 2:
        return np.ones((len(cols), len(cols)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.corrcoef(np.stack(cols).astype(np.float64))


def _format_correlation(names: list[str], corr: np.ndarray) -> str:
    width = max(8, *(len(n) for n in names))
    lines = ["Correlation of the models' OOF predictions", " " * width + " ".join(f"{n[:8]:>8}" for n in names)]
    for name, row in zip(names, corr, strict=True):
        lines.append(f"{name:<{width}}" + " ".join(f"{v:>8.3f}" for v in row))
    return "\n".join(lines)


def _paired_standard_error(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    if len(a) != len(b) or len(a) < 2:
        return float("nan")
    diff = np.asarray(a) - np.asarray(b)
    return float(np.std(diff, ddof=1) / math.sqrt(len(diff)))


def _mean_offdiagonal(corr: np.ndarray) -> float:
    n = corr.shape[0]
    if n < 2:
        return float("nan")
    off = corr[~np.eye(n, dtype=bool)]
    off = off[~np.isnan(off)]  # a constant model's correlations are NaN: all of them warned "Mean of empty slice"
    return float(off.mean()) if off.size else float("nan")


def tie_order(blend: BlendResult | Any) -> tuple[int, str]:
    """Which of blends tied by their honest score is named: the simpler method first, in the order the methods are
    registered (mean, rank, nelder_mead, hill_climb, calibrated_hill_climb, stack: the guard's preference for the
    selection over a level-2 fit that does not beat it; a method registered elsewhere after them), then the first by
    name (hill_climb before its tempered copy). One order for the verdict, ``submit --best`` and the report."""
    methods = list(BLENDERS)
    return (methods.index(blend.method) if blend.method in methods else len(methods), blend.name)


def _best(items, metric: Metric, score):  # type: ignore[no-untyped-def]
    best = None
    for item in items:
        if best is None or metric.better(score(item), score(best)):
            best = item
    if best is None:
        raise ValueError("nothing to rank")
    return best
