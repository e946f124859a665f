"""New predictions written as a submission CSV in the sample submission's format, with ``submit``'s writer.

The sample decides the columns. A sample given here (the one beside a code competition's hidden test file) also
decides the rows and their order, as for ``kaggle-kit submit``; the sample recorded by the run lists the *run's*
test ids, so for other rows only its columns are used. A run folder moved without that file (uploaded as a code
competition's dataset) writes the columns the run recorded from it (``sample_columns`` in run.json).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl

from ..errors import DataWarning
from ..sample_submission import match_sample_frame, read_sample, without_empty_columns, without_saved_index
from ..submit import _write, submission_frame
from .run_folder import RunFolder


def write_submission_csv(
    folder: RunFolder,
    preds: pl.DataFrame,
    out: Path | str,
    *,
    sample: Path | str | None = None,
    threshold: float | None = None,
) -> Path:
    """Write ``preds`` (id + one column per class, or ``prediction``) to ``out``; returns its path. ``threshold``:
    a binary label metric's decision threshold (the model's or blend's, chosen on OOF rows)."""
    meta = folder.meta
    frame = submission_frame(preds, meta, threshold)
    path = Path(sample) if sample is not None else None
    recorded = Path(meta["sample_submission"]) if meta.get("sample_submission") else None
    if path is not None:
        frame = match_sample_frame(frame, read_sample(path, meta.get("encoding")), path, meta)
    elif recorded is not None and recorded.is_file():
        frame = _like_sample(frame, read_sample(recorded, meta.get("encoding")), recorded, meta)
    elif recorded is not None and meta.get("sample_columns"):  # a moved run folder: the columns the run recorded
        frame = _like_sample(frame, _recorded_sample(meta, recorded), recorded, meta)
    elif recorded is not None:  # a run made before it recorded them, moved without the file
        warnings.warn(
            f"the sample submission recorded for this run ({str(recorded)!r}) is not here, so the file has the kit's "
            f"own columns ({', '.join(frame.columns)}), not the sample's; pass the competition's sample submission "
            "with --sample FILE (sample= in Python) to write its columns",
            DataWarning,
            stacklevel=2,
        )
    out = Path(out)
    _write(frame, out, "submission.csv")
    return out


def _like_sample(frame: pl.DataFrame, sample: pl.DataFrame, path: Path, meta: dict) -> pl.DataFrame:
    """The sample's rows when it lists exactly these ids, else only its columns (our rows, in test order)."""
    id_col = meta["id_column"]
    sample = without_saved_index(sample, id_col, path)  # its row numbers are no column of the header below
    sample_id = id_col if id_col is not None and id_col in sample.columns else sample.columns[0]
    ours = frame[frame.columns[0]].cast(pl.String)
    same_rows = sample.height == frame.height and (
        id_col is None or set(sample[sample_id].to_list()) == set(ours.to_list())
    )
    if same_rows:
        return match_sample_frame(frame, sample, path, meta)
    # our ids, and the sample's first value in each other column: the spelling of its labels ('1' where train spells
    # '1.0', as `submit` writes them; the labels were written '1.0' here)
    first = {c: sample[c][0] if sample.height else None for c in sample.columns}
    header = pl.DataFrame(
        {c: ours if c == sample_id else pl.Series([first[c]] * frame.height, dtype=pl.String) for c in sample.columns}
    )  # a dict: polars names a Series named '' 'column_0'
    return match_sample_frame(frame, header, path, meta)


def _recorded_sample(meta: dict, path: Path) -> pl.DataFrame:
    """The sample as run.json records it (a run folder moved without the file): its columns, and its first row where
    the run recorded one (runs made before it did: no row)."""
    columns, row = meta["sample_columns"], meta.get("sample_first_row")
    schema = dict.fromkeys(columns, pl.String)
    if not row or len(row) != len(columns):
        sample = pl.DataFrame(schema=schema)
    else:
        sample = pl.DataFrame({c: [v.strip() or None] for c, v in zip(columns, row, strict=True)}, schema=schema)
    return without_empty_columns(sample, path)  # as read_sample leaves them out of the file
