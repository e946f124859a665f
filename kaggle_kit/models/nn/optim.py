"""Optimizer and learning-rate schedule from the training params.

Weight decay applies to weight matrices, embeddings and convolution kernels only, not to the 1-D parameters
(biases, norm scales): standard practice, decaying a BatchNorm scale only fights the normalisation.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def make_optimizer(module: nn.Module, params: dict[str, Any]) -> torch.optim.Optimizer:
    decay = [p for p in module.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in module.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": params["weight_decay"]},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    lr = params["lr"]
    if params["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=params["momentum"], nesterov=params["momentum"] > 0)
    if params["optimizer"] == "adam":
        # Adam's weight_decay is L2 added to the gradient (coupled), AdamW's is decoupled
        return torch.optim.Adam(groups, lr=lr)
    return torch.optim.AdamW(groups, lr=lr)


def make_schedule(
    optimizer: torch.optim.Optimizer, params: dict[str, Any], steps_per_epoch: int
) -> tuple[Any, str | None]:
    """The scheduler and when it steps: ``"batch"``, ``"epoch"`` (reduce-on-plateau, given the validation loss)
    or ``None`` (constant)."""
    schedule = params["schedule"]
    total = max(1, params["epochs"] * steps_per_epoch)
    warmup = min(total - 1, round(params["warmup_epochs"] * steps_per_epoch))
    if schedule == "onecycle" and total >= 4:  # OneCycleLR needs >= 2 steps in each of its two phases
        sched = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=params["lr"],
            total_steps=total,
            pct_start=min(max(warmup, 2), total - 2) / total,
            cycle_momentum=params["optimizer"] == "sgd",
        )
        return sched, "batch"
    if schedule == "cosine":

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor), "batch"
    if schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=params["plateau_factor"], patience=params["plateau_patience"]
        )
        return sched, "epoch"
    return None, None
