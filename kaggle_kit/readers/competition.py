"""Read a competition's files with polars and check them against the spec, once, before anything is trained.

The checks are the ones that otherwise surface as a stack trace deep inside a model, or worse as silent wrong
output: a test file missing a feature column or holding it with an incompatible type, a target with missing values,
duplicate ids, test ids that also appear in train.

Train, test and the sample submission are read the same way by :mod:`~kaggle_kit.readers.tables` (the
``[data]`` read options; text columns that are really numbers).
The id column and class labels keep their spelling (``"007"`` stays ``"007"``), so submissions write them as
the competition's files do. Infinite feature values are read as missing, with a :class:`~kaggle_kit.errors.DataWarning`
naming the column and the count.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl

from ..config import CompetitionSpec, as_spec
from ..errors import DataError, DataWarning, allowed, did_you_mean, name_a_few
from ..features.sequence_store import SEQUENCE_ROW, SequenceStore
from ..metrics import Metric, get_metric
from .codes import CodeSplit, split_like, split_train
from .date_formats import apply_formats, find_formats, formats_where_dated, found_message
from .dates import dates_outside_train
from .frames import as_polars
from .headers import header_renames
from .image_stream import IMAGE_REF, ImageStream
from .images import attach_image_files
from .levels import levels_missing_from_train
from .options import ReadOptions
from .paths import shown_path
from .polars_versions import is_in
from .scales import numeric_ranges, scale_mismatch
from .tables import read_table, unnamed_to_drop
from .test_ids import check_test_ids

#: what to do about a test column on another scale than train's (:mod:`.scales`)
SCALE_FIX = (
    "write both files on one scale (multiply or divide test's values by that factor), or leave the column(s) out "
    "with data.drop"
)

#: Column dtypes treated as categorical unless the spec lists the categorical columns itself.
_CATEGORICAL_DTYPES = (pl.String, pl.Categorical, pl.Enum, pl.Boolean)
_TEMPORAL_DTYPES = (pl.Date, pl.Datetime, pl.Duration, pl.Time)
#: dtypes a recorded training column (:func:`column_record`) names, to cast a test column back to
_DTYPES_BY_NAME: dict[str, pl.DataType] = {
    str(d): d
    for d in (
        *(pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64, pl.Float32, pl.Float64),
        *(pl.Boolean, pl.String, pl.Date, pl.Datetime("us"), pl.Datetime("ns"), pl.Datetime("ms")),
    )
}


@dataclass(frozen=True)
class CompetitionData:
    """A competition's frames and the roles of their columns, checked and ready for folds and models.

    ``y`` is the target as the models see it: class codes ``0..C-1`` (in the order of ``classes``) for
    classification, floats for regression. ``classes`` keeps the original labels so predictions can be written back
    in the competition's own terms.
    """

    train: pl.DataFrame
    test: pl.DataFrame | None
    id_column: str | None
    target_column: str
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    task: str
    classes: tuple[object, ...] | None
    y: np.ndarray
    #: free-text columns (data.text): not among ``features``; the ``text`` step makes numeric features of them
    text: tuple[str, ...] = ()
    #: the target columns of a multilabel / multiregression task (``target_column`` is the first); ``y`` is then
    #: ``(n, T)`` float64: 0/1 labels or values, NaN where a row's label is missing
    targets: tuple[str, ...] = ()
    #: streamed ``[data.images]``: the files of the rows' positions in column ``IMAGE_REF`` (not among ``features``)
    images: ImageStream | None = None
    #: ``data.sequences.layout = "streamed"``: the sequences, train ids then test ids (``__sequence`` = position);
    #: None in a worker given the frames only (the runner reads the store from the run folder)
    sequences: SequenceStore | None = None
    #: the strptime formats text date columns were read with (data.date_formats, and those found in train)
    date_formats: dict[str, str] = field(default_factory=dict)
    #: the code columns split into their parts (data.split_codes), the parts' types read in train
    splits: tuple[CodeSplit, ...] = ()

    def features_for(self, reads_images: bool) -> tuple[str, ...]:
        """The columns a model encodes: ``features``, plus the streamed images' position column for a model that
        reads images (``cnn``)."""
        return (*self.features, IMAGE_REF) if reads_images and self.images is not None else self.features

    @property
    def n_classes(self) -> int:
        """Classes of a classification task, 1 for regression; the number of target columns of a multi-target
        task (its models' outputs)."""
        if self.targets:
            return len(self.targets)
        return len(self.classes) if self.classes is not None else 1

    @property
    def train_ids(self) -> pl.Series:
        if self.id_column is None:
            return pl.Series("row", np.arange(self.train.height))
        return self.train[self.id_column]

    @property
    def test_ids(self) -> pl.Series | None:
        if self.test is None:
            return None
        if self.id_column is None:
            return pl.Series("row", np.arange(self.test.height))
        return self.test[self.id_column]

    def fingerprint(self) -> str:
        """A hash of the frames' schema and content: a stored result is reused only for the same data. Computed once
        per instance (the frames are not changed in place; ``dataclasses.replace`` makes a new one): a run asks once
        per model's key and again for run.json, and hashing 1M rows x 60 columns and a 400k test took 0.25 s each
        time (a search's 50 configs: 12 s)."""
        known = self.__dict__.get("_fingerprint")
        if known is None:
            known = self._hash()
            object.__setattr__(self, "_fingerprint", known)  # not a field: no part of ==, repr or replace()
        return str(known)

    def _hash(self) -> str:
        digest = hashlib.sha256()
        for name, frame in (("train", self.train), ("test", self.test)):
            if frame is None:
                continue
            digest.update(f"{name}:{frame.schema}".encode())
            digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
        digest.update(repr((self.id_column, self.target_column, self.features, self.categorical)).encode())
        if self.targets:  # a single-target spec hashes as before multi-target tasks existed
            digest.update(repr(self.targets).encode())
        if self.text:  # a spec without data.text hashes as before it existed
            digest.update(repr(self.text).encode())
        if self.classes is not None and self.classes != natural_class_order(self.train[self.target_column]):
            # data.classes reordering the labels: the class codes, and with them the columns of every stored
            # prediction, are others (the default order hashes as before data.classes entered the fingerprint)
            digest.update(f"classes:{self.classes!r}".encode())
        if self.images is not None:  # streamed images: their files, which no column holds
            digest.update(f"images:{self.images.fingerprint}".encode())
        if self.sequences is not None:  # streamed sequences: their values are not in the frames
            digest.update(self.sequences.digest.encode())
        return digest.hexdigest()[:16]


#: train and test as :func:`read_frames` read them from the spec's files, before :func:`prepare_competition`
RawFrames = tuple[pl.DataFrame | None, pl.DataFrame | None]


def load_competition(spec: CompetitionSpec | Path | str, *, frames: RawFrames | None = None) -> CompetitionData:
    """Read train (and test) from the paths in ``spec.data`` (a spec, or a competition TOML's path) and check them.
    ``frames``: :func:`read_frames`'s reading of those files in the process that runs the competition, which a pool
    worker prepares instead of reading the files again (1M rows x 60 columns and a 400k test: 14 s a worker)."""
    spec = as_spec(spec)
    train, test = read_frames(spec) if frames is None else frames
    return prepare_competition(spec, train, test, sequences=_read_sequences(spec))


def read_frames(spec: CompetitionSpec) -> RawFrames:
    """Train and test as read from the paths in ``spec.data``, with the checks of the files themselves (the sample
    submission's presence, its rows' order without data.id), before :func:`prepare_competition`."""
    _explain_missing_download(spec)
    d = spec.data
    options = ReadOptions.from_spec(spec)
    train = None if d.labels_in_sequences else read_table(spec.resolve(d.train), role="train", options=options)
    # test's columns that train holds as text are read as text: a category's levels are no numbers in test alone
    text = tuple(c for c, dtype in train.schema.items() if dtype == pl.String) if train is not None else ()
    test = read_table(spec.resolve(d.test), role="test", options=replace(options, text=text)) if d.test else None
    sample = spec.resolve(d.sample_submission) if d.sample_submission is not None else None
    if test is not None and d.test is not None and spec.resolve(d.test) == sample:
        # an image competition's test rows are its sample's ids (no test table; their files in test/): the sample's
        # placeholder predictions are no target column of test, which each run warned of
        test = test.drop([c for c in d.targets if c in test.columns])
    if d.sample_submission is not None and not spec.resolve(d.sample_submission).is_file():
        # checked before anything is fitted, not first noticed when a submission is written hours later
        raise DataError(
            f"the sample_submission file {shown_path(spec.resolve(d.sample_submission))} does not exist; check "
            "data.sample_submission in the config"
        )
    if d.id is None and test is not None and d.sample_submission is not None and _in_main_process():
        _check_rows_match_by_position(test, spec.resolve(d.sample_submission), d.encoding)  # a worker's passed it
    return train, test


#: the first values of a test column that must all be sample ids before the rest is read
_PEEK = 100


def _check_rows_match_by_position(test: pl.DataFrame, sample_path: Path, encoding: str | None) -> None:
    """Without ``data.id`` a submission's rows are matched to the sample's by position. Where a test column lists
    the sample's first column's ids in another order, each id would get another row's prediction: refused before
    anything is fitted, naming the column to set as ``data.id``. A test column of lists holds no ids (polars cannot
    write it as text: a stack trace, also once data.drop named the column)."""
    from ..sample_submission import read_sample, saved_index, whole_numbers  # here: it imports this package's tables

    sample = read_sample(sample_path, encoding)
    sample = sample.drop(index) if (index := saved_index(sample, None)) is not None else sample  # row numbers: no ids
    ids = sample[sample.columns[0]].str.strip_chars()
    if ids.len() != test.height or ids.n_unique() != test.height:  # no column of unique values lists them
        return
    # the sample's ids as whole numbers ('007' for test's 7), where they are and tell its rows apart
    numbers_of_ids = whole_numbers(ids)
    unique = not numbers_of_ids.null_count() and numbers_of_ids.n_unique() == test.height
    sample_numbers = numbers_of_ids if unique else None
    id_set = set(ids.to_list())
    number_set = set(sample_numbers.to_list()) if sample_numbers is not None else set()
    for column, dtype in test.schema.items():
        if dtype.is_nested() or dtype == pl.Object:
            continue  # no ids: lists (a parquet file's embeddings), which polars cannot write as text
        # a column whose first values are no ids is not read further (1M rows: 1 s a column, 100 s for 100)
        peek = test[column].head(_PEEK).cast(pl.String).str.strip_chars().rename(column)
        if not all(v in id_set for v in peek) and not (
            number_set and all(v in number_set for v in whole_numbers(peek))
        ):
            continue
        values = test[column].cast(pl.String).str.strip_chars()
        if values.n_unique() != test.height:
            continue
        same = values == ids  # unique values all among the unique ids: the same ids
        if not is_in(values, ids).all():  # '007' in the sample for test's 7: the same whole numbers
            numbers = whole_numbers(values) if sample_numbers is not None else None
            if numbers is None or numbers.null_count() or not is_in(numbers, sample_numbers).all():
                continue
            if numbers.n_unique() != test.height:  # '007' and '7', two ids of test: no number tells them apart
                continue
            same = numbers == sample_numbers
        if not same.all():
            first = int((~same).arg_true()[0])
            raise DataError(
                f"data.id is not set, so the submission's rows would be matched to the sample submission "
                f"{str(sample_path)!r} by position, but the test file's column {column!r} lists the sample's ids in "
                f"another order (row {first + 1}: {values[first]!r} in test, {ids[first]!r} in the sample): set "
                f"data.id = {column!r}"
            )


def _read_sequences(spec: CompetitionSpec) -> tuple[pl.DataFrame, pl.DataFrame | None] | None:
    s = spec.data.sequences
    if s is None:
        return None
    train = read_long_table(spec, spec.resolve(s.train), "train")
    return train, read_long_table(spec, spec.resolve(s.test), "test") if s.test else None


def read_long_table(spec: CompetitionSpec, path: Path, role: str) -> pl.DataFrame:
    """A ``[data.sequences]`` long table (``role`` "train" or "test"), read as the labels table is read, its id
    column keeping its spelling as the labels' id does."""
    s = spec.data.sequences
    options = ReadOptions.from_spec(spec)
    ids = tuple(c for c in ((s.id if s else None) or spec.data.id,) if c)
    options = replace(options, keep_text=(*options.keep_text, *ids), ids=ids)
    return read_table(path, role=f"sequences.{role}", options=options)


def _explain_missing_download(spec: CompetitionSpec) -> None:
    """For a Kaggle competition whose files are not there yet, say exactly how to get them."""
    if spec.kaggle is None:
        return
    seq = spec.data.sequences
    paths = [spec.data.train, spec.data.test, spec.data.sample_submission, *((seq.train, seq.test) if seq else ())]
    paths = [p for p in paths if p is not None]
    missing = [spec.resolve(p) for p in paths if not spec.resolve(p).exists()]
    if not missing:
        return
    folder = missing[0].parent
    raise DataError(
        f"{str(missing[0])!r} does not exist: the data of the Kaggle competition {spec.kaggle!r} is not downloaded "
        f"yet. Accept the competition's rules on kaggle.com, put your API token in ~/.kaggle/kaggle.json, then run:\n"
        f"  kaggle competitions download -c {spec.kaggle} -p {folder} && "
        f"unzip -o {folder / (spec.kaggle + '.zip')} -d {folder}"
    )


def prepare_competition(
    spec: CompetitionSpec,
    train: pl.DataFrame | None,
    test: pl.DataFrame | None,
    *,
    sequences: tuple[pl.DataFrame, pl.DataFrame | None] | None = None,
) -> CompetitionData:
    """Check frames already in memory (e.g. built in a notebook) against the spec.

    With ``data.sequences``: ``sequences = (train_long, test_long)`` are joined onto ``train`` (the labels, one row
    per id; None when the long table holds the target) and ``test`` (the test ids; None to take them from
    ``test_long``), see :mod:`kaggle_kit.readers.sequences`. Without ``sequences``, the frames must be joined already.
    """
    d = spec.data
    store = None
    train, test = as_polars(train, "train"), as_polars(test, "test")
    if sequences is not None:
        sequences = (as_polars(sequences[0], "train long table"), as_polars(sequences[1], "test long table"))
    if d.sequences is not None:
        from .sequences import check_joined, read_sequences, step_dates

        if sequences is not None:
            spec = step_dates(spec, sequences[0], _warn)
            train, test, store = read_sequences(spec, sequences[0], sequences[1], labels=train, test_ids=test)
        else:
            train = check_joined(spec, train)
    elif sequences is not None:
        raise DataError("long tables were given (sequences=...) but the spec has no [data.sequences] table")
    if train is None:
        raise DataError("no train frame was given; pass the training rows")
    if test is not None and test.height == 0:  # a file's is refused as it is read (readers/tables.py)
        raise DataError(
            "the test frame has columns but no rows; pass the test rows, or test=None (and no data.test) for a run "
            "without test predictions"
        )
    # [data.images]: image files -> pixel columns (image_data), or positions in the stream of the files
    train, test, images = attach_image_files(spec, train, test)
    for target in d.targets:
        _require_column(train, target, "train", "data.target")
    train, test = _drop_saved_index(train, test, keep={c for c in (d.id, *d.targets, *d.drop) if c})
    if d.id is not None:
        _require_column(train, d.id, "train", "data.id")
        _check_unique_ids(train, d.id, "train")
        if test is not None:
            test = _match_test_names(test, [d.id], "id ")
            _require_column(test, d.id, "test", "data.id")
            _check_unique_ids(test, d.id, "test")
            check_test_ids(train, test, d.id, d.targets, _warn, images=images, store=store)
    splits: list[CodeSplit] = []
    if d.split_codes:  # before the roles' checks: data.drop or data.categorical may name a part
        train, splits = split_train(train, d.split_codes, _warn)
        test = split_like(test, splits, "test", _warn) if test is not None else None
    for col in d.drop + (d.categorical or []):
        _require_column(train, col, "train", "data.drop" if col in d.drop else "data.categorical")
    text = d.text or []
    train, test = _check_text_columns(train, test, text)
    train, test, date_formats = _dates_from_text(spec, train, test)
    for key, col in (("folds.group", spec.folds.group), ("folds.time", spec.folds.time)):
        if col is not None:
            _require_column(train, col, "train", key)

    # A fold's group / time column is a split key, not a feature.
    reserved = {c for c in (d.id, *d.targets, spec.folds.group, spec.folds.time) if c}
    clash = [c for c in text if c in reserved]
    reserved.add(IMAGE_REF)  # streamed images' positions: read by the image nets only
    if d.sequences is not None and d.sequences.layout == "streamed":
        reserved.add(SEQUENCE_ROW)  # a position in the store, read by the sequence nets only (sequence_rows step)
    features = [c for c in train.columns if c not in reserved and c not in d.drop and c not in text]
    if clash:
        raise DataError(f"data.text lists {clash[0]!r}, which is a folds.group / folds.time column; remove it")
    if not features and not text and IMAGE_REF not in train.columns:
        hint = ""
        if SEQUENCE_ROW in reserved:
            hint = "; with data.sequences.layout = 'streamed' the features are the data.sequences.aggregates: list some"
        raise DataError(
            f"train has no feature columns left after removing id, target and data.drop; columns: {train.columns}"
            + hint
        )
    # Text, categorical and boolean columns are always categorical (no model can read them as numbers);
    # data.categorical adds columns stored as numbers that are really codes (e.g. a class id).
    listed = set(d.categorical or [])
    schema = train.schema  # rebuilt on each access: read once, not per column (10k pixel columns are normal)
    categorical = [c for c in features if c in listed or isinstance(schema[c], _CATEGORICAL_DTYPES)]
    unsupported = [c for c in features if not _is_supported(schema[c])]
    if unsupported:
        raise DataError(
            f"column(s) {allowed(unsupported)} have types the models cannot use "
            f"({', '.join(str(schema[c]) for c in unsupported)}); add them to data.drop"
        )

    train = _infinite_as_missing(train, features, "train")
    if test is not None:
        # Only columns the spec declares categorical may change between numeric and text (auto-detected ones may not).
        test = _check_test_columns(
            train, test, features, d.categorical or [], d.targets, sequences=d.sequences is not None
        )
        test = _infinite_as_missing(test, features, "test")

    multi = spec.task in ("multilabel", "multiregression")
    if not multi and spec.task in ("binary", "multiclass"):
        train = _labels_without_spaces(train, d.target)
    if multi:
        from .targets import encode_targets

        y, classes = encode_targets(train, d.targets, spec.task, _warn), None
    else:
        y, classes = _encode_target(train[d.target], spec.task, get_metric(spec.metric), d.classes)
    if _in_main_process():  # after the checks that refuse the data: a warning about refused data helps no one
        _advise(spec, train, test, [*features, *text], categorical)
    return CompetitionData(
        train=train,
        test=test,
        id_column=d.id,
        target_column=d.targets[0],
        targets=tuple(d.targets) if multi else (),
        features=tuple(features),
        categorical=tuple(categorical),
        task=spec.task,
        classes=classes,
        y=y,
        text=tuple(text),
        images=images,
        sequences=store,
        date_formats=date_formats,
        splits=tuple(splits),
    )


def _dates_from_text(
    spec: CompetitionSpec, train: pl.DataFrame, test: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame | None, dict[str, str]]:
    """Date columns written as text (:mod:`.date_formats`): those data.date_formats names, and those one usual
    format reads in every train row, parsed in train and test alike. Returns the frames and every format used."""
    d = spec.data
    formats = dict(d.date_formats)
    steps = d.sequences.order_by if d.sequences is not None else None
    for col in formats:
        if col != steps:  # a long table's step column is no column of the joined rows (readers/sequences.py)
            _require_column(train, col, "train", "data.date_formats")
    skip = {c for c in (d.id, *d.targets, *d.drop, *(d.categorical or []), *(d.text or [])) if c} | set(formats)
    found, ambiguous = find_formats(train, skip)
    if found:
        _warn(found_message(train, found))
    for col, fmts in ambiguous.items():
        _warn(
            f"column {col!r} of the train file holds dates that read as {' and as '.join(repr(f) for f in fmts)}, "
            f"to other dates (no day after the 12th): it stays text; set data.date_formats = {{ {col} = "
            f"{fmts[0]!r} }} (or another of them) to read it as dates"
        )
    # the test file's text dates where train has dates; another's are refused by the test columns' check
    dated = [c for c, t in train.schema.items() if t.is_temporal()]
    formats |= found | ({} if test is None else formats_where_dated(test, dated, _warn))
    train = apply_formats(train, formats, "train")
    test = apply_formats(test, formats, "test") if test is not None else None
    return train, test, formats


def _check_text_columns(
    train: pl.DataFrame, test: pl.DataFrame | None, text: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """data.text columns exist in train and test and hold text (an all-missing column is empty text); a test
    column named so but for spaces and case is read as train's, as a feature's is."""
    if test is not None:
        test = match_text_names(test, text, set(train.columns))
    frames = [("train", train)] + ([("test", test)] if test is not None else [])
    for col in text:
        for role, frame in frames:
            _require_column(frame, col, role, "data.text")
            dtype = frame.schema[col]
            if dtype.is_numeric() or isinstance(dtype, (pl.Boolean, *_TEMPORAL_DTYPES)):
                raise DataError(
                    f"data.text lists {col!r}, but the {role} column holds {dtype} values, not free text; remove it "
                    "from data.text (numbers and dates are features as they are)"
                )
    if not text:
        return train, test
    as_text = [pl.col(c).cast(pl.String) for c in text]
    train, test = train.with_columns(as_text), test.with_columns(as_text) if test is not None else None
    if test is not None:
        warn_text_empty_in_test(test, [c for c in text if not _no_text(train[c])])
    return train, test


def warn_text_empty_in_test(
    test: pl.DataFrame, text: Sequence[str], fix: str = "remove them from data.text (or fix the test file)"
) -> None:
    """A warning naming the data.text columns (of those that hold text in train) that are missing or blank in
    every test row: the feature columns' warning (:func:`_check_test_against`) does not see data.text's."""
    empty = [c for c in text if c in test.columns and test.height and _no_text(test[c])]
    if empty:
        _warn(
            f"text column(s) {allowed(empty)} (data.text) are empty in every test row but hold text in train: the "
            f"models learn from words they never see at test time, and read every test row as an empty text; {fix}"
        )


def _no_text(values: pl.Series) -> bool:
    """Whether a text column holds no word: every value missing, empty or blank."""
    return not bool(values.str.strip_chars().str.len_chars().fill_null(0).gt(0).any())


def _require_column(frame: pl.DataFrame, column: str, role: str, key: str) -> None:
    if column not in frame.columns:
        raise DataError(
            f"{key} = {column!r} is not a column of the {role} file.{did_you_mean(column, frame.columns)} "
            f"Columns: {frame.columns[:20]}{' ...' if frame.width > 20 else ''}"
        )


def _check_unique_ids(frame: pl.DataFrame, column: str, role: str) -> None:
    ids = frame[column]
    if ids.null_count():
        raise DataError(f"the id column {column!r} of {role} has {ids.null_count()} missing value(s)")
    dupes = ids.filter(ids.is_duplicated())
    if dupes.len():
        raise DataError(
            f"the id column {column!r} of {role} is not unique: {dupes.n_unique()} value(s) repeat, "
            f"e.g. {dupes[0]!r}. Fix the file, or set data.id to a unique column"
        )


def _is_supported(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or isinstance(dtype, (*_CATEGORICAL_DTYPES, *_TEMPORAL_DTYPES)) or dtype == pl.Null


def _kind(column: pl.Series, is_categorical: bool) -> str:
    dtype = column.dtype
    if dtype == pl.Null or column.null_count() == column.len():
        return "null"  # all missing: parquet says Null, but CSV reads an empty column as String
    if is_categorical:
        return "categorical"
    if isinstance(dtype, _TEMPORAL_DTYPES):
        return "temporal"
    return "numeric" if dtype.is_numeric() else "categorical"


def column_record(train: pl.DataFrame, features: Sequence[str], categorical: Sequence[str]) -> dict[str, list[str]]:
    """column -> ``[dtype, kind]`` of the training features, as ``run.json`` records them (``kind``: numeric,
    categorical, temporal or null), so that a new test file is checked against train without reading train again."""
    schema, cats = train.schema, set(categorical)
    return {c: [str(schema[c]), _kind(train[c], c in cats)] for c in features}


def check_new_test(
    test: pl.DataFrame,
    record: Mapping[str, Sequence[str]],
    *,
    id_column: str | None,
    target: str | Sequence[str],
    categorical: Sequence[str],
    sequences: bool = False,
) -> pl.DataFrame:
    """The checks :func:`prepare_competition` makes on a test file, against the training columns' ``record``
    (:func:`column_record`): the id column present and unique, every feature present, no column turned from
    numbers into text (or back), the target ignored, infinite values as missing. Same messages as ``run``, but for
    a missing feature: a finished run's models read it, so data.drop is no fix. ``sequences``: as for
    :func:`_check_test_columns`, the [data.sequences] columns empty in every new row are no warning (new sequences
    shorter than train's leave the later steps' columns empty by design)."""
    if id_column is not None:
        test = _match_test_names(test, [id_column], "id ")
        _require_column(test, id_column, "test", "data.id")
        _check_unique_ids(test, id_column, "test")
    features = list(record)
    lacks = "the run's models read them: give a test file with every training feature column"
    quiet = {c for c in features if "__" in c} if sequences else set()
    test = _check_test_against(record, test, features, list(categorical), target, lacks_fix=lacks, quiet=quiet)
    return _infinite_as_missing(test, features, "test")


def _check_test_columns(
    train: pl.DataFrame,
    test: pl.DataFrame,
    features: list[str],
    categorical: list[str],
    target: str | Sequence[str],
    *,
    sequences: bool = False,
) -> pl.DataFrame:
    """``sequences``: the frames hold [data.sequences]' columns (``<column>__t<k>``, ``<column>__<stat>``), not
    warned of when empty in every test row: a step past every test sequence's end is missing by design (test
    sequences shorter than train's), and a long-table column empty in every test row is said by its reader."""
    record = column_record(train, features, categorical)
    quiet = {c for c in features if "__" in c} if sequences else set()
    return _check_test_against(record, test, features, categorical, target, train.schema, quiet=quiet)


def _check_test_against(
    record: Mapping[str, Sequence[str]],
    test: pl.DataFrame,
    features: list[str],
    categorical: list[str],
    target: str | Sequence[str],
    train_schema: Mapping[str, pl.DataType] | None = None,
    lacks_fix: str = "add them to data.drop to train without them",
    quiet: Collection[str] = (),
) -> pl.DataFrame:
    test = _match_test_names(test, features)
    test_schema = test.schema  # read once: each access rebuilds it
    missing = [c for c in features if c not in test_schema]
    if missing:
        raise DataError(f"test lacks feature column(s) {allowed(missing)} that train has; {lacks_fix}")
    casts = []
    for col in features:
        tr, te = record[col][0], test_schema[col]
        if tr == str(te):
            continue
        if tr == "String" and te.is_numeric() and test[col].null_count() < test.height:
            casts.append(_numbers_as_train_text(test[col]))  # a parquet file's codes stored as numbers
            continue
        kind_tr, kind_te = record[col][1], _kind(test[col], col in categorical)
        if "null" in (kind_tr, kind_te) or kind_tr == kind_te:
            # int vs float, or an all-missing column read as Null: cast test to train's type where no value changes.
            dtype = train_schema[col] if train_schema is not None else _DTYPES_BY_NAME.get(tr)
            if dtype is not None:
                casts.append(_cast_losslessly(test[col], dtype))
            continue
        if "temporal" in (kind_tr, kind_te):  # one file's dates in another format ('01/31/2020' for 2020-01-31)
            text_role, text = ("test", test[col]) if kind_tr == "temporal" else ("train", None)
            example = f" (e.g. {text.drop_nulls()[0]!r})" if text is not None and text.drop_nulls().len() else ""
            raise DataError(
                f"column {col!r} is {tr} in train but {te} in test: the {text_role} file's values{example} are not "
                "read as dates; set data.date_formats for it, or write both files' dates in one format (e.g. "
                "2020-01-31), or drop it with data.drop"
            )
        dtype = train_schema[col] if train_schema is not None else _DTYPES_BY_NAME.get(tr)
        cast = _cast_losslessly(test[col], dtype) if dtype is not None else test[col]
        if cast.dtype == dtype:  # train's booleans written 0 / 1: read as train's type where every value converts
            casts.append(cast)
            continue
        raise DataError(
            f"column {col!r} is {tr} in train but {te} in test; make both numeric or both text "
            "(or list it in data.categorical, or drop it with data.drop)"
        )
    present = [name for name in ([target] if isinstance(target, str) else target) if name in test.columns]
    if len(present) == 1:
        _warn(f"test has the target column {present[0]!r}; it is ignored")
    elif present:  # a multi-target task's: one line, not one per target (MoA has 206)
        shown = name_a_few([repr(c) for c in present], "", sep=", ").rstrip()
        _warn(f"test has the {len(present)} target columns ({shown}); they are ignored")
    test = test.drop(present)
    empty = [c for c in features if c not in quiet and test[c].null_count() == test.height and record[c][1] != "null"]
    if empty:
        _warn(
            f"column(s) {allowed(empty)} are empty in every test row but have values in train: the models learn from "
            "values they never see at test time; add them to data.drop (or fix the test file)"
        )
    return test.with_columns(casts) if casts else test


def _in_main_process() -> bool:
    """Not a pool worker: workers read the data the run has checked already, and must not say it all again."""
    return multiprocessing.parent_process() is None


def _advise(
    spec: CompetitionSpec, train: pl.DataFrame, test: pl.DataFrame | None, columns: list[str], categorical: list[str]
) -> None:
    """The warnings about data that is used as it is: repeated train rows, test dates after train's, test categories
    train lacks. Computed once, by the process that runs the competition (their scans of every row and column cost
    time a pool worker has no use for)."""
    _warn_repeated_rows(train, columns, spec.data.targets, spec.folds.group)
    if test is None:
        return
    targets = set(spec.data.targets)
    dated = [c for c in train.columns if c not in targets]  # the id and dropped columns too: the rows' time
    numeric = [c for c in columns if c not in categorical]
    for advice in (
        dates_outside_train(train, test, dated, spec.fold_strategy),
        levels_missing_from_train(train, test, categorical),
        scale_mismatch(numeric_ranges(train, numeric), test, SCALE_FIX),
    ):
        if advice:
            _warn(advice)


def _warn_repeated_rows(train: pl.DataFrame, columns: list[str], targets: list[str], group: str | None) -> None:
    """A warning when train rows repeat another row's features and target under other ids: split between folds, a
    repeat is predicted by a model that trained on its twin, and the CV is better than the leaderboard will be.
    Grouped folds (``folds.group``) decide themselves what stays together; rows with streamed images or sequences
    (features outside the table) are not compared."""
    if group is not None or not columns or IMAGE_REF in train.columns or SEQUENCE_ROW in train.columns:
        return
    at = repeated_rows(train.select([*columns, *targets]))  # rows that repeat an earlier row
    n = at.len()
    if n:
        first = int(at[0])
        _warn(
            f"{n} train row(s) repeat an earlier row's features and target exactly (e.g. row {first + 1}): in "
            "different folds a repeat is predicted by a model that saw its twin, so the CV flatters; drop the repeats, "
            "or keep them together with folds.group"
        )


def repeat_candidates(frame: pl.DataFrame) -> pl.Series:
    """The positions of the rows whose hash another row shares: every row equal to another is among them (equal rows
    hash alike, 0.0 and -0.0, NaNs and nulls as ``is_first_distinct`` compares them), usually none at all."""
    return frame.hash_rows(seed=0).is_duplicated().arg_true()


def repeated_rows(frame: pl.DataFrame) -> pl.Series:
    """The positions of the rows of ``frame`` equal to an earlier row, in order. The rows are compared exactly only
    among the candidates their hashes leave (:func:`repeat_candidates`): a struct of every column compared over every
    row held a row encoding as large as the frame (1M rows x 58 columns: +0.9 GB at the peak before any fit, 1 s)."""
    candidates = repeat_candidates(frame)
    if candidates.len() == 0:
        return candidates
    again = frame[candidates].select(~pl.struct(frame.columns).is_first_distinct()).to_series()
    return candidates.filter(again)


def match_text_names(test: pl.DataFrame, text: Sequence[str], train_columns: Collection[str]) -> pl.DataFrame:
    """``test`` with its data.text columns named as in train, spaces around them and case aside (a warning); a test
    column that train holds under its own name (a feature ``Review`` beside the text ``review``) is never taken."""
    return _match_test_names(test, list(text), "text ", keep=train_columns) if text else test


def check_text_in_new_test(test: pl.DataFrame, text: Sequence[str]) -> None:
    """New test rows (``predict``) hold each data.text column: a finished run's models read its words (the feature
    columns' check, :func:`check_new_test`, does not see data.text's; the fold pipelines would stop on it later)."""
    missing = [c for c in text if c not in test.columns]
    if missing:
        raise DataError(
            f"test lacks text column(s) {allowed(missing)} (data.text) that train has; the run's models read their "
            "words: give the test rows their texts (a missing or empty text is read as no words)."
            f"{did_you_mean(missing[0], test.columns)} Columns: {test.columns[:20]}{' ...' if test.width > 20 else ''}"
        )


def _match_test_names(
    test: pl.DataFrame, features: list[str], role: str = "", keep: Collection[str] = ()
) -> pl.DataFrame:
    """``test`` with a column named like a train feature that test lacks, spaces around it and case aside (``"F1 "``
    for ``f1``), renamed to the train name, with a warning: the same column, not a missing one. A name two test
    columns (or two features) share so is left alone, and the missing column is named in the error as before; so
    is a test column named in ``keep`` (train's other columns: it is that column, not the missing one)."""
    renames = header_renames(test.columns, features, keep)
    if not renames:
        return test
    shown = ", ".join(f"{old!r} as {new!r}" for old, new in renames.items())
    _warn(f"test {role}column(s) named otherwise than in train (spaces or case) are read as train's: {shown}")
    return test.rename(renames)


def _warn(message: str) -> None:
    """A :class:`DataWarning`, from the process that runs the competition only (pool workers read the data again)."""
    if _in_main_process():
        warnings.warn(message, DataWarning, stacklevel=3)


def _drop_saved_index(
    train: pl.DataFrame, test: pl.DataFrame | None, keep: set[str]
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Drop a saved pandas index (an unnamed column of distinct whole numbers): row numbers are not a feature; and an
    unnamed column empty in every row (each line ending in a separator)."""
    empty, dropped = unnamed_to_drop(train, keep)
    if empty:
        _warn(f"column(s) {allowed(empty)} of train (unnamed and empty in every row) are dropped")
        train = train.drop(empty)
        if test is not None:
            test = test.drop([c for c in empty if c in test.columns])
    if not dropped:
        return train, test
    lo, hi = train[dropped[0]].min(), train[dropped[0]].max()
    _warn(
        f"column(s) {allowed(dropped)} of train (unnamed, the distinct row numbers {lo}..{hi}: a saved pandas index) "
        "are dropped: row numbers are not a feature. Name the column in data.id if it is the id"
    )
    train = train.drop(dropped)
    if test is not None:
        test = test.drop([c for c in dropped if c in test.columns])
    return train, test


def _infinite_as_missing(frame: pl.DataFrame, features: list[str], role: str) -> pl.DataFrame:
    """Infinite feature values (``inf``, ``-inf``) become missing, with a warning naming each column and its count:
    no model splits or scales them sensibly, and a net turns them into NaN losses."""
    schema = frame.schema
    floats = [c for c in features if c in schema and schema[c].is_float()]
    if not floats:
        return frame
    counts = frame.select(pl.col(floats).is_infinite().sum()).row(0)
    found = {c: int(n) for c, n in zip(floats, counts, strict=True) if n}
    if not found:
        return frame
    shown = ", ".join(f"{c!r} ({n} value{'s' * (n > 1)})" for c, n in found.items())
    _warn(f"infinite values in the {role} column(s) {shown} are read as missing")
    return frame.with_columns(pl.when(pl.col(c).is_infinite()).then(None).otherwise(pl.col(c)).alias(c) for c in found)


def _numbers_as_train_text(column: pl.Series) -> pl.Series:
    """A test column of numbers whose train column is text (a parquet file stores its codes 10, 20 as numbers where
    train's hold 'a1' too), as the text a CSV file writes them: whole numbers as their digits (10.0 as '10', as a
    float column that held a missing value stores them), others as the shortest text that reads back as the same
    number ('7.5'), NaN as missing; a level train lacks then is said as any new level is. An infinite value, which no
    text level spells, is an error naming it.

    ``run`` and ``predict`` read such a column alike, here (``run`` refused it, ``predict`` cast every float to its
    own text, '10.0', a level no training row held); a CSV test file's column is read as text in the first place
    (:class:`~kaggle_kit.readers.tables.ReadOptions` ``text``)."""
    if column.dtype.is_integer():
        return column.cast(pl.String)
    if isinstance(column.dtype, pl.Decimal):  # a parquet file's decimals (10.00): no NaN to read as missing
        column = column.cast(pl.Float64)
    column = column.fill_nan(None)  # pandas' missing value
    present = column.drop_nulls()
    if not present.is_finite().all():
        raise DataError(
            f"column {column.name!r} is String in train but {column.dtype} in test, whose values hold "
            f"{present.filter(~present.is_finite())[0]!r}, which no text level of train spells; write the test "
            "column's values as the train file writes them (as text), a missing value as a missing one"
        )
    whole = (pl.col("v") % 1 == 0) & (pl.col("v").abs() < 2**53)
    text = pl.when(whole).then(pl.col("v").cast(pl.Int64).cast(pl.String)).otherwise(pl.col("v").cast(pl.String))
    return pl.DataFrame({"v": column}).select(text.alias(column.name)).to_series()


def _cast_losslessly(column: pl.Series, dtype: pl.DataType) -> pl.Series:
    """``column`` as ``dtype`` when every value survives the cast (no truncated 1.5 -> 1, no new nulls); else as is.

    The models' encoder converts each frame on its own (numbers to float, categories to text), so a test column
    may keep its own type; it must never be silently changed.
    """
    try:
        cast = column.cast(dtype, strict=False)
        if cast.null_count() == column.null_count() and cast.cast(column.dtype).eq_missing(column).all():
            return cast
    except pl.exceptions.PolarsError:  # e.g. text -> boolean, which polars does not cast
        pass
    return column


def strip_labels(labels: pl.Series) -> tuple[pl.Series, list[str]]:
    """Text class labels without the spaces around them (``"yes "`` is the class ``"yes"``, not a class of its own; one
    of spaces only is missing), and the labels so changed (none: ``labels`` as they were)."""
    if labels.dtype != pl.String:
        return labels, []
    stripped = labels.str.strip_chars()
    changed = sorted(labels.filter(stripped != labels).unique().to_list())
    return (stripped.replace("", None), changed) if changed else (labels, [])


def _labels_without_spaces(train: pl.DataFrame, target: str) -> pl.DataFrame:
    labels, changed = strip_labels(train[target])
    if changed:
        shown = ", ".join(repr(c) for c in changed[:3])
        _warn(f"class label(s) of {target!r} with spaces around them ({shown}) are read without them")
        train = train.with_columns(labels)
    _warn_labels_cased_otherwise(train[target])
    return train


def _warn_labels_cased_otherwise(labels: pl.Series) -> None:
    """A warning naming text labels that differ only in case ('Yes', 'yes', 'YES'): each is a class of its own, so a
    yes/no target became 5 classes and its CV fell without a word. Not merged: 'a' and 'A' may be two classes."""
    if labels.dtype != pl.String:
        return
    groups: dict[str, list[str]] = {}
    for label in sorted(labels.drop_nulls().unique().to_list()):
        groups.setdefault(label.casefold(), []).append(label)
    alike = [g for g in groups.values() if len(g) > 1]
    if not alike:
        return
    shown = "; ".join(", ".join(repr(label) for label in g) for g in alike[:3])
    n_classes = sum(len(g) for g in groups.values())
    _warn(
        f"class labels of {labels.name!r} differ only in case ({shown}): each is a class of its own ({n_classes} "
        f"classes, {len(groups)} with case aside); if they are one class, write them alike in the train file"
    )


def _encode_target(
    target: pl.Series, task: str, metric: Metric, order: list[str | int] | None = None
) -> tuple[np.ndarray, tuple[object, ...] | None]:
    name = target.name
    if target.null_count():
        raise DataError(
            f"the target column {name!r} has {target.null_count()} missing value(s); drop those rows or fill them"
        )
    if task in ("regression", "distribution"):  # a distribution task predicts the distribution of a number
        if not target.dtype.is_numeric():
            raise DataError(f"task is {task} but the target column {name!r} is {target.dtype}, not numeric")
        y = target.cast(pl.Float64).to_numpy()
        if not np.isfinite(y).all():
            raise DataError(f"the target column {name!r} has {int((~np.isfinite(y)).sum())} NaN or infinite value(s)")
        if task == "regression":  # a distribution metric's domain is that of its predictions (a CDF: [0, 1])
            _check_target_domain(y, name, metric)
        return y, None
    labels = _ordered_labels(target, task, metric, order)
    n = len(labels)
    if n == 1:
        raise DataError(
            f"the target column {name!r} holds one value ({labels[0]!r}) in every row; a classifier needs at least "
            "two classes to learn from: check that data.target names the label column and that the train file has "
            "all the training rows"
        )
    if task == "binary" and n != 2:
        raise DataError(
            f"task is binary but the target column {name!r} has {n} distinct value(s) {labels[:10]}; "
            "use task = 'multiclass'"
        )
    if task == "multiclass" and n < 3:
        raise DataError(
            f"task is multiclass but the target column {name!r} has {n} distinct value(s); use task = 'binary'"
        )
    codes = target.to_frame().join(
        pl.DataFrame({name: pl.Series(labels, dtype=target.dtype), "__code": np.arange(n, dtype=np.int64)}),
        on=name,
        how="left",
        maintain_order="left",
    )["__code"]
    return codes.to_numpy(), tuple(labels)


def _check_target_domain(y: np.ndarray, name: str, metric: Metric) -> None:
    """A regression target outside what the metric can score (RMSLE: below 0) fails before any model is fitted."""
    if metric.domain is None:
        return
    lo, hi = metric.domain
    outside = (y < lo) | (y > hi)
    if outside.any():
        raise DataError(
            f"the target column {name!r} has {int(outside.sum())} value(s) outside [{lo:g}, {hi:g}] (min {y.min():g}, "
            f"max {y.max():g}), which metric {metric.name!r} cannot score; use metric = 'rmse' (or 'mae'), or shift "
            f"the target into [{lo:g}, {hi:g}]"
        )


def _label_numbers(uniques: pl.Series) -> np.ndarray | None:
    """The labels as numbers where they are numbers (also numbers written as text, "1.0" or "07"), else None."""
    numbers = uniques if uniques.dtype.is_numeric() else None
    if uniques.dtype == pl.String:
        parsed = uniques.str.strip_chars().cast(pl.Float64, strict=False)
        numbers = parsed if parsed.null_count() == 0 else None
    return None if numbers is None else numbers.cast(pl.Float64).to_numpy()


def _natural_order(uniques: pl.Series, numbers: np.ndarray | None) -> list[object]:
    """The labels' order without data.classes: numeric order for numbers, else alphabetical."""
    if numbers is not None:
        return [uniques[int(i)] for i in np.argsort(numbers, kind="stable")]
    return uniques.sort().to_list()


def natural_class_order(target: pl.Series) -> tuple[object, ...]:
    """The class labels in the order they get without data.classes (:func:`_ordered_labels`, less its checks)."""
    uniques = target.unique(maintain_order=True)
    return tuple(_natural_order(uniques, _label_numbers(uniques)))


def _ordered_labels(target: pl.Series, task: str, metric: Metric, order: list[str | int] | None) -> list[object]:
    """The class labels in code order: data.classes when given, else numeric order for numbers (also numbers
    written as text, "1.0" or "07"), else alphabetical, which an ordinal metric (qwk) refuses."""
    name = target.name
    uniques = target.unique(maintain_order=True)
    if order is not None:
        by_text = {str(v): v for v in uniques.to_list()}
        wanted = [str(v) for v in order]
        unknown = [t for t in by_text if t not in wanted]
        if unknown:
            raise DataError(
                f"the target column {name!r} has label(s) {allowed(unknown[:5])} that data.classes does not list; "
                f"data.classes must list every label of the train file, in order (it lists {wanted})"
            )
        absent = [t for t in wanted if t not in by_text]
        if absent:
            raise DataError(
                f"data.classes lists {allowed(absent)}, which the target column {name!r} never holds (its labels: "
                f"{sorted(by_text)}); list the labels as the train file spells them"
            )
        return [by_text[t] for t in wanted]
    numbers = _label_numbers(uniques)
    if numbers is not None:
        if not np.isfinite(numbers).all():
            raise DataError(f"the target column {name!r} has NaN or infinite values")
        if not np.all(numbers == np.round(numbers)):
            raise DataError(
                f"task is {task} but the target column {name!r} has non-integer numbers; use task = 'regression'"
            )
        return _natural_order(uniques, numbers)
    labels = _natural_order(uniques, None)
    if metric.ordinal and uniques.dtype != pl.Boolean:
        raise DataError(
            f"metric {metric.name!r} scores how far a predicted class is from the true one, but the labels of the "
            f"target column {name!r} are text ({', '.join(repr(v) for v in labels[:6])}), which have no order of "
            f"their own; give their order in [data]: classes = [{', '.join(repr(v) for v in labels[:6])}] "
            "(rearranged from lowest to highest)"
        )
    return labels
