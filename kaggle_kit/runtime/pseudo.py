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
so no validation row's label reaches them through the pseudo labels either. (A blend source applies its weights,
fitted on all OOF rows as a few numbers are, or a stacker's level-2 model of that fold, to its models' fold test
predictions.) The feature pipeline is fitted on the real training rows only; the pseudo rows are encoded as test
rows are. What each fold was given is kept beside it (``pseudo/r{r}_f{k}.npz``), and the key hashes the source's
keys, the round and the settings: a rerun refits nothing, a changed source refits its pseudo-labelled models.

``pseudo.json`` in the run folder records each pseudo-labelled model's CV beside its base model's and the source's:
the run's notes and ``kaggle-kit report`` say whether it helped.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..config import ModelSpec, spec_hash
from ..errors import ConfigError, StoreError, allowed, did_you_mean
from ..metrics import Metric
from ..models import make_adapter
from .executors import Context, Task, run_tasks
from .pseudo_rows import PseudoRows, pseudo_path, read_pseudo_rows, write_pseudo_rows
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
        outside = [m for m in blend.models if m not in models]
        if outside:
            raise ConfigError(
                f"pseudo_label.source = {pseudo.source!r} blends {allowed(outside)}, which are not models of the spec "
                "(imported predictions have no fold models to label with); blend the spec's models and name that blend"
            )
        stale = [m for m in blend.models if blend.model_keys.get(m) != session.key(models[m])]
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


def run_pseudo(session: RunSession, plan: PseudoPlan, outcome: FitOutcome) -> FitOutcome:
    """Fit every round of ``plan`` (folds already in the store are reused) and add its models to the outcome, the
    run's ``run.json`` and ``pseudo.json``."""
    from .runner import FitOutcome, _assemble

    store, folds, metric = session.store, session.folds, session.metric
    done = {r.name: r for r in outcome.results}
    failed = [n for n in _source_models(plan) if n not in done or done[n].status != "ok"]
    if failed:
        note = f"pseudo-labelling skipped: its source {allowed(failed)} has no finished folds in this run"
        return FitOutcome(outcome.results, outcome.fitted, outcome.reused, (*outcome.notes, note))
    labels: LabelSource = _first_source(session, plan)
    results, records = list(outcome.results), []
    fitted = reused = 0
    for round_ in range(1, plan.rounds + 1):
        specs = []
        for base in plan.models:
            model = base.model_copy(update={"name": pseudo_name(base.name, round_)})
            key = spec_hash(
                {"model": session.key(model), "round": round_, "threshold": plan.threshold, "soft": plan.soft}
                | {"labels": labels.fingerprint}
            )
            specs.append((base, model, key))
        tasks: list[Task] = []
        for _, model, key in specs:
            for r, k in folds.tasks():
                if store.finished(model.name, key, r, k) is not None:
                    reused += 1
                    continue
                path = pseudo_path(store.model_dir(model.name, key), r, k)
                if not path.exists():  # a killed run's file is the same (deterministic): kept
                    write_pseudo_rows(path, _confident(labels.fold(r, k), plan.threshold, plan.soft))
                tasks.append(Task(session.resolved(model), key, r, k))  # pretrained: from the config's folder
        if tasks:
            session.say(f"pseudo-labelling round {round_}: fitting {len(tasks)} fold(s) of {len(specs)} model(s)")
        session.start(len(tasks))
        assert session.job is not None
        outcomes = run_tasks(tasks, session.job, fit_pseudo_fold, session.say) if tasks else None
        errors = outcomes.errors if outcomes is not None else {}
        scores = outcomes.scores if outcomes is not None else {}
        # the folds now in the store, as the runner counts them (a failed model's planned folds were counted)
        fitted += sum(store.finished(t.model.name, t.key, t.repeat, t.fold) is not None for t in tasks)
        made = []
        for base, model, key in specs:
            error, known = errors.get(model.name), scores.get((model.name, key))
            result = _assemble(store, model, key, session.data, folds, metric, error, None, known)
            results.append(result)
            made.append((model.name, key))
            finished = [store.finished(model.name, key, r, k) for r, k in folds.tasks()]
            counts = [f.n_pseudo for f in finished if f is not None]
            records.append(_record(result, base.name, round_, plan, done, counts, key))
        if any(name in errors for name, _ in made):
            break  # a later round would label with a model that failed
        labels = _PreviousRound(store, made)
    _add_to_meta(store, [(r["name"], r["key"], r["kind"]) for r in records])
    atomic_write(store.root / RECORD, json.dumps({"pseudo_label": records}, indent=1).encode())
    notes = [pseudo_line(r, metric) for r in records]
    return FitOutcome(tuple(results), outcome.fitted + fitted, outcome.reused + reused, (*outcome.notes, *notes))


# --------------------------------------------------------------------------------------------- where labels come from
class LabelSource(ABC):
    """Test-row probabilities for one ``(repeat, fold)``, made by a model that never saw that fold's rows;
    ``fingerprint`` (JSON-able) names what made them, for the pseudo-labelled models' keys."""

    fingerprint: Any

    @abstractmethod
    def fold(self, repeat: int, fold: int) -> np.ndarray:
        """``(n_test, C)`` probabilities of the test rows for fold ``(repeat, fold)``."""


def _source_models(plan: PseudoPlan) -> list[str]:
    return [plan.source] if plan.blend is None else list(plan.blend.models)


def _fold_test(store: RunStore, name: str, key: str, repeat: int, fold: int) -> np.ndarray:
    found = store.finished(name, key, repeat, fold)
    if found is None:
        raise StoreError(f"model {name!r} has no finished fold r{repeat}_f{fold} to pseudo-label with; run again")
    return store.read_fold_array(found, "test.npy").astype(np.float64)


class _ModelSource(LabelSource):
    def __init__(self, store: RunStore, name: str, key: str) -> None:
        self.store, self.name, self.key = store, name, key
        self.fingerprint = {"model": name, "key": key}

    def fold(self, repeat: int, fold: int) -> np.ndarray:
        return _fold_test(self.store, self.name, self.key, repeat, fold)


class _PreviousRound(LabelSource):
    """Round ``r > 1``: the mean of round ``r - 1``'s models' test predictions of the same fold."""

    def __init__(self, store: RunStore, models: Sequence[tuple[str, str]]) -> None:
        self.store, self.models = store, list(models)
        self.fingerprint = {"round_models": self.models}

    def fold(self, repeat: int, fold: int) -> np.ndarray:
        return np.mean([_fold_test(self.store, n, k, repeat, fold) for n, k in self.models], axis=0)


class _BlendSource(LabelSource):
    """A stored blend applied to its models' test predictions of one fold: its weights (and calibration), or a
    stacker's level-2 model fitted in nested CV on that fold's training rows."""

    def __init__(self, store: RunStore, blend: BlendResult, keys: dict[str, str], metric: Metric) -> None:
        from ..blend.registry import make_blender

        self.store, self.blend, self.keys, self.metric = store, blend, keys, metric
        self.blender = make_blender(blend.method, blend.options)
        self.level2: dict[tuple[int, int], Any] = {}
        if self.blender.nested_only:
            from ..blend.storage import read_level2, reblend_hint

            models = read_level2(store.root, blend, reblend_hint(store.root, blend))
            if models is None:
                raise ConfigError(
                    f"pseudo_label.source = {blend.name!r} is a stacker stored without its level-2 models; "
                    f"{reblend_hint(store.root, blend)}"
                )
            self.level2 = {tuple(rk): m for rk, m in zip(blend.folds, models, strict=True)}  # type: ignore[misc]
        self.fingerprint = {
            "blend": blend.name,
            "summary": {
                k: v
                for k, v in json.loads(blend.to_json()).items()
                if k in ("method", "options", "weights", "models", "model_keys", "temperature", "isotonic", "folds")
            },
        }

    def fold(self, repeat: int, fold: int) -> np.ndarray:
        from ..blend.base import Fitted
        from ..blend.calibration import calibrate_blend
        from ..blend.engine import stack_predictions

        preds = {m: _fold_test(self.store, m, self.keys[m], repeat, fold) for m in self.blend.models}
        stack = stack_predictions(preds, self.metric, "test")
        if self.blender.nested_only:
            level2 = self.level2.get((repeat, fold))
            if level2 is None:  # a fold nested CV did not fit (the first block of time folds): the mean of all
                out = np.mean([self.blender.predict(Fitted(model=m), stack) for m in self.level2.values()], axis=0)
            else:
                out = self.blender.predict(Fitted(model=level2), stack)
            return np.asarray(out, dtype=np.float64)
        assert self.blend.weights is not None
        out = self.blender.predict(Fitted(weights=np.asarray(self.blend.weights, dtype=np.float64)), stack)
        return np.asarray(calibrate_blend(self.blend, out), dtype=np.float64)


def _first_source(session: RunSession, plan: PseudoPlan) -> LabelSource:
    models = {m.name: m for m in session.spec.models}
    if plan.blend is None:
        return _ModelSource(session.store, plan.source, session.key(models[plan.source]))
    keys = {m: session.key(models[m]) for m in plan.blend.models}
    return _BlendSource(session.store, plan.blend, keys, session.metric)


def _confident(proba: np.ndarray, threshold: float, soft: bool) -> PseudoRows:
    """The test rows whose most probable class has probability >= ``threshold``, with their probabilities."""
    p = np.asarray(proba, dtype=np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    rows = np.flatnonzero(p.max(axis=1) >= threshold)
    return PseudoRows(rows.astype(np.int64), p[rows].astype(np.float32), soft)


# --------------------------------------------------------------------------------------------- the record
def _record(
    result: ModelResult,
    base: str,
    round_: int,
    plan: PseudoPlan,
    done: dict[str, ModelResult],
    counts: list[int],
    key: str,
) -> dict[str, Any]:
    source_cv = done[plan.source].cv if plan.blend is None else plan.blend.nested_cv
    return {
        "name": result.name,
        "key": key,
        "kind": result.kind,
        "base": base,
        "round": round_,
        "source": plan.source,
        "source_kind": plan.source_kind,
        "threshold": plan.threshold,
        "soft": plan.soft,
        "status": result.status,
        "cv": result.cv,
        "base_cv": done[base].cv if base in done else None,
        "source_cv": source_cv,
        "pseudo_rows": counts,
    }


def pseudo_line(record: dict[str, Any], metric: Metric) -> str:
    """One line: a pseudo-labelled model's CV against its base model's and the source's, and whether it helped."""
    name, base = record["name"], record["base"]
    if record["status"] != "ok" or record["cv"] is None or not np.isfinite(record["cv"]):
        return f"pseudo-labelling: {name} did not finish ({record['status']})"
    rows = record.get("pseudo_rows") or []
    per_fold = f"{np.mean(rows):.0f} test rows per fold" if rows else "no fold finished"
    text = (
        f"pseudo-labelling: {name} (round {record['round']}, labels from {record['source_kind']} "
        f"{record['source']!r} at >= {record['threshold']:g}, {'soft' if record['soft'] else 'hard'}, {per_fold}): "
        f"CV {metric.name} {record['cv']:.5f}"
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
