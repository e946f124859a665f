"""scikit-learn-compatible estimators for the kit's nets: usable in a ``Pipeline``, ``cross_val_score``, ``clone``.

They wrap the same :func:`~kaggle_kit.models.nn.net.fit_net` the runner's adapter uses. ``kind`` picks the net
(``mlp``, ``realmlp``, ``tabm``, ``cnn``, ``hybrid``, ``rnn``, ``cnn1d``) and ``params`` takes the same keys as a
competition spec's ``[[models]] params`` (checked at ``fit``). The columns of ``X`` are named ``x0, x1, ...``: a
``hybrid`` picks its pixel columns with ``params['image_columns']`` (e.g. a list of those names). With
``validation_fraction > 0`` a stratified (classifier) or random (regressor) share of the rows is held out for early
stopping (``params['patience']``) and the learning curve; with 0 every row trains and the net runs
``params['epochs']`` epochs.

Example::

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from kaggle_kit.models.nn import NetClassifier

    clf = make_pipeline(StandardScaler(), NetClassifier(params={"hidden": [64], "epochs": 20}, random_state=0))
    clf.fit(X, y).predict_proba(X)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ...device import resolve_device
from ...errors import ConfigError, allowed, did_you_mean
from ...features import FeatureMatrix
from ...metrics import get_metric
from .families import FAMILIES


class _NetEstimator(BaseEstimator):
    _task = ""
    _metric = ""

    def __init__(
        self,
        kind: str = "mlp",
        params: dict[str, Any] | None = None,
        *,
        validation_fraction: float = 0.0,
        device: str = "cpu",
        threads: int | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.kind = kind
        self.params = params
        self.validation_fraction = validation_fraction
        self.device = device
        self.threads = threads
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values become the training mean (table) or padding (sequence)
        return tags

    def _validated(self) -> tuple[dict[str, Any], str]:
        if self.kind not in FAMILIES:
            raise ConfigError(
                f"{type(self).__name__}: unknown kind {self.kind!r}; allowed: {allowed(FAMILIES)}."
                f"{did_you_mean(str(self.kind), FAMILIES)}"
            )
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ConfigError(
                f"{type(self).__name__}: validation_fraction must be in [0, 1); got {self.validation_fraction!r}"
            )
        params = FAMILIES[self.kind].validate(type(self).__name__, self.params or {})
        return params, resolve_device(self.device)

    def _fit_codes(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        params, device = self._validated()
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        n = len(X)
        if n < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples to fit; got n_samples = {n}")
        train_idx, valid_idx = np.arange(n), None
        if self.validation_fraction > 0:
            stratify = y if self._task != "regression" and np.bincount(y).min() >= 2 else None
            train_idx, valid_idx = train_test_split(
                np.arange(n), test_size=self.validation_fraction, random_state=seed, stratify=stratify
            )
        from .net import fit_net, scorer_for

        names = tuple(f"x{i}" for i in range(X.shape[1]))
        valid = FeatureMatrix(np.ascontiguousarray(X[valid_idx]), names, ()) if valid_idx is not None else None
        self.net_, result = fit_net(
            type(self).__name__,
            self.kind,
            params,
            FeatureMatrix(np.ascontiguousarray(X[train_idx]), names, ()),
            y[train_idx],
            valid,
            y[valid_idx] if valid_idx is not None else None,
            task=self._task,
            n_classes=n_classes,
            scorer=scorer_for(get_metric(self._metric)),
            seed=seed,
            device=device,
            threads=self.threads,
        )
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.n_iter_ = result.epochs_run

    def _predict_raw(self, X: Any) -> np.ndarray:
        from .net import predict_net

        check_is_fitted(self, "net_")
        X = validate_data(self, X, reset=False, dtype=np.float32, ensure_all_finite="allow-nan")
        fm = FeatureMatrix(np.ascontiguousarray(X), tuple(f"x{i}" for i in range(X.shape[1])), ())
        return predict_net(self.net_, fm, device=resolve_device(self.device), threads=self.threads)


class NetClassifier(ClassifierMixin, _NetEstimator):
    """A net classifier: ``predict_proba`` is the softmax of one logit per class (binary included).

    Parameters: ``kind`` (``'mlp'``, ``'realmlp'``, ``'tabm'``, ``'cnn'``, ``'hybrid'``, ``'rnn'``, ``'cnn1d'``),
    ``params`` (the spec's net params, e.g. ``{"hidden": [64], "epochs": 20}``), ``validation_fraction`` (held-out
    share for early stopping; 0 = off), ``device`` (``'auto'``, ``'cpu'``, ``'cuda'``), ``threads`` (torch threads;
    ``None`` = unchanged), ``random_state``. Fitted: ``classes_``, ``net_``, ``history_``, ``best_epoch_``,
    ``n_iter_`` (epochs run).
    """

    _task = "multiclass"
    _metric = "accuracy"

    def fit(self, X: Any, y: Any) -> NetClassifier:
        X, y = validate_data(self, X, y, dtype=np.float32, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data; got 1 class "
                f"({self.classes_[0]!r})"
            )
        self._fit_codes(X, encoder.transform(y).astype(np.int64), len(self.classes_))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._predict_raw(X)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)  # checks that the estimator is fitted
        return self.classes_[np.argmax(proba, axis=1)]


class NetRegressor(RegressorMixin, _NetEstimator):
    """A net regressor on one target (standardised inside with the training rows' mean and std).

    Parameters and fitted attributes as :class:`NetClassifier`, without ``classes_``.
    """

    _task = "regression"
    _metric = "r2"

    def fit(self, X: Any, y: Any) -> NetRegressor:
        X, y = validate_data(self, X, y, dtype=np.float32, ensure_all_finite="allow-nan", y_numeric=True)
        self._fit_codes(X, np.asarray(y, dtype=np.float64), 1)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self._predict_raw(X)[:, 0].astype(np.float64)
