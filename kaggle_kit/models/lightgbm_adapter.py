"""LightGBM adapter: histogram trees, native categorical splits, early stopping on the fold's validation rows, models
saved as LightGBM text.

LightGBM trains on the CPU in a CUDA run too. Its pip wheels' GPU path is OpenCL (``device_type="gpu"``), which
compiles its kernels in every fit and still builds histograms on the CPU threads; measured on an H200 with 16 cores
(``benchmarks/gpu_check.py --parts lightgbm``, RESULTS.md section 15): 20,000 x 40 rows 5.6 s on the GPU vs 0.6 s on
16 CPU threads, 1,000,000 rows 33.0 s (GPU, 1 thread) vs 58.8 s (CPU, 1 thread) vs 7.2 s (CPU, 16 threads); the
five folds of the digits demo in parallel on one GPU took 165 s of fit together (3.5 s on a 2-core CPU). The GPU goes
to the nets, XGBoost and CatBoost.

Two kinds share it: ``lightgbm`` (the kit's defaults: row and column subsampling) and ``lightgbm_xt`` (extremely
randomised trees, ``extra_trees=True``, with AutoGluon's GBMXT defaults: its LightGBM baseline, learning rate 0.05 and
LightGBM's own defaults otherwise). Both size ``min_data_per_group`` to the fit's rows (:func:`category_groups`). A
model's ``params`` pass through under LightGBM's canonical names (aliases resolved with LightGBM's own table,
``LGBM_DumpParamAliases``) and win over these defaults.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ModelSpec
from ..errors import ConfigError
from ..features import FeatureMatrix
from .base import FitContext, Fitted, as_probabilities, kit_score, model_stopping_metric
from .library_params import (
    Resolved,
    canonicalise,
    check_length,
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
    "device_type": "LightGBM trains on the CPU (its OpenCL GPU path was slower than CPU threads, measured)",
    "num_threads": "set run.threads_per_task",
    "seed": "set seed on the model or in the spec",
    "num_class": "it follows from the target",
    "num_iterations": "set num_boost_round on the model, not in params",
    "early_stopping_round": "set early_stopping_rounds on the model",
    "categorical_feature": "categorical columns follow from data.categorical and the pipeline",
}
_OBJECTIVE = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
#: objectives (and LightGBM's aliases of them) whose predictions are class probabilities, per task; not
#: cross_entropy_lambda, which predicts the intensity log(1 + exp(score)) (5.5 on a clear positive: p(0) was -4.5)
_PROBABILITY = {
    "binary": ("binary", "cross_entropy", "xentropy"),
    "multiclass": ("multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr"),
}
#: cross-entropy is left out: on a regression target in [0, 1] (soft labels) it predicts one value per row in [0, 1]
_CLASSIFICATION = ("binary", *_PROBABILITY["multiclass"])
#: objectives whose predictions are an intensity, not a value of the target (nor a probability)
_INTENSITY = ("xentlambda", "cross_entropy_lambda")
#: kit metric (as named by base.stopping_metric) -> LightGBM metric computing the same value
_NATIVE = {
    ("roc_auc", "binary"): "auc",
    ("log_loss", "binary"): "binary_logloss",
    ("log_loss", "multiclass"): "multi_logloss",
    ("accuracy", "binary"): "binary_error",
    ("accuracy", "multiclass"): "multi_error",
    ("rmse", "regression"): "rmse",
    ("mae", "regression"): "l1",
}
#: LightGBM parameters holding one value per column (monotone_constraints is checked with them, and for categories)
_PER_COLUMN = ("max_bin_by_feature", "feature_contri", "cegb_penalty_feature_lazy", "cegb_penalty_feature_coupled")
_COLUMN_VALUES = (*_PER_COLUMN, "monotone_constraints", "interaction_constraints")
_COMMON = {"deterministic": True, "force_col_wise": True, "verbosity": -1}
DEFAULTS: dict[str, dict[str, Any]] = {
    "lightgbm": {
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
    },
    # AutoGluon's GBMXT: its LightGBM baseline (learning_rate 0.05, LightGBM's defaults) with extra_trees
    "lightgbm_xt": {
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 1.0,
        "extra_trees": True,
    },
}
_CHECKED: set[str] = set()  # parameter sets LightGBM accepted in this process


#: the kinds this adapter fits
LIGHTGBM_KINDS = ("lightgbm", "lightgbm_xt")
#: from this many training rows :func:`category_groups` is LightGBM's own 100
GROUPS_FROM_ROWS = 2000


def category_groups(train_rows: int) -> int:
    """``min_data_per_group``, the rows each side of a categorical split must hold: a 20th of the training rows, 20
    to 100 (LightGBM's default, from 2,000 rows). LightGBM's 100 leaves a small table's categories unsplit: on 300
    rows, ROC AUC 0.680 -> 0.790 and RMSE 1.674 -> 1.365 with this rule; from 1,000 rows within +-0.005 of the default
    (``benchmarks/lgbm_categoricals.py``, RESULTS section 26)."""
    return min(100, max(20, train_rows * 100 // GROUPS_FROM_ROWS))


def lightgbm_seed(seed: int) -> int:
    """A seed of 0 .. 2**32 - 1 as LightGBM's C ``int`` (two's complement): one LightGBM seed per kit seed, where
    LightGBM itself would wrap a larger number silently."""
    return seed - 2**32 if seed >= 2**31 else seed


@functools.cache
def _aliases() -> dict[str, str]:
    """Every LightGBM parameter name and alias -> its canonical name, from LightGBM's own C API table."""
    from lightgbm.basic import _ConfigAliases

    table = _ConfigAliases._get_all_param_aliases()  # {canonical: [canonical, *aliases]}
    return {name: canonical for canonical, names in table.items() for name in names}


def resolve(spec: ModelSpec) -> Resolved:
    """``spec.params`` under LightGBM's canonical names; unknown, clashing and kit-set names are rejected."""
    aliases = _aliases()
    return canonicalise(spec.name, "LightGBM", spec.params, aliases.get, lambda: aliases, _RESERVED)


class LightGBMAdapter:
    file_name = "model.txt"
    uses_gpu = False  # see the module docstring: OpenCL LightGBM loses to the CPU threads it would be given
    thread_invariant = True
    library = "lightgbm"
    sample_weights = True  # FitContext.sample_weight weights the training rows
    reads_features = True

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.resolved = resolve(spec)
        if "metric" in self.resolved.params and spec.early_stopping_metric != "auto":
            raise ConfigError(
                f"model {spec.name!r}: params.{self.resolved.user_key('metric')} and early_stopping_metric = "
                f"{spec.early_stopping_metric!r} both choose what early stopping follows; keep one"
            )

    def _native_metric(self, ctx: FitContext) -> str | None:
        """LightGBM's name of what early stopping follows, or None when the kit's metric is evaluated instead."""
        return _NATIVE.get((model_stopping_metric(self.spec, ctx), ctx.task))

    def params(self, ctx: FitContext, train_rows: int | None = None) -> dict[str, Any]:
        """LightGBM's parameters; ``train_rows`` (the fit's) sizes the categorical groups (:func:`category_groups`)."""
        defaults = {
            "objective": _OBJECTIVE[ctx.task],
            "metric": self._native_metric(ctx) or "None",  # "None": only the kit's own evaluation (feval)
            **DEFAULTS[self.spec.kind if self.spec.kind in DEFAULTS else "lightgbm"],
            **({"min_data_per_group": category_groups(train_rows)} if train_rows is not None else {}),
            **_COMMON,
        }
        user = self.resolved.params
        drop = ["force_col_wise"] if "force_row_wise" in user else []  # LightGBM refuses both
        sampling = (str(user.get(k, "")).strip().lower() for k in ("boosting", "data_sample_strategy"))  # any case
        if "goss" in sampling:
            drop += ["bagging_fraction", "bagging_freq"]  # GOSS samples rows itself; LightGBM refuses it with bagging
        params = merge(defaults, self.resolved, drop=drop)
        params["device_type"] = "cpu"  # in a CUDA run too (module docstring)
        params["num_threads"] = ctx.threads
        params["seed"] = lightgbm_seed(ctx.seed)
        if ctx.task == "multiclass":
            params["num_class"] = ctx.n_classes
        return params

    def check(self, ctx: FitContext) -> None:
        """Let LightGBM parse every value on a few rows (ill-typed or out-of-range values fail here, not in a fold)."""
        if "objective" in self.resolved.params:
            key = self.resolved.user_key("objective")
            objective = self.spec.params[key]
            check_objective(
                self.spec.name, "LightGBM", key, objective, ctx.task, _PROBABILITY, _CLASSIFICATION, fold_case=True
            )
            if ctx.task == "regression" and str(objective).strip().lower() in _INTENSITY:
                raise ConfigError(
                    f"model {self.spec.name!r}: params.{key} = {objective!r} makes LightGBM predict an intensity, "
                    "log(1 + exp(score)), not the target's value; for a target of shares in [0, 1] use 'xentropy'"
                )
        params = self.params(ctx)
        probed = {k: v for k, v in params.items() if k not in ("seed", "num_threads", "device_type")}  # as probed
        key = json.dumps([self.spec.kind, ctx.task, ctx.n_classes, probed], sort_keys=True, default=str)
        if key in _CHECKED:
            return
        failure = _probe(params, ctx)
        if failure is not None:  # name the parameter at fault, in the user's spelling
            kit = {k: v for k, v in params.items() if k not in self.resolved.params}
            user = {k: v for k, v in params.items() if k in self.resolved.params}
            culprit = find_culprit(kit, user, lambda p: _probe(p, ctx))
            if culprit is None:
                raise ConfigError(f"model {self.spec.name!r}: LightGBM rejects these params together: {failure}")
            canonical, reason = culprit
            raise rejected_value(self.spec.name, "LightGBM", self.resolved.user_key(canonical), user[canonical], reason)
        _CHECKED.add(key)

    def _feval(self, ctx: FitContext) -> Callable[[np.ndarray, Any], tuple[str, float, bool]] | None:
        if "metric" in self.resolved.params or self._native_metric(ctx) is not None:
            return None
        metric = ctx.metric

        def feval(preds: np.ndarray, data: Any) -> tuple[str, float, bool]:
            return (
                metric.name,
                kit_score(metric, data.get_label(), preds, ctx.task, ctx.n_classes),
                metric.greater_is_better,
            )

        return feval

    def fit(
        self, train: FeatureMatrix, y_train: np.ndarray, valid: FeatureMatrix, y_valid: np.ndarray, ctx: FitContext
    ) -> Fitted:
        import lightgbm as lgb

        self.check(ctx)
        if "monotone_constraints" in self.resolved.params:
            key = self.resolved.user_key("monotone_constraints")
            value = self.spec.params[key]
            check_monotone(self.spec.name, "LightGBM", key, value, train.names, train.categorical, exact=True)
        for canonical in _PER_COLUMN:
            if canonical in self.resolved.params:
                key = self.resolved.user_key(canonical)
                check_length(self.spec.name, "LightGBM", key, self.spec.params[key], train.names)
        cats = list(train.categorical)
        dtrain = lgb.Dataset(
            train.X,
            label=y_train,
            weight=ctx.sample_weight,
            feature_name=list(train.model_names),
            categorical_feature=cats,
            free_raw_data=True,
        )
        dvalid = lgb.Dataset(valid.X, label=y_valid, reference=dtrain, categorical_feature=cats)
        history: dict[str, dict[str, list[float]]] = {}
        callbacks = [lgb.record_evaluation(history)]
        if self.spec.early_stopping_rounds is not None:
            callbacks.append(lgb.early_stopping(self.spec.early_stopping_rounds, verbose=False))
        booster = lgb.train(
            self.params(ctx, train_rows=train.X.shape[0]),
            dtrain,
            num_boost_round=self.spec.num_boost_round,
            valid_sets=[dvalid],
            valid_names=["valid"],
            feval=self._feval(ctx),
            callbacks=callbacks,
        )
        best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
        return Fitted(model=booster, best_iteration=best, history=history.get("valid", {}))

    def predict(self, fitted: Fitted, X: FeatureMatrix, ctx: FitContext) -> np.ndarray:
        raw = fitted.model.predict(X.X, num_iteration=fitted.best_iteration, num_threads=ctx.threads)
        if ctx.task == "regression":
            return np.asarray(raw, dtype=np.float32).reshape(-1, 1)
        p = as_probabilities(raw, ctx.n_classes)
        if ctx.task == "multiclass":  # one-vs-all objectives (multiclassova): C sigmoids, rows summing to 0.99-1.06
            total = p.sum(axis=1, keepdims=True, dtype=np.float64)
            if np.any(np.abs(total - 1.0) > 1e-4):  # softmax rows are left exactly as LightGBM gave them
                p = np.ascontiguousarray(p / total, dtype=np.float32)
        return p

    def save(self, fitted: Fitted, path: Path) -> None:
        fitted.model.save_model(str(path), num_iteration=fitted.best_iteration)

    def load(self, path: Path, ctx: FitContext) -> Fitted:
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(path))
        return Fitted(model=booster, best_iteration=booster.current_iteration())


def _probe(params: dict[str, Any], ctx: FitContext) -> str | None:
    """Train one round on a few rows; LightGBM's own message when it refuses the parameters, else None."""
    import lightgbm as lgb

    X, y = probe_rows(ctx.task, ctx.n_classes)
    # a per-column value ("1,1,1,1" as much as [1, 1, 1, 1]) fits the fold's columns, not the probe's two
    checked = {k: v for k, v in params.items() if not per_feature(v) and k not in _COLUMN_VALUES}
    checked.update(device_type="cpu", num_threads=1, verbosity=-1)
    try:
        with quiet():
            lgb.train(checked, lgb.Dataset(X, label=y, params={"verbosity": -1}), num_boost_round=1)
    except lgb.basic.LightGBMError as exc:
        return str(exc)
    return None
