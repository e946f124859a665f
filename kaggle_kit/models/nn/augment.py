"""Training-time augmentation of whole batches on the device, and the views test-time augmentation averages over.

Geometric image augmentation (shifts, rotations, zoom = crop or pad, random-resized crops) is one random affine warp
per image, sampled bilinearly with the border pixels repeated; flips are exact. Each transform is also a plain
function of explicit parameters (:func:`affine_theta`, :func:`crop_resize`, :func:`shift_image`), which is how
they are tested. Randomness comes from torch's global generator, which
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
    fraction (zoom by a factor in ``[1 - scale, 1 + scale]``), ``crop`` a fraction (random-resized crop: a window
    of ``1 - crop`` to all of the image's area, aspect ratio in ``[3/4, 4/3]``, stretched back to ``H x W``).

    Shifts, rotations, zoom and crops are one affine warp per image (a single bilinear resampling); flips are exact.
    """

    shift: int = 0
    rotate: float = 0.0
    scale: float = 0.0
    hflip: bool = False
    vflip: bool = False
    crop: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.shift or self.rotate or self.scale or self.crop or self.hflip or self.vflip)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        if self.shift or self.rotate or self.scale or self.crop:
            x = warp(x, self.sample_theta(n, h, w, x.device))
        if self.hflip:
            x = torch.where(_coin(n, x.device), x.flip(-1), x)
        if self.vflip:
            x = torch.where(_coin(n, x.device), x.flip(-2), x)
        return x

    def sample_theta(self, n: int, h: int, w: int, device: torch.device) -> torch.Tensor:
        """``(N, 2, 3)`` random affine maps (output -> input, in ``affine_grid``'s ``[-1, 1]`` coordinates)."""
        angle = (torch.rand(n, device=device) * 2 - 1) * math.radians(self.rotate)
        zoom = 1 + (torch.rand(n, device=device) * 2 - 1) * self.scale
        dx = torch.randint(-self.shift, self.shift + 1, (n,), device=device).float()
        dy = torch.randint(-self.shift, self.shift + 1, (n,), device=device).float()
        theta = affine_theta(angle, zoom, dx, dy, h, w)
        if self.crop:
            theta = compose(crop_theta(sample_crop_boxes(n, h, w, self.crop, device), h, w), theta)
        return theta

    def tta_views(self) -> list[View]:
        """Identity, the flips and the ``shift``-pixel moves in the four directions that training used.

        Rotations, zoom and crops have no canonical views, so test-time augmentation does not average over them.
        """
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


def affine_theta(
    angle: torch.Tensor, zoom: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor, h: int, w: int
) -> torch.Tensor:
    """``(N, 2, 3)`` maps that rotate by ``angle`` (radians) about the centre, zoom by ``zoom`` (> 1 zooms in) and
    sample ``dx`` / ``dy`` whole pixels away (the content moves by ``-dx``, ``-dy``)."""
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    tx, ty = dx * (2.0 / w), dy * (2.0 / h)  # one pixel = 2 / size in [-1, 1] coordinates
    return torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)


def sample_crop_boxes(n: int, h: int, w: int, crop: float, device: torch.device) -> torch.Tensor:
    """``(N, 4)`` random windows ``(top, left, height, width)`` in pixels, inside the image: area a uniform share
    of ``[1 - crop, 1]`` of the image's, aspect ratio log-uniform in ``[3/4, 4/3]`` (clipped to the image)."""
    area = 1 - torch.rand(n, device=device) * crop
    log_ratio = (torch.rand(n, device=device) * 2 - 1) * math.log(4 / 3)
    width = (torch.sqrt(area * torch.exp(log_ratio)) * w).clamp(max=w)
    height = (torch.sqrt(area / torch.exp(log_ratio)) * h).clamp(max=h)
    left = torch.rand(n, device=device) * (w - width)
    top = torch.rand(n, device=device) * (h - height)
    return torch.stack([top, left, height, width], 1)


def crop_theta(boxes: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``(N, 2, 3)`` maps that stretch the windows ``(top, left, height, width)`` (pixels) over the whole output."""
    top, left, height, width = boxes.unbind(1)
    zero = torch.zeros_like(top)
    sx, sy = width / w, height / h
    cx, cy = (2 * left + width) / w - 1, (2 * top + height) / h - 1
    return torch.stack([torch.stack([sx, zero, cx], 1), torch.stack([zero, sy, cy], 1)], 1)


def compose(outer: torch.Tensor, inner: torch.Tensor) -> torch.Tensor:
    """The map ``p -> outer(inner(p))`` of two ``(N, 2, 3)`` affine maps."""
    return torch.cat([outer[:, :, :2] @ inner[:, :, :2], outer[:, :, :2] @ inner[:, :, 2:] + outer[:, :, 2:]], 2)


def warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample an ``(N, C, H, W)`` batch through ``(N, 2, 3)`` affine maps: bilinear, the border repeated."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def crop_resize(x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Each image's window ``(top, left, height, width)`` (pixels, fractions allowed) stretched to ``H x W``."""
    return warp(x, crop_theta(boxes.to(x.dtype), *x.shape[-2:]))


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
