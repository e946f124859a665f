"""What imported predictions' values are checked for (:func:`kaggle_kit.blend.external.import_predictions`): finite,
probabilities within [0, 1] summing to 1 per row, a distribution's CDFs; and the warnings for files that look made
otherwise than the run's (labels imported as probabilities, classes swapped, test values on another scale than the
OOF's). The reading, the ids' alignment and the fold check are the importer's own."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import DataError, DataWarning
from ..metrics import Metric, get_metric, roc_auc

#: how far a row's class probabilities may sum from 1 (CSV files round them)
_SUM_TOLERANCE = 1e-3
#: how far outside the metric's domain a value may lie by rounding alone (clipped without a warning)
_ROUNDING = 1e-6
#: a binary file's OOF ROC AUC below this is taken for its classes swapped (no model ranks that far below chance)
_INVERTED_AUC = 0.3
#: test rows needed before their predictions are compared with the OOF ones (too few say little)
_SCALE_MIN_ROWS = 20
#: the share of test predictions on one side of the OOF median taken to say "another scale" (about half expected)
_SCALE_ONE_SIDE = 0.95


def check_values(values: np.ndarray, path: Path, kind: str | None, ids: pl.Series) -> None:
    """Finite values; ``kind`` ``"classes"``: each row one probability per class, summing to 1; ``"labels"`` (a
    multilabel run): each value a label's probability, within [0, 1]; None: values (regression, several targets).
    ``ids``: the rows' ids, which the messages name (the file's row order is not the run's)."""
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} row(s) of {str(path)!r} have missing or infinite predictions (e.g. id "
            f"{ids[int(np.flatnonzero(bad)[0])]!r}); every row the run validates needs a prediction"
        )
    if kind is not None and values.size and (values.min() < -1e-6 or values.max() > 1 + 1e-6):
        if kind == "classes":
            hint = (
                "logits or log-probabilities? apply a sigmoid (softmax for several classes)"
                if values.min() < 0
                else "percentages? divide by 100"
                if 10 < values.max() <= 100
                else "export the model's probabilities (predict_proba)"
            )
            needs = f"a classification task needs class probabilities within [0, 1] ({hint})"
        else:
            needs = "a multilabel task needs each label's probability within [0, 1] (logits: apply a sigmoid)"
        raise DataError(f"the predictions in {str(path)!r} lie in [{values.min():.4g}, {values.max():.4g}]; {needs}")
    if kind == "classes" and values.size:
        off = np.abs(values.sum(axis=1) - 1) > _SUM_TOLERANCE
        if off.any():
            row = int(np.flatnonzero(off)[0])
            raise DataError(
                f"{int(off.sum())} row(s) of {str(path)!r} have class probabilities that do not sum to 1 (e.g. id "
                f"{ids[row]!r}: {float(values[row].sum()):.6g}); give one probability per class of the run, summing "
                "to 1 (e.g. apply a softmax, or divide each row by its sum)"
            )


def warn_if_labels(values: np.ndarray, path: Path, classes: list | None) -> None:
    """Hard 0 / 1 values in every column of a classification file are labels (one-hot), not probabilities: valid,
    but they rank and blend as coarsely as labels do; said, since a notebook's ``predict`` was likely meant as
    ``predict_proba``."""
    if classes is None or not values.size or not np.isin(values, (0.0, 1.0)).all():
        return
    warnings.warn(
        f"the predictions in {str(path)!r} are all 0 or 1: class labels, not probabilities; they are imported as "
        "probabilities of 0 and 1, which rank and blend coarsely (ROC AUC, log loss and blends need probabilities): "
        "export predict_proba's output if the model has it",
        DataWarning,
        stacklevel=3,
    )


def warn_if_inverted(values: np.ndarray, y: np.ndarray, path: Path, columns: list[str]) -> None:
    """A binary file whose positive-class probabilities rank the run's target far below chance holds the classes
    swapped (a column named by one class holding the other's probability): it passes every other check, and every
    blend of it is wrong; said, naming the score the other reading would have."""
    auc = roc_auc(y, values[:, 1]) if len(values) else math.nan
    if not auc < _INVERTED_AUC:  # nan (one class only) says nothing
        return
    warnings.warn(
        f"the predictions in {str(path)!r} rank the run's target far below chance (OOF ROC AUC {auc:.3f} as the "
        f"probability of {columns[1]!r}; {1 - auc:.3f} as that of {columns[0]!r}): are the classes swapped? A column "
        f"named by one class must hold that class's probability (a single column: {columns[1]!r} for the positive "
        f"class, {columns[0]!r} for the negative)",
        DataWarning,
        stacklevel=3,
    )


def warn_if_another_scale(oof: np.ndarray, test: np.ndarray, path: Path, columns: list[str]) -> None:
    """Test values nearly all on one side of the OOF values' median were likely made on another scale (log space, a
    forgotten ``expm1``): a blend applies weights fitted on the OOF rows to them and submits a mix of
    scales without a word. About half of them fall on each side when both come from one model."""
    if len(test) < _SCALE_MIN_ROWS or not oof.size:
        return
    for j, column in enumerate(columns):
        median = float(np.nanmedian(oof[:, j]))
        below, above = float(np.mean(test[:, j] < median)), float(np.mean(test[:, j] > median))
        if max(below, above) > _SCALE_ONE_SIDE:
            warnings.warn(
                f"the test predictions in {str(path)!r} are not on the scale of the OOF predictions: "
                f"{max(below, above):.0%} of the test values of {column!r} lie {'below' if below > above else 'above'} "
                f"the OOF median {median:.4g} (about half would); were they made in another space (log space, logits, "
                "before an inverse transform)? Blends apply the weights fitted on the OOF rows to them: give both "
                "files on the same scale",
                DataWarning,
                stacklevel=3,
            )
            return


def check_distribution(values: np.ndarray, path: Path, meta: dict) -> None:
    """A distribution task's rows must be distributions: CDFs non-decreasing across the bins and within [0, 1],
    quantiles non-decreasing across the levels (so that every blend of them is one too)."""
    if meta.get("grid") is None or not values.size:
        return
    cdf = get_metric(meta["metric"]).needs == "cdf"
    if cdf and (values.min() < -1e-6 or values.max() > 1 + 1e-6):
        raise DataError(
            f"the CDF values in {str(path)!r} lie in [{values.min():.4g}, {values.max():.4g}]; P(y <= bin) must be "
            "within [0, 1]"
        )
    falling = (np.diff(values, axis=1) < -1e-6).any(axis=1)
    if falling.any():
        row = int(np.flatnonzero(falling)[0])
        what = "CDF values decrease from one bin" if cdf else "quantiles decrease from one level"
        raise DataError(
            f"{int(falling.sum())} row(s) of {str(path)!r} are not distributions: their {what} to the next (e.g. "
            f"row {row}); give non-decreasing values in the run's column order ({values.shape[1]} columns)"
        )


def outside(values: np.ndarray, metric: Metric) -> int:
    """How many ``values`` lie outside ``metric``'s domain by more than rounding: the clipping warning's count. Those
    within it (a CDF's cumulative sum ending at 1.0000000000000002) are clipped without a word."""
    if metric.domain is None:
        return 0
    lo, hi = metric.domain
    with np.errstate(invalid="ignore"):
        return int(np.count_nonzero((values < lo - _ROUNDING) | (values > hi + _ROUNDING)))
