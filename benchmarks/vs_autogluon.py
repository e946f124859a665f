"""kaggle_kit's ``best`` preset under a time limit against AutoGluon ``best_quality`` with the same ``time_limit``.

For each dataset of the fixed list in ``_datasets.py`` (bundled with scikit-learn and statsmodels; 20 % of the rows
held out as a hidden test set neither side sees), one after the other on the same machine:

* the kit: ``kaggle-kit run CONFIG --preset best --time-limit T`` as a subprocess: the whole command (reading, the
  time-limited run, the ensemble selection and the submission) is timed from outside;
* AutoGluon: ``TabularPredictor(eval_metric=...).fit(train, time_limit=T, presets="best_quality")`` in its own
  virtual environment (``--ag-python``, see ``autogluon_compare.py`` for its set-up), also timed from outside.

Both submissions are scored here by the same kit metric on the hidden rows. Target (issue #13): the kit's score at
least AutoGluon's on at least 4 of the datasets, and its wall time within 1.05 x T on every one.

    .venv/bin/python benchmarks/vs_autogluon.py --time-limit 300
    .venv/bin/python benchmarks/vs_autogluon.py --time-limit 60 --datasets breast_cancer,fair --no-autogluon
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import tomli_w
from _datasets import DATASETS, Dataset, by_name, split
from _machine import load_average, machine_line

from kaggle_kit.metrics import get_metric

SIDE = Path(__file__).resolve().with_name("_autogluon_side.py")
AG_METRIC = {"roc_auc": "roc_auc", "accuracy": "accuracy", "log_loss": "log_loss", "rmse": "root_mean_squared_error"}


def write_competition(ds: Dataset, folder: Path) -> pl.DataFrame:
    """train.csv, test.csv (no target) and the config; returns the hidden rows (with the target)."""
    train, hidden = split(ds)
    folder.mkdir(parents=True, exist_ok=True)
    train.write_csv(folder / "train.csv")
    hidden.drop(ds.target).write_csv(folder / "test.csv")
    config = {
        "name": ds.name,
        "task": ds.task,
        "metric": ds.metric,
        "seed": 42,
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": ds.target},
    }
    (folder / "config.toml").write_text(tomli_w.dumps(config))
    return hidden


def score(ds: Dataset, preds: pl.DataFrame, hidden: pl.DataFrame, classes: list[str] | None) -> float:
    """The kit metric of a submission-like frame (id + one column per class, or one value column)."""
    metric = get_metric(ds.metric)
    joined = hidden.select("id", ds.target).join(preds, on="id", how="left", maintain_order="left")
    if classes is None:
        values = joined.drop("id", ds.target).to_numpy()[:, :1].astype(np.float64)
        return metric.score(joined[ds.target].to_numpy().astype(np.float64), values)
    lookup = {c: i for i, c in enumerate(classes)}
    y = np.array([lookup[str(v)] for v in joined[ds.target].to_list()], dtype=np.int64)
    return metric.score(y, joined.select(classes).to_numpy())


def classes_of(ds: Dataset, hidden: pl.DataFrame, train_csv: Path) -> list[str] | None:
    if ds.task == "regression":
        return None
    return sorted(str(v) for v in pl.read_csv(train_csv)[ds.target].unique().to_list())


def kit_side(ds: Dataset, folder: Path, limit: float, kit_python: str, extra: Sequence[str] = ()) -> dict[str, Any]:
    runs = folder / "runs"
    command = [kit_python, "-m", "kaggle_kit.cli", "run", str(folder / "config.toml"), "--preset", "best",
               "--time-limit", str(limit), "--runs-root", str(runs), *extra]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"kaggle-kit failed on {ds.name} (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return {"wall_seconds": wall, "run_dir": str(runs / ds.name), "tail": proc.stdout[-1500:]}


def kit_predictions(run_dir: str) -> tuple[str, pl.DataFrame]:
    """What the command submitted (the verdict's pick: the best blend or model) as id + one column per class label."""
    from kaggle_kit.blend import blend_test_predictions
    from kaggle_kit.predict.best import best_choice
    from kaggle_kit.runtime.store import RunStore

    choice = best_choice(run_dir)
    if choice.kind == "blend":
        frame = blend_test_predictions(run_dir, choice.name)
    else:
        frame = RunStore(run_dir).read_predictions(choice.name, "test")
    return choice.name, frame.rename({c: c.removeprefix("p_") for c in frame.columns if c.startswith("p_")})


def ag_side(ds: Dataset, folder: Path, limit: float, ag_python: str) -> dict[str, Any]:
    out = folder / "ag"
    job = {"train": str(folder / "train.csv"), "test": str(folder / "test.csv"), "id": "id", "label": ds.target,
           "metric": AG_METRIC[ds.metric], "time_limit": limit, "presets": "best_quality", "num_bag_folds": 0,
           "problem_type": ds.task, "out": str(out)}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "job.json").write_text(json.dumps(job))
    start = time.perf_counter()
    proc = subprocess.run([ag_python, str(SIDE), str(out / "job.json")], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"AutoGluon failed on {ds.name} (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads((out / "result.json").read_text())
    return {**result, "wall_seconds": wall, "predictions": str(out / "test_proba.csv")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(d.name for d in DATASETS))
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--ag-python", default="/tmp/ag-venv/bin/python")
    parser.add_argument("--no-autogluon", action="store_true")
    parser.add_argument("--kit-args", default="", help="more arguments of the kit's command, e.g. '--search 20'")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    print(machine_line())
    print(f"time limit T = {args.time_limit:.0f} s for both sides; the kit: preset best; AutoGluon: best_quality")
    figures: dict[str, Any] = {}
    wins = 0
    for ds in by_name(args.datasets):
        with tempfile.TemporaryDirectory(prefix=f"kit-vs-ag-{ds.name}-") as tmp:
            folder = Path(tmp)
            hidden = write_competition(ds, folder)
            classes = classes_of(ds, hidden, folder / "train.csv")
            load_before = load_average()
            kit = kit_side(ds, folder, args.time_limit, sys.executable, args.kit_args.split())
            kit["submitted"], preds = kit_predictions(kit["run_dir"])
            kit["test"] = score(ds, preds.with_columns(pl.col("id").cast(pl.Int64)), hidden, classes)
            entry: dict[str, Any] = {"kit": kit, "load_before_kit": load_before}
            line = (
                f"kit {kit['test']:.5f} in {kit['wall_seconds']:.0f} s ({kit['wall_seconds'] / args.time_limit:.3f} T)"
            )
            print(f"{ds.name:<14} {ds.metric:<8} kit side done: {line}", flush=True)  # kept if AutoGluon fails
            if not args.no_autogluon:
                entry["load_before_autogluon"] = load_average()
                ag = ag_side(ds, folder, args.time_limit, args.ag_python)
                preds = pl.read_csv(ag["predictions"])
                ag["test"] = score(ds, preds.rename({c: str(c) for c in preds.columns}), hidden, classes)
                entry["autogluon"] = ag
                won = not get_metric(ds.metric).better(ag["test"], kit["test"])
                wins += won
                line += (
                    f"  AutoGluon {ag['test']:.5f} in {ag['wall_seconds']:.0f} s "
                    f"({ag['wall_seconds'] / args.time_limit:.3f} T)  {'kit >= AG' if won else 'AG better'}"
                )
            entry["load_after"] = load_average()
            print(f"{ds.name:<14} {ds.metric:<8} {line}  load {load_before} -> {entry['load_after']}", flush=True)
            figures[ds.name] = {k: v for k, v in entry.items()}
    if not args.no_autogluon:
        print(f"kit at least AutoGluon's score on {wins} of {len(figures)}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
