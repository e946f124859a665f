"""How a table file is read: CSV or parquet, the separator sniffed, dates written day or month first kept as
text for readers/date_formats.py, and the steps of the other modules of this package put together: the file's text
(:mod:`.text_files`), its header (:mod:`.headers`), the id and labels spelled as written (:mod:`.ids`), its records
when polars cannot read it (:mod:`.records`), and text columns that are really numbers (:mod:`.numbers`), as the
[data] keys say (:class:`~kaggle_kit.readers.options.ReadOptions`)."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import multiprocessing
import re
import warnings
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import DataError, DataWarning
from .archives import is_zip, zip_member
from .headers import (
    AROUND,
    header_key,
    keys_of,
    may_repeat_header,
    quotes_after_spaces,
    read_header,
    warn_repeated_names,
)
from .ids import ids_as_written, keep_spelling, kept_as_written
from .numbers import numbers_from_text, refuse_dots_beside_dot_thousands
from .options import NA_VALUES, ReadOptions
from .paths import shown_path
from .records import CUT_SHORT, open_quote_line, ragged_error, scan_records
from .text_files import (
    SEP_LINE,
    SEP_LINE_BYTES,
    ends_lines_with_cr,
    for_polars,
    has_bom,
    header_is_utf8,
    is_utf8_error,
    last_byte,
    not_utf8,
    open_text,
    opener,
    polars_source,
    raw_bytes,
    recoded,
    single_byte,
    utf8_break,
    wide_encoding,
)

#: Separators a CSV file's header line is sniffed for, when data.separator is not set.
SEPARATORS = (",", ";", "\t", "|")


#: polars' error where a column it read as dates or times holds some spelled otherwise (the column's name caught)
_MIXED_DATES = re.compile(
    r"conversion from `str` to `(?:time|date|datetime)[^`]*` failed in column '(.*?)' for \d+ out of", re.DOTALL
)
#: polars' other words for it, where a column's first values took a datetime pattern that a later value breaks
#: (NYC Taxi Fare's ``2009-06-15 17:26:21 UTC``: "could not parse ... as dtype `datetime[μs]` at column ...")
_UNPARSED_DATES = re.compile(r"could not parse `[^`]*` as dtype `(?:time|date|datetime)[^`]*` at column '(.*?)'")
#: the most such columns read again as text, one retry each
_MIXED_DATES_MAX = 50


def read_table(path: Path, *, role: str, options: ReadOptions | None = None) -> pl.DataFrame:
    """Read a CSV or parquet file, with errors that name the file and what to do."""
    options = (options or ReadOptions()).for_file(role)
    if not path.exists():
        raise DataError(f"the {role} file {shown_path(path)} does not exist; check data.{role} in the config")
    if path.is_dir() and path.suffix.lower() != ".parquet":  # it was "must be .csv or .parquet; got 'no extension'"
        tables = sorted(f.name for f in path.iterdir() if f.suffix.lower() in (".csv", ".parquet", ".gz", ".zip"))
        inside = f" (it holds {', '.join(tables[:3])}{', ...' if len(tables) > 3 else ''})" if tables else ""
        pick = next((t for t in tables if t.lower().startswith(role)), tables[0] if tables else f"{role}.csv")
        raise DataError(
            f"the {role} file {shown_path(path)} is a folder{inside}; set data.{role} to the table's file in it "
            f"({str(path / pick)!r}, or that path relative to the config's folder)"
        )
    suffix = path.suffix.lower()
    try:
        inner = Path(zip_member(path, role)).suffix.lower() if is_zip(path) else None  # train.csv.zip: train.csv
        is_csv = (inner or suffix) in (".csv", ".tsv", ".txt") or path.name.endswith((".csv.gz", ".tsv.gz"))
        if (inner or suffix) in (".parquet", ".pq"):
            frame = pl.read_parquet(polars_source(path))
            frame = frame.select(pl.all().cast(pl.String)) if options.as_text else frame
        elif is_csv:
            if path.stat().st_size == 0:
                raise DataError(f"the {role} file {str(path)!r} is empty")
            frame = _read_csv(path, role, options)
        else:
            raise DataError(f"the {role} file {str(path)!r} must be .csv or .parquet; got {suffix or 'no extension'!r}")
    except DataError:
        raise
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        reason = _without_hints(exc)
        if "utf-8" in reason.lower() or "utf8" in reason.lower():
            reason += not_utf8(path)
        raise DataError(f"could not read the {role} file {str(path)!r}: {reason}") from None
    if options.as_text:  # a sample's header alone still gives its columns (`kaggle-kit predict` on new ids)
        return frame
    if frame.height == 0:
        raise DataError(f"the {role} file {str(path)!r} has a header but no rows")
    if is_csv:
        frame = keep_spelling(frame, options.keep_text)
    frame = _missing_as_null(frame, options.na_values)
    return numbers_from_text(frame, options, role, path, _separator(path, options) if is_csv else None)


def _missing_as_null(frame: pl.DataFrame, na_values: Sequence[str]) -> pl.DataFrame:
    """Text values that data.na_values lists, spaces around them aside, as missing, in a file of either format (a
    CSV reader's own matching is exact, and a parquet file has none): a parquet text column's '?' was a category of
    its own, and its dates were no dates."""
    if not na_values:
        return frame
    text = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    listed = pl.lit(list(na_values))
    return frame.with_columns(
        pl.when(pl.col(c).str.strip_chars().is_in(listed)).then(None).otherwise(pl.col(c)).alias(c) for c in text
    )


def read_head(path: Path, lines: int, encoding: str | None = None) -> list[list[str]]:
    """A CSV file's first ``lines`` records, its header first, as text, as :func:`read_table` reads them (its encoding
    and separator found alike; ``encoding``: data.encoding): a large file's header and first row without reading the
    rest."""
    sep = sniff_separator(path)
    encoding = None if has_bom(path) else encoding  # as read_table reads it
    head = list(itertools.islice(csv.reader(open_text(path, encoding or "utf-8"), delimiter=sep), lines))
    if encoding is None and any("\ufffd" in value for row in head for value in row):  # no UTF-8: cp1252, as
        encoding = "cp1252"  # read_table
        head = list(itertools.islice(csv.reader(open_text(path, encoding), delimiter=sep), lines))
    names = read_header(open_text(path, encoding or "utf-8"), sep)[1]
    return [names, *head[1:]] if head and names else head


def sniff_separator(path: Path) -> str:
    """The separator of a CSV file: the one Excel's ``sep=;`` first line names, else the candidate found most often in
    its header line outside quotes (',' on a tie: 'Preis, EUR;Menge' below 'sep=;' was cut at its ',')."""
    with opener(path)(path, "rb") as f:
        named = SEP_LINE_BYTES.match(f.read(16))
    if named and named.group(2).decode("latin-1") in SEPARATORS:
        return named.group(2).decode("latin-1")
    header = next(iter(open_text(path)), "")
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {sep: unquoted.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def _separator(path: Path, options: ReadOptions) -> str:
    return options.separator or sniff_separator(path)


def _read_csv(path: Path, role: str, options: ReadOptions) -> pl.DataFrame:
    sep = _separator(path, options)
    # A ','-separated file holds no unquoted decimal comma: its numbers are read with '.' (a test file written apart
    # from a ';'-separated, decimal-comma train file); quoted ones ("1,5") with data.decimal, as text below.
    decimal_comma = options.decimal == "," and sep != ","
    given = None if has_bom(path) else options.encoding  # a byte order mark says the file's encoding itself
    encoding = given or "utf-8"
    header, names = read_header(open_text(path, encoding), sep)
    warn_repeated_names(header, path)
    overrides = dict.fromkeys(kept_as_written(names or header, options.keep_text), pl.String)

    def read(source: Path | io.BytesIO) -> pl.DataFrame:
        """The file read once; read again without the lines that repeat its header (files joined one after another:
        each line read as a row of the header's names, which turned every number column to text, a class label
        'label', or a sample's id 'id' that no test row has)."""
        frame = read_once(source)
        if not may_repeat_header(frame):
            return frame  # a column that holds no value spelled as its name: no line repeats the header (no cost)
        parsed = frame
        if any(dtype != pl.String for dtype in frame.schema.values()):  # a column of numbers named by a number ('1',
            if isinstance(source, io.BytesIO):  # '2' beside 'id'): the rows compared as written
                source.seek(0)
            frame = pl.read_csv(source, separator=sep, infer_schema=False, new_columns=names)
        repeats = pl.all_horizontal([pl.col(c).str.strip_chars(AROUND) == c.strip(AROUND) for c in frame.columns])
        at = frame.select(repeats.arg_true()).to_series()
        if at.len() == 0:
            return parsed
        if multiprocessing.parent_process() is None:  # once, from the process that runs the competition
            warnings.warn(
                f"the {role} file {str(path)!r} repeats its header line {at.len()} time(s) among its rows (first as "
                f"row {int(at[0]) + 1}: files joined one after another?): read as no rows",
                DataWarning,
                stacklevel=1,
            )
        kept = frame.filter(~repeats)
        if options.as_text:
            return kept
        return read_once(io.BytesIO(kept.write_csv(separator=sep).encode()))  # the values as written, parsed anew

    def read_once(source: Path | io.BytesIO) -> pl.DataFrame:
        if options.as_text:
            return pl.read_csv(source, separator=sep, infer_schema=False, new_columns=names)
        # dates written day or month first stay text in the tables the run reads: polars would read '01/02/2020' as
        # 1 February, whatever the file means (readers/date_formats.py tells the orders apart from train's values)
        dated = _numeric_dates(source, sep, options.na_values, names) if role in _TABLES else []
        kept = dict.fromkeys(dated, pl.String)

        def parse_as(as_text: dict[str, type[pl.String]], dates: bool, rows: int | None = None) -> pl.DataFrame:
            if isinstance(source, io.BytesIO):
                source.seek(0)
            return pl.read_csv(
                source,
                separator=sep,
                infer_schema_length=rows or INFER_ROWS,  # the first rows' own types: not the file's first 100,000
                try_parse_dates=dates,
                null_values=[*NA_VALUES, *options.na_values],
                decimal_comma=decimal_comma,
                schema_overrides={**kept, **overrides, **as_text} or None,
                new_columns=names,
                n_rows=rows,
                ignore_errors=rows is not None,  # polars parses past n_rows: a later row's other type is no error
            )

        def parse(as_text: dict[str, type[pl.String]]) -> pl.DataFrame:
            """The file read with polars' date inference where a text column may hold dates; else without it, which
            reads the same frame (:func:`_may_hold_dates`). Where the first rows alone may hold dates, the file is
            read with it at once: a file with a date column is not read twice. A file the read without it cannot
            read is read with it: its error (or its frame) is the one the kit gave before."""
            told = {*kept, *overrides, *as_text}
            try:
                top = parse_as(as_text, dates=False, rows=_TOP_ROWS)
            except Exception:  # a bad line among them: the read with the inference says what is wrong, as before
                top = None
            if top is None or _may_hold_dates(top, told):  # a text column of the first rows may be dates: at once
                return parse_as(as_text, dates=True)
            try:
                plain = parse_as(as_text, dates=False)
            except pl.exceptions.PolarsError:  # the read with the inference raises as before: a date column's bad
                return parse_as(as_text, dates=True)  # value may come before the value this read stopped at
            return parse_as(as_text, dates=True) if _may_hold_dates(plain, told) else plain

        frame = ids_as_written(_parse_times_as_text_where_mixed(parse), source, sep, names, options.ids)
        # train's text columns that this file's values alone read as numbers (a category's '7', '8'): read again as
        # text, spelled as written; dates stay dates (train's '01/31/2020' beside this file's 2020-03-01)
        text = keys_of(options.text)
        numbers = {c: pl.String for c, dtype in frame.schema.items() if dtype.is_numeric() and header_key(c) in text}
        return _parse_times_as_text_where_mixed(lambda more: parse({**numbers, **more})) if numbers else frame

    # polars reads a header's bytes that are no UTF-8 as '\ufffd' without an error: a file whose other lines are
    # ASCII kept garbled names ('Gr\ufffd\ufffde'), without a word
    frame = None
    try:
        if given is not None or header_is_utf8(path):
            source = polars_source(path) if codecs.lookup(encoding).name == "utf-8" else recoded(path, encoding)
            source = for_polars(path, source)
            frame = read(quotes_after_spaces(source, sep) if names else source)
    except pl.exceptions.ComputeError as exc:
        if not (given is None and is_utf8_error(exc)):
            error = _broken_records_error(path, role, sep, len(header), names is not None)
            if error is None:
                raise
            raise error from exc
    if frame is None:  # a spreadsheet's export: Windows-1252, said once; the file's bytes read once
        text = _not_utf8_text(path, role)
        header, names = read_header(io.StringIO(text, newline=""), sep)  # its names, decoded so
        overrides = dict.fromkeys(kept_as_written(names or header, options.keep_text), pl.String)
        decoded = io.BytesIO(text.encode("utf-8"))
        frame = read(quotes_after_spaces(decoded, sep) if names else decoded)
    if options.decimal == "," and sep == "," and options.thousands == ".":
        refuse_dots_beside_dot_thousands(frame, path, role, names)
    return _checked_records(frame, path, role, sep, header, names is not None)


def _broken_records_error(path: Path, role: str, sep: str, n_header: int, spaced: bool) -> DataError | None:
    """The error for a file polars could not read because of its records: one cut short inside a quoted value, or a
    ragged record (:func:`~.records.scan_records`); None where the records are whole (polars' own error then)."""
    scan = scan_records(path, sep, n_header, spaced)
    opened = open_quote_line(path, sep) if scan.ragged is None else None
    if opened is not None:  # polars said 'could not parse `"hel` as dtype `str`'
        return DataError(
            f"the {role} file {str(path)!r} ends inside a quoted value that opens on line {opened} (its '\"' "
            f"is never closed): {CUT_SHORT}; or, if that line is whole, a value there opens a quote it does "
            "not close (a '\"' inside a quoted value is written '\"\"')"
        )
    if scan.ragged is None:
        return None
    return ragged_error(path, role, sep, n_header, scan)


def _not_utf8_text(path: Path, role: str) -> str:
    """The text of a file that is not UTF-8 (a spreadsheet's export): UTF-16 / 32 where a byte order mark says so,
    else Windows-1252 (or Latin-1), said once; its lines ending in a line feed, without Excel's ``sep=;`` line."""
    raw = raw_bytes(path)
    wide = wide_encoding(raw[:4])
    text, encoding = (raw.decode(wide), wide) if wide else single_byte(raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n") if ends_lines_with_cr(path) else text
    text = text[m.end() :] if (m := SEP_LINE.match(text)) else text
    if not wide and multiprocessing.parent_process() is None:  # a byte order mark says its encoding itself
        warnings.warn(
            f"the {role} file {str(path)!r} is not UTF-8 ({utf8_break(raw).strip()}): read as {encoding}; "
            "set data.encoding if it is another (e.g. 'shift_jis', 'gbk')",
            DataWarning,
            stacklevel=1,
        )
    return text


def _checked_records(
    frame: pl.DataFrame, path: Path, role: str, sep: str, header: list[str], spaced: bool
) -> pl.DataFrame:
    """``frame`` without the rows of nulls polars read for blank lines; a ragged record that polars read as a short
    row refused (:func:`~.records.ragged_error`), and a file ending in a separator without a line end warned of."""
    # A short record or a blank line leaves the last column empty: without one, the file is whole. (In a one-column
    # file, an empty line is that column's missing value.)
    if len(header) < 2 or frame.height == 0 or frame.to_series(-1).null_count() == 0:
        return frame
    scan = scan_records(path, sep, len(header), spaced)
    if scan.ragged is not None:
        raise ragged_error(path, role, sep, len(header), scan)
    if scan.blank and scan.n_records == frame.height:  # polars reads a blank line as a row of nulls; it holds no row
        frame = frame.with_row_index("__row__").filter(~pl.col("__row__").is_in(scan.blank)).drop("__row__")
    # '7,3.5,' and no more (every line: no); the last byte read where the last value is missing (a .gz file's is its
    # whole text decompressed)
    ends_in_sep = header[-1].strip() and frame.to_series(-1)[-1] is None and last_byte(path) == sep.encode()
    if ends_in_sep and multiprocessing.parent_process() is None:
        warnings.warn(
            f"the {role} file {str(path)!r} ends in a separator without a line end: its last row's last value is read "
            "as missing, but the file may be cut short (a download or copy that stopped mid-row?); download or copy "
            "it again if so",
            DataWarning,
            stacklevel=1,
        )
    return frame


#: the files whose text dates readers/date_formats.py reads (the run's tables, a later test file; a long table's
#: step column, readers/sequences.py)
_TABLES = ("train", "test", "labels", "sequences.train", "sequences.test")
#: a date written day or month first, in numbers ('03/22/2022', '22.03.22', '1-2-2020'), a time of day or not; and
#: a version number ('1.2.3', '4.0.1'), which polars read as a date in the year 3 or 1
_NUMERIC_DATE = r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{1,4}(\s|T|$)"


def _numeric_dates(
    source: Path | io.BytesIO, sep: str, na_values: tuple[str, ...], names: list[str] | None
) -> list[str]:
    """The columns whose first 200 values are all dates written day or month first (none where those rows cannot be
    read: the whole read then says why); ``names``: the columns' names where polars reads others
    (:func:`~.headers.read_header`)."""
    try:
        missing = [*NA_VALUES, *na_values]
        head = pl.read_csv(
            source, separator=sep, n_rows=200, infer_schema=False, null_values=missing, new_columns=names
        )
    except (pl.exceptions.PolarsError, OSError):
        return []
    out = []
    for name in head.columns:
        values = head[name].drop_nulls().str.strip_chars()
        if values.len() and values.str.contains(_NUMERIC_DATE).all():
            out.append(name)
    return out


#: the rows polars infers a CSV column's type from (``infer_schema_length``)
INFER_ROWS = 100_000
#: the first rows read (a few milliseconds) to tell whether a file may hold dates: where they may, it is read with
#: polars' date inference at once, as before; where not, without it, and then its :data:`INFER_ROWS` checked
_TOP_ROWS = 1_000
#: a value that is no date, time or datetime to polars' inference (``try_parse_dates``): no digit, or a letter first
#: (after spaces and quotes). Each of its patterns begins with a number (``%Y``, ``%d``, ``%H``), and its regexes with
#: an optional quote and a digit; the sign ``%Y`` allows is no letter.
_NO_DATE = "^[ \t'\"]*[A-Za-z]|^[^0-9]*$"


def _may_hold_dates(frame: pl.DataFrame, overridden: set[str]) -> bool:
    """Whether polars' date inference could read a column of ``frame`` (the file read without it) otherwise.

    Only a text column can become a date, time or datetime (numbers and booleans are recognised before dates), and
    only where every value of the rows the inference reads is one of the same kind: a text column with a value that
    is no date (:data:`_NO_DATE`) among them stays text. Read without it, the file is the same frame, and the date
    inference costs polars about 20 us a text value (9 s of a 50,000-row train file with 8 category columns, once in
    `run` and again in `report`)."""
    head = frame.head(INFER_ROWS)
    for name, dtype in head.schema.items():
        if dtype != pl.String or name in overridden:
            continue
        values = head[name].drop_nulls()
        if values.len() and not values.str.contains(_NO_DATE).any():
            return True
    return False


def _parse_times_as_text_where_mixed(parse: Any) -> pl.DataFrame:
    """``parse({})``, or, where polars took a column for times or dates from its first values and then met others
    spelled otherwise (``10:00`` then ``10:00:05``: its date parsing stops the whole file with "conversion from
    `str` to `time` failed"), ``parse`` with those columns read as text (the date formats' reading, or the
    step column's, then takes them as the other text dates are taken)."""
    as_text: dict[str, type[pl.String]] = {}
    for _ in range(_MIXED_DATES_MAX):
        try:
            return parse(as_text)
        except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
            found = _MIXED_DATES.search(str(exc)) or _UNPARSED_DATES.search(str(exc))
            if found is None or found.group(1) in as_text:
                raise
            as_text[found.group(1)] = pl.String
    return parse(as_text)


def _without_hints(exc: Exception) -> str:
    """A library's message without its advice on its own options (e.g. polars' "set truncate_ragged_lines=True")."""
    lines = [ln for ln in str(exc).splitlines() if ln.strip() and not ln.strip().startswith(("Consider", "Hint"))]
    return " ".join(lines) or type(exc).__name__


def is_unnamed(column: str) -> bool:
    """Whether a header names no column: empty, or pandas' ``Unnamed: 0`` (what it reads an empty name as)."""
    return column.strip() == "" or re.fullmatch(r"Unnamed: \d+", column) is not None


def unnamed_to_drop(train: pl.DataFrame, keep: Collection[str] = ()) -> tuple[list[str], list[str]]:
    """Train's unnamed columns (but ``keep``) that the run drops itself: those empty in every row (a trailing
    separator on every line, a spreadsheet's export), and a saved pandas index (distinct whole numbers)."""
    empty, index = [], []
    for col in train.columns:
        values = train[col]
        if col in keep or not is_unnamed(col):
            continue
        if values.null_count() == values.len():
            empty.append(col)
        elif values.dtype.is_integer() and values.null_count() == 0 and values.n_unique() == values.len():
            index.append(col)
    return empty, index
