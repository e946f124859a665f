"""How alike the models' OOF predictions are: the correlation matrix behind "low correlation = useful diversity".

Each model's stored prediction matrix is reduced to one vector: the positive-class column for binary tasks, all
class columns end to end for multiclass, the value for regression. Rows some model never predicted (time folds)
are left out for everyone; a constant model (the baseline) has no correlation and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Correlation:
    """Pearson correlation of the models' OOF predictions, in the order of ``names``."""

    names: tuple[str, ...]
    matrix: np.ndarray

    def pairs(self) -> list[tuple[str, str, float]]:
        """Every pair of different models, least correlated first (the most promising to blend)."""
        out = [
            (self.names[i], self.names[j], float(self.matrix[i, j]))
            for i in range(len(self.names))
            for j in range(i + 1, len(self.names))
        ]
        return sorted(out, key=lambda t: t[2])


def prediction_vector(pred: np.ndarray) -> np.ndarray:
    """A stored prediction matrix as one vector (see the module docstring)."""
    pred = np.asarray(pred, dtype=np.float64)
    if pred.ndim == 1:
        return pred
    if pred.shape[1] == 2:
        return pred[:, 1]
    return pred.reshape(-1)


def oof_correlation(oofs: dict[str, np.ndarray]) -> Correlation | None:
    """The correlation of the given OOF matrices (name -> ``(n_rows, n_columns)``); None with fewer than two."""
    vectors = {name: prediction_vector(pred) for name, pred in oofs.items()}
    if not vectors:
        return None
    finite = np.logical_and.reduce([np.isfinite(v) for v in vectors.values()])
    kept = {n: v[finite] for n, v in vectors.items() if finite.any() and np.ptp(v[finite]) > 0}
    if len(kept) < 2:
        return None
    matrix = np.corrcoef(np.stack(list(kept.values())))
    return Correlation(tuple(kept), matrix)
