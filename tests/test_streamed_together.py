"""Streamed images and streamed sequences in one run: each net reads its own source (the cnn the image files, the
cnn1d the sequence store) exactly as in a run with that source alone, and ``predict`` hands both to the nets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_digits

import kaggle_kit
from kaggle_kit.config import build_spec
from kaggle_kit.errors import ConfigError
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.runtime.store import RunStore

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

N_TRAIN, N_TEST, SIDE = 60, 12, 16
NET = {"epochs": 2, "patience": 0, "batch_size": 16, "lr": 3e-3}
CNN = {"name": "cnn", "kind": "cnn", "params": {**NET, "image_shape": [SIDE, SIDE, 1], "channels": [4]}}
CNN1D = {"name": "cnn1d", "kind": "cnn1d", "params": {**NET, "channels": [4, 4], "augment_shift": 1}}
LGBM = {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 5, "params": {"min_data_in_leaf": 5}}


@pytest.fixture(scope="module")
def comp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """images/<id>.png (digits, 16 x 16 grey), train.csv (id, ink, label), test.csv (id, ink) and long tables
    X_train.csv / X_test.csv (id, step, a, b) of 3-9 steps per id."""
    root = tmp_path_factory.mktemp("together")
    (root / "images").mkdir()
    digits = load_digits()
    n = N_TRAIN + N_TEST
    for i in range(n):
        grey = (np.kron(digits.images[i], np.ones((2, 2))) * 255 / 16).round().astype(np.uint8)
        Image.fromarray(grey, mode="L").save(root / "images" / f"{1000 + i}.png")
    ids = np.arange(1000, 1000 + n)
    ink = digits.images[:n].mean(axis=(1, 2))
    y = (digits.target[:N_TRAIN] >= 5).astype(np.int64)
    pl.DataFrame({"id": ids[:N_TRAIN], "ink": ink[:N_TRAIN], "label": y}).write_csv(root / "train.csv")
    pl.DataFrame({"id": ids[N_TRAIN:], "ink": ink[N_TRAIN:]}).write_csv(root / "test.csv")
    rng = np.random.default_rng(0)
    rows = [(int(i), t, float(digits.images[k, t % 8].mean()), float(rng.normal())) for k, i in enumerate(ids)
            for t in range(int(rng.integers(3, 10)))]  # fmt: skip
    long = pl.DataFrame(rows, schema=["id", "step", "a", "b"], orient="row")
    long.filter(pl.col("id") < 1000 + N_TRAIN).write_csv(root / "X_train.csv")
    long.filter(pl.col("id") >= 1000 + N_TRAIN).write_csv(root / "X_test.csv")
    return root


def _raw(name: str, models: list[dict[str, Any]], *, images: bool, sequences: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"train": "train.csv", "test": "test.csv", "id": "id", "target": "label"}
    if images:
        data["images"] = {"folder": "images", "channels": 1, "mode": "stream"}
    if sequences:
        data["sequences"] = {"train": "X_train.csv", "test": "X_test.csv", "order_by": "step", "layout": "streamed"}
    return {
        "name": name,
        "task": "binary",
        "metric": "log_loss",
        "seed": 0,
        "data": data,
        "folds": {"n_splits": 2},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "models": models,
    }


def _run(comp: Path, runs: Path, raw: dict[str, Any]) -> RunStore:
    kaggle_kit.run(build_spec(raw, base_dir=comp), runs_root=runs, progress=None, record_history=False)
    return RunStore(runs / raw["name"])


def _values(store: RunStore, model: str, which: str) -> np.ndarray:
    return store.read_predictions(model, which).drop("id").to_numpy()


def test_each_net_reads_its_own_stream_as_alone_and_predict_hands_both(comp: Path, tmp_path: Path) -> None:
    both = _run(comp, tmp_path, _raw("both", [CNN, CNN1D, LGBM], images=True, sequences=True))
    images = _run(comp, tmp_path, _raw("images", [CNN], images=True, sequences=False))
    sequences = _run(comp, tmp_path, _raw("sequences", [CNN1D], images=False, sequences=True))
    for name, alone in (("cnn", images), ("cnn1d", sequences)):
        for which in ("oof", "test"):
            np.testing.assert_array_equal(_values(both, name, which), _values(alone, name, which))
        assert _values(both, name, "oof").std() > 1e-4  # each net's predictions vary with its rows' own inputs
    # the trees read neither stream: the table's ink and the sequences' aggregates only
    assert (both.root / "sequences" / "values.npy").is_file()
    for name in ("cnn", "cnn1d", "lgbm"):
        got = kaggle_kit.predict(both.root, comp / "test.csv", sequences=comp / "X_test.csv", model=name)
        np.testing.assert_allclose(got.drop("id").to_numpy(), _values(both, name, "test"), atol=1e-6)


def test_sequence_nets_are_not_refused_as_models_without_columns_in_a_streamed_image_run(comp: Path) -> None:
    """Streamed images leave a non-cnn model only the table's other columns; the sequence nets read the store."""
    raw = _raw("x", [CNN, CNN1D], images=True, sequences=True)
    raw["data"]["drop"] = ["ink"]
    raw["data"]["sequences"]["aggregates"] = []
    load_competition(build_spec(raw, base_dir=comp))  # cnn1d reads __sequence from the store: accepted
    raw["models"] = [CNN, LGBM]
    with pytest.raises(ConfigError, match=r"model 'lgbm': streamed images are read by kind 'cnn' only"):
        load_competition(build_spec(raw, base_dir=comp))
