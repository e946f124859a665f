"""LightGBM's native categorical splits on small tables: LightGBM's own group size against the kit's.

Seen in session 14: on a 300-row table whose target is set by a cabin's deck (4 levels) and side (2), the kit's
LightGBM scored ROC AUC 0.73; with ``min_data_per_group = 5`` and ``cat_smooth = 1`` 0.89. LightGBM's defaults
(``min_data_per_group = 100``: the rows each side of a categorical split must hold; ``cat_smooth = 10``,
``cat_l2 = 10``) are sized for large tables; on a few hundred rows they leave a category's levels unsplit. The kit
now sizes the groups to the fit's rows (``category_groups`` in ``kaggle_kit/models/lightgbm_adapter.py``: a 20th
of them, 20 to 100); this script measured that rule against LightGBM's 100 and fixed sizes.

Measured here on tables made in this script (seeded; nothing is downloaded), each at several training sizes and
scored on 5,000 hidden rows drawn from the same law (the fold models' averaged test predictions, as a submission),
with the kit's defaults otherwise and the same 5 folds:

* ``decks``: binary; a deck (8 levels), a side (2), a class (3) and 3 numbers, 2 of them noise;
* ``shops``: regression; a shop (50 levels) and an item type (12) with additive effects, a price;
* ``zips``: binary; a zip code (300 levels, small effects), its region (10 levels), an income;
* ``mixed``: 3 classes; five categories of 3 to 30 levels and five numbers, 2 of each noise.

    .venv/bin/python benchmarks/lgbm_categoricals.py                    # every table and size: LightGBM's, kit's, 20
    .venv/bin/python benchmarks/lgbm_categoricals.py --variants kit,group5,group5_smooth1 --sizes 500
    .venv/bin/python benchmarks/lgbm_categoricals.py --good --sizes 300,500,1000   # good's submission, both ways
    .venv/bin/python benchmarks/lgbm_categoricals.py --quick            # seconds: the code path only (the tests)
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
from _machine import load_average, machine_line

from kaggle_kit.blend import blend_report, blend_test_predictions
from kaggle_kit.config import build_spec
from kaggle_kit.errors import DataWarning
from kaggle_kit.metrics import get_metric
from kaggle_kit.presets import DataProfile, resolve_preset
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

HIDDEN = 5_000
#: variant -> LightGBM params on top of the kit's defaults, given the training rows of a fold. The reference is
#: LightGBM's own categorical defaults (min_data_per_group 100, cat_smooth 10, cat_l2 10); "kit" is the kit's
#: default (kaggle_kit.models.lightgbm_adapter.category_groups: a 20th of the fit's rows, 20 to 100)
VARIANTS: dict[str, Callable[[int], dict[str, Any]]] = {
    "lightgbm100": lambda fold_rows: {"min_data_per_group": 100},
    "kit": lambda fold_rows: {},
    "group20": lambda fold_rows: {"min_data_per_group": 20},
    "group5": lambda fold_rows: {"min_data_per_group": 5},
    "group5_smooth1": lambda fold_rows: {"min_data_per_group": 5, "cat_smooth": 1.0, "cat_l2": 1.0},
    "group20_smooth1": lambda fold_rows: {"min_data_per_group": 20, "cat_smooth": 1.0, "cat_l2": 1.0},
}
REFERENCE = "lightgbm100"
KINDS = ("lightgbm", "lightgbm_xt")


def _levels(rng: np.random.Generator, n: int, k: int, prefix: str) -> np.ndarray:
    """``n`` draws of ``k`` levels with unequal frequencies (a Zipf-like law, as real categories have)."""
    weights = 1.0 / np.arange(1, k + 1) ** 0.7
    return rng.choice(np.array([f"{prefix}{i}" for i in range(k)]), n, p=weights / weights.sum())


def _effects(rng: np.random.Generator, levels: np.ndarray, scale: float) -> np.ndarray:
    names = np.unique(levels)
    table = dict(zip(names, rng.normal(0.0, scale, names.size), strict=True))
    return np.array([table[v] for v in levels])


def _decks(rng: np.random.Generator, n: int) -> tuple[pl.DataFrame, np.ndarray]:
    deck, side, cls = _levels(rng, n, 8, "D"), rng.choice(["P", "S"], n), _levels(rng, n, 3, "c")
    x = rng.normal(size=(n, 3))
    effect_rng = np.random.default_rng(100)  # the law is fixed; only the rows are drawn
    logit = _effects(effect_rng, deck, 1.2) + 1.0 * (side == "S") + _effects(effect_rng, cls, 0.8) + 0.7 * x[:, 0]
    y = (rng.random(n) < 1 / (1 + np.exp(-(logit - logit.mean())))).astype(int)
    frame = pl.DataFrame({"deck": deck, "side": side, "cls": cls, **{f"x{i}": x[:, i] for i in range(3)}})
    return frame, y


def _shops(rng: np.random.Generator, n: int) -> tuple[pl.DataFrame, np.ndarray]:
    shop, kind = _levels(rng, n, 50, "s"), _levels(rng, n, 12, "t")
    price = rng.lognormal(3, 0.5, n)
    effect_rng = np.random.default_rng(101)
    y = _effects(effect_rng, shop, 1.0) + _effects(effect_rng, kind, 0.7) + 0.02 * price + rng.normal(0, 1.0, n)
    return pl.DataFrame({"shop": shop, "kind": kind, "price": price}), y


def _zips(rng: np.random.Generator, n: int) -> tuple[pl.DataFrame, np.ndarray]:
    code = rng.integers(0, 300, n)
    zips = np.array([f"z{c:03d}" for c in code])
    region = np.array([f"r{c // 30}" for c in code])
    income = rng.normal(size=n)
    effect_rng = np.random.default_rng(102)
    logit = _effects(effect_rng, zips, 0.6) + _effects(effect_rng, region, 0.8) + 0.8 * income
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pl.DataFrame({"zip": zips, "region": region, "income": income}), y


def _mixed(rng: np.random.Generator, n: int) -> tuple[pl.DataFrame, np.ndarray]:
    sizes = (3, 6, 12, 20, 30)
    cats = {f"c{i}": _levels(rng, n, k, f"l{i}_") for i, k in enumerate(sizes)}
    x = rng.normal(size=(n, 5))
    effect_rng = np.random.default_rng(103)
    scores = np.zeros((n, 3))
    for k in range(3):
        for i in range(3):  # c3, c4 are noise
            scores[:, k] += _effects(effect_rng, cats[f"c{i}"], 0.8)
        scores[:, k] += x[:, :3] @ effect_rng.normal(0, 0.6, 3)
    p = np.exp(scores - scores.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y = (rng.random((n, 1)) > p.cumsum(1)).sum(1)
    return pl.DataFrame({**cats, **{f"x{i}": x[:, i] for i in range(5)}}), y


#: name -> (task, metric, make(rng, rows) -> (features, target))
TABLES: dict[str, tuple[str, str, Callable[[np.random.Generator, int], tuple[pl.DataFrame, np.ndarray]]]] = {
    "decks": ("binary", "roc_auc", _decks),
    "shops": ("regression", "rmse", _shops),
    "zips": ("binary", "roc_auc", _zips),
    "mixed": ("multiclass", "log_loss", _mixed),
}


def _split(name: str, rows: int, hidden: int) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    make = TABLES[name][2]
    features, y = make(np.random.default_rng(rows), rows + hidden)
    frame = features.with_columns(pl.Series("target", y)).with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
    return frame[:rows], frame[rows:].drop("target"), y[rows:]


def measure(name: str, rows: int, variants: list[str], root: Path, quick: bool) -> dict[str, Any]:
    task, metric_name, _ = TABLES[name]
    train, test, hidden_y = _split(name, rows, 500 if quick else HIDDEN)
    rounds = {"num_boost_round": 30, "early_stopping_rounds": 5} if quick else {}
    n_splits = 2 if quick else 5
    fold_rows = rows * (n_splits - 1) // n_splits
    models = [
        {"name": f"{kind}_{v}", "kind": kind, "params": VARIANTS[v](fold_rows), **rounds}
        for kind in KINDS
        for v in variants
    ]
    spec = _spec(root, f"cats-{name}-{rows}", name, models, n_splits=n_splits, quick=quick)
    metric = get_metric(metric_name)
    load_before = load_average()
    result = run(spec, runs_root=root / "runs", train=train, test=test, progress=None, record_history=False)
    store = RunStore(result.run_dir)
    out: dict[str, Any] = {"load": [load_before, load_average()], "models": {}}
    for m in result.models:
        if m.name != "baseline":
            hidden = metric.score(hidden_y, _scored(store.read_predictions(m.name, "test"), task))
            out["models"][m.name] = {"cv": m.cv, "hidden": float(hidden), "fit_seconds": m.fit_seconds}
    return out


def _spec(
    root: Path, run_name: str, table: str, models: list[dict[str, Any]], *, n_splits: int = 5, quick: bool = False,
    pipelines: dict[str, Any] | None = None,
) -> Any:  # fmt: skip
    task, metric_name, _ = TABLES[table]
    raw = {
        "name": run_name,
        "task": task,
        "metric": metric_name,
        "seed": 0,
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "target"},
        "folds": {"n_splits": n_splits},
        "models": models,
        "pipelines": pipelines or {},
        **({"run": {"n_jobs": 1, "threads_per_task": 1}} if quick else {}),
    }
    return build_spec(raw, base_dir=root)


def _scored(preds: pl.DataFrame, task: str) -> np.ndarray:
    """Stored test predictions in id order, as the metric scores them."""
    values = preds.sort("id").drop("id").to_numpy()
    return values[:, -1] if task == "binary" else values[:, 0] if task == "regression" else values


def measure_good(name: str, rows: int, root: Path) -> dict[str, Any]:
    """The ``good`` preset's submission (the blend report's verdict, scored on the hidden rows) with the kit's group
    size and with LightGBM's 100 in both LightGBM models: what the change is worth after the blends (CatBoost, the
    linear model and the net read the categories their own ways)."""
    task, metric_name, _ = TABLES[name]
    train, test, hidden_y = _split(name, rows, HIDDEN)
    features = [c for c in train.columns if c not in ("id", "target")]
    categorical = [c for c in features if train.schema[c] == pl.String]
    n_classes = int(train["target"].n_unique()) if task != "regression" else 0
    resolved = resolve_preset("good", DataProfile.of(train, features, categorical, task, n_classes))
    metric = get_metric(metric_name)
    out: dict[str, Any] = {}
    for variant in ("kit", REFERENCE):
        models = [dict(m.spec) for m in resolved.models]
        if variant == REFERENCE:
            for m in models:
                if m["kind"] in KINDS:
                    m["params"] = {**m.get("params", {}), "min_data_per_group": 100}
        spec = _spec(root, f"cats-good-{name}-{rows}-{variant}", name, models, pipelines=resolved.pipelines)
        load_before = load_average()
        result = run(spec, runs_root=root / "runs", train=train, test=test, progress=None, record_history=False)
        kind, chosen = blend_report(result.run_dir, "all").choice()
        store = RunStore(result.run_dir)
        preds = (
            blend_test_predictions(result.run_dir, chosen)
            if kind == "blend"
            else store.read_predictions(chosen, "test")
        )
        out[variant] = {
            "submitted": chosen,
            "hidden": float(metric.score(hidden_y, _scored(preds, task))),
            "models": {m.name: m.cv for m in result.models if m.name != "baseline"},
            "load": [load_before, load_average()],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--sizes", default="300,500,1000,2000,10000", help="training rows, comma-separated")
    parser.add_argument("--variants", default="kit,group20", help=f"comma-separated; {REFERENCE!r} always runs")
    parser.add_argument("--quick", action="store_true", help="small tables, 30 rounds, 2 folds: the code path only")
    parser.add_argument("--good", action="store_true", help="the good preset's submission instead of LightGBM alone")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    names = args.tables.split(",")
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise SystemExit(f"unknown table(s) {unknown}; known: {', '.join(TABLES)}")
    sizes = [200] if args.quick else [int(s) for s in args.sizes.split(",")]
    variants = [REFERENCE, *(v for v in args.variants.split(",") if v != REFERENCE)]
    if any(v not in VARIANTS for v in variants):
        raise SystemExit(f"unknown variant(s) in {variants}; known: {', '.join(VARIANTS)}")
    print(machine_line())
    warnings.simplefilter("ignore", DataWarning)  # the zips' test levels no training row has: expected, every run
    figures: dict[str, Any] = {}
    for name in names:
        better = get_metric(TABLES[name][1]).greater_is_better
        for rows in sizes:
            if args.good:
                with tempfile.TemporaryDirectory(prefix=f"kit-cats-good-{name}-") as tmp:
                    good = measure_good(name, rows, Path(tmp))
                figures[f"good-{name}-{rows}"] = good
                ref, kit = good[REFERENCE], good["kit"]
                gain = (kit["hidden"] - ref["hidden"]) * (1 if better else -1)
                print(
                    f"\ngood, {name}, {rows} training rows ({TABLES[name][1]}; load {kit['load'][0]} -> "
                    f"{ref['load'][1]}): LightGBM's 100 {ref['hidden']:.5f} ({ref['submitted']}), the kit's "
                    f"{kit['hidden']:.5f} ({kit['submitted']}): {'+' if gain >= 0 else '-'}{abs(gain):.5f}",
                    flush=True,
                )
                continue
            with tempfile.TemporaryDirectory(prefix=f"kit-cats-{name}-") as tmp:
                entry = measure(name, rows, variants, Path(tmp), args.quick)
            figures[f"{name}-{rows}"] = entry
            print(f"\n{name}, {rows} training rows ({TABLES[name][1]}; load {entry['load']})")
            for kind in KINDS:
                ref = entry["models"][f"{kind}_{REFERENCE}"]
                for v in variants:
                    m = entry["models"][f"{kind}_{v}"]
                    gain = (m["hidden"] - ref["hidden"]) * (1 if better else -1)
                    print(
                        f"  {kind:<12} {v:<16} CV {m['cv']:.5f}  hidden {m['hidden']:.5f} "
                        f"({'+' if gain >= 0 else '-'}{abs(gain):.5f} vs {REFERENCE})  fit {m['fit_seconds']:6.1f} s",
                        flush=True,
                    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
