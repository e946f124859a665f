"""The competition data behind a run folder, for the report sections that need more than the run store holds
(error analysis needs the target and the rows; adversarial validation needs the train and test rows).

The run folder keeps the spec (``spec.toml``) but not the data, and the spec's data paths may be relative to the
config file's folder, which the spec does not record. :func:`load_run_data` tries, in order: an explicit
``base_dir``, ``run.json``'s ``config_dir`` when a runner records it, the folder that makes the spec's sample
submission path land on the absolute one ``run.json`` records, and the working directory. Data whose fingerprint
differs from the run's is refused: the report would analyse other rows than the models saw.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import build_spec
from ..errors import DataError, KitError, StoreError
from ..readers.competition import CompetitionData, load_competition
from ..runtime.store import RunStore

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def load_run_data(run_dir: Path | str, *, base_dir: Path | str | None = None) -> CompetitionData:
    """Load and check the data a run was trained on (see the module docstring for how its files are found)."""
    store = RunStore(run_dir)
    meta = store.read_meta()
    spec_path = store.root / "spec.toml"
    if not spec_path.is_file():
        raise StoreError(f"{spec_path} is missing; the report cannot find the run's data without it")
    raw = tomllib.loads(spec_path.read_text())
    tried = []
    for folder in _candidate_dirs(raw, meta, base_dir):
        spec = build_spec(raw, base_dir=folder, source=str(spec_path))
        train_path = spec.resolve(spec.data.train)
        tried.append(str(train_path))
        if not train_path.is_file():
            continue
        data = load_competition(spec)
        check_run_data(meta, data, f"{str(store.root)!r} (read from {str(train_path)!r})")
        return data
    raise DataError(
        f"cannot find the training data of run {str(store.root)!r} (tried {', '.join(tried) or 'nothing'}); pass "
        "base_dir= (the config file's folder) or the frames themselves"
    )


def check_run_data(meta: dict, data: CompetitionData, run: str) -> None:
    """Refuse data other than the run was trained on (its fingerprint is in ``run.json``)."""
    if meta.get("data_fingerprint") and data.fingerprint() != meta["data_fingerprint"]:
        raise DataError(
            f"the data given is not the data run {run} was trained on (its fingerprint differs); pass the frames the "
            "run was trained on, or rerun"
        )


def try_load_run_data(run_dir: Path | str, *, base_dir: Path | str | None = None) -> tuple[CompetitionData | None, str]:
    """:func:`load_run_data`, or None and the reason it could not."""
    try:
        return load_run_data(run_dir, base_dir=base_dir), ""
    except KitError as exc:
        return None, str(exc)


def _candidate_dirs(raw: dict, meta: dict, base_dir: Path | str | None) -> list[Path]:
    out: list[Path] = []
    if base_dir is not None:
        out.append(Path(base_dir))
    if meta.get("config_dir"):
        out.append(Path(meta["config_dir"]))
    sample_rel = raw.get("data", {}).get("sample_submission")
    sample_abs = meta.get("sample_submission")
    if sample_rel and sample_abs and not Path(sample_rel).is_absolute():
        target = Path(sample_abs).resolve()
        for ancestor in target.parents:  # the config folder F satisfies (F / sample_rel).resolve() == sample_abs
            if (ancestor / sample_rel).resolve() == target:
                out.append(ancestor)
                break
    out.append(Path.cwd())
    return list(dict.fromkeys(out))
