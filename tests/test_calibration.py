"""Isotonic calibration of blends (``--calibrate isotonic``): fitted out of fold, it lowers the log loss of a
miscalibrated model on rows it never saw, never uses a row's own label for that row's calibrated OOF value, and the
stored maps are what ``predict`` applies to new rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn import metrics as skm
from sklearn.isotonic import IsotonicRegression

from kaggle_kit.blend import blend_predictions
from kaggle_kit.blend.calibration import apply_isotonic, fit_isotonic
from kaggle_kit.blend.result import BlendResult
from kaggle_kit.errors import ConfigError
from kaggle_kit.runtime.folds import make_folds


def _binary(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from sigmoid(z), and a model that says sigmoid(2 z + 2.5): overconfident *and* shifted, which
    no temperature can fix (it keeps p = 0.5 where it is) but a monotone map can."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.2, n)
    y = (rng.random(n) < expit(z)).astype(np.int64)
    q = expit(2.0 * z + 2.5)
    return y, np.column_stack([1 - q, q]).astype(np.float32)


def _multiclass(n: int, seed: int, n_classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.2, size=(n, n_classes))
    y = np.array([rng.choice(n_classes, p=softmax(row)) for row in logits])
    bias = np.linspace(-1.0, 1.0, n_classes)  # overconfident and biased towards the last classes
    return y, softmax(2.5 * logits + bias, axis=1).astype(np.float32)


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_isotonic_lowers_log_loss_on_rows_it_never_saw(kind: str) -> None:
    make = _binary if kind == "binary" else _multiclass
    y, p = make(1500, 0)
    y_new, p_new = make(1500, 1)  # held-out rows with known labels: the "test set"
    folds = make_folds(len(y), strategy="stratified", n_splits=5, y=y)
    plain = blend_predictions({"m": p}, y, folds, "log_loss", "mean", test={"m": p_new})
    iso = blend_predictions({"m": p}, y, folds, "log_loss", "mean", test={"m": p_new}, calibrate="isotonic")
    temp = blend_predictions({"m": p}, y, folds, "log_loss", "mean", test={"m": p_new}, calibrate="temperature")
    labels = range(p.shape[1])
    before = skm.log_loss(y_new, plain.test, labels=labels)
    after = skm.log_loss(y_new, iso.test, labels=labels)
    assert after < before - 0.05  # on rows neither the model nor the calibration saw
    assert iso.result.mean < plain.result.mean - 0.05  # nested CV says so too, fold by fold
    if kind == "binary":  # the shift is beyond a temperature: isotonic beats it on the new rows
        assert after < skm.log_loss(y_new, temp.test, labels=labels) - 0.02
    assert np.allclose(iso.test.sum(axis=1), 1.0, atol=1e-5)
    assert iso.result.isotonic is not None and iso.result.temperature is None


def test_isotonic_oof_never_uses_a_rows_own_label() -> None:
    y, p = _binary(900, 2)
    folds = make_folds(len(y), strategy="stratified", n_splits=5, y=y)
    base = blend_predictions({"m": p}, y, folds, "log_loss", "mean", calibrate="isotonic").oof
    # each fold's calibrated OOF is the map fitted on the *other* folds' rows, computed independently by sklearn
    for r, k in folds.tasks():
        train_idx, valid_idx = folds.train_valid(r, k)
        eps = 1 / (len(train_idx) + 2)
        ref = IsotonicRegression(y_min=eps, y_max=1 - eps, out_of_bounds="clip")
        ref.fit(p[train_idx, 1].astype(np.float64), y[train_idx])
        np.testing.assert_allclose(base[valid_idx, 1], ref.predict(p[valid_idx, 1].astype(np.float64)), atol=1e-6)
    # flipping the labels of one fold's rows leaves that fold's calibrated OOF exactly as it was ...
    train0, valid0 = folds.train_valid(0, 0)
    flipped = y.copy()
    flipped[valid0] = 1 - flipped[valid0]
    again = blend_predictions({"m": p}, flipped, folds, "log_loss", "mean", calibrate="isotonic").oof
    np.testing.assert_array_equal(again[valid0], base[valid0])
    # ... while every other fold, whose calibration those labels trained, moves: the test above has teeth
    assert not np.allclose(again[train0], base[train0])


def test_isotonic_maps_are_stored_and_reapplied_exactly() -> None:
    y, p = _multiclass(800, 3, n_classes=3)
    folds = make_folds(len(y), strategy="stratified", n_splits=4, y=y)
    test = _multiclass(50, 4, n_classes=3)[1]
    out = blend_predictions({"m": p}, y, folds, "log_loss", "mean", test={"m": test}, calibrate="isotonic")
    maps = out.result.isotonic
    assert maps is not None and len(maps) == 3  # one-vs-rest: a map per class
    # the test rows get the maps fitted on all OOF rows: each class mapped by sklearn, then rows renormalised
    eps = 1 / (len(y) + 2)
    cols = []
    for c in range(3):
        ref = IsotonicRegression(y_min=eps, y_max=1 - eps, out_of_bounds="clip")
        ref.fit(p[:, c].astype(np.float64), y == c)
        cols.append(ref.predict(test[:, c].astype(np.float64)))
    expected = np.column_stack(cols)
    np.testing.assert_allclose(out.test, expected / expected.sum(axis=1, keepdims=True), atol=1e-6)
    # the summary's JSON round trip keeps the maps, and applying them again gives the stored predictions
    again = BlendResult.from_json(out.result.to_json())
    assert again.isotonic == maps
    np.testing.assert_allclose(apply_isotonic(test, again.isotonic), out.test, atol=1e-7)
    assert fit_isotonic(y, p) == maps


def test_isotonic_is_refused_where_it_cannot_help() -> None:
    y, p = _binary(300, 5)
    folds = make_folds(len(y), strategy="stratified", n_splits=3, y=y)
    with pytest.raises(ConfigError, match=r"calibration 'isotonic'.*'roc_auc'.*log_loss' only"):
        blend_predictions({"m": p}, y, folds, "roc_auc", "mean", calibrate="isotonic")
    with pytest.raises(ConfigError, match="calibrates already"):
        blend_predictions({"m": p, "n": p}, y, folds, "log_loss", "stack", calibrate="isotonic")
    with pytest.raises(ConfigError, match="unknown calibration 'platt'"):
        blend_predictions({"m": p}, y, folds, "log_loss", "mean", calibrate="platt")


def test_cli_blend_isotonic_then_predict_applies_the_stored_maps(tmp_path, capsys) -> None:
    import polars as pl
    from test_metrics_thresholds import _competition

    from kaggle_kit.blend import read_blend
    from kaggle_kit.cli import main
    from kaggle_kit.predict import predict
    from kaggle_kit.runtime.store import RunStore

    config = _competition(tmp_path, "three", "multiclass", "log_loss")
    runs = tmp_path / "runs"
    assert main(["run", str(config), "--runs-root", str(runs)]) == 0
    run_dir = runs / "three"
    assert main(["blend", str(run_dir), "--method", "mean", "--name", "iso", "--calibrate", "isotonic"]) == 0
    assert "Isotonic calibration" in capsys.readouterr().out
    result = read_blend(run_dir, "iso")
    assert result.isotonic is not None and len(result.isotonic) == 3
    store = RunStore(run_dir)
    raw = sum(store.read_predictions(m, "test")[:, 1:].to_numpy() for m in result.models) / len(result.models)
    stored = pl.read_parquet(run_dir / "blends" / "iso" / "test.parquet")[:, 1:].to_numpy()
    np.testing.assert_allclose(stored, apply_isotonic(raw, result.isotonic), atol=1e-6)
    again = predict(run_dir, tmp_path / "test.csv", blend="iso")  # new rows get the same maps
    np.testing.assert_allclose(again[:, 1:].to_numpy(), stored, atol=1e-5)


def test_the_command_that_makes_a_blend_again_names_its_calibration() -> None:
    """A stale or damaged calibrated blend's error names ``--calibrate``: without it the command would store the
    uncalibrated blend under the calibrated one's name."""
    from kaggle_kit.blend.storage import reblend_command

    y, p = _binary(300, 0)
    folds = make_folds(len(y), strategy="stratified", n_splits=3, y=y)
    made = {c: blend_predictions({"m": p}, y, folds, "log_loss", "mean", calibrate=c, name="b").result
            for c in (None, "temperature", "isotonic")}  # fmt: skip
    assert reblend_command("RUN", made[None]) == "`kaggle-kit blend RUN --method mean --name b`"
    for c in ("temperature", "isotonic"):
        assert reblend_command("RUN", made[c]) == f"`kaggle-kit blend RUN --method mean --name b --calibrate {c}`"
