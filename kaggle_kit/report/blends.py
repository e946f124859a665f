"""Read the blends of a run folder: ``RUN_DIR/blends/<name>/summary.json`` (+ ``oof.parquet`` / ``test.parquet``).

The blend engineer's layout is read tolerantly: weights as a list in model order or a ``{model: weight}`` map; the
nested-CV fold scores under ``nested_fold_scores`` (or ``fold_scores``); the nested-CV score under ``nested_cv``
(else the mean of the nested fold scores); the optimism ``gap`` as written, else by the rule ``kaggle-kit blend`` shows
it by (:func:`kaggle_kit.blend.result.optimism`): the in-sample fold mean (``in_sample_fold_scores``) vs the nested
one, or, in a summary without in-sample fold scores, ``cv`` vs ``nested_cv``, in the direction of the summary's
``metric`` (else the run's). A run without a ``blends/`` folder simply has no blends.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import StoreError


@dataclass(frozen=True)
class BlendSummary:
    """One blend as the report sees it."""

    name: str
    method: str
    models: tuple[str, ...]
    weights: tuple[float, ...] | None  # one per model, None for a level-2 model without weights
    cv: float  # the blend scored on all OOF rows with weights fit on all rows (optimistic)
    nested_cv: float  # weights fit on K-1 folds' OOF, scored on the held-out fold: the honest number
    nested_fold_scores: tuple[float, ...]
    gap: float  # how much the in-sample score flatters the blend (blend.result.optimism); > 0: optimistic
    fit_seconds: float | None
    folder: Path
    # a binary label metric's decision threshold per nested-CV fold, as the blend scored it
    fold_thresholds: dict[tuple[int, int], float] = field(default_factory=dict)
    calibrate: str | None = None  # "temperature" or "isotonic": the blend's --calibrate (hill_climb_temperature's)
    model_keys: dict[str, str] = field(default_factory=dict)  # name -> store key (or file hash) of what it blended
    run_models: dict[str, str] = field(default_factory=dict)  # name -> key of what the run could blend then

    @property
    def mean(self) -> float:
        return float(np.mean(self.nested_fold_scores)) if self.nested_fold_scores else math.nan

    @property
    def std(self) -> float:
        return float(np.std(self.nested_fold_scores)) if self.nested_fold_scores else math.nan

    def oof(self) -> pl.DataFrame | None:
        """The blend's nested-CV OOF, checked against its recorded checksum."""
        from ..blend.storage import blend_command, read_blend_frame

        fix = f"make it again: {blend_command(self.folder.parent.parent, self.method, self.name, self.calibrate)}"
        return read_blend_frame(self.folder, "oof", fix)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _greater_is_better(*metrics: object) -> bool:
    """The direction of the first of ``metrics`` (names) the kit knows; higher is better when none is known."""
    from ..errors import KitError
    from ..metrics import get_metric

    for name in metrics:
        if isinstance(name, str):
            try:
                return get_metric(name).greater_is_better
            except KitError:
                continue
    return True


def parse_blend_summary(data: dict[str, Any], folder: Path, run_metric: str | None = None) -> BlendSummary:
    """A :class:`BlendSummary` from the JSON of a blend's ``summary.json``; ``run_metric`` (the run's metric name)
    gives the gap its direction when the summary names no metric."""
    from ..blend.result import optimism
    from ..blend.storage import calibration_of

    try:
        models = tuple(str(m) for m in data["models"])
        raw_weights = data.get("weights")
        if isinstance(raw_weights, dict):
            weights: tuple[float, ...] | None = tuple(float(raw_weights.get(m, 0.0)) for m in models)
        elif raw_weights is not None:
            weights = tuple(float(w) for w in raw_weights)
        else:
            weights = None
        if weights is not None and len(weights) != len(models):
            raise StoreError(f"{folder / 'summary.json'}: {len(weights)} weights for {len(models)} models")
        fold_scores = data.get("nested_fold_scores", data.get("fold_scores")) or []
        nested_fold_scores = tuple(float(s) for s in fold_scores)
        nested = data.get("nested_cv", data.get("nested_score"))
        if nested is None and nested_fold_scores:
            nested = float(np.mean(nested_fold_scores))
        cv, nested_cv = _float(data.get("cv")), _float(nested)
        gap = data.get("gap")
        # the kit's blends record none: worked out by the rule `kaggle-kit blend` shows it by (blend.result.optimism),
        # from the in-sample and nested fold means the kit's summary holds; the report had taken cv - nested_cv (all
        # rows at once), another number than the blend command's for the same blend (+0.22352 vs +0.21883). A summary
        # without in-sample fold scores (written by hand) falls back on cv and nested_cv; a stacker's (empty) has none.
        if gap is None:
            up = _greater_is_better(data.get("metric"), run_metric)
            if "in_sample_fold_scores" in data:
                in_sample = [float(s) for s in data["in_sample_fold_scores"] or []]
                gap = optimism(
                    float(np.mean(in_sample)) if in_sample else math.nan,
                    float(np.mean(nested_fold_scores)) if nested_fold_scores else math.nan,
                    up,
                )
            else:
                gap = optimism(cv, nested_cv, up)
        return BlendSummary(
            name=str(data.get("name") or folder.name),
            method=str(data.get("method", "blend")),
            models=models,
            weights=weights,
            cv=cv,
            nested_cv=nested_cv,
            nested_fold_scores=nested_fold_scores,
            gap=_float(gap),
            fit_seconds=_float(data["fit_seconds"]) if data.get("fit_seconds") is not None else None,
            folder=folder,
            fold_thresholds={
                (int(r), int(k)): float(t)
                for (r, k), t in zip(data.get("folds") or [], data.get("fold_thresholds") or [], strict=False)
            },
            calibrate=calibration_of(data.get("temperature"), data.get("isotonic")),
            model_keys={str(k): str(v) for k, v in (data.get("model_keys") or {}).items()},
            run_models={str(k): str(v) for k, v in (data.get("run_models") or {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"{folder / 'summary.json'} is not a blend summary ({type(exc).__name__}: {exc})") from None


def read_blends(run_dir: Path | str) -> list[BlendSummary]:
    """Every blend under ``RUN_DIR/blends/``, by name; none when the folder is absent."""
    root = Path(run_dir) / "blends"
    if not root.is_dir():
        return []
    meta = Path(run_dir) / "run.json"
    try:
        run_metric = json.loads(meta.read_text()).get("metric") if meta.is_file() else None
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        run_metric = None  # reading the run folder's run.json says what is wrong with it
    blends = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        path = folder / "summary.json"
        if not path.is_file():
            continue  # a blend still being written
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"{path} is corrupted ({exc}); rerun the blend") from None
        blends.append(parse_blend_summary(data, folder, run_metric))
    return blends


def current_blends(run_dir: Path | str, blends: list[BlendSummary]) -> tuple[list[BlendSummary], list[str]]:
    """The ``blends`` made from the current versions of their models, and a line for each of the others: a blend
    whose models were refit since (another key) scores, and weighs, models the run no longer has. `submit` refuses
    it; the report had ranked it, and named it the best, all the same."""
    from ..blend.inputs import current_keys, stale_reason
    from ..blend.storage import blend_command

    keys = current_keys(run_dir)
    fresh, stale = [], []
    for b in blends:
        # a summary that records no keys (written by hand, in the tolerant layout above) cannot be judged: kept
        why = stale_reason(b.models, b.model_keys, keys) if b.model_keys else ""
        if why:
            command = blend_command(run_dir, b.method, b.name, b.calibrate)
            stale.append(f"{b.name!r} ({why}; blend again: {command})")
        else:
            fresh.append(b)
    return fresh, stale
