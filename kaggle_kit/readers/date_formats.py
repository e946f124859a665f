"""Dates written as text: ``03/22/2022``, ``22 Mar 2022``, ``3/22/22 14:05``.

polars reads ISO dates (and ``22.03.2022``) as dates by itself; other spellings stay text, which the models read
as a category with one level per day: the date's signal is lost (a made-up table whose target grew with the date
scored as the baseline). A text column whose every value one of the usual formats (:data:`FORMATS`) reads is parsed
with it, the same format for train, test and any later test file (the run records the formats it found in the
``spec.toml`` beside it, as ``data.date_formats``). Where the day and the month cannot be told apart (no day after
the 12th: ``%m/%d/%Y`` and ``%d/%m/%Y`` read every value, to other dates), the column stays text and a warning names
the setting that reads it. ``data.date_formats`` given in the config is applied as written, to train and test.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import polars as pl

from ..errors import DataError

_MONTH = r"[A-Za-z]{3,9}"  # %B reads abbreviations too
#: (strptime format, the regex every value must match in full) for the usual date spellings polars does not read
DATE_FORMATS: tuple[tuple[str, str], ...] = (
    ("%m/%d/%Y", r"\d{1,2}/\d{1,2}/\d{4}"),
    ("%d/%m/%Y", r"\d{1,2}/\d{1,2}/\d{4}"),
    ("%m/%d/%y", r"\d{1,2}/\d{1,2}/\d{2}"),
    ("%d/%m/%y", r"\d{1,2}/\d{1,2}/\d{2}"),
    ("%Y/%m/%d", r"\d{4}/\d{1,2}/\d{1,2}"),
    ("%m-%d-%Y", r"\d{1,2}-\d{1,2}-\d{4}"),
    ("%d-%m-%Y", r"\d{1,2}-\d{1,2}-\d{4}"),
    ("%d.%m.%Y", r"\d{1,2}\.\d{1,2}\.\d{4}"),
    ("%d.%m.%y", r"\d{1,2}\.\d{1,2}\.\d{2}"),
    ("%d %B %Y", rf"\d{{1,2}} {_MONTH} \d{{4}}"),
    ("%B %d, %Y", rf"{_MONTH} \d{{1,2}}, \d{{4}}"),
    ("%B %d %Y", rf"{_MONTH} \d{{1,2}} \d{{4}}"),
    ("%d-%B-%Y", rf"\d{{1,2}}-{_MONTH}-\d{{4}}"),
    ("%d-%B-%y", rf"\d{{1,2}}-{_MONTH}-\d{{2}}"),
    # ISO, which polars reads itself but for a time zone's name after it (NYC Taxi Fare's '2009-06-15 17:26:21 UTC')
    ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
)
#: a time of day after the date (a space between): (format, regex)
TIMES: tuple[tuple[str, str], ...] = (
    (" %H:%M:%S", r" \d{1,2}:\d{2}:\d{2}"),
    (" %H:%M", r" \d{1,2}:\d{2}"),
    (" %I:%M:%S %p", r" \d{1,2}:\d{2}:\d{2} [AaPp][Mm]"),
    (" %I:%M %p", r" \d{1,2}:\d{2} [AaPp][Mm]"),
    (" %H:%M:%S UTC", r" \d{1,2}:\d{2}:\d{2} UTC"),
)
#: a value must look like one of the formats' dates before any format is tried on the column
_DATE_LIKE = (
    "^("
    + "|".join(
        (r"\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}", rf"\d{{1,2}}[ -]{_MONTH}[ -]\d{{2,4}}", rf"{_MONTH} \d{{1,2}},? \d{{4}}")
    )
    + ")"
)


def dtype_of(fmt: str) -> pl.DataType:
    """What a format reads: a date, or a datetime when it has a time of day."""
    return pl.Datetime("us") if any(d in fmt for d in ("%H", "%I", "%M", "%S")) else pl.Date()


def parse(values: pl.Series, fmt: str) -> pl.Series:
    """``values`` (text) read with ``fmt``; null where a value is no such date. A month's name (``%B``, which reads
    abbreviations too) is read as an abbreviation (``%b``) first and as a full name where that fails: polars 1.33 to
    1.35 stop the whole process (a Rust panic) reading '16 Sep 2020' beside other abbreviations with ``%B``."""
    text, dtype = values.str.strip_chars(), dtype_of(fmt)
    if "%B" not in fmt:
        return text.str.strptime(dtype, fmt, strict=False)  # type: ignore[arg-type]
    short = text.str.strptime(dtype, fmt.replace("%B", "%b"), strict=False)  # type: ignore[arg-type]
    rest = pl.DataFrame({"t": text, "s": short}).select(pl.when(pl.col("s").is_null()).then(pl.col("t"))).to_series()
    return short.fill_null(rest.str.strptime(dtype, fmt, strict=False))  # type: ignore[arg-type]


def apply_formats(frame: pl.DataFrame, formats: Mapping[str, str], role: str) -> pl.DataFrame:
    """The text columns named in ``formats`` parsed with their format; a value the format does not read is an error
    naming the column, the value and the fixes. A column that is a date already, or absent, is left as it is."""
    casts = []
    for col, fmt in formats.items():
        if col not in frame.columns or frame.schema[col] != pl.String:
            continue
        parsed = parse(frame[col], fmt)
        bad = frame[col].filter(parsed.is_null() & frame[col].is_not_null())
        if bad.len():
            raise DataError(
                f"column {col!r} of the {role} rows holds {bad[0]!r} ({bad.len()} value(s)), which the date format "
                f"{fmt!r} (data.date_formats) does not read: fix the format, or add such values to data.na_values"
            )
        casts.append(parsed.alias(col))
    return frame.with_columns(casts) if casts else frame


def found_message(frame: pl.DataFrame, found: Mapping[str, str], where: str = "") -> str:
    """The warning that the text columns ``found`` of ``frame`` (``where``: e.g. " of the test file") are read as
    dates with their formats."""
    shown = ", ".join(f"{c!r} (e.g. {frame[c].drop_nulls()[0]!r}: {f!r})" for c, f in found.items())
    return f"text column(s) {shown}{where} hold dates: read as dates with those formats (data.date_formats sets others)"


def formats_where_dated(frame: pl.DataFrame, dated: Collection[str], warn: Callable[[str], None]) -> dict[str, str]:
    """The formats of a test file's (``frame``) text columns among ``dated`` (columns training read as dates: a file
    written apart, '01/31/2020' beside train's 2020-01-31), where one usual format reads all their values; said with
    ``warn``."""
    found = find_formats(frame.select([c for c in dated if frame.schema.get(c) == pl.String]), ())[0]
    if found:
        warn(found_message(frame, found, " of the test file (dates in train)"))
    return found


def find_formats(frame: pl.DataFrame, skip: Collection[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """For each text column of ``frame`` not in ``skip`` whose every value one of :data:`DATE_FORMATS` reads (with a
    time of day from :data:`TIMES`, or none): ``found`` maps it to that format; ``ambiguous`` maps a column that
    several formats read to different dates (day and month) to those formats."""
    found: dict[str, str] = {}
    ambiguous: dict[str, list[str]] = {}
    for col, dtype in frame.schema.items():
        if dtype != pl.String or col in skip:
            continue
        present = frame[col].drop_nulls().str.strip_chars()
        if present.len() == 0 or not present.head(100).str.contains(_DATE_LIKE).all():
            continue  # a category, a name: told apart on a few values
        distinct: dict[str, pl.Series] = {}  # the formats that read the values to other dates
        for fmt, parsed in _formats_reading(present.unique()):
            if not any(parsed.equals(other) for other in distinct.values()):
                distinct[fmt] = parsed
        if len(distinct) == 1:
            found[col] = next(iter(distinct))
        elif distinct:
            ambiguous[col] = list(distinct)
    return found, ambiguous


#: the years a found format may read: a code such as '13-05-1234' is no date of the year 1234
YEARS = (1800, 2200)


def _formats_reading(values: pl.Series) -> list[tuple[str, pl.Series]]:
    """The formats (a date's, then with a time of day) that read every one of ``values`` as a date in :data:`YEARS`,
    each with the dates it reads."""
    out = []
    for date_fmt, date_re in DATE_FORMATS:
        for time_fmt, time_re in (("", ""), *TIMES):
            if not values.str.contains(f"^{date_re}{time_re}$").all():
                continue
            fmt = date_fmt + time_fmt
            parsed = parse(values, fmt)
            if parsed.null_count() == 0 and YEARS[0] <= parsed.dt.year().min() <= parsed.dt.year().max() <= YEARS[1]:
                out.append((fmt, parsed))
    return out
