"""What the verdict submits with and without seed bags' means among the blends (session 16).

A time limit spends the time left after the preset's models on seed bags of the best configs (``<config>_s<seed>``).
Before session 16 the blends saw each bag member as a model of its own: the verdict weighed the blends against the
luckiest seed's CV and could submit that seed alone. Now ``auto`` / ``all`` add each bag's mean (``<config>_bag``).

What fits in a time limit depends on the machine's load, so the bags here are made without one: ``good``'s models
plus ``--seeds`` more seeds of its LightGBM and RealMLP (what a time limit bags: the best configs, refitted with
seed + 1, + 2, ...), recorded in run.json as a time limit records them. The blend report is asked twice on the same
fitted models: on a copy whose run.json records no bags (as before), and as it is; each verdict's pick is scored on
the hidden rows.

    .venv/bin/python benchmarks/bag_means.py --datasets breast_cancer,diabetes,fair,anes96 --split-seeds 0,1,2
    .venv/bin/python benchmarks/bag_means.py --quick      # seconds: the code path only (the tests)
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from _datasets import by_name, paired, split
from _machine import load_average, machine_line
from portfolio import hidden_score

from kaggle_kit.blend import blend_report, blend_test_predictions
from kaggle_kit.config import build_spec
from kaggle_kit.metrics import get_metric
from kaggle_kit.presets import DataProfile, resolve_preset
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore


def submitted(ds: Any, run_dir: Path, hidden: Any) -> dict[str, Any]:
    """The blend report's verdict on ``run_dir`` (methods ``auto``, as a time-limited command asks) and its pick's
    score on the hidden rows; ``bag_rule``: the pick where a lone bag member the verdict names gives way to its
    bag's mean (a stronger rule, measured beside)."""
    report = blend_report(run_dir, "auto")
    kind, name = report.choice()
    out = {"pick": name, "test": _hidden(ds, run_dir, hidden, kind, name)}
    bags = RunStore(run_dir).read_meta().get("bags") or {}
    member_of = {m: config for config, bag in bags.items() for m in bag["models"]}
    blends = {b.name for b in report.blends}
    if kind == "model" and f"{member_of.get(name)}_bag" in blends:
        bag = f"{member_of[name]}_bag"
        out["bag_rule"] = {"pick": bag, "test": _hidden(ds, run_dir, hidden, "blend", bag)}
    else:
        out["bag_rule"] = {"pick": name, "test": out["test"]}
    return out


def _hidden(ds: Any, run_dir: Path, hidden: Any, kind: str, name: str) -> float:
    store = RunStore(run_dir)
    preds = blend_test_predictions(run_dir, name) if kind == "blend" else store.read_predictions(name, "test")
    return hidden_score(ds, run_dir, preds, hidden)


def without_bags(run_dir: Path, copy: Path) -> Path:
    """A copy of ``run_dir`` whose run.json records no seed bags (their members stay models of the run)."""
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "blends", ignore_errors=True)
    store = RunStore(copy)
    store.write_meta({k: v for k, v in store.read_meta().items() if k != "bags"})
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="breast_cancer,diabetes,fair,anes96")
    parser.add_argument("--split-seeds", default="0,1,2")
    parser.add_argument("--seeds", type=int, default=4, help="seeds in each bag besides the model's own")
    parser.add_argument("--quick", action="store_true", help="fast preset, 2 folds: the code path, in seconds")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    print(machine_line())
    figures: dict[str, Any] = {}
    for ds in by_name(args.datasets):
        metric = get_metric(ds.metric)
        before, after, rule = [], [], []
        for seed in (int(s) for s in args.split_seeds.split(",")):
            train, hidden = split(ds, seed=seed)
            with tempfile.TemporaryDirectory(prefix=f"kit-bags-{ds.name}-") as tmp:
                raw: dict[str, Any] = {
                    "name": f"{ds.name}-{seed}",
                    "task": ds.task,
                    "metric": ds.metric,
                    "seed": 42,
                    "preset": "fast" if args.quick else "good",
                    "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": ds.target},
                }
                bagged = ["lgbm"] if args.quick else ["lgbm", "realmlp"]
                if args.quick:
                    raw["folds"] = {"n_splits": 2}
                load = load_average()
                profile = DataProfile.of(train, [c for c in train.columns if c not in ("id", ds.target)], [], ds.task,
                                         train[ds.target].n_unique() if ds.task != "regression" else 0)  # fmt: skip
                preset = {m.spec["name"]: m.spec for m in resolve_preset(raw["preset"], profile).models}
                extra = [
                    {**preset[name], "name": f"{name}_s{42 + k}", "seed": 42 + k}
                    for name in bagged
                    for k in range(1, args.seeds + 1)
                ]
                spec = build_spec({**raw, "models": extra}, base_dir=Path(tmp))
                result = run(spec, runs_root=Path(tmp) / "runs", train=train, test=hidden.drop(ds.target),
                             progress=None, record_history=False)  # fmt: skip
                store = RunStore(result.run_dir)
                seeds = list(range(42, 43 + args.seeds))
                bags = {n: {"models": [n, *(f"{n}_s{s}" for s in seeds[1:])], "seeds": seeds} for n in bagged}
                store.write_meta({**store.read_meta(), "bags": bags})
                old = submitted(ds, without_bags(result.run_dir, Path(tmp) / "old"), hidden)
                new = submitted(ds, result.run_dir, hidden)
            before.append(old["test"])
            after.append(new["test"])
            rule.append(new["bag_rule"]["test"])
            figures[f"{ds.name}-{seed}"] = {"bags": len(bags), "before": old, "after": new, "load": load}
            print(
                f"{ds.name:<14} split {seed}: {len(bags)} bag(s); before {old['pick']!r} {old['test']:.5f}, "
                f"after {new['pick']!r} {new['test']:.5f}; a member giving way to its bag "
                f"{new['bag_rule']['pick']!r} {new['bag_rule']['test']:.5f}  load {load} -> {load_average()}",
                flush=True,
            )
        print(f"{ds.name:<14} after - before: {paired(after, before, metric.better)}")
        print(f"{ds.name:<14} a member giving way to its bag - before: {paired(rule, before, metric.better)}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
