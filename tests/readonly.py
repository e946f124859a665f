"""A folder that refuses writes, as Kaggle's read-only ``/kaggle/input`` mount does, also when the tests run as root.

``chmod a-w`` alone does not stop root (the kit's CI and many containers run the suite as root), so a test that
relied on it would pass while the kit wrote into the folder. :func:`read_only` also refuses, through a Python audit
hook (:pep:`578`), every write the Python process starts under the folder: opening a file for writing or creating
it, making or removing a folder, removing, renaming, replacing or linking a file, changing its mode, owner or times,
creating an SQLite database. The refusal is the error a read-only mount gives (``OSError`` ``EROFS``; sqlite's
``unable to open database file``), raised where the kit's own code made the call.

Writes that no audit event announces (a library's own file I/O in C or Rust, as polars' ``write_csv(path)`` or
LightGBM's ``save_model``, or another process) cannot be refused as root; they are caught after the fact instead: a
block that ends with anything under the folder changed (added, removed, rewritten) fails with the paths.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

_GUARDED: list[str] = []  # the guarded folders, their real paths
_GUARDED_FILES: list[str] = []  # the guarded files (read_only_file), their real paths
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
#: event -> (which of its arguments name a path written, whether the call follows a symbolic link there)
_EVENTS: dict[str, tuple[tuple[int, ...], bool]] = {
    "os.mkdir": ((0,), False),
    "os.remove": ((0,), False),
    "os.rmdir": ((0,), False),
    "os.rename": ((0, 1), False),
    "os.replace": ((0, 1), False),
    "os.symlink": ((1,), False),  # (target, link): only the link is written; the target may be in the folder
    "os.link": ((1,), False),
    "shutil.rmtree": ((0,), False),
    "os.truncate": ((0,), True),
    "os.chmod": ((0,), True),
    "os.chown": ((0,), True),
    "os.utime": ((0,), True),
}


def _real(path: object, follow: bool) -> str | None:
    """The real path ``path`` names (symbolic links and ``..`` resolved, as the kernel would), None when it is not a
    path (a file descriptor). A call that does not follow a link (remove, rename) acts on the link itself."""
    if isinstance(path, int) or not isinstance(path, str | bytes | os.PathLike):
        return None
    name = os.fsdecode(path)
    if follow:
        return os.path.realpath(name)
    head, tail = os.path.split(os.path.abspath(name))
    return os.path.join(os.path.realpath(head), tail)


def _under_guard(real: str | None) -> bool:
    return real is not None and any(real == g or real.startswith(g + os.sep) for g in _GUARDED)


def _hook(event: str, args: tuple) -> None:
    if not _GUARDED and not _GUARDED_FILES:
        return
    if event == "open":
        path, mode, flags = args
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
        targets = [(path, True)] if writes else []
    elif event in _EVENTS:
        where, follow = _EVENTS[event]
        targets = [(args[i], follow) for i in where if i < len(args)]
    elif event == "sqlite3.connect":  # sqlite opens in C: a database the mount has not is one it cannot create
        if _under_guard(_real(args[0], True)) and not os.path.exists(args[0]):
            import sqlite3

            raise sqlite3.OperationalError("unable to open database file")
        return  # one it has opens (read-only on the mount): its writes are caught when the block ends
    else:
        return
    for path, follow in targets:
        if _GUARDED_FILES and _real(path, follow) in _GUARDED_FILES:  # a read-only file in a writable folder
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))
        if _under_guard(_real(path, follow)):
            if event == "os.mkdir" and os.path.lexists(path):  # as the mount says: "exists" before "read-only"
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fsdecode(path))
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))


sys.addaudithook(_hook)  # hooks cannot be removed: this one does nothing while no folder is guarded


def _state(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``folder`` (and the folder): its type, size and modification time (a folder's changes when
    an entry is added or removed, even one removed again)."""
    state = {}
    for dirpath, dirs, files in os.walk(folder):
        for name in [".", *dirs, *files] if dirpath == str(folder) else [*dirs, *files]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            state[os.path.relpath(path, folder)] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns)
    return state


def _chmod_all(folder: Path, mode: Callable[[str, bool], int]) -> None:
    """Set the mode of ``folder`` and everything in it (a folder's before its entries); symbolic links are left
    alone (``chmod`` would change what they lead to, maybe outside the folder)."""
    for dirpath, _, files in os.walk(folder):
        os.chmod(dirpath, mode(dirpath, True))
        for f in files:
            path = os.path.join(dirpath, f)
            if not os.path.islink(path):
                os.chmod(path, mode(path, False))


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """Within the block, ``folder`` and everything in it cannot be written by this process (nor by another user);
    a write that got past the refusal (see the module's docstring) fails the block when it ends. The modes are
    restored afterwards as they were."""
    folder = folder.absolute()
    modes: dict[str, int] = {}

    def read_only_mode(path: str, is_dir: bool) -> int:
        modes[path] = stat.S_IMODE(os.stat(path).st_mode)
        return stat.S_IRUSR | stat.S_IXUSR if is_dir else stat.S_IRUSR

    _chmod_all(folder, read_only_mode)
    real = os.path.realpath(folder)
    before = _state(folder)
    _GUARDED.append(real)
    try:
        yield folder
        after = _state(folder)  # only for a block that ended normally: a failing one reports its own error
    finally:
        _GUARDED.remove(real)
        _chmod_all(
            folder, lambda path, is_dir: modes.get(path, stat.S_IRWXU if is_dir else stat.S_IRUSR | stat.S_IWUSR)
        )
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if changed:
        raise AssertionError(
            f"written under the read-only folder {str(folder)!r} past the refusal (a library's own file I/O, or "
            f"another process): {', '.join(changed)}"
        )


@contextmanager
def read_only_file(path: Path) -> Iterator[Path]:
    """Within the block, the file ``path`` (its folder writable) cannot be written by this process, also as root:
    its mode is read-only, Python's writes to it are refused (``PermissionError``, as for a file one may not write),
    and SQLite opens it read-only, as it does a file it may not write (its writes then fail with "attempt to write a
    readonly database"; root's would not). Restored afterwards; a change past the refusal fails the block."""
    import sqlite3
    from urllib.parse import quote

    path = path.absolute()
    real = os.path.realpath(path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    connect = sqlite3.connect

    def read_only_connect(database: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        if isinstance(database, str | os.PathLike) and os.path.realpath(os.fspath(database)) == real:
            return connect(f"file:{quote(real)}?mode=ro", *args, uri=True, **kwargs)  # type: ignore[arg-type]
        return connect(database, *args, **kwargs)  # type: ignore[arg-type]

    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    before = os.stat(path)
    _GUARDED_FILES.append(real)
    sqlite3.connect = read_only_connect  # type: ignore[assignment]
    try:
        yield path
        after = os.stat(path)
    finally:
        sqlite3.connect = connect  # type: ignore[assignment]
        _GUARDED_FILES.remove(real)
        os.chmod(path, mode)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise AssertionError(f"the read-only file {str(path)!r} was written past the refusal")
