"""An exponential moving average of a module's weights (``params.ema``), as timm's ``ModelEmaV2`` and torch's
``AveragedModel(use_buffers=True)``: every floating-point entry of the ``state_dict`` (parameters and BatchNorm
running statistics) is averaged after each optimizer step; integer entries (``num_batches_tracked``) are left alone.

The decay is warmed up as TensorFlow's ``ExponentialMovingAverage(num_updates=t)``: ``min(decay, (1 + t) / (10 + t))``
at the ``t``-th update (1-based), so the first steps do not leave the average stuck at the random initial weights
(with a fixed 0.999, 500 steps would still weigh the initial weights by 0.999^500 = 0.61).

The trainer evaluates with the averaged weights by :meth:`WeightAverage.swap`-ping them into the module and back.
"""

from __future__ import annotations

import torch
from torch import nn


class WeightAverage:
    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the EMA decay must be in (0, 1); got {decay}")
        self.decay = decay
        self.updates = 0
        self._live = [t for t in module.state_dict().values() if t.is_floating_point()]
        self.average = [t.detach().clone() for t in self._live]

    def rate(self) -> float:
        """The decay of the next update (the warm-up included)."""
        t = self.updates + 1
        return min(self.decay, (1 + t) / (10 + t))

    @torch.no_grad()
    def update(self) -> None:
        """average = d * average + (1 - d) * weights, after an optimizer step."""
        d = self.rate()
        self.updates += 1
        for live, avg in zip(self._live, self.average, strict=True):
            avg.lerp_(live, 1.0 - d)

    @torch.no_grad()
    def swap(self) -> None:
        """Exchange the module's weights and the averages in place (twice = as before); the tensors the optimizer
        holds stay the same objects."""
        for live, avg in zip(self._live, self.average, strict=True):
            tmp = live.detach().clone()
            live.copy_(avg)
            avg.copy_(tmp)
