"""Fit, predict, save and load one net: the glue both the runner's adapter and the scikit-learn estimators use.

A fitted net is its module plus a JSON-able ``config``: the kind, the validated params, the input state fitted on
the training rows (normalisation statistics, shapes, cardinalities), the target state and the task. ``save`` writes
the ``state_dict`` with ``torch.save`` and the config as JSON beside it; ``load`` rebuilds the module from the JSON
and reads the weights with ``torch.load(..., weights_only=True)`` (no pickle of code).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ...errors import KitError
from ...features import FeatureMatrix
from ...metrics import Metric, get_metric
from .batches import Batches
from .callbacks import Callback, EarlyStopping
from .device import plan_device
from .families import FAMILIES
from .heap import kept_heap
from .inputs import select_columns, take_columns
from .runtime import seeded, torch_threads
from .task import TaskHead
from .trainer import Scorer, Trainer, TrainResult, infer

FORMAT = 1  #: version of the saved JSON layout


@dataclass
class FittedNet:
    module: nn.Module
    config: dict[str, Any]


def scorer_for(metric: Metric) -> Scorer:
    """The per-epoch validation metric. Targets fit on ``log1p(y)`` (RMSLE) are scored by RMSE in that space,
    which is the RMSLE of the back-transformed predictions."""
    if metric.fit_transform == "log1p":
        metric = get_metric("rmse")
    return Scorer(metric.name, metric.score, metric.greater_is_better)


def _head(config: dict[str, Any]) -> TaskHead:
    p = config["params"]
    return TaskHead(config["task"], config["n_classes"], p["loss"], p["label_smoothing"])


def fit_net(
    model: str,
    kind: str,
    params: dict[str, Any],
    train: FeatureMatrix,
    y_train: np.ndarray,
    valid: FeatureMatrix | None,
    y_valid: np.ndarray | None,
    *,
    task: str,
    n_classes: int,
    scorer: Scorer | None,
    seed: int,
    device: str = "cpu",
    threads: int | None = None,
    callbacks: Sequence[Callback] = (),
) -> tuple[FittedNet, TrainResult]:
    """Fit a net of ``kind`` with validated ``params``; early stopping on ``valid`` when ``params['patience']``."""
    family = FAMILIES[kind]
    inputs = family.inputs(model, params)
    columns = select_columns(model, train, params["columns"])
    train = take_columns(train, columns)
    valid = take_columns(valid, columns) if valid is not None else None
    config: dict[str, Any] = {
        "format": FORMAT,
        "model": model,
        "kind": kind,
        "task": task,
        "n_classes": n_classes,
        "params": params,
        "columns": columns,
        "inputs": inputs.fit(train),  # normalisation fit on the fold's training rows only
    }
    head = _head(config)
    config["target"] = head.fit_target(y_train)
    plan = plan_device(device, amp=params["amp"], channels_last=params["channels_last"], image_input=family.has_images)
    callbacks = [*callbacks, *family.callbacks(params)]
    if valid is not None and params["patience"] > 0:
        by_metric = params["monitor"] == "metric" and scorer is not None
        callbacks.insert(
            0,
            EarlyStopping(
                f"valid_{scorer.name}" if by_metric and scorer else "valid_loss",
                patience=params["patience"],
                greater_is_better=bool(by_metric and scorer and scorer.greater_is_better),
                tie_breaker="valid_loss" if by_metric else None,
            ),
        )
    with (
        kept_heap(),
        torch_threads(threads),
        seeded(seed, device, deterministic=params["deterministic"]) as generator,
    ):
        module = family.build(params, config["inputs"], head.n_outputs)
        family.prepare_for_fit(module, model, params)
        train_batches = Batches(
            [*inputs.arrays(train, config["inputs"]), head.target_array(y_train, config["target"])],
            batch_size=params["batch_size"],
            plan=plan,
            shuffle=True,
            generator=generator,
            drop_singleton=True,
        )
        valid_batches = None
        if valid is not None:
            valid_batches = Batches(
                [*inputs.arrays(valid, config["inputs"]), head.target_array(y_valid, config["target"])],
                batch_size=family.eval_batch_size(params),
                plan=plan,
            )
        trainer = Trainer(
            module,
            loss_fn=head.loss_fn(),
            params=params,
            plan=plan,
            output_fn=head.output_fn(config["target"]),
            scorer=scorer,
            callbacks=callbacks,
            augment=family.augment(params),
        )
        result = trainer.fit(train_batches, valid_batches, y_valid)
    config["best_epoch"] = result.best_epoch
    return FittedNet(trainer.module.eval(), config), result


def predict_net(fitted: FittedNet, X: FeatureMatrix, *, device: str = "cpu", threads: int | None = None) -> np.ndarray:
    """float32 predictions: ``(n, C)`` probabilities or ``(n, 1)`` values; averaged over the TTA views if asked."""
    config = fitted.config
    family, params = FAMILIES[config["kind"]], config["params"]
    if len(X.X) == 0:
        return np.zeros((0, _head(config).n_outputs), dtype=np.float32)
    X = take_columns(X, config["columns"])
    arrays = family.inputs(config["model"], params).arrays(X, config["inputs"])
    plan = plan_device(device, amp=params["amp"], channels_last=params["channels_last"], image_input=family.has_images)
    with kept_heap(), torch_threads(threads):
        module = fitted.module.to(device)
        batches = Batches(list(arrays), batch_size=family.eval_batch_size(params), plan=plan)
        pred = infer(module, batches, plan, _head(config).output_fn(config["target"]), family.tta_views(params))
    return np.ascontiguousarray(pred, dtype=np.float32)


def save_net(fitted: FittedNet, path: Path) -> None:
    """``path``: the ``state_dict`` (``torch.save``); ``path.with_suffix('.json')``: the config."""
    state = {k: v.detach().cpu() for k, v in fitted.module.state_dict().items()}
    torch.save(state, path)
    path.with_suffix(".json").write_text(json.dumps(fitted.config, indent=1))


def load_net(path: Path, *, device: str = "cpu") -> FittedNet:
    config_path = path.with_suffix(".json")
    if not path.is_file() or not config_path.is_file():
        raise KitError(f"{path}: a saved net needs both {path.name} and {config_path.name}; one is missing")
    config = json.loads(config_path.read_text())
    if config.get("format") != FORMAT or config.get("kind") not in FAMILIES:
        raise KitError(
            f"{config_path}: not a net saved by this version of kaggle_kit (format {config.get('format')!r})"
        )
    family = FAMILIES[config["kind"]]
    module = family.build(config["params"], config["inputs"], _head(config).n_outputs)
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return FittedNet(module.to(device).eval(), config)
