"""A new test file read and checked as ``kaggle-kit run`` reads and checks one: same reader options, same checks,
same messages, against the training columns the run recorded in ``run.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..data import ReadOptions, check_new_test, read_table
from ..errors import DataError, StoreError
from .run_folder import RunFolder


def read_test(folder: RunFolder, test: pl.DataFrame | Any | str | Path) -> pl.DataFrame:
    """``test`` (a path, or a polars / pandas frame) checked against the run's training columns."""
    d = folder.spec.data
    if d.sequences is not None or d.images is not None:
        what = "[data.sequences] long tables" if d.sequences is not None else "[data.images] image files"
        raise DataError(
            f"predicting from {what} is not supported yet: `kaggle-kit predict` reads one table with a row per id. "
            "Join the test rows as `kaggle-kit run` does (one row per id, the same columns as in training) and "
            "pass that table"
        )
    if isinstance(test, (str, Path)):
        frame = read_table(Path(test), role="test", options=ReadOptions.from_spec(folder.spec))
    elif isinstance(test, pl.DataFrame):
        frame = test
    elif type(test).__module__.startswith("pandas"):
        frame = pl.from_pandas(test)
    else:
        raise DataError(f"the test data must be a file path or a polars / pandas frame; got {type(test).__name__}")
    if frame.height == 0:
        raise DataError("the test data has no rows")
    record = folder.meta.get("columns")
    if record is None:
        raise StoreError(
            f"{folder.store.meta_path} does not record the training columns (a run made by an older kaggle_kit); "
            "rerun `kaggle-kit run CONFIG` once to record them (nothing is refit)"
        )
    return check_new_test(
        frame,
        record,
        id_column=folder.meta["id_column"],
        target=folder.meta["target_column"],
        categorical=folder.meta.get("categorical") or [],
    )


def row_ids(folder: RunFolder, test: pl.DataFrame) -> pl.Series:
    """The test rows' ids, named as in the stored predictions (``row`` numbers when the data has no id)."""
    id_column = folder.meta["id_column"]
    if id_column is None:
        return pl.Series("row", np.arange(test.height))
    return test[id_column]
