"""The pseudo-labelled test rows one fold trains on beside its own training rows, and how they join them.

Written by the run's driver into the pseudo-labelled model's folder before its folds are fitted
(``models/<name>/<key>/pseudo/r{r}_f{k}.npz``: the test row indices and their target probabilities, npz without
pickle), read by the worker that fits the fold (:func:`kaggle_kit.runtime.pseudo.fit_pseudo_fold`), so that what each
fold was given stays on disk beside what it produced. See :mod:`kaggle_kit.runtime.pseudo` for where they come from.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import StoreError
from ..features import FeatureMatrix
from .store import atomic_write


@dataclass(frozen=True)
class PseudoRows:
    """``rows``: indices of test rows; ``targets``: ``(len(rows), C)`` float32, the probabilities they are labelled
    with (one-hot for hard labels); ``soft``: train on the probabilities rather than on the most probable class."""

    rows: np.ndarray
    targets: np.ndarray
    soft: bool

    def augment(
        self, X_train: FeatureMatrix, y_train: np.ndarray, X_pseudo: FeatureMatrix, soft_targets: bool = False
    ) -> tuple[FeatureMatrix, np.ndarray, np.ndarray | None]:
        """The fold's training rows followed by the pseudo rows (``X_pseudo``: the rows' features, encoded with the
        state fitted on the training rows), their labels, and the row weights (None: every row weighs 1).

        Hard labels: each pseudo row once, labelled with its most probable class. Soft labels, for a model that takes
        soft targets (``soft_targets``: the nets' cross-entropy): each row once, the labels an ``(n, C)`` matrix of
        class probabilities (one-hot for the training rows); otherwise each pseudo row once per class it gives a
        positive probability, labelled with that class and weighted by the probability, so that a model fitted on
        log loss minimises exactly the cross-entropy against the soft targets."""
        if self.soft and soft_targets:
            n_classes = self.targets.shape[1]
            onehot = np.eye(n_classes, dtype=np.float32)[np.asarray(y_train, dtype=np.intp)]
            X = np.concatenate([X_train.X, X_pseudo.X])
            Y = np.concatenate([onehot, self.targets.astype(np.float32)])
            return FeatureMatrix(np.ascontiguousarray(X), X_train.names, X_train.categorical), Y, None
        if not self.soft:
            labels = self.targets.argmax(axis=1).astype(y_train.dtype)
            X = np.concatenate([X_train.X, X_pseudo.X])
            return (
                FeatureMatrix(np.ascontiguousarray(X), X_train.names, X_train.categorical),
                (np.concatenate([y_train, labels])),
                None,
            )
        row, cls = np.nonzero(self.targets > 0)
        X = np.concatenate([X_train.X, X_pseudo.X[row]])
        y = np.concatenate([y_train, cls.astype(y_train.dtype)])
        weight = np.concatenate([np.ones(len(y_train)), self.targets[row, cls].astype(np.float64)])
        return FeatureMatrix(np.ascontiguousarray(X), X_train.names, X_train.categorical), y, weight


def pseudo_path(model_dir: Path, repeat: int, fold: int) -> Path:
    return model_dir / "pseudo" / f"r{repeat}_f{fold}.npz"


def write_pseudo_rows(path: Path, rows: PseudoRows) -> None:
    """Store ``rows`` at ``path`` in one step (a reader sees the whole file or none)."""
    buffer = io.BytesIO()
    np.savez(
        buffer,
        rows=np.asarray(rows.rows, dtype=np.int64),
        targets=np.asarray(rows.targets, dtype=np.float32),
        soft=np.asarray(rows.soft),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buffer.getvalue())


def read_pseudo_rows(path: Path) -> PseudoRows:
    try:
        with np.load(path, allow_pickle=False) as z:
            return PseudoRows(z["rows"], z["targets"], bool(z["soft"]))
    except (OSError, KeyError, ValueError) as exc:
        raise StoreError(
            f"the pseudo labels {str(path)!r} cannot be read ({exc}); delete the file and run again"
        ) from None
