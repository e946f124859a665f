"""Image files listed by id (``[data.images]``): pixel columns, errors, a CNN run through the CLI, and the image
augmentation transforms (each against an independently computed expected array) and test-time augmentation."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_digits

from kaggle_kit.config import build_spec, load_spec
from kaggle_kit.errors import ConfigError, DataError
from kaggle_kit.readers.competition import load_competition, prepare_competition

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

from kaggle_kit.models.nn.augment import (  # noqa: E402
    ImageAugment,
    affine_theta,
    crop_resize,
    sample_crop_boxes,
    shift_image,
    warp,
)

N_TRAIN, N_TEST, SIDE = 200, 40, 16
CNN = {
    "image_shape": [SIDE, SIDE, 1],
    "columns": "pixel\\d+",
    "channels": [16, 32],
    "epochs": 12,
    "patience": 0,
    "batch_size": 32,
    "lr": 3e-3,
}

LGBM = {
    "name": "lgbm",
    "kind": "lightgbm",
    "num_boost_round": 20,
    "early_stopping_rounds": 10,
    "params": {"learning_rate": 0.3, "num_leaves": 7, "min_data_in_leaf": 5},
}


# ------------------------------------------------------------------------------------------------ the competition
def _write_digits(folder: Path) -> dict[int, np.ndarray]:
    """Sklearn's 8x8 digits upscaled to 16x16 PNGs named ``<id>.png``: every third one RGB (tinted), the others
    grey. Returns id -> the (H, W, 3) RGB array each file holds."""
    digits = load_digits()
    folder.mkdir()
    saved = {}
    for i in range(N_TRAIN + N_TEST):
        grey = (np.kron(digits.images[i], np.ones((2, 2))) * 255 / 16).round().astype(np.uint8)
        if i % 3 == 0:
            rgb = np.stack([grey, grey // 2, 255 - grey], axis=-1)
            Image.fromarray(rgb, mode="RGB").save(folder / f"{1000 + i}.png")
        else:
            rgb = np.repeat(grey[..., None], 3, axis=-1)
            Image.fromarray(grey, mode="L").save(folder / f"{1000 + i}.png")
        saved[1000 + i] = rgb
    return saved


@pytest.fixture(scope="module")
def comp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, np.ndarray]]:
    """A competition folder: images/<id>.png, train.csv (id, ink, label), test.csv (id, ink)."""
    root = tmp_path_factory.mktemp("imgcomp")
    saved = _write_digits(root / "images")
    y = load_digits().target
    ids = np.arange(1000, 1000 + N_TRAIN + N_TEST)
    ink = np.array([saved[i].mean() for i in ids])  # a table feature beside the pixels
    pl.DataFrame({"id": ids[:N_TRAIN], "ink": ink[:N_TRAIN], "label": y[:N_TRAIN]}).write_csv(root / "train.csv")
    pl.DataFrame({"id": ids[N_TRAIN:], "ink": ink[N_TRAIN:]}).write_csv(root / "test.csv")
    return root, saved


def _raw(images: dict[str, object] | None = None, models: list[dict[str, object]] | None = None) -> dict:
    return {
        "name": "img-digits",
        "task": "multiclass",
        "metric": "accuracy",
        "seed": 0,
        "data": {
            "train": "train.csv",
            "test": "test.csv",
            "id": "id",
            "target": "label",
            "images": {"folder": "images", "pattern": "{id}.png", "channels": 1, **(images or {})},
        },
        "folds": {"n_splits": 3},
        "run": {"n_jobs": 1},
        "models": models or [{"name": "cnn", "kind": "cnn", "params": CNN}],
    }


def test_pixel_columns_equal_an_independent_pillow_read(comp) -> None:
    root, saved = comp
    data = load_competition(build_spec(_raw({"channels": 3}, models=[LGBM]), base_dir=root))
    n = SIDE * SIDE * 3
    assert data.train.columns == ["id", "ink", "label", *(f"pixel{k}" for k in range(n))]
    assert data.train["pixel0"].dtype == pl.UInt8 and data.test is not None and data.test.width == 2 + n
    assert data.features == ("ink", *(f"pixel{k}" for k in range(n)))  # the trees read the table column too
    pixels = data.train.select(pl.col(r"^pixel\d+$")).to_numpy()
    for row in (0, 1, 3, 199):  # RGB (row % 3 == 0) and grey files
        i = data.train["id"][row]
        np.testing.assert_array_equal(pixels[row], saved[i].reshape(-1))  # hwc: row-major, channels together
        with Image.open(root / "images" / f"{i}.png") as img:
            np.testing.assert_array_equal(pixels[row], np.asarray(img.convert("RGB")).reshape(-1))
    test_pixels = data.test.select(pl.col(r"^pixel\d+$")).to_numpy()
    np.testing.assert_array_equal(test_pixels[5], saved[1000 + N_TRAIN + 5].reshape(-1))

    # grey and resized: what Pillow gives for the same file
    data = load_competition(build_spec(_raw({"size": [8, 6], "channels": 1}, models=[LGBM]), base_dir=root))
    assert data.train.width == 3 + 8 * 6
    with Image.open(root / "images" / "1004.png") as img:
        expected = np.asarray(img.convert("L").resize((6, 8), Image.Resampling.BILINEAR)).reshape(-1)
    np.testing.assert_array_equal(data.train.select(pl.col(r"^pixel\d+$")).to_numpy()[4], expected)


def test_16_bit_grey_images_are_scaled_not_clipped(tmp_path: Path) -> None:
    """A 16-bit grey PNG (Pillow mode ``I;16``): its values 0..65535 are read onto 0..255 as an 8-bit export of the
    same picture holds them. Pillow's own ``convert`` clips at 255, so 255 of these 256 pixels had read as white."""
    from kaggle_kit.models.nn.images import read_image

    wide = np.arange(256, dtype=np.uint16).reshape(16, 16) * 257  # the 8-bit values 0..255, as 16 bits
    Image.fromarray(wide).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as img:
        assert img.mode == "I;16"
    expected = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(read_image(tmp_path / "deep.png", channels=1)[..., 0], expected)
    rgb = read_image(tmp_path / "deep.png", channels=3)
    np.testing.assert_array_equal(rgb, np.repeat(expected[..., None], 3, axis=-1))
    resized = read_image(tmp_path / "deep.png", size=(8, 8), channels=1)[..., 0]
    assert 100 < resized.mean() < 155  # a mid-grey ramp, not a white square


def test_a_photo_tagged_to_be_turned_is_read_upright(tmp_path: Path) -> None:
    """A file stored sideways with EXIF orientation 6 (a phone's portrait photo: turn 90 degrees clockwise to show
    it) is read as every viewer shows it: 24 high, 16 wide, the stored top row now the right column. It was read as
    stored, on its side (or failed the one-size check beside untagged files of the shown size)."""
    from kaggle_kit.models.nn.images import read_image

    stored = np.arange(16 * 24, dtype=np.uint8).reshape(16, 24)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "turned.png", exif=exif)
    Image.fromarray(stored).save(tmp_path / "plain.png")
    np.testing.assert_array_equal(read_image(tmp_path / "turned.png", channels=1)[..., 0], np.rot90(stored, k=-1))
    np.testing.assert_array_equal(read_image(tmp_path / "plain.png", channels=1)[..., 0], stored)


def test_a_preset_gives_images_of_any_shape_to_a_cnn_on_the_pixels(tmp_path: Path) -> None:
    """A preset on [data.images] of 16 x 24 grey images beside a table column: its cnn reads the images' shape and
    only the pixel columns. Their 384 columns make no square, so the preset had added no cnn (the trees alone, without
    a word); and its cnn on square images beside a table column stopped the run with 'set params.columns', a key of
    a model the user had not written."""
    from kaggle_kit.runtime.runner import _with_preset

    (tmp_path / "images").mkdir()
    digits = load_digits()
    for i in range(30):
        grey = (np.kron(digits.images[i], np.ones((2, 3))) * 255 / 16).astype(np.uint8)  # 16 high, 24 wide
        Image.fromarray(grey).save(tmp_path / "images" / f"{i}.png")
    ink = digits.images[:30].mean(axis=(1, 2))
    pl.DataFrame({"id": range(30), "ink": ink, "label": digits.target[:30]}).write_csv(tmp_path / "train.csv")
    raw = _raw(models=[])
    del raw["data"]["test"], raw["models"]
    raw["preset"] = "fast"
    spec = build_spec(raw, base_dir=tmp_path)
    expanded = _with_preset(spec, load_competition(spec), "cpu", 1, lambda _line: None)
    cnn = next(m for m in expanded.models if m.kind == "cnn")
    assert cnn.params["image_shape"] == [16, 24, 1] and cnn.params["columns"] == "pixel\\d+"
    load_competition(expanded)  # the image checks of every cnn pass: it runs as the preset wrote it


def test_float_images_of_0_to_1_are_scaled_not_truncated(tmp_path: Path) -> None:
    """A float TIFF (Pillow mode ``F``) holding 0..1 reads onto 0..255; Pillow's ``convert`` truncates it to 0 or 1
    (all black). A float image holding 0..255 keeps its values, clipped to that range. A 0..1 image a resampling
    overshot a little (-0.02, 1.04) is scaled too: read as 0..255 values, it was nearly black."""
    from kaggle_kit.models.nn.images import read_image

    expected = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(expected.astype(np.float32) / 255).save(tmp_path / "unit.tif")
    Image.fromarray(expected.astype(np.float32) + np.float32(0.2)).save(tmp_path / "bytes.tif")
    with Image.open(tmp_path / "unit.tif") as img:
        assert img.mode == "F"
    np.testing.assert_array_equal(read_image(tmp_path / "unit.tif", channels=1)[..., 0], expected)
    np.testing.assert_array_equal(read_image(tmp_path / "bytes.tif", channels=1)[..., 0], expected)
    rgb = read_image(tmp_path / "unit.tif", channels=3)
    np.testing.assert_array_equal(rgb, np.repeat(expected[..., None], 3, axis=-1))
    overshot = expected.astype(np.float32) / 255  # 0..1 resampled (bicubic): a little below 0 and above 1
    overshot[0, 0], overshot[15, 15] = -0.02, 1.04
    Image.fromarray(overshot).save(tmp_path / "overshot.tif")
    clipped = expected.copy()
    clipped[0, 0], clipped[15, 15] = 0, 255
    np.testing.assert_array_equal(read_image(tmp_path / "overshot.tif", channels=1)[..., 0], clipped)  # not black


def test_float_images_of_minus_1_to_1_are_scaled_onto_0_to_255(tmp_path: Path) -> None:
    """A float image of -1..1 (``x * 2 - 1``, how a net's input or a tanh output is saved) reads -1 as 0 and 1 as
    255, in memory and streamed alike (one reading); it was clipped: its dark half black, the rest 0 or 1 (black).
    One of only its upper half (0..1, no value below -0.5) reads as a 0..1 image: the two cannot be told apart."""
    from kaggle_kit.models.nn.images import read_image
    from kaggle_kit.readers.image_stream import ImageStream

    expected = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(expected.astype(np.float32) / np.float32(127.5) - 1).save(tmp_path / "signed.tif")
    np.testing.assert_array_equal(read_image(tmp_path / "signed.tif", channels=1)[..., 0], expected)
    stream = ImageStream((str(tmp_path / "signed.tif"),), ("id 1",), (16, 16, 3), False, cache=False)
    np.testing.assert_array_equal(stream.read(np.array([0]))[0], np.repeat(expected[..., None], 3, axis=-1))
    overshot = expected.astype(np.float32) / np.float32(127.5) - 1
    overshot[0, 0], overshot[15, 15] = -1.04, 1.04  # resampled: a little beyond -1 and 1, clipped
    Image.fromarray(overshot).save(tmp_path / "overshot.tif")
    np.testing.assert_array_equal(read_image(tmp_path / "overshot.tif", channels=1)[..., 0], expected)


def test_transparent_images_are_laid_onto_white(tmp_path: Path) -> None:
    """A transparent image read without alpha (channels 1 or 3) shows white where it is transparent, as a viewer on
    a page shows it, whatever colour the file stores under those pixels: an RGBA drawing, a grey + alpha PNG, a
    palette PNG with a transparent index. Pillow's ``convert`` dropped the alpha: a black drawing on a transparent
    page (stored black under it, as most exports do) read all black. With channels 4 the alpha is kept."""
    from kaggle_kit.models.nn.images import read_image

    alpha = np.array([[255, 0], [128, 0]], dtype=np.uint8)
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)  # black everywhere, drawn where alpha > 0
    rgba[..., 3] = alpha
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(np.stack([np.zeros_like(alpha), alpha], axis=-1), mode="LA").save(tmp_path / "la.png")
    palette = Image.fromarray(np.array([[1, 0], [1, 0]], dtype=np.uint8), mode="P")
    palette.putpalette([0, 0, 0, 10, 20, 30])
    palette.save(tmp_path / "p.png", transparency=0)  # index 0 (black) transparent

    expected = np.array([[0, 255], [127, 255]], dtype=np.uint8)  # 128/255 of black over white: 127
    for name in ("rgba.png", "la.png"):
        np.testing.assert_array_equal(read_image(tmp_path / name, channels=1)[..., 0], expected)
        np.testing.assert_array_equal(read_image(tmp_path / name, channels=3), np.repeat(expected[..., None], 3, -1))
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png", channels=4), rgba)  # the alpha kept
    colour = np.array([[[10, 20, 30], [255, 255, 255]]] * 2, dtype=np.uint8)
    np.testing.assert_array_equal(read_image(tmp_path / "p.png", channels=3), colour)


@pytest.mark.filterwarnings("ignore:.*repeat an earlier row")  # every image all white: rows repeat
@pytest.mark.parametrize("mode", ["memory", "stream"])
def test_transparent_images_laid_onto_black_where_the_config_says(tmp_path: Path, mode: str) -> None:
    """White drawings on a transparent page (stored white under it: made to be shown on a dark page) read all white
    on white: ``background = "black"`` lays them onto black, in pixel columns and streamed (whose cache is another
    file than the white one's), and the spec keeps the key for ``predict``."""
    from kaggle_kit.readers.image_stream import ImageStream

    (tmp_path / "images").mkdir()
    for i in range(3):
        rgba = np.full((2, 2, 4), 255, dtype=np.uint8)  # white everywhere, drawn where alpha > 0
        rgba[..., 3] = [[255, 0], [0, 100 * i]]
        Image.fromarray(rgba, mode="RGBA").save(tmp_path / "images" / f"{i}.png")
    pl.DataFrame({"id": [0, 1, 2], "y": [0, 1, 0]}).write_csv(tmp_path / "train.csv")
    raw = {
        "name": "dark",
        "task": "binary",
        "metric": "accuracy",
        "data": {"train": "train.csv", "id": "id", "target": "y", "images": {"folder": "images", "channels": 1}},
        "models": [{"name": "cnn", "kind": "cnn", "params": {"image_shape": [2, 2, 1]}}],
    }
    expected = {i: [255, 0, 0, 100 * i] for i in range(3)}  # white * alpha onto black
    streams: dict[str, ImageStream] = {}
    for background in ("black", "white"):
        raw["data"]["images"] |= {"mode": mode, "background": background}
        spec = build_spec(raw, base_dir=tmp_path)
        (tmp_path / "dark.toml").write_text(spec.to_toml())
        assert load_spec(tmp_path / "dark.toml").data.images.background == background  # predict reads it so
        data = load_competition(spec)
        if mode == "memory":
            got = {i: list(row[1:]) for i, row in enumerate(data.train.select("id", "^pixel\\d+$").rows())}
        else:
            assert data.images is not None
            streams[background] = data.images
            got = {i: data.images.decode(i).ravel().tolist() for i in range(3)}
        white = {i: [255] * 4 for i in range(3)}
        assert got == (expected if background == "black" else white)
    if mode == "stream":
        assert streams["black"].fingerprint != streams["white"].fingerprint  # not the other's cache


def test_32_bit_integer_images_beyond_16_bits_are_refused(tmp_path: Path) -> None:
    """A 32-bit integer TIFF (Pillow mode ``I``) holding values beyond 0..65535 is an error naming the file and its
    range: no usual scale maps such values onto 0..255 (they were read as 16-bit values, every pixel above 65535
    clipped white, without a word). A mode ``I`` image holding 16-bit values (a 16-bit PGM opens so) is scaled as a
    16-bit image is."""
    from kaggle_kit.models.nn.images import read_image

    wide = (np.arange(16, dtype=np.int32).reshape(4, 4) * 100_000).astype(np.int32)
    Image.fromarray(wide).save(tmp_path / "wide.tif")
    with Image.open(tmp_path / "wide.tif") as img:
        assert img.mode == "I"
    with pytest.raises(DataError, match=r"'.*wide\.tif' \(id 7\) is an integer image .* 0\.\.1500000, beyond"):
        read_image(tmp_path / "wide.tif", channels=1, label="id 7")
    # a signed 16-bit TIFF (a CT scan's Hounsfield units) opens as mode I too: negative values are no 16-bit image's
    Image.fromarray(np.array([[-1000, 0], [500, 1000]], dtype=np.int16)).save(tmp_path / "signed.tif")
    with pytest.raises(DataError, match=r"'.*signed\.tif' is an integer image .* holding values -1000\.\.1000, beyond"):
        read_image(tmp_path / "signed.tif", channels=1)
    deep = np.arange(256, dtype=np.uint16).reshape(16, 16) * 257
    (tmp_path / "deep.pgm").write_bytes(b"P5\n16 16\n65535\n" + deep.astype(">u2").tobytes())
    with Image.open(tmp_path / "deep.pgm") as img:
        assert img.mode == "I"
    expected = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(read_image(tmp_path / "deep.pgm", channels=1)[..., 0], expected)


def test_an_image_too_large_for_pillow_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow refuses files above twice its ``MAX_IMAGE_PIXELS`` (a whole-slide scan) with its
    ``DecompressionBombError``, which is no ``OSError``: it escaped as a stack trace (from a decoding thread). Now an
    error naming the file and the fix; init skips such a file when it reads the headers (run names it)."""
    from kaggle_kit.models.nn.images import read_image
    from kaggle_kit.readers.image_folders import _shape

    Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(tmp_path / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 256 pixels: above twice the limit
    with pytest.raises(DataError, match=r"'.*huge\.png' \(id 3\) is too large for Pillow to open .* shrink such"):
        read_image(tmp_path / "huge.png", channels=1, label="id 3")
    images: dict[str, object] = {}
    _shape(images, [tmp_path / "huge.png"], [], "train")
    assert images == {}


def test_files_of_formats_pillow_cannot_read_say_how_to_convert_them(tmp_path: Path) -> None:
    """A DICOM scan or a numpy array named by the id (medical and preprocessed competitions ship them): the error says
    what the files are and how to turn them into images Pillow reads. It said only 'cannot identify image file'."""
    from kaggle_kit.models.nn.images import read_image

    np.save(tmp_path / "a.npy", np.zeros((4, 4), dtype=np.uint8))
    (tmp_path / "b.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 64)
    with pytest.raises(DataError, match=r"'.*a\.npy' could not be read as an image: .*; \.npy files are numpy arrays"):
        read_image(tmp_path / "a.npy")
    with pytest.raises(DataError, match=r"could not be read as an image: .*; \.dcm files are DICOM.*pydicom\.dcmread"):
        read_image(tmp_path / "b.dcm")


def test_prepared_frames_are_not_attached_twice(comp) -> None:
    """The runner hands its prepared frames to worker processes, which prepare them again."""
    root, _ = comp
    spec = build_spec(_raw(models=[LGBM]), base_dir=root)
    data = load_competition(spec)
    again = prepare_competition(spec, data.train, data.test)
    assert again.train.equals(data.train) and again.fingerprint() == data.fingerprint()
    clash = data.train.select("id", "ink", "label", pl.col("pixel0").alias("pixel7"))
    with pytest.raises(DataError, match=r"train table already has pixel columns \('pixel7', \.\.\.\)"):
        prepare_competition(spec, clash, None)


def test_cli_run_of_a_cnn_on_image_files(comp, tmp_path: Path) -> None:
    """A config with [data.images] through `kaggle-kit run`: a cnn on the pixels only, a tree on every column."""
    from kaggle_kit.cli import main
    from kaggle_kit.runtime.store import RunStore

    root, _ = comp
    spec = build_spec(_raw(models=[{"name": "cnn", "kind": "cnn", "params": CNN}, LGBM]), base_dir=root)
    config = root / "img-digits.toml"
    config.write_text(spec.to_toml())
    assert load_spec(config).data.images == spec.data.images  # the TOML round trip keeps [data.images]

    runs = tmp_path / "runs"
    assert main(["run", str(config), "--runs-root", str(runs)]) == 0
    store = RunStore(runs / "img-digits")
    train = pl.read_csv(root / "train.csv")
    oof = store.read_predictions("cnn", "oof")
    assert sorted(oof["id"].to_list()) == sorted(train["id"].to_list())  # every id exactly once
    proba = oof.join(train, on="id").select([f"p_{c}" for c in range(10)]).to_numpy()
    accuracy = float((proba.argmax(1) == oof.join(train, on="id")["label"].to_numpy()).mean())
    assert accuracy > 0.6, accuracy  # chance is 0.1
    test = store.read_predictions("cnn", "test")
    assert sorted(test["id"].to_list()) == list(range(1000 + N_TRAIN, 1000 + N_TRAIN + N_TEST))

    # the cnn read only the pixels; the tree read the table column and the pixels
    (cnn_json,) = runs.glob("img-digits/models/cnn/*/folds/r0_f0/model.json")
    assert json.loads(cnn_json.read_text())["columns"][:2] == ["pixel0", "pixel1"]
    assert len(json.loads(cnn_json.read_text())["columns"]) == SIDE * SIDE
    (tree,) = runs.glob("img-digits/models/lgbm/*/folds/r0_f0/model.txt")
    names = next(line for line in tree.read_text().splitlines() if line.startswith("feature_names="))
    assert names.split("=")[1].split()[:3] == ["ink", "pixel0", "pixel1"]


# ------------------------------------------------------------------------------------------------ errors
def _corrupt(root: Path) -> None:
    (root / "images" / "1001.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")


def _mixed(root: Path) -> None:
    Image.new("L", (10, 12)).save(root / "images" / "1001.png")


def _missing(root: Path) -> None:
    for i in (1001, 1005, 1007, 1100):
        (root / "images" / f"{i}.png").unlink()


def _upper_case_extension(root: Path) -> None:
    for path in (root / "images").glob("*.png"):
        path.rename(path.with_suffix(".PNG"))


def _zero_padded_names(root: Path) -> None:
    for path in (root / "images").glob("*.png"):
        path.rename(path.with_name(f"{int(path.stem):06d}.png"))


def _names_with_extension(root: Path) -> None:
    for name in ("train.csv", "test.csv"):
        table = pl.read_csv(root / name)
        table.with_columns(pl.format("{}.png", "id").alias("id")).write_csv(root / name)


def _outside(root: Path) -> None:
    pl.DataFrame({"id": [1, 2], "file": ["1000.png", "../../etc/passwd"], "label": [0, 1]}).write_csv(
        root / "train.csv"
    )


@pytest.mark.parametrize(
    ("damage", "images", "error", "match"),
    [
        (
            _missing,
            {},
            DataError,
            r"4 of 200 train image files are missing: '.*1001\.png' \(id 1001\), '.*1005\.png' \(id 1005\), "
            r"'.*1007\.png' \(id 1007\) and 1 more; check data\.images\.folder, data\.images\.pattern",
        ),
        (
            _mixed,
            {},
            DataError,
            r"image file '.*1001\.png' \(id 1001\) is 10 x 12 but '.*1000\.png' \(id 1000\) is 16 x 16; "
            r"pass size=.*data\.images\.size = \[height, width\]",
        ),
        (_corrupt, {}, DataError, r"image file '.*1001\.png' \(id 1001\) could not be read as an image"),
        (
            _upper_case_extension,
            {},
            DataError,
            r"200 of 200 train image files are missing: .*The folder has '1000\.PNG' \(spelled otherwise\): set "
            r"data\.images\.pattern = '\{id\}\.PNG'",
        ),
        (
            _names_with_extension,
            {},
            DataError,
            r"missing: '.*1000\.png\.png' .*The folder has '1000\.png': the values name the files, so set "
            r"data\.images\.pattern = '\{id\}'",
        ),
        (
            _zero_padded_names,
            {},
            DataError,
            r"missing: '.*/1000\.png' .*The folder has '001000\.png': the files' names are the ids padded with zeros "
            r"to 6 digits, so set data\.images\.pattern = '\{id:06d\}\.png'",
        ),
        (None, {"folder": "pictures"}, DataError, r"data\.images\.folder = 'pictures' \('.*pictures'\) does not exist"),
        (None, {"test_folder": "nope"}, DataError, r"data\.images\.test_folder = 'nope' .* does not exist"),
        (
            None,
            {"folder": "data\\pictures"},  # a Windows path: the folder's name, on Linux and Kaggle
            DataError,
            r"data\.images\.folder = 'data\\\\pictures' .* \(a '\\' is no folder separator here: write the path with "
            r"'/', e\.g\. 'data/train\.csv'\) does not exist",
        ),
        (
            _outside,
            {"column": "file", "pattern": "{}"},
            DataError,
            r"the train value '\.\./\.\./etc/passwd' of column 'file' names the file .* outside the image folder",
        ),
    ],
    ids=[
        "missing",
        "mixed-sizes",
        "corrupt",
        "upper-case-extension",
        "names-with-extension",
        "zero-padded-names",
        "no-folder",
        "no-test-folder",
        "folder-with-backslashes",
        "path-traversal",
    ],
)
def test_image_data_errors(comp, tmp_path: Path, damage, images, error, match: str) -> None:
    root, _ = comp
    work = tmp_path / "comp"
    work.mkdir()
    (work / "images").symlink_to(root / "images") if damage is None else _copy_images(root, work)
    for name in ("train.csv", "test.csv"):
        (work / name).write_bytes((root / name).read_bytes())
    raw = _raw(images)
    if damage is not None:
        damage(work)
    if damage is _outside:
        raw["data"]["drop"] = ["file"]
        del raw["data"]["test"]
    with pytest.raises(error, match=match):
        load_competition(build_spec(raw, base_dir=work))


@pytest.mark.parametrize(
    ("value", "file", "pattern", "match"),
    [
        ("IMG7", "img7.png", "{id}.png", r"The folder has 'img7\.png' for 'IMG7\.png', its name in another case: .*"
         r"write the column 'id' as the files are named .*\(in polars: pl\.col\('id'\)\.str\.to_lowercase\(\)\)"),
        ("IMG7.png", "IMG7.PNG", "{id}", r"The folder has 'IMG7\.PNG' for 'IMG7\.png', its name in another case: .*"
         r"\(in polars: pl\.col\('id'\)\.str\.to_uppercase\(\)\), or rename the files"),
        ("img7", "IMG7.PNG", "{id}.png", r"The folder has 'IMG7\.PNG' for 'img7\.png', its name in another case: "
         r"file names are case-sensitive on Linux and Kaggle; write the column 'id' as the files are named in the "
         r"train and test tables \(in polars: pl\.col\('id'\)\.str\.to_uppercase\(\)\) and set "
         r"data\.images\.pattern = '\{id\}\.PNG', or rename the files$"),
        ("Img7", "x_IMG7.PNG", "x_{id}.png", r"The folder has 'x_IMG7\.PNG' for 'x_Img7\.png', its name in another "
         r"case: .* write the column 'id' as the files are named in the train and test tables and set "
         r"data\.images\.pattern = 'x_\{id\}\.PNG', or rename the files$"),
        ("img7.png", "X_IMG7.PNG", "x_{id}", r"The folder has 'X_IMG7\.PNG' for 'x_img7\.png', its name in another "
         r"case: .* write the column 'id' as the files are named in the train and test tables, or rename the files$"),
    ],
    ids=["name-lower", "extension-in-the-values", "both", "both-mixed", "pattern-text-cased"],
)  # fmt: skip
def test_file_names_cased_otherwise_than_the_column_say_what_to_fix(
    tmp_path: Path, value: str, file: str, pattern: str, match: str
) -> None:
    """The column's ``IMG7`` beside the file ``img7.png``: the missing error had advised setting the pattern it had
    (``'{id}.png'``); where the values carry the extension (pattern ``'{id}'``) it had said nothing of the file."""
    (tmp_path / "images").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "images" / file)
    pl.DataFrame({"id": [value], "label": [1]}).write_csv(tmp_path / "train.csv")
    raw = _raw({"pattern": pattern, "mode": "memory"})
    del raw["data"]["test"]
    with pytest.raises(DataError, match=r"1 of 1 train image files are missing: .*" + match):
        load_competition(build_spec(raw, base_dir=tmp_path))


def test_a_pattern_without_the_extension_the_files_have_names_it(tmp_path: Path) -> None:
    """Pattern ``'{id}'`` (init writes it where the values are file names) on values without an extension (``a``,
    the file ``a.png``): the missing error names the pattern to set. It named the missing files only."""
    (tmp_path / "images").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "images" / "a.png")
    pl.DataFrame({"id": ["a"], "label": [1]}).write_csv(tmp_path / "train.csv")
    raw = _raw({"pattern": "{id}", "mode": "memory"})
    del raw["data"]["test"]
    with pytest.raises(
        DataError,
        match=r"1 of 1 train image files are missing: .*The folder has 'a\.png': the values name the files without "
        r"their extension, so set data\.images\.pattern = '\{id\}\.png'$",
    ):
        load_competition(build_spec(raw, base_dir=tmp_path))


def test_paths_written_with_backslashes_say_how_to_write_them(tmp_path: Path) -> None:
    """A table written on Windows: the column holds ``cats\\1.png`` for the file ``cats/1.png``; on Linux (Kaggle) a
    backslash is part of a file's name, so the file was missing with no hint."""
    (tmp_path / "images" / "cats").mkdir(parents=True)
    Image.new("L", (4, 4)).save(tmp_path / "images" / "cats" / "1.png")
    pl.DataFrame({"id": ["cats\\1.png"], "label": [1]}).write_csv(tmp_path / "train.csv")
    raw = _raw({"pattern": "{id}", "mode": "memory"})
    del raw["data"]["test"]
    with pytest.raises(
        DataError,
        match=r"1 of 1 train image files are missing: .*The folder has 'cats/1\.png': the column 'id' writes its "
        r"paths with backslashes \(Windows'\); write them with '/' .*pl\.col\('id'\)\.str\.replace_all\('\\\\', '/', "
        r"literal=True\)\)$",
    ):
        load_competition(build_spec(raw, base_dir=tmp_path))


def test_a_broken_link_among_the_files_is_named_as_one(tmp_path: Path) -> None:
    """A file that is a symbolic link to a file no longer there (a dataset linked from elsewhere, then moved) is
    missing, said to be a broken link with its target; links that lead to files are read as the files."""
    (tmp_path / "images").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Image.new("L", (4, 4), 77).save(elsewhere / "a.png")
    (tmp_path / "images" / "a.png").symlink_to(elsewhere / "a.png")
    (tmp_path / "images" / "b.png").symlink_to(elsewhere / "gone.png")
    pl.DataFrame({"id": ["a", "b"], "label": [1, 0]}).write_csv(tmp_path / "train.csv")
    raw = _raw({"mode": "memory"}, [{"name": "cnn", "kind": "cnn", "params": {**CNN, "image_shape": [4, 4, 1]}}])
    del raw["data"]["test"]
    with pytest.raises(
        DataError,
        match=r"1 of 2 train image files are missing: '.*b\.png' \(id 'b'\) \(a link to '.*elsewhere/gone\.png', "
        r"which does not exist\); check data\.images\.folder",
    ):
        load_competition(build_spec(raw, base_dir=tmp_path))
    Image.new("L", (4, 4), 77).save(tmp_path / "images" / "c.png")
    pl.DataFrame({"id": ["a", "c"], "label": [1, 0]}).write_csv(tmp_path / "train.csv")
    raw.update(task="binary", metric="roc_auc")
    train = load_competition(build_spec(raw, base_dir=tmp_path)).train
    assert (train.select(pl.col(r"^pixel\d+$")).to_numpy() == 77).all()


def test_absolute_paths_in_the_column_name_the_folder_to_set(comp, tmp_path: Path) -> None:
    """A table written in a Kaggle notebook names each image by its absolute path (/kaggle/input/<comp>/...): refused
    as outside the image folder (file names come from the data), now with the folder that holds them all, which then
    reads them as they are. It said only that names must stay inside the folder."""
    root, _ = comp
    files = [str(root / "images" / f"{1000 + i}.png") for i in range(30)]
    pl.DataFrame({"id": range(30), "file": files, "label": load_digits().target[:30]}).write_csv(tmp_path / "train.csv")
    raw = _raw({"column": "file", "pattern": "{}", "folder": str(tmp_path)}, models=[LGBM])
    raw["data"]["drop"] = ["file"]
    del raw["data"]["test"]
    folder = str(root / "images")
    with pytest.raises(
        DataError, match=rf"outside the image folder .*set data\.images\.folder = '{re.escape(folder)}'"
    ):
        load_competition(build_spec(raw, base_dir=tmp_path))
    raw["data"]["images"]["folder"] = folder
    assert load_competition(build_spec(raw, base_dir=tmp_path)).train.width == 3 + SIDE * SIDE
    # in a folder per class (train/cat/1.png, train/dog/2.png): the folder holding them all, not the first one's
    for i, name in enumerate(files):
        (tmp_path / "pics" / "ab"[i % 2]).mkdir(parents=True, exist_ok=True)
        files[i] = str((tmp_path / "pics" / "ab"[i % 2] / Path(name).name).resolve())
        Path(files[i]).write_bytes(Path(name).read_bytes())
    pl.DataFrame({"id": range(30), "file": files, "label": load_digits().target[:30]}).write_csv(tmp_path / "train.csv")
    (tmp_path / "other").mkdir()
    raw["data"]["images"]["folder"] = str(tmp_path / "other")
    pics = str((tmp_path / "pics").resolve())
    with pytest.raises(DataError, match=rf"set data\.images\.folder = '{re.escape(pics)}' \(the folder holding them"):
        load_competition(build_spec(raw, base_dir=tmp_path))


def _copy_images(root: Path, work: Path) -> None:
    (work / "images").mkdir()
    for path in (root / "images").iterdir():
        (work / "images" / path.name).write_bytes(path.read_bytes())


@pytest.mark.parametrize(
    ("images", "match"),
    [
        ({"pattern": "digit.png"}, r"data\.images\.pattern: must hold the placeholder \{id\} \(or \{\}\)"),
        ({"pattern": "../{id}.png"}, r"data\.images\.pattern: must be a file name inside the image folder"),
        ({"channels": 2}, r"data\.images\.channels must be one of 1, 3 or 4; got 2"),
        ({"size": [16]}, r"data\.images\.size: must be \[height, width\]"),
        ({"folder": None}, r"data\.images: needs folder \(or train_folder and test_folder\)"),
        ({"patern": "{id}.png"}, r"unknown key 'data\.images\.patern'; allowed here: .*Did you mean 'pattern'\?"),
    ],
)
def test_image_spec_errors(images: dict[str, object], match: str) -> None:
    raw = _raw(images)
    raw["data"]["images"] = {k: v for k, v in raw["data"]["images"].items() if v is not None}
    with pytest.raises(ConfigError, match=match):
        build_spec(raw)


@pytest.mark.parametrize(
    ("params", "drop", "match"),
    [
        ({"image_shape": None}, [], r"model 'cnn': set params\.image_shape = \[16, 16, 1\], the \[height, width"),
        ({"image_shape": [16, 16, 3]}, [], r"params\.image_shape = \[16, 16, 3\] but the images of data\.images"),
        ({"columns": None}, [], r"data has feature columns besides the pixels \('ink'\); set params\.columns = "),
        ({"pixel_order": "chw"}, [], r"pixel columns of data\.images are in 'hwc' order"),
    ],
)
def test_cnn_params_are_checked_against_the_images(comp, params, drop, match: str) -> None:
    root, _ = comp
    cnn = {k: v for k, v in {**CNN, **params}.items() if v is not None}
    raw = _raw(models=[{"name": "cnn", "kind": "cnn", "params": cnn}])
    raw["data"]["drop"] = drop
    with pytest.raises(ConfigError, match=match):
        load_competition(build_spec(raw, base_dir=root))


def test_cnn_without_columns_is_fine_when_the_pixels_are_the_only_features(comp) -> None:
    root, _ = comp
    cnn = {k: v for k, v in CNN.items() if k != "columns"}
    raw = _raw(models=[{"name": "cnn", "kind": "cnn", "params": cnn}])
    raw["data"]["drop"] = ["ink"]
    assert len(load_competition(build_spec(raw, base_dir=root)).features) == SIDE * SIDE


def test_a_file_name_column_must_be_dropped(comp, tmp_path: Path) -> None:
    root, _ = comp
    train = pl.read_csv(root / "train.csv").with_columns(file=pl.format("{}.png", "id"))
    train.write_csv(tmp_path / "train.csv")
    (tmp_path / "images").symlink_to(root / "images")
    raw = _raw({"column": "file", "pattern": "{}"}, models=[LGBM])
    del raw["data"]["test"]
    with pytest.raises(ConfigError, match=r"data\.images\.column = 'file' is not data\.id.* add 'file' to data\.drop"):
        load_competition(build_spec(raw, base_dir=tmp_path))
    raw["data"]["drop"] = ["file"]
    data = load_competition(build_spec(raw, base_dir=tmp_path))
    assert "file" not in data.features and data.train.width == 4 + SIDE * SIDE


# ------------------------------------------------------------------------------------------------ augmentation
def _ramp(h: int = 4, w: int = 4) -> torch.Tensor:
    """One 2-channel image: channel 0 = the column index, channel 1 = the row index (bilinear is exact on it)."""
    cols = torch.arange(w, dtype=torch.float32).expand(h, w)
    rows = torch.arange(h, dtype=torch.float32)[:, None].expand(h, w)
    return torch.stack([cols, rows])[None]


def _image_batch(n: int = 64) -> torch.Tensor:
    return torch.arange(n * 2 * 5 * 5, dtype=torch.float32).reshape(n, 2, 5, 5) % 23


def test_flips_give_the_image_or_its_mirror() -> None:
    x = _image_batch()
    torch.manual_seed(0)
    for aug, mirror in (
        (ImageAugment(hflip=True), x.numpy()[..., ::-1]),
        (ImageAugment(vflip=True), x.numpy()[..., ::-1, :]),
    ):
        out = aug(x).numpy()
        flipped = [bool(np.array_equal(o, m)) for o, m in zip(out, mirror, strict=True)]
        kept = [bool(np.array_equal(o, k)) for o, k in zip(out, x.numpy(), strict=True)]
        assert all(f or k for f, k in zip(flipped, kept, strict=True)) and 16 < sum(flipped) < 48


def test_shifts_move_whole_pixels_repeating_the_border() -> None:
    x = _image_batch()
    expected = np.pad(x.numpy()[0], ((0, 0), (1, 0), (0, 2)), mode="edge")[:, :5, 2:]  # down 1, left 2
    np.testing.assert_array_equal(shift_image(x, 1, -2)[0].numpy(), expected)

    torch.manual_seed(0)
    out = ImageAugment(shift=1)(x)
    moves = set()
    for i in range(len(x)):
        found = [
            (dy, dx)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if torch.allclose(out[i], shift_image(x[i : i + 1], dy, dx)[0], atol=1e-4)
        ]
        assert found, f"image {i} is not a whole-pixel shift of at most 1"
        moves.add(found[0])
    assert len(moves) >= 6


def test_rotation_and_zoom_against_exact_expectations() -> None:
    x = _ramp()
    one, zero = torch.ones(1), torch.zeros(1)
    quarter = warp(x, affine_theta(torch.tensor([math.pi / 2]), one, zero, zero, 4, 4))
    np.testing.assert_allclose(quarter[0].numpy(), np.rot90(x[0].numpy(), k=1, axes=(1, 2)), atol=1e-5)
    # zoom in x2 about the centre: output pixel j samples the input at 1.5 + (j - 1.5) / 2
    zoomed = warp(x, affine_theta(zero, 2 * one, zero, zero, 4, 4))
    np.testing.assert_allclose(zoomed[0, 0, 0].numpy(), [0.75, 1.25, 1.75, 2.25], atol=1e-6)
    np.testing.assert_allclose(zoomed[0, 1, :, 0].numpy(), [0.75, 1.25, 1.75, 2.25], atol=1e-6)

    torch.manual_seed(0)
    theta = ImageAugment(rotate=30.0).sample_theta(500, 8, 8, torch.device("cpu"))
    angles = torch.atan2(theta[:, 1, 0], theta[:, 0, 0]).rad2deg()
    assert angles.abs().max() <= 30 and angles.min() < -25 and angles.max() > 25
    assert torch.allclose(theta[:, :, 2], torch.zeros(500, 2))  # no shift asked, none drawn


def test_crops_against_exact_expectations() -> None:
    x = _ramp(4, 6)
    # window rows 1..3 (height 2), columns 1.5..4.5 (width 3), stretched to 4 x 6
    out = crop_resize(x, torch.tensor([[1.0, 1.5, 2.0, 3.0]]))[0].numpy()
    cols = 1.5 + (np.arange(6) + 0.5) * 3 / 6 - 0.5
    rows = 1.0 + (np.arange(4) + 0.5) * 2 / 4 - 0.5
    np.testing.assert_allclose(out[0], np.broadcast_to(cols, (4, 6)), atol=1e-5)
    np.testing.assert_allclose(out[1], np.broadcast_to(rows[:, None], (4, 6)), atol=1e-5)

    torch.manual_seed(0)
    boxes = sample_crop_boxes(1000, 20, 30, 0.4, torch.device("cpu"))
    top, left, height, width = boxes.unbind(1)
    area = height * width / 600
    assert (top >= 0).all() and (left >= 0).all() and (top + height <= 20 + 1e-4).all()
    assert (left + width <= 30 + 1e-4).all()
    assert area.min() >= 0.6 * 0.75 - 1e-4 and area.max() <= 1 + 1e-6 and area.mean() < 0.9

    # the training transform is that crop: the sampled maps keep the window inside the image
    torch.manual_seed(1)
    theta = ImageAugment(crop=0.4).sample_theta(1000, 20, 30, torch.device("cpu"))
    reach = theta[:, :, :2].abs().sum(2) + theta[:, :, 2].abs()
    assert (reach <= 1 + 1e-5).all() and (theta[:, 0, 0] * theta[:, 1, 1]).min() >= 0.6 * 0.75 - 1e-4
    batch = _ramp(20, 30).expand(3, -1, -1, -1)
    torch.manual_seed(2)
    drawn = ImageAugment(crop=0.4).sample_theta(3, 20, 30, torch.device("cpu"))
    torch.manual_seed(2)
    assert torch.allclose(ImageAugment(crop=0.4)(batch), warp(batch, drawn))


def test_augment_crop_is_a_cnn_param() -> None:
    from kaggle_kit.models.nn.families import FAMILIES

    cnn = FAMILIES["cnn"]
    params = cnn.validate("cnn", {"image_shape": [8, 8, 1], "augment_crop": 0.25})
    assert cnn.augment(params) == ImageAugment(crop=0.25)
    with pytest.raises(ConfigError, match=r"params\.augment_crop must be a number >= 0 and < 1; got 1\.5"):
        cnn.validate("cnn", {"image_shape": [8, 8, 1], "augment_crop": 1.5})


# ------------------------------------------------------------------------------------------------ TTA
def test_tta_averages_the_views_training_used() -> None:
    from kaggle_kit.features import FeatureMatrix
    from kaggle_kit.models.nn.families import FAMILIES
    from kaggle_kit.models.nn.net import fit_net, predict_net

    assert len(ImageAugment(rotate=10, scale=0.1, crop=0.2).tta_views()) == 1  # nothing with canonical views
    views = ImageAugment(shift=2, vflip=True).tta_views()
    x = _image_batch(2)
    expected = [x, x.flip(-2), shift_image(x, 2, 0), shift_image(x, -2, 0), shift_image(x, 0, 2), shift_image(x, 0, -2)]
    assert len(views) == len(expected) and all(torch.equal(v(x), e) for v, e in zip(views, expected, strict=True))

    digits = load_digits()
    X = FeatureMatrix(digits.data[:300].astype(np.float32), tuple(f"pixel{k}" for k in range(64)), ())
    params = FAMILIES["cnn"].validate(
        "cnn",
        {
            "image_shape": [8, 8, 1],
            "channels": [4],
            "epochs": 1,
            "augment_hflip": True,
            "augment_shift": 1,
            "tta": True,
        },
    )
    fitted, _ = fit_net(
        "cnn", "cnn", params, X, digits.target[:300], None, None, task="multiclass", n_classes=10, scorer=None, seed=0
    )
    pred = predict_net(fitted, X)
    inputs = FAMILIES["cnn"].inputs("cnn", params)
    (images,) = inputs.arrays(X, fitted.config["inputs"])
    x = torch.from_numpy(images)
    seen = [x, x.flip(-1), *(shift_image(x, dy, dx) for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)))]
    with torch.inference_mode():
        manual = torch.stack([torch.softmax(fitted.module(v), 1) for v in seen]).mean(0).numpy()
    np.testing.assert_allclose(pred, manual, atol=1e-5)
    plain = predict_net(type(fitted)(fitted.module, {**fitted.config, "params": {**params, "tta": False}}), X)
    assert not np.allclose(pred, plain, atol=1e-4)  # the views did change the predictions
