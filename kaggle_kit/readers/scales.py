"""Test columns on another scale than train's: pixels written 0 .. 255 in one file and 0 .. 1 in the other, a
percentage read as 12 from train's ``12%`` beside test's 0.12. Every model reads such a column as other values than
it learnt (a tree splits at 128 where every test value lies below 1), without an error. Told, never refused: from
each numeric column's spread (its 10th to 90th percentile), recorded by the run for a later test file."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import polars as pl

from ..errors import name_a_few

#: Warn when a column's test spread is this many times smaller or larger than its train spread.
SCALE_FACTOR = 30.0
#: Factors named by what usually makes them (the nearer, where the factor found is within 1.6 times it).
_KNOWN = {255.0: "pixels written 0 .. 255 in one file and 0 .. 1 in the other?", 100.0: "a percentage written 12 in "
          "one file and 0.12 in the other, e.g. '12%' read as 12?"}  # fmt: skip
#: Fewer test values than this tell no spread (a few new rows: two outliers among six made a "factor" of 100).
_MIN_VALUES = 20
#: The spread of a column: between these quantiles (an outlier or two aside).
_LOW, _HIGH = 0.1, 0.9
#: The percentiles of a larger frame are read from every k-th row, about this many rows.
_SAMPLE_ROWS = 100_000


def numeric_ranges(frame: pl.DataFrame, columns: Sequence[str], min_values: int = 1) -> dict[str, list[float]]:
    """``[min, 10th percentile, 90th percentile, max]`` of each numeric (not boolean) column of ``columns`` whose
    10th and 90th percentiles differ and that holds ``min_values`` values or more: what :func:`scale_mismatch`
    compares a test file with (``run.json`` records them). One pass over the frame for all the columns; the
    percentiles from every k-th of at most ``_SAMPLE_ROWS`` rows (sorting each column of 1M rows x 100 cost 4.6 s, and
    a run computes them for train, test and each run.json it writes), the min, max and count from every row."""
    schema = frame.schema
    numeric = [c for c in columns if c in schema and schema[c].is_numeric()]
    if not numeric or frame.height < min_values:
        return {}
    ends = frame.select(
        pl.concat_list(pl.col(c).min(), pl.col(c).max(), pl.col(c).count()).cast(pl.List(pl.Float64)).alias(c)
        for c in numeric
    ).row(0)
    rows = frame.select(numeric)
    rows = rows.gather_every(rows.height // _SAMPLE_ROWS) if rows.height >= 2 * _SAMPLE_ROWS else rows
    spreads = rows.select(
        pl.concat_list(pl.col(c).quantile(_LOW), pl.col(c).quantile(_HIGH)).cast(pl.List(pl.Float64)).alias(c)
        for c in numeric
    ).row(0)
    ranges: dict[str, list[float]] = {}
    for c, (lo, hi), (least, most, count) in zip(numeric, spreads, ends, strict=True):
        spread = lo is not None and hi is not None and hi > lo
        if spread and count >= min_values and all(map(math.isfinite, (least, lo, hi, most))):
            ranges[c] = [least, lo, hi, most]
    return ranges


def scale_mismatch(ranges: Mapping[str, Sequence[float]], test: pl.DataFrame, fix: str) -> str | None:
    """A warning's text when test columns' values spread over a range ``SCALE_FACTOR`` times smaller or larger than
    train's ``ranges`` (:func:`numeric_ranges`) and line up with them once scaled (so a column whose test rows
    all hold one of train's values is no mismatch); None where none does. ``fix``: what the user does about it."""
    found = []
    tested = numeric_ranges(test, list(ranges), _MIN_VALUES)
    for col, (t_min, t_lo, t_hi, t_max) in ranges.items():
        if col not in tested:
            continue
        s_min, s_lo, s_hi, s_max = tested[col]
        ratio = (s_hi - s_lo) / (t_hi - t_lo)
        if 1 / SCALE_FACTOR < ratio < SCALE_FACTOR:
            continue
        overlap = min(s_hi / ratio, t_hi) - max(s_lo / ratio, t_lo)  # test's spread scaled back onto train's
        if overlap < 0.5 * (t_hi - t_lo):
            continue
        factor = 1 / ratio if ratio < 1 else ratio
        known = min(_KNOWN, key=lambda k: abs(math.log(factor / k)))  # a small test file's spread is rough
        known = known if abs(math.log(factor / known)) < math.log(1.6) else None
        size = f"1/{known or factor:.3g}" if ratio < 1 else f"{known or factor:.3g} times"
        # no usual factor: as likely test rows that hold a narrower range (a count of days of new customers only)
        why = f": {_KNOWN[known]}" if known else f", or test's rows hold a {'narrower' if ratio < 1 else 'wider'} range"
        found.append(
            f"{col!r} (train {_num(t_min)} .. {_num(t_max)}, test {_num(s_min)} .. {_num(s_max)}: test's values are "
            f"about {size} train's{why})"
        )
    if not found:
        return None
    return (
        f"column(s) {name_a_few(found, 'column(s)', '; ')} hold test values on another scale than train's: the "
        f"models learnt train's values and read test's as other ones, without an error; {fix}"
    )


#: columns numbered alike (``pixel0 .. pixel783``, ``0 .. 783``) of at least this many are pooled by
#: :func:`numbered_scale_mismatch`: an image's pixels, a spectrum's bins, one scale for all of them
_MIN_NUMBERED = 16


def numbered_scale_mismatch(ranges: Mapping[str, Sequence[float]], rows: pl.DataFrame, fix: str) -> str | None:
    """The warning of :func:`scale_mismatch` for a few new ``rows`` (fewer than ``_MIN_VALUES``, which tell no
    column's spread: `kaggle-kit predict` on a handful of images given as pixel columns read 0 .. 1 pixels beside
    training's 0 .. 255 without a word) where columns numbered alike (:data:`_MIN_NUMBERED` or more) hold their
    values together: their pooled range (min .. max, every value) against the training spread of the same columns
    (their lowest 10th .. highest 90th percentile: a training outlier aside), ``SCALE_FACTOR`` times apart. None
    where the rows are enough for the columns' own check, or none is apart. Only columns the rows hold values of
    are pooled, and only where training read them on one scale (``sensor_0 .. sensor_30`` in other units, the widest
    one empty in the new rows or its counter still low, had read as 1/100 train's); new values all whole numbers
    (more than 0 and 1) are not said to be smaller (a few dark pictures on train's 0 .. 255, max 5: a 0 .. 1 picture
    holds fractions, or is 0/1 only)."""
    if rows.height >= _MIN_VALUES:
        return None
    groups: dict[str, list[str]] = {}
    for col in ranges:
        numbered = re.fullmatch(r"(.*?)\d+", col)
        if numbered is not None and col in rows.columns and rows.schema[col].is_numeric():
            groups.setdefault(numbered.group(1), []).append(col)
    found = []
    for cols in groups.values():
        cols = [c for c in cols if rows[c].cast(pl.Float64).is_finite().any()]  # the rows' own: no empty column
        spreads = sorted(ranges[c][2] - ranges[c][1] for c in cols)
        if len(cols) < _MIN_NUMBERED or spreads[-1] > SCALE_FACTOR * spreads[len(spreads) // 2]:
            continue  # too few to be an image's, or not on one scale in training (other units)
        values = rows.select(pl.concat_list(cols).alias("v")).explode("v")["v"].cast(pl.Float64)
        values = values.filter(values.is_finite())
        if values.len() < _MIN_VALUES:
            continue
        t_lo, t_hi = min(ranges[c][1] for c in cols), max(ranges[c][2] for c in cols)
        s_min, s_max = float(values.min()), float(values.max())  # type: ignore[arg-type]
        if s_max <= s_min or t_hi <= t_lo:
            continue
        ratio = (s_max - s_min) / (t_hi - t_lo)
        dark = ratio < 1 and s_max - s_min > 1 and (values == values.round()).all()  # 0 .. 5 on 0 .. 255; 0/1 isn't
        if 1 / SCALE_FACTOR < ratio < SCALE_FACTOR or dark:
            continue
        t_min, t_max = min(ranges[c][0] for c in cols), max(ranges[c][3] for c in cols)
        factor = 1 / ratio if ratio < 1 else ratio
        known = min(_KNOWN, key=lambda k: abs(math.log(factor / k)))
        known = known if abs(math.log(factor / known)) < math.log(1.6) else None
        size = f"1/{known or factor:.3g}" if ratio < 1 else f"{known or factor:.3g} times"
        why = f": {_KNOWN[known]}" if known else ""
        found.append(
            f"{cols[0]!r} .. {cols[-1]!r} ({len(cols)} numbered columns; train {_num(t_min)} .. {_num(t_max)}, these "
            f"rows {_num(s_min)} .. {_num(s_max)}: their values are about {size} train's{why})"
        )
    if not found:
        return None
    return (
        f"column(s) {'; '.join(found)} hold values on another scale than train's: the models learnt train's values "
        f"and read these as other ones, without an error; {fix}"
    )


def _num(value: float) -> str:
    return f"{value:.4g}"
