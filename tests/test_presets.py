"""Presets resolved for the data, and ``kaggle-kit init`` reading a competition the way a Kaggler would."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.cli import main
from kaggle_kit.config import ModelSpec, build_spec, load_spec
from kaggle_kit.errors import ConfigError
from kaggle_kit.models import make_adapter
from kaggle_kit.presets import DataProfile, expand_preset, resolve_preset
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.runtime.runner import run

GB = 1024**3


def profile(**kw: object) -> DataProfile:
    base: dict[str, object] = dict(
        task="binary", n_rows=2000, n_features=20, n_categorical=0, max_cardinality=0, n_classes=2, memory_bytes=16 * GB
    )
    return DataProfile(**{**base, **kw})  # type: ignore[arg-type]


def kinds(name: str, prof: DataProfile) -> dict[str, str]:
    return {m.spec["name"]: m.spec["kind"] for m in resolve_preset(name, prof).models}


def test_presets_grow_from_fast_to_best() -> None:
    fast, good, best = (kinds(p, profile()) for p in ("fast", "good", "best"))
    assert set(fast.values()) == {"lightgbm", "linear"}
    assert set(good.values()) == {"lightgbm", "linear", "lightgbm_xt", "realmlp"}
    assert set(best.values()) == set(good.values()) | {"catboost", "xgboost", "random_forest", "extra_trees", "tabm"}
    with_cats = kinds("good", profile(n_categorical=2, max_cardinality=30))
    assert "catboost" in with_cats.values()  # its ordered target statistics are what pays for its time


@pytest.mark.parametrize("preset", ["fast", "good", "best"])
def test_every_preset_model_is_a_valid_spec_with_valid_params(preset: str) -> None:
    for prof in (profile(), profile(n_categorical=3, max_cardinality=40), profile(n_features=64, n_numeric=64)):
        resolved = resolve_preset(preset, prof)
        names = [m.spec["name"] for m in resolved.models]
        assert len(names) == len(set(names))
        for m in resolved.models:
            make_adapter(ModelSpec(**m.spec))  # the kind exists and its params pass the adapter's checks
            assert m.why


def test_categorical_columns_feed_generated_features_to_the_extra_trees_lightgbm() -> None:
    plain = resolve_preset("good", profile())
    with_cats = resolve_preset("good", profile(n_categorical=2, max_cardinality=300))
    assert "pipeline" not in next(m.spec for m in plain.models if m.spec["kind"] == "lightgbm_xt")
    xt = next(m for m in with_cats.models if m.spec["kind"] == "lightgbm_xt")
    steps = [s["step"] for s in with_cats.pipelines[xt.spec["pipeline"]]["steps"]]
    assert steps == ["count_encode", "target_encode"]
    assert "categorical" in next(m.why for m in with_cats.models if m.spec["kind"] == "catboost")
    assert any(line.startswith("catboost: no categorical columns") for line in plain.left_out)


@pytest.mark.parametrize("task", ["multilabel", "multiregression"])
@pytest.mark.parametrize("preset", ["good", "best"])
def test_a_preset_of_several_targets_gives_no_model_a_step_that_learns_from_one(task: str, preset: str) -> None:
    """`init --preset good` on a multilabel table with a categorical column wrote the extra-trees LightGBM on a
    target encoding, which the run then refused (`pipeline step 1 ('target_encode') learns from the target`): the
    counts stay, the target encoding goes, as arithmetic_pairs does."""
    from kaggle_kit.models.multi_target import check_target_free

    prof = profile(task=task, n_classes=3, n_categorical=2, max_cardinality=30, n_numeric=6)
    resolved = resolve_preset(preset, prof)
    piped = [m for m in resolved.models if "pipeline" in m.spec]
    assert piped  # the extra-trees LightGBM still reads its count encodings
    for m in piped:
        check_target_free(m.spec["name"], resolved.pipelines[m.spec["pipeline"]]["steps"], task)
    xt = next(m for m in resolved.models if m.spec["name"] == "lgbm_xt")
    assert xt.why.endswith("on in-fold count encodings of the categorical columns")


def test_the_extra_trees_lightgbm_reads_arithmetic_pairs_where_two_numeric_columns_exist() -> None:
    """``good``: the model on the pairs in the place of the plain extra-trees LightGBM; ``best``: both (measured,
    ``benchmarks/arithmetic_member.py``); neither ``fast``, nor a table of one numeric column or several targets."""
    numeric = profile(n_numeric=5)
    best = resolve_preset("best", numeric)
    member = next(m for m in best.models if m.spec["name"] == "lgbm_ar")
    assert member.spec == {"name": "lgbm_ar", "kind": "lightgbm_xt", "pipeline": "arithmetic"}
    assert best.pipelines["arithmetic"]["steps"] == [{"step": "arithmetic_pairs"}]
    assert {"lgbm_xt", "lgbm_ar"} <= set(kinds("best", numeric))
    good = kinds("good", numeric)
    assert good["lgbm_ar"] == "lightgbm_xt" and "lgbm_xt" not in good
    assert "lgbm_ar" not in kinds("fast", numeric)
    assert "lgbm_ar" in kinds("good", profile(n_numeric=2))  # one pair
    others = (
        profile(n_numeric=1),
        profile(n_numeric=5, task="multilabel"),  # the step picks its columns by one target
        profile(n_numeric=5, task="multiregression", n_classes=0),
        profile(n_numeric=5, task="distribution", n_classes=0),
        profile(n_numeric=784, image_shape=(28, 28, 1)),  # pixels: their ratios mean nothing
        profile(n_numeric=33, sequence_columns=30),
    )
    for other in others:
        assert "lgbm_ar" not in kinds("best", other) and "lgbm_xt" in kinds("good", other)
    mixed = resolve_preset("best", profile(n_numeric=3, n_categorical=2, max_cardinality=30, n_dates=1))
    steps = [s["step"] for s in mixed.pipelines["arithmetic"]["steps"]]
    assert steps == ["arithmetic_pairs", "date_parts", "count_encode", "target_encode"]
    assert "date column" in next(m.why for m in mixed.models if m.spec["name"] == "lgbm_ar")
    frame = pl.DataFrame({"a": [1.0, 2.0], "b": [1, 2], "c": ["x", "y"], "d": [True, False], "e": [3, 4]})
    assert DataProfile.of(frame, ["a", "b", "c", "d", "e"], ["c", "e"], "binary", 2).n_numeric == 2  # e: declared


@pytest.mark.parametrize(
    ("names", "shape"),
    [
        ([f"pixel{i}" for i in range(28 * 28)], (28, 28, 1)),
        ([f"pixel_{r}_{c}" for r in range(8) for c in range(8)], (8, 8, 1)),
    ],
)
def test_pixel_columns_bring_a_cnn_with_the_image_shape(names: list[str], shape: tuple[int, int, int]) -> None:
    train = pl.DataFrame({n: np.zeros(10) for n in names})
    prof = DataProfile.of(train, tuple(train.columns), (), "multiclass", 10)
    assert prof.image_shape == shape
    resolved = resolve_preset("good", prof)
    cnn = next(m.spec for m in resolved.models if m.spec["kind"] == "cnn")
    assert cnn["params"]["image_shape"] == list(shape)
    assert "realmlp" not in {m.spec["kind"] for m in resolved.models}  # pixels: the CNN is the net


def test_sequence_columns_bring_sequence_nets_and_trees_read_the_statistics() -> None:
    cols = [f"x__t{t}" for t in range(30)] + ["x__mean", "x__std", "n_steps"]
    train = pl.DataFrame({c: np.zeros(5) for c in cols})
    prof = DataProfile.of(train, tuple(cols), (), "multiclass", 4)
    assert prof.sequence_columns == 30
    resolved = resolve_preset("good", prof)
    by_kind = {m.spec["kind"]: m.spec for m in resolved.models}
    assert {"cnn1d", "rnn"} <= set(by_kind)
    assert by_kind["cnn1d"]["params"]["columns"] == r".+__t\d+"
    assert by_kind["lightgbm"]["pipeline"] == "trees"
    assert resolved.pipelines["trees"]["steps"] == [{"step": "drop", "pattern": r".+__t\d+"}]


def test_the_profile_reads_a_wide_frames_schema_once_not_once_per_column(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each ``DataFrame.schema`` access rebuilds it (as wide as the frame), and the profile read it per feature: init
    on a long table laid out as 2,000 step columns spent 9 s there (5,000 columns, the wide layout's limit: ~1 min)."""
    cols = [f"x__t{t}" for t in range(300)] + ["x__mean", "d"]
    train = pl.DataFrame({c: np.zeros(3) for c in cols[:-1]}).with_columns(d=pl.lit(None, dtype=pl.Date))
    reads = 0
    schema = pl.DataFrame.schema

    def counted(frame: pl.DataFrame) -> pl.Schema:
        nonlocal reads
        reads += 1
        return schema.fget(frame)  # type: ignore[attr-defined]

    monkeypatch.setattr(pl.DataFrame, "schema", property(counted))
    prof = DataProfile.of(train, tuple(cols), (), "binary", 2)
    assert (prof.sequence_columns, prof.n_numeric, prof.n_dates) == (300, 301, 1)
    assert reads <= 2


def test_streamed_sequences_bring_sequence_nets_reading_the_store() -> None:
    """``data.sequences.layout = "streamed"``: no step columns, the ``__sequence`` column (not a feature) says the
    rows have sequences; the nets take no ``columns`` and the trees need no drop pipeline."""
    cols = ["x__mean", "x__std", "n_steps"]
    train = pl.DataFrame({"__sequence": np.arange(5), **{c: np.zeros(5) for c in cols}})
    prof = DataProfile.of(train, tuple(cols), (), "multiclass", 4)
    assert prof.streamed_sequences and prof.sequence_columns == 0
    resolved = resolve_preset("good", prof)
    by_kind = {m.spec["kind"]: m.spec for m in resolved.models}
    assert {"cnn1d", "rnn"} <= set(by_kind) and by_kind["cnn1d"]["params"] == by_kind["rnn"]["params"] == {}
    assert "pipeline" not in by_kind["lightgbm"] and "trees" not in resolved.pipelines


STREAMED = "the images are streamed ([data.images] stream mode) and the table has "
NO_PIXELS = f"mlp: {STREAMED}no pixel columns for it"
NUMERIC_CATBOOST = (
    "catboost: no categorical columns, where its ordered target statistics pay; on numeric tables it took 5-25x "
    "LightGBM's time for no better CV (benchmarks/portfolio.py): it is in preset 'best'"
)
TREES = {"fast": ["lgbm"], "good": ["lgbm", "lgbm_xt"], "best": ["lgbm", "catboost", "lgbm_xt", "xgb", "rf", "xt"]}
SEQUENCE_NETS = {"fast": ["cnn1d"], "good": ["cnn1d", "gru"], "best": ["cnn1d", "gru"]}


@pytest.mark.parametrize("streamed_sequences", [False, True])
@pytest.mark.parametrize("n_features", [0, 2])
@pytest.mark.parametrize("preset", ["fast", "good", "best"])
def test_streamed_images_leave_out_the_models_without_an_input(
    preset: str, n_features: int, streamed_sequences: bool
) -> None:
    """Only the cnn reads streamed images (and the sequence nets the streamed sequences' store): the trees stay
    when the table has other feature columns, the MLP on the pixels never does; each left out says why, after the
    families' other reasons."""
    prof = profile(
        task="multiclass",
        n_classes=3,
        n_features=n_features,
        image_shape=(32, 32, 3),
        streamed_images=True,
        streamed_sequences=streamed_sequences,
    )
    resolved = resolve_preset(preset, prof)
    trees = TREES[preset] if n_features else []
    nets = ["cnn", *(SEQUENCE_NETS[preset] if streamed_sequences else [])]
    assert [m.spec["name"] for m in resolved.models] == [*trees, *nets]
    without = [] if n_features else [f"{name}: {STREAMED}no other feature column for it" for name in TREES[preset]]
    mlp = [] if preset == "fast" else [NO_PIXELS]
    assert resolved.left_out == [*([NUMERIC_CATBOOST] if preset == "good" else []), *without, *mlp]


def test_a_model_too_large_for_memory_says_so_in_a_streamed_image_run() -> None:
    prof = profile(n_rows=100_000_000, n_features=0, image_shape=(32, 32, 3), streamed_images=True, memory_bytes=6 * GB)
    resolved = resolve_preset("best", prof)
    assert [m.spec["name"] for m in resolved.models] == ["cnn"]
    memory = [
        f"{kind}: needs about 8.9 GB for 2 parallel folds; 6.0 GB is available"
        for kind in ("random_forest", "extra_trees")
    ]
    without = [f"{name}: {STREAMED}no other feature column for it" for name in ("lgbm", "catboost", "lgbm_xt", "xgb")]
    assert resolved.left_out == [*memory, *without, NO_PIXELS]


def test_large_data_leaves_cpu_nets_out_and_says_why() -> None:
    resolved = resolve_preset("best", profile(n_rows=5_000_000, n_features=50))
    names = {m.spec["kind"] for m in resolved.models}
    assert "realmlp" not in names and "tabm" not in names
    assert any(line.startswith("realmlp:") and "cuda" in line for line in resolved.left_out)
    on_gpu = resolve_preset("best", profile(n_rows=5_000_000, n_features=50, gpu=True))
    assert {"realmlp", "tabm"} <= {m.spec["kind"] for m in on_gpu.models}


def test_a_model_that_cannot_fit_in_memory_is_never_written() -> None:
    # 1M x 100 float32 = 400 MB: forests (~12x per parallel fold) do not fit in 6 GB, LightGBM (~2x) does
    resolved = resolve_preset("best", profile(n_rows=1_000_000, n_features=100, memory_bytes=6 * GB))
    chosen = {m.spec["kind"] for m in resolved.models}
    assert "lightgbm" in chosen and not {"random_forest", "extra_trees"} & chosen
    assert any(line.startswith("random_forest:") and "GB" in line for line in resolved.left_out)


def test_missing_catboost_is_left_out_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "catboost" else real(name, *a))
    resolved = resolve_preset("best", profile())
    assert "catboost" not in {m.spec["kind"] for m in resolved.models}
    assert any("kaggle-kit[catboost]" in line for line in resolved.left_out)


def _spec(**kw: object) -> object:
    raw = {"name": "p", "task": "binary", "metric": "roc_auc", "data": {"train": "t.csv", "target": "y"}, **kw}
    return build_spec(raw)


def test_expand_preset_adds_to_the_users_models_and_theirs_win() -> None:
    mine = {"name": "lgbm", "kind": "xgboost"}
    spec = _spec(preset="fast", models=[mine])
    expanded, resolved = expand_preset(spec, profile())
    assert resolved is not None and expanded.preset is None
    names = [m.name for m in expanded.models]
    assert names[0] == "lgbm" and expanded.models[0].kind == "xgboost"  # the user's own model, unchanged
    assert names.count("lgbm") == 1 and "linear" in names
    assert build_spec(__import__("tomllib").loads(expanded.to_toml())).models == expanded.models  # what ran, written


def test_a_spec_needs_models_or_a_preset() -> None:
    with pytest.raises(ConfigError, match=r"no models.*preset = 'good'"):
        _spec()
    with pytest.raises(ConfigError, match="preset must be one of"):
        _spec(preset="great")


def test_run_with_a_preset_fits_its_models(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    from kaggle_kit import run

    X, y = load_breast_cancer(return_X_y=True)
    frame = pl.DataFrame(X[:, :8], schema=[f"f{i}" for i in range(8)], orient="row").with_columns(y=pl.Series(y))
    spec = build_spec(
        {"name": "preset-run", "task": "binary", "metric": "roc_auc", "preset": "fast",
         "data": {"train": "t.csv", "target": "y"}, "folds": {"n_splits": 3}, "run": {"n_jobs": 1}}
    )  # fmt: skip
    said: list[str] = []
    result = run(spec, runs_root=tmp_path, train=frame, progress=said.append, record_history=False)
    scores = {m.name: m.cv for m in result.models}
    assert set(scores) == {"baseline", "lgbm", "linear"}
    assert scores["lgbm"] > 0.95 and scores["linear"] > 0.95
    assert any(line.startswith("preset 'fast'") for line in said)
    assert "\npreset" not in (result.run_dir / "spec.toml").read_text()  # the resolved models are recorded


def test_a_preset_model_named_as_one_of_the_configs_own_is_said_not_added(tmp_path: Path) -> None:
    """The config's own 'lgbm' wins the name clash (expand_preset); the line had said the preset's was added."""
    from kaggle_kit import run

    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"a": rng.normal(size=90), "b": rng.normal(size=90), "y": rng.integers(0, 2, 90)})
    logreg = {"name": "lgbm", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
    spec = build_spec(
        {"name": "clash", "task": "binary", "metric": "roc_auc", "preset": "fast", "models": [logreg],
         "data": {"train": "t.csv", "target": "y"}, "folds": {"n_splits": 2}, "run": {"n_jobs": 1}}
    )  # fmt: skip
    said: list[str] = []
    result = run(spec, runs_root=tmp_path, train=frame, progress=said.append, record_history=False)
    (line,) = [s for s in said if s.startswith("preset 'fast': ")]
    assert "lgbm (lightgbm: not added, the config's own model 'lgbm' has the name)" in line
    assert {m.name: m.kind for m in result.models}["lgbm"] == "sklearn"


# ------------------------------------------------------------------------------------------------ init
def _write_table(folder: Path, rng: np.random.Generator) -> None:
    n = 300
    x = rng.normal(size=n)
    frame = pl.DataFrame({"row_id": np.arange(n), "x": x, "z": rng.normal(size=n), "kind": rng.choice(["a", "b"], n)})
    labels = np.where(x > 0, "yes", "no")
    frame.head(240).with_columns(answer=pl.Series(labels[:240])).write_csv(folder / "train.csv")
    frame.tail(60).write_csv(folder / "test.csv")


@pytest.mark.parametrize(
    ("sample_values", "metric", "said"),
    [
        (["yes"] * 60, "accuracy", "holds labels"),
        ([0.5] * 60, "roc_auc", "holds probabilities"),
        (None, "roc_auc", "a guess"),
    ],
)
def test_init_reads_the_metric_from_the_sample_submission(
    sample_values: list | None, metric: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    _write_table(folder, np.random.default_rng(0))
    if sample_values is not None:
        sample = pl.DataFrame({"row_id": np.arange(240, 300), "answer": sample_values})
        sample.write_csv(folder / "sample_submission.csv")
    out = tmp_path / "competitions"
    assert main(["init", "comp", "--train", str(folder / "train.csv"), "--out", str(out), "--preset", "fast"]) == 0
    printed = capsys.readouterr().out
    assert said in printed
    spec = load_spec(out / "comp.toml")
    assert spec.metric == metric and spec.data.target == "answer" and spec.task == "binary"
    text = (out / "comp.toml").read_text()
    assert "# lgbm" in text and "# linear" in text  # one comment per model saying why it is there


def test_init_multiclass_probability_columns_mean_log_loss(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    rng = np.random.default_rng(1)
    n = 200
    frame = pl.DataFrame({"id": np.arange(n), "x": rng.normal(size=n), "label": rng.choice(["a", "b", "c"], n)})
    frame.head(150).write_csv(folder / "train.csv")
    frame.tail(50).drop("label").write_csv(folder / "test.csv")
    pl.DataFrame({"id": np.arange(150, 200), "a": 0.3, "b": 0.3, "c": 0.4}).write_csv(folder / "sample_submission.csv")
    assert main(["init", "mc", "--train", str(folder / "train.csv"), "--out", str(tmp_path), "--preset", "fast"]) == 0
    assert load_spec(tmp_path / "mc.toml").metric == "log_loss"


def test_init_recognises_a_long_table_with_a_labels_file_and_the_config_moves(tmp_path: Path) -> None:
    folder = tmp_path / "comp" / "data"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    ids = np.arange(60)
    labels = rng.choice(["up", "down"], len(ids))

    def long(id_values: np.ndarray) -> pl.DataFrame:
        rows = [(i, s, float(rng.normal() + (1 if labels[i % 60] == "up" else 0))) for i in id_values for s in range(8)]
        return pl.DataFrame(rows, schema=["series_id", "step", "value"], orient="row")

    long(ids[:45]).write_csv(folder / "train.csv")
    long(ids[45:]).write_csv(folder / "test.csv")
    pl.DataFrame({"series_id": ids[:45], "surface": labels[:45]}).write_csv(folder / "train_labels.csv")
    pl.DataFrame({"series_id": ids[45:], "surface": "up"}).write_csv(folder / "sample_submission.csv")
    out = tmp_path / "comp" / "competitions"
    assert main(["init", "sensors", "--train", str(folder / "train.csv"), "--out", str(out), "--preset", "fast"]) == 0
    spec = load_spec(out / "sensors.toml")
    assert spec.data.sequences is not None and spec.data.sequences.order_by == "step"
    assert (spec.data.id, spec.data.target, spec.metric) == ("series_id", "surface", "accuracy")
    assert {m.kind for m in spec.models} >= {"cnn1d"}  # the steps go to a sequence net
    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "comp", moved)
    shutil.rmtree(tmp_path / "comp")
    data = load_competition(load_spec(moved / "competitions" / "sensors.toml"))  # relative paths travel
    assert data.train.height == 45 and data.test is not None and data.test.height == 15


def test_init_proposes_streamed_sequences_when_the_steps_are_too_many_for_columns(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    rng = np.random.default_rng(3)
    n_ids, steps = 20, 2_600  # x 2 columns = 5,200 step columns
    long = pl.DataFrame(
        {
            "series_id": np.repeat(np.arange(n_ids), steps),
            "step": np.tile(np.arange(steps), n_ids),
            "a": rng.normal(size=n_ids * steps),
            "b": rng.normal(size=n_ids * steps),
        }
    )
    long.write_csv(folder / "train.csv")
    pl.DataFrame({"series_id": np.arange(n_ids), "label": np.arange(n_ids) % 2}).write_csv(folder / "train_labels.csv")
    assert main(["init", "long", "--train", str(folder / "train.csv"), "--out", str(tmp_path), "--preset", "fast"]) == 0
    text = (tmp_path / "long.toml").read_text()
    assert "5,200 step columns: too many as columns -> layout = 'streamed'" in text
    spec = load_spec(tmp_path / "long.toml")
    assert spec.data.sequences is not None and spec.data.sequences.layout == "streamed"
    nets = [m for m in spec.models if m.kind == "cnn1d"]
    assert nets and "columns" not in nets[0].params and all(m.pipeline is None for m in spec.models)


def test_init_counts_the_test_long_tables_steps_for_the_layout(tmp_path: Path) -> None:
    """Train's sequences are 50 steps, one test sequence 2,600: the run lays out the longest of either (5,200 step
    columns), so init proposes the streamed layout. It counted train's alone and wrote the wide layout, which run
    then laid out for minutes (now refused: tests/test_sequence_data.py)."""
    folder = tmp_path / "data"
    folder.mkdir()
    rng = np.random.default_rng(3)

    def long(ids: np.ndarray, steps: list[int]) -> pl.DataFrame:
        n = sum(steps)
        return pl.DataFrame(
            {
                "series_id": np.repeat(ids, steps),
                "step": np.concatenate([np.arange(k) for k in steps]),
                "a": rng.normal(size=n),
                "b": rng.normal(size=n),
            }
        )

    long(np.arange(20), [50] * 20).write_csv(folder / "train.csv")
    long(np.arange(100, 104), [50, 2_600, 50, 50]).write_csv(folder / "test.csv")
    pl.DataFrame({"series_id": np.arange(20), "label": np.arange(20) % 2}).write_csv(folder / "train_labels.csv")
    assert main(["init", "long", "--train", str(folder / "train.csv"), "--out", str(tmp_path), "--preset", "fast"]) == 0
    text = (tmp_path / "long.toml").read_text()
    assert "24 sequences of up to 2,600 steps x 2 columns = 5,200 step columns: too many as columns" in text
    spec = load_spec(tmp_path / "long.toml")
    assert spec.data.sequences is not None and spec.data.sequences.layout == "streamed"


@pytest.mark.parametrize(
    ("rows", "epochs", "batch"), [(450, 64, 256), (3_000, 13, 256), (5_000, 12, 512), (16_000, 8, 512)]
)
def test_realmlp_is_sized_to_a_number_of_steps_per_fold(rows: int, epochs: int, batch: int) -> None:
    spec = next(m.spec for m in resolve_preset("good", profile(n_rows=rows)).models if m.spec["kind"] == "realmlp")
    assert (spec["params"]["epochs"], spec["params"]["batch_size"]) == (epochs, batch)


def test_run_preset_option_on_a_config_without_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    frame = pl.DataFrame(X[:300, :6], schema=[f"f{i}" for i in range(6)], orient="row").with_columns(y=y[:300])
    frame.write_csv(tmp_path / "train.csv")
    config = tmp_path / "c.toml"
    config.write_text(
        'name = "opt"\ntask = "binary"\nmetric = "roc_auc"\n[data]\ntrain = "train.csv"\ntarget = "y"\n'
        "[folds]\nn_splits = 3\n[run]\nn_jobs = 1\n"
    )
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs")]) == 2  # no models, no preset
    assert "no models" in capsys.readouterr().err
    assert main(["run", str(config), "--preset", "fast", "--runs-root", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "preset 'fast'" in out and "lgbm" in out and "linear" in out


# --------------------------------------------------------------------------------------------- date columns
@pytest.mark.parametrize("preset", ["fast", "good", "best"])
def test_every_table_model_reads_the_date_parts_where_the_table_has_dates(preset: str) -> None:
    """A Date column gives every table model the date_parts step (lgbm_xt before its encodings), and says so; a
    Datetime column adds the hour; a table without dates keeps the base encoding."""
    resolved = resolve_preset(preset, profile(n_dates=1, n_categorical=1, max_cardinality=5))
    step = resolved.pipelines["dates"]["steps"][0]
    assert step == {
        "step": "date_parts",
        "columns": "temporal",
        "parts": ["year", "month", "day", "weekday", "dayofyear"],
    }
    for m in resolved.models:
        pipe = m.spec.get("pipeline")
        assert pipe in ("dates", "generated"), m.spec
        assert resolved.pipelines[pipe]["steps"][0] == step
        assert m.why.endswith("with the year, month, day, weekday, dayofyear of the 1 date column(s)")
    timed = resolve_preset(preset, profile(n_dates=2, times_of_day=True))
    assert timed.pipelines["dates"]["steps"][0]["parts"][-1] == "hour"
    assert "dates" not in resolve_preset(preset, profile()).pipelines


def test_the_date_parts_let_the_models_learn_a_weekday(tmp_path: Path) -> None:
    """Sales that are higher at weekends: from days since 1970 alone no model can tell a Saturday from the Friday
    beside it (LightGBM's CV stays near the baseline's); with the preset's date parts it does."""
    rng = np.random.default_rng(0)
    day = rng.integers(0, 700, 1200)
    date = pl.Series("date", day).cast(pl.Date)
    weekend = date.dt.weekday().to_numpy() >= 6
    train = pl.DataFrame({"id": range(1200), "date": date, "y": 10 + 5 * weekend + rng.normal(0, 1, 1200)})
    raw = {
        "name": "weekdays",
        "task": "regression",
        "metric": "rmse",
        "data": {"train": "train.csv", "id": "id", "target": "y"},
        "folds": {"n_splits": 3},
        "run": {"n_jobs": 1, "threads_per_task": 1},
    }
    preset = run(build_spec({**raw, "preset": "fast"}, base_dir=tmp_path), runs_root=tmp_path / "a", train=train,
                 progress=None, record_history=False)  # fmt: skip
    plain = run(build_spec({**raw, "models": [{"name": "lgbm", "kind": "lightgbm"}]}, base_dir=tmp_path),
                runs_root=tmp_path / "b", train=train, progress=None, record_history=False)  # fmt: skip
    with_parts = {m.name: m.cv for m in preset.models}
    without = {m.name: m.cv for m in plain.models}
    assert with_parts["lgbm"] < 1.2 < 0.8 * without["baseline"] < without["lgbm"], (with_parts, without)


def test_a_searchs_configs_read_the_date_parts_the_preset_gave_its_models(tmp_path: Path) -> None:
    """A search beside the preset: its configs (lightgbm_c000, ...) get the preset's dates pipeline too, unless its
    overrides name another; without it they would read days since 1970 beside models that read the calendar."""
    rng = np.random.default_rng(1)
    day = rng.integers(0, 700, 400)
    date = pl.Series("date", day).cast(pl.Date)
    y = 10 + 5 * (date.dt.weekday().to_numpy() >= 6) + rng.normal(0, 1, 400)
    train = pl.DataFrame({"id": range(400), "date": date, "x": rng.normal(size=400), "y": y})
    raw = {
        "name": "searched",
        "task": "regression",
        "metric": "rmse",
        "preset": "fast",
        "data": {"train": "train.csv", "id": "id", "target": "y"},
        "folds": {"n_splits": 2},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "search": {"families": ["lightgbm"], "n_configs": 1, "overrides": {"lightgbm": {"num_boost_round": 30}}},
    }
    result = run(build_spec(raw, base_dir=tmp_path), runs_root=tmp_path / "runs", train=train, progress=None,
                 record_history=False)  # fmt: skip
    written = load_spec(result.run_dir / "spec.toml")
    config = next(m for m in result.models if m.name == "lightgbm_c000")
    assert config.cv < 1.5, {m.name: m.cv for m in result.models}  # the weekend learnt (baseline ~2.3)
    assert "dates" in written.pipelines


@pytest.mark.parametrize(
    ("rows", "said"),
    [(755, "43 epochs of 256 rows: about 129 steps"), (60_000, "8 epochs of 512 rows: about 752 steps")],
)
def test_the_realmlp_line_counts_the_steps_its_epochs_take(rows: int, said: str) -> None:
    # 8 epochs at the least: a large table's folds take many more steps than the 96 the schedule aims at
    net = next(m for m in resolve_preset("good", profile(n_rows=rows)).models if m.spec["kind"] == "realmlp")
    assert said in net.why
