"""TabM (Gorishniy et al., ICLR 2025, "TabM: Advancing tabular deep learning with parameter-efficient
ensembling"): k MLPs trained at once that share their weights and differ by small per-member adapters.

* ``variant = "tabm"``: every hidden layer is a BatchEnsemble layer, member ``i`` computing
  ``((x * r_i) W) * s_i + b_i``: the weight ``W`` shared, the adapters ``r_i``, ``s_i`` and the bias ``b_i`` its own.
  The first layer's ``r`` starts at random signs (+-1), which is what makes the members differ; the other adapters
  start at 1 and every member's bias at the same values (as the paper).
* ``variant = "mini"`` (TabM-mini): one random-sign adapter ``r_i`` on the input, then a plain shared MLP.

Both end in k separate output layers. The numeric embeddings and categorical encodings in front are shared. The
forward pass returns ``(n, k, outputs)``; the task head trains each member on its own loss (the mean over members)
and predicts the mean of the members' predictions (:mod:`kaggle_kit.models.nn.task`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .tabular import TableFront, factors


def _random_signs(k: int, d: int) -> torch.Tensor:
    return torch.where(torch.rand(k, d) < 0.5, -1.0, 1.0)


class LinearBatchEnsemble(nn.Module):
    """``(n, k, d_in) -> (n, k, d_out)``: ``((x * r) @ W.T) * s + b`` with ``W`` shared and ``r``, ``s``, ``b`` per
    member. Adapters are not weight-decayed."""

    def __init__(self, d_in: int, d_out: int, k: int, *, random_signs: bool) -> None:
        super().__init__()
        bound = 1 / math.sqrt(d_in)
        self.weight = nn.Parameter(torch.empty(d_out, d_in).uniform_(-bound, bound))
        r = _random_signs(k, d_in) if random_signs else torch.ones(k, d_in)
        self.r = factors(nn.Parameter(r), wd=0.0)
        self.s = factors(nn.Parameter(torch.ones(k, d_out)), wd=0.0)
        self.bias = factors(nn.Parameter(torch.empty(d_out).uniform_(-bound, bound).repeat(k, 1)), wd=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.r) @ self.weight.T * self.s + self.bias


class LinearEnsemble(nn.Module):
    """``(n, k, d_in) -> (n, k, d_out)`` with k independent linear layers."""

    def __init__(self, d_in: int, d_out: int, k: int) -> None:
        super().__init__()
        bound = 1 / math.sqrt(d_in)
        self.weight = nn.Parameter(torch.empty(k, d_in, d_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(k, d_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nki,kio->nko", x, self.weight) + self.bias


class TabM(nn.Module):
    def __init__(self, params: dict[str, Any], inputs: dict[str, Any], n_outputs: int) -> None:
        super().__init__()
        self.k = params["k"]
        self.front = TableFront(params, inputs)
        width = self.front.width
        self.adapter = None
        if params["variant"] == "mini":
            self.adapter = factors(nn.Parameter(_random_signs(self.k, width)), wd=0.0)
        layers: list[nn.Module] = []
        for i, size in enumerate(params["hidden"]):
            if params["variant"] == "mini":
                layers.append(nn.Linear(width, size))
            else:
                layers.append(LinearBatchEnsemble(width, size, self.k, random_signs=i == 0))
            layers.append(nn.ReLU())
            if params["dropout"]:
                layers.append(nn.Dropout(params["dropout"]))
            width = size
        self.body = nn.Sequential(*layers)
        self.head = LinearEnsemble(width, n_outputs, self.k)

    def forward(self, x_num: torch.Tensor, x_cat: torch.Tensor) -> torch.Tensor:
        x = self.front(x_num, x_cat).unsqueeze(1).expand(-1, self.k, -1)  # (n, k, d): a copy per member
        if self.adapter is not None:
            x = x * self.adapter
        return self.head(self.body(x))


def build(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int) -> TabM:
    return TabM(params, inputs, n_outputs)
