"""Optimizer and learning-rate schedule from the training params.

Weight decay applies to weight matrices, embeddings and convolution kernels only, not to the 1-D parameters
(biases, norm scales): standard practice, decaying a BatchNorm scale only fights the normalisation.

A parameter may carry its own factors as attributes (RealMLP's per-layer learning rates): ``p.lr_factor``
multiplies the learning rate (schedules included) and ``p.wd_factor`` the weight decay (default 1 for tensors of
2 or more dimensions, 0 for the others). Parameters with the same factors share one optimizer group.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def make_optimizer(module: nn.Module, params: dict[str, Any]) -> torch.optim.Optimizer:
    lr, wd = params["lr"], params["weight_decay"]
    by_factors: dict[tuple[float, float], list[nn.Parameter]] = {(1.0, 1.0): [], (1.0, 0.0): []}
    for p in module.parameters():
        if p.requires_grad:
            factors = (float(getattr(p, "lr_factor", 1.0)), float(getattr(p, "wd_factor", 1.0 if p.ndim > 1 else 0.0)))
            by_factors.setdefault(factors, []).append(p)
    groups = [
        {"params": ps, "lr": lr * lr_f, "weight_decay": wd * wd_f}
        for (lr_f, wd_f), ps in by_factors.items()  # the first group's lr is the one logged
    ]
    if params["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=params["momentum"], nesterov=params["momentum"] > 0)
    betas = tuple(params.get("betas", (0.9, 0.999)))
    if params["optimizer"] == "adam":
        # Adam's weight_decay is L2 added to the gradient (coupled), AdamW's is decoupled
        return torch.optim.Adam(groups, lr=lr, betas=betas)
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


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
            max_lr=[g["lr"] for g in optimizer.param_groups],
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
    if schedule == "flat_cos":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: flat_cos(step / total)), "batch"
    if schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=params["plateau_factor"], patience=params["plateau_patience"]
        )
        return sched, "epoch"
    return None, None


def flat_cos(t: float) -> float:
    """RealMLP's "flat_cos" factor at progress ``t`` in [0, 1]: 1 for the first half, then a cosine down to 0."""
    return 1.0 if t < 0.5 else 0.5 * (1 + math.cos(math.pi * min(1.0, 2 * t - 1)))
