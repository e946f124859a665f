"""Files that a model's params name (a backbone's ``pretrained`` weights): where they are and what they hold.

A relative path means the config file's folder, as a spec's data paths do (``CompetitionSpec.base_dir``), so a run
started from another working directory finds the same file. The run store's key hashes a file's content, not its
path: a checkpoint replaced under the same name refits the model, the same checkpoint moved (and the spec's path
changed) reuses the finished folds. Which params are files is read from the kind's param schema (the net kinds'
``path_string`` params); the other kinds name no files.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..config import ModelSpec
from ..errors import ConfigError

#: (path, size, mtime_ns, inode, ctime_ns) -> sha256: a file is read once per change. The change time is the
#: kernel's (no tool sets it back, as ``cp -p``, ``touch -r`` or an archive's extraction set the modification time):
#: a checkpoint of the same size written in place under an old modification time kept the old file's digest in this
#: process, and the run reused the folds fitted on the old weights
_DIGESTS: dict[tuple[str, int, int, int, int], str] = {}


def weight_files(model: ModelSpec) -> dict[str, str]:
    """``param key -> path`` as the spec gives it, for the params of ``model``'s kind that name a file."""
    from .nn.families import FAMILIES  # the schemas only: no torch
    from .nn.params import path_string

    family = FAMILIES.get(model.kind)
    if family is None:
        return {}
    schema = family.schema
    return {
        k: v for k, v in model.params.items() if isinstance(v, str) and k in schema and schema[k].check is path_string
    }


def resolve_path(path: str, base_dir: Path) -> Path:
    """``path`` (``~`` expanded) if absolute, else relative to ``base_dir``."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(os.path.normpath(base_dir / p))


def resolve_files(model: ModelSpec, base_dir: Path) -> ModelSpec:
    """``model`` with its file params as paths from ``base_dir`` (the config file's folder); unchanged if it has
    none or they are absolute."""
    files = weight_files(model)
    resolved = {k: str(resolve_path(v, base_dir)) for k, v in files.items()}
    if resolved == files:
        return model
    return model.model_copy(update={"params": {**model.params, **resolved}})


def file_digest(path: Path, *, model: str, key: str) -> str:
    """The SHA-256 of the file's bytes (cached while its size, modification and change times and inode stay)."""
    try:
        stat = path.stat()
    except OSError:
        raise ConfigError(
            f"model {model!r}: params.{key}: file {str(path)!r} does not exist; give an absolute path (on Kaggle: "
            "'/kaggle/input/<dataset>/<file>.pth') or one relative to the config file's folder"
        ) from None
    cache = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)
    if cache not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        _DIGESTS[cache] = digest.hexdigest()
    return _DIGESTS[cache]


def file_fingerprints(model: ModelSpec, base_dir: Path) -> dict[str, dict[str, str]]:
    """``param key -> {"sha256": ...}`` of ``model``'s files: what the store's key hashes instead of their paths.

    A missing file gives ``{"missing": path}``: such a model cannot be fitted (its check says so before anything
    trains), but a run that does not fit it (``--only`` another model) still records a key for it.
    """
    out: dict[str, dict[str, str]] = {}
    for key, value in weight_files(model).items():
        path = resolve_path(value, base_dir)
        if path.is_file():
            out[key] = {"sha256": file_digest(path, model=model.name, key=key)}
        else:
            out[key] = {"missing": str(path)}
    return out
