"""RealMLP (Holzmueller et al. 2024, "Better by default", the RealMLP-TD defaults of pytabkit): numeric embeddings
(PBLD) and categorical encodings, a learnable front scale, then blocks of NTK-parametrised linear -> parametric
activation -> dropout, and an NTK-parametrised output layer.

Left out of the paper's recipe: the data-dependent "he+5" bias initialisation (biases start at 0 here) and the
multi-cycle "coslog4" learning-rate schedule (``schedule = "flat_cos"`` by default).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .tabular import FrontScale, NTKLinear, ParametricActivation, TableFront


def _mish() -> nn.Module:
    return nn.Mish()


_ACTIVATIONS = {"selu": nn.SELU, "mish": _mish, "relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU}


class RealMLP(nn.Module):
    def __init__(self, params: dict[str, Any], inputs: dict[str, Any], n_outputs: int) -> None:
        super().__init__()
        self.front = TableFront(params, inputs, embedding_lr_factor=0.1)
        width = self.front.width
        self.scale: nn.Module = FrontScale(width) if params["front_scale"] else nn.Identity()
        activation = params["activation"]
        if activation == "auto":  # the paper's: SELU for classification, Mish for regression (one output)
            activation = "mish" if n_outputs == 1 else "selu"
        layers: list[nn.Module] = []
        for size in params["hidden"]:
            layers.append(NTKLinear(width, size))
            act = _ACTIVATIONS[activation]()
            layers.append(ParametricActivation(act, size) if params["parametric_activation"] else act)
            if params["dropout"]:
                layers.append(nn.Dropout(params["dropout"]))
            width = size
        self.body = nn.Sequential(*layers)
        self.head = NTKLinear(width, n_outputs)

    def forward(self, x_num: torch.Tensor, x_cat: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.scale(self.front(x_num, x_cat))))


def build(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int) -> RealMLP:
    return RealMLP(params, inputs, n_outputs)
