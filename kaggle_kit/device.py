"""Resolve the spec's ``device`` setting (``auto | cpu | cuda``) once per run.

CUDA is detected through the driver library (``libcuda``) so that a tree-only run never has to import torch.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Literal

from .errors import ConfigError

ResolvedDevice = Literal["cpu", "cuda"]


@functools.cache
def cuda_device_count() -> int:
    """Number of CUDA devices the driver reports; 0 where there is no driver or no GPU."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.cuda.device_count())
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0
    return count.value


def resolve_device(setting: str, *, n_gpus: int | None = None) -> ResolvedDevice:
    """``auto`` picks CUDA where a GPU is visible; asking for ``cuda`` without one is an error, not a silent CPU run.

    ``n_gpus`` overrides the detection (tests use it to check the selection logic on a CPU machine).
    """
    gpus = cuda_device_count() if n_gpus is None else n_gpus
    if setting == "auto":
        return "cuda" if gpus > 0 else "cpu"
    if setting == "cpu":
        return "cpu"
    if setting == "cuda":
        if gpus == 0:
            raise ConfigError(
                "device = 'cuda' but no CUDA GPU is visible on this machine; use device = 'auto' or 'cpu'"
            )
        return "cuda"
    raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda'; got {setting!r}")
