"""A CSV file's records as Python's csv module reads them, looked at where polars cannot read the file or leaves a
last value missing: the first record with the wrong number of fields, blank lines, a file cut short (mid-row, or
inside a quoted value), and the error that names the line and the fix."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .text_files import has_sep_line, last_byte, open_text


@dataclass(frozen=True)
class RecordScan:
    """What a CSV file's records hold beyond the header: the first with the wrong number of fields, blank lines."""

    ragged: tuple[int, int] | None  # (first line of the record, its number of fields)
    blank: list[int]  # indices (0 = the first record after the header) of the blank lines
    n_records: int  # records read (all of them when none is ragged)
    #: the ragged record is the file's last line, short, and ends so ('without a line end', 'within a quoted value'):
    #: the file is cut short
    cut: str | None = None
    #: 'rows' where the first row ends in a separator (an empty last field) its header does not; 'header' where the
    #: header does (an empty last name) and the first row does not
    ends_apart: str | None = None


def scan_records(path: Path, sep: str, n_header: int, spaced: bool = False) -> RecordScan:
    """Read the records as Python's csv module does (quoted fields may hold the separator and newlines); ``spaced``:
    a quote may open after spaces (:func:`quotes_after_spaces`)."""
    reader = csv.reader(open_text(path), delimiter=sep, skipinitialspace=spaced)
    header = next(reader, None) or []
    blank: list[int] = []
    skipped = int(has_sep_line(path))  # Excel's 'sep=;' line, which open_text skips: the file's line numbers
    first_line = reader.line_num + 1 + skipped
    index = -1
    for index, row in enumerate(reader):
        if not row:
            blank.append(index)
        elif len(row) != n_header:
            cut = None  # the last line, short: without a line end, or within a quoted value ('"hel\n', cut there)
            if len(row) < n_header and next(reader, None) is None:
                if not _ends_with_line_end(path):
                    cut = "without a line end"
                elif _ends_in_open_quote(path, sep):
                    cut = "within a quoted value"
            first = len(blank) == index  # the first row: the file's lines are so, not this one
            ends = (
                "rows" if first and len(row) == n_header + 1 and not row[-1].strip() else
                "header" if first and len(row) == n_header - 1 and header and not header[-1].strip() else None
            )  # fmt: skip
            return RecordScan((first_line, len(row)), blank, index + 1, cut, ends)
        first_line = reader.line_num + 1 + skipped
    return RecordScan(None, blank, index + 1)


#: what to do about a file cut short
CUT_SHORT = "the file is cut short (a download or copy that stopped mid-row?); download or copy it again"


def open_quote_line(path: Path, sep: str) -> int | None:
    """The line of the file where a quoted value opens that the file's end leaves open, as a file cut short within a
    text does (Python's strict csv reader says 'unexpected end of data' there, and only there at the end of a file);
    None where none is. Read on error paths only."""
    skipped = int(has_sep_line(path))  # Excel's 'sep=;' line, which open_text skips
    reader = csv.reader(open_text(path), delimiter=sep, strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as exc:
        return start + skipped if "unexpected end of data" in str(exc) else None
    return None


def _ends_in_open_quote(path: Path, sep: str) -> bool:
    return open_quote_line(path, sep) is not None


def _ends_with_line_end(path: Path) -> bool:
    return last_byte(path) in (b"\n", b"\r")


def ragged_error(path: Path, role: str, sep: str, n_header: int, scan: RecordScan) -> DataError:
    line, n_fields = scan.ragged or (0, 0)  # called for a scan that found a ragged record
    where = f"line {line} of the {role} file {str(path)!r} has {n_fields} fields but its header has {n_header}"
    if scan.ends_apart is not None:  # an exporter that ends every row in a separator, or only its header
        rows = scan.ends_apart == "rows"
        ends, other = ("its rows end", "its header does") if rows else ("its header ends", "its rows do")
        return DataError(
            f"{where}: {ends} in a separator ({sep!r}, an empty last field) and {other} not; remove the separator at "
            f"the end of the {'rows' if rows else 'header'} (or add one at the end of the "
            f"{'header' if rows else 'rows'}: an empty unnamed column is dropped)"
        )
    if scan.cut:  # a download or a copy that stopped mid-row: every row before it read, this one half there
        return DataError(f"{where}, and it is the file's last line, {scan.cut}: {CUT_SHORT}")
    if n_fields > n_header:
        fix = f"fix that line (a value holding {sep!r} must be in double quotes)"
    else:
        example = sep.join(["1", "", "3"])
        fix = f"fix that line (every column needs a field, an empty one where the value is missing, as in {example!r})"
    return DataError(f"{where} (separator {sep!r}); {fix}, or set data.separator if the file uses another one")
