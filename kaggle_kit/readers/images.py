"""``[data.images]``: image files listed by id become pixel columns of the train and test frames.

Each row's file is ``<folder>/<pattern with the row's value of data.images.column>`` (the column defaults to
``data.id``). The images are decoded with Pillow (:mod:`kaggle_kit.models.nn.images`), converted to
``channels``, resized to ``size`` when given, and appended to the row as uint8 columns ``pixel0 .. pixel{H*W*C-1}``
(row-major, a pixel's channels together): the layout of Kaggle's Digit Recognizer, which the ``cnn`` kind reads.

What the columns mean to the models (checked here, once, before anything trains):

* the pixel columns are features like any other: tree models read them unless listed in ``data.drop`` (which drops
  them for every model), alongside the table's other columns;
* a ``cnn`` reads every feature column unless ``params.columns`` says otherwise, so when the table has features
  besides the pixels, each ``cnn`` must set ``params.columns = "pixel\\\\d+"``; its ``params.image_shape`` must be
  the images' ``[H, W, C]``. Both are errors here that give the value to write (the shape is not filled in for
  the user: a spec means the same with or without the data at hand);
* a file-name column that is not ``data.id`` must be in ``data.drop`` (a file name is not a feature).

A file name that would leave the image folder (``../x``, an absolute path) is rejected before anything is read.
:func:`attach_image_files` is idempotent: frames that already hold the images' pixel columns are returned as they are
(the runner hands its prepared frames to worker processes, which prepare them again).

Stream mode (``mode = "stream"``, or ``"auto"`` above :data:`~kaggle_kit.readers.image_stream.STREAM_ABOVE` pixel
values): no pixel columns; each row gets its position in the run's image files (column
:data:`~kaggle_kit.readers.image_stream.IMAGE_REF`, not a feature) and :func:`attach_image_files` hands over the
:class:`~kaggle_kit.readers.image_stream.ImageStream` listing the files (checked once, the first one decoded once
for the shape when ``size`` is not given); see
:mod:`kaggle_kit.readers.image_stream`. Only ``cnn`` reads the images then: a ``hybrid`` is refused (it reads pixel
columns), and every other model reads the table's other columns (an error when there are none).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from ..config import SEQUENCE_KINDS, CompetitionSpec, ImageFilesSpec
from ..errors import ConfigError, DataError
from ..features.sequence_store import SEQUENCE_ROW
from ..models.nn.images import ReadNotes
from .image_folders import IMAGE_SUFFIXES
from .image_stream import IMAGE_REF, MAX_ROWS, ImageStream, use_stream
from .paths import path_hint, working_folder_note

_PIXEL = re.compile(r"pixel\d+")
#: files listed in a "missing" error
_SHOWN = 3


def attach_image_files(
    spec: CompetitionSpec, train: pl.DataFrame, test: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame | None, ImageStream | None]:
    """``train`` and ``test`` with their rows' images as pixel columns (as they are without ``[data.images]``), or
    in stream mode with their positions and the :class:`ImageStream` of the files they point at (train's rows, then
    test's; None for pixel columns or without ``[data.images]``): built from the same file checks and image shape
    as the positions, so loading checks each file and decodes the first image once."""
    images = spec.data.images
    if images is None:
        return train, test, None
    column = _image_column(spec, images)
    train_key = "train_folder" if images.train_folder is not None else "folder"
    streams, shape = (True, None) if IMAGE_REF in train.columns else _streams(spec, images, train, test, column)
    if streams:
        train, test, stream = _attach_refs(spec, images, train, test, column, train_key, shape)
        check_image_models(spec, list(stream.shape), train, streamed=True)
        return train, test, stream
    notes = ReadNotes()  # said once for train's and test's files together: one scale for both
    train, shape = _attach(spec, images, train, "train", column, train_key, _threads(), notes)
    if test is not None:
        test = _attach_test(spec, images, test, column, shape, notes)
    notes.warn(train.height + (test.height if test is not None else 0))
    check_image_models(spec, list(shape), train)
    return train, test, None


def attach_test_image_files(
    spec: CompetitionSpec, test: pl.DataFrame, shape: Sequence[int], *, streamed: bool = False
) -> tuple[pl.DataFrame, ImageStream | None]:
    """New test rows (``kaggle-kit predict``) with their images as pixel columns, read as :func:`attach_image_files`
    reads a run's test images (same folder key, pattern, size, channels, checks and messages) and checked against
    the training images' ``shape`` ``(H, W, C)`` (:func:`image_shape`, recorded by the run); None for the stream.

    ``streamed`` (the run streamed its images): the rows get their positions 0.. and the
    :class:`ImageStream` of their files (decoded to ``shape``, never cached: new rows are read once), built from
    the same file check, so each new file is checked once and none is decoded here; every new file is checked
    readable and of ``shape`` (unless ``data.images.size`` resizes them) from its header
    (:meth:`ImageStream.check_files`): a corrupt or odd-sized file had stopped a net's batch, after the models
    before it had predicted."""
    images = spec.data.images
    if images is None:
        return test, None
    column = _image_column(spec, images)
    if streamed:
        paths, labels = _files(spec, images, test, "test", column, _test_key(images))
        stream = replace(_stream(images, paths, labels, list(shape)), cache=False)
        stream.check_files(_threads())
        return _with_refs(test, 0, "test"), stream
    h, w, c = shape
    notes = ReadNotes()
    test = _attach_test(spec, images, test, column, (h, w, c), notes)
    notes.warn(test.height)
    return test, None


#: how many of a set's image files (spread over it) tell the float scales it is read on: their headers read, and the
#: float images among them decoded (the run records train's, `predict` compares new files' with them)
SCALE_SAMPLE = 32


def float_scales(spec: CompetitionSpec, frame: pl.DataFrame, role: str) -> dict[str, str]:
    """The scales the float image files of ``frame``'s rows (``role``: ``"train"`` or ``"test"``, naming the folder
    key as the run reads it) are read on, each with a file on it (``'<path>' (id 7)``), from up to
    :data:`SCALE_SAMPLE` of them; empty where none of those is a float image (or ``frame`` no longer names its
    files). A file that cannot be read is left to the checks that name it."""
    from ..models.nn.images import float_file_scale

    images = spec.data.images
    if images is None or frame.height == 0:
        return {}
    column = _image_column(spec, images)
    if column not in frame.columns:
        return {}
    key = _test_key(images) if role == "test" else "train_folder" if images.train_folder is not None else "folder"
    paths, labels = _row_files(spec, images, frame, role, column, key)
    found: dict[str, str] = {}
    for i in range(0, len(paths), max(1, len(paths) // SCALE_SAMPLE))[:SCALE_SAMPLE]:
        try:
            scale = float_file_scale(paths[i])
        except (OSError, ValueError, DataError):
            continue
        if scale is not None:
            found.setdefault(scale, f"{str(paths[i])!r} ({labels[i]})")
    return found


def image_mode(spec: CompetitionSpec, train: pl.DataFrame) -> str | None:
    """``"stream"`` or ``"memory"``: how the run holds its ``[data.images]`` (recorded for ``predict``)."""
    if spec.data.images is None:
        return None
    return "stream" if IMAGE_REF in train.columns else "memory"


def _stream(images: ImageFilesSpec, paths: list[str], labels: list[str], shape: list[int] | None) -> ImageStream:
    assert shape is not None
    h, w, c = shape
    return ImageStream(
        tuple(paths),
        tuple(labels),
        (h, w, c),
        images.size is not None,
        cache=images.cache,
        workers=images.workers,
        background=images.background,
    )


def _test_key(images: ImageFilesSpec) -> str:
    key = "test_folder" if images.test_folder is not None else "folder"
    if getattr(images, key) is None:
        raise ConfigError("data.test is set but data.images has no folder or test_folder for the test images")
    return key


def _streams(
    spec: CompetitionSpec,
    images: ImageFilesSpec,
    train: pl.DataFrame,
    test: pl.DataFrame | None,
    column: str,
) -> tuple[bool, list[int] | None]:
    """Whether this run streams its images: ``mode``, and for ``"auto"`` the number of pixel values; and the
    images' shape when it was read for that (the first file decoded: not to be decoded again), else None."""
    if images.mode != "auto" or any(_PIXEL.fullmatch(c) for c in train.columns):
        return images.mode == "stream", None
    rows = train.height + (test.height if test is not None else 0)
    if images.size is not None:
        shape = [images.size[0], images.size[1], images.channels]
    else:
        if column not in train.columns or train.height == 0:
            return False, None  # the pixel-column path says what is wrong
        shape = image_shape(spec, train) or []
    return use_stream(images.mode, rows, shape), shape


def _files(
    spec: CompetitionSpec, images: ImageFilesSpec, frame: pl.DataFrame, role: str, column: str, key: str
) -> tuple[list[str], list[str]]:
    """The rows' files (each one there, else an error naming them) and the rows' labels for messages."""
    paths, labels = _row_files(spec, images, frame, role, column, key)
    _check_present(paths, labels, role, key, images, column)
    return [str(p) for p in paths], labels


def _row_files(
    spec: CompetitionSpec, images: ImageFilesSpec, frame: pl.DataFrame, role: str, column: str, key: str
) -> tuple[list[Path], list[str]]:
    """The paths of the rows' image files (not yet looked for) and the rows' labels for messages; an error where
    ``frame`` lacks the column that names them, or has no rows."""
    if column not in frame.columns:
        raise DataError(
            f"data.images.column = {column!r} is not a column of the {role} file; columns: {frame.columns[:20]}"
        )
    if frame.height == 0:
        raise DataError(f"the {role} table has no rows, so no images to read")
    paths = _paths(images, frame[column], _folder(spec, getattr(images, key), key), role)
    return paths, _labels(spec, frame)


def _attach_refs(
    spec: CompetitionSpec,
    images: ImageFilesSpec,
    train: pl.DataFrame,
    test: pl.DataFrame | None,
    column: str,
    key: str,
    shape: list[int] | None,
) -> tuple[pl.DataFrame, pl.DataFrame | None, ImageStream]:
    """Stream mode: the rows' positions among the image files (train's, then test's) as column ``IMAGE_REF``, and
    the stream of those files, decoded to ``shape`` (read from the first training file when None)."""
    paths, labels = _files(spec, images, train, "train", column, key)
    if test is not None:
        more, more_labels = _files(spec, images, test, "test", column, _test_key(images))
        paths, labels = paths + more, labels + more_labels
    n = train.height + (test.height if test is not None else 0)
    if n > MAX_ROWS:
        raise DataError(f"{n} image rows are more than stream mode holds ({MAX_ROWS}); split the data")
    stream = _stream(images, paths, labels, shape or image_shape(spec, train))
    train = _with_refs(train, 0, "train")
    return train, _with_refs(test, train.height, "test") if test is not None else None, stream


def _with_refs(frame: pl.DataFrame, start: int, role: str) -> pl.DataFrame:
    refs = pl.Series(IMAGE_REF, np.arange(start, start + frame.height, dtype=np.uint32))
    if IMAGE_REF in frame.columns:
        if frame[IMAGE_REF].cast(pl.Int64).equals(refs.cast(pl.Int64)):
            return frame  # already attached: the runner's worker processes prepare its frames again
        raise DataError(f"the {role} table has a column {IMAGE_REF!r}, which stream mode writes; rename it")
    return frame.with_columns(refs)


def image_shape(spec: CompetitionSpec, train: pl.DataFrame) -> list[int] | None:
    """The ``[H, W, C]`` of the training images as :func:`attach_image_files` reads them (``data.images.size`` when
    given, else the first training file's), or None without ``[data.images]``: the run records it so that
    ``predict`` checks new test images without the training files."""
    images = spec.data.images
    if images is None:
        return None
    if images.size is not None:
        return [images.size[0], images.size[1], images.channels]
    from ..models.nn.images import read_image

    key = "train_folder" if images.train_folder is not None else "folder"
    column = _image_column(spec, images)
    folder = _folder(spec, getattr(images, key), key)
    first = _paths(images, train[column][:1], folder, "train", every=train[column])[0]
    if not first.is_file():  # the message of every missing file, as the files' own check says it
        _check_present(
            _paths(images, train[column], folder, "train"), _labels(spec, train), "train", key, images, column
        )
    return list(read_image(first, channels=images.channels).shape)


def _threads() -> int:
    return min(8, os.cpu_count() or 1)


def _image_column(spec: CompetitionSpec, images: ImageFilesSpec) -> str:
    column = images.column or spec.data.id
    if column is None:
        raise ConfigError(
            "data.images.column is not set and the spec has no data.id: name the column holding each row's image "
            "id or file name"
        )
    if column != spec.data.id and column not in spec.data.drop:
        raise ConfigError(
            f"data.images.column = {column!r} is not data.id, so the trees would read the file names as a feature; "
            f"add {column!r} to data.drop"
        )
    return column


def _attach_test(
    spec: CompetitionSpec,
    images: ImageFilesSpec,
    test: pl.DataFrame,
    column: str,
    shape: tuple[int, int, int],
    notes: ReadNotes,
) -> pl.DataFrame:
    """The test rows with their images, which must have the training images' ``shape``."""
    test_key = "test_folder" if images.test_folder is not None else "folder"
    if getattr(images, test_key) is None:
        raise ConfigError("data.test is set but data.images has no folder or test_folder for the test images")
    test, test_shape = _attach(spec, images, test, "test", column, test_key, _threads(), notes)
    if tuple(test_shape) != tuple(shape):
        raise DataError(
            f"the train images are {shape[1]} x {shape[0]} (width x height) but the test images "
            f"{test_shape[1]} x {test_shape[0]}; set data.images.size = [height, width] to resize both"
        )
    return test


def _folder(spec: CompetitionSpec, folder: Path, key: str) -> Path:
    path = spec.resolve(folder)
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise DataError(
            f"data.images.{key} = {str(folder)!r} ({str(path)!r}){working_folder_note(path)}{path_hint(path)} {what}; "
            "point it at the image folder"
        )
    return path


def _paths(
    images: ImageFilesSpec, values: pl.Series, folder: Path, role: str, *, every: pl.Series | None = None
) -> list[Path]:
    """Each row's file; a name that would leave ``folder`` (``..``, an absolute path) is an error. ``every``: the
    whole column where ``values`` are some of its rows (the folder that holds absolute paths is that of them all)."""
    root = os.path.normpath(folder)
    paths = []
    for i, value in enumerate(values.to_list()):
        if value is None:
            raise DataError(
                f"row {i} of {role} has no value in data.images.column {values.name!r}, so it has no image file"
            )
        try:
            name = images.pattern.format(value, id=value)
        except (ValueError, IndexError, KeyError) as exc:
            raise DataError(
                f"data.images.pattern {images.pattern!r} cannot format the {role} value {value!r} of column "
                f"{values.name!r}: {exc}"
            ) from None
        path = os.path.normpath(os.path.join(root, name))
        if os.path.commonpath([root, path]) != root or path == root:
            raise DataError(
                f"the {role} value {value!r} of column {values.name!r} names the file {name!r}, which is outside the "
                f"image folder {root!r}; image file names must stay inside data.images' folder"
                + (_absolute_hint(images.pattern, values if every is None else every) if os.path.isabs(name) else "")
            )
        paths.append(Path(path))
    return paths


def _absolute_hint(pattern: str, values: pl.Series) -> str:
    """The folder to set where the column holds absolute paths (a table written in a Kaggle notebook:
    ``/kaggle/input/<comp>/train/1.png``): the folder holding them all, which the paths then stay inside."""
    try:
        names = [pattern.format(v, id=v) for v in values.drop_nulls().to_list()]
    except (ValueError, IndexError, KeyError):
        return ""
    if not all(os.path.isabs(n) for n in names):
        return ""
    common = os.path.commonpath([os.path.dirname(os.path.normpath(n)) for n in names])
    return (
        f". The values are absolute paths: set data.images.folder = {common!r} (the folder holding them all), or "
        "write them relative to the image folder"
    )


def _labels(spec: CompetitionSpec, frame: pl.DataFrame) -> list[str]:
    if spec.data.id is not None and spec.data.id in frame.columns:
        return [f"{spec.data.id} {v!r}" for v in frame[spec.data.id].to_list()]
    return [f"row {i}" for i in range(frame.height)]


def _attach(
    spec: CompetitionSpec,
    images: ImageFilesSpec,
    frame: pl.DataFrame,
    role: str,
    column: str,
    key: str,
    threads: int,
    notes: ReadNotes,
) -> tuple[pl.DataFrame, tuple[int, int, int]]:
    """``frame`` with its rows' images appended as pixel columns, and the images' ``(H, W, C)``; ``notes`` gets
    what reading them found, for warnings once for train's and test's files."""
    from ..models.nn.images import load_images, pixel_frame, pixel_names, read_image

    paths, labels = _row_files(spec, images, frame, role, column, key)
    size = (images.size[0], images.size[1]) if images.size is not None else None
    existing = [c for c in frame.columns if _PIXEL.fullmatch(c)]
    if existing:
        h, w, c = (*size, images.channels) if size else read_image(paths[0], channels=images.channels).shape
        if existing == pixel_names(h * w * c):
            return frame, (h, w, c)  # already attached: the runner's worker processes prepare its frames again
        raise DataError(
            f"the {role} table already has pixel columns ({existing[0]!r}, ...) besides the images of data.images; "
            "rename or drop them"
        )
    _check_present(paths, labels, role, key, images, column)
    pixels = load_images(
        paths,
        size=size,
        channels=images.channels,
        threads=threads,
        labels=labels,
        dtype=np.uint8,
        background=images.background,
        notes=notes,
    )
    h, w, c = pixels.shape[1:]
    return pl.concat([frame, pixel_frame(pixels)], how="horizontal"), (h, w, c)


def _check_present(
    paths: list[Path], labels: list[str], role: str, key: str, images: ImageFilesSpec, column: str
) -> None:
    missing = [i for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        shown = ", ".join(f"{str(paths[i])!r} ({labels[i]}){_link_note(paths[i])}" for i in missing[:_SHOWN])
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        raise DataError(
            f"{len(missing)} of {len(paths)} {role} image files are missing: {shown}{more}; check "
            f"data.images.{key}, data.images.pattern {images.pattern!r} and the column {column!r}"
            + _near_miss(paths[missing[0]], images.pattern, column)
        )


def _near_miss(path: Path, pattern: str, column: str) -> str:
    """What the folder holds instead of ``path``: the file with the pattern's extension spelled in another case
    (``.JPG``: file names are case-sensitive on Linux and Kaggle), or its name so (the column's ``IMG7`` beside the
    file ``img7.png``, or its ``a.png`` beside ``a.PNG``: a fix of the column's values, which the advice to set the
    pattern it has had not been), or the column's values being the file names with their extension already
    (``a.png.png`` missing, ``a.png`` there)."""
    if "\\" in path.name and Path(path.parent, *path.name.split("\\")).is_file():  # a table written on Windows
        return (
            f". The folder has {path.name.replace(chr(92), '/')!r}: the column {column!r} writes its paths with "
            f"backslashes (Windows'); write them with '/' in the train and test tables (in polars: "
            f"pl.col({column!r}).str.replace_all('\\\\', '/', literal=True))"
        )
    try:
        names = set(os.listdir(path.parent))
    except OSError:
        return ""
    suffix = Path(pattern).suffix if pattern.endswith(Path(pattern).suffix) else ""
    spelled = {n.casefold(): n for n in names}.get(path.name.casefold())
    if spelled is not None and suffix and spelled[: -len(suffix)] == path.name[: -len(suffix)]:
        fixed = pattern[: -len(suffix)] + Path(spelled).suffix
        return f". The folder has {spelled!r} (spelled otherwise): set data.images.pattern = {fixed!r}"
    if spelled is not None:
        # the pattern's extension spelled otherwise too (the column's img7, the file IMG7.PNG): both to fix
        ext = Path(spelled).suffix if suffix and Path(spelled).suffix != suffix else ""
        name, want, text = (
            (path.name[: -len(ext)], spelled[: -len(ext)], pattern[: -len(ext)])
            if ext
            else (path.name, spelled, pattern)
        )
        literal = "".join(part for part, _, _, _ in string.Formatter().parse(text))
        cased = [
            polars_name
            for change, polars_name in ((str.lower, "to_lowercase"), (str.upper, "to_uppercase"))
            if change(name) == want and change(literal) == literal  # the pattern's own text spelled so
        ]
        how = f" (in polars: pl.col({column!r}).str.{cased[0]}())" if cased else ""
        also = f" and set data.images.pattern = {text + ext!r}" if ext else ""
        return (
            f". The folder has {spelled!r} for {path.name!r}, its name in another case: file names are "
            f"case-sensitive on Linux and Kaggle; write the column {column!r} as the files are named in the train "
            f"and test tables{how}{also}, or rename the files"
        )
    if not suffix:
        return _extension_left_out(path.name, names, pattern)
    named = path.name[: -len(suffix)]
    if named in names:  # the values end in the extension already
        fixed = pattern[: -len(suffix)]
        return f". The folder has {named!r}: the values name the files, so set data.images.pattern = {fixed!r}"
    if named.isdigit() and pattern in ("{id}" + suffix, "{}" + suffix):  # ids 7 .. beside files 0007.png ..
        for width in range(len(named) + 1, 13):
            padded = named.zfill(width) + suffix
            if padded in names:
                fixed = f"{{id:0{width}d}}{suffix}"
                return (
                    f". The folder has {padded!r}: the files' names are the ids padded with zeros to {width} digits, "
                    f"so set data.images.pattern = {fixed!r}"
                )
    return ""


def _extension_left_out(name: str, names: set[str], pattern: str) -> str:
    """The pattern to set where it has no extension and the column's values have none either (``a`` missing,
    ``a.png`` there: the pattern ``'{id}'`` init writes for values that are file names, set for values that are not);
    else ``""``."""
    found = sorted(n for n in names if n.startswith(name + ".") and Path(n).suffix.lower() in IMAGE_SUFFIXES)
    if not found or not pattern.endswith("}"):
        return ""
    fixed = pattern + Path(found[0]).suffix
    return (
        f". The folder has {found[0]!r}: the values name the files without their extension, so set "
        f"data.images.pattern = {fixed!r}"
    )


def _link_note(path: Path) -> str:
    """`` (a link to ..., which does not exist)`` for a missing file that is a broken symbolic link, else ``""``."""
    if not path.is_symlink():
        return ""
    return f" (a link to {os.readlink(path)!r}, which does not exist)"


def check_image_models(spec: CompetitionSpec, shape: list[int], train: pl.DataFrame, *, streamed: bool = False) -> None:
    """Each ``cnn`` (and ``hybrid``) of the spec reads the attached images: ``params.image_shape`` is their shape, in
    ``hwc`` order, and a ``cnn``'s ``params.columns`` picks the pixels when the table has other feature columns.

    ``streamed``: a ``cnn`` reads the streamed images whatever its ``params.columns``; a ``hybrid`` (pixel columns)
    is refused, and so is any other model when the table has no column besides the images (streamed sequences'
    position column ``__sequence`` is not one: only ``rnn`` / ``cnn1d`` read it, from the sequence store)."""
    d = spec.data
    reserved = {c for c in (d.id, *d.targets, spec.folds.group, spec.folds.time, IMAGE_REF, SEQUENCE_ROW) if c}
    reserved |= set(d.drop)
    others = [c for c in train.columns if c not in reserved and not _PIXEL.fullmatch(c)]
    own_input = ("cnn", *SEQUENCE_KINDS) if SEQUENCE_ROW in train.columns else ("cnn",)
    fix = "or set data.images.mode = 'memory' (pixel columns every model reads)"
    for model in spec.models:
        where = f"model {model.name!r}"
        if streamed and model.kind == "hybrid":
            raise ConfigError(
                f"{where}: kind 'hybrid' reads pixel columns, but data.images streams the images (mode "
                f"{spec.data.images.mode!r} with {train.height} rows of {shape}); use kind 'cnn' for the images {fix}"
            )
        if streamed and model.embeddings is not None:
            raise ConfigError(
                f"{where}: embeddings = {model.embeddings!r} are taken from a net's pixel-column input, but "
                f"data.images streams the images (mode {spec.data.images.mode!r} with {train.height} rows of "
                f"{shape}); remove embeddings {fix}"
            )
        if streamed and model.kind not in own_input and not others:
            raise ConfigError(
                f"{where}: streamed images are read by kind 'cnn' only, and the table has no other feature column "
                f"for kind {model.kind!r}; remove the model {fix}"
            )
        if model.kind not in ("cnn", "hybrid"):  # the hybrid's image branch: the same shape and order checks
            continue
        given = model.params.get("image_shape")
        if given is None:
            raise ConfigError(
                f"{where}: set params.image_shape = {shape}, the [height, width, channels] of data.images"
            )
        if list(given) != shape:
            raise ConfigError(
                f"{where}: params.image_shape = {list(given)} but the images of data.images are {shape} "
                f"([height, width, channels]); set image_shape = {shape} or change data.images.size / channels"
            )
        if model.params.get("pixel_order", "hwc") != "hwc":
            raise ConfigError(
                f"{where}: the pixel columns of data.images are in 'hwc' order; remove params.pixel_order"
            )
        if others and model.kind == "cnn" and model.params.get("columns") is None and not streamed:
            raise ConfigError(
                f"{where}: the data has feature columns besides the pixels ({', '.join(map(repr, others[:5]))}"
                f"{' ...' if len(others) > 5 else ''}); set params.columns = 'pixel\\\\d+' so the cnn reads only the "
                "pixels (other models keep every column), or list the other columns in data.drop"
            )
