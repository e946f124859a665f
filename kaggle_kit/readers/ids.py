"""The columns a table keeps spelled as written, the id and class labels (``"007"``, an id ``'NA'`` for Namibia): which
columns they are (by name, spaces and case aside), their values the missing-value strings took read back as
written, and a column of whole numbers spelled canonically read as integers."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from .headers import header_renames

#: A whole number as a CSV writes one: no sign but '-', no leading zero, no '.0'. An id or label spelled so is read
#: as an integer; any other spelling ("007", "1.0", "True") is kept as text, so that submissions write it unchanged.
_CANONICAL_INT = r"^-?(0|[1-9][0-9]{0,17})$"


def kept_as_written(columns: Sequence[str], keep_text: Sequence[str]) -> set[str]:
    """The columns read as text, spelled as written (the id, class labels): those ``keep_text`` names, and a column
    named so but for spaces and case (a test file's ``ID`` or `` id`` for data.id ``id``: its ``'007'`` was read as
    7.0 from a parquet file, 7 from a CSV one, and the submission wrote that)."""
    return {c for c in columns if c in keep_text} | set(header_renames(columns, keep_text))


def ids_as_written(
    frame: pl.DataFrame, source: Path | io.BytesIO, sep: str, names: list[str] | None, ids: Sequence[str]
) -> pl.DataFrame:
    """``frame`` with its id columns' values that the missing-value strings took ('NA', 'None', 'nan') as written,
    read again as text where some are (a file whose rows a text read gives otherwise is left as it is). An empty id
    (``""`` quoted, which that read gives as '') stays missing, and so do those of a column whose other ids are all
    numbers: R's write.csv writes a missing number 'NA' (they were read as the ids '' and 'NA', without a word)."""
    columns = [c for c in kept_as_written(frame.columns, ids) if frame[c].dtype == pl.String and frame[c].null_count()]
    columns = [c for c in columns if not _all_numbers(frame[c])]
    if not columns:
        return frame
    if isinstance(source, io.BytesIO):
        source.seek(0)
    text = pl.read_csv(source, separator=sep, infer_schema=False, new_columns=names)
    if text.height != frame.height:
        return frame
    return frame.with_columns(pl.coalesce(frame[c], text[c].replace("", None)).alias(c) for c in columns)


def _all_numbers(values: pl.Series) -> bool:
    """Whether ``values`` (text) hold some value and each one is a number."""
    present = values.drop_nulls().str.strip_chars()
    return present.len() > 0 and present.cast(pl.Float64, strict=False).null_count() == 0


def keep_spelling(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Columns read as text (ids, labels) become integers where every value is spelled as one; else stay text."""
    casts = []
    for col in sorted(kept_as_written(frame.columns, columns)):
        if frame.schema[col] == pl.String:
            values = frame[col].drop_nulls()
            if values.len() and values.str.contains(_CANONICAL_INT).all():
                casts.append(pl.col(col).cast(pl.Int64))
    return frame.with_columns(casts) if casts else frame
