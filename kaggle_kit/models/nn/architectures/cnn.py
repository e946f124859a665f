"""CNN for images: a stem convolution, stages of residual blocks (the first block of each later stage halves the
size), optional depthwise-separable convolutions, global average pooling, dropout and a linear head."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def conv(c_in: int, c_out: int, k: int, stride: int = 1, *, separable: bool = False) -> nn.Module:
    """A ``k x k`` convolution, or its depthwise-separable factorisation (depthwise ``k x k`` + pointwise 1x1)."""
    if not separable:
        return nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=False)
    return nn.Sequential(
        nn.Conv2d(c_in, c_in, k, stride, padding=k // 2, groups=c_in, bias=False),
        nn.Conv2d(c_in, c_out, 1, bias=False),
    )


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus the input (a strided 1x1 projection when the shape changes), then ReLU."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, *, separable: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv(c_in, c_out, k, stride, separable=separable),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            conv(c_out, c_out, k, separable=separable),
            nn.BatchNorm2d(c_out),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class ImageCNN(nn.Module):
    def __init__(
        self,
        in_channels: int,
        n_outputs: int,
        *,
        channels: list[int],
        blocks_per_stage: int = 1,
        kernel_size: int = 3,
        separable: bool = False,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels[0], kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
        )
        blocks: list[nn.Module] = []
        width = channels[0]
        for stage, c in enumerate(channels):
            for b in range(blocks_per_stage):
                stride = 2 if stage > 0 and b == 0 else 1
                blocks.append(ResidualBlock(width, c, kernel_size, stride, separable=separable))
                width = c
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(width, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.blocks(self.stem(x))))


def build(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int) -> ImageCNN:
    return ImageCNN(
        inputs["shape"][2],
        n_outputs,
        channels=params["channels"],
        blocks_per_stage=params["blocks_per_stage"],
        kernel_size=params["kernel_size"],
        separable=params["separable"],
        dropout=params["dropout"],
    )
