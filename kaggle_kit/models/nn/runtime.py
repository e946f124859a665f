"""Process-wide torch settings, scoped: seeds, thread count and cuDNN flags are set for one fit and restored after.

A fit inside :func:`seeded` draws every random number (weights, dropout, shuffling, augmentation) from generators
seeded by the fold's seed and leaves the caller's global random state as it found it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def seeded(seed: int, device: str, *, deterministic: bool = True) -> Iterator[torch.Generator]:
    """Seed torch's CPU (and CUDA) generators for the block; yields a CPU generator for shuffling."""
    devices = [torch.cuda.current_device()] if device == "cuda" else []
    cudnn = torch.backends.cudnn
    saved = (cudnn.deterministic, cudnn.benchmark)
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if device == "cuda":
            cudnn.deterministic, cudnn.benchmark = deterministic, not deterministic
        try:
            yield torch.Generator().manual_seed(seed + 1)
        finally:
            cudnn.deterministic, cudnn.benchmark = saved


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads (``None``: leave the setting alone)."""
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(before)
