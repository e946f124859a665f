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

from ..errors import DataError, StoreError

#: the separators :func:`find_split` tries, in this order
SEPARATORS: tuple[str, ...] = ("/", "_", "-", "|", ":", ".", "#", "+")
#: the share of a column's values that one separator must cut into the same number of parts
_SHARE = 0.95
#: a part "repeats" with at most this many levels, or a hundredth of the rows where that is more: a deck, a side,
#: a product line (a hash's 4-digit tail, 65,536 levels, does not)
_FEW_LEVELS = 20
_INTEGER = r"^[+-]?\d+$"
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
#: a code's part: letters and digits (``_`` too, where another separator cuts)
_WORD = r"^\w+$"


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
    (missing ones aside; one word each) into the same number of parts, 2 or more, each of letters and digits, at
    least one of which repeats: 2 to 20 distinct values, or to a hundredth of the rows where that is more (a constant
    prefix ``A/`` is no structure, nor a hash's tail); None where none does. Numbers written as text (``12.05``: not
    12 and 5) are no codes, nor are e-mail addresses, web addresses and file names, whose parts hold other marks
    (``name@mail``, ``//host.com``, ``0.jpg``)."""
    values = values.drop_nulls()
    if values.dtype != pl.String or values.len() == 0 or values.str.contains(r"\s").mean() > 1 - _SHARE:  # type: ignore[operator]
        return None
    if values.str.contains(_NUMBER).mean() >= 0.5:  # type: ignore[operator]
        return None
    for sep in SEPARATORS:
        pieces = values.str.split(sep)
        counts = pieces.list.len()
        mode = int(counts.mode().min())  # type: ignore[arg-type]
        if mode < 2 or (counts == mode).mean() < _SHARE:  # type: ignore[operator]
            continue
        regular = pieces.filter(counts == mode)
        parts = [regular.list.get(i) for i in range(mode)]
        if not all(p.str.contains(_WORD).all() for p in parts):
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
        if isinstance(values.dtype, (pl.Categorical, pl.Enum)):  # a parquet file's categories: their text
            values = values.cast(pl.String)
            frame = frame.with_columns(values)
        if values.dtype != pl.String:
            raise DataError(
                f"data.split_codes names {col!r}, but the train column holds {values.dtype} values, not text codes; "
                "remove it from data.split_codes"
            )
        counts = values.drop_nulls().str.count_matches(sep, literal=True) + 1
        n_parts = int(counts.mode().min()) if counts.len() else 0  # type: ignore[arg-type]
        if n_parts < 2:
            example = f" (e.g. {values.drop_nulls()[0]!r})" if counts.len() else ""
            raise DataError(
                f"data.split_codes = {{ {col} = {sep!r} }}: most values of {col!r}{example} hold no {sep!r}; "
                "give the separator its values use, or remove the column from data.split_codes"
            )
        pieces = _pieces(values, sep, n_parts)
        split = CodeSplit(col, sep, tuple(_part_dtype(p) for p in pieces))
        frame = _with_parts(frame, split, pieces, "train", warn)  # the pieces the types were read from
        splits.append(split)
    return frame, splits


def split_like(
    frame: pl.DataFrame, splits: Sequence[CodeSplit], role: str, warn: Callable[[str], None]
) -> pl.DataFrame:
    """``frame`` (a test file) split as train was: the same parts, read as train's were. A part train read as a
    number that is no number here is read as missing, with a warning (``warn``) naming the column and the value."""
    for s in splits:
        if s.column not in frame.columns:  # the test checks would name its parts, which no file has
            raise DataError(
                f"the {role} file has no column {s.column!r}, which data.split_codes splits into "
                f"{', '.join(map(repr, s.parts))}: add it to the file, or remove it from data.split_codes and add it "
                "to data.drop"
            )
        if frame.schema[s.column] != pl.String:  # an all-missing test column, read as Null or numbers
            frame = frame.with_columns(pl.col(s.column).cast(pl.String))
        frame = _with_parts(frame, s, _pieces(frame[s.column], s.separator, len(s.dtypes)), role, warn)
    return frame


def _with_parts(
    frame: pl.DataFrame, s: CodeSplit, pieces: list[pl.Series], role: str, warn: Callable[[str], None]
) -> pl.DataFrame:
    """``frame`` with column ``s.column`` replaced, where it stood, by its ``pieces`` read as ``s`` says."""
    clash = [p for p in s.parts if p in frame.columns]
    if clash:
        raise DataError(
            f"data.split_codes splits {s.column!r} into {', '.join(map(repr, s.parts))}, but the {role} file has "
            f"a column {clash[0]!r} already; rename that column"
        )
    parts = []
    for piece, dtype, name in zip(pieces, s.dtypes, s.parts, strict=True):
        part, bad = _read_part(piece, dtype, name)
        if bad.len():
            warn(
                f"column {name!r} (a part of {s.column!r}, data.split_codes) of the {role} rows holds "
                f"{bad[0]!r} ({bad.len()} value(s)) where train's parts are {_NUMBERS[dtype]}: read as missing"
            )
        parts.append(part)
    at = frame.columns.index(s.column)
    frame = frame.drop(s.column)
    for offset, part in enumerate(parts):
        frame = frame.insert_column(at + offset, part)
    return frame


def split_record(splits: Sequence[CodeSplit]) -> dict[str, list[str]]:
    """column -> its parts' types, as ``run.json`` records them: ``kaggle-kit predict`` splits a later test file as
    the run split train (:func:`splits_from_record`), its dropped parts and fold columns included."""
    return {s.column: [str(dtype) for dtype in s.dtypes] for s in splits}


def splits_from_record(codes: Mapping[str, str], record: Mapping[str, Sequence[str]]) -> list[CodeSplit]:
    """The splits a run made (``data.split_codes`` and the parts' types :func:`split_record` gave), for a later test
    file (``kaggle-kit predict``)."""
    missing = [col for col in codes if col not in record]
    if missing:
        raise StoreError(
            f"the run folder records no parts of {missing[0]!r} (data.split_codes): it was made before the kit "
            "recorded them; run its config again (the fitted folds are reused) and predict then"
        )
    return [CodeSplit(c, sep, tuple(_RECORDED.get(t, pl.String()) for t in record[c])) for c, sep in codes.items()]


#: what train's parts are, by type, as the warning of a test value that is none says
_NUMBERS = {pl.Int64(): "whole numbers", pl.Float64(): "numbers"}
#: the part types a run records (``str(dtype)``) that are numbers
_RECORDED: dict[str, pl.DataType] = {"Int64": pl.Int64(), "Float64": pl.Float64()}


def _pieces(values: pl.Series, sep: str, n_parts: int) -> list[pl.Series]:
    """The ``n_parts`` parts of ``values`` (the last keeps the rest of a longer value); empty parts are missing."""
    split = values.str.splitn(sep, n_parts)
    return [split.struct.field(f).replace("", None) for f in split.struct.fields]


def _part_dtype(part: pl.Series) -> pl.DataType:
    """Whole numbers where every present value is one that fits 64 bits, else numbers where every one is a number, else
    text."""
    present = part.drop_nulls().str.strip_chars()
    if present.len() == 0 or not present.str.contains(_NUMBER).all():
        return pl.String()
    whole = present.str.contains(_INTEGER).all() and not present.cast(pl.Int64, strict=False).null_count()
    return pl.Int64() if whole else pl.Float64()


def _read_part(piece: pl.Series, dtype: pl.DataType, name: str) -> tuple[pl.Series, pl.Series]:
    """The part read as ``dtype``, and the values that are no such number where ``dtype`` is a number."""
    if dtype == pl.String:
        return piece.alias(name), piece.clear()
    read = piece.str.strip_chars().cast(dtype, strict=False)
    return read.alias(name), piece.filter(read.is_null() & piece.is_not_null())
