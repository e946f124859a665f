"""The net kinds under the adapter conformance suite, plus their params, inputs, device plan and lazy import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

from kaggle_kit.config import ModelSpec
from kaggle_kit.errors import ConfigError, KitError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import ADAPTERS, FitContext, make_adapter
from kaggle_kit.models.nn.device import plan_device
from kaggle_kit.models.nn.inputs import ImageInputs, SequenceInputs, TableInputs

torch = pytest.importorskip("torch")

TASK_DATA = {
    "binary": (load_breast_cancer, "roc_auc"),
    "multiclass": (load_digits, "log_loss"),
    "regression": (load_diabetes, "rmse"),
}
FAST = {"epochs": 8, "patience": 4, "batch_size": 64, "lr": 3e-3}
#: per kind x task: the params that make the task's features fit the kind's input layout
SHAPES = {
    ("mlp", "binary"): {"hidden": [32]},
    ("mlp", "multiclass"): {"hidden": [64]},
    ("mlp", "regression"): {"hidden": [32]},
    ("cnn", "binary"): {"image_shape": [5, 6, 1], "channels": [8, 16]},  # 30 features as a 5 x 6 "image"
    ("cnn", "multiclass"): {"image_shape": [8, 8, 1], "channels": [16, 32]},
    ("cnn", "regression"): {"image_shape": [2, 5, 1], "channels": [8, 16]},
    ("rnn", "binary"): {"sequence_shape": [30, 1], "hidden": 16, "layers": 1},
    ("rnn", "multiclass"): {"sequence_shape": [8, 8], "hidden": 32, "layers": 1},  # an image read row by row
    ("rnn", "regression"): {"sequence_shape": [10, 1], "hidden": 16, "layers": 1},
    ("cnn1d", "binary"): {"sequence_shape": [30, 1], "channels": [8, 16]},
    ("cnn1d", "multiclass"): {"sequence_shape": [8, 8], "channels": [16, 32]},
    ("cnn1d", "regression"): {"sequence_shape": [10, 1], "channels": [8, 16]},
}


def _split(task: str) -> tuple[FeatureMatrix, np.ndarray, FeatureMatrix, np.ndarray, FitContext]:
    """The conformance suite's split (as tests/test_models.py): 75 % train, 25 % valid, seed 0."""
    loader, metric = TASK_DATA[task]
    X, y = loader(return_X_y=True)
    X = X.astype(np.float32)
    idx = np.random.default_rng(0).permutation(len(X))
    tr, va = idx[: int(len(X) * 0.75)], idx[int(len(X) * 0.75) :]
    names = tuple(f"f{i}" for i in range(X.shape[1]))
    n_classes = 1 if task == "regression" else int(y.max()) + 1
    ctx = FitContext(task=task, n_classes=n_classes, metric=get_metric(metric), seed=7, device="cpu", threads=1)
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), names, ())  # noqa: E731
    return fm(tr), y[tr], fm(va), y[va], ctx


def _net_spec(kind: str, task: str, **extra: object) -> ModelSpec:
    return ModelSpec(name=f"m_{kind}", kind=kind, params={**FAST, **SHAPES[(kind, task)], **extra})


@pytest.mark.parametrize(("kind", "task"), list(SHAPES))
def test_net_adapter_conformance(kind: str, task: str, tmp_path: Path) -> None:
    Xtr, ytr, Xva, yva, ctx = _split(task)
    adapter = make_adapter(_net_spec(kind, task))
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    pred = adapter.predict(fitted, Xva, ctx)

    n_cols = ctx.n_classes if task != "regression" else 1
    assert pred.shape == (len(yva), n_cols) and pred.dtype == np.float32 and np.isfinite(pred).all()
    if task != "regression":
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-5)
        assert (pred >= 0).all()

    # the learning curve: one value per epoch run, the kept epoch among them
    hist = fitted.history
    assert set(hist) == {"train_loss", "valid_loss", f"valid_{ctx.metric.name}", "lr"}
    assert len({len(v) for v in hist.values()}) == 1
    assert 1 <= fitted.best_iteration <= len(hist["train_loss"]) <= FAST["epochs"]

    # deterministic under a seed (CPU)
    again = adapter.predict(adapter.fit(Xtr, ytr, Xva, yva, ctx), Xva, ctx)
    np.testing.assert_array_equal(pred, again)

    # save / load: state_dict + JSON config, same predictions
    path = tmp_path / adapter.file_name
    adapter.save(fitted, path)
    config = json.loads(path.with_suffix(".json").read_text())
    assert config["kind"] == kind and config["params"]["epochs"] == FAST["epochs"] and "mean" in config["inputs"]
    loaded = adapter.load(path, ctx)
    assert loaded.best_iteration == fitted.best_iteration
    np.testing.assert_allclose(adapter.predict(loaded, Xva, ctx), pred, rtol=1e-5, atol=1e-6)

    dummy = make_adapter(ModelSpec(name="base", kind="dummy"))
    base_pred = dummy.predict(dummy.fit(Xtr, ytr, Xva, yva, ctx), Xva, ctx)
    assert ctx.metric.better(ctx.metric.score(yva, pred), ctx.metric.score(yva, base_pred))


def test_predicting_zero_rows_gives_an_empty_matrix() -> None:
    Xtr, ytr, Xva, yva, ctx = _split("multiclass")
    adapter = make_adapter(_net_spec("mlp", "multiclass", epochs=1))
    empty = FeatureMatrix(np.zeros((0, Xva.X.shape[1]), np.float32), Xva.names, ())
    pred = adapter.predict(adapter.fit(Xtr, ytr, Xva, yva, ctx), empty, ctx)
    assert pred.shape == (0, 10) and pred.dtype == np.float32


def test_columns_param_lets_a_net_read_its_own_columns(tmp_path: Path) -> None:
    """Sequence / pixel columns beside aggregate columns for the trees: the net picks its own by name."""
    Xtr, ytr, Xva, yva, ctx = _split("multiclass")

    def with_aggregates(fm: FeatureMatrix) -> FeatureMatrix:
        extra = np.column_stack([fm.X.mean(1), fm.X.std(1)]).astype(np.float32)
        return FeatureMatrix(np.hstack([extra, fm.X]), ("mean", "std", *fm.names), ())

    Xtr2, Xva2 = with_aggregates(Xtr), with_aggregates(Xva)
    adapter = make_adapter(_net_spec("cnn", "multiclass", columns=r"f\d+", epochs=2))
    fitted = adapter.fit(Xtr2, ytr, Xva2, yva, ctx)
    assert fitted.model.config["columns"] == list(Xtr.names)
    pred = adapter.predict(fitted, Xva2, ctx)
    adapter.save(fitted, tmp_path / "model.pt")
    np.testing.assert_allclose(adapter.predict(adapter.load(tmp_path / "model.pt", ctx), Xva2, ctx), pred, atol=1e-6)
    # the same net on the bare pixel columns (no aggregates) gives the same predictions: only its columns are read
    np.testing.assert_allclose(adapter.predict(fitted, Xva, ctx), pred, atol=1e-6)

    listed = make_adapter(_net_spec("mlp", "multiclass", columns=["mean", "std"], epochs=1))
    fitted_listed = listed.fit(Xtr2, ytr, Xva2, yva, ctx)
    assert fitted_listed.model.config["inputs"]["n_features"] == 2
    with pytest.raises(ConfigError, match=r"the net was fit on column 'mean', which these rows do not have"):
        listed.predict(fitted_listed, Xva, ctx)  # new rows without the net's columns: named, first one first
    with pytest.raises(ConfigError, match=r"params\.columns names 'stdev', which is not a feature column\. Did you"):
        make_adapter(_net_spec("mlp", "multiclass", columns=["stdev"])).fit(Xtr2, ytr, Xva2, yva, ctx)
    with pytest.raises(
        ConfigError, match=r"params\.columns 'pixel.*' matches none of the feature columns \['mean', 'std', 'f0'"
    ):
        make_adapter(_net_spec("mlp", "multiclass", columns=r"pixel\d+")).fit(Xtr2, ytr, Xva2, yva, ctx)


def test_cnn_with_augmentation_and_tta_beats_gbdt_level_on_digits() -> None:
    """The 8x8 digits CNN with shifts, rotations and test-time augmentation: >= 97 % on held-out rows."""
    Xtr, ytr, Xva, yva, _ = _split("multiclass")
    ctx = FitContext("multiclass", 10, get_metric("accuracy"), seed=3, device="cpu", threads=1)
    params = {"image_shape": [8, 8, 1], "channels": [16, 32], "epochs": 15, "patience": 0, "lr": 3e-3}
    params |= {"augment_shift": 1, "augment_rotate": 10.0, "tta": True}
    adapter = make_adapter(ModelSpec(name="cnn", kind="cnn", params=params))
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    assert fitted.best_iteration == 15  # patience 0: no early stopping, the last epoch is kept
    assert ctx.metric.score(yva, adapter.predict(fitted, Xva, ctx)) >= 0.97


def test_mlp_categorical_embeddings_learn_a_categorical_effect() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    cat = rng.integers(0, 20, n).astype(np.float32)
    cat[::50] = np.nan  # missing -> the "unknown" embedding row
    effect = rng.normal(size=20)
    y = (np.nan_to_num(effect[np.nan_to_num(cat).astype(int)]) + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
    X = np.column_stack([cat, rng.normal(size=n)]).astype(np.float32)
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), ("city", "noise"), (0,))  # noqa: E731
    tr, va = np.arange(1500), np.arange(1500, n)
    ctx = FitContext("binary", 2, get_metric("roc_auc"), seed=0, device="cpu", threads=1)
    adapter = make_adapter(ModelSpec(name="m", kind="mlp", params={"hidden": [16], "epochs": 10, "lr": 1e-2}))
    fitted = adapter.fit(fm(tr), y[tr], fm(va), y[va], ctx)
    assert list(fitted.model.module.embeddings[0].weight.shape) == [21, 11]  # 20 levels + unknown: (21 + 1) // 2
    assert ctx.metric.score(y[va], adapter.predict(fitted, fm(va), ctx)) > 0.85


def test_self_normalizing_mlp_uses_selu_and_alpha_dropout() -> None:
    from torch import nn

    Xtr, ytr, Xva, yva, ctx = _split("binary")
    spec = ModelSpec(name="snn", kind="mlp", params={"self_normalizing": True, "hidden": [32, 32], "epochs": 5})
    module = make_adapter(spec).fit(Xtr, ytr, Xva, yva, ctx).model.module
    kinds = {type(m) for m in module.modules()}
    assert nn.SELU in kinds and nn.AlphaDropout in kinds and nn.BatchNorm1d not in kinds


def test_separable_cnn_and_lstm_variants_build_and_fit() -> None:
    Xtr, ytr, Xva, yva, ctx = _split("multiclass")
    for kind, extra in (("cnn", {"separable": True}), ("rnn", {"cell": "lstm", "pooling": "last"})):
        adapter = make_adapter(_net_spec(kind, "multiclass", epochs=2, **extra))
        assert adapter.predict(adapter.fit(Xtr, ytr, Xva, yva, ctx), Xva, ctx).shape == (len(yva), 10)


# ------------------------------------------------------------------------------------------------ params
@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("mlp", {"hiden": [8]}, r"unknown param 'hiden' for kind 'mlp'; allowed: .*'hidden'.* Did you mean 'hidden'\?"),
        ("cnn", {}, r"params\.image_shape is required for kind 'cnn': \[height, width, channels\]"),
        ("cnn", {"image_shape": [8, 8]}, r"params\.image_shape must be 3 integers >= 1: \[height, width, channels\]"),
        ("cnn", {"image_shape": [8, 8, 1], "kernel_size": 4}, r"params\.kernel_size must be odd"),
        ("rnn", {"sequence_shape": [40, 1], "cell": "gur"}, r"one of 'gru' or 'lstm'\. Did you mean 'gru'\?"),
        ("mlp", {"lr": 0}, r"params\.lr must be a number > 0; got 0"),
        ("mlp", {"epochs": 2.5}, r"params\.epochs must be an integer in \[1, 100000\]"),
        ("mlp", {"dropout": 1.0}, r"params\.dropout must be a number >= 0 and < 1"),
        ("mlp", {"self_normalizing": True, "batch_norm": True}, r"self_normalizing .* params\.batch_norm"),
        ("mlp", {"optimizer": "lion"}, r"params\.optimizer must be one of 'adam', 'adamw' or 'sgd'"),
    ],
)  # fmt: skip
def test_bad_net_params_rejected(kind: str, params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="m", kind=kind, params=params))


@pytest.mark.parametrize("field", [{"num_boost_round": 50}, {"early_stopping_rounds": 0}])
def test_boosting_round_fields_point_to_epochs_and_patience(field: dict) -> None:
    with pytest.raises(
        ConfigError, match=r"counts boosting rounds; for kind 'mlp' set params\.epochs .*params\.patience"
    ):
        make_adapter(ModelSpec(name="m", kind="mlp", **field))


def test_net_kinds_registered() -> None:
    assert {"mlp", "cnn", "rnn", "cnn1d"} <= set(ADAPTERS)


def test_import_and_tree_fit_do_not_import_torch() -> None:
    """torch is imported when a net is fitted, never by `import kaggle_kit`, a spec with nets, or a tree fit."""
    code = """
import sys, numpy as np
import kaggle_kit
from kaggle_kit.config import ModelSpec
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter
make_adapter(ModelSpec(name="c", kind="cnn", params={"image_shape": [2, 2, 1]}))
X = FeatureMatrix(np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32), ("a", "b", "c", "d"), ())
y = np.arange(40) % 2
ctx = FitContext("binary", 2, get_metric("roc_auc"), 0, "cpu", 1)
make_adapter(ModelSpec(name="x", kind="xgboost", num_boost_round=3)).fit(X, y, X, y, ctx)
assert "torch" not in sys.modules, "torch was imported"
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ------------------------------------------------------------------------------------------------ inputs
def test_image_pixel_orders_reshape_as_documented() -> None:
    h, w, c = 2, 3, 2
    img = np.arange(h * w * c, dtype=np.float32).reshape(h, w, c)  # value = its position in HWC order
    hwc = FeatureMatrix(img.reshape(1, -1), tuple(f"p{i}" for i in range(12)), ())
    chw = FeatureMatrix(img.transpose(2, 0, 1).reshape(1, -1).copy(), hwc.names, ())
    for fm, order in ((hwc, "hwc"), (chw, "chw")):
        enc = ImageInputs("m", (h, w, c), order)
        state = {**enc.fit(fm), "mean": [0.0, 0.0], "std": [1.0, 1.0]}
        (x,) = enc.arrays(fm, state)
        assert x.shape == (1, c, h, w)
        np.testing.assert_array_equal(x[0], img.transpose(2, 0, 1))


def test_normalisation_uses_training_rows_only() -> None:
    train = FeatureMatrix(np.array([[0.0, 1.0], [2.0, np.nan], [4.0, 3.0]], np.float32), ("a", "b"), ())
    other = FeatureMatrix(np.array([[100.0, np.nan]], np.float32), ("a", "b"), ())
    enc = TableInputs("m")
    state = enc.fit(train)
    np.testing.assert_allclose(state["mean"], [2.0, 2.0])
    x_num, x_cat = enc.arrays(other, state)
    np.testing.assert_allclose(x_num, [[98.0 / np.sqrt(8.0 / 3.0), 0.0]], rtol=1e-6)  # missing -> training mean
    assert x_cat.shape == (1, 0)


def test_sequence_lengths_from_trailing_missing_steps() -> None:
    seq = np.array([[1, 2, 3, 4], [1, 2, np.nan, np.nan], [np.nan] * 4], np.float32)  # T=4, F=1, 'tf'
    fm = FeatureMatrix(seq, tuple(f"t{i}" for i in range(4)), ())
    enc = SequenceInputs("m", (4, 1), "tf")
    x, lengths = enc.arrays(fm, enc.fit(fm))
    assert x.shape == (3, 4, 1) and lengths.tolist() == [4, 2, 1]
    assert np.isfinite(x).all()


def test_wrong_width_is_a_clear_error() -> None:
    fm = FeatureMatrix(np.zeros((3, 65), np.float32), tuple(f"p{i}" for i in range(65)), ())
    with pytest.raises(ConfigError, match=r"params\.image_shape \[8, 8, 1\] holds 64 pixels but the data has 65"):
        ImageInputs("cnn", (8, 8, 1)).fit(fm)


def test_load_refuses_missing_config(tmp_path: Path) -> None:
    from kaggle_kit.models.nn.net import load_net

    (tmp_path / "model.pt").write_bytes(b"")
    with pytest.raises(KitError, match=r"needs both model\.pt and model\.json"):
        load_net(tmp_path / "model.pt")


# ------------------------------------------------------------------------------------------------ device
@pytest.mark.parametrize(
    ("device", "amp", "bf16", "image", "expected"),
    [
        ("cpu", "auto", None, True, (None, False, False, False)),
        ("cpu", "fp16", None, True, (None, False, False, False)),  # never AMP on CPU
        ("cuda", "auto", True, True, ("bfloat16", False, True, True)),
        ("cuda", "auto", False, True, ("float16", True, True, True)),  # fp16 needs the gradient scaler
        ("cuda", "off", True, False, (None, False, False, True)),  # channels-last only for images
        ("cuda", "fp16", True, True, ("float16", True, True, True)),
    ],
)
def test_device_plan(device: str, amp: str, bf16: bool | None, image: bool, expected: tuple) -> None:
    plan = plan_device(device, amp=amp, image_input=image, bf16_supported=bf16)  # type: ignore[arg-type]
    assert (plan.amp_dtype, plan.grad_scaler, plan.channels_last, plan.pin_memory) == expected
    assert plan.autocast == (expected[0] is not None)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cnn_on_cuda_matches_cpu_quality() -> None:  # pragma: no cover - needs CUDA
    Xtr, ytr, Xva, yva, _ = _split("multiclass")
    ctx = FitContext("multiclass", 10, get_metric("accuracy"), seed=0, device="cuda", threads=1)
    adapter = make_adapter(_net_spec("cnn", "multiclass"))
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    assert ctx.metric.score(yva, adapter.predict(fitted, Xva, ctx)) > 0.9


# ------------------------------------------------------------------------------------------------ image files
def test_image_files_become_hwc_pixel_columns(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    from kaggle_kit.models.nn.images import image_columns

    rng = np.random.default_rng(0)
    arrays = {i: rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8) for i in (7, 8, 9)}  # H=4, W=5, RGB
    for i, arr in arrays.items():
        pil.fromarray(arr).save(tmp_path / f"img_{i}.png")
    frame = image_columns([7, 8, 9], tmp_path, pattern="img_{id}.png", channels=3)
    assert frame.columns[:3] == ["id", "pixel0", "pixel1"] and frame.width == 1 + 4 * 5 * 3
    fm = FeatureMatrix(frame.drop("id").to_numpy().astype(np.float32), tuple(frame.columns[1:]), ())
    enc = ImageInputs("cnn", (4, 5, 3), "hwc")
    (x,) = enc.arrays(fm, {**enc.fit(fm), "mean": [0.0] * 3, "std": [1.0] * 3})
    np.testing.assert_array_equal(x[1], arrays[8].transpose(2, 0, 1))  # the cnn sees the image as it was saved

    ids = pl.Series("image_id", [7])
    grey = image_columns(ids, tmp_path, pattern="img_{id}.png", channels=1, size=(2, 2))
    assert grey.columns[0] == "image_id" and grey.width == 1 + 2 * 2 and grey["image_id"].to_list() == [7]


def test_image_files_errors_name_the_file(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    from kaggle_kit.errors import DataError
    from kaggle_kit.models.nn.images import load_images

    pil.new("RGB", (4, 4)).save(tmp_path / "a.png")
    pil.new("RGB", (5, 4)).save(tmp_path / "b.png")
    with pytest.raises(DataError, match=r"'.*b\.png' is 5 x 4 but '.*a\.png' is 4 x 4; pass size="):
        load_images([tmp_path / "a.png", tmp_path / "b.png"])
    with pytest.raises(DataError, match=r"'.*missing\.png' does not exist"):
        load_images([tmp_path / "missing.png"])
    assert load_images([tmp_path / "a.png", tmp_path / "b.png"], size=(3, 3)).shape == (2, 3, 3, 3)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_a_nets_input_normalisation_is_fitted_on_the_training_rows_only(kind: str) -> None:
    """A leak test like the feature pipelines': the standardisation a net stores (and applies to its validation and
    test rows) equals numpy's on the fold's training rows, and differs from the statistics of all rows."""
    Xtr, ytr, Xva, yva, ctx = _split("multiclass")
    Xva = FeatureMatrix(Xva.X + 5.0, Xva.names, ())  # shifted validation rows: a leak would move the statistics
    fitted = make_adapter(_net_spec(kind, "multiclass", epochs=1)).fit(Xtr, ytr, Xva, yva, ctx)
    inputs = fitted.model.config["inputs"]
    if kind == "mlp":  # per column
        expected, everything = Xtr.X.astype(np.float64).mean(axis=0), np.vstack([Xtr.X, Xva.X]).mean(axis=0)
    else:  # per channel: the 8x8 digits are one grey channel
        expected, everything = np.array([Xtr.X.mean()]), np.array([np.vstack([Xtr.X, Xva.X]).mean()])
    np.testing.assert_allclose(inputs["mean"], expected, rtol=1e-6, atol=1e-6)
    assert not np.allclose(inputs["mean"], everything, atol=1e-3)
