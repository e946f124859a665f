"""A CSV file's header line: its names (quoted ones after spaces, ``"id", "x"``, read as the text within the quotes,
and the file's values then read so too), a name written twice, the header line repeated among the rows (files
joined one after another), and the rule that matches one file's header to another's (spaces and case aside)."""

from __future__ import annotations

import csv
import io
import itertools
import multiprocessing
import re
import warnings
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import polars as pl

from ..errors import DataWarning
from .text_files import raw_bytes


def warn_repeated_names(header: list[str], path: Path) -> None:
    """A header naming a column twice: polars reads the second as ``<name>_duplicated_0``; say so, since a column of
    that name is what the other file then lacks (or has as a feature of its own)."""
    seen: dict[str, int] = {}
    for name in header:
        seen[name] = seen.get(name, 0) + 1
    repeated = [n for n, k in seen.items() if k > 1]
    if repeated and multiprocessing.parent_process() is None:  # once, from the process that runs the competition
        shown = ", ".join(f"{n!r} ({seen[n]} times)" for n in repeated[:5])
        # Said of the file, not of its role, from this line (stacklevel 1) whoever reads it: the "default" filter (the
        # CLI's) shows it once however often a command reads the file in whatever role (`init` reads train to infer
        # the roles, then as `run` will: with the id's spelling kept, a long table as data.sequences.train)
        warnings.warn(
            f"the header of the file {str(path)!r} names column(s) {shown}: the repeats are read as "
            f"'{repeated[0]}_duplicated_0', ..; rename them in the file",
            DataWarning,
            stacklevel=1,
        )


def read_header(lines: Iterator[str] | io.StringIO, sep: str) -> tuple[list[str], list[str] | None]:
    """A CSV file's header: its names, and the names polars is to give its columns where it reads others (else
    None): a name in quotes with spaces around them (``"id", "x"``) is the text within the quotes. polars and
    Python's csv module kept the quotes of ``"x"`` after ``", "`` (``' "x"'``: data.target = 'x' was no column) and
    cut one after ``"x" ,`` (``'x"'``)."""
    lines = iter(lines)
    first = next(lines, "")
    header = next(csv.reader(itertools.chain([first], lines), delimiter=sep), [])
    names = _quoted_names(first, sep)
    if names is None or len(names) != len(header) or names == header:
        return header, None
    return names, _numbered_repeats(names)


def _quoted_names(line: str, sep: str) -> list[str] | None:
    """The names of a header line, each one in quotes read as the text within them (spaces outside the quotes
    aside); None where a quote stands within a name, or a quoted name runs past the line (the csv module's header
    then)."""
    s = re.escape(sep)
    space = "[ \t]" if sep != "\t" else "[ ]"
    field = re.compile(rf'{space}*"((?:[^"]|"")*)"{space}*(?={s}|$)|([^"{s}]*)(?={s}|$)')
    line = line.rstrip("\r\n").removeprefix("\ufeff")
    names, at = [], 0
    while True:
        found = field.match(line, at)
        if found is None:
            return None
        quoted, plain = found.groups()
        names.append(quoted.replace('""', '"') if quoted is not None else plain)
        at = found.end()
        if at == len(line):
            return names
        at += len(sep)


def _numbered_repeats(names: list[str]) -> list[str]:
    """``names`` with a name's repeats numbered as polars numbers them (``x``, ``x_duplicated_0``, ..)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        k = seen.get(name, -1)
        seen[name] = k + 1
        out.append(name if k < 0 else f"{name}_duplicated_{k}")
    return out


def may_repeat_header(frame: pl.DataFrame) -> bool:
    """Whether a row of ``frame`` may repeat its header line (files joined one after another), as far as its first
    column and its types tell: the first column holds its name (1M rows x 100 columns compared with their names: 3 s;
    the first column alone: 0.03 s), each column of numbers or dates is named by one (a grid's ``1``, ``2`` beside
    ``id``, whose repeats were read as rows without a word), some text column by no number, and a row the first
    column names holds every name as its type reads it."""
    if not frame.width:
        return False
    first = _holds_name(frame.columns[0], frame.schema[frame.columns[0]])
    if first is None or not frame.select(first.any()).item():
        return False
    typed = [(c, dtype) for c, dtype in frame.schema.items() if dtype != pl.String]
    if not typed:
        return True
    if any(_holds_name(c, dtype) is None for c, dtype in typed):
        return False
    # numbers alone: a row '0,1' under the header '0,1' may be a row
    text = [c.strip(AROUND) for c, dtype in frame.schema.items() if dtype == pl.String]
    if pl.Series(text, dtype=pl.String).cast(pl.Float64, strict=False).null_count() == 0:
        return False
    # every column compared in the rows whose first value is its name only: a grid's column '0' holds 0 in many rows,
    # and the whole file was read again as text for them (300k rows x 51 columns: +15%)
    every = pl.all_horizontal(_holds_name(c, dtype) for c, dtype in frame.schema.items())
    return bool(frame.filter(first).select(every.any()).item())


def _holds_name(column: str, dtype: pl.DataType) -> pl.Expr | None:
    """Whether each value of ``column`` is its name (spaces, quotes and a byte order mark aside); None where no value
    of its type can be (a number column named by no number; booleans and times, which no text casts to)."""
    name = column.strip(AROUND)
    if dtype == pl.String:
        return pl.col(column).str.strip_chars(AROUND) == name
    try:
        value = pl.Series([name]).cast(dtype, strict=False)[0]
    except pl.exceptions.PolarsError:
        return None
    return None if value is None else pl.col(column) == value


def header_key(column: str) -> str:
    """A column's name as one file's header is matched to another's (a test file's to train's, a sample's to test's):
    spaces around it and case aside."""
    return column.strip().casefold()


def keys_of(columns: Sequence[str]) -> set[str]:
    return {header_key(c) for c in columns}


def header_renames(columns: Sequence[str], names: Sequence[str], keep: Collection[str] = ()) -> dict[str, str]:
    """The columns of a file to read as the ``names`` it lacks, ``{column: name}``: for each name not among
    ``columns``, the one column named so but for spaces around it and case (:func:`header_key`; ``"F1 "`` for ``f1``,
    ``ID`` for ``id``). None where two columns, or two of ``names``, share that key (which one is meant cannot be
    told), and a column that is one of ``names`` or in ``keep`` (another file's other columns: it is that column, not
    the missing one) is never taken. A test file's names matched to train's, an imported predictions file's to the
    run's, the id and labels a file keeps the spelling of."""
    present = set(columns)
    if all(name in present for name in names):
        return {}
    wanted: dict[str, list[str]] = {}
    for name in dict.fromkeys(names):
        wanted.setdefault(header_key(name), []).append(name)
    spare: dict[str, list[str]] = {}
    for c in columns:
        if c not in wanted.get(header_key(c), ()) and c not in keep:
            spare.setdefault(header_key(c), []).append(c)
    renames = {}
    for name in dict.fromkeys(names):
        found, same = spare.get(header_key(name), []), wanted[header_key(name)]
        if name not in present and len(found) == 1 and len(same) == 1:
            renames[found[0]] = name
    return renames


def quotes_after_spaces(source: Path | io.BytesIO, sep: str) -> io.BytesIO:
    """A file whose header quotes its names after a space (``"id", "x"``, :func:`read_header`) written as polars reads
    it: each value without the spaces around it, quoted where it must be. polars reads a quote after a space as a
    character of the value (``' "a"'``, a class of its own), and a separator within such quotes as a separator (``1,
    "b, c"``: a line of one field too many, said to lack the quotes it has)."""
    raw = source.getvalue() if isinstance(source, io.BytesIO) else raw_bytes(source)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=sep, skipinitialspace=True):
        writer.writerow([value.rstrip(" \t") for value in row])
    return io.BytesIO(out.getvalue().encode("utf-8"))


#: what a header line repeated among the rows may have around its names, which the header line itself had not
AROUND = ' \t\ufeff"'
