"""Image files that stay files: ``[data.images] mode = "stream"`` (or ``"auto"`` above :data:`STREAM_ABOVE`).

Instead of ``H * W * C`` pixel columns, each row of train and test gets one column, :data:`IMAGE_REF`: the row's
position in an :class:`ImageStream`, the list of its run's image files (train rows first, then test rows). Folds,
the store, OOF and blends see one row per image exactly as with pixel columns. The image nets (``cnn``) read the
column and decode their batches' files (:mod:`kaggle_kit.models.nn.streaming`); every other model never sees it:
it is not among the run's features (a row's position is no feature), so trees read the table's other columns.

With ``cache = true`` (the default) the run (before any fold fits, when a pending model reads the images: an
unreadable file stops it before other models' folds are fitted for nothing), or else the first net that needs them,
decodes them all once into a uint8
``(N, H, W, C)`` array saved with ``np.lib.format.open_memmap`` in the run folder (``image_cache/<fingerprint>.npy``,
written under a temporary name and renamed, with a lock so parallel folds decode it once); every later fold and
model memory-maps it and reads only its batches' rows. The fingerprint hashes the files' paths, sizes and
modification times, the decoded shape, the background transparent images are laid onto (``data.images.background``)
and the version of the decoding (``DECODING``), so changed images, or files
the kit now reads differently (EXIF orientation, 16-bit grey), get a new cache (and new stored results: it enters
the run's data fingerprint).

Why 32M pixel values: ``benchmarks/image_files.py`` measured, for 2000 images of 64 x 64 x 3 (24.6M values), one
fold's float32 matrix at 94 MB and 8.5 s on the project's 2-core machine, built again for every fold and model,
beside the uint8 frame; at 32M values that is ~120 MB and ~11 s per fold and grows linearly, while streaming costs
one decode pass (cached) and a few batches of memory. Below it, pixel columns are simpler and let trees read pixels.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError

if TYPE_CHECKING:
    from ..models.nn.images import ReadNotes

#: the column that holds a row's position in the run's :class:`ImageStream` (stream mode)
IMAGE_REF = "__image__"
#: ``mode = "auto"`` streams when rows x height x width x channels is above this (see the module doc)
STREAM_ABOVE = 32_000_000
#: the most rows the position column holds exactly (it reaches the nets as float32)
MAX_ROWS = 1 << 24
#: images decoded per chunk when the cache is written (bounds the decoded images held at once)
_CHUNK = 256

_lock = threading.Lock()
_decodes = [0]


def decode_count() -> int:
    """Image files decoded by this process so far (the cache's tests count them)."""
    return _decodes[0]


def use_stream(mode: str, rows: int, shape: Sequence[int]) -> bool:
    """Whether ``[data.images]`` streams: ``mode`` ``"stream"``, or ``"auto"`` above :data:`STREAM_ABOVE` values."""
    if mode != "auto":
        return mode == "stream"
    return rows * int(np.prod(shape)) > STREAM_ABOVE


@dataclass(frozen=True)
class ImageStream:
    """A run's image files in the order of the :data:`IMAGE_REF` positions, decoded to ``shape`` ``(H, W, C)``.

    ``resize``: the files are resized to ``shape`` (``data.images.size``); otherwise each must already be that size.
    ``labels`` name the rows in error messages (``id 17``). ``cache_path``: the memory-mapped cache, once the
    runner has placed it in a run folder (:meth:`cached_in`); None reads the files for every batch.
    """

    paths: tuple[str, ...]
    labels: tuple[str, ...]
    shape: tuple[int, int, int]
    resize: bool
    cache: bool = True
    workers: int | None = None
    background: str = "white"
    cache_path: Path | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.paths)

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the files (path, size, modification time), the decoded shape, the decoding's version
        (:data:`~kaggle_kit.models.nn.images.DECODING`) and the background: what the pixels depend on."""
        from ..models.nn.images import DECODING

        digest = hashlib.sha256(repr((self.shape, self.resize, DECODING, self.background)).encode())
        for path in self.paths:
            try:
                st = os.stat(path)
                digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{path}\0missing\n".encode())
        return digest.hexdigest()[:16]

    def cached_in(self, folder: Path) -> ImageStream:
        """This stream with its cache at ``folder/image_cache/<fingerprint>.npy`` (as it is without ``cache``)."""
        if not self.cache:
            return self
        return replace(self, cache_path=Path(folder) / "image_cache" / f"{self.fingerprint}.npy")

    def decode(self, i: int, notes: ReadNotes | None = None) -> np.ndarray:
        """Image ``i`` as ``(H, W, C)`` uint8, read from its file (an error names the file and the row); ``notes``
        gets what reading it found (:class:`~kaggle_kit.models.nn.images.ReadNotes`)."""
        from ..models.nn.images import RESIZE_HINT, read_image

        h, w, c = self.shape
        image = read_image(
            self.paths[i],
            size=(h, w) if self.resize else None,
            channels=c,
            label=self.labels[i],
            background=self.background,
            notes=notes,
        )
        with _lock:
            _decodes[0] += 1
        if image.shape != self.shape:
            raise DataError(
                f"image file {self.paths[i]!r} ({self.labels[i]}) is {image.shape[1]} x {image.shape[0]} but the "
                f"images are {w} x {h}; {RESIZE_HINT}"
            )
        return image

    def read(self, rows: np.ndarray, cache: np.ndarray | None = None) -> np.ndarray:
        """Images ``rows`` as ``(len(rows), H, W, C)`` uint8: from ``cache`` (the memory-mapped array) or decoded."""
        if cache is not None:
            return np.asarray(cache[np.asarray(rows, dtype=np.int64)])
        out = np.empty((len(rows), *self.shape), dtype=np.uint8)
        for k, i in enumerate(rows):
            out[k] = self.decode(int(i))
        return out

    def checked_path(self, folder: Path) -> Path:
        """``folder/image_cache/<fingerprint>.checked``: where :meth:`check_files` records that these files passed
        (their paths, sizes and modification times: :attr:`fingerprint`), in a run folder."""
        return Path(folder) / "image_cache" / f"{self.fingerprint}.checked"

    def check_files(self, threads: int = 1, record: Path | None = None) -> None:
        """Every file checked readable, cheaply (:func:`~kaggle_kit.models.nn.images.check_image`: about a
        millisecond a file, none decoded whole but formats other than PNG and JPEG), and of the stream's size unless
        it resizes them, for a stream without a cache (which decodes every file before any fold fits): a corrupt or
        odd-sized file had been found by the batch of a net that read it, minutes of folds in. One error names
        every unreadable file found (how many, the first few), or else every file of another size; a
        :class:`~kaggle_kit.errors.DataWarning` names the files of several frames (their first one is read), and
        one the float images told to be on different scales (:class:`~kaggle_kit.models.nn.images.ReadNotes`).

        ``record`` (:meth:`checked_path`): written once the files pass; where it is there, nothing is checked again
        nor said again (a resumed run's files, unchanged: they had been checked, and the warnings said, each time
        the run went on)."""
        if record is not None and record.is_file():
            return
        notes, error = self._scan(threads)
        if error is not None:
            raise DataError(error[1])
        notes.warn(len(self))
        if record is not None:
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(f"{len(self)} image files checked\n")

    def _scan(self, threads: int) -> tuple[ReadNotes, tuple[int, str] | None]:
        """What :meth:`check_files` found: its notes, and its error's text with the count of files it names
        (None where every file passed)."""
        from ..models.nn.images import RESIZE_HINT, ReadNotes, check_image

        notes = ReadNotes()

        def one(i: int) -> tuple[int, int] | str:
            try:
                return check_image(self.paths[i], self.labels[i], notes)
            except DataError as exc:
                return str(exc)

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            found = list(pool.map(one, range(len(self))))
        bad = [(i, f) for i, f in enumerate(found) if isinstance(f, str)]
        if bad:
            return notes, (
                len(bad),
                f"{len(bad)} of {len(self)} image files cannot be read, found before any model reads them: "
                f"{bad[0][1]}{self._also(bad)}; replace them (download them again) or remove their rows, then run "
                "again",
            )
        read = [f for f in found if not isinstance(f, str)]  # every file: none was unreadable
        h, w, _ = self.shape
        odd = [(i, f"{f[1]} x {f[0]}") for i, f in enumerate(read) if not self.resize and f != (h, w)]
        if odd:
            i, size = odd[0]
            return notes, (
                len(odd),
                f"{len(odd)} of {len(self)} image files are not {w} x {h} (width x height) as the training images "
                f"are, found before any model reads them: {self.paths[i]!r} ({self.labels[i]}) is {size}"
                f"{self._also(odd)}; {RESIZE_HINT}",
            )
        return notes, None

    def _also(self, found: list[tuple[int, str]]) -> str:
        from ..models.nn.images import _also

        return _also(found, self.paths, lambda i: self.labels[i])

    def open_cache(self, threads: int = 1) -> np.ndarray | None:
        """The cache memory-mapped read-only, decoding every image into it first if it is not there (once: other
        processes wait on a lock, then read it); None without a cache."""
        path = self.cache_path
        if path is None:
            return None
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            with _file_lock(path.with_name(path.name + ".lock")):
                if not path.is_file():
                    self._write_cache(path, threads)
        cache = np.load(path, mmap_mode="r", allow_pickle=False)
        if cache.shape != (len(self), *self.shape) or cache.dtype != np.uint8:
            raise DataError(
                f"the image cache {str(path)!r} holds {cache.dtype} {cache.shape}, not uint8 "
                f"{(len(self), *self.shape)}; delete it and run again"
            )
        return cache

    def _write_cache(self, path: Path, threads: int) -> None:
        need = len(self) * int(np.prod(self.shape))
        free = shutil.disk_usage(path.parent).free
        if need > free:
            raise DataError(
                f"the image cache {str(path)!r} needs {need / 2**30:.1f} GiB ({len(self)} images of "
                f"{' x '.join(map(str, self.shape))} bytes) but {free / 2**30:.1f} GiB are free there; free some space "
                f"{_stale_caches(path)}or set data.images.cache = false (every batch is then decoded from the files)"
            )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(self), *self.shape))
            try:
                self._fill(out, threads)
            except DataError:
                _, found = self._scan(threads)  # the first file that failed decoding; are there more?
                if found is not None and found[0] > 1:  # named all at once: one run, not one per file, to find them
                    raise DataError(found[1]) from None
                raise
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _fill(self, out: np.ndarray, threads: int) -> None:
        from ..models.nn.images import ReadNotes

        notes = ReadNotes()

        def fill(i: int) -> None:
            out[i] = self.decode(i, notes)

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:  # Pillow releases the GIL
            for start in range(0, len(self), _CHUNK):
                list(pool.map(fill, range(start, min(start + _CHUNK, len(self)))))  # re-raises, in row order
        out.flush()  # type: ignore[attr-defined]
        notes.warn(len(self))


def _stale_caches(path: Path) -> str:
    """``(delete ...)`` naming the caches beside ``path`` of other fingerprints, which the run reads no more (its
    files changed since, or an older kaggle_kit decoded them: :data:`~kaggle_kit.models.nn.images.DECODING`), with
    the space they hold; else ``""``. They stay where they were written: a cache of 15 GB left by a decoding's
    change had made the new one not fit, said without a word of them."""
    stale = sorted(p for p in path.parent.glob("*.npy") if p != path)
    if not stale:
        return ""
    size = sum(p.stat().st_size for p in stale) / 2**30
    shown = ", ".join(repr(str(p)) for p in stale[:3]) + (f" and {len(stale) - 3} more" if len(stale) > 3 else "")
    return (
        f"(delete the {len(stale)} older cache(s) there, {size:.1f} GiB, of files since changed or an older "
        f"kaggle_kit's decoding, which this run reads no more: {shown}) "
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (``fcntl`` where there is one; elsewhere none: the cache is then at
    worst decoded twice, each copy renamed into place whole)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
