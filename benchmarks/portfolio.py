"""The presets against the config ``kaggle-kit init`` wrote before them (LightGBM + XGBoost), on real datasets.

For each dataset of the fixed list in ``_datasets.py`` (bundled with scikit-learn and statsmodels: nothing is
downloaded), 20 % of the rows are held out as a hidden test set. Each config is then run as a user would: ``run()``
(the default parallelism), ``blend_report(run, "all")``, and the submission the blend report's verdict picks (the
best blend when its nested CV beats the best single model, else that model), scored on the hidden rows. Wall time is
run + blends. Printed per dataset: each config's hidden-test score, nested CV of what it submits, wall time and the
ratio to the old config's; then the per-family CV table of the preset runs.

Target (issue #12): the ``good`` preset beats the old two-GBDT config on the hidden test of every dataset, at no
more than 3x its wall time on 2 cores.

    .venv/bin/python benchmarks/portfolio.py                          # all datasets, presets good
    .venv/bin/python benchmarks/portfolio.py --presets fast,good,best --datasets fair,randhie
    .venv/bin/python benchmarks/portfolio.py --quick                  # seconds: the code path only (the tests)
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
from _datasets import DATASETS, Dataset, by_name, split
from _machine import load_average, machine_line

from kaggle_kit.blend import blend_report, blend_test_predictions
from kaggle_kit.config import build_spec
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

#: what `kaggle-kit init` wrote before the presets (kaggle_kit 0.1, session 2)
OLD_INIT_MODELS = [
    {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 5000, "early_stopping_rounds": 200,
     "params": {"learning_rate": 0.03, "num_leaves": 31}},
    {"name": "xgb", "kind": "xgboost", "num_boost_round": 5000, "early_stopping_rounds": 200,
     "params": {"learning_rate": 0.03, "max_depth": 6}},
]  # fmt: skip


def config(ds: Dataset, which: str, quick: bool) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": f"{ds.name}-{which}",
        "task": ds.task,
        "metric": ds.metric,
        "seed": 42,
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": ds.target},
    }
    if which == "old":
        raw["models"] = OLD_INIT_MODELS
    else:
        raw["preset"] = which
    if quick:
        raw.pop("preset", None)
        raw["models"] = [{**m, "num_boost_round": 20, "early_stopping_rounds": 5} for m in OLD_INIT_MODELS]
        raw["folds"] = {"n_splits": 2}
        raw["run"] = {"n_jobs": 1, "threads_per_task": 1}
    return raw


def hidden_score(ds: Dataset, run_dir: Path, preds: pl.DataFrame, hidden: pl.DataFrame) -> float:
    meta = RunStore(run_dir).read_meta()
    metric = get_metric(ds.metric)
    joined = preds.join(hidden.select("id", ds.target), on="id", how="left", maintain_order="left")
    values = joined.drop("id", ds.target).to_numpy()
    if meta["classes"] is None:
        return metric.score(joined[ds.target].to_numpy().astype(np.float64), values)
    lookup = {str(c): i for i, c in enumerate(meta["classes"])}
    y = np.array([lookup[str(v)] for v in joined[ds.target].to_list()], dtype=np.int64)
    return metric.score(y, values)


def run_config(ds: Dataset, which: str, train: pl.DataFrame, hidden: pl.DataFrame, root: Path, quick: bool) -> dict:
    spec = build_spec(config(ds, which, quick), base_dir=root)
    load_before = load_average()
    start = time.perf_counter()
    result = run(spec, runs_root=root / "runs", train=train, test=hidden.drop(ds.target), progress=None,
                 record_history=False)  # fmt: skip
    run_seconds = time.perf_counter() - start
    report = blend_report(result.run_dir, "all")
    wall = time.perf_counter() - start
    kind, chosen = report.choice()
    if kind == "blend":
        cv = report.best_blend.mean
        preds = blend_test_predictions(result.run_dir, chosen)
    else:
        cv = report.model_mean(report.best_model)
        preds = RunStore(result.run_dir).read_predictions(chosen, "test")
    return {
        "config": which,
        "run_dir": str(result.run_dir),
        "submitted": chosen,
        "nested_cv": cv,
        "test": hidden_score(ds, result.run_dir, preds, hidden),
        "wall_seconds": wall,
        "run_seconds": run_seconds,
        "load_before": load_before,
        "load_after": load_average(),
        "models": [
            {"name": m.name, "kind": m.kind, "cv": m.cv, "fit_seconds": m.fit_seconds, "status": m.status}
            for m in result.models
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(d.name for d in DATASETS))
    parser.add_argument("--presets", default="good", help="comma-separated: fast, good, best")
    parser.add_argument("--quick", action="store_true", help="tiny GBDTs on 2 folds: the code path, in seconds")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    datasets = by_name(args.datasets)
    configs = ["old", *args.presets.split(",")]
    print(machine_line())
    figures: dict[str, Any] = {}
    for ds in datasets:
        train, hidden = split(ds)
        print(f"\n{ds.name} ({ds.task}, {ds.metric}; {train.height} train / {hidden.height} hidden rows; {ds.source})")
        entry: dict[str, Any] = {}
        better = get_metric(ds.metric).better
        for which in configs:
            with tempfile.TemporaryDirectory(prefix=f"kit-portfolio-{ds.name}-") as tmp:
                res = run_config(ds, which, train, hidden, Path(tmp), args.quick)
            res.pop("run_dir")
            entry[which] = res
            old = entry["old"]
            ratio = res["wall_seconds"] / old["wall_seconds"]
            verdict = "" if which == "old" else ("  beats old" if better(res["test"], old["test"]) else "  LOSES")
            print(
                f"  {which:<5} test {res['test']:.5f}  nested CV {res['nested_cv']:.5f}  submitted "
                f"{res['submitted']!r:<16} wall {res['wall_seconds']:7.1f} s ({ratio:.2f}x old)  "
                f"load {res['load_before']} -> {res['load_after']}{verdict}",
                flush=True,
            )
        for which in configs[1:]:
            print(f"  per-family CV ({which}):")
            for m in sorted(entry[which]["models"], key=lambda m: m["name"]):
                line = f"{m['name']:<10} {m['kind']:<14} CV {m['cv']:.5f}  fit {m['fit_seconds']:7.1f} s {m['status']}"
                print("    " + line)
        figures[ds.name] = entry
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
