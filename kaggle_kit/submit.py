"""Write a Kaggle submission CSV from a run's fold-averaged test predictions, in the sample submission's format.

The sample submission decides the shape: its id order, its column names, and whether it wants one column (a label,
a positive-class probability, or a value) or one probability column per class. Where there is no sample, the file
has the id column and the target column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from .errors import DataError, StoreError
from .metrics import get_metric
from .store import RunStore


def write_submission(run_dir: Path | str, model: str, out: Path | str | None = None) -> Path:
    """Write ``model``'s test predictions as a submission CSV; returns its path (default
    ``<run_dir>/submissions/<model>.csv``)."""
    store = RunStore(run_dir)
    meta = store.read_meta()
    preds = store.read_predictions(model, "test")
    id_col = meta["id_column"] or "id"
    frame = submission_frame(preds, meta)
    sample_path = meta.get("sample_submission")
    if sample_path:
        frame = _match_sample(frame, Path(sample_path), id_col)
    path = Path(out) if out else store.root / "submissions" / f"{model}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path


def submission_frame(preds: pl.DataFrame, meta: dict) -> pl.DataFrame:
    """Test predictions -> id + target column (label, positive-class probability or value) + per-class columns."""
    id_col = meta["id_column"] or "id"
    target = meta["target_column"]
    ids = preds[preds.columns[0]].alias(id_col)
    values = preds.drop(preds.columns[0]).to_numpy()
    classes = meta["classes"]
    if classes is None:
        return pl.DataFrame([ids, pl.Series(target, values[:, 0])])
    metric = get_metric(meta["metric"])
    if metric.needs == "label" or len(classes) > 2:
        labels = pl.Series(target, [classes[i] for i in np.argmax(values, axis=1)])
    else:
        labels = pl.Series(target, values[:, 1])  # the positive class is the second of the sorted labels
    per_class = [pl.Series(str(c), values[:, j]) for j, c in enumerate(classes)]
    return pl.DataFrame([ids, labels, *per_class])


def _match_sample(frame: pl.DataFrame, sample_path: Path, id_col: str) -> pl.DataFrame:
    if not sample_path.is_file():
        raise StoreError(f"the sample submission {str(sample_path)!r} recorded for this run no longer exists")
    sample = pl.read_csv(sample_path, infer_schema_length=10_000)
    if id_col not in sample.columns:
        raise DataError(f"the sample submission {str(sample_path)!r} has no id column {id_col!r}: {sample.columns}")
    wanted = [c for c in sample.columns if c != id_col]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(
            f"the sample submission asks for column(s) {missing} but the predictions have {frame.columns[1:]}; "
            "its columns must be the target column or the class labels"
        )
    key = "__id"
    left = sample.select(pl.col(id_col).cast(pl.String).alias(key), pl.col(id_col))
    right = frame.select(pl.col(id_col).cast(pl.String).alias(key), *wanted)
    out = left.join(right, on=key, how="left", maintain_order="left")
    n_missing = out[wanted[0]].null_count()
    if n_missing:
        raise DataError(
            f"{n_missing} id(s) of the sample submission have no test prediction (e.g. "
            f"{out.filter(pl.col(wanted[0]).is_null())[id_col][0]!r}); is the test file the competition's?"
        )
    return out.select(id_col, *wanted)
