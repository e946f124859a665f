"""The ``predict`` and ``refit`` subcommands of ``kaggle-kit`` (thin over :mod:`kaggle_kit.predict`), and the
``--best`` choice ``submit`` shares."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: Any) -> None:
    """Add ``predict`` and ``refit`` to the CLI's subparsers."""
    p = sub.add_parser(
        "predict", help="predict a new test file with a finished run folder (read-only is fine) -> submission CSV"
    )
    p.add_argument("run_dir")
    p.add_argument(
        "--test", default=None, help="the test file (CSV or parquet), columns as in training (data.test of the spec)"
    )
    p.add_argument("--images", default=None, help="[data.images] runs: the test images' folder (its test_folder)")
    p.add_argument(
        "--sequences", default=None, help="[data.sequences] runs: the test long table (its test; ids from it or --test)"
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="model name as on the leaderboard")
    which.add_argument("--blend", help="blend name as stored by `kaggle-kit blend`")
    which.add_argument("--best", action="store_true", help="the blend or model the blend report's verdict names")
    p.add_argument("--refit", action="store_true", help="use the models refit on all rows (`kaggle-kit refit`)")
    p.add_argument("--out", default="submission.csv", help="output CSV (default: submission.csv)")
    p.add_argument("--sample", default=None, help="the sample submission of these test rows (its rows and order)")
    p.add_argument("--threads", type=int, default=None, help="threads per model (default: up to 4)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser(
        "refit", help="refit each model on all training rows with its folds' mean best iteration (no early stopping)"
    )
    p.add_argument("run_dir")
    p.add_argument("--model", action="append", default=None, help="a model to refit, repeatable (default: all)")
    p.add_argument("--train", default=None, help="the training file (default: data.train of the run's spec)")
    p.add_argument("--threads", type=int, default=1, help="threads per model (default: 1)")
    p.set_defaults(func=_cmd_refit)


def _cmd_predict(args: argparse.Namespace) -> int:
    from .api import predict
    from .best import best_choice

    if args.best:
        choice = best_choice(args.run_dir)
        print(f"--best: {choice.kind} {choice.name!r}. {choice.verdict}")
        model, blend = (choice.name, None) if choice.kind == "model" else (None, choice.name)
    else:
        model, blend = args.model, args.blend
    preds = predict(
        args.run_dir,
        args.test,
        images=args.images,
        sequences=args.sequences,
        model=model,
        blend=blend,
        refit=args.refit,
        out=args.out,
        sample=args.sample,
        threads=args.threads,
    )
    print(f"wrote {args.out} ({preds.height} rows, {'refit' if args.refit else 'fold'} models)")
    return 0


def _cmd_refit(args: argparse.Namespace) -> int:
    from .refit import refit

    refit(args.run_dir, args.model, train=args.train, threads=args.threads)
    return 0


def best_for_submit(run_dir: str) -> tuple[str | None, str | None]:
    """``(model, blend)`` for ``kaggle-kit submit --best``, with the verdict printed: the run's own test rows, so
    imported predictions and their blends are candidates (``predict --best`` leaves them out)."""
    from .best import best_choice

    choice = best_choice(run_dir, new_rows=False)
    print(f"--best: {choice.kind} {choice.name!r}. {choice.verdict}")
    return (choice.name, None) if choice.kind == "model" else (None, choice.name)


def print_within_budget(run_dir: str, report: Any, max_seconds: float, n_rows: int | None) -> None:
    """``kaggle-kit blend --max-predict-seconds S --test-rows N``: the best blend or model that fits."""
    from ..errors import ConfigError
    from .run_folder import RunFolder
    from .speed import best_within, prediction_speed

    if max_seconds <= 0:
        raise ConfigError(f"--max-predict-seconds must be a positive number of seconds; got {max_seconds:g}")
    rows = n_rows if n_rows is not None else int(RunFolder.open(run_dir).meta.get("n_test") or 0)
    if rows <= 0:
        raise ConfigError("--max-predict-seconds needs --test-rows N (the run has no test rows to count)")
    print(best_within(report, prediction_speed(run_dir), max_seconds, rows).text(max_seconds, rows))
