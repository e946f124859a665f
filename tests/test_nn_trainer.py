"""The training loop: early stopping restores the best epoch, a tiny batch overfits to 100 %, same seed same OOF,
callbacks, schedules, clipping, batches and augmentation."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import demo_spec

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from kaggle_kit.models.nn.augment import ImageAugment, SequenceAugment, shift_image  # noqa: E402
from kaggle_kit.models.nn.batches import Batches  # noqa: E402
from kaggle_kit.models.nn.callbacks import Callback, EarlyStopping, TrainState  # noqa: E402
from kaggle_kit.models.nn.device import plan_device  # noqa: E402
from kaggle_kit.models.nn.runtime import seeded  # noqa: E402
from kaggle_kit.models.nn.trainer import Trainer  # noqa: E402

CPU = plan_device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def _mlp(n_in: int, n_out: int, width: int = 64) -> nn.Module:
    return nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, n_out))


def _noisy_task(n_train: int = 60, n_valid: int = 400, d: int = 20) -> tuple[np.ndarray, ...]:
    """Labels from the first feature with 25 % flipped: a wide net memorises the flips and the validation loss rises."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_train + n_valid, d)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    flip = rng.random(len(y)) < 0.25
    y[flip] = 1 - y[flip]
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.argmax(p, 1) == y))


def test_early_stopping_restores_the_best_epoch() -> None:
    Xtr, ytr, Xva, yva = _noisy_task()
    with seeded(0, "cpu") as gen:
        module = _mlp(Xtr.shape[1], 2, width=256)
        train = Batches([Xtr, ytr], batch_size=16, plan=CPU, shuffle=True, generator=gen)
        valid = Batches([Xva, yva], batch_size=1024, plan=CPU)
        params = {"epochs": 200, "lr": 1e-2, "schedule": "constant", "weight_decay": 0.0}
        stopper = EarlyStopping("valid_loss", patience=5, greater_is_better=False, tie_breaker=None)
        trainer = Trainer(module, loss_fn=nn.CrossEntropyLoss(), params=params, plan=CPU, callbacks=[stopper])
        result = trainer.fit(train, valid, yva)
    curve = result.history["valid_loss"]
    best = int(np.argmin(curve)) + 1
    assert result.best_epoch == best
    assert result.epochs_run == best + 5 < 200  # stopped `patience` epochs after the best
    assert curve[-1] > curve[best - 1]  # it did get worse: the restore matters
    _, loss_now = trainer.evaluate(valid)
    assert loss_now == pytest.approx(curve[best - 1], rel=1e-6)  # the module holds the best epoch's weights


def test_early_stopping_on_a_flat_metric_breaks_ties_by_loss() -> None:
    state = TrainState(module=nn.Linear(1, 1), optimizer=None, epochs=10)  # type: ignore[arg-type]
    stopper = EarlyStopping("valid_accuracy", patience=2, greater_is_better=True)
    stopper.on_train_begin(state)
    for epoch, (acc, loss) in enumerate([(0.9, 0.5), (0.9, 0.4), (0.9, 0.45), (float("nan"), 0.1), (0.8, 0.3)], 1):
        state.epoch = epoch
        state.history.setdefault("valid_accuracy", []).append(acc)
        state.history.setdefault("valid_loss", []).append(loss)
        stopper.on_epoch_end(state)
        if state.stop:
            break
    assert stopper.best_epoch == 2 and state.epoch == 4 and state.stop  # NaN never improves


def test_early_stopping_on_a_metric_nan_in_every_epoch_follows_the_loss() -> None:
    """A validation fold of one class has no AUC in any epoch: the loss picks the epoch. NaN never improving had
    stopped training at epoch ``patience`` and kept that epoch's weights, however the loss went on falling."""
    state = TrainState(module=nn.Linear(1, 1), optimizer=None, epochs=10)  # type: ignore[arg-type]
    stopper = EarlyStopping("valid_roc_auc", patience=2, greater_is_better=True)
    stopper.on_train_begin(state)
    for epoch, loss in enumerate([0.6, 0.5, 0.4, 0.3, 0.35, 0.36, 0.2], 1):
        state.epoch = epoch
        state.history.setdefault("valid_roc_auc", []).append(float("nan"))
        state.history.setdefault("valid_loss", []).append(loss)
        stopper.on_epoch_end(state)
        if state.stop:
            break
    assert stopper.best_epoch == 4 and state.epoch == 6 and state.stop


def test_early_stopping_never_keeps_an_epoch_whose_loss_is_nan() -> None:
    """The tie-breaker NaN (a validation loss the trainer would stop on as diverged): that epoch's weights are never
    the best, however its metric reads, so no NaN weights are put back."""
    state = TrainState(module=nn.Linear(1, 1), optimizer=None, epochs=10)  # type: ignore[arg-type]
    stopper = EarlyStopping("valid_roc_auc", patience=3, greater_is_better=True)
    stopper.on_train_begin(state)
    for epoch, (auc, loss) in enumerate([(0.6, 0.5), (0.9, float("nan")), (float("nan"), float("nan"))], 1):
        state.epoch = epoch
        state.history.setdefault("valid_roc_auc", []).append(auc)
        state.history.setdefault("valid_loss", []).append(loss)
        stopper.on_epoch_end(state)
    assert stopper.best_epoch == 1
    stopper.on_train_begin(state)  # a first epoch with a NaN loss is not kept either
    state.history = {"valid_roc_auc": [float("nan")], "valid_loss": [float("nan")]}
    state.epoch = 1
    stopper.on_epoch_end(state)
    assert stopper.best_epoch is None and stopper.best_weights is None


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_overfits_a_tiny_batch_to_100_percent(kind: str) -> None:
    """The classic sanity check: 16 rows with random labels are memorised exactly."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 16)
    if kind == "mlp":
        X = rng.normal(size=(16, 8)).astype(np.float32)
        module = _mlp(8, 4)
    else:
        X = rng.normal(size=(16, 1, 8, 8)).astype(np.float32)
        module = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(64, 4)
        )
    params = {"epochs": 150, "lr": 1e-2, "schedule": "constant", "weight_decay": 0.0}
    with seeded(0, "cpu") as gen:
        batches = Batches([X, y], batch_size=16, plan=CPU, shuffle=True, generator=gen)
        trainer = Trainer(module, loss_fn=nn.CrossEntropyLoss(), params=params, plan=CPU)
        result = trainer.fit(batches)
    pred = trainer.predict(Batches([X], batch_size=16, plan=CPU))
    assert _accuracy(y, pred) == 1.0
    assert result.history["train_loss"][-1] < 0.05


def test_same_seed_gives_identical_oof_through_the_runner(demo_data: Path, tmp_path: Path) -> None:
    """Two runs of the digits demo's nets with the same seed give byte-identical OOF predictions on CPU."""
    from kaggle_kit.runtime.runner import run

    models = [
        {"name": "cnn", "kind": "cnn", "params": {"image_shape": [8, 8, 1], "channels": [8, 16], "epochs": 2}},
        {"name": "mlp", "kind": "mlp", "params": {"hidden": [32], "epochs": 2}},
    ]
    oof = {}
    for run_name in ("a", "b"):
        spec = demo_spec("demo-digits", demo_data, models=models, folds={"n_splits": 3}, run={"threads_per_task": 1})
        result = run(spec, runs_root=tmp_path / run_name, n_jobs=1, progress=None)
        assert all(m.status == "ok" for m in result.models)
        oof[run_name] = {
            m.name: pl.read_parquet(next((result.run_dir / "models" / m.name).glob("*/oof.parquet")))
            for m in result.models
        }
    for name in ("cnn", "mlp"):
        assert oof["a"][name].equals(oof["b"][name])


def test_another_seed_gives_other_weights() -> None:
    Xtr, ytr, Xva, _ = _noisy_task()

    def fit(seed: int) -> np.ndarray:
        with seeded(seed, "cpu") as gen:
            trainer = Trainer(_mlp(20, 2), loss_fn=nn.CrossEntropyLoss(), params={"epochs": 2}, plan=CPU)
            trainer.fit(Batches([Xtr, ytr], batch_size=16, plan=CPU, shuffle=True, generator=gen))
        return trainer.predict(Batches([Xva], batch_size=512, plan=CPU))

    a, b, c = fit(1), fit(1), fit(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


class _Recorder(Callback):
    def __init__(self, stop_at: int | None = None) -> None:
        self.calls: list[str] = []
        self.stop_at = stop_at

    def on_train_begin(self, state: TrainState) -> None:
        self.calls.append("train_begin")

    def on_epoch_begin(self, state: TrainState) -> None:
        self.calls.append(f"epoch_begin {state.epoch}")

    def on_batch_begin(self, state: TrainState) -> None:
        self.calls.append("batch_begin")

    def on_batch_end(self, state: TrainState) -> None:
        assert state.loss is not None
        self.calls.append("batch_end")

    def on_epoch_end(self, state: TrainState) -> None:
        self.calls.append(f"epoch_end {state.epoch}")
        state.stop = state.epoch == self.stop_at

    def on_train_end(self, state: TrainState) -> None:
        self.calls.append("train_end")


def test_callback_hooks_order_and_stop() -> None:
    Xtr, ytr, _, _ = _noisy_task()
    batches = Batches([Xtr, ytr], batch_size=32, plan=CPU)  # 60 rows: 2 batches
    recorder = _Recorder(stop_at=2)
    trainer = Trainer(_mlp(20, 2), loss_fn=nn.CrossEntropyLoss(), params={"epochs": 5}, plan=CPU, callbacks=[recorder])
    result = trainer.fit(batches)
    epoch = ["batch_begin", "batch_end"] * 2
    assert recorder.calls == [
        "train_begin",
        "epoch_begin 1",
        *epoch,
        "epoch_end 1",
        "epoch_begin 2",
        *epoch,
        "epoch_end 2",
        "train_end",
    ]
    assert result.epochs_run == 2 and result.best_epoch == 2 and list(result.history) == ["train_loss", "lr"]


def test_base_callback_hooks_are_skipped() -> None:
    from kaggle_kit.models.nn.callbacks import overridden_hooks

    hooks = overridden_hooks([Callback(), EarlyStopping("valid_loss", patience=1, greater_is_better=False)])
    assert hooks["on_batch_begin"] == [] and hooks["on_batch_end"] == [] and len(hooks["on_epoch_end"]) == 1


def _lr_curve(params: dict, valid: bool = False) -> list[float]:
    Xtr, ytr, Xva, yva = _noisy_task()
    lrs: list[float] = []

    class PerBatch(Callback):
        def on_batch_begin(self, state: TrainState) -> None:
            lrs.append(state.optimizer.param_groups[0]["lr"])

    trainer = Trainer(_mlp(20, 2), loss_fn=nn.CrossEntropyLoss(), params=params, plan=CPU, callbacks=[PerBatch()])
    vb = Batches([Xva, yva], batch_size=512, plan=CPU) if valid else None
    trainer.fit(Batches([Xtr, ytr], batch_size=6, plan=CPU), vb)  # 10 batches per epoch
    return lrs


def test_learning_rate_schedules() -> None:
    one = _lr_curve({"epochs": 10, "lr": 0.1, "schedule": "onecycle", "warmup_epochs": 3})
    peak = int(np.argmax(one))
    assert max(one) == pytest.approx(0.1) and 25 <= peak <= 35 and one[0] < 0.01 and one[-1] < 1e-4
    cos = _lr_curve({"epochs": 10, "lr": 0.1, "schedule": "cosine", "warmup_epochs": 2})
    assert cos[0] == pytest.approx(0.1 / 20) and cos[19] == pytest.approx(0.1) and cos[-1] < 1e-3
    assert all(a <= b for a, b in itertools.pairwise(cos[:20]))  # linear warm-up
    const = _lr_curve({"epochs": 3, "lr": 0.05, "schedule": "constant", "optimizer": "sgd"})
    assert set(const) == {0.05}
    # reduce-on-plateau: the noisy task's validation loss stops falling, so the rate is cut
    plateau = _lr_curve({"epochs": 30, "lr": 0.01, "schedule": "plateau", "plateau_patience": 1}, valid=True)
    assert plateau[0] == 0.01 and min(plateau) < 0.01


def test_sgd_uses_nesterov_momentum_and_no_decay_on_biases() -> None:
    from kaggle_kit.models.nn.optim import make_optimizer

    opt = make_optimizer(_mlp(4, 2), {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3})
    assert type(opt).__name__ == "SGD" and opt.defaults["nesterov"] and opt.defaults["momentum"] == 0.9
    decays = {g["weight_decay"]: [p.ndim for p in g["params"]] for g in opt.param_groups}
    assert set(decays[1e-3]) == {2} and set(decays[0.0]) == {1}


@pytest.mark.parametrize(
    ("name", "options"),
    [("AdamW", {"betas": (0.9, 0.95)}), ("Adam", {}), ("SGD", {"momentum": 0.9, "nesterov": True})],
)
def test_the_kits_optimizers_step_exactly_as_torchs(name: str, options: dict) -> None:
    """The kit's own optimizers (written out to keep torch._dynamo out of the workers) follow torch's update rules:
    two groups with their own lr and weight decay, a one-cycle schedule (cycling SGD's momentum) over 20 steps."""
    from kaggle_kit.models.nn import optim

    final = []
    for cls in (getattr(optim, name), getattr(torch.optim, name)):
        torch.manual_seed(0)
        net = _mlp(5, 1, width=8)
        decayed = [p for p in net.parameters() if p.ndim > 1]
        others = [p for p in net.parameters() if p.ndim == 1]
        groups = [
            {"params": decayed, "lr": 0.01, "weight_decay": 0.02},
            {"params": others, "lr": 0.003, "weight_decay": 0.0},
        ]
        opt = cls(groups, lr=0.01, **options)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=[0.01, 0.003], total_steps=20, cycle_momentum=name == "SGD"
        )
        x, y = torch.randn(64, 5), torch.randn(64, 1)
        for _ in range(20):
            opt.zero_grad()
            ((net(x) - y) ** 2).mean().backward()
            opt.step()
            sched.step()
        final.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    torch.manual_seed(0)
    start = torch.cat([p.detach().flatten() for p in _mlp(5, 1, width=8).parameters()])
    assert (final[0] - start).abs().max() > 1e-3  # the steps moved the weights
    torch.testing.assert_close(final[0], final[1], rtol=1e-6, atol=1e-7)


@pytest.mark.slow
def test_a_net_fit_does_not_import_torch_dynamo() -> None:
    """torch's own optimizers import torch._dynamo on first use (1.5-2.5 s in each fresh worker process)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from kaggle_kit.models.nn.estimators import NetClassifier\n"
        "X = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)\n"
        "NetClassifier('realmlp', {'epochs': 2}, validation_fraction=0.25, threads=1).fit(X, X[:, 0] > 0)\n"
        "assert 'torch._dynamo' not in sys.modules, 'a fit imported torch._dynamo'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_gradient_clipping_bounds_the_norm() -> None:
    Xtr, ytr, _, _ = _noisy_task()
    norms: list[float] = []

    class GradNorm(Callback):
        def on_batch_end(self, state: TrainState) -> None:
            grads = [p.grad.norm() for p in state.module.parameters() if p.grad is not None]
            norms.append(float(torch.linalg.vector_norm(torch.stack(grads))))

    params = {"epochs": 2, "clip_grad_norm": 0.01, "lr": 1e-3}
    Trainer(_mlp(20, 2), loss_fn=nn.CrossEntropyLoss(), params=params, plan=CPU, callbacks=[GradNorm()]).fit(
        Batches([Xtr, ytr], batch_size=20, plan=CPU)
    )
    assert norms and max(norms) <= 0.01 + 1e-6


def test_seeded_leaves_the_global_generator_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with seeded(5, "cpu"):
        inside = torch.rand(3)
    assert torch.equal(torch.rand(3), expected)
    with seeded(5, "cpu"):
        assert torch.equal(torch.rand(3), inside)


def test_batches_cover_every_row_once_and_drop_a_singleton() -> None:
    X = np.arange(21, dtype=np.float32).reshape(-1, 1)
    gen = torch.Generator().manual_seed(0)
    shuffled = Batches([X], batch_size=5, plan=CPU, shuffle=True, generator=gen)
    rows = torch.cat([b[0] for b in shuffled]).flatten().tolist()
    assert sorted(rows) == list(range(21)) and rows != list(range(21)) and len(shuffled) == 5
    training = Batches([X], batch_size=5, plan=CPU, shuffle=True, generator=gen, drop_singleton=True)
    assert len(training) == 4 and sum(len(b[0]) for b in training) == 20  # BatchNorm cannot train on 1 row
    plain = Batches([X], batch_size=8, plan=CPU)
    assert [len(b[0]) for b in plain] == [8, 8, 5]
    assert torch.cat([b[0] for b in plain]).flatten().tolist() == list(range(21))  # unshuffled: file order


def test_streamed_batches_equal_resident_ones() -> None:
    """The staging-buffer path (pinned + asynchronous on CUDA) gathers the same rows as the resident path."""
    X = np.random.default_rng(0).normal(size=(23, 3, 2)).astype(np.float32)
    y = np.arange(23)
    for shuffle in (False, True):
        kinds = {}
        for name, budget in (("resident", None), ("streamed", 0)):
            gen = torch.Generator().manual_seed(4)
            b = Batches([X, y], batch_size=5, plan=CPU, shuffle=shuffle, generator=gen, resident_bytes=budget)
            assert b.resident == (name == "resident")
            kinds[name] = list(b)  # all batches held at once: each must be its own tensor, not a reused buffer
        assert len(kinds["streamed"]) == 5
        for (xr, yr), (xs, ys) in zip(kinds["resident"], kinds["streamed"], strict=True):
            assert torch.equal(xr, xs) and torch.equal(yr, ys)


def test_image_augmentation_and_tta_views() -> None:
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    moved = shift_image(x, 1, 0)  # down one row, the top row repeated
    assert torch.equal(moved[:, :, 1:], x[:, :, :-1]) and torch.equal(moved[:, :, 0], x[:, :, 0])
    assert torch.equal(ImageAugment(hflip=True).tta_views()[1](x), x.flip(-1))
    assert len(ImageAugment(shift=1, hflip=True).tta_views()) == 6  # identity, flip, 4 shifts
    assert not ImageAugment().active
    torch.manual_seed(0)
    out = ImageAugment(shift=1, rotate=15, scale=0.1, hflip=True)(x)
    assert out.shape == x.shape and not torch.equal(out, x)
    # a zero warp is the identity
    assert torch.allclose(ImageAugment(shift=0, rotate=1e-9)(x), x, atol=1e-4)


def test_sequence_shift_augmentation() -> None:
    x = torch.arange(10, dtype=torch.float32).reshape(1, 10, 1).repeat(50, 1, 1)
    torch.manual_seed(0)
    out = SequenceAugment(shift=2)(x)
    offsets = {int(o) for o in (out[:, 5, 0] - 5)}
    assert offsets <= {-2, -1, 0, 1, 2} and len(offsets) > 1
