"""A model's OOF is scored once, when its last fold lands (the live CV), and those fold scores are what its summary
stores: in every way a model's folds can come together, the leaderboard's CV and fold scores are those an
independent :func:`~kaggle_kit.runtime.scoring.score_folds` gives of the stored ``oof.parquet`` against the stored
labels and folds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.metrics import Metric, get_metric
from kaggle_kit.runtime.folds import Folds
from kaggle_kit.runtime.runner import RunSession, run
from kaggle_kit.runtime.scoring import FoldScores, score_folds
from kaggle_kit.runtime.store import RunStore

N_SPLITS, N_REPEATS = 3, 2


def _train(n: int = 90, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.8, n) > 0).astype(np.int64)
    return pl.DataFrame({"id": np.arange(n), "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "target": y})


def _spec(name: str):
    return build_spec(
        {"name": name, "task": "binary", "metric": "log_loss", "seed": 0,
         "data": {"train": "train.csv", "id": "id", "target": "target"},
         "folds": {"n_splits": N_SPLITS, "n_repeats": N_REPEATS}, "run": {"n_jobs": 1, "threads_per_task": 1},
         "models": [{"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression",
                     "params": {"C": 0.3}}]}
    )  # fmt: skip


def _count_assembly_scoring(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The models whose assembly scored their OOF itself (not handed the live CV's scores)."""
    from kaggle_kit.runtime import runner

    scored: list[str] = []

    def counted(pred: np.ndarray, y: np.ndarray, folds: Folds, metric: Metric) -> FoldScores:
        scored.append(f"{pred.shape}")
        return score_folds(pred, y, folds, metric)

    monkeypatch.setattr(runner, "score_folds", counted)
    return scored


def assert_scored_as_stored(run_dir: Path, metric: str = "log_loss", n_splits: int = N_SPLITS) -> list[str]:
    """Every whole model of the run folder: its summary's CV and fold scores are an independent scoring of its stored
    OOF (bit for bit); the models checked."""
    store = RunStore(run_dir)
    folds = store.load_folds(n_splits, "complement")
    assert folds is not None
    y, scorer = store.read_target(), get_metric(metric)
    checked = []
    for name in store.current_models():
        summary = store.read_summary(name)
        if summary.status != "ok":
            continue
        oof = store.read_predictions(name, "oof").drop("id").to_numpy()
        expected = score_folds(oof, y, folds, scorer)
        assert (summary.cv, summary.fold_scores) == (expected.pooled, expected.scores), name
        checked.append(name)
    return checked


def test_a_model_whose_folds_land_in_two_calls_is_scored_on_all_of_them(tmp_path: Path) -> None:
    """A time limit's waves fit a model's folds over several calls: the first call's model has folds still missing
    (no scores handed), the second's reads the first call's folds from the store; what it hands is the whole OOF's
    score, and the session keeps nothing once the model is assembled."""
    spec = _spec("two-calls")
    session = RunSession.open(spec, tmp_path, _train(), None, 1, None, None, None)
    try:
        model = spec.model("lr")
        todo, _ = session.tasks(model)
        assert len(todo) == N_SPLITS * N_REPEATS
        session.start(len(todo))
        session.write_meta([model])
        first = session.run_tasks(todo[:4])
        assert not first.errors and not first.scores  # 2 folds of repeat 1 still to fit
        second = session.run_tasks(todo[4:])
        handed = second.scores[("lr", session.key(model))]
        result = session.assemble(model, None)
        assert session._scores == {}  # popped by the assembly: nothing held for the rest of the session
    finally:
        session.close()
    assert (result.cv, result.fold_scores) == (handed.pooled, handed.scores)
    assert len(result.fold_scores) == N_SPLITS * N_REPEATS
    assert assert_scored_as_stored(session.store.root) == ["lr"]


def test_a_resumed_run_scores_its_refitted_fold_with_the_stored_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fold removed from a finished run is fitted again; the live CV pools it with the folds read from the store:
    the leaderboard says what the stored OOF scores, and what the uninterrupted run said (the same fits)."""
    spec, train = _spec("resumed"), _train()
    whole = run(spec, runs_root=tmp_path, train=train, progress=None, record_history=False)
    store = RunStore(whole.run_dir)
    key = store.current_models()["lr"]
    shutil.rmtree(store.fold_dir("lr", key, 1, 2))
    scored = _count_assembly_scoring(monkeypatch)
    again = run(spec, runs_root=tmp_path, train=train, progress=None, record_history=False)
    assert again.fitted == 1
    assert len(scored) == 1  # the baseline, every fold reused; lr's scores handed by its live CV
    rows = {m.name: m for m in again.models}
    assert (rows["lr"].cv, rows["lr"].fold_scores) == next(
        (m.cv, m.fold_scores) for m in whole.models if m.name == "lr"
    )
    assert set(assert_scored_as_stored(again.run_dir)) == {"lr", "baseline"}


def test_scores_of_a_model_not_assembled_by_the_session_are_not_handed_to_another_version(tmp_path: Path) -> None:
    """Scores are handed by (name, key): another version of a model (other params: another key) is scored afresh."""
    spec = _spec("versions")
    session = RunSession.open(spec, tmp_path, _train(), None, 1, None, None, None)
    try:
        model = spec.model("lr")
        other = model.model_copy(update={"params": {"C": 0.01}})
        assert session.key(other) != session.key(model)
        todo, _ = session.tasks(model)
        later, _ = session.tasks(other)
        session.start(len(todo) + len(later))
        session.write_meta([model])
        session.run_tasks(todo)
        session.run_tasks(later)
        assert len(session._scores) == 2
        results = [session.assemble(other, None), session.assemble(model, None)]
    finally:
        session.close()
    assert results[0].cv != results[1].cv
    assert assert_scored_as_stored(session.store.root) == ["lr"]  # run.json lists the first version


@pytest.mark.parametrize("jobs", [2])
def test_a_pool_of_workers_hands_the_scores_of_the_stored_oof(tmp_path: Path, jobs: int) -> None:
    """The folds fitted in worker processes: the driver's live CV reads their files from the store."""
    spec = _spec("pooled")
    result = run(spec, runs_root=tmp_path, train=_train(), n_jobs=jobs, progress=None, record_history=False)
    assert set(assert_scored_as_stored(result.run_dir)) == {"lr", "baseline"}


def test_pseudo_labelled_rounds_store_the_scores_of_their_oof(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pseudo-labelling round's models are fitted through their own task call and assembled by the rounds."""
    frame = _train(150, seed=4)
    train, test = frame[:90], frame[90:].drop("target")
    raw = _spec("pseudo").model_dump(mode="json", exclude_none=True)
    raw["data"]["test"] = "test.csv"
    raw["pseudo_label"] = {"source": "lr", "threshold": 0.8, "models": ["lr"], "rounds": 2}
    scored = _count_assembly_scoring(monkeypatch)
    result = run(build_spec(raw), runs_root=tmp_path, train=train, test=test, progress=None, record_history=False)
    assert scored == []  # every model of a fresh run scored once, by its live CV
    assert {"lr@pl1", "lr@pl2"} <= set(assert_scored_as_stored(result.run_dir))


@pytest.mark.parametrize("jobs", [1])
def test_a_time_limited_search_and_its_seed_bags_store_the_scores_of_their_oof(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Waves of a time limit (a fold in one wave, the others in the next) and seed bags of the best configs."""
    raw = _spec("bags").model_dump(mode="json", exclude_none=True)
    fast = {"num_boost_round": 20, "params": {"num_leaves": 4, "min_data_in_leaf": 3}}
    raw["search"] = {"families": ["lightgbm"], "n_configs": 2, "overrides": {"lightgbm": fast}}
    scored = _count_assembly_scoring(monkeypatch)
    result = run(build_spec(raw), runs_root=tmp_path, train=_train(), n_jobs=jobs, time_limit=60, progress=None,
                 record_history=False)  # fmt: skip
    meta = RunStore(result.run_dir).read_meta()
    checked = set(assert_scored_as_stored(result.run_dir))
    bags = {name for bag in meta.get("bags", {}).values() for name in bag["models"]}
    assert bags and bags <= checked, (bags, checked)
    assert scored == []


@pytest.mark.slow  # a Ray of its own
def test_ray_tasks_hand_the_scores_of_the_stored_oof(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Ray the folds are fitted in scratch stores and shipped to the run folder: the driver's live CV reads them
    there, scored against the run's labels and folds."""
    pytest.importorskip("ray")
    scored = _count_assembly_scoring(monkeypatch)
    result = run(_spec("on-ray"), runs_root=tmp_path, train=_train(), executor="ray", progress=None,
                 record_history=False)  # fmt: skip
    assert scored == []
    assert set(assert_scored_as_stored(result.run_dir)) == {"lr", "baseline"}


def test_two_versions_of_a_model_in_one_call_are_scored_apart(tmp_path: Path) -> None:
    """Tasks of two versions of one model name (two keys) in one call: each version's folds are pooled alone (they
    were counted and pooled by name: one score, of a matrix mixing both versions' folds, under the last key)."""
    spec = _spec("one-call")
    session = RunSession.open(spec, tmp_path, _train(), None, 1, None, None, None)
    try:
        model = spec.model("lr")
        other = model.model_copy(update={"params": {"C": 0.01}})
        todo, _ = session.tasks(model)
        later, _ = session.tasks(other)
        session.start(len(todo) + len(later))
        session.write_meta([model])
        outcomes = session.run_tasks(todo + later)
        assert set(outcomes.scores) == {("lr", session.key(model)), ("lr", session.key(other))}
        results = [session.assemble(other, None), session.assemble(model, None)]
    finally:
        session.close()
    assert results[0].cv != results[1].cv
    assert assert_scored_as_stored(session.store.root) == ["lr"]
