"""Adversarial validation: can a classifier tell train rows from test rows?

Train and test rows are pooled and labelled 0 / 1; a LightGBM classifier is cross-validated on that label. Its OOF
ROC AUC says how different the test set looks: 0.5 means the two are indistinguishable (the CV should carry over to
the leaderboard), 1.0 that every test row can be recognised. The features that give the shift away are those the
classifier gains most from *and* whose own distribution differs significantly between train and test (two-sample
Kolmogorov-Smirnov test for numbers, chi-square for categories): a classifier fitting noise spreads its gain over
every column, so the share alone would also name innocent ones.

Example::

    from kaggle_kit.report import adversarial_validation
    result = adversarial_validation(train, test, features=["age", "fare"])
    print(result.message)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import polars as pl

from ..errors import DataError
from ..features.encoder import model_feature_names
from ..metrics import roc_auc

Verdict = Literal["none", "mild", "strong"]

#: AUC at or above which the test set is said to look different: mildly, then strongly.
MILD_AUC = 0.6
STRONG_AUC = 0.75
#: a feature "gives the shift away" when it earns at least this share of the classifier's gain and its train and
#: test distributions differ with a p-value below FLAG_P_VALUE
FLAG_SHARE = 0.05
FLAG_P_VALUE = 1e-3


@dataclass(frozen=True)
class FeatureShift:
    """One feature's part in the shift: its share of the classifier's gain and its own train/test distance."""

    name: str
    share: float
    distance: float  # KS statistic (numbers) or total variation distance (categories), 0 = same distribution
    p_value: float  # of the two-sample test (KS or chi-square): small = the distributions differ
    train_summary: str
    test_summary: str


@dataclass(frozen=True)
class AdversarialResult:
    """The outcome of :func:`adversarial_validation`."""

    auc: float
    fold_aucs: tuple[float, ...]
    n_train: int
    n_test: int
    features: tuple[FeatureShift, ...]  # by share of gain, largest first
    verdict: Verdict
    message: str

    @property
    def flagged(self) -> tuple[FeatureShift, ...]:
        """The features that give the shift away (none when the test set does not look different)."""
        if self.verdict == "none":
            return ()
        return tuple(f for f in self.features if f.share >= FLAG_SHARE and f.p_value < FLAG_P_VALUE)[:5]


def adversarial_validation(
    train: pl.DataFrame,
    test: pl.DataFrame,
    features: Sequence[str],
    *,
    categorical: Sequence[str] = (),
    n_splits: int = 5,
    seed: int = 0,
    max_rows: int = 50_000,
    num_boost_round: int = 100,
    threads: int = 1,
) -> AdversarialResult:
    """Cross-validate a train-vs-test classifier on ``features`` and explain what gives the test set away.

    Id and target columns must not be among ``features`` (ids often grow with time and would flag a shift the models
    never see). At most ``max_rows`` rows of each frame are used (a random sample).
    """
    import lightgbm as lgb
    from sklearn.model_selection import StratifiedKFold

    features = [f for f in features if f in train.columns]
    missing = [f for f in features if f not in test.columns]
    if missing:
        raise DataError(f"adversarial validation: test lacks feature column(s) {missing}")
    if not features:
        raise DataError("adversarial validation needs at least one feature column shared by train and test")
    rng = np.random.default_rng(seed)
    train, test = _sample(train, max_rows, rng), _sample(test, max_rows, rng)
    if min(train.height, test.height) < n_splits:
        raise DataError(f"adversarial validation needs at least {n_splits} train and test rows")

    schema = train.schema  # rebuilt on each access: once, not per column
    categorical = [c for c in features if c in categorical or not _is_ordered(schema[c])]
    as_text = [pl.col(c).cast(pl.String) if c in categorical else pl.col(c) for c in features]
    X = _encode(pl.concat([train.select(as_text), test.select(as_text)], how="vertical_relaxed"), categorical)
    label = np.r_[np.zeros(train.height), np.ones(test.height)]
    cat_idx = [features.index(c) for c in categorical]

    params = {
        "objective": "binary",
        "learning_rate": 0.1,
        "num_leaves": 15,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": seed,
        "deterministic": True,
        "num_threads": threads,
        "verbose": -1,
    }
    oof = np.zeros(len(label))
    gain = np.zeros(len(features))
    fold_aucs = []
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for fit_idx, val_idx in splitter.split(X, label):
        names = list(model_feature_names(features))  # names LightGBM accepts (no quotes, braces, ':')
        data = lgb.Dataset(X[fit_idx], label=label[fit_idx], feature_name=names, categorical_feature=cat_idx)
        booster = lgb.train(params, data, num_boost_round=num_boost_round)
        oof[val_idx] = booster.predict(X[val_idx])
        fold_aucs.append(roc_auc(label[val_idx], oof[val_idx]))
        g = booster.feature_importance(importance_type="gain")
        gain += g / g.sum() if g.sum() > 0 else 0.0
    auc = roc_auc(label, oof)
    share = gain / n_splits

    order = np.argsort(-share, kind="stable")
    shifts = tuple(
        _feature_shift(features[i], float(share[i]), train[features[i]], test[features[i]], features[i] in categorical)
        for i in order
    )
    verdict: Verdict = "strong" if auc >= STRONG_AUC else "mild" if auc >= MILD_AUC else "none"
    result = AdversarialResult(auc, tuple(fold_aucs), train.height, test.height, shifts, verdict, "")
    return replace(result, message=_message(result))


def _sample(frame: pl.DataFrame, n: int, rng: np.random.Generator) -> pl.DataFrame:
    if frame.height <= n:
        return frame
    return frame[np.sort(rng.choice(frame.height, size=n, replace=False))]


def _is_ordered(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or dtype.is_temporal()


def _encode(pooled: pl.DataFrame, categorical: list[str]) -> np.ndarray:
    """Pooled train + test rows as a float matrix: numbers as they are, dates as their physical counts, categories as
    codes of the levels seen in either, in sorted order (missing values stay NaN). Not a Categorical's physical codes:
    those number the levels in the order the process's string cache met them, which the threads decide."""
    exprs = [
        pl.col(c).cast(pl.String).rank("dense") - 1 if c in categorical else pl.col(c).to_physical()
        for c in pooled.columns
    ]
    return pooled.select([e.cast(pl.Float64) for e in exprs]).to_numpy()


def _feature_shift(name: str, share: float, tr: pl.Series, te: pl.Series, categorical: bool) -> FeatureShift:
    from scipy.stats import chi2_contingency, ks_2samp

    if categorical or not (_is_ordered(tr.dtype) and _is_ordered(te.dtype)):
        # named 'level' first: a column named 'n_train' clashed with the counts' own name
        a, b = (s.cast(pl.String).fill_null("<missing>").alias("level") for s in (tr, te))
        pa, pb = a.value_counts(name="n_train"), b.value_counts(name="n_test")
        # sorted: value_counts and the join order the levels by thread timing, and the top levels shown keep that
        # order among ties
        counts = pa.join(pb, on="level", how="full", coalesce=True).fill_null(0).sort("level")
        table = counts.select("n_train", "n_test").to_numpy().astype(np.float64)
        p, q = table[:, 0] / table[:, 0].sum(), table[:, 1] / table[:, 1].sum()
        distance = 0.5 * float(np.abs(p - q).sum())
        p_value = float(chi2_contingency(table).pvalue) if table.shape[0] > 1 else 1.0
        levels = counts["level"].to_list()
        return FeatureShift(name, share, distance, p_value, _top_levels(levels, p), _top_levels(levels, q))
    x, z = (_numbers(s) for s in (tr, te))
    if len(x) == 0 or len(z) == 0:
        return FeatureShift(name, share, math.nan, 1.0, _describe(x), _describe(z))
    test = ks_2samp(x, z)
    return FeatureShift(name, share, float(test.statistic), float(test.pvalue), _describe(x), _describe(z))


def _numbers(series: pl.Series) -> np.ndarray:
    values = series.to_physical().cast(pl.Float64).drop_nulls().to_numpy()  # dates as their day / time counts
    return values[np.isfinite(values)]


def _describe(values: np.ndarray) -> str:
    if len(values) == 0:
        return "all missing"
    q = np.quantile(values, [0.05, 0.5, 0.95])
    return f"median {q[1]:.4g} (5-95%: {q[0]:.4g} .. {q[2]:.4g})"


def _top_levels(levels: list[str], freq: np.ndarray) -> str:
    order = np.argsort(-freq, kind="stable")[:3]
    return ", ".join(f"{levels[i]} {freq[i]:.0%}" for i in order)


def _message(result: AdversarialResult) -> str:
    """The plain-language verdict the report shows."""
    head = (
        f"A classifier tells test rows from train rows with ROC AUC {result.auc:.3f} "
        f"({result.n_train} train vs {result.n_test} test rows; 0.5 = indistinguishable)."
    )
    if result.verdict == "none":
        return f"{head} The test set looks like the training data: the CV should carry over to the leaderboard."
    strength = "looks clearly different from" if result.verdict == "strong" else "looks somewhat different from"
    if result.flagged:
        parts = ", ".join(
            f"'{f.name}' ({f.share:.0%} of the gain, train/test distance {f.distance:.2f})" for f in result.flagged
        )
        where = f"above all in {parts}"
    else:
        parts = ", ".join(f"'{f.name}' ({f.share:.0%})" for f in result.features[:3])
        where = f"though no single column differs significantly; the classifier leans most on {parts}"
    return (
        f"Warning: {head} The test set {strength} the training data, {where}. CV scores may not carry over to the "
        "leaderboard: find out why these columns differ (a time trend, another source, an id-like column), consider "
        "dropping them, or validate on the train rows that look most like test."
    )
