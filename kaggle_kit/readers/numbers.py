"""Text columns that are really numbers: parsed where every value is a number as the [data] keys ``thousands`` and
``decimal`` write them (a unit sign or an accountant's parentheses dropped, with a warning); a column mostly of
numbers written otherwise, or of numbers among a few placeholders (``"?"``), an error naming the values and the
[data] key that reads them; never silently a category with one level per row."""

from __future__ import annotations

import multiprocessing
import re
import warnings
from pathlib import Path

import polars as pl

from ..errors import DataError, DataWarning, name_a_few
from .frames import unclashing
from .headers import header_key, keys_of
from .ids import kept_as_written
from .options import NA_VALUES, ReadOptions, file_key
from .polars_versions import is_in
from .text_files import polars_source

#: Spellings of infinity a numeric text column may hold (read as numbers, then as missing like any infinite value).
_INF_WORDS = ["inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"]


#: Placeholders ("?", "-", "missing") among numbers are named one by one; more distinct non-numbers than this make
#: a text column holding some numbers (ticket codes), which stays text.
_MAX_PLACEHOLDERS = 5


#: Non-numbers holding this share of a mostly-numeric column's values or more are more likely its levels (grades
#: 'A', 'B', '1', '2') than placeholders for a missing value: the error offers data.categorical first.
_LEVELS_SHARE = 0.1


#: Values that stand for a missing value however common ('?', '-', 'n/a' in a parquet file, 'unknown'): never levels.
_MISSING_WORDS = {v.lower() for v in NA_VALUES} | {"missing", "unknown", "none", "nil", "not available", "n.a."}


def _per_file_marks(options: ReadOptions, role: str, mark: str) -> dict[str, str] | None:
    """The data.decimal that reads the file ``role``'s numbers with ``mark`` and the other files' as they are read: one
    mark for all (None), or one per file (a test file written apart from train), as ``{file: mark}``."""
    file = file_key(role)
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
    file = file_key(role)
    return set() if marks is None else {marks.get(other, ".") for other in ("train", "test") if other != file}


#: a number a '.' may group the thousands of (1.500, -12.345.678): 1.5 to a decimal dot, 1500 to a thousands dot
_DOT_GROUPED = r"^[+-]?[0-9]{1,3}(\.[0-9]{3})+$"


def refuse_dots_beside_dot_thousands(frame: pl.DataFrame, path: Path, role: str, names: list[str] | None) -> None:
    """A ','-separated file's numbers read with '.' as their decimal mark while data.thousands = '.' groups thousands
    with it: a value such as '1.500' would be 1.5 here and 1500 in the other files. An error naming the first column
    holding one (2.75 cannot be grouped thousands: read as it is); the first 10,000 rows are looked at."""
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    if not floats:
        return
    source = polars_source(path)
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


def numbers_from_text(
    frame: pl.DataFrame, options: ReadOptions, role: str, path: Path, sep: str | None
) -> pl.DataFrame:
    """Text columns whose values are all numbers (as the options write them) become numbers; a column that is mostly
    numbers written otherwise, or numbers among a few placeholders, is an error naming the values and the fix."""
    # data.categorical, train's text columns and data.drop by a test header's name too (' CODE' is train's 'code')
    text, dropped = keys_of((*options.categorical, *options.text)), keys_of(options.dropped)
    skip = {*kept_as_written(frame.columns, options.keep_text), *(c for c in frame.columns if header_key(c) in text)}
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
    unread = values.filter(as_read.is_null() & ~is_in(values, placeholders[name]))
    parts = [f"holds numbers written like {unread[0]!r}"] if unread.len() else []
    if placeholders.height:
        shown = ", ".join(f"{v!r} ({k} row{'s' * (k > 1)})" for v, k in placeholders.iter_rows())
        parts.append(f"is numbers but for {shown}")
    return (
        " and ".join(parts) + ", which the run's [data] keys (its spec.toml) do not read as numbers or as missing; "
        "`kaggle-kit predict` reads a new file as the run read its files: write these values as the training file "
        "wrote them (a missing value as an empty field)"
    )


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
    tally = unclashing("n", name)  # a column named 'n' clashed with the count
    counted = present.value_counts(name=tally).sort([tally, name], descending=[True, False])
    values, n = counted[name], counted[tally].to_numpy()
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
        share = levels[tally].sum() / n.sum()
        if not parts and share >= _LEVELS_SHARE:  # 'A', 'B' beside '1', '2': a category's levels, not placeholders
            return (
                f"is numbers but for {shown} ({share:.0%} of its values): if they are levels of a category, "
                f"{categorical} (categorical = [{name!r}]); if they stand for a missing value, {missing} to read them "
                "as missing"
            )
        parts.append(f"is numbers but for {shown}: {missing} to read them as missing")
    return "; it ".join(parts) + f"; or {categorical}"
