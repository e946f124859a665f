"""1D-CNN for sequences: a stem convolution, stages of residual blocks (the first block of each later stage halves
the length), then mean and max pooling over each row's valid steps, concatenated, dropout and a linear head."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .rnn import masked_max, masked_mean, step_mask


class ResidualBlock1d(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(c_in, c_out, k, stride, padding=k // 2, bias=False),
            nn.BatchNorm1d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv1d(c_out, c_out, k, padding=k // 2, bias=False),
            nn.BatchNorm1d(c_out),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm1d(c_out))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


class CNN1D(nn.Module):
    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        *,
        channels: list[int],
        blocks_per_stage: int = 1,
        kernel_size: int = 5,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(n_features, channels[0], kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm1d(channels[0]),
            nn.ReLU(inplace=True),
        )
        blocks: list[nn.Module] = []
        width = channels[0]
        self.strides: list[int] = []
        for stage, c in enumerate(channels):
            for b in range(blocks_per_stage):
                stride = 2 if stage > 0 and b == 0 else 1
                blocks.append(ResidualBlock1d(width, c, kernel_size, stride))
                self.strides.append(stride)
                width = c
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * width, n_outputs))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x.transpose(1, 2)))  # (N, C, T')
        for s in self.strides:  # a strided conv with padding k // 2 keeps ceil(length / stride) steps
            lengths = torch.div(lengths + s - 1, s, rounding_mode="floor")
        seq = h.transpose(1, 2)
        mask = step_mask(lengths, seq.shape[1])
        return self.head(torch.cat([masked_mean(seq, mask), masked_max(seq, mask)], 1))


def build(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int) -> CNN1D:
    return CNN1D(
        inputs["shape"][1],
        n_outputs,
        channels=params["channels"],
        blocks_per_stage=params["blocks_per_stage"],
        kernel_size=params["kernel_size"],
        dropout=params["dropout"],
    )
