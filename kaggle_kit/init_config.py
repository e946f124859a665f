"""``kaggle-kit init``: write a new competition config from a data file, reading the competition as a Kaggler would.

What it infers, each overridable and each shown to the user as one line:

* the files: ``test.*`` and ``sample_submission.*`` beside train; a **long table** (an id repeated over rows, one
  row per id and step) becomes ``[data.sequences]``, with the labels from a ``*labels*`` file beside it (or from the
  long table itself when the target is constant within each id) and the test ids from ``test.*``'s long table;
* image files beside train, named by the id or another column (:mod:`kaggle_kit.readers.image_folders`):
  ``[data.images]``, which the preset's ``cnn`` reads;
* the target: the one train (or labels) column missing from test, else the sample submission's prediction column,
  else a column named target / label / y / class;
* the id: the sample submission's first column, else a unique column named id / *Id / *_id;
* several targets: a sample submission whose 2+ prediction columns are all train columns (not the id, not test
  columns, not the levels of one train column, which would be one target's class probabilities) names them; all
  0/1 (ignoring missing) -> ``multilabel``, else ``multiregression``; ``--target a,b,c`` names them explicitly;
* the task from the target (2 values: binary; up to 50 whole-number or text values: multiclass; else regression);
  ``distribution`` when asked (``--task distribution``), its ``[distribution]`` grid from the sample's column
  names (``Yards-99`` .. ``Yards99``), else bins spanning the target's observed range (quantile levels for pinball);
  inferred when the sample's 2+ prediction columns are one prefix and a grid of numbers (increasing, or decreasing;
  not train columns, not the levels of one train column, not exactly the target's values) over a numeric target that
  ``--target`` or the prefix names (``Yards`` for ``Yards-99``, separators and case aside): bins and ``crps``, or
  levels all in (0, 1) over a target that is not, quantiles and ``pinball``. A prefix naming no train column and no
  ``--target``: today's rules pick the target (numbered columns are also a numbered target's class probabilities)
  and a line says to pass ``--target`` for a distribution;
* the metric from the sample submission's values: labels (values of the target) mean the competition scores labels
  (accuracy), K space-separated labels per row a ranking (``map@K``), one probability column per class means log
  loss, probabilities of a binary target ROC AUC; when the
  sample cannot tell, the task's usual metric, said as a guess (several 0/1 labels: ``mean_log_loss``, as MoA; the
  sample cannot tell it from ``mean_roc_auc``, as the toxic comments competition; values: ``mean_rmse``);
* free-text columns (``text = [...]``): text values of 5+ words and 30+ characters on average, mostly distinct;
* train columns the test file lacks (not the target, not the id): ``data.drop`` (no model can read them for
  the test rows: Bike Sharing's ``casual`` and ``registered`` beside ``count``);
* the models: a preset (:mod:`kaggle_kit.presets`, ``good`` by default) resolved for this data, written out as
  ``[[models]]`` tables with one comment line each saying why the model is there.

Data paths are written relative to the config's folder, which is how configs are read: the config works wherever the
folder holding it and the data is moved.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from .config import MAX_DISTRIBUTION_GRID, MULTI_TARGET_TASKS, SAFE_NAME, FoldSpec, build_spec
from .errors import ConfigError, DataError, did_you_mean
from .metrics import get_metric
from .presets import DataProfile, resolve_preset
from .readers.codes import find_split, part_names
from .readers.competition import load_competition, strip_labels
from .readers.date_formats import find_formats
from .readers.frames import unclashing
from .readers.headers import header_key
from .readers.image_folders import find_image_files, has_folders, image_files_hint, image_folder_message
from .readers.images import image_shape
from .readers.numbers import numbers_as_text
from .readers.options import ReadOptions
from .readers.sequences import TIME_OF_DAY
from .readers.tables import is_unnamed, read_head, read_table, sniff_separator, unnamed_to_drop
from .runtime.store import KAGGLE_WRITABLE, check_writable
from .sample_submission import class_prefix, label_key, sample_numbers, saved_index, whole_label
from .submit import GRID_NAME

DEFAULT_METRIC = {
    "binary": "roc_auc",
    "multiclass": "log_loss",
    "regression": "rmse",
    "multilabel": "mean_log_loss",
    "multiregression": "mean_rmse",
}
_NO_ID = "id: none found (rows are numbered)"
_TARGET_NAMES = ("target", "label", "labels", "y", "class")
_STEP_NAMES = re.compile(r"(?i)(step|time|timestep|time_step|timestamp|t|seq|frame|measurement_number|.*_step|.*_idx)")
#: names of times (``ts`` = 1.6e9 + seconds, ``elapsed_time``) and positions that order a sequence's rows only where
#: they hold a different value in each row of an id (a sensor ``reaction_time`` repeats a value somewhere)
_TIME_NAMES = re.compile(
    r"(?i)(ts|date|datetime|date_?time|time_?stamp|.*_(ts|time|timestamp|datetime|date|at)|index|idx|cycle|.*_cycle)"
)
#: those of :data:`_TIME_NAMES` that name a measurement as often as a time or position (``reaction_time``,
#: ``lap_time``, a glucose ``index``, a charge ``cycle`` count): numbers so named order the steps only where they
#: increase within each id in the file's order already, so that init never reorders a sequence by a sensor's values
#: (and drops that sensor) where the rows held their order
_MEASURED_NAMES = re.compile(r"(?i)(.*_time|index|idx|cycle|.*_cycle)")
#: the table endings init reads, a data folder's train.* and the test.* / sample_submission.* beside it (Kaggle zips
#: some competitions' tables one by one: train.csv.zip)
TABLE_SUFFIXES = (".csv", ".parquet", ".csv.gz", ".csv.zip")
#: free text (data.text): words and characters per value on average, and the share of distinct values at least
_TEXT_WORDS, _TEXT_CHARS, _TEXT_DISTINCT = 5, 30, 0.5
#: a text column distinct in at least this share of at least this many rows is no category (_route_distinct_text)
_DISTINCT_SHARE, _DISTINCT_MIN_ROWS = 0.95, 50
#: a code column distinct in at least this share of the rows is split where its parts repeat (readers/codes.py)
_SPLIT_SHARE = 0.5


def _sibling(train: Path, *stems: str) -> Path | None:
    for stem in stems:
        for suffix in TABLE_SUFFIXES:
            candidate = train.with_name(stem + suffix)
            if candidate.is_file() and candidate != train:
                return candidate
    return None


#: words in a file name that say it holds predictions (a submission, OOF predictions), not a competition's targets
_PREDICTIONS_FILE = ("submission", "oof", "pred")


def _targets_file(train: Path, preds: list[str], skip: set[Path | None]) -> Path | None:
    """A table beside ``train`` whose header holds every one of the sample's prediction columns ``preds`` (spaces and
    case aside), asked where train does not: the competition keeps its targets in a file of their own (MoA's
    ``train_targets_scored.csv`` beside ``train_features.csv``); None when there is no such file. A file named as
    predictions (``submission.csv``, ``train_oof.csv``: the sample's columns too) is none (``submission.csv`` was
    named as the targets' file, sorted before ``train_targets_scored.csv``)."""
    if len(preds) < 1:
        return None
    wanted = {header_key(c) for c in preds}
    for path in sorted(train.parent.iterdir()):
        if path == train or path in skip or not path.is_file() or path.suffix.lower() not in (".csv", ".parquet"):
            continue
        if any(w in path.stem.lower() for w in _PREDICTIONS_FILE):
            continue
        try:
            parquet = path.suffix.lower() == ".parquet"
            header = list(pl.read_parquet_schema(path)) if parquet else read_head(path, 1)[0]
        except (OSError, IndexError, pl.exceptions.PolarsError):
            continue
        if wanted <= {header_key(c) for c in header}:
            return path
    return None


#: above either, ``init`` proposes ``data.sequences.layout = "streamed"``: the wide layout's step columns (polars
#: slows past a few thousand columns) and its ``ids x steps x columns`` values (float32: 400 MB)
WIDE_COLUMNS, WIDE_VALUES = 5_000, 100_000_000


def _wide_size(long: pl.DataFrame, seq_id: str, step: str | None, test: pl.DataFrame | None = None) -> str | None:
    """What the wide layout of ``long`` (and the ``test`` long table: the run lays out the longest sequence of
    either) would cost, said in a line, when it is past :data:`WIDE_COLUMNS` or :data:`WIDE_VALUES`; None when it is
    small enough."""
    schema = long.schema
    columns = sum(1 for c in long.columns if c not in (seq_id, step) and schema[c].is_numeric())
    tables = [long, *([test] if test is not None and seq_id in test.columns else [])]
    steps = unclashing("len", seq_id)
    longest = max(int(t.group_by(seq_id).len(name=steps)[steps].max() or 0) for t in tables)  # type: ignore[arg-type]
    ids = sum(t[seq_id].n_unique() for t in tables)
    if longest * columns <= WIDE_COLUMNS and ids * longest * columns <= WIDE_VALUES:
        return None
    return f"{ids:,} sequences of up to {longest:,} steps x {columns} columns = {longest * columns:,} step columns"


#: a longest sequence past both of these (steps; times the median) is said by ``init``: the nets pad each batch to
#: its longest sequence, so one such sequence makes its batches ``batch_size x longest`` steps (one 10,000-step
#: sequence among 200 of 20-60 steps: a cnn1d worker of 7.5 GB on the CPU, its folds minutes where others took
#: seconds)
LONG_OUTLIER_STEPS, LONG_OUTLIER_RATIO = 1_000, 20


def _length_outlier(long: pl.DataFrame, seq_id: str, test: pl.DataFrame | None = None) -> list[str]:
    """A line on the longest sequence of the train long table, and one on the test long table's (``test``), where it
    dwarfs the median one of both tables (a test sequence is padded alike: the batches it is predicted in), with
    ``max_len`` as the remedy."""
    tables = {"": long, "test sequence ": test} if test is not None and seq_id in test.columns else {"": long}
    steps = unclashing("len", seq_id)
    lengths = {role: t.group_by(seq_id).len(name=steps) for role, t in tables.items()}
    median = float(pl.concat([n[steps] for n in lengths.values()]).median())  # type: ignore[arg-type]
    said = []
    for role, counts in lengths.items():
        longest = int(counts[steps].max())  # type: ignore[arg-type]
        if longest < LONG_OUTLIER_STEPS or longest < LONG_OUTLIER_RATIO * median:
            continue
        which = counts.sort(steps, seq_id, descending=[True, False])[seq_id][0]
        said.append(
            f"sequence lengths: the longest {role}(id {which!r}, {longest:,} steps) is {longest / median:,.0f}x the "
            f"median ({median:g}): the nets pad each batch to its longest sequence, so a batch holding it holds "
            f"batch_size x {longest:,} steps (memory and time grow with it); if its steps past the first few hundred "
            "matter little, set data.sequences.max_len (keep = 'last' for its latest steps)"
        )
    return said


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
    """The column that orders each sequence's rows: a whole-number column named like a step; else one so named, or
    named like a time (``ts``, ``elapsed_time``, ``created_at``), of numbers or dates (``time`` in seconds) distinct
    within each id; else a whole-number column that numbers each id's rows ``0..n-1`` (or ``1..n``) whatever its
    name. None: the steps are the rows' order in the file."""
    others = [c for c in frame.columns if c != seq_id]
    named = [c for c in others if _STEP_NAMES.fullmatch(c)]
    for c in named:
        if frame[c].dtype.is_integer():
            return c
    timed = [c for c in others if c not in named and _TIME_NAMES.fullmatch(c)]
    found = [
        c
        for c in [*named, *timed]
        if (frame[c].dtype.is_numeric() or frame[c].dtype.is_temporal() or _times_of_day(frame[c]))
        and _distinct_within(frame, seq_id, c)
    ]
    rising = [c for c in found if _rising_within(frame, seq_id, c)]
    found = [c for c in found if c in rising or not (c in timed and _MEASURED_NAMES.fullmatch(c))]
    for c in sorted(found, key=lambda c: c not in rising):  # a column already in order first (stable: names first)
        return c
    for c in others:
        if frame[c].dtype.is_integer() and _distinct_within(frame, seq_id, c, consecutive=True):
            return c
    return None


def _times_of_day(values: pl.Series) -> bool:
    """Whether ``values`` are times of day written as text (``9:58``, ``10:00:05``), which ``run`` orders as times."""
    return values.dtype == pl.String and bool(values.drop_nulls().str.contains(TIME_OF_DAY).all())


def _distinct_within(frame: pl.DataFrame, seq_id: str, column: str, *, consecutive: bool = False) -> bool:
    """Whether ``column`` holds a different value in each row of an id (``consecutive``: the id's rows numbered
    ``0..n-1`` or ``1..n``), none missing."""
    if frame[column].null_count():
        return False
    c = pl.col(column)
    per_id = frame.group_by(seq_id).agg(n=pl.len(), distinct=c.n_unique(), low=c.min(), high=c.max())
    ok = per_id["distinct"] == per_id["n"]
    if consecutive:
        ok &= per_id["low"].is_in([0, 1]) & (per_id["high"] - per_id["low"] + 1 == per_id["n"])
    return bool(ok.all())


def _rising_within(frame: pl.DataFrame, seq_id: str, column: str) -> bool:
    """Whether ``column`` (distinct within each id) increases from each row of an id to the next in the file's order
    (text: as text). Each value against the one before it (an id's first: none, ignored): polars 1.17 compared
    ``c == c.sort()`` within a group as sorted on both sides, so every column was in order."""
    c = pl.col(column)
    return bool(frame.group_by(seq_id).agg(ok=(c > c.shift(1)).all())["ok"].all())


def _tidy_sample(sample: pl.DataFrame | None, test: pl.DataFrame | None, separator: str) -> pl.DataFrame | None:
    """The sample submission as the inferences read it: an unnamed empty column (each line ending in a separator) and
    a saved pandas index beside the id (files re-saved with ``to_csv``) left out, as ``submit`` leaves them out; the
    id column first (the one column test also has, spaces and case aside: a few samples put it last); numbers
    written with a decimal comma (``0,5``, a spreadsheet's re-save) or grouped thousands (``"1,234"``) as numbers
    (``separator``: the sample file's, which tells a comma that may be either)."""
    if sample is None:
        return sample
    sample = sample.drop(unnamed_to_drop(sample)[0])
    in_test = {header_key(c) for c in test.columns} if test is not None else set()
    shared = [c for c in sample.columns if header_key(c) in in_test and not is_unnamed(c)]
    if len(shared) == 1:
        index = saved_index(sample, shared[0])
        sample = sample.select(shared[0], pl.exclude(shared[0], *([index] if index else [])))
    numbers = [sample_numbers(sample[c], separator) for c in sample.columns[1:] if sample.schema[c] == pl.String]
    return sample.with_columns(n for n in numbers if n is not None)


def _ranked_labels(values: set[str], labels: set[str]) -> int | None:
    """K when each of the sample's ``values`` is a space-separated list of at most K training labels and some hold K
    (K from 2 to 99): the most probable labels first, as MAP@K scores them; None for anything else, and where a training
    label holds a space (a target of label lists, as the Amazon's tags 'clear primary': the sample lists tags, too)."""
    if any(len(label.split()) > 1 for label in labels):
        return None
    known = {v.casefold() for v in labels} | {whole_label(v).casefold() for v in labels}
    lists = [v.split() for v in values]
    k = max((len(words) for words in lists), default=0)
    if not 2 <= k <= 99 or not all(words and {w.casefold() for w in words} <= known for words in lists):
        return None
    return k


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
        if as_text and (
            {v.strip().casefold() for v in as_text} <= {v.casefold() for v in labels}
            or {v.strip() for v in as_text} <= {whole_label(v) for v in labels}  # train's 1.0 is the sample's 1
        ):
            shown = sorted(as_text)[:3]
            # Titanic's sample holds both labels; Santander's target = 0 in every row stands for an AUC probability
            placeholder = (
                "; one value in every row, which may stand for probabilities as well: if the evaluation page says "
                "AUC or log loss, pass --metric roc_auc (or log_loss)"
                if len(as_text) == 1 and task == "binary" and values.dtype.is_numeric()  # 'N': a label only
                else ""
            )
            why.append(f"metric = 'accuracy' (the sample submission's {preds[0]!r} holds labels: {shown}{placeholder})")
            return "accuracy"
        k = _ranked_labels(as_text, labels) if task == "multiclass" else None
        if k is not None:  # the Fertilizer competition's '14-35-14 10-26-26 Urea': MAP@3
            why.append(
                f"metric = 'map@{k}' (the sample submission's {preds[0]!r} holds {k} labels per row, e.g. "
                f"{sorted(as_text)[0]!r}: a ranked guess, as MAP@{k} scores)"
            )
            return f"map@{k}"
        if values.dtype.is_float() and values.min() >= 0 and values.max() <= 1:  # type: ignore[operator]
            metric = "roc_auc" if task == "binary" else None
            if metric:
                why.append(
                    "metric = 'roc_auc' (the sample submission holds probabilities; the competition's evaluation "
                    "page may say log_loss: pass --metric)"
                )
            return metric
    elif (prefix := _class_probability_prefix(sample, preds, labels)) is not None:
        known = {prefix + label_key(label) for label in labels}
        unseen = [c for c in preds if label_key(c) not in known]
        why.append(
            f"metric = 'log_loss' (the sample submission holds one probability column per class: {len(preds)})"
            + (
                f"; class column(s) {unseen} of the sample no training row holds: the submission gives each "
                "probability 1 / (training rows + classes)"
                if unseen
                else ""
            )
        )
        return "log_loss"
    return None


def _sample_numbers(sample: pl.DataFrame | None, id_column: str | None, y: pl.Series) -> str | None:
    """Why a whole-number target the sample predicts as decimals (``9.5``, ``10.0``: a column of floats) is a number
    to regress, not classes; None when the sample's one prediction column holds whole numbers, text or nothing."""
    preds = [c for c in _prediction_columns(sample, id_column) if c == y.name] or _prediction_columns(sample, id_column)
    if sample is None or len(preds) != 1 or not sample[preds[0]].dtype.is_float():
        return None
    values = sample[preds[0]].drop_nulls()
    if values.is_empty():
        return None
    return f"the sample submission's {preds[0]!r} holds decimals ({values[0]!r}): pass --task multiclass if not"


#: the folds of the config init writes (the [folds] default)
_INIT_FOLDS = FoldSpec().n_splits


def _rare_numbers(y: pl.Series, n: int) -> str | None:
    """Why a target of 10+ whole numbers, some held by fewer rows than the 5 folds init writes, is a count to regress:
    as classes it cannot be split in stratified folds (the run would stop), as a number it can (Abalone's Rings)."""
    rows = unclashing("rows", y.name)  # not polars' 'count': Bike Sharing's target is 'count', which it clashed with
    rare = y.drop_nulls().value_counts(name=rows).filter(pl.col(rows) < _INIT_FOLDS)
    if n < 10 or rare.is_empty():
        return None
    return (
        f"{rare.height} of them held by fewer than {_INIT_FOLDS} rows, too few for stratified folds: a count or "
        "score; pass --task multiclass if they are classes"
    )


def _class_probability_prefix(sample: pl.DataFrame, preds: list[str], labels: set[str]) -> str | None:
    """When the sample's 2+ ``preds`` are one probability column per class of a target labelled ``labels``, the text
    before each label in their names (``Status_``, lower case; often none); else None. That is: numbers, a column
    for every label (case aside, as ``submit`` matches them), and the labels at least half of them (the others:
    classes no training row holds, as a sample listing every class of the competition has)."""
    numeric = all(sample[c].dtype.is_numeric() for c in preds)
    labels = {label_key(label) for label in labels}  # the class 1.0 is '1', the class 'High Risk' 'high_risk'
    prefix = class_prefix([label_key(c) for c in preds], sorted(labels))
    named = {prefix + label for label in labels} <= {label_key(c) for c in preds}
    return prefix if numeric and named and 2 * len(labels) >= len(preds) else None


def _rows_sum_to_one(sample: pl.DataFrame, preds: list[str]) -> bool:
    """Whether every row of the sample's ``preds`` sums to 1: class probabilities (a CDF's row ends at 1 instead)."""
    sums = sample.select(pl.sum_horizontal(pl.col(preds).cast(pl.Float64))).to_series()
    return sums.len() > 0 and bool(((sums - 1.0).abs() < 1e-3).all())


def _prediction_columns(sample: pl.DataFrame | None, id_column: str | None) -> list[str]:
    """The sample submission's prediction columns (all but its first column and the id); none without a sample."""
    return [c for c in sample.columns[1:] if c != id_column] if sample is not None else []


def _classes_in_sample(
    frame: pl.DataFrame, sample: pl.DataFrame | None, columns: list[str], id_column: str | None
) -> list[str]:
    """The ``columns`` of ``frame`` whose 2+ classes the sample's prediction columns are the probabilities of (Dog
    Breed Identification's ``beagle``, ``boxer``, ...): where no test table tells the target (an image competition's
    ``train.csv`` of id and label), they do."""
    preds = _prediction_columns(sample, id_column)
    if sample is None or len(preds) < 2:
        return []
    found = []
    for c in columns:
        levels = frame[c].drop_nulls()
        if 2 <= levels.n_unique() <= len(preds):
            labels = set(levels.cast(pl.String).unique().to_list())
            if _class_probability_prefix(sample, preds, labels) is not None:
                found.append(c)
    return found


def _levels_of_a_column(frame: pl.DataFrame, names: list[str]) -> bool:
    """Whether ``names`` are together the levels of one column of ``frame`` (not among them): one target's class
    probabilities (a multiclass submission, as Otto's ``Class_1`` .. ``Class_9``)."""
    wanted = set(names)
    for c in frame.columns:
        small = c not in wanted and frame[c].n_unique() <= len(wanted) + 1  # + 1: a missing value
        if small and {whole_label(v) for v in frame[c].drop_nulls().cast(pl.String).unique().to_list()} == wanted:
            return True
    return False


def _named_grid(columns: list[str]) -> tuple[str, list[float]] | None:
    """2+ columns named one prefix and an increasing or a decreasing number (``Yards-99`` .. ``Yards99``, or from the
    top: ``submit`` gives each column its own bin): the prefix, the numbers in increasing order."""
    named = [GRID_NAME.fullmatch(c) for c in columns]
    if len(columns) < 2 or not all(named) or len({m.group(1) for m in named if m}) != 1:
        return None
    values = [float(m.group(2)) for m in named if m]
    if any(b <= a for a, b in itertools.pairwise(values)) and any(b >= a for a, b in itertools.pairwise(values)):
        return None
    prefix = named[0].group(1)  # type: ignore[union-attr]
    if _squash(prefix) in _PERCENT_LEVELS and all(0 < v < 100 for v in values) and max(values) >= 1:
        values = [v / 100 for v in values]  # q10 .. q90: quantile levels in percent (submit reads them so too)
    return prefix, sorted(values)


#: prefixes of columns naming quantile levels in percent (``q10``, ``quantile_90``): levels 0.1 .. 0.9, not bins
#: 10 .. 90 of a CDF (a pinball competition's sample read as CRPS bins was silently the wrong task)
_PERCENT_LEVELS = ("q", "quantile", "percentile", "pct")


def _sample_targets(
    sample: pl.DataFrame | None, frame: pl.DataFrame, test: pl.DataFrame | None, id_column: str | None
) -> list[str] | None:
    """The targets of a multi-target competition: the sample submission's 2+ prediction columns when each is a column
    of the training (or labels) table and none is the id or a test column (one empty in every test row aside: the
    targets' placeholders); None otherwise. Columns that are together the levels of one train column are that
    column's class probabilities (a multiclass submission), not targets. A sample column is matched to train's
    spaces and case aside (``" b"`` for ``b``, as ``submit`` matches them); the targets are named as train spells
    them."""
    preds = _prediction_columns(sample, id_column)
    in_train: dict[str, list[str]] = {}
    for c in frame.columns:
        in_train.setdefault(header_key(c), []).append(c)
    found = [in_train.get(header_key(c), []) for c in preds]
    if len(preds) < 2 or any(len(f) != 1 for f in found):
        return None
    targets = [f[0] for f in found]
    # a test column empty in every row is the target's placeholder (some test files carry the columns, unfilled)
    filled = {header_key(c) for c in test.columns if test[c].null_count() < test.height} if test is not None else set()
    if {header_key(c) for c in targets} & filled:
        return None
    return None if _levels_of_a_column(frame, targets) else targets


def _multi_target_task(frame: pl.DataFrame, targets: list[str], why: list[str]) -> str:
    """``multilabel`` when every target column holds only 0/1 (missing cells aside), else ``multiregression``."""
    not_binary = None
    for c in targets:
        column = frame[c]
        if column.dtype == pl.Boolean:
            continue
        if not (column.dtype.is_numeric() or column.dtype == pl.Null):
            raise DataError(
                f"target column {c!r} (one of {targets}) holds {column.dtype} values; several targets are 0/1 labels "
                "(task multilabel) or numbers (multiregression): encode it, or pass --target with one column"
            )
        values = column.drop_nulls()
        if not_binary is None and not ((values == 0) | (values == 1)).all():
            not_binary = c
    if not_binary is None:
        why.append(f"task = 'multilabel' ({len(targets)} target columns, each holding only 0/1)")
        ones = frame.select(pl.sum_horizontal(pl.col(targets).cast(pl.Float64))).to_series().drop_nulls()
        if ones.len() and bool((ones == 1).all()):  # Plant Pathology 2020's healthy, multiple_diseases, rust, scab
            why.append(
                f"note: every row holds exactly one 1 across the {len(targets)} targets: one class per row, written a "
                "column per class. As multilabel each column is fitted apart (its probabilities need not sum to 1); "
                "for one model over the classes, write the class in one column (pandas: train[targets].idxmax(axis=1)) "
                "and pass --target with it (multiclass, log loss)"
            )
        return "multilabel"
    why.append(f"task = 'multiregression' ({len(targets)} target columns; {not_binary!r} holds values besides 0/1)")
    return "multiregression"


def _label_lists(y: pl.Series) -> list[str] | None:
    """The labels of a target written as space-separated label lists (Planet's ``tags`` = ``haze primary``, a
    multilabel task in one column): every value a list of distinct words, some rows with two or more, fewer labels
    than distinct values (the combinations), and some value listing three or more or twice as many combinations as
    labels; None for any other target (a free text has more words than values; class names of two words, as
    ``Extremely Positive`` beside ``Positive``, are a handful of classes, not combinations)."""
    if y.dtype != pl.String:
        return None
    values = y.drop_nulls().str.strip_chars()
    words = values.str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
    several = words.list.len() >= 2
    if values.is_empty() or float(several.mean() or 0) < 0.05 or not (words.list.n_unique() == words.list.len()).all():
        return None
    labels = sorted(set(words.explode().drop_nulls().to_list()))
    combinations = values.n_unique()
    lists = int(words.list.len().max() or 0) >= 3 or combinations >= 2 * len(labels)
    return labels if 2 <= len(labels) < combinations and lists else None


def _label_lists_note(target: str, labels: list[str], combinations: int) -> str:
    """The line init prints for a target of label lists: each combination is a class unless it is expanded."""
    shown = ", ".join(labels[:8]) + (f", ... ({len(labels)} in all)" if len(labels) > 8 else "")
    return (
        f"note: {target!r} holds space-separated label lists ({shown}): a multilabel task written in one column. "
        f"As written, each of its {combinations} combinations is a class of its own (a row with no label is a "
        "missing target), and the submission writes one combination per row. The kit's multilabel task takes one "
        f"0/1 column per label: expand them (pandas: train.join(train[{target!r}].fillna('').str.get_dummies(sep=' '))"
        ") and pass --target with the labels; its submission then holds a probability per label"
    )


#: without a sample submission: about this many bins over the target's observed range (an integer target spanning
#: at most ``_UNIT_BINS`` values gets a bin per value, as the NFL's yards), or these quantile levels for pinball
_RANGE_BINS, _UNIT_BINS = 50, 200
_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]


def _as_range(grid: list[float]) -> dict[str, float] | list[float]:
    """Evenly spaced values as ``{ first, last, step }`` (how a config spells Yards-99 .. Yards99), else the list."""
    if len(grid) > 2:
        step = grid[1] - grid[0]
        if all(math.isclose(b - a, step, rel_tol=1e-9, abs_tol=1e-12) for a, b in itertools.pairwise(grid)):
            return {"first": grid[0], "last": grid[-1], "step": step}
    return grid


def _nice_step(span: float, n: int) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at least ``span / n``."""
    raw = span / n
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-12))


def _distribution(
    y: pl.Series,
    sample: pl.DataFrame | None,
    id_column: str | None,
    metric: str | None,
    grid: list[float] | None,
    why: list[str],
) -> tuple[dict[str, Any], str]:
    """The ``[distribution]`` table and the metric of ``--task distribution``: the grid from ``--grid``, else from the
    sample submission's column names, else bins spanning the training target's observed range (quantile levels for
    pinball). A sample whose columns do not name their bins needs ``--grid``: its columns are the bins, in order."""
    if not y.dtype.is_numeric():
        raise DataError(
            f"--task distribution predicts the distribution of a number; the target {y.name!r} holds {y.dtype} "
            "values: pass a numeric --target"
        )
    if metric not in (None, "crps", "pinball"):
        raise ConfigError(
            f"--metric {metric!r} does not score a distribution; use 'crps' (a CDF at bins) or 'pinball' (values at "
            "quantile levels)"
        )
    values = y.drop_nulls().cast(pl.Float64)
    lo, hi = float(values.min()), float(values.max())  # type: ignore[arg-type]
    preds = _prediction_columns(sample, id_column)
    source = ""
    if grid is not None:
        source = "given by --grid"
    elif (named := _named_grid(preds)) is not None:
        grid, source = named[1], f"the sample submission's columns {preds[0]!r} .. {preds[-1]!r}"
    if grid is None and len(preds) >= 2:
        raise ConfigError(
            f"--task distribution: the sample submission's {len(preds)} prediction columns ({preds[0]!r} .. "
            f"{preds[-1]!r}) do not name their bins or quantile levels as <name><number> (Yards-99 .. Yards99); "
            f"pass them, in the sample's order: --grid v1,v2,... ({len(preds)} values) or --grid first:last:step"
        )
    if grid is not None and len(preds) >= 2 and len(grid) != len(preds):
        raise ConfigError(
            f"--grid gives {len(grid)} values but the sample submission has {len(preds)} prediction columns, one per "
            "bin / quantile level: give one value per column"
        )
    if grid is not None:
        levels = all(0 < v < 1 for v in grid)
        if metric is None:
            metric = "pinball" if levels and not (lo >= 0 and hi <= 1) else "crps"
        if metric == "pinball" and not levels:
            raise ConfigError(
                f"metric 'pinball' scores values at quantile levels in (0, 1), but the grid ({source}) is "
                f"{grid[0]:g} .. {grid[-1]:g}: those are bins of a CDF, use --metric crps"
            )
        key = "quantiles" if metric == "pinball" else "bins"
        why.append(
            f"distribution: {key} = {grid[0]:g} .. {grid[-1]:g} ({len(grid)} values, {source}); metric = {metric!r}"
        )
        return {key: _as_range(grid) if key == "bins" else grid}, metric
    if len(preds) == 1:
        why.append(
            f"distribution: the sample submission has one prediction column ({preds[0]!r}), and a distribution "
            "submission has one per bin / level: `submit` will refuse it; check the competition's format"
        )
    if metric == "pinball":
        why.append(
            f"distribution: quantiles = {_QUANTILES} (a default: no sample submission names the levels; edit "
            "[distribution] quantiles, or pass --grid, to the competition's); metric = 'pinball'"
        )
        return {"quantiles": list(_QUANTILES)}, "pinball"
    whole = bool((values % 1 == 0).all())
    if whole and hi - lo <= _UNIT_BINS:
        step, first, last = 1.0, lo, hi
    else:
        step = _nice_step(hi - lo, _RANGE_BINS) if hi > lo else 1.0
        first, last = math.floor(lo / step) * step, math.ceil(hi / step) * step
        if last <= first:
            last = first + step
    bins = {"first": float(f"{first:.12g}"), "last": float(f"{last:.12g}"), "step": float(f"{step:.12g}")}
    why.append(
        f"distribution: bins = {bins['first']:g} .. {bins['last']:g} step {bins['step']:g} (spanning the target's "
        f"observed range {lo:g} .. {hi:g}: no sample submission names the bins; check the competition's, or pass "
        "--grid); metric = 'crps' (pinball: pass --metric pinball)"
    )
    return {"bins": bins}, metric or "crps"


def _sample_grid(
    sample: pl.DataFrame | None, frame: pl.DataFrame, id_column: str | None
) -> tuple[list[str], str, list[float]] | None:
    """The sample submission's prediction columns when they read as a distribution's grid: 2+ columns named one
    prefix and an increasing number (``Yards-99`` .. ``Yards99``, ``q_0.1`` .. ``q_0.9``), none a train column (those
    are several targets) and not together the levels of one train column (one target's class probabilities, as
    Otto's ``Class_1`` .. ``Class_9``). The columns, their shared prefix and the numbers; None otherwise."""
    preds = _prediction_columns(sample, id_column)
    named = _named_grid(preds)
    if named is None or any(c in frame.columns for c in preds) or _levels_of_a_column(frame, preds):
        return None
    return preds, *named


def _grid_over(
    grid_cols: tuple[list[str], str, list[float]], sample: pl.DataFrame, y: pl.Series, named: str | None, why: list[str]
) -> bool:
    """Whether the sample's grid columns are a distribution over the target ``y``: ``y`` is the column ``--target`` or
    the columns' prefix names, it holds numbers, and the grid is not exactly its values (then the columns are its
    classes' probabilities, as ``Class_1`` .. ``Class_9`` over a target of 1 .. 9), nor more values than it holds
    with the sample's rows summing to 1 (class probabilities again, some of classes absent from train). Says why
    when it is, and what to pass when no column is named."""
    cols, prefix, grid = grid_cols
    shown = f"{len(cols)} columns {cols[0]} .. {cols[-1]}"
    if named is None:
        why.append(
            f"the sample submission's {shown} end in a grid of numbers, but "
            + (f"no train column is named {prefix.strip('-_. ')!r}" if _squash(prefix) else "they name no column")
            + ": if they are a distribution's bins or quantile levels, pass --target COLUMN "
            "(the number they are over) and init writes a distribution task"
        )
        return False
    values = set(y.drop_nulls().cast(pl.Float64).unique().to_list()) if y.dtype.is_numeric() else None
    if values is None or values == set(grid) or (values <= set(grid) and _rows_sum_to_one(sample, cols)):
        return False  # class probabilities, some of classes no training row holds where the grid has more values
    why.append(f"task = 'distribution' (the sample submission's {shown} are a grid over the numeric target {y.name!r})")
    return True


def _squash(name: str) -> str:
    """A name without separators, lower case: ``Yards-`` and ``yards`` are one name."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def parse_grid(text: str) -> list[float]:
    """``--grid``: ``v1,v2,...`` or ``first:last:step``."""
    try:
        if ":" in text:
            first, last, step = (float(v) for v in text.split(":"))
            if step <= 0 or last <= first:
                raise ValueError
            n = round((last - first) / step)
            if n + 1 > MAX_DISTRIBUTION_GRID:
                raise ConfigError(f"--grid {text!r} makes {n + 1} values; at most {MAX_DISTRIBUTION_GRID} are allowed")
            return [float(f"{first + i * step:.12g}") for i in range(n)] + [last]
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(
            f"--grid {text!r}: give increasing numbers as v1,v2,... or first:last:step (e.g. -99:99:1)"
        ) from None


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


def _columns_test_lacks(train: pl.DataFrame, test: pl.DataFrame, roles: set[str | None]) -> list[str]:
    """Train columns (not the target(s) nor the id) that the test file lacks, spaces around a name and case aside (the
    run reads test's ``'X1 '`` as train's ``x1``): `kaggle-kit run` refuses a feature test lacks."""
    in_test = {header_key(c) for c in test.columns}
    skip = roles | {c for columns in unnamed_to_drop(train) for c in columns}  # a saved index: the run drops it
    return [c for c in train.columns if c not in skip and header_key(c) not in in_test]


def _route_distinct_text(frame: pl.DataFrame, exclude: set[str | None], data: dict[str, Any], why: list[str]) -> None:
    """Text columns with a different value in almost every row (a passenger's name, a ticket code): as categories
    nothing repeats, so no model can learn from them. A code whose parts repeat (a cabin ``B/45/P``) is split into
    them (``data.split_codes``; so is one distinct in half the rows or more); words (``Braund, Mr. Owen``) go to
    ``data.text``, whose TF-IDF finds the ones that repeat (a title); another one-word code goes to ``data.drop``.
    Dates written as text are none of these (the run reads them as dates), nor are numbers a [data] reading key
    reads (``'1,234.5'``, a ``'?'`` among numbers: the run names the key; dropped here, the column was lost without a
    word once the key was set)."""
    shares, rows = {}, {}
    for c, dtype in frame.schema.items():
        values = frame[c].drop_nulls() if dtype == pl.String and c not in exclude else None
        if values is not None and values.len() >= _DISTINCT_MIN_ROWS and not numbers_as_text(values):
            share = values.n_unique() / values.len()
            if share >= _SPLIT_SHARE:
                shares[c] = share
                filled = values.len()  # the share is of the filled rows: say so where some are missing
                rows[c] = "the rows" if filled == frame.height else f"its {filled:,} filled rows of {frame.height:,}"
    dated = set().union(*find_formats(frame.select(list(shares)), ()))
    text, drop, split = [], [], {}
    for c, share in shares.items():
        if c in dated:
            continue
        distinct = f"a different value in {share:.0%} of {rows[c]}"
        found = find_split(frame[c])
        if found is not None and not set(part_names(c, found[1])) & set(frame.columns):  # a part's name is free
            sep, n_parts = found
            split[c] = sep
            why.append(
                f"split_codes = {{ {c} = {sep!r} }} ({distinct}, but its {n_parts} "
                f"parts split by {sep!r} repeat: each part a column, {', '.join(part_names(c, n_parts))})"
            )
            continue
        if share < _DISTINCT_SHARE:
            continue
        words = float(frame[c].drop_nulls().str.count_matches(r"\S+").mean() or 0.0)
        if words >= 2:
            text.append(c)
            why.append(
                f"text = [{c!r}] ({distinct}, {words:.1f} words each: as a category "
                "nothing repeats to learn from; its words may)"
            )
        else:
            drop.append(c)
            why.append(f"drop = [{c!r}] ({distinct}, one word each: a code no model can learn from as a category)")
    if text:
        data["text"] = [*data.get("text", []), *text]
    if drop:
        data["drop"] = [*data.get("drop", []), *drop]
    if split:
        data["split_codes"] = split


def infer_spec(
    slug: str,
    train_path: Path,
    *,
    task: str | None = None,
    target: str | Sequence[str] | None = None,
    id_column: str | None = None,
    metric: str | None = None,
    preset: str = "good",
    grid: list[float] | None = None,
) -> tuple[dict, list[str]]:
    """The spec (as a TOML-able dict, absolute paths) and one line per inference, for the user to confirm.

    ``target``: one column, or several (a multilabel / multiregression task); ``grid``: a distribution task's bins
    or quantile levels (``--grid``), else read from the sample submission or the target's range."""
    if not SAFE_NAME.match(slug):
        raise ConfigError(f"the competition slug must be letters, digits, '_', '-' or '.'; got {slug!r}")
    if metric is not None:  # "AUC", "logloss": the canonical name, which the rules below compare with
        metric = get_metric(metric).name
    # leniently: a column of numbers written as text is a question for `kaggle-kit run` (its error names the
    # [data] key to add to the config written here), not a reason to write no config at all
    lenient = ReadOptions(lenient=True)
    # the path the config's run reads (and names in its warnings): a warning about the file is shown once per
    # command, which `--train train.csv` (relative) beside the run's absolute path made twice
    train_path = Path(train_path).resolve()
    if train_path.is_dir():
        raise DataError(image_folder_message(train_path))
    train = read_table(train_path, role="train", options=lenient)
    test_path = _sibling(train_path, "test", train_path.name.replace("train", "test").split(".")[0])
    sample_path = _sibling(train_path, "sample_submission", "sampleSubmission", "gender_submission")
    test = read_table(test_path, role="test", options=lenient) if test_path else None
    sample = read_table(sample_path, role="sample_submission", options=lenient) if sample_path else None
    if sample is not None and sample_path and (flags := [c for c, t in sample.schema.items() if t == pl.Boolean]):
        # Spaceship Titanic's 'False' as the sample spells it (init quoted polars' 'false'); submit writes it so
        as_written = ReadOptions(lenient=True, keep_text=tuple(flags))
        sample = read_table(sample_path, role="sample_submission", options=as_written)
    csv_sample = sample_path is not None and sample_path.suffix.lower() not in (".parquet", ".pq")
    sample = _tidy_sample(sample, test, sniff_separator(sample_path) if csv_sample and sample_path else ",")
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
            why.append(
                f"long table: {train_path.name} repeats {seq_id!r} -> [data.sequences]; labels in it"
                + (f"; steps ordered by {step!r}" if step else "")
            )
        if step is not None and _TIME_NAMES.fullmatch(step) and not _STEP_NAMES.fullmatch(step):
            why.append(
                f"steps: ordered by {step!r} for its name (a time or position, a different value in each row of an "
                "id), so it is no channel of the nets nor of the statistics; if it is a measurement, delete "
                "data.sequences.order_by (the steps are then the rows in the file's order) or set it to the column "
                "that orders them"
            )
        if step is None:
            why.append(
                "steps: no column orders them, so each sequence's steps are its rows in the file's order; if a "
                "column does, set data.sequences.order_by to it"
            )
        id_column = id_column or (seq_id if seq_id in labels_frame.columns else labels_frame.columns[0])
        if id_column != seq_id:
            sequences["id"] = seq_id
        wide = _wide_size(train, seq_id, step, test)
        if wide is not None:
            sequences["layout"] = "streamed"
            why.append(f"{wide}: too many as columns -> layout = 'streamed' (steps end to end, read per batch)")
        why += _length_outlier(train, seq_id, test)
        data["sequences"] = sequences
        test = None  # the test ids come from the test long table
    else:
        data["train"] = str(train_path.resolve())
        if test_path:
            data["test"] = str(test_path.resolve())

    targets = [target] if isinstance(target, str) else list(target) if target is not None else None
    if targets is None:
        targets = _sample_targets(sample, labels_frame, test, id_column or id_hint)
        if targets is not None:
            why.append(f"targets = {targets} (the sample submission's prediction columns, each a train column)")
    # a distribution's grid in the sample (Yards-99 .. Yards99): the target is the train column its prefix names
    grid_cols = _sample_grid(sample, labels_frame, id_column or id_hint) if task in (None, "distribution") else None
    grid_target = targets[0] if targets is not None and len(targets) == 1 else None  # --target names it
    if targets is None and grid_cols is not None:
        cols, prefix = grid_cols[0], _squash(grid_cols[1])
        grid_target = next((c for c in labels_frame.columns if prefix and _squash(c) == prefix), None)
        if grid_target is not None:
            targets = [grid_target]
            why.append(f"target = {grid_target!r} (named by the sample submission's columns {cols[0]} .. {cols[-1]})")
    if targets is None:
        missing = [c for c in labels_frame.columns if test is not None and c not in test.columns]
        by_name = [c for c in labels_frame.columns if c.lower() in _TARGET_NAMES]
        from_sample = [c for c in _prediction_columns(sample, None) if c in labels_frame.columns]
        not_id = [c for c in labels_frame.columns if c not in (id_column, seq_id)]
        classes_of = _classes_in_sample(labels_frame, sample, not_id, id_column or id_hint)
        for found, reason in (
            (missing, "the only train column test lacks"),
            (from_sample, "the sample's column"),
            (classes_of, "the sample submission's columns are its classes' probabilities"),
            (by_name, "its name"),
            (not_id if labels_frame is not train else [], "the labels file's only other column"),
        ):
            if len(found) == 1:
                targets = [found[0]]
                why.append(f"target = {found[0]!r} ({reason})")
                break
        preds = _prediction_columns(sample, id_column or id_hint)
        elsewhere = _targets_file(train_path, preds, {test_path, sample_path}) if targets is None else None
        if elsewhere is not None:  # MoA: train_features.csv beside train_targets_scored.csv
            key = id_column or id_hint
            raise DataError(
                f"the sample submission's prediction columns are not in {train_path.name} but in {elsewhere.name}: "
                "the kit reads the targets from the train file, so join the two into one, e.g. in Python: "
                f"pd.read_csv('{train_path.name}').merge(pd.read_csv('{elsewhere.name}'), on={key!r})"
                ".to_csv('train.csv', index=False); then pass --train train.csv"
            )
        if targets is None:
            raise DataError(
                f"cannot tell the target column of {train_path}; pass --target (several: --target a,b,c; columns: "
                f"{labels_frame.columns})"
                + (
                    f"; the sample submission's columns {grid_cols[0][0]} .. {grid_cols[0][-1]} look like a "
                    "distribution's grid: --target names the number they are over"
                    if grid_cols is not None
                    else ""
                )
            )
    else:
        for name in targets:
            if name not in labels_frame.columns:
                raise DataError(
                    f"--target {name!r} is not a column of {train_path}.{did_you_mean(name, labels_frame.columns)} "
                    f"(columns: {labels_frame.columns})"
                )
    if task in MULTI_TARGET_TASKS and len(targets) < 2:
        raise ConfigError(
            f"--task {task} predicts several target columns, but the target is one column ({targets[0]!r}): name "
            "them all with --target a,b,c, or pick a single-target --task"
        )
    if task is not None and task not in MULTI_TARGET_TASKS and len(targets) > 1:
        raise ConfigError(
            f"--task {task} predicts one target column, but the targets are {len(targets)} ({', '.join(targets)}): "
            "pass one with --target, or --task multilabel (0/1 labels) / multiregression (values)"
        )
    target = targets[0]
    data["target"] = targets if len(targets) > 1 else target

    if id_column is None:
        candidates = [sample.columns[0]] if sample is not None else []
        # the sample's 'id' is train's 'id ' or 'ID' (test and the sample are matched to it so too)
        key = candidates[0].strip().casefold() if candidates else None
        candidates += [c for c in train.columns if c.strip().casefold() == key]
        candidates += [c for c in train.columns if re.fullmatch(r"(?i)id|.*_id|.*Id", c)]
        id_column = next((c for c in candidates if c in train.columns and train[c].is_unique().all()), None)
        why.append(f"id = {id_column!r}" if id_column else _NO_ID)
    if id_column:
        data["id"] = id_column
    if sample_path:
        data["sample_submission"] = str(sample_path.resolve())

    y = strip_labels(labels_frame[target])[0]  # 'yes ' is the class 'yes', as the run reads it
    distribution: dict[str, Any] | None = None
    if task is None and len(targets) > 1:
        task = _multi_target_task(labels_frame, targets, why)
    elif task is None and grid_cols is not None and _grid_over(grid_cols, sample, y, grid_target, why):
        task = "distribution"
    elif task is None:
        n = y.drop_nulls().n_unique()  # a missing target is no class (run names those rows)
        labels = y.dtype in (pl.String, pl.Boolean, pl.Categorical)  # never a number to predict, however many
        whole = labels or (y.dtype.is_numeric() and (y.drop_nulls() % 1 == 0).all())
        preds = _prediction_columns(sample, id_column)
        per_class = (  # the sample has a probability column per class: classes, however many
            sample is not None
            and len(preds) > 2
            and whole
            and _class_probability_prefix(sample, preds, set(y.drop_nulls().cast(pl.String).unique().to_list()))
            is not None
        )
        task = "binary" if n == 2 else "multiclass" if labels or per_class or (whole and n <= 50) else "regression"
        numbers = task == "multiclass" and y.dtype.is_numeric() and not per_class
        sampled = (_sample_numbers(sample, id_column, y) or _rare_numbers(y, n)) if numbers else None
        if sampled:  # Abalone's Rings: whole numbers 1 .. 29, but the sample's 9.5 is a number to predict, no class
            task = "regression"
            why.append(f"task = 'regression' ({n} distinct whole target values, but {sampled})")
        elif task == "multiclass" and n > 50:
            reason = "text labels" if labels else f"the sample submission has a column per class ({len(preds)})"
            rows = unclashing("rows", y.name)
            once = int((y.drop_nulls().value_counts(name=rows)[rows] == 1).sum())
            if 2 * once > n:  # a free-text target, or an id: no fold can learn a class it sees once
                reason += (
                    f"; {once} of them hold one row each, which no fold can learn: check that --target names the "
                    "column to predict"
                )
            why.append(f"task = 'multiclass' ({n} distinct target values: {reason})")
        else:
            why.append(f"task = {task!r} ({n} distinct target values)")
        listed = _label_lists(y)
        if listed is not None and task == "multiclass":
            why.append(_label_lists_note(target, listed, n))
    if task == "distribution":
        distribution, metric = _distribution(y, sample, id_column, metric, grid, why)
    elif grid is not None:
        raise ConfigError(f"--grid gives a distribution task's bins or quantile levels; this task is {task!r}")
    elif metric is None and task in MULTI_TARGET_TASKS:
        metric = DEFAULT_METRIC[task]
        why.append(
            "metric = 'mean_log_loss' (a guess: the sample submission cannot tell it from mean_roc_auc; MoA scored "
            "log loss, the toxic comments competition AUC: check the evaluation page and pass --metric)"
            if task == "multilabel"
            else "metric = 'mean_rmse' (the usual metric of several value targets, a guess: the sample submission "
            "does not tell; check the competition's evaluation page and pass --metric, e.g. mean_mae)"
        )
    elif metric is None:
        metric = _sample_metric(sample, y, task, why)
        if metric is None:
            metric = DEFAULT_METRIC[task]
            why.append(
                f"metric = {metric!r} (the usual metric of a {task} task, a guess: the sample submission does not "
                "tell; check the competition's evaluation page and pass --metric)"
            )
    else:
        why.append(f"metric = {metric!r} (given)")

    only_train = _columns_test_lacks(labels_frame, test, {*targets, id_column}) if test is not None else []
    if only_train:  # Bike Sharing's casual and registered beside its count: no model can read them in test
        data["drop"] = only_train
        why.append(
            f"drop = {only_train} (train column(s) the test file lacks: no model can read them for the test rows; "
            "if one is the target, pass --target)"
        )
    elif seq_id is not None and labels_frame is not train and "test" in data.get("sequences", {}):
        # the test rows are the test long table's ids, with no column of the labels file: CareerCon's y_train.csv
        # holds group_id beside the surface, which the run refused (`test lacks feature column(s) 'group_id'`)
        beside = [c for c in labels_frame.columns if c not in {*targets, id_column, seq_id}]
        if beside:
            data["drop"] = beside
            why.append(
                f"drop = {beside} (column(s) of {Path(data['train']).name} beside the target: the test rows are the "
                "test long table's ids, which have none of them; one that groups the sequences (a session, a "
                "subject) can set [folds] strategy = 'group' and group = it instead)"
            )
    image_column: str | None = None
    if seq_id is None and has_folders(train_path):  # files named by a column of train, beside it: the images
        named, named_test = labels_frame, test
        # no test table, but the sample lists the test ids (Aerial Cactus: train.csv, train/, test/, the sample):
        # the test rows are the sample's, where its ids name files as train's do
        test_table = test_path or (sample_path if test is None else None)
        if id_column is not None and labels_frame[id_column].dtype != pl.String:  # '0007' as `run` spells it
            as_text = ReadOptions(lenient=True, keep_text=(id_column,))
            named = read_table(train_path, role="train", options=as_text)
            named_test = read_table(test_table, role="test", options=as_text) if test_table else None
        elif test_table is not None and test is None:
            named_test = read_table(test_table, role="test", options=lenient)
        found = find_image_files(train_path, named, named_test, id_column, {*targets, *only_train})
        if found is not None and test is None and sample_path is not None and named_test is not None:
            images = found[0]
            if _names_files(images, named_test, images.get("column") or id_column):
                data["test"] = str(sample_path.resolve())
                found[1].append(
                    f"test = {sample_path.name!r} (no test.* beside {train_path.name}: the sample submission's ids "
                    f"name the test files in {Path(images.get('test_folder') or images['folder']).name}/)"
                )
        if found is None and (hint := image_files_hint(train_path, named, id_column, {*targets, *only_train})):
            why.append(hint)
        if found is not None:
            images, lines = found
            column = images.get("column")
            if column is not None and id_column is None and labels_frame[column].is_unique().all():
                del images["column"]  # the file names are the rows' ids (SIIM-ISIC's image_name)
                data["id"] = id_column = column
                why[:] = [line for line in why if line != _NO_ID]
                lines.append(f"id = {column!r} (the image file names, one per row)")
            elif column is not None:  # a file name is no feature
                data["drop"] = [*data.get("drop", []), column]
            data["images"], image_column = images, column
            why.extend(lines)
    text = free_text_columns(labels_frame, exclude={*targets, id_column, seq_id, *only_train, image_column})
    if text:
        data["text"] = text
        for c in text:
            words = labels_frame[c].drop_nulls().str.count_matches(r"\S+").mean()
            why.append(
                f"text = [{c!r}] (free text: {words:.0f} words per row on average, mostly distinct): TF-IDF, a linear "
                "model's out-of-fold predictions, an SVD and statistics become its features inside each fold"
            )

    _route_distinct_text(labels_frame, {*targets, id_column, seq_id, *text, *only_train, image_column}, data, why)

    spec: dict[str, Any] = {"name": slug, "task": task, "metric": metric, "seed": 42, "data": data, "preset": preset}
    if distribution is not None:
        spec["distribution"] = distribution
    checked = build_spec(spec, source=f"the inferred config for {slug!r}")
    if checked.data.test is None and (checked.data.sequences is None or checked.data.sequences.test is None):
        why.append(  # a code competition's hidden test rows, a test file not downloaded: it had said nothing
            f"test = (none): no test.* beside {train_path.name}; the run scores its folds only (no submission): add "
            "test = 'FILE' under [data], or predict the test rows later: kaggle-kit predict RUN_DIR --test FILE"
        )
    try:  # the same reading and checks as `run`: a config whose data reads cleanly runs as written
        competition = load_competition(checked)
        streamed = competition.images.shape if competition.images is not None else None
        profile = DataProfile.of(
            competition.train, competition.features, competition.categorical, competition.task, competition.n_classes,
            streamed_shape=streamed, image_shape=image_shape(checked, competition.train) if streamed is None else None,
        )  # fmt: skip
    except DataError as exc:  # e.g. numbers written as text: `run` names the [data] key to add; the models still fit
        why.append(f"the data does not read cleanly yet ({exc}); the models are chosen from the columns as read")
        features = [c for c in train.columns if c not in (*targets, id_column)]
        categorical = [c for c in features if train[c].dtype in (pl.String, pl.Categorical, pl.Boolean)]
        n_classes = (
            len(targets)
            if task in MULTI_TARGET_TASKS
            else 1
            if task in ("regression", "distribution")
            else labels_frame[target].n_unique()
        )
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


def _names_files(images: dict[str, Any], table: pl.DataFrame, column: str | None) -> bool:
    """Whether ``table``'s ``column`` names files of ``images``' test folder: most of 32 of its values spread over
    its rows, as ``run`` will name them. Most, not all: a sample listing ids some of whose files are missing (from
    its first rows or later ones alike) is still the test table, whose run then names the missing files (all of its
    first 32 had to be there: 5 missing among them wrote no test, without a word; 5 after them, the test)."""
    if column is None or column not in table.columns or not table.height:
        return False
    folder = Path(images.get("test_folder") or images["folder"])
    ids = table[column].drop_nulls()
    values = ids.gather_every(max(1, ids.len() // 32)).head(32).cast(pl.String).to_list()
    named = sum((folder / images["pattern"].format(id=v)).is_file() for v in values)
    return 2 * named > len(values)


def write_config(
    slug: str, train_path: Path, out_dir: Path, *, overwrite: bool = False, **overrides: Any
) -> tuple[Path, list[str]]:
    """Write ``<out_dir>/<slug>.toml`` with data paths relative to ``out_dir`` and one comment per model."""
    path = out_dir / f"{slug}.toml"
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} exists; pass --force to overwrite it, or choose another slug")
    check_writable(out_dir, "the config", f"choose another --out ({KAGGLE_WRITABLE})")
    spec, why = infer_spec(slug, train_path, **{k: v for k, v in overrides.items() if v is not None})
    base = out_dir.resolve()
    for table in (spec["data"], spec["data"].get("sequences", {}), spec["data"].get("images", {})):
        for key in ("train", "test", "sample_submission", "folder", "train_folder", "test_folder"):
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
