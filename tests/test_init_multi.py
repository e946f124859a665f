"""``kaggle-kit init`` on multi-target and distribution competitions: what it reads from the sample submission and
the flags, and that the config it writes runs through the command line, every target predicted out of fold."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
import polars as pl
import pytest

from kaggle_kit.cli import build_parser, main
from kaggle_kit.config import Task, load_spec
from kaggle_kit.errors import DataError, DataWarning, StoreError
from kaggle_kit.init_config import _label_lists, _sample_metric, infer_spec
from kaggle_kit.leaderboard import leaderboard
from kaggle_kit.runtime.store import RunStore
from kaggle_kit.sample_submission import class_prefix, match_sample_frame

N_TRAIN, N_TEST = 160, 40


def _features(rng: np.random.Generator) -> tuple[pl.DataFrame, np.ndarray]:
    x = rng.normal(size=(N_TRAIN + N_TEST, 3))
    frame = pl.DataFrame({"id": np.arange(N_TRAIN + N_TEST), "a": x[:, 0], "b": x[:, 1], "c": x[:, 2]})
    return frame, x


def _write(folder: Path, frame: pl.DataFrame, targets: dict[str, np.ndarray], sample: dict | None) -> Path:
    """train (features + targets), test (features) and a sample submission (id + ``sample``'s columns)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame.head(N_TRAIN).with_columns(**{k: pl.Series(v[:N_TRAIN]) for k, v in targets.items()}).write_csv(
        folder / "train.csv"
    )
    frame.tail(N_TEST).write_csv(folder / "test.csv")
    if sample is not None:
        pl.DataFrame({"id": np.arange(N_TRAIN, N_TRAIN + N_TEST), **sample}).write_csv(folder / "sample_submission.csv")
    return folder / "train.csv"


def _init_and_run(tmp_path: Path, slug: str, train: Path, *flags: str) -> tuple[object, RunStore, str]:
    """``init`` (preset fast) then ``run`` through the CLI: the spec as written, the run's store, what init printed."""
    import contextlib
    import io

    out = tmp_path / "competitions"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["init", slug, "--train", str(train), "--out", str(out), "--preset", "fast", *flags]) == 0
    said = printed.getvalue()
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", str(out / f"{slug}.toml"), "--runs-root", str(tmp_path / "runs")]) == 0
    return load_spec(out / f"{slug}.toml"), RunStore(tmp_path / "runs" / slug), said


def _cv(run_dir: Path) -> dict[str, float]:
    return {m.name: m.cv for m in leaderboard(run_dir)}


# ----------------------------------------------------------------------------------------------- several targets
def test_init_reads_a_multilabel_competition_from_its_sample_and_the_config_runs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame, x = _features(rng)
    labels = {
        "toxic": (x[:, 0] > 0).astype(float),
        "obscene": (x[:, 1] > 0.3).astype(float),
        "insult": (x[:, 0] + x[:, 2] > 0).astype(float),
    }
    labels["obscene"][[3, 17]] = np.nan  # missing labels: still 0/1 "ignoring missing"
    train = _write(tmp_path / "data", frame, labels, {k: 0.5 for k in labels})
    spec, store, said = _init_and_run(tmp_path, "toxic", train)
    assert (spec.task, spec.data.target, spec.metric) == ("multilabel", list(labels), "mean_log_loss")
    assert "task = 'multilabel' (3 target columns, each holding only 0/1)" in said
    assert "metric = 'mean_log_loss' (a guess" in said and "mean_roc_auc" in said  # says which and why
    for name in ("lgbm", "linear"):
        oof = store.read_predictions(name, "oof")
        assert oof.columns == ["id", *[f"p_{t}" for t in labels]]
        assert oof.height == N_TRAIN and sorted(oof["id"].to_list()) == list(range(N_TRAIN))
        p = oof.drop("id").to_numpy()
        assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    cv = _cv(store.root)
    assert cv["lgbm"] < 0.5 * cv["baseline"] and cv["linear"] < 0.5 * cv["baseline"], cv  # the labels are learnt


def test_init_reads_a_multiregression_competition_and_the_config_runs(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame, x = _features(rng)
    values = {"ch4": 3 * x[:, 0] + 0.1 * rng.normal(size=len(x)), "co2": x[:, 1] - x[:, 2], "n2o": 0.5 * x[:, 2]}
    values["n2o"][5] = np.nan
    train = _write(tmp_path / "data", frame, values, {k: 0.0 for k in values})
    spec, store, said = _init_and_run(tmp_path, "gases", train)
    assert (spec.task, spec.data.target, spec.metric) == ("multiregression", list(values), "mean_rmse")
    assert "task = 'multiregression' (3 target columns; 'ch4' holds values besides 0/1)" in said
    assert spec.fold_strategy == "kfold"  # the default for values, no stratification
    for name in ("lgbm", "linear"):
        oof = store.read_predictions(name, "oof")
        assert oof.columns == ["id", *[f"pred_{t}" for t in values]] and oof.height == N_TRAIN
        assert np.isfinite(oof.drop("id").to_numpy()).all()
    cv = _cv(store.root)
    assert cv["linear"] < 0.2 * cv["baseline"], cv  # linear targets: the linear model nails them


def test_init_takes_several_targets_from_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No sample submission: ``--target a,b`` names them, the task is read from their values."""
    rng = np.random.default_rng(2)
    frame, x = _features(rng)
    labels = {"u": (x[:, 0] > 0).astype(int), "v": (x[:, 1] > 0).astype(int)}
    train = _write(tmp_path / "data", frame, labels, None)
    out = tmp_path / "cfg"
    assert main(["init", "uv", "--train", str(train), "--out", str(out), "--preset", "fast", "--target", "u, v"]) == 0
    spec = load_spec(out / "uv.toml")
    assert (spec.task, spec.data.target, spec.metric) == ("multilabel", ["u", "v"], "mean_log_loss")
    flags = ["--task", "multiregression", "--target", "u,v", "--metric", "mean_mae", "--force"]
    assert main(["init", "uv", "--train", str(train), "--out", str(out), "--preset", "fast", *flags]) == 0
    spec = load_spec(out / "uv.toml")
    assert (spec.task, spec.data.target, spec.metric) == ("multiregression", ["u", "v"], "mean_mae")


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--task", "multilabel", "--target", "u"], "--task multilabel predicts several target columns"),
        (["--task", "binary", "--target", "u,v"], "--task binary predicts one target column, but the targets are 2"),
        (["--target", "u,vv"], "--target 'vv' is not a column"),
        (["--task", "regression", "--target", "v", "--grid", "1,2,3"], "--grid gives a distribution task's bins"),
    ],
)
def test_init_refuses_a_task_that_does_not_fit_its_targets(
    flags: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(3)
    frame, x = _features(rng)
    train = _write(tmp_path / "data", frame, {"u": (x[:, 0] > 0).astype(int), "v": x[:, 1]}, None)
    assert main(["init", "bad", "--train", str(train), "--out", str(tmp_path / "cfg"), *flags]) == 2
    err = capsys.readouterr().err
    assert said in err, err
    assert not (tmp_path / "cfg" / "bad.toml").exists()


def test_a_sample_binary_task_with_several_sample_targets_names_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(4)
    frame, x = _features(rng)
    labels = {"u": (x[:, 0] > 0).astype(int), "v": (x[:, 1] > 0).astype(int)}
    train = _write(tmp_path / "data", frame, labels, {"u": 0.5, "v": 0.5})
    assert main(["init", "bad", "--train", str(train), "--out", str(tmp_path), "--task", "binary"]) == 2
    assert "pass one with --target, or --task multilabel" in capsys.readouterr().err


def test_init_offers_every_task_of_the_config() -> None:
    init = build_parser()._subparsers._group_actions[0].choices["init"]  # type: ignore[union-attr]
    task = next(a for a in init._actions if a.dest == "task")
    assert tuple(task.choices) == get_args(Task)


# -------------------------------------------------------------------------------- one target's class probabilities
@pytest.mark.parametrize("levels_are_columns", [False, True])
def test_a_multiclass_probability_sample_stays_multiclass(levels_are_columns: bool, tmp_path: Path) -> None:
    """A sample with one probability column per class of ``label``: those columns are not train columns, so not
    targets. Harder: features named like the classes ('a', 'b', 'c' are train columns too, and no test file says
    they are features): the columns are the levels of ``label``, so still its class probabilities."""
    rng = np.random.default_rng(5)
    frame, x = _features(rng)
    label = np.array(["a", "b", "c"])[np.digitize(x[:, 0], [-0.4, 0.4])]
    if not levels_are_columns:
        frame = frame.rename({"a": "f1", "b": "f2", "c": "f3"})
    train = _write(tmp_path / "data", frame, {"label": label}, {"a": 0.3, "b": 0.3, "c": 0.4})
    if levels_are_columns:
        (tmp_path / "data" / "test.csv").unlink()
    spec, store, said = _init_and_run(tmp_path, "mc", train)
    assert (spec.task, spec.data.target, spec.metric) == ("multiclass", "label", "log_loss")
    assert "targets =" not in said
    oof = store.read_predictions("lgbm", "oof")
    assert oof.height == N_TRAIN and oof.width == 1 + 3  # the id and one probability per class
    assert np.allclose(oof.drop("id").to_numpy().sum(axis=1), 1.0)


@pytest.mark.parametrize("labels", ["text", "numbers"])
def test_a_class_of_the_sample_that_train_lacks_gets_its_share_in_the_submission(
    labels: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample lists a class no training row holds (``d``, or ``3`` beside classes 0 .. 2, which also read as an
    increasing grid of numbers): init still writes multiclass and log loss, and ``submit`` and ``predict`` write
    that column at 1 / (training rows + classes), the run's classes scaled to leave each row summing to 1."""
    rng = np.random.default_rng(8)
    frame, x = _features(rng)
    code = np.digitize(x[:, 0], [-0.4, 0.4])
    names = ["a", "b", "c", "d"] if labels == "text" else ["0", "1", "2", "3"]
    label = np.array(names[:3])[code] if labels == "text" else code
    train = _write(tmp_path / "data", frame, {"label": label}, dict.fromkeys(names, 0.25))
    flags = ("--target", "label") if labels == "numbers" else ()
    spec, store, said = _init_and_run(tmp_path, "unseen", train, *flags)
    assert (spec.task, spec.metric) == ("multiclass", "log_loss")
    assert f"class column(s) ['{names[3]}'] of the sample no training row holds" in said
    unseen = 1 / (N_TRAIN + 4)
    own = store.read_predictions("lgbm", "test").drop("id").to_numpy()
    out = tmp_path / "new.csv"
    new_test = ["predict", str(store.root), "--test", str(tmp_path / "data" / "test.csv"), "--model", "lgbm"]
    sample = str(tmp_path / "data" / "sample_submission.csv")
    for argv in (["submit", str(store.root), "--model", "lgbm"], [*new_test, "--out", str(out)]):
        capsys.readouterr()
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert f"warning: the sample submission {sample!r} asks for class column(s) ['{names[3]}'] that no" in err
        assert f"training row holds; they get probability {unseen:.3g} each" in err
    for path in (store.root / "submissions" / "lgbm.csv", out):
        sub = pl.read_csv(path)
        assert sub.columns == ["id", *names]
        np.testing.assert_allclose(sub[names[3]].to_numpy(), unseen)
        np.testing.assert_allclose(sub.select(names[:3]).to_numpy(), own * (1 - unseen), rtol=1e-5)
        np.testing.assert_allclose(sub.select(names).to_numpy().sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("columns", "metric"),
    [
        ({"No": 0.5, "Yes": 0.5}, "log_loss"),  # the classes spelled otherwise: submit matches them case aside
        ({"no": 0.5, "yes": 0.5}, "log_loss"),
        ({"no": 0.1, "yes": 0.1, **{f"k{i}": 0.1 for i in range(8)}}, None),  # mostly not the labels: no rule
        ({"no": "a", "yes": "b"}, None),  # not numbers
    ],
)
def test_the_metric_from_a_sample_of_class_columns(columns: dict, metric: str | None) -> None:
    sample = pl.DataFrame({"id": [1, 2], **{c: [v, v] for c, v in columns.items()}})
    why: list[str] = []
    assert _sample_metric(sample, pl.Series("y", ["yes", "no", "no"]), "binary", why) == metric
    assert bool(why) == (metric is not None)


def test_a_sample_column_that_is_no_class_still_fails_with_its_name(tmp_path: Path) -> None:
    """A text column beside the class columns (a note, not a probability), or a run folder whose run.json lacks the
    training row count: the error names the column or the fix, and nothing is written."""
    frame = pl.DataFrame({"id": [1, 2], "label": ["a", "b"], "a": [0.7, 0.2], "b": [0.3, 0.8]})
    meta = {"id_column": "id", "classes": ["a", "b"], "n_train": 10}
    note = pl.DataFrame({"id": ["1", "2"], "a": ["0.5", "0.5"], "b": ["0.5", "0.5"], "Usage": ["Public", "Private"]})
    with pytest.raises(DataError, match=r"asks for column\(s\) \['Usage'\] but the predictions have"):
        match_sample_frame(frame, note, tmp_path / "s.csv", meta)
    extra = note.drop("Usage").with_columns(c=pl.lit("0"))
    with pytest.warns(DataWarning, match=r"class column\(s\) \['c'\] that no training row holds"):
        assert match_sample_frame(frame, extra, tmp_path / "s.csv", meta)["c"].to_list() == [1 / 13, 1 / 13]
    with pytest.raises(StoreError, match=r"does not say how many training rows it had \(n_train\)"):
        match_sample_frame(frame, extra, tmp_path / "s.csv", {k: v for k, v in meta.items() if k != "n_train"})


def test_sample_target_columns_spelled_otherwise_are_the_targets_in_init_and_submit(tmp_path: Path) -> None:
    """A sample heading the targets ``TOXIC``, `` obscene``, ``insult `` (case, spaces around; another order than
    train's): init names train's columns (it stopped: `cannot tell the target column`), and the submission puts each
    target's predictions under the sample's header for it (it stopped after the run: `asks for column(s)
    [' obscene', 'insult ']`)."""
    rng = np.random.default_rng(7)
    frame, x = _features(rng)
    labels = {t: (x[:, j] > 0).astype(float) for j, t in enumerate(("toxic", "obscene", "insult"))}
    train = _write(tmp_path / "data", frame, labels, {"insult ": 0.5, "TOXIC": 0.5, " obscene": 0.5})
    spec, _ = infer_spec("toxic", train, preset="fast")
    assert (spec["task"], spec["data"]["target"]) == ("multilabel", ["insult", "toxic", "obscene"])
    predictions = pl.DataFrame({"id": [1, 2], "toxic": [0.1, 0.2], "obscene": [0.3, 0.4], "insult": [0.5, 0.6]})
    sample = pl.DataFrame({"id": ["1", "2"], "insult ": ["0"] * 2, "TOXIC": ["0"] * 2, " obscene": ["0"] * 2})
    meta = {"id_column": "id", "targets": ["toxic", "obscene", "insult"]}
    written = match_sample_frame(predictions, sample, tmp_path / "s.csv", meta)
    assert written.columns == sample.columns
    assert written.drop("id").rows() == [(0.5, 0.1, 0.3), (0.6, 0.2, 0.4)]


@pytest.mark.parametrize(
    ("values", "labels"),
    [
        (
            ["haze primary", "clear primary water", "clear", "primary", None, "haze"],
            ["clear", "haze", "primary", "water"],
        ),
        (["Class 1", "Class 2", "Class 3", "Class 1"], None),  # one word in common: more words than classes
        (["New York", "Los Angeles", "New Jersey", "Boston"], None),  # city names
        (["cat", "dog", "bird"], None),  # one label a row
        (["a a", "b", "a"], None),  # a word twice is no list of labels
        (["a b", "a c", "b c", "a", "b", "c"], ["a", "b", "c"]),  # pairs only: twice as many combinations as labels
        # classes named in two words (Coronavirus tweets' sentiment): a handful of classes, no combinations
        (["Extremely Positive", "Positive", "Neutral", "Negative", "Extremely Negative"], None),
    ],
)
def test_a_target_of_space_separated_label_lists(values: list[str | None], labels: list[str] | None) -> None:
    assert _label_lists(pl.Series(values, dtype=pl.String)) == labels


def test_init_says_a_target_of_label_lists_is_a_multilabel_task_in_one_column(tmp_path: Path) -> None:
    """Planet's ``tags`` (``haze primary``): init made each combination a class without a word, and its `missing
    value(s)` line called a row without labels a missing target; it says what the column is and how to expand it."""
    rng = np.random.default_rng(8)
    frame, x = _features(rng)
    lists = [" ".join(t for j, t in enumerate(("haze", "primary", "water")) if row[j] > 0) for row in x]
    train = _write(tmp_path / "data", frame, {"tags": np.array(lists, dtype=object)}, {"tags": "primary"})
    spec, why = infer_spec("planet", train, preset="fast")
    assert spec["task"] == "multiclass"
    note = next(line for line in why if line.startswith("note: 'tags' holds space-separated label lists"))
    assert "(haze, primary, water): a multilabel task written in one column" in note
    assert "str.get_dummies(sep=' ')" in note and "pass --target with the labels" in note


def test_target_columns_the_test_file_leaves_empty_are_still_the_targets(tmp_path: Path) -> None:
    """A test file carrying the target columns unfilled (placeholders): init stopped with `cannot tell the target
    column`; a test column holding values still keeps a sample column from being a target."""
    rng = np.random.default_rng(10)
    frame, x = _features(rng)
    labels = {t: (x[:, j] > 0).astype(float) for j, t in enumerate(("toxic", "obscene"))}
    train = _write(tmp_path / "data", frame, labels, dict.fromkeys(labels, 0.5))
    test = pl.read_csv(tmp_path / "data" / "test.csv")
    test.with_columns(toxic=pl.lit(None), obscene=pl.lit(None)).write_csv(tmp_path / "data" / "test.csv")
    spec, _ = infer_spec("toxic", train, preset="fast")
    assert (spec["task"], spec["data"]["target"]) == ("multilabel", ["toxic", "obscene"])
    test.with_columns(toxic=pl.lit(None), obscene=pl.lit(1.0)).write_csv(tmp_path / "data" / "test.csv")
    with pytest.raises(DataError, match="cannot tell the target column"):
        infer_spec("toxic", train, preset="fast")


def test_a_sample_of_one_target_column_takes_that_targets_predictions(tmp_path: Path) -> None:
    """A multi-target run whose sample scores one of its targets (the others trained alongside): the sample's column
    ``B`` gets the predictions of ``b``. The first target's went under it, whichever target it named, and under a
    column naming none, without a word."""
    predictions = pl.DataFrame({"id": [1, 2], "a": [0.1, 0.2], "b": [0.8, 0.9]})
    meta = {"id_column": "id", "targets": ["a", "b"]}
    sample = pl.DataFrame({"id": ["1", "2"], "B": ["0", "0"]})
    assert match_sample_frame(predictions, sample, tmp_path / "s.csv", meta)["B"].to_list() == [0.8, 0.9]
    with pytest.raises(DataError, match=r"asks for column\(s\) \['z'\] .* must be the run's targets"):
        match_sample_frame(predictions, sample.rename({"B": "z"}), tmp_path / "s.csv", meta)
    # a run of one target (data.target = ['b']): the sample's one column is its column, whatever its name (refused)
    one = {"id_column": "id", "targets": ["b"]}
    written = match_sample_frame(predictions.drop("a"), sample.rename({"B": "z"}), tmp_path / "s.csv", one)
    assert written["z"].to_list() == [0.8, 0.9]


def test_init_names_the_file_holding_the_targets_where_train_has_none(tmp_path: Path) -> None:
    """MoA's layout: ``train_features.csv`` beside ``train_targets_scored.csv`` (the sample's columns). init said
    `cannot tell the target column ...; pass --target`, which no flag could satisfy; it names the file and the join."""
    rng = np.random.default_rng(9)
    frame, x = _features(rng)
    folder = tmp_path / "moa"
    train = _write(folder, frame.rename({"id": "sig_id"}), {}, None)
    train = train.rename(folder / "train_features.csv")
    (folder / "test.csv").rename(folder / "test_features.csv")
    labels = {"sig_id": np.arange(N_TRAIN), "nfkb": (x[:N_TRAIN, 0] > 0).astype(int), "egfr": (x[:N_TRAIN, 1] > 0)}
    pl.DataFrame(labels).write_csv(folder / "train_targets_scored.csv")
    pl.DataFrame({"sig_id": np.arange(N_TRAIN, N_TRAIN + N_TEST), "nfkb": 0.5, "egfr": 0.5}).write_csv(
        folder / "sample_submission.csv"
    )
    # predictions written beside them (the sample's columns too, sorted first) are not the targets
    pl.read_csv(folder / "sample_submission.csv").write_csv(folder / "submission.csv")
    pl.read_csv(folder / "sample_submission.csv").write_csv(folder / "train_oof.csv")
    with pytest.raises(DataError, match=r"columns are not in train_features.csv but in train_targets_scored.csv") as e:
        infer_spec("moa", train, preset="fast")
    assert "merge(pd.read_csv('train_targets_scored.csv'), on='sig_id')" in str(e.value)


def test_only_some_sample_columns_in_train_keeps_one_target(tmp_path: Path) -> None:
    """Two sample columns, one of them a train column: today's rule (the one train column test lacks) holds."""
    rng = np.random.default_rng(6)
    frame, x = _features(rng)
    train = _write(tmp_path / "data", frame, {"y": x[:, 0] * 2}, {"y": 0.0, "y_std": 1.0})
    assert main(["init", "one", "--train", str(train), "--out", str(tmp_path), "--preset", "fast"]) == 0
    spec = load_spec(tmp_path / "one.toml")
    assert (spec.task, spec.data.target) == ("regression", "y")


# ------------------------------------------------------------------------------------------------- distribution
def _regression_table(folder: Path, sample: dict | None, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    frame, x = _features(rng)
    y = np.round(50 + 20 * x[:, 0] + 5 * rng.normal(size=len(x)) * (1 + (x[:, 1] > 0)), 3)
    return _write(folder, frame, {"y": y}, sample)


def test_init_distribution_bins_span_the_target_and_the_config_runs(tmp_path: Path) -> None:
    train = _regression_table(tmp_path / "data", None)
    spec, store, said = _init_and_run(tmp_path, "dist", train, "--task", "distribution")
    y = pl.read_csv(train)["y"]
    assert (spec.task, spec.metric, spec.data.target) == ("distribution", "crps", "y")
    grid = list(spec.grid or ())
    assert grid[0] <= y.min() < grid[1] and grid[-2] < y.max() <= grid[-1]  # spans the observed range, no more
    # about 50 bins of a round step: the smallest 1, 2, 2.5 or 5 x 10^k at least a 50th of the range
    step = min(m * 10.0**k for m in (1, 2, 2.5, 5) for k in range(-3, 4) if m * 10.0**k >= (y.max() - y.min()) / 50)
    assert np.allclose(np.diff(grid), step) and 40 <= len(grid) <= 52 and grid[0] % step == 0
    text = (tmp_path / "competitions" / "dist.toml").read_text()
    said_bins = f"# distribution: bins = {grid[0]:g} .. {grid[-1]:g} step {step:g} (spanning the target's observed"
    assert said_bins in text  # the choice is a comment line of the written config
    assert "distribution: bins" in said
    for name in ("lgbm", "linear"):
        cdf = store.read_predictions(name, "oof").drop("id").to_numpy()
        assert cdf.shape == (N_TRAIN, len(grid))
        assert (np.diff(cdf, axis=1) >= -1e-9).all() and ((cdf >= 0) & (cdf <= 1)).all()  # CDFs
    cv = _cv(store.root)
    assert cv["linear"] < cv["baseline"], cv


def test_init_distribution_reads_the_bins_from_the_sample_columns(tmp_path: Path) -> None:
    bins = list(range(0, 101, 10))
    train = _regression_table(tmp_path / "data", {f"Progression{b}": 0.5 for b in bins})
    spec, store, said = _init_and_run(tmp_path, "cdf", train, "--task", "distribution")
    assert spec.metric == "crps" and list(spec.grid or ()) == bins
    assert "bins = 0 .. 100 (11 values, the sample submission's columns 'Progression0' .. 'Progression100')" in said
    assert store.read_predictions("lgbm", "oof").width == 1 + len(bins)
    sub = tmp_path / "sub.csv"
    assert main(["submit", str(store.root), "--model", "linear", "--out", str(sub)]) == 0
    assert pl.read_csv(sub).columns == ["id", *[f"Progression{b}" for b in bins]]  # the sample's layout


@pytest.mark.parametrize("task", ["distribution", None])
def test_init_reads_the_bins_of_a_sample_heading_them_from_the_top(task: str | None, tmp_path: Path) -> None:
    """A sample heading its bins from the top (``Progression100`` .. ``Progression0``), asked for or not: the bins
    increase (0 .. 100), and `submit` gives each column its own. init said the columns name no bins and asked for
    --grid in the sample's order, a decreasing grid the config refuses."""
    bins = list(range(100, -1, -10))
    train = _regression_table(tmp_path / "data", {f"Progression{b}": 0.5 for b in bins})
    (tmp_path / "data" / "test.csv").unlink()  # without --task, only the sample's prefix names the target
    pl.read_csv(train).rename({"y": "progression"}).write_csv(train)
    spec, _ = infer_spec("cdf", train, task=task, preset="fast")
    assert (spec["task"], spec["data"]["target"]) == ("distribution", "progression")
    assert spec["distribution"]["bins"] == {"first": 0, "last": 100, "step": 10}


def test_init_distribution_quantiles_for_pinball(tmp_path: Path) -> None:
    train = _regression_table(tmp_path / "data", None)
    out = tmp_path / "cfg"
    flags = ["--task", "distribution", "--metric", "pinball", "--preset", "fast"]
    assert main(["init", "q", "--train", str(train), "--out", str(out), *flags]) == 0
    spec = load_spec(out / "q.toml")
    assert spec.distribution is not None and spec.distribution.quantiles == [0.05, 0.25, 0.5, 0.75, 0.95]
    levels = {"q_0.1": 1.0, "q_0.5": 1.0, "q_0.9": 1.0}  # the sample names levels of a target far outside (0, 1)
    train = _regression_table(tmp_path / "data2", levels)
    assert main(["init", "q2", "--train", str(train), "--out", str(out), "--task", "distribution"]) == 0
    spec = load_spec(out / "q2.toml")
    assert spec.metric == "pinball" and spec.distribution is not None and spec.distribution.quantiles == [0.1, 0.5, 0.9]


@pytest.mark.parametrize("names", [["q10", "q50", "q90"], ["Quantile_90", "Quantile_50", "Quantile_10"]])
def test_init_reads_quantile_levels_named_in_percent(names: list[str], tmp_path: Path) -> None:
    """A pinball competition's sample headed q10, q50, q90: levels 0.1, 0.5, 0.9. init wrote CRPS bins at 10, 50, 90
    of the target, silently another task than the competition's."""
    train = _regression_table(tmp_path / "data", dict.fromkeys(names, 1.0))
    out = tmp_path / "cfg"
    assert main(["init", "q", "--train", str(train), "--out", str(out), "--task", "distribution"]) == 0
    spec = load_spec(out / "q.toml")
    assert spec.metric == "pinball" and spec.distribution is not None and spec.distribution.quantiles == [0.1, 0.5, 0.9]


def test_init_distribution_needs_the_grid_when_the_sample_does_not_name_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = _regression_table(tmp_path / "data", {"low": 0.1, "mid": 0.5, "high": 0.9})
    out = tmp_path / "cfg"
    assert main(["init", "g", "--train", str(train), "--out", str(out), "--task", "distribution"]) == 2
    err = capsys.readouterr().err
    assert "do not name their bins or quantile levels" in err and "--grid v1,v2,... (3 values)" in err
    flags = ["--task", "distribution", "--grid", "0:10:1"]
    assert main(["init", "g", "--train", str(train), "--out", str(out), *flags]) == 2
    assert "--grid gives 11 values but the sample submission has 3" in capsys.readouterr().err
    flags = ["--task", "distribution", "--grid", "20,50,80", "--preset", "fast"]
    assert main(["init", "g", "--train", str(train), "--out", str(out), *flags]) == 0
    spec = load_spec(out / "g.toml")
    assert spec.metric == "crps" and list(spec.grid or ()) == [20.0, 50.0, 80.0]


def test_init_distribution_of_a_whole_number_target_has_a_bin_per_value(tmp_path: Path) -> None:
    """Yards gained (whole numbers over a short range, as the NFL's): one bin per value from the least to the most."""
    rng = np.random.default_rng(8)
    frame, x = _features(rng)
    yards = np.clip(np.round(4 + 6 * x[:, 0] + 3 * rng.normal(size=len(x))), -12, 40).astype(int)
    train = _write(tmp_path / "data", frame, {"yards": yards}, None)
    out = tmp_path / "cfg"
    assert main(["init", "nfl", "--train", str(train), "--out", str(out), "--task", "distribution"]) == 0
    spec = load_spec(out / "nfl.toml")
    seen = yards[:N_TRAIN]
    assert list(spec.grid or ()) == list(range(seen.min(), seen.max() + 1))


def test_init_distribution_says_a_one_column_sample_does_not_fit(tmp_path: Path) -> None:
    train = _regression_table(tmp_path / "data", {"y": 0.0})
    spec, why = infer_spec("one", train, task="distribution", preset="fast")
    assert spec["distribution"]["bins"]["step"] == 2.5  # the range's bins, as with no sample
    assert any("one prediction column ('y')" in line and "`submit` will refuse it" in line for line in why)


# --------------------------------------------------------------------------------- a distribution read from the sample
def _yards_table(folder: Path, sample: dict | None, seed: int = 9) -> Path:
    """Yards gained, whole numbers over a short range (as the NFL Big Data Bowl 2020's, scored by CRPS)."""
    rng = np.random.default_rng(seed)
    frame, x = _features(rng)
    yards = np.clip(np.round(4 + 6 * x[:, 0] + 3 * rng.normal(size=len(x))), -15, 40).astype(int)
    return _write(folder, frame, {"Yards": yards}, sample)


def test_init_infers_a_crps_distribution_from_a_grid_sample_and_the_config_runs(tmp_path: Path) -> None:
    """NFL-like: the sample's ``Yards-99`` .. ``Yards99`` are a grid over train's numeric ``Yards``; no --task."""
    bins = list(range(-99, 100))
    train = _yards_table(tmp_path / "data", {f"Yards{b}": 0.5 for b in bins})
    (tmp_path / "data" / "test.csv").unlink()  # without test.csv, only the sample's prefix names the target
    spec, store, said = _init_and_run(tmp_path, "nfl", train)
    assert (spec.task, spec.metric, spec.data.target) == ("distribution", "crps", "Yards")
    assert list(spec.grid or ()) == bins
    assert "target = 'Yards' (named by the sample submission's columns Yards-99 .. Yards99)" in said
    assert (
        "task = 'distribution' (the sample submission's 199 columns Yards-99 .. Yards99 are a grid over the numeric "
        "target 'Yards')" in said
    )
    cdf = store.read_predictions("linear", "oof").drop("id").to_numpy()
    assert cdf.shape == (N_TRAIN, len(bins)) and (np.diff(cdf, axis=1) >= -1e-9).all()
    cv = _cv(store.root)
    assert cv["linear"] < cv["baseline"], cv  # the yards are learnt from the features


@pytest.mark.parametrize("named_by", ["prefix", "flag"])
def test_init_infers_pinball_from_a_quantile_sample(named_by: str, tmp_path: Path) -> None:
    """Levels in (0, 1) over a target outside it: quantiles, pinball. The target named by the columns' prefix
    (``sales_0.1``, separators and case aside), or by --target when the prefix names no column (``q_0.1``)."""
    levels = [0.1, 0.5, 0.9]
    prefix = "SALES_" if named_by == "prefix" else "q_"
    train = _regression_table(tmp_path / "data", {f"{prefix}{q}": 1.0 for q in levels})
    if named_by == "prefix":
        frame = pl.read_csv(train).rename({"y": "sales"})
        frame.write_csv(train)
        pl.read_csv(tmp_path / "data" / "test.csv").with_columns(sales=pl.lit(0.0)).write_csv(
            tmp_path / "data" / "test.csv"
        )  # test has the column too: only the prefix tells the target
    out = tmp_path / "cfg"
    flags = ["--target", "y"] if named_by == "flag" else []
    assert main(["init", "q", "--train", str(train), "--out", str(out), "--preset", "fast", *flags]) == 0
    spec = load_spec(out / "q.toml")
    assert spec.task == "distribution" and spec.metric == "pinball"
    assert spec.distribution is not None and spec.distribution.quantiles == levels
    assert spec.data.target == ("sales" if named_by == "prefix" else "y")


@pytest.mark.parametrize("levels", ["text", "numbers"])
def test_a_numbered_class_probability_sample_stays_multiclass(levels: str, tmp_path: Path) -> None:
    """Otto-like: ``Class_1`` .. ``Class_9`` are the classes of ``target`` (as text, or as the numbers 1 .. 9 with
    --target naming it): one probability per class, not a distribution."""
    rng = np.random.default_rng(10)
    frame, x = _features(rng)
    k = np.digitize(x[:, 0] + 0.3 * x[:, 1], np.quantile(x[:, 0], np.linspace(0, 1, 10)[1:-1])) + 1
    target = np.array([f"Class_{v}" for v in k]) if levels == "text" else k
    train = _write(tmp_path / "data", frame, {"target": target}, {f"Class_{v}": 1 / 9 for v in range(1, 10)})
    flags = ["--target", "target"] if levels == "numbers" else []
    spec, store, said = _init_and_run(tmp_path, "otto", train, *flags)
    assert (spec.task, spec.metric, spec.data.target) == ("multiclass", "log_loss", "target")
    assert "distribution" not in said
    assert store.read_predictions("lgbm", "oof").width == 1 + 9


@pytest.mark.parametrize("labels", ["text", "numbers"])
def test_class_columns_named_with_a_prefix_are_the_classes_in_the_submission(labels: str, tmp_path: Path) -> None:
    """Cirrhosis-like: ``Status_C``, ``Status_CL``, ``Status_D`` for the classes ``C``, ``CL``, ``D`` of ``Status``
    (or ``class_0`` .. ``class_2`` for the numbers 0 .. 2, in another order): init reads log loss from them, and
    ``submit`` writes each class's probability under the sample's name for it (it used to stop: no such column)."""
    rng = np.random.default_rng(11)
    frame, x = _features(rng)
    code = np.digitize(x[:, 0], [-0.4, 0.4])
    names, prefix = (["C", "CL", "D"], "Status_") if labels == "text" else (["0", "1", "2"], "class_")
    target = np.array(names)[code] if labels == "text" else code
    columns = [f"{prefix}{names[i]}" for i in (2, 0, 1)]
    train = _write(tmp_path / "data", frame, {"Status": target}, dict.fromkeys(columns, 1 / 3))
    spec, store, said = _init_and_run(tmp_path, "prefixed", train, "--target", "Status")
    assert (spec.task, spec.metric) == ("multiclass", "log_loss")
    assert "one probability column per class: 3" in said
    assert main(["submit", str(store.root), "--model", "lgbm"]) == 0
    sub = pl.read_csv(store.root / "submissions" / "lgbm.csv")
    assert sub.columns == ["id", *columns]
    own = store.read_predictions("lgbm", "test")
    np.testing.assert_array_equal(sub["id"].to_numpy(), np.arange(N_TRAIN, N_TRAIN + N_TEST))
    for column, label in zip(columns, [names[i] for i in (2, 0, 1)], strict=True):
        np.testing.assert_allclose(sub[column].to_numpy(), own[f"p_{label}"].to_numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("columns", "classes", "prefix"),
    [
        (["Status_C", "Status_CL", "Status_D"], ["C", "CL", "D"], "Status_"),
        (["c_1", "c_11"], ["1", "11"], "c_"),  # 'c_1' is a prefix of 'c_11', but not of a column for every class
        (["STATUS_c", "status_d"], ["C", "D"], "STATUS_"),  # case aside; the sample's first spelling
        (["a", "b"], ["a", "b"], ""),  # the labels themselves
        (["p_a", "q_b"], ["a", "b"], ""),  # no one prefix
        (["x_a", "x_b"], ["a", "c"], ""),  # no column for 'c'
    ],
)
def test_the_prefix_before_each_class_label(columns: list[str], classes: list[str], prefix: str) -> None:
    assert class_prefix(columns, classes) == prefix


def test_a_grid_sample_naming_no_train_column_stays_on_todays_path_and_names_the_flag(tmp_path: Path) -> None:
    """``P0`` .. ``P100`` over a train table with no column ``P``: the grid may be a distribution over some column, or
    class probabilities of a numbered target; init does not guess: today's rules pick the target (here 'y', the only
    column test lacks) and a line says to pass --target for a distribution, which then infers it."""
    bins = list(range(0, 101, 10))
    train = _regression_table(tmp_path / "data", {f"P{b}": 0.5 for b in bins})
    spec, why = infer_spec("p", train, preset="fast")
    assert (spec["task"], spec["data"]["target"]) == ("regression", "y")
    assert any("no train column is named 'P'" in line and "pass --target COLUMN" in line for line in why), why
    spec, why = infer_spec("p", train, target="y", preset="fast")
    assert (spec["task"], spec["metric"], spec["distribution"]) == (
        "distribution",
        "crps",
        {"bins": {"first": 0.0, "last": 100.0, "step": 10.0}},
    )


def test_a_grid_sample_over_a_text_target_keeps_todays_task(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    frame, x = _features(rng)
    grade = np.array(["low", "mid", "high", "top"])[np.digitize(x[:, 0], [-0.5, 0, 0.5])]
    train = _write(tmp_path / "data", frame, {"grade": grade}, {f"grade{b}": 0.5 for b in range(5)})
    spec, why = infer_spec("g", train, preset="fast")
    assert (spec["task"], spec["data"]["target"]) == ("multiclass", "grade")
    assert not any("distribution" in line for line in why)


def test_a_grid_sample_names_the_target_of_task_distribution_and_the_flag_when_nothing_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """test.csv has every train column (no rule finds the target): ``--task distribution`` takes the one the sample's
    prefix names; bare numbers (``0`` .. ``10``) name none, so init stops and says --target."""
    train = _yards_table(tmp_path / "data", {f"Yards{b}": 0.5 for b in range(-20, 41)})
    pl.read_csv(train).tail(N_TEST).write_csv(tmp_path / "data" / "test.csv")  # test with the Yards column
    spec, _ = infer_spec("nfl", train, task="distribution", preset="fast")
    assert (spec["data"]["target"], spec["metric"]) == ("Yards", "crps")
    assert spec["distribution"] == {"bins": {"first": -20.0, "last": 40.0, "step": 1.0}}
    train = _yards_table(tmp_path / "bare", {str(b): 0.5 for b in range(11)})
    pl.read_csv(train).tail(N_TEST).write_csv(tmp_path / "bare" / "test.csv")
    assert main(["init", "bare", "--train", str(train), "--out", str(tmp_path / "cfg")]) == 2
    err = capsys.readouterr().err
    assert "cannot tell the target column" in err and "columns 0 .. 10 look like a distribution's grid" in err, err
    assert main(["init", "bare", "--train", str(train), "--out", str(tmp_path / "cfg"), "--target", "Yards"]) == 0
    spec = load_spec(tmp_path / "cfg" / "bare.toml")
    assert (spec.task, spec.metric, list(spec.grid or ())) == ("distribution", "crps", list(range(11)))
