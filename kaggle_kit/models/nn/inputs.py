"""From the kit's :class:`~kaggle_kit.features.FeatureMatrix` to the arrays a net takes, with the normalisation
statistics fit on the fold's training rows only (``fit``) and applied to any rows (``arrays``).

The fitted state is a small JSON-able dict stored beside the weights. Three layouts:

* :class:`TableInputs` (``mlp``): numeric columns standardised (missing -> 0, the training mean), categorical
  columns as embedding indices (0 = missing or a level never seen in training). ``realmlp`` / ``tabm``: numeric
  columns robust-scaled and smoothly clipped instead (RealMLP's ``x -> (x - median) / IQR``, then
  ``x / sqrt(1 + (x / 3)^2)``; missing -> 0, the median), plus, for piecewise-linear embeddings, each column's
  quantile bin edges of the scaled training values.
* :class:`ImageInputs` (``cnn``): pixel columns reshaped to ``(N, C, H, W)``, standardised per channel.
* :class:`HybridInputs` (``hybrid``): the pixel columns (``params.image_columns``) as :class:`ImageInputs`, and
  every other column the net reads as :class:`TableInputs`: ``(images, x_num, x_cat)``, the image first (the
  trainer augments, and test-time augmentation views, the first input only).
* :class:`SequenceInputs` (``rnn``, ``cnn1d``): columns reshaped to ``(N, T, F)`` plus each row's length,
  standardised per feature; trailing steps whose features are all missing are padding. Without a given shape,
  ``T`` and ``F`` are read from the columns' names ``<column>__t<step>`` (as ``[data.sequences]`` writes them).
  Streamed sequences (``layout = "streamed"``) are not columns: :mod:`~kaggle_kit.models.nn.sequence_batches`.

This module does not import torch.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ...errors import ConfigError, did_you_mean
from ...features import FeatureMatrix
from ...features.sequence import STEP_COLUMN, infer_sequence_shape

#: the smallest std a column is scaled by: float32's smallest normal number (a constant is told exactly, see
#: :func:`_mean_std`), so any spread of normal float32 numbers is the column's own: a column of values around 1e-14 is
#: scaled to unit spread, not taken for a constant (an absolute 1e-12 zeroed it); subnormal spreads read as constant
_MIN_STD = float(np.finfo(np.float32).tiny)


def _mean_std(values: np.ndarray, axis: tuple[int, ...] | int) -> tuple[np.ndarray, np.ndarray]:
    """NaN-aware mean and std in float64: mean 0 where all missing; std 0 where constant or all missing, which
    :func:`_standardise` reads as "nothing learnt": 0 (the training value) in every row, whatever it holds.

    A std of 1 there had passed the rows' raw values on: a column all missing (or constant) in a fold's training
    rows but 5e4 in its validation rows reached the mlp as 5e4, to weights no row had trained, and its predictions
    were 10^4 target spreads off. (realmlp's robust scaling zeroes such a column the same way.)

    Constant is told exactly (its largest value is its smallest), not from the std alone: a float64 column of 0.1
    has a float64 std of 1e-17 (its mean rounded), which the floor passed, and every row became -1e8.

    Each column is first divided by the power of 2 at its largest magnitude (exact in floating point: the statistics
    of an ordinary column are bit for bit what they were, checked on 1,800 random columns): ``np.nanstd`` squares
    the deviations in the values' float32 even with ``dtype=float64``, so a column in units of 1e-20 squared to 0
    (std 0: zeroed) and one in units of 1e20 to infinity (std inf: zeroed too)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: handled below
        v = np.where(np.isfinite(values), values, np.nan)
        high = np.nanmax(v, axis=axis, initial=-np.inf, keepdims=True)
        low = np.nanmin(v, axis=axis, initial=np.inf, keepdims=True)
        size = np.maximum(np.abs(high), np.abs(low))  # inf where all missing
        unit = np.exp2(np.floor(np.log2(np.where(np.isfinite(size) & (size > 0), size, 1.0)))).astype(v.dtype)
        v /= unit
        mean = np.nanmean(v, axis=axis, dtype=np.float64) * unit.astype(np.float64).squeeze(axis)
        std = np.nanstd(v, axis=axis, dtype=np.float64) * unit.astype(np.float64).squeeze(axis)
    varies = (high > low).squeeze(axis)  # False where constant or all missing
    return np.nan_to_num(mean), np.where(varies & np.isfinite(std) & (std >= _MIN_STD), std, 0.0)


def pixel_histogram(images: np.ndarray) -> np.ndarray:
    """``(C, 256)`` int64 counts of each value per channel of ``(N, H, W, C)`` uint8 images."""
    c = images.shape[-1]
    flat = images.reshape(-1, c)
    return np.stack([np.bincount(flat[:, k], minlength=256) for k in range(c)]).astype(np.int64)


def histogram_mean_std(hist: np.ndarray) -> tuple[list[float], list[float]]:
    """Per channel, the mean and (population) std of the values a ``(C, 256)`` histogram counts, computed exactly
    (integer sums) and rounded once: the same numbers however the images were read or summed (std 1 where a channel
    is constant, mean 0 and std 1 where it has no values)."""
    values = np.arange(256, dtype=object)
    means, stds = [], []
    for counts in hist.astype(object):
        n, s1, s2 = int(counts.sum()), int((counts * values).sum()), int((counts * values * values).sum())
        if n == 0:
            means.append(0.0)
            stds.append(1.0)
            continue
        std = math.sqrt(Fraction(n * s2 - s1 * s1, n * n))
        means.append(s1 / n)
        stds.append(std if std > 1e-12 else 1.0)
    return means, stds


def _uint8_valued(images: np.ndarray) -> np.ndarray | None:
    """``images`` as uint8 when every value is a whole number in 0..255 (pixels read from image files), else None."""
    if images.size == 0 or not np.isfinite(images).all() or images.min() < 0 or images.max() > 255:
        return None
    as_uint8 = images.astype(np.uint8)
    return as_uint8 if np.array_equal(as_uint8, images) else None


def select_columns(model: str, X: FeatureMatrix, columns: str | list[str] | None) -> list[str]:
    """The names of the columns a net reads: all, those listed, or those a regular expression matches whole."""
    if columns is None:
        return list(X.names)
    if isinstance(columns, str):
        pattern = re.compile(columns)
        names = [n for n in X.names if pattern.fullmatch(n)]
        if not names:
            raise ConfigError(
                f"model {model!r}: params.columns {columns!r} matches none of the feature columns {list(X.names[:10])}"
            )
        return names
    missing = [c for c in columns if c not in X.names]
    if missing:
        raise ConfigError(
            f"model {model!r}: params.columns names {missing[0]!r}, which is not a feature column."
            f"{did_you_mean(missing[0], X.names)}"
        )
    return list(columns)


def take_columns(X: FeatureMatrix, names: list[str]) -> FeatureMatrix:
    """``X`` restricted to ``names`` (in that order); categorical positions follow."""
    if list(X.names) == names:
        return X
    position = {n: i for i, n in enumerate(X.names)}
    missing = [n for n in names if n not in position]
    if missing:
        raise ConfigError(f"the net was fit on column {missing[0]!r}, which these rows do not have")
    idx = [position[n] for n in names]
    cat = {X.names[i] for i in X.categorical}
    return FeatureMatrix(
        np.ascontiguousarray(X.X[:, idx]), tuple(names), tuple(j for j, n in enumerate(names) if n in cat)
    )


def _standardise(values: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(values - mean) / std`` in float32; missing, infinite and std-0 (constant in training) cells -> 0."""
    with np.errstate(divide="ignore", invalid="ignore"):  # std 0: +-inf or NaN, zeroed below
        out = (values - mean.astype(np.float32)) / std.astype(np.float32)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32, copy=False)


def robust_scale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``values``: the median and RealMLP's robust scale factor, NaN-aware, in float64.

    The factor is ``1 / (q75 - q25)``; where the quartiles tie, ``2 / (max - min)``; where that is 0 too (a constant
    or all-missing column), 0: the column becomes 0 everywhere.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled below
        v = np.where(np.isfinite(values), values, np.nan).astype(np.float64)
        q25, median, q75 = np.nanquantile(v, [0.25, 0.5, 0.75], axis=0) if v.size else np.full((3, v.shape[1]), np.nan)
        spread = np.where(q75 > q25, q75 - q25, 0.5 * (np.nanmax(v, axis=0) - np.nanmin(v, axis=0)))
    spread = np.nan_to_num(spread)
    factor = np.where(spread > 0, 1.0 / np.where(spread > 0, spread, 1.0), 0.0)
    return np.nan_to_num(median), factor


def smooth_clip(z: np.ndarray) -> np.ndarray:
    """``z / sqrt(1 + (z / 3)^2)``: the identity near 0, bounded by +-3 (infinite values map to +-3)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = z / np.sqrt(1 + (z / 3) ** 2)
    return np.where(np.isinf(z), 3.0 * np.sign(z), out)


def _robust(values: np.ndarray, median: np.ndarray, factor: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        z = (values.astype(np.float64) - median) * factor
    z = np.where(np.isnan(z), 0.0, z)  # missing (and inf * 0) -> the median
    return smooth_clip(z).astype(np.float32)


def quantile_bins(values: np.ndarray, n_bins: int) -> list[list[float]]:
    """Per column: the distinct edges of ``n_bins`` quantile bins (at least 2 edges, so at least one bin)."""
    edges = []
    for col in values.T.astype(np.float64):
        e = np.unique(np.quantile(col, np.linspace(0.0, 1.0, n_bins + 1))) if len(col) else np.zeros(1)
        edges.append((e if len(e) >= 2 else np.array([e[0], e[0] + 1.0])).tolist())
    return edges


@dataclass(frozen=True)
class TableInputs:
    """Numeric columns -> float32 (standardised, or with ``scaling='robust'`` robust-scaled and smoothly clipped);
    categorical codes -> int64 embedding indices. ``bins > 0`` also fits each numeric column's quantile bin edges
    (of the values the net sees) for piecewise-linear embeddings."""

    model: str
    scaling: str = "standard"  # "standard" | "robust"
    bins: int = 0

    def fit(self, X: FeatureMatrix) -> dict[str, Any]:
        cat = list(X.categorical)
        num = [i for i in range(X.X.shape[1]) if i not in set(cat)]
        # codes are 0..levels-1 of the fold's training levels; +1 leaves index 0 for missing / unseen
        cardinality = [int(np.nanmax(X.X[:, j])) + 2 if np.isfinite(X.X[:, j]).any() else 1 for j in cat]
        state: dict[str, Any] = {
            "layout": "table",
            "n_features": X.X.shape[1],
            "numeric": num,
            "categorical": cat,
            "cardinality": cardinality,
        }
        if self.scaling == "robust":
            median, factor = robust_scale(X.X[:, num])
            state |= {"scaling": "robust", "median": median.tolist(), "scale": factor.tolist()}
        else:
            mean, std = _mean_std(X.X[:, num], axis=0) if num else (np.zeros(0), np.ones(0))
            state |= {"mean": mean.tolist(), "std": std.tolist()}
        if self.bins:
            state["bins"] = quantile_bins(self._numeric(X, state), self.bins)
        return state

    @staticmethod
    def _numeric(X: FeatureMatrix, state: dict[str, Any]) -> np.ndarray:
        values = X.X[:, state["numeric"]]
        if state.get("scaling") == "robust":
            return _robust(values, np.asarray(state["median"]), np.asarray(state["scale"]))
        return _standardise(values, np.asarray(state["mean"]), np.asarray(state["std"]))

    def arrays(self, X: FeatureMatrix, state: dict[str, Any]) -> tuple[np.ndarray, ...]:
        _check_width(self.model, X, state["n_features"])
        x_num = self._numeric(X, state)
        codes = X.X[:, state["categorical"]]
        with np.errstate(invalid="ignore"):
            idx = np.where(np.isfinite(codes), codes + 1, 0).astype(np.int64)
        idx[(idx < 0) | (idx >= np.asarray(state["cardinality"], dtype=np.int64))] = 0
        return np.ascontiguousarray(x_num), np.ascontiguousarray(idx)


@dataclass(frozen=True)
class ImageInputs:
    """Pixel columns -> ``(N, C, H, W)`` float32, standardised per channel.

    ``order='hwc'``: column ``k`` is pixel ``(k // C) // W, (k // C) % W`` of channel ``k % C`` (row-major, the
    channels of a pixel side by side: Kaggle's Digit Recognizer ``pixel0..pixel783``). ``'chw'``: column ``k`` is
    channel ``k // (H W)``, pixel ``(k % (H W)) // W, k % W`` (whole planes one after another, as CIFAR arrays).
    """

    model: str
    shape: tuple[int, int, int]  # H, W, C
    order: str = "hwc"

    def _reshape(self, X: FeatureMatrix) -> np.ndarray:
        h, w, c = self.shape
        _check_width(self.model, X, h * w * c, what=f"params.image_shape {list(self.shape)} holds {h * w * c} pixels")
        if X.categorical:
            raise ConfigError(
                f"model {self.model!r}: kind 'cnn' takes pixel columns only, but {X.names[X.categorical[0]]!r} is "
                "categorical; list the non-pixel columns in data.drop"
            )
        if self.order == "hwc":
            return X.X.reshape(-1, h, w, c).transpose(0, 3, 1, 2)
        return X.X.reshape(-1, c, h, w)

    def fit(self, X: FeatureMatrix) -> dict[str, Any]:
        images = self._reshape(X)
        pixels = _uint8_valued(images)
        if pixels is not None:  # whole values 0..255: exact statistics, as streamed images get them
            mean, std = histogram_mean_std(pixel_histogram(pixels.transpose(0, 2, 3, 1)))
        else:
            m, s = _mean_std(images, axis=(0, 2, 3))
            mean, std = m.tolist(), np.where(s > 0, s, 1.0).tolist()  # a constant channel: 1, as the histogram's
        return {"layout": "image", "shape": list(self.shape), "order": self.order, "mean": mean, "std": std}

    def arrays(self, X: FeatureMatrix, state: dict[str, Any]) -> tuple[np.ndarray, ...]:
        images = self._reshape(X)
        mean = np.asarray(state["mean"]).reshape(1, -1, 1, 1)
        std = np.asarray(state["std"]).reshape(1, -1, 1, 1)
        return (np.ascontiguousarray(_standardise(images, mean, std)),)


@dataclass(frozen=True)
class SequenceInputs:
    """Columns -> ``(N, T, F)`` float32 standardised per feature, and the ``(N,)`` int64 lengths.

    ``order='tf'``: column ``k`` is step ``k // F``, feature ``k % F``; ``'ft'``: feature ``k // T``, step ``k % T``.
    A row's length is one past its last step with any non-missing feature (at least 1); the steps after it are
    padding, zero after standardisation. An empty ``shape`` is read at ``fit`` from the column names
    ``<column>__t<step>`` (which then also give the order); the fitted state records the shape used.
    """

    model: str
    shape: tuple[int, ...]  # T, F; () = from the column names
    order: str = "tf"

    def _resolve(self, X: FeatureMatrix) -> tuple[tuple[int, int], str]:
        if self.shape:
            return (self.shape[0], self.shape[1]), self.order
        inferred = infer_sequence_shape(list(X.names))
        if inferred is None:
            odd = next((n for n in X.names if not STEP_COLUMN.fullmatch(n)), None)
            why = f"{odd!r} is not named so" if odd is not None else "their steps or features are incomplete"
            raise ConfigError(
                f"model {self.model!r}: params.sequence_shape is not given, so it is read from the column names "
                f"'<column>__t<step>' (step 0..T-1 of each of F columns), but {why}. Select the step columns with "
                "params.columns = '.+__t\\d+' or give params.sequence_shape = [steps, features per step]"
            )
        return inferred

    def _reshape(self, X: FeatureMatrix, shape: tuple[int, int], order: str) -> np.ndarray:
        t, f = shape
        _check_width(self.model, X, t * f, what=f"params.sequence_shape {list(shape)} holds {t * f} values")
        if X.categorical:
            raise ConfigError(
                f"model {self.model!r}: sequence kinds take numeric columns only, but {X.names[X.categorical[0]]!r} "
                "is categorical; list the other columns in data.drop"
            )
        return X.X.reshape(-1, t, f) if order == "tf" else X.X.reshape(-1, f, t).transpose(0, 2, 1)

    def fit(self, X: FeatureMatrix) -> dict[str, Any]:
        shape, order = self._resolve(X)
        mean, std = _mean_std(self._reshape(X, shape, order).reshape(-1, shape[1]), axis=0)
        return {
            "layout": "sequence",
            "shape": list(shape),
            "order": order,
            "mean": mean.tolist(),
            "std": std.tolist(),
        }

    def arrays(self, X: FeatureMatrix, state: dict[str, Any]) -> tuple[np.ndarray, ...]:
        seq = self._reshape(X, tuple(state["shape"]), state["order"])  # type: ignore[arg-type]
        present = np.isfinite(seq).any(axis=2)  # (N, T)
        last = seq.shape[1] - np.argmax(present[:, ::-1], axis=1)
        lengths = np.where(present.any(axis=1), last, 1).astype(np.int64)
        x = _standardise(seq, np.asarray(state["mean"]), np.asarray(state["std"]))
        return np.ascontiguousarray(x), lengths


@dataclass(frozen=True)
class HybridInputs:
    """The image branch's pixel columns and the dense branch's other columns of one feature matrix.

    ``image_columns`` (a regular expression matching whole names, or a list) picks the pixel columns among the
    columns the net reads, in their order; the rest are the table's (numeric standardised, categorical as
    embedding indices). The fitted state records both lists, so new rows are split the same way.
    """

    model: str
    shape: tuple[int, int, int]  # H, W, C
    order: str = "hwc"
    image_columns: str | list[str] = r"pixel\d+"

    def split(self, X: FeatureMatrix) -> tuple[list[str], list[str]]:
        """The pixel columns and the table columns of ``X`` (both in ``X``'s order)."""
        if isinstance(self.image_columns, str):
            pattern = re.compile(self.image_columns)
            pixels = [n for n in X.names if pattern.fullmatch(n)]
        else:
            missing = [c for c in self.image_columns if c not in X.names]
            if missing:
                raise ConfigError(
                    f"model {self.model!r}: params.image_columns names {missing[0]!r}, which is not one of the "
                    f"net's columns.{did_you_mean(missing[0], X.names)}"
                )
            pixels = list(self.image_columns)
        if not pixels:
            shown = f"'{self.image_columns}'" if isinstance(self.image_columns, str) else self.image_columns
            raise ConfigError(
                f"model {self.model!r}: kind 'hybrid' reads an image from the pixel columns params.image_columns "
                f"({shown}) picks, but none of the net's columns {list(X.names[:8])} match: give the "
                "images as [data.images] files or as pixel columns pixel0, pixel1, ... in the table, set "
                "params.image_columns to your pixel columns' names, or use kind 'mlp' for a table without images"
            )
        taken = set(pixels)
        table = [n for n in X.names if n not in taken]
        if not table:
            raise ConfigError(
                f"model {self.model!r}: kind 'hybrid' joins an image with the row's other columns, but every column "
                "the net reads is a pixel column; use kind 'cnn' for images alone, or add table columns"
            )
        cat = {X.names[i] for i in X.categorical}
        bad = next((n for n in pixels if n in cat), None)
        if bad is not None:
            raise ConfigError(
                f"model {self.model!r}: params.image_columns picks {bad!r}, which is categorical; pixel columns are "
                "numeric, so narrow params.image_columns"
            )
        h, w, c = self.shape
        if len(pixels) != h * w * c:
            raise ConfigError(
                f"model {self.model!r}: params.image_shape {list(self.shape)} holds {h * w * c} pixels but "
                f"params.image_columns picks {len(pixels)} columns ({pixels[0]!r} ...); fix the shape or "
                "params.image_columns"
            )
        return pixels, table

    def _parts(self) -> tuple[ImageInputs, TableInputs]:
        return ImageInputs(self.model, self.shape, self.order), TableInputs(self.model)

    def fit(self, X: FeatureMatrix) -> dict[str, Any]:
        pixels, table = self.split(X)
        image, tab = self._parts()
        return {
            "layout": "hybrid",
            "image_columns": pixels,
            "table_columns": table,
            "image": image.fit(take_columns(X, pixels)),
            "table": tab.fit(take_columns(X, table)),
        }

    def arrays(self, X: FeatureMatrix, state: dict[str, Any]) -> tuple[np.ndarray, ...]:
        image, tab = self._parts()
        (pixels,) = image.arrays(take_columns(X, state["image_columns"]), state["image"])
        return (pixels, *tab.arrays(take_columns(X, state["table_columns"]), state["table"]))


def _check_width(model: str, X: FeatureMatrix, expected: int, *, what: str | None = None) -> None:
    got = X.X.shape[1]
    if got != expected:
        what = what or f"the net was fit on {expected} feature columns"
        raise ConfigError(
            f"model {model!r}: {what} but the data has {got} feature columns; choose the net's columns with "
            "params.columns (a list or a regular expression), list the others in data.drop, or fix the shape"
        )
