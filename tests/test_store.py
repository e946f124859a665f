"""The run store's own guarantees, checked directly: a fold folder holds every file it was given, byte for byte and
checksummed; arrays are written without pickles; a worker that has exited but was never reaped counts as gone.

(The runner's tests cover the store through whole runs; these catch wrong lines that a run would not show, found by
``benchmarks/mutation.py``.)
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kaggle_kit.runtime.store import FoldResult, RunStore, _zombie, npy_bytes, process_alive


def _result() -> FoldResult:
    return FoldResult(
        model="m",
        key="k1",
        repeat=0,
        fold=1,
        score=0.5,
        best_iteration=None,
        n_train=4,
        n_valid=2,
        fit_seconds=0.1,
        predict_seconds=0.1,
        device="cpu",
        threads=1,
    )


def test_a_fold_folder_holds_every_file_given_with_its_checksum(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "run")
    extra = {"features.json": b'{"mean": 1.5}', "history.json": b"[0.7, 0.6]"}
    done = store.write_fold(
        _result(),
        valid_pred=np.array([[0.25], [0.75]]),
        test_pred=np.array([[0.5]]),
        save_model=lambda folder: (folder / "model.txt").write_bytes(b"tree"),
        extra=extra,
    )
    folder = store.fold_dir("m", "k1", 0, 1)
    written = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "result.json"}
    assert set(written) == {"valid.npy", "test.npy", "model.txt", "features.json", "history.json"}
    for name, blob in extra.items():
        assert written[name] == blob
    assert done.files == {name: hashlib.sha256(blob).hexdigest() for name, blob in written.items()}
    assert store.finished("m", "k1", 0, 1) == done
    np.testing.assert_array_equal(store.read_fold_array(done, "valid.npy"), np.array([[0.25], [0.75]], np.float32))


def test_arrays_are_written_without_pickles() -> None:
    with pytest.raises(ValueError, match="allow_pickle"):
        npy_bytes(np.array([{"a": 1}], dtype=object))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_exited_unreaped_worker_is_not_alive() -> None:
    """A killed run's temporary files are cleaned only if its workers count as gone: a zombie (exited, not reaped)
    still answers ``kill(pid, 0)``, so it is recognised from ``/proc/<pid>/stat``."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(200):  # until it has exited (it stays a zombie: nobody waits for it yet)
            if _zombie(child.pid):
                break
            time.sleep(0.05)
        assert _zombie(child.pid)
        assert not process_alive(child.pid)
    finally:
        child.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert process_alive(running.pid) and not _zombie(running.pid)
    finally:
        running.kill()
        running.wait()


def test_listed_models_are_run_jsons_in_spec_order_and_none_where_it_cannot_say(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "run")
    assert store.listed_models() == []  # no run.json yet
    store.root.mkdir()
    store.meta_path.write_text('{"models": {"zeta": "k1", "alpha": "k2"}}')
    assert store.listed_models() == ["zeta", "alpha"]
    store.meta_path.write_text("{not json")
    assert store.listed_models() == []  # corrupted: the error comes where the run's data is read
