"""What a run is recorded as, in the history database and in MLflow alike: one snapshot read from the run store.

The snapshot holds the run's identity (competition, task, metric, the hash of its spec, the kit's version and the
user's code version) and its results (every current model's CV and fold scores, every blend).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..blend.engine import stored_guard
from ..config import spec_hash
from ..errors import StoreError
from ..metrics import get_metric
from ..runtime.store import ModelResult, RunStore
from .blends import BlendSummary, current_blends, read_blends

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class RunSnapshot:
    """A run's identity and results at one moment."""

    run_dir: Path
    competition: str
    task: str
    metric: str
    greater_is_better: bool
    config_hash: str | None
    kit_version: str
    code_version: str | None
    data_fingerprint: str | None
    folds_fingerprint: str | None
    n_train: int | None
    n_test: int | None
    models: tuple[ModelResult, ...]
    blends: tuple[BlendSummary, ...]
    # blends without test predictions in a run with test rows: recorded, never the run's best (`submit --best` cannot
    # submit them, and the report never names them the best)
    untested: tuple[str, ...] = ()


def snapshot(run_dir: Path | str, *, code_dir: Path | str | None = None) -> RunSnapshot:
    """Read a run folder's identity and results; ``code_dir`` (default: the working directory) is where the user's
    code lives, for its git commit."""
    store = RunStore(run_dir)
    meta = store.read_meta()
    models = []
    for name in store.current_models():
        try:
            models.append(store.read_summary(name))
        except StoreError:  # a model whose run never finished has no summary: nothing to record
            continue
    # those made from the current versions of their models, as `report` ranks them: a run refit after a blend is
    # recorded at its end, and the stale blend had been its best in `kaggle-kit history`; a stored stacker the guard
    # over stored blends leaves out, as `report` and `submit --best` leave it out (it had been the history's best)
    blends, _ = stored_guard(current_blends(store.root, read_blends(store.root))[0], get_metric(meta["metric"]))
    has_test = int(meta.get("n_test") or 0) > 0
    return RunSnapshot(
        run_dir=store.root.resolve(),
        competition=str(meta.get("name") or store.root.name),
        task=meta["task"],
        metric=meta["metric"],
        greater_is_better=get_metric(meta["metric"]).greater_is_better,
        config_hash=config_hash(store.root),
        kit_version=str(meta.get("kit_version") or __version__),
        code_version=code_version(Path(code_dir) if code_dir else Path.cwd()),
        data_fingerprint=meta.get("data_fingerprint"),
        folds_fingerprint=meta.get("folds_fingerprint"),
        n_train=meta.get("n_train"),
        n_test=meta.get("n_test"),
        models=tuple(models),
        blends=tuple(blends),
        untested=tuple(b.name for b in blends if has_test and not (b.folder / "test.parquet").is_file()),
    )


def config_hash(run_dir: Path | str) -> str | None:
    """The hash of the run's spec (``spec.toml``) as data: formatting and comments do not change it."""
    path = Path(run_dir) / "spec.toml"
    if not path.is_file():
        return None
    try:
        return spec_hash(tomllib.loads(path.read_text()))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None


def code_version(start: Path) -> str | None:
    """``git:<commit>`` of the repository holding ``start`` (read from ``.git`` without running git), else None."""
    for folder in [start.resolve(), *start.resolve().parents]:
        git = folder / ".git"
        if git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = git.read_text().strip()
            if not text.startswith("gitdir:"):
                return None
            git = (folder / text.removeprefix("gitdir:").strip()).resolve()
        if git.is_dir():
            commit = _head_commit(git)
            return f"git:{commit[:12]}" if commit else None
    return None


def _head_commit(git: Path) -> str | None:
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head.removeprefix("ref:").strip()
        common = git
        if (git / "commondir").is_file():  # a linked worktree keeps its refs in the main repository
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for root in (git, common):
            if (root / ref).is_file():
                return (root / ref).read_text().strip()
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0]
    except (OSError, UnicodeDecodeError):
        return None
    return None
