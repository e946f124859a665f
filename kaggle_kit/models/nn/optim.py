"""Optimizer and learning-rate schedule from the training params.

Weight decay applies to weight matrices, embeddings and convolution kernels only, not to the 1-D parameters
(biases, norm scales): standard practice, decaying a BatchNorm scale only fights the normalisation.

A parameter may carry its own factors as attributes (RealMLP's per-layer learning rates): ``p.lr_factor``
multiplies the learning rate (schedules included) and ``p.wd_factor`` the weight decay (default 1 for tensors of
2 or more dimensions, 0 for the others). Parameters with the same factors share one optimizer group.

The optimizers are the kit's own (:class:`AdamW`, :class:`Adam`, :class:`SGD`: torch's single-tensor update rules,
written out): torch's import ``torch._dynamo`` on their first ``step`` / ``zero_grad`` (``torch.optim.Optimizer``
wraps them for ``torch.compile``), which costs 1.5-2.5 s in every fresh worker process, more than the whole fit of
a net on a small table (benchmarks/portfolio.py: fair, 5,000 rows). They subclass ``torch.optim.Optimizer`` so
that torch's schedules and the CUDA gradient scaler take them.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
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
        return SGD(groups, lr=lr, momentum=params["momentum"], nesterov=params["momentum"] > 0)
    betas = tuple(params.get("betas", (0.9, 0.999)))
    if params["optimizer"] == "adam":
        # Adam's weight_decay is L2 added to the gradient (coupled), AdamW's is decoupled
        return Adam(groups, lr=lr, betas=betas)
    return AdamW(groups, lr=lr, betas=betas)


class _Plain(torch.optim.Optimizer, ABC):
    """``torch.optim.Optimizer`` without its ``torch.compile`` wrappers on the methods a fit calls (see the module
    docstring); ``step`` is :meth:`update` on each parameter with a gradient, under ``no_grad``."""

    def __init__(self, params: Any, **defaults: Any) -> None:
        super().__init__(params, {"weight_decay": 0.0, **defaults})

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        params = param_group["params"]
        group = {**param_group, "params": [params] if isinstance(params, torch.Tensor) else list(params)}
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        if closure is not None:
            raise ValueError(f"{type(self).__name__} takes no closure")
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p, p.grad, self.state[p], group)

    @abstractmethod
    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        """One parameter's step (the subclass's rule)."""


class AdamW(_Plain):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW`` (eps 1e-8, no amsgrad)."""

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=1e-8)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if group["weight_decay"]:
            p.mul_(1 - group["lr"] * group["weight_decay"])
        self._adam(p, grad, state, group)

    @staticmethod
    def _adam(p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        beta1, beta2 = group["betas"]
        state["step"] += 1
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad.conj(), value=1 - beta2)
        step_size = group["lr"] / (1 - beta1 ** state["step"])
        denom = (exp_avg_sq.sqrt() / math.sqrt(1 - beta2 ** state["step"])).add_(group["eps"])
        p.addcdiv_(exp_avg, denom, value=-step_size)


class Adam(AdamW):
    """Adam, its weight decay an L2 term added to the gradient, as ``torch.optim.Adam``."""

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if group["weight_decay"]:
            grad = grad.add(p, alpha=group["weight_decay"])
        self._adam(p, grad, state, group)


class SGD(_Plain):
    """SGD with (Nesterov) momentum and L2 weight decay, as ``torch.optim.SGD`` (no dampening)."""

    def __init__(self, params: Any, lr: float, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if group["weight_decay"]:
            grad = grad.add(p, alpha=group["weight_decay"])
        if group["momentum"]:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = torch.clone(grad).detach()
            else:
                buf.mul_(group["momentum"]).add_(grad)
            grad = grad.add(buf, alpha=group["momentum"]) if group["nesterov"] else buf
        p.add_(grad, alpha=-group["lr"])


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
