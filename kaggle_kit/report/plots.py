"""The report's figures, drawn with matplotlib's Agg renderer into PNG bytes (no display, no network, no pyplot
global state: each figure is a :class:`matplotlib.figure.Figure` of its own)."""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ParamSpec

import numpy as np

from ..metrics import Metric
from .adversarial import AdversarialResult
from .blends import BlendSummary
from .entries import Entry, rank_entries
from .training import Curve, Importance

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_BLUE, _ORANGE, _GREY, _RED = "#1f77b4", "#ff7f0e", "#7f7f7f", "#d62728"

P = ParamSpec("P")


def _literal_text(draw: Callable[P, bytes]) -> Callable[P, bytes]:
    """``draw`` with every text of its figure drawn as written: names, column names and class labels come from the
    user's data, and matplotlib read two ``$`` in one as TeX (a class ``$5-$10`` drew an italic ``5-``; a feature
    ``f$x^$`` raised a mathtext ParseSyntaxException at savefig, and no report was written)."""

    @functools.wraps(draw)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> bytes:
        from matplotlib import rc_context

        with rc_context({"text.parse_math": False}):  # tick labels are made at savefig, also inside the context
            return draw(*args, **kwargs)

    return wrapped


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


@_literal_text
def fold_strip(entries: Sequence[Entry], metric: Metric) -> bytes:
    """Per-fold scores as a strip plot: one row per model / blend (best on top), a dot per fold, a bar at the mean.
    The baseline is left out: far below the others, it would squash their differences into one point."""
    rows = [e for e in rank_entries(list(entries), metric) if e.fold_scores and not e.is_baseline]
    fig = _figure(8, 0.45 * len(rows) + 1.4)
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    for i, e in enumerate(rows):
        y = len(rows) - 1 - i
        scores = np.asarray(e.fold_scores, dtype=float)
        color = _ORANGE if e.is_blend else _GREY if e.is_baseline else _BLUE
        ax.scatter(scores, y + rng.uniform(-0.15, 0.15, len(scores)), s=22, color=color, alpha=0.8, zorder=3)
        ax.plot([e.mean, e.mean], [y - 0.3, y + 0.3], color="black", lw=2, zorder=4)
    ax.set_yticks(range(len(rows)), [e.name for e in reversed(rows)])
    ax.set_xlabel(f"{metric.name} per fold ({'higher' if metric.greater_is_better else 'lower'} is better)")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Per-fold scores (black bar: mean; orange: blends, nested CV)")
    return _png(fig)


@_literal_text
def weights_bar(blend: BlendSummary) -> bytes:
    """A blend's model weights as a horizontal bar chart."""
    assert blend.weights is not None
    fig = _figure(6, 0.4 * len(blend.models) + 1.2)
    ax = fig.add_subplot()
    y = np.arange(len(blend.models))[::-1]
    ax.barh(y, blend.weights, color=_ORANGE)
    for yi, w in zip(y, blend.weights, strict=True):
        ax.text(w, yi, f" {w:.3f}", va="center", fontsize=9)
    ax.set_yticks(y, list(blend.models))
    ax.set_xlim(0, max(1.0, max(blend.weights) * 1.15))
    ax.set_xlabel("weight")
    ax.set_title(f"Blend '{blend.name}' ({blend.method}) weights")
    return _png(fig)


@_literal_text
def heatmap(
    matrix: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str,
    *,
    fmt: str = ".3f",
    cmap: str = "viridis",
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> bytes:
    """A matrix as a heat map with its numbers written in the cells (correlations, confusion counts)."""
    n_rows, n_cols = matrix.shape
    # past 20 labels the cells (and labels) shrink: 100 classes had drawn a 6250 x 5180 pixel confusion matrix
    # (14 s, the report's slowest step); at most 0.16 in (11.5 pt) a cell, the labels in 6 pt type
    many = max(n_rows, n_cols) > 20
    cell_w, cell_h = (max(0.16, 12 / n_cols), max(0.16, 10 / n_rows)) if many else (0.6, 0.5)
    fig = _figure(max(4.0, cell_w * n_cols + 2.5), max(3.0, cell_h * n_rows + 1.8))
    ax = fig.add_subplot()
    im = ax.imshow(matrix, cmap=cmap, aspect="auto")
    fig.colorbar(im, ax=ax, shrink=0.8)
    size = 6 if many else None
    ax.set_xticks(
        range(n_cols),
        list(col_labels),
        rotation=45 if n_cols > 4 else 0,
        ha="right" if n_cols > 4 else "center",
        fontsize=size,
    )
    ax.set_yticks(range(n_rows), list(row_labels), fontsize=size)
    if n_rows * n_cols <= 400:
        for i in range(n_rows):
            for j in range(n_cols):
                r, g, b, _ = im.cmap(im.norm(matrix[i, j]))
                ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"  # readable on the cell
                ax.text(j, i, format(matrix[i, j], fmt), ha="center", va="center", fontsize=8, color=ink)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _png(fig)


@_literal_text
def learning_curves(curves: Sequence[Curve], title: str, x_label: str) -> bytes:
    """Every fold's curves on one set of axes per series group: ``train_x`` solid, ``valid_x`` dashed; a dotted
    vertical line where each fold stopped (its best iteration)."""
    groups: dict[str, list[str]] = {}
    for c in curves:
        for key in c.series:
            base = key.removeprefix("train_").removeprefix("valid_")
            groups.setdefault(base, [])
            if key not in groups[base]:
                groups[base].append(key)
    names = list(groups)
    fig = _figure(4.2 * len(names), 3.2)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, base in zip(axes, names, strict=True):
        for key in groups[base]:
            color = _BLUE if not key.startswith("train_") else _ORANGE
            style = "--" if key.startswith("valid_") else "-"
            for i, c in enumerate(curves):
                if key in c.series:
                    values = c.series[key]
                    ax.plot(
                        range(1, len(values) + 1),
                        values,
                        color=color,
                        ls=style,
                        lw=1,
                        alpha=0.7,
                        label=key if i == 0 else None,
                    )
        for c in curves:
            if c.best_iteration:
                ax.axvline(c.best_iteration, color=_GREY, ls=":", lw=0.8)
        ax.set_xlabel(x_label)
        ax.set_ylabel(base)
        ax.grid(alpha=0.3)
        if any(k.startswith(("train_", "valid_")) for k in groups[base]):
            ax.legend(fontsize=8)
    fig.suptitle(title)
    return _png(fig)


@_literal_text
def importance_bar(importance: Importance, top: int = 20) -> bytes:
    """The most important features' share of the gain (mean over folds, error bar = std)."""
    rows = importance.top(top)
    fig = _figure(5.4, 0.24 * len(rows) + 1.2)
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    ax.barh(y, [r[1] for r in rows], xerr=[r[2] for r in rows], color=_BLUE, error_kw={"lw": 0.8})
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.set_xlabel(f"share of total gain (mean over {importance.n_folds} folds)")
    ax.set_title(f"Feature importance: {importance.model}")
    return _png(fig)


@_literal_text
def image_grid(images: np.ndarray, captions: Sequence[str], cols: int = 6) -> bytes:
    """Images (``(n, H, W)`` grey or ``(n, H, W, 3)`` colour) in a grid, each with a caption."""
    n = len(images)
    rows = math.ceil(n / cols)
    fig = _figure(1.6 * cols, 1.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(images[k], cmap="gray_r" if images[k].ndim == 2 else None)
            ax.set_title(captions[k], fontsize=8, color=_RED)
    return _png(fig)


@_literal_text
def cv_vs_lb(points: Sequence[tuple[str, float, float]], metric: Metric) -> bytes:
    """Each submission's CV against its public leaderboard score, with the y = x line ("trust your CV")."""
    fig = _figure(6, 4.5)
    ax = fig.add_subplot()
    cv = np.array([p[1] for p in points])
    lb = np.array([p[2] for p in points])
    ax.scatter(cv, lb, color=_BLUE, zorder=3)
    for k, (label, x, y) in enumerate(points):  # alternate above / below so that close points stay readable
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 5 if k % 2 == 0 else -11), fontsize=8)
    lo, hi = float(min(cv.min(), lb.min())), float(max(cv.max(), lb.max()))
    pad = (hi - lo) * 0.1 or 0.01
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color=_GREY, ls="--", lw=1, label="CV = LB")
    ax.set_xlabel(f"CV {metric.name}")
    ax.set_ylabel(f"public LB {metric.name}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("CV vs public leaderboard")
    return _png(fig)


@_literal_text
def adversarial_bar(result: AdversarialResult, top: int = 15) -> bytes:
    """The train-vs-test classifier's gain share per feature; the features that give the shift away in red."""
    rows = result.features[:top]
    flagged = {f.name for f in result.flagged}
    fig = _figure(7, 0.28 * len(rows) + 1.3)
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    ax.barh(y, [f.share for f in rows], color=[_RED if f.name in flagged else _BLUE for f in rows])
    ax.set_yticks(y, [f.name for f in rows], fontsize=8)
    ax.set_xlabel("share of the train-vs-test classifier's gain")
    ax.set_title(f"Adversarial validation: AUC {result.auc:.3f}")
    return _png(fig)
