"""Batches of streamed sequences (``data.sequences.layout = "streamed"``): each batch gathered from the run's
:class:`~kaggle_kit.features.sequence_store.SequenceStore` and padded to its own longest sequence.

The net's feature matrix holds one column, ``__sequence``: each row's position in the store. Per batch,
:class:`SequenceBatches` reads those sequences' steps (a memory-mapped store reads only them), standardises them
with the statistics fitted on the fold's training steps (:func:`fit_streamed`; missing -> 0, as the wide layout
does), pads to the batch's longest sequence with zeros and yields ``(x, lengths, *targets)``: what ``rnn`` (packed
with ``pack_padded_sequence``) and ``cnn1d`` (masked convolutions and pooling) take, as from the wide layout. The
``(n_rows, longest, F)`` array of all rows is never built.

Training shifts (``augment_shift``) are applied here, within each sequence's own length (the wide layout's
:class:`~kaggle_kit.models.nn.augment.SequenceAugment` shifts within the padded length), drawing the same random
numbers at the same point of the loop, so on sequences of one length both layouts train alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ...errors import ConfigError, DataError
from ...features import FeatureMatrix
from ...features.sequence_store import SEQUENCE_ROW, SequenceStore, pad, sequence_rows
from .batches import batch_count
from .device import DevicePlan
from .inputs import _mean_std, _standardise


def streamed_rows(model: str, params: Mapping[str, Any], X: FeatureMatrix) -> np.ndarray | None:
    """The store positions when the net reads streamed sequences (its only column is ``__sequence``), else None.
    The wide layout's shape keys mean nothing then, so giving them is an error rather than ignored."""
    if SEQUENCE_ROW not in X.names:
        return None
    for key in ("columns", "sequence_shape"):
        if params.get(key):  # None / () (from JSON: []) = not given
            raise ConfigError(
                f'model {model!r}: data.sequences.layout = "streamed" feeds the net its rows\' sequences from the '
                f"run's store (any length, the features of data.sequences.columns); remove params.{key}"
            )
    rows = sequence_rows(X.names, X.X)
    if rows is None:
        raise ConfigError(f"model {model!r}: the column {SEQUENCE_ROW!r} must be the net's only column")
    return rows


def need_store(model: str, store: SequenceStore | None) -> SequenceStore:
    if store is None:
        raise DataError(
            f"model {model!r} reads streamed sequences but none were handed to it: fit and predict it through a run "
            "(kaggle_kit.run / kaggle-kit predict), which read the store with the data"
        )
    return store


def fit_streamed(store: SequenceStore, rows: np.ndarray) -> dict[str, Any]:
    """The input state: the store's columns and each feature's mean and std over the steps of ``rows``."""
    flat, _ = store.steps(rows)
    mean, std = _mean_std(flat, axis=0)
    return {
        "layout": "sequence",
        "source": "store",
        "shape": [0, store.n_features],  # 0: any number of steps
        "columns": list(store.columns),
        "mean": mean.tolist(),
        "std": std.tolist(),
    }


def check_store(model: str, store: SequenceStore, state: Mapping[str, Any]) -> None:
    if list(store.columns) != list(state["columns"]):
        raise DataError(
            f"model {model!r} was fit on the sequence columns {state['columns']} but these sequences hold "
            f"{list(store.columns)}; give the test long table the training columns"
        )


class SequenceBatches:
    """Batches of the sequences at ``rows`` of ``store`` (and the same rows of ``targets``), same interface as
    :class:`~kaggle_kit.models.nn.batches.Batches`: ``shuffle`` draws a row order per pass from ``generator``,
    ``drop_singleton`` drops a last batch of one row, ``shift`` > 0 shifts each training sequence randomly."""

    def __init__(
        self,
        store: SequenceStore,
        rows: np.ndarray,
        targets: Sequence[np.ndarray] = (),
        *,
        state: Mapping[str, Any],
        batch_size: int,
        plan: DevicePlan,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_singleton: bool = False,
        shift: int = 0,
    ) -> None:
        if any(len(t) != len(rows) for t in targets):
            raise ValueError(f"targets must have the {len(rows)} rows of the sequences")
        self.store, self.rows, self.n = store, np.asarray(rows, dtype=np.int64), len(rows)
        self.targets = [torch.from_numpy(np.require(t, requirements=["C", "W"])) for t in targets]
        self.mean = np.asarray(state["mean"])
        self.std = np.asarray(state["std"])
        self.batch_size = batch_size
        self.plan = plan
        self.device = torch.device(plan.device)
        self.shuffle, self.generator, self.drop_singleton, self.shift = shuffle, generator, drop_singleton, shift

    def __len__(self) -> int:
        return batch_count(self.n, self.batch_size, self.drop_singleton)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else None
        for b in range(len(self)):
            start, stop = b * self.batch_size, min((b + 1) * self.batch_size, self.n)
            idx = order[start:stop] if order is not None else torch.arange(start, stop)
            flat, lengths = self.store.steps(self.rows[idx.numpy()])
            x = torch.from_numpy(pad(_standardise(flat, self.mean, self.std), lengths, fill=0.0))
            lens = torch.from_numpy(lengths)
            if self.shift:
                x = shift_within(x, lens, self.shift)
            yield (self._to(x), self._to(lens), *(self._to(t.index_select(0, idx)) for t in self.targets))

    def _to(self, t: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cpu":
            return t
        if self.plan.pin_memory:
            t = t.pin_memory()
        return t.to(self.device, non_blocking=self.plan.non_blocking)


def shift_within(x: torch.Tensor, lengths: torch.Tensor, shift: int) -> torch.Tensor:
    """Each ``(T, F)`` sequence of the batch moved by a random whole number of steps in ``[-shift, shift]``, the
    vacated steps repeating its first or last valid step; padding stays zero."""
    n, t, _ = x.shape
    offsets = torch.randint(-shift, shift + 1, (n, 1), device=x.device)
    steps = torch.arange(t, device=x.device).unsqueeze(0)
    idx = torch.minimum((steps - offsets).clamp(0, t - 1), (lengths.unsqueeze(1) - 1).to(x.device))
    out = torch.gather(x, 1, idx.unsqueeze(-1).expand_as(x))
    return out * (steps < lengths.unsqueeze(1)).unsqueeze(-1).to(x.dtype)
