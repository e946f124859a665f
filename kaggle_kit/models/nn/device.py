"""What a resolved device means for training: mixed precision, memory format, host-to-device copies.

:func:`plan_device` is a pure function of its arguments (torch is asked only whether a CUDA GPU has bfloat16, and
only when that is not passed in), so the CUDA choices are tested on a CPU machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AmpSetting = Literal["auto", "off", "bf16", "fp16"]


@dataclass(frozen=True)
class DevicePlan:
    """How the trainer uses a device. ``amp_dtype`` is ``None`` when autocast is off."""

    device: Literal["cpu", "cuda"]
    amp_dtype: Literal["bfloat16", "float16"] | None
    grad_scaler: bool  # float16 gradients underflow without loss scaling; bfloat16 needs none
    channels_last: bool
    pin_memory: bool  # page-locked host buffers so host-to-device copies run asynchronously
    non_blocking: bool

    @property
    def autocast(self) -> bool:
        return self.amp_dtype is not None


def plan_device(
    device: str,
    *,
    amp: AmpSetting = "auto",
    channels_last: bool = True,
    image_input: bool = False,
    bf16_supported: bool | None = None,
) -> DevicePlan:
    """The plan for ``device`` (``"cpu"`` or ``"cuda"``): AMP and channels-last only ever on CUDA.

    >>> plan_device("cpu", amp="fp16").autocast
    False
    >>> plan = plan_device("cuda", bf16_supported=False, image_input=True)
    >>> plan.amp_dtype, plan.grad_scaler, plan.channels_last
    ('float16', True, True)
    """
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda' (resolved); got {device!r}")
    if device == "cpu":
        return DevicePlan("cpu", None, False, False, False, False)
    if amp == "auto":
        if bf16_supported is None:
            import torch

            bf16_supported = bool(torch.cuda.is_bf16_supported())
        amp = "bf16" if bf16_supported else "fp16"
    dtype: Literal["bfloat16", "float16"] | None = {"bf16": "bfloat16", "fp16": "float16"}.get(amp)  # type: ignore[assignment]
    return DevicePlan(
        device="cuda",
        amp_dtype=dtype,
        grad_scaler=dtype == "float16",
        channels_last=channels_last and image_input,
        pin_memory=True,
        non_blocking=True,
    )
