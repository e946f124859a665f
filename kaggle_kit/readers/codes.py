"""Code columns split into their parts (``data.split_codes``): a cabin ``B/45/P``, a group ``0042_03``, a product
``AX-120-R``.

As one column such a code is a category with a level for almost every row: nothing repeats for a model to learn
from (``kaggle-kit init`` drops it). Its parts repeat (a deck, a side, a product line) or are numbers (a position).
Split, part ``i`` becomes the column ``<column>_<i>`` (from 1): a number where every train value of the part is one,
else text (a category). A value with fewer parts leaves the last ones missing; one with more keeps the rest in the
last part. Test files, and any later test file (``kaggle-kit predict``), are split as train was, each part read as
train's part was. ``init`` proposes the split where one separator cuts almost every value into the same parts and
some part repeats (:func:`find_split`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from ..errors import DataError

#: the separators :func:`find_split` tries, in this order
SEPARATORS: tuple[str, ...] = ("/", "_", "-", "|", ":", ".", "#", "+")
#: the share of a column's values that one separator must cut into the same number of parts
_SHARE = 0.95
#: a part "repeats" with at most this many levels, or a hundredth of the rows where that is more: a deck, a side,
#: a product line (a hash's 4-digit tail, 65,536 levels, does not)
_FEW_LEVELS = 20
_INTEGER = r"^[+-]?\d+$"
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


@dataclass(frozen=True)
class CodeSplit:
    """How train's column ``column`` was split: by ``separator``, into parts read as ``dtypes``."""

    column: str
    separator: str
    dtypes: tuple[pl.DataType, ...]

    @property
    def parts(self) -> list[str]:
        return part_names(self.column, len(self.dtypes))


def part_names(column: str, n_parts: int) -> list[str]:
    return [f"{column}_{i}" for i in range(1, n_parts + 1)]


def find_split(values: pl.Series) -> tuple[str, int] | None:
    """``(separator, number of parts)`` where one of :data:`SEPARATORS` cuts at least 95 % of the text ``values``
    (missing ones aside; one word each) into the same number of non-empty parts, 2 or more, at least one of which
    repeats: 2 to 20 distinct values, or to a hundredth of the rows where that is more (a constant prefix ``A/`` is
    no structure, nor a hash's tail); None where none does."""
    values = values.drop_nulls()
    if values.dtype != pl.String or values.len() == 0 or values.str.contains(r"\s").mean() > 1 - _SHARE:  # type: ignore[operator]
        return None
    for sep in SEPARATORS:
        pieces = values.str.split(sep)
        counts = pieces.list.len()
        mode = int(counts.mode().min())  # type: ignore[arg-type]
        if mode < 2 or (counts == mode).mean() < _SHARE:  # type: ignore[operator]
            continue
        regular = pieces.filter(counts == mode)
        parts = [regular.list.get(i) for i in range(mode)]
        if any((p == "").any() for p in parts):
            continue
        few = max(_FEW_LEVELS, regular.len() // 100)
        if any(2 <= p.n_unique() <= few for p in parts):
            return sep, mode
    return None


def split_train(
    frame: pl.DataFrame, codes: Mapping[str, str], warn: Callable[[str], None]
) -> tuple[pl.DataFrame, list[CodeSplit]]:
    """``frame`` with each column ``codes`` names (column -> separator) replaced by its parts, as many as most of its
    values have; each part a number where every one of its values is one. Returns the splits, to split test alike."""
    splits = []
    for col, sep in codes.items():
        if col not in frame.columns:
            raise DataError(f"data.split_codes = {{ {col} = {sep!r} }}: {col!r} is not a column of the train file")
        values = frame[col]
        if values.dtype != pl.String:
            raise DataError(
                f"data.split_codes names {col!r}, but the train column holds {values.dtype} values, not text codes; "
                "remove it from data.split_codes"
            )
        counts = values.drop_nulls().str.split(sep).list.len()
        n_parts = int(counts.mode().min()) if counts.len() else 0  # type: ignore[arg-type]
        if n_parts < 2:
            example = f" (e.g. {values.drop_nulls()[0]!r})" if counts.len() else ""
            raise DataError(
                f"data.split_codes = {{ {col} = {sep!r} }}: most values of {col!r}{example} hold no {sep!r}; "
                "give the separator its values use, or remove the column from data.split_codes"
            )
        pieces = _pieces(values, sep, n_parts)
        dtypes = tuple(_part_dtype(p) for p in pieces)
        splits.append(CodeSplit(col, sep, dtypes))
    return split_like(frame, splits, "train", warn), splits


def split_like(
    frame: pl.DataFrame, splits: Sequence[CodeSplit], role: str, warn: Callable[[str], None]
) -> pl.DataFrame:
    """``frame`` (a test file) split as train was: the same parts, read as train's were. A part train read as a
    number that is no number here is read as missing, with a warning (``warn``) naming the column and the value."""
    for s in splits:
        if s.column not in frame.columns:
            continue  # the test checks name a feature column the file lacks
        clash = [p for p in s.parts if p in frame.columns]
        if clash:
            raise DataError(
                f"data.split_codes splits {s.column!r} into {', '.join(map(repr, s.parts))}, but the {role} file has "
                f"a column {clash[0]!r} already; rename that column"
            )
        if frame.schema[s.column] != pl.String:  # an all-missing test column, read as Null or numbers
            frame = frame.with_columns(pl.col(s.column).cast(pl.String))
        pieces = _pieces(frame[s.column], s.separator, len(s.dtypes))
        parts = []
        for piece, dtype, name in zip(pieces, s.dtypes, s.parts, strict=True):
            part, bad = _read_part(piece, dtype, name)
            if bad.len():
                warn(
                    f"column {name!r} (a part of {s.column!r}, data.split_codes) of the {role} rows holds "
                    f"{bad[0]!r} ({bad.len()} value(s)) where train's parts are numbers: read as missing"
                )
            parts.append(part)
        at = frame.columns.index(s.column)
        frame = frame.drop(s.column)
        for offset, part in enumerate(parts):
            frame = frame.insert_column(at + offset, part)
    return frame


def splits_from_record(codes: Mapping[str, str], record: Mapping[str, Sequence[str]]) -> list[CodeSplit]:
    """The splits a run made, from the training columns it recorded (column -> ``[dtype, kind]``): for a later
    test file (``kaggle-kit predict``). A part the run dropped (data.drop) is read as text and then ignored."""
    splits = []
    for col, sep in codes.items():
        n_parts = max((i for i in range(1, len(record) + 1) if f"{col}_{i}" in record), default=0)
        names = part_names(col, n_parts)
        dtypes = tuple(_RECORDED.get(record[n][0], pl.String()) if n in record else pl.String() for n in names)
        if n_parts:
            splits.append(CodeSplit(col, sep, dtypes))
    return splits


#: the part types a run records (``str(dtype)``) that are numbers
_RECORDED: dict[str, pl.DataType] = {"Int64": pl.Int64(), "Float64": pl.Float64()}


def _pieces(values: pl.Series, sep: str, n_parts: int) -> list[pl.Series]:
    """The ``n_parts`` parts of ``values`` (the last keeps the rest of a longer value); empty parts are missing."""
    split = values.str.splitn(sep, n_parts)
    return [split.struct.field(f).replace("", None) for f in split.struct.fields]


def _part_dtype(part: pl.Series) -> pl.DataType:
    present = part.drop_nulls().str.strip_chars()
    if present.len() == 0 or not present.str.contains(_NUMBER).all():
        return pl.String()
    return pl.Int64() if present.str.contains(_INTEGER).all() else pl.Float64()


def _read_part(piece: pl.Series, dtype: pl.DataType, name: str) -> tuple[pl.Series, pl.Series]:
    """The part read as ``dtype``, and the values that are no number where ``dtype`` is one."""
    if dtype == pl.String:
        return piece.alias(name), piece.clear()
    read = piece.str.strip_chars().cast(pl.Float64, strict=False)
    bad = piece.filter(read.is_null() & piece.is_not_null())
    if dtype == pl.Int64 and (read.drop_nulls() % 1 == 0).all():
        read = read.cast(pl.Int64)
    return read.alias(name), bad
