"""The Kaggle competition templates in competitions/ run end to end on small data shaped like the real files
(same file names, columns, dtypes, missing-value markers and submission layout), generated here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import COMPETITIONS
from sklearn.datasets import load_digits

from kaggle_kit.cli import main
from kaggle_kit.config import build_spec, load_spec
from kaggle_kit.errors import DataError
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.runtime.runner import run
from kaggle_kit.submit import write_submission

QUICK = {"n_jobs": 1, "threads_per_task": 1}


def _titanic(folder: Path, rng: np.random.Generator) -> None:
    n = 400
    pclass = rng.integers(1, 4, n)
    sex = rng.choice(["male", "female"], n)
    age = np.round(rng.uniform(1, 70, n), 1)
    survived = (rng.random(n) < np.where(sex == "female", 0.75, 0.2) * (1.2 - 0.2 * pclass)).astype(int)
    frame = pl.DataFrame(
        {
            "PassengerId": np.arange(1, n + 1),
            "Survived": survived,
            "Pclass": pclass,
            "Name": [f"Person, Mr. {i}" for i in range(n)],
            "Sex": sex,
            "Age": [None if i % 5 == 0 else a for i, a in enumerate(age)],
            "SibSp": rng.integers(0, 4, n),
            "Parch": rng.integers(0, 3, n),
            "Ticket": [f"A/{i}" for i in range(n)],
            "Fare": np.round(rng.exponential(30, n), 4),
            "Cabin": [None if i % 4 else f"C{i}" for i in range(n)],
            "Embarked": [None if i == 7 else e for i, e in enumerate(rng.choice(["S", "C", "Q"], n))],
        }
    )
    frame[:300].write_csv(folder / "train.csv")
    frame[300:].drop("Survived").write_csv(folder / "test.csv")
    frame[300:].select("PassengerId", (pl.col("Sex") == "female").cast(pl.Int64).alias("Survived")).write_csv(
        folder / "gender_submission.csv"
    )


def _house_prices(folder: Path, rng: np.random.Generator) -> None:
    n = 400
    area = rng.integers(1500, 20000, n)
    quality = rng.integers(1, 11, n)
    zoning = rng.choice(["RL", "RM", "FV", "C (all)"], n)
    price = np.round(30000 + 4 * area + 15000 * quality * rng.lognormal(0, 0.1, n))
    frontage = [("NA" if i % 6 == 0 else str(int(v))) for i, v in enumerate(rng.integers(20, 120, n))]
    alley = [("NA" if i % 3 else a) for i, a in enumerate(rng.choice(["Grvl", "Pave"], n))]
    frame = pl.DataFrame(
        {
            "Id": np.arange(1, n + 1),
            "MSSubClass": rng.choice([20, 60, 120], n),
            "MSZoning": zoning,
            "LotFrontage": frontage,
            "LotArea": area,
            "Alley": alley,
            "OverallQual": quality,
            "YrSold": rng.integers(2006, 2011, n),
            "SalePrice": price.astype(int),
        }
    )
    frame[:300].write_csv(folder / "train.csv")
    frame[300:].drop("SalePrice").write_csv(folder / "test.csv")
    frame[300:].select("Id", pl.lit(180921.19).alias("SalePrice")).write_csv(folder / "sample_submission.csv")


def _digit_recognizer(folder: Path, rng: np.random.Generator) -> None:
    """Real digits, upscaled from 8x8 to 28x28 pixel columns as in MNIST's layout (label first, no id column)."""
    digits = load_digits()
    images = np.kron(digits.images[:600], np.ones((3, 3)))  # 24 x 24
    images = np.pad(images, ((0, 0), (2, 2), (2, 2))).reshape(600, 784)
    pixels = (images * 255 / 16).astype(np.int64)
    frame = pl.DataFrame(pixels, schema=[f"pixel{i}" for i in range(784)], orient="row")
    train = frame[:450].insert_column(0, pl.Series("label", digits.target[:450]))
    train.write_csv(folder / "train.csv")
    frame[450:].write_csv(folder / "test.csv")
    pl.DataFrame({"ImageId": np.arange(1, 151), "Label": np.zeros(150, dtype=int)}).write_csv(
        folder / "sample_submission.csv"
    )


GENERATORS = {"titanic": _titanic, "house-prices": _house_prices, "digit-recognizer": _digit_recognizer}


def _template(name: str, root: Path) -> tuple:
    """The template's spec with its data folder moved to ``root`` and the models shortened for the test."""
    spec = load_spec(COMPETITIONS / f"{name}.toml")
    folder = root / name
    folder.mkdir(parents=True)
    GENERATORS[name](folder, np.random.default_rng(0))
    raw = spec.model_dump(mode="json", exclude_none=True)
    for key in ("train", "test", "sample_submission"):
        raw["data"][key] = str(folder / Path(raw["data"][key]).name)
    raw["run"] = QUICK
    raw["folds"].update(n_repeats=1, n_splits=3)
    for model in raw["models"]:
        model["num_boost_round"] = min(model["num_boost_round"], 100)
    return build_spec(raw, base_dir=COMPETITIONS), folder


@pytest.mark.parametrize("name", list(GENERATORS))
@pytest.mark.slow
def test_template_runs_and_writes_a_kaggle_submission(name: str, tmp_path: Path) -> None:
    spec, folder = _template(name, tmp_path / "data")
    result = run(spec, runs_root=tmp_path / "runs", progress=None)
    rows = {m.name: m for m in result.models}
    best = rows[spec.models[0].name]
    assert best.status == "ok" and best.cv == best.cv
    from kaggle_kit.metrics import get_metric

    assert get_metric(spec.metric).better(best.cv, rows["baseline"].cv)
    path = write_submission(result.run_dir, spec.models[0].name, tmp_path / "submission.csv")
    sub = pl.read_csv(path)
    sample = pl.read_csv(folder / Path(str(spec.data.sample_submission)).name)
    assert sub.columns == sample.columns and sub.height == sample.height
    assert sub[sub.columns[0]].to_list() == sample[sample.columns[0]].to_list()
    if name == "titanic":
        assert set(sub["Survived"].unique().to_list()) <= {0, 1}
    if name == "house-prices":
        assert (sub["SalePrice"] > 10000).all()
    if name == "digit-recognizer":
        assert set(sub["Label"].to_list()) <= set(range(10))


def test_house_prices_na_strings_are_missing_values(tmp_path: Path) -> None:
    spec, _ = _template("house-prices", tmp_path)
    data = load_competition(spec)
    assert data.train.schema["LotFrontage"] == pl.Int64  # "NA" read as missing, not as text
    assert "Alley" in data.categorical and "MSSubClass" in data.categorical


def test_missing_data_folder_says_how_to_download(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (COMPETITIONS / "titanic.toml").read_text().replace("../data/titanic", str(tmp_path / "nothing"))
    config = tmp_path / "titanic.toml"
    config.write_text(text)
    with pytest.raises(DataError, match=r"kaggle competitions download -c titanic -p .*nothing"):
        load_competition(load_spec(config))
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs")]) == 2
    assert "kaggle competitions download -c titanic" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "titanic",
            {"target": "Survived", "id": "PassengerId", "task": "binary", "metric": "accuracy"},
        ),  # gender_submission.csv holds 0 / 1 labels: Titanic is scored by accuracy
        ("house-prices", {"target": "SalePrice", "id": "Id", "task": "regression", "metric": "rmse"}),
    ],
)
def test_init_infers_a_config_that_loads(
    name: str, expected: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data" / name
    folder.mkdir(parents=True)
    GENERATORS[name](folder, np.random.default_rng(1))
    if name == "titanic":
        (folder / "gender_submission.csv").rename(folder / "sample_submission.csv")
    out = tmp_path / "competitions"
    assert main(["init", name, "--train", str(folder / "train.csv"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"target = {expected['target']!r}" in printed and f"task = {expected['task']!r}" in printed
    spec = load_spec(out / f"{name}.toml")
    assert (spec.data.target, spec.data.id, spec.task, spec.metric) == (
        expected["target"],
        expected["id"],
        expected["task"],
        expected["metric"],
    )
    assert spec.resolve(spec.data.train) == folder / "train.csv"  # relative to the config, resolved back
    assert main(["init", name, "--train", str(folder / "train.csv"), "--out", str(out)]) == 2  # no silent overwrite
    assert "exists; pass --force" in capsys.readouterr().err
