"""The training target of a run, which blending needs and the run store does not (yet) hold.

In order: ``y`` passed in (checked for length and class codes); a copy cached by an earlier blend in
``RUN_DIR/blends/target.npy`` (valid while the run's data fingerprint is unchanged); the competition data read again
through a config (``config=``, or the run's own ``spec.toml``, whose relative data paths are tried against the
folders a config usually sits beside). Data read again must have the fingerprint the run recorded, so a wrong file
can never supply the target.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, KitError, StoreError
from ..store import RunStore, atomic_write, npy_bytes

TARGET_FILE = "target.npy"
TARGET_META = "target.json"


def run_target(
    store: RunStore, *, y: np.ndarray | None = None, config: Path | str | None = None, cache: bool = True
) -> np.ndarray:
    """The run's target in train row order: class codes ``0..C-1`` or regression values; ``cache=False`` leaves
    the run folder untouched."""
    meta = store.read_meta()
    if y is not None:
        return check_target(np.asarray(y), meta)
    cached = _read_cache(store, meta)
    if cached is not None:
        return cached
    if config is not None:
        from ..config import load_spec

        target = _from_spec(load_spec(config), meta, where=f"the config {str(config)!r}")
        if target is None:
            raise DataError(
                f"the data of the config {str(config)!r} differ from the data the run {str(store.root)!r} was "
                "made from (another data fingerprint); pass the config the run was made with"
            )
    else:
        target = _from_run_spec(store, meta)
    if cache:
        _write_cache(store, meta, target)
    return target


def check_target(y: np.ndarray, meta: dict) -> np.ndarray:
    n = int(meta["n_train"])
    if y.ndim != 1 or y.shape[0] != n:
        raise DataError(f"y has shape {y.shape} but the run has {n} training rows; pass one target value per row")
    classes = meta.get("classes")
    if classes is not None:
        if y.dtype.kind not in "iub" or y.min() < 0 or y.max() >= len(classes):
            raise DataError(
                f"y must hold class codes 0..{len(classes) - 1} (the index of each row's label in {classes[:10]}); "
                f"got values from {y.min()!r} to {y.max()!r}"
            )
        return y.astype(np.int64)
    return y.astype(np.float64)


def _from_run_spec(store: RunStore, meta: dict) -> np.ndarray:
    from ..config import build_spec

    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    spec_path = store.root / "spec.toml"
    if not spec_path.is_file():
        raise StoreError(f"{str(store.root)!r} has no spec.toml to find the training data; {_HOW}")
    raw = tomllib.loads(spec_path.read_text())
    tried = []
    for base in (store.root.parent, store.root, Path.cwd(), Path.cwd() / "competitions"):
        spec = build_spec(raw, base_dir=base, source=str(spec_path))
        train = spec.resolve(spec.data.train)
        tried.append(str(train))
        if not train.is_file():
            continue
        target = _from_spec(spec, meta, where=str(train))
        if target is not None:
            return target
    raise StoreError(
        f"cannot find the training data of the run {str(store.root)!r} to read its target (tried "
        f"{', '.join(sorted(set(tried)))}); {_HOW}"
    )


_HOW = (
    "pass the competition config (`kaggle-kit blend RUN_DIR --config competitions/<name>.toml`, "
    "or config=/y= in Python)"
)


def _from_spec(spec: object, meta: dict, *, where: str) -> np.ndarray | None:
    from ..data import load_competition

    try:
        data = load_competition(spec)  # type: ignore[arg-type]
    except (KitError, ConfigError) as exc:
        raise DataError(f"cannot read the run's training data from {where}: {exc}") from None
    if data.fingerprint() != meta.get("data_fingerprint"):
        return None
    return check_target(np.asarray(data.y), meta)


def _read_cache(store: RunStore, meta: dict) -> np.ndarray | None:
    folder = store.root / "blends"
    try:
        recorded = json.loads((folder / TARGET_META).read_text())
        if recorded.get("data_fingerprint") != meta.get("data_fingerprint"):
            return None
        y = np.load(io.BytesIO((folder / TARGET_FILE).read_bytes()), allow_pickle=False)
        return check_target(y, meta)
    except (OSError, ValueError, KitError):
        return None


def _write_cache(store: RunStore, meta: dict, y: np.ndarray) -> None:
    folder = store.root / "blends"
    try:
        atomic_write(folder / TARGET_FILE, npy_bytes(y))
        atomic_write(folder / TARGET_META, json.dumps({"data_fingerprint": meta.get("data_fingerprint")}).encode())
    except OSError:  # a read-only run folder: the target is simply read again next time
        pass
