"""Test ids that are also train ids: training rows passed as the test file (refused), or two files that each number
their own rows (Otto's train and test both count from 1: warned, the run goes on, the submission takes test's ids).

The two are told apart by the rows the shared ids name in each file. Each shared id's train row and test row are
compared column by column (the target, which a test file may carry as a placeholder, left out):

* numbers as numbers, alike within a relative :data:`ALIKE` (an int column in one file and a float one in the
  other, a copy written with 6 decimals or through float32, still repeats its train row);
* streamed images by their files (the position column ``IMAGE_REF`` numbers train's rows then test's: two positions
  always differ, so every copied image read as another row), streamed sequences by their steps in the store;
* text and the rest as they are written.

Refused where every shared id's rows are alike, or most of them are and far more than chance pairs them: the same
comparison with each test row set beside another shared id's train row counts the rows alike by chance (a table
of a few coarse columns repeats rows between any two of its rows). A copy of train rows whose missing values were
filled in is so refused; Otto's rows, of which none or a few are alike, are not.

Refused too where most test rows repeat some train row's values under other ids, far more often than train's rows
repeat each other (train rows renumbered from 0 as test rows, pandas' ``sample`` then ``reset_index``): the check
that refused any shared id refused them, and so must the one that compares each id's rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from ..errors import DataError
from ..features.sequence_store import SEQUENCE_ROW, SequenceStore
from .image_stream import IMAGE_REF, ImageStream

#: two numbers this close, relative to the larger (absolute below 1), are one value in the comparison
ALIKE = 1e-5
_TEST = "__test"
#: numeric columns compared at once (each block on the rows alike in the blocks before it)
_BLOCK = 64


def check_test_ids(
    train: pl.DataFrame,
    test: pl.DataFrame,
    column: str,
    targets: Sequence[str],
    warn: Callable[[str], None],
    *,
    images: ImageStream | None = None,
    store: SequenceStore | None = None,
) -> None:
    """Refuse test rows that repeat the train rows of their ids, warn of test ids that are train ids on other rows
    (see the module's docstring). ``images`` / ``store``: the streamed images' files and the streamed sequences'
    store, which the rows' position columns point into (None in a worker, which the driver's check has passed)."""
    ids_train, ids_test = train.select(column), test.select(column)
    as_text = ids_train.schema != ids_test.schema  # e.g. int in train, text in test: polars cannot join those
    if as_text:
        ids_train, ids_test = (f.select(pl.col(column).cast(pl.String)) for f in (ids_train, ids_test))
    overlap = ids_train.join(ids_test, on=column, how="inner", maintain_order="left")  # the example: train's first
    if not overlap.height:
        return
    first = overlap[column][0]
    same, chance = _alike_rows(train, test, column, targets, as_text, images, store)
    n = overlap.height
    if same == n or (2 * same > n and same > 2 * chance):
        most = "" if same == n else f", {same} of them"
        raise DataError(
            f"{n} id(s) in column {column!r} appear in both train and test (e.g. {first!r}){most} with the same "
            "values: the test rows must be different rows; pass the competition's test file as data.test"
        )
    _refuse_renumbered_copy(train, test, column, targets)
    alike = f" ({same} of them the same row)" if same else ""
    warn(
        f"{n} test id(s) in column {column!r} are also train ids (e.g. {first!r}), on other rows{alike}: "
        "each file numbers its own rows, as Otto's train and test both count from 1. The run goes on; the submission "
        "takes the test file's ids"
    )


def _shared(train: pl.DataFrame, test: pl.DataFrame, column: str, targets: Sequence[str]) -> list[str]:
    """The columns compared: test's that train has, but the id and the targets (a test file's placeholders)."""
    left, skip = set(train.columns), {column, *targets}  # a set: 10,000 pixel columns looked up in a list took 0.5 s
    return [c for c in test.columns if c in left and c not in skip]


def _refuse_renumbered_copy(train: pl.DataFrame, test: pl.DataFrame, column: str, targets: Sequence[str]) -> None:
    """An error where most test rows repeat some train row's values under other ids, far more often than train's rows
    repeat each other: train rows renumbered from 0 as test rows (a pandas ``sample`` then ``reset_index``), whose
    ids name other rows in each file. Numbers compared rounded to 5 decimals; rows with streamed images or sequences
    (their values outside the table) are not."""
    shared = _shared(train, test, column, targets)
    if not shared or IMAGE_REF in shared or SEQUENCE_ROW in shared:
        return
    schema_train, schema_test = train.schema, test.schema

    def cell(c: str) -> pl.Expr:
        left, right = schema_train[c], schema_test[c]
        if left == right and (left.is_integer() or not left.is_numeric()):
            return pl.col(c)
        if left.is_numeric() and right.is_numeric():
            return pl.col(c).cast(pl.Float64).round(5)
        return pl.col(c).cast(pl.String)

    keys_train = train.select(cell(c) for c in shared).hash_rows()
    keys_test = test.select(cell(c) for c in shared).hash_rows()
    repeats = int(keys_test.is_in(keys_train.implode()).sum())
    among_train = int(keys_train.is_duplicated().sum())  # rows alike by the data's own coarseness
    if 2 * repeats > test.height and repeats / test.height > 2 * among_train / train.height:
        raise DataError(
            f"{repeats} of the {test.height} test rows repeat a train row's values under other ids (the test ids "
            f"are train ids too, in column {column!r}): the test rows must be different rows, not train rows "
            "renumbered; pass the competition's test file as data.test"
        )


def _alike_rows(
    train: pl.DataFrame,
    test: pl.DataFrame,
    column: str,
    targets: Sequence[str],
    as_text: bool,
    images: ImageStream | None,
    store: SequenceStore | None,
) -> tuple[int, int]:
    """How many shared ids' train and test rows are alike, and how many pairs of a test row and the train row of
    the shared id before it in the join (another id's) are: the rows alike by chance."""
    shared = _shared(train, test, column, targets)
    key = pl.col(column).cast(pl.String) if as_text else pl.col(column)
    left = train.select(key, *shared)
    right = test.select(key, *(pl.col(c).alias(c + _TEST) for c in shared))
    # in train's order: the chance pairs (each test row beside the train row before it) the same each run
    joined = left.join(right, on=column, how="inner", maintain_order="left_right")
    if not shared:  # nothing but the id to tell the rows apart: they are taken for the same
        return joined.height, joined.height
    special = {c: _positions_alike(c, images, store) for c in shared if c in (IMAGE_REF, SEQUENCE_ROW)}
    schema_train, schema_test = train.schema, test.schema
    plain = [c for c in shared if c not in special]
    numbers = [c for c in plain if schema_train[c].is_numeric() and schema_test[c].is_numeric()]
    cells = [_cells_alike(c, schema_train[c], schema_test[c]) for c in plain if c not in numbers]
    shifted = joined.with_columns(pl.col(c + _TEST).shift(1) for c in shared).slice(1)
    same, chance = (_count_alike(frame, special, cells, numbers) for frame in (joined, shifted))
    return same, chance


def _count_alike(
    frame: pl.DataFrame,
    special: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]],
    cells: list[pl.Expr],
    numbers: list[str],
) -> int:
    """The rows of ``frame`` (train's columns beside test's) alike in every column. Numbers are compared a block of
    columns at a time on the rows still alike: rows of other values (Otto's) differ within the first columns, and
    10,000 pixel columns cost little more than a table's (as one polars expression each: 5 s for 2,000 rows)."""
    alike = np.ones(frame.height, dtype=bool)
    for c, same in special.items():
        alike &= same(frame[c].to_numpy(), frame[c + _TEST].to_numpy())
    if cells:
        alike &= frame.select(pl.all_horizontal(cells)).to_series().to_numpy()
    edges = [0, *range(4, len(numbers), _BLOCK), len(numbers)] if numbers else []  # 4 first: other rows differ there
    for start, end in itertools.pairwise(edges):
        rows = np.flatnonzero(alike)
        if not rows.size:
            break
        block = numbers[start:end]
        x = frame.select(block)[rows].to_numpy().astype(np.float64)  # missing values read as NaN
        y = frame.select(c + _TEST for c in block)[rows].to_numpy().astype(np.float64)
        with np.errstate(invalid="ignore"):  # inf - inf
            close = (x == y) | (np.abs(x - y) <= ALIKE * np.maximum(np.maximum(np.abs(x), np.abs(y)), 1.0))
        alike[rows] = (close | (np.isnan(x) & np.isnan(y))).all(axis=1)
    return int(alike.sum())


def _cells_alike(c: str, left: pl.DataType, right: pl.DataType) -> pl.Expr:
    """Whether train's and test's values of column ``c`` (not numbers in both) are alike, row by row (never null):
    as written where the two files' types differ (a date read as text in one)."""
    x, y = pl.col(c), pl.col(c + _TEST)
    if left != right:
        x, y = x.cast(pl.String), y.cast(pl.String)
    return x.eq_missing(y)


def _positions_alike(
    column: str, images: ImageStream | None, store: SequenceStore | None
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Whether two positions (train's, test's) point at the same content: the same image file, or sequences of the
    same steps (their values within :data:`ALIKE`); positions compared as they are without the files or the store
    (two positions always differ: a worker's check, which the driver's has passed)."""
    if column == IMAGE_REF and images is not None:
        paths = np.asarray(images.paths, dtype=object)
        return lambda a, b: paths[a.astype(np.int64)] == paths[b.astype(np.int64)]
    if column == SEQUENCE_ROW and store is not None:
        return lambda a, b: np.array([_same_steps(store, int(i), int(j)) for i, j in zip(a, b, strict=True)], bool)
    return lambda a, b: a == b


def _same_steps(store: SequenceStore, i: int, j: int) -> bool:
    o = store.offsets
    a, b = store.values[o[i] : o[i + 1]], store.values[o[j] : o[j + 1]]
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=ALIKE, atol=ALIKE, equal_nan=True))
