"""Faults a run survives.

* SIGKILL at five named points (``KAGGLE_KIT_FAULT``, see :mod:`kaggle_kit.runtime.faults`: deterministic, not timed)
  and
  once in a parallel run: no finished fold is lost, nothing half-written is trusted, no worker lingers, and the
  resumed run's OOF equals an uninterrupted run's.
* Stale temporary fold folders are removed; a fold whose file fails its checksum is refitted with a warning naming
  the file; a corrupted assembled prediction file is a clear error in blends and reports.
* A net whose loss becomes NaN stops at once and fails only its model; NaN / infinite predictions fail the model.
* A full disk: refused before training, and a fold write that hits ENOSPC leaves nothing in place.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections import namedtuple
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import demo_spec

from kaggle_kit.config import CompetitionSpec, build_spec, load_spec
from kaggle_kit.demo import make_demo
from kaggle_kit.errors import StoreError
from kaggle_kit.runtime.faults import Fault, parse_fault
from kaggle_kit.runtime.runner import RunResult, run
from kaggle_kit.runtime.store import RunStore, StoreWarning

MODELS = [
    {
        "name": "xgb",
        "kind": "xgboost",
        "num_boost_round": 15,
        "early_stopping_rounds": None,
        "params": {"learning_rate": 0.3, "max_depth": 2},
    },
    {"name": "mlp", "kind": "mlp", "params": {"hidden": [8], "epochs": 3, "patience": 0, "batch_size": 128}},
]
NAMES = ("baseline", "xgb", "mlp")
N_FOLDS = 5
N_TASKS = len(NAMES) * N_FOLDS  # fitted in this order: baseline folds 1-5, xgb folds 1-5, mlp folds 1-5

Reference = namedtuple("Reference", "spec oof")


@pytest.fixture(scope="module")
def reference(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """An uninterrupted run, once per module: the OOF every resumed run must reproduce exactly."""
    spec = demo_spec(
        "demo-breast-cancer", demo_data, models=MODELS, pipelines={}, run={"n_jobs": 1, "threads_per_task": 1}
    )
    result = run(spec, runs_root=tmp_path_factory.mktemp("clean"), progress=None, record_history=False)
    return Reference(spec, {name: _oof(result.run_dir, name) for name in NAMES})


def _oof(run_dir: Path, name: str) -> np.ndarray:
    return RunStore(run_dir).read_predictions(name, "oof").drop("id").to_numpy()


def _fold_dirs(run_dir: Path) -> dict[Path, int]:
    """Fold folders in place (hidden temporary folders excluded) -> their result.json's mtime."""
    paths = run_dir.glob("models/*/*/folds/*/result.json")
    return {p.parent: p.stat().st_mtime_ns for p in paths if not p.parent.name.startswith(".")}


def _temps(run_dir: Path) -> list[Path]:
    return [p for p in run_dir.rglob(".*.tmp")]


def _killed_run(spec: CompetitionSpec, tmp_path: Path, fault: str, *, jobs: int = 1) -> tuple[Path, Path, str]:
    """Run the CLI in a subprocess with ``KAGGLE_KIT_FAULT=fault``; it must die of SIGKILL. Returns the config path,
    the runs root and a tag set in the environment of the run and every process it starts."""
    config = tmp_path / "spec.toml"
    config.write_text(spec.model_copy(update={"run": spec.run.model_copy(update={"n_jobs": jobs})}).to_toml())
    runs = tmp_path / "runs"
    tag = uuid.uuid4().hex
    env = {**os.environ, "KAGGLE_KIT_FAULT": fault, "KAGGLE_KIT_TEST_TAG": tag}
    stderr = tmp_path / "stderr.txt"  # a file, not a pipe: a lingering worker holding it open cannot hang the test
    with open(stderr, "wb") as err:
        proc = subprocess.run(
            [sys.executable, "-m", "kaggle_kit.cli", "run", str(config), "--runs-root", str(runs)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            timeout=120,
        )
    assert proc.returncode == -signal.SIGKILL, f"not killed at {fault}: {stderr.read_text()[-3000:]}"
    return config, runs, tag


def _check_after_kill(run_dir: Path) -> dict[Path, int]:
    """Every fold folder in place verifies against its checksums; returns them (with their mtimes)."""
    store = RunStore(run_dir)
    done = _fold_dirs(run_dir)
    for folder in done:
        key = folder.parents[1].name
        name = folder.parents[2].name
        repeat, fold = (int(x[1:]) for x in folder.name.split("_"))
        with warnings.catch_warnings():
            warnings.simplefilter("error", StoreWarning)
            assert store.finished(name, key, repeat, fold) is not None, folder
    return done


def _resume(config: Path, runs: Path, before: dict[Path, int], reference: Reference) -> RunResult:
    """Rerun to completion: exactly the finished folds are reused, untouched, and the OOF equals the reference."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreWarning)  # nothing a killed run left is corrupt, only unfinished
        resumed = run(load_spec(config), runs_root=runs, n_jobs=1, progress=None, record_history=False)
    assert (resumed.reused, resumed.fitted) == (len(before), N_TASKS - len(before))
    after = _fold_dirs(resumed.run_dir)
    assert {p: after[p] for p in before} == before  # finished folds untouched
    assert len(after) == N_TASKS
    assert _temps(resumed.run_dir) == []  # what the killed write left is gone
    assert all(m.status == "ok" for m in resumed.models)
    for name in NAMES:
        np.testing.assert_array_equal(_oof(resumed.run_dir, name), reference.oof[name])
    return resumed


def test_fault_spec_parses_and_rejects_bad_text() -> None:
    assert parse_fault("epoch:3") == Fault("epoch", 3, "self")
    assert parse_fault("write:run.json:2") == Fault("write:run.json", 2, "self")
    assert parse_fault("fold-renamed:1:parent") == Fault("fold-renamed", 1, "parent")
    assert parse_fault("epoch:1:hang") == Fault("epoch", 1, "hang")
    for bad in ("epoch", "epoch:0", "epoch:x", ":2"):
        with pytest.raises(ValueError, match="KAGGLE_KIT_FAULT"):
            parse_fault(bad)


# ------------------------------------------------------------------------------------------------ SIGKILL
@pytest.mark.parametrize(
    ("fault", "n_finished"),
    [
        ("write:folds.parquet:1", 0),  # while the folds file is written: nothing fitted yet
        ("fold-files:4", 3),  # baseline fold 4's files are in its temporary folder, not renamed
        ("fold-renamed:7", 7),  # right after xgb fold 2's rename
        ("epoch:5", 11),  # mid-training: the mlp's 2nd epoch of fold 2 (3 epochs a fold; its fold 1 done)
        ("write:oof.parquet:2", N_TASKS),  # at the end: every fold done, xgb's OOF file being written
    ],
)
def test_sigkill_at_a_point_then_resume(reference: Reference, tmp_path: Path, fault: str, n_finished: int) -> None:
    config, runs, _ = _killed_run(reference.spec, tmp_path, fault)
    run_dir = runs / reference.spec.run_name
    before = _check_after_kill(run_dir)
    assert len(before) == n_finished
    if fault.startswith("fold-files"):  # a whole fold's files, result.json included, under the temporary name
        (stale,) = run_dir.glob("models/baseline/*/folds/.r0_f3.*.tmp")
        assert (stale / "result.json").is_file()
    if fault.startswith("write:folds"):
        assert not (run_dir / "folds.parquet").exists()
        assert list(run_dir.glob(".folds.parquet.*.tmp"))  # the half-written file, under its temporary name
    _resume(config, runs, before, reference)


def _tagged_processes(tag: str) -> list[int]:
    """Live processes (not zombies) whose environment holds ``KAGGLE_KIT_TEST_TAG=tag``."""
    found = []
    needle = f"KAGGLE_KIT_TEST_TAG={tag}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers through /proc")
def test_sigkill_parent_of_a_parallel_run(reference: Reference, tmp_path: Path) -> None:
    """Two worker processes; the parent is killed right after a worker publishes its 2nd fold. The workers must
    not outlive it, and the rerun resumes from what was finished."""
    config, runs, tag = _killed_run(reference.spec, tmp_path, "fold-renamed:2:parent", jobs=2)
    deadline = time.monotonic() + 15
    while _tagged_processes(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    lingering = _tagged_processes(tag)
    for pid in lingering:  # this test started them: do not leave them behind when it fails
        os.kill(pid, signal.SIGKILL)
    assert lingering == [], "worker processes outlived the killed run"
    run_dir = runs / reference.spec.run_name
    before = _check_after_kill(run_dir)
    assert 2 <= len(before) < N_TASKS
    _resume(config, runs, before, reference)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers through /proc")
def test_ctrl_c_stops_a_parallel_run_keeps_its_folds_and_resumes(reference: Reference, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during a run on a pool of 2 whose net folds
    never end (each worker hangs in its first epoch), once the baseline and xgb folds are stored: exit 130 within
    seconds (not after the running folds), no worker left, no traceback, nothing recorded as failed, every stored
    fold intact; the rerun reuses exactly those folds and its OOF equals an uninterrupted run's."""
    config = tmp_path / "spec.toml"
    spec = reference.spec
    config.write_text(spec.model_copy(update={"run": spec.run.model_copy(update={"n_jobs": 2})}).to_toml())
    runs = tmp_path / "runs"
    run_dir = runs / spec.run_name
    tag = uuid.uuid4().hex
    stderr = tmp_path / "stderr.txt"
    with open(stderr, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kaggle_kit.cli", "run", str(config), "--runs-root", str(runs)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "KAGGLE_KIT_TEST_TAG": tag, "KAGGLE_KIT_FAULT": "epoch:1:hang"},
            start_new_session=True,  # its own process group: the SIGINT below reaches the run and its workers only
            # as from a terminal: a test runner started in the background (CI) has SIGINT ignored, which a child
            # would inherit and keep (as under nohup), so the run would never see the Ctrl-C below
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + 120
        while len(_fold_dirs(run_dir)) < 2 * N_FOLDS:  # baseline and xgb: then both workers take a net fold
            assert proc.poll() is None, stderr.read_text()[-3000:]
            assert time.monotonic() < deadline, "the baseline and xgb folds were not stored"
            time.sleep(0.02)
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)
        sent = time.monotonic()
        assert proc.wait(timeout=20) == 130, stderr.read_text()[-3000:]
        assert time.monotonic() - sent < 10
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while _tagged_processes(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    lingering = _tagged_processes(tag)
    for pid in lingering:
        os.kill(pid, signal.SIGKILL)
    assert lingering == [], "worker processes outlived the interrupted run"
    text = stderr.read_text()
    assert (
        "interrupted: finished folds are kept" in text and "Traceback" not in text and "KeyboardInterrupt" not in text
    )
    before = _check_after_kill(run_dir)
    assert len(before) == 2 * N_FOLDS
    assert not list(run_dir.glob("models/*/*/summary.json"))  # nothing assembled, nothing recorded as failed
    log = (run_dir / "run.log").read_text()
    assert "FAILED" not in log and "KeyboardInterrupt" not in log and "interrupted" in log
    _resume(config, runs, before, reference)


# ----------------------------------------------------------------------------------------- corrupted / stale files
FAST = [MODELS[0]]  # baseline + xgb: 10 folds in a second or two
FastRun = tuple[CompetitionSpec, RunResult]


@pytest.fixture
def fast_run(demo_data: Path, tmp_path: Path) -> FastRun:
    spec = demo_spec(
        "demo-breast-cancer", demo_data, models=FAST, pipelines={}, run={"n_jobs": 1, "threads_per_task": 1}
    )
    return spec, run(spec, runs_root=tmp_path, progress=None, record_history=False)


def _flip_byte(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    ("fname", "damage"),
    [("valid.npy", _flip_byte), ("test.npy", _truncate), ("model.ubj", _flip_byte), ("result.json", _truncate)],
)
def test_a_corrupted_fold_is_refitted_with_a_warning_and_the_rest_reused(
    fast_run: FastRun, tmp_path: Path, fname: str, damage: Callable[[Path], None]
) -> None:
    spec, first = fast_run
    oof = _oof(first.run_dir, "xgb")
    (folder,) = first.run_dir.glob("models/xgb/*/folds/r0_f1")
    damage(folder / fname)
    with pytest.warns(StoreWarning, match=rf"{folder / fname}.*(checksum|corrupted).*'xgb' repeat 0 fold 2.*refitted"):
        again = run(spec, runs_root=tmp_path, progress=None, record_history=False)
    assert (again.reused, again.fitted) == (9, 1)
    assert RunStore(again.run_dir).finished("xgb", again.models[1].key, 0, 1) is not None
    np.testing.assert_array_equal(_oof(again.run_dir, "xgb"), oof)
    assert _temps(again.run_dir) == []  # the corrupted folder was taken out, not left aside


def test_stale_temporary_folders_are_removed_and_never_count(fast_run: FastRun, tmp_path: Path) -> None:
    spec, first = fast_run
    folds_dir = next(first.run_dir.glob("models/xgb/*/folds"))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # a process that has exited: its temporary folders are stale
    (folds_dir / "r0_f4").rename(folds_dir / f".r0_f4.{dead_pid}.abcd1234.tmp")  # a whole fold, never renamed
    live = folds_dir / f".r0_f3.{os.getpid()}.live0000.tmp"  # a write still in progress in a live process
    live.mkdir()
    again = run(spec, runs_root=tmp_path, progress=None, record_history=False)
    assert (again.reused, again.fitted) == (9, 1)  # the temporary folder did not count as finished
    assert sorted(p.name for p in folds_dir.iterdir()) == [live.name] + [f"r0_f{k}" for k in range(5)]
    live.rmdir()


@pytest.mark.parametrize("damage", [_flip_byte, _truncate])
@pytest.mark.parametrize("command", ["blend", "report"])
def test_a_corrupted_prediction_file_is_a_clear_error_in_blend_and_report(
    fast_run: FastRun, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, damage: Callable[[Path], None]
) -> None:
    from kaggle_kit.cli import main

    spec, first = fast_run
    oof = _oof(first.run_dir, "xgb")
    (path,) = first.run_dir.glob("models/xgb/*/oof.parquet")
    damage(path)
    argv = [command, str(first.run_dir)] + (["--method", "mean"] if command == "blend" else ["--no-adversarial"])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "rerun `kaggle-kit run`" in err and "Traceback" not in err
    again = run(spec, runs_root=tmp_path, progress=None, record_history=False)  # the fix the message gives
    assert (again.reused, again.fitted) == (10, 0)
    np.testing.assert_array_equal(_oof(again.run_dir, "xgb"), oof)


def test_a_prediction_file_without_a_checksum_still_fails_clearly(fast_run: FastRun) -> None:
    _, first = fast_run
    (path,) = first.run_dir.glob("models/xgb/*/oof.parquet")
    (path.parent / "checksums.json").unlink()  # a run folder written before checksums.json existed
    _truncate(path)
    with pytest.raises(StoreError, match=rf"{path} is not a readable parquet file.*rerun `kaggle-kit run`"):
        RunStore(first.run_dir).read_predictions("xgb", "oof")


# ------------------------------------------------------------------------------------------------ diverging models
@pytest.fixture(scope="module")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The diabetes regression demo, its test file holding one out-of-range value (3e38: finite in float32, but a
    linear model's prediction for that row overflows to infinity)."""
    root = tmp_path_factory.mktemp("diabetes")
    make_demo("demo-diabetes", root)
    folder = root / "demo-diabetes"
    test = pl.read_csv(folder / "test.csv")
    huge = pl.when(pl.int_range(pl.len()) == 3).then(3e38).otherwise(pl.col("bmi")).alias("bmi")
    test.with_columns(huge).write_csv(folder / "test_huge.csv")
    return folder


def test_a_diverging_net_and_nan_predictions_fail_their_models_only(diabetes: Path, tmp_path: Path) -> None:
    raw = {
        "name": "diverge",
        "task": "regression",
        "metric": "rmse",
        "seed": 0,
        "data": {"train": "train.csv", "test": "test_huge.csv", "id": "id", "target": "progression"},
        "folds": {"strategy": "kfold", "n_splits": 3},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "models": [
            {"name": "boom", "kind": "mlp", "params": {"hidden": [8], "epochs": 200, "lr": 1e6, "optimizer": "sgd"}},
            {"name": "linear", "kind": "sklearn", "estimator": "sklearn.linear_model.LinearRegression"},
            {"name": "xgb", "kind": "xgboost", "num_boost_round": 10, "params": {"max_depth": 2}},
        ],
    }
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow warning in LinearRegression.predict
        result = run(build_spec(raw, base_dir=diabetes), runs_root=tmp_path, progress=None, record_history=False)
    assert time.perf_counter() - start < 60  # 200 epochs x 3 folds would take far longer: it stopped at once
    rows = {m.name: m for m in result.models}
    assert (rows["baseline"].status, rows["xgb"].status) == ("ok", "ok")
    assert np.isfinite(rows["xgb"].cv)
    boom = rows["boom"]
    assert boom.status == "failed" and boom.error is not None
    assert boom.error.startswith("TrainingDiverged: model 'boom' repeat 0 fold 1: training diverged")
    assert "at epoch 1 of 200" in boom.error or "at epoch 2 of 200" in boom.error
    for hint in ("lower params.lr (now 1e+06)", "params.clip_grad_norm", "infinite or huge values"):
        assert hint in boom.error
    linear = rows["linear"]
    assert linear.status == "failed" and linear.error is not None
    assert linear.error.startswith(
        "FloatingPointError: model 'linear' repeat 0 fold 1 produced 1 NaN or infinite test prediction value(s)"
    )
    assert not list(result.run_dir.glob("models/boom/*/folds/*")) and not list(
        result.run_dir.glob("models/linear/*/*/*")
    )
    assert "FAILED" in result.leaderboard() and "TrainingDiverged" in result.leaderboard()


def test_the_trainer_stops_at_the_first_epoch_whose_loss_is_not_finite() -> None:
    torch = pytest.importorskip("torch")
    from kaggle_kit.models.nn.batches import Batches
    from kaggle_kit.models.nn.callbacks import Callback, TrainState
    from kaggle_kit.models.nn.device import plan_device
    from kaggle_kit.models.nn.trainer import Trainer, TrainingDiverged

    class Epochs(Callback):
        def __init__(self) -> None:
            self.begun = 0

        def on_epoch_begin(self, state: TrainState) -> None:
            self.begun += 1

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    y = (X.sum(axis=1, keepdims=True) * 1e4).astype(np.float32)  # a target with large values, not standardised
    plan = plan_device("cpu")
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    epochs = Epochs()
    params = {"epochs": 100, "lr": 1e6, "optimizer": "sgd", "schedule": "constant"}
    trainer = Trainer(module, loss_fn=torch.nn.MSELoss(), params=params, plan=plan, callbacks=[epochs])
    with pytest.raises(TrainingDiverged, match=r"the training loss is (nan|inf) at epoch \d of 100; lower params.lr"):
        trainer.fit(Batches([X, y], batch_size=16, plan=plan))
    assert epochs.begun <= 3


# ------------------------------------------------------------------------------------------------ disk full
def test_a_nearly_full_disk_is_refused_before_training(
    fast_run: FastRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    spec, _ = fast_run
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage._replace(free=12_345))
    root = tmp_path / "elsewhere"
    with pytest.raises(StoreError, match=rf"'{root / spec.run_name}' has only 12,345 bytes free.*free some space"):
        run(spec, runs_root=root, progress=None, record_history=False)
    assert not (root / spec.run_name / "folds.parquet").exists()  # refused before anything was written


def test_enospc_while_writing_a_fold_keeps_nothing_of_it(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    spec = demo_spec(
        "demo-breast-cancer", demo_data, models=FAST, pipelines={}, run={"n_jobs": 1, "threads_per_task": 1}
    )
    real = Path.write_bytes

    def full_disk(self: Path, data: bytes) -> int:
        if self.parent.name.startswith(".r0_f2.") and self.name == "test.npy":  # baseline fold 3, 2nd file
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(StoreError, match=r"cannot write fold r0_f2 of model 'baseline' .*No space left on device"):
        run(spec, runs_root=tmp_path, progress=None, record_history=False)
    run_dir = tmp_path / spec.run_name
    assert sorted(p.name for p in run_dir.glob("models/baseline/*/folds/*")) == ["r0_f0", "r0_f1"]  # no temp left
    monkeypatch.undo()
    again = run(spec, runs_root=tmp_path, progress=None, record_history=False)
    assert (again.reused, again.fitted) == (2, 8)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies are read from /proc")
def test_a_temp_of_an_exited_but_unreaped_writer_is_stale(tmp_path: Path) -> None:
    """A killed run's workers may linger as zombies (a container's first process that never reaps orphans): they
    still answer kill(pid, 0) but write nothing, so their temporary folders are stale."""
    from kaggle_kit.runtime.store import remove_stale_temps

    child = subprocess.Popen([sys.executable, "-c", "pass"])  # exits at once; not waited for: a zombie
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.05)
        stale = tmp_path / f".r0_f1.{child.pid}.abc123.tmp"
        live = tmp_path / f".r0_f2.{os.getpid()}.def456.tmp"
        stale.mkdir()
        live.mkdir()
        assert remove_stale_temps(tmp_path) == [stale]
        assert live.is_dir() and not stale.exists()
    finally:
        child.wait()


def test_a_ctrl_c_while_a_task_is_submitted_is_raised_after_not_lost() -> None:
    """A Ctrl-C that lands while a task is handed to a full pool must still stop the run: seen lost once (SIGINT was
    ignored for every submission), the run then waited on its hanging folds forever."""
    from kaggle_kit.runtime.executors import _sigint_deferred

    # a test runner started in the background (CI) inherits SIGINT ignored: set Python's own handler for this test
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), _sigint_deferred(spawning=False):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # remembered, not raised, while the task is submitted
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with _sigint_deferred(spawning=True):  # a worker may start: ignored, so that it inherits SIGINT ignored
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)
