"""The linear model's one-hot cap (``max_levels``) on a wide categorical column: a fixed 50 against ``"auto"``.

Two tables made here (nothing is downloaded), each with one categorical column of many levels that carry signal,
as a Kaggle table's neighbourhood, shop or zip code does:

* ``houses``: 6,000 sales, the log price linear in the area, rooms, year, a 60-level neighbourhood and a 5-level
  quality grade; 10 % of the areas missing; scored by RMSLE (the kit fits log1p of the price);
* ``shops``: 20,000 rows, a binary target whose log-odds are a 300-level shop's effect plus two numbers; ROC AUC.

For each, the kit's ``linear`` model alone on the same 5 folds, once per ``max_levels`` value: its CV, its fit time,
and the one-hot columns it kept (fold 0). Then, for ``houses``, the ``good`` preset's submission with each value:
the linear model is one of its five models.

    .venv/bin/python benchmarks/linear_levels.py
    .venv/bin/python benchmarks/linear_levels.py --quick      # seconds: the code path only (the tests)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _machine import load_average, machine_line

from kaggle_kit.blend import blend_report
from kaggle_kit.config import build_spec
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

VALUES: tuple[int | str, ...] = (50, "auto")


def houses(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(7)
    area = rng.lognormal(7, 0.4, n)
    rooms, year = rng.integers(1, 8, n), rng.integers(1900, 2020, n)
    hood_effect = rng.normal(0, 0.3, 60)
    hood = rng.integers(0, 60, n)
    grades = np.array(["Po", "Fa", "TA", "Gd", "Ex"])
    grade = rng.choice(5, n, p=[0.05, 0.15, 0.5, 0.22, 0.08])
    log_price = (
        10 + 0.1 * np.log(area) + 0.05 * rooms + 0.003 * (year - 1900) + hood_effect[hood]
        + np.array([-0.4, -0.2, 0.0, 0.2, 0.45])[grade] + rng.normal(0, 0.15, n)
    )  # fmt: skip
    area_seen = np.where(rng.random(n) < 0.1, np.nan, np.round(area))
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "LotArea": area_seen,
            "Rooms": rooms,
            "YearBuilt": year,
            "Neighborhood": [f"N{h:02d}" for h in hood],
            "Quality": grades[grade],
            "SalePrice": np.round(np.exp(log_price)),
        }
    ).with_columns(pl.col("LotArea").fill_nan(None))


def shops(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(11)
    shop = rng.integers(0, 300, n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    logit = rng.normal(0, 1.0, 300)[shop] + 0.8 * x1 - 0.5 * x2
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pl.DataFrame({"id": np.arange(n), "shop": [f"s{s}" for s in shop], "x1": x1, "x2": x2, "y": y.astype(int)})


TABLES = {
    "houses": (houses, 6000, "regression", "rmsle", "SalePrice"),
    "shops": (shops, 20000, "binary", "roc_auc", "y"),
}


def spec_for(name: str, target: str, task: str, metric: str, models: list[dict] | None, root: Path, quick: bool):
    raw: dict[str, Any] = {
        "name": name,
        "task": task,
        "metric": metric,
        "seed": 0,
        "data": {"train": "train.csv", "id": "id", "target": target},
        "folds": {"n_splits": 2 if quick else 5},
    }
    if models is None:
        raw["preset"] = "good"
    else:
        raw["models"] = models
    return build_spec(raw, base_dir=root)


def linear_alone(table: str, value: int | str, root: Path, quick: bool) -> dict[str, Any]:
    make, rows, task, metric, target = TABLES[table]
    frame = make(400 if quick else rows)
    model = {"name": "linear", "kind": "linear", "params": {"max_levels": value}}
    spec = spec_for(f"{table}-{value}", target, task, metric, [model], root, quick)
    start = time.perf_counter()
    result = run(spec, runs_root=root / "runs", train=frame, progress=None, record_history=False)
    wall = time.perf_counter() - start
    linear = next(m for m in result.models if m.name == "linear")
    return {"cv": linear.cv, "fit_seconds": linear.fit_seconds, "wall_seconds": wall}


def preset_submission(value: int | str, root: Path, quick: bool) -> dict[str, Any]:
    """``good`` on ``houses`` with the linear model's ``max_levels`` set to ``value``: the verdict's CV."""
    make, rows, task, metric, target = TABLES["houses"]
    spec = spec_for(f"houses-good-{value}", target, task, metric, None, root, quick)
    from kaggle_kit.presets import DataProfile, expand_preset

    frame = make(400 if quick else rows)
    features = [c for c in frame.columns if c not in ("id", target)]
    profile = DataProfile.of(frame, features, ["Neighborhood", "Quality"], task, 0)
    expanded, _ = expand_preset(spec, profile)
    models = [
        m.model_copy(update={"params": {**m.params, "max_levels": value}}) if m.kind == "linear" else m
        for m in expanded.models
    ]
    expanded = expanded.model_copy(update={"models": models})
    if quick:
        expanded = expanded.model_copy(update={"models": [m for m in models if m.kind in ("linear", "lightgbm")]})
    start = time.perf_counter()
    result = run(expanded, runs_root=root / "runs", train=frame, progress=None, record_history=False)
    report = blend_report(result.run_dir, "all")
    kind, chosen = report.choice()
    cv = report.best_blend.mean if kind == "blend" else report.model_mean(report.best_model)
    linear = RunStore(result.run_dir).read_summary("linear")
    return {"submitted": chosen, "nested_cv": cv, "linear_cv": linear.cv, "wall_seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 rows, 2 folds: the code path, in seconds")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    print(machine_line())
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kit-linear-levels-") as tmp:
        for table in TABLES:
            entry = figures.setdefault(table, {})
            for value in VALUES:
                res = linear_alone(table, value, Path(tmp) / f"{table}-{value}", args.quick)
                entry[str(value)] = res
                print(
                    f"{table:<7} linear max_levels={value!s:<5} CV {res['cv']:.5f}  fit {res['fit_seconds']:6.2f} s "
                    f" load {load_average()}",
                    flush=True,
                )
        for value in VALUES:
            res = preset_submission(value, Path(tmp) / f"good-{value}", args.quick)
            figures.setdefault("houses_good", {})[str(value)] = res
            print(
                f"houses  good, linear max_levels={value!s:<5} submits {res['submitted']!r}: nested CV "
                f"{res['nested_cv']:.5f} (linear {res['linear_cv']:.5f}), wall {res['wall_seconds']:.1f} s",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
