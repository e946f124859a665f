"""A run's guards before any fit and its bookkeeping: what is scored once, what is refused up front.

Small tables made here; every run is in this process (``n_jobs=1``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit import run
from kaggle_kit.config import build_spec
from kaggle_kit.runtime import scoring
from kaggle_kit.runtime.progress import RunProgress


def _binary(n: int = 60) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n + 10)
    frame = pl.DataFrame({"id": range(n + 10), "x": x, "y": (x + rng.normal(size=n + 10) > 0).astype(int)})
    return frame[:n], frame[n:].drop("y")


def test_each_model_is_scored_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The live CV line and the leaderboard's assembly score the same pooled OOF: once a model (it was scored twice,
    0.33 s a model on 1M rows). Counted on ``score_folds`` wherever the run's modules call it from."""
    calls: list[int] = []
    real = scoring.score_folds

    def counted(pred: np.ndarray, *args: object, **kwargs: object) -> scoring.FoldScores:
        calls.append(len(pred))
        return real(pred, *args, **kwargs)

    for module in ("kaggle_kit.runtime.scoring", "kaggle_kit.runtime.progress", "kaggle_kit.runtime.runner"):
        monkeypatch.setattr(f"{module}.score_folds", counted, raising=False)
    train, test = _binary()
    spec = build_spec(
        {
            "name": "once",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 3},
            "models": [{"name": "logreg", "kind": "linear"}],
        }
    )
    live: dict[str, float | None] = {}

    class Live(RunProgress):
        def model_done(self, model: str, cv: float | None, error: str | None) -> None:
            live[model] = cv

    result = run(spec, runs_root=tmp_path, train=train, test=test, n_jobs=1, progress=Live(), record_history=False)
    assert calls == [60, 60]  # baseline, logreg: once each
    assert live == {m.name: pytest.approx(m.cv) for m in result.models}  # the live CV is the leaderboard's
