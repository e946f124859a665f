"""Long-table sequences kept compact: every step of every sequence in one ``(S, F)`` array, read per batch.

``[data.sequences] layout = "streamed"`` keeps the sequences this way instead of laying the steps side by side as
columns (:func:`~kaggle_kit.features.sequence.sequence_wide`), which costs ``n_ids x max_len x F`` values and one
polars column per step and feature. A :class:`SequenceStore` holds

* ``values``: float32 ``(S, F)``, the steps of sequence 0 (in step order), then sequence 1's, ... (missing -> NaN);
* ``offsets``: int64 ``(n + 1,)``, sequence ``i``'s steps are ``values[offsets[i]:offsets[i + 1]]``;

so memory is one value per step that exists. The run saves it as ``values.npy`` / ``offsets.npy`` in the run folder
and reads it back memory-mapped (worker processes share the page cache). Each frame row (one per id, as always)
holds its sequence's position in the store in the column :data:`SEQUENCE_ROW`, which is not a feature: only the
sequence nets read it, through the :class:`SequenceRows` step the spec adds to their pipelines. A batch is padded
to its own longest sequence (:meth:`SequenceStore.batch`), never to the longest of the data.

Example::

    store = build_sequence_store(long, "id", ["x", "y"], ids=labels["id"], order_by="step")
    x, lengths = store.batch(np.array([3, 0]))     # (2, longest of the two, 2) float32, NaN padding
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from ..errors import DataError, StoreError
from .base import Roles, Step, StepContext, register

#: The frame column holding each row's position in the run's :class:`SequenceStore`.
SEQUENCE_ROW = "__sequence"
#: Positions travel through the float32 feature matrix, which holds integers exactly up to 2 ** 24.
MAX_SEQUENCES = 1 << 24
_FORMAT = 1


@dataclass(frozen=True, eq=False)
class SequenceStore:
    """``n`` sequences of ``F`` float32 features, stored end to end (see the module's docstring)."""

    values: np.ndarray  #: (S, F) float32
    offsets: np.ndarray  #: (n + 1,) int64, offsets[0] = 0, offsets[-1] = S
    columns: tuple[str, ...]
    #: the :attr:`digest` when already known (read back from ``store.json``); else it is computed on first use
    known_digest: str | None = field(default=None, repr=False)
    path: Path | None = None  #: the folder it was saved in / read from (memory-mapped), if any

    @cached_property
    def digest(self) -> str:
        """A hash of the content, part of the run's data fingerprint: sha256 of the columns (JSON), the offsets and
        the values, first 16 hex digits. Computed when first asked for, so that a run's train and test stores,
        which only live to be concatenated, never hash their values: each value is hashed once, in the run's store."""
        if self.known_digest is not None:
            return self.known_digest
        return _digest(self.values, self.offsets, self.columns)

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_features(self) -> int:
        return self.values.shape[1]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def steps(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The steps of sequences ``rows`` end to end, ``(sum of lengths, F)``, and their lengths."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n):
            raise DataError(f"sequence rows must be 0..{self.n - 1}; got {rows.min()}..{rows.max()}")
        starts, lengths = self.offsets[rows], self.offsets[rows + 1] - self.offsets[rows]
        before = np.cumsum(lengths) - lengths
        index = np.repeat(starts - before, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)
        return self.values[index], lengths

    def batch(self, rows: np.ndarray, fill: float = np.nan) -> tuple[np.ndarray, np.ndarray]:
        """``(x, lengths)``: x float32 ``(len(rows), L, F)`` with ``L`` the longest of these sequences, the steps
        after a sequence's end set to ``fill``. Allocates this batch only."""
        flat, lengths = self.steps(rows)
        return pad(flat, lengths, fill), lengths

    def save(self, folder: Path) -> SequenceStore:
        """Write ``values.npy``, ``offsets.npy`` and ``store.json`` into ``folder`` (temp names, then renamed) unless
        it already holds this content; the store read back memory-mapped."""
        folder.mkdir(parents=True, exist_ok=True)
        meta = folder / "store.json"
        if meta.is_file() and json.loads(meta.read_text()).get("digest") == self.digest:
            return open_sequence_store(folder)
        meta.unlink(missing_ok=True)  # written last: arrays half replaced never pass for the old content
        for name, array in (("values.npy", self.values), ("offsets.npy", self.offsets)):
            tmp = folder / f".{name}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, np.ascontiguousarray(array), allow_pickle=False)
            tmp.replace(folder / name)
        info = {"format": _FORMAT, "digest": self.digest, "columns": list(self.columns), "n": self.n}
        tmp = folder / ".store.json.tmp"
        tmp.write_text(json.dumps(info))
        tmp.replace(meta)
        return open_sequence_store(folder)

    def __reduce__(self) -> tuple[Any, ...]:
        """A saved store travels to worker processes as its folder (read there memory-mapped), not its values."""
        if self.path is not None:
            return (open_sequence_store, (self.path,))
        known = self.__dict__.get("digest", self.known_digest)  # the digest if computed, else computed if asked
        return (SequenceStore, (self.values, self.offsets, self.columns, known, None))


def pad(flat: np.ndarray, lengths: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """Steps end to end ``(sum of lengths, F)`` -> ``(len(lengths), max length, F)``, ``fill`` after each end."""
    n, longest = len(lengths), int(lengths.max()) if len(lengths) else 0
    out = np.full((n, longest, flat.shape[1]), fill, dtype=flat.dtype)
    before = np.cumsum(lengths) - lengths
    row = np.repeat(np.arange(n), lengths)
    out[row, np.arange(len(flat)) - np.repeat(before, lengths)] = flat
    return out


def run_sequences_folder(root: Path | str) -> Path:
    """Where a run keeps its streamed sequences (``values.npy``, ``offsets.npy``, ``store.json``)."""
    return Path(root) / "sequences"


def open_sequence_store(folder: Path | str) -> SequenceStore:
    """A store :meth:`SequenceStore.save` wrote, its values memory-mapped (read-only)."""
    folder = Path(folder)
    try:
        info = json.loads((folder / "store.json").read_text())
        values = np.load(folder / "values.npy", mmap_mode="r", allow_pickle=False)
        offsets = np.load(folder / "offsets.npy", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"{folder} does not hold readable sequences ({exc}); rerun `kaggle-kit run CONFIG` to write them again"
        ) from None
    if info.get("format") != _FORMAT or values.ndim != 2 or len(offsets) != info.get("n", -1) + 1:
        raise StoreError(
            f"{folder}/store.json does not describe values.npy / offsets.npy (format {info.get('format')}); rerun "
            "`kaggle-kit run CONFIG` to write them again"
        )
    return SequenceStore(values, offsets.astype(np.int64, copy=False), tuple(info["columns"]), info["digest"], folder)


def build_sequence_store(
    long: pl.DataFrame,
    id: str,
    columns: Sequence[str],
    *,
    ids: pl.Series,
    order_by: str | None = None,
    max_len: int | None = None,
    keep: Literal["first", "last"] = "first",
) -> SequenceStore:
    """The sequences of ``ids`` (in that order; each must have rows in ``long``), their steps in ``order_by``
    order (else the table's row order); a sequence longer than ``max_len`` keeps its ``keep`` ``max_len`` steps,
    as :func:`~kaggle_kit.features.sequence.sequence_wide` does. Never builds an ``ids x steps`` array."""
    if len(ids) > MAX_SEQUENCES:
        raise DataError(f"{len(ids)} sequences is more than the {MAX_SEQUENCES} a streamed layout can address")
    position = pl.DataFrame({id: ids, "__pos": np.arange(len(ids), dtype=np.int64)})
    order = ["__pos", order_by] if order_by is not None else ["__pos"]
    frame = (
        long.lazy()
        .select(id, *([order_by] if order_by is not None else []), *columns)
        .join(position.lazy(), on=id, how="inner", maintain_order="left")
        .sort(order, maintain_order=True)
    )
    if max_len is not None:
        step = pl.int_range(pl.len(), dtype=pl.Int64).over("__pos")
        if keep == "last":
            step = step - (pl.len().over("__pos").cast(pl.Int64) - max_len).clip(lower_bound=0)
        frame = frame.filter(step.is_between(0, max_len - 1))
    frame = frame.select("__pos", *(pl.col(c).cast(pl.Float32) for c in columns)).collect()
    values = frame.select(columns).to_numpy(order="c").astype(np.float32, copy=False)
    values = np.ascontiguousarray(np.where(np.isfinite(values), values, np.nan), dtype=np.float32)
    counts = np.bincount(frame["__pos"].to_numpy(), minlength=len(ids))
    if len(ids) and counts.min() == 0:
        missing = ids[int(np.argmin(counts))]
        raise DataError(f"id {missing!r} has no rows in the long table; every id needs its sequence")
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return SequenceStore(values, offsets, tuple(columns))


def concat_stores(first: SequenceStore, second: SequenceStore) -> SequenceStore:
    """``first``'s sequences, then ``second``'s (a run's train then test sequences)."""
    if first.columns != second.columns:
        raise DataError(f"the sequences hold different columns: {list(first.columns)} and {list(second.columns)}")
    values = np.concatenate([first.values, second.values])
    offsets = np.concatenate([first.offsets, second.offsets[1:] + first.offsets[-1]])
    return SequenceStore(values, offsets, first.columns)


def _digest(values: np.ndarray, offsets: np.ndarray, columns: Sequence[str]) -> str:
    h = hashlib.sha256(json.dumps(list(columns)).encode())
    h.update(offsets.tobytes())
    h.update(np.ascontiguousarray(values).view(np.uint8).data)
    return h.hexdigest()[:16]


@register
class SequenceRows(Step):
    """The features become the row's sequence alone: the :data:`SEQUENCE_ROW` column (its position in the run's
    store). The spec adds this step last to the pipelines of the sequence nets (``rnn``, ``cnn1d``) when
    ``data.sequences.layout = "streamed"``; the other models never see the column."""

    kind = "sequence_rows"

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        if SEQUENCE_ROW not in frame.collect_schema():
            raise DataError(
                f"{ctx.where}: the frame has no {SEQUENCE_ROW!r} column; it is written by [data.sequences] with "
                'layout = "streamed" (this step reads the sequences from the run\'s store)'
            )
        return {"columns": [SEQUENCE_ROW], "dropped": [c for c in ctx.roles.features if c != SEQUENCE_ROW]}

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        return frame

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        roles.remove(state["dropped"])
        roles.add([SEQUENCE_ROW])


def sequence_rows(X_names: Sequence[str], X: np.ndarray) -> np.ndarray | None:
    """The store positions of a feature matrix whose only column is :data:`SEQUENCE_ROW`; None for other layouts."""
    if list(X_names) != [SEQUENCE_ROW]:
        return None
    rows = X[:, 0]
    if not np.isfinite(rows).all():
        raise DataError(f"the column {SEQUENCE_ROW!r} has missing positions: every row needs its sequence")
    return rows.astype(np.int64)
