"""Training-time augmentation of whole batches on the device, and the views test-time augmentation averages over.

Geometric image augmentation (shifts, rotations, zoom = crop or pad) is one random affine warp per image, sampled
bilinearly with the border pixels repeated; flips are exact. Randomness comes from torch's global generator, which
:func:`~kaggle_kit.models.nn.runtime.seeded` seeds per fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

View = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ImageAugment:
    """Random transforms of an ``(N, C, H, W)`` batch; ``shift`` in pixels, ``rotate`` in degrees, ``scale`` a
    fraction (zoom by a factor in ``[1 - scale, 1 + scale]``)."""

    shift: int = 0
    rotate: float = 0.0
    scale: float = 0.0
    hflip: bool = False
    vflip: bool = False

    @property
    def active(self) -> bool:
        return bool(self.shift or self.rotate or self.scale or self.hflip or self.vflip)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        if self.shift or self.rotate or self.scale:
            x = self._warp(x, n, h, w)
        if self.hflip:
            x = torch.where(_coin(n, x.device), x.flip(-1), x)
        if self.vflip:
            x = torch.where(_coin(n, x.device), x.flip(-2), x)
        return x

    def _warp(self, x: torch.Tensor, n: int, h: int, w: int) -> torch.Tensor:
        dev = x.device
        angle = (torch.rand(n, device=dev) * 2 - 1) * math.radians(self.rotate)
        zoom = 1 + (torch.rand(n, device=dev) * 2 - 1) * self.scale
        # whole-pixel shifts, in the [-1, 1] coordinates of affine_grid (one pixel = 2 / size)
        tx = torch.randint(-self.shift, self.shift + 1, (n,), device=dev).float() * (2.0 / w)
        ty = torch.randint(-self.shift, self.shift + 1, (n,), device=dev).float() * (2.0 / h)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def tta_views(self) -> list[View]:
        """Identity, the enabled flips, and ``shift``-pixel moves in the four directions."""
        views: list[View] = [lambda x: x]
        if self.hflip:
            views.append(lambda x: x.flip(-1))
        if self.vflip:
            views.append(lambda x: x.flip(-2))
        if self.shift:
            s = self.shift
            for dy, dx in ((s, 0), (-s, 0), (0, s), (0, -s)):
                views.append(lambda x, dy=dy, dx=dx: shift_image(x, dy, dx))
        return views


def shift_image(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move an ``(N, C, H, W)`` batch by whole pixels, repeating the border (as the training warp does)."""
    h, w = x.shape[-2:]
    rows = (torch.arange(h, device=x.device) - dy).clamp(0, h - 1)
    cols = (torch.arange(w, device=x.device) - dx).clamp(0, w - 1)
    return x.index_select(-2, rows).index_select(-1, cols)


@dataclass(frozen=True)
class SequenceAugment:
    """Random shifts of an ``(N, T, F)`` batch by up to ``shift`` steps, the vacated steps repeating the edge."""

    shift: int = 0

    @property
    def active(self) -> bool:
        return self.shift > 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, t, _ = x.shape
        offsets = torch.randint(-self.shift, self.shift + 1, (n, 1), device=x.device)
        idx = (torch.arange(t, device=x.device).unsqueeze(0) - offsets).clamp(0, t - 1)
        return torch.gather(x, 1, idx.unsqueeze(-1).expand_as(x))


def _coin(n: int, device: torch.device) -> torch.Tensor:
    return (torch.rand(n, device=device) < 0.5).view(n, 1, 1, 1)
