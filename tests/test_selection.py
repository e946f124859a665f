"""Ensemble selection (``hill_climb``) and the stacked-overfitting guard on synthetic prediction matrices, where the
right answer is planted: the scorers against the metrics computed independently, a planted best subset recovered,
never worse than the best single model, test predictions equal to the fitted weights applied to the models'
fold-averaged test predictions (each method, stacking's level-2 fits included), and the guard dropping a stacker
that overfits and keeping one that helps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import geometric_pool
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kaggle_kit.blend import BLENDERS, HillClimb, blend_predictions, make_blender, stacking_guard
from kaggle_kit.blend.selection import make_scorer, select
from kaggle_kit.errors import ConfigError
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.folds import make_folds


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _binary_stack(p: np.ndarray) -> np.ndarray:
    """``(models, rows)`` positive-class probabilities -> ``(models, rows, 2)`` float32."""
    return np.stack([1 - p, p], axis=2).astype(np.float32)


def _planted(seed: int, n: int = 1500, informative: int = 3, noisy: int = 27) -> tuple[np.ndarray, np.ndarray]:
    """A binary target and ``informative`` models that each see the signal through independent noise (so their
    average is better than any of them), then ``noisy`` models that do not see it."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    y = (rng.random(n) < _sigmoid(2.5 * z)).astype(np.int64)
    good = [_sigmoid(2 * (z + rng.normal(scale=1.0, size=n))) for _ in range(informative)]
    bad = [_sigmoid(rng.normal(scale=1.5, size=n)) for _ in range(noisy)]
    return y, _binary_stack(np.array(good + bad))


# ------------------------------------------------------------------------------------------ the scorers
def _fold_mean_auc(y: np.ndarray, score: np.ndarray, folds: np.ndarray) -> float:
    return float(np.mean([roc_auc_score(y[folds == f], score[folds == f]) for f in np.unique(folds)]))


def _independent_loss(name: str, y: np.ndarray, blend: np.ndarray, folds: np.ndarray) -> float:
    """The loss a selection minimises, computed with scikit-learn: negated where higher is better."""
    if name == "roc_auc":
        if blend.shape[1] == 2:
            return -_fold_mean_auc(y, blend[:, 1], folds)
        return -float(np.mean([_fold_mean_auc((y == c).astype(int), blend[:, c], folds) for c in range(3)]))
    if name in ("log_loss", "accuracy"):  # a flat metric is searched by log loss
        rows = np.clip(blend, 1e-7, 1 - 1e-7)
        return sk_log_loss(y, rows / rows.sum(axis=1, keepdims=True), labels=list(range(blend.shape[1])))
    if name == "rmse":
        return float(np.sqrt(np.mean((blend[:, 0] - y) ** 2)))
    if name == "mae":
        return float(mean_absolute_error(y, blend[:, 0]))
    if name == "r2":
        return -float(r2_score(y, blend[:, 0]))
    assert name == "rmsle"
    return float(np.sqrt(np.mean((np.log1p(np.maximum(blend[:, 0], 0)) - np.log1p(y)) ** 2)))


@pytest.mark.parametrize("metric", ["roc_auc", "log_loss", "accuracy", "rmse", "mae", "r2", "rmsle", "auc-multi"])
def test_each_candidate_is_scored_as_the_metric_scores_the_blend(metric: str) -> None:
    """The loss of every candidate addition equals the metric of (picked + candidate) / picks, by scikit-learn.
    Probabilities on a grid of 1/8 (exact in float32) make ties, which AUC counts 1/2."""
    rng = np.random.default_rng(1)
    n, m = 400, 5
    folds = rng.integers(0, 3, n)
    if metric in ("rmse", "mae", "r2", "rmsle"):
        y = np.abs(rng.normal(3, 1, n))
        preds = (y + rng.normal(size=(m, n)))[:, :, None].astype(np.float32)
    elif metric in ("log_loss", "accuracy", "auc-multi"):
        y = rng.integers(0, 3, n)
        preds = rng.dirichlet(np.ones(3), size=(m, n)).astype(np.float32)
    else:
        y = rng.integers(0, 2, n)
        preds = _binary_stack(np.round(np.clip(y * 0.3 + rng.random((m, n)) * 0.7, 0, 1) * 8) / 8)
    name = "roc_auc" if metric == "auc-multi" else metric
    scorer = make_scorer(get_metric(name), preds, y, folds if name == "roc_auc" else None)
    picked = [0, 2, 2]
    total = scorer.empty()
    for j in picked:
        total += scorer.base[j]
    got = scorer.losses(total, len(picked), np.arange(m))
    for j in range(m):
        blend = preds[[*picked, j]].astype(np.float64).mean(axis=0)
        assert got[j] == pytest.approx(_independent_loss(name, y, blend, folds), abs=2e-6), j


def test_binary_log_loss_from_one_column_equals_two_columns() -> None:
    """Binary predictions given as the positive class's column alone are scored as the two-column form (and as
    scikit-learn scores the blend)."""
    rng = np.random.default_rng(3)
    n, m = 300, 4
    y = rng.integers(0, 2, n)
    p = np.clip(rng.random((m, n)) * 0.6 + 0.2 * y, 0.01, 0.99).astype(np.float32)
    one = make_scorer(get_metric("log_loss"), p[:, :, None], y)
    two = make_scorer(get_metric("log_loss"), _binary_stack(p), y)
    got_one = one.losses(one.empty(), 0, np.arange(m))
    np.testing.assert_allclose(got_one, two.losses(two.empty(), 0, np.arange(m)), rtol=1e-6)
    expected = [sk_log_loss(y, p[j].astype(np.float64)) for j in range(m)]
    np.testing.assert_allclose(got_one, expected, rtol=1e-5)


def test_a_constant_model_has_auc_one_half_and_ties_count_half() -> None:
    y = np.array([0, 1, 0, 1, 1, 0])
    preds = _binary_stack(np.array([[0.5] * 6, [0.25, 0.25, 0.5, 0.5, 0.75, 0.75]]))
    scorer = make_scorer(get_metric("roc_auc"), preds, y)
    expected = [roc_auc_score(y, preds[0, :, 1]), roc_auc_score(y, preds[1, :, 1])]
    np.testing.assert_allclose(-scorer.losses(scorer.empty(), 0, np.arange(2)), expected, atol=1e-12)
    assert expected[0] == 0.5


# ------------------------------------------------------------------------------------------ the selection
def test_selection_recovers_the_planted_subset_among_thirty_models() -> None:
    y, preds = _planted(seed=0)
    fitted = HillClimb().fit(preds, y, get_metric("log_loss"), np.random.default_rng(0))
    w = fitted.weights
    assert w is not None and (w >= 0).all() and math.isclose(w.sum(), 1.0, rel_tol=1e-12)
    assert w[:3].sum() >= 0.95 and (w[:3] > 0.1).all()  # the three informative models carry the blend
    picks = fitted.info["picks"]  # those of the best prefix of the 25 tried
    assert picks <= fitted.info["steps"] == 25
    np.testing.assert_allclose(w * picks, np.round(w * picks), atol=1e-9)  # shares of the picks


def test_bagged_selection_counts_the_picks_of_every_bag(monkeypatch: pytest.MonkeyPatch) -> None:
    """``info["picks"]`` and ``info["steps"]`` of a bagged selection are the totals over its bags."""
    from kaggle_kit.blend import selection

    y, preds = _planted(seed=2, n=600, noisy=5)
    bags = []
    real_select = selection.select

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        chosen = real_select(*args, **kwargs)
        bags.append((int(chosen.counts.sum()), chosen.steps))
        return chosen

    monkeypatch.setattr(selection, "select", recorded)
    fitted = HillClimb(bags=5, bag_fraction=0.5).fit(preds, y, get_metric("log_loss"), np.random.default_rng(0))
    assert len(bags) == 5
    assert fitted.info["picks"] == sum(p for p, _ in bags) >= 5
    assert fitted.info["steps"] == sum(s for _, s in bags)


@pytest.mark.parametrize("options", [{}, {"init_best": 5}, {"bags": 6, "bag_fraction": 0.3}, {"max_steps": 3}])
@pytest.mark.parametrize("metric", ["roc_auc", "log_loss", "rmse"])
def test_selection_never_ends_worse_than_the_best_single_model(options: dict, metric: str) -> None:
    """A property over random seeds: on the rows it was fitted on, the blend's own objective (computed
    independently) is at least as good as every single model's, whatever the options."""
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n, m = 300, 8
        folds = rng.integers(0, 4, n)
        if metric == "rmse":
            y = rng.normal(size=n)
            preds = (y * rng.uniform(0, 1.5, (m, 1)) + rng.normal(scale=rng.uniform(0.3, 2, (m, 1)), size=(m, n)))[
                :, :, None
            ].astype(np.float32)
        else:
            y, preds = _planted(seed, n=n, informative=2, noisy=m - 2)
        fitted = HillClimb(**options).fit(preds, y, get_metric(metric), rng, folds)
        w = fitted.weights
        assert w is not None and (w >= 0).all() and math.isclose(w.sum(), 1.0, rel_tol=1e-9)
        blend = np.tensordot(w, preds.astype(np.float64), axes=1)
        singles = [_independent_loss(metric, y, p.astype(np.float64), folds) for p in preds]
        assert _independent_loss(metric, y, blend, folds) <= min(singles) + 1e-9, (seed, options)


@pytest.mark.filterwarnings("ignore:The y_prob values do not sum to one")  # float32 rows, summing to 1 +- 1e-7
def test_selection_keeps_the_best_prefix_not_the_last_pick() -> None:
    """Picks go on after the objective stops improving (with replacement a later pick may help again); the weights
    are those of the best prefix of the trajectory, which a naive greedy loop with scikit-learn's log loss finds."""
    y, preds = _planted(seed=3, n=600, informative=3, noisy=5)
    p64 = preds.astype(np.float64)
    counts, trajectory = np.zeros(len(preds)), []
    for _ in range(40):
        trial = [
            sk_log_loss(y, np.tensordot((counts + np.eye(len(preds))[j]) / (counts.sum() + 1), p64, 1))
            for j in range(len(preds))
        ]
        counts = counts + np.eye(len(preds))[int(np.argmin(trial))]
        trajectory.append((min(trial), counts.copy()))
    best = min(range(40), key=lambda i: trajectory[i][0])
    assert 0 < best < 39  # the planted case has a best prefix that is neither the first pick nor the last
    chosen = select(make_scorer(get_metric("log_loss"), preds, y), np.arange(len(preds)), max_steps=40)
    assert chosen.steps == 40
    np.testing.assert_array_equal(chosen.counts, trajectory[best][1])
    assert chosen.loss == pytest.approx(trajectory[best][0], abs=1e-6)


def test_sort_based_objectives_select_on_at_most_max_rows_rows() -> None:
    y, preds = _planted(seed=4, n=3000)
    full = HillClimb().fit(preds, y, get_metric("roc_auc"), np.random.default_rng(0))
    sub = HillClimb(max_rows=1000).fit(preds, y, get_metric("roc_auc"), np.random.default_rng(0))
    scorer_rows = make_scorer(get_metric("roc_auc"), preds, y, max_rows=1000).base.shape[2]
    assert scorer_rows == 1000
    assert full.weights is not None and sub.weights is not None and not np.array_equal(full.weights, sub.weights)
    auc = [roc_auc_score(y, np.tensordot(w, preds[:, :, 1], axes=1)) for w in (full.weights, sub.weights)]
    assert auc[1] == pytest.approx(auc[0], abs=0.005)  # selected on a third of the rows, nearly as good on all


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"max_steps": 0}, r"max_steps of blend method 'hill_climb' must be a positive integer; got 0"),
        ({"bags": 1.5}, r"bags .* positive integer; got 1.5"),
        ({"bag_fraction": 0.0}, r"bag_fraction of blend method 'hill_climb' must be a number in \(0, 1\]; got 0.0"),
        ({"init_best": -1}, r"init_best .* positive integer"),
        ({"steps": 3}, r"unknown option 'steps' for blend method 'hill_climb'.*Did you mean 'max_steps'"),
    ],
)
def test_bad_selection_options_are_refused(options: dict, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        make_blender("hill_climb", options)


# ------------------------------------------------------------------------------------------ test predictions
def _stack_features(p: np.ndarray) -> np.ndarray:
    """What a level-2 logistic regression sees for binary predictions: each model's log-odds, one column each."""
    q = np.clip(p[:, :, 1].astype(np.float64), 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q)).T


@pytest.mark.parametrize("method", sorted(BLENDERS))
def test_test_predictions_are_the_fitted_blend_of_the_fold_averaged_test_predictions(method: str) -> None:
    """Weighting methods: the weights applied to the models' (fold-pooled) test predictions. Stacking: the pool,
    over every (repeat, fold), of a level-2 model fitted on that fold's training OOF rows, applied to the test rows,
    recomputed here with scikit-learn. Repeated folds (2 x 3): every repeat's fits count, pooled as a model's fold
    models are (class probabilities in log space)."""
    y, oof = _planted(seed=5, n=400, informative=2, noisy=2)
    test = _planted(seed=6, n=120, informative=2, noisy=2)[1]
    folds = make_folds(len(y), strategy="stratified", n_splits=3, n_repeats=2, seed=0, y=y)
    names = [f"m{j}" for j in range(4)]
    outcome = blend_predictions(
        dict(zip(names, oof, strict=True)),
        y,
        folds,
        "roc_auc",
        method,
        test=dict(zip(names, test, strict=True)),
        options={"C": 1.0} if method == "stack" else None,  # the penalty fixed: this checks the fold averaging
    )
    assert outcome.test is not None
    if method == "rank":
        ranks = [np.argsort(np.argsort(t[:, 1])) + 1 for t in test]  # no ties in continuous scores
        positive = np.tensordot(np.array(outcome.result.weights), np.array(ranks, dtype=np.float64), axes=1) / 120
        np.testing.assert_allclose(outcome.test[:, 1], positive, rtol=1e-6)
    elif method == "calibrated_hill_climb":  # each fold fit's weights on the models and their twins, refitted here
        X, X_test = _stack_features(oof), _stack_features(test)
        blends = []
        for fit, (r, k) in zip(outcome.level2, folds.tasks(), strict=True):
            train_idx = folds.train_valid(r, k)[0]
            twins = [
                make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
                .fit(X[train_idx][:, [m]], y[train_idx])
                .predict_proba(X_test[:, [m]])
                for m in fit.twins
            ]
            blends.append(np.tensordot(fit.weights, np.concatenate([test, np.array(twins)]), axes=1))
        assert len(blends) == 6 and any(fit.weights[4:].sum() > 0 for fit in outcome.level2)
        np.testing.assert_allclose(outcome.test, geometric_pool(blends), rtol=1e-5, atol=1e-6)
    elif method != "stack":
        w = np.array(outcome.result.weights)
        np.testing.assert_allclose(outcome.test, np.tensordot(w, test.astype(np.float64), axes=1), rtol=1e-6)
    else:
        X, X_test = _stack_features(oof), _stack_features(test)
        fits = []
        for r, k in folds.tasks():
            train_idx = folds.train_valid(r, k)[0]
            model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
            fits.append(model.fit(X[train_idx], y[train_idx]).predict_proba(X_test))
        assert len(fits) == 6
        np.testing.assert_allclose(outcome.test, geometric_pool(fits), rtol=1e-5, atol=1e-6)
        assert not np.allclose(outcome.test, fits[0], atol=1e-4)  # one fold's fit alone is not the answer


# ------------------------------------------------------------------------------------------ the guard
def _guarded(y: np.ndarray, preds: np.ndarray, metric: str) -> tuple[list, list]:
    folds = make_folds(len(y), strategy="stratified", n_splits=5, seed=0, y=y)
    oof = {f"m{j}": p for j, p in enumerate(preds)}
    outcomes = [blend_predictions(oof, y, folds, metric, m) for m in ("hill_climb", "stack")]
    return stacking_guard(outcomes, get_metric(metric))


def test_the_guard_drops_a_stacker_that_overfits_many_noise_models_on_few_rows() -> None:
    rng = np.random.default_rng(7)
    n = 120
    z = rng.normal(size=n)
    y = (rng.random(n) < _sigmoid(2 * z)).astype(np.int64)
    noise = [rng.uniform(0.01, 0.99, n) for _ in range(60)]
    preds = _binary_stack(np.array([_sigmoid(1.5 * z + rng.normal(scale=0.8, size=n)), *noise]))
    kept, dropped = _guarded(y, preds, "log_loss")
    assert [o.result.method for o in kept] == ["hill_climb"]
    ((stacker, selection),) = dropped
    assert stacker.method == "stack" and selection.method == "hill_climb"
    assert stacker.mean > selection.mean  # log loss: the stacker's honest score is worse


def test_the_guard_keeps_a_stacker_that_needs_a_non_convex_combination() -> None:
    """m0 sees signal + a large shared nuisance, m1 sees only the nuisance: m0 - m1 (in log-odds) is the signal,
    which no weighted average of the two can reach; a level-2 logistic regression finds it."""
    rng = np.random.default_rng(8)
    n = 2000
    s, nuisance = rng.normal(size=n), 3 * rng.normal(size=n)
    y = (rng.random(n) < _sigmoid(2 * s)).astype(np.int64)
    preds = _binary_stack(np.array([_sigmoid(s + nuisance), _sigmoid(nuisance + rng.normal(scale=0.1, size=n))]))
    kept, dropped = _guarded(y, preds, "roc_auc")
    assert not dropped and [o.result.method for o in kept] == ["hill_climb", "stack"]
    selection, stacker = (o.result for o in kept)
    assert stacker.mean > selection.mean + 0.05
