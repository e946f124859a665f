"""Scaling: wall time and peak memory of a whole kaggle_kit run from 100,000 to 1,000,000 rows (target: ~linear).

For each size, a fresh process writes a binary task made by ``sklearn.datasets.make_classification`` (``--cols``
features, a test set of a tenth of the training rows) to parquet; then another fresh process runs the kit on it
from the files, as a user would: ``kaggle_kit.runtime.runner.run`` with one GBDT at a fixed round count (no early
stopping,
so every size does the same work per row), 5 stratified folds, and the kit's default parallelism (one worker per
core). The parent samples the resident memory of that process and all its workers together, and times it.

Printed per size: the run's wall time (the process's, imports included, and ``run()``'s alone), the peak resident
memory of the process tree, and each one's growth against the 100,000-row run beside the growth in rows.

    .venv/bin/python benchmarks/scaling.py                               # 100k, 300k, 1M rows x 100 columns
    .venv/bin/python benchmarks/scaling.py --model lightgbm --rounds 200
    .venv/bin/python benchmarks/scaling.py --quick                       # seconds: the test suite's check
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from _machine import load_average, machine_line, run_python

_MODEL_PARAMS = {
    "xgboost": {"learning_rate": 0.1, "max_depth": 6},
    "lightgbm": {"learning_rate": 0.1, "num_leaves": 63},
}


def make_data(rows: int, cols: int, folder: Path, seed: int = 0) -> None:
    """Write ``train.parquet`` (``rows`` rows) and ``test.parquet`` (a tenth of that) for a binary task."""
    import numpy as np
    import polars as pl
    from sklearn.datasets import make_classification

    n_test = max(rows // 10, 10)
    X, y = make_classification(
        n_samples=rows + n_test,
        n_features=cols,
        n_informative=max(2, cols // 5),
        n_redundant=max(0, cols // 10),
        flip_y=0.05,
        random_state=seed,
    )
    frame = pl.DataFrame(X.astype(np.float32), schema=[f"f{i}" for i in range(cols)], orient="row")
    frame = frame.with_columns(pl.Series("id", np.arange(rows + n_test, dtype=np.int64)))
    folder.mkdir(parents=True, exist_ok=True)
    frame[:rows].with_columns(pl.Series("target", y[:rows].astype(np.int64))).write_parquet(folder / "train.parquet")
    frame[rows:].write_parquet(folder / "test.parquet")


def fit(folder: Path, model: str, rounds: int, n_jobs: int) -> dict[str, object]:
    """Run the kit on ``folder``'s data (in this process and its workers); return what the parent prints."""
    from kaggle_kit.config import build_spec
    from kaggle_kit.runtime.runner import run

    spec = build_spec(
        {
            "name": "scaling",
            "task": "binary",
            "metric": "roc_auc",
            "seed": 0,
            "device": "cpu",
            "data": {"train": "train.parquet", "test": "test.parquet", "id": "id", "target": "target"},
            "folds": {"strategy": "stratified", "n_splits": 5},
            "run": {"n_jobs": n_jobs},
            "models": [
                {
                    "name": model,
                    "kind": model,
                    "num_boost_round": rounds,
                    "early_stopping_rounds": 0,
                    "params": _MODEL_PARAMS[model],
                }
            ],
        },
        base_dir=folder,
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    result = run(spec, runs_root=folder / "runs", progress=None)
    seconds = time.perf_counter() - start
    fitted = next(m for m in result.models if m.name == model)
    if fitted.status != "ok":
        raise SystemExit(f"the {model} model failed: {fitted.error}")
    return {
        "run_seconds": seconds,
        "cv": fitted.cv,
        "fit_seconds": fitted.fit_seconds,
        "rss_before_run": rss_before,
        "self_peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "folds_fitted": result.fitted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,300000,1000000", help="comma-separated training row counts")
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--model", choices=sorted(_MODEL_PARAMS), default="xgboost")
    parser.add_argument("--rounds", type=int, default=100, help="boosting rounds (fixed: no early stopping)")
    parser.add_argument("--n-jobs", type=int, default=0, help="run.n_jobs; 0 = the kit's default, one per core")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    # internal: the two child steps
    parser.add_argument("--make-data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fit", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.make_data is not None:
        make_data(int(args.rows), args.cols, args.make_data)
        return
    if args.fit is not None:
        print(json.dumps(fit(args.fit, args.model, args.rounds, args.n_jobs)))
        return
    if args.quick:
        args.rows, args.cols, args.rounds, args.n_jobs = "1000,2000", 10, 10, 1

    sizes = [int(r) for r in args.rows.split(",")]
    print(machine_line())
    print(
        f"scaling: {args.model}, {args.rounds} rounds, 5 folds, {args.cols} columns, "
        f"run.n_jobs={args.n_jobs or 'default (one worker per core, cores // workers threads each)'}"
    )
    me = str(Path(__file__).resolve())
    common = ["--cols", str(args.cols), "--model", args.model, "--rounds", str(args.rounds)]
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="kit-scaling-") as tmp:
        for n in sizes:
            folder = Path(tmp) / f"rows{n}"
            _, _, rc, _ = run_python([me, "--make-data", str(folder), "--rows", str(n), *common])
            if rc != 0:
                raise SystemExit(f"making the {n}-row data failed (exit {rc})")
            load_before = load_average()
            wall, peak, rc, out = run_python([me, "--fit", str(folder), "--n-jobs", str(args.n_jobs), *common])
            if rc != 0:
                raise SystemExit(f"the {n}-row run failed (exit {rc})")
            child = json.loads(out.strip().splitlines()[-1])
            row = {"rows": n, "wall_seconds": wall, "peak_tree_rss": peak, **child}
            row["load_before"], row["load_after"] = load_before, load_average()
            rows_out.append(row)
            print(
                f"{n:>10,} rows: process {wall:7.1f} s (run() {child['run_seconds']:7.1f} s), "
                f"peak RSS of process + workers {peak / 2**20:7.0f} MB, CV AUC {child['cv']:.4f}  "
                f"(load {load_before} -> {row['load_after']})",
                flush=True,
            )
    base = rows_out[0]
    print(f"\ngrowth against {base['rows']:,} rows (linear = the rows ratio):")
    print(f"{'rows':>10} {'rows x':>8} {'run() x':>8} {'process x':>10} {'peak RSS x':>11}")
    for row in rows_out:
        print(
            f"{row['rows']:>10,} {row['rows'] / base['rows']:>8.1f} {row['run_seconds'] / base['run_seconds']:>8.2f} "
            f"{row['wall_seconds'] / base['wall_seconds']:>10.2f} {row['peak_tree_rss'] / base['peak_tree_rss']:>11.2f}"
        )
    print(f"load average after: {load_average()}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows_out, indent=1))


if __name__ == "__main__":
    sys.exit(main())
