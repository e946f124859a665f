"""Sequences given as long tables (``[data.sequences]``) -> one row per id, joined onto the train and test frames.

A long table has one row per id and step (Kaggle's sensor layout: ``series_id, measurement_number, sensor_1, ...``).
Each id becomes one row holding

* the steps side by side, ``<column>__t<k>`` for ``k = 0..T-1`` (step-major, missing after a sequence's end):
  what ``rnn`` / ``cnn1d`` read, their ``sequence_shape`` inferred from these names;
* per-id statistics ``<column>__<stat>`` and ``n_steps`` (``data.sequences.aggregates``): what trees read.

Train and test get the same ``T`` (``max_len``, else the longest sequence of either), so a net fitted on train reads
the test rows. With ``layout = "streamed"`` (long or many sequences) there are no step columns: the steps stay end to
end in a :class:`~kaggle_kit.features.sequence_store.SequenceStore` (train ids, then test ids) that the run saves in
its folder and memory-maps, each row holding its position in it (column ``__sequence``, not a feature); the
statistics are computed the same way, and the nets pad each batch to its own longest sequence.

The labels come from ``data.train`` (one row per id) or, when that is the long table itself, from the long table
(then the target must be constant within each id). The test ids come from ``data.test`` when given,
else from the test long table, in order of first appearance.

From a notebook, join the long frames yourself and run on the result::

    train, test = join_sequences(spec, train_long, test_long, labels=labels)   # labels=None: in train_long
    result = kaggle_kit.run(spec, train=train, test=test)

(or ``prepare_competition(spec, labels, None, sequences=(train_long, test_long))`` for the checked data).
"""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import polars as pl

from ..config import CompetitionSpec, SequenceSpec
from ..errors import ConfigError, DataError, DataWarning, allowed, did_you_mean
from ..features.sequence import STEP_COLUMN, as_frame, sequence_aggregates, sequence_wide
from ..features.sequence_store import SEQUENCE_ROW, SequenceStore, build_sequence_store, concat_stores
from .date_formats import apply_formats, find_formats, found_message
from .frames import unclashing

#: the most step columns (steps x sequence columns) the wide layout builds: past it, laying them side by side takes
#: minutes (``init`` proposes ``layout = "streamed"`` past 5,000 already)
MAX_STEP_COLUMNS = 20_000
#: a time of day written as text (``9:59``, ``10:00:05``, ``10:00:05.25``): a step column of them is ordered as times
TIME_OF_DAY = r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?\s*$"


def join_sequences(
    spec: CompetitionSpec,
    train_long: Any,
    test_long: Any = None,
    *,
    labels: pl.DataFrame | None = None,
    test_ids: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The train (and test) frames of a sequence competition, one row per id: id, target (train only), the other
    columns of ``labels`` / ``test_ids``, the step columns and the aggregate columns.

    ``labels``: the table of ``data.train`` (id and target, one row per id); None when the target is a column of
    ``train_long``. ``test_ids``: the table of ``data.test``; None to take the ids from ``test_long``. A streamed
    layout keeps the steps in a store these frames alone do not carry: read it with :func:`read_sequences`.
    """
    if _sequence_spec(spec).layout == "streamed":
        raise ConfigError(
            'data.sequences.layout = "streamed" keeps the steps in a store beside the frames: read them with '
            "kaggle_kit.readers.sequences.read_sequences(...) (frames and store), or prepare_competition(spec, "
            "labels, test, sequences=(train_long, test_long)), or run from the spec's files"
        )
    spec = step_dates(spec, train_long, lambda message: warnings.warn(message, DataWarning, stacklevel=4))
    train, test, _ = read_sequences(spec, train_long, test_long, labels=labels, test_ids=test_ids)
    return train, test


def read_sequences(
    spec: CompetitionSpec,
    train_long: Any,
    test_long: Any = None,
    *,
    labels: pl.DataFrame | None = None,
    test_ids: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame | None, SequenceStore | None]:
    """:func:`join_sequences`'s frames and, for ``layout = "streamed"``, the store of their sequences (train ids
    in the train frame's order, then the test ids), each row's position in it in column ``__sequence`` and no step
    columns: the ``ids x steps`` array is never built."""
    d, s = spec.data, _sequence_spec(spec)
    key = s.id or d.id
    assert d.id is not None and key is not None  # DataSpec requires data.id with data.sequences
    train_long = _check_long(as_frame(train_long), s, key, "train", d.date_formats)
    columns = _sequence_columns(train_long, s, key, spec)
    if test_long is not None:
        test_long = _check_test_long(test_long, s, key, columns, d.date_formats)
    elif test_ids is not None:
        raise DataError(
            "test ids were given (data.test) but no test long table: pass the test sequences too "
            "(data.sequences.test, or sequences=(train_long, test_long))"
        )

    if labels is None:
        labels = _labels_from_long(train_long, key, d.id, d.target)
    else:
        labels = _check_id_table(labels, d.id, "train")
        train_long = _rows_of(labels, train_long, d.id, key, "train")
    if test_long is not None:
        test_long, test_ids = _test_rows(test_long, test_ids, d.id, key)

    if s.layout == "streamed":
        store = build_sequence_store(
            train_long, key, columns, ids=labels[d.id], order_by=s.order_by, max_len=s.max_len, keep=s.keep
        )
        train = _join(labels, _streamed(train_long, s, key, columns, labels[d.id], 0), d.id, key, "data.train")
        test = None
        if test_long is not None and test_ids is not None:
            test_store = build_sequence_store(
                test_long, key, columns, ids=test_ids[d.id], order_by=s.order_by, max_len=s.max_len, keep=s.keep
            )
            features = _streamed(test_long, s, key, columns, test_ids[d.id], store.n)
            test = _join(test_ids, features, d.id, key, "data.test")
            store = concat_stores(store, test_store)
        return train, test, store

    lengths = [_longest(frame, key) for frame in (train_long, test_long) if frame is not None]
    n_steps = s.max_len or max(lengths)
    frames = [(r, f) for r, f in (("train", train_long), ("test", test_long)) if f is not None]
    _check_wide(n_steps, len(columns), frames, key, s.max_len)
    train = _join(labels, _features(train_long, s, key, columns, n_steps), d.id, key, "data.train")
    test = None
    if test_long is not None and test_ids is not None:
        test = _join(test_ids, _features(test_long, s, key, columns, n_steps), d.id, key, "data.test")
    return train, test, None


def read_test_sequences(
    spec: CompetitionSpec,
    test_long: Any,
    layout: dict[str, Any],
    *,
    test_ids: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, SequenceStore | None]:
    """New test rows (``kaggle-kit predict``), one per id, joined as :func:`join_sequences` joins a run's test rows
    (same checks and messages) with the run's ``layout`` (:func:`sequence_layout`: its sequence columns and number
    of steps ``T``), so the nets read the same ``(T, F)`` as in training; a test sequence longer than ``T`` keeps
    ``data.sequences.keep`` ``T`` steps (as ``max_len`` would), with a warning. For a run whose ``layout`` is
    streamed, also the store of the new sequences (the frame's ``__sequence`` column holds positions in it):
    streamed, any length is read as it is (the nets take any length), cut to ``data.sequences.max_len`` when the
    spec sets one."""
    d, s = spec.data, _sequence_spec(spec)
    key = s.id or d.id
    assert d.id is not None and key is not None  # DataSpec requires data.id with data.sequences
    columns = list(layout["columns"])
    checked = _check_test_long(test_long, s, key, columns, d.date_formats)
    test_long, test_ids = _test_rows(checked, test_ids, d.id, key)
    if layout.get("layout", "wide") == "streamed":
        store = build_sequence_store(
            test_long, key, columns, ids=test_ids[d.id], order_by=s.order_by, max_len=s.max_len, keep=s.keep
        )
        features = _streamed(test_long, s, key, columns, test_ids[d.id], 0)
        return _join(test_ids, features, d.id, key, "data.test"), store
    n_steps = int(layout["n_steps"])
    longest = _longest(test_long, key)
    if longest > n_steps and s.max_len is None:
        warnings.warn(
            f"test sequences of up to {longest} steps are longer than the {n_steps} steps the run's models read; "
            f"their {s.keep} {n_steps} steps are kept (data.sequences.keep), the statistics use every step",
            DataWarning,
            stacklevel=2,
        )
    return _join(test_ids, _features(test_long, s, key, columns, n_steps), d.id, key, "data.test"), None


def sequence_layout(
    spec: CompetitionSpec, train: pl.DataFrame, store: SequenceStore | None = None
) -> dict[str, Any] | None:
    """``{"columns": [...], "n_steps": T}`` of the step columns of a joined ``train`` frame (None without
    ``[data.sequences]``): the run records it so that ``predict`` joins new test sequences to the same shape.
    Streamed (``store`` given): ``{"layout": "streamed", "columns": [...]}``, the store's columns."""
    if spec.data.sequences is None:
        return None
    if store is not None:
        return {"layout": "streamed", "columns": list(store.columns)}
    steps = [m for m in map(STEP_COLUMN.fullmatch, train.columns) if m]
    columns = list(dict.fromkeys(m.group(1) for m in steps))
    return {"columns": columns, "n_steps": max((int(m.group(2)) for m in steps), default=-1) + 1}


def _check_test_long(
    test_long: Any, s: SequenceSpec, key: str, columns: list[str], formats: Mapping[str, str]
) -> pl.DataFrame:
    test_long = _check_long(as_frame(test_long), s, key, "test", formats)
    empty = [c for c in columns if c in test_long.columns and test_long[c].null_count() == test_long.height]
    if empty:  # a CSV column with no value reads as text: the columns' check would call it not numeric
        warnings.warn(
            f"sequence column(s) {allowed(empty)} of {_where('test')} are empty in every row but have values in "
            "train: the models learn from values they never see at test time; leave them out of "
            "data.sequences.columns (or fix the test long table)",
            DataWarning,
            stacklevel=4,
        )
        test_long = test_long.with_columns(pl.col(c).cast(pl.Float64) for c in empty)
    _check_columns_in(test_long, columns, "test")
    return test_long


def _test_rows(
    test_long: pl.DataFrame, test_ids: pl.DataFrame | None, id_column: str, key: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The test ids (``data.test``, else the long table's in order of first appearance) and their long rows."""
    if test_ids is None:
        return test_long, test_long.select(pl.col(key).unique(maintain_order=True).alias(id_column))
    test_ids = _check_id_table(test_ids, id_column, "test")
    return _rows_of(test_ids, test_long, id_column, key, "test"), test_ids


def check_joined(spec: CompetitionSpec, train: pl.DataFrame | None) -> pl.DataFrame:
    """``train`` when it already holds the step columns (e.g. frames :func:`join_sequences` made, passed to
    ``run(spec, train=..., test=...)``), or, streamed, the ``__sequence`` column (a run's worker processes, which
    read the store from the run folder); else a :class:`DataError` saying how to pass the long tables."""
    streamed = _sequence_spec(spec).layout == "streamed"
    if train is not None and streamed and SEQUENCE_ROW in train.columns:
        return train
    if train is not None and not streamed and any(STEP_COLUMN.fullmatch(c) for c in train.columns):
        return train
    if streamed:
        raise DataError(
            'data.sequences.layout = "streamed": give the long tables, prepare_competition(spec, labels, test, '
            "sequences=(train_long, test_long)), or run from the spec's files"
        )
    raise DataError(
        "the spec has data.sequences but the train frame given holds no step columns ('<column>__t0', ...): pass "
        "the long tables, prepare_competition(spec, labels, test, sequences=(train_long, test_long)), or join them "
        "first with kaggle_kit.readers.sequences.join_sequences(spec, train_long, test_long, labels=labels)"
    )


# ---------------------------------------------------------------------------------------------- checks
def _sequence_spec(spec: CompetitionSpec) -> SequenceSpec:
    if spec.data.sequences is None:
        raise ConfigError(
            "the spec has no [data.sequences] table: set data.sequences (train, test, order_by, ...) to read long "
            "tables, or pass the one-row-per-id frames without sequences"
        )
    return spec.data.sequences


def _where(role: str) -> str:
    return f"the {role} long table (data.sequences.{role})"


def step_dates(spec: CompetitionSpec, train_long: Any, warn: Callable[[str], None]) -> CompetitionSpec:
    """``spec`` with the date format of the train long table's step column (``data.sequences.order_by``) in
    ``data.date_formats`` where the steps are dates written as text (``03/22/2022 14:05``; the run records it, and
    the test long tables, a later one too, are read with it): as text they would sort '01/02/2021' before
    '12/01/2020'. Where day and month cannot be told apart the order is unknown: an error naming the setting."""
    s, d = spec.data.sequences, spec.data
    train_long = as_frame(train_long)
    if s is None or s.order_by is None or s.order_by in d.date_formats or s.order_by not in train_long.columns:
        return spec
    found = _step_format(train_long, s.order_by, "train")
    if found is None:
        return spec
    warn(found_message(train_long, {s.order_by: found}, f" of {_where('train')}"))
    data = d.model_copy(update={"date_formats": {**d.date_formats, s.order_by: found}})
    return spec.model_copy(update={"data": data})


def _step_format(frame: pl.DataFrame, column: str, role: str) -> str | None:
    """The one usual date format that reads every (text) step of ``frame``; None where the steps are no text dates;
    an error where day and month cannot be told apart."""
    if frame.schema[column] != pl.String:
        return None
    found, ambiguous = find_formats(frame.select(column), ())
    if column in ambiguous:
        fmts = ambiguous[column]
        raise DataError(
            f"the step column {column!r} (data.sequences.order_by) of {_where(role)} holds dates that read as "
            f"{' and as '.join(repr(f) for f in fmts)}, in other orders (no day after the 12th): set "
            f"data.date_formats = {{ {column} = {fmts[0]!r} }} (or another of them)"
        )
    return found.get(column) or _offset_format(frame[column])


#: ISO dates and times with a UTC offset (``2018-11-04T01:30:00-0400``: Child Mind Institute's timestamps), which
#: the usual formats do not read: sorted as text, a night whose clocks fall back put 01:15-0500 before 01:30-0400.
#: ``%.f`` reads seconds with or without a fraction, ``%#z`` an offset with or without its colon and ``Z`` (``%z``
#: reads no ``Z``: such steps were sorted as text, 05:30:00.5Z before 05:30:00Z), in train and in any later test
_OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
#: an ISO date with a time of day, and a UTC offset at its end: ``+05:30``, ``+0530``, ``+05`` (hours alone, as
#: PostgreSQL writes a whole-hour offset beside India's ``+05:30``), ``Z`` (``z``, RFC 3339), `` UTC``
_ISO_TIME, _OFFSET_END = r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}", r"(?:[+-]\d{2}(?::?\d{2})?|[Zz]| ?UTC)$"


def _offset_format(steps: pl.Series) -> str | None:
    """The format of :data:`_OFFSET_FORMATS` that reads every step (in UTC, so in time order), else None."""
    values = steps.drop_nulls()
    if not values.len() or not values.str.contains(_OFFSET_END).all():  # +05 and z too (%#z reads them)
        return None
    for fmt in _OFFSET_FORMATS:
        if values.str.to_datetime(format=fmt, strict=False, time_zone="UTC").null_count() == 0:
            return fmt
    return None


def _check_long(frame: pl.DataFrame, s: SequenceSpec, key: str, role: str, formats: Mapping[str, str]) -> pl.DataFrame:
    where = _where(role)
    if frame.height == 0:
        raise DataError(f"{where} has no rows")
    id_key = "data.sequences.id" if s.id else "data.id"
    for name, col in ((id_key, key), ("data.sequences.order_by", s.order_by)):
        if col is not None and col not in frame.columns:
            raise DataError(
                f"{name} = {col!r} is not a column of {where}.{did_you_mean(col, frame.columns)} "
                f"Columns: {frame.columns[:20]}{' ...' if frame.width > 20 else ''}"
            )
    nulls = frame[key].null_count()
    if nulls:
        raise DataError(f"the id column {key!r} of {where} has {nulls} missing value(s); every row needs its id")
    if s.order_by is not None:
        frame = _steps_in_order(frame, s.order_by, role, formats, key)
        steps = frame[s.order_by]
        missing = steps.null_count() + (int(steps.is_nan().sum()) if steps.dtype.is_float() else 0)
        if missing:  # a NaN step (a float column from parquet or a frame) sorted after every step, without a word
            raise DataError(
                f"the step column {s.order_by!r} (data.sequences.order_by) of {where} has {missing} missing (or NaN) "
                "value(s); every row needs its step"
            )
        pairs = frame.select(key, s.order_by)
        repeated = pairs.filter(pairs.is_duplicated())
        if repeated.height:
            first = repeated.row(0, named=True)
            raise DataError(
                f"{where} has {repeated.unique().height} ({key}, {s.order_by}) pair(s) on more than one row, e.g. "
                f"id {first[key]!r} step {first[s.order_by]!r}; each step of a sequence must appear once"
            )
        _warn_gaps(frame, key, s.order_by, role)
    return frame


def _warn_gaps(frame: pl.DataFrame, key: str, step: str, role: str) -> None:
    """A warning when whole-number steps that number most sequences' rows ``a, a+1, ...`` skip some in others: the
    steps are laid side by side in order, so after a gap ``<column>__t<k>`` (and a net's position ``k``) holds a
    later step than that of the sequences without one. Steps of other kinds (times, irregular counts: no sequence
    numbered without gaps) are taken as they are."""
    if not frame.schema[step].is_integer() or multiprocessing.parent_process() is not None:
        return
    n, lo, hi = (unclashing(name, key) for name in ("n", "lo", "hi"))  # a sequence id 'n' clashed with the count
    spans = frame.group_by(key, maintain_order=True).agg(
        pl.len().alias(n), pl.col(step).min().alias(lo), pl.col(step).max().alias(hi)
    )
    gaps = spans.filter(pl.col(hi) - pl.col(lo) + 1 != pl.col(n))
    several = int((spans[n] > 1).sum())  # a sequence of one step numbers its rows whatever its step: no evidence
    if not gaps.height or 2 * gaps.height > several:  # most sequences with gaps: the steps are no row numbers
        return
    first = gaps.row(0, named=True)
    missing = first[hi] - first[lo] + 1 - first[n]
    warnings.warn(
        f"{gaps.height} of the {spans.height} sequences of {_where(role)} miss steps of {step!r} (e.g. id "
        f"{first[key]!r}: {missing} of its steps {first[lo]}..{first[hi]}): the steps are laid side by side in "
        "order, so after a gap a sequence's position k holds a later step than the others' position k; add the "
        "missing steps as rows with empty values where positions matter",
        DataWarning,
        stacklevel=5,
    )


def _refuse_offsets_mixed(steps: pl.Series, column: str, role: str) -> None:
    """ISO times some written with a UTC offset and some without: a time without one names no instant (local time?
    UTC?), so no order of a sequence's steps is right by construction; read as text they were sorted as text (with a
    warning), 03:00-0400 (07:00 UTC) before 05:30+0000, and a test long table read with train's offset format was
    refused with advice that does not fit (``data.na_values``). Refused, naming both kinds."""
    values = steps.drop_nulls()
    if not values.len() or not values.str.contains(_ISO_TIME).all():
        return
    with_offset = values.str.contains(_OFFSET_END)
    n_with = int(with_offset.sum())
    if n_with in (0, values.len()):
        return
    first_with, first_without = values.filter(with_offset)[0], values.filter(~with_offset)[0]
    raise DataError(
        f"the step column {column!r} (data.sequences.order_by) of {_where(role)} mixes times with a UTC offset (e.g. "
        f"{first_with!r}, {n_with:,} value(s)) and times without one (e.g. {first_without!r}, "
        f"{values.len() - n_with:,} value(s)): a time without an offset names no instant (local time or UTC?), so "
        "the steps of a sequence cannot be put in time order; write every step with its offset (or Z for UTC), or "
        "every step without one"
    )


def _steps_in_order(frame: pl.DataFrame, column: str, role: str, formats: Mapping[str, str], key: str) -> pl.DataFrame:
    """The step column as dates where they are text dates: read with ``formats``' format (:func:`step_dates`), or
    with the one this table's steps give where the run recorded none (a run on frames joined in a notebook). Times of
    day (text, or polars' ``Time``) as seconds since midnight, a sequence that crosses midnight read on past it
    (:func:`_past_midnight`). Other text is sorted as text, said once."""
    main = multiprocessing.parent_process() is None
    if frame.schema[column] == pl.Time:  # polars read '23:59:58', '00:00:02' as times: 00:00:02 sorted first
        seconds, crossing = _past_midnight(frame.select(key, pl.col(column).cast(pl.Int64) / 1e9), key, column)
        if not crossing:
            return frame
        if main:
            warnings.warn(_midnight_message(column, role, crossing), DataWarning, stacklevel=4)
        return frame.with_columns(seconds)
    if frame.schema[column] != pl.String:
        return frame
    _refuse_offsets_mixed(frame[column], column, role)
    fmt = formats.get(column) or _step_format(frame, column, role)
    if fmt is not None:
        if column not in formats and main:
            warnings.warn(found_message(frame, {column: fmt}, f" of {_where(role)}"), DataWarning, stacklevel=4)
        return apply_formats(frame, {column: fmt}, f"{role} long table")
    values = frame[column].drop_nulls()
    if values.len() and values.str.contains(TIME_OF_DAY).all():  # '9:59:00' before '10:00:05', not after
        part = pl.col(column).str.extract_groups(TIME_OF_DAY)
        seconds = (
            part.struct[0].cast(pl.Float64) * 3600
            + part.struct[1].cast(pl.Float64) * 60
            + part.struct[2].cast(pl.Float64).fill_null(0.0)
        )
        read, crossing = _past_midnight(frame.select(key, seconds.alias(column)), key, column)
        if main:
            warnings.warn(
                f"the step column {column!r} (data.sequences.order_by) of {_where(role)} holds times of day written "
                f"as text (e.g. {values[0]!r}): ordered as times (read as seconds since midnight)"
                + (f"; {_midnight_message(column, role, crossing, said=True)}" if crossing else ""),
                DataWarning,
                stacklevel=4,
            )
        return frame.with_columns(read)
    if main:
        example = frame[column].drop_nulls().head(1).to_list()
        warnings.warn(
            f"the step column {column!r} (data.sequences.order_by) of {_where(role)} holds text "
            f"(e.g. {example[0] if example else ''!r}): the steps are sorted as text ('10' before '9'); write them as "
            "numbers or dates, or set data.date_formats for dates",
            DataWarning,
            stacklevel=4,
        )
    return frame


#: a pause within a sequence of times of day longer than this, and over 4 times the one across midnight were the
#: sequence to cross it, is taken for midnight crossed: a sequence of 22:00 .. 02:00 read as seconds since midnight
#: spans 00:00 .. 23:59, its times pausing for 20 hours between 02:00 and 22:00, where they would step over midnight
#: as over any other minute. (06:00 .. 20:00 pauses 10 hours across midnight: kept; 07:00, 20:00 too, ambiguous.)
_HALF_DAY = 12 * 3600.0


#: how many sequences cross midnight, and the first one's id, first and last time (seconds since midnight)
_Crossing = tuple[int, Any, float, float]


def _past_midnight(seconds: pl.DataFrame, key: str, column: str) -> tuple[pl.Series, _Crossing | None]:
    """``seconds``' step column (the ids and their steps as seconds since midnight) with the times of a sequence that
    crosses midnight read on past it: where a sequence's times, sorted, pause as :data:`_HALF_DAY` says, the times
    before the pause (``00:00:02``) are the next day's (+ 24 hours), after the ones after it (``23:59:58``).
    Also how many sequences were so read and the first of them (in row order); None when none."""
    if (seconds[column].max() or 0.0) > 2 * _HALF_DAY:  # type: ignore[operator]
        return seconds[column], None  # '33:00': no time of day (minutes and seconds, or hours of a duration)
    ordered = seconds.with_row_index("__row").sort(key, column)
    pause = ordered.with_columns(pl.col(column).diff().over(key).fill_null(0.0).alias("__pause"))
    spans = pause.group_by(key, maintain_order=True).agg(
        pl.col("__pause").max().alias("__longest"),
        pl.col(column).get(pl.col("__pause").arg_max()).alias("__start"),
        pl.col(column).get((pl.col("__pause").arg_max().cast(pl.Int64) - 1).clip(0)).alias("__end"),  # 0: no pause
        (2 * _HALF_DAY - pl.col(column).max() + pl.col(column).min()).alias("__across"),
        pl.col("__row").min().alias("__row"),
    )
    crossing = spans.filter((pl.col("__longest") > _HALF_DAY) & (pl.col("__longest") > 4 * pl.col("__across")))
    crossing = crossing.sort("__row")
    if not crossing.height:
        return seconds[column], None
    moved = seconds.join(crossing.select(key, "__start"), on=key, how="left", maintain_order="left")
    day = pl.when(pl.col(column) < pl.col("__start")).then(pl.col(column) + 2 * _HALF_DAY).otherwise(pl.col(column))
    first = crossing.row(0, named=True)
    return moved.select(day.alias(column))[column], (crossing.height, first[key], first["__start"], first["__end"])


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _midnight_message(column: str, role: str, crossing: _Crossing, *, said: bool = False) -> str:
    n, key, start, end = crossing
    where = "" if said else f"the step column {column!r} (data.sequences.order_by) of {_where(role)}: "
    return (
        f"{where}{n} sequence(s) cross midnight (e.g. id {key!r}: {_clock(start)} .. {_clock(end)}; their times "
        "pause for over 12 hours otherwise), read on past it (the times after midnight follow the ones before); "
        "write the steps with their dates if a sequence's steps lie further apart"
    )


def _sequence_columns(frame: pl.DataFrame, s: SequenceSpec, key: str, spec: CompetitionSpec) -> list[str]:
    where = _where("train")
    if s.columns is None:
        reserved = {key, s.order_by, spec.data.target, spec.data.id, *spec.data.drop}
        columns = [c for c in frame.columns if c not in reserved and frame.schema[c].is_numeric()]
        if not columns:
            raise DataError(
                f"{where} has no numeric column besides the id, step and target; columns: {frame.columns[:20]}"
            )
        _warn_left_out(frame, [c for c in frame.columns if c not in reserved and c not in columns])
        return columns
    _check_columns_in(frame, s.columns, "train")
    return list(s.columns)


def _warn_left_out(frame: pl.DataFrame, others: list[str]) -> None:
    """A warning naming the columns with values that :func:`_sequence_columns` leaves out for not being numbers (an
    event type as text, a flag as booleans, a second timestamp): with ``columns`` unset they vanished from the nets'
    steps and the statistics without a word. A column empty in every row holds nothing to lose. Text that reads
    as numbers in every row (a frame given to the API; files are read as numbers, or refused, before) is said so."""
    lost = [c for c in others if frame[c].null_count() < frame.height]
    if not lost or multiprocessing.parent_process() is not None:
        return
    kinds = ", ".join(f"{c!r} ({_kind(frame[c])})" for c in lost[:5]) + (" ..." if len(lost) > 5 else "")
    warnings.warn(
        f"column(s) {kinds} of {_where('train')} are not numbers, so the sequences leave them out (no step columns, "
        "no statistics); encode them as numbers (categories as codes, flags as 0/1; numbers written as text cast "
        "to numbers), or set data.sequences.columns to the columns meant",
        DataWarning,
        stacklevel=5,
    )


def _kind(values: pl.Series) -> str:
    """``values``' type, for text that reads as numbers in every row ``String: numbers written as text``."""
    if values.dtype == pl.String and values.str.strip_chars().cast(pl.Float64, strict=False).null_count() == (
        values.null_count()
    ):
        return "String: numbers written as text"
    return str(values.dtype)


def _check_columns_in(frame: pl.DataFrame, columns: list[str], role: str) -> None:
    where = _where(role)
    for col in columns:
        if col not in frame.columns:
            raise DataError(
                f"data.sequences.columns: {col!r} is not a column of {where}.{did_you_mean(col, frame.columns)} "
                f"Columns: {frame.columns[:20]}{' ...' if frame.width > 20 else ''}"
            )
        if not frame.schema[col].is_numeric():
            raise DataError(
                f"the sequence column {col!r} of {where} is {frame.schema[col]}, not numeric; leave it out of "
                "data.sequences.columns (or encode it as numbers)"
            )


def _check_id_table(frame: pl.DataFrame, id_column: str, role: str) -> pl.DataFrame:
    if id_column not in frame.columns:
        hint = did_you_mean(id_column, frame.columns)
        raise DataError(
            f"data.id = {id_column!r} is not a column of the {role} file (data.{role}).{hint} "
            f"Columns: {frame.columns[:20]}"
        )
    ids = frame[id_column]
    if ids.null_count():
        raise DataError(f"the id column {id_column!r} of data.{role} has {ids.null_count()} missing value(s)")
    if ids.is_duplicated().any():
        example = ids.filter(ids.is_duplicated())[0]
        raise DataError(
            f"the id column {id_column!r} of data.{role} is not unique (e.g. {example!r}); it must hold one row per "
            "sequence"
        )
    return frame


def _labels_from_long(frame: pl.DataFrame, key: str, id_column: str, target: str) -> pl.DataFrame:
    """One row per id with its target; the target must be the same on every row of an id."""
    if target not in frame.columns:
        raise DataError(
            f"data.target = {target!r} is not a column of {_where('train')}, which holds the labels because data.train "
            f"is left out or names the same file.{did_you_mean(target, frame.columns)} Set data.train to the labels "
            "table (one row per id) if they are in another file"
        )
    per_id = frame.group_by(key, maintain_order=True).agg(
        pl.col(target).first(),
        pl.col(target).n_unique().alias("__n"),
        pl.col(target).unique(maintain_order=True).head(3).alias("__v"),
    )
    varying = per_id.filter(pl.col("__n") > 1)
    if varying.height:
        first = varying.row(0, named=True)
        raise DataError(
            f"the target {target!r} varies within id {first[key]!r} of {_where('train')} (e.g. {first['__v']}; "
            f"{varying.height} id(s) like it): a sequence has one label. Put the labels in a table of their own "
            "(data.train, one row per id)"
        )
    return per_id.select(pl.col(key).alias(id_column), target)


def _matching_dtype(ids: pl.DataFrame, long: pl.DataFrame, id_column: str, key: str, role: str) -> pl.DataFrame:
    want, got = ids.schema[id_column], long.schema[key]
    if want == got:
        return long
    try:
        return long.with_columns(pl.col(key).cast(want, strict=True))
    except pl.exceptions.PolarsError:
        raise DataError(
            f"the id column is {want} in data.{role} but {got} in {_where(role)}; store the ids the same way in both"
        ) from None


def _rows_of(ids: pl.DataFrame, long: pl.DataFrame, id_column: str, key: str, role: str) -> pl.DataFrame:
    """The long table's rows of the ids in ``ids``: an id without rows is an error, rows without an id a warning."""
    long = _matching_dtype(ids, long, id_column, key, role)
    wanted = ids.select(pl.col(id_column).alias(key))
    present = long.select(key).unique(maintain_order=True)  # the example an error names: the same each run
    missing = wanted.join(present, on=key, how="anti", maintain_order="left")
    if missing.height:
        raise DataError(
            f"{missing.height} id(s) of data.{role} have no rows in {_where(role)}, e.g. {missing[key][0]!r}; every "
            f"id of data.{role} needs its sequence"
        )
    extra = present.join(wanted, on=key, how="anti")
    if extra.height:
        example = extra.sort(key)[key][0]
        warnings.warn(
            f"{extra.height} id(s) of {_where(role)} are not in data.{role} (e.g. {example!r}); their rows are ignored",
            DataWarning,
            stacklevel=4,
        )
        long = long.join(wanted, on=key, how="semi", maintain_order="left")
    return long


def _longest(frame: pl.DataFrame, key: str) -> int:
    steps = unclashing("len", key)
    return int(frame.group_by(key).len(name=steps)[steps].max())  # type: ignore[arg-type]


def _check_wide(
    n_steps: int, n_columns: int, frames: list[tuple[str, pl.DataFrame]], key: str, max_len: int | None
) -> None:
    """An error when the wide layout's ``n_steps x n_columns`` step columns are past :data:`MAX_STEP_COLUMNS`, naming
    the longest sequence (or ``max_len``, which sets the steps where given: shorter sequences are padded to it):
    laying them side by side takes minutes to hours (polars' cost grows faster than the columns: 6,000 took 5 s,
    12,000 14 s, 60,000 over 5 minutes), one long sequence enough among short ones."""
    if n_steps * n_columns <= MAX_STEP_COLUMNS:
        return
    cut = max(1, MAX_STEP_COLUMNS // n_columns)
    if max_len is not None:
        raise DataError(
            f"the wide layout of the sequences would be {n_steps * n_columns:,} step columns (data.sequences.max_len "
            f"= {max_len:,} steps, every sequence padded or cut to it, x {n_columns} columns), more than a table "
            f"holds in reasonable time ({MAX_STEP_COLUMNS:,}); set data.sequences.layout = 'streamed' (the steps end "
            f"to end, read per batch, any length), or max_len to at most {cut:,}"
        )
    role, frame = max(frames, key=lambda rf: _longest(rf[1], key))
    steps = unclashing("len", key)
    counts = frame.group_by(key, maintain_order=True).len(name=steps)
    longest = counts.sort(steps, descending=True, maintain_order=True).row(0)  # of tied ones the first in file order
    typical = int(counts[steps].median())  # type: ignore[arg-type]
    raise DataError(
        f"the wide layout of the sequences would be {n_steps * n_columns:,} step columns ({n_steps:,} steps x "
        f"{n_columns} columns; the longest sequence, id {longest[0]!r} of {_where(role)}, has {longest[1]:,} steps, "
        f"the median one {typical:,}), more than a table holds in reasonable time ({MAX_STEP_COLUMNS:,}); set "
        "data.sequences.layout = 'streamed' (the steps end to end, read per batch, any length), or "
        f"data.sequences.max_len (at most {cut:,}) to cut the longer ones"
    )


# ---------------------------------------------------------------------------------------------- the join
def _features(long: pl.DataFrame, s: SequenceSpec, key: str, columns: list[str], n_steps: int) -> pl.DataFrame:
    """One row per id: the id, the step columns, then the aggregate columns."""
    wide = sequence_wide(long, key, columns, order_by=s.order_by, max_len=n_steps, keep=s.keep)
    if not s.aggregates:
        return wide
    stats = sequence_aggregates(long, key, columns, order_by=s.order_by, stats=s.aggregates)  # type: ignore[arg-type]
    return wide.join(stats, on=key, how="left", maintain_order="left")


def _streamed(
    long: pl.DataFrame, s: SequenceSpec, key: str, columns: list[str], ids: pl.Series, first: int
) -> pl.DataFrame:
    """One row per id of ``ids`` (in that order): the id, its position in the store (``first`` + its index), then
    the aggregate columns. No step columns."""
    rows = pl.DataFrame({key: ids, SEQUENCE_ROW: np.arange(first, first + len(ids), dtype=np.int64)})
    if not s.aggregates:
        return rows
    stats = sequence_aggregates(long, key, columns, order_by=s.order_by, stats=s.aggregates)  # type: ignore[arg-type]
    return rows.join(stats, on=key, how="left", maintain_order="left")


def _join(ids: pl.DataFrame, features: pl.DataFrame, id_column: str, key: str, where: str) -> pl.DataFrame:
    clash = [c for c in features.columns if c != key and c in ids.columns]
    if clash:
        raise DataError(
            f"{where} already has a column {clash[0]!r}, a name the sequence features take; rename it "
            f"(clashing: {allowed(clash[:5])})"
        )
    features = features.rename({key: id_column}) if key != id_column else features
    return ids.join(features, on=id_column, how="left", maintain_order="left")
