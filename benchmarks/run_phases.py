"""Where a preset run's time goes outside the fits: the seconds of each phase of ``run`` (reading the files, preparing
the data, the folds, the fits in the worker pool, the OOF assembly, the history), then ``blend_report(..., "all")``,
the submission and ``build_report``, beside the fits' own seconds summed over the folds (worker side: fit, predict,
the libraries' first import, the whole task).

The table is made here: ``--rows`` training rows (a quarter as many test rows) of 22 numeric columns (3 % missing)
and 8 text categorical columns (``'L<k>'``, 3 to 400 levels), a binary target, written as CSV files in the Kaggle
layout, read by a config with ``preset = --preset`` and ``run.n_jobs = --jobs``. Before the run, the train and test
files are read as the kit reads them and with polars' date inference on every read, as the kit read them before
(``try_parse_dates`` over the rows it infers from: about 20 us a text value; the "before" figure includes the kit's
read of the first 1,000 rows, a few milliseconds), the two frames compared.

    .venv/bin/python benchmarks/run_phases.py                          # 50,000 rows, preset fast, 2 jobs
    .venv/bin/python benchmarks/run_phases.py --rows 1000 --preset good
    .venv/bin/python benchmarks/run_phases.py --quick                  # seconds: the test suite's check
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _machine import load_average, machine_line

from kaggle_kit import blend_report, load_spec, run, write_submission
from kaggle_kit.readers import tables
from kaggle_kit.readers.competition import read_frames
from kaggle_kit.report import build_report
from kaggle_kit.runtime import runner

CARDINALITIES = (3, 5, 8, 12, 20, 50, 100, 400)


def make_competition(folder: Path, rows: int, preset: str, jobs: int, seed: int = 0) -> Path:
    """The CSV files and the config; the config's path."""
    rng = np.random.default_rng(seed)
    n = rows + rows // 4
    numbers = rng.normal(size=(n, 22))
    numbers[rng.random(numbers.shape) < 0.03] = np.nan
    columns: dict[str, Any] = {"id": np.arange(n)}
    columns.update({f"num{j}": numbers[:, j] for j in range(numbers.shape[1])})
    codes = [rng.integers(0, k, size=n) for k in CARDINALITIES]
    columns.update({f"cat{j}": [f"L{c}" for c in c_] for j, c_ in enumerate(codes)})
    logit = np.nan_to_num(numbers[:, 0]) - 0.5 * np.nan_to_num(numbers[:, 1]) + 0.3 * (codes[0] == 1)
    y = np.where(logit + rng.normal(size=n) > 0, "yes", "no")
    frame = pl.DataFrame(columns)
    frame.head(rows).with_columns(pl.Series("target", y[:rows])).write_csv(folder / "train.csv")
    frame.tail(n - rows).write_csv(folder / "test.csv")
    pl.DataFrame({"id": frame["id"].tail(n - rows), "target": ["no"] * (n - rows)}).write_csv(
        folder / "sample_submission.csv"
    )
    config = folder / "config.toml"
    config.write_text(
        f'name = "phases"\ntask = "binary"\nmetric = "roc_auc"\nseed = 0\npreset = "{preset}"\n\n[data]\n'
        'train = "train.csv"\ntest = "test.csv"\nsample_submission = "sample_submission.csv"\nid = "id"\n'
        f'target = "target"\n\n[run]\nn_jobs = {jobs}\n'
    )
    return config


def compare_reads(config: Path) -> dict[str, Any]:
    """Train and test read as the kit reads them, then as it did before (the date inference on every read)."""
    spec = load_spec(config)
    start = time.perf_counter()
    now = read_frames(spec)
    kit = time.perf_counter() - start
    kept = tables._may_hold_dates
    tables._may_hold_dates = lambda frame, overridden: True  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        before = read_frames(spec)
        peer = time.perf_counter() - start
    finally:
        tables._may_hold_dates = kept  # type: ignore[assignment]
    same = all(a.equals(b) and a.schema == b.schema for a, b in zip(now, before, strict=True) if a is not None)
    return {"kit_seconds": round(kit, 3), "before_seconds": round(peer, 3), "same_frames": same}


class Phases:
    """Seconds (and calls) of the runner's functions named, while installed."""

    #: (module or class, attribute, phase name)
    WATCHED: tuple[tuple[Any, str, str], ...] = (
        (runner, "read_frames", "run: read the files"),
        (runner, "load_competition", "run: prepare the data"),
        (runner, "_folds_for_run", "run: folds (made and saved)"),
        (runner, "_with_preset", "run: preset resolved"),
        (runner.RunSession, "check", "run: models checked"),
        (runner.RunSession, "write_meta", "run: run.json written"),
        (runner.RunSession, "run_tasks", "run: fits (worker pool)"),
        (runner.RunSession, "assemble", "run: OOF assembled"),
        (runner, "_record_history", "run: history recorded"),
    )

    def __init__(self) -> None:
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self.calls: collections.Counter[str] = collections.Counter()
        self._kept: list[tuple[Any, str, Any]] = []

    def install(self) -> None:
        for owner, attr, name in self.WATCHED:
            real = getattr(owner, attr)
            self._kept.append((owner, attr, real))
            setattr(owner, attr, self._timed(real, name))

    def remove(self) -> None:
        for owner, attr, real in self._kept:
            setattr(owner, attr, real)
        self._kept = []

    def _timed(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1

        return timed

    def time(self, name: str, fn: Callable[[], Any]) -> Any:
        return self._timed(fn, name)()


def fold_seconds(run_dir: Path) -> dict[str, float]:
    """The fits' own seconds, summed over every fold of the run (what the workers recorded)."""
    sums: dict[str, float] = collections.defaultdict(float)
    for path in run_dir.glob("models/*/*/folds/*/result.json"):
        result = json.loads(path.read_text())
        for key in ("fit_seconds", "predict_seconds", "import_seconds", "task_seconds"):
            sums[key] += result.get(key) or 0.0
    return {k: round(v, 3) for k, v in sums.items()}


def measure(rows: int, preset: str, jobs: int, folder: Path) -> dict[str, Any]:
    config = make_competition(folder, rows, preset, jobs)
    reads = compare_reads(config)
    phases = Phases()
    phases.install()
    try:
        spec = load_spec(config)
        result = phases.time("RUN (all of run())", lambda: run(spec, runs_root=folder / "runs", progress=None))
        report = phases.time("BLEND (method all)", lambda: blend_report(result.run_dir, "all"))
        kind, name = report.choice()
        which = {"blend": name} if kind == "blend" else {"model": name}
        phases.time("SUBMIT", lambda: write_submission(result.run_dir, **which))
        phases.time("REPORT", lambda: build_report(result.run_dir))
    finally:
        phases.remove()
    return {
        "rows": rows,
        "preset": preset,
        "jobs": jobs,
        "reads": reads,
        "phases": {k: round(v, 3) for k, v in phases.seconds.items()},
        "calls": dict(phases.calls),
        "folds": fold_seconds(result.run_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--preset", default="fast", choices=["fast", "good", "best"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="300 rows, preset fast: seconds")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.preset = 300, "fast"
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        figures = measure(args.rows, args.preset, args.jobs, Path(tmp))
    reads = figures["reads"]
    print(
        f"\n{args.rows:,} rows, preset {args.preset!r}, {args.jobs} job(s); train + test read: "
        f"{reads['kit_seconds']:.2f} s "
        f"(before: {reads['before_seconds']:.2f} s with the date inference on every read; same frames: "
        f"{reads['same_frames']})\n"
    )
    for name, seconds in figures["phases"].items():
        calls = figures["calls"][name]
        print(f"  {name:32s} {seconds:8.2f} s" + (f"  ({calls} calls)" if calls > 1 else ""))
    folds = figures["folds"]
    print(
        f"\nfolds, summed over the workers: fit {folds.get('fit_seconds', 0):.2f} s, predict "
        f"{folds.get('predict_seconds', 0):.2f} s, libraries' first import {folds.get('import_seconds', 0):.2f} s, "
        f"whole tasks {folds.get('task_seconds', 0):.2f} s"
    )
    print(f"load average after: {load_average()}")
    figures["load_after"] = load_average()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
