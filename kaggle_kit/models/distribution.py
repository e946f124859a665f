"""Any model family predicting a distribution (``task = "distribution"``), through one wrapper around its adapter.

A distribution task predicts, per row, a CDF at the spec's bins (scored by ``crps``) or values at its quantile
levels (scored by ``pinball``); the bins / levels reach an adapter as ``ctx.metric.grid``. The family's own adapter
is fitted on a task it knows, and :class:`DistributionAdapter` turns its output into the distribution
(``ModelSpec.distribution`` picks how):

``bins``       a classifier over the bin codes (the code of ``y`` is the index of the first bin at or above it, one
               past the last bin above them all): the CDF at bin ``j`` is the summed probability of codes ``<= j``.
               Only the codes seen in the fold's training rows are classes (a GBDT gets no empty classes). CRPS only.
``gaussian``   a regressor plus a normal noise model: the CDF (or quantile) of ``N(prediction, s^2)``, ``s`` the root
               mean square of the regressor's residuals *out of fold* on the training rows (an inner K-fold, each fit
               early-stopped on the outer validation rows as the final fit is), so ``s`` is an honest error size.
``residuals``  the same regressor, with the empirical distribution of those out-of-fold residuals around the
               prediction: the CDF at ``b`` is the share of residuals ``<= b - prediction``.
``head``       nets only (CRPS): the net's own CDF head, a softmax over the bin codes summed up, trained on CRPS
               directly (:mod:`kaggle_kit.models.nn.task`).

``auto`` is ``head`` for the net kinds under CRPS, else ``residuals``: measured, LightGBM's held-out CRPS with
``residuals`` beat ``bins`` with 300 and with 3,000 training rows of a target whose spread varies with a feature
(0.0487 vs 0.0560, 0.0448 vs 0.0469; 41 bins); on demo-diabetes-cdf (29 bins, 352 rows) LightGBM over the bins is
the weakest model (CV 0.137; the others 0.104-0.107, the baseline 0.152). ``bins`` needs many rows per bin. The
baseline (``dummy``) under CRPS is ``bins``: its class frequencies are the training rows' CDF exactly, the constant
every model must beat (under pinball: their mean plus the residuals' quantiles).
Every CDF is non-decreasing and inside [0, 1] by construction, and every set of quantiles non-decreasing.

The wrapper saves the family's native file as before and its own state (the codes, the residuals) as JSON beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ModelSpec
from ..errors import ConfigError, StoreError
from ..features import FeatureMatrix
from ..metrics import get_metric
from .base import FitContext, Fitted, ModelAdapter, take_rows

#: the wrapper's own state, saved beside the family's model file
STATE_FILE = "distribution.json"
#: inner folds over a fold's training rows that the noise models' residuals are predicted out of
NOISE_FOLDS = 5


def method_for(spec: ModelSpec, needs: str) -> str:
    """The way ``spec`` predicts a distribution scored on ``needs`` (``"cdf"`` or ``"quantile"``); a
    :class:`ConfigError` naming the model when its choice cannot work."""
    from .nn.families import FAMILIES  # the net kinds (schemas only, no torch): they have a CDF head

    method = spec.distribution
    if method == "auto":
        if needs == "cdf" and spec.kind in FAMILIES:
            return "head"
        return "bins" if needs == "cdf" and spec.kind == "dummy" else "residuals"
    if method == "head" and spec.kind not in FAMILIES:
        raise ConfigError(
            f"model {spec.name!r}: distribution = 'head' is a net's CDF head; kind {spec.kind!r} has none: use "
            f"'bins', 'gaussian' or 'residuals' (or a net kind: {', '.join(sorted(FAMILIES))})"
        )
    if method in ("head", "bins") and needs != "cdf":
        raise ConfigError(
            f"model {spec.name!r}: distribution = {method!r} predicts a CDF at bins, but this task predicts quantile "
            "levels (metric 'pinball'); use 'gaussian' or 'residuals'"
        )
    return method


def bin_codes(y: np.ndarray, bins: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """The code of each value: the index of the first bin at or above it (``len(bins)`` above every bin), so that
    ``y <= bins[j]`` exactly when ``code <= j``."""
    return np.searchsorted(np.asarray(bins, dtype=np.float64), np.asarray(y, dtype=np.float64), side="left")


def cdf_from_code_proba(proba: np.ndarray, codes: np.ndarray, n_bins: int) -> np.ndarray:
    """Class probabilities over the ``codes`` (one column each, increasing) -> the CDF at ``n_bins`` bins."""
    full = np.zeros((proba.shape[0], n_bins + 1), dtype=np.float64)
    full[:, codes] = proba
    full /= np.maximum(full.sum(axis=1, keepdims=True), 1e-12)
    return np.clip(np.cumsum(full, axis=1)[:, :n_bins], 0.0, 1.0).astype(np.float32)


def normal_cdf(z: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(z)


def normal_quantile(levels: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return ndtri(levels)


@dataclass
class DistributionModel:
    """A fitted family model and what turns its output into a distribution."""

    inner: Fitted | None  # None: every training row had the same code (the CDF is that step)
    state: dict[str, Any]


class DistributionAdapter:
    """The family's adapter ``inner`` fitted as ``method`` (see the module doc) for a distribution task."""

    def __init__(self, inner: ModelAdapter, spec: ModelSpec) -> None:
        self.inner = inner
        self.spec = spec
        self.file_name = inner.file_name
        self.uses_gpu = inner.uses_gpu
        self.thread_invariant = getattr(inner, "thread_invariant", False)
        self.reads_features = inner.reads_features
        self.library = getattr(inner, "library", None)

    # ---------------------------------------------------------------- the family's task
    def method(self, ctx: FitContext) -> str:
        return method_for(self.spec, ctx.metric.needs)

    def _grid(self, ctx: FitContext) -> tuple[float, ...]:
        if ctx.metric.grid is None:
            raise ConfigError(f"model {self.spec.name!r}: the run's metric {ctx.metric.name!r} has no bins / levels")
        return ctx.metric.grid

    def _inner_ctx(self, ctx: FitContext, method: str, n_codes: int) -> FitContext:
        """The context the family is fitted in: a classifier over ``n_codes`` codes, a CDF head, or a regressor."""
        if method == "bins":
            task = "binary" if n_codes == 2 else "multiclass"
            return replace(ctx, task=task, n_classes=n_codes, metric=get_metric("log_loss"), classes=None)  # codes
        if method == "head":  # codes scored by CRPS at the code indices: 1[code <= j] is 1[y <= bins[j]]
            return replace(ctx, task="cdf", n_classes=n_codes, metric=get_metric("crps", list(range(n_codes - 1))))
        return replace(ctx, task="regression", n_classes=1, metric=get_metric("rmse"))

    def check(self, ctx: FitContext) -> None:
        method = self.method(ctx)
        grid = self._grid(ctx)
        self.inner.check(self._inner_ctx(ctx, method, max(3, len(grid) + 1)))

    # ---------------------------------------------------------------- fit / predict
    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        method, grid = self.method(ctx), self._grid(ctx)
        if method == "bins":
            return self._fit_bins(train, y_train, valid, y_valid, ctx, grid)
        if method == "head":
            n = len(grid) + 1
            codes, codes_valid = bin_codes(y_train, grid), bin_codes(y_valid, grid)
            fitted = self.inner.fit(train, codes, valid, codes_valid, self._inner_ctx(ctx, method, n))
            return self._wrap(fitted, {"method": method, "n_codes": n})
        return self._fit_noise(train, y_train, valid, y_valid, ctx, method)

    def _fit_bins(
        self,
        train: FeatureMatrix,
        y_train: np.ndarray,
        valid: FeatureMatrix,
        y_valid: np.ndarray,
        ctx: FitContext,
        grid: tuple[float, ...],
    ) -> Fitted:
        codes = bin_codes(y_train, grid)
        seen = np.unique(codes)
        state: dict[str, Any] = {"method": "bins", "codes": seen.tolist()}
        if len(seen) == 1:
            return Fitted(model=DistributionModel(None, state))
        # a validation value whose code no training row has counts as the nearest code seen (early stopping only)
        valid_codes = bin_codes(y_valid, grid)
        nearest = np.clip(np.searchsorted(seen, valid_codes), 0, len(seen) - 1)
        below = np.clip(nearest - 1, 0, len(seen) - 1)
        nearest = np.where(np.abs(seen[below] - valid_codes) < np.abs(seen[nearest] - valid_codes), below, nearest)
        inner_ctx = self._inner_ctx(ctx, "bins", len(seen))
        fitted = self.inner.fit(train, np.searchsorted(seen, codes), valid, nearest, inner_ctx)
        return self._wrap(fitted, state)

    def _fit_noise(
        self,
        train: FeatureMatrix,
        y_train: np.ndarray,
        valid: FeatureMatrix,
        y_valid: np.ndarray,
        ctx: FitContext,
        method: str,
    ) -> Fitted:
        """The regressor on all the training rows, and its residuals out of :data:`NOISE_FOLDS` inner folds."""
        inner_ctx = self._inner_ctx(ctx, method, 1)
        y = np.asarray(y_train, dtype=np.float64)
        n = len(y)
        residuals = np.empty(n, dtype=np.float64)
        k = min(NOISE_FOLDS, n)
        if k < 2:
            raise ConfigError(f"model {self.spec.name!r}: a noise model needs at least 2 training rows; got {n}")
        fold_of = np.random.default_rng(ctx.seed).permutation(n) % k
        for f in range(k):
            held, kept = np.flatnonzero(fold_of == f), np.flatnonzero(fold_of != f)
            part = self.inner.fit(take_rows(train, kept), y[kept], valid, y_valid, inner_ctx)
            residuals[held] = y[held] - self.inner.predict(part, take_rows(train, held), inner_ctx).reshape(-1)
        fitted = self.inner.fit(train, y, valid, y_valid, inner_ctx)
        state: dict[str, Any] = {"method": method}
        if method == "gaussian":
            state["sigma"] = max(float(np.sqrt(np.mean(residuals * residuals))), 1e-12)
        else:
            state["residuals"] = np.sort(residuals).tolist()
        return self._wrap(fitted, state)

    @staticmethod
    def _wrap(fitted: Fitted, state: dict[str, Any]) -> Fitted:
        return Fitted(DistributionModel(fitted, state), fitted.best_iteration, fitted.history)

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        model: DistributionModel = fitted.model
        state, grid = model.state, np.asarray(self._grid(ctx), dtype=np.float64)
        method = state["method"]
        if method == "bins":
            codes = np.asarray(state["codes"], dtype=np.int64)
            if model.inner is None:
                proba = np.ones((len(X.X), 1))
            else:
                proba = self.inner.predict(model.inner, X, self._inner_ctx(ctx, "bins", len(codes)))
            return cdf_from_code_proba(np.asarray(proba, dtype=np.float64), codes, len(grid))
        assert model.inner is not None
        if method == "head":
            inner_ctx = self._inner_ctx(ctx, method, int(state["n_codes"]))
            return np.asarray(self.inner.predict(model.inner, X, inner_ctx), dtype=np.float32)
        point = self.inner.predict(model.inner, X, self._inner_ctx(ctx, method, 1)).reshape(-1, 1).astype(np.float64)
        if ctx.metric.needs == "quantile":
            if method == "gaussian":
                offsets = state["sigma"] * normal_quantile(grid)
            else:  # the residuals' quantiles, as numpy's default (linear) interpolation computes them
                offsets = np.quantile(np.asarray(state["residuals"]), grid)
            return (point + offsets[None, :]).astype(np.float32)
        gap = grid[None, :] - point  # F(b) = P(prediction + residual <= b) = P(residual <= b - prediction)
        if method == "gaussian":
            cdf = normal_cdf(gap / state["sigma"])
        else:
            residuals = np.asarray(state["residuals"], dtype=np.float64)
            cdf = np.searchsorted(residuals, gap.ravel(), side="right").reshape(gap.shape) / len(residuals)
        return np.clip(cdf, 0.0, 1.0).astype(np.float32)

    # ---------------------------------------------------------------- files
    def save(self, fitted: Fitted, path: Path) -> None:
        model: DistributionModel = fitted.model
        if model.inner is not None:
            self.inner.save(model.inner, path)
        path.with_name(STATE_FILE).write_text(json.dumps({**model.state, "fitted": model.inner is not None}))

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        state_path = path.with_name(STATE_FILE)
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{state_path} is missing or not JSON ({exc}); rerun the model to refit it") from None
        has_inner = bool(state.pop("fitted", True))
        if not has_inner:
            return Fitted(model=DistributionModel(None, state))
        method = state.get("method", "")
        n_codes = len(state.get("codes", [])) if method == "bins" else int(state.get("n_codes", 1))
        inner = self.inner.load(path, self._inner_ctx(ctx, method, n_codes))
        return self._wrap(inner, state)
