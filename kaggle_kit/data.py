"""Read a competition's files with polars and check them against the spec, once, before anything is trained.

The checks are the ones that otherwise surface as a stack trace deep inside a model, or worse as silent wrong
output: a test file missing a feature column or holding it with an incompatible type, a target with missing values,
duplicate ids, test ids that also appear in train.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from .config import CompetitionSpec
from .errors import DataError, allowed, did_you_mean
from .image_data import attach_images

#: Column dtypes treated as categorical unless the spec lists the categorical columns itself.
_CATEGORICAL_DTYPES = (pl.String, pl.Categorical, pl.Enum, pl.Boolean)
_TEMPORAL_DTYPES = (pl.Date, pl.Datetime, pl.Duration, pl.Time)
#: Strings read as missing in CSV files: pandas' defaults, which Kaggle's files are written for (House Prices marks
#: missing values "NA"; without this a numeric column holding one "NA" would be read as text).
NA_VALUES = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]


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

    @property
    def n_classes(self) -> int:
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
        """A hash of the frames' schema and content: a stored result is reused only for the same data."""
        digest = hashlib.sha256()
        for name, frame in (("train", self.train), ("test", self.test)):
            if frame is None:
                continue
            digest.update(f"{name}:{frame.schema}".encode())
            digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
        digest.update(repr((self.id_column, self.target_column, self.features, self.categorical)).encode())
        return digest.hexdigest()[:16]


def read_table(path: Path, *, role: str) -> pl.DataFrame:
    """Read a CSV or parquet file, with errors that name the file and what to do."""
    if not path.exists():
        raise DataError(f"the {role} file {str(path)!r} does not exist; check data.{role} in the config")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
        elif suffix in (".csv", ".txt") or path.name.endswith(".csv.gz"):
            if path.stat().st_size == 0:
                raise DataError(f"the {role} file {str(path)!r} is empty")
            frame = pl.read_csv(path, infer_schema_length=100_000, try_parse_dates=True, null_values=NA_VALUES)
        else:
            raise DataError(f"the {role} file {str(path)!r} must be .csv or .parquet; got {suffix or 'no extension'!r}")
    except DataError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"could not read the {role} file {str(path)!r}: {exc}") from None
    if frame.height == 0:
        raise DataError(f"the {role} file {str(path)!r} has a header but no rows")
    return frame


def load_competition(spec: CompetitionSpec) -> CompetitionData:
    """Read train (and test) from the paths in ``spec.data`` and check them."""
    _explain_missing_download(spec)
    d = spec.data
    train = None if d.labels_in_sequences else read_table(spec.resolve(d.train), role="train")
    test = read_table(spec.resolve(d.test), role="test") if d.test else None
    return prepare_competition(spec, train, test, sequences=_read_sequences(spec))


def _read_sequences(spec: CompetitionSpec) -> tuple[pl.DataFrame, pl.DataFrame | None] | None:
    s = spec.data.sequences
    if s is None:
        return None
    train = read_table(spec.resolve(s.train), role="sequences.train")
    return train, read_table(spec.resolve(s.test), role="sequences.test") if s.test else None


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
    ``test_long``), see :mod:`kaggle_kit.sequence_data`. Without ``sequences``, the frames must be joined already.
    """
    d = spec.data
    if d.sequences is not None:
        from .sequence_data import check_joined, join_sequences

        if sequences is not None:
            train, test = join_sequences(spec, sequences[0], sequences[1], labels=train, test_ids=test)
        else:
            train = check_joined(spec, train)
    elif sequences is not None:
        raise DataError("long tables were given (sequences=...) but the spec has no [data.sequences] table")
    if train is None:
        raise DataError("no train frame was given; pass the training rows")
    train, test = attach_images(spec, train, test)  # [data.images]: image files -> pixel columns (image_data)
    _require_column(train, d.target, "train", "data.target")
    if d.id is not None:
        _require_column(train, d.id, "train", "data.id")
        _check_unique_ids(train, d.id, "train")
        if test is not None:
            _require_column(test, d.id, "test", "data.id")
            _check_unique_ids(test, d.id, "test")
            ids_train, ids_test = train.select(d.id), test.select(d.id)
            if ids_train.schema != ids_test.schema:  # e.g. int in train, text in test: polars cannot join those
                ids_train, ids_test = (f.select(pl.col(d.id).cast(pl.String)) for f in (ids_train, ids_test))
            overlap = ids_train.join(ids_test, on=d.id, how="inner")
            if overlap.height:
                raise DataError(
                    f"{overlap.height} id(s) in column {d.id!r} appear in both train and test "
                    f"(e.g. {overlap[d.id][0]!r}); the test rows must be different rows"
                )
    for col in d.drop + (d.categorical or []):
        _require_column(train, col, "train", "data.drop" if col in d.drop else "data.categorical")
    for key, col in (("folds.group", spec.folds.group), ("folds.time", spec.folds.time)):
        if col is not None:
            _require_column(train, col, "train", key)

    # A fold's group / time column is a split key, not a feature.
    reserved = {c for c in (d.id, d.target, spec.folds.group, spec.folds.time) if c}
    features = [c for c in train.columns if c not in reserved and c not in d.drop]
    if not features:
        raise DataError(
            f"train has no feature columns left after removing id, target and data.drop; columns: {train.columns}"
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

    if test is not None:
        # Only columns the spec declares categorical may change between numeric and text (auto-detected ones may not).
        test = _check_test_columns(train, test, features, d.categorical or [], d.target)

    y, classes = _encode_target(train[d.target], spec.task)
    return CompetitionData(
        train=train,
        test=test,
        id_column=d.id,
        target_column=d.target,
        features=tuple(features),
        categorical=tuple(categorical),
        task=spec.task,
        classes=classes,
        y=y,
    )


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


def _check_test_columns(
    train: pl.DataFrame, test: pl.DataFrame, features: list[str], categorical: list[str], target: str
) -> pl.DataFrame:
    train_schema, test_schema = train.schema, test.schema  # read once: each access rebuilds them
    missing = [c for c in features if c not in test_schema]
    if missing:
        raise DataError(
            f"test lacks feature column(s) {allowed(missing)} that train has; add them to data.drop to train "
            "without them"
        )
    casts = []
    for col in features:
        tr, te = train_schema[col], test_schema[col]
        if tr == te:
            continue
        kind_tr, kind_te = _kind(train[col], col in categorical), _kind(test[col], col in categorical)
        if "null" in (kind_tr, kind_te) or kind_tr == kind_te:
            # int vs float, or an all-missing column read as Null: cast test to train's type where no value changes.
            casts.append(_cast_losslessly(test[col], tr))
            continue
        raise DataError(
            f"column {col!r} is {tr} in train but {te} in test; make both numeric or both text "
            "(or list it in data.categorical, or drop it with data.drop)"
        )
    if target in test.columns:
        warnings.warn(f"test has the target column {target!r}; it is ignored", stacklevel=3)
        test = test.drop(target)
    return test.with_columns(casts) if casts else test


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


def _encode_target(target: pl.Series, task: str) -> tuple[np.ndarray, tuple[object, ...] | None]:
    name = target.name
    if target.null_count():
        raise DataError(
            f"the target column {name!r} has {target.null_count()} missing value(s); drop those rows or fill them"
        )
    if task == "regression":
        if not target.dtype.is_numeric():
            raise DataError(f"task is regression but the target column {name!r} is {target.dtype}, not numeric")
        y = target.cast(pl.Float64).to_numpy()
        if not np.isfinite(y).all():
            raise DataError(f"the target column {name!r} has {int((~np.isfinite(y)).sum())} NaN or infinite value(s)")
        return y, None
    if target.dtype.is_float():
        values = target.to_numpy()
        if not np.isfinite(values).all():
            raise DataError(f"the target column {name!r} has NaN or infinite values")
        if not np.all(values == np.round(values)):
            raise DataError(
                f"task is {task} but the target column {name!r} has non-integer numbers; use task = 'regression'"
            )
    classes = target.unique().sort()
    n = classes.len()
    if task == "binary" and n != 2:
        raise DataError(
            f"task is binary but the target column {name!r} has {n} distinct value(s) {classes.to_list()[:10]}; "
            f"use task = {'multiclass' if n > 2 else 'regression'!r}"
        )
    if task == "multiclass" and n < 3:
        raise DataError(
            f"task is multiclass but the target column {name!r} has {n} distinct value(s); use task = 'binary'"
        )
    codes = target.to_frame().join(
        pl.DataFrame({name: classes, "__code": np.arange(n, dtype=np.int64)}),
        on=name,
        how="left",
        maintain_order="left",
    )["__code"]
    return codes.to_numpy(), tuple(classes.to_list())
