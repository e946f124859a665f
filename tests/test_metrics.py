"""The metric registry: agreement with scikit-learn on real data, conversions, direction, registry errors."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kaggle_kit import metrics
from kaggle_kit.errors import ConfigError, DataError, KitError
from kaggle_kit.metrics import METRICS, Metric, get_metric, register, to_labels

TOL = 1e-9
BUILTIN = {"accuracy", "log_loss", "roc_auc", "f1_macro", "qwk", "mcc", "rmse", "rmsle", "mae", "r2"}
CLASSIFICATION = ["accuracy", "log_loss", "roc_auc", "f1_macro", "qwk", "mcc"]
REGRESSION = ["rmse", "rmsle", "mae", "r2"]


# ------------------------------------------------------------------------------------------------------------
# Real data with realistic out-of-fold predictions, plus tied and extreme variants
# ------------------------------------------------------------------------------------------------------------


def _oof_proba(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, tol=1e-2, max_iter=200))
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return cross_val_predict(model, x, y, cv=cv, method="predict_proba")


def _binary_variants() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    x, y = load_breast_cancer(return_X_y=True)
    proba = _oof_proba(x, y)
    rng = np.random.default_rng(0)

    tied = proba.copy()
    tied[:, 1] = np.round(tied[:, 1], 1)  # heavy ties in the positive-class score
    tied[:, 0] = 1 - tied[:, 1]

    extreme = proba.copy()
    rows = rng.choice(len(y), size=60, replace=False)
    hard = (rng.random(60) < 0.5).astype(float)  # exact 0/1, about half of them confident misses
    extreme[rows, 1] = hard
    extreme[rows, 0] = 1 - hard
    return {"oof": (y, proba), "ties": (y, tied), "extreme": (y, extreme)}


def _multiclass_variants() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    x, y = load_digits(return_X_y=True)
    proba = _oof_proba(x, y)
    rng = np.random.default_rng(1)
    n, n_classes = proba.shape

    tied = proba.copy()
    src = rng.choice(n, size=300, replace=False)
    dst = rng.choice(n, size=300, replace=False)
    tied[dst] = tied[src]  # duplicated rows: tied scores in every column
    tied[rng.choice(n, size=50, replace=False)] = 1.0 / n_classes  # uniform rows: all-way ties

    extreme = proba.copy()
    rows = rng.choice(n, size=100, replace=False)
    extreme[rows] = np.eye(n_classes)[rng.integers(0, n_classes, size=100)]  # exact one-hot, mostly wrong
    return {"oof": (y, proba), "ties": (y, tied), "extreme": (y, extreme)}


def _regression_variants() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    x, y = load_diabetes(return_X_y=True)
    pred = cross_val_predict(Ridge(alpha=0.1), x, y, cv=KFold(n_splits=3, shuffle=True, random_state=0))
    return {"oof": (y, pred[:, None]), "ties": (y, np.round(pred, -1)), "flat": (y, pred)}


DATA: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}


def _data(kind: str, variant: str) -> tuple[np.ndarray, np.ndarray]:
    if kind not in DATA:
        DATA[kind] = {
            "binary": _binary_variants,
            "multiclass": _multiclass_variants,
            "regression": _regression_variants,
        }[kind]()
    return DATA[kind][variant]


def _sk_reference(name: str, y: np.ndarray, pred: np.ndarray) -> float:
    """What scikit-learn says, computed from the same stored prediction matrix."""
    labels = pred.argmax(axis=1) if pred.ndim == 2 and pred.shape[1] > 1 else None
    value = pred.reshape(-1)
    refs: dict[str, Callable[[], float]] = {
        "accuracy": lambda: skm.accuracy_score(y, labels),
        "log_loss": lambda: skm.log_loss(y, pred),
        "roc_auc": lambda: (
            skm.roc_auc_score(y, pred[:, 1])
            if pred.shape[1] == 2
            else skm.roc_auc_score(y, pred, multi_class="ovr", average="macro")
        ),
        "f1_macro": lambda: skm.f1_score(y, labels, average="macro"),
        "qwk": lambda: skm.cohen_kappa_score(y, labels, weights="quadratic"),
        "mcc": lambda: skm.matthews_corrcoef(y, labels if labels is not None else value > 0.5),
        "rmse": lambda: skm.root_mean_squared_error(y, value),
        "rmsle": lambda: skm.root_mean_squared_log_error(y, np.maximum(value, 0)),
        "mae": lambda: skm.mean_absolute_error(y, value),
        "r2": lambda: skm.r2_score(y, value),
    }
    return float(refs[name]())


CASES = [
    *[(m, kind, v) for m in CLASSIFICATION for kind in ("binary", "multiclass") for v in ("oof", "ties", "extreme")],
    *[(m, "regression", v) for m in REGRESSION for v in ("oof", "ties", "flat")],
]


@pytest.mark.parametrize(("name", "kind", "variant"), CASES)
def test_agrees_with_sklearn_on_real_data(name: str, kind: str, variant: str) -> None:
    y, pred = _data(kind, variant)
    metric = get_metric(name)
    assert kind in metric.tasks
    ours = metric.score(y, pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's "y_prob values do not sum to one" on rounded rows
        ref = _sk_reference(name, y, pred)
    assert math.isfinite(ours)
    assert abs(ours - ref) <= TOL, (name, kind, variant, ours, ref)


def test_agreement_cases_cover_every_builtin() -> None:
    assert {name for name, _, _ in CASES} == BUILTIN
    assert set(METRICS) >= BUILTIN


def test_roc_auc_large_heavily_tied_agrees_with_sklearn() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(100_000) < 0.1).astype(np.int64)
    score = np.round(np.clip(0.3 * y + rng.normal(0.3, 0.2, y.shape[0]), 0, 1), 2)
    assert abs(metrics.roc_auc(y, score) - skm.roc_auc_score(y, score)) <= TOL


# ------------------------------------------------------------------------------------------------------------
# Conversions done by Metric.score
# ------------------------------------------------------------------------------------------------------------


def test_binary_roc_auc_from_matrix_equals_sklearn_on_column_1() -> None:
    y, proba = _data("binary", "oof")
    expected = skm.roc_auc_score(y, proba[:, 1])
    assert abs(get_metric("roc_auc").score(y, proba) - expected) <= TOL
    # the positive column alone, flat or as one column, is read the same way
    assert abs(get_metric("roc_auc").score(y, proba[:, 1]) - expected) <= TOL
    assert abs(get_metric("roc_auc").score(y, proba[:, 1:]) - expected) <= TOL
    assert abs(get_metric("log_loss").score(y, proba[:, 1]) - skm.log_loss(y, proba[:, 1])) <= TOL


def test_multiclass_roc_auc_is_ovr_macro() -> None:
    y, proba = _data("multiclass", "oof")
    per_class = [skm.roc_auc_score(y == c, proba[:, c]) for c in range(proba.shape[1])]
    ours = get_metric("roc_auc").score(y, proba)
    assert abs(ours - np.mean(per_class)) <= TOL
    assert abs(ours - skm.roc_auc_score(y, proba, multi_class="ovr", average="macro")) <= TOL


def test_multiclass_roc_auc_skips_a_class_absent_from_y_true() -> None:
    y, proba = _data("multiclass", "oof")
    keep = y != 3
    expected = np.mean([skm.roc_auc_score(y[keep] == c, proba[keep, c]) for c in range(10) if c != 3])
    assert abs(get_metric("roc_auc").score(y[keep], proba[keep]) - expected) <= TOL


def test_roc_auc_single_class_is_nan_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(get_metric("roc_auc").score(np.ones(5, dtype=int), np.full((5, 2), 0.5)))
        assert math.isnan(get_metric("roc_auc").score(np.zeros(4, dtype=int), np.full((4, 3), 1 / 3)))


def test_roc_auc_integer_scores_and_nan() -> None:
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    score = np.array([1, 3, 3, 2, 1, 5, 3, 0])  # integer scores with ties
    assert abs(metrics.roc_auc(y, score) - skm.roc_auc_score(y, score)) <= TOL
    assert math.isnan(metrics.roc_auc(y, np.where(score == 5, np.nan, score / 5)))


def test_log_loss_clips_like_sklearn() -> None:
    y = np.array([0, 1, 1, 0])
    proba = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])  # one confident miss
    ours = get_metric("log_loss").score(y, proba)
    assert math.isfinite(ours)
    assert abs(ours - skm.log_loss(y, proba)) <= TOL
    assert abs(ours - (-np.log(np.finfo(np.float64).eps) - np.log(0.5)) / 4) <= TOL


def test_qwk_weights_by_code_distance() -> None:
    y = np.array([0, 1, 3, 3, 0, 1])
    pred = np.array([0, 3, 1, 3, 1, 0])  # code 2 never seen
    expected = skm.cohen_kappa_score(y, pred, weights="quadratic", labels=[0, 1, 2, 3])
    assert abs(metrics.qwk(y, pred) - expected) <= TOL
    assert math.isnan(metrics.qwk(np.ones(3, dtype=int), np.ones(3, dtype=int)))


def test_to_labels() -> None:
    assert to_labels(np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])).tolist() == [1, 0, 0]
    assert to_labels(np.array([0.7, 0.2, 0.5])).tolist() == [1, 0, 0]
    assert to_labels(np.array([[0.1, 0.3, 0.6], [0.4, 0.4, 0.2]])).tolist() == [2, 0]
    with pytest.raises(KitError, match="shape"):
        to_labels(np.zeros((2, 2, 2)))


def test_score_accepts_float_codes_and_column_targets() -> None:
    y, proba = _data("binary", "oof")
    acc = get_metric("accuracy")
    assert acc.score(y.astype(float), proba) == acc.score(y, proba)
    assert acc.score(y[:, None], proba) == acc.score(y, proba)
    with pytest.raises(DataError, match="integer class codes"):
        acc.score(y + 0.5, proba)


def test_score_rejects_wrong_shapes() -> None:
    y, proba = _data("binary", "oof")
    with pytest.raises(KitError, match=r"y_true has 569 rows"):
        get_metric("log_loss").score(y, proba[:-1])
    with pytest.raises(KitError, match="3 columns"):
        get_metric("rmse").score(np.zeros(4), np.zeros((4, 3)))
    with pytest.raises(DataError, match="class code 2"):
        get_metric("accuracy").score(np.array([0, 1, 2]), np.full((3, 2), 0.5))
    with pytest.raises(KitError, match="0 rows"):
        get_metric("mae").score(np.zeros(0), np.zeros(0))
    assert issubclass(KitError, ValueError)


def test_rmsle_clips_negative_predictions_and_rejects_negative_target() -> None:
    y = np.array([1.0, 2.0, 3.0])
    pred = np.array([-2.0, 2.5, 3.0])
    rmsle = get_metric("rmsle")
    assert rmsle.fit_transform == "log1p"
    assert abs(rmsle.score(y, pred) - skm.root_mean_squared_log_error(y, [0.0, 2.5, 3.0])) <= TOL
    with pytest.raises(DataError, match=r"non-negative target.*'rmse'"):
        rmsle.score(np.array([-1.0, 2.0, 3.0]), pred)


def test_r2_constant_target_matches_sklearn() -> None:
    y = np.full(4, 2.0)
    assert metrics.r2(y, y) == skm.r2_score(y, y) == 1.0
    assert metrics.r2(y, y + 1) == skm.r2_score(y, y + 1) == 0.0


# ------------------------------------------------------------------------------------------------------------
# Direction and registry
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_direction_better_and_worst(name: str) -> None:
    metric = get_metric(name)
    good, bad = (0.9, 0.1) if metric.greater_is_better else (0.1, 0.9)
    assert metric.better(good, bad)
    assert not metric.better(bad, good)
    assert not metric.better(good, good)
    assert metric.better(bad, metric.worst)
    assert not metric.better(metric.worst, bad)
    assert math.isinf(metric.worst)
    assert metric.better(good, math.nan)
    assert not metric.better(math.nan, good)
    assert not metric.better(math.nan, math.nan)


def test_known_directions() -> None:
    greater = {name for name, m in METRICS.items() if m.greater_is_better}
    assert greater & BUILTIN == {"accuracy", "roc_auc", "f1_macro", "qwk", "mcc", "r2"}
    assert get_metric("log_loss").worst == math.inf
    assert get_metric("roc_auc").worst == -math.inf


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_metric_has_tasks_and_a_matching_input(name: str) -> None:
    metric = METRICS[name]
    assert metric.name == name
    assert metric.tasks
    assert metric.tasks <= {"binary", "multiclass", "regression"}
    assert (metric.needs == "value") == (metric.tasks == {"regression"})


def test_get_metric_unknown_name_suggests() -> None:
    with pytest.raises(ConfigError, match=r"unknown metric 'roc_acu'; allowed: .*'rmse'.* Did you mean 'roc_auc'\?"):
        get_metric("roc_acu")
    with pytest.raises(ConfigError, match="unknown metric 'zzz'") as info:
        get_metric("zzz")
    assert "Did you mean" not in str(info.value)


def _custom_rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return 0.0


def test_register_duplicate_names_both_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "METRICS", dict(METRICS))
    dup = Metric("rmse", _custom_rmse, greater_is_better=False, needs="value", tasks=frozenset({"regression"}))
    with pytest.raises(ConfigError, match=r"'rmse'.*kaggle_kit\.metrics\.rmse.*_custom_rmse"):
        register(dup)
    for taken, as_ in (("RMSE", "rmse"), ("Log-Loss", "log_loss"), ("AUC", "roc_auc")):  # get_metric reads these so
        clash = Metric(taken, _custom_rmse, greater_is_better=False, needs="value", tasks=frozenset({"regression"}))
        with pytest.raises(ConfigError, match=rf"metric '{taken}' would read as the registered metric '{as_}'"):
            register(clash)
    fresh = Metric("my_rmse", _custom_rmse, greater_is_better=False, needs="value", tasks=frozenset({"regression"}))
    assert register(fresh) is fresh
    assert metrics.get_metric("my_rmse") is fresh
    assert "my_rmse" not in METRICS  # the real registry is untouched


def test_metric_validates_its_fields() -> None:
    with pytest.raises(ConfigError, match=r"needs='prob'.*Did you mean 'proba'"):
        Metric("m", _custom_rmse, greater_is_better=True, needs="prob", tasks=frozenset({"binary"}))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tasks is empty"):
        Metric("m", _custom_rmse, greater_is_better=True, needs="proba", tasks=frozenset())
    with pytest.raises(ConfigError, match=r"unknown task 'binery'.*Did you mean 'binary'"):
        Metric("m", _custom_rmse, greater_is_better=True, needs="proba", tasks=frozenset({"binery"}))
    with pytest.raises(ConfigError, match="needs='value'"):
        Metric("m", _custom_rmse, greater_is_better=True, needs="value", tasks=frozenset({"binary"}))
    m = Metric("m", _custom_rmse, greater_is_better=True, needs="proba", tasks={"binary"})  # type: ignore[arg-type]
    assert m.tasks == frozenset({"binary"})


# ------------------------------------------------------------------------------------------------------------
# Names a user types (an evaluation page's spelling), and NaN inputs
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("AUC", "roc_auc"),
        ("auc", "roc_auc"),
        (" ROC-AUC ", "roc_auc"),
        ("LogLoss", "log_loss"),
        ("log loss", "log_loss"),
        ("RMSLE", "rmsle"),
        ("MAE", "mae"),
        ("Accuracy", "accuracy"),
        ("MAP@3", "map@3"),
        ("MAP @ 7", "map@7"),
        ("QWK", "qwk"),
        ("quadratic weighted kappa", "qwk"),
        ("F1-Macro", "f1_macro"),
        ("macro_f1", "f1_macro"),
        ("MCRMSE", "mean_rmse"),
        ("MCC", "mcc"),
        ("Matthews Correlation Coefficient", "mcc"),
        ("matthews_corrcoef", "mcc"),
        ("AUC-ROC", "roc_auc"),
        ("Multi-class Log Loss", "log_loss"),
        ("Mean Column-wise ROC AUC", "mean_roc_auc"),
        ("Mean Columnwise Log Loss", "mean_log_loss"),
        ("Continuous Ranked Probability Score", "crps"),
        ("roc_auc_score", "roc_auc"),  # scikit-learn's function names
        ("balanced_accuracy_score", "balanced_accuracy"),
    ],
)
def test_get_metric_finds_a_name_as_users_type_it(typed: str, name: str) -> None:
    """'AUC' or 'MAP@3' (an evaluation page's spelling) was refused as an unknown metric."""
    metric = get_metric(typed)
    assert metric.name == name
    assert metric is METRICS[name]


def test_a_config_stores_the_canonical_metric_name() -> None:
    """The spec's metric is the registered name, the one a run folder stores and the code compares with."""
    from kaggle_kit.config import build_spec

    raw = {
        "name": "c",
        "task": "multiclass",
        "data": {"train": "t.csv", "target": "y"},
        "models": [{"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}],
    }
    assert build_spec({**raw, "metric": "MAP@3"}).metric == "map@3"
    assert build_spec({**raw, "metric": "Multi-LogLoss"}).metric == "log_loss"
    with pytest.raises(ConfigError, match=r"unknown metric 'AUCC'; allowed: .*'roc_auc'.* Did you mean 'auc'\?"):
        build_spec({**raw, "metric": "AUCC"})


def _nan_at(a: np.ndarray, row: int) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a[row] = np.nan
    return a


_LABEL_AND_PROBA = ["accuracy", "f1", "f1_macro", "balanced_accuracy", "qwk", "mcc", "map@3", "roc_auc", "log_loss"]


@pytest.mark.parametrize(
    ("name", "columns"),
    [(name, 2) for name in _LABEL_AND_PROBA] + [(name, 3) for name in _LABEL_AND_PROBA if name != "f1"],
)
def test_a_nan_prediction_is_refused_not_scored(name: str, columns: int) -> None:
    """A label metric read a NaN row as a class (argmax, or ``p > threshold``), MAP@k ranked it anywhere, a multiclass
    ROC AUC left its column out of the mean: each a plausible score for predictions that were never made."""
    metric = get_metric(name)
    rng = np.random.default_rng(3)
    y = rng.integers(0, columns, 40)
    proba = rng.dirichlet(np.ones(columns), 40)
    pred = proba.copy()
    pred[7, 1] = np.nan
    with pytest.raises(DataError, match=rf"metric {name!r}: the prediction holds NaN in 1 of 40 rows \(first: row 7\)"):
        metric.score(y, pred)
    if metric.thresholded(pred):
        with pytest.raises(DataError, match="holds NaN"):
            metric.score(y, pred, threshold=0.3)


@pytest.mark.parametrize("name", ["rmse", "rmsle", "mae", "r2"])
def test_a_nan_value_is_refused_in_either_argument(name: str) -> None:
    y = np.linspace(0.0, 5.0, 30)
    pred = y + 0.5
    with pytest.raises(DataError, match=rf"metric {name!r}: the prediction holds NaN in 1 of 30 rows \(first: row 4\)"):
        get_metric(name).score(y, _nan_at(pred, 4))
    with pytest.raises(DataError, match=rf"metric {name!r}: the y_true holds NaN in 1 of 30 rows \(first: row 2\)"):
        get_metric(name).score(_nan_at(y, 2), pred)


def test_a_nan_label_is_named_as_missing() -> None:
    y = _nan_at(np.array([0, 1, 1, 0, 1, 0]), 3)
    with pytest.raises(DataError, match=r"y_true holds NaN \(a missing label\) in 1 of 6 rows \(first: row 3\)"):
        get_metric("roc_auc").score(y, np.linspace(0.1, 0.9, 6))
    # a value that is no class code is named with its row, though the first three rows are whole numbers
    soft = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 1.0])
    with pytest.raises(DataError, match=r"integer class codes 0..C-1; got 0.5 in row 4 \(1 of 6 values are no whole"):
        get_metric("accuracy").score(soft, np.linspace(0.1, 0.9, 6))


def test_distribution_and_multi_target_metrics_refuse_nan_predictions() -> None:
    y = np.array([1.0, 2.0, 3.0])
    q = np.column_stack([y - 1, y, y + 1])
    with pytest.raises(DataError, match="'pinball': the prediction holds NaN in 1 of 3 rows"):
        get_metric("pinball", [0.1, 0.5, 0.9]).score(y, _nan_at(q, 1))
    with pytest.raises(DataError, match="'pinball': the y_true holds NaN"):
        get_metric("pinball", [0.1, 0.5, 0.9]).score(_nan_at(y, 0), q)
    # a multilabel column: a missing label (NaN in y) is left out, a NaN prediction of a labelled row is refused;
    # it had made the column's AUC nan and the column silently left out of the mean
    labels = np.array([[0, 1], [1, 0], [0, 1], [1, np.nan]])
    proba = np.array([[0.2, 0.7], [0.8, 0.1], [0.3, 0.9], [np.nan, 0.5]])
    with pytest.raises(DataError, match="'mean_roc_auc': the prediction of target column 0 holds NaN in 1 of 4 label"):
        get_metric("mean_roc_auc").score(labels, proba)
    proba[3, 0] = 0.6
    proba[3, 1] = np.nan  # under a missing label: not scored
    assert get_metric("mean_roc_auc").score(labels, proba) == 1.0
    # the row named is the target's: with labels missing above it, it had been the position among the labelled rows
    gaps = np.array([[0, 1], [np.nan, 1], [np.nan, 0], [1, 0], [0, 1]])
    pred = np.full((5, 2), 0.5)
    pred[3, 0] = np.nan
    with pytest.raises(DataError, match=r"target column 0 holds NaN in 1 of 3 labelled rows \(first: row 3\)"):
        get_metric("mean_log_loss").score(gaps, pred)


def test_a_multilabel_column_scores_0_1_labels_only() -> None:
    """A soft label (0.5) had been truncated to 0 and a 2 read as a negative: scores of other labels, unsaid."""
    proba = np.array([[0.2, 0.7], [0.8, 0.1], [0.3, 0.9], [0.6, 0.5]])
    soft = np.array([[0, 1], [1, 0.5], [0, 1], [1, 0]])
    for name in ("mean_log_loss", "mean_roc_auc"):
        with pytest.raises(DataError, match=rf"'{name}': target column 1 holds 0.5 in row 1 \(1 of 4 labelled rows"):
            get_metric(name).score(soft, proba)
        with pytest.raises(DataError, match=rf"'{name}': target column 1 holds 2 in row 1 .*; a multilabel column"):
            get_metric(name).score(np.where(soft == 0.5, 2, soft), proba)
    # the row is the target's, not the position among the column's labelled rows (labels missing above it): it
    # had said 'row 1' for row 3, and named neither the metric nor the column
    gaps = np.array([[0, 1], [1, np.nan], [0, np.nan], [1, 0.5], [0, 1]])
    with pytest.raises(DataError, match=r"'mean_log_loss': target column 1 holds 0.5 in row 3 \(1 of 3 labelled rows"):
        get_metric("mean_log_loss").score(gaps, np.full((5, 2), 0.5))
    labels = np.where(soft == 0.5, 0, soft)
    expected = np.mean([skm.log_loss(labels[:, j], proba[:, j]) for j in range(2)])
    assert get_metric("mean_log_loss").score(labels, proba) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("shape", ["matrix", "column"])
def test_log_loss_of_float32_predictions_clips_as_float64(shape: str) -> None:
    """A run stores float32 predictions: clipped at float32's epsilon (1.2e-7, as scikit-learn does for float32), an
    exact 0 for the true class cost 15.9 instead of 36.04 (Kaggle's 1e-15: 34.5), and a 1e-10 cost 15.9 instead of
    23.0, so an overconfident model scored better than on float64 and than on the leaderboard."""
    y = np.array([1, 1, 1, 0, 0])
    p1 = np.array([1e-10, 0.7, 0.0, 0.4, 0.25])  # a 1e-10 and an exact 0 for a true positive
    proba = np.column_stack([1 - p1, p1]) if shape == "matrix" else p1
    as64 = get_metric("log_loss").score(y, proba)
    assert as64 == pytest.approx(skm.log_loss(y, np.column_stack([1 - p1, p1])), abs=TOL)
    as32 = get_metric("log_loss").score(y, proba.astype(np.float32))
    assert as32 == pytest.approx(as64, rel=1e-6)
    assert as32 > (-np.log(1e-10) - np.log(np.finfo(np.float64).eps)) / 5  # the two misses at full cost


def test_blend_log_loss_scorers_clip_as_the_metric_on_confident_misses() -> None:
    """The blend's fast log loss (Nelder-Mead's objective, hill climbing's scorer) clipped at float32's epsilon too:
    they must score a confident miss as the metric does, or a blend leaning on an overconfident model wins."""
    from kaggle_kit.blend.objective import make_objective
    from kaggle_kit.blend.selection import make_scorer

    rng = np.random.default_rng(4)
    n, m = 200, 3
    y = rng.integers(0, 3, n)
    preds = rng.dirichlet(np.ones(3), size=(m, n)).astype(np.float32)
    preds[0, :20] = np.eye(3, dtype=np.float32)[(y[:20] + 1) % 3]  # model 0: 20 exact zeros for the true class
    preds[1, 20:30] = np.eye(3, dtype=np.float32)[(y[20:30] + 2) % 3]
    metric = get_metric("log_loss")
    objective = make_objective(metric, preds, y)
    for w in (np.array([0.6, 0.3, 0.1]), np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])):
        expected = metric.score(y, np.tensordot(w.astype(np.float32), preds, axes=1))
        assert objective.loss(w) == pytest.approx(expected, rel=1e-5)
    scorer = make_scorer(metric, preds, y)
    singles = scorer.losses(scorer.empty(), 0, np.arange(m))
    np.testing.assert_allclose(singles, [metric.score(y, preds[j]) for j in range(m)], rtol=1e-5)
    assert singles[0] > 20 * 36.0 / n  # each exact zero costs -log(2.2e-16) = 36.04


@pytest.mark.parametrize("name", ["roc_auc", "accuracy", "rmse", "mean_roc_auc"])
def test_text_predictions_are_refused_and_object_numbers_read(name: str) -> None:
    """ROC AUC ranked text predictions alphabetically (0.5 here, without a word); rmse raised numpy's ValueError."""
    y = np.array([[1.0], [0.0], [1.0]]) if name == "mean_roc_auc" else np.array([1, 0, 1])
    text = np.array(["a", "b", "c"]).reshape(y.shape)
    with pytest.raises(DataError, match=rf"metric {name!r}: the prediction must hold numbers; got dtype <U1"):
        get_metric(name).score(y, text)
    numbers = np.array([0.9, 0.2, 0.3], dtype=object).reshape(y.shape)  # a pandas object column
    expected = get_metric(name).score(y, numbers.astype(np.float64))
    assert get_metric(name).score(y, numbers) == expected


def test_a_regression_target_of_text_is_refused() -> None:
    with pytest.raises(
        DataError, match=r"metric 'rmse': the y_true must hold numbers; got dtype <U1 .*\['1', '2', 'x'\]"
    ):
        get_metric("rmse").score(np.array(["1", "2", "x"]), np.array([1.0, 2.0, 3.0]))
    # a multi-target metric's targets alike: mean_rmse raised numpy's ValueError, and mean_roc_auc scored the text
    # '1' / '0' as numbers (the single-target metrics refuse it)
    text = np.array([["1", "0"], ["x", "1"], ["0", "1"]])
    proba = np.array([[0.9, 0.2], [0.3, 0.8], [0.1, 0.7]])
    for name in ("mean_rmse", "mean_roc_auc"):
        with pytest.raises(DataError, match=rf"metric '{name}': the y_true must hold numbers; got dtype <U1"):
            get_metric(name).score(text, proba)
    with pytest.raises(DataError, match=r"metric 'mean_roc_auc': the y_true must hold numbers"):
        get_metric("mean_roc_auc").score(np.where(text == "x", "0", text), proba)


def test_register_refuses_a_spelling_of_map_at_k(monkeypatch: pytest.MonkeyPatch) -> None:
    """A metric registered as 'MAP@7' before map@7's first use was what get_metric('map@7') (a config's, init's
    inference from the sample) then found: the user's function scored under the built-in's name."""
    monkeypatch.setattr(metrics, "METRICS", dict(METRICS))
    for spelling in ("MAP@7", "map @ 7", "Map@7"):
        clash = Metric(spelling, _custom_rmse, greater_is_better=True, needs="proba", tasks=frozenset({"multiclass"}))
        with pytest.raises(ConfigError, match=rf"metric '{spelling}' would read as the built-in metric 'map@7'"):
            register(clash)
    assert metrics.get_metric("MAP@7").fn.__qualname__ == "map_at_k(7)"
    assert metrics.get_metric("map@7") is metrics.METRICS["map@7"]


@pytest.mark.parametrize("dtype", [bool, np.int64])
def test_log_loss_of_hard_label_predictions(dtype: type) -> None:
    """Hard 0 / 1 predictions (a bool or int column) are probabilities 0 and 1: each miss costs 36.04, as in
    scikit-learn on the same values as floats."""
    y = np.array([0, 1, 1, 0, 1])
    hard = np.array([0, 1, 0, 0, 1]).astype(dtype)
    expected = skm.log_loss(y, hard.astype(np.float64))
    assert get_metric("log_loss").score(y, hard) == pytest.approx(expected, abs=TOL)
    matrix = np.column_stack([1 - hard.astype(np.int64), hard]).astype(dtype)
    assert get_metric("log_loss").score(y, matrix) == pytest.approx(expected, abs=TOL)


def test_mcc_is_sklearn_matthews_corrcoef_and_nan_only_on_one_class() -> None:
    """Matthews correlation: a constant prediction of both classes' rows scores 0 (scikit-learn's value, no
    correlation), so a dummy baseline is ranked; a target of one class leaves it undefined (``nan``: its fold is left
    out, as ROC AUC's is), where scikit-learn gives 0."""
    mcc = get_metric("mcc")
    assert mcc.greater_is_better and mcc.needs == "label" and mcc.tasks == {"binary", "multiclass"}
    y = np.array([0, 1, 1, 0, 1, 0, 0])
    p = np.array([0.2, 0.9, 0.4, 0.7, 0.6, 0.1, 0.3])
    for t in (None, 0.35, 0.65):
        labels = p > (0.5 if t is None else t)
        assert mcc.score(y, p, t) == pytest.approx(skm.matthews_corrcoef(y, labels), abs=TOL)
        assert mcc.score(y, np.column_stack([1 - p, p]), t) == mcc.score(y, p, t)
    assert mcc.score(y, np.full(7, 0.2)) == 0.0 == skm.matthews_corrcoef(y, np.zeros(7))
    assert mcc.score(y, np.full(7, 0.8)) == 0.0
    assert math.isnan(mcc.score(np.ones(4, dtype=int), np.array([0.2, 0.9, 0.7, 0.6])))
    assert math.isnan(mcc.score(np.zeros(4, dtype=int), np.full(4, 0.1)))
    assert mcc.score(y, np.where(y == 1, 0.9, 0.1)) == 1.0
    assert mcc.score(y, np.where(y == 1, 0.1, 0.9)) == -1.0
    # multiclass: the K-class generalisation (Gorodkin's R_K), as scikit-learn
    rng = np.random.default_rng(5)
    y3 = rng.integers(0, 4, 200)
    proba = rng.dirichlet(np.ones(4), 200)
    proba[np.arange(120), y3[:120]] += 0.5
    assert mcc.score(y3, proba) == pytest.approx(skm.matthews_corrcoef(y3, proba.argmax(axis=1)), abs=TOL)
    assert mcc.score(y3, np.tile([0.1, 0.6, 0.2, 0.1], (200, 1))) == 0.0


def test_log_loss_of_float32_predictions_is_that_of_their_float64_values() -> None:
    """A run's stored float32 probabilities are scored as the same values in float64 (scikit-learn on them), to
    1e-14: ``1 - p`` of a float32 ``p`` below 0.5 rounded in float32 (3e-8 on a row, 3e-13 on the mean here)."""
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 5000)
    p = rng.uniform(0.001, 0.5, 5000).astype(np.float32)
    expected = skm.log_loss(y, p.astype(np.float64))
    assert get_metric("log_loss").score(y, p) == pytest.approx(expected, rel=1e-14, abs=0)


def test_every_alias_names_a_registered_metric_and_shadows_none() -> None:
    """An alias pointing at no metric would turn a typed name into a KeyError; one whose key is a registered name's
    spelling would never be reached (and, in register, would refuse that very name)."""
    folded = {metrics._name_key(name) for name in METRICS}
    for key, name in metrics.ALIASES.items():
        assert name in METRICS, key
        assert key == metrics._name_key(key) and key not in folded, key
        assert get_metric(key) is METRICS[name]
