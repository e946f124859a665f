"""What ``--best`` submits: the blend the blend report's verdict names when it beats the best single model by
nested CV, else that model (judged on the same held-out folds, as :class:`~kaggle_kit.blend.BlendReport` does).
``predict --best`` (new rows) weighs only what the run folder can apply to new rows; ``submit --best`` (the run's own
test rows) also imported predictions and blends of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..blend.engine import guard_note, stored_guard
from ..blend.inputs import current_keys, default_models, load_run, stale_reason, unchecked_imports
from ..blend.report import BlendReport, oof_correlation
from ..blend.result import BlendResult
from ..blend.storage import blend_dir, blend_names, read_blend
from ..errors import KitError, StoreError, allowed
from ..runtime.scoring import score_folds
from ..runtime.store import RunStore
from .blends import blend_spec
from .run_folder import RunFolder


@dataclass(frozen=True)
class Choice:
    """``kind`` "model" or "blend", its ``name``, and the verdict that chose it; ``not_run``: the line naming the
    models the run lists but has not run yet (``run --only``), none of them a candidate."""

    kind: str
    name: str
    verdict: str
    not_run: str | None = None

    def lines(self, flag: str = "--best") -> str:
        """What ``submit --best`` and ``predict --best`` print."""
        text = f"{flag}: {self.kind} {self.name!r}. {self.verdict}"
        return text + (f"\nnote: {self.not_run}" if self.not_run else "")


def stored_report(run_dir: Path | str, *, new_rows: bool = True) -> BlendReport:
    """A blend report of the run's finished models and its stored blends, built from the run folder without
    blending anything; stale blends left out. ``new_rows`` (``predict``): only what can be applied to new rows, so
    imported predictions and blends of them are left out (no model here predicts new rows for them); else
    (``submit``, the run's own test rows) imported predictions with test predictions and their blends count too."""
    folder = RunFolder.open(run_dir)
    models = default_models(folder.root)  # imports without test predictions left out
    if new_rows:
        models = [m for m in models if m in folder.model_names()]
    if not models:
        raise StoreError(f"the run {str(folder.root)!r} has no finished model; run its models first")
    preds = load_run(folder.root, models)
    blends = []
    for name in blend_names(folder.root):
        try:
            blends.append(blend_spec(folder, name) if new_rows else _submittable_blend(folder, name))
        except KitError:  # stale, or (new rows) blends imported predictions: not a candidate
            continue
    blends, dropped = stored_guard(blends, preds.metric)
    tasks = blends[0].folds if blends else tuple(preds.folds.tasks())
    return BlendReport(
        metric=preds.metric.name,
        models=tuple(preds.results[n] for n in preds.names),
        # models scored as blend_report scores them (one function for models and blends: like for like)
        model_folds={n: score_folds(preds.oof[n], preds.y, preds.folds, preds.metric, tasks) for n in preds.names},
        blends=tuple(blends),
        tasks=tuple(preds.folds.tasks()),
        correlation=oof_correlation(preds.oof),
        train_seconds=0.0,
        blend_seconds=0.0,
        dropped=tuple(dropped),
        notes=(guard_note(dropped),) if dropped else (),
        unchecked=unchecked_imports(folder.root),
    )


def _submittable_blend(folder: RunFolder, name: str) -> BlendResult:
    """The stored blend ``name`` when its stored test predictions can be submitted: not stale, and written."""
    result = read_blend(folder.root, name)
    why = stale_reason(result.models, result.model_keys, current_keys(folder.root))
    if why:
        raise StoreError(f"the blend {name!r} was {why}")
    if int(folder.meta.get("n_test") or 0) and not (blend_dir(folder.root, name) / "test.parquet").is_file():
        raise StoreError(f"the blend {name!r} has no test predictions")
    return result


def best_choice(run_dir: Path | str, *, new_rows: bool = True) -> Choice:
    """The best of the run's finished models and its stored blends: those that can be applied to new rows
    (``predict --best``), or with ``new_rows=False`` (``submit --best``, the run's own test rows) also imported
    predictions and blends of them, as the blend report ranks them."""
    report = stored_report(run_dir, new_rows=new_rows)
    not_run = RunStore(run_dir).not_run_note()
    if not report.blends:
        best = report.best_model
        left = blend_names(run_dir)  # stored, but stale or of imported predictions: not "no blend is stored"
        what = "can predict these rows" if new_rows else "is current"
        imported = ", or of imported predictions" if new_rows else ""
        why = (
            f"no stored blend {what} ({allowed(left)}: made from earlier versions of their models, "
            f"or from models the run no longer lists (blend again){imported})"
            if left
            else "no blend is stored"
        )
        return Choice("model", best.name, f"{why}: the best model by fold mean is {best.name!r}", not_run)
    kind, name = report.choice()
    return Choice(kind, name, report.verdict(), not_run)
