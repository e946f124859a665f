"""Fine-tuning features of the training loop: an exponential moving average of the weights (``params.ema``) checked
against an average computed here step by step, and gradient accumulation (``params.accumulate``) checked against
one batch of the same rows."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from kaggle_kit.errors import ConfigError  # noqa: E402
from kaggle_kit.models.nn.batches import Batches  # noqa: E402
from kaggle_kit.models.nn.callbacks import Callback, EarlyStopping  # noqa: E402
from kaggle_kit.models.nn.device import plan_device  # noqa: E402
from kaggle_kit.models.nn.families import FAMILIES  # noqa: E402
from kaggle_kit.models.nn.runtime import seeded  # noqa: E402
from kaggle_kit.models.nn.trainer import Trainer  # noqa: E402

CPU = plan_device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def _data(n: int = 72, d: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)


def _floats(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}


class AfterEachStep(Callback):
    """The live weights after every training batch (= every optimizer step without accumulation), and the module's
    weights at each epoch's end (what validation and early stopping see)."""

    def __init__(self) -> None:
        self.steps: list[dict[str, torch.Tensor]] = []
        self.epoch_end: list[dict[str, torch.Tensor]] = []

    def on_batch_end(self, state) -> None:
        self.steps.append(_floats(state.module))

    def on_epoch_end(self, state) -> None:
        self.epoch_end.append(_floats(state.module))


def independent_ema(start: dict[str, torch.Tensor], steps: list[dict[str, torch.Tensor]], decay: float) -> list:
    """e_0 = the initial weights; e_t = d_t e_(t-1) + (1 - d_t) w_t with d_t = min(decay, (1 + t) / (10 + t))."""
    out, e = [], {k: v.double() for k, v in start.items()}
    for t, w in enumerate(steps, start=1):
        d = min(decay, (1 + t) / (10 + t))
        e = {k: d * e[k] + (1 - d) * w[k].double() for k in e}
        out.append(e)
    return out


def _bn_net() -> nn.Module:  # BatchNorm: its running statistics are averaged too
    return nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 3))


def _fit(module, X, y, *, callbacks=(), valid=None, **params):
    with seeded(0, "cpu") as gen:
        train = Batches([X, y], batch_size=params.pop("batch_size", 8), plan=CPU, shuffle=True, generator=gen)
        trainer = Trainer(module, loss_fn=nn.CrossEntropyLoss(), params=params, plan=CPU, callbacks=list(callbacks))
        valid_batches = Batches(list(valid), batch_size=1024, plan=CPU) if valid is not None else None
        result = trainer.fit(train, valid_batches)
    return trainer, result


@pytest.mark.parametrize("decay", [0.9, 0.999])
def test_the_ema_weights_equal_an_exponential_average_computed_step_by_step(decay):
    X, y = _data()
    Xv, yv = _data(40, seed=1)
    with seeded(0, "cpu"):
        module = _bn_net()
    start = _floats(module)
    record = AfterEachStep()
    _, result = _fit(
        module, X, y, callbacks=[record], valid=(Xv, yv), epochs=3, lr=1e-2, schedule="constant", ema=decay
    )
    expected = independent_ema(start, record.steps, decay)
    steps_per_epoch = len(record.steps) // 3
    assert steps_per_epoch == 9
    final = _floats(module)
    for key, value in expected[-1].items():  # the module ends holding the average (what is predicted and saved)
        assert torch.allclose(final[key].double(), value, atol=1e-6), key
    # the raw weights differ from the average: the test would see a trainer that ignored params.ema
    assert not torch.allclose(record.steps[-1]["0.weight"], final["0.weight"], atol=1e-4)
    # validation each epoch saw the average of that moment
    for epoch in range(3):
        average = expected[(epoch + 1) * steps_per_epoch - 1]
        for key, value in average.items():
            assert torch.allclose(record.epoch_end[epoch][key].double(), value, atol=1e-6), (epoch, key)
        check = _bn_net().eval()
        check.load_state_dict({**module.state_dict(), **{k: v.float() for k, v in average.items()}})
        with torch.no_grad():
            loss = nn.functional.cross_entropy(check(torch.from_numpy(Xv)), torch.from_numpy(yv))
        assert result.history["valid_loss"][epoch] == pytest.approx(float(loss), rel=1e-5)


def test_early_stopping_keeps_the_average_of_its_best_epoch():
    X, y = _data()
    Xv, yv = _data(40, seed=1)
    with seeded(0, "cpu"):
        module = _bn_net()
    record = AfterEachStep()
    stopper = EarlyStopping("valid_loss", patience=2, greater_is_better=False)
    _, result = _fit(
        module, X, y, callbacks=[stopper, record], valid=(Xv, yv), epochs=12, lr=0.2, schedule="constant", ema=0.9
    )
    best = int(np.argmin(result.history["valid_loss"]))
    assert result.best_epoch == best + 1
    final = _floats(module)
    for key, value in record.epoch_end[best].items():
        assert torch.equal(final[key], value), key


def test_without_ema_nothing_is_averaged():
    X, y = _data()
    with seeded(0, "cpu"):
        module = _bn_net()
    record = AfterEachStep()
    trainer, _ = _fit(module, X, y, callbacks=[record], epochs=2, lr=1e-2, schedule="constant")
    assert trainer.ema is None
    for key, value in _floats(module).items():
        assert torch.equal(value, record.steps[-1][key])


def _mlp() -> nn.Module:  # no BatchNorm: a batch's gradient does not depend on how the rows are split
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
@pytest.mark.parametrize("n_rows", [64, 72])  # 72: each epoch ends with a short group of one batch of 8 rows
def test_n_micro_batches_update_as_one_batch_of_n_times_the_rows(optimizer, n_rows):
    X, y = _data(n_rows)
    common = {"epochs": 3, "lr": 0.05, "optimizer": optimizer, "schedule": "cosine", "warmup_epochs": 1}
    weights, lrs = [], []
    for batch_size, accumulate in ((32, 1), (8, 4)):
        with seeded(0, "cpu"):
            module = _mlp()
        trainer, _ = _fit(module, X, y, batch_size=batch_size, accumulate=accumulate, **common)
        weights.append(_floats(module))
        lrs.append((trainer.scheduler.last_epoch, trainer.optimizer.param_groups[0]["lr"]))
    assert lrs[0] == lrs[1]  # the schedule counts optimizer steps, not batches
    for key in weights[0]:
        assert torch.allclose(weights[0][key], weights[1][key], atol=1e-5), key
    with seeded(0, "cpu"):
        module = _mlp()
    _fit(module, X, y, batch_size=8, accumulate=1, **common)  # the same micro-batches without accumulation
    assert not torch.allclose(_floats(module)["0.weight"], weights[0]["0.weight"], atol=1e-3)


def test_accumulation_steps_the_optimizer_once_per_group():
    X, y = _data(72)

    class CountSteps(Callback):
        def __init__(self) -> None:
            self.changed: list[bool] = []
            self.last: torch.Tensor | None = None

        def on_batch_end(self, state) -> None:
            w = state.module[0].weight.detach().clone()
            self.changed.append(self.last is not None and not torch.equal(w, self.last))
            self.last = w

    count = CountSteps()
    with seeded(0, "cpu"):
        module = _mlp()
    _fit(module, X, y, callbacks=[count], batch_size=8, accumulate=4, epochs=1, lr=0.05, schedule="constant")
    # 9 batches: steps after batches 4, 8 and 9 (the epoch's short last group)
    assert count.changed == [False, False, False, True, False, False, False, True, True]


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"ema": 1.0}, r"params\.ema must be a number >= 0 and < 1"),
        ({"accumulate": 0}, r"params\.accumulate must be an integer in \[1, 4096\]"),
    ],
)
def test_ema_and_accumulate_are_checked(given, match):
    with pytest.raises(ConfigError, match=match):
        FAMILIES["mlp"].validate("m", given)
