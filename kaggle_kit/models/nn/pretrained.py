"""Pretrained weights from a local file into a backbone: ``params.pretrained = "path/to/weights.pth"``.

Kaggle notebooks are offline, so a checkpoint is always a file the user attached (a Kaggle dataset), never a
download. The file is read with ``torch.load(..., weights_only=True)``: tensors and plain containers only, so a
pickle that would run code when loaded is refused (torch's ``UnpicklingError``, turned into a ``ConfigError``)
and nothing in it executes; ``.safetensors`` files are read with the ``safetensors`` package when it is installed.

Accepted layouts: a flat ``state_dict`` (torchvision's and timm's ``resnet*`` files, torchvision's ``convnext_*``;
timm's ``convnext_*`` are renamed to torchvision's by :func:`timm_convnext_to_torchvision`; a ``timm:NAME`` backbone
takes timm's own layout), or one wrapped as ``{"state_dict": ...}`` / ``{"model": ...}`` (training-loop
checkpoints); a ``module.`` prefix (DataParallel) is dropped. Every backbone key must be there with the model's
shape (``num_batches_tracked``, absent from the older torchvision files, may be missing); the first key that is
missing, extra or of another shape is named in the error. The checkpoint's head (``fc.*``, ``classifier.2.*``,
timm's ``pretrained_cfg["classifier"]``) is never loaded: the model's head is new, sized for the task.

Input channels: a checkpoint's 3-channel first convolution (``conv1``, ``features.0.0``, timm's ``first_conv``)
into a 1-channel (grey) model is summed over its input channels
(timm's ``adapt_input_conv``: a grey image through the summed kernel equals the RGB kernel on the grey image copied
to all three channels); into any other count the RGB kernel is repeated and scaled by ``3 / channels``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...errors import ConfigError

OPTIONAL_SUFFIXES = ("num_batches_tracked",)
FIRST_CONV = "conv1.weight"


def read_checkpoint(path: str | Path, *, model: str = "") -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, safely (no code runs), unwrapped and without a ``module.`` prefix."""
    where = f"model {model!r}: params.pretrained" if model else "pretrained checkpoint"
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(
            f"{where}: file {str(file)!r} does not exist; give an absolute path (on Kaggle: "
            "'/kaggle/input/<dataset>/<file>.pth') or one relative to the config file's folder"
        )
    if file.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise ConfigError(
                f"{where}: {file.name} is a safetensors file but the 'safetensors' package is not installed; "
                "pip install safetensors, or save the weights with torch.save(model.state_dict(), path)"
            ) from None
        state: Any = load_file(str(file))
    else:
        try:
            state = torch.load(file, map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, OSError, ValueError) as exc:
            raise ConfigError(f"{where}: {str(file)!r} is not a torch checkpoint: {exc}") from None
        except Exception as exc:
            # weights_only refuses anything but tensors with pickle.UnpicklingError (caught by name: the kit never
            # imports pickle, tests/test_bad_inputs.py checks that)
            if type(exc).__name__ != "UnpicklingError":
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"{where}: {str(file)!r} holds more than tensors (it would run code or build objects when loaded, "
                f"which the kit refuses: {first}); save only the weights: torch.save(model.state_dict(), path)"
            ) from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(
            f"{where}: {str(file)!r} is not a state_dict (a mapping of names to tensors); "
            "save it with torch.save(model.state_dict(), path)"
        )
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in state.items()}


def describe_checkpoint(state: Mapping[str, torch.Tensor]) -> str | None:
    """The kit backbone a checkpoint's keys look like (``'resnet34'``, ``'convnext_tiny'``), or ``None``."""
    from .architectures import convnext, resnet

    if "features.0.0.weight" in state:
        depths = []
        for s in (1, 3, 5, 7):
            scales = [k for k in state if k.startswith(f"features.{s}.") and k.endswith(".layer_scale")]
            blocks = {int(k.split(".")[2]) for k in scales}
            depths.append(max(blocks) + 1 if blocks else 0)
        width = state["features.0.0.weight"].shape[0]
        for name, (layout_depths, dims) in convnext.LAYOUTS.items():
            if layout_depths == tuple(depths) and dims[0] == width:
                return name
        return None
    counts = []
    for s in range(1, 5):
        blocks = {int(k.split(".")[1]) for k in state if k.startswith(f"layer{s}.") and k.split(".")[1].isdigit()}
        counts.append(max(blocks) + 1 if blocks else 0)
    kind = "bottleneck" if any(k.endswith(".conv3.weight") for k in state) else "basic"
    for name, layout in resnet.LAYOUTS.items():
        if layout == (kind, tuple(counts)):
            return name
    return None


_TIMM_BLOCK = {"conv_dw": "block.0", "norm": "block.2", "mlp.fc1": "block.3", "mlp.fc2": "block.5"}


def timm_convnext_to_torchvision(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A timm ConvNeXt ``state_dict`` (``stem.*``, ``stages.{s}.downsample.*``, ``stages.{s}.blocks.{b}.*``,
    ``head.norm`` / ``head.fc``) in torchvision's names; any other is returned unchanged.

    timm's ``gamma`` (``[C]``) becomes ``layer_scale`` (``[C, 1, 1]``), and the 1x1 convolutions of the ``conv_mlp``
    variants (atto .. nano: ``[out, in, 1, 1]``) become the Linear weights (``[out, in]``) they equal.
    """
    if "stem.0.weight" not in state or not any(k.startswith("stages.") for k in state):
        return dict(state)
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        parts = key.split(".")
        new: str | None = None
        if parts[0] == "stem":
            new = f"features.0.{'.'.join(parts[1:])}"
        elif parts[0] == "stages" and parts[2] == "downsample":
            new = f"features.{2 * int(parts[1])}.{'.'.join(parts[3:])}"
        elif parts[0] == "stages" and parts[2] == "blocks":
            block = f"features.{2 * int(parts[1]) + 1}.{parts[3]}"
            rest = ".".join(parts[4:])
            if rest == "gamma":
                new, value = f"{block}.layer_scale", value.reshape(-1, 1, 1)
            else:
                module, _, leaf = rest.rpartition(".")
                if module in _TIMM_BLOCK:
                    new = f"{block}.{_TIMM_BLOCK[module]}.{leaf}"
                    if module.startswith("mlp.") and value.dim() == 4:
                        value = value.flatten(1)
        elif parts[0] == "head" and parts[1] in ("norm", "fc"):
            new = f"classifier.{0 if parts[1] == 'norm' else 2}.{'.'.join(parts[2:])}"
        out[new if new is not None else key] = value  # an unknown key stays as it is: the check names it
    return out


def _adapt_first_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    if in_channels == 1:
        return weight.sum(dim=1, keepdim=True)
    repeat = math.ceil(in_channels / weight.shape[1])
    return weight.repeat(1, repeat, 1, 1)[:, :in_channels] * (weight.shape[1] / in_channels)


def check_and_adapt(
    module: nn.Module,
    state: Mapping[str, torch.Tensor],
    *,
    model: str,
    backbone: str,
    head_prefix: str | tuple[str, ...],
    first_conv: str | None = FIRST_CONV,
) -> dict[str, torch.Tensor]:
    """The checkpoint's backbone tensors, checked against ``module`` (its head, ``head_prefix``, excluded on both
    sides) and with ``first_conv`` adapted to the module's input channels; a ``ConfigError`` names the first key
    that does not match."""
    heads = (head_prefix,) if isinstance(head_prefix, str) else tuple(head_prefix)
    expected = {k: v for k, v in module.state_dict().items() if not (heads and k.startswith(heads))}
    looks = describe_checkpoint(state)
    hint = (
        f" (the checkpoint looks like a {looks}: set params.backbone = {looks!r})"
        if looks and looks != backbone
        else ""
    )
    where = f"model {model!r}: params.pretrained does not fit backbone {backbone!r}"
    out: dict[str, torch.Tensor] = {}
    for key, target in expected.items():
        if key not in state:
            if key.endswith(OPTIONAL_SUFFIXES):
                continue
            raise ConfigError(f"{where}: key {key!r} (shape {list(target.shape)}) is missing from the checkpoint{hint}")
        value = given = state[key]
        if key == first_conv and value.dim() == 4 and value.shape[1] != target.shape[1]:
            value = _adapt_first_conv(value, target.shape[1])
        if value.shape != target.shape:
            raise ConfigError(
                f"{where}: key {key!r} has shape {list(given.shape)} in the checkpoint but the model's is "
                f"{list(target.shape)}{hint}"
            )
        out[key] = value.to(target.dtype)
    extra = [k for k in state if k not in expected and not (heads and k.startswith(heads))]
    if extra:
        raise ConfigError(f"{where}: the checkpoint has key {extra[0]!r}, which the model does not{hint}")
    return out


def checkpoint_target(module: nn.Module) -> tuple[nn.Module, tuple[str, ...], str | None]:
    """What a checkpoint fills in ``module``: the module, the checkpoint's head prefixes (never loaded) and the key
    of the first convolution (adapted to the input channels). A backbone says so itself
    (``checkpoint_target()``), or by its ``head_prefix`` and ``first_conv`` attributes."""
    if hasattr(module, "checkpoint_target"):
        return module.checkpoint_target()  # type: ignore[no-any-return, operator]
    return module, (str(getattr(module, "head_prefix", "fc.")),), getattr(module, "first_conv", FIRST_CONV)


def load_pretrained(module: nn.Module, path: str | Path, *, model: str, backbone: str) -> None:
    """Load the backbone of the checkpoint at ``path`` into ``module`` in place; its head keeps its fresh weights."""
    target, heads, first_conv = checkpoint_target(module)
    state = read_checkpoint(path, model=model)
    if backbone.startswith("convnext_"):
        state = timm_convnext_to_torchvision(state)
    weights = check_and_adapt(target, state, model=model, backbone=backbone, head_prefix=heads, first_conv=first_conv)
    missing, _ = target.load_state_dict(weights, strict=False)  # only the module's own keys: none unexpected
    left = [k for k in missing if not (heads and k.startswith(heads)) and not k.endswith(OPTIONAL_SUFFIXES)]
    if left:  # cannot happen after check_and_adapt; kept as an internal check, not a user error
        raise RuntimeError(f"backbone keys not loaded: {left[:3]}")
