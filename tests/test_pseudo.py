"""Pseudo-labelling (``[pseudo_label]``): confident test rows join each fold's training rows only; the OOF of a
pseudo-labelled model covers exactly the training rows, each fold validated on exactly its own held-out rows; its
labels come from the source's model of the same fold; it helps on a planted case with few labelled rows; a rerun
refits nothing; bad keys are errors naming the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.errors import ConfigError
from kaggle_kit.features import TableEncoder
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter
from kaggle_kit.runtime.pseudo_rows import PseudoRows, pseudo_path, read_pseudo_rows
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

N_TRAIN, N_TEST, N_SPLITS, THRESHOLD = 60, 1500, 3, 0.9


def _frames(seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Few labelled rows, many unlabelled ones, a linear boundary: a logistic regression finds it from 40 rows, a
    GBDT with 40 rows only draws a few axis-aligned steps, and with the test rows a logistic regression is sure
    of, it draws the boundary far better."""
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    x = rng.normal(size=(n, 4))
    y = (x[:, 0] + x[:, 1] + 0.7 * x[:, 2] + rng.normal(0, 0.3, n) > 0).astype(np.int64)
    frame = pl.DataFrame({"id": np.arange(n), **{f"x{j}": x[:, j] for j in range(4)}, "target": y})
    return frame[:N_TRAIN], frame[N_TRAIN:].drop("target")


def _spec(pseudo: dict[str, Any] | None, name: str = "pseudo", **extra: Any):
    spec = {
        "name": name,
        "task": "binary",
        "metric": "roc_auc",
        "seed": 0,
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "target"},
        "folds": {"n_splits": N_SPLITS},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "models": [
            {
                "name": "logreg",
                "kind": "sklearn",
                "estimator": "sklearn.linear_model.LogisticRegression",
                "params": {"C": 1.0, "max_iter": 500},
            },
            {
                "name": "lgbm",
                "kind": "lightgbm",
                "params": {"num_leaves": 4, "min_data_in_leaf": 3, "learning_rate": 0.1},
                "num_boost_round": 200,
                "early_stopping_rounds": 20,
            },
        ],
        **extra,
    }
    if pseudo is not None:
        spec["pseudo_label"] = pseudo
    return build_spec(spec)


HARD = {"source": "logreg", "threshold": THRESHOLD, "models": ["lgbm"]}


@pytest.fixture(scope="module")
def hard_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("runs")
    train, test = _frames()
    result = run(_spec(HARD), runs_root=root, train=train, test=test, progress=None, record_history=False)
    return root, result, train, test


def _rows(result) -> dict[str, Any]:
    return {m.name: m for m in result.models}


def test_each_fold_validates_on_exactly_its_own_rows_and_trains_on_confident_test_rows(hard_run) -> None:
    _, result, train, test = hard_run
    store = RunStore(result.run_dir)
    folds = store.load_folds(N_SPLITS, "complement")
    assert folds is not None
    keys = store.current_models()
    assert "lgbm@pl1" in keys  # listed in run.json: blends and reports see it
    ctx = FitContext("binary", 2, get_metric("roc_auc"), 0, "cpu", 1)
    spec = _spec(HARD).model("lgbm").model_copy(update={"name": "lgbm@pl1"})
    adapter = make_adapter(spec)
    encoder = TableEncoder(("x0", "x1", "x2", "x3"), ())
    for r, k in folds.tasks():
        train_idx, valid_idx = folds.train_valid(r, k)
        res = store.finished("lgbm@pl1", keys["lgbm@pl1"], r, k)
        assert res is not None
        assert (res.n_train, res.n_valid) == (len(train_idx), len(valid_idx))
        # the labels: the test rows the source's model *of this fold* (which never saw its held-out rows) is sure of
        given = read_pseudo_rows(pseudo_path(store.model_dir("lgbm@pl1", keys["lgbm@pl1"]), r, k))
        source = store.read_fold_array(store.finished("logreg", keys["logreg"], r, k), "test.npy")  # type: ignore[arg-type]
        confident = np.flatnonzero(source.max(axis=1) >= THRESHOLD)
        np.testing.assert_array_equal(given.rows, confident)
        np.testing.assert_allclose(given.targets, source[confident], atol=1e-6)
        assert res.n_pseudo == len(confident) > 100 and not given.soft
        # the fold's validation predictions are its model's predictions of exactly its held-out training rows
        folder = store.fold_dir("lgbm@pl1", keys["lgbm@pl1"], r, k)
        fitted = adapter.load(folder / adapter.file_name, ctx)
        state = json.loads((folder / "features.json").read_text())
        valid_pred = store.read_fold_array(res, "valid.npy")
        assert valid_pred.shape == (len(valid_idx), 2)
        expected = adapter.predict(fitted, encoder.transform(train[valid_idx], state), ctx)
        np.testing.assert_allclose(valid_pred, expected, atol=1e-6)
        # and its test predictions are of every test row (the pseudo rows are not taken out of the test set)
        assert store.read_fold_array(res, "test.npy").shape == (test.height, 2)


def test_oof_of_a_pseudo_labelled_model_covers_exactly_the_training_rows(hard_run) -> None:
    _, result, train, _ = hard_run
    store = RunStore(result.run_dir)
    folds = store.load_folds(N_SPLITS, "complement")
    assert folds is not None
    oof = store.read_predictions("lgbm@pl1", "oof")
    assert oof["id"].to_list() == train["id"].to_list()
    values = oof.drop("id").to_numpy()
    assert values.shape == (N_TRAIN, 2) and np.isfinite(values).all()
    key = store.current_models()["lgbm@pl1"]
    seen = np.zeros(N_TRAIN, dtype=int)
    for r, k in folds.tasks():
        _, valid_idx = folds.train_valid(r, k)
        res = store.finished("lgbm@pl1", key, r, k)
        np.testing.assert_array_equal(values[valid_idx], store.read_fold_array(res, "valid.npy"))  # type: ignore[arg-type]
        seen[valid_idx] += 1
    assert (seen == 1).all()


def test_pseudo_labels_help_the_model_on_few_labelled_rows(hard_run) -> None:
    _, result, _, _ = hard_run
    rows = _rows(result)
    assert rows["lgbm@pl1"].status == "ok"
    assert rows["lgbm@pl1"].cv > rows["lgbm"].cv + 0.01  # the same model, without pseudo labels (+0.022)
    line = next(n for n in result.notes if n.startswith("pseudo-labelling: lgbm@pl1"))
    assert "vs lgbm" in line and "helped" in line and "did not help" not in line
    assert "lgbm@pl1" in result.leaderboard()
    record = json.loads((result.run_dir / "pseudo.json").read_text())["pseudo_label"][0]
    assert record["cv"] == rows["lgbm@pl1"].cv and record["base_cv"] == rows["lgbm"].cv

    from kaggle_kit.report import collect_report

    report = collect_report(result.run_dir, adversarial=False)
    assert line in report.notes  # `kaggle-kit report` says whether it helped
    assert any(e.name == "lgbm@pl1" for e in report.entries)


def test_a_rerun_refits_nothing(hard_run) -> None:
    root, first, train, test = hard_run
    again = run(_spec(HARD), runs_root=root, train=train, test=test, progress=None, record_history=False)
    assert again.fitted == 0
    assert _rows(again)["lgbm@pl1"].cv == _rows(first)["lgbm@pl1"].cv


def test_soft_labels_and_two_rounds(tmp_path: Path) -> None:
    train, test = _frames()
    pseudo = {**HARD, "soft": True, "rounds": 2}
    result = run(_spec(pseudo, "soft"), runs_root=tmp_path, train=train, test=test, progress=None)
    rows = _rows(result)
    assert rows["lgbm@pl1"].cv > rows["lgbm"].cv + 0.02  # soft labels: +0.047
    assert rows["lgbm@pl2"].status == "ok"
    store = RunStore(result.run_dir)
    keys = store.current_models()
    # round 2 labels with round 1's model of the same fold
    pl1 = store.finished("lgbm@pl1", keys["lgbm@pl1"], 0, 1)
    given = read_pseudo_rows(pseudo_path(store.model_dir("lgbm@pl2", keys["lgbm@pl2"]), 0, 1))
    source = store.read_fold_array(pl1, "test.npy")  # type: ignore[arg-type]
    np.testing.assert_array_equal(given.rows, np.flatnonzero(source.max(axis=1) >= THRESHOLD))
    assert given.soft


def test_soft_rows_are_one_per_class_weighted_by_probability() -> None:
    from kaggle_kit.features import FeatureMatrix

    X = FeatureMatrix(np.zeros((2, 1), dtype=np.float32), ("a",), ())
    pseudo_x = FeatureMatrix(np.array([[5.0], [7.0]], dtype=np.float32), ("a",), ())
    targets = np.array([[0.1, 0.9], [1.0, 0.0]], dtype=np.float32)
    y = np.array([0, 1])
    Xs, ys, w = PseudoRows(np.array([3, 8]), targets, soft=True).augment(X, y, pseudo_x)
    assert Xs.X[:, 0].tolist() == [0, 0, 5, 5, 7] and ys.tolist() == [0, 1, 0, 1, 0]
    np.testing.assert_allclose(w, [1, 1, 0.1, 0.9, 1.0])
    Xh, yh, wh = PseudoRows(np.array([3, 8]), targets, soft=False).augment(X, y, pseudo_x)
    assert Xh.X[:, 0].tolist() == [0, 0, 5, 7] and yh.tolist() == [0, 1, 1, 0] and wh is None


def test_a_stored_blend_can_be_the_source(tmp_path: Path) -> None:
    from kaggle_kit.blend import fit_blend

    train, test = _frames()
    first = run(_spec(None, "via-blend"), runs_root=tmp_path, train=train, test=test, progress=None)
    fit_blend(first.run_dir, "mean", models=["logreg"], name="lr_mean")
    pseudo = {"source": "lr_mean", "threshold": THRESHOLD}  # models: the blend's (logreg)
    second = run(_spec(pseudo, "via-blend"), runs_root=tmp_path, train=train, test=test, progress=None)
    assert second.fitted == N_SPLITS  # only the pseudo-labelled model's folds
    store = RunStore(second.run_dir)
    keys = store.current_models()
    for r, k in store.load_folds(N_SPLITS, "complement").tasks():  # type: ignore[union-attr]
        source = store.read_fold_array(store.finished("logreg", keys["logreg"], r, k), "test.npy")  # type: ignore[arg-type]
        given = read_pseudo_rows(pseudo_path(store.model_dir("logreg@pl1", keys["logreg@pl1"]), r, k))
        np.testing.assert_array_equal(given.rows, np.flatnonzero(source.max(axis=1) >= THRESHOLD))
    # the spec now fits another logreg than the one blended: the blend is stale, and the run says to blend again
    edited = _spec(pseudo, "via-blend").model_dump(mode="json", exclude={"base_dir"})
    edited["models"][0]["params"]["C"] = 0.5
    with pytest.raises(ConfigError, match=r"'lr_mean' was blended from other versions of 'logreg'.*blend again"):
        run(build_spec(edited), runs_root=tmp_path, train=train, test=test, progress=None)


@pytest.mark.parametrize(
    ("pseudo", "match"),
    [
        ({"source": "lgmb"}, r"pseudo_label.source = 'lgmb' is neither a model.*Did you mean 'lgbm'"),
        ({"source": "lgbm", "threshold": 1.5}, r"pseudo_label.threshold: must be a probability between 0 and 1"),
        ({"source": "lgbm", "threshold": 0}, r"pseudo_label.threshold: must be a probability"),
        ({"source": "lgbm", "models": ["xgb"]}, r"pseudo_label.models names 'xgb', which is not a model"),
        ({"source": "lgbm", "rounds": 0}, r"pseudo_label.rounds"),
        ({"source": "lgbm", "treshold": 0.9}, r"unknown key 'pseudo_label.treshold'.*Did you mean 'threshold'"),
        ({"source": "logreg", "soft": True}, r"pseudo_label.soft = true .* model 'logreg' \(kind 'sklearn'\)"),
    ],
)
def test_bad_pseudo_label_keys_are_errors_naming_the_key(tmp_path: Path, pseudo: dict, match: str) -> None:
    train, test = _frames()
    with pytest.raises(ConfigError, match=match):
        run(_spec(pseudo, "bad"), runs_root=tmp_path, train=train, test=test, progress=None)
    assert not (tmp_path / "bad" / "models").exists()  # refused before anything was fitted


def test_a_model_reading_embeddings_is_not_pseudo_labelled() -> None:
    spec = _spec(None).model_dump(mode="json", exclude={"base_dir"})
    spec["models"] += [
        {"name": "cnn", "kind": "cnn", "params": {"image_shape": [4, 4, 1]}},
        {"name": "lgbm_emb", "kind": "lightgbm", "embeddings": "cnn"},
    ]
    spec["pseudo_label"] = {"source": "lgbm", "models": ["lgbm", "lgbm_emb"]}
    with pytest.raises(ConfigError, match=r"refit model 'lgbm_emb', which reads the out-of-fold embeddings of 'cnn'"):
        build_spec(spec)
    spec["pseudo_label"]["models"] = ["lgbm"]
    assert build_spec(spec).pseudo_label is not None  # the reader left out: accepted


@pytest.mark.parametrize(
    ("task", "metric", "extra", "match"),
    [
        ("regression", "rmse", {}, "pseudo_label needs class probabilities .* a regression task has none"),
        (
            "distribution",
            "crps",
            {"distribution": {"bins": [0.0, 1.0, 2.0]}},
            "pseudo_label needs class probabilities .* a distribution task has none",
        ),
        ("multilabel", "mean_log_loss", {}, "one target column .* a multilabel task has 2 target columns"),
        ("multiregression", "mean_rmse", {}, "one target column .* a multiregression task has 2 target columns"),
    ],
)
def test_pseudo_label_needs_one_targets_classes(task: str, metric: str, extra: dict, match: str) -> None:
    spec = _spec(None).model_dump(mode="json", exclude={"base_dir"})
    spec.update(task=task, metric=metric, pseudo_label={"source": "lgbm"}, **extra)
    if task.startswith("multi"):
        spec["data"]["target"] = ["a", "b"]
        spec["folds"]["strategy"] = "kfold"
    with pytest.raises(ConfigError, match=match):
        build_spec(spec)
    del spec["pseudo_label"]
    assert build_spec(spec).task == task  # the same spec without [pseudo_label] is valid: the table alone is refused


def test_predict_reloads_a_pseudo_labelled_model_and_refit_skips_it(hard_run) -> None:
    from kaggle_kit.predict import predict, refit

    _, result, train, test = hard_run
    again = predict(result.run_dir, test, model="lgbm@pl1")
    stored = RunStore(result.run_dir).read_predictions("lgbm@pl1", "test")
    np.testing.assert_allclose(again.drop("id").to_numpy(), stored.drop("id").to_numpy(), atol=1e-6)
    lines: list[str] = []
    refit(result.run_dir, None, train=train, progress=lines.append)
    assert any("refit skips 'lgbm@pl1'" in line for line in lines)
    with pytest.raises(ConfigError, match="'lgbm@pl1' is pseudo-labelled"):
        refit(result.run_dir, ["lgbm@pl1"], train=train, progress=None)


def test_nets_train_on_soft_targets(tmp_path: Path) -> None:
    import torch

    from kaggle_kit.features import FeatureMatrix
    from kaggle_kit.models.nn.task import TaskHead

    # the pseudo rows keep their probabilities as the targets, the training rows their one-hot labels
    X = FeatureMatrix(np.zeros((2, 1), dtype=np.float32), ("a",), ())
    pseudo_x = FeatureMatrix(np.ones((1, 1), dtype=np.float32), ("a",), ())
    rows = PseudoRows(np.array([4]), np.array([[0.2, 0.8]], dtype=np.float32), soft=True)
    Xs, Y, w = rows.augment(X, np.array([1, 0]), pseudo_x, soft_targets=True)
    np.testing.assert_allclose(Y, [[0, 1], [1, 0], [0.2, 0.8]])
    assert Xs.X.shape == (3, 1) and w is None
    head = TaskHead("binary", 2)
    target = torch.from_numpy(head.target_array(Y, {}))
    logits = torch.tensor([[0.3, -0.1], [1.0, 2.0], [0.5, 0.4]])
    expected = -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    assert torch.allclose(head.loss_fn()(logits, target), expected)  # cross-entropy against the soft targets

    # end to end: an MLP refitted with soft pseudo labels
    train, test = _frames()
    base = _spec(None, "soft-net").model_dump(mode="json", exclude={"base_dir"})
    mlp = {"name": "mlp", "kind": "mlp", "params": {"epochs": 4, "batch_size": 128, "hidden": [16]}}
    pseudo = {"source": "logreg", "threshold": THRESHOLD, "soft": True, "models": ["mlp"]}
    spec = build_spec({**base, "models": [base["models"][0], mlp], "pseudo_label": pseudo})
    result = run(spec, runs_root=tmp_path, train=train, test=test, progress=None)
    rows_ = _rows(result)
    assert rows_["mlp@pl1"].status == "ok", rows_["mlp@pl1"].error
    store = RunStore(result.run_dir)
    res = store.finished("mlp@pl1", store.current_models()["mlp@pl1"], 0, 0)
    assert res is not None and res.n_pseudo > 100
