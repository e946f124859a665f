"""Error analysis of OOF predictions: the worst mistakes and, for classification, the confusion matrix.

The worst mistakes of a classifier are the rows where it gave the true class the lowest probability (its most
confident misses); of a regressor, the rows with the largest absolute error. Rows never validated (time folds) are
left out.

Image competitions given as pixel columns (``pixel0 .. pixel{N-1}`` with N a square, the Kaggle "Digit Recognizer"
layout) are recognised by :func:`pixel_images`, so the report can show the mistaken images themselves.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..metrics import Metric, crps_rows, distribution_median, pinball_rows, to_labels

#: the clip metrics.log_loss applies (2.2e-16, whatever the dtype): a row's loss here is what the metric charges it
_EPS = float(np.finfo(np.float64).eps)
_PIXEL = re.compile(r"pixel(\d+)")


@dataclass(frozen=True)
class Mistake:
    """One badly predicted OOF row."""

    row: int  # position in train
    id: object
    true: object  # the label (classification) or value (regression)
    predicted: object
    p_true: float | None  # classification: the probability given to the true class
    error: float  # classification: -log(p_true); regression: |true - predicted|


@dataclass(frozen=True)
class ErrorAnalysis:
    """A model's worst OOF mistakes and, for classification, its confusion matrix (rows: true, columns: predicted)."""

    model: str
    mistakes: tuple[Mistake, ...]
    labels: tuple[str, ...] | None
    confusion: np.ndarray | None
    #: what ``Mistake.error`` measures, as a column header (regression, distribution, multi-target)
    error_name: str = "abs error"


def analyse_errors(
    model: str,
    oof: np.ndarray,
    y: np.ndarray,
    ids: np.ndarray,
    classes: list[object] | None,
    *,
    n_worst: int = 12,
    metric: Metric | None = None,
    multilabel: bool = False,
) -> ErrorAnalysis:
    """Worst mistakes and confusion matrix of ``oof`` (the stored OOF matrix) against ``y`` (class codes or values;
    a multi-target ``(n, T)`` matrix, NaN = missing: rows ranked by their mean loss over their labelled targets,
    ``multilabel`` saying whether that is the log loss of 0/1 labels or the absolute error of values).
    A distribution task's (``metric`` bound to its bins / levels): the rows of the worst CRPS / pinball loss, each
    with its predicted median."""
    oof = np.asarray(oof, dtype=np.float64)
    valid = np.isfinite(oof).all(axis=1)
    rows = np.flatnonzero(valid)
    if np.ndim(y) == 2:
        return _multi_target_errors(model, oof, np.asarray(y, dtype=np.float64), ids, rows, multilabel, n_worst)
    if metric is not None and metric.grid is not None:
        values = np.asarray(y, dtype=np.float64)
        rows_fn = crps_rows if metric.needs == "cdf" else pinball_rows
        err = np.full(len(values), np.nan)
        err[rows] = rows_fn(values[rows], oof[rows], metric.grid)
        median = distribution_median(np.nan_to_num(oof), metric.needs, metric.grid)
        worst = rows[np.argsort(-err[rows], kind="stable")[:n_worst]]
        mistakes = tuple(
            Mistake(int(i), _plain(ids[i]), float(values[i]), float(median[i]), None, float(err[i])) for i in worst
        )
        return ErrorAnalysis(model, mistakes, None, None, f"{metric.name} (predicted: the median)")
    if classes is None:
        pred = oof[:, 0]
        err = np.abs(np.asarray(y, dtype=np.float64) - pred)
        worst = rows[np.argsort(-err[rows], kind="stable")[:n_worst]]
        mistakes = tuple(
            Mistake(int(i), _plain(ids[i]), float(y[i]), float(pred[i]), None, float(err[i])) for i in worst
        )
        return ErrorAnalysis(model, mistakes, None, None)

    codes = np.asarray(y, dtype=np.intp)
    p_true = oof[np.arange(len(codes)), codes]
    labels = to_labels(oof)
    worst = rows[np.argsort(p_true[rows], kind="stable")[:n_worst]]
    mistakes = tuple(
        Mistake(
            int(i),
            _plain(ids[i]),
            classes[codes[i]],
            classes[labels[i]],
            float(p_true[i]),
            -math.log(min(max(float(p_true[i]), _EPS), 1 - _EPS)),
        )
        for i in worst
    )
    n = len(classes)
    confusion = np.bincount(codes[rows] * n + labels[rows], minlength=n * n).reshape(n, n)
    return ErrorAnalysis(model, mistakes, tuple(str(c) for c in classes), confusion)


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (for display and JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def stream_images(stream: Any, rows: list[int] | np.ndarray) -> np.ndarray | None:
    """The given training rows' images read from a run's streamed ``[data.images]`` files (train rows come first
    in its positions): ``(n, H, W)`` grey or ``(n, H, W, C)`` colour uint8; None when a file cannot be read."""
    from ..errors import DataError

    try:
        images = stream.read(np.asarray(rows, dtype=np.int64))
    except DataError:
        return None
    return images[..., 0] if images.shape[-1] == 1 else images


def pixel_images(frame: pl.DataFrame, rows: list[int] | np.ndarray) -> np.ndarray | None:
    """The given rows as square grey images when the frame's pixels are columns ``pixel0 .. pixel{N-1}``."""
    found = {int(m.group(1)): c for c in frame.columns if (m := _PIXEL.fullmatch(c))}
    n = len(found)
    side = math.isqrt(n)
    if n < 4 or side * side != n or sorted(found) != list(range(n)):
        return None
    pixels = frame[np.asarray(rows, dtype=np.int64)].select([found[i] for i in range(n)]).to_numpy().astype(np.float32)
    return pixels.reshape(len(rows), side, side)


def _multi_target_errors(
    model: str, oof: np.ndarray, y: np.ndarray, ids: np.ndarray, rows: np.ndarray, multilabel: bool, n_worst: int
) -> ErrorAnalysis:
    """The rows whose labelled targets the model got worst (mean per-target loss); true and predicted are shown as
    one value per target, ``-`` for a missing label."""
    present = ~np.isnan(y)
    if multilabel:
        p = np.clip(oof, _EPS, 1 - _EPS)
        cell = -np.where(y == 1, np.log(p), np.log(1 - p))
    else:
        cell = np.abs(np.nan_to_num(y) - oof)
    cell = np.where(present, cell, 0.0)
    err = cell.sum(axis=1) / np.maximum(present.sum(axis=1), 1)
    rows = rows[present[rows].any(axis=1)]
    worst = rows[np.argsort(-err[rows], kind="stable")[:n_worst]]
    fmt = "{:.0f}" if multilabel else "{:.4g}"
    mistakes = tuple(
        Mistake(
            int(i),
            _plain(ids[i]),
            " ".join(fmt.format(v) if not np.isnan(v) else "-" for v in y[i]),
            " ".join(f"{v:.3f}" if multilabel else f"{v:.4g}" for v in oof[i]),
            None,
            float(err[i]),
        )
        for i in worst
    )
    return ErrorAnalysis(model, mistakes, None, None, "row log loss" if multilabel else "row mean abs error")
