"""The run directory: fold ids, per-fold predictions and models, assembled OOF / test predictions, metadata.

Layout (``<key>`` is a hash of everything a model's predictions depend on: its spec, the data, the folds)::

    runs/<run>/run.json                          task, metric, classes, fingerprints, the current models' keys
    runs/<run>/spec.toml                         the spec of the latest run
    runs/<run>/folds.parquet                     id + fold_r0, fold_r1, ... (-1 = never validated)
    runs/<run>/target.parquet                    id + y: the target as models see it (class codes, or values)
    runs/<run>/models/<name>/<key>/folds/r0_f3/  valid.npy, test.npy, the native model file, result.json
    runs/<run>/models/<name>/<key>/oof.parquet   id + one float32 column per class (row order = train order)
    runs/<run>/models/<name>/<key>/test.parquet  id + the same columns, averaged over folds
    runs/<run>/models/<name>/<key>/summary.json  CV score, per-fold scores, timings

A fold folder is written under a temporary name and renamed into place in one step, so a fold either exists whole
or not at all: a run killed at any moment leaves nothing a later run would trust. ``result.json`` records the
SHA-256 of every file, checked when predictions are read back.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .errors import StoreError
from .folds import Folds

FORMAT_VERSION = 1


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
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> FoldResult:
        return cls(**json.loads(text))


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

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_scores)) if self.fold_scores else float("nan")

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
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
            raise StoreError(f"{self.meta_path} is corrupted ({exc}); delete the run folder and run again") from None

    def write_meta(self, meta: dict[str, Any]) -> None:
        atomic_write(self.meta_path, json.dumps({**meta, "format_version": FORMAT_VERSION}, indent=1).encode())

    def ensure_writable(self) -> None:
        """Fail before any training if the run folder cannot be written (read-only mount, disk full)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"x" * 4096)
            probe.unlink()
        except OSError as exc:
            raise StoreError(
                f"cannot write to the run folder {str(self.root)!r} ({exc.strerror or exc}); choose another "
                "--runs-root or free some space"
            ) from None

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

    # ----------------------------------------------------------------- target
    @property
    def target_path(self) -> Path:
        return self.root / "target.parquet"

    def save_target(self, ids: pl.Series, y: np.ndarray) -> None:
        """The training target in train row order (class codes for classification), so that blends and reports
        can score OOF predictions from the run folder alone."""
        atomic_write(self.target_path, parquet_bytes(pl.DataFrame([ids, pl.Series("y", y)])))

    def read_target(self) -> np.ndarray:
        if not self.target_path.is_file():
            raise StoreError(f"{self.target_path} is missing; run the competition again to write it")
        return pl.read_parquet(self.target_path)["y"].to_numpy()

    # ----------------------------------------------------------------- per-fold results
    def model_dir(self, name: str, key: str) -> Path:
        return self.root / "models" / name / key

    def fold_dir(self, name: str, key: str, repeat: int, fold: int) -> Path:
        return self.model_dir(name, key) / "folds" / f"r{repeat}_f{fold}"

    def finished(self, name: str, key: str, repeat: int, fold: int) -> FoldResult | None:
        """The fold's result if it was written whole, else None (it will be fitted)."""
        path = self.fold_dir(name, key, repeat, fold) / "result.json"
        if not path.is_file():
            return None
        try:
            result = FoldResult.from_json(path.read_text())
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
            return None
        if not all((path.parent / f).is_file() for f in result.files):
            return None
        return result

    def write_fold(
        self,
        result: FoldResult,
        *,
        valid_pred: np.ndarray,
        test_pred: np.ndarray | None,
        save_model: Callable[[Path], None],
        extra: dict[str, bytes] | None = None,
    ) -> FoldResult:
        """Write a fold's files into a temporary folder, record their checksums, and rename it into place."""
        final = self.fold_dir(result.model, result.key, result.repeat, result.fold)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
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
            try:
                os.rename(tmp, final)
            except OSError:
                if self.finished(result.model, result.key, result.repeat, result.fold) is None:
                    raise
                shutil.rmtree(tmp, ignore_errors=True)  # another worker finished the same fold first
            return done
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def read_fold_array(self, result: FoldResult, fname: str) -> np.ndarray:
        path = self.fold_dir(result.model, result.key, result.repeat, result.fold) / fname
        blob = path.read_bytes()
        if sha256_bytes(blob) != result.files.get(fname):
            raise StoreError(
                f"{path} does not match the checksum in its result.json (a corrupted or edited file); delete the "
                f"folder {path.parent} and run again to refit that fold"
            )
        return np.load(io.BytesIO(blob), allow_pickle=False)

    # ----------------------------------------------------------------- assembled predictions
    def write_predictions(self, name: str, key: str, kind: str, frame: pl.DataFrame) -> None:
        atomic_write(self.model_dir(name, key) / f"{kind}.parquet", parquet_bytes(frame))

    def write_summary(self, result: ModelResult) -> None:
        atomic_write(self.model_dir(result.name, result.key) / "summary.json", result.to_json().encode())

    def current_models(self) -> dict[str, str]:
        """name -> key of the models of the latest run, in spec order (the baseline first)."""
        return dict(self.read_meta().get("models", {}))

    def has_summary(self, name: str) -> bool:
        """Whether a current model has been run (``--only`` may have left it out so far)."""
        return (self.model_dir(name, self._key(name)) / "summary.json").is_file()

    def read_summary(self, name: str) -> ModelResult:
        key = self._key(name)
        path = self.model_dir(name, key) / "summary.json"
        if not path.is_file():
            raise StoreError(f"model {name!r} has no finished results in {self.root}; run it first")
        return ModelResult.from_json(path.read_text())

    def read_predictions(self, name: str, kind: str) -> pl.DataFrame:
        """The assembled ``oof`` or ``test`` predictions of a current model."""
        path = self.model_dir(name, self._key(name)) / f"{kind}.parquet"
        if not path.is_file():
            raise StoreError(f"model {name!r} has no {kind} predictions in {self.root}; its run did not finish")
        return pl.read_parquet(path)

    def _key(self, name: str) -> str:
        models = self.current_models()
        if name not in models:
            from .errors import allowed, did_you_mean

            raise StoreError(
                f"no model named {name!r} in {self.root}; it has {allowed(models)}.{did_you_mean(name, models)}"
            )
        return models[name]


def _fsync_dir(path: Path) -> None:
    for p in path.iterdir():
        with open(p, "rb") as fh:
            os.fsync(fh.fileno())
