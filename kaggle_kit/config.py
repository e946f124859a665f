"""The competition spec: a validated schema, read from and written to TOML, or built in Python.

Everything a run needs is declared here and checked once, at the boundary: unknown keys ("did you mean ...?"),
wrong types, and impossible combinations (a metric that cannot score the task, group folds without a group column)
are rejected with a :class:`~kaggle_kit.errors.ConfigError` naming the key and the allowed values (the message of
a fault pydantic finds is worded by :mod:`kaggle_kit.config_hints`).

Example::

    spec = CompetitionSpec(
        name="titanic", task="binary", metric="roc_auc",
        data=DataSpec(train="train.csv", test="test.csv", id="PassengerId", target="Survived"),
        models=[ModelSpec(name="lgbm", kind="lightgbm", params={"num_leaves": 15})],
    )
"""

from __future__ import annotations

import codecs
import hashlib
import json
import numbers
import os
import re
import sys
from collections.abc import Collection, Iterable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ConfigError, allowed, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

Task = Literal["binary", "multiclass", "regression", "distribution", "multilabel", "multiregression"]
#: the tasks with several target columns (``data.target = ["a", "b", ...]``): see kaggle_kit.models.multi_target
MULTI_TARGET_TASKS = ("multilabel", "multiregression")
Device = Literal["auto", "cpu", "cuda"]
Executor = Literal["local", "ray"]
FoldStrategyName = Literal["kfold", "stratified", "group", "stratified_group", "time"]

#: Names a run directory, a model, or a file stem may take: no path separators, no "..", so that nothing read from a
#: config can point outside the runs folder.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
BASELINE_NAME = "baseline"
#: The largest seed: every library takes a 32-bit unsigned seed (numpy, XGBoost, CatBoost; LightGBM's is folded
#: into its int range by its adapter).
MAX_SEED = 2**32 - 1
#: The kinds whose early stopping counts boosting rounds on a metric (``early_stopping_metric``); nets choose theirs
#: with ``params.monitor``.
BOOSTING_KINDS = ("xgboost", "lightgbm", "lightgbm_xt", "catboost")
#: net kinds whose penultimate-layer features another model may read (``ModelSpec.embeddings``)
EMBEDDING_KINDS = ("cnn", "hybrid")
#: the nets that read sequences: with ``data.sequences.layout = "streamed"`` they read them from the run's store
SEQUENCE_KINDS = ("rnn", "cnn1d")
EarlyStoppingMetric = Literal["auto", "metric", "loss"]
#: how a model of a distribution task predicts one (kaggle_kit.models.distribution): "auto" = the family's natural way
DistributionMethod = Literal["auto", "bins", "gaussian", "residuals", "head"]
#: the most bins / quantile levels a distribution task may have
MAX_DISTRIBUTION_GRID = 10_000


def _whole_seed(value: Any, key: str) -> Any:
    # pydantic reads true as 1; a seed written as a boolean is a typo, not a choice
    if isinstance(value, bool):
        raise ValueError(f"{key} must be a whole number such as 42; got {value!r}")
    return value


#: what a scalar key of each type is written as, for the message a value of another TOML type gets
_SCALAR_EXAMPLES = {int: "a whole number such as 5", float: "a number such as 0.5", bool: "true or false"}


def _scalar_type(annotation: Any) -> type | None:
    """int, float or bool when a field holds that type alone (or None besides); None for any other field."""
    members = set(get_args(annotation)) - {type(None)} if get_origin(annotation) in (Union, UnionType) else {annotation}
    return members.pop() if len(members) == 1 and members <= set(_SCALAR_EXAMPLES) else None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _scalar_as_written(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads n_splits = "5" as 5, n_jobs = true as 1, time_limit = true as 1.0 and shuffle = "yes" as
        # true: a quoted number or a boolean where a number goes is a slip in the TOML, not a choice, so it is named
        kind = _scalar_type(cls.model_fields[info.field_name].annotation) if info.field_name else None
        if kind is None or value is None:
            return value
        boolean = isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b"  # numpy's too
        numeric = isinstance(value, numbers.Real) and not boolean  # numpy's int64 and float32 too
        if (kind is bool and not boolean) or (kind is not bool and not numeric):
            quoted = " without quotes" if isinstance(value, str) else ""
            raise ValueError(f"must be {_SCALAR_EXAMPLES[kind]}{quoted}; got {value!r}")
        return value


def _check_safe_name(value: str, what: str) -> str:
    if not SAFE_NAME.match(value) or ".." in value:
        raise ValueError(
            f"the {what} must be 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit "
            f"(it names a folder); got {value!r}"
        )
    return value


def _once_each(value: list[str], what: str = "") -> None:
    """A list's names each named once, else "lists 'a' more than once" (``what`` before the names: "the label(s) ")."""
    dupes = sorted({n for n in value if value.count(n) > 1})
    if dupes:
        raise ValueError(f"lists {what}{allowed(dupes)} more than once")


def _known_and_distinct(value: list[str], known: Collection[str], what: str, listed: str) -> list[str]:
    """``value``, a list of names each of which must be one of ``known`` and named once (``what``: "statistic")."""
    for name in value:
        if name not in known:
            raise ValueError(f"unknown {what} {name!r}; {listed}: {allowed(known)}.{did_you_mean(name, known)}")
    _once_each(value)
    return value


#: What ``data.sequences.aggregates`` holds when it is not given: statistics most sensor competitions start from.
DEFAULT_SEQUENCE_AGGREGATES = ("mean", "std", "min", "max", "first", "last")


class SequenceSpec(_Strict):
    """Sequences given as long tables, one row per id and step (``[data.sequences]``).

    Each id's rows become one row of the train (or test) frame: the steps side by side as ``<column>__t<k>``
    (step-major, missing after a sequence's end; what ``rnn`` and ``cnn1d`` read) and per-id statistics
    ``<column>__<stat>`` plus ``n_steps`` (what trees read). The labels are in ``data.train`` (one row per id), or,
    when ``data.train`` is left out or names the same file as ``train`` here, in the long table itself.
    """

    train: Path = Field(description="long table of the training sequences")
    test: Path | None = Field(default=None, description="long table of the test sequences")
    id: str | None = Field(default=None, description="the column naming a row's sequence; default: data.id")
    order_by: str | None = Field(default=None, description="the step column; default: the file's row order")
    columns: list[str] | None = Field(
        default=None, description="the sequence columns; default: every numeric column but id, order_by and target"
    )
    max_len: int | None = Field(default=None, ge=1, description="steps kept per sequence; default: the longest")
    keep: Literal["first", "last"] = Field(default="first", description="which steps a longer sequence keeps")
    aggregates: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SEQUENCE_AGGREGATES),
        description="per-id statistics of each column for the trees; [] = none (and no n_steps)",
    )
    layout: Literal["wide", "streamed"] = Field(
        default="wide",
        description="'wide': the steps as columns <column>__t<k> of the frame (padded to the longest sequence); "
        "'streamed': kept end to end in one memory-mapped array of the run folder, each batch padded to its own "
        "longest sequence (the sequence nets read them; long or many sequences)",
    )

    @field_validator("aggregates")
    @classmethod
    def _known_stats(cls, value: list[str]) -> list[str]:
        from .features.sequence import SEQUENCE_STATS

        return _known_and_distinct(value, SEQUENCE_STATS, "statistic", "allowed")

    @field_validator("columns")
    @classmethod
    def _some_columns(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("must name at least one column (leave it out for every numeric column)")
        return value


class ImageFilesSpec(_Strict):
    """Images given as files, one per row of train / test (``[data.images]``); see :mod:`kaggle_kit.readers.images`.

    Each row's file is ``<folder>/<pattern with the row's column value>``; its pixels become the float columns
    ``pixel0 ..`` (row-major, a pixel's channels together), what the ``cnn`` kind reads with
    ``image_shape = [H, W, channels]``; or, streamed (``mode``), stay files the ``cnn`` decodes per batch
    (:mod:`kaggle_kit.readers.image_stream`).
    """

    column: str | None = Field(default=None, description="the column holding a row's id or file name; default: data.id")
    folder: Path | None = Field(default=None, description="the image folder of train and test")
    train_folder: Path | None = Field(default=None, description="the train images' folder, when apart from test's")
    test_folder: Path | None = Field(default=None, description="the test images' folder, when apart from train's")
    pattern: str = Field(default="{id}.png", description="file name from the column value: '{id}.png', '{}.jpg', '{}'")
    size: list[int] | None = Field(default=None, description="[height, width] to resize to; default: all the same size")
    channels: Literal[1, 3, 4] = Field(default=3, description="1 = grey, 3 = RGB, 4 = RGBA")
    background: Literal["white", "black"] = Field(
        default="white",
        description="what a transparent image is laid onto when read with channels 1 or 3 (4 keeps the alpha)",
    )
    mode: Literal["auto", "memory", "stream"] = Field(
        default="auto",
        description="'memory' = pixel columns; 'stream' = files decoded per batch for the image nets; 'auto' = "
        "stream above 32M pixel values (rows x height x width x channels)",
    )
    cache: bool = Field(
        default=True, description="stream mode: decode once into a uint8 memory-mapped .npy in the run folder"
    )
    workers: int | None = Field(
        default=None, ge=0, description="stream mode: DataLoader worker processes; default 0 with the cache, else 2"
    )

    @field_validator("pattern")
    @classmethod
    def _one_placeholder(cls, value: str) -> str:
        import string

        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            raise ValueError(f"is not a valid pattern ({exc}); write e.g. '{{id}}.png'") from None
        if not fields or any(f not in ("id", "", "0") for f in fields):
            raise ValueError(
                f"must hold the placeholder {{id}} (or {{}}) that the column's value replaces, e.g. '{{id}}.png'; "
                f"got {value!r}"
            )
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError(f"must be a file name inside the image folder (no leading '/', no '..'); got {value!r}")
        return value

    @field_validator("size")
    @classmethod
    def _height_width(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (len(value) != 2 or any(v < 1 for v in value)):
            raise ValueError(f"must be [height, width], two whole numbers >= 1; got {value!r}")
        return value

    @model_validator(mode="after")
    def _folders(self) -> ImageFilesSpec:
        if self.folder is None and self.train_folder is None:
            raise ValueError("needs folder (or train_folder and test_folder): where the image files are")
        if self.folder is not None and self.train_folder is not None and self.test_folder is not None:
            raise ValueError("folder is unused when both train_folder and test_folder are set; remove one of them")
        return self


class DataSpec(_Strict):
    """Where the data is and which columns play which role. Relative paths resolve against the config's folder."""

    train: Path
    test: Path | None = None
    sample_submission: Path | None = None
    id: str | None = None
    target: str | list[str] = Field(
        description="the target column; for task multilabel / multiregression a list of them (one per output)"
    )
    categorical: list[str] | None = Field(
        default=None,
        description="numeric columns that are really category codes; text and boolean columns are always categorical",
    )
    drop: list[str] = Field(default_factory=list, description="columns never used as features")
    text: list[str] | None = Field(
        default=None,
        description="free-text columns: each becomes TF-IDF -> out-of-fold linear predictions, an SVD and statistics "
        "inside the folds (a 'text' step run before every model's pipeline), never a category",
    )
    sequences: SequenceSpec | None = Field(
        default=None, description="sequences as long tables (one row per id and step), joined one row per id"
    )
    images: ImageFilesSpec | None = Field(default=None, description="image files listed by id -> pixel columns")
    # how CSV files are read (train, test, the sample submission, and a later test file alike)
    na_values: list[str] = Field(
        default_factory=list, description="more strings read as missing, e.g. ['?', '-']; 'NA', '' etc. always are"
    )
    thousands: str | None = Field(default=None, description="the thousands separator of numbers, e.g. ',' (51,257.30)")
    decimal: Literal[".", ","] | dict[Literal["train", "test"], Literal[".", ","]] = Field(
        default=".",
        description="the decimal mark of numbers: '.' or ','; or one per file when they differ, e.g. "
        "{ train = ',', test = '.' } (a file not named: '.'). A ','-separated file's unquoted numbers use '.'",
    )
    separator: str | None = Field(default=None, description="the CSV field separator; default: sniffed (, ; tab |)")
    encoding: str | None = Field(
        default=None,
        description="the text encoding of the CSV files, e.g. 'cp1252' or 'shift_jis'. Default: UTF-8, and a file "
        "that is not UTF-8 is read as Windows-1252 (Latin-1) with a warning",
    )
    date_formats: dict[str, str] = Field(
        default_factory=dict,
        description="strptime formats of date columns written as text, e.g. { day = '%d/%m/%Y' }. Default: a text "
        "column that one usual format (03/22/2022, 22 Mar 2022, with a time or not) reads in full is read with it, "
        "and the run records the format in its spec.toml; ISO dates need nothing",
    )
    split_codes: dict[str, str] = Field(
        default_factory=dict,
        description="text code columns split into their parts, column -> separator, e.g. { Cabin = '/' }: 'B/45/P' "
        "becomes Cabin_1 = 'B', Cabin_2 = 45, Cabin_3 = 'P' (a number where every train value of the part is one). "
        "kaggle-kit init proposes it for codes whose parts repeat",
    )
    classes: list[str | int] | None = Field(
        default=None,
        description="the class labels in their order (codes 0..C-1; the positive class of a binary task is the "
        "second); needed for an ordinal metric (qwk) on text labels. Default: numeric order, else alphabetical",
    )

    @field_validator("train", "test", "sample_submission", mode="before")
    @classmethod
    def _a_file_named(cls, value: Any) -> Any:
        # pydantic reads "" as Path("."): the config's folder, then "must be .csv or .parquet; got 'no extension'"
        if isinstance(value, str) and not value.strip():
            raise ValueError("must name a file, such as 'train.csv' (leave the key out where there is none); got ''")
        return value

    @field_validator("separator", "thousands")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 1 or value in '"\r\n'):
            raise ValueError(f"must be one character such as ',' ';' or '\\t' (not a quote or newline); got {value!r}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(
                    f"{value!r} is no text encoding Python knows; e.g. 'utf-8', 'cp1252', 'latin-1', 'shift_jis'"
                ) from None
        return value

    @field_validator("date_formats")
    @classmethod
    def _strptime_formats(cls, value: dict[str, str]) -> dict[str, str]:
        for column, fmt in value.items():
            if "%" not in fmt:
                raise ValueError(
                    f"{column} = {fmt!r} is no strptime format: write it with % codes, e.g. '%d/%m/%Y' for 22/03/2022"
                )
        return value

    @field_validator("decimal", mode="before")
    @classmethod
    def _decimal_marks(cls, value: Any) -> Any:
        # one clear message instead of one per member of the union
        marks = value.values() if isinstance(value, dict) else [value]
        files = [k for k in value if k not in ("train", "test")] if isinstance(value, dict) else []
        if files or any(m not in (".", ",") for m in marks):
            raise ValueError(
                "must be '.' or ',', or one per file as { train = ',', test = '.' } (the files 'train' and 'test'); "
                f"got {value!r}"
            )
        return value

    @field_validator("classes")
    @classmethod
    def _distinct_classes(cls, value: list[str | int] | None) -> list[str | int] | None:
        if value is None:
            return value
        texts = [str(v) for v in value]
        _once_each(texts, "the label(s) ")
        if len(texts) < 2:
            raise ValueError(f"needs at least two class labels; got {value!r}")
        return value

    @field_validator("target", mode="before")
    @classmethod
    def _column_names(cls, value: Any) -> Any:
        # one message, not one per member of the union (str, list[str]); a Python caller's tuple is a list, as
        # pydantic reads it
        if not isinstance(value, (str, list, tuple)) or any(not isinstance(v, str) for v in value):
            raise ValueError(
                "must be the target column's name in quotes, such as 'y', or a list of names for a multilabel / "
                f"multiregression task, such as ['a', 'b']; got {value!r}"
            )
        return value

    @field_validator("target")
    @classmethod
    def _distinct_targets(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            if not value:
                raise ValueError("must name at least one target column")
            _once_each(value)
        return value

    @property
    def targets(self) -> list[str]:
        """The target column(s) as a list: one for a single-target task."""
        return list(self.target) if isinstance(self.target, list) else [self.target]

    @field_validator("text")
    @classmethod
    def _distinct_text(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("must name at least one free-text column (or leave data.text out)")
        _once_each(value)
        return value

    @model_validator(mode="after")
    def _text_roles(self) -> DataSpec:
        for col in self.text or []:
            for key, names in (("id", [self.id]), ("target", self.targets), ("drop", self.drop)):
                if col in names:
                    raise ValueError(f"data.text lists {col!r}, which is also data.{key}; remove it from one of them")
            if col in (self.categorical or []):
                raise ValueError(
                    f"data.text lists {col!r}, which data.categorical also lists; a column is free text (TF-IDF "
                    "features) or a category, not both: remove it from one of them"
                )
        return self

    @model_validator(mode="after")
    def _split_roles(self) -> DataSpec:
        roles = {"id": [self.id], "target": self.targets, "drop": self.drop, "text": self.text or []}
        roles |= {"categorical": self.categorical or [], "date_formats": list(self.date_formats)}
        for col, sep in self.split_codes.items():
            if not sep:
                raise ValueError(f"data.split_codes: {col} = '' is no separator; give the text that cuts the code")
            for key, names in roles.items():
                if col in names:
                    raise ValueError(
                        f"data.split_codes names {col!r}, which data.{key} also names; a column is split into its "
                        "parts or has that role: remove it from one of them"
                    )
        return self

    @model_validator(mode="after")
    def _reading(self) -> DataSpec:
        marks = set(self.decimal.values()) if isinstance(self.decimal, dict) else {self.decimal}
        if self.thousands is not None and self.thousands in marks:
            raise ValueError(f"data.thousands and data.decimal are both {self.thousands!r}; they must differ")
        if self.separator is not None and self.separator == "," and "," in marks:
            raise ValueError("data.decimal = ',' needs another data.separator (e.g. ';'), as such files use")
        return self

    @model_validator(mode="before")
    @classmethod
    def _train_defaults_to_long_table(cls, value: Any) -> Any:
        # labels in the long table itself: data.train may be left out and means the same file
        if not isinstance(value, dict) or "train" in value:
            return value
        sequences = value.get("sequences")
        if isinstance(sequences, SequenceSpec):
            return {**value, "train": sequences.train}
        if isinstance(sequences, dict) and "train" in sequences:
            return {**value, "train": sequences["train"]}
        return value

    @model_validator(mode="after")
    def _sequence_roles(self) -> DataSpec:
        s = self.sequences
        if s is None:
            return self
        if self.id is None:
            raise ValueError(
                "data.sequences needs data.id: the column of the labels and submission files that names a sequence "
                "(data.sequences.id names it in the long tables, when it is spelled differently there)"
            )
        if isinstance(self.target, list):
            raise ValueError(
                "data.sequences takes one target column; several (a multilabel / multiregression task) are not read "
                "from long tables: join the sequences into one row per id first"
            )
        seq_id = s.id or self.id
        if s.order_by is not None and s.order_by in (seq_id, self.target):
            raise ValueError(
                f"data.sequences.order_by = {s.order_by!r} is the id or target column; name the step column"
            )
        clash = [c for c in s.columns or [] if c in (seq_id, s.order_by, self.target)]
        if clash:
            raise ValueError(
                f"data.sequences.columns lists {clash[0]!r}, the id, order_by or target column; list the value columns"
            )
        if self.test is not None and s.test is None:
            raise ValueError(
                "data.test is set but data.sequences.test is not: the test ids need their sequences; set "
                "data.sequences.test to the test long table (or remove data.test to take the ids from it)"
            )
        return self

    @property
    def labels_in_sequences(self) -> bool:
        """True when the target is read from the training long table (``data.train`` is that same file)."""
        return self.sequences is not None and os.path.normpath(self.train) == os.path.normpath(self.sequences.train)


class FoldSpec(_Strict):
    """How rows are assigned to folds. The assignment is computed once per run and shared by every model."""

    strategy: FoldStrategyName | None = Field(
        default=None,
        description="default: 'stratified' for classification (iterative stratification over the labels for "
        "multilabel), 'kfold' for regression and multiregression",
    )
    n_splits: int = Field(default=5, ge=2, le=100)
    n_repeats: int = Field(default=1, ge=1, le=20)
    group: str | None = Field(default=None, description="group column, for 'group' and 'stratified_group'")
    time: str | None = Field(default=None, description="ordering column for 'time'; default: the row order")
    shuffle: bool = True

    @model_validator(mode="after")
    def _columns_for_strategy(self) -> FoldSpec:
        if self.strategy in ("group", "stratified_group") and not self.group:
            raise ValueError(
                f"folds.strategy = {self.strategy!r} needs folds.group, the column whose values must not be split "
                "across folds"
            )
        if self.group and self.strategy not in ("group", "stratified_group"):
            raise ValueError(
                f"folds.group is set but folds.strategy is {self.strategy!r}; use 'group' or 'stratified_group', "
                "or remove folds.group"
            )
        if self.time and self.strategy != "time":
            raise ValueError(f"folds.time is set but folds.strategy is {self.strategy!r}; use 'time'")
        if self.strategy == "time" and self.n_repeats != 1:
            raise ValueError("folds.n_repeats must be 1 with folds.strategy = 'time' (time order has one split)")
        return self


class RunSpec(_Strict):
    """Where results go, how much of the machine to use, and where the (model, fold) tasks run."""

    name: str | None = Field(default=None, description="run folder under the runs root; default: the spec's name")
    n_jobs: int = Field(default=0, ge=0, description="parallel (model, fold) tasks; 0 = one per CPU core")
    threads_per_task: int = Field(
        default=0,
        ge=0,
        description="threads per task; 0 = load-aware: max(1, (cores - the cores other processes kept busy lately, "
        "rounded half down) // n_jobs), so a busy machine never gets more OpenMP threads than free cores",
    )
    executor: Executor = Field(
        default="local", description="'local': this process (n_jobs = 1) or a process pool; 'ray': Ray tasks"
    )
    ray_address: str | None = Field(
        default=None,
        description="executor = 'ray' only: None starts a local Ray; 'auto' or 'ray://host:port' joins a cluster",
    )
    time_limit: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,  # TOML writes inf and nan: a run without an end, its budget all NaN
        description="wall-clock seconds for the whole run (also `--time-limit`): configs that cannot finish all their "
        "folds in time are not started, late ones get fewer rounds / epochs, time left over bags the best with "
        "other seeds (kaggle_kit.runtime.search.budget)",
    )
    gpus_per_task: float | None = Field(
        default=None,
        ge=0,
        description="executor = 'ray' only: GPUs each task asks for; default 1 where the device resolves to cuda "
        "(0 for CPU-only models), 0 on CPU; below 1 shares a GPU (0.5 = two tasks per GPU)",
    )

    @field_validator("name")
    @classmethod
    def _safe(cls, value: str | None) -> str | None:
        return None if value is None else _check_safe_name(value, "run.name")

    @field_validator("ray_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("run.ray_address must be 'auto', 'ray://host:port' or 'host:port'; got an empty string")
        return value

    @field_validator("gpus_per_task")
    @classmethod
    def _gpu_share(cls, value: float | None) -> float | None:
        if value is not None and value > 1 and value != int(value):
            raise ValueError(f"run.gpus_per_task must be below 1 (a share of one GPU) or a whole number; got {value}")
        return value

    @model_validator(mode="after")
    def _ray_only(self) -> RunSpec:
        if self.executor != "ray":
            for key in ("ray_address", "gpus_per_task"):
                if getattr(self, key) is not None:
                    raise ValueError(f"run.{key} is only used with run.executor = 'ray'; set that, or remove {key}")
        return self


class BinRange(_Strict):
    """Evenly spaced bins from ``first`` to ``last`` inclusive: ``{ first = -99, last = 99, step = 1 }``."""

    first: float
    last: float
    step: float = Field(gt=0)

    @model_validator(mode="after")
    def _whole_steps(self) -> BinRange:
        n = (self.last - self.first) / self.step
        if self.last <= self.first or abs(n - round(n)) > 1e-9 * max(1.0, abs(n)):
            raise ValueError(
                f"last must be above first by a whole number of steps; got first = {self.first:g}, last = "
                f"{self.last:g}, step = {self.step:g}"
            )
        if round(n) + 1 > MAX_DISTRIBUTION_GRID:
            raise ValueError(f"makes {round(n) + 1} bins; at most {MAX_DISTRIBUTION_GRID} are allowed")
        return self

    def values(self) -> list[float]:
        n = round((self.last - self.first) / self.step)
        # to 12 significant digits: 0.1 * 3 is the bin 0.3 (and its column cdf_0.3), not 0.30000000000000004
        return [float(f"{self.first + i * self.step:.12g}") for i in range(n)] + [self.last]


class DistributionSpec(_Strict):
    """What a distribution task predicts (``[distribution]``): a CDF at ``bins`` (scored by ``crps``) or values at
    quantile ``levels`` (scored by ``pinball``); see :mod:`kaggle_kit.models.distribution`."""

    bins: list[float] | BinRange | None = Field(
        default=None,
        description="the CDF is predicted at these values: a list, or { first = -99, last = 99, step = 1 }",
    )
    quantiles: list[float] | None = Field(default=None, description="quantile levels in (0, 1), e.g. [0.1, 0.5, 0.9]")
    columns: str | None = Field(
        default=None,
        description="submission column names, '{}' replaced by the bin / level, e.g. 'Yards{}'; default: the sample "
        "submission's columns (in order), else 'cdf_{}' / 'q_{}'",
    )

    @field_validator("bins", "quantiles")
    @classmethod
    def _increasing(cls, value: Any) -> Any:
        if isinstance(value, list):
            if not value:
                raise ValueError("must hold at least one value")
            if len(value) > MAX_DISTRIBUTION_GRID:
                raise ValueError(f"holds {len(value)} values; at most {MAX_DISTRIBUTION_GRID} are allowed")
            bad = next((i for i in range(1, len(value)) if value[i] <= value[i - 1]), None)
            if bad is not None:
                raise ValueError(f"must increase; item {bad} ({value[bad]:g}) is not above {value[bad - 1]:g}")
        return value

    @field_validator("quantiles")
    @classmethod
    def _levels(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and not all(0.0 < v < 1.0 for v in value):
            raise ValueError(f"quantile levels must lie strictly between 0 and 1; got {value}")
        return value

    @field_validator("columns")
    @classmethod
    def _placeholder(cls, value: str | None) -> str | None:
        if value is not None and value.count("{}") != 1:
            raise ValueError(f"must hold '{{}}' once, where the bin / level goes, e.g. 'Yards{{}}'; got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> DistributionSpec:
        if (self.bins is None) == (self.quantiles is None):
            raise ValueError(
                "set exactly one of bins (a CDF scored by metric 'crps') and quantiles (levels scored by 'pinball')"
            )
        return self

    @property
    def grid(self) -> tuple[float, ...]:
        """The bins or the quantile levels, one prediction column each."""
        if isinstance(self.bins, BinRange):
            return tuple(self.bins.values())
        return tuple(float(v) for v in (self.bins if self.bins is not None else self.quantiles or []))


class ModelSpec(_Strict):
    """One model of the run.

    ``kind`` picks the adapter; ``params`` go to the library (XGBoost / LightGBM / CatBoost parameters under any of
    their names, each alias resolved by the library's own table and winning over the kit's defaults; or the
    scikit-learn estimator's constructor arguments). Boosting rounds, early stopping and the seed have their own keys
    so that they mean the same for every library.
    """

    name: str
    kind: str = Field(
        description="model family: a key of kaggle_kit.models.ADAPTERS, e.g. 'xgboost', 'lightgbm' (checked against "
        "that registry when a run starts, so the spec stays data: kaggle_kit.models.check_kinds)"
    )
    params: dict[str, Any] = Field(default_factory=dict)
    estimator: str | None = Field(default=None, description="for kind = 'sklearn': e.g. 'sklearn.linear_model.Ridge'")
    num_boost_round: int = Field(default=5000, ge=1)
    early_stopping_rounds: int | None = Field(default=200, ge=1, description="0 or None: no early stopping")
    pipeline: str | None = Field(
        default=None, description="name of a [pipelines.<name>] table; default: the base encoding only"
    )
    seed: int | None = Field(
        default=None, ge=0, le=MAX_SEED, description="this model's seed; default: the run's seed (folds keep that)"
    )
    distribution: DistributionMethod = Field(
        default="auto",
        description="distribution tasks only: 'bins' = a classifier over the bins, 'gaussian' / 'residuals' = a "
        "regressor with a normal / empirical noise model fitted out of fold, 'head' = a net's CDF head trained on "
        "CRPS; 'auto' = head for nets under CRPS, the training CDF for the baseline, else residuals (measured best)",
    )
    early_stopping_metric: EarlyStoppingMetric = Field(
        default="auto",
        description="what boosting rounds are early-stopped on: 'metric' = the competition metric, 'loss' = log "
        "loss / RMSE, 'auto' = the choice measured better (benchmarks/early_stopping.py): today the loss",
    )
    embeddings: str | None = Field(
        default=None,
        description="name of an image net of the spec (kind cnn or hybrid) whose penultimate-layer features, out of "
        "fold, are added to this model's columns as emb_<net>_<i> (kaggle_kit.runtime.embeddings)",
    )

    @field_validator("name")
    @classmethod
    def _safe(cls, value: str) -> str:
        return _check_safe_name(value, "model name")

    @field_validator("seed", mode="before")
    @classmethod
    def _integer_seed(cls, value: Any) -> Any:
        return _whole_seed(value, "seed")

    @model_validator(mode="after")
    def _stopping_for_boosting(self) -> ModelSpec:
        if self.early_stopping_metric != "auto" and self.kind not in BOOSTING_KINDS:
            instead = "sets params.monitor" if self.kind in ("mlp", "cnn", "hybrid", "rnn", "cnn1d") else "has none"
            raise ValueError(
                f"model {self.name!r}: early_stopping_metric is for the boosting kinds ({', '.join(BOOSTING_KINDS)}); "
                f"kind {self.kind!r} {instead}"
            )
        return self

    @field_validator("early_stopping_rounds", mode="before")
    @classmethod
    def _zero_is_off(cls, value: Any) -> Any:
        # TOML has no null, so 0 is how a config file (and to_toml) says "no early stopping".
        # numpy's 0 too (a Python caller's np.int64); not 0.0 or false
        zero = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value == 0
        return None if zero else value

    @model_validator(mode="after")
    def _estimator_for_sklearn(self) -> ModelSpec:
        if self.kind == "sklearn":
            if not self.estimator:
                raise ValueError(
                    f"model {self.name!r}: kind = 'sklearn' needs estimator = 'sklearn.<module>.<Class>', "
                    "e.g. 'sklearn.linear_model.LogisticRegression'"
                )
            # Configs are data: importing an arbitrary module path could run code, so only scikit-learn is allowed.
            if not re.fullmatch(r"sklearn(\.[A-Za-z_][A-Za-z0-9_]*)+", self.estimator):
                raise ValueError(
                    f"model {self.name!r}: estimator must be a scikit-learn class path such as "
                    f"'sklearn.linear_model.Ridge'; got {self.estimator!r}. Other estimators can be passed as "
                    "objects from Python"
                )
        elif self.estimator is not None:
            raise ValueError(f"model {self.name!r}: estimator is only for kind = 'sklearn'; got kind = {self.kind!r}")
        return self


class PipelineSpec(_Strict):
    """A named feature pipeline: steps fitted on each fold's training rows, applied to its validation and test rows.

    ``steps`` are tables ``{ step = "<kind>", ...parameters }`` (see :mod:`kaggle_kit.features`); ``extends`` names
    another pipeline whose steps come first, so trees and nets can share a base and add their own.
    """

    extends: str | None = Field(default=None, description="a pipeline whose steps run before these")
    steps: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("steps", mode="before")
    @classmethod
    def _valid_steps(cls, value: Any) -> Any:
        from .features import validate_steps

        # normalised tables; a ConfigError starting "[i] (kind): " is read as "pipelines.<name>.steps[i] (kind): "
        return validate_steps(value, where="")


#: the ModelSpec fields ``[search.overrides.<family>]`` may set on every config of a family
SEARCH_OVERRIDE_KEYS = ("params", "num_boost_round", "early_stopping_rounds", "pipeline")
MAX_SEARCH_CONFIGS = 1000  #: configs per family: names run from <family>_c000 to <family>_c999


def _check_override(family: str, table: dict[str, Any]) -> None:
    """``[search.overrides.<family>]``'s values, as the spec is read: each is set on every config of the family, and
    a bad one had failed as the search started (``params = 5``: a TypeError's traceback; ``num_boost_round = 0``:
    pydantic's own text, with a link)."""
    from .config_hints import explain  # here: it imports this module's spec classes
    from .runtime.search.spaces import SPACES

    params = table.get("params", {})
    if not isinstance(params, dict):
        raise ValueError(
            f"search.overrides.{family}.params must be a table of the library's parameters, such as "
            f"{{ num_leaves = 31 }}; got {params!r}"
        )
    space = SPACES[family]
    fields = {**space.model, **{k: v for k, v in table.items() if k != "params"}}
    try:
        ModelSpec(name=f"{family}_c000", kind=space.kind, params={**space.fixed, **params}, **fields)
    except ValidationError as exc:
        error = exc.errors()[0]  # said as the key's own fault would be, the override's path before its key
        raise ValueError(explain({**error, "loc": ("search", "overrides", family, *error["loc"])})) from None


class SearchSpec(_Strict):
    """A search over model families (``[search]``): per family its default config, then configs drawn from its space
    (:data:`kaggle_kit.runtime.search.SPACES`), each a model of the run named ``<family>_c<index>``
    (``lightgbm_c007``)."""

    families: Annotated[list[str], Field(min_length=1)] = Field(
        description="families to search, keys of kaggle_kit.runtime.search.SPACES, e.g. ['lightgbm', 'xgboost']"
    )
    n_configs: int | dict[str, int] = Field(
        default=8,
        description="configs per family, the default (c000) included; a table gives each family its own number",
    )
    sampler: Literal["random", "tpe"] = Field(
        default="random",
        description="'random': config i drawn from (seed, family, i) alone; 'tpe': Optuna's TPE (pip install "
        "'kaggle-kit[search]'), its study in <run>/search/search.db",
    )
    seed: int | None = Field(default=None, ge=0, description="seed of the sampled configs; default: the spec's seed")
    include_default: bool = Field(default=True, description="config 0 of each family is its default config")
    batch: int = Field(
        default=4,
        ge=1,
        le=1024,
        description="sampler = 'tpe': configs asked at once, before any of their scores is told (fitted side by side); "
        "a setting of the spec, not of the worker count, so one seed asks the same configs at any n_jobs",
    )
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per family, ModelSpec fields set on every config: params (over the sampled ones), "
        "num_boost_round, early_stopping_rounds, pipeline",
    )

    @field_validator("families")
    @classmethod
    def _known_families(cls, value: list[str]) -> list[str]:
        from .runtime.search.spaces import SPACES

        return _known_and_distinct(value, SPACES, "family", "known")

    @field_validator("n_configs", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        counts = value.values() if isinstance(value, dict) else [value]
        for n in counts:
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= n <= MAX_SEARCH_CONFIGS:
                raise ValueError(
                    f"must be a whole number from 1 to {MAX_SEARCH_CONFIGS} (configs per family, the default "
                    f"included), or a table of them per family such as {{ lightgbm = 20, xgboost = 10 }}; got {n!r}"
                )
        return value

    @model_validator(mode="after")
    def _per_family_keys(self) -> SearchSpec:
        tables = [("n_configs", self.n_configs)] if isinstance(self.n_configs, dict) else []
        for where, table in [*tables, ("overrides", self.overrides)]:
            for family in table:
                if family not in self.families:
                    raise ValueError(
                        f"search.{where} names {family!r}, which is not in search.families ({allowed(self.families)})"
                        f"; add it there or remove it.{did_you_mean(family, self.families)}"
                    )
        for family, table in self.overrides.items():
            for key in table:
                if key not in SEARCH_OVERRIDE_KEYS:
                    raise ValueError(
                        f"search.overrides.{family}.{key} is not a model field a search may set; allowed: "
                        f"{allowed(SEARCH_OVERRIDE_KEYS)}.{did_you_mean(key, SEARCH_OVERRIDE_KEYS)}"
                    )
            _check_override(family, table)
        return self

    def count(self, family: str) -> int:
        """How many configs ``family`` gets (the default included)."""
        return self.n_configs.get(family, 0) if isinstance(self.n_configs, dict) else self.n_configs

    def with_count(self, n: int) -> SearchSpec:
        """This search with ``n`` configs for every family (``--search N`` / ``--n N``)."""
        return SearchSpec.model_validate({**self.model_dump(), "n_configs": n})


class PseudoLabelSpec(_Strict):
    """Pseudo-labelling (``[pseudo_label]``): confident test predictions of ``source`` become training rows of new
    models ``<model>@pl<round>`` (:mod:`kaggle_kit.runtime.pseudo`), added to each fold's training rows only."""

    source: str = Field(description="the model of the run, or a blend stored in its folder, whose test rows label")
    threshold: float = Field(
        default=0.95, description="the probability of its most probable class a test row needs to be used (0 < t < 1)"
    )
    soft: bool = Field(
        default=False,
        description="train on the predicted probabilities instead of the label (GBDTs: each row once per class, "
        "weighted; nets: soft targets)",
    )
    rounds: int = Field(default=1, ge=1, le=10, description="rounds; round r > 1 labels with round r - 1's models")
    models: list[str] | None = Field(
        default=None, description="the models refitted with pseudo labels; default: the source (a blend: its models)"
    )

    @field_validator("threshold", mode="before")
    @classmethod
    def _probability(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise ValueError(
                "must be a probability between 0 and 1 (exclusive): how sure the source must be of a test row's "
                f"class for the row to be used, e.g. 0.95; got {value!r}"
            )
        return value

    @field_validator("rounds", mode="before")
    @classmethod
    def _whole_rounds(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"must be a whole number of rounds such as 2; got {value!r}")
        return value

    @field_validator("models")
    @classmethod
    def _some_models(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("must name at least one model (leave it out to refit the source's models)")
            _once_each(value)
        return value


class CompetitionSpec(_Strict):
    """The whole competition: task, metric, data, folds, models. Built from TOML by :func:`load_spec`."""

    name: str
    kaggle: str | None = Field(
        default=None,
        description="the competition's slug on kaggle.com: missing data files come with a download command",
    )
    task: Task
    metric: str
    seed: int = Field(default=42, ge=0, le=MAX_SEED)
    device: Device = "auto"
    data: DataSpec
    folds: FoldSpec = Field(default_factory=FoldSpec)
    run: RunSpec = Field(default_factory=RunSpec)
    preset: Literal["fast", "good", "best"] | None = Field(
        default=None,
        description="a portfolio of models chosen for the data (kaggle_kit.presets), added to [[models]]",
    )
    models: list[ModelSpec] = Field(default_factory=list, description="at least one, unless preset or [search] is set")
    search: SearchSpec | None = Field(default=None, description="a search over model families: [search]")
    distribution: DistributionSpec | None = Field(
        default=None, description="task = 'distribution' only: the bins of the CDF or the quantile levels"
    )
    pipelines: dict[str, PipelineSpec] = Field(default_factory=dict, description="feature pipelines, by name")
    pseudo_label: PseudoLabelSpec | None = Field(
        default=None, description="pseudo-labelling of confident test rows: [pseudo_label]"
    )
    base_dir: Path = Field(default=Path("."), exclude=True, description="folder that relative data paths start from")

    @field_validator("name")
    @classmethod
    def _safe(cls, value: str) -> str:
        return _check_safe_name(value, "competition name")

    @field_validator("seed", mode="before")
    @classmethod
    def _integer_seed(cls, value: Any) -> Any:
        return _whole_seed(value, "seed")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        from .metrics import get_metric

        # raises ConfigError naming the allowed metrics; "AUC", "logloss", "MAP@3" become the canonical name, the one
        # a run folder stores and every comparison of metric names expects
        return get_metric(value).name

    @model_validator(mode="after")
    def _consistent(self) -> CompetitionSpec:
        from .metrics import get_metric

        if not self.models and self.preset is None and self.search is None:
            raise ValueError(
                "the spec has no models: add [[models]] tables, preset = 'good' (or 'fast', 'best') for a "
                "portfolio chosen for the data, or a [search] over model families"
            )
        metric = get_metric(self.metric)
        if self.task not in metric.tasks:
            fitting = sorted(n for n, m in _metrics().items() if self.task in m.tasks)
            raise ValueError(f"metric {self.metric!r} cannot score a {self.task} task; use one of {allowed(fitting)}")
        if self.task in ("regression", "distribution") and self.data.classes is not None:
            raise ValueError(f"data.classes orders class labels, which a {self.task} task has none of; remove it")
        self._check_distribution(metric)
        self._check_targets()
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            tables = [f"models[{i}]" for i, n in enumerate(names) if n == dupes[0]]
            tables_text = ", ".join(tables[:-1]) + " and " + tables[-1]
            raise ValueError(
                f"model names must be unique: {dupes[0]!r} names {tables_text}; rename all but one (a name names the "
                "model's folder in the run)"
            )
        if BASELINE_NAME in names:
            raise ValueError(
                f"the model name {BASELINE_NAME!r} is reserved for the dummy baseline every run fits; rename it"
            )
        self._check_pipelines()
        self._check_pseudo_label(names)
        self._check_embeddings()
        for key, col in (("group", self.folds.group), ("time", self.folds.time)):
            if col in self.data.split_codes:
                raise ValueError(
                    f"folds.{key} names {col!r}, which data.split_codes splits into its parts ({col}_1, {col}_2, ...): "
                    f"name one of them, or remove {col!r} from data.split_codes"
                )
        return self

    def _check_pseudo_label(self, names: list[str]) -> None:
        pseudo = self.pseudo_label
        if pseudo is None:
            return
        if self.task in ("regression", "distribution"):
            raise ValueError(
                "pseudo_label needs class probabilities to say which test rows are confident, which a "
                f"{self.task} task has none of; remove the [pseudo_label] table"
            )
        if self.task in MULTI_TARGET_TASKS:
            raise ValueError(
                "pseudo_label needs class probabilities of one target column to say which test rows are confident; a "
                f"{self.task} task has {len(self.data.targets)} target columns, which it does not pseudo-label: remove "
                "the [pseudo_label] table"
            )
        if self.preset is not None or self.search is not None:  # their models are known once the data is read
            return
        for name in pseudo.models or []:
            if name not in names:
                raise ValueError(
                    f"pseudo_label.models names {name!r}, which is not a model of the spec; models: "
                    f"{allowed(names)}.{did_you_mean(name, names)}"
                )
        by_name = {m.name: m for m in self.models}
        for name in pseudo.models or [pseudo.source]:
            model = by_name.get(name)
            if model is not None and model.embeddings is not None:
                raise ValueError(
                    f"pseudo_label would refit model {name!r}, which reads the out-of-fold embeddings of "
                    f"{model.embeddings!r}: test rows have no out-of-fold embedding to train on; leave it out of "
                    "pseudo_label.models"
                )

    def _check_distribution(self, metric: Any) -> None:
        if self.task != "distribution":
            if self.distribution is not None:
                raise ValueError("[distribution] is for task = 'distribution'; remove it or change the task")
            named = [m.name for m in self.models if m.distribution != "auto"]
            if named:
                raise ValueError(f"model {named[0]!r}: distribution is for task = 'distribution' only; remove it")
            return
        if self.distribution is None:
            raise ValueError(
                "task = 'distribution' needs a [distribution] table: bins = [...] (or { first, last, step }) for a "
                "CDF scored by 'crps', or quantiles = [...] for 'pinball'"
            )
        wants = "bins" if metric.needs == "cdf" else "quantiles"
        if getattr(self.distribution, wants) is None:
            raise ValueError(f"metric {self.metric!r} scores predictions at distribution.{wants}; set that instead")

    def _check_embeddings(self) -> None:
        """A model's ``embeddings`` name an image net of the spec; an image net reads none (so none is chained)."""
        by_name = {m.name: m for m in self.models}
        for m in self.models:
            if m.embeddings is None:
                continue
            source = by_name.get(m.embeddings)
            where = f"model {m.name!r}: embeddings = {m.embeddings!r}"
            if m.kind in EMBEDDING_KINDS:
                raise ValueError(
                    f"{where}: a {m.kind!r} reads images, not embeddings; give them to a tree or linear model"
                )
            if source is None:
                if self.preset is not None:  # a net of the preset's, known once the data is read: checked with them
                    continue
                raise ValueError(
                    f"{where} is not a model of the spec; models: {allowed(by_name)}."
                    f"{did_you_mean(m.embeddings, by_name)}"
                )
            if source.name == m.name:
                raise ValueError(f"{where} names the model itself; name an image net (kind cnn or hybrid)")
            if source.kind not in EMBEDDING_KINDS:
                raise ValueError(
                    f"{where} is a {source.kind!r}; embeddings come from an image net ({allowed(EMBEDDING_KINDS)})"
                )

    def _check_targets(self) -> None:
        multi = self.task in MULTI_TARGET_TASKS
        if isinstance(self.data.target, list) and not multi:
            raise ValueError(
                f"data.target lists {len(self.data.target)} columns, but a {self.task} task has one target; use "
                "task = 'multilabel' (binary labels) or 'multiregression' (values), or name one column"
            )
        if multi and self.data.classes is not None:
            raise ValueError(
                f"data.classes orders the labels of one class column; a {self.task} task's targets are "
                f"{'0/1 labels' if self.task == 'multilabel' else 'values'}: remove it"
            )
        if multi and self.folds.strategy == "stratified_group":
            raise ValueError(
                f"folds.strategy = 'stratified_group' stratifies one label column; for a {self.task} task use "
                "'group' (or 'stratified' without groups: iterative stratification over the labels)"
            )
        if self.task == "multiregression" and self.folds.strategy == "stratified":
            raise ValueError(
                "folds.strategy = 'stratified' stratifies on labels, and a multiregression task's targets are values: "
                "use 'kfold' (the default)"
            )

    def _check_pipelines(self) -> None:
        declared = self.pipelines
        for name, pipe in declared.items():
            if pipe.extends is None:
                continue
            if pipe.extends not in declared:
                raise ValueError(
                    f"pipelines.{name}.extends = {pipe.extends!r} is not a declared pipeline; declared: "
                    f"{allowed(declared)}.{did_you_mean(pipe.extends, declared)}"
                )
            chain = [name]
            while declared[chain[-1]].extends is not None:
                chain.append(declared[chain[-1]].extends)  # type: ignore[arg-type]
                if chain[-1] in chain[:-1]:
                    raise ValueError(f"pipelines.{name}.extends makes a cycle: {' -> '.join(chain)}")
        if self.search is not None:
            for family, table in self.search.overrides.items():
                pipe = table.get("pipeline")
                if pipe is not None and pipe not in declared and not declared:
                    raise ValueError(
                        f"search.overrides.{family}.pipeline = {pipe!r}: the spec declares no pipelines; add a "
                        f"[pipelines.{pipe}] table"
                    )
                if pipe is not None and pipe not in declared:
                    raise ValueError(
                        f"search.overrides.{family}.pipeline = {pipe!r} is not a declared pipeline; declared: "
                        f"{allowed(declared)}.{did_you_mean(str(pipe), declared)}"
                    )
        for i, m in enumerate(self.models):
            if m.pipeline is not None and m.pipeline not in declared:
                where = f"models[{i}].pipeline = {m.pipeline!r} (model {m.name!r})"
                if not declared:
                    raise ValueError(f"{where}: the spec declares no pipelines; add a [pipelines.{m.pipeline}] table")
                raise ValueError(
                    f"{where} is not a declared pipeline; declared: {allowed(declared)}."
                    f"{did_you_mean(m.pipeline, declared)}"
                )

    # ------------------------------------------------------------------ derived values
    @property
    def fold_strategy(self) -> str:
        if self.folds.strategy is not None:
            return self.folds.strategy
        return "kfold" if self.task in ("regression", "distribution", "multiregression") else "stratified"

    @property
    def grid(self) -> tuple[float, ...] | None:
        """A distribution task's bins or quantile levels (one prediction column each); None for other tasks."""
        return self.distribution.grid if self.distribution is not None else None

    @property
    def run_name(self) -> str:
        return self.run.name or self.name

    def resolve(self, path: Path) -> Path:
        """A data path as the user meant it: ``~`` is the home folder and ``$VAR`` / ``${VAR}`` an environment
        variable's value (the spec keeps them as written, so a run folder moved to another machine finds that
        machine's), unless the path exists as written and not expanded; relative paths start at the config file's
        folder."""
        # they were read as folders named '~' and '$HOME'; a path that exists as written wins where the expanded one
        # does not (a Kaggle dataset folder `data$1`, `prices$HOME`)
        written = self._from_base(Path(path))
        expanded = self._from_base(Path(os.path.expanduser(os.path.expandvars(path))))
        return written if expanded != written and written.exists() and not expanded.exists() else expanded

    def _from_base(self, path: Path) -> Path:
        return Path(os.path.normpath(path if path.is_absolute() else self.base_dir / path))

    def pipeline_steps(self, name: str) -> list[dict[str, Any]]:
        """A pipeline's steps with those of the pipelines it extends first (the base's before its own)."""
        if name not in self.pipelines:
            raise ConfigError(f"no pipeline named {name!r}; the spec has {allowed(self.pipelines)}")
        chain: list[PipelineSpec] = []
        current: str | None = name
        while current is not None:
            chain.append(self.pipelines[current])
            current = self.pipelines[current].extends
        return [step for pipe in reversed(chain) for step in pipe.steps]

    def feature_steps(self, model: ModelSpec) -> list[dict[str, Any]] | None:
        """The steps fitted in each fold for ``model``: a ``text`` step for the ``data.text`` columns its pipeline
        does not treat itself, then its pipeline's steps (and, for a sequence net of a streamed ``data.sequences``,
        ``sequence_rows``); None for the base encoding alone (no pipeline, no text, no such net)."""
        placed = self._placed_steps(model)
        return [step for step, _ in placed] if placed or model.pipeline is not None else None

    def feature_step_places(self, model: ModelSpec) -> list[str]:
        """Where each of :meth:`feature_steps`' steps is written, as a message names it: ``(pipeline 'p')
        steps[1]``, its index among that pipeline's own steps (a pipeline ``p`` extends named so), ``(data.text)``,
        ``(data.sequences)``. A step's index in the fitted list is not the user's where ``data.text`` adds a step
        first or the pipeline extends another."""
        return [place for _, place in self._placed_steps(model)]

    def _placed_steps(self, model: ModelSpec) -> list[tuple[dict[str, Any], str]]:
        placed: list[tuple[dict[str, Any], str]] = []
        chain: list[str] = []
        if model.pipeline is not None:
            self.pipeline_steps(model.pipeline)  # an unknown name: its error
        current = model.pipeline
        while current is not None:  # as pipeline_steps: the base's steps before its own
            chain.append(current)
            current = self.pipelines[current].extends
        for name in reversed(chain):
            of = (
                f"pipeline {name!r}"
                if name == model.pipeline
                else f"pipeline {name!r}, which {model.pipeline!r} extends"
            )
            placed += [(step, f"({of}) steps[{j}]") for j, step in enumerate(self.pipelines[name].steps)]
        covered = {c for s, _ in placed if s["step"] == "text" for c in s["columns"]}
        untreated = [c for c in self.data.text or [] if c not in covered]
        if untreated:
            from .features import TextFeatures

            # several targets: the step's out-of-fold linear model would learn from one of them; its TF-IDF SVD and
            # statistics stay (a toxic-comments table ran into `learns from the target` on its init's own config)
            linear = self.task not in MULTI_TARGET_TASKS
            placed = [(TextFeatures(columns=untreated, linear=linear).to_config(), "(data.text)"), *placed]
        s = self.data.sequences
        if s is not None and s.layout == "streamed" and model.kind in SEQUENCE_KINDS:
            # the net reads its rows' sequences from the run's store
            placed = [*placed, ({"step": "sequence_rows"}, "(data.sequences)")]
        return placed

    def model(self, name: str) -> ModelSpec:
        for m in self.models:
            if m.name == name:
                return m
        names = [m.name for m in self.models]
        raise ConfigError(f"no model named {name!r}; the spec has {allowed(names)}.{did_you_mean(name, names)}")

    # ------------------------------------------------------------------ TOML
    def to_toml(self) -> str:
        payload = self.model_dump(mode="json")
        if not payload["pipelines"]:
            del payload["pipelines"]
        for model in payload["models"]:  # None would be dropped and read back as the default (200)
            if model["early_stopping_rounds"] is None:
                model["early_stopping_rounds"] = 0
            empty = [k for k, v in model["params"].items() if v is None]
            if empty:  # dropping it would silently give the library's default instead of None
                raise ConfigError(
                    f"model {model['name']!r}: params.{empty[0]} is None, which TOML cannot write; leave the key out "
                    "if the library's default is meant, or keep this spec in Python"
                )
        return tomli_w.dumps(_drop_none(payload))


def _metrics() -> dict[str, Any]:
    from .metrics import METRICS

    return METRICS


def _drop_none(value: Any) -> Any:
    """TOML has no null: leave unset optional keys out."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def spec_hash(payload: Any) -> str:
    """A stable 16-hex-digit hash of JSON-able data (sorted keys), used to content-address stored results."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- loading


def build_spec(data: dict[str, Any], *, base_dir: Path | str = ".", source: str = "spec") -> CompetitionSpec:
    """Validate a plain dict (e.g. parsed TOML) into a :class:`CompetitionSpec`, raising :class:`ConfigError`."""
    if "base_dir" in data:  # it would be silently replaced by the argument below
        raise ConfigError(
            f"{source}: unknown key 'base_dir' (data paths are relative to the config file's folder, "
            "or to build_spec's base_dir argument)"
        )
    from .config_hints import validation_message  # here: it imports this module's spec classes

    try:
        return CompetitionSpec.model_validate({**data, "base_dir": Path(base_dir)})
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, source, data)) from None
    except ConfigError as exc:  # raised by a validator (e.g. an unknown metric name)
        raise ConfigError(f"{source}: {exc}") from None


def load_spec(path: Path | str, *, preset: str | None = None) -> CompetitionSpec:
    """Read and validate ``competitions/<slug>.toml``; relative data paths resolve against its folder. ``preset``
    (``kaggle-kit run --preset``) replaces the file's ``preset`` before validation: a config with no models of its
    own is then valid."""
    path = Path(path)
    if path.is_dir():  # "does not exist" had sent the user looking for a folder that is there
        what = "a run folder" if (path / "run.json").is_file() else "a folder"
        raise ConfigError(
            f"{str(path)!r} is {what}, not a config file; pass the path of a competition TOML file (e.g. "
            "competitions/<name>.toml)"
        )
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist; pass the path of a competition TOML file")
    try:
        # utf-8-sig: a byte-order mark (Windows editors add one) is not a TOML syntax error.
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}. Check quotes, brackets and '=' on that line") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    if preset is not None:
        data["preset"] = preset
    base_dir, gone = _base_dir(path)
    spec = build_spec(data, base_dir=base_dir, source=str(path))
    if gone is not None:
        _check_moved_run(spec, path, gone)
    return spec


def _base_dir(config: Path) -> tuple[Path, str | None]:
    """The folder a config's relative data paths start from: its own; for the ``spec.toml`` a run folder holds (the
    spec as it ran, a preset's models listed), the folder of the config the run was made from, as ``run.json``
    records it (they were looked for in the run folder). Second: that recorded folder where it is not on this machine
    (the run folder was moved), the run folder standing in for it."""
    folder = config.resolve().parent
    try:
        recorded = json.loads((folder / "run.json").read_text()).get("config_dir")
    except (OSError, ValueError, AttributeError):  # no run folder (or an unreadable run.json): the config's own
        return folder, None
    if not isinstance(recorded, str):
        return folder, None
    return (Path(recorded), None) if Path(recorded).is_dir() else (folder, recorded)


def _check_moved_run(spec: CompetitionSpec, config: Path, gone: str) -> None:
    """A moved run folder's spec.toml whose relative data files are not in the run folder either: said with the
    folder run.json records (it was `the train file 'RUN_DIR/train.csv' does not exist`, the run folder blamed)."""
    d = spec.data
    written = {"train": d.train, "test": d.test, "sample_submission": d.sample_submission}
    missing = [
        f"data.{key} = {str(path)!r}"
        for key, path in written.items()
        if path is not None
        and not Path(os.path.expanduser(os.path.expandvars(path))).is_absolute()  # an absolute one: its own message
        and not spec.resolve(path).exists()
    ]
    if missing:
        raise ConfigError(
            f"{config}: its relative data paths start at the config's folder run.json records, {gone!r}, not on this "
            f"machine (was the run folder moved?), nor in the run folder: {', '.join(missing)}; run the config "
            "itself, or write them in spec.toml as absolute paths"
        )


def as_spec(spec: object) -> CompetitionSpec:
    """What a Python caller passed as the spec: a :class:`CompetitionSpec`, or the path of a competition TOML (read
    as `kaggle-kit run CONFIG` reads it); anything else is a :class:`ConfigError` naming what to pass (a path or a
    dict had met ``AttributeError: 'str' object has no attribute 'models'`` deep inside)."""
    if isinstance(spec, CompetitionSpec):
        return spec
    if isinstance(spec, (str, Path)):
        return load_spec(spec)
    fix = "build_spec(d, base_dir=...) makes one of a dict" if isinstance(spec, dict) else "load_spec(path) reads one"
    raise ConfigError(
        f"the spec must be a CompetitionSpec or the path of a competition TOML file; got {type(spec).__name__} ({fix})"
    )


def names_of(names: str | Iterable[str] | None) -> list[str] | None:
    """Model names a Python caller passed: a list, or one name or several comma-separated in a str, as the command
    line takes them (``--models a,b``): ``refit(run_dir, "lgbm")`` had read the letters 'l', 'g', 'b', 'm'."""
    if names is None:
        return None
    if isinstance(names, str):
        return [n.strip() for n in names.split(",") if n.strip()]
    return list(names)
