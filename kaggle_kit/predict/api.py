"""``predict``: a finished run folder + new test rows -> the run's predictions for them (and a submission CSV).

Example::

    import kaggle_kit
    preds = kaggle_kit.predict("/kaggle/input/my-run", "/kaggle/input/comp/test.csv", blend="nelder_mead",
                               out="submission.csv")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import ConfigError
from ..readers.frames import is_pandas, like_input
from ..readers.paths import require_given_file
from ..runtime.threads import cpu_count
from ..submit import refuse_overwriting_inputs
from .best import best_choice
from .blends import apply_blend, blend_spec
from .models import model_predictions
from .new_rows import read_test_rows, row_ids
from .run_folder import RunFolder
from .submission import write_submission_csv


def predict(
    run_dir: Path | str,
    test: pl.DataFrame | Any | str | Path | None = None,
    *,
    images: Path | str | None = None,
    sequences: pl.DataFrame | Any | str | Path | None = None,
    model: str | None = None,
    blend: str | None = None,
    best: bool = False,
    refit: bool = False,
    out: Path | str | None = None,
    sample: Path | str | None = None,
    threads: int | None = None,
    device: str = "cpu",
) -> pl.DataFrame | Any:
    """Predict ``test`` (a file or a frame) with model ``model``, stored blend ``blend``, or (``best=True``) the one
    the blend report's verdict names; ``refit=True`` uses the models refit on all rows instead of the fold models.

    Returns the predictions as the run stores its test predictions (id + ``p_<label>`` per class, or
    ``prediction``): a pandas frame where ``test`` (else ``sequences``) is one (the id its index where it was the
    given frame's named index, else the given frame's index, row for row), else a polars frame. With ``out``, also
    writes them as a submission CSV in the sample submission's format (``sample``: the sample submission of these
    rows; default: the run's, for its columns). Reads the run folder only: it may be read-only and moved.

    A run with ``[data.images]`` reads the test rows' image files from the folder ``images`` (what
    ``data.images.test_folder`` was to the run); one with ``[data.sequences]`` reads the test long table
    ``sequences`` (a file or frame: ``data.sequences.test``), its ids from ``test`` when given (``data.test``) or
    from the long table. Left out, they are the run's own, where the run was made; a moved run folder must be told.
    """
    if sum(x is not None for x in (model, blend)) + bool(best) != 1:
        raise ConfigError("name exactly one of a model (--model), a blend (--blend) or --best to predict with")
    folder = RunFolder.open(run_dir)
    require_given_file(test, "test", "--test FILE (test= in Python)")
    if folder.spec.data.sequences is not None:  # else "--sequences is for a run with [data.sequences]"
        require_given_file(sequences, "test long table", "--sequences FILE (sequences= in Python)")
    require_given_file(sample, "sample submission", "--sample FILE (sample= in Python)")
    recorded = folder.meta.get("sample_submission")  # `submit` reads it again: not to be replaced either
    refuse_overwriting_inputs(
        out, {"test file": test, "sample submission": sample, "run's sample submission": recorded}
    )
    if best:
        choice = best_choice(folder.root)
        model, blend = (choice.name, None) if choice.kind == "model" else (None, choice.name)
    # streamed data: the sequences' store (data.sequences.layout = "streamed") and the image files ([data.images]
    # stream mode) the nets read for these rows
    frame, store, stream = read_test_rows(folder, test, images=images, sequences=sequences)
    streamed = {"images": stream, "sequences": store}
    n_threads = threads or max(1, min(4, cpu_count()))
    if blend is not None:
        result = blend_spec(folder, blend)
        preds = {
            m: model_predictions(folder, m, frame, refit=refit, threads=n_threads, device=device, **streamed)
            for m in result.models
        }
        values = apply_blend(folder, result, preds)
        threshold = result.threshold
    else:
        assert model is not None
        values = model_predictions(folder, model, frame, refit=refit, threads=n_threads, device=device, **streamed)
        threshold = _model_threshold(folder, model) if out is not None else None
    out_frame = prediction_frame(row_ids(folder, frame), values, folder.columns)
    if out is not None:
        # a binary label metric labels at the threshold chosen on OOF rows, as `kaggle-kit submit` does
        write_submission_csv(folder, out_frame, out, sample=sample, threshold=threshold)
    return like_input(out_frame, test if test is not None or not is_pandas(sequences) else sequences)


def _model_threshold(folder: RunFolder, model: str) -> float | None:
    from ..blend.threshold import model_threshold
    from ..metrics import get_metric

    if folder.meta.get("classes") is None:
        return None
    metric = get_metric(folder.meta["metric"])
    return model_threshold(folder.root, model, metric) if metric.needs == "label" else None


def prediction_frame(ids: pl.Series, values: np.ndarray, columns: list[str]) -> pl.DataFrame:
    data: dict[str, Any] = {ids.name: ids}
    for j, name in enumerate(columns):
        data[name] = pl.Series(name, values[:, j], dtype=pl.Float32)
    return pl.DataFrame(data)
