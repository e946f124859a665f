"""Speed and peak memory of a typical feature pipeline: kaggle_kit (polars) against scikit-learn + pandas.

The pipeline, on ``--rows`` rows (default 1,000,000) of 30 numeric and 10 categorical columns (cardinalities 10 to
100,000) with a binary target, from a frame in memory to a model-ready matrix:

* 5 group aggregates: mean / std / min / max / count of a numeric column by a categorical key;
* standardise the 30 numeric columns;
* target-encode the 10 categorical columns, out of fold (5 inner folds) for the training rows.

kaggle_kit: ``Pipeline([GroupAggregate x5, Standardize, TargetEncode]).fit_transform`` then ``matrix`` (float32).
scikit-learn: pandas ``groupby(key)[col].transform(stat)`` x5, then ``ColumnTransformer(StandardScaler,
TargetEncoder(cv=5), passthrough)`` ``.fit_transform`` (float64). Each runs in a fresh process that first builds the
same data; its time is the pipeline alone, its peak memory the peak resident set *above* the data already held
(Linux: the peak is reset after the data is built). Before timing, a check on 100,000 rows confirms that the two
compute the same scaled columns, group aggregates and full-data target encodings.

Run::

    .venv/bin/python benchmarks/features_speed.py            # the issue's size: 1,000,000 rows
    .venv/bin/python benchmarks/features_speed.py --rows 200000 --repeats 3

Needs pandas (``pip install pandas``) for the scikit-learn side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

N_NUMERIC = 30
CARDINALITIES = (10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, 200)
AGGREGATES = (("num0", "cat0", "mean"), ("num1", "cat1", "std"), ("num2", "cat2", "min"), ("num3", "cat3", "max"))
AGGREGATES += (("num4", "cat4", "count"),)
NUMERIC = [f"num{i}" for i in range(N_NUMERIC)]
CATEGORICAL = [f"cat{i}" for i in range(len(CARDINALITIES))]


def make_data(rows: int, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {c: rng.normal(size=rows) for c in NUMERIC}
    for c, card in zip(CATEGORICAL, CARDINALITIES, strict=True):
        columns[c] = rng.integers(0, card, rows)
    logit = columns["num0"] - 0.5 * columns["num1"] + 0.3 * (columns["cat0"] % 3)
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return columns, y


# ---------------------------------------------------------------------------------------------- the two sides
def kit_pipeline() -> Any:
    from kaggle_kit.features import GroupAggregate, Pipeline, Standardize, TargetEncode

    steps: list[Any] = [GroupAggregate(by=key, columns=[col], stats=[stat]) for col, key, stat in AGGREGATES]
    steps += [Standardize(columns=NUMERIC), TargetEncode(columns=CATEGORICAL, smooth="auto", cv=5)]
    return Pipeline(steps)


def _kit(frame: Any, y: np.ndarray) -> tuple[np.ndarray, Any]:
    pipe = kit_pipeline()
    out, state = pipe.fit_transform(frame, y, task="binary", seed=0, categorical=CATEGORICAL)
    return pipe.matrix(out, state).X, state


def sklearn_pipeline() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import StandardScaler, TargetEncoder

    return ColumnTransformer(
        [
            ("num", StandardScaler(), NUMERIC),
            ("te", TargetEncoder(target_type="binary", smooth="auto", cv=5), CATEGORICAL),
        ],
        remainder="passthrough",
    )


def _sklearn(frame: Any, y: np.ndarray) -> tuple[np.ndarray, Any]:
    for col, key, stat in AGGREGATES:
        frame[f"{col}__{stat}_by_{key}"] = frame.groupby(key)[col].transform(stat)
    ct = sklearn_pipeline()
    return ct.fit_transform(frame, y), ct


# ---------------------------------------------------------------------------------------------- measuring
def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM (the peak resident set) to the current resident set
        return True
    except OSError:
        return False


def worker(side: str, rows: int, repeats: int) -> dict[str, Any]:
    """One side in this (fresh) process: build the data, then time the pipeline and measure its peak memory."""
    columns, y = make_data(rows)
    if side == "kit":
        import polars as pl

        frame, fn = pl.DataFrame(columns), _kit
    else:
        import pandas as pd

        frame, fn = pd.DataFrame(columns), _sklearn
    del columns
    best, peak, base = float("inf"), 0.0, 0.0
    for _ in range(repeats):
        work = frame.copy() if side == "sklearn" else frame  # pandas adds the aggregate columns in place
        base = _rss_mb("VmRSS")
        exact = _reset_peak()
        start = time.perf_counter()
        X, _ = fn(work, y)
        best = min(best, time.perf_counter() - start)
        peak = max(peak, (_rss_mb("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
        shape = X.shape
        del X, work
    return {"seconds": best, "peak_mb": peak - base, "data_mb": base, "shape": list(shape), "exact_peak": exact}


def verify(rows: int = 100_000) -> list[str]:
    """The two sides compute the same thing: scaled columns and aggregates to 1e-9, full-data encodings too."""
    import pandas as pd
    import polars as pl

    columns, y = make_data(rows, seed=1)
    X_kit, state = _kit(pl.DataFrame(columns), y)
    X_sk, ct = _sklearn(pd.DataFrame(columns), y)
    names = state["features"]
    checks = []
    for j, col in enumerate(NUMERIC):
        np.testing.assert_allclose(X_kit[:, names.index(col)], X_sk[:, j], rtol=1e-5, atol=1e-5)  # float32 vs 64
    checks.append("standardised columns agree")
    for k, (col, key, stat) in enumerate(AGGREGATES):
        ours = X_kit[:, names.index(f"{col}__{stat}_by_{key}")]
        np.testing.assert_allclose(ours, X_sk[:, len(NUMERIC) + len(CATEGORICAL) + k], rtol=1e-5, atol=1e-5)
    checks.append("group aggregates agree")
    te_state = state["steps"][-1]["state"]
    encoder = ct.named_transformers_["te"]
    for j, col in enumerate(CATEGORICAL):
        mapping = dict(zip(te_state["levels"][col], te_state["values"][col][0], strict=True))
        ours = np.array([mapping[v] for v in encoder.categories_[j].tolist()])
        np.testing.assert_allclose(ours, encoder.encodings_[j], rtol=1e-9, atol=1e-12)
    checks.append("full-data target encodings agree (the out-of-fold ones use other inner folds)")
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1, help="best of this many runs per side")
    parser.add_argument("--worker", choices=["kit", "sklearn"], help=argparse.SUPPRESS)
    parser.add_argument("--no-verify", action="store_true", help="skip the 100,000-row agreement check")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.rows, args.repeats)))
        return 0

    try:
        import pandas  # noqa: F401
    except ImportError:
        print("the scikit-learn side needs pandas: pip install pandas", file=sys.stderr)
        return 2
    import polars as pl
    import sklearn

    print(
        f"feature pipeline on {args.rows:,} rows: {len(AGGREGATES)} group aggregates, standardise {N_NUMERIC} "
        f"numeric, target-encode {len(CATEGORICAL)} categorical (5 inner folds)"
    )
    print(
        f"polars {pl.__version__} ({pl.thread_pool_size()} threads), scikit-learn {sklearn.__version__}, "
        f"{os.cpu_count()} CPUs"
    )
    if not args.no_verify:
        for line in verify():
            print(f"  check: {line}")

    results = {}
    for side in ("kit", "sklearn"):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", side, "--rows", str(args.rows)]
        cmd += ["--repeats", str(args.repeats)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        results[side] = json.loads(done.stdout.strip().splitlines()[-1])

    kit, sk = results["kit"], results["sklearn"]
    label = {"kit": "kaggle_kit (polars)", "sklearn": "scikit-learn + pandas"}
    print(f"\n{'':<24}{'seconds':>10}{'peak MB':>10}{'data MB':>10}  output")
    for side, r in results.items():
        print(f"{label[side]:<24}{r['seconds']:>10.2f}{r['peak_mb']:>10.0f}{r['data_mb']:>10.0f}  {r['shape']}")
    speedup = sk["seconds"] / kit["seconds"]
    memory = kit["peak_mb"] / sk["peak_mb"]
    print(f"\nspeed-up: {speedup:.1f}x (target >= 3x): {'ok' if speedup >= 3 else 'MISSED'}")
    print(f"peak memory, kit / scikit-learn: {memory:.2f} (target <= 1): {'ok' if memory <= 1 else 'MISSED'}")
    if not (kit["exact_peak"] and sk["exact_peak"]):
        print("(peak memory: no /proc/self/clear_refs here, so peaks include building the data)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
