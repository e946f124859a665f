"""The run directory: fold ids, per-fold predictions and models, assembled OOF / test predictions, metadata.

Layout (``<key>`` is a hash of everything a model's predictions depend on: its spec, the data, the folds)::

    runs/<run>/run.json                          task, metric, classes, fingerprints, the current models' keys
    runs/<run>/spec.toml                         the spec of the latest run
    runs/<run>/folds.parquet                     id + fold_r0, fold_r1, ... (-1 = never validated)
    runs/<run>/target.parquet                    id + y: the target as models see it (class codes, or values;
                                                 y_0 .. y_{T-1} for a multi-target task, NaN = missing label)
    runs/<run>/levels.parquet                    column + level: each categorical training column's levels
    runs/<run>/models/<name>/<key>/folds/r0_f3/  valid.npy, test.npy, the native model file, result.json
    runs/<run>/models/<name>/<key>/oof.parquet   id + one float32 column per class (row order = train order)
    runs/<run>/models/<name>/<key>/test.parquet  id + the same columns, pooled over folds (runtime.pooling)
    runs/<run>/models/<name>/<key>/summary.json  CV score, per-fold scores, timings

A fold folder is written under a hidden temporary name (``.r0_f3.<pid>.<random>.tmp``) and renamed into place in
one step, so a fold either exists whole or not at all: a run killed at any moment leaves nothing a later run would
trust, and the next run of that model removes the temporary folders whose writer is gone. ``result.json`` records
the SHA-256 of every file of its fold: a fold whose files do not match is refitted (with a warning naming the file),
never trusted. ``checksums.json`` does the same for a model's assembled ``oof`` / ``test`` predictions, so a
corrupted file read by a blend or a report is an error naming the file and the fix, not a parquet stack trace.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import StoreError
from .faults import fault_point
from .folds import Folds

FORMAT_VERSION = 1
MIN_FREE_BYTES = 64 * 2**20  #: a run refuses to start with less free space than this in its runs folder
_TMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp")  # a hidden temporary file or folder, with its writer


class StoreWarning(UserWarning):
    """A store file failed its check and is being refitted or rebuilt (the run goes on)."""


@dataclass(frozen=True)
class FoldResult:
    """What one (model, repeat, fold) fit produced, as recorded in its ``result.json``."""

    model: str
    key: str
    repeat: int
    fold: int
    score: float
    best_iteration: int | None
    n_train: int
    n_valid: int
    fit_seconds: float
    predict_seconds: float
    device: str
    threads: int
    task_seconds: float = 0.0  # the whole task before its files are written: encoding, fit, predictions (0: older)
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    clipped: tuple[int, int] = (0, 0)  # validation, test prediction values clipped into the metric's domain
    # the metric on (a seeded subsample of) the fold's own training rows, beside ``score`` on its validation rows: the
    # train vs validation gap of the report's bias-variance diagnosis. None: not measured (a fold stored before)
    train_score: float | None = None
    train_rows: int = 0  # how many training rows ``train_score`` scored
    n_pseudo: int = 0  # pseudo-labelled test rows added to the fold's training rows (``n_train`` counts its own)
    # a model fitted one target at a time: each target's kept rounds (None: a constant); a refit trains each so long
    target_iterations: tuple[int | None, ...] | None = None
    # of task_seconds: importing the model's library, a one-time cost of the process that the fold's next ones in the
    # same process do not pay (a time limit's cost model leaves it out of a fold's cost)
    import_seconds: float = 0.0
    # a model reading a net's embeddings: the digest of the net's fold files it read them through
    # (runtime/embeddings.nets_digest); a fold whose net has been refitted since is fitted again. None: no reader
    embedded_by: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> FoldResult:
        data = json.loads(text)
        if "clipped" in data:
            data["clipped"] = tuple(data["clipped"])
        if data.get("target_iterations") is not None:
            data["target_iterations"] = tuple(data["target_iterations"])
        return cls(**data)


@dataclass(frozen=True)
class ModelResult:
    """A model's cross-validated outcome: the leaderboard row."""

    name: str
    kind: str
    key: str
    metric: str
    cv: float  # the metric over all OOF rows at once
    fold_scores: tuple[float, ...]
    fit_seconds: float
    best_iteration: float | None  # mean over folds
    status: str = "ok"  # "ok" | "failed"
    error: str | None = None
    note: str = ""  # what the leaderboard should say beside the score, e.g. predictions clipped into the domain

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_scores)) if self.fold_scores else float("nan")

    @property
    def why(self) -> str:
        """Its status and error said once: 'failed: ValueError: ...', 'incomplete: time limit (1 of 4 folds)'."""
        error = self.error or ""
        return error if error.startswith(self.status) else f"{self.status}: {error}"

    @property
    def rerun(self) -> str:
        """What makes it finish: more time for one a time limit cut (its folds are reused), a fix for a failure."""
        if self.status == "incomplete":
            return "rerun `kaggle-kit run CONFIG` with a longer --time-limit (its finished folds are reused)"
        return "rerun `kaggle-kit run CONFIG` once it is fixed"

    @property
    def std(self) -> float:
        return float(np.std(self.fold_scores)) if self.fold_scores else float("nan")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> ModelResult:
        data = json.loads(text)
        data["fold_scores"] = tuple(data["fold_scores"])
        return cls(**data)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    A write the disk refuses (full, read-only) is a :class:`StoreError` naming the file; the old file stays.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        fault_point(f"write:{path.name}")
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise


def _write_error(path: Path, exc: OSError) -> StoreError:
    return StoreError(
        f"cannot write {path} ({exc.strerror or exc}); free some space or choose another --runs-root, then run "
        "again: finished folds are kept and only the rest is fitted"
    )


#: Where a notebook on Kaggle may write, for the messages of a folder that cannot be written.
KAGGLE_WRITABLE = "on Kaggle, only /kaggle/working is writable"


def check_writable(folder: Path, what: str, fix: str) -> None:
    """Fail before any work when ``folder`` (made if missing) cannot be written, with ``fix`` after the reason.

    A folder can be read but not written on Kaggle (``/kaggle/input/...``, where a run folder uploaded as a dataset
    is mounted read-only; only ``/kaggle/working`` is writable): what writes there checks first, so that nothing is
    computed only to fail on the first write with an ``OSError``.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StoreError(f"cannot write {what} in {str(folder)!r} ({exc.strerror or exc}); {fix}") from None


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove the hidden temporary files and folders in ``folder`` whose writing process is gone (a killed write).

    A temporary entry of a live process (a concurrent run on this machine) is left alone. Returns what was removed.
    """
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        m = _TMP.fullmatch(entry.name)
        if m is None or process_alive(int(m.group("pid"))):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (this one does; an exited, unreaped one does not): whose temporary files to keep."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited but not been reaped (Linux). It still answers ``kill(pid, 0)``, yet writes
    nothing: in a container whose first process never reaps orphans, a killed run's workers stay like this."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # not Linux, or gone meanwhile
        return False
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


class RunStore:
    """Read and write one run directory. Every write is atomic; nothing finished is ever rewritten."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @classmethod
    def in_runs_folder(cls, runs_root: Path | str, name: str) -> RunStore:
        """The store of run ``name`` under ``runs_root``; refused when it leads elsewhere (a link in a downloaded
        runs archive, or a name with path parts), so that a run never writes outside the runs folder."""
        root = Path(runs_root) / name
        inside = Path(runs_root).resolve()
        if root.resolve() != inside / name:
            raise StoreError(
                f"the run folder {str(root)!r} leads outside the runs folder (to {str(root.resolve())!r}); "
                "remove that link or set run.name to another name"
            )
        return cls(root)

    # ----------------------------------------------------------------- run metadata
    @property
    def meta_path(self) -> Path:
        return self.root / "run.json"

    def exists(self) -> bool:
        return self.meta_path.is_file()

    def read_meta(self) -> dict[str, Any]:
        if not self.exists():
            raise StoreError(
                f"{str(self.root)!r} is not a run directory (no run.json); pass the folder `kaggle-kit run` created, "
                "e.g. runs/<competition name>"
            )
        try:
            return json.loads(self.meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"{self.meta_path} is corrupted ({exc}); delete it, run again: folds are kept") from None

    def write_meta(self, meta: dict[str, Any]) -> None:
        atomic_write(self.meta_path, json.dumps({**meta, "format_version": FORMAT_VERSION}, indent=1).encode())

    def ensure_writable(self, min_free: int = MIN_FREE_BYTES) -> None:
        """Fail before any training if the run folder cannot be written (read-only mount) or its disk has less
        than ``min_free`` bytes free; remove the temporary files a killed run left in it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"x" * 4096)
            probe.unlink()
            free = shutil.disk_usage(self.root).free
        except OSError as exc:
            fix = "free some space or choose" if exc.errno == errno.ENOSPC else "choose"
            raise StoreError(
                f"cannot write to the run folder {str(self.root)!r} ({exc.strerror or exc}); {fix} another "
                f"--runs-root (runs_root= in Python; {KAGGLE_WRITABLE}: to resume a run folder uploaded as a "
                "dataset, copy it under a runs root there)"
            ) from None
        if free < min_free:
            raise StoreError(
                f"the run folder {str(self.root)!r} has only {free:,} bytes free (a run needs at least "
                f"{min_free:,}); free some space or choose another --runs-root"
            )
        remove_stale_temps(self.root)

    # ----------------------------------------------------------------- folds
    @property
    def folds_path(self) -> Path:
        return self.root / "folds.parquet"

    def save_folds(self, folds: Folds, ids: pl.Series) -> None:
        atomic_write(self.folds_path, parquet_bytes(folds.to_frame(ids)))

    def load_folds(self, n_splits: int, scheme: str) -> Folds | None:
        if not self.folds_path.exists():
            return None
        try:
            frame = pl.read_parquet(self.folds_path)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise StoreError(f"{self.folds_path} is corrupted ({exc}); delete it to recompute the folds") from None
        return Folds.from_frame(frame.select(pl.col("^fold_r\\d+$")), n_splits=n_splits, scheme=scheme)

    # ----------------------------------------------------------------- training levels
    @property
    def levels_path(self) -> Path:
        return self.root / "levels.parquet"

    def save_levels(self, levels: dict[str, pl.Series]) -> None:
        """Each categorical training column's levels (``readers.levels.training_levels``), one row per level: what
        ``kaggle-kit predict`` tells a new file's unseen levels against."""
        parts = [
            pl.DataFrame({"column": pl.repeat(c, v.len(), dtype=pl.String, eager=True), "level": v})
            for c, v in levels.items()
        ]
        frame = pl.concat(parts) if parts else pl.DataFrame(schema={"column": pl.String, "level": pl.String})
        atomic_write(self.levels_path, parquet_bytes(frame))

    def read_levels(self) -> dict[str, pl.Series] | None:
        """The levels :meth:`save_levels` wrote; None for a run folder made before them, or an unreadable file
        (the levels only serve a warning)."""
        try:
            frame = pl.read_parquet(self.levels_path)
        except (pl.exceptions.PolarsError, OSError):
            return None
        return {str(c): part["level"] for (c,), part in frame.partition_by("column", as_dict=True).items()}

    # ----------------------------------------------------------------- target
    @property
    def target_path(self) -> Path:
        return self.root / "target.parquet"

    def save_target(self, ids: pl.Series, y: np.ndarray) -> None:
        """The training target in train row order (class codes for classification), so that blends and reports
        can score OOF predictions from the run folder alone. A multi-target ``(n, T)`` matrix is stored as the
        columns ``y_0 .. y_{T-1}`` (NaN = a missing label)."""
        if y.ndim == 2:
            columns = [pl.Series(f"y_{j}", y[:, j]) for j in range(y.shape[1])]
            atomic_write(self.target_path, parquet_bytes(pl.DataFrame([ids, *columns])))
            return
        atomic_write(self.target_path, parquet_bytes(pl.DataFrame([ids, pl.Series("y", y)])))

    def read_target(self) -> np.ndarray:
        if not self.target_path.is_file():
            raise StoreError(f"{self.target_path} is missing; run the competition again to write it")
        try:
            frame = pl.read_parquet(self.target_path)
            if "y" not in frame.columns:  # a multi-target run: y_0 .. y_{T-1}
                n_targets = sum(1 for c in frame.columns if c.startswith("y_"))
                return np.column_stack([frame[f"y_{j}"].to_numpy() for j in range(n_targets)])
            return frame["y"].to_numpy()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise StoreError(
                f"{self.target_path} is corrupted ({type(exc).__name__}); rerun `kaggle-kit run` on its config to "
                "write it again (finished folds are reused)"
            ) from None

    # ----------------------------------------------------------------- per-fold results
    def model_dir(self, name: str, key: str) -> Path:
        return self.root / "models" / name / key

    def fold_dir(self, name: str, key: str, repeat: int, fold: int) -> Path:
        return self.model_dir(name, key) / "folds" / f"r{repeat}_f{fold}"

    def finished(self, name: str, key: str, repeat: int, fold: int) -> FoldResult | None:
        """The fold's result if it was written whole and every file matches its checksum, else None (it will be
        fitted). A fold folder that exists but fails the check is reported with a :class:`StoreWarning`."""
        folder = self.fold_dir(name, key, repeat, fold)
        if not folder.is_dir():
            return None
        problem = self._fold_problem(folder)
        if isinstance(problem, FoldResult):
            return problem
        warnings.warn(
            f"{problem}; model {name!r} repeat {repeat} fold {fold + 1} is not trusted and will be refitted",
            StoreWarning,
            stacklevel=2,
        )
        return None

    def check_fold(self, folder: Path) -> FoldResult | str:
        """The result of the fold folder ``folder`` if every file matches its checksum, else what is wrong (no
        warning, nothing written: for readers of a finished, possibly read-only run folder)."""
        return self._fold_problem(folder)

    def _fold_problem(self, folder: Path) -> FoldResult | str:
        """The fold's result if its folder verifies, else what is wrong with it."""
        path = folder / "result.json"
        try:
            result = FoldResult.from_json(path.read_text())
        except FileNotFoundError:
            return f"{path} is missing"
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
            return f"{path} is corrupted ({type(exc).__name__})"
        for fname, digest in result.files.items():
            try:
                ok = sha256_bytes((folder / fname).read_bytes()) == digest
            except FileNotFoundError:
                return f"{folder / fname} is missing"
            if not ok:
                return f"{folder / fname} does not match the checksum in its result.json (a corrupted or edited file)"
        return result

    def remove_stale_temps(self, name: str, key: str) -> list[Path]:
        """Remove the temporary fold folders (never counted as finished) and prediction files a killed write of
        this model left behind."""
        folder = self.model_dir(name, key)
        return remove_stale_temps(folder / "folds") + remove_stale_temps(folder)

    def write_fold(
        self,
        result: FoldResult,
        *,
        valid_pred: np.ndarray,
        test_pred: np.ndarray | None,
        save_model: Callable[[Path], None],
        extra: dict[str, bytes] | None = None,
    ) -> FoldResult:
        """Write a fold's files into a temporary folder, record their checksums, and rename it into place.

        A fold folder already in place that fails its checksums (the reason this fold is being refitted) is replaced,
        as is a reader's fold read through other net folds (:func:`~kaggle_kit.runtime.embeddings.stale_reader_folds`).
        A write the disk refuses (ENOSPC) leaves no folder in place and is a :class:`StoreError` naming the fold.
        """
        final = self.fold_dir(result.model, result.key, result.repeat, result.fold)
        where = f"fold {final.name} of model {result.model!r}"
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.{os.getpid()}.", suffix=".tmp"))
        except OSError as exc:
            raise _write_error(final, exc) from None
        try:
            blobs = {"valid.npy": npy_bytes(valid_pred.astype(np.float32))}
            if test_pred is not None:
                blobs["test.npy"] = npy_bytes(test_pred.astype(np.float32))
            blobs.update(extra or {})
            for fname, blob in blobs.items():
                (tmp / fname).write_bytes(blob)
            save_model(tmp)
            files = {p.name: sha256_bytes(p.read_bytes()) for p in sorted(tmp.iterdir()) if p.is_file()}
            done = FoldResult(**{**asdict(result), "files": files})
            (tmp / "result.json").write_text(done.to_json())
            _fsync_dir(tmp)
            fault_point("fold-files")
            there = self._fold_problem(final) if final.is_dir() else None
            if there is not None and (not isinstance(there, FoldResult) or there.embedded_by != done.embedded_by):
                _discard(final)  # a corrupted fold, or a reader's read through a net refitted since: replaced
            try:
                os.rename(tmp, final)
            except OSError:
                if not isinstance(self._fold_problem(final), FoldResult):
                    raise
                shutil.rmtree(tmp, ignore_errors=True)  # another worker finished the same fold first
            fault_point("fold-renamed")
            return done
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, OSError):
                raise StoreError(
                    f"cannot write {where} to {final.parent} ({exc.strerror or exc}); nothing of it was kept. Free "
                    "some space or choose another --runs-root, then run again: finished folds are reused"
                ) from None
            raise

    def read_fold_array(self, result: FoldResult, fname: str) -> np.ndarray:
        path = self.fold_dir(result.model, result.key, result.repeat, result.fold) / fname
        blob = path.read_bytes()
        if sha256_bytes(blob) != result.files.get(fname):
            raise StoreError(
                f"{path} does not match the checksum in its result.json (a corrupted or edited file); rerun "
                f"`kaggle-kit run` to refit that fold (or delete the folder {path.parent})"
            )
        try:
            return np.load(io.BytesIO(blob), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:  # e.g. a pickled object array: never unpickled
            raise StoreError(
                f"{path} is not a plain numeric array ({exc}); delete the folder {path.parent} and rerun "
                "`kaggle-kit run` to refit that fold"
            ) from None

    # ----------------------------------------------------------------- assembled predictions
    def write_predictions(self, name: str, key: str, kind: str, frame: pl.DataFrame) -> None:
        """Write ``<kind>.parquet`` and record its SHA-256 in the model's ``checksums.json``."""
        folder = self.model_dir(name, key)
        blob = parquet_bytes(frame)
        atomic_write(folder / f"{kind}.parquet", blob)
        sums = self._checksums(folder)
        sums[f"{kind}.parquet"] = sha256_bytes(blob)
        atomic_write(folder / "checksums.json", json.dumps(sums, indent=1).encode())

    @staticmethod
    def _checksums(folder: Path) -> dict[str, str]:
        try:
            sums = json.loads((folder / "checksums.json").read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return {}
        return sums if isinstance(sums, dict) else {}

    def write_summary(self, result: ModelResult) -> None:
        atomic_write(self.model_dir(result.name, result.key) / "summary.json", result.to_json().encode())

    def current_models(self) -> dict[str, str]:
        """name -> key of the models of the latest run, in spec order (the baseline first)."""
        return dict(self.read_meta().get("models", {}))

    def listed_models(self) -> list[str]:
        """:meth:`current_models`' names, or none where run.json is not written yet or cannot be read (its own error
        comes where the run's data is needed): for checks that only look at which models there are."""
        try:
            return list(self.current_models()) if self.exists() else []
        except StoreError:
            return []

    def has_summary(self, name: str) -> bool:
        """Whether a current model has been run (``--only`` may have left it out so far)."""
        return (self.model_dir(name, self._key(name)) / "summary.json").is_file()

    def not_run(self) -> list[str]:
        """The current models with no finished results: listed by run.json (the config's models are, whichever
        ``--only`` fitted) but not run yet, or stopped before their results were assembled. Every command that reads
        the run works on the others and names these (:meth:`not_run_note`); none ranks or blends them."""
        return [name for name in self.current_models() if not self.has_summary(name)]

    def not_run_note(self) -> str | None:
        """One line naming :meth:`not_run` and the command that fits them; None when every model has run."""
        names = self.not_run()
        if not names:
            return None
        return f"listed but not run yet (not ranked or blended): {', '.join(names)}; run them with {fit_command(names)}"

    def not_run_error(self, name: str) -> StoreError:
        """What a command asked for a model of :meth:`not_run` by name raises."""
        return StoreError(
            f"model {name!r} has not been run yet in {self.root} (its config lists it; no finished results); run it "
            f"with {fit_command([name])}"
        )

    def read_summary(self, name: str) -> ModelResult:
        key = self._key(name)
        path = self.model_dir(name, key) / "summary.json"
        if not path.is_file():
            raise self.not_run_error(name)
        try:
            return ModelResult.from_json(path.read_text())
        except (json.JSONDecodeError, TypeError, KeyError, UnicodeDecodeError) as exc:
            raise StoreError(
                f"{path} is corrupted ({type(exc).__name__}); rerun `kaggle-kit run` on its config to write it again "
                "(finished folds are reused)"
            ) from None

    def read_predictions(self, name: str, kind: str) -> pl.DataFrame:
        """The assembled ``oof`` or ``test`` predictions of a current model."""
        path = self.model_dir(name, self._key(name)) / f"{kind}.parquet"
        if not path.is_file():
            if kind == "test" and self.read_meta().get("n_test") == 0:  # finished, but there were no test rows
                raise StoreError(
                    f"model {name!r} has no test predictions in {self.root}: the run had no test rows (no data.test); "
                    f"predict the test file with `kaggle-kit predict {self.root} --test FILE --model {name}`, or set "
                    "data.test in the config and run it again"
                )
            if self.has_summary(name) and (summary := self.read_summary(name)).status != "ok":
                raise StoreError(
                    f"model {name!r} has no {kind} predictions in {self.root}: it did not finish ({summary.why}); "
                    f"{summary.rerun}"
                )
            if not self.has_summary(name):
                raise self.not_run_error(name)
            raise StoreError(f"model {name!r} has no {kind} predictions in {self.root}; its run did not finish")
        blob = path.read_bytes()
        fix = "rerun `kaggle-kit run` on its config to rebuild it from the folds (refitting any corrupted fold)"
        expected = self._checksums(path.parent).get(path.name)
        if expected is not None and sha256_bytes(blob) != expected:
            raise StoreError(f"{path} does not match its checksum in checksums.json (corrupted or edited); {fix}")
        try:
            return pl.read_parquet(io.BytesIO(blob))
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise StoreError(f"{path} is not a readable parquet file ({type(exc).__name__}); {fix}") from None

    def _key(self, name: str) -> str:
        models = self.current_models()
        if name not in models:
            from ..errors import allowed, did_you_mean

            raise StoreError(
                f"no model named {name!r} in {self.root}; it has {allowed(models)}.{did_you_mean(name, models)}"
            )
        return models[name]


def fit_command(names: list[str]) -> str:
    """The command that fits the run's models ``names`` (finished folds reused): ``--only`` for a config's models;
    a pseudo-labelling round (``lgbm@pl1``) is fitted by a run without ``--only``, which skips the rounds."""
    plain = [n for n in names if "@pl" not in n]  # runtime.pseudo.TAG (that module imports this one)
    if len(plain) < len(names):
        return "`kaggle-kit run CONFIG` (finished folds are reused)"
    return f"`kaggle-kit run CONFIG --only {','.join(plain)}` (finished folds are reused)"


def _discard(folder: Path) -> None:
    """Take ``folder`` out of place in one rename (so it is never half-deleted in place), then delete it."""
    aside = folder.with_name(f".{folder.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    os.rename(folder, aside)
    shutil.rmtree(aside, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    for p in path.iterdir():
        with open(p, "rb") as fh:
            os.fsync(fh.fileno())
