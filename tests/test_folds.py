"""Tests for kaggle_kit.runtime.folds: fold assignment as a saved, fingerprinted matrix."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

from kaggle_kit.errors import ConfigError, DataError, KitError
from kaggle_kit.runtime.folds import Folds, make_folds, rare_classes


@pytest.fixture(scope="module")
def cancer_y() -> np.ndarray:
    return load_breast_cancer().target  # binary, 569 rows, 212/357


@pytest.fixture(scope="module")
def digits_y() -> np.ndarray:
    return load_digits().target  # 10 classes, 1797 rows


@pytest.fixture(scope="module")
def diabetes_y() -> np.ndarray:
    return load_diabetes().target  # regression (float), 442 rows


def _group_column(n_rows: int, n_groups: int, seed: int = 0) -> np.ndarray:
    """String group keys of uneven sizes, like patient ids."""
    rng = np.random.default_rng(seed)
    return np.array([f"patient-{g:03d}" for g in rng.integers(0, n_groups, n_rows)])


def assert_partition(folds: Folds) -> None:
    """Complement scheme: each row validated exactly once per repeat; train/valid split every row."""
    assert folds.scheme == "complement"
    everything = np.arange(folds.n_rows)
    for r in range(folds.n_repeats):
        seen = np.zeros(folds.n_rows, dtype=int)
        for k in range(folds.n_splits):
            train, valid = folds.train_valid(r, k)
            assert train.dtype == np.int64 and valid.dtype == np.int64
            assert np.all(np.diff(train) > 0) and np.all(np.diff(valid) > 0)
            assert valid.size > 0
            assert np.intersect1d(train, valid).size == 0
            np.testing.assert_array_equal(np.union1d(train, valid), everything)
            seen[valid] += 1
        np.testing.assert_array_equal(seen, 1)


# ----------------------------------------------------------------------------------------- strategies


def test_kfold_partitions_every_repeat() -> None:
    folds = make_folds(103, strategy="kfold", n_splits=4, n_repeats=3, seed=7)
    assert folds.ids.shape == (3, 103) and folds.n_repeats == 3 and folds.n_rows == 103
    assert folds.ids.dtype == np.int16
    assert_partition(folds)
    sizes = np.stack([np.bincount(folds.ids[r], minlength=4) for r in range(3)])
    assert sizes.max() - sizes.min() <= 1


def test_tasks_are_repeat_major() -> None:
    folds = make_folds(20, strategy="kfold", n_splits=2, n_repeats=2)
    assert folds.tasks() == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_repeats_differ_but_each_is_a_partition(cancer_y: np.ndarray) -> None:
    for strategy in ("kfold", "stratified"):
        folds = make_folds(len(cancer_y), strategy=strategy, n_repeats=3, y=cancer_y, seed=1)
        assert_partition(folds)
        for a in range(3):
            for b in range(a + 1, 3):
                assert not np.array_equal(folds.ids[a], folds.ids[b]), (strategy, a, b)


def test_repeat_r_uses_seed_plus_r() -> None:
    three = make_folds(50, strategy="kfold", n_repeats=3, seed=10)
    for r in range(3):
        single = make_folds(50, strategy="kfold", seed=10 + r)
        np.testing.assert_array_equal(three.ids[r], single.ids[0])


@pytest.mark.parametrize("dataset", ["cancer_y", "digits_y"])
def test_stratified_keeps_class_ratios(dataset: str, request: pytest.FixtureRequest) -> None:
    y = request.getfixturevalue(dataset)
    n_splits = 5
    folds = make_folds(len(y), strategy="stratified", n_splits=n_splits, n_repeats=2, y=y, seed=3)
    assert_partition(folds)
    class_counts = np.bincount(y)
    for r in range(folds.n_repeats):
        for k in range(n_splits):
            _, valid = folds.train_valid(r, k)
            in_fold = np.bincount(y[valid], minlength=len(class_counts))
            ideal = class_counts / n_splits
            assert np.all(np.abs(in_fold - ideal) <= 1), (r, k, in_fold, ideal)


def test_merge_rare_stratifies_the_rare_classes_as_one_and_the_others_each() -> None:
    """Classes rarer than the folds (two 3-row classes, one 2-row class: 8 rows) are refused by default; with
    ``merge_rare`` their 8 rows are spread over the 5 folds as one class (1 or 2 a fold, never 3), and each common
    class keeps its ratio in every fold."""
    y = np.array(["a"] * 50 + ["b"] * 30 + ["r1"] * 3 + ["r2"] * 3 + ["r3"] * 2)
    with pytest.raises(DataError, match="class 'r3' of y has only 2 member"):
        make_folds(len(y), strategy="stratified", y=y, seed=0)
    folds = make_folds(len(y), strategy="stratified", y=y, seed=0, merge_rare=True)
    assert_partition(folds)
    for k in range(5):
        _, valid = folds.train_valid(0, k)
        assert (y[valid] == "a").sum() == 10 and (y[valid] == "b").sum() == 6
        assert np.isin(y[valid], ["r1", "r2", "r3"]).sum() in (1, 2)
    assert rare_classes(y, 5) == [("r3", 2), ("r1", 3), ("r2", 3)]


def test_merge_rare_deals_rare_classes_fewer_than_the_folds_together_one_a_fold() -> None:
    """Two 1-row classes, fewer rows together than the 5 folds, are one stratum dealt one row a fold, without
    scikit-learn's warning of a class smaller than n_splits. Every fold keeps the other classes' ratio."""
    y = np.array(["a"] * 48 + ["b"] * 20 + ["r1", "r2"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'least populated class' warning
        folds = make_folds(len(y), strategy="stratified", y=y, seed=0, merge_rare=True)
    assert_partition(folds)
    for k in range(5):
        _, valid = folds.train_valid(0, k)
        assert (y[valid] == "b").sum() == 4 and np.isin(y[valid], ["a", "r1", "r2"]).sum() == 10
    assert folds.ids[0, -2] != folds.ids[0, -1]


@pytest.mark.parametrize("seed", range(12))
def test_merge_rare_leaves_a_binary_minority_of_two_rows_in_every_folds_training_rows(seed: int) -> None:
    """A binary target with 2 minority rows and 5 folds: joined to the majority, the two rows shared a fold for some
    seeds, whose training rows then held one class (a linear model failed: 'needs samples of at least 2 classes')."""
    y = np.array([0] * 50 + [1] * 2)
    folds = make_folds(len(y), strategy="stratified", y=y, seed=seed, merge_rare=True)
    assert all(y[folds.train_valid(0, k)[0]].sum() >= 1 for k in range(5))


def test_merge_rare_still_refuses_a_binary_class_of_one_row() -> None:
    """Merged, a binary target's single minority row left its fold's training rows with one class: the linear model
    failed ('needs samples of at least 2 classes') and the CV (ROC AUC 0.1) meant nothing. Refused, as before."""
    with pytest.raises(DataError, match="class 1 of y has only 1 member: too few rows for any stratified split"):
        make_folds(51, strategy="stratified", y=np.array([0] * 50 + [1]), seed=0, merge_rare=True)
    three = np.array([0] * 50 + [1] * 10 + [2])  # multiclass: the other classes train every fold
    assert_partition(make_folds(len(three), strategy="stratified", y=three, seed=0, merge_rare=True))


def test_stratified_accepts_string_labels(cancer_y: np.ndarray) -> None:
    labels = np.where(cancer_y == 1, "benign", "malignant")
    folds = make_folds(len(labels), strategy="stratified", y=labels, seed=0)
    assert_partition(folds)
    for k in range(5):
        _, valid = folds.train_valid(0, k)
        assert abs((labels[valid] == "benign").sum() - (cancer_y == 1).sum() / 5) <= 1


def test_stratified_regression_uses_quantile_bins(diabetes_y: np.ndarray) -> None:
    assert diabetes_y.dtype.kind == "f"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "least populated class" warning from scikit-learn
        folds = make_folds(len(diabetes_y), strategy="stratified", y=diabetes_y, seed=0)
    assert_partition(folds)
    # every fold spans the target's range: each of the 10 deciles lands in every fold
    deciles = np.searchsorted(np.quantile(diabetes_y, np.linspace(0, 1, 11)[1:-1]), diabetes_y, side="right")
    for k in range(5):
        _, valid = folds.train_valid(0, k)
        assert set(deciles[valid]) == set(range(10))
    means = [diabetes_y[folds.train_valid(0, k)[1]].mean() for k in range(5)]
    assert np.ptp(means) < 0.05 * diabetes_y.std() * 5


def test_stratified_regression_with_few_rows_uses_fewer_bins() -> None:
    y = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 5.0, 9.0, 9.5, 9.7])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folds = make_folds(len(y), strategy="stratified", n_splits=3, y=y)
    assert_partition(folds)


@pytest.mark.parametrize("strategy", ["group", "stratified_group"])
def test_groups_never_split_across_folds(strategy: str, cancer_y: np.ndarray) -> None:
    groups = _group_column(len(cancer_y), n_groups=60)
    folds = make_folds(len(cancer_y), strategy=strategy, n_repeats=2, y=cancer_y, groups=groups, seed=5)
    assert_partition(folds)
    for r in range(folds.n_repeats):
        frame = pl.DataFrame({"group": groups, "fold": folds.ids[r]})
        per_group = frame.group_by("group").agg(pl.col("fold").n_unique().alias("n"))
        assert per_group["n"].max() == 1


def test_group_repeats_differ() -> None:
    groups = _group_column(300, n_groups=40)
    folds = make_folds(300, strategy="group", n_repeats=2, groups=groups, seed=0)
    assert not np.array_equal(folds.ids[0], folds.ids[1])


def test_group_without_shuffle_is_deterministic_single_repeat() -> None:
    groups = _group_column(300, n_groups=40)
    a = make_folds(300, strategy="group", groups=groups, shuffle=False, seed=0)
    b = make_folds(300, strategy="group", groups=groups, shuffle=False, seed=99)
    assert a == b
    assert_partition(a)


def test_stratified_group_keeps_ratios_roughly(digits_y: np.ndarray) -> None:
    groups = np.arange(len(digits_y)) // 3  # 599 groups of three consecutive images
    folds = make_folds(len(digits_y), strategy="stratified_group", y=digits_y, groups=groups, seed=0)
    overall = np.bincount(digits_y) / len(digits_y)
    for k in range(5):
        _, valid = folds.train_valid(0, k)
        share = np.bincount(digits_y[valid], minlength=10) / valid.size
        assert np.abs(share - overall).max() < 0.02


def test_time_folds_train_on_the_past() -> None:
    rng = np.random.default_rng(0)
    order = rng.integers(20_000, 20_200, size=1_000)  # day numbers, many rows per day, shuffled rows
    folds = make_folds(len(order), strategy="time", n_splits=4, order=order)
    assert folds.scheme == "past" and folds.n_repeats == 1
    never = np.flatnonzero(folds.ids[0] == -1)
    assert never.size > 0
    for k in range(4):
        train, valid = folds.train_valid(0, k)
        assert valid.size > 0
        assert order[train].max() < order[valid].min()
        assert np.isin(never, train).all()
        assert not np.isin(never, valid).any()
        assert np.intersect1d(train, valid).size == 0
    validated = np.concatenate([folds.train_valid(0, k)[1] for k in range(4)])
    assert validated.size == np.unique(validated).size == len(order) - never.size


def test_time_folds_follow_row_order_without_order() -> None:
    folds = make_folds(25, strategy="time", n_splits=4)
    np.testing.assert_array_equal(folds.ids[0], np.repeat([-1, 0, 1, 2, 3], 5))
    train, valid = folds.train_valid(0, 2)
    np.testing.assert_array_equal(train, np.arange(15))
    np.testing.assert_array_equal(valid, np.arange(15, 20))


def test_time_folds_accept_datetimes() -> None:
    dates = np.array(["2024-03-01", "2024-01-01", "2024-02-01", "2024-01-15"] * 10, dtype="datetime64[D]")
    folds = make_folds(len(dates), strategy="time", n_splits=2, order=dates)
    for k in range(2):
        train, valid = folds.train_valid(0, k)
        assert dates[train].max() < dates[valid].min()


# ----------------------------------------------------------------------------------------- determinism


@pytest.mark.parametrize(
    "strategy, kwargs",
    [
        ("kfold", {}),
        ("stratified", {"y": "labels"}),
        ("group", {"groups": "groups"}),
        ("stratified_group", {"y": "labels", "groups": "groups"}),
    ],
)
def test_same_seed_same_ids_and_new_seed_new_ids(strategy: str, kwargs: dict[str, str]) -> None:
    rng = np.random.default_rng(1)
    data = {"labels": rng.integers(0, 3, 400), "groups": _group_column(400, n_groups=80, seed=1)}
    args = {key: data[value] for key, value in kwargs.items()}
    a = make_folds(400, strategy=strategy, n_repeats=2, seed=11, **args)  # type: ignore[arg-type]
    b = make_folds(400, strategy=strategy, n_repeats=2, seed=11, **args)  # type: ignore[arg-type]
    c = make_folds(400, strategy=strategy, n_repeats=2, seed=12, **args)  # type: ignore[arg-type]
    assert a == b and a.fingerprint() == b.fingerprint() and hash(a) == hash(b)
    np.testing.assert_array_equal(a.ids, b.ids)
    assert not np.array_equal(a.ids, c.ids)
    assert a != c and a.fingerprint() != c.fingerprint()


def test_fingerprint_is_pinned() -> None:
    """The digest is part of the run-store format: it must not change across processes, dtypes or releases."""
    folds = Folds(ids=np.array([[0, 1, 0, 1]], dtype=np.int64), n_splits=2, scheme="complement")
    assert folds.fingerprint() == "71386bc671986f2947e7d1f3541a0ead116b6e8e4097067448829edbaa10b6a7"
    assert Folds(np.array([[0, 1, 0, 1]], dtype=np.int8), 2, "complement").fingerprint() == folds.fingerprint()
    complement = Folds(ids=np.array([[-1, 0, 1, 1]]), n_splits=2, scheme="complement")
    past = Folds(ids=np.array([[-1, 0, 1, 1]]), n_splits=2, scheme="past")
    assert complement.fingerprint() != past.fingerprint() and complement != past
    assert Folds(np.array([[0, 1, 2, 1]]), 3, "complement").fingerprint() != folds.fingerprint()


def test_ids_are_read_only() -> None:
    source = np.array([[0, 1, 0, 1]])
    folds = Folds(ids=source, n_splits=2, scheme="complement")
    source[0, 0] = 1  # the caller's array is copied
    assert folds.ids[0, 0] == 0
    with pytest.raises(ValueError):
        folds.ids[0, 0] = 1


# ----------------------------------------------------------------------------------------- frames


def test_frame_round_trip(cancer_y: np.ndarray) -> None:
    folds = make_folds(len(cancer_y), strategy="stratified", n_repeats=3, y=cancer_y, seed=2)
    row_ids = pl.Series("id", np.arange(1000, 1000 + len(cancer_y)))
    frame = folds.to_frame(row_ids)
    assert frame.columns == ["id", "fold_r0", "fold_r1", "fold_r2"]
    assert frame["fold_r0"].dtype == pl.Int16
    back = Folds.from_frame(frame, n_splits=folds.n_splits, scheme=folds.scheme)
    assert back == folds
    assert back.fingerprint() == folds.fingerprint()
    assert Folds.from_frame(folds.to_frame(), 5, "complement") == folds


def test_frame_round_trip_time_folds(tmp_path: Any) -> None:
    folds = make_folds(60, strategy="time", n_splits=3, order=np.arange(60)[::-1])
    path = tmp_path / "folds.parquet"
    folds.to_frame().write_parquet(path)
    back = Folds.from_frame(pl.read_parquet(path), n_splits=3, scheme="past")
    assert back == folds and back.fingerprint() == folds.fingerprint()
    assert back.train_valid(0, 1)[0].tolist() == folds.train_valid(0, 1)[0].tolist()


# ----------------------------------------------------------------------------------------- errors


def _make(**kwargs: Any) -> Callable[[], object]:
    base: dict[str, Any] = {"n_rows": 20, "strategy": "kfold"}
    base.update(kwargs)
    return lambda: make_folds(**base)


_Y20 = np.array([0] * 18 + [1] * 2)
_GROUPS20 = np.repeat(np.arange(4), 5)
_FRAME_OK = pl.DataFrame({"fold_r0": pl.Series([0, 1, 0, 1], dtype=pl.Int16)})

ERRORS: list[tuple[str, Callable[[], object], type[KitError], str]] = [
    ("n_splits < 2", _make(n_splits=1), ConfigError, r"n_splits=1 is too small; set n_splits to 2"),
    ("n_splits not int", _make(n_splits=2.5), ConfigError, r"n_splits must be an integer"),
    ("n_splits > n_rows", _make(n_rows=3, n_splits=5), DataError, r"n_splits=5 is more than the 3 rows"),
    ("unknown strategy", _make(strategy="stratifed"), ConfigError, r"unknown.*Did you mean 'stratified'"),
    ("negative seed", _make(seed=-1), ConfigError, r"seed=-1 is too small"),
    ("n_repeats 0", _make(n_repeats=0), ConfigError, r"n_repeats=0 is too small"),
    ("repeats without shuffle", _make(n_repeats=2, shuffle=False), ConfigError, r"shuffle=False.*identical"),
    ("stratified without y", _make(strategy="stratified"), ConfigError, r"needs y .*'kfold'"),
    (
        "rare class",
        _make(strategy="stratified", y=_Y20),
        DataError,
        r"class 1 of y has only 2 member\(s\), fewer than n_splits=5; lower n_splits.*'kfold'",
    ),
    (
        "rare string class",
        _make(strategy="stratified_group", y=np.array(["a"] * 17 + ["b"] * 3), groups=np.arange(20)),
        DataError,
        r"class 'b' of y has only 3 member",
    ),
    ("y wrong length", _make(strategy="stratified", y=np.zeros(19, int)), DataError, r"y has 19 values"),
    ("y with NaN", _make(strategy="stratified", y=np.r_[np.nan, np.ones(19)]), DataError, r"y has 1 missing"),
    ("group without groups", _make(strategy="group"), ConfigError, r"'group' needs groups"),
    (
        "stratified_group without groups",
        _make(strategy="stratified_group", y=np.arange(20) % 2),
        ConfigError,
        r"'stratified_group' needs groups",
    ),
    (
        "too few groups",
        _make(strategy="group", groups=_GROUPS20),
        DataError,
        r"groups has 4 distinct value\(s\) but n_splits=5;.*lower n_splits to 4 or less",
    ),
    (
        "NaN in groups",
        _make(strategy="group", n_splits=2, groups=np.r_[np.ones(19), np.nan]),
        DataError,
        r"groups has 1 missing value\(s\) \(NaN/None\), first at row 19",
    ),
    (
        "None in groups",
        _make(strategy="group", n_splits=2, groups=np.array(["a", None, "b", "c"] * 5, dtype=object)),
        DataError,
        r"groups has 5 missing value\(s\).*first at row 1",
    ),
    ("time with repeats", _make(strategy="time", n_repeats=2), ConfigError, r"'time' allows n_repeats=1"),
    ("time too few rows", _make(n_rows=5, strategy="time"), DataError, r"needs at least 6 rows"),
    (
        "time ties",
        _make(strategy="time", n_splits=3, order=np.repeat([1, 2], 10)),
        DataError,
        r"order has too few distinct values",
    ),
    (
        "time order NaN",
        _make(strategy="time", order=np.r_[np.arange(19.0), np.nan]),
        DataError,
        r"order has 1 missing",
    ),
    (
        "train_valid repeat",
        lambda: make_folds(20, strategy="kfold").train_valid(1, 0),
        ConfigError,
        r"repeat=1 is out of range; use 0 to 0",
    ),
    (
        "train_valid fold",
        lambda: make_folds(20, strategy="kfold").train_valid(0, 5),
        ConfigError,
        r"fold=5 is out of range; use 0 to 4",
    ),
    (
        "to_frame row_ids length",
        lambda: make_folds(20, strategy="kfold").to_frame(pl.Series("id", range(19))),
        DataError,
        r"row_ids 'id' has 19 values",
    ),
    (
        "from_frame without fold columns",
        lambda: Folds.from_frame(pl.DataFrame({"id": [1, 2]}), 2, "complement"),
        DataError,
        r"no 'fold_r0' column",
    ),
    (
        "from_frame gap",
        lambda: Folds.from_frame(_FRAME_OK.with_columns(fold_r2=pl.col("fold_r0")), 2, "complement"),
        DataError,
        r"missing \['fold_r1'\]",
    ),
    (
        "from_frame nulls",
        lambda: Folds.from_frame(pl.DataFrame({"fold_r0": [0, None, 1]}), 2, "complement"),
        DataError,
        r"'fold_r0' has 1 null",
    ),
    (
        "from_frame wrong n_splits",
        lambda: Folds.from_frame(_FRAME_OK, 5, "complement"),
        DataError,
        r"no rows in fold\(s\) \[2, 3, 4\]",
    ),
    (
        "from_frame ids too high",
        lambda: Folds.from_frame(_FRAME_OK.with_columns(pl.col("fold_r0") * 3), 2, "complement"),
        DataError,
        r"must lie in \[-1, 1\]",
    ),
    (
        "from_frame unknown scheme",
        lambda: Folds.from_frame(_FRAME_OK, 2, "expanding"),
        ConfigError,
        r"scheme='expanding' is unknown",
    ),
    (
        "past scheme without -1 rows",
        lambda: Folds.from_frame(_FRAME_OK, 2, "past"),
        DataError,
        r"no rows with fold id -1",
    ),
]


@pytest.mark.parametrize("call, error, match", [pytest.param(*case[1:], id=case[0]) for case in ERRORS])
def test_errors(call: Callable[[], object], error: type[KitError], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("column", ["g", "count", "rows"])
@pytest.mark.parametrize("n_splits", [2, 3])
def test_a_large_group_is_warned_of_only_beside_groups_much_smaller(n_splits: int, column: str) -> None:
    """2-fold group folds train on about half the rows each: 'fewer than half of them' had warned of a group of 10% of
    the rows. The group named is the largest of the fold that trains on fewest rows. A group column named 'count'
    (Bike Sharing's) crashed the run (polars' value_counts names its column so)."""
    from kaggle_kit.config import build_spec
    from kaggle_kit.readers.competition import prepare_competition
    from kaggle_kit.runtime.runner import _warn_large_group, resolve_folds

    def warned(groups: list[int]) -> list[str]:
        n = len(groups)
        frame = pl.DataFrame({"a": np.arange(n) % 7, column: groups, "y": np.arange(n) % 2})
        data = {"train": "t.csv", "target": "y"}
        logreg = {"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
        spec = build_spec(
            {"name": "g", "task": "binary", "metric": "roc_auc", "data": data, "models": [logreg],
             "folds": {"n_splits": n_splits, "strategy": "group", "group": column}}
        )  # fmt: skip
        competition = prepare_competition(spec, frame, None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _warn_large_group(spec, competition, resolve_folds(spec, competition))
        return [str(w.message) for w in caught]

    even = [g for g in range(11) for _ in range(10 if g in (5, 9) else 9)]  # 101 rows, 11 groups of 9 or 10
    assert warned(even) == []
    (line,) = warned([0] * 70 + [g for g in range(1, 11) for _ in range(3)])  # one group holds 70 of 100 rows
    assert line.startswith(f"folds.group: the group 0 of column {column!r} holds 70 of the 100 training rows (70%)")


def test_the_fold_training_on_the_fewest_rows_is_found_in_any_repeat() -> None:
    ids = np.array([[0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 1, 2]])  # complement: repeat 1 fold 1 trains on 2 rows
    assert Folds(ids=ids, n_splits=3, scheme="complement").fewest_training_rows() == ((1, 1), 2)
    past = Folds(ids=np.array([[-1, 0, 0, 1, 1, 1]]), n_splits=2, scheme="past")  # time order: the first
    assert past.fewest_training_rows() == ((0, 0), 1)
