"""Shape a submission like the competition's sample submission: its ids in its order, written as it spells them, and
its column names, with the predictions each column asks for.

A single prediction column in the sample takes the target prediction whatever it is called (Digit Recognizer's
``Label`` for a ``label`` target), or a class's probability where it names a class other than exactly (``no`` for
the classes No / Yes, ``target_No``); several columns are matched to the class labels, case aside or after a shared
prefix (``Status_C``, ``Status_CL``). Without an id column in the data (``data.id`` unset), the sample's first column
holds the ids and rows are matched by position.

A sample that also asks for class columns no training row held (a class absent from train, seen in Kaggle samples
that list every class of the competition) gets them as Laplace's rule of succession would: probability
``1 / (n_train + K)`` each over the sample's ``K`` classes, the run's own classes scaled to leave each row summing to
1, with a warning naming the columns. Log loss scores a 0 there as about 34.5 on any test row of that class.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import polars as pl

from .errors import DataError, DataWarning, StoreError
from .readers.headers import header_key
from .readers.options import ReadOptions
from .readers.polars_versions import is_in
from .readers.tables import is_unnamed, read_table, unnamed_to_drop


class OtherTestRows(DataError):
    """The sample submission lists other rows than the run's test file (``rows`` says how): the sample of another
    test set, e.g. a code competition's hidden one, which ``kaggle-kit predict --test --sample`` can still fill."""

    def __init__(self, message: str, rows: str) -> None:
        super().__init__(message)
        self.rows = rows


def match_sample(frame: pl.DataFrame, sample_path: Path, meta: dict) -> pl.DataFrame:
    """``frame`` (:func:`kaggle_kit.submit.submission_frame`'s) shaped like the sample submission at ``sample_path``
    (see the module's docstring); ``meta``: the run's ``run.json``."""
    if not sample_path.is_file():
        raise StoreError(
            f"the sample submission {str(sample_path)!r} recorded for this run no longer exists; put it back, or set "
            "data.sample_submission to where it is now and run the competition again (nothing is refit)"
        )
    return match_sample_frame(frame, read_sample(sample_path, meta.get("encoding")), sample_path, meta)


def read_sample(sample_path: Path, encoding: str | None = None) -> pl.DataFrame:
    """The sample submission, every column as text: the ids are written back exactly as the sample spells them
    ("007" stays "007"). ``encoding``: data.encoding (run.json's ``encoding``), as the run's other files are read."""
    # the table reader's: its encoding (a BOM's UTF-16, a spreadsheet's cp1252, data.encoding), a blank line holding
    # no row, a ragged line named; polars read a UTF-16 sample as no CSV at all, and a sample in data.encoding was
    # read as cp1252: a cp1251 sample's ids were no test ids after the whole run
    options = ReadOptions(as_text=True, encoding=encoding)
    return without_empty_columns(read_table(sample_path, role="sample_submission", options=options), sample_path)


def without_empty_columns(sample: pl.DataFrame, sample_path: Path) -> pl.DataFrame:
    """The sample without an unnamed column empty in every row, with a warning naming the file."""
    empty = unnamed_to_drop(sample)[0]
    if empty:  # each line ending in a separator (a spreadsheet's export): no column of the competition's
        warnings.warn(
            f"the sample submission {str(sample_path)!r} has an unnamed column empty in every row (each line ends "
            "in a separator): left out of the submission",
            DataWarning,
            stacklevel=3,
        )
    return sample.drop(empty)


def saved_index(sample: pl.DataFrame, id_column: str | None) -> str | None:
    """The sample's saved pandas index: an unnamed column (``""``, ``Unnamed: 0``) of distinct whole numbers beside
    its id column ``id_column`` (a sample re-saved with ``to_csv`` and its index); None where there is none. Without
    ``id_column`` (the sample's first column holds the ids), an unnamed first column of the row numbers 0 .. n-1
    before a named one of distinct values and a prediction column: the ids are the column after it (the index was
    taken for the ids, and a distribution's id column for a bin). A column after it of repeated values is a
    prediction's placeholder (``,a,b`` of 0.5s): the unnamed column holds the ids."""
    if id_column is None and sample.width >= 3 and is_unnamed(sample.columns[0]) and not is_unnamed(sample.columns[1]):
        first = sample[sample.columns[0]].cast(pl.String).str.strip_chars()
        after = sample[sample.columns[1]].cast(pl.String).str.strip_chars()
        numbered = first.equals(pl.Series(first.name, [str(i) for i in range(sample.height)]), check_names=False)
        if numbered and after.null_count() == 0 and after.is_unique().all():
            return sample.columns[0]
    has_id = id_column is not None and any(header_key(c) == header_key(id_column) for c in sample.columns)
    for c in sample.columns:
        if has_id and is_unnamed(c) and c != id_column:
            values = sample[c].cast(pl.String).str.strip_chars()
            if values.null_count() == 0 and values.str.contains(r"^[0-9]+$").all() and values.is_unique().all():
                return c
    return None


def without_saved_index(sample: pl.DataFrame, id_column: str | None, sample_path: Path) -> pl.DataFrame:
    """The sample without its :func:`saved_index` (else one more prediction column, which the run has none of), with a
    warning naming it."""
    index = saved_index(sample, id_column)
    if index is None:
        return sample
    warnings.warn(
        f"the sample submission {str(sample_path)!r} has an unnamed column {index!r} of row numbers (a pandas index "
        "saved with it): left out of the submission, which has the competition's columns",
        DataWarning,
        stacklevel=4,
    )
    return sample.drop(index)


def match_sample_frame(frame: pl.DataFrame, sample: pl.DataFrame, sample_path: Path, meta: dict) -> pl.DataFrame:
    """:func:`match_sample` on a sample already read (``sample_path`` names it in messages)."""
    id_col = meta["id_column"]
    sample = without_saved_index(sample, id_col, sample_path)
    sample_id = id_col if id_col is not None else sample.columns[0]
    same = [c for c in sample.columns if header_key(c) == header_key(str(sample_id))]
    if sample_id not in sample.columns and len(same) == 1:  # 'ID' for the data's 'id': written as the sample has it
        sample_id = same[0]
    if sample_id not in sample.columns and _holds_the_ids(sample[sample.columns[0]], frame[frame.columns[0]]):
        warnings.warn(
            f"the sample submission {str(sample_path)!r} has no column {sample_id!r}; its first column "
            f"{sample.columns[0]!r} holds the test ids, so it is the id column (written as the sample names it)",
            DataWarning,
            stacklevel=3,
        )
        sample_id = sample.columns[0]
    if sample_id not in sample.columns:
        raise DataError(f"the sample submission {str(sample_path)!r} has no id column {sample_id!r}: {sample.columns}")
    wanted = [c for c in sample.columns if c != sample_id]
    if not wanted:
        raise DataError(f"the sample submission {str(sample_path)!r} has only the id column {sample_id!r}")
    # the test ids under a name no sample column has: without data.id they were 'id', and a sample column 'id' after
    # its first one (a saved pandas index) was selected twice, a traceback
    ours = "__ids__"
    frame = frame.rename({frame.columns[0]: ours})
    named = _class_named(wanted[0], frame.columns[2:], meta) if len(wanted) == 1 else None
    if named is not None:  # 'no' for the class 'No', 'Survived_0' for the class 0 of 'Survived': that class's column
        values = frame.select(ours, pl.col(named).alias(wanted[0]))
    elif len(wanted) == 1 and wanted[0] not in frame.columns and len(meta.get("targets") or ()) < 2:
        # the one prediction column, whatever the sample calls it (a run of one target too); a run of several
        # targets' is matched to its target by name below (the first target's predictions went under the sample's
        # one column, whichever it named)
        values = frame.select(ours, pl.col(frame.columns[1]).alias(wanted[0]))
    else:
        prefix = class_prefix(wanted, [whole_label(str(c)) for c in meta.get("classes") or ()])
        if prefix:  # Status_C, Status_CL, Status_D for the classes C, CL, D: the sample's names, the classes' values
            classes = [str(c) for c in meta["classes"]]
            frame = frame.rename({c: prefix + whole_label(c) for c in classes if c in frame.columns})
            meta = {**meta, "classes": [prefix + whole_label(c) for c in classes]}
        keys = {label_key(c): c for c in frame.columns[1:]}
        missing = [c for c in wanted if c not in frame.columns and label_key(c) not in keys]
        if missing:
            frame = _with_unseen_classes(frame, sample, wanted, missing, meta, sample_path)
        values = frame.select(ours, *[pl.col(c if c in frame.columns else keys[label_key(c)]).alias(c) for c in wanted])
    if len(wanted) == 1:
        values = values.with_columns(_labels_spelled_as_sample(values[wanted[0]], sample[wanted[0]]))
        _warn_other_labels(sample[wanted[0]], values[wanted[0]], meta, sample_path)

    if id_col is None:  # no ids in the data: the i-th test row is the sample's i-th row
        if sample.height != values.height:
            raise OtherTestRows(
                f"the sample submission has {sample.height} rows but the test file {values.height}; without data.id "
                "rows are matched by position, so both must list the same rows in the same order",
                f"{sample.height} rows against the test file's {values.height}",
            )
        return pl.concat([sample.select(sample_id), values.drop(ours)], how="horizontal").select(sample.columns)

    key = "__id"
    left, right = _id_keys(
        sample.select(pl.col(sample_id).alias(key), pl.col(sample_id)),
        values.select(pl.col(ours).cast(pl.String).alias(key), *wanted),
        key,
    )
    _check_sample_rows(left[key], right[key], sample_path, sample_id)
    out = left.join(right, on=key, how="left", maintain_order="left")
    n_missing = out[wanted[0]].null_count()
    if n_missing:
        example = out.filter(pl.col(wanted[0]).is_null())[sample_id][0]
        raise OtherTestRows(
            f"{n_missing} id(s) of the sample submission {str(sample_path)!r} have no test prediction (e.g. "
            f"{example!r}): data.test and data.sample_submission must be the same competition's files; fix the one "
            "that is not, and run again",
            f"{n_missing} of its id(s) are not in data.test (e.g. {example!r})",
        )
    return out.select(sample.columns)  # the sample's column order, the id wherever it is


def _class_named(column: str, class_columns: list[str], meta: dict) -> str | None:
    """The class column a single sample column names other than exactly (exactly: it is taken as it is): the label
    case aside (``no`` for ``No``), or after the target's name (``Survived_0``, ``target_no``); else None."""
    classes = [str(c) for c in meta.get("classes") or ()]
    if column in class_columns or not classes or meta.get("targets"):
        return None
    key = column.strip().casefold()
    target = str(meta.get("target_column") or "").casefold()
    for c in classes:
        label = c.casefold()
        if c in class_columns and key in (label, f"{target}_{label}", f"{target}{label}", f"{target}-{label}"):
            return c
    return None


def whole_label(label: str) -> str:
    """A class label as a sample submission spells it: a whole number without the ``.0`` pandas writes an integer
    target holding a missing value with (``'1.0'`` -> ``'1'``); any other label as it is."""
    return re.sub(_POINT_ZEROS, "", label) if re.match(_WHOLE_WITH_POINT, label) else label


def label_key(name: str) -> str:
    """A class (or target) column's name as the sample's columns are matched to the run's: spaces around it and case
    aside (:func:`~kaggle_kit.readers.headers.header_key`, a header `` b`` for the target ``b``), ``'1'`` for the class
    ``'1.0'``, and ``'_'`` for a space within (a header ``High_Risk`` for the class ``High Risk``)."""
    return re.sub(r"\s", "_", whole_label(header_key(name)))


def class_prefix(columns: list[str], classes: list[str]) -> str:
    """The text the sample's class columns put before each class label (``Status_`` in ``Status_C``, ``Status_CL``
    for the classes ``C``, ``CL``; case aside): a column for every class, and every column starting with it. Empty
    when the columns are the labels themselves, when no one prefix fits, or when two would (ambiguous)."""
    lowered = [c.lower() for c in columns]
    labels = {c.lower() for c in classes}
    if len(columns) < 2 or len(labels) < 2 or labels <= set(lowered):
        return ""
    candidates = {w[: len(w) - len(c)] for w in lowered for c in labels if w.endswith(c) and len(w) > len(c)}
    fits = [p for p in candidates if all(w.startswith(p) for w in lowered) and {p + c for c in labels} <= set(lowered)]
    if len(fits) != 1:
        return ""
    return next(w for w in columns if w.lower().startswith(fits[0]))[: len(fits[0])]


def _with_unseen_classes(
    frame: pl.DataFrame, sample: pl.DataFrame, wanted: list[str], missing: list[str], meta: dict, sample_path: Path
) -> pl.DataFrame:
    """``frame`` with the class columns ``missing`` added (see the module's docstring), when the sample's other
    prediction columns are exactly the run's classes and ``missing`` hold numbers (or nothing) in the sample; else
    the error naming what the sample asks for."""
    classes = [str(c) for c in meta.get("classes") or ()]
    found = {label_key(c) for c in wanted if c not in missing}
    fits = len(classes) >= 2 and not meta.get("targets") and found == {label_key(c) for c in classes}
    if not fits or not _numbers(sample, missing):
        must = (
            "its prediction columns must be the run's targets: add them to data.target (or check that the sample "
            "is this competition's)"
            if meta.get("targets")
            else "its columns must be the target column or the class labels"
        )
        raise DataError(
            f"the sample submission {str(sample_path)!r} asks for column(s) {missing} but the predictions have "
            f"{frame.columns[1:]}; {must}"
        )
    if "n_train" not in meta:
        raise StoreError(
            "the run's run.json does not say how many training rows it had (n_train), which the class column(s) "
            f"{missing} of the sample submission need; run the competition again (nothing is refit)"
        )
    k = len(classes) + len(missing)
    unseen = 1.0 / (int(meta["n_train"]) + k)
    warnings.warn(
        f"the sample submission {str(sample_path)!r} asks for class column(s) {missing} that no training row holds; "
        f"they get probability {unseen:.3g} each (1 / (training rows + classes)), the other classes the rest. If "
        "they are not classes of the target, check data.target and the sample submission",
        DataWarning,
        stacklevel=4,
    )
    scaled = [(pl.col(c) * (1.0 - len(missing) * unseen)).alias(c) for c in classes]
    return frame.with_columns(*scaled, *(pl.lit(unseen, dtype=frame[classes[0]].dtype).alias(c) for c in missing))


#: a whole number as the sample spells it (no '.0', no leading zero), and as train may spell it ('1.0')
_WHOLE = r"^-?(0|[1-9][0-9]*)$"
_WHOLE_WITH_POINT = r"^-?(0|[1-9][0-9]*)(\.0+)?$"
_POINT_ZEROS = r"\.0+$"  # what whole_label takes off


def _labels_spelled_as_sample(written: pl.Series, given: pl.Series) -> pl.Series:
    """Text labels that are whole numbers spelled ``'1.0'`` (pandas writes an integer target holding a missing value
    so; the labels keep train's spelling), written as whole numbers where the sample spells its labels so (``'0'``):
    the submission's ``1.0`` is not Kaggle's label ``1``. Other labels, and probabilities, as they are."""
    shown = given.str.strip_chars().replace("", None).drop_nulls()
    if written.dtype != pl.String or shown.is_empty() or not shown.str.contains(_WHOLE).all():
        return written
    if not written.drop_nulls().str.contains(_WHOLE_WITH_POINT).all():  # '007', '2.5', 'cat': as spelled
        return written
    return written.str.replace(_POINT_ZEROS, "")  # whole_label, on every label


def _warn_other_labels(given: pl.Series, written: pl.Series, meta: dict, sample_path: Path) -> None:
    """A warning when the sample's column holds text but the submission writes probabilities (the metric scores
    them: the competition may want labels), or labels none of which the sample holds (``class_1`` where train's labels
    are 0, 1, 2: the competition may spell them otherwise)."""
    classes = {str(c) for c in meta.get("classes") or ()}
    shown = given.str.strip_chars().replace("", None).drop_nulls().unique(maintain_order=True)
    if not classes or shown.is_empty() or _numbers(shown.to_frame(), [shown.name]):
        return
    if written.dtype.is_float():  # probabilities where the sample holds labels: the run's metric wants scores
        warnings.warn(
            f"the sample submission {str(sample_path)!r} holds labels ({shown[0]!r}) in {given.name!r}, but the "
            f"run's metric {meta.get('metric')!r} scores probabilities, which the submission writes; if the "
            "competition wants labels, set metric = 'accuracy' (or its label metric) and run again",
            DataWarning,
            stacklevel=4,
        )
        return
    if shown.is_in(list(classes)).any():
        return
    if str(meta.get("metric", "")).startswith("map@") and shown.str.split(" ").explode().is_in(list(classes)).any():
        return  # MAP@K: the sample's '14-35-14 10-26-26 Urea' lists training labels, as the submission does
    warnings.warn(
        f"the sample submission {str(sample_path)!r} holds {shown[0]!r} in {given.name!r}, which is none of the "
        f"training labels {sorted(classes)[:5]}; the submission writes the training labels: if the competition "
        "spells its labels otherwise, map them in the train file",
        DataWarning,
        stacklevel=4,
    )


def _numbers(sample: pl.DataFrame, columns: list[str]) -> bool:
    """Whether the sample's ``columns`` (read as text) hold only numbers or nothing: probabilities, not a note."""
    return all(sample_numbers(sample[c]) is not None for c in columns)


#: a number written with a decimal comma ('0,5'), and one whose commas may group its thousands ('1,234', '1,234.5')
_DECIMAL_COMMA = r"^[+-]?[0-9]*,[0-9]+$"
_COMMA_GROUPED = r"^[+-]?[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]*)?$"


def sample_numbers(given: pl.Series, separator: str | None = None) -> pl.Series | None:
    """A sample column read as text, as the numbers it holds (missing where empty), also written with a decimal comma
    (``0,5``: a sample re-saved by a spreadsheet in a ';'-separated locale) or with commas grouping thousands
    (``"1,234"``, quoted in a ','-separated file); None where a value is no number, or where the column writes both.

    A comma is a decimal mark where some value's comma can only be one (``0,5``, ``2,25``), a thousands mark where
    some value's can only be one (``1,234.5``, ``1,234,567``); where every comma could be either (``1,234``), the
    file's ``separator`` tells: a ';'-separated file's is a decimal mark, a ','-separated one's groups thousands
    (1.234 had been read where the file meant 1234), whole numbers as integers. Without the separator (a sample no
    longer there) such a column is numbers all the same, read with a decimal comma."""
    text = given.cast(pl.String).str.strip_chars().replace("", None)
    decimal, grouped = text.str.contains(_DECIMAL_COMMA), text.str.contains(_COMMA_GROUPED)
    only_decimal, only_grouped = bool((decimal & ~grouped).any()), bool((grouped & ~decimal).any())
    if only_decimal and only_grouped:
        return None
    if only_grouped or (not only_decimal and grouped.any() and separator == ","):
        plain = text.str.replace_all(",", "", literal=True)  # whole numbers stay whole: '1,000' is no decimal 1000.0
        whole = plain.drop_nulls().str.contains(r"^[+-]?[0-9]{1,18}$").all()
        numbers = plain.cast(pl.Int64 if whole else pl.Float64, strict=False)
    else:
        numbers = text.str.replace(r"^([+-]?[0-9]*),([0-9]+)$", "${1}.${2}").cast(pl.Float64, strict=False)
    return numbers.alias(given.name) if numbers.null_count() == text.null_count() else None


def _id_keys(left: pl.DataFrame, right: pl.DataFrame, key: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Match ids by their text; where the two files spell the same numbers differently ("007" in the sample, 7 in
    the test file), by their integer value. The sample's spelling is what the submission writes either way."""
    matched = int(is_in(right[key], left[key]).sum())
    if matched == right.height:
        return left, right
    as_int = [whole_numbers(f[key]) for f in (left, right)]
    if any(k.null_count() for k in as_int) or int(is_in(as_int[1], as_int[0]).sum()) <= matched:
        return left, right
    return left.with_columns(as_int[0].alias(key)), right.with_columns(as_int[1].alias(key))


def _holds_the_ids(given: pl.Series, ids: pl.Series) -> bool:
    """Whether the sample's column ``given`` (text) lists exactly the test ids, by their text or their whole numbers."""
    if given.len() != ids.len() or given.n_unique() != given.len():
        return False
    ours = ids.cast(pl.String)
    if set(given.str.strip_chars().to_list()) == set(ours.to_list()):
        return True
    a, b = whole_numbers(given), whole_numbers(ours)
    return not a.null_count() and not b.null_count() and set(a.to_list()) == set(b.to_list())


def whole_numbers(ids: pl.Series) -> pl.Series:
    """Ids read as text as the integers they spell (``"007"``, ``" 7"``, ``"7.0"`` as pandas writes an id column that
    once held a missing value); null where one is not a whole number."""
    text = pl.col(ids.name).str.strip_chars()
    as_float = text.cast(pl.Float64, strict=False)
    exact = (as_float % 1 == 0) & (as_float.abs() < 2**53)  # beyond 2**53 a float no longer holds every integer
    whole = pl.when(exact).then(as_float).otherwise(None).cast(pl.Int64)
    return ids.to_frame().select(pl.coalesce(text.cast(pl.Int64, strict=False), whole)).to_series()


def _check_sample_rows(sample_ids: pl.Series, test_ids: pl.Series, sample_path: Path, sample_id: str) -> None:
    """The sample decides the rows: it must list every test id once, or Kaggle rejects the file (wrong row count)."""
    dupes = sample_ids.filter(sample_ids.is_duplicated())
    if dupes.len():
        raise DataError(
            f"the sample submission {str(sample_path)!r} lists {dupes.n_unique()} id(s) more than once in column "
            f"{sample_id!r} (e.g. {dupes[0]!r}); a submission has one row per test id: use the competition's own "
            "sample_submission file"
        )
    extra = test_ids.filter(~is_in(test_ids, sample_ids))
    if extra.len():
        raise OtherTestRows(
            f"the sample submission {str(sample_path)!r} has {sample_ids.len()} row(s) but the run has "
            f"{test_ids.len()} test predictions: {extra.len()} test id(s) are not in it (e.g. {extra[0]!r}), so the "
            "submission would have the wrong row count. Point data.sample_submission at the file that goes with "
            "data.test, and run again",
            f"{extra.len()} of data.test's {test_ids.len()} id(s) are not in it (e.g. {extra[0]!r})",
        )
