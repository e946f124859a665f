"""A new test file read and checked as ``kaggle-kit run`` reads and checks one: same reader options, same checks,
same messages, against the training columns the run recorded in ``run.json``.

A run with ``[data.images]`` or ``[data.sequences]`` reads the new rows' image files / long table with the run's
own readers (:func:`~kaggle_kit.readers.images.attach_test_image_files`,
:func:`~kaggle_kit.readers.sequences.read_test_sequences`)
to the shape the run recorded (``image_shape``, ``sequence_layout``). Where they are is said here (``images``: the
test images' folder, standing for ``data.images.test_folder``; ``sequences``: the test long table, for
``data.sequences.test``; ``test``: the test table, for ``data.test``), or defaults to the run's spec, whose relative
paths hold only where the run was made (a moved run folder must be told).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from ..config import CompetitionSpec
from ..errors import ConfigError, DataError, DataWarning, StoreError
from ..features.sequence_store import SEQUENCE_ROW, SequenceStore
from ..models.nn.images import DECODING, DECODING_CHANGES
from ..readers.codes import split_like, splits_from_record
from ..readers.competition import (
    check_new_test,
    check_text_in_new_test,
    match_text_names,
    read_long_table,
    warn_text_empty_in_test,
)
from ..readers.date_formats import apply_formats, formats_where_dated
from ..readers.dates import dates_outside_train, ranges_frame
from ..readers.frames import as_polars
from ..readers.image_stream import ImageStream
from ..readers.images import attach_test_image_files, float_scales
from ..readers.levels import unseen_levels_message
from ..readers.options import ReadOptions
from ..readers.scales import numbered_scale_mismatch, scale_mismatch
from ..readers.sequences import read_test_sequences
from ..readers.tables import read_table
from .run_folder import RunFolder

Source = pl.DataFrame | Any | str | Path  #: a file path, or a polars / pandas frame


class NewRows(NamedTuple):
    """What :func:`read_test_rows` read: the checked rows, and what the run's nets stream for them."""

    frame: pl.DataFrame
    #: the store of the rows' sequences (``data.sequences.layout = "streamed"``; the frame's ``__sequence`` column
    #: holds positions in it), else None
    sequences: SequenceStore | None
    #: the rows' image files when the run streamed its images (the frame's ``__image__`` column holds positions in
    #: it; the folder ``images``, or the run's own test folder), else None
    images: ImageStream | None


def read_test_rows(
    folder: RunFolder, test: Source | None, *, images: str | Path | None = None, sequences: Source | None = None
) -> NewRows:
    """``test`` (a path, or a polars / pandas frame), joined with its images / sequences as the run joined its test
    rows, checked against the run's training columns; with the sequences' store and the image files the run's nets
    stream for these rows (each new image file checked once, here: the stream is the one the attach step built)."""
    spec = folder.spec
    d = spec.data
    # the run's keys (a bad value is the file's to fix), and train's text columns read as text, as `run` reads test
    text = tuple(c for c, (dtype, _) in (folder.meta.get("columns") or {}).items() if dtype == "String")
    options = replace(ReadOptions.from_spec(spec), from_run=True, text=text)
    frame = _table(test, "test", lambda p: read_table(p, role="test", options=options))
    store = None
    if d.sequences is not None:
        long = _long_table(folder, sequences)
        frame, store = read_test_sequences(spec, long, _layout(folder), test_ids=frame)
    elif sequences is not None:
        raise ConfigError("--sequences (sequences=) is for a run with [data.sequences]; this run reads one table")
    if frame is None:
        raise ConfigError("name the test rows to predict: --test FILE (the `test` argument in Python)")
    if d.split_codes:  # code columns split into their parts, each read as the run read it
        splits = splits_from_record(d.split_codes, folder.meta.get("split_codes") or {})
        frame = split_like(frame, splits, "test", lambda m: warnings.warn(m, DataWarning, stacklevel=3))
    frame = apply_formats(frame, d.date_formats, "test")  # dates written as text, read as the run read them
    frame = _text_dates_where_train_has_dates(frame, folder.meta.get("columns") or {})
    stream = None
    if d.images is not None:
        streamed = folder.meta.get("image_mode") == "stream"
        spec_images = _with_test_images(folder, images)
        _warn_float_scales_otherwise(folder, spec_images, frame)  # before the pixel columns: the rows' files
        frame, stream = attach_test_image_files(spec_images, frame, _image_shape(folder), streamed=streamed)
        _warn_images_decoded_otherwise(folder)
    elif images is not None:
        raise ConfigError("--images (images=) is for a run with [data.images]; this run reads no image files")
    if frame.height == 0:
        raise DataError("the test data has no rows")
    record = folder.meta.get("columns")
    if record is None:
        raise StoreError(
            f"{folder.store.meta_path} does not record the training columns (a run made by an older kaggle_kit); "
            "rerun `kaggle-kit run CONFIG` once to record them (nothing is refit)"
        )
    frame = match_text_names(frame, d.text or [], record)  # ' Review' for 'review', as a feature's name is matched
    check_text_in_new_test(frame, d.text or [])
    checked = check_new_test(
        frame,
        record,
        id_column=folder.meta["id_column"],
        target=folder.meta.get("targets") or folder.meta["target_column"],
        categorical=d.categorical or [],  # those the spec lists, as `run` checks its test file
        sequences=d.sequences is not None,
    )
    # the run's text columns held text in train (its TF-IDF read it); a finished run cannot leave them out
    warn_text_empty_in_test(frame, d.text or [], fix="give the test rows their texts")
    _warn_dates_after_training(folder, frame)
    ranges = folder.meta.get("numeric_ranges") or {}  # none in a run made before they were recorded
    fix = (
        "`kaggle-kit predict` reads a new file as the run read its files: write its values on the training file's scale"
    )
    # a few rows (a handful of images as pixel columns) tell no column's spread: the numbered columns' pooled range
    scales = scale_mismatch(ranges, checked, fix) or numbered_scale_mismatch(ranges, checked, fix)
    if scales:
        warnings.warn(scales, DataWarning, stacklevel=2)
    _warn_levels_not_in_training(folder, checked)
    if store is not None and SEQUENCE_ROW not in checked.columns:  # not a feature: keep it beside them
        checked = checked.with_columns(frame[SEQUENCE_ROW])
    return NewRows(checked, store, stream)


def _text_dates_where_train_has_dates(frame: pl.DataFrame, record: dict[str, list[str]]) -> pl.DataFrame:
    """A new file's text dates in a column the run read as dates without a format (train's 2020-01-31 beside the
    file's '01/31/2020'; a run made before data.date_formats, whose polars read '22.03.2022' itself): read with the
    one usual format that reads them all, as ``run`` reads its own test file's. Any other is left to the check's
    error."""
    dated = [c for c, (_, kind) in record.items() if kind == "temporal"]
    found = formats_where_dated(frame, dated, lambda message: warnings.warn(message, DataWarning, stacklevel=4))
    return apply_formats(frame, found, "test")


def _warn_dates_after_training(folder: RunFolder, frame: pl.DataFrame) -> None:
    """The run's warning of test dates outside the training dates (:mod:`kaggle_kit.readers.dates`), for a new test
    file, against the first and last training dates the run recorded (none in a run made before they were)."""
    ranges = folder.meta.get("date_ranges") or {}
    shared = {c: r for c, r in ranges.items() if c in frame.columns}
    if not shared:
        return
    drift = dates_outside_train(ranges_frame(shared), frame, list(shared), folder.spec.fold_strategy)
    if drift:
        warnings.warn(drift, DataWarning, stacklevel=3)


def _warn_levels_not_in_training(folder: RunFolder, frame: pl.DataFrame) -> None:
    """The run's warning of test categories no training row has (:mod:`kaggle_kit.readers.levels`), for a new test
    file, against the levels the run recorded (none in a run made before it recorded them)."""
    known = folder.store.read_levels()
    message = unseen_levels_message(known, frame) if known else None
    if message:
        warnings.warn(message, DataWarning, stacklevel=3)


def _table(source: Source | None, what: str, read: Any) -> pl.DataFrame | None:
    """A path read with ``read``, or a polars / pandas frame as a polars one."""
    if source is None or isinstance(source, pl.DataFrame):
        return source
    if isinstance(source, (str, Path)):
        return read(Path(source))
    if type(source).__module__.startswith("pandas"):
        return as_polars(source, what)  # as `run` reads one: a named index kept, a mixed column named
    raise DataError(f"the {what} data must be a file path or a polars / pandas frame; got {type(source).__name__}")


def _long_table(folder: RunFolder, sequences: Source | None) -> pl.DataFrame:
    """The test long table given, else the run's ``data.sequences.test`` where it still is."""
    spec = folder.spec
    if sequences is None:
        s = spec.data.sequences
        default = spec.resolve(s.test) if s is not None and s.test is not None else None
        if default is None or not default.is_file():
            shown = (
                f"the run's data.sequences.test = {str(s.test)!r} is not at {str(default)!r}"
                if s is not None and s.test is not None and default is not None
                else "the run's spec names none"
            )
            raise DataError(
                "this run reads its rows from [data.sequences] long tables: pass the test long table with "
                f"--sequences FILE (sequences= in Python); {shown}"
            )
        sequences = default
    table = _table(sequences, "test long table", lambda p: read_long_table(spec, p, "test"))
    assert table is not None
    return table


def _with_test_images(folder: RunFolder, images: str | Path | None) -> CompetitionSpec:
    """The run's spec reading the test images from ``images`` (or from its own test folder, where it still is)."""
    spec = folder.spec
    d = spec.data
    assert d.images is not None
    if images is None:
        key = "test_folder" if d.images.test_folder is not None else "folder"
        own = getattr(d.images, key)
        if own is None or not spec.resolve(own).is_dir():
            shown = (
                f"the run's data.images.{key} = {str(own)!r} is not at {str(spec.resolve(own))!r}"
                if own is not None
                else "the run's spec names none"
            )
            raise DataError(
                f"this run reads [data.images] image files: pass the folder of the test images with --images DIR "
                f"(images= in Python); {shown}"
            )
        return spec
    folder_path = Path(images).resolve()
    new_images = d.images.model_copy(update={"test_folder": folder_path})
    return spec.model_copy(update={"data": d.model_copy(update={"images": new_images})})


def _warn_float_scales_otherwise(folder: RunFolder, spec: CompetitionSpec, frame: pl.DataFrame) -> None:
    """A warning when new float image files are read on a scale the run's training files were not (run.json's
    ``image_float_scales``; a run made before it recorded them: nothing said). A float image's scale is told from
    its values, so a ``-1..1`` image without dark pixels reads as ``0..1``, brighter than the models learnt it: the
    run says so of train's and test's files together (``image-float-scales-mixed``), `predict` had no word."""
    trained = folder.meta.get("image_float_scales")
    if not trained:  # an older run, or training images none of which is a float image
        return
    new = {scale: where for scale, where in float_scales(spec, frame, "test").items() if scale not in trained}
    if not new:
        return
    seen = ", ".join(f"{scale} (e.g. {where})" for scale, where in sorted(new.items()))
    warnings.warn(
        f"new float image files are read on another scale than the run's training images ({', '.join(trained)}): "
        f"{seen}. A float image's scale is told from its values (0..1 within -0.5..1.5, -1..1 with values below "
        "-0.5, else 0..255) and scaled onto 0..255 by it: right where the new images are on that scale, but an image "
        "whose values fill only part of its scale (a -1..1 image without dark pixels, a 0..255 one nearly black) is "
        "read brighter or darker than the models learnt such pictures, and they predict from it without an error; "
        "save the new images on the training images' scale, or as 8-bit PNG (numpy: "
        "np.clip((a - lo) * 255 / (hi - lo), 0, 255).astype(np.uint8), lo..hi their scale)",
        DataWarning,
        stacklevel=3,
    )


def _warn_images_decoded_otherwise(folder: RunFolder) -> None:
    """A warning when the run's image files were decoded by another version of the reading (a run made before
    ``image_decoding`` was recorded: version 1) than the new rows' are: its models learnt from photos read on
    their side (EXIF orientation), 16-bit / float images read clipped, or transparent images on the colours
    stored under their transparent pixels, which these new files are not."""
    made = folder.meta.get("image_decoding") or 1
    if made != DECODING:
        warnings.warn(
            f"this run's images were decoded by an older kaggle_kit (image decoding {made}, now {DECODING}: "
            f"{'; '.join(v for k, v in sorted(DECODING_CHANGES.items()) if k > made)}), so new images of those kinds "
            "are read otherwise than its models learnt them; rerun `kaggle-kit run CONFIG` (the images are read "
            "again) to predict them as the models were trained",
            DataWarning,
            stacklevel=3,
        )


def _image_shape(folder: RunFolder) -> tuple[int, int, int]:
    shape = folder.meta.get("image_shape")
    if shape is None:
        raise StoreError(
            f"{folder.store.meta_path} does not record the shape of the training images (a run made by an older "
            "kaggle_kit); rerun `kaggle-kit run CONFIG` once to record it (nothing is refit)"
        )
    h, w, c = shape
    return int(h), int(w), int(c)


def _layout(folder: RunFolder) -> dict[str, Any]:
    layout = folder.meta.get("sequence_layout")
    if layout is None:
        raise StoreError(
            f"{folder.store.meta_path} does not record the sequences' columns and steps (a run made by an older "
            "kaggle_kit); rerun `kaggle-kit run CONFIG` once to record them (nothing is refit)"
        )
    return layout


def row_ids(folder: RunFolder, test: pl.DataFrame) -> pl.Series:
    """The test rows' ids, named as in the stored predictions (``row`` numbers when the data has no id)."""
    id_column = folder.meta["id_column"]
    if id_column is None:
        return pl.Series("row", np.arange(test.height))
    return test[id_column]
