"""Blending on synthetic prediction matrices, where exact answers are known: simplex weights, a blend of one model,
nested CV that never sees the held-out fold, the fast objectives against the metric functions, bad input."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pytest

from kaggle_kit.blend import (
    BLENDERS,
    Blender,
    BlendResult,
    Fitted,
    NelderMead,
    blend_predictions,
    make_blender,
    make_objective,
    nested_cv,
    to_simplex,
)
from kaggle_kit.blend.nested import OutOfTime
from kaggle_kit.errors import ConfigError, KitError
from kaggle_kit.metrics import Metric, get_metric, roc_auc
from kaggle_kit.runtime.folds import make_folds

WEIGHTING = ("mean", "rank", "nelder_mead", "hill_climb")


def _binary(n: int = 600, m: int = 4, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A binary target and ``m`` models of decreasing quality, each with its own calibration."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * z))).astype(np.int64)
    oof = {}
    for j in range(m):
        logit = (0.5 + j * 0.3) * (z + rng.normal(scale=0.6 + 0.5 * j, size=n))
        p = 1 / (1 + np.exp(-logit))
        oof[f"m{j}"] = np.column_stack([1 - p, p])
    return y, oof


def _multiclass(n: int = 600, m: int = 3, c: int = 4, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    oof = {}
    for j in range(m):
        logits = rng.normal(scale=1.0 + j, size=(n, c))
        logits[np.arange(n), y] += 1.5
        p = np.exp(logits)
        oof[f"m{j}"] = p / p.sum(axis=1, keepdims=True)
    return y, oof


def _regression(n: int = 600, m: int = 3, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n) * 3 + 10
    return y, {f"m{j}": (y + rng.normal(scale=1 + j, size=n))[:, None] for j in range(m)}


def _folds(y: np.ndarray, strategy: str = "stratified"):
    return make_folds(len(y), strategy=strategy, n_splits=5, seed=0, y=y if strategy == "stratified" else None)


# ------------------------------------------------------------------------------------------ simplex weights
@pytest.mark.parametrize(
    "raw",
    [[1.0, 2.0, 3.0], [-1.0, 2.0, -3.0], [0.0, 0.0, 0.0], [1e300, 1e300, 1.0], [0.0, -5.0, 0.0], [np.inf, 1.0, 1.0]],
)
def test_to_simplex_is_non_negative_and_sums_to_one(raw: list[float]) -> None:
    w = to_simplex(np.array(raw))
    assert (w >= 0).all() and math.isclose(w.sum(), 1.0, rel_tol=1e-12)


@pytest.mark.parametrize("method", WEIGHTING)
@pytest.mark.parametrize(("make", "metric"), [(_binary, "roc_auc"), (_multiclass, "log_loss"), (_regression, "rmse")])
def test_fitted_weights_lie_on_the_simplex(method: str, make, metric: str) -> None:
    if method == "rank" and metric != "roc_auc":
        pytest.skip("rank averages are for rank metrics")
    y, oof = make()
    result = blend_predictions(oof, y, _folds(y, "kfold"), metric, method, options=_quick(method)).result
    w = np.array(result.weights)
    assert w.shape == (len(oof),)  # one weight per model, whatever its number of class columns
    assert (w >= 0).all() and math.isclose(w.sum(), 1.0, rel_tol=1e-9)


def test_nelder_mead_beats_equal_weights_in_sample_and_is_deterministic() -> None:
    y, oof = _binary()
    folds = _folds(y)
    mean = blend_predictions(oof, y, folds, "log_loss", "mean").result
    a = blend_predictions(oof, y, folds, "log_loss", "nelder_mead", seed=3, options=_quick("nelder_mead")).result
    b = blend_predictions(oof, y, folds, "log_loss", "nelder_mead", seed=3, options=_quick("nelder_mead")).result
    assert a.weights == b.weights and a.fold_scores == b.fold_scores
    assert a.cv < mean.cv  # log loss: lower is better
    assert a.weights is not None and a.weights[0] > a.weights[-1]  # the best model weighs most


def test_multiclass_blend_rows_stay_probabilities() -> None:
    y, oof = _multiclass()
    outcome = blend_predictions(oof, y, _folds(y), "accuracy", "nelder_mead", test=oof, options=_quick("nelder_mead"))
    assert outcome.result.objective == "log_loss"  # accuracy is flat: a smooth surrogate is searched
    assert outcome.test is not None
    np.testing.assert_allclose(outcome.test.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(outcome.oof.sum(axis=1), 1.0, rtol=1e-5)


def test_hill_climb_weights_are_shares_of_picks() -> None:
    y, oof = _binary(m=5)
    result = blend_predictions(oof, y, _folds(y), "roc_auc", "hill_climb").result
    w = np.array(result.weights)
    picks = round(1 / w[w > 0].min())
    np.testing.assert_allclose(w * picks, np.round(w * picks), atol=1e-9)


def test_staged_search_on_many_rows_matches_a_full_search() -> None:
    y, oof = _binary(n=4000, m=3)
    preds = np.stack(list(oof.values())).astype(np.float32)
    metric = get_metric("roc_auc")
    full = NelderMead(restarts=2).fit(preds, y, metric, np.random.default_rng(0))
    staged = NelderMead(restarts=2, search_rows=500).fit(preds, y, metric, np.random.default_rng(0))
    assert staged.info["loss"] == pytest.approx(full.info["loss"], abs=2e-4)  # the search ends on all rows


def test_nelder_mead_starts_once_per_restart_and_counts_every_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """``restarts`` searches (equal weights, then halfway to the best single model, then random points), and
    ``info["evals"]`` is the number of times the objective was computed, counted here around the objective."""
    from kaggle_kit.blend import weighting

    y, oof = _binary(m=4)
    preds = np.stack(list(oof.values())).astype(np.float32)
    calls, starts = [0], []
    real_objective, real_search = weighting.make_objective, weighting._nelder_mead

    def counted_objective(*args, **kwargs):  # type: ignore[no-untyped-def]
        objective = real_objective(*args, **kwargs)

        def loss(w: np.ndarray) -> float:
            calls[0] += 1
            return objective.loss(w)

        return type(objective)(objective.name, loss)

    def recorded_search(objective, x0, step, max_evals):  # type: ignore[no-untyped-def]
        starts.append(np.array(x0))
        return real_search(objective, x0, step, max_evals)

    monkeypatch.setattr(weighting, "make_objective", counted_objective)
    monkeypatch.setattr(weighting, "_nelder_mead", recorded_search)
    fitted = NelderMead(restarts=4).fit(preds, y, get_metric("roc_auc"), np.random.default_rng(0))
    assert len(starts) == 4  # 600 rows: one stage, no polishing
    np.testing.assert_allclose(starts[0], np.full(4, 0.25))
    singles = [-roc_auc(y, preds[j]) for j in range(4)]
    np.testing.assert_allclose(starts[1], 0.5 * np.eye(4)[int(np.argmin(singles))] + 0.5 / 4)
    assert all(np.isclose(x.sum(), 1.0) and (x > 0).all() for x in starts[2:])  # Dirichlet draws
    assert fitted.info["evals"] == calls[0] > 4 * 5


# ------------------------------------------------------------------------------------------ honest scores
def test_honest_scores_compare_everyone_on_the_folds_all_of_them_predicted() -> None:
    """A model that never predicted fold 0's rows (as a blend the first block of time folds) leaves fold 0 out of
    every score; each score is the metric on each common fold's held-out rows, computed here by hand."""
    from kaggle_kit.blend.scoring import common_folds, honest_scores
    from kaggle_kit.runtime.scoring import score_folds

    y, oof = _binary(m=2)
    folds = _folds(y)
    held_out = {k: folds.train_valid(0, k)[1] for k in range(5)}
    partial = oof["m1"].copy()
    partial[held_out[0]] = np.nan
    preds = {"whole": oof["m0"], "partial": partial}
    assert common_folds(preds, folds) == ((0, 1), (0, 2), (0, 3), (0, 4))
    scores = honest_scores(preds, y, folds, get_metric("roc_auc"))
    for name, p in preds.items():
        by_hand = [roc_auc(y[held_out[k]], p[held_out[k]]) for k in (1, 2, 3, 4)]
        assert scores[name].folds == ((0, 1), (0, 2), (0, 3), (0, 4))
        np.testing.assert_allclose(scores[name].scores, by_hand, rtol=1e-12)
        assert scores[name].mean == pytest.approx(np.mean(by_hand), rel=1e-12)
        assert scores[name].std == pytest.approx(np.std(by_hand), rel=1e-12)
    every = score_folds(oof["m0"], y, folds, get_metric("roc_auc"))  # no tasks given: every fold
    assert every.folds == tuple((0, k) for k in range(5))
    assert every.pooled == pytest.approx(roc_auc(y, oof["m0"]), rel=1e-12)


# ------------------------------------------------------------------------------------------ a blend of one model
@pytest.mark.parametrize("method", ["mean", "nelder_mead", "hill_climb"])
@pytest.mark.parametrize(("make", "metric"), [(_binary, "roc_auc"), (_multiclass, "accuracy"), (_regression, "rmse")])
def test_a_blend_of_one_model_is_that_model(method: str, make, metric: str) -> None:
    y, oof = make()
    one = {"m0": oof["m0"]}
    outcome = blend_predictions(one, y, _folds(y, "kfold"), metric, method, test=one)
    expected = np.asarray(oof["m0"], dtype=np.float32)
    np.testing.assert_array_equal(outcome.oof, expected)
    np.testing.assert_array_equal(outcome.test, expected)
    assert outcome.result.weights == (1.0,)
    m = get_metric(metric)
    assert outcome.result.cv == m.score(y, expected) == outcome.result.nested_cv


def test_a_rank_blend_of_one_model_scores_as_that_model() -> None:
    y, oof = _binary()
    folds = _folds(y)
    outcome = blend_predictions({"m0": oof["m0"]}, y, folds, "roc_auc", "rank")
    for (r, k), score in zip(outcome.result.folds, outcome.result.fold_scores, strict=True):
        valid = folds.train_valid(r, k)[1]
        assert score == pytest.approx(roc_auc(y[valid], oof["m0"][valid, 1]), abs=1e-12)


# ------------------------------------------------------------------------------------------ honest scores
@dataclass(frozen=True)
class _Spy(Blender):
    """Records which rows each fit saw (row i's first prediction column holds i) and blends equally."""

    method: ClassVar[str] = "spy"
    seen: list = field(default_factory=list)

    def fit(self, preds, y, metric, rng, row_folds=None) -> Fitted:  # type: ignore[no-untyped-def]
        self.seen.append(preds[0, :, 0].copy())
        return Fitted(weights=np.full(preds.shape[0], 1.0 / preds.shape[0]))


def test_nested_cv_fits_only_the_other_folds_rows() -> None:
    n = 500
    y = np.arange(n) % 2
    ids = np.arange(n, dtype=np.float32)
    preds = np.stack([np.column_stack([ids, 1 - y]), np.column_stack([ids, y])]).astype(np.float32)
    folds = _folds(y)
    spy = _Spy()
    nested = nested_cv(spy, preds, y, folds, get_metric("accuracy"))
    assert len(spy.seen) == len(nested.scored) == 5
    for rows, (r, k) in zip(spy.seen, nested.scored, strict=True):
        train_idx, valid_idx = folds.train_valid(r, k)
        assert set(rows.astype(int)) == set(train_idx.tolist())  # exactly the other folds' rows
        assert not set(rows.astype(int)) & set(valid_idx.tolist())  # never one of the held-out fold's


def test_nested_cv_score_ignores_what_only_the_held_out_fold_would_teach() -> None:
    """Model 'a' is perfect on fold 0 and noise elsewhere; 'b' the other way round. Weights fitted on the other
    folds back 'b', so fold 0 scores near chance; had fold 0 been used, 'a' would have weight and fold 0 would
    score far better."""
    rng = np.random.default_rng(1)
    n = 1000
    y = rng.integers(0, 2, n)
    folds = _folds(y)
    in_fold0 = folds.ids[0] == 0
    noise_a, noise_b = rng.random(n), rng.random(n)
    a = np.where(in_fold0, y, noise_a)
    b = np.where(in_fold0, noise_b, 0.3 + 0.4 * y + 0.1 * noise_b)
    oof = {"a": np.column_stack([1 - a, a]), "b": np.column_stack([1 - b, b])}
    result = blend_predictions(oof, y, folds, "roc_auc", "nelder_mead").result
    fold0 = result.fold_scores[result.folds.index((0, 0))]
    assert fold0 < 0.6
    leaked = blend_predictions(
        {k: v[in_fold0] for k, v in oof.items()},
        y[in_fold0],
        _folds(y[in_fold0]),
        "roc_auc",
        "nelder_mead",
    ).result
    assert leaked.cv > 0.99


def test_stacking_is_only_scored_by_nested_cv() -> None:
    y, oof = _binary()
    result = blend_predictions(oof, y, _folds(y), "roc_auc", "stack", test=oof).result
    assert math.isnan(result.cv) and math.isnan(result.gap) and result.weights is None
    assert len(result.fold_scores) == 5 and result.in_sample_fold_scores == ()
    assert result.mean > 0.8


def test_gap_is_in_sample_minus_honest_in_the_metrics_direction() -> None:
    y, oof = _binary()
    folds = _folds(y)
    for metric in ("roc_auc", "log_loss"):
        r = blend_predictions(oof, y, folds, metric, "nelder_mead", options=_quick("nelder_mead")).result
        raw = r.in_sample_mean - r.mean
        assert r.gap == pytest.approx(raw if get_metric(metric).greater_is_better else -raw)


def test_time_folds_score_only_folds_with_earlier_rows() -> None:
    y, oof = _regression(n=500)
    folds = make_folds(500, strategy="time", n_splits=4)
    never = folds.ids[0] == -1
    oof = {k: np.where(never[:, None], np.nan, v) for k, v in oof.items()}
    outcome = blend_predictions(oof, y, folds, "rmse", "nelder_mead")
    assert (0, 0) not in outcome.result.folds and len(outcome.result.folds) == 3
    assert outcome.result.n_rows == int((~never).sum())
    assert np.isnan(outcome.oof[never | (folds.ids[0] == 0)]).all()


def test_result_round_trips_through_json() -> None:
    y, oof = _binary()
    result = blend_predictions(oof, y, _folds(y), "roc_auc", "hill_climb").result
    assert BlendResult.from_json(result.to_json()) == result


# ------------------------------------------------------------------------------------------ fast objectives
@pytest.mark.parametrize(("row_folds", "one_pass_rows"), [(None, 50_000), ("folds", 50_000), ("folds", 0)])
def test_fast_auc_objective_equals_the_metric_with_ties(
    row_folds: str | None, one_pass_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kaggle_kit.blend import objective

    monkeypatch.setattr(objective, "_ONE_PASS_ROWS", one_pass_rows)  # 0: the fold-by-fold path of big data
    rng = np.random.default_rng(2)
    n, m = 3000, 4
    y = rng.integers(0, 2, n)
    groups = rng.integers(0, 5, n)
    p = np.round(rng.random((m, n)), 2).astype(np.float32)  # many ties
    preds = np.stack([1 - p, p], axis=2)
    w = rng.dirichlet(np.ones(m))
    objective = make_objective(get_metric("roc_auc"), preds, y, groups if row_folds else None)
    blended = w.astype(np.float32) @ p
    expected = (
        np.mean([roc_auc(y[groups == g], blended[groups == g]) for g in range(5)]) if row_folds else roc_auc(y, blended)
    )
    assert -objective.loss(w) == pytest.approx(expected, abs=1e-12)


def test_fast_log_loss_objective_equals_the_metric() -> None:
    y, oof = _multiclass()
    preds = np.stack(list(oof.values())).astype(np.float32)
    w = np.array([0.2, 0.5, 0.3])
    blended = np.tensordot(w.astype(np.float32), preds, axes=1)
    loss = make_objective(get_metric("log_loss"), preds, y).loss(w)
    assert loss == pytest.approx(get_metric("log_loss").score(y, blended), rel=1e-5)


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("method", "options", "match"),
    [
        ("nelder_meed", None, r"unknown blend method 'nelder_meed'.*Did you mean 'nelder_mead'"),
        ("nelder_mead", {"restart": 3}, r"unknown option 'restart' for blend method 'nelder_mead'.*'restarts'"),
        ("nelder_mead", {"restarts": 0}, r"restarts of blend method 'nelder_mead' must be a positive integer"),
        ("nelder_mead", {"search_rows": 0}, r"search_rows of blend method 'nelder_mead' must be a positive integer"),
        ("nelder_mead", {"max_evals": 0}, r"max_evals of blend method 'nelder_mead' must be a positive integer"),
        ("hill_climb", {"max_steps": 1.5}, r"max_steps .* positive integer; got 1.5"),
        ("stack", {"C": -1}, r"C of blend method 'stack' must be a positive number"),
        ("stack", {"C": "best"}, r"C of blend method 'stack' must be a positive number or \"auto\""),
        ("mean", {"x": 1}, r"unknown option 'x' for blend method 'mean'; it takes no options"),
    ],
)
def test_bad_methods_and_options_are_rejected(method: str, options: dict | None, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_blender(method, options)


def test_rank_needs_a_rank_metric() -> None:
    y, oof = _multiclass()
    with pytest.raises(ConfigError, match=r"'rank' averages ranks.*'accuracy'.*use"):
        blend_predictions(oof, y, _folds(y), "accuracy", "rank")


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda y, oof: (y[:-1], oof), r"y has shape \(599,\) but the OOF predictions have 600 rows"),
        (lambda y, oof: (y, {**oof, "m1": oof["m1"][:-1]}), r"predictions of 'm1' have shape \(599, 2\).*'m0'"),
        (lambda y, oof: (y, {}), r"nothing to blend"),
        (lambda y, oof: (y, {k: v * np.nan for k, v in oof.items()}), r"no OOF row was predicted by every one"),
    ],
)
def test_bad_matrices_are_rejected(mutate, match: str) -> None:
    y, oof = _binary()
    folds = _folds(y)
    y2, oof2 = mutate(y, oof)
    with pytest.raises(KitError, match=match):  # DataError, or KitError for an empty mapping
        blend_predictions(oof2, y2, folds, "roc_auc", "mean")


def test_registry_rejects_a_second_class_under_a_taken_name() -> None:
    from kaggle_kit.blend import register

    class Other(Blender):
        method: ClassVar[str] = "mean"

        def fit(self, preds, y, metric: Metric, rng, row_folds=None) -> Fitted:  # type: ignore[no-untyped-def]
            return Fitted(weights=np.ones(preds.shape[0]) / preds.shape[0])

    with pytest.raises(ConfigError, match=r"'mean' is already registered by kaggle_kit\.blend\.weighting\.Mean"):
        register(Other)
    assert BLENDERS["mean"].__name__ == "Mean"


def _quick(method: str) -> dict | None:
    return {"restarts": 2} if method == "nelder_mead" else None


# ------------------------------------------------------------------------------------------ stacker's C
def _noisy_multiclass(n: int = 240, m: int = 8, c: int = 5, seed: int = 3) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Few rows, many weak and correlated models: a weakly penalised stacker overfits here."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    shared = rng.normal(size=(n, c))
    oof = {}
    for j in range(m):
        logits = shared + rng.normal(scale=1.5, size=(n, c))
        logits[np.arange(n), y] += 0.4
        p = np.exp(logits)
        oof[f"m{j}"] = p / p.sum(axis=1, keepdims=True)
    return y, oof


def test_stack_auto_C_is_the_grid_value_that_scores_best_on_held_out_inner_folds() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from kaggle_kit.blend.engine import stack_predictions
    from kaggle_kit.blend.stacking import AUTO_CS

    y, oof = _noisy_multiclass()
    metric = get_metric("log_loss")
    preds = stack_predictions(oof, metric)
    row_folds = _folds(y).ids[0]
    fitted = make_blender("stack").fit(preds, y, metric, np.random.default_rng(0), row_folds)
    X = np.log(np.clip(preds.astype(np.float64), 1e-6, 1 - 1e-6)).transpose(1, 0, 2).reshape(len(y), -1)
    losses = []
    for C in AUTO_CS:  # the inner CV written out independently
        inner = np.zeros((len(y), 5))
        for f in np.unique(row_folds):
            held = row_folds == f
            scaler = StandardScaler().fit(X[~held])
            lr = LogisticRegression(C=C, max_iter=1000).fit(scaler.transform(X[~held]), y[~held])
            inner[held] = lr.predict_proba(scaler.transform(X[held]))
        losses.append(metric.score(y, inner))
    assert fitted.info["C"] == AUTO_CS[int(np.argmin(losses))]
    assert fitted.info["C"] < 1.0  # noise: the penalty must be stronger than the old fixed C = 1


def test_stack_auto_C_beats_a_weak_penalty_by_nested_cv_on_few_noisy_rows() -> None:
    y, oof = _noisy_multiclass()
    folds = _folds(y)
    auto = blend_predictions(oof, y, folds, "log_loss", "stack").result
    weak = blend_predictions(oof, y, folds, "log_loss", "stack", options={"C": 10.0}).result
    assert auto.mean < weak.mean - 0.01


def test_stack_auto_C_stays_weak_where_the_models_carry_signal() -> None:
    y, oof = _binary(n=2000, m=3)
    metric = get_metric("log_loss")
    from kaggle_kit.blend.engine import stack_predictions

    fitted = make_blender("stack").fit(stack_predictions(oof, metric), y, metric, np.random.default_rng(0))
    assert fitted.info["C"] >= 0.1


@dataclass(frozen=True)
class _Slow(Blender):
    """Blends equally after sleeping ``seconds`` per fit."""

    method: ClassVar[str] = "slow"
    seconds: float = 0.2

    def fit(self, preds, y, metric, rng, row_folds=None) -> Fitted:  # type: ignore[no-untyped-def]
        time.sleep(self.seconds)
        return Fitted(weights=np.full(preds.shape[0], 1.0 / preds.shape[0]))


def test_nested_cv_gives_up_once_its_fold_fits_say_it_would_end_after_the_deadline() -> None:
    """Five fold fits of 0.2 s cannot end within 0.3 s: the first fit shows it and the rest are never started; a
    deadline they meet changes nothing."""
    y = np.arange(200) % 2
    preds = np.stack([np.column_stack([1 - y, y])] * 2).astype(np.float32)
    folds = _folds(y)
    slow = _Slow()
    start = time.monotonic()
    with pytest.raises(OutOfTime, match="after the time limit"):
        nested_cv(slow, preds, y, folds, get_metric("accuracy"), deadline=start + 0.3)
    assert time.monotonic() - start < 0.2 * 5  # it stopped before fitting every fold
    nested = nested_cv(slow, preds, y, folds, get_metric("accuracy"), deadline=time.monotonic() + 600)
    assert len(nested.scored) == 5


def test_level2_subsample_keeps_every_class_and_its_share_and_is_seeded() -> None:
    """A stacker fitted on a subsample of a large OOF must still see every class (a class missing from its rows
    would get probability 0 on every row); the others keep their shares; the same seed draws the same rows."""
    from kaggle_kit.blend.stacking import MIN_CLASS_ROWS, subsample_rows

    y = np.r_[np.zeros(60_000, dtype=int), np.ones(39_990, dtype=int), np.full(10, 2)]
    rows = subsample_rows(y, 10_000, np.random.default_rng(0), by_class=True)
    counts = np.bincount(y[rows], minlength=3)
    assert counts.tolist() == [6_000, 3_999, 10]  # the rare class whole (fewer than MIN_CLASS_ROWS rows)
    assert np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, subsample_rows(y, 10_000, np.random.default_rng(0), by_class=True))
    y2 = np.r_[np.zeros(99_900, dtype=int), np.ones(100, dtype=int)]
    assert np.bincount(y2[subsample_rows(y2, 1_000, np.random.default_rng(0), True)]).tolist() == [999, MIN_CLASS_ROWS]
    np.testing.assert_array_equal(subsample_rows(y, 200_000, np.random.default_rng(0), True), np.arange(y.size))
    assert subsample_rows(y.astype(float), 5_000, np.random.default_rng(0), by_class=False).size == 5_000


def test_a_stack_fitted_on_a_subsample_gives_a_rare_class_its_probability(monkeypatch: pytest.MonkeyPatch) -> None:
    """The level-2 model is fitted on about FIT_MAX_ROWS rows, not all of them: per class for a classifier (the rare
    class kept whole), a plain seeded draw for ridge (a float target's values are not classes: drawn per value,
    every row would be kept)."""
    import kaggle_kit.blend.stacking as stacking

    monkeypatch.setattr(stacking, "FIT_MAX_ROWS", 300)
    fitted_rows: list[np.ndarray] = []
    real_fit = stacking.fit_level2

    def recording(X, y, C, metric):  # type: ignore[no-untyped-def]
        fitted_rows.append(np.asarray(y).copy())
        return real_fit(X, y, C, metric)

    monkeypatch.setattr(stacking, "fit_level2", recording)
    rng = np.random.default_rng(0)
    y = np.r_[rng.integers(0, 2, 2_990), np.full(10, 2)]
    p = np.full((2, y.size, 3), 0.05, dtype=np.float32)
    p[:, np.arange(y.size), y] = 0.9
    fitted = make_blender("stack", {"C": 1.0}).fit(p, y, get_metric("log_loss"), np.random.default_rng(0))
    assert fitted.model.classes_.tolist() == [0, 1, 2]
    assert 300 <= fitted_rows[-1].size <= 310 and np.count_nonzero(fitted_rows[-1] == 2) == 10
    target = rng.normal(size=3_000)
    values = (target + rng.normal(scale=0.1, size=(2, 3_000))).astype(np.float32)[..., None]
    make_blender("stack", {"C": 1.0}).fit(values, target, get_metric("rmse"), np.random.default_rng(0))
    assert fitted_rows[-1].size == 300
    out = make_blender("stack", {"C": 1.0}).predict(fitted, p[:, y == 2])
    assert out[:, 2].min() > 0.5  # the rare class, seen in the subsample, is predicted where the models say so


def test_a_level2_model_gives_a_class_absent_from_its_rows_the_inputs_probability() -> None:
    """A logistic regression fitted on classes 0 and 1 of a 3-class target cannot predict class 2: that column is the
    inputs' probability, and classes 0 and 1 share the rest in the model's own ratio (it had been 0)."""
    from sklearn.linear_model import LogisticRegression

    from kaggle_kit.blend.stacking import predict_level2

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 2)), rng.integers(0, 2, 200)
    model = LogisticRegression().fit(X, y)
    inputs = rng.dirichlet(np.ones(3), size=200)
    out = predict_level2(model, X, inputs)
    np.testing.assert_allclose(out[:, 2], inputs[:, 2], rtol=1e-6)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    own = model.predict_proba(X)
    np.testing.assert_allclose(out[:, 0] / out[:, 1], own[:, 0] / own[:, 1], rtol=1e-5)
    # a class missing between two others (fitted on classes 0 and 2): the columns follow the model's classes
    middle = LogisticRegression().fit(X, y * 2)
    out = predict_level2(middle, X, inputs)
    np.testing.assert_allclose(out[:, 1], inputs[:, 1], rtol=1e-6)
    np.testing.assert_allclose(out[:, [0, 2]], middle.predict_proba(X) * (1 - inputs[:, 1:2]), rtol=1e-5)


def test_a_stack_gives_a_class_rarer_than_the_folds_its_probability_in_nested_cv() -> None:
    """One row of class 2 in a 5-fold run: the stack fitted for its fold never saw the class. Its nested-CV
    probability there is the models' (it was 0, a log loss at the floor that made the guard drop the stack)."""
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    y[7] = 2
    folds = make_folds(n, strategy="kfold", n_splits=5, seed=0)
    oof = {}
    for j in range(2):
        p = rng.dirichlet(np.ones(3), size=n)
        p[np.arange(n), y] += 2.0
        oof[f"m{j}"] = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    stacked = blend_predictions(oof, y, folds, get_metric("log_loss"), "stack")
    models_mean = (oof["m0"][7, 2] + oof["m1"][7, 2]) / 2
    assert stacked.oof[7, 2] == pytest.approx(models_mean, rel=1e-5)
    assert stacked.result.nested_cv < 1.0


def test_a_blend_whose_deadline_has_passed_fits_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A method that is not nested-only is fitted on every OOF row before its nested CV: past the deadline it is
    left out before that fit too (not after it, which on a large table is a sixth of its time past the limit)."""
    from kaggle_kit.blend.registry import BLENDERS

    monkeypatch.setitem(BLENDERS, "slow", _Slow)
    fits: list[int] = []
    real = _Slow.fit

    def counting(self, preds, *args, **kwargs):  # type: ignore[no-untyped-def]
        fits.append(preds.shape[1])
        return real(self, preds, *args, **kwargs)

    monkeypatch.setattr(_Slow, "fit", counting)
    y = np.arange(200) % 2
    oof = {"a": np.column_stack([1 - y, y]).astype(np.float32), "b": np.full((200, 2), 0.5, dtype=np.float32)}
    with pytest.raises(OutOfTime):
        blend_predictions(oof, y, _folds(y), "accuracy", "slow", options={"seconds": 0.0}, deadline=time.monotonic())
    assert fits == []
    done = blend_predictions(
        oof, y, _folds(y), "accuracy", "slow", options={"seconds": 0.0}, deadline=time.monotonic() + 600
    )
    assert len(fits) == 1 + 5 and done.result.nested_cv == 1.0


def test_a_stackers_predictions_stay_in_the_metrics_domain() -> None:
    """RMSLE scores values >= 0, the run's models are clipped into it, and a weighted mean of them stays there; a
    stacker's ridge extrapolated below 0 (nested OOF min -0.127, test -0.108 here): scored as 0, submitted negative."""
    rng = np.random.default_rng(0)
    n = 400
    y = np.exp(rng.normal(size=n) * 1.5)
    a, b = np.maximum(y + rng.normal(0, 1, n), 0), np.maximum(y * 1.3 + rng.normal(0, 2, n), 0)
    test_a = np.maximum(rng.exponential(1, 100) - 0.5, 0)
    folds = make_folds(n, strategy="kfold", n_splits=4)
    out = blend_predictions({"a": a, "b": b}, y, folds, "rmsle", "stack", test={"a": test_a, "b": test_a / 2})
    assert np.nanmin(out.oof) == 0.0 and out.test is not None and out.test.min() == 0.0  # clipped, not below 0


def test_a_metric_without_a_domain_leaves_a_blends_predictions_as_they_are() -> None:
    """Clipping into the metric's domain changes nothing where the metric has none (RMSE scores any value): a stack
    of negative targets keeps its negative nested OOF and test predictions, as blended."""
    rng = np.random.default_rng(0)
    n = 400
    y = rng.normal(size=n) * 3 - 2  # mostly below 0
    a, b = y + rng.normal(0, 1, n), 0.5 * y + rng.normal(0, 2, n)
    folds = make_folds(n, strategy="kfold", n_splits=4)
    test = {"a": rng.normal(size=100) - 2, "b": rng.normal(size=100) - 1}
    plain = blend_predictions({"a": a, "b": b}, y, folds, "rmse", "stack", test=test)
    assert plain.test is not None and np.nanmin(plain.oof) < -5 and plain.test.min() < 0
    assert plain.result.nested_cv == pytest.approx(math.sqrt(np.nanmean((plain.oof[:, 0] - y) ** 2)), rel=1e-5)


def test_the_verdicts_mean_correlation_of_constant_models_is_nan_without_a_warning() -> None:
    """Models whose OOF predictions are constant have NaN correlations: numpy's `Mean of empty slice` warning
    reached the command line (`warning: Mean of empty slice`) under a time-limited run's verdict."""
    import warnings

    from kaggle_kit.blend.report import _mean_offdiagonal

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(_mean_offdiagonal(np.array([[1.0, np.nan], [np.nan, 1.0]])))
        corr = np.array([[1.0, np.nan, 0.5], [np.nan, 1.0, 0.7], [0.5, 0.7, 1.0]])
        assert _mean_offdiagonal(corr) == pytest.approx(0.6)  # the NaN pairs left out
