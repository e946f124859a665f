"""Pretrained weights from a local file into a backbone: ``params.pretrained = "path/to/weights.pth"``.

Kaggle notebooks are offline, so a checkpoint is always a file the user attached (a Kaggle dataset), never a
download. The file is read with ``torch.load(..., weights_only=True)``: tensors and plain containers only, so a
pickle that would run code when loaded is refused (torch's ``UnpicklingError``, turned into a ``ConfigError``)
and nothing in it executes; ``.safetensors`` files are read with the ``safetensors`` package when it is installed.

Accepted layouts: a flat ``state_dict`` (torchvision's and timm's ``resnet*`` files), or one wrapped as
``{"state_dict": ...}`` / ``{"model": ...}`` (training-loop checkpoints); a ``module.`` prefix (DataParallel) is
dropped. Every backbone key must be there with the model's shape (``num_batches_tracked``, absent from the older
torchvision files, may be missing); the first key that is missing, extra or of another shape is named in the error.
The checkpoint's head (``fc.*``) is never loaded: the model's head is new, sized for the task.

Input channels: a checkpoint's 3-channel ``conv1`` into a 1-channel (grey) model is summed over its input channels
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
            "'/kaggle/input/<dataset>/<file>.pth') or one relative to the working directory"
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


def describe_resnet(state: Mapping[str, torch.Tensor]) -> str | None:
    """The torchvision ResNet a checkpoint's keys look like (``'resnet34'``), or ``None``."""
    from .architectures.resnet import LAYOUTS

    counts = []
    for s in range(1, 5):
        blocks = {int(k.split(".")[1]) for k in state if k.startswith(f"layer{s}.") and k.split(".")[1].isdigit()}
        counts.append(max(blocks) + 1 if blocks else 0)
    kind = "bottleneck" if any(k.endswith(".conv3.weight") for k in state) else "basic"
    for name, layout in LAYOUTS.items():
        if layout == (kind, tuple(counts)):
            return name
    return None


def _adapt_first_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    if in_channels == 1:
        return weight.sum(dim=1, keepdim=True)
    repeat = math.ceil(in_channels / weight.shape[1])
    return weight.repeat(1, repeat, 1, 1)[:, :in_channels] * (weight.shape[1] / in_channels)


def check_and_adapt(
    module: nn.Module, state: Mapping[str, torch.Tensor], *, model: str, backbone: str, head_prefix: str
) -> dict[str, torch.Tensor]:
    """The checkpoint's backbone tensors, checked against ``module`` (its head excluded) and with ``conv1``
    adapted to the module's input channels; a ``ConfigError`` names the first key that does not match."""
    expected = {k: v for k, v in module.state_dict().items() if not k.startswith(head_prefix)}
    looks = describe_resnet(state)
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
        if key == FIRST_CONV and value.dim() == 4 and value.shape[1] != target.shape[1]:
            value = _adapt_first_conv(value, target.shape[1])
        if value.shape != target.shape:
            raise ConfigError(
                f"{where}: key {key!r} has shape {list(given.shape)} in the checkpoint but the model's is "
                f"{list(target.shape)}{hint}"
            )
        out[key] = value.to(target.dtype)
    extra = [k for k in state if k not in expected and not k.startswith(head_prefix)]
    if extra:
        raise ConfigError(f"{where}: the checkpoint has key {extra[0]!r}, which the model does not{hint}")
    return out


def load_pretrained(module: nn.Module, path: str | Path, *, model: str, backbone: str) -> None:
    """Load the backbone of the checkpoint at ``path`` into ``module`` in place; its head keeps its fresh weights."""
    head_prefix = getattr(module, "head_prefix", "fc.")
    weights = check_and_adapt(
        module, read_checkpoint(path, model=model), model=model, backbone=backbone, head_prefix=head_prefix
    )
    missing, _ = module.load_state_dict(weights, strict=False)  # only the module's own keys: none unexpected
    left = [k for k in missing if not k.startswith(head_prefix) and not k.endswith(OPTIONAL_SUFFIXES)]
    if left:  # cannot happen after check_and_adapt; kept as an internal check, not a user error
        raise RuntimeError(f"backbone keys not loaded: {left[:3]}")
