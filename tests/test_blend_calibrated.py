"""``calibrated_hill_climb``: ensemble selection over the models and a logistic (ridge) recalibration of each."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification

from kaggle_kit.blend import CalibratedHillClimb, HillClimb, blend_predictions, make_blender
from kaggle_kit.blend.calibrated import MAX_TWIN_COLUMNS, CalibratedFit
from kaggle_kit.blend.stacking import fit_level2, level2_features, predict_level2
from kaggle_kit.errors import ConfigError
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.folds import make_folds

LOG_LOSS = get_metric("log_loss")


def _honest_probs(X: np.ndarray, y: np.ndarray, folds: np.ndarray, columns: list[int]) -> np.ndarray:
    """Out-of-fold class probabilities of a logistic regression on some feature columns."""
    from sklearn.linear_model import LogisticRegression

    out = np.zeros((len(y), np.unique(y).size), dtype=np.float32)
    for f in np.unique(folds):
        held = folds == f
        model = LogisticRegression(max_iter=1000).fit(X[~held][:, columns], y[~held])
        out[held] = model.predict_proba(X[held][:, columns])
    return out


@pytest.fixture(scope="module")
def four_classes() -> dict[str, object]:
    """A good model whose class columns are permuted (as informative as it gets, for the wrong classes: no weighting
    of it can help, a recalibration maps it back) and a weak honest model."""
    X, y = make_classification(600, 8, n_informative=6, n_classes=4, n_clusters_per_class=1, random_state=0)
    folds = make_folds(len(y), strategy="stratified", n_splits=5, seed=0, y=y)
    good = _honest_probs(X, y, folds.ids[0], list(range(8)))
    weak = _honest_probs(X, y, folds.ids[0], [0])
    return {"y": y, "folds": folds, "oof": {"permuted": good[:, [2, 0, 3, 1]], "weak": weak}, "good": good}


def test_a_twin_maps_a_permuted_model_back_where_weighting_cannot(four_classes: dict) -> None:
    y, folds, oof = four_classes["y"], four_classes["folds"], four_classes["oof"]
    plain = blend_predictions(oof, y, folds, LOG_LOSS, "hill_climb")
    calibrated = blend_predictions(oof, y, folds, LOG_LOSS, "calibrated_hill_climb")
    good = LOG_LOSS.score(y, four_classes["good"])
    assert plain.result.nested_cv > LOG_LOSS.score(y, oof["weak"]) - 0.01  # the selection keeps the weak model
    assert calibrated.result.nested_cv < good + 0.1 < plain.result.nested_cv - 0.3
    for fit in calibrated.level2:  # every fold fit puts its weight on the permuted model's twin
        assert isinstance(fit, CalibratedFit) and fit.twins == (0, 1)
        assert fit.weights[2] > 0.5


def test_the_twins_the_selection_sees_are_fitted_out_of_fold(four_classes: dict, monkeypatch) -> None:
    """Each twin is fitted once per inner fold on the other folds' rows only, then once on all rows (for predict);
    the selection is handed the inner fits' predictions of the rows they did not see."""
    y, oof = four_classes["y"], four_classes["oof"]
    preds = np.stack([oof["permuted"], oof["weak"]])
    row_folds = four_classes["folds"].ids[0]
    seen: list[np.ndarray] = []
    real = CalibratedHillClimb._fit_one

    def spy(self, X, y_, rows, metric, rng):
        seen.append(rows.copy())
        return real(self, X, y_, rows, metric, rng)

    handed: list[np.ndarray] = []
    real_select = HillClimb.fit

    def select_spy(self, candidates, *args, **kwargs):
        handed.append(candidates.copy())
        return real_select(self, candidates, *args, **kwargs)

    monkeypatch.setattr(CalibratedHillClimb, "_fit_one", spy)
    monkeypatch.setattr(HillClimb, "fit", select_spy)
    CalibratedHillClimb().fit(preds, y, LOG_LOSS, np.random.default_rng(0), row_folds)
    inner = [np.flatnonzero(~r) for r in seen if not r.all()]
    assert len(seen) == 2 * (5 + 1) and sum(r.all() for r in seen) == 2
    for twin in range(2):  # the held-out rows of each inner fit are exactly one fold's
        held = inner[5 * twin : 5 * twin + 5]
        assert sorted(tuple(h) for h in held) == sorted(tuple(np.flatnonzero(row_folds == f)) for f in range(5))
    # the twin of model 0 handed to the selection, on fold 3's rows: a fit on the other folds' rows only
    X = level2_features(preds[:1])
    rest = row_folds != 3
    want = predict_level2(fit_level2(X[rest], y[rest], 1.0, LOG_LOSS), X[~rest], preds[0, ~rest])
    np.testing.assert_allclose(handed[0][2][~rest], want, atol=1e-6)


def test_the_best_models_get_twins_up_to_max_calibrated(four_classes: dict) -> None:
    y, oof = four_classes["y"], four_classes["oof"]
    prior = np.tile(np.bincount(y) / len(y), (len(y), 1)).astype(np.float32)
    preds = np.stack([oof["weak"], prior, four_classes["good"], oof["permuted"]])
    rng = np.random.default_rng(0)
    fit = CalibratedHillClimb(max_calibrated=2).fit(preds, y, LOG_LOSS, rng, four_classes["folds"].ids[0])
    assert fit.model.twins == (0, 2)  # by log loss: good, then weak (the prior, then the permuted one, are worse)
    assert fit.info["twins"] == 2 and len(fit.model.weights) == 4 + 2


def test_no_twins_above_the_class_limit_nor_where_an_inner_fold_lacks_a_class() -> None:
    rng = np.random.default_rng(1)
    n, k = 300, MAX_TWIN_COLUMNS + 1
    y = np.arange(n) % k
    preds = rng.dirichlet(np.ones(k), size=(2, n)).astype(np.float32)
    folds = np.arange(n) % 3
    fit = CalibratedHillClimb().fit(preds, y, LOG_LOSS, rng, folds)
    assert fit.model.twins == () and fit.info["twins"] == 0
    np.testing.assert_array_equal(fit.model.weights, HillClimb().fit(preds, y, LOG_LOSS, rng, folds).weights)
    # binary: every row of class 1 in fold 0, so fold 0's other rows hold one class
    y2 = np.zeros(60, dtype=np.int64)
    y2[:6] = 1
    folds2 = np.repeat(np.arange(3), 20)
    p = np.column_stack([1 - np.linspace(0.1, 0.9, 60), np.linspace(0.1, 0.9, 60)]).astype(np.float32)
    fit2 = CalibratedHillClimb().fit(p[None], y2, LOG_LOSS, rng, folds2)
    assert fit2.model.twins == ()


def _three_classes_one_rare(seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray], object]:
    """Three models of three classes; class 2's rows all in fold 0 (so fold 0's fit never sees it)."""
    rng = np.random.default_rng(seed)
    n = 300
    folds = make_folds(n, strategy="kfold", n_splits=3, seed=0)
    y = rng.integers(0, 2, n)
    y[np.flatnonzero(folds.ids[0] == 0)[:10]] = 2
    oof = {}
    for j in range(3):
        p = rng.dirichlet(np.ones(3), size=n)
        p[np.arange(n), y] += 1.0 + j
        oof[f"m{j}"] = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    return y, oof, folds


def test_a_twin_fitted_without_a_class_gives_it_the_models_probability() -> None:
    """Fold 0's fit never sees class 2 (all its rows are in fold 0): its twins cannot predict the class and give it
    their model's probability, so the held-out rows of class 2 keep it (a twin's 0 there, clipped by the log loss,
    had cost fold 0 more than any model)."""
    y, oof, folds = _three_classes_one_rare()
    plain = blend_predictions(oof, y, folds, LOG_LOSS, "hill_climb")
    calibrated = blend_predictions(oof, y, folds, LOG_LOSS, "calibrated_hill_climb", test=oof)
    assert all(f.twins for f in calibrated.level2)
    rare = y == 2
    models = np.stack(list(oof.values()))[:, rare, 2]
    assert calibrated.oof[rare, 2].min() >= models.min() * 0.99
    assert calibrated.result.fold_scores[0] < plain.result.fold_scores[0] + 0.05


def test_the_same_seed_gives_the_same_blend(four_classes: dict) -> None:
    """Without two folds among its rows (a fold fit of a 2-fold run), a fit draws its twins' inner folds with its
    rng: the same seed gives the same fit, another seed other inner folds (the selection's loss on them moves)."""
    y, oof = four_classes["y"], four_classes["oof"]
    preds = np.stack([oof["permuted"], oof["weak"]])
    one_fold = np.zeros(len(y), dtype=np.int64)
    a, b, c = (CalibratedHillClimb().fit(preds, y, LOG_LOSS, np.random.default_rng(s), one_fold) for s in (0, 0, 1))
    assert a.info == b.info and np.array_equal(a.model.weights, b.model.weights)
    np.testing.assert_array_equal(a.model.blend(preds), b.model.blend(preds))
    assert a.info["loss"] != c.info["loss"]
    folds = make_folds(len(y), strategy="stratified", n_splits=2, seed=0, y=y)
    d, e = (blend_predictions(oof, y, folds, LOG_LOSS, "calibrated_hill_climb", test=oof, seed=3) for _ in range(2))
    np.testing.assert_array_equal(d.oof, e.oof)
    np.testing.assert_array_equal(d.test, e.test)


def test_a_regression_twin_undoes_a_scaled_and_shifted_model() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=400)
    folds = make_folds(400, strategy="kfold", n_splits=4, seed=0)
    oof = {"scaled": (3 * y + 5 + 0.1 * rng.normal(size=400)).astype(np.float32)[:, None],
           "noisy": (y + rng.normal(size=400)).astype(np.float32)[:, None]}  # fmt: skip
    rmse = get_metric("rmse")
    plain = blend_predictions(oof, y, folds, rmse, "hill_climb")
    calibrated = blend_predictions(oof, y, folds, rmse, "calibrated_hill_climb")
    assert plain.result.nested_cv > 0.9 and calibrated.result.nested_cv < 0.1


@pytest.mark.parametrize(("options", "match"), [({"C": 0}, "positive number"), ({"max_calibrated": 0}, "positive")])
def test_bad_options_are_refused(options: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_blender("calibrated_hill_climb", options)


@pytest.mark.parametrize(
    ("metric", "included"), [("log_loss", True), ("accuracy", True), ("roc_auc", False), ("rmse", False)]
)
def test_all_and_auto_run_it_where_the_selection_searches_log_loss(metric: str, included: bool) -> None:
    from types import SimpleNamespace

    from kaggle_kit.blend.api import _methods

    preds = SimpleNamespace(metric=get_metric(metric))
    for which in ("all", "auto"):
        assert ("calibrated_hill_climb" in _methods(which, preds)) is included
        assert "hill_climb" in _methods(which, preds)
    assert _methods("calibrated_hill_climb", preds) == ["calibrated_hill_climb"]  # named, it runs anywhere


def test_a_twin_on_many_rows_is_fitted_on_a_subsample_that_keeps_every_class(monkeypatch) -> None:
    """Above AUTO_MAX_ROWS rows a twin's level-2 model sees a seeded subsample drawn per class: a rare class (20 of
    2,000 rows) is in every twin fit, whose classes are then all three (a plain draw of 200 rows would miss it in
    about a third of the fits, and the twin would give it probability 0)."""
    import kaggle_kit.blend.calibrated as calibrated

    monkeypatch.setattr(calibrated, "AUTO_MAX_ROWS", 200)
    fitted_y: list[np.ndarray] = []
    real = calibrated.fit_level2

    def recording(X, y, C, metric):
        fitted_y.append(np.asarray(y).copy())
        return real(X, y, C, metric)

    monkeypatch.setattr(calibrated, "fit_level2", recording)
    rng = np.random.default_rng(0)
    y = np.r_[rng.integers(0, 2, 1_980), np.full(20, 2)]
    folds = np.arange(y.size) % 5
    preds = rng.dirichlet(np.ones(3), size=(2, y.size)).astype(np.float32)
    preds[0, np.arange(y.size), y] += 1.0
    preds /= preds.sum(axis=2, keepdims=True)
    fit = CalibratedHillClimb().fit(preds, y, LOG_LOSS, np.random.default_rng(0), folds)
    assert fit.model.twins == (0, 1) and len(fitted_y) == 2 * (5 + 1)
    for ys in fitted_y:
        assert 200 <= ys.size <= 225 and set(np.unique(ys).tolist()) == {0, 1, 2}
    assert all(cal.classes_.tolist() == [0, 1, 2] for cal in fit.model.calibrators)


def test_a_twin_gives_a_class_its_rows_lack_its_own_models_probability(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fitted on rows without class 2, every twin (the inner fits the selection is handed, and the final ones that
    predict) gives class 2 the probability of the model it recalibrates, not the other models' nor their mean."""
    y, oof, folds = _three_classes_one_rare()
    preds = np.stack(list(oof.values()))
    rows = y != 2
    handed: list[np.ndarray] = []
    real_select = HillClimb.fit

    def select_spy(self, candidates, *args, **kwargs):  # type: ignore[no-untyped-def]
        handed.append(candidates.copy())
        return real_select(self, candidates, *args, **kwargs)

    monkeypatch.setattr(HillClimb, "fit", select_spy)
    rng = np.random.default_rng(0)
    fitted = CalibratedHillClimb().fit(preds[:, rows], y[rows], LOG_LOSS, rng, folds.ids[0][rows])
    model: CalibratedFit = fitted.model
    assert model.twins == (0, 1, 2)
    n = preds.shape[0]
    for i, m in enumerate(model.twins):
        np.testing.assert_allclose(handed[0][n + i][:, 2], preds[m, rows, 2], rtol=1e-5)
        alone = np.zeros(len(model.weights))
        alone[n + i] = 1.0
        twin = CalibratedFit(alone, model.twins, model.calibrators).blend(preds)
        np.testing.assert_allclose(twin[:, 2], preds[m, :, 2], rtol=1e-5)
        np.testing.assert_allclose(twin.sum(axis=1), 1.0, rtol=1e-5)
