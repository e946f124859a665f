"""Prediction speed of a finished run: rows per second for each model family and each blend, fold models (one per
fold, averaged) versus the models refit on all rows, the loading of every model file included.

Builds a binary task (``--train-rows`` x 20 numeric + 2 text columns), runs one model per family on 3 folds, blends
them (Nelder-Mead, stacking), refits every model on all rows, then times ``kaggle_kit.predict`` on ``--rows`` new rows
(default 100,000) for each model and blend, once with the fold models and once with the refit ones. Each time covers
what a code-competition notebook pays: reading the run folder, loading each model file, encoding the rows with each
fold's fitted features, predicting, averaging, blending.

    .venv/bin/python benchmarks/predict_speed.py                 # 100k rows: a few minutes
    .venv/bin/python benchmarks/predict_speed.py --quick         # seconds: the test suite's check
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _machine import load_average, machine_line

import kaggle_kit
from kaggle_kit import build_spec, run
from kaggle_kit.blend import blend_report
from kaggle_kit.predict import refit

FAMILIES: dict[str, dict[str, Any]] = {
    "xgboost": {"kind": "xgboost", "num_boost_round": 200, "early_stopping_rounds": 20},
    "lightgbm": {"kind": "lightgbm", "num_boost_round": 200, "early_stopping_rounds": 20},
    "mlp": {"kind": "mlp", "params": {"epochs": 5, "patience": 2}},
    "linear": {"kind": "linear"},
    "random_forest": {"kind": "random_forest", "params": {"n_estimators": 100}},
    "hist_gradient_boosting": {
        "kind": "sklearn",
        "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
        "params": {"max_iter": 100},
    },
}


def make_frame(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 20)).astype(np.float64)
    city = rng.integers(0, 50, rows)
    logit = X[:, 0] - 0.5 * X[:, 1] + 0.3 * X[:, 2] * X[:, 3] + 0.02 * (city - 25)
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    frame = pl.DataFrame({f"x{j}": X[:, j] for j in range(20)})
    return frame.with_columns(
        pl.Series("id", np.arange(rows) + seed * 10_000_000),
        pl.Series("city", [f"c{c}" for c in city]),
        pl.Series("band", np.array(["lo", "mid", "hi"])[rng.integers(0, 3, rows)]),
        pl.Series("target", y),
    )


def build_run(root: Path, train_rows: int, quick: bool) -> Path:
    comp = root / "comp"
    comp.mkdir(parents=True)
    make_frame(train_rows, 0).write_csv(comp / "train.csv")
    make_frame(1000, 1).drop("target").write_csv(comp / "test.csv")
    models = []
    for name, spec in FAMILIES.items():
        spec = dict(spec)
        if quick:  # tiny models: the check is that every path runs, not the figure
            spec.update({"num_boost_round": 20} if "num_boost_round" in spec else {})
            if spec["kind"] == "mlp":
                spec["params"] = {"epochs": 2, "patience": 0}
            if spec["kind"] == "random_forest":
                spec["params"] = {"n_estimators": 10}
        models.append({"name": name, **spec})
    spec = build_spec(
        {
            "name": "predict-speed",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "target"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": models,
        },
        base_dir=comp,
    )
    run_dir = run(spec, runs_root=root / "runs", progress=None, record_history=False).run_dir
    blend_report(run_dir, "nelder_mead,stack")
    refit(run_dir, progress=None)
    return run_dir


def time_predict(run_dir: Path, test: pl.DataFrame, threads: int, **which: Any) -> dict[str, float]:
    start = time.perf_counter()
    out = kaggle_kit.predict(run_dir, test, threads=threads, **which)
    seconds = time.perf_counter() - start
    assert out.height == test.height
    return {"seconds": round(seconds, 6), "rows_per_second": round(test.height / seconds, 1)}  # a fast quick run: ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="test rows to predict (default: 100,000)")
    parser.add_argument("--train-rows", type=int, default=20_000, help="training rows of the run (default: 20,000)")
    parser.add_argument("--threads", type=int, default=1, help="threads per model (default: 1)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.train_rows = 2000, 600
    print(machine_line())
    figures: dict[str, Any] = {"rows": args.rows, "train_rows": args.train_rows, "threads": args.threads}
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = build_run(Path(tmp), args.train_rows, args.quick)
        test = make_frame(args.rows, 2).drop("target")
        figures["models"] = {
            name: {
                "folds": time_predict(run_dir, test, args.threads, model=name),
                "refit": time_predict(run_dir, test, args.threads, model=name, refit=True),
            }
            for name in FAMILIES
        }
        figures["blends"] = {
            name: {
                "folds": time_predict(run_dir, test, args.threads, blend=name),
                "refit": time_predict(run_dir, test, args.threads, blend=name, refit=True),
            }
            for name in ("nelder_mead", "stack")
        }
    figures["load_after"] = load_average()
    print(f"\n{args.rows:,} rows, {args.threads} thread(s); rows per second, load included (3 fold models vs 1 refit)")
    print(f"{'':<24}{'fold models':>14}{'refit':>14}{'refit / folds':>15}")
    for group in ("models", "blends"):
        for name, entry in figures[group].items():
            a, b = entry["folds"]["rows_per_second"], entry["refit"]["rows_per_second"]
            print(f"{name:<24}{a:>14,.0f}{b:>14,.0f}{b / a:>14.1f}x")
    print(f"load average after: {figures['load_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
