"""A backbone's ``pretrained`` file: a relative path means the config file's folder (not the working directory), and
the run store's key hashes the file's bytes, not its path (a changed checkpoint refits, a moved one does not)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import tomli_w
from sklearn.datasets import load_digits

from kaggle_kit.config import ModelSpec, build_spec, load_spec
from kaggle_kit.errors import ConfigError
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter
from kaggle_kit.models.files import resolve_files, weight_files
from kaggle_kit.predict.refit import refit
from kaggle_kit.runtime.runner import model_key, run

torch = pytest.importorskip("torch")

from kaggle_kit.models.nn.families import FAMILIES  # noqa: E402


def _cnn(pretrained: str, name: str = "cnn", **extra) -> dict:
    params = {"image_shape": [8, 8, 1], "backbone": "convnext_atto", "pretrained": pretrained, **extra}
    return {"name": name, "kind": "cnn", "params": params}


def _spec_dict(*models: dict) -> dict:
    return {
        "name": "digits",
        "task": "multiclass",
        "metric": "accuracy",
        "data": {"train": "data/train.csv", "id": "id", "target": "label"},
        "folds": {"n_splits": 2},
        "models": list(models),
    }


def test_file_params_resolve_against_the_base_folder_and_others_stay():
    base = Path("/competitions/digits")
    cnn = ModelSpec(**_cnn("weights/atto.pth"))
    assert weight_files(cnn) == {"pretrained": "weights/atto.pth"}
    assert resolve_files(cnn, base).params["pretrained"] == "/competitions/digits/weights/atto.pth"
    assert resolve_files(cnn, base).params["image_shape"] == [8, 8, 1]
    absolute = ModelSpec(**_cnn("/data/atto.pth"))
    assert resolve_files(absolute, base) is absolute
    hybrid = ModelSpec(name="h", kind="hybrid", params={"image_shape": [8, 8, 1], "image_pretrained": "../w.pth"})
    assert resolve_files(hybrid, base).params["image_pretrained"] == "/competitions/w.pth"
    xgb = ModelSpec(name="x", kind="xgboost", params={"pretrained": "not/a/file/param"})
    assert weight_files(xgb) == {} and resolve_files(xgb, base) is xgb


def test_the_key_hashes_the_files_content_not_its_path(tmp_path):
    one, two = tmp_path / "a" / "w.pth", tmp_path / "b" / "renamed.pth"
    for path in (one, two):
        path.parent.mkdir()
        path.write_bytes(b"the same weights")
    spec = build_spec(_spec_dict(_cnn("a/w.pth")), base_dir=tmp_path)
    key = model_key(spec.models[0], spec, "d", "f")
    moved = build_spec(_spec_dict(_cnn(str(two))), base_dir=tmp_path / "elsewhere")  # absolute: base_dir unused
    assert model_key(moved.models[0], moved, "d", "f") == key
    two.write_bytes(b"other weights")
    assert model_key(moved.models[0], moved, "d", "f") != key
    other_params = build_spec(_spec_dict(_cnn("a/w.pth", drop_path=0.1)), base_dir=tmp_path)
    assert model_key(other_params.models[0], other_params, "d", "f") != key  # the other params still count
    # a missing file: a key all the same (a run fitting only other models records one), and the check fails
    missing = build_spec(_spec_dict(_cnn("a/nope.pth")), base_dir=tmp_path)
    assert model_key(missing.models[0], missing, "d", "f") != key
    with pytest.raises(ConfigError, match=r"model 'cnn': params\.pretrained: file .*a/nope\.pth' does not exist"):
        ctx = FitContext("multiclass", 3, get_metric("accuracy"), seed=0, device="cpu", threads=1)
        make_adapter(resolve_files(missing.models[0], tmp_path)).check(ctx)


def _write_competition(folder: Path) -> None:
    X, y = load_digits(return_X_y=True)
    rows = np.flatnonzero(y < 3)[:72]
    frame = pl.DataFrame({"id": np.arange(len(rows)), **{f"pixel{i}": X[rows, i] for i in range(64)}})
    (folder / "data").mkdir(parents=True)
    frame.with_columns(label=pl.Series(y[rows])).write_csv(folder / "data" / "train.csv")


def _checkpoint(path: Path, seed: int) -> None:
    p = FAMILIES["cnn"].validate("m", {"image_shape": [8, 8, 1], "backbone": "convnext_atto"})
    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(FAMILIES["cnn"].build(p, {"shape": [8, 8, 1]}, 3).state_dict(), path)


def test_a_run_finds_the_checkpoint_beside_its_config_refits_when_it_changes_and_not_when_it_moves(
    tmp_path, monkeypatch
):
    comp = tmp_path / "comp"
    _write_competition(comp)
    _checkpoint(comp / "weights" / "atto.pth", seed=0)
    params = {"epochs": 1, "patience": 0, "batch_size": 36}
    config = comp / "spec.toml"
    config.write_text(tomli_w.dumps(_spec_dict(_cnn("weights/atto.pth", **params))))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working folder must not matter
    runs = tmp_path / "runs"
    first = run(load_spec(config), runs_root=runs, progress=None, record_history=False, n_jobs=1)
    assert {m.name: m.status for m in first.models}["cnn"] == "ok"
    assert first.fitted == 4  # the baseline's and the cnn's 2 folds
    # the same bytes elsewhere, the spec's path changed: every fold is reused
    (comp / "weights" / "atto.pth").rename(comp / "moved.pth")
    config.write_text(tomli_w.dumps(_spec_dict(_cnn("moved.pth", **params))))
    second = run(load_spec(config), runs_root=runs, progress=None, record_history=False, n_jobs=1)
    assert (second.fitted, second.reused) == (0, 4)
    # other weights under the same path: the cnn refits
    _checkpoint(comp / "moved.pth", seed=1)
    third = run(load_spec(config), runs_root=runs, progress=None, record_history=False, n_jobs=1)
    assert (third.fitted, third.reused) == (2, 2)
    # refit on all rows reads the checkpoint from the recorded config folder too
    (refit_result,) = refit(third.run_dir, ["cnn"], progress=None)
    assert refit_result.n_train == 72
