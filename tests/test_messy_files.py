"""Messy files read as the user's [data] keys say, the same way by every command: the sample submission in
data.encoding, numbers in a sample, a test column stored in another type than train's, a feature on another scale
in test than in train, a pipeline naming no column."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import kaggle_kit
from kaggle_kit.cli import main
from kaggle_kit.config import build_spec
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
    ("stored", "want"),
    [
        (pl.Series("code", [10, 20, None]), ["10", "20", None]),
        (pl.Series("code", [10.0, 20.0, None]), ["10", "20", None]),  # a float column that held a missing value
        (pl.Series("code", [10.5, 20.0, None]), ["10.5", "20", None]),  # a new level, said as any is
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
