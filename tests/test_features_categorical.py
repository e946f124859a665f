"""Categorical feature steps against independent references (scikit-learn encoders, numpy counts) on real data:
the digits' pixel intensities (0..16) as categories, the diabetes data's sex and binned age / BMI."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import PredefinedSplit
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

from kaggle_kit.errors import ConfigError, DataError
from kaggle_kit.features import (
    CountEncode,
    FeatureWarning,
    OneHot,
    OrdinalEncode,
    Pipeline,
    RareGroup,
    TargetEncode,
)
from kaggle_kit.features.base import inner_folds

PIXELS = ["p19", "p26", "p36", "p43", "p53"]  # 17 levels at most; edge-ish pixels with rare levels
N_TRAIN = 1300


@pytest.fixture(scope="module")
def digits() -> tuple[pl.DataFrame, np.ndarray]:
    ds = load_digits()
    X = ds.data.astype(np.int64)
    frame = pl.DataFrame({f"p{i}": X[:, i] for i in range(64)})
    return frame.select(PIXELS), ds.target.astype(np.int64)


@pytest.fixture(scope="module")
def diabetes() -> tuple[pl.DataFrame, np.ndarray]:
    ds = load_diabetes()
    age, sex, bmi = ds.data[:, 0], ds.data[:, 1], ds.data[:, 2]
    frame = pl.DataFrame(
        {
            "sex": (sex > 0).astype(np.int64),
            "age_bin": np.digitize(age, np.quantile(age, np.linspace(0, 1, 11)[1:-1])),
            "bmi_bin": np.digitize(bmi, np.quantile(bmi, np.linspace(0, 1, 21)[1:-1])),
        }
    )
    return frame, ds.target.astype(np.float64)


def as_text(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """The same levels under other names: encodings must not depend on the key type."""
    return frame.with_columns(("level-" + pl.col(column).cast(pl.String)).alias(column))


# ---------------------------------------------------------------------------------------------- target encoding
@pytest.mark.filterwarnings("ignore::kaggle_kit.features.base.FeatureWarning")
@pytest.mark.parametrize(
    ("target", "smooth"),
    [("binary", "auto"), ("binary", 10.0), ("multiclass", "auto"), ("regression", "auto"), ("regression", 3.0)],
)
def test_target_encode_matches_sklearn_cross_fitting(digits, diabetes, target: str, smooth) -> None:
    if target == "regression":
        frame, y = diabetes
        train, test, y_train = frame[:350], frame[350:], y[:350]
        kind = "continuous"
    else:
        frame, labels = digits
        y = (labels >= 5).astype(np.int64) if target == "binary" else labels
        train, test, y_train = frame[:N_TRAIN], frame[N_TRAIN:], y[:N_TRAIN]
        kind = target
    cols = train.columns
    seed = 11
    folds = inner_folds(y_train, 5, seed, stratify=target != "regression")
    ref = TargetEncoder(target_type=kind, smooth=smooth, cv=PredefinedSplit(folds))
    ref_train = ref.fit_transform(train.to_numpy(), y_train)
    ref_test = ref.transform(test.to_numpy())

    pipe = Pipeline([TargetEncode(columns=cols, smooth=smooth)])
    # one column as text: the encoding is the same whatever the levels are called
    train_out, state = pipe.fit_transform(as_text(train, cols[1]), y_train, task=target, seed=seed)
    test_out = pipe.transform(as_text(test, cols[1]), state)
    outputs = [o for c in cols for o in state["steps"][0]["state"]["outputs"][c]]
    assert len(outputs) == ref_train.shape[1]
    np.testing.assert_allclose(train_out.select(outputs).to_numpy(), ref_train, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(test_out.select(outputs).to_numpy(), ref_test, rtol=1e-9, atol=1e-12)
    assert state["features"] == outputs  # the categories were replaced by numbers
    assert state["categorical"] == []


def test_out_of_fold_encoding_never_sees_the_rows_own_target(diabetes) -> None:
    """Change one training row's target: its own encoding stays; rows of its level in other inner folds move."""
    frame, y = diabetes
    pipe = Pipeline([TargetEncode(columns=["bmi_bin"], smooth=2.0)])
    base, state = pipe.fit_transform(frame, y, task="regression", seed=5)
    folds = inner_folds(y, 5, 5, stratify=False)
    for row in (0, 17, 200):
        changed = y.copy()
        changed[row] += 1000.0
        out, state2 = pipe.fit_transform(frame, changed, task="regression", seed=5)
        assert out["bmi_bin"][row] == base["bmi_bin"][row]
        same_level = (frame["bmi_bin"] == frame["bmi_bin"][row]).to_numpy()
        others = same_level & (folds != folds[row])
        assert (out["bmi_bin"].to_numpy()[others] > base["bmi_bin"].to_numpy()[others]).all()
        assert state2 != state  # the encoding for validation / test rows does use every training row


def test_target_encode_needs_the_target(digits) -> None:
    frame, _ = digits
    with pytest.raises(ValueError, match=r"step 'target_encode' needs the target: pass y"):
        Pipeline([TargetEncode(columns=PIXELS)]).fit(frame)


# ---------------------------------------------------------------------------------------------- the other encoders
@pytest.mark.filterwarnings("ignore::kaggle_kit.features.base.FeatureWarning")
def test_ordinal_lexical_matches_ordinal_encoder(digits) -> None:
    frame, _ = digits
    train, test = frame[:N_TRAIN], frame[N_TRAIN:]
    pipe = Pipeline([OrdinalEncode(columns=PIXELS, order="lexical")])
    _, state = pipe.fit_transform(train)
    ref = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(train.to_numpy())
    np.testing.assert_array_equal(pipe.transform(test, state).to_numpy(), ref.transform(test.to_numpy()) + 1)
    assert state["categorical"] == PIXELS  # codes stay categorical: trees split them, nets embed them


def test_ordinal_frequency_order_unseen_missing_and_min_count() -> None:
    train = pl.DataFrame({"c": ["b", "a", "b", "c", "b", "a", None, "d"]})
    test = pl.DataFrame({"c": ["a", "b", "c", "z", None, "d"]})
    pipe = Pipeline([OrdinalEncode(columns=["c"], min_count=2)])
    _, state = pipe.fit_transform(train)
    values, counts = np.unique(np.array(["b", "a", "b", "c", "b", "a", "d"]), return_counts=True)
    order = sorted((v for v, n in zip(values, counts, strict=True) if n >= 2), key=lambda v: -counts[values == v][0])
    expected = {v: i + 1 for i, v in enumerate(order)}  # b: 1, a: 2; rarer ones 0
    with pytest.warns(FeatureWarning, match=r"column 'c': 1 row\(s\) hold categories not seen .*'z'.*code 0"):
        out = pipe.transform(test, state)
    assert out["c"].to_list() == [expected["a"], expected["b"], 0, 0, 0, 0]


@pytest.mark.filterwarnings("ignore::kaggle_kit.features.base.FeatureWarning")
@pytest.mark.parametrize(("min_frequency", "max_categories"), [(1, None), (40, None), (0.05, 4), (1, 3)])
def test_one_hot_matches_one_hot_encoder(digits, min_frequency, max_categories) -> None:
    frame, _ = digits
    train, test = frame[:N_TRAIN], frame[N_TRAIN:]
    pipe = Pipeline([OneHot(columns=PIXELS, min_frequency=min_frequency, max_categories=max_categories)])
    train_out, state = pipe.fit_transform(train)
    ref = OneHotEncoder(
        min_frequency=min_frequency if min_frequency != 1 else None,
        max_categories=max_categories,
        handle_unknown="infrequent_if_exist",
        sparse_output=False,
    ).fit(train.to_numpy())
    outputs = [o for c in PIXELS for o in state["steps"][0]["state"]["outputs"][c]]
    assert train_out.columns == outputs and state["features"] == outputs
    np.testing.assert_array_equal(train_out.to_numpy(), ref.transform(train.to_numpy()))
    np.testing.assert_array_equal(pipe.transform(test, state).to_numpy(), ref.transform(test.to_numpy()))


@pytest.mark.parametrize("normalize", [False, True])
def test_count_encode_matches_numpy_counts(digits, normalize: bool) -> None:
    frame, _ = digits
    train = frame[:N_TRAIN].with_columns(pl.when(pl.col("p26") == 3).then(None).otherwise(pl.col("p26")).alias("p26"))
    test = frame[N_TRAIN:]
    pipe = Pipeline([CountEncode(columns=PIXELS, normalize=normalize)])
    _, state = pipe.fit_transform(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureWarning)
        out = pipe.transform(test.with_columns(pl.lit(None, pl.Int64).alias("p43")), state)
    for c in PIXELS:
        column = train[c].to_numpy().astype(float)  # missing as NaN: a level of its own
        test_col = np.full(test.height, np.nan) if c == "p43" else test[c].to_numpy().astype(float)
        expected = np.array([np.sum((column == v) | (np.isnan(column) & np.isnan(v))) for v in test_col], float)
        if normalize:
            expected /= train.height
        np.testing.assert_allclose(out[c].to_numpy(), expected, rtol=1e-12)


def test_rare_group_matches_numpy_counts(digits) -> None:
    frame, _ = digits
    train, test = frame[:N_TRAIN], frame[N_TRAIN:]
    pipe = Pipeline([RareGroup(columns=PIXELS, min_count=30)])
    _, state = pipe.fit_transform(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureWarning)
        out = pipe.transform(test, state)
    for c in PIXELS:
        values, counts = np.unique(train[c].to_numpy(), return_counts=True)
        common = set(values[counts >= 30].tolist())
        expected = [str(v) if v in common else "__rare__" for v in test[c].to_list()]
        assert out[c].to_list() == expected
    assert state["categorical"] == PIXELS  # text now: categorical for the base encoding


def test_unseen_categories_warn_once_per_transform_naming_the_column() -> None:
    train = pl.DataFrame({"city": ["a", "b", "a", "b"] * 5, "shop": ["x", "y"] * 10})
    test = pl.DataFrame({"city": ["a", "paris", "lyon", "paris"], "shop": ["x", "y", "x", "y"]})
    pipe = Pipeline([TargetEncode(columns=["city"], smooth=1.0), CountEncode(columns=["shop"], keep=True)])
    _, state = pipe.fit_transform(train, np.arange(20) % 2, task="binary")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = pipe.transform(test, state)
    messages = [str(w.message) for w in caught if issubclass(w.category, FeatureWarning)]
    assert messages == [
        "column 'city': 3 row(s) hold categories not seen in the training rows (e.g. 'paris'); target_encode gives "
        "them the training mean"
    ]
    assert out["city"][1] == pytest.approx(0.5)  # the prior


def test_one_hot_names_two_columns_would_share_are_refused() -> None:
    """Column 'a' with the level 'b__c' and column 'a__b' with the level 'c' both make 'a__b__c': each column's
    names were checked alone, and polars stopped the fit with its own duplicate-name error."""
    frame = pl.DataFrame({"a": ["b__c", "x"], "a__b": ["c", "y"]})
    with pytest.raises(DataError, match=r"\(one_hot\): it would make column 'a__b__c' twice"):
        Pipeline([{"step": "one_hot"}]).fit(frame)


def test_target_encode_of_uint64_ids_beyond_int64_matches_an_independent_encoding() -> None:
    # 64-bit hash ids (UInt64 above 2**63): the compact-range path cast them to Int64, a polars error at the fit
    rng = np.random.default_rng(0)
    ids = np.array([2**63 + 5, 2**63 + 9, 2**63 + 30], dtype=np.uint64)[rng.integers(0, 3, 60)]
    y = rng.integers(0, 2, 60)
    frame = pl.DataFrame({"k": pl.Series(ids, dtype=pl.UInt64)})
    pipe = Pipeline([TargetEncode(columns=["k"], smooth=0, cv=3)])
    out, state = pipe.fit_transform(frame, y, task="binary", seed=4)
    folds = inner_folds(y, 3, 4, stratify=True)
    oof = [y[(ids == ids[i]) & (folds != folds[i])].mean() for i in range(60)]
    np.testing.assert_allclose(out["k"].to_numpy(), oof)
    levels = [int(v) for v in np.unique(ids)]
    test = pl.DataFrame({"k": pl.Series([*levels, 7], dtype=pl.UInt64)})
    with pytest.warns(FeatureWarning, match="column 'k': 1 row"):
        encoded = pipe.transform(test, state)["k"].to_list()
    np.testing.assert_allclose(encoded, [*(y[ids == v].mean() for v in levels), y.mean()])


@pytest.mark.parametrize("lookup", [CountEncode, OneHot, OrdinalEncode, RareGroup, TargetEncode])
def test_a_lookup_of_a_column_target_encoded_in_place_is_refused(lookup) -> None:
    # each training row holds its own out-of-fold encoding and other rows the full fit's: count_encode after
    # target_encode gave the training rows counts (9, 11, ...) and every other row 0 (one_hot all zeros, ordinal 0,
    # rare_group the rare label, target_encode the prior), without a word for a fold's validation rows
    rng = np.random.default_rng(0)
    train = pl.DataFrame({"city": rng.choice(list("abcde"), 200)})
    y = rng.integers(0, 2, 200)
    with pytest.raises(ConfigError, match=rf"steps\[1\] \({lookup.kind}\): columns names 'city', which an earlier "
                       r"target_encode step replaced with its out-of-fold encoding.*keep = true"):  # fmt: skip
        Pipeline([TargetEncode(columns=["city"]), lookup(columns=["city"])]).fit(train, y, task="binary")
    # keep = true: the encoding beside the column, which the lookup reads as it is
    pipe = Pipeline([TargetEncode(columns=["city"], keep=True), CountEncode(columns=["city"])])
    _, state = pipe.fit_transform(train, y, task="binary")
    counts = dict(zip(*np.unique(train["city"].to_numpy(), return_counts=True), strict=True))
    test = pl.DataFrame({"city": ["a", "e", "c"]})
    assert pipe.transform(test, state)["city"].to_list() == [counts["a"], counts["e"], counts["c"]]
