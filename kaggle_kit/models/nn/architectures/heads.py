"""The task head of a backbone net, in one place: :class:`TaskHead` (``reset_head``, ``backbone_parameters``) for
any net with a pretrained part, :class:`Backbone` (adds ``drop_head``) for the standard backbones (ResNet, ConvNeXt,
timm). Each net states only what differs: ``head_name``, the dotted name of the head's last ``Linear`` (``"fc"``,
``"classifier.2"``), and ``backbone_prefix``, the dotted name of the pretrained part ("" = everything but the head).

Neither class has an ``__init__`` or parameters of its own: a net's ``state_dict`` keys and initialisation (its
random draws) are its own.
"""

from __future__ import annotations

from torch import nn


class TaskHead(nn.Module):
    """A net whose last ``Linear`` (``head_name``) is the task's head, after a pretrained part
    (``backbone_prefix``). ``head_prefix`` names the head's parameters: what ``backbone_lr_mult`` and
    ``freeze_epochs`` spare and what a checkpoint never fills (``head_name`` + ".", unless a net sets it)."""

    head_name: str
    backbone_prefix: str = ""

    @property
    def head_prefix(self) -> str:
        return f"{self.head_name}."

    def reset_head(self) -> None:
        """Zero the head before fine-tuning: the first logits are all 0 (the loss starts at log(classes)) instead of
        random projections of large pretrained features (a loss of 5-7 seen on digits), whose gradients would shake
        the pretrained weights in the first steps."""
        head = self.get_submodule(self.head_name)
        nn.init.zeros_(head.weight)  # type: ignore[arg-type]
        nn.init.zeros_(head.bias)  # type: ignore[arg-type]

    def backbone_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """The pretrained part's parameters (under ``backbone_prefix``, never the head's), in ``named_parameters``
        order: what the backbone's learning-rate factor and frozen epochs act on."""
        return [
            (n, p)
            for n, p in self.named_parameters()
            if n.startswith(self.backbone_prefix) and not n.startswith(self.head_prefix)
        ]


class Backbone(TaskHead):
    """A standard backbone (kind cnn's ``params.backbone``, or a hybrid's image branch): ``n_features`` is the width
    of its pooled features, what its head (``head_name``) reads."""

    n_features: int

    def drop_head(self, dropout: float) -> int:
        """Replace the head by ``Dropout(dropout)`` (a branch of a bigger net: no head keys, so a checkpoint's head
        never fits); returns the features' width."""
        self.set_submodule(self.head_name, nn.Dropout(dropout))
        return self.n_features
