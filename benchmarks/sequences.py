"""Long-table sequences at scale (``[data.sequences] layout = "streamed"`` vs ``"wide"``): memory and training speed.

Makes a long table of ``--ids`` sequences of ``--min-len`` .. ``--max-len`` steps (``--lengths skewed``: most
short, a tail of long ones; ``uniform``) and ``--channels``
float columns, then measures, each stage's time and peak resident memory above what was resident before it
(Linux, the peak reset before each stage):

* ``store``: the streamed reader's :func:`~kaggle_kit.features.sequence_store.build_sequence_store` (one value per
  existing step), then ``save + mmap``: written to ``.npy`` and read back memory-mapped, as a run does;
* ``wide``: the wide layout's :func:`~kaggle_kit.features.sequence.sequence_tensor` (``ids x max_len x channels``,
  built through the polars pivot that makes the ``<column>__t<k>`` columns);
* training sequences per second of a GRU (``rnn``: packed) and a ``cnn1d`` (masked) for ``--batches`` batches of
  ``--batch-size``: streamed batches (gathered from the memory-mapped store, padded to each batch's longest
  sequence) against the wide layout's batches (every row padded to ``max_len``).

Run::

    .venv/bin/python benchmarks/sequences.py                          # 20,000 ids x 20-500 steps x 3 channels
    .venv/bin/python benchmarks/sequences.py --ids 2000 --batches 5   # a quick look
    .venv/bin/python benchmarks/sequences.py --quick --json out.json  # the smoke run tests/test_benchmarks.py makes
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
from _machine import load_average, machine_line

from kaggle_kit.features.sequence import sequence_tensor
from kaggle_kit.features.sequence_store import build_sequence_store
from kaggle_kit.models.nn.architectures.cnn1d import CNN1D
from kaggle_kit.models.nn.architectures.rnn import RNN
from kaggle_kit.models.nn.batches import Batches
from kaggle_kit.models.nn.device import plan_device
from kaggle_kit.models.nn.sequence_batches import SequenceBatches, fit_streamed


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def stage(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set (Linux)
    before = _rss_kb("VmRSS:")
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    peak = (_rss_kb("VmHWM:") - before) / 1024
    print(f"{name:<34} {seconds:8.2f} s   peak +{peak:8.1f} MB")
    return out


def long_table(n: int, lo: int, hi: int, channels: int, spread: str, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    """``spread = "skewed"``: lengths log-normal around 3 x ``lo`` with a tail up to ``hi`` (most sequences short,
    a few long, as event logs are); ``"uniform"``: uniform in ``lo .. hi``."""
    rng = np.random.default_rng(seed)
    if spread == "uniform":
        lengths = rng.integers(lo, hi + 1, n)
    else:
        lengths = np.clip(rng.lognormal(np.log(3 * lo), 0.8, n), lo, hi).astype(np.int64)
    ids = np.repeat(np.arange(n), lengths)
    steps = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    values = {f"c{j}": rng.normal(size=len(ids)).astype(np.float32) for j in range(channels)}
    return pl.DataFrame({"id": ids, "step": steps, **values}), lengths


def sequences_per_second(net: torch.nn.Module, batches: Iterable[tuple[torch.Tensor, ...]], n_batches: int) -> float:
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    net.train()
    rows = 0
    start = time.perf_counter()
    for x, lengths, y in itertools.islice(batches, n_batches):
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(x, lengths), y).backward()
        optimizer.step()
        rows += len(y)
    return rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=20_000)
    parser.add_argument("--min-len", type=int, default=20)
    parser.add_argument("--max-len", type=int, default=500)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--lengths", choices=["skewed", "uniform"], default="skewed", help="length distribution")
    parser.add_argument("--batches", type=int, default=5, help="training batches timed per net and layout")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-wide", action="store_true", help="skip building the wide layout")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 ids, 2 batches of 8")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.ids, args.batches, args.batch_size, args.max_len = 300, 2, 8, 200
    figures: dict[str, Any] = {"ids": args.ids, "nets": {}}
    torch.set_num_threads(args.threads)
    torch.optim.AdamW(torch.nn.Linear(1, 1).parameters())  # torch.optim's first use imports much: not timed
    print(machine_line())
    print(
        f"{args.ids:,} ids x {args.min_len}-{args.max_len} steps ({args.lengths}) x {args.channels} channels, "
        f"{args.threads} thread(s), torch {torch.__version__}"
    )
    long, lengths = stage(
        "long table (polars)", long_table, args.ids, args.min_len, args.max_len, args.channels, args.lengths
    )
    columns = [f"c{j}" for j in range(args.channels)]
    ids = pl.Series("id", np.arange(args.ids))
    store = stage("store (streamed reader)", build_sequence_store, long, "id", columns, ids=ids, order_by="step")
    with tempfile.TemporaryDirectory() as tmp:
        mapped = stage("save + mmap", store.save, Path(tmp) / "sequences")
        del store
        steps = int(lengths.sum())
        wide_bytes = args.ids * args.max_len * args.channels * 4
        figures |= {"steps": steps, "store_bytes": int(mapped.values.nbytes), "wide_bytes": wide_bytes}
        print(
            f"store: {steps:,} steps, {mapped.values.nbytes / 2**20:,.1f} MB values + "
            f"{mapped.offsets.nbytes / 2**20:,.2f} MB offsets; the wide array would be {wide_bytes / 2**20:,.1f} MB "
            f"({wide_bytes / mapped.values.nbytes:.2f}x)"
        )
        wide = None
        if not args.no_wide:
            wide = stage("wide (sequence_tensor, pivot)", sequence_tensor, long, "id", columns, order_by="step")
        del long

        rows = np.random.default_rng(1).permutation(args.ids)
        y = (np.arange(args.ids) % 2).astype(np.int64)
        state = fit_streamed(mapped, rows[: args.ids // 2])
        plan = plan_device("cpu")
        print(f"\ntraining, {args.batches} batches of {args.batch_size}: sequences per second (higher is better)")
        print(f"{'net':<8}{'streamed':>12}{'wide':>12}{'streamed / wide':>18}")
        nets: dict[str, Callable[[], torch.nn.Module]] = {
            "gru": lambda: RNN(args.channels, 2, hidden=32, layers=1),
            "cnn1d": lambda: CNN1D(args.channels, 2, channels=[32, 64]),
        }
        for name, make in nets.items():
            torch.manual_seed(0)
            streamed = SequenceBatches(
                mapped,
                rows,
                [y[rows]],
                state=state,
                batch_size=args.batch_size,
                plan=plan,
                shuffle=True,
                generator=torch.Generator().manual_seed(0),
            )
            fast = stage(f"{name} streamed", sequences_per_second, make(), streamed, args.batches)
            slow = float("nan")
            if wide is not None:
                X, lens, _ = wide
                x = np.nan_to_num((X - np.float32(state["mean"])) / np.float32(state["std"]))
                batches = Batches(
                    [x[rows], lens[rows], y[rows]],
                    batch_size=args.batch_size,
                    plan=plan,
                    shuffle=True,
                    generator=torch.Generator().manual_seed(0),
                )
                torch.manual_seed(0)
                slow = stage(f"{name} wide", sequences_per_second, make(), batches, args.batches)
                del x, batches
            print(f"{name:<8}{fast:>12,.0f}{slow:>12,.0f}{fast / slow:>17.2f}x")
            figures["nets"][name] = {"streamed": fast, "wide": slow}
    print(f"load average after: {load_average()}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
