"""``kaggle-kit init``: write a new competition config from a data file, with the roles it infers shown to the user.

Inference, each overridable: the test file (``test.*`` beside train) and the sample submission
(``sample_submission.*``); the target = the one train column missing from test, else the sample submission's
prediction column, else a column named target / label / y / class; the id = the sample submission's first column, else
a unique column named id / *Id / *_id; the task from the target (2 values: binary; up to 50 whole-number or text
values: multiclass; else regression); the metric from the task.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import polars as pl

from .config import SAFE_NAME, build_spec
from .data import ReadOptions, read_table
from .errors import ConfigError, DataError

DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
_TARGET_NAMES = ("target", "label", "y", "class")


def _sibling(train: Path, stem: str) -> Path | None:
    for suffix in (".csv", ".parquet", ".csv.gz"):
        candidate = train.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def infer_spec(
    slug: str,
    train_path: Path,
    *,
    task: str | None = None,
    target: str | None = None,
    id_column: str | None = None,
    metric: str | None = None,
) -> tuple[dict, list[str]]:
    """The spec (as a TOML-able dict) and one line per inference, for the user to confirm."""
    if not SAFE_NAME.match(slug):
        raise ConfigError(f"the competition slug must be letters, digits, '_', '-' or '.'; got {slug!r}")
    # leniently: a column of numbers written as text is a question for `kaggle-kit run` (its error names the
    # [data] key to add to the config written here), not a reason to write no config at all
    lenient = ReadOptions(lenient=True)
    train = read_table(train_path, role="train", options=lenient)
    test_path, sample_path = _sibling(train_path, "test"), _sibling(train_path, "sample_submission")
    test = read_table(test_path, role="test", options=lenient) if test_path else None
    sample = pl.read_csv(sample_path, n_rows=5) if sample_path and sample_path.suffix == ".csv" else None
    why: list[str] = []

    if target is None:
        missing = [c for c in train.columns if test is not None and c not in test.columns]
        by_name = [c for c in train.columns if c.lower() in _TARGET_NAMES]
        from_sample = [c for c in (sample.columns[1:] if sample is not None else []) if c in train.columns]
        for found, reason in (
            (missing, "the only train column test lacks"),
            (from_sample, "the sample's column"),
            (by_name, "its name"),
        ):
            if len(found) == 1:
                target, _ = found[0], why.append(f"target = {found[0]!r} ({reason})")
                break
        if target is None:
            raise DataError(f"cannot tell the target column of {train_path}; pass --target (columns: {train.columns})")
    elif target not in train.columns:
        raise DataError(f"--target {target!r} is not a column of {train_path}: {train.columns}")

    if id_column is None:
        candidates = [sample.columns[0]] if sample is not None else []
        candidates += [c for c in train.columns if re.fullmatch(r"(?i)id|.*_id|.*Id", c)]
        id_column = next((c for c in candidates if c in train.columns and train[c].is_unique().all()), None)
        why.append(f"id = {id_column!r}" if id_column else "id: none found (rows are numbered)")

    y = train[target]
    if task is None:
        n = y.n_unique()
        whole = y.dtype in (pl.String, pl.Boolean, pl.Categorical) or (
            y.dtype.is_numeric() and (y.drop_nulls() % 1 == 0).all()
        )
        task = "binary" if n == 2 else "multiclass" if whole and n <= 50 else "regression"
        why.append(f"task = {task!r} ({n} distinct target values)")
    metric = metric or DEFAULT_METRIC[task]
    why.append(f"metric = {metric!r}")

    rel = lambda p: str(p.resolve())  # noqa: E731 - absolute: the config may live anywhere
    data: dict = {"train": rel(train_path), "target": target}
    if test_path:
        data["test"] = rel(test_path)
    if sample_path:
        data["sample_submission"] = rel(sample_path)
    if id_column:
        data["id"] = id_column
    spec = {
        "name": slug,
        "task": task,
        "metric": metric,
        "seed": 42,
        "data": data,
        "models": [
            {
                "name": "lgbm",
                "kind": "lightgbm",
                "num_boost_round": 5000,
                "early_stopping_rounds": 200,
                "params": {"learning_rate": 0.03, "num_leaves": 31},
            },
            {
                "name": "xgb",
                "kind": "xgboost",
                "num_boost_round": 5000,
                "early_stopping_rounds": 200,
                "params": {"learning_rate": 0.03, "max_depth": 6},
            },
        ],
    }
    build_spec(spec, source=f"the inferred config for {slug!r}")  # what is written must load
    return spec, why


def write_config(
    slug: str, train_path: Path, out_dir: Path, *, overwrite: bool = False, **overrides: str | None
) -> tuple[Path, list[str]]:
    spec, why = infer_spec(slug, train_path, **overrides)
    for key in ("train", "test", "sample_submission"):  # relative to the config, as configs are read
        if key in spec["data"]:
            spec["data"][key] = os.path.relpath(spec["data"][key], out_dir.resolve())
    path = out_dir / f"{slug}.toml"
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} exists; pass --force to overwrite it, or choose another slug")
    out_dir.mkdir(parents=True, exist_ok=True)
    header = "# Written by `kaggle-kit init`; check the inferred roles below, then: kaggle-kit run " + str(path) + "\n"
    path.write_text(header + "".join(f"# {line}\n" for line in why) + build_spec(spec, base_dir=out_dir).to_toml())
    return path, why
