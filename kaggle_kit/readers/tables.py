"""How a table file is read: CSV or parquet, the separator sniffed, the missing-value strings, and text
columns that are really numbers (``"51,257.30"``, a ``"?"`` among numbers) parsed when the ``[data]`` keys
``na_values``, ``thousands``, ``decimal`` and ``separator`` say how, or named in an error; never silently a
category with one level per row. The id column and class labels keep their spelling (``"007"``)."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import multiprocessing
import os
import re
import warnings
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from ..config import CompetitionSpec
from ..errors import DataError, DataWarning, name_a_few
from .archives import is_zip, member_bytes, open_member, zip_member

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

#: Separators a CSV file's header line is sniffed for, when data.separator is not set.
SEPARATORS = (",", ";", "\t", "|")

#: Spellings of infinity a numeric text column may hold (read as numbers, then as missing like any infinite value).
_INF_WORDS = ["inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"]

#: A whole number as a CSV writes one: no sign but '-', no leading zero, no '.0'. An id or label spelled so is read
#: as an integer; any other spelling ("007", "1.0", "True") is kept as text, so that submissions write it unchanged.
_CANONICAL_INT = r"^-?(0|[1-9][0-9]{0,17})$"
#: polars' error where a column it read as dates or times holds some spelled otherwise (the column's name caught)
_MIXED_DATES = re.compile(
    r"conversion from `str` to `(?:time|date|datetime)[^`]*` failed in column '(.*?)' for \d+ out of", re.DOTALL
)
#: polars' other words for it, where a column's first values took a datetime pattern that a later value breaks
#: (NYC Taxi Fare's ``2009-06-15 17:26:21 UTC``: "could not parse ... as dtype `datetime[μs]` at column ...")
_UNPARSED_DATES = re.compile(r"could not parse `[^`]*` as dtype `(?:time|date|datetime)[^`]*` at column '(.*?)'")
#: the most such columns read again as text, one retry each
_MIXED_DATES_MAX = 50

#: Placeholders ("?", "-", "missing") among numbers are named one by one; more distinct non-numbers than this make
#: a text column holding some numbers (ticket codes), which stays text.
_MAX_PLACEHOLDERS = 5
#: Non-numbers holding this share of a mostly-numeric column's values or more are more likely its levels (grades
#: 'A', 'B', '1', '2') than placeholders for a missing value: the error offers data.categorical first.
_LEVELS_SHARE = 0.1
#: Values that stand for a missing value however common ('?', '-', 'n/a' in a parquet file, 'unknown'): never levels.
_MISSING_WORDS = {v.lower() for v in NA_VALUES} | {"missing", "unknown", "none", "nil", "not available", "n.a."}


@dataclass(frozen=True)
class ReadOptions:
    """How a table file is read: extra missing-value strings, how its numbers are written, its separator, and which
    columns keep their text spelling (the id and class labels) or are never parsed as numbers (data.categorical)."""

    na_values: tuple[str, ...] = ()
    thousands: str | None = None
    decimal: str = "."
    separator: str | None = None
    keep_text: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    lenient: bool = False  # keep a mostly-numeric text column as text instead of stopping (kaggle-kit init)
    decimals: tuple[tuple[str, str], ...] = ()  # data.decimal given per file: (file, mark); a file not named: '.'
    encoding: str | None = None  # data.encoding; None: UTF-8, or Windows-1252 for a file that is not UTF-8
    #: data.drop: columns whose values no model reads, so never refused for how they write numbers (read as any
    #: column where they parse; else kept as text): a column dropped for its junk stopped the run all the same
    dropped: tuple[str, ...] = ()
    #: the keys are a finished run's (``kaggle-kit predict`` reading a new test file): a value they do not read is
    #: the file's to fix, so a message names no [data] key to set
    from_run: bool = False
    #: every column as text, spelled as the file writes it, no value read as missing but an empty one (a sample
    #: submission: its ids are written back as it spells them, "007" and "NA" alike)
    as_text: bool = False
    #: columns read as text whatever they hold, spaces around a name and case aside: train's text columns, when its
    #: test file is read (a category whose test rows hold only numbers, '7' and '8', is read as train's levels; it
    #: was Int64, which `run` refused, or numbers but for a level, refused as a placeholder)
    text: tuple[str, ...] = ()
    #: the id columns (of ``keep_text``), whose text a CSV file never writes for a missing value: an id 'NA'
    #: (Namibia), 'None' or 'nan' (a word) is that id (it was read as missing: "the id column 'id' of train has 1
    #: missing value(s)", with nothing to set)
    ids: tuple[str, ...] = ()

    @classmethod
    def from_spec(cls, spec: CompetitionSpec) -> ReadOptions:
        d = spec.data
        labels = d.target if spec.task in ("binary", "multiclass") else None  # multi-target labels are numbers
        keep = [c for c in (d.id, labels) if c]
        never_numbers = (*(d.categorical or ()), *(d.text or ()))  # free text is never parsed as numbers
        per_file = tuple(d.decimal.items()) if isinstance(d.decimal, dict) else ()
        decimal = "." if isinstance(d.decimal, dict) else d.decimal
        return cls(
            tuple(d.na_values),
            d.thousands,
            decimal,
            d.separator,
            tuple(keep),
            never_numbers,
            decimals=per_file,
            encoding=d.encoding,
            dropped=tuple(d.drop),
            ids=(d.id,) if d.id else (),
        )

    def for_file(self, role: str) -> ReadOptions:
        """These options with the decimal mark data.decimal gives the file ``role`` (a long table's: its split's)."""
        if not self.decimals:
            return self
        return replace(self, decimal=dict(self.decimals).get(_file_key(role), "."))


def _file_key(role: str) -> str:
    return role.removeprefix("sequences.")


def _per_file_marks(options: ReadOptions, role: str, mark: str) -> dict[str, str] | None:
    """The data.decimal that reads the file ``role``'s numbers with ``mark`` and the other files' as they are read: one
    mark for all (None), or one per file (a test file written apart from train), as ``{file: mark}``."""
    file = _file_key(role)
    if file not in ("train", "test") or (not options.decimals and (file == "train" or mark == options.decimal)):
        return None
    marks = dict(options.decimals) if options.decimals else {"train": options.decimal}
    return {**marks, file: mark}


def _decimal_key(options: ReadOptions, role: str, mark: str) -> str:
    """:func:`_per_file_marks` as the [data] key to set."""
    marks = _per_file_marks(options, role, mark)
    if marks is None:
        return f"decimal = {mark!r}"
    per_file = ", ".join(f"{k} = {marks[k]!r}" for k in ("train", "test") if k in marks)
    return f"decimal = {{ {per_file} }}"


def _other_files_marks(options: ReadOptions, role: str, mark: str) -> set[str]:
    """The decimal marks the other files keep under :func:`_decimal_key`'s setting for the file ``role`` (none when
    that setting is one mark for all files): a data.thousands equal to one of them is refused by the config."""
    marks = _per_file_marks(options, role, mark)
    file = _file_key(role)
    return set() if marks is None else {marks.get(other, ".") for other in ("train", "test") if other != file}


def shown_path(path: Path) -> str:
    """``path`` quoted for a message that it is missing; a relative one with the working folder it was looked for
    from, which a notebook cell may have changed since the spec was built."""
    return f"{str(path)!r}{working_folder_note(path)}{path_hint(path)}"


def path_hint(path: Path) -> str:
    """Why a path written in a config may not be found: a Windows folder separator or environment variable
    (``%DATA%``), an unset environment variable."""
    text = str(path)
    if os.sep == "/" and "\\" in text:
        return " (a '\\' is no folder separator here: write the path with '/', e.g. 'data/train.csv')"
    windows = re.search(r"%([A-Za-z_][A-Za-z0-9_]*)%", text) if os.sep == "/" else None
    if windows:
        name = windows.group(1)
        return f" (%{name}% is how Windows writes an environment variable: write ${name})"
    unset = re.search(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text)  # os.path.expandvars leaves an unset one as written
    return f" (the environment variable {unset.group(1)} is not set)" if unset else ""


def require_given_file(path: Path | str | None, role: str, option: str) -> None:
    """A file a command's argument names (``option``: ``"--test FILE (test= in Python)"``) that is not there, said
    with that argument before any work: :func:`read_table`'s "check data.test in the config" named a config the
    command does not read (``predict``, ``refit``, ``init``), and ``predict`` read its ``--sample`` after predicting."""
    if isinstance(path, (str, Path)) and not Path(path).is_file():
        what = "is a folder, not a file" if Path(path).is_dir() else "does not exist"
        raise DataError(f"the {role} file {shown_path(Path(path))} {what}; check {option}")


def working_folder_note(path: Path) -> str:
    return "" if path.is_absolute() else f" (from the working folder {str(Path.cwd())!r})"


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
            frame = pl.read_parquet(_polars_source(path))
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
            reason += _not_utf8(path)
        raise DataError(f"could not read the {role} file {str(path)!r}: {reason}") from None
    if options.as_text:  # a sample's header alone still gives its columns (`kaggle-kit predict` on new ids)
        return frame
    if frame.height == 0:
        raise DataError(f"the {role} file {str(path)!r} has a header but no rows")
    if is_csv:
        frame = _keep_spelling(frame, options.keep_text)
    frame = _missing_as_null(frame, options.na_values)
    return _numbers_from_text(frame, options, role, path, _separator(path, options) if is_csv else None)


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


def _opener(path: Path) -> Any:
    return gzip.open if path.name.endswith(".gz") else open_member if is_zip(path) else open


def _polars_source(path: Path) -> Path | io.BytesIO:
    """The file as polars reads it: itself (a .gz one too), or the file a zip archive holds."""
    return io.BytesIO(member_bytes(path)) if is_zip(path) else path


def _not_utf8(path: Path) -> str:
    """Where a file stops being UTF-8 and the fix, when data.encoding says UTF-8 (a spreadsheet's cp1252 export)."""
    where = _utf8_break(_raw_bytes(path))
    if not where:
        return ""
    return f"{where}; the file is not UTF-8: set data.encoding = 'cp1252' (or the file's encoding), or save it as UTF-8"


def _utf8_break(raw: bytes) -> str:
    """Where a file's bytes stop being UTF-8: `` at line N (the bytes around it)``; "" where they are UTF-8."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = raw.rfind(b"\n", 0, exc.start) + 1
        end = raw.find(b"\n", exc.start)
        line = raw[start : end + 1 if end >= 0 else len(raw)]
        at, number = exc.start - start, raw.count(b"\n", 0, exc.start) + 1
        return f" at line {number} ({line[max(at - 10, 0) : at + exc.end - exc.start + 10]!r})"
    return ""


def _open_text(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    if codecs.lookup(encoding).name == "utf-8":  # UTF-8, a BOM or not; or UTF-16 / 32, which a BOM says
        with _opener(path)(path, "rb") as f:
            text_encoding = _wide_encoding(f.read(4)) or "utf-8-sig"
    else:
        text_encoding = encoding
    with _opener(path)(path, "rt", encoding=text_encoding, errors="replace", newline="") as f:
        first = f.readline()
        if first and not _SEP_LINE.fullmatch(first):  # Excel's 'sep=;' line is no header (_for_polars)
            yield first
        yield from f


#: what a header line repeated among the rows may have around its names, which the header line itself had not
_AROUND = ' \t\ufeff"'
#: Excel's first line naming a CSV file's separator ('sep=;'), above its header: neither a header nor a row
_SEP_LINE = re.compile("\ufeff?sep=[^\r\n]?(\r\n|\r|\n)")
_SEP_LINE_BYTES = re.compile(b"(\xef\xbb\xbf)?sep=([^\r\n]?)(\r\n|\r|\n)")


def _has_bom(path: Path) -> bool:
    """Whether the file starts with a UTF-8, -16 or -32 byte order mark, which says its encoding whatever
    data.encoding says (a sample re-saved as Excel's "CSV UTF-8" beside cp1252 train and test files: its first name
    read as 'ï»¿id' in cp1252)."""
    with _opener(path)(path, "rb") as f:
        start = f.read(4)
    return start.startswith(codecs.BOM_UTF8) or _wide_encoding(start) is not None


def _wide_encoding(start: bytes) -> str | None:
    """'utf-16' or 'utf-32' where a file's first bytes are their byte order mark (a spreadsheet's "Unicode text"
    export: UTF-16, tab-separated), else None. Such a file is no UTF-8 and no Windows-1252: read as either, every
    other byte was a NUL in the names and values, and the rows broke at the wrong places."""
    if start.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _header_is_utf8(path: Path) -> bool:
    with _opener(path)(path, "rb") as f:
        line = f.readline()
        if _SEP_LINE_BYTES.fullmatch(line):  # Excel's 'sep=;' line: the header is the next (a cp1252 'Größe' was
            line = f.readline()  # read as 'Gr\ufffd\ufffde', without a word)
    return not _utf8_break(line)


def _is_utf8_error(exc: Exception) -> bool:
    return "utf-8" in str(exc).lower() or "utf8" in str(exc).lower()


def _raw_bytes(path: Path) -> bytes:
    with _opener(path)(path, "rb") as f:
        return bytes(f.read())


def _single_byte(raw: bytes) -> tuple[str, str]:
    """(the text, its encoding): Windows-1252 where it decodes the bytes (a spreadsheet's export), else Latin-1 (which
    decodes any byte)."""
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _recoded(path: Path, encoding: str) -> io.BytesIO:
    """The file's text in ``encoding``, as UTF-8 bytes for polars (which reads UTF-8 only); a byte the encoding does
    not define is an error naming the file."""
    try:
        text = _raw_bytes(path).decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"the file {str(path)!r} is not {encoding} text (data.encoding): byte {exc.object[exc.start : exc.end]!r} "
            f"at offset {exc.start}; set data.encoding to the file's encoding"
        ) from None
    return io.BytesIO(text.encode("utf-8"))


def read_head(path: Path, lines: int, encoding: str | None = None) -> list[list[str]]:
    """A CSV file's first ``lines`` records, its header first, as text, as :func:`read_table` reads them (its encoding
    and separator found alike; ``encoding``: data.encoding): a large file's header and first row without reading the
    rest."""
    sep = sniff_separator(path)
    encoding = None if _has_bom(path) else encoding  # as read_table reads it
    head = list(itertools.islice(csv.reader(_open_text(path, encoding or "utf-8"), delimiter=sep), lines))
    if encoding is None and any("\ufffd" in value for row in head for value in row):  # no UTF-8: cp1252, as
        encoding = "cp1252"  # read_table
        head = list(itertools.islice(csv.reader(_open_text(path, encoding), delimiter=sep), lines))
    names = _header(_open_text(path, encoding or "utf-8"), sep)[1]
    return [names, *head[1:]] if head and names else head


def sniff_separator(path: Path) -> str:
    """The separator of a CSV file: the one Excel's ``sep=;`` first line names, else the candidate found most often in
    its header line outside quotes (',' on a tie: 'Preis, EUR;Menge' below 'sep=;' was cut at its ',')."""
    with _opener(path)(path, "rb") as f:
        named = _SEP_LINE_BYTES.match(f.read(16))
    if named and named.group(2).decode("latin-1") in SEPARATORS:
        return named.group(2).decode("latin-1")
    header = next(iter(_open_text(path)), "")
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {sep: unquoted.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def _separator(path: Path, options: ReadOptions) -> str:
    return options.separator or sniff_separator(path)


def _warn_repeated_names(header: list[str], path: Path) -> None:
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


def _header(lines: Iterator[str] | io.StringIO, sep: str) -> tuple[list[str], list[str] | None]:
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


def _may_repeat_header(frame: pl.DataFrame) -> bool:
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
    text = [c.strip(_AROUND) for c, dtype in frame.schema.items() if dtype == pl.String]
    if pl.Series(text, dtype=pl.String).cast(pl.Float64, strict=False).null_count() == 0:
        return False
    # every column compared in the rows whose first value is its name only: a grid's column '0' holds 0 in many rows,
    # and the whole file was read again as text for them (300k rows x 51 columns: +15%)
    every = pl.all_horizontal(_holds_name(c, dtype) for c, dtype in frame.schema.items())
    return bool(frame.filter(first).select(every.any()).item())


def _holds_name(column: str, dtype: pl.DataType) -> pl.Expr | None:
    """Whether each value of ``column`` is its name (spaces, quotes and a byte order mark aside); None where no value
    of its type can be (a number column named by no number; booleans and times, which no text casts to)."""
    name = column.strip(_AROUND)
    if dtype == pl.String:
        return pl.col(column).str.strip_chars(_AROUND) == name
    try:
        value = pl.Series([name]).cast(dtype, strict=False)[0]
    except pl.exceptions.PolarsError:
        return None
    return None if value is None else pl.col(column) == value


def header_key(column: str) -> str:
    """A column's name as one file's header is matched to another's (a test file's to train's, a sample's to test's):
    spaces around it and case aside."""
    return column.strip().casefold()


def _keys_of(columns: Sequence[str]) -> set[str]:
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


def _kept_as_written(columns: Sequence[str], keep_text: Sequence[str]) -> set[str]:
    """The columns read as text, spelled as written (the id, class labels): those ``keep_text`` names, and a column
    named so but for spaces and case (a test file's ``ID`` or `` id`` for data.id ``id``: its ``'007'`` was read as
    7.0 from a parquet file, 7 from a CSV one, and the submission wrote that)."""
    return {c for c in columns if c in keep_text} | set(header_renames(columns, keep_text))


def _read_csv(path: Path, role: str, options: ReadOptions) -> pl.DataFrame:
    sep = _separator(path, options)
    # A ','-separated file holds no unquoted decimal comma: its numbers are read with '.' (a test file written apart
    # from a ';'-separated, decimal-comma train file); quoted ones ("1,5") with data.decimal, as text below.
    decimal_comma = options.decimal == "," and sep != ","
    given = None if _has_bom(path) else options.encoding  # a byte order mark says the file's encoding itself
    encoding = given or "utf-8"
    header, names = _header(_open_text(path, encoding), sep)
    _warn_repeated_names(header, path)
    overrides = dict.fromkeys(_kept_as_written(names or header, options.keep_text), pl.String)

    def read(source: Path | io.BytesIO) -> pl.DataFrame:
        """The file read once; read again without the lines that repeat its header (files joined one after another:
        each line read as a row of the header's names, which turned every number column to text, a class label
        'label', or a sample's id 'id' that no test row has)."""
        frame = read_once(source)
        if not _may_repeat_header(frame):
            return frame  # a column that holds no value spelled as its name: no line repeats the header (no cost)
        parsed = frame
        if any(dtype != pl.String for dtype in frame.schema.values()):  # a column of numbers named by a number ('1',
            if isinstance(source, io.BytesIO):  # '2' beside 'id'): the rows compared as written
                source.seek(0)
            frame = pl.read_csv(source, separator=sep, infer_schema=False, new_columns=names)
        repeats = pl.all_horizontal([pl.col(c).str.strip_chars(_AROUND) == c.strip(_AROUND) for c in frame.columns])
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

        def parse(as_text: dict[str, type[pl.String]]) -> pl.DataFrame:
            if isinstance(source, io.BytesIO):
                source.seek(0)
            return pl.read_csv(
                source,
                separator=sep,
                infer_schema_length=100_000,
                try_parse_dates=True,
                null_values=[*NA_VALUES, *options.na_values],
                decimal_comma=decimal_comma,
                schema_overrides={**kept, **overrides, **as_text} or None,
                new_columns=names,
            )

        frame = _ids_as_written(_parse_times_as_text_where_mixed(parse), source, sep, names, options.ids)
        # train's text columns that this file's values alone read as numbers (a category's '7', '8'): read again as
        # text, spelled as written; dates stay dates (train's '01/31/2020' beside this file's 2020-03-01)
        text = _keys_of(options.text)
        numbers = {c: pl.String for c, dtype in frame.schema.items() if dtype.is_numeric() and header_key(c) in text}
        return _parse_times_as_text_where_mixed(lambda more: parse({**numbers, **more})) if numbers else frame

    # polars reads a header's bytes that are no UTF-8 as '\ufffd' without an error: a file whose other lines are
    # ASCII kept garbled names ('Gr\ufffd\ufffde'), without a word
    frame = None
    try:
        if given is not None or _header_is_utf8(path):
            source = _polars_source(path) if codecs.lookup(encoding).name == "utf-8" else _recoded(path, encoding)
            source = _for_polars(path, source)
            frame = read(_quotes_after_spaces(source, sep) if names else source)
    except pl.exceptions.ComputeError as exc:
        if not (given is None and _is_utf8_error(exc)):
            scan = _scan_records(path, sep, len(header), names is not None)
            opened = _open_quote_line(path, sep) if scan.ragged is None else None
            if opened is not None:  # polars said 'could not parse `"hel` as dtype `str`'
                raise DataError(
                    f"the {role} file {str(path)!r} ends inside a quoted value that opens on line {opened} (its '\"' "
                    f"is never closed): {_CUT}; or, if that line is whole, a value there opens a quote it does not "
                    "close (a '\"' inside a quoted value is written '\"\"')"
                ) from exc
            if scan.ragged is None:
                raise
            raise _ragged_error(path, role, sep, len(header), scan) from exc
    if frame is None:  # a spreadsheet's export: Windows-1252, said once; the file's bytes read once
        raw = _raw_bytes(path)
        wide = _wide_encoding(raw[:4])
        text, encoding = (raw.decode(wide), wide) if wide else _single_byte(raw)
        text = text.replace("\r\n", "\n").replace("\r", "\n") if _ends_lines_with_cr(path) else text
        text = text[m.end() :] if (m := _SEP_LINE.match(text)) else text
        if not wide and multiprocessing.parent_process() is None:  # a byte order mark says its encoding itself
            warnings.warn(
                f"the {role} file {str(path)!r} is not UTF-8 ({_utf8_break(raw).strip()}): read as {encoding}; "
                "set data.encoding if it is another (e.g. 'shift_jis', 'gbk')",
                DataWarning,
                stacklevel=1,
            )
        header, names = _header(io.StringIO(text, newline=""), sep)  # its names, decoded so
        overrides = dict.fromkeys(_kept_as_written(names or header, options.keep_text), pl.String)
        decoded = io.BytesIO(text.encode("utf-8"))
        frame = read(_quotes_after_spaces(decoded, sep) if names else decoded)
    if options.decimal == "," and sep == "," and options.thousands == ".":
        _refuse_dots_beside_dot_thousands(frame, path, role, names)
    # A short record or a blank line leaves the last column empty: without one, the file is whole. (In a one-column
    # file, an empty line is that column's missing value.)
    if len(header) < 2 or frame.height == 0 or frame.to_series(-1).null_count() == 0:
        return frame
    scan = _scan_records(path, sep, len(header), names is not None)
    if scan.ragged is not None:
        raise _ragged_error(path, role, sep, len(header), scan)
    if scan.blank and scan.n_records == frame.height:  # polars reads a blank line as a row of nulls; it holds no row
        frame = frame.with_row_index("__row__").filter(~pl.col("__row__").is_in(scan.blank)).drop("__row__")
    # '7,3.5,' and no more (every line: no); the last byte read where the last value is missing (a .gz file's is its
    # whole text decompressed)
    ends_in_sep = header[-1].strip() and frame.to_series(-1)[-1] is None and _last_byte(path) == sep.encode()
    if ends_in_sep and multiprocessing.parent_process() is None:
        warnings.warn(
            f"the {role} file {str(path)!r} ends in a separator without a line end: its last row's last value is read "
            "as missing, but the file may be cut short (a download or copy that stopped mid-row?); download or copy "
            "it again if so",
            DataWarning,
            stacklevel=1,
        )
    return frame


def _ids_as_written(
    frame: pl.DataFrame, source: Path | io.BytesIO, sep: str, names: list[str] | None, ids: Sequence[str]
) -> pl.DataFrame:
    """``frame`` with its id columns' values that the missing-value strings took ('NA', 'None', 'nan') as written,
    read again as text where some are (a file whose rows a text read gives otherwise is left as it is). An empty id
    (``""`` quoted, which that read gives as '') stays missing, and so do those of a column whose other ids are all
    numbers: R's write.csv writes a missing number 'NA' (they were read as the ids '' and 'NA', without a word)."""
    columns = [c for c in _kept_as_written(frame.columns, ids) if frame[c].dtype == pl.String and frame[c].null_count()]
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


def _quotes_after_spaces(source: Path | io.BytesIO, sep: str) -> io.BytesIO:
    """A file whose header quotes its names after a space (``"id", "x"``, :func:`_header`) written as polars reads
    it: each value without the spaces around it, quoted where it must be. polars reads a quote after a space as a
    character of the value (``' "a"'``, a class of its own), and a separator within such quotes as a separator (``1,
    "b, c"``: a line of one field too many, said to lack the quotes it has)."""
    raw = source.getvalue() if isinstance(source, io.BytesIO) else _raw_bytes(source)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=sep, skipinitialspace=True):
        writer.writerow([value.rstrip(" \t") for value in row])
    return io.BytesIO(out.getvalue().encode("utf-8"))


def _ends_lines_with_cr(path: Path) -> bool:
    """Whether the file ends its lines with a carriage return alone (an old Mac's "CSV (Macintosh)" export), which
    polars does not read as line ends: the whole file was one header line, 'a header but no rows', and a sample's
    names ran into its values ('y\\r1')."""
    with _opener(path)(path, "rb") as f:
        start = f.read(1 << 16)
    return b"\r" in start and b"\n" not in start


def _has_sep_line(path: Path) -> bool:
    """Whether the file's first line is Excel's ``sep=;`` (skipped by every reader)."""
    with _opener(path)(path, "rb") as f:
        return _SEP_LINE_BYTES.match(f.read(16)) is not None


def _for_polars(path: Path, source: Path | io.BytesIO) -> Path | io.BytesIO:
    """``source`` (the file, or its text recoded as UTF-8) as polars can read it: lines that end in a carriage return
    alone ending in a line feed (:func:`_ends_lines_with_cr`), and without Excel's ``sep=;`` first line, which the
    text readers skip (:func:`_open_text`; it was read as a header of 1 column, and every row named as ragged)."""
    sep_line = _has_sep_line(path)
    cr_only = _ends_lines_with_cr(path)
    if not (sep_line or cr_only):
        return source
    raw = source.getvalue() if isinstance(source, io.BytesIO) else _raw_bytes(source)
    raw = raw[m.end() :] if sep_line and (m := _SEP_LINE_BYTES.match(raw)) else raw
    return io.BytesIO(raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if cr_only else raw)


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
    read: the whole read then says why); ``names``: the columns' names where polars reads others (:func:`_header`)."""
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


#: a number a '.' may group the thousands of (1.500, -12.345.678): 1.5 to a decimal dot, 1500 to a thousands dot
_DOT_GROUPED = r"^[+-]?[0-9]{1,3}(\.[0-9]{3})+$"


def _refuse_dots_beside_dot_thousands(frame: pl.DataFrame, path: Path, role: str, names: list[str] | None) -> None:
    """A ','-separated file's numbers read with '.' as their decimal mark while data.thousands = '.' groups thousands
    with it: a value such as '1.500' would be 1.5 here and 1500 in the other files. An error naming the first column
    holding one (2.75 cannot be grouped thousands: read as it is); the first 10,000 rows are looked at."""
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    if not floats:
        return
    source = _polars_source(path)
    text = pl.read_csv(source, infer_schema=False, n_rows=10_000, separator=",", new_columns=names).select(floats)
    for column in floats:
        values = text[column].drop_nulls().str.strip_chars()
        grouped = values.filter(values.str.contains(_DOT_GROUPED))
        if grouped.len():
            raise _dot_grouped_error(column, grouped[0], path, role)


def _dot_grouped_error(column: str, example: str, path: Path, role: str) -> DataError:
    return DataError(
        f"column {column!r} of the {role} file {str(path)!r} holds numbers like {example!r}: the file is separated by "
        "',', "
        "so they cannot use the decimal comma of data.decimal = ',' and are read with '.' as their decimal mark, while "
        "data.thousands = '.' says '.' groups thousands (1.500 would be 1.5 here, 1500 in the other files): save the "
        "file separated by ';' with decimal commas as the other files are, or remove data.thousands if no file "
        "groups thousands with '.'"
    )


@dataclass(frozen=True)
class _RecordScan:
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


def _scan_records(path: Path, sep: str, n_header: int, spaced: bool = False) -> _RecordScan:
    """Read the records as Python's csv module does (quoted fields may hold the separator and newlines); ``spaced``:
    a quote may open after spaces (:func:`_quotes_after_spaces`)."""
    reader = csv.reader(_open_text(path), delimiter=sep, skipinitialspace=spaced)
    header = next(reader, None) or []
    blank: list[int] = []
    skipped = int(_has_sep_line(path))  # Excel's 'sep=;' line, which _open_text skips: the file's line numbers
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
            return _RecordScan((first_line, len(row)), blank, index + 1, cut, ends)
        first_line = reader.line_num + 1 + skipped
    return _RecordScan(None, blank, index + 1)


#: what to do about a file cut short
_CUT = "the file is cut short (a download or copy that stopped mid-row?); download or copy it again"


def _open_quote_line(path: Path, sep: str) -> int | None:
    """The line of the file where a quoted value opens that the file's end leaves open, as a file cut short within a
    text does (Python's strict csv reader says 'unexpected end of data' there, and only there at the end of a file);
    None where none is. Read on error paths only."""
    skipped = int(_has_sep_line(path))  # Excel's 'sep=;' line, which _open_text skips
    reader = csv.reader(_open_text(path), delimiter=sep, strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as exc:
        return start + skipped if "unexpected end of data" in str(exc) else None
    return None


def _ends_in_open_quote(path: Path, sep: str) -> bool:
    return _open_quote_line(path, sep) is not None


def _ends_with_line_end(path: Path) -> bool:
    return _last_byte(path) in (b"\n", b"\r")


def _last_byte(path: Path) -> bytes:
    with _opener(path)(path, "rb") as f:
        if not path.name.endswith(".gz") and not is_zip(path):
            f.seek(max(f.seek(0, io.SEEK_END) - 1, 0))
        last = b""
        while chunk := f.read(1 << 16):
            last = chunk[-1:]
    return bytes(last)


def _ragged_error(path: Path, role: str, sep: str, n_header: int, scan: _RecordScan) -> DataError:
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
        return DataError(f"{where}, and it is the file's last line, {scan.cut}: {_CUT}")
    if n_fields > n_header:
        fix = f"fix that line (a value holding {sep!r} must be in double quotes)"
    else:
        example = sep.join(["1", "", "3"])
        fix = f"fix that line (every column needs a field, an empty one where the value is missing, as in {example!r})"
    return DataError(f"{where} (separator {sep!r}); {fix}, or set data.separator if the file uses another one")


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


def _keep_spelling(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Columns read as text (ids, labels) become integers where every value is spelled as one; else stay text."""
    casts = []
    for col in sorted(_kept_as_written(frame.columns, columns)):
        if frame.schema[col] == pl.String:
            values = frame[col].drop_nulls()
            if values.len() and values.str.contains(_CANONICAL_INT).all():
                casts.append(pl.col(col).cast(pl.Int64))
    return frame.with_columns(casts) if casts else frame


#: the spaces a thousands space stands for: a spreadsheet in a French, Russian or Polish locale groups thousands with
#: a no-break space (U+00A0) or a narrow one (U+202F), '1\u00a0234,5'; such a column stayed text, a category of one
#: level per value, without a word
_SPACES = " \u00a0\u202f"


def _thousands_class(thousands: str) -> str:
    """A regex character class for the ``thousands`` mark (a space: any of :data:`_SPACES`)."""
    return f"[{_SPACES}]" if thousands == " " else re.escape(thousands)


def _number_pattern(thousands: str | None, decimal: str) -> str:
    """A regex for one number as written with ``thousands`` grouping (valid groups of 3 only) and ``decimal``."""
    dec = re.escape(decimal)
    whole = r"[0-9]+" if thousands is None else rf"(?:[0-9]{{1,3}}(?:{_thousands_class(thousands)}[0-9]{{3}})+|[0-9]+)"
    return rf"^[+-]?(?:{whole}(?:{dec}[0-9]*)?|{dec}[0-9]+)(?:[eE][+-]?[0-9]+)?$"


def _as_numbers(text: pl.Series, thousands: str | None, decimal: str) -> pl.Series:
    """``text`` (stripped) parsed as numbers written that way; null where a value is not such a number."""
    t = pl.col("t")
    clean = t.str.replace_all(_thousands_class(thousands), "") if thousands else t
    if decimal != ".":
        clean = clean.str.replace(decimal, ".", literal=True)
    ok = t.str.contains(_number_pattern(thousands, decimal)) | t.str.to_lowercase().is_in(_INF_WORDS)
    parsed = pl.when(ok).then(clean.cast(pl.Float64, strict=False))
    return pl.DataFrame({"t": text}).select(parsed.alias(text.name)).to_series()


def _readings(options: ReadOptions, sep: str | None) -> list[tuple[str | None, str]]:
    """The configured reading first, then the usual other ways to write numbers (decimal comma first in ';' files)."""
    usual: list[tuple[str | None, str]] = [(",", "."), (None, ","), (".", ","), (" ", "."), (" ", ","), ("'", ".")]
    if sep == ";":
        usual = sorted(usual, key=lambda r: r[1] != ",")
    configured = (options.thousands, options.decimal)
    return [configured, *[r for r in [(None, "."), *usual] if r != configured]]


def _keys(thousands: str | None, decimal: str, options: ReadOptions, role: str) -> str:
    keys = [f"thousands = {thousands!r}"] if thousands else []
    shown = decimal != "." or not keys or decimal != options.decimal
    return " and ".join([*keys, _decimal_key(options, role, decimal)] if shown else keys)


def _numbers_from_text(
    frame: pl.DataFrame, options: ReadOptions, role: str, path: Path, sep: str | None
) -> pl.DataFrame:
    """Text columns whose values are all numbers (as the options write them) become numbers; a column that is mostly
    numbers written otherwise, or numbers among a few placeholders, is an error naming the values and the fix."""
    # data.categorical, train's text columns and data.drop by a test header's name too (' CODE' is train's 'code')
    text, dropped = _keys_of((*options.categorical, *options.text)), _keys_of(options.dropped)
    skip = {*_kept_as_written(frame.columns, options.keep_text), *(c for c in frame.columns if header_key(c) in text)}
    updates = []
    with_unit: list[str] = []
    for name, dtype in frame.schema.items():
        if dtype != pl.String or name in skip:
            continue
        text = frame[name].str.strip_chars()  # data.na_values are missing already (_missing_as_null)
        present = text.drop_nulls()
        if present.len() == 0:
            continue
        parsed = _as_numbers(text, options.thousands, options.decimal)
        if parsed.null_count() == text.null_count():
            updates.append(parsed)
            continue
        bare = _without_units(text)
        if bare is not None:  # '51.9%', '$1,200.50', '12,50 €': the numbers, with the thousands mark they use
            groupings = dict.fromkeys([options.thousands, _GROUPING[options.decimal]])
            parsed = min((_as_numbers(bare, t, options.decimal) for t in groupings), key=lambda p: p.null_count())
            if parsed.null_count() == bare.null_count():
                updates.append(parsed)
                with_unit.append(f"{name!r} (e.g. {present.filter(bare.drop_nulls() != present)[0]!r})")
                continue
            # what else the column holds: a number without its unit, for the check below to name the marks that read
            # it ('12,50 €' in a file read with decimal '.': data.decimal); the rest as written ('x%': na_values)
            present = bare.zip_with(parsed.is_not_null() | bare.str.contains(rf"^[+-]?[0-9][0-9.,'{_SPACES}]*$"), text)
            present = present.drop_nulls()
        lenient = options.lenient or header_key(name) in dropped
        problem = None if lenient else _numeric_text_problem(present, options, sep, role)
        if problem:
            raise DataError(f"column {name!r} of the {role} file {str(path)!r} {problem}")
    if with_unit and multiprocessing.parent_process() is None:  # once, from the process that runs the competition
        warnings.warn(
            f"column(s) {name_a_few(with_unit, 'column(s)', ', ')} of the {role} file {str(path)!r} hold numbers "
            "written with a unit (a currency sign, '%', an accountant's parentheses): read as the numbers, the unit "
            "dropped; list a column in data.categorical to keep it as text",
            DataWarning,
            stacklevel=1,
        )
    return frame.with_columns(updates) if updates else frame


#: the unit signs stripped from numbers written with one: a currency sign before or after the number, '%' after it
_CURRENCY = "$€£¥₹"
_UNIT_BEFORE = rf"^([+-]?)\s*[{_CURRENCY}]\s*"
_UNIT_AFTER = rf"\s*[{_CURRENCY}%]$"
#: the thousands mark that goes with a decimal mark, where a file writes amounts ('$1,200.50', '1.200,50 €')
_GROUPING = {".": ",", ",": "."}


#: an accountant's negative amount: '(5.00)', '($1,200.50)'
_PARENTHESISED = r"^\(\s*([^()]*?)\s*\)$"


def _without_units(text: pl.Series) -> pl.Series | None:
    """``text`` (stripped) with each value's unit sign removed ('-$5.00' -> '-5.00', '12 %' -> '12') and an
    accountant's parentheses read as a minus ('($5.00)' -> '-5.00'), or None when no value has either."""
    negative = text.str.contains(_PARENTHESISED)
    marked = negative | text.str.contains(_UNIT_BEFORE) | text.str.contains(_UNIT_AFTER)
    if not marked.any():
        return None
    inner = text.str.replace(_PARENTHESISED, "${1}")
    bare = inner.str.replace(_UNIT_BEFORE, "${1}").str.replace(_UNIT_AFTER, "")
    return pl.select(pl.when(negative).then(pl.lit("-") + bare).otherwise(bare)).to_series().alias(text.name)


def _problem_of_a_new_file(values: pl.Series, as_read: pl.Series, placeholders: pl.DataFrame) -> str:
    """:func:`_numeric_text_problem` for a new test file read with a finished run's [data] keys, which ``predict``
    cannot change (nor data.categorical: the models read the column as numbers): the values the keys do not read,
    and the file's fix."""
    name = values.name
    unread = values.filter(as_read.is_null() & ~values.is_in(placeholders[name].implode()))
    parts = [f"holds numbers written like {unread[0]!r}"] if unread.len() else []
    if placeholders.height:
        shown = ", ".join(f"{v!r} ({k} row{'s' * (k > 1)})" for v, k in placeholders.iter_rows())
        parts.append(f"is numbers but for {shown}")
    return (
        " and ".join(parts) + ", which the run's [data] keys (its spec.toml) do not read as numbers or as missing; "
        "`kaggle-kit predict` reads a new file as the run read its files: write these values as the training file "
        "wrote them (a missing value as an empty field)"
    )


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


def numbers_as_text(values: pl.Series) -> bool:
    """Whether a text column (as a lenient read leaves it) is numbers that a [data] reading key (``na_values``,
    ``thousands``, ``decimal``) would read: ``kaggle-kit run`` names that key, and the column is a number, not text
    nor a code (``kaggle-kit init`` routes neither to data.drop nor to data.text)."""
    present = values.str.strip_chars().drop_nulls()
    bare = _without_units(present)  # '5.034,19 €': a number once its unit is dropped, as the run reads it
    present = present if bare is None else bare
    return present.len() > 0 and _numeric_text_problem(present, ReadOptions(), None, "train") is not None


def _numeric_text_problem(present: pl.Series, options: ReadOptions, sep: str | None, role: str) -> str | None:
    """What is wrong with a text column that is mostly numbers, and which [data] key fixes it; None for real text.

    Works on the distinct values (weighted by their counts), so a category column costs a few regex passes over its
    levels; a column whose values mostly hold no digit at all is text without any.
    """
    if present.str.contains(r"[0-9]").sum() < present.len() / 2:
        return None
    name = present.name
    counted = present.value_counts(name="n").sort(["n", name], descending=[True, False])
    values, n = counted[name], counted["n"].to_numpy()
    readings = _readings(options, sep)
    parsed = [_as_numbers(values, *r) for r in readings]
    failing = [int(n[p.is_null().to_numpy()].sum()) for p in parsed]
    best = min(range(len(readings)), key=lambda i: failing[i])  # the first of equals: the configured one, if it ties
    thousands, decimal = readings[best]
    if failing[best] > n.sum() / 2:
        return None
    counts = counted.filter(parsed[best].is_null())
    if counts.height > _MAX_PLACEHOLDERS:
        return None  # a text column where some values happen to be numbers (e.g. ticket codes)
    if options.from_run:
        return _problem_of_a_new_file(values, parsed[0], counts)
    parts = []
    if best != 0:
        read = values.filter(parsed[best].is_not_null() & parsed[0].is_null())
        grouped = read.filter(read.str.contains(_thousands_class(thousands))) if thousands is not None else read
        example = (grouped if grouped.len() else read)[0]  # one showing the mark ('1\u00a0234,5', not '12,5')
        ties = [  # other readings that parse as many values, to other numbers ("1,234": 1234 or 1.234)
            readings[i]
            for i in range(1, len(readings))
            if failing[i] == failing[best] and i != best and not parsed[i].equals(parsed[best])
            and readings[i][0] not in _other_files_marks(options, role, readings[i][1])
        ]  # fmt: skip
        also = f" (or {_keys(*ties[0], options, role)}, if that is how they are written)" if ties else ""
        if thousands is not None and thousands in _other_files_marks(options, role, decimal):
            parts.append(
                f"holds numbers written like {example!r} (thousands grouped by {thousands!r}, decimal mark "
                f"{decimal!r}), which no [data] setting reads beside the other files: data.thousands is one for all "
                f"files, and {thousands!r} is another file's decimal mark; save this file with its numbers written "
                "without thousands grouping"
            )
        else:
            parts.append(
                f"holds numbers written like {example!r}: set {_keys(thousands, decimal, options, role)} in [data]"
                f"{also} to read them as numbers"
            )
    categorical = "list the column in data.categorical to keep it as text"
    if counts.height:
        shown = ", ".join(f"{v!r} ({k} row{'s' * (k > 1)})" for v, k in counts.iter_rows())
        listed = ", ".join(repr(v) for v in counts[name].to_list())
        missing = f"add {'it' if counts.height == 1 else 'them'} to data.na_values (na_values = [{listed}])"
        levels = counts.filter(
            pl.col(name).str.contains(r"[^\W_]") & ~pl.col(name).str.to_lowercase().is_in(list(_MISSING_WORDS))
        )
        share = levels["n"].sum() / n.sum()
        if not parts and share >= _LEVELS_SHARE:  # 'A', 'B' beside '1', '2': a category's levels, not placeholders
            return (
                f"is numbers but for {shown} ({share:.0%} of its values): if they are levels of a category, "
                f"{categorical} (categorical = [{name!r}]); if they stand for a missing value, {missing} to read them "
                "as missing"
            )
        parts.append(f"is numbers but for {shown}: {missing} to read them as missing")
    return "; it ".join(parts) + f"; or {categorical}"
