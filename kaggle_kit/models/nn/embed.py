"""A fitted net's penultimate-layer features ("embeddings"): the input of its output layer, per row.

The output layer is the module's last ``nn.Linear`` (registration order): ``head[-1]`` of the kit's CNN
(after global pooling and dropout), ``fc`` of a ResNet (after its pooling), the hybrid's ``head[-1]`` (after its
hidden head layers, so image and table features together). Its input is captured by a forward pre-hook in eval mode
(dropout off, BatchNorm running statistics), without test-time augmentation: one deterministic vector per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ...errors import KitError
from ...features import FeatureMatrix
from .device import plan_device
from .families import FAMILIES
from .heap import kept_heap
from .inputs import take_columns
from .net import FittedNet, batches_for
from .runtime import torch_threads


def output_layer(module: nn.Module) -> nn.Linear:
    """The net's output layer: its last ``nn.Linear``."""
    last = None
    for m in module.modules():
        if isinstance(m, nn.Linear):
            last = m
    if last is None:
        raise KitError(f"{type(module).__name__} has no linear output layer to take embeddings before")
    return last


def embedding_dim(fitted: FittedNet) -> int:
    return int(output_layer(fitted.module).in_features)


def embed_net(fitted: FittedNet, X: FeatureMatrix, *, device: str = "cpu", threads: int | None = None) -> np.ndarray:
    """``(n, D)`` float32: each row's input to the output layer (``D`` = :func:`embedding_dim`)."""
    config = fitted.config
    family, params = FAMILIES[config["kind"]], config["params"]
    layer = output_layer(fitted.module)
    if len(X.X) == 0:
        return np.zeros((0, layer.in_features), dtype=np.float32)
    X = take_columns(X, config["columns"])
    plan = plan_device(device, amp=False, channels_last=False, image_input=family.has_images)
    captured: list[torch.Tensor] = []

    def keep(_module: nn.Module, args: tuple[Any, ...]) -> None:
        captured.append(args[0].detach().float().cpu())

    handle = layer.register_forward_pre_hook(keep)
    try:
        with kept_heap(), torch_threads(threads), torch.inference_mode():
            module = fitted.module.to(device).eval()
            # the batches predict_net reads (pixel columns: a streamed-image run has no readers of embeddings)
            batch_size = family.eval_batch_size(params)
            for batch in batches_for(config, X, None, None, batch_size=batch_size, plan=plan, threads=threads):
                module(*batch)
    finally:
        handle.remove()
    return np.ascontiguousarray(torch.cat(captured).numpy(), dtype=np.float32)
