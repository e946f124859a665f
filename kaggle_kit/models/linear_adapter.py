"""A linear model a user can trust on raw tables: ``kind = "linear"``.

LogisticRegression (classification) or Ridge (regression) on a preprocessing built in and fitted on the fold's
training rows:

* numeric columns: training medians fill missing values, and a 0/1 missing-indicator column is added for every
  column that had missing values in training; then ``numeric = "standard"`` standardises them, ``"spline"`` expands
  each into a cubic B-spline basis on quantile knots (columns with few distinct values stay linear) and
  standardises the result, ``"quantile"`` maps each onto a normal distribution by its training quantiles;
* categorical columns (the feature matrix's code columns): one-hot, levels seen fewer than ``min_frequency`` times
  (or beyond the ``max_levels`` most frequent) share one "rare" column, and a level never seen in training or a
  missing value sets no column. ``max_levels = "auto"`` (the default) keeps as many levels as keep the dense one-hot
  block within :data:`ONE_HOT_CELLS` cells of the fold's rows (:func:`level_caps`: the narrow columns keep theirs,
  the wide ones share the rest), and at least :data:`MIN_LEVELS` per column; predictions are made in row chunks of
  that size. A fixed 50 had grouped a 60-level neighbourhood's last 10 levels into one column: CV RMSLE 0.194 where
  every level kept gives 0.151, and a 300-level shop's ROC AUC 0.708 where 0.788 (``benchmarks/linear_levels.py``,
  RESULTS section 22).

Regularisation: ``C`` (classification) / ``alpha`` (regression) default to scikit-learn's 1.0: measured with 5-fold
OOF on breast_cancer, wine, digits (log loss) and diabetes (RMSE), the fixed value was as good as an inner search on
3 of the 4 at a tenth of the time. ``"auto"`` chooses it on the fold's training rows instead (``LogisticRegressionCV``:
3 inner folds scored by log loss over ``C`` in 1e-3..1e2; ``RidgeCV``: efficient leave-one-out over ``alpha`` in
1e-3..1e3). Any other LogisticRegression / Ridge parameter passes through; unknown names are rejected before any fit
with the closest names.

Saved without pickle: the fitted scaler / spline / quantile transformer and the linear model as their arrays
(:mod:`.sklearn_state`), the medians, indicator columns and one-hot levels as JSON and arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..config import ModelSpec
from ..errors import ConfigError, KitError, allowed, did_you_mean
from ..features import FeatureMatrix
from .base import FitContext, Fitted, check_reserved
from .sklearn_adapter import FORMAT, check_params, classifier_proba, training_medians, validate_params
from .sklearn_state import dump_estimator, estimator_class, load_estimator, read_model_files, save_model_files

NUMERIC = ("standard", "spline", "quantile")
#: the adapter's own params (the rest go to LogisticRegression / Ridge) and their defaults
OWN: dict[str, Any] = {
    "numeric": "standard",
    "n_knots": 5,
    "degree": 3,
    "n_quantiles": 1000,
    "min_frequency": 10,
    "max_levels": "auto",
}
#: the one-hot block's cells (rows x level columns, float64) ``max_levels = "auto"`` allows: 400 MB
ONE_HOT_CELLS = 50_000_000
MIN_LEVELS = 50  #: the fewest levels per column ``"auto"`` keeps (when they are seen ``min_frequency`` times)
CLASSIFIER, REGRESSOR = "sklearn.linear_model.LogisticRegression", "sklearn.linear_model.Ridge"
ESTIMATOR_DEFAULTS: dict[str, dict[str, Any]] = {CLASSIFIER: {"max_iter": 1000}, REGRESSOR: {}}
C_GRID = np.logspace(-3, 2, 11)
ALPHA_GRID = np.logspace(-3, 3, 13)
RESERVED = {"random_state": "the seed comes from seed in the spec", "n_jobs": "threads come from run.threads_per_task"}


class LinearAdapter:
    file_name = "model.json"
    uses_gpu = False
    thread_invariant = False
    library = "sklearn.linear_model"
    reads_features = True

    def __init__(self, spec: ModelSpec) -> None:
        check_reserved(spec.params, RESERVED, spec.name)
        self.spec = spec
        self.own = {**OWN, **{k: v for k, v in spec.params.items() if k in OWN}}
        self.estimator_params = {k: v for k, v in spec.params.items() if k not in OWN}
        numeric = self.own["numeric"]
        if numeric not in NUMERIC:
            raise ConfigError(
                f"model {spec.name!r}: params.numeric must be {allowed(NUMERIC)}; got {numeric!r}."
                f"{did_you_mean(str(numeric), NUMERIC)}"
            )
        for key in ("n_knots", "degree", "n_quantiles", "min_frequency", "max_levels"):
            value = self.own[key]
            if key == "max_levels" and value == "auto":
                continue
            low = 2 if key in ("n_knots", "n_quantiles") else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                also = ' or "auto"' if key == "max_levels" else ""
                raise ConfigError(
                    f"model {spec.name!r}: params.{key} must be a whole number >= {low}{also}; got {value!r}"
                )

    def _path(self, task: str) -> str:
        return REGRESSOR if task == "regression" else CLASSIFIER

    def make(self, ctx: FitContext) -> tuple[Any, str | None]:
        """The unfitted linear model and, when its strength is ``"auto"``, the name of that parameter."""
        path = self._path(ctx.task)
        cls = estimator_class(path, self.spec.name)
        where = f"kind = 'linear' ({path}; own params: {', '.join(OWN)})"
        check_params(cls, self.estimator_params, self.spec.name, where, RESERVED)
        strength = "alpha" if ctx.task == "regression" else "C"
        params = {**ESTIMATOR_DEFAULTS[path], **self.estimator_params}
        auto = params.get(strength) == "auto"
        if auto:
            params.pop(strength, None)
        if "random_state" in cls().get_params():
            params["random_state"] = ctx.seed
        est = cls(**params)
        validate_params(est, self.spec.name, where)
        return est, strength if auto else None

    def check(self, ctx: FitContext) -> None:
        self.make(ctx)

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        est, auto = self.make(ctx)
        with threadpool_limits(limits=ctx.threads):
            prep = _Preprocessor.fit(train, self.own, ctx.seed)
            Z = prep.transform(train.X)
            if auto is not None:
                _choose_strength(est, auto, Z, y_train, ctx)
            est.fit(Z, y_train)
        return Fitted(model={"estimator": est, "prep": prep})

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        est, prep = fitted.model["estimator"], fitted.model["prep"]
        # in row chunks: the dense one-hot of a large test file at once could take gigabytes (a block of the fit's
        # budget, ONE_HOT_CELLS, at most)
        step = max(1, ONE_HOT_CELLS // max(1, prep.width))
        parts = []
        with threadpool_limits(limits=ctx.threads):
            for start in range(0, len(X.X), step):
                Z = prep.transform(X.X[start : start + step])
                if ctx.task == "regression":
                    parts.append(np.asarray(est.predict(Z), dtype=np.float32).reshape(-1, 1))
                else:
                    parts.append(classifier_proba(est, Z, ctx.n_classes))
        if not parts:
            return np.zeros((0, 1 if ctx.task == "regression" else ctx.n_classes), dtype=np.float32)
        return np.concatenate(parts)

    def save(self, fitted: Fitted, path: Path) -> None:
        est, prep = fitted.model["estimator"], fitted.model["prep"]
        node, arrays = dump_estimator(est, "model")
        prep_meta, prep_arrays = prep.dump()
        save_model_files(path, {"format": FORMAT, "estimator": node, "prep": prep_meta}, {**arrays, **prep_arrays})

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        expected = self._path(ctx.task)

        def read(meta: dict[str, Any], arrays: Any) -> Fitted:
            if meta.get("format") != FORMAT or meta["estimator"]["class"].rsplit(".", 1)[-1] != expected.split(".")[-1]:
                raise KitError(f"it does not hold a kind = 'linear' {expected.rsplit('.', 1)[-1]}")
            est = load_estimator(meta["estimator"], arrays, self.spec.name)
            return Fitted(model={"estimator": est, "prep": _Preprocessor.load(meta["prep"], arrays, self.spec.name)})

        return read_model_files(path, self.spec.name, read)  # type: ignore[no-any-return]


def _choose_strength(est: Any, name: str, Z: np.ndarray, y: np.ndarray, ctx: FitContext) -> None:
    """Set ``C`` / ``alpha`` by an inner search on the training rows only (never the fold's validation rows)."""
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV

    if name == "alpha":
        search = RidgeCV(alphas=ALPHA_GRID, fit_intercept=est.fit_intercept).fit(Z, y)
        est.set_params(alpha=float(search.alpha_))
        return
    counts = np.bincount(y.astype(np.int64))
    cv = int(min(3, counts[counts > 0].min())) if len(counts) else 0
    if cv < 2:  # a class with a single training row: no stratified inner folds; keep scikit-learn's default
        est.set_params(C=1.0)
        return
    params = est.get_params()
    search = LogisticRegressionCV(
        Cs=C_GRID,
        cv=cv,
        scoring="neg_log_loss",
        solver=params["solver"],
        max_iter=params["max_iter"],
        tol=params["tol"],
        class_weight=params["class_weight"],
        fit_intercept=params["fit_intercept"],
        l1_ratios=(params["l1_ratio"],),
        random_state=ctx.seed,
        use_legacy_attributes=False,
    ).fit(Z, y)
    est.set_params(C=float(np.ravel(search.C_)[0]))


class _Preprocessor:
    """Impute + indicators + numeric transform + one-hot, as arrays; ``transform`` gives the float64 design."""

    def __init__(
        self,
        numeric: np.ndarray,
        medians: np.ndarray,
        indicators: np.ndarray,
        categorical: list[int],
        levels: list[list[int]],
        rare: list[list[int]],
        steps: dict[str, Any],
        spline_cols: np.ndarray,
    ) -> None:
        self.numeric = numeric  # indices of the numeric columns in the feature matrix
        self.medians = medians  # one per numeric column
        self.indicators = indicators  # positions (within numeric) that get a missing indicator
        self.categorical = categorical
        self.levels = levels  # per categorical column: the codes with their own column
        self.rare = rare  # per categorical column: the codes that share the rare column
        self.steps = steps  # fitted scikit-learn transformers: "scaler", "spline", "quantile"
        self.spline_cols = spline_cols  # positions (within numeric) expanded into splines

    @property
    def width(self) -> int:
        """The columns :meth:`transform` writes, about (a spline's basis counted as 8): sizes its row chunks."""
        one_hot = sum(len(kept) + bool(rare) for kept, rare in zip(self.levels, self.rare, strict=True))
        return len(self.numeric) + 7 * len(self.spline_cols) + len(self.indicators) + one_hot

    @classmethod
    def fit(cls, train: FeatureMatrix, own: dict[str, Any], seed: int) -> _Preprocessor:
        from sklearn.preprocessing import QuantileTransformer, SplineTransformer, StandardScaler

        X = train.X
        categorical = sorted(train.categorical)
        numeric = np.array([j for j in range(X.shape[1]) if j not in set(categorical)], dtype=np.int64)
        num = X[:, numeric].astype(np.float64)
        medians = training_medians(num.astype(np.float32)).astype(np.float64)
        indicators = np.flatnonzero(np.isnan(num).any(axis=0)).astype(np.int64)
        num = np.where(np.isnan(num), medians, num)
        steps: dict[str, Any] = {}
        spline_cols = np.zeros(0, dtype=np.int64)
        if own["numeric"] == "spline" and num.shape[1]:
            distinct = np.array([len(np.unique(num[:, j])) for j in range(num.shape[1])])
            spline_cols = np.flatnonzero(distinct > 2 * own["n_knots"]).astype(np.int64)
            if len(spline_cols):
                steps["spline"] = SplineTransformer(
                    n_knots=own["n_knots"], degree=own["degree"], knots="quantile", extrapolation="linear"
                ).fit(num[:, spline_cols])
        elif own["numeric"] == "quantile" and num.shape[1]:
            steps["quantile"] = QuantileTransformer(
                n_quantiles=min(own["n_quantiles"], len(num)), output_distribution="normal", random_state=seed
            ).fit(num)
        prep = cls(numeric, medians, indicators, categorical, [], [], steps, spline_cols)
        prep.levels, prep.rare = _one_hot_levels(X, categorical, own["min_frequency"], own["max_levels"])
        if own["numeric"] != "quantile" and num.shape[1]:
            steps["scaler"] = StandardScaler().fit(prep._numeric_part(num))
        return prep

    def _numeric_part(self, num: np.ndarray) -> np.ndarray:
        if "quantile" in self.steps:
            return np.asarray(self.steps["quantile"].transform(num))
        if "spline" not in self.steps:
            return num
        linear = np.setdiff1d(np.arange(num.shape[1]), self.spline_cols)
        return np.hstack([num[:, linear], self.steps["spline"].transform(num[:, self.spline_cols])])

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The design matrix, written into one preallocated array: the parts (numeric, indicators, one-hot) had each
        been allocated and then copied by ``np.hstack`` (9.7 s over the folds of 1M rows). Plain numeric columns
        (no spline or quantile step) are imputed and scaled in their place in it: the float64 copy of those columns
        and its imputed copy beside the design had been two more arrays of rows x columns x 8 bytes at the fit's peak
        (256 MB of 780 on 400k rows x 40 numeric columns)."""
        widths = [len(kept) + bool(rare) for kept, rare in zip(self.levels, self.rare, strict=True)]
        n_in = len(self.numeric)
        if n_in and ("spline" in self.steps or "quantile" in self.steps):  # they change the columns' count
            num = X[:, self.numeric].astype(np.float64)
            missing = np.isnan(num)
            numeric = self._numeric_part(np.where(missing, self.medians, num))
            del num
            if "scaler" in self.steps:  # in place: the array is this call's own
                numeric = self.steps["scaler"].transform(numeric, copy=False)
            out = self._design(len(X), numeric.shape[1], widths)
            out[:, : numeric.shape[1]] = numeric
            del numeric
        else:
            out = self._design(len(X), n_in, widths)
            numeric = out[:, :n_in]  # a view: filled, imputed and scaled where it lies
            numeric[...] = X[:, self.numeric]  # float32 -> float64 exactly, as astype
            missing = np.isnan(numeric)
            np.copyto(numeric, self.medians, where=missing)
            if "scaler" in self.steps and n_in:  # in place on the view (X -= mean_, X /= scale_)
                scaled = self.steps["scaler"].transform(numeric, copy=False)
                if not np.shares_memory(scaled, out):  # a scikit-learn that copies a view: the values all the same
                    numeric[...] = scaled
        n_numeric = out.shape[1] - len(self.indicators) - sum(widths)
        start = n_numeric + len(self.indicators)
        out[:, n_numeric:start] = missing[:, self.indicators]
        for j, kept, rare, width in zip(self.categorical, self.levels, self.rare, widths, strict=True):
            _one_hot_into(out[:, start : start + width], X[:, j], kept, rare)
            start += width
        return out

    def _design(self, rows: int, n_numeric: int, widths: list[int]) -> np.ndarray:
        return np.zeros((rows, n_numeric + len(self.indicators) + sum(widths)), dtype=np.float64)

    def dump(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta: dict[str, Any] = {
            "categorical": self.categorical,
            "levels": self.levels,
            "rare": self.rare,
            "steps": {},
        }
        arrays = {
            "__numeric": self.numeric,
            "__medians": self.medians,
            "__indicators": self.indicators,
            "__spline_cols": self.spline_cols,
        }
        for name, step in self.steps.items():
            meta["steps"][name], step_arrays = dump_estimator(step, f"prep.{name}")
            arrays.update(step_arrays)
        return meta, arrays

    @classmethod
    def load(cls, meta: dict[str, Any], arrays: Any, model: str) -> _Preprocessor:
        allowed_steps = {"scaler": "StandardScaler", "spline": "SplineTransformer", "quantile": "QuantileTransformer"}
        steps = {}
        for name, node in meta["steps"].items():
            if name not in allowed_steps or not str(node["class"]).endswith("." + allowed_steps[name]):
                raise KitError(f"unexpected preprocessing step {name!r}")
            steps[name] = load_estimator(node, arrays, model)
        return cls(
            np.asarray(arrays["__numeric"], dtype=np.int64),
            np.asarray(arrays["__medians"], dtype=np.float64),
            np.asarray(arrays["__indicators"], dtype=np.int64),
            [int(j) for j in meta["categorical"]],
            [[int(c) for c in kept] for kept in meta["levels"]],
            [[int(c) for c in rare] for rare in meta["rare"]],
            steps,
            np.asarray(arrays["__spline_cols"], dtype=np.int64),
        )


def level_caps(wanted: list[int], n_rows: int) -> list[int]:
    """The levels each categorical column keeps under ``max_levels = "auto"``: ``wanted`` (its levels seen
    ``min_frequency`` times) where the :data:`ONE_HOT_CELLS` budget of ``n_rows`` rows allows, shared by water-filling
    (the narrow columns take what they need, the wide ones split the rest), at least :data:`MIN_LEVELS` each."""
    left = ONE_HOT_CELLS // max(1, n_rows)
    caps = [0] * len(wanted)
    order = sorted(range(len(wanted)), key=lambda j: wanted[j])
    for done, j in enumerate(order):
        share = left // (len(wanted) - done)
        caps[j] = min(wanted[j], max(MIN_LEVELS, share))
        left = max(0, left - caps[j])
    return caps


def _one_hot_levels(
    X: np.ndarray, categorical: list[int], min_frequency: int, max_levels: int | str
) -> tuple[list[list[int]], list[list[int]]]:
    """Per categorical column: the codes that get their own column (most frequent first), and the rare ones."""
    frequent = []
    for j in categorical:
        col = X[:, j]
        codes = col[~np.isnan(col)].astype(np.int64)
        counts = np.bincount(codes) if len(codes) else np.zeros(0, dtype=np.int64)
        seen = np.flatnonzero(counts)
        order = seen[np.lexsort((seen, -counts[seen]))]  # by count, descending; ties by code
        frequent.append(([int(c) for c in order if counts[c] >= min_frequency], order))
    wanted = [len(kept) for kept, _ in frequent]
    caps = level_caps(wanted, len(X)) if max_levels == "auto" else [int(max_levels)] * len(wanted)
    levels, rare = [], []
    for (kept, order), cap in zip(frequent, caps, strict=True):
        levels.append(kept[:cap])
        rare.append(sorted(set(order.tolist()) - set(kept[:cap])))
    return levels, rare


def _one_hot_into(out: np.ndarray, col: np.ndarray, kept: list[int], rare: list[int]) -> None:
    """Set the one-hot of ``col`` in ``out`` (its columns: ``kept``'s codes, then one for the ``rare`` codes; zeros
    already): a code unseen in training (or missing) has no column."""
    if not out.shape[1]:
        return
    size = max(kept + rare) + 1
    lookup = np.full(size, -1, dtype=np.int64)  # code -> output column; -1: unseen in training (no column)
    lookup[kept] = np.arange(len(kept))
    if rare:
        lookup[rare] = len(kept)
    codes = np.where(np.isnan(col), -1, col).astype(np.int64)
    inside = (codes >= 0) & (codes < size)
    target = np.full(len(col), -1, dtype=np.int64)
    target[inside] = lookup[codes[inside]]
    hit = target >= 0
    out[np.flatnonzero(hit), target[hit]] = 1.0
