"""An extra-trees LightGBM on in-fold arithmetic pairs as one more member of a preset: does the submission gain?

Section 28 of RESULTS.md measured LightGBM alone with and without the pairs (better on two tables, worse on two).
Here the model reads them through the kit's ``arithmetic_pairs`` step and joins a preset's models, so the blends
take it where it helps. Per dataset and hold-out split (``_datasets.split``; nothing is downloaded): the preset's
models, the plain extra-trees LightGBM and the member run once (``run()``; the two spelled out in the config,
whatever the preset holds: since these measurements ``good`` has the member in the plain one's place and ``best``
both), then ``blend_report(run, "all")`` on three sets of models: "without" the member (the presets before),
"with" it, and the member "instead" of the plain one; what each verdict submits is scored on the hidden rows.
Printed: the member's CV and hidden score, its fit time, the submissions, and the mean difference to "without"
over the splits with its standard error.

    .venv/bin/python benchmarks/arithmetic_member.py
    .venv/bin/python benchmarks/arithmetic_member.py --preset best --datasets fair --split-seeds 0,1,2,3
    .venv/bin/python benchmarks/arithmetic_member.py --quick            # seconds: the code path only (the tests)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from _datasets import Dataset, by_name, paired, split
from _machine import load_average, machine_line
from portfolio import config, hidden_score

from kaggle_kit.blend import blend_report, blend_test_predictions
from kaggle_kit.config import build_spec
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

DATASETS = "breast_cancer,diabetes,fair,anes96,randhie"
MEMBER = "lgbm_ar"
VARIANTS = ("without", "with", "instead")
REPLACED = "lgbm_xt"  # the variant "instead": the member in the place of the preset's plain extra-trees LightGBM


def member_config(ds: Dataset, preset: str, quick: bool) -> dict[str, Any]:
    raw = config(ds, preset, quick)
    raw.setdefault("models", [])
    short = {"num_boost_round": 20, "early_stopping_rounds": 5} if quick else {}
    # both spelled out, whatever the preset holds today (good: the member in the plain one's place since session 15;
    # the datasets have no categorical columns, so the plain one reads the columns as they are)
    raw["models"] += [
        {"name": REPLACED, "kind": "lightgbm_xt", **short},
        {"name": MEMBER, "kind": "lightgbm_xt", "pipeline": "arithmetic", **short},
    ]
    raw["pipelines"] = {"arithmetic": {"steps": [{"step": "arithmetic_pairs"}]}}
    return raw


def submitted(ds: Dataset, run_dir: Path, hidden: Any, models: list[str] | None) -> dict[str, Any]:
    """What the blend report's verdict submits among ``models`` (all when None), and its hidden score."""
    report = blend_report(run_dir, "all", models=models)
    kind, chosen = report.choice()
    if kind == "blend":
        cv, preds = report.best_blend.mean, blend_test_predictions(run_dir, chosen)
    else:
        cv, preds = report.model_mean(report.best_model), RunStore(run_dir).read_predictions(chosen, "test")
    return {"submitted": chosen, "nested_cv": cv, "test": hidden_score(ds, run_dir, preds, hidden)}


def measure(ds: Dataset, preset: str, seed: int, quick: bool) -> dict[str, Any]:
    train, hidden = split(ds, seed=seed)
    with tempfile.TemporaryDirectory(prefix=f"kit-arith-{ds.name}-") as tmp:
        root = Path(tmp)
        spec = build_spec(member_config(ds, preset, quick), base_dir=root)
        start = time.perf_counter()
        result = run(spec, runs_root=root / "runs", train=train, test=hidden.drop(ds.target), progress=None,
                     record_history=False)  # fmt: skip
        wall = time.perf_counter() - start
        models = {m.name: m for m in result.models if m.status == "ok"}
        member = models[MEMBER]
        store = RunStore(result.run_dir)
        member_test = hidden_score(ds, result.run_dir, store.read_predictions(MEMBER, "test"), hidden)
        others = [n for n in models if n != MEMBER]
        variants = {
            "without": submitted(ds, result.run_dir, hidden, others),
            "with": submitted(ds, result.run_dir, hidden, None),
        }
        if REPLACED in others:
            instead = [n for n in models if n != REPLACED]
            variants["instead"] = submitted(ds, result.run_dir, hidden, instead)
    return {
        "member_cv": member.cv,
        "member_test": member_test,
        "member_seconds": member.fit_seconds,
        "fit_seconds": {n: m.fit_seconds for n, m in models.items()},
        "run_seconds": wall,
        **variants,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=DATASETS)
    parser.add_argument("--preset", default="good")
    parser.add_argument("--split-seeds", default="0,1,2")
    parser.add_argument("--quick", action="store_true", help="tiny GBDTs on 2 folds: the code path, in seconds")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    seeds = [int(s) for s in args.split_seeds.split(",")]
    print(machine_line())
    figures: dict[str, Any] = {}
    for ds in by_name(args.datasets):
        metric = get_metric(ds.metric)
        figures[ds.name] = per_seed = {}
        print(f"\n{ds.name} ({ds.task}, {ds.metric}), preset {args.preset} + {MEMBER}")
        for seed in seeds:
            res = per_seed[seed] = measure(ds, args.preset, seed, args.quick)
            subs = " | ".join(f"{v}: {res[v]['submitted']} {res[v]['test']:.5f}" for v in VARIANTS if v in res)
            print(
                f"  split {seed}: {MEMBER} CV {res['member_cv']:.5f} hidden {res['member_test']:.5f} "
                f"fit {res['member_seconds']:.1f} s of {res['run_seconds']:.1f} s | {subs}  load {load_average()}",
                flush=True,
            )
        base = [per_seed[s]["without"]["test"] for s in seeds]
        for variant in [v for v in VARIANTS[1:] if v in per_seed[seeds[0]]]:
            scores = [per_seed[s][variant]["test"] for s in seeds]
            print(f"  {variant} - without, hidden: {paired(scores, base, metric.better)}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
