"""From the kit's :class:`~kaggle_kit.features.FeatureMatrix` to the arrays a net takes, with the normalisation
statistics fit on the fold's training rows only (``fit``) and applied to any rows (``arrays``).

The fitted state is a small JSON-able dict stored beside the weights. Three layouts:

* :class:`TableInputs` (``mlp``): numeric columns standardised (missing -> 0, the training mean), categorical
  columns as embedding indices (0 = missing or a level never seen in training).
* :class:`ImageInputs` (``cnn``): pixel columns reshaped to ``(N, C, H, W)``, standardised per channel.
* :class:`SequenceInputs` (``rnn``, ``cnn1d``): columns reshaped to ``(N, T, F)`` plus each row's length,
  standardised per feature; trailing steps whose features are all missing are padding. Without a given shape,
  ``T`` and ``F`` are read from the columns' names ``<column>__t<step>`` (as ``[data.sequences]`` writes them).

This module does not import torch.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError, did_you_mean
from ...features import FeatureMatrix
from ...features.sequence import STEP_COLUMN, infer_sequence_shape


def _mean_std(values: np.ndarray, axis: tuple[int, ...] | int) -> tuple[np.ndarray, np.ndarray]:
    """NaN-aware mean and std in float64 (mean 0 where all missing, std 1 where constant or all missing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: handled below
        v = np.where(np.isfinite(values), values, np.nan)
        mean = np.nanmean(v, axis=axis, dtype=np.float64)
        std = np.nanstd(v, axis=axis, dtype=np.float64)
    return np.nan_to_num(mean), np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)


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
    out = (values - mean.astype(np.float32)) / std.astype(np.float32)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32, copy=False)


@dataclass(frozen=True)
class TableInputs:
    """Numeric columns -> standardised float32; categorical codes -> int64 embedding indices."""

    model: str

    def fit(self, X: FeatureMatrix) -> dict[str, Any]:
        cat = list(X.categorical)
        num = [i for i in range(X.X.shape[1]) if i not in set(cat)]
        mean, std = _mean_std(X.X[:, num], axis=0) if num else (np.zeros(0), np.ones(0))
        # codes are 0..levels-1 of the fold's training levels; +1 leaves index 0 for missing / unseen
        cardinality = [int(np.nanmax(X.X[:, j])) + 2 if np.isfinite(X.X[:, j]).any() else 1 for j in cat]
        return {
            "layout": "table",
            "n_features": X.X.shape[1],
            "numeric": num,
            "categorical": cat,
            "mean": mean.tolist(),
            "std": std.tolist(),
            "cardinality": cardinality,
        }

    def arrays(self, X: FeatureMatrix, state: dict[str, Any]) -> tuple[np.ndarray, ...]:
        _check_width(self.model, X, state["n_features"])
        x_num = _standardise(X.X[:, state["numeric"]], np.asarray(state["mean"]), np.asarray(state["std"]))
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
        mean, std = _mean_std(self._reshape(X), axis=(0, 2, 3))
        return {
            "layout": "image",
            "shape": list(self.shape),
            "order": self.order,
            "mean": mean.tolist(),
            "std": std.tolist(),
        }

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


def _check_width(model: str, X: FeatureMatrix, expected: int, *, what: str | None = None) -> None:
    got = X.X.shape[1]
    if got != expected:
        what = what or f"the net was fit on {expected} feature columns"
        raise ConfigError(
            f"model {model!r}: {what} but the data has {got} feature columns; choose the net's columns with "
            "params.columns (a list or a regular expression), list the others in data.drop, or fix the shape"
        )
