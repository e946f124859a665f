"""``params.backbone = "timm:NAME"``: without timm a clear error naming the kit's own backbones; with timm (a fake
module in ``sys.modules``, timm itself is not a dependency) the trunk is ``timm.create_model(NAME, pretrained=False,
num_classes=0, in_chans=C)`` and a ``pretrained`` file in timm's layout loads into it, its classifier left out."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kaggle_kit.config import ModelSpec
from kaggle_kit.errors import ConfigError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from kaggle_kit.models.nn.families import FAMILIES  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


class FakeTimmNet(nn.Module):
    """A timm-like model: ``conv_stem`` / ``bn1`` / ``blocks.0`` trunk, ``classifier`` head (Identity with
    ``num_classes=0``), ``num_features`` and ``pretrained_cfg`` as timm's EfficientNet has them."""

    def __init__(self, num_classes: int, in_chans: int, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        self.conv_stem = nn.Conv2d(in_chans, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.blocks = nn.Sequential(nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU()))
        self.num_features = 64
        self.drop_path_rate = drop_path_rate
        self.classifier = nn.Linear(64, num_classes) if num_classes else nn.Identity()
        self.pretrained_cfg = {"first_conv": "conv_stem", "classifier": "classifier"}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(torch.relu(self.bn1(self.conv_stem(x))))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 2), 1))


@pytest.fixture
def fake_timm(monkeypatch):
    calls: list[tuple[str, dict]] = []

    def create_model(name: str, **kwargs):
        calls.append((name, kwargs))
        if name != "efficientnet_b0":
            raise RuntimeError(f"Unknown model ({name})")
        return FakeTimmNet(kwargs["num_classes"], kwargs.get("in_chans", 3), kwargs.get("drop_path_rate", 0.0))

    module = types.ModuleType("timm")
    module.create_model = create_model  # type: ignore[attr-defined]
    module.list_models = lambda: ["efficientnet_b0", "resnet50"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "timm", module)
    return calls


def spec_params(**extra) -> dict:
    return {"image_shape": [8, 8, 1], "backbone": "timm:efficientnet_b0", **extra}


def test_without_timm_the_error_says_it_is_needed_and_names_the_kits_own_backbones(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # `import timm` raises ImportError
    with pytest.raises(
        ConfigError,
        match=r"model 'm': params\.backbone = 'timm:efficientnet_b0' needs the 'timm' package, which is not "
        r"installed; pip install timm, or use one of the kit's own backbones, which need no package: 'resnet18'.*"
        r"'convnext_atto'",
    ):
        make_adapter(ModelSpec(name="m", kind="cnn", params=spec_params()))
    # a saved net whose timm went away: loading it says the same (without a model name to give)
    from kaggle_kit.models.nn.architectures.timm_backbone import TimmNet

    with pytest.raises(ConfigError, match=r"^params\.backbone = 'timm:efficientnet_b0' needs the 'timm' package"):
        TimmNet("efficientnet_b0", 1, 3)


def test_the_trunk_is_timms_model_without_its_classifier_and_the_head_is_the_kits(fake_timm):
    p = FAMILIES["cnn"].validate("m", spec_params(drop_path=0.1, dropout=0.0))
    module = FAMILIES["cnn"].build(p, {"shape": [8, 8, 1]}, 5)
    assert fake_timm == [
        ("efficientnet_b0", {"pretrained": False, "num_classes": 0, "in_chans": 1, "drop_path_rate": 0.1})
    ]
    assert not any(k.startswith("body.classifier") for k in module.state_dict())
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        module.eval()
        assert torch.allclose(module(x), module.fc(module.body(x)))
    assert {n for n, _ in module.named_parameters()} - {n for n, _ in module.backbone_parameters()} == {
        "fc.weight",
        "fc.bias",
    }


def test_a_timm_checkpoint_loads_without_its_classifier_and_grey_sums_the_first_conv(fake_timm, tmp_path):
    source = FakeTimmNet(1000, 3)
    state = source.state_dict()
    path = tmp_path / "effnet.pth"
    torch.save(state, path)
    p = FAMILIES["cnn"].validate("m", spec_params(pretrained=str(path)))
    module = FAMILIES["cnn"].build(p, {"shape": [8, 8, 1]}, 5)
    FAMILIES["cnn"].prepare_for_fit(module, "m", p)
    loaded = module.body.state_dict()
    assert torch.allclose(loaded["conv_stem.weight"], state["conv_stem.weight"].sum(1, keepdim=True))
    assert torch.equal(loaded["blocks.0.0.weight"], state["blocks.0.0.weight"])
    assert torch.equal(loaded["bn1.running_var"], state["bn1.running_var"])
    assert not module.fc.weight.any()  # the kit's head, zeroed for fine-tuning
    assert {p.lr_factor for _, p in module.backbone_parameters()} == {0.1}


def test_a_wrong_timm_checkpoint_names_the_key_and_an_unknown_name_is_a_clear_error(fake_timm, tmp_path):
    state = FakeTimmNet(1000, 3).state_dict()
    del state["blocks.0.0.bias"]
    path = tmp_path / "effnet.pth"
    torch.save(state, path)
    adapter = make_adapter(ModelSpec(name="m", kind="cnn", params=spec_params(pretrained=str(path))))
    ctx = FitContext("multiclass", 3, get_metric("accuracy"), seed=0, device="cpu", threads=1)
    with pytest.raises(ConfigError, match=r"does not fit backbone 'timm:efficientnet_b0': key 'blocks\.0\.0\.bias'"):
        adapter.check(ctx)
    unknown = make_adapter(ModelSpec(name="m", kind="cnn", params=spec_params(backbone="timm:efficientnet_b1")))
    with pytest.raises(
        ConfigError, match=r"model 'm': params\.backbone = 'timm:efficientnet_b1': timm has no model.*efficientnet_b0"
    ):
        unknown.check(ctx)


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"backbone": "timm:"}, r"params\.backbone must be one of .*'timm:<model name>'"),
        ({"backbone": "timm:x", "small_input": True}, r"params\.small_input changes the stem of the kit's own"),
    ],
)
def test_timm_backbone_params_are_checked(fake_timm, given, match):
    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="m", kind="cnn", params={"image_shape": [8, 8, 1], **given}))


def test_a_timm_backbone_fits_saves_and_reloads(fake_timm, tmp_path):
    X, y = load_digits(return_X_y=True)
    rows = lambda idx: FeatureMatrix(X[idx].astype(np.float32), tuple(f"pixel{i}" for i in range(64)), ())  # noqa: E731
    path = tmp_path / "effnet.pth"
    torch.save(FakeTimmNet(1000, 3).state_dict(), path)
    params = spec_params(pretrained=str(path), epochs=4, patience=0, batch_size=32, lr=1e-2, ema=0.9)
    adapter = make_adapter(ModelSpec(name="t", kind="cnn", params=params))
    ctx = FitContext("multiclass", 10, get_metric("accuracy"), seed=0, device="cpu", threads=1)
    fitted = adapter.fit(rows(np.arange(300)), y[:300], rows(np.arange(300, 400)), y[300:400], ctx)
    pred = adapter.predict(fitted, rows(np.arange(300, 400)), ctx)
    assert float((pred.argmax(1) == y[300:400]).mean()) > 0.3  # it learned (chance: 0.1)
    adapter.save(fitted, tmp_path / adapter.file_name)
    again = adapter.load(tmp_path / adapter.file_name, ctx)
    np.testing.assert_array_equal(adapter.predict(again, rows(np.arange(300, 400)), ctx), pred)
