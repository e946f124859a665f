"""Messy files read as the user's [data] keys say, the same way by every command: the sample submission in
data.encoding, numbers in a sample, a test column stored in another type than train's, a feature on another scale
in test than in train, a pipeline naming no column."""

from __future__ import annotations

import gzip
import json
import re
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import kaggle_kit
from kaggle_kit.cli import main
from kaggle_kit.config import build_spec
from kaggle_kit.errors import DataWarning
from kaggle_kit.runtime.runner import run

LOGREG = {"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}


def _spec(comp: Path, data: dict, models: list[dict] | None = None, **top: object):  # type: ignore[no-untyped-def]
    raw = {"name": "c", "task": "binary", "metric": "accuracy", "data": data, "folds": {"n_splits": 2},
           "run": {"n_jobs": 1, "threads_per_task": 1}, "models": models or [LOGREG], **top}  # fmt: skip
    return build_spec(raw, base_dir=comp)


def test_the_sample_submission_is_read_in_data_encoding_by_run_submit_and_predict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A competition written in cp1251 with data.encoding = 'cp1251': the sample alone was read as UTF-8, else
    cp1252, whatever data.encoding said, so `submit` warned that it is not UTF-8 and that its labels ('êîò') are none
    of train's, then stopped after the whole run: its ids ('т60') were no test ids."""
    comp = tmp_path / "comp"
    comp.mkdir()
    x = np.random.default_rng(0).normal(size=40)
    labels = np.where(x > 0, "пёс", "кот")
    train = "id,x,y\n" + "".join(f"т{i},{x[i]:.3f},{labels[i]}\n" for i in range(30))
    (comp / "train.csv").write_bytes(train.encode("cp1251"))
    (comp / "test.csv").write_bytes(("id,x\n" + "".join(f"т{i},{x[i]:.3f}\n" for i in range(30, 40))).encode("cp1251"))
    sample = "id,y\n" + "".join(f"т{i},кот\n" for i in range(39, 29, -1))
    (comp / "sample_submission.csv").write_bytes(sample.encode("cp1251"))
    data = {"train": "train.csv", "test": "test.csv", "sample_submission": "sample_submission.csv", "id": "id",
            "target": "y", "encoding": "cp1251"}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_dir = run(_spec(comp, data), runs_root=comp / "runs", progress=None, record_history=False).run_dir
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["sample_first_row"] == ["т39", "кот"]
    capsys.readouterr()
    assert main(["submit", str(run_dir), "--model", "lr", "--out", str(tmp_path / "sub.csv")]) == 0
    assert capsys.readouterr().err == ""
    want = [f"т{i}" for i in range(39, 29, -1)]
    sub = pl.read_csv(tmp_path / "sub.csv")
    assert sub["id"].to_list() == want and set(sub["y"]) <= {"кот", "пёс"}
    test = pl.read_csv((comp / "test.csv").read_bytes().decode("cp1251").encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kaggle_kit.predict(run_dir, test, model="lr", out=tmp_path / "p.csv", sample=comp / "sample_submission.csv")
    assert pl.read_csv(tmp_path / "p.csv")["id"].to_list() == want
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no sample given: the one the run recorded, read in its encoding alike
        kaggle_kit.predict(run_dir, test, model="lr", out=tmp_path / "q.csv")
    assert pl.read_csv(tmp_path / "q.csv").columns == ["id", "y"]


@pytest.mark.parametrize(
    ("separator", "sample_value", "task"), [(",", '"1,000"', "multiclass"), (";", "1,5", "regression")]
)
def test_init_reads_a_samples_comma_as_the_files_separator_says(
    separator: str, sample_value: str, task: str, tmp_path: Path
) -> None:
    """A ','-separated sample's quoted "1,000" was read with a decimal comma, as 1.0: init took a target of the whole
    numbers 1000 .. 5000 for a number to regress (`the sample submission's 'price' holds decimals (1.0)`). A
    ';'-separated sample's 1,5 is the decimal 1.5 still."""
    from kaggle_kit.init_config import infer_spec

    comp = tmp_path / "comp"
    comp.mkdir()
    x = np.random.default_rng(0).normal(size=70)
    price = 1000 * (np.arange(70) % 5 + 1)
    pl.DataFrame({"id": range(60), "x": x[:60], "price": price[:60]}).write_csv(comp / "train.csv")
    pl.DataFrame({"id": range(60, 70), "x": x[60:]}).write_csv(comp / "test.csv")
    sample = f"id{separator}price\n" + "".join(f"{i}{separator}{sample_value}\n" for i in range(60, 70))
    (comp / "sample_submission.csv").write_text(sample)
    spec, why = infer_spec("comp", comp / "train.csv", preset="fast")
    assert spec["task"] == task, why


@pytest.mark.parametrize(
    ("values", "separator", "want"),
    [
        (["0,123", "0,5"], ",", [0.123, 0.5]),  # probabilities with a decimal comma, quoted in a ','-separated file
        (["1,000", "0,250"], ",", [1.0, 0.25]),  # '1,000' beside '0,250': a decimal comma too
        (["1,000", "2,500"], ",", [1000, 2500]),  # either: the ',' separator's thousands
        (["1,000", "2,500"], ";", [1.0, 2.5]),  # either: the ';' separator's decimal comma
        (["0,5", "1,234.5"], ",", None),  # one of each: no numbers (neither reading is right for both)
    ],
)
def test_a_samples_commas_are_read_as_its_values_and_separator_say(
    values: list[str], separator: str, want: list[float] | None
) -> None:
    from kaggle_kit.sample_submission import sample_numbers

    got = sample_numbers(pl.Series("p", values), separator)
    assert (got if got is None else got.to_list()) == want


@pytest.mark.parametrize(
    ("stored", "want"),
    [
        (pl.Series("code", [10, 20, None]), ["10", "20", None]),
        (pl.Series("code", [10.0, 20.0, float("nan")]), ["10", "20", None]),  # a float column that held a NaN
        (pl.Series("code", [10.5, 20.0, None]), ["10.5", "20", None]),  # a new level, said as any is
        (pl.Series("code", [Decimal("10.00"), Decimal("20.50"), None]), ["10", "20.5", None]),  # decimals: a trace
        (pl.Series("code", [float("inf"), 20.0, None]), "values hold inf, which no text level of train spells"),
    ],
)
def test_a_parquet_test_column_of_numbers_where_train_holds_text_is_read_alike_by_run_and_predict(
    stored: pl.Series, want: list[str | None] | str, tmp_path: Path
) -> None:
    """Train's 'code' holds text ('a1' .. 'a6' beside '10', '20'); a parquet test file stores its codes as numbers.
    `run` refused the column (`String in train but Int64 in test`) while `predict` cast it, a float to '10.0', a
    level no training row holds (said as a new level, predicted as one). Both read numbers as the text a CSV file
    writes (whole ones as their digits), and refuse a value no text spells (inf), naming it."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.competition import check_new_test, column_record, load_competition

    comp = tmp_path / "comp"
    comp.mkdir()
    levels = ["10", "20", "a1", "a2", "a3", "a4", "a5", "a6"]
    x = np.random.default_rng(0).normal(size=32)
    train = pl.DataFrame({"id": range(32), "x": x, "code": [levels[i % 8] for i in range(32)], "y": (x > 0) * 1})
    train.write_parquet(comp / "train.parquet")
    test = pl.DataFrame({"id": [40, 41, 42], "x": [0.1, 0.2, 0.3], "code": stored})
    test.write_parquet(comp / "test.parquet")
    spec = _spec(comp, {"train": "train.parquet", "test": "test.parquet", "id": "id", "target": "y"})
    record = column_record(train, ["x", "code"], ["code"])
    if isinstance(want, str):
        with pytest.raises(DataError, match=f"column 'code' is String in train but Float64 in test, whose {want}"):
            load_competition(spec)
        with pytest.raises(DataError, match=f"column 'code' is String in train but Float64 in test, whose {want}"):
            check_new_test(test, record, id_column="id", target="y", categorical=["code"])
        return
    assert load_competition(spec).test["code"].to_list() == want  # type: ignore[union-attr]
    assert check_new_test(test, record, id_column="id", target="y", categorical=["code"])["code"].to_list() == want


# ------------------------------------------------------------------------- a finished run, for `predict`
N = 40


def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Train and test rows: a pixel column 'p' (0 .. 255), counts 'n', booleans 'b', a number 'x'."""
    rng = np.random.default_rng(1)
    p = rng.integers(0, 256, size=N + 24)
    frame = pl.DataFrame(
        {
            "id": range(N + 24),
            "x": rng.normal(size=N + 24),
            "n": rng.integers(0, 5, size=N + 24),
            "p": p,
            "b": rng.random(N + 24) > 0.5,
            "y": (p > 128) * 1,
        }
    )
    return frame[:N], frame[N:].drop("y")


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A run of two logistic regressions sharing a pipeline (standardize 'x', 'n'), 2 folds."""
    comp = tmp_path_factory.mktemp("finished")
    train, test = _frames()
    train.write_csv(comp / "train.csv")
    test.write_csv(comp / "test.csv")
    data = {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"}
    models = [{**LOGREG, "pipeline": "scaled"}, {**LOGREG, "name": "lr2", "pipeline": "scaled", "params": {"C": 0.5}}]
    pipelines = {"scaled": {"steps": [{"step": "standardize", "columns": ["x", "n"]}]}}
    spec = _spec(comp, data, models, pipelines=pipelines)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_dir = run(spec, runs_root=comp / "runs", progress=None, record_history=False).run_dir
    return {"comp": comp, "run": run_dir}


def test_predict_reads_trains_booleans_written_0_1_as_run_does(finished: dict[str, Path]) -> None:
    """Train's booleans 'b' written 0 / 1 in a test file: `run` refused them (`Boolean in train but Int64 in test`)
    while `predict` cast them; 0 / 1 / 2 `predict` kept as numbers, new levels of a boolean column. Both read 0 / 1
    as train's booleans now and refuse a 2, in one check (the categorical columns the spec lists, for both)."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.competition import load_competition

    comp = finished["comp"]
    _, test = _frames()
    as_01 = test.with_columns(pl.col("b").cast(pl.Int64))
    as_01.write_csv(comp / "test01.csv")
    data = {"train": "train.csv", "test": "test01.csv", "id": "id", "target": "y"}
    assert load_competition(_spec(comp, data)).test["b"].to_list() == test["b"].to_list()  # type: ignore[index]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kaggle_kit.predict(finished["run"], as_01, model="lr", out=comp / "p01.csv")
    with pytest.raises(DataError, match="column 'b' is Boolean in train but Int32 in test"):
        kaggle_kit.predict(finished["run"], as_01.with_columns(b=pl.lit(2)), model="lr", out=comp / "p2.csv")


def test_predict_says_a_pipelines_dtype_cast_once(
    finished: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Counts 'n' written 2.5 in a new file: each fold model's pipeline said its cast, and each model of the blend
    (or two models with one pipeline) again: Python's once-per-place display forgets what it showed whenever a
    library enters ``warnings.catch_warnings``. Said once, by the first fold model, and once per command."""
    from kaggle_kit.runtime.progress import install_plain_warnings

    comp = finished["comp"]
    _, test = _frames()
    halves = test.with_columns(pl.col("n") + 0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kaggle_kit.predict(finished["run"], halves, model="lr", out=comp / "halves.csv")
    said = [str(w.message) for w in caught if "is Float64 here but was Int64" in str(w.message)]
    assert len(said) == 1, said
    with warnings.catch_warnings():
        install_plain_warnings()
        warnings.simplefilter("always")
        for _ in range(2):  # two models, one pipeline: one message
            warnings.warn(said[0], UserWarning, stacklevel=1)
    assert capsys.readouterr().err == f"warning: {said[0]}\n"


def test_a_test_column_on_another_scale_than_trains_is_warned_of_by_run_and_predict(finished: dict[str, Path]) -> None:
    """Pixels 0 .. 255 in train and 0 .. 1 in test ran without a word: every model read test's pixels as near-black.
    `run` and `predict` name the column, both ranges and the factor."""
    from kaggle_kit.readers.competition import load_competition

    comp = finished["comp"]
    _, test = _frames()
    scaled = test.with_columns(pl.col("p") / 255)
    scaled.write_csv(comp / "scaled.csv")
    said = (
        r"column\(s\) 'p' \(train \d+ \.\. \d+, test 0\.\d+ \.\. 0\.\d+: test's values are about 1/255 train's: pixels"
    )
    with pytest.warns(DataWarning, match=said + ".*on another scale than train's.*write both files on one scale"):
        load_competition(_spec(comp, {"train": "train.csv", "test": "scaled.csv", "id": "id", "target": "y"}))
    with pytest.warns(DataWarning, match=said + ".*write its values on the training file's scale"):
        kaggle_kit.predict(finished["run"], scaled, model="lr", out=comp / "scaled_sub.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same scale: no word
        kaggle_kit.predict(finished["run"], test, model="lr", out=comp / "same_sub.csv")


@pytest.mark.parametrize(
    ("train", "test", "said"),
    [
        ([0.0, 0.2, 0.5, 0.8, 1.0] * 4, [0, 50, 128, 200, 255] * 4, "about 255 times train's: pixels"),
        ([5.0, 12.5, 20.0, 30.0] * 5, [0.05, 0.125, 0.2, 0.3] * 5, r"about 1/100 train's: a percentage .*'12%'"),
        (
            [0.0, 1.0, 2.0, 3.0] * 5,
            [0.0, 0.03, 0.06, 0.09] * 5,
            r"about 1/33.3 train's, or test's rows hold a narrower "
            r"range\)",
        ),  # no usual factor: a count of days of new customers alone too
        ([0.0, 1.0, 2.0, 3.0] * 5, [0.0, 0.1, 0.2, 0.3] * 5, None),  # a narrower spread, 10 times: not 30
        ([0.0, 100.0, 200.0] * 7, [150.0, 150.5, 151.0] * 7, None),  # within train's range: no scale of it
        ([0.0, 1.0, 2.0, 3.0] * 5, [0.0, 0.01, 0.02] * 6 + [0.03], None),  # 19 test values tell no spread
        ([0.0, 1.0, 2.0, 3.0] * 5 + [3000.0], [0.0, 1.0, 2.0, 3.0] * 5, None),  # an outlier in train: no spread of it
    ],
)
def test_a_scale_mismatch_is_a_spread_30_times_apart_that_lines_up_once_scaled(
    train: list[float], test: list[float], said: str | None
) -> None:
    """The reverse of pixels (0 .. 1 in train), a percentage read as 12 from train's '12%' beside test's 0.12, any
    factor of 30 or more; not a narrower test spread, nor test values bunched within train's range."""
    from kaggle_kit.readers.scales import numeric_ranges, scale_mismatch

    ranges = numeric_ranges(pl.DataFrame({"c": train}), ["c"])
    found = scale_mismatch(ranges, pl.DataFrame({"c": test}), "fix it")
    if said is None:
        assert found is None, found
    else:
        assert found is not None and re.search(said, found), found


def test_predict_on_a_few_images_as_pixel_columns_on_another_scale_is_warned_of(tmp_path: Path) -> None:
    """A run on 16 pixel columns read 0 .. 255; `predict` on 5 new images given 0 .. 1: fewer than 20 rows tell no
    column's spread, so the models read near-black pictures without a word. The numbered columns' pooled range is
    compared with training's: said, naming them; the same rows on the training scale get no word."""
    rng = np.random.default_rng(3)
    pixels = {f"pixel{k}": rng.integers(0, 256, size=60).astype(float) for k in range(16)}
    frame = pl.DataFrame({"id": range(60), **pixels, "y": (np.arange(60) % 2)})
    frame.head(48).write_csv(tmp_path / "train.csv")
    frame.tail(12).drop("y").write_csv(tmp_path / "test.csv")
    spec = _spec(tmp_path, {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"})
    run_dir = run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False).run_dir
    new = frame.tail(5).drop("y")
    said = (
        r"column\(s\) 'pixel0' \.\. 'pixel15' \(16 numbered columns; train 0 \.\. 255, these rows 0\.\d+ \.\. "
        r"0\.\d+: their values are about 1/255 train's: pixels written 0 \.\. 255 in one file and 0 \.\. 1 in the "
        r"other\?\) hold values on another scale than train's: .*write its values on the training file's scale"
    )
    with pytest.warns(DataWarning, match=said):
        kaggle_kit.predict(run_dir, new.with_columns(pl.col(f"pixel{k}") / 255 for k in range(16)), model="lr")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the training scale: no word
        kaggle_kit.predict(run_dir, new, model="lr")


@pytest.mark.parametrize(
    ("train_top", "new_top", "n_rows", "said"),
    [
        (255.0, 1.0, 5, "about 1/255 train's: pixels"),
        (1.0, 255.0, 5, "about 255 times train's: pixels"),  # the reverse
        (255.0, 200.0, 5, None),  # the same scale, a darker handful
        (255.0, 1.0, 20, None),  # 20 rows: each column's own check tells (scale_mismatch)
    ],
)
def test_numbered_columns_of_a_few_rows_are_compared_by_their_pooled_range(
    train_top: float, new_top: float, n_rows: int, said: str | None
) -> None:
    from kaggle_kit.readers.scales import numbered_scale_mismatch, numeric_ranges

    rng = np.random.default_rng(0)
    names = [f"px{k}" for k in range(16)]
    ranges = numeric_ranges(pl.DataFrame({c: rng.uniform(0, train_top, 40) for c in names}), names)
    rows = pl.DataFrame({c: np.linspace(0, new_top, n_rows) for c in names})
    found = numbered_scale_mismatch(ranges, rows, "fix it")
    assert (found is None) if said is None else (found is not None and said in found), found
    assert numbered_scale_mismatch(ranges, rows.select(names[:15]), "fix it") is None  # 15 columns: no image


def test_numbered_columns_of_other_units_or_a_few_dark_pictures_are_no_scale_mismatch() -> None:
    """The pooled check of a few new rows must not take legitimate data for another scale: 31 sensors in other units
    (``sensor_0 .. sensor_30``, spreads 1 .. 100,000) whose widest ones are empty in the new rows (pooled, they read
    as about 1/100 train's), a training outlier in one pixel column, and a few dark pictures on train's 0 .. 255
    (max 5: whole numbers, where a 0 .. 1 picture holds fractions). The same dark rows written 0 .. 1 are said."""
    from kaggle_kit.readers.scales import numbered_scale_mismatch, numeric_ranges

    rng = np.random.default_rng(1)
    sensors = [f"sensor_{k}" for k in range(31)]
    units = {c: 10.0 ** (k % 6) for k, c in enumerate(sensors)}
    ranges = numeric_ranges(pl.DataFrame({c: rng.uniform(0, units[c], 200) for c in sensors}), sensors)
    rows = pl.DataFrame({c: rng.uniform(0, units[c], 3) if units[c] < 1e4 else [None] * 3 for c in sensors})
    rows = rows.cast(pl.Float64)  # a new file's column empty in its few rows: read as numbers
    assert numbered_scale_mismatch(ranges, rows, "fix it") is None
    early = pl.DataFrame({c: rng.uniform(0, min(units[c], 500), 3) for c in sensors})  # the counters still low
    assert numbered_scale_mismatch(ranges, early, "fix it") is None
    bands = [f"band{k}" for k in range(20)]  # on scales 40 times apart (one scale to the check), the wide ones empty
    ranges = numeric_ranges(
        pl.DataFrame({c: rng.uniform(0, 1 if k < 10 else 40, 200) for k, c in enumerate(bands)}), bands
    )
    rows = pl.DataFrame({c: rng.uniform(0, 1, 3) if k < 10 else [None] * 3 for k, c in enumerate(bands)})
    assert numbered_scale_mismatch(ranges, rows.cast(pl.Float64), "fix it") is None
    pixels = [f"pixel{k}" for k in range(20)]
    train = pl.DataFrame({c: rng.integers(0, 256, 200).astype(float) for c in pixels})
    dark = pl.DataFrame({c: rng.integers(0, 6, 4).astype(float) for c in pixels})
    assert numbered_scale_mismatch(numeric_ranges(train, pixels), dark, "fix it") is None
    lit = pl.DataFrame({c: rng.uniform(0, 255, 4) for c in pixels})
    outlier = train.with_columns(pl.when(pl.int_range(200) == 0).then(1e6).otherwise(pl.col("pixel3")).alias("pixel3"))
    ranges = numeric_ranges(outlier, pixels)
    assert numbered_scale_mismatch(ranges, lit, "fix it") is None
    found = numbered_scale_mismatch(ranges, dark.with_columns(pl.col(pixels) / 5), "fix it")
    assert found is not None and "about 1/255 train's" in found, found
    found = numbered_scale_mismatch(ranges, dark.with_columns(pl.col(pixels).clip(0, 1)), "fix it")  # 0/1 masks
    assert found is not None and "about 1/255 train's" in found, found


def test_a_large_frames_spread_is_read_from_every_kth_row_its_ends_and_count_from_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each column's percentiles sorted every row: 4.6 s for 1M rows x 100, for train, test and each run.json. Read
    from about _SAMPLE_ROWS rows; the min, max and the count of values (a column mostly missing) from every row."""
    from kaggle_kit.readers import scales

    monkeypatch.setattr(scales, "_SAMPLE_ROWS", 50)
    sparse = [float(i) if i % 40 == 1 else None for i in range(1000)]  # 25 values, none on a 20th row
    frame = pl.DataFrame({"a": np.arange(1000.0), "sparse": sparse})
    ranges = scales.numeric_ranges(frame, ["a", "sparse"], min_values=20)
    assert ranges["a"][0] == 0 and ranges["a"][3] == 999 and abs(ranges["a"][1] - 100) <= 20
    assert abs(ranges["a"][2] - 900) <= 20
    assert "sparse" not in ranges  # no value among the rows read for its spread: none told
    sparse = [float(i) if i % 30 == 0 else None for i in range(1000)]  # 34 values, 17 of them on a 20th row
    ranges = scales.numeric_ranges(pl.DataFrame({"sparse": sparse}), ["sparse"], min_values=20)
    assert ranges["sparse"][0] == 0 and ranges["sparse"][3] == 990  # 17 values read for the spread, 34 counted


def test_a_pipeline_naming_no_column_is_refused_before_any_fit(tmp_path: Path) -> None:
    """`columns = ["Agee"]`: the run fitted the baseline (and every model before the pipeline's) and stopped at the
    pipeline's first fold with the step's `column 'Agee' is not in the frame`. Refused when the data is read, naming
    the model, the pipeline, the step, the column and the near miss; nothing is fitted."""
    from kaggle_kit.errors import ConfigError

    comp = tmp_path / "comp"
    comp.mkdir()
    train, test = _frames()
    train.rename({"n": "Age"}).write_csv(comp / "train.csv")
    test.rename({"n": "Age"}).write_csv(comp / "test.csv")
    data = {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"}
    steps = [{"step": "clip", "columns": ["x"]}, {"step": "standardize", "columns": ["x", "Agee"]}]
    spec = _spec(comp, data, [LOGREG, {**LOGREG, "name": "lr2", "pipeline": "p"}], pipelines={"p": {"steps": steps}})
    said = (
        r"model 'lr2' \(pipeline 'p'\) steps\[1\] \(standardize\): columns names 'Agee', which is not a column of the "
        r"data\. Did you mean 'Age'\? Columns: \['id', 'x', 'Age', 'p', 'b', 'y'\]"
    )
    with pytest.raises(ConfigError, match=said):
        run(spec, runs_root=comp / "runs", progress=None, record_history=False)
    assert not list((comp / "runs").glob("*/models/*/*/folds/*")), "a model was fitted before the refusal"


def test_a_step_naming_no_column_is_named_where_the_user_wrote_it(tmp_path: Path) -> None:
    """The index was the fitted list's: a pipeline extending another, or data.text's own step first, made the user's
    `steps[0]` of pipeline 'p' 'steps[2]' (pipeline 'p' has one step)."""
    from kaggle_kit.errors import ConfigError
    from kaggle_kit.features.pipeline import check_step_columns

    comp = tmp_path / "comp"
    comp.mkdir()
    train, test = _frames()
    train.rename({"n": "Age"}).write_csv(comp / "train.csv")
    test.rename({"n": "Age"}).write_csv(comp / "test.csv")
    data = {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"}
    pipelines = {
        "base": {"steps": [{"step": "clip", "columns": ["x"]}]},
        "p": {"extends": "base", "steps": [{"step": "standardize", "columns": ["x", "Agee"]}]},
    }
    spec = _spec(comp, data, [{**LOGREG, "pipeline": "p"}], pipelines=pipelines)
    with pytest.raises(
        ConfigError, match=r"model 'lr' \(pipeline 'p'\) steps\[0\] \(standardize\): columns names 'Agee'"
    ):
        run(spec, runs_root=comp / "runs", progress=None, record_history=False)
    pipelines["base"]["steps"][0]["columns"] = ["xx"]
    spec = _spec(comp, {**data, "text": ["b"]}, [{**LOGREG, "pipeline": "p"}], pipelines=pipelines)
    model = spec.models[0]
    steps, places = spec.feature_steps(model), spec.feature_step_places(model)
    assert places == ["(data.text)", "(pipeline 'base', which 'p' extends) steps[0]", "(pipeline 'p') steps[0]"]
    assert [s["step"] for s in steps] == ["text", "clip", "standardize"]
    with pytest.raises(ConfigError, match=r"model 'lr' \(pipeline 'base', which 'p' extends\) steps\[0\] \(clip\)"):
        check_step_columns(steps, ["id", "x", "b", "y"], "model 'lr'", places)


def test_a_step_may_name_the_columns_an_earlier_step_makes() -> None:
    """A name an earlier step makes (`x__isna`, `day__year`, `a__plus__b`) is not known before the fit: a column of
    the data then `__` passes; the same name in the first step, or another name, does not."""
    from kaggle_kit.errors import ConfigError
    from kaggle_kit.features.pipeline import check_step_columns

    columns = ["id", "x", "day", "y"]
    made = [
        {"step": "date_parts", "columns": ["day"]},
        {"step": "group_aggregate", "by": "day__year", "columns": ["x"]},
    ]
    check_step_columns(made, columns, "pipeline 'p'")
    with pytest.raises(ConfigError, match=r"steps\[0\] \(group_aggregate\): by names 'day__year'"):
        check_step_columns(made[1:], columns, "pipeline 'p'")
    with pytest.raises(ConfigError, match=r"by names 'dya'.* Did you mean 'day'\?"):
        check_step_columns([made[0], {**made[1], "by": "dya"}], columns, "pipeline 'p'")


# ------------------------------------------------------------------------- CSV files as they come
ROWS = "".join(f"{i},{i / 2},{'ab'[i % 2]}\n" for i in range(1, 7))


@pytest.mark.parametrize("again", ["id,x,label\n", '\ufeff"id", "x" ,"label"\n'], ids=["plain", "bom-quoted"])
def test_a_header_repeated_among_the_rows_is_read_as_no_row(again: str, tmp_path: Path) -> None:
    """Two files joined one after another repeat the header: its line was a row of the header's names, which turned
    'x' to text (an error naming 'x' as a placeholder to add to na_values), made 'label' a class, and gave a sample an
    id 'id' no test row has (`submit` stopped after the run). Said, and read as no row, by every reader; a repeat
    with a byte order mark (two files saved with one, joined by `cat`), quotes or spaces around its names alike."""
    from kaggle_kit.readers.tables import read_table
    from kaggle_kit.sample_submission import read_sample

    path = tmp_path / "train.csv"
    more = "".join(f"{i},{i / 2},{'ab'[i % 2]}\n" for i in range(11, 17))  # the second file's rows
    path.write_text('"id","x","label"\n' + ROWS + again + more)  # `cat` of two files (saved with a BOM)
    with pytest.warns(DataWarning, match=r"repeats its header line 1 time\(s\) among its rows \(first as row 7: files"):
        frame = read_table(path, role="train")
    assert frame.schema["x"] == pl.Float64 and frame.height == 12 and set(frame["label"]) == {"a", "b"}
    assert frame.schema["id"] == pl.Int64  # the rows parsed anew, as a file without the repeat (dates as dates)
    with pytest.warns(DataWarning, match="repeats its header line"):
        sample = read_sample(path)
    assert sample.height == 12 and "id" not in sample["id"].to_list()


def test_a_repeated_header_is_looked_for_in_the_other_columns_only_where_the_first_holds_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every column of every row compared with its name cost 3 s on a sample-like text file of 1M rows x 100
    columns (twice the read): the first column tells where a repeat may be."""
    from kaggle_kit.readers.tables import read_table

    path = tmp_path / "sample.csv"
    path.write_text("id,label\n" + "".join(f"a{i},b{i}\n" for i in range(20)))

    def compared(*args: object, **kwargs: object) -> None:
        raise AssertionError("every column compared with its name")

    monkeypatch.setattr(pl, "all_horizontal", compared)
    assert read_table(path, role="train").height == 20


def test_a_files_last_byte_is_read_only_where_its_last_value_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file ending in a separator leaves its last value missing: the last byte is read only then (a .gz file's
    last byte is its whole text decompressed: 2.5 s more for a 1M x 100 file missing a value in its last column)."""
    from kaggle_kit.readers import tables

    path = tmp_path / "train.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("id,x\n1,\n2,0.5\n")

    def last_byte(path: Path) -> bytes:
        raise AssertionError("the last byte read")

    monkeypatch.setattr(tables, "last_byte", last_byte)
    assert tables.read_table(path, role="train")["x"].to_list() == [None, 0.5]


def test_a_file_whose_lines_end_in_a_carriage_return_alone_is_read_by_every_reader(tmp_path: Path) -> None:
    """An old Mac's "CSV (Macintosh)": polars read no line end, so train had 'a header but no rows' and a sample's
    names ran into its values ('label\\r1'). Read as the same file with line feeds."""
    from kaggle_kit.readers.tables import read_table
    from kaggle_kit.sample_submission import read_sample

    path = tmp_path / "train.csv"
    path.write_bytes(("id,x,label\n" + ROWS).replace("\n", "\r").encode())
    lf = tmp_path / "lf.csv"
    lf.write_text("id,x,label\n" + ROWS)
    assert read_table(path, role="train").equals(read_table(lf, role="train"))
    assert read_sample(path).equals(read_sample(lf))
    path.write_bytes(("id,x,label\n" + ROWS).replace("\n", "\r").encode("cp1252") + "7,3.5,é\r".encode("cp1252"))
    with pytest.warns(DataWarning, match="is not UTF-8"):
        assert read_table(path, role="train")["label"].to_list()[-1] == "é"


def test_a_file_cut_short_mid_row_says_so(tmp_path: Path) -> None:
    """A download that stopped mid-row: its last line, without a line end, has too few fields. It was named as any
    short line ("every column needs a field ..."), whose fix is no fix of a file cut short. Cut right after a
    separator, the row is whole but for its last value: read as missing, with a warning (it was silent)."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import read_table

    path = tmp_path / "test.csv"
    path.write_text("id,x,label\n" + ROWS + "7,3.")
    with pytest.raises(DataError, match=r"line 8 .* has 2 fields but its header has 3, and it is the file's last line, "
                       r"without a line end: the file is cut short"):  # fmt: skip
        read_table(path, role="test")
    path.write_text("id,x,label\n1,2\n" + ROWS)
    with pytest.raises(DataError, match=r"line 2 .* has 2 fields .*every column needs a field"):
        read_table(path, role="test")
    path.write_text("id,x,label\n" + ROWS + "7,3.5,")  # cut right after a separator: as many fields as the header
    with pytest.warns(DataWarning, match="ends in a separator without a line end: .* the file may be cut short"):
        assert read_table(path, role="test").row(-1) == (7, 3.5, None)
    path.write_text("id,x,label\n" + ROWS + '7,"3"5,a\n8,3.\n')  # a short last line with its line end: no cut
    with pytest.raises(DataError, match=r"line 9 .* has 2 fields .*every column needs a field"):
        read_table(path, role="test")
    for cut, said in [
        ('id,text\n1,"a, b"\n2,"hel\nlo', r"ends inside a quoted value that opens on line 3 .*: the file is cut short"),
        ('id,text,y\n1,"a, b",0\n2,"hel\n', r"line 3 .* has 2 fields .*, within a quoted value: the file is cut short"),
    ]:  # cut within a text: polars said 'could not parse `"hel lo` as dtype `str`', or 'every column needs a field'
        path.write_text(cut)
        with pytest.raises(DataError, match=said):
            read_table(path, role="test")
    for whole in ("id,x,label\n" + ROWS + "7,3.5,\n", "id,x,\n1,0.5,\n2,1.5,"):  # a missing value; every line so
        path.write_text(whole)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            read_table(path, role="test")


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_excels_separator_line_above_the_header_is_skipped_by_every_reader(ending: str, tmp_path: Path) -> None:
    """Excel writes 'sep=;' above a CSV file's header to name its separator: it was read as a header of one column,
    and every row named as ragged (`line 2 ... has 3 fields but its header has 2`), in whichever file it was."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import ReadOptions, read_head, read_table
    from kaggle_kit.sample_submission import read_sample

    path = tmp_path / "train.csv"
    path.write_text(f"sep=;{ending}id;x;label{ending}1;0,5;a{ending}2;1,5;b{ending}", newline="")
    frame = read_table(path, role="train", options=ReadOptions(decimal=","))
    assert frame.rows() == [(1, 0.5, "a"), (2, 1.5, "b")] and frame.columns == ["id", "x", "label"]
    assert read_head(path, 2) == [["id", "x", "label"], ["1", "0,5", "a"]]
    assert read_sample(path).rows() == [("1", "0,5", "a"), ("2", "1,5", "b")]
    path.write_text(f"sep=;{ending}id;Preis, EUR{ending}1;0,5{ending}", newline="")  # a ',' in a name: a tie
    assert read_table(path, role="train", options=ReadOptions(decimal=",")).columns == ["id", "Preis, EUR"]
    path.write_text(f"sep=;{ending}id;x;label{ending}1;0,5;a{ending}2;1,5{ending}", newline="")
    with pytest.raises(DataError, match="line 4 of the train file"):  # the file's line, the 'sep=;' line counted
        read_table(path, role="train")
    path.write_bytes(f"sep=;{ending}id;x;label{ending}1;0,5;\xe9{ending}".encode("cp1252"))  # no UTF-8: read apart
    with pytest.warns(DataWarning, match="is not UTF-8"):
        assert read_table(path, role="train", options=ReadOptions(decimal=",")).rows() == [(1, 0.5, "\xe9")]
    path.write_bytes(f"sep=;{ending}id;Gr\xf6\xdfe{ending}1;2{ending}".encode("cp1252"))  # a header no UTF-8 alone
    with pytest.warns(DataWarning, match="is not UTF-8"):  # it was 'Gr\ufffd\ufffde', without a word
        assert read_table(path, role="train").columns == ["id", "Gr\xf6\xdfe"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "id,x,y\n1,0.5,a,\n2,1.5,b,\n",
            "its rows end in a separator .* and its header does not; remove the separator",
        ),
        ("id,x,y,\n1,0.5,a\n2,1.5,b\n", "its header ends in a separator .* and its rows do not; remove the separator"),
    ],
)
def test_rows_and_a_header_ending_apart_in_a_separator_are_named_so(text: str, said: str, tmp_path: Path) -> None:
    """Every row ends in ',' and the header does not (or the reverse): each row was named as too long (`a value
    holding ',' must be in double quotes`) or too short, whose fix is not that line's."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import read_table

    path = tmp_path / "train.csv"
    path.write_text(text)
    with pytest.raises(DataError, match="line 2 of the train file .* fields but its header has .*: " + said):
        read_table(path, role="train")


@pytest.mark.parametrize("text", ["id,x,y\n1,0.5,a\n2,1.5,b,\n", "id,x,y\n1,0.5,a,z\n2,1.5,b,z\n"])
def test_a_row_ending_in_a_separator_is_named_as_its_file_s_ending_only_when_the_first_row_does(
    text: str, tmp_path: Path
) -> None:
    """A later row ending in a separator, or rows whose extra last field holds a value, are ragged lines as any."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import read_table

    path = tmp_path / "train.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=r"has 4 fields but its header has 3 \(separator ','\); fix that line") as got:
        read_table(path, role="train")
    assert "end in a separator" not in str(got.value)


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16"])
def test_a_byte_order_mark_says_the_files_encoding_whatever_data_encoding_says(codec: str, tmp_path: Path) -> None:
    """Train and test in cp1252 (data.encoding = 'cp1252'), the sample re-saved as Excel's "CSV UTF-8" (or as
    "Unicode text"): read in data.encoding, its first name was 'ï»¿id' and its ids 'ZÃ¼rich'."""
    from kaggle_kit.readers.tables import read_head
    from kaggle_kit.sample_submission import match_sample

    frame = pl.DataFrame({"id": ["Zürich", "Genève"], "target": [0.25, 0.75], "0": [0.75, 0.25], "1": [0.25, 0.75]})
    sample = tmp_path / "sample.csv"
    sample.write_bytes("id,target\r\nGenève,0.5\r\nZürich,0.5\r\n".encode(codec))
    meta = {"id_column": "id", "classes": [0, 1], "metric": "roc_auc", "encoding": "cp1252"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = match_sample(frame, sample, meta)
    assert out.columns == ["id", "target"] and out.rows() == [("Genève", 0.75), ("Zürich", 0.25)]
    assert read_head(sample, 2, "cp1252") == [["id", "target"], ["Genève", "0.5"]]


def test_without_data_id_a_sample_in_data_encoding_is_checked_for_its_order(tmp_path: Path) -> None:
    """The order check read the sample as if no data.encoding were set: a cp1251 sample's ids were none of test's,
    and its rows in another order went unsaid."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.competition import load_competition

    comp = tmp_path / "comp"
    comp.mkdir()
    x = np.random.default_rng(0).normal(size=20)
    pl.DataFrame({"x": x[:16], "y": (x[:16] > 0) * 1}).write_csv(comp / "train.csv")
    cities = ["Москва", "Тверь", "Омск", "Сочи"]
    (comp / "test.csv").write_bytes(
        ("key,x\n" + "".join(f"{c},{v}\n" for c, v in zip(cities, x[16:], strict=True))).encode("cp1251")
    )
    (comp / "sample.csv").write_bytes(("key,y\n" + "".join(f"{c},0.5\n" for c in cities[::-1])).encode("cp1251"))
    data = {"train": "train.csv", "test": "test.csv", "sample_submission": "sample.csv", "target": "y", "drop": [],
            "encoding": "cp1251"}  # fmt: skip
    with pytest.raises(DataError, match=r"lists the sample's ids in another order \(row 1: 'Москва' in test, 'Сочи'"):
        load_competition(_spec(comp, data))


def test_without_data_id_a_test_column_is_compared_with_the_samples_ids_only_where_its_first_values_are_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every column of unique values was written as text and compared in full, as Python sets and as whole numbers:
    1.7 s a column of 1M rows (a test file of 1M rows x 100 floats: minutes before any fit). A list column (a parquet
    file's embeddings) stopped the run with polars' `cannot cast List type`, data.drop naming it or not."""
    from kaggle_kit import sample_submission
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.competition import load_competition

    comp = tmp_path / "comp"
    comp.mkdir()
    x = np.random.default_rng(0).normal(size=500)
    pl.DataFrame({"x": x[:200], "e": [[0.5, 1.5]] * 200, "y": (x[:200] > 0) * 1}).write_parquet(comp / "train.parquet")
    pl.DataFrame({"id": range(300), "x": x[200:], "e": [[0.5, 1.5]] * 300}).write_parquet(comp / "test.parquet")
    (comp / "sample.csv").write_text("id,y\n" + "".join(f"{i:03d},0.5\n" for i in range(300)))
    data = {"train": "train.parquet", "test": "test.parquet", "sample_submission": "sample.csv", "target": "y"}
    with pytest.raises(DataError, match=r"column\(s\) 'e' have types the models cannot use \(List\(Float64\)\)"):
        load_competition(_spec(comp, {**data, "drop": []}))
    read: list[tuple[str, int]] = []
    whole_numbers = sample_submission.whole_numbers

    def spy(ids: pl.Series) -> pl.Series:
        read.append((ids.name, ids.len()))
        return whole_numbers(ids)

    monkeypatch.setattr(sample_submission, "whole_numbers", spy)
    load_competition(_spec(comp, {**data, "drop": ["e"]}))
    assert ("id", 300) in read and ("x", 300) not in read  # test's ids as numbers ('000' for 0); x: its first values


def test_without_data_id_ids_007_and_7_of_test_are_not_the_samples_7_and_another(tmp_path: Path) -> None:
    """Test's text ids '007' and '7' are two ids: as whole numbers they are one, and a sample of 8, 9, 7 was said to
    list test's ids in another order (set data.id = 'key'), which it does not. (A test file's '007' and '7' are read
    as the number 7 before this check; a frame given as it is keeps them.)"""
    from kaggle_kit.readers.competition import _check_rows_match_by_position

    (tmp_path / "sample.csv").write_text("key,y\n8,0.5\n9,0.5\n7,0.5\n")
    test = pl.DataFrame({"key": ["007", "7", "8"], "x": [0.5, 1.5, 2.5]})
    _check_rows_match_by_position(test, tmp_path / "sample.csv", None)


@pytest.mark.parametrize("order", [[7, 8, 9, 10], [10, 9, 8, 7]], ids=["same-order", "another-order"])
def test_without_data_id_a_sample_spelling_the_ids_otherwise_is_checked_for_their_order(
    order: list[int], tmp_path: Path
) -> None:
    """Without data.id the rows are matched by position; a test column listing the sample's ids in another order is
    refused before any fit. A sample spelling them '007' beside test's 7 was not compared at all: each id got another
    row's prediction, without a word."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.competition import load_competition

    comp = tmp_path / "comp"
    comp.mkdir()
    x = np.random.default_rng(0).normal(size=20)
    pl.DataFrame({"x": x[:16], "y": (x[:16] > 0) * 1}).write_csv(comp / "train.csv")
    pl.DataFrame({"id": [7, 8, 9, 10], "x": x[16:]}).write_csv(comp / "test.csv")
    (comp / "sample.csv").write_text("id,y\n" + "".join(f"{i:03d},0.5\n" for i in order))
    spec = _spec(comp, {"train": "train.csv", "test": "test.csv", "sample_submission": "sample.csv", "target": "y",
                        "drop": []})  # fmt: skip
    if order == sorted(order):
        load_competition(spec)
        return
    with pytest.raises(DataError, match=r"lists the sample's ids in another order \(row 1: '7' in test, '010' in the "
                       r"sample\): set data.id = 'id'"):  # fmt: skip
        load_competition(spec)


@pytest.mark.parametrize(
    "header", ['"id", "x", "label"', '"id" ,"x" , "label" ', '"id";\t"x"; "label"'], ids=["after", "before", "semi"]
)
def test_a_header_quoted_with_spaces_around_its_names_names_the_columns_within_the_quotes(
    header: str, tmp_path: Path
) -> None:
    """A header written ``"id", "x", "label"``: polars and the csv module kept the quotes of each name after the first
    (``' "x"'``: data.target = 'label' was no column of the train file) or cut one (``'x"'``); a sample's id column
    was no test column; a value quoted so was read with its quotes, and one holding the separator split in two (`line
    2 has 4 fields but its header has 3`). Names and values are the text within the quotes, for every reader."""
    from kaggle_kit.readers.tables import ReadOptions, read_head, read_table
    from kaggle_kit.sample_submission import read_sample

    sep = ";" if ";" in header else ","
    path = tmp_path / "train.csv"
    path.write_text(f"{header}\n007{sep}0.5{sep}a\n008{sep}1.5{sep}b\n")
    frame = read_table(path, role="train", options=ReadOptions(keep_text=("id", "label")))
    assert frame.columns == ["id", "x", "label"] and frame["id"].to_list() == ["007", "008"]
    assert frame["x"].to_list() == [0.5, 1.5]
    assert read_sample(path).columns == ["id", "x", "label"] and read_head(path, 1) == [["id", "x", "label"]]
    path.write_text(f'{header}\n1{sep} "0.5"{sep} "b{sep} c"\n2{sep}1.5{sep} "say ""hi"""\n')  # values quoted alike
    assert read_table(path, role="train").rows() == [(1, 0.5, f"b{sep} c"), (2, 1.5, 'say "hi"')]
    assert read_sample(path).rows() == [("1", "0.5", f"b{sep} c"), ("2", "1.5", 'say "hi"')]
    path.write_text(f'"x"{sep} "x"\n1{sep}2\n')  # a name twice: numbered as polars numbers it, and said
    with pytest.warns(DataWarning, match=r"names column\(s\) 'x' \(2 times\)"):
        assert read_table(path, role="train").columns == ["x", "x_duplicated_0"]


def test_a_header_repeated_among_rows_of_columns_named_by_numbers_is_read_as_no_row(tmp_path: Path) -> None:
    """Files joined one after another whose columns are named by numbers beside a text name (``id,1,2``): the
    number columns read the repeated ``1``, ``2`` as numbers, so the repeat was looked for in text columns only, and
    its line read as a row (id 'id', 1.0, 2.0) without a word. A header of numbers alone is a row like any other
    where a row repeats it (``0,1`` under ``0,1``: a row of 0/1 values, no repeat)."""
    from kaggle_kit.readers.tables import read_table

    path = tmp_path / "train.csv"
    path.write_text("id,1,2\n1,0.5,0.25\n2,1.5,3\nid,1,2\n3,1,1\n")
    with pytest.warns(DataWarning, match=r"repeats its header line 1 time\(s\) among its rows \(first as row 3"):
        frame = read_table(path, role="train")
    assert frame.schema == pl.Schema({"id": pl.Int64, "1": pl.Float64, "2": pl.Float64})
    assert frame.rows() == [(1, 0.5, 0.25), (2, 1.5, 3.0), (3, 1.0, 1.0)]
    path.write_text("id,1\n1,0.5\n2,1\n")  # the first column never holds its name: a row of its values
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_table(path, role="train").rows() == [(1, 0.5), (2, 1.0)]
        path.write_text("0,1\n1,0\n0,1\n")
        assert read_table(path, role="train").rows() == [(1, 0), (0, 1)]


@pytest.mark.parametrize("name", ["ID", " id", "Id "])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_an_id_column_named_otherwise_keeps_its_spelling(name: str, suffix: str, tmp_path: Path) -> None:
    """A test file's id column named as data.id but for case and spaces (``ID`` for ``id``): read as numbers, its
    ``'007'`` was 7.0 from a parquet file (7 from a CSV one), and `predict` wrote '7.0' for Kaggle's '007'. It keeps
    its text as written, as the column named exactly does; a column named exactly is the one kept."""
    from kaggle_kit.readers.tables import ReadOptions, read_table

    path = tmp_path / f"test{suffix}"
    frame = pl.DataFrame({name: ["007", "010"], "x": ["1.5", "2"]})
    frame.write_parquet(path) if suffix == ".parquet" else frame.write_csv(path)
    read = read_table(path, role="test", options=ReadOptions(keep_text=("id",)))
    assert read.schema == pl.Schema({name: pl.String, "x": pl.Float64}) and read[name].to_list() == ["007", "010"]
    frame = pl.DataFrame({"id": ["007", "010"], name: ["007", "010"]})  # the id itself, and a feature named alike
    frame.write_parquet(path) if suffix == ".parquet" else frame.write_csv(path)
    read = read_table(path, role="test", options=ReadOptions(keep_text=("id",)))
    assert read["id"].to_list() == ["007", "010"] and read[name].to_list() == [7, 10]


def test_a_file_is_read_as_another_files_names_by_one_rule_everywhere() -> None:
    """One rule (readers.headers.header_renames) renames a test column to train's name, an imported predictions
    file's to the run's, and finds the id whose spelling a file keeps: the one column named so but for spaces and
    case, never where two columns or two names share that key, never a column in ``keep`` or one of the names."""
    from kaggle_kit.readers.headers import header_renames

    assert header_renames(["ID", "F1 ", "x"], ["id", "f1", "x"]) == {"ID": "id", "F1 ": "f1"}
    assert header_renames(["id", "ID"], ["id"]) == {}  # the name is there
    assert header_renames(["ID", "Id"], ["id"]) == {}  # two columns: which one cannot be told
    assert header_renames(["ID"], ["id", "Id"]) == {}  # two names alike
    assert header_renames(["Review", "x"], ["review"], keep=["Review"]) == {}  # train's other column
    assert header_renames(["Yes", "no"], ["yes", "yes", "no"]) == {"Yes": "yes"}  # a name listed twice is one name


def test_without_data_id_a_sample_saved_with_its_pandas_index_is_checked_by_its_ids(tmp_path: Path) -> None:
    """A sample re-saved with its index (``,id,y``) and no data.id: its first column, the row numbers 0 .. n-1, was
    taken for the ids, so test's ids in another order than the sample's went unsaid (each row another's prediction),
    and `submit` stopped after the run (`asks for column(s) ['id']`). The ids are the column after the index."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.competition import _check_rows_match_by_position

    sample = tmp_path / "sample.csv"
    sample.write_text(",id,y\n0,10,0.5\n1,9,0.5\n2,8,0.5\n3,7,0.5\n")
    test = pl.DataFrame({"id": [7, 8, 9, 10], "x": [0.5, 1.5, 2.5, 3.5]})
    with pytest.raises(DataError, match=r"lists the sample's ids in another order \(row 1: '7' in test, '10' in the"):
        _check_rows_match_by_position(test, sample, None)
    _check_rows_match_by_position(test.reverse(), sample, None)  # the sample's order


@pytest.mark.parametrize("space", ["\u00a0", "\u202f"], ids=["no-break", "narrow"])
def test_numbers_grouped_by_a_no_break_space_are_read_with_thousands_space(space: str, tmp_path: Path) -> None:
    """A spreadsheet in a French (Russian, Polish) locale groups thousands with a no-break space: '1\u00a0234,5'. No
    reading matched it, so the column stayed text, a category of one level per value, without a word. It is named
    with the keys that read it, and thousands = ' ' reads any space."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import ReadOptions, read_table

    path = tmp_path / "train.csv"
    path.write_text(f"id;x\n1;12,5\n2;1{space}234,5\n3;2{space}000{space}000\n")
    shown = ascii(space)[1:-1]
    with pytest.raises(DataError, match=rf"holds numbers written like '1\{shown}234,5': set thousands = ' ' and deci"):
        read_table(path, role="train")
    path.write_text(f"id;x\n1;12,5\n2;1{space}234,5\n3;2{space}000{space}000\n4;1 000\n")
    frame = read_table(path, role="train", options=ReadOptions(thousands=" ", decimal=","))
    assert frame["x"].to_list() == [12.5, 1234.5, 2_000_000.0, 1000.0]
    path.write_text(f"id;x\n1;12,5 €\n2;1{space}234,5 €\n3;7 €\n")  # with a unit: the mark named alike
    with pytest.raises(DataError, match=rf"holds numbers written like '1\{shown}234,5': set thousands = ' ' and deci"):
        read_table(path, role="train")


def test_a_table_zipped_on_its_own_is_read_as_the_file_inside_by_every_reader(tmp_path: Path) -> None:
    """Kaggle serves many files zipped one by one (``train.csv.zip``; ``train.zip`` holding ``train.csv``), which
    pandas reads as they are: refused with `must be .csv or .parquet; got '.zip'`, with no word of unzipping. Read as
    the file inside (a CSV as any: its BOM, separator, decimal commas; a parquet file), the id's spelling kept; an
    archive of several files (a competition's whole download), of another kind of file, or no zip at all is an error
    naming the file and the fix."""
    import io
    import zipfile

    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import ReadOptions, read_head, read_table
    from kaggle_kit.sample_submission import read_sample

    def zipped(name: str, files: dict[str, str | bytes]) -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for inner, text in files.items():
                archive.writestr(inner, text)
        return path

    keep = ReadOptions(keep_text=("id",), decimal=",")
    path = zipped("train.zip", {"train.csv": "\ufeffid;x;y\r\n007;0,5;a\r\n008;1,5;b\r\n", "__MACOSX/._train.csv": "-"})
    assert read_table(path, role="train", options=keep).rows() == [("007", 0.5, "a"), ("008", 1.5, "b")]
    assert read_head(path, 2) == [["id", "x", "y"], ["007", "0,5", "a"]]
    assert read_sample(path).rows() == [("007", "0,5", "a"), ("008", "1,5", "b")]
    parquet = io.BytesIO()
    pl.DataFrame({"id": ["007"], "x": [1.5]}).write_parquet(parquet)
    path = zipped("test.parquet.zip", {"data/test.parquet": parquet.getvalue()})
    assert read_table(path, role="test", options=keep).rows() == [("007", 1.5)]
    path = zipped("comp.zip", {"train.csv": "a\n1\n", "test.csv": "a\n2\n"})
    said = r"comp.zip' is a zip archive that holds 2 files \('train.csv', 'test.csv'\); the kit reads an archive of one"
    with pytest.raises(DataError, match=said + r" CSV or parquet file: unzip it \(unzip -o"):
        read_table(path, role="train")
    with pytest.raises(DataError, match=r"is a zip archive of 'train.xlsx', which must be .csv or .parquet: unzip it"):
        read_table(zipped("x.zip", {"train.xlsx": "-"}), role="train")
    (tmp_path / "no.zip").write_text("id,x\n1,2\n")
    with pytest.raises(DataError, match=r"the test file '.*no.zip' ends in .zip but is no zip archive; download it"):
        read_table(tmp_path / "no.zip", role="test")


def test_an_id_spelled_as_a_missing_value_is_that_id(tmp_path: Path) -> None:
    """Ids 'NA' (Namibia), 'None', 'nan' (words) were read as missing, as pandas reads them in any column: the run
    stopped with "the id column 'id' of train has 1 missing value(s)", and no [data] key could change it. The id
    column keeps them as written (the sample read them so already); an empty id is missing, and other columns read
    'NA' as missing as before."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.competition import load_competition

    comp = tmp_path / "comp"
    comp.mkdir()
    (comp / "train.csv").write_text("id,x,y\nNA,1,0\nNone,NA,1\nUS,3,0\nFR,4,1\n")
    (comp / "test.csv").write_text("id,x\nnan,5\nDE,6\n")
    data = {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"}
    loaded = load_competition(_spec(comp, data))
    assert loaded.train["id"].to_list() == ["NA", "None", "US", "FR"] and loaded.train["x"].to_list() == [1, None, 3, 4]
    assert loaded.test is not None and loaded.test["id"].to_list() == ["nan", "DE"]
    (comp / "test.csv").write_text("id,x\n,5\nDE,6\n")
    with pytest.raises(DataError, match="the id column 'id' of test has 1 missing value"):
        load_competition(_spec(comp, data))


@pytest.mark.parametrize(
    ("row", "why"), [('"",2,1', "quoted empty"), ("NA,2,1", "R's missing number")], ids=["quoted-empty", "r-na"]
)
def test_a_missing_id_stays_missing_however_it_is_written(row: str, why: str, tmp_path: Path) -> None:
    """An id column keeps 'NA', 'None', 'nan' as ids among other text ids (a country code), but a quoted empty id
    ('""') is no id, and 'NA' among whole numbers is R's missing number (write.csv): both were read as the ids ''
    and 'NA' once the id column kept its missing-value spellings, the row trained on without a word (and every
    train id turned to text)."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.competition import load_competition

    comp = tmp_path / "comp"
    comp.mkdir()
    (comp / "train.csv").write_text(f"id,x,y\n1,1,0\n{row}\n3,3,0\n4,4,1\n")
    data = {"train": "train.csv", "id": "id", "target": "y"}
    with pytest.raises(DataError, match="the id column 'id' of train has 1 missing value"):
        load_competition(_spec(comp, data))
    (comp / "train.csv").write_text(f"id,x,y\nUS,1,0\n{row}\nFR,3,0\nDE,4,1\n")
    if why == "quoted empty":
        with pytest.raises(DataError, match="the id column 'id' of train has 1 missing value"):
            load_competition(_spec(comp, data))
    else:  # among text ids, the country Namibia; alone in a file too (no other id says it is a number)
        assert load_competition(_spec(comp, data)).train["id"].to_list() == ["US", "NA", "FR", "DE"]
        (comp / "test.csv").write_text("id,x\nNone,5\n")
        loaded = load_competition(_spec(comp, {**data, "test": "test.csv"}))
        assert loaded.test is not None and loaded.test["id"].to_list() == ["None"]


def test_a_long_tables_id_spelled_as_a_missing_value_is_that_id(tmp_path: Path) -> None:
    """A [data.sequences] long table's id column (data.sequences.id, named apart from data.id) keeps 'NA' as an id,
    as the labels' id column does."""
    from kaggle_kit.readers.competition import read_long_table

    comp = tmp_path / "comp"
    comp.mkdir()
    (comp / "long.csv").write_text("sid,t,v\nNA,0,1.5\nNA,1,2.5\nUS,0,3.5\n")
    (comp / "labels.csv").write_text("id,y\nNA,0\nUS,1\n")
    data = {"train": "labels.csv", "id": "id", "target": "y", "sequences": {"train": "long.csv", "id": "sid"}}
    long = read_long_table(_spec(comp, data), comp / "long.csv", "train")
    assert long["sid"].to_list() == ["NA", "NA", "US"] and long["v"].to_list() == [1.5, 2.5, 3.5]


def test_a_file_quoted_with_spaces_reads_its_last_missing_values_spaces_and_quoted_names(tmp_path: Path) -> None:
    """A file written ``"id", "x"`` (its header's names and values quoted after spaces): a missing last value is a
    missing value (the file was scanned for ragged lines as unspaced: `"b, c"` split, said to be 4 fields), spaces
    before a separator are no part of a value, and a name's doubled quotes are one quote."""
    from kaggle_kit.readers.tables import read_table

    path = tmp_path / "train.csv"
    path.write_text('"id", "x", "say ""y"""\n1 , "b, c" , \n2, "d" , 2.5\n')
    frame = read_table(path, role="train")
    assert frame.columns == ["id", "x", 'say "y"'] and frame.rows() == [(1, "b, c", None), (2, "d", 2.5)]


def test_an_id_column_named_otherwise_of_whole_numbers_is_read_as_numbers(tmp_path: Path) -> None:
    """A test id column headed ``ID`` for data.id 'id' holding '7', '10' is read as the same column named exactly:
    whole numbers, as train's ids (text only where a number would lose its spelling, '007')."""
    from kaggle_kit.readers.tables import ReadOptions, read_table

    path = tmp_path / "test.csv"
    path.write_text("ID,x\n7,1.5\n10,2\n")
    read = read_table(path, role="test", options=ReadOptions(keep_text=("id",)))
    assert read.schema == pl.Schema({"ID": pl.Int64, "x": pl.Float64}) and read["ID"].to_list() == [7, 10]


def test_a_zip_with_folders_and_a_macs_files_is_read_and_its_numbers_checked(tmp_path: Path) -> None:
    """A zip archive holding, beside its one table, a folder entry, a Mac's ``.DS_Store`` and ``__MACOSX/`` files is
    that table; a zipped ','-separated file is checked for '1.500' under thousands = '.' as an unzipped one is (the
    check read the .zip itself)."""
    import zipfile

    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import ReadOptions, read_table

    path = tmp_path / "train.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("data/"), "")
        archive.writestr("data/train.csv", "id,x\n1,2\n2,3\n")
        archive.writestr(".DS_Store", "-")
        archive.writestr("__MACOSX/data/train.csv", "-")
    assert read_table(path, role="train").rows() == [(1, 2), (2, 3)]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train.csv", "id,x\n1,1.500\n2,2.5\n")
    with pytest.raises(DataError, match=r"column 'x' of the train file '.*train.zip' holds numbers like '1.500'"):
        read_table(path, role="train", options=ReadOptions(thousands=".", decimal=","))
