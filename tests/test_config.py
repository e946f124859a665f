"""Tests for kaggle_kit.config: the competition spec, its TOML form, and the errors a bad config gets."""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from kaggle_kit.config import (
    CompetitionSpec,
    DataSpec,
    FoldSpec,
    ModelSpec,
    RunSpec,
    build_spec,
    load_spec,
    spec_hash,
    tomllib,
)
from kaggle_kit.errors import ConfigError, KitError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "competitions" / "demo-breast-cancer.toml"

#: Text pydantic puts in its own error messages; a ConfigError must never carry it.
PYDANTIC_NOISE = ("For further information visit", "errors.pydantic.dev", "validation error for", "[type=")

VALID: dict[str, Any] = {
    "name": "titanic",
    "task": "binary",
    "metric": "roc_auc",
    "seed": 7,
    "data": {"train": "train.csv", "test": "test.csv", "id": "PassengerId", "target": "Survived"},
    "folds": {"strategy": "stratified", "n_splits": 5},
    "run": {"name": "titanic-v1"},
    "models": [
        {"name": "xgb", "kind": "xgboost", "early_stopping_rounds": 50, "params": {"max_depth": 3}},
        {"name": "logreg", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"},
    ],
}


def _walk(spec: dict[str, Any], key: str) -> tuple[Any, str | int]:
    """The container holding dotted ``key`` ("models.0.name") and the last part, as a dict key or list index."""
    *parents, last = key.split(".")
    node: Any = spec
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    return node, int(last) if isinstance(node, list) else last


def put(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(spec: dict[str, Any]) -> None:
        node, last = _walk(spec, key)
        node[last] = value

    return mutate


def drop(key: str) -> Callable[[dict[str, Any]], None]:
    def mutate(spec: dict[str, Any]) -> None:
        node, last = _walk(spec, key)
        del node[last]

    return mutate


def both(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(spec: dict[str, Any]) -> None:
        for m in mutations:
            m(spec)

    return mutate


def assert_clean(message: str) -> None:
    for noise in PYDANTIC_NOISE:
        assert noise not in message, f"pydantic's own text leaked into the message: {message}"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- the error table
ERRORS = [
    # unknown keys, at every level, with the allowed keys and the closest one
    pytest.param(
        put("metrc", "roc_auc"),
        ConfigError,
        r"unknown key 'metrc'; allowed here: .*'metric'.*\. Did you mean 'metric'\?",
        id="unknown-top-level",
    ),
    pytest.param(
        put("data.targte", "Survived"),
        ConfigError,
        r"unknown key 'data\.targte'; allowed here: .*'target'.*Did you mean 'target'\?",
        id="unknown-in-data",
    ),
    pytest.param(
        put("folds.n_split", 3),
        ConfigError,
        r"unknown key 'folds\.n_split'; allowed here: .*'n_splits'.*Did you mean 'n_splits'\?",
        id="unknown-in-folds",
    ),
    pytest.param(
        put("run.n_job", 2),
        ConfigError,
        r"unknown key 'run\.n_job'; allowed here: .*'n_jobs'.*Did you mean 'n_jobs'\?",
        id="unknown-in-run",
    ),
    pytest.param(
        put("models.0.early_stoping_rounds", 10),
        ConfigError,
        r"unknown key 'models\[0\]\.early_stoping_rounds' \(model 'xgb'\); allowed here: .*"
        r"Did you mean 'early_stopping_rounds'\?",
        id="unknown-in-model",
    ),
    pytest.param(
        put("models.1.parms", {}),
        ConfigError,
        r"unknown key 'models\[1\]\.parms'.*Did you mean 'params'\?",
        id="unknown-in-second-model",
    ),
    # another tool's name of a key, or a library's parameter beside the model's keys: no allowed key is close
    pytest.param(
        put("models.0.n_estimators", 500),
        ConfigError,
        r"unknown key 'models\[0\]\.n_estimators' \(model 'xgb'\); .*\. Did you mean 'num_boost_round'\?$",
        id="n_estimators-in-model",
    ),
    pytest.param(
        put("models.0.learning_rate", 0.05),
        ConfigError,
        r"unknown key 'models\[0\]\.learning_rate' \(model 'xgb'\); .*\. A library's parameter goes in the model's "
        r"params table: params = \{ learning_rate = 0\.05 \}$",
        id="library-param-in-model",
    ),
    pytest.param(  # a list on one line (tomli_w wrote one item a line: the message spanned lines)
        put("models.0.eval_at", [1, 3]),
        ConfigError,
        r"\. A library's parameter goes in the model's params table: params = \{ eval_at = \[1, 3\] \}$",
        id="library-list-param-in-model",
    ),
    pytest.param(
        put("folds.random_state", 3),
        ConfigError,
        r"unknown key 'folds\.random_state'; .*\. The spec's top-level seed = \.\.\. fixes the folds\.$",
        id="random_state-in-folds",
    ),
    pytest.param(
        put("data.tets", "test.csv"),
        ConfigError,
        r"unknown key 'data\.tets'; .*\. Did you mean 'test'\?$",  # swapped letters: not 'text', as close
        id="swapped-letters",
    ),
    pytest.param(
        put("data.train", ""),
        ConfigError,
        r"data\.train: must name a file, such as 'train\.csv' .*; got ''$",  # it was read as the config's folder
        id="train-empty-path",
    ),
    pytest.param(
        put("base_dir", "/etc"), ConfigError, r"unknown key 'base_dir' \(data paths are relative", id="base_dir-key"
    ),
    # wrong types
    pytest.param(
        put("folds.n_splits", "five"),
        ConfigError,
        r"folds\.n_splits: must be a whole number such as 5 without quotes; got 'five'",
        id="n_splits-str",
    ),
    pytest.param(put("seed", "x"), ConfigError, r"seed: must be a whole number .*; got 'x'", id="seed-str"),
    pytest.param(put("seed", 1.5), ConfigError, r"seed must be a whole number; got 1\.5", id="seed-fraction"),
    # a quoted number or a boolean where a number goes (pydantic read "5" as 5 and true as 1, without a word)
    pytest.param(
        put("folds.n_splits", "5"),
        ConfigError,
        r"folds\.n_splits: must be a whole number such as 5 without quotes; got '5'",
        id="n_splits-quoted",
    ),
    pytest.param(
        put("seed", "42"), ConfigError, r"seed: must be a whole number .* without quotes; got '42'", id="seed-quoted"
    ),
    pytest.param(
        put("run.n_jobs", True), ConfigError, r"run\.n_jobs: must be a whole number .*; got True", id="n_jobs-bool"
    ),
    pytest.param(
        put("run.time_limit", True),
        ConfigError,
        r"run\.time_limit: must be a number .*; got True",
        id="time-limit-bool",
    ),
    pytest.param(
        put("models.0.num_boost_round", True),
        ConfigError,
        r"models\[0\]\.num_boost_round \(model 'xgb'\): must be a whole number .*; got True",
        id="rounds-bool",
    ),
    pytest.param(
        put("models.0.early_stopping_rounds", "50"),
        ConfigError,
        r"models\[0\]\.early_stopping_rounds \(model 'xgb'\): must be a whole number .* without quotes; got '50'",
        id="stopping-quoted",
    ),
    pytest.param(
        put("folds.shuffle", "yes"),
        ConfigError,
        r"folds\.shuffle: must be true or false without quotes; got 'yes'",
        id="shuffle-str",
    ),
    pytest.param(
        put("data.target", 1),
        ConfigError,
        r"^[^\n]*\n  - data\.target: must be the target column's name in quotes.*; got 1$",  # one line, not two
        id="target-number",
    ),
    # a TOML table written in the other shape ([models] for [[models]], [[data]] for [data], "x" for ["x"])
    pytest.param(
        put("models", {"name": "xgb", "kind": "xgboost"}),
        ConfigError,
        r"- models must be \[\[models\]\] tables \(two brackets\), one per model; got one \[models\] table$",
        id="models-one-bracket",
    ),
    pytest.param(
        put("folds", [{"n_splits": 3}]),
        ConfigError,
        r"- folds must be one \[folds\] table \(one bracket\); got \[\[folds\]\] \(a list of 1 table\(s\)\)$",
        id="folds-two-brackets",
    ),
    pytest.param(
        put("pipelines", [{"steps": []}]),
        ConfigError,
        r"- pipelines are tables by name, \[pipelines\.NAME\] with steps = \[\.\.\.\]; got \[\[pipelines\]\]",
        id="pipelines-two-brackets",
    ),
    pytest.param(
        put("models.0.params", "x"),
        ConfigError,
        r"models\[0\]\.params \(model 'xgb'\) must be a table of the library's parameters, such as .*; got 'x'",
        id="params-str",
    ),
    pytest.param(
        put("data", "train.csv"), ConfigError, r"data must be a table of keys .*got 'train\.csv'", id="data-not-a-table"
    ),
    pytest.param(put("models.0.params", [1, 2]), ConfigError, r"models\[0\]\.params .*table", id="params-list"),
    pytest.param(
        put("data.drop", "Name"),
        ConfigError,
        r"data\.drop must be a list; write \['Name'\] for one item; got 'Name'",
        id="drop-not-a-list",
    ),
    # enumerations
    pytest.param(
        put("task", "binery"),
        ConfigError,
        r"task must be one of 'binary', 'multiclass', 'regression', 'distribution', 'multilabel' or "
        r"'multiregression'; got 'binery'\. Did you mean 'binary'\?",
        id="task-typo",
    ),
    pytest.param(
        put("metric", "roc_acu"),
        ConfigError,
        r"unknown metric 'roc_acu'; allowed: .*'rmse'.*Did you mean 'roc_auc'\?",
        id="metric-typo",
    ),
    pytest.param(
        put("task", "regression"),
        ConfigError,
        r"metric 'roc_auc' cannot score a regression task; use one of .*'rmse'",
        id="roc_auc-on-regression",
    ),
    pytest.param(
        put("metric", "rmse"),
        ConfigError,
        r"metric 'rmse' cannot score a binary task; use one of .*'log_loss'.*'roc_auc'",
        id="rmse-on-binary",
    ),
    pytest.param(
        put("device", "gpu"),
        ConfigError,
        r"device must be one of 'auto', 'cpu' or 'cuda'; got 'gpu'",
        id="device",
    ),
    pytest.param(
        put("folds.strategy", "stratifed"),
        ConfigError,
        r"folds\.strategy must be one of .*'time'; got 'stratifed'\. Did you mean 'stratified'\?",
        id="fold-strategy-typo",
    ),
    # fold combinations
    pytest.param(
        put("folds", {"strategy": "group"}),
        ConfigError,
        r"folds\.strategy = 'group' needs folds\.group",
        id="group-without-column",
    ),
    pytest.param(
        put("folds", {"strategy": "stratified_group"}),
        ConfigError,
        r"folds\.strategy = 'stratified_group' needs folds\.group",
        id="stratified-group-without-column",
    ),
    pytest.param(
        put("folds", {"strategy": "kfold", "group": "Cabin"}),
        ConfigError,
        r"folds\.group is set but folds\.strategy is 'kfold'; use 'group' or 'stratified_group'",
        id="group-column-with-kfold",
    ),
    pytest.param(
        put("folds", {"strategy": "stratified", "time": "Date"}),
        ConfigError,
        r"folds\.time is set but folds\.strategy is 'stratified'; use 'time'",
        id="time-column-without-time",
    ),
    pytest.param(
        put("folds", {"strategy": "time", "n_repeats": 3}),
        ConfigError,
        r"folds\.n_repeats must be 1 with folds\.strategy = 'time'",
        id="time-repeated",
    ),
    pytest.param(put("folds.n_splits", 1), ConfigError, r"folds\.n_splits must be at least 2; got 1$", id="one-split"),
    pytest.param(
        put("folds.n_repeats", 0), ConfigError, r"folds\.n_repeats must be at least 1; got 0$", id="0-repeats"
    ),
    pytest.param(
        put("run.threads_per_task", -1),
        ConfigError,
        r"run\.threads_per_task must be at least 0; got -1$",
        id="threads-neg",
    ),
    pytest.param(
        put("models.0.early_stopping_rounds", -5),
        ConfigError,
        r"models\[0\]\.early_stopping_rounds \(model 'xgb'\) must be at least 1 \(0 turns early stopping off\); "
        r"got -5$",
        id="stopping-negative",
    ),
    pytest.param(  # pydantic's own text ("Input should be a finite number") names no value: the value is added
        put("run.time_limit", float("nan")),
        ConfigError,
        r"run\.time_limit: Input should be a finite number; got nan$",
        id="time-limit-nan",
    ),
    # models
    pytest.param(
        put("models.1", {"name": "xgb", "kind": "lightgbm"}),
        ConfigError,
        r"model names must be unique: 'xgb' names models\[0\] and models\[1\]; rename all but one",
        id="duplicate-model-names",
    ),
    pytest.param(
        put("models.0.name", "baseline"),
        ConfigError,
        r"model name 'baseline' is reserved.*rename it",
        id="reserved-baseline",
    ),
    pytest.param(
        put("models", []),
        ConfigError,
        r"the spec has no models: add \[\[models\]\] tables, preset = 'good'.*or a \[search\]",
        id="no-models",
    ),
    pytest.param(
        drop("models.1.estimator"),
        ConfigError,
        r"models\[1\]: model 'logreg': kind = 'sklearn' needs estimator = 'sklearn\.<module>\.<Class>'",
        id="sklearn-without-estimator",
    ),
    pytest.param(
        put("models.1.estimator", "os.system"),
        ConfigError,
        r"model 'logreg': estimator must be a scikit-learn class path .*got 'os\.system'",
        id="estimator-not-sklearn",
    ),
    pytest.param(
        put("models.1.estimator", "sklearn.linear_model.Ridge; import os"),
        ConfigError,
        r"estimator must be a scikit-learn class path",
        id="estimator-injection",
    ),
    pytest.param(
        put("models.0.estimator", "sklearn.linear_model.Ridge"),
        ConfigError,
        r"model 'xgb': estimator is only for kind = 'sklearn'; got kind = 'xgboost'",
        id="estimator-on-xgboost",
    ),
    pytest.param(
        put("models.0.num_boost_round", 0),
        ConfigError,
        r"models\[0\]\.num_boost_round \(model 'xgb'\) must be at least 1; got 0$",
        id="zero-rounds",
    ),
    # names that become folders
    pytest.param(
        put("name", "../evil"), ConfigError, r"name: the competition name must be .*got '\.\./evil'", id="name-up"
    ),
    pytest.param(put("name", "a..b"), ConfigError, r"competition name must be .*got 'a\.\.b'", id="name-dotdot"),
    pytest.param(put("run.name", "a/b"), ConfigError, r"run\.name: the run\.name must be .*got 'a/b'", id="run-slash"),
    pytest.param(
        put("models.0.name", "x y"),
        ConfigError,
        r"models\[0\]\.name: the model name must be .*got 'x y'",
        id="model-space",
    ),
    # required keys
    pytest.param(drop("data.target"), ConfigError, r"missing required key 'data\.target'", id="no-target"),
    pytest.param(drop("data.train"), ConfigError, r"missing required key 'data\.train'", id="no-train"),
    pytest.param(drop("task"), ConfigError, r"missing required key 'task'", id="no-task"),
    pytest.param(drop("models"), ConfigError, r"the spec has no models: add \[\[models\]\] tables", id="no-models-key"),
    # several faults: each one named
    pytest.param(
        both(put("metrc", "x"), put("folds.n_splits", "five")),
        ConfigError,
        r"(?s)^(?=.*unknown key 'metrc')(?=.*folds\.n_splits: .*got 'five')",
        id="two-faults",
    ),
]


@pytest.mark.parametrize(("mutate", "error", "match"), ERRORS)
def test_invalid_spec_is_rejected(mutate: Callable[[dict[str, Any]], None], error: type[Exception], match: str) -> None:
    spec = copy.deepcopy(VALID)
    mutate(spec)
    with pytest.raises(error, match=match) as info:
        build_spec(spec, source="titanic.toml")
    message = str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, KitError)
    assert message.startswith("titanic.toml: "), message  # names where the spec came from
    exc = info.value  # no chained pydantic traceback under the message
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)
    assert_clean(message)


@pytest.mark.parametrize(("mutate", "error", "match"), ERRORS)
def test_invalid_toml_file_is_rejected_the_same_way(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], None], error: type[Exception], match: str
) -> None:
    """The same faults, written as a TOML file: the message names the file."""
    spec = copy.deepcopy(VALID)
    mutate(spec)
    path = write(tmp_path / "titanic.toml", tomli_w.dumps(spec))
    with pytest.raises(error, match=match) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}: ")
    assert_clean(str(info.value))


def test_a_library_parameter_toml_cannot_write_is_named_by_its_key() -> None:
    """A Python caller's `eval_at = [None]` beside a model's keys met tomli_w's TypeError (a stack trace) as the hint
    wrote the value."""
    data = copy.deepcopy(VALID)
    put("models.0.eval_at", [None])(data)
    with pytest.raises(
        ConfigError, match=r"\. A library's parameter goes in the model's params table: params = \{ eval_at \}$"
    ):
        build_spec(data)


def test_a_python_callers_tuple_of_targets_is_a_list_of_them() -> None:
    """`target = ("a", "b")` from Python (pydantic reads a tuple as a list) was refused as no column name by the
    one-line target message."""
    data = {**VALID, "task": "multilabel", "metric": "mean_log_loss", "data": {**VALID["data"], "target": ("a", "b")}}
    assert build_spec(data).data.target == ["a", "b"]


def test_the_valid_spec_is_valid() -> None:
    """The table's base is valid, so every failure above is due to its own mutation."""
    spec = build_spec(copy.deepcopy(VALID))
    assert spec.name == "titanic" and [m.name for m in spec.models] == ["xgb", "logreg"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param('name = "x"\ntask = "binary\n', r"not valid TOML: .*line 2", id="unclosed-string"),
        pytest.param("name = \n", r"not valid TOML", id="missing-value"),
        pytest.param('[data]\ntrain = "a.csv"\n[data]\n', r"not valid TOML", id="table-twice"),
        pytest.param(b'name = "caf\xe9"\n', r"not UTF-8 text.*save it as UTF-8", id="latin-1"),
    ],
)
def test_malformed_toml_names_the_file(tmp_path: Path, text: str | bytes, match: str) -> None:
    path = write(tmp_path / "broken.toml", text)
    with pytest.raises(ConfigError, match=match) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}: ")
    assert_clean(str(info.value))


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "competitions" / "nope.toml"
    with pytest.raises(ConfigError, match=rf"config file {re.escape(repr(str(missing)))} does not exist"):
        load_spec(missing)
    with pytest.raises(ConfigError, match="is a folder, not a config file; pass the path of a competition TOML"):
        load_spec(tmp_path)  # a folder is not a config file


def test_base_dir_in_toml_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", tomli_w.dumps({**VALID, "base_dir": "/"}))
    with pytest.raises(ConfigError, match=r"unknown key 'base_dir' \(data paths are relative"):
        load_spec(path)


def test_byte_order_mark_is_not_a_syntax_error(tmp_path: Path) -> None:
    """Windows editors save UTF-8 with a BOM."""
    path = write(tmp_path / "bom.toml", b"\xef\xbb\xbf" + tomli_w.dumps(VALID).encode())
    assert load_spec(path) == build_spec(VALID, base_dir=tmp_path.resolve())


def test_a_kind_typo_stops_the_run_before_it_reads_data(tmp_path: Path) -> None:
    """The spec is data (config does not import the model registry); the runner checks kinds first."""
    from kaggle_kit import run

    spec_dict = copy.deepcopy(VALID)
    spec_dict["models"][0]["kind"] = "xgbost"
    spec = build_spec(spec_dict, base_dir=tmp_path)  # train.csv does not exist: a data read would fail differently
    assert spec.models[0].kind == "xgbost"
    pattern = (
        r"models\[0\]\.kind \(model 'xgb'\): kind must be one of .*'lightgbm'.*'xgboost'; got 'xgbost'\. "
        r"Did you mean 'xgboost'\?"
    )
    with pytest.raises(ConfigError, match=pattern):
        run(spec, runs_root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_config_does_not_import_the_model_registry() -> None:
    import subprocess
    import sys

    code = "import sys, kaggle_kit.config; print('kaggle_kit.models' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_unknown_model_lookup_names_the_models() -> None:
    spec = build_spec(VALID)
    assert spec.model("logreg").estimator == "sklearn.linear_model.LogisticRegression"
    with pytest.raises(ConfigError, match=r"no model named 'lgbm'; the spec has 'logreg' or 'xgb'"):
        spec.model("lgbm")


# ---------------------------------------------------------------------------------------------- valid specs
def test_demo_config_loads() -> None:
    spec = load_spec(DEMO)
    assert (spec.name, spec.task, spec.metric, spec.seed) == ("demo-breast-cancer", "binary", "roc_auc", 42)
    assert [(m.name, m.kind) for m in spec.models] == [
        ("xgb", "xgboost"),
        ("lgbm", "lightgbm"),
        ("logreg", "sklearn"),
        ("mlp", "mlp"),
    ]
    assert spec.model("logreg").estimator == "sklearn.linear_model.LogisticRegression"
    assert spec.model("xgb").early_stopping_rounds == 100
    assert spec.data.id == "id" and spec.data.target == "diagnosis"
    assert spec.fold_strategy == "stratified" and spec.folds.n_splits == 5
    assert spec.run_name == "demo-breast-cancer"
    assert spec.base_dir == DEMO.parent
    expected = ROOT / "data" / "demo-breast-cancer" / "train.csv"
    assert spec.resolve(spec.data.train).resolve() == expected


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = tmp_path / "elsewhere" / "test.parquet"
    data = {**VALID, "data": {**VALID["data"], "train": "input/train.csv", "test": str(absolute)}}
    write(tmp_path / "comp" / "spec.toml", tomli_w.dumps(data))
    monkeypatch.chdir(tmp_path)
    spec = load_spec("comp/spec.toml")  # a relative config path: base_dir is still absolute
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the working folder, later on, must not matter
    assert spec.base_dir.is_absolute()
    assert spec.resolve(spec.data.train) == tmp_path.resolve() / "comp" / "input" / "train.csv"
    assert spec.data.test is not None and spec.resolve(spec.data.test) == absolute


def test_home_and_environment_variables_in_data_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``~/data/train.csv`` and ``$DATA/train.csv`` were read as folders named '~' and '$DATA' of the config's folder;
    the spec keeps them as written (a run folder moved to another machine finds that machine's)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KK_DATA", str(tmp_path / "kaggle"))
    data = {**VALID, "data": {**VALID["data"], "train": "~/comp/train.csv", "test": "${KK_DATA}/test.csv"}}
    spec = load_spec(write(tmp_path / "cfg" / "spec.toml", tomli_w.dumps(data)))
    assert spec.resolve(spec.data.train) == tmp_path / "home" / "comp" / "train.csv"
    assert spec.data.test is not None and spec.resolve(spec.data.test) == tmp_path / "kaggle" / "test.csv"
    assert 'train = "~/comp/train.csv"' in spec.to_toml()


@pytest.mark.parametrize(
    ("train", "says"),
    [
        pytest.param(
            "input\\train.csv",
            r"\(a '\\' is no folder separator here: write the path with '/', e.g. 'data/train.csv'\)",
            marks=pytest.mark.skipif(sys.platform == "win32", reason="a folder separator on Windows"),
        ),
        ("$KK_UNSET_DIR/train.csv", r"\(the environment variable KK_UNSET_DIR is not set\)"),
    ],
)
def test_a_missing_data_file_says_why_a_written_path_was_not_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, train: str, says: str
) -> None:
    """A Windows path and an unset variable were only 'does not exist', the path shown as the cause."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import read_table

    monkeypatch.delenv("KK_UNSET_DIR", raising=False)
    spec = build_spec({**VALID, "data": {**VALID["data"], "train": train}}, base_dir=tmp_path)
    with pytest.raises(DataError, match=r"the train file .* " + says + r" does not exist; check data\.train"):
        read_table(spec.resolve(spec.data.train), role="train")


def test_a_data_path_with_a_dollar_sign_that_exists_as_written_is_that_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder whose name holds a '$' (a Kaggle dataset folder `data$HOME`, `prices$1`) was expanded to another
    path when the variable was set, and the file that exists as written was 'does not exist'."""
    monkeypatch.setenv("KK_PART", "elsewhere")
    write(tmp_path / "data$KK_PART" / "train.csv", "a,y\n1,0\n")
    spec = build_spec({**VALID, "data": {**VALID["data"], "train": "data$KK_PART/train.csv"}}, base_dir=tmp_path)
    assert spec.resolve(spec.data.train) == tmp_path / "data$KK_PART" / "train.csv"
    write(tmp_path / "dataelsewhere" / "train.csv", "a,y\n1,0\n")  # both exist: the variable's, as documented
    assert spec.resolve(spec.data.train) == tmp_path / "dataelsewhere" / "train.csv"


@pytest.mark.skipif(sys.platform == "win32", reason="%VAR% is an environment variable on Windows")
def test_a_windows_environment_variable_in_a_data_path_is_named(tmp_path: Path) -> None:
    """`%USERPROFILE%\\data\\train.csv` from a Windows machine was only 'does not exist'."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import read_table

    spec = build_spec({**VALID, "data": {**VALID["data"], "train": "%KK_DATA%/train.csv"}}, base_dir=tmp_path)
    says = r"\(%KK_DATA% is how Windows writes an environment variable: write \$KK_DATA\) does not exist"
    with pytest.raises(DataError, match=says):
        read_table(spec.resolve(spec.data.train), role="train")


def test_a_moved_run_folders_spec_names_the_config_folder_it_no_longer_finds(tmp_path: Path) -> None:
    """A run folder copied to another machine: run.json's config_dir is not there, and `kaggle-kit run
    RUN_DIR/spec.toml` said `the train file 'RUN_DIR/train.csv' does not exist`, as if the run folder were wrong."""
    run_dir = tmp_path / "runs" / "titanic-v1"
    absolute = "/gone/machine/sample_submission.csv"  # not the recorded folder's to blame: a reader says it
    write(run_dir / "spec.toml", tomli_w.dumps({**VALID, "data": {**VALID["data"], "sample_submission": absolute}}))
    write(run_dir / "run.json", '{"config_dir": "/gone/machine/competitions"}')
    with pytest.raises(
        ConfigError,
        match=r"spec\.toml: its relative data paths start at the config's folder run\.json records, "
        r"'/gone/machine/competitions', not on this machine \(was the run folder moved\?\), nor in the run folder: "
        r"data\.train = 'train\.csv', data\.test = 'test\.csv'; run the config itself, or write them in spec\.toml "
        r"as absolute paths$",
    ):
        load_spec(run_dir / "spec.toml")
    write(run_dir / "train.csv", "a,y\n1,0\n")  # the data moved with the run folder: read there, as before
    write(run_dir / "test.csv", "a\n1\n")
    assert load_spec(run_dir / "spec.toml").resolve(Path("train.csv")) == run_dir / "train.csv"  # no sample: no error


def test_numpy_zero_and_counts_from_python_callers() -> None:
    """np.int64(0) early stopping rounds (off, as 0 is), an np.int64 n_configs and an np.float32 pseudo-label
    threshold were refused where the Python int / float passed."""
    import numpy as np

    data = copy.deepcopy(VALID)
    data["models"][0]["early_stopping_rounds"] = np.int64(0)
    data["search"] = {"families": ["lightgbm"], "n_configs": np.int64(3)}
    data["pseudo_label"] = {"source": "xgb", "threshold": np.float32(0.9)}
    spec = build_spec(data)
    assert spec.model("xgb").early_stopping_rounds is None and spec.search is not None
    assert spec.search.n_configs == 3 and spec.pseudo_label is not None


def test_a_data_path_naming_a_folder_says_which_table_in_it(tmp_path: Path) -> None:
    """`train = "data/comp"` (the competition's folder) said `must be .csv or .parquet; got 'no extension'`."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import read_table

    (tmp_path / "comp").mkdir()
    (tmp_path / "comp" / "train.csv").write_text("a,y\n1,0\n")
    (tmp_path / "comp" / "sample_submission.csv").write_text("a,y\n1,0\n")  # listed first, not the train file
    spec = build_spec({**VALID, "data": {**VALID["data"], "train": "comp"}}, base_dir=tmp_path)
    with pytest.raises(
        DataError,
        match=r"the train file '.*comp' is a folder \(it holds sample_submission\.csv, train\.csv\); set data\.train "
        r"to the table's file in it \('.*comp/train\.csv', or that path relative to the config's folder\)$",
    ):
        read_table(spec.resolve(spec.data.train), role="train")


def test_build_spec_paths_resolve_against_base_dir(tmp_path: Path) -> None:
    spec = build_spec(VALID, base_dir=tmp_path)
    assert spec.resolve(spec.data.train) == tmp_path / "train.csv"
    assert build_spec(VALID).resolve(Path("train.csv")) == Path("train.csv")


def _same_spec(a: CompetitionSpec, b: CompetitionSpec) -> None:
    """Equal in everything but base_dir (which to_toml leaves out)."""
    assert a.model_copy(update={"base_dir": Path(".")}) == b.model_copy(update={"base_dir": Path(".")})
    assert a.model_dump() == b.model_dump()


def _round_trip(spec: CompetitionSpec, folder: Path) -> CompetitionSpec:
    text = spec.to_toml()
    assert "base_dir" not in tomllib.loads(text)
    return load_spec(write(folder / "round-trip.toml", text))


def test_demo_config_round_trips_through_to_toml(tmp_path: Path) -> None:
    spec = load_spec(DEMO)
    again = _round_trip(spec, tmp_path)
    _same_spec(spec, again)
    assert again.base_dir == tmp_path.resolve()
    assert _round_trip(again, tmp_path / "twice").to_toml() == spec.to_toml()  # stable text


def test_every_field_round_trips_through_to_toml(tmp_path: Path) -> None:
    spec = build_spec(
        {
            "name": "store-sales",
            "task": "regression",
            "metric": "rmse",
            "seed": 3,
            "device": "cpu",
            "data": {
                "train": "train.parquet",
                "test": "test.parquet",
                "sample_submission": "sample.csv",
                "id": "row",
                "target": "sales",
                "categorical": ["store", "family"],
                "drop": ["notes"],
            },
            "folds": {"strategy": "group", "group": "store", "n_splits": 4, "shuffle": False},
            "run": {"name": "sales.v2", "n_jobs": 2, "threads_per_task": 4},
            "models": [
                {
                    "name": "xgb",
                    "kind": "xgboost",
                    "num_boost_round": 10,
                    "early_stopping_rounds": None,
                    "params": {"max_depth": 3, "eta": 0.1, "nested": {"a": [1, 2]}},
                },
                {"name": "ridge", "kind": "sklearn", "estimator": "sklearn.linear_model.Ridge", "params": {"alpha": 2}},
            ],
        },
        base_dir=tmp_path,
    )
    again = _round_trip(spec, tmp_path)
    _same_spec(spec, again)
    # no early stopping stays no early stopping: TOML has no null, the file says 0
    assert again.model("xgb").early_stopping_rounds is None
    assert again.model("ridge").early_stopping_rounds == 200


def test_zero_early_stopping_rounds_means_none() -> None:
    data = copy.deepcopy(VALID)
    put("models.0.early_stopping_rounds", 0)(data)
    assert build_spec(data).model("xgb").early_stopping_rounds is None
    put("models.0.early_stopping_rounds", -1)(data)
    with pytest.raises(ConfigError, match=r"models\[0\]\.early_stopping_rounds \(model 'xgb'\) must be at least 1"):
        build_spec(data)


@pytest.mark.parametrize(
    ("task", "metric", "strategy"),
    [("binary", "roc_auc", "stratified"), ("multiclass", "accuracy", "stratified"), ("regression", "rmse", "kfold")],
)
def test_default_fold_strategy(task: str, metric: str, strategy: str) -> None:
    data = {**copy.deepcopy(VALID), "task": task, "metric": metric}
    del data["folds"]
    spec = build_spec(data)
    assert spec.folds.strategy is None
    assert spec.fold_strategy == strategy
    assert build_spec({**data, "folds": {"strategy": "kfold"}}).fold_strategy == "kfold"
    assert build_spec({**data, "folds": {"strategy": "time"}}).fold_strategy == "time"


def test_defaults() -> None:
    spec = build_spec(
        {
            "name": "c",
            "task": "binary",
            "metric": "log_loss",
            "data": {"train": "t.csv", "target": "y"},
            "models": [{"name": "m", "kind": "lightgbm"}],
        }
    )
    assert (spec.seed, spec.device, spec.folds.n_splits, spec.folds.n_repeats, spec.folds.shuffle) == (
        42,
        "auto",
        5,
        1,
        True,
    )
    assert spec.run_name == "c" and spec.data.drop == [] and spec.data.categorical is None
    assert spec.models[0].num_boost_round == 5000 and spec.models[0].early_stopping_rounds == 200


def test_python_spec_equals_toml_spec(tmp_path: Path) -> None:
    text = """
name = "titanic"
task = "binary"
metric = "roc_auc"

[data]
train = "train.csv"
test = "test.csv"
id = "PassengerId"
target = "Survived"
drop = ["Name", "Ticket"]

[folds]
n_splits = 10
n_repeats = 2

[[models]]
name = "lgbm"
kind = "lightgbm"
params = { num_leaves = 15, learning_rate = 0.05 }

[[models]]
name = "ridge"
kind = "sklearn"
estimator = "sklearn.linear_model.RidgeClassifier"
early_stopping_rounds = 0
"""
    loaded = load_spec(write(tmp_path / "titanic.toml", text))
    built = CompetitionSpec(
        name="titanic",
        task="binary",
        metric="roc_auc",
        data=DataSpec(
            train=Path("train.csv"), test=Path("test.csv"), id="PassengerId", target="Survived", drop=["Name", "Ticket"]
        ),
        folds=FoldSpec(n_splits=10, n_repeats=2),
        run=RunSpec(),
        models=[
            ModelSpec(name="lgbm", kind="lightgbm", params={"num_leaves": 15, "learning_rate": 0.05}),
            ModelSpec(
                name="ridge",
                kind="sklearn",
                estimator="sklearn.linear_model.RidgeClassifier",
                early_stopping_rounds=None,
            ),
        ],
        base_dir=tmp_path.resolve(),
    )
    assert built == loaded
    assert built.to_toml() == loaded.to_toml()
    assert build_spec(tomllib.loads(text), base_dir=tmp_path.resolve()) == loaded


def test_spec_is_frozen() -> None:
    spec = build_spec(VALID)
    with pytest.raises(ValueError, match="frozen"):
        spec.seed = 1  # type: ignore[misc]


def test_spec_hash_is_stable_and_order_free() -> None:
    a = spec_hash({"b": 1, "a": [1, 2], "p": Path("x")})
    assert a == spec_hash({"a": [1, 2], "p": Path("x"), "b": 1})
    assert re.fullmatch(r"[0-9a-f]{16}", a)
    assert a != spec_hash({"b": 2, "a": [1, 2], "p": Path("x")})
    spec = load_spec(DEMO)
    assert spec_hash(spec.model_dump(mode="json")) == spec_hash(load_spec(DEMO).model_dump(mode="json"))


def test_a_boolean_seed_is_refused() -> None:
    """pydantic would read `seed = true` as 1; a boolean seed is a typo, so it is named."""
    with pytest.raises(ConfigError, match=r"seed: seed must be a whole number such as 42; got True"):
        build_spec({**copy.deepcopy(VALID), "seed": True})


def test_to_toml_refuses_a_none_param_it_cannot_write() -> None:
    spec = build_spec(copy.deepcopy(VALID))
    models = [m.model_copy(update={"params": {"penalty": None}}) if m.name == "logreg" else m for m in spec.models]
    with pytest.raises(ConfigError, match=r"model 'logreg': params.penalty is None, which TOML cannot write"):
        spec.model_copy(update={"models": models}).to_toml()


def test_unknown_model_name_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match=r"no model named 'XGB'; the spec has 'logreg' or 'xgb'. Did you mean 'xgb'"):
        build_spec(copy.deepcopy(VALID)).model("XGB")


def test_numpy_scalars_are_numbers_and_booleans() -> None:
    """A quoted number or a boolean where a number goes is refused; a Python caller's numpy scalars (a sampled
    config's np.int64 rounds, np.bool_ shuffle) are numbers and booleans, not slips."""
    import numpy as np

    model = ModelSpec(name="m", kind="lightgbm", num_boost_round=np.int64(100), seed=np.uint32(3))
    folds = FoldSpec(n_splits=np.int32(3), shuffle=np.bool_(False))
    assert (model.num_boost_round, model.seed, folds.n_splits, folds.shuffle) == (100, 3, 3, False)
    assert RunSpec(time_limit=np.float32(5.0)).time_limit == 5.0
    with pytest.raises(ValueError, match=r"n_splits\n  Value error, must be a whole number such as 5; got np\.True_"):
        FoldSpec(n_splits=np.bool_(True))
