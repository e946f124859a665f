"""A run's own local Ray lives from its first task to its end: one start for every call of the executor (a time
limit's waves, the pseudo-labelling rounds). Apart from tests/test_executors.py, whose module-wide Ray would be the
one a run finds already up."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from test_executors import _spec

from kaggle_kit.metrics import get_metric
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.runtime.executors import Context, Job, Task, run_tasks
from kaggle_kit.runtime.runner import RunSession, resolve_folds, run
from kaggle_kit.runtime.store import FoldResult, RunStore


@pytest.mark.slow  # a Ray of its own (test-fast leaves Ray out: tests/test_executors.py)
def test_a_run_starts_its_local_ray_once_and_shuts_it_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each call of the executor had started a local Ray and shut it down (seconds a wave on 2 cores)."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray is up in this process already: the run would use it")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    starts: list[object] = []
    real = ray.init

    def counted(*args: object, **kwargs: object) -> object:
        starts.append(kwargs.get("address"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ray, "init", counted)
    spec = _spec(tmp_path, pseudo_label={"source": "xgb", "threshold": 0.9})  # the folds, then the pseudo round's
    result = run(spec, runs_root=tmp_path / "runs", executor="ray", progress=None, record_history=False)
    assert {m.name: m.status for m in result.models} == {"baseline": "ok", "xgb": "ok", "xgb@pl1": "ok"}
    assert starts == ["local"]
    assert not ray.is_initialized()  # shut down when the run ended
    again = run(spec, runs_root=tmp_path / "runs", executor="ray", progress=None, record_history=False)
    assert again.fitted == 0 and starts == ["local"]  # every fold reused, the pseudo round's too: no Ray started


def _stalled_fit(ctx: Context, task: Task) -> FoldResult:
    """A fold that would take a minute; it says where its scratch store is (the competition's folder)."""
    (Path(ctx.spec.base_dir) / f"scratch{task.fold}.txt").write_text(str(ctx.store.root))
    time.sleep(60)
    raise AssertionError("not stopped at its limit")


@pytest.mark.slow  # a Ray of its own
def test_a_ray_task_cancelled_at_its_limit_leaves_no_scratch_store(tmp_path: Path) -> None:
    """A task cancelled at its limit ends with its worker, whose clean-up never runs: each left its scratch store
    (/tmp/kaggle-kit-fold-*: a fold's files half-written, or a copy of the image cache) for good."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray is up in this process already: run_on_ray would not shut it down")
    spec = _spec(tmp_path)
    data = load_competition(spec)
    folds = resolve_folds(spec, data)
    store = RunStore(tmp_path / "run")
    store.save_folds(folds, data.train_ids)
    tasks = [Task(spec.models[0], "k", 0, k, max_seconds=10.0) for k in (0, 1)]  # a worker starts in seconds
    ctx = Context(spec, data, folds, store, get_metric(spec.metric), "cpu", threads=1)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        outcomes = run_tasks(tasks, Job(ctx, in_memory=False, jobs=2, executor="ray"), _stalled_fit, lambda _m: None)
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert sorted(t.fold for t, _ in outcomes.stopped) == [0, 1] and not ray.is_initialized()
    scratch = [Path((tmp_path / f"scratch{k}.txt").read_text()) for k in (0, 1)]
    assert [s.name.startswith("kaggle-kit-fold-") for s in scratch] == [True, True]
    assert [s.exists() for s in scratch] == [False, False]


class _FakeRay:
    """What a run's session asks of Ray to keep its local one (ray.init / is_initialized / shutdown), counted."""

    def __init__(self, up: bool = False) -> None:
        self.up, self.calls = up, []

    def is_initialized(self) -> bool:
        return self.up

    def init(self, **options: object) -> None:
        self.calls.append(f"init {options['address']}")
        self.up = True

    def shutdown(self) -> None:
        self.calls.append("shutdown")
        self.up = False


@pytest.mark.parametrize("up", [False, True])
def test_a_runs_ray_is_kept_across_its_calls_and_only_its_own_shut_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, up: bool
) -> None:
    """Each wave of a time limit calls the executor again: the second call found the run's Ray up, took it for a
    caller's and the run forgot it had started it (never shut down: it outlived the run in a notebook). A caller's
    own Ray (``up``: a notebook's ray.init()) is used and left up."""
    fake = _FakeRay(up)
    monkeypatch.setitem(sys.modules, "ray", fake)
    session = RunSession.open(_spec(tmp_path), tmp_path / "runs", None, None, 1, "ray", None, None)
    try:
        session.start(3)
        session.run_tasks([])  # nothing to fit (every fold reused): no Ray started for it
        assert fake.calls == []
        for _wave in range(3):
            session.keep_ray()  # as each call with tasks does
    finally:
        session.close()
    assert fake.calls == ([] if up else ["init local", "shutdown"]) and fake.up == up
