"""Image + table in one net (the functional-API multi-input net): a CNN branch for the image, a dense branch with
categorical embeddings for the row's other columns, their features concatenated before a small head.

The branches are the kit's own modules with their heads taken off: the image branch is :class:`ImageCNN` (or, with
``image_backbone``, a standard backbone: the torchvision-layout ResNet or ConvNeXt, or a timm model, so a pretrained
checkpoint loads into it unchanged),
whose pooled features pass its dropout; the dense branch is the :class:`MLP` up to its last hidden layer. The
head is ``Linear-BatchNorm-ReLU-Dropout`` per ``head_hidden`` width, then ``Linear`` to the task's outputs.
``forward(images, x_num, x_cat)``: the image first, which is the input the trainer augments and TTA views.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..params import branch_params, build_backbone
from . import cnn, mlp
from .heads import TaskHead


class HybridNet(TaskHead):
    """``image`` and ``table`` branches -> concatenated features -> ``head``. The backbone is the image branch
    (``image.*``: what ``image_backbone_lr_mult`` and the frozen epochs act on); ``reset_head`` zeroes the head's last
    layer; ``head_prefix`` covers the whole head."""

    head_prefix = "head."  # type: ignore[assignment]  # the whole head, not only its last layer (head_name)
    backbone_prefix = "image."

    def __init__(
        self, image: nn.Module, image_width: int, table: nn.Module, table_width: int, n_outputs: int, **head: Any
    ) -> None:
        super().__init__()
        self.image = image
        self.table = table
        layers: list[nn.Module] = []
        width = image_width + table_width
        for size in head["hidden"]:
            layers += [nn.Linear(width, size, bias=False), nn.BatchNorm1d(size), nn.ReLU(inplace=True)]
            if head["dropout"]:
                layers.append(nn.Dropout(head["dropout"]))
            width = size
        self.head = nn.Sequential(*layers, nn.Linear(width, n_outputs))
        self.head_name = f"head.{len(self.head) - 1}"

    def forward(self, images: torch.Tensor, x_num: torch.Tensor, x_cat: torch.Tensor) -> torch.Tensor:
        features = torch.cat([torch.flatten(self.image(images), 1), self.table(x_num, x_cat)], dim=1)
        return self.head(features)


def image_branch(params: dict[str, Any], shape: list[int], *, model: str = "") -> tuple[nn.Module, int]:
    """The image branch (its head replaced by its dropout only) and the width of its features."""
    p = branch_params(params, "image_")
    if p["backbone"] != "none":
        net: Any = build_backbone({**p, "dropout": 0.0}, {"shape": shape}, 1, model=model)
        width = net.drop_head(p["dropout"])  # no head keys left: a checkpoint's head never fits
        return net, width
    net = cnn.ImageCNN(
        shape[2],
        1,
        channels=p["channels"],
        blocks_per_stage=p["blocks_per_stage"],
        kernel_size=p["kernel_size"],
        separable=p["separable"],
        dropout=p["dropout"],
    )
    net.head = nn.Sequential(nn.Flatten(), nn.Dropout(p["dropout"]))
    return net, p["channels"][-1]


def build(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int) -> HybridNet:
    image, image_width = image_branch(params, inputs["image"]["shape"])
    t = branch_params(params, "table_")
    table = mlp.MLP(
        len(inputs["table"]["numeric"]),
        list(inputs["table"]["cardinality"]),
        1,
        hidden=t["hidden"],
        dropout=t["dropout"],
        activation=t["activation"],
        batch_norm=t["batch_norm"],
        embedding_dim=t["embedding_dim"],
    )
    table.head = nn.Identity()  # type: ignore[assignment]
    head = {"hidden": params["head_hidden"], "dropout": params["head_dropout"]}
    return HybridNet(image, image_width, table, t["hidden"][-1], n_outputs, **head)
