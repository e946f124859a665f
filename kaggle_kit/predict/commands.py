"""The ``predict`` and ``refit`` subcommands of ``kaggle-kit`` (thin over :mod:`kaggle_kit.predict`), and the
``--best`` choice ``submit`` shares. Their arguments are in :func:`kaggle_kit.cli.build_parser`: importing this module
imports the package, and with it the blends and scipy (1.3 s), which every other command has no use for."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_predict(args: argparse.Namespace) -> int:
    from .api import predict
    from .best import best_choice

    if args.best:
        choice = best_choice(args.run_dir)
        print(choice.lines())
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


def cmd_refit(args: argparse.Namespace) -> int:
    from .refit import refit

    refit(args.run_dir, args.model, train=args.train, threads=args.threads)
    return 0


def best_for_submit(run_dir: str) -> tuple[str | None, str | None]:
    """``(model, blend)`` for ``kaggle-kit submit --best``, with the verdict printed: the run's own test rows, so
    imported predictions and their blends are candidates (``predict --best`` leaves them out)."""
    from .best import best_choice

    choice = best_choice(run_dir, new_rows=False)
    print(choice.lines())
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
