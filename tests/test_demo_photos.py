"""demo-photos run as its config is written, through the command line, on the demo's ``--small`` data: crops of
scikit-image's bundled photos as image files, a checkpoint the demo pretrained itself, a CNN, the fine-tuned
ResNet-18, the hybrid, LightGBM on pixels and on the CNN's out-of-fold embeddings, every blend, a submission, and
`kaggle-kit predict` of the embeddings' reader from the run folder.

Measured on the shared 2-core machine: 61 s at a load of 8, 3.5 min at 10-12, 6.8 min at 17-19 (the ResNet-18
folds the most): marked slow, run in CI.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import COMPETITIONS

from kaggle_kit.cli import main
from kaggle_kit.demo_photos import CHECKPOINT, CROP, PHOTOS, SIZES
from kaggle_kit.leaderboard import leaderboard
from kaggle_kit.runtime.store import RunStore

pytest.importorskip("skimage")
pytest.importorskip("torch")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("photos")
    (root / "competitions").mkdir()
    shutil.copy(COMPETITIONS / "demo-photos.toml", root / "competitions")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed):
        mp.chdir(root)  # the commands as a user types them from the repository root
        assert main(["demo-data", "demo-photos", "--small", "--out", "data"]) == 0
        assert main(["run", "competitions/demo-photos.toml", "--runs-root", "runs"]) == 0
        assert main(["blend", "runs/demo-photos", "--method", "all"]) == 0
        assert main(["submit", "runs/demo-photos", "--best", "--out", "submission.csv"]) == 0
        argv = ["predict", "runs/demo-photos", "--test", "data/demo-photos/test.csv", "--images"]
        argv += ["data/demo-photos/test", "--model", "lgbm_emb_resnet", "--out", "predicted.csv"]
        assert main(argv) == 0
    return root, printed.getvalue()


def test_the_demo_writes_image_files_tables_and_a_checkpoint(photos: tuple[Path, str]) -> None:
    from PIL import Image

    data = photos[0] / "data" / "demo-photos"
    train, test = pl.read_csv(data / "train.csv"), pl.read_csv(data / "test.csv")
    n_train, n_test = SIZES[True]
    assert train.columns == ["id", "left", "top", "brightness", "photo"]
    assert test.columns == ["id", "left", "top", "brightness"]
    assert sorted(train["photo"].unique()) == sorted(PHOTOS) and train.height == n_train * len(PHOTOS)
    assert test.height == n_test * len(PHOTOS) and set(train["id"]).isdisjoint(test["id"])
    with Image.open(data / "train" / f"{train['id'][0]}.png") as image:
        assert image.size == (CROP, CROP) and image.mode == "RGB"
    assert len(list((data / "test").glob("*.png"))) == test.height
    import torch

    state = torch.load(data / CHECKPOINT, weights_only=True)
    assert "layer4.1.bn2.running_var" in state and state["conv1.weight"].shape == (64, 3, 7, 7)


def test_every_model_beats_chance_and_the_blend_is_written(photos: tuple[Path, str]) -> None:
    root, printed = photos
    models = {m.name: m for m in leaderboard(root / "runs" / "demo-photos")}
    assert {m.name: m.status for m in models.values()} == dict.fromkeys(models, "ok")
    assert set(models) == {"baseline", "cnn", "resnet18", "hybrid", "lgbm_pixels", "lgbm_emb_resnet", "lgbm_emb_cnn"}
    for name, m in models.items():
        if name != "baseline":
            assert m.cv > models["baseline"].cv + 0.15, (name, m.cv)
    assert "embeddings of model 'cnn' built" in printed and "embeddings of model 'resnet18' built" in printed
    assert "Blend leaderboard" in printed
    sub = pl.read_csv(root / "submission.csv")
    solution = pl.read_csv(root / "data" / "demo-photos" / "solution.csv")
    assert sub["id"].to_list() == solution["id"].to_list()
    assert np.mean(sub["photo"].to_numpy() == solution["photo"].to_numpy()) > 2 / len(PHOTOS)


def test_the_resnet_starts_from_the_demos_checkpoint(photos: tuple[Path, str]) -> None:
    import json

    root = photos[0]
    (config,) = (root / "runs" / "demo-photos").glob("models/resnet18/*/folds/r0_f0/model.json")
    params = json.loads(config.read_text())["params"]
    # the config's relative path, resolved against the config's folder (competitions/../data/...)
    assert Path(params["pretrained"]).resolve() == (root / "data" / "demo-photos" / CHECKPOINT).resolve()


def test_predict_of_the_embeddings_reader_reproduces_its_test_predictions(photos: tuple[Path, str]) -> None:
    root = photos[0]
    stored = RunStore(root / "runs" / "demo-photos").read_predictions("lgbm_emb_resnet", "test")
    predicted = pl.read_csv(root / "predicted.csv")  # a submission: each row's most probable photo
    assert predicted["id"].to_list() == stored["id"].to_list()
    classes = np.array([c.removeprefix("p_") for c in stored.columns[1:]])
    assert (predicted["photo"].to_numpy() == classes[stored.drop("id").to_numpy().argmax(axis=1)]).all()
