"""Blend a run's stored predictions: what ``kaggle-kit blend`` calls, and a notebook with it.

Example::

    from kaggle_kit.blend import blend_report, fit_blend
    result = fit_blend("runs/demo-breast-cancer", "nelder_mead")        # stored in runs/<run>/blends/nelder_mead/
    print(result.weight_map, result.cv, result.nested_cv, result.gap)
    report = blend_report("runs/demo-breast-cancer", "all", groups={"trees": ["xgb", "lgbm"], "linear": ["logreg"]})
    print(report)                                                      # leaderboard, groups, verdict, timing
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..config import names_of
from ..errors import ConfigError, KitError, StoreError, allowed
from ..leaderboard import score_text
from ..runtime.scoring import score_folds
from ..runtime.store import RunStore, check_writable
from .engine import BlendOutcome, blend_predictions, stacking_guard, stored_guard
from .inputs import RunPredictions, blendable_keys, current_keys, load_run, stale_reason, unchecked_imports
from .nested import OutOfTime
from .registry import BLENDERS, applicable, make_blender
from .report import BlendReport, oof_correlation
from .result import BlendResult
from .storage import (
    BLENDS,
    check_name,
    read_blend,
    read_blend_predictions,
    reblend_command,
    write_blend,
)
from .threshold import oof_threshold

#: The methods ``"all"`` stands for, in the order they are reported (each where the metric can score it and its
#: :meth:`~.base.Blender.by_default` agrees: ``calibrated_hill_climb`` where the selection searches log loss).
ALL_METHODS: tuple[str, ...] = ("mean", "rank", "nelder_mead", "hill_climb", "calibrated_hill_climb", "stack")
#: What ``"auto"`` stands for: ensemble selection over every model (also with each model's recalibrated twin), and
#: one stacking level kept only when its nested CV beats the selection's (:func:`~.engine.stacking_guard`).
AUTO_METHODS: tuple[str, ...] = ("hill_climb", "calibrated_hill_climb", "stack")
#: Under log loss, ``"all"`` and ``"auto"`` also run ``hill_climb`` with a temperature fitted out of fold, stored
#: under this name: the selection's weighted mean of probabilities cannot sharpen them, nor can the calibrated
#: twins (a logistic regression penalised towards uniform probabilities), and fold-pooled test predictions can be
#: far from sharp enough (digits, 3 splits: hidden log loss 0.02668 -> 0.02137; benchmarks/RESULTS.md section 18)
TEMPERED = "hill_climb_temperature"


def fit_blend(
    run_dir: Path | str,
    method: str = "nelder_mead",
    *,
    models: Sequence[str] | str | None = None,
    name: str | None = None,
    options: Mapping[str, Any] | None = None,
    y: np.ndarray | None = None,
    seed: int = 0,
    save: bool = True,
    calibrate: str | None = None,
) -> BlendResult:
    """Blend ``models`` of a run (default: all finished models but the baseline, and imported predictions) with
    ``method`` and, unless ``save=False``, store it as ``RUN_DIR/blends/<name>/`` (``name`` defaults to the
    method). ``y`` is the training target (class codes); by default the run folder's ``target.parquet``.
    ``calibrate="temperature"`` or ``"isotonic"``: calibrate the blend (log loss only), fitted out of fold."""
    preds = load_run(run_dir, names_of(models), y=y)  # a str: one name, or several comma-separated
    if save:
        check_blend_name(preds, name or method)
        check_blends_writable(preds.root)
    outcome = _blend(preds, method, name, options, seed, calibrate)
    if save:
        _save(preds, outcome)
    return outcome.result


def blend_report(
    run_dir: Path | str,
    methods: str | Sequence[str] = "all",
    *,
    models: Sequence[str] | str | None = None,
    name: str | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    group_method: str | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    y: np.ndarray | None = None,
    seed: int = 0,
    save: bool = True,
    calibrate: str | None = None,
    deadline: float | None = None,
) -> BlendReport:
    """Run several blend methods on the same models and report them beside the single models.

    ``methods``: ``"all"`` (every method the metric can score: :data:`ALL_METHODS`), ``"auto"`` (ensemble selection,
    plain and calibrated, and stacking), a comma-separated string or a list (``"all"`` and ``"auto"`` add
    :data:`TEMPERED` under log loss); each blend is stored under its method's
    name, or ``name`` when there is one method. Whenever both ``stack`` and ``hill_climb`` are run, the stacker is
    kept only when its honest (nested-CV) score beats the selection's; otherwise it is neither stored nor ranked,
    and the report says so with both scores (:attr:`BlendReport.dropped`). ``groups``
    (e.g. ``{"wide": ["xgb", "lgbm"], "deep": ["cnn", "mlp"]}``) adds, with ``group_method``, a blend of each
    group's models and one of all groups' models (default: the one method given, else ``nelder_mead``); the models
    default to the groups' union. ``options`` maps a
    method to its options, e.g. ``{"nelder_mead": {"restarts": 8}}``. ``calibrate="temperature"`` (or ``"isotonic"``)
    calibrates every blend (log loss only; not a stacker, which calibrates already), fitted out of fold.
    ``deadline`` (``time.monotonic()``, a time-limited command's): every method after the first is left out, with a
    note, once its nested CV's fold fits say it would end after the deadline; the first always runs.
    """
    groups = {check_name(g, "group"): tuple(names_of(names) or ()) for g, names in (groups or {}).items()}
    if groups and models is None:
        models = list(dict.fromkeys(n for names in groups.values() for n in names))
    preds = load_run(run_dir, names_of(models), y=y)  # a str: one name, or several comma-separated
    for group, names in groups.items():
        outside = [n for n in names if n not in preds.names]
        if outside or not names:
            raise ConfigError(
                f"group {group!r} names {allowed(outside) if outside else 'no model'}; a group lists models of the "
                f"blend: {allowed(preds.names)}"
            )
    chosen = _methods(methods, preds)
    if name is not None and len(chosen) != 1:
        raise ConfigError(f"a blend name ({name!r}) goes with one method; got {len(chosen)}: {', '.join(chosen)}")
    for method in options or {}:
        make_blender(method, (options or {})[method])  # unknown methods and options fail before any work
    notes = []
    if models is None and (not_run := RunStore(preds.root).not_run_note()) is not None:  # `run --only` so far
        notes.append(f"Note: {not_run}.")
    if isinstance(methods, str) and methods == "all" and "rank" not in chosen:
        notes.append(f"(rank average left out: {preds.metric.name!r} is not a rank metric.)")
    group_method = group_method or (chosen[0] if len(chosen) == 1 else "nelder_mead")
    # (method, stored name, calibration) in order: the tempered selection right after the plain one
    runs = [(m, name, calibrate) for m in chosen]
    taken = set(current_keys(preds.root))
    if name is None and len(chosen) > 1:  # a method's name taken by a model: --name cannot help with several methods
        for i, m in enumerate(chosen):
            if m in taken:  # it had stopped every blend (and a time-limited run's submission, after all its fits)
                runs[i] = (m, f"{m}_blend", calibrate)
                notes.append(f"({m!r} stored as '{m}_blend': {m!r} names a model or imported predictions of the run.)")
    if methods in ("all", "auto") and preds.metric.name == "log_loss" and "hill_climb" in chosen:
        if TEMPERED in taken:  # a model (or imported predictions) took the name
            notes.append(f"({TEMPERED!r} left out: it is the name of a model of the run.)")
        else:
            runs.insert(chosen.index("hill_climb") + 1, ("hill_climb", TEMPERED, "temperature"))
    # the default sets: each seed bag's mean beside them (a time limit's bags of its best configs): a bag member's CV
    # is its seed's luck, the best of 5 seeds' an optimistic one, and the verdict would submit that seed alone
    bags = _seed_bags(preds) if isinstance(methods, str) and methods in ("all", "auto") and name is None else {}
    for bag in [b for b in bags if b in taken]:
        notes.append(f"(the mean of its seed bag left out: {bag!r} names a model of the run.)")
        del bags[bag]
    if save:
        for blend_name in [n or m for m, n, _ in runs] + [f"{g}_{group_method}" for g in groups] + list(bags):
            check_blend_name(preds, blend_name)
        check_blends_writable(preds.root)

    # each blend is stored as soon as it is fitted, so that a Ctrl-C (a notebook's interrupt) or a later method's
    # failure keeps it; a stacker waits for the guard when the selection it must beat is among the methods
    guarded = "hill_climb" in chosen
    outcomes = []
    for i, (m, blend_name, calibration) in enumerate(runs):
        opts = (options or {}).get(m)
        try:
            outcomes.append(_blend(preds, m, blend_name, opts, seed, calibration, deadline if i else None))
        except OutOfTime as exc:
            notes.append(f"{blend_name or m!r} left out: {exc}.")
            continue
        if save and not (guarded and m == "stack"):
            _save(preds, outcomes[-1])
    outcomes, dropped = stacking_guard(outcomes, preds.metric)
    for outcome in outcomes if save and guarded else ():
        if outcome.result.method == "stack":  # it beat the selection
            _save(preds, outcome)
    for blend, beaten_by in dropped:
        notes.append(
            f"Stacking dropped (stacked-overfitting guard): {blend.name!r} scores {score_text(blend.mean)} by nested "
            f"CV, which does not beat the ensemble selection {beaten_by.name!r} ({score_text(beaten_by.mean)}); it is "
            f"neither stored nor ranked{_earlier_stacker(preds, blend.name, beaten_by, save)}."
        )
    for bag, members in bags.items():
        outcomes.append(_blend(preds.select(members), "mean", bag, None, seed, calibrate))
        if save:
            _save(preds, outcomes[-1])
    group_blends: dict[str, str] = {}
    if groups:
        opts = (options or {}).get(group_method)
        for group, names in groups.items():
            if len(names) == 1:  # a blend of one model is that model: the group's best model says it all
                continue
            out = _blend(preds.select(names), group_method, f"{group}_{group_method}", opts, seed, calibrate)
            outcomes.append(out)
            if save:
                _save(preds, out)
            group_blends[group] = out.result.name
        union = list(dict.fromkeys(n for names in groups.values() for n in names))
        reuse = next((o for o in outcomes if o.result.method == group_method and list(o.result.models) == union), None)
        if reuse is None:
            reuse = _blend(
                preds.select(union), group_method, f"{'+'.join(groups)}_{group_method}", opts, seed, calibrate
            )
            outcomes.append(reuse)
            if save:
                _save(preds, reuse)
        group_blends["+".join(groups)] = reuse.result.name
    blends = tuple(o.result for o in outcomes)
    tasks = blends[0].folds if blends else tuple(preds.folds.tasks())
    return BlendReport(
        metric=preds.metric.name,
        models=tuple(preds.results[n] for n in preds.names),
        model_folds={n: score_folds(preds.oof[n], preds.y, preds.folds, preds.metric, tasks) for n in preds.names},
        dropped=tuple(dropped),
        model_thresholds={
            n: t for n in preds.names if (t := oof_threshold(preds.metric, preds.y, preds.oof[n])) is not None
        },
        blends=blends,
        tasks=tuple(preds.folds.tasks()),
        correlation=oof_correlation(preds.oof),
        train_seconds=float(sum(preds.results[n].fit_seconds for n in preds.names)),
        blend_seconds=float(sum(b.fit_seconds for b in blends)),
        groups=groups,
        group_blends=group_blends,
        notes=tuple(notes),
        unchecked=tuple(n for n in unchecked_imports(preds.root) if n in preds.names),
    )


def _earlier_stacker(preds: RunPredictions, name: str, selection: BlendResult, stored: bool) -> str:
    """What becomes of a blend stored under a dropped stacker's ``name`` by an earlier call: it is kept (nothing
    computed is lost: it had been deleted, a stack over other models with it, which may be the run's best), and
    ranked by ``submit --best`` and the report as stored blends are, through the guard over stored blends
    (:func:`~.engine.stored_guard`): left out where a selection over its models, this call's, scores at least as
    well (``stored``: this call stored it)."""
    try:
        earlier = read_blend(preds.root, name)
    except KitError:
        return ""
    models = ", ".join(map(repr, sorted(earlier.models)))
    what = f" (the blend {name!r} stored by an earlier call (over {models}) is kept"
    if stored and stored_guard([earlier, selection], preds.metric)[1]:
        return what + f", left out of `submit --best` and the report: it does not beat {selection.name!r} either)"
    return what + ": `submit --best` and the report rank it, unless a stored hill_climb over its models scores as well)"


def _seed_bags(preds: RunPredictions) -> dict[str, list[str]]:
    """``<config>_bag`` -> the config and its seed bags (run.json's ``bags``: a time limit refitted its best configs
    with other seeds), for each bag whose models are all among ``preds``' and where averaging means something."""
    if not applicable("mean", preds.metric):
        return {}
    try:
        recorded = RunStore(preds.root).read_meta().get("bags") or {}
    except StoreError:
        return {}
    out = {}
    for config, bag in recorded.items():
        members = [str(n) for n in bag.get("models") or []]
        if len(members) > 1 and all(n in preds.names for n in members):
            first = preds.oof[members[0]]
            if any(not np.array_equal(preds.oof[n], first) for n in members[1:]):  # a seed-blind kind's are copies
                out[f"{config}_bag"] = members
    return out


def _methods(methods: str | Sequence[str], preds: RunPredictions) -> list[str]:
    if isinstance(methods, str):
        if methods in ("all", "auto"):
            chosen = ALL_METHODS if methods == "all" else AUTO_METHODS
            return [m for m in chosen if applicable(m, preds.metric) and BLENDERS[m].by_default(preds.metric)]
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    if not methods:
        raise ConfigError(f"no blend method given; choose from {allowed(BLENDERS)}, 'auto' or 'all'")
    for m in methods:
        make_blender(m)  # unknown names fail here, listing the methods
    return list(dict.fromkeys(methods))


def check_blend_name(preds: RunPredictions, name: str) -> None:
    """A blend may not take the name of a model or of imported predictions: names are unique across all three."""
    check_name(name, "blend")
    taken = set(current_keys(preds.root))
    if name in taken:
        raise ConfigError(
            f"the blend name {name!r} is the name of a model (or imported predictions) of the run; names are unique "
            f"across models and blends: give the blend another name (--name {name}_blend)"
        )


def check_blends_writable(root: Path) -> None:
    """A blend is stored in its run folder: one mounted read-only (a run uploaded as a Kaggle dataset) is refused
    before any blend is fitted, with the ways out: the command line's (a copy) and Python's (a copy, or no store)."""
    copy = f"/kaggle/working/{root.name}"
    check_writable(
        root / BLENDS,
        "the blends",
        f"a blend is stored in its run folder: copy the run folder somewhere writable and blend the copy (on Kaggle: "
        f"`cp -r {str(root)!r} /kaggle/working/`, then `kaggle-kit blend {copy}`; shutil.copytree({str(root)!r}, "
        f"{copy!r}) in Python), or, in Python, blend without storing: save=False",
    )


def _blend(
    preds: RunPredictions,
    method: str,
    name: str | None,
    options: Mapping[str, Any] | None,
    seed: int,
    calibrate: str | None = None,
    deadline: float | None = None,
) -> BlendOutcome:
    if name is not None:
        check_name(name, "blend")
    outcome = blend_predictions(
        preds.oof,
        preds.y,
        preds.folds,
        preds.metric,
        method,
        test=preds.test,
        options=options,
        name=name,
        seed=seed,
        model_keys=preds.keys,
        calibrate=calibrate,
        deadline=deadline,
    )
    # what the run could blend now, weighed or not: a model finished later is named by the report (not a file time,
    # which a resumed run, rewriting every model's summary, or a copy of the folder changes)
    return replace(outcome, result=replace(outcome.result, run_models=blendable_keys(preds.root)))


def _save(preds: RunPredictions, outcome: BlendOutcome) -> None:
    oof = _frame(preds.train_ids, outcome.oof, preds.columns)
    test = _frame(preds.test_ids, outcome.test, preds.columns) if outcome.test is not None else None
    write_blend(RunStore(preds.root), outcome.result, oof, test, outcome.level2)


def _frame(ids: pl.Series | None, values: np.ndarray, columns: Sequence[str]) -> pl.DataFrame:
    assert ids is not None
    data: dict[str, Any] = {ids.name: ids}
    for j, column in enumerate(columns):
        data[column] = pl.Series(column, values[:, j], dtype=pl.Float32)
    return pl.DataFrame(data)


def blend_test_predictions(run_dir: Path | str, name: str) -> pl.DataFrame:
    """The stored test predictions of blend ``name``, refusing a blend whose models have been refit since
    (their keys changed) or whose imported predictions were replaced."""
    result = read_blend(run_dir, name)
    why = stale_reason(result.models, result.model_keys, current_keys(run_dir))
    if why:
        raise StoreError(f"the blend {name!r} was {why}; blend again: {reblend_command(run_dir, result)}")
    return read_blend_predictions(run_dir, name, "test")
