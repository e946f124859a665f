"""CatBoost adapter (``kind = "catboost"``, the optional extra ``pip install 'kaggle-kit[catboost]'``): oblivious
trees on CPU or GPU, categorical columns given to CatBoost natively, early stopping on the fold's validation rows,
models saved in CatBoost's own ``.cbm`` format.

Categorical columns (the positions ``FeatureMatrix.categorical`` lists, holding the encoder's level codes with NaN
for a missing or unseen level) reach CatBoost as integer ``cat_features``, the missing level as a level of its own
(-1): CatBoost encodes them with its ordered target statistics, computed on permutations of the training rows so
that no row's encoding sees its own target, instead of one-hot columns.

Defaults are AutoGluon's (its CatBoost baseline: learning rate 0.05, CatBoost's own defaults otherwise, written out:
depth 6, ``l2_leaf_reg`` 3, ``border_count`` 254). A model's ``params`` pass through under CatBoost's canonical
names (its own synonym table, ``catboost.core._process_synonyms``) and win over them; unknown names and unparsable
values are refused by CatBoost's own option parser before any fold is fitted.
"""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ModelSpec
from ..errors import ConfigError, DataError
from ..features import FeatureMatrix
from .base import (
    FitContext,
    Fitted,
    as_probabilities,
    boosting_context,
    class_positions,
    kit_score,
    model_stopping_metric,
)
from .library_params import Resolved, canonicalise, check_monotone, close_matches, probe_rows, quiet

INSTALL_HINT = "pip install 'kaggle-kit[catboost]'"
_RESERVED = {
    "thread_count": "set run.threads_per_task",
    "task_type": "set device in the spec (auto | cpu | cuda)",
    "devices": "set device in the spec (auto | cpu | cuda)",
    "random_seed": "set seed on the model or in the spec",
    "iterations": "set num_boost_round on the model, not in params",
    "od_wait": "set early_stopping_rounds on the model",
    "od_type": "set early_stopping_rounds on the model",
    "od_pval": "set early_stopping_rounds on the model",
    "use_best_model": "the best iteration is kept whenever early_stopping_rounds is set",
    "allow_writing_files": "the kit writes the model file and nothing else",
    "train_dir": "the kit writes the model file and nothing else",
    "cat_features": "categorical columns follow from data.categorical and the pipeline",
    "classes_count": "it follows from the target",
    "class_names": "it follows from the target",
}
_LOSS = {"binary": "Logloss", "multiclass": "MultiClass", "regression": "RMSE"}
#: kit metric (as named by base.stopping_metric) -> CatBoost metric computing the same value
_NATIVE = {
    ("roc_auc", "binary"): "AUC",
    ("log_loss", "binary"): "Logloss",
    ("log_loss", "multiclass"): "MultiClass",
    ("accuracy", "binary"): "Accuracy",
    ("accuracy", "multiclass"): "Accuracy",
    ("rmse", "regression"): "RMSE",
    ("mae", "regression"): "MAE",
}
#: regression losses CatBoost fits on the log scale (its ``_get_default_prediction_type`` names Poisson and Tweedie;
#: LogLinQuantile's raw values are log quantiles too: mean 1.2 for counts of median 3): predictions are the exponent
#: of the raw formula value, and CatBoost's own metrics (RMSE, MAE) would score the raw log-scale values
_EXPONENT_LOSSES = ("Poisson", "Tweedie", "LogLinQuantile")
#: the losses CatBoost fits each classification task with (its probabilities are what the kit predicts)
_CLASS_LOSSES = {"binary": ("Logloss", "CrossEntropy"), "multiclass": ("MultiClass",)}
#: losses whose model predicts more than one value per row, which a kit regression (one column) cannot hold
_MULTI_OUTPUT_LOSSES = ("RMSEWithUncertainty", "MultiRMSE", "MultiQuantile", "SurvivalAft")
#: params holding one value per column (or naming columns by position): the probe's two columns are not the fold's
#: (a constraint on column 3 was refused, "Monotone constraints may be imposed only on float features"); CatBoost's
#: option parser reads them, and check_monotone and the fold's fit judge them against the fold's columns
_PER_COLUMN = (
    "monotone_constraints",
    "feature_weights",
    "first_feature_use_penalties",
    "per_object_feature_penalties",
    "per_float_feature_quantization",
    "ignored_features",
)
DEFAULTS: dict[str, Any] = {"learning_rate": 0.05, "depth": 6, "l2_leaf_reg": 3.0, "border_count": 254}
#: CatBoost takes one of these at most ("Only one of parameters [...] should be set"); the kit's quiet default
#: gives way to the user's
_OUTPUT = ("verbose", "logging_level", "verbose_eval", "silent")
_MISSING_LEVEL = -1


def import_catboost(model: str) -> Any:
    """The catboost module, or a ConfigError saying how to install it."""
    try:
        import catboost
    except ImportError:
        raise ConfigError(
            f"model {model!r}: kind = 'catboost' needs the catboost package, which is not installed; "
            f"install it with: {INSTALL_HINT}"
        ) from None
    return catboost


def _parameter_names(catboost: Any) -> set[str]:
    """CatBoost's parameter names: the keyword arguments of its own estimators."""
    names: set[str] = set()
    for cls in (catboost.CatBoostClassifier, catboost.CatBoostRegressor):
        names.update(inspect.signature(cls.__init__).parameters)
    return names - {"self", "kwargs"}


class CatBoostAdapter:
    file_name = "model.cbm"
    uses_gpu = True
    thread_invariant = False
    library = "catboost"
    sample_weights = True  # FitContext.sample_weight weights the training rows
    reads_features = True

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        catboost = import_catboost(spec.name)
        self.resolved = _resolve(spec, catboost)
        if "eval_metric" in self.resolved.params and spec.early_stopping_metric != "auto":
            raise ConfigError(
                f"model {spec.name!r}: params.eval_metric and early_stopping_metric = {spec.early_stopping_metric!r} "
                "both choose what early stopping follows; keep one"
            )

    def _loss(self) -> str:
        """The user's ``loss_function`` (under any of its names) as a string, or "" for the kit's."""
        loss = self.resolved.params.get("loss_function")
        return loss if isinstance(loss, str) else ""

    def _native_metric(self, ctx: FitContext) -> str | None:
        if ctx.task == "regression" and self._loss().startswith(_EXPONENT_LOSSES):
            # CatBoost's RMSE / MAE score the log-scale raw values of these losses: the kit's metric is evaluated
            # on their exponent instead (_KitMetric); on a GPU the loss itself is followed (params)
            return None
        return _NATIVE.get((model_stopping_metric(self.spec, ctx), ctx.task))

    def params(self, ctx: FitContext) -> dict[str, Any]:
        """What CatBoost is given (the user's params under the names the user wrote: CatBoost resolves them)."""
        defaults: dict[str, Any] = {"loss_function": _LOSS[ctx.task], **DEFAULTS, "logging_level": "Silent"}
        native = self._native_metric(ctx)
        if native is not None:
            defaults["eval_metric"] = native
        elif ctx.device == "cuda" and ctx.task == "regression" and self._loss().startswith(_EXPONENT_LOSSES):
            defaults["eval_metric"] = self._loss()  # a Python metric cannot run on the GPU; the loss can
        quiet_given = any(self.resolved.user_key(k) in _OUTPUT for k in self.resolved.params)
        left_out = {*self.resolved.params, *(("logging_level",) if quiet_given else ())}
        params = {**{k: v for k, v in defaults.items() if k not in left_out}, **self.spec.params}
        params.update(
            iterations=self.spec.num_boost_round,
            thread_count=ctx.threads,
            random_seed=ctx.seed,
            allow_writing_files=False,
            task_type="GPU" if ctx.device == "cuda" else "CPU",
        )
        if ctx.device == "cuda" and "gpu_ram_part" not in self.resolved.params:
            # CatBoost reserves this share of the GPU's memory when it starts (0.95 by default): a second fit
            # sharing the GPU would find none left
            params["gpu_ram_part"] = round(0.95 * ctx.gpu_share, 4)
        if self.spec.early_stopping_rounds is not None:
            params.update(od_type="Iter", od_wait=self.spec.early_stopping_rounds, use_best_model=True)
        else:
            params["use_best_model"] = False  # CatBoost's default with an eval set would keep the best iteration
        if ctx.task == "multiclass":
            params["classes_count"] = ctx.n_classes  # a class absent from a fold's training rows keeps its column
        weights_key = self.resolved.user_key("class_weights")
        if ctx.task != "regression" and isinstance(params.get(weights_key), dict):
            # keyed by label; CatBoost would take the keys as its class names, in their order, as its columns' order
            weights = class_positions(params[weights_key], ctx, self.spec.name, weights_key)
            params[weights_key] = [weights[i] for i in range(len(weights))]
        return params

    def check(self, ctx: FitContext) -> None:
        """CatBoost's own option parser on the params this run gives it (unknown names, unparsable values, options
        that do not go together), and what CatBoost cannot do on a GPU."""
        _check_values(self.spec, self.resolved, {**self.params(ctx), "task_type": "CPU"})
        loss = self._loss()
        base = loss.split(":")[0]
        fits = _CLASS_LOSSES.get(ctx.task)
        if loss and (base not in fits if fits else base in {*_CLASS_LOSSES["binary"], *_CLASS_LOSSES["multiclass"]}):
            takes = ", ".join(repr(x) for x in fits) if fits else "a regression loss such as 'RMSE' or 'Poisson'"
            raise ConfigError(
                f"model {self.spec.name!r}: params.{self.resolved.user_key('loss_function')} = {loss!r} does not fit "
                f"a {ctx.task} task; CatBoost models of this task take {takes}"
            )
        if ctx.task == "regression" and base in _MULTI_OUTPUT_LOSSES:
            raise ConfigError(
                f"model {self.spec.name!r}: params.{self.resolved.user_key('loss_function')} = {loss!r} makes CatBoost "
                "predict several values per row, and a regression model of the kit predicts one; use a one-output "
                "loss such as 'RMSE', 'MAE', 'Quantile:alpha=0.5', 'Poisson' or 'Tweedie:variance_power=1.5'"
            )
        per_column = {self.resolved.user_key(k) for k in _PER_COLUMN if k in self.resolved.params}
        probed = {k: v for k, v in self.params(ctx).items() if k not in per_column}
        _probe(self.spec.name, {**probed, "task_type": "CPU"}, ctx)
        if ctx.device == "cuda" and "eval_metric" not in self.params(ctx):
            raise ConfigError(
                f"model {self.spec.name!r}: CatBoost on a GPU early-stops only on its own metrics, and it has none "
                f"computing {ctx.metric.name!r}; set early_stopping_metric = 'loss' (or device = 'cpu')"
            )

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        from catboost import CatBoost

        ctx = boosting_context(ctx, train)
        self.check(ctx)
        if "monotone_constraints" in self.resolved.params:
            key = self.resolved.user_key("monotone_constraints")
            value = self.spec.params[key]
            check_monotone(self.spec.name, "CatBoost", key, value, train.names, train.categorical, exact=False)
        params = self.params(ctx)
        if "eval_metric" not in params:
            exponent = ctx.task == "regression" and self._loss().startswith(_EXPONENT_LOSSES)
            params["eval_metric"] = _KitMetric(ctx, exponent)
        model = CatBoost(params)
        with warnings.catch_warnings():  # a Python metric is evaluated as it is; numba would only speed it up
            warnings.filterwarnings("ignore", message="Failed to import numba")
            model.fit(
                _pool(train, y_train, ctx.threads, self.spec.name, ctx.sample_weight),
                eval_set=_pool(valid, y_valid, ctx.threads),
            )
        history = {
            ctx.metric.name if name == _KitMetric.__name__ else name: [float(v) for v in values]
            for name, values in model.get_evals_result().get("validation", {}).items()
        }
        if self.spec.early_stopping_rounds is not None:
            best = int(model.get_best_iteration()) + 1  # counted from 0; use_best_model kept exactly these trees
        else:
            best = int(model.tree_count_)
        return Fitted(model=model, best_iteration=best, history=history, device=ctx.device)

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        pool = _pool(X, None, ctx.threads, self.spec.name)
        if ctx.task == "regression":
            kind = "Exponent" if _fitted_loss(fitted.model).startswith(_EXPONENT_LOSSES) else "RawFormulaVal"
            raw = fitted.model.predict(pool, prediction_type=kind, thread_count=ctx.threads)
            return np.asarray(raw, dtype=np.float32).reshape(-1, 1)
        proba = fitted.model.predict(pool, prediction_type="Probability", thread_count=ctx.threads)
        return as_probabilities(proba, ctx.n_classes)

    def save(self, fitted: Fitted, path: Path) -> None:
        fitted.model.save_model(str(path), format="cbm")

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        from catboost import CatBoost

        model = CatBoost()
        model.load_model(str(path), format="cbm")
        return Fitted(model=model, best_iteration=int(model.tree_count_))


_PROBED: set[str] = set()  # parameter sets CatBoost trained with on a few rows in this process


def _probe(model: str, params: dict[str, Any], ctx: FitContext) -> None:
    """One round on a few rows of the task's kind, evaluated: what CatBoost's option parser lets through and its fit
    refuses (a metric of another task than the loss's, ``metric [RMSE] is incompatible with loss [Logloss]``) is
    refused here, before any fold, instead of by every fold with CatBoost's source line."""
    import json

    from catboost import CatBoost, CatBoostError, Pool

    checked = {k: v for k, v in params.items() if k not in ("gpu_ram_part", "thread_count", "iterations")}
    key = json.dumps([ctx.task, ctx.n_classes, checked], sort_keys=True, default=str)
    if key in _PROBED:
        return
    X, y = probe_rows(ctx.task, ctx.n_classes)
    rows = Pool(X, label=y)
    try:
        with quiet():
            CatBoost({**checked, "iterations": 1, "thread_count": 1}).fit(rows, eval_set=rows)
    except CatBoostError as exc:
        reason = re.sub(r"^\S+\.(h|cpp):\d+: ", "", " ".join(str(exc).split()))
        raise ConfigError(f"model {model!r}: CatBoost rejects these params for a {ctx.task} task: {reason}") from None
    _PROBED.add(key)


def _fitted_loss(model: Any) -> str:
    """The loss a fitted or loaded CatBoost model was trained with, as CatBoost records it in the model."""
    return str(model.get_all_params().get("loss_function", ""))


def _resolve(spec: ModelSpec, catboost: Any) -> Resolved:
    """``spec.params`` keyed by CatBoost's canonical names, as CatBoost's own synonym table resolves each one."""
    from catboost.core import CatBoostError, _process_synonyms

    def canonical_of(key: str) -> str:
        probe = {key: spec.params[key]}
        try:
            _process_synonyms(probe)
        except CatBoostError:  # a value CatBoost refuses: the parser below names it
            return key
        return next(iter(probe)) if len(probe) == 1 else key

    names = lambda: _parameter_names(catboost)  # noqa: E731
    resolved = canonicalise(spec.name, "CatBoost", spec.params, canonical_of, names, _RESERVED)
    together = dict(spec.params)
    try:
        _process_synonyms(together)
    except CatBoostError as exc:  # e.g. two of verbose / logging_level / silent
        raise ConfigError(f"model {spec.name!r}: CatBoost refuses these params together: {exc}") from None
    return resolved


def _check_values(spec: ModelSpec, resolved: Resolved, params: dict[str, Any]) -> None:
    """CatBoost's own option parser on ``params``: unknown names and unparsable values, named in the user's words."""
    import catboost
    from catboost import _catboost
    from catboost.core import CatBoostError, _process_synonyms

    params = dict(params)
    try:
        _process_synonyms(params)
        _catboost._check_train_params(params)
    except CatBoostError as exc:
        message = " ".join(str(exc).split())
        reason = re.sub(r"^\S+\.(h|cpp):\d+: ", "", message)
        unknown = re.search(r"Unknown option \{?(\w+)\}?", message)
        if unknown:
            key = unknown.group(1)
            raise ConfigError(
                f"model {spec.name!r}: params.{key} is not a parameter CatBoost knows."
                f"{close_matches(key, _parameter_names(catboost))}"
            ) from None
        bad = re.search(r'parameter "(\w+)"', message)
        if bad:
            key = resolved.user_key(bad.group(1))
            if key in spec.params:
                raise ConfigError(
                    f"model {spec.name!r}: params.{key} = {spec.params[key]!r} is rejected by CatBoost: {reason}"
                ) from None
        raise ConfigError(f"model {spec.name!r}: CatBoost rejects these params: {reason}") from None


def _pool(
    X: FeatureMatrix, y: np.ndarray | None, threads: int, model: str = "", weight: np.ndarray | None = None
) -> Any:
    """A CatBoost Pool: numeric columns as float32, categorical ones as integer level codes (-1 = missing)."""
    from catboost import Pool

    if not X.categorical:
        return Pool(X.X, label=y, weight=weight, feature_names=list(X.names), thread_count=threads)
    import pandas as pd

    cats = set(X.categorical)
    columns: dict[str, np.ndarray] = {}
    for i, name in enumerate(X.names):
        column = X.X[:, i]
        if i in cats:
            codes = np.where(np.isnan(column), _MISSING_LEVEL, column)
            if not np.array_equal(codes, np.round(codes)):
                raise DataError(
                    f"model {model!r}: categorical column {name!r} holds non-integer values; a categorical column "
                    "must hold level codes (declare it numeric, or encode it in the pipeline)"
                )
            columns[name] = codes.astype(np.int64)
        else:
            columns[name] = column
    return Pool(pd.DataFrame(columns), label=y, weight=weight, cat_features=sorted(cats), thread_count=threads)


class _KitMetric:
    """The kit's metric as a CatBoost evaluation metric, for early stopping where CatBoost has no native one."""

    def __init__(self, ctx: FitContext, exponent: bool = False) -> None:
        self.ctx = ctx
        self.exponent = exponent

    def is_max_optimal(self) -> bool:
        return self.ctx.metric.greater_is_better

    def get_final_error(self, error: float, weight: float) -> float:
        return error

    def evaluate(self, approxes: Any, target: Any, weight: Any) -> tuple[float, float]:
        raw = np.column_stack([np.asarray(a, dtype=np.float64) for a in approxes])
        if self.ctx.task == "binary":
            pred = 1.0 / (1.0 + np.exp(-raw[:, 0]))
        elif self.ctx.task == "multiclass":
            shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
            pred = shifted / shifted.sum(axis=1, keepdims=True)
        elif self.exponent:
            pred = np.exp(raw[:, 0])  # Poisson / Tweedie: the raw values are on the log scale
        else:
            pred = raw[:, 0]
        ctx = self.ctx
        return kit_score(ctx.metric, np.asarray(target), pred, ctx.task, ctx.n_classes), 1.0
