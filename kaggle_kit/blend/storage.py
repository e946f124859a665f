"""Blends and imported predictions in the run folder, next to the models.

Layout::

    runs/<run>/blends/<name>/oof.parquet       id + one float32 column per class: the nested-CV OOF of the blend
    runs/<run>/blends/<name>/test.parquet      id + the same columns: the blend of the test predictions
    runs/<run>/blends/<name>/checksums.json    the SHA-256 of oof.parquet and test.parquet, checked on every read
    runs/<run>/blends/<name>/summary.json      a BlendResult: method, models and their keys, weights, scores
    runs/<run>/blends/<name>/level2.json|.npz  a stacker's level-2 model of each nested-CV fold (their pool: test);
                                               for calibrated_hill_climb, each fold's weights and twins' models
    runs/<run>/external/<name>/oof.parquet     predictions made elsewhere, checked and put in the run's row order
    runs/<run>/external/<name>/test.parquet
    runs/<run>/external/<name>/source.json     where they came from, their key (a content hash), the fold check

Every file is written atomically and the summary last (an earlier one is removed first), so a folder with a summary
is complete. No pickle: parquet, JSON and ``.npz`` read with ``allow_pickle=False`` only.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import ConfigError, KitError, StoreError, allowed, did_you_mean
from ..runtime.store import RunStore, atomic_write, parquet_bytes, sha256_bytes
from .calibrated import CalibratedFit, CalibratedHillClimb
from .result import BlendResult

BLENDS = "blends"
CHECKSUMS = "checksums.json"
#: a stacker's level-2 fold models: JSON (estimator classes and parameters) + the arrays they learned
LEVEL2 = ("level2.json", "level2.npz")
LEVEL2_FORMAT = "kaggle_kit.level2/1"
EXTERNAL = "external"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")


def check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name):
        raise ConfigError(
            f"the {what} name {name!r} must start with a letter or digit and use only letters, digits and "
            "'_', '.', '+', '-' (it names a folder); e.g. 'wide_deep'"
        )
    return name


# --------------------------------------------------------------------------------------------- blends
def blend_dir(root: Path, name: str) -> Path:
    return root / BLENDS / check_name(name, "blend")


def write_blend(
    store: RunStore,
    result: BlendResult,
    oof: pl.DataFrame,
    test: pl.DataFrame | None,
    level2: Sequence[Any] = (),
) -> Path:
    """Write a blend's predictions and a stacker's ``level2`` fold models (:data:`LEVEL2`), their SHA-256 in
    ``checksums.json`` (as a model's), then its summary."""
    folder = blend_dir(store.root, result.name)
    (folder / "summary.json").unlink(missing_ok=True)
    for stale in ("test.parquet", *LEVEL2):
        (folder / stale).unlink(missing_ok=True)
    blobs = {
        f"{kind}.parquet": parquet_bytes(frame) for kind, frame in (("oof", oof), ("test", test)) if frame is not None
    }
    blobs.update(_level2_blobs(level2))
    sums = {}
    for fname, blob in blobs.items():
        atomic_write(folder / fname, blob)
        sums[fname] = sha256_bytes(blob)
    atomic_write(folder / CHECKSUMS, json.dumps(sums, indent=1).encode())
    atomic_write(folder / "summary.json", result.to_json().encode())
    return folder


def read_blend_frame(folder: Path, kind: str, fix: str) -> pl.DataFrame | None:
    """A blend folder's ``<kind>.parquet`` (None when absent), refused with ``fix`` when it does not match the
    checksum recorded when it was written (hand-edited or corrupted) or cannot be read."""
    path = folder / f"{kind}.parquet"
    if not path.is_file():
        return None
    blob = path.read_bytes()
    try:
        sums = json.loads((folder / CHECKSUMS).read_text())
    except FileNotFoundError:
        sums = None  # a blend stored before checksums were recorded
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{folder / CHECKSUMS} is corrupted ({type(exc).__name__}); {fix}") from None
    if sums is not None and (not isinstance(sums, dict) or sums.get(path.name) != sha256_bytes(blob)):
        raise StoreError(f"{path} does not match its checksum in {CHECKSUMS} (a hand-edited or corrupted file); {fix}")
    try:
        return pl.read_parquet(io.BytesIO(blob))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise StoreError(f"{path} is not a readable parquet file ({type(exc).__name__}); {fix}") from None


def _level2_blobs(models: Sequence[Any]) -> dict[str, bytes]:
    """A stacker's fitted level-2 models (scikit-learn pipelines), or a calibrated selection's fold fits
    (:class:`~.calibrated.CalibratedFit`: weights, twins and their pipelines), as JSON + ``.npz`` (never pickle);
    nothing when there are none or one has no safe format (``predict`` then fits them again from the stored OOF)."""
    from ..models.sklearn_state import NotPersistable, dump_estimator

    if not models:
        return {}
    nodes: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    try:
        for i, model in enumerate(models):
            if isinstance(model, CalibratedFit):
                twins = []
                for j, cal in enumerate(model.calibrators):
                    node, twin_arrays = dump_estimator(cal, f"fold{i}_twin{j}")
                    twins.append(node)
                    arrays.update(twin_arrays)
                weights = [float(w) for w in model.weights]
                nodes.append({"weights": weights, "twins": list(model.twins), "models": twins})
                continue
            node, fold_arrays = dump_estimator(model, f"fold{i}")
            nodes.append(node)
            arrays.update(fold_arrays)
    except NotPersistable:
        return {}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    meta = json.dumps({"format": LEVEL2_FORMAT, "folds": nodes}, separators=(",", ":")).encode()
    return {LEVEL2[0]: meta, LEVEL2[1]: buf.getvalue()}


def read_level2(run_dir: Path | str, blend: BlendResult, fix: str) -> list[Any] | None:
    """The stored level-2 fold models of ``blend`` (None when it stored none: a weighting blend, or one made before
    they were stored), each file checked against its checksum; only scikit-learn estimator classes are built, from
    JSON, and arrays are read with ``allow_pickle=False``. Each fold fit must also be of the kind ``blend``'s method
    stores, over its models (a calibrated selection's weights: one per model and twin), so a crafted or mismatched
    file is refused here, not turned into an error or a wrong prediction."""
    folder = blend_dir(Path(run_dir), blend.name)
    if not (folder / LEVEL2[0]).is_file():
        return None
    try:
        sums = json.loads((folder / CHECKSUMS).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{folder / CHECKSUMS} is missing or corrupted ({type(exc).__name__}); {fix}") from None
    blobs = {}
    for fname in LEVEL2:
        path = folder / fname
        blob = path.read_bytes() if path.is_file() else None
        if blob is None or not isinstance(sums, dict) or sums.get(fname) != sha256_bytes(blob):
            raise StoreError(f"{path} is missing or does not match its checksum in {CHECKSUMS}; {fix}")
        blobs[fname] = blob
    where = f"blend {blend.name!r}"
    try:
        meta = json.loads(blobs[LEVEL2[0]])
        if not isinstance(meta, dict) or meta.get("format") != LEVEL2_FORMAT:
            raise KitError(f"it is not a {LEVEL2_FORMAT} file")
        with np.load(io.BytesIO(blobs[LEVEL2[1]]), allow_pickle=False) as arrays:
            fits = [_load_fold(node, arrays, where) for node in meta["folds"]]
        _check_folds(fits, blend)
        return fits
    except (KitError, OSError, KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise StoreError(
            f"{folder / LEVEL2[0]}: the level-2 models of {where} cannot be loaded ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); it is damaged or was not written by kaggle_kit; {fix}"
        ) from None


def _load_fold(node: dict[str, Any], arrays: Any, where: str) -> Any:
    """One stored fold fit: a level-2 estimator, or a calibrated selection's weights, twins and their estimators."""
    from ..models.sklearn_state import load_estimator

    if "twins" not in node:
        return load_estimator(node, arrays, where)
    twins, models = node["twins"], [load_estimator(n, arrays, where) for n in node["models"]]
    if not isinstance(twins, list) or any(isinstance(m, bool) or not isinstance(m, int) for m in twins):
        raise KitError(f"a fold's twins must be a list of model indices; got {twins!r}")
    weights = np.asarray(node["weights"], dtype=np.float64)
    n_models = weights.size - len(twins)
    if weights.ndim != 1 or len(models) != len(twins) or n_models < 1:
        raise KitError("a fold's twins, their models and its weights do not match")
    if twins != sorted(set(twins)) or (twins and not 0 <= twins[0] <= twins[-1] < n_models):
        raise KitError(f"a fold's twins {twins} are not distinct model indices below {n_models}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not weights.sum() > 0:
        raise KitError("a fold's weights must be finite, non-negative and not all 0")
    return CalibratedFit(weights, tuple(twins), tuple(models))


def _check_folds(fits: Sequence[Any], blend: BlendResult) -> None:
    """Each stored fold fit is of the kind ``blend``'s method stores; a calibrated one weights its models."""
    calibrated = blend.method == CalibratedHillClimb.method
    for fit in fits:
        if isinstance(fit, CalibratedFit) != calibrated:
            raise KitError(f"a fold fit is not one blend method {blend.method!r} stores")
        if isinstance(fit, CalibratedFit) and fit.weights.size != len(blend.models) + len(fit.twins):
            raise KitError(
                f"a fold's {fit.weights.size} weights are not one per model ({len(blend.models)}) and twin "
                f"({len(fit.twins)})"
            )


def reblend_command(run_dir: Path | str, result: BlendResult) -> str:
    """The ``kaggle-kit blend`` command (in backquotes) that makes a stored blend again: its method, its name and
    its calibration (``hill_climb_temperature`` is ``hill_climb`` with ``--calibrate temperature``)."""
    return blend_command(run_dir, result.method, result.name, calibration_of(result.temperature, result.isotonic))


def blend_command(run_dir: Path | str, method: str, name: str, calibrate: str | None) -> str:
    flag = f" --calibrate {calibrate}" if calibrate else ""
    return f"`kaggle-kit blend {run_dir} --method {method} --name {name}{flag}`"


def calibration_of(temperature: float | None, isotonic: Any) -> str | None:
    """The ``--calibrate`` a blend was made with, from what it stored."""
    return "temperature" if temperature is not None else "isotonic" if isotonic else None


def reblend_hint(run_dir: Path | str, result: BlendResult) -> str:
    """The command that writes a blend's files again."""
    return f"make it again: {reblend_command(run_dir, result)}"


def blend_names(run_dir: Path | str) -> list[str]:
    folder = Path(run_dir) / BLENDS
    return sorted(p.parent.name for p in folder.glob("*/summary.json")) if folder.is_dir() else []


def read_blend(run_dir: Path | str, name: str) -> BlendResult:
    """The stored summary of the blend called ``name`` in a run folder."""
    path = blend_dir(Path(run_dir), name) / "summary.json"
    if not path.is_file():
        # else the hint below makes a blend of that name, which is refused
        if name in RunStore(run_dir).listed_models():
            raise ConfigError(
                f"{name!r} is a model of the run {str(run_dir)!r}, not a blend: name it with --model {name} "
                f"(model={name!r} in Python)"
            )
        names = blend_names(run_dir)
        have = f"it has {allowed(names)}." if names else "it has none yet."
        raise StoreError(
            f"no blend named {name!r} in {str(run_dir)!r}; {have}{did_you_mean(name, names)} Make one with "
            f"`kaggle-kit blend {run_dir} --method nelder_mead --name {name}`"
        )
    try:
        return BlendResult.from_json(path.read_text())
    except (json.JSONDecodeError, TypeError, KeyError) as exc:
        raise StoreError(f"{path} is corrupted ({exc}); run the blend again") from None


def read_blend_predictions(run_dir: Path | str, name: str, kind: str) -> pl.DataFrame:
    result = read_blend(run_dir, name)  # a clear error when the blend does not exist
    frame = read_blend_frame(blend_dir(Path(run_dir), name), kind, reblend_hint(run_dir, result))
    if frame is None:
        raise StoreError(f"the blend {name!r} has no {kind} predictions (its models had none)")
    return frame


# --------------------------------------------------------------------------------------------- imports
def external_dir(root: Path, name: str) -> Path:
    return root / EXTERNAL / check_name(name, "external predictions")


def write_external(
    store: RunStore, name: str, oof: pl.DataFrame, test: pl.DataFrame | None, source: dict[str, Any]
) -> None:
    folder = external_dir(store.root, name)
    (folder / "source.json").unlink(missing_ok=True)
    (folder / "test.parquet").unlink(missing_ok=True)
    atomic_write(folder / "oof.parquet", parquet_bytes(oof))
    if test is not None:
        atomic_write(folder / "test.parquet", parquet_bytes(test))
    atomic_write(folder / "source.json", json.dumps(source, indent=1).encode())


def external_sources(run_dir: Path | str) -> dict[str, dict[str, Any]]:
    """name -> source record of every set of imported predictions in the run folder."""
    folder = Path(run_dir) / EXTERNAL
    out: dict[str, dict[str, Any]] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*/source.json")):
            try:
                out[path.parent.name] = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise StoreError(f"{path} is corrupted ({exc}); import those predictions again") from None
    return out


def read_external_predictions(run_dir: Path | str, name: str, kind: str) -> pl.DataFrame | None:
    path = external_dir(Path(run_dir), name) / f"{kind}.parquet"
    return pl.read_parquet(path) if path.is_file() else None


def read_imported_test(run_dir: Path | str, name: str) -> pl.DataFrame:
    """The test predictions of the imported predictions ``name``, refused when they were imported without them."""
    frame = read_external_predictions(run_dir, name, "test")
    if frame is None:
        source = external_sources(run_dir).get(name, {})
        raise StoreError(
            f"the imported predictions {name!r} have no test predictions (imported without --test): import them "
            f"again with their test file: `kaggle-kit import-predictions {run_dir} {name} --oof "
            f"{source.get('oof') or 'OOF_FILE'} --test TEST_FILE`"
        )
    return frame
