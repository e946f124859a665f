"""``kaggle-kit``: a thin command line over the library (a notebook calls the same functions).

Bad input ends with one ``error: ...`` line naming the key, column or file and the fix, and exit status 2; never a
traceback from deep inside a library.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import KitError

DEMO_CONFIGS = ("demo-breast-cancer", "demo-digits")


def _cmd_run(args: argparse.Namespace) -> int:
    from .config import load_spec
    from .runner import run

    spec = load_spec(args.config)
    only = [m.strip() for m in args.only.split(",")] if args.only else None
    result = run(spec, runs_root=args.runs_root, only=only, n_jobs=args.jobs)
    print()
    print(result.leaderboard())
    print(f"\nrun folder: {result.run_dir}  (fitted {result.fitted} fold(s), reused {result.reused})")
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from .leaderboard import format_leaderboard, leaderboard
    from .metrics import get_metric
    from .store import RunStore

    rows = leaderboard(args.run_dir)
    print(format_leaderboard(rows, get_metric(RunStore(args.run_dir).read_meta()["metric"])))
    return 0


def _cmd_submit(args: argparse.Namespace) -> int:
    from .submit import write_submission

    path = write_submission(args.run_dir, args.model, args.out)
    print(f"wrote {path}")
    return 0


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from .demo import DEMOS, make_demo

    for name in args.names or list(DEMOS):
        print(f"{name}: {make_demo(name, args.out)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    """Materialise the demo data, run each demo competition, and write a submission of its best model."""
    from .config import load_spec
    from .demo import make_demo
    from .leaderboard import rank
    from .metrics import get_metric
    from .runner import run
    from .submit import write_submission

    for name in DEMO_CONFIGS:
        config = Path(args.competitions) / f"{name}.toml"
        spec = load_spec(config)
        make_demo(name, spec.resolve(spec.data.train).parent.parent)
        print(f"\n=== {name} ({config})")
        result = run(spec, runs_root=args.runs_root, n_jobs=args.jobs)
        print()
        print(result.leaderboard())
        best = rank([m for m in result.models if m.status == "ok"], get_metric(result.metric))[0]
        print(f"submission of the best model ({best.name}): {write_submission(result.run_dir, best.name)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kaggle-kit", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="fit every model of a competition config on every fold (resumes, never refits)")
    p.add_argument("config", help="competition TOML, e.g. competitions/demo-breast-cancer.toml")
    p.add_argument("--runs-root", default="runs", help="folder holding run folders (default: runs)")
    p.add_argument("--only", help="comma-separated model names to run (the baseline always runs)")
    p.add_argument("--jobs", type=int, default=None, help="parallel (model, fold) tasks (default: run.n_jobs)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("leaderboard", help="print the CV leaderboard of a run folder")
    p.add_argument("run_dir")
    p.set_defaults(func=_cmd_leaderboard)

    p = sub.add_parser("submit", help="write a Kaggle submission CSV from a model's test predictions")
    p.add_argument("run_dir")
    p.add_argument("--model", required=True, help="model name as on the leaderboard")
    p.add_argument("--out", default=None, help="output CSV (default: RUN_DIR/submissions/MODEL.csv)")
    p.set_defaults(func=_cmd_submit)

    p = sub.add_parser("demo-data", help="write the demo competitions' files (Kaggle layout)")
    p.add_argument("names", nargs="*", help="demo names (default: all)")
    p.add_argument("--out", default="data", help="folder to write into (default: data)")
    p.set_defaults(func=_cmd_demo_data)

    p = sub.add_parser("demo", help="create the demo data, run the demo competitions, write submissions")
    p.add_argument("--competitions", default="competitions", help="folder with the demo configs")
    p.add_argument("--runs-root", default="runs")
    p.add_argument("--jobs", type=int, default=None)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished folds are kept; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
