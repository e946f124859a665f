"""The front of the strong table nets (``realmlp``, ``tabm``): numeric embeddings and categorical encodings, plus
RealMLP's layers (NTK-parametrised linear, parametric activations, the learnable front scale).

Numeric embeddings map each numeric column (already robust-scaled and clipped by the inputs) through its own small
net, which lets an MLP pick up periodic and other sharply non-linear effects of single columns:

* ``pbld`` (RealMLP): ``[Linear(cos(2 pi w x + b)), x]`` with ``w ~ N(0, sigma)``, ``b ~ U(-pi, pi)``;
* ``plr`` (Gorishniy et al. 2022): ``ReLU(Linear([cos(2 pi w x), sin(2 pi w x)]))``;
* ``pl``: the piecewise-linear encoding of ``x`` over the column's quantile bins of the training rows (edges
  fit by the inputs, stored in the input state), then ``Linear``;
* ``none``: ``x`` itself.

Categorical columns with at most ``one_hot_max`` levels are one-hot encoded (a missing or unseen level is all
zeros), wider ones get an embedding (index 0: missing or unseen). A parameter's ``lr_factor`` / ``wd_factor``
attributes are read by :func:`~kaggle_kit.models.nn.optim.make_optimizer`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .mlp import missing_at_zero


def factors(p: nn.Parameter, *, lr: float = 1.0, wd: float | None = None) -> nn.Parameter:
    """Tag ``p`` with its learning-rate and weight-decay factors (see the optimizer)."""
    p.lr_factor = lr  # type: ignore[attr-defined]
    if wd is not None:
        p.wd_factor = wd  # type: ignore[attr-defined]
    return p


class NumericEmbedding(nn.Module):
    """``(n, F)`` scaled numeric columns -> ``(n, F * width)``, one small net per column (see the module doc)."""

    def __init__(
        self,
        kind: str,
        n_features: int,
        *,
        dim: int = 4,
        frequencies: int = 16,
        sigma: float = 0.1,
        bins: list[list[float]] | None = None,
        lr_factor: float = 1.0,
    ) -> None:
        super().__init__()
        self.kind = kind
        f, m = n_features, frequencies
        if kind == "none":
            self.width = 1
            return
        if kind == "pl":
            self.width = dim
            self._init_bins(bins if bins is not None else [[0.0, 1.0]] * f)
            t = self.left.shape[1]
            bound = 1 / math.sqrt(t)
            self.weight = factors(nn.Parameter(torch.empty(f, t, dim).uniform_(-bound, bound)), lr=lr_factor)
            self.bias = factors(nn.Parameter(torch.empty(f, dim).uniform_(-bound, bound)), lr=lr_factor)
            return
        # periodic: pbld keeps x as one of its `dim` outputs (the "densenet" link), plr uses cos and sin
        out = dim - 1 if kind == "pbld" else dim
        n_freq = m if kind == "pbld" else max(1, m // 2)
        self.width = dim
        self.frequency = factors(nn.Parameter(sigma * torch.randn(f, n_freq)), lr=lr_factor)
        self.phase = (
            factors(nn.Parameter(math.pi * (2 * torch.rand(f, n_freq) - 1)), lr=lr_factor) if kind == "pbld" else None
        )
        d_in = n_freq if kind == "pbld" else 2 * n_freq
        bound = 1 / math.sqrt(d_in)
        self.weight = factors(nn.Parameter(torch.empty(f, d_in, out).uniform_(-bound, bound)), lr=lr_factor)
        self.bias = factors(nn.Parameter(torch.empty(f, out).uniform_(-bound, bound)), lr=lr_factor)

    def _init_bins(self, bins: list[list[float]]) -> None:
        """Buffers ``left``, ``width`` (F, T) of each column's bins, padded to the most bins, and the masks."""
        t = max((len(e) - 1 for e in bins), default=1)
        left = torch.zeros(len(bins), t)
        width = torch.ones(len(bins), t)
        count = torch.tensor([len(e) - 1 for e in bins], dtype=torch.int64)
        for j, edges in enumerate(bins):
            e = torch.tensor(edges, dtype=torch.float64)
            left[j, : len(e) - 1] = e[:-1].float()
            width[j, : len(e) - 1] = (e[1:] - e[:-1]).float()
        pos = torch.arange(t).unsqueeze(0)
        self.register_buffer("left", left)
        self.register_buffer("width_", width)
        self.register_buffer("valid", pos < count.unsqueeze(1))
        self.register_buffer("clip_low", pos > 0)  # the first bin extends below the lowest edge
        self.register_buffer("clip_high", pos < (count - 1).unsqueeze(1))  # the last bin above the highest

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "none":
            return x
        if self.kind == "pl":
            enc = (x.unsqueeze(-1) - self.left) / self.width_  # (n, F, T)
            enc = torch.where(self.clip_low, enc.clamp_min(0.0), enc)
            enc = torch.where(self.clip_high, enc.clamp_max(1.0), enc)
            enc = enc * self.valid
            return (torch.einsum("nft,ftd->nfd", enc, self.weight) + self.bias).flatten(1)
        z = 2 * math.pi * x.unsqueeze(-1) * self.frequency  # (n, F, m)
        if self.kind == "pbld":
            h = torch.einsum("nfm,fmd->nfd", torch.cos(z + self.phase), self.weight) + self.bias
            return torch.cat([h, x.unsqueeze(-1)], dim=-1).flatten(1)
        h = torch.einsum("nfm,fmd->nfd", torch.cat([torch.cos(z), torch.sin(z)], -1), self.weight) + self.bias
        return torch.relu(h).flatten(1)


class CategoricalEncoder(nn.Module):
    """``(n, C)`` int64 indices (0 = missing / unseen) -> one-hot or embedding columns."""

    def __init__(self, cardinalities: list[int], *, one_hot_max: int, dim: int) -> None:
        super().__init__()
        self.cardinalities = list(cardinalities)
        self.one_hot = [c - 1 <= one_hot_max for c in self.cardinalities]
        self.embeddings = nn.ModuleDict(
            {
                str(i): missing_at_zero(nn.Embedding(c, dim))
                for i, c in enumerate(self.cardinalities)
                if not self.one_hot[i]
            }
        )
        self.width = sum(c - 1 if oh else dim for c, oh in zip(self.cardinalities, self.one_hot, strict=True))

    def forward(self, x_cat: torch.Tensor) -> torch.Tensor:
        parts = []
        for i, c in enumerate(self.cardinalities):
            if self.one_hot[i]:
                if c > 1:
                    parts.append(F.one_hot(x_cat[:, i], c)[:, 1:].float())
            else:
                parts.append(self.embeddings[str(i)](x_cat[:, i]))
        return torch.cat(parts, dim=1) if parts else x_cat.new_zeros((x_cat.shape[0], 0), dtype=torch.float32)


class TableFront(nn.Module):
    """Numeric embeddings and categorical encodings side by side: ``(x_num, x_cat) -> (n, width)``."""

    def __init__(self, params: dict[str, Any], inputs: dict[str, Any], *, embedding_lr_factor: float = 1.0) -> None:
        super().__init__()
        self.numeric = NumericEmbedding(
            params["num_embedding"],
            len(inputs["numeric"]),
            dim=params["num_embedding_dim"],
            frequencies=params["embedding_frequencies"],
            sigma=params["embedding_sigma"],
            bins=inputs.get("bins"),
            lr_factor=embedding_lr_factor,
        )
        self.categorical = CategoricalEncoder(
            list(inputs["cardinality"]), one_hot_max=params["one_hot_max"], dim=params["cat_embedding_dim"]
        )
        self.width = len(inputs["numeric"]) * self.numeric.width + self.categorical.width

    def forward(self, x_num: torch.Tensor, x_cat: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.numeric(x_num), self.categorical(x_cat)], dim=1)


class NTKLinear(nn.Module):
    """A linear layer in the neural-tangent-kernel parametrisation (RealMLP): weights ~ N(0, 1), the output
    scaled by ``1 / sqrt(fan_in)``, so Adam's step size acts per layer as the paper's tuned rates; the bias
    learns at ``bias_lr_factor`` times the rate and is not decayed."""

    def __init__(self, d_in: int, d_out: int, *, bias_lr_factor: float = 0.1) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in))
        self.bias = factors(nn.Parameter(torch.zeros(d_out)), lr=bias_lr_factor, wd=0.0)
        self.gain = 1 / math.sqrt(max(1, d_in))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.gain, self.bias)


class ParametricActivation(nn.Module):
    """``x + a (f(x) - x)`` with a learnable ``a`` per neuron, initialised to 1 (the plain activation)."""

    def __init__(self, f: nn.Module, width: int, *, lr_factor: float = 0.1) -> None:
        super().__init__()
        self.f = f
        self.a = factors(nn.Parameter(torch.ones(width)), lr=lr_factor, wd=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + (self.f(x) - x) * self.a


class FrontScale(nn.Module):
    """A learnable per-input scale, initialised to 1 (RealMLP's scaling layer, learning rate x 6)."""

    def __init__(self, width: int, *, lr_factor: float = 6.0) -> None:
        super().__init__()
        self.scale = factors(nn.Parameter(torch.ones(width)), lr=lr_factor, wd=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale
