"""Numeric feature steps against independent references (scikit-learn, numpy) on real data (breast cancer, diabetes),
plus the documented rules for constant and all-missing columns."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler

from kaggle_kit.errors import ConfigError, DataError
from kaggle_kit.features import (
    Clip,
    FeatureWarning,
    Impute,
    Log1p,
    Pipeline,
    QuantileTransform,
    RobustScale,
    Standardize,
)
from kaggle_kit.features import MissingIndicator as MissingFlags

N_TRAIN = 400


@pytest.fixture(scope="module")
def cancer() -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Breast cancer features with ~5% of values missing (as NaN in some columns, null in others), split train/test."""
    ds = load_breast_cancer()
    X = ds.data.copy()
    rng = np.random.default_rng(0)
    X[rng.random(X.shape) < 0.05] = np.nan
    cols = [f"f{i}" for i in range(X.shape[1])]
    frame = pl.DataFrame(X, schema=cols, orient="row")
    frame = frame.with_columns(pl.col(c).fill_nan(None) for c in cols[::2])  # half as null, half as NaN
    return frame[:N_TRAIN], frame[N_TRAIN:], cols


def np_of(frame: pl.DataFrame, cols: list[str]) -> np.ndarray:
    return frame.select(pl.col(c).cast(pl.Float64).fill_null(np.nan) for c in cols).to_numpy()


def run_step(step, train: pl.DataFrame, test: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    pipe = Pipeline([step])
    train_out, state = pipe.fit_transform(train)
    return train_out, pipe.transform(test, state), state


def test_standardize_matches_standard_scaler(cancer) -> None:
    train, test, cols = cancer
    train_out, test_out, state = run_step(Standardize(), train, test)
    ref = StandardScaler().fit(np_of(train, cols))
    np.testing.assert_allclose(state["steps"][0]["state"]["mean"], ref.mean_, rtol=1e-12)
    np.testing.assert_allclose(state["steps"][0]["state"]["scale"], ref.scale_, rtol=1e-12)
    np.testing.assert_allclose(np_of(train_out, cols), ref.transform(np_of(train, cols)), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np_of(test_out, cols), ref.transform(np_of(test, cols)), rtol=1e-10, atol=1e-12)


def test_robust_scale_matches_robust_scaler(cancer) -> None:
    train, test, cols = cancer
    _, test_out, _ = run_step(RobustScale(quantile_range=(10.0, 90.0)), train, test)
    ref = RobustScaler(quantile_range=(10.0, 90.0)).fit(np_of(train, cols))
    np.testing.assert_allclose(np_of(test_out, cols), ref.transform(np_of(test, cols)), rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore:n_quantiles .* is greater than the total number of samples")
@pytest.mark.parametrize(("output", "n_quantiles"), [("normal", 1000), ("uniform", 50)])
def test_quantile_matches_quantile_transformer(cancer, output: str, n_quantiles: int) -> None:
    train, test, cols = cancer
    train_out, test_out, _ = run_step(QuantileTransform(output=output, n_quantiles=n_quantiles), train, test)
    ref = QuantileTransformer(n_quantiles=n_quantiles, output_distribution=output, subsample=None)
    ref.fit(np_of(train, cols))
    np.testing.assert_allclose(np_of(train_out, cols), ref.transform(np_of(train, cols)), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np_of(test_out, cols), ref.transform(np_of(test, cols)), rtol=1e-9, atol=1e-9)


def test_quantile_subsample_is_seeded(cancer) -> None:
    train, _, _ = cancer
    step = QuantileTransform(subsample=100, n_quantiles=20)
    a = Pipeline([step]).fit(train, seed=1)["steps"][0]["state"]["quantiles"]
    b = Pipeline([step]).fit(train, seed=1)["steps"][0]["state"]["quantiles"]
    c = Pipeline([step]).fit(train, seed=2)["steps"][0]["state"]["quantiles"]
    assert a == b and a != c


def test_log1p_is_signed_log1p() -> None:
    X = load_diabetes().data  # centred: about half the values are negative
    frame = pl.DataFrame(X * 100, schema=[f"x{i}" for i in range(X.shape[1])], orient="row")
    out = Pipeline([Log1p()]).fit_transform(frame)[0].to_numpy()
    np.testing.assert_allclose(out, np.sign(X * 100) * np.log1p(np.abs(X * 100)), rtol=1e-12)
    cancer = load_breast_cancer().data  # non-negative: plain log1p
    frame = pl.DataFrame(cancer, schema=[f"c{i}" for i in range(cancer.shape[1])], orient="row")
    np.testing.assert_allclose(Pipeline([Log1p()]).fit_transform(frame)[0].to_numpy(), np.log1p(cancer), rtol=1e-12)


def test_clip_matches_numpy_percentiles(cancer) -> None:
    train, test, cols = cancer
    _, test_out, state = run_step(Clip(lower_quantile=0.05, upper_quantile=0.9), train, test)
    lo, hi = np.nanpercentile(np_of(train, cols), [5, 90], axis=0)
    np.testing.assert_allclose(state["steps"][0]["state"]["lower"], lo, rtol=1e-12)
    np.testing.assert_allclose(np_of(test_out, cols), np.clip(np_of(test, cols), lo, hi), rtol=1e-12)
    _, fixed, _ = run_step(Clip(columns=["f1"], lower=10.0, upper=20.0), train, test)
    np.testing.assert_array_equal(np_of(fixed, ["f1"])[:, 0], np.clip(np_of(test, ["f1"])[:, 0], 10, 20))


def test_missing_indicator_matches_sklearn(cancer) -> None:
    train, test, cols = cancer
    train = train.with_columns(pl.col("f3").fill_null(0.0).fill_nan(0.0))  # a column without gaps gets no flag
    _, test_out, state = run_step(MissingFlags(), train, test)
    ref = MissingIndicator(features="missing-only", error_on_new=False).fit(np_of(train, cols))
    flagged = state["steps"][0]["state"]["columns"]
    assert flagged == [cols[i] for i in ref.features_] and "f3" not in flagged
    got = test_out.select(f"{c}__isna" for c in flagged).to_numpy()
    np.testing.assert_array_equal(got, ref.transform(np_of(test, cols)).astype(np.uint8))
    assert state["features"][-len(flagged) :] == [f"{c}__isna" for c in flagged]


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent"])
def test_impute_matches_simple_imputer(cancer, strategy: str) -> None:
    train, test, cols = cancer
    if strategy == "most_frequent":  # make ties and repeats: round to one decimal
        train, test = (f.with_columns(pl.col(c).round(1) for c in cols) for f in (train, test))
    _, test_out, _ = run_step(Impute(strategy=strategy), train, test)
    ref = SimpleImputer(strategy=strategy).fit(np_of(train, cols))
    np.testing.assert_allclose(np_of(test_out, cols), ref.transform(np_of(test, cols)), rtol=1e-12)


def test_impute_constant_and_categorical_fill() -> None:
    frame = pl.DataFrame({"x": [1.0, None, 3.0], "city": ["a", None, "a"]})
    out, _ = Pipeline(
        [Impute(strategy="constant", fill_value=-1.0), Impute(columns=["city"], strategy="most_frequent")]
    ).fit_transform(frame)
    assert out["x"].to_list() == [1.0, -1.0, 3.0] and out["city"].to_list() == ["a", "a", "a"]
    # text for a numeric column: polars' "conversion from `str` to `f64` failed in column 'literal'" before
    with pytest.raises(
        DataError, match=r"steps\[0\] \(impute\): fill_value 'missing' is text, but column 'x' is numeric"
    ):
        Pipeline([Impute(strategy="constant", fill_value="missing", columns="all")]).fit(frame)
    with pytest.raises(ConfigError, match=r"fill_value 'missing' is text, but columns = 'numeric' \(the default\)"):
        Pipeline([{"step": "impute", "strategy": "constant", "fill_value": "missing"}])
    out, _ = Pipeline([Impute(strategy="constant", fill_value="0", columns="all")]).fit_transform(frame)
    assert out["x"].to_list() == [1.0, 0.0, 3.0] and out["city"].to_list() == ["a", "0", "a"]


# ---------------------------------------------------------------------------------------------- awkward columns
def test_constant_and_all_missing_columns_warn_once_and_never_crash() -> None:
    train = pl.DataFrame({"const": [5.0] * 6, "empty": [None] * 6, "ok": [1.0, 2, 3, 4, 5, 6]}).with_columns(
        pl.col("empty").cast(pl.Float64)
    )
    test = pl.DataFrame({"const": [5.0, 7.0], "empty": [1.0, None], "ok": [2.0, 9.0]})
    pipe = Pipeline([Standardize(), RobustScale(columns=["ok"]), QuantileTransform(n_quantiles=5)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, state = pipe.fit_transform(train)
    messages = [str(w.message) for w in caught if issubclass(w.category, FeatureWarning)]
    assert sum("'const' is constant in the training rows; standardize makes it 0" in m for m in messages) == 1
    assert sum("'empty' has no values in the training rows; standardize leaves it missing" in m for m in messages) == 1
    assert sum("'empty' has no values in the training rows; quantile leaves it missing" in m for m in messages) == 1
    out = pipe.transform(test, state)
    assert out["const"][0] == 0.0 and out["empty"].null_count() == 2
    X = pipe.matrix(out, state).X
    assert X.dtype == np.float32 and X.flags.c_contiguous and np.isfinite(X[:, [0, 2]]).all()


@pytest.mark.filterwarnings("ignore::kaggle_kit.features.base.FeatureWarning")
@pytest.mark.parametrize("step", [Standardize(), RobustScale(), QuantileTransform(n_quantiles=5), Clip()])
def test_a_column_without_training_values_is_missing_in_every_row_it_transforms(step) -> None:
    # "leaves it missing": quantile and clip passed the other rows' values through raw (1e6 into a net whose
    # training rows never held a value), where standardize and robust_scale made them missing
    train = pl.DataFrame({"x": pl.Series([None] * 8, dtype=pl.Float64), "ok": np.arange(8.0)})
    test = pl.DataFrame({"x": [1e6, 2.0, None], "ok": [1.0, 2.0, 3.0]})
    pipe = Pipeline([step.model_copy(update={"columns": ["x", "ok"]})])
    _, state = pipe.fit_transform(train)
    out = pipe.transform(test, state)
    assert out["x"].to_list() == [None, None, None]
    assert out["ok"].null_count() == 0
    fixed = Pipeline([Clip(lower=0.0, upper=10.0, columns=["x"])])  # bounds of its own: no training value needed
    assert fixed.transform(test, fixed.fit(train))["x"].to_list() == [10.0, 2.0, None]


@pytest.mark.parametrize("step", [Standardize, RobustScale, QuantileTransform, Log1p, Clip])
def test_a_text_column_listed_for_a_numeric_step_is_named_and_a_boolean_is_read_as_0_and_1(step: type) -> None:
    """A text column named in ``columns`` stopped the fit with polars' cast error; a boolean column reads as 0 / 1."""
    frame = pl.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "shop": ["a", "b", "a", "c"], "flag": [True, False, True, True]})
    with pytest.raises(DataError, match=r"needs numeric columns, but 'shop' is String; leave it out of columns"):
        Pipeline([step(columns=["x", "shop"])]).fit(frame)
    out = Pipeline([step(columns=["flag"])]).fit_transform(frame)[0]
    assert out["flag"].dtype == pl.Float64 and out["flag"].n_unique() == 2


@pytest.mark.filterwarnings("ignore::kaggle_kit.features.base.FeatureWarning")
@pytest.mark.parametrize("step", [Standardize(), RobustScale(), QuantileTransform(n_quantiles=5), Clip(), Log1p()])
def test_infinities_are_missing_to_numeric_steps(step) -> None:
    """A notebook frame holding inf (the readers turn a file's inf into missing): standardize stopped with
    `TypeError: unsupported operand type(s) for /: 'float' and 'NoneType'`, robust_scale and quantile made the whole
    column NaN. Infinities are missing values to every numeric step, as to the readers."""
    x = [1.0, float("inf"), 2.0, 3.0, -float("inf"), 5.0]
    finite = pl.DataFrame({"x": [1.0, None, 2.0, 3.0, None, 5.0]})
    out, state = Pipeline([step]).fit_transform(pl.DataFrame({"x": x}))
    reference, reference_state = Pipeline([step]).fit_transform(finite)
    assert state["steps"] == reference_state["steps"]
    assert out["x"].to_list() == reference["x"].to_list()


def test_impute_keeps_a_date_column_a_date() -> None:
    # most_frequent / constant cast a date column to text: each date became a category (codes by frequency), and a
    # test file's later dates were levels no training row held, missing to every model
    train = pl.DataFrame(
        {
            "d": [dt.date(2020, 1, 1), None, dt.date(2020, 1, 1), dt.date(2021, 5, 1)],
            "t": [dt.datetime(2020, 1, 1, 5), None, dt.datetime(2020, 1, 1, 5), dt.datetime(2020, 2, 1)],
            "city": ["a", None, "a", "b"],
        }
    )
    test = pl.DataFrame({"d": [dt.date(2024, 6, 1), None], "t": [None, dt.datetime(2024, 6, 1)], "city": [None, "c"]})
    pipe = Pipeline([Impute(columns="all", strategy="most_frequent")])
    out, state = pipe.fit_transform(train)
    assert out.schema["d"] == pl.Date and out.schema["t"] == pl.Datetime("us")
    assert out["d"][1] == dt.date(2020, 1, 1) and out["t"][1] == dt.datetime(2020, 1, 1, 5)
    assert state["categorical"] == ["city"]
    tested = pipe.transform(test, state)
    assert tested["d"].to_list() == [dt.date(2024, 6, 1), dt.date(2020, 1, 1)]
    X = pipe.matrix(tested, state).X
    days = (dt.date(2024, 6, 1) - dt.date(1970, 1, 1)).days
    assert X[0, 0] == days and X[1, 1] == days  # days since 1970, as a model without the step reads them
    filled = Pipeline([Impute(columns=["d"], strategy="constant", fill_value="2019-12-31")])
    assert filled.transform(test, filled.fit(train))["d"].to_list() == [dt.date(2024, 6, 1), dt.date(2019, 12, 31)]
    with pytest.raises(DataError, match=r"fill_value 'missing' is no date, but column 'd' is Date; give a date"):
        Pipeline([Impute(columns="all", strategy="constant", fill_value="missing")]).fit(train)
