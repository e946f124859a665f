"""The feature pipeline as a whole: dates, group and sequence aggregates against numpy / datetime references, the
JSON state, notebook use on pandas frames, the rules for drifting test columns, and the spec's pipeline tables."""

from __future__ import annotations

import copy
import datetime as dt
import json
import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest
from conftest import COMPETITIONS
from sklearn.datasets import load_diabetes, load_digits

from kaggle_kit.config import build_spec, load_spec, spec_hash
from kaggle_kit.errors import ConfigError, DataError, KitError
from kaggle_kit.features import (
    Cyclical,
    DateParts,
    FeatureWarning,
    GroupAggregate,
    Pipeline,
    Standardize,
    TargetEncode,
    sequence_aggregates,
    sequence_tensor,
    sequence_wide,
)
from kaggle_kit.runtime.runner import model_key


# ---------------------------------------------------------------------------------------------- dates
def test_date_parts_and_cyclical_match_python_datetime() -> None:
    rng = np.random.default_rng(0)
    stamps = [dt.datetime(2019, 1, 1) + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 3 * 525_600, 500)]
    frame = pl.DataFrame({"when": stamps, "day": [s.date() for s in stamps]})
    parts = ["year", "quarter", "month", "week", "day", "dayofyear", "weekday", "hour", "minute", "is_weekend"]
    pipe = Pipeline([DateParts(parts=parts), Cyclical(columns=["when__month"], period=12, keep=False)])
    out, state = pipe.fit_transform(frame)
    expected = {
        "year": [s.year for s in stamps],
        "quarter": [(s.month - 1) // 3 + 1 for s in stamps],
        "month": [s.month for s in stamps],
        "week": [s.isocalendar()[1] for s in stamps],
        "day": [s.day for s in stamps],
        "dayofyear": [s.timetuple().tm_yday for s in stamps],
        "weekday": [s.isoweekday() for s in stamps],
        "hour": [s.hour for s in stamps],
        "minute": [s.minute for s in stamps],
        "is_weekend": [int(s.isoweekday() >= 6) for s in stamps],
    }
    for part, values in expected.items():
        assert out[f"day__{part}"].to_list() == (values if part not in ("hour", "minute") else [0] * len(stamps))
        if part != "month":
            assert out[f"when__{part}"].to_list() == values
    month = np.array(expected["month"], dtype=float)
    np.testing.assert_allclose(out["when__month__sin"].to_numpy(), np.sin(2 * np.pi * month / 12), atol=1e-12)
    np.testing.assert_allclose(out["when__month__cos"].to_numpy(), np.cos(2 * np.pi * month / 12), atol=1e-12)
    assert "when__month" not in out.columns and "when" in state["features"]  # keep=False dropped only the month


def test_date_parts_on_a_number_says_what_to_do() -> None:
    with pytest.raises(DataError, match=r"date_parts needs Date or Datetime columns, but 'x' is Int64"):
        Pipeline([DateParts(columns=["x"])]).fit(pl.DataFrame({"x": [1, 2]}))


# ---------------------------------------------------------------------------------------------- group aggregates
def test_group_aggregates_match_numpy_on_the_training_rows() -> None:
    ds = load_diabetes()
    frame = pl.DataFrame(
        {
            "sex": np.where(ds.data[:, 1] > 0, "f", "m"),
            "age_bin": np.digitize(ds.data[:, 0], [-0.05, 0, 0.05]),
            "bmi": ds.data[:, 2],
            "bp": ds.data[:, 3],
        }
    ).with_columns(pl.when(pl.int_range(pl.len()) % 7 == 0).then(None).otherwise(pl.col("bp")).alias("bp"))
    train, test = frame[:300], frame[300:]
    stats = ["mean", "std", "min", "max", "count", "size", "median"]
    pipe = Pipeline([GroupAggregate(by=["sex", "age_bin"], columns=["bmi", "bp"], stats=stats)])
    train_out, state = pipe.fit_transform(train)
    test_out = pipe.transform(test, state)
    keys = list(zip(train["sex"].to_list(), train["age_bin"].to_list(), strict=True))
    funcs = {
        "mean": np.nanmean,
        "std": lambda v: np.nanstd(v, ddof=1) if np.isfinite(v).sum() > 1 else np.nan,
        "min": np.nanmin,
        "max": np.nanmax,
        "count": lambda v: float(np.isfinite(v).sum()),
        "size": lambda v: float(len(v)),
        "median": np.nanmedian,
    }
    for col in ("bmi", "bp"):
        values = train[col].fill_null(np.nan).to_numpy()
        for stat, fn in funcs.items():
            ref = {k: fn(values[[i for i, kk in enumerate(keys) if kk == k]]) for k in set(keys)}
            name = f"{col}__{stat}_by_sex+age_bin"
            for out, rows in ((train_out, train), (test_out, test)):
                expected = [ref[k] for k in zip(rows["sex"].to_list(), rows["age_bin"].to_list(), strict=True)]
                np.testing.assert_allclose(out[name].fill_null(np.nan).to_numpy(), expected, rtol=1e-12)
    assert state["features"][-14:] == [f"{c}__{s}_by_sex+age_bin" for c in ("bmi", "bp") for s in stats]


def test_group_aggregate_unseen_and_missing_keys() -> None:
    train = pl.DataFrame({"store": ["a", "a", "b"], "sales": [1.0, 3.0, 5.0]})
    test = pl.DataFrame({"store": ["b", "zz", None], "sales": [0.0, 0.0, 0.0]})
    pipe = Pipeline([GroupAggregate(by="store", columns=["sales"], stats=["mean", "count"])])
    _, state = pipe.fit_transform(train)
    with pytest.warns(FeatureWarning, match=r"key 'store': 1 row\(s\) hold keys not seen .*'zz'.*counts 0"):
        out = pipe.transform(test, state)
    assert out["sales__mean_by_store"].to_list() == [5.0, None, None]
    assert out["sales__count_by_store"].to_list() == [1.0, 0.0, 0.0]


def test_group_aggregate_counts_read_nan_as_missing_as_pandas_does() -> None:
    # a notebook's polars frame keeps NaN (the readers and pandas frames make it null): count and nunique counted it
    nan = float("nan")
    train = pl.DataFrame({"k": ["a", "a", "a", "a", "b", "b"], "v": [1.0, nan, nan, 1.0, 2.0, None]})
    step = GroupAggregate(by="k", columns=["v"], stats=["count", "nunique", "size", "mean"])
    out, state = Pipeline([step]).fit_transform(train)
    ref = train.to_pandas().groupby("k")["v"].agg(["count", "nunique", "size", "mean"])
    test = pl.DataFrame({"k": ["b", "a"], "v": [0.0, 0.0]})
    for frame in (out, Pipeline([step]).transform(test, state)):
        for stat in ("count", "nunique", "size", "mean"):
            expected = [float(ref.loc[k, stat]) for k in frame["k"]]
            assert frame[f"v__{stat}_by_k"].to_list() == expected, stat


def test_group_aggregates_read_an_infinity_as_missing() -> None:
    # a notebook frame's inf: min, max and median skipped it, the mean and sum (summed with numpy) were inf
    stats = ["mean", "sum", "std", "min", "max", "median", "count", "nunique"]
    inf = float("inf")
    rows = {"k": ["a", "a", "a", "b", "b"], "v": [1.0, inf, 4.0, 2.0, -inf]}
    step = GroupAggregate(by="k", columns=["v"], stats=stats)
    out, _ = Pipeline([step]).fit_transform(pl.DataFrame(rows))
    missing = pl.DataFrame(rows).with_columns(pl.when(pl.col("v").is_finite()).then(pl.col("v")).alias("v"))
    reference, _ = Pipeline([step]).fit_transform(missing)
    assert out.drop("v").equals(reference.drop("v"))
    assert out["v__mean_by_k"].to_list() == [2.5, 2.5, 2.5, 2.0, 2.0]


@pytest.mark.parametrize("columns", [["city"], "all"])
def test_a_group_aggregate_statistic_of_a_text_column_is_refused_naming_it(columns: Any) -> None:
    train = pl.DataFrame({"k": [1, 1, 2, 2], "city": ["x", "y", "x", "x"], "v": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(DataError, match=r"steps\[0\] \(group_aggregate\): stat 'mean' needs numbers, but column "
                       r"'city' is String; leave it out of columns"):  # fmt: skip
        Pipeline([GroupAggregate(by="k", columns=columns, stats=["mean", "count"])]).fit(train)
    # counts of text are fine: the number of rows with a city, and of distinct cities, per key
    out, _ = Pipeline([GroupAggregate(by="k", columns=["city"], stats=["count", "nunique"])]).fit_transform(train)
    assert out["city__nunique_by_k"].to_list() == [2.0, 2.0, 1.0, 1.0]
    assert out["city__count_by_k"].to_list() == [2.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("by", ["a", ["a", "b"]])
def test_a_stale_column_named_as_an_aggregate_is_replaced_whatever_the_keys(by: Any) -> None:
    # rows that already hold the output column (transformed twice, or stale features): with two keys the join kept
    # the stale values under the name and put the aggregates beside them as '<name>_right', which no model read
    train = pl.DataFrame({"a": ["x", "y"] * 5, "b": [1, 1, 2, 2, 3] * 2, "v": np.arange(10.0)})
    pipe = Pipeline([GroupAggregate(by=by, columns=["v"], stats=["mean", "count"])])
    _, state = pipe.fit_transform(train)
    clean = pipe.transform(train.head(4), state)
    names = [c for c in clean.columns if c.startswith("v__")]
    stale = train.head(4).with_columns(pl.lit(-99.0).alias(n) for n in names)
    out = pipe.transform(stale, state)
    assert sorted(out.columns) == sorted(clean.columns)
    np.testing.assert_array_equal(pipe.matrix(out, state).X, pipe.matrix(clean, state).X)


def test_a_group_aggregate_by_a_key_target_encoded_before_it_is_refused() -> None:
    """target_encode replaces 'store' in place with each training row's out-of-fold encoding (the other rows get the
    full fit's): a later group_aggregate by 'store' grouped the training rows by those numbers, so no test key
    matched and every test aggregate was missing, with a warning about keys like '0.3987'. With keep = true the
    encoding goes in a column of its own and the key stays the store."""
    rng = np.random.default_rng(0)
    train = pl.DataFrame({"store": rng.choice(["a", "b", "c"], 60), "sales": rng.normal(size=60)})
    y = rng.normal(size=60)
    steps = [TargetEncode(columns=["store"]), GroupAggregate(by="store", columns=["sales"], stats=["mean"])]
    with pytest.raises(ConfigError, match=r"by names 'store', which an earlier target_encode step replaced"):
        Pipeline(steps).fit_transform(train, y, task="regression")
    kept = [TargetEncode(columns=["store"], keep=True), steps[1]]
    pipe = Pipeline(kept)
    _, state = pipe.fit_transform(train, y, task="regression")
    out = pipe.transform(train.head(5), state)
    assert out["sales__mean_by_store"].null_count() == 0


# ---------------------------------------------------------------------------------------------- sequences
@pytest.fixture(scope="module")
def digit_rows() -> tuple[pl.DataFrame, np.ndarray]:
    """The 8x8 digits as sequences: one row per (image, image row), the 8 pixels of that row as features."""
    images = load_digits().images[:300]
    n, t, f = images.shape
    long = pl.DataFrame(
        {"id": np.repeat(np.arange(n) + 100, t), "row": np.tile(np.arange(t), n)}
        | {f"px{j}": images[:, :, j].reshape(-1) for j in range(f)}
    )
    return long.sample(fraction=1.0, shuffle=True, seed=1), images  # shuffled: order_by must restore it


def test_sequence_aggregates_match_numpy(digit_rows) -> None:
    long, images = digit_rows
    stats = ["mean", "std", "min", "max", "first", "last", "count", "sum"]
    out = sequence_aggregates(long, "id", order_by="row", stats=stats).sort("id")
    ref = {
        "mean": images.mean(axis=1),
        "std": images.std(axis=1, ddof=1),
        "min": images.min(axis=1),
        "max": images.max(axis=1),
        "first": images[:, 0, :],
        "last": images[:, -1, :],
        "count": np.full(images.shape[::2], 8.0),
        "sum": images.sum(axis=1),
    }
    assert out["id"].to_list() == list(range(100, 400)) and (out["n_steps"] == 8).all()
    for stat, values in ref.items():
        got = out.select(f"px{j}__{stat}" for j in range(8)).to_numpy()
        np.testing.assert_allclose(got, values, rtol=1e-12, atol=1e-12)
    with pytest.raises(DataError, match=r"unknown sequence statistic 'avg'"):
        sequence_aggregates(long, "id", stats=["avg"])


def test_sequence_wide_and_tensor_rebuild_the_images(digit_rows) -> None:
    long, images = digit_rows
    X, lengths, ids = sequence_tensor(long, "id", order_by="row")
    order = np.argsort(ids.to_numpy())
    np.testing.assert_array_equal(X[order], images.astype(np.float32))
    assert (lengths == 8).all()
    # ragged: drop the last rows of some images; padding is missing, 'last' keeps the most recent steps
    ragged = long.filter(~((pl.col("id") % 3 == 0) & (pl.col("row") >= 5)))
    wide = sequence_wide(ragged, "id", ["px0", "px1"], order_by="row", max_len=6, keep="last").sort("id")
    assert wide.columns[:5] == ["id", "px0__t0", "px1__t0", "px0__t1", "px1__t1"]  # step-major: the nets' 'tf'
    full, short = images[0], images[2]  # id 100 has 8 rows, id 102 only 5
    np.testing.assert_array_equal(wide.row(0)[1::2], full[2:, 0])  # the last 6 of 8 rows
    assert wide.row(2)[1::2] == (*short[:5, 0].tolist(), None)


# ---------------------------------------------------------------------------------------------- the pipeline object
@pytest.fixture
def shop() -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 300
    train = pl.DataFrame(
        {
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "size": rng.normal(50, 10, n),
            "rooms": rng.integers(1, 6, n),
            "built": [dt.date(1950, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 25000, n)],
        }
    )
    test = train.head(40).with_columns(pl.col("size") + 1)
    y = (train["size"].to_numpy() + rng.normal(0, 5, n) > 50).astype(int)
    return train, test, y


STEPS: list[dict[str, Any]] = [
    {"step": "target_encode", "columns": ["city"], "keep": True},
    {"step": "date_parts", "parts": ["year", "month"]},
    {"step": "standardize", "columns": "numeric"},
]


def test_a_state_applied_by_a_pipeline_with_other_parameters_is_refused() -> None:
    # the same step kinds, other parameters (a notebook cell edited after the fit): a step reads some parameters from
    # itself and the rest from the state; cyclical made sines of another period without a word, group_aggregate by
    # another key stopped with a KeyError
    train = pl.DataFrame({"a": ["x", "y"] * 5, "m": [1, 2, 3, 4, 5] * 2, "v": np.arange(10.0)})
    fitted = Pipeline([GroupAggregate(by="a", columns=["v"], stats=["mean"]), Cyclical(columns=["m"], period=12)])
    _, state = fitted.fit_transform(train)
    state = json.loads(json.dumps(state))
    for edited, message in (
        ([GroupAggregate(by="a", columns=["v"], stats=["mean"]), Cyclical(columns=["m"], period=7)], "period = 12.0"),
        ([GroupAggregate(by="m", columns=["v"], stats=["mean"]), Cyclical(columns=["m"], period=12)], "by = 'a'"),
    ):
        with pytest.raises(KitError, match=rf"this state's steps\[\d\] \(\w+\) was fitted with {message}, this"):
            Pipeline(edited).transform(train, state)
    rebuilt = Pipeline.from_state(state).transform(train, state)
    assert rebuilt.equals(fitted.transform(train, state))
    assert rebuilt["m__sin"].to_list() == pytest.approx(np.sin(2 * np.pi * train["m"].to_numpy() / 12).tolist())
    older = copy.deepcopy(state)  # a state written before a step gained a parameter: that parameter is not compared
    del older["steps"][0]["params"]["stats"]
    assert Pipeline.from_state(state).transform(train, older).equals(rebuilt)
    retired = copy.deepcopy(state)  # a parameter the step no longer has (a later kit): nothing of ours to compare
    retired["steps"][1]["params"]["retired"] = 1
    assert fitted.transform(train, retired).equals(rebuilt)


def test_state_is_json_and_rebuilds_the_pipeline(shop) -> None:
    train, test, y = shop
    pipe = Pipeline(STEPS, name="p")
    train_out, state = pipe.fit_transform(train, y, task="binary", seed=4)
    text = json.dumps(state, allow_nan=False)  # plain JSON: no NaN, no numpy scalars, no pickle
    again = Pipeline.from_state(json.loads(text))
    assert again.to_config() == pipe.to_config()
    assert again.transform(test, json.loads(text)).equals(pipe.transform(test, state))
    X = pipe.matrix(train_out, state)
    assert X.names == ("city", "size", "rooms", "built", "city__te", "built__year", "built__month")
    assert X.categorical == (0,) and X.X.dtype == np.float32 and X.X.flags.c_contiguous
    assert np.isnan(X.X).sum() == 0
    with pytest.raises(KitError, match=r"this state was fitted by another pipeline"):
        Pipeline([Standardize()]).transform(test, state)


def test_pandas_frames_in_and_out(shop) -> None:
    pd = pytest.importorskip("pandas")
    train, test, y = shop
    train, test = train.drop("built"), test.drop("built")  # pandas has no date-only type: dates come back as times
    pipe = Pipeline([STEPS[0], STEPS[2]])
    train_pd, state = pipe.fit_transform(train.to_pandas(), pd.Series(y), task="binary", seed=4)
    assert isinstance(train_pd, pd.DataFrame)
    train_pl, state_pl = pipe.fit_transform(train, y, task="binary", seed=4)
    assert state == state_pl
    np.testing.assert_allclose(train_pd[["size", "city__te"]].to_numpy(), train_pl.select("size", "city__te"))
    out = pipe.transform(test.to_pandas(), state)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == train_pl.columns


def test_a_pandas_frame_comes_back_with_its_own_index(shop) -> None:
    # a shuffled (or sliced) pandas frame came back numbered 0, 1, ...: pandas aligned valid.assign(x=out["x"]) by
    # those labels, each row taking another row's feature
    pytest.importorskip("pandas")
    train, test, y = shop
    train, test = train.drop("built"), test.drop("built")
    pipe = Pipeline([STEPS[0], STEPS[2]])
    rows = np.random.default_rng(0).permutation(train.height)
    train_pd = train.to_pandas().set_axis(rows * 3 + 7)  # labels in no order, none of them 0..n-1's
    out, state = pipe.fit_transform(train_pd, y, task="binary", seed=4)
    assert out.index.equals(train_pd.index)
    expected, _ = pipe.fit_transform(train, y, task="binary", seed=4)
    joined = train_pd.assign(te=out["city__te"], size_z=out["size"])
    np.testing.assert_allclose(joined[["size_z", "te"]].to_numpy(), expected.select("size", "city__te").to_numpy())
    test_pd = test.to_pandas().iloc[::-1]
    test_out = pipe.transform(test_pd, state)
    assert test_out.index.equals(test_pd.index)
    reference = pipe.transform(test, state)["size"].to_numpy()
    np.testing.assert_allclose(test_pd.assign(z=test_out["size"]).sort_index()["z"].to_numpy(), reference)


def test_test_column_of_another_dtype_is_cast_with_a_warning(shop) -> None:
    train, test, y = shop
    pipe = Pipeline(STEPS)
    _, state = pipe.fit_transform(train, y, task="binary", seed=4)
    drifted = test.with_columns(
        pl.col("rooms").cast(pl.String).replace({"3": "three"}), pl.col("size").cast(pl.Float32)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = pipe.transform(drifted, state)
    messages = [str(w.message) for w in caught if issubclass(w.category, FeatureWarning)]
    n_three = (test["rooms"] == 3).sum()
    assert any(
        f"column 'rooms' is String here but was Int64 in the training rows; pipeline casts it to Int64 ({n_three} "
        "value(s) that do not convert become missing)" in m
        for m in messages
    )
    assert any("column 'size' is Float32 here but was Float64" in m for m in messages)
    reference = pipe.transform(test, state)
    keep = (test["rooms"] != 3).to_numpy()
    np.testing.assert_allclose(out["rooms"].to_numpy()[keep], reference["rooms"].to_numpy()[keep])
    assert out["rooms"].null_count() == n_three
    with pytest.raises(DataError, match=r"the frame lacks column 'city', which the pipeline was fitted with"):
        pipe.transform(test.drop("city"), state)


def test_unknown_column_in_a_step_is_named(shop) -> None:
    train, _, _ = shop
    with pytest.raises(DataError, match=r"pipeline steps\[0\] \(standardize\): column 'sise' is not in the frame\. "):
        Pipeline([Standardize(columns=["sise"])]).fit(train)
    with pytest.raises(ConfigError, match=r"steps\[1\] \(target_encode\): cv: .*greater than or equal to 2"):
        Pipeline([Standardize(), {"step": "target_encode", "cv": 1}])


# ---------------------------------------------------------------------------------------------- the spec
BASE: dict[str, Any] = {
    "name": "shop",
    "task": "binary",
    "metric": "roc_auc",
    "data": {"train": "train.csv", "target": "y"},
    "pipelines": {
        "base": {"steps": [{"step": "impute", "strategy": "median"}]},
        "linear": {"extends": "base", "steps": [{"step": "standardize"}]},
    },
    "models": [
        {"name": "lgbm", "kind": "lightgbm", "pipeline": "base"},
        {"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression", "pipeline": "linear"},
        {"name": "xgb", "kind": "xgboost"},
    ],
}


def _mutate(path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = spec
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return spec


PIPELINE_ERRORS = [
    # an item listed twice: the step made a column twice (a message about names running together around '__') or
    # polars stopped on a duplicate group key, at the model's first fit
    pytest.param(
        _mutate(
            "pipelines.linear.steps",
            [{"step": "group_aggregate", "by": "city", "columns": ["size"], "stats": ["mean", "std", "mean"]}],
        ),
        r"steps\[0\] \(group_aggregate\): stats: lists the statistic 'mean' more than once; list each once",
        id="stat-twice",
    ),
    pytest.param(
        _mutate("pipelines.linear.steps", [{"step": "group_aggregate", "by": ["city", "city"], "columns": ["size"]}]),
        r"steps\[0\] \(group_aggregate\): by: lists the key 'city' more than once; list each once",
        id="key-twice",
    ),
    pytest.param(
        _mutate("pipelines.linear.steps", [{"step": "date_parts", "parts": ["year", "month", "year"]}]),
        r"steps\[0\] \(date_parts\): parts: lists the part 'year' more than once; list each once",
        id="part-twice",
    ),
    pytest.param(
        _mutate("models.1.pipeline", "linaer"),
        r"models\[1\]\.pipeline = 'linaer' \(model 'lr'\) is not a declared pipeline; declared: 'base' or 'linear'\. "
        r"Did you mean 'linear'\?",
        id="unknown-pipeline",
    ),
    pytest.param(
        _mutate("pipelines.linear.steps", [{"step": "standardise"}]),
        r"pipelines\.linear\.steps\[0\]: unknown step 'standardise'; allowed: .*Did you mean 'standardize'\?",
        id="unknown-step",
    ),
    pytest.param(
        _mutate("pipelines.linear.steps", [{"step": "impute"}, {"step": "standardize", "colums": "numeric"}]),
        r"pipelines\.linear\.steps\[1\] \(standardize\): unknown key 'colums'; allowed here: 'columns'\. "
        r"Did you mean 'columns'\?",
        id="unknown-step-key",
    ),
    pytest.param(
        _mutate("pipelines.linear.steps", [{"step": "quantile", "output": "gaussian"}]),
        r"pipelines\.linear\.steps\[0\] \(quantile\): output must be one of 'normal' or 'uniform'; got 'gaussian'",
        id="bad-literal",
    ),
    pytest.param(
        _mutate("pipelines.linear.steps", [{"step": "target_encode", "smooth": -1}]),
        r"steps\[0\] \(target_encode\): smooth: smooth must be 'auto' or a pseudo-count >= 0; got -1",
        id="bad-value",
    ),
    pytest.param(
        _mutate("pipelines.linear.steps", [{"step": "standardize", "columns": "numerics"}]),
        r"steps\[0\] \(standardize\): columns: must be a list of column names or one of 'all', 'categorical', "
        r"'numeric' or 'temporal'; got 'numerics'\. Did you mean 'numeric'\?",
        id="bad-selector",
    ),
    pytest.param(
        _mutate("pipelines.linear.steps", [{"step": "cyclical", "columns": ["m"]}]),
        r"pipelines\.linear\.steps\[0\] \(cyclical\): missing required key 'period'",
        id="missing-param",
    ),
    pytest.param(
        _mutate("pipelines.linear.steps", [{"columns": "numeric"}]),
        r"pipelines\.linear\.steps\[0\]: missing key 'step' \(the step kind: one of .*'standardize'",
        id="no-step-kind",
    ),
    pytest.param(
        _mutate("pipelines.linear.extends", "bas"),
        r"pipelines\.linear\.extends = 'bas' is not a declared pipeline; declared: .*Did you mean 'base'\?",
        id="unknown-extends",
    ),
    pytest.param(
        _mutate("pipelines.base.extends", "linear"),
        r"pipelines\.base\.extends makes a cycle: base -> linear -> base",
        id="cycle",
    ),
    pytest.param(
        _mutate("pipelines.linear", {"extend": "base", "steps": []}),
        r"unknown key 'pipelines\.linear\.extend'; allowed here: 'extends' or 'steps'\. Did you mean 'extends'\?",
        id="unknown-pipeline-key",
    ),
    pytest.param(
        _mutate("pipelines", {}),
        r"models\[0\]\.pipeline = 'base' \(model 'lgbm'\): the spec declares no pipelines; add a \[pipelines\.base\]",
        id="no-pipelines",
    ),
]


@pytest.mark.parametrize(("spec", "match"), PIPELINE_ERRORS)
def test_bad_pipeline_declarations_are_rejected(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        build_spec(spec, source="shop.toml")
    assert str(info.value).startswith("shop.toml: invalid competition spec:")
    assert "errors.pydantic.dev" not in str(info.value)


def test_pipelines_resolve_extends_and_round_trip_through_toml(tmp_path) -> None:
    spec = build_spec(BASE)
    assert [s["step"] for s in spec.pipeline_steps("linear")] == ["impute", "standardize"]
    assert spec.pipeline_steps("linear")[1] == {"step": "standardize", "columns": "numeric"}  # defaults spelled out
    path = tmp_path / "shop.toml"
    path.write_text(spec.to_toml())
    assert load_spec(path).model_dump(exclude={"base_dir"}) == spec.model_dump(exclude={"base_dir"})
    no_pipelines = build_spec({**BASE, "pipelines": {}, "models": [BASE["models"][2]]})
    assert "pipelines" not in no_pipelines.to_toml()


def test_demo_config_declares_pipelines() -> None:
    spec = load_spec(COMPETITIONS / "demo-breast-cancer.toml")
    expected = {"xgb": "base", "lgbm": "base", "logreg": "linear", "mlp": "linear"}
    assert {m.name: m.pipeline for m in spec.models} == expected
    assert [s["step"] for s in spec.pipeline_steps("linear")] == ["missing_indicator", "impute", "standardize"]


def test_pipeline_is_part_of_the_model_key() -> None:
    spec = build_spec(BASE)
    keys = {m.name: model_key(m, spec, "data", "folds") for m in spec.models}
    # a model without a pipeline hashes exactly as before pipelines existed: its stored results stay valid
    xgb = spec.model("xgb").model_dump(mode="json")
    del xgb["pipeline"]
    del xgb["seed"]  # nor does a model without a seed of its own: the dump had no seed before ModelSpec.seed
    del xgb["early_stopping_metric"]  # nor an unset early_stopping_metric ...
    del xgb["embeddings"]  # nor a model reading no embeddings
    del xgb["distribution"]  # nor a distribution way left at "auto" (the field came with task = "distribution")
    legacy = {"model": xgb, "task": "binary", "metric": "roc_auc", "seed": 42, "data": "data", "folds": "folds"}
    legacy["early_stopping"] = "log_loss"  # ... but "auto" under ROC AUC now stops on the log loss: a new key
    assert keys["xgb"] == spec_hash(legacy)
    # editing the base pipeline changes the key of every model using it, directly or through extends
    edited = build_spec(_mutate("pipelines.base.steps", [{"step": "impute", "strategy": "mean"}]))
    new = {m.name: model_key(m, edited, "data", "folds") for m in edited.models}
    assert new["lgbm"] != keys["lgbm"] and new["lr"] != keys["lr"] and new["xgb"] == keys["xgb"]
    # renaming a pipeline refits nothing: the key holds its steps, not its name
    renamed = copy.deepcopy(BASE)
    renamed["pipelines"]["trees"] = renamed["pipelines"].pop("base")
    renamed["pipelines"]["linear"]["extends"] = "trees"
    renamed["models"][0]["pipeline"] = "trees"
    spec2 = build_spec(renamed)
    assert {m.name: model_key(m, spec2, "data", "folds") for m in spec2.models} == keys


def test_a_fitted_target_encoder_state_holds_no_rows(shop) -> None:
    """The state is statistics per level, never training rows: small, and the same whatever the row order."""
    train, _, y = shop
    pipe = Pipeline([TargetEncode(columns=["city"], smooth=5.0)])
    _, a = pipe.fit_transform(train, y, task="binary", seed=1)
    _, b = pipe.fit_transform(train, y, task="binary", seed=2)  # other inner folds, same full-data encoding
    assert a["steps"][0]["state"] == b["steps"][0]["state"]
    assert len(json.dumps(a["steps"][0]["state"])) < 400


def test_a_named_target_column_is_never_a_feature(shop) -> None:
    train, _, y = shop
    frame = train.with_columns(pl.Series("label", y))
    _, state = Pipeline([Standardize()]).fit_transform(frame, frame["label"], task="binary")
    assert "label" not in state["features"] and "label" not in state["steps"][0]["state"]["columns"]


# ---------------------------------------------------------------------------------------------- empty selectors
def _feature_warnings(fit: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return [str(w.message) for w in caught if issubclass(w.category, FeatureWarning)]


def test_a_shortcut_an_earlier_step_emptied_is_said_with_that_step() -> None:
    """count_encode (keep = false) turns the categorical columns into counts: a target_encode on 'categorical'
    after it encodes nothing. It did so without a word; the message must not name the fold (said once per run)."""
    frame = pl.DataFrame({"city": ["a", "b", "a", "c"] * 10, "x": np.arange(40.0)})
    y = np.array([0, 1] * 20)
    pipe = Pipeline([{"step": "count_encode"}, {"step": "target_encode", "columns": "categorical"}], name="enc")
    folds = [frame[:30], frame[10:]]
    said = [_feature_warnings(lambda f=f: pipe.fit_transform(f, y[: f.height], task="binary")) for f in folds]
    expected = (
        "pipeline 'enc' steps[1] (target_encode): columns = 'categorical' picks no column, so the step does nothing: "
        "steps[0] (count_encode) replaced the last categorical column(s) before it"
    )
    assert [m for m in said[0] if m.startswith(expected)] == [m for m in said[1] if m.startswith(expected)]
    assert len([m for m in said[0] if m.startswith(expected)]) == 1
    # no earlier step to blame: the data has none; a shortcut that picks columns says nothing
    numbers = frame.drop("city")
    assert any(
        "steps[0] (target_encode): columns = 'categorical' picks no column, so the step does nothing: the data has "
        "no categorical feature column" in m
        for m in _feature_warnings(lambda: Pipeline([{"step": "target_encode"}]).fit_transform(numbers, y))
    )
    assert not [m for m in _feature_warnings(lambda: Pipeline([{"step": "count_encode"}]).fit(frame)) if "picks" in m]
    # as the user wrote them: data.text adds a step first, 'te' extends 'counts' (the fitted list's steps[1], [2])
    spec = build_spec(
        {
            **BASE,
            "data": {**BASE["data"], "text": ["note"]},
            "pipelines": {
                "counts": {"steps": [{"step": "count_encode"}]},
                "te": {"extends": "counts", "steps": [{"step": "target_encode"}]},
            },
            "models": [{**BASE["models"][1], "pipeline": "te"}],
        }
    )
    model = spec.models[0]
    pipe = Pipeline(spec.feature_steps(model), name="te", places=spec.feature_step_places(model))
    noted = frame.with_columns(note=pl.lit("so so"))
    assert any(
        m.startswith(
            "pipeline 'te' steps[0] (target_encode): columns = 'categorical' picks no column, so the step does "
            "nothing: pipeline 'counts', which 'te' extends, steps[0] (count_encode) replaced the last categorical"
        )
        for m in _feature_warnings(lambda: pipe.fit_transform(noted, y, task="binary"))
    )


# ---------------------------------------------------------------------------------------------- int train, 2.5 test
def test_an_integer_columns_non_whole_test_values_are_numbers_to_numeric_steps_and_unseen_levels_to_lookups() -> None:
    """Train's counts 'n' are Int64; the test rows hold 2.5. The pipeline cast them to Int64, the 2.5 becoming
    missing (while a model without a pipeline reads 2.5). Numeric steps now read the number; lookups take 2.5 for an
    unseen level (never the truncated 2), a whole 2.0 for the level 2, and say so."""
    n = np.array([1, 2, 3, 2, 1, 3, 2, 2] * 3)
    train = pl.DataFrame({"n": n, "m": n * 10, "c": ["a", "b"] * 12})
    y = np.array([0, 1, 1, 0] * 6)
    test = pl.DataFrame({"n": [2.0, 2.5, 3.0, None], "m": [20, 25, 30, 10], "c": ["a", "b", "a", "b"]})
    steps = [
        {"step": "count_encode", "columns": ["n"], "keep": True},
        {"step": "target_encode", "columns": ["n"], "keep": True, "smooth": 0},
        {"step": "group_aggregate", "by": ["n", "c"], "columns": ["m"], "stats": ["count"]},
        {"step": "rare_group", "columns": ["n"], "min_count": 1, "label": "rare"},
    ]
    scaled = Pipeline([{"step": "standardize", "columns": ["n"]}])
    _, state = scaled.fit_transform(train)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = scaled.transform(test, state)
    np.testing.assert_allclose(out["n"].to_numpy()[:3], (np.array([2.0, 2.5, 3.0]) - n.mean()) / n.std())
    said = [str(w.message) for w in caught]
    assert any(
        "column 'n' is Float64 here but was Int64 in the training rows, and holds 1 non-whole value(s) (e.g. 2.5); "
        "pipeline reads it as numbers: steps that compute on numbers"
        in m
        and "take a non-whole value for a level the training rows never held" in m
        for m in said
    ), said

    lookups = Pipeline(steps)
    _, state = lookups.fit_transform(train, y, task="binary")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = lookups.transform(test, state)
    assert out["n__count"].to_list() == [int((n == 2).sum()), 0, int((n == 3).sum()), 0]
    assert out["n__te"].to_list()[:3] == [y[n == 2].mean(), y.mean(), y[n == 3].mean()]
    assert out["m__count_by_n+c"].to_list()[:3] == [
        float(((n == 2) & (train["c"] == "a").to_numpy()).sum()),
        0.0,
        float(((n == 3) & (train["c"] == "a").to_numpy()).sum()),
    ]
    assert out["n"].to_list() == ["2", "rare", "3", None]
    said = [str(w.message) for w in caught]
    assert any("column 'n': 1 row(s) hold categories not seen in the training rows (e.g. '2.5')" in m for m in said)
    # no step reads 'n': the base encoding's codes of a declared categorical integer column (2.0 is the level 2)
    plain = Pipeline([{"step": "standardize", "columns": ["m"]}])
    _, state = plain.fit_transform(train, features=["n", "m"], categorical=["n"])
    codes = plain.transform_matrix(test, state, checks=False).X[:, 0]
    assert codes[0] == state["encoder"]["levels"]["n"].index("2") and np.isnan(codes[1])


# ---------------------------------------------------------------------------------------------- determinism
def test_the_same_rows_give_the_same_state_bit_for_bit_whatever_their_memory_layout() -> None:
    """polars sums a column chunk by chunk and a group in parallel: the same training rows held in three chunks
    (a concat, a parallel read, a worker's copy) gave a standardize / impute mean in other last bits, and a group's
    mean could differ between two fits of the same frame; a fold's features then differed from a refit's."""
    rng = np.random.default_rng(3)
    frame = pl.DataFrame({"a": rng.normal(size=5000) * 1e3, "g": rng.integers(0, 5, 5000)})
    chunked = pl.concat([frame[:1237], frame[1237:3001], frame[3001:]], rechunk=False)
    assert chunked.n_chunks() == 3
    steps = [
        {"step": "group_aggregate", "by": "g", "columns": ["a"], "stats": ["mean", "std", "sum"]},
        {"step": "impute", "strategy": "mean", "columns": ["a"]},
        {"step": "standardize", "columns": ["a"]},
    ]
    pipe = Pipeline(steps)
    state = pipe.fit(frame)
    assert pipe.fit(chunked)["steps"] == state["steps"]
    # the group statistics against numpy, in row order
    values = state["steps"][0]["state"]["values"]
    a, g = frame["a"].to_numpy(), frame["g"].to_numpy()
    np.testing.assert_allclose(values["a__sum_by_g"], [a[g == k].sum() for k in range(5)], rtol=1e-12)
    np.testing.assert_allclose(values["a__mean_by_g"], [a[g == k].mean() for k in range(5)], rtol=1e-12)
    np.testing.assert_allclose(values["a__std_by_g"], [a[g == k].std(ddof=1) for k in range(5)], rtol=1e-12)
    assert all(pipe.fit(frame)["steps"][0] == state["steps"][0] for _ in range(5))


def test_dates_written_as_text_in_the_test_rows_are_read_as_dates() -> None:
    # polars 2 refuses to cast text to a date: every test date became missing (with a warning that they "do not
    # convert"); a datetime's text never matched the cast back ('... 05:00:00' vs '... 05:00:00.000000'), so polars 1
    # dropped those too
    train = pl.DataFrame({"d": [dt.date(2020, 1, 1), dt.date(2020, 3, 1)] * 3,
                          "t": [dt.datetime(2020, 1, 1, 5), dt.datetime(2021, 1, 1, 6, 30)] * 3})  # fmt: skip
    pipe = Pipeline([DateParts(parts=["month", "hour"])])
    _, state = pipe.fit_transform(train)
    test = pl.DataFrame({"d": ["2020-02-01", "2020-07-09", "not a date"], "t": ["2020-01-01 05:00:00"] * 3})
    with pytest.warns(FeatureWarning, match=r"column 'd' is String here but was Date .*\(1 value\(s\) that do not"):
        out = pipe.transform(test, state)
    assert out["d"].to_list() == [dt.date(2020, 2, 1), dt.date(2020, 7, 9), None]
    assert out["d__month"].to_list() == [2, 7, None]
    assert out["t"].to_list() == [dt.datetime(2020, 1, 1, 5)] * 3 and out["t__hour"].to_list() == [5, 5, 5]


def test_test_dates_written_month_first_as_text_are_read_month_first() -> None:
    # train parsed with '%m/%d/%Y' (data.date_formats, or the user's str.to_date): polars' own reading of the test
    # rows' text took '01/02/2022' for 1 February and left '03/22/2022' missing
    train = pl.DataFrame({"d": [dt.date(2022, 3, 22), dt.date(2022, 1, 2)] * 3})
    pipe = Pipeline([DateParts(parts=["month", "day"])])
    _, state = pipe.fit_transform(train)
    test = pl.DataFrame({"d": ["03/22/2022", "01/02/2022", None]})
    with pytest.warns(FeatureWarning, match=r"column 'd' is String here but was Date"):
        out = pipe.transform(test, state)
    assert out["d"].to_list() == [dt.date(2022, 3, 22), dt.date(2022, 1, 2), None]
    assert out["d__month"].to_list() == [3, 1, None] and out["d__day"].to_list() == [22, 2, None]


def test_test_dates_as_text_whose_day_and_month_cannot_be_told_apart_are_refused() -> None:
    # no day after the 12th: '%m/%d/%Y' and '%d/%m/%Y' read other dates; polars read them day first without a word
    train = pl.DataFrame({"d": [dt.date(2022, 3, 22), dt.date(2022, 1, 2)] * 3})
    pipe = Pipeline([DateParts(parts=["month"])])
    _, state = pipe.fit_transform(train)
    test = pl.DataFrame({"d": ["01/02/2022", "03/04/2022"]})
    with pytest.raises(DataError, match=r"column 'd' holds dates written as text .*'%m/%d/%Y' and '%d/%m/%Y'"):
        pipe.transform(test, state)


def test_times_of_day_in_a_date_column_are_read_as_their_dates() -> None:
    """Train's 'd' holds dates; the test rows hold timestamps: the pipeline cast them to Date where lossless only,
    each 13:30 becoming missing (date parts and all), while a model without a pipeline read the timestamp."""
    train = pl.DataFrame({"d": [dt.date(2020, 1, k) for k in range(1, 11)]})
    test = pl.DataFrame({"d": [dt.datetime(2020, 2, 3), dt.datetime(2020, 2, 4, 13, 30), None]})
    pipe = Pipeline([DateParts(parts=["day", "weekday"])])
    _, state = pipe.fit_transform(train)
    said = _feature_warnings(lambda: pipe.transform(test, state))
    out = pipe.transform(test, state, checks=False)
    assert out["d"].to_list() == [dt.date(2020, 2, 3), dt.date(2020, 2, 4), None]
    assert out["d__day"].to_list() == [3, 4, None] and out["d__weekday"].to_list() == [1, 2, None]
    assert said == [
        "column 'd' is Datetime(time_unit='us', time_zone=None) here but was Date in the training rows, and 1 "
        "value(s) hold a time of day (e.g. 2020-02-04 13:30:00); pipeline reads their dates (the time of day is "
        "dropped, as no training row had one)"
    ]


def test_a_column_an_earlier_step_replaced_is_named_with_that_step() -> None:
    """A multiclass target_encode replaces 'code' by 'code__te_0' .. 'code__te_2'; a later step naming 'code' said
    only `column 'code' is not in the frame`, after the run's data checks had passed (the data has 'code')."""
    frame = pl.DataFrame({"code": ["a", "b", "c"] * 10, "x": np.arange(30.0)})
    y = np.arange(30) % 3
    pipe = Pipeline([TargetEncode(columns=["code"]), {"step": "count_encode", "columns": ["code"]}], name="p")
    with pytest.raises(
        DataError,
        match=r"^pipeline 'p' steps\[1\] \(count_encode\): column 'code' is no longer in the frame: pipeline 'p' "
        r"steps\[0\] \(target_encode\) replaced or dropped it; move this step before that one",
    ):
        pipe.fit(frame, y, task="multiclass")


def test_select_on_a_shortcut_that_picks_nothing_is_refused() -> None:
    """select with columns = 'categorical' on data with no categorical column kept no feature at all: the model
    was fitted on an empty matrix without a word (a pattern that matches nothing was refused already)."""
    frame = pl.DataFrame({"x": [1.0, 2.0, 3.0], "z": [3.0, 1.0, 2.0]})
    with (
        warnings.catch_warnings(),
        pytest.raises(
            DataError, match=r"steps\[0\] \(select\): columns = 'categorical' picks no feature column, so select"
        ),
    ):
        warnings.simplefilter("error")  # the refusal alone, not the empty-shortcut warning before it
        Pipeline([{"step": "select", "columns": "categorical"}]).fit(frame)
    out, _ = Pipeline([{"step": "select", "columns": "numeric"}]).fit_transform(frame)
    assert out.columns == ["x", "z"]
