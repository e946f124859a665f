"""Image embeddings for the trees (``embeddings = "<net>"``, :mod:`kaggle_kit.runtime.embeddings`): a net's
out-of-fold penultimate features as another model's columns.

The task: 12 x 12 grey noise with one of three 3 x 3 shapes (plus, x, ring) at a random place. A tree on the raw
pixels cannot learn a shape that moves; the CNN's pooled features name it wherever it is.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import kaggle_kit
from kaggle_kit.blend.inputs import run_folds
from kaggle_kit.config import ModelSpec, build_spec
from kaggle_kit.errors import ConfigError, StoreError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter
from kaggle_kit.models.nn.families import FAMILIES
from kaggle_kit.predict.models import encoder_for
from kaggle_kit.runtime import embeddings, fold_fit, runner
from kaggle_kit.runtime.progress import PlainProgress
from kaggle_kit.runtime.store import RunStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))  # as tests/test_benchmarks.py does
from embedding_leak import SIDE
from embedding_leak import shapes as noisy_shapes

torch = pytest.importorskip("torch")

NET = {"epochs": 12, "patience": 0, "batch_size": 32, "lr": 3e-3, "image_shape": [SIDE, SIDE, 1], "channels": [8, 16]}
TREE = {"num_boost_round": 200, "early_stopping_rounds": 20, "params": {"learning_rate": 0.1, "num_leaves": 7}}
N_TRAIN, N_TEST = 300, 90


def shapes(n: int, seed: int) -> pl.DataFrame:
    """``n`` images with their shape's name as ``label``: the benchmark's task without its label noise."""
    return noisy_shapes(n, 0.0, seed)


def spec_of(root: Path, models: list[dict], **extra: object) -> kaggle_kit.CompetitionSpec:
    return build_spec(
        {
            "name": "shapes",
            "task": "multiclass",
            "metric": "accuracy",
            "seed": 0,
            "data": {"train": "train.csv", "id": "id", "target": "label"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": models,
            **extra,
        },
        base_dir=root,
    )


MODELS = [
    {"name": "cnn", "kind": "cnn", "params": NET},
    {"name": "lgbm_pixels", "kind": "lightgbm", **TREE},
    {"name": "lgbm_emb", "kind": "lightgbm", "embeddings": "cnn", **TREE},
]


class ShapesRun:
    def __init__(self, root: Path) -> None:
        frame = shapes(N_TRAIN + N_TEST, 0)
        self.train, self.test = frame[:N_TRAIN], frame[N_TRAIN:].drop("label")
        self.truth = frame[N_TRAIN:]["label"].to_numpy()
        self.spec = spec_of(root, MODELS)
        self.fits: list[tuple[FeatureMatrix, FeatureMatrix]] = []
        self.shown = io.StringIO()  # what a user sees  # what lgbm_emb was fitted on, fold by fold
        real = fold_fit.make_adapter

        def spy(model: ModelSpec, task: str | None = None):  # records the reader's matrices; fits as usual
            adapter = real(model, task)
            if model.name == "lgbm_emb":
                fit = adapter.fit

                def recording_fit(X_train, y_train, X_valid, y_valid, ctx):  # type: ignore[no-untyped-def]
                    self.fits.append((X_train, X_valid))
                    return fit(X_train, y_train, X_valid, y_valid, ctx)

                adapter.fit = recording_fit  # type: ignore[method-assign]
            return adapter

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fold_fit, "make_adapter", spy)
            result = runner.run(
                self.spec,
                runs_root=root / "runs",
                train=self.train,
                test=self.test,
                progress=PlainProgress(self.shown, metric=get_metric("accuracy")),
                record_history=False,
            )
        assert all(m.status == "ok" for m in result.models), [(m.name, m.error) for m in result.models]
        self.run_dir = result.run_dir
        self.cv = {m.name: m.cv for m in result.models}
        self.store = RunStore(self.run_dir)
        self.folds = run_folds(self.store)  # the fold ids the run saved

    def hidden_accuracy(self, model: str) -> float:
        pred = self.store.read_predictions(model, "test")
        classes = np.array([c.removeprefix("p_") for c in pred.columns[1:]])
        return float(np.mean(classes[pred.drop("id").to_numpy().argmax(axis=1)] == self.truth))

    def net_embeddings(self) -> list[np.ndarray]:
        """Each cnn fold net's embeddings of every training row, computed here without the kit's hook: the
        forward pass up to the head's last layer (stem, blocks, pooling, flatten; dropout is off in eval)."""
        spec = self.spec.model("cnn")
        key = self.store.current_models()["cnn"]
        ctx = FitContext("multiclass", 3, get_metric("accuracy"), 0, "cpu", 1)
        out = []
        for r, k in self.folds.tasks():
            folder = self.store.fold_dir("cnn", key, r, k)
            adapter = make_adapter(spec)
            net = adapter.load(folder / adapter.file_name, ctx).model
            X = encoder_for(json.loads((folder / "features.json").read_text()), adapter)(self.train)
            (x,) = FAMILIES["cnn"].inputs("cnn", net.config["params"]).arrays(X, net.config["inputs"])
            m = net.module.eval()
            with torch.inference_mode():
                out.append(m.head[:-1](m.pool(m.blocks(m.stem(torch.from_numpy(x))))).numpy())
        return out


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory: pytest.TempPathFactory) -> ShapesRun:
    return ShapesRun(tmp_path_factory.mktemp("embeddings"))


def test_a_tree_on_the_cnn_embeddings_beats_a_tree_on_the_raw_pixels(shapes_run: ShapesRun) -> None:
    cv = shapes_run.cv
    assert cv["lgbm_pixels"] < cv["baseline"] + 0.1, cv  # the moving shape is invisible to a tree on pixels
    assert cv["lgbm_emb"] > cv["lgbm_pixels"] + 0.2, cv
    hidden = {m: shapes_run.hidden_accuracy(m) for m in ("lgbm_pixels", "lgbm_emb")}
    assert hidden["lgbm_emb"] > hidden["lgbm_pixels"] + 0.2, hidden


def test_no_embedding_comes_from_a_net_that_saw_its_row(shapes_run: ShapesRun) -> None:
    """The leak test: in every fold of the reader, each training and each validation row's embedding is the one
    made by the net fold model that held that row out, recomputed here; never the in-sample one."""
    nets = shapes_run.net_embeddings()
    folds = shapes_run.folds
    held_out_by = np.empty(N_TRAIN, dtype=np.int64)
    for j, (r, k) in enumerate(folds.tasks()):
        train_idx, valid_idx = folds.train_valid(r, k)
        held_out_by[valid_idx] = j
        assert not np.isin(valid_idx, train_idx).any()
    oof = np.stack([nets[held_out_by[i]][i] for i in range(N_TRAIN)])
    assert len(shapes_run.fits) == folds.n_splits
    for (r, k), (X_train, X_valid) in zip(folds.tasks(), shapes_run.fits, strict=True):
        train_idx, valid_idx = folds.train_valid(r, k)
        emb = [j for j, n in enumerate(X_train.names) if n.startswith("emb_cnn_")]
        assert len(emb) == 16 and not any(n.startswith("pixel") for n in X_train.names)  # pixels replaced
        np.testing.assert_allclose(X_train.X[:, emb], oof[train_idx], atol=1e-4)
        np.testing.assert_allclose(X_valid.X[:, emb], oof[valid_idx], atol=1e-4)
        # the fold's own net (which trained on these rows) embeds them otherwise: the check can tell the two apart
        assert np.abs(X_train.X[:, emb] - nets[k][train_idx]).max() > 1e-2


def test_the_net_fits_first_then_its_embeddings_then_its_reader(shapes_run: ShapesRun) -> None:
    text = shapes_run.shown.getvalue()
    built = text.index("embeddings of model 'cnn' built")
    assert text.index("cnn            CV accuracy") < built < text.index("lgbm_emb       CV accuracy")
    assert "12/12 task(s) done" in text  # the readers' folds add to the count of the first batch


def test_the_report_ranks_the_embeddings_the_reader_split_on(shapes_run: ShapesRun) -> None:
    from kaggle_kit.report.training import feature_importance

    importance = feature_importance(shapes_run.store, "lgbm_emb")
    assert importance is not None and importance.features[0].startswith("emb_cnn_")
    assert len(importance.features) == 16 and sum(importance.share) == pytest.approx(1.0)


def test_the_embeddings_are_stored_as_plain_arrays_with_checksums(shapes_run: ShapesRun) -> None:
    key = shapes_run.store.current_models()["cnn"]
    folder = shapes_run.run_dir / "models" / "cnn" / key / "embeddings"
    index = json.loads((folder / "embeddings.json").read_text())
    assert sorted(index["files"]) == ["oof_r0.npy", "test_r0_f0.npy", "test_r0_f1.npy", "test_r0_f2.npy"]
    assert index["columns"] == [f"emb_cnn_{i}" for i in range(16)]
    assert index["image_columns"] == [f"pixel{k}" for k in range(SIDE * SIDE)]
    oof = np.load(folder / "oof_r0.npy", allow_pickle=False)
    assert oof.shape == (N_TRAIN, 16) and oof.dtype == np.float32 and np.isfinite(oof).all()
    assert np.load(folder / "test_r0_f1.npy", allow_pickle=False).shape == (N_TEST, 16)
    original = (folder / "oof_r0.npy").read_bytes()
    embeddings._read_files.cache_clear()  # the run read these files in this process: read them anew
    try:
        (folder / "oof_r0.npy").write_bytes(original[:-4] + b"\0\0\0\0")
        with pytest.raises(StoreError, match=r"oof_r0.npy does not match the checksum in embeddings.json"):
            embeddings.read(shapes_run.store, "cnn", key, 0, with_test=False)
    finally:
        (folder / "oof_r0.npy").write_bytes(original)


def write_embeddings(store: RunStore, seed: int) -> dict[str, np.ndarray]:
    """A net's embeddings folder as :func:`embeddings.build` writes it (files, then the index with their
    checksums), with random values; what each file holds."""
    from kaggle_kit.runtime.store import atomic_write, npy_bytes, sha256_bytes

    rng = np.random.default_rng(seed)
    arrays = {"oof_r0.npy": rng.normal(size=(6, 3)).astype(np.float32)}
    arrays |= {f"test_r0_f{k}.npy": rng.normal(size=(4, 3)).astype(np.float32) for k in range(2)}
    folder = store.model_dir("cnn", "k1") / "embeddings"
    blobs = {name: npy_bytes(a) for name, a in arrays.items()}
    for name, blob in blobs.items():
        atomic_write(folder / name, blob)
    index = {
        "format": embeddings.FORMAT,
        "source": "cnn",
        "key": "k1",
        "dim": 3,
        "columns": embeddings.column_names("cnn", 3),
        "image_columns": ["pixel0"],
        "files": {name: sha256_bytes(blob) for name, blob in blobs.items()},
    }
    atomic_write(folder / "embeddings.json", json.dumps(index).encode())
    return arrays


def test_a_process_reads_a_nets_embeddings_once_until_they_are_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore(tmp_path)
    arrays = write_embeddings(store, 0)
    loads: list[str] = []
    real = embeddings._load

    def counting_load(folder: Path, name: str, digest: str | None) -> np.ndarray:
        loads.append(name)
        return real(folder, name, digest)

    monkeypatch.setattr(embeddings, "_load", counting_load)
    first = embeddings.read(store, "cnn", "k1", 0, with_test=True)
    second = embeddings.read(store, "cnn", "k1", 0, with_test=True)  # the next fold task of a reader
    assert sorted(loads) == ["oof_r0.npy", "test_r0_f0.npy", "test_r0_f1.npy"]  # each file once
    for got in (first, second):
        np.testing.assert_array_equal(got.oof, arrays["oof_r0.npy"])
        assert [t.tolist() for t in got.tests] == [arrays[f"test_r0_f{k}.npy"].tolist() for k in range(2)]
    for array in (second.oof, *second.tests):  # one copy shared by every reader: nobody may write into it
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 1.0

    rebuilt = write_embeddings(store, 1)  # the net refitted under the same key: new files, new index
    third = embeddings.read(store, "cnn", "k1", 0, with_test=True)
    np.testing.assert_array_equal(third.oof, rebuilt["oof_r0.npy"])
    np.testing.assert_array_equal(third.tests[1], rebuilt["test_r0_f1.npy"])
    assert len(loads) == 6 and not np.array_equal(third.oof, first.oof)


def test_predict_from_the_run_folder_reproduces_the_readers_test_predictions(shapes_run: ShapesRun) -> None:
    """New rows go through each cnn fold net, then each reader fold model once per net, averaged as the run did."""
    got = kaggle_kit.predict(shapes_run.run_dir, shapes_run.test, model="lgbm_emb", threads=1)
    want = shapes_run.store.read_predictions("lgbm_emb", "test")
    np.testing.assert_allclose(got.drop("id").to_numpy(), want.drop("id").to_numpy(), atol=1e-5)
    with pytest.raises(ConfigError, match=r"model 'lgbm_emb' reads the out-of-fold embeddings of 'cnn'.*without"):
        kaggle_kit.predict(shapes_run.run_dir, shapes_run.test, model="lgbm_emb", refit=True, threads=1)


def test_the_readers_key_follows_its_net(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, MODELS)
    other = spec_of(tmp_path, [{**MODELS[0], "params": {**NET, "epochs": 11}}, *MODELS[1:]])
    key = {s: runner.model_key(x.model("lgbm_emb"), x, "d", "f") for s, x in (("a", spec), ("b", other))}
    assert key["a"] != key["b"]  # the net changed: its readers refit
    assert runner.model_key(spec.model("lgbm_pixels"), spec, "d", "f") == runner.model_key(
        other.model("lgbm_pixels"), other, "d", "f"
    )


def test_a_reader_whose_net_is_not_fitted_fails_saying_so(tmp_path: Path) -> None:
    frame = shapes(60, 1)
    spec = spec_of(tmp_path, MODELS)
    result = runner.run(
        spec, runs_root=tmp_path / "runs", train=frame, only=["lgbm_emb"], progress=None, record_history=False
    )
    (reader,) = [m for m in result.models if m.name == "lgbm_emb"]
    assert reader.status == "failed"
    assert "embeddings of model 'cnn' are missing" in (reader.error or "")
    assert "not fitted; run it too" in (reader.error or "")


def test_embeddings_under_a_time_limit_or_on_ray_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model 'lgbm_emb': embeddings are not supported with a time limit"):
        runner.run(
            spec_of(tmp_path, MODELS), runs_root=tmp_path / "runs", train=shapes(60, 1), time_limit=30, progress=None
        )
    with pytest.raises(ConfigError, match=r"model 'lgbm_emb': embeddings are not supported on the Ray executor"):
        runner.run(spec_of(tmp_path, MODELS), runs_root=tmp_path / "ray", train=shapes(60, 1), executor="ray")
    # extra models are fitted in the search's waves: the error named a time limit or a [search], neither of which
    # the run had
    extra = [ModelSpec(name="lgbm2", kind="lightgbm", **TREE)]
    want = r"'lgbm_emb': embeddings are not supported with run\(extra_models=...\) yet.*spec's \[\[models\]\] instead"
    with pytest.raises(ConfigError, match=want):
        runner.run(spec_of(tmp_path, MODELS), runs_root=tmp_path / "x", train=shapes(60, 1), extra_models=extra)


@pytest.mark.parametrize(
    ("embeddings", "kind", "match"),
    [
        ("cnm", "lightgbm", r"embeddings = 'cnm' is not a model of the spec.*Did you mean 'cnn'"),
        ("lgbm_pixels", "lightgbm", r"embeddings = 'lgbm_pixels' is a 'lightgbm'; embeddings come from an image net"),
        ("tree", "lightgbm", r"embeddings = 'tree' names the model itself"),
    ],
)
def test_bad_embeddings_sources_are_config_errors(embeddings: str, kind: str, match: str, tmp_path: Path) -> None:
    models = [*MODELS[:2], {"name": "tree", "kind": kind, "embeddings": embeddings}]
    with pytest.raises(ConfigError, match=match):
        spec_of(tmp_path, models)


def test_a_net_neither_reads_embeddings_nor_gives_them_when_it_reads_some(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model 'cnn2': embeddings = 'cnn': a 'cnn' reads images, not embeddings"):
        spec_of(tmp_path, [*MODELS, {"name": "cnn2", "kind": "cnn", "embeddings": "cnn", "params": NET}])
    chained = [*MODELS, {"name": "lin", "kind": "linear", "embeddings": "lgbm_emb"}]
    with pytest.raises(ConfigError, match=r"model 'lin': embeddings = 'lgbm_emb' is a 'lightgbm'"):
        spec_of(tmp_path, chained)


def test_embed_net_takes_the_input_of_the_output_layer_of_a_resnet_and_a_hybrid() -> None:
    from kaggle_kit.models.nn.embed import embed_net

    rng = np.random.default_rng(0)
    pixels = rng.normal(size=(24, 64)).astype(np.float32)
    y = rng.integers(0, 2, 24)
    ctx = FitContext("binary", 2, get_metric("log_loss"), 0, "cpu", 1)
    common = {"epochs": 1, "patience": 0, "batch_size": 24}
    names = tuple(f"pixel{k}" for k in range(64))
    X = FeatureMatrix(pixels, names, ())
    resnet = make_adapter(
        ModelSpec(
            name="r",
            kind="cnn",
            params={**common, "image_shape": [8, 8, 1], "backbone": "resnet18", "small_input": False},
        )
    )
    net = resnet.fit(X, y, X, y, ctx).model
    (x,) = FAMILIES["cnn"].inputs("r", net.config["params"]).arrays(X, net.config["inputs"])
    with torch.inference_mode():
        want = net.module.eval().features(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(embed_net(net, X), want, atol=1e-5)
    assert want.shape == (24, 512)

    table = np.column_stack([pixels, rng.normal(size=24)]).astype(np.float32)
    Xh = FeatureMatrix(table, (*names, "meta"), ())
    hybrid = make_adapter(
        ModelSpec(
            name="h",
            kind="hybrid",
            params={**common, "image_shape": [8, 8, 1], "image_channels": [8], "head_hidden": [12]},
        )
    )
    net = hybrid.fit(Xh, y, Xh, y, ctx).model
    arrays = FAMILIES["hybrid"].inputs("h", net.config["params"]).arrays(Xh, net.config["inputs"])
    m = net.module.eval()
    with torch.inference_mode():
        t = [torch.from_numpy(a) for a in arrays]
        joined = torch.cat([torch.flatten(m.image(t[0]), 1), m.table(t[1], t[2])], dim=1)
        want = m.head[:-1](joined).numpy()
    np.testing.assert_allclose(embed_net(net, Xh), want, atol=1e-5)
    assert want.shape == (24, 12)


@pytest.mark.parametrize("via", ["blend", "preset"])
def test_pseudo_labelling_a_reader_is_refused_before_anything_is_fitted(
    via: str, shapes_run: ShapesRun, tmp_path: Path
) -> None:
    """The spec's own check sees ``pseudo_label.models`` (or the source) only: a stored blend's models (the default
    when the source is a blend) and a preset's spec went past it, and the reader was refit with pseudo rows that have
    pixel columns where its training rows have embeddings (a numpy shape error, or, where the widths agree, pixels
    read as embeddings)."""
    import shutil

    from kaggle_kit.blend import fit_blend

    runs = tmp_path / "runs"
    shutil.copytree(shapes_run.run_dir.parent, runs)
    if via == "blend":
        fit_blend(runs / shapes_run.run_dir.name, "mean", models=["lgbm_pixels", "lgbm_emb"], name="trees")
        spec = spec_of(tmp_path, MODELS, pseudo_label={"source": "trees"})  # models: the blend's
    else:
        spec = spec_of(tmp_path, MODELS, preset="fast", pseudo_label={"source": "cnn", "models": ["lgbm_emb"]})
    fits: list[str] = []
    real = runner.fit_fold

    def counting_fit(ctx, task, *args):  # type: ignore[no-untyped-def]
        fits.append(task.model.name)
        return real(ctx, task, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "fit_fold", counting_fit)
        with pytest.raises(ConfigError, match=r"pseudo_label would refit model 'lgbm_emb', which reads the out-of"):
            runner.run(spec, runs_root=runs, train=shapes_run.train, test=shapes_run.test, progress=None)
    assert fits == []


def test_a_net_fold_refitted_to_other_weights_makes_its_embeddings_and_readers_again(tmp_path: Path) -> None:
    """A net fold deleted (the kit's advice for a corrupted one) and refitted under the same key to other weights
    (another thread count or device gives other floats; here another seed): the embeddings were reused, made by the
    net before, the readers' folds too, and `predict` (through the nets now) disagreed with the run's predictions."""
    frame = shapes(90, 4)
    train, test = frame[:60], frame[60:].drop("label")
    small = {"num_boost_round": 20, "early_stopping_rounds": 0, "params": {"num_leaves": 3, "min_data_in_leaf": 5}}
    models = [
        {**MODELS[0], "params": {**NET, "epochs": 2}},
        {"name": "lgbm_emb", "kind": "lightgbm", "embeddings": "cnn", **small},
    ]
    spec = spec_of(tmp_path, models)
    runs = tmp_path / "runs"
    first = runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    store = RunStore(first.run_dir)
    key = store.current_models()["cnn"]
    oof_before = np.load(store.model_dir("cnn", key) / "embeddings" / "oof_r0.npy")
    import shutil

    shutil.rmtree(store.fold_dir("cnn", key, 0, 1))
    real_seed = fold_fit.model_seed
    with pytest.MonkeyPatch.context() as mp:  # the refitted fold's net gets other weights
        mp.setattr(fold_fit, "model_seed", lambda m, s: real_seed(m, s) + (m.name == "cnn"))
        second = runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    assert store.current_models()["cnn"] == key and second.fitted == 1 + 3  # the net's fold, the reader's three
    embeddings._read_files.cache_clear()
    oof_after = embeddings.read(store, "cnn", key, 0, with_test=False).oof
    fold1 = run_folds(store).train_valid(0, 1)[1]
    assert np.abs(oof_after[fold1] - oof_before[fold1]).max() > 1e-3  # made again, by the refitted net
    others = np.setdiff1d(np.arange(60), fold1)
    np.testing.assert_array_equal(oof_after[others], oof_before[others])
    got = kaggle_kit.predict(first.run_dir, test, model="lgbm_emb", threads=1)
    want = store.read_predictions("lgbm_emb", "test")
    np.testing.assert_allclose(got.drop("id").to_numpy(), want.drop("id").to_numpy(), atol=1e-5)
    third = runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    assert third.fitted == 0  # nothing stale is left


def _small_reader_run(
    tmp_path: Path, readers: int = 1
) -> tuple[kaggle_kit.CompetitionSpec, pl.DataFrame, pl.DataFrame]:
    """A 2-epoch cnn and ``readers`` small LightGBM readers of it on 60 rows (30 test rows): the spec, train, test."""
    frame = shapes(90, 4)
    small = {"num_boost_round": 20, "early_stopping_rounds": 0, "params": {"num_leaves": 3, "min_data_in_leaf": 5}}
    names = ["lgbm_emb", *(f"lgbm_emb{i}" for i in range(2, readers + 1))]
    models = [{**MODELS[0], "params": {**NET, "epochs": 2}}]
    models += [{"name": n, "kind": "lightgbm", "embeddings": "cnn", **small} for n in names]
    return spec_of(tmp_path, models), frame[:60], frame[60:].drop("label")


def test_a_plain_rerun_fits_nothing_and_hashes_the_net_folds_once_for_all_readers(tmp_path: Path) -> None:
    """Nothing changed: no fold is fitted again (the digest reads each net fold's checksums, not its result.json's
    timings), and the net's fold files, which a large net makes hundreds of MB (five ResNet-50 folds: 1.3-1.8 s a
    pass here), are hashed for the readers' digest once, not once per reader."""
    spec, train, test = _small_reader_run(tmp_path, readers=3)
    runs = tmp_path / "runs"
    runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    fits: list[str] = []
    checks: list[str] = []
    real_fit, real_check = runner.fit_fold, RunStore._fold_problem

    def counting_fit(ctx, task, *args):  # type: ignore[no-untyped-def]
        fits.append(task.model.name)
        return real_fit(ctx, task, *args)

    def counting_check(self: RunStore, folder: Path):  # type: ignore[no-untyped-def]
        checks.append(folder.parent.parent.parent.name)
        return real_check(self, folder)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "fit_fold", counting_fit)
        mp.setattr(RunStore, "_fold_problem", counting_check)
        again = runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    assert fits == [] and again.fitted == 0
    # each of the 3 net folds: its own tasks, the readers' digest (once for the 3), the model's assembly
    assert checks.count("cnn") == 3 * 3


def test_the_nets_digest_is_hashed_once_a_run_until_a_fold_is_written_again(tmp_path: Path) -> None:
    import shutil

    store = RunStore(tmp_path)

    def write(fold: int, weights: bytes) -> None:
        result = runner.FoldResult(
            model="cnn", key="k1", repeat=0, fold=fold, score=0.0, best_iteration=None, n_train=2, n_valid=1,
            fit_seconds=0.0, predict_seconds=0.0, device="cpu", threads=1,
        )  # fmt: skip
        store.write_fold(
            result,
            valid_pred=np.zeros((1, 3)),
            test_pred=None,
            save_model=lambda f: (f / "net.pt").write_bytes(weights),
        )

    write(0, b"a")
    write(1, b"b")
    checked: list[Path] = []
    real = store.check_fold
    store.check_fold = lambda folder: checked.append(folder) or real(folder)  # type: ignore[method-assign]
    memo: dict = {}
    tasks = [(0, 0), (0, 1)]
    first = embeddings.nets_digest(store, "cnn", "k1", tasks, memo)
    assert first is not None and len(checked) == 2
    assert embeddings.nets_digest(store, "cnn", "k1", tasks, memo) == first and len(checked) == 2  # from the memo
    shutil.rmtree(store.fold_dir("cnn", "k1", 0, 1))
    write(1, b"c")  # fold 1 deleted and refitted to other weights in the same run: hashed again, another digest
    second = embeddings.nets_digest(store, "cnn", "k1", tasks, memo)
    assert second not in (None, first) and len(checked) == 4
    assert embeddings.nets_digest(store, "cnn", "k1", tasks) == second  # the same without a memo
    assert embeddings.nets_digest(store, "cnn", "k1", [*tasks, (0, 2)], memo) is None  # a fold not fitted


def test_predict_refuses_a_reader_fitted_through_net_folds_refitted_since(tmp_path: Path) -> None:
    """``--only cnn`` after a net fold was deleted refits it to other weights and leaves the readers: their folds
    were fitted on the old net's embeddings, and `predict` (through the nets now) disagreed with the run's test
    predictions (by 0.15), without a word. It is refused, saying to run again; the run refits the stale folds."""
    import shutil

    spec, train, test = _small_reader_run(tmp_path)
    runs = tmp_path / "runs"
    first = runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    store = RunStore(first.run_dir)
    shutil.rmtree(store.fold_dir("cnn", store.current_models()["cnn"], 0, 1))
    real_seed = fold_fit.model_seed
    with pytest.MonkeyPatch.context() as mp:  # the refitted fold's net gets other weights
        mp.setattr(fold_fit, "model_seed", lambda m, s: real_seed(m, s) + (m.name == "cnn"))
        runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False, only="cnn")
    want = r"'lgbm_emb' repeat 0 fold 1 was fitted on the embeddings of model 'cnn' made by net folds refitted since"
    with pytest.raises(StoreError, match=want + r".*Rerun `kaggle-kit run CONFIG`"):
        kaggle_kit.predict(first.run_dir, test, model="lgbm_emb", threads=1)
    again = runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    assert again.fitted == 3  # the reader's folds, all read through the refitted net fold's embeddings
    got = kaggle_kit.predict(first.run_dir, test, model="lgbm_emb", threads=1)
    want_pred = store.read_predictions("lgbm_emb", "test")
    np.testing.assert_allclose(got.drop("id").to_numpy(), want_pred.drop("id").to_numpy(), atol=1e-5)


def test_a_run_from_before_the_digests_is_kept_until_a_net_fold_is_refitted(tmp_path: Path) -> None:
    """A run whose embeddings.json and reader folds record no digest (written before): rerun, no fold is fitted;
    a net fold deleted and refitted, every fold of the reader is fitted again (none says which net it read)."""
    import shutil

    spec, train, test = _small_reader_run(tmp_path)
    runs = tmp_path / "runs"
    first = runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    store = RunStore(first.run_dir)
    reader_key, key = store.current_models()["lgbm_emb"], store.current_models()["cnn"]
    index = store.model_dir("cnn", key) / "embeddings" / "embeddings.json"
    index.write_text(json.dumps({k: v for k, v in json.loads(index.read_text()).items() if k != "nets"}))
    for k in range(3):  # result.json is not among the checksummed files: the fold still verifies
        path = store.fold_dir("lgbm_emb", reader_key, 0, k) / "result.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "embedded_by": None}))
    assert runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False).fitted == 0
    shutil.rmtree(store.fold_dir("cnn", key, 0, 2))
    again = runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    assert again.fitted == 1 + 3


def test_a_reader_of_a_presets_net_is_checked_with_the_presets_models(tmp_path: Path) -> None:
    """``embeddings = "cnn"`` beside ``preset = "fast"``, which adds a ``cnn`` on images: it was refused before the
    preset's models were known (``embeddings = 'cnn' is not a model of the spec; models: 'lgbm_emb'``); it is checked
    once they are, and a name neither has is refused then, listing the preset's models too."""
    from kaggle_kit.presets import DataProfile, expand_preset

    frame = shapes(60, 1)
    profile = DataProfile.of(frame, [c for c in frame.columns if c.startswith("pixel")], [], "multiclass", 3)
    reader = {"name": "lgbm_emb", "kind": "lightgbm", **TREE}
    expanded, _ = expand_preset(spec_of(tmp_path, [{**reader, "embeddings": "cnn"}], preset="fast"), profile)
    assert expanded.model("lgbm_emb").embeddings == "cnn" and expanded.model("cnn").kind == "cnn"
    want = r"preset 'fast': invalid competition spec:\n  - model 'lgbm_emb': embeddings = 'cnnx' is not a model of the"
    with pytest.raises(ConfigError, match=want + r" spec; models: 'cnn', .*Did you mean 'cnn'"):
        expand_preset(spec_of(tmp_path, [{**reader, "embeddings": "cnnx"}], preset="fast"), profile)
    with pytest.raises(ConfigError, match=r"embeddings = 'cnn' is not a model of the spec; models: 'lgbm_emb'"):
        spec_of(tmp_path, [{**reader, "embeddings": "cnn"}])  # no preset: refused at once


def test_a_readers_folds_fitted_again_through_a_refitted_net_keep_their_thread_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader whose predictions depend on the thread count (a linear model: BLAS) fitted on a busy machine (1
    thread), its net's fold refitted and the run resumed on an idle one: the reader's folds fitted again through the
    new embeddings take the count its folds recorded, as a resumed model's missing folds do (they took the idle
    machine's 2: an uninterrupted run's OOF differed)."""
    from kaggle_kit.runtime import executors
    from kaggle_kit.runtime.threads import MachineLoad

    def machine(others: float) -> None:
        def load(workers: object = (), *, wait: bool = True) -> MachineLoad:
            return MachineLoad(cores=2, load=others, own=0.0)

        monkeypatch.setattr(runner, "machine_load", load)
        monkeypatch.setattr(executors, "machine_load", load)
        monkeypatch.setattr(runner, "cpu_count", lambda: 2)
        monkeypatch.setattr(executors, "cpu_count", lambda: 2)

    frame = shapes(90, 4)
    train, test = frame[:60], frame[60:].drop("label")
    models = [{**MODELS[0], "params": {**NET, "epochs": 2}}, {"name": "lin_emb", "kind": "linear", "embeddings": "cnn"}]
    spec = spec_of(tmp_path, models, run={"n_jobs": 1})  # threads: the load-aware rule
    runs = tmp_path / "runs"
    machine(others=1.0)  # busy: 1 core left
    first = runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    store = RunStore(first.run_dir)
    import shutil

    shutil.rmtree(store.fold_dir("cnn", store.current_models()["cnn"], 0, 1))
    real_seed = fold_fit.model_seed
    machine(others=0.0)  # idle: 2 cores
    monkeypatch.setattr(fold_fit, "model_seed", lambda m, s: real_seed(m, s) + (m.name == "cnn"))  # other weights
    second = runner.run(spec, runs_root=runs, train=train, test=test, progress=None, record_history=False)
    assert second.fitted == 1 + 3  # the net's fold, the reader's three
    key = store.current_models()["lin_emb"]
    threads = {store.finished("lin_emb", key, 0, k).threads for k in range(3)}  # type: ignore[union-attr]
    assert threads == {1}
