"""What the boosting adapters predict for choices a Kaggler makes beyond the kit's defaults: a regression target far
from zero (XGBoost's float32 labels and margins), count objectives (CatBoost's log-scale raw values), and objectives
whose output is not what the kit reads for the task (refused before any fit)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kaggle_kit.config import ModelSpec
from kaggle_kit.errors import ConfigError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter

NAMES = ("a", "b", "c", "d")


def _rows(n: int = 300) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)


def _fit(
    kind: str, params: dict[str, Any], y: np.ndarray, task: str = "regression", metric: str = "rmse", n_classes: int = 0
) -> tuple[Any, Any, FeatureMatrix, FitContext]:
    X = _rows(len(y))
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, ())  # noqa: E731
    tr, va = np.arange(200), np.arange(200, len(y))
    ctx = FitContext(task=task, n_classes=n_classes, metric=get_metric(metric), seed=0, device="cpu", threads=1)
    spec = ModelSpec(name="m", kind=kind, params=params, num_boost_round=100, early_stopping_rounds=20)
    adapter = make_adapter(spec)
    adapter.check(ctx)
    fitted = adapter.fit(fm(tr), y[tr], fm(va), y[va], ctx)
    return adapter, fitted, fm(va), ctx


def _rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred.reshape(-1).astype(np.float64) - y) ** 2)))


def test_xgboost_learns_a_target_far_from_zero_as_well_as_one_near_it(tmp_path: Path) -> None:
    """Would catch fitting XGBoost on the raw target: its float32 margins round away every leaf value at 1e8 (float32's
    step there is 8), and early stopping kept 1 round (RMSE 9.7 against 2.5 at offset 0)."""
    X = _rows()
    signal = 10 * X[:, 0].astype(np.float64) + np.sin(np.arange(len(X)))
    scores = {}
    for offset in (0.0, 1e8):
        y = offset + signal
        adapter, fitted, valid, ctx = _fit("xgboost", {}, y)
        pred = adapter.predict(fitted, valid, ctx)
        scores[offset] = _rmse(pred, y[200:])
        assert fitted.best_iteration > 50
        adapter.save(fitted, tmp_path / "model.ubj")  # the offset travels in the model file
        loaded = make_adapter(adapter.spec).load(tmp_path / "model.ubj", ctx)
        np.testing.assert_array_equal(make_adapter(adapter.spec).predict(loaded, valid, ctx), pred)
    # what is left at 1e8 is float32's step in the stored predictions (8 / sqrt(12) ~ 2.3 in quadrature)
    assert scores[1e8] < np.hypot(scores[0.0], 2.4)
    assert scores[0.0] < 3.0


def test_a_users_base_score_moves_with_the_target() -> None:
    """Would catch leaving a user's base_score (in the target's units) where it was once the target is centred: every
    prediction would start 1e8 off, and 100 rounds of learning rate 0.05 do not come back from that."""
    X = _rows()
    y = 1e8 + 10 * X[:, 0].astype(np.float64) + np.sin(np.arange(len(X)))
    adapter, fitted, valid, ctx = _fit("xgboost", {"base_score": 1e8}, y)
    assert _rmse(adapter.predict(fitted, valid, ctx), y[200:]) < 4.0


def test_xgboost_stops_on_a_kit_metric_of_the_target_itself() -> None:
    """Would catch scoring a metric XGBoost has no own version of (a registered MAPE, stopped on with
    early_stopping_metric = 'metric': the kit evaluates it) on the centred labels or the centred predictions alone:
    early stopping then followed the MAPE of predictions 100 off."""
    from kaggle_kit.metrics import Metric

    def mape(y: np.ndarray, p: np.ndarray) -> float:
        return float(np.mean(np.abs(p - y) / np.abs(y)))

    metric = Metric("mape_of_test", mape, greater_is_better=False, needs="value", tasks=frozenset({"regression"}))
    X = _rows()
    y = 100.0 + 3 * X[:, 0].astype(np.float64) + np.sin(np.arange(len(X)))
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, ())  # noqa: E731
    ctx = FitContext(task="regression", n_classes=0, metric=metric, seed=0, device="cpu", threads=1)
    spec = ModelSpec(
        name="m", kind="xgboost", num_boost_round=100, early_stopping_rounds=20, early_stopping_metric="metric"
    )
    adapter = make_adapter(spec)
    adapter.check(ctx)
    fitted = adapter.fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)
    pred = adapter.predict(fitted, fm(np.arange(200, 300)), ctx).reshape(-1).astype(np.float64)
    assert fitted.best_iteration > 20
    np.testing.assert_allclose(
        fitted.history["mape_of_test"][fitted.best_iteration - 1], mape(y[200:], pred), rtol=1e-4
    )


@pytest.mark.parametrize("eval_metric", ["mape", "rmsle", "poisson-nloglik", ["rmse", "mape"]])
def test_xgboost_stops_on_a_users_eval_metric_of_the_target_itself(eval_metric: str | list[str]) -> None:
    """Would catch centring the target under an eval_metric that is not shift-invariant: XGBoost then scored MAPE,
    RMSLE or Poisson deviance on the target less its mean (RMSLE of y + 10 stopped after 1 round, RMSE 2.9 against
    0.6). The value XGBoost stopped on must be the metric of the predictions the kit reads."""
    X = _rows()
    y = 10.0 + 3 * X[:, 0].astype(np.float64) + np.sin(np.arange(len(X)))
    adapter, fitted, valid, ctx = _fit("xgboost", {"eval_metric": eval_metric}, y)
    pred = adapter.predict(fitted, valid, ctx).reshape(-1).astype(np.float64)
    truth = y[200:]
    log_factorial = np.array([math.lgamma(t + 1) for t in truth])  # XGBoost's Poisson deviance keeps lgamma(y + 1)
    ours = {
        "mape": np.mean(np.abs(pred - truth) / np.abs(truth)),
        "rmsle": np.sqrt(np.mean((np.log1p(pred) - np.log1p(truth)) ** 2)),
        "poisson-nloglik": np.mean(pred - truth * np.log(pred) + log_factorial),
    }
    name = eval_metric if isinstance(eval_metric, str) else eval_metric[-1]  # XGBoost stops on the last one
    stopped_on = fitted.history[name][fitted.best_iteration - 1]
    np.testing.assert_allclose(stopped_on, ours[name], rtol=1e-3)


def test_xgboost_fits_a_log_link_objective_on_the_target_itself() -> None:
    """Would catch centring a Poisson target: its loss is not shift-invariant (and a count less its mean is
    negative, which XGBoost's count:poisson refuses)."""
    X = _rows()
    y = np.random.default_rng(1).poisson(np.exp(0.5 * X[:, 0] + 1)).astype(np.float64)
    adapter, fitted, valid, ctx = _fit("xgboost", {"objective": "count:poisson"}, y)
    assert fitted.model.attr("kaggle_kit_target_offset") is None
    assert abs(float(adapter.predict(fitted, valid, ctx).mean()) - y[200:].mean()) < 0.5


@pytest.mark.parametrize("loss", ["Poisson", "Tweedie:variance_power=1.5", "LogLinQuantile:alpha=0.5"])
def test_catboost_count_losses_predict_counts_and_stop_on_them(loss: str, tmp_path: Path) -> None:
    """Would catch predicting CatBoost's raw formula values (log counts: mean 0.82 for counts of mean 2.71) and
    early-stopping on CatBoost's own RMSE, which scores those log-scale values against the counts."""
    from catboost import Pool

    X = _rows()
    y = np.random.default_rng(1).poisson(np.exp(0.5 * X[:, 0] + 1)).astype(np.float64)
    adapter, fitted, valid, ctx = _fit("catboost", {"loss_function": loss}, y)
    pred = adapter.predict(fitted, valid, ctx)
    raw = fitted.model.predict(Pool(valid.X), prediction_type="RawFormulaVal")
    np.testing.assert_allclose(pred[:, 0], np.exp(raw), rtol=1e-5)
    assert abs(float(pred.mean()) - y[200:].mean()) < 0.8  # log counts: 1.7 off
    assert "rmse" in fitted.history and "RMSE" not in fitted.history  # the kit's RMSE on the counts
    best = fitted.history["rmse"][fitted.best_iteration - 1]
    assert best == pytest.approx(_rmse(pred, y[200:]), rel=1e-4)
    adapter.save(fitted, tmp_path / "model.cbm")
    loaded = make_adapter(adapter.spec).load(tmp_path / "model.cbm", ctx)
    np.testing.assert_array_equal(make_adapter(adapter.spec).predict(loaded, valid, ctx), pred)


def test_catboost_count_loss_on_a_gpu_stops_on_the_loss_itself() -> None:
    """A Python metric cannot run on CatBoost's GPU: the loss is what it follows there (not refused)."""
    spec = ModelSpec(name="m", kind="catboost", params={"loss_function": "Poisson"}, early_stopping_rounds=20)
    ctx = FitContext(task="regression", n_classes=0, metric=get_metric("rmse"), seed=0, device="cuda", threads=1)
    adapter = make_adapter(spec)
    adapter.check(ctx)
    assert adapter.params(ctx)["eval_metric"] == "Poisson"


# kind, task, params, the error's match
WRONG_OBJECTIVES = [
    ("xgboost", "multiclass", {"objective": "multi:softmax"}, r"'multi:softmax' .*use 'multi:softprob'"),
    ("xgboost", "binary", {"objective": "binary:logitraw"}, r"does not make XGBoost predict class probabilities"),
    ("xgboost", "binary", {"objective": "reg:squarederror"}, r"use 'binary:logistic' or 'reg:logistic'"),
    ("xgboost", "regression", {"objective": "binary:logistic"}, r"task is regression; .*\('reg:logistic' fits the"),
    ("lightgbm", "regression", {"objective": "Binary"}, r"task is regression; .*\('xentropy' fits the same log"),
    ("xgboost", "regression", {"objective": "reg:quantileerror", "quantile_alpha": [0.1, 0.9]}, r"give one number"),
    ("lightgbm", "binary", {"objective": "regression"}, r"params\.objective = 'regression' does not make LightGBM"),
    ("lightgbm", "binary", {"application": "huber"}, r"params\.application = 'huber' does not make LightGBM"),
    ("lightgbm", "regression", {"objective": "softmax"}, r"classification objective and the task is regression"),
    # LightGBM's cross_entropy_lambda predicts the intensity log(1 + exp(score)) (5.5 on a clear positive), not p
    ("lightgbm", "binary", {"objective": "xentlambda"}, r"'xentlambda' does not make LightGBM predict class proba"),
    ("lightgbm", "binary", {"objective": "cross_entropy_lambda"}, r"use 'binary' or 'cross_entropy' or 'xentropy'$"),
    ("lightgbm", "regression", {"objective": "XentLambda"}, r"predict an intensity, .*use 'xentropy'"),
    ("catboost", "binary", {"loss_function": "RMSE"}, r"'RMSE' does not fit a binary task; .*'Logloss', 'Cros"),
    ("catboost", "regression", {"objective": "Logloss"}, r"params\.objective = 'Logloss' does not fit a regression"),
    ("catboost", "regression", {"loss_function": "RMSEWithUncertainty"}, r"predict several values per row"),
]


@pytest.mark.parametrize(("kind", "task", "params", "match"), WRONG_OBJECTIVES)
def test_an_objective_whose_output_the_task_cannot_read_is_refused_before_any_fit(
    kind: str, task: str, params: dict[str, Any], match: str
) -> None:
    """Would catch passing the objective through unchecked: XGBoost's multi:softmax stopped a fold with numpy's
    reshape error, binary:logitraw margins and a regression objective's values were stored as probabilities, a
    CatBoost RMSE loss on a binary task raised CatBoost's own error from the fold, and RMSEWithUncertainty's two
    columns were stored as twice the rows."""
    n_classes = {"binary": 2, "multiclass": 3}.get(task, 0)
    metric = "rmse" if task == "regression" else "log_loss"
    ctx = FitContext(task=task, n_classes=n_classes, metric=get_metric(metric), seed=0, device="cpu", threads=1)
    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="m", kind=kind, params=params)).check(ctx)


@pytest.mark.parametrize(
    ("kind", "task", "params", "match"),
    [
        ("xgboost", "binary", {"eval_metric": "mlogloss"}, r"params\.eval_metric = 'mlogloss' is rejected by XGBoost"),
        ("catboost", "binary", {"eval_metric": "RMSE"}, r"metric \[RMSE\] is incompatible with loss \[Logloss\]"),
        ("catboost", "binary", {"eval_metric": "MultiClass"}, r"rejects these params for a binary task: Both binary"),
    ],
)
def test_an_eval_metric_of_another_task_is_refused_before_any_fit(
    kind: str, task: str, params: dict[str, Any], match: str
) -> None:
    """Would catch parsing the params without evaluating them: both libraries' parsers let these through, and every
    fold failed with the library's error and source line."""
    ctx = FitContext(task=task, n_classes=2, metric=get_metric("log_loss"), seed=0, device="cpu", threads=1)
    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="m", kind=kind, params=params)).check(ctx)


@pytest.mark.parametrize(
    ("kind", "task", "params"),
    [
        ("xgboost", "binary", {"objective": "reg:logistic"}),
        ("xgboost", "regression", {"objective": "reg:tweedie"}),
        ("lightgbm", "binary", {"objective": "xentropy"}),
        ("lightgbm", "multiclass", {"objective": "multiclassova"}),
        ("lightgbm", "regression", {"objective": "huber"}),
        ("lightgbm", "regression", {"objective": "xentropy"}),
        ("xgboost", "regression", {"objective": "reg:logistic"}),  # a target of shares: the probe's rows are in (0, 1)
        ("catboost", "binary", {"loss_function": "CrossEntropy"}),
        ("catboost", "regression", {"loss_function": "Quantile:alpha=0.5"}),
        ("lightgbm", "binary", {"objective": "Binary"}),  # LightGBM reads its objective's name in any case
        ("lightgbm", "multiclass", {"objective": "MultiClass"}),
    ],
)
def test_objectives_that_give_what_the_task_reads_pass(kind: str, task: str, params: dict[str, Any]) -> None:
    """Would catch refusing what works: a cross-entropy objective on a regression target of shares had been refused by
    the probe, whose regression rows were 1 to 2; LightGBM's 'Binary' (LightGBM lower-cases it) by the objective
    check."""
    n_classes = {"binary": 2, "multiclass": 3}.get(task, 0)
    metric = "rmse" if task == "regression" else "log_loss"
    ctx = FitContext(task=task, n_classes=n_classes, metric=get_metric(metric), seed=0, device="cpu", threads=1)
    make_adapter(ModelSpec(name="m", kind=kind, params=params)).check(ctx)


def test_lightgbm_one_vs_all_predicts_rows_of_probabilities(tmp_path: Path) -> None:
    """Would catch storing multiclassova's C independent sigmoids as they come: rows summing to 0.99-1.06 were scored
    by log loss and blended as probabilities. Softmax rows stay exactly LightGBM's."""
    y = np.digitize(_rows()[:, 0], [-0.5, 0.5]).astype(np.float64)
    for params in ({"objective": "multiclassova"}, {}):
        adapter, fitted, valid, ctx = _fit("lightgbm", params, y, "multiclass", "log_loss", n_classes=3)
        pred = adapter.predict(fitted, valid, ctx)
        raw = fitted.model.predict(valid.X, num_iteration=fitted.best_iteration)
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-6)
        if params:
            assert np.abs(raw.sum(axis=1) - 1).max() > 1e-3  # the library's rows are not probabilities
        else:
            np.testing.assert_array_equal(pred, raw.astype(np.float32))
        adapter.save(fitted, tmp_path / "m.txt")
        loaded = make_adapter(adapter.spec).load(tmp_path / "m.txt", ctx)
        np.testing.assert_array_equal(make_adapter(adapter.spec).predict(loaded, valid, ctx), pred)


# ------------------------------------------------------------------------------------------ class-keyed weights
def _labelled(classes: tuple[object, ...] | None) -> tuple[FeatureMatrix, np.ndarray, FeatureMatrix, np.ndarray, Any]:
    X = _rows()
    y = (X[:, 0] > 1.0).astype(np.float64)  # ~16% positives
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, ())  # noqa: E731
    tr, va = np.arange(200), np.arange(200, 300)
    ctx = FitContext("binary", 2, get_metric("log_loss"), seed=0, device="cpu", threads=1, classes=classes)
    return fm(tr), y[tr], fm(va), y[va], ctx


def _weighted(kind: str, key: str, weights: Any, classes: tuple[object, ...] | None) -> np.ndarray:
    train, y_train, valid, y_valid, ctx = _labelled(classes)
    extra = {"n_estimators": 20} if kind == "random_forest" else {}
    spec = ModelSpec(name="m", kind=kind, params={key: weights, **extra}, num_boost_round=30)
    adapter = make_adapter(spec)
    adapter.check(ctx)
    return adapter.predict(adapter.fit(train, y_train, valid, y_valid, ctx), valid, ctx)


def test_catboost_class_weights_keyed_out_of_order_keep_the_columns_in_class_order() -> None:
    """Would catch handing CatBoost the dict: it takes the keys as its class names, in the dict's order, and orders
    its probability columns by them, so {"1": 10, "0": 1} swapped p(0) and p(1) (ROC AUC 1.0 -> 0.0)."""
    by_list = _weighted("catboost", "class_weights", [1.0, 10.0], (0, 1))
    for weights in ({"1": 10, "0": 1}, {"0": 1, "1": 10}, {"1": 10}):
        np.testing.assert_array_equal(_weighted("catboost", "class_weights", weights, (0, 1)), by_list)


@pytest.mark.parametrize(("kind", "key"), [("catboost", "class_weights"), ("random_forest", "class_weight")])
def test_class_weights_keyed_by_the_targets_labels_weight_those_classes(kind: str, key: str) -> None:
    """Would catch handing the labels to the library, which is fitted on codes 0..C-1: scikit-learn failed every fold
    ("The classes, [0, 1], are not in class_weight"), CatBoost too ("Not all class names are numeric")."""
    by_label = _weighted(kind, key, {"yes": 10.0}, ("no", "yes"))
    by_code = _weighted(kind, key, {"0": 1.0, "1": 10.0}, None)  # where the labels are not known: the codes
    np.testing.assert_array_equal(by_label, by_code)
    unweighted = _weighted(kind, key, {"yes": 1.0}, ("no", "yes"))
    assert not np.array_equal(by_label, unweighted)  # the weight reached the model


def test_a_forests_class_weight_by_label_is_scikit_learns_weight_of_that_code() -> None:
    """Independent of the kit: scikit-learn's forest fitted on the codes with the code-keyed weight."""
    from sklearn.ensemble import RandomForestClassifier

    train, y_train, valid, _, _ = _labelled(("no", "yes"))
    direct = RandomForestClassifier(
        n_estimators=20, max_leaf_nodes=15000, class_weight={0: 1.0, 1: 10.0}, n_jobs=1, random_state=0
    ).fit(train.X, y_train)
    np.testing.assert_allclose(
        _weighted("random_forest", "class_weight", {"yes": 10}, ("no", "yes")),
        direct.predict_proba(valid.X),
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    ("classes", "weights"),
    [
        ((False, True), {"true": 10}),  # a TOML key is text: a bool target's label is written true (or True)
        ((False, True), {"True": 10}),
        ((0.0, 1.0), {"1": 10}),  # a float target of whole numbers (a CSV's 0.0 / 1.0): written 1 (or 1.0)
        ((0.0, 1.0), {"1.0": 10}),
        ((np.int64(0), np.int64(1)), {"1": 10}),
    ],
)
def test_a_class_weight_keyed_as_a_config_writes_the_label_weights_that_class(
    classes: tuple[object, ...], weights: dict[str, float]
) -> None:
    """Would catch comparing the key with the label's Python text only: {true = 10} on a bool target and {1 = 10} on a
    float one (labels 'True', '1.0') were refused as naming no class."""
    by_label = _weighted("random_forest", "class_weight", weights, classes)
    np.testing.assert_array_equal(by_label, _weighted("random_forest", "class_weight", {"0": 1, "1": 10}, None))


@pytest.mark.parametrize(
    ("kind", "key", "weights", "match"),
    [
        (
            "catboost",
            "class_weights",
            {"maybe": 2},
            r"params\.class_weights names class 'maybe', .*labels: 'no', 'yes'",
        ),
        ("random_forest", "class_weight", {"1": 2}, r"params\.class_weight names class '1', which the target does not"),
        ("random_forest", "class_weight", {"yes": -1}, r"params\.class_weight\.yes must be a weight of 0 or more"),
    ],
)
def test_a_class_weight_of_no_class_is_refused_before_any_fit(kind: str, key: str, weights: Any, match: str) -> None:
    *_, ctx = _labelled(("no", "yes"))
    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="m", kind=kind, params={key: weights})).check(ctx)


def test_a_run_hands_the_targets_labels_to_the_models(tmp_path: Path) -> None:
    """Would catch a runner (or a refit) whose FitContext leaves the labels out: the label-keyed weight is refused
    there."""
    import polars as pl

    from kaggle_kit.config import build_spec
    from kaggle_kit.predict.refit import refit
    from kaggle_kit.runtime.runner import run
    from kaggle_kit.runtime.store import RunStore

    X = _rows()
    train = pl.DataFrame(
        {"id": np.arange(len(X)), "a": X[:, 0], "b": X[:, 1], "target": np.where(X[:, 0] > 1, "yes", "no")}
    )
    forest = {"kind": "random_forest", "params": {"n_estimators": 10}}
    spec = build_spec(
        {
            "name": "weights",
            "task": "binary",
            "metric": "log_loss",
            "data": {"train": "unused.csv", "id": "id", "target": "target"},
            "folds": {"n_splits": 2},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [
                {"name": "plain", **forest},
                {"name": "weighted", **forest, "params": {"n_estimators": 10, "class_weight": {"yes": 10}}},
            ],
        }
    )
    result = run(spec, runs_root=tmp_path, train=train, progress=None, record_history=False)
    assert all(m.status == "ok" for m in result.models), [m.error for m in result.models]
    store = RunStore(result.run_dir)
    mean = {m: store.read_predictions(m, "oof")["p_yes"].mean() for m in ("plain", "weighted")}
    assert mean["weighted"] > mean["plain"]
    (refitted,) = refit(result.run_dir, "weighted", train=train, progress=None)  # refit's FitContext has them too
    assert refitted.n_train == len(X)


def test_xgboost_linear_booster_early_stops_and_keeps_its_best_rounds(tmp_path: Path) -> None:
    """Would catch slicing a gblinear booster at its best round: XGBoost refuses ("Slice is not supported by the
    current booster"), and every fold of a ``booster = "gblinear"`` model failed."""
    X = _rows()
    y = X[:, 0] * 3.0 + np.random.default_rng(2).normal(size=len(X))
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, ())  # noqa: E731
    ctx = FitContext(task="regression", n_classes=0, metric=get_metric("rmse"), seed=0, device="cpu", threads=1)
    params = {"booster": "gblinear", "eta": 0.5, "updater": "coord_descent"}
    spec = ModelSpec(name="m", kind="xgboost", params=params, num_boost_round=400, early_stopping_rounds=3)
    adapter = make_adapter(spec)
    adapter.check(ctx)
    fitted = adapter.fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)
    assert fitted.best_iteration < 400 and fitted.model.num_boosted_rounds() == fitted.best_iteration
    pred = adapter.predict(fitted, fm(np.arange(200, 300)), ctx)
    assert _rmse(pred, y[200:]) < 1.3
    assert min(fitted.history["rmse"]) == pytest.approx(_rmse(pred, y[200:]), rel=1e-4)


# ------------------------------------------------------------------------------ monotone constraints per column
@pytest.mark.parametrize(
    ("kind", "value", "match"),
    [
        ("lightgbm", [0, 1, 0, 0], r"constrains categorical column\(s\) 'b', whose levels have no order; LightGBM"),
        ("lightgbm", [1, 0], r"has 2 values and the model's matrix has 4 columns; .* in this order: a, b, c, d"),
        ("catboost", [0, 1, 0, 0], r"constrains categorical column\(s\) 'b'.*CatBoost constrains numeric columns only"),
        ("xgboost", "(0,1,0,0)", r"constrains categorical column\(s\) 'b'.*XGBoost"),
        ("xgboost", {"b": -1}, r"constrains categorical column\(s\) 'b'"),
        ("catboost", {"1": 1}, r"constrains categorical column\(s\) 'b'"),
        ("xgboost", {"e": 1}, r"names column 'e', which the model's matrix does not have; its columns: a, b, c, d"),
    ],
)
def test_a_monotone_constraint_the_columns_cannot_take_is_refused_before_the_fit(
    kind: str, value: Any, match: str
) -> None:
    """Would catch handing the constraint on: LightGBM aborted the whole process on a categorical column
    ("terminate called without an active exception": a run with one job died), and refused another length with a
    C++ check naming its source file; CatBoost failed every fold; XGBoost left a categorical column unconstrained."""
    X = _rows()
    X[:, 1] = np.random.default_rng(3).integers(0, 5, size=len(X))
    y = (X[:, 0] > 0).astype(np.float64)
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, (1,))  # noqa: E731
    ctx = FitContext(task="binary", n_classes=2, metric=get_metric("log_loss"), seed=0, device="cpu", threads=1)
    spec = ModelSpec(name="m", kind=kind, params={"monotone_constraints": value}, num_boost_round=5)
    with pytest.raises(ConfigError, match=match):
        make_adapter(spec).fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)


@pytest.mark.parametrize(
    "params",
    [{"max_bin_by_feature": [10, 10]}, {"feature_penalty": "1,1,1"}, {"cegb_penalty_feature_coupled": [1, 1]}],
)
def test_a_lightgbm_per_column_list_of_another_length_names_the_columns(params: dict[str, Any]) -> None:
    """Would catch handing it on: LightGBM's check named its C++ source line, from every fold."""
    X = _rows()
    y = (X[:, 0] > 0).astype(np.float64)
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, ())  # noqa: E731
    ctx = FitContext(task="binary", n_classes=2, metric=get_metric("log_loss"), seed=0, device="cpu", threads=1)
    adapter = make_adapter(ModelSpec(name="m", kind="lightgbm", params=params, num_boost_round=5))
    key = next(iter(params))
    with pytest.raises(ConfigError, match=rf"params\.{key} has \d values .* 4 columns; .* in this order: a, b, c, d"):
        adapter.fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)


def test_a_lightgbm_per_column_string_of_the_right_length_is_fitted() -> None:
    """Would catch probing it on the probe's two columns: "1,1,1,1" for four columns was refused before any fit."""
    X = _rows()
    y = (X[:, 0] > 0).astype(np.float64)
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, ())  # noqa: E731
    ctx = FitContext(task="binary", n_classes=2, metric=get_metric("log_loss"), seed=0, device="cpu", threads=1)
    spec = ModelSpec(name="m", kind="lightgbm", params={"feature_penalty": "1,0.5,1,1"}, num_boost_round=5)
    adapter = make_adapter(spec)
    adapter.check(ctx)
    fitted = adapter.fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)
    assert fitted.model.params["feature_contri"] in ([1.0, 0.5, 1.0, 1.0], "1,0.5,1,1")


def test_xgboost_exact_trees_or_a_linear_booster_on_categorical_columns_are_refused_naming_them() -> None:
    """Would catch fitting them: XGBoost failed every fold with its C++ check and stack trace."""
    X = _rows()
    X[:, 1] = np.random.default_rng(3).integers(0, 5, size=len(X))
    y = (X[:, 0] > 0).astype(np.float64)
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, (1,))  # noqa: E731
    ctx = FitContext(task="binary", n_classes=2, metric=get_metric("log_loss"), seed=0, device="cpu", threads=1)
    for params, match in (
        ({"tree_method": "exact"}, r"tree_method = 'exact' cannot split categorical columns \('b'\); use 'hist'"),
        ({"booster": "gblinear"}, r"booster = 'gblinear' cannot split categorical columns \('b'\); use a tree"),
    ):
        adapter = make_adapter(ModelSpec(name="m", kind="xgboost", params=params, num_boost_round=5))
        adapter.check(ctx)
        with pytest.raises(ConfigError, match=match):
            adapter.fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)


def test_an_xgboost_monotone_constraint_names_a_column_as_the_data_does() -> None:
    """Would catch handing XGBoost the data's name of a column it knows by its model name (no ``[``, ``]``, ``<``)."""
    X = _rows()
    y = X[:, 0] + np.random.default_rng(4).normal(size=len(X))
    names = ("x[0]", "b", "c", "d")
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), names, ())  # noqa: E731
    ctx = FitContext(task="regression", n_classes=0, metric=get_metric("rmse"), seed=0, device="cpu", threads=1)
    spec = ModelSpec(name="m", kind="xgboost", params={"monotone_constraints": {"x[0]": 1}}, num_boost_round=30)
    adapter = make_adapter(spec)
    fitted = adapter.fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)
    grid = np.zeros((50, 4), dtype=np.float32)
    grid[:, 0] = np.linspace(-3, 3, 50)
    curve = adapter.predict(fitted, FeatureMatrix(grid, names, ()), ctx)[:, 0]
    assert np.all(np.diff(curve) >= -1e-6) and curve[-1] > curve[0]


def test_an_xgboost_interaction_constraint_names_columns_as_the_data_does() -> None:
    X = _rows()
    y = X[:, 0] * X[:, 1] + np.random.default_rng(4).normal(size=len(X))
    names = ("x[0]", "x<1", "c", "d")
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), names, ())  # noqa: E731
    ctx = FitContext(task="regression", n_classes=0, metric=get_metric("rmse"), seed=0, device="cpu", threads=1)
    params = {"interaction_constraints": [["x[0]", "x<1"], ["c", "d"]]}
    adapter = make_adapter(ModelSpec(name="m", kind="xgboost", params=params, num_boost_round=10))
    fitted = adapter.fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)
    assert fitted.best_iteration == 10


@pytest.mark.parametrize(
    "params", [{"boosting": "goss"}, {"data_sample_strategy": "goss"}, {"boosting": "GOSS"}, {"boosting_type": "Goss"}]
)
def test_lightgbm_goss_is_fitted_without_the_kits_bagging_defaults(params: dict[str, Any]) -> None:
    """Would catch keeping the kit's bagging defaults beside the user's GOSS: LightGBM refuses the pair ("Cannot use
    bagging in GOSS"), so GOSS could not be chosen at all (nor 'GOSS', which LightGBM reads in any case)."""
    X = _rows()
    y = (X[:, 0] > 0).astype(np.float64)
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, ())  # noqa: E731
    ctx = FitContext(task="binary", n_classes=2, metric=get_metric("log_loss"), seed=0, device="cpu", threads=1)
    adapter = make_adapter(ModelSpec(name="m", kind="lightgbm", params=params, num_boost_round=5))
    adapter.check(ctx)
    fitted = adapter.fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)
    assert "bagging_fraction" not in fitted.model.params and fitted.best_iteration == 5


@pytest.mark.parametrize(
    "params", [{}, {"boosting": "gbdt"}, {"boosting": "dart"}, {"data_sample_strategy": "bagging"}]
)
def test_lightgbm_without_goss_keeps_the_kits_bagging_defaults(params: dict[str, Any]) -> None:
    """Would catch dropping the bagging defaults for every boosting type: a default run's rows would no longer be
    subsampled (and its OOF would change)."""
    ctx = FitContext(task="binary", n_classes=2, metric=get_metric("log_loss"), seed=0, device="cpu", threads=1)
    trained = make_adapter(ModelSpec(name="m", kind="lightgbm", params=params)).params(ctx)
    assert (trained["bagging_fraction"], trained["bagging_freq"]) == (0.8, 1)


def test_a_monotone_constraint_on_numeric_columns_is_kept() -> None:
    X = _rows()
    X[:, 1] = np.random.default_rng(3).integers(0, 5, size=len(X))
    y = X[:, 0] + np.random.default_rng(4).normal(size=len(X))
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, (1,))  # noqa: E731
    ctx = FitContext(task="regression", n_classes=0, metric=get_metric("rmse"), seed=0, device="cpu", threads=1)
    grid = np.zeros((50, 4), dtype=np.float32)
    grid[:, 0] = np.linspace(-3, 3, 50)
    for kind, value in (("lightgbm", [1, 0, 0, 0]), ("xgboost", {"a": 1}), ("catboost", {"0": 1})):
        spec = ModelSpec(name="m", kind=kind, params={"monotone_constraints": value}, num_boost_round=30)
        adapter = make_adapter(spec)
        fitted = adapter.fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)
        curve = adapter.predict(fitted, FeatureMatrix(grid, NAMES, (1,)), ctx)[:, 0]
        assert np.all(np.diff(curve) >= -1e-6), kind


@pytest.mark.parametrize("value", [[0, 0, 0, 1], {"3": 1}])
def test_a_catboost_monotone_constraint_past_the_probes_columns_is_fitted(value: Any) -> None:
    """Would catch CatBoost's probe (two columns) judging a constraint on the fold's columns: one on column 3 was
    refused before any fit, "Monotone constraints may be imposed only on float features" (not one of the probe's)."""
    X = _rows()
    y = X[:, 3] + np.random.default_rng(4).normal(size=len(X))
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), NAMES, ())  # noqa: E731
    ctx = FitContext(task="regression", n_classes=0, metric=get_metric("rmse"), seed=0, device="cpu", threads=1)
    spec = ModelSpec(name="m", kind="catboost", params={"monotone_constraints": value}, num_boost_round=30)
    adapter = make_adapter(spec)
    adapter.check(ctx)  # what the runner calls before any fold
    fitted = adapter.fit(fm(np.arange(200)), y[:200], fm(np.arange(200, 300)), y[200:], ctx)
    grid = np.zeros((50, 4), dtype=np.float32)
    grid[:, 3] = np.linspace(-3, 3, 50)
    curve = adapter.predict(fitted, FeatureMatrix(grid, NAMES, ()), ctx)[:, 0]
    assert np.all(np.diff(curve) >= -1e-6) and curve[-1] > curve[0]
