"""Neural nets in PyTorch under the kit's K-fold: Dense/MLP, RealMLP and TabM for tables, CNN for images, RNN and
1D-CNN for sequences.

Modules, one job each:

* ``params``: every kind's hyper-parameters as data (defaults, checks, docs); ``families``: the kinds
  (``mlp``, ``realmlp``, ``tabm``, ``cnn``, ``rnn``, ``cnn1d``) and their input layouts; ``inputs``: FeatureMatrix ->
  arrays with the normalisation fit on the training rows. These three do not import torch.
* ``trainer`` (the loop), ``callbacks`` (no-op hooks, early stopping), ``optim`` (optimizers, schedules),
  ``batches`` (mini-batches prepared on the device), ``augment`` (image / sequence augmentation, TTA views),
  ``device`` (AMP / channels-last / pinned-memory plan), ``runtime`` (seeds, threads), ``task`` (loss and outputs).
* ``architectures``: the nets (``cnn``'s ``params.backbone``: ``resnet``, torchvision's ResNet-18/34/50 layout;
  ``convnext``, torchvision's ConvNeXt layout; ``timm_backbone``, a timm model as the trunk); ``ema``: the weights'
  moving average;
  ``pretrained``: a backbone's weights from a local file (``weights_only``), checked key by key; ``net``: fit /
  predict / save / load of one net; ``adapter``: the runner's protocol;
  ``estimators``: scikit-learn-compatible ``NetClassifier`` / ``NetRegressor``; ``images``: image files -> pixel
  columns (Pillow); ``streaming``: streamed image files -> batches (DataLoader workers, the memory-mapped cache).

Importing this package does not import torch; the names below are loaded on first use.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "NetAdapter": "adapter",
    "NetClassifier": "estimators",
    "NetRegressor": "estimators",
    "Trainer": "trainer",
    "TrainResult": "trainer",
    "Scorer": "trainer",
    "Callback": "callbacks",
    "EarlyStopping": "callbacks",
    "PrintProgress": "callbacks",
    "TrainState": "callbacks",
    "FAMILIES": "families",
    "plan_device": "device",
    "DevicePlan": "device",
    "fit_net": "net",
    "predict_net": "net",
    "save_net": "net",
    "load_net": "net",
    "image_columns": "images",
    "load_images": "images",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = sorted(_LAZY)
