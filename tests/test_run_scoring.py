"""The run's own leaderboard scores a model's OOF exactly as ``kaggle-kit report`` and ``kaggle-kit blend`` do: one
function (:func:`kaggle_kit.runtime.scoring.score_folds`), so a binary label metric (F1) is scored at the decision
thresholds chosen out of fold everywhere, never at 0.5 in one place and at a chosen threshold in another."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from kaggle_kit.blend import blend_report
from kaggle_kit.config import build_spec
from kaggle_kit.metrics import choose_threshold, get_metric
from kaggle_kit.report import collect_report
from kaggle_kit.runtime.progress import model_scores
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore


def _rare_positives(n: int = 300, seed: int = 3) -> pl.DataFrame:
    """~8% positives that a logistic regression ranks well but rarely puts above 0.5: F1 at 0.5 is poor."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.7, n) > 1.9).astype(np.int64)
    return pl.DataFrame({"id": np.arange(n), "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "target": y})


@pytest.fixture(scope="module")
def f1_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("runs")
    train = _rare_positives()
    spec = build_spec(
        {
            "name": "rare-f1",
            "task": "binary",
            "metric": "f1",
            "seed": 0,
            "data": {"train": "train.csv", "id": "id", "target": "target"},
            "folds": {"n_splits": 4},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [
                {
                    "name": "logreg",
                    "kind": "sklearn",
                    "estimator": "sklearn.linear_model.LogisticRegression",
                    "params": {"C": 0.05, "max_iter": 300},
                }
            ],
        }
    )
    return run(spec, runs_root=root, train=train, progress=None, record_history=False)


def test_run_leaderboard_report_and_blend_score_a_label_metric_alike(f1_run) -> None:
    result = f1_run
    store = RunStore(result.run_dir)
    row = next(m for m in result.models if m.name == "logreg")
    oof = store.read_predictions("logreg", "oof").drop("id").to_numpy()
    y = store.read_target()
    folds = store.load_folds(4, "complement")
    assert folds is not None
    metric = get_metric("f1")

    # independently: each fold's held-out rows labelled at the threshold that is best on the fold's training rows
    expected_scores, at = [], np.zeros(len(y))
    for r, k in folds.tasks():
        train_idx, valid_idx = folds.train_valid(r, k)
        t = choose_threshold(metric, y[train_idx], oof[train_idx])
        at[valid_idx] = t
        labels = (oof[valid_idx, 1] > t).astype(int)
        tp = int((labels & y[valid_idx]).sum())
        expected_scores.append(2 * tp / (labels.sum() + y[valid_idx].sum()))
    pooled_labels = (oof[:, 1] > at).astype(int)
    expected_cv = 2 * int((pooled_labels & y).sum()) / (pooled_labels.sum() + y.sum())
    assert row.fold_scores == pytest.approx(expected_scores, abs=1e-12)
    assert row.cv == pytest.approx(expected_cv, abs=1e-12)
    at_half = metric.score(y, oof)  # the old line: every row at 0.5
    assert row.cv > at_half + 0.05  # the case is planted so that 0.5 is far from the best cut

    # the stored summary (what `kaggle-kit leaderboard` reads) and the live CV line say the same
    assert store.read_summary("logreg").cv == row.cv
    key = store.current_models()["logreg"]
    live = model_scores(store, folds, y, metric, "logreg", key, space="log")
    assert live is not None and live.pooled == pytest.approx(row.cv, abs=1e-12)

    # `kaggle-kit report` and `kaggle-kit blend` rank the model by the same numbers
    report = collect_report(result.run_dir, adversarial=False)
    entry = next(e for e in report.entries if e.name == "logreg")
    assert entry.cv == pytest.approx(row.cv, abs=1e-12)
    assert entry.fold_scores == pytest.approx(row.fold_scores, abs=1e-12)
    blends = blend_report(result.run_dir, "mean", models=["logreg"], save=False)
    model = blends.models[0]
    assert blends.model_pooled(model) == pytest.approx(row.cv, abs=1e-12)
    assert blends.model_scores(model) == pytest.approx(row.fold_scores, abs=1e-12)
    assert blends.blends[0].mean == pytest.approx(row.mean, abs=1e-12)  # a blend of one model scores that model


def test_a_fold_without_a_positive_is_left_out_of_the_mean_not_made_nan() -> None:
    """ROC AUC is undefined on held-out rows of one label (3 positives in 3,000 rows, 5 folds: two folds have none).
    Its ``nan`` had made every model's and blend's mean ``nan``: ``submit --best`` then kept the first model it saw."""
    from kaggle_kit.runtime.folds import Folds
    from kaggle_kit.runtime.scoring import score_folds

    y = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0])
    folds = Folds(np.array([[0, 0, 0, 1, 1, 1, 2, 2, 2]]), 3, "complement")
    pred = np.array([0.9, 0.2, 0.1, 0.3, 0.4, 0.1, 0.5, 0.6, 0.7])[:, None]
    scored = score_folds(pred, y, folds, get_metric("roc_auc"))
    assert scored.folds == ((0, 0), (0, 1)) and scored.scores == (1.0, 0.5)  # fold 2: no positive, no score
    assert scored.mean == 0.75


def test_a_multilabel_fold_of_one_class_per_column_is_left_out_too() -> None:
    """Each column of fold 2 holds one class (0 in the first, 1 in the second): mean ROC AUC is undefined there, though
    the fold holds both labels (a check of the labels over all columns at once kept its ``nan``)."""
    from kaggle_kit.runtime.folds import Folds
    from kaggle_kit.runtime.scoring import score_folds

    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [0, 1], [0, 1], [np.nan, 1]])
    folds = Folds(np.array([[0, 0, 1, 1, 2, 2, 2]]), 3, "complement")
    pred = np.array([[0.9, 0.2], [0.1, 0.8], [0.6, 0.3], [0.4, 0.7], [0.5, 0.5], [0.2, 0.9], [0.3, 0.4]])
    scored = score_folds(pred, y, folds, get_metric("mean_roc_auc"))
    assert scored.folds == ((0, 0), (0, 1)) and scored.scores == (1.0, 0.5)


def test_a_run_says_which_folds_its_fold_means_leave_out(tmp_path) -> None:
    """The folds left out of every mean had been left out without a word: the leaderboard showed 2 fold scores for 3
    folds, and a mean resting on them. A regression run (the metric defined on any labels) says nothing."""
    from kaggle_kit.runtime.folds import Folds
    from kaggle_kit.runtime.scoring import undefined_folds

    rng = np.random.default_rng(0)
    y = np.zeros(30, dtype=int)
    y[[0, 1]] = 1  # two positives, three folds: one fold holds none
    frame = pl.DataFrame({"id": np.arange(30), "x": rng.normal(size=30) + y, "y": y})
    spec = build_spec(
        {"name": "rare", "task": "binary", "metric": "roc_auc", "data": {"train": "t.csv", "id": "id", "target": "y"},
         "folds": {"n_splits": 3}, "run": {"n_jobs": 1, "threads_per_task": 1},
         "models": [{"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}]}
    )  # fmt: skip
    with pytest.warns(UserWarning, match="fewer training rows than the 3 folds"):
        result = run(spec, train=frame, runs_root=tmp_path, progress=None, record_history=False)
    (note,) = [n for n in result.notes if "is undefined" in n]
    assert note.startswith("roc_auc is undefined on the held-out rows of 1 of the 3 folds (fold ")
    assert "the means rest on the other 2" in note
    assert all(len(m.fold_scores) == 2 for m in result.models)
    constant = Folds(np.array([[0, 0, 1, 1]]), 2, "complement")  # fold 0's targets all 1.0: rmse is defined there
    assert undefined_folds(np.array([1.0, 1.0, 2.0, 3.0]), constant, get_metric("rmse"), 1) == ()
