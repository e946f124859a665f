"""Image eval batches are capped so that the widest activation of a batch (float32) stays under glibc's mmap threshold:
the cap must be MMAP_THRESHOLD // the bytes per image of the widest activation, measured here from a real forward pass
of one image with a hook on every module, for the kit's CNN, each kit backbone with and without ``small_input``, a
hybrid's image branch, and a (fake) timm model on each of its three paths (meta device, CPU, fallback)."""

from __future__ import annotations

import sys
import types

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from kaggle_kit.models.nn.architectures import timm_backbone  # noqa: E402
from kaggle_kit.models.nn.architectures.hybrid import image_branch  # noqa: E402
from kaggle_kit.models.nn.families import FAMILIES  # noqa: E402
from kaggle_kit.models.nn.heap import MMAP_THRESHOLD  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def widest_output(module: nn.Module, shape: list[int]) -> int:
    """The most elements any module outputs for one ``H x W x C`` image (batch 1: all of a tensor is that image's)."""
    seen: list[int] = []
    handles = [
        m.register_forward_hook(lambda _m, _a, out: seen.append(out.numel()) if torch.is_tensor(out) else None)
        for m in module.modules()
    ]
    try:
        with torch.no_grad():
            module.eval()(torch.zeros(1, shape[2], shape[0], shape[1]))
    finally:
        for h in handles:
            h.remove()
    return max(seen)


def uncapped(family: str, **params) -> dict:
    return FAMILIES[family].validate("m", {"eval_batch_size": 10**9, **params})


#: (params of kind cnn, image_shape, the widest activation's elements worked out by hand)
CASES = {
    "cnn": ({"channels": [32, 64]}, [16, 16, 3], 32 * 16 * 16),  # the stem, full size
    "resnet18 small": ({"backbone": "resnet18"}, [16, 16, 3], 64 * 16 * 16),  # 'auto': small under 64 px
    "resnet18": ({"backbone": "resnet18", "small_input": False}, [33, 35, 1], 64 * 17 * 18),  # stem at stride 2
    "resnet50 small": ({"backbone": "resnet50", "small_input": True}, [16, 16, 1], 256 * 16 * 16),  # layer1, 4x
    "resnet50": ({"backbone": "resnet50", "small_input": False}, [32, 32, 3], 64 * 16 * 16),  # = 256 x 8 x 8
    "convnext_atto small": ({"backbone": "convnext_atto"}, [16, 16, 3], 4 * 40 * 16 * 16),  # the block's MLP
    "convnext_atto": ({"backbone": "convnext_atto", "small_input": False}, [35, 33, 1], 4 * 40 * 8 * 8),  # stride 4
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_cap_is_the_threshold_over_the_measured_widest_activation(case):
    extra, shape, by_hand = CASES[case]
    p = uncapped("cnn", image_shape=shape, **extra)
    torch.manual_seed(0)
    widest = widest_output(FAMILIES["cnn"].build(p, {"shape": shape}, 3), shape)
    assert widest == by_hand
    assert FAMILIES["cnn"].eval_batch_size(p) == MMAP_THRESHOLD // (widest * 4)
    assert FAMILIES["cnn"].eval_batch_size({**p, "eval_batch_size": 2}) == 2  # a smaller setting is kept


@pytest.mark.parametrize("image_backbone", ["none", "convnext_atto", "resnet50"])
def test_a_hybrids_cap_is_its_image_branchs(image_backbone):
    shape = [16, 16, 1]
    extra = {"image_channels": [8, 16]} if image_backbone == "none" else {"image_backbone": image_backbone}
    p = uncapped("hybrid", image_shape=shape, **extra)
    branch, _ = image_branch(p, shape)
    widest = widest_output(branch, shape)
    assert widest == {"none": 8, "convnext_atto": 4 * 40, "resnet50": 256}[image_backbone] * 16 * 16
    assert FAMILIES["hybrid"].eval_batch_size(p) == MMAP_THRESHOLD // (widest * 4)


class FakeTimm(nn.Module):
    """A timm-like trunk whose widest activation is inside, not at the stem: 96 channels at stride 2 (24 x H x W)
    against the stem's 8 x H x W. ``reads_values``: its constructor reads a tensor's value (as timm's
    stochastic-depth rates do), so it cannot be built on the meta device; ``broken``: its forward fails anywhere."""

    def __init__(self, in_chans: int, *, reads_values: bool = False, broken: bool = False) -> None:
        super().__init__()
        self.rate = float(torch.linspace(0, 0.1, 3)[1].item()) if reads_values else 0.0
        self.broken = broken
        self.conv_stem = nn.Conv2d(in_chans, 8, 3, padding=1)
        self.blocks = nn.Sequential(nn.Conv2d(8, 96, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(96, 40, 1))
        self.num_features = 40

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.broken:
            raise RuntimeError("no kernel")
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.blocks(self.conv_stem(x)), 1), 1)


@pytest.fixture
def fake_timm(monkeypatch):
    variants = {"meta_ok": {}, "cpu_only": {"reads_values": True}, "broken": {"broken": True}}
    module = types.ModuleType("timm")
    built_on: list[str] = []

    def create_model(name: str, **kw) -> FakeTimm:
        net = FakeTimm(kw["in_chans"], **variants[name])
        built_on.append(net.conv_stem.weight.device.type)
        return net

    module.create_model = create_model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "timm", module)
    timm_backbone._measured.cache_clear()
    yield built_on
    timm_backbone._measured.cache_clear()


@pytest.mark.parametrize("name", ["meta_ok", "cpu_only"])
def test_a_timm_models_widest_activation_is_measured_and_leaves_the_random_state_alone(name, fake_timm):
    shape = [16, 16, 3]
    p = uncapped("cnn", image_shape=shape, backbone=f"timm:{name}")
    torch.manual_seed(0)
    state = torch.get_rng_state()
    cap = FAMILIES["cnn"].eval_batch_size(p)
    assert torch.equal(torch.get_rng_state(), state)  # a fit calls it between seeding and training
    widest = widest_output(FAMILIES["cnn"].build(p, {"shape": shape}, 3), shape)
    assert widest == 96 * 8 * 8
    assert cap == MMAP_THRESHOLD // (widest * 4)
    assert fake_timm == ["meta" if name == "meta_ok" else "cpu", "cpu"]  # measured where it could be, then built
    FAMILIES["cnn"].eval_batch_size(p)
    assert len(fake_timm) == 2  # measured once per process and size


def test_a_timm_model_that_cannot_run_counts_as_64_channels_at_full_size(fake_timm):
    p = uncapped("cnn", image_shape=[16, 16, 3], backbone="timm:broken")
    assert FAMILIES["cnn"].eval_batch_size(p) == MMAP_THRESHOLD // (64 * 16 * 16 * 4)
