"""The command line's edges: `init` given a data folder, `demo` from any working folder (or an installed wheel), and
a run history file that cannot be written."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import COMPETITIONS
from readonly import read_only_file

from kaggle_kit.cli import main
from kaggle_kit.config import build_spec
from kaggle_kit.demo import demo_config, demo_config_names
from kaggle_kit.errors import ConfigError, DataError, StoreError
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.report import History, format_history, format_submissions, record_submission
from kaggle_kit.report import history as history_module
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import StoreWarning
from kaggle_kit.submit import write_submission as kaggle_write


def _competition(folder: Path, n: int = 48) -> Path:
    """A small binary competition in Kaggle's layout: train.csv, test.csv, sample_submission.csv."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 2))
    frame = pl.DataFrame({"id": np.arange(n), "a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] > 0).astype(int)})
    folder.mkdir(parents=True, exist_ok=True)
    frame[:36].write_csv(folder / "train.csv")
    frame[36:].drop("y").write_csv(folder / "test.csv")
    frame[36:].select("id", pl.lit(0.5).alias("y")).write_csv(folder / "sample_submission.csv")
    return folder


# --------------------------------------------------------------------------------------------- init
def test_init_of_a_data_folder_finds_its_train_file_and_names_the_competition_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kaggle-kit init .` got argparse's "the following arguments are required: --train"."""
    data = _competition(tmp_path / "my-comp")
    monkeypatch.chdir(data)
    assert main(["init", ".", "--out", str(tmp_path / "cfg"), "--preset", "fast"]) == 0
    out = capsys.readouterr().out
    assert "competition 'my-comp', training table train.csv" in out
    config = (tmp_path / "cfg" / "my-comp.toml").read_text()
    assert 'train = "../my-comp/train.csv"' in config and 'test = "../my-comp/test.csv"' in config
    assert 'sample_submission = "../my-comp/sample_submission.csv"' in config
    assert main(["init", ".", "--train", "train.csv", "--out", str(tmp_path / "cfg2"), "--preset", "fast"]) == 0
    assert (tmp_path / "cfg2" / "my-comp.toml").is_file()  # `.` is the folder, not the competition's name
    monkeypatch.chdir(tmp_path)
    assert main(["init", "other", "my-comp", "--out", "cfg", "--preset", "fast"]) == 0  # SLUG DATA_DIR
    assert 'name = "other"' in (tmp_path / "cfg" / "other.toml").read_text()
    assert main(["init", "third", "--train", "my-comp", "--out", "cfg", "--preset", "fast"]) == 0  # --train DIR
    assert 'train = "../my-comp/train.csv"' in (tmp_path / "cfg" / "third.toml").read_text()


def test_init_of_a_folder_prefers_kaggles_train_names_over_other_train_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """MoA's layout: train_features.csv beside train_targets_scored.csv (two train* tables): the features' is the
    training table, not "several training tables" (init then says how to join the targets to it)."""
    rng = np.random.default_rng(3)
    data = tmp_path / "moa"
    data.mkdir()
    ids = [f"id_{i}" for i in range(60)]
    pl.DataFrame({"sig_id": ids, "g0": rng.normal(size=60), "g1": rng.normal(size=60)}).write_csv(
        data / "train_features.csv"
    )
    labels = pl.DataFrame({"sig_id": ids, "t_a": rng.integers(0, 2, 60), "t_b": rng.integers(0, 2, 60)})
    labels.write_csv(data / "train_targets_scored.csv")
    pl.DataFrame({"sig_id": ["x1", "x2"], "g0": [0.1, 0.2], "g1": [0.3, 0.4]}).write_csv(data / "test_features.csv")
    pl.DataFrame({"sig_id": ["x1", "x2"], "t_a": [0.5, 0.5], "t_b": [0.5, 0.5]}).write_csv(
        data / "sample_submission.csv"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["init", "moa", "--out", "cfg", "--preset", "fast"]) == 2
    said = capsys.readouterr()
    assert "competition 'moa', training table moa/train_features.csv" in said.out
    assert "error: the sample submission's prediction columns are not in train_features.csv but in " in said.err


def test_init_of_a_folder_of_zipped_tables_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kaggle ships some competitions' tables zipped (train.csv.zip): `init --train train.csv.zip` read it, but
    `init DIR` said "no training table ... it holds no table", and test.csv.zip and sample_submission.csv.zip beside a
    train file were not found."""
    data = _competition(tmp_path / "zipped")
    for name in ("train", "test", "sample_submission"):
        with zipfile.ZipFile(data / f"{name}.csv.zip", "w") as archive:
            archive.write(data / f"{name}.csv", f"{name}.csv")
        (data / f"{name}.csv").unlink()
    monkeypatch.chdir(tmp_path)
    assert main(["init", "zipped", "--out", "cfg", "--preset", "fast"]) == 0
    config = (tmp_path / "cfg" / "zipped.toml").read_text()
    assert 'train = "../zipped/train.csv.zip"' in config and 'test = "../zipped/test.csv.zip"' in config
    assert 'sample_submission = "../zipped/sample_submission.csv.zip"' in config
    data = load_competition(tmp_path / "cfg" / "zipped.toml")  # as the run reads them
    assert (data.train.height, data.test.height) == (36, 12)


def test_init_of_a_folder_of_competition_folders_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kaggle-kit init /kaggle/input` (a notebook's inputs: one folder per competition or dataset) said "it holds
    no table", not which of its folders does."""
    _competition(tmp_path / "input" / "titanic")
    (tmp_path / "input" / "weights").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["init", "input"]) == 2
    err = capsys.readouterr().err
    assert "no training table in 'input'" in err and "its folder titanic holds one: kaggle-kit init " in err
    assert "weights" not in err and len(err.strip().splitlines()) == 1


def test_init_of_a_folder_without_a_test_table_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sample submission but no test.* (a code competition's hidden test rows, a test file not downloaded): the
    config was written without a test, without a word, and the run made no submission."""
    data = _competition(tmp_path / "hidden")
    (data / "test.csv").unlink()
    monkeypatch.chdir(tmp_path)
    assert main(["init", "hidden", "--out", "cfg", "--preset", "fast"]) == 0
    out = capsys.readouterr().out
    assert "test = (none): no test.* beside train.csv; the run scores its folds only (no submission): add" in out
    assert "test = " not in (tmp_path / "cfg" / "hidden.toml").read_text().split("[data]")[1].split("[")[0]
    assert main(["init", "whole", str(_competition(tmp_path / "whole")), "--out", "cfg", "--preset", "fast"]) == 0
    assert "test = (none)" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        (["init", "titanic"], (), r"error: init needs the competition's data: its folder \(kaggle-kit init titanic "
         r"DATA_DIR, or kaggle-kit init DATA_DIR; .*or its training file \(kaggle-kit init titanic --train FILE; .*"
         r"'titanic' is no folder here"),
        (["init", "."], ("notes.txt", "test.csv"), r"error: no training table in '.*' \(train.csv, train.parquet, "
         r"train.csv.gz or train.csv.zip; it holds test.csv\); pass the training file with --train FILE"),
        (["init", "."], ("titanic.zip", "notes.txt"), r"error: no training table in '.*' \(.*; it holds no table; "
         r"titanic.zip: unzip it here first, kaggle competitions download writes one zip\); pass the training"),
        (["init", "."], ("train_a.csv", "train_b.csv"), r"error: the folder '.*' holds several training tables "
         r"\(train_a.csv, train_b.csv\); pass the one of features with --train FILE"),
        (["init", "x", "data", "--train", "t.csv"], (), r"error: give the data folder \('data'\) or --train FILE, not "
         r"both"),
    ],
)  # fmt: skip
def test_init_without_data_says_what_to_pass(
    argv: list[str],
    files: tuple[str, ...],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in files:
        (tmp_path / name).write_text("id,x\n1,2\n")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.search(message, err), err


# --------------------------------------------------------------------------------------------- demo
def test_the_packaged_demo_configs_are_the_repositorys() -> None:
    """`kaggle-kit demo` reads the configs the package ships (a wheel has no competitions/ folder): each is a link to
    the repository's competitions/<name>.toml, one file (a wheel or sdist holds its contents), not a copy kept equal
    by hand."""
    repo = sorted(p.stem for p in COMPETITIONS.glob("demo-*.toml"))
    assert demo_config_names() == repo, "link each competitions/demo-*.toml into kaggle_kit/demo_configs/"
    package = Path(__import__("kaggle_kit").__file__).parent / "demo_configs"
    for name in repo:
        link = package / f"{name}.toml"
        assert link.is_symlink() and link.resolve() == (COMPETITIONS / f"{name}.toml").resolve(), (
            f"kaggle_kit/demo_configs/{name}.toml: make it the link ln -s ../../competitions/{name}.toml"
        )


def test_demo_configs_resolve_from_any_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kaggle-kit demo` read ./competitions/NAME.toml: from another folder (or an installed wheel) it said the config
    does not exist. The packaged config's data goes to ./data/NAME, as `kaggle-kit demo-data` writes it."""
    monkeypatch.chdir(tmp_path)
    spec, where = demo_config("demo-breast-cancer")
    assert spec.resolve(spec.data.train) == tmp_path / "data" / "demo-breast-cancer" / "train.csv"
    assert where == "the config the package ships"
    spec, where = demo_config("demo-breast-cancer", COMPETITIONS)  # --competitions DIR: its paths, as before
    assert spec.resolve(spec.data.train) == COMPETITIONS.parent / "data" / "demo-breast-cancer" / "train.csv"
    with pytest.raises(ConfigError, match=r"no demo config named 'demo-nope'; the package has 'demo-breast-cancer'"):
        demo_config("demo-nope")


# --------------------------------------------------------------------------------------------- the run history
def _spec(folder: Path):
    return build_spec(
        {
            "name": "hist",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "sample_submission": "sample_submission.csv",
                     "id": "id", "target": "y"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [{"name": "logreg", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}],
        },
        base_dir=folder,
    )  # fmt: skip


def test_a_read_only_history_file_is_read_and_its_writes_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The history database read-only in a writable runs root: `history` said `not a usable history database
    (attempt to write a readonly database)` (it wrote its schema on every open), a run failed after fitting every
    fold, and a submission's record gave sqlite's words."""
    spec = _spec(_competition(tmp_path / "comp"))
    runs = tmp_path / "runs"
    result = run(spec, runs_root=runs, progress=None)  # recorded: history.sqlite
    db = runs / "history.sqlite"
    with read_only_file(db):
        assert "hist" in format_history(db) and "no submissions recorded" in format_submissions(db)
        with History(db) as h:
            assert [r.competition for r in h.runs()] == ["hist"]
        with pytest.warns(StoreWarning, match=r"the run is not recorded in the run history \(cannot write the run "
                          r"history '.*history.sqlite': the file is read-only \(attempt to write a readonly "
                          r"database\); make it writable \(chmod u\+w '.*history.sqlite'\)"):  # fmt: skip
            again = run(spec, runs_root=runs, progress=None)
        assert again.reused == 6
        sub = tmp_path / "sub.csv"
        assert main(["submit", str(result.run_dir), "--model", "logreg", "--out", str(sub)]) == 0
        err = capsys.readouterr().err
        assert sub.is_file() and "warning: " in err and "is not recorded in the run history" in err
        assert "the file is read-only" in err and "Traceback" not in err
        with pytest.raises(StoreError, match=r"cannot write the run history .*: the file is read-only"):
            record_submission(result.run_dir, "logreg", sub)
        assert main(["history", "--runs-root", str(runs)]) == 0
        assert "hist" in capsys.readouterr().out
    with sqlite3.connect(db) as conn:  # nothing was written: one run, no submission
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 0


def test_an_older_history_gets_its_tables_on_open_and_a_schema_change_needs_a_new_version(tmp_path: Path) -> None:
    """Opening a history writes its schema only below SCHEMA_VERSION now (a read-only one is read as it is; it had
    run CREATE TABLE IF NOT EXISTS on every open): an older one gets the tables it lacks, and a table added to the
    schema without a new version would never reach an existing history."""
    db = tmp_path / "history.sqlite"
    with sqlite3.connect(db) as conn:  # an older history: the runs table only, no version
        conn.execute(history_module._SCHEMA.split(";")[0])
    with History(db) as h:
        assert h.runs() == [] and h.submissions() == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == history_module.SCHEMA_VERSION
    with sqlite3.connect(db) as conn:  # this version's number, a table missing (it had been made on every open)
        conn.execute("DROP TABLE submissions")
    with History(db) as h:
        assert h.submissions() == []  # sqlite3.OperationalError: no such table: submissions
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE submissions")
    with read_only_file(db), pytest.raises(StoreError, match=r"cannot write the run history .*: the file is read-only"):
        History(db)
    schema = hashlib.sha256(history_module._SCHEMA.encode()).hexdigest()[:16]
    assert (history_module.SCHEMA_VERSION, schema) == (2, "6d34529f81273b6e"), (
        "the history schema changed: raise SCHEMA_VERSION (History() upgrades an older database only: a new column "
        "needs its ALTER TABLE there), then pin the new version and hash here"
    )


def test_lb_add_without_a_history_says_where_it_looked_and_makes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kaggle-kit lb add` from another folder (the default --runs-root runs) made runs/history.sqlite, empty, then
    said that no recorded submission matched."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub.csv").write_text("id,y\n1,0\n")
    assert main(["lb", "add", "sub.csv", "0.9"]) == 2
    err = capsys.readouterr().err
    assert "error: no run history at 'runs/history.sqlite': `kaggle-kit submit` records a submission" in err
    assert "pass that runs root with --runs-root DIR" in err and not (tmp_path / "runs").exists()


def test_history_of_a_competition_it_lacks_names_those_it_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(_competition(tmp_path / "comp"))
    run(spec, runs_root=tmp_path / "runs", progress=None)
    for flags in ([], ["--submissions"]):
        assert main(["history", "--runs-root", str(tmp_path / "runs"), "--competition", "hits", *flags]) == 0
        out = capsys.readouterr().out
        assert "recorded for 'hits'; the history has 'hist'. Did you mean 'hist'?" in out


def test_a_missing_file_argument_is_named_by_its_option_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """They said `check data.test in the config` (a config predict, refit and init do not read), and predict read its
    --sample only after predicting every row."""
    data = _competition(tmp_path / "comp")
    result = run(_spec(data), runs_root=tmp_path / "runs", progress=None, record_history=False)
    monkeypatch.chdir(tmp_path)
    test = str(data / "test.csv")
    predict = ["predict", str(result.run_dir), "--model", "logreg"]
    cases = [
        ([*predict, "--test", "nope.csv"],
         "the test file 'nope.csv' (from the working folder '{}') does not exist; check --test FILE (test= in Python)"),
        ([*predict, "--test", "comp"],
         "the test file 'comp' (from the working folder '{}') is a folder, not a file; check --test FILE"),
        ([*predict, "--test", test, "--sample", "nope.csv", "--out", "o.csv"],
         "the sample submission file 'nope.csv' (from the working folder '{}') does not exist; check --sample FILE "
         "(sample= in Python)"),
        (["refit", str(result.run_dir), "--train", "nope.csv"],
         "the train file 'nope.csv' (from the working folder '{}') does not exist; check --train FILE (train= in "
         "Python)"),
        (["init", "t", "--train", "nope.csv"],
         "the train file 'nope.csv' (from the working folder '{}') does not exist; check --train FILE"),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert f"error: {message.format(tmp_path)}" in err, err
    assert not (tmp_path / "o.csv").exists() and not list(result.run_dir.glob("models/*/*/refit"))


def test_predict_of_a_sequence_run_names_a_missing_sequences_file(tmp_path: Path) -> None:
    """--sequences FILE (sequences= in Python) that is not there: named by its option before any work."""
    import tomli_w

    from kaggle_kit.config import tomllib
    from kaggle_kit.predict import predict

    data = _competition(tmp_path / "comp")
    result = run(_spec(data), runs_root=tmp_path / "runs", progress=None, record_history=False)
    raw = tomllib.loads((result.run_dir / "spec.toml").read_text())
    raw["data"]["sequences"] = {"train": "seq_train.csv", "test": "seq_test.csv", "order_by": "step"}
    (result.run_dir / "spec.toml").write_text(tomli_w.dumps(raw))  # as a run of a sequence competition records it
    with pytest.raises(DataError, match=r"the test long table file '.*nope.csv' does not exist; check --sequences "
                       r"FILE \(sequences= in Python\)"):  # fmt: skip
        predict(result.run_dir, data / "test.csv", sequences=tmp_path / "nope.csv", model="logreg")


@pytest.mark.slow  # a whole demo: run, every blend, the report (about 10 s)
def test_demo_exits_1_when_a_model_of_a_demo_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kaggle-kit run` exits 1 when a model failed; `kaggle-kit demo` exited 0 (its other models blended and
    submitted, as now)."""
    (tmp_path / "competitions").mkdir()
    config = build_spec(
        {
            "name": "demo-breast-cancer",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "../data/demo-breast-cancer/train.csv", "test": "../data/demo-breast-cancer/test.csv",
                     "id": "id", "target": "diagnosis"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [
                {"name": "logreg", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression",
                 "params": {"max_iter": 3000}},
                {"name": "broken", "kind": "sklearn", "estimator": "sklearn.neighbors.KNeighborsClassifier",
                 "params": {"n_neighbors": 100000}},  # valid, but more neighbours than a fold has rows
            ],
        },
        base_dir=tmp_path / "competitions",
    )  # fmt: skip
    (tmp_path / "competitions" / "demo-breast-cancer.toml").write_text(config.to_toml())
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "demo-breast-cancer", "--competitions", "competitions"]) == 1
    err = capsys.readouterr().err
    assert "failed: broken: ValueError: Expected n_neighbors <= n_samples" in err and "Traceback" not in err
    assert "failed: 1 model(s) of the demos (demo-breast-cancer: broken); see above" in err
    assert list((tmp_path / "runs" / "demo-breast-cancer" / "submissions").glob("*.csv"))  # the rest went on


def test_a_history_another_process_keeps_locked_is_said_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another command (or a database browser) holding the history past the wait: sqlite's bare
    `OperationalError: database is locked` (a traceback after every fold of a run was fitted), or, where it came on
    opening, `not a usable history database`, which sent the user to delete a sound file."""
    from kaggle_kit.report import history

    spec = _spec(_competition(tmp_path / "comp"))
    runs = tmp_path / "runs"
    result = run(spec, runs_root=runs, progress=None)
    sub = tmp_path / "sub.csv"
    record_submission(result.run_dir, "logreg", kaggle_write(result.run_dir, "logreg", sub))
    monkeypatch.setattr(history, "LOCK_TIMEOUT", 0.05)
    holder = sqlite3.connect(runs / "history.sqlite", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        locked = (r"cannot write the run history '.*history.sqlite': another process kept it locked for 0.05 s "
                  r"\(database is locked\): a kaggle-kit command writing the same runs root, or a program that holds "
                  r"it open \(a database browser\); close it and run the command again")  # fmt: skip
        with pytest.warns(StoreWarning, match=r"the run is not recorded in the run history \(" + locked):
            assert run(spec, runs_root=runs, progress=None).reused == 6  # the run itself goes on
        assert main(["lb", "add", str(sub), "0.9", "--runs-root", str(runs)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and re.search("error: " + locked, err), err
    finally:
        holder.close()
    assert main(["lb", "add", str(sub), "0.9", "--runs-root", str(runs)]) == 0  # once it is free
