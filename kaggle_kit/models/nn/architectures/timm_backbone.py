"""``backbone = "timm:NAME"``: any timm model as the trunk, the kit's head on top.

The trunk is ``timm.create_model(NAME, pretrained=False, num_classes=0, in_chans=C)`` (``num_classes=0``: timm's
pooled features, no classifier; nothing is downloaded); ``pretrained`` weights come from a local file like every
backbone's (:mod:`~kaggle_kit.models.nn.pretrained`), the checkpoint's classifier (timm's
``pretrained_cfg["classifier"]``, e.g. ``head.fc``) left out and its first convolution (``pretrained_cfg
["first_conv"]``) adapted to the image's channels. The head is ``fc``, a Linear on the pooled features after the
functional ``dropout``. timm is optional: without it the spec check says so and names the kit's own backbones.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ....errors import ConfigError, did_you_mean
from ..params import TIMM_PREFIX as PREFIX
from ..params import timm_missing
from .heads import Backbone


def import_timm(model: str, backbone: str) -> Any:
    """The ``timm`` module, or a ``ConfigError`` saying it is needed and which backbones work without it."""
    try:
        return importlib.import_module("timm")
    except ImportError:
        raise timm_missing(model, backbone) from None


def _where(model: str) -> str:
    return f"model {model!r}: " if model else ""


class TimmNet(Backbone):
    """``body``: the timm model without its classifier; ``fc``: the task's head."""

    head_name = "fc"

    def __init__(
        self,
        name: str,
        in_channels: int,
        n_outputs: int,
        *,
        dropout: float = 0.0,
        drop_path: float = 0.0,
        model: str = "",
    ) -> None:
        super().__init__()
        timm = import_timm(model, f"{PREFIX}{name}")
        kwargs: dict[str, Any] = {"pretrained": False, "num_classes": 0, "in_chans": in_channels}
        if drop_path:
            kwargs["drop_path_rate"] = drop_path
        try:
            self.body = timm.create_model(name, **kwargs)
        except RuntimeError as exc:  # timm: "Unknown model (NAME)"
            if "unknown model" not in str(exc).lower():
                raise
            known = list(timm.list_models()) if hasattr(timm, "list_models") else []
            raise ConfigError(
                f"{_where(model)}params.backbone = {PREFIX + name!r}: timm has no model {name!r} "
                f"(timm.list_models() lists them).{did_you_mean(name, known)}"
            ) from None
        self.dropout = dropout
        self.n_features = int(self.body.num_features)
        self.fc = nn.Linear(self.n_features, n_outputs)
        cfg = dict(getattr(self.body, "pretrained_cfg", None) or getattr(self.body, "default_cfg", None) or {})
        heads = cfg.get("classifier") or ()
        self._checkpoint_head = tuple(f"{h}." for h in ((heads,) if isinstance(heads, str) else heads))
        first = cfg.get("first_conv")
        self._first_conv = f"{first}.weight" if isinstance(first, str) else None

    def checkpoint_target(self) -> tuple[nn.Module, tuple[str, ...], str | None]:
        """What a checkpoint fills: the timm body; the checkpoint's classifier keys (never loaded); its first
        convolution's weight (adapted to the channels)."""
        return self.body, self._checkpoint_head, self._first_conv

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.body(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.dropout(self.pooled_features(x), self.dropout, self.training))


#: the channels at full resolution assumed when a timm model's activations cannot be measured (a stem at stride 2,
#: as ImageNet models have, would need a 256-wide first stage to exceed it)
FALLBACK_CHANNELS = 64


def widest_activation(params: dict[str, Any], shape: Sequence[int]) -> int:
    """Elements per image of the widest activation a forward pass makes, measured once per process and size: timm's
    model runs one image with every module's output seen by a hook, built on the meta device (no memory, no
    computation), or on the CPU where that fails (timm's constructors often read a tensor's value, e.g. the
    stochastic-depth rates, which a meta tensor has none of); the CPU's random state is left as it was. A model
    that runs on neither counts as ``FALLBACK_CHANNELS`` x H x W."""
    h, w, c = (int(v) for v in shape)
    return _measured(params["backbone"][len(PREFIX) :], c, h, w) or FALLBACK_CHANNELS * h * w


@functools.lru_cache(maxsize=16)
def _measured(name: str, in_channels: int, height: int, width: int) -> int:
    """The widest module output of one image through timm's ``name`` (0 where it cannot run)."""
    timm = import_timm("", f"{PREFIX}{name}")
    for device in ("meta", "cpu"):
        widest = 0

        def see(_module: nn.Module, _args: Any, output: Any) -> None:
            nonlocal widest
            for out in output if isinstance(output, (tuple, list)) else (output,):
                if isinstance(out, torch.Tensor):
                    widest = max(widest, out.numel())  # one image: all of it is that image's

        try:
            with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.device(device):
                body = timm.create_model(name, pretrained=False, num_classes=0, in_chans=in_channels).eval()
                for m in body.modules():
                    m.register_forward_hook(see)
                with torch.no_grad():
                    body(torch.zeros(1, in_channels, height, width))
            return widest
        except Exception:  # an op without a meta kernel, a value read from a meta tensor: try the next device
            continue
    return 0


def build(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int, *, model: str = "") -> TimmNet:
    return TimmNet(
        params["backbone"][len(PREFIX) :],
        inputs["shape"][2],
        n_outputs,
        dropout=params["dropout"],
        drop_path=params.get("drop_path", 0.0),
        model=model,
    )
