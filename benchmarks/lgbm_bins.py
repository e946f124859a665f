"""LightGBM's histogram bins (``max_bin``): 255 (LightGBM's default) against fewer, for both LightGBM kinds.

Session 12 saw the GBDTs make a wide table slow (10,000 rows x 300 numbers, 3 classes: LightGBM's folds took 234 s
of a 288 s run). A tree's split search scans every bin of every column at every leaf, so fewer bins cut that part
of the time; LightGBM's own GPU guide reads ``max_bin = 63`` as "almost identical" in accuracy. Measured here, with
the kit's defaults otherwise, on the same 5 folds: the portfolio's six real tables (``_datasets.py``), a wide table
and a tall one made here (scikit-learn's generators, seeded; nothing is downloaded):

* ``wide``: ``make_classification``, 10,000 rows x 300 numbers (30 informative), 3 classes, log loss;
* ``tall``: ``make_friedman1``, 100,000 rows x 10 numbers (5 used, smooth effects), RMSE: where a split's resolution
  could matter most;
* ``wide_smooth``: ``make_friedman1``, 8,000 rows x 200 numbers (5 used), RMSE: a wide table whose few signals are
  smooth.

Printed per table and kind: each ``max_bin``'s CV, its difference from 255's, and its fit seconds (all folds) with
the ratio to 255's. One run per table fits every variant (the same folds, interleaved on the same workers).

    .venv/bin/python benchmarks/lgbm_bins.py                           # every table, bins 255 and 63
    .venv/bin/python benchmarks/lgbm_bins.py --tables wide,fair --bins 255,127,63
    .venv/bin/python benchmarks/lgbm_bins.py --quick                   # seconds: the code path only (the tests)
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from _datasets import DATASETS
from _machine import load_average, machine_line

from kaggle_kit.config import build_spec
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.runner import run

KINDS = ("lightgbm", "lightgbm_xt")


def _wide(rows: int) -> pl.DataFrame:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows, n_features=300, n_informative=30, n_redundant=10, n_classes=3, flip_y=0.05, random_state=0
    )
    return pl.DataFrame(X, schema=[f"f{i}" for i in range(X.shape[1])], orient="row").with_columns(
        pl.Series("target", y)
    )


def _tall(rows: int, columns: int = 10) -> pl.DataFrame:
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=rows, n_features=columns, noise=1.0, random_state=0)
    return pl.DataFrame(X, schema=[f"f{i}" for i in range(X.shape[1])], orient="row").with_columns(
        pl.Series("target", y)
    )


#: name -> (task, metric, target, load(quick))
TABLES: dict[str, tuple[str, str, str, Callable[[bool], pl.DataFrame]]] = {
    **{d.name: (d.task, d.metric, d.target, lambda quick, d=d: d.load()) for d in DATASETS},
    "wide": ("multiclass", "log_loss", "target", lambda quick: _wide(600 if quick else 10_000)),
    "tall": ("regression", "rmse", "target", lambda quick: _tall(2_000 if quick else 100_000)),
    "wide_smooth": ("regression", "rmse", "target", lambda quick: _tall(600 if quick else 8_000, 200)),
}


def measure(name: str, bins: list[int], root: Path, quick: bool) -> dict[str, Any]:
    task, metric, target, load = TABLES[name]
    frame = load(quick).with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
    rounds = {"num_boost_round": 30, "early_stopping_rounds": 5} if quick else {}
    models = [{"name": f"{kind}_{b}", "kind": kind, "params": {"max_bin": b}, **rounds} for kind in KINDS for b in bins]
    spec = build_spec(
        {
            "name": f"bins-{name}",
            "task": task,
            "metric": metric,
            "seed": 0,
            "data": {"train": "train.csv", "id": "id", "target": target},
            "folds": {"n_splits": 2 if quick else 5},
            "models": models,
            **({"run": {"n_jobs": 1, "threads_per_task": 1}} if quick else {}),
        },
        base_dir=root,
    )
    load_before = load_average()
    result = run(spec, runs_root=root / "runs", train=frame, progress=None, record_history=False)
    by_name = {m.name: m for m in result.models}
    return {
        "rows": frame.height,
        "columns": frame.width - 2,
        "load": [load_before, load_average()],
        "models": {n: {"cv": m.cv, "fit_seconds": m.fit_seconds} for n, m in by_name.items() if n != "baseline"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--bins", default="255,63", help="comma-separated max_bin values; the first is the reference")
    parser.add_argument("--quick", action="store_true", help="small tables, 30 rounds, 2 folds: the code path only")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    bins = [int(b) for b in args.bins.split(",")]
    names = args.tables.split(",")
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise SystemExit(f"unknown table(s) {unknown}; known: {', '.join(TABLES)}")
    print(machine_line())
    figures: dict[str, Any] = {}
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"kit-bins-{name}-") as tmp:
            entry = measure(name, bins, Path(tmp), args.quick)
        figures[name] = entry
        metric = get_metric(TABLES[name][1])
        print(f"\n{name} ({entry['rows']} rows x {entry['columns']}; {metric.name}; load {entry['load']})")
        for kind in KINDS:
            ref = entry["models"][f"{kind}_{bins[0]}"]
            for b in bins:
                m = entry["models"][f"{kind}_{b}"]
                gain = (m["cv"] - ref["cv"]) * (1 if metric.greater_is_better else -1)
                verdict = "better" if gain > 0 else "worse" if gain < 0 else "same"
                print(
                    f"  {kind:<12} max_bin {b:>3}  CV {m['cv']:.5f}  ({verdict} by {abs(m['cv'] - ref['cv']):.5f})  "
                    f"fit {m['fit_seconds']:7.1f} s "
                    f"({m['fit_seconds'] / max(ref['fit_seconds'], 1e-9):.2f}x)",
                    flush=True,
                )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
