"""Blend speed: kaggle_kit's Nelder-Mead blend versus the usual notebook recipe, on the same OOF matrix.

Blends ``--models`` synthetic models' OOF predictions for ``--rows`` rows of a binary task (default: the issue's
20 models x 1,000,000 rows), once optimising ROC AUC and once log loss, and in the same run the recipe most
notebooks use::

    minimize(lambda w: -roc_auc_score(y, oof @ w), np.ones(M) / M, method="Nelder-Mead")

(scipy's default options). For log loss, the same recipe over the weights the kit fits, non-negative and summing to 1
(``log_loss(y, oof @ (abs(w) / sum(abs(w))))``): unconstrained weights are not a blend of probabilities (and
scikit-learn's ``log_loss`` rejects the negative "probabilities" they produce). Prints each side's time and score,
the speed ratio, the nested-CV blend time, and, for the run folders found under ``--demo-runs``, the blend's time as
a share of the time its models took to fit.

    .venv/bin/python benchmarks/blend_speed.py                       # the full size: ~30 min, the recipe is slow
    .venv/bin/python benchmarks/blend_speed.py --rows 200000         # a quick look
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import roc_auc_score

from kaggle_kit.blend import NelderMead, blend_predictions, weighted_sum
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.folds import make_folds


def synthetic_oof(n_rows: int, n_models: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A binary target and ``n_models`` OOF probability matrices ``(n_models, n_rows, 2)`` of varied quality.

    The target's log-odds are ``1.5 z - 1`` for a latent ``z``. Model ``m`` sees ``z`` through its own noise (part of
    it shared with a "family" of models, as GBDTs share errors) and predicts the probability that view implies, so it
    is about calibrated, as a model trained on log loss is; then a mild miscalibration (log-odds scaled by 0.85-1.15,
    shifted by +-0.15)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n_rows)
    y = (rng.random(n_rows) < 1 / (1 + np.exp(-(1.5 * z - 1.0)))).astype(np.int64)
    families = rng.normal(size=(4, n_rows))
    stack = np.empty((n_models, n_rows, 2), dtype=np.float32)
    for m in range(n_models):
        own, shared = rng.uniform(0.5, 1.5), 0.6
        view = z + own * rng.normal(size=n_rows) + shared * families[m % 4]
        noise_var = own**2 + shared**2
        mean, var = view / (1 + noise_var), noise_var / (1 + noise_var)  # z given the view
        logit = (1.5 * mean - 1.0) / np.sqrt(1 + np.pi * 1.5**2 * var / 8)  # E[sigmoid] by the probit approximation
        logit = rng.uniform(0.85, 1.15) * logit + rng.uniform(-0.15, 0.15)
        p = (1 / (1 + np.exp(-logit))).astype(np.float32)
        stack[m, :, 1] = p
        stack[m, :, 0] = 1 - p
    return y, stack


def time_kit(stack: np.ndarray, y: np.ndarray, metric: str, seed: int) -> tuple[float, float, np.ndarray]:
    start = time.perf_counter()
    fitted = NelderMead().fit(stack, y, get_metric(metric), np.random.default_rng(seed))
    seconds = time.perf_counter() - start
    assert fitted.weights is not None
    p = weighted_sum(fitted.weights, stack)[:, 1].astype(np.float64)
    return seconds, _sk_score(metric, y, p), fitted.weights


def time_recipe(oof: np.ndarray, y: np.ndarray, metric: str) -> tuple[float, float, np.ndarray, int]:
    m = oof.shape[1]
    if metric == "roc_auc":

        def fun(w: np.ndarray) -> float:
            return -roc_auc_score(y, oof @ w)
    else:  # the same recipe on the kit's weights: non-negative, summing to 1, so that the blend is a probability

        def fun(w: np.ndarray) -> float:
            return sk_log_loss(y, oof @ (np.abs(w) / np.abs(w).sum()))

    start = time.perf_counter()
    res = minimize(fun, np.ones(m) / m, method="Nelder-Mead")
    seconds = time.perf_counter() - start
    w = res.x if metric == "roc_auc" else np.abs(res.x) / np.abs(res.x).sum()
    return seconds, _sk_score(metric, y, oof @ w), w, int(res.nfev)


def _sk_score(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p)) if metric == "roc_auc" else float(sk_log_loss(y, p))


def demo_share(runs_root: Path) -> None:
    """The blend step's time as a share of the time its models took to fit, for each demo run folder found."""
    from kaggle_kit.blend import fit_blend
    from kaggle_kit.runtime.store import RunStore

    for run_dir in sorted(p.parent for p in runs_root.glob("demo-*/run.json")):
        try:
            result = fit_blend(run_dir, "nelder_mead", save=False)
        except Exception as exc:  # a demo run without its data: say so and go on
            print(f"  {run_dir.name}: skipped ({exc})")
            continue
        store = RunStore(run_dir)
        fit = sum(store.read_summary(name).fit_seconds for name in result.models)
        share = result.fit_seconds / fit if fit else float("nan")
        print(
            f"  {run_dir.name:<20} blend of {len(result.models)} models "
            f"(fit + {len(result.fold_scores)}-fold nested CV) "
            f"{result.fit_seconds:.3f} s = {100 * share:.2f}% of the {fit:.2f} s its models took to fit "
            f"({'under' if share < 0.05 else 'OVER'} the 5% target)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--metrics", default="roc_auc,log_loss")
    parser.add_argument("--no-nested", action="store_true", help="skip timing the 5-fold nested-CV blend")
    parser.add_argument("--demo-runs", default="runs", help="folder holding demo run folders (default: runs)")
    args = parser.parse_args()

    print(f"blend speed: {args.models} models x {args.rows:,} rows, binary")
    y, stack = synthetic_oof(args.rows, args.models, args.seed)
    oof = np.ascontiguousarray(stack[:, :, 1].T, dtype=np.float64)  # a notebook's (rows, models) frame
    best_single = max(roc_auc_score(y, oof[:, j]) for j in range(args.models))
    print(f"best single model ROC AUC {best_single:.6f}")
    for metric in args.metrics.split(","):
        kit_s, kit_score, _ = time_kit(stack, y, metric, args.seed)
        print(f"{metric}: kaggle_kit nelder_mead {kit_s:8.1f} s  score {kit_score:.6f}", flush=True)
        rec_s, rec_score, _, nfev = time_recipe(oof, y, metric)
        print(f"{metric}: notebook recipe        {rec_s:8.1f} s  score {rec_score:.6f}  ({nfev} evaluations)")
        better = kit_score >= rec_score if metric == "roc_auc" else kit_score <= rec_score
        print(
            f"{metric}: ratio {rec_s / kit_s:.1f}x faster, score {kit_score - rec_score:+.6f} "
            f"({'equal or better' if better else 'WORSE'}; target >= 5x at an equal or better score)",
            flush=True,
        )
    if not args.no_nested:
        folds = make_folds(args.rows, strategy="stratified", n_splits=5, y=y, seed=args.seed)
        named = {f"m{j}": stack[j] for j in range(args.models)}
        outcome = blend_predictions(named, y, folds, "roc_auc", "nelder_mead", seed=args.seed)
        r = outcome.result
        print(
            f"roc_auc: whole blend step (fit + 5-fold nested CV) {r.fit_seconds:.1f} s: in-sample {r.cv:.6f}, "
            f"nested CV {r.nested_cv:.6f} (gap {r.gap:+.6f})"
        )
    runs_root = Path(args.demo_runs)
    if runs_root.is_dir():
        print(f"demo competitions ({runs_root}):")
        demo_share(runs_root)


if __name__ == "__main__":
    main()
