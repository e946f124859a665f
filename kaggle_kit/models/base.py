"""The one small protocol every model family implements, and the values it passes around.

The runner only ever calls ``fit``, ``predict``, ``save`` and ``load``: library quirks (early-stopping callbacks,
device flags, thread counts, binary-vs-multiclass output shapes) stay inside the adapters.

Prediction convention: classification adapters return float32 ``(n, C)`` with one probability column per class
(also for binary), regression adapters ``(n, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..config import ModelSpec
from ..errors import ConfigError
from ..features import FeatureMatrix
from ..metrics import Metric


@dataclass(frozen=True)
class FitContext:
    """What an adapter needs to know about the run, beside the data."""

    task: str
    n_classes: int
    metric: Metric
    seed: int
    device: str  # resolved: "cpu" or "cuda"
    threads: int
    #: the share of the GPU's memory this task may take: 1 / the tasks sharing it at once (a local pool's workers,
    #: or Ray's ``gpus_per_task``). Only a library that reserves GPU memory up front reads it (CatBoost).
    gpu_share: float = 1.0
    #: a weight per training row (pseudo-labelling's soft labels: :mod:`kaggle_kit.runtime.pseudo`), or None (all 1).
    #: Only an adapter whose ``sample_weights`` attribute is True is ever handed one.
    sample_weight: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: streamed ``[data.images]`` (a :class:`~kaggle_kit.readers.image_stream.ImageStream`): the files of the
    #: positions in the matrices' ``__image__`` column, which the image nets read; None for pixel columns
    images: Any = None
    #: ``data.sequences.layout = "streamed"``: the :class:`~kaggle_kit.features.SequenceStore` whose positions the
    #: sequence nets' ``__sequence`` column holds (the run's, or new test rows' at predict); None otherwise
    sequences: Any = None
    #: the target's class labels in the order of the prediction columns (what class codes 0..C-1 stand for), where
    #: the caller knows them; None for a regression. Class-keyed params (``class_weight``) are translated with it.
    classes: tuple[object, ...] | None = field(default=None, compare=False, repr=False)


#: A boosting fit on fewer training cells (rows x columns) than this runs on the CPU even in a CUDA run: kernel
#: launches cost the GPU a fixed time per tree, and a CUDA run's tasks share one GPU. Measured with
#: ``benchmarks/gpu_check.py --parts crossover run`` (RESULTS section 19).
GPU_MIN_CELLS = 1_000_000


def boosting_context(ctx: FitContext, train: FeatureMatrix) -> FitContext:
    """``ctx``, moved to the CPU where the fold's training matrix is too small for the GPU to pay."""
    rows, columns = train.X.shape
    return replace(ctx, device="cpu") if ctx.device == "cuda" and rows * columns < GPU_MIN_CELLS else ctx


@dataclass
class Fitted:
    """A fitted model plus what the run records about its training."""

    model: Any
    #: boosting rounds / epochs kept (1-based count: the model predicts with exactly this many)
    best_iteration: int | None = None
    #: validation metric per boosting round / epoch, keyed by the metric's name in the library
    history: dict[str, list[float]] = field(default_factory=dict)
    #: where it was trained when not the run's device (a small boosting fit of a CUDA run: :func:`boosting_context`)
    device: str | None = None
    #: a model fitted one target at a time (:mod:`.multi_target`): each target's kept rounds / epochs (None: a
    #: target predicted at its rate, or a family without rounds), which a refit on all rows trains each target for
    target_iterations: tuple[int | None, ...] | None = None


class ModelAdapter(Protocol):
    """One model family. ``file_name`` is the native file ``save`` writes inside a fold's folder; ``uses_gpu`` says
    whether the family trains on a GPU on a CUDA run (a Ray task then asks for one); ``reads_features`` is False for
    a model that predicts from the target alone (the baseline), which the runner then hands zero-column matrices
    instead of encoding every fold's rows for nothing. ``thread_invariant`` says the family's predictions are
    byte-identical at any thread count, so the load-aware thread rule (:mod:`kaggle_kit.runtime.threads`) may give a
    fold
    more threads than the run's first count (a family that leaves it out keeps that count). ``library`` is the module
    its fit imports on first use (None: nothing worth timing apart): the runner imports it before it times the fit,
    so that a fold's ``fit_seconds``, which a time limit's cost model divides by its rounds or epochs, measure the fit
    and not an import (``import torch``, 2.7 s, had made a net's 2-epoch sizing fold on a 5,000-row table look several
    times too slow per epoch: RealMLP was cut from 12 epochs to 5 with 17 s of a 40 s limit left unused)."""

    file_name: str
    uses_gpu: bool
    thread_invariant: bool
    reads_features: bool
    library: str | None

    def check(self, ctx: FitContext) -> None:
        """Reject, with a :class:`~kaggle_kit.errors.ConfigError` naming the model and the fix, what cannot work for
        this run's task and metric; the runner calls it for every model before any fold is fitted."""
        ...

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted: ...

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray: ...

    def save(self, fitted: Fitted, path: Path) -> None: ...

    def load(self, path: Path, ctx: FitContext) -> Fitted: ...


def check_reserved(params: dict[str, Any], reserved: dict[str, str], model: str) -> None:
    """Reject library parameters the kit sets itself, saying which spec key controls them instead."""
    for key, where in reserved.items():
        if key in params:
            raise ConfigError(f"model {model!r}: params.{key} is set by the kit; {where}")


def as_probabilities(p: np.ndarray, n_classes: int) -> np.ndarray:
    """Library output -> the kit's (n, C) float32 probability matrix (binary libraries return p(class 1) only)."""
    p = np.asarray(p, dtype=np.float32)
    if n_classes == 2 and (p.ndim == 1 or p.shape[1] == 1):
        p = p.reshape(-1)
        return np.ascontiguousarray(np.stack([1.0 - p, p], axis=1), dtype=np.float32)
    return np.ascontiguousarray(p.reshape(len(p), n_classes), dtype=np.float32)


def stopping_metric(metric: Metric, task: str, choice: str = "auto") -> str:
    """The metric boosting rounds are early-stopped on, as a kit metric name: the loss (``"log_loss"`` /
    ``"rmse"``) or the competition metric, per the model's ``early_stopping_metric`` (``auto | metric | loss``).

    ``"auto"`` is the loss, for every metric: measured, not guessed (``benchmarks/early_stopping.py``, its section in
    ``benchmarks/RESULTS.md``). Stopping on ROC AUC lost on held-out rows and in the pooled OOF for XGBoost and
    LightGBM on every dataset and patience tried, and in the OOF for CatBoost (on a fold's few validation rows AUC
    peaks early by chance); stopping on accuracy or MAE looked better in the OOF, whose rows also chose the stopping
    round, but not consistently on held-out rows.

    The name is meant in the space the model is fitted in: RMSLE is RMSE on ``log1p(y)``, and R² orders the rounds
    exactly as RMSE does on fixed validation rows, so both stop on ``"rmse"``. Each adapter maps the name to its
    library's own metric where that computes the same value, and otherwise evaluates the kit's metric itself
    (:func:`kit_score`).
    """
    if choice == "metric" and metric.name not in ("log_loss", "rmsle", "r2"):
        return metric.name
    return "rmse" if task == "regression" else "log_loss"


def model_stopping_metric(spec: ModelSpec, ctx: FitContext) -> str:
    """:func:`stopping_metric` for a model of this run."""
    return stopping_metric(ctx.metric, ctx.task, spec.early_stopping_metric)


def legacy_stopping_metric(metric: Metric, task: str) -> str:
    """What ``"auto"`` meant before it was measured: ROC AUC itself for a binary ROC AUC task, MAE for MAE, else the
    loss. A boosting model whose ``"auto"`` now resolves otherwise gets a new content key (``runner.model_key``), so
    folds stored under the old rule are refitted rather than passed off as the new rule's."""
    if (metric.name == "roc_auc" and task == "binary") or metric.name == "mae":
        return metric.name
    return "rmse" if task == "regression" else "log_loss"


def kit_score(metric: Metric, y_fit: np.ndarray, pred: np.ndarray, task: str, n_classes: int) -> float:
    """The kit's metric on a library's validation predictions (probabilities, or values in the fit space): what a
    custom early-stopping evaluation reports when the library has no native metric computing the same value."""
    if task == "regression":
        y, p = np.asarray(y_fit, dtype=np.float64), np.asarray(pred, dtype=np.float64).reshape(-1)
        if metric.fit_transform == "log1p":
            y, p = np.expm1(y), np.expm1(p)
        return metric.score(y, p)
    return metric.score(np.asarray(y_fit).astype(np.int64), as_probabilities(pred, n_classes))


def class_positions(weights: dict[Any, Any], ctx: FitContext, model: str, key: str) -> dict[int, float]:
    """A class-keyed parameter (``params.class_weight = { yes = 10 }``) keyed by class code ``0..C-1``, which is what
    the kit fits the libraries on. A key is the class's label as the target holds it (a config's keys are text:
    :func:`_names_label`), or, where the labels are not known, its code. A class left out keeps weight 1.

    Without it the labels reached scikit-learn, which found none of the codes among them in every fold, and a
    CatBoost dict whose keys were not in code order ({"1": 10, "0": 1}) reordered its probability columns."""
    known = ctx.classes is not None and len(ctx.classes) == ctx.n_classes  # not a wrapper's own codes (distribution)
    classes: tuple[object, ...] = ctx.classes if known and ctx.classes is not None else tuple(range(ctx.n_classes))
    labels = [str(c) for c in classes]
    out = dict.fromkeys(range(len(labels)), 1.0)
    for k, v in weights.items():
        code = next((i for i, c in enumerate(classes) if _names_label(k, c)), None)
        if code is None:
            shown = ", ".join(repr(label) for label in labels[:10]) + (", ..." if len(labels) > 10 else "")
            raise ConfigError(
                f"model {model!r}: params.{key} names class {k!r}, which the target does not have; its keys are the "
                f"target's {'labels' if known else 'class codes'}: {shown}"
            )
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v) or v < 0:
            raise ConfigError(f"model {model!r}: params.{key}.{k} must be a weight of 0 or more; got {v!r}")
        out[code] = float(v)
    return out


def _names_label(key: object, label: object) -> bool:
    """Whether a config's key names a class label: as its text, or, as a TOML key is text whatever the label, a bool
    label by true / false in any case and a number by its value (a float target's 1.0 by "1")."""
    text = str(key).strip()
    if text == str(label):
        return True
    if isinstance(label, (bool, np.bool_)):
        return text.lower() == str(bool(label)).lower()
    if isinstance(label, (int, float, np.integer, np.floating)):
        try:
            return float(text) == float(label)
        except ValueError:
            return False
    return False


def take_rows(X: FeatureMatrix, rows: np.ndarray) -> FeatureMatrix:
    """``X``'s rows at ``rows`` (sorted distinct positions, as ``np.flatnonzero`` gives) as a C-contiguous matrix;
    ``X`` itself when that is all of them."""
    if rows.size == X.X.shape[0]:
        return X
    return FeatureMatrix(np.ascontiguousarray(X.X[rows]), X.names, X.categorical)
