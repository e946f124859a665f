"""``kaggle-kit init``: write a new competition config from a data file, reading the competition as a Kaggler would.

What it infers, each overridable and each shown to the user as one line:

* the files: ``test.*`` and ``sample_submission.*`` beside train; a **long table** (an id repeated over rows, one
  row per id and step) becomes ``[data.sequences]``, with the labels from a ``*labels*`` file beside it (or from the
  long table itself when the target is constant within each id) and the test ids from ``test.*``'s long table;
* the target: the one train (or labels) column missing from test, else the sample submission's prediction column,
  else a column named target / label / y / class;
* the id: the sample submission's first column, else a unique column named id / *Id / *_id;
* the task from the target (2 values: binary; up to 50 whole-number or text values: multiclass; else regression);
* the metric from the sample submission's values: labels (values of the target) mean the competition scores labels
  (accuracy), one probability column per class means log loss, probabilities of a binary target ROC AUC; when the
  sample cannot tell, the task's usual metric, said as a guess;
* free-text columns (``text = [...]``): text values of 5+ words and 30+ characters on average, mostly distinct;
* the models: a preset (:mod:`kaggle_kit.presets`, ``good`` by default) resolved for this data, written out as
  ``[[models]]`` tables with one comment line each saying why the model is there.

Data paths are written relative to the config's folder, which is how configs are read: the config works wherever the
folder holding it and the data is moved.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import polars as pl

from .config import SAFE_NAME, build_spec
from .errors import ConfigError, DataError
from .presets import DataProfile, resolve_preset
from .readers.competition import load_competition
from .readers.tables import ReadOptions, read_table

DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
_TARGET_NAMES = ("target", "label", "labels", "y", "class")
_STEP_NAMES = re.compile(r"(?i)(step|time|timestep|time_step|timestamp|t|seq|frame|measurement_number|.*_step|.*_idx)")
_SUFFIXES = (".csv", ".parquet", ".csv.gz")
#: free text (data.text): words and characters per value on average, and the share of distinct values at least
_TEXT_WORDS, _TEXT_CHARS, _TEXT_DISTINCT = 5, 30, 0.5


def _sibling(train: Path, *stems: str) -> Path | None:
    for stem in stems:
        for suffix in _SUFFIXES:
            candidate = train.with_name(stem + suffix)
            if candidate.is_file() and candidate != train:
                return candidate
    return None


#: above either, ``init`` proposes ``data.sequences.layout = "streamed"``: the wide layout's step columns (polars
#: slows past a few thousand columns) and its ``ids x steps x columns`` values (float32: 400 MB)
WIDE_COLUMNS, WIDE_VALUES = 5_000, 100_000_000


def _wide_size(long: pl.DataFrame, seq_id: str, step: str | None) -> str | None:
    """What the wide layout of ``long`` would cost, said in a line, when it is past :data:`WIDE_COLUMNS` or
    :data:`WIDE_VALUES`; None when it is small enough."""
    schema = long.schema
    columns = sum(1 for c in long.columns if c not in (seq_id, step) and schema[c].is_numeric())
    longest = int(long.group_by(seq_id).len()["len"].max() or 0)  # type: ignore[arg-type]
    ids = long[seq_id].n_unique()
    if longest * columns <= WIDE_COLUMNS and ids * longest * columns <= WIDE_VALUES:
        return None
    return f"{ids:,} sequences of up to {longest:,} steps x {columns} columns = {longest * columns:,} step columns"


def _labels_file(train: Path) -> Path | None:
    """A ``*labels*`` / ``y_train`` file beside a long training table."""
    named = _sibling(train, "train_labels", "labels", "y_train", "train_y", train.stem.split(".")[0] + "_labels")
    if named is not None:
        return named
    found = sorted(p for p in train.parent.iterdir() if "label" in p.name.lower() and p.suffix in (".csv", ".parquet"))
    return found[0] if len(found) == 1 else None


def _long_id(frame: pl.DataFrame, id_column: str | None) -> str | None:
    """The column that names a sequence in a long table: an id-like column whose values repeat."""
    candidates = [id_column] if id_column else []
    candidates += [c for c in frame.columns if re.fullmatch(r"(?i)id|.*_id|.*Id|series.*|seq.*_id|session.*", c)]
    for c in candidates:
        if c in frame.columns and frame[c].n_unique() < frame.height:
            return c
    return None


def _step_column(frame: pl.DataFrame, seq_id: str) -> str | None:
    for c in frame.columns:
        if c != seq_id and _STEP_NAMES.fullmatch(c) and frame[c].dtype.is_integer():
            return c
    return None


def _sample_metric(sample: pl.DataFrame | None, target: pl.Series, task: str, why: list[str]) -> str | None:
    """The metric the sample submission's values point to, or None when they do not tell."""
    if sample is None or sample.width < 2:
        return None
    preds = sample.columns[1:]
    if task == "regression":
        return None
    labels = set(target.drop_nulls().cast(pl.String).unique().to_list())
    if len(preds) == 1:
        values = sample[preds[0]].drop_nulls()
        as_text = set(values.cast(pl.String).unique().to_list())
        if as_text and as_text <= labels:
            shown = sorted(as_text)[:3]
            why.append(f"metric = 'accuracy' (the sample submission's {preds[0]!r} holds labels: {shown})")
            return "accuracy"
        if values.dtype.is_float() and values.min() >= 0 and values.max() <= 1:  # type: ignore[operator]
            metric = "roc_auc" if task == "binary" else None
            if metric:
                why.append(
                    "metric = 'roc_auc' (the sample submission holds probabilities; the competition's evaluation "
                    "page may say log_loss: pass --metric)"
                )
            return metric
    elif len(preds) == len(labels) and all(sample[c].dtype.is_numeric() for c in preds):
        why.append(f"metric = 'log_loss' (the sample submission holds one probability column per class: {len(preds)})")
        return "log_loss"
    return None


def free_text_columns(frame: pl.DataFrame, exclude: Collection[str | None] = ()) -> list[str]:
    """Text columns that read as free text rather than categories: on average at least ``_TEXT_WORDS`` words and
    ``_TEXT_CHARS`` characters per value, and mostly distinct values (a category repeats its few levels)."""
    found = []
    for c, dtype in frame.schema.items():
        if c in exclude or dtype != pl.String:
            continue
        values = frame[c].drop_nulls()
        if values.len() == 0:
            continue
        words = values.str.count_matches(r"\S+").mean()
        chars = values.str.len_chars().mean()
        if words >= _TEXT_WORDS and chars >= _TEXT_CHARS and values.n_unique() >= _TEXT_DISTINCT * values.len():
            found.append(c)
    return found


def infer_spec(
    slug: str,
    train_path: Path,
    *,
    task: str | None = None,
    target: str | None = None,
    id_column: str | None = None,
    metric: str | None = None,
    preset: str = "good",
) -> tuple[dict, list[str]]:
    """The spec (as a TOML-able dict, absolute paths) and one line per inference, for the user to confirm."""
    if not SAFE_NAME.match(slug):
        raise ConfigError(f"the competition slug must be letters, digits, '_', '-' or '.'; got {slug!r}")
    # leniently: a column of numbers written as text is a question for `kaggle-kit run` (its error names the
    # [data] key to add to the config written here), not a reason to write no config at all
    lenient = ReadOptions(lenient=True)
    train = read_table(train_path, role="train", options=lenient)
    test_path = _sibling(train_path, "test", train_path.name.replace("train", "test").split(".")[0])
    sample_path = _sibling(train_path, "sample_submission", "sampleSubmission", "gender_submission")
    test = read_table(test_path, role="test", options=lenient) if test_path else None
    sample = read_table(sample_path, role="sample_submission", options=lenient) if sample_path else None
    why: list[str] = []
    data: dict[str, Any] = {}

    id_hint = id_column or (sample.columns[0] if sample is not None else None)
    seq_id = _long_id(train, id_hint)
    labels_frame = train
    if seq_id is not None:  # a long table: one row per id and step
        labels_path = _labels_file(train_path)
        sequences: dict[str, Any] = {"train": str(train_path.resolve())}
        if test_path is not None:
            sequences["test"] = str(test_path.resolve())
        step = _step_column(train, seq_id)
        if step:
            sequences["order_by"] = step
        if labels_path is not None:
            labels_frame = read_table(labels_path, role="labels", options=lenient)
            data["train"] = str(labels_path.resolve())
            why.append(
                f"long table: {train_path.name} repeats {seq_id!r} ({train.height} rows, {train[seq_id].n_unique()} "
                f"ids) -> [data.sequences]; labels from {labels_path.name}"
                + (f"; steps ordered by {step!r}" if step else "")
            )
        else:
            why.append(f"long table: {train_path.name} repeats {seq_id!r} -> [data.sequences]; labels in it")
        id_column = id_column or (seq_id if seq_id in labels_frame.columns else labels_frame.columns[0])
        if id_column != seq_id:
            sequences["id"] = seq_id
        wide = _wide_size(train, seq_id, step)
        if wide is not None:
            sequences["layout"] = "streamed"
            why.append(f"{wide}: too many as columns -> layout = 'streamed' (steps end to end, read per batch)")
        data["sequences"] = sequences
        test = None  # the test ids come from the test long table
    else:
        data["train"] = str(train_path.resolve())
        if test_path:
            data["test"] = str(test_path.resolve())

    if target is None:
        missing = [c for c in labels_frame.columns if test is not None and c not in test.columns]
        by_name = [c for c in labels_frame.columns if c.lower() in _TARGET_NAMES]
        from_sample = [c for c in (sample.columns[1:] if sample is not None else []) if c in labels_frame.columns]
        not_id = [c for c in labels_frame.columns if c not in (id_column, seq_id)]
        for found, reason in (
            (missing, "the only train column test lacks"),
            (from_sample, "the sample's column"),
            (by_name, "its name"),
            (not_id if labels_frame is not train else [], "the labels file's only other column"),
        ):
            if len(found) == 1:
                target = found[0]
                why.append(f"target = {target!r} ({reason})")
                break
        if target is None:
            raise DataError(
                f"cannot tell the target column of {train_path}; pass --target (columns: {labels_frame.columns})"
            )
    elif target not in labels_frame.columns:
        raise DataError(f"--target {target!r} is not a column of {train_path}: {labels_frame.columns}")
    data["target"] = target

    if id_column is None:
        candidates = [sample.columns[0]] if sample is not None else []
        candidates += [c for c in train.columns if re.fullmatch(r"(?i)id|.*_id|.*Id", c)]
        id_column = next((c for c in candidates if c in train.columns and train[c].is_unique().all()), None)
        why.append(f"id = {id_column!r}" if id_column else "id: none found (rows are numbered)")
    if id_column:
        data["id"] = id_column
    if sample_path:
        data["sample_submission"] = str(sample_path.resolve())

    y = labels_frame[target]
    if task is None:
        n = y.n_unique()
        whole = y.dtype in (pl.String, pl.Boolean, pl.Categorical) or (
            y.dtype.is_numeric() and (y.drop_nulls() % 1 == 0).all()
        )
        task = "binary" if n == 2 else "multiclass" if whole and n <= 50 else "regression"
        why.append(f"task = {task!r} ({n} distinct target values)")
    if metric is None:
        metric = _sample_metric(sample, y, task, why)
        if metric is None:
            metric = DEFAULT_METRIC[task]
            why.append(
                f"metric = {metric!r} (the usual metric of a {task} task, a guess: the sample submission does not "
                "tell; check the competition's evaluation page and pass --metric)"
            )
    else:
        why.append(f"metric = {metric!r} (given)")

    text = free_text_columns(labels_frame, exclude={target, id_column, seq_id})
    if text:
        data["text"] = text
        for c in text:
            words = labels_frame[c].drop_nulls().str.count_matches(r"\S+").mean()
            why.append(
                f"text = [{c!r}] (free text: {words:.0f} words per row on average, mostly distinct): TF-IDF, a linear "
                "model's out-of-fold predictions, an SVD and statistics become its features inside each fold"
            )

    spec: dict[str, Any] = {"name": slug, "task": task, "metric": metric, "seed": 42, "data": data, "preset": preset}
    checked = build_spec(spec, source=f"the inferred config for {slug!r}")
    try:  # the same reading and checks as `run`: a config whose data reads cleanly runs as written
        competition = load_competition(checked)
        profile = DataProfile.of(
            competition.train, competition.features, competition.categorical, competition.task, competition.n_classes
        )
    except DataError as exc:  # e.g. numbers written as text: `run` names the [data] key to add; the models still fit
        why.append(f"the data does not read cleanly yet ({exc}); the models are chosen from the columns as read")
        features = [c for c in train.columns if c not in (target, id_column)]
        categorical = [c for c in features if train[c].dtype in (pl.String, pl.Categorical, pl.Boolean)]
        n_classes = 1 if task == "regression" else labels_frame[target].n_unique()
        profile = DataProfile.of(train, features, categorical, task, n_classes)
    resolved = resolve_preset(preset, profile)
    del spec["preset"]
    spec["models"] = [m.spec for m in resolved.models]
    if resolved.pipelines:
        spec["pipelines"] = resolved.pipelines
    why.append(f"preset = {preset!r}: {len(resolved.models)} models for {profile.n_rows:,} rows x {profile.n_features}")
    why.extend(f"  {line}" for line in resolved.lines())
    build_spec(spec, source=f"the inferred config for {slug!r}")
    return spec, why


def write_config(
    slug: str, train_path: Path, out_dir: Path, *, overwrite: bool = False, **overrides: Any
) -> tuple[Path, list[str]]:
    """Write ``<out_dir>/<slug>.toml`` with data paths relative to ``out_dir`` and one comment per model."""
    path = out_dir / f"{slug}.toml"
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} exists; pass --force to overwrite it, or choose another slug")
    spec, why = infer_spec(slug, train_path, **{k: v for k, v in overrides.items() if v is not None})
    base = out_dir.resolve()
    for table in (spec["data"], spec["data"].get("sequences", {})):
        for key in ("train", "test", "sample_submission"):
            if key in table:
                table[key] = os.path.relpath(table[key], base)
    text = build_spec(spec, base_dir=out_dir).to_toml()
    reasons = {line.split()[0]: line for line in why if line.startswith("  ")}
    text = re.sub(
        r'^\[\[models\]\]\nname = "([^"]+)"',
        lambda m: f"# {reasons.get(m.group(1), m.group(1)).strip()}\n{m.group(0)}",
        text,
        flags=re.M,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    header = f"# Written by `kaggle-kit init`; check the inferred roles below, then: kaggle-kit run {path}\n"
    path.write_text(header + "".join(f"# {line}\n" for line in why) + text)
    return path, why
