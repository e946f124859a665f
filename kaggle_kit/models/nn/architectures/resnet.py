"""ResNet-18 / 34 / 50 with torchvision's module names, so that a torchvision (or timm ``resnet*``) ``state_dict``
loads without renaming: ``conv1``, ``bn1``, ``layer1.0.conv1`` .. ``layer4.{b}.bn{2|3}``, ``layer{s}.0.downsample.0``
(1x1 convolution) and ``.1`` (BatchNorm), ``fc``. Bottleneck blocks (ResNet-50) stride in their 3x3 convolution
(torchvision's "ResNet v1.5"). Initialisation as torchvision's: Kaiming-normal (fan-out) convolutions, BatchNorm
scales 1 and shifts 0.

``small_input``: the stem's 7x7 convolution runs at stride 1 and the max-pool is skipped, so a 32 x 32 image
reaches ``layer4`` as 4 x 4 instead of 1 x 1 (the weights' shapes and names are unchanged, so a checkpoint still
loads). ``fc`` is always the task's head (``n_outputs`` wide); the checkpoint's own ``fc`` is never loaded.
``dropout`` (before ``fc``) is functional, so it adds no key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..params import resolve_small_input
from .heads import Backbone

#: backbone -> (block, blocks per stage), torchvision's table
LAYOUTS: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
}
WIDTHS = (64, 128, 256, 512)
EXPANSION = {"basic": 1, "bottleneck": 4}


def _conv3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False)


def _conv1(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 1, stride, bias=False)


def _downsample(c_in: int, c_out: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(_conv1(c_in, c_out, stride), nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    """torchvision's ``BasicBlock``: conv1 (3x3, stride) - bn1 - relu - conv2 (3x3) - bn2, + identity, relu."""

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = _conv3(c_in, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(c_in, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    """torchvision's ``Bottleneck``: 1x1 - 3x3 (stride) - 1x1 (x4 wide), each with BatchNorm, + identity, relu."""

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        c_out = width * EXPANSION["bottleneck"]
        self.conv1 = _conv1(c_in, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv1(width, c_out)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet(Backbone):
    """``forward(x)``: ``(N, C, H, W)`` standardised images -> ``(N, n_outputs)``. The head is ``fc`` (its
    parameters, ``fc.*``, are what ``backbone_lr_mult`` and ``freeze_epochs`` spare)."""

    head_name = "fc"
    first_conv = "conv1.weight"

    def __init__(
        self, backbone: str, in_channels: int, n_outputs: int, *, small_input: bool = False, dropout: float = 0.0
    ) -> None:
        super().__init__()
        block_kind, counts = LAYOUTS[backbone]
        block = BasicBlock if block_kind == "basic" else Bottleneck
        self.small_input = small_input
        self.dropout = dropout
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 1 if small_input else 2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, 2, padding=1)
        c_in = 64
        for s, (width, count) in enumerate(zip(WIDTHS, counts, strict=True)):
            blocks = []
            for b in range(count):
                blocks.append(block(c_in, width, 2 if s > 0 and b == 0 else 1))
                c_in = width * EXPANSION[block_kind]
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.n_features = c_in
        self.fc = nn.Linear(c_in, n_outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled penultimate features, ``(N, 512)`` or ``(N, 2048)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    pooled_features = features  #: the name every backbone shares (ConvNeXt's ``features`` is its trunk)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.dropout(self.features(x), self.dropout, self.training))


def _halve(side: int) -> int:
    """A side after the stem's 7x7 stride-2 convolution (padding 3) or its 3x3 stride-2 max-pool (padding 1)."""
    return (side + 1) // 2


def widest_activation(params: dict[str, Any], shape: Sequence[int]) -> int:
    """Elements per image of the widest activation a forward pass makes: the larger of the stem's output (64
    channels, at stride 2 unless ``small_input``) and the first stage's (64 x the block's expansion, after the
    max-pool). Later stages halve both sides and at most double the channels, so they are narrower (a Bottleneck's
    first 1x1 in ``layer2`` is half the width of ``layer1``'s output)."""
    h, w = shape[0], shape[1]
    small = resolve_small_input(params["small_input"], shape)
    if not small:
        h, w = _halve(h), _halve(w)
    stem = WIDTHS[0] * h * w
    if not small:
        h, w = _halve(h), _halve(w)
    return max(stem, WIDTHS[0] * EXPANSION[LAYOUTS[params["backbone"]][0]] * h * w)


def build(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int, *, model: str = "") -> ResNet:
    return ResNet(
        params["backbone"],
        inputs["shape"][2],
        n_outputs,
        small_input=resolve_small_input(params["small_input"], inputs["shape"]),
        dropout=params["dropout"],
    )
