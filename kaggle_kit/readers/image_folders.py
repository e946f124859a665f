"""Which image files a competition's tables name: what ``kaggle-kit init`` writes as ``[data.images]``.

An image competition ships ``train.csv`` (an id and the label) beside a folder of files named by the id
(``train/<id>.png``, ``train_images/<id>.jpg``, one ``images/`` folder for both, or ids that are file names
already: ``image_name = 0a1b.JPG``). The table alone has no feature, so a config without the images trains on
nothing. :func:`find_image_files` looks for such a folder beside the train file: the first folder (by the usual
names, then any other) in which every one of the first rows' values of the id (or another text column) names a file,
directly or with the folder's most common extension (spelled as the files spell it: ``.JPG`` is not ``.jpg`` on
Linux). It then reads the sizes and modes of up to :data:`_HEADERS` of the train and test files (headers only), drawn
at random (seeded) from all of them, not the first rows' (a folder sorted by size, or colour images after the grey
ones, had been read as one size or grey; fewer, at least 64, of large PNGs, which Pillow decodes to read their
EXIF: :data:`_PNG_PIXELS`), for ``size`` (when they differ: the most common one) and ``channels`` (1
when every one is grey), and says what it saw.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

#: image file extensions Pillow reads (lower case; a folder's files may spell them otherwise)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
#: folder names tried first, in order, for the train and the test images
_TRAIN_NAMES = ("train_images", "train", "images", "train_imgs", "imgs", "img")
_TEST_NAMES = ("test_images", "test", "test_imgs")
#: rows whose files must all be there for a folder to be the one (the first rows); files whose header is read (a
#: seeded sample of the train and test files: a header costs about a millisecond, a PNG's EXIF looked for)
_PROBE, _HEADERS = 20, 512
#: the seed of the sample of headers (init writes the same config for the same folder)
_SEED = 0
#: the PNG pixels reading the headers may decode: Pillow decodes a PNG to look for its EXIF (which may follow the
#: pixels), about 28 ms for 1024 x 1024 (512 such headers took 14 s); past it, the headers read (at least
#: :data:`_MIN_HEADERS`, in a seeded random order: still a sample of the whole folder) are the sample
_PNG_PIXELS, _MIN_HEADERS = 64_000_000, 64
#: Pillow modes of one grey channel
_GREY = frozenset({"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


def find_image_files(
    train_path: Path, train: pl.DataFrame, test: pl.DataFrame | None, id_column: str | None, roles: set[str | None]
) -> tuple[dict[str, Any], list[str]] | None:
    """``[data.images]`` (absolute folders) and the lines saying why, or None when no folder beside ``train_path``
    holds files named by a column of ``train``. ``roles``: the target(s) and the like, never a file name."""
    columns = [id_column] if id_column in train.columns else []
    columns += [c for c in train.columns if c not in roles and c != id_column and train[c].dtype == pl.String]
    for folder in _folders(train_path.parent, _TRAIN_NAMES):
        files = _listing(folder)
        for column in columns:
            pattern = _pattern(train[column], files, folder)
            if pattern is None:
                continue
            images: dict[str, Any] = {"pattern": pattern}
            if column != id_column:
                images["column"] = column
            test_folder = _test_folder(train_path.parent, folder, test, column, pattern) if test is not None else None
            if test_folder is None or test_folder == folder:
                images["folder"] = str(folder)
            else:
                images["train_folder"], images["test_folder"] = str(folder), str(test_folder)
            why = [
                f"images: {folder.name}/{pattern.replace('{id}', '<' + column + '>')} (one file per train row"
                + (f"; test's in {test_folder.name}/" if test_folder not in (None, folder) else "")
                + ") -> [data.images]"
            ]
            paths = [folder / pattern.format(id=v) for v in train[column].drop_nulls().to_list()]
            if test_folder is not None and test is not None:
                paths += [test_folder / pattern.format(id=v) for v in test[column].drop_nulls().to_list()]
            _shape(images, paths, why, "train and test" if test_folder is not None else "train")
            return images, why
    return None


#: endings of files that image competitions ship but Pillow does not read (the kit's reading says how to convert them)
_OTHER_FORMATS = (".dcm", ".dicom", ".npy", ".nii", ".nii.gz")


def image_files_hint(
    train_path: Path, train: pl.DataFrame, id_column: str | None, roles: set[str | None]
) -> str | None:
    """A line saying why a folder beside ``train_path`` whose files a column of ``train`` names (without their
    extension) is no ``[data.images]``, where :func:`find_image_files` found none: their extensions differ (one
    pattern names one), or Pillow does not read them (DICOM, numpy arrays); None when no folder holds such files."""
    columns = [id_column] if id_column in train.columns else []
    columns += [c for c in train.columns if c not in roles and c != id_column and train[c].dtype == pl.String]
    for folder in _folders(train_path.parent, _TRAIN_NAMES):
        endings: dict[str, set[str]] = {}
        for name in _listing(folder):
            lower = name.lower()
            ending = next((e for e in _OTHER_FORMATS if lower.endswith(e)), Path(name).suffix)
            if ending:
                endings.setdefault(name[: -len(ending)], set()).add(name[-len(ending) :])
        for column in columns:
            probe = [str(v) for v in train[column].drop_nulls().head(_PROBE).to_list()]
            if not probe or not all(v in endings for v in probe):
                continue
            found = sorted({e for v in probe for e in endings[v]})
            other = [e for e in found if e.lower() in _OTHER_FORMATS]
            if other:
                return (
                    f"images: {folder.name}/ holds the files {column!r} names as {other[0]} files, which Pillow does "
                    "not read: convert them to PNG (the same names), then run init again"
                )
            if len(found) > 1 and all(e.lower() in IMAGE_SUFFIXES for e in found):
                return (
                    f"images: {folder.name}/ holds the files {column!r} names, with {len(found)} extensions "
                    f"({', '.join(found)}), and data.images.pattern names one: add a column of the file names with "
                    f"their extensions to the train and test tables (init then reads the images by it), or convert "
                    "the files to one format"
                )
    return None


def has_folders(train_path: Path) -> bool:
    """Whether a folder beside ``train_path`` could hold its images: where none does, :func:`find_image_files` and
    :func:`image_files_hint` find nothing whatever the tables hold (init reads them again, ids as text, only where
    one does: 1M rows x 60 columns and a 400k test read again took 20 s)."""
    return bool(_folders(train_path.parent, _TRAIN_NAMES))


def _folders(parent: Path, names: tuple[str, ...]) -> list[Path]:
    """The folders of ``parent``: the usual ``names`` first, in their order, then the others by name."""
    found = sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))
    first = [p for name in names for p in found if p.name.casefold() == name]
    return first + [p for p in found if p not in first and not p.name.startswith(("runs", "__"))]


def _listing(folder: Path) -> set[str]:
    with os.scandir(folder) as entries:
        return {e.name for e in entries if e.is_file()}


def _pattern(values: pl.Series, files: set[str], folder: Path) -> str | None:
    """``"{id}"`` when the values are the file names (or their paths under ``folder``: ``cat/0.png`` of one
    subfolder per class), ``"{id}<ext>"`` when they are with the files' most common image extension, else None
    (every one of the first rows must name a file)."""
    probe = [str(v) for v in values.drop_nulls().head(_PROBE).to_list()]
    if not probe:
        return None
    images = all(Path(v).suffix.lower() in IMAGE_SUFFIXES for v in probe)  # file names of images, no other files
    if images and (all(v in files for v in probe) or all(_under(folder, v) for v in probe)):
        return "{id}"
    suffixes = Counter(Path(f).suffix for f in files if Path(f).suffix.lower() in IMAGE_SUFFIXES)
    # of tied counts the first in sorted order: a set's order (the files) changes with each process's hash seed
    for suffix, _ in sorted(suffixes.items(), key=lambda sk: (-sk[1], sk[0]))[:2]:
        if all(v + suffix in files for v in probe):
            return "{id}" + suffix
    return None


def _under(folder: Path, name: str) -> bool:
    """Whether ``name`` is the path of an image file under ``folder`` (never a path leading out of it)."""
    path = Path(os.path.normpath(folder / name))
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_relative_to(folder) and path.is_file()


def _test_folder(parent: Path, train_folder: Path, test: pl.DataFrame, column: str, pattern: str) -> Path | None:
    """The folder holding most of the test rows' first files (the train folder first), or None when the test table
    lacks the column or no folder holds them (``run`` then names the files missing). Most, not all: a few files
    missing among the first rows had left the test folder out, so that ``run`` looked for every test file in the
    train folder (and a sample read as the test table was not taken for it)."""
    if column not in test.columns:
        return None
    probe = [str(v) for v in test[column].drop_nulls().head(_PROBE).to_list()]
    for folder in [train_folder, *(f for f in _folders(parent, _TEST_NAMES) if f != train_folder)]:
        files = _listing(folder)
        named = sum(pattern.format(id=v) in files or _under(folder, pattern.format(id=v)) for v in probe)
        if probe and 2 * named > len(probe):
            return folder
    return None


def sample_files(paths: list[Path], n: int = _HEADERS, seed: int = _SEED) -> list[Path]:
    """Up to ``n`` of ``paths``, drawn at random with ``seed`` from all of them (kept in their order)."""
    if len(paths) <= n:
        return paths
    picked = np.sort(np.random.default_rng(seed).choice(len(paths), size=n, replace=False))
    return [paths[i] for i in picked]


def _shape(images: dict[str, Any], paths: list[Path], why: list[str], roles: str) -> None:
    """``size`` when the sampled files' sizes differ (their most common one) and ``channels`` 1 when all are grey,
    and a line saying what the sample saw."""
    from PIL import Image, UnidentifiedImageError

    from ..models.nn.images import upright_size

    sizes: Counter[tuple[int, int]] = Counter()
    modes: set[str] = set()
    sample = sample_files(paths)
    decoded, stopped = 0, False
    for k in np.random.default_rng(_SEED).permutation(len(sample)):  # stopped early, still drawn from every file
        if decoded > _PNG_PIXELS and sum(sizes.values()) >= _MIN_HEADERS:
            stopped = True
            break
        try:
            with Image.open(sample[k]) as img:  # the header only (a PNG's pixels decoded to look for its EXIF)
                sizes[upright_size(img)] += 1  # as `run` reads it: upright
                modes.add(img.mode)
                decoded += img.size[0] * img.size[1] if img.format == "PNG" else 0
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            continue  # `run` names an unreadable (or too large) file
    if not sizes:
        return
    (h, w), _ = sizes.most_common(1)[0]
    read = sum(sizes.values())
    if read == len(paths):
        seen = f"the {read} {roles} images"
    elif len(sample) < len(paths) or stopped:
        seen = f"{read} of the {len(paths)} {roles} images, drawn at random,"
    else:
        seen = f"{read} of the {len(paths)} {roles} images"
    if len(sizes) > 1:
        images["size"] = [h, w]
        shown = ", ".join(f"{a} x {b} ({k})" for (a, b), k in sizes.most_common(4))
        more = f", {len(sizes) - 4} more" if len(sizes) > 4 else ""
        why.append(
            f"size = [{h}, {w}] ({seen} have {len(sizes)} sizes, height x width: {shown}{more}; every image is "
            f"resized to the most common one)"
        )
    else:
        why.append(f"size: not set ({seen} are {h} x {w}, height x width)")
    grey = modes <= _GREY  # a palette image may hold any colour: read as RGB
    images["channels"] = 1 if grey else 3
    why.append(f"channels = {images['channels']} ({'grey' if grey else 'colour'} images: {', '.join(sorted(modes))})")


def image_folder_message(folder: Path) -> str:
    """What to do when ``--train`` names a folder: a table of ids and labels is what the kit reads; for the
    ImageFolder layout (one subfolder of images per class), the two lines of polars that write it."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    head = f"--train {str(folder)!r} is a folder; init reads a train table (.csv or .parquet) of ids and labels"
    if not classes:
        return head + ": pass the train file, e.g. --train train.csv"
    shown = ", ".join(map(repr, classes[:5])) + (", ..." if len(classes) > 5 else "")
    return (
        f"{head}. Its subfolders ({shown}) look like one folder of images per class: write that table beside "
        f"the folder, each file's path under it as the id and its subfolder as the label, e.g. in Python: "
        f"files = sorted(p.relative_to(root).as_posix() for p in root.glob('*/*') if p.is_file()); "
        f"pl.DataFrame({{'id': files, 'label': [f.split('/')[0] for f in files]}}).write_csv('train.csv') "
        f"with root = Path({str(folder)!r}); then pass --train train.csv (init finds the images by their paths)"
    )
