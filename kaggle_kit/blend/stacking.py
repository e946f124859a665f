"""A level-2 model trained on the OOF prediction matrix: logistic regression (classification) or ridge (regression).

Its features are the models' predictions (log-odds of the positive class, or log-probabilities of every class),
standardised on the rows it is fitted on. Scored only by nested CV: a level-2 model fitted on all OOF rows would
be scored on its own training rows.

``C = "auto"`` (the default) chooses the regularisation per fit by an inner CV over the rows' own folds: with few
rows and many correlated models a fixed ``C = 1`` overfits (measured on anes96, 755 rows x 7 classes: the guard
had to drop the stacker; benchmarks/portfolio.py), while on large data a weak penalty is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from ..errors import ConfigError
from ..metrics import Metric
from .base import Blender, Fitted, one_blas_thread

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

_EPS = 1e-6
#: The inverse regularisation strengths ``C = "auto"`` chooses from (ridge: ``alpha = 1 / C``).
AUTO_CS: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0)
AUTO_MAX_ROWS = 20_000  #: rows the inner CV of ``C = "auto"`` looks at (a seeded subsample above)
MIN_CLASS_ROWS = 50  #: a subsample keeps at least this many rows of each class (all of a smaller class)
#: rows a stack's level-2 model is fitted on (a seeded subsample above, every class kept): a logistic regression with
#: a few hundred coefficients learns nothing more from 200,000 rows, and fitting them took a time-limited run's
#: stack 9 s (6 fits: the submission's and 5 nested) of a 180 s limit
FIT_MAX_ROWS = 50_000


@dataclass(frozen=True)
class Stack(Blender):
    """Logistic regression (or ridge for regression) on the models' OOF predictions; ``C`` is the inverse
    regularisation strength (ridge's ``alpha = 1 / C``), or ``"auto"``: chosen from :data:`AUTO_CS` by inner CV."""

    method: ClassVar[str] = "stack"
    single_target: ClassVar[bool] = True  # one level-2 model of one target column
    nested_only: ClassVar[bool] = True
    C: float | Literal["auto"] = "auto"

    def __post_init__(self) -> None:
        if self.C == "auto":
            return
        if isinstance(self.C, bool) or not isinstance(self.C, (int, float)) or not self.C > 0:
            raise ConfigError(f"the C of blend method 'stack' must be a positive number or \"auto\"; got {self.C!r}")

    def fit(
        self,
        preds: np.ndarray,
        y: np.ndarray,
        metric: Metric,
        rng: np.random.Generator,
        row_folds: np.ndarray | None = None,
    ) -> Fitted:
        X = level2_features(preds)
        with one_blas_thread():  # small dense fits: BLAS threads spin-waiting on a busy machine cost 5-10x
            C = self.C if self.C != "auto" else _inner_cv_C(X, y, preds.mean(axis=0), metric, rng, row_folds)
            rows = subsample_rows(y, FIT_MAX_ROWS, rng, metric.needs != "value")
            model = fit_level2(X[rows], y[rows], float(C), metric)
        return Fitted(model=model, info={"features": X.shape[1], "C": float(C)})

    def predict(self, fitted: Fitted, preds: np.ndarray) -> np.ndarray:
        return predict_level2(fitted.model, level2_features(preds), preds.mean(axis=0))


def fit_level2(X: np.ndarray, y: np.ndarray, C: float, metric: Metric) -> Pipeline:
    # scikit-learn imported here: loading it costs a tree-only notebook's `import` ~1.8 s
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if metric.needs == "value":
        model = make_pipeline(StandardScaler(), Ridge(alpha=1.0 / C))
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
    return model.fit(X, y)


def subsample_rows(y: np.ndarray, max_rows: int, rng: np.random.Generator, by_class: bool) -> np.ndarray:
    """Sorted indices of at most about ``max_rows`` rows of ``y`` (all of them when there are no more), a seeded
    draw; ``by_class``: drawn per class, each class keeping its share and at least its first
    :data:`MIN_CLASS_ROWS` rows (a class missing from a level-2 model's rows could not be learnt: it would only get
    the inputs' probability, :func:`predict_level2`)."""
    n = len(y)
    if n <= max_rows:
        return np.arange(n)
    if not by_class:
        return np.sort(rng.choice(n, max_rows, replace=False))
    parts = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        k = min(members.size, max(MIN_CLASS_ROWS, round(members.size * max_rows / n)))
        parts.append(rng.choice(members, k, replace=False))
    return np.sort(np.concatenate(parts))


def predict_level2(model: Pipeline | Any, X: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """A fitted level-2 model's (or a bare estimator's) predictions as ``(n_rows, n_columns)`` float32, the shape of
    ``inputs``: the level-1 predictions it was given (averaged over the models when there are several).

    A class absent from the rows the model was fitted on (a class with fewer rows than folds, missing from a nested
    fold's rows) cannot be predicted by it; it gets the inputs' probability, and the other classes share the rest as
    the model says. It had got probability 0, which a log loss clips to its floor: the stack's nested CV came out
    worse than any of its models and the guard dropped it."""
    n_columns = inputs.shape[1]
    if n_columns == 1:
        return model.predict(X).astype(np.float32).reshape(-1, 1)
    out = np.zeros((X.shape[0], n_columns), dtype=np.float64)
    classes = model.classes_.astype(np.intp)
    out[:, classes] = model.predict_proba(X)
    absent = np.setdiff1d(np.arange(n_columns), classes)
    if absent.size:
        share = np.asarray(inputs[:, absent], dtype=np.float64)
        out *= 1.0 - share.sum(axis=1, keepdims=True)
        out[:, absent] = share
    return out.astype(np.float32)


def _inner_cv_C(
    X: np.ndarray,
    y: np.ndarray,
    inputs: np.ndarray,
    metric: Metric,
    rng: np.random.Generator,
    row_folds: np.ndarray | None,
) -> float:
    """The :data:`AUTO_CS` value whose level-2 model scores best on rows it was not fitted on: folds are the rows'
    own (``row_folds``) when they give at least two, else a seeded 5-way split; at most :data:`AUTO_MAX_ROWS` rows
    (a seeded subsample). A tie keeps the smaller ``C`` (the stronger penalty). Each inner fold fits the grid from
    the strongest penalty to the weakest, each fit starting from the last one's solution (warm start), which is
    what keeps the whole search within a few single fits."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.preprocessing import StandardScaler

    folds = np.asarray(row_folds) if row_folds is not None else None
    if folds is None or np.unique(folds).size < 2:
        folds = rng.permutation(np.arange(len(y)) % min(5, len(y)))
    keep = subsample_rows(y, AUTO_MAX_ROWS, rng, metric.needs != "value")
    X, y, folds, inputs = X[keep], y[keep], folds[keep], inputs[keep]
    inner = np.zeros((len(AUTO_CS), *inputs.shape), dtype=np.float32)
    for f in np.unique(folds):
        held = folds == f
        if metric.needs != "value" and np.unique(y[~held]).size < 2:
            return 1.0  # a fold whose other rows hold one class cannot score a classifier: the plain default
        scaler = StandardScaler().fit(X[~held])
        train, valid = scaler.transform(X[~held]), scaler.transform(X[held])
        logistic = LogisticRegression(max_iter=1000, warm_start=True)  # one model: each C starts from the last
        for i, C in enumerate(AUTO_CS):
            model = Ridge(alpha=1.0 / C) if metric.needs == "value" else logistic.set_params(C=C)
            inner[i, held] = predict_level2(model.fit(train, y[~held]), valid, inputs[held])
    best_C, best_score = AUTO_CS[0], float("nan")
    for i, C in enumerate(AUTO_CS):
        score = metric.score(y, inner[i])
        if metric.better(score, best_score):
            best_C, best_score = C, score
    return best_C


def level2_features(preds: np.ndarray) -> np.ndarray:
    """Level-2 features, ``(n_rows, n_features)``: log-odds (binary), log-probabilities (multiclass), values."""
    if preds.shape[2] == 1:
        return np.ascontiguousarray(preds[:, :, 0].T, dtype=np.float64)
    p = np.clip(preds.astype(np.float64), _EPS, 1 - _EPS)
    if preds.shape[2] == 2:
        return np.log(p[:, :, 1] / p[:, :, 0]).T
    return np.log(p).transpose(1, 0, 2).reshape(preds.shape[1], -1)
