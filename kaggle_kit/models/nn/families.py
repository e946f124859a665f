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
from .inputs import ImageInputs, SequenceInputs, TableInputs
from .params import (
    CNN1D_PARAMS,
    CNN_PARAMS,
    MLP_PARAMS,
    REALMLP_PARAMS,
    RNN_PARAMS,
    TABM_PARAMS,
    TRAIN_PARAMS,
    Param,
    validate_params,
)

Inputs = TableInputs | ImageInputs | SequenceInputs


@dataclass(frozen=True)
class Family:
    kind: str
    layout: Literal["table", "image", "sequence"]
    params: Mapping[str, Param]
    architecture: str  # module under .architectures with build(params, inputs, n_outputs)
    scaling: Literal["standard", "robust"] = "standard"  # tables: how numeric columns are scaled

    @property
    def schema(self) -> dict[str, Param]:
        return {**TRAIN_PARAMS, **self.params}

    def validate(self, model: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """All params of this kind: the given ones checked, the others at their defaults."""
        out = validate_params(model, self.kind, params, self.schema)
        if out.get("self_normalizing"):
            clash = sorted({"activation", "batch_norm"} & set(params))
            if clash:
                raise ConfigError(
                    f"model {model!r}: params.self_normalizing = true sets the activation (SELU) and drops BatchNorm; "
                    f"remove params.{clash[0]}"
                )
        if "backbone" in out:
            _check_backbone_keys(model, out["backbone"], params)
        if "kernel_size" in out and out["kernel_size"] % 2 == 0:
            raise ConfigError(
                f"model {model!r}: params.kernel_size must be odd (same padding); got {out['kernel_size']}"
            )
        return out

    def inputs(self, model: str, params: Mapping[str, Any]) -> Inputs:
        if self.layout == "image":
            return ImageInputs(model, tuple(params["image_shape"]), params["pixel_order"])  # type: ignore[arg-type]
        if self.layout == "sequence":
            return SequenceInputs(model, tuple(params["sequence_shape"]), params["step_order"])  # type: ignore[arg-type]
        bins = params["bins"] if params.get("num_embedding") == "pl" else 0
        return TableInputs(model, self.scaling, bins)

    def augment(self, params: Mapping[str, Any]) -> Any:
        """The training augmentation, or ``None`` when the params ask for none."""
        from .augment import ImageAugment, SequenceAugment

        if self.layout == "image":
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

    def callbacks(self, params: Mapping[str, Any]) -> list[Any]:
        """Training callbacks the params ask for (RealMLP's dropout schedule, a backbone's frozen epochs)."""
        from .callbacks import DropoutSchedule, FreezeBackbone

        out: list[Any] = []
        if params.get("dropout_schedule") == "flat_cos" and params.get("dropout"):
            out.append(DropoutSchedule(params["dropout"]))
        if params.get("backbone", "none") != "none" and params["freeze_epochs"]:
            out.append(FreezeBackbone(params["freeze_epochs"]))
        return out

    def tta_views(self, params: Mapping[str, Any]) -> list[Any] | None:
        if not params.get("tta"):
            return None
        aug = self.augment(params)
        return aug.tta_views() if aug is not None else None

    def build(self, params: Mapping[str, Any], inputs: Mapping[str, Any], n_outputs: int) -> Any:
        architecture = self.architecture
        if params.get("backbone", "none") != "none":
            architecture = "resnet"
        module = importlib.import_module(f"{__package__}.architectures.{architecture}")
        return module.build(dict(params), dict(inputs), n_outputs)

    def check_pretrained(self, model: str, params: Mapping[str, Any]) -> None:
        """Build the architecture on the CPU and load its ``pretrained`` weights: a ``ConfigError`` if they do not fit
        (the head's width is irrelevant, it is never loaded)."""
        self.prepare_for_fit(self.build(params, {"shape": list(params["image_shape"])}, 1), model, params)

    def prepare_for_fit(self, module: Any, model: str, params: Mapping[str, Any]) -> None:
        """Before training (never when a saved net is rebuilt): a backbone's pretrained weights and its learning-rate
        factor (``p.lr_factor``, which :func:`~kaggle_kit.models.nn.optim.make_optimizer` groups by)."""
        backbone = params.get("backbone", "none")
        if backbone == "none":
            return
        if params["pretrained"] is not None:
            from .pretrained import load_pretrained

            load_pretrained(module, params["pretrained"], model=model, backbone=backbone)
            module.reset_head()
        mult = params["backbone_lr_mult"]
        if mult is None:
            mult = 0.1 if params["pretrained"] is not None else 1.0
        for _, p in module.backbone_parameters():
            p.lr_factor = mult


#: the kit CNN's own keys, which a standard backbone does not read, and the backbone's, which the kit CNN does not
_CNN_ONLY = ("channels", "blocks_per_stage", "kernel_size", "separable")
_BACKBONE_ONLY = ("pretrained", "backbone_lr_mult", "freeze_epochs", "small_input")


def _check_backbone_keys(model: str, backbone: str, params: Mapping[str, Any]) -> None:
    if backbone == "none":
        given = [k for k in _BACKBONE_ONLY if k in params]
        if given:
            raise ConfigError(
                f"model {model!r}: params.{given[0]} applies to a standard backbone; set params.backbone "
                "('resnet18', 'resnet34' or 'resnet50') or remove it"
            )
        return
    given = [k for k in _CNN_ONLY if k in params]
    if given:
        raise ConfigError(
            f"model {model!r}: params.{given[0]} shapes the kit's own CNN; with params.backbone = {backbone!r} the "
            "architecture is fixed (torchvision's), so remove it"
        )


FAMILIES: dict[str, Family] = {
    "mlp": Family("mlp", "table", MLP_PARAMS, "mlp"),
    "realmlp": Family("realmlp", "table", REALMLP_PARAMS, "realmlp", scaling="robust"),
    "tabm": Family("tabm", "table", TABM_PARAMS, "tabm", scaling="robust"),
    "cnn": Family("cnn", "image", CNN_PARAMS, "cnn"),
    "rnn": Family("rnn", "sequence", RNN_PARAMS, "rnn"),
    "cnn1d": Family("cnn1d", "sequence", CNN1D_PARAMS, "cnn1d"),
}
