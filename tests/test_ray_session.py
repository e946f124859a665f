"""A run's own local Ray lives from its first task to its end: one start for every call of the executor (a time
limit's waves, the pseudo-labelling rounds). Apart from tests/test_executors.py, whose module-wide Ray would be the
one a run finds already up."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_executors import _spec

from kaggle_kit.runtime.runner import run


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
