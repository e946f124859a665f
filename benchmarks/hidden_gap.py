"""CV against the hidden rows, per model and per blend, over several hold-out splits (issue #12's anes96 gap).

``portfolio.py`` holds out one 20 % split per dataset; on a small table (anes96: 189 hidden rows, 7 classes) one
split is noisy. This script repeats the split with ``--split-seeds`` seeds and, for the old config (LightGBM +
XGBoost) and a preset, prints each model's and each blend's honest CV (a model's pooled OOF score, a blend's nested
CV) beside its score on the hidden rows, then the mean over seeds of what the verdict submits. A gap that holds
across seeds points at a cause (a blend that overfits the OOF, over-confident probabilities); one that flips sign
is the split.

    .venv/bin/python benchmarks/hidden_gap.py --datasets anes96 --split-seeds 0,1,2,3,4
    .venv/bin/python benchmarks/hidden_gap.py --split-seeds $(seq -s, 0 19) --without calibrated_hill_climb
    .venv/bin/python benchmarks/hidden_gap.py --quick                  # seconds: the code path only (the tests)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _datasets import by_name, paired, split
from _machine import load_average, machine_line
from portfolio import hidden_score, run_config

from kaggle_kit.blend import blend_names, blend_test_predictions, read_blend
from kaggle_kit.metrics import METRICS, get_metric
from kaggle_kit.runtime.store import RunStore


def everything(ds: Any, run_dir: Path, hidden: Any) -> dict[str, dict[str, float]]:
    """name -> {"cv": honest CV, "test": hidden score} for every finished model and stored blend of a run."""
    store = RunStore(run_dir)
    out: dict[str, dict[str, float]] = {}
    for name in store.current_models():
        result = store.read_summary(name)
        if result.status != "ok" or result.kind == "dummy":
            continue
        preds = store.read_predictions(result.name, "test")
        out[result.name] = {"cv": result.cv, "test": hidden_score(ds, run_dir, preds, hidden)}
    for name in blend_names(run_dir):
        blend = read_blend(run_dir, name)
        out[name] = {
            "cv": blend.nested_cv,
            "test": hidden_score(ds, run_dir, blend_test_predictions(run_dir, name), hidden),
        }
    return out


def _pick_without(everything: dict[str, dict[str, Any]], method: str, metric: Any) -> dict[str, float]:
    """What the verdict submits among the models and blends of a run (the best honest CV: a model's OOF score, a
    blend's nested CV), leaving out the blend called ``method``."""
    kept = {name: s for name, s in everything.items() if name != method}
    best = min(kept, key=lambda n: kept[n]["cv"] * (-1 if metric.greater_is_better else 1))
    return kept[best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="anes96")
    parser.add_argument("--metric", choices=sorted(METRICS), help="score the datasets by this metric, not their own")
    parser.add_argument("--preset", default="good")
    parser.add_argument("--split-seeds", default="0,1,2")
    parser.add_argument("--quick", action="store_true", help="tiny GBDTs on 2 folds: the code path, in seconds")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--keep", help="keep the run folders under this folder (default: deleted)")
    parser.add_argument(
        "--without", help="also print what the preset would have submitted without the blends of this method"
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.split_seeds.split(",")]
    print(machine_line())
    figures: dict[str, Any] = {}
    for ds in by_name(args.datasets):
        ds = dataclasses.replace(ds, metric=args.metric) if args.metric else ds
        metric = get_metric(ds.metric)
        figures[ds.name] = per_seed = {}
        for seed in seeds:
            train, hidden = split(ds, seed=seed)
            print(f"\n{ds.name} split seed {seed} ({train.height} train / {hidden.height} hidden rows)", flush=True)
            per_seed[seed] = entry = {}
            for which in ("old", args.preset):
                with tempfile.TemporaryDirectory(prefix=f"kit-gap-{ds.name}-") as tmp:
                    root = Path(args.keep) / f"{ds.name}-{seed}-{which}" if args.keep else Path(tmp)
                    res = run_config(ds, which, train, hidden, root, args.quick)
                    res["all"] = everything(ds, Path(res.pop("run_dir")), hidden)
                entry[which] = res
                print(
                    f"  {which:<5} submitted {res['submitted']!r:<14} CV {res['nested_cv']:.5f} test "
                    f"{res['test']:.5f}  wall {res['wall_seconds']:.1f} s  load {load_average()}"
                )
                for name, s in sorted(res["all"].items(), key=lambda t: t[1]["cv"], reverse=metric.greater_is_better):
                    gap = s["test"] - s["cv"]
                    print(f"      {name:<14} CV {s['cv']:.5f}  test {s['test']:.5f}  (test - CV {gap:+.5f})")
        print(f"\n{ds.name}: the submission over {len(seeds)} split seeds (mean; test - CV per seed)")
        for which in ("old", args.preset):
            cv = [per_seed[s][which]["nested_cv"] for s in seeds]
            test = [per_seed[s][which]["test"] for s in seeds]
            gaps = " ".join(f"{t - c:+.4f}" for c, t in zip(cv, test, strict=True))
            print(f"  {which:<5} CV {np.mean(cv):.5f}  test {np.mean(test):.5f}  per seed: {gaps}")
        old = np.array([per_seed[s]["old"]["test"] for s in seeds])
        picks = {args.preset: np.array([per_seed[s][args.preset]["test"] for s in seeds])}
        if args.without:
            picks[f"{args.preset} without {args.without}"] = np.array(
                [_pick_without(per_seed[s][args.preset]["all"], args.without, metric)["test"] for s in seeds]
            )
        for label, test in picks.items():
            print(
                f"  {label}: hidden {test.mean():.5f} vs old {old.mean():.5f}: difference "
                f"{paired(list(test), list(old), metric.better)}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
