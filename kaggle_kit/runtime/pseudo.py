"""Pseudo-labelling (``[pseudo_label]``): confident test predictions become training rows of new models.

After the run's models are fitted, each model named in ``pseudo_label.models`` is fitted again, fold by fold, as
the new model ``<model>@pl1`` (its own content key and folder in the store, a row of the leaderboard like any other):
each fold trains on its own training rows *plus* the test rows the source predicts with a probability of at least
``threshold`` for their most probable class, labelled with that class (or, ``soft = true``, with the probabilities:
each row once per class, weighted by its probability, which a model fitted on log loss turns into cross-entropy
against the soft targets: the GBDT kinds take weights; the nets take the probabilities as cross-entropy's
targets). Round ``r > 1`` labels with the mean of round ``r - 1``'s models (``<model>@pl<r>``).

Honest OOF: a fold's validation rows are its own training-set rows only, never a test row, and its pseudo labels come
from the source's model *of the same fold* (its ``test.npy``): a fold model that never saw the fold's validation rows,
so no validation row's label reaches them through the pseudo labels either. (A blend source is fitted per fold as its
nested CV fits it: a stacker's level-2 model of that fold, or its weights and calibration fitted again on the fold's
training rows' OOF, applied to its models' fold test predictions.) The feature pipeline is fitted on the real
training rows only; the pseudo rows are encoded as test rows are. What each fold was given is kept beside it
(``pseudo/r{r}_f{k}.npz``), and the key hashes the source's keys, the round and the settings: a rerun refits nothing,
a changed source refits its pseudo-labelled models; ``--only`` fits no round, and keeps the rounds it would reuse
listed.

``pseudo.json`` in the run folder records each pseudo-labelled model's CV beside its base model's and the source's:
the run's notes and ``kaggle-kit report`` say whether it helped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..config import ModelSpec, spec_hash
from ..errors import ConfigError, allowed, did_you_mean
from ..metrics import Metric
from ..models import make_adapter
from .executors import Context, Task, pinned_threads
from .pseudo_labels import (
    BlendSource,
    LabelsOf,
    LabelSource,
    ModelSource,
    PreviousRound,
    confident,
    first_source,
    hard_votes,
    source_models,
    top_probability,
)
from .pseudo_rows import pseudo_path, read_pseudo_rows, write_pseudo_rows
from .store import FoldResult, ModelResult, RunStore, atomic_write

if TYPE_CHECKING:
    from ..blend.result import BlendResult
    from .runner import FitOutcome, RunSession

TAG = "@pl"
RECORD = "pseudo.json"


def pseudo_name(model: str, round_: int) -> str:
    """The pseudo-labelled model of ``model`` in round ``round_``: ``lgbm@pl1``."""
    return f"{model}{TAG}{round_}"


def pseudo_base(name: str) -> str | None:
    """The model a pseudo-labelled model's name (``lgbm@pl1``) refits (``lgbm``); None for any other name."""
    base, tag, round_ = name.rpartition(TAG)
    return base if tag and base and round_.isdigit() else None


@dataclass(frozen=True)
class PseudoPlan:
    """``[pseudo_label]`` checked against the run: the source (a model or a stored blend) and the models to refit."""

    source: str
    source_kind: Literal["model", "blend"]
    models: tuple[ModelSpec, ...]
    threshold: float
    soft: bool
    rounds: int
    blend: BlendResult | None = None


def plan_pseudo(session: RunSession) -> PseudoPlan | None:
    """Check ``[pseudo_label]`` before anything is fitted; None when the spec has none. Errors name the key."""
    pseudo = session.spec.pseudo_label
    if pseudo is None:
        return None
    if session.data.test is None:
        raise ConfigError(
            "pseudo_label labels test rows, and the run has no test rows: set data.test (or pass test=) or remove "
            "[pseudo_label]"
        )
    from ..blend.storage import blend_names, read_blend

    models = {m.name: m for m in session.spec.models}
    blends = blend_names(session.store.root) if session.store.exists() else []
    blend: BlendResult | None = None
    if pseudo.source in models:
        kind: Literal["model", "blend"] = "model"
        default = [pseudo.source]
    elif pseudo.source in blends:
        kind, blend = "blend", read_blend(session.store.root, pseudo.source)
        from ..blend.registry import make_blender

        if make_blender(blend.method, blend.options).needs_rank_metric:
            raise ConfigError(
                f"pseudo_label.source = {pseudo.source!r} is a {blend.method!r} blend, whose output is a rank score, "
                "not a probability: a threshold on it takes a share of the test rows however sure the models are, "
                "and soft labels would be ranks; name a model, or a blend of probabilities (mean, nelder_mead, "
                "hill_climb, stack)"
            )
        outside = [m for m in blend.models if m not in models]
        labelled = [m for m in outside if pseudo_base(m) is not None]
        if labelled:
            raise ConfigError(
                f"pseudo_label.source = {pseudo.source!r} blends pseudo-labelled model(s) {allowed(labelled)}, which "
                "round 1 would have to fit before it labels with them; blend the spec's models only and name that "
                "blend, and set pseudo_label.rounds = 2 (or more) to label with the pseudo-labelled models"
            )
        if outside:
            raise ConfigError(
                f"pseudo_label.source = {pseudo.source!r} blends {allowed(outside)}, which are not models of the spec "
                "(imported predictions have no fold models to label with); blend the spec's models and name that blend"
            )
        stale = [m for m in blend.models if blend.model_keys.get(m) not in _versions(session, models[m])]
        if stale:
            raise ConfigError(
                f"pseudo_label.source = {pseudo.source!r} was blended from other versions of {allowed(stale)} than "
                f"this spec fits; run, then blend again (`kaggle-kit blend {session.store.root} --method "
                f"{blend.method} --name {blend.name}`), then run again"
            )
        default = list(blend.models)
    else:
        known = [*models, *blends]
        raise ConfigError(
            f"pseudo_label.source = {pseudo.source!r} is neither a model of the spec nor a blend stored in the run "
            f"folder; models: {allowed(models)}{', blends: ' + allowed(blends) if blends else ''}."
            f"{did_you_mean(pseudo.source, known)} (A blend must be made by `kaggle-kit blend` before the run that "
            "uses it.)"
        )
    chosen = pseudo.models or default
    for name in chosen:
        if name not in models:
            raise ConfigError(
                f"pseudo_label.models names {name!r}, which is not a model of the spec; models: {allowed(models)}."
                f"{did_you_mean(name, list(models))}"
            )
        reads = models[name].embeddings
        if reads is not None:  # the spec's own check sees its names only, not a blend's models (the default)
            raise ConfigError(
                f"pseudo_label would refit model {name!r}, which reads the out-of-fold embeddings of {reads!r}: test "
                "rows have no out-of-fold embedding to train on; leave it out of pseudo_label.models"
            )
        adapter = make_adapter(models[name])
        takes_soft = getattr(adapter, "sample_weights", False) or getattr(adapter, "soft_targets", False)
        if pseudo.soft and not takes_soft:
            raise ConfigError(
                f"pseudo_label.soft = true trains on rows weighted by their probabilities, which model {name!r} (kind "
                f"{models[name].kind!r}) cannot take; use a GBDT kind (xgboost, lightgbm, catboost) or a net, set "
                "soft = false, or leave the model out of pseudo_label.models"
            )
    return PseudoPlan(
        pseudo.source, kind, tuple(models[n] for n in chosen), pseudo.threshold, pseudo.soft, pseudo.rounds, blend
    )


def _versions(session: RunSession, model: ModelSpec) -> set[str]:
    """The keys of ``model`` that the run may fit and list: the spec's, and the one run.json lists where a time limit
    shortened it (the run resumes it at that size)."""
    from .search.recorded import Recorded

    fitted = Recorded.read(session.store).as_fitted(model, session.key)
    return {session.key(model), *((session.key(fitted),) if fitted is not None else ())}


def fit_pseudo_fold(ctx: Context, task: Task) -> FoldResult:
    """``fold_fit.fit_fold`` with the pseudo-labelled rows the driver stored for this fold (worker side)."""
    from .fold_fit import fit_fold

    return fit_fold(ctx, task, read_pseudo_rows(pseudo_rows_file(ctx.store, task)))


def pseudo_rows_file(store: RunStore, task: Task) -> Path:
    """The file of ``task``'s pseudo-labelled rows in ``store``, written by the driver before the task runs."""
    return pseudo_path(store.model_dir(task.model.name, task.key), task.repeat, task.fold)


#: the store files a fit reads besides the data: a Ray task, fitted in a scratch store on its node, is handed them
#: (:func:`kaggle_kit.runtime.ray_executor.store_inputs`)
fit_pseudo_fold.reads_from_store = lambda store, task: [pseudo_rows_file(store, task)]  # type: ignore[attr-defined]


def run_pseudo(session: RunSession, plan: PseudoPlan, outcome: FitOutcome, deadline: float | None = None) -> FitOutcome:
    """Fit every round of ``plan`` (folds already in the store are reused) and add its models to the outcome, the
    run's ``run.json`` and ``pseudo.json``. ``deadline`` (a time limit's, ``time.monotonic()``): a round with folds
    to fit starts only while the time left exceeds what its base models' folds took (a round fits at least as many
    rows), else the rounds stop there with a note."""
    from .runner import FitOutcome, _assemble

    store, folds, metric = session.store, session.folds, session.metric
    done = {r.name: r for r in outcome.results}
    failed = [n for n in source_models(plan) if n not in done or done[n].status != "ok"]
    if failed:  # every fold of the source labels: a fold it lacks has no labels (a time limit cut it, a failure)
        why = "; ".join(f"{n!r}: {done[n].why}" if n in done else f"{n!r}: not run" for n in failed)
        note = (
            f"pseudo-labelling skipped: its source did not finish in this run ({why}), and each fold's labels come "
            f"from the source's model of that fold; {done[failed[0]].rerun if failed[0] in done else 'run it'}"
        )
        return FitOutcome(outcome.results, outcome.fitted, outcome.reused, (*outcome.notes, note))
    moved = [m for m in source_models(plan) if plan.blend is not None and plan.blend.model_keys.get(m) != done[m].key]
    if moved:  # the run fitted another version than the blend's (a shortened model refitted at full size)
        assert plan.blend is not None
        note = (
            f"pseudo-labelling skipped: its source, blend {plan.source!r}, was blended from other versions of "
            f"{allowed(moved)} than this run fitted; blend again (`kaggle-kit blend {store.root} --method "
            f"{plan.blend.method} --name {plan.source}`), then run again"
        )
        return FitOutcome(outcome.results, outcome.fitted, outcome.reused, (*outcome.notes, note))
    labels: LabelSource = first_source(session, plan, {n: done[n].key for n in source_models(plan)})
    source = LabelsOf.first(plan, done)  # what labels the round: its name in the record and the notes
    results, records, extra_notes = list(outcome.results), [], []
    fitted = reused = 0
    for round_ in range(1, plan.rounds + 1):
        if (plan.blend is None or round_ > 1) and all(hard_votes(labels.fold(r, k)) for r, k in folds.tasks()):
            of = f"{source.kind} {source.name!r}" if round_ == 1 else f"{source.kind}'s {source.name!r}"
            votes = (
                f"pseudo-labelling {'skipped' if round_ == 1 else f'stopped before round {round_}'}: {of} predicts "
                "hard votes (every test row one class at probability 1: a classifier without predict_proba, such as "
                "RidgeClassifier or LinearSVC, under a label metric), which say nothing of how sure it is: every test "
                "row would pass any threshold; label with a model that predicts probabilities"
            )
            session.say(votes)
            extra_notes.append(votes)
            break
        specs = _round_specs(session, plan, round_, labels.fingerprint)
        tasks: list[Task] = []
        for _, model, key in specs:
            found = {(r, k): store.finished(model.name, key, r, k) for r, k in folds.tasks()}
            kept = [f for f in found.values() if f is not None]
            reused += len(kept)
            threads = pinned_threads(model, kept)  # a resumed model's folds: all fitted on one thread count
            for (r, k), fold in found.items():
                if fold is not None:
                    continue
                path = pseudo_path(store.model_dir(model.name, key), r, k)
                if not path.exists():  # a killed run's file is the same (deterministic): kept
                    write_pseudo_rows(path, confident(labels.fold(r, k), plan.threshold, plan.soft))
                # pretrained: from the config's folder
                tasks.append(Task(session.resolved(model), key, r, k, threads=threads))
        if tasks and deadline is not None:
            need = sum(done[b.name].fit_seconds for b in plan.models if b.name in done)
            left = deadline - time.monotonic()
            if need >= left:
                why = (
                    "the time limit's fitting time is spent"
                    if left <= 0
                    else f"the time limit leaves {left:.0f} s to fit in, and the round refits "
                    f"{allowed(b.name for b in plan.models)}, whose folds took {need:.0f} s without pseudo rows"
                )
                stopped = (
                    f"pseudo-labelling stopped before round {round_} of {plan.rounds}: {why}; rerun with a longer "
                    "--time-limit (every finished fold is reused)"
                )
                session.say(stopped)
                extra_notes.append(stopped)
                break
        if tasks:
            session.say(f"pseudo-labelling round {round_}: fitting {len(tasks)} fold(s) of {len(specs)} model(s)")
        session.start(len(tasks))
        # with the run's deadline (a fold running then is stopped, nothing of it stored), in the run's pool of
        # workers (a fold can be stopped by ending its worker, even with one job) or its Ray
        outcomes = session.run_tasks(tasks, deadline, fit=fit_pseudo_fold) if tasks else None
        errors = outcomes.errors if outcomes is not None else {}
        scores = outcomes.scores if outcomes is not None else {}
        # the folds now in the store, as the runner counts them (a failed model's planned folds were counted)
        fitted += sum(store.finished(t.model.name, t.key, t.repeat, t.fold) is not None for t in tasks)
        made = []
        for base, model, key in specs:
            error, known = errors.get(model.name), scores.get((model.name, key))
            # under a deadline, folds a model lacks without an error are the deadline's (stopped, not started)
            late = "time limit" if deadline is not None else None
            result = _assemble(store, model, key, session.data, folds, metric, error, late, known)
            results.append(result)
            made.append((model.name, key))
            finished = [store.finished(model.name, key, r, k) for r, k in folds.tasks()]
            counts = [f.n_pseudo for f in finished if f is not None]
            record = _record(result, base.name, round_, plan, done, counts, key, source)
            if counts and not any(counts):  # the threshold took no test row: the model is its base model refitted
                record["most_confident"] = max(top_probability(labels.fold(r, k)) for r, k in folds.tasks())
            records.append(record)
        short = [r.name for r in results[-len(made) :] if r.status == "incomplete"]
        if short:  # the deadline stopped the round: its models are incomplete (not ranked, blended nor submitted)
            stopped = (
                f"pseudo-labelling stopped in round {round_} of {plan.rounds}: the time limit ended the fits before "
                f"{allowed(short)} had all their folds (incomplete: not ranked, blended or submitted); rerun with a "
                "longer --time-limit (every finished fold is reused)"
            )
            session.say(stopped)
            extra_notes.append(stopped)
            break
        failed_now = [name for name, _ in made if name in errors]
        if failed_now:  # a later round would label with a model that failed
            if round_ < plan.rounds:
                later = (
                    f"round {plan.rounds} was"
                    if round_ + 1 == plan.rounds
                    else f"rounds {round_ + 1}-{plan.rounds} were"
                )
                stopped = (
                    f"pseudo-labelling stopped after round {round_} of {plan.rounds}: {allowed(failed_now)} failed, "
                    f"and round {round_ + 1} would label with it; {later} not fitted (a rerun fits them, reusing every "
                    "finished fold)"
                )
                session.say(stopped)
                extra_notes.append(stopped)
            break
        labels = PreviousRound(store, made)
        source = LabelsOf.round(round_, results[-len(made) :])
    _add_to_meta(store, [(r["name"], r["key"], r["kind"]) for r in records])
    atomic_write(store.root / RECORD, json.dumps({"pseudo_label": records}, indent=1).encode())
    notes = [*(pseudo_line(r, metric) for r in records), *extra_notes]
    return FitOutcome(tuple(results), outcome.fitted + fitted, outcome.reused + reused, (*outcome.notes, *notes))


def _round_specs(
    session: RunSession, plan: PseudoPlan, round_: int, fingerprint: Any
) -> list[tuple[ModelSpec, ModelSpec, str]]:
    """Round ``round_``'s ``(base model, pseudo-labelled model, key)``s, labelled by what ``fingerprint`` names. A
    base model is refitted as the run lists it: at the size a time limit shortened it to, where it did."""
    from .search.recorded import Recorded

    recorded = Recorded.read(session.store)
    specs = []
    for base in plan.models:
        fitted = recorded.as_fitted(base, session.key) or base
        model = fitted.model_copy(update={"name": pseudo_name(base.name, round_)})
        key = spec_hash(
            {"model": session.key(model), "round": round_, "threshold": plan.threshold, "soft": plan.soft}
            | {"labels": fingerprint}
        )
        specs.append((base, model, key))
    return specs


def keep_pseudo(session: RunSession) -> list[str]:
    """``--only`` fits no pseudo-labelling round, and run.json is written again with the models it lists: list again
    each round's pseudo-labelled models whose every fold is stored for the spec's sources as they are now (what a full
    run would reuse), so that the leaderboard, blends and submissions keep them. Their names (none where a check of
    ``[pseudo_label]`` fails now: the full run says why)."""
    from ..errors import KitError

    try:
        plan = plan_pseudo(session)
    except KitError:
        return []
    if plan is None:
        return []
    store, tasks = session.store, session.folds.tasks()
    models = {m.name: m for m in session.spec.models}
    listed = store.current_models()  # as run_pseudo takes them: the versions the run lists (a time limit's cut)
    sources = {n: listed.get(n, session.key(models[n])) for n in source_models(plan)}
    if any(store.finished(n, key, r, k) is None for n, key in sources.items() for r, k in tasks):
        return []
    fingerprint = ModelSource.fingerprint_of(plan.source, sources[plan.source]) if plan.blend is None else None
    if plan.blend is not None:
        fingerprint = BlendSource.fingerprint_of(plan.blend)
    kept: list[tuple[str, str, str]] = []
    for round_ in range(1, plan.rounds + 1):
        specs = _round_specs(session, plan, round_, fingerprint)
        whole = all(store.finished(m.name, key, r, k) is not None for _, m, key in specs for r, k in tasks)
        if not whole or not all((store.model_dir(m.name, key) / "summary.json").is_file() for _, m, key in specs):
            break
        kept += [(m.name, key, m.kind) for _, m, key in specs]
        fingerprint = {"round_models": [(m.name, key) for _, m, key in specs]}
    if kept:
        _add_to_meta(store, kept)
    return [name for name, _, _ in kept]


# --------------------------------------------------------------------------------------------- the record
def _record(
    result: ModelResult,
    base: str,
    round_: int,
    plan: PseudoPlan,
    done: dict[str, ModelResult],
    counts: list[int],
    key: str,
    source: LabelsOf,
) -> dict[str, Any]:
    return {
        "name": result.name,
        "key": key,
        "kind": result.kind,
        "base": base,
        "round": round_,
        "source": source.name,
        "source_kind": source.kind,
        "threshold": plan.threshold,
        "soft": plan.soft,
        "status": result.status,
        "cv": result.cv,
        "base_cv": done[base].cv if base in done else None,
        "source_cv": source.cv,
        "pseudo_rows": counts,
    }


def pseudo_line(record: dict[str, Any], metric: Metric) -> str:
    """One line: a pseudo-labelled model's CV against its base model's and the source's, and whether it helped."""
    name, base = record["name"], record["base"]
    if record["status"] != "ok" or record["cv"] is None or not np.isfinite(record["cv"]):
        return f"pseudo-labelling: {name} did not finish ({record['status']})"
    rows = record.get("pseudo_rows") or []
    per_fold = f"{np.mean(rows):.0f} test rows per fold" if rows else "no fold finished"
    kind = record["source_kind"]
    of = f"{kind}'s {record['source']!r}" if kind.startswith("round") else f"{kind} {record['source']!r}"
    text = (
        f"pseudo-labelling: {name} (round {record['round']}, labels from {of} at >= {record['threshold']:g}, "
        f"{'soft' if record['soft'] else 'hard'}, {per_fold}): CV {metric.name} {record['cv']:.5f}"
    )
    if "most_confident" in record:  # no pseudo row at all: the model is its base model refitted, not a result
        return (
            f"{text}: no test row reached pseudo_label.threshold = {record['threshold']:g} in any fold (the most "
            f"confident had {record['most_confident']:.10g}), so {name} trained on the training rows alone, as {base} "
            "did; lower the threshold"
        )
    base_cv = record.get("base_cv")
    if base_cv is not None and np.isfinite(base_cv):
        gain = (record["cv"] - base_cv) * (1 if metric.greater_is_better else -1)
        verdict = "helped" if gain > 0 else "did not help"
        text += f" vs {base} {base_cv:.5f}: {verdict} ({gain:+.5f})"
    source_cv = record.get("source_cv")
    if record["source"] != base and source_cv is not None and np.isfinite(source_cv):
        text += f"; source {record['source']} {source_cv:.5f}"
    return text


def pseudo_notes(store: RunStore, metric: Metric) -> list[str]:
    """The lines of a run's ``pseudo.json`` for the report (none when the run did no pseudo-labelling)."""
    path = store.root / RECORD
    if not path.is_file():
        return []
    try:
        records = json.loads(path.read_text())["pseudo_label"]
    except (OSError, ValueError, KeyError):
        return [f"pseudo-labelling: {RECORD} cannot be read; run again to rewrite it"]
    current = store.current_models()
    return [pseudo_line(r, metric) for r in records if current.get(r["name"]) == r["key"]]


def _add_to_meta(store: RunStore, models: Sequence[tuple[str, str, str]]) -> None:
    """List the pseudo-labelled models in run.json (``models``, ``kinds``): blends, reports and the leaderboard read
    the run's models from there."""
    meta = store.read_meta()
    meta["models"] = {n: k for n, k in meta.get("models", {}).items() if TAG not in n}  # earlier rounds' names
    meta.setdefault("kinds", {})
    for name, key, kind in models:
        meta["models"][name] = key
        meta["kinds"][name] = kind
    store.write_meta(meta)
