"""What a run shows and how it hands out threads: the live display / plain lines / run.log, `--verbose`, the live CV,
exit codes, one-line warnings, and the per-task thread rule (1 task left on 2 free cores gets 2 threads; other load
shrinks the workers; thread-invariant families only, so the OOF never depends on the thread count)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from rich.console import Console
from sklearn.datasets import load_breast_cancer

from kaggle_kit.cli import main
from kaggle_kit.config import ModelSpec, build_spec
from kaggle_kit.errors import ConfigError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter, thread_invariant
from kaggle_kit.runtime import executors, runner
from kaggle_kit.runtime.executors import Job, Task, task_threads_now
from kaggle_kit.runtime.progress import (
    LineProgress,
    LiveProgress,
    PlainProgress,
    RunProgress,
    as_progress,
    terminal_progress,
)
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore
from kaggle_kit.runtime.threads import MachineLoad, allocate_threads

LGBM = {
    "name": "lgbm",
    "kind": "lightgbm",
    "num_boost_round": 30,
    "early_stopping_rounds": None,
    "params": {"num_leaves": 7, "min_data_in_leaf": 5},
}
XGB = {"name": "xgb", "kind": "xgboost", "num_boost_round": 15, "early_stopping_rounds": None, "params": {}}
BROKEN = {  # valid params (the check before any fit passes), but more neighbours than a fold has rows: fails at fit
    "name": "broken",
    "kind": "sklearn",
    "estimator": "sklearn.neighbors.KNeighborsClassifier",
    "params": {"n_neighbors": 100000},
}


def _competition(folder: Path, *, target_in_test: bool = False) -> None:
    """300 rows of breast cancer (6 features + a constant column), 100 test rows."""
    X, y = load_breast_cancer(return_X_y=True)
    frame = pl.DataFrame(X[:, :6], schema=[f"f{i}" for i in range(6)], orient="row").with_columns(
        pl.lit(1.0).alias("const"), pl.Series("id", np.arange(len(y))), pl.Series("target", y)
    )
    frame[:300].write_csv(folder / "train.csv")
    test = frame[300:400] if target_in_test else frame[300:400].drop("target")
    test.write_csv(folder / "test.csv")


def _raw(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "name": "progress",
        "task": "binary",
        "metric": "roc_auc",
        "device": "cpu",
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "target"},
        "folds": {"n_splits": 3},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "models": [LGBM],
    }
    raw.update(over)
    return raw


def _config(folder: Path, *, target_in_test: bool = False, **over: object) -> Path:
    _competition(folder, target_in_test=target_in_test)
    path = folder / "spec.toml"
    path.write_text(build_spec(_raw(**over), base_dir=folder).to_toml())
    return path


def _fold_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if " repeat 0 fold " in line]


# --------------------------------------------------------------------------------------------- the thread rule
@pytest.mark.parametrize(
    ("free", "slots", "running", "waiting", "fixed", "threads"),
    [
        (2, 2, [], 10, None, 1),  # a full queue: the cores shared out
        (2, 2, [1], 9, None, 1),
        (2, 2, [], 1, None, 2),  # 1 task left on a 2-core budget: both cores
        (2, 2, [1], 1, None, 1),  # the last task while another still runs: what that one leaves
        (2, 2, [1, 1], 5, None, None),  # every worker busy: wait
        (2, 2, [2], 3, None, None),  # every core taken: wait
        (1, 1, [1], 3, None, None),  # other load left one core: one task at a time (the workers shrink)
        (16, 4, [], 2, None, 8),
        (16, 4, [4, 4], 5, None, 4),
        (2, 2, [], 1, 1, 1),  # a family that keeps its count gets it, even alone
        (2, 2, [1], 3, 2, None),  # ... and waits until that many cores are free
        (1, 1, [], 3, 2, 2),  # nothing running: it starts anyway (a busy machine never stalls a run)
        (0, 0, [], 1, None, 1),  # never fewer than one thread
    ],
)
def test_allocate_threads(
    free: int, slots: int, running: list[int], waiting: int, fixed: int | None, threads: int | None
) -> None:
    assert allocate_threads(free, slots, running, waiting, fixed) == threads


def _job(threads: int, jobs: int, *, adaptive: bool = True) -> Job:
    class _Ctx:  # only .threads is read by the rule
        pass

    ctx = _Ctx()
    ctx.threads = threads  # type: ignore[attr-defined]
    return Job(ctx, in_memory=False, jobs=jobs, adaptive_threads=adaptive)  # type: ignore[arg-type]


def _task(kind: str) -> Task:
    extra = {"estimator": "sklearn.linear_model.Ridge"} if kind == "sklearn" else {}
    return Task(ModelSpec(name="m", kind=kind, **extra), "k", 0, 0)


@pytest.mark.parametrize(
    ("kind", "others", "running", "waiting", "threads"),
    [
        ("lightgbm", 0.0, [], 1, 2),  # idle machine, the last task: both cores
        ("xgboost", 0.0, [], 1, 1),  # XGBoost's predictions change with the thread count: it keeps 1
        ("mlp", 0.0, [], 1, 1),  # so do torch nets
        ("sklearn", 0.0, [], 1, 1),
        ("lightgbm", 1.0, [1], 3, None),  # another process busy on one core: one worker runs, not two
        ("lightgbm", 1.0, [], 3, 1),
    ],
)
def test_task_threads_now_reads_the_load_and_keeps_sensitive_families_fixed(
    monkeypatch: pytest.MonkeyPatch, kind: str, others: float, running: list[int], waiting: int, threads: int | None
) -> None:
    seen: list[tuple[int, ...]] = []

    def load(workers: tuple[int, ...] = (), *, wait: bool = True) -> MachineLoad:
        seen.append(tuple(workers))
        return MachineLoad(cores=2, load=others + 0.3, own=0.3)

    monkeypatch.setattr(executors, "machine_load", load)
    assert task_threads_now(_task(kind), _job(1, 2), running, waiting, workers=[11, 12]) == threads
    assert seen == [(11, 12)]  # the pool's workers are this run's load, not other processes'
    assert task_threads_now(_task("lightgbm"), _job(1, 2, adaptive=False), [], 1) == 1  # run.threads_per_task


def _invariant_kinds() -> list[str]:
    from kaggle_kit.models import ADAPTERS

    extra = {"sklearn": {"estimator": "sklearn.linear_model.Ridge"}}
    kinds = []
    for kind in ADAPTERS:
        try:
            if thread_invariant(ModelSpec(name="m", kind=kind, **extra.get(kind, {}))):
                kinds.append(kind)
        except ConfigError:  # a kind that needs params to be built (the image / sequence / hybrid nets)
            assert kind in ("cnn", "rnn", "cnn1d", "hybrid"), kind
    assert {"lightgbm", "dummy"} <= set(kinds) and "xgboost" not in kinds and "mlp" not in kinds
    return sorted(kinds)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("kind", _invariant_kinds())
def test_thread_invariant_families_predict_the_same_at_1_and_2_threads(kind: str, task: str) -> None:
    """The families the rule gives more threads must not change their predictions (else a fold's OOF would depend
    on when it ran); checked on their adapters as the runner calls them."""
    rng = np.random.default_rng(0)
    n = 2500
    X = rng.normal(size=(n, 20)).astype(np.float32)
    signal = X[:, :4].sum(axis=1) + rng.normal(size=n)
    y: np.ndarray
    if task == "binary":
        y, n_classes, metric = (signal > 0).astype(np.int64), 2, get_metric("roc_auc")
    elif task == "multiclass":
        y, n_classes, metric = np.digitize(signal, [-1, 1]).astype(np.int64), 3, get_metric("log_loss")
    else:
        y, n_classes, metric = signal, 0, get_metric("rmse")
    names = tuple(f"f{i}" for i in range(20))
    train, valid = FeatureMatrix(X[:2000], names, ()), FeatureMatrix(X[2000:], names, ())
    spec = ModelSpec(name="m", kind=kind, num_boost_round=25, params={"num_leaves": 15} if kind == "lightgbm" else {})
    preds = []
    for threads in (1, 2):
        adapter = make_adapter(spec)
        ctx = FitContext(task, n_classes, metric, 0, "cpu", threads)
        preds.append(adapter.predict(adapter.fit(train, y[:2000], valid, y[2000:], ctx), valid, ctx))
    assert preds[0].tobytes() == preds[1].tobytes()


def test_the_last_task_gets_the_free_cores_and_the_oof_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool of 2 on a 2-core budget while another process keeps a core busy: one task at a time, on 1 thread. The
    load drops once lgbm's 2nd fold is stored: the last task is then alone and gets 2 threads (result.json says so),
    and the OOF equals a 1-thread sequential run's byte for byte."""
    config = _config(tmp_path)
    spec = build_spec(_raw(), base_dir=tmp_path)
    reference = run(spec, runs_root=tmp_path / "seq", progress=None, record_history=False)
    store = RunStore(tmp_path / "pool" / spec.run_name)

    def load(workers: tuple[int, ...] = (), *, wait: bool = True) -> MachineLoad:
        busy = not list(store.root.glob("models/lgbm/*/folds/r0_f1/result.json"))
        return MachineLoad(cores=2, load=1.0 if busy else 0.0, own=0.0)

    monkeypatch.setattr(executors, "machine_load", load)
    monkeypatch.setattr(runner, "machine_load", load)
    adaptive = spec.model_copy(update={"run": spec.run.model_copy(update={"n_jobs": 2, "threads_per_task": 0})})
    result = run(adaptive, runs_root=tmp_path / "pool", only=["lgbm"], progress=None, record_history=False)
    assert config.is_file() and result.fitted == 6
    key = result.models[1].key
    threads = {k: store.finished("lgbm", key, 0, k).threads for k in range(3)}  # type: ignore[union-attr]
    assert threads == {0: 1, 1: 1, 2: 2}  # folds 1-2 under load; fold 3 alone on an idle machine
    oof = store.read_predictions("lgbm", "oof").drop("id").to_numpy()
    assert oof.tobytes() == RunStore(reference.run_dir).read_predictions("lgbm", "oof").drop("id").to_numpy().tobytes()


# --------------------------------------------------------------------------------------------- what a run shows
class Events(RunProgress):
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def start(self, planned: int, deadline: float | None = None) -> None:
        self.events.append(("start", planned))

    def task_started(self, task: Task, threads: int) -> None:
        self.events.append(("started", (task.model.name, task.repeat, task.fold, threads)))

    def task_done(self, task: Task, result: object, line: str) -> None:
        self.events.append(("done", (task.model.name, task.repeat, task.fold)))

    def model_done(self, model: str, cv: float | None, error: str | None) -> None:
        self.events.append(("model", (model, cv, error)))

    def close(self) -> None:
        self.events.append(("close", None))


def test_events_and_the_live_cv_equal_the_leaderboard(tmp_path: Path) -> None:
    _competition(tmp_path)
    spec = build_spec(_raw(folds={"n_splits": 3, "n_repeats": 2}, models=[LGBM, BROKEN]), base_dir=tmp_path)
    events = Events()
    result = run(spec, runs_root=tmp_path / "runs", progress=events, record_history=False)
    kinds = [e for e, _ in events.events]
    assert kinds[0] == "start" and kinds[-1] == "close" and events.events[0][1] == 18  # 3 models x 3 folds x 2
    assert kinds.count("done") == 12 and kinds.count("started") == 13  # broken: its first fold fails, rest skipped
    models = {m: (cv, err) for e, (m, cv, err) in [ev for ev in events.events if ev[0] == "model"]}  # type: ignore[misc]
    board = {m.name: m for m in result.models}
    for name in ("baseline", "lgbm"):  # the CV shown live is the leaderboard's, repeats averaged alike
        assert models[name] == (board[name].cv, None)
    assert models["broken"][0] is None and "n_neighbors" in models["broken"][1]  # type: ignore[operator]


def test_plain_and_live_displays(tmp_path: Path) -> None:
    _competition(tmp_path)
    spec = build_spec(_raw(), base_dir=tmp_path)
    out = io.StringIO()
    run(spec, runs_root=tmp_path / "a", progress=PlainProgress(out), record_history=False)
    text = out.getvalue()
    assert "\x1b" not in text and _fold_lines(text) == []
    assert [line.split()[0] for line in text.splitlines()[1:]] == ["baseline", "lgbm"]  # a line per model
    assert "CV roc_auc 0." in text and "6/6 task(s) done" in text

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    live = terminal_progress(tty, verbose=True)
    assert isinstance(live, LiveProgress) and isinstance(terminal_progress(io.StringIO()), PlainProgress)
    assert isinstance(as_progress("auto"), PlainProgress)  # run()'s default; pytest's stdout is not a terminal
    assert type(as_progress(None)) is RunProgress and isinstance(as_progress([].append), LineProgress)
    with pytest.raises(TypeError, match="progress must be a RunProgress, a callable taking a line, 'auto' or None"):
        as_progress(3)  # type: ignore[arg-type]
    run(spec, runs_root=tmp_path / "b", progress=live, record_history=False)
    shown = tty.getvalue()
    assert len(_fold_lines(shown)) == 6 and "lgbm           CV roc_auc" in shown and "6/6 task(s) done" in shown
    screen = Tty()
    fresh = LiveProgress(screen, metric=get_metric("roc_auc"))
    fresh.start(10, deadline=time.monotonic() + 125)
    fresh.model_done("lgbm", 0.9, None)
    fresh.model_done("xgb", 0.8, None)  # worse: the best stays lgbm
    # a time limit's probe or sizing fold: its folds of the wave are in, the model is not whole
    assert fresh.model_line("cat", None, None).startswith("cat            fold(s) measured, not whole yet  [")
    fresh.task_started(Task(ModelSpec(name="xgb", kind="xgboost"), "k", 0, 2), 2)
    buffer = io.StringIO()
    Console(file=buffer, width=120, color_system=None).print(fresh._render())
    fresh.close()
    assert "0/10 task(s) done, 10 not run, elapsed 0:00, 2:0" in screen.getvalue()  # the closing line
    frame = buffer.getvalue()
    assert "0/10 task(s) done" in frame and "2:0" in frame and "left" in frame  # the time limit's countdown
    assert "best CV" in frame and "lgbm  roc_auc 0.90000" in frame and "xgb fold 3 (2t)" in frame


# --------------------------------------------------------------------------------------------- the command line
def test_cli_plain_lines_run_log_exit_code_and_warnings(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Not a terminal, a pool of 2: a line per model, the folds in run.log only; a failed model makes the command
    exit 1 with one line naming it and the log, the finished results kept; warnings from the parent (test file) and
    from the workers (a constant column standardised) print as `warning: ...` lines, without source lines."""
    pipelines = {"scaled": {"steps": [{"step": "standardize", "columns": "numeric"}]}}
    models = [{**LGBM, "pipeline": "scaled"}, BROKEN]
    config = _config(tmp_path, target_in_test=True, models=models, pipelines=pipelines, run={"n_jobs": 2})
    runs = tmp_path / "runs"
    assert main(["run", str(config), "--runs-root", str(runs)]) == 1
    out, err = capfd.readouterr()
    assert _fold_lines(out) == [] and "Traceback" not in out + err and "\x1b" not in out
    assert "lgbm           CV roc_auc" in out and "broken         FAILED: ValueError" in out
    log = runs / "progress" / "run.log"
    assert "failed: broken: ValueError: Expected n_neighbors <= n_samples_fit" in err and f"(full log: {log})" in err
    assert err.count("failed: ") == 1
    assert "warning: test has the target column 'target'; it is ignored" in err
    assert "warning: column 'const' is constant in the training rows; standardize makes it 0" in err
    assert "Warning:" not in err and ".py:" not in err  # no category, no source file and line
    text = log.read_text()
    assert len([line for line in _fold_lines(text) if "lgbm" in line]) == 3 and "Traceback" in text
    board = {m["name"]: m for m in _summaries(runs / "progress")}
    assert board["lgbm"]["status"] == "ok" and board["broken"]["status"] == "failed"  # finished results kept

    assert main(["run", str(config), "--runs-root", str(runs), "--only", "lgbm", "--verbose"]) == 0  # all reused
    out, _ = capfd.readouterr()
    assert "reusing 6 finished fold(s)" in out


def test_cli_verbose_prints_every_fold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert len(_fold_lines(out)) == 6 and "lgbm           repeat 0 fold 3/3  roc_auc" in out
    log = (tmp_path / "runs" / "progress" / "run.log").read_text()
    assert len(_fold_lines(log)) == 6
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs")]) == 0  # the log is appended to
    assert (tmp_path / "runs" / "progress" / "run.log").read_text().startswith(log)


def _summaries(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in run_dir.glob("models/*/*/summary.json")]
