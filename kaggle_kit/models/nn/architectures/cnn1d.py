"""1D-CNN for sequences: a stem convolution, stages of residual blocks (the first block of each later stage halves
the length), then mean and max pooling over each row's valid steps, concatenated, dropout and a linear head.

Padding never reaches a valid step: the steps after a sequence's end are zeroed before every convolution (the
zeros a convolution's own padding would read), batch normalisation takes its training statistics over the valid
steps only (:class:`MaskedBatchNorm1d`), and pooling skips them. So a sequence's output is the same whether its batch
is padded to 40 steps or to 400 (the streamed layout pads each batch to its own longest sequence). The module's
parameter names are those of plain ``BatchNorm1d`` / ``Sequential`` blocks: nets saved before load unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .rnn import masked_max, masked_mean, step_mask


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` over ``(N, C, T)`` whose training statistics (and running averages) use the steps where
    ``mask`` ``(N, T)`` holds; without a mask (every step valid) it is ``BatchNorm1d`` itself."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        if mask is None or not self.training:
            return super().forward(x)
        m = mask.unsqueeze(1).to(x.dtype)
        count = m.sum()
        mean = (x * m).sum((0, 2)) / count
        var = ((x - mean[None, :, None]) ** 2 * m).sum((0, 2)) / count
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                self.num_batches_tracked += 1  # type: ignore[operator]
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = var * count / (count - 1).clamp_min(1)
                self.running_mean.mul_(1 - momentum).add_(momentum * mean)
                self.running_var.mul_(1 - momentum).add_(momentum * unbiased)
        out = (x - mean[None, :, None]) * torch.rsqrt(var[None, :, None] + self.eps)
        return out * self.weight[None, :, None] + self.bias[None, :, None] if self.affine else out


def _masked(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return x * mask.unsqueeze(1).to(x.dtype)


class ResidualBlock1d(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(c_in, c_out, k, stride, padding=k // 2, bias=False),
            MaskedBatchNorm1d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv1d(c_out, c_out, k, padding=k // 2, bias=False),
            MaskedBatchNorm1d(c_out),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride, bias=False), MaskedBatchNorm1d(c_out))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, partial: bool) -> torch.Tensor:
        """``x`` zero after each sequence's end; ``mask``: the valid steps of the output; ``partial``: some steps of
        the batch are padding (else the masks are skipped: plain batch normalisation)."""
        bn_mask = mask if partial else None
        conv1, bn1, act, conv2, bn2 = self.body
        h = act(bn1(conv1(x), bn_mask))
        h = bn2(conv2(_masked(h, mask) if partial else h), bn_mask)
        skip = self.skip(x) if isinstance(self.skip, nn.Identity) else self.skip[1](self.skip[0](x), bn_mask)
        out = self.act(h + skip)
        return _masked(out, mask) if partial else out


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
            MaskedBatchNorm1d(channels[0]),
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
        steps = x.shape[1]
        mask = step_mask(lengths, steps)
        partial = bool((lengths < steps).any())  # one sync per batch, as the RNN's packing
        h = x.transpose(1, 2)  # (N, F, T)
        conv, bn, act = self.stem
        if partial:
            h = _masked(h, mask)
        h = act(bn(conv(h), mask if partial else None))
        h = _masked(h, mask) if partial else h
        for block, s in zip(self.blocks, self.strides, strict=True):
            # a strided conv with padding k // 2 keeps ceil(length / stride) steps
            lengths = torch.div(lengths + s - 1, s, rounding_mode="floor")
            mask = step_mask(lengths, (h.shape[2] + s - 1) // s)
            h = block(h, mask, partial)
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
