"""The demo competitions: kaggle_kit's best blend against AutoGluon's TabularPredictor at the same time budget.

For each demo competition (``--competitions``; data written by ``kaggle-kit demo-data``'s ``make_demo``, whose
``solution.csv`` holds the hidden test labels), the kit runs the repo's config (``competitions/<name>.toml``, its
default parallelism) and then ``blend_report(run, "all")``; the kit's wall time is that of ``run()`` plus the
blends. AutoGluon then fits a ``TabularPredictor`` on the same training file (the id column left out), with the
same metric and ``time_limit`` = the kit's wall time, in its own virtual environment (``--ag-python``): the two
sides exchange only files (a JSON job in, a JSON result and a CSV of test probabilities out).

Both sides' test probabilities are scored here, by the same kit metric, against the hidden labels; their CV
estimates are printed beside them: the kit's best blend's nested-CV score (mean of held-out folds) and its best
single model's CV, and AutoGluon's ``score_val`` of its best model (out-of-fold with ``--ag-bag-folds`` > 0, the
default 5; else its holdout score). Target: the kit's blend scores at least as well as AutoGluon on the test labels.

    .venv/bin/python benchmarks/autogluon_compare.py                       # both demos, AutoGluon in /tmp/ag-venv
    .venv/bin/python benchmarks/autogluon_compare.py --competitions demo-breast-cancer --ag-presets best_quality
    .venv/bin/python benchmarks/autogluon_compare.py --quick               # seconds: fast models, kit side only

Setting up AutoGluon's environment (kept apart: it pins its own numpy / scikit-learn / lightgbm ranges)::

    python3.11 -m venv /tmp/ag-venv
    /tmp/ag-venv/bin/pip install torch==2.13.0          # the CPU build first, so no CUDA torch is pulled in
    /tmp/ag-venv/bin/pip install autogluon.tabular==1.6.3 lightgbm xgboost
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _machine import load_average, machine_line

from kaggle_kit.blend import blend_report, blend_test_predictions
from kaggle_kit.config import CompetitionSpec, build_spec, load_spec
from kaggle_kit.demo import make_demo
from kaggle_kit.metrics import Metric, get_metric
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

REPO = Path(__file__).resolve().parents[1]
SIDE = Path(__file__).resolve().with_name("_autogluon_side.py")
#: kaggle_kit metric name -> AutoGluon's eval_metric name
AG_METRIC = {"roc_auc": "roc_auc", "accuracy": "accuracy", "log_loss": "log_loss", "rmse": "root_mean_squared_error"}
#: small GBDTs for --quick (the test suite): the same code path, in seconds
QUICK_MODELS = [
    {"name": "xgb", "kind": "xgboost", "num_boost_round": 30, "early_stopping_rounds": 10,
     "params": {"learning_rate": 0.3, "max_depth": 3}},
    {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 30, "early_stopping_rounds": 10,
     "params": {"learning_rate": 0.3, "num_leaves": 7}},
]  # fmt: skip


def demo_spec(name: str, data_root: Path, quick: bool) -> CompetitionSpec:
    """The repo's config for demo ``name``, its data paths pointed at ``data_root / name``."""
    spec = load_spec(REPO / "competitions" / f"{name}.toml")
    raw = spec.model_dump(mode="json", exclude_none=True)
    folder = data_root / name
    raw["data"].update(
        train=str(folder / "train.csv"),
        test=str(folder / "test.csv"),
        sample_submission=str(folder / "sample_submission.csv"),
    )
    if quick:
        raw["models"], raw["run"] = QUICK_MODELS, {"n_jobs": 1, "threads_per_task": 1}
    return build_spec(raw, base_dir=REPO / "competitions")


def hidden_codes(solution: Path, target: str, id_column: str, ids: pl.Series, classes: list[Any]) -> np.ndarray:
    """The hidden test labels as the kit's class codes (index into the run's ``classes``), in ``ids`` order."""
    sol = pl.read_csv(solution)
    labels = pl.DataFrame({id_column: ids}).join(sol, on=id_column, how="left", maintain_order="left")[target]
    if labels.null_count():
        raise SystemExit(f"{solution}: {labels.null_count()} test id(s) have no label")
    lookup = {str(c): i for i, c in enumerate(classes)}
    return np.array([lookup[str(v)] for v in labels.to_list()], dtype=np.int64)


def kit_side(name: str, data_root: Path, runs_root: Path, quick: bool) -> dict[str, Any]:
    spec = demo_spec(name, data_root, quick)
    start = time.perf_counter()
    result = run(spec, runs_root=runs_root, progress=None)
    run_seconds = time.perf_counter() - start
    report = blend_report(result.run_dir, "all")
    wall = time.perf_counter() - start
    metric = get_metric(spec.metric)
    meta = RunStore(result.run_dir).read_meta()
    blend = report.best_blend
    preds = blend_test_predictions(result.run_dir, blend.name)
    y = hidden_codes(data_root / name / "solution.csv", meta["target_column"], meta["id_column"],
                     preds[meta["id_column"]], meta["classes"])  # fmt: skip
    best_model = report.best_model
    model_preds = RunStore(result.run_dir).read_predictions(best_model.name, "test")
    return {
        "wall_seconds": wall,
        "run_seconds": run_seconds,
        "blend_seconds": wall - run_seconds,
        "metric": metric.name,
        "blend": blend.name,
        "blend_models": list(blend.models),
        "blend_nested_cv": blend.mean,
        "blend_test": metric.score(y, preds.drop(meta["id_column"]).to_numpy()),
        "best_model": best_model.name,
        "best_model_cv": best_model.cv,
        "best_model_test": metric.score(y, model_preds.drop(meta["id_column"]).to_numpy()),
        "models": {m.name: m.cv for m in report.models},
        "classes": meta["classes"],
        "target": meta["target_column"],
        "id": meta["id_column"],
    }


def ag_available(ag_python: Path) -> str | None:
    """None when AutoGluon imports in ``ag_python``; else why not, in a line."""
    if not ag_python.exists():
        return f"{ag_python} does not exist (create the AutoGluon venv: see this script's docstring)"
    probe = subprocess.run(
        [str(ag_python), "-c", "import autogluon.tabular, sys; print(autogluon.tabular.__version__)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"autogluon.tabular does not import in {ag_python}: {probe.stderr.strip().splitlines()[-1]}"
    return None


def ag_side(name: str, data_root: Path, kit: dict[str, Any], args: argparse.Namespace, out: Path) -> dict[str, Any]:
    folder = data_root / name
    job = {
        "train": str(folder / "train.csv"),
        "test": str(folder / "test.csv"),
        "id": kit["id"],
        "label": kit["target"],
        "metric": AG_METRIC[kit["metric"]],
        "time_limit": max(1.0, kit["wall_seconds"]),
        "presets": args.ag_presets,
        "num_bag_folds": args.ag_bag_folds,
        "out": str(out),
    }
    job_path = out / "job.json"
    out.mkdir(parents=True, exist_ok=True)
    job_path.write_text(json.dumps(job, indent=1))
    start = time.perf_counter()
    proc = subprocess.run([str(args.ag_python), str(SIDE), str(job_path)], capture_output=True, text=True)
    process_seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"AutoGluon failed on {name} (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads((out / "result.json").read_text())
    proba = pl.read_csv(out / "test_proba.csv")
    ids = proba[kit["id"]]
    y = hidden_codes(folder / "solution.csv", kit["target"], kit["id"], ids, kit["classes"])
    columns = [str(c) for c in kit["classes"]]  # AutoGluon's columns are the class labels: put them in kit order
    metric: Metric = get_metric(kit["metric"])
    result["test"] = metric.score(y, proba.select(columns).to_numpy())
    if not metric.greater_is_better:  # AutoGluon reports every score as higher-is-better
        result["score_val"] = -result["score_val"]
    result["process_seconds"] = process_seconds
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--competitions", default="demo-breast-cancer,demo-digits")
    parser.add_argument("--data-root", type=Path, default=REPO / "data", help="where the demo data is (or goes)")
    parser.add_argument("--ag-python", type=Path, default=Path("/tmp/ag-venv/bin/python"))
    parser.add_argument("--ag-presets", default="medium_quality")
    parser.add_argument("--ag-bag-folds", type=int, default=5, help="0: AutoGluon's holdout instead of bagging")
    parser.add_argument("--no-autogluon", action="store_true", help="the kit's side only")
    parser.add_argument("--quick", action="store_true", help="fast GBDTs instead of the configs' models, kit only")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.no_autogluon = True

    print(machine_line())
    why_not = None if args.no_autogluon else ag_available(args.ag_python)
    if why_not:
        print(f"AutoGluon: not run: {why_not}")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kit-vs-ag-") as tmp:
        for name in args.competitions.split(","):
            make_demo(name, args.data_root)
            load_before = load_average()
            kit = kit_side(name, args.data_root, Path(tmp) / "runs", args.quick)
            m = kit["metric"]
            print(f"\n{name} ({m}; load average {load_before})")
            print(
                f"  kaggle_kit  {kit['wall_seconds']:7.1f} s (run {kit['run_seconds']:.1f} s + blends "
                f"{kit['blend_seconds']:.1f} s)  best blend {kit['blend']!r} of {kit['blend_models']}: "
                f"test {kit['blend_test']:.5f}, nested CV {kit['blend_nested_cv']:.5f}; best model "
                f"{kit['best_model']!r}: test {kit['best_model_test']:.5f}, CV {kit['best_model_cv']:.5f}",
                flush=True,
            )
            entry: dict[str, Any] = {"kit": kit, "load_before": load_before}
            if not why_not and not args.no_autogluon:
                ag = ag_side(name, args.data_root, kit, args, Path(tmp) / "ag" / name)
                entry["autogluon"] = ag
                metric = get_metric(m)
                verdict = "ok" if not metric.better(ag["test"], kit["blend_test"]) else "AutoGluon better"
                print(
                    f"  AutoGluon   {ag['fit_seconds']:7.1f} s fit (time_limit {ag['time_limit']:.1f} s, "
                    f"{ag['presets']}, {ag['num_bag_folds']}-fold bagging, {ag['models_fitted']} models) best "
                    f"{ag['best_model']!r}: test {ag['test']:.5f}, score_val {ag['score_val']:.5f}"
                )
                print(
                    f"  test {m}: kit blend {kit['blend_test']:.5f} vs AutoGluon {ag['test']:.5f} "
                    f"({kit['blend_test'] - ag['test']:+.5f}; target: kit at least as good: {verdict})",
                    flush=True,
                )
            entry["load_after"] = load_average()
            print(f"  load average after: {entry['load_after']}")
            figures[name] = entry
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
