"""A CSV file read without polars' date inference where its text can hold no date (readers/tables.py:
``_may_hold_dates``) is the frame the read with it gave: the same dtypes and values, the same error or warnings.

Each file is read twice: as the kit reads it, and as every read was before (``try_parse_dates=True`` over
``INFER_ROWS`` rows, by ``_may_hold_dates`` forced to say "may hold dates"). The layouts that test where the first
rows and the inferred rows end read with those windows made small (3 and 8 rows), so a file of a few rows crosses
them."""

from __future__ import annotations

import gzip
import io
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from kaggle_kit.readers import tables
from kaggle_kit.readers.options import NA_VALUES, ReadOptions
from kaggle_kit.readers.tables import read_table

Outcome = tuple[str, object, list[str]]


def _read(path: Path, role: str, options: ReadOptions | None) -> Outcome:
    """The frame (or the error's text) and the warnings' texts of one read."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame: object = read_table(path, role=role, options=options)
            kind = "frame"
        except Exception as exc:
            frame, kind = f"{type(exc).__name__}: {exc}", "error"
    return kind, frame, [str(w.message) for w in caught]


def _assert_read_as_before(
    path: Path, monkeypatch: pytest.MonkeyPatch, role: str = "train", options: ReadOptions | None = None
) -> Outcome:
    now = _read(path, role, options)
    with monkeypatch.context() as m:
        m.setattr(tables, "_may_hold_dates", lambda frame, overridden: True)
        before = _read(path, role, options)
    assert now[0] == before[0], (now, before)
    assert now[2] == before[2]
    if now[0] == "error":
        assert now[1] == before[1]
    else:
        assert isinstance(now[1], pl.DataFrame) and isinstance(before[1], pl.DataFrame)
        assert now[1].schema == before[1].schema
        assert now[1].equals(before[1])
    return now


def _day(i: int) -> str:
    return f"2020-01-{i % 28 + 1:02d}"


#: a text column's spellings: dates, times and datetimes polars infers (a sign before the year, spaces or a no-break
#: space before them, a 'T', a zone, fractions), those it does not ('05-Jan-2020', single quotes), and a column of
#: them with one value of another kind (a word, a lone '-', a quoted 'NA', a number, a boolean)
SPELLINGS: dict[str, Callable[[int], str]] = {
    "iso": _day,
    "iso_slash": lambda i: _day(i).replace("-", "/"),
    "day_first_dots": lambda i: f"{i % 28 + 1:02d}.01.2020",
    "iso_t": lambda i: f"{_day(i)}T10:{i % 60:02d}:00",
    "iso_fraction": lambda i: f"{_day(i)} 10:{i % 60:02d}:00.123",
    "zulu": lambda i: f"{_day(i)}T10:00:00Z",
    "offset": lambda i: f"{_day(i)}T10:00:00+01:00",
    "zulu_or_naive": lambda i: f"{_day(i)}T10:00:00" + ("Z" if i % 2 else ""),
    "plus_year": lambda i: "+" + _day(i),
    "minus_year": lambda i: "-" + _day(i),
    "spaces_first": lambda i: "  " + _day(i),
    "tab_first": lambda i: "\t" + _day(i),
    "no_break_space_first": lambda i: "\u00a0" + _day(i),
    "space_after": lambda i: _day(i) + " ",
    "quoted": lambda i: f'"{_day(i)}"',
    "quoted_space_first": lambda i: f'" {_day(i)}"',
    "single_quotes": lambda i: f"'{_day(i)}'",
    "month_name": lambda i: f"{i % 28 + 1:02d}-Jan-2020",
    "version": lambda i: f"1.{i % 5}.3",
    "time": lambda i: f"10:{i % 60:02d}",
    "time_fraction": lambda i: f"10:{i % 60:02d}:00.123",
    "times_two_spellings": lambda i: "10:00" if i % 2 else "10:00:05",
    "date_or_word": lambda i: "unknown" if i == 7 else _day(i),
    "date_or_dash": lambda i: "-" if i == 7 else _day(i),
    "date_or_quoted_na": lambda i: '"NA"' if i == 7 else _day(i),
    "date_or_quoted_empty": lambda i: '""' if i == 7 else _day(i),
    "date_or_number": lambda i: "5" if i == 7 else _day(i),
    "date_or_boolean": lambda i: "true" if i == 7 else _day(i),
    "date_or_datetime": lambda i: _day(i) + (" 10:00:00" if i % 2 else ""),
    "word_space_first": lambda i: f" L{i}",
    "code": lambda i: f"A/5 {i}",
}


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("sep", [",", ";"])
def test_each_spelling_is_read_as_with_the_date_inference(
    spelling: str, sep: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = SPELLINGS[spelling]
    lines = [f"id{sep}c{sep}y", *(f"{i}{sep}{value(i)}{sep}{i % 2}" for i in range(12))]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    _assert_read_as_before(tmp_path / "t.csv", monkeypatch)
    _assert_read_as_before(tmp_path / "t.csv", monkeypatch, role="sample")  # no day-first dates kept as text


def _rows(value: Callable[[int], str], n: int = 14) -> str:
    return "id,e,d,y\n" + "".join(f"{i},L{i},{value(i)},{i % 2}\n" for i in range(n))


#: files whose layout decides where the first rows (3 here) and the inferred rows (8) end
LAYOUTS: dict[str, str | bytes] = {
    # the first rows empty, dates after them (and after the inferred rows: text, as before)
    "dates_after_the_first_rows": _rows(lambda i: _day(i) if i >= 4 else ""),
    "dates_after_the_inferred_rows": _rows(lambda i: _day(i) if i >= 8 else ""),
    "numbers_then_dates": _rows(lambda i: _day(i) if i >= 4 else str(i)),
    "words_then_dates": _rows(lambda i: _day(i) if i >= 4 else "w"),
    "times_after_the_first_rows": _rows(lambda i: f"10:{i:02d}" if i >= 4 else ""),
    # a word at the inferred rows' last row, and just after it (dates to polars, then an error: as before)
    "word_at_the_last_inferred_row": _rows(lambda i: "x" if i == 7 else _day(i)),
    "word_after_the_inferred_rows": _rows(lambda i: "x" if i == 8 else _day(i)),
    "word_after_the_inferred_rows_the_first_rows_empty": _rows(lambda i: "" if i < 3 else "x" if i == 8 else _day(i)),
    # a date column's bad value before a number column's: the error names the date column, as before (the read
    # without the date inference met the number column's first)
    "a_bad_date_before_a_bad_number": "id,e,d,y\n"
    + "".join(f"{i},{'y' if i == 11 else i},{'' if i < 3 else 'x' if i == 9 else _day(i)},1\n" for i in range(14)),
    "number_column_with_a_word_after": "id,e,d,y\n" + "".join(f"{i},{'x' if i == 9 else i},L,1\n" for i in range(14)),
    "blank_lines": "id,e,d,y\n"
    + "".join(f"{i},L,{'x' if i == 6 else _day(i)},1\n" if i != 2 else "\n" for i in range(14)),
    "quoted_line_ends": "id,e,d,y\n"
    + "".join(f'{i},"a\nb",{"x" if i == 7 else _day(i)},1\n' if i < 3 else f"{i},L,{_day(i)},1\n" for i in range(14)),
    "header_repeated": _rows(lambda i: _day(i) if i >= 4 else "") + "id,e,d,y\n" + "3,L,2020-02-01,0\n",
    "day_first_dates": _rows(lambda i: f"{i % 28 + 1:02d}/01/2020"),
    "day_first_dates_later": _rows(lambda i: f"{i % 28 + 1:02d}/01/2020" if i >= 4 else ""),
    "ragged_first_rows": _rows(lambda i: _day(i)).replace("\n1,L1,", "\n1,L1,extra,", 1),
    "header_only": "id,e,d,y\n",
    "one_column": "d\n" + "".join(f"{_day(i) if i >= 4 else ''}\n" for i in range(14)),
    "excel_sep_line": "sep=;\n" + _rows(lambda i: _day(i) if i >= 4 else "").replace(",", ";"),
    "old_mac_line_ends": _rows(lambda i: _day(i) if i >= 4 else "").replace("\n", "\r"),
    "windows_1252": _rows(lambda i: _day(i) if i >= 4 else "").replace("L1,", "Gr\u00f6\u00dfe,").encode("cp1252"),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("role", ["train", "sample"])
def test_each_layout_is_read_as_with_the_date_inference(
    layout: str, role: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "_TOP_ROWS", 3)
    monkeypatch.setattr(tables, "INFER_ROWS", 8)
    text = LAYOUTS[layout]
    path = tmp_path / "t.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    _assert_read_as_before(path, monkeypatch, role=role)


def test_the_layouts_read_dates_where_polars_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The layouts above test what they name: dates after the first rows are dates, after the inferred rows text; a
    word within the inferred rows makes the column text, and so does one after them (polars stops there with "could
    not parse `x` as dtype `date`": the kit reads that column again as text, as NYC Taxi Fare's `... UTC` dates)."""
    monkeypatch.setattr(tables, "_TOP_ROWS", 3)
    monkeypatch.setattr(tables, "INFER_ROWS", 8)
    kinds = {}
    for layout in ("dates_after_the_first_rows", "dates_after_the_inferred_rows", "word_at_the_last_inferred_row"):
        (tmp_path / f"{layout}.csv").write_text(str(LAYOUTS[layout]))
        kinds[layout] = read_table(tmp_path / f"{layout}.csv", role="train").schema["d"]
    assert kinds == {
        "dates_after_the_first_rows": pl.Date,
        "dates_after_the_inferred_rows": pl.String,
        "word_at_the_last_inferred_row": pl.String,
    }
    (tmp_path / "late_word.csv").write_text(str(LAYOUTS["word_after_the_inferred_rows"]))
    late = read_table(tmp_path / "late_word.csv", role="train")["d"]
    assert late.dtype == pl.String and late[8] == "x"


@pytest.mark.parametrize("packed", ["gz", "zip"])
def test_a_packed_file_is_read_as_with_the_date_inference(
    packed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zipped file is read from one buffer several times (the first rows, the whole file, the file with the date
    inference): each read from its start."""
    monkeypatch.setattr(tables, "_TOP_ROWS", 3)
    monkeypatch.setattr(tables, "INFER_ROWS", 8)
    text = _rows(lambda i: _day(i) if i >= 4 else "")
    if packed == "gz":
        path = tmp_path / "t.csv.gz"
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path = tmp_path / "t.csv.zip"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("t.csv", text)
    now = _assert_read_as_before(path, monkeypatch)
    assert isinstance(now[1], pl.DataFrame) and now[1].schema["d"] == pl.Date and now[1].height == 14


@pytest.mark.parametrize(
    "options",
    [
        ReadOptions(keep_text=("d",), ids=("d",)),  # an id column spelled as dates: text, not read as dates
        ReadOptions(text=("e",)),  # train's text column that this file writes as numbers
        ReadOptions(na_values=("-",)),
        ReadOptions(decimal=",", separator=";"),
    ],
)
def test_the_read_options_read_as_with_the_date_inference(
    options: ReadOptions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "id;e;d;x;y\n" + "".join(
        f"{i};{i};{'-' if i == 3 else _day(i) if i >= 4 else ''};{i},5;{i % 2}\n" for i in range(14)
    )
    (tmp_path / "t.csv").write_text(text if options.separator else text.replace(";", ",").replace(",5,", ".5,"))
    monkeypatch.setattr(tables, "_TOP_ROWS", 3)
    _assert_read_as_before(tmp_path / "t.csv", monkeypatch, options=options)


def test_a_file_without_dates_is_the_frame_polars_date_inference_reads(tmp_path: Path) -> None:
    """Against polars itself, not the kit's own read: a file of text that holds no date is read as
    ``pl.read_csv(try_parse_dates=True, infer_schema_length=100_000)`` reads it."""
    lines = ["id,code,sex,ticket,when,y"]
    lines += [
        f"{i},L{i % 7},{'male' if i % 2 else 'female'},A/5 {i},{'' if i < 1_200 else _day(i)},{i % 2}"
        for i in range(1_300)
    ]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    kit = read_table(tmp_path / "t.csv", role="sample")
    source = io.BytesIO((tmp_path / "t.csv").read_bytes())
    polars = pl.read_csv(source, try_parse_dates=True, infer_schema_length=100_000, null_values=NA_VALUES)
    assert kit.schema == polars.schema and kit.equals(polars)
    assert kit.schema["when"] == pl.Date and kit.schema["code"] == pl.String
