"""Image files -> the pixel columns the ``cnn`` kind reads (``pixel_order = "hwc"``).

For competitions that ship images as files (``train/<id>.png``) rather than pixel columns: decode them with Pillow
(in threads; decoding releases the GIL), convert to grey / RGB / RGBA, optionally resize (bilinear), and lay each
image out as one row of ``H * W * C`` columns named ``pixel0, pixel1, ...`` in row-major order with a pixel's
channels together. A config does this with ``[data.images]`` (:mod:`kaggle_kit.readers.images`); in Python, join
:func:`image_columns` onto the table by id. The ``cnn`` model then takes ``image_shape = [H, W, C]``.

Size limit: every pixel becomes a polars column, so this suits small images. Measured with
``benchmarks/image_files.py`` on the project's 2-core machine (load average ~1), 2000 PNGs of 64 x 64 x 3 = 12,288
columns: decoding 0.9 s (+27 MB), the uint8 frame 0.6 s (23.5 MB), the run's row hash 0.1 s, one fold's float32
matrix 8.5 s (94 MB per 2000 images). (A frame's ``schema`` is rebuilt on every access, ~3 ms at this width: the
kit reads it once per frame; looked up per column it cost 839 s for one such matrix.) So up to about 64 x 64 x 3 and
tens of thousands of images are practical; beyond that (224 x 224 x 3 = 150,528 columns, 600 kB per image as
float32) memory and polars' per-column overhead dominate, and the images stay files that the nets decode per batch
(``[data.images] mode = "stream"``, the default above 32M pixel values: :mod:`kaggle_kit.readers.image_stream`).

Example::

    pixels = image_columns(train["id"], "train_images", pattern="{id}.png", size=(32, 32), channels=3)
    train = train.join(pixels, on="id")
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ...errors import DataError, DataWarning

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
#: Pillow's modes of one 16-bit channel (a 16-bit grey PNG opens as ``I;16``, a 16-bit PGM as ``I``); their
#: ``convert`` to ``L`` / ``RGB`` clips at 255 instead of scaling, so nearly every pixel of such an image would read
#: as white. ``I`` is Pillow's 32-bit integer mode: it holds 16-bit values (a PGM's, an older Pillow's PNG) or wider
#: ones (a 32-bit integer TIFF), which have no usual range to scale from (:func:`_to_8_bits`)
_WIDE = ("I;16", "I;16L", "I;16B", "I;16N", "I")
#: the largest value of a 16-bit pixel
_MAX16 = 65535
#: 16-bit images none of whose values reach this are said to hold 12-bit data (read nearly black: :class:`ReadNotes`)
_TWELVE_BITS = 4096
#: the range of a float image read as ``0..1`` pixels (scaled by 255, then clipped): ``0..1`` with the overshoot a
#: resampling (bicubic, Lanczos) leaves around it; read as ``0..255`` values, such an image was nearly black. (A
#: ``0..255`` float image with every value below 1.5 is black to the eye either way.)
_UNIT = (-0.5, 1.5)
#: the range of a float image read as ``-1..1`` pixels (``x * 2 - 1``: how a net's input, or a ``tanh`` output,
#: is saved), ``-1`` onto 0 and ``1`` onto 255, when it holds values below :data:`_UNIT` (below -0.5: no overshoot
#: of a ``0..1`` image). Clipped to 0 as a ``0..255`` image's negatives were, its dark half read black. A ``-1..1``
#: image with no value below -0.5 (no pixel darker than a quarter grey) cannot be told from a ``0..1`` one
_SIGNED = (-1.5, 1.5)
#: the scale :class:`ReadNotes` notes of a float image all 0 (or NaN: an empty tile, a blank mask), which reads black
#: on the ``0..1`` and ``0..255`` scales alike: not said to be on another scale than a folder's of either
_BLANK = "blank"
#: Pillow's modes holding an alpha channel (``RGBa`` / ``La``: premultiplied); a palette, grey or RGB image may carry
#: its transparency in ``info["transparency"]`` instead (a PNG's ``tRNS``, a GIF's transparent index)
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
#: the colours a transparent image may be laid onto when read without its alpha (``channels`` 1 or 3;
#: ``data.images.background``): white by default, as a viewer on a page shows it; black where the pictures were made
#: to be shown on a dark page (a white drawing on a transparent page read all white on white); the same in train,
#: test and predict
BACKGROUNDS = {"white": (255, 255, 255), "black": (0, 0, 0)}
BACKGROUND = "white"
#: the EXIF tag of a photo's orientation (1 = upright as stored; 6 = turn 90 degrees clockwise to show it, ...)
_ORIENTATION = 0x0112
#: how files are decoded into pixels: raised whenever :func:`read_image` reads a file differently, so that what was
#: decoded before (the stream cache ``image_cache/<fingerprint>.npy``, and the stored results whose data fingerprint
#: holds it) is not reused. 2: EXIF orientation applied, 16-bit grey and 0..1 float images scaled onto 0..255 (1 read
#: them sideways, clipped white, truncated black). 3: transparent images laid onto white (:data:`BACKGROUND`) when
#: read without alpha (2 kept the colours stored under the transparent pixels, often black), 32-bit integer images
#: beyond 0..65535 refused (2 clipped them white), float images of 0..1 overshot a little scaled (2: nearly black).
#: 4: float images of -1..1 scaled onto 0..255 (3 clipped their negative half black, the rest nearly black).
DECODING = 4
#: what each version of :data:`DECODING` reads otherwise than the one before: `kaggle-kit predict` on an older run
#: names those since the run's (a run of version 3 reads photos upright as this one does)
DECODING_CHANGES = {
    2: "photos read upright by their EXIF orientation, 16-bit grey and 0..1 float images scaled onto 0..255",
    3: "transparent images laid onto white, 0..1 float images a resampling overshot scaled onto 0..255",
    4: "-1..1 float images scaled onto 0..255",
}
RESIZE_HINT = "pass size=(height, width) (data.images.size = [height, width] in a config) to resize them all"


@dataclass
class ReadNotes:
    """What reading a set of files (a run's train and test images) found that is said once for the set, not once a
    file: the files of several frames (their first one is read), and the scales float images were told to be on
    (:func:`_float_scale`) and their files. Filled by :func:`read_image` / :func:`check_image` from threads
    (``list.append`` is atomic); the file a message names is the first by path, whatever the threads' order."""

    frames: list[tuple[str, str | None, int]] = field(default_factory=list)
    scales: list[tuple[str, str, str | None]] = field(default_factory=list)
    #: the largest value of each 16-bit image read, with its file
    deep: list[tuple[float, str, str | None]] = field(default_factory=list)
    #: the float images holding NaN pixels (read as 0), with their files
    nans: list[tuple[str, str | None]] = field(default_factory=list)

    def messages(self, total: int) -> list[str]:
        """The warnings' texts, for ``total`` files read (none when nothing was found)."""
        out = []
        if self.frames:
            path, label, count = sorted(self.frames, key=lambda f: f[0])[0]
            out.append(
                f"{len(self.frames)} of {total} image files hold several frames (multi-page TIFF, animated GIF), "
                f"e.g. {_where(path, label)} with {count}: the kit reads frame 0 (the first) of each and no other; if "
                "the picture is in another frame, or in all of them, save the frame(s) as files of their own "
                "(Pillow: img.seek(k); img.save(...)) and point data.images at them"
            )
        first: dict[str, tuple[str, str | None]] = {}
        for scale, path, label in sorted(self.scales, key=lambda f: f[1]):
            first.setdefault(scale, (path, label))
        blank = first.pop(_BLANK, None)  # black on 0..1 and 0..255 alike; on -1..1 it would be mid grey
        if blank is not None and "-1..1" in first:
            first.setdefault("0..1", blank)
        if len(first) > 1:
            seen = ", ".join(f"{scale} (e.g. {_where(*first[scale])})" for scale in sorted(first))
            out.append(
                f"float image files were read on {len(first)} scales: {seen}. A float image's scale is told "
                f"from its values (0..1 within {_UNIT[0]}..{_UNIT[1]}, -1..1 with values below {_UNIT[0]}, else "
                "0..255), and the files of one folder share one: an image whose values fill only part of its scale "
                "(a -1..1 image without dark pixels, a 0..255 one nearly black) reads as another, brighter or darker "
                "than it is; save the images as 8-bit or 16-bit PNG on the folder's scale (numpy: "
                "np.clip((a - lo) * 255 / (hi - lo), 0, 255).astype(np.uint8), lo..hi that scale)"
            )
        if self.nans:
            path, label = min(self.nans)
            out.append(
                f"{len(self.nans)} of {total} float image files hold NaN pixels (e.g. {_where(path, label)}), read "
                "as 0 (black): fill them before (numpy: np.nan_to_num(a, nan=v), v a value on the images' scale) "
                "where black is not what they stand for (a no-data mark, a masked-out area)"
            )
        top = max(self.deep, default=None)
        if top is not None and 0 < top[0] < _TWELVE_BITS:
            out.append(
                f"the {len(self.deep)} 16-bit image files hold values up to {top[0]:.0f} only, of 0..{_MAX16} (e.g. "
                f"{_where(top[1], top[2])}): 12-bit data (a scanner's, or DICOM pixels saved as 16-bit PNG)? Read "
                f"on the 16-bit scale, as a viewer shows them, they reach {top[0] / 257:.0f} of 255, nearly black; "
                f"if the picture is in that range, save the images on the 8-bit scale first (numpy: "
                f"np.clip(a * 255 / {top[0]:.0f}, 0, 255).astype(np.uint8), one scale for the whole folder)"
            )
        return out

    def warn(self, total: int, stacklevel: int = 3) -> None:
        """Each message as a :class:`~kaggle_kit.errors.DataWarning`."""
        for message in self.messages(total):
            warnings.warn(message, DataWarning, stacklevel=stacklevel)


def pixel_names(n: int) -> list[str]:
    """``pixel0 .. pixel{n-1}``: the names of an image's columns (Kaggle's Digit Recognizer naming)."""
    return [f"pixel{k}" for k in range(n)]


def _check_channels(channels: int) -> None:
    if channels not in _MODES:
        raise DataError(f"channels must be 1 (grey), 3 (RGB) or 4 (RGBA); got {channels!r}")


def _where(path: str | Path, label: str | None) -> str:
    return f"{str(path)!r}" + (f" ({label})" if label else "")


def read_image(
    path: str | Path,
    *,
    size: tuple[int, int] | None = None,
    channels: int = 3,
    label: str | None = None,
    background: str = BACKGROUND,
    notes: ReadNotes | None = None,
) -> np.ndarray:
    """One image file as ``(H, W, C)`` uint8, converted to ``channels`` and resized (bilinear) to ``size = (height,
    width)`` when given; upright as a viewer shows it (a camera's EXIF orientation applied); a transparent image read
    without alpha (``channels`` 1 or 3) laid onto ``background`` (:data:`BACKGROUNDS`). ``label`` (e.g. ``"id 17"``)
    names the row in error messages. A file of several frames (a multi-page TIFF, an animated GIF) is read by its
    first frame; ``notes``, when given, gets each such file, and the scale of a float image, for the caller's
    warnings once for all its files (:class:`ReadNotes`)."""
    from PIL import Image

    _check_channels(channels)
    if background not in BACKGROUNDS:
        raise DataError(f"background must be one of {sorted(BACKGROUNDS)}; got {background!r}")
    with _reading(path, label), Image.open(path) as img:
        if _note_frames(img, path, label, notes):
            img.seek(0)
        img = _opaque(_to_8_bits(_upright(img), path, label, notes), channels, background).convert(_MODES[channels])
        if size is not None and img.size != (size[1], size[0]):
            img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        return np.asarray(img, dtype=np.uint8).reshape(img.size[1], img.size[0], channels)


def check_image(path: str | Path, label: str | None = None, notes: ReadNotes | None = None) -> tuple[int, int]:
    """The upright ``(height, width)`` (:func:`upright_size`) of an image file, once it is found readable, cheaply: a
    PNG's chunks and checksums read (not inflated), a JPEG decoded at 1/8 scale (a cut-off file fails), other
    formats decoded. Raises :func:`read_image`'s :class:`DataError` for a file it could not read (about a
    millisecond a file: streamed images without the cache are checked so before any fold fits, not found by a net's
    batch minutes in); ``notes`` gets what :func:`read_image` would note of it."""
    from PIL import Image

    with _reading(path, label), Image.open(path) as img:
        _note_frames(img, path, label, notes)
        img.seek(0)
        w, h = img.size  # before a JPEG's draft, which shrinks it
        if img.format == "PNG" and not _png_checked_whole(img, path):
            with Image.open(path) as again:  # decoded as read_image does: only pixels that do not decode fail
                again.load()
                return upright_size(again)
        if img.format == "PNG":
            exif = Image.Exif()
            if img.info.get("exif"):
                exif.load(img.info["exif"])
        else:
            exif = img.getexif()
            if img.format == "JPEG":
                img.draft(img.mode, (1, 1))
            img.load()
            if img.mode == "F" and notes is not None:
                _float_scale(np.asarray(img), path, label, notes)
        return _turned(w, h, exif)


def _png_checked_whole(img: Any, path: str | Path) -> bool:
    """Whether an opened PNG's chunks all carry their checksums (read, not inflated) and its EXIF, if any, was read
    with its header. Else it is decoded whole by :func:`check_image`, as :func:`read_image` reads it: Pillow decodes a
    PNG whose checksum is off (a tool that rewrote a chunk, a text after the pixels, without it), which ``verify``
    refuses (such a file had been called unreadable without the cache, and read with it); and an ``eXIf`` written
    after the pixels (which ``verify`` skips) turns the picture as read (its size had been told as stored: every such
    photo odd-sized)."""
    try:
        img.verify()
    except (OSError, SyntaxError):  # Pillow's "broken PNG file (bad header checksum ...)" is a SyntaxError
        return False
    return "exif" in img.info or b"eXIf" not in Path(path).read_bytes()


def _note_frames(img: Any, path: str | Path, label: str | None, notes: ReadNotes | None) -> bool:
    """Whether ``notes`` is given and an opened image holds several frames (:func:`_several_frames`), which are then
    noted in it (its first is read)."""
    if notes is None or not _several_frames(img):
        return False
    notes.frames.append((str(path), label, int(img.n_frames)))
    return True


def _several_frames(img: Any) -> bool:
    """Whether an opened image holds frames besides the first that may be its picture (a multi-page TIFF, an animated
    GIF / PNG / WebP): a GIF's ``is_animated`` reads up to its second frame only. Not a phone's JPEG of several
    pictures (MPO: the photo first, then a preview or depth map), whose first is the photo every viewer shows."""
    return img.format != "MPO" and bool(getattr(img, "is_animated", False))


@contextmanager
def _reading(path: str | Path, label: str | None) -> Iterator[None]:
    """Pillow's errors on reading ``path`` as the :class:`DataError` naming the file (and the row ``label``)."""
    from PIL import Image, UnidentifiedImageError

    try:
        yield
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(
            f"image file {_where(path, label)} does not exist; check the image folder and file pattern"
        ) from None
    except Image.DecompressionBombError as exc:  # not an OSError: it escaped as a stack trace
        raise DataError(
            f"image file {_where(path, label)} is too large for Pillow to open ({exc}); shrink such files "
            "beforehand (e.g. with Pillow in Python after setting PIL.Image.MAX_IMAGE_PIXELS = None, for files "
            "you trust) to about the size the nets read"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:  # truncated / corrupt files: OSError
        raise DataError(
            f"image file {_where(path, label)} could not be read as an image: {exc}{_format_hint(path)}"
        ) from None


#: files of formats Pillow does not read, which image competitions ship (by the name's ending), and how to convert
_NOT_PILLOW = {
    ".dcm": "DICOM, which Pillow does not read: convert them to PNG first (pydicom.dcmread(path).pixel_array)",
    ".dicom": "DICOM, which Pillow does not read: convert them to PNG first (pydicom.dcmread(path).pixel_array)",
    ".npy": "numpy arrays, not image files: save them as PNG first (PIL.Image.fromarray(np.load(path)))",
    ".nii": "NIfTI volumes, which Pillow does not read: save their slices as PNG first (e.g. with nibabel)",
    ".nii.gz": "NIfTI volumes, which Pillow does not read: save their slices as PNG first (e.g. with nibabel)",
}


def _format_hint(path: str | Path) -> str:
    name = str(path).lower()
    for ending, what in _NOT_PILLOW.items():
        if name.endswith(ending):
            return f"; {ending} files are {what}"
    return ""


def _upright(img: Any) -> Any:
    """The image turned as its EXIF orientation says (a phone's portrait photo is stored sideways, tagged to be shown
    turned: every viewer, and OpenCV's ``imread``, turn it), else as it is. The labels were given looking at the
    turned picture; read as stored, the tagged images of a folder lie on their side, or fail the one-size check."""
    from PIL import ImageOps

    if img.getexif().get(_ORIENTATION, 1) in (1, None):
        return img
    return ImageOps.exif_transpose(img)


def upright_size(img: Any) -> tuple[int, int]:
    """``(height, width)`` of an opened image as :func:`read_image` reads it (upright: orientations 5 to 8 turn it a
    quarter), from its header and EXIF tag, nothing else decoded (but a PNG's, whose EXIF may follow the pixels)."""
    w, h = img.size
    return _turned(w, h, img.getexif())


def _turned(w: int, h: int, exif: Any) -> tuple[int, int]:
    """``(height, width)`` of an image stored ``w`` x ``h`` as it is shown: its EXIF orientations 5 to 8 turn it a
    quarter."""
    return (w, h) if exif.get(_ORIENTATION) in (5, 6, 7, 8) else (h, w)


def _opaque(img: Any, channels: int, background: str) -> Any:
    """``img`` laid onto the colour ``background`` names (:data:`BACKGROUNDS`) where it is transparent, when it is
    read without alpha (``channels`` 1 or 3); else as it is. Pillow's ``convert`` to ``L`` / ``RGB`` drops the alpha
    and keeps whatever colour is stored under the transparent pixels (black for most exports: a black drawing on a
    transparent page read all black)."""
    from PIL import Image

    if channels == 4 or (img.mode not in _ALPHA_MODES and "transparency" not in img.info):
        return img
    rgba = img.convert("RGBA")  # a palette's or tRNS colour's transparency becomes the alpha channel
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (*BACKGROUNDS[background], 255)), rgba)


def _to_8_bits(img: Any, path: str | Path, label: str | None, notes: ReadNotes | None = None) -> Any:
    """A 16-bit grey image as 8-bit grey, its full range ``0..65535`` onto ``0..255`` (as a viewer shows it, and
    as an 8-bit export of the same picture holds it); a float image (a TIFF of mode ``F``) whose values lie in
    ``0..1`` (the usual range of float pixels; :data:`_UNIT` allows a resampling's overshoot, clipped) onto
    ``0..255``, one of ``-1..1`` (:data:`_SIGNED`, values below -0.5) likewise, any other float image clipped to
    ``0..255``;
    other images as they are. (Pillow's ``convert`` would clip the 16-bit values, nearly all white, and truncate
    the ``0..1`` floats to 0 or 1, nearly all black.) A 32-bit integer image (mode ``I``) holding values beyond
    ``0..65535`` is an error: such values have no usual range to scale from (scaled by the 32-bit range, 16-bit
    values in a 32-bit file read black; by each image's own range, the images of a folder read on different
    scales), and reading them as 16-bit clipped them white."""
    from PIL import Image

    if img.mode not in (*_WIDE, "F"):
        return img
    wide = np.asarray(img).astype(np.float64)
    if img.mode == "I" and wide.size and (wide.min() < 0 or wide.max() > _MAX16):
        raise DataError(
            f"image file {_where(path, label)} is an integer image (Pillow mode 'I': 32-bit, or signed 16-bit, "
            f"values) holding values "
            f"{wide.min():.0f}..{wide.max():.0f}, beyond the 16-bit range 0..{_MAX16} the kit scales onto 0..255; "
            "write the images as 8-bit or 16-bit files on one scale for every image (e.g. with numpy: "
            "np.clip(a * 255 / a_max, 0, 255).astype(np.uint8), a_max the largest value of the whole folder)"
        )
    if img.mode != "F":
        if notes is not None and wide.size:
            notes.deep.append((float(wide.max()), str(path), label))
        wide = wide / 257.0
    else:
        scale = _float_scale(wide, path, label, notes)
        wide = wide * 255.0 if scale == "0..1" else (wide + 1.0) * 127.5 if scale == "-1..1" else wide
    return Image.fromarray(np.clip(np.rint(np.nan_to_num(wide)), 0, 255).astype(np.uint8))


def _float_scale(values: np.ndarray, path: str | Path, label: str | None, notes: ReadNotes | None) -> str:
    """The scale a float image's ``values`` are on: ``"0..1"`` within :data:`_UNIT`, ``"-1..1"`` within
    :data:`_SIGNED` (with values below :data:`_UNIT`), else ``"0..255"``; noted with the file in ``notes``."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if _UNIT[0] <= low and high <= _UNIT[1]:
        scale = "0..1"
    elif _SIGNED[0] <= low and high <= _SIGNED[1]:
        scale = "-1..1"
    else:
        scale = "0..255"
    if notes is not None:
        blank = scale == "0..1" and low == high == 0  # all 0 (or NaN): black on 0..255 too
        notes.scales.append((_BLANK if blank else scale, str(path), label))
        if np.isnan(values).any():  # read as 0 below: the darkest value on any scale, silent before
            notes.nans.append((str(path), label))
    return scale


def float_file_scale(path: str | Path) -> str | None:
    """The scale (:func:`_float_scale`: ``"0..1"``, ``"-1..1"`` or ``"0..255"``) a float image file (Pillow's mode
    ``F``) is read on, its first frame's; None for any other image, and for a blank one (all 0 or NaN: black on two
    scales). ``kaggle-kit predict`` compares new files' with the run's
    (:func:`kaggle_kit.readers.images.float_scales`). A file Pillow cannot read: the :class:`DataError` naming it
    (:func:`_reading`; a file too large for Pillow raised its own error, no ``OSError``, as a stack trace)."""
    from PIL import Image

    with _reading(path, None), Image.open(path) as img:
        if img.mode != "F":
            return None
        notes = ReadNotes()
        _float_scale(np.asarray(img).astype(np.float64), path, None, notes)
    scale = notes.scales[0][0]
    return None if scale == _BLANK else scale


def load_images(
    paths: Sequence[str | Path],
    *,
    size: tuple[int, int] | None = None,
    channels: int = 3,
    threads: int = 4,
    labels: Sequence[str] | None = None,
    dtype: type[np.generic] = np.float32,
    background: str = BACKGROUND,
    notes: ReadNotes | None = None,
) -> np.ndarray:
    """``(N, H, W, C)`` pixel values (0-255) of the image files, as ``dtype``; ``size = (height, width)`` resizes
    (bilinear), otherwise every image must have the size of the first. ``labels`` name the rows in errors;
    ``background``: what transparent images are laid onto; ``notes``: gets what reading them found
    (:class:`ReadNotes`)."""
    _check_channels(channels)
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f"labels has {len(labels)} items for {len(paths)} paths")
    label = (lambda i: labels[i]) if labels is not None else (lambda i: None)
    if not len(paths):
        return np.zeros((0, *(size or (0, 0)), channels), dtype=dtype)
    unreadable: list[tuple[int, str]] = []  # every file read before any error is raised: one error names them all
    odd: list[tuple[int, str]] = []

    def read(i: int) -> np.ndarray | None:
        try:
            return read_image(
                paths[i], size=size, channels=channels, label=label(i), background=background, notes=notes
            )
        except DataError as exc:
            unreadable.append((i, str(exc)))
            return None

    at, first = 0, read(0)
    while first is None and at + 1 < len(paths):  # the first readable file sets the size
        at += 1
        first = read(at)
    out = np.empty((len(paths), *(first.shape if first is not None else (0, 0, channels))), dtype=dtype)
    if first is not None:
        out[at] = first  # filled in place: no list of N arrays, then a copy

    def fill(i: int) -> None:
        img = read(i)
        if img is not None and first is not None and img.shape != first.shape:
            odd.append((i, f"{img.shape[1]} x {img.shape[0]}"))
        elif img is not None:
            out[i] = img

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(fill, range(at + 1, len(paths))))
    if unreadable:
        unreadable.sort()
        raise DataError(
            unreadable[0][1]
            if len(unreadable) == 1
            else f"{len(unreadable)} of {len(paths)} image files cannot be read: {unreadable[0][1]}"
            f"{_also(unreadable, paths, label)}; replace them (download them again) or remove their rows"
        )
    if odd:
        assert first is not None
        odd.sort()
        i, size_read = odd[0]
        many = f"{len(odd)} of {len(paths)} image files are not the size of the first one: " if len(odd) > 1 else ""
        raise DataError(
            f"{many}image file {_where(paths[i], label(i))} is {size_read} but {_where(paths[at], label(at))} is "
            f"{first.shape[1]} x {first.shape[0]}{_also(odd, paths, label)}; {RESIZE_HINT}"
        )
    return out


def _also(found: list[tuple[int, str]], paths: Sequence[str | Path], label: Any) -> str:
    """``; also`` the files of ``found`` after its first (three of them, then how many more)."""
    more = [_where(paths[i], label(i)) for i, _ in found[1:4]]
    if not more:
        return ""
    return f"; also {', '.join(more)}" + (f" and {len(found) - 4} more" if len(found) > 4 else "")


def pixel_frame(images: np.ndarray) -> pl.DataFrame:
    """``(N, H, W, C)`` images -> a frame of ``H * W * C`` columns ``pixel0 ..`` (``hwc`` order), dtype kept."""
    flat = images.reshape(len(images), -1)
    return pl.from_numpy(flat, schema=pixel_names(flat.shape[1]), orient="row")


def image_columns(
    ids: pl.Series | Sequence[Any],
    directory: str | Path,
    *,
    pattern: str = "{id}.png",
    size: tuple[int, int] | None = None,
    channels: int = 3,
    threads: int = 4,
    id_name: str | None = None,
    background: str = BACKGROUND,
) -> pl.DataFrame:
    """A frame of the ids and their images' float32 ``pixel{k}`` columns (``hwc`` order), to join on the id."""
    values = ids.to_list() if isinstance(ids, pl.Series) else list(ids)
    name = id_name or (ids.name if isinstance(ids, pl.Series) and ids.name else "id")
    paths = [Path(directory) / pattern.format(v, id=v) for v in values]
    frame = pixel_frame(load_images(paths, size=size, channels=channels, threads=threads, background=background))
    return frame.insert_column(0, pl.Series(name, values))
