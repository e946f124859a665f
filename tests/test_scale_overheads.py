"""What the kit does outside the fits on a competition-sized table stays linear and cheap: no table read more often
than it needs, no column turned into Python objects row by row. Structural checks (which reads, which calls), never
timings: the sizes that made the slow paths show are in the commit messages."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import kaggle_kit.init_config as init_config
from kaggle_kit.config import build_spec, load_spec
from kaggle_kit.errors import DataWarning
from kaggle_kit.init_config import write_config
from kaggle_kit.readers.competition import _warn_repeated_rows, load_competition, repeat_candidates, repeated_rows
from kaggle_kit.runtime.runner import RunSession, run
from kaggle_kit.runtime.store import RunStore


def _competition(folder: Path, n: int = 60) -> Path:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {"id": range(n), "x": rng.normal(size=n), "c": rng.choice(["a", "b"], n), "y": np.arange(n) % 2}
    )
    frame.head(n - 12).write_csv(folder / "train.csv")
    frame.tail(12).drop("y").write_csv(folder / "test.csv")
    return folder / "train.csv"


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[str, ...]]]:
    reads: list[tuple[str, tuple[str, ...]]] = []
    real = init_config.read_table

    def counted(path: Path, *, role: str, options: Any = None) -> pl.DataFrame:
        reads.append((role, tuple(options.keep_text) if options is not None else ()))
        return real(path, role=role, options=options)

    monkeypatch.setattr(init_config, "read_table", counted)
    return reads


def test_init_reads_train_and_test_once_where_no_folder_beside_them_could_hold_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Integer ids and no folder beside train: the ids as text (for image files they might name) were read again
    with the whole train and test files (1M rows x 60 columns and a 400k test: 20 s of a 70 s init), for nothing."""
    (tmp_path / "data").mkdir()
    train = _competition(tmp_path / "data")
    reads = _counting_reads(monkeypatch)
    path, _ = write_config("plain", train, tmp_path / "cfg", preset="fast")
    assert reads.count(("train", ())) == 1 and reads.count(("test", ())) == 1, reads
    assert not any(keep for _, keep in reads), reads  # no read keeping the id's spelling: no image lookup
    spec = load_spec(path)
    assert spec.data.images is None and spec.data.id == "id"


def test_init_still_reads_the_ids_as_written_where_a_folder_beside_train_may_hold_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder beside train: the ids are read as written ('0007' names 0007.png), as before."""
    (tmp_path / "data" / "train").mkdir(parents=True)
    train = _competition(tmp_path / "data")
    reads = _counting_reads(monkeypatch)
    write_config("folder", train, tmp_path / "cfg", preset="fast")
    assert ("train", ("id",)) in reads and ("test", ("id",)) in reads, reads


def _reference_repeats(frame: pl.DataFrame) -> list[int]:
    """The rows equal to an earlier row, by the struct of every column over every row (the former whole-frame way)."""
    return frame.select(~pl.struct(frame.columns).is_first_distinct()).to_series().arg_true().to_list()


def test_repeated_rows_are_the_rows_equal_to_an_earlier_one_as_polars_compares_them() -> None:
    """Zero and minus zero, NaNs and nulls compare equal; text and dates too; a row differing in one column does not
    repeat. The positions are in order, each repeat after its first twin."""
    frame = pl.DataFrame(
        {
            "x": [0.0, -0.0, float("nan"), float("nan"), None, None, 1.0, 1.0, 2.0],
            "t": ["a", "a", "b", "b", None, None, "c", "d", "a"],
            "n": [1, 1, 2, 2, None, None, 3, 3, 1],
        }
    )
    at = repeated_rows(frame)
    assert at.to_list() == [1, 3, 5] == _reference_repeats(frame)


def test_repeated_rows_match_the_whole_frame_comparison_on_many_repeats() -> None:
    rng = np.random.default_rng(1)
    n = 2_000
    base = pl.DataFrame(
        {"a": rng.integers(0, 4, n), "b": rng.choice(["x", "y", None], n), "c": rng.integers(0, 3, n) / 2}
    )
    assert repeated_rows(base).to_list() == _reference_repeats(base)


def test_rows_without_repeats_are_compared_by_their_hashes_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """No row repeats: no candidate is left for the exact comparison, so the check of train's rows never builds the
    struct of every column (a row encoding as large as the frame: +0.9 GB on 1M rows x 58 columns)."""
    rng = np.random.default_rng(2)
    frame = pl.DataFrame({"a": rng.normal(size=5_000), "b": rng.choice(["p", "q"], 5_000), "y": np.arange(5_000)})
    assert repeat_candidates(frame).len() == 0
    structs: list[Any] = []
    real = pl.struct
    monkeypatch.setattr(pl, "struct", lambda *a, **k: structs.append(a) or real(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no repeat: no warning
        _warn_repeated_rows(frame, ["a", "b"], ["y"], None)
    assert repeated_rows(frame).len() == 0 and structs == []


def test_the_warning_names_the_repeats_and_the_first_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    x[25], x[31] = x[3], x[7]  # rows 26 and 32 repeat rows 4 and 8 (features and target)
    y = np.arange(40) % 2
    y[25], y[31] = y[3], y[7]
    pl.DataFrame({"id": range(40), "x": x, "y": y}).write_csv(tmp_path / "train.csv")
    spec = build_spec(
        {
            "name": "t",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "target": "y", "id": "id"},
            "models": [{"name": "m", "kind": "dummy"}],
        },
        base_dir=tmp_path,
    )
    with pytest.warns(DataWarning, match=r"^2 train row\(s\) repeat an earlier row's features and target exactly "
                      r"\(e\.g\. row 26\)"):  # fmt: skip
        load_competition(spec)


def test_the_baseline_fold_gathers_one_column_of_its_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The baseline predicts from the target alone: its folds' rows were gathered with every column (two gathers of
    500k rows x 60 columns a fold, about 1 s), for their count. Its predictions are as before (the class rate)."""
    rng = np.random.default_rng(4)
    n = 80
    train = pl.DataFrame(
        {"id": range(n), **{f"x{j}": rng.normal(size=n) for j in range(6)}, "y": (np.arange(n) % 4 == 0).astype(int)}
    )
    spec = build_spec(
        {
            "name": "base",
            "task": "binary",
            "metric": "log_loss",
            "data": {"train": "train.csv", "target": "y", "id": "id"},
            "folds": {"n_splits": 2},
            "models": [{"name": "m", "kind": "dummy"}],
            "run": {"n_jobs": 1, "threads_per_task": 1},
        },
        base_dir=tmp_path,
    )
    widths: list[int] = []
    real = pl.DataFrame.__getitem__

    def recorded(self: pl.DataFrame, key: Any) -> Any:
        if isinstance(key, np.ndarray) and self.height == n:  # a fold's rows of train
            widths.append(self.width)
        return real(self, key)

    monkeypatch.setattr(pl.DataFrame, "__getitem__", recorded)
    result = run(spec, train=train, runs_root=tmp_path / "runs", progress=None, record_history=False)
    assert widths and max(widths) == 1, widths  # the baseline and the dummy model: one column each
    oof = RunStore(result.run_dir).read_predictions("m", "oof").drop("id").to_numpy()
    fold = pl.read_parquet(RunStore(result.run_dir).folds_path).to_series(-1).to_numpy()
    y = train["y"].to_numpy()
    expected = np.array([y[fold != f].mean() for f in fold])  # each row: the class rate of the other fold's rows
    np.testing.assert_allclose(oof[:, -1], expected, rtol=1e-6)


def test_the_data_fingerprint_hashes_the_frames_once_per_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run asks for the fingerprint once per model's key and for run.json: the frames were hashed every time
    (0.25 s on 1M rows x 60 columns + a 400k test: a search of 50 configs, 12 s). Other data, another fingerprint."""
    train = _competition(tmp_path)
    spec = build_spec(
        {
            "name": "t",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": str(train), "test": str(tmp_path / "test.csv"), "target": "y", "id": "id"},
            "models": [{"name": "m", "kind": "dummy"}],
        },
        base_dir=tmp_path,
    )
    data = load_competition(spec)
    hashed: list[int] = []
    real = pl.DataFrame.hash_rows

    def counted(self: pl.DataFrame, *args: Any, **kwargs: Any) -> pl.Series:
        hashed.append(self.height)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "hash_rows", counted)
    first = data.fingerprint()
    assert data.fingerprint() == first and hashed == [48, 12]  # train and test, once
    other = dataclasses.replace(data, train=data.train.with_columns(pl.col("x") * 2))
    assert other.fingerprint() != first and other.fingerprint() == other.fingerprint()
    assert "_fingerprint" not in repr(data)  # no field: the data as before


def _pooled_spec(folder: Path, **data: Any) -> Any:
    return build_spec(
        {
            "name": "pooled",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "target": "y", "id": "id", **data},
            "folds": {"n_splits": 2},
            "models": [{"name": "lin", "kind": "linear"}],
            "run": {"n_jobs": 2, "threads_per_task": 1},
        },
        base_dir=folder,
    )


@pytest.mark.parametrize("na_values", [[], ["?"]])
def test_pool_workers_prepare_the_frames_the_run_read_instead_of_reading_the_files(
    tmp_path: Path, na_values: list[str]
) -> None:
    """Each worker of a process pool read train and test from their files again (1M rows x 60 columns and a 400k
    test: 14 s a worker, before its first fold); it now prepares the frames the run read, handed through its pipe.
    The files are moved away once the run has read them, before any worker starts: the folds still fit, with the
    same predictions as a run in this process."""
    _competition(tmp_path, n=120)
    seen: list[str] = []

    def moved_once_read(line: str) -> None:
        seen.append(line)
        if line.startswith("fitting"):  # the run has read the files; no worker has started
            for name in ("train.csv", "test.csv"):
                (tmp_path / name).rename(tmp_path / f"away-{name}")

    pooled = run(
        _pooled_spec(tmp_path, na_values=na_values),
        runs_root=tmp_path / "a",
        progress=moved_once_read,
        record_history=False,
    )
    assert any("2 worker(s)" in line for line in seen), seen
    for name in ("train.csv", "test.csv"):
        (tmp_path / f"away-{name}").rename(tmp_path / name)
    here = run(
        _pooled_spec(tmp_path, na_values=na_values),
        runs_root=tmp_path / "b",
        n_jobs=1,
        progress=None,
        record_history=False,
    )
    for kind in ("oof", "test"):
        a = RunStore(pooled.run_dir).read_predictions("lin", kind)
        b = RunStore(here.run_dir).read_predictions("lin", kind)
        assert a.equals(b), kind


def test_the_frames_go_to_workers_only_where_the_run_reads_its_files_as_they_were_read(tmp_path: Path) -> None:
    """The run adds the date formats it found and its models to its spec: the frames still stand for its files. A
    spec that would read them otherwise (here another data.na_values), or a run in this process: the workers read
    the files themselves, as before, and the session lets the frames go either way."""
    _competition(tmp_path, n=120)
    spec = _pooled_spec(tmp_path)
    for changed, pooled, handed in ((False, True, True), (False, False, False), (True, True, False)):
        session = RunSession.open(spec, tmp_path / "runs", None, None, 2, None, None, None)
        assert session.read is not None
        if changed:
            data = session.spec.data.model_copy(update={"na_values": ["?"]})
            session.spec = session.spec.model_copy(update={"data": data})
        frames = session._frames_for_workers(pooled)
        assert (frames is not None) == handed and session.read is None
        if frames is not None:
            assert frames[0] is not None and frames[0].height == 108 and frames[1] is not None
        session.close()


def test_run_json_records_the_training_frame_once_per_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A time-limited search writes run.json twice a wave: each write computed every numeric feature's spread over
    the training rows again (0.45 s on 1M rows). Computed once; every write records the same."""
    import kaggle_kit.runtime.runner as runner

    _competition(tmp_path, n=120)
    session = RunSession.open(_pooled_spec(tmp_path), tmp_path / "runs", None, None, 1, None, None, None)
    spreads: list[int] = []
    real = runner.numeric_ranges

    def counted(frame: pl.DataFrame, *args: Any, **kwargs: Any) -> dict[str, list[float]]:
        spreads.append(frame.height)
        return real(frame, *args, **kwargs)

    monkeypatch.setattr(runner, "numeric_ranges", counted)
    recorded = []
    for _ in range(3):
        session.write_meta(session.spec.models)
        recorded.append({k: v for k, v in session.store.read_meta().items() if k not in ("updated", "created")})
    session.close()
    assert spreads == [108] and recorded[0] == recorded[1] == recorded[2]
    assert set(recorded[0]["numeric_ranges"]) == {"x"} and recorded[0]["columns"]
    assert recorded[0]["numeric_ranges"]["x"] == real(session.data.train, ["x"])["x"]


def test_repeated_rows_compare_rows_whose_hashes_collide_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows that only share a hash are no repeats: the hashes pick the candidates, the exact comparison decides.
    Here every row hashes alike (as if all collided): the answer is still the whole-frame comparison's."""
    frame = pl.DataFrame(
        {"x": [1.0, 2.0, 1.0, 3.0, 2.0, float("nan"), float("nan")], "t": ["a", "a", "a", "b", "a", None, None]}
    )
    expected = _reference_repeats(frame)
    monkeypatch.setattr(pl.DataFrame, "hash_rows", lambda self, *a, **k: pl.Series("h", [7] * self.height))
    assert repeat_candidates(frame).len() == frame.height  # every row a candidate
    assert repeated_rows(frame).to_list() == expected == [2, 4, 6]


def test_the_frames_go_to_workers_when_the_run_found_date_formats_or_runs_one_worker_to_a_time_limit(
    tmp_path: Path,
) -> None:
    """The date formats found in train are added to the run's spec (its spec.toml records them): the frames still
    stand for its files, and go to the workers. A time limit runs the folds in a worker process even with one job
    (to stop one at the deadline): that worker prepares the frames too."""
    n = 60
    frame = pl.DataFrame(
        {
            "id": range(n),
            "x": np.random.default_rng(5).normal(size=n),
            "when": [f"{1 + i % 28:02d}/{1 + i % 12:02d}/2020" for i in range(n)],  # day first: a format found
            "y": np.arange(n) % 2,
        }
    )
    frame.head(48).write_csv(tmp_path / "train.csv")
    frame.tail(12).drop("y").write_csv(tmp_path / "test.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # the dates found are said
        session = RunSession.open(_pooled_spec(tmp_path), tmp_path / "runs", None, None, 1, None, None, None)
    try:
        assert session.spec.data.date_formats == {"when": "%d/%m/%Y"} and session.read is not None
        assert session.read[1].data.date_formats == {}  # the spec the files were read by
        session.start(4, in_workers=True)  # one job, a time limit
        assert session.job is not None and session.job.jobs == 1 and session.job.frames is not None
        assert session.job.frames[0] is not None and session.job.frames[0].height == 48
    finally:
        session.close()


def _read_both_ways(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[pl.DataFrame, pl.DataFrame, list[tuple[bool, int | None]]]:
    """``path`` read as the kit reads it, and read with polars' date inference as every read had it before (the
    text columns' check forced to say "may hold dates"); and each ``pl.read_csv`` call's (dates inferred, rows)."""
    from kaggle_kit.readers import tables
    from kaggle_kit.readers.competition import read_table

    calls: list[tuple[bool, int | None]] = []
    real_read = pl.read_csv

    def counted(*args: Any, **kwargs: Any) -> pl.DataFrame:
        calls.append((bool(kwargs.get("try_parse_dates")), kwargs.get("n_rows")))
        return real_read(*args, **kwargs)

    monkeypatch.setattr(tables.pl, "read_csv", counted)
    now = read_table(path, role="train")
    made = list(calls)
    monkeypatch.setattr(tables, "_may_hold_dates", lambda frame, overridden: True, raising=False)  # (before it)
    before = read_table(path, role="train")
    return now, before, made


def test_a_table_whose_text_holds_no_dates_is_read_without_polars_date_inference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """polars' date inference (try_parse_dates) costs about 20 us a text value over the 100,000 rows it infers from:
    9 s of a 50,000-row train file with 8 category columns ('L12'), in `run` and again in `report`, for text columns
    that could hold no date. They are read without it now, to the same frame."""
    rng = np.random.default_rng(0)
    n = 300
    frame = pl.DataFrame(
        {
            "id": range(n),
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "code": [f"L{v}" for v in rng.integers(0, 400, n)],  # a letter first: no date
            "sex": rng.choice(["male", "female"], n),  # no digit: no date
            "ticket": [f"A/5 {v}" if v % 3 else str(v) for v in rng.integers(0, 9999, n)],  # mixed: text
            "y": rng.integers(0, 2, n),
        }
    )
    frame.write_csv(tmp_path / "t.csv")
    now, before, calls = _read_both_ways(tmp_path / "t.csv", monkeypatch)
    assert not any(dates for dates, _ in calls), calls  # no read with the date inference
    assert now.equals(before) and now.schema == before.schema
    assert now.schema["code"] == pl.String and now.schema["x"] == pl.Float64


def test_text_that_may_hold_dates_is_read_with_polars_date_inference_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dates, datetimes, times (a column of two spellings read as text), a date column with one word among its
    values, quoted numbers, '1-2 yrs' codes: each column as the date inference reads it."""
    n = 40
    days = [f"2021-03-{d % 28 + 1:02d}" for d in range(n)]
    lines = ["id,day,stamp,clock,mixed_clock,day_or_word,quoted,span,note,y"]
    for i in range(n):
        word = "unknown" if i == 30 else days[i]
        clock = "10:00" if i % 2 else "10:00:05"
        lines.append(
            f'{i},{days[i]},{days[i]} 12:{i % 60:02d}:00,08:{i % 60:02d}:00,{clock},{word},"{i}",{i % 3}-{i % 3 + 1} '
            f"yrs,{'' if i % 4 else 'x' + str(i)},{i % 2}"
        )
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    now, before, calls = _read_both_ways(tmp_path / "d.csv", monkeypatch)
    assert (True, None) in calls  # dates may be there: read with the inference
    assert (False, None) not in calls, calls  # its first rows said so: the file is not read whole without it first
    assert now.equals(before) and now.schema == before.schema
    assert now.schema["day"] == pl.Date and now.schema["stamp"] == pl.Datetime("us")
    assert now.schema["clock"] == pl.Time and now.schema["day_or_word"] == pl.String


def test_dates_that_begin_after_the_first_rows_are_read_with_polars_date_inference_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first 1,000 rows tell no dates (a column empty there, one of numbers there), the rows after them do: the
    whole file's text columns are checked too, and the file read with the inference (the empty column's dates are
    dates, the numbers-then-dates column text), as before."""
    n = 1_200
    lines = ["id,later,numbers_then_dates,code,y"]
    for i in range(n):
        day = f"2021-04-{i % 28 + 1:02d}"
        lines.append(f"{i},{day if i >= 1_100 else ''},{day if i >= 1_100 else i},L{i % 7},{i % 2}")
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")
    now, before, calls = _read_both_ways(tmp_path / "late.csv", monkeypatch)
    assert (False, None) in calls and (True, None) in calls, calls  # read whole without it, then with it
    assert now.equals(before) and now.schema == before.schema
    assert now.schema["later"] == pl.Date and now.schema["numbers_then_dates"] == pl.String
