"""Shared fixtures: seeds fixed for every test, demo competitions materialised once per session."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kaggle_kit.config import CompetitionSpec, build_spec, load_spec
from kaggle_kit.demo import make_demo

REPO = Path(__file__).resolve().parents[1]
COMPETITIONS = REPO / "competitions"


@pytest.fixture(autouse=True)
def _fixed_seeds() -> None:
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One torch thread (the nets' test files use it: ``pytestmark = pytest.mark.usefixtures(...)``): tiny nets gain
    nothing from two, and lose a lot when other processes share the cores."""
    from kaggle_kit.models.nn.runtime import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding every demo competition in the Kaggle layout."""
    root = tmp_path_factory.mktemp("data")
    make_demo("demo-breast-cancer", root)
    make_demo("demo-digits", root)
    return root


def demo_spec(name: str, data_root: Path, **overrides: object) -> CompetitionSpec:
    """The repo's demo config with its data paths pointed at ``data_root`` and top-level keys overridden."""
    spec = load_spec(COMPETITIONS / f"{name}.toml")
    raw = spec.model_dump(mode="json", exclude_none=True)
    folder = data_root / name
    raw["data"].update(
        train=str(folder / "train.csv"),
        test=str(folder / "test.csv"),
        sample_submission=str(folder / "sample_submission.csv"),
    )
    raw.update(overrides)
    return build_spec(raw, base_dir=COMPETITIONS)


def fast_models(kinds: tuple[str, ...] = ("xgboost", "lightgbm")) -> list[dict[str, object]]:
    """Small, quick GBDT specs for end-to-end tests."""
    models: list[dict[str, object]] = []
    if "xgboost" in kinds:
        models.append(
            {
                "name": "xgb",
                "kind": "xgboost",
                "num_boost_round": 60,
                "early_stopping_rounds": 20,
                "params": {"learning_rate": 0.2, "max_depth": 3},
            }
        )
    if "lightgbm" in kinds:
        models.append(
            {
                "name": "lgbm",
                "kind": "lightgbm",
                "num_boost_round": 60,
                "early_stopping_rounds": 20,
                "params": {"learning_rate": 0.2, "num_leaves": 7},
            }
        )
    return models


def geometric_pool(per_fold: list[np.ndarray]) -> np.ndarray:
    """Class probabilities pooled as the runner pools its fold models' (kaggle_kit.runtime.pooling), computed here
    on its own: the normalised geometric mean of the rows' probabilities, each clipped to at least 1e-6."""
    logs = np.log(np.clip(np.asarray(per_fold, dtype=np.float64), 1e-6, 1.0)).mean(axis=0)
    pooled = np.exp(logs)
    return pooled / pooled.sum(axis=-1, keepdims=True)
