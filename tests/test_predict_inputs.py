"""``predict`` on runs whose rows come from image files (``[data.images]``) or long tables (``[data.sequences]``):
the run's own test inputs reproduce its stored test predictions from a moved, read-only copy; new test inputs (other
ids, other files, another order) get each id's predictions; bad inputs get ``run``'s errors through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from readonly import read_only
from sklearn.datasets import load_digits

import kaggle_kit
from kaggle_kit.cli import main
from kaggle_kit.config import build_spec
from kaggle_kit.errors import ConfigError, DataError, DataWarning
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

N_TRAIN, N_TEST = 90, 30


def _moved_read_only(run_dir: Path, root: Path) -> Path:
    """A read-only copy of ``run_dir`` at another path, its config folder gone (a Kaggle dataset)."""
    moved = root / "input" / run_dir.name
    shutil.copytree(run_dir, moved)
    meta = json.loads((moved / "run.json").read_text())
    meta.update(config_dir=str(root / "gone"))
    (moved / "run.json").write_text(json.dumps(meta))
    for dirpath, _, files in os.walk(moved):
        for f in files:
            os.chmod(Path(dirpath) / f, stat.S_IRUSR)
        os.chmod(dirpath, stat.S_IRUSR | stat.S_IXUSR)
    return moved


def _writable(folder: Path) -> None:
    for dirpath, _, files in os.walk(folder):
        os.chmod(dirpath, stat.S_IRWXU)
        for f in files:
            os.chmod(Path(dirpath) / f, stat.S_IRUSR | stat.S_IWUSR)


def _stored(run_dir: Path, name: str) -> pl.DataFrame:
    return RunStore(run_dir).read_predictions(name, "test")


def _same_per_id(got: pl.DataFrame, want: pl.DataFrame, id_map: dict[int, int] | None = None) -> None:
    """``got``'s rows equal ``want``'s rows of the same id (``id_map``: got's id -> want's id)."""
    id_col = got.columns[0]
    ids = got[id_col].to_list()
    wanted = [id_map[i] for i in ids] if id_map else ids
    order = {v: k for k, v in enumerate(want[id_col].to_list())}
    expected = want.drop(id_col).to_numpy()[[order[i] for i in wanted]]
    np.testing.assert_allclose(got.drop(id_col).to_numpy(), expected, atol=1e-6, rtol=0)


def _cli_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(args) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1, err
    return err


# ---------------------------------------------------------------------------------------------- images
@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Sklearn's 8x8 digits as PNG files ``images/<id>.png``; a cnn on the pixels and a tree on them with the
    table's ``ink`` column; the run, and a read-only copy of it moved elsewhere."""
    root = tmp_path_factory.mktemp("predict_images")
    comp = root / "comp"
    (comp / "images").mkdir(parents=True)
    digits = load_digits()
    ids = np.arange(1000, 1000 + N_TRAIN + N_TEST)
    for i, img in zip(ids, digits.images, strict=False):
        Image.fromarray((img * 255 / 16).round().astype(np.uint8), mode="L").save(comp / "images" / f"{i}.png")
    ink = digits.images[: len(ids)].mean(axis=(1, 2))
    y = digits.target[: len(ids)] % 2  # odd or even: binary keeps the models small
    pl.DataFrame({"id": ids[:N_TRAIN], "ink": ink[:N_TRAIN], "label": y[:N_TRAIN]}).write_csv(comp / "train.csv")
    pl.DataFrame({"id": ids[N_TRAIN:], "ink": ink[N_TRAIN:]}).write_csv(comp / "test.csv")
    cnn = {"image_shape": [8, 8, 1], "columns": "pixel\\d+", "channels": [4], "epochs": 2, "batch_size": 32}
    spec = build_spec(
        {
            "name": "predict-images",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "label",
                     "images": {"folder": "images", "pattern": "{id}.png", "channels": 1}},
            "folds": {"n_splits": 2},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [{"name": "cnn", "kind": "cnn", "params": cnn},
                       {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 10,
                        "params": {"num_leaves": 4, "min_data_in_leaf": 5}}],
        },
        base_dir=comp,
    )  # fmt: skip
    result = run(spec, runs_root=comp / "runs", progress=None, record_history=False)
    assert all(m.status == "ok" for m in result.models), [(m.name, m.error) for m in result.models]
    moved = _moved_read_only(result.run_dir, root)
    with read_only(moved):  # refuses writes also when the tests run as root
        yield {"run": result.run_dir, "moved": moved, "comp": comp, "root": root}


@pytest.mark.parametrize("name", ["cnn", "lgbm"])
def test_image_run_predicts_its_own_test_images_from_a_moved_copy(images: dict[str, Path], name: str) -> None:
    comp = images["comp"]
    got = kaggle_kit.predict(images["moved"], comp / "test.csv", images=comp / "images", model=name, threads=1)
    want = _stored(images["run"], name)
    assert got.columns == want.columns and got["id"].to_list() == want["id"].to_list()
    np.testing.assert_allclose(got.drop("id").to_numpy(), want.drop("id").to_numpy(), atol=1e-6, rtol=0)
    # where the run was made, its own test folder is the default
    again = kaggle_kit.predict(images["run"], comp / "test.csv", model=name, threads=1)
    np.testing.assert_allclose(again.drop("id").to_numpy(), want.drop("id").to_numpy(), atol=1e-6, rtol=0)


def test_predict_warns_when_the_run_decoded_its_images_otherwise(images: dict[str, Path], tmp_path: Path) -> None:
    """A run made before the images were read upright (EXIF) and 16-bit / float images scaled (no ``image_decoding``
    in run.json): its models learnt such files otherwise than `predict` reads new ones now. Said, with the fix; a
    run of this kit's decoding predicts without a word."""
    import warnings

    comp = images["comp"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        kaggle_kit.predict(images["run"], comp / "test.csv", model="lgbm", threads=1)
    old = tmp_path / "old"
    shutil.copytree(images["run"], old)
    _writable(old)
    meta = RunStore(old).meta_path
    record = json.loads(meta.read_text())
    del record["image_decoding"]
    meta.write_text(json.dumps(record))
    with pytest.warns(
        DataWarning, match=r"images were decoded by an older kaggle_kit \(image decoding 1, .*EXIF.*rerun"
    ):
        kaggle_kit.predict(old, comp / "test.csv", model="lgbm", threads=1)
    # a run of version 3 is told what version 4 reads otherwise (-1..1 floats) only: it reads photos upright too
    meta.write_text(json.dumps({**record, "image_decoding": 3}))
    with pytest.warns(DataWarning) as seen:
        kaggle_kit.predict(old, comp / "test.csv", model="lgbm", threads=1)
    (said,) = [str(w.message) for w in seen if "older kaggle_kit" in str(w.message)]
    assert "(image decoding 3, now 4: -1..1 float images scaled onto 0..255), so new" in said, said


@pytest.mark.parametrize("mode", ["memory", "stream"])
def test_predict_warns_of_new_float_images_read_on_another_scale_than_the_runs(
    tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run on -1..1 float TIFFs; new images of the same pictures without their darkest pixels (none below -0.5)
    are told to be 0..1 images by their values, read brighter, and predicted otherwise without a word (the run says
    so of train's and test's files together, predict had nothing to compare with). run.json records the training
    files' float scales; `predict` names the new files' other scale; the run's own test images, and a run made before
    the scales were recorded, get no word."""
    comp = tmp_path / "comp"
    rng = np.random.default_rng(0)
    ids = np.arange(1, 41)

    def save(folder: Path, floor: float) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for i in ids:
            picture = rng.uniform(-1, 1, (4, 4)).astype(np.float32)
            picture[0, 0] = -1.0  # a dark pixel in each: told to be a -1..1 image (unless the floor lifts it)
            Image.fromarray(np.maximum(picture, floor), mode="F").save(folder / f"{i}.tif")

    save(comp / "images", -1.0)
    cnn = {"image_shape": [4, 4, 1], "columns": "pixel\\d+", "channels": [2], "epochs": 1, "batch_size": 16}
    lr = {"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
    model = lr if mode == "memory" else {"name": "lr", "kind": "cnn", "params": cnn}  # streamed: for the nets only
    pl.DataFrame({"id": ids[:30], "label": np.arange(30) % 2}).write_csv(comp / "train.csv")
    pl.DataFrame({"id": ids[30:]}).write_csv(comp / "test.csv")
    spec = build_spec(
        {
            "name": "float-scales", "task": "binary", "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "label",
                     "images": {"folder": "images", "pattern": "{id}.tif", "channels": 1, "mode": mode}},
            "folds": {"n_splits": 2},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [model],
        },
        base_dir=comp,
    )  # fmt: skip
    run_dir = run(spec, runs_root=comp / "runs", progress=None, record_history=False).run_dir
    assert json.loads((run_dir / "run.json").read_text())["image_float_scales"] == ["-1..1"]
    save(tmp_path / "new", -0.4)  # no pixel darker than -0.4: read as 0..1 images
    said = (
        r"new float image files are read on another scale than the run's training images \(-1\.\.1\): 0\.\.1 "
        r"\(e\.g\. '.*new/31\.tif' \(id 31\)\)\. A float image's scale is told from its values .* save the new "
        r"images on the training images' scale, or as 8-bit PNG"
    )
    with pytest.warns(DataWarning, match=said):
        kaggle_kit.predict(run_dir, comp / "test.csv", images=tmp_path / "new", model="lr", threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its own test images: the training scale
        kaggle_kit.predict(run_dir, comp / "test.csv", model="lr", threads=1)
        meta = json.loads((run_dir / "run.json").read_text())
        del meta["image_float_scales"]  # a run made before they were recorded: nothing to compare, no word
        (run_dir / "run.json").write_text(json.dumps(meta))
        kaggle_kit.predict(run_dir, comp / "test.csv", images=tmp_path / "new", model="lr", threads=1)
        meta["image_float_scales"] = []  # a run on 8-bit images: no float scale to compare with, no word
        (run_dir / "run.json").write_text(json.dumps(meta))
        kaggle_kit.predict(run_dir, comp / "test.csv", images=tmp_path / "new", model="lr", threads=1)
    # new files too large for Pillow: the error naming one (the look at their scales had raised Pillow's own)
    meta["image_float_scales"] = ["-1..1"]
    (run_dir / "run.json").write_text(json.dumps(meta))
    monkeypatch.setattr("PIL.Image.MAX_IMAGE_PIXELS", 7)  # a 4 x 4 image is past twice it
    with pytest.raises(DataError, match=r"image file '.*new/31\.tif' \(id 31\) is too large for Pillow to open"):
        kaggle_kit.predict(run_dir, comp / "test.csv", images=tmp_path / "new", model="lr", threads=1)


def test_predict_says_once_that_a_new_file_holds_several_frames(images: dict[str, Path], tmp_path: Path) -> None:
    """`predict` reads new image files as the run read its own: one of several frames (an animated PNG) by its first,
    said in one warning naming it. Read without a word (as pixel columns; a streamed run's check said it)."""
    from PIL import ImageOps

    table, folder, _ = _new_image_set(images, tmp_path)
    first = sorted(folder.iterdir())[0]
    with Image.open(first) as img:
        picture = img.copy()
    picture.save(first, save_all=True, append_images=[ImageOps.invert(picture)])
    with pytest.warns(DataWarning) as seen:
        kaggle_kit.predict(images["moved"], table, images=folder, model="lgbm", threads=1)
    said = [str(w.message) for w in seen if "several frames" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("1 of 12 image files hold several frames"), said
    assert f"{first.name}' (id {first.stem}) with 2: the kit reads frame 0" in said[0]


def _new_image_set(images: dict[str, Path], where: Path, n: int = 12) -> tuple[Path, Path, dict[int, int]]:
    """Test rows ``n`` of the original ones, reversed, under new ids (id + 5000) with their files copied under the
    new names into a new folder; returns (table, folder, new id -> original id)."""
    comp = images["comp"]
    rows = pl.read_csv(comp / "test.csv").reverse()[:n]
    folder = where / "new_images"
    folder.mkdir(parents=True)
    id_map = {}
    for i in rows["id"].to_list():
        shutil.copy(comp / "images" / f"{i}.png", folder / f"{i + 5000}.png")
        id_map[i + 5000] = i
    table = where / "new_test.csv"
    rows.with_columns(pl.col("id") + 5000).write_csv(table)
    return table, folder, id_map


def test_new_images_with_other_ids_in_another_order_predict_each_id(images: dict[str, Path], tmp_path: Path) -> None:
    table, folder, id_map = _new_image_set(images, tmp_path)
    for name in ("cnn", "lgbm"):
        got = kaggle_kit.predict(images["moved"], table, images=folder, model=name, threads=1)
        assert got["id"].to_list() == pl.read_csv(table)["id"].to_list()
        _same_per_id(got, _stored(images["run"], name), id_map)
    out = tmp_path / "sub.csv"
    assert main(["predict", str(images["moved"]), "--test", str(table), "--images", str(folder), "--model", "cnn",
                 "--out", str(out)]) == 0  # fmt: skip
    assert pl.read_csv(out)["id"].to_list() == pl.read_csv(table)["id"].to_list()


def test_bad_image_inputs_get_runs_errors_through_the_cli(
    images: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table, folder, _ = _new_image_set(images, tmp_path)
    base = ["predict", str(images["moved"]), "--model", "cnn", "--out", str(tmp_path / "sub.csv")]
    err = _cli_error([*base, "--test", str(table)], capsys)  # moved: its own image folder is not there
    assert (
        "pass the folder of the test images with --images DIR" in err
        and "data.images.folder = 'images' is not at" in err
    )
    (folder / "6110.png").unlink()
    err = _cli_error([*base, "--test", str(table), "--images", str(folder)], capsys)
    assert "1 of 12 test image files are missing: " in err and "6110.png' (id 6110)" in err
    assert "check data.images.test_folder" in err
    for path in folder.iterdir():  # every test image another size than the training images
        Image.new("L", (10, 12)).save(path)
    Image.new("L", (10, 12)).save(folder / "6110.png")
    err = _cli_error([*base, "--test", str(table), "--images", str(folder)], capsys)
    assert "the train images are 8 x 8 (width x height) but the test images 10 x 12; set data.images.size" in err
    Image.new("L", (8, 9)).save(folder / "6110.png")  # one of them unlike the others
    err = _cli_error([*base, "--test", str(table), "--images", str(folder)], capsys)
    assert "6110.png' (id 6110) is 8 x 9 but " in err
    (folder / "6110.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    err = _cli_error([*base, "--test", str(table), "--images", str(folder)], capsys)
    assert "6110.png' (id 6110) could not be read as an image" in err
    pl.read_csv(table).rename({"id": "ident"}).write_csv(tmp_path / "no_id.csv")
    err = _cli_error([*base, "--test", str(tmp_path / "no_id.csv"), "--images", str(folder)], capsys)
    assert "data.images.column = 'id' is not a column of the test file" in err
    pl.read_csv(images["comp"] / "test.csv").drop("ink").write_csv(tmp_path / "no_ink.csv")
    own = str(images["comp"] / "images")
    err = _cli_error([*base, "--test", str(tmp_path / "no_ink.csv"), "--images", own], capsys)
    assert "test lacks feature column(s) 'ink' that train has" in err
    err = _cli_error([*base, "--test", str(table), "--images", str(tmp_path / "nowhere")], capsys)
    assert "data.images.test_folder = " in err and "nowhere') does not exist; point it at the image folder" in err


# ---------------------------------------------------------------------------------------------- sequences
def _long(ids: np.ndarray, y: np.ndarray, n_steps: int, seed: int) -> pl.DataFrame:
    """``series_id, step, x, z``: class 1 has a bump late in ``x``; lengths vary; rows shuffled (``step`` orders
    them)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps)
    rows = []
    for i, label in zip(ids, y, strict=True):
        x = rng.normal(scale=0.3, size=n_steps) + 2.0 * label * np.exp(-((t - 8) ** 2) / 4.0)
        z = rng.normal(size=n_steps)
        rows += [(int(i), s, float(x[s]), float(z[s])) for s in range(n_steps - int(i) % 3)]
    frame = pl.DataFrame(rows, schema=["series_id", "step", "x", "z"], orient="row")
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)


@pytest.fixture(scope="module")
def sequences(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Long tables X_train.csv / X_test.csv with labels in y_train.csv: an rnn and a cnn1d on the steps, an xgboost
    on the per-id statistics; the run, and a read-only copy of it moved elsewhere."""
    root = tmp_path_factory.mktemp("predict_sequences")
    comp = root / "comp"
    comp.mkdir()
    ids = 100 + np.arange(N_TRAIN + N_TEST)
    y = np.arange(len(ids)) % 2
    _long(ids[:N_TRAIN], y[:N_TRAIN], 12, 0).write_csv(comp / "X_train.csv")
    _long(ids[N_TRAIN:], y[N_TRAIN:], 12, 1).write_csv(comp / "X_test.csv")
    pl.DataFrame({"series_id": ids[:N_TRAIN], "label": y[:N_TRAIN]}).write_csv(comp / "y_train.csv")
    steps = r".+__t\d+"
    spec = build_spec(
        {
            "name": "predict-sequences",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "y_train.csv", "id": "series_id", "target": "label",
                     "sequences": {"train": "X_train.csv", "test": "X_test.csv", "order_by": "step",
                                   "aggregates": ["mean", "max", "argmax"]}},
            "folds": {"n_splits": 2},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "pipelines": {"trees": {"steps": [{"step": "drop", "pattern": steps}]}},
            "models": [
                {"name": "rnn", "kind": "rnn", "params": {"columns": steps, "hidden": 8, "layers": 1, "epochs": 2}},
                {"name": "cnn1d", "kind": "cnn1d", "params": {"columns": steps, "channels": [4], "epochs": 2}},
                {"name": "xgb", "kind": "xgboost", "pipeline": "trees", "num_boost_round": 10},
            ],
        },
        base_dir=comp,
    )  # fmt: skip
    result = run(spec, runs_root=comp / "runs", progress=None, record_history=False)
    assert all(m.status == "ok" for m in result.models), [(m.name, m.error) for m in result.models]
    moved = _moved_read_only(result.run_dir, root)
    with read_only(moved):  # refuses writes also when the tests run as root
        yield {"run": result.run_dir, "moved": moved, "comp": comp, "root": root}


@pytest.mark.parametrize("name", ["rnn", "cnn1d", "xgb"])
def test_sequence_run_predicts_its_own_test_table_from_a_moved_copy(sequences: dict[str, Path], name: str) -> None:
    comp = sequences["comp"]
    got = kaggle_kit.predict(sequences["moved"], sequences=comp / "X_test.csv", model=name, threads=1)
    want = _stored(sequences["run"], name)
    assert got.columns == want.columns and got["series_id"].to_list() == want["series_id"].to_list()
    np.testing.assert_allclose(got.drop("series_id").to_numpy(), want.drop("series_id").to_numpy(), atol=1e-6)
    again = kaggle_kit.predict(sequences["run"], model=name, threads=1)  # not moved: the spec's own long table
    np.testing.assert_allclose(again.drop("series_id").to_numpy(), want.drop("series_id").to_numpy(), atol=1e-6)


def _new_sequence_set(sequences: dict[str, Path], where: Path, n: int = 10) -> tuple[Path, Path, dict[int, int]]:
    """``n`` of the test sequences (shorter ones) under new ids (id + 5000), rows shuffled again, with an id table
    listing them in reverse order; returns (long table, id table, new id -> original id)."""
    long = pl.read_csv(sequences["comp"] / "X_test.csv")
    # only sequences shorter than the run's 12 steps: the nets must still get 12 (the run's), not 11 (these rows')
    chosen = [i for i in long["series_id"].unique(maintain_order=True).to_list() if i % 3][:n]
    new = long.filter(pl.col("series_id").is_in(chosen)).with_columns(pl.col("series_id") + 5000)
    new.sample(fraction=1.0, shuffle=True, seed=7).write_csv(where / "new_long.csv")
    pl.DataFrame({"series_id": [i + 5000 for i in reversed(chosen)]}).write_csv(where / "new_ids.csv")
    return where / "new_long.csv", where / "new_ids.csv", {i + 5000: i for i in chosen}


def test_new_sequences_with_other_ids_predict_each_id(sequences: dict[str, Path], tmp_path: Path) -> None:
    long, ids, id_map = _new_sequence_set(sequences, tmp_path)
    for name in ("rnn", "cnn1d", "xgb"):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            got = kaggle_kit.predict(sequences["moved"], ids, sequences=long, model=name, threads=1)
        # sequences shorter than the run's 12 steps leave x__t11 empty by design: `run` says nothing of it, nor predict
        assert not [str(w.message) for w in seen if "empty in every test row" in str(w.message)]
        assert got["series_id"].to_list() == pl.read_csv(ids)["series_id"].to_list()  # the id table's order
        _same_per_id(got, _stored(sequences["run"], name), id_map)
    got = kaggle_kit.predict(sequences["moved"], sequences=pl.read_csv(long), model="rnn", threads=1)  # a frame
    _same_per_id(got, _stored(sequences["run"], "rnn"), id_map)
    out = tmp_path / "sub.csv"
    assert main(["predict", str(sequences["moved"]), "--sequences", str(long), "--model", "cnn1d",
                 "--out", str(out)]) == 0  # fmt: skip
    assert sorted(pl.read_csv(out)["series_id"].to_list()) == sorted(id_map)


def test_a_longer_test_sequence_keeps_the_runs_steps_with_a_warning(sequences: dict[str, Path], tmp_path: Path) -> None:
    long = pl.read_csv(sequences["comp"] / "X_test.csv")
    first = long.group_by("series_id").len().sort("len", "series_id", descending=True)["series_id"][0]  # 12 steps
    extra = pl.DataFrame({"series_id": [first], "step": [99], "x": [5.0], "z": [5.0]})
    pl.concat([long, extra]).write_csv(tmp_path / "longer.csv")
    with pytest.warns(DataWarning, match=r"up to 13 steps are longer than the 12 steps"):
        got = kaggle_kit.predict(sequences["moved"], sequences=tmp_path / "longer.csv", model="rnn", threads=1)
    others = got.filter(pl.col("series_id") != first)
    _same_per_id(others, _stored(sequences["run"], "rnn"))


def test_bad_sequence_inputs_get_runs_errors_through_the_cli(
    sequences: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long, ids, _ = _new_sequence_set(sequences, tmp_path)
    base = ["predict", str(sequences["moved"]), "--model", "rnn", "--out", str(tmp_path / "sub.csv")]
    err = _cli_error([*base, "--test", str(ids)], capsys)  # moved: its own long table is not there
    assert (
        "pass the test long table with --sequences FILE" in err
        and "data.sequences.test = 'X_test.csv' is not at" in err
    )
    pl.concat([pl.read_csv(ids), pl.DataFrame({"series_id": [777]})]).write_csv(tmp_path / "more_ids.csv")
    err = _cli_error([*base, "--test", str(tmp_path / "more_ids.csv"), "--sequences", str(long)], capsys)
    assert "1 id(s) of data.test have no rows in the test long table (data.sequences.test), e.g. 777" in err
    pl.read_csv(long).drop("z").write_csv(tmp_path / "no_z.csv")
    err = _cli_error([*base, "--sequences", str(tmp_path / "no_z.csv")], capsys)
    assert "data.sequences.columns: 'z' is not a column of the test long table" in err
    pl.read_csv(long).rename({"step": "stp"}).write_csv(tmp_path / "no_step.csv")
    err = _cli_error([*base, "--sequences", str(tmp_path / "no_step.csv")], capsys)
    assert "data.sequences.order_by = 'step' is not a column of the test long table" in err
    err = _cli_error([*base, "--sequences", str(tmp_path / "missing.csv")], capsys)
    assert "missing.csv' does not exist" in err
    err = _cli_error([*base, "--sequences", str(long), "--images", str(tmp_path)], capsys)
    assert "--images (images=) is for a run with [data.images]" in err


def test_a_table_run_refuses_sequences_and_a_missing_test(images: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match=r"--sequences \(sequences=\) is for a run with"):
        kaggle_kit.predict(images["moved"], images["comp"] / "test.csv", sequences="x.csv", model="cnn")
    with pytest.raises(ConfigError, match=r"name the test rows to predict: --test FILE"):
        kaggle_kit.predict(images["moved"], model="cnn")
    with pytest.raises(DataError, match=r"the test data must be a file path or a polars / pandas frame"):
        kaggle_kit.predict(images["moved"], 3, model="cnn")


@pytest.mark.parametrize("which", ["images", "sequences"])
def test_image_and_sequence_runs_refit_on_all_rows_and_predict_with_one_model(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """``refit`` reads an image / sequence run's rows with the run's readers (from its spec) and trains one model per
    config on all of them; ``predict --refit`` then uses that model, not the fold average."""
    from kaggle_kit.predict import refit

    fixture = request.getfixturevalue(which)
    copy = tmp_path / "run"
    shutil.copytree(fixture["run"], copy)  # refit writes beside the fold models: not into the shared fixture
    comp = fixture["comp"]
    names, new = (["cnn", "lgbm"], {"test": comp / "test.csv"}) if which == "images" else (["rnn", "xgb"], {})
    done = refit(copy, names, progress=None)
    assert sorted(r.model for r in done) == sorted(names)
    store = RunStore(copy)
    for name in names:
        record = json.loads((store.model_dir(name, store.current_models()[name]) / "refit" / "result.json").read_text())
        assert record["n_train"] == N_TRAIN and record["cv"] == "not measured"
        folds = kaggle_kit.predict(copy, **new, model=name, threads=1)
        once = kaggle_kit.predict(copy, **new, model=name, refit=True, threads=1)
        assert once.columns == folds.columns and once[folds.columns[0]].to_list() == folds[folds.columns[0]].to_list()
        values = once.drop(folds.columns[0]).to_numpy()
        assert np.isfinite(values).all() and not np.allclose(values, folds.drop(folds.columns[0]).to_numpy(), atol=1e-6)
