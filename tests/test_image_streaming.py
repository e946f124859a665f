"""``[data.images]`` stream mode: the same OOF as pixel columns, the cache decoded once, errors naming the file, the
models' columns, ``predict`` from a streamed run, the ``auto`` threshold and the exact per-channel statistics."""

from __future__ import annotations

import json
import shutil
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_digits

import kaggle_kit
from kaggle_kit.config import build_spec
from kaggle_kit.errors import ConfigError, DataError
from kaggle_kit.readers import image_stream
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.readers.image_stream import IMAGE_REF, STREAM_ABOVE, decode_count, use_stream
from kaggle_kit.runtime.store import RunStore

pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

N_TRAIN, N_TEST, SIDE = 150, 30, 16
CNN = {
    "image_shape": [SIDE, SIDE, 1],
    "columns": "pixel\\d+",
    "channels": [8],
    "epochs": 3,
    "patience": 0,
    "batch_size": 16,
    "lr": 3e-3,
    "augment_shift": 1,
    "augment_hflip": True,
    "tta": True,
}
LGBM = {
    "name": "lgbm",
    "kind": "lightgbm",
    "num_boost_round": 10,
    "params": {"learning_rate": 0.3, "num_leaves": 4, "min_data_in_leaf": 5},
}


@pytest.fixture(scope="module")
def comp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """images/<id>.png (sklearn's digits upscaled to 16 x 16, grey), train.csv (id, ink, label), test.csv (id, ink)."""
    root = tmp_path_factory.mktemp("streamcomp")
    (root / "images").mkdir()
    digits = load_digits()
    for i in range(N_TRAIN + N_TEST):
        grey = (np.kron(digits.images[i], np.ones((2, 2))) * 255 / 16).round().astype(np.uint8)
        Image.fromarray(grey, mode="L").save(root / "images" / f"{1000 + i}.png")
    ids = np.arange(1000, 1000 + N_TRAIN + N_TEST)
    ink = digits.images[: N_TRAIN + N_TEST].mean(axis=(1, 2))
    y = digits.target[:N_TRAIN]
    pl.DataFrame({"id": ids[:N_TRAIN], "ink": ink[:N_TRAIN], "label": y}).write_csv(root / "train.csv")
    pl.DataFrame({"id": ids[N_TRAIN:], "ink": ink[N_TRAIN:]}).write_csv(root / "test.csv")
    return root


def _raw(name: str, images: dict[str, object], models: list[dict[str, object]] | None = None) -> dict:
    return {
        "name": name,
        "task": "multiclass",
        "metric": "accuracy",
        "seed": 0,
        "data": {
            "train": "train.csv",
            "test": "test.csv",
            "id": "id",
            "target": "label",
            "images": {"folder": "images", "channels": 1, **images},
        },
        "folds": {"n_splits": 3},
        "run": {"n_jobs": 1, "threads_per_task": 1},  # torch: the same threads in every run, whatever the load
        "models": models or [{"name": "cnn", "kind": "cnn", "params": CNN}, LGBM],
    }


def _run(root: Path, runs: Path, name: str, images: dict[str, object], models=None, jobs: int = 1) -> RunStore:
    raw = _raw(name, images, models)
    raw["run"]["n_jobs"] = jobs
    spec = build_spec(raw, base_dir=root)
    kaggle_kit.run(spec, runs_root=runs, progress=None, record_history=False)
    return RunStore(runs / name)


def _values(store: RunStore, model: str, which: str) -> np.ndarray:
    return store.read_predictions(model, which).drop("id").to_numpy()


@pytest.fixture(scope="module")
def runs(comp: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunStore]:
    """The same cnn (augmented, TTA) and lgbm as pixel columns, streamed from the files by 2 DataLoader worker
    processes, streamed from the files in 2 pool workers (daemons: each decodes its batches with threads), and
    streamed through the cache (with a second cnn: the cache is decoded once for both)."""
    root = tmp_path_factory.mktemp("streamruns")
    out = {
        "memory": _run(comp, root, "memory", {"mode": "memory"}),
        "files": _run(comp, root, "files", {"mode": "stream", "cache": False, "workers": 2}),
        "pool": _run(comp, root, "pool", {"mode": "stream", "cache": False}, jobs=2),
    }
    before = decode_count()
    second = {"name": "cnn2", "kind": "cnn", "params": {**CNN, "channels": [4], "augment_hflip": False}}
    models = [{"name": "cnn", "kind": "cnn", "params": CNN}, second]
    out["cache"] = _run(comp, root, "cache", {"mode": "stream"}, models)
    out["cache_decodes"] = decode_count() - before  # type: ignore[assignment]
    return out


@pytest.mark.slow  # the runs fixture: 4 runs of 3 folds (~30 s)
def test_streamed_and_pixel_column_runs_give_identical_predictions(runs) -> None:
    memory = _values(runs["memory"], "cnn", "oof")
    # the outputs depend on each image (identical constant outputs would match trivially)
    assert np.isfinite(memory).all() and len(np.unique(memory, axis=0)) == N_TRAIN
    assert memory.std(axis=0).min() > 1e-3
    for mode in ("files", "pool", "cache"):
        np.testing.assert_array_equal(_values(runs[mode], "cnn", "oof"), memory)
        np.testing.assert_array_equal(_values(runs[mode], "cnn", "test"), _values(runs["memory"], "cnn", "test"))
        ids = runs[mode].read_predictions("cnn", "oof")["id"]
        assert ids.equals(runs["memory"].read_predictions("cnn", "oof")["id"])
    meta = json.loads((runs["files"].root / "run.json").read_text())
    assert meta["image_mode"] == "stream" and meta["image_shape"] == [SIDE, SIDE, 1]
    assert json.loads((runs["memory"].root / "run.json").read_text())["image_mode"] == "memory"


@pytest.mark.slow  # the runs fixture: 4 runs of 3 folds (~30 s)
def test_the_cache_is_decoded_once_for_every_fold_and_model(runs, comp: Path, tmp_path: Path) -> None:
    store = runs["cache"]
    assert runs["cache_decodes"] == N_TRAIN + N_TEST  # 2 cnns x 3 folds read it; nothing decoded twice
    (cache,) = (store.root / "image_cache").glob("*.npy")
    pixels = np.load(cache, allow_pickle=False)
    assert pixels.shape == (N_TRAIN + N_TEST, SIDE, SIDE, 1) and pixels.dtype == np.uint8
    with Image.open(comp / "images" / f"{1000 + N_TRAIN + 3}.png") as img:  # train rows first, then test rows
        np.testing.assert_array_equal(pixels[N_TRAIN + 3, :, :, 0], np.asarray(img))
    assert np.isfinite(_values(store, "cnn2", "oof")).all()
    assert not list((store.root / "image_cache").glob(".*.tmp"))  # written under a temporary name, renamed


@pytest.mark.slow  # the runs fixture: 4 runs of 3 folds (~30 s)
def test_trees_in_a_streamed_run_read_the_other_columns_only(runs) -> None:
    (tree,) = runs["files"].root.glob("models/lgbm/*/folds/r0_f0/model.txt")
    names = next(line for line in tree.read_text().splitlines() if line.startswith("feature_names="))
    assert names.split("=")[1].split() == ["ink"]
    (net,) = runs["files"].root.glob("models/cnn/*/folds/r0_f0/model.json")
    config = json.loads(net.read_text())
    assert config["columns"] == [IMAGE_REF] and config["inputs"]["streamed"] is True


@pytest.mark.slow  # the runs fixture: 4 runs of 3 folds (~30 s)
def test_the_report_shows_the_worst_mistakes_from_the_files(runs, comp: Path) -> None:
    from kaggle_kit.report import collect_report

    report = collect_report(runs["files"].root, adversarial=False)
    assert report.errors is not None and report.error_images is not None
    rows = [m.row for m in report.errors.mistakes]
    assert report.error_images.shape == (len(rows), SIDE, SIDE)
    for k, row in enumerate(rows[:3]):
        with Image.open(comp / "images" / f"{1000 + row}.png") as img:
            np.testing.assert_array_equal(report.error_images[k], np.asarray(img))


@pytest.mark.slow  # the runs fixture: 4 runs of 3 folds (~30 s)
def test_predict_from_a_streamed_run(runs, comp: Path, tmp_path: Path) -> None:
    """`predict` reads the new rows' files (from --images DIR: a moved folder) as the run read its test images."""
    from kaggle_kit.cli import main

    moved = tmp_path / "new_images"
    moved.mkdir()
    for i in range(N_TRAIN, N_TRAIN + N_TEST):
        shutil.copy(comp / "images" / f"{1000 + i}.png", moved)
    for mode in ("files", "cache"):  # no cache for new rows: the fold nets read them from their files
        store = runs[mode]
        got = kaggle_kit.predict(store.root, comp / "test.csv", images=moved, model="cnn")
        np.testing.assert_allclose(got.drop("id").to_numpy(), _values(store, "cnn", "test"), atol=1e-6)
    out = tmp_path / "sub.csv"
    args = ["predict", str(runs["files"].root), "--test", str(comp / "test.csv"), "--images", str(moved)]
    assert main([*args, "--model", "cnn", "--out", str(out)]) == 0
    assert pl.read_csv(out).height == N_TEST
    from kaggle_kit.predict.refit import refit

    (result,) = refit(runs["files"].root, ["cnn"], progress=None)  # all rows, the train images streamed too
    assert result.n_train == N_TRAIN
    refit_pred = kaggle_kit.predict(runs["files"].root, comp / "test.csv", images=moved, model="cnn", refit=True)
    assert refit_pred.height == N_TEST and np.isfinite(refit_pred.drop("id").to_numpy()).all()
    (moved / f"{1000 + N_TRAIN + 2}.png").unlink()
    with pytest.raises(DataError, match=r"1 of 30 test image files are missing: '.*1152\.png' \(id 1152\)"):
        kaggle_kit.predict(runs["files"].root, comp / "test.csv", images=moved, model="cnn")


def _damaged(comp: Path, tmp_path: Path, *, inside: bool = False) -> Path:
    """A copy of ``comp`` whose ``1007.png`` is no PNG; ``inside``: a PNG whose pixel data is garbage under valid
    checksums (the check of the files before any fold reads checksums only: found by decoding it)."""
    work = tmp_path / "comp"
    shutil.copytree(comp, work)
    path = work / "images" / "1007.png"
    if not inside:
        path.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
        return work
    data = path.read_bytes()
    at = data.index(b"IDAT") - 4
    size = int.from_bytes(data[at : at + 4], "big")
    garbage = bytes((7 + k) % 256 for k in range(size))
    chunk = size.to_bytes(4, "big") + b"IDAT" + garbage + zlib.crc32(b"IDAT" + garbage).to_bytes(4, "big")
    path.write_bytes(data[:at] + chunk + data[at + 12 + size :])
    return work


@pytest.mark.parametrize(
    "images", [{"cache": True}, {"cache": False, "workers": 2}, {"cache": False, "workers": 0}], ids=str
)
def test_a_corrupt_file_is_named(comp: Path, tmp_path: Path, images: dict[str, object]) -> None:
    """Decoded into the cache, by a DataLoader worker process or in the fitting process: the error names the file
    (without the cache, a file whose damage the check before the folds does not see: garbage under valid
    checksums)."""
    work = _damaged(comp, tmp_path, inside=not images["cache"])
    models = [{"name": "cnn", "kind": "cnn", "params": {**CNN, "epochs": 1}}]
    with pytest.raises(DataError, match=r"^image file '.*1007\.png' \(id 1007\) could not be read as an image"):
        _run(work, tmp_path / "runs", "bad", {"mode": "stream", **images}, models)


def test_a_corrupt_file_stops_a_cached_run_before_any_fold_fits(comp: Path, tmp_path: Path) -> None:
    """The cache is decoded before any fold fits: a corrupt file stops the run with its name before the lgbm listed
    first has fitted its folds for nothing. It was found by the cnn's first fold, after every lgbm fold had run (and
    fixing the file changes the data's fingerprint: they were fitted again)."""
    work = _damaged(comp, tmp_path)
    models = [LGBM, {"name": "cnn", "kind": "cnn", "params": {**CNN, "epochs": 1}}]
    with pytest.raises(DataError, match=r"^image file '.*1007\.png' \(id 1007\) could not be read as an image"):
        _run(work, tmp_path / "runs", "early", {"mode": "stream"}, models)
    assert not list((tmp_path / "runs" / "early").rglob("result.json"))  # no fold of the lgbm fitted


def test_a_corrupt_file_stops_a_run_without_the_cache_before_any_fold_fits(comp: Path, tmp_path: Path) -> None:
    """Without the cache, every file is checked readable before any fold fits (a header, a PNG's checksums): the
    corrupt file stops the run before the lgbm listed first fits. It had been found by the cnn's first batch that
    read it, after every lgbm fold (and epochs of the cnn's first fold) had run."""
    work = _damaged(comp, tmp_path)
    models = [LGBM, {"name": "cnn", "kind": "cnn", "params": {**CNN, "epochs": 1}}]
    with pytest.raises(
        DataError,
        match=r"^1 of 180 image files cannot be read, found before any model reads them: image file '.*1007\.png' "
        r"\(id 1007\) could not be read as an image: .*; replace them \(download them again\) or remove their rows",
    ):
        _run(work, tmp_path / "runs", "early", {"mode": "stream", "cache": False, "workers": 0}, models)
    assert not list((tmp_path / "runs" / "early").rglob("result.json"))  # no fold of the lgbm fitted


def test_a_missing_file_is_named_before_anything_trains(comp: Path, tmp_path: Path) -> None:
    work = tmp_path / "comp"
    shutil.copytree(comp, work)
    (work / "images" / "1004.png").unlink()
    with pytest.raises(DataError, match=r"1 of 150 train image files are missing: '.*1004\.png' \(id 1004\)"):
        load_competition(build_spec(_raw("x", {"mode": "stream"}), base_dir=work))


@pytest.mark.parametrize(
    ("models", "drop", "match"),
    [
        (
            [{"name": "h", "kind": "hybrid", "params": {"image_shape": [SIDE, SIDE, 1]}}],
            [],
            r"model 'h': kind 'hybrid' reads pixel columns, but data\.images streams the images .*"
            r"set data\.images\.mode = 'memory'",
        ),
        (
            [{"name": "cnn", "kind": "cnn", "params": CNN}, LGBM],
            ["ink"],
            r"model 'lgbm': streamed images are read by kind 'cnn' only, and the table has no other feature column",
        ),
        (
            [{"name": "cnn", "kind": "cnn", "params": {**CNN, "image_shape": [8, 8, 1]}}],
            [],
            r"params\.image_shape = \[8, 8, 1\] but the images of data\.images are \[16, 16, 1\]",
        ),
        (
            [{"name": "cnn", "kind": "cnn", "params": CNN}, {**LGBM, "embeddings": "cnn"}],
            [],
            r"model 'lgbm': embeddings = 'cnn' are taken from a net's pixel-column input, but data\.images streams "
            r"the images .*remove embeddings or set data\.images\.mode = 'memory'",
        ),
    ],
    ids=["hybrid", "no-other-column", "shape", "embeddings"],
)
def test_models_that_cannot_read_streamed_images_are_refused(comp: Path, models, drop, match: str) -> None:
    raw = _raw("x", {"mode": "stream"}, models)
    raw["data"]["drop"] = drop
    with pytest.raises(ConfigError, match=match):
        load_competition(build_spec(raw, base_dir=comp))


def test_auto_streams_above_the_threshold(comp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert use_stream("auto", 1000, [100, 100, 3]) is False  # 30M values
    assert use_stream("auto", 1100, [100, 100, 3]) is True  # 33M values
    assert use_stream("stream", 1, [1, 1, 1]) is True and use_stream("memory", 10**9, [64, 64, 3]) is False
    assert STREAM_ABOVE == 32_000_000
    spec = build_spec(_raw("x", {}), base_dir=comp)  # mode "auto": 180 images of 16 x 16 are columns
    data = load_competition(spec)
    assert "pixel0" in data.train.columns and data.images is None

    monkeypatch.setattr(image_stream, "STREAM_ABOVE", (N_TRAIN + N_TEST) * SIDE * SIDE - 1)
    data = load_competition(spec)
    assert data.images is not None and len(data.images) == N_TRAIN + N_TEST
    assert not any(c.startswith("pixel") for c in data.train.columns) and data.features == ("ink",)
    assert data.train[IMAGE_REF].to_list() == list(range(N_TRAIN))
    assert data.test is not None and data.test[IMAGE_REF].to_list() == list(range(N_TRAIN, N_TRAIN + N_TEST))
    assert data.features_for(True) == ("ink", IMAGE_REF) and data.features_for(False) == ("ink",)
    assert data.images.paths[N_TRAIN].endswith(f"{1000 + N_TRAIN}.png")
    memory = load_competition(build_spec(_raw("x", {"mode": "memory"}), base_dir=comp))
    assert data.fingerprint() != memory.fingerprint()


def test_image_statistics_are_exact_and_the_same_in_both_modes() -> None:
    from kaggle_kit.features import FeatureMatrix
    from kaggle_kit.models.nn.inputs import ImageInputs, histogram_mean_std, pixel_histogram

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 4, 5, 3), dtype=np.uint8)
    images[..., 2] = 7  # a constant channel: std 1
    mean, std = histogram_mean_std(pixel_histogram(images))
    values = images.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(mean, values.mean(0), rtol=1e-15)
    np.testing.assert_allclose(std[:2], values.std(0)[:2], rtol=1e-13)
    assert std[2] == 1.0 and mean[2] == 7.0
    X = FeatureMatrix(images.reshape(50, -1).astype(np.float32), tuple(f"pixel{k}" for k in range(60)), ())
    state = ImageInputs("cnn", (4, 5, 3)).fit(X)
    assert state["mean"] == mean and state["std"] == std  # pixel columns: the streamed path's exact numbers
    halves = pixel_histogram(images[:20]) + pixel_histogram(images[20:])  # summed over batches: the same
    assert histogram_mean_std(halves) == (mean, std)
    X.X[0, 0] = np.nan  # not whole 0..255 values: NaN-aware float statistics as before
    state = ImageInputs("cnn", (4, 5, 3)).fit(X)
    assert abs(state["mean"][0] - np.nanmean(X.X[:, 0::3])) < 1e-6
    assert state["std"][2] == 1.0  # the constant channel: 1, as the histogram's (the float std is 0)


@pytest.mark.parametrize("threads", [1, 2])
def test_stream_batches_are_the_pixel_arrays_batches(comp: Path, threads: int) -> None:
    """Same rows, same order (one randperm of the same generator per pass), same standardised values, the last
    single row dropped: what makes a streamed fit the pixel-column fit."""
    import torch

    from kaggle_kit.features import FeatureMatrix
    from kaggle_kit.models.nn.batches import Batches
    from kaggle_kit.models.nn.device import plan_device
    from kaggle_kit.models.nn.inputs import ImageInputs
    from kaggle_kit.models.nn.streaming import stream_batches

    stream = load_competition(build_spec(_raw("x", {"mode": "stream"}), base_dir=comp)).images
    assert stream is not None
    refs = np.arange(40, 40 + 49)  # 49 rows: 3 batches of 16 and a single row, dropped
    pixels = np.stack([np.asarray(Image.open(stream.paths[i])).reshape(-1) for i in refs]).astype(np.float32)
    X = FeatureMatrix(pixels, tuple(f"pixel{k}" for k in range(SIDE * SIDE)), ())
    inputs = ImageInputs("cnn", (SIDE, SIDE, 1))
    state = inputs.fit(X)
    target = np.arange(len(refs), dtype=np.int64)
    plan = plan_device("cpu")
    expected = Batches(
        [*inputs.arrays(X, state), target], batch_size=16, plan=plan, shuffle=True,
        generator=torch.Generator().manual_seed(3), drop_singleton=True,
    )  # fmt: skip
    got = stream_batches(
        replace(stream, workers=0), refs, state, target, batch_size=16, plan=plan, threads=threads, shuffle=True,
        generator=torch.Generator().manual_seed(3), drop_singleton=True,
    )  # fmt: skip
    assert len(got) == len(expected) == 3
    for _ in range(2):  # two passes: a new order each
        pairs = list(zip(got, expected, strict=True))
        for (x, y), (x0, y0) in pairs:
            assert torch.equal(y, y0) and torch.equal(x, x0)
    assert not torch.equal(pairs[0][1][1], torch.arange(16))  # shuffled


def test_a_cache_larger_than_the_free_disk_is_refused(comp: Path, tmp_path: Path, monkeypatch) -> None:
    import collections

    stream = load_competition(build_spec(_raw("x", {"mode": "stream"}), base_dir=comp)).images
    assert stream is not None
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(image_stream.shutil, "disk_usage", lambda _path: usage(10**6, 10**6 - 1000, 1000))
    with pytest.raises(
        DataError, match=r"needs 0\.0 GiB \(180 images of 16 x 16 x 1 bytes\).*data\.images\.cache = false"
    ):
        stream.cached_in(tmp_path).open_cache()
    assert not list((tmp_path / "image_cache").glob("*.npy"))
    # a cache of other files (or an older decoding) left in the folder is named: deleting it may be the space needed
    np.save(tmp_path / "image_cache" / "0123456789abcdef.npy", np.zeros(10, np.uint8))
    with pytest.raises(
        DataError,
        match=r"free some space \(delete the 1 older cache\(s\) there, 0\.0 GiB, of files since changed or an older "
        r"kaggle_kit's decoding, which this run reads no more: '.*/image_cache/0123456789abcdef\.npy'\) or set data",
    ):
        stream.cached_in(tmp_path).open_cache()


def test_a_cache_decoded_by_an_older_reading_is_not_reused(tmp_path: Path, monkeypatch) -> None:
    """The kit now reads a file's pixels otherwise (EXIF orientation, 16-bit grey scaled): the files are unchanged,
    but a cache (and the stored results keyed by it) decoded the old way must not be read back: a new fingerprint."""
    from kaggle_kit.models.nn import images as decoding
    from kaggle_kit.readers.image_stream import ImageStream

    pixels = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    Image.fromarray(pixels).save(tmp_path / "a.png")

    def stream() -> ImageStream:
        return ImageStream((str(tmp_path / "a.png"),), ("id 0",), (4, 4, 1), False).cached_in(tmp_path / "run")

    monkeypatch.setattr(decoding, "DECODING", decoding.DECODING - 1)
    old = stream()
    old.cache_path.parent.mkdir(parents=True)
    np.save(old.cache_path, np.zeros((1, 4, 4, 1), dtype=np.uint8))  # the older reading's pixels (e.g. on its side)
    monkeypatch.undo()
    new = stream()
    assert new.cache_path != old.cache_path
    np.testing.assert_array_equal(new.open_cache()[0, :, :, 0], pixels)


@pytest.mark.parametrize("others", [0, 1])
def test_presets_give_streamed_images_to_a_cnn_only(others: int) -> None:
    from kaggle_kit.presets import DataProfile, resolve_preset

    train = pl.DataFrame({"ink": [0.5] * 50} if others else {"label": [0] * 50})
    profile = DataProfile.of(train, ["ink"] if others else [], [], "multiclass", 3, streamed_shape=(64, 64, 3))
    assert profile.image_shape == (64, 64, 3) and profile.streamed_images
    resolved = resolve_preset("good", profile)
    kinds = {m.spec["name"]: m.spec["kind"] for m in resolved.models}
    assert kinds["cnn"] == "cnn" and "mlp" not in kinds  # no "MLP on the pixels": there are no pixel columns
    cnn = next(m for m in resolved.models if m.spec["kind"] == "cnn")
    assert cnn.spec["params"]["image_shape"] == [64, 64, 3]
    if others:  # the trees read the other columns
        assert "lgbm" in kinds
    else:  # nothing else to read: only the cnn, the others said left out
        assert list(kinds) == ["cnn"] and any("lgbm: the images are streamed" in w for w in resolved.left_out)


@pytest.mark.parametrize("mode", ["stream", "auto"])
def test_a_streamed_run_checks_its_files_and_decodes_the_first_image_once(
    comp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Loading the data (attach the positions, build the stream) and recording the run's image shape check each
    file once and decode the first training image once (the shape), not again for each step that needs them."""
    import kaggle_kit.models.nn.images as nn_images
    import kaggle_kit.readers.images as readers

    decoded: list[str] = []
    checked: list[int] = []
    read_image, check_present = nn_images.read_image, readers._check_present

    def counted_read(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        decoded.append(str(path))
        return read_image(path, *args, **kwargs)

    def counted_check(paths, *args, **kwargs):  # type: ignore[no-untyped-def]
        checked.append(len(paths))
        return check_present(paths, *args, **kwargs)

    monkeypatch.setattr(nn_images, "read_image", counted_read)
    monkeypatch.setattr(readers, "_check_present", counted_check)
    if mode == "auto":
        monkeypatch.setattr(image_stream, "STREAM_ABOVE", (N_TRAIN + N_TEST) * SIDE * SIDE - 1)
    lgbm = {**LGBM, "num_boost_round": 2}
    store = _run(comp, tmp_path / "runs", "once", {"mode": mode}, [lgbm])  # the trees read `ink`: no image decoded
    assert store.read_predictions("lgbm", "oof").height == N_TRAIN
    assert json.loads(store.meta_path.read_text())["image_shape"] == [SIDE, SIDE, 1]
    assert decoded == [str(comp / "images" / "1000.png")]
    assert checked == [N_TRAIN, N_TEST]


def test_predict_from_a_streamed_run_checks_each_new_file_once(
    comp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`predict` on a streamed run hands the stream its attach step built to the nets: each new test file is checked
    once (not again to build the stream), and the predictions are the run's own test predictions; new files of
    another size are named before any model predicts."""
    import kaggle_kit.readers.images as readers

    cnn = {**CNN, "channels": [4], "epochs": 1}
    store = _run(
        comp,
        tmp_path / "runs",
        "predict_once",
        {"mode": "stream", "cache": False},
        [{"name": "cnn", "kind": "cnn", "params": cnn}],
    )
    checked: list[str] = []
    check_present = readers._check_present

    def counted_check(paths, *args, **kwargs):  # type: ignore[no-untyped-def]
        checked.extend(str(p) for p in paths)
        return check_present(paths, *args, **kwargs)

    monkeypatch.setattr(readers, "_check_present", counted_check)
    got = kaggle_kit.predict(store.root, comp / "test.csv", images=comp / "images", model="cnn", threads=1)
    test_files = sorted(str(comp / "images" / f"{1000 + i}.png") for i in range(N_TRAIN, N_TRAIN + N_TEST))
    assert sorted(checked) == test_files  # each new test file once, no training file
    assert got["id"].to_list() == store.read_predictions("cnn", "test")["id"].to_list()
    np.testing.assert_allclose(got.drop("id").to_numpy(), _values(store, "cnn", "test"), atol=1e-6)
    # new files of another size than the run's (no data.images.size) are named before any model predicts; they
    # had stopped the cnn's first batch, after the models before it had predicted
    other = tmp_path / "other"
    other.mkdir()
    for i in range(N_TRAIN, N_TRAIN + N_TEST):
        Image.new("L", (SIDE, SIDE + 2) if i == N_TRAIN + 3 else (SIDE, SIDE)).save(other / f"{1000 + i}.png")
    with pytest.raises(
        DataError,
        match=r"^1 of 30 image files are not 16 x 16 \(width x height\) as the training images are, found before any "
        r"model reads them: '.*1153\.png' \(id 1153\) is 16 x 18; pass size=",
    ):
        kaggle_kit.predict(store.root, comp / "test.csv", images=other, model="cnn", threads=1)


def test_a_run_without_the_cache_records_its_files_checked(runs) -> None:
    """The run without the cache records the check of its files (resumed, it does not check them again, nor say
    their warnings again), and holds no cache."""
    assert [p.suffix for p in (runs["files"].root / "image_cache").iterdir()] == [".checked"]
