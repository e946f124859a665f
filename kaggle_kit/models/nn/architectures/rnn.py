"""Recurrent net for sequences: stacked (bi-directional) GRU or LSTM over the packed, variable-length sequences,
pooled over the valid steps (last hidden state, mean or max), dropout and a linear head."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def step_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(N, T)`` True on each row's valid steps."""
    return torch.arange(steps, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of ``(N, T, D)`` where ``mask`` (N, T) holds."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp_min(1)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return x.masked_fill(~mask.unsqueeze(-1), torch.finfo(x.dtype).min).amax(1)


class RNN(nn.Module):
    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        *,
        cell: str = "gru",
        hidden: int = 128,
        layers: int = 2,
        bidirectional: bool = True,
        pooling: str = "mean",
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        rnn_cls = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn_cls(
            n_features,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.pooling = pooling
        self.bidirectional = bidirectional
        width = hidden * (2 if bidirectional else 1)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, n_outputs))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        steps = x.shape[1]
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)
        if self.pooling == "last":
            h = h_n[0] if isinstance(h_n, tuple) else h_n  # LSTM: (h, c)
            pooled = torch.cat([h[-2], h[-1]], 1) if self.bidirectional else h[-1]
        else:
            seq, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)
            mask = step_mask(lengths, steps)
            pooled = masked_mean(seq, mask) if self.pooling == "mean" else masked_max(seq, mask)
        return self.head(pooled)


def build(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int) -> RNN:
    return RNN(
        inputs["shape"][1],
        n_outputs,
        cell=params["cell"],
        hidden=params["hidden"],
        layers=params["layers"],
        bidirectional=params["bidirectional"],
        pooling=params["pooling"],
        dropout=params["dropout"],
    )
