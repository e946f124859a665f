"""A run's guards before any fit and its bookkeeping: what is scored once, what is refused up front.

Small tables made here; every run is in this process (``n_jobs=1``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit import run
from kaggle_kit.config import CompetitionSpec, build_spec
from kaggle_kit.runtime import scoring
from kaggle_kit.runtime.progress import RunProgress


def _binary(n: int = 60) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n + 10)
    frame = pl.DataFrame({"id": range(n + 10), "x": x, "y": (x + rng.normal(size=n + 10) > 0).astype(int)})
    return frame[:n], frame[n:].drop("y")


def _logreg_spec(name: str, threads: int | None = None) -> CompetitionSpec:
    """A binary task of :func:`_binary`'s rows, 3 folds, one linear model (``threads``: the run's threads per task)."""
    return build_spec(
        {
            "name": name,
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 3},
            "models": [{"name": "logreg", "kind": "linear"}],
        }
        | ({"run": {"threads_per_task": threads}} if threads else {})
    )


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
    spec = _logreg_spec("once")
    live: dict[str, float | None] = {}

    class Live(RunProgress):
        def model_done(self, model: str, cv: float | None, error: str | None) -> None:
            live[model] = cv

    result = run(spec, runs_root=tmp_path, train=train, test=test, n_jobs=1, progress=Live(), record_history=False)
    assert calls == [60, 60]  # baseline, logreg: once each
    assert live == {m.name: pytest.approx(m.cv) for m in result.models}  # the live CV is the leaderboard's


def _multiregression(labelled: int) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """30 training rows, targets ``t0`` (every row labelled) and ``t1`` (its first ``labelled`` rows)."""
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"id": range(40), "x": rng.normal(size=40), "t0": rng.normal(size=40)})
    t1 = [float(v) if i < labelled else None for i, v in enumerate(rng.normal(size=40))]
    frame = frame.with_columns(pl.Series("t1", t1, dtype=pl.Float64))
    raw = {
        "name": "mreg",
        "task": "multiregression",
        "metric": "mean_rmse",
        "data": {"train": "train.csv", "id": "id", "target": ["t0", "t1"]},
        "folds": {"n_splits": 3},
        "models": [{"name": "ridge", "kind": "linear"}],
    }
    return frame[:30], frame[30:].drop(["t0", "t1"]), raw


#: the fix said for 1 to 4 labelled rows: no fold count is one (it said "use fewer folds" for 3 or more, at 2 folds too)
_ONLY_FIX = r"in every fold: label more rows, or remove 't1' from data.target$"


@pytest.mark.parametrize(
    ("labelled", "fix"),
    [
        (1, r"fold \d leaves 0 of them to train on, .* " + _ONLY_FIX),
        (3, r"fold \d leaves 1 of them to train on, .* " + _ONLY_FIX),
        (4, r"fold \d leaves 1 of them to train on, .* " + _ONLY_FIX),
    ],
)
def test_a_multiregression_target_labelled_on_too_few_rows_is_refused_before_any_fit(
    labelled: int, fix: str, tmp_path: Path
) -> None:
    """Fewer labelled rows of one target than folds: refused up front, naming the column; it failed inside a fold (a
    DataError naming ``data.target[1]``, or LightGBM's stack trace on one row)."""
    from kaggle_kit.errors import DataError

    train, test, raw = _multiregression(labelled)
    with pytest.raises(DataError, match=rf"the target column 't1' has {labelled} labelled row\(s\) of 30; {fix}"):
        run(build_spec(raw), runs_root=tmp_path, train=train, test=test, n_jobs=1, progress=None, record_history=False)
    assert not list(tmp_path.glob("*/models/*"))  # no fold was fitted
    train, test, raw = _multiregression(12)  # 4 a fold: each trains on 8
    result = run(build_spec(raw), runs_root=tmp_path / "ok", train=train, test=test, n_jobs=1, progress=None)
    assert [m.status for m in result.models] == ["ok", "ok"]


def test_a_worker_killed_mid_fold_names_the_model_the_fold_and_the_likely_cause(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each worker SIGKILLs itself as it writes its first fold (as the out-of-memory killer ends one): every model
    fails naming its fold and the likely cause, and the run counts no fold as fitted. It said ``WorkerDied: the worker
    process ended (exit code -9) while fitting`` (no fold, no cause) and ``fitted 6 fold(s)``: the tasks it planned."""
    monkeypatch.setenv("KAGGLE_KIT_FAULT", "fold-files:1")  # read by the workers only: this process fits nothing
    train, test = _binary()
    spec = _logreg_spec("killed")
    result = run(spec, runs_root=tmp_path, train=train, test=test, n_jobs=2, progress=None, record_history=False)
    assert result.fitted == 0
    for m in result.models:
        assert m.status == "failed"
        assert m.error is not None and m.error.startswith("WorkerDied (repeat 0 fold ")
        assert (
            "exit code -9) while fitting: killed (SIGKILL), most often by the system's out-of-memory killer" in m.error
        )
        assert "fewer folds at once (--jobs 1, run.n_jobs)" in m.error


def test_more_jobs_than_cores_start_one_worker_per_core(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``n_jobs = 9`` on 2 cores (threads fixed, so no load reading holds tasks back): 2 worker processes, said;
    it started one a task (6), each with a copy of the data, taking turns on the 2 cores."""
    monkeypatch.setattr("kaggle_kit.runtime.runner.cpu_count", lambda: 2)
    train, test = _binary()
    spec = _logreg_spec("jobs", threads=1)
    lines: list[str] = []
    result = run(spec, runs_root=tmp_path, train=train, test=test, n_jobs=9, progress=lines.append)
    # the number asked, though the run has fewer tasks (6): it said "n_jobs (--jobs) 6"
    assert "n_jobs (--jobs) 9 is more than the 2 core(s) this process may use: 2 worker process(es)" in lines[0]
    assert lines[1].startswith("fitting 6 fold(s) with 2 worker(s) x 1 thread(s)"), lines[:2]
    assert result.fitted == 6


def test_a_multilabel_target_labelled_on_one_row_is_not_refused(tmp_path: Path) -> None:
    """The up-front check is multiregression's: a multilabel column whose folds train on no labelled row of it is
    predicted at its smoothed rate (:func:`kaggle_kit.readers.targets.one_class_rate`), and the run finishes."""
    train, test, raw = _multiregression(1)
    train = train.with_columns((pl.col("t0") > 0).cast(pl.Float64), pl.col("t1").is_not_null().cast(pl.Float64) * 1)
    train = train.with_columns(pl.when(pl.int_range(pl.len()) < 1).then(pl.col("t1")).alias("t1"))
    raw = {**raw, "task": "multilabel", "metric": "mean_log_loss"}
    with pytest.warns(UserWarning, match="'t1' holds one label"):
        result = run(build_spec(raw), runs_root=tmp_path, train=train, test=test, n_jobs=1, progress=None)
    assert [m.status for m in result.models] == ["ok", "ok"]


def test_the_labelled_rows_are_checked_in_every_repeat() -> None:
    """3 labelled rows of ``t1``, 3 folds x 2 repeats (seed 0): the first repeat's folds each train on 2 of them, one
    fold of the second repeat on 1; named with its repeat."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.runtime.folds import check_labelled_targets, make_folds

    y = np.column_stack([np.ones(30), np.where(np.arange(30) < 3, 1.0, np.nan)])
    folds = make_folds(30, strategy="kfold", n_splits=3, n_repeats=2, seed=0)
    with pytest.raises(DataError, match=r"'t1' has 3 labelled row\(s\) of 30; fold \d of repeat 1 leaves 1 of them"):
        check_labelled_targets(y, ["t0", "t1"], folds)
    check_labelled_targets(y, ["t0", "t1"], make_folds(30, strategy="kfold", n_splits=3, seed=0))  # repeat 0: fine


def test_more_ray_jobs_than_cores_are_left_as_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The cap is the local pool's (its workers share this machine's cores): Ray's tasks run where its cluster has
    cores, so ``n_jobs = 5`` on 2 local cores stays 5, without the note."""
    from kaggle_kit.runtime.runner import RunSession

    monkeypatch.setattr("kaggle_kit.runtime.runner.cpu_count", lambda: 2)
    train, test = _binary()
    spec = _logreg_spec("ray_jobs", threads=1)
    lines: list[str] = []
    session = RunSession.open(spec, tmp_path / "runs", train, test, 5, "ray", None, lines.append)
    try:
        session.start(n_tasks=9)  # no Ray started: the pool of tasks is made when they run
        assert session.jobs == 5
        assert not any("more than the" in line for line in lines), lines
    finally:
        session.close()


def test_a_run_of_waves_counts_no_failed_model_fold_as_fitted(tmp_path: Path) -> None:
    """The waves' driver (a search, a time limit, ``extra_models``) counts the folds in the store as ``fit_all`` does:
    a model that fails in each fold adds none (it counted all 3 of a failed model's folds: ``fitted 9``)."""
    from kaggle_kit.config import ModelSpec

    train, test = _binary()
    spec = _logreg_spec("waves")
    broken = ModelSpec(  # more neighbours than a fold has rows: fails in each fold
        name="broken",
        kind="sklearn",
        estimator="sklearn.neighbors.KNeighborsClassifier",
        params={"n_neighbors": 100000},
    )
    result = run(
        spec,
        runs_root=tmp_path,
        train=train,
        test=test,
        n_jobs=1,
        extra_models=[broken],
        progress=None,
        record_history=False,
    )
    assert {m.name: m.status for m in result.models} == {"baseline": "ok", "logreg": "ok", "broken": "failed"}
    assert result.fitted == 6


def test_a_dead_workers_signal_is_called_a_crash_only_where_it_is_one() -> None:
    """A worker ended by SIGSEGV crashed in a library; one ended by SIGTERM was ended by another process (it was
    called a crash too); SIGKILL names the out-of-memory killer."""
    import signal

    from kaggle_kit.runtime.pool import died_message

    assert died_message(-signal.SIGSEGV).endswith("(exit code -11) while fitting: SIGSEGV, a crash in its library")
    term = ": SIGTERM, sent by another process (the system stopping, a kill command)"
    assert died_message(-signal.SIGTERM).endswith(term)
    assert "out-of-memory killer" in died_message(-signal.SIGKILL)
    assert died_message(3) == "the worker process ended (exit code 3) while fitting"


def test_a_per_target_model_without_labelled_training_rows_names_no_fold_count_as_the_fix() -> None:
    """The per-target adapter's own refusal (a fold of no labelled row of a target, outside the runner's up-front
    check) says what check_labelled_targets says: it said "use fewer folds", which leaves each fold fewer rows."""
    from kaggle_kit.config import ModelSpec
    from kaggle_kit.errors import DataError
    from kaggle_kit.features import FeatureMatrix
    from kaggle_kit.metrics import get_metric
    from kaggle_kit.models import FitContext, make_adapter

    X = FeatureMatrix(np.random.default_rng(4).normal(size=(20, 2)).astype(np.float32), ("a", "b"), ())
    y = np.column_stack([np.arange(20.0), np.full(20, np.nan)])
    adapter = make_adapter(ModelSpec(name="ridge", kind="linear"), "multiregression")
    ctx = FitContext("multiregression", 2, get_metric("mean_rmse"), seed=0, device="cpu", threads=1)
    with pytest.raises(DataError, match=r"data.target\[1\] has no value .* label more rows, or remove it") as caught:
        adapter.fit(X, y, X, y, ctx)
    assert "fewer folds" not in str(caught.value)


def test_a_failed_pseudo_labelling_round_counts_no_fold_as_fitted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A ``[pseudo_label]`` round whose model fails in each fold adds none of them to ``fitted N fold(s)`` (it added
    every fold it planned, as the runner had before it counted the store)."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("broken pseudo fold")

    monkeypatch.setattr("kaggle_kit.runtime.pseudo.fit_pseudo_fold", broken)  # one job: the folds fit here
    train, test = _binary()
    spec = build_spec(
        {
            "name": "pseudo",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 3},
            "run": {"threads_per_task": 1},
            "models": [{"name": "logreg", "kind": "linear"}],
            "pseudo_label": {"source": "logreg", "threshold": 0.6, "models": ["logreg"]},
        }
    )
    result = run(spec, runs_root=tmp_path, train=train, test=test, n_jobs=1, progress=None, record_history=False)
    statuses = {m.name: m.status for m in result.models}
    assert statuses["logreg"] == "ok" and [s for n, s in statuses.items() if "@pl" in n] == ["failed"], statuses
    assert result.fitted == 6  # baseline and logreg: 3 folds each
