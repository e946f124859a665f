"""``kaggle-kit init`` on an image competition: ``train.csv`` (an id and the label) beside folders of image files named
by the id. The table alone has no feature; init writes ``[data.images]`` and a preset with a ``cnn`` on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_digits

from kaggle_kit.config import load_spec
from kaggle_kit.init_config import write_config
from kaggle_kit.readers.competition import load_competition

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("torch")

N_TRAIN, N_TEST = 40, 12


def _digit(i: int) -> np.ndarray:
    """Sklearn's 8 x 8 digit ``i`` as a 16 x 16 grey uint8 image."""
    return (np.kron(load_digits().images[i], np.ones((2, 2))) * 255 / 16).astype(np.uint8)


def test_init_writes_data_images_for_id_named_files_in_train_and_test_folders(tmp_path: Path) -> None:
    """train/<id>.png and test/<id>.png, ids like 'img0007', a sample submission: one folder per split."""
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    ids = [f"img{i:04d}" for i in range(N_TRAIN + N_TEST)]
    for i, name in enumerate(ids):
        Image.fromarray(_digit(i)).save(tmp_path / ("train" if i < N_TRAIN else "test") / f"{name}.png")
    y = load_digits().target[:N_TRAIN] % 2
    pl.DataFrame({"id": ids[:N_TRAIN], "label": y}).write_csv(tmp_path / "train.csv")
    pl.DataFrame({"id": ids[N_TRAIN:]}).write_csv(tmp_path / "test.csv")
    pl.DataFrame({"id": ids[N_TRAIN:], "label": [0] * N_TEST}).write_csv(tmp_path / "sample_submission.csv")

    path, why = write_config("digits", tmp_path / "train.csv", tmp_path, preset="fast")
    assert "images: train/<id>.png (one file per train row; test's in test/) -> [data.images]" in [
        w.strip() for w in why
    ]
    spec = load_spec(path)
    images = spec.data.images
    assert images is not None and images.pattern == "{id}.png" and images.channels == 1 and images.size is None
    assert images.train_folder == Path("train") and images.test_folder == Path("test")  # relative to the config
    cnn = next(m for m in spec.models if m.kind == "cnn")
    assert cnn.params["image_shape"] == [16, 16, 1]
    data = load_competition(spec)  # runs as written: every image read, the cnn's shape checked
    assert data.test is not None and len(data.features) == 16 * 16
    pixels = data.test.select(pl.col(r"^pixel\d+$")).to_numpy()
    np.testing.assert_array_equal(pixels[3], _digit(N_TRAIN + 3).reshape(-1))


def test_init_reads_file_names_with_their_extension_as_the_id(tmp_path: Path) -> None:
    """One images/ folder of JPEGs spelled '.JPG', the table's column the file names (SIIM-ISIC's image_name), no
    sample submission; grey and RGB files, some of another size."""
    (tmp_path / "images").mkdir()
    names = [f"p{i:03d}.JPG" for i in range(N_TRAIN + N_TEST)]
    for i, name in enumerate(names):
        img = Image.fromarray(_digit(i))
        img = img.convert("RGB") if i % 3 == 0 else img
        img = img.resize((20, 18)) if i % 7 == 0 else img
        img.save(tmp_path / "images" / name, format="JPEG")
    y = load_digits().target[:N_TRAIN] % 2
    pl.DataFrame({"image_name": names[:N_TRAIN], "label": y}).write_csv(tmp_path / "train.csv")
    pl.DataFrame({"image_name": names[N_TRAIN:]}).write_csv(tmp_path / "test.csv")

    path, why = write_config("jpegs", tmp_path / "train.csv", tmp_path, preset="fast")
    said = [w.strip() for w in why]
    assert "id = 'image_name' (the image file names, one per row)" in said and "id: none found" not in " ".join(said)
    assert not any(w.startswith("drop = ['image_name']") for w in said)  # the id, not a code column to drop
    spec = load_spec(path)
    images = spec.data.images
    assert spec.data.id == "image_name" and images is not None and images.folder == Path("images")
    assert images.pattern == "{id}" and images.size == [16, 16] and images.channels == 3
    assert next(m for m in spec.models if m.kind == "cnn").params["image_shape"] == [16, 16, 3]
    assert load_competition(spec).features[-1] == f"pixel{16 * 16 * 3 - 1}"


def test_init_on_a_table_without_image_files_writes_no_images(tmp_path: Path) -> None:
    """A folder beside train whose files are not named by any column, and one of text files a column names: no
    [data.images]."""
    (tmp_path / "train").mkdir()
    Image.fromarray(_digit(0)).save(tmp_path / "train" / "cover.png")
    (tmp_path / "notes").mkdir()
    for i in range(60):
        (tmp_path / "notes" / f"n{i}.txt").write_text("a note")
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {
            "id": range(60),
            "x": rng.normal(size=60),
            "note": [f"n{i}.txt" for i in range(60)],
            "label": rng.integers(0, 2, 60),
        }
    )
    frame.head(48).write_csv(tmp_path / "train.csv")
    frame.tail(12).drop("label").write_csv(tmp_path / "test.csv")
    path, why = write_config("table", tmp_path / "train.csv", tmp_path, preset="fast")
    assert load_spec(path).data.images is None and not any("images" in w for w in why)


def test_init_on_a_folder_of_class_subfolders_says_how_to_write_the_table_and_then_reads_it(tmp_path: Path) -> None:
    """The ImageFolder layout (train/<class>/<file>.png, no table): `--train train` said `must be .csv or .parquet;
    got 'no extension'`. Now it says to write a table of paths and labels; init then finds the files by the paths."""
    from kaggle_kit.errors import DataError

    root = tmp_path / "train"
    digits = load_digits()
    for i in range(N_TRAIN):
        folder = root / ("odd" if digits.target[i] % 2 else "even")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_digit(i)).save(folder / f"{i}.png")
    with pytest.raises(DataError, match=r"is a folder; init reads a train table .* subfolders \('even', 'odd'\) look"):
        write_config("classes", root, tmp_path)

    files = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*") if p.is_file())  # as the message says
    pl.DataFrame({"id": files, "label": [f.split("/")[0] for f in files]}).write_csv(tmp_path / "train.csv")
    path, _ = write_config("classes", tmp_path / "train.csv", tmp_path, preset="fast")
    spec = load_spec(path)
    assert spec.data.images is not None and spec.data.images.pattern == "{id}"
    assert spec.data.images.folder == Path("train")
    data = load_competition(spec)
    row = data.train["id"].to_list().index("odd/1.png")
    pixels = data.train.select(pl.col(r"^pixel\d+$")).to_numpy()
    np.testing.assert_array_equal(pixels[row], _digit(1).reshape(-1))


def test_init_finds_files_named_by_zero_padded_ids(tmp_path: Path) -> None:
    """Ids written '0007' name the files '0007.png'; read as numbers (7) they named none, and init wrote a config
    with no feature. `run` reads the id as written, so the config runs."""
    (tmp_path / "images").mkdir()
    for i in range(N_TRAIN + N_TEST):
        Image.fromarray(_digit(i)).save(tmp_path / "images" / f"{i:04d}.png")
    ids = [f"{i:04d}" for i in range(N_TRAIN + N_TEST)]
    y = load_digits().target[:N_TRAIN] % 2
    pl.DataFrame({"id": ids[:N_TRAIN], "label": y}).write_csv(tmp_path / "train.csv")
    pl.DataFrame({"id": ids[N_TRAIN:]}).write_csv(tmp_path / "test.csv")
    path, _ = write_config("padded", tmp_path / "train.csv", tmp_path, preset="fast")
    spec = load_spec(path)
    assert spec.data.images is not None and spec.data.images.pattern == "{id}.png"
    data = load_competition(spec)
    assert data.test is not None and data.test["id"][0] == "0040"
    np.testing.assert_array_equal(data.test.select(pl.col(r"^pixel\d+$")).to_numpy()[0], _digit(40).reshape(-1))


def test_init_sizes_photos_tagged_to_be_turned_as_read_upright(tmp_path: Path) -> None:
    """Half the photos stored sideways (24 wide x 16 high, EXIF orientation 6), half stored upright (16 x 24): read
    upright they are all 16 wide x 24 high, so init writes no size (counted as stored, it saw two sizes and resized
    every image to one of them) and the cnn's shape is the upright one."""
    (tmp_path / "train").mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6
    for i in range(N_TRAIN):
        upright = np.kron(_digit(i), np.ones((3, 2), dtype=np.uint8))[::2]  # 24 high x 32 wide, cut to 16 wide
        upright = np.ascontiguousarray(upright[:, :16])
        if i % 2:
            Image.fromarray(np.ascontiguousarray(np.rot90(upright))).save(tmp_path / "train" / f"{i}.png", exif=exif)
        else:
            Image.fromarray(upright).save(tmp_path / "train" / f"{i}.png")
    pl.DataFrame({"id": range(N_TRAIN), "label": load_digits().target[:N_TRAIN] % 2}).write_csv(tmp_path / "train.csv")

    path, _ = write_config("photos", tmp_path / "train.csv", tmp_path, preset="fast")
    spec = load_spec(path)
    assert spec.data.images is not None and spec.data.images.size is None
    cnn = next(m for m in spec.models if m.kind == "cnn")
    assert cnn.params["image_shape"] == [24, 16, 1]
    data = load_competition(spec)  # every image read upright at one size: no resize needed
    assert data.train.select(pl.col(r"^pixel\d+$")).width == 24 * 16


def test_init_reads_sizes_and_modes_from_a_sample_of_the_whole_folder(tmp_path: Path) -> None:
    """80 train images, the first 64 grey 16 x 16, the last 16 colour and 18 high x 20 wide, and 12 test images:
    init reads a sample drawn from all of train's and test's files, so it writes size = [16, 16] (the most common)
    and channels = 3, and says what it saw. It read the first 64 rows' headers only: no size (run stopped at the
    first 20 x 18 file) and channels = 1 (the colour images read grey without a word)."""
    (tmp_path / "images").mkdir()
    n_train = 80
    for i in range(n_train + N_TEST):
        img = Image.fromarray(_digit(i))
        if 64 <= i < n_train:
            img = img.convert("RGB").resize((20, 18))
        img.save(tmp_path / "images" / f"{i}.png")
    y = load_digits().target[:n_train] % 2
    pl.DataFrame({"id": range(n_train), "label": y}).write_csv(tmp_path / "train.csv")
    pl.DataFrame({"id": range(n_train, n_train + N_TEST)}).write_csv(tmp_path / "test.csv")

    path, why = write_config("later", tmp_path / "train.csv", tmp_path, preset="fast")
    said = [w.strip() for w in why]
    assert (
        "size = [16, 16] (the 92 train and test images have 2 sizes, height x width: 16 x 16 (76), 18 x 20 (16); "
        "every image is resized to the most common one)" in said
    )
    assert "channels = 3 (colour images: L, RGB)" in said
    spec = load_spec(path)
    assert spec.data.images is not None and spec.data.images.size == [16, 16] and spec.data.images.channels == 3
    assert load_competition(spec).train.select(pl.col(r"^pixel\d+$")).width == 16 * 16 * 3  # runs as written


def test_the_sample_of_image_headers_is_seeded_and_spread_over_every_file() -> None:
    from kaggle_kit.readers.image_folders import sample_files

    paths = [Path(f"{i}.png") for i in range(10_000)]
    sample = sample_files(paths, 500)
    assert sample == sample_files(paths, 500) and len(set(sample)) == 500  # seeded: the same config every time
    picked = sorted(int(p.stem) for p in sample)
    assert picked == [int(p.stem) for p in sample] and picked[0] < 500 and picked[-1] > 9_500  # over the whole


def test_init_says_why_files_named_by_the_ids_are_not_read(tmp_path: Path) -> None:
    """A folder of the rows' files half .png, half .jpg (one pattern names one extension), or of DICOM scans: init
    wrote a config with no feature (trees on nothing) and said nothing of the files. Now it says why and what to do;
    done as it says (a column of the file names), init reads the images."""
    (tmp_path / "train").mkdir()
    ids = [f"im{i}" for i in range(N_TRAIN)]
    names = [f"{name}.{'png' if i % 2 else 'jpg'}" for i, name in enumerate(ids)]
    for i, name in enumerate(names):
        Image.fromarray(_digit(i)).save(tmp_path / "train" / name)
    y = load_digits().target[:N_TRAIN] % 2
    pl.DataFrame({"id": ids, "label": y}).write_csv(tmp_path / "train.csv")
    _, why = write_config("mixed", tmp_path / "train.csv", tmp_path, preset="fast")
    assert (
        "images: train/ holds the files 'id' names, with 2 extensions (.jpg, .png), and data.images.pattern names "
        "one: add a column of the file names with their extensions to the train and test tables (init then reads "
        "the images by it), or convert the files to one format"
    ) in [w.strip() for w in why]

    pl.DataFrame({"id": ids, "file": names, "label": y}).write_csv(tmp_path / "train.csv")  # as it says
    path, why = write_config("mixed", tmp_path / "train.csv", tmp_path, preset="fast", overwrite=True)
    spec = load_spec(path)
    assert spec.data.images is not None and spec.data.images.column == "file" and spec.data.images.pattern == "{id}"
    assert load_competition(spec).train.select(pl.col(r"^pixel\d+$")).width == 16 * 16

    (tmp_path / "scans").mkdir()
    for name in ids:
        (tmp_path / "scans" / f"{name}.dcm").write_bytes(b"\0" * 132)
    for path in (tmp_path / "train").iterdir():
        path.unlink()
    pl.DataFrame({"id": ids, "label": y}).write_csv(tmp_path / "train.csv")
    _, why = write_config("scans", tmp_path / "train.csv", tmp_path, preset="fast")
    assert any(w.strip().startswith("images: scans/ holds the files 'id' names as .dcm files") for w in why)


def test_large_pngs_headers_stop_at_a_budget_still_drawn_from_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow decodes a PNG to look for its EXIF: 512 headers of 1024 x 1024 PNGs took 14 s. Past a budget of
    decoded pixels (here none) init reads no further header once it has 64, in a seeded random order, so the 64 are
    drawn from every file: the last 30 of 100 files, 18 x 20, are among them (read in order, the first 64 were all
    16 x 16 and no size was written)."""
    from kaggle_kit.readers import image_folders

    paths = []
    for i in range(100):
        paths.append(tmp_path / f"{i}.png")
        Image.new("L", (20, 18) if i >= 70 else (16, 16)).save(paths[-1])
    monkeypatch.setattr(image_folders, "_PNG_PIXELS", 0)
    images: dict[str, object] = {}
    why: list[str] = []
    image_folders._shape(images, paths, why, "train")
    assert images["size"] == [16, 16]
    assert why[0].startswith("size = [16, 16] (64 of the 100 train images, drawn at random, have 2 sizes")
