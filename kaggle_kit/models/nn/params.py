"""Net hyper-parameters declared as data: each key's default, its check and what it does; validated once, up front.

Every net kind (``mlp``, ``realmlp``, ``tabm``, ``cnn``, ``hybrid``, ``rnn``, ``cnn1d``) takes the training keys of
:data:`TRAIN_PARAMS` plus its architecture's own keys (``realmlp`` and ``tabm`` also change some training defaults:
their papers' recipes). A key that is not in the kind's schema is a :class:`~kaggle_kit.errors.ConfigError` naming
the model, the key, the allowed keys and the closest one. This module does not import torch, so a spec is checked
before anything trains.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError, allowed, did_you_mean

REQUIRED = object()  #: default of a key the user must give


@dataclass(frozen=True)
class Param:
    """One hyper-parameter: ``check`` returns the normalised value or raises ``ValueError("must be ...")``."""

    default: Any
    check: Callable[[Any], Any]
    doc: str


# ------------------------------------------------------------------------------------------ value checks
def integer(lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if type(value) is not int or (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ValueError(f"must be an integer{_range(lo, hi)}")
        return value

    return check


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and lo is not None:
            ok = value > lo if lo_open else value >= lo
        if ok and hi is not None:
            ok = value < hi
        if not ok:
            low = "" if lo is None else (f" > {lo}" if lo_open else f" >= {lo}")
            high = "" if hi is None else f" and < {hi}"
            raise ValueError(f"must be a number{low}{high}")
        return float(value)

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            hint = did_you_mean(value, options) if isinstance(value, str) else ""
            raise ValueError(f"must be one of {allowed(options)}.{hint}".rstrip("."))
        return str(value)

    return check


def int_list(length: int | None = None, lo: int = 1, *, what: str = "") -> Callable[[Any], list[int]]:
    def check(value: Any) -> list[int]:
        items = list(value) if isinstance(value, (list, tuple)) else None
        if (
            items is None
            or (length is not None and len(items) != length)
            or (length is None and not items)
            or any(type(v) is not int or v < lo for v in items)
        ):
            size = f"{length} integers" if length is not None else "a non-empty list of integers"
            raise ValueError(f"must be {size} >= {lo}{what}")
        return items

    return check


def number_pair(lo: float, hi: float) -> Callable[[Any], list[float]]:
    def check(value: Any) -> list[float]:
        items = list(value) if isinstance(value, (list, tuple)) else None
        if (
            items is None
            or len(items) != 2
            or any(not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v < hi for v in items)
        ):
            raise ValueError(f"must be 2 numbers in [{lo}, {hi})")
        return [float(v) for v in items]

    return check


def column_selection(value: Any) -> str | list[str] | None:
    if isinstance(value, str):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"must be a valid regular expression ({exc})") from None
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError("must be a list of column names or a regular expression matching whole names")


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" in [{lo}, {hi}]"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


# ------------------------------------------------------------------------------------------ the schemas
TRAIN_PARAMS: dict[str, Param] = {
    "columns": Param(
        None,
        column_selection,
        "the feature columns the net reads, in this order: a list of names, or a regular expression matching whole "
        "names (in file order); default: all. Lets nets and trees share a frame with different columns",
    ),
    "epochs": Param(30, integer(1, 100_000), "maximum number of epochs"),
    "patience": Param(10, integer(0), "epochs without improvement before stopping; 0 = off (keep the last epoch)"),
    "monitor": Param(
        "metric",
        choice("metric", "loss"),
        "what early stopping watches on the validation rows: the competition metric (ties broken by the loss) "
        "or the loss",
    ),
    "batch_size": Param(128, integer(1), "training mini-batch size"),
    "eval_batch_size": Param(1024, integer(1), "mini-batch size for validation and prediction"),
    "optimizer": Param("adamw", choice("adamw", "adam", "sgd"), "'sgd' uses Nesterov momentum"),
    "betas": Param([0.9, 0.999], number_pair(0, 1), "'adamw' / 'adam': the moment decay rates (beta1, beta2)"),
    "lr": Param(1e-3, number(0, lo_open=True), "learning rate (the peak of 'onecycle' and 'cosine')"),
    "weight_decay": Param(1e-4, number(0), "weight decay (decoupled for AdamW)"),
    "momentum": Param(0.9, number(0, 1), "momentum of 'sgd'"),
    "schedule": Param(
        "onecycle",
        choice("onecycle", "cosine", "flat_cos", "plateau", "constant"),
        "learning-rate schedule: one-cycle, linear warm-up then cosine decay, 'flat_cos' (RealMLP: constant for the "
        "first half of the epochs, then a cosine down to 0), reduce-on-plateau, or constant",
    ),
    "warmup_epochs": Param(1.0, number(0), "warm-up length of 'onecycle' and 'cosine', in epochs"),
    "plateau_factor": Param(0.5, number(0, 1, lo_open=True), "'plateau': factor the learning rate is cut by"),
    "plateau_patience": Param(2, integer(0), "'plateau': epochs without a lower validation loss before a cut"),
    "clip_grad_norm": Param(0.0, number(0), "clip the gradients' global norm to this; 0 = off"),
    "label_smoothing": Param(0.0, number(0, 1), "classification: cross-entropy label smoothing"),
    "loss": Param("mse", choice("mse", "l1", "huber"), "regression: loss on the standardised target"),
    "amp": Param(
        "auto",
        choice("auto", "off", "bf16", "fp16"),
        "mixed precision on CUDA ('auto': bf16 where the GPU has it, else fp16 with a gradient scaler); never on CPU",
    ),
    "channels_last": Param(True, boolean, "images on CUDA: channels-last memory format"),
    "ema": Param(
        0.0,
        number(0, 1),
        "exponential moving average of the weights with this decay (e.g. 0.999; 0 = off), updated after every "
        "optimizer step with the decay warmed up as min(ema, (1 + t) / (10 + t)) at step t; validation, early "
        "stopping, prediction and the saved model use the averaged weights",
    ),
    "accumulate": Param(
        1,
        integer(1, 4096),
        "gradient accumulation: the optimizer steps once every this many mini-batches, on their row-weighted mean "
        "gradient (the update of one batch of accumulate x batch_size rows, BatchNorm statistics aside)",
    ),
    "deterministic": Param(True, boolean, "CUDA: deterministic cuDNN kernels (CPU runs are always reproducible)"),
}

MLP_PARAMS: dict[str, Param] = {
    "hidden": Param([256, 128], int_list(), "widths of the hidden layers"),
    "dropout": Param(0.1, number(0, 1), "dropout after each hidden layer"),
    "activation": Param("relu", choice("relu", "gelu", "silu"), "activation of the hidden layers"),
    "batch_norm": Param(True, boolean, "BatchNorm after each hidden linear layer"),
    "self_normalizing": Param(
        False, boolean, "SELU network: SELU, LeCun-normal weights and AlphaDropout, no BatchNorm (replaces both)"
    ),
    "embedding_dim": Param(
        0, integer(0), "width of each categorical column's embedding; 0 = min(50, (levels + 1) // 2)"
    ),
}


def _defaults(**changes: tuple[Any, str]) -> dict[str, Param]:
    """Training keys with another default for one kind: ``key=(default, why)``."""
    return {k: Param(v, TRAIN_PARAMS[k].check, f"{TRAIN_PARAMS[k].doc} [{why}]") for k, (v, why) in changes.items()}


_TABLE_FRONT_PARAMS: dict[str, Param] = {
    "num_embedding": Param(
        "pbld",
        choice("pbld", "plr", "pl", "none"),
        "numeric embeddings, one small net per numeric column: 'pbld' (RealMLP: [x, Linear(cos(2 pi w x + b))], "
        "frequencies w ~ N(0, embedding_sigma)), 'plr' (periodic [cos, sin](2 pi w x) -> Linear -> ReLU), 'pl' "
        "(piecewise-linear encoding over `bins` quantile bins of the training rows -> Linear), or 'none' (the "
        "scaled value itself)",
    ),
    "num_embedding_dim": Param(4, integer(1), "width of each numeric column's embedding ('pbld': x included)"),
    "embedding_frequencies": Param(16, integer(1), "'pbld' / 'plr': frequencies per numeric column"),
    "embedding_sigma": Param(0.1, number(0, lo_open=True), "'pbld' / 'plr': std of the initial frequencies"),
    "bins": Param(48, integer(2, 1024), "'pl': quantile bins per numeric column, fit on the training rows"),
    "one_hot_max": Param(
        9, integer(0), "categorical columns with at most this many levels are one-hot encoded, wider ones embedded"
    ),
    "cat_embedding_dim": Param(8, integer(1), "width of each embedded categorical column"),
}

REALMLP_PARAMS: dict[str, Param] = {
    # the paper's training recipe (RealMLP-TD), as other defaults of the training keys
    **_defaults(
        epochs=(64, "the paper: 256, too many for CPUs; early stopping keeps the best epoch"),
        patience=(16, "the flat_cos schedule improves late"),
        batch_size=(256, "the paper's"),
        lr=(0.04, "the paper's for the NTK-parametrised weights; 0.2 for regression in the paper"),
        weight_decay=(0.02, "the paper's"),
        betas=([0.9, 0.95], "the paper's"),
        schedule=("flat_cos", "the paper's lr schedule is the multi-cycle 'coslog4'; flat_cos is its dropout one"),
        warmup_epochs=(0.0, "none"),
        label_smoothing=(0.1, "the paper's; 0 under the log-loss metric unless set"),
    ),
    # the architecture
    "hidden": Param([256, 256, 256], int_list(), "widths of the hidden layers"),
    "activation": Param(
        "auto",
        choice("auto", "selu", "mish", "relu", "silu", "gelu"),
        "activation of the hidden layers; 'auto' = SELU for classification, Mish for regression (the paper's)",
    ),
    "parametric_activation": Param(
        True, boolean, "learnable per-neuron mix x + a (f(x) - x), a initialised to 1 (learning rate x 0.1)"
    ),
    "dropout": Param(0.15, number(0, 1), "dropout after each hidden layer"),
    "dropout_schedule": Param(
        "flat_cos", choice("flat_cos", "constant"), "'flat_cos': the dropout rate follows the paper's schedule"
    ),
    "front_scale": Param(
        True, boolean, "a learnable per-input scale before the first layer, initialised to 1 (learning rate x 6)"
    ),
    **_TABLE_FRONT_PARAMS,
}

TABM_PARAMS: dict[str, Param] = {
    **_defaults(
        epochs=(64, "the paper: until patience runs out"),
        patience=(16, "the paper's"),
        batch_size=(256, "the paper's"),
        lr=(2e-3, "the paper's"),
        weight_decay=(3e-4, "the paper's; not on the adapters"),
        schedule=("constant", "the paper's"),
    ),
    "k": Param(32, integer(1, 1024), "ensemble members trained at once (sharing the weights, not the adapters)"),
    "variant": Param(
        "tabm",
        choice("tabm", "mini"),
        "'tabm': BatchEnsemble layers (a member's rank-1 adapters r, s and bias in every layer; the first layer's r "
        "initialised to random signs, the others to 1); 'mini': one random-sign adapter at the input, then a shared "
        "MLP (TabM-mini)",
    ),
    "hidden": Param(
        [256, 256],
        int_list(),
        "widths of the hidden layers (the paper: 512 wide, 2 blocks with numeric embeddings, 3 without; 256 keeps "
        "k = 32 members affordable on a CPU)",
    ),
    "dropout": Param(0.1, number(0, 1), "dropout after each hidden layer"),
    **_TABLE_FRONT_PARAMS,
    "num_embedding": Param("pl", _TABLE_FRONT_PARAMS["num_embedding"].check, "as realmlp; default 'pl' (TabM+PLE)"),
    "num_embedding_dim": Param(16, integer(1), "width of each numeric column's embedding"),
}

_AUGMENT_PARAMS: dict[str, Param] = {
    "augment_shift": Param(0, integer(0), "training: random shifts of up to this many pixels"),
    "augment_rotate": Param(0.0, number(0, 180), "training: random rotations of up to this many degrees"),
    "augment_scale": Param(0.0, number(0, 1), "training: random zoom by a factor in [1 - s, 1 + s] (crop / pad)"),
    "augment_crop": Param(
        0.0, number(0, 1), "training: random-resized crops of 1 - c to all of the area (aspect 3/4 to 4/3)"
    ),
    "augment_hflip": Param(False, boolean, "training: random horizontal flips"),
    "augment_vflip": Param(False, boolean, "training: random vertical flips"),
    "tta": Param(False, boolean, "average the predictions over the identity, the flips and +-shift views"),
}


def path_string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be the path of a weights file (a non-empty string)")
    return value


#: the backbones written in the kit (no package needed); "timm:NAME" takes any timm model when timm is installed
KIT_BACKBONES = (
    "resnet18",
    "resnet34",
    "resnet50",
    "convnext_atto",
    "convnext_femto",
    "convnext_pico",
    "convnext_nano",
    "convnext_tiny",
    "convnext_small",
    "convnext_base",
    "convnext_large",
)
TIMM_PREFIX = "timm:"
_TIMM_NAME = re.compile(r"timm:[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def backbone_name(value: Any) -> str:
    if value == "none" or value in KIT_BACKBONES:
        return str(value)
    if isinstance(value, str) and _TIMM_NAME.fullmatch(value):
        return value
    hint = did_you_mean(value, ("none", *KIT_BACKBONES)) if isinstance(value, str) else ""
    raise ValueError(
        f"must be one of {allowed(('none', *KIT_BACKBONES))} or 'timm:<model name>' (needs timm).{hint}".rstrip(".")
    )


def timm_installed() -> bool:
    """Whether ``import timm`` would work (without importing it, nor torch)."""
    import importlib.util
    import sys

    if sys.modules.get("timm") is not None:
        return True
    try:
        return importlib.util.find_spec("timm") is not None
    except (ImportError, ValueError):
        return False


def timm_missing(model: str, backbone: str) -> ConfigError:
    where = f"model {model!r}: " if model else ""
    return ConfigError(
        f"{where}params.backbone = {backbone!r} needs the 'timm' package, which is not installed; pip install timm, "
        f"or use one of the kit's own backbones, which need no package: {', '.join(repr(b) for b in KIT_BACKBONES)}"
    )


def backbone_architecture(backbone: str) -> str:
    """The module under ``architectures`` that builds ``backbone`` (not ``'none'``)."""
    if backbone.startswith(TIMM_PREFIX):
        return "timm_backbone"
    return "convnext" if backbone.startswith("convnext_") else "resnet"


def backbone_module(backbone: str) -> Any:
    """The module under ``architectures`` of ``backbone`` (not ``'none'``): its ``build`` and ``widest_activation``."""
    import importlib

    return importlib.import_module(f"{__package__}.architectures.{backbone_architecture(backbone)}")


def build_backbone(params: dict[str, Any], inputs: dict[str, Any], n_outputs: int, *, model: str = "") -> Any:
    """The ``nn.Module`` of ``params['backbone']`` (not ``'none'``); every backbone module's ``build`` takes the
    model's name (timm's names it in its messages)."""
    return backbone_module(params["backbone"]).build(params, inputs, n_outputs, model=model)


def resolve_small_input(value: Any, shape: Sequence[int]) -> bool:
    """A backbone's ``small_input``; ``'auto'``: the small stem when the shorter side is under 64 pixels."""
    return min(shape[0], shape[1]) < 64 if value == "auto" else bool(value)


def auto_or_boolean(value: Any) -> str | bool:
    if value == "auto" or isinstance(value, bool):
        return value
    raise ValueError("must be true, false or 'auto'")


#: kind "cnn" with a standard architecture instead of the kit's own CNN (its `channels`, `blocks_per_stage`,
#: `kernel_size` and `separable` then do not apply)
BACKBONE_PARAMS: dict[str, Param] = {
    "backbone": Param(
        "none",
        backbone_name,
        "'none': the kit's CNN (channels, blocks_per_stage, ...); 'resnet18' / 'resnet34' / 'resnet50': torchvision's "
        "ResNet, 'convnext_tiny' / 'small' / 'base' / 'large': torchvision's ConvNeXt, 'convnext_atto' / 'femto' / "
        "'pico' / 'nano': timm's small ConvNeXts, all written in the kit with torchvision's module names, so a "
        "torchvision (or timm) state_dict loads as params.pretrained; 'timm:<name>': timm.create_model(<name>) "
        "(needs timm)",
    ),
    "pretrained": Param(
        None,
        path_string,
        "a backbone's weights file (torchvision / timm state_dict layout, read with torch.load(weights_only=True), "
        "or .safetensors): absolute, or relative to the config file's folder (to the working directory for a spec "
        "built in Python without base_dir); its head is replaced by the task's. The store's key hashes the file's "
        "content, not its path",
    ),
    "backbone_lr_mult": Param(
        None,
        number(0, lo_open=True),
        "a backbone's learning rate = lr x this (discriminative fine-tuning; the head gets lr); default 0.1 with "
        "`pretrained`, 1 without",
    ),
    "freeze_epochs": Param(
        0, integer(0), "a backbone's weights stay frozen (BatchNorm layers still train) for this many first epochs"
    ),
    "small_input": Param(
        "auto",
        auto_or_boolean,
        "a kit backbone's stem: true = a ResNet's 7x7 convolution at stride 1 and no max-pool, a ConvNeXt's 4x4 "
        "patchify at stride 1 (4x less downsampling per side, same weight shapes), false = ImageNet's; 'auto' = "
        "true when the images' shorter side is under 64 pixels",
    ),
    "drop_path": Param(
        0.0,
        number(0, 1),
        "a ConvNeXt's or timm model's stochastic depth: the rate rises linearly from 0 at the first block to this at "
        "the last (torchvision trains convnext_tiny with 0.1)",
    ),
}

CNN_PARAMS: dict[str, Param] = {
    "image_shape": Param(
        REQUIRED,
        int_list(3, what=": [height, width, channels] of the images the pixel columns hold"),
        "[height, width, channels]",
    ),
    "pixel_order": Param(
        "hwc",
        choice("hwc", "chw"),
        "order of the pixel columns: 'hwc' row by row with the channels of a pixel together (Kaggle's "
        "'pixel0..pixel783'), 'chw' one whole channel plane after another",
    ),
    # the default recipe, chosen with benchmarks/cnn_recipe.py (benchmarks/RESULTS.md, section 11): on 28 x 28 grey
    # photo crops 0.951 CV accuracy against LightGBM's 0.537 and the MLP's 0.574; three narrow stages cost less CPU
    # than the old [32, 64] (two stages, the first at full size) and were more accurate; epochs stay the kit's 30
    # (with shifts, 15: 0.861, 6: 0.665); shifts (augment_shift) moved the score within the folds' spread
    **_defaults(lr=(3e-3, "the one-cycle peak; measured against 1e-3 only with the old [32, 64] net")),
    "channels": Param([16, 32, 64], int_list(), "widths of the stages; each stage after the first halves the size"),
    "blocks_per_stage": Param(1, integer(1), "residual blocks per stage"),
    "kernel_size": Param(3, integer(1), "convolution kernel size (odd)"),
    "separable": Param(False, boolean, "depthwise-separable convolutions in the residual blocks"),
    "dropout": Param(0.2, number(0, 1), "dropout before the classifier"),
    **_AUGMENT_PARAMS,
    **BACKBONE_PARAMS,
}

_SEQUENCE_INPUT: dict[str, Param] = {
    "sequence_shape": Param(
        (),  # empty: read from the columns' names (a tuple, as the family turns it into one)
        int_list(2, what=": [steps, features per step] of the sequences the columns hold"),
        "[steps, features per step]; default: read from the selected columns when they are named "
        "'<column>__t<step>' as [data.sequences] writes them (select them with params.columns = '.+__t\\d+')",
    ),
    "step_order": Param(
        "tf",
        choice("tf", "ft"),
        "order of the columns: 'tf' step by step with a step's features together, 'ft' one feature's whole "
        "sequence after another (read from the names when sequence_shape is). Trailing steps whose features are "
        "all missing are padding (variable lengths)",
    ),
}

RNN_PARAMS: dict[str, Param] = {
    **_SEQUENCE_INPUT,
    "cell": Param("gru", choice("gru", "lstm"), "recurrent cell"),
    "hidden": Param(128, integer(1), "hidden units per direction"),
    "layers": Param(2, integer(1), "stacked recurrent layers"),
    "bidirectional": Param(True, boolean, "read the sequence both ways"),
    "pooling": Param("mean", choice("last", "mean", "max"), "how the steps' outputs become one vector"),
    "dropout": Param(0.2, number(0, 1), "dropout between recurrent layers and before the output"),
}

CNN1D_PARAMS: dict[str, Param] = {
    **_SEQUENCE_INPUT,
    "channels": Param([32, 64, 128], int_list(), "widths of the stages; each stage after the first halves the length"),
    "blocks_per_stage": Param(1, integer(1), "residual blocks per stage"),
    "kernel_size": Param(5, integer(1), "convolution kernel size (odd)"),
    "dropout": Param(0.2, number(0, 1), "dropout before the output"),
    "augment_shift": Param(0, integer(0), "training: random shifts of up to this many steps"),
}


def validate_params(model: str, kind: str, params: Mapping[str, Any], schema: Mapping[str, Param]) -> dict[str, Any]:
    """``params`` checked against ``schema`` and completed with the defaults.

    >>> validate_params("m", "mlp", {"hidden": [64]}, {**TRAIN_PARAMS, **MLP_PARAMS})["hidden"]
    [64]
    """
    for key in params:
        if key not in schema:
            raise ConfigError(
                f"model {model!r}: unknown param {key!r} for kind {kind!r}; allowed: {allowed(schema)}."
                f"{did_you_mean(key, schema)}"
            )
    out: dict[str, Any] = {}
    for key, param in schema.items():
        if key not in params:
            if param.default is REQUIRED:
                raise ConfigError(f"model {model!r}: params.{key} is required for kind {kind!r}: {param.doc}")
            out[key] = param.default
            continue
        try:
            out[key] = param.check(params[key])
        except ValueError as exc:
            raise ConfigError(f"model {model!r}: params.{key} {exc}; got {params[key]!r}") from None
    return out


def widths(value: Any) -> list[int]:
    """A possibly empty list of layer widths (``[]``: no hidden layer)."""
    if not isinstance(value, (list, tuple)) or any(type(v) is not int or v < 1 for v in value):
        raise ValueError("must be a list of integers >= 1 (possibly empty)")
    return list(value)


def _prefixed(prefix: str, schema: Mapping[str, Param], keys: tuple[str, ...], **defaults: Any) -> dict[str, Param]:
    """``schema``'s ``keys`` as ``<prefix><key>`` (a branch of the hybrid net), some with other defaults."""
    return {f"{prefix}{k}": Param(defaults.get(k, schema[k].default), schema[k].check, schema[k].doc) for k in keys}


#: the kit CNN's and a backbone's keys, which the hybrid's image branch takes as ``image_<key>``
IMAGE_BRANCH_KEYS = (
    "channels",
    "blocks_per_stage",
    "kernel_size",
    "separable",
    "dropout",
    "backbone",
    "pretrained",
    "backbone_lr_mult",
    "freeze_epochs",
    "small_input",
    "drop_path",
)
#: the MLP's keys, which the hybrid's dense branch takes as ``table_<key>``
TABLE_BRANCH_KEYS = ("hidden", "dropout", "activation", "batch_norm", "embedding_dim")

HYBRID_PARAMS: dict[str, Param] = {
    "image_shape": CNN_PARAMS["image_shape"],
    "pixel_order": CNN_PARAMS["pixel_order"],
    "image_columns": Param(
        r"pixel\d+",
        column_selection,
        "the pixel columns among the net's columns (a regular expression matching whole names, or a list); the "
        "image branch reads them, the dense branch every other column. The default matches [data.images]' columns",
    ),
    **_prefixed("image_", CNN_PARAMS, IMAGE_BRANCH_KEYS, channels=[32, 64]),  # the cnn's recipe is not measured here
    **_prefixed("table_", MLP_PARAMS, TABLE_BRANCH_KEYS, hidden=[64]),
    "head_hidden": Param(
        [64], widths, "widths of the head's hidden layers after the join (Linear-BatchNorm-ReLU-Dropout); [] = linear"
    ),
    "head_dropout": Param(0.1, number(0, 1), "dropout after each of the head's hidden layers"),
    **_AUGMENT_PARAMS,
}


def branch_params(params: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """A hybrid's ``<prefix><key>`` params as the branch's own keys (``image_channels`` -> ``channels``)."""
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
