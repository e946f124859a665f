"""Image files checked before any fold fits (streamed without the cache) and files of several frames (a multi-page
TIFF, an animated GIF): read by their first frame, with one warning naming a file, in every way of reading them."""

from __future__ import annotations

import re
import warnings
import zlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.errors import DataError, DataWarning
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.readers.image_stream import ImageStream

Image = pytest.importorskip("PIL.Image")

SIDE, N = 8, 12
#: frame k of a file of several frames is this grey everywhere (frame 0 the one read)
FRAME_GREYS = (40, 200, 120)


def _frames(path: Path) -> None:
    frames = [Image.fromarray(np.full((SIDE, SIDE), g, np.uint8), mode="L") for g in FRAME_GREYS]
    frames[0].save(path, save_all=True, append_images=frames[1:])


def _comp(root: Path, ext: str) -> Path:
    """``images/<id><ext>`` of ids 0..N-1 (grey, each its own grey), id 5 of three frames; train.csv (id, label)."""
    (root / "images").mkdir()
    for i in range(N):
        Image.fromarray(np.full((SIDE, SIDE), 10 * i, np.uint8), mode="L").save(root / "images" / f"{i}{ext}")
    _frames(root / "images" / f"5{ext}")
    pl.DataFrame({"id": list(range(N)), "label": [i % 2 for i in range(N)]}).write_csv(root / "train.csv")
    return root


def _spec(root: Path, ext: str, images: dict[str, object]):
    raw = {
        "name": "frames",
        "task": "binary",
        "metric": "roc_auc",
        "data": {
            "train": "train.csv",
            "id": "id",
            "target": "label",
            "images": {"folder": "images", "pattern": "{id}" + ext, "channels": 1, **images},
        },
        "folds": {"n_splits": 2},
        "models": [{"name": "cnn", "kind": "cnn", "params": {"image_shape": [SIDE, SIDE, 1]}}],
    }
    return build_spec(raw, base_dir=root)


FRAMES_WARNING = (
    r"1 of 12 image files hold several frames \(multi-page TIFF, animated GIF\), e\.g\. '.*5\.{ext}' \(id 5\) with "
    r"3: the kit reads frame 0 \(the first\) of each and no other; .*save the frame\(s\) as files of their own"
)


@pytest.mark.parametrize("ext", [".tif", ".gif"])
def test_a_file_of_several_frames_is_read_by_its_first_with_a_warning_memory(tmp_path: Path, ext: str) -> None:
    """Pixel columns: the multi-page file's columns hold frame 0 (grey 40 everywhere), and one warning names it.
    It had been read by its first frame without a word."""
    root = _comp(tmp_path, ext)
    with pytest.warns(DataWarning, match=FRAMES_WARNING.format(ext=ext[1:])):
        data = load_competition(_spec(root, ext, {"mode": "memory"}))
    pixels = data.train.filter(pl.col("id") == 5).select(pl.col(r"^pixel\d+$")).to_numpy()
    assert pixels.shape == (1, SIDE * SIDE) and (pixels == FRAME_GREYS[0]).all()


def _stream(root: Path, ext: str, **kwargs: object) -> ImageStream:
    paths = tuple(str(root / "images" / f"{i}{ext}") for i in range(N))
    return ImageStream(paths, tuple(f"id {i}" for i in range(N)), (SIDE, SIDE, 1), False, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("ext", [".tif", ".gif"])
def test_a_file_of_several_frames_is_named_when_streamed(tmp_path: Path, ext: str) -> None:
    """Streamed: the check of the files without a cache, and the cache's decoding, each warn once, naming the file;
    the cache holds frame 0."""
    root = _comp(tmp_path, ext)
    match = FRAMES_WARNING.format(ext=ext[1:])
    with pytest.warns(DataWarning, match=match) as seen:
        _stream(root, ext, cache=False).check_files(threads=2)
    assert len([w for w in seen if issubclass(w.category, DataWarning)]) == 1
    with pytest.warns(DataWarning, match=match):
        cache = _stream(root, ext).cached_in(tmp_path / "run").open_cache(threads=2)
    assert cache is not None and (cache[5] == FRAME_GREYS[0]).all() and (cache[4] == 40).all()


def test_check_files_names_every_unreadable_file_before_anything_decodes_them(tmp_path: Path) -> None:
    """A PNG and a JPEG cut off halfway (their headers whole: Pillow opens them) and a file that is no image: one
    error counts them and names each. A cut-off JPEG passes Pillow's ``verify``: only decoding finds it."""
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = []
    for i, ext in enumerate([".png", ".jpg", ".png", ".jpg", ".png"]):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(folder / f"{i}{ext}")
        names.append(f"{i}{ext}")
    for name in ("1.jpg", "2.png"):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
    (folder / "4.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    paths = tuple(str(folder / n) for n in names)
    stream = ImageStream(paths, tuple(f"id {i}" for i in range(5)), (64, 64, 3), False, cache=False)
    with pytest.raises(
        DataError,
        match=r"^3 of 5 image files cannot be read, found before any model reads them: image file '.*1\.jpg' \(id 1\) "
        r"could not be read as an image: image file is truncated.*; also '.*2\.png' \(id 2\), '.*4\.png' \(id 4\); "
        r"replace them \(download them again\) or remove their rows",
    ):
        stream.check_files(threads=2)
    ImageStream(paths[:1] + paths[3:4], ("id 0", "id 3"), (64, 64, 3), False).check_files()  # the whole ones pass


def test_check_files_names_the_files_of_another_size_reading_them_upright(tmp_path: Path) -> None:
    """Without the cache, a file of another size had stopped a net's batch minutes of folds in: named before any
    fold fits, with the fix. A photo stored 12 x 8 and tagged to be turned (EXIF orientation 6) is 8 x 12 as read,
    like the others: no error (sizes read from the headers as stored would have said it was odd); with ``resize``
    every size is fine."""
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(4):
        Image.new("RGB", (8, 12)).save(folder / f"{i}.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (12, 8)).save(folder / "4.jpg", exif=exif)
    Image.new("RGB", (9, 12)).save(folder / "5.png")
    paths = tuple(str(folder / n) for n in ("0.png", "1.png", "2.png", "3.png", "4.jpg", "5.png"))
    labels = tuple(f"id {i}" for i in range(6))
    ImageStream(paths[:5], labels[:5], (12, 8, 3), False, cache=False).check_files()
    with pytest.raises(
        DataError,
        match=r"^1 of 6 image files are not 8 x 12 \(width x height\) as the training images are, found before any "
        r"model reads them: '.*5\.png' \(id 5\) is 9 x 12; pass size=\(height, width\)",
    ):
        ImageStream(paths, labels, (12, 8, 3), False, cache=False).check_files()
    ImageStream(paths, labels, (12, 8, 3), True, cache=False).check_files()


def _signed_comp(root: Path) -> Path:
    """Float TIFFs of -1..1 (ids 0..11; train 0..7, test 8..11), test's id 9 holding only 0..1 (no pixel darker
    than mid grey): told to be a 0..1 image by its values, it would read brighter than it is."""
    (root / "images").mkdir()
    ramp = np.linspace(-1, 1, SIDE * SIDE, dtype=np.float32).reshape(SIDE, SIDE)
    for i in range(N):
        image = ramp * np.float32(1 - 0.02 * i)  # each its own: no repeated rows
        Image.fromarray(np.abs(image) if i == 9 else image).save(root / "images" / f"{i}.tif")
    pl.DataFrame({"id": list(range(8)), "label": [i % 2 for i in range(8)]}).write_csv(root / "train.csv")
    pl.DataFrame({"id": list(range(8, N))}).write_csv(root / "test.csv")
    return root


SCALES_WARNING = (
    r"float image files were read on 2 scales: -1\.\.1 \(e\.g\. '.*/0\.tif' \(id 0\)\), 0\.\.1 \(e\.g\. '.*/9\.tif' "
    r"\(id 9\)\)\. A float image's scale is told from its values .*save the images as 8-bit or 16-bit PNG"
)


def test_float_images_told_on_other_scales_in_train_and_test_are_said(tmp_path: Path) -> None:
    """Pixel columns: train's -1..1 images and a test image told to be 0..1 (each file's scale is read from its own
    values): one warning names a file of each scale. Test's image had been read on another scale than train's
    without a word; the -1..1 ones read -1 as 0 and 1 as 255."""
    root = _signed_comp(tmp_path)
    spec = _spec(root, ".tif", {"mode": "memory"})
    spec = spec.model_copy(update={"data": spec.data.model_copy(update={"test": Path("test.csv")})})
    with pytest.warns(DataWarning, match=SCALES_WARNING):
        data = load_competition(spec)
    pixels = data.train.filter(pl.col("id") == 0).select(pl.col(r"^pixel\d+$")).to_numpy()[0]
    assert pixels[0] == 0 and pixels[-1] == 255


def test_float_images_on_other_scales_are_said_by_the_check_of_streamed_files(tmp_path: Path) -> None:
    root = _signed_comp(tmp_path)
    with pytest.warns(DataWarning, match=SCALES_WARNING):
        _stream(root, ".tif", cache=False).check_files(threads=2)
    with pytest.warns(DataWarning, match=SCALES_WARNING):
        _stream(root, ".tif").cached_in(tmp_path / "run").open_cache(threads=2)
    paths = tuple(str(root / "images" / f"{i}.tif") for i in (0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # one scale: no word
        ImageStream(paths, ("id 0", "id 1"), (SIDE, SIDE, 1), False, cache=False).check_files()


def test_pixel_columns_name_every_unreadable_or_odd_sized_file_at_once(tmp_path: Path) -> None:
    """Reading pixel columns, every file is read before an error: it counts the unreadable ones and names the first
    few (then, once they are fixed, those of another size). It named the first only: five corrupt files took five
    runs to find. The first file unreadable too: the next one sets the size. One such file keeps its own message."""
    from kaggle_kit.models.nn.images import load_images

    folder = tmp_path / "images"
    folder.mkdir()
    paths = [folder / f"{i}.png" for i in range(8)]
    for i, path in enumerate(paths):
        Image.new("L", (6, 4) if i in (3, 6) else (4, 4)).save(path)
    for i in (0, 2, 5):
        paths[i].write_bytes(b"not an image")
    labels = [f"id {i}" for i in range(8)]
    with pytest.raises(
        DataError,
        match=r"^3 of 8 image files cannot be read: image file '.*/0\.png' \(id 0\) could not be read as an image: "
        r".*; also '.*/2\.png' \(id 2\), '.*/5\.png' \(id 5\); replace them \(download them again\) or remove",
    ):
        load_images(paths, channels=1, labels=labels, threads=2)
    for i in (0, 2, 5):
        Image.new("L", (4, 4)).save(paths[i])
    with pytest.raises(
        DataError,
        match=r"^2 of 8 image files are not the size of the first one: image file '.*/3\.png' \(id 3\) is 6 x 4 but "
        r"'.*/0\.png' \(id 0\) is 4 x 4; also '.*/6\.png' \(id 6\); pass size=",
    ):
        load_images(paths, channels=1, labels=labels, threads=2)
    Image.new("L", (4, 4)).save(paths[6])
    with pytest.raises(DataError, match=r"^image file '.*/3\.png' \(id 3\) is 6 x 4 but '.*/0\.png' \(id 0\) is 4 x 4"):
        load_images(paths, channels=1, labels=labels, threads=2)
    assert load_images(paths, channels=1, labels=labels, size=(4, 4)).shape == (8, 4, 4, 1)


def test_the_cache_names_every_unreadable_file_at_once(tmp_path: Path) -> None:
    """Decoding the stream's cache stops at a file it cannot read; where the check of the headers finds more, the
    error counts and names them (five corrupt files had taken five runs, each decoding up to the next one). One
    such file keeps its own message."""
    root = _comp(tmp_path, ".png")
    for i in (3, 7):
        (root / "images" / f"{i}.png").write_bytes(b"not an image")
    with pytest.raises(
        DataError,
        match=r"^2 of 12 image files cannot be read, found before any model reads them: image file '.*/3\.png' "
        r"\(id 3\) could not be read as an image: .*; also '.*/7\.png' \(id 7\); replace them",
    ):
        _stream(root, ".png").cached_in(tmp_path / "run").open_cache(threads=2)
    Image.new("L", (SIDE, SIDE)).save(root / "images" / "3.png")
    with pytest.raises(DataError, match=r"^image file '.*/7\.png' \(id 7\) could not be read as an image"):
        _stream(root, ".png").cached_in(tmp_path / "run").open_cache(threads=2)


@pytest.mark.parametrize("top", [4000, 60000])
def test_16_bit_images_of_12_bit_values_are_said_to_read_nearly_black(tmp_path: Path, top: int) -> None:
    """16-bit grey PNGs whose values stop at 4000 (12-bit data: DICOM pixels saved as 16-bit PNG) read on the 16-bit
    scale, at most 16 of 255: one warning says so with the fix, naming the file of the largest value. They read
    nearly black without a word. Images that use the 16-bit range read without one."""
    (tmp_path / "images").mkdir()
    for i in range(N):
        ramp = np.linspace(0, top * (1 - 0.01 * i), SIDE * SIDE).reshape(SIDE, SIDE).astype(np.uint16)
        Image.fromarray(ramp).save(tmp_path / "images" / f"{i}.png")
    pl.DataFrame({"id": list(range(N)), "label": [i % 2 for i in range(N)]}).write_csv(tmp_path / "train.csv")
    spec = _spec(tmp_path, ".png", {"mode": "memory"})
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        data = load_competition(spec)
    said = [str(w.message) for w in seen if "16-bit image files hold values up to" in str(w.message)]
    if top == 60000:
        assert not said
        return
    assert len(said) == 1 and re.match(
        r"the 12 16-bit image files hold values up to 4000 only, of 0\.\.65535 \(e\.g\. '.*/0\.png' \(id 0\)\): 12-bit "
        r"data .*they reach 16 of 255, nearly black; .*np\.clip\(a \* 255 / 4000, 0, 255\)",
        said[0],
    )
    assert data.train.select(pl.col(r"^pixel\d+$")).to_numpy().max() == 16


def test_a_phones_jpeg_of_several_pictures_is_read_without_a_warning(tmp_path: Path) -> None:
    """A phone's JPEG holding a second picture (MPO: a preview or depth map after the photo) is its first picture, as
    every viewer shows it: no frames warning for every photo of a folder."""
    from kaggle_kit.models.nn.images import ReadNotes, check_image, read_image

    photo, depth = Image.new("RGB", (8, 8), (10, 20, 30)), Image.new("RGB", (8, 8), (200, 0, 0))
    photo.save(tmp_path / "p.jpg", format="MPO", save_all=True, append_images=[depth])
    notes = ReadNotes()
    with Image.open(tmp_path / "p.jpg") as img:
        assert img.format == "MPO" and img.n_frames == 2
    assert check_image(tmp_path / "p.jpg", notes=notes) == (8, 8)
    pixels = read_image(tmp_path / "p.jpg", notes=notes)
    assert np.abs(pixels.astype(int) - [10, 20, 30]).max() <= 3 and notes.messages(1) == []


def _png_chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return len(data).to_bytes(4, "big") + kind + data + crc.to_bytes(4, "big")


def _before_iend(path: Path, chunk: bytes) -> None:
    """``chunk`` written into the PNG at ``path`` after its pixels (before ``IEND``), as some tools add metadata."""
    data = path.read_bytes()
    at = data.rindex(b"IEND") - 4
    path.write_bytes(data[:at] + chunk + data[at:])


def test_a_png_whose_exif_follows_its_pixels_is_checked_upright(tmp_path: Path) -> None:
    """A PNG stored 12 wide x 8 high whose EXIF (orientation 6) is written after its pixels reads 8 x 12, as the
    untagged 8 x 12 files beside it. Pillow's ``verify`` skips such a chunk: the check told it 12 x 8, as stored, and
    called every such photo odd-sized (without the cache), though each reads as the others."""
    from kaggle_kit.models.nn.images import check_image, read_image

    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (8, 12)).save(folder / "0.png")
    Image.new("RGB", (12, 8)).save(folder / "1.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    _before_iend(folder / "1.png", _png_chunk(b"eXIf", exif.tobytes()))
    assert read_image(folder / "1.png").shape == (12, 8, 3)
    assert check_image(folder / "1.png") == (12, 8)
    paths = (str(folder / "0.png"), str(folder / "1.png"))
    ImageStream(paths, ("id 0", "id 1"), (12, 8, 3), False, cache=False).check_files()


def test_a_png_read_whole_despite_a_checksum_off_passes_the_check(tmp_path: Path) -> None:
    """A PNG whose text chunk after the pixels carries a wrong checksum (a tool that rewrote it without one), or whose
    pixel chunk's checksum alone is off: Pillow decodes them (the cache and pixel columns read them) but its
    ``verify`` refuses them, so the check without the cache had called them unreadable. One whose checksum is off
    before the pixels is refused by both, as is one whose pixels do not decode."""
    from kaggle_kit.models.nn.images import check_image, read_image

    Image.new("RGB", (6, 4), (9, 8, 7)).save(tmp_path / "text.png")
    _before_iend(tmp_path / "text.png", _png_chunk(b"tEXt", b"k\x00v", crc=0))
    Image.new("RGB", (6, 4), (9, 8, 7)).save(tmp_path / "idat.png")
    data = bytearray((tmp_path / "idat.png").read_bytes())
    at = data.index(b"IDAT")
    data[at + 4 + int.from_bytes(data[at - 4 : at], "big")] ^= 1  # the pixel chunk's checksum, its data whole
    (tmp_path / "idat.png").write_bytes(bytes(data))
    for name in ("text.png", "idat.png"):
        assert (read_image(tmp_path / name) == (9, 8, 7)).all()
        assert check_image(tmp_path / name) == (4, 6)
    Image.new("RGB", (6, 4)).save(tmp_path / "head.png", pnginfo=_text_info())
    data = bytearray((tmp_path / "head.png").read_bytes())
    at = data.index(b"tEXt")
    data[at + 4 + int.from_bytes(data[at - 4 : at], "big")] ^= 1
    (tmp_path / "head.png").write_bytes(bytes(data))
    for read in (read_image, check_image):
        with pytest.raises(DataError, match=r"'.*head\.png' could not be read as an image: cannot identify"):
            read(tmp_path / "head.png")


def _text_info():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("k", "v")
    return info


def test_the_check_of_unchanged_files_is_not_done_again_in_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run resumed (its nets' folds pending) checks its files once: where its record of these files (paths, sizes,
    modification times) is there, no file is read and no warning said again; it had checked every file, and said the
    warnings, each time the run went on. A changed file is checked again."""
    import kaggle_kit.models.nn.images as images

    root = _comp(tmp_path, ".gif")
    record = _stream(root, ".gif", cache=False).checked_path(tmp_path / "run")
    with pytest.warns(DataWarning, match=FRAMES_WARNING.format(ext="gif")):
        _stream(root, ".gif", cache=False).check_files(threads=2, record=record)
    assert record.is_file()
    read: list[str] = []
    check = images.check_image
    monkeypatch.setattr(images, "check_image", lambda path, *a: read.append(str(path)) or check(path, *a))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        _stream(root, ".gif", cache=False).check_files(threads=2, record=record)
    assert read == []
    (root / "images" / "3.gif").write_bytes(b"not an image")
    changed = _stream(root, ".gif", cache=False)
    assert changed.checked_path(tmp_path / "run") != record
    with pytest.raises(DataError, match=r"^1 of 12 image files cannot be read.*'.*/3\.gif' \(id 3\)"):
        changed.check_files(threads=2, record=changed.checked_path(tmp_path / "run"))
    assert len(read) == N


@pytest.mark.parametrize(("folder_scale", "said"), [(255.0, False), (1.0, False), (-1.0, True)])
def test_a_blank_float_image_is_on_every_scale_but_minus_1_to_1(
    tmp_path: Path, folder_scale: float, said: bool
) -> None:
    """An all-0 float image (an empty tile, a blank mask; its values NaN alike) reads black on the 0..1 and 0..255
    scales: among 0..255 images it was said to be on another scale, naming it, a warning for nothing. Among -1..1
    images, where 0 is mid grey, it is said (read black)."""
    from kaggle_kit.models.nn.images import ReadNotes, load_images

    ramp = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    for i in range(3):
        values = ramp * 2 - 1 if folder_scale < 0 else ramp * folder_scale
        Image.fromarray((values * (1 - 0.1 * i)).astype(np.float32)).save(tmp_path / f"{i}.tif")
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tmp_path / "3.tif")
    Image.fromarray(np.full((4, 4), np.nan, np.float32)).save(tmp_path / "4.tif")
    notes = ReadNotes()
    pixels = load_images([tmp_path / f"{i}.tif" for i in range(5)], channels=1, notes=notes, dtype=np.uint8)
    assert (pixels[3:] == 0).all()
    scales = [m for m in notes.messages(5) if "NaN" not in m]  # the NaN image's own warning aside
    if not said:
        assert scales == []
        return
    (message,) = scales
    assert re.match(
        r"float image files were read on 2 scales: -1\.\.1 \(e\.g\. '.*/0\.tif'\), 0\.\.1 \(e\.g\. '.*/3\.tif'\)",
        message,
    )


def test_a_warning_names_the_first_file_by_path_whatever_order_threads_noted_them() -> None:
    """Threads note the files in any order: a warning names the first by path, the same in every run."""
    from kaggle_kit.models.nn.images import ReadNotes

    notes = ReadNotes(frames=[("b/9.gif", "id 9", 2), ("a/3.gif", "id 3", 4), ("b/1.gif", "id 1", 3)])
    (message,) = notes.messages(10)
    assert message.startswith("3 of 10 image files hold several frames (multi-page TIFF, animated GIF), e.g. 'a/3.gif'")


def test_pixel_columns_name_the_unreadable_files_in_row_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files a thread finds unreadable last (a slow disk) are named in row order, as the first and the "also";
    one unreadable file keeps its own message."""
    import time

    import kaggle_kit.models.nn.images as images

    paths = [tmp_path / f"{i}.png" for i in range(6)]
    for i, path in enumerate(paths):
        path.write_bytes(b"not an image") if i in (2, 5) else Image.new("L", (4, 4)).save(path)
    read = images.read_image

    def slow(path: Path, **kwargs: object) -> np.ndarray:
        if Path(path).name == "2.png":
            time.sleep(0.3)  # its thread finds it unreadable after 5.png's
        return read(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(images, "read_image", slow)
    labels = [f"id {i}" for i in range(6)]
    with pytest.raises(
        DataError, match=r"^2 of 6 image files cannot be read: image file '.*/2\.png' \(id 2\) .*; also "
    ):
        images.load_images(paths, channels=1, labels=labels, threads=2)
    Image.new("L", (4, 4)).save(paths[2])
    with pytest.raises(DataError, match=r"^image file '.*/5\.png' \(id 5\) could not be read as an image: [^;]*$"):
        images.load_images(paths, channels=1, labels=labels, threads=2)


@pytest.mark.parametrize("top", [0, 1])
def test_blank_16_bit_images_are_not_said_to_hold_12_bit_values(tmp_path: Path, top: int) -> None:
    """All-0 16-bit images (blank masks) read black on any scale: no word of 12-bit data, a warning for nothing that
    would say they hold "values up to 0". Masks of 0 and 1 (read all black) are said."""
    from kaggle_kit.models.nn.images import ReadNotes, load_images

    for i in range(3):
        Image.fromarray(np.eye(4, dtype=np.uint16) * top).save(tmp_path / f"{i}.png")
    notes = ReadNotes()
    load_images([tmp_path / f"{i}.png" for i in range(3)], channels=1, notes=notes)
    assert [m.startswith("the 3 16-bit image files hold values up to 1 only") for m in notes.messages(3)] == [top] * top


def test_float_images_holding_nan_pixels_are_said_once(tmp_path: Path) -> None:
    """NaN pixels of float images (a satellite tile's no-data) read 0, black (on -1..1 the darkest value, not its
    mid grey), as they did without a word: said once for the files, naming the first, with the fix; by the pixel
    columns' reading and the check of streamed files alike. Images without NaN say nothing."""
    from kaggle_kit.models.nn.images import ReadNotes, check_image, load_images

    ramp = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    for i in range(4):
        Image.fromarray(np.where(np.eye(4) > 0, np.nan, ramp) if i in (1, 3) else ramp).save(tmp_path / f"{i}.tif")
    paths = [tmp_path / f"{i}.tif" for i in range(4)]
    for read in ("columns", "check"):
        notes = ReadNotes()
        if read == "columns":
            pixels = load_images(paths, channels=1, notes=notes, dtype=np.uint8)
            assert (pixels[1, :, :, 0][np.eye(4) > 0] == 0).all()
        else:
            for i, path in enumerate(paths):
                check_image(path, f"id {i}", notes)
        (message,) = notes.messages(4)
        assert re.match(
            r"2 of 4 float image files hold NaN pixels \(e\.g\. '.*/1\.tif'.*\), read as 0 \(black\): fill them before "
            r"\(numpy: np\.nan_to_num\(a, nan=v\), v a value on the images' scale\)",
            message,
        ), message
    notes = ReadNotes()
    load_images(paths[::2], channels=1, notes=notes)
    assert notes.messages(2) == []
