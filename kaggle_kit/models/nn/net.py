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

from ...errors import ConfigError, DataError, KitError
from ...features import FeatureMatrix
from ...features.sequence_store import SequenceStore
from ...metrics import Metric, get_metric
from ...readers.image_stream import IMAGE_REF, ImageStream
from .batches import Batches
from .callbacks import Callback, EarlyStopping
from .device import plan_device
from .families import FAMILIES
from .heap import kept_heap
from .inputs import select_columns, take_columns
from .runtime import seeded, torch_threads
from .sequence_batches import SequenceBatches, check_store, fit_streamed, need_store, streamed_rows
from .task import TaskHead
from .trainer import Scorer, TooFewRows, Trainer, TrainResult, infer

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
    images: ImageStream | None = None,
    sequences: SequenceStore | None = None,
) -> tuple[FittedNet, TrainResult]:
    """Fit a net of ``kind`` with validated ``params``; early stopping on ``valid`` when ``params['patience']``.
    ``images``: streamed image files, which an image net reads through the rows' ``__image__`` column;
    ``sequences``: the store whose positions a streamed sequence net's ``__sequence`` column holds."""
    family = FAMILIES[kind]
    inputs = family.inputs(model, params)
    source = _source_for(model, family, params, train, images, sequences)
    if isinstance(source, ImageStream):
        columns = [IMAGE_REF]
    else:  # a streamed sequence net's only column is __sequence (streamed_rows refused params.columns)
        columns = select_columns(model, train, None if source is not None else params["columns"])
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
        # normalisation fit on the fold's training rows only
        "inputs": _fit_inputs(model, params, inputs, source, train, threads),
    }
    head = _head(config)
    if task == "multiregression":
        _check_targets_have_values(model, y_train)
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
    augment = family.augment(params)
    shift = 0
    if isinstance(source, SequenceStore):  # streamed sequences are shifted per batch, within each one's length
        shift, augment = (params.get("augment_shift", 0) if augment is not None else 0), None
    with (
        kept_heap(),
        torch_threads(threads),
        seeded(seed, device, deterministic=params["deterministic"]) as generator,
    ):
        module = family.build(params, config["inputs"], head.n_outputs)
        _check_batch_norm_rows(model, kind, module, len(y_train))
        family.prepare_for_fit(module, model, params)
        train_batches = batches_for(
            config,
            train,
            head.target_array(y_train, config["target"]),
            source,
            batch_size=params["batch_size"],
            plan=plan,
            threads=threads,
            shuffle=True,
            generator=generator,
            drop_singleton=True,
            shift=shift,
        )
        valid_batches = None
        if valid is not None:
            valid_target = head.target_array(y_valid, config["target"])
            valid_batches = batches_for(
                config,
                valid,
                valid_target,
                source,
                batch_size=family.eval_batch_size(params),
                plan=plan,
                threads=threads,
            )
        trainer = Trainer(
            module,
            loss_fn=head.loss_fn(),
            params=params,
            plan=plan,
            output_fn=head.output_fn(config["target"]),
            scorer=scorer,
            callbacks=callbacks,
            augment=augment,
        )
        result = trainer.fit(train_batches, valid_batches, y_valid)
    config["best_epoch"] = result.best_epoch
    return FittedNet(trainer.module.eval(), config), result


def _check_targets_have_values(model: str, y: np.ndarray) -> None:
    """A multiregression target with no value in the training rows: nothing to learn its scale from (its mean 0 and
    std 1 were assumed, and a target around 1e6 was predicted around 0). The per-target models refuse it alike."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    empty = np.flatnonzero(~np.isfinite(y).any(axis=0))
    if empty.size:
        raise DataError(
            f"model {model!r}: the target data.target[{int(empty[0])}] has no value in this fold's training rows; a "
            "multiregression target needs values to fit: use fewer folds, or remove it from data.target"
        )


def _check_batch_norm_rows(model: str, kind: str, module: nn.Module, rows: int) -> None:
    """A training set of one row and a ``BatchNorm1d`` over ``(N, C)`` features (the mlp's hidden layers, the
    hybrid's): a batch of one row has no spread to normalise by, and torch stops with ``ValueError: Expected more than
    1 value per channel when training`` (a last batch of one row is dropped, but not the only one). It fails this model
    only (:class:`TooFewRows`): a DataError had stopped the whole run, the other models unfitted."""
    if rows != 1 or not any(type(m) is nn.BatchNorm1d for m in module.modules()):
        return
    fix = "set params.batch_norm = false (or use kind realmlp or tabm), or " if kind == "mlp" else ""
    raise TooFewRows(
        f"model {model!r}: kind {kind!r} trains BatchNorm layers, which need at least 2 rows, but it has 1 training "
        f"row (a fold's, or the data's); {fix}train on more rows"
    )


def predict_net(
    fitted: FittedNet,
    X: FeatureMatrix,
    *,
    device: str = "cpu",
    threads: int | None = None,
    images: ImageStream | None = None,
    sequences: SequenceStore | None = None,
) -> np.ndarray:
    """float32 predictions: ``(n, C)`` probabilities or ``(n, 1)`` values; averaged over the TTA views if asked.
    A net fit on streamed images reads the rows' images from ``images`` (the stream their ``__image__`` indexes);
    one fit on streamed sequences reads them from ``sequences`` (the store their ``__sequence`` positions index)."""
    config = fitted.config
    family, params = FAMILIES[config["kind"]], config["params"]
    if len(X.X) == 0:
        return np.zeros((0, _head(config).n_outputs), dtype=np.float32)
    source = _fitted_source(config, images, sequences)
    X = take_columns(X, config["columns"])
    plan = plan_device(device, amp=params["amp"], channels_last=params["channels_last"], image_input=family.has_images)
    with kept_heap(), torch_threads(threads):
        module = fitted.module.to(device)
        batches = batches_for(
            config, X, None, source, batch_size=family.eval_batch_size(params), plan=plan, threads=threads
        )
        pred = infer(module, batches, plan, _head(config).output_fn(config["target"]), family.tta_views(params))
    return np.ascontiguousarray(pred, dtype=np.float32)


#: where a net reads its rows' inputs: streamed image files, the streamed sequence store, or (None) the matrix
Source = ImageStream | SequenceStore | None


def _source_for(
    model: str,
    family: Any,
    params: dict[str, Any],
    train: FeatureMatrix,
    images: ImageStream | None,
    sequences: SequenceStore | None,
) -> Source:
    """The source a net being fit reads: the image stream (an image net, images streamed), the sequence store (a
    sequence net whose matrix holds ``__sequence``), else None: its columns, in memory."""
    stream = _stream_for(model, family, images)
    if stream is not None:
        return stream
    if family.layout == "sequence" and streamed_rows(model, params, train) is not None:
        return need_store(model, sequences)
    return None


def _fitted_source(config: dict[str, Any], images: ImageStream | None, sequences: SequenceStore | None) -> Source:
    """The source a fitted net predicts from: the one it was fit on, as handed in for these rows."""
    model, state = config["model"], config["inputs"]
    if state.get("streamed"):
        if images is None:
            raise KitError(
                f"model {model!r} was fit on streamed images ([data.images] stream mode): predicting needs "
                "the rows' image files (images= / FitContext.images), which were not given"
            )
        return images
    if state.get("source") == "store":
        store = need_store(model, sequences)
        check_store(model, store, state)
        return store
    return None


def _stream_for(model: str, family: Any, images: ImageStream | None) -> ImageStream | None:
    """The stream an image net reads (None for pixel columns, or for a net without images)."""
    if images is None or not family.has_images:
        return None
    if family.layout != "image":
        raise ConfigError(
            f"model {model!r}: kind {family.kind!r} reads pixel columns, but the images are streamed; use kind 'cnn' "
            "or set data.images.mode = 'memory'"
        )
    return images


def _fit_inputs(
    model: str, params: dict[str, Any], inputs: Any, source: Source, train: FeatureMatrix, threads: int | None
) -> dict[str, Any]:
    """The input state fitted on the training rows, from wherever they are read."""
    if isinstance(source, ImageStream):
        from .streaming import fit_stream_inputs, image_refs

        source.open_cache(threads or 1)  # decoded once per run (the first net to need it), then memory-mapped
        shape = tuple(params["image_shape"])
        return fit_stream_inputs(model, shape, source, image_refs(model, train, source), threads or 1)  # type: ignore[arg-type]
    if isinstance(source, SequenceStore):
        return fit_streamed(source, streamed_rows(model, params, train))  # type: ignore[arg-type]
    return inputs.fit(train)


def batches_for(
    config: dict[str, Any],
    X: FeatureMatrix,
    target: np.ndarray | None,
    source: Source,
    *,
    batch_size: int,
    plan: Any,
    threads: int | None,
    shift: int = 0,
    **kwargs: Any,
) -> Any:
    """Batches of ``X``'s inputs (and ``target``): the rows' streamed images, their sequences gathered from the
    store (padded per batch; ``shift``: training shifts), or arrays in memory."""
    targets = [target] if target is not None else []
    if isinstance(source, ImageStream):
        from .streaming import image_refs, stream_batches

        refs = image_refs(config["model"], X, source)
        source.open_cache(threads or 1)
        return stream_batches(
            source, refs, config["inputs"], target, batch_size=batch_size, plan=plan, threads=threads or 1, **kwargs
        )
    if isinstance(source, SequenceStore):
        rows = streamed_rows(config["model"], config["params"], X)
        assert rows is not None  # take_columns kept the net's one column, __sequence
        return SequenceBatches(
            source, rows, targets, state=config["inputs"], batch_size=batch_size, plan=plan, shift=shift, **kwargs
        )
    arrays = FAMILIES[config["kind"]].inputs(config["model"], config["params"]).arrays(X, config["inputs"])
    return Batches([*arrays, *targets], batch_size=batch_size, plan=plan, **kwargs)


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
