"""The CNN's default recipe on small images: candidate recipes against the MLP and LightGBM, page faults, throughput.

Three parts (``--part``), each printing the machine line and the load average before and after:

* ``recipes``: candidate CNN recipes (``CANDIDATES``; ``default`` is the kit's current default) and the baselines
  (the kit's MLP, LightGBM as the digits demo configures them) cross-validated under the kit's folds
  (``make_folds``, stratified) through the runner's adapters, 1 thread each. Data that ships in packages: scikit-
  learn's digits (1,797 8 x 8 images) and ``photos``: 28 x 28 grey crops of 10 of scikit-image's bundled photos
  (the class is the photo; each crop at a random place of the photo scaled to 1/4, with random contrast, brightness
  and noise), ``--photos`` images. Printed per model: CV accuracy (all OOF rows), the folds' mean and std, wall and
  CPU seconds per fold (the process's user + system time: the machine is shared, so CPU time is the steadier
  figure), and the kept epochs.
* ``faults``: minor page faults and system time of the kit's CNN fit (28 x 28, batch 128, shift augmentation, TTA
  prediction) with the allocator settings of :mod:`kaggle_kit.models.nn.heap` and without them (glibc's defaults),
  each in a fresh process (the settings are process-wide).
* ``throughput``: training images per second per core of the kit's CNN (``fit_net``, no validation rows) against a
  bare torch loop of the same network, batch size, optimizer, schedule and threads, timed in alternation.

    .venv/bin/python benchmarks/cnn_recipe.py --part recipes              # both datasets (tens of minutes)
    .venv/bin/python benchmarks/cnn_recipe.py --part recipes --datasets photos --models default mlp lightgbm
    .venv/bin/python benchmarks/cnn_recipe.py --part faults
    .venv/bin/python benchmarks/cnn_recipe.py --part throughput --threads 1
    .venv/bin/python benchmarks/cnn_recipe.py --part recipes --quick      # the smoke test (any part)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _machine import load_average, machine_line, versions

from kaggle_kit.config import ModelSpec
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter
from kaggle_kit.runtime.folds import make_folds

PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "grass", "gravel", "brick")

#: name -> (kind, params without image_shape). "default" is the kit's default recipe (since issue 16 the same as
#: "w16-32-64_e30"; before it: [32, 64], lr 1e-3, no augmentation), "readme" the README's old example
CANDIDATES: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("cnn", {}),
    "readme": ("cnn", {"channels": [32, 64], "epochs": 15, "patience": 8, "augment_shift": 2, "tta": True}),
    "w32-64_lr3e-3": ("cnn", {"channels": [32, 64], "epochs": 15, "lr": 3e-3, "augment_shift": 1}),
    "w16-32-64": ("cnn", {"channels": [16, 32, 64], "epochs": 15, "lr": 3e-3, "augment_shift": 1}),
    "w16-32-64_tta": ("cnn", {"channels": [16, 32, 64], "epochs": 15, "lr": 3e-3, "augment_shift": 1, "tta": True}),
    "w16-32-64_noaug": ("cnn", {"channels": [16, 32, 64], "epochs": 15, "lr": 3e-3}),
    "w16-32-64_cos": ("cnn", {"channels": [16, 32, 64], "epochs": 15, "lr": 3e-3, "augment_shift": 1,
                              "schedule": "cosine"}),
    "w16-32-64_ls": ("cnn", {"channels": [16, 32, 64], "epochs": 15, "lr": 3e-3, "augment_shift": 1,
                             "label_smoothing": 0.1}),
    "w16-32-64_b256": ("cnn", {"channels": [16, 32, 64], "epochs": 15, "lr": 3e-3, "augment_shift": 1,
                               "batch_size": 256}),
    "w16-32-64_e6": ("cnn", {"channels": [16, 32, 64], "epochs": 6, "lr": 3e-3, "augment_shift": 1}),
    "w16-32-64_e30": ("cnn", {"channels": [16, 32, 64], "epochs": 30, "lr": 3e-3, "augment_shift": 1}),
    "w16-32-64_e30_noaug": ("cnn", {"channels": [16, 32, 64], "epochs": 30, "lr": 3e-3, "augment_shift": 0}),
    "w16-32-64_s2": ("cnn", {"channels": [16, 32, 64], "epochs": 15, "lr": 3e-3, "augment_shift": 2}),
    "w16-32": ("cnn", {"channels": [16, 32], "epochs": 15, "lr": 3e-3, "augment_shift": 1}),
    "mlp": ("mlp", {"hidden": [256, 128], "dropout": 0.2, "epochs": 40, "patience": 10, "lr": 3e-3}),
    "lightgbm": ("lightgbm", {"learning_rate": 0.1, "num_leaves": 15, "min_data_in_leaf": 5, "feature_fraction": 0.5}),
}  # fmt: skip


# ------------------------------------------------------------------------------------------------ data
def photo_crops(n: int, size: int = 28, seed: int = 0, scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``n`` grey ``size x size`` crops (pixel values 0-255, row-major columns) of 10 bundled photos; class = photo."""
    import skimage.data
    from skimage.color import rgb2gray

    rng = np.random.default_rng(seed)
    X = np.empty((n, size * size), np.float32)
    y = np.arange(n) % len(PHOTOS)
    for c, name in enumerate(PHOTOS):
        img = getattr(skimage.data, name)()
        img = rgb2gray(img) if img.ndim == 3 else img / 255.0
        h, w = img.shape[0] // scale * scale, img.shape[1] // scale * scale
        img = img[:h, :w].reshape(h // scale, scale, w // scale, scale).mean((1, 3))
        for i in np.flatnonzero(y == c):
            top, left = rng.integers(0, img.shape[0] - size + 1), rng.integers(0, img.shape[1] - size + 1)
            p = img[top : top + size, left : left + size]
            p = (p - p.mean()) * rng.uniform(0.6, 1.4) + p.mean() + rng.uniform(-0.15, 0.15)
            p = p + rng.normal(0, 0.03, p.shape)
            X[i] = np.round(np.clip(p, 0, 1).ravel() * 255)
    return X, y


def datasets(n_photos: int) -> dict[str, tuple[np.ndarray, np.ndarray, list[int]]]:
    """name -> (pixels, labels, image_shape)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return {
        "digits": (digits.data.astype(np.float32), digits.target, [8, 8, 1]),
        "photos": (*photo_crops(n_photos), [28, 28, 1]),
    }


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ------------------------------------------------------------------------------------------------ recipes
def spec_for(name: str, shape: list[int]) -> ModelSpec:
    kind, params = CANDIDATES[name]
    if kind == "cnn":
        return ModelSpec(name=name, kind=kind, params={"image_shape": shape, **params})
    if kind == "lightgbm":
        return ModelSpec(name=name, kind=kind, params=params, num_boost_round=1000, early_stopping_rounds=50)
    return ModelSpec(name=name, kind=kind, params=params)


def cross_validate(name: str, X: np.ndarray, y: np.ndarray, shape: list[int], folds: np.ndarray) -> dict[str, Any]:
    ctx = FitContext(task="multiclass", n_classes=10, metric=get_metric("accuracy"), seed=0, device="cpu", threads=1)
    names = tuple(f"pixel{i}" for i in range(X.shape[1]))
    oof = np.zeros((len(y), 10), dtype=np.float32)
    walls, cpus, scores, epochs = [], [], [], []
    for k in range(int(folds.max()) + 1):
        tr, va = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        adapter = make_adapter(spec_for(name, shape))
        start, cpu = time.perf_counter(), cpu_seconds()
        fitted = adapter.fit(FeatureMatrix(X[tr], names, ()), y[tr], FeatureMatrix(X[va], names, ()), y[va], ctx)
        oof[va] = adapter.predict(fitted, FeatureMatrix(X[va], names, ()), ctx)
        walls.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - cpu)
        scores.append(ctx.metric.score(y[va], oof[va]))
        epochs.append(fitted.best_iteration)
    return {
        "cv": float(ctx.metric.score(y, oof)),
        "fold_mean": float(np.mean(scores)),
        "fold_std": float(np.std(scores)),
        "wall_per_fold": float(np.mean(walls)),
        "cpu_per_fold": float(np.mean(cpus)),
        "best": epochs,
    }


def run_recipes(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    out: dict[str, Any] = {}
    for name, (X, y, shape) in datasets(args.photos).items():
        if name not in args.datasets:
            continue
        folds = make_folds(len(y), strategy="stratified", n_splits=args.folds, seed=42, y=y).ids[0]
        print(f"\n{name}: {len(y)} images {shape[0]} x {shape[1]}, {args.folds} folds, load {load_average()}")
        out[name] = {}
        for model in args.models:
            r = cross_validate(model, X, y, shape, folds)
            r["load_after"] = load_average()
            out[name][model] = r
            print(
                f"  {model:18s} CV {r['cv']:.4f}  folds {r['fold_mean']:.4f} +- {r['fold_std']:.4f}  "
                f"wall {r['wall_per_fold']:6.1f} s/fold  cpu {r['cpu_per_fold']:6.1f} s/fold  best {r['best']}  "
                f"load {r['load_after']}",
                flush=True,
            )
    return out


# ------------------------------------------------------------------------------------------------ faults
def fault_child(heap: str, n: int, epochs: int) -> None:
    """One fit (validation rows each epoch) + TTA prediction of the kit's CNN in this (fresh) process; prints its
    counters as JSON: the whole fit and prediction, and the training batches of the epochs after the first (the
    steady state, without the first touch of the process's peak memory)."""
    import torch

    import kaggle_kit.models.nn.net as net
    from kaggle_kit.models.nn.callbacks import Callback

    if heap == "off":
        net.kept_heap = contextlib.nullcontext  # type: ignore[attr-defined]
    torch.set_num_threads(1)
    X, y = photo_crops(n)
    fm = FeatureMatrix(X, tuple(f"pixel{i}" for i in range(X.shape[1])), ())
    params = {"image_shape": [28, 28, 1], "channels": [32, 64], "epochs": epochs, "patience": 0, "augment_shift": 2,
              "tta": True, "batch_size": 128}  # fmt: skip
    p = make_adapter(ModelSpec(name="cnn", kind="cnn", params=params)).params

    class Counter(Callback):
        def __init__(self) -> None:
            self.steady = [0, 0.0, 0.0, 0]  # faults, user, system, batches in epochs >= 2

        def on_epoch_begin(self, state: Any) -> None:
            self.at = resource.getrusage(resource.RUSAGE_SELF)

        def on_batch_end(self, state: Any) -> None:
            self.batches = state.batch + 1

        def on_epoch_end(self, state: Any) -> None:  # includes the epoch's validation pass
            now = resource.getrusage(resource.RUSAGE_SELF)
            if state.epoch >= 2:
                for i, key in enumerate(("ru_minflt", "ru_utime", "ru_stime")):
                    self.steady[i] += getattr(now, key) - getattr(self.at, key)
                self.steady[3] += self.batches

    counter = Counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    fitted, _ = net.fit_net("cnn", "cnn", p, fm, y, fm, y, task="multiclass", n_classes=10, scorer=None, seed=0,
                            device="cpu", threads=1, callbacks=[counter])  # fmt: skip
    net.predict_net(fitted, fm, device="cpu", threads=1)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    faults, user, system, batches = counter.steady
    print(json.dumps({
        "heap": heap, "wall": wall, "minflt": after.ru_minflt - before.ru_minflt,
        "utime": after.ru_utime - before.ru_utime, "stime": after.ru_stime - before.ru_stime,
        "steady_faults_per_batch": faults / max(batches, 1), "steady_stime_share": system / max(user + system, 1e-9),
        "maxrss_mb": after.ru_maxrss / 1024,
    }))  # fmt: skip


def run_faults(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for heap in ("off", "on", "off", "on")[: 2 * args.repeats]:
        cmd = [sys.executable, __file__, "--fault-child", heap, "--photos", str(args.photos), "--epochs", "3"]
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        out.setdefault(heap, []).append(r)
        cpu = r["utime"] + r["stime"]
        print(
            f"  allocator settings {heap:3s}: epochs 2+: {r['steady_faults_per_batch']:7.0f} minor faults / training "
            f"batch, system {r['steady_stime_share']:.0%} of CPU | whole fit + TTA prediction: {r['minflt']} faults, "
            f"user {r['utime']:5.1f} s, system {r['stime']:4.1f} s ({r['stime'] / cpu:.0%}), wall {r['wall']:5.1f} s, "
            f"peak RSS {r['maxrss_mb']:.0f} MB | load {load_average()}",
            flush=True,
        )
    return out


# ------------------------------------------------------------------------------------------------ throughput
def bare_loop(X: np.ndarray, y: np.ndarray, params: dict[str, Any], epochs: int) -> float:
    """The same network, optimizer (torch's AdamW), one-cycle schedule and batch size, written by hand."""
    import torch
    from torch import nn

    from kaggle_kit.models.nn.architectures.cnn import ImageCNN

    torch.manual_seed(0)
    module = ImageCNN(1, 10, channels=params["channels"], dropout=0.2)
    Xt = torch.from_numpy(((X - X.mean()) / X.std()).reshape(-1, 1, 28, 28).astype(np.float32))
    yt = torch.from_numpy(y.astype(np.int64))
    bs = params["batch_size"]
    opt = torch.optim.AdamW(module.parameters(), lr=params["lr"], weight_decay=1e-4)
    steps = epochs * -(-len(Xt) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=params["lr"], total_steps=steps, cycle_momentum=False)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(1)
    start = time.perf_counter()
    module.train()
    for _ in range(epochs):
        perm = torch.randperm(len(Xt), generator=gen)
        for i in range(0, len(Xt), bs):
            idx = perm[i : i + bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(module(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            sched.step()
    return time.perf_counter() - start


def kit_loop(X: np.ndarray, y: np.ndarray, params: dict[str, Any], epochs: int, threads: int) -> float:
    from kaggle_kit.models.nn.net import fit_net

    names = tuple(f"pixel{i}" for i in range(X.shape[1]))
    spec = ModelSpec(name="cnn", kind="cnn", params={**params, "epochs": epochs, "patience": 0, "augment_shift": 0})
    p = make_adapter(spec).params
    start = time.perf_counter()
    fit_net("cnn", "cnn", p, FeatureMatrix(X, names, ()), y, None, None, task="multiclass", n_classes=10,
            scorer=None, seed=0, device="cpu", threads=threads)  # fmt: skip
    return time.perf_counter() - start


def run_throughput(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from kaggle_kit.models.nn.heap import kept_heap

    torch.set_num_threads(args.threads)
    X, y = photo_crops(args.photos)
    from kaggle_kit.models.nn.families import FAMILIES

    defaults = FAMILIES["cnn"].validate("cnn", {"image_shape": [28, 28, 1]})
    params = {"image_shape": [28, 28, 1], "channels": defaults["channels"], "batch_size": defaults["batch_size"],
              "lr": defaults["lr"]}  # fmt: skip
    print(f"network {params['channels']}, batch {params['batch_size']}, {len(y)} images 28 x 28, "
          f"{args.threads} thread(s), no augmentation, no validation rows")  # fmt: skip
    runs: dict[str, list[tuple[float, float]]] = {"bare": [], "kit": []}
    with kept_heap():  # the same allocator settings for both (the faults part compares the settings)
        bare_loop(X, y, params, 1)  # warm-up
        for _ in range(args.repeats):
            for side in ("bare", "kit"):
                cpu = cpu_seconds()
                if side == "bare":
                    wall = bare_loop(X, y, params, args.epochs)
                else:
                    wall = kit_loop(X, y, params, args.epochs, args.threads)
                runs[side].append((wall, cpu_seconds() - cpu))
    images = len(y) * args.epochs
    out: dict[str, Any] = {}
    for side, rs in runs.items():
        per_cpu = statistics.median(images / c for _, c in rs)
        per_wall = statistics.median(images / (w * args.threads) for w, _ in rs)
        out[side] = {"images_per_cpu_s": per_cpu, "images_per_s_per_thread": per_wall, "runs": rs}
        print(f"  {side:4s}: {per_cpu:7.0f} images / CPU second   {per_wall:7.0f} images / s / thread (wall)   "
              f"runs (wall, cpu): {' '.join(f'({w:.1f}, {c:.1f})' for w, c in rs)}")  # fmt: skip
    out["ratio_cpu"] = out["kit"]["images_per_cpu_s"] / out["bare"]["images_per_cpu_s"]
    out["ratio_wall"] = out["kit"]["images_per_s_per_thread"] / out["bare"]["images_per_s_per_thread"]
    print(f"  kit / bare throughput: {out['ratio_cpu']:.3f} (CPU time), {out['ratio_wall']:.3f} (wall)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["recipes", "faults", "throughput"], default="recipes")
    parser.add_argument("--datasets", nargs="+", default=["digits", "photos"], choices=["digits", "photos"])
    parser.add_argument("--models", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--photos", type=int, default=1500, help="images of the photos dataset")
    parser.add_argument("--epochs", type=int, default=2, help="throughput: epochs per timed run")
    parser.add_argument("--repeats", type=int, default=2, help="faults / throughput: runs of each side")
    parser.add_argument("--threads", type=int, default=1, help="throughput: torch threads")
    parser.add_argument("--quick", action="store_true", help="smoke test: 200 photos, 2 folds, 2 models, 1 epoch")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--fault-child", choices=["on", "off"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.photos, args.folds, args.epochs, args.repeats = 200, 2, 1, 1
        args.datasets, args.models = ["photos"], ["w16-32-64_e6", "mlp"]
    if args.fault_child:
        fault_child(args.fault_child, args.photos, args.epochs)
        return
    print(machine_line())
    print(versions("torch", "lightgbm", "numpy"))
    figures: dict[str, Any] = {"part": args.part, "load_before": load_average()}
    figures["results"] = {"recipes": run_recipes, "faults": run_faults, "throughput": run_throughput}[args.part](args)
    figures["load_after"] = load_average()
    print(f"\nload average before {figures['load_before']}, after {figures['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
