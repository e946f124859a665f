"""Ensemble selection (Caruana et al., 2004), the ``hill_climb`` blend method: greedy forward selection with
replacement over any number of models, as AutoGluon's and TabArena's weighted ensembles use it.

Starting from the best single model (or the best ``init_best``: Caruana's sorted initialisation), each step adds
the model whose addition to the selection improves the objective most; a model may be added again, so its weight
grows. After ``max_steps`` picks the best prefix of that trajectory is kept, and a model's weight is its share of
the kept picks. ``bags`` > 1 is Caruana's *bagged* ensemble selection: the selection is repeated on random subsets
of ``bag_fraction`` of the models and the bags' weights are averaged, which damps the overfitting of a selection
among hundreds of configs. The result never scores worse than the best single model on the rows it was fitted on:
where a bagged average does, the best single model is kept instead.

Speed (hundreds of configs x a million rows): the selected models' predictions are kept as a running sum, so one
step scores ``(total + P_j) / (picks + 1)`` for every candidate ``j`` at once, in float32, on blocks of rows that
fit in cache (a :class:`Scorer` per kind of metric):

* log loss (and flat metrics, searched by log loss, as in ``objective.py``): the true class's probability per model
  and row, then an add, a clip and a log per candidate and row;
* RMSE, RMSLE, MAE, R2: their per-row errors, summed blockwise;
* ROC AUC: the exact Mann-Whitney statistic per candidate, per fold as the blend leaderboard scores it (see
  ``objective.make_objective``), with ties counted 1/2: each candidate's scores are packed with the row's class into
  one integer key (the float's bits, its last mantissa bit replaced by the class), so one sort orders the rows and
  the positives' positions give the negatives below each;
* any other metric: its own function, candidate by candidate.

``threads`` > 1 scores the candidates in that many threads (numpy releases the GIL in these loops). Sorting a
million rows for each of hundreds of candidates at every step is too slow, so, as AutoGluon's ensemble selection
does with its ``subsample_size``, the sort-based objectives (ROC AUC, any metric scored by its own function) select
on a random subset of ``max_rows`` rows (default 100,000); the blend is still scored on every row by nested CV.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError
from ..metrics import Metric
from .base import Blender, Fitted, check_positive, one_blas_thread
from .objective import search_metric

#: rows per block: a block of 256 candidates x 4096 rows of float32 is 4 MiB, within a core's cache
_BLOCK = 4096
_EPS = np.float32(np.finfo(np.float64).eps)  # the clip metrics.log_loss applies, whatever the dtype (2.2e-16)


# ---------------------------------------------------------------------------------------------- scorers
class Scorer(ABC):
    """Scores selections of models kept as running sums. ``base`` is ``(n_models, n_channels, n_rows)`` float32:
    what is summed (true-class probabilities, values, class scores); ``total`` a sum of ``count`` of its rows."""

    name: str = ""

    def __init__(self, base: np.ndarray, threads: int = 1) -> None:
        self.base = base
        self.threads = threads

    @property
    def n_models(self) -> int:
        return int(self.base.shape[0])

    def empty(self) -> np.ndarray:
        return np.zeros(self.base.shape[1:], dtype=np.float32)

    def mix(self, weights: np.ndarray) -> np.ndarray:
        """The weighted sum of the models (a selection of ``count`` 1 when the weights sum to 1)."""
        w = np.asarray(weights, dtype=np.float32)
        return np.tensordot(w, self.base, axes=1).astype(np.float32, copy=False)

    def loss(self, total: np.ndarray, count: float) -> float:
        """The loss of the blend ``total / count``."""
        return float(self._losses(total[None], count - 1, total * 0, np.zeros(1, dtype=np.intp))[0])

    def losses(self, total: np.ndarray, count: int, candidates: np.ndarray) -> np.ndarray:
        """The loss of ``(total + base[j]) / (count + 1)`` for each ``j`` in ``candidates`` (float64)."""
        if self.threads > 1 and candidates.size >= 2 * self.threads:
            parts = np.array_split(candidates, self.threads)
            with ThreadPoolExecutor(self.threads) as pool:
                out = list(pool.map(lambda c: self._losses(self.base, count, total, c), parts))
            return np.concatenate(out)
        return self._losses(self.base, count, total, candidates)

    @abstractmethod
    def _losses(self, base: np.ndarray, count: float, total: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """The losses of the candidate blends (see :meth:`losses`), computed from ``base``."""


def _blocks(n: int, width: int) -> list[tuple[int, int]]:
    """Row blocks of ``_BLOCK * 256 / width`` rows (at least ``_BLOCK / 4``) so that a block of ``width`` candidates
    stays a few MiB."""
    size = max(_BLOCK // 4, _BLOCK * 256 // max(width, 1))
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _rows(base: np.ndarray, candidates: np.ndarray, channel: int, a: int, b: int) -> np.ndarray:
    """``base[candidates, channel, a:b]`` without copying when the candidates are all the models in order."""
    if candidates.size == base.shape[0] and candidates[0] == 0 and np.all(np.diff(candidates) == 1):
        return base[:, channel, a:b]
    return base[candidates, channel, a:b]


class LogLossScorer(Scorer):
    """Log loss from the true class's probability: a convex combination of probability rows has, in the true
    class's column, the same combination of the models' true-class probabilities."""

    name = "log_loss"

    def _losses(self, base: np.ndarray, count: float, total: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        n = base.shape[2]
        scale = count + 1
        lo = np.float32(_EPS * scale)  # clip (total + p) / scale at eps: clip the sum at eps * scale
        out = np.zeros(candidates.size, dtype=np.float64)
        blocks = _blocks(n, candidates.size)
        buf = np.empty((candidates.size, blocks[0][1] - blocks[0][0]), dtype=np.float32)
        for a, b in blocks:
            block = buf[:, : b - a]
            np.add(_rows(base, candidates, 0, a, b), total[0, a:b], out=block)
            np.maximum(block, lo, out=block)
            np.log(block, out=block)
            out += block.sum(axis=1)  # float32 within a block (pairwise), float64 across blocks
        return math.log(scale) - out / n


class RowLossScorer(Scorer):
    """A regression metric from per-row errors: ``finish(sum of row errors, n)`` is the loss."""

    def __init__(
        self,
        base: np.ndarray,
        y: np.ndarray,
        name: str,
        row: Callable[[np.ndarray, np.ndarray], np.ndarray],
        finish: Callable[[np.ndarray, int], np.ndarray],
        threads: int = 1,
    ) -> None:
        super().__init__(base, threads)
        self.name = name
        self.y = np.asarray(y, dtype=np.float32)
        self.row = row
        self.finish = finish

    def _losses(self, base: np.ndarray, count: float, total: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        n = base.shape[2]
        scale = np.float32(1.0 / (count + 1))
        out = np.zeros(candidates.size, dtype=np.float64)
        blocks = _blocks(n, candidates.size)
        buf = np.empty((candidates.size, blocks[0][1] - blocks[0][0]), dtype=np.float32)
        for a, b in blocks:
            block = buf[:, : b - a]
            np.add(_rows(base, candidates, 0, a, b), total[0, a:b], out=block)
            block *= scale
            out += self.row(block, self.y[a:b]).sum(axis=1)  # float32 within a block, float64 across blocks
        return self.finish(out, n)


#: regression metrics scored from per-row errors in one pass (see :func:`_regression_scorer`)
_ROW_LOSSES = frozenset({"rmse", "mae", "r2", "rmsle"})


def _regression_scorer(metric: Metric, base: np.ndarray, y: np.ndarray, threads: int) -> Scorer | None:
    y32 = np.asarray(y, dtype=np.float32)
    if metric.name == "rmse":
        return RowLossScorer(base, y, "rmse", lambda x, t: np.square(x - t), lambda s, n: np.sqrt(s / n), threads)
    if metric.name == "mae":
        return RowLossScorer(base, y, "mae", lambda x, t: np.abs(x - t), lambda s, n: s / n, threads)
    if metric.name == "r2":
        sst = float(np.sum(np.square(y32.astype(np.float64) - y32.mean(dtype=np.float64))))
        if sst == 0:
            return None
        return RowLossScorer(base, y, "r2", lambda x, t: np.square(x - t), lambda s, n: s / sst - 1.0, threads)
    if metric.name == "rmsle":
        if np.any(y32 < 0):
            return None  # the metric raises on a negative target: the generic scorer reports it
        return RowLossScorer(
            base,
            np.log1p(y32),
            "rmsle",
            lambda x, t: np.square(np.log1p(np.maximum(x, 0)) - t),
            lambda s, n: np.sqrt(s / n),
            threads,
        )
    return None


class AucScorer(Scorer):
    """Exact ROC AUC (ties 1/2), the mean over the (channel, fold) pairs holding both classes, negated.

    ``base`` holds non-negative class scores with the rows grouped fold by fold; ``labels[c]`` is 1 on channel
    ``c``'s positive rows; ``groups[c]`` lists ``(start, stop, n_pos, n_neg)`` of the folds scored on it.
    """

    name = "roc_auc"

    def __init__(
        self,
        base: np.ndarray,
        labels: list[np.ndarray],
        groups: list[list[tuple[int, int, int, int]]],
        threads: int = 1,
    ) -> None:
        super().__init__(base, threads)
        self.labels = labels
        self.groups = groups
        self.n_scored = sum(len(g) for g in groups)

    def _losses(self, base: np.ndarray, count: float, total: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        out = np.empty(candidates.size, dtype=np.float64)
        clear = np.uint32(0xFFFFFFFE)
        for i, j in enumerate(candidates):
            acc = 0.0
            for c, folds in enumerate(self.groups):
                if not folds:
                    continue
                x = base[j, c] + total[c]  # non-negative floats: their bits sort as the floats do
                key = x.view(np.uint32)
                key &= clear
                key |= self.labels[c]
                for a, b, n_pos, n_neg in folds:
                    acc += _packed_auc(np.sort(key[a:b]), n_pos, n_neg)
            out[i] = -acc / self.n_scored if self.n_scored else 0.0
        return out


def _packed_auc(keys: np.ndarray, n_pos: int, n_neg: int) -> float:
    """AUC from sorted keys whose last bit is the class (1: positive): a negative tied with a positive sorts before
    it, so each positive's position minus the positives before it counts the negatives below or tied; ties are then
    taken back by half."""
    positive = np.flatnonzero(keys & np.uint32(1))
    wins = float(positive.sum(dtype=np.int64)) - n_pos * (n_pos - 1) / 2.0
    values = keys >> np.uint32(1)
    tied = values[1:] == values[:-1]
    if tied.any():
        starts = np.flatnonzero(np.concatenate(([True], ~tied)))
        sizes = np.diff(np.append(starts, keys.size))
        pos = np.add.reduceat((keys & np.uint32(1)).astype(np.int64), starts)
        wins -= float(np.sum(pos * (sizes - pos))) / 2.0
    return wins / (float(n_pos) * float(n_neg))


def _auc_scorer(preds: np.ndarray, y: np.ndarray, row_folds: np.ndarray | None, threads: int) -> AucScorer:
    n = preds.shape[1]
    groups_of_rows = np.zeros(n, dtype=np.int64) if row_folds is None else np.asarray(row_folds)
    order = np.argsort(groups_of_rows, kind="stable")  # rows grouped fold by fold
    bounds = np.flatnonzero(np.diff(groups_of_rows[order])) + 1
    starts, stops = np.concatenate(([0], bounds)), np.concatenate((bounds, [n]))
    channels = [preds.shape[2] - 1] if preds.shape[2] <= 2 else list(range(preds.shape[2]))
    base = np.empty((preds.shape[0], len(channels), n), dtype=np.float32)
    labels, groups = [], []
    codes = np.asarray(y)[order]
    for i, c in enumerate(channels):
        for j in range(preds.shape[0]):  # model by model: a 2-D gather is far slower than these 1-D ones
            base[j, i] = preds[j, :, c][order]
        positive = codes == (1 if preds.shape[2] <= 2 else c)
        labels.append(positive.astype(np.uint32))
        scored = []
        for a, b in zip(starts, stops, strict=True):
            n_pos = int(positive[a:b].sum())
            if 0 < n_pos < b - a:
                scored.append((int(a), int(b), n_pos, int(b - a - n_pos)))
        groups.append(scored)
    np.maximum(base, 0, out=base)
    base += np.float32(0)  # no -0.0, whose bits would sort last
    return AucScorer(base, labels, groups, threads)


class MetricScorer(Scorer):
    """Any metric: the blended matrix of each candidate scored by the metric's own function."""

    def __init__(self, base: np.ndarray, y: np.ndarray, metric: Metric, threads: int = 1) -> None:
        super().__init__(base, threads)
        self.name = metric.name
        self.metric = metric
        self.y = y
        self.sign = -1.0 if metric.greater_is_better else 1.0

    def _losses(self, base: np.ndarray, count: float, total: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        scale = np.float32(1.0 / (count + 1))
        return np.array(
            [self.sign * self.metric.score(self.y, ((base[j] + total) * scale).T) for j in candidates],
            dtype=np.float64,
        )


def make_scorer(
    metric: Metric,
    preds: np.ndarray,
    y: np.ndarray,
    row_folds: np.ndarray | None = None,
    threads: int = 1,
    *,
    max_rows: int | None = None,
    rng: np.random.Generator | None = None,
) -> Scorer:
    """The fastest exact :class:`Scorer` of ``metric`` (log loss for flat metrics) for ``preds``
    ``(n_models, n_rows, n_columns)`` against ``y``; ``row_folds`` makes ROC AUC the mean of per-fold AUCs.

    Scorers that sort or call the metric per candidate (ROC AUC, other metrics) see at most ``max_rows`` rows, a
    random subset drawn with ``rng``; log loss and the regression errors always see every row."""
    target = search_metric(metric)
    n = preds.shape[1]
    if max_rows is not None and n > max_rows and target.name != "log_loss" and target.name not in _ROW_LOSSES:
        rows = np.sort((rng or np.random.default_rng(0)).choice(n, size=max_rows, replace=False))
        preds, y = preds[:, rows], np.asarray(y)[rows]
        row_folds = None if row_folds is None else np.asarray(row_folds)[rows]
    if target.name == "log_loss":
        codes = np.asarray(y, dtype=np.intp)
        true_p = np.empty((preds.shape[0], 1, n), dtype=np.float32)
        flat = np.arange(n) * preds.shape[2] + codes  # each row's true class, in a model's flattened matrix
        for j in range(preds.shape[0]):  # model by model: a 2-D gather is far slower than these 1-D ones
            if preds.shape[2] == 1:
                true_p[j, 0] = np.where(codes == 1, preds[j, :, 0], 1 - preds[j, :, 0])
            else:
                np.take(np.ascontiguousarray(preds[j]).reshape(-1), flat, out=true_p[j, 0])
        return LogLossScorer(true_p, threads)
    if target.name == "roc_auc":
        return _auc_scorer(preds, y, row_folds, threads)
    if target.needs == "value" and target.column_metric is None:  # a multi-target metric: MetricScorer below
        values = np.ascontiguousarray(preds[:, :, 0], dtype=np.float32)[:, None, :]
        scorer = _regression_scorer(target, values, y, threads)
        if scorer is not None:
            return scorer
    return MetricScorer(np.ascontiguousarray(preds.transpose(0, 2, 1), dtype=np.float32), y, target, threads)


# ---------------------------------------------------------------------------------------------- the selection
@dataclass(frozen=True)
class Selection:
    """One greedy selection: picks per model (of the best prefix), its loss, and the picks tried."""

    counts: np.ndarray
    loss: float
    steps: int


def select(scorer: Scorer, candidates: np.ndarray, max_steps: int, init_best: int = 1) -> Selection:
    """Greedy forward selection with replacement among ``candidates``: the best ``init_best`` single models, then
    the best addition, up to ``max_steps`` picks in all; the best prefix of the picks is returned."""
    m = scorer.n_models
    total = scorer.empty()
    singles = scorer.losses(total, 0, candidates)
    singles = np.where(np.isfinite(singles), singles, np.inf)
    ranked = candidates[np.argsort(singles, kind="stable")]
    counts = np.zeros(m, dtype=np.int64)
    for j in ranked[: max(1, min(init_best, max_steps))]:
        counts[j] += 1
        total += scorer.base[j]
    picks = int(counts.sum())
    current = float(np.min(singles)) if picks == 1 else scorer.loss(total, picks)
    best = Selection(counts.copy(), current, picks)
    for _ in range(picks, max_steps):
        trial = scorer.losses(total, picks, candidates)
        trial = np.where(np.isfinite(trial), trial, np.inf)
        k = int(np.argmin(trial))
        j = int(candidates[k])
        counts[j] += 1
        total += scorer.base[j]
        picks += 1
        if trial[k] < best.loss - 1e-12:
            best = Selection(counts.copy(), float(trial[k]), picks)
    if float(np.min(singles)) < best.loss:  # a sorted initialisation that never recovered: the best model wins
        counts = np.zeros(m, dtype=np.int64)
        counts[ranked[0]] = 1
        best = Selection(counts, float(np.min(singles)), picks)
    return Selection(best.counts, best.loss, picks)


@dataclass(frozen=True)
class HillClimb(Blender):
    """Ensemble selection (Caruana et al., 2004): greedy forward selection with replacement, weights = each model's
    share of the picks of the best prefix of ``max_steps`` picks; ``init_best`` > 1 starts from the best N models,
    ``bags`` > 1 averages selections on random subsets of ``bag_fraction`` of the models; ``threads`` scores the
    candidates in parallel; ROC AUC and other sort-based metrics select on a random subset of ``max_rows`` rows
    (log loss and regression errors on every row). See :mod:`kaggle_kit.blend.selection`."""

    method: ClassVar[str] = "hill_climb"
    max_steps: int = 25
    init_best: int = 1
    bags: int = 1
    bag_fraction: float = 0.5
    threads: int = 1
    max_rows: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_steps", "init_best", "bags", "threads", "max_rows"):
            check_positive(self.method, name, getattr(self, name))
        f = self.bag_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
            raise ConfigError(f"the bag_fraction of blend method {self.method!r} must be a number in (0, 1]; got {f!r}")

    def fit(
        self,
        preds: np.ndarray,
        y: np.ndarray,
        metric: Metric,
        rng: np.random.Generator,
        row_folds: np.ndarray | None = None,
    ) -> Fitted:
        with one_blas_thread():
            scorer = make_scorer(metric, preds, y, row_folds, self.threads, max_rows=self.max_rows, rng=rng)
            m = preds.shape[0]
            everyone = np.arange(m)
            if self.bags == 1 or m == 1:
                chosen = select(scorer, everyone, self.max_steps, self.init_best)
                weights, loss, steps = chosen.counts / chosen.counts.sum(), chosen.loss, chosen.steps
                picks = int(chosen.counts.sum())
            else:
                size = max(1, round(self.bag_fraction * m))
                weights = np.zeros(m)
                steps = picks = 0
                for _ in range(self.bags):
                    subset = np.sort(rng.choice(m, size=size, replace=False))
                    chosen = select(scorer, subset, self.max_steps, self.init_best)
                    weights += chosen.counts / chosen.counts.sum() / self.bags
                    steps += chosen.steps
                    picks += int(chosen.counts.sum())
                loss = scorer.loss(scorer.mix(weights), 1)
                singles = scorer.losses(scorer.empty(), 0, everyone)
                best = int(np.nanargmin(np.where(np.isfinite(singles), singles, np.inf)))
                if singles[best] < loss:  # the bags' average lost to the best model on these rows: keep the model
                    weights, loss = np.eye(m)[best], float(singles[best])
        return Fitted(
            weights=np.asarray(weights, dtype=np.float64),
            info={"steps": steps, "picks": picks, "objective": scorer.name, "loss": float(loss), "bags": self.bags},
        )
