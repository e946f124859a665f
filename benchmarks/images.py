"""Image files as pixel columns vs streamed (``[data.images] mode``): images per second to train and to predict, and
peak memory, for a cnn on ``--n`` photos of 128 x 128 x 3.

The script writes ``--n`` JPEGs (random crops of scikit-image's bundled photos, resized to ``--side``; the label is
the photo a crop comes from) and a train / test table, then measures each mode in a fresh process (so each peak is
its own):

* ``memory``: pixel columns (``mode = "memory"``): the files decoded at read time into ``H * W * C`` uint8 columns,
  the fold's float32 matrix, batches sliced from memory;
* ``stream+cache``: ``mode = "stream"``: the files decoded once into the run's memory-mapped uint8 cache
  (``cache`` below), batches read from it in the fitting process;
* ``stream files``: ``mode = "stream"``, ``cache = false``: every batch decoded from the files by ``--workers``
  DataLoader worker processes.

Stages: ``read`` (``load_competition``), ``encode`` (the fold's matrix, as the runner encodes it), ``cache`` (the
stream's cache written), ``train`` (``--epochs`` epochs of a small cnn on the first ``--train-rows`` train rows, no
validation: the img/s figure; the read, the matrix and the cache hold every row), ``predict`` (the test rows) and
``batches`` (the data path alone: one shuffled pass over every training row's batches, no net).
Memory: the peak resident set of the measuring process (``ru_maxrss``), and the peak of its proportional set size
(PSS: shared pages split between the processes sharing them) summed with its DataLoader workers', sampled every
50 ms with psutil when it is installed. Run::

    .venv/bin/python benchmarks/images.py                     # 2000 images of 128 x 128 x 3
    .venv/bin/python benchmarks/images.py --n 500 --modes "stream+cache" "stream files"
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from _machine import load_average, machine_line

MODES = {
    "memory": {"mode": "memory"},
    "stream+cache": {"mode": "stream", "cache": True},
    "stream files": {"mode": "stream", "cache": False},
}
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry")


def write_images(folder: Path, n: int, side: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` JPEGs ``<i>.jpg``: random crops (``side`` to 2 ``side`` pixels square) of the bundled photos, resized to
    ``side`` x ``side``; returns the ids and the labels (which photo)."""
    import skimage.data
    from PIL import Image

    photos = [Image.fromarray(np.asarray(getattr(skimage.data, name)())[..., :3]).convert("RGB") for name in PHOTOS]
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    labels = rng.integers(0, len(photos), size=n)
    for i, label in enumerate(labels):
        photo = photos[label]
        crop = int(rng.integers(side, min(2 * side, *photo.size) + 1))
        left, top = (int(rng.integers(0, photo.size[k] - crop + 1)) for k in (0, 1))
        tile = photo.crop((left, top, left + crop, top + crop)).resize((side, side), Image.Resampling.BILINEAR)
        tile.save(folder / f"{i}.jpg", quality=90)
    return np.arange(n), labels


class PeakPss:
    """The peak of this process's PSS plus its children's, sampled every ``every`` seconds (psutil; else None)."""

    def __init__(self, every: float = 0.05) -> None:
        try:
            import psutil
        except ImportError:  # pragma: no cover - psutil is optional
            self.peak = None
            return
        self.peak = 0.0
        self._me = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(every,), daemon=True)
        self._thread.start()

    def _sample(self, every: float) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for proc in [self._me, *self._me.children(recursive=True)]:
                try:
                    total += proc.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            self.peak = max(self.peak or 0.0, total / 2**20)
            time.sleep(every)

    def stop(self) -> float | None:
        if self.peak is not None:
            self._stop.set()
            self._thread.join()
        return self.peak


def measure(
    root: Path, mode: str, epochs: int, workers: int, batch: int, threads: int, train_rows: int
) -> dict[str, Any]:
    """One mode, in this process: the stages' seconds, images per second, peak memory."""
    import torch

    from kaggle_kit.config import build_spec
    from kaggle_kit.features import FeatureMatrix, TableEncoder
    from kaggle_kit.models.nn.device import plan_device
    from kaggle_kit.models.nn.families import FAMILIES
    from kaggle_kit.models.nn.net import batches_for, fit_net, predict_net
    from kaggle_kit.readers.competition import load_competition

    torch.set_num_threads(threads)
    side = int(json.loads((root / "meta.json").read_text())["side"])
    params = {
        "image_shape": [side, side, 3],
        "channels": [8, 16],
        "epochs": epochs,
        "patience": 0,
        "batch_size": batch,
        "eval_batch_size": 2 * batch,
        "augment_shift": 4,
        "augment_hflip": True,
    }
    images = {"folder": "images", "pattern": "{id}.jpg", "channels": 3, **MODES[mode]}
    if mode == "stream files":
        images["workers"] = workers
    raw = {
        "name": "bench",
        "task": "multiclass",
        "metric": "accuracy",
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "label", "images": images},
        "models": [{"name": "cnn", "kind": "cnn", "params": params}],
    }
    spec = build_spec(raw, base_dir=root)
    pss = PeakPss()
    times: dict[str, float] = {}
    start = time.perf_counter()
    data = load_competition(spec)
    times["read"] = time.perf_counter() - start

    start = time.perf_counter()
    encoder = TableEncoder(data.features_for(True), data.categorical)
    state = encoder.fit(data.train)
    X_train, X_test = encoder.transform(data.train, state), encoder.transform(data.test, state)
    times["encode"] = time.perf_counter() - start

    stream = data.images.cached_in(root / f"run-{mode.replace(' ', '-')}") if data.images is not None else None
    if stream is not None and stream.cache_path is not None:
        start = time.perf_counter()
        stream.open_cache(threads)
        times["cache"] = time.perf_counter() - start

    validated = FAMILIES["cnn"].validate("cnn", params)
    k = min(train_rows or len(data.y), len(data.y))  # the first k rows train (the matrix is every row's, as a fold's)
    X_fit = FeatureMatrix(X_train.X[:k], X_train.names, X_train.categorical)
    start = time.perf_counter()
    fitted, _ = fit_net(
        "cnn", "cnn", validated, X_fit, data.y[:k], None, None, task="multiclass", n_classes=data.n_classes,
        scorer=None, seed=0, threads=threads, images=stream,
    )  # fmt: skip
    times["train"] = time.perf_counter() - start
    start = time.perf_counter()
    pred = predict_net(fitted, X_test, threads=threads, images=stream)
    times["predict"] = time.perf_counter() - start

    # the data path alone: one shuffled pass over every training row's batches, no net
    plan = plan_device("cpu")
    target = np.asarray(data.y, dtype=np.int64)
    start = time.perf_counter()
    batches = batches_for(
        fitted.config, X_train, target, stream if stream is not None else None, batch_size=batch, plan=plan,
        threads=threads, shuffle=True, generator=torch.Generator().manual_seed(0), drop_singleton=True,
    )  # fmt: skip
    rows = sum(len(b[-1]) for b in batches)
    times["batches"] = time.perf_counter() - start
    del batches
    y_test = np.asarray(json.loads((root / "meta.json").read_text())["y_test"])
    peak_pss = pss.stop()
    return {
        "mode": mode,
        "seconds": {k: round(v, 2) for k, v in times.items()},
        "train_rows": k,
        "train_images_per_s": round(k * epochs / times["train"], 1),
        "predict_images_per_s": round(len(y_test) / times["predict"], 1),
        "batches_images_per_s": round(rows / times["batches"], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_pss_mb_with_workers": round(peak_pss, 1) if peak_pss is not None else None,
        "test_accuracy": round(float((pred.argmax(1) == y_test).mean()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images (default 2000; a quarter are the test rows)")
    parser.add_argument("--side", type=int, default=128, help="height = width (default 128)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--train-rows", type=int, default=512, help="rows the cnn trains on for the img/s figure (default 512; 0 = all)"
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of 'stream files' (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    parser.add_argument("--quick", action="store_true", help="tiny: 120 images of 32 x 32, 1 epoch")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--root", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.n, args.side, args.epochs, args.batch, args.train_rows = 120, 32, 1, 32, 0
    if args.child is not None:  # one mode, in its own process
        figures = measure(
            Path(args.root), args.child, args.epochs, args.workers, args.batch, args.threads, args.train_rows
        )
        print(json.dumps(figures))
        return

    import polars as pl

    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        ids, labels = write_images(root / "images", args.n, args.side)
        n_test = args.n // 4
        pl.DataFrame({"id": ids[n_test:], "label": labels[n_test:]}).write_csv(root / "train.csv")
        pl.DataFrame({"id": ids[:n_test]}).write_csv(root / "test.csv")
        (root / "meta.json").write_text(json.dumps({"side": args.side, "y_test": labels[:n_test].tolist()}))
        mb = sum(p.stat().st_size for p in (root / "images").iterdir()) / 2**20
        print(
            f"{args.n} JPEGs of {args.side} x {args.side} x 3 ({mb:.1f} MB on disk, written in "
            f"{time.perf_counter() - start:.1f} s): {args.n - n_test} train rows, {n_test} test rows; cnn "
            f"[8, 16] channels trained on {args.train_rows or 'all'} rows, {args.epochs} epoch(s), batch {args.batch}, "
            f"{args.threads} torch thread(s)"
        )
        results = []
        for mode in args.modes:
            load = load_average()
            cmd = [sys.executable, __file__, "--child", mode, "--root", str(root)]
            cmd += ["--epochs", str(args.epochs), "--batch", str(args.batch), "--workers", str(args.workers)]
            cmd += ["--threads", str(args.threads), "--train-rows", str(args.train_rows)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ}, timeout=3600)
            if proc.returncode != 0:
                raise SystemExit(f"{mode} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
            figures = json.loads(proc.stdout.strip().splitlines()[-1]) | {"load_before": load}
            figures["load_after"] = load_average()
            results.append(figures)
            s = figures["seconds"]
            pss = figures["peak_pss_mb_with_workers"]
            print(
                f"{mode:<13} read {s['read']:6.1f} s  encode {s['encode']:6.1f} s  cache {s.get('cache', 0):5.1f} s  "
                f"train {figures['train_images_per_s']:6.1f} img/s  predict {figures['predict_images_per_s']:6.1f} "
                f"img/s  batches {figures['batches_images_per_s']:7.1f} img/s  peak RSS {figures['peak_rss_mb']:6.0f} "
                f"MB  PSS+workers {pss if pss is not None else float('nan'):6.0f} MB  "
                f"(load {load} -> {figures['load_after']})"
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"n": args.n, "side": args.side, "results": results}, indent=1))


if __name__ == "__main__":
    main()
