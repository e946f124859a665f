"""A table file's bytes as text: opened plain, gzipped or from a zip archive; its encoding (a byte order mark,
UTF-8, or a spreadsheet's single-byte export) and where it stops being UTF-8; Excel's ``sep=;`` first line and an
old Mac's carriage-return line ends, which polars does not read, rewritten for it."""

from __future__ import annotations

import codecs
import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DataError
from .archives import is_zip, member_bytes, open_member


def opener(path: Path) -> Any:
    return gzip.open if path.name.endswith(".gz") else open_member if is_zip(path) else open


def polars_source(path: Path) -> Path | io.BytesIO:
    """The file as polars reads it: itself (a .gz one too), or the file a zip archive holds."""
    return io.BytesIO(member_bytes(path)) if is_zip(path) else path


def not_utf8(path: Path) -> str:
    """Where a file stops being UTF-8 and the fix, when data.encoding says UTF-8 (a spreadsheet's cp1252 export)."""
    where = utf8_break(raw_bytes(path))
    if not where:
        return ""
    return f"{where}; the file is not UTF-8: set data.encoding = 'cp1252' (or the file's encoding), or save it as UTF-8"


def utf8_break(raw: bytes) -> str:
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


def open_text(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    if codecs.lookup(encoding).name == "utf-8":  # UTF-8, a BOM or not; or UTF-16 / 32, which a BOM says
        with opener(path)(path, "rb") as f:
            text_encoding = wide_encoding(f.read(4)) or "utf-8-sig"
    else:
        text_encoding = encoding
    with opener(path)(path, "rt", encoding=text_encoding, errors="replace", newline="") as f:
        first = f.readline()
        if first and not SEP_LINE.fullmatch(first):  # Excel's 'sep=;' line is no header (for_polars)
            yield first
        yield from f


#: Excel's first line naming a CSV file's separator ('sep=;'), above its header: neither a header nor a row
SEP_LINE = re.compile("\ufeff?sep=[^\r\n]?(\r\n|\r|\n)")


SEP_LINE_BYTES = re.compile(b"(\xef\xbb\xbf)?sep=([^\r\n]?)(\r\n|\r|\n)")


def has_bom(path: Path) -> bool:
    """Whether the file starts with a UTF-8, -16 or -32 byte order mark, which says its encoding whatever
    data.encoding says (a sample re-saved as Excel's "CSV UTF-8" beside cp1252 train and test files: its first name
    read as 'ï»¿id' in cp1252)."""
    with opener(path)(path, "rb") as f:
        start = f.read(4)
    return start.startswith(codecs.BOM_UTF8) or wide_encoding(start) is not None


def wide_encoding(start: bytes) -> str | None:
    """'utf-16' or 'utf-32' where a file's first bytes are their byte order mark (a spreadsheet's "Unicode text"
    export: UTF-16, tab-separated), else None. Such a file is no UTF-8 and no Windows-1252: read as either, every
    other byte was a NUL in the names and values, and the rows broke at the wrong places."""
    if start.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def header_is_utf8(path: Path) -> bool:
    with opener(path)(path, "rb") as f:
        line = f.readline()
        if SEP_LINE_BYTES.fullmatch(line):  # Excel's 'sep=;' line: the header is the next (a cp1252 'Größe' was
            line = f.readline()  # read as 'Gr\ufffd\ufffde', without a word)
    return not utf8_break(line)


def is_utf8_error(exc: Exception) -> bool:
    return "utf-8" in str(exc).lower() or "utf8" in str(exc).lower()


def raw_bytes(path: Path) -> bytes:
    with opener(path)(path, "rb") as f:
        return bytes(f.read())


def single_byte(raw: bytes) -> tuple[str, str]:
    """(the text, its encoding): Windows-1252 where it decodes the bytes (a spreadsheet's export), else Latin-1 (which
    decodes any byte)."""
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def recoded(path: Path, encoding: str) -> io.BytesIO:
    """The file's text in ``encoding``, as UTF-8 bytes for polars (which reads UTF-8 only); a byte the encoding does
    not define is an error naming the file."""
    try:
        text = raw_bytes(path).decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"the file {str(path)!r} is not {encoding} text (data.encoding): byte {exc.object[exc.start : exc.end]!r} "
            f"at offset {exc.start}; set data.encoding to the file's encoding"
        ) from None
    return io.BytesIO(text.encode("utf-8"))


def ends_lines_with_cr(path: Path) -> bool:
    """Whether the file ends its lines with a carriage return alone (an old Mac's "CSV (Macintosh)" export), which
    polars does not read as line ends: the whole file was one header line, 'a header but no rows', and a sample's
    names ran into its values ('y\\r1')."""
    with opener(path)(path, "rb") as f:
        start = f.read(1 << 16)
    return b"\r" in start and b"\n" not in start


def has_sep_line(path: Path) -> bool:
    """Whether the file's first line is Excel's ``sep=;`` (skipped by every reader)."""
    with opener(path)(path, "rb") as f:
        return SEP_LINE_BYTES.match(f.read(16)) is not None


def for_polars(path: Path, source: Path | io.BytesIO) -> Path | io.BytesIO:
    """``source`` (the file, or its text recoded as UTF-8) as polars can read it: lines that end in a carriage return
    alone ending in a line feed (:func:`ends_lines_with_cr`), and without Excel's ``sep=;`` first line, which the
    text readers skip (:func:`open_text`; it was read as a header of 1 column, and every row named as ragged)."""
    sep_line = has_sep_line(path)
    cr_only = ends_lines_with_cr(path)
    if not (sep_line or cr_only):
        return source
    raw = source.getvalue() if isinstance(source, io.BytesIO) else raw_bytes(source)
    raw = raw[m.end() :] if sep_line and (m := SEP_LINE_BYTES.match(raw)) else raw
    return io.BytesIO(raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if cr_only else raw)


def last_byte(path: Path) -> bytes:
    with opener(path)(path, "rb") as f:
        if not path.name.endswith(".gz") and not is_zip(path):
            f.seek(max(f.seek(0, io.SEEK_END) - 1, 0))
        last = b""
        while chunk := f.read(1 << 16):
            last = chunk[-1:]
    return bytes(last)
