"""The blender interface: ``fit(preds, y, metric, rng) -> Fitted`` and ``predict(fitted, preds) -> blended``.

A prediction *stack* is a float32 array ``(n_models, n_rows, n_columns)``: each model's stored prediction matrix
(one column per class, or one ``prediction`` column for regression), stacked in the blend's model order. A blender
sees only the rows it is handed (and, in ``row_folds``, the fold each was held out in, for metrics scored fold by
fold), so the same code fits on all OOF rows, on K-1 folds' rows (nested CV) and predicts
the held-out fold or the test rows.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import ConfigError, KitError
from ..metrics import Metric


def check_positive(method: str, name: str, value: object) -> None:
    """A blend option that counts something (steps, restarts, threads) must be a whole number >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"the {name} of blend method {method!r} must be a positive integer; got {value!r}")


def to_simplex(raw: np.ndarray) -> np.ndarray:
    """Map unconstrained parameters onto the probability simplex: ``|raw| / sum(|raw|)``.

    Nelder-Mead has no constraints, so the optimiser moves freely and the objective sees only these weights:
    non-negative, summing to 1, exactly 0 where a parameter is 0. All-zero parameters give equal weights.
    """
    a = np.abs(np.asarray(raw, dtype=np.float64))
    total = float(a.sum())
    if not math.isfinite(total) or total <= 0:
        return np.full(a.shape, 1.0 / a.shape[0])
    return a / total


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run a weight search with a single BLAS thread: its matrix-vector products are small and many, and BLAS
    threads spin-waiting for cores another process holds make each one 5-10x slower on a busy machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def weighted_sum(weights: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """``sum_m weights[m] * preds[m]`` as a float32 ``(n_rows, n_columns)`` matrix (whole models are weighted:
    one weight per model across its class columns)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (preds.shape[0],):
        raise KitError(f"{w.shape[0]} weights for {preds.shape[0]} models; pass one weight per model")
    out = np.zeros(preds.shape[1:], dtype=np.float64)
    for m in np.flatnonzero(w):
        out += w[m] * preds[m]
    return out.astype(np.float32)


@dataclass(frozen=True)
class Fitted:
    """What a blender learned from some rows: per-model ``weights`` on the simplex (weighting methods), or a
    level-2 ``model`` (stacking), plus ``info`` for the record (evaluations, the objective's value, ...)."""

    weights: np.ndarray | None = None
    model: Any = None
    info: dict[str, Any] = field(default_factory=dict)


class Blender(ABC):
    """Base class of the blend methods; subclasses are dataclasses whose fields are their options.

    Override :meth:`fit` (and :meth:`predict` when the blend is not a weighted average of the models). Set
    ``nested_only = True`` for methods that must only ever be scored by nested CV (a level-2 model would score
    its own training rows), ``needs_rank_metric = True`` for methods whose output is a ranking, not
    probabilities, and ``single_target = True`` for methods that model one target column (a level-2 model), which a
    multilabel / multiregression run's column-wise metric leaves out. Override :meth:`by_default` to keep a method
    out of ``"all"`` / ``"auto"`` for metrics where it was measured to cost time for nothing.
    """

    method: ClassVar[str] = ""
    nested_only: ClassVar[bool] = False
    needs_rank_metric: ClassVar[bool] = False
    single_target: ClassVar[bool] = False

    @abstractmethod
    def fit(
        self,
        preds: np.ndarray,
        y: np.ndarray,
        metric: Metric,
        rng: np.random.Generator,
        row_folds: np.ndarray | None = None,
    ) -> Fitted:
        """Learn weights (or a level-2 model) from these rows' predictions ``(models, rows, columns)``."""

    @classmethod
    def by_default(cls, metric: Metric) -> bool:
        """Whether ``"all"`` / ``"auto"`` run this method for ``metric`` (named on its own, it runs wherever it can
        be scored)."""
        return True

    def predict(self, fitted: Fitted, preds: np.ndarray) -> np.ndarray:
        if fitted.weights is None:
            raise KitError(f"blend method {self.method!r} fitted no weights; override predict()")
        return weighted_sum(fitted.weights, preds)

    def options(self) -> dict[str, Any]:
        """The blender's options as JSON-able values (recorded in the blend's summary)."""
        from dataclasses import asdict, is_dataclass

        return asdict(self) if is_dataclass(self) else {}
