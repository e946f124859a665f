"""The presets' date parts: every table model reading a date's year, month, day, weekday and day of the year (and the
hour, for times of day), against the base encoding alone (days since 1970).

A tree cannot learn a weekday from a day count, because neighbouring days differ in it; AutoGluon's datetime features
give the models the calendar. Measured on two tables made here (seeded; nothing is downloaded):

* ``sales``: daily sales of 20 shops over 1,000 days (a quarter of the shop-days kept, 4,000 train rows): a weekend
  lift, a Monday dip, a yearly season and a trend, on the log scale; RMSE of the sales;
* ``rides``: hourly rides over 400 days (3,000 train rows): a rush-hour profile on weekdays, another at weekends,
  and a season; a Datetime column, so the hour is a part too; RMSE.

For each, the ``good`` preset's models as resolved for the table. Once as they are, with the date parts pipeline.
Once with every model's pipeline set back to none: the date is then days since 1970, and lgbm_xt keeps its count and
target encodings. Printed: each model's CV, and the submission the blend report's verdict picks (nested CV) scored
on 1,000 hidden rows made with the table.

    .venv/bin/python benchmarks/date_parts.py
    .venv/bin/python benchmarks/date_parts.py --quick      # seconds: the code path only (the tests)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _machine import load_average, machine_line

from kaggle_kit.blend import blend_report, blend_test_predictions
from kaggle_kit.config import build_spec
from kaggle_kit.presets import DataProfile, resolve_preset
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore


def sales(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    shop, day = rng.integers(0, 20, rows), rng.integers(0, 1000, rows)
    date = [dt.date(2019, 1, 1) + dt.timedelta(days=int(d)) for d in day]
    weekday = np.array([d.weekday() for d in date])
    season = np.sin(2 * np.pi * np.array([d.timetuple().tm_yday for d in date]) / 365.25)
    log_sales = (
        np.log(100 + 10 * shop) + 0.3 * (weekday >= 5) - 0.15 * (weekday == 0) + 0.2 * season + 0.0003 * day
        + rng.normal(0, 0.1, rows)
    )  # fmt: skip
    return pl.DataFrame({"shop": [f"s{s}" for s in shop], "date": date, "target": np.round(np.exp(log_sales), 2)})


def rides(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    hour, day = rng.integers(0, 24, rows), rng.integers(0, 400, rows)
    when = [dt.datetime(2021, 3, 1) + dt.timedelta(days=int(d), hours=int(h)) for d, h in zip(day, hour, strict=True)]
    weekend = np.array([w.weekday() >= 5 for w in when])
    rush = np.exp(-((hour - 8) ** 2) / 4) + np.exp(-((hour - 17.5) ** 2) / 5)
    leisure = np.exp(-((hour - 14) ** 2) / 12)
    season = 1 + 0.4 * np.sin(2 * np.pi * (day - 60) / 365.25)
    level = 20 + 200 * np.where(weekend, 0.8 * leisure, rush) * season
    return pl.DataFrame(
        {"when": when, "temperature": 15 + 10 * season + rng.normal(0, 3, rows), "target": rng.poisson(level) * 1.0}
    )


TABLES = {"sales": sales, "rides": rides}


def measure(name: str, root: Path, quick: bool) -> dict[str, Any]:
    n_train, n_hidden = (400, 100) if quick else (4000, 1000)
    frame = TABLES[name](n_train + n_hidden).with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
    train, hidden = frame[:n_train], frame[n_train:]
    features = [c for c in frame.columns if c not in ("id", "target")]
    categorical = [c for c in features if frame.schema[c] == pl.String]
    resolved = resolve_preset("good", DataProfile.of(train, features, categorical, "regression", 0))
    out: dict[str, Any] = {}
    for variant in ("date parts", "days since 1970"):
        models = [dict(m.spec) for m in resolved.models]
        pipelines = dict(resolved.pipelines)
        if variant == "days since 1970":
            pipelines.pop("dates", None)
            for m in models:
                if m.get("pipeline") == "dates":
                    m.pop("pipeline")
            if "generated" in pipelines:  # lgbm_xt keeps its encodings, without the dates' step
                steps = [s for s in pipelines["generated"]["steps"] if s["step"] != "date_parts"]
                pipelines["generated"] = {"steps": steps}
        if quick:
            models = [m for m in models if m["kind"] in ("lightgbm", "linear")]
            for m in models:
                if m["kind"] == "lightgbm":
                    m["num_boost_round"], m["early_stopping_rounds"] = 40, 10
        spec = build_spec(
            {
                "name": f"dates-{name}-{variant.replace(' ', '-')}",
                "task": "regression",
                "metric": "rmse",
                "seed": 0,
                "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "target"},
                "folds": {"n_splits": 2 if quick else 5},
                "models": models,
                "pipelines": pipelines,
                **({"run": {"n_jobs": 1, "threads_per_task": 1}} if quick else {}),
            },
            base_dir=root,
        )
        load_before = load_average()
        result = run(spec, runs_root=root / "runs", train=train, test=hidden.drop("target"), progress=None,
                     record_history=False)  # fmt: skip
        report = blend_report(result.run_dir, "all")
        kind, chosen = report.choice()
        preds = (
            blend_test_predictions(result.run_dir, chosen)
            if kind == "blend"
            else RunStore(result.run_dir).read_predictions(chosen, "test")
        )
        joined = preds.join(hidden.select("id", "target"), on="id", how="left", maintain_order="left")
        value = joined.drop("id", "target").to_series(0).to_numpy()
        out[variant] = {
            "models": {m.name: m.cv for m in result.models if m.name != "baseline"},
            "submitted": chosen,
            "hidden_rmse": float(np.sqrt(np.mean((value - joined["target"].to_numpy()) ** 2))),
            "load": [load_before, load_average()],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--quick", action="store_true", help="small tables, two models, 2 folds: the code path only")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    print(machine_line())
    figures: dict[str, Any] = {}
    for name in args.tables.split(","):
        with tempfile.TemporaryDirectory(prefix=f"kit-dates-{name}-") as tmp:
            figures[name] = entry = measure(name, Path(tmp), args.quick)
        print(f"\n{name}")
        for variant, res in entry.items():
            cvs = "  ".join(f"{m} {cv:.4f}" for m, cv in res["models"].items())
            print(f"  {variant:<16} hidden RMSE {res['hidden_rmse']:.4f} ({res['submitted']})  CV: {cvs}  "
                  f"load {res['load']}", flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
