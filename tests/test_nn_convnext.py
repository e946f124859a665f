"""ConvNeXt backbones (params.backbone = "convnext_*"): torchvision's module names and shapes, torchvision and timm
checkpoints, grey inputs, small images, the fine-tuning machinery (discriminative lr, frozen epochs, warm-up +
cosine) and the hybrid's image branch.

torchvision and timm are never imported: the expected layouts are written out below from their documented sources
(torchvision ``models/convnext.py``: ``features`` = stem ``Conv2dNormActivation(3, C0, 4, stride 4, bias)`` +
``LayerNorm2d``, then per stage a ``Sequential`` of ``CNBlock`` (``layer_scale`` ``[C, 1, 1]``; ``block`` =
``Conv2d(7x7, groups=C)``, ``Permute``, ``LayerNorm``, ``Linear(C, 4C)``, ``GELU``, ``Linear(4C, C)``, ``Permute``)
and between stages ``Sequential(LayerNorm2d, Conv2d(2x2, stride 2))``; ``classifier`` = ``LayerNorm2d``,
``Flatten``, ``Linear``; timm ``models/convnext.py``: ``stem.{0,1}``, ``stages.{s}.downsample.{0,1}``,
``stages.{s}.blocks.{b}.{gamma, conv_dw, norm, mlp.fc1, mlp.fc2}``, ``head.norm``, ``head.fc``; the atto .. nano
variants have ``conv_mlp=True``: 1x1 convolutions for the MLP).
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

from torch.nn import functional as F  # noqa: E402

from kaggle_kit.models.nn.callbacks import Callback  # noqa: E402
from kaggle_kit.models.nn.families import FAMILIES  # noqa: E402
from kaggle_kit.models.nn.net import fit_net, load_net, predict_net, save_net, scorer_for  # noqa: E402

TINY = ((3, 3, 9, 3), (96, 192, 384, 768))
ATTO = ((2, 2, 6, 2), (40, 80, 160, 320))
FEMTO = ((2, 2, 6, 2), (48, 96, 192, 384))


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def torchvision_convnext(depths, dims, classes: int = 1000, in_channels: int = 3) -> list[tuple[str, list[int]]]:
    """(key, shape) of torchvision's ``ConvNeXt(block_setting).state_dict()``, in its order, written from its source."""
    keys = [("features.0.0.weight", [dims[0], in_channels, 4, 4]), ("features.0.0.bias", [dims[0]])]
    keys += [("features.0.1.weight", [dims[0]]), ("features.0.1.bias", [dims[0]])]
    for s, (depth, dim) in enumerate(zip(depths, dims, strict=True)):
        for b in range(depth):
            p = f"features.{2 * s + 1}.{b}"
            keys += [(f"{p}.layer_scale", [dim, 1, 1])]
            keys += [(f"{p}.block.0.weight", [dim, 1, 7, 7]), (f"{p}.block.0.bias", [dim])]
            keys += [(f"{p}.block.2.weight", [dim]), (f"{p}.block.2.bias", [dim])]
            keys += [(f"{p}.block.3.weight", [4 * dim, dim]), (f"{p}.block.3.bias", [4 * dim])]
            keys += [(f"{p}.block.5.weight", [dim, 4 * dim]), (f"{p}.block.5.bias", [dim])]
        if s < 3:
            p = f"features.{2 * s + 2}"
            keys += [(f"{p}.0.weight", [dim]), (f"{p}.0.bias", [dim])]
            keys += [(f"{p}.1.weight", [dims[s + 1], dim, 2, 2]), (f"{p}.1.bias", [dims[s + 1]])]
    keys += [("classifier.0.weight", [dims[-1]]), ("classifier.0.bias", [dims[-1]])]
    return [*keys, ("classifier.2.weight", [classes, dims[-1]]), ("classifier.2.bias", [classes])]


def timm_convnext(depths, dims, conv_mlp: bool, classes: int = 1000) -> list[tuple[str, list[int]]]:
    """(key, shape) of timm's ``ConvNeXt(depths, dims, conv_mlp).state_dict()``, written from its source."""
    one = [1, 1] if conv_mlp else []
    keys = [("stem.0.weight", [dims[0], 3, 4, 4]), ("stem.0.bias", [dims[0]])]
    keys += [("stem.1.weight", [dims[0]]), ("stem.1.bias", [dims[0]])]
    for s, (depth, dim) in enumerate(zip(depths, dims, strict=True)):
        if s > 0:
            d = f"stages.{s}.downsample"
            keys += [(f"{d}.0.weight", [dims[s - 1]]), (f"{d}.0.bias", [dims[s - 1]])]
            keys += [(f"{d}.1.weight", [dim, dims[s - 1], 2, 2]), (f"{d}.1.bias", [dim])]
        for b in range(depth):
            p = f"stages.{s}.blocks.{b}"
            keys += [(f"{p}.gamma", [dim]), (f"{p}.conv_dw.weight", [dim, 1, 7, 7]), (f"{p}.conv_dw.bias", [dim])]
            keys += [(f"{p}.norm.weight", [dim]), (f"{p}.norm.bias", [dim])]
            keys += [(f"{p}.mlp.fc1.weight", [4 * dim, dim, *one]), (f"{p}.mlp.fc1.bias", [4 * dim])]
            keys += [(f"{p}.mlp.fc2.weight", [dim, 4 * dim, *one]), (f"{p}.mlp.fc2.bias", [dim])]
    keys += [("head.norm.weight", [dims[-1]]), ("head.norm.bias", [dims[-1]])]
    return [*keys, ("head.fc.weight", [classes, dims[-1]]), ("head.fc.bias", [classes])]


def checkpoint(layout, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {key: torch.randn(shape, generator=g) * 0.05 for key, shape in layout}


def build(backbone: str = "convnext_atto", shape=(32, 32, 3), n_outputs: int = 4, **extra):
    p = FAMILIES["cnn"].validate("m", {"image_shape": list(shape), "backbone": backbone, **extra})
    module = FAMILIES["cnn"].build(p, {"shape": list(shape)}, n_outputs)
    FAMILIES["cnn"].prepare_for_fit(module, "m", p)
    return module


def test_convnext_tiny_has_torchvisions_names_shapes_and_parameter_count():
    module = build("convnext_tiny", shape=(64, 64, 3), n_outputs=1000)
    assert [(k, list(v.shape)) for k, v in module.state_dict().items()] == torchvision_convnext(*TINY)
    # torchvision's ConvNeXt_Tiny_Weights.meta["num_params"]
    assert sum(p.numel() for p in module.parameters()) == 28_589_128


@pytest.mark.parametrize(
    ("backbone", "millions"),
    [("convnext_atto", 3.70), ("convnext_femto", 5.22), ("convnext_pico", 9.05), ("convnext_nano", 15.59)],
)
def test_timms_small_variants_have_their_documented_sizes(backbone, millions):
    # timm's results tables (param_count, millions, ImageNet head)
    module = build(backbone, n_outputs=1000)
    assert sum(p.numel() for p in module.parameters()) / 1e6 == pytest.approx(millions, abs=0.005)


def test_a_torchvision_checkpoint_loads_the_final_norm_but_not_the_head(tmp_path):
    state = checkpoint(torchvision_convnext(*ATTO))
    path = tmp_path / "atto.pth"
    torch.save(state, path)
    module = build(pretrained=str(path))
    loaded = module.state_dict()
    for key, _ in torchvision_convnext(*ATTO):
        if not key.startswith("classifier.2."):
            assert torch.equal(loaded[key], state[key]), key
    assert loaded["classifier.2.weight"].shape == (4, 320) and not loaded["classifier.2.weight"].any()
    assert {p.lr_factor for _, p in module.backbone_parameters()} == {0.1}
    assert [n for n, _ in module.named_parameters() if not hasattr(_, "lr_factor")] == [
        "classifier.2.weight",
        "classifier.2.bias",
    ]


def test_a_timm_checkpoint_is_renamed_and_computes_what_timms_block_computes(tmp_path):
    timm_state = checkpoint(timm_convnext(*ATTO, conv_mlp=True))
    path = tmp_path / "timm_atto.pth"
    torch.save(timm_state, path)
    module = build(pretrained=str(path)).eval()
    sd = module.state_dict()
    assert torch.equal(sd["features.0.0.weight"], timm_state["stem.0.weight"])
    assert torch.equal(sd["features.6.1.weight"], timm_state["stages.3.downsample.1.weight"])
    assert torch.equal(sd["features.5.4.layer_scale"], timm_state["stages.2.blocks.4.gamma"].reshape(-1, 1, 1))
    assert torch.equal(sd["features.5.4.block.3.weight"], timm_state["stages.2.blocks.4.mlp.fc1.weight"][:, :, 0, 0])
    assert torch.equal(sd["classifier.0.bias"], timm_state["head.norm.bias"])
    # timm's conv_mlp block, written out: dwconv -> LayerNorm2d -> 1x1 conv -> GELU -> 1x1 conv -> * gamma, + x
    p = "stages.1.blocks.1."
    w = {k[len(p) :]: v for k, v in timm_state.items() if k.startswith(p)}
    x = torch.randn(2, 80, 5, 5)
    h = F.conv2d(x, w["conv_dw.weight"], w["conv_dw.bias"], padding=3, groups=80)
    h = F.layer_norm(h.permute(0, 2, 3, 1), (80,), w["norm.weight"], w["norm.bias"], 1e-6).permute(0, 3, 1, 2)
    h = F.conv2d(F.gelu(F.conv2d(h, w["mlp.fc1.weight"], w["mlp.fc1.bias"])), w["mlp.fc2.weight"], w["mlp.fc2.bias"])
    expected = x + h * w["gamma"].reshape(1, -1, 1, 1)
    with torch.no_grad():
        assert torch.allclose(module.features[3][1](x), expected, atol=1e-5)


def test_a_timm_checkpoint_with_linear_mlp_layers_loads_too(tmp_path):
    # timm's convnext_tiny .. large keep nn.Linear in the MLP (conv_mlp=False): no reshape needed
    path = tmp_path / "timm_like_atto_linear.pth"
    torch.save(checkpoint(timm_convnext(*ATTO, conv_mlp=False)), path)
    build(pretrained=str(path))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: checkpoint(torchvision_convnext(*FEMTO)),
            r"key 'features\.0\.0\.weight' has shape \[48, 3, 4, 4\].*\[40, 3, 4, 4\].*set params\.backbone = "
            r"'convnext_femto'",
        ),
        (
            lambda: {k: v for k, v in checkpoint(torchvision_convnext(*ATTO)).items() if "features.5.5." not in k},
            r"key 'features\.5\.5\.layer_scale' \(shape \[160, 1, 1\]\) is missing",
        ),
        (
            lambda: checkpoint(torchvision_convnext((2, 2, 8, 2), ATTO[1])),
            r"the checkpoint has key 'features\.5\.6\.layer_scale', which the model does not",
        ),
        (
            lambda: {k: v for k, v in checkpoint(timm_convnext(*ATTO, conv_mlp=True)).items() if k != "stem.1.weight"},
            r"key 'features\.0\.1\.weight' \(shape \[40\]\) is missing",
        ),
    ],
)
def test_a_wrong_checkpoint_names_the_first_mismatched_key(tmp_path, make, match):
    path = tmp_path / "wrong.pth"
    torch.save(make(), path)
    with pytest.raises(ConfigError, match=r"model 'm': params\.pretrained does not fit backbone 'convnext_atto'.*"):
        build(pretrained=str(path))
    with pytest.raises(ConfigError, match=match):
        build(pretrained=str(path))


def test_grey_images_take_an_rgb_checkpoint_by_summing_the_stem(tmp_path):
    state = checkpoint(torchvision_convnext(*ATTO))
    path = tmp_path / "rgb.pth"
    torch.save(state, path)
    grey = build(shape=(32, 32, 1), pretrained=str(path)).eval()
    rgb = build(shape=(32, 32, 3), pretrained=str(path)).eval()
    assert torch.allclose(grey.features[0][0].weight, state["features.0.0.weight"].sum(1, keepdim=True))
    grey.classifier[2].weight.data.normal_()
    rgb.classifier[2].load_state_dict(grey.classifier[2].state_dict())
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(grey(x), rgb(x.repeat(1, 3, 1, 1)), atol=1e-4)


def test_small_input_keeps_the_keys_and_the_image_size_is_checked():
    small, large = build(shape=(32, 32, 1)), build(shape=(32, 32, 1), small_input=False)
    assert small.small_input and not large.small_input
    assert {k: v.shape for k, v in small.state_dict().items()} == {k: v.shape for k, v in large.state_dict().items()}
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert small.features[0](x).shape[-1] == 32 and large.features[0](x).shape[-1] == 8
        assert small.eval()(x).shape == large.eval()(x).shape == (2, 4)
    with pytest.raises(ConfigError, match=r"'convnext_atto' needs images of at least 32 x 32 pixels without small"):
        build(shape=(16, 16, 1), small_input=False)
    with pytest.raises(ConfigError, match=r"at least 8 x 8 pixels with small_input.*upscale"):
        build(shape=(6, 6, 1))


def test_channels_last_computes_the_same():
    module = build(shape=(16, 16, 3), drop_path=0.1).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = module(x)
        got = module.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(got, expected, atol=1e-5)


def test_drop_path_drops_whole_samples_in_training_only():
    module = build(shape=(8, 8, 1), drop_path=0.5)
    rates = [b.drop_path for stage in (1, 3, 5, 7) for b in module.features[stage]]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.5) and rates == sorted(rates)
    block = module.features[7][1]  # rate 0.5
    x = torch.randn(64, 320, 1, 1)
    block.layer_scale.data.fill_(1.0)
    block.train()
    torch.manual_seed(0)
    with torch.no_grad():
        kept = ((block(x) - x).abs().flatten(1).sum(1) > 0).float().mean()
        assert 0.3 < float(kept) < 0.7  # about half the samples keep their residual branch
        block.eval()
        assert ((block(x) - x).abs().flatten(1).sum(1) > 0).all()


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"backbone": "convnext_atom"}, r"params\.backbone must be one of .*'timm:<model name>'.*Did you mean"),
        ({"backbone": "resnet18", "drop_path": 0.1}, r"params\.drop_path .* applies to a ConvNeXt or a timm backbone"),
        ({"drop_path": 0.1}, r"params\.drop_path applies to a standard backbone"),
        ({"backbone": "convnext_atto", "drop_path": 1.5}, r"params\.drop_path must be a number >= 0"),
    ],
)
def test_convnext_params_are_checked(given, match):
    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="m", kind="cnn", params={"image_shape": [8, 8, 1], **given}))


# ------------------------------------------------------------------------------------------ fine-tuning
X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
NAMES = tuple(f"pixel{i}" for i in range(64))


def rows(index) -> FeatureMatrix:
    return FeatureMatrix(np.ascontiguousarray(X_DIGITS[index].astype(np.float32)), NAMES, ())


class Record(Callback):
    """Per batch: each group's lr; per epoch: the stem's weights at its end."""

    def __init__(self) -> None:
        self.groups: list[list[tuple[float, set[int]]]] = []
        self.stem: list[torch.Tensor] = []

    def on_batch_begin(self, state) -> None:
        self.groups.append([(g["lr"], {id(p) for p in g["params"]}) for g in state.optimizer.param_groups])

    def on_epoch_end(self, state) -> None:
        self.stem.append(state.module.features[0][0].weight.detach().clone())


def fit(index, y, n_classes, callbacks=(), **extra):
    p = FAMILIES["cnn"].validate(
        "m",
        {"image_shape": [8, 8, 1], "backbone": "convnext_atto", "patience": 0, "batch_size": 16, "lr": 3e-3, **extra},
    )
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
        scorer=scorer_for(get_metric("accuracy")),
        seed=0,
        callbacks=list(callbacks),
    )[0]


def test_discriminative_lr_frozen_epochs_and_warmup_cosine_act_on_a_convnext(tmp_path):
    path = tmp_path / "grey_atto.pth"
    torch.save(build(shape=(8, 8, 1)).state_dict(), path)
    target = np.flatnonzero(Y_DIGITS >= 5)[:48]
    record = Record()
    epochs, lr = 3, 3e-3
    net = fit(
        target,
        Y_DIGITS[target] - 5,
        5,
        [record],
        epochs=epochs,
        lr=lr,
        schedule="cosine",
        warmup_epochs=1,
        pretrained=str(path),
        backbone_lr_mult=0.25,
        freeze_epochs=1,
    )
    head = {id(p) for p in net.module.classifier[2].parameters()}
    backbone = {id(p) for _, p in net.module.backbone_parameters()}
    total, warmup = epochs * 3, 3  # 48 rows / 16 = 3 steps per epoch
    for step, groups in enumerate(record.groups):
        head_lr = {g for g, ids in groups if ids and ids <= head}
        backbone_lr = {g for g, ids in groups if ids and ids <= backbone}
        assert len(head_lr) == len(backbone_lr) == 1
        cosine = 0.5 * (1 + np.cos(np.pi * (step - warmup) / (total - warmup)))
        factor = (step + 1) / warmup if step < warmup else cosine
        assert head_lr.pop() == pytest.approx(lr * factor)
        assert backbone_lr.pop() == pytest.approx(0.25 * lr * factor)
    pre = torch.load(path, weights_only=True)["features.0.0.weight"]
    assert torch.equal(record.stem[0], pre)  # frozen in epoch 1
    assert not torch.equal(record.stem[1], pre)  # trains from epoch 2


def test_the_adapter_fits_predicts_saves_and_loads_a_pretrained_convnext_with_ema_and_accumulation(tmp_path):
    path = tmp_path / "grey_atto.pth"
    torch.save(build(shape=(8, 8, 1)).state_dict(), path)
    target = np.flatnonzero(Y_DIGITS >= 5)[:80]
    params = {
        "image_shape": [8, 8, 1],
        "backbone": "convnext_atto",
        "pretrained": str(path),
        "epochs": 2,
        "patience": 1,
        "batch_size": 16,
        "accumulate": 2,
        "ema": 0.99,
        "drop_path": 0.1,
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


def test_a_convnext_image_branch_of_a_hybrid_loads_its_checkpoint(tmp_path):
    from kaggle_kit.models.nn.architectures.hybrid import image_branch

    state = checkpoint(torchvision_convnext(*ATTO))
    path = tmp_path / "atto.pth"
    torch.save(state, path)
    params = FAMILIES["hybrid"].validate(
        "h", {"image_shape": [8, 8, 3], "image_backbone": "convnext_atto", "image_pretrained": str(path)}
    )
    branch, width = image_branch(params, [8, 8, 3])
    assert width == 320 and not any(k.startswith("classifier.2.") for k in branch.state_dict())
    FAMILIES["hybrid"].check_pretrained("h", params)
    module = FAMILIES["hybrid"].build(
        params, {"image": {"shape": [8, 8, 3]}, "table": {"numeric": ["a"], "cardinality": []}}, 3
    )
    FAMILIES["hybrid"].prepare_for_fit(module, "h", params)
    assert torch.equal(module.image.state_dict()["classifier.0.weight"], state["classifier.0.weight"])
    with torch.no_grad():
        assert module.eval()(torch.randn(2, 3, 8, 8), torch.randn(2, 1), torch.zeros(2, 0, dtype=torch.long)).shape == (
            2,
            3,
        )


def test_a_fitted_convnext_reloads_without_its_checkpoint(tmp_path):
    path = tmp_path / "grey_atto.pth"
    torch.save(build(shape=(8, 8, 1)).state_dict(), path)
    target = np.flatnonzero(Y_DIGITS >= 5)[:32]
    net = fit(target, Y_DIGITS[target] - 5, 5, epochs=1, pretrained=str(path))
    save_net(net, tmp_path / "model.pt")
    path.unlink()
    again = load_net(tmp_path / "model.pt")
    np.testing.assert_array_equal(predict_net(again, rows(target)), predict_net(net, rows(target)))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_convnext_fine_tunes_on_cuda_with_amp_channels_last_ema_and_accumulation(tmp_path):  # pragma: no cover
    path = tmp_path / "grey_atto.pth"
    torch.save(build(shape=(8, 8, 1)).state_dict(), path)
    target = np.flatnonzero(Y_DIGITS >= 5)
    params = {
        "image_shape": [8, 8, 1],
        "backbone": "convnext_atto",
        "pretrained": str(path),
        "epochs": 6,
        "patience": 0,
        "batch_size": 32,
        "accumulate": 2,
        "ema": 0.99,
        "lr": 3e-3,
        "backbone_lr_mult": 1.0,
    }
    adapter = make_adapter(ModelSpec(name="gpu", kind="cnn", params=params))
    ctx = FitContext("multiclass", 5, get_metric("accuracy"), seed=0, device="cuda", threads=1)
    train, valid = target[:400], target[400:700]
    fitted = adapter.fit(rows(train), Y_DIGITS[train] - 5, rows(valid), Y_DIGITS[valid] - 5, ctx)
    pred = adapter.predict(fitted, rows(valid), ctx)
    assert np.isfinite(pred).all() and float((pred.argmax(1) == Y_DIGITS[valid] - 5).mean()) > 0.8
