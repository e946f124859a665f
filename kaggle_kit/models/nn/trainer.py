"""The training loop: mini-batch epochs with an optimizer and learning-rate schedule, gradient clipping and
accumulation, mixed precision on CUDA, an average of the weights (EMA), the validation loss and metric per epoch,
and callbacks (early stopping among them).

``params.accumulate = N``: the gradients of N mini-batches add up, each weighted by its share of the group's rows,
and the optimizer (and a per-step schedule) steps once per group; the epoch's last batch closes a shorter group.
``params.ema``: after every optimizer step the weights' average is updated (:mod:`~kaggle_kit.models.nn.ema`); at
the end of each epoch the averaged weights are swapped into the module for the validation and the epoch's callbacks
(early stopping keeps them), and swapped out again before the next epoch trains; the module ends holding them.

The loop is a few small methods a subclass can override one at a time (skorch's design): :meth:`Trainer.train_step`
(one optimisation step), :meth:`Trainer.forward` (inputs -> outputs), :meth:`Trainer.evaluate` (validation
outputs and loss) and :meth:`Trainer.predict`. Per batch the loop does no host-device synchronisation: the losses
are summed on the device and read once per epoch.

A loss that turns NaN or infinite ends training at the end of that epoch with :class:`TrainingDiverged` (the
remaining epochs could only produce NaN predictions); the runner marks the model FAILED and the run goes on.

Example::

    trainer = Trainer(module, loss_fn=nn.CrossEntropyLoss(), params=params, plan=plan_device("cpu"),
                      callbacks=[EarlyStopping("valid_loss", patience=5, greater_is_better=False)])
    result = trainer.fit(train_batches, valid_batches)
    result.history["valid_loss"], result.best_epoch
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ...runtime.faults import fault_point
from .augment import View
from .batches import Batches
from .callbacks import Callback, TrainState, overridden_hooks
from .device import DevicePlan
from .ema import WeightAverage
from .optim import make_optimizer, make_schedule
from .params import TRAIN_PARAMS


@dataclass(frozen=True)
class Scorer:
    """The validation metric recorded each epoch: ``fn(y_true, predictions) -> float``."""

    name: str
    fn: Callable[[np.ndarray, np.ndarray], float]
    greater_is_better: bool


class TrainingDiverged(FloatingPointError):
    """The training or validation loss became NaN or infinite; the message says at which epoch and what to try.

    A ``FloatingPointError``, not a :class:`~kaggle_kit.errors.KitError`: it fails this model, not the whole run.
    """


class TooFewRows(ValueError):
    """The rows a net is fit on are too few for its layers (one row under ``BatchNorm1d``); the message names the
    model and the fix.

    Not a :class:`~kaggle_kit.errors.KitError`: the config is sound and another model can fit these rows (a group
    fold that trains on one row), so it fails this model, not the whole run, as torch's own ``ValueError`` did.
    """


@dataclass(frozen=True)
class TrainResult:
    """``best_epoch``: the (1-based) epoch whose weights the module holds; ``epochs_run`` may be more."""

    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int


class Trainer:
    """Fits ``module`` in place. ``params`` are the training keys of
    :data:`~kaggle_kit.models.nn.params.TRAIN_PARAMS` (missing keys take their defaults).

    ``output_fn`` maps raw outputs to predictions (softmax, de-standardisation); ``augment`` transforms the first
    input of each training batch; ``scorer`` scores the validation predictions each epoch against ``y_valid``.
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        params: dict[str, Any],
        plan: DevicePlan,
        output_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        scorer: Scorer | None = None,
        callbacks: Sequence[Callback] = (),
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.params = {k: p.default for k, p in TRAIN_PARAMS.items()} | dict(params)
        self.plan = plan
        self.device = torch.device(plan.device)
        self.module = module.to(self.device)
        if plan.channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)
        self.loss_fn = loss_fn
        self.output_fn = output_fn or (lambda out: out)
        self.scorer = scorer
        self.callbacks = list(callbacks)
        self.augment = augment
        self.optimizer = make_optimizer(self.module, self.params)
        self.scaler = torch.amp.GradScaler("cuda") if plan.grad_scaler else None
        self._amp_dtype = getattr(torch, plan.amp_dtype) if plan.amp_dtype else None
        self.scheduler: Any = None
        self._schedule_every: str | None = None
        self.ema = WeightAverage(self.module, self.params["ema"]) if self.params["ema"] else None
        self._group: tuple[int, int] = (0, 0)  #: accumulation: (rows so far, the rows a full group weighs by)

    # ------------------------------------------------------------------ the loop
    def fit(self, train: Batches, valid: Batches | None = None, y_valid: np.ndarray | None = None) -> TrainResult:
        """Train for up to ``params['epochs']`` epochs; batches are ``(*inputs, target)``."""
        if len(train) == 0:
            raise ValueError("no training rows")
        steps = -(-len(train) // self.params["accumulate"])  # optimizer steps per epoch
        self.scheduler, self._schedule_every = make_schedule(self.optimizer, self.params, steps)
        hooks = overridden_hooks(self.callbacks)
        state = TrainState(module=self.module, optimizer=self.optimizer, epochs=self.params["epochs"])
        history = state.history
        for hook in hooks["on_train_begin"]:
            hook(state)
        for epoch in range(1, self.params["epochs"] + 1):
            state.epoch = epoch
            for hook in hooks["on_epoch_begin"]:
                hook(state)
            lr = self.optimizer.param_groups[0]["lr"]
            history.setdefault("train_loss", []).append(self.train_epoch(train, state, hooks))
            self.check_finite("training", history["train_loss"][-1], epoch)
            if self.ema is not None:
                self.ema.swap()  # validate, and let early stopping keep, the averaged weights
            if valid is not None:
                outputs, valid_loss = self.evaluate(valid)
                self.check_finite("validation", valid_loss, epoch)
                history.setdefault("valid_loss", []).append(valid_loss)
                if self.scorer is not None and y_valid is not None:
                    pred = self.output_fn(outputs).float().cpu().numpy()
                    history.setdefault(f"valid_{self.scorer.name}", []).append(float(self.scorer.fn(y_valid, pred)))
            history.setdefault("lr", []).append(float(lr))
            if self._schedule_every == "epoch":
                self.scheduler.step(history["valid_loss" if valid is not None else "train_loss"][-1])
            for hook in hooks["on_epoch_end"]:
                hook(state)
            fault_point("epoch")
            if state.stop:
                break
            if self.ema is not None and epoch < self.params["epochs"]:
                self.ema.swap()  # train on from the live weights
        for hook in hooks["on_train_end"]:
            hook(state)
        return TrainResult(history=history, best_epoch=state.best_epoch or state.epoch, epochs_run=state.epoch)

    def check_finite(self, which: str, loss: float, epoch: int) -> None:
        """Raise :class:`TrainingDiverged` if the epoch's mean ``which`` loss is NaN or infinite."""
        if np.isfinite(loss):
            return
        clip = self.params["clip_grad_norm"]
        raise TrainingDiverged(
            f"training diverged: the {which} loss is {loss} at epoch {epoch} of {self.params['epochs']}; "
            f"lower params.lr (now {self.params['lr']:g}), "
            + (f"lower params.clip_grad_norm (now {clip:g})" if clip else "set params.clip_grad_norm (e.g. 1.0)")
            + ", and check the inputs and the target for infinite or huge values"
        )

    def train_epoch(self, batches: Batches, state: TrainState, hooks: dict[str, list[Any]]) -> float:
        """One pass over the training batches; returns the mean training loss (the epoch's only device sync)."""
        self.module.train()
        total = torch.zeros((), device=self.device)
        rows = 0
        begin, end = hooks["on_batch_begin"], hooks["on_batch_end"]
        accumulate, n = self.params["accumulate"], len(batches)
        for b, batch in enumerate(batches):
            state.batch = b
            for hook in begin:
                hook(state)
            *inputs, target = batch
            step = (b + 1) % accumulate == 0 or b == n - 1
            loss = self.train_step(self.prepare(inputs, training=True), target, step=step)
            total += loss.detach() * target.shape[0]
            rows += target.shape[0]
            state.loss = loss
            for hook in end:
                hook(state)
        return float(total) / max(rows, 1)

    # ------------------------------------------------------------------ the steps
    def prepare(self, inputs: list[torch.Tensor], *, training: bool) -> list[torch.Tensor]:
        """Augment the first input of a training batch; channels-last images on CUDA."""
        if training and self.augment is not None:
            inputs[0] = self.augment(inputs[0])
        if self.plan.channels_last and inputs[0].dim() == 4:
            inputs[0] = inputs[0].contiguous(memory_format=torch.channels_last)
        return inputs

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self._amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.plan.device, dtype=self._amp_dtype)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Raw outputs in float32 (autocast on CUDA computes in half precision inside)."""
        with self.autocast():
            out = self.module(*inputs)
        return out.float()

    def train_step(self, inputs: Sequence[torch.Tensor], target: torch.Tensor, *, step: bool = True) -> torch.Tensor:
        """Forward and backward; when ``step`` (every batch without accumulation, a group's last with it) also (clip
        and) step. Returns the batch's mean loss (a tensor on the device)."""
        accumulate = self.params["accumulate"]
        rows, full = self._group
        if rows == 0:
            self.optimizer.zero_grad(set_to_none=True)
            full = accumulate * target.shape[0]  # the group's rows if its batches are all this one's size
        rows += target.shape[0]
        loss = self.loss_fn(self.forward(inputs), target)
        # each batch's mean loss weighted by its share of a full group: the gradients add up to the group's mean
        grad_loss = loss if accumulate == 1 else loss * (target.shape[0] / full)
        (grad_loss if self.scaler is None else self.scaler.scale(grad_loss)).backward()
        if not step:
            self._group = (rows, full)
            return loss
        self._group = (0, 0)
        if rows != full:  # a shorter group (the epoch's last): the mean over the rows it has
            for p in self.module.parameters():
                if p.grad is not None:
                    p.grad.mul_(full / rows)
        self.optimizer_step()
        return loss

    def optimizer_step(self) -> None:
        """(Clip,) step the optimizer, the per-step schedule and the weights' average."""
        clip = self.params["clip_grad_norm"]
        if self.scaler is None:
            if clip:
                nn.utils.clip_grad_norm_(self.module.parameters(), clip)
            self.optimizer.step()
        else:
            if clip:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.module.parameters(), clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        if self._schedule_every == "batch":
            self.scheduler.step()
        if self.ema is not None:
            self.ema.update()

    def evaluate(self, batches: Batches) -> tuple[torch.Tensor, float]:
        """Raw outputs of every row (float32, on the device) and the mean loss; batches are ``(*inputs, target)``."""
        self.module.eval()
        outs = []
        total = torch.zeros((), device=self.device)
        with torch.inference_mode():
            for batch in batches:
                *inputs, target = batch
                out = self.forward(self.prepare(inputs, training=False))
                total += self.loss_fn(out, target) * target.shape[0]
                outs.append(out)
        return torch.cat(outs), float(total) / max(batches.n, 1)

    def predict(self, batches: Batches, views: Sequence[View] | None = None) -> np.ndarray:
        """``output_fn`` of the outputs, averaged over ``views`` of the first input (test-time augmentation)."""
        return infer(self.module, batches, self.plan, self.output_fn, views)


def infer(
    module: nn.Module,
    batches: Batches,
    plan: DevicePlan,
    output_fn: Callable[[torch.Tensor], torch.Tensor],
    views: Sequence[View] | None = None,
) -> np.ndarray:
    """Predictions of ``module`` in eval mode for batches of inputs (no target), on the host as numpy.

    With ``views`` (test-time augmentation) each batch's first input is seen through every view and the
    predictions (probabilities, not logits) are averaged.
    """
    module.eval()
    if plan.channels_last:
        module = module.to(memory_format=torch.channels_last)
    amp = torch.autocast(plan.device, dtype=getattr(torch, plan.amp_dtype)) if plan.amp_dtype else None
    views = list(views) if views else [lambda x: x]
    preds = []
    with torch.inference_mode():
        for batch in batches:
            acc: torch.Tensor | None = None
            for view in views:
                x = view(batch[0])
                if plan.channels_last and x.dim() == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                with amp or contextlib.nullcontext():
                    out = module(x, *batch[1:])
                pred = output_fn(out.float())
                acc = pred if acc is None else acc + pred
            assert acc is not None
            preds.append((acc / len(views)).cpu())
    return torch.cat(preds).numpy() if preds else np.zeros((0, 0), dtype=np.float32)
