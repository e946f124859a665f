"""Same config, same OOF; a rerun reuses exactly the folds whose predictions cannot have changed.

Tiny tables written to tmp_path, every run in this process (``n_jobs=1``) unless a test says otherwise: each test
names the spec change it makes and whether that change must refit (its stored predictions would be wrong to reuse)
or must not (a cosmetic change)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from kaggle_kit import run
from kaggle_kit.config import build_spec
from kaggle_kit.runtime.store import RunStore

SEQUENTIAL = {"n_jobs": 1, "threads_per_task": 1}


def _competition(tmp_path: Path, n: int = 150) -> dict[str, Any]:
    """A binary task of text labels ('no' / 'yes'), 3 folds, one linear model: its raw spec."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    y = np.where(x[:, 0] + rng.normal(size=n) > 0, "yes", "no")
    frame = pl.DataFrame({"id": range(n), "a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})
    frame[: n - 30].write_csv(tmp_path / "train.csv")
    frame[n - 30 :].drop("y").write_csv(tmp_path / "test.csv")
    return {
        "name": "det",
        "task": "binary",
        "metric": "log_loss",
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"},
        "folds": {"n_splits": 3},
        "run": SEQUENTIAL,
        "models": [{"name": "logreg", "kind": "linear"}],
    }


def _run(raw: dict[str, Any], tmp_path: Path, runs: str = "runs"):
    return run(build_spec(copy.deepcopy(raw), base_dir=tmp_path), runs_root=tmp_path / runs, progress=None)


def _oof(run_dir: Path, model: str) -> pl.DataFrame:
    return RunStore(run_dir).read_predictions(model, "oof")


def test_reordered_classes_refit_and_give_a_fresh_runs_predictions(tmp_path: Path) -> None:
    """data.classes = ['yes', 'no'] swaps the class codes: the folds stored under the old order predicted the other
    class in each column (they were reused: CV 1.2 instead of 0.56, a submission of flipped probabilities)."""
    raw = _competition(tmp_path)
    _run(raw, tmp_path)
    raw["data"]["classes"] = ["no", "yes"]  # the order the labels have anyway: nothing changes
    assert _run(raw, tmp_path).fitted == 0
    raw["data"]["classes"] = ["yes", "no"]
    swapped = _run(raw, tmp_path)
    assert swapped.fitted == 6  # (baseline + logreg) x 3 folds
    fresh = _run(raw, tmp_path, runs="fresh")
    for model in ("baseline", "logreg"):
        assert _oof(swapped.run_dir, model).equals(_oof(fresh.run_dir, model))
    assert [m.cv for m in swapped.models] == [m.cv for m in fresh.models]
