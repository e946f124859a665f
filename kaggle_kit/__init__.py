"""kaggle_kit: K-fold ensembling of gradient-boosted trees and PyTorch nets for Kaggle competitions.

Importing the package is cheap: xgboost, lightgbm and torch are imported only when a model of theirs is fitted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names -> the module that defines them, imported on first use (keeps `import kaggle_kit` fast).
_PUBLIC = {
    "CompetitionSpec": "config",
    "DataSpec": "config",
    "FoldSpec": "config",
    "ModelSpec": "config",
    "RunSpec": "config",
    "SearchSpec": "config",
    "load_spec": "config",
    "build_spec": "config",
    "KitError": "errors",
    "ConfigError": "errors",
    "DataError": "errors",
    "StoreError": "errors",
    "load_competition": "readers.competition",
    "make_folds": "runtime.folds",
    "Folds": "runtime.folds",
    "get_metric": "metrics",
    "run": "runtime.runner",
    "RunResult": "runtime.runner",
    "RunStore": "runtime.store",
    "leaderboard": "leaderboard",
    "write_submission": "submit",
    "Submission": "submit",
    "BlendReport": "blend",
    "BlendResult": "blend",
    "blend_predictions": "blend",
    "blend_report": "blend",
    "fit_blend": "blend",
    "import_predictions": "blend",
    "read_blend": "blend",
    "predict": "predict",  # the package kaggle_kit.predict; its `predict` function is what this name gives
}

if TYPE_CHECKING:  # pragma: no cover
    from .blend import (
        BlendReport,
        BlendResult,
        blend_predictions,
        blend_report,
        fit_blend,
        import_predictions,
        read_blend,
    )
    from .config import CompetitionSpec, DataSpec, FoldSpec, ModelSpec, RunSpec, SearchSpec, build_spec, load_spec
    from .errors import ConfigError, DataError, KitError, StoreError
    from .leaderboard import leaderboard
    from .metrics import get_metric
    from .predict import predict
    from .readers.competition import load_competition
    from .runtime.folds import Folds, make_folds
    from .runtime.runner import RunResult, run
    from .runtime.store import RunStore
    from .submit import Submission, write_submission


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'kaggle_kit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = [
    "BlendReport",
    "BlendResult",
    "CompetitionSpec",
    "ConfigError",
    "DataError",
    "DataSpec",
    "FoldSpec",
    "Folds",
    "KitError",
    "ModelSpec",
    "RunResult",
    "RunSpec",
    "RunStore",
    "SearchSpec",
    "StoreError",
    "Submission",
    "blend_predictions",
    "blend_report",
    "build_spec",
    "fit_blend",
    "get_metric",
    "import_predictions",
    "leaderboard",
    "load_competition",
    "load_spec",
    "make_folds",
    "predict",
    "read_blend",
    "run",
    "write_submission",
]
