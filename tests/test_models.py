"""Conformance suite run over every model adapter x task: shapes, probabilities, determinism, save/load, skill."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import xgboost
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

from kaggle_kit.config import ModelSpec
from kaggle_kit.device import cuda_device_count, resolve_device
from kaggle_kit.errors import ConfigError, KitError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, base, make_adapter

TASK_DATA = {
    "binary": (load_breast_cancer, "roc_auc"),
    "multiclass": (load_digits, "log_loss"),
    "regression": (load_diabetes, "rmse"),
}
ADAPTER_SPECS = {
    "xgboost": {"num_boost_round": 80, "early_stopping_rounds": 20, "params": {"learning_rate": 0.2, "max_depth": 3}},
    "lightgbm": {"num_boost_round": 80, "early_stopping_rounds": 20, "params": {"learning_rate": 0.2}},
    "lightgbm_xt": {"num_boost_round": 80, "early_stopping_rounds": 20, "params": {"learning_rate": 0.2}},
    "catboost": {"num_boost_round": 60, "early_stopping_rounds": 20, "params": {"learning_rate": 0.3, "depth": 4}},
    "sklearn": {"estimator": "", "params": {}},
    "dummy": {},
}
SKLEARN_ESTIMATORS = {
    "binary": ("sklearn.linear_model.LogisticRegression", {"max_iter": 500, "C": 0.01}),
    "multiclass": ("sklearn.linear_model.LogisticRegression", {"max_iter": 500, "C": 0.01}),
    "regression": ("sklearn.linear_model.Ridge", {"alpha": 1.0}),
}


def _split(task: str) -> tuple[FeatureMatrix, np.ndarray, FeatureMatrix, np.ndarray, FitContext]:
    loader, metric = TASK_DATA[task]
    X, y = loader(return_X_y=True)
    X = X.astype(np.float32)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))
    cut = int(len(X) * 0.75)
    tr, va = idx[:cut], idx[cut:]
    names = tuple(f"f{i}" for i in range(X.shape[1]))
    n_classes = 1 if task == "regression" else int(y.max()) + 1
    ctx = FitContext(task=task, n_classes=n_classes, metric=get_metric(metric), seed=7, device="cpu", threads=1)
    return (
        FeatureMatrix(np.ascontiguousarray(X[tr]), names, ()),
        y[tr],
        FeatureMatrix(np.ascontiguousarray(X[va]), names, ()),
        y[va],
        ctx,
    )


def _spec(kind: str, task: str) -> ModelSpec:
    fields = dict(ADAPTER_SPECS[kind])
    if kind == "sklearn":
        fields["estimator"], fields["params"] = SKLEARN_ESTIMATORS[task]
    return ModelSpec(name=f"m_{kind}", kind=kind, **fields)


@pytest.mark.parametrize("task", list(TASK_DATA))
@pytest.mark.parametrize("kind", list(ADAPTER_SPECS))
def test_adapter_conformance(kind: str, task: str, tmp_path: Path) -> None:
    Xtr, ytr, Xva, yva, ctx = _split(task)
    adapter = make_adapter(_spec(kind, task))
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    pred = adapter.predict(fitted, Xva, ctx)

    # shape and dtype convention: (n, C) probabilities for classification, (n, 1) for regression
    n_cols = ctx.n_classes if task != "regression" else 1
    assert pred.shape == (len(yva), n_cols)
    assert pred.dtype == np.float32
    assert np.isfinite(pred).all()
    if task != "regression":
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-5)
        assert (pred >= 0).all()

    # deterministic under a seed
    again = adapter.predict(adapter.fit(Xtr, ytr, Xva, yva, ctx), Xva, ctx)
    np.testing.assert_array_equal(pred, again)

    # save / load round trip gives the same predictions
    path = tmp_path / adapter.file_name
    adapter.save(fitted, path)
    loaded = adapter.load(path, ctx)
    np.testing.assert_allclose(adapter.predict(loaded, Xva, ctx), pred, rtol=1e-6, atol=1e-6)

    # every real model beats the dummy baseline on held-out rows
    if kind != "dummy":
        dummy = make_adapter(ModelSpec(name="base", kind="dummy"))
        base_pred = dummy.predict(dummy.fit(Xtr, ytr, Xva, yva, ctx), Xva, ctx)
        assert ctx.metric.better(ctx.metric.score(yva, pred), ctx.metric.score(yva, base_pred))


def test_gbdt_early_stopping_keeps_best_rounds() -> None:
    Xtr, ytr, Xva, yva, ctx = _split("binary")
    for kind in ("xgboost", "lightgbm", "lightgbm_xt"):
        spec = ModelSpec(
            name="m", kind=kind, num_boost_round=2000, early_stopping_rounds=10, params={"learning_rate": 0.3}
        )
        adapter = make_adapter(spec)
        fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
        assert fitted.best_iteration is not None and 1 <= fitted.best_iteration < 2000
        (name, curve), *others = fitted.history.items()
        assert name in ("logloss", "binary_logloss") and not others  # ROC AUC: "auto" stops on the log loss
        assert len(curve) <= fitted.best_iteration + 10  # stopped 10 rounds after the best
        # the kept model scores the best validation value of the curve (log loss: minimum)
        assert min(curve) == pytest.approx(curve[fitted.best_iteration - 1])


def test_native_categorical_splits_are_used() -> None:
    """A target driven by a 30-level categorical column: both libraries split on it natively."""
    rng = np.random.default_rng(0)
    n = 3000
    cat = rng.integers(0, 30, n)
    effect = rng.normal(size=30)
    y = (effect[cat] + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
    X = np.column_stack([cat, rng.normal(size=n)]).astype(np.float32)
    fm = FeatureMatrix(X, ("city", "noise"), (0,))
    ctx = FitContext(task="binary", n_classes=2, metric=get_metric("roc_auc"), seed=0, device="cpu", threads=1)
    xgb_adapter = make_adapter(ModelSpec(name="x", kind="xgboost", num_boost_round=50, early_stopping_rounds=None))
    booster = xgb_adapter.fit(fm, y, fm, y, ctx).model
    assert booster.feature_types == ["c", "q"]
    lgb_adapter = make_adapter(ModelSpec(name="l", kind="lightgbm", num_boost_round=50, early_stopping_rounds=None))
    lgb_booster = lgb_adapter.fit(fm, y, fm, y, ctx).model
    dumped = json.dumps(lgb_booster.dump_model())
    assert '"decision_type": "=="' in dumped  # a categorical split


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("xgboost", {"device": "cuda"}, r"params\.device is set by the kit; set device in the spec"),
        ("xgboost", {"nthread": 4}, r"params\.nthread .* run\.threads_per_task"),
        ("xgboost", {"n_estimators": 10}, r"params\.n_estimators .* num_boost_round"),
        ("lightgbm", {"device_type": "gpu"}, r"params\.device_type is set by the kit"),
        ("lightgbm", {"num_iterations": 5}, r"params\.num_iterations .* num_boost_round"),
        ("lightgbm", {"seed": 1}, r"params\.seed .* seed on the model or in the spec"),
    ],
)
def test_reserved_params_rejected(kind: str, params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="m", kind=kind, params=params))


@pytest.mark.parametrize(
    ("setting", "n_gpus", "expected"),
    [("auto", 0, "cpu"), ("auto", 1, "cuda"), ("cpu", 1, "cpu"), ("cuda", 2, "cuda")],
)
def test_device_resolution(setting: str, n_gpus: int, expected: str) -> None:
    assert resolve_device(setting, n_gpus=n_gpus) == expected


def test_cuda_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"no CUDA GPU is visible.*use device = 'auto' or 'cpu'"):
        resolve_device("cuda", n_gpus=0)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_gbdt_device_selection(device: str) -> None:
    """The resolved device reaches the libraries' own switches (checked on CPU without training)."""
    ctx = FitContext(task="binary", n_classes=2, metric=get_metric("roc_auc"), seed=0, device=device, threads=3)
    xgb_params = make_adapter(ModelSpec(name="x", kind="xgboost")).params(ctx)
    assert xgb_params["device"] == device and xgb_params["tree_method"] == "hist" and xgb_params["nthread"] == 3
    lgb_params = make_adapter(ModelSpec(name="l", kind="lightgbm")).params(ctx)
    assert lgb_params["device_type"] == "cpu" and lgb_params["num_threads"] == 3  # OpenCL lost to CPU threads
    cat_params = make_adapter(ModelSpec(name="c", kind="catboost")).params(ctx)
    assert cat_params["task_type"] == ("GPU" if device == "cuda" else "CPU") and cat_params["thread_count"] == 3
    # the GPU's memory split between the tasks sharing it (CatBoost reserves 0.95 of it by default); a user's value
    shared = dataclasses.replace(ctx, gpu_share=0.25)
    assert make_adapter(ModelSpec(name="c", kind="catboost")).params(shared).get("gpu_ram_part") == (
        0.2375 if device == "cuda" else None
    )
    mine = ModelSpec(name="c", kind="catboost", params={"gpu_ram_part": 0.5})
    assert make_adapter(mine).params(shared)["gpu_ram_part"] == 0.5


def _boosting_device(kind: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The device a CUDA run's fit of ``kind`` on breast cancer hands its library (the library is stopped there)."""
    Xtr, ytr, Xva, yva, ctx = _split("binary")

    class Seen(Exception):
        pass

    def seen(params: dict) -> None:
        raise Seen(params.get("device") or params["task_type"])

    if kind == "xgboost":
        train = xgboost.train  # the adapter's parameter probes train too (on the CPU, without evals)
        monkeypatch.setattr(
            "xgboost.train", lambda params, *a, **k: seen(params) if "evals" in k else train(params, *a, **k)
        )
    else:
        monkeypatch.setattr("catboost.CatBoost", seen)
    with pytest.raises(Seen) as caught:
        make_adapter(_spec(kind, "binary")).fit(Xtr, ytr, Xva, yva, dataclasses.replace(ctx, device="cuda"))
    return str(caught.value)


@pytest.mark.parametrize(("kind", "gpu"), [("xgboost", "cuda"), ("catboost", "GPU")])
def test_small_boosting_fits_stay_on_the_cpu_in_a_cuda_run(
    kind: str, gpu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _boosting_device(kind, monkeypatch) == ("cpu" if kind == "xgboost" else "CPU")  # 426 rows x 30
    monkeypatch.setattr(base, "GPU_MIN_CELLS", 426 * 30)
    assert _boosting_device(kind, monkeypatch) == gpu


@pytest.mark.parametrize("kind", ["xgboost", "catboost"])
def test_a_boosting_fit_moved_to_the_cpu_says_so(kind: str) -> None:
    Xtr, ytr, Xva, yva, ctx = _split("binary")
    fitted = make_adapter(_spec(kind, "binary")).fit(Xtr, ytr, Xva, yva, dataclasses.replace(ctx, device="cuda"))
    assert fitted.device == "cpu"  # the fold's record says where it ran, not the run's device


@pytest.mark.gpu
@pytest.mark.skipif(cuda_device_count() == 0, reason="needs CUDA")
@pytest.mark.parametrize("kind", ["xgboost", "catboost"])
def test_gbdt_fitted_on_cuda_predicts_on_a_cpu_machine(  # pragma: no cover - needs CUDA
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CUDA run's trees are as good as the CPU's, and the saved model predicts the same on the CPU."""
    monkeypatch.setattr(base, "GPU_MIN_CELLS", 0)  # breast cancer on the GPU
    Xtr, ytr, Xva, yva, cpu = _split("binary")
    cuda = dataclasses.replace(cpu, device="cuda")
    adapter = make_adapter(_spec(kind, "binary"))
    fitted = adapter.fit(Xtr, ytr, Xva, yva, cuda)
    if kind == "xgboost":
        config = json.loads(fitted.model.save_config())
        assert config["learner"]["generic_param"]["device"].startswith("cuda")  # "cuda:0"
    else:
        assert fitted.model.get_all_params()["task_type"] == "GPU"
    pred = adapter.predict(fitted, Xva, cuda)
    assert cuda.metric.score(yva, pred) > 0.97
    adapter.save(fitted, tmp_path / adapter.file_name)
    on_cpu = adapter.predict(adapter.load(tmp_path / adapter.file_name, cpu), Xva, cpu)
    np.testing.assert_allclose(on_cpu, pred, atol=1e-5)


def test_sklearn_unpersistable_estimator_keeps_going(tmp_path: Path) -> None:
    """k-NN keeps a dict of metric params (no safe file format): recorded, and load says why."""
    Xtr, ytr, Xva, yva, ctx = _split("binary")
    spec = ModelSpec(name="knn", kind="sklearn", estimator="sklearn.neighbors.KNeighborsClassifier")
    adapter = make_adapter(spec)
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    adapter.save(fitted, tmp_path / "model.json")  # no exception: recorded as not persisted
    with pytest.raises(
        KitError, match=r"cannot be loaded: KNeighborsClassifier: effective_metric_params_ is a dict.* no safe file"
    ):
        adapter.load(tmp_path / "model.json", ctx)


def test_sklearn_forest_round_trips_through_the_tree_format(tmp_path: Path) -> None:
    """A forest named by class path (kind = 'sklearn') is saved as tree node arrays and predicts identically."""
    Xtr, ytr, Xva, yva, ctx = _split("binary")
    spec = ModelSpec(
        name="rf", kind="sklearn", estimator="sklearn.ensemble.RandomForestClassifier", params={"n_estimators": 20}
    )
    adapter = make_adapter(spec)
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    adapter.save(fitted, tmp_path / "model.json")
    loaded = adapter.load(tmp_path / "model.json", ctx)
    np.testing.assert_array_equal(adapter.predict(loaded, Xva, ctx), adapter.predict(fitted, Xva, ctx))


def test_sklearn_imputes_missing_values() -> None:
    Xtr, ytr, Xva, yva, ctx = _split("binary")
    Xtr.X[::7, 3] = np.nan
    Xva.X[::5, 3] = np.nan
    adapter = make_adapter(_spec("sklearn", "binary"))
    pred = adapter.predict(adapter.fit(Xtr, ytr, Xva, yva, ctx), Xva, ctx)
    assert np.isfinite(pred).all()


def test_sklearn_classifier_missing_a_class_in_training_fold() -> None:
    """A rare class absent from a fold's training rows still gets a (zero) probability column."""
    Xtr, ytr, Xva, yva, ctx = _split("multiclass")
    keep = ytr != 9
    Xtr = type(Xtr)(np.ascontiguousarray(Xtr.X[keep]), Xtr.names, ())
    adapter = make_adapter(_spec("sklearn", "multiclass"))
    pred = adapter.predict(adapter.fit(Xtr, ytr[keep], Xva, yva, ctx), Xva, ctx)
    assert pred.shape == (len(yva), 10) and (pred[:, 9] == 0).all()


@pytest.mark.parametrize(
    ("spec", "uses_gpu"),
    [
        (ModelSpec(name="x", kind="xgboost"), True),
        (ModelSpec(name="l", kind="lightgbm"), False),  # OpenCL LightGBM lost to CPU threads (gpu_check.py)
        (ModelSpec(name="lx", kind="lightgbm_xt"), False),
        (ModelSpec(name="c", kind="catboost"), True),
        (ModelSpec(name="n", kind="mlp"), True),
        (ModelSpec(name="s", kind="sklearn", estimator="sklearn.linear_model.Ridge"), False),
        (ModelSpec(name="d", kind="dummy"), False),
    ],
)
def test_adapters_declare_whether_they_use_a_gpu(spec: ModelSpec, uses_gpu: bool) -> None:
    """A Ray task asks for a GPU only for the families that train on one (scikit-learn and the baseline do not);
    only the baseline predicts without reading features (the runner then skips encoding its folds)."""
    adapter = make_adapter(spec)
    assert adapter.uses_gpu is uses_gpu
    assert adapter.reads_features is (spec.kind != "dummy")


def test_sklearn_estimator_must_be_an_estimator_class() -> None:
    spec = ModelSpec(name="p", kind="sklearn", estimator="sklearn.datasets._base.Path")
    with pytest.raises(ConfigError, match=r"'sklearn.datasets._base.Path' is not a scikit-learn estimator"):
        make_adapter(spec).fit(*_split("regression"))


def test_xgboost_builds_its_matrices_on_the_task_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DMatrix built without nthread uses every core: in a pool of one-thread workers that oversubscribes the CPU.
    The training rows are a QuantileDMatrix (no copy of their values beside the histogram index: 8 bytes a cell)."""
    import xgboost as xgb

    seen: list[tuple[str, object]] = []
    for name in ("DMatrix", "QuantileDMatrix"):
        real = getattr(xgb, name)

        def recording(*args: object, _real: type = real, _name: str = name, **kwargs: object) -> object:
            seen.append((_name, kwargs.get("nthread")))
            return _real(*args, **kwargs)

        monkeypatch.setattr(xgb, name, recording)
    Xtr, ytr, Xva, yva, ctx = _split("binary")
    adapter = make_adapter(ModelSpec(name="x", kind="xgboost", num_boost_round=5))
    adapter.check(ctx)  # the parameters' probe (its own small matrix, once per parameter set) before the count
    seen.clear()
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    adapter.predict(fitted, Xva, ctx)  # the validation rows' DMatrix is reused
    adapter.predict(fitted, Xtr, ctx)  # other rows get their own
    assert seen == [("QuantileDMatrix", ctx.threads), ("DMatrix", ctx.threads), ("DMatrix", ctx.threads)]


@pytest.mark.parametrize(
    ("params", "weighted"),
    [
        ({}, False),
        ({"max_bin": 31, "max_cat_to_onehot": 1}, True),
        ({"objective": "reg:logistic", "colsample_bynode": 0.5}, False),
    ],
)
def test_xgboost_on_quantised_training_rows_is_the_booster_of_a_plain_dmatrix(
    params: dict[str, object], weighted: bool
) -> None:
    """The QuantileDMatrix of the training rows saves memory only: the booster (missing values, categorical columns,
    sample weights, subsampling, early stopping, another max_bin) is byte for byte the one ``xgboost.train`` makes
    from a plain DMatrix of the same rows with the same params, and so are the predictions."""
    import xgboost as xgb

    from kaggle_kit.models.xgboost_adapter import quantile_bins

    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 6)).astype(np.float32)
    X[:, 5] = rng.integers(0, 7, 600)
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (np.nan_to_num(X[:, 0]) + np.sin(np.nan_to_num(X[:, 5])) + rng.logistic(size=600) > 0).astype(np.int64)
    names, cats = tuple(f"f{i}" for i in range(6)), (5,)
    train, valid = FeatureMatrix(X[:450], names, cats), FeatureMatrix(X[450:], names, cats)
    weight = rng.random(450) if weighted else None
    ctx = FitContext(task="binary", n_classes=2, metric=get_metric("roc_auc"), seed=7, device="cpu", threads=1)
    ctx = dataclasses.replace(ctx, sample_weight=weight)
    spec = ModelSpec(name="x", kind="xgboost", num_boost_round=60, early_stopping_rounds=5, params=params)
    adapter = make_adapter(spec)
    fitted = adapter.fit(train, y[:450], valid, y[450:], ctx)
    full = adapter.params(ctx)
    assert quantile_bins(full) == full.get("max_bin", 256)  # the quantised path was taken

    def plain(rows: FeatureMatrix, label: np.ndarray | None = None, w: np.ndarray | None = None) -> xgb.DMatrix:
        types = ["c" if i in cats else "q" for i in range(6)]
        return xgb.DMatrix(rows.X, label=label, weight=w, feature_names=list(names), feature_types=types,
                           enable_categorical=True, missing=np.nan, nthread=1)  # fmt: skip

    dvalid = plain(valid, y[450:])
    booster = xgb.train(
        full, plain(train, y[:450], weight), 60, evals=[(dvalid, "valid")], early_stopping_rounds=5, verbose_eval=False
    )
    booster = booster[: booster.best_iteration + 1]
    assert bytes(fitted.model.save_raw("ubj")) == bytes(booster.save_raw("ubj"))
    assert np.array_equal(adapter.predict(fitted, valid, ctx)[:, 1], booster.predict(dvalid))


@pytest.mark.parametrize(
    ("params", "bins"),
    [
        ({"tree_method": "hist", "device": "cpu"}, 256),
        ({"tree_method": "hist", "device": "cpu", "max_bin": 63}, 63),
        ({"tree_method": "hist", "device": "cpu", "booster": "gbtree"}, 256),
        ({"tree_method": "approx", "device": "cpu"}, None),  # approx and exact cannot take a QuantileDMatrix
        ({"tree_method": "exact", "device": "cpu"}, None),
        ({"tree_method": "hist", "device": "cpu", "booster": "gblinear"}, None),
        ({"tree_method": "hist", "device": "cpu", "booster": "dart"}, None),
        ({"tree_method": "hist", "device": "cuda"}, None),
    ],
)
def test_xgboost_quantises_the_training_rows_of_cpu_hist_trees_only(
    params: dict[str, object], bins: int | None
) -> None:
    from kaggle_kit.models.xgboost_adapter import quantile_bins

    assert quantile_bins(params) == bins


def test_each_family_names_the_library_its_fit_imports_and_wrappers_pass_it_on() -> None:
    """The runner imports ``library`` before timing a fit (fold_fit.fit_fold); the name must be the module the fit
    imports, else the import lands in ``fit_seconds`` again. Per-target and distribution wrappers pass it on."""
    import importlib

    from kaggle_kit.config import ModelSpec
    from kaggle_kit.models import make_adapter

    expected = {
        "lightgbm": "lightgbm",
        "lightgbm_xt": "lightgbm",
        "xgboost": "xgboost",
        "catboost": "catboost",
        "linear": "sklearn.linear_model",
        "random_forest": "sklearn.ensemble",
        "extra_trees": "sklearn.ensemble",
        "realmlp": "kaggle_kit.models.nn.net",
        "cnn1d": "kaggle_kit.models.nn.net",
        "dummy": None,
    }
    for kind, library in expected.items():
        assert make_adapter(ModelSpec(name="m", kind=kind), "binary").library == library, kind
        if library is not None:
            importlib.import_module(library)
    lr = ModelSpec(name="lr", kind="sklearn", estimator="sklearn.linear_model.LogisticRegression")
    assert make_adapter(lr, "binary").library == "sklearn.linear_model"
    assert make_adapter(lr, "multilabel").library == "sklearn.linear_model"  # the per-target wrapper
    for wrapped in ("multilabel", "distribution"):  # PerTargetAdapter, DistributionAdapter
        assert make_adapter(ModelSpec(name="m", kind="xgboost"), wrapped).library == "xgboost"
