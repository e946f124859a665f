"""What a model's folds recorded about training: learning curves (``history.json``) and feature importance.

Trees record their validation metric per boosting round (``{"auc": [...]}``); nets record per epoch, with ``train_``
and ``valid_`` series (``{"train_loss": [...], "valid_loss": [...]}``). Importance is read from the native model file
of each fold by a reader registered for that file name, normalised to shares of the fold's total gain and averaged
over folds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..features.encoder import original_feature_names
from ..runtime.store import FoldResult, RunStore

_FOLD_DIR = re.compile(r"r(\d+)_f(\d+)")


@dataclass(frozen=True)
class Curve:
    """One fold's learning curve: named series of values per boosting round / epoch."""

    model: str
    repeat: int
    fold: int
    series: dict[str, list[float]]
    best_iteration: int | None  # 1-based count of rounds / epochs kept


@dataclass(frozen=True)
class Importance:
    """A model's feature importance: share of the total gain, mean and std over folds, most important first."""

    model: str
    features: tuple[str, ...]
    share: tuple[float, ...]
    std: tuple[float, ...]
    n_folds: int

    def top(self, n: int) -> list[tuple[str, float, float]]:
        return list(zip(self.features, self.share, self.std, strict=True))[:n]


def fold_dirs(store: RunStore, name: str, key: str | None = None) -> list[tuple[FoldResult, Path]]:
    """The finished fold folders of a current model (or of its version ``key``), in (repeat, fold) order."""
    folds_root = store.model_dir(name, key or store.current_models()[name]) / "folds"
    if not folds_root.is_dir():
        return []
    found = []
    for path in folds_root.iterdir():
        m = _FOLD_DIR.fullmatch(path.name)
        if m is None or not (path / "result.json").is_file():
            continue
        try:
            result = FoldResult.from_json((path / "result.json").read_text())
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
            continue
        found.append((int(m.group(1)), int(m.group(2)), result, path))
    return [(res, path) for _, _, res, path in sorted(found, key=lambda t: (t[0], t[1]))]


def learning_curves(store: RunStore, name: str) -> list[Curve]:
    """Each finished fold's recorded learning curve (folds that recorded none are left out)."""
    curves = []
    for result, path in fold_dirs(store, name):
        hist_path = path / "history.json"
        if not hist_path.is_file():
            continue
        try:
            raw = json.loads(hist_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        series = {str(k): [float(x) for x in v] for k, v in raw.items() if isinstance(v, list) and v}
        if series:
            curves.append(Curve(name, result.repeat, result.fold, series, result.best_iteration))
    return curves


# ---------------------------------------------------------------------------------------------- importance
def _xgboost_gain(path: Path, names: list[str]) -> dict[str, float]:
    import xgboost as xgb

    booster = xgb.Booster(model_file=str(path))  # keeps the (model) feature names it was trained with
    columns = original_feature_names(names)
    return {columns.get(str(k), str(k)): float(v) for k, v in booster.get_score(importance_type="total_gain").items()}


def _lightgbm_gain(path: Path, names: list[str]) -> dict[str, float]:
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(path))
    gains = booster.feature_importance(importance_type="gain")
    # LightGBM rewrites names (spaces become underscores): the columns are the fold's features in order
    own = names if len(names) == len(gains) else booster.feature_name()
    return {str(n): float(g) for n, g in zip(own, gains, strict=True)}


#: native model file name -> reader of total gain per feature name, given the fold's feature names in column order.
#: Families without a reader show no importance.
IMPORTANCE_READERS: dict[str, Callable[[Path, list[str]], dict[str, float]]] = {
    "model.ubj": _xgboost_gain,
    "model.txt": _lightgbm_gain,
}


def feature_importance(store: RunStore, name: str) -> Importance | None:
    """Gain importance of a current model averaged over its folds; None when its model files have no reader."""
    shares: list[dict[str, float]] = []
    all_names: list[str] = []
    for _, path in fold_dirs(store, name):
        found = [(path / fname, reader) for fname, reader in IMPORTANCE_READERS.items() if (path / fname).is_file()]
        if not found:
            continue
        model_file, reader = found[0]
        names = _feature_names(path)  # every feature the fold saw, also those never split on
        gains = reader(model_file, names)
        total = sum(gains.values())
        shares.append({k: v / total for k, v in gains.items()} if total > 0 else {})
        # the fold's features, unless the model saw other columns (a net's embeddings in place of its pixels)
        for n in names if names and set(gains) <= set(names) else gains:
            if n not in all_names:
                all_names.append(n)
    if not shares:
        return None
    matrix = np.array([[s.get(n, 0.0) for n in all_names] for s in shares])
    mean, std = matrix.mean(axis=0), matrix.std(axis=0)
    order = np.argsort(-mean, kind="stable")
    return Importance(
        model=name,
        features=tuple(all_names[i] for i in order),
        share=tuple(float(mean[i]) for i in order),
        std=tuple(float(std[i]) for i in order),
        n_folds=len(shares),
    )


def _feature_names(fold_path: Path) -> list[str]:
    path = fold_path / "features.json"
    if not path.is_file():
        return []
    try:
        return [str(n) for n in json.loads(path.read_text()).get("features", [])]
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return []
