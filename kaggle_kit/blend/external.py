"""Import OOF and test predictions made elsewhere (another notebook, a teammate) so they blend like the run's models.

The files (CSV or parquet) need the run's id column and one prediction column per class: the run's own column names
(``p_<label>``), the class labels themselves, or, for a binary task, a single column holding the positive class's
probability (the second label in sorted order), or the negative class's where it is named by it (``p_<label>``, or
the label where it is no number: pandas names an array's column ``0``); for regression, a single column; for a
multilabel / multiregression run, one column per target, named as the run's or as the targets (the submission's
layout). They are checked against the run:

* the OOF ids must be exactly the run's training ids and the test ids its test ids (any order; duplicates, missing
  and unknown ids are errors naming how many and an example);
* a fold column (``fold_column``, or the one named as :data:`FOLD_COLUMNS` name them), where the OOF file has one,
  must split the rows into the same folds as the run (fold numbers may differ), or nested CV would score rows the
  imported model was trained on;
* a target column (the run's name for it) kept beside the predictions must agree with the run's target row by row
  (labels or their codes): else the ids name other rows than the run's;
* values must be finite (OOF rows the run never validates may be empty) and probabilities within [0, 1] (a
  multilabel run's too: logits are refused); values outside the metric's domain (RMSLE: below 0) are clipped into
  it, as the run clips its models', with a warning.

Example::

    from kaggle_kit.blend import import_predictions
    import_predictions("runs/titanic", "teammate_catboost", oof="cat_oof.csv", test="cat_test.csv")
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import DataError, DataWarning, StoreError
from ..metrics import run_metric
from ..readers.headers import header_key, header_renames
from ..readers.polars_versions import is_in
from ..runtime.folds import Folds
from ..runtime.store import RunStore, check_writable, parquet_bytes
from ..sample_submission import whole_label
from .import_checks import (
    check_distribution,
    check_values,
    outside,
    warn_if_another_scale,
    warn_if_inverted,
    warn_if_labels,
)
from .inputs import run_folds, train_ids
from .storage import EXTERNAL, blend_names, check_name, write_external
from .target import run_target

_KEY = "__id"
#: folds.parquet's column of one repeat's fold ids (case aside)
_REPEAT_COLUMN = re.compile(r"fold_r(\d+)")
#: the names a fold column goes by (case aside): the kit's, notebooks' (``kfold``), and folds.parquet's (``fold_r0``)
FOLD_COLUMNS = ("fold", "kfold", "folds", "fold_id", "fold_r0")


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
    fold_repeats: tuple[int, ...] = ()  # the run's repeats the file's fold column(s) were checked against


def import_predictions(
    run_dir: Path | str,
    name: str,
    oof: Path | str,
    test: Path | str | None = None,
    *,
    id_column: str | None = None,
    fold_column: str | None = None,
) -> ImportedPredictions:
    """Check the ``oof`` (and ``test``) prediction files against the run and store them as ``name``.
    ``fold_column``: the OOF file's fold column; by default the one column named as :data:`FOLD_COLUMNS` name
    them (case aside)."""
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
    check_writable(
        store.root / EXTERNAL,
        "imported predictions",
        "they are stored in the run folder: copy the run folder somewhere writable (on Kaggle: /kaggle/working) "
        "and import into the copy",
    )
    run_ids = train_ids(store)
    id_col = id_column or run_ids.name
    reference = _reference_frame(store)
    columns = reference.columns[1:]
    classes = meta.get("classes")
    # a multilabel / multiregression run: one column per target, which a file may name as the submission does
    targets = [str(t) for t in meta.get("targets") or ()]
    kind = "classes" if classes is not None else "labels" if meta.get("task") == "multilabel" else None

    target_col = meta.get("target_column")
    headers = [id_col, *columns, *(str(c) for c in classes or []), *targets, *([target_col] if target_col else [])]
    oof_path = Path(oof)
    oof_frame = _match_headers(_read(oof_path), headers)
    fold_column_given = fold_column is not None
    fold_columns = _fold_columns(oof_frame, fold_column)
    fold_column = fold_columns[0]
    truth = _truth_column(oof_frame, target_col, (id_col, *fold_columns))
    skip = (*fold_columns, truth, *_label_columns(oof_frame, columns, targets))
    oof_values = _values(oof_frame, oof_path, id_col, columns, classes, targets, skip)
    oof_values = _align(oof_frame, oof_values, oof_path, id_col, run_ids, "training")
    if truth is not None and not meta.get("targets"):
        _check_truth(store, oof_frame, truth, oof_path, id_col, run_ids, classes)
    folds = run_folds(store)
    fold_repeats = _check_folds(store, folds, oof_frame, oof_path, id_col, run_ids, fold_columns)
    folds_checked = len(fold_repeats) == folds.n_repeats
    if fold_repeats and not folds_checked:
        _warn_repeats_unchecked(oof_path, fold_repeats, folds.n_repeats)
    never = (folds.ids == -1).all(axis=0)
    if folds_checked and folds.scheme == "past":
        warnings.warn(
            f"the folds of {str(oof_path)!r} split the rows as the run's time folds do, but a file cannot show what "
            "each fold's model trained on: the run's train on the earlier blocks only; if these were trained on "
            "every other block (later ones too), their OOF and nested-CV scores are optimistic",
            DataWarning,
            stacklevel=2,
        )
    check_values(oof_values[~never], oof_path, kind, run_ids.filter(~never))
    warn_if_labels(oof_values[~never], oof_path, classes)
    if classes is not None and len(classes) == 2 and not meta.get("targets"):
        warn_if_inverted(oof_values[~never], run_target(store)[~never], oof_path, columns)
    check_distribution(oof_values[~never], oof_path, meta)

    metric = run_metric(meta)
    clipped = outside(oof_values, metric)
    oof_values, _ = metric.clip(oof_values)  # into the metric's domain, as the run clips its models'
    test_frame_out = None
    n_test = int(meta.get("n_test") or 0)
    if test is not None:
        test_path = Path(test)
        test_frame = _match_headers(_read(test_path), headers)
        # a test file may keep a fold column too (of -1, say): not predictions
        test_folds = tuple(c for c in fold_columns if c in test_frame.columns) or _fold_columns(test_frame, None)
        truth_test = _truth_column(test_frame, target_col, (id_col, *test_folds))
        skip = (*test_folds, truth_test, *_label_columns(test_frame, columns, targets))
        test_values = _values(test_frame, test_path, id_col, columns, classes, targets, skip)
        test_ids = _test_ids(store)
        test_values = _align(test_frame, test_values, test_path, id_col, test_ids, "test")
        check_values(test_values, test_path, kind, test_ids)
        check_distribution(test_values, test_path, meta)
        warn_if_labels(test_values, test_path, classes)
        if metric.needs == "value" and meta.get("grid") is None:  # values (probabilities are checked, and
            # fold-pooled test probabilities are less extreme than OOF ones by nature: a rare class's (or label's)
            # lie above its OOF median)
            warn_if_another_scale(oof_values[~never], test_values, test_path, columns)
        clipped += outside(test_values, metric)
        test_values, _ = metric.clip(test_values)
        test_frame_out = _frame(test_ids, test_values, columns)
    elif n_test:
        warnings.warn(
            f"no test predictions given for {name!r}: the report scores it, but the blends leave it out (a blend of it "
            "would have no test predictions to submit); pass test= (CLI: --test)",
            stacklevel=2,
        )

    if clipped and classes is None and metric.domain is not None:  # probabilities were checked to lie in [0, 1]
        lo, hi = metric.domain
        warnings.warn(
            f"{clipped} prediction value(s) of {name!r} were outside [{lo:g}, {hi:g}], what {metric.name} scores, "
            "and were clipped into it, as the run clips its models' (a submission of them, or of a blend of them, "
            "would hold values the metric cannot score)",
            DataWarning,
            stacklevel=2,
        )
    oof_frame_out = _frame(run_ids, oof_values, columns)
    digest = hashlib.sha256(parquet_bytes(oof_frame_out))
    if test_frame_out is not None:
        digest.update(parquet_bytes(test_frame_out))
    key = digest.hexdigest()[:16]
    if not fold_repeats:
        named = repr(fold_column) if fold_column_given else f"(none named {', '.join(map(repr, FOLD_COLUMNS))})"
        warnings.warn(
            f"{str(oof_path)!r} has no fold column {named}, so its folds cannot be checked against the run's; "
            "if it was not made with the run's folds (RUN_DIR/folds.parquet), its nested-CV scores are optimistic: "
            "the blend report and `submit --best` mark every blend of it (folds unchecked); import it again with "
            "its fold column (--fold-column) to clear that",
            stacklevel=2,
        )
    source = {
        "name": name,
        "key": key,
        "oof": str(oof_path.resolve()),
        "test": str(Path(test).resolve()) if test is not None else None,
        "id_column": id_col,
        "folds_checked": folds_checked,
        "fold_repeats": list(fold_repeats),
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
        fold_repeats=fold_repeats,
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
    skip: tuple[str | None, ...],
) -> np.ndarray:
    """The prediction matrix in the run's column order, from whichever naming the file uses: the run's own
    (``p_<label>``, ``pred_<target>``), the class labels, or a multi-target run's target names (the submission's);
    the columns ``skip`` (the fold column, the target column) are not predictions."""
    fold_column = skip[0]
    if id_col not in frame.columns:
        raise DataError(
            f"the prediction file {str(path)!r} has no id column {id_col!r} (columns: {frame.columns[:12]}); "
            "add the run's ids, or name the id column (id_column= / --id-column)"
        )
    others = [c for c in frame.columns if c != id_col and c not in skip]
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
        if _names_negative_class(others[0], columns, classes, path):  # its probability, not the other class's
            return np.column_stack([value, 1 - value])
        return np.column_stack([1 - value, value])  # one column: the positive (second) class's probability
    if not chosen:
        names = [str(c) for c in classes] if classes else targets
        expected = f"the columns {columns}" + (f" (or {names})" if names else "")
        raise DataError(
            f"the prediction file {str(path)!r} has columns {others[:12]}; the run needs {expected}"
            + (", or one column with the positive class's probability" if classes and len(classes) == 2 else "")
            + (
                f" (one column for {len(classes)} classes: labels? export one probability per class, predict_proba)"
                if classes and len(classes) > 2 and len(others) == 1
                else ""
            )
        )
    return np.column_stack([_numeric(frame, c, path) for c in chosen])


def _names_negative_class(column: str, columns: list[str], classes: list, path: Path) -> bool:
    """Whether a binary file's one prediction column is named by the negative class: the run's name for its column
    (``p_<label>``), or the label itself where it is no number. pandas names a 1-D array's column ``0`` and a 2-D
    array's by position, so a number names no class for sure (``0`` is the common name of a notebook's
    ``predict_proba(X)[:, 1]``): such a column is read as the positive class's, as any one column is, said."""
    label = str(classes[0])
    if column == columns[0]:
        return True
    if column != label:
        return False
    try:
        float(label)
    except ValueError:
        return True
    warnings.warn(
        f"the one prediction column {column!r} of {str(path)!r} is read as the probability of the positive class "
        f"{str(classes[1])!r} (pandas names a 1-D array's column 0); if it holds the probability of the class "
        f"{label!r}, name it {columns[0]!r}",
        DataWarning,
        stacklevel=4,
    )
    return False


def _truth_column(frame: pl.DataFrame, target_col: str | None, keys: tuple[str, ...]) -> str | None:
    """The run's target column where a file holds it beside its predictions (a notebook's OOF file often keeps the
    labels); ``None`` when absent or when it is the file's only other column (then it holds the predictions, as a
    submission's target column does)."""
    if not target_col or target_col not in frame.columns:
        return None
    others = [c for c in frame.columns if c not in keys and c != target_col]
    return target_col if others else None


def _label_columns(frame: pl.DataFrame, columns: list[str], targets: list[str]) -> list[str]:
    """A multi-target run's target columns a file keeps beside the run's own prediction columns (``a``, ``b`` beside
    ``p_a``, ``p_b``: a notebook's OOF file with its labels): not predictions. None where the file lacks the run's
    columns (then the target-named columns are the predictions, the submission's layout). The first target alone was
    left out (as a one-target run's truth column), the others refused as columns besides the predictions."""
    if not targets or not all(c in frame.columns for c in columns):
        return []
    return [t for t in targets if t in frame.columns and t not in columns]


def _check_truth(
    store: RunStore, frame: pl.DataFrame, column: str, path: Path, id_col: str, run_ids: pl.Series, classes: list | None
) -> None:
    """The file's own target column must agree with the run's target row by row (labels or their codes 0..C-1; values
    to 4 significant digits): if it does not, its ids do not name the rows the run's ids do, and every prediction is
    matched to another row's label."""
    theirs = _align(frame, frame[column].to_numpy(), path, id_col, run_ids, "training")
    y = run_target(store)
    known = np.array([v is not None and v == v for v in theirs.tolist()], dtype=bool)  # not null, not NaN
    if classes is not None:
        labels = np.array([str(classes[int(c)]) for c in y], dtype=object)
        text = np.array([whole_label(str(v)) for v in theirs.tolist()], dtype=object)  # 1.0: a CSV's 1 with a gap
        as_labels = (text == labels) | ~known
        as_codes = (text == y.astype(str).astype(object)) | ~known
        agree = as_labels if as_labels.sum() >= as_codes.sum() else as_codes
        shown = labels
    else:
        values = np.array([_number(v) if k else np.nan for v, k in zip(theirs.tolist(), known, strict=True)])
        agree = np.isclose(values, y, rtol=1e-4, atol=1e-8) | ~known  # text that is no number: NaN, disagrees
        shown = y
    if agree.all():
        return
    row = int(np.flatnonzero(~agree)[0])
    raise DataError(
        f"the target column {column!r} of {str(path)!r} disagrees with the run's target on {int((~agree).sum())} of "
        f"{int(known.sum())} row(s) (e.g. id {run_ids[row]!r}: the file says {_shown(theirs[row])}, the run "
        f"{_shown(shown[row])}): its ids do not name the rows the run's ids name (ids renumbered, or a row order "
        "assumed), or it was made for other data; give each prediction its row's id"
        + ("; or the column holds the target transformed (e.g. log1p): drop it" if classes is None else "")
    )


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _shown(value: object) -> str:
    """A label or value as a message shows it: text quoted, numbers to 6 significant digits."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(str(value))


def _fold_columns(frame: pl.DataFrame, given: str | None) -> tuple[str, ...]:
    """The file's fold column(s): ``given``, else one per repeat where the file holds several of folds.parquet's
    (``fold_r0``, ``fold_r1``, ...: a repeated run's folds joined; ``fold_r1`` had been taken for a prediction
    column, and the file refused), else the one column named as :data:`FOLD_COLUMNS` name them (case aside; a fold
    column named otherwise had been taken for a prediction column), else ``("fold",)``."""
    if given is not None:
        return (given,)
    repeats = sorted((int(m[1]), c) for c in frame.columns if (m := _REPEAT_COLUMN.fullmatch(header_key(c))))
    found = [c for c in frame.columns if header_key(c) in FOLD_COLUMNS]
    if len(repeats) > 1 or (repeats and not found):  # fold_r1 alone: one repeat's, checked against each
        return tuple(c for _, c in repeats)
    return (found[0],) if len(found) == 1 else ("fold",)


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
    file_ids = _id_text(frame[id_col], run_ids)
    dupes = file_ids.filter(file_ids.is_duplicated())
    if dupes.len():
        raise DataError(
            f"the id column {id_col!r} of {str(path)!r} repeats {dupes.n_unique()} id(s), e.g. {dupes[0]!r}; "
            "give one row per id"
        )
    wanted = run_ids.cast(pl.String)
    missing = wanted.filter(~is_in(wanted, file_ids))
    unknown = file_ids.filter(~is_in(file_ids, wanted))
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
    store: RunStore,
    folds: Folds,
    frame: pl.DataFrame,
    path: Path,
    id_col: str,
    run_ids: pl.Series,
    fold_columns: tuple[str, ...],
) -> tuple[int, ...]:
    """The run's repeats the file's fold column(s) split the rows as (fold numbers may differ): one per repeat
    column (``fold_r<r>`` against repeat ``r``), or the repeat a single fold column matches (any: it had been
    compared with the first repeat only, so a file made on a later repeat's folds was refused); ``()`` when the
    file has no fold column. A split the run does not have raises."""
    present = [c for c in fold_columns if c in frame.columns]
    if not present:
        return ()
    keys = pl.DataFrame({_KEY: run_ids.cast(pl.String)})
    file_keys = _id_text(frame[id_col], run_ids)
    if len(present) == 1:
        theirs = _aligned_folds(keys, file_keys, frame[present[0]])
        clashes = [_split_clash(folds.ids[r], theirs, run_ids) for r in range(folds.n_repeats)]
        match = next((r for r, clash in enumerate(clashes) if clash is None), None)
        if match is None:
            _refuse_split(store, path, present[0], clashes[0], folds.n_repeats)
        return (match,)
    checked = []
    for column in present:
        r = int(_REPEAT_COLUMN.fullmatch(header_key(column))[1])  # type: ignore[index]
        if r >= folds.n_repeats:
            raise DataError(
                f"the fold column {column!r} of {str(path)!r} names repeat {r}, but the run has "
                f"{folds.n_repeats} repeat(s) of its folds (fold_r0 .. fold_r{folds.n_repeats - 1} in "
                f"{store.folds_path}); were the predictions made for another run?"
            )
        clash = _split_clash(folds.ids[r], _aligned_folds(keys, file_keys, frame[column]), run_ids)
        if clash is not None:
            _refuse_split(store, path, column, clash, 1)
        checked.append(r)
    return tuple(sorted(checked))


def _aligned_folds(keys: pl.DataFrame, file_keys: pl.Series, column: pl.Series) -> pl.Series:
    file_folds = pl.DataFrame({_KEY: file_keys, "__fold": column})
    return keys.join(file_folds, on=_KEY, how="left", maintain_order="left")["__fold"]


def _split_clash(ours: np.ndarray, theirs: pl.Series, run_ids: pl.Series) -> str | None:
    """Why the file's folds ``theirs`` (train row order) do not split the rows the run validates as ``ours`` (one
    repeat's fold ids) does, or None when they do: two rows one side keeps together and the other splits (fold
    numbers alone would not show the clash), or empty folds on rows the run validates."""
    validated = np.flatnonzero(ours >= 0)  # rows time folds never validate may have no fold in the file either
    empty = int(theirs.gather(validated).is_null().sum())
    if empty:
        return f"has {empty} empty value(s) on rows the run validates"
    rows = pl.DataFrame({"row": validated, "ours": ours[validated], "theirs": theirs.to_numpy()[validated]})
    for a, b in (("ours", "theirs"), ("theirs", "ours")):  # a fold of one side must be a single fold of the other
        first = rows.group_by(a, maintain_order=True).agg(
            pl.col(b).first().alias("__first"), pl.col("row").first().alias("__first_row")
        )
        bad = rows.join(first, on=a, how="left", maintain_order="left").filter(pl.col(b) != pl.col("__first"))
        if bad.height:
            i, j = int(bad["__first_row"][0]), int(bad["row"][0])
            pair = f"ids {run_ids[i]!r} and {run_ids[j]!r}"
            where = (
                f"share the run's fold {int(ours[i])} but are in the file's folds {theirs[i]!r} and {theirs[j]!r}"
                if a == "ours"
                else f"share the file's fold {theirs[i]!r} but are in the run's folds {int(ours[i])} and {int(ours[j])}"
            )
            return f"splits the rows differently from the run's folds ({pair} {where})"
    return None


def _refuse_split(store: RunStore, path: Path, column: str, clash: str | None, n_repeats: int) -> None:
    if clash is not None and clash.startswith("has "):
        raise DataError(f"the fold column {column!r} of {str(path)!r} {clash}")
    repeats = f" (nor any of its {n_repeats} repeats)" if n_repeats > 1 else ""
    raise DataError(
        f"the fold column {column!r} of {str(path)!r} {clash}{repeats}; predictions made on other folds leak into "
        f"the blend's nested CV. Make them with the run's folds ({store.folds_path}), or name the right column "
        "with --fold-column (fold_column=)"
    )


def _warn_repeats_unchecked(path: Path, checked: tuple[int, ...], n_repeats: int) -> None:
    """A repeated run's nested CV scores every repeat's folds; a file made on some of them says nothing of the
    others (the run's models pool every repeat's OOF)."""
    which = ", ".join(f"fold_r{r}" for r in checked)
    warnings.warn(
        f"the run repeats its folds {n_repeats} times and nested CV scores each repeat's, but the folds of "
        f"{str(path)!r} match {which} only: if its predictions were made on that split alone, nested CV scores them "
        "on the other repeats' folds, which they were not made with, optimistically; give one fold column per repeat "
        "(RUN_DIR/folds.parquet joined: fold_r0, fold_r1, ...), the OOF pooled over them as the run's models' is",
        DataWarning,
        stacklevel=3,
    )


def _match_headers(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """``frame`` with a column named as one of ``names`` but for case and spaces around it (``ID`` for ``id``,
    ``Yes`` for the class ``yes``) renamed to that name, where it is the only such column and the name is missing."""
    renames = header_renames(frame.columns, names)
    return frame.rename(renames) if renames else frame


def _id_text(ids: pl.Series, run_ids: pl.Series) -> pl.Series:
    """A file's ids as text, to match with the run's: whole numbers written as floats (``1000.0``: pandas writes an
    integer column that once held a gap so) read as the run's integer ids."""
    if ids.dtype.is_float() and run_ids.dtype.is_integer():
        finite = ids.drop_nulls()
        if finite.len() and bool((finite == finite.round(0)).all()):
            return ids.cast(pl.Int64).cast(pl.String)
    return ids.cast(pl.String)


def _frame(ids: pl.Series, values: np.ndarray, columns: list[str]) -> pl.DataFrame:
    data = {ids.name: ids}
    for j, column in enumerate(columns):
        data[column] = pl.Series(column, values[:, j], dtype=pl.Float32)
    return pl.DataFrame(data)
