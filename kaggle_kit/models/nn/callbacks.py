"""Callbacks: objects whose hooks the trainer calls at the start and end of training, of each epoch and of each
batch. Every hook of :class:`Callback` is a no-op, so a callback overrides only what it needs; a hook that sets
``state.stop = True`` ends training after the current epoch (no exception is used for control flow).

Example, a learning-rate logger::

    class LogLR(Callback):
        def on_epoch_end(self, state):
            print(state.epoch, state.optimizer.param_groups[0]["lr"])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass
class TrainState:
    """What the hooks see and may change. ``epoch`` is 1-based; ``batch`` 0-based within the epoch."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    epochs: int
    epoch: int = 0
    batch: int = 0
    #: the last training batch's loss, a tensor on the device (``float(state.loss)`` waits for the device)
    loss: torch.Tensor | None = None
    #: per epoch: ``train_loss``, ``valid_loss``, ``valid_<metric>``, ``lr``
    history: dict[str, list[float]] = field(default_factory=dict)
    stop: bool = False
    #: the epoch whose weights the module holds at the end (set by :class:`EarlyStopping`)
    best_epoch: int | None = None


class Callback:
    """Base class with no-op hooks."""

    def on_train_begin(self, state: TrainState) -> None:
        pass

    def on_epoch_begin(self, state: TrainState) -> None:
        pass

    def on_batch_begin(self, state: TrainState) -> None:
        pass

    def on_batch_end(self, state: TrainState) -> None:
        pass

    def on_epoch_end(self, state: TrainState) -> None:
        pass

    def on_train_end(self, state: TrainState) -> None:
        pass


HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_begin", "on_batch_end", "on_epoch_end", "on_train_end")


def overridden_hooks(callbacks: list[Callback]) -> dict[str, list[Callable[[TrainState], None]]]:
    """For each hook, the bound methods of the callbacks that override it (the no-ops are never called)."""
    return {
        hook: [getattr(cb, hook) for cb in callbacks if getattr(type(cb), hook, None) is not getattr(Callback, hook)]
        for hook in HOOKS
    }


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs, and put the best epoch's weights back.

    An epoch improves on the best when its value is strictly better, or equal and ``tie_breaker`` (a lower-is-
    better history key, the validation loss) is strictly lower: flat metrics such as accuracy tie often. A NaN
    value is the worst there is: it never beats a number, and between NaN epochs the tie-breaker decides (a
    validation fold of one class has no AUC in any epoch: the loss picks the epoch, where training had stopped at
    epoch ``patience`` with that epoch's weights). The weights of the best epoch are kept as a copy on the device.
    """

    def __init__(
        self, monitor: str, *, patience: int, greater_is_better: bool, tie_breaker: str | None = "valid_loss"
    ) -> None:
        if patience < 1:
            raise ValueError(f"patience must be >= 1; got {patience}")
        self.monitor = monitor
        self.patience = patience
        self.greater_is_better = greater_is_better
        self.tie_breaker = tie_breaker
        self.best: tuple[float, float] | None = None
        self.best_epoch: int | None = None
        self.best_weights: dict[str, Any] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self.best, self.best_epoch, self.best_weights = None, None, None

    def _key(self, state: TrainState) -> tuple[float, float]:
        value = state.history[self.monitor][-1]
        tie = state.history[self.tie_breaker][-1] if self.tie_breaker in state.history else 0.0
        primary = -math.inf if math.isnan(value) else value if self.greater_is_better else -value
        return (primary, -tie)

    def on_epoch_end(self, state: TrainState) -> None:
        key = self._key(state)
        if not math.isnan(key[1]) and (self.best is None or key > self.best):
            self.best, self.best_epoch = key, state.epoch
            self.best_weights = {k: v.detach().clone() for k, v in state.module.state_dict().items()}
        elif state.epoch - (self.best_epoch or 0) >= self.patience:
            state.stop = True

    def on_train_end(self, state: TrainState) -> None:
        if self.best_weights is not None:
            state.module.load_state_dict(self.best_weights)
            state.best_epoch = self.best_epoch


class PrintProgress(Callback):
    """Print one line per epoch (every ``every`` epochs): the history's latest values."""

    def __init__(self, every: int = 1, prefix: str = "", printer: Callable[[str], None] = print) -> None:
        self.every, self.prefix, self.printer = every, prefix, printer

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every == 0 or state.stop or state.epoch == state.epochs:
            values = "  ".join(f"{k} {v[-1]:.5g}" for k, v in state.history.items())
            self.printer(f"{self.prefix}epoch {state.epoch}/{state.epochs}  {values}")


class DropoutSchedule(Callback):
    """RealMLP's dropout schedule: each epoch, every ``nn.Dropout`` of the module gets rate ``p * flat_cos(t)``,
    ``t`` the share of the epochs already run (the full rate for the first half, then a cosine down to 0)."""

    def __init__(self, p: float) -> None:
        self.p = p

    def on_epoch_begin(self, state: TrainState) -> None:
        from torch import nn

        from .optim import flat_cos

        rate = self.p * flat_cos((state.epoch - 1) / state.epochs)
        for m in state.module.modules():
            if isinstance(m, nn.Dropout):
                m.p = rate


class FreezeBackbone(Callback):
    """The backbone's weights stay fixed for the first ``epochs`` epochs while the new head learns (so its random
    start does not send large gradients into pretrained weights); then everything trains. As fastai's ``freeze``,
    the BatchNorm layers keep training (their statistics adapt to the new images). A frozen parameter has no
    gradient, so the optimizer leaves it (and its weight decay) alone; the learning-rate schedule runs on."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_begin(self, state: TrainState) -> None:
        from torch import nn

        frozen = state.epoch <= self.epochs
        norms = {
            id(p)
            for m in state.module.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)
            for p in m.parameters()
        }
        for _, p in state.module.backbone_parameters():  # type: ignore[operator]
            if id(p) not in norms:
                p.requires_grad_(not frozen)
