"""Mini-batches prepared on the device, without worker processes.

Kaggle-sized arrays fit in memory, so a ``DataLoader`` with per-sample ``__getitem__`` calls and collation is pure
overhead. :class:`Batches` keeps the arrays as tensors and slices whole batches:

* on CPU the tensors share the numpy arrays' memory (no copy); a batch is one ``index_select`` per array;
* on CUDA, arrays up to ``resident_bytes`` are copied to the GPU once and batches are gathered there, so the GPU
  never waits for the host; larger arrays stay in page-locked (pinned) host memory and each batch is gathered into
  one of two pinned staging buffers and copied asynchronously while the previous batch computes. The same path
  runs on CPU when ``resident_bytes`` asks for it, so it is tested without a GPU.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from .device import DevicePlan

RESIDENT_BYTES = 2 << 30  #: arrays up to this size live on the GPU for the whole fit


def batch_count(n: int, batch_size: int, drop_singleton: bool) -> int:
    """Batches of ``batch_size`` rows over ``n`` rows; ``drop_singleton`` drops a last batch of one row (BatchNorm
    cannot train on it) when there is a full batch before it. Every batch source counts its batches here."""
    full, rest = divmod(n, batch_size)
    if rest == 1 and drop_singleton and full > 0:
        rest = 0
    return full + (rest > 0)


class Batches:
    """Batches of the rows of same-length arrays: a tuple of tensors on ``plan.device`` per batch.

    ``shuffle`` draws a new row order each pass from ``generator``. ``drop_singleton`` drops a last batch of one
    row (BatchNorm cannot train on it) when there is more than one batch. ``resident_bytes``: arrays up to this size
    are held on the device whole (default: always on CPU, :data:`RESIDENT_BYTES` on CUDA); larger ones are streamed
    through the staging buffers (on CPU too when asked, which is how the streamed path is tested without a GPU).
    """

    def __init__(
        self,
        arrays: Sequence[np.ndarray],
        *,
        batch_size: int,
        plan: DevicePlan,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_singleton: bool = False,
        resident_bytes: int | None = None,
    ) -> None:
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            raise ValueError(f"arrays of one batch must have the same number of rows; got {sorted(lengths)}")
        self.n = lengths.pop()
        self.batch_size = batch_size
        self.plan = plan
        self.shuffle = shuffle
        self.generator = generator
        self.drop_singleton = drop_singleton
        host = [torch.from_numpy(np.require(a, requirements=["C", "W"])) for a in arrays]  # copied only if read-only
        nbytes = sum(t.numel() * t.element_size() for t in host)
        self.device = torch.device(plan.device)
        if resident_bytes is None:
            resident_bytes = RESIDENT_BYTES if plan.device == "cuda" else nbytes
        self.resident = nbytes <= resident_bytes
        if self.resident:
            self.tensors = [t.to(self.device) for t in host]
        else:
            self.tensors = [t.pin_memory() if plan.pin_memory else t for t in host]
            self._staging = [
                [torch.empty((batch_size, *t.shape[1:]), dtype=t.dtype, pin_memory=plan.pin_memory) for t in host]
                for _ in range(2)
            ]
            self._copied = [torch.cuda.Event(), torch.cuda.Event()] if plan.device == "cuda" else None

    def __len__(self) -> int:
        return batch_count(self.n, self.batch_size, self.drop_singleton)

    def _order(self) -> torch.Tensor | None:
        if not self.shuffle:
            return None
        return torch.randperm(self.n, generator=self.generator)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        order = self._order()
        if self.resident and order is not None:
            order = order.to(self.device)
        for b in range(len(self)):
            start, stop = b * self.batch_size, min((b + 1) * self.batch_size, self.n)
            if self.resident:
                if order is None:
                    yield tuple(t[start:stop] for t in self.tensors)
                else:
                    idx = order[start:stop]
                    yield tuple(t.index_select(0, idx) for t in self.tensors)
            else:
                yield self._streamed(b, start, stop, order)

    def _streamed(self, b: int, start: int, stop: int, order: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """Gather rows into staging buffer ``b % 2`` and copy it to the device (asynchronously from pinned memory);
        the buffer is reused two batches later, once its copy has finished."""
        slot = b % 2
        if self._copied is not None:
            self._copied[slot].synchronize()
        staging = [buf[: stop - start] for buf in self._staging[slot]]
        for t, buf in zip(self.tensors, staging, strict=True):
            if order is None:
                buf.copy_(t[start:stop])
            else:
                torch.index_select(t, 0, order[start:stop], out=buf)
        if self._copied is None:  # CPU: the caller gets its own copy, the buffer is refilled two batches on
            return tuple(buf.clone() for buf in staging)
        out = tuple(buf.to(self.device, non_blocking=self.plan.non_blocking) for buf in staging)
        self._copied[slot].record()
        return out
