"""How image files listed by id scale as pixel columns (``[data.images]``): time and peak memory per stage.

Writes ``--n`` random PNGs of ``--side`` x ``--side`` x 3 into a temporary folder, then times each stage a run
goes through with them:

* ``decode``: :func:`~kaggle_kit.models.nn.images.load_images` to one ``(N, H, W, C)`` uint8 array (Pillow, threads);
* ``to frame``: the array as ``H * W * C`` polars columns ``pixel0 ..`` (uint8);
* ``fingerprint``: the row hash the runner keys stored results on (``CompetitionData.fingerprint``);
* ``fold matrix``: the base encoding of every row to the float32 matrix a model reads (done once per fold);
* ``schema per column``: ``frame.schema[c]`` for every column, as ``prepare_competition`` did per feature (its cost
  grows with the square of the number of columns), against one ``frame.schema`` looked up per column.

Peak memory is the peak resident set of the stage above what was resident before it (Linux: the peak is reset
before each stage). Run::

    .venv/bin/python benchmarks/image_files.py                  # 2000 images of 64 x 64 x 3
    .venv/bin/python benchmarks/image_files.py --n 500 --side 32
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _machine import machine_line


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def stage(name: str, fn: Callable[[], Any]) -> Any:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set (Linux)
    before = _rss_kb("VmRSS:")
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    peak = (_rss_kb("VmHWM:") - before) / 1024
    print(f"{name:<22} {seconds:8.2f} s   peak +{peak:8.1f} MB")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images (default 2000)")
    parser.add_argument("--side", type=int, default=64, help="height = width in pixels (default 64)")
    parser.add_argument("--schema-columns", type=int, default=2000, help="columns for the schema-per-column check")
    args = parser.parse_args()

    import polars as pl
    from PIL import Image

    from kaggle_kit.features import TableEncoder
    from kaggle_kit.models.nn.images import load_images, pixel_frame

    print(machine_line())
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.n):
            base = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)  # smooth-ish content, as photos compress
            img = Image.fromarray(base).resize((args.side, args.side), Image.Resampling.BILINEAR)
            paths.append(Path(tmp) / f"{i}.png")
            img.save(paths[-1])
        mb = sum(p.stat().st_size for p in paths) / 2**20
        n_cols = args.side * args.side * 3
        print(f"{args.n} PNGs of {args.side} x {args.side} x 3 ({mb:.1f} MB on disk) -> {n_cols} pixel columns")

        threads = min(8, os.cpu_count() or 1)
        images = stage("decode", lambda: load_images(paths, channels=3, threads=threads, dtype=np.uint8))
        frame = stage("to frame", lambda: pixel_frame(images))
        frame = frame.insert_column(0, pl.Series("id", np.arange(args.n)))
        print(f"{'frame size':<22} {frame.estimated_size() / 2**20:8.1f} MB")
        stage("fingerprint", lambda: frame.hash_rows(seed=0).to_numpy().tobytes())
        features = tuple(frame.columns[1:])
        encoder = TableEncoder(features, ())
        state = stage("fold matrix fit", lambda: encoder.fit(frame))
        matrix = stage("fold matrix", lambda: encoder.transform(frame, state))
        print(f"{'fold matrix size':<22} {matrix.X.nbytes / 2**20:8.1f} MB ({matrix.X.dtype})")

        k = min(args.schema_columns, frame.width)
        cols = frame.columns[:k]
        sub = frame.select(cols)
        stage(f"schema per col ({k})", lambda: [sub.schema[c] for c in cols])
        stage(f"schema once ({k})", lambda: (lambda s: [s[c] for c in cols])(sub.schema))


if __name__ == "__main__":
    main()
