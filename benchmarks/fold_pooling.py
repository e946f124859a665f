"""Pooling the fold models' test predictions: the probabilities' mean against the kit's log-space pool.

For each classification dataset of the fixed list in ``_datasets.py`` and each hold-out split, a preset is run as a
user would (``portfolio.run_config``: ``run()`` and ``blend_report(run, "all")``; or, with ``--time-limit``, the
command ``kaggle-kit run --preset best --time-limit T`` as ``vs_autogluon.py`` runs it). The fitted models and blends
are then kept as they are, and only the pooling of each model's fold predictions on the hidden rows changes: the
arithmetic mean of the probabilities (what the kit did before) or :mod:`kaggle_kit.runtime.pooling` (the mean of
the log-probabilities, normalised). Printed: the hidden-row score of what the verdict submits under each pooling,
each model's too with ``--models``, and over several splits the mean difference and its standard error. Beside them,
the run's models stacked by nested CV (``stack``) with its fold fits' test predictions pooled both ways: the rule
:mod:`kaggle_kit.blend.nested` follows for a stacker's fold fits.

    .venv/bin/python benchmarks/fold_pooling.py                                   # good, split 0, 4 datasets
    .venv/bin/python benchmarks/fold_pooling.py --datasets anes96 --split-seeds $(seq -s, 0 19)
    .venv/bin/python benchmarks/fold_pooling.py --datasets digits,synthetic_250k --time-limit 120
    .venv/bin/python benchmarks/fold_pooling.py --datasets fair,breast_cancer --metric log_loss --split-seeds 0,1,2
    .venv/bin/python benchmarks/fold_pooling.py --quick                           # seconds: the code path only
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _datasets import DATASETS, by_name, split
from _machine import load_average, machine_line
from portfolio import hidden_score, run_config
from vs_autogluon import kit_side, write_competition

from kaggle_kit.blend.engine import stack_predictions
from kaggle_kit.blend.inputs import load_run
from kaggle_kit.blend.nested import nested_cv
from kaggle_kit.blend.stacking import Stack
from kaggle_kit.metrics import METRICS, get_metric
from kaggle_kit.predict.api import prediction_frame
from kaggle_kit.predict.best import best_choice
from kaggle_kit.predict.blends import apply_blend, blend_spec
from kaggle_kit.predict.run_folder import RunFolder
from kaggle_kit.runtime.pooling import FoldPool, Space, metric_pooling_space, pooling_space

CLASSIFICATION = ",".join(d.name for d in DATASETS if d.task in ("binary", "multiclass"))


def fold_tests(folder: RunFolder, name: str) -> list[np.ndarray]:
    """Model ``name``'s fold models' stored test predictions, each checked against its checksum."""
    return [folder.store.read_fold_array(folder.fold(name, r, k)[1], "test.npy") for r, k in folder.folds().tasks()]


def pooled(per_fold: list[np.ndarray], space: Space) -> np.ndarray:
    pool = FoldPool(len(per_fold[0]), per_fold[0].shape[1], space)
    for pred in per_fold:
        pool.add(pred)
    return pool.result()


def submissions(folder: RunFolder, spaces: tuple[Space, ...]) -> dict[Space, dict[str, pl.DataFrame]]:
    """For each pooling space, each finished model's test predictions and the verdict's submission (``[name]``),
    with the fold predictions (read once) pooled in that space."""
    names = [n for n in folder.store.current_models() if folder.store.read_summary(n).status == "ok"]
    per_fold = {name: fold_tests(folder, name) for name in names}
    stored = folder.store.read_predictions(names[0], "test")
    ids, columns = stored["id"], [c for c in stored.columns if c != "id"]
    choice = best_choice(folder.root)
    blend = blend_spec(folder, choice.name) if choice.kind == "blend" else None
    out: dict[Space, dict[str, pl.DataFrame]] = {}
    for space in spaces:
        models = {name: pooled(arrays, space) for name, arrays in per_fold.items()}
        if space == pooling_space(folder.meta["task"]):  # the kit's own pooling: what the runner stored
            for name, values in models.items():
                want = folder.store.read_predictions(name, "test").drop("id").to_numpy()
                np.testing.assert_allclose(values, want, rtol=1e-5, atol=1e-7, err_msg=name)
        frames = {name: prediction_frame(ids, values, columns) for name, values in models.items()}
        chosen = apply_blend(folder, blend, models) if blend is not None else models[choice.name]
        frames[f"[{choice.name}]"] = prediction_frame(ids, chosen.reshape(len(ids), -1), columns)
        out[space] = frames
    return out


def stack_fits(folder: RunFolder, tests: dict[str, pl.DataFrame]) -> tuple[np.ndarray, np.ndarray]:
    """The run's models stacked (``stack``, its default ``C``) by nested CV on their stored OOF, its fold fits
    applied to the models' pooled test predictions ``tests``: the fits pooled as the probabilities' mean, and as the
    kit pools them (:func:`~kaggle_kit.blend.nested.nested_cv`)."""
    run = load_run(folder.root, list(tests))
    oof = stack_predictions(run.oof, folder.metric)
    test = stack_predictions({n: f.drop("id").to_numpy() for n, f in tests.items()}, folder.metric, "test")
    nested = nested_cv(Stack(), oof, run.y, run.folds, folder.metric, usable=np.isfinite(oof).all(axis=(0, 2)))
    per_fit = [Stack().predict(fit, test) for fit in nested.fitted]
    return np.mean(per_fit, axis=0), pooled(per_fit, metric_pooling_space(folder.metric))


def compare(ds: Any, run_dir: Path, hidden: pl.DataFrame) -> dict[str, tuple[float, float]]:
    """name -> (hidden score with the probabilities' mean, with the kit's pooling); the submission as ``[name]``,
    and as ``{stack}`` the stack's fold fits pooled both ways (on the models' pooled test predictions)."""
    folder = RunFolder.open(run_dir)
    space = pooling_space(ds.task)
    both = submissions(folder, ("mean", space))
    mean, kit = both["mean"], both[space]
    scores = {
        name: (hidden_score(ds, run_dir, mean[name], hidden), hidden_score(ds, run_dir, kit[name], hidden))
        for name in mean
    }
    models = {name: frame for name, frame in kit.items() if not name.startswith("[")}
    ids, columns = kit[next(iter(models))]["id"], [c for c in kit[next(iter(models))].columns if c != "id"]
    frames = [prediction_frame(ids, values, columns) for values in stack_fits(folder, models)]
    scores["{stack}"] = tuple(hidden_score(ds, run_dir, f, hidden) for f in frames)  # type: ignore[assignment]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=CLASSIFICATION)
    parser.add_argument("--metric", choices=sorted(METRICS), help="score the datasets by this metric, not their own")
    parser.add_argument("--preset", default="good", help="without --time-limit: fast, good or best")
    parser.add_argument("--split-seeds", default="0", help="without --time-limit: hold-out split seeds")
    parser.add_argument("--time-limit", type=float, help="the command with --preset best under this limit, split 0")
    parser.add_argument("--models", action="store_true", help="also print each model's scores")
    parser.add_argument("--quick", action="store_true", help="tiny GBDTs on 2 folds: the code path, in seconds")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    print(machine_line())
    seeds = [0] if args.time_limit else [int(s) for s in args.split_seeds.split(",")]
    figures: dict[str, Any] = {}
    for ds in by_name(args.datasets):
        ds = dataclasses.replace(ds, metric=args.metric) if args.metric else ds
        metric = get_metric(ds.metric)
        gains = []
        for seed in seeds:
            with tempfile.TemporaryDirectory(prefix=f"kit-pooling-{ds.name}-") as tmp:
                load = load_average()
                if args.time_limit:
                    hidden = write_competition(ds, Path(tmp))
                    run_dir = Path(kit_side(ds, Path(tmp), args.time_limit, sys.executable)["run_dir"])
                    what = f"best, T = {args.time_limit:.0f} s"
                else:
                    train, hidden = split(ds, seed=seed)
                    run_dir = Path(run_config(ds, args.preset, train, hidden, Path(tmp), args.quick)["run_dir"])
                    what = "old config (quick)" if args.quick else args.preset
                scores = compare(ds, run_dir, hidden)
            sub = next(name for name in scores if name.startswith("["))
            mean, pooled = scores[sub]
            gain = (mean - pooled) * (1 if metric.greater_is_better is False else -1)
            gains.append(gain)
            figures.setdefault(ds.name, []).append({"split": seed, "submitted": sub[1:-1], "scores": scores})
            print(
                f"{ds.name} ({what}, split {seed}, {metric.name}; load {load} -> {load_average()}): submitted "
                f"{sub[1:-1]!r}  mean {mean:.5f}  pooled {pooled:.5f}  ({'better' if gain > 0 else 'not better'})",
                flush=True,
            )
            a, b = scores["{stack}"]
            print(f"    the stack's fold fits: mean {a:.5f}  pooled {b:.5f}")
            if args.models:
                for name, (a, b) in scores.items():
                    if not name.startswith(("[", "{")):
                        print(f"    {name:<20} mean {a:.5f}  pooled {b:.5f}")
        if len(gains) > 1:
            g = np.asarray(gains)
            print(f"{ds.name}: pooled better by {g.mean():+.5f} (s.e. {g.std(ddof=1) / np.sqrt(len(g)):.5f}) over "
                  f"{len(g)} splits, better on {(g > 0).sum()}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
