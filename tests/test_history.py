"""The SQLite run history across two runs, submissions and their leaderboard scores, and the MLflow mirror of it."""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import demo_spec

from kaggle_kit.errors import StoreError
from kaggle_kit.report import (
    History,
    add_lb_score,
    collect_report,
    format_history,
    format_submissions,
    record_run,
    record_submission,
)
from kaggle_kit.report.build import cv_lb_agreement, cv_lb_points
from kaggle_kit.report.history import default_db, file_sha256
from kaggle_kit.report.records import code_version, config_hash
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore
from kaggle_kit.submit import write_submission

SEQUENTIAL = {"n_jobs": 1, "threads_per_task": 1}
LOGREG = {
    "name": "logreg",
    "kind": "sklearn",
    "estimator": "sklearn.linear_model.LogisticRegression",
    "params": {"C": 0.1, "max_iter": 2000},
}
NB = {"name": "nb", "kind": "sklearn", "estimator": "sklearn.naive_bayes.GaussianNB"}


@dataclass(frozen=True)
class TwoRuns:
    root: Path  # the runs root holding history.sqlite
    run_dir: Path
    first_id: int
    first_hash: str | None
    second_id: int


@pytest.fixture(scope="module")
def two_runs(demo_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """The breast-cancer demo run twice into one runs root: logreg, then logreg + nb; each run recorded."""
    root = tmp_path_factory.mktemp("history_runs")
    # record_history=False: the records are made here by hand, to test record_run itself
    first = run(
        demo_spec("demo-breast-cancer", demo_data, models=[LOGREG], run=SEQUENTIAL),
        runs_root=root,
        progress=None,
        record_history=False,
    )
    first_id = record_run(first.run_dir)
    first_hash = config_hash(first.run_dir)
    second = run(
        demo_spec("demo-breast-cancer", demo_data, models=[LOGREG, NB], run=SEQUENTIAL),
        runs_root=root,
        progress=None,
        record_history=False,
    )
    second_id = record_run(second.run_dir)
    return TwoRuns(root, second.run_dir, first_id, first_hash, second_id)


def test_two_runs_are_recorded_with_their_models_and_fold_scores(two_runs: TwoRuns) -> None:
    assert default_db(two_runs.run_dir) == two_runs.root / "history.sqlite"
    store = RunStore(two_runs.run_dir)
    with History(two_runs.root / "history.sqlite") as h:
        runs = h.runs()
        assert [r.id for r in runs] == [two_runs.second_id, two_runs.first_id]  # newest first
        newest, oldest = runs
        assert newest.competition == oldest.competition == "demo-breast-cancer"
        assert newest.config_hash == config_hash(two_runs.run_dir) and oldest.config_hash == two_runs.first_hash
        assert newest.config_hash != oldest.config_hash  # another model list = another spec
        assert newest.kit_version == store.read_meta()["kit_version"] and newest.metric == "roc_auc"
        assert newest.data_fingerprint == oldest.data_fingerprint == store.read_meta()["data_fingerprint"]
        assert newest.code_version is None or newest.code_version.startswith("git:")
        assert [m.name for m in h.models(two_runs.first_id)] == ["baseline", "logreg"]
        models = {m.name: m for m in h.models(two_runs.second_id)}
        assert list(models) == ["baseline", "logreg", "nb"]
        for name, m in models.items():
            expected = store.read_summary(name)
            assert (m.kind, m.status, m.cv, m.fit_seconds) == (expected.kind, "ok", expected.cv, expected.fit_seconds)
            assert m.fold_scores == expected.fold_scores and m.cv_mean == expected.mean and m.cv_std == expected.std
        best = max(("logreg", "nb"), key=lambda n: store.read_summary(n).cv)
        assert (newest.best, newest.best_cv) == (best, store.read_summary(best).cv)
    listing = format_history(two_runs.root / "history.sqlite")
    assert (
        f"\n{two_runs.second_id:>4}  " in listing
        and f"\n{two_runs.first_id:>4}  " in listing
        and two_runs.first_hash in listing
    )


def test_a_rerun_of_the_same_spec_is_a_new_record_with_the_same_hash(two_runs: TwoRuns) -> None:
    again = record_run(two_runs.run_dir)
    with History(two_runs.root / "history.sqlite") as h:
        records = {r.id: r for r in h.runs("demo-breast-cancer")}
        assert again > two_runs.second_id and records[again].config_hash == records[two_runs.second_id].config_hash
        assert h.runs("another-competition") == []


def test_blends_are_recorded(two_runs: TwoRuns, tmp_path: Path) -> None:
    folder = two_runs.run_dir / "blends" / "avg"
    folder.mkdir(parents=True)
    summary = {
        "name": "avg",
        "method": "rank_average",
        "models": ["logreg", "nb"],
        "weights": {"logreg": 0.5, "nb": 0.5},
        "cv": 0.991,
        "nested_cv": 0.99,
        "nested_fold_scores": [0.99, 0.98, 1.0, 0.99, 0.99],
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    try:
        run_id = record_run(two_runs.run_dir)
        with History(two_runs.root / "history.sqlite") as h:
            (blend,) = h.blends(run_id)
            assert (blend.name, blend.method, blend.models, blend.weights) == (
                "avg",
                "rank_average",
                ("logreg", "nb"),
                (0.5, 0.5),
            )
            assert blend.nested_cv == 0.99 and blend.nested_fold_scores == tuple(summary["nested_fold_scores"])
            assert blend.gap == pytest.approx(0.001)
            record = next(r for r in h.runs() if r.id == run_id)
            assert record.n_models == 4  # baseline, logreg, nb and the blend
    finally:
        (folder / "summary.json").unlink()
        folder.rmdir()
        (two_runs.run_dir / "blends").rmdir()


def test_submissions_get_their_leaderboard_scores(two_runs: TwoRuns) -> None:
    db = two_runs.root / "history.sqlite"
    store = RunStore(two_runs.run_dir)
    path = write_submission(two_runs.run_dir, "logreg")
    sub = record_submission(two_runs.run_dir, "logreg", path)
    assert (sub.source, sub.cv, sub.public_lb, sub.sha256) == (
        "logreg",
        store.read_summary("logreg").cv,
        None,
        file_sha256(path),
    )
    assert record_submission(two_runs.run_dir, "logreg", path).id == sub.id  # the same file is the same submission

    scored = add_lb_score(path, 0.9876, db=db)  # found by the file's content
    assert (scored.id, scored.public_lb, scored.private_lb) == (sub.id, 0.9876, None)
    assert scored.lb_recorded_at is not None
    rescored = add_lb_score(str(sub.id), 0.9881, db=db, private=0.9702)  # or by its id, as the CLI passes it
    assert (rescored.public_lb, rescored.private_lb) == (0.9881, 0.9702)

    nb = write_submission(two_runs.run_dir, "nb")
    record_submission(two_runs.run_dir, "nb", nb)
    add_lb_score(nb, 0.9755, db=db)
    listing = format_submissions(db)
    assert "0.98810" in listing and "0.97550" in listing and str(nb) in listing

    report = collect_report(two_runs.run_dir, adversarial=False)
    points = cv_lb_points(report)
    assert [(p[1], p[2]) for p in points] == [
        (store.read_summary("logreg").cv, 0.9881),
        (store.read_summary("nb").cv, 0.9755),
    ]
    assert cv_lb_agreement(points) is None  # rank correlation needs three submissions


@pytest.mark.parametrize(
    ("submission", "score", "match"),
    [
        ("nowhere.csv", 0.9, r"no recorded submission matches 'nowhere.csv'.*kaggle-kit submit"),
        ("999", 0.9, r"no recorded submission matches '999'"),
        ("1", math.nan, r"must be a finite number"),
    ],
)
def test_lb_add_errors(two_runs: TwoRuns, submission: str, score: float, match: str) -> None:
    with pytest.raises(StoreError, match=match):
        add_lb_score(submission, score, db=two_runs.root / "history.sqlite")


def test_an_unrecorded_file_is_not_a_submission(two_runs: TwoRuns, tmp_path: Path) -> None:
    stray = tmp_path / "mine.csv"
    stray.write_text("id,diagnosis\n1,0.5\n")
    with pytest.raises(StoreError, match=r"no recorded submission matches .*mine.csv"):
        add_lb_score(stray, 0.5, db=two_runs.root / "history.sqlite")


def test_history_without_a_database_and_a_corrupt_one(tmp_path: Path) -> None:
    assert "no run history yet" in format_history(tmp_path / "history.sqlite")
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"not a usable history database"):
        History(bad)
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match=r"newer kaggle_kit"):
        History(newer)


def test_code_version_reads_the_git_head_without_git(tmp_path: Path) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "repo"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / "src").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "refs" / "heads" / "main").write_text(sha + "\n")
    assert code_version(repo / "src") == "git:0123456789ab"
    (repo / ".git" / "refs" / "heads" / "main").unlink()
    (repo / ".git" / "packed-refs").write_text(f"# pack-refs\n{sha} refs/heads/main\n")
    assert code_version(repo) == "git:0123456789ab"
    (repo / ".git" / "HEAD").write_text(sha[::-1] + "\n")  # a detached HEAD
    assert code_version(repo) == f"git:{sha[::-1][:12]}"
    assert code_version(tmp_path / "elsewhere") is None  # no repository above it


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SQLAlchemy's, inside MLflow
def test_the_same_records_go_to_mlflow(two_runs: TwoRuns, tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from kaggle_kit.report import log_to_mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = log_to_mlflow(two_runs.run_dir, tracking_uri=uri)
    client = MlflowClient(tracking_uri=uri)
    logged = client.get_run(run_id)
    store = RunStore(two_runs.run_dir)
    assert logged.info.status == "FINISHED"
    assert client.get_experiment(logged.info.experiment_id).name == "demo-breast-cancer"
    assert logged.data.params["config_hash"] == config_hash(two_runs.run_dir)
    assert logged.data.params["models"] == "baseline,logreg,nb"
    for name in ("logreg", "nb"):
        expected = store.read_summary(name)
        assert logged.data.metrics[f"{name}.cv"] == pytest.approx(expected.cv, abs=1e-12)
        folds = client.get_metric_history(run_id, f"{name}.fold_score")
        assert [m.step for m in sorted(folds, key=lambda m: m.step)] == list(range(5))
        assert [m.value for m in sorted(folds, key=lambda m: m.step)] == pytest.approx(list(expected.fold_scores))
    if (two_runs.run_dir.parent / "history.sqlite").is_file():
        with History(two_runs.run_dir.parent / "history.sqlite") as h:
            scored = [s for s in h.submissions("demo-breast-cancer") if s.public_lb is not None]
        for s in scored:
            assert f"lb.{s.source}.public" in logged.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert "spec.toml" in artifacts


def test_a_history_written_before_blends_recorded_submittable_is_read_and_extended(tmp_path: Path) -> None:
    """An older history has no `submittable` column: it gets one, its blends counted as submittable (unknown)."""
    from kaggle_kit.report.history import _SCHEMA

    db = tmp_path / "history.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(_SCHEMA.replace("    submittable INTEGER,\n", ""))
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            "INSERT INTO runs (recorded_at, competition, run_dir, task, metric, greater_is_better) "
            "VALUES ('2026-01-01', 'c', '/r', 'binary', 'roc_auc', 1)"
        )
        conn.execute(
            "INSERT INTO blends (run_id, name, method, models, cv, nested_cv, nested_fold_scores) "
            "VALUES (1, 'old', 'mean', '[\"a\"]', 0.9, 0.9, '[0.9]')"
        )
    conn.close()
    with History(db) as h:
        assert h.blends(1)[0].submittable and h.runs()[0].best == "old"
        assert "submittable" in {row[1] for row in h.conn.execute("PRAGMA table_info(blends)")}
