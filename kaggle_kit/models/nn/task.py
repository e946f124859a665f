"""What the task means for a net: how many outputs, the loss, the target as a tensor, outputs -> predictions.

Classification (binary included) has one logit per class, cross-entropy, and softmax probabilities, so the
predictions are the kit's ``(n, C)`` matrix. Regression standardises the target with the training rows' mean and
std (nets train badly on raw targets in the thousands) and maps the outputs back: ``(n, 1)`` values.

Multilabel and multiregression have one output per target column on one shared body (the last layer's T units are
the T heads): binary cross-entropy on the logits (sigmoid probabilities) or the regression loss on per-target
standardised values. A missing label (NaN) is masked: the target array carries the labels (missing ones filled with
0) and a 0/1 mask side by side, ``(n, 2T)``, and the loss is the mean over the present cells only, so whatever a
masked cell holds changes neither the loss nor a gradient.

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

from ...readers.targets import one_class_rate


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
    def multi(self) -> bool:
        """Several target columns (multilabel / multiregression): ``n_classes`` is their number."""
        return self.task in ("multilabel", "multiregression")

    @property
    def n_outputs(self) -> int:
        return 1 if self.regression else self.n_classes

    def fit_target(self, y: np.ndarray) -> dict[str, Any]:
        if self.task == "multilabel":  # a label of one class in the training rows: its smoothed rate, as per target
            return {"constant": [one_class_rate(c[~np.isnan(c)]) for c in np.asarray(y, dtype=np.float64).T]}
        if self.task == "multiregression":
            y = np.asarray(y, dtype=np.float64)
            means = [float(np.nanmean(c)) if np.isfinite(c).any() else 0.0 for c in y.T]
            stds = [float(np.nanstd(c)) if np.isfinite(c).any() else 1.0 for c in y.T]
            return {"mean": means, "std": [target_scale(m, s) for m, s in zip(means, stds, strict=True)]}
        if not self.regression:
            return {}
        y = np.asarray(y, dtype=np.float64)
        mean = float(np.mean(y))
        return {"mean": mean, "std": target_scale(mean, float(np.std(y)))}

    def target_array(self, y: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        if self.multi:  # (n, 2T): labels (missing -> 0), then the mask of present labels
            y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
            present = ~np.isnan(y)
            if self.task == "multiregression":
                y = (y - np.asarray(state["mean"])) / np.asarray(state["std"])
            return np.concatenate([np.where(present, y, 0.0), present], axis=1).astype(np.float32)
        if not self.regression:
            if np.ndim(y) == 2:  # soft targets, a probability per class (pseudo-labelling): cross-entropy takes them
                return np.asarray(y, dtype=np.float32)
            return np.asarray(y, dtype=np.int64)
        return ((np.asarray(y, dtype=np.float64) - state["mean"]) / state["std"]).astype(np.float32).reshape(-1, 1)

    def loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        if self.task == "cdf":
            return _crps_loss
        if self.multi:
            return self._masked_loss()
        if not self.regression:
            base: nn.Module = nn.CrossEntropyLoss(label_smoothing=self.label_smoothing)
        else:
            base = {"mse": nn.MSELoss(), "l1": nn.L1Loss(), "huber": nn.HuberLoss()}[self.loss]

        def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            if out.dim() == 3:  # (n, k, C): each member's loss on the same target, averaged over rows and members
                return base(out.flatten(0, 1), target.repeat_interleave(out.shape[1], dim=0))
            return base(out, target)

        return loss

    def _masked_loss(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The mean loss over the present (unmasked) cells of an ``(n, T)`` output against an ``(n, 2T)`` target."""
        if self.task == "multilabel":
            cell: nn.Module = nn.BCEWithLogitsLoss(reduction="none")
        else:
            cell = {"mse": nn.MSELoss, "l1": nn.L1Loss, "huber": nn.HuberLoss}[self.loss](reduction="none")

        def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            if out.dim() == 3:  # (n, k, T): each member against the same target
                target = target.repeat_interleave(out.shape[1], dim=0)
                out = out.flatten(0, 1)
            n_targets = out.shape[-1]
            labels, mask = target[:, :n_targets], target[:, n_targets:]
            per_cell = cell(out, labels) * mask  # a masked cell contributes 0, whatever it holds
            return per_cell.sum() / mask.sum().clamp(min=1.0)

        return loss

    def output_fn(self, state: dict[str, Any]) -> Callable[[torch.Tensor], torch.Tensor]:
        if self.task == "cdf":
            return lambda out: _cdf(out).mean(dim=1) if out.dim() == 3 else _cdf(out)
        if self.task == "multilabel":
            to_pred: Callable[[torch.Tensor], torch.Tensor] = torch.sigmoid
        elif self.task == "multiregression":
            means, stds = state["mean"], state["std"]
            to_pred = lambda out: out * out.new_tensor(stds) + out.new_tensor(means)  # noqa: E731
        elif not self.regression:
            to_pred = lambda out: torch.softmax(out, dim=-1)  # noqa: E731
        else:
            mean, std = state["mean"], state["std"]
            to_pred = lambda out: out * std + mean  # noqa: E731

        constant = list(state.get("constant") or ()) if self.task == "multilabel" else []
        fixed = [j for j, r in enumerate(constant) if r is not None]

        def output(out: torch.Tensor) -> torch.Tensor:
            pred = to_pred(out)
            pred = pred.mean(dim=1) if out.dim() == 3 else pred  # (n, k, C): the members' mean
            if fixed:  # the labels no training row told apart: their rate, not what the output drifted to
                pred = pred.clone()
                pred[:, fixed] = pred.new_tensor([constant[j] for j in fixed])
            return pred

        return output


def target_scale(mean: float, std: float) -> float:
    """The std a regression target is divided by: its own, relative to its size, so a target in units of 1e-14 is
    learnt at unit scale (an absolute floor of 1e-12 left it at 1e-14 while the outputs, of order 0.1, were added to
    the mean unscaled: predictions off by 10^13 times the target's spread); 1 where the target is constant (0, or
    float rounding: below 1e-12 of its mean)."""
    return std if np.isfinite(std) and std > 1e-12 * abs(mean) and std > 0 else 1.0


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
