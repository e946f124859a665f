"""Sequences given as long tables: the ``[data.sequences]`` spec, the join onto one-row-per-id frames, the checks,
the ``select`` / ``drop`` steps, the nets' shape read from column names, and a small run end to end."""

from __future__ import annotations

import copy
import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import CompetitionSpec, build_spec, load_spec
from kaggle_kit.errors import ConfigError, DataError, DataWarning
from kaggle_kit.features import FeatureMatrix, Pipeline, sequence_aggregates
from kaggle_kit.features.sequence import infer_sequence_shape
from kaggle_kit.models.nn.inputs import SequenceInputs
from kaggle_kit.readers.competition import load_competition, prepare_competition
from kaggle_kit.readers.sequences import join_sequences

BASE: dict[str, Any] = {
    "name": "sensors",
    "task": "binary",
    "metric": "accuracy",
    "data": {
        "train": "y_train.csv",
        "id": "series_id",
        "target": "label",
        "sequences": {"train": "X_train.csv", "test": "X_test.csv", "order_by": "step"},
    },
    "models": [{"name": "xgb", "kind": "xgboost"}],
}


def make_spec(tmp: Path | None = None, **sequences: Any) -> CompetitionSpec:
    raw = copy.deepcopy(BASE)
    raw["data"]["sequences"].update(sequences)
    return build_spec(raw, base_dir=tmp or ".")


def long_table(lengths: dict[int, int], *, seed: int = 0, shuffle: bool = True) -> pl.DataFrame:
    """``series_id, step, a, b`` with ``lengths[id]`` steps per id, rows in random order (the step column orders
    them); ``a`` = id + step / 10 so every value can be checked, ``b`` random."""
    rng = np.random.default_rng(seed)
    rows = [(i, t, i + t / 10, float(rng.normal())) for i, n in lengths.items() for t in range(n)]
    frame = pl.DataFrame(rows, schema=["series_id", "step", "a", "b"], orient="row")
    return frame.sample(fraction=1.0, shuffle=True, seed=seed) if shuffle else frame


TRAIN_LENGTHS = {1: 3, 2: 5, 3: 4, 4: 2}
TEST_LENGTHS = {10: 6, 11: 1}
LABELS = pl.DataFrame({"series_id": [3, 1, 4, 2], "label": ["x", "y", "x", "y"]})


# ---------------------------------------------------------------------------------------------- the spec
def test_spec_round_trips_every_sequence_field(tmp_path: Path) -> None:
    spec = make_spec(
        tmp_path, id="sid", columns=["a", "b"], max_len=7, keep="last", aggregates=["mean", "q90", "argmax"]
    )
    path = tmp_path / "spec.toml"
    path.write_text(spec.to_toml())
    again = load_spec(path)
    assert again.data.sequences == spec.data.sequences
    assert again.data.sequences is not None and again.data.sequences.keep == "last"
    assert again.to_toml() == spec.to_toml()
    empty = make_spec(tmp_path, aggregates=[])  # [] = no statistics, which TOML must keep (not the default)
    path.write_text(empty.to_toml())
    assert load_spec(path).data.sequences.aggregates == []  # type: ignore[union-attr]


def test_defaults_and_train_omitted_means_the_long_table() -> None:
    s = make_spec().data.sequences
    assert s is not None and s.aggregates == ["mean", "std", "min", "max", "first", "last"]
    assert s.id is None and s.max_len is None and s.keep == "first" and s.columns is None
    raw = copy.deepcopy(BASE)
    del raw["data"]["train"]
    spec = build_spec(raw)
    assert spec.data.train == Path("X_train.csv") and spec.data.labels_in_sequences
    assert not make_spec().data.labels_in_sequences


def _with(**data: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    for key, value in data.items():
        if key.startswith("seq_"):
            raw["data"]["sequences"][key[4:]] = value
        elif value is None:
            del raw["data"][key]
        else:
            raw["data"][key] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (_with(seq_order_bye="step"), r"unknown key 'data\.sequences\.order_bye'.*Did you mean 'order_by'\?"),
        (_with(seq_aggregates=["meen"]), r"data\.sequences\.aggregates: unknown statistic 'meen'.*Did you mean 'mean'"),
        (_with(seq_aggregates=["mean", "mean"]), r"data\.sequences\.aggregates: lists 'mean' more than once"),
        (_with(seq_keep="end"), r"data\.sequences\.keep must be one of 'first' or 'last'; got 'end'"),
        (_with(seq_max_len=0), r"data\.sequences\.max_len must be at least 1; got 0"),
        (_with(seq_columns=[]), r"data\.sequences\.columns: must name at least one column"),
        (_with(seq_columns=["a", "step"]), r"data\.sequences\.columns lists 'step'"),
        (_with(seq_order_by="series_id"), r"data\.sequences\.order_by = 'series_id' is the id or target"),
        (_with(id=None), r"data\.sequences needs data\.id"),
        (_with(test="ids.csv", seq_test=None), r"data\.test is set but data\.sequences\.test is not"),
    ],
    ids=["typo-key", "unknown-stat", "repeated-stat", "keep", "max-len", "no-columns", "order-in-columns",
         "order-is-id", "no-id", "test-without-sequences"],
)  # fmt: skip
def test_bad_sequence_specs(raw: dict[str, Any], match: str) -> None:
    if raw["data"]["sequences"].get("test", "") is None:
        del raw["data"]["sequences"]["test"]
    with pytest.raises(ConfigError, match=match):
        build_spec(raw)


# ---------------------------------------------------------------------------------------------- the join
def test_labels_table_join_pads_steps_and_matches_aggregates() -> None:
    spec = make_spec()
    train_long, test_long = long_table(TRAIN_LENGTHS), long_table(TEST_LENGTHS, seed=1)
    train, test = join_sequences(spec, train_long, test_long, labels=LABELS)
    assert test is not None
    assert train["series_id"].to_list() == [3, 1, 4, 2]  # the labels' order
    assert test["series_id"].to_list() == test_long["series_id"].unique(maintain_order=True).to_list()
    steps = [f"{c}__t{t}" for t in range(6) for c in ("a", "b")]  # T = 6: the longest of train AND test
    stats = [f"{c}__{s}" for c in ("a", "b") for s in ("mean", "std", "min", "max", "first", "last")]
    assert train.columns == ["series_id", "label", *steps, "n_steps", *stats]
    assert test.columns == ["series_id", *steps, "n_steps", *stats]
    # id 3 has 4 steps: a = 3.0, 3.1, 3.2, 3.3, then missing
    row = train.filter(pl.col("series_id") == 3).row(0, named=True)
    assert [row[f"a__t{t}"] for t in range(6)] == pytest.approx([3.0, 3.1, 3.2, 3.3, None, None], nan_ok=True)
    expected = sequence_aggregates(
        train_long, "series_id", ["a", "b"], order_by="step", stats=["mean", "std", "min", "max", "first", "last"]
    )
    got = train.select("series_id", "n_steps", *stats).sort("series_id")
    assert got.equals(expected.sort("series_id"))


def test_labels_in_the_long_table_give_the_same_frame() -> None:
    long = long_table(TRAIN_LENGTHS).join(LABELS, on="series_id")
    raw = copy.deepcopy(BASE)
    del raw["data"]["train"]
    spec = build_spec(raw)
    from_long, _ = join_sequences(spec, long)
    from_table, _ = join_sequences(make_spec(), long.drop("label"), labels=LABELS)
    assert from_long.sort("series_id").equals(from_table.sort("series_id"))
    assert "label__mean" not in from_long.columns  # the target is never a sequence column


def test_test_ids_from_data_test_keep_its_order_and_ignore_other_rows() -> None:
    spec = build_spec(_with(test="ids.csv"))
    test_long = long_table({**TEST_LENGTHS, 12: 2}, seed=1)
    ids = pl.DataFrame({"series_id": [11, 10]})
    with pytest.warns(UserWarning, match=r"1 id\(s\) of the test long table .* are not in data\.test \(e\.g\. 12\)"):
        _, test = join_sequences(spec, long_table(TRAIN_LENGTHS), test_long, labels=LABELS, test_ids=ids)
    assert test is not None and test["series_id"].to_list() == [11, 10]
    assert test.filter(pl.col("series_id") == 11)["n_steps"].item() == 1


@pytest.mark.parametrize(
    ("keep", "expected"), [("first", [1.0, 1.1]), ("last", [1.1, 1.2]), (None, [1.0, 1.1, 1.2, None, None])]
)
def test_max_len_truncates_both_frames(keep: str | None, expected: list[float | None]) -> None:
    spec = make_spec() if keep is None else make_spec(max_len=2, keep=keep)
    train, test = join_sequences(spec, long_table(TRAIN_LENGTHS), long_table({10: 3}), labels=LABELS)
    assert test is not None
    steps = [c for c in train.columns if c.startswith("a__t")]
    assert steps == [c for c in test.columns if c.startswith("a__t")] and len(steps) == len(expected)
    row = train.filter(pl.col("series_id") == 1).row(0, named=True)
    assert [row[c] for c in steps] == pytest.approx(expected, nan_ok=True)
    assert row["n_steps"] == 3  # statistics are over every step, max_len or not


def test_no_aggregates_and_chosen_columns() -> None:
    train, _ = join_sequences(make_spec(aggregates=[], columns=["b"]), long_table(TRAIN_LENGTHS), labels=LABELS)
    assert train.columns == ["series_id", "label", *[f"b__t{t}" for t in range(5)]]


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("label-without-rows", r"1 id\(s\) of data\.train have no rows in the train long table .*e\.g\. 9"),
        ("target-varies", r"the target 'label' varies within id 2 of the train long table"),
        ("empty-long", r"the train long table \(data\.sequences\.train\) has no rows"),
        ("text-column", r"the sequence column 'a' of the train long table .* is String, not numeric"),
        ("duplicate-step", r"1 \(series_id, step\) pair\(s\) on more than one row, e\.g\. id 2 step 1"),
        ("nan-step", r"the step column 'step' .* of the train long table .* has 1 missing \(or NaN\) value\(s\)"),
        (
            "too-wide",
            r"the wide layout of the sequences would be 20,002 step columns \(10,001 steps x 2 columns; the longest "
            r"sequence, id 4 of the train long table .* has 10,001 steps, the median one 4\).*set "
            r"data\.sequences\.layout = 'streamed' .* or data\.sequences\.max_len \(at most 10,000\)",
        ),
        ("no-order-column", r"data\.sequences\.order_by = 'stp' is not a column .*Did you mean 'step'\?"),
        ("unknown-column", r"data\.sequences\.columns: 'bb' is not a column .*Did you mean 'b'\?"),
        ("test-lacks-column", r"data\.sequences\.columns: 'b' is not a column of the test long table"),
    ],
)
def test_bad_long_tables(case: str, match: str) -> None:
    long, labels, spec, test = long_table(TRAIN_LENGTHS), LABELS, make_spec(), None
    if case == "label-without-rows":
        labels = pl.concat([LABELS, pl.DataFrame({"series_id": [9], "label": ["x"]})])
    elif case == "target-varies":
        raw = copy.deepcopy(BASE)
        del raw["data"]["train"]
        spec, labels = build_spec(raw), None
        long = long.join(LABELS, on="series_id").with_columns(
            pl.when((pl.col("series_id") == 2) & (pl.col("step") == 1)).then(pl.lit("x")).otherwise("label")
            .alias("label")
        )  # fmt: skip
    elif case == "empty-long":
        long = long.clear()
    elif case == "text-column":
        spec, long = make_spec(columns=["a"]), long.with_columns(pl.col("a").cast(pl.String))
    elif case == "duplicate-step":
        long = pl.concat([long, long.filter((pl.col("series_id") == 2) & (pl.col("step") == 1))])
    elif case == "nan-step":  # a float step column's NaN: sorted after every step, without a word
        long = long.with_columns(
            pl.when((pl.col("series_id") == 2) & (pl.col("step") == 1)).then(float("nan")).otherwise(pl.col("step"))
            .cast(pl.Float64).alias("step")
        )  # fmt: skip
    elif case == "too-wide":  # one long sequence among short ones: its pivot to 20,002 columns took minutes
        long = long_table({**TRAIN_LENGTHS, 4: 10_001})
    elif case == "no-order-column":
        spec = make_spec(order_by="stp")
    elif case == "unknown-column":
        spec = make_spec(columns=["a", "bb"])
    elif case == "test-lacks-column":
        test = long_table(TEST_LENGTHS).drop("b")
    with pytest.raises(DataError, match=match):
        join_sequences(spec, long, test, labels=labels)


def test_the_wide_layouts_limit_counts_the_steps_max_len_keeps() -> None:
    """One sequence of 10,001 steps (20,002 step columns, refused as too wide above) with max_len = 5 is cut to 5
    steps: laid out. A max_len of 12,000 pads every sequence to it (24,000 columns): refused, naming max_len (the
    message had named the longest sequence, 5 steps, as the cause)."""
    train, _ = join_sequences(make_spec(max_len=5), long_table({**TRAIN_LENGTHS, 4: 10_001}), labels=LABELS)
    assert [c for c in train.columns if c.startswith("a__t")] == [f"a__t{t}" for t in range(5)]
    with pytest.raises(
        DataError,
        match=r"would be 24,000 step columns \(data\.sequences\.max_len = 12,000 steps, every sequence padded or cut "
        r"to it, x 2 columns\).*set data\.sequences\.layout = 'streamed' .*or max_len to at most 10,000$",
    ):
        join_sequences(make_spec(max_len=12_000), long_table(TRAIN_LENGTHS), labels=LABELS)


def test_rows_without_a_label_are_ignored_with_a_warning() -> None:
    long = long_table({**TRAIN_LENGTHS, 7: 2, 8: 3})
    with pytest.warns(DataWarning, match=r"2 id\(s\) of the train long table .* not in data\.train \(e\.g\. 7\)"):
        train, _ = join_sequences(make_spec(), long, labels=LABELS)
    assert sorted(train["series_id"].to_list()) == [1, 2, 3, 4]


def test_channels_that_are_not_numbers_are_named_as_left_out() -> None:
    """With data.sequences.columns unset, an event type written as text and a flag as booleans vanished from the
    step columns and the statistics without a word; a column empty in every row (text in a CSV) is not named."""
    long = long_table(TRAIN_LENGTHS).with_columns(
        event=pl.when(pl.col("step") % 2 == 0).then(pl.lit("click")).otherwise(pl.lit("view")),
        flag=pl.col("a") > 2,
        empty=pl.lit(None, dtype=pl.String),
    )
    with pytest.warns(DataWarning, match=r"'event' \(String\), 'flag' \(Boolean\) of the train long table") as seen:
        train, _ = join_sequences(make_spec(aggregates=["mean"]), long, labels=LABELS)
    assert not any("'empty'" in str(w.message) for w in seen)
    assert not any(c.startswith(("event", "flag")) for c in train.columns)
    with warnings.catch_warnings():  # the columns named: nothing left out unsaid
        warnings.simplefilter("error")
        join_sequences(make_spec(columns=["a", "b"]), long, labels=LABELS)


def test_sequences_missing_steps_among_numbered_ones_are_warned_of() -> None:
    """Id 2 lacks step 2 of 0..4 while the other ids number their rows 0, 1, ...: its steps 3 and 4 land in the
    columns of steps 2 and 3 (the rows are laid side by side in order), which was said nowhere. Steps that number no
    sequence without gaps (timestamps) are taken as they are, without a word."""
    long = long_table(TRAIN_LENGTHS).filter(~((pl.col("series_id") == 2) & (pl.col("step") == 2)))
    with pytest.warns(
        DataWarning,
        match=r"1 of the 4 sequences of the train long table .* miss steps of 'step' \(e\.g\. id 2: 1 of "
        r"its steps 0\.\.4\).*add the missing steps as rows with empty values",
    ):
        train, _ = join_sequences(make_spec(), long, labels=LABELS)
    assert train.filter(pl.col("series_id") == 2)["a__t2"].item() == pytest.approx(2.3)  # step 3, at position 2
    stamps = long_table(TRAIN_LENGTHS).with_columns(pl.col("step") * 7 + pl.col("series_id") * pl.col("step") ** 2)
    single = long_table({1: 1, 2: 3, 3: 1, 4: 1}).with_columns(pl.col("step") * 5)  # one step each but id 2's
    for frame in (stamps, single):  # timestamps every 5 s: one sequence of one step numbers nothing
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            join_sequences(make_spec(), frame, labels=LABELS)


# ---------------------------------------------------------------------------------------------- loading
def _write(tmp: Path) -> None:
    long_table(TRAIN_LENGTHS).write_csv(tmp / "X_train.csv")
    long_table(TEST_LENGTHS, seed=1).write_csv(tmp / "X_test.csv")
    LABELS.write_csv(tmp / "y_train.csv")


def test_test_sequences_shorter_than_trains_are_no_warning(tmp_path: Path) -> None:
    """Test sequences of 1-2 steps beside train's of up to 5: the step columns past every test sequence's end are
    missing by design. It was `warning: column(s) 'a__t2', 'a__t3', ... are empty in every test row ...; add them to
    data.drop`, a fix no step column takes."""
    long_table(TRAIN_LENGTHS).write_csv(tmp_path / "X_train.csv")
    long_table({10: 2, 11: 1}, seed=1).write_csv(tmp_path / "X_test.csv")
    LABELS.write_csv(tmp_path / "y_train.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        data = load_competition(make_spec(tmp_path))
    assert data.test is not None and data.test["a__t4"].null_count() == 2


def test_a_sequence_column_empty_in_every_test_row_is_warned_of_by_its_name(tmp_path: Path) -> None:
    """The test long table's `b` empty in every row (a CSV column without a value reads as text): one warning
    naming `b`, the run goes on. It stopped with `the sequence column 'b' of the test long table ... is String, not
    numeric` (columns = ['a', 'b']), or (columns unset) warned of every 'b__t<k>' and 'b__<stat>' column."""
    long_table(TRAIN_LENGTHS).write_csv(tmp_path / "X_train.csv")
    long_table(TEST_LENGTHS, seed=1).with_columns(b=pl.lit(None, dtype=pl.Float64)).write_csv(tmp_path / "X_test.csv")
    LABELS.write_csv(tmp_path / "y_train.csv")
    for spec in (make_spec(tmp_path), make_spec(tmp_path, columns=["a", "b"])):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = load_competition(spec)
        said = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
        assert len(said) == 1 and said[0].startswith(
            "sequence column(s) 'b' of the test long table (data.sequences.test) are empty in every row"
        ), said
        assert data.test is not None and data.test["b__t0"].null_count() == data.test.height


def test_numbers_written_as_text_are_named_so_and_workers_say_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame given to the API with a channel of numbers as text (``'1.5'``) was named "not numbers" as an event
    type would be; a worker process (each fold's) says nothing, the run's main process having said it."""
    from kaggle_kit.readers import sequences

    long = long_table(TRAIN_LENGTHS).with_columns(c=pl.col("b").cast(pl.String), e=pl.lit("on"))
    with pytest.warns(DataWarning, match=r"'c' \(String: numbers written as text\), 'e' \(String\) of the train"):
        join_sequences(make_spec(aggregates=["mean"]), long, labels=LABELS)
    monkeypatch.setattr(sequences.multiprocessing, "parent_process", lambda: object())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        join_sequences(make_spec(aggregates=["mean"]), long, labels=LABELS)


@pytest.mark.parametrize(
    ("step", "values"),
    [
        ("time", pl.col("step") * 0.01),
        ("ts", pl.col("step")),
        ("n", pl.col("step") + 1),
        ("ts", 1.6e9 + pl.col("step") * 0.37),  # Unix seconds
        ("event_ts", pl.col("step") * 1.5 + pl.col("series_id") * 100),
        (  # 8:00, 9:00:00, 10:00, ...: text, before 10:00 as text
            "time",
            pl.when(pl.col("step") % 2 == 0)
            .then(pl.format("{}:00", pl.col("step") + 8))
            .otherwise(pl.format("{}:00:00", pl.col("step") + 8)),
        ),
    ],
    ids=[
        "time-in-seconds",
        "unnamed-whole-numbers",
        "numbered-from-1",
        "unix-seconds-named-ts",
        "seconds-named-like-a-clock",
        "times-of-day-as-text",
    ],
)
def test_init_orders_shuffled_steps_by_the_column_that_numbers_them(tmp_path: Path, step: str, values) -> None:
    """Long tables whose rows are shuffled and whose step column is `time` in seconds (a float), or whole numbers
    0..n-1 (1..n) under a name no rule knows: init orders the steps by it. It wrote no order_by, so each sequence's
    steps were its rows in the shuffled file's order, without a word, and the column was read as a sensor."""
    from kaggle_kit.init_config import infer_spec

    for name, lengths, seed in (("X_train.csv", TRAIN_LENGTHS, 0), ("X_test.csv", TEST_LENGTHS, 1)):
        long_table(lengths, seed=seed).with_columns(values.alias(step)).drop("step").write_csv(tmp_path / name)
    LABELS.write_csv(tmp_path / "y_train.csv")
    spec, why = infer_spec("s", tmp_path / "X_train.csv", preset="fast")
    assert spec["data"]["sequences"]["order_by"] == step
    assert f"steps ordered by {step!r}" in why[0]
    data = load_competition(build_spec(spec))
    row = data.train.filter(pl.col("series_id") == 2)
    assert [row[f"a__t{t}"][0] for t in range(5)] == pytest.approx([2.0, 2.1, 2.2, 2.3, 2.4])  # a = id + step / 10


def test_init_says_when_no_column_orders_the_steps(tmp_path: Path) -> None:
    from kaggle_kit.init_config import infer_spec

    long_table(TRAIN_LENGTHS, shuffle=False).drop("step").write_csv(tmp_path / "X_train.csv")
    long_table(TEST_LENGTHS, seed=1, shuffle=False).drop("step").write_csv(tmp_path / "X_test.csv")
    LABELS.write_csv(tmp_path / "y_train.csv")
    spec, why = infer_spec("s", tmp_path / "X_train.csv", preset="fast")
    assert "order_by" not in spec["data"]["sequences"]
    assert any(w.startswith("steps: no column orders them, so each sequence's steps are its rows") for w in why)


@pytest.mark.parametrize("name", ["reaction_time", "index", "cycle"])
def test_init_orders_no_steps_by_a_measurement_named_like_a_time(tmp_path: Path, name: str) -> None:
    """A sensor of floats named ``reaction_time`` (or ``index``, ``cycle``) holds a different value in each row of an
    id: init ordered the steps by it (each sequence sorted by the sensor's values, in a file already in order) and
    left it out of the channels, saying only "steps ordered by 'reaction_time'". Named like a measurement, a column
    orders the steps only where it rises within each id in the file's order; it is a channel otherwise."""
    from kaggle_kit.init_config import infer_spec

    for file, lengths, seed in (("X_train.csv", TRAIN_LENGTHS, 0), ("X_test.csv", TEST_LENGTHS, 1)):
        sensor = pl.Series(name, np.random.default_rng(seed + 5).permutation(sum(lengths.values())) / 7)
        long_table(lengths, seed=seed, shuffle=False).drop("step").with_columns(sensor).write_csv(tmp_path / file)
    LABELS.write_csv(tmp_path / "y_train.csv")
    spec, why = infer_spec("s", tmp_path / "X_train.csv", preset="fast")
    assert "order_by" not in spec["data"]["sequences"], why
    data = load_competition(build_spec(spec))
    row = data.train.filter(pl.col("series_id") == 2)
    assert [row[f"a__t{t}"][0] for t in range(5)] == pytest.approx([2.0, 2.1, 2.2, 2.3, 2.4])  # the file's order
    assert f"{name}__t0" in data.train.columns


def test_init_prefers_the_time_column_in_order_and_says_it_is_no_channel(tmp_path: Path) -> None:
    """``time`` (a measurement, distinct within each id, in no order) and ``elapsed_time`` rising within each id:
    the one in order orders the steps, and init says that a column picked for its name is no channel (and how to
    undo it)."""
    from kaggle_kit.init_config import infer_spec

    for file, lengths, seed in (("X_train.csv", TRAIN_LENGTHS, 0), ("X_test.csv", TEST_LENGTHS, 1)):
        n = sum(lengths.values())
        long = long_table(lengths, seed=seed, shuffle=False).with_columns(
            time=pl.Series(np.random.default_rng(seed + 5).permutation(n) / 7),
            elapsed_time=pl.col("step") * 1.5 + 0.25,
        )
        long.drop("step").write_csv(tmp_path / file)
    LABELS.write_csv(tmp_path / "y_train.csv")
    spec, why = infer_spec("s", tmp_path / "X_train.csv", preset="fast")
    assert spec["data"]["sequences"]["order_by"] == "elapsed_time"
    said = [w for w in why if w.startswith("steps: ordered by 'elapsed_time' for its name")]
    assert len(said) == 1 and "no channel" in said[0] and "delete data.sequences.order_by" in said[0], why


@pytest.mark.parametrize("name", ["created_at", "visit_date", "date", "datetime", "obs_ts", "index", "cycle"])
def test_the_names_of_times_and_positions_order_the_steps(name: str) -> None:
    """Each kind of name init takes for a time or position: dates in no order within an id (no channel anyway), and
    ``index`` / ``cycle`` rising within each id in the file's order (a pandas index saved with the table)."""
    from kaggle_kit.init_config import _step_column

    ids = [1, 1, 1, 2, 2]
    if name in ("index", "cycle"):
        values: Any = pl.Series(name, [0, 1, 2, 3, 4])
    else:
        values = pl.Series(name, ["2021-03-02", "2021-03-01", "2021-03-04", "2021-03-09", "2021-03-08"]).str.to_date()
    frame = pl.DataFrame({"series_id": ids, "x": [0.5, 0.1, 0.7, 0.2, 0.9]}).with_columns(values)
    assert _step_column(frame, "series_id") == name
    assert _step_column(frame.rename({name: "other"}), "series_id") is None


@pytest.mark.parametrize(
    ("lengths", "said"),
    [
        ({1: 2_000, 2: 4, 3: 4, 4: 4}, True),
        ({1: 900, 2: 4, 3: 4, 4: 4}, False),  # 225x the median, but short enough to pad
        ({1: 3_000, 2: 1_500, 3: 1_500, 4: 1_500}, False),  # long, but 2x the median
    ],
)
def test_a_length_outlier_is_one_both_long_and_far_past_the_median(lengths: dict[int, int], said: bool) -> None:
    from kaggle_kit.init_config import _length_outlier

    long = pl.DataFrame({"series_id": [i for i, n in lengths.items() for _ in range(n)]})
    assert bool(_length_outlier(long, "series_id")) is said
    # the same lengths in the test long table, beside a train table of 4-step sequences: said alike, of test
    test_said = _length_outlier(pl.DataFrame({"series_id": [9] * 4 + [8] * 4}), "series_id", long)
    assert [w.startswith("sequence lengths: the longest test sequence (id 1, ") for w in test_said] == [True] * said


def test_init_says_when_one_sequence_dwarfs_the_others(tmp_path: Path) -> None:
    """One 2,000-step sequence among ones of 2-5 steps: every batch holding it is padded to 2,000 steps (a cnn1d
    worker reached 7.5 GB with one of 10,000): init names it and max_len; of sequences alike in length it says
    nothing."""
    from kaggle_kit.init_config import infer_spec

    long_table({**TRAIN_LENGTHS, 5: 2_000}).write_csv(tmp_path / "X_train.csv")
    long_table(TEST_LENGTHS, seed=1).write_csv(tmp_path / "X_test.csv")
    pl.concat([LABELS, pl.DataFrame({"series_id": [5], "label": ["y"]})]).write_csv(tmp_path / "y_train.csv")
    _, why = infer_spec("s", tmp_path / "X_train.csv", preset="fast")
    said = [w for w in why if w.startswith("sequence lengths:")]
    assert said == [
        "sequence lengths: the longest (id 5, 2,000 steps) is 500x the median (4): the nets pad each batch to its "
        "longest sequence, so a batch holding it holds batch_size x 2,000 steps (memory and time grow with it); if "
        "its steps past the first few hundred matter little, set data.sequences.max_len (keep = 'last' for its "
        "latest steps)"
    ]
    long_table(TRAIN_LENGTHS).write_csv(tmp_path / "X_train.csv")
    LABELS.write_csv(tmp_path / "y_train.csv")
    _, why = infer_spec("s", tmp_path / "X_train.csv", preset="fast")
    assert not [w for w in why if w.startswith("sequence lengths:")]
    # one in the test long table pads the batches it is predicted in alike: named as test's (it was not)
    long_table({**TEST_LENGTHS, 12: 2_000}, seed=1).write_csv(tmp_path / "X_test.csv")
    _, why = infer_spec("s", tmp_path / "X_train.csv", preset="fast")
    said = [w for w in why if w.startswith("sequence lengths:")]
    assert said == [
        "sequence lengths: the longest test sequence (id 12, 2,000 steps) is 500x the median (4): the nets pad each "
        "batch to its longest sequence, so a batch holding it holds batch_size x 2,000 steps (memory and time grow "
        "with it); if its steps past the first few hundred matter little, set data.sequences.max_len (keep = 'last' "
        "for its latest steps)"
    ]


def test_files_load_like_frames_and_fingerprint_covers_the_sequences(tmp_path: Path) -> None:
    _write(tmp_path)
    spec = make_spec(tmp_path)
    data = load_competition(spec)
    in_memory = prepare_competition(
        spec, LABELS, None, sequences=(long_table(TRAIN_LENGTHS), long_table(TEST_LENGTHS, seed=1))
    )
    assert data.fingerprint() == in_memory.fingerprint()
    assert data.test_ids is not None and set(data.test_ids.to_list()) == {10, 11}
    assert "label" not in data.features and "series_id" not in data.features and "a__t5" in data.features
    assert data.y.tolist() == [0, 1, 0, 1]  # x, y, x, y in the labels' order
    assert load_competition(make_spec(tmp_path, max_len=3)).fingerprint() != data.fingerprint()
    # frames already joined pass as they are (what the runner hands its workers)
    assert prepare_competition(spec, data.train, data.test).fingerprint() == data.fingerprint()


def test_unjoined_frames_and_missing_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holds no step columns .*sequences=\(train_long, test_long\)"):
        prepare_competition(make_spec(), LABELS, None)
    LABELS.write_csv(tmp_path / "y_train.csv")
    with pytest.raises(DataError, match=r"X_train\.csv' does not exist; check data\.sequences\.train"):
        load_competition(make_spec(tmp_path))


# ---------------------------------------------------------------------------------------------- new statistics
def test_shape_statistics_match_numpy() -> None:
    rng = np.random.default_rng(3)
    values = {i: rng.normal(size=n) for i, n in {1: 9, 2: 17, 3: 4}.items()}
    long = pl.DataFrame(
        {"id": np.repeat(list(values), [len(v) for v in values.values()]), "x": np.concatenate(list(values.values()))}
    )
    stats = ["q10", "q25", "q75", "q90", "argmin", "argmax", "skew", "kurtosis", "diff_abs_mean"]
    out = sequence_aggregates(long, "id", stats=stats)  # type: ignore[arg-type]
    for i, v in values.items():
        row = out.filter(pl.col("id") == i).row(0, named=True)
        centred = v - v.mean()
        m2, m3, m4 = (centred**2).mean(), (centred**3).mean(), (centred**4).mean()
        expected = {
            "q10": np.quantile(v, 0.10),
            "q25": np.quantile(v, 0.25),
            "q75": np.quantile(v, 0.75),
            "q90": np.quantile(v, 0.90),
            "argmin": np.argmin(v),
            "argmax": np.argmax(v),
            "skew": m3 / m2**1.5,
            "kurtosis": m4 / m2**2 - 3.0,
            "diff_abs_mean": np.abs(np.diff(v)).mean(),
        }
        assert {s: row[f"x__{s}"] for s in stats} == pytest.approx(expected, rel=1e-9)


def test_first_last_and_roughness_with_missing_values_match_numpy() -> None:
    """Random sequences in shuffled rows, NaN and None at their starts, ends and inside, one sequence missing every
    value: first / last / diff_abs_mean match numpy on the values present in step order, missing (not an error)
    where none is."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(30):
        x = rng.normal(size=int(rng.integers(1, 7)))
        x[rng.random(x.size) < (1.0 if i == 0 else 0.4)] = np.nan
        rows += [(i, t, None if np.isnan(v) and t % 2 else float(v)) for t, v in enumerate(x)]
    long = pl.DataFrame(rows, schema=["id", "t", "x"], orient="row").sample(fraction=1.0, shuffle=True, seed=3)
    out = sequence_aggregates(long, "id", order_by="t", stats=["first", "last", "diff_abs_mean"])
    for got in out.iter_rows(named=True):
        steps = long.filter(pl.col("id") == got["id"]).sort("t")["x"].fill_null(np.nan).to_numpy()
        v = steps[~np.isnan(steps)]
        first, last = (v[0], v[-1]) if v.size else (None, None)
        rough = float(np.abs(np.diff(v)).mean()) if v.size > 1 else None
        assert (got["x__first"], got["x__last"]) == (first, last), steps
        assert got["x__diff_abs_mean"] == (None if rough is None else pytest.approx(rough)), steps
    assert out.filter(pl.col("id") == 0).select("x__first", "x__last", "x__diff_abs_mean").row(0) == (None,) * 3


def test_statistics_skip_missing_values_at_the_ends_and_inside() -> None:
    """'Missing values (and NaN) are skipped': first / last were missing where a sequence's first / last step was
    (a sensor's dropout), and diff_abs_mean was missing around a missing step."""
    nan = float("nan")
    long = pl.DataFrame(
        {"id": [1] * 5 + [2] * 2, "t": [4, 0, 1, 2, 3, 0, 1], "x": [None, nan, 1.0, None, 5.0, 2.0, 3.0]}
    )
    out = sequence_aggregates(long, "id", order_by="t", stats=["first", "last", "diff_abs_mean", "count"])
    assert out.to_dicts() == [
        {"id": 1, "n_steps": 5, "x__first": 1.0, "x__last": 5.0, "x__diff_abs_mean": 4.0, "x__count": 2.0},
        {"id": 2, "n_steps": 2, "x__first": 2.0, "x__last": 3.0, "x__diff_abs_mean": 1.0, "x__count": 2.0},
    ]


# ---------------------------------------------------------------------------------------------- select / drop
FRAME = pl.DataFrame(
    {
        "series_id": [1, 2, 3],
        "label": [0, 1, 0],
        "a__t0": [1.0, 2.0, 3.0],
        "b__t0": [0.5, 0.1, 0.2],
        "a__t1": [1.0, 2.0, 3.0],
        "b__t1": [0.5, 0.1, 0.2],
        "n_steps": [2, 2, 1],
        "a__mean": [1.0, 2.0, 3.0],
        "b__max": [0.5, 0.1, 0.2],
    }
)
FEATURES = [c for c in FRAME.columns if c not in ("series_id", "label")]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"step": "drop", "pattern": r".+__t\d+"}, ["n_steps", "a__mean", "b__max"]),
        ({"step": "select", "pattern": r".+__t\d+"}, ["a__t0", "b__t0", "a__t1", "b__t1"]),
        ({"step": "select", "pattern": r"a__.*"}, ["a__t0", "a__t1", "a__mean"]),
        ({"step": "select", "columns": ["b__max", "n_steps"]}, ["n_steps", "b__max"]),  # the features' order
        ({"step": "drop", "columns": ["a__t0", "b__max"]}, ["b__t0", "a__t1", "b__t1", "n_steps", "a__mean"]),
    ],
)
def test_select_and_drop_keep_the_expected_columns(step: dict[str, Any], expected: list[str]) -> None:
    pipe = Pipeline([step])
    out, state = pipe.fit_transform(FRAME, FRAME["label"], task="binary", features=FEATURES)
    assert state["features"] == expected
    assert pipe.matrix(pipe.transform(FRAME, state), state).names == tuple(expected)
    assert {"series_id", "label"} <= set(out.columns)  # only features are removed


@pytest.mark.parametrize(
    ("step", "error", "match"),
    [
        ({"step": "select", "columns": ["a__maen"]}, DataError, r"column 'a__maen' is not in the frame\. Did you mean"),
        ({"step": "drop", "columns": ["label"]}, DataError, r"'label' is not a feature column"),
        ({"step": "drop", "pattern": "zz.*"}, DataError, r"pattern 'zz\.\*' matches none of the feature columns"),
        ({"step": "drop", "pattern": ".*"}, DataError, r"would drop every feature column"),
        ({"step": "drop"}, ConfigError, r"give exactly one of columns .* and pattern"),
        ({"step": "select", "pattern": "("}, ConfigError, r"pattern '\(' is not a valid regular expression"),
        ({"step": "dorp", "pattern": "x"}, ConfigError, r"unknown step 'dorp'.*Did you mean 'drop'\?"),
    ],
)
def test_bad_selections(step: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Pipeline([step]).fit_transform(FRAME, FRAME["label"], task="binary", features=FEATURES)


# ---------------------------------------------------------------------------------------------- nets' shape
def test_sequence_shape_is_read_from_step_names() -> None:
    assert infer_sequence_shape(["a__t0", "b__t0", "a__t1", "b__t1", "a__t2", "b__t2"]) == ((3, 2), "tf")
    assert infer_sequence_shape(["a__t0", "a__t1", "b__t0", "b__t1"]) == ((2, 2), "ft")
    assert infer_sequence_shape(["a__t0", "a__t1", "n_steps"]) is None
    assert infer_sequence_shape(["a__t0", "a__t2"]) is None  # a step missing
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 6)).astype(np.float32)
    names = ("a__t0", "b__t0", "a__t1", "b__t1", "a__t2", "b__t2")
    fm = FeatureMatrix(X, names, ())
    inferred, given = SequenceInputs("m", ()), SequenceInputs("m", (3, 2), "tf")
    state = inferred.fit(fm)
    assert state == given.fit(fm) and state["shape"] == [3, 2]
    for a, b in zip(inferred.arrays(fm, state), given.arrays(fm, given.fit(fm)), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match=r"'n_steps' is not named so.*params\.columns = '\.\+__t\\d\+'"):
        inferred.fit(FeatureMatrix(np.zeros((2, 7), np.float32), (*names, "n_steps"), ()))


# ---------------------------------------------------------------------------------------------- end to end
def test_run_end_to_end_on_long_tables(tmp_path: Path) -> None:
    """A tree on the statistics and a cnn1d on the steps, from long frames in memory; OOF covers every id once."""
    from kaggle_kit.runtime.runner import run

    rng = np.random.default_rng(0)
    n_ids, n_steps = 90, 16
    y = np.arange(n_ids) % 2
    t = np.arange(n_steps)
    rows = []
    for i in range(n_ids):  # class 1: a bump in the second half; lengths vary
        signal = rng.normal(scale=0.3, size=n_steps) + (2.0 * y[i] * np.exp(-((t - 11) ** 2) / 4.0))
        rows += [(1000 + i, s, float(signal[s])) for s in range(n_steps - i % 3)]
    long = pl.DataFrame(rows, schema=["series_id", "step", "x"], orient="row")
    labels = pl.DataFrame({"series_id": 1000 + np.arange(n_ids), "label": y})
    test_long = long.filter(pl.col("series_id") < 1010).with_columns(pl.col("series_id") + 5000)
    raw = copy.deepcopy(BASE)
    raw["folds"] = {"n_splits": 3}
    raw["data"]["sequences"]["aggregates"] = ["mean", "max", "argmax", "q90"]
    raw["pipelines"] = {"trees": {"steps": [{"step": "drop", "pattern": r".+__t\d+"}]}}
    raw["models"] = [
        {"name": "xgb", "kind": "xgboost", "pipeline": "trees", "num_boost_round": 30, "early_stopping_rounds": 10},
        {
            "name": "cnn1d",
            "kind": "cnn1d",
            "params": {
                "columns": r".+__t\d+",
                "channels": [8],
                "epochs": 6,
                "patience": 0,
                "batch_size": 16,
                "lr": 1e-2,
            },
        },
    ]
    spec = build_spec(raw)
    train, test = join_sequences(spec, long, test_long, labels=labels)
    result = run(spec, train=train, test=test, runs_root=tmp_path, n_jobs=1, progress=None, record_history=False)
    scores = {m.name: m for m in result.models}
    assert all(m.status == "ok" for m in scores.values())
    assert scores["xgb"].cv > 0.8 and scores["cnn1d"].cv > 0.75
    for name in ("xgb", "cnn1d"):
        oof = pl.read_parquet(next((result.run_dir / "models" / name).rglob("oof*.parquet")))
        assert sorted(oof["series_id"].to_list()) == sorted(labels["series_id"].to_list())  # each id once
        assert oof.drop("series_id").null_count().sum_horizontal().item() == 0
        test_pred = pl.read_parquet(next((result.run_dir / "models" / name).rglob("test*.parquet")))
        assert test_pred["series_id"].to_list() == list(range(6000, 6010))
    config = json.loads(next((result.run_dir / "models" / "cnn1d").rglob("model.json")).read_text())
    assert config["inputs"]["shape"] == [16, 1]  # sequence_shape read from the step columns' names


# ---------------------------------------------------------------------------------------------- steps written as dates
def _dated(frame: pl.DataFrame, fmt: str) -> pl.DataFrame:
    """``frame`` with its ``step`` k written as the date of 2020-01-01 + 100 k days in ``fmt``: sorted as text,
    '04/10/2020' (k = 1) would come after '02/04/2021' (k = 4)."""
    from datetime import date, timedelta

    dates = [(date(2020, 1, 1) + timedelta(days=100 * int(k))).strftime(fmt) for k in frame["step"]]
    return frame.with_columns(pl.Series("step", dates))


def test_steps_written_as_text_dates_are_ordered_in_time_in_files_and_frames(tmp_path: Path) -> None:
    """A long table's steps written '03/22/2022' were sorted as text: id 2's values in another order, without a word
    (and polars read a file's '01/02/2020' day first by itself). The format is found in the train long table, said,
    recorded in data.date_formats (for the test tables and predict) and the steps are read in time."""
    train_long, test_long = (
        _dated(long_table(n, seed=s), "%m/%d/%Y") for n, s in ((TRAIN_LENGTHS, 0), (TEST_LENGTHS, 1))
    )
    train_long.write_csv(tmp_path / "X_train.csv")
    test_long.write_csv(tmp_path / "X_test.csv")
    LABELS.write_csv(tmp_path / "y_train.csv")
    with pytest.warns(DataWarning, match=r"'step' \(e.g. '\d\d/\d\d/\d{4}': '%m/%d/%Y'\) of the train long table"):
        data = load_competition(make_spec(tmp_path))
    row = data.train.filter(pl.col("series_id") == 2).row(0, named=True)
    assert [row[f"a__t{t}"] for t in range(5)] == pytest.approx([2.0, 2.1, 2.2, 2.3, 2.4])
    assert data.date_formats == {"step": "%m/%d/%Y"}
    assert data.test is not None and data.test.filter(pl.col("series_id") == 10)["a__t5"].to_list() == [10.5]
    # the run records the format; predict reads a new test long table with it, as the run read its own
    from kaggle_kit.predict.api import predict
    from kaggle_kit.predict.new_rows import read_test_rows
    from kaggle_kit.predict.run_folder import RunFolder
    from kaggle_kit.runtime.runner import run
    from kaggle_kit.runtime.store import RunStore

    lengths = {i: 2 + i % 4 for i in range(21, 41)}  # test ids are 10 and 11
    _dated(long_table(lengths), "%m/%d/%Y").write_csv(tmp_path / "X_train.csv")
    labels = pl.DataFrame({"series_id": list(lengths), "label": ["x", "y"] * 10})
    labels.write_csv(tmp_path / "y_train.csv")
    raw = copy.deepcopy(BASE) | {"folds": {"n_splits": 2}, "run": {"n_jobs": 1, "threads_per_task": 1}}
    with pytest.warns(DataWarning, match="'%m/%d/%Y'"):
        result = run(build_spec(raw, base_dir=tmp_path), runs_root=tmp_path / "runs", progress=None)
    assert load_spec(result.run_dir / "spec.toml").data.date_formats == {"step": "%m/%d/%Y"}
    stored = RunStore(result.run_dir).read_predictions("xgb", "test").sort("series_id")
    again = predict(result.run_dir, sequences=tmp_path / "X_test.csv", model="xgb").sort("series_id")
    assert again.equals(stored)
    rows = read_test_rows(RunFolder.open(result.run_dir), None, sequences=tmp_path / "X_test.csv").frame
    assert rows.filter(pl.col("series_id") == 10).select(f"a__t{t}" for t in range(6)).row(0) == pytest.approx(
        [10.0, 10.1, 10.2, 10.3, 10.4, 10.5]
    )
    with pytest.warns(DataWarning, match="'%m/%d/%Y'"):
        train, _ = join_sequences(make_spec(), train_long, None, labels=LABELS)  # frames: the same reading
    assert train.filter(pl.col("series_id") == 2)["a__t1"].to_list() == pytest.approx([2.1])


def test_steps_whose_day_and_month_cannot_be_told_apart_stop_the_run_naming_the_setting(tmp_path: Path) -> None:
    """Steps on days 1-12 of three months: month first or day first, both read, in other orders. Given a format, the
    steps are read with it."""
    from datetime import date

    days = [date(2021, m, d).strftime("%m/%d/%Y") for m in (1, 2, 3) for d in (1, 5, 9, 12)]
    frame = pl.DataFrame({"series_id": [1] * 6 + [3] * 6, "step": days, "a": range(12), "b": range(12)})
    labels = LABELS.filter(pl.col("series_id").is_in([1, 3]))
    spec = make_spec()
    with pytest.raises(DataError, match=r"'step' \(data.sequences.order_by\) of the train long table \(data.sequences."
                       r"train\) holds dates that read as '%m/%d/%Y' and as '%d/%m/%Y', in other orders .* set "
                       r"data.date_formats = \{ step = '%m/%d/%Y' \}"):  # fmt: skip
        prepare_competition(spec, labels, None, sequences=(frame, None))
    # from a file too: polars read such dates day first by itself, silently (a long table is read as train is)
    frame.write_csv(tmp_path / "X_train.csv")
    labels.write_csv(tmp_path / "y_train.csv")
    files = build_spec({**BASE, "data": {**BASE["data"], "sequences": {"train": "X_train.csv", "order_by": "step"}}},
                       base_dir=tmp_path)  # fmt: skip
    with pytest.raises(DataError, match=r"holds dates that read as '%m/%d/%Y' and as '%d/%m/%Y'"):
        load_competition(files)
    given = build_spec({**BASE, "data": {**BASE["data"], "date_formats": {"step": "%d/%m/%Y"}}}, base_dir=".")
    data = prepare_competition(given, labels, None, sequences=(frame, None))
    # id 1's steps 01/01 01/05 01/09 01/12 02/01 02/05 (a = 0..5) read day first: 1 Jan, 1 May, 1 Sep, 1 Dec, 2 Jan,
    # 2 May; in time a = 0, 4, 1, 5, 2, 3
    assert [data.train.filter(pl.col("series_id") == 1)[f"a__t{t}"].item() for t in range(6)] == [0, 4, 1, 5, 2, 3]


def test_steps_written_as_times_of_day_are_read_and_ordered_in_time(tmp_path: Path) -> None:
    """A file's steps written as times of day, with and without seconds ('9:58', '10:00:05'): polars took the column
    for times from its first values and stopped the whole file at the others ('could not read the sequences.train
    file ...: conversion from `str` to `time` failed'); read as text, they were sorted as text ('10:00:05' before
    '9:58'). Now the file is read and the steps ordered as times, with a word."""
    times = ["9:58", "9:59:30", "10:00:05", "10:01", "23:59:59.5"]  # step k's text; as text: 10:00:05 first
    for role, lengths in (("train", TRAIN_LENGTHS), ("test", TEST_LENGTHS)):
        frame = long_table({i: min(n, 5) for i, n in lengths.items()}, shuffle=False)
        frame = frame.with_columns(pl.col("step").map_elements(lambda k: times[k], pl.String))
        frame.write_csv(tmp_path / f"X_{role}.csv")
    LABELS.write_csv(tmp_path / "y_train.csv")
    with pytest.warns(DataWarning, match=r"'step' .* of the train long table .* holds times of day written as text"):
        data = load_competition(make_spec(tmp_path))
    row = data.train.filter(pl.col("series_id") == 2).row(0, named=True)
    assert [row[f"a__t{t}"] for t in range(5)] == pytest.approx([2.0, 2.1, 2.2, 2.3, 2.4])  # in time
    assert data.test is not None
    assert data.test.filter(pl.col("series_id") == 10).select(f"a__t{t}" for t in range(5)).row(0) == pytest.approx(
        (10.0, 10.1, 10.2, 10.3, 10.4)
    )


@pytest.mark.parametrize("as_time", [False, True], ids=["text", "polars-time"])
def test_times_of_day_of_a_sequence_crossing_midnight_are_read_on_past_it(as_time: bool) -> None:
    """Id 2's steps run 23:59:58 .. 00:00:02: as seconds since midnight (or as polars' times: a CSV column spelled
    one way reads as Time) 00:00:00 sorted before 23:59:58, its last steps first, without a word. A sequence whose
    times pause for over 12 hours, and 4 times as long as they would across midnight, is read on past it, and said.
    Kept as they are: 06:00 .. 20:00 (id 1: 10 hours across midnight), 00:30 .. 23:30 every 8 hours (id 3: no pause
    of 12 hours), 07:00 and 20:00 (id 4: ambiguous); and minutes and seconds past an hour ('33:00': no time of day)."""
    clock = {1: ["06:00:00", "13:00:00", "20:00:00"], 2: ["23:59:58", "23:59:59", "00:00:00", "00:00:01", "00:00:02"]}
    clock |= {3: ["00:30:00", "08:30:00", "16:30:00", "23:30:00"], 4: ["07:00:00", "20:00:00"]}

    def steps(clock: dict[int, list[str]]) -> pl.DataFrame:
        text = pl.struct("series_id", "step").map_elements(lambda r: clock[r["series_id"]][r["step"]], pl.String)
        long = long_table(TRAIN_LENGTHS).with_columns(text.alias("step"))
        return long.with_columns(pl.col("step").str.to_time("%H:%M:%S")) if as_time else long

    def in_time(train: pl.DataFrame, ids: tuple[int, ...]) -> bool:
        rows = {row["series_id"]: row for row in train.iter_rows(named=True)}
        n = TRAIN_LENGTHS
        return all(
            [rows[i][f"a__t{t}"] for t in range(n[i])] == pytest.approx([i + t / 10 for t in range(n[i])]) for i in ids
        )

    with pytest.warns(
        DataWarning,
        match=r"1 sequence\(s\) cross midnight \(e\.g\. id 2: 23:59:58 \.\. 00:00:02; their times pause for over 12 "
        r"hours otherwise\), read on past it",
    ):
        train, _ = join_sequences(make_spec(), steps(clock), labels=LABELS)
    assert in_time(train, (1, 2, 3, 4))  # id 2 in time, the others as they were
    if not as_time:
        clock = {i: [v[:5] for v in values] for i, values in clock.items()} | {
            2: ["0:00", "5:10", "20:30", "33:00", "35:00"]
        }
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*cross midnight")
            train, _ = join_sequences(make_spec(), steps(clock), labels=LABELS)
        assert in_time(train, (1, 2, 3, 4))


def test_iso_steps_in_utc_written_with_z_and_fractions_are_ordered_in_time() -> None:
    """Steps ending in ``Z`` (UTC), some with fractions of a second, some with ``+00:00``: the offset formats read no
    ``Z``, so they were sorted as text ('05:30:00.5Z' before '05:30:00Z'); a test long table with offsets, fractions
    and ``Z`` where train had none is read with the format recorded from train."""
    train_steps = ["2020-01-01T05:30:00.5Z", "2020-01-01T05:29:59.9+00:00", "2020-01-01T05:30:00Z"]
    long = pl.DataFrame({"series_id": [1, 1, 1, 2, 2], "ts": [*train_steps, *train_steps[:2]], "a": [3.0, 1, 2, 6, 5]})
    labels = pl.DataFrame({"series_id": [1, 2], "label": ["x", "y"]})
    test_steps = ["2020-01-01T01:30:00.25-04:00", "2020-01-01T05:30:00Z", "2020-01-01T01:15:00-0500"]
    test = pl.DataFrame({"series_id": [7, 7, 7], "ts": test_steps, "a": [2.0, 1.0, 3.0]})
    with pytest.warns(DataWarning, match=r"'ts' \(e\.g\. '2020-01-01T05:30:00\.5Z': '%Y-%m-%dT%H:%M:%S%\.f%#z'\)"):
        train, test_frame = join_sequences(make_spec(order_by="ts"), long, test, labels=labels)
    assert train.select("a__t0", "a__t1", "a__t2").row(0) == (1.0, 2.0, 3.0)
    assert test_frame is not None and test_frame.select("a__t0", "a__t1", "a__t2").row(0) == (1.0, 2.0, 3.0)


def test_iso_steps_with_utc_offsets_are_ordered_in_time_across_a_clock_change() -> None:
    """'2018-11-04T01:15:00-0500' (06:15 UTC) comes after 01:30-0400 (05:30 UTC) and 01:45-0400: sorted as text (with
    a warning) it came first; the test long table is read with the same format."""
    night = ["2018-11-04T01:30:00-0400", "2018-11-04T01:15:00-0500", "2018-11-04T01:45:00-0400"]
    long = pl.DataFrame({"series_id": [1, 1, 1, 2, 2], "ts": [*night, *night[:2]], "a": [1.0, 3.0, 2.0, 5.0, 6.0]})
    labels = pl.DataFrame({"series_id": [1, 2], "label": ["x", "y"]})
    test = long.with_columns(pl.col("series_id") + 10)
    with pytest.warns(DataWarning, match=r"'ts' \(e\.g\. '2018-11-04T01:30:00-0400': '%Y-%m-%dT%H:%M:%S%\.f%#z'\)"):
        train, test_frame = join_sequences(make_spec(order_by="ts"), long, test, labels=labels)
    assert train.select("a__t0", "a__t1", "a__t2").row(0) == (1.0, 2.0, 3.0)
    assert test_frame is not None and test_frame.select("a__t0", "a__t1", "a__t2").row(0) == (1.0, 2.0, 3.0)


def test_iso_steps_some_with_a_utc_offset_and_some_without_are_refused() -> None:
    """'03:00-0400' (07:00 UTC), '06:00' (no offset: local time or UTC?), '05:30+0000': no order is right by
    construction. They were sorted as text with a warning (07:00 UTC before 05:30 UTC); a test long table mixing
    them beside train's offsets was refused with advice that does not fit (data.na_values). Refused, naming both."""
    steps = ["2020-01-01T03:00:00-0400", "2020-01-01T06:00:00", "2020-01-01T05:30:00+0000"]
    long = pl.DataFrame({"series_id": [1, 1, 1, 2, 2], "ts": [*steps, *steps[:2]], "a": [3.0, 2.0, 1.0, 3.0, 2.0]})
    labels = pl.DataFrame({"series_id": [1, 2], "label": ["x", "y"]})
    said = (
        r"the step column 'ts' \(data.sequences.order_by\) of the {} long table \(data.sequences.{}\) mixes times "
        r"with a UTC offset \(e.g. '{}', {} value\(s\)\) and times without one \(e.g. '{}', {} value\(s\)\): a time "
        r"without an offset names no instant \(local time or UTC\?\), so the steps of a sequence cannot be put in "
        r"time order; write every step with its offset \(or Z for UTC\), or every step without one"
    )
    with pytest.raises(DataError, match=said.format("train", "train", r"2020-01-01T03:00:00-0400", 3, steps[1], 2)):
        join_sequences(make_spec(order_by="ts"), long, None, labels=labels)
    offsets = long.with_columns(pl.col("ts").str.replace(r"T06:00:00$", "T06:00:00Z"))  # every step with its own
    test = long.with_columns(pl.col("series_id") + 10).head(3)
    with pytest.raises(DataError, match=said.format("test", "test", r"2020-01-01T03:00:00-0400", 2, steps[1], 1)):
        join_sequences(make_spec(order_by="ts"), offsets, test, labels=labels)
    with pytest.warns(DataWarning, match="hold dates"):  # every step with an offset: read in time, in UTC
        train, _ = join_sequences(make_spec(order_by="ts"), offsets, None, labels=labels)
    assert train.select("a__t0", "a__t1", "a__t2").row(0) == (1.0, 2.0, 3.0)


@pytest.mark.parametrize(
    ("steps", "in_time"),
    [  # 03:00+05 is 22:00 UTC the day before, 06:00+05:30 00:30 UTC, 02:00+00:00 02:00 UTC: (3, 1, 2) in time
        (["2020-01-01T03:00:00+05", "2020-01-01T02:00:00+00:00", "2020-01-01T06:00:00+05:30"], True),  # PostgreSQL
        (["2020-01-01T03:00:00+0500", "2020-01-01T02:00:00z", "2020-01-01T06:00:00+05:30"], True),  # RFC 3339's z
        (["2020-01-01 03:00:00 UTC", "2020-01-01 06:00:00+0000", "2020-01-01 09:00:00 UTC"], False),
    ],
)
def test_iso_steps_each_with_an_offset_written_otherwise_are_not_refused_as_mixed(
    steps: list[str], in_time: bool
) -> None:
    """Every step holds its offset, written in another of its usual forms (an offset of hours alone, ``z``,
    `` UTC``): none is a time without one, so none is refused as mixing them (each was), and those ``%#z`` reads
    are read in time order, in UTC (an offset of hours alone or ``z`` had been sorted as text: 02:00 UTC first)."""
    long = pl.DataFrame({"series_id": [1, 1, 1, 2, 2], "ts": [*steps, *steps[:2]], "a": [3.0, 2.0, 1.0, 3.0, 2.0]})
    labels = pl.DataFrame({"series_id": [1, 2], "label": ["x", "y"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # read as dates or sorted as text: said either way
        train, _ = join_sequences(make_spec(order_by="ts"), long, None, labels=labels)
    if in_time:
        assert train.select("a__t0", "a__t1", "a__t2").row(0) == (3.0, 1.0, 2.0)


def test_steps_of_other_text_are_sorted_as_text_and_said() -> None:
    frame = long_table(TRAIN_LENGTHS).with_columns(pl.format("s{}", pl.col("step")).alias("step"))
    with pytest.warns(DataWarning, match=r"the step column 'step' .* holds text \(e.g. 's\d'\): the steps are sorted"):
        join_sequences(make_spec(), frame, None, labels=LABELS)


def test_text_date_steps_are_read_in_time_where_no_format_was_recorded() -> None:
    """A run on frames joined in a notebook (join_sequences) records no format of the steps: predict sorted its test
    long table's steps as text ('04/10/2020' after '02/04/2021'), and predicted from steps out of order; so did
    read_sequences called by itself. The table's own steps give the format, which is said."""
    from kaggle_kit.readers.sequences import read_sequences

    train_long, test_long = (
        _dated(long_table(n, seed=s), "%m/%d/%Y") for n, s in ((TRAIN_LENGTHS, 0), (TEST_LENGTHS, 1))
    )
    with pytest.warns(DataWarning) as said:
        train, test, _ = read_sequences(make_spec(), train_long, test_long, labels=LABELS)
    assert [re.sub(r"\d", "9", str(w.message)).split(" hold dates")[0] for w in said] == [
        f"text column(s) 'step' (e.g. '99/99/9999': '%m/%d/%Y') of the {role} long table (data.sequences.{role})"
        for role in ("train", "test")
    ]
    assert train.filter(pl.col("series_id") == 2).select(f"a__t{t}" for t in range(5)).row(0) == pytest.approx(
        [2.0, 2.1, 2.2, 2.3, 2.4]
    )
    assert test is not None
    assert test.filter(pl.col("series_id") == 10).select(f"a__t{t}" for t in range(6)).row(0) == pytest.approx(
        [10.0, 10.1, 10.2, 10.3, 10.4, 10.5]
    )
