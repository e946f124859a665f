"""Pooling a model's fold predictions: class probabilities in log space, other values averaged."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import geometric_pool

from kaggle_kit.blend.nested import nested_cv
from kaggle_kit.blend.stacking import Stack
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.folds import make_folds
from kaggle_kit.runtime.pooling import FoldPool, metric_pooling_space, pooling_space


def _pool(per_fold: list[np.ndarray], space: str) -> np.ndarray:
    pool = FoldPool(per_fold[0].shape[0], per_fold[0].shape[1], space)  # type: ignore[arg-type]
    for pred in per_fold:
        pool.add(pred)
    return pool.result()


def test_each_task_pools_in_its_space() -> None:
    assert pooling_space("binary") == pooling_space("multiclass") == "log"
    assert pooling_space("multilabel") == "logit"
    assert pooling_space("regression") == pooling_space("multiregression") == "mean"
    assert pooling_space("distribution") == "mean"  # a CDF at bins or values at quantile levels


def test_class_probabilities_are_the_normalised_geometric_mean() -> None:
    rng = np.random.default_rng(0)
    per_fold = [rng.dirichlet(np.ones(4), size=50) for _ in range(5)]
    pooled = _pool(per_fold, "log")
    np.testing.assert_allclose(pooled, geometric_pool(per_fold), rtol=1e-5)
    np.testing.assert_allclose(pooled.sum(axis=1), 1.0, rtol=1e-6)
    # two fold models that disagree: the pool is as confident as they are, the probabilities' mean is not
    a, b = np.array([[0.9, 0.1]]), np.array([[0.5, 0.5]])
    np.testing.assert_allclose(_pool([a, b], "log"), [[0.75, 0.25]], rtol=1e-6)  # sqrt(.45) : sqrt(.05) = 3 : 1


def test_a_fold_models_zero_is_floored_not_a_veto() -> None:
    """A forest's leaf with no row of a class gives it 0: pooled unfloored that would be 0 whatever the other four
    folds say (and a log loss of 34.5 on such a row)."""
    zero, sure = np.array([[1.0, 0.0]]), np.array([[0.4, 0.6]])
    pooled = _pool([zero, sure, sure, sure, sure], "log")
    expected = np.array([0.4**0.8, (1e-6 * 0.6**4) ** 0.2])
    np.testing.assert_allclose(pooled[0], expected / expected.sum(), rtol=1e-5)
    assert pooled[0, 1] > 0.05


def test_multilabel_probabilities_pool_their_log_odds_and_values_their_mean() -> None:
    rng = np.random.default_rng(1)
    per_fold = [rng.uniform(0.01, 0.99, size=(20, 3)) for _ in range(4)]
    logit = np.mean([np.log(p / (1 - p)) for p in per_fold], axis=0)
    np.testing.assert_allclose(_pool(per_fold, "logit"), 1 / (1 + np.exp(-logit)), rtol=1e-5)
    values = [rng.normal(size=(20, 1)) * 100 for _ in range(4)]
    np.testing.assert_allclose(_pool(values, "mean"), np.mean(values, axis=0), rtol=1e-6)


def test_a_multilabel_fold_models_certainty_is_floored_both_ways() -> None:
    """A fold model's exact 1 (or 0) for a label is an infinite log-odds: clipped to [FLOOR, 1 - FLOOR] first, so a
    1 beside a 0 pools to a probability (not NaN), and a 1 among less sure folds does not make the pool certain."""
    sure, never, half = np.array([[1.0, 0.9]]), np.array([[0.0, 0.9]]), np.array([[0.5, 0.6]])
    pooled = _pool([sure, never, half], "logit")
    assert np.isfinite(pooled).all() and pooled[0, 0] == pytest.approx(0.5, abs=1e-6)
    logit = (np.log(1e6 - 1) + 0.0) / 2  # a 1 floored to 1 - 1e-6, beside 0.5
    one = _pool([sure, half], "logit")[0, 0]
    assert one == pytest.approx(1 / (1 + np.exp(-logit)), rel=1e-6) and one < 0.9999


def test_rows_pool_only_the_folds_that_predicted_them() -> None:
    """OOF predictions over repeats: each fold adds its held-out rows; a row no fold held out stays NaN."""
    pool = FoldPool(4, 2, "log")
    pool.add(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 1]))
    pool.add(np.array([[0.5, 0.5]]), np.array([0]))
    pool.add(np.array([[0.3, 0.7]]), np.array([2]))
    out = pool.result()
    np.testing.assert_allclose(out[0], [0.75, 0.25], rtol=1e-6)
    np.testing.assert_allclose(out[1:3], [[0.2, 0.8], [0.3, 0.7]], rtol=1e-6)
    assert np.isnan(out[3]).all()


@pytest.mark.parametrize("space", ["log", "logit", "mean"])
def test_one_fold_model_is_its_own_pool(space: str) -> None:
    """Exactly, a 0 too: one repeat's OOF is the fold models' own predictions, a blend of one model is that model."""
    pred = np.array([[0.25, 0.75], [0.6, 0.4], [0.0, 1.0]])
    np.testing.assert_array_equal(_pool([pred], space), pred.astype(np.float32))
    pool = FoldPool(2, 2, space)  # type: ignore[arg-type]
    pool.add(pred[:1], np.array([1]))
    pool.add(pred[1:2], np.array([0]))
    pool.add(pred[2:], np.array([0]))
    np.testing.assert_array_equal(pool.result()[1], pred[0].astype(np.float32))  # row 0 pooled two: not exact


@pytest.mark.parametrize(
    ("metric", "space"),
    [("log_loss", "log"), ("accuracy", "log"), ("roc_auc", "log"), ("mean_log_loss", "logit"), ("rmse", "mean")],
)
def test_a_blend_pools_in_the_space_of_its_metrics_task(metric: str, space: str) -> None:
    assert metric_pooling_space(get_metric(metric)) == space


def test_a_stackers_fold_fits_are_pooled_as_a_models_fold_models() -> None:
    """Its test predictions pool its nested fold fits' in log space, and its nested OOF pools the repeats so."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    logits = rng.normal(size=(2, 300, 3)) + 2.0 * np.eye(3)[y]
    preds = (np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)).astype(np.float32)
    test = preds[:, :40]
    folds = make_folds(300, strategy="stratified", n_splits=3, n_repeats=2, seed=0, y=y)
    nested = nested_cv(Stack(), preds, y, folds, get_metric("log_loss"), test=test)
    assert len(nested.fitted) == 6
    per_fit = [Stack().predict(f, test) for f in nested.fitted]
    np.testing.assert_allclose(nested.test, geometric_pool(per_fit), rtol=1e-5)
    held = [
        Stack().predict(f, preds[:, folds.train_valid(r, k)[1]])
        for f, (r, k) in zip(nested.fitted, nested.scored, strict=True)
    ]
    row = 7
    mine = [h[np.flatnonzero(folds.train_valid(r, k)[1] == row)] for h, (r, k) in zip(held, nested.scored, strict=True)]
    mine = [m for m in mine if len(m)]
    assert len(mine) == 2  # one fold per repeat held the row out
    np.testing.assert_allclose(nested.oof[row], geometric_pool(mine)[0], rtol=1e-5)
