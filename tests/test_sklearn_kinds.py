"""The scikit-learn kinds: random_forest, extra_trees, linear, and the kit's pickle-free format for fitted estimators.

Conformance (shapes, probabilities, determinism, save -> load -> identical predictions, skill over the baseline) on
shipped data sets, then what each kind promises: native NaN in forests, missing indicators and one-hot levels in the
linear model, a fold without a rare class, parameters checked before any fit, files that cannot run code.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

from kaggle_kit.config import ModelSpec
from kaggle_kit.errors import ConfigError, KitError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, linear_adapter, make_adapter
from kaggle_kit.models.linear_adapter import level_caps

DATA = {
    "binary": (load_breast_cancer, "roc_auc"),
    "multiclass": (load_digits, "log_loss"),
    "regression": (load_diabetes, "rmse"),
}
SMALL_FOREST = {"n_estimators": 25}
KINDS = {
    "random_forest": SMALL_FOREST,
    "extra_trees": SMALL_FOREST,
    "linear": {},
    "linear-spline": {"numeric": "spline"},
    "linear-quantile": {"numeric": "quantile"},
}
#: "clearly beats the baseline": the model's held-out score against the dummy's (class frequencies / the mean)
CLEARLY = {"binary": lambda m, d: m > 0.95 and d == 0.5, "multiclass": lambda m, d: m < 0.5 * d}
CLEARLY["regression"] = lambda m, d: m < 0.85 * d


@pytest.fixture(scope="module")
def splits() -> dict[str, tuple[FeatureMatrix, np.ndarray, FeatureMatrix, np.ndarray]]:
    out = {}
    for task, (loader, _) in DATA.items():
        X, y = loader(return_X_y=True)
        X = X.astype(np.float32)
        idx = np.random.default_rng(0).permutation(len(X))
        tr, va = idx[: int(0.75 * len(X))], idx[int(0.75 * len(X)) :]
        names = tuple(f"f{i}" for i in range(X.shape[1]))
        out[task] = (FeatureMatrix(X[tr], names, ()), y[tr], FeatureMatrix(X[va], names, ()), y[va])
    return out


def context(task: str, threads: int = 1, metric: str | None = None, n_classes: int | None = None) -> FitContext:
    n = n_classes or {"binary": 2, "multiclass": 10, "regression": 1}[task]
    return FitContext(task, n, get_metric(metric or DATA[task][1]), seed=3, device="cpu", threads=threads)


def spec(kind: str, **params: object) -> ModelSpec:
    base = kind.split("-")[0]
    return ModelSpec(name=f"m_{kind}", kind=base, params={**KINDS.get(kind, {}), **params})


def fit_predict(adapter: object, split: tuple, ctx: FitContext) -> tuple[object, np.ndarray]:
    Xtr, ytr, Xva, yva = split
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)  # type: ignore[attr-defined]
    return fitted, adapter.predict(fitted, Xva, ctx)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ conformance
@pytest.mark.parametrize("task", list(DATA))
@pytest.mark.parametrize("kind", list(KINDS))
def test_conformance(kind: str, task: str, splits: dict, tmp_path: Path) -> None:
    ctx = context(task)
    adapter = make_adapter(spec(kind))
    assert adapter.uses_gpu is False and adapter.reads_features is True
    adapter.check(ctx)
    fitted, pred = fit_predict(adapter, splits[task], ctx)
    yva = splits[task][3]

    assert pred.shape == (len(yva), ctx.n_classes) and pred.dtype == np.float32 and np.isfinite(pred).all()
    if task != "regression":
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-5)
        assert (pred >= 0).all()

    # the same seed gives the same predictions
    np.testing.assert_array_equal(fit_predict(make_adapter(spec(kind)), splits[task], ctx)[1], pred)

    # saved as JSON + npz, loaded by a fresh adapter: identical predictions
    path = tmp_path / adapter.file_name
    adapter.save(fitted, path)
    assert {p.name for p in tmp_path.iterdir()} == {"model.json", "model.npz"}
    fresh = make_adapter(spec(kind))
    np.testing.assert_array_equal(fresh.predict(fresh.load(path, ctx), splits[task][2], ctx), pred)

    # clearly better than the baseline on held-out rows
    dummy = make_adapter(ModelSpec(name="baseline", kind="dummy"))
    base = dummy.predict(dummy.fit(*splits[task], ctx), splits[task][2], ctx)
    model_score, base_score = ctx.metric.score(yva, pred), ctx.metric.score(yva, base)
    assert CLEARLY[task](model_score, base_score), (model_score, base_score)


@pytest.mark.parametrize("kind", ["random_forest", "extra_trees"])
def test_forest_predictions_do_not_depend_on_threads(kind: str, splits: dict) -> None:
    """Fitting on 2 threads and predicting in 2 row blocks gives exactly the 1-thread result."""
    one = fit_predict(make_adapter(spec(kind)), splits["multiclass"], context("multiclass", threads=1))[1]
    two = fit_predict(make_adapter(spec(kind)), splits["multiclass"], context("multiclass", threads=2))[1]
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize(("kind", "cls"), [("random_forest", "RandomForest"), ("extra_trees", "ExtraTrees")])
def test_forest_defaults_and_pass_through(kind: str, cls: str) -> None:
    adapter = make_adapter(ModelSpec(name="f", kind=kind, params={"min_samples_leaf": 3}))
    clf = adapter.make(context("binary", threads=4))  # type: ignore[attr-defined]
    reg = adapter.make(context("regression"))  # type: ignore[attr-defined]
    assert type(clf).__name__ == f"{cls}Classifier" and type(reg).__name__ == f"{cls}Regressor"
    assert (clf.n_estimators, clf.max_leaf_nodes, clf.n_jobs, clf.random_state) == (300, 15000, 4, 3)
    assert clf.max_features == "sqrt" and reg.max_features == 1.0 and clf.min_samples_leaf == 3
    mine = make_adapter(ModelSpec(name="f", kind=kind, params={"n_estimators": 7}))
    assert mine.make(context("binary")).n_estimators == 7  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ missing values
def _missing_drives_target(n: int = 600) -> tuple[FeatureMatrix, np.ndarray]:
    """y = 1 exactly where x0 is missing (x0 itself, when present, is noise): only missingness predicts it."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    X[y == 1, 0] = np.nan
    return FeatureMatrix(X, ("x0", "x1", "x2"), ()), y


@pytest.mark.parametrize("kind", ["random_forest", "extra_trees", "linear"])
def test_missing_values_are_informative(kind: str) -> None:
    """Forests split on NaN natively (no imputation); the linear model has a missing indicator. Imputing the
    median alone would leave no signal (AUC ~0.5)."""
    fm, y = _missing_drives_target()
    tr, va = np.arange(400), np.arange(400, 600)
    Xtr, Xva = FeatureMatrix(fm.X[tr], fm.names, ()), FeatureMatrix(fm.X[va], fm.names, ())
    ctx = context("binary")
    adapter = make_adapter(spec(kind))
    fitted = adapter.fit(Xtr, y[tr], Xva, y[va], ctx)
    pred = adapter.predict(fitted, Xva, ctx)
    assert ctx.metric.score(y[va], pred) > 0.99
    if kind != "linear":
        assert fitted.model["medians"] is None  # the trees saw the NaN


def test_linear_missing_values_only_at_predict_time_are_imputed() -> None:
    """A column complete in training but missing at test time gets the training median (no indicator learned)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2)).astype(np.float32)
    y = X[:, 0] * 3.0 + X[:, 1]
    fm = FeatureMatrix(X, ("a", "b"), ())
    ctx = context("regression")
    adapter = make_adapter(spec("linear"))
    fitted = adapter.fit(fm, y, fm, y, ctx)
    test = np.array([[np.nan, 0.5], [float(np.median(X[:, 0])), 0.5]], dtype=np.float32)
    pred = adapter.predict(fitted, FeatureMatrix(test, fm.names, ()), ctx)
    assert pred[0, 0] == pred[1, 0]


# ------------------------------------------------------------------------------------------------ linear options
def _r2(kind_params: dict, x: np.ndarray, y: np.ndarray) -> float:
    fm = FeatureMatrix(x.reshape(-1, 1).astype(np.float32), ("x",), ())
    tr, va = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    ctx = context("regression")
    adapter = make_adapter(spec("linear", **kind_params))
    rows = lambda idx: FeatureMatrix(fm.X[idx], fm.names, ())  # noqa: E731
    pred = adapter.predict(adapter.fit(rows(tr), y[tr], rows(va), y[va], ctx), rows(va), ctx)[:, 0]
    return float(1 - np.mean((y[va] - pred) ** 2) / np.var(y[va]))


def test_linear_spline_fits_a_curve_the_standard_model_cannot() -> None:
    x = np.random.default_rng(4).uniform(-3, 3, 800)
    y = np.sin(2 * x) + 0.05 * np.random.default_rng(5).normal(size=800)
    assert _r2({}, x, y) < 0.3 and _r2({"numeric": "spline", "n_knots": 8}, x, y) > 0.95


def test_linear_quantile_straightens_a_heavy_tail() -> None:
    """x log-normal, y = log x: the normal scores of x's ranks are linear in log x."""
    x = np.exp(2.0 * np.random.default_rng(6).normal(size=800))
    y = np.log(x)
    assert _r2({}, x, y) < 0.5 and _r2({"numeric": "quantile"}, x, y) > 0.98


@pytest.mark.parametrize(("task", "name"), [("binary", "C"), ("regression", "alpha")])
def test_linear_auto_strength_regularises_noise(task: str, name: str) -> None:
    """On a target that is pure noise the inner search picks strong regularisation; a number is kept as given."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 20)).astype(np.float32)
    y = rng.integers(0, 2, 300) if task == "binary" else rng.normal(size=300)
    fm = FeatureMatrix(X, tuple(f"f{i}" for i in range(20)), ())
    ctx = context(task)
    auto = make_adapter(spec("linear", **{name: "auto"})).fit(fm, y, fm, y, ctx).model["estimator"]
    fixed = make_adapter(spec("linear", **{name: 0.5})).fit(fm, y, fm, y, ctx).model["estimator"]
    chosen = getattr(auto, name)
    assert (chosen <= 0.01) if name == "C" else (chosen >= 100), chosen
    assert getattr(fixed, name) == 0.5


# ------------------------------------------------------------------------------------------------ categorical levels
def _categorical_data(n: int = 900) -> tuple[FeatureMatrix, np.ndarray, np.ndarray]:
    """Codes 0..5 frequent with strong effects, codes 6 and 7 rare (< 10 rows each), one noise number."""
    rng = np.random.default_rng(2)
    codes = rng.choice(6, size=n).astype(np.float32)
    codes[:5], codes[5:9] = 6, 7  # rare levels: 5 and 4 rows
    effect = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 0.5, 0.5])
    y = effect[codes.astype(int)] + 0.1 * rng.normal(size=n)
    X = np.column_stack([codes, rng.normal(size=n)]).astype(np.float32)
    return FeatureMatrix(X, ("shop", "noise"), (0,)), y, effect


def test_linear_one_hot_levels_rare_group_and_unseen() -> None:
    fm, y, effect = _categorical_data()
    ctx = context("regression")
    adapter = make_adapter(spec("linear", alpha=1e-6))
    fitted = adapter.fit(fm, y, fm, y, ctx)
    prep = fitted.model["prep"]
    counts = np.bincount(fm.X[:, 0].astype(int))
    assert prep.levels == [sorted(range(6), key=lambda c: (-counts[c], c))]  # most frequent first
    assert prep.rare == [[6, 7]]

    # each frequent level's prediction is its effect (one-hot learned it); the two rare levels share one column
    rows = np.array([[c, 0.0] for c in range(8)] + [[99, 0.0], [np.nan, 0.0]], dtype=np.float32)
    pred = adapter.predict(fitted, FeatureMatrix(rows, fm.names, (0,)), ctx)[:, 0]
    np.testing.assert_allclose(pred[:6], effect[:6], atol=0.05)
    assert pred[6] == pred[7]
    # a level never seen in training and a missing value set no column: both predict the same, finite value
    assert np.isfinite(pred[8]) and pred[8] == pred[9]


def test_linear_max_levels_caps_the_columns() -> None:
    fm, y, _ = _categorical_data()
    ctx = context("regression")
    adapter = make_adapter(spec("linear", max_levels=2))
    prep = adapter.fit(fm, y, fm, y, ctx).model["prep"]
    assert len(prep.levels[0]) == 2 and len(prep.rare[0]) == 6
    assert prep.transform(fm.X).shape[1] == 1 + 2 + 1  # noise, two levels, the rare column


@pytest.mark.parametrize("numeric", ["standard", "spline", "quantile"])
def test_linear_design_matrix_is_the_parts_side_by_side(numeric: str) -> None:
    """The preallocated design (no ``np.hstack`` copy) is, column for column, the scaled numeric part, the missing
    indicators, then each categorical column's one-hot (its kept levels, then the rare column), built here on its
    own; a level unseen in training and a missing code set no column."""
    rng = np.random.default_rng(3)
    n = 400
    a, b = rng.normal(size=n), rng.exponential(size=n)
    a[rng.random(n) < 0.1] = np.nan
    shop, city = rng.integers(0, 9, size=n).astype(float), rng.integers(0, 3, size=n).astype(float)
    shop[:5] = np.nan
    X = np.column_stack([a, shop, b, city]).astype(np.float32)
    fm = FeatureMatrix(X, ("a", "shop", "b", "city"), (1, 3))
    y = np.nan_to_num(a) + b + (shop == 2)
    adapter = make_adapter(spec("linear", numeric=numeric, n_knots=4, max_levels=5, alpha=1.0))
    prep = adapter.fit(fm, y, fm, y, context("regression")).model["prep"]
    rows = X.copy()
    rows[:3, 1] = [50.0, np.nan, 8.0]  # unseen, missing, a level of training
    num = rows[:, [0, 2]].astype(np.float64)
    filled = np.where(np.isnan(num), prep.medians, num)
    part = prep._numeric_part(filled)
    part = prep.steps["scaler"].transform(part) if "scaler" in prep.steps else part
    blocks = [part, np.isnan(num)[:, prep.indicators].astype(np.float64)]
    for j, kept, rare in zip(prep.categorical, prep.levels, prep.rare, strict=True):
        block = np.zeros((n, len(kept) + bool(rare)))
        for i, code in enumerate(rows[:, j]):
            if not np.isnan(code) and int(code) in kept:
                block[i, kept.index(int(code))] = 1.0
            elif not np.isnan(code) and int(code) in rare:
                block[i, len(kept)] = 1.0
        blocks.append(block)
    design = prep.transform(rows)
    assert design.dtype == np.float64 and design.flags.c_contiguous
    np.testing.assert_array_equal(design, np.concatenate(blocks, axis=1))  # the same bits: imputed and scaled in place
    assert prep.levels[0] and prep.rare[0] and not design[0, -9:-3].any()  # shop 50: no column


def test_linear_design_imputes_and_scales_the_numeric_columns_where_they_lie() -> None:
    """No float64 copy of the numeric columns beside the design: they are filled, imputed and scaled in their place
    in it (a copy and its imputed copy had been two more arrays of rows x columns x 8 bytes at the fit's peak: 256 MB
    on 400k rows x 40 columns). Counted by tracemalloc, which sees every array numpy allocates: what ``transform``
    allocates besides the design it returns stays under one such copy (it was 2.5)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    n, n_num = 5000, 10
    X = rng.normal(size=(n, n_num + 2)).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    X[:, n_num:] = rng.integers(0, 5, (n, 2))
    fm = FeatureMatrix(X, tuple(f"f{i}" for i in range(n_num + 2)), (n_num, n_num + 1))
    y = np.nan_to_num(X[:, 0]) + rng.normal(size=n)
    prep = make_adapter(spec("linear", alpha=1.0)).fit(fm, y, fm, y, context("regression")).model["prep"]
    assert "scaler" in prep.steps and len(prep.indicators) == n_num
    tracemalloc.start()
    try:
        design = prep.transform(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - design.nbytes < n * n_num * 8


def test_linear_design_from_a_scaler_that_copies_the_numeric_columns_is_the_same() -> None:
    """The scaler scales the design's numeric columns in place (a view); a scikit-learn whose ``transform`` copies
    that view instead still has its scaled values written back (else the design keeps them unscaled)."""
    rng = np.random.default_rng(1)
    X = rng.normal(loc=5.0, scale=3.0, size=(200, 3)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    fm = FeatureMatrix(X, ("a", "b", "c"), ())
    y = np.nan_to_num(X[:, 0]) + rng.normal(size=200)
    prep = make_adapter(spec("linear", alpha=1.0)).fit(fm, y, fm, y, context("regression")).model["prep"]
    expected = prep.transform(X)
    scaler = prep.steps["scaler"]
    real = type(scaler).transform

    def copying(X: np.ndarray, copy: bool | None = None) -> np.ndarray:
        return real(scaler, np.array(X), copy=False)  # scales a copy: the view it was given is left as it was

    scaler.transform = copying
    np.testing.assert_array_equal(prep.transform(X), expected)
    assert abs(expected[:, :3].mean()) < 0.5  # scaled (the columns' mean is 5)


# ------------------------------------------------------------------------------------------------ rare classes
@pytest.mark.parametrize("kind", ["random_forest", "extra_trees", "linear"])
def test_fold_without_a_rare_class(kind: str, splits: dict) -> None:
    Xtr, ytr, Xva, yva = splits["multiclass"]
    keep = ytr != 9
    ctx = context("multiclass")
    adapter = make_adapter(spec(kind))
    fitted = adapter.fit(FeatureMatrix(Xtr.X[keep], Xtr.names, ()), ytr[keep], Xva, yva, ctx)
    pred = adapter.predict(fitted, Xva, ctx)
    assert pred.shape == (len(yva), 10) and (pred[:, 9] == 0).all()
    np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------------------------------------ bad params
@pytest.mark.parametrize(
    ("kind", "params", "task", "match"),
    [
        ("random_forest", {"n_estimator": 10}, "binary", r"unknown param 'n_estimator'\. Did you mean 'n_estimators'"),
        ("extra_trees", {"max_feature": 0.5}, "regression", r"ExtraTreesRegressor.*Did you mean 'max_features'"),
        ("random_forest", {"max_features": "sqr"}, "binary", r"'max_features' parameter of RandomForestClassifier"),
        ("linear", {"Cc": 2.0}, "binary", r"unknown param 'Cc'\. Did you mean 'C'"),
        ("linear", {"aplha": 2.0}, "regression", r"Ridge.*unknown param 'aplha'\. Did you mean 'alpha'"),
        ("linear", {"C": -1.0}, "binary", r"'C' parameter of LogisticRegression must be"),
    ],
)
def test_bad_params_are_rejected_by_check(kind: str, params: dict, task: str, match: str) -> None:
    adapter = make_adapter(ModelSpec(name="m", kind=kind, params=params))
    with pytest.raises(ConfigError, match=r"model 'm': .*" + match):
        adapter.check(context(task))


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("random_forest", {"n_jobs": 4}, r"params\.n_jobs is set by the kit; .*run\.threads_per_task"),
        ("extra_trees", {"random_state": 1}, r"params\.random_state is set by the kit; .*seed"),
        ("linear", {"numeric": "splines"}, r"params\.numeric must be .*got 'splines'\. Did you mean 'spline'"),
        ("linear", {"n_knots": 1}, r"params\.n_knots must be a whole number >= 2; got 1"),
    ],
)
def test_bad_kit_params_are_rejected_when_the_model_is_made(kind: str, params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="m", kind=kind, params=params))


@pytest.mark.parametrize(
    ("estimator", "params", "task", "metric", "match"),
    [
        ("sklearn.linear_model.Ridge", {}, "binary", "roc_auc", r"Ridge is not a classifier and the task is binary"),
        (
            "sklearn.linear_model.LogisticRegression",
            {},
            "regression",
            "rmse",
            r"LogisticRegression is not a regressor and the task is regression; use a regressor",
        ),
        ("sklearn.svm.SVC", {}, "binary", "roc_auc", r"SVC has no predict_proba.*'roc_auc'.*probability = true"),
        ("sklearn.svm.SVC", {}, "multiclass", "log_loss", r"probability = true"),
        ("sklearn.svm.LinearSVC", {}, "binary", "log_loss", r"LinearSVC has no predict_proba.*with predict_proba"),
        ("sklearn.linear_model.LogisticRegression", {"Cc": 1}, "binary", "roc_auc", r"'Cc'\. Did you mean 'C'"),
    ],
)
def test_sklearn_estimator_checks(estimator: str, params: dict, task: str, metric: str, match: str) -> None:
    adapter = make_adapter(ModelSpec(name="m", kind="sklearn", estimator=estimator, params=params))
    with pytest.raises(ConfigError, match=r"model 'm': .*" + match):
        adapter.check(context(task, metric=metric))


@pytest.mark.parametrize(
    ("estimator", "params", "metric"),
    [("sklearn.svm.SVC", {"probability": True}, "roc_auc"), ("sklearn.svm.LinearSVC", {}, "accuracy")],
)
def test_sklearn_estimator_checks_pass(estimator: str, params: dict, metric: str) -> None:
    make_adapter(ModelSpec(name="m", kind="sklearn", estimator=estimator, params=params)).check(
        context("binary", metric=metric)
    )


# ------------------------------------------------------------------------------------------------ the file format
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("categorical", [False, True])
def test_hist_gradient_boosting_round_trips(task: str, categorical: bool, splits: dict, tmp_path: Path) -> None:
    """kind = 'sklearn' with HistGradientBoosting: its TreePredictor arrays, binner, baseline and categories are
    saved; NaN goes to it natively; a categorical column (with a level unseen in training, and a missing value) is
    encoded by the rebuilt encoder exactly as by the fitted one."""
    Xtr, ytr, Xva, yva = splits[task]
    Xtr, Xva = FeatureMatrix(Xtr.X.copy(), Xtr.names, ()), FeatureMatrix(Xva.X.copy(), Xva.names, ())
    Xtr.X[::5, 1], Xva.X[::4, 1] = np.nan, np.nan
    params: dict[str, object] = {"max_iter": 20}
    if categorical:
        Xtr.X[:, 0] = (ytr * 2 + np.arange(len(ytr)) % 2) % 7  # codes 0..6, tied to the target
        Xtr.X[::9, 0] = np.nan
        Xva.X[:, 0] = np.arange(len(Xva.X)) % 9  # codes 7 and 8 never seen in training
        params["categorical_features"] = [0]
    kind = "Regressor" if task == "regression" else "Classifier"
    estimator = f"sklearn.ensemble.HistGradientBoosting{kind}"
    model = ModelSpec(name="hgb", kind="sklearn", estimator=estimator, params=params)
    ctx = context(task)
    adapter = make_adapter(model)
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    pred = adapter.predict(fitted, Xva, ctx)
    adapter.save(fitted, tmp_path / "model.json")
    loaded = adapter.load(tmp_path / "model.json", ctx)
    np.testing.assert_array_equal(adapter.predict(loaded, Xva, ctx), pred)
    assert fitted.model["medians"] is None
    if categorical:
        assert loaded.model["estimator"].is_categorical_.tolist() == [True] + [False] * (Xtr.X.shape[1] - 1)


def test_hist_gradient_boosting_categories_that_do_not_match_are_refused(splits: dict, tmp_path: Path) -> None:
    Xtr, ytr, Xva, yva = splits["binary"]
    Xtr = FeatureMatrix(Xtr.X.copy(), Xtr.names, ())
    Xtr.X[:, 0] = np.arange(len(Xtr.X)) % 4
    model = ModelSpec(
        name="hgb",
        kind="sklearn",
        estimator="sklearn.ensemble.HistGradientBoostingClassifier",
        params={"max_iter": 5, "categorical_features": [0]},
    )
    adapter = make_adapter(model)
    adapter.save(adapter.fit(Xtr, ytr, Xva, yva, context("binary")), tmp_path / "model.json")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["_preprocessor.0"] = np.array([0.0, 1.0, 1.0])  # not sorted unique: no encoder fits to this
    np.savez(tmp_path / "model.npz", **arrays)
    with pytest.raises(KitError, match=r"cannot be loaded: the categorical encoder .* could not be rebuilt"):
        adapter.load(tmp_path / "model.json", context("binary"))


@pytest.mark.filterwarnings("ignore:The `probability` parameter was deprecated:FutureWarning")
@pytest.mark.parametrize(
    ("estimator", "params", "match"),
    [
        # SVC keeps its support vectors in private attributes: the rebuilt copy cannot predict
        ("sklearn.svm.SVC", {"probability": True}, r"SVC: rebuilt from its saved form, it fails \(AttributeError"),
        (
            "sklearn.ensemble.GradientBoostingClassifier",
            {"n_estimators": 5},
            r"GradientBoostingClassifier: estimators_ is an array of Python objects, so it has no safe file format",
        ),
    ],
)
def test_an_estimator_whose_saved_form_would_not_predict_is_recorded_as_not_persisted(
    estimator: str, params: dict, match: str, splits: dict, tmp_path: Path
) -> None:
    """Checked at fit on a few training rows, so no fold is ever saved to fail, or to predict otherwise, later."""
    Xtr, ytr, Xva, yva = splits["binary"]
    adapter = make_adapter(ModelSpec(name="m", kind="sklearn", estimator=estimator, params=params))
    ctx = context("binary")
    fitted = adapter.fit(FeatureMatrix(Xtr.X[:120], Xtr.names, ()), ytr[:120], Xva, yva, ctx)
    assert adapter.predict(fitted, Xva, ctx).shape == (len(yva), 2)  # its fold predictions are made as usual
    adapter.save(fitted, tmp_path / "model.json")
    assert not (tmp_path / "model.npz").exists()
    with pytest.raises(KitError, match=r"model 'm' cannot be loaded: " + match + r".*the OOF and test predictions"):
        adapter.load(tmp_path / "model.json", ctx)


def test_files_written_before_the_format_key_still_load(splits: dict, tmp_path: Path) -> None:
    """A kind = 'sklearn' fold saved by the earlier layout (params and scalars in JSON, public arrays and the medians
    in the npz, no ``format`` key) loads and predicts as before."""
    Xtr, ytr, Xva, yva = splits["regression"]
    model = ModelSpec(name="lr", kind="sklearn", estimator="sklearn.linear_model.Ridge")
    ctx = context("regression")
    adapter = make_adapter(model)
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    est = fitted.model["estimator"]
    arrays = {k: v for k, v in vars(est).items() if k.endswith("_") and isinstance(v, np.ndarray)}
    scalars = {k: v.item() if isinstance(v, np.generic) else v for k, v in vars(est).items() if k.endswith("_")}
    scalars = {k: v for k, v in scalars.items() if not isinstance(v, np.ndarray)}
    meta = {"class": "sklearn.linear_model._ridge.Ridge", "params": est.get_params(deep=False)}
    (tmp_path / "model.json").write_text(json.dumps({**meta, "attributes": scalars}))
    np.savez(tmp_path / "model.npz", __medians=np.zeros(Xtr.X.shape[1], dtype=np.float32), **arrays)
    loaded = adapter.load(tmp_path / "model.json", ctx)
    np.testing.assert_array_equal(adapter.predict(loaded, Xva, ctx), adapter.predict(fitted, Xva, ctx))


class _CreatesFile:
    """Unpickling this creates a file: the test's proof that code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (self.path, "ran"))  # type: ignore[return-value]


@pytest.fixture
def saved_forest(splits: dict, tmp_path: Path) -> tuple[object, Path]:
    adapter = make_adapter(spec("random_forest", n_estimators=3))
    fitted = adapter.fit(*splits["binary"], context("binary"))
    adapter.save(fitted, tmp_path / "model.json")
    return adapter, tmp_path / "model.json"


def test_a_pickled_array_in_the_npz_is_refused(saved_forest: tuple, tmp_path: Path) -> None:
    adapter, path = saved_forest
    marker = tmp_path / "executed"
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    first_nodes = next(k for k in arrays if k.endswith(".nodes"))
    arrays[first_nodes] = np.array([_CreatesFile(marker)], dtype=object)
    np.savez(path.with_suffix(".npz"), **arrays)  # np.savez pickles object arrays
    assert b"executed" in pickle.dumps(_CreatesFile(marker))  # the payload is really there
    with pytest.raises(KitError, match=r"cannot be loaded .*allow_pickle=False.*delete the fold folder"):
        adapter.load(path, context("binary"))
    assert not marker.exists()


@pytest.mark.parametrize(
    ("path_in_json", "match"),
    [
        ("os.system", r"'os.system' is not a scikit-learn class path"),
        ("builtins.eval", r"'builtins.eval' is not a scikit-learn class path"),
        ("sklearn.utils.Bunch", r"'sklearn.utils.Bunch' is not a scikit-learn estimator"),
    ],
)
def test_a_json_naming_other_code_is_refused(saved_forest: tuple, path_in_json: str, match: str) -> None:
    adapter, path = saved_forest
    meta = json.loads(path.read_text())
    meta["estimator"]["attributes"]["estimators_"]["list"][0]["class"] = path_in_json
    path.write_text(json.dumps(meta))
    with pytest.raises(KitError, match=r"model\.json: model 'm_random_forest' cannot be loaded: .*" + match):
        adapter.load(path, context("binary"))


def test_a_forest_file_loaded_for_the_wrong_task_is_refused(saved_forest: tuple) -> None:
    adapter, path = saved_forest
    with pytest.raises(KitError, match=r"holds a RandomForestClassifier, not sklearn.ensemble.RandomForestRegressor"):
        adapter.load(path, context("regression"))


def test_linear_steps_are_restricted_to_the_preprocessors(splits: dict, tmp_path: Path) -> None:
    adapter = make_adapter(spec("linear"))
    adapter.save(adapter.fit(*splits["binary"], context("binary")), tmp_path / "model.json")
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["prep"]["steps"]["scaler"]["class"] = "sklearn.svm.SVC"
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(KitError, match=r"cannot be loaded: unexpected preprocessing step 'scaler'"):
        adapter.load(tmp_path / "model.json", context("binary"))


# ------------------------------------------------------------------------------------------------ through a run
def test_a_run_stores_each_fold_and_the_saved_models_reproduce_its_test_predictions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kaggle-kit run` with the three kinds; every fold's saved model, reloaded, gives the fold's stored test
    predictions exactly (from the test rows encoded with the fold's stored encoder state)."""
    import polars as pl
    from test_bad_inputs import write_table_competition

    from kaggle_kit.cli import main
    from kaggle_kit.features import TableEncoder

    config = write_table_competition(tmp_path)
    models = {
        "rf": ("random_forest", "{ n_estimators = 10 }"),
        "xt": ("extra_trees", "{ n_estimators = 10 }"),
        "lin": ("linear", '{ numeric = "spline", min_frequency = 2 }'),
    }
    extra = "".join(f'\n[[models]]\nname = "{n}"\nkind = "{k}"\nparams = {p}\n' for n, (k, p) in models.items())
    config.write_text(config.read_text() + extra)
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs")]) == 0
    capsys.readouterr()

    test = pl.read_csv(tmp_path / "test.csv")
    ctx = context("binary")
    for name, (kind, _) in models.items():
        folds = sorted((tmp_path / "runs" / "tiny" / "models" / name).glob("*/folds/*"))
        assert len(folds) == 3
        for fold in folds:
            assert {"model.json", "model.npz"} <= {p.name for p in fold.iterdir()}
            state = json.loads((fold / "features.json").read_text())
            encoder = TableEncoder(tuple(state["features"]), tuple(state["levels"]))
            adapter = make_adapter(ModelSpec(name=name, kind=kind))
            pred = adapter.predict(adapter.load(fold / "model.json", ctx), encoder.transform(test, state), ctx)
            np.testing.assert_array_equal(pred, np.load(fold / "test.npy", allow_pickle=False))


def test_linear_auto_max_levels_keeps_every_frequent_level_of_a_wide_column() -> None:
    """80 levels, each seen 15 times with its own effect: "auto" keeps all 80 where a fixed 50 grouped 30 into one
    column and lost their effects; the cap shrinks with the rows (the one-hot block's memory) but not below 50."""
    rng = np.random.default_rng(3)
    codes = np.repeat(np.arange(80), 15).astype(np.float32)
    effect = rng.normal(size=80)
    y = effect[codes.astype(int)] + 0.05 * rng.normal(size=codes.size)
    fm = FeatureMatrix(np.column_stack([codes, rng.normal(size=codes.size)]).astype(np.float32), ("hood", "x"), (0,))
    ctx = context("regression")
    auto = make_adapter(spec("linear")).fit(fm, y, fm, y, ctx)
    fixed = make_adapter(spec("linear", max_levels=50)).fit(fm, y, fm, y, ctx)
    assert len(auto.model["prep"].levels[0]) == 80 and auto.model["prep"].rare == [[]]
    err = {name: np.sqrt(np.mean((make_adapter(spec("linear")).predict(f, fm, ctx)[:, 0] - y) ** 2))
           for name, f in (("auto", auto), ("fixed", fixed))}  # fmt: skip
    assert err["auto"] < 0.1 < err["fixed"], err
    # 50 M cells of 100,000 rows: 500 levels; a narrow column takes what it needs, the wide ones share the rest
    assert level_caps([3, 2, 900, 900], 100_000) == [3, 2, 247, 248]
    assert level_caps([900], 1_000_000) == [50] and level_caps([10, 900], 10_000) == [10, 900]
    with pytest.raises(ConfigError, match=r'params.max_levels must be a whole number >= 1 or "auto"; got 0'):
        make_adapter(spec("linear", max_levels=0))


def test_linear_predicts_a_large_file_in_row_chunks_as_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test rows' dense one-hot is built a chunk of rows at a time (its memory bounded by ONE_HOT_CELLS): the
    predictions equal those of one block, for classes and for values."""
    fm, y, _ = _categorical_data()
    for task, target in (("regression", y), ("multiclass", (y > 0).astype(int) + (y > 1.5).astype(int))):
        ctx = context(task) if task == "regression" else FitContext(task, 3, get_metric("log_loss"), 0, "cpu", 1)
        adapter = make_adapter(spec("linear"))
        fitted = adapter.fit(fm, target, fm, target, ctx)
        whole = adapter.predict(fitted, fm, ctx)
        prep = fitted.model["prep"]
        rows: list[int] = []
        transform = prep.transform
        spy = lambda X, rows=rows, transform=transform: rows.append(len(X)) or transform(X)  # noqa: E731
        monkeypatch.setattr(prep, "transform", spy)
        monkeypatch.setattr(linear_adapter, "ONE_HOT_CELLS", 8 * 100)  # width 8 (noise, 6 levels, rare): 100 rows
        chunked = adapter.predict(fitted, fm, ctx)
        monkeypatch.undo()
        assert prep.width == 8 and rows == [100] * 9  # 900 rows
        np.testing.assert_allclose(chunked, whole, rtol=1e-6, atol=1e-7)
