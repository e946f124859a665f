"""Fold assignment as data.

A run computes its folds once with :func:`make_folds`, saves them (:meth:`Folds.to_frame`, e.g. to
parquet), and every model reads the same fold-id matrix back. Models never re-derive splits from a seed, so
out-of-fold predictions from different models (and different processes, machines or library versions) line up
row for row, and :meth:`Folds.fingerprint` tells a run whether cached predictions were made on the same folds.

The matrix ``Folds.ids`` has shape ``(n_repeats, n_rows)``; ``ids[r, i]`` is the fold in which row ``i`` is
validated in repeat ``r``, or ``-1`` when it is never validated (the first block of time folds). Which rows a
fold *trains* on is given by ``Folds.scheme``:

* ``"complement"``: every row of the repeat outside the fold (``-1`` rows train every fold);
* ``"past"``: rows whose fold id is smaller than the fold's (``-1`` included), an expanding window in time.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import polars as pl

from kaggle_kit.errors import ConfigError, DataError, allowed, did_you_mean

__all__ = ["FOLD_COLUMN_PREFIX", "MAX_QUANTILE_BINS", "FoldScheme", "FoldStrategy", "Folds", "make_folds"]

FoldStrategy = Literal["kfold", "stratified", "group", "stratified_group", "time"]
FoldScheme = Literal["complement", "past"]

#: Columns of :meth:`Folds.to_frame` are ``fold_r0``, ``fold_r1``, ... (one per repeat).
FOLD_COLUMN_PREFIX = "fold_r"
#: A regression target (floating ``y``) is stratified on at most this many quantile bins.
MAX_QUANTILE_BINS = 10

_STRATEGIES: tuple[str, ...] = get_args(FoldStrategy)
_SCHEMES: tuple[str, ...] = get_args(FoldScheme)
_FOLD_COLUMN = re.compile(rf"^{FOLD_COLUMN_PREFIX}(\d+)$")
_FINGERPRINT_VERSION = "kaggle_kit.folds/v1"


@dataclass(frozen=True, eq=False)
class Folds:
    """The fold id of every row in every repeat, plus how training rows are chosen.

    ``ids`` is stored as a read-only copy (int16, or int32 when ``n_splits`` does not fit int16), so a
    ``Folds`` is immutable and its fingerprint cannot drift. Two ``Folds`` are equal when their ids,
    ``n_splits`` and ``scheme`` are equal.
    """

    ids: np.ndarray
    n_splits: int
    scheme: FoldScheme

    def __post_init__(self) -> None:
        _check_int("n_splits", self.n_splits, minimum=2)
        if self.scheme not in _SCHEMES:
            raise ConfigError(
                f"folds: scheme={self.scheme!r} is unknown; use {allowed(_SCHEMES)}."
                + did_you_mean(str(self.scheme), _SCHEMES)
            )
        ids = np.asarray(self.ids)
        if ids.ndim != 2:
            raise DataError(
                f"folds: ids must be a 2-D (n_repeats, n_rows) matrix, got shape {ids.shape}; "
                "wrap a single repeat as ids[None, :]."
            )
        if ids.shape[0] < 1 or ids.shape[1] < 1:
            raise DataError(f"folds: ids has shape {ids.shape}; it needs at least one repeat and one row.")
        if ids.dtype.kind not in "iu":
            if ids.dtype.kind == "f" and np.all(np.isfinite(ids)) and np.all(ids == np.round(ids)):
                ids = ids.astype(np.int64)
            else:
                raise DataError(
                    f"folds: ids must hold integer fold ids, got dtype {ids.dtype}; "
                    "store fold columns as integers (-1 for never-validated rows)."
                )
        low, high = int(ids.min()), int(ids.max())
        if low < -1 or high >= self.n_splits:
            raise DataError(
                f"folds: fold ids must lie in [-1, {self.n_splits - 1}] for n_splits={self.n_splits}, "
                f"found values from {low} to {high}; check that n_splits matches the saved folds."
            )
        for r in range(ids.shape[0]):
            present = np.bincount(ids[r][ids[r] >= 0], minlength=self.n_splits)
            empty = np.flatnonzero(present == 0)
            if empty.size:
                raise DataError(
                    f"folds: repeat {r} has no rows in fold(s) {empty.tolist()}; every fold needs validation "
                    f"rows. Check that n_splits={self.n_splits} matches the saved folds."
                )
            if self.scheme == "past" and not np.any(ids[r] == -1):
                raise DataError(
                    f"folds: repeat {r} has no rows with fold id -1, so fold 0 of a 'past' scheme would "
                    "train on nothing; mark the first time block -1 or use scheme='complement'."
                )
        dtype = np.int16 if self.n_splits <= np.iinfo(np.int16).max else np.int32
        stored = np.array(ids, dtype=dtype, copy=True)
        stored.flags.writeable = False
        object.__setattr__(self, "ids", stored)
        object.__setattr__(self, "n_splits", int(self.n_splits))

    @property
    def n_repeats(self) -> int:
        """Number of repeats (rows of ``ids``)."""
        return int(self.ids.shape[0])

    @property
    def n_rows(self) -> int:
        """Number of data rows (columns of ``ids``)."""
        return int(self.ids.shape[1])

    def tasks(self) -> list[tuple[int, int]]:
        """All ``(repeat, fold)`` pairs, repeat-major: the units of work a model trains."""
        return [(r, k) for r in range(self.n_repeats) for k in range(self.n_splits)]

    def train_valid(self, repeat: int, fold: int) -> tuple[np.ndarray, np.ndarray]:
        """Sorted int64 row indices ``(train, valid)`` of one fold of one repeat."""
        if not isinstance(repeat, (int, np.integer)) or not 0 <= repeat < self.n_repeats:
            raise ConfigError(f"folds: repeat={repeat!r} is out of range; use 0 to {self.n_repeats - 1}.")
        if not isinstance(fold, (int, np.integer)) or not 0 <= fold < self.n_splits:
            raise ConfigError(f"folds: fold={fold!r} is out of range; use 0 to {self.n_splits - 1}.")
        row = self.ids[int(repeat)]
        valid = np.flatnonzero(row == fold).astype(np.int64)
        train_mask = row != fold if self.scheme == "complement" else row < fold
        return np.flatnonzero(train_mask).astype(np.int64), valid

    def fewest_training_rows(self) -> tuple[tuple[int, int], int]:
        """The ``(repeat, fold)`` that trains on the fewest rows, and their count (a time-ordered scheme's first)."""
        sizes = {(r, k): int(self.train_valid(r, k)[0].size) for r, k in self.tasks()}
        task = min(sizes, key=sizes.__getitem__)
        return task, sizes[task]

    def fingerprint(self) -> str:
        """SHA-256 hex digest of the ids, ``n_splits`` and ``scheme``.

        The ids are hashed as little-endian int32 whatever their in-memory dtype, so the digest is the same
        across processes, platforms and numpy versions.
        """
        header = {
            "version": _FINGERPRINT_VERSION,
            "n_splits": self.n_splits,
            "scheme": self.scheme,
            "shape": list(self.ids.shape),
        }
        digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
        digest.update(np.ascontiguousarray(self.ids, dtype="<i4").tobytes())
        return digest.hexdigest()

    def to_frame(self, row_ids: pl.Series | None = None) -> pl.DataFrame:
        """One column per repeat (``fold_r0``, ``fold_r1``, ...), led by ``row_ids`` when given.

        ``row_ids`` keeps the frame joinable to the data after a reorder; it is named after the series
        (``"id"`` if the series has no name).
        """
        columns: list[pl.Series] = []
        if row_ids is not None:
            if not isinstance(row_ids, pl.Series):
                raise DataError(
                    f"folds: row_ids must be a polars Series, got {type(row_ids).__name__}; "
                    "pass frame['id'] (or pl.Series('id', values))."
                )
            if len(row_ids) != self.n_rows:
                raise DataError(
                    f"folds: row_ids {row_ids.name!r} has {len(row_ids)} values but the folds cover "
                    f"{self.n_rows} rows; pass the id column of the same table the folds were made for."
                )
            name = row_ids.name or "id"
            if _FOLD_COLUMN.match(name):
                raise DataError(
                    f"folds: row_ids is named {name!r}, which clashes with the fold columns; rename it "
                    "(e.g. row_ids.alias('id'))."
                )
            columns.append(row_ids.alias(name))
        dtype = pl.Int16 if self.ids.dtype == np.int16 else pl.Int32
        columns.extend(pl.Series(f"{FOLD_COLUMN_PREFIX}{r}", self.ids[r], dtype=dtype) for r in range(self.n_repeats))
        return pl.DataFrame(columns)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, n_splits: int, scheme: str) -> Folds:
        """Rebuild folds saved by :meth:`to_frame`; columns other than ``fold_r<k>`` (the id) are ignored."""
        found = {int(m.group(1)): name for name in frame.columns if (m := _FOLD_COLUMN.match(name))}
        if not found:
            raise DataError(
                f"folds: the frame has no '{FOLD_COLUMN_PREFIX}0' column (columns: {frame.columns}); "
                "load a file written by Folds.to_frame."
            )
        expected = list(range(len(found)))
        if sorted(found) != expected:
            missing = [f"{FOLD_COLUMN_PREFIX}{r}" for r in range(max(found) + 1) if r not in found]
            raise DataError(
                f"folds: fold columns must be {FOLD_COLUMN_PREFIX}0..{FOLD_COLUMN_PREFIX}{max(found)} "
                f"without gaps, missing {missing}; the fold file is incomplete, re-create it with make_folds."
            )
        for r in expected:
            column = frame[found[r]]
            if column.null_count():
                raise DataError(
                    f"folds: column {found[r]!r} has {column.null_count()} null(s); every row needs a fold "
                    "id (-1 for never validated). Re-create the fold file with make_folds."
                )
            if not column.dtype.is_integer():
                raise DataError(
                    f"folds: column {found[r]!r} has dtype {column.dtype}, expected integers; "
                    "re-create the fold file with make_folds."
                )
        ids = np.stack([frame[found[r]].to_numpy() for r in expected])
        return cls(ids=ids, n_splits=n_splits, scheme=scheme)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Folds):
            return NotImplemented
        return self.n_splits == other.n_splits and self.scheme == other.scheme and np.array_equal(self.ids, other.ids)

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def __repr__(self) -> str:
        return (
            f"Folds(n_repeats={self.n_repeats}, n_rows={self.n_rows}, n_splits={self.n_splits}, "
            f"scheme={self.scheme!r}, fingerprint={self.fingerprint()[:12]!r})"
        )


def make_folds(
    n_rows: int,
    *,
    strategy: FoldStrategy,
    n_splits: int = 5,
    n_repeats: int = 1,
    seed: int = 0,
    y: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    order: np.ndarray | None = None,
    shuffle: bool = True,
    merge_rare: bool = False,
) -> Folds:
    """Assign every row to a fold, ``n_repeats`` times, with a scikit-learn splitter.

    All strategies but ``"time"`` give ``scheme="complement"``: each row is validated exactly once per repeat.

    * ``"kfold"``: :class:`~sklearn.model_selection.KFold`.
    * ``"stratified"``: :class:`~sklearn.model_selection.StratifiedKFold` on ``y``. A 2-D ``y`` (rows, labels) of
      0/1 labels (NaN = missing) is a multilabel target: iterative stratification
      (:mod:`kaggle_kit.runtime.iterative_stratification`). A floating 1-D ``y`` is taken
      as a regression target and stratified on quantile bins: ``MAX_QUANTILE_BINS`` (10) bins, or fewer when
      rows are few (at most ``n_rows // n_splits``), with tied edges collapsed and any bin smaller than
      ``n_splits`` merged into its neighbour. Pass class labels as ints, bools or strings, never floats. A class
      with fewer than ``n_splits`` rows is refused, unless ``merge_rare``: then the rare classes are stratified as
      one (:func:`rare_classes` names them), one row a fold where they are fewer than ``n_splits`` rows together
      (a two-class ``y`` whose rarer class has one row is still refused).
    * ``"group"``: :class:`~sklearn.model_selection.GroupKFold` on ``groups``; a group never spans two folds.
      With ``shuffle=True`` scikit-learn permutes the groups and deals out equal *numbers of groups* per fold,
      so fold sizes in rows vary when group sizes do; ``shuffle=False`` balances rows instead but is
      deterministic, so it allows one repeat only.
    * ``"stratified_group"``: :class:`~sklearn.model_selection.StratifiedGroupKFold` on ``y`` and ``groups``
      (a floating ``y`` is binned as above). Its shuffle only breaks ties between groups of equal class
      profile, so repeats can coincide when groups are few and all different.
    * ``"time"``: :class:`~sklearn.model_selection.TimeSeriesSplit` on rows sorted by ``order`` (row order
      when ``None``). Fold ``k`` is the ``k``-th consecutive block; rows before the first block get ``-1``
      and only ever train; ``scheme="past"`` (fold ``k`` trains on everything earlier). Block edges move so
      that rows with equal ``order`` share a block, so training rows always strictly precede validation
      rows. ``seed`` and ``shuffle`` are ignored and ``n_repeats`` must be 1.

    Repeat ``r`` uses ``random_state=seed + r``. ``y``, ``groups`` and ``order`` are ignored by strategies
    that do not use them. The result depends only on the inputs and ``seed``.
    """
    _check_int("n_rows", n_rows, minimum=1)
    if strategy not in _STRATEGIES:
        raise ConfigError(
            f"folds: strategy={strategy!r} is unknown; use {allowed(_STRATEGIES)}."
            + did_you_mean(str(strategy), _STRATEGIES)
        )
    _check_int("n_splits", n_splits, minimum=2)
    _check_int("n_repeats", n_repeats, minimum=1)
    _check_int("seed", seed, minimum=0)
    if n_splits > n_rows:
        raise DataError(
            f"folds: n_splits={n_splits} is more than the {n_rows} rows; lower n_splits to at most {n_rows}."
        )

    if strategy == "time":
        if n_repeats != 1:
            raise ConfigError(
                f"folds: strategy='time' allows n_repeats=1 only (got {n_repeats}): time blocks are fixed by "
                "order, so repeats would be identical. Set n_repeats=1."
            )
        ids = _time_ids(n_rows, n_splits, order)
        return Folds(ids=ids[None, :], n_splits=n_splits, scheme="past")

    if n_repeats > 1 and not shuffle:
        raise ConfigError(
            f"folds: n_repeats={n_repeats} with shuffle=False would repeat identical folds; "
            "set shuffle=True or n_repeats=1."
        )

    if strategy == "stratified" and y is not None and np.ndim(y) == 2:  # several label columns
        return _multilabel_folds(np.asarray(y), n_rows, n_splits, n_repeats, seed, shuffle)

    labels = group_codes = None
    if strategy in ("stratified", "stratified_group"):
        labels = _stratification_labels(y, n_rows, n_splits, strategy, merge_rare)
    if strategy in ("group", "stratified_group"):
        group_codes = _group_codes(groups, n_rows, n_splits, strategy)

    dtype = np.int16 if n_splits <= np.iinfo(np.int16).max else np.int32
    ids = np.full((n_repeats, n_rows), -1, dtype=dtype)
    placeholder = np.zeros((n_rows, 1), dtype=np.int8)  # splitters only need len(X)
    # imported here: scikit-learn takes ~1 s to import and `import kaggle_kit` should stay instant
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    for r in range(n_repeats):
        random_state = seed + r if shuffle else None
        splitter: Any
        if strategy == "kfold":
            splitter = KFold(n_splits, shuffle=shuffle, random_state=random_state)
        elif strategy == "stratified":
            splitter = StratifiedKFold(n_splits, shuffle=shuffle, random_state=random_state)
        elif strategy == "group":
            splitter = GroupKFold(n_splits, shuffle=shuffle, random_state=random_state)
        else:
            splitter = StratifiedGroupKFold(n_splits, shuffle=shuffle, random_state=random_state)
        with warnings.catch_warnings():
            if merge_rare:  # a merged stratum of fewer than n_splits rows: one row a fold, as meant
                warnings.filterwarnings("ignore", "The least populated class", UserWarning)
            for k, (_, valid) in enumerate(splitter.split(placeholder, labels, group_codes)):
                ids[r, valid] = k
        if np.any(ids[r] < 0):  # pragma: no cover - scikit-learn splitters partition the rows
            raise RuntimeError(f"folds: {type(splitter).__name__} left rows unassigned in repeat {r}")
    return Folds(ids=ids, n_splits=n_splits, scheme="complement")


# --------------------------------------------------------------------------------------------------- helpers
def _multilabel_folds(y: np.ndarray, n_rows: int, n_splits: int, n_repeats: int, seed: int, shuffle: bool) -> Folds:
    """``"stratified"`` on a ``(n_rows, L)`` label matrix: iterative stratification, repeat ``r`` seeded
    ``seed + r`` (``shuffle=False``: seed 0, as a fixed deal)."""
    from .iterative_stratification import iterative_stratification

    if y.shape[0] != n_rows:
        raise DataError(f"folds: y has {y.shape[0]} rows but n_rows={n_rows}; pass one label row per row.")
    dtype = np.int16 if n_splits <= np.iinfo(np.int16).max else np.int32
    ids = np.stack([iterative_stratification(y, n_splits, seed + r if shuffle else 0) for r in range(n_repeats)])
    return Folds(ids=ids.astype(dtype), n_splits=n_splits, scheme="complement")


def _check_int(key: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"folds: {key} must be an integer, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        hint = " (5 is the usual choice)" if key == "n_splits" else ""
        raise ConfigError(f"folds: {key}={value} is too small; set {key} to {minimum} or more{hint}.")


def _as_column(key: str, values: object, n_rows: int) -> np.ndarray:
    """``values`` as a 1-D array of length ``n_rows`` (lists, numpy arrays and polars Series are accepted)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"folds: {key} must be 1-D (one value per row), got shape {array.shape}.")
    if len(array) != n_rows:
        raise DataError(f"folds: {key} has {len(array)} values but n_rows={n_rows}; pass one {key} value per row.")
    return array


def _missing_mask(array: np.ndarray) -> np.ndarray:
    """True where a value is NaN, NaT, None or another missing marker (``pd.NA``)."""
    if array.dtype.kind in "fc":
        return np.isnan(array)
    if array.dtype.kind in "mM":
        return np.isnat(array)
    if array.dtype.kind != "O":
        return np.zeros(len(array), dtype=bool)

    def missing(value: object) -> bool:
        if value is None:
            return True
        try:
            return bool(value != value)  # NaN and NaT are the only values unequal to themselves
        except (TypeError, ValueError):  # pd.NA: its comparisons are ambiguous
            return True

    return np.fromiter((missing(v) for v in array), dtype=bool, count=len(array))


def _factorize(array: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Distinct values (sorted where comparable) and the int64 code of each element."""
    try:
        uniques, codes = np.unique(array, return_inverse=True)
        return uniques.tolist(), codes.reshape(-1).astype(np.int64)
    except TypeError:  # mixed, unorderable types in an object array: first-appearance order
        index: dict[Any, int] = {}
        codes = np.fromiter((index.setdefault(v, len(index)) for v in array), dtype=np.int64, count=len(array))
        return list(index), codes


def _reject_missing(key: str, array: np.ndarray, strategy: str) -> None:
    mask = _missing_mask(array)
    if mask.any():
        rows = np.flatnonzero(mask)
        raise DataError(
            f"folds: {key} has {rows.size} missing value(s) (NaN/None), first at row {int(rows[0])}; "
            f"strategy={strategy!r} needs a value for every row. Fill them (e.g. with a sentinel) first."
        )


def rare_classes(y: np.ndarray, n_splits: int) -> list[tuple[Any, int]]:
    """The classes of ``y`` with fewer than ``n_splits`` rows, with their counts (fewest first)."""
    classes, codes = _factorize(_as_column("y", y, len(y)))
    counts = np.bincount(codes, minlength=len(classes))
    small = np.flatnonzero(counts < n_splits)
    return [(classes[i], int(counts[i])) for i in small[np.argsort(counts[small], kind="stable")]]


#: labelled training rows a fold needs of each multiregression target: a model of it fitted on one row predicts a
#: constant, and LightGBM stops on it (``Check failed: (num_data) > (0)``)
MIN_LABELLED_TRAINING_ROWS = 2


def check_labelled_targets(y: np.ndarray, targets: Sequence[str], folds: Folds) -> None:
    """Every fold of a multiregression run must train on at least :data:`MIN_LABELLED_TRAINING_ROWS` labelled rows of
    each target (``y``: ``(n, T)``, NaN where a label is missing); refused before any fit, naming the column and the
    fix. A target whose labels left a fold fewer than that had failed inside the fold: a DataError naming
    ``data.target[1]``, or LightGBM's stack trace."""
    labelled = ~np.isnan(np.asarray(y, dtype=np.float64).reshape(len(y), -1))
    counts = labelled.sum(axis=0)
    for r, k in folds.tasks():
        training = labelled[folds.train_valid(r, k)[0]].sum(axis=0)
        short = np.flatnonzero(training < MIN_LABELLED_TRAINING_ROWS)
        if not short.size:
            continue
        j = int(short[0])
        name, count, where = targets[j], int(counts[j]), f"fold {k + 1}" + (f" of repeat {r}" if r else "")
        # no fold count is the fix: fewer folds hold more of its labelled rows out of each fold's training rows (it
        # said "use fewer folds" at n_splits = 2), and more spread them only by chance
        fix = f"label more rows, or remove {name!r} from data.target"
        raise DataError(
            f"the target column {name!r} has {count} labelled row(s) of {len(labelled)}; {where} leaves "
            f"{int(training[j])} of them to train on, and a model of it needs at least {MIN_LABELLED_TRAINING_ROWS} "
            f"in every fold: {fix}"
        )


def _stratification_labels(
    y: object, n_rows: int, n_splits: int, strategy: str, merge_rare: bool = False
) -> np.ndarray:
    if y is None:
        raise ConfigError(
            f"folds: strategy={strategy!r} needs y (the target) to stratify on; pass y= or use "
            f"strategy={'kfold' if strategy == 'stratified' else 'group'!r}."
        )
    array = _as_column("y", y, n_rows)
    _reject_missing("y", array, strategy)
    if array.dtype.kind == "f":
        return _quantile_bins(array, n_splits)
    classes, codes = _factorize(array)
    counts = np.bincount(codes, minlength=len(classes))
    small = np.flatnonzero(counts < n_splits)
    # a binary target's 1-row class stays refused: the fold that validates it trains on one class (a linear model
    # fails, the CV means nothing), and no fold split helps
    if small.size and merge_rare and not (len(classes) == 2 and counts.min() < 2):
        # one stratum of the rare classes' rows, spread over the folds
        rare = counts < n_splits
        # fewer than n_splits rows even together: still their own stratum, which StratifiedKFold deals one a fold
        # (its 'least populated class' warning is silenced below); joined to a large class, two of a binary task's
        # 2 minority rows could share a fold, and that fold's training rows then hold none of them
        return np.where(rare[codes], len(classes), codes)
    if small.size:
        worst = int(small[np.argmin(counts[small])])
        others = f" ({small.size} classes are that small)" if small.size > 1 else ""
        alternative = "kfold" if strategy == "stratified" else "group"
        if counts[worst] < 2:  # no n_splits helps: a stratified split needs each class in two folds at least
            raise DataError(
                f"folds: class {classes[worst]!r} of y has only 1 member{others}: too few rows for any stratified "
                f"split (each fold must hold some of every class); use strategy={alternative!r}, or drop or merge "
                "that class's rows."
            )
        raise DataError(
            f"folds: class {classes[worst]!r} of y has only {int(counts[worst])} member(s), fewer than "
            f"n_splits={n_splits}{others}; lower n_splits to {int(counts[worst])} or less, merge rare "
            f"classes, or use strategy={alternative!r}."
        )
    return codes


def _quantile_bins(y: np.ndarray, n_splits: int) -> np.ndarray:
    """Bin a regression target into at most ``MAX_QUANTILE_BINS`` quantile bins of >= ``n_splits`` rows."""
    n_bins = max(1, min(MAX_QUANTILE_BINS, len(y) // n_splits))
    edges = np.unique(np.quantile(y, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))
    codes = np.searchsorted(edges, y, side="right")
    counts = np.bincount(codes, minlength=len(edges) + 1)
    # Ties can leave bins smaller than n_splits (StratifiedKFold would then warn and under-fill folds): sweep
    # low to high, closing a bin once it holds n_splits rows, and fold a short tail into the last closed bin.
    mapping = np.empty(len(counts), dtype=np.int64)
    current = filled = 0
    for b, count in enumerate(counts):
        mapping[b] = current
        filled += int(count)
        if filled >= n_splits:
            current, filled = current + 1, 0
    if filled and current:
        mapping[mapping == current] = current - 1
    return np.unique(mapping[codes], return_inverse=True)[1].reshape(-1)


def _group_codes(groups: object, n_rows: int, n_splits: int, strategy: str) -> np.ndarray:
    if groups is None:
        raise ConfigError(
            f"folds: strategy={strategy!r} needs groups (e.g. a patient or user id column); pass groups= or "
            f"use strategy={'kfold' if strategy == 'group' else 'stratified'!r}."
        )
    array = _as_column("groups", groups, n_rows)
    _reject_missing("groups", array, strategy)
    uniques, codes = _factorize(array)
    if len(uniques) < n_splits:
        raise DataError(
            f"folds: groups has {len(uniques)} distinct value(s) but n_splits={n_splits}; each fold needs at "
            f"least one whole group, so lower n_splits to {max(2, len(uniques))} or less, or use a finer "
            "group column."
        )
    return codes


def _time_ids(n_rows: int, n_splits: int, order: object) -> np.ndarray:
    """Fold ids of consecutive blocks of rows sorted by ``order``; the leading training-only block gets -1."""
    if n_rows < n_splits + 1:
        raise DataError(
            f"folds: strategy='time' with n_splits={n_splits} needs at least {n_splits + 1} rows (one "
            f"training block plus {n_splits} validation blocks), got {n_rows}; lower n_splits."
        )
    if order is None:
        sorter = np.arange(n_rows)
        keys = sorter
    else:
        array = _as_column("order", order, n_rows)
        _reject_missing("order", array, "time")
        try:
            sorter = np.argsort(array, kind="stable")
        except TypeError as exc:
            raise DataError(
                f"folds: order values cannot be sorted ({exc}); pass one sortable key per row, such as a "
                "date column or its integer timestamps."
            ) from exc
        keys = array[sorter]

    from sklearn.model_selection import TimeSeriesSplit

    starts = [int(valid[0]) for _, valid in TimeSeriesSplit(n_splits).split(np.zeros((n_rows, 1)))]
    # Rows sharing an order value (e.g. one date) must not straddle a block edge, or some training rows would
    # be as late as validation rows: move each edge to the nearer end of its run of equal keys.
    snapped = []
    for start in starts:
        lo = int(np.searchsorted(keys, keys[start], side="left"))
        hi = int(np.searchsorted(keys, keys[start], side="right"))
        snapped.append(lo if start - lo <= hi - start or hi >= n_rows else hi)
    bounds = [0, *snapped, n_rows]
    if any(b <= a for a, b in itertools.pairwise(bounds)):
        raise DataError(
            f"folds: order has too few distinct values to cut {n_splits} time folds plus a training block "
            f"without splitting rows of equal order; lower n_splits or use a finer order column."
        )
    ids_sorted = np.full(n_rows, -1, dtype=np.int64)
    for k, (lo, hi) in enumerate(itertools.pairwise(bounds[1:])):
        ids_sorted[lo:hi] = k
    ids = np.empty(n_rows, dtype=np.int64)
    ids[sorter] = ids_sorted
    return ids
