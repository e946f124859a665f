"""A run killed with SIGKILL mid-way resumes where it stopped: finished folds are kept, only the rest is fitted,
and the final OOF equals an uninterrupted run's. (More kill points, corrupted files and diverging models:
``test_faults.py``.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_spec

from kaggle_kit.config import load_spec
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

SLOW_XGB = {
    "name": "xgb",
    "kind": "xgboost",
    "num_boost_round": 120,
    "early_stopping_rounds": None,
    "params": {"learning_rate": 0.1, "max_depth": 4},
}


def _finished(run_dir: Path) -> dict[Path, int]:
    """Fold folders in place; a killed write leaves a hidden ``.r0_f2.*.tmp`` folder that must never count."""
    paths = run_dir.glob("models/*/*/folds/*/result.json")
    return {p: p.stat().st_mtime_ns for p in paths if not p.parent.name.startswith(".")}


@pytest.mark.slow
def test_sigkill_mid_run_then_resume(demo_data: Path, tmp_path: Path) -> None:
    spec = demo_spec("demo-digits", demo_data, models=[SLOW_XGB], run={"n_jobs": 1, "threads_per_task": 1})
    config = tmp_path / "digits.toml"
    config.write_text(spec.to_toml())
    runs = tmp_path / "runs"
    run_dir = runs / spec.run_name

    # killed deterministically right after the 7th fold folder is renamed into place: baseline 5 + xgb 2
    env = {**os.environ, "KAGGLE_KIT_FAULT": "fold-renamed:7"}
    proc = subprocess.run(
        [sys.executable, "-m", "kaggle_kit.cli", "run", str(config), "--runs-root", str(runs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, f"the run was not killed: {proc.stderr.decode()[-2000:]}"

    before = _finished(run_dir)
    n_tasks = 2 * 5  # (baseline + xgb) x 5 folds
    assert len(before) == 7

    resumed = run(load_spec(config), runs_root=runs, progress=None)
    assert resumed.reused == len(before)
    assert resumed.fitted == n_tasks - len(before)  # only the unfinished folds were fitted
    assert {p: _finished(run_dir)[p] for p in before} == before  # finished folds untouched

    clean = run(spec, runs_root=tmp_path / "clean", progress=None)
    for name in ("baseline", "xgb"):
        np.testing.assert_array_equal(
            RunStore(resumed.run_dir).read_predictions(name, "oof").drop("id").to_numpy(),
            RunStore(clean.run_dir).read_predictions(name, "oof").drop("id").to_numpy(),
        )
