"""Frames handed to the pool's worker processes as Arrow IPC files, not pickled through their pipes.

A polars frame pickles through ``DataFrame.serialize``, which built its bytes in buffers of several times the frame's
size and left most of it with the allocator: pickling 166 MB of train rows (500k x 47 columns) for a worker took the
parent from 319 MB to a peak of 1,076 MB and left it at 977 MB for the rest of the run (and it was done again for each
worker); each worker then held the received bytes beside the frame they became (peak +605 MB). Written once with
``write_ipc`` the parent grows by 2 MB, and a worker reading the file peaks at +411 MB. The files live in a hidden
temporary folder of the run folder (on the run's disk, not a ``/tmp`` that may be memory), removed when the pool is
closed; one a killed run left is removed by the next run on that folder (:func:`~.store.remove_stale_temps`;
:func:`remove_own_leftovers` where the killed run had this process's id).

A frame Arrow IPC cannot hold (a column of Python objects) is handed over pickled, as before.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import polars as pl


@dataclass(frozen=True)
class FrameFile:
    """A frame written to ``path`` (Arrow IPC, uncompressed) for the workers to read."""

    path: str

    def read(self) -> pl.DataFrame:
        return pl.read_ipc(self.path)


F = TypeVar("F", pl.DataFrame, None)
PREFIX = ".worker-frames."
_OURS: set[Path] = set()  #: the frame folders this process made and has not removed yet


def remove_own_leftovers(root: Path) -> list[Path]:
    """Remove the frame folders in ``root`` named with this process's id that this process did not make: a killed run
    whose process had the same id (in a container, each run may be process 1), which
    :func:`~.store.remove_stale_temps` takes for this live process and keeps (a full copy of the data each)."""
    removed = []
    for entry in root.glob(f"{PREFIX}{os.getpid()}.*.tmp"):
        if entry.is_dir() and entry not in _OURS:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


class FrameFolder:
    """The pool's temporary folder of frame files in ``root`` (the run folder): :meth:`put` a frame, :meth:`remove`
    them all at the end. Named as the store's temporaries (``.worker-frames.<pid>.<random>.tmp``)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.folder: Path | None = None

    def put(self, frame: F) -> F | FrameFile:
        """``frame`` as a file the workers read (None stays None; a frame IPC cannot hold, or that cannot be written
        to the run folder, stays itself)."""
        if frame is None:
            return None
        if self.folder is None:
            try:
                remove_own_leftovers(self.root)
                self.folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}.", suffix=".tmp", dir=self.root))
            except OSError:  # the run folder takes no folder now (full, gone read-only): pickled, as before
                return frame
            _OURS.add(self.folder)
        path = self.folder / f"frame{len(list(self.folder.iterdir()))}.arrow"
        try:
            frame.write_ipc(path, compression="uncompressed")
        except Exception:  # e.g. an Object column: pickled through the pipe, as before
            path.unlink(missing_ok=True)
            return frame
        return FrameFile(str(path))

    def remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            _OURS.discard(self.folder)
            self.folder = None


def frame_of(value: pl.DataFrame | FrameFile | None) -> pl.DataFrame | None:
    """In a worker: the frame itself, from its file where it was handed over as one."""
    return value.read() if isinstance(value, FrameFile) else value
