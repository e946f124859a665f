"""The runner's adapter for the net kinds (``mlp``, ``realmlp``, ``tabm``, ``cnn``, ``hybrid``, ``rnn``,
``cnn1d``): the same protocol as XGBoost's.

Hyper-parameters, the number of epochs and early stopping are all ``params`` (``epochs`` = the maximum number of
epochs, ``patience`` = epochs without improvement on the fold's validation rows before stopping, 0 = off). The
model's ``num_boost_round`` / ``early_stopping_rounds`` count boosting rounds and are rejected for nets, so there is
one way to say it. torch is imported when a net is fitted or loaded, not when the spec is checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...config import ModelSpec
from ...errors import ConfigError
from ...features import FeatureMatrix
from ..base import FitContext, Fitted
from .families import FAMILIES


class NetAdapter:
    """``fit`` -> :class:`~kaggle_kit.models.base.Fitted` with ``best_iteration`` = the epoch whose weights are kept
    and ``history`` = ``train_loss``, ``valid_loss``, ``valid_<metric>`` and ``lr`` per epoch."""

    file_name = "model.pt"  # + model.json beside it: architecture, params, normalisation statistics
    uses_gpu = True
    thread_invariant = False
    library = "kaggle_kit.models.nn.net"  # torch
    soft_targets = True  # classification y_train may be (n, C) class probabilities (cross-entropy's soft targets)
    reads_features = True
    multi_target = True  # multilabel / multiregression: one body, one output per target, a masked loss (task.py)

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.family = FAMILIES[spec.kind]
        for key in ("num_boost_round", "early_stopping_rounds"):
            if getattr(spec, key) != ModelSpec.model_fields[key].default:
                raise ConfigError(
                    f"model {spec.name!r}: {key} counts boosting rounds; for kind {spec.kind!r} set params.epochs "
                    "(maximum epochs) and params.patience (early stopping, 0 = off) instead"
                )
        self.params = self.family.validate(spec.name, spec.params)
        #: reads streamed ``[data.images]`` (the runner hands it the rows' ``__image__`` positions)
        self.reads_images = self.family.has_images

    def check(self, ctx: FitContext) -> None:
        """Before anything trains: a backbone's ``pretrained`` file is read and checked against the architecture (a
        missing file or a mismatched key fails the run now, not in every fold), and a timm backbone is built (a name
        timm does not know fails now)."""
        backbone = self.family.backbone(self.params)
        if backbone is not None and (backbone["pretrained"] is not None or backbone["backbone"].startswith("timm:")):
            self.family.check_pretrained(self.spec.name, self.params)

    def _params_for(self, ctx: FitContext) -> dict:
        """The params, with label smoothing off under log loss unless the user set it: smoothing pulls the
        probabilities towards uniform, which log loss punishes (pytabkit likewise smooths only for the error rate)."""
        if ctx.metric.name == "log_loss" and "label_smoothing" not in self.spec.params:
            return {**self.params, "label_smoothing": 0.0}
        return self.params

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        from .net import fit_net, scorer_for

        fitted, result = fit_net(
            self.spec.name,
            self.spec.kind,
            self._params_for(ctx),
            train,
            y_train,
            valid,
            y_valid,
            task=ctx.task,
            n_classes=ctx.n_classes,
            scorer=scorer_for(ctx.metric),
            seed=ctx.seed,
            device=ctx.device,
            threads=ctx.threads,
            images=ctx.images,
            sequences=ctx.sequences,
        )
        return Fitted(model=fitted, best_iteration=result.best_epoch, history=result.history)

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        from .net import predict_net

        return predict_net(
            fitted.model, X, device=ctx.device, threads=ctx.threads, images=ctx.images, sequences=ctx.sequences
        )

    def save(self, fitted: Fitted, path: Path) -> None:
        from .net import save_net

        save_net(fitted.model, path)

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        from .net import load_net

        net = load_net(path, device=ctx.device)
        return Fitted(model=net, best_iteration=net.config.get("best_epoch"))
