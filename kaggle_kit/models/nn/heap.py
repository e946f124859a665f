"""Keep freed memory in the process while a net trains, so that each batch reuses the last batch's pages.

Why: torch's CPU tensors come from ``malloc``. A CNN's forward pass allocates several activations of megabytes
each (128 images x 32 channels x 28 x 28 float32 = 12.8 MB) and frees them in the backward pass. glibc then either
gives such blocks back to the OS at once (blocks over its mmap threshold, ``munmap``) or trims the top of the heap
once more than its trim threshold is free (``sbrk``); either way the next batch gets fresh pages and takes one
minor page fault per 4 kB page it touches, in the kernel. Measured on the project's machine with the kit's CNN
``[32, 64]`` on 28 x 28 grey images, batch 128, 1 thread (``benchmarks/cnn_recipe.py --part faults``): 6,600-36,000
minor faults per training batch and 4-17 % of the CPU time in the kernel; with the thresholds below 530-920 and 1 %.
torch has no caching allocator on the CPU, so the allocator's settings are the root of it.

:func:`kept_heap` raises both thresholds for the duration of a fit or prediction (``mallopt``: blocks up to 32 MB,
glibc's largest mmap threshold, come from the heap; the heap is not trimmed while a fit runs), then hands the free
memory back (``malloc_trim``) and sets the trim threshold to 64 MB, where glibc's own dynamic threshold ends up
after freeing a 32 MB block. Process-wide and glibc-only: elsewhere (macOS, musl) it does nothing. The process's
peak memory does not grow: the batch's activations were held at the peak anyway; they are just not returned between
batches. Re-entrant: nested uses restore only at the outermost exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator
from typing import Any

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  #: glibc's maximum mmap threshold on 64-bit (HEAP_MAX_SIZE / 2)
TRIM_DURING = 2**31 - 1  #: (mallopt takes a C int) in effect: never trim while a fit runs
TRIM_AFTER = 2 * MMAP_THRESHOLD  #: glibc's dynamic trim threshold once its mmap threshold reaches 32 MB

_lock = threading.Lock()
_depth = 0
_libc: Any = None


def glibc() -> Any:
    """The C library when it is glibc (``mallopt`` and ``malloc_trim`` present), else ``None``."""
    global _libc
    if _libc is None:
        _libc = False
        try:
            if os.confstr("CS_GNU_LIBC_VERSION"):
                lib = ctypes.CDLL(None)
                if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim"):
                    _libc = lib
        except (ValueError, OSError, AttributeError):  # not glibc / no confstr name on this platform
            pass
    return _libc or None


@contextlib.contextmanager
def kept_heap() -> Iterator[None]:
    """Run the block with freed memory kept for reuse (see the module docstring)."""
    global _depth
    lib = glibc()
    if lib is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            lib.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            lib.mallopt(M_TRIM_THRESHOLD, TRIM_DURING)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                lib.mallopt(M_TRIM_THRESHOLD, TRIM_AFTER)
                lib.malloc_trim(0)
