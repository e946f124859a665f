"""The frames a process pool's workers prepare go to them as Arrow IPC files, not pickled through their pipes
(``DataFrame.serialize`` took ~4.5x the frame's size in the parent, and kept most of it; runtime/frame_files.py)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.runtime.frame_files import FrameFile, FrameFolder, frame_of
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import _TMP, RunStore


def test_a_frame_comes_back_from_its_file_as_it_went_in(tmp_path: Path) -> None:
    """Every dtype a read or a notebook's frame holds comes back with its values, nulls, NaN and dtype."""
    frame = pl.DataFrame(
        {
            "i": pl.Series([1, None, -3], dtype=pl.Int64),
            "u": pl.Series([1, 2, 3], dtype=pl.UInt8),
            "f": [1.5, float("nan"), None],
            "g": pl.Series([0.1, 2.0, None], dtype=pl.Float32),
            "s": ["a", None, "ü"],
            "c": pl.Series(["x", "y", None], dtype=pl.Categorical),
            "e": pl.Series(["lo", "hi", "lo"], dtype=pl.Enum(["lo", "hi"])),
            "b": [True, None, False],
            "d": [dt.date(2020, 1, 2), None, dt.date(1969, 12, 31)],
            "t": pl.Series([dt.datetime(2020, 1, 2, 3), None, dt.datetime(2021, 5, 6)]).dt.replace_time_zone("UTC"),
            "l": [[1.0, 2.0], [], None],
        }
    )
    files = FrameFolder(tmp_path)
    try:
        handed = files.put(frame)
        assert _TMP.fullmatch(Path(handed.path).parent.name)  # a store temporary: a killed run's is removed later
        assert Path(handed.path).parent.parent == tmp_path  # in the run folder (its disk), not /tmp's
        assert isinstance(handed, FrameFile) and Path(handed.path).is_file()
        back = frame_of(handed)
        assert back is not None and back.schema == frame.schema and back.equals(frame)
        assert files.put(None) is None and frame_of(None) is None
    finally:
        files.remove()
    assert files.folder is None and not Path(handed.path).parent.exists()


def test_a_frame_arrow_cannot_hold_is_handed_over_itself(tmp_path: Path) -> None:
    frame = pl.DataFrame({"o": pl.Series([object(), object()], dtype=pl.Object), "x": [1, 2]})
    files = FrameFolder(tmp_path)
    try:
        assert files.put(frame) is frame
        assert files.folder is not None and not list(files.folder.iterdir())  # no half-written file left
    finally:
        files.remove()


def test_a_frame_the_run_folder_cannot_take_is_handed_over_itself(tmp_path: Path) -> None:
    """A run folder that takes no new folder (its disk filled, it went read-only; here: it is gone) is no error:
    the frame is pickled to the workers, as before the files."""
    frame = pl.DataFrame({"x": [1, 2]})
    files = FrameFolder(tmp_path / "gone")
    assert files.put(frame) is frame and files.folder is None
    files.remove()


def test_a_killed_run_of_the_same_process_id_leaves_no_frames_behind(tmp_path: Path) -> None:
    """In a container each run may be process 1: the frames a killed one left carry this process's id, which the
    store's clean-up of temporaries takes for a live run and keeps. A new pool's folder removes them, not the folder
    of another pool of this process still open."""
    left = tmp_path / f".worker-frames.{os.getpid()}.killed.tmp"
    left.mkdir()
    (left / "frame0.arrow").write_bytes(b"x" * 10)
    other = tmp_path / f".worker-frames.{os.getpid() + 1}.other.tmp"  # another process's: the store's to judge
    other.mkdir()
    open_pool, files = FrameFolder(tmp_path), FrameFolder(tmp_path)
    try:
        open_pool.put(pl.DataFrame({"x": [1]}))
        assert not left.exists() and other.is_dir()
        files.put(pl.DataFrame({"x": [2]}))
        assert open_pool.folder is not None and (open_pool.folder / "frame0.arrow").is_file()
    finally:
        open_pool.remove()
        files.remove()


def _spec(folder: Path) -> Any:
    return build_spec(
        {
            "name": "pooled",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "target": "y", "id": "id"},
            "folds": {"n_splits": 2},
            "models": [{"name": "lin", "kind": "linear"}],
            "run": {"n_jobs": 2, "threads_per_task": 1},
        },
        base_dir=folder,
    )


@pytest.mark.parametrize("given", ["files", "frames"])
def test_pool_workers_get_the_frames_as_files_not_pickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    """No frame is pickled in the run's process (what its workers were sent: the frames the run read from the
    spec's files, or a notebook's frames); the folds fit as in a run without workers, and the files are gone once
    the run ends."""
    rng = np.random.default_rng(0)
    n = 120
    frame = pl.DataFrame(
        {"id": range(n), "x": rng.normal(size=n), "c": rng.choice(["a", "b"], n), "y": np.arange(n) % 2}
    )
    frame.head(n - 12).write_csv(tmp_path / "train.csv")
    frame.tail(12).drop("y").write_csv(tmp_path / "test.csv")
    frames = {"train": frame.head(n - 12), "test": frame.tail(12).drop("y")} if given == "frames" else {}
    here = run(_spec(tmp_path), runs_root=tmp_path / "b", n_jobs=1, progress=None, record_history=False, **frames)
    pickled: list[int] = []
    real = pl.DataFrame.__getstate__

    def counted(self: pl.DataFrame) -> bytes:
        pickled.append(self.height)
        return real(self)

    monkeypatch.setattr(pl.DataFrame, "__getstate__", counted)
    handed: list[int] = []
    put = FrameFolder.put

    def recorded(self: FrameFolder, frame: pl.DataFrame | None) -> Any:
        if frame is not None:
            handed.append(frame.height)
        return put(self, frame)

    monkeypatch.setattr(FrameFolder, "put", recorded)
    seen: list[str] = []
    pooled = run(_spec(tmp_path), runs_root=tmp_path / "a", progress=seen.append, record_history=False, **frames)
    assert any("2 worker(s)" in line for line in seen), seen
    assert pickled == []
    assert sorted(handed) == [12, n - 12]  # the workers get the frames as the run read them (or was given them)
    assert not [p.name for p in pooled.run_dir.iterdir() if p.name.startswith(".worker-frames")]  # removed
    for kind in ("oof", "test"):
        a = RunStore(pooled.run_dir).read_predictions("lin", kind)
        b = RunStore(here.run_dir).read_predictions("lin", kind)
        assert a.equals(b), kind


def test_the_frame_files_a_killed_run_left_are_removed_by_the_next_run(tmp_path: Path) -> None:
    """A run killed with SIGKILL leaves its workers' frame files in the run folder; the next run on that folder
    removes them (their writer is gone), leaves those of a live run on it alone, and lists only its models."""
    rng = np.random.default_rng(0)
    n = 60
    frame = pl.DataFrame(
        {"id": range(n), "x": rng.normal(size=n), "c": rng.choice(["a", "b"], n), "y": np.arange(n) % 2}
    )
    frame.head(n - 12).write_csv(tmp_path / "train.csv")
    frame.tail(12).drop("y").write_csv(tmp_path / "test.csv")
    first = run(_spec(tmp_path), runs_root=tmp_path / "runs", n_jobs=1, progress=None, record_history=False)
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        left = {}
        for name, pid in (("dead", gone.pid), ("live", live.pid)):
            folder = first.run_dir / f".worker-frames.{pid}.{name}.tmp"
            folder.mkdir()
            frame.write_ipc(folder / "frame0.arrow")
            left[name] = folder
        again = run(_spec(tmp_path), runs_root=tmp_path / "runs", n_jobs=1, progress=None, record_history=False)
        assert again.run_dir == first.run_dir
        assert not left["dead"].exists() and (left["live"] / "frame0.arrow").is_file()
        assert set(RunStore(again.run_dir).current_models()) == {"baseline", "lin"}
    finally:
        live.kill()
        live.wait()
