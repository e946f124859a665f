"""Multilabel-stratified folds: the iterative stratification of Sechidis, Tsoumakas and Vlahavas (2011).

Each label's positive rows are dealt out one label at a time, rarest first, each row to the fold that still wants
the most of that label (ties: the fold that wants the most rows, then a seeded random pick); rows with no positive
label left fill the folds up to their sizes. Every label's rate per fold then stays close to its overall rate, which
a plain K-fold misses for rare labels. A missing label (NaN) counts as not positive: it neither asks for nor fills a
fold's share of that label. Written here so that the kit needs no extra package (``iterative-stratification``
implements the same algorithm).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError


def iterative_stratification(y: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    """Fold ids ``0..n_splits-1`` of the rows of ``y`` (``(n, L)`` 0/1 labels, NaN = missing), fixed by ``seed``."""
    labels = np.asarray(y, dtype=np.float64)
    if labels.ndim != 2:
        raise DataError(f"folds: multilabel y must be a 2-D (rows, labels) matrix; got shape {labels.shape}")
    seen = ~np.isnan(labels)
    if np.any(seen & (labels != 0) & (labels != 1)):
        raise DataError(
            "folds: strategy='stratified' on several target columns needs 0/1 labels (NaN = missing); use "
            "strategy='kfold' for values"
        )
    positive = seen & (labels == 1)
    n = positive.shape[0]
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)  # the random order rows are dealt in, and the tie-breaker between folds
    positive = positive[order]
    wanted_rows = np.full(n_splits, n / n_splits)
    wanted = np.tile(positive.sum(axis=0) / n_splits, (n_splits, 1))  # (folds, labels): positives still wanted
    fold = np.full(n, -1, dtype=np.int64)
    left = positive.sum(axis=0).astype(np.int64)  # unassigned positive rows per label
    while left.any():
        label = int(np.flatnonzero(left)[np.argmin(left[left > 0])])  # the rarest label with rows left
        for row in np.flatnonzero(positive[:, label] & (fold < 0)):
            k = _pick(wanted[:, label], wanted_rows, rng)
            fold[row] = k
            wanted[k] -= positive[row]
            wanted_rows[k] -= 1
            left -= positive[row]
    for row in np.flatnonzero(fold < 0):  # rows without a positive label: fill the folds to their sizes
        k = _pick(wanted_rows, wanted_rows, rng)
        fold[row] = k
        wanted_rows[k] -= 1
    out = np.empty(n, dtype=np.int64)
    out[order] = fold
    return out


def _pick(first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> int:
    """The fold with the largest ``first``, ties by the largest ``second``, then at random."""
    best = np.flatnonzero(first == first.max())
    if best.size > 1:
        best = best[second[best] == second[best].max()]
    return int(best[0] if best.size == 1 else rng.choice(best))
