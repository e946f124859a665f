"""Dense net for tables: embeddings for categorical columns, then Linear -> BatchNorm -> activation -> Dropout
blocks; or the self-normalising variant (SELU, LeCun-normal weights, AlphaDropout, no BatchNorm)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


def embedding_width(levels: int, dim: int) -> int:
    """``dim`` when given, else the fast.ai rule of thumb capped at 50."""
    return dim if dim > 0 else max(1, min(50, (levels + 1) // 2))


def missing_at_zero(embedding: nn.Embedding) -> nn.Embedding:
    """``embedding`` with row 0 (a missing or unseen level) starting at zeros, as a one-hot column's all-zero row.

    Drawn at random like the others, it stayed random where the training rows had no missing value (nothing moves
    it): a level unseen in training, as test rows hold, was read as one more random level, and a net's predictions
    for those rows moved by about a level effect, up or down by the seed. At zero it is the centre the levels'
    vectors start around; training rows that miss the column still train it."""
    with torch.no_grad():
        embedding.weight[0].zero_()
    return embedding


class MLP(nn.Module):
    def __init__(
        self,
        n_numeric: int,
        cardinalities: list[int],
        n_outputs: int,
        *,
        hidden: list[int],
        dropout: float = 0.1,
        activation: str = "relu",
        batch_norm: bool = True,
        self_normalizing: bool = False,
        embedding_dim: int = 0,
    ) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(
            missing_at_zero(nn.Embedding(c, embedding_width(c, embedding_dim))) for c in cardinalities
        )
        width = n_numeric + sum(e.embedding_dim for e in self.embeddings)
        layers: list[nn.Module] = []
        for size in hidden:
            layers.append(nn.Linear(width, size, bias=self_normalizing or not batch_norm))
            if self_normalizing:
                layers += [nn.SELU(), nn.AlphaDropout(dropout)] if dropout else [nn.SELU()]
            else:
                if batch_norm:
                    layers.append(nn.BatchNorm1d(size))
                layers.append(_ACTIVATIONS[activation]())
                if dropout:
                    layers.append(nn.Dropout(dropout))
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_outputs)
        if self_normalizing:
            for m in self.modules():
                if isinstance(m, nn.Linear):  # LeCun normal: the fixed point SELU's self-normalisation assumes
                    nn.init.normal_(m.weight, std=1 / math.sqrt(m.in_features))
                    nn.init.zeros_(m.bias)

    def forward(self, x_num: torch.Tensor, x_cat: torch.Tensor) -> torch.Tensor:
        if self.embeddings:
            x_num = torch.cat([x_num, *(emb(x_cat[:, i]) for i, emb in enumerate(self.embeddings))], dim=1)
        return self.head(self.body(x_num))


def build(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int) -> MLP:
    return MLP(
        len(inputs["numeric"]),
        list(inputs["cardinality"]),
        n_outputs,
        hidden=params["hidden"],
        dropout=params["dropout"],
        activation=params["activation"],
        batch_norm=params["batch_norm"],
        self_normalizing=params["self_normalizing"],
        embedding_dim=params["embedding_dim"],
    )
