"""The decision threshold of a binary accuracy task: chosen on the OOF rows (the kit's way) against a fixed 0.5.

For accuracy, a model calibrated to the class probabilities is best labelled at 0.5; a threshold chosen on the OOF
rows follows the noise of a few hundred rows, but also corrects a model whose probabilities lean one way. Which wins
on rows no fold saw was not measured before: here, the kit's LightGBM on each hold-out split of each dataset, its
test predictions labelled at 0.5 and at the threshold ``kaggle-kit submit`` uses (chosen on the whole OOF,
``kaggle_kit.blend.threshold.model_threshold``), scored on the hidden rows.

Datasets (fixed; nothing is downloaded): scikit-learn's breast cancer, statsmodels' fair (``_datasets.py``), and
two tables from scikit-learn's ``make_classification`` (seed 100; 20 features, 6 informative, 10 % of the labels
flipped): 1,250 rows with balanced classes and 2,500 rows with 10 % positives.

    .venv/bin/python benchmarks/thresholds.py                 # 10 splits of each dataset
    .venv/bin/python benchmarks/thresholds.py --splits 20 --datasets synth_imbalanced
    .venv/bin/python benchmarks/thresholds.py --quick         # seconds: the code path only (the tests)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _datasets import Dataset, by_name, split
from _machine import load_average, machine_line

from kaggle_kit.blend.threshold import model_threshold
from kaggle_kit.config import build_spec
from kaggle_kit.errors import DataWarning
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore


def _made(rows: int, positives: float) -> Callable[[], pl.DataFrame]:
    def load() -> pl.DataFrame:
        from sklearn.datasets import make_classification

        X, y = make_classification(rows, 20, n_informative=6, weights=[1 - positives], flip_y=0.1, random_state=100)
        return pl.DataFrame(X, schema=[f"f{i}" for i in range(20)], orient="row").with_columns(pl.Series("y", y))

    return load


DATASETS: dict[str, Dataset] = {
    **{d.name: d for d in by_name("breast_cancer,fair")},
    "synth_balanced": Dataset("synth_balanced", "binary", "accuracy", "y", _made(1250, 0.5), "made: 1,250 rows"),
    "synth_imbalanced": Dataset("synth_imbalanced", "binary", "accuracy", "y", _made(2500, 0.1), "made: 10 % pos."),
}


def measure(ds: Dataset, seed: int, root: Path, quick: bool) -> dict[str, float]:
    train, hidden = split(ds, seed=seed)
    rounds = {"num_boost_round": 30, "early_stopping_rounds": 5} if quick else {}
    spec = build_spec(
        {
            "name": f"thr-{ds.name}-{seed}",
            "task": "binary",
            "metric": "accuracy",
            "seed": seed,
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": ds.target},
            "folds": {"n_splits": 2 if quick else 5},
            "models": [{"name": "lgbm", "kind": "lightgbm", **rounds}],
            **({"run": {"n_jobs": 1, "threads_per_task": 1}} if quick else {}),
        },
        base_dir=root,
    )
    result = run(spec, runs_root=root / "runs", train=train, test=hidden.drop(ds.target), progress=None,
                 record_history=False)  # fmt: skip
    metric = get_metric("accuracy")
    chosen = model_threshold(result.run_dir, "lgbm", metric)
    assert chosen is not None
    preds = RunStore(result.run_dir).read_predictions("lgbm", "test")
    joined = preds.join(hidden.select("id", ds.target), on="id", how="left", maintain_order="left")
    labels = np.unique(train[ds.target].to_numpy())  # the kit's class order: numeric or alphabetical
    y = np.searchsorted(labels, joined[ds.target].to_numpy())
    positive = joined.drop("id", ds.target).to_numpy()[:, -1]
    return {
        "at_0.5": float(np.mean((positive > 0.5) == y)),
        "at_chosen": float(np.mean((positive > chosen) == y)),
        "threshold": chosen,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--splits", type=int, default=10, help="hold-out splits (seeds 0 .. N-1) of each dataset")
    parser.add_argument("--quick", action="store_true", help="2 folds, 30 rounds, 1 split: the code path only")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    names = args.datasets.split(",")
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise SystemExit(f"unknown dataset(s) {unknown}; known: {', '.join(DATASETS)}")
    print(machine_line())
    warnings.simplefilter("ignore", DataWarning)  # fair's repeated rows: said on every split
    figures: dict[str, Any] = {}
    for name in names:
        load_before = load_average()
        rows = []
        for seed in range(1 if args.quick else args.splits):
            with tempfile.TemporaryDirectory(prefix=f"kit-thr-{name}-") as tmp:
                rows.append(measure(DATASETS[name], seed, Path(tmp), args.quick))
        gain = np.array([r["at_chosen"] - r["at_0.5"] for r in rows])
        se = float(gain.std(ddof=1) / np.sqrt(gain.size)) if gain.size > 1 else float("nan")
        figures[name] = {"splits": rows, "load": [load_before, load_average()]}
        thresholds = [r["threshold"] for r in rows]
        print(
            f"{name:<17} hidden accuracy at 0.5 {np.mean([r['at_0.5'] for r in rows]):.4f}, at the OOF threshold "
            f"{np.mean([r['at_chosen'] for r in rows]):.4f} (difference {gain.mean():+.4f}, s.e. {se:.4f}, better on "
            f"{int((gain > 0).sum())} of {gain.size}, worse on {int((gain < 0).sum())}); thresholds "
            f"{min(thresholds):.3f}-{max(thresholds):.3f}; load {figures[name]['load']}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
