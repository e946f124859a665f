"""ConvNeXt with torchvision's module names, so that a torchvision ``convnext_*`` ``state_dict`` loads without
renaming (and a timm one after :func:`~kaggle_kit.models.nn.pretrained.timm_convnext_to_torchvision`).

torchvision's layout (``torchvision/models/convnext.py``): ``features.0`` is the stem (``.0`` a 4x4 stride-4
convolution with bias, ``.1`` a channels-first LayerNorm); ``features.{1,3,5,7}`` are the four stages, each a
``Sequential`` of blocks; ``features.{2,4,6}`` the downsampling layers between them (``.0`` LayerNorm, ``.1`` a 2x2
stride-2 convolution). A block ``features.{s}.{b}`` holds ``layer_scale`` (``[C, 1, 1]``, initialised to 1e-6) and
``block.0`` (7x7 depthwise convolution), ``block.2`` (LayerNorm over channels-last), ``block.3`` (Linear C -> 4C),
``block.5`` (Linear 4C -> C); ``block.1`` / ``.6`` are permutations and ``block.4`` a GELU (no keys). The head is
``classifier.0`` (LayerNorm after the global average pool), ``classifier.2`` (Linear). Every LayerNorm has eps 1e-6;
convolutions and linear layers start truncated-normal (std 0.02) with zero biases, as torchvision's.

Sizes: ``convnext_tiny`` / ``small`` / ``base`` / ``large`` are torchvision's (and timm's); ``convnext_atto`` /
``femto`` / ``pico`` / ``nano`` are timm's small variants (3.7M to 15.6M parameters) written in the same layout,
so timm's weights for them load after the renaming.

``small_input``: the stem convolution runs at stride 1 ('same' padding) instead of 4, so a 32 x 32 image reaches the
last stage as 4 x 4 (same weight shapes and names). ``classifier.2`` is always the task's head (``n_outputs``
wide), the checkpoint's own is never loaded; ``classifier.0`` (the final norm) is part of the backbone and loads.
``dropout`` (before ``classifier.2``) is functional, so it adds no key; ``drop_path`` is torchvision's stochastic
depth (per sample, "row" mode), its rate rising linearly from 0 at the first block to ``drop_path`` at the last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..params import resolve_small_input
from .heads import Backbone

#: backbone -> (blocks per stage, channels per stage): torchvision's table, and timm's for atto..nano
LAYOUTS: dict[str, tuple[tuple[int, int, int, int], tuple[int, int, int, int]]] = {
    "convnext_atto": ((2, 2, 6, 2), (40, 80, 160, 320)),
    "convnext_femto": ((2, 2, 6, 2), (48, 96, 192, 384)),
    "convnext_pico": ((2, 2, 6, 2), (64, 128, 256, 512)),
    "convnext_nano": ((2, 2, 8, 2), (80, 160, 320, 640)),
    "convnext_tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "convnext_small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "convnext_base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "convnext_large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
}
EPS = 1e-6
LAYER_SCALE = 1e-6


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an ``(N, C, H, W)`` tensor (torchvision's ``LayerNorm2d``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class _SameStem(nn.Conv2d):
    """The 4x4 stem at stride 1, zero-padded by 1 before and 2 after each side (torch's ``padding='same'`` split,
    without its warning about the copy it makes): the image keeps its size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (1, 2, 1, 2)))


class Permute(nn.Module):
    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth, torchvision's "row" mode: each sample's residual branch is dropped with probability ``p``
    and the kept ones scaled by ``1 / (1 - p)``."""
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
    return x * mask.div_(keep) if keep > 0 else x * mask


class CNBlock(nn.Module):
    """torchvision's ``CNBlock``: x + drop_path(layer_scale * block(x))."""

    def __init__(self, dim: int, drop_path: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=EPS),
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Linear(4 * dim, dim),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * LAYER_SCALE)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + drop_path(self.layer_scale * self.block(x), self.drop_path, self.training)


class ConvNeXt(Backbone):
    """``forward(x)``: ``(N, C, H, W)`` standardised images -> ``(N, n_outputs)``. The head is ``classifier.2``
    (what ``backbone_lr_mult`` and ``freeze_epochs`` spare, and what a checkpoint never fills; ``classifier.0``, the
    final norm, is the backbone's)."""

    head_name = "classifier.2"
    first_conv = "features.0.0.weight"

    def __init__(
        self,
        backbone: str,
        in_channels: int,
        n_outputs: int,
        *,
        small_input: bool = False,
        dropout: float = 0.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        depths, dims = LAYOUTS[backbone]
        self.small_input = small_input
        self.dropout = dropout
        stem = _SameStem(in_channels, dims[0], 4) if small_input else nn.Conv2d(in_channels, dims[0], 4, 4)
        layers: list[nn.Module] = [nn.Sequential(stem, LayerNorm2d(dims[0], eps=EPS))]
        total, block_id = sum(depths), 0
        for s, (depth, dim) in enumerate(zip(depths, dims, strict=True)):
            blocks = []
            for _ in range(depth):
                blocks.append(CNBlock(dim, drop_path * block_id / max(total - 1, 1)))
                block_id += 1
            layers.append(nn.Sequential(*blocks))
            if s < 3:
                layers.append(nn.Sequential(LayerNorm2d(dim, eps=EPS), nn.Conv2d(dim, dims[s + 1], 2, 2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.n_features = dims[-1]
        self.classifier = nn.Sequential(LayerNorm2d(dims[-1], eps=EPS), nn.Flatten(1), nn.Linear(dims[-1], n_outputs))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised pooled features before the head, ``(N, n_features)``."""
        return self.classifier[1](self.classifier[0](self.avgpool(self.features(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier[2](F.dropout(self.pooled_features(x), self.dropout, self.training))


def widest_activation(params: dict[str, Any], shape: Sequence[int]) -> int:
    """Elements per image of the widest activation a forward pass makes: a block's inverted bottleneck (its first
    Linear, 4 x the stage's channels) in the widest stage, which is the first one: the stem's output is
    ``H/4 x W/4`` (4x4 patches at stride 4) or ``H x W`` (``small_input``), and each 2x2 stride-2 downsampling
    halves both sides while the channels at most double."""
    dims = LAYOUTS[params["backbone"]][1]
    h, w = shape[0], shape[1]
    if not resolve_small_input(params["small_input"], shape):
        h, w = h // 4, w // 4
    return max(4 * dim * (h >> s) * (w >> s) for s, dim in enumerate(dims))


def build(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int, *, model: str = "") -> ConvNeXt:
    return ConvNeXt(
        params["backbone"],
        inputs["shape"][2],
        n_outputs,
        small_input=resolve_small_input(params["small_input"], inputs["shape"]),
        dropout=params["dropout"],
        drop_path=params.get("drop_path", 0.0),
    )
