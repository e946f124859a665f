"""Ensemble selection speed: ``hill_climb`` (Caruana's greedy selection with replacement) over hundreds of configs.

Target (kaggle_kit issue #13): 200 OOF columns x 1,000,000 rows selected in at most 60 s on 2 cores. The script
selects among ``--models`` synthetic OOF prediction matrices (default 200) with the kit's default 25 picks:

* binary, ROC AUC, ``--rows`` rows (default 1,000,000; the selection sorts at most ``max_rows`` = 100,000 of them,
  a random subset, as AutoGluon's ``subsample_size`` does; the blend is still scored on every row by nested CV);
* binary, log loss, ``--rows`` rows (every row);
* multiclass (5 classes), log loss, ``--rows`` / 5 rows (every row);

timing ``HillClimb.fit`` (one selection: what each nested-CV fold and the final fit run) with 1 thread and with
``--threads`` threads. In the same run, on a smaller size (``--naive-models`` x ``--naive-rows``, 5 picks), a naive
implementation (each candidate's blend recomputed from all its models' predictions and scored by the metric's own
function, as a notebook loop would) against the kit on the same data: the ratio, and a check that both pick the
same models.

    .venv/bin/python benchmarks/selection_speed.py                  # the full size: ~5 min, ~4 GB of memory
    .venv/bin/python benchmarks/selection_speed.py --quick          # seconds
    .venv/bin/python benchmarks/selection_speed.py --nested-rows 200000   # + a whole blend, nested CV included
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _machine import load_average, machine_line

from kaggle_kit.blend import HillClimb, weighted_sum
from kaggle_kit.metrics import get_metric


def synthetic(n_rows: int, n_models: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A target and ``n_models`` probability matrices ``(n_models, n_rows, n_classes)`` float32: each model sees the
    true class's signal through its own noise (of varied size), so models differ in quality and errors."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_rows)
    signal = np.zeros((n_rows, n_classes), dtype=np.float32)
    signal[np.arange(n_rows), y] = 1.0
    stack = np.empty((n_models, n_rows, n_classes), dtype=np.float32)
    for m in range(n_models):
        scale = np.float32(rng.uniform(0.8, 3.0))
        logits = signal + scale * rng.standard_normal((n_rows, n_classes), dtype=np.float32)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        stack[m] = logits / logits.sum(axis=1, keepdims=True)
    return y, stack


def time_kit(stack: np.ndarray, y: np.ndarray, metric: str, threads: int, steps: int) -> tuple[float, np.ndarray]:
    folds = np.arange(y.shape[0]) % 5  # the row folds an OOF selection is given (AUC is the mean of per-fold AUCs)
    start = time.perf_counter()
    fitted = HillClimb(max_steps=steps, threads=threads).fit(
        stack, y, get_metric(metric), np.random.default_rng(0), folds
    )
    return time.perf_counter() - start, np.asarray(fitted.weights)


def naive_selection(stack: np.ndarray, y: np.ndarray, metric: str, steps: int) -> tuple[float, np.ndarray]:
    """Greedy selection with replacement, every candidate's blend rebuilt from its models and scored from scratch."""
    m_metric = get_metric(metric)
    sign = -1.0 if m_metric.greater_is_better else 1.0
    folds = np.arange(y.shape[0]) % 5
    start = time.perf_counter()

    def loss(weights: np.ndarray) -> float:
        blend = weighted_sum(weights, stack)
        if metric == "roc_auc":  # the objective the kit optimises: the mean of per-fold AUCs
            return sign * float(np.mean([m_metric.score(y[folds == f], blend[folds == f]) for f in range(5)]))
        return sign * m_metric.score(y, blend)

    m = stack.shape[0]
    counts = np.zeros(m)
    best_loss, best = np.inf, counts
    for _ in range(steps):
        trial = [loss((counts + np.eye(m)[j]) / (counts.sum() + 1)) for j in range(m)]
        j = int(np.argmin(trial))
        counts = counts + np.eye(m)[j]
        if trial[j] < best_loss - 1e-12:
            best_loss, best = trial[j], counts.copy()
    return time.perf_counter() - start, best / best.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=25, help="picks per selection (the kit's default: 25)")
    parser.add_argument("--naive-rows", type=int, default=20_000)
    parser.add_argument("--naive-models", type=int, default=30)
    parser.add_argument(
        "--nested-rows", type=int, default=0, help="also time a whole blend (nested CV included) on this many rows"
    )
    parser.add_argument("--nested-only", action="store_true", help="only the whole blend of --nested-rows rows")
    parser.add_argument("--quick", action="store_true", help="a tiny size, to check that the script runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.models, args.naive_rows, args.naive_models, args.steps = 20_000, 20, 2_000, 8, 10
        args.nested_rows = 5_000

    print(machine_line())
    figures: dict = {"rows": args.rows, "models": args.models, "steps": args.steps, "cases": [], "naive": []}
    cases = [("binary", "roc_auc", args.rows, 2), ("binary", "log_loss", args.rows, 2)]
    cases.append(("multiclass-5", "log_loss", args.rows // 5, 5))
    naive_cases = [("binary", "roc_auc", 2), ("binary", "log_loss", 2), ("multiclass-5", "log_loss", 5)]
    if args.nested_only:
        cases, naive_cases = [], []
    for task, metric, rows, classes in cases:
        y, stack = synthetic(rows, args.models, classes, seed=0)
        load_before = load_average()
        times = {}
        for threads in sorted({1, args.threads}):
            seconds, weights = time_kit(stack, y, metric, threads, args.steps)
            times[threads] = seconds
        print(
            f"{task:<13} {metric:<9} {args.models} models x {rows:>9,} rows, {args.steps} picks: "
            + ", ".join(f"{t} thread(s) {s:6.1f} s" for t, s in times.items())
            + f"  ({int((weights > 0).sum())} models picked; load {load_before} -> {load_average()})"
        )
        figures["cases"].append(
            {"task": task, "metric": metric, "rows": rows, "models": args.models, "seconds": times, "load": load_before}
        )
        del stack

    for task, metric, classes in naive_cases:
        y, stack = synthetic(args.naive_rows, args.naive_models, classes, seed=1)
        steps = 5
        kit_seconds, kit_weights = time_kit(stack, y, metric, 1, steps)
        naive_seconds, naive_weights = naive_selection(stack, y, metric, steps)
        same = bool(np.allclose(kit_weights, naive_weights))
        print(
            f"naive vs kit, {task} {metric}, {args.naive_models} models x {args.naive_rows:,} rows, {steps} picks, "
            f"1 thread: naive {naive_seconds:.2f} s, kit {kit_seconds:.3f} s: {naive_seconds / kit_seconds:.0f}x "
            f"({'same picks' if same else 'DIFFERENT picks'}; load {load_average()})"
        )
        figures["naive"].append(
            {"task": task, "metric": metric, "naive": naive_seconds, "kit": kit_seconds, "same_picks": same}
        )
    if args.nested_rows:
        from kaggle_kit.blend import blend_predictions
        from kaggle_kit.runtime.folds import make_folds

        y, stack = synthetic(args.nested_rows, args.models, 2, seed=2)
        folds = make_folds(len(y), strategy="stratified", n_splits=5, seed=0, y=y)
        oof = {f"c{j:03d}": stack[j] for j in range(stack.shape[0])}
        load_before = load_average()
        start = time.perf_counter()
        outcome = blend_predictions(oof, y, folds, "log_loss", "hill_climb", test=oof)
        seconds = time.perf_counter() - start
        print(
            f"whole blend (full fit + 5 nested-CV fits + test), binary log_loss, {args.models} models x "
            f"{args.nested_rows:,} rows, 1 thread: {seconds:.1f} s (nested CV {outcome.result.nested_cv:.5f}; "
            f"load {load_before} -> {load_average()})"
        )
        figures["nested"] = {"rows": args.nested_rows, "seconds": seconds}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
