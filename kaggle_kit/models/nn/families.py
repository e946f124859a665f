"""The net kinds: for each, its params, how its inputs are laid out, its augmentation and its architecture.

A :class:`Family` is data plus small methods; torch (and the architecture module) is imported only when a net is
built, so validating a spec never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ...errors import ConfigError
from .inputs import HybridInputs, ImageInputs, SequenceInputs, TableInputs
from .params import (
    CNN1D_PARAMS,
    CNN_PARAMS,
    HYBRID_PARAMS,
    IMAGE_BRANCH_KEYS,
    MLP_PARAMS,
    REALMLP_PARAMS,
    RNN_PARAMS,
    TABLE_BRANCH_KEYS,
    TABM_PARAMS,
    TIMM_PREFIX,
    TRAIN_PARAMS,
    Param,
    backbone_architecture,
    backbone_module,
    branch_params,
    build_backbone,
    resolve_small_input,
    timm_installed,
    timm_missing,
    validate_params,
)

Inputs = TableInputs | ImageInputs | SequenceInputs | HybridInputs


@dataclass(frozen=True)
class Family:
    kind: str
    layout: Literal["table", "image", "sequence", "hybrid"]
    params: Mapping[str, Param]
    architecture: str  # module under .architectures with build(params, inputs, n_outputs)
    scaling: Literal["standard", "robust"] = "standard"  # tables: how numeric columns are scaled

    @property
    def schema(self) -> dict[str, Param]:
        return {**TRAIN_PARAMS, **self.params}

    @property
    def has_images(self) -> bool:
        """Its first input is an image batch (augmented, TTA-viewed, channels-last on CUDA)."""
        return self.layout in ("image", "hybrid")

    @property
    def backbone_prefix(self) -> str:
        """Where the backbone keys are: ``backbone`` for kind cnn, ``image_backbone`` for the hybrid's image."""
        return "image_" if self.layout == "hybrid" else ""

    def backbone(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The standard backbone's keys without their prefix (``backbone``, ``pretrained``, ...), or ``None``."""
        p = branch_params(params, self.backbone_prefix) if self.backbone_prefix else dict(params)
        return p if p.get("backbone", "none") != "none" else None

    def validate(self, model: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """All params of this kind: the given ones checked, the others at their defaults."""
        if self.layout == "hybrid":
            _check_branch_keys(model, params)
        out = validate_params(model, self.kind, params, self.schema)
        if out.get("self_normalizing"):
            clash = sorted({"activation", "batch_norm"} & set(params))
            if clash:
                raise ConfigError(
                    f"model {model!r}: params.self_normalizing = true sets the activation (SELU) and drops BatchNorm; "
                    f"remove params.{clash[0]}"
                )
        if out.get("batch_size") == 1 and _has_batch_norm_1d(out):
            raise ConfigError(
                f"model {model!r}: params.batch_size = 1 trains the BatchNorm layers of kind {self.kind!r} on one row "
                "at a time, which they cannot do (torch stops with 'Expected more than 1 value per channel'); set "
                "params.batch_size to 2 or more" + (", or params.batch_norm = false" if self.kind == "mlp" else "")
            )
        pre = self.backbone_prefix
        if f"{pre}backbone" in out:
            _check_backbone_keys(model, out[f"{pre}backbone"], params, pre)
            _check_backbone_fits(model, out, pre)
        if f"{pre}kernel_size" in out and out[f"{pre}kernel_size"] % 2 == 0:
            raise ConfigError(
                f"model {model!r}: params.{pre}kernel_size must be odd (same padding); got {out[f'{pre}kernel_size']}"
            )
        return out

    def inputs(self, model: str, params: Mapping[str, Any]) -> Inputs:
        if self.layout == "image":
            return ImageInputs(model, tuple(params["image_shape"]), params["pixel_order"])  # type: ignore[arg-type]
        if self.layout == "hybrid":
            return HybridInputs(
                model,
                tuple(params["image_shape"]),
                params["pixel_order"],
                params["image_columns"],  # type: ignore[arg-type]
            )
        if self.layout == "sequence":
            return SequenceInputs(model, tuple(params["sequence_shape"]), params["step_order"])  # type: ignore[arg-type]
        bins = params["bins"] if params.get("num_embedding") == "pl" else 0
        return TableInputs(model, self.scaling, bins)

    def augment(self, params: Mapping[str, Any]) -> Any:
        """The training augmentation, or ``None`` when the params ask for none."""
        from .augment import ImageAugment, SequenceAugment

        if self.has_images:
            aug: Any = ImageAugment(
                shift=params["augment_shift"],
                rotate=params["augment_rotate"],
                scale=params["augment_scale"],
                hflip=params["augment_hflip"],
                vflip=params["augment_vflip"],
                crop=params["augment_crop"],
            )
        elif self.layout == "sequence" and "augment_shift" in params:
            aug = SequenceAugment(shift=params["augment_shift"])
        else:
            return None
        return aug if aug.active else None

    def eval_batch_size(self, params: Mapping[str, Any]) -> int:
        """``params['eval_batch_size']``, for images capped so that a batch's widest full-size activation (float32)
        stays under glibc's largest mmap threshold (32 MB). The kit's CNN's is its stem's output (``channels[0]`` x
        H x W); a standard backbone's is read from its definition (its module's ``widest_activation``: a ResNet's
        stem or first stage, a ConvNeXt's first-stage inverted bottleneck, a timm model's measured from one image on
        the meta device or the CPU). Larger blocks are mapped and faulted in afresh on every batch: the kit's CNN
        [32, 64] on 28 x 28 images took 224,000-228,000 minor page faults per training batch (the whole fit's faults
        / its batches) with 1,024-row validation batches, 22,000 with them capped (benchmarks/cnn_recipe.py --part
        faults). Predictions depend on it only through float rounding (eval mode; a ConvNeXt's Linear layers round
        differently at another batch size: 1.8e-7 at most seen on convnext_atto, 16 x 16, 204 against 512 rows;
        ResNets gave the same bytes)."""
        rows = int(params["eval_batch_size"])
        if not self.has_images:
            return rows
        from .heap import MMAP_THRESHOLD

        shape = params["image_shape"]
        backbone = self.backbone(params)
        if backbone is None:
            elements = params[f"{self.backbone_prefix}channels"][0] * shape[0] * shape[1]
        else:
            elements = backbone_module(backbone["backbone"]).widest_activation(backbone, shape)
        return max(1, min(rows, MMAP_THRESHOLD // (elements * 4)))

    def callbacks(self, params: Mapping[str, Any]) -> list[Any]:
        """Training callbacks the params ask for (RealMLP's dropout schedule, a backbone's frozen epochs)."""
        from .callbacks import DropoutSchedule, FreezeBackbone

        out: list[Any] = []
        if params.get("dropout_schedule") == "flat_cos" and params.get("dropout"):
            out.append(DropoutSchedule(params["dropout"]))
        backbone = self.backbone(params)
        if backbone is not None and backbone["freeze_epochs"]:
            out.append(FreezeBackbone(backbone["freeze_epochs"]))
        return out

    def tta_views(self, params: Mapping[str, Any]) -> list[Any] | None:
        if not params.get("tta"):
            return None
        aug = self.augment(params)
        return aug.tta_views() if aug is not None else None

    def build(self, params: Mapping[str, Any], inputs: Mapping[str, Any], n_outputs: int, *, model: str = "") -> Any:
        if params.get("backbone", "none") != "none":
            return build_backbone(dict(params), dict(inputs), n_outputs, model=model)
        module = importlib.import_module(f"{__package__}.architectures.{self.architecture}")
        return module.build(dict(params), dict(inputs), n_outputs)

    def check_pretrained(self, model: str, params: Mapping[str, Any]) -> None:
        """Build the architecture on the CPU and load its ``pretrained`` weights: a ``ConfigError`` if they do not fit
        (the head's width is irrelevant, it is never loaded), or if timm has no such model."""
        shape = list(params["image_shape"])
        if self.layout == "hybrid":
            from .architectures.hybrid import image_branch

            module, _ = image_branch(dict(params), shape, model=model)
            self._load_backbone(module, model, self.backbone(params) or {})
            return
        self.prepare_for_fit(self.build(params, {"shape": shape}, 1, model=model), model, params)

    def prepare_for_fit(self, module: Any, model: str, params: Mapping[str, Any]) -> None:
        """Before training (never when a saved net is rebuilt): a backbone's pretrained weights and its learning-rate
        factor (``p.lr_factor``, which :func:`~kaggle_kit.models.nn.optim.make_optimizer` groups by)."""
        backbone = self.backbone(params)
        if backbone is None:
            return
        if backbone["pretrained"] is not None:
            target = module.image if self.layout == "hybrid" else module
            self._load_backbone(target, model, backbone)
            module.reset_head()
        mult = backbone["backbone_lr_mult"]
        if mult is None:
            mult = 0.1 if backbone["pretrained"] is not None else 1.0
        for _, p in module.backbone_parameters():
            p.lr_factor = mult

    @staticmethod
    def _load_backbone(module: Any, model: str, backbone: Mapping[str, Any]) -> None:
        """The ``pretrained`` checkpoint into ``module`` (a backbone: kind cnn's net, or the hybrid's image branch)."""
        from .pretrained import load_pretrained

        if backbone.get("pretrained") is not None:
            load_pretrained(module, backbone["pretrained"], model=model, backbone=backbone["backbone"])


def _has_batch_norm_1d(params: Mapping[str, Any]) -> bool:
    """Whether validated params build a ``BatchNorm1d`` over ``(N, C)`` features, which a batch of one row cannot
    train: the mlp's hidden layers (unless self-normalising), the hybrid's dense branch and head."""
    if "batch_norm" in params:  # mlp
        return bool(params["batch_norm"] and not params["self_normalizing"])
    if "table_batch_norm" in params:  # hybrid
        return bool((params["table_batch_norm"] and params["table_hidden"]) or params["head_hidden"])
    return False


def _check_branch_keys(model: str, params: Mapping[str, Any]) -> None:
    """A cnn's or mlp's key given to a hybrid unprefixed: name the branch key(s) it means."""
    for key in params:
        meant = [f"{pre}{key}" for pre, keys in (("image_", IMAGE_BRANCH_KEYS), ("table_", TABLE_BRANCH_KEYS))
                 if key in keys]  # fmt: skip
        if meant:
            dense = " (dense branch)" if meant[-1].startswith("table_") else ""
            raise ConfigError(
                f"model {model!r}: kind 'hybrid' takes its branches' params with a prefix: params.{key} is params."
                f"{' (image branch) or params.'.join(meant)}{dense}"
            )


#: the kit CNN's own keys, which a standard backbone does not read, and the backbone's, which the kit CNN does not
_CNN_ONLY = ("channels", "blocks_per_stage", "kernel_size", "separable")
_BACKBONE_ONLY = ("pretrained", "backbone_lr_mult", "freeze_epochs", "small_input", "drop_path")


def _check_backbone_keys(model: str, backbone: str, params: Mapping[str, Any], prefix: str = "") -> None:
    if backbone == "none":
        given = [prefix + k for k in _BACKBONE_ONLY if prefix + k in params]
        if given:
            raise ConfigError(
                f"model {model!r}: params.{given[0]} applies to a standard backbone; set params.{prefix}backbone "
                "(e.g. 'resnet18', 'convnext_atto' or 'timm:<name>') or remove it"
            )
        return
    if backbone_architecture(backbone) == "resnet" and prefix + "drop_path" in params:
        raise ConfigError(
            f"model {model!r}: params.{prefix}drop_path (stochastic depth) applies to a ConvNeXt or a timm backbone, "
            f"not to {backbone!r}; remove it"
        )
    if backbone.startswith(TIMM_PREFIX):
        if prefix + "small_input" in params:
            raise ConfigError(
                f"model {model!r}: params.{prefix}small_input changes the stem of the kit's own backbones; "
                f"{backbone!r} is timm's as it is, so remove it"
            )
        if not timm_installed():
            raise timm_missing(model, backbone)
    given = [prefix + k for k in _CNN_ONLY if prefix + k in params]
    if given:
        raise ConfigError(
            f"model {model!r}: params.{given[0]} shapes the kit's own CNN; with params.{prefix}backbone = "
            f"{backbone!r} the architecture is fixed (torchvision's), so remove it"
        )


def _check_backbone_fits(model: str, params: Mapping[str, Any], prefix: str) -> None:
    """A ConvNeXt's downsamplings need images of at least 32 pixels (8 with ``small_input``) on the shorter side."""
    backbone = params[f"{prefix}backbone"]
    if backbone_architecture(backbone) != "convnext":
        return
    shape = params["image_shape"]
    small = resolve_small_input(params[f"{prefix}small_input"], shape)
    need = 8 if small else 32
    if min(shape[0], shape[1]) < need:
        fix = f"set params.{prefix}small_input = true (8 pixels)" if not small else "upscale the images"
        raise ConfigError(
            f"model {model!r}: {backbone!r} needs images of at least {need} x {need} pixels "
            f"{'with' if small else 'without'} small_input (its stem and three 2x2 downsamplings); image_shape is "
            f"{list(shape)}: {fix}, or use a resnet backbone"
        )


FAMILIES: dict[str, Family] = {
    "mlp": Family("mlp", "table", MLP_PARAMS, "mlp"),
    "realmlp": Family("realmlp", "table", REALMLP_PARAMS, "realmlp", scaling="robust"),
    "tabm": Family("tabm", "table", TABM_PARAMS, "tabm", scaling="robust"),
    "cnn": Family("cnn", "image", CNN_PARAMS, "cnn"),
    "hybrid": Family("hybrid", "hybrid", HYBRID_PARAMS, "hybrid"),
    "rnn": Family("rnn", "sequence", RNN_PARAMS, "rnn"),
    "cnn1d": Family("cnn1d", "sequence", CNN1D_PARAMS, "cnn1d"),
}
