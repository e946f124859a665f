"""``kaggle-kit``: a thin command line over the library (a notebook calls the same functions).

Bad input ends with one ``error: ...`` line naming the key, column or file and the fix, and exit status 2; never a
traceback from deep inside a library. ``kaggle-kit run`` (``search``, ``demo``) exits 1 when a model failed (one line
per failed model, the traceback in the run's ``run.log``) and 130 when interrupted (Ctrl-C). Warnings print as one
``warning: ...`` line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import select
import stat
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from .errors import DataWarning, KitError, StoreError

if TYPE_CHECKING:
    from .blend import BlendReport
    from .config import CompetitionSpec, SearchSpec
    from .runtime.runner import RunResult

#: what `kaggle-kit demo` (and `make demo`) runs: one competition of each task, about 2 minutes on 2 cores
DEMO_CONFIGS = ("demo-breast-cancer", "demo-digits", "demo-diabetes")


def _cmd_run(args: argparse.Namespace) -> int:
    from .config import load_spec

    spec = load_spec(args.config, preset=args.preset)
    _say_preset_replaced(args.config, args.preset)
    search = _search(spec, args.search) if args.search is not None else None
    return _fit_and_finish(spec, args, search=search, only=_only(args.only))


def _only(text: str | None) -> list[str] | None:
    """--only's model names; one that names none (``--only ""``, ``--only "$MODELS"`` with the variable empty) is
    refused: it had fitted every model of the config, as if --only were not given."""
    from .config import names_of
    from .errors import ConfigError

    names = names_of(text)
    if names is not None and not names:
        raise ConfigError(f"--only names no model (got {text!r}); give model names (--only lgbm,xgb) or leave it out")
    return names


def _cmd_search(args: argparse.Namespace) -> int:
    from .config import load_spec

    spec = load_spec(args.config, preset=args.preset)
    _say_preset_replaced(args.config, args.preset)
    return _fit_and_finish(spec, args, search=_search(spec, args.n), only=None)


def _say_preset_replaced(config: str, preset: str | None) -> None:
    """--preset replaces the config's own ``preset``, a whole portfolio of models: said, not done silently."""
    from .config import tomllib

    own = tomllib.loads(Path(config).read_text(encoding="utf-8-sig")).get("preset") if preset else None
    if own is not None and own != preset:
        print(f"note: --preset {preset} replaces the config's preset = {own!r}: its models are not fitted")


def _fit_and_finish(
    spec: CompetitionSpec, args: argparse.Namespace, *, search: SearchSpec | None, only: list | None
) -> int:
    """Fit the run; under a time limit also blend every config (ensemble selection, stacking kept only when it beats
    it) and submit what the verdict picks, so that the whole command ends within the limit."""
    from .runtime.progress import terminal_progress
    from .runtime.runner import run

    limit = _time_limit(args.time_limit)
    _check_time_to_fit(limit if limit is not None else spec.run.time_limit)
    result = run(
        spec,
        runs_root=args.runs_root,
        only=only,
        n_jobs=args.jobs,
        executor=getattr(args, "executor", None),
        ray_address=getattr(args, "ray_address", None),
        progress=terminal_progress(verbose=args.verbose),
        time_limit=limit,
        search=search,
        started=args.started,
        submits=(limit if limit is not None else spec.run.time_limit) is not None,  # it submits after the fits
    )
    print()
    print(result.leaderboard())
    print(f"\nrun folder: {result.run_dir}  (fitted {result.fitted} fold(s), reused {result.reused})")
    failed = _say_failed(result)
    limit = limit if limit is not None else spec.run.time_limit  # the run's, given either way
    if limit is not None:
        from .config import BASELINE_NAME

        if not any(m.status == "ok" and m.name != BASELINE_NAME for m in result.models):
            print(
                f"error: the time limit left no model with all its folds (nothing to blend or submit); give more "
                f"time, or fewer / cheaper models (what was fitted and stopped is in {result.run_dir / 'run.log'})",
                file=sys.stderr,
            )
            return 1
        # what follows the blends (the submission file, the family report) is given 1 % of the limit, at least 1 s
        _select_and_submit(result.run_dir, deadline=args.started + limit - max(1.0, 0.01 * limit))
    if search is not None or spec.search is not None or limit is not None:
        from .report import family_report

        print()
        print(family_report(result.run_dir).text())
    if limit is None and not failed:  # a time-limited run has blended and submitted already
        print(
            f"next: `kaggle-kit blend {result.run_dir} --method all`, then `kaggle-kit submit {result.run_dir} --best` "
            "(the blend or model the blends' verdict names)"
        )
    print(f"time: {time.monotonic() - args.started:.1f} s for the whole command")
    return 1 if failed else 0


def _say_failed(result: RunResult) -> list[str]:
    """One line per model that failed, on stderr; their names. The user asked for every model: any failure fails the
    command (exit status 1; the finished results are kept)."""
    failed = [m for m in result.models if m.status == "failed"]
    for m in failed:
        print(f"failed: {m.name}: {m.error} (full log: {result.run_dir / 'run.log'})", file=sys.stderr)
    return [m.name for m in failed]


def _select_and_submit(run_dir: Path, deadline: float) -> None:
    """Ensemble selection over every finished config (+ the calibrated selection and the stacking guard, each left
    out when it would end after ``deadline``), then the verdict's pick submitted."""
    from .blend import blend_report

    report = blend_report(run_dir, "auto", deadline=deadline)
    print()
    print(report.verdict())
    for note in report.notes:  # a method the time limit left out, a stacker the guard dropped
        print(note)
    _submit_verdict(run_dir, report)


def _submit_verdict(run_dir: Path, report: BlendReport) -> None:
    """Submit what the blend report's verdict picks: the best blend when its nested CV beats the best single model
    on the same held-out folds, else that model; recorded in the run history."""
    from .runtime.store import RunStore
    from .submit import write_submission

    kind, name = report.choice()
    if RunStore(run_dir).read_meta().get("n_test") == 0:  # it failed (exit 2) after every fit and blend
        print(
            f"\nno submission: the run has no test rows (no data.test); the verdict picks {kind} {name!r}: "
            f"`kaggle-kit predict {run_dir} --test FILE --best` predicts a test file with it"
        )
        return
    sub = write_submission(run_dir, blend=name) if kind == "blend" else write_submission(run_dir, name)
    _record_submission(run_dir, name, sub.path)
    print(f"\nsubmission ({kind} {name}): {sub.path}")


def _record_submission(run_dir: Path | str, source: str, path: Path) -> None:
    """Record a written submission in the run history; where the history cannot be written (beside a run folder
    mounted read-only, as a Kaggle dataset), say so and go on: the file is written (the command had failed after
    writing it)."""
    from .report import record_submission

    try:
        record_submission(run_dir, source, path)
    except StoreError as exc:
        print(
            f"warning: {path} is not recorded in the run history ({exc}); `kaggle-kit lb add` and `kaggle-kit "
            "history --submissions` will not know it",
            file=sys.stderr,
        )


def _search(spec: CompetitionSpec, n: int | None) -> SearchSpec:
    """The spec's [search] (with ``n`` configs per family when given), or one over the families of its models, on the
    pipeline its models of that kind read where they all read one (the configs had run on the base encoding, without
    the features the user's models had: another feature set, not shown on the leaderboard)."""
    from .config import MAX_SEARCH_CONFIGS, SearchSpec
    from .errors import ConfigError
    from .presets import PRESET_SEARCH_KINDS
    from .runtime.search import SPACES

    if n is not None and not 1 <= n <= MAX_SEARCH_CONFIGS:  # above it: pydantic's traceback, as the search began
        raise ConfigError(
            f"--search / --n takes the number of configs per family, from 1 to {MAX_SEARCH_CONFIGS}; got {n}"
        )
    if spec.search is not None:
        return spec.search if n is None else spec.search.with_count(n)
    kinds = {m.kind for m in spec.models} or (set(PRESET_SEARCH_KINDS) if spec.preset else set())
    families = [f for f in SPACES if SPACES[f].kind in kinds]
    if not families:
        raise ConfigError(
            "the spec has no [search] table and none of its models' kinds has a search space; add e.g.\n"
            '[search]\nfamilies = ["lightgbm", "xgboost"]\nn_configs = 8'
        )
    overrides = {}
    for family in families:
        pipelines = {m.pipeline for m in spec.models if m.kind == SPACES[family].kind}
        if len(pipelines) == 1 and None not in pipelines:
            overrides[family] = {"pipeline": pipelines.pop()}
    return SearchSpec(families=families, n_configs=n or 8, overrides=overrides)


def _time_limit(limit: float | None) -> float | None:
    """--time-limit, checked (it counts from the command's start, :func:`main`'s first line)."""
    from .errors import ConfigError

    if limit is not None and limit <= 0:
        raise ConfigError(f"--time-limit takes seconds, more than 0; got {limit:g}")
    if limit is not None and not math.isfinite(limit):  # a run without an end: its budget all NaN, folds stopped
        raise ConfigError(f"--time-limit takes seconds, a finite number more than 0; got {limit:g}")
    return limit


def _check_time_to_fit(limit: float | None) -> None:
    """A command's time limit (``--time-limit`` or ``run.time_limit``) must leave time for a fold after the reserve
    kept for what follows the fits (:data:`~kaggle_kit.runtime.search.budget.MIN_RESERVE_S`): refused before the
    data is read. It read the data, fitted nothing and failed. (``run(time_limit=...)`` in Python takes any limit: a
    tiny one assembles what the run folder holds.)"""
    from .errors import ConfigError
    from .runtime.search.budget import MIN_RESERVE_S

    if limit is not None and limit <= MIN_RESERVE_S:
        raise ConfigError(
            f"--time-limit (run.time_limit) must be more than {MIN_RESERVE_S:g} seconds; got {limit:g}: the last "
            f"{MIN_RESERVE_S:g} s of a limit are kept for what follows the fits (the blends, the submission, the "
            "report), so no fold could start. Give the command more time; to submit what the run folder holds "
            "already, use `kaggle-kit blend RUN_DIR` and `kaggle-kit submit RUN_DIR --best`"
        )


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from .leaderboard import leaderboard

    print(leaderboard(args.run_dir))  # the table, and the models a time limit left incomplete
    return 0


def _cmd_submit(args: argparse.Namespace) -> int:
    from .submit import write_submission

    if getattr(args, "best", False):
        from .predict.commands import best_for_submit

        args.model, args.blend = best_for_submit(args.run_dir)
    sub = write_submission(args.run_dir, args.model, args.out, blend=args.blend)
    _record_submission(args.run_dir, args.model or args.blend, sub.path)
    print(f"wrote {sub.path} ({sub.frame.height} rows)")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import ProgressBar, build_report

    files = build_report(args.run_dir, out_dir=args.out, adversarial=not args.no_adversarial, progress=ProgressBar())
    print(files.leaderboard)
    if files.report.families is not None:
        print()
        print(files.report.families.text())
    for note in files.report.notes:
        print(f"note: {note}")
    adv = files.report.adversarial
    if adv is not None and adv.verdict != "none":
        print(adv.message)
    print(f"\nreport: {files.html}\nsummary: {files.markdown}")
    if args.mlflow is not None:
        from .report import log_to_mlflow

        print(f"logged to MLflow: {log_to_mlflow(args.run_dir, tracking_uri=args.mlflow or None)}")
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    from .report import format_history, format_submissions, history_path

    db = history_path(args.runs_root)
    if args.submissions:
        print(format_submissions(db, competition=args.competition))
    else:
        print(format_history(db, competition=args.competition, limit=args.limit))
    return 0


def _cmd_lb_add(args: argparse.Namespace) -> int:
    from .report import add_lb_score, history_path

    sub = add_lb_score(args.submission, args.score, db=history_path(args.runs_root), private=args.private)
    print(f"recorded public LB {args.score} for submission #{sub.id} ({sub.path})")
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    from .init_config import parse_grid, write_config
    from .init_folder import init_inputs

    slug, train = init_inputs(args.slug, args.folder, args.train)
    if args.train is None or train != Path(args.train):
        print(f"competition {slug!r}, training table {train}")
    targets = [t.strip() for t in args.target.split(",") if t.strip()] if args.target else None
    path, why = write_config(
        slug,
        train,
        Path(args.out),
        overwrite=args.force,
        task=args.task,
        target=targets,
        id_column=args.id,
        metric=args.metric,
        preset=args.preset,
        grid=parse_grid(args.grid) if args.grid else None,
    )
    print("\n".join(f"  {line}" for line in why))
    print(f"wrote {path}: check the roles above, then `kaggle-kit run {path}`")
    return 0


def _cmd_offline_wheels(args: argparse.Namespace) -> int:
    from .offline import build_offline_wheels

    wheels = build_offline_wheels(args.out)
    print("\n".join(str(w) for w in wheels))
    print(
        f"\nupload {args.out} as a Kaggle dataset, then in the notebook:\n"
        "  !pip install --no-index --find-links /kaggle/input/<dataset> kaggle_kit"
    )
    return 0


def _cmd_blend(args: argparse.Namespace) -> int:
    from .blend import blend_report
    from .errors import ConfigError

    groups: dict[str, list[str]] = {}
    for text in args.group:
        group, sep, names = text.partition("=")
        members = [n.strip() for n in names.split(",") if n.strip()]
        if not sep or not group.strip() or not members:
            raise ConfigError(f"--group takes NAME=MODEL,MODEL (e.g. --group wide=xgb,lgbm); got {text!r}")
        groups[group.strip()] = members
    options = {"nelder_mead": {"restarts": args.restarts}} if args.restarts is not None else None
    report = blend_report(
        args.run_dir,
        args.method,
        models=_names(args.models),
        name=args.name,
        groups=groups or None,
        options=options,
        seed=args.seed,
        calibrate=args.calibrate,
    )
    print(report.text())
    print(f"\nblends stored in {Path(args.run_dir) / 'blends'}: {', '.join(b.name for b in report.blends)}")
    if args.max_predict_seconds is not None:  # the best blend whose inference time fits (kaggle_kit.predict.speed)
        from .predict.commands import print_within_budget

        print_within_budget(args.run_dir, report, args.max_predict_seconds, args.test_rows)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    import warnings

    from .blend import import_predictions

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imported = import_predictions(
            args.run_dir, args.name, args.oof, args.test, id_column=args.id_column, fold_column=args.fold_column
        )
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    folds = (
        "folds checked"
        if imported.folds_checked
        else f"folds checked on {', '.join(f'fold_r{r}' for r in imported.fold_repeats)} only"
        if imported.fold_repeats
        else "folds NOT checked"
    )
    print(
        f"imported {imported.name!r}: {imported.n_rows} OOF row(s), {imported.n_test} test row(s), {folds}; "
        f"stored in {imported.folder}. Blend it like a model: kaggle-kit blend {args.run_dir}"
    )
    return 0


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from .demo import DEMOS, make_demo

    for name in args.names or list(DEMOS):  # the image demo by name: it pretrains its checkpoint (minutes)
        print(f"{name}: {make_demo(name, args.out, small=args.small)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    """Materialise the demo data, run each demo competition, and write a submission of its best model."""
    from .blend import blend_report
    from .demo import demo_config, make_demo
    from .report import build_report
    from .runtime.runner import run

    failed = []
    for name in args.names or DEMO_CONFIGS:
        spec, config = demo_config(name, args.competitions)
        make_demo(name, spec.resolve(spec.data.train).parent.parent)
        print(f"\n=== {name} ({config})")
        result = run(spec, runs_root=args.runs_root, n_jobs=args.jobs)
        print()
        print(result.leaderboard())
        # a failed model fails the command, as in `kaggle-kit run` (it exited 0); the others are blended
        failed += [f"{name}: {m}" for m in _say_failed(result)]
        blends = blend_report(result.run_dir, "all")
        print()
        print(blends.text())
        _submit_verdict(result.run_dir, blends)
        print(f"report: {build_report(result.run_dir).html}")
    if failed:
        print(f"failed: {len(failed)} model(s) of the demos ({', '.join(failed)}); see above", file=sys.stderr)
    return 1 if failed else 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from .predict.commands import cmd_predict

    return cmd_predict(args)


def _cmd_refit(args: argparse.Namespace) -> int:
    from .predict.commands import cmd_refit

    return cmd_refit(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kaggle-kit", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="fit every model of a competition config on every fold (resumes, never refits)")
    p.add_argument("config", help="competition TOML, e.g. competitions/demo-breast-cancer.toml")
    p.add_argument("--runs-root", default="runs", help="folder holding run folders (default: runs)")
    p.add_argument("--only", help="comma-separated model names to run (the baseline always runs)")
    p.add_argument("--jobs", type=int, default=None, help="parallel (model, fold) tasks (default: run.n_jobs)")
    p.add_argument(
        "--executor",
        choices=["local", "ray"],
        default=None,
        help="where tasks run: local processes, or Ray (pip install 'kaggle-kit[ray]') (default: run.executor)",
    )
    p.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="join a Ray cluster: 'auto' or 'ray://host:port' (implies --executor ray; default: a local Ray)",
    )
    p.add_argument("--verbose", action="store_true", help="print a line per fold (they always go to RUN_DIR/run.log)")
    p.add_argument(
        "--search",
        type=int,
        default=None,
        metavar="N",
        help="also fit N configs per family of the spec's [search] (default families: those of its models)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="end the whole command within this wall-clock time, ensemble selection and submission included "
        "(default: run.time_limit)",
    )
    p.add_argument(
        "--preset",
        choices=["fast", "good", "best"],
        default=None,
        help="add a preset's models, chosen for the data (as preset = ... in the config)",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "search", help="fit a search's configs (default + sampled, per family) as models of the run; resumes"
    )
    p.add_argument("config", help="competition TOML with a [search] table (or models whose kinds have a space)")
    p.add_argument("--n", type=int, default=None, help="configs per family, the default included (default: [search])")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS", help="wall-clock limit")
    p.add_argument("--runs-root", default="runs", help="folder holding run folders (default: runs)")
    p.add_argument("--jobs", type=int, default=None, help="parallel (config, fold) tasks (default: run.n_jobs)")
    p.add_argument("--verbose", action="store_true", help="print a line per fold (they always go to RUN_DIR/run.log)")
    p.add_argument(
        "--preset",
        choices=["fast", "good", "best"],
        default=None,
        help="add a preset's models, chosen for the data (as preset = ... in the config)",
    )
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("leaderboard", help="print the CV leaderboard of a run folder")
    p.add_argument("run_dir")
    p.set_defaults(func=_cmd_leaderboard)

    p = sub.add_parser("submit", help="write a Kaggle submission CSV from a model's or a blend's test predictions")
    p.add_argument("run_dir")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="model name as on the leaderboard")
    which.add_argument("--blend", help="blend name as stored by `kaggle-kit blend` (e.g. nelder_mead)")
    which.add_argument("--best", action="store_true", help="the blend or model the blend report's verdict names")
    p.add_argument("--out", default=None, help="output CSV (default: RUN_DIR/submissions/MODEL.csv or blend-NAME.csv)")
    p.set_defaults(func=_cmd_submit)

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

    p = sub.add_parser(
        "blend",
        help="blend a run's models (Nelder-Mead, mean, rank, hill climbing plain or calibrated, stacking), scored by "
        "nested CV",
    )
    p.add_argument("run_dir")
    p.add_argument(
        "--method",
        default="nelder_mead",
        help="nelder_mead | mean | rank | hill_climb | calibrated_hill_climb | stack, a comma-separated list, all, "
        "or auto (ensemble selection, plain and calibrated, + a stacker kept only when it beats it) (default: "
        "nelder_mead)",
    )
    p.add_argument("--models", help="comma-separated models or imported predictions (default: all but the baseline)")
    p.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME=MODEL,MODEL",
        help="a named group of models, repeatable (e.g. --group wide=xgb,lgbm --group deep=cnn,mlp): the report "
        "shows the best single model, the best of each group and the blend of all groups",
    )
    p.add_argument("--name", help="store the blend under this name (one method only; default: the method's name)")
    p.add_argument("--seed", type=int, default=0, help="seed of the restarts (default: 0)")
    p.add_argument("--restarts", type=int, default=None, help="Nelder-Mead starting points (default: 3)")
    p.add_argument(
        "--calibrate",
        choices=["temperature", "isotonic"],
        default=None,
        help="calibrate each blend's probabilities (a temperature, or isotonic maps one-vs-rest), fitted out of fold "
        "(metric log_loss; not for stack)",
    )
    p.add_argument("--max-predict-seconds", type=float, default=None, help="name the best blend that predicts in time")
    p.add_argument("--test-rows", type=int, default=None, help="rows to predict for --max-predict-seconds")
    p.set_defaults(func=_cmd_blend)

    p = sub.add_parser("import-predictions", help="import OOF + test predictions made elsewhere, to blend them")
    p.add_argument("run_dir")
    p.add_argument("name", help="the name to blend them by")
    p.add_argument("--oof", required=True, help="CSV or parquet: id column + one column per class (or one value)")
    p.add_argument("--test", help="CSV or parquet of the test predictions, same columns")
    p.add_argument("--id-column", default=None, help="the id column's name (default: the run's)")
    p.add_argument(
        "--fold-column",
        default=None,
        help="fold column checked against the run's (default: fold, kfold, folds, fold_id or fold_r0, any case)",
    )
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("report", help="write the HTML report and Markdown summary of a run folder")
    p.add_argument("run_dir")
    p.add_argument("--no-adversarial", action="store_true", help="skip adversarial validation (train vs test)")
    p.add_argument("--out", default=None, help="folder for report.html and report.md (default: RUN_DIR/report)")
    p.add_argument(
        "--mlflow",
        nargs="?",
        const="",
        default=None,
        metavar="URI",
        help="also log the run to MLflow (default store: a local SQLite file beside the runs)",
    )
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("history", help="list past runs (or submissions) recorded in the run history")
    p.add_argument("--runs-root", default="runs")
    p.add_argument("--competition", default=None)
    p.add_argument("--submissions", action="store_true", help="list submissions with their CV and LB scores")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_cmd_history)

    p = sub.add_parser("lb", help="public leaderboard scores of submissions")
    lb = p.add_subparsers(dest="lb_command", required=True, metavar="ACTION")
    q = lb.add_parser("add", help="record the public LB score a submission got")
    q.add_argument("submission", help="the submission CSV (or its id in `kaggle-kit history --submissions`)")
    q.add_argument("score", type=float)
    q.add_argument("--private", type=float, default=None, help="the private LB score, once it is known")
    q.add_argument("--runs-root", default="runs")
    q.set_defaults(func=_cmd_lb_add)

    from .config import Task  # the tasks `init` offers are the kit's, not a copy of them

    p = sub.add_parser(
        "init", help="write a new competition config from its data folder or file (roles inferred and shown)"
    )
    p.add_argument(
        "slug",
        metavar="SLUG|DATA_DIR",
        help="the competition's name (names the config and the run folder), or its data folder (`init .`): its "
        "train.* is read and the competition named after it",
    )
    p.add_argument(
        "folder", nargs="?", default=None, metavar="DATA_DIR", help="the data folder of the competition SLUG"
    )
    p.add_argument(
        "--train",
        default=None,
        help="the training file (default: train.* in DATA_DIR); test.* and sample_submission.* beside it are found",
    )
    p.add_argument("--task", choices=get_args(Task), default=None, help="default: inferred from the target(s)")
    p.add_argument("--target", default=None, help="the target column; several (multilabel / multiregression): a,b,c")
    p.add_argument(
        "--grid",
        default=None,
        help="task distribution: the bins (crps) or quantile levels (pinball), v1,v2,... or first:last:step; "
        "default: from the sample submission's column names, else spanning the target's range",
    )
    p.add_argument("--id", default=None)
    p.add_argument("--metric", default=None)
    p.add_argument(
        "--preset", choices=["fast", "good", "best"], default="good", help="the portfolio of models (default: good)"
    )
    p.add_argument("--out", default="competitions", help="folder for the config (default: competitions)")
    p.add_argument("--force", action="store_true", help="overwrite an existing config")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser("offline-wheels", help="build the wheels to install the kit in an offline Kaggle notebook")
    p.add_argument("out", help="folder to write the wheels into (upload it as a Kaggle dataset)")
    p.set_defaults(func=_cmd_offline_wheels)

    p = sub.add_parser("demo-data", help="write the demo competitions' files (Kaggle layout)")
    p.add_argument(
        "names", nargs="*", help="demo names (default: the table demos; demo-photos by name, it takes minutes)"
    )
    p.add_argument("--out", default="data", help="folder to write into (default: data)")
    p.add_argument("--small", action="store_true", help="fewer images (demo-photos), e.g. for tests")
    p.set_defaults(func=_cmd_demo_data)

    p = sub.add_parser("demo", help="create the demo data, run the demo competitions, write submissions")
    p.add_argument("names", nargs="*", help=f"demo configs to run (default: {' '.join(DEMO_CONFIGS)})")
    p.add_argument(
        "--competitions",
        default=None,
        help="folder with the demo configs, their data paths relative to it (default: the configs the package ships, "
        "their data written to ./data)",
    )
    p.add_argument("--runs-root", default="runs")
    p.add_argument("--jobs", type=int, default=None)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A --time-limit counts from here: the whole command, its data reading, fits, selection and submission. Not from
    # this module's import: a notebook or a test calls main() many times in one process.
    started = time.monotonic()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    at = _command_after_flags(parser, argv)
    if at is not None and not _parses(parser, argv):
        # `kaggle-kit --jobs 2 run CONFIG`: argparse took the flag's value for the command ("invalid choice: '2'")
        _refuse_unknown(parser, argv[at], argv[:at])
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _refuse_unknown(parser, args.command, unknown)
    args.started = started
    return _dispatch(args)


def _command_after_flags(parser: argparse.ArgumentParser, argv: list[str]) -> int | None:
    """Where the command is in ``argv`` when flags none of which is ``kaggle-kit``'s own come before it (a command's
    flag written before the command: ``--jobs 2 run``), else None. A top-level flag as argparse reads it (``-h``,
    ``--help``, an abbreviation such as ``--he``) or ``--`` before the command leaves the line to argparse."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    at = next((i for i, a in enumerate(argv) if a in commands), None)
    if not at or not argv[0].startswith("-"):
        return None
    own = [s for action in parser._actions for s in action.option_strings]
    for arg in argv[:at]:
        name = arg.split("=")[0]
        if arg == "--" or name in own or (name.startswith("--") and any(s.startswith(name) for s in own)):
            return None
    return at


def _parses(parser: argparse.ArgumentParser, argv: list[str]) -> bool:
    """Whether argparse reads ``argv`` without an error or a word left over (a help asked anywhere, as in
    ``kaggle-kit --jobs run -h``, prints the help), said nothing of meanwhile."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return not parser.parse_known_args(argv)[1]
        except SystemExit as exc:
            return exc.code == 0


#: flags of other tools (and of other commands of the kit) a user may type, and this command's flag for them
_OTHER_NAMES = {"--models": "--only", "--model": "--only", "--n-jobs": "--jobs", "--n_jobs": "--jobs"}


def _refuse_unknown(parser: argparse.ArgumentParser, command: str, unknown: list[str]) -> None:
    """argparse's "unrecognized arguments: --models lgbm", with the command's own flag for it: `run --models a,b`
    (blend's flag) means `run --only a,b`."""
    import difflib

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    flags = {flag.lstrip("-"): flag for action in sub._actions for flag in action.option_strings}
    given = unknown[0].split("=")[0]
    close = difflib.get_close_matches(given.lstrip("-"), list(flags), n=1) if given.startswith("-") else []
    same = _OTHER_NAMES.get(given)
    same = same if same in flags.values() else flags[close[0]] if close else None  # compared without their dashes
    hint = f" Did you mean {same!r}?" if same else ""
    if same == given:  # `kaggle-kit --verbose run CONFIG`: the command's own flag, written before the command
        hint = f" {given} is a flag of `kaggle-kit {command}`: write it after `{command}`"
    sub.error(f"unrecognized arguments: {' '.join(unknown)}.{hint}")


#: what an interrupt (Ctrl-C, a notebook's stop button) keeps, by command
_INTERRUPTED = {
    "run": "finished folds are kept; run the same command again to resume",
    "blend": "the blends fitted before it are stored (each as it is fitted; a stacker once the stacking guard keeps "
    "it); for the rest run it again, --method naming the methods left",
}


def _dispatch(args: argparse.Namespace) -> int:
    from .runtime.progress import install_plain_warnings

    try:
        with warnings.catch_warnings():  # restored on return: a notebook calling main() keeps its own format
            warnings.simplefilter("default", DataWarning)  # each data warning once per place, never silenced
            install_plain_warnings()
            return int(args.func(args))
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: {_INTERRUPTED.get(args.command, _INTERRUPTED['run'])}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kaggle-kit leaderboard RUN | head`: the reader left; no traceback, as for SIGPIPE
        if not _output_closed():  # a pipe of the command's own (a worker's, a library's): a failure, not the reader
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush would raise again
        print("stopped: the output was closed (its reader ended); nothing finished is lost", file=sys.stderr)
        return 141


def _output_closed() -> bool:
    """Whether standard output is a pipe whose reader left (a BrokenPipeError from another pipe, a worker
    process's, is a failure to show): on POSIX the pipe itself says so (POLLERR); elsewhere any piped output."""
    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False  # a terminal or a file: the broken pipe was another one
    except (OSError, ValueError, AttributeError):  # no real file behind sys.stdout (a notebook's)
        return False
    if not hasattr(select, "poll"):  # pragma: no cover (Windows)
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
