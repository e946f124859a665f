"""XGBoost adapter: ``hist`` trees on CPU or CUDA, native categorical splits, early stopping on the fold's
validation rows, models saved as UBJSON truncated at the best iteration.

A model's ``params`` pass through under XGBoost's canonical names and win over the kit's defaults. XGBoost keeps its
alias table in C++ (``eta`` -> ``learning_rate``, ``lambda`` -> ``reg_lambda``, ``n_jobs`` -> ``nthread`` ...) and
exposes it only through its parser, so the adapter asks the parser: a parameter given an unparsable value on a few
rows is refused under its canonical name. Names XGBoost would not use with the model's booster and objective are
found the same way, by XGBoost's own parameter validation (``validate_parameters``).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ModelSpec
from ..errors import ConfigError
from ..features import FeatureMatrix
from .base import FitContext, Fitted, as_probabilities, boosting_context, kit_score, model_stopping_metric
from .library_params import (
    Resolved,
    canonicalise,
    check_monotone,
    check_objective,
    find_culprit,
    merge,
    per_feature,
    probe_rows,
    quiet,
    rejected_value,
)

_RESERVED = {
    "device": "set device in the spec (auto | cpu | cuda)",
    "nthread": "set run.threads_per_task",
    "seed": "set seed on the model or in the spec",
    "num_class": "it follows from the target",
    # not XGBoost parameters (its scikit-learn wrapper's names), but what users reach for
    "n_estimators": "set num_boost_round on the model",
    "num_boost_round": "set num_boost_round on the model, not in params",
    "early_stopping_rounds": "set early_stopping_rounds on the model, not in params",
}
_OBJECTIVE = {"binary": "binary:logistic", "multiclass": "multi:softprob", "regression": "reg:squarederror"}
#: objectives whose predictions are class probabilities, per task (library_params.check_objective)
_PROBABILITY = {"binary": ("binary:logistic", "reg:logistic"), "multiclass": ("multi:softprob",)}
_CLASSIFICATION = ("binary:logistic", "binary:logitraw", "binary:hinge", "multi:softmax", "multi:softprob")
#: kit metric (as named by base.stopping_metric) -> XGBoost metric computing the same value
_NATIVE = {
    ("roc_auc", "binary"): "auc",
    ("log_loss", "binary"): "logloss",
    ("log_loss", "multiclass"): "mlogloss",
    ("accuracy", "binary"): "error",
    ("accuracy", "multiclass"): "merror",
    ("rmse", "regression"): "rmse",
    ("mae", "regression"): "mae",
}
DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.05,
    "max_depth": 6,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "max_cat_to_onehot": 4,
    "tree_method": "hist",
    "verbosity": 0,
}
#: regression objectives whose loss depends on the target only through ``prediction - target``: fitted on the target
#: less its training mean (:func:`target_offset`), which is added back to the predictions
_SHIFTABLE = ("reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "reg:quantileerror")
#: XGBoost's evaluation metrics that are shift-invariant too; any other ``eval_metric`` (mape, rmsle, a deviance)
#: scores the target's own values, so a user's keeps the target uncentred
_SHIFTABLE_METRICS = ("rmse", "mae", "mphe", "quantile")
#: the booster attribute (saved in the UBJ file) holding that mean
OFFSET_ATTR = "kaggle_kit_target_offset"
_UNPARSABLE = "<not a value>"
_RESOLVED: dict[str, tuple[Resolved, tuple[str, ...]]] = {}  # per parameter set and task, in this process


class XGBoostAdapter:
    file_name = "model.ubj"
    uses_gpu = True
    thread_invariant = False
    library = "xgboost"
    sample_weights = True  # FitContext.sample_weight weights the training rows
    reads_features = True

    def __init__(self, spec: ModelSpec) -> None:
        for key, where in _RESERVED.items():  # aliases of these are found when the params are resolved
            if key in spec.params:
                raise ConfigError(f"model {spec.name!r}: params.{key} is set by the kit; {where}")
        if "eval_metric" in spec.params and spec.early_stopping_metric != "auto":
            raise ConfigError(
                f"model {spec.name!r}: params.eval_metric and early_stopping_metric = "
                f"{spec.early_stopping_metric!r} both choose what early stopping follows; keep one"
            )
        self.spec = spec
        self._built: tuple[FeatureMatrix, Any] | None = None

    def _native_metric(self, ctx: FitContext) -> str | None:
        return _NATIVE.get((model_stopping_metric(self.spec, ctx), ctx.task))

    def _kit_params(self, ctx: FitContext) -> dict[str, Any]:
        """What the kit sets whatever the user's params say (the user cannot set these)."""
        params: dict[str, Any] = {"device": ctx.device, "nthread": ctx.threads, "seed": ctx.seed}
        if ctx.task == "multiclass":
            params["num_class"] = ctx.n_classes
        return params

    def _defaults(self, ctx: FitContext) -> dict[str, Any]:
        native = self._native_metric(ctx)
        metric = {"eval_metric": native} if native else {"disable_default_eval_metric": 1}
        return {"objective": _OBJECTIVE[ctx.task], **metric, **DEFAULTS}

    def resolve(self, ctx: FitContext) -> tuple[Resolved, tuple[str, ...]]:
        """The user's params under XGBoost's canonical names, and the kit defaults XGBoost would not use with them
        (a tree parameter beside ``booster = "gblinear"``). Unknown, ill-typed, clashing and kit-set names are
        rejected here, on a few rows, before any fold is fitted."""
        stops_on = model_stopping_metric(self.spec, ctx)
        key = json.dumps([ctx.task, ctx.n_classes, ctx.metric.name, stops_on, self.spec.params], default=str)
        if key not in _RESOLVED:
            _RESOLVED[key] = self._resolve(ctx)
        return _RESOLVED[key]

    def _resolve(self, ctx: FitContext) -> tuple[Resolved, tuple[str, ...]]:
        name, user = self.spec.name, self.spec.params
        if isinstance(user.get("quantile_alpha"), (list, tuple)):
            raise ConfigError(
                f"model {name!r}: params.quantile_alpha = {user['quantile_alpha']!r} makes XGBoost predict one value "
                "per quantile and row, and a regression model of the kit predicts one; give one number (one model "
                "per quantile)"
            )
        kit = {**self._defaults(ctx), **self._kit_params(ctx)}
        probe = _Prober(ctx)
        failure, unused, booster = probe.run({**kit, **user})
        objective = user.get("objective")  # XGBoost's objective has no alias
        if objective is not None and (failure is None or objective in _CLASSIFICATION):  # a misspelt one: XGBoost's
            check_objective(name, "XGBoost", "objective", objective, ctx.task, _PROBABILITY, _CLASSIFICATION)
        if failure is not None:
            culprit = find_culprit(kit, user, lambda p: probe.run(p)[0])
            if culprit is None:
                raise ConfigError(f"model {name!r}: XGBoost rejects these params together: {failure}")
            raise rejected_value(name, "XGBoost", culprit[0], user[culprit[0]], culprit[1])

        # a per-feature value (monotone_constraints) is left out of the probes: its name is checked against the list
        known = set(_config_names(booster))
        unknown = unused | {k for k, v in user.items() if per_feature(v) and k not in known}

        def canonical_of(key: str) -> str | None:
            if key in unknown:
                return None
            reason = probe.run({**kit, **user, key: _UNPARSABLE})[0] or ""
            found = re.search(r"Invalid Parameter format for (\w+)", reason)
            return found.group(1) if found else key

        chosen = {**kit, **user}
        context = f" with booster {chosen.get('booster', 'gbtree')!r} and objective {chosen['objective']!r}"
        resolved = canonicalise(name, "XGBoost", user, canonical_of, lambda: known, _RESERVED, context=context)
        return resolved, tuple(k for k in unused if k not in user)

    def params(self, ctx: FitContext) -> dict[str, Any]:
        resolved, unused_defaults = self.resolve(ctx)
        params = merge(self._defaults(ctx), resolved, drop=unused_defaults)
        params.update(self._kit_params(ctx))
        return params

    def check(self, ctx: FitContext) -> None:
        self.resolve(ctx)

    def _custom_metric(
        self, ctx: FitContext, offset: float = 0.0
    ) -> Callable[[np.ndarray, Any], tuple[str, float]] | None:
        if "eval_metric" in self.spec.params or self._native_metric(ctx) is not None:
            return None
        metric = ctx.metric

        def custom(predt: np.ndarray, dmatrix: Any) -> tuple[str, float]:
            y = dmatrix.get_label().astype(np.float64) + offset
            return metric.name, kit_score(metric, y, predt.astype(np.float64) + offset, ctx.task, ctx.n_classes)

        return custom

    @staticmethod
    def _matrix(
        X: FeatureMatrix,
        threads: int,
        y: np.ndarray | None = None,
        weight: np.ndarray | None = None,
        bins: int | None = None,
    ) -> Any:
        """The rows as XGBoost takes them. ``bins``: the training rows of a CPU ``hist`` fit, as a
        ``QuantileDMatrix`` of that many bins (the params' ``max_bin``): only the histogram index is built, not the
        ``DMatrix``'s copy of every value (8 bytes a cell: 92 MB on 320k rows x 45 columns, more than the float32
        matrix itself), and the booster is the same, byte for byte (:func:`quantile_bins`)."""
        import xgboost as xgb

        cats = set(X.categorical)
        types = ["c" if i in cats else "q" for i in range(len(X.names))]
        kind, extra = (xgb.DMatrix, {}) if bins is None else (xgb.QuantileDMatrix, {"max_bin": bins})
        return kind(  # nthread: without it the DMatrix is built on every core (oversubscribing the pool)
            X.X,
            label=y,
            weight=weight,
            feature_names=list(X.model_names),  # names the library accepts (no [, ], <)
            feature_types=types,
            enable_categorical=True,
            missing=np.nan,
            nthread=threads,
            **extra,
        )

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        import xgboost as xgb

        ctx = boosting_context(ctx, train)
        params = self.params(ctx)
        linear = params.get("booster") == "gblinear"
        if train.categorical and (linear or params.get("tree_method") == "exact"):
            shown = ", ".join(repr(train.names[i]) for i in train.categorical[:5])
            what, fix = (
                ("booster = 'gblinear'", "use a tree booster, or the kind 'linear' (it one-hot encodes them)")
                if linear
                else ("tree_method = 'exact'", "use 'hist' (the kit's default) or 'approx'")
            )
            raise ConfigError(
                f"model {self.spec.name!r}: params.{what} cannot split categorical columns ({shown}"
                f"{', ...' if len(train.categorical) > 5 else ''}); {fix}"
            )
        if "monotone_constraints" in params:
            value = params["monotone_constraints"]
            check_monotone(
                self.spec.name, "XGBoost", "monotone_constraints", value, train.names, train.categorical, exact=False
            )
            if isinstance(value, dict):  # keyed by the columns' names; XGBoost knows them by their model names
                to_model = dict(zip(train.names, train.model_names, strict=True))
                params = {**params, "monotone_constraints": {to_model[str(k)]: v for k, v in value.items()}}
        groups = params.get("interaction_constraints")
        if isinstance(groups, (list, tuple)) and all(isinstance(g, (list, tuple)) for g in groups):
            to_model = dict(zip(train.names, train.model_names, strict=True))
            params = {**params, "interaction_constraints": [[to_model.get(c, c) for c in g] for g in groups]}
        offset = target_offset(params, ctx.task, y_train)
        if offset and "base_score" in params:  # the user's, in the target's units: moved as the target is
            params = {**params, "base_score": float(params["base_score"]) - offset}
        custom = self._custom_metric(ctx, offset)
        dtrain = self._matrix(train, ctx.threads, _less(y_train, offset), ctx.sample_weight, quantile_bins(params))
        dvalid = self._matrix(valid, ctx.threads, _less(y_valid, offset))
        self._built = (valid, dvalid)  # predict() on the same validation rows reuses their DMatrix
        evals_result: dict[str, dict[str, list[float]]] = {}
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=self.spec.num_boost_round,
            evals=[(dvalid, "valid")],
            early_stopping_rounds=self.spec.early_stopping_rounds,
            evals_result=evals_result,
            verbose_eval=False,
            custom_metric=custom,
            maximize=ctx.metric.greater_is_better if custom is not None else None,
        )
        if self.spec.early_stopping_rounds is not None:
            best = int(booster.best_iteration) + 1  # XGBoost counts from 0
            if params.get("booster") != "gblinear":
                booster = booster[:best]  # keep exactly the trees that scored best
            elif best < booster.num_boosted_rounds():  # a linear booster cannot be sliced: refit for the best rounds
                booster = xgb.train(params, dtrain, num_boost_round=best, verbose_eval=False)
        else:
            best = booster.num_boosted_rounds()
        if offset:
            booster.set_attr(**{OFFSET_ATTR: repr(offset)})  # saved with the model: a loaded one adds it back
        return Fitted(model=booster, best_iteration=best, history=evals_result.get("valid", {}), device=ctx.device)

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        built = self._built[1] if self._built is not None and self._built[0] is X else None
        raw = fitted.model.predict(built if built is not None else self._matrix(X, ctx.threads))
        if ctx.task == "regression":
            offset = float(fitted.model.attr(OFFSET_ATTR) or 0.0)
            return (np.asarray(raw, dtype=np.float64) + offset).astype(np.float32).reshape(-1, 1)
        return as_probabilities(raw, ctx.n_classes)

    def save(self, fitted: Fitted, path: Path) -> None:
        fitted.model.save_model(str(path))

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        import xgboost as xgb

        booster = xgb.Booster(model_file=str(path))
        booster.set_param({"device": ctx.device, "nthread": ctx.threads})
        return Fitted(model=booster, best_iteration=booster.num_boosted_rounds())


def quantile_bins(params: dict[str, Any]) -> int | None:
    """The ``max_bin`` a fit's training rows are quantised to up front (a ``QuantileDMatrix``), or None for a plain
    ``DMatrix``: a tree booster with ``tree_method = "hist"`` on the CPU only. ``approx`` and ``exact`` cannot take a
    ``QuantileDMatrix``, ``gblinear`` reads the values themselves, and on CUDA the same booster was not checked."""
    if params.get("tree_method") != "hist" or params.get("booster", "gbtree") != "gbtree":
        return None
    if params.get("device", "cpu") != "cpu":
        return None
    return int(params.get("max_bin", 256))


def target_offset(params: dict[str, Any], task: str, y: np.ndarray) -> float:
    """The training target's mean, which a regression on a shift-invariant objective is fitted around (0.0 for any
    other fit). XGBoost holds labels and margins in float32: on a target of 1e8 + 10 x (float32's step there is 8)
    every tree's leaf values were rounded away and early stopping kept 1 round (RMSE 9.7 against 2.5 at offset 0).
    An ``eval_metric`` that is not shift-invariant keeps it 0.0: it must score the target itself."""
    if task != "regression" or params.get("objective") not in _SHIFTABLE:
        return 0.0
    metrics = params.get("eval_metric", ())
    if any(m not in _SHIFTABLE_METRICS for m in ([metrics] if isinstance(metrics, str) else metrics)):
        return 0.0  # MAPE or RMSLE of the target less its mean stopped a y + 10 after 1 round
    mean = float(np.mean(np.asarray(y, dtype=np.float64)))
    return mean if np.isfinite(mean) else 0.0


def _less(y: np.ndarray, offset: float) -> np.ndarray:
    return y if not offset else np.asarray(y, dtype=np.float64) - offset


class _Prober:
    """Train one round on a few rows of the task's kind: XGBoost's own verdict on a parameter set."""

    def __init__(self, ctx: FitContext) -> None:
        self.rows = probe_rows(ctx.task, ctx.n_classes)

    def run(self, params: dict[str, Any]) -> tuple[str | None, set[str], Any]:
        """(XGBoost's message when it refuses the set or None, the names it says it does not use, the booster)."""
        import xgboost as xgb

        X, y = self.rows
        checked = {k: v for k, v in params.items() if not per_feature(v)}
        checked.update(device="cpu", nthread=1, verbosity=1, validate_parameters=True)  # verbosity 1: warnings
        with quiet(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                rows = xgb.DMatrix(X, label=y, nthread=1)  # evaluated too: an eval_metric the task cannot take
                booster = xgb.train(checked, rows, num_boost_round=1, evals=[(rows, "probe")], verbose_eval=False)
            except xgb.core.XGBoostError as exc:
                return _reason(str(exc)), set(), None
        unused: set[str] = set()
        for warning in caught:
            found = re.search(r"Parameters: \{(.*?)\} are not used", str(warning.message), re.S)
            if found:
                unused.update(re.findall(r'"([^"]+)"', found.group(1)))
        return None, unused, booster


def _reason(message: str) -> str:
    """XGBoost's error without its timestamp, source location and C++ stack trace."""
    first = next((line for line in message.splitlines() if line.strip()), message)
    return re.sub(r"^\[[\d:]+\] \S+:\d+: ", "", first.strip())


def _config_names(booster: Any) -> list[str]:
    """Every parameter name in a booster's configuration (XGBoost's own list, aliases included)."""
    names: set[str] = {"eval_metric"}  # kept under "metrics" in the configuration

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and key != "name":
                    names.add(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    if booster is not None:
        walk(json.loads(booster.save_config()))
    return sorted(names)
