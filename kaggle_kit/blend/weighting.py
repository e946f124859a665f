"""Blends that are weighted averages of the models: plain mean, rank average, Nelder-Mead (greedy ensemble
selection, ``hill_climb``, is in :mod:`.selection`).

Each learns one weight per model (on the simplex: non-negative, summing to 1) from the rows it is given; the same
weights blend the held-out rows and the fold-pooled test predictions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.optimize import minimize
from scipy.stats import rankdata

from ..metrics import Metric
from .base import Blender, Fitted, check_positive, one_blas_thread, to_simplex, weighted_sum
from .objective import Objective, make_objective


@dataclass(frozen=True)
class Mean(Blender):
    """Equal weights: the baseline every other blend must beat."""

    method: ClassVar[str] = "mean"

    def fit(
        self,
        preds: np.ndarray,
        y: np.ndarray,
        metric: Metric,
        rng: np.random.Generator,
        row_folds: np.ndarray | None = None,
    ) -> Fitted:
        m = preds.shape[0]
        return Fitted(weights=np.full(m, 1.0 / m))


@dataclass(frozen=True)
class Rank(Mean):
    """Mean of the models' normalised ranks (ties averaged), per class column: for rank metrics such as AUC,
    where models whose probabilities live on different scales should count equally. The output is a score in
    ``(0, 1]``, not a probability; ranks are taken within the rows being blended (held-out fold, test set)."""

    method: ClassVar[str] = "rank"
    needs_rank_metric: ClassVar[bool] = True

    def predict(self, fitted: Fitted, preds: np.ndarray) -> np.ndarray:
        assert fitted.weights is not None
        if preds.shape[2] == 2:  # binary: rank the positive class, keep the pair complementary
            positive = weighted_sum(fitted.weights, _ranks(preds[:, :, 1:]))[:, 0]
            return np.column_stack([1 - positive, positive]).astype(np.float32)
        return weighted_sum(fitted.weights, _ranks(preds))


@dataclass(frozen=True)
class NelderMead(Blender):
    """Weights found by ``scipy.optimize.minimize(method="Nelder-Mead")`` on the competition metric (or log loss
    where the metric is flat), the raw parameters mapped onto the simplex inside the objective.

    ``restarts`` starting points (equal weights, the best single model at half weight, then random Dirichlet
    draws) are each searched, for at most ``max_evals`` evaluations (default ``200 + 100 * n_models``); the best
    result is kept. On more than ``search_rows`` rows the restarts search a random subset of that many rows, and
    the winner is polished on subsets five times larger, up to all rows (``20 * n_models`` evaluations each, from a
    smaller simplex): most evaluations are cheap, the last ones see every row.
    """

    method: ClassVar[str] = "nelder_mead"
    restarts: int = 3
    search_rows: int = 25_000
    max_evals: int | None = None

    def __post_init__(self) -> None:
        check_positive(self.method, "restarts", self.restarts)
        check_positive(self.method, "search_rows", self.search_rows)
        if self.max_evals is not None:
            check_positive(self.method, "max_evals", self.max_evals)

    def fit(
        self,
        preds: np.ndarray,
        y: np.ndarray,
        metric: Metric,
        rng: np.random.Generator,
        row_folds: np.ndarray | None = None,
    ) -> Fitted:
        with one_blas_thread():
            return self._search(preds, y, metric, rng, row_folds)

    def _search(
        self, preds: np.ndarray, y: np.ndarray, metric: Metric, rng: np.random.Generator, row_folds: np.ndarray | None
    ) -> Fitted:
        m = preds.shape[0]
        if m == 1:
            return Fitted(weights=np.ones(1), info={"evals": 0})
        max_evals = self.max_evals or 200 + 100 * m
        objectives = _staged_objectives(metric, preds, y, row_folds, self.search_rows, rng)

        search = objectives[0]
        eye = np.eye(m)
        singles = [search.loss(eye[j]) for j in range(m)]
        evals = m
        starts = [np.full(m, 1.0 / m)]
        if self.restarts > 1:
            starts.append(0.5 * eye[int(np.nanargmin(singles))] + 0.5 / m)
        starts.extend(rng.dirichlet(np.ones(m)) for _ in range(self.restarts - 2))
        step = max(0.05, 1.0 / m)
        best_x, best_f = starts[0], np.inf
        for x0 in starts:
            x, f, used = _nelder_mead(search, x0, step, max_evals)
            evals += used
            if f < best_f:
                best_x, best_f = x, f
        for objective in objectives[1:]:  # polish the winner on ever more rows, from ever smaller simplices
            step /= 2
            best_x = to_simplex(best_x)
            best_x, best_f, used = _nelder_mead(objective, best_x, step, 20 * m)
            evals += used
        weights = to_simplex(best_x)
        return Fitted(weights=weights, info={"evals": evals, "objective": search.name, "loss": float(best_f)})


def _staged_objectives(
    metric: Metric,
    preds: np.ndarray,
    y: np.ndarray,
    row_folds: np.ndarray | None,
    search_rows: int,
    rng: np.random.Generator,
) -> list[Objective]:
    """Objectives on nested random subsets of ``search_rows``, 5x that, ... rows, the last on every row."""
    n = preds.shape[1]
    sizes = []
    size = search_rows
    while 2 * size <= n:
        sizes.append(size)
        size *= 5
    if not sizes:
        return [make_objective(metric, preds, y, row_folds)]
    order = rng.permutation(n)
    objectives = []
    for size in sizes:
        rows = np.sort(order[:size])
        objectives.append(
            make_objective(metric, preds[:, rows], y[rows], None if row_folds is None else row_folds[rows])
        )
    objectives.append(make_objective(metric, preds, y, row_folds))
    return objectives


def _ranks(preds: np.ndarray) -> np.ndarray:
    """Average ranks over the rows (axis 1) divided by the row count, per model and column, as float32."""
    return (rankdata(preds, axis=1) / preds.shape[1]).astype(np.float32)


#: A search stops when the simplex's vertices are this close in parameter space (weights ~ parameters / their sum)
#: and their losses this close: far below what separates two blends' scores, far above float32 noise.
_XATOL = 1e-3
_FATOL = 1e-5


def _nelder_mead(objective: Objective, x0: np.ndarray, step: float, max_evals: int) -> tuple[np.ndarray, float, int]:
    """One Nelder-Mead search in raw-parameter space; returns (raw params, loss, evaluations)."""
    m = x0.shape[0]
    simplex = np.vstack([x0, x0 + step * np.eye(m)])

    def fun(raw: np.ndarray) -> float:
        value = objective.loss(to_simplex(raw))
        return value if math.isfinite(value) else math.inf

    res = minimize(
        fun,
        x0,
        method="Nelder-Mead",
        options={
            "initial_simplex": simplex,
            "xatol": _XATOL,
            "fatol": _FATOL,
            "maxfev": max_evals,
            "adaptive": m > 2,
        },
    )
    return np.asarray(res.x), float(res.fun), int(res.nfev)
