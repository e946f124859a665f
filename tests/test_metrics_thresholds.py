"""F1 / Dice, balanced accuracy and MAP@k against independent implementations; decision thresholds chosen on
out-of-fold rows (per fold on its training rows only, in scoring and in a blend's nested CV) and applied to test."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kaggle_kit.blend import blend_predictions
from kaggle_kit.errors import ConfigError
from kaggle_kit.metrics import METRICS, Metric, choose_threshold, get_metric, to_labels
from kaggle_kit.runtime.folds import make_folds
from kaggle_kit.runtime.scoring import score_folds
from kaggle_kit.submit import submission_frame

TOL = 1e-12


def _oof(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, tol=1e-2, max_iter=200))
    return cross_val_predict(model, x, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), method="predict_proba")


@pytest.fixture(scope="module")
def binary() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_breast_cancer(return_X_y=True)
    return y, _oof(x, y)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return y, _oof(x, y)


def _imbalanced(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """~6% positives and calibrated-ish probabilities: few exceed 0.5, so F1 at 0.5 misses most positives."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    y = (signal + rng.normal(0, 0.7, n) > 1.8).astype(np.int64)
    q = 1 / (1 + np.exp(-(2.2 * signal - 5 + rng.normal(0, 0.5, n))))
    return y, np.column_stack([1 - q, q])


# ------------------------------------------------------------------------------------------ the metric functions
@pytest.mark.parametrize("threshold", [None, 0.2, 0.5, 0.83])
@pytest.mark.parametrize("name", ["f1", "dice"])
def test_f1_and_dice_are_sklearn_f1_of_the_positive_class(binary, name: str, threshold: float | None) -> None:
    y, proba = binary
    labels = (proba[:, 1] > (0.5 if threshold is None else threshold)).astype(int)
    ours = get_metric(name).score(y, proba, threshold)
    assert abs(ours - skm.f1_score(y, labels)) <= TOL
    # Dice on label sets: 2 |A and B| / (|A| + |B|), written out
    a, b = y == 1, labels == 1
    assert abs(ours - 2 * np.sum(a & b) / (a.sum() + b.sum())) <= TOL


def test_f1_takes_the_positive_column_and_is_nan_when_undefined() -> None:
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.1, 0.9, 0.4, 0.7, 0.6])
    f1 = get_metric("f1")
    assert f1.score(y, p) == f1.score(y, np.column_stack([1 - p, p])) == skm.f1_score(y, p > 0.5)
    assert math.isnan(f1.score(np.zeros(4, dtype=int), np.full(4, 0.1)))
    assert f1.tasks == get_metric("dice").tasks == {"binary"}  # multiclass: f1_macro


@pytest.mark.parametrize("variant", ["binary", "digits", "digits_ties"])
def test_balanced_accuracy_agrees_with_sklearn(binary, digits, variant: str) -> None:
    y, proba = binary if variant == "binary" else digits
    if variant == "digits_ties":
        proba = np.round(proba, 1)  # all-way ties: argmax goes to the lowest code in both
    ours = get_metric("balanced_accuracy").score(y, proba)
    assert abs(ours - skm.balanced_accuracy_score(y, proba.argmax(axis=1))) <= TOL
    t = 0.3
    if variant == "binary":
        ref = skm.balanced_accuracy_score(y, proba[:, 1] > t)
        assert abs(get_metric("balanced_accuracy").score(y, proba, t) - ref) <= TOL


def _apk(actual: list[str], predicted: list[str], k: int) -> float:
    """Kaggle's average precision at k (the ml_metrics reference), written out independently."""
    predicted = predicted[:k]
    score, hits = 0.0, 0
    for i, p in enumerate(predicted):
        if p in actual and p not in predicted[:i]:
            hits += 1
            score += hits / (i + 1.0)
    return score / min(len(actual), k) if actual else 0.0


def test_map_at_k_on_a_worked_example() -> None:
    # classes 0..3; rows' rankings: [2,0,1,3], [0,1,2,3], [3,2,1,0], [1,0,2,3]; true labels 0, 1, 0, 1
    proba = np.array(
        [
            [0.3, 0.2, 0.4, 0.1],
            [0.4, 0.3, 0.2, 0.1],
            [0.1, 0.2, 0.3, 0.4],
            [0.25, 0.25, 0.25, 0.25],  # all tied: ranked 0, 1, 2, 3 (the lower code first)
        ]
    )
    y = np.array([0, 1, 0, 1])
    # by hand: row 0 -> true at rank 2 (1/2), row 1 -> rank 2 (1/2), row 2 -> rank 4 (0 at k=3), row 3 -> rank 2
    assert get_metric("map@3").score(y, proba) == pytest.approx((0.5 + 0.5 + 0 + 0.5) / 4, abs=TOL)
    assert get_metric("map@4").score(y, proba) == pytest.approx((0.5 + 0.5 + 0.25 + 0.5) / 4, abs=TOL)
    assert get_metric("map@1").score(y, proba) == 0.0
    assert get_metric("map@3").score(y, proba) == get_metric("map@3").score(y, proba)  # registered once


@pytest.mark.parametrize("k", [1, 3, 5])
def test_map_at_k_agrees_with_kaggles_apk_on_real_data(digits, k: int) -> None:
    y, proba = digits
    proba = np.round(proba, 2)  # ties, broken the same way in both
    ranked = np.argsort(-proba, axis=1, kind="stable")
    ref = float(np.mean([_apk([str(t)], [str(c) for c in row], k) for t, row in zip(y, ranked, strict=True)]))
    assert abs(get_metric(f"map@{k}").score(y, proba) - ref) <= TOL


def test_map_at_k_names_and_registry() -> None:
    assert "map@3" in METRICS and get_metric("map@7").top_k == 7
    assert get_metric("map@3").flat and get_metric("f1").flat and not get_metric("log_loss").flat
    with pytest.raises(ConfigError, match="unknown metric 'map@0'"):
        get_metric("map@0")
    with pytest.raises(ConfigError, match="top_k"):
        Metric("bad", lambda y, p: 0.0, greater_is_better=True, needs="label", tasks={"binary"}, top_k=3)


# ------------------------------------------------------------------------------------------ thresholds
def test_to_labels_with_a_threshold() -> None:
    p = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    assert to_labels(p).tolist() == [0, 0, 1]
    assert to_labels(p, 0.3).tolist() == [0, 1, 1]
    assert to_labels(p[:, 1], 0.3).tolist() == [0, 1, 1]
    three = np.array([[0.2, 0.5, 0.3]])
    assert to_labels(three, 0.1).tolist() == [1]  # a threshold means nothing for multiclass: argmax


def test_threshold_chosen_on_oof_beats_half_on_held_out_rows() -> None:
    y, proba = _imbalanced(4000, seed=0)
    fit, held = slice(0, 2000), slice(2000, None)
    for name in ("f1", "dice", "balanced_accuracy", "mcc"):
        metric = get_metric(name)
        t = choose_threshold(metric, y[fit], proba[fit])
        assert t < 0.4  # rare positives: the best cut is well below 0.5
        at_t, at_half = metric.score(y[held], proba[held], t), metric.score(y[held], proba[held])
        assert at_t > at_half + 0.05, (name, t, at_t, at_half)
        # the chosen threshold is the best of the candidates on the rows it was chosen on
        grid = np.linspace(0.01, 0.99, 99)
        assert metric.score(y[fit], proba[fit], t) >= max(metric.score(y[fit], proba[fit], g) for g in grid)
    assert choose_threshold(get_metric("roc_auc"), y, proba) == 0.5  # a probability metric uses none


def test_model_fold_thresholds_are_chosen_on_training_rows_only() -> None:
    y, proba = _imbalanced(1500, seed=1)
    folds = make_folds(len(y), strategy="stratified", n_splits=5, y=y)
    metric = get_metric("f1")
    scores = score_folds(proba, y, folds, metric)
    for i, (r, k) in enumerate(scores.folds):
        train_idx, valid_idx = folds.train_valid(r, k)
        t = choose_threshold(metric, y[train_idx], proba[train_idx])
        assert scores.thresholds[i] == t
        assert scores.scores[i] == skm.f1_score(y[valid_idx], proba[valid_idx, 1] > t)
    # leak test: changing a fold's held-out predictions moves no threshold of that fold
    train_idx, valid_idx = folds.train_valid(0, 0)
    changed = proba.copy()
    changed[valid_idx] = changed[valid_idx, ::-1]
    assert score_folds(changed, y, folds, metric).thresholds[0] == scores.thresholds[0]
    # pooled: each row labelled at its fold's threshold
    row_t = np.zeros(len(y))
    for (r, k), t in zip(scores.folds, scores.thresholds, strict=True):
        row_t[folds.train_valid(r, k)[1]] = t
    assert scores.pooled == skm.f1_score(y, proba[:, 1] > row_t)


def test_blend_thresholds_are_nested_and_the_test_threshold_is_stored() -> None:
    y, a = _imbalanced(1500, seed=2)
    b = np.clip(a + np.random.default_rng(3).normal(0, 0.05, a.shape), 0, 1)
    folds = make_folds(len(y), strategy="stratified", n_splits=5, y=y)
    metric = get_metric("f1")
    test = {"a": a[:200], "b": b[:200]}
    out = blend_predictions({"a": a, "b": b}, y, folds, metric, "mean", test=test)
    mean = (a + b) / 2
    for (r, k), score in zip(out.result.folds, out.result.fold_scores, strict=True):
        train_idx, valid_idx = folds.train_valid(r, k)
        t = choose_threshold(metric, y[train_idx], mean[train_idx])  # the fold's training rows only
        assert score == pytest.approx(skm.f1_score(y[valid_idx], mean[valid_idx, 1] > t), abs=TOL)
    assert out.result.threshold == pytest.approx(choose_threshold(metric, y, mean.astype(np.float32)), abs=1e-6)
    assert out.result.cv == pytest.approx(skm.f1_score(y, mean[:, 1] > out.result.threshold), abs=TOL)
    # a blend of one model scores exactly that model, thresholds included
    one = blend_predictions({"a": a}, y, folds, metric, "mean")
    assert one.result.fold_scores == score_folds(a, y, folds, metric, one.result.folds).scores
    # a stacker's threshold: on its nested OOF; weights blends (nelder_mead) store one too
    for method in ("nelder_mead", "stack"):
        result = blend_predictions({"a": a, "b": b}, y, folds, metric, method, test=test).result
        assert result.threshold is not None and result.threshold < 0.5
    assert blend_predictions({"a": a, "b": b}, y, folds, "log_loss", "mean").result.threshold is None


# ------------------------------------------------------------------------------------------ submission layout
def _meta(metric: str, classes: list[str]) -> dict:
    return {"id_column": "id", "target_column": "label", "classes": classes, "metric": metric}


def test_submission_writes_top_k_labels_and_thresholded_labels() -> None:
    preds = pl.DataFrame({"id": [1, 2], "a": [0.1, 0.5], "b": [0.6, 0.2], "c": [0.3, 0.3]})
    frame = submission_frame(preds, _meta("map@3", ["a", "b", "c"]))
    assert frame["label"].to_list() == ["b c a", "a c b"]
    assert submission_frame(preds, _meta("map@2", ["a", "b", "c"]))["label"].to_list() == ["b c", "a c"]
    binary = pl.DataFrame({"id": [1, 2, 3], "no": [0.9, 0.7, 0.4], "yes": [0.1, 0.3, 0.6]})
    assert submission_frame(binary, _meta("f1", ["no", "yes"]))["label"].to_list() == ["no", "no", "yes"]
    assert submission_frame(binary, _meta("f1", ["no", "yes"]), 0.2)["label"].to_list() == ["no", "yes", "yes"]


# ------------------------------------------------------------------------------------------ end to end, CLI
def _best_threshold_by_brute_force(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Every midpoint between distinct probabilities and 0.5, scored by sklearn's F1; ties to the one nearest 0.5."""
    values = np.unique(p.astype(np.float64))
    candidates = sorted([*((values[1:] + values[:-1]) / 2), 0.5], key=lambda t: abs(t - 0.5))
    best, best_score = 0.5, -1.0
    for t in candidates:
        score = skm.f1_score(y, p > t, zero_division=0.0)
        if score > best_score:
            best, best_score = float(t), score
    return best, best_score


def _competition(tmp_path, name: str, task: str, metric: str) -> Path:
    """Generated data in the Kaggle layout (train, test, sample submission) and a config with two quick models:
    binary with ~10% positives, or 3 classes; GaussianNB is overconfident, as usual."""
    rng = np.random.default_rng(5)
    n_train, n_test = 240, 120
    x = rng.normal(size=(n_train + n_test, 4))
    signal = x[:, 0] + 0.6 * x[:, 1]
    noisy = signal + rng.normal(0, 0.6, len(signal))
    if task == "binary":
        label = np.where(noisy > 1.7, "yes", "no")
    else:
        label = np.where(noisy > 0.6, "high", np.where(noisy > -0.6, "mid", "low"))
    frame = pl.DataFrame({"id": np.arange(len(label)), **{f"x{j}": x[:, j] for j in range(4)}, "target": label})
    frame[:n_train].write_csv(tmp_path / "train.csv")
    frame[n_train:].drop("target").write_csv(tmp_path / "test.csv")
    pl.DataFrame({"id": frame["id"][n_train:], "target": ["no"] * n_test}).write_csv(tmp_path / "sample.csv")
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f"""name = "{name}"
task = "{task}"
metric = "{metric}"
seed = 1
[data]
train = "train.csv"
test = "test.csv"
sample_submission = "sample.csv"
id = "id"
target = "target"
[folds]
strategy = "stratified"
n_splits = 4
[run]
n_jobs = 1
threads_per_task = 1
[[models]]
name = "logreg"
kind = "sklearn"
estimator = "sklearn.linear_model.LogisticRegression"
params = {{ C = 1.0, max_iter = 500 }}
[[models]]
name = "nb"
kind = "sklearn"
estimator = "sklearn.naive_bayes.GaussianNB"
"""
    )
    return config


def test_cli_run_blend_submit_with_f1_on_an_imbalanced_problem(tmp_path, capsys) -> None:
    from kaggle_kit.cli import main

    config = _competition(tmp_path, "rare", "binary", "f1")
    runs = tmp_path / "runs"
    assert main(["run", str(config), "--runs-root", str(runs)]) == 0
    run_dir = runs / "rare"
    assert main(["blend", str(run_dir), "--method", "mean"]) == 0
    out = capsys.readouterr().out
    assert "Decision thresholds (f1" in out

    from kaggle_kit.blend import read_blend
    from kaggle_kit.blend.inputs import load_run
    from kaggle_kit.runtime.store import RunStore

    preds = load_run(run_dir, ["logreg", "nb"])
    y = preds.y
    assert 0.05 < y.mean() < 0.2  # imbalanced
    blend = read_blend(run_dir, "mean")
    assert f"mean {blend.threshold:.4f}" in out
    # the stored threshold is the best F1 cut of the blend's OOF (the mean of the two models), found independently
    mean_oof = ((preds.oof["logreg"] + preds.oof["nb"]) / 2)[:, 1]
    _, best = _best_threshold_by_brute_force(y, mean_oof)
    assert skm.f1_score(y, mean_oof > blend.threshold) == pytest.approx(best, abs=1e-12)
    assert blend.threshold != 0.5
    # the report scores the blend's nested OOF at the thresholds its nested CV chose: the blend's own fold scores
    from kaggle_kit.blend.scoring import honest_scores

    nested_oof = pl.read_parquet(run_dir / "blends" / "mean" / "oof.parquet")[:, 1:].to_numpy()
    given = {"mean": dict(zip(blend.folds, blend.fold_thresholds, strict=True))}
    assert honest_scores({"mean": nested_oof}, y, preds.folds, preds.metric, given)["mean"].scores == blend.fold_scores
    from kaggle_kit.report.blends import read_blends

    assert [b.fold_thresholds for b in read_blends(run_dir)] == [given["mean"]]  # what `kaggle-kit report` passes

    sub_path = tmp_path / "blend.csv"
    assert main(["submit", str(run_dir), "--blend", "mean", "--out", str(sub_path)]) == 0
    sub = pl.read_csv(sub_path)
    assert sub.columns == ["id", "target"]
    blend_test = pl.read_parquet(run_dir / "blends" / "mean" / "test.parquet")
    expected = np.where(blend_test[:, -1].to_numpy() > blend.threshold, "yes", "no")
    assert sub["target"].to_list() == expected.tolist()

    # a model's submission: labelled at the threshold chosen on its whole OOF, recomputed by brute force
    model_path = tmp_path / "logreg.csv"
    assert main(["submit", str(run_dir), "--model", "logreg", "--out", str(model_path)]) == 0
    t, _ = _best_threshold_by_brute_force(y, preds.oof["logreg"][:, 1])
    test = RunStore(run_dir).read_predictions("logreg", "test")
    expected = np.where(test[:, -1].to_numpy() > t, "yes", "no")
    assert pl.read_csv(model_path)["target"].to_list() == expected.tolist()
    assert expected.tolist() != np.where(test[:, -1].to_numpy() > 0.5, "yes", "no").tolist()  # 0.5 differs

    # predicting the same rows anew writes the same labels: the stored threshold, not 0.5
    from kaggle_kit.predict import predict

    for kind, name, written in (("blend", "mean", sub_path), ("model", "logreg", model_path)):
        again = tmp_path / f"again-{name}.csv"
        predict(run_dir, tmp_path / "test.csv", out=again, **{kind: name})
        assert pl.read_csv(again)["target"].to_list() == pl.read_csv(written)["target"].to_list()


# ------------------------------------------------------------------------------------------ calibration
def test_temperature_scaling_is_fitted_out_of_fold_and_helps_overconfident_models() -> None:
    from scipy.special import softmax

    from kaggle_kit.blend.calibration import apply_temperature, fit_temperature

    rng = np.random.default_rng(7)
    n, n_classes = 1200, 4
    logits = rng.normal(0, 1.5, size=(n, n_classes))
    y = np.array([rng.choice(n_classes, p=softmax(row)) for row in logits])
    a = softmax(2.5 * (logits + rng.normal(0, 0.3, logits.shape)), axis=1)  # overconfident: logits x 2.5
    b = softmax(2.5 * (logits + rng.normal(0, 0.3, logits.shape)), axis=1)
    folds = make_folds(n, strategy="stratified", n_splits=5, y=y)
    test = {"a": a[:100], "b": b[:100]}
    plain = blend_predictions({"a": a, "b": b}, y, folds, "log_loss", "mean", test=test)
    scaled = blend_predictions({"a": a, "b": b}, y, folds, "log_loss", "mean", test=test, calibrate="temperature")
    assert scaled.result.mean < plain.result.mean - 0.05  # honest (nested) log loss improves
    mean = (a + b) / 2
    t = scaled.result.temperature
    assert 1.5 < t < 4.0
    # the temperature minimises log loss on all OOF rows: no grid value does better
    grid = np.exp(np.linspace(np.log(0.5), np.log(5), 200))
    best_grid = min(skm.log_loss(y, softmax(np.log(mean) / g, axis=1)) for g in grid)
    assert skm.log_loss(y, softmax(np.log(mean) / t, axis=1)) <= best_grid + 1e-9
    # each fold's temperature is fitted on its training rows only, and the test rows get the stored one
    for (r, k), score in zip(scaled.result.folds, scaled.result.fold_scores, strict=True):
        train_idx, valid_idx = folds.train_valid(r, k)
        t_k = fit_temperature(y[train_idx], mean[train_idx].astype(np.float32))
        ref = skm.log_loss(y[valid_idx], softmax(np.log(mean[valid_idx]) / t_k, axis=1), labels=range(n_classes))
        assert score == pytest.approx(ref, abs=1e-6)
    assert np.allclose(scaled.test, softmax(np.log(plain.test.astype(np.float64)) / t, axis=1), atol=1e-6)
    assert np.allclose(apply_temperature(mean, 1.0), mean, atol=1e-6)
    with pytest.raises(ConfigError, match="for metric 'log_loss' only"):
        blend_predictions({"a": a, "b": b}, y, folds, "accuracy", "mean", calibrate="temperature")
    with pytest.raises(ConfigError, match="calibrates already"):
        blend_predictions({"a": a, "b": b}, y, folds, "log_loss", "stack", calibrate="temperature")


def test_cli_blend_with_temperature_scaling_then_predict(tmp_path, capsys) -> None:
    from scipy.special import softmax

    from kaggle_kit.blend import read_blend
    from kaggle_kit.cli import main
    from kaggle_kit.predict import predict

    config = _competition(tmp_path, "three", "multiclass", "log_loss")
    runs = tmp_path / "runs"
    assert main(["run", str(config), "--runs-root", str(runs)]) == 0
    run_dir = runs / "three"
    assert main(["blend", str(run_dir), "--method", "nelder_mead", "--name", "nm", "--restarts", "1"]) == 0
    assert main(["blend", str(run_dir), "--method", "nelder_mead", "--name", "nm_t", "--calibrate", "temperature"]) == 0
    assert "Temperature scaling" in capsys.readouterr().out
    plain, scaled = read_blend(run_dir, "nm"), read_blend(run_dir, "nm_t")
    assert plain.temperature is None and scaled.temperature is not None
    stored = pl.read_parquet(run_dir / "blends" / "nm_t" / "test.parquet")
    # the stored test predictions are the weighted blend, temperature-scaled with the stored temperature
    from kaggle_kit.runtime.store import RunStore

    store = RunStore(run_dir)
    raw = sum(w * store.read_predictions(m, "test")[:, 1:].to_numpy() for m, w in scaled.weight_map.items())
    expected = softmax(np.log(np.clip(raw, 1e-15, 1)) / scaled.temperature, axis=1)
    assert np.allclose(stored[:, 1:].to_numpy(), expected, atol=1e-5)
    # predicting the test rows anew applies the same temperature
    again = predict(run_dir, tmp_path / "test.csv", blend="nm_t")
    assert np.allclose(again[:, 1:].to_numpy(), stored[:, 1:].to_numpy(), atol=1e-5)
    assert main(["blend", str(run_dir), "--method", "stack", "--calibrate", "temperature"]) == 2
    assert "calibrates already" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("f1", lambda y, lab: skm.f1_score(y, lab, zero_division=np.nan)),
        ("dice", lambda y, lab: skm.f1_score(y, lab, zero_division=np.nan)),
        ("accuracy", skm.accuracy_score),
        ("balanced_accuracy", skm.balanced_accuracy_score),
        ("qwk", lambda y, lab: skm.cohen_kappa_score(y, lab, weights="quadratic")),
        ("mcc", skm.matthews_corrcoef),
    ],
)
def test_chosen_threshold_is_the_best_cut_by_brute_force(name: str, reference) -> None:
    rng = np.random.default_rng(11)
    y = (rng.random(300) < 0.15).astype(int)
    p = np.round(np.clip(0.2 * y + rng.random(300) * 0.7, 0, 1), 2)  # ties
    values = np.unique(p)
    candidates = sorted([*((values[1:] + values[:-1]) / 2), 0.5], key=lambda t: abs(t - 0.5))
    with np.errstate(all="ignore"):
        scores = [reference(y, (p > t).astype(int)) for t in candidates]
    best = int(np.nanargmax(scores))  # the first best: nearest 0.5
    t = choose_threshold(get_metric(name), y, p)
    assert t == pytest.approx(candidates[best], abs=1e-12)
    assert get_metric(name).score(y, p, t) == pytest.approx(scores[best], abs=1e-12)


# ------------------------------------------------------------------------------------------ MAP@K from the sample
def test_init_reads_map_at_k_from_a_sample_of_ranked_labels_and_submit_takes_it_quietly(tmp_path, capsys) -> None:
    """A sample holding K space-separated training labels per row (the Fertilizer competition's '14-35-14 10-26-26
    Urea') is scored by MAP@K: init guessed log_loss ('the sample does not tell'), and submit, under map@3, warned that
    the sample's value is none of the training labels."""
    from kaggle_kit.cli import main
    from kaggle_kit.init_config import infer_spec

    config = _competition(tmp_path, "ranked", "multiclass", "map@3")
    sample = pl.read_csv(tmp_path / "sample.csv").with_columns(pl.lit("high mid low").alias("target"))
    sample.write_csv(tmp_path / "sample_submission.csv")
    spec, why = infer_spec("ranked", tmp_path / "train.csv")
    assert spec["metric"] == "map@3"
    assert "metric = 'map@3' (the sample submission's 'target' holds 3 labels per row" in "\n".join(why)
    sample.with_columns(pl.lit("mid low").alias("target")).write_csv(tmp_path / "sample_submission.csv")
    assert infer_spec("ranked", tmp_path / "train.csv")[0]["metric"] == "map@2"
    sample.with_columns(pl.lit("mid lo").alias("target")).write_csv(tmp_path / "sample_submission.csv")
    assert infer_spec("ranked", tmp_path / "train.csv")[0]["metric"] == "log_loss"  # 'lo' is no label: a guess
    # a target of label lists ('high mid' a training label): the sample lists labels too, no ranking
    train = pl.read_csv(tmp_path / "train.csv")
    listed = train.with_columns(
        pl.when(pl.col("id") % 3 == 0).then(pl.lit("high mid")).otherwise("target").alias("target")
    )
    listed.write_csv(tmp_path / "listed.csv")
    sample.write_csv(tmp_path / "sample_submission.csv")
    assert infer_spec("ranked", tmp_path / "listed.csv")[0]["metric"] != "map@3"
    # --metric as an evaluation page spells it is written as the registered name
    assert infer_spec("ranked", tmp_path / "train.csv", metric="MAP@3")[0]["metric"] == "map@3"

    sample.write_csv(tmp_path / "sample.csv")  # the config's sample submission
    runs = tmp_path / "runs"
    assert main(["run", str(config), "--runs-root", str(runs)]) == 0
    capsys.readouterr()
    out = tmp_path / "sub.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["submit", str(runs / "ranked"), "--model", "logreg", "--out", str(out)]) == 0
    assert "none of the training labels" not in capsys.readouterr().err
    written = pl.read_csv(out)["target"].to_list()
    assert all(sorted(row.split()) == ["high", "low", "mid"] for row in written)


def test_mcc_threshold_is_chosen_from_confusion_counts_on_every_cut() -> None:
    """MCC is scored from the confusion counts at every midpoint at once, as F1 is (not at 256 sampled quantiles):
    the chosen cut is the best of all of them, and a blend's honest score takes it per fold on training rows."""
    from kaggle_kit.metrics import _FROM_COUNTS

    metric = get_metric("mcc")
    assert metric.thresholded(np.zeros((3, 2))) and not metric.thresholded(np.zeros((3, 3)))
    assert metric.fn in _FROM_COUNTS
    rng = np.random.default_rng(12)
    y = (rng.random(2000) < 0.1).astype(int)
    p = 0.2 * y + rng.random(2000) * 0.45  # 2000 distinct values: more than 256 candidates; the best cut below 0.5
    values = np.unique(p)
    candidates = [*((values[1:] + values[:-1]) / 2), 0.5]
    best = max(skm.matthews_corrcoef(y, p > c) for c in candidates)
    t = choose_threshold(metric, y, p)
    assert metric.score(y, p, t) == pytest.approx(best, abs=1e-12)
    folds = make_folds(len(y), strategy="stratified", n_splits=4, y=y)
    honest = score_folds(np.column_stack([1 - p, p]), y, folds, metric)
    assert len(honest.thresholds) == 4 and all(c < 0.48 for c in honest.thresholds)
    assert honest.pooled > metric.score(y, p) + 0.05
    # probabilities anti-correlated with the labels, all below 0.5: every cut between them scores below 0, and 0.5
    # (one class predicted) scores 0, as scikit-learn says, so it is kept
    y6, p6 = np.array([1, 0, 1, 0, 1, 0]), np.array([0.1, 0.35, 0.15, 0.4, 0.2, 0.3])
    assert choose_threshold(metric, y6, p6) == 0.5
    assert metric.score(y6, p6, 0.5) == 0.0 == skm.matthews_corrcoef(y6, p6 > 0.5)
