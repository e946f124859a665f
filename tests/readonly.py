"""A folder that refuses writes, as Kaggle's read-only ``/kaggle/input`` mount does, also when the tests run as root.

``chmod a-w`` alone does not stop root (the kit's CI and many containers run the suite as root), so a test that
relied on it would pass while the kit wrote into the folder. :func:`read_only` also refuses, through a Python audit
hook (:pep:`578`), every write the Python process starts under the folder: opening a file for writing or creating
it, making or removing a folder, removing, renaming or replacing a file. The refusal is the ``OSError`` a read-only
mount gives (``EROFS``), raised where the kit's own code made the call.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_GUARDED: list[Path] = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_EVENTS = {"os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.replace", "os.truncate", "shutil.rmtree"}


def _under_guard(path: object) -> bool:
    if isinstance(path, int) or path is None:
        return False
    try:
        target = Path(os.fsdecode(path)).absolute()  # type: ignore[arg-type]
    except TypeError:
        return False
    return any(target == g or g in target.parents for g in _GUARDED)


def _hook(event: str, args: tuple) -> None:
    if not _GUARDED:
        return
    if event == "open":
        path, mode, flags = args
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
        paths = [path] if writes else []
    elif event in _EVENTS:
        paths = [a for a in args[:2] if isinstance(a, str | bytes | os.PathLike)]
    else:
        return
    for path in paths:
        if _under_guard(path):
            if event == "os.mkdir" and os.path.exists(path):  # as the mount says: "exists" before "read-only"
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fsdecode(path))
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))


sys.addaudithook(_hook)  # hooks cannot be removed: this one does nothing while no folder is guarded


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """Within the block, ``folder`` and everything in it cannot be written by this process (nor by another user)."""
    folder = folder.absolute()
    for dirpath, _, files in os.walk(folder):
        for f in files:
            os.chmod(Path(dirpath) / f, stat.S_IRUSR)
        os.chmod(dirpath, stat.S_IRUSR | stat.S_IXUSR)
    _GUARDED.append(folder)
    try:
        yield folder
    finally:
        _GUARDED.remove(folder)
        for dirpath, _, files in os.walk(folder):
            os.chmod(dirpath, stat.S_IRWXU)
            for f in files:
                os.chmod(Path(dirpath) / f, stat.S_IRUSR | stat.S_IWUSR)
