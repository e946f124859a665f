"""Overhead of kaggle_kit's training loop against a bare torch loop over the same model, data and optimizer.

Both loops run the same epochs: shuffled mini-batches with AdamW and a one-cycle schedule, then a forward pass over
the validation rows and their accuracy. The kit's loop adds what it always does (loss accumulated on the device,
per-epoch history, the callback dispatch, early stopping with its copy of the best weights). The two are timed in
alternation, ``--repeats`` times, each over ``--epochs`` epochs from the same initial weights; the script prints the
median time per epoch of each and their ratio (target: <= 1.05).

    .venv/bin/python benchmarks/nn_loop_overhead.py                 # MLP on a 64-feature table
    .venv/bin/python benchmarks/nn_loop_overhead.py --model cnn     # CNN on 8x8 images
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
from torch import nn

from kaggle_kit.models.nn.architectures.cnn import ImageCNN
from kaggle_kit.models.nn.architectures.mlp import MLP
from kaggle_kit.models.nn.batches import Batches
from kaggle_kit.models.nn.callbacks import EarlyStopping
from kaggle_kit.models.nn.device import plan_device
from kaggle_kit.models.nn.trainer import Scorer, Trainer


def make_data(model: str, rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = (64,) if model == "mlp" else (1, 8, 8)
    X = rng.normal(size=(rows, *shape)).astype(np.float32)
    w = rng.normal(size=(int(np.prod(shape)), 10))
    y = np.argmax(X.reshape(rows, -1) @ w + rng.normal(size=(rows, 10)), axis=1).astype(np.int64)
    cut = int(rows * 0.8)
    return X[:cut], y[:cut], X[cut:], y[cut:]


def make_module(model: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    if model == "mlp":
        return MLP(64, [], 10, hidden=[256, 256], dropout=0.1)
    return ImageCNN(1, 10, channels=[32, 64])


def _forward(module: nn.Module, model: str, x: torch.Tensor) -> torch.Tensor:
    return module(x, x[:, :0].long()) if model == "mlp" else module(x)


def bare_loop(model: str, data: tuple[np.ndarray, ...], epochs: int, batch_size: int, lr: float) -> float:
    """The loop one writes by hand: the reference. Returns seconds."""
    Xtr, ytr, Xva, yva = (torch.from_numpy(a) for a in data)
    module = make_module(model, 0)
    opt = torch.optim.AdamW(module.parameters(), lr=lr)
    steps = epochs * ((len(Xtr) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, cycle_momentum=False)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(1)
    start = time.perf_counter()
    for _ in range(epochs):
        module.train()
        perm = torch.randperm(len(Xtr), generator=gen)
        for i in range(0, len(Xtr), batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(_forward(module, model, Xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            sched.step()
        module.eval()
        with torch.inference_mode():
            out = torch.cat([_forward(module, model, Xva[i : i + 1024]) for i in range(0, len(Xva), 1024)])
            float((out.argmax(1) == yva).float().mean())
    return time.perf_counter() - start


def kit_loop(model: str, data: tuple[np.ndarray, ...], epochs: int, batch_size: int, lr: float) -> float:
    """kaggle_kit's Trainer with validation metric and early stopping. Returns seconds."""
    Xtr, ytr, Xva, yva = data
    plan = plan_device("cpu")
    module = make_module(model, 0)

    class TableAdapter(nn.Module):  # the MLP takes (x_num, x_cat); the benchmark's table has no categories
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return _forward(self.inner, model, x)

    params = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "schedule": "onecycle", "weight_decay": 0.01}
    accuracy = Scorer("accuracy", lambda y, p: float(np.mean(np.argmax(p, 1) == y)), True)
    trainer = Trainer(
        TableAdapter(module),
        loss_fn=nn.CrossEntropyLoss(),
        params=params,
        plan=plan,
        scorer=accuracy,
        callbacks=[EarlyStopping("valid_accuracy", patience=epochs + 1, greater_is_better=True)],
    )
    gen = torch.Generator().manual_seed(1)
    train = Batches([Xtr, ytr], batch_size=batch_size, plan=plan, shuffle=True, generator=gen)
    valid = Batches([Xva, yva], batch_size=1024, plan=plan)
    start = time.perf_counter()
    trainer.fit(train, valid, yva)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each loop, in alternation")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data = make_data(args.model, args.rows)
    lr = 1e-3
    print(
        f"torch {torch.__version__} on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch threads {torch.get_num_threads()}, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(f"model {args.model}, {len(data[0])} training rows, {len(data[2])} validation rows, batch {args.batch_size}")
    bare_loop(args.model, data, 1, args.batch_size, lr)  # warm-up: allocator, kernels
    kit_loop(args.model, data, 1, args.batch_size, lr)
    bare, kit = [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(args.model, data, args.epochs, args.batch_size, lr) / args.epochs)
        kit.append(kit_loop(args.model, data, args.epochs, args.batch_size, lr) / args.epochs)
    b, k = statistics.median(bare), statistics.median(kit)
    print(f"bare torch loop : {b * 1000:8.1f} ms/epoch  (runs: {' '.join(f'{t * 1000:.0f}' for t in bare)})")
    print(f"kaggle_kit loop : {k * 1000:8.1f} ms/epoch  (runs: {' '.join(f'{t * 1000:.0f}' for t in kit)})")
    print(f"ratio kit / bare: {k / b:.3f}  (target <= 1.05)")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
