"""Leak tests through the runner: a declared pipeline is fitted on each fold's training rows only.

* A pure-noise, high-cardinality categorical column, target-encoded out of fold: the CV AUC stays near 0.5. The same
  column encoded once on all training rows before the folds (the classic leak) scores near 1.0: the test can tell.
* The scaling statistics saved with each fold are exactly those of that fold's training rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import demo_spec

from kaggle_kit.config import CompetitionSpec, build_spec
from kaggle_kit.features import Pipeline, TargetEncode
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

SEQUENTIAL = {"n_jobs": 1, "threads_per_task": 1}
LOGREG = {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 1000}}


def _noise_frame() -> pl.DataFrame:
    rng = np.random.default_rng(7)
    n = 3000
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "code": [f"c{v}" for v in rng.integers(0, n, n)],  # ~1 row per level, no signal at all
            "noise": rng.normal(size=n),
            "y": rng.integers(0, 2, n),
        }
    )


def _spec(folder: Path, pipelines: dict, model: dict) -> CompetitionSpec:
    return build_spec(
        {
            "name": "noise",
            "task": "binary",
            "metric": "roc_auc",
            "seed": 3,
            "data": {"train": "train.csv", "id": "id", "target": "y"},
            "run": SEQUENTIAL,
            "pipelines": pipelines,
            "models": [{"name": "logreg", **LOGREG, **model}],
        },
        base_dir=folder,
    )


@pytest.mark.filterwarnings("ignore::kaggle_kit.features.base.FeatureWarning")  # unseen levels in every fold
def test_out_of_fold_target_encoding_of_noise_scores_chance(tmp_path: Path) -> None:
    _noise_frame().write_csv(tmp_path / "train.csv")
    spec = _spec(tmp_path, {"te": {"steps": [{"step": "target_encode", "columns": ["code"]}]}}, {"pipeline": "te"})
    result = run(spec, runs_root=tmp_path / "runs", progress=None)
    cv = {m.name: m.cv for m in result.models}["logreg"]
    assert abs(cv - 0.5) < 0.05, cv


def test_target_encoding_before_the_folds_leaks(tmp_path: Path) -> None:
    """The control: encode on all rows first (what the pipeline's in-fold fitting prevents): a near-perfect AUC."""
    frame = _noise_frame()
    pipe = Pipeline([TargetEncode(columns=["code"])])
    state = pipe.fit(frame.drop("y"), frame["y"], task="binary")
    leaky = pipe.transform(frame, state)  # in-sample: each row's encoding holds its own target
    leaky.write_csv(tmp_path / "train.csv")
    result = run(_spec(tmp_path, {}, {}), runs_root=tmp_path / "runs", progress=None)
    cv = {m.name: m.cv for m in result.models}["logreg"]
    assert cv > 0.9, cv


def test_scaling_statistics_are_those_of_the_folds_training_rows(demo_data: Path, tmp_path: Path) -> None:
    pipelines = {"scaled": {"steps": [{"step": "standardize"}, {"step": "robust_scale", "columns": ["mean radius"]}]}}
    models = [{"name": "logreg", **LOGREG, "pipeline": "scaled"}]
    spec = demo_spec("demo-breast-cancer", demo_data, pipelines=pipelines, models=models, run=SEQUENTIAL)
    result = run(spec, runs_root=tmp_path, progress=None)
    assert {m.name: m.status for m in result.models}["logreg"] == "ok"
    store = RunStore(result.run_dir)
    folds = store.load_folds(5, "complement")
    key = store.current_models()["logreg"]
    train = load_competition(spec).train  # as the runner read it
    features = [c for c in train.columns if c not in ("id", "diagnosis")]
    whole = train.select(pl.col(features).mean()).row(0)
    assert len(features) == 30
    for r, k in folds.tasks():
        train_idx, _ = folds.train_valid(r, k)
        res = store.finished("logreg", key, r, k)
        assert res is not None
        state = json.loads((store.fold_dir("logreg", key, r, k) / "features.json").read_text())
        scaler = state["steps"][0]["state"]
        assert scaler["columns"] == features
        rows = train[train_idx]
        # bit for bit: the state fitting the pipeline on the fold's training rows yourself gives
        alone = Pipeline(spec.pipeline_steps("scaled")).fit(rows, features=features, categorical=[])
        assert alone["steps"] == state["steps"]
        assert scaler["mean"] != pytest.approx(list(whole), rel=1e-6)  # not the statistics of all rows
        X = rows.select(features).to_numpy()
        np.testing.assert_allclose(scaler["mean"], X.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(scaler["scale"], X.std(axis=0), rtol=1e-12)
        # the robust scaler came after: it saw the standardised training rows, so its median is theirs
        standardised = (rows["mean radius"].to_numpy() - scaler["mean"][0]) / scaler["scale"][0]
        assert state["steps"][1]["state"]["center"] == [pytest.approx(float(np.median(standardised)), abs=1e-12)]


# ---------------------------------------------------------------------------------------------- every step
#: one of each step that fits something, the target-aware ones (target_encode, arithmetic_pairs, text) among them
EVERY_STEP = [
    {"step": "target_encode", "columns": ["code"], "keep": True},
    {"step": "count_encode", "columns": ["shop"], "keep": True},
    {"step": "group_aggregate", "by": "shop", "columns": ["a"], "stats": ["mean", "count"]},
    {"step": "rare_group", "columns": ["shop"], "min_count": 20},
    {"step": "one_hot", "columns": ["shop"]},
    {"step": "ordinal", "columns": ["code"], "categorical": False},
    {"step": "arithmetic_pairs", "columns": ["a", "b", "noise"], "top": 3},
    {"step": "text", "columns": ["review"], "min_df": 1, "max_features": 40, "svd": 2, "cv": 3},
    {"step": "impute", "columns": ["b"]},
    {"step": "quantile", "columns": ["a"], "n_quantiles": 20},
    {"step": "clip", "columns": ["noise"]},
    {"step": "robust_scale", "columns": ["b"]},
    {"step": "standardize", "columns": ["a", "noise"]},
]


def _mixed_frame(n: int = 240) -> pl.DataFrame:
    rng = np.random.default_rng(11)
    y = rng.integers(0, 3, n)
    words = np.array(["good", "bad", "fine", "meh", "great", "awful"])
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "code": [f"k{v}" for v in rng.integers(0, 30, n)],
            "shop": rng.choice(["s1", "s2", "s3", "s4"], n, p=[0.5, 0.3, 0.15, 0.05]).tolist(),
            "a": y + rng.normal(size=n),
            "b": pl.Series(rng.normal(size=n)).scatter(np.flatnonzero(rng.random(n) < 0.1), None),
            "noise": rng.normal(size=n),
            "review": [" ".join(rng.choice(words, 3)) for _ in range(n)],
            "y": y,
        }
    )


@pytest.mark.filterwarnings("ignore::kaggle_kit.features.base.FeatureWarning")
def test_every_steps_fold_state_is_that_of_the_folds_training_rows_and_target(tmp_path: Path) -> None:
    """Each fold's stored state of every fitting step (target-aware ones included) is, bit for bit, the state of
    the pipeline fitted on that fold's training rows and their target alone: no step saw a validation row, or its
    target. A step that fitted on all rows, or read another fold's target, gives another state."""
    _mixed_frame().write_csv(tmp_path / "train.csv")
    spec = build_spec(
        {
            "name": "mixed",
            "task": "multiclass",
            "metric": "log_loss",
            "seed": 5,
            "data": {"train": "train.csv", "id": "id", "target": "y", "text": ["review"]},
            "folds": {"n_splits": 3},
            "run": SEQUENTIAL,
            "pipelines": {"every": {"steps": EVERY_STEP}},
            "models": [{"name": "logreg", **LOGREG, "pipeline": "every"}],
        },
        base_dir=tmp_path,
    )
    result = run(spec, runs_root=tmp_path / "runs", progress=None)
    assert {m.name: m.status for m in result.models}["logreg"] == "ok"
    store = RunStore(result.run_dir)
    data = load_competition(spec)
    folds = store.load_folds(3, "complement")
    key = store.current_models()["logreg"]
    whole = Pipeline(spec.pipeline_steps("every")).fit(
        data.train,
        data.y,
        task="multiclass",
        classes=range(3),
        seed=0,
        features=data.features,
        categorical=data.categorical,
    )
    for r, k in folds.tasks():
        train_idx, _ = folds.train_valid(r, k)
        state = json.loads((store.fold_dir("logreg", key, r, k) / "features.json").read_text())
        alone = Pipeline(spec.pipeline_steps("every")).fit(
            data.train[train_idx],
            data.y[train_idx],
            task="multiclass",
            classes=range(3),
            seed=state["seed"],
            features=data.features,
            categorical=data.categorical,
        )
        assert [s["step"] for s in state["steps"]] == [s["step"] for s in EVERY_STEP]
        for fold_step, own, all_rows in zip(state["steps"], alone["steps"], whole["steps"], strict=True):
            assert fold_step == own, fold_step["step"]
            if fold_step["step"] not in ("rare_group", "one_hot", "ordinal"):  # levels only: alike on all rows
                assert fold_step["state"] != all_rows["state"], fold_step["step"]


@pytest.mark.filterwarnings("ignore::kaggle_kit.features.base.FeatureWarning")
@pytest.mark.parametrize("step", EVERY_STEP, ids=lambda s: s["step"])
def test_a_rows_features_do_not_depend_on_the_rows_transformed_with_it(step: dict) -> None:
    """Validation and test rows are transformed with the training rows' state only: a row's features are the same
    whether it is transformed among the other rows or alone (no step computes statistics of the rows it is
    applied to), bit for bit, and the same seed gives the same state and features."""
    frame = _mixed_frame()
    train, test = frame[:180].drop("id", "y"), frame[180:].drop("id", "y")
    y = frame["y"][:180].to_numpy()
    pipe = Pipeline([step])
    out, state = pipe.fit_transform(train, y, task="multiclass", seed=2)
    again, same = pipe.fit_transform(train, y, task="multiclass", seed=2)
    assert same == state and again.equals(out)
    together = pipe.transform(test, state)
    alone = pl.concat([pipe.transform(test[i : i + 1], state) for i in range(0, test.height, 7)], how="vertical")
    # bit for bit: standardize divided a column of many rows (polars: times the reciprocal) and one row exactly
    np.testing.assert_array_equal(pipe.matrix(alone, state).X, pipe.matrix(together[::7], state).X)
    np.testing.assert_array_equal(
        pipe.transform(test, state).select(pl.selectors.float()).to_numpy()[::7],
        alone.select(pl.selectors.float()).to_numpy(),
    )


@pytest.mark.parametrize(
    "step",
    [
        {"step": "cyclical", "columns": ["y"], "period": 4},
        {"step": "group_aggregate", "by": "code", "columns": ["y"], "stats": ["mean"]},
        {"step": "arithmetic_pairs", "columns": ["y", "noise"]},
        {"step": "drop", "columns": ["y"]},
        {"step": "group_aggregate", "by": "y", "columns": ["noise"], "stats": ["mean"]},  # the target as a key
    ],
    ids=lambda s: f"{s['step']}-{s.get('by', '')}",
)
def test_a_step_naming_the_target_is_refused_before_any_fit(step: dict, tmp_path: Path) -> None:
    """The target column was in the frames the pipeline saw: `cyclical` on 'y' gave each validation row features of
    its own target (CV AUC 1.0 on noise), `group_aggregate` of 'y' an in-sample target encoding."""
    from kaggle_kit.errors import ConfigError

    _noise_frame().write_csv(tmp_path / "train.csv")
    spec = _spec(tmp_path, {"p": {"steps": [step]}}, {"pipeline": "p"})
    with pytest.raises(ConfigError, match=r"\(pipeline 'p'\) steps\[0\] \(\w+\): (columns|by) names 'y', the target"):
        run(spec, runs_root=tmp_path / "runs", progress=None)
    if step["step"] == "drop":  # names it only: its own message, as for any column that is no feature
        return
    # the runner hands the pipeline no target column at all (fold or refit): no step can read it
    from kaggle_kit.errors import DataError

    frame = _noise_frame()
    with pytest.raises(DataError, match=r"column 'y' is the target \(y\): no step reads it as a column"):
        Pipeline([step]).fit(frame.drop("id"), frame["y"], task="binary")


def test_a_step_naming_a_column_the_test_file_lacks_is_refused_before_any_fit(tmp_path: Path) -> None:
    """A data.drop column used as a group key, absent from the test file: each fold fitted its model, then stopped
    at its test rows (`the frame lacks column 'shop', which the pipeline was fitted with`)."""
    from kaggle_kit.errors import ConfigError

    frame = _noise_frame().with_columns(shop=(pl.col("id") % 7).cast(pl.String))
    frame[:2400].write_csv(tmp_path / "train.csv")
    frame[2400:].drop("y", "shop").write_csv(tmp_path / "test.csv")
    steps = [{"step": "group_aggregate", "by": "shop", "columns": ["noise"], "stats": ["mean"]}]
    spec = _spec(tmp_path, {"p": {"steps": steps}}, {"pipeline": "p"})
    spec = spec.model_copy(
        update={"data": spec.data.model_copy(update={"test": tmp_path / "test.csv", "drop": ["shop"]})}
    )
    with pytest.raises(
        ConfigError, match=r"steps\[0\] \(group_aggregate\): by names 'shop', which the test file lacks"
    ):
        run(spec, runs_root=tmp_path / "runs", progress=None)
    assert not list((tmp_path / "runs").glob("*/models/*/*/folds/*/features.json"))


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            {"step": "date_parts", "columns": ["noise"]},
            "date_parts needs Date or Datetime columns, but 'noise' is Float64",
        ),
        (
            {"step": "standardize", "columns": ["noise", "code"]},
            "standardize needs numeric columns, but 'code' is String",
        ),
        (
            {"step": "cyclical", "columns": ["code"], "period": 7},
            "cyclical needs numeric columns, but 'code' is String",
        ),
        (
            {"step": "impute", "columns": ["code"], "strategy": "mean"},
            "strategy 'mean' needs numeric columns, but 'code'",
        ),
        ({"step": "group_aggregate", "by": "id", "columns": ["code"]}, "stat 'mean' needs numbers, but column 'code'"),
        (
            {"step": "impute", "columns": ["noise"], "strategy": "constant", "fill_value": "none"},
            "fill_value 'none' is text, but column 'noise' is numeric",
        ),
    ],
)
def test_a_step_naming_a_column_of_a_type_it_cannot_read_is_refused_before_any_fit(
    tmp_path: Path, step: dict, message: str
) -> None:
    """Such a step stopped the run at its model's first fold, after the models before it (the baseline here) had
    fitted; now the run's check refuses it, with the words the step's own fit uses."""
    from kaggle_kit.errors import DataError

    _noise_frame()[:300].write_csv(tmp_path / "train.csv")
    spec = _spec(tmp_path, {"p": {"steps": [step]}}, {"pipeline": "p"})
    with pytest.raises(DataError, match=rf"model 'logreg' \(pipeline 'p'\) steps\[0\] \({step['step']}\): {message}"):
        run(spec, runs_root=tmp_path / "runs", progress=None)
    assert not list((tmp_path / "runs").glob("*/models/*/*/folds/*/*"))
    with pytest.raises(DataError, match=message):  # the step's fit says the same in a notebook
        Pipeline([step]).fit(_noise_frame()[:300].drop("y"))


def test_a_lookup_of_a_column_target_encoded_in_place_is_refused_before_any_fit(tmp_path: Path) -> None:
    from kaggle_kit.errors import ConfigError

    _noise_frame()[:300].write_csv(tmp_path / "train.csv")
    steps = [{"step": "target_encode", "columns": ["code"]}, {"step": "count_encode", "columns": ["code"]}]
    spec = _spec(tmp_path, {"p": {"steps": steps}}, {"pipeline": "p"})
    with pytest.raises(ConfigError, match=r"model 'logreg' \(pipeline 'p'\) steps\[1\] \(count_encode\): columns names "
                       r"'code', which an earlier target_encode step replaced"):  # fmt: skip
        run(spec, runs_root=tmp_path / "runs", progress=None)
    assert not list((tmp_path / "runs").glob("*/models/*/*/folds/*/*"))


def test_a_column_an_earlier_step_may_retype_is_left_to_the_fit() -> None:
    from kaggle_kit.errors import DataError
    from kaggle_kit.features.pipeline import check_step_types

    schema = pl.Schema({"code": pl.String, "noise": pl.Float64, "when": pl.Date})
    fine = [
        [{"step": "count_encode", "columns": ["code"]}, {"step": "standardize", "columns": ["code"]}],
        [{"step": "ordinal"}, {"step": "cyclical", "columns": ["code"], "period": 3}],  # 'categorical' by default
        [{"step": "date_parts", "columns": ["when"]}, {"step": "group_aggregate", "by": "code", "columns": ["noise"]}],
        [{"step": "group_aggregate", "by": "code", "columns": ["code", "noise"], "stats": ["count", "nunique"]}],
        [{"step": "standardize", "columns": ["noise", "code__count"]}],  # a column an earlier step would make
        [{"step": "text", "columns": ["code"], "stats": True}],
    ]
    for steps in fine:
        check_step_types(steps, schema, "model 'm'")
    with pytest.raises(DataError, match=r"model 'm' steps\[1\] \(log1p\): log1p needs numeric columns, but 'when'"):
        check_step_types(
            [{"step": "rare_group", "columns": ["code"]}, {"step": "log1p", "columns": ["when"]}], schema, "model 'm'"
        )


@pytest.mark.parametrize(
    "steps",
    [
        # the key listed among the columns: the fit leaves a key out of its statistics (text key, mean)
        [{"step": "group_aggregate", "by": "city", "columns": ["city", "x"], "stats": ["mean", "count"]}],
        [{"step": "group_aggregate", "by": ["city", "code"], "columns": ["city", "code", "x"], "stats": ["sum"]}],
        [{"step": "standardize", "columns": ["flag", "code"]}, {"step": "log1p", "columns": ["flag"]}],  # 0 / 1
        [{"step": "group_aggregate", "by": "code", "columns": ["flag", "when", "at"], "stats": ["mean", "max"]}],
        [
            {"step": "date_parts", "columns": ["when", "at"]},
            {"step": "cyclical", "columns": ["when__month"], "period": 12},
        ],
        [{"step": "impute", "columns": ["when", "city"], "strategy": "most_frequent"}],
    ],
)
def test_a_legitimate_step_of_booleans_codes_dates_or_keys_is_not_refused_by_the_check(steps: list) -> None:
    """What check_step_types passes, the fit takes: a check that refused one of these would stop a run that works."""
    from datetime import date, datetime

    from kaggle_kit.features.pipeline import check_step_types

    n = 12
    frame = pl.DataFrame(
        {
            "city": ["a", "b", None] * 4,
            "code": [1, 2, 3, 4] * 3,  # an integer-coded category
            "flag": [True, False] * 6,
            "when": [date(2020, 1, 1 + i) for i in range(n)],
            "at": [datetime(2020, 1, 1, i) for i in range(n)],
            "x": np.linspace(0.0, 1.0, n),
        }
    )
    check_step_types(steps, frame.schema, "model 'm'")
    out, _ = Pipeline.from_config(steps).fit_transform(frame, np.arange(n) % 2, task="binary", seed=0)
    assert out.height == n


def test_a_shortcut_that_picks_nothing_is_said_once_per_model_not_per_fold(tmp_path: Path) -> None:
    """count_encode then target_encode on 'categorical': the no-op was said on every fold of the model (5 times in a
    notebook, where Python's once-per-place display forgets what it showed)."""
    import warnings

    _noise_frame()[:600].write_csv(tmp_path / "train.csv")
    steps = [{"step": "count_encode", "columns": ["code"]}, {"step": "target_encode"}]
    spec = _spec(tmp_path, {"p": {"steps": steps}}, {"pipeline": "p"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(spec, runs_root=tmp_path / "runs", progress=None)
    said = [str(w.message) for w in caught if "picks no column" in str(w.message)]
    assert len(said) == 1, said
    assert said[0].startswith("pipeline 'p' steps[1] (target_encode): columns = 'categorical' picks no column")


def test_a_notebook_frame_holding_the_target_as_a_feature_is_refused() -> None:
    """`pipe.fit(train, train["y"].to_numpy())`: the array has no name, so the column 'y' stayed a feature and
    every row's matrix held its own target, without a word (y = train["y"], a named series, left it out)."""
    from kaggle_kit.errors import DataError

    frame = _noise_frame().drop("id")
    pipe = Pipeline([TargetEncode(columns=["code"])])
    with pytest.raises(DataError, match=r"column 'y' of the frame holds the target y itself"):
        pipe.fit(frame, frame["y"].to_numpy(), task="binary")
    assert "y" not in pipe.fit(frame, frame["y"], task="binary")["features"]
    assert pipe.fit(frame.drop("y"), frame["y"].to_numpy(), task="binary")["features"] == ["code", "noise"]


def test_the_folds_pipelines_never_see_the_target_column_even_past_the_runs_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's check refuses a step naming the target before any fit; behind it, each fold's pipeline is fitted on
    frames without the target column (it goes in as y only). With the check skipped, cyclical on 'y' stops at the
    fold (the column is not in the frame) instead of scoring CV AUC 1.0 on noise."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.runtime import runner

    monkeypatch.setattr(runner, "check_step_columns", lambda *args, **kwargs: None)
    _noise_frame()[:600].write_csv(tmp_path / "train.csv")
    steps = [{"step": "cyclical", "columns": ["y"], "period": 4}]
    spec = _spec(tmp_path, {"p": {"steps": steps}}, {"pipeline": "p"})
    with pytest.raises(DataError, match=r"column 'y' is not in the frame"):
        run(spec, runs_root=tmp_path / "runs", progress=None)


def test_a_step_naming_any_target_of_a_multi_target_run_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A multilabel run's second target column ('b', not the first) named by a step: refused as the first is."""
    from kaggle_kit.errors import ConfigError

    rng = np.random.default_rng(5)
    n = 60
    frame = pl.DataFrame(
        {"id": range(n), "x": rng.normal(size=n), "a": rng.integers(0, 2, n), "b": rng.integers(0, 2, n)}
    )
    spec = build_spec(
        {
            "name": "ml",
            "task": "multilabel",
            "metric": "mean_log_loss",
            "data": {"train": "train.csv", "id": "id", "target": ["a", "b"]},
            "run": SEQUENTIAL,
            "pipelines": {"p": {"steps": [{"step": "cyclical", "columns": ["x", "b"], "period": 2}]}},
            "models": [{"name": "lr", **LOGREG, "pipeline": "p"}],
        },
        base_dir=tmp_path,
    )
    with pytest.raises(ConfigError, match=r"steps\[0\] \(cyclical\): columns names 'b', the target"):
        run(spec, runs_root=tmp_path / "runs", train=frame, progress=None, record_history=False)
    # past the run's check, the folds' pipelines are handed none of the target columns (the first's drop alone
    # left 'b' in their frames)
    from kaggle_kit.errors import DataError
    from kaggle_kit.runtime import runner

    monkeypatch.setattr(runner, "check_step_columns", lambda *args, **kwargs: None)
    with pytest.raises(DataError, match=r"column 'b' is not in the frame"):
        run(spec, runs_root=tmp_path / "runs", train=frame, progress=None, record_history=False)


@pytest.mark.parametrize(
    "as_y",
    [
        lambda f: pl.Series(f["y"].to_numpy()),  # a polars series built from the values: named ''
        lambda f: f["y"].alias("label"),  # renamed
        lambda f: f["y"].to_list(),
    ],
    ids=["unnamed-series", "renamed-series", "list"],
)
def test_a_notebook_target_not_named_as_its_column_is_refused(as_y) -> None:
    """y handed over under another name than its column's (a polars series is always named, '' by default): the
    column was a feature, each row's features held its own target (only a nameless numpy array was compared)."""
    from kaggle_kit.errors import DataError

    frame = _noise_frame().drop("id")
    with pytest.raises(DataError, match=r"column 'y' of the frame holds the target y itself"):
        Pipeline([TargetEncode(columns=["code"])]).fit(frame, as_y(frame), task="binary")


def test_a_notebook_boolean_target_column_is_refused() -> None:
    """A True / False target column, y its values: a Boolean column was not compared (numbers and text only)."""
    from kaggle_kit.errors import DataError

    frame = _noise_frame().drop("id").with_columns(pl.col("y").cast(pl.Boolean))
    with pytest.raises(DataError, match=r"column 'y' of the frame holds the target y itself"):
        Pipeline([{"step": "standardize"}]).fit(frame, frame["y"].to_numpy(), task="binary")
    other = frame.with_columns(flag=pl.col("noise") > 0)  # a Boolean feature that is not y: no word
    assert "flag" in Pipeline([{"step": "standardize"}]).fit(other.drop("y"), frame["y"].to_numpy())["features"]


def test_a_notebook_column_equal_to_y_on_its_first_rows_only_is_a_feature() -> None:
    """The first rows tell most columns apart quickly; a column that agrees with y there but not further is not y."""
    frame = _noise_frame().drop("id")
    y = frame["y"].to_numpy()
    near = frame.with_columns(pl.Series("y", np.r_[y[:1500], 1 - y[1500:]])).rename({"y": "near"})
    assert "near" in Pipeline([{"step": "standardize"}]).fit(near, y, task="binary")["features"]


def test_a_notebook_step_naming_the_target_column_left_out_of_features_is_refused() -> None:
    """`fit(train, y_array, features=[...])`, train holding the target column outside the features (as the runner's
    frames held it): a step naming that column read each row's own target (y had no name to tell it by). The column
    holding y is the target to the steps; another column outside the features (a group key) is still read."""
    from kaggle_kit.errors import DataError

    frame = _noise_frame().with_columns(shop=(pl.col("id") % 7).cast(pl.String)).drop("id")
    y, features = frame["y"].to_numpy(), ["code", "noise"]
    with pytest.raises(DataError, match=r"column 'y' is the target \(y\): no step reads it as a column"):
        Pipeline([{"step": "cyclical", "columns": ["y"], "period": 4}]).fit(frame, y, features=features)
    keyed = Pipeline([{"step": "group_aggregate", "by": "shop", "columns": ["noise"], "stats": ["mean"]}])
    assert "noise__mean_by_shop" in keyed.fit(frame, y, task="binary", features=features)["features"]


def test_a_name_only_a_target_could_make_is_refused_before_any_fit() -> None:
    """'y__sin' after a step: passed as a column an earlier step may make (a column's name then '__'), then stopped
    the model's first fold (not in the frame); no step reads the target, so none makes it: named now."""
    from kaggle_kit.errors import ConfigError
    from kaggle_kit.features.pipeline import check_step_columns

    steps = [{"step": "cyclical", "columns": ["noise"], "period": 4}, {"step": "standardize", "columns": ["y__sin"]}]
    with pytest.raises(ConfigError, match=r"steps\[1\] \(standardize\): columns names 'y__sin', which is not a column"):
        check_step_columns(steps, ["id", "noise", "y"], "model 'lr'", targets=("y",))
    check_step_columns([steps[0], {**steps[1], "columns": ["noise__sin"]}], ["id", "noise", "y"], "m", targets=("y",))
