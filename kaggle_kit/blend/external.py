"""Import OOF and test predictions made elsewhere (another notebook, a teammate) so they blend like the run's models.

The files (CSV or parquet) need the run's id column and one prediction column per class: the run's own column names
(``p_<label>``), the class labels themselves, or, for a binary task, a single column holding the positive class's
probability (the second label in sorted order); for regression, a single column; for a multilabel / multiregression
run, one column per target, named as the run's or as the targets (the submission's layout). They are checked against
the run:

* the OOF ids must be exactly the run's training ids and the test ids its test ids (any order; duplicates, missing
  and unknown ids are errors naming how many and an example);
* a fold column (``fold`` by default), where the OOF file has one, must split the rows into the same folds as the
  run (fold numbers may differ), or nested CV would score rows the imported model was trained on;
* values must be finite (OOF rows the run never validates may be empty) and probabilities within [0, 1] (a
  multilabel run's too: logits are refused).

Example::

    from kaggle_kit.blend import import_predictions
    import_predictions("runs/titanic", "teammate_catboost", oof="cat_oof.csv", test="cat_test.csv")
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import DataError, StoreError
from ..metrics import get_metric
from ..runtime.store import RunStore, parquet_bytes
from .inputs import run_folds, train_ids
from .storage import blend_names, check_name, write_external

_KEY = "__id"
#: how far a row's class probabilities may sum from 1 (CSV files round them)
_SUM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ImportedPredictions:
    """What :func:`import_predictions` stored: the name to blend it by, its key (a content hash), its rows, and
    whether its fold ids could be checked against the run's."""

    name: str
    key: str
    n_rows: int
    n_test: int
    folds_checked: bool
    folder: Path


def import_predictions(
    run_dir: Path | str,
    name: str,
    oof: Path | str,
    test: Path | str | None = None,
    *,
    id_column: str | None = None,
    fold_column: str = "fold",
) -> ImportedPredictions:
    """Check the ``oof`` (and ``test``) prediction files against the run and store them as ``name``."""
    store = RunStore(run_dir)
    meta = store.read_meta()
    check_name(name, "external predictions")
    if name in store.current_models():
        raise StoreError(f"{name!r} is the name of a model of the run {str(store.root)!r}; import under another name")
    if name in blend_names(store.root):
        raise StoreError(
            f"{name!r} is the name of a blend of the run {str(store.root)!r} (names are unique across models, blends "
            "and imports); import under another name"
        )
    run_ids = train_ids(store)
    id_col = id_column or run_ids.name
    reference = _reference_frame(store)
    columns = reference.columns[1:]
    classes = meta.get("classes")
    # a multilabel / multiregression run: one column per target, which a file may name as the submission does
    targets = [str(t) for t in meta.get("targets") or ()]
    kind = "classes" if classes is not None else "labels" if meta.get("task") == "multilabel" else None

    oof_path = Path(oof)
    oof_frame = _read(oof_path)
    oof_values = _values(oof_frame, oof_path, id_col, columns, classes, targets, fold_column)
    oof_values = _align(oof_frame, oof_values, oof_path, id_col, run_ids, "training")
    folds_checked = _check_folds(store, oof_frame, oof_path, id_col, run_ids, fold_column)
    folds = run_folds(store)
    never = (folds.ids == -1).all(axis=0)
    _check_values(oof_values[~never], oof_path, kind)
    _check_distribution(oof_values[~never], oof_path, meta)

    test_frame_out = None
    n_test = int(meta.get("n_test") or 0)
    if test is not None:
        test_path = Path(test)
        test_frame = _read(test_path)
        test_values = _values(test_frame, test_path, id_col, columns, classes, targets, fold_column)
        test_ids = _test_ids(store)
        test_values = _align(test_frame, test_values, test_path, id_col, test_ids, "test")
        _check_values(test_values, test_path, kind)
        _check_distribution(test_values, test_path, meta)
        test_frame_out = _frame(test_ids, test_values, columns)
    elif n_test:
        warnings.warn(
            f"no test predictions given for {name!r}: it can be scored and compared, but a blend of it has no test "
            "predictions to submit; pass test= (CLI: --test)",
            stacklevel=2,
        )

    oof_frame_out = _frame(run_ids, oof_values, columns)
    digest = hashlib.sha256(parquet_bytes(oof_frame_out))
    if test_frame_out is not None:
        digest.update(parquet_bytes(test_frame_out))
    key = digest.hexdigest()[:16]
    if not folds_checked:
        warnings.warn(
            f"{str(oof_path)!r} has no fold column {fold_column!r}, so its folds cannot be checked against the run's; "
            "if it was not made with the run's folds (RUN_DIR/folds.parquet), its nested-CV scores are optimistic",
            stacklevel=2,
        )
    source = {
        "name": name,
        "key": key,
        "oof": str(oof_path.resolve()),
        "test": str(Path(test).resolve()) if test is not None else None,
        "id_column": id_col,
        "folds_checked": folds_checked,
        "imported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_external(store, name, oof_frame_out, test_frame_out, source)
    return ImportedPredictions(
        name=name,
        key=key,
        n_rows=oof_frame_out.height,
        n_test=test_frame_out.height if test_frame_out is not None else 0,
        folds_checked=folds_checked,
        folder=store.root / "external" / name,
    )


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise DataError(f"the prediction file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".csv", ".gz"):
            return pl.read_csv(path, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"cannot read the prediction file {str(path)!r}: {exc}") from None
    raise DataError(f"the prediction file {str(path)!r} must be .csv or .parquet; got {suffix or 'no suffix'!r}")


def _reference_frame(store: RunStore) -> pl.DataFrame:
    """A current model's OOF frame: the run's prediction column names."""
    for name in store.current_models():
        try:
            return store.read_predictions(name, "oof").head(0)
        except StoreError:
            continue
    raise StoreError(f"the run {str(store.root)!r} has no finished model to take its prediction columns from")


def _test_ids(store: RunStore) -> pl.Series:
    for name in store.current_models():
        try:
            frame = store.read_predictions(name, "test")
        except StoreError:
            continue
        return frame[frame.columns[0]]
    raise StoreError(f"the run {str(store.root)!r} has no model with test predictions to check the test ids against")


def _values(
    frame: pl.DataFrame,
    path: Path,
    id_col: str,
    columns: list[str],
    classes: list | None,
    targets: list[str],
    fold_column: str,
) -> np.ndarray:
    """The prediction matrix in the run's column order, from whichever naming the file uses: the run's own
    (``p_<label>``, ``pred_<target>``), the class labels, or a multi-target run's target names (the submission's)."""
    if id_col not in frame.columns:
        raise DataError(
            f"the prediction file {str(path)!r} has no id column {id_col!r} (columns: {frame.columns[:12]}); "
            "add the run's ids, or name the id column (id_column= / --id-column)"
        )
    others = [c for c in frame.columns if c not in (id_col, fold_column)]
    if all(c in frame.columns for c in columns):
        chosen = columns
    elif classes is not None and all(str(c) in frame.columns for c in classes):
        chosen = [str(c) for c in classes]
    elif targets and all(t in frame.columns for t in targets):
        chosen = targets
    else:
        chosen = []
    extra = [c for c in others if c not in chosen]
    if chosen and extra:  # e.g. a class the run does not have: dropping it silently would leave rows not summing to 1
        raise DataError(
            f"the prediction file {str(path)!r} has column(s) {extra[:12]} besides the run's prediction columns "
            f"{chosen}; it must hold one column per class of the run (and the ids, and optionally {fold_column!r}): "
            "drop the other columns, or check that it was made for this competition"
        )
    one_value = len(columns) == 1 if classes is None else len(classes) == 2  # regression; a binary's positive class
    if not chosen and len(others) == 1 and one_value:
        value = _numeric(frame, others[0], path)
        if classes is None:
            return value[:, None]
        return np.column_stack([1 - value, value])  # one column: the positive (second) class's probability
    if not chosen:
        names = [str(c) for c in classes] if classes else targets
        expected = f"the columns {columns}" + (f" (or {names})" if names else "")
        raise DataError(
            f"the prediction file {str(path)!r} has columns {others[:12]}; the run needs {expected}"
            + (", or one column with the positive class's probability" if classes and len(classes) == 2 else "")
        )
    return np.column_stack([_numeric(frame, c, path) for c in chosen])


def _numeric(frame: pl.DataFrame, column: str, path: Path) -> np.ndarray:
    series = frame[column]
    if series.null_count() == series.len():  # an empty column (CSV reads it as text): all missing
        return np.full(series.len(), np.nan)
    if not series.dtype.is_numeric():
        raise DataError(f"column {column!r} of {str(path)!r} is {series.dtype}, not numeric predictions")
    return series.cast(pl.Float64).fill_null(float("nan")).to_numpy()


def _align(
    frame: pl.DataFrame, values: np.ndarray, path: Path, id_col: str, run_ids: pl.Series, role: str
) -> np.ndarray:
    """``values`` reordered to the run's ``role`` ids, which the file must hold exactly once each."""
    file_ids = frame[id_col].cast(pl.String)
    dupes = file_ids.filter(file_ids.is_duplicated())
    if dupes.len():
        raise DataError(
            f"the id column {id_col!r} of {str(path)!r} repeats {dupes.n_unique()} id(s), e.g. {dupes[0]!r}; "
            "give one row per id"
        )
    wanted = run_ids.cast(pl.String)
    missing = wanted.filter(~wanted.is_in(file_ids.implode()))
    unknown = file_ids.filter(~file_ids.is_in(wanted.implode()))
    if missing.len() or unknown.len():
        parts = []
        if missing.len():
            parts.append(f"{missing.len()} of the run's {role} id(s) are missing (e.g. {missing[0]!r})")
        if unknown.len():
            parts.append(f"{unknown.len()} id(s) are not {role} ids of the run (e.g. {unknown[0]!r})")
        raise DataError(
            f"the ids of {str(path)!r} do not match the run's {role} ids: {'; '.join(parts)}. The file needs one row "
            f"per {role} row of the run, with the id column {id_col!r}"
        )
    position = pl.DataFrame({_KEY: file_ids, "__row": np.arange(frame.height)})
    order = pl.DataFrame({_KEY: wanted}).join(position, on=_KEY, how="left", maintain_order="left")["__row"]
    return values[order.to_numpy()]


def _check_folds(
    store: RunStore, frame: pl.DataFrame, path: Path, id_col: str, run_ids: pl.Series, fold_column: str
) -> bool:
    """True when the file's fold column splits the rows as the run's first repeat does (fold numbers may differ);
    False when the file has no fold column. A different split raises."""
    if fold_column not in frame.columns:
        return False
    file_folds = frame.select(pl.col(id_col).cast(pl.String).alias(_KEY), pl.col(fold_column))
    aligned = pl.DataFrame({_KEY: run_ids.cast(pl.String)}).join(file_folds, on=_KEY, how="left", maintain_order="left")
    theirs = aligned[fold_column]
    if theirs.null_count():
        raise DataError(f"the fold column {fold_column!r} of {str(path)!r} has {theirs.null_count()} empty value(s)")
    ours = run_folds(store).ids[0]
    validated = np.flatnonzero(ours >= 0)
    rows = pl.DataFrame({"row": validated, "ours": ours[validated], "theirs": theirs.to_numpy()[validated]})
    for a, b in (("ours", "theirs"), ("theirs", "ours")):  # a fold of one side must be a single fold of the other
        first = rows.group_by(a, maintain_order=True).agg(
            pl.col(b).first().alias("__first"), pl.col("row").first().alias("__first_row")
        )
        bad = rows.join(first, on=a, how="left", maintain_order="left").filter(pl.col(b) != pl.col("__first"))
        if bad.height:
            # two rows one side keeps together and the other splits: fold numbers alone would not show the clash
            i, j = int(bad["__first_row"][0]), int(bad["row"][0])
            pair = f"ids {run_ids[i]!r} and {run_ids[j]!r}"
            where = (
                f"share the run's fold {int(ours[i])} but are in the file's folds {theirs[i]!r} and {theirs[j]!r}"
                if a == "ours"
                else f"share the file's fold {theirs[i]!r} but are in the run's folds {int(ours[i])} and {int(ours[j])}"
            )
            raise DataError(
                f"the fold column {fold_column!r} of {str(path)!r} splits the rows differently from the run's folds "
                f"({pair} {where}); predictions made on other folds leak into the blend's nested CV. Make them with "
                f"the run's folds ({store.folds_path}), or name the right column with --fold-column (fold_column=)"
            )
    return True


def _check_values(values: np.ndarray, path: Path, kind: str | None) -> None:
    """Finite values; ``kind`` ``"classes"``: each row one probability per class, summing to 1; ``"labels"`` (a
    multilabel run): each value a label's probability, within [0, 1]; None: values (regression, several targets)."""
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} row(s) of {str(path)!r} have missing or infinite predictions (e.g. row "
            f"{int(np.flatnonzero(bad)[0])}); every row the run validates needs a prediction"
        )
    if kind is not None and values.size and (values.min() < -1e-6 or values.max() > 1 + 1e-6):
        needs = (
            "a classification task needs class probabilities within [0, 1]"
            if kind == "classes"
            else "a multilabel task needs each label's probability within [0, 1] (logits: apply a sigmoid)"
        )
        raise DataError(f"the predictions in {str(path)!r} lie in [{values.min():.4g}, {values.max():.4g}]; {needs}")
    if kind == "classes" and values.size:
        off = np.abs(values.sum(axis=1) - 1) > _SUM_TOLERANCE
        if off.any():
            row = int(np.flatnonzero(off)[0])
            raise DataError(
                f"{int(off.sum())} row(s) of {str(path)!r} have class probabilities that do not sum to 1 (e.g. row "
                f"{row}: {float(values[row].sum()):.6g}); give one probability per class of the run, summing to 1 "
                "(e.g. apply a softmax, or divide each row by its sum)"
            )


def _check_distribution(values: np.ndarray, path: Path, meta: dict) -> None:
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


def _frame(ids: pl.Series, values: np.ndarray, columns: list[str]) -> pl.DataFrame:
    data = {ids.name: ids}
    for j, column in enumerate(columns):
        data[column] = pl.Series(column, values[:, j], dtype=pl.Float32)
    return pl.DataFrame(data)
