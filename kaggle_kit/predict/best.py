"""What ``--best`` submits: the blend the blend report's verdict names when it beats the best single model by
nested CV, else that model (judged on the same held-out folds, as :class:`~kaggle_kit.blend.BlendReport` does)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..blend.inputs import default_models, load_run
from ..blend.report import BlendReport, oof_correlation
from ..blend.storage import blend_names
from ..errors import KitError, StoreError, allowed
from ..runtime.scoring import score_folds
from .blends import blend_spec
from .run_folder import RunFolder


@dataclass(frozen=True)
class Choice:
    """``kind`` "model" or "blend", its ``name``, and the verdict that chose it."""

    kind: str
    name: str
    verdict: str


def stored_report(run_dir: Path | str) -> BlendReport:
    """A blend report of the run's finished models and its stored blends that can be applied to new rows (stale
    ones and those of imported predictions left out), built from the run folder without blending anything."""
    folder = RunFolder.open(run_dir)
    models = [m for m in default_models(folder.root) if m in folder.model_names()]  # imported predictions left out
    if not models:
        raise StoreError(f"the run {str(folder.root)!r} has no finished model; run its models first")
    preds = load_run(folder.root, models)
    blends = []
    for name in blend_names(folder.root):
        try:
            blends.append(blend_spec(folder, name))
        except KitError:  # stale, or blends imported predictions: not a candidate
            continue
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
    )


def best_choice(run_dir: Path | str) -> Choice:
    """The best of the run's finished models and its stored blends that can be applied to new rows."""
    report = stored_report(run_dir)
    if not report.blends:
        best = report.best_model
        left = blend_names(run_dir)  # stored, but stale or of imported predictions: not "no blend is stored"
        why = (
            f"no stored blend can predict these rows ({allowed(left)}: made from earlier versions of their models, "
            "or from models the run no longer lists (blend again), or of imported predictions)"
            if left
            else "no blend is stored"
        )
        return Choice("model", best.name, f"{why}: the best model by CV is {best.name!r}")
    kind, name = report.choice()
    return Choice(kind, name, report.verdict())
