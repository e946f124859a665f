"""Runner overhead: ``kaggle_kit.run`` against a bare XGBoost / LightGBM K-fold loop (target: <= 1.05x wall).

Both sides start from the same polars frames (a binary task made by ``sklearn.datasets.make_classification``:
``--rows`` training rows, a quarter as many test rows, ``--cols`` features) and fit the same model on the same folds
with the same parameters, thread count, round budget and early stopping, predicting the validation and the test
rows of each fold. The bare loop is what one writes in a notebook: the frame to a float32 matrix once, then per fold
a ``DMatrix`` / ``Dataset``, ``train`` with early stopping, ``predict`` at the best iteration, OOF and fold-averaged
test predictions in numpy arrays. Its folds are the ones the kit saved in its run store, and its parameters are
checked to be exactly those the kit's adapter passes to the library.

The kit runs with ``run.n_jobs = 1`` and the bare loop's thread count, so the two do the same work on the same
cores; its time is the whole ``run()`` call (checks, folds, the dummy baseline every run fits, feature encoding,
the store's atomic writes, OOF assembly, the run history). The two are timed in alternation, ``--repeats`` times,
the kit first in even repeats and the bare loop first in odd ones (both libraries imported beforehand), each kit run
in a new run folder, the bare loop on the folds the kit saved; the script prints the median wall and CPU time of
each and their ratios per library. The kit's parallel default (``n_jobs = 0``: one worker process per core) is timed
once per library and reported apart.

    .venv/bin/python benchmarks/runner_overhead.py                  # 100,000 x 50, both libraries
    .venv/bin/python benchmarks/runner_overhead.py --libraries lightgbm --repeats 5
    .venv/bin/python benchmarks/runner_overhead.py --quick          # seconds: the test suite's check
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _machine import load_average, machine_line, versions
from sklearn.datasets import make_classification
from sklearn.metrics import roc_auc_score

from kaggle_kit.config import CompetitionSpec, build_spec
from kaggle_kit.runtime.folds import Folds
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

LIBRARIES = ("xgboost", "lightgbm")
SEED = 0  # the spec's seed: fold assignment and the libraries' own seeds

#: Model parameters given to the kit's spec; the bare loops spell out the same, plus what the adapters add.
MODEL_PARAMS: dict[str, dict[str, Any]] = {
    "xgboost": {"learning_rate": 0.1, "max_depth": 6},
    "lightgbm": {"learning_rate": 0.1, "num_leaves": 63},
}


def make_frames(rows: int, cols: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    n_test = rows // 4
    X, y = make_classification(
        n_samples=rows + n_test,
        n_features=cols,
        n_informative=max(2, cols // 5),
        n_redundant=max(0, cols // 10),
        flip_y=0.05,
        random_state=seed,
    )
    frame = pl.DataFrame(X.astype(np.float32), schema=[f"f{i}" for i in range(cols)], orient="row")
    frame = frame.with_columns(pl.Series("id", np.arange(rows + n_test, dtype=np.int64)))
    train = frame[:rows].with_columns(pl.Series("target", y[:rows].astype(np.int64)))
    return train, frame[rows:]


def make_spec(library: str, rounds: int, early_stopping: int, n_jobs: int, threads: int) -> CompetitionSpec:
    return build_spec(
        {
            "name": f"overhead-{library}",
            "task": "binary",
            "metric": "roc_auc",
            "seed": SEED,
            "device": "cpu",
            "data": {"train": "unused.csv", "id": "id", "target": "target"},  # frames are passed to run()
            "folds": {"strategy": "stratified", "n_splits": 5},
            "run": {"n_jobs": n_jobs, "threads_per_task": threads},
            "models": [
                {
                    "name": library,
                    "kind": library,
                    "num_boost_round": rounds,
                    "early_stopping_rounds": early_stopping,
                    "params": MODEL_PARAMS[library],
                }
            ],
        }
    )


# ----------------------------------------------------------------------------------------------- bare loops
def xgboost_params(threads: int) -> dict[str, Any]:
    """What the kit's XGBoost adapter passes for a binary task scored by ROC AUC, written out by hand."""
    return {
        "objective": "binary:logistic",
        "eval_metric": "logloss",  # ROC AUC: early_stopping_metric "auto" stops on the log loss
        "learning_rate": 0.05,
        "max_depth": 6,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "max_cat_to_onehot": 4,
        **MODEL_PARAMS["xgboost"],
        "tree_method": "hist",
        "device": "cpu",
        "nthread": threads,
        "seed": SEED,
        "verbosity": 0,
    }


def lightgbm_params(threads: int) -> dict[str, Any]:
    """What the kit's LightGBM adapter passes for a binary task scored by ROC AUC, written out by hand."""
    return {
        "objective": "binary",
        "metric": "binary_logloss",  # ROC AUC: early_stopping_metric "auto" stops on the log loss
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        **MODEL_PARAMS["lightgbm"],
        "device_type": "cpu",
        "num_threads": threads,
        "seed": SEED,
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": -1,
    }


def bare_xgboost(X, y, X_test, folds, rounds, early_stopping, threads):  # type: ignore[no-untyped-def]
    import xgboost as xgb

    params = xgboost_params(threads)
    oof, test, best = np.zeros(len(y), np.float32), np.zeros(len(X_test), np.float32), []
    dtest = xgb.DMatrix(X_test, nthread=threads)
    for r, k in folds.tasks():
        tr, va = folds.train_valid(r, k)
        dtrain = xgb.DMatrix(X[tr], label=y[tr], nthread=threads)
        dvalid = xgb.DMatrix(X[va], label=y[va], nthread=threads)
        booster = xgb.train(params, dtrain, rounds, evals=[(dvalid, "valid")], early_stopping_rounds=early_stopping,
                            verbose_eval=False)  # fmt: skip
        it = (0, booster.best_iteration + 1)
        oof[va] = booster.predict(dvalid, iteration_range=it)
        test += booster.predict(dtest, iteration_range=it) / folds.n_splits
        best.append(booster.best_iteration + 1)
    return oof, test, best


def bare_lightgbm(X, y, X_test, folds, rounds, early_stopping, threads):  # type: ignore[no-untyped-def]
    import lightgbm as lgb

    params = lightgbm_params(threads)
    oof, test, best = np.zeros(len(y), np.float32), np.zeros(len(X_test), np.float32), []
    for r, k in folds.tasks():
        tr, va = folds.train_valid(r, k)
        dtrain = lgb.Dataset(X[tr], label=y[tr])
        dvalid = lgb.Dataset(X[va], label=y[va], reference=dtrain)
        booster = lgb.train(params, dtrain, rounds, valid_sets=[dvalid],
                            callbacks=[lgb.early_stopping(early_stopping, verbose=False)])  # fmt: skip
        oof[va] = booster.predict(X[va], num_iteration=booster.best_iteration, num_threads=threads)
        test += booster.predict(X_test, num_iteration=booster.best_iteration, num_threads=threads) / folds.n_splits
        best.append(booster.best_iteration)
    return oof, test, best


BARE: dict[str, Callable[..., tuple[np.ndarray, np.ndarray, list[int]]]] = {
    "xgboost": bare_xgboost,
    "lightgbm": bare_lightgbm,
}


def time_bare(library: str, train: pl.DataFrame, test: pl.DataFrame, folds: Folds, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), time.process_time()
    features = [c for c in train.columns if c not in ("id", "target")]
    X = train.select(features).to_numpy().astype(np.float32, copy=False)
    X_test = test.select(features).to_numpy().astype(np.float32, copy=False)
    y = train["target"].to_numpy()
    oof, test_pred, best = BARE[library](X, y, X_test, folds, args.rounds, args.early_stopping, args.threads)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return seconds, cpu, float(roc_auc_score(y, oof)), best, test_pred


def time_kit(spec: CompetitionSpec, train: pl.DataFrame, test: pl.DataFrame, root: Path, n_jobs: int | None = None):  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), time.process_time()
    result = run(spec, runs_root=root, train=train, test=test, n_jobs=n_jobs, progress=None)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    model = next(m for m in result.models if m.name != "baseline")
    if model.status != "ok":
        raise SystemExit(f"the kit's {model.name} run failed: {model.error}")
    return seconds, cpu, model.cv, result.run_dir


def profile_kit(spec: CompetitionSpec, train: pl.DataFrame, test: pl.DataFrame, root: Path) -> None:
    """Where a kit run's time goes outside the libraries: the kit's own functions by cumulative time, and the
    share of the run its adapters' fit and predict calls took (the rest is the kit's overhead)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    seconds, _, _, run_dir = profiler.runcall(time_kit, spec, train, test, root)
    store = RunStore(run_dir)
    inside = 0.0
    for name, key in store.current_models().items():
        for r, k in [(0, f) for f in range(5)]:
            res = store.finished(name, key, r, k)
            if res is not None:
                inside += res.fit_seconds + res.predict_seconds
    print(
        f"  profile: run() {seconds:.2f} s under cProfile, of which the adapters' fit + predict {inside:.2f} s; "
        f"the rest, {seconds - inside:.2f} s, is the kit's own work (encoding, store, baseline, assembly):"
    )
    stats = pstats.Stats(profiler)
    rows = [
        (cum, f"{Path(file).name}:{line}({func})")
        for (file, line, func), (_, _, _, cum, _) in stats.stats.items()  # type: ignore[attr-defined]
        if "kaggle_kit" in file or any(hot in func for hot in ("fsync", "gather_with_series", "to_numpy"))
    ]
    for cum, where in sorted(rows, reverse=True)[:25]:
        print(f"    {cum:8.3f} s  {where}")


def check_like_for_like(library: str, threads: int) -> None:
    """The bare loop's parameters must be exactly those the kit's adapter sends, or the ratio compares two models."""
    from kaggle_kit.metrics import get_metric
    from kaggle_kit.models import FitContext, make_adapter

    spec = make_spec(library, 10, 5, 1, threads).models[0]
    ctx = FitContext(task="binary", n_classes=2, metric=get_metric("roc_auc"), seed=SEED, device="cpu", threads=threads)
    kit = make_adapter(spec).params(ctx)  # type: ignore[attr-defined]
    bare = (xgboost_params if library == "xgboost" else lightgbm_params)(threads)
    if kit != bare:
        diff = {k: (kit.get(k), bare.get(k)) for k in set(kit) | set(bare) if kit.get(k) != bare.get(k)}
        raise SystemExit(f"{library}: the bare loop's parameters differ from the kit's (kit, bare): {diff}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1000, help="num_boost_round (the cap)")
    parser.add_argument("--early-stopping", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="threads per fit, both sides")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each side, in alternation")
    parser.add_argument("--libraries", default=",".join(LIBRARIES))
    parser.add_argument("--no-parallel", action="store_true", help="skip timing the kit's parallel default")
    parser.add_argument("--profile", action="store_true", help="also profile one kit run per library (cProfile)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.cols, args.rounds, args.early_stopping, args.repeats, args.threads = 2000, 10, 30, 5, 1, 1
        args.no_parallel = True

    print(machine_line())
    print(versions("xgboost", "lightgbm", "polars"))  # also imports both libraries before anything is timed
    train, test = make_frames(args.rows, args.cols)
    print(
        f"{args.rows:,} training rows x {args.cols} features, {test.height:,} test rows, 5 stratified folds, "
        f"up to {args.rounds} rounds, early stopping {args.early_stopping}, {args.threads} thread(s) per fit"
    )
    report: dict[str, Any] = {"rows": args.rows, "cols": args.cols, "threads": args.threads, "libraries": {}}
    with tempfile.TemporaryDirectory(prefix="kit-overhead-") as tmp:
        for library in args.libraries.split(","):
            check_like_for_like(library, args.threads)
            spec = make_spec(library, args.rounds, args.early_stopping, 1, args.threads)
            load_before = load_average()
            bare_s, kit_s, bare_cpu, kit_cpu = [], [], [], []
            folds: Folds | None = None
            for i in range(args.repeats):
                if i % 2 == 1:  # every other repeat the bare loop goes first: a trend in the load favours neither
                    assert folds is not None
                    b, bc, bare_cv, best, _ = time_bare(library, train, test, folds, args)
                k, kc, kit_cv, run_dir = time_kit(spec, train, test, Path(tmp) / f"{library}-{i}")
                # the bare loop's folds: those the kit saved in its run store (the same in every run)
                folds = RunStore(run_dir).load_folds(5, "complement")
                assert folds is not None
                if i % 2 == 0:
                    b, bc, bare_cv, best, _ = time_bare(library, train, test, folds, args)
                bare_s.append(b)
                kit_s.append(k)
                bare_cpu.append(bc)
                kit_cpu.append(kc)
            kit_rounds = [
                RunStore(run_dir).finished(library, RunStore(run_dir).current_models()[library], 0, f).best_iteration  # type: ignore[union-attr]
                for f in range(5)
            ]
            b_med, k_med = statistics.median(bare_s), statistics.median(kit_s)
            entry = {
                "bare_seconds": bare_s,
                "kit_seconds": kit_s,
                "ratio": k_med / b_med,
                "bare_cpu_seconds": bare_cpu,
                "kit_cpu_seconds": kit_cpu,
                "cpu_ratio": statistics.median(kit_cpu) / statistics.median(bare_cpu),
                "bare_cv": bare_cv,
                "kit_cv": kit_cv,
                "bare_rounds": best,
                "kit_rounds": kit_rounds,
                "load_before": load_before,
            }
            print(f"\n{library}: best rounds per fold, bare {best}, kit {kit_rounds}")
            print(f"  bare loop  {b_med:8.2f} s  (runs: {' '.join(f'{t:.2f}' for t in bare_s)})  CV AUC {bare_cv:.6f}")
            print(f"  kaggle_kit {k_med:8.2f} s  (runs: {' '.join(f'{t:.2f}' for t in kit_s)})  CV AUC {kit_cv:.6f}")
            ok = "ok" if k_med / b_med <= 1.05 else "OVER"
            print(f"  ratio kit / bare: {k_med / b_med:.3f} (target <= 1.05: {ok})", flush=True)
            print(
                f"  CPU time (all threads of the process; steadier than wall on a busy machine): bare "
                f"{statistics.median(bare_cpu):.2f} s, kit {statistics.median(kit_cpu):.2f} s, ratio "
                f"{entry['cpu_ratio']:.3f}",
                flush=True,
            )
            if not args.no_parallel:
                par_spec = make_spec(library, args.rounds, args.early_stopping, 0, 0)
                p, _, _, _ = time_kit(par_spec, train, test, Path(tmp) / f"{library}-parallel")
                entry["kit_parallel_default_seconds"] = p
                print(
                    f"  kaggle_kit parallel default (one worker per core, cores // workers threads): {p:.2f} s "
                    f"= {p / b_med:.3f}x the bare loop on {args.threads} thread(s)",
                    flush=True,
                )
            if args.profile:
                profile_kit(spec, train, test, Path(tmp) / f"{library}-profile")
            entry["load_after"] = load_average()
            print(f"  load average {load_before} -> {entry['load_after']}")
            report["libraries"][library] = entry
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
