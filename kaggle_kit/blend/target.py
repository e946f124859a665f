"""The training target of a run, as blending needs it: from the run folder's ``target.parquet``, or passed in."""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..runtime.store import RunStore


def run_target(store: RunStore, *, y: np.ndarray | None = None) -> np.ndarray:
    """The run's target in train row order: class codes ``0..C-1`` or regression values; a multi-target run's
    ``(n, T)`` matrix (NaN = a missing label)."""
    meta = store.read_meta()
    return check_target(np.asarray(y) if y is not None else store.read_target(), meta)


def check_target(y: np.ndarray, meta: dict) -> np.ndarray:
    n = int(meta["n_train"])
    targets = meta.get("targets")
    if targets:
        if y.shape != (n, len(targets)):
            raise DataError(
                f"y has shape {y.shape} but the run has {n} training rows of {len(targets)} target columns "
                f"{targets[:10]}; pass one row per training row, one column per target (NaN = missing)"
            )
        return y.astype(np.float64)
    if y.ndim != 1 or y.shape[0] != n:
        raise DataError(f"y has shape {y.shape} but the run has {n} training rows; pass one target value per row")
    classes = meta.get("classes")
    if classes is not None:
        if y.dtype.kind not in "iub" or y.min() < 0 or y.max() >= len(classes):
            raise DataError(
                f"y must hold class codes 0..{len(classes) - 1} (the index of each row's label in {classes[:10]}); "
                f"got values from {y.min()!r} to {y.max()!r}"
            )
        return y.astype(np.int64)
    return y.astype(np.float64)
