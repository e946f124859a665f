"""The kit's CUDA paths, measured against its CPU paths on the same machine in the same run.

Nothing here runs without a GPU; it is what a session with a lent GPU runs (the figures go to the issue note and
``RESULTS.md``). Parts, each selectable:

- ``nets``: the table nets (``mlp``, ``realmlp``, ``tabm``) through the kit's adapter at their default params on a
  generated table with periodic effects (``y = sin(6 x1) + sin(8 x2) + x3 + noise``, binary by its sign, ROC AUC,
  ``--rows`` rows, 80 / 20 split), then the ``cnn`` at its default recipe on scikit-learn's digits (8 x 8, accuracy):
  device ``cpu`` (``--cpu-threads`` torch threads) vs ``cuda`` (the device plan: bf16 autocast where supported,
  channels-last for images, pinned memory). Printed: fit seconds, epochs kept, the held-out score, the plan.
- ``catboost``: the CatBoost adapter on a generated table with a 2,000-level categorical signal, ``task_type`` CPU vs
  GPU (the run's device), its ``.cbm`` saved and loaded back (predictions compared).
- ``xgboost``: the XGBoost adapter at its defaults on generated tables (``--lgbm-rows`` rows x 40), ``device`` cpu
  (1 thread, and ``--cpu-threads``) vs cuda; the CUDA model saved as UBJ and loaded back on the CPU (the predictions
  compared: a GPU run's models must predict on a CPU machine).
- ``crossover``: where the GPU starts to pay for boosting: XGBoost and CatBoost through the kit's adapters, a fixed
  200 rounds (no early stopping: the same work on both sides), on generated tables of ``--crossover-rows`` rows x 40,
  binary and 10-class, one CPU thread (what a task of a CUDA run gets) vs the GPU in one process. The rule
  ``models.base.GPU_MIN_CELLS`` is set from it and from ``run``, whose tasks share the GPU; ``catboost``, ``xgboost``
  and ``crossover`` switch it off (their "cuda" side is the GPU at any size), ``run`` and ``shared`` keep it.
- ``shared``: ``kaggle-kit run`` with XGBoost and CatBoost on a generated ``--rows`` x 30 table whose folds are all
  big enough for the GPU: the pool's workers fit on one GPU at once (CatBoost's ``gpu_ram_part`` split between them).
- ``run``: ``kaggle-kit run`` end to end on the digits demo with LightGBM, XGBoost, MLP, RealMLP, TabM and the CNN,
  once per ``--devices`` entry (same folds): wall seconds and the leaderboard of each.

    python benchmarks/gpu_check.py --parts nets run      # on the GPU machine
    python benchmarks/gpu_check.py --parts catboost
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from _machine import load_average, machine_line, versions

from kaggle_kit.config import ModelSpec
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter

ROOT = Path(__file__).resolve().parents[1]
FIGURES: list[dict] = []  # one row per measurement, written by --json


@contextlib.contextmanager
def gpu_rule(off: bool) -> Iterator[None]:
    """The boosting fits' GPU rule switched off for the block (every fit on the device asked for), then restored."""
    from kaggle_kit.models import base

    before = base.GPU_MIN_CELLS
    base.GPU_MIN_CELLS = 0 if off else before
    try:
        yield
    finally:
        base.GPU_MIN_CELLS = before


def record(part: str, **row) -> None:
    FIGURES.append({"part": part, **row})


def periodic_binary(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 8)).astype(np.float32)
    y = np.sin(6 * X[:, 0]) + np.sin(8 * X[:, 1]) + X[:, 2] + 0.5 * rng.normal(size=n)
    return X, (y > 0).astype(np.int64)


def fit_once(kind: str, spec: dict, X, y, task: str, n_classes: int, metric: str, device: str, threads: int):
    """Fit ``kind`` (ModelSpec fields ``spec``) on a seeded 80 % of the rows: (seconds, rounds / epochs kept, score)."""
    order = np.random.default_rng(0).permutation(len(y))
    tr, va = order[: int(0.8 * len(y))], order[int(0.8 * len(y)) :]
    names = tuple(f"f{i}" for i in range(X.shape[1]))
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), names, ())  # noqa: E731
    ctx = FitContext(task, n_classes, get_metric(metric), seed=0, device=device, threads=threads)
    adapter = make_adapter(ModelSpec(name=kind, kind=kind, **spec))
    start = time.perf_counter()
    fitted = adapter.fit(fm(tr), y[tr], fm(va), y[va], ctx)
    score = ctx.metric.score(y[va], adapter.predict(fitted, fm(va), ctx))
    return time.perf_counter() - start, fitted.best_iteration, score


def part_nets(args: argparse.Namespace) -> None:
    import torch
    from sklearn.datasets import load_digits

    from kaggle_kit.models.nn.device import plan_device

    if torch.cuda.is_available():
        print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}, bf16 {torch.cuda.is_bf16_supported()}")
    for image in (False, True):
        print(f"  plan (image input {image}): {plan_device('cuda', amp='auto', image_input=image)}")
    X, y = periodic_binary(args.rows)
    print(f"\nperiodic binary table: {X.shape[0]} rows x {X.shape[1]}, ROC AUC on 20 % held out")
    for kind in ("mlp", "realmlp", "tabm"):
        for device in args.devices:
            torch.set_num_threads(args.cpu_threads)
            s, it, score = fit_once(kind, {}, X, y, "binary", 2, "roc_auc", device, args.cpu_threads)
            record("nets", kind=kind, device=device, seconds=s, kept=it, score=score)
            print(f"  {kind:8s} {device:5s} {s:7.1f} s  epochs kept {it}  AUC {score:.5f}", flush=True)
    digits = load_digits()
    Xd, yd = digits.data.astype(np.float32), digits.target
    print(f"\ndigits: {Xd.shape[0]} images 8 x 8, accuracy on 20 % held out, the cnn's default recipe")
    for device in args.devices:
        s, it, score = fit_once(
            "cnn",
            {"params": {"image_shape": [8, 8, 1]}},
            Xd,
            yd,
            "multiclass",
            10,
            "accuracy",
            device,
            args.cpu_threads,
        )
        record("nets", kind="cnn", device=device, seconds=s, kept=it, score=score)
        print(f"  cnn      {device:5s} {s:7.1f} s  epochs kept {it}  accuracy {score:.5f}", flush=True)


def part_catboost(args: argparse.Namespace) -> None:
    import catboost

    rng = np.random.default_rng(0)
    n, levels = args.rows, 2000
    code = rng.integers(0, levels, size=n)
    effect = rng.normal(size=levels)
    X = np.column_stack([code.astype(np.float32), rng.normal(size=(n, 6)).astype(np.float32)])
    y = (effect[code] + X[:, 1] + rng.normal(size=n) > 0).astype(np.int64)
    names = ("city", *(f"f{i}" for i in range(6)))
    order = rng.permutation(n)
    tr, va = order[: int(0.8 * n)], order[int(0.8 * n) :]
    fm = lambda rows: FeatureMatrix(np.ascontiguousarray(X[rows]), names, (0,))  # noqa: E731
    print(f"catboost {catboost.__version__}: {n} rows, 'city' with {levels} levels, ROC AUC on 20 % held out")
    for device in args.devices:
        ctx = FitContext("binary", 2, get_metric("roc_auc"), seed=0, device=device, threads=args.cpu_threads)
        adapter = make_adapter(ModelSpec(name="cat", kind="catboost", num_boost_round=2000, early_stopping_rounds=100))
        start = time.perf_counter()
        fitted = adapter.fit(fm(tr), y[tr], fm(va), y[va], ctx)
        pred = adapter.predict(fitted, fm(va), ctx)
        seconds = time.perf_counter() - start
        task_type = fitted.model.get_all_params().get("task_type")
        path = args.work / f"cat_{device}.cbm"
        adapter.save(fitted, path)
        files = f"{path.name} ({path.stat().st_size} bytes)"
        again = adapter.predict(adapter.load(path, ctx), fm(va), ctx)
        score, reload_diff = ctx.metric.score(y[va], pred), float(np.abs(again - pred).max())
        record("catboost", device=device, task_type=task_type, seconds=seconds, score=score, reload_diff=reload_diff)
        print(
            f"  {device:5s} task_type {task_type}: {seconds:6.1f} s, rounds kept {fitted.best_iteration}, "
            f"AUC {score:.5f}; saved {files}, loaded back: max |diff| {reload_diff:.2e}",
            flush=True,
        )


def part_lightgbm(args: argparse.Namespace) -> None:
    """LightGBM with the kit's params, CPU threads vs the pip wheel's OpenCL ``device_type="gpu"`` (which the kit no
    longer selects: it compiles its kernels in every fit and still builds histograms on its CPU threads)."""
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    for n in args.lgbm_rows:
        X = rng.normal(size=(n, 40)).astype(np.float32)
        y = (X[:, :5].sum(1) + np.sin(3 * X[:, 5]) + rng.normal(size=n) > 0).astype(np.int64)
        cut = int(0.8 * n)
        print(f"lightgbm: {n} rows x 40, at most 300 rounds (early stopping 50), ROC AUC on 20 % held out")
        sides = [("cpu", t) for t in sorted({1, args.cpu_threads})] + [("gpu", 1)] * ("cuda" in args.devices)
        for device_type, threads in sides:
            ctx = FitContext("binary", 2, get_metric("roc_auc"), seed=0, device="cpu", threads=threads)
            params = {**make_adapter(ModelSpec(name="l", kind="lightgbm")).params(ctx), "device_type": device_type}
            start = time.perf_counter()
            train = lgb.Dataset(X[:cut], y[:cut])
            valid = lgb.Dataset(X[cut:], y[cut:], reference=train)
            booster = lgb.train(
                {**params, "metric": "auc"},
                train,
                num_boost_round=300,
                valid_sets=[valid],
                callbacks=[lgb.early_stopping(50, verbose=False)],
            )
            seconds = time.perf_counter() - start
            score = float(booster.best_score["valid_0"]["auc"])
            record("lightgbm", rows=n, device_type=device_type, threads=threads, seconds=seconds, score=score)
            print(f"  {device_type:4s} {threads:2d} thread(s) {seconds:7.1f} s  AUC {score:.5f}", flush=True)


def part_xgboost(args: argparse.Namespace) -> None:
    import xgboost as xgb

    rng = np.random.default_rng(0)
    names = tuple(f"f{i}" for i in range(40))
    print(f"xgboost {xgb.__version__}: the adapter's defaults, early stopping 50 on the 20 % held out (ROC AUC)")
    for n in args.lgbm_rows:
        X = rng.normal(size=(n, 40)).astype(np.float32)
        y = (X[:, :5].sum(1) + np.sin(3 * X[:, 5]) + rng.normal(size=n) > 0).astype(np.int64)
        cut = int(0.8 * n)
        train, valid = FeatureMatrix(X[:cut], names, ()), FeatureMatrix(X[cut:], names, ())
        one = [1] * (n <= 200_000)  # one thread on a million rows outlasts a device call
        sides = [("cpu", t) for t in sorted({*one, args.cpu_threads})] + [("cuda", 1)] * ("cuda" in args.devices)
        for device, threads in sides:
            ctx = FitContext("binary", 2, get_metric("roc_auc"), seed=0, device=device, threads=threads)
            adapter = make_adapter(ModelSpec(name="x", kind="xgboost", early_stopping_rounds=50))
            start = time.perf_counter()
            fitted = adapter.fit(train, y[:cut], valid, y[cut:], ctx)
            pred = adapter.predict(fitted, valid, ctx)
            seconds = time.perf_counter() - start
            score = ctx.metric.score(y[cut:], pred)
            path = args.work / f"xgb_{device}_{n}.ubj"
            adapter.save(fitted, path)
            cpu = FitContext("binary", 2, get_metric("roc_auc"), seed=0, device="cpu", threads=args.cpu_threads)
            again = make_adapter(ModelSpec(name="x", kind="xgboost")).predict(adapter.load(path, cpu), valid, cpu)
            diff = float(np.abs(again - pred).max())
            used = json.loads(fitted.model.save_config())["learner"]["generic_param"]["device"]  # "cuda:0"
            record("xgboost", rows=n, device=used, threads=threads, seconds=seconds, score=score, reload_diff=diff)
            print(
                f"  {n:9d} rows  {used:6s} {threads:2d} thread(s) {seconds:7.1f} s  rounds kept "
                f"{fitted.best_iteration}  AUC {score:.5f}  UBJ loaded on the CPU: max |diff| {diff:.2e}",
                flush=True,
            )


def part_crossover(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    names = tuple(f"f{i}" for i in range(40))
    print("fixed 200 rounds; seconds for fit + predict of the held-out 20 %, CPU 1 thread vs CUDA")
    for kind in args.crossover_kinds:
        for classes in (2, 10):
            for n in args.crossover_rows:
                X = rng.normal(size=(n, 40)).astype(np.float32)
                signal = X[:, :5].sum(1) + np.sin(3 * X[:, 5]) + rng.normal(size=n)
                y = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1]))
                cut = int(0.8 * n)
                train, valid = FeatureMatrix(X[:cut], names, ()), FeatureMatrix(X[cut:], names, ())
                task = "binary" if classes == 2 else "multiclass"
                seconds = {}
                for device in ("cpu", "cuda"):
                    ctx = FitContext(task, classes, get_metric("log_loss"), seed=0, device=device, threads=1)
                    adapter = make_adapter(ModelSpec(name="m", kind=kind, num_boost_round=200))
                    start = time.perf_counter()
                    adapter.predict(adapter.fit(train, y[:cut], valid, y[cut:], ctx), valid, ctx)
                    seconds[device] = time.perf_counter() - start
                ratio = seconds["cpu"] / seconds["cuda"]
                record("crossover", kind=kind, classes=classes, rows=n, cpu_s=seconds["cpu"], cuda_s=seconds["cuda"])
                print(
                    f"  {kind:8s} {classes:2d} classes {n:7d} rows: CPU {seconds['cpu']:6.2f} s, "
                    f"CUDA {seconds['cuda']:6.2f} s, CPU / CUDA {ratio:5.2f}",
                    flush=True,
                )


CONFIG_MODELS = """
[[models]]
name = "lgbm"
kind = "lightgbm"
params = { learning_rate = 0.1, num_leaves = 15, min_data_in_leaf = 5, feature_fraction = 0.5 }

[[models]]
name = "xgb"
kind = "xgboost"

[[models]]
name = "cat"
kind = "catboost"

[[models]]
name = "cnn"
kind = "cnn"
params = { image_shape = [8, 8, 1] }

[[models]]
name = "mlp"
kind = "mlp"

[[models]]
name = "realmlp"
kind = "realmlp"

[[models]]
name = "tabm"
kind = "tabm"
"""


def part_run(args: argparse.Namespace) -> None:
    work = args.work
    demo_data = [sys.executable, "-m", "kaggle_kit.cli", "demo-data", "--out", str(work / "data"), "demo-digits"]
    subprocess.run(demo_data, check=True, cwd=work)
    head = (ROOT / "competitions" / "demo-digits.toml").read_text().split("[[models]]")[0]
    head = head.replace("../data/", "data/")
    for device in reversed(args.devices):
        config = work / f"digits-{device}.toml"
        config.write_text(head.replace('device = "auto"', f'device = "{device}"') + CONFIG_MODELS)
        kit_run("run", config, work / f"runs-{device}", device, "digits")


def kit_run(part: str, config: Path, runs: Path, device: str, what: str) -> None:
    """``kaggle-kit run CONFIG`` in a subprocess: its exit status and wall seconds recorded, its output's end shown."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "kaggle_kit.cli", "run", str(config), "--runs-root", str(runs)]
    done = subprocess.run(command, cwd=config.parent, capture_output=True, text=True)
    wall = time.perf_counter() - start
    record(part, device=device, exit=done.returncode, seconds=wall)
    print(f"\nkaggle-kit run on {what}, device = {device}: exit {done.returncode}, {wall:.1f} s wall")
    print(re.sub(r"\n{2,}", "\n", done.stdout[-3500:] + done.stderr[-1500:]), flush=True)


SHARED_CONFIG = """name = "shared"
task = "binary"
metric = "roc_auc"
seed = 0
device = "{device}"

[data]
train = "shared/train.csv"
test = "shared/test.csv"
id = "id"
target = "y"

[[models]]
name = "xgb"
kind = "xgboost"
num_boost_round = 400
early_stopping_rounds = 50

[[models]]
name = "cat"
kind = "catboost"
num_boost_round = 400
early_stopping_rounds = 50
"""


def part_shared(args: argparse.Namespace) -> None:
    """Boosting fits on the GPU at once: ``kaggle-kit run`` on a generated ``--rows`` x 30 table (each fold's
    training matrix over ``GPU_MIN_CELLS``, so every XGBoost and CatBoost fold is on the GPU, the pool's workers
    sharing it; CatBoost reserves 0.95 / workers of its memory)."""
    work = args.work
    rng = np.random.default_rng(0)
    n = args.rows
    X = rng.normal(size=(n + n // 4, 30)).astype(np.float32)
    y = (X[:, :5].sum(1) + np.sin(3 * X[:, 5]) + rng.normal(size=len(X)) > 0).astype(np.int64)
    frame = {"id": np.arange(len(X)), **{f"f{i}": X[:, i] for i in range(30)}}
    import polars as pl

    (work / "shared").mkdir(parents=True, exist_ok=True)
    pl.DataFrame({**{k: v[:n] for k, v in frame.items()}, "y": y[:n]}).write_csv(work / "shared" / "train.csv")
    pl.DataFrame({k: v[n:] for k, v in frame.items()}).write_csv(work / "shared" / "test.csv")
    for device in args.devices:
        config = work / f"shared-{device}.toml"
        config.write_text(SHARED_CONFIG.format(device=device))
        kit_run("shared", config, work / f"shared-runs-{device}", device, f"{n} rows x 30")


PARTS = {
    "nets": part_nets,
    "catboost": part_catboost,
    "lightgbm": part_lightgbm,
    "xgboost": part_xgboost,
    "crossover": part_crossover,
    "run": part_run,
    "shared": part_shared,
}


#: the parts that measure the GPU side itself: the run's rule (``models.base.GPU_MIN_CELLS``) would fit their
#: smaller tables' "cuda" side on the CPU
RULE_OFF = ("catboost", "xgboost", "crossover")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=["nets", "run"], choices=[*PARTS])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the generated tables")
    parser.add_argument("--lgbm-rows", nargs="+", type=int, default=[20_000, 1_000_000], help="LightGBM's tables")
    parser.add_argument("--crossover-rows", nargs="+", type=int, default=[2_000, 10_000, 50_000, 200_000])
    parser.add_argument("--crossover-kinds", nargs="+", default=["xgboost", "catboost"])
    parser.add_argument("--cpu-threads", type=int, default=8, help="torch / CatBoost threads of the CPU side")
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], help="the sides to measure")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--work", type=Path, default=Path("/tmp/gpu_check"))
    args = parser.parse_args()
    print(machine_line())
    print(versions("torch", "numpy", "lightgbm", "xgboost", "catboost", "polars"))
    print(f"load average before {load_average()}")
    args.work.mkdir(parents=True, exist_ok=True)
    for part in args.parts:
        print(f"\n===== {part}", flush=True)
        with gpu_rule(off=part in RULE_OFF):
            PARTS[part](args)
    print(f"\nload average after {load_average()}")
    if args.json:
        args.json.write_text(json.dumps(FIGURES, indent=1))


if __name__ == "__main__":
    main()
