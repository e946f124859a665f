"""Distribution targets (``task = "distribution"``): CRPS and pinball loss against references written here, every way
a family predicts a distribution against the constant training CDF on held-out rows, blends of CDFs, submissions in
the competition's columns, and the spec's errors."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.blend import blend_predictions
from kaggle_kit.config import ModelSpec, build_spec, load_spec
from kaggle_kit.errors import ConfigError, DataError, DataWarning, KitError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import distribution_median, get_metric, grid_label, run_metric
from kaggle_kit.models import FitContext, make_adapter
from kaggle_kit.models.distribution import STATE_FILE, bin_codes, method_for
from kaggle_kit.runtime.folds import make_folds
from kaggle_kit.runtime.runner import run
from kaggle_kit.sample_submission import match_sample
from kaggle_kit.submit import distribution_columns, submission_frame

BINS = tuple(float(b) for b in range(-20, 21))


# ------------------------------------------------------------------------------------------------ references
def crps_reference(y: np.ndarray, cdf: np.ndarray, bins: tuple[float, ...]) -> float:
    """The NFL Big Data Bowl's definition, written out loop by loop."""
    total = 0.0
    for i in range(len(y)):
        for j, b in enumerate(bins):
            step = 1.0 if y[i] <= b else 0.0
            total += (float(cdf[i, j]) - step) ** 2
    return total / (len(y) * len(bins))


def pinball_reference(y: np.ndarray, q: np.ndarray, levels: tuple[float, ...]) -> float:
    total = 0.0
    for i in range(len(y)):
        for j, t in enumerate(levels):
            diff = float(y[i]) - float(q[i, j])
            total += t * diff if diff >= 0 else (t - 1) * diff
    return total / (len(y) * len(levels))


def gaussian_crps(y: float, mu: float, sigma: float) -> float:
    """Gneiting and Raftery (2007), eq. 21: the CRPS of N(mu, sigma^2) at y."""
    z = (y - mu) / sigma
    pdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = (1 + math.erf(z / math.sqrt(2))) / 2
    return sigma * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi))


def training_cdf(y_train: np.ndarray, n_rows: int, bins: tuple[float, ...] = BINS) -> np.ndarray:
    """The constant baseline: every row gets the training rows' empirical CDF."""
    return np.tile([np.mean(y_train <= b) for b in bins], (n_rows, 1))


def assert_cdf(cdf: np.ndarray) -> None:
    assert np.isfinite(cdf).all()
    assert cdf.min() >= 0.0 and cdf.max() <= 1.0
    assert (np.diff(cdf, axis=1) >= -1e-7).all(), "a CDF must not decrease from bin to bin"


# ------------------------------------------------------------------------------------------------ metrics
def test_crps_equals_the_loop_reference() -> None:
    rng = np.random.default_rng(0)
    bins = (-3.0, -1.5, 0.0, 0.5, 2.0, 4.0)
    y = np.concatenate([rng.normal(size=60), bins, [-10.0, 10.0]])  # values on the bins, below and above them all
    cdf = np.sort(rng.uniform(size=(len(y), len(bins))), axis=1)
    expected = crps_reference(y, cdf, bins)
    assert abs(get_metric("crps", bins).score(y, cdf) - expected) < 1e-9
    # a perfect step scores 0; the step one bin late does not
    perfect = (np.asarray(bins)[None, :] >= y[:, None]).astype(float)
    assert get_metric("crps", bins).score(y, perfect) == 0.0
    assert get_metric("crps", bins).score(y, np.roll(perfect, 1, axis=1)) > 0


def test_pinball_equals_the_loop_reference() -> None:
    rng = np.random.default_rng(1)
    levels = (0.05, 0.25, 0.5, 0.75, 0.95)
    y = rng.normal(size=80)
    q = np.sort(rng.normal(size=(80, len(levels))), axis=1)
    assert abs(get_metric("pinball", levels).score(y, q) - pinball_reference(y, q, levels)) < 1e-9


@pytest.mark.parametrize(("y", "mu", "sigma"), [(0.3, 0.0, 1.0), (-2.0, 1.0, 0.5), (4.0, 3.0, 2.0)])
def test_crps_of_a_gaussian_cdf_on_a_fine_grid_is_the_closed_form(y: float, mu: float, sigma: float) -> None:
    """The discrete CRPS times the grid's width is the integral of (F - step)^2: the continuous CRPS."""
    from scipy.stats import norm

    width = 1e-3
    bins = tuple(np.arange(mu - 12 * sigma, mu + 12 * sigma, width) + width / 2)  # midpoints
    cdf = norm.cdf(np.asarray(bins), mu, sigma)[None, :]
    discrete = get_metric("crps", bins).score(np.array([y]), cdf)
    assert abs(discrete * len(bins) * width - gaussian_crps(y, mu, sigma)) < 1e-6


@pytest.mark.parametrize(
    ("name", "grid", "message"),
    [
        ("crps", [1.0, 1.0], "must increase"),
        ("crps", [0.0, float("nan")], "finite"),
        ("pinball", [0.5, 1.0], r"lie in \(0, 1\)"),
        ("rmse", [0.5], None),  # a metric that takes no grid ignores it
    ],
)
def test_binding_checks_the_grid(name: str, grid: list[float], message: str | None) -> None:
    if message is None:
        assert get_metric(name, grid).grid is None
        return
    with pytest.raises(ConfigError, match=message):
        get_metric(name, grid)


def test_an_unbound_distribution_metric_says_how_to_bind_it() -> None:
    with pytest.raises(KitError, match="run_metric"):
        get_metric("crps").score(np.zeros(3), np.zeros((3, 2)))
    with pytest.raises(KitError, match="2 column"):
        get_metric("crps", [0.0, 1.0]).score(np.zeros(3), np.zeros((3, 3)))
    bound = run_metric({"metric": "pinball", "grid": [0.1, 0.9]})
    assert bound.grid == (0.1, 0.9)


def test_the_median_of_a_cdf_is_the_first_bin_reaching_one_half() -> None:
    cdf = np.array([[0.1, 0.5, 0.9], [0.0, 0.2, 0.4], [0.6, 0.7, 1.0]])
    assert distribution_median(cdf, "cdf", (1.0, 2.0, 3.0)).tolist() == [2.0, 3.0, 1.0]
    assert distribution_median(np.array([[1.0, 2.0, 3.0]]), "quantile", (0.1, 0.45, 0.9)).tolist() == [2.0]


# ------------------------------------------------------------------------------------------------ models
def _data(n: int = 900, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y depends on x0 in its location and on x1 in its spread: a distribution model can beat a constant CDF twice."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = 4 * X[:, 0] + rng.normal(size=n) * (1 + 2.5 * np.abs(X[:, 1]))
    return X, np.round(y)


def _split(n_train: int = 600) -> tuple[FeatureMatrix, np.ndarray, FeatureMatrix, np.ndarray]:
    X, y = _data()
    names = tuple(f"x{i}" for i in range(X.shape[1]))
    return (
        FeatureMatrix(np.ascontiguousarray(X[:n_train]), names, ()),
        y[:n_train],
        FeatureMatrix(np.ascontiguousarray(X[n_train:]), names, ()),
        y[n_train:],
    )


def _ctx(metric: str = "crps", grid: tuple[float, ...] = BINS) -> FitContext:
    return FitContext("distribution", 1, get_metric(metric, grid), seed=3, device="cpu", threads=1)


GBDT = {"num_boost_round": 200, "early_stopping_rounds": 20, "params": {"learning_rate": 0.1, "num_leaves": 7}}
NET = {"params": {"epochs": 25, "patience": 5, "hidden": [32], "batch_size": 64, "lr": 0.01}}
MODELS = {
    "lightgbm-bins": ("lightgbm", "bins", GBDT),
    "lightgbm-gaussian": ("lightgbm", "gaussian", GBDT),
    "linear-residuals": ("linear", "residuals", {}),
    "random_forest-bins": ("random_forest", "bins", {"params": {"n_estimators": 60, "min_samples_leaf": 10}}),
    "mlp-head": ("mlp", "head", NET),
    "sklearn-residuals": ("sklearn", "residuals", {"estimator": "sklearn.linear_model.Ridge"}),
}


@pytest.mark.parametrize("case", list(MODELS))
def test_each_way_beats_the_training_cdf_on_held_out_rows_and_reloads(case: str, tmp_path: Path) -> None:
    """The held-out rows play no part in the fit but early stopping (as a fold's validation rows do)."""
    kind, method, fields = MODELS[case]
    spec = ModelSpec(name="m", kind=kind, distribution=method, **fields)
    train, y_train, valid, y_valid = _split()
    ctx = _ctx()
    adapter = make_adapter(spec, "distribution")
    adapter.check(ctx)
    fitted = adapter.fit(train, y_train, valid, y_valid, ctx)
    cdf = adapter.predict(fitted, valid, ctx)
    assert cdf.shape == (len(y_valid), len(BINS)) and cdf.dtype == np.float32
    assert_cdf(cdf)
    crps = get_metric("crps", BINS)
    baseline = crps.score(y_valid, training_cdf(y_train, len(y_valid)))
    assert crps.score(y_valid, cdf) < 0.9 * baseline, (case, crps.score(y_valid, cdf), baseline)

    adapter.save(fitted, tmp_path / adapter.file_name)
    assert (tmp_path / STATE_FILE).is_file()
    again = make_adapter(spec, "distribution")
    np.testing.assert_array_equal(again.predict(again.load(tmp_path / adapter.file_name, ctx), valid, ctx), cdf)


@pytest.mark.parametrize("method", ["gaussian", "residuals", "bins"])
def test_a_seed_fixes_the_distribution(method: str) -> None:
    """The inner folds of the noise models are drawn from the fit's seed: the same seed, the same CDF."""
    train, y_train, valid, y_valid = _split()
    spec = ModelSpec(name="m", kind="lightgbm", distribution=method, **GBDT)
    first, second = (make_adapter(spec, "distribution") for _ in range(2))
    ctx = _ctx()
    a = first.predict(first.fit(train, y_train, valid, y_valid, ctx), valid, ctx)
    b = second.predict(second.fit(train, y_train, valid, y_valid, ctx), valid, ctx)
    np.testing.assert_array_equal(a, b)


def test_the_baseline_is_the_training_cdf_exactly() -> None:
    train, y_train, valid, y_valid = _split()
    adapter = make_adapter(ModelSpec(name="baseline", kind="dummy"), "distribution")
    ctx = _ctx()
    cdf = adapter.predict(adapter.fit(train, y_train, valid, y_valid, ctx), valid, ctx)
    np.testing.assert_allclose(cdf, training_cdf(y_train, len(y_valid)), atol=1e-6)


def test_the_bins_classifier_sees_only_the_codes_of_its_training_rows() -> None:
    """Codes no training row has get probability 0, and a value above every bin has CDF 0 at every bin."""
    bins = (0.0, 1.0, 2.0, 3.0)
    assert bin_codes(np.array([-5, 0, 0.5, 3, 3.5]), bins).tolist() == [0, 0, 1, 3, 4]
    X = np.random.default_rng(0).normal(size=(80, 2)).astype(np.float32)
    y = np.where(X[:, 0] > 0, 9.0, 0.5)  # codes 1 and 4 only: a binary classifier
    m = FeatureMatrix(X, ("a", "b"), ())
    adapter = make_adapter(ModelSpec(name="m", kind="lightgbm", distribution="bins", **GBDT), "distribution")
    ctx = _ctx(grid=bins)
    fitted = adapter.fit(m, y, m, y, ctx)
    assert fitted.model.state["codes"] == [1, 4]
    cdf = adapter.predict(fitted, m, ctx)
    assert (cdf[:, 0] == 0).all()  # no row has code 0
    assert np.allclose(cdf[:, 1], cdf[:, 3])  # nothing between codes 1 and 4 adds probability
    assert cdf[X[:, 0] > 0, 3].max() < 0.2 and cdf[X[:, 0] <= 0, 3].min() > 0.8


def test_the_noise_scale_comes_from_out_of_fold_residuals() -> None:
    """Deep trees nearly fit their own training rows: residuals on them would make the spread far too narrow. The
    out-of-fold residuals give about the true noise (standard deviation 2)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(500, 3)).astype(np.float32)
    y = X[:, 0] + rng.normal(0, 2, 500)
    m = FeatureMatrix(X, ("a", "b", "c"), ())
    spec = ModelSpec(
        name="deep",
        kind="xgboost",
        distribution="gaussian",
        num_boost_round=300,
        early_stopping_rounds=0,
        params={"learning_rate": 0.3, "max_depth": 8, "min_child_weight": 0},
    )
    adapter = make_adapter(spec, "distribution")
    ctx = _ctx()
    fitted = adapter.fit(m, y, m, y, ctx)
    inner_ctx = FitContext("regression", 1, get_metric("rmse"), 3, "cpu", 1)
    in_sample = y - adapter.inner.predict(fitted.model.inner, m, inner_ctx).reshape(-1)
    assert np.sqrt(np.mean(in_sample**2)) < 0.5
    assert 1.8 < fitted.model.state["sigma"] < 3.0


@pytest.mark.parametrize("method", ["gaussian", "residuals"])
def test_quantiles_increase_and_beat_the_training_quantiles(method: str) -> None:
    levels = (0.1, 0.25, 0.5, 0.75, 0.9)
    train, y_train, valid, y_valid = _split()
    ctx = _ctx("pinball", levels)
    adapter = make_adapter(ModelSpec(name="m", kind="lightgbm", distribution=method, **GBDT), "distribution")
    q = adapter.predict(adapter.fit(train, y_train, valid, y_valid, ctx), valid, ctx)
    assert q.shape == (len(y_valid), len(levels)) and (np.diff(q, axis=1) >= 0).all()
    pinball = get_metric("pinball", levels)
    constant = np.tile(np.quantile(y_train, levels), (len(y_valid), 1))
    assert pinball.score(y_valid, q) < 0.9 * pinball.score(y_valid, constant)


@pytest.mark.parametrize(
    ("kind", "needs", "expected"),
    [
        ("lightgbm", "cdf", "residuals"),
        ("linear", "quantile", "residuals"),
        ("mlp", "cdf", "head"),
        ("tabm", "quantile", "residuals"),
        ("dummy", "cdf", "bins"),  # the baseline is the training CDF exactly
        ("dummy", "quantile", "residuals"),
    ],
)
def test_auto_picks_the_measured_way(kind: str, needs: str, expected: str) -> None:
    assert method_for(ModelSpec(name="m", kind=kind), needs) == expected


@pytest.mark.parametrize(
    ("kind", "method", "metric", "message"),
    [
        ("lightgbm", "head", "crps", "a net's CDF head"),
        ("lightgbm", "bins", "pinball", "use 'gaussian' or 'residuals'"),
        ("mlp", "head", "pinball", "use 'gaussian' or 'residuals'"),
    ],
)
def test_a_way_that_cannot_work_is_refused_before_fitting(kind: str, method: str, metric: str, message: str) -> None:
    grid = (0.1, 0.5, 0.9) if metric == "pinball" else BINS
    adapter = make_adapter(ModelSpec(name="m", kind=kind, distribution=method), "distribution")
    with pytest.raises(ConfigError, match=message):
        adapter.check(_ctx(metric, grid))


def test_the_cdf_head_loss_is_crps() -> None:
    """The net's training loss, on logits over the codes, against the loop reference at bins 0..J-1."""
    import torch

    from kaggle_kit.models.nn.task import TaskHead

    rng = np.random.default_rng(2)
    logits = rng.normal(size=(9, 6))
    codes = rng.integers(0, 6, 9)
    head = TaskHead("cdf", 6)
    loss = float(head.loss_fn()(torch.tensor(logits), torch.tensor(codes)))
    cdf = np.cumsum(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), axis=1)[:, :5]
    assert abs(loss - crps_reference(codes.astype(float), cdf, (0.0, 1.0, 2.0, 3.0, 4.0))) < 1e-9
    out = head.output_fn({})(torch.tensor(logits)).numpy()
    np.testing.assert_allclose(out, cdf, atol=1e-12)


# ------------------------------------------------------------------------------------------------ blends
def test_blended_cdfs_stay_cdfs_and_nelder_mead_minimises_crps() -> None:
    from scipy.stats import norm

    rng = np.random.default_rng(4)
    n = 400
    mu = rng.normal(size=n) * 5
    y = np.round(mu + rng.normal(size=n) * 2)
    grid = np.asarray(BINS)
    oof = {  # three imperfect CDFs: a noisy location, too narrow, too wide and biased
        "a": norm.cdf(grid[None, :], (mu + rng.normal(size=n))[:, None], 2.0),
        "b": norm.cdf(grid[None, :], mu[:, None], 0.7),
        "c": norm.cdf(grid[None, :], (mu + 1)[:, None], 5.0),
    }
    test = {k: v[:50] for k, v in oof.items()}
    folds = make_folds(n, strategy="kfold", n_splits=5, seed=0)
    crps = get_metric("crps", BINS)
    outcome = blend_predictions(oof, y, folds, crps, "nelder_mead", test=test)
    weights = np.asarray(outcome.result.weights)
    assert (weights >= 0).all() and abs(weights.sum() - 1) < 1e-9
    assert outcome.result.objective == "crps"
    assert outcome.result.cv <= min(crps.score(y, v) for v in oof.values()) + 1e-9
    assert (weights > 0.01).sum() >= 2  # the blend mixes, it does not pick one
    assert outcome.test is not None
    for cdf in (outcome.oof, outcome.test):
        assert_cdf(cdf)
    expected = sum(w * test[k] for w, k in zip(weights, oof, strict=True))  # the weights applied to the models
    np.testing.assert_allclose(outcome.test, expected, atol=1e-5)
    for method in ("mean", "hill_climb"):
        assert_cdf(blend_predictions(oof, y, folds, crps, method, test=test).test)


def test_a_level2_stacker_cannot_blend_distributions() -> None:
    folds = make_folds(20, strategy="kfold", n_splits=2, seed=0)
    cdf = np.tile(np.linspace(0, 1, len(BINS)), (20, 1))
    with pytest.raises(ConfigError, match="does not average the models' distributions"):
        blend_predictions({"a": cdf, "b": cdf}, np.zeros(20), folds, get_metric("crps", BINS), "stack")


# ------------------------------------------------------------------------------------------------ submissions
def test_submission_columns_from_the_template_the_sample_or_the_default(tmp_path: Path) -> None:
    preds = pl.DataFrame({"id": [1, 2], "cdf_-1": [0.1, 0.2], "cdf_0": [0.5, 0.6], "cdf_1": [0.9, 1.0]})
    meta = {"id_column": "id", "target_column": "y", "classes": None, "metric": "crps", "grid": [-1.0, 0.0, 1.0]}
    frame = submission_frame(preds, {**meta, "grid_columns": "Yards{}"})
    assert frame.columns == ["id", "Yards-1", "Yards0", "Yards1"]
    assert frame["Yards0"].to_list() == [0.5, 0.6]
    assert distribution_columns(meta) == ["cdf_-1", "cdf_0", "cdf_1"]
    sample = tmp_path / "sample.csv"
    pl.DataFrame({"id": [1, 2], "P-1": [0, 0], "P0": [0, 0], "P1": [0, 0]}).write_csv(sample)
    assert distribution_columns({**meta, "sample_submission": str(sample)}) == ["P-1", "P0", "P1"]
    pl.DataFrame({"id": [1, 2], "P0": [0, 0]}).write_csv(sample)
    with pytest.raises(DataError, match="1 prediction column"):
        distribution_columns({**meta, "sample_submission": str(sample)})
    quantiles = {**meta, "metric": "pinball", "grid": [0.25, 0.5]}
    assert distribution_columns(quantiles) == ["q_0.25", "q_0.5"]


def test_a_moved_run_folder_names_the_columns_its_run_recorded(tmp_path: Path) -> None:
    """`predict` from a run folder moved without the sample (a code competition's dataset): the columns run.json
    recorded, each for the bin it names. They were the kit's own (``cdf_-1`` ..), which the recorded sample's columns
    then refused: `asks for column(s) ['Yards1', ...]`."""
    meta = {
        "id_column": "id", "target_column": "y", "classes": None, "metric": "crps", "grid": [-1.0, 0.0, 1.0],
        "sample_submission": str(tmp_path / "gone.csv"), "sample_columns": ["id", "Yards1", "Yards0", "Yards-1"],
    }  # fmt: skip
    assert distribution_columns(meta) == ["Yards-1", "Yards0", "Yards1"]


def test_sample_columns_naming_the_bins_in_another_order_take_their_own_bins(tmp_path: Path) -> None:
    """A sample headed ``Yards1, Yards0, Yards-1`` (its bins from the top) for the bins -1, 0, 1: each column gets the
    CDF at the bin it names. In the sample's order, the CDF at -1 (0.1) was written under ``Yards1`` without a word.
    Named values that are not the bins, in another order, are refused."""
    preds = pl.DataFrame({"id": [1, 2], "cdf_-1": [0.1, 0.2], "cdf_0": [0.5, 0.6], "cdf_1": [0.9, 1.0]})
    sample = tmp_path / "sample.csv"
    pl.DataFrame({"id": [1, 2], "Yards1": [0, 0], "Yards0": [0, 0], "Yards-1": [0, 0]}).write_csv(sample)
    meta = {
        "id_column": "id", "target_column": "y", "classes": None, "metric": "crps", "grid": [-1.0, 0.0, 1.0],
        "sample_submission": str(sample),
    }  # fmt: skip
    written = match_sample(submission_frame(preds, meta), sample, meta)
    assert written.columns == ["id", "Yards1", "Yards0", "Yards-1"]
    assert written["Yards1"].to_list() == [0.9, 1.0] and written["Yards-1"].to_list() == [0.1, 0.2]
    pl.DataFrame({"id": [1, 2], "Yards2": [0, 0], "Yards1": [0, 0], "Yards0": [0, 0]}).write_csv(sample)
    with pytest.raises(DataError, match=r"names its columns by values in another order than the run's bins"):
        submission_frame(preds, meta)
    pl.DataFrame({"id": [1, 2], "Yards0": [0, 0], "Yards1": [0, 0], "Yards2": [0, 0]}).write_csv(sample)  # off by one
    with pytest.warns(DataWarning, match=r"by the values 0 \.\. 2, but the run's bins / quantile levels are -1 \.\. 1"):
        assert submission_frame(preds, meta).columns == ["id", "Yards0", "Yards1", "Yards2"]  # in their places
    pl.DataFrame({"id": [1, 2], "q25": [0, 0], "q50": [0, 0]}).write_csv(sample)  # quantile levels in percent: quiet
    levels = {**meta, "metric": "pinball", "grid": [0.25, 0.5]}
    quantiles = pl.DataFrame({"id": [1, 2], "q_0.25": [1.0, 2.0], "q_0.5": [3.0, 4.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert submission_frame(quantiles, levels).columns == ["id", "q25", "q50"]


@pytest.mark.parametrize(
    ("header", "grid", "written"),
    [
        # ranges named by their edges: a '-' after a digit is no sign (read as -5, -10, .. they were refused)
        (["p0-5", "p5-10", "p10-20"], [5.0, 10.0, 20.0], {"p0-5": 5.0, "p5-10": 10.0, "p10-20": 20.0}),
        # quantile levels in percent from the top: each its own level (the refusal said "another order")
        (["q90", "q50", "q10"], [0.1, 0.5, 0.9], {"q90": 0.9, "q50": 0.5, "q10": 0.1}),
        ([" Yards1", "Yards0 ", "Yards-1"], [-1.0, 0.0, 1.0], {" Yards1": 1.0, "Yards0 ": 0.0, "Yards-1": -1.0}),
    ],
)
def test_sample_columns_named_by_ranges_or_percent_take_the_bin_they_name(
    header: list[str], grid: list[float], written: dict[str, float], tmp_path: Path
) -> None:
    """Each column gets the predictions of the bin / level it names, quietly; the value written is the grid's."""
    preds = pl.DataFrame({"id": [1], **{f"cdf_{j}": [g] for j, g in enumerate(grid)}})
    sample = tmp_path / "sample.csv"
    pl.DataFrame({"id": [1], **{c: [0] for c in header}}).write_csv(sample)
    meta = {
        "id_column": "id", "target_column": "y", "classes": None, "metric": "crps", "grid": grid,
        "sample_submission": str(sample),
    }  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = match_sample(submission_frame(preds, meta), sample, meta)
    assert out.columns == ["id", *header] and out.drop("id").row(0, named=True) == written


def test_a_distribution_sample_in_the_data_encoding_names_the_columns(tmp_path: Path) -> None:
    """A sample in data.encoding (cp1251: ``Ярды-1`` ..): its columns, read as the run reads the file. They were read
    without it (as cp1252), and its own columns then missed the submission's: `asks for column(s) ['Ярды-1', ..]`."""
    preds = pl.DataFrame({"id": [1], "cdf_-1": [0.1], "cdf_0": [0.5], "cdf_1": [0.9]})
    sample = tmp_path / "sample.csv"
    sample.write_bytes("id,Ярды-1,Ярды0,Ярды1\n1,0,0,0\n".encode("cp1251"))
    meta = {
        "id_column": "id", "target_column": "y", "classes": None, "metric": "crps", "grid": [-1.0, 0.0, 1.0],
        "sample_submission": str(sample), "encoding": "cp1251",
    }  # fmt: skip
    out = match_sample(submission_frame(preds, meta), sample, meta)
    assert out.columns == ["id", "Ярды-1", "Ярды0", "Ярды1"] and out.row(0) == ("1", 0.1, 0.5, 0.9)


@pytest.mark.parametrize("index", ["", "Unnamed: 0"])
@pytest.mark.parametrize("id_column", ["id", None])
def test_a_pandas_index_saved_in_a_distribution_sample_is_no_bin(
    index: str, id_column: str | None, tmp_path: Path
) -> None:
    """A sample re-saved with its pandas index (``,id,bin_0,..`` or ``Unnamed: 0``): the index was one more
    prediction column (`has 4 prediction column(s) but the run predicts 3`, before any fit); without data.id it was
    taken for the ids, and the id column for a bin. Left out, as `submit` leaves it out of any sample, saying so."""
    grid = [-1.0, 0.0, 1.0]
    preds = pl.DataFrame({"id": [7, 8], "cdf_-1": [0.1, 0.2], "cdf_0": [0.5, 0.6], "cdf_1": [0.9, 1.0]})
    sample = tmp_path / "sample.csv"
    sample.write_text(f"{index},id,Yards-1,Yards0,Yards1\n0,7,0,0,0\n1,8,0,0,0\n")
    meta = {
        "id_column": id_column, "target_column": "y", "classes": None, "metric": "crps", "grid": grid,
        "sample_submission": str(sample),
    }  # fmt: skip
    assert distribution_columns(meta) == ["Yards-1", "Yards0", "Yards1"]
    with pytest.warns(DataWarning, match=f"has an unnamed column '{index}' of row numbers"):
        out = match_sample(submission_frame(preds, meta), sample, meta)
    assert out.columns == ["id", "Yards-1", "Yards0", "Yards1"] and out.rows() == [
        ("7", 0.1, 0.5, 0.9),
        ("8", 0.2, 0.6, 1.0),
    ]
    recorded = {
        "sample_columns": [index, "id", "Yards-1", "Yards0", "Yards1"],
        "sample_first_row": ["0", "7", "0", "0", "0"],
    }
    moved = {**meta, "sample_submission": str(tmp_path / "gone.csv"), **recorded}
    assert distribution_columns(moved) == ["Yards-1", "Yards0", "Yards1"]  # a moved run folder's recorded columns


@pytest.mark.parametrize("start", [0, 1])
def test_columns_numbering_the_bins_by_their_place_take_them_in_order_quietly(start: int, tmp_path: Path) -> None:
    """``bin_0 .. bin_40`` (or ``bin_1 .. bin_41``) for 41 bins 1 .. 41: the columns number the bins, they do not name
    their values; every `submit` warned that the values 0 .. 40 are not the bins 1 .. 41, an off-by-one that was
    none. Numbers that are not the places (``bin_0, bin_2, ..``), or another prefix (``Yards0 ..``), are warned of as
    before."""
    grid = [float(v) for v in range(1, 42)]
    preds = pl.DataFrame({"id": [1], **{f"cdf_{j}": [j / 40] for j in range(41)}})
    sample = tmp_path / "sample.csv"
    meta = {"id_column": "id", "target_column": "y", "classes": None, "metric": "crps", "grid": grid,
            "sample_submission": str(sample)}  # fmt: skip
    header = [f"bin_{j + start}" for j in range(41)]
    pl.DataFrame({"id": [1], **{c: [0] for c in header}}).write_csv(sample)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = match_sample(submission_frame(preds, meta), sample, meta)
    assert out.columns == ["id", *header] and out.row(0)[1:] == tuple(j / 40 for j in range(41))
    for other in ([f"bin_{2 * j}" for j in range(41)], [f"Yards{j + start - 1}" for j in range(41)]):
        pl.DataFrame({"id": [1], **{c: [0] for c in other}}).write_csv(sample)
        with pytest.warns(DataWarning, match="names its columns by the values"):
            submission_frame(preds, meta)


# ------------------------------------------------------------------------------------------------ the spec
def _spec(**overrides: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "name": "d",
        "task": "distribution",
        "metric": "crps",
        "data": {"train": "train.csv", "target": "y"},
        "distribution": {"bins": {"first": -2, "last": 2, "step": 0.5}},
        "models": [{"name": "m", "kind": "lightgbm"}],
    }
    raw.update(overrides)
    return raw


def test_bins_as_a_range_or_a_list_and_quantiles(tmp_path: Path) -> None:
    assert build_spec(_spec()).grid == (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
    assert build_spec(_spec(distribution={"bins": [1, 5, 7]})).grid == (1.0, 5.0, 7.0)
    tenths = build_spec(_spec(distribution={"bins": {"first": 0, "last": 1, "step": 0.1}})).grid
    assert tenths is not None and [grid_label(b) for b in tenths[:4]] == ["0", "0.1", "0.2", "0.3"]
    quantiles = build_spec(_spec(metric="pinball", distribution={"quantiles": [0.1, 0.9]}))
    assert quantiles.grid == (0.1, 0.9) and quantiles.fold_strategy == "kfold"
    for spec in (build_spec(_spec()), quantiles):  # written to TOML and read back: the same grid
        (tmp_path / "spec.toml").write_text(spec.to_toml())
        assert load_spec(tmp_path / "spec.toml").grid == spec.grid


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"distribution": None}, "needs a \\[distribution\\] table"),
        ({"distribution": {"bins": [1, 2], "quantiles": [0.5]}}, "exactly one of bins"),
        ({"distribution": {"bins": [2, 1]}}, "must increase"),
        ({"distribution": {"bins": {"first": 0, "last": 1, "step": 0.3}}}, "whole number of steps"),
        ({"distribution": {"quantiles": [0.5, 1.0]}}, "strictly between 0 and 1"),
        ({"distribution": {"bins": [1, 2], "columns": "Yards"}}, "must hold '\\{\\}' once"),
        ({"metric": "pinball"}, "scores predictions at distribution.quantiles"),
        ({"metric": "rmse"}, "cannot score a distribution task"),
        ({"task": "regression", "metric": "rmse"}, "\\[distribution\\] is for task = 'distribution'"),
        (
            {
                "task": "regression",
                "metric": "rmse",
                "distribution": None,
                "models": [{"name": "m", "kind": "xgboost", "distribution": "bins"}],
            },
            "distribution is for task = 'distribution' only",
        ),
        ({"distribution": {"bins": [1, 2], "bims": 3}}, "Did you mean 'bins'"),
    ],
)
def test_spec_errors_name_the_key_and_the_fix(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_spec(_spec(**overrides))


# ------------------------------------------------------------------------------------------------ a whole run
def test_a_quantile_run_beats_the_baseline_and_stores_increasing_quantiles(tmp_path: Path) -> None:
    X, y = _data(n=500, seed=9)
    frame = pl.DataFrame({"id": np.arange(500), **{f"x{i}": X[:, i] for i in range(4)}, "y": y})
    spec = build_spec(
        {
            "name": "q",
            "task": "distribution",
            "metric": "pinball",
            "data": {"train": "unused.csv", "id": "id", "target": "y"},
            "distribution": {"quantiles": [0.1, 0.5, 0.9]},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1},
            "models": [
                {"name": "lgbm", "kind": "lightgbm", **GBDT},  # auto: the empirical out-of-fold residuals
                {"name": "ridge", "kind": "linear", "distribution": "gaussian"},
            ],
        }
    )
    result = run(
        spec,
        runs_root=tmp_path,
        train=frame.head(400),
        test=frame.tail(100).drop("y"),
        progress=None,
        record_history=False,
    )
    cv = {m.name: m.cv for m in result.models}
    assert cv["lgbm"] < 0.9 * cv["baseline"] and cv["ridge"] < cv["baseline"], cv
    oof = pl.read_parquet(next((tmp_path / "q" / "models" / "lgbm").rglob("oof.parquet")))
    assert oof.columns == ["id", "q_0.1", "q_0.5", "q_0.9"]
    values = oof.drop("id").to_numpy()
    assert (np.diff(values, axis=1) >= 0).all()
    assert abs(get_metric("pinball", (0.1, 0.5, 0.9)).score(y[:400], values) - cv["lgbm"]) < 1e-6
    # the run folder reloaded on the test rows (`kaggle-kit predict`): the stored test predictions again
    from kaggle_kit.predict.api import predict

    stored = pl.read_parquet(next((tmp_path / "q" / "models" / "lgbm").rglob("test.parquet")))
    again = predict(tmp_path / "q", frame.tail(100).drop("y"), model="lgbm")
    assert again.columns == stored.columns
    np.testing.assert_allclose(again.drop("id").to_numpy(), stored.drop("id").to_numpy(), atol=1e-5)
    # predictions made elsewhere must be distributions too: quantiles that fall from one level to the next are refused
    from kaggle_kit.blend import import_predictions

    falling = oof.with_columns(pl.col("q_0.9") - 1000.0)
    falling.write_csv(tmp_path / "falling.csv")
    with pytest.raises(DataError, match="not distributions: their quantiles decrease"):
        import_predictions(tmp_path / "q", "elsewhere", oof=tmp_path / "falling.csv")
    oof.write_csv(tmp_path / "fine.csv")
    stored.write_csv(tmp_path / "fine_test.csv")
    with pytest.warns(UserWarning, match="no fold column"):  # the run's folds are not in the file: said, not refused
        imported = import_predictions(
            tmp_path / "q", "elsewhere", oof=tmp_path / "fine.csv", test=tmp_path / "fine_test.csv"
        )
    assert imported.n_test == 100


def test_columns_numbering_the_bins_from_one_take_them_in_order_quietly(tmp_path: Path) -> None:
    """``bin_1 .. bin_41`` for the 41 bins -20 .. 20: the columns count the bins from 1, in their order, quietly (they
    name no value of the grid)."""
    grid = [float(v) for v in range(-20, 21)]
    preds = pl.DataFrame({"id": [1], **{f"cdf_{j}": [j / 40] for j in range(41)}})
    sample = tmp_path / "sample.csv"
    meta = {"id_column": "id", "target_column": "y", "classes": None, "metric": "crps", "grid": grid,
            "sample_submission": str(sample)}  # fmt: skip
    header = [f"bin_{j + 1}" for j in range(41)]
    pl.DataFrame({"id": [1], **{c: [0] for c in header}}).write_csv(sample)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = match_sample(submission_frame(preds, meta), sample, meta)
    assert out.columns == ["id", *header] and out.row(0)[1:] == tuple(j / 40 for j in range(41))
