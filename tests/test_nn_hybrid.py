"""Kind ``hybrid``: an image + table net (a CNN branch for the pixel columns, a dense branch with categorical
embeddings for the row's other columns, joined before the head) under the runner's folds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_digits

import kaggle_kit
from kaggle_kit.config import ModelSpec, build_spec
from kaggle_kit.errors import ConfigError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import ADAPTERS, FitContext, make_adapter
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

torch = pytest.importorskip("torch")

COMMON = {"epochs": 10, "patience": 0, "batch_size": 64, "lr": 3e-3}
HYBRID = {"image_shape": [8, 8, 1], "image_channels": [8, 16], "table_hidden": [16], "head_hidden": [32]}
N_TRAIN = 600


def _planted(n: int | None = None) -> pl.DataFrame:
    """Digits as 64 pixel columns plus a categorical ``shop`` (4 levels) and a numeric ``noise``: the label is the
    parity of digit + shop code, so neither the image nor the table alone says anything about it."""
    d = load_digits()
    rng = np.random.default_rng(0)
    code = rng.integers(0, 4, len(d.target))
    frame = pl.DataFrame({f"pixel{k}": d.data[:, k] for k in range(64)}).with_columns(
        pl.Series("id", np.arange(len(d.target))),
        pl.Series("shop", np.array(["a", "b", "c", "d"])[code]),
        pl.Series("noise", rng.normal(size=len(d.target))),
        pl.Series("label", (d.target + code) % 2),
    )
    return frame if n is None else frame[:n]


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float], pl.DataFrame]:
    root = tmp_path_factory.mktemp("hybrid")
    frame = _planted()
    train, test = frame[:N_TRAIN], frame[N_TRAIN : N_TRAIN + 100].drop("label")
    models = [
        {"name": "hybrid", "kind": "hybrid", "params": {**COMMON, **HYBRID}},
        {"name": "cnn", "kind": "cnn", "params": {**COMMON, "image_shape": [8, 8, 1], "channels": [8, 16],
                                                 "columns": r"pixel\d+"}},
        {"name": "mlp", "kind": "mlp", "params": {**COMMON, "hidden": [32], "columns": ["shop", "noise"]}},
    ]  # fmt: skip
    spec = build_spec(
        {
            "name": "hybrid-planted",
            "task": "binary",
            "metric": "accuracy",
            "seed": 0,
            "data": {"train": "train.csv", "id": "id", "target": "label"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": models,
        },
        base_dir=root,
    )
    result = run(spec, runs_root=root / "runs", train=train, test=test, progress=None, record_history=False)
    assert all(m.status == "ok" for m in result.models), [(m.name, m.error) for m in result.models]
    return result.run_dir, {m.name: m.cv for m in result.models}, test


def test_hybrid_beats_the_image_only_and_the_table_only_nets_on_the_same_folds(planted_run) -> None:
    _, cv, _ = planted_run
    assert cv["cnn"] < 0.62 and cv["mlp"] < 0.62, cv  # each half alone is near chance (0.5)
    assert cv["hybrid"] > 0.8, cv
    assert cv["hybrid"] > max(cv["cnn"], cv["mlp"]) + 0.25, cv


def test_the_stored_hybrid_reproduces_its_test_predictions(planted_run) -> None:
    run_dir, _, test = planted_run
    got = kaggle_kit.predict(run_dir, test, model="hybrid", threads=1)
    want = RunStore(run_dir).read_predictions("hybrid", "test")
    assert got["id"].to_list() == want["id"].to_list()
    np.testing.assert_allclose(got.drop("id").to_numpy(), want.drop("id").to_numpy(), atol=1e-6, rtol=0)
    (saved,) = run_dir.glob("models/hybrid/*/folds/r0_f0/model.json")
    inputs = json.loads(saved.read_text())["inputs"]
    assert inputs["image_columns"] == [f"pixel{k}" for k in range(64)] and inputs["table_columns"] == ["shop", "noise"]


def _matrix(frame: pl.DataFrame, order: list[str]) -> FeatureMatrix:
    """``frame``'s columns in ``order`` (``shop`` as category codes), as the runner hands them to a net."""
    cols = [frame["shop"].to_physical().cast(pl.Float32) if c == "shop" else frame[c].cast(pl.Float32) for c in order]
    X = np.column_stack([c.to_numpy() for c in cols]).astype(np.float32)
    return FeatureMatrix(X, tuple(order), (order.index("shop"),))


def _split_data() -> tuple[FeatureMatrix, np.ndarray, FeatureMatrix, np.ndarray, FitContext]:
    frame = _planted(400).with_columns(pl.col("shop").cast(pl.Categorical))
    pixels = [f"pixel{k}" for k in range(64)]
    order = ["noise", *pixels[:30], "shop", *pixels[30:]]  # the table columns among the pixels
    fm = _matrix(frame, order)
    y = frame["label"].to_numpy()
    rows = lambda idx: FeatureMatrix(fm.X[idx], fm.names, fm.categorical)  # noqa: E731
    ctx = FitContext("binary", 2, get_metric("accuracy"), seed=1, device="cpu", threads=1)
    return rows(np.arange(300)), y[:300], rows(np.arange(300, 400)), y[300:], ctx


def test_the_image_branch_sees_only_the_pixels_and_the_dense_branch_only_the_others() -> None:
    Xtr, ytr, Xva, yva, ctx = _split_data()
    adapter = make_adapter(ModelSpec(name="hy", kind="hybrid", params={**COMMON, **HYBRID, "epochs": 2}))
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    net = fitted.model
    seen: dict[str, tuple] = {}
    net.module.image.register_forward_hook(lambda m, args, out: seen.__setitem__("image", args))
    net.module.table.register_forward_hook(lambda m, args, out: seen.__setitem__("table", args))
    adapter.predict(fitted, Xva, ctx)

    names = list(Xva.names)
    pix = [names.index(f"pixel{k}") for k in range(64)]
    image_state, table_state = net.config["inputs"]["image"], net.config["inputs"]["table"]
    (images,) = seen["image"]
    expected = (Xva.X[:, pix].reshape(-1, 1, 8, 8) - image_state["mean"][0]) / image_state["std"][0]
    np.testing.assert_allclose(images.numpy(), expected, rtol=1e-5, atol=1e-5)  # the pixels, in hwc order
    x_num, x_cat = seen["table"]
    noise = Xva.X[:, names.index("noise")]
    np.testing.assert_allclose(
        x_num.numpy()[:, 0], (noise - table_state["mean"][0]) / table_state["std"][0], rtol=1e-5, atol=1e-5
    )
    assert x_num.shape[1] == 1 and x_cat.shape[1] == 1  # nothing else: no pixel in the dense branch
    np.testing.assert_array_equal(x_cat.numpy()[:, 0], Xva.X[:, names.index("shop")].astype(np.int64) + 1)
    assert table_state["cardinality"] == [5]  # 4 shops + missing / unseen: shop is embedded, not standardised
    assert net.config["inputs"]["table_columns"] == ["noise", "shop"]


def test_save_and_load_give_identical_predictions_with_augmentation_and_tta(tmp_path: Path) -> None:
    Xtr, ytr, Xva, yva, ctx = _split_data()
    params = {**COMMON, **HYBRID, "epochs": 3, "augment_shift": 1, "augment_rotate": 10.0, "tta": True}
    adapter = make_adapter(ModelSpec(name="hy", kind="hybrid", params=params))
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    pred = adapter.predict(fitted, Xva, ctx)
    path = tmp_path / adapter.file_name
    adapter.save(fitted, path)
    assert set(torch.load(path, weights_only=True)) == set(fitted.model.module.state_dict())
    loaded = adapter.load(path, ctx)
    np.testing.assert_array_equal(adapter.predict(loaded, Xva, ctx), pred)
    assert pred.shape == (len(yva), 2) and np.isfinite(pred).all()
    # deterministic under the seed: the same fit again gives the same predictions
    np.testing.assert_array_equal(adapter.predict(adapter.fit(Xtr, ytr, Xva, yva, ctx), Xva, ctx), pred)


def _fit(params: dict, X: FeatureMatrix) -> None:
    y = np.arange(len(X.X)) % 2
    ctx = FitContext("binary", 2, get_metric("accuracy"), seed=0, device="cpu", threads=1)
    make_adapter(ModelSpec(name="hy", kind="hybrid", params={**COMMON, "epochs": 1, **params})).fit(X, y, X, y, ctx)


def test_a_hybrid_without_image_columns_is_a_clear_error() -> None:
    X = FeatureMatrix(np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32), ("a", "b", "c"), ())
    with pytest.raises(ConfigError, match=r"model 'hy': kind 'hybrid' reads an image .* none of the net's columns"):
        _fit(HYBRID, X)
    with pytest.raises(ConfigError, match=r"\[data\.images\] .* params\.image_columns .* kind 'mlp'"):
        _fit(HYBRID, X)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"image_columns": r"(pixel\d+|noise|shop)"}, r"every column the net reads is a pixel column; use kind 'cnn'"),
        ({"image_shape": [8, 7, 1]}, r"image_shape \[8, 7, 1\] holds 56 pixels but params.image_columns picks 64"),
        ({"image_columns": ["pixel0", "pixl1"]}, r"names 'pixl1', which is not one of the net's columns"),
        ({"image_columns": r"pixel\d+|shop"}, r"picks 'shop', which is categorical"),
    ],
)
def test_hybrid_column_split_errors(params: dict, match: str) -> None:
    Xtr, *_ = _split_data()
    with pytest.raises(ConfigError, match=match):
        _fit({**HYBRID, **params}, Xtr)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"channels": [8]}, r"takes its branches' params with a prefix: params.channels is params.image_channels"),
        ({"dropout": 0.1}, r"params.dropout is params.image_dropout \(image branch\) or params.table_dropout \(dense"),
        ({"hidden": [8]}, r"params.hidden is params.table_hidden \(dense branch\)"),
        ({"image_chanels": [8]}, r"unknown param 'image_chanels' for kind 'hybrid'.*Did you mean 'image_channels'"),
        ({"image_kernel_size": 4}, r"params.image_kernel_size must be odd"),
        ({"image_pretrained": "w.pth"}, r"params.image_pretrained applies to a standard backbone; set params.image_b"),
        ({"image_backbone": "resnet18", "image_channels": [8]}, r"params.image_channels shapes the kit's own CNN"),
        ({"head_hidden": [0]}, r"params.head_hidden must be a list of integers >= 1"),
    ],
)
def test_hybrid_params_are_checked_up_front(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="hy", kind="hybrid", params={"image_shape": [8, 8, 1], **params}))


def test_hybrid_is_registered_and_a_linear_head_works() -> None:
    assert "hybrid" in ADAPTERS
    Xtr, ytr, Xva, yva, ctx = _split_data()
    adapter = make_adapter(ModelSpec(name="hy", kind="hybrid", params={**COMMON, **HYBRID, "head_hidden": []}))
    fitted = adapter.fit(Xtr, ytr, Xva, yva, ctx)
    head = fitted.model.module.head
    assert len(head) == 1 and head[0].in_features == 16 + 16  # image_channels[-1] + table_hidden[-1]


def test_a_pretrained_resnet_loads_into_the_image_branch_with_its_own_lr_and_frozen_epochs(tmp_path: Path) -> None:
    from kaggle_kit.models.nn.architectures.resnet import ResNet

    source = ResNet("resnet18", 3, 1000)  # an ImageNet-shaped checkpoint, fc included (never loaded)
    ckpt = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), ckpt)
    Xtr, ytr, Xva, yva, ctx = _split_data()
    Xtr = FeatureMatrix(Xtr.X[:64], Xtr.names, Xtr.categorical)
    params = {**COMMON, "epochs": 1, "batch_size": 32, "image_shape": [8, 8, 1], "table_hidden": [8]}
    params |= {"image_backbone": "resnet18", "image_pretrained": str(ckpt), "image_freeze_epochs": 1}
    adapter = make_adapter(ModelSpec(name="hy", kind="hybrid", params=params))
    adapter.check(ctx)  # the runner's check before anything trains reads the checkpoint
    fitted = adapter.fit(Xtr, ytr[:64], Xva, yva, ctx)
    module = fitted.model.module
    # frozen for the one epoch it ran: the branch's conv weights are the checkpoint's (grey = the RGB kernel summed)
    np.testing.assert_allclose(
        module.image.conv1.weight.detach().numpy(), source.conv1.weight.detach().sum(1, keepdim=True).numpy(), atol=1e-6
    )
    np.testing.assert_array_equal(module.image.layer4[1].conv2.weight.detach(), source.layer4[1].conv2.weight.detach())
    assert all(p.lr_factor == 0.1 for _, p in module.backbone_parameters())  # the pretrained default
    assert not any(hasattr(p, "lr_factor") for p in [*module.head.parameters(), *module.table.parameters()])
    assert not any(n.startswith("image.fc.") for n in module.state_dict())
    assert not np.allclose(module.head[-1].weight.detach().numpy(), 0)  # the head trained from its zero start

    bad = tmp_path / "resnet34.pth"
    torch.save(ResNet("resnet34", 3, 10).state_dict(), bad)
    with pytest.raises(ConfigError, match=r"model 'hy': params.pretrained does not fit backbone 'resnet18'"):
        make_adapter(ModelSpec(name="hy", kind="hybrid", params={**params, "image_pretrained": str(bad)})).check(ctx)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted case with the images as PNG files (``images/<id>.png``) and a table of id, shop, noise, label."""
    image = pytest.importorskip("PIL.Image")
    root = tmp_path_factory.mktemp("hybrid_files")
    (root / "images").mkdir()
    frame = _planted(300)
    for i, row in enumerate(frame.select(pl.col(r"^pixel\d+$")).to_numpy()):
        grey = (row.reshape(8, 8) * 255 / 16).round().astype(np.uint8)
        image.fromarray(grey, mode="L").save(root / "images" / f"{i}.png")
    frame.select("id", "shop", "noise", "label").write_csv(root / "train.csv")
    return root


def _files_spec(root: Path, params: dict) -> object:
    return build_spec(
        {
            "name": "hybrid-files",
            "task": "binary",
            "metric": "accuracy",
            "seed": 0,
            "data": {"train": "train.csv", "id": "id", "target": "label",
                     "images": {"folder": "images", "pattern": "{id}.png", "channels": 1}},
            "folds": {"n_splits": 2},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [{"name": "hybrid", "kind": "hybrid", "params": params}],
        },
        base_dir=root,
    )  # fmt: skip


def test_a_hybrid_reads_data_images_files_beside_the_table(image_files: Path) -> None:
    """[data.images] pixel columns go to the image branch, the CSV's columns to the dense branch."""
    spec = _files_spec(image_files, {**COMMON, **HYBRID, "epochs": 2})
    result = run(spec, runs_root=image_files / "runs", progress=None, record_history=False)
    (hybrid,) = [m for m in result.models if m.name == "hybrid"]
    assert hybrid.status == "ok", hybrid.error
    (saved,) = result.run_dir.glob("models/hybrid/*/folds/r0_f0/model.json")
    inputs = json.loads(saved.read_text())["inputs"]
    assert inputs["image_columns"] == [f"pixel{k}" for k in range(64)] and inputs["table_columns"] == ["shop", "noise"]
    assert inputs["table"]["categorical"] == [0]  # shop: embedded

    with pytest.raises(ConfigError, match=r"model 'hybrid': params\.image_shape = \[8, 8, 3\] but the images of data"):
        bad = _files_spec(image_files, {**HYBRID, "image_shape": [8, 8, 3]})
        run(bad, runs_root=image_files / "bad", progress=None, record_history=False)


def test_the_sklearn_estimator_takes_kind_hybrid() -> None:
    from kaggle_kit.models.nn import NetClassifier

    frame = _planted(200)
    X = frame.select([*(f"pixel{k}" for k in range(64)), "noise"]).to_numpy().astype(np.float32)
    params = {**HYBRID, "epochs": 1, "image_columns": [f"x{k}" for k in range(64)]}
    clf = NetClassifier("hybrid", params, random_state=0).fit(X, frame["label"].to_numpy())
    assert clf.predict_proba(X).shape == (200, 2)
    assert clf.net_.config["inputs"]["table_columns"] == ["x64"]
