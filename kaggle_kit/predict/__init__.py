"""Reload a finished run folder and apply it to new data (a code competition's hidden test set).

* :func:`predict`: the fold models (or the models refit on all rows), their fitted feature pipelines and a stored
  blend, applied to a new test file; read-only, so the run folder can be a Kaggle dataset.
* :func:`refit`: one model per config trained on every training row (:mod:`.refit`).
* :func:`best_choice`: the model or blend ``--best`` means.
* :func:`prediction_speed`: each model's prediction rows per second, from the fold timings the run stored.

The package is callable, so ``kaggle_kit.predict(run_dir, test, blend=...)`` is :func:`predict`.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .api import predict
from .best import Choice, best_choice
from .refit import RefitResult, refit
from .speed import ModelSpeed, prediction_speed


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return predict(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["Choice", "ModelSpeed", "RefitResult", "best_choice", "predict", "prediction_speed", "refit"]
