"""Write a Kaggle submission CSV from a run's fold-pooled test predictions, in the sample submission's format.

The sample submission decides the shape: its id order, its column names, and whether it wants one column (a label,
a positive-class probability, or a value) or one probability column per class. A multilabel / multiregression run
writes the wide layout: the id and one column per target (the probability of label 1, or the value). Where there is
no sample, the file has the id column, the target column (a label, the positive class's probability or a value) and,
for classification, one probability column per class.

A label metric writes labels: the most probable class, or for a binary task the positive class where its probability
exceeds the decision threshold chosen on OOF rows (a blend's stored ``threshold``; a model's chosen on its OOF). A
MAP@k metric writes the ``k`` most probable labels of each row, space-separated, most probable first.

A distribution task writes one column per bin (the CDF) or quantile level: named by ``[distribution] columns``
(``"Yards{}"`` -> ``Yards-99 .. Yards99``), else as the sample submission's prediction columns: each the bin its
name's number is (``Yards20 .. Yards-20`` in any order), or in order where they name no numbers.

Matching the sample (its ids, its column names, class columns named otherwise): :mod:`kaggle_kit.sample_submission`.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
import zipfile
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from .config import SAFE_NAME
from .errors import ConfigError, DataError, DataWarning, KitError, StoreError
from .metrics import get_metric, grid_columns, grid_label, run_metric, to_labels, top_k_codes
from .runtime.store import KAGGLE_WRITABLE, RunStore
from .sample_submission import OtherTestRows, match_sample, read_sample, saved_index


class Submission(type(Path())):  # type: ignore[misc]  # PosixPath / WindowsPath: polars reads only a str or a Path
    """A submission file written by :func:`write_submission`: its path (it *is* that :class:`~pathlib.Path`, as
    ``write_submission`` returned before: ``pl.read_csv(sub)``, ``sub.is_file()``, ``str(sub)``), with what it holds,
    ``frame`` (the rows and columns written, in the sample submission's format), and whose predictions they are:
    ``kind`` (``"model"`` or ``"blend"``) and ``source`` (its name). A notebook cell ending in it shows the frame.

    Paths made from it (``sub.parent``, ``sub.with_suffix(...)``) are of this class too, with no frame (None).
    Pickled or copied, it keeps its frame, kind and source.

    Why a :class:`~pathlib.Path` and not a small record with a ``.path``: code written when ``write_submission``
    returned the path (``sub.name``, ``sub.read_text()``, ``sub == expected``, ``pl.read_csv(sub)``, which polars
    takes from a str or a Path only) keeps working unchanged.
    """

    frame: pl.DataFrame | None = None
    kind: Literal["model", "blend"] | None = None
    source: str | None = None

    @classmethod
    def of(cls, path: Path, frame: pl.DataFrame, kind: Literal["model", "blend"], source: str) -> Submission:
        sub = cls(path)
        sub.frame, sub.kind, sub.source = frame, kind, source
        return sub

    def __reduce__(self) -> tuple:
        # PurePath's (class, parts): a pickled or copied submission had come back without its frame, kind and source
        return _rebuilt, (str(self), self.frame, self.kind, self.source)

    @property
    def path(self) -> Path:
        """The file, as a plain :class:`~pathlib.Path`."""
        return Path(self)

    def __repr__(self) -> str:
        if self.frame is None:
            return f"Submission({str(self)!r})"
        more = ", ..." if self.frame.width > 6 else ""
        return (
            f"Submission({str(self)!r}, {self.kind} {self.source!r}: {self.frame.height} row(s), columns "
            f"{', '.join(self.frame.columns[:6])}{more})"
        )

    def _repr_html_(self) -> str | None:
        """A notebook shows the frame written, under the file's path."""
        if self.frame is None:
            return None
        import html

        where, source = html.escape(str(self)), html.escape(str(self.source))
        head = f"<p><code>{where}</code> ({self.kind} <code>{source}</code>)</p>"
        return head + self.frame._repr_html_()


def _rebuilt(path: str, frame: pl.DataFrame | None, kind: str | None, source: str | None) -> Submission:
    """A :class:`Submission` unpickled (its ``__reduce__``)."""
    sub = Submission(path)
    sub.frame, sub.kind, sub.source = frame, kind, source  # type: ignore[assignment]
    return sub


def write_submission(
    run_dir: Path | str, model: str | None = None, out: Path | str | None = None, *, blend: str | None = None
) -> Submission:
    """Write ``model``'s (a model of the run, or predictions imported into it) or the stored ``blend``'s test
    predictions as a submission CSV (default ``<run_dir>/submissions/<model>.csv``, or ``blend-<name>.csv``). A blend
    whose models were refit since it was made is refused: blend again first.

    Returns a :class:`Submission`: the file's path (a :class:`~pathlib.Path`, as before) with the ``frame`` written
    (the sample submission's ids and columns), its ``kind`` and ``source``.

    Example::

        sub = write_submission(result.run_dir, blend="nelder_mead", out="submission.csv")
        sub.frame.head()  # what was written; sub itself is the file's path
    """
    if (model is None) == (blend is None):
        raise KitError("name exactly one of a model (--model) or a blend (--blend) to submit")
    for what, name in (("model", model), ("blend", blend)):
        if name is not None and not isinstance(name, str):  # write_submission(run_dir, Path("sub.csv")): a TypeError
            raise KitError(
                f"{what}= takes the name of a {what} of the run (a str, as on the leaderboard); got "
                f"{type(name).__name__} {str(name)!r}" + (": the file to write is out=" if what == "model" else "")
            )
    store = RunStore(run_dir)
    meta = store.read_meta()
    metric = get_metric(meta["metric"]) if meta.get("classes") is not None else None
    threshold = None
    if blend is not None:
        from .blend import blend_test_predictions
        from .blend.storage import read_blend

        preds = blend_test_predictions(run_dir, blend)
        threshold = read_blend(run_dir, blend).threshold
    else:
        assert model is not None
        # the name comes from run.json, which a downloaded run folder may have crafted: it must name no other folder
        from .runtime.pseudo import pseudo_base

        plain = pseudo_base(model) or model  # a pseudo-labelled model, <model>@pl<round>, as predict reads it
        if not SAFE_NAME.match(plain) or ".." in plain:
            raise ConfigError(f"the model name {model!r} must be a plain name as on the leaderboard (it names a file)")
        imported = False
        if model not in store.current_models():
            from .blend.storage import blend_names, external_sources

            if model in blend_names(run_dir):  # else "no model named ..." lists the models, none of them it
                raise ConfigError(
                    f"{model!r} is a blend of the run {str(store.root)!r}, not a model: name it with --blend {model} "
                    f"(blend={model!r} in Python)"
                )
            # imported predictions rank beside the models (the blend report may name one the best): submittable
            imported = model in external_sources(run_dir)
        if imported:
            from .blend.storage import read_imported_test

            preds = read_imported_test(run_dir, model)
        else:
            preds = store.read_predictions(model, "test")
        if metric is not None and metric.needs == "label":
            from .blend.threshold import model_threshold

            threshold = model_threshold(run_dir, model, metric)
    _check_row_count(preds, meta, f"model {model!r}" if model else f"blend {blend!r}")
    frame = submission_frame(preds, meta, threshold)
    sample_path = meta.get("sample_submission")
    if sample_path:
        frame = match_sample(frame, Path(sample_path), meta)
    default = store.root / "submissions" / (f"{model}.csv" if model else f"blend-{blend}.csv")
    path = Path(out) if out else default
    refuse_overwriting_inputs(path, {"sample submission": sample_path})
    _write(frame, path, default.name)
    return Submission.of(path, frame, "blend" if blend is not None else "model", blend or str(model))


def check_sample_fits(meta: dict, test_ids: pl.Series, *, submits: bool = True) -> None:
    """Shape a submission of zeros for ``test_ids`` as ``submit`` will shape the run's (``meta``: its run.json), before
    the run fits anything: a sample submission its predictions cannot fill (a target or class column the run makes no
    prediction for, a grid of another size) stops the run with ``submit``'s error instead of after the fits. A sample
    of other rows than the test file's (another test set's: a code competition's hidden test) stops it only where
    the command ``submits`` after its fits (a time-limited run); otherwise the run goes on with a warning, since
    ``kaggle-kit predict --test --sample`` can write that test set's submission. Its other warnings are left to
    ``submit``."""
    sample_path = meta.get("sample_submission")
    if not sample_path or not Path(sample_path).is_file():
        return
    width = len(meta.get("targets") or ()) or len(meta.get("grid") or ()) or len(meta.get("classes") or ()) or 1
    zeros = [pl.Series(f"__{j}", np.zeros(len(test_ids), dtype=np.float32)) for j in range(width)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            match_sample(submission_frame(pl.DataFrame([test_ids, *zeros]), meta), Path(sample_path), meta)
    except OtherTestRows as exc:
        if submits:
            raise DataError(
                f"{exc} (found before fitting anything: `kaggle-kit submit` would stop here after the run)"
            ) from None
        warnings.warn(
            f"the sample submission {str(sample_path)!r} lists other rows than data.test: {exc.rows}. The run goes "
            "on (a sample of another test set, such as a code competition's hidden one, is fine), but "
            "`kaggle-kit submit` will refuse this pair: write that test set's submission with `kaggle-kit predict "
            "RUN_DIR --test ITS_TEST_FILE --sample SAMPLE`, or point data.sample_submission at data.test's sample",
            DataWarning,
            stacklevel=2,
        )
    except DataError as exc:
        raise DataError(
            f"{exc} (found before fitting anything: `kaggle-kit submit` would stop here after the run)"
        ) from None


def _check_row_count(preds: pl.DataFrame, meta: dict, what: str) -> None:
    """Test predictions must have one row per test row of the run; anything else is a stale or edited file."""
    n_test = int(meta.get("n_test") or 0)
    if preds.height != n_test:
        raise StoreError(
            f"the test predictions of {what} have {preds.height} row(s) but the run's test file has {n_test}; "
            "the run folder was edited or is stale: run the competition again (`kaggle-kit run CONFIG`)"
        )


def refuse_overwriting_inputs(out: Path | str | None, inputs: dict[str, object]) -> None:
    """``--out`` naming a file the command reads (``inputs``: what it is -> its path) would replace it with the
    submission, without a word (a test file typed twice); refused."""
    if out is None:
        return
    target = Path(out).resolve()
    for what, source in inputs.items():
        if isinstance(source, (str, Path)) and Path(source).is_file() and Path(source).resolve() == target:
            raise KitError(
                f"--out {str(out)!r} is the {what} this command reads: the submission would replace it; give the "
                "submission another file name, e.g. 'submission.csv'"
            )


#: endings of archives Kaggle takes that the kit does not write: refused, not written as plain text under that name
_OTHER_ARCHIVES = (".bz2", ".xz", ".zst", ".7z", ".tar", ".tgz")


def _write(frame: pl.DataFrame, path: Path, default_name: str) -> None:
    """The submission as CSV; ``.gz`` gzipped and ``.zip`` a zip archive of one CSV, as Kaggle takes them (a large
    file uploads faster). polars had raised on '.gz' (a traceback) and written plain text into '.zip'."""
    if path.is_dir():
        raise KitError(f"--out {str(path)!r} is a folder; give a file name, e.g. {str(path / default_name)!r}")
    suffix = path.suffix.lower()
    if suffix in _OTHER_ARCHIVES:
        raise KitError(f"--out {str(path)!r}: a submission is written as .csv, .csv.gz or .zip; got {suffix!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".gz":
            frame.write_csv(path, compression="gzip")
        elif suffix == ".zip":  # one CSV inside, named as the archive without '.zip' ('sub.csv.zip' -> 'sub.csv')
            inner = path.stem if path.stem.lower().endswith(".csv") else f"{path.stem}.csv"
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(inner, frame.write_csv())
        else:
            frame.write_csv(path)
    except OSError as exc:
        raise KitError(
            f"cannot write the submission {str(path)!r} ({exc.strerror or exc}); choose another --out (out= in "
            f"Python; {KAGGLE_WRITABLE}, and a code competition reads /kaggle/working/submission.csv)"
        ) from None


def submission_frame(preds: pl.DataFrame, meta: dict, threshold: float | None = None) -> pl.DataFrame:
    """Test predictions -> id + target column (label, positive-class probability, value, or a MAP@k metric's
    space-separated top-k labels) + per-class columns; for a multi-target run id + one column per target.
    ``threshold``: the decision threshold a binary label metric labels the positive class at (default 0.5, the
    argmax)."""
    id_col = meta["id_column"] or "id"
    target = meta["target_column"]
    ids = preds[preds.columns[0]].alias(id_col)
    values = preds.drop(preds.columns[0]).to_numpy()
    targets = meta.get("targets")
    if targets:  # multilabel / multiregression: the wide layout, one column per target (a probability or a value)
        return pl.DataFrame([ids, *[pl.Series(str(t), values[:, j]) for j, t in enumerate(targets)]])
    classes = meta["classes"]
    if meta.get("grid") is not None:  # a distribution task: the CDF at each bin, or the value at each level
        names = distribution_columns(meta)
        return pl.DataFrame([ids, *(pl.Series(c, values[:, j]) for j, c in enumerate(names))])
    if classes is None:
        return pl.DataFrame([ids, pl.Series(target, values[:, 0])])
    metric = get_metric(meta["metric"])
    if metric.top_k is not None:
        names = [str(c) for c in classes]
        ranked = top_k_codes(values, metric.top_k)
        labels = pl.Series(target, [" ".join(names[i] for i in row) for row in ranked.tolist()])
    elif metric.needs == "label" or len(classes) > 2:
        labels = pl.Series(target, [classes[i] for i in to_labels(values, threshold)])
    else:
        labels = pl.Series(target, values[:, 1])  # the positive class is the second of the sorted labels
    per_class = [pl.Series(str(c), values[:, j]) for j, c in enumerate(classes)]
    return pl.DataFrame([ids, labels, *per_class])


#: a sample column naming its bin / level, a prefix and a number (``Yards-99``, ``Progression40``, ``q_0.5``): how
#: submit matches the columns to the bins, and init reads a distribution's grid from the sample. A '-' after a digit
#: joins a range (``p0-5`` names 5, not -5: the columns ``p0-5``, ``p5-10`` were read as -5, -10 and refused)
GRID_NAME = re.compile(r"(.*?)((?<![\d.])-?\d+(?:\.\d+)?)")


def _columns_by_value(header: list[str], grid: list[float], sample_path: str) -> list[str]:
    """The sample's column for each bin / level of ``grid``, in the grid's order: the column naming its value where
    every column names one (``Yards20 .. Yards-20`` for the bins -20 .. 20: the sample's order need not be the
    grid's), else the columns in the sample's order. Columns named in another order than the grid, whose values are
    not the grid's, are a :class:`DataError`: which column takes which bin cannot be told (in order, the CDF at
    -20 was written under ``Yards20``)."""
    named = [GRID_NAME.fullmatch(c.strip()) for c in header]
    if not all(named):
        return header
    values = [float(m.group(2)) for m in named if m]
    if _positions([m.group(1) for m in named if m], values, len(grid)):
        return header  # bin_0 .. bin_40: the first bin, the second, .. (it was warned of as values 0 .. 40, every time)
    for scale in (1.0, 100.0):  # the values, or quantile levels in percent (q90 .. q10 for 0.9 .. 0.1)
        by_value = {v / scale: c for v, c in zip(values, header, strict=True)}
        if len(by_value) == len(grid) and all(any(math.isclose(v, g, abs_tol=1e-9) for v in by_value) for g in grid):
            return [next(c for v, c in by_value.items() if math.isclose(v, g, abs_tol=1e-9)) for g in grid]
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise DataError(
            f"the sample submission {sample_path!r} names its columns by values in another order than the run's "
            f"bins / quantile levels ({header[0]!r}, {header[1]!r}, .. for {grid_label(grid[0])}, "
            f"{grid_label(grid[1])}, ..), and not the same values: set [distribution] bins (or quantiles) to the "
            "values the sample's columns name, or name the columns with [distribution] columns = 'Name{}'"
        )
    warnings.warn(
        f"the sample submission {sample_path!r} names its columns by the values {grid_label(values[0])} .. "
        f"{grid_label(values[-1])}, but the run's bins / quantile levels are {grid_label(grid[0])} .. "
        f"{grid_label(grid[-1])}: each column takes the one in its place ({header[0]!r} gets "
        f"{grid_label(grid[0])}'s). If the sample's values are the ones to predict, set [distribution] bins (or "
        "quantiles) to them and run again",
        DataWarning,
        stacklevel=4,
    )
    return header


#: prefixes of columns that number the bins by their place, not by their value (``bin_0`` .. ``bin_40``)
_POSITION_PREFIXES = ("bin", "bins", "col", "column", "idx", "index", "pos", "position")


def _positions(prefixes: list[str], values: list[float], n: int) -> bool:
    """Whether columns named ``prefixes[i]`` + ``values[i]`` number ``n`` bins by their place: one prefix of
    :data:`_POSITION_PREFIXES` (case and separators aside) and the numbers 0 .. n-1 or 1 .. n in order."""
    squashed = {re.sub(r"[^0-9a-z]", "", p.lower()) for p in prefixes}
    if len(squashed) != 1 or squashed.pop() not in _POSITION_PREFIXES or len(values) != n:
        return False
    return values in ([float(i) for i in range(n)], [float(i) for i in range(1, n + 1)])


def distribution_columns(meta: dict) -> list[str]:
    """A distribution task's submission columns, one per bin / level: ``[distribution] columns`` filled in, else the
    sample submission's columns after the id (as many as there are bins; those run.json recorded where the run folder
    moved without the file), else ``cdf_<bin>`` / ``q_<level>``."""
    grid = [float(v) for v in meta["grid"]]
    template = meta.get("grid_columns")
    if template:
        return [template.replace("{}", grid_label(v)) for v in grid]
    sample_path = meta.get("sample_submission")
    columns: list[str] = []
    sample = None
    if sample_path and Path(sample_path).is_file():
        sample = read_sample(Path(sample_path), meta.get("encoding"))
    elif sample_path and meta.get("sample_columns"):  # `predict` from a moved run folder (a code competition's)
        recorded, row = [c for c in meta["sample_columns"] if c.strip()], meta.get("sample_first_row")
        row = row if row and len(row) == len(meta["sample_columns"]) else None
        row = [v for c, v in zip(meta["sample_columns"], row, strict=True) if c.strip()] if row else None
        sample = pl.DataFrame({c: [v] for c, v in zip(recorded, row, strict=True)} if row else dict.fromkeys(recorded))
    if sample is not None:  # without a saved pandas index (row numbers, which `submit` leaves out, saying so): no bin
        index = saved_index(sample, meta.get("id_column"))
        columns = [c for c in sample.columns if c != index]
    if columns:
        id_col = meta.get("id_column") or columns[0]
        header = [c for c in columns if c.strip().casefold() != id_col.strip().casefold()]
        if len(header) != len(grid):
            raise DataError(
                f"the sample submission {sample_path!r} has {len(header)} prediction column(s) but the run predicts "
                f"{len(grid)} (one per bin / quantile level); name them with [distribution] columns = 'Name{{}}', or "
                "give the bins the sample's columns stand for"
            )
        return _columns_by_value(header, grid, sample_path)
    return grid_columns(run_metric(meta))  # the stored prediction columns
