"""What the task means for a net: how many outputs, the loss, the target as a tensor, outputs -> predictions.

Classification (binary included) has one logit per class, cross-entropy, and softmax probabilities, so the
predictions are the kit's ``(n, C)`` matrix. Regression standardises the target with the training rows' mean and
std (nets train badly on raw targets in the thousands) and maps the outputs back: ``(n, 1)`` values.

Outputs with a member axis, ``(n, k, C)`` (TabM's k ensemble members), are a k-member ensemble: the loss is the mean
of the members' losses (each member trained on its own prediction) and the prediction is the mean of the members'
predictions (probabilities, not logits, for classification).

``task="cdf"`` is a distribution task's CDF head (:mod:`kaggle_kit.models.distribution`): the target is the bin
code (the index of the first of ``n_classes - 1`` bins at or above the value; ``n_classes - 1`` above the last), the
outputs a softmax over the codes, the prediction their cumulative sum at the bins, ``(n, n_classes - 1)``, and the
loss the CRPS of that CDF, trained on directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class TaskHead:
    task: str
    n_classes: int
    loss: str = "mse"
    label_smoothing: float = 0.0

    @property
    def regression(self) -> bool:
        return self.task == "regression"

    @property
    def n_outputs(self) -> int:
        return 1 if self.regression else self.n_classes

    def fit_target(self, y: np.ndarray) -> dict[str, Any]:
        if not self.regression:
            return {}
        y = np.asarray(y, dtype=np.float64)
        std = float(np.std(y))
        return {"mean": float(np.mean(y)), "std": std if std > 1e-12 else 1.0}

    def target_array(self, y: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        if not self.regression:
            if np.ndim(y) == 2:  # soft targets, a probability per class (pseudo-labelling): cross-entropy takes them
                return np.asarray(y, dtype=np.float32)
            return np.asarray(y, dtype=np.int64)
        return ((np.asarray(y, dtype=np.float64) - state["mean"]) / state["std"]).astype(np.float32).reshape(-1, 1)

    def loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        if self.task == "cdf":
            return _crps_loss
        if not self.regression:
            base: nn.Module = nn.CrossEntropyLoss(label_smoothing=self.label_smoothing)
        else:
            base = {"mse": nn.MSELoss(), "l1": nn.L1Loss(), "huber": nn.HuberLoss()}[self.loss]

        def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            if out.dim() == 3:  # (n, k, C): each member's loss on the same target, averaged over rows and members
                return base(out.flatten(0, 1), target.repeat_interleave(out.shape[1], dim=0))
            return base(out, target)

        return loss

    def output_fn(self, state: dict[str, Any]) -> Callable[[torch.Tensor], torch.Tensor]:
        if self.task == "cdf":
            return lambda out: _cdf(out).mean(dim=1) if out.dim() == 3 else _cdf(out)
        if not self.regression:
            to_pred: Callable[[torch.Tensor], torch.Tensor] = lambda out: torch.softmax(out, dim=-1)  # noqa: E731
        else:
            mean, std = state["mean"], state["std"]
            to_pred = lambda out: out * std + mean  # noqa: E731

        def output(out: torch.Tensor) -> torch.Tensor:
            pred = to_pred(out)
            return pred.mean(dim=1) if out.dim() == 3 else pred  # (n, k, C): the members' mean

        return output


def _cdf(out: torch.Tensor) -> torch.Tensor:
    """Logits over the bin codes -> the CDF at the bins: the cumulative softmax without its last column (always 1)."""
    return torch.cumsum(torch.softmax(out, dim=-1), dim=-1)[..., :-1].clamp(0.0, 1.0)


def _crps_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The CRPS of the CDF head against the bin codes: mean over rows, bins (and members) of (F - 1[code <= bin])^2."""
    cdf = _cdf(out)
    bins = torch.arange(cdf.shape[-1], device=cdf.device)
    step = (bins[None, :] >= target[:, None]).to(cdf.dtype)
    if cdf.dim() == 3:  # (n, k, J): every member against the same step
        step = step[:, None, :]
    return torch.mean((cdf - step) ** 2)
