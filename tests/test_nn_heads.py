"""The task head of every backbone (architectures/heads.py): ``drop_head`` returns the head's input width and leaves no
head keys, ``reset_head`` zeroes the head and nothing else, ``backbone_parameters`` is exactly everything but the head
(for a hybrid: exactly the image branch). timm is a fake module here (timm itself is not a dependency)."""

from __future__ import annotations

import sys
import types

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from kaggle_kit.models.nn.architectures.hybrid import build as build_hybrid  # noqa: E402
from kaggle_kit.models.nn.families import FAMILIES  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


class FakeTimmNet(nn.Module):
    """timm's contract with ``num_classes=0``: the pooled features, ``num_features`` wide."""

    def __init__(self, num_classes: int, in_chans: int) -> None:
        super().__init__()
        self.conv_stem = nn.Conv2d(in_chans, 8, 3, padding=1, bias=False)
        self.blocks = nn.Sequential(nn.Conv2d(8, 24, 3, stride=2, padding=1), nn.ReLU())
        self.num_features = 24
        self.classifier = nn.Linear(24, num_classes) if num_classes else nn.Identity()
        self.pretrained_cfg = {"first_conv": "conv_stem", "classifier": "classifier"}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(self.blocks(self.conv_stem(x)), 1), 1))


@pytest.fixture
def fake_timm(monkeypatch):
    module = types.ModuleType("timm")
    module.create_model = lambda name, **kw: FakeTimmNet(kw["num_classes"], kw["in_chans"])  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "timm", module)


#: backbone -> (its head's dotted name, its pooled features' width)
BACKBONES = {
    "resnet18": ("fc", 512),
    "resnet50": ("fc", 2048),
    "convnext_atto": ("classifier.2", 320),
    "timm:fake": ("fc", 24),
}
SHAPE = [16, 16, 3]


def backbone(name: str, n_outputs: int = 5):
    torch.manual_seed(0)
    p = FAMILIES["cnn"].validate("m", {"image_shape": SHAPE, "backbone": name, "dropout": 0.0})
    return FAMILIES["cnn"].build(p, {"shape": SHAPE}, n_outputs)


def randomise(module: nn.Module) -> None:
    """Nonzero everything (a head starts nonzero anyway; this makes 'zeroed' mean something for every tensor)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=g) + 0.5)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_drop_head_returns_the_heads_input_width_and_leaves_no_head_keys(name, fake_timm):
    head_name, width = BACKBONES[name]
    module = backbone(name)
    head = module.get_submodule(head_name)
    assert isinstance(head, nn.Linear) and head.in_features == width
    x = torch.randn(2, SHAPE[2], *SHAPE[:2])
    module.eval()
    with torch.no_grad():
        pooled = module.pooled_features(x)
        assert module.drop_head(0.3) == width == pooled.shape[1]
        replaced = module.get_submodule(head_name)
        assert isinstance(replaced, nn.Dropout) and replaced.p == 0.3
        assert not any(k.startswith(f"{head_name}.") for k in module.state_dict())
        module.eval()  # the new Dropout starts in training mode, as any new module
        torch.testing.assert_close(module(x), pooled, rtol=0, atol=0)  # the features pass the dropout (eval: as is)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_reset_head_zeroes_the_head_and_nothing_else(name, fake_timm):
    head_name, _ = BACKBONES[name]
    module = backbone(name)
    randomise(module)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    module.reset_head()
    after = module.state_dict()
    assert list(after) == list(before)
    for key, value in after.items():
        if key.startswith(f"{head_name}."):
            assert key in (f"{head_name}.weight", f"{head_name}.bias") and not value.any(), key
        else:
            assert torch.equal(value, before[key]), key


@pytest.mark.parametrize("name", list(BACKBONES))
def test_backbone_parameters_are_exactly_all_but_the_head(name, fake_timm):
    head_name, _ = BACKBONES[name]
    module = backbone(name)
    assert module.head_prefix == f"{head_name}."
    names = [n for n, _ in module.named_parameters()]
    expected = [n for n in names if n not in (f"{head_name}.weight", f"{head_name}.bias")]
    assert len(expected) == len(names) - 2
    got = module.backbone_parameters()
    assert [n for n, _ in got] == expected  # in named_parameters order
    params = dict(module.named_parameters())
    assert all(p is params[n] for n, p in got)
    head_ids = {id(p) for p in module.get_submodule(head_name).parameters()}
    assert head_ids.isdisjoint(id(p) for _, p in got)


@pytest.mark.parametrize("image_backbone", ["resnet18", "convnext_atto"])
def test_a_hybrids_backbone_is_exactly_its_image_branch_and_reset_zeroes_only_the_last_layer(image_backbone):
    p = FAMILIES["hybrid"].validate(
        "m", {"image_shape": SHAPE, "image_backbone": image_backbone, "table_hidden": [8], "head_hidden": [8]}
    )
    inputs = {"image": {"shape": SHAPE}, "table": {"numeric": ["a", "b"], "cardinality": [3]}}
    torch.manual_seed(0)
    module = build_hybrid(p, inputs, 3)
    last = f"head.{len(module.head) - 1}"
    assert module.head_name == last and isinstance(module.get_submodule(last), nn.Linear)
    image = [(f"image.{n}", p) for n, p in module.image.named_parameters()]
    got = module.backbone_parameters()
    assert [n for n, _ in got] == [n for n, _ in image] and all(
        a is b for (_, a), (_, b) in zip(got, image, strict=True)
    )
    randomise(module)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    module.reset_head()
    for key, value in module.state_dict().items():
        if key.startswith(f"{last}."):
            assert not value.any(), key
        else:
            assert torch.equal(value, before[key]), key
