"""Leak tests through the runner: a declared pipeline is fitted on each fold's training rows only.

* A pure-noise, high-cardinality categorical column, target-encoded out of fold: the CV AUC stays near 0.5. The same
  column encoded once on all training rows before the folds (the classic leak) scores near 1.0: the test can tell.
* The scaling statistics saved with each fold are exactly those of that fold's training rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import demo_spec

from kaggle_kit.config import CompetitionSpec, build_spec
from kaggle_kit.features import Pipeline, TargetEncode
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

SEQUENTIAL = {"n_jobs": 1, "threads_per_task": 1}
LOGREG = {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 1000}}


def _noise_frame() -> pl.DataFrame:
    rng = np.random.default_rng(7)
    n = 3000
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "code": [f"c{v}" for v in rng.integers(0, n, n)],  # ~1 row per level, no signal at all
            "noise": rng.normal(size=n),
            "y": rng.integers(0, 2, n),
        }
    )


def _spec(folder: Path, pipelines: dict, model: dict) -> CompetitionSpec:
    return build_spec(
        {
            "name": "noise",
            "task": "binary",
            "metric": "roc_auc",
            "seed": 3,
            "data": {"train": "train.csv", "id": "id", "target": "y"},
            "run": SEQUENTIAL,
            "pipelines": pipelines,
            "models": [{"name": "logreg", **LOGREG, **model}],
        },
        base_dir=folder,
    )


@pytest.mark.filterwarnings("ignore::kaggle_kit.features.base.FeatureWarning")  # unseen levels in every fold
def test_out_of_fold_target_encoding_of_noise_scores_chance(tmp_path: Path) -> None:
    _noise_frame().write_csv(tmp_path / "train.csv")
    spec = _spec(tmp_path, {"te": {"steps": [{"step": "target_encode", "columns": ["code"]}]}}, {"pipeline": "te"})
    result = run(spec, runs_root=tmp_path / "runs", progress=None)
    cv = {m.name: m.cv for m in result.models}["logreg"]
    assert abs(cv - 0.5) < 0.05, cv


def test_target_encoding_before_the_folds_leaks(tmp_path: Path) -> None:
    """The control: encode on all rows first (what the pipeline's in-fold fitting prevents): a near-perfect AUC."""
    frame = _noise_frame()
    pipe = Pipeline([TargetEncode(columns=["code"])])
    state = pipe.fit(frame.drop("y"), frame["y"], task="binary")
    leaky = pipe.transform(frame, state)  # in-sample: each row's encoding holds its own target
    leaky.write_csv(tmp_path / "train.csv")
    result = run(_spec(tmp_path, {}, {}), runs_root=tmp_path / "runs", progress=None)
    cv = {m.name: m.cv for m in result.models}["logreg"]
    assert cv > 0.9, cv


def test_scaling_statistics_are_those_of_the_folds_training_rows(demo_data: Path, tmp_path: Path) -> None:
    pipelines = {"scaled": {"steps": [{"step": "standardize"}, {"step": "robust_scale", "columns": ["mean radius"]}]}}
    models = [{"name": "logreg", **LOGREG, "pipeline": "scaled"}]
    spec = demo_spec("demo-breast-cancer", demo_data, pipelines=pipelines, models=models, run=SEQUENTIAL)
    result = run(spec, runs_root=tmp_path, progress=None)
    assert {m.name: m.status for m in result.models}["logreg"] == "ok"
    store = RunStore(result.run_dir)
    folds = store.load_folds(5, "complement")
    key = store.current_models()["logreg"]
    train = load_competition(spec).train  # as the runner read it
    features = [c for c in train.columns if c not in ("id", "diagnosis")]
    whole = train.select(pl.col(features).mean()).row(0)
    assert len(features) == 30
    for r, k in folds.tasks():
        train_idx, _ = folds.train_valid(r, k)
        res = store.finished("logreg", key, r, k)
        assert res is not None
        state = json.loads((store.fold_dir("logreg", key, r, k) / "features.json").read_text())
        scaler = state["steps"][0]["state"]
        assert scaler["columns"] == features
        rows = train[train_idx]
        # bit for bit: the state fitting the pipeline on the fold's training rows yourself gives
        alone = Pipeline(spec.pipeline_steps("scaled")).fit(rows, features=features, categorical=[])
        assert alone["steps"] == state["steps"]
        assert scaler["mean"] != pytest.approx(list(whole), rel=1e-6)  # not the statistics of all rows
        X = rows.select(features).to_numpy()
        np.testing.assert_allclose(scaler["mean"], X.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(scaler["scale"], X.std(axis=0), rtol=1e-12)
        # the robust scaler came after: it saw the standardised training rows, so its median is theirs
        standardised = (rows["mean radius"].to_numpy() - scaler["mean"][0]) / scaler["scale"][0]
        assert state["steps"][1]["state"]["center"] == [pytest.approx(float(np.median(standardised)), abs=1e-12)]
