"""Standard backbones for kind "cnn" (params.backbone): torchvision's ResNet layout, pretrained weights from a local
file, discriminative learning rates, frozen epochs, grey inputs from RGB checkpoints, and transfer shown on digits.

torchvision is never imported: the expected layout is written out below from torchvision's documented ResNet
(``torchvision/models/resnet.py``: ``BasicBlock`` / ``Bottleneck``, ``_make_layer``'s ``downsample`` =
``Sequential(conv1x1, norm_layer)``, ``fc = Linear(512 * expansion, num_classes)``).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kaggle_kit.config import ModelSpec
from kaggle_kit.errors import ConfigError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter

torch = pytest.importorskip("torch")

from kaggle_kit.models.nn.callbacks import Callback  # noqa: E402
from kaggle_kit.models.nn.families import FAMILIES  # noqa: E402
from kaggle_kit.models.nn.net import fit_net, load_net, predict_net, save_net, scorer_for  # noqa: E402
from kaggle_kit.models.nn.pretrained import read_checkpoint  # noqa: E402

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(prefix: str, c: int) -> list[tuple[str, list[int]]]:
    return [(f"{prefix}.{k}", [] if k == "num_batches_tracked" else [c]) for k in BN]


def torchvision_layout(blocks: tuple[int, ...], bottleneck: bool, classes: int = 1000) -> list[tuple[str, list[int]]]:
    """(key, shape) of torchvision's ``resnet18/34/50().state_dict()``, in its order, written from its docs."""
    keys = [("conv1.weight", [64, 3, 7, 7]), *_bn("bn1", 64)]
    c_in = 64
    for s, (width, count) in enumerate(zip((64, 128, 256, 512), blocks, strict=True)):
        for b in range(count):
            p = f"layer{s + 1}.{b}"
            if bottleneck:
                c_out = width * 4
                keys += [(f"{p}.conv1.weight", [width, c_in, 1, 1]), *_bn(f"{p}.bn1", width)]
                keys += [(f"{p}.conv2.weight", [width, width, 3, 3]), *_bn(f"{p}.bn2", width)]
                keys += [(f"{p}.conv3.weight", [c_out, width, 1, 1]), *_bn(f"{p}.bn3", c_out)]
            else:
                c_out = width
                keys += [(f"{p}.conv1.weight", [width, c_in, 3, 3]), *_bn(f"{p}.bn1", width)]
                keys += [(f"{p}.conv2.weight", [width, width, 3, 3]), *_bn(f"{p}.bn2", width)]
            if b == 0 and (s > 0 or c_in != c_out):
                keys += [(f"{p}.downsample.0.weight", [c_out, c_in, 1, 1]), *_bn(f"{p}.downsample.1", c_out)]
            c_in = c_out
    return [*keys, ("fc.weight", [classes, c_in]), ("fc.bias", [classes])]


RESNET18 = torchvision_layout((2, 2, 2, 2), bottleneck=False)
RESNET34 = torchvision_layout((3, 4, 6, 3), bottleneck=False)
RESNET50 = torchvision_layout((3, 4, 6, 3), bottleneck=True)


def checkpoint(layout: list[tuple[str, list[int]]], seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in layout:
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(100)
        elif key.endswith("running_var"):
            out[key] = torch.rand(shape, generator=g) + 0.5
        else:
            out[key] = torch.randn(shape, generator=g) * 0.05
    return out


def params(**extra) -> dict:
    return FAMILIES["cnn"].validate("m", {"image_shape": [32, 32, 3], "backbone": "resnet18", **extra})


def build(shape=(32, 32, 3), n_outputs: int = 4, **extra):
    p = FAMILIES["cnn"].validate("m", {"image_shape": list(shape), "backbone": "resnet18", **extra})
    module = FAMILIES["cnn"].build(p, {"shape": list(shape)}, n_outputs)
    FAMILIES["cnn"].prepare_for_fit(module, "m", p)
    return module


def test_the_written_layouts_have_torchvisions_sizes():
    # torchvision: resnet18 has 62 parameters and 122 state_dict entries, resnet50 161 and 320
    assert (len(RESNET18), len(RESNET50)) == (122, 320)
    n_params = lambda layout: sum(not k.rsplit(".", 1)[1].startswith(("running", "num")) for k, _ in layout)  # noqa: E731
    assert (n_params(RESNET18), n_params(RESNET50)) == (62, 161)


@pytest.mark.parametrize(
    ("backbone", "layout"), [("resnet18", RESNET18), ("resnet34", RESNET34), ("resnet50", RESNET50)]
)
def test_module_names_and_shapes_are_torchvisions(backbone, layout):
    p = FAMILIES["cnn"].validate("m", {"image_shape": [64, 64, 3], "backbone": backbone})
    module = FAMILIES["cnn"].build(p, {"shape": [64, 64, 3]}, 1000)
    assert [(k, list(v.shape)) for k, v in module.state_dict().items()] == layout


def test_a_torchvision_resnet18_checkpoint_loads_and_the_head_is_replaced(tmp_path):
    state = checkpoint(RESNET18)
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    module = build(n_outputs=4, pretrained=str(path))
    loaded = module.state_dict()
    for key, _ in RESNET18:
        if not key.startswith("fc."):
            assert torch.equal(loaded[key], state[key]), key
    assert loaded["fc.weight"].shape == (4, 512)  # the task's head, not the checkpoint's 1000 classes
    assert not loaded["fc.weight"].any() and not loaded["fc.bias"].any()  # zeroed: fine-tuning starts at log(C)


def test_older_checkpoints_without_num_batches_tracked_and_wrapped_ones_load(tmp_path):
    state = {k: v for k, v in checkpoint(RESNET18).items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "old.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 90}, path)
    module = build(pretrained=str(path))
    assert torch.equal(module.state_dict()["layer4.1.bn2.running_var"], state["layer4.1.bn2.running_var"])


def _shape_changed(state):
    state["layer2.0.conv1.weight"] = torch.zeros(128, 64, 5, 5)
    return state


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: checkpoint(RESNET34), r"key 'layer1\.2\.conv1\.weight', which the model does not.*resnet34"),
        (lambda: checkpoint(RESNET50), r"key 'layer1\.0\.conv1\.weight' has shape \[64, 64, 1, 1\].*\[64, 64, 3, 3\]"),
        (lambda: _shape_changed(checkpoint(RESNET18)), r"'layer2\.0\.conv1\.weight' has shape \[128, 64, 5, 5\]"),
        (
            lambda: {k: v for k, v in checkpoint(RESNET18).items() if not k.startswith("layer3.1.bn1")},
            r"key 'layer3\.1\.bn1\.weight' \(shape \[256\]\) is missing",
        ),
        (lambda: {"conv1.weight": "not a tensor"}, "not a state_dict"),
        (  # a CIFAR-style 3x3 stem: the shape named is the checkpoint's own, not the grey-adapted one
            lambda: {**checkpoint(RESNET18), "conv1.weight": torch.zeros(64, 3, 3, 3)},
            r"'conv1\.weight' has shape \[64, 3, 3, 3\] in the checkpoint but the model's is \[64, 1, 7, 7\]",
        ),
    ],
)
def test_a_wrong_checkpoint_names_the_first_mismatched_key(tmp_path, make, match):
    path = tmp_path / "wrong.pth"
    torch.save(make(), path)
    with pytest.raises(ConfigError, match=match):
        build(shape=(32, 32, 1), pretrained=str(path))


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"model 'm': params.pretrained: file .*nope\.pth' does not exist"):
        build(pretrained=str(tmp_path / "nope.pth"))


def test_the_runners_check_reads_the_checkpoint_before_anything_trains(tmp_path):
    path = tmp_path / "r34.pth"
    torch.save(checkpoint(RESNET34), path)
    params = {"image_shape": [32, 32, 3], "backbone": "resnet18", "pretrained": str(path)}
    adapter = make_adapter(ModelSpec(name="net", kind="cnn", params=params))
    ctx = FitContext("multiclass", 3, get_metric("accuracy"), seed=0, device="cpu", threads=1)
    with pytest.raises(
        ConfigError, match=r"model 'net'.*'layer1\.2\.conv1\.weight'.*set params\.backbone = 'resnet34'"
    ):
        adapter.check(ctx)
    make_adapter(ModelSpec(name="net", kind="cnn", params={**params, "backbone": "resnet34"})).check(ctx)


class _Payload:
    """Unpickling this calls ``open(path, "w")``: a file appears if the pickle's code runs."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({**checkpoint(RESNET18), "extra": _Payload(str(marker))}, path)
    with pytest.raises(ConfigError, match=r"holds more than tensors.*torch\.save\(model\.state_dict\(\), path\)"):
        build(pretrained=str(path))
    assert not marker.exists()
    # the payload is real: an unsafe load runs it (which the kit never does)
    torch.load(path, weights_only=False)["extra"].close()
    assert marker.exists()


def test_grey_inputs_take_an_rgb_checkpoint_by_summing_conv1(tmp_path):
    state = checkpoint(RESNET18)
    path = tmp_path / "rgb.pth"
    torch.save(state, path)
    grey = build(shape=(32, 32, 1), pretrained=str(path)).eval()
    rgb = build(shape=(32, 32, 3), pretrained=str(path)).eval()
    assert torch.allclose(grey.conv1.weight, state["conv1.weight"].sum(1, keepdim=True))
    grey.fc.weight.data.normal_()
    rgb.fc.load_state_dict(grey.fc.state_dict())
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():  # a grey image = the RGB net on that image copied to three channels
        assert torch.allclose(grey(x), rgb(x.repeat(1, 3, 1, 1)), atol=1e-4)


def test_small_input_keeps_the_keys_and_resolves_auto():
    small, large = build(shape=(8, 8, 1)), build(shape=(8, 8, 1), small_input=False)
    assert small.small_input and not large.small_input and not build(shape=(64, 64, 3)).small_input
    assert {k: v.shape for k, v in small.state_dict().items()} == {k: v.shape for k, v in large.state_dict().items()}
    x = torch.randn(2, 1, 8, 8)
    small.eval(), large.eval()
    with torch.no_grad():
        # layer4 sees 1 x 1 either way on 8 x 8; small_input keeps 8x more resolution before it
        assert small(x).shape == large(x).shape == (2, 4)
        stem = lambda m: m.maxpool(m.relu(m.bn1(m.conv1(x))))  # noqa: E731
        assert stem(small).shape[-1] == 8 and stem(large).shape[-1] == 2


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"backbone": "resnet18", "channels": [8]}, r"params\.channels shapes the kit's own CNN"),
        ({"pretrained": "w.pth"}, r"params\.pretrained applies to a standard backbone"),
        ({"backbone": "resnet19"}, r"params\.backbone must be one of .*Did you mean 'resnet18'"),
        ({"backbone": "resnet18", "small_input": "yes"}, r"params\.small_input must be true, false or 'auto'"),
        ({"backbone": "resnet18", "backbone_lr_mult": 0}, r"params\.backbone_lr_mult must be a number > 0"),
    ],
)
def test_backbone_params_are_checked(given, match):
    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="m", kind="cnn", params={"image_shape": [8, 8, 1], **given}))


# ------------------------------------------------------------------------------------------ training
X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
NAMES = tuple(f"pixel{i}" for i in range(64))


def rows(index) -> FeatureMatrix:
    return FeatureMatrix(np.ascontiguousarray(X_DIGITS[index].astype(np.float32)), NAMES, ())


class Record(Callback):
    """Per epoch: each group's lr and the weights of conv1 / fc at the end of the epoch."""

    def __init__(self) -> None:
        self.groups: list[list[tuple[float, set[int]]]] = []
        self.conv1: list[torch.Tensor] = []
        self.fc: list[torch.Tensor] = []

    def on_batch_end(self, state) -> None:
        if state.batch == 0:
            self.groups.append([(g["lr"], {id(p) for p in g["params"]}) for g in state.optimizer.param_groups])

    def on_epoch_end(self, state) -> None:
        self.conv1.append(state.module.conv1.weight.detach().clone())
        self.fc.append(state.module.fc.weight.detach().clone())


def fit(index, y, n_classes, callbacks=(), **extra):
    p = FAMILIES["cnn"].validate(
        "m",
        {
            "image_shape": [8, 8, 1],
            "backbone": "resnet18",
            "patience": 0,
            "schedule": "cosine",
            "batch_size": 16,
            "lr": 3e-3,
            **extra,
        },
    )
    acc = scorer_for(get_metric("accuracy"))
    return fit_net(
        "m",
        "cnn",
        p,
        rows(index),
        y,
        None,
        None,
        task="multiclass",
        n_classes=n_classes,
        scorer=acc,
        seed=0,
        callbacks=list(callbacks),
    )[0]


@pytest.fixture
def grey_checkpoint(tmp_path):
    """An untrained grey resnet18's state_dict: a checkpoint of the right layout, made in no time."""
    path = tmp_path / "grey18.pth"
    torch.save(build(shape=(8, 8, 1)).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def pretrained_digits(tmp_path_factory):
    """A resnet18 pretrained by the kit on digits 0-4 (500 rows, 3 epochs), saved as a plain state_dict."""
    source = np.flatnonzero(Y_DIGITS < 5)[:500]
    net = fit(source, Y_DIGITS[source], 5, epochs=3, batch_size=64)
    path = tmp_path_factory.mktemp("pre") / "digits04.pth"
    torch.save(net.module.state_dict(), path)
    return path


@pytest.mark.slow
def test_the_backbone_lr_is_the_configured_multiple_of_the_heads_and_frozen_epochs_freeze(grey_checkpoint):
    target = np.flatnonzero(Y_DIGITS >= 5)[:40]
    record = Record()
    net = fit(
        target,
        Y_DIGITS[target] - 5,
        5,
        [record],
        epochs=3,
        pretrained=str(grey_checkpoint),
        backbone_lr_mult=0.25,
        freeze_epochs=1,
    )
    head = {id(p) for p in net.module.fc.parameters()}
    backbone = {id(p) for _, p in net.module.backbone_parameters()}
    assert len(head | backbone) == len(list(net.module.parameters()))
    for epoch_groups in record.groups:  # the ratio holds through warm-up and the cosine decay
        head_lrs = {lr for lr, ids in epoch_groups if ids and ids <= head}
        backbone_lrs = {lr for lr, ids in epoch_groups if ids and ids <= backbone}
        assert sum(len(ids) for _, ids in epoch_groups) == len(head | backbone)
        assert len(head_lrs) == 1 and len(backbone_lrs) == 1
        assert backbone_lrs.pop() == pytest.approx(0.25 * head_lrs.pop())
    pre = torch.load(grey_checkpoint, weights_only=True)["conv1.weight"]
    assert torch.equal(record.conv1[0], pre)  # frozen in epoch 1
    assert not torch.equal(record.conv1[1], pre)  # trains from epoch 2
    assert record.fc[0].any()  # the head learned in epoch 1


def test_the_default_backbone_lr_mult_is_01_with_pretrained_and_1_without(grey_checkpoint):
    with_pre = build(shape=(8, 8, 1), pretrained=str(grey_checkpoint))
    without = build(shape=(8, 8, 1))
    assert {p.lr_factor for _, p in with_pre.backbone_parameters()} == {0.1}
    assert {p.lr_factor for _, p in without.backbone_parameters()} == {1.0}
    assert not any(hasattr(p, "lr_factor") for p in with_pre.fc.parameters())


@pytest.mark.slow  # ~35 s on one core: pretraining a resnet18 on 500 digits, then two fine-tunings
def test_fine_tuning_from_a_related_pretrained_net_beats_training_from_scratch(pretrained_digits, tmp_path):
    """Digits 5-9 from 50 rows: a resnet18 pretrained on digits 0-4 against the same net from scratch, same epochs
    and seed (seen: 0.81 against 0.67 accuracy on 300 held-out rows)."""
    target = np.flatnonzero(Y_DIGITS >= 5)
    target = target[np.random.default_rng(0).permutation(len(target))]
    train, test = target[:50], target[50:350]
    scores = {}
    for name, extra in {"scratch": {}, "pretrained": {"pretrained": str(pretrained_digits)}}.items():
        net = fit(train, Y_DIGITS[train] - 5, 5, epochs=8, **extra)
        scores[name] = float((predict_net(net, rows(test)).argmax(1) == Y_DIGITS[test] - 5).mean())
    assert scores["pretrained"] > scores["scratch"] + 0.05, scores
    # the fitted net is saved and reloaded without the checkpoint file (a moved run folder predicts the same)
    save_net(net, tmp_path / "model.pt")
    pretrained_digits.rename(pretrained_digits.with_suffix(".moved"))
    try:
        again = load_net(tmp_path / "model.pt")
        np.testing.assert_array_equal(predict_net(again, rows(test)), predict_net(net, rows(test)))
    finally:
        pretrained_digits.with_suffix(".moved").rename(pretrained_digits)


def test_read_checkpoint_returns_plain_tensors(tmp_path):
    path = tmp_path / "w.pth"
    torch.save({"model": {"a": torch.ones(2)}}, path)
    assert list(read_checkpoint(path)) == ["a"]


def test_the_adapter_fits_predicts_saves_and_loads_a_pretrained_backbone(grey_checkpoint, tmp_path):
    target = np.flatnonzero(Y_DIGITS >= 5)[:80]
    params = {
        "image_shape": [8, 8, 1],
        "backbone": "resnet18",
        "pretrained": str(grey_checkpoint),
        "freeze_epochs": 1,
        "epochs": 2,
        "patience": 1,
        "batch_size": 32,
    }
    adapter = make_adapter(ModelSpec(name="ft", kind="cnn", params=params))
    ctx = FitContext("multiclass", 5, get_metric("log_loss"), seed=0, device="cpu", threads=1)
    adapter.check(ctx)
    train, valid = target[:60], target[60:]
    fitted = adapter.fit(rows(train), Y_DIGITS[train] - 5, rows(valid), Y_DIGITS[valid] - 5, ctx)
    pred = adapter.predict(fitted, rows(valid), ctx)
    assert pred.shape == (20, 5) and np.allclose(pred.sum(1), 1, atol=1e-5)
    adapter.save(fitted, tmp_path / adapter.file_name)
    np.testing.assert_array_equal(
        adapter.predict(adapter.load(tmp_path / adapter.file_name, ctx), rows(valid), ctx), pred
    )
