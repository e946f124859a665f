"""No silent wrong output on messy competition files: every run exits 0 with the right values, or 2 with the fix.

Competitions from :mod:`messy` (thousands separators, placeholders, inf, odd column names, a saved index, zero-padded
ids, text labels, an empty test column, ``;`` / tab separators) run through the real command line and are submitted;
the submission must spell ids and labels as the competition's files do, and the values the models saw must be the
values the files mean. Also here: RMSLE predictions back on the target's scale, clipping into the metric's domain,
label order, and model-safe feature names.
"""

from __future__ import annotations

import gzip
import io
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from messy import LEVELS, make_messy

from kaggle_kit.cli import main
from kaggle_kit.config import build_spec, load_spec
from kaggle_kit.errors import DataError, DataWarning
from kaggle_kit.features import model_feature_names, original_feature_names
from kaggle_kit.init_config import _sample_metric, infer_spec
from kaggle_kit.readers.competition import check_new_test, load_competition, prepare_competition
from kaggle_kit.readers.tables import ReadOptions, read_table
from kaggle_kit.report.training import feature_importance
from kaggle_kit.runtime.store import RunStore
from kaggle_kit.sample_submission import match_sample, read_sample

SCENARIOS = {
    "binary-everything": dict(
        task="binary",
        thousands=True,
        placeholder=True,
        inf=True,
        odd_names=True,
        unnamed_index=True,
        zero_padded_ids=True,
        text_labels=True,
        models=("lightgbm", "xgboost"),
    ),
    "qwk-semicolons-decimal-commas": dict(
        task="multiclass",
        separator=";",
        thousands=True,
        text_labels=True,
        empty_test_column=True,
        zero_padded_ids=True,
        placeholder=True,
    ),
    "rmsle-tabs": dict(
        task="regression", separator="\t", thousands=True, inf=True, odd_names=True, models=("lightgbm", "ridge")
    ),
}


def _random_scenario(seed: int) -> dict[str, object]:
    """A combination drawn from the seed: every flag on or off, any separator, any task."""
    rng = np.random.default_rng(seed)
    flags = ("thousands", "placeholder", "inf", "odd_names", "unnamed_index", "zero_padded_ids", "text_labels")
    drawn: dict[str, object] = {f: bool(rng.integers(2)) for f in (*flags, "empty_test_column")}
    drawn["task"] = ("binary", "multiclass", "regression")[int(rng.integers(3))]
    drawn["separator"] = (",", ";", "\t", "|")[int(rng.integers(4))]
    drawn["models"] = ("lightgbm", "xgboost")
    return drawn


SCENARIOS["pipes-regression-index"] = dict(
    task="regression", separator="|", unnamed_index=True, placeholder=True, zero_padded_ids=True
)
SCENARIOS.update({f"random-{seed}": _random_scenario(seed) for seed in (1, 2)})


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_messy_competition_runs_and_submits_exactly(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = make_messy(tmp_path / "comp", **SCENARIOS[name])  # type: ignore[arg-type]
    runs = tmp_path / "runs"
    code, err = cli(["run", str(m.config), "--runs-root", str(runs)], capsys)
    assert code == 0, f"{m.flags}: {err}"
    assert "Traceback" not in err, err
    run_dir = runs / "messy"

    # the values the models saw are the values the files mean
    spec = load_spec(m.config)
    data = load_competition(spec)
    for column, expected in m.parsed.items():
        got = data.train[column].cast(pl.Float64).to_list()
        assert got == pytest.approx(expected, nan_ok=False), (column, m.flags)
    if "target" in m.parsed:  # the regression target is read the same way, into the values the models fit
        assert data.y.tolist() == pytest.approx(m.parsed["target"])
    assert "" not in data.features  # a saved index is never a feature
    if "inf" in m.flags:
        assert "warning: infinite values in the train column(s) 'ratio' (2 values) are read as missing" in err
    if "unnamed_index" in m.flags:
        assert "warning: column(s) '' of train (unnamed, the distinct row numbers 0..59" in err
    if "empty_test_column" in m.flags:
        assert "warning: column(s) 'blank' are empty in every test row" in err

    meta = RunStore(run_dir).read_meta()
    if m.task == "multiclass" and "text_labels" in m.flags:
        assert meta["classes"] == list(LEVELS)  # the order the config gives, not alphabetical
    for model in [n for n in meta["models"] if n != "baseline"]:
        out = tmp_path / f"{model}.csv"
        code, err = cli(["submit", str(run_dir), "--model", model, "--out", str(out)], capsys)
        assert code == 0, err
        sub = pl.read_csv(out, infer_schema=False)  # as text: the spelling is what is checked
        assert sub.columns == ["id", "target"]
        assert sub["id"].to_list() == list(m.test_ids), m.flags  # "007" stays "007", in the sample's order
        if m.task == "regression":
            assert (sub["target"].cast(pl.Float64) >= 0).all()
        else:
            assert set(sub["target"].to_list()) <= set(m.labels), (m.flags, set(sub["target"].to_list()))
        if "odd_names" in m.flags and meta["kinds"][model] in ("xgboost", "lightgbm"):
            importance = feature_importance(RunStore(run_dir), model)
            assert importance is not None
            assert set(importance.features) <= set(data.features)  # reported by the columns' own names
            assert "x[1]" in importance.features and "größe" in importance.features


# ------------------------------------------------------------------------------------------------ RMSLE
def _rmsle_competition(folder: Path) -> Path:
    """A price-like target with many zeros, so a linear model in log space undershoots below 0 there."""
    rng = np.random.default_rng(3)
    n = 90
    x = rng.normal(size=n)
    y = np.round(np.where(x < -0.3, 0.0, np.expm1(np.abs(1.5 * (x + 0.3) + 0.1 * rng.normal(size=n)))), 3)
    folder.mkdir(parents=True)
    pl.DataFrame({"id": np.arange(n), "x": x, "z": rng.normal(size=n), "price": y}).write_csv(folder / "train.csv")
    config = folder / "c.toml"
    config.write_text(
        'name = "prices"\ntask = "regression"\nmetric = "rmsle"\nseed = 0\n\n[data]\ntrain = "train.csv"\n'
        'id = "id"\ntarget = "price"\n\n[folds]\nn_splits = 3\n\n[run]\nn_jobs = 1\nthreads_per_task = 1\n\n'
        '[[models]]\nname = "ridge"\nkind = "sklearn"\nestimator = "sklearn.linear_model.Ridge"\n'
    )
    return config


def test_rmsle_oof_is_on_the_target_scale_and_clipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """OOF = expm1 of an independent log-space ridge per fold, clipped at 0; the leaderboard says how many were."""
    from sklearn.linear_model import Ridge

    config = _rmsle_competition(tmp_path / "comp")
    capsys.readouterr()
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs")]) == 0
    printed = capsys.readouterr().out
    store = RunStore(tmp_path / "runs" / "prices")
    frame = pl.read_csv(tmp_path / "comp" / "train.csv")
    X = frame.select("x", "z").to_numpy().astype(np.float32)
    y = frame["price"].to_numpy()
    folds = store.load_folds(3, "complement")
    assert folds is not None
    log_space = np.empty(len(y))
    for k in range(3):
        tr, va = folds.train_valid(0, k)
        log_space[va] = Ridge().fit(X[tr], np.log1p(y[tr])).predict(X[va])
    expected = np.maximum(np.expm1(log_space), 0.0)
    n_below = int((np.expm1(log_space) < 0).sum())
    assert n_below > 0  # the data makes the clip matter
    oof = store.read_predictions("ridge", "oof")["prediction"].to_numpy()
    np.testing.assert_allclose(oof, expected, rtol=1e-4, atol=1e-5)
    summary = store.read_summary("ridge")
    assert summary.note.startswith(f"{n_below} OOF and 0 test prediction value(s)")
    assert (
        f"note: ridge: {n_below} OOF" in printed and "outside [0, inf], what rmsle scores, and were clipped" in printed
    )


def test_rmsle_negative_target_fails_before_anything_is_fitted(tmp_path: Path) -> None:
    config = _rmsle_competition(tmp_path / "comp")
    path = tmp_path / "comp" / "train.csv"
    pl.read_csv(path).with_columns(pl.col("price") - 5).write_csv(path)
    with pytest.raises(DataError, match=r"target column 'price' has \d+ value\(s\) outside \[0, inf\].*'rmse'"):
        load_competition(load_spec(config))
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs")]) == 2
    assert not (tmp_path / "runs" / "prices").exists()


# ------------------------------------------------------------------------------------------------ labels
def _spec(tmp_path: Path, task: str, metric: str, **data: object):  # type: ignore[no-untyped-def]
    return build_spec(
        {
            "name": "t",
            "task": task,
            "metric": metric,
            "data": {"train": "train.csv", "target": "y", **data},
            "models": [{"name": "m", "kind": "dummy"}],
        },
        base_dir=tmp_path,
    )


@pytest.mark.parametrize(
    ("text", "classes"),
    [
        ("y,x\nTrue,1\nFalse,2\nTrue,3\n", ("False", "True")),  # not polars' true / false
        ("y,x\n1.0,1\n0.0,2\n1.0,3\n", ("0.0", "1.0")),  # the float form is kept
        ("y,x\n07,1\n10,2\n8,3\n", ("07", "8", "10")),  # zero padding kept, numeric order
        ("y,x\n9.0,1\n10.0,2\n11.0,3\n", ("9.0", "10.0", "11.0")),  # numeric, not alphabetical, order
        ("y,x\n2,1\n1,2\n3,3\n", (1, 2, 3)),  # plain integers stay integers
    ],
)
def test_class_labels_keep_their_spelling_in_numeric_order(
    tmp_path: Path, text: str, classes: tuple[object, ...]
) -> None:
    (tmp_path / "train.csv").write_text(text)
    task = "binary" if len(classes) == 2 else "multiclass"
    data = load_competition(_spec(tmp_path, task, "accuracy"))
    assert data.classes == classes
    labels = pl.read_csv(io.StringIO(text), infer_schema=False)["y"].to_list()
    assert [str(data.classes[c]) for c in data.y] == labels  # each row's code names its own label


def test_classes_key_orders_text_labels_for_qwk(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("y,x\nmid,1\nlow,2\nhigh,3\nlow,4\n")
    data = load_competition(_spec(tmp_path, "multiclass", "qwk", classes=list(LEVELS)))
    assert data.classes == LEVELS
    assert data.y.tolist() == [1, 0, 2, 0]
    with pytest.raises(DataError, match=r"labels of the target column 'y' are text.*classes = \["):
        load_competition(_spec(tmp_path, "multiclass", "qwk"))
    assert load_competition(_spec(tmp_path, "multiclass", "accuracy")).classes == ("high", "low", "mid")


def test_parquet_text_columns_get_the_same_reading(tmp_path: Path) -> None:
    """na_values and thousands apply to a parquet file's text columns too (a CSV reader applies them itself): to
    numbers written as text, and to any text (a category's '?' was a level of its own, and dates among '?' stayed
    text)."""
    days = ["03/22/2022", "?", "12/31/2021"] * 12
    frame = pl.DataFrame({"x": ["1,200.5", "?", "3"] * 12, "city": ["a", " ?", "b"] * 12, "day": days})
    frame.with_columns(y=pl.Series([0, 1, 0] * 12)).write_parquet(tmp_path / "train.parquet")
    spec = build_spec(
        {
            "name": "t",
            "task": "binary",
            "metric": "accuracy",
            "data": {"train": "train.parquet", "target": "y", "na_values": ["?"], "thousands": ","},
            "models": [{"name": "m", "kind": "dummy"}],
        },
        base_dir=tmp_path,
    )
    with pytest.warns(DataWarning, match=r"'day' \(e.g. '03/22/2022': '%m/%d/%Y'\) hold dates"):
        train = load_competition(spec).train
    assert train["x"].to_list()[:3] == [1200.5, None, 3.0] and train["city"].to_list()[:3] == ["a", None, "b"]
    assert train["day"].to_list()[:3] == [date(2022, 3, 22), None, date(2021, 12, 31)]
    # a CSV file, read the same way (its reader matches ' ?' exactly: it was a category of its own)
    frame.with_columns(y=pl.Series([0, 1, 0] * 12)).write_csv(tmp_path / "train.csv")
    with pytest.warns(DataWarning, match="hold dates"):
        from_csv = load_competition(
            spec.model_copy(update={"data": spec.data.model_copy(update={"train": Path("train.csv")})})
        ).train
    assert from_csv.equals(train)


def test_sample_ids_spelled_otherwise_are_matched_and_written_as_the_sample_spells_them(tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text("id,target\n008,0\n007,0\n")
    frame = pl.DataFrame({"id": [7, 8], "target": [0.25, 0.75]})
    out = match_sample(frame, sample, {"id_column": "id"})
    assert out["id"].to_list() == ["008", "007"]
    assert out["target"].to_list() == [0.75, 0.25]


def test_a_sample_id_column_headed_otherwise_is_the_id_and_keeps_its_header(tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text("ID,target\n8,0\n7,0\n")
    frame = pl.DataFrame({"id": [7, 8], "target": [0.25, 0.75]})
    out = match_sample(frame, sample, {"id_column": "id"})
    assert out.columns == ["ID", "target"]
    assert out["ID"].to_list() == ["8", "7"] and out["target"].to_list() == [0.75, 0.25]


def test_sample_ids_written_as_floats_are_matched_and_kept(tmp_path: Path) -> None:
    """pandas writes an id column that once held a missing value as floats ("8.0"): the same ids as the test file's
    8 and 7, written as the sample spells them; a "7.5" is no id of the test file, so it stays an error."""
    sample = tmp_path / "sample.csv"
    sample.write_text("id,target\n8.0,0\n7.0,0\n")
    frame = pl.DataFrame({"id": [7, 8], "target": [0.25, 0.75]})
    out = match_sample(frame, sample, {"id_column": "id"})
    assert out["id"].to_list() == ["8.0", "7.0"]
    assert out["target"].to_list() == [0.75, 0.25]
    sample.write_text("id,target\n8.0,0\n7.5,0\n")
    with pytest.raises(DataError, match=r"test id\(s\) are not in it \(e.g. '7'\)"):
        match_sample(frame, sample, {"id_column": "id"})


# ------------------------------------------------------------------------------------------------ names
def test_model_feature_names_are_safe_unique_and_map_back() -> None:
    names = ["x[1]", "x_1_", "y<2>", "a:b", "{c}", '"q"', "größe", "", "plain", "f1_x_1", "f0_x_1"]
    safe = model_feature_names(names)
    assert len(set(safe)) == len(names)
    assert all(n.isascii() and n.replace("_", "a").isalnum() for n in safe)
    assert safe[names.index("plain")] == "plain" and safe[names.index("x_1_")] == "x_1_"  # plain names unchanged
    assert original_feature_names(names) == dict(zip(safe, names, strict=True))


def test_odd_names_reach_both_gbdt_libraries(tmp_path: Path) -> None:
    """Direct adapter fits on names XGBoost and LightGBM refuse as they are (the CLI run above does the same)."""
    from kaggle_kit.config import ModelSpec
    from kaggle_kit.features import TableEncoder
    from kaggle_kit.metrics import get_metric
    from kaggle_kit.models import FitContext, make_adapter

    rng = np.random.default_rng(0)
    frame = pl.DataFrame({n: rng.normal(size=40) for n in ("x[1]", "y<2>", "a:b", "{c}", "größe")})
    y = (frame["x[1]"].to_numpy() > 0).astype(np.int64)
    enc = TableEncoder(tuple(frame.columns), ())
    X = enc.transform(frame, enc.fit(frame))
    ctx = FitContext("binary", 2, get_metric("roc_auc"), 0, "cpu", threads=1)
    for kind in ("xgboost", "lightgbm"):
        adapter = make_adapter(ModelSpec(name="m", kind=kind, num_boost_round=5, early_stopping_rounds=None))
        fitted = adapter.fit(X, y, X, y, ctx)
        assert adapter.predict(fitted, X, ctx).shape == (40, 2)


def test_adversarial_validation_takes_odd_names_and_reports_them() -> None:
    from kaggle_kit.report.adversarial import adversarial_validation

    rng = np.random.default_rng(0)
    names = ("x[1]", "a:b", "größe")
    train = pl.DataFrame({n: rng.normal(size=60) for n in names})
    test = pl.DataFrame({n: rng.normal(size=60) + (2.0 if n == "a:b" else 0.0) for n in names})
    result = adversarial_validation(train, test, names, n_splits=2, num_boost_round=10)
    assert result.features[0].name == "a:b"  # the shifted column, by its own name


def test_unnamed_index_is_dropped_only_when_it_is_row_numbers(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "binary", "accuracy")
    train = pl.DataFrame({"Unnamed: 0": [3, 1, 2, 0], "x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    with pytest.warns(UserWarning, match=r"'Unnamed: 0' of train .* are dropped"):
        assert "Unnamed: 0" not in prepare_competition(spec, train, None).features
    kept = train.with_columns(pl.Series("Unnamed: 0", [1, 1, 2, 0]))  # repeats: a real (unnamed) column
    assert "Unnamed: 0" in prepare_competition(spec, kept, None).features


def test_zero_padded_ids_join_long_tables_and_keep_their_spelling(tmp_path: Path) -> None:
    """Labels and long tables both spell ids "001": read as text on both sides, they join, and stay "001"."""
    rows = [(f"{i:03d}", t, float(i + t)) for i in range(1, 7) for t in range(3)]
    long = pl.DataFrame(rows, schema=["sid", "step", "a"], orient="row")
    long.filter(pl.col("sid") <= "004").write_csv(tmp_path / "X_train.csv")
    long.filter(pl.col("sid") > "004").write_csv(tmp_path / "X_test.csv")
    pl.DataFrame({"sid": ["001", "002", "003", "004"], "label": [0, 1, 0, 1]}).write_csv(tmp_path / "y.csv")
    spec = build_spec(
        {
            "name": "s",
            "task": "binary",
            "metric": "accuracy",
            "data": {
                "train": "y.csv",
                "id": "sid",
                "target": "label",
                "sequences": {"train": "X_train.csv", "test": "X_test.csv", "order_by": "step"},
            },
            "models": [{"name": "m", "kind": "dummy"}],
        },
        base_dir=tmp_path,
    )
    data = load_competition(spec)
    assert data.train_ids.to_list() == ["001", "002", "003", "004"]
    assert data.test_ids is not None and data.test_ids.to_list() == ["005", "006"]
    assert data.train["a__t2"].to_list() == [3.0, 4.0, 5.0, 6.0]  # each id got its own sequence


def test_init_writes_a_config_for_messy_files_and_run_then_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = make_messy(tmp_path / "comp", task="binary", thousands=True)
    code, err = cli(["init", "messy2", "--train", str(m.folder / "train.csv"), "--out", str(tmp_path / "cfg")], capsys)
    assert code == 0, err
    code, err = cli(["run", str(tmp_path / "cfg" / "messy2.toml"), "--runs-root", str(tmp_path / "runs")], capsys)
    assert code == 2 and "column 'amount' of the train file" in err and "set thousands = ','" in err, err


def test_a_new_test_files_headers_spelled_otherwise_are_trains_columns() -> None:
    """``predict``'s check of a new test file: ``" X1 "`` and ``"CAT"`` are train's ``x1`` and ``cat`` (renamed, with a
    warning naming each), their values unchanged; two test columns that both could be ``x1`` are left to the error."""
    record = {"x1": ["Float64", "numeric"], "cat": ["String", "categorical"]}
    test = pl.DataFrame({"Id ": [1, 2], " X1 ": [0.5, 1.5], "CAT": ["a", "b"]})
    with pytest.warns(DataWarning) as caught:
        out = check_new_test(test, record, id_column="id", target="target", categorical=[])
    said = [str(w.message) for w in caught]
    named = "named otherwise than in train (spaces or case) are read as train's:"
    assert f"test id column(s) {named} 'Id ' as 'id'" in said
    assert f"test column(s) {named} ' X1 ' as 'x1', 'CAT' as 'cat'" in said
    assert out.columns == ["id", "x1", "cat"]
    assert out["x1"].to_list() == [0.5, 1.5] and out["cat"].to_list() == ["a", "b"]
    both = test.rename({"Id ": "id"}).with_columns(pl.col(" X1 ").alias("x1 "))
    with pytest.raises(DataError, match=r"test lacks feature column\(s\) 'x1' that train has"):
        check_new_test(both, record, id_column="id", target="target", categorical=[])


@pytest.mark.parametrize("missing", ["NA", ""])
def test_init_counts_no_class_for_a_missing_target(missing: str, tmp_path: Path) -> None:
    """A yes/no target with a few missing cells is binary, not three classes (init wrote multiclass and log loss,
    which still ran once the rows were dropped); run then names the missing rows."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    target = np.where(x > 0, "yes", "no").astype(object)
    target[[3, 17]] = missing
    folder = tmp_path / "comp"
    folder.mkdir()
    pl.DataFrame({"id": range(40), "x": x, "target": target.tolist()}).write_csv(folder / "train.csv")
    spec, why = infer_spec("na", folder / "train.csv", preset="fast")
    assert spec["task"] == "binary" and "task = 'binary' (2 distinct target values)" in why


@pytest.mark.parametrize(
    ("sample_value", "rare", "task"),
    [
        ("9.5", False, "regression"),  # the sample predicts decimals: a number
        ("10.0", False, "regression"),
        ("10", True, "regression"),  # 'classes' held by 1 row: no stratified folds, so a count (Abalone's Rings)
        ("10", False, "multiclass"),  # every class held by 5+ rows, the sample a label: classes as before
    ],
)
def test_init_reads_a_whole_number_target_as_a_count_when_it_cannot_be_classes(
    sample_value: str, rare: bool, task: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(4)
    n = 200
    x = rng.normal(size=n)
    rings = np.clip(np.round(10 + 4 * x), 1, 29) if rare else 5 + np.arange(n) % 12
    folder = tmp_path / "comp"
    folder.mkdir()
    pl.DataFrame({"id": range(n), "x": x, "Rings": rings.astype(np.int64)}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": range(n, n + 20), "x": x[:20]}).write_csv(folder / "test.csv")
    rows = "".join(f"{i},{sample_value}\n" for i in range(n, n + 20))
    (folder / "sample_submission.csv").write_text("id,Rings\n" + rows)
    spec, why = infer_spec("rings", folder / "train.csv", preset="fast")
    assert spec["task"] == task, why
    if task == "regression":
        assert any("pass --task multiclass if" in line for line in why), why


@pytest.mark.parametrize(
    ("labels", "sample", "task", "said"),
    [
        ("text", "label", "multiclass", "60 distinct target values: text labels"),  # was 'regression', then refused
        ("text", "per-class", "multiclass", "text labels"),
        ("numbers", "per-class", "multiclass", "the sample submission has a column per class (60)"),
        ("numbers", "value", "regression", "task = 'regression' (60 distinct target values)"),  # a number: as before
    ],
)
def test_init_reads_over_50_text_labels_or_a_sample_column_per_class_as_classes(
    labels: str, sample: str, task: str, said: str, tmp_path: Path
) -> None:
    """Over 50 distinct values made a whole target 'regression': 60 text labels then failed the run ('target is
    String, not numeric'); a sample with one probability column per class says they are classes too."""
    n = 600
    codes = np.arange(n) % 60
    y = [f"c{c}" for c in codes] if labels == "text" else codes.tolist()
    folder = tmp_path / "comp"
    folder.mkdir()
    pl.DataFrame({"id": range(n), "x": np.arange(n) * 0.5, "y": y}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": range(n, n + 4), "x": [1.0] * 4}).write_csv(folder / "test.csv")
    names = sorted({str(v) for v in y})
    if sample == "per-class":
        out = pl.DataFrame({"id": range(n, n + 4), **{c: [1 / 60] * 4 for c in names}})
    else:
        out = pl.DataFrame({"id": range(n, n + 4), "y": [y[0]] * 4 if sample == "label" else [2.5] * 4})
    out.write_csv(folder / "sample_submission.csv")
    spec, why = infer_spec("many", folder / "train.csv", preset="fast")
    assert spec["task"] == task, why
    assert any(said in line for line in why), why
    if sample == "per-class":
        assert spec["metric"] == "log_loss", why


def test_a_sample_label_that_is_no_training_label_is_warned(tmp_path: Path) -> None:
    """Train labels 0, 1, 2 and a sample holding ``class_1``: the submission writes train's labels (it cannot know the
    competition's mapping) and says so; a sample holding a training label, or a number, says nothing."""
    frame = pl.DataFrame({"id": [7, 8], "target": [1, 2], "0": [0.1, 0.1], "1": [0.8, 0.1], "2": [0.1, 0.8]})
    meta = {"id_column": "id", "classes": [0, 1, 2]}
    sample = tmp_path / "sample.csv"
    sample.write_text("id,target\n7,class_1\n8,class_1\n")
    with pytest.warns(DataWarning, match=r"holds 'class_1' in 'target', which is none of the training labels"):
        out = match_sample(frame, sample, meta)
    assert out["target"].to_list() == [1, 2]
    for quiet in ("1", "0.5"):
        sample.write_text(f"id,target\n7,{quiet}\n8,{quiet}\n")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert match_sample(frame, sample, meta)["target"].to_list() == [1, 2]


def test_whole_number_labels_train_spells_with_a_point_are_written_as_the_sample_spells_them(tmp_path: Path) -> None:
    """pandas writes an integer target that held a missing value as 0.0 / 1.0; the labels keep train's spelling, so
    the submission wrote '1.0' where the sample (and Kaggle's scorer) has '1': every row a wrong label, without a
    word. A sample spelling whole numbers so gets them so; a sample spelling '0.0', and other labels, as they are."""
    frame = pl.DataFrame({"id": [7, 8], "target": ["1.0", "0.0"], "0.0": [0.2, 0.9], "1.0": [0.8, 0.1]})
    meta = {"id_column": "id", "classes": ["0.0", "1.0"], "metric": "accuracy"}
    sample = tmp_path / "sample.csv"
    sample.write_text("id,target\n7,0\n8,0\n")
    assert match_sample(frame, sample, meta)["target"].to_list() == ["1", "0"]
    sample.write_text("id,target\n7,0.0\n8,0.0\n")
    assert match_sample(frame, sample, meta)["target"].to_list() == ["1.0", "0.0"]
    codes = frame.with_columns(target=pl.Series(["007", "012"]))
    sample.write_text("id,target\n7,0\n8,0\n")
    assert match_sample(codes, sample, {**meta, "classes": ["007", "012"]})["target"].to_list() == ["007", "012"]


def test_init_reads_a_sample_of_whole_numbers_as_labels_of_a_target_spelled_with_a_point(tmp_path: Path) -> None:
    """Train's 0.0 / 1.0 and the sample's 0: labels, so accuracy (init said the sample does not tell: roc_auc)."""
    folder = tmp_path / "comp"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=40)
    pl.DataFrame({"id": range(40), "x": x, "target": (x > 0).astype(float)}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": range(40, 50), "x": x[:10]}).write_csv(folder / "test.csv")
    pl.DataFrame({"id": range(40, 50), "target": 0}).write_csv(folder / "sample_submission.csv")
    spec, why = infer_spec("points", folder / "train.csv", preset="fast")
    assert spec["metric"] == "accuracy" and "metric = 'accuracy' (the sample submission's 'target' holds labels" in (
        "\n".join(why)
    )


def test_init_reads_a_sample_of_zeros_spelled_with_a_point_beside_whole_labels_as_probabilities(tmp_path: Path) -> None:
    """The reverse spelling is no label: train's labels 0 / 1 and a sample of 0.0 in every row (probabilities a pandas
    float column wrote) point to roc_auc, as before whole-number labels were matched; they were read as the label 0
    and init chose accuracy, while `submit` (which writes '1.0' as '1' only where the sample spells '1') agrees."""
    folder = tmp_path / "comp"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=40)
    pl.DataFrame({"id": range(40), "x": x, "target": (x > 0).astype(int)}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": range(40, 50), "x": x[:10]}).write_csv(folder / "test.csv")
    pl.DataFrame({"id": range(40, 50), "target": 0.0}).write_csv(folder / "sample_submission.csv")
    spec, why = infer_spec("zeros", folder / "train.csv", preset="fast")
    assert spec["metric"] == "roc_auc" and any(line.startswith("metric = 'roc_auc' (the sample") for line in why), why


@pytest.mark.parametrize("names", [["3", "1", "2"], ["class_3", "class_1", "class_2"], ["3", "1", "2", "4"]])
def test_class_columns_of_whole_number_labels_train_spells_with_a_point_are_matched(
    names: list[str], tmp_path: Path
) -> None:
    """Classes 1.0, 2.0, 3.0 (an integer target pandas wrote so) and a sample with a column per class named 1, 2, 3
    (or class_1 ..): the finished run's submission stopped with 'asks for column(s) ['1', '2', '3'] but the
    predictions have ['target', '1.0', '2.0', '3.0']'. A column the run has no class for (4) is an unseen class."""
    probs = {"1.0": [0.7, 0.1], "2.0": [0.2, 0.3], "3.0": [0.1, 0.6]}
    frame = pl.DataFrame({"id": [7, 8], "target": ["1.0", "3.0"], **probs})
    meta = {"id_column": "id", "classes": ["1.0", "2.0", "3.0"], "metric": "log_loss", "n_train": 96}
    sample = tmp_path / "sample.csv"
    sample.write_text(",".join(["id", *names]) + "\n7" + ",0.25" * len(names) + "\n8" + ",0.25" * len(names) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = match_sample(frame, sample, meta)
    assert out.columns == ["id", *names]
    scale = 1 - 1 / 100 if len(names) == 4 else 1.0  # the unseen class 4: 1 / (96 rows + 4 classes)
    assert out[names[1]].to_list() == pytest.approx([0.7 * scale, 0.1 * scale])
    assert out[names[0]].to_list() == pytest.approx([0.1 * scale, 0.6 * scale])
    assert [str(w.message).count("asks for class column(s) ['4']") for w in caught] == ([1] if scale < 1 else [])


def test_init_reads_class_columns_of_whole_number_labels_spelled_with_a_point(tmp_path: Path) -> None:
    """init said the sample does not tell the metric, and read its columns 1 .. 3 as a distribution's grid."""
    folder = tmp_path / "comp"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=60)
    target = np.digitize(x, [-0.5, 0.5]).astype(float) + 1
    pl.DataFrame({"id": range(60), "x": x, "target": target}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": range(60, 70), "x": x[:10]}).write_csv(folder / "test.csv")
    pl.DataFrame({"id": range(60, 70), "1": 0.3, "2": 0.3, "3": 0.4}).write_csv(folder / "sample_submission.csv")
    spec, why = infer_spec("pointclasses", folder / "train.csv", preset="fast")
    assert (spec["task"], spec["metric"]) == ("multiclass", "log_loss"), why
    assert not any("grid" in line for line in why), why


@pytest.mark.parametrize(("sample_labels", "said"), [([0] * 10, True), ([0, 1] * 5, False), (["no"] * 10, False)])
def test_init_says_a_sample_of_one_label_may_stand_for_probabilities(
    sample_labels: list[int], said: bool, tmp_path: Path
) -> None:
    """Santander's sample holds target = 0 in every row, for a competition scored by AUC: init chose accuracy (hard
    labels on the leaderboard) and called it the sample's word. Titanic's holds both labels: accuracy, said plainly."""
    folder = tmp_path / "comp"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=60)
    target = (x > 0).astype(int) if isinstance(sample_labels[0], int) else np.where(x > 0, "yes", "no")
    pl.DataFrame({"id": range(60), "x": x, "target": target}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": range(60, 70), "x": x[:10]}).write_csv(folder / "test.csv")
    pl.DataFrame({"id": range(60, 70), "target": sample_labels}).write_csv(folder / "sample_submission.csv")
    spec, why = infer_spec("one_label", folder / "train.csv", preset="fast")
    line = next(line for line in why if line.startswith("metric = "))
    assert spec["metric"] == "accuracy"
    assert (
        "may stand for probabilities as well: if the evaluation page says AUC or log loss, pass --metric" in line
    ) == said


def test_a_samples_unnamed_first_column_of_ids_is_no_index_beside_predictions(tmp_path: Path) -> None:
    """A sample whose ids are an unnamed first column 0 .. n-1 (a frame written with its index as the ids), its
    other columns the predictions (``,a,b`` for two targets, each 0.5): without data.id, the first column was taken
    for a saved index and left out, and the 'a' placeholders (0.5) written as the ids, the 'a' predictions dropped.
    The column after an index holds distinct ids; one holding a placeholder is a prediction column."""
    sample = tmp_path / "sample.csv"
    sample.write_text(",a,b\n0,0.5,0.5\n1,0.5,0.5\n2,0.5,0.5\n")
    frame = pl.DataFrame({"id": [0, 1, 2], "a": [0.1, 0.2, 0.3], "b": [0.4, 0.5, 0.6]})
    meta = {"id_column": None, "classes": None, "metric": "mean_rmse", "targets": ["a", "b"], "target_column": "a"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = match_sample(frame, sample, meta)
    assert out.columns == ["", "a", "b"] and out.rows() == [("0", 0.1, 0.4), ("1", 0.2, 0.5), ("2", 0.3, 0.6)]


def test_a_sample_resaved_with_its_pandas_index_is_matched_without_it(tmp_path: Path) -> None:
    """A sample re-saved with ``to_csv`` (its index an unnamed first column): submit gave a polars traceback where the
    run has no id (the ids' default name 'id' selected twice), and with one stopped at "asks for column(s) ['']". The
    index is left out, with a warning; without data.id too, where it is the first column, of the row numbers 0 .. n-1
    (the rows are then matched by position, the ids the column after it: they were the index, and 'id' a column the
    run has no prediction for, `asks for column(s) ['id']`)."""
    frame = pl.DataFrame({"id": [7, 8], "target": [0.25, 0.75], "0": [0.75, 0.25], "1": [0.25, 0.75]})
    meta = {"id_column": "id", "classes": [0, 1], "metric": "roc_auc"}
    sample = tmp_path / "sample.csv"
    sample.write_text(",id,target\n0,8,0.5\n1,7,0.5\n")
    with pytest.warns(DataWarning, match=r"has an unnamed column '' of row numbers \(a pandas index saved with it\)"):
        out = match_sample(frame, sample, meta)
    assert out.columns == ["id", "target"] and out.rows() == [("8", 0.75), ("7", 0.25)]
    with pytest.warns(DataWarning, match=r"has an unnamed column '' of row numbers \(a pandas index saved with it\)"):
        out = match_sample(frame, sample, {**meta, "id_column": None})
    assert out.columns == ["id", "target"] and out.rows() == [("8", 0.25), ("7", 0.75)]  # by position


@pytest.mark.parametrize(
    ("text", "warned"),
    [
        ("id,target\n8,0.5\n7,0.5\n\n", False),  # a file ending in a blank line: 'no test prediction (e.g. None)'
        ("id,target\r\n8,0.5\r\n\r\n7,0.5\r\n", False),
        ("id,target,\n8,0.5,\n7,0.5,\n", True),  # lines ending in a separator: "asks for column(s) ['']"
    ],
)
def test_a_sample_with_a_blank_line_or_lines_ending_in_a_separator_is_matched(
    text: str, warned: bool, tmp_path: Path
) -> None:
    frame = pl.DataFrame({"id": [7, 8], "target": [0.25, 0.75], "0": [0.75, 0.25], "1": [0.25, 0.75]})
    sample = tmp_path / "sample.csv"
    sample.write_bytes(text.encode())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = match_sample(frame, sample, {"id_column": "id", "classes": [0, 1], "metric": "roc_auc"})
    assert out.columns == ["id", "target"] and out.rows() == [("8", 0.75), ("7", 0.25)]
    said = [str(w.message) for w in caught]
    assert any("has an unnamed column empty in every row (each line ends in a separator)" in m for m in said) == warned


@pytest.mark.parametrize("codec", ["utf-16", "cp1252"])
def test_a_sample_submission_in_utf16_or_cp1252_is_read_as_the_run_reads_its_files(codec: str, tmp_path: Path) -> None:
    """The sample was read by polars itself, not by the table reader: a spreadsheet's "Unicode text" (UTF-16 with its
    byte order mark, tab-separated) sample stopped `submit` with 'could not read the sample submission', after the
    whole run, and run.json recorded no columns of it; a cp1252 one alike. One reader reads every file."""
    from kaggle_kit.runtime.runner import _sample_head

    frame = pl.DataFrame({"id": ["Zürich", "Genève"], "target": [0.25, 0.75], "0": [0.75, 0.25], "1": [0.25, 0.75]})
    sample = tmp_path / "sample.csv"
    sample.write_bytes("id\ttarget\r\nGenève\t0.5\r\nZürich\t0.5\r\n".encode(codec))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = match_sample(frame, sample, {"id_column": "id", "classes": [0, 1], "metric": "roc_auc"})
    assert out.rows() == [("Genève", 0.75), ("Zürich", 0.25)]
    assert [("is not UTF-8" in str(w.message)) for w in caught] == ([True] if codec == "cp1252" else [])
    assert _sample_head(sample) == [["id", "target"], ["Genève", "0.5"]]


def _init_binary(tmp_path: Path, sample: str) -> tuple[dict, list[str]]:
    """What ``init`` infers for a 60-row binary competition whose sample submission's text is ``sample``."""
    folder = tmp_path / "comp"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=60)
    pl.DataFrame({"id": range(60), "x": x, "target": (x > 0).astype(int)}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": range(60, 70), "x": x[:10]}).write_csv(folder / "test.csv")
    (folder / "sample_submission.csv").write_text(sample)
    return infer_spec("comp", folder / "train.csv", preset="fast")


def test_init_reads_the_metric_of_a_sample_whose_lines_end_in_a_separator(tmp_path: Path) -> None:
    spec, why = _init_binary(tmp_path, "id,target,\n" + "".join(f"{i},0.5,\n" for i in range(60, 70)))
    assert spec["metric"] == "roc_auc" and any(line.startswith("metric = 'roc_auc' (the sample") for line in why), why


def test_a_sample_of_decimal_commas_is_read_as_probabilities(tmp_path: Path) -> None:
    """A sample re-saved by a spreadsheet in a ';'-separated locale holds 0,5: submit warned that it holds labels
    ('0,5') and told to switch to accuracy, and init said the sample does not tell the metric."""
    frame = pl.DataFrame({"id": [7, 8], "target": [0.25, 0.75], "0": [0.75, 0.25], "1": [0.25, 0.75]})
    sample = tmp_path / "sample.csv"
    sample.write_bytes("\ufeffid;target\r\n8;0,5\r\n7;0,5\r\n".encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = match_sample(frame, sample, {"id_column": "id", "classes": [0, 1], "metric": "roc_auc"})
    assert out.rows() == [("8", 0.75), ("7", 0.25)]
    spec, why = _init_binary(tmp_path, "id;target\n" + "".join(f"{i};0,5\n" for i in range(60, 70)))
    assert spec["metric"] == "roc_auc" and any(line.startswith("metric = 'roc_auc' (the sample") for line in why), why


def test_predict_on_new_ids_with_a_run_sample_resaved_with_its_index(tmp_path: Path) -> None:
    """`kaggle-kit predict` on new ids takes only the run's sample's columns: its header kept the saved index's ''
    column, and the command stopped with "asks for column(s) ['']"."""
    from kaggle_kit.predict.submission import _like_sample

    frame = pl.DataFrame({"id": [107, 108], "target": [0.25, 0.75], "0": [0.75, 0.25], "1": [0.25, 0.75]})
    sample = tmp_path / "sample.csv"
    sample.write_text(",id,target\n0,8,0.5\n1,7,0.5\n")
    with pytest.warns(DataWarning, match="a pandas index saved with it"):
        out = _like_sample(frame, read_sample(sample), sample, {"id_column": "id", "classes": [0, 1], "metric": "auc"})
    assert out.columns == ["id", "target"] and out.rows() == [("107", 0.25), ("108", 0.75)]


def test_predict_on_new_ids_writes_whole_number_labels_as_the_runs_sample_spells_them(tmp_path: Path) -> None:
    """`kaggle-kit predict` on new ids took only the run's sample's columns, not its values: labels train spells
    '1.0' were written '1.0' where the sample (and `submit`) spells '1'. The sample's first row says how it spells
    them, read from the file, or from run.json where the run folder moved without it."""
    from kaggle_kit.predict.submission import _like_sample, _recorded_sample
    from kaggle_kit.runtime.runner import _sample_head

    frame = pl.DataFrame({"id": [107, 108], "target": ["1.0", "0.0"], "0.0": [0.2, 0.9], "1.0": [0.8, 0.1]})
    meta = {"id_column": "id", "classes": ["0.0", "1.0"], "metric": "accuracy"}
    sample = tmp_path / "sample.csv"
    for text, spelled in [("id,target\n7,0\n8,0\n", ["1", "0"]), ("id,target\n7,0.0\n8,0.0\n", ["1.0", "0.0"])]:
        sample.write_text(text)
        out = _like_sample(frame, read_sample(sample), sample, meta)
        assert out.rows() == [("107", spelled[0]), ("108", spelled[1])]
        head = _sample_head(sample)
        recorded = {**meta, "sample_columns": head[0], "sample_first_row": head[1]}
        moved = _like_sample(frame, _recorded_sample(recorded, sample), sample, recorded)
        assert moved.rows() == out.rows()
    sample.write_text("id,target,\n7,0,\n8,0,\n")  # lines ending in a separator: the empty column left out
    head = _sample_head(sample)
    recorded = {**meta, "sample_columns": head[0], "sample_first_row": head[1]}
    with pytest.warns(DataWarning, match="an unnamed column empty in every row"):
        moved = _like_sample(frame, _recorded_sample(recorded, sample), sample, recorded)
    assert moved.columns == ["id", "target"] and moved["target"].to_list() == ["1", "0"]


def test_predict_on_new_ids_with_a_run_sample_of_a_header_only(tmp_path: Path) -> None:
    """A sample holding its header alone (a code competition's template) gives `kaggle-kit predict` its columns: the
    table reader, which now reads the sample, refused it ('has a header but no rows')."""
    from kaggle_kit.predict.submission import _like_sample

    frame = pl.DataFrame({"id": [107, 108], "target": [0.25, 0.75], "0": [0.75, 0.25], "1": [0.25, 0.75]})
    sample = tmp_path / "sample.csv"
    sample.write_text("id,target\n")
    out = _like_sample(frame, read_sample(sample), sample, {"id_column": "id", "classes": [0, 1], "metric": "auc"})
    assert out.columns == ["id", "target"] and out.rows() == [("107", 0.25), ("108", 0.75)]


def test_init_reads_files_resaved_with_their_pandas_index(tmp_path: Path) -> None:
    """train, test and the sample each with an unnamed first column of row numbers: init found no id ('rows are
    numbered'), said the sample does not tell the metric, and the run's submit gave a traceback."""
    folder = tmp_path / "comp"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=70)
    frame = pl.DataFrame({"": range(70), "id": range(100, 170), "x": x, "target": (x > 0).astype(int)})
    frame.head(60).write_csv(folder / "train.csv")
    frame.tail(10).drop("target").with_columns(pl.int_range(10).alias("")).write_csv(folder / "test.csv")
    sample = frame.tail(10).select(pl.int_range(10).alias(""), "id", target=pl.lit(0.5))
    sample.write_csv(folder / "sample_submission.csv")
    with pytest.warns(DataWarning, match="a saved pandas index"):  # the run's reader drops train's
        spec, why = infer_spec("resaved", folder / "train.csv", preset="fast")
    assert (spec["data"].get("id"), spec["metric"]) == ("id", "roc_auc"), why


@pytest.mark.parametrize("empty", [False, True])
def test_init_leaves_trains_saved_index_to_the_run_where_test_lacks_it(empty: bool, tmp_path: Path) -> None:
    """train alone re-saved with its index (or with every line ending in a separator): init wrote drop = [''] (a
    train column the test file lacks), and run, which drops such a column itself, refused the config with "data.drop
    = '' is not a column of the train file"."""
    folder = tmp_path / "comp"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=70)
    frame = pl.DataFrame({"id": range(100, 170), "x": x, "target": (x > 0).astype(int)})
    unnamed = pl.lit(None, pl.Int64) if empty else pl.int_range(60)
    frame.head(60).with_columns(unnamed.alias("")).write_csv(folder / "train.csv")
    frame.tail(10).drop("target").write_csv(folder / "test.csv")
    frame.tail(10).select("id", target=pl.lit(0.5)).write_csv(folder / "sample_submission.csv")
    with pytest.warns(DataWarning, match="empty in every row" if empty else "a saved pandas index"):
        spec, why = infer_spec("resaved", folder / "train.csv", preset="fast")
        data = load_competition(build_spec(spec))
    assert not spec["data"].get("drop") and data.features == ("x",), why


def test_class_columns_headed_with_underscores_for_the_labels_spaces_are_matched(tmp_path: Path) -> None:
    """Classes 'High Risk', 'Low Risk' and a sample headed High_Risk, Low_Risk: submit stopped after the whole run
    ("asks for column(s) ['Low_Risk', 'High_Risk'] but the predictions have ..."), and init guessed the metric."""
    frame = pl.DataFrame({"id": [7, 8], "target": ["Low Risk", "High Risk"], "High Risk": [0.3, 0.9]})
    frame = frame.with_columns((1 - pl.col("High Risk")).alias("Low Risk"))
    meta = {"id_column": "id", "classes": ["High Risk", "Low Risk"], "metric": "log_loss"}
    sample = tmp_path / "sample.csv"
    sample.write_text("id,Low_Risk,High_Risk\n8,0.5,0.5\n7,0.5,0.5\n")
    out = match_sample(frame, sample, meta)
    assert out.columns == ["id", "Low_Risk", "High_Risk"]
    assert out.rows() == [("8", pytest.approx(0.1), 0.9), ("7", pytest.approx(0.7), 0.3)]
    folder = tmp_path / "comp"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=60)
    labels = np.where(x > 0, "High Risk", "Low Risk")
    pl.DataFrame({"id": range(60), "x": x, "level": labels}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": range(60, 70), "x": x[:10]}).write_csv(folder / "test.csv")
    pl.DataFrame({"id": range(60, 70), "Low_Risk": 0.5, "High_Risk": 0.5}).write_csv(folder / "sample_submission.csv")
    spec, why = infer_spec("risk", folder / "train.csv", preset="fast")
    assert spec["metric"] == "log_loss" and any("one probability column per class: 2" in line for line in why), why


def test_init_finds_the_id_of_a_sample_that_lists_it_last(tmp_path: Path) -> None:
    """A sample headed 'target,id': init took its first column for the id, found 'target' repeated in train and
    wrote a long-table ([data.sequences]) config with 'id' as the target, which run refused."""
    folder = tmp_path / "comp"
    folder.mkdir()
    x = np.random.default_rng(0).normal(size=60)
    pl.DataFrame({"id": range(60), "x": x, "target": (x > 0).astype(int)}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": range(60, 70), "x": x[:10]}).write_csv(folder / "test.csv")
    pl.DataFrame({"target": [0.5] * 10, "id": range(60, 70)}).write_csv(folder / "sample_submission.csv")
    spec, why = infer_spec("idlast", folder / "train.csv", preset="fast")
    assert "sequences" not in spec["data"], why
    assert (spec["data"]["id"], spec["data"]["target"], spec["task"], spec["metric"]) == (
        "id",
        "target",
        "binary",
        "roc_auc",
    )


def test_init_reads_class_labels_without_the_spaces_around_them(tmp_path: Path) -> None:
    folder = tmp_path / "comp"
    folder.mkdir()
    labels = ["yes", "no", "yes ", " no", "yes", "no"] * 5
    pl.DataFrame({"id": range(30), "x": np.arange(30.0), "target": labels}).write_csv(folder / "train.csv")
    spec, why = infer_spec("spaces", folder / "train.csv", preset="fast")
    assert spec["task"] == "binary" and "task = 'binary' (2 distinct target values)" in why


@pytest.mark.parametrize(
    ("column", "wanted"),
    [
        ("no", "No"),  # a class label case aside: that class's probability (it got the positive class's: 1 - p)
        ("target_No", "No"),  # the target's name, then the label
        ("NO", "No"),
        ("Yes", "Yes"),
        ("target", "Yes"),  # the target's own name: the positive class, the second label
        ("Probability", "Yes"),  # any other name: the same
    ],
)
def test_a_single_sample_column_naming_a_class_gets_that_class(column: str, wanted: str, tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": [7, 8], "target": [0.9, 0.2], "No": [0.1, 0.8], "Yes": [0.9, 0.2]})
    meta = {"id_column": "id", "classes": ["No", "Yes"], "target_column": "target"}
    sample = tmp_path / "sample.csv"
    sample.write_text(f"id,{column}\n7,0.5\n8,0.5\n")
    out = match_sample(frame, sample, meta)
    assert out.columns == ["id", column]
    assert out[column].to_list() == frame[wanted].to_list()


def test_a_label_sample_spelled_in_another_case_is_read_as_labels_and_probabilities_for_it_are_warned(
    tmp_path: Path,
) -> None:
    """init: a sample holding ``no`` for the labels No / Yes asks for labels (accuracy; it guessed roc_auc, and the
    submission wrote probabilities where the competition wants labels). submit: a run whose metric scores
    probabilities, for a sample holding labels, writes them and says how to get labels."""
    why: list[str] = []
    sample = pl.DataFrame({"id": [1, 2], "target": ["no", "no"]})
    assert _sample_metric(sample, pl.Series("target", ["Yes", "No", "No"]), "binary", why) == "accuracy"
    frame = pl.DataFrame({"id": [7, 8], "target": [0.9, 0.2], "No": [0.1, 0.8], "Yes": [0.9, 0.2]})
    meta = {"id_column": "id", "classes": ["No", "Yes"], "target_column": "target", "metric": "roc_auc"}
    path = tmp_path / "sample.csv"
    path.write_text("id,target\n7,No\n8,No\n")
    with pytest.warns(DataWarning, match=r"holds labels \('No'\) in 'target', but the run's metric 'roc_auc' scores"):
        assert match_sample(frame, path, meta)["target"].to_list() == [0.9, 0.2]


def test_a_sample_whose_first_column_holds_the_test_ids_under_another_name_is_matched(tmp_path: Path) -> None:
    """The sample names its id column ``row_id`` where the data says ``id``: its first column lists exactly the test
    ids (here spelled ``007``), so it is the id column, with a warning; a first column of other values stays an
    error."""
    frame = pl.DataFrame({"id": [7, 8], "target": [0.9, 0.2]})
    sample = tmp_path / "sample.csv"
    sample.write_text("row_id,target\n008,0.5\n007,0.5\n")
    with pytest.warns(DataWarning, match=r"its first column 'row_id' holds the test ids, so it is the id column"):
        out = match_sample(frame, sample, {"id_column": "id"})
    assert out.columns == ["row_id", "target"]
    assert out["row_id"].to_list() == ["008", "007"] and out["target"].to_list() == [0.2, 0.9]
    sample.write_text("row_id,target\n9,0.5\n7,0.5\n")
    with pytest.raises(DataError, match=r"has no id column 'id'"):
        match_sample(frame, sample, {"id_column": "id"})


def test_the_submission_keeps_the_samples_column_order_with_the_id_last(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": [7, 8], "target": [0.25, 0.75]})
    sample = tmp_path / "sample.csv"
    sample.write_text("target,id\n0,8\n0,7\n")
    out = match_sample(frame, sample, {"id_column": "id"})
    assert out.columns == ["target", "id"]
    assert out.rows() == [(0.75, "8"), (0.25, "7")]


def test_init_finds_the_id_headed_otherwise_in_train_than_in_the_sample(tmp_path: Path) -> None:
    """train heads its id ``"Id "``, test and the sample ``id``: init found no id (rows numbered, so the submission
    matched a shuffled sample by position: each id got another row's prediction) and the id was a feature."""
    folder = tmp_path / "comp"
    folder.mkdir()
    x = np.arange(40.0)
    pl.DataFrame({"Id ": range(30), "x": x[:30], "target": [0, 1] * 15}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": range(30, 40), "x": x[30:]}).write_csv(folder / "test.csv")
    pl.DataFrame({"id": [35, 30, 39, 31, 32, 33, 34, 36, 37, 38], "target": 0.5}).write_csv(
        folder / "sample_submission.csv"
    )
    spec, why = infer_spec("idspace", folder / "train.csv", preset="fast")
    assert spec["data"]["id"] == "Id " and "id = 'Id '" in why


@pytest.mark.parametrize("order", ["same", "shuffled"])
def test_without_data_id_a_sample_listing_test_ids_in_another_order_is_refused(order: str, tmp_path: Path) -> None:
    """No data.id: the submission's rows are matched to the sample's by position. A test column holding the sample's
    ids in another order would give each id another row's prediction: refused before any fit, naming the column."""
    ids = np.arange(100, 120)
    pl.DataFrame({"row": np.arange(40), "x": np.arange(40.0), "y": np.arange(40) % 2}).write_csv(tmp_path / "train.csv")
    pl.DataFrame({"key": ids, "x": np.arange(20.0)}).write_csv(tmp_path / "test.csv")
    listed = ids if order == "same" else ids[::-1]
    pl.DataFrame({"key": listed, "y": 0.5}).write_csv(tmp_path / "sample.csv")
    spec = _spec(tmp_path, "binary", "roc_auc", test="test.csv", sample_submission="sample.csv", drop=["row"])
    if order == "same":
        assert load_competition(spec).test is not None
        return
    with pytest.raises(DataError, match=r"test file's column 'key' lists the sample's ids in another order \(row 1: "
                       r"'100' in test, '119' in the sample\): set data.id = 'key'"):  # fmt: skip
        load_competition(spec)


@pytest.mark.parametrize("grouped", [False, True])
def test_train_rows_repeating_another_rows_features_and_target_are_warned_of(grouped: bool, tmp_path: Path) -> None:
    """Two ids, the same features and target: split between folds, the CV flatters. Grouped folds are left alone."""
    x = np.arange(30.0)
    x[7] = x[3]
    pl.DataFrame({"id": np.arange(30), "x": x, "g": np.arange(30) // 3, "y": (x > 10).astype(int)}).write_csv(
        tmp_path / "train.csv"
    )
    spec = _spec(tmp_path, "binary", "roc_auc", id="id", drop=[] if grouped else ["g"])
    if grouped:
        spec = spec.model_copy(update={"folds": spec.folds.model_copy(update={"group": "g"})})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_competition(spec)
    said = [str(w.message) for w in caught if "repeat an earlier row" in str(w.message)]
    expected = (
        "1 train row(s) repeat an earlier row's features and target exactly (e.g. row 8): in different folds a repeat "
        "is predicted by a model that saw its twin, so the CV flatters; drop the repeats, or keep them together with "
        "folds.group"
    )
    assert said == ([] if grouped else [expected])


def test_rows_with_streamed_images_are_not_compared() -> None:
    """Their images are features outside the table: the same table values and label are no repeat."""
    from kaggle_kit.readers.competition import IMAGE_REF, _warn_repeated_rows

    train = pl.DataFrame({"ink": [1.0, 1.0], "y": [0, 0], IMAGE_REF: [0, 1]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_repeated_rows(train, ["ink"], ["y"], None)
        with pytest.raises(DataWarning, match="1 train row"):
            _warn_repeated_rows(train.drop(IMAGE_REF), ["ink"], ["y"], None)


def test_numbers_written_with_a_unit_are_read_as_numbers_and_said(tmp_path: Path) -> None:
    """'51.9%', '$1,200.50' and '-$5.00' were read as text: one category per value, and the signal lost (a made-up
    price table scored as the baseline). They are the numbers now, with one warning naming the columns; text with
    a currency sign that is no number ('$$') stays text."""
    path = tmp_path / "train.csv"
    path.write_text('rate,price,tier\n51.9%,"$1,200.50",$$\n12 %,-$5.00,$\n,$0.75,$$$\n-3%,"$ 12,345",$\n')
    with pytest.warns(DataWarning, match=r"'rate' \(e.g. '51.9%'\), 'price' \(e.g. '\$1,200.50'\) of the train"):
        frame = read_table(path, role="train")
    assert frame["rate"].to_list() == [51.9, 12.0, None, -3.0]
    assert frame["price"].to_list() == [1200.5, -5.0, 0.75, 12345.0]
    assert frame.schema["tier"] == pl.String


def test_a_placeholder_among_numbers_with_a_unit_is_named_as_written(tmp_path: Path) -> None:
    """'x%' among percentages: the error names 'x%' (not 'x', which na_values would not match), and its fix reads
    the column."""
    path = tmp_path / "train.csv"
    path.write_text("code\n5%\nx%\n7%\n8%\n")
    with pytest.raises(DataError, match=r"column 'code' .* is numbers but for 'x%' \(1 row\).*na_values = \['x%'\]"):
        read_table(path, role="train")
    with pytest.warns(DataWarning, match="'code'"):
        assert read_table(path, role="train", options=ReadOptions(na_values=("x%",)))["code"].to_list() == [
            5.0,
            None,
            7.0,
            8.0,
        ]


def test_numbers_with_a_unit_follow_the_decimal_comma_and_a_listed_column_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("id;price;x\n1;1.200,50 €;1\n2;12,50 €;2\n3;-0,75 €;3\n")
    with pytest.warns(DataWarning, match="'price'"):
        frame = read_table(path, role="train", options=ReadOptions(decimal=","))
    assert frame["price"].to_list() == [1200.5, 12.5, -0.75]
    kept = read_table(path, role="train", options=ReadOptions(decimal=",", categorical=("price",)))
    assert kept["price"].to_list() == ["1.200,50 €", "12,50 €", "-0,75 €"]


def test_numbers_with_a_unit_and_a_decimal_comma_read_with_a_decimal_dot_name_the_decimal_key(tmp_path: Path) -> None:
    """'12,50 €' in a file read with the default decimal '.': the same numbers without '€' stop the run naming
    data.decimal; with '€' the column had been kept as text without a word (one category per price)."""
    path = tmp_path / "train.csv"
    path.write_text("id;price\n1;12,50 €\n2;7,25 €\n3;3 €\n")
    with pytest.raises(DataError, match=r"column 'price' .* holds numbers written like '12,50': set decimal = ','"):
        read_table(path, role="train")
    with pytest.warns(DataWarning, match="'price'"):
        assert read_table(path, role="train", options=ReadOptions(decimal=","))["price"].to_list() == [12.5, 7.25, 3.0]


def test_a_file_that_is_not_utf8_is_read_as_windows_1252_with_a_warning_or_as_data_encoding_says(
    tmp_path: Path,
) -> None:
    """A spreadsheet's export (cp1252: 'Zürich', '€') had stopped the run; it is read, said once with the line.
    data.encoding reads any other (Shift-JIS here) and, given, is not second-guessed; a gzipped file alike."""
    path = tmp_path / "train.csv"
    path.write_bytes("id,city,price\n1,Zürich,5 €\n2,Köln,7 €\n".encode("cp1252"))
    with pytest.warns(DataWarning, match=r"is not UTF-8 \(at line 2 \(b'1,Z\\xfcrich,5 \\x80\\n'\)\): read as cp1252"):
        frame = read_table(path, role="train")
    assert frame["city"].to_list() == ["Zürich", "Köln"] and frame["price"].to_list() == [5.0, 7.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        given = read_table(path, role="train", options=ReadOptions(encoding="cp1252", categorical=("price",)))
    assert given["price"].to_list() == ["5 €", "7 €"]
    japanese = tmp_path / "jp.csv.gz"
    japanese.write_bytes(gzip.compress("id,名前\n1,東京\n".encode("shift_jis")))
    assert read_table(japanese, role="train", options=ReadOptions(encoding="shift_jis"))["名前"].to_list() == ["東京"]
    with pytest.raises(DataError, match=r"not UTF-8: set data.encoding = 'cp1252' \(or the file's encoding\)"):
        read_table(path, role="train", options=ReadOptions(encoding="utf-8"))


def test_a_header_that_is_not_utf8_above_ascii_rows_is_read_as_windows_1252_too(tmp_path: Path) -> None:
    """polars reads a header's bytes that are no UTF-8 without an error: 'Größe' above ASCII rows had become
    'Gr\ufffd\ufffde' without a word (the config's names then missing)."""
    path = tmp_path / "train.csv"
    path.write_bytes("id,Größe\n1,5\n2,7\n".encode("cp1252"))
    with pytest.warns(DataWarning, match=r"is not UTF-8 \(at line 1 .*read as cp1252"):
        assert read_table(path, role="train").columns == ["id", "Größe"]


def test_a_file_with_a_byte_windows_1252_leaves_undefined_is_read_as_latin_1(tmp_path: Path) -> None:
    """0x81 is no Windows-1252 character: such a file is read as Latin-1 (which decodes any byte), said so."""
    path = tmp_path / "train.csv"
    path.write_bytes(b"id,name\n1,caf\xe9\n2,a\x81b\n")
    with pytest.warns(DataWarning, match="read as latin-1"):
        assert read_table(path, role="train")["name"].to_list() == ["café", "a\x81b"]


def test_dates_written_day_or_month_first_are_left_to_the_kit_not_read_day_first_by_polars(tmp_path: Path) -> None:
    """polars read '01/02/2020' .. '01/09/2020' as 1 February .. 1 September by itself: a month-first file read wrong
    without a word. Such columns stay text for readers/date_formats.py; ISO dates are still read by polars."""
    path = tmp_path / "train.csv"
    path.write_text("id,day,iso\n" + "".join(f"{i},01/0{i}/2020,2020-01-0{i}\n" for i in range(1, 10)))
    frame = read_table(path, role="train")
    assert frame.schema["day"] == pl.String and frame.schema["iso"] == pl.Date


def test_init_sends_a_column_distinct_in_every_row_to_text_or_drop_and_keeps_dates_and_categories(
    tmp_path: Path,
) -> None:
    """A name ('Braund, Mr. Owen') or a code distinct in every row is no category: nothing repeats to learn from.
    init writes the name into data.text (its words repeat: a title) and the code into data.drop, and says why; a
    repeating category, a text date and a column below 50 rows stay as they are."""
    n = 120
    rng = np.random.default_rng(0)
    titles = np.array(["Mr.", "Mrs.", "Miss."])[np.arange(n) % 3]
    frame = pl.DataFrame(
        {
            "id": range(n),
            "name": [f"Smith{i}, {t} John" for i, t in enumerate(titles)],
            "ticket": [f"A/{100000 + i}" for i in range(n)],
            "port": np.array(["S", "C", "Q"])[np.arange(n) % 3],
            "day": [f"{1 + i % 12:02d}/{13 + i % 15}/{2000 + i // 60}" for i in range(n)],  # distinct too
            "x": rng.normal(size=n),
            "y": np.arange(n) % 2,
        }
    )
    folder = tmp_path / "comp"
    folder.mkdir()
    frame.write_csv(folder / "train.csv")
    spec, why = infer_spec("titanicish", folder / "train.csv", preset="fast")
    assert spec["data"]["text"] == ["name"] and spec["data"]["drop"] == ["ticket"], why
    assert any(line.startswith("text = ['name'] (a different value in 100% of the rows, 3.0 words") for line in why)
    assert any(line.startswith("drop = ['ticket'] (a different value in 100% of the rows, one word") for line in why)
    frame.head(40).write_csv(folder / "train.csv")  # too few rows to tell a code from a category
    small, _ = infer_spec("few", folder / "train.csv", preset="fast")
    assert "drop" not in small["data"] or small["data"]["drop"] == []


def test_init_keeps_numbers_written_with_placeholders_or_thousands_marks_as_features(tmp_path: Path) -> None:
    """A number column distinct in every row but for a '?' among its values (or written '1,234.56') reads as text
    until run's [data] key is set; init sent it to data.drop as a code, so once the key was set the column was
    dropped without a word. It stays a feature, and the config runs once the key is set."""
    n = 120
    rng = np.random.default_rng(1)
    x = rng.normal(size=n).round(4).astype(str).astype(object)
    x[[5, 40]] = "?"
    frame = pl.DataFrame(
        {
            "id": range(n),
            "x": x.tolist(),
            "amount": [f"{1000 + 37 * i:,}.{i % 100:02d}" for i in range(n)],
            "ticket": [f"A{100000 + i}" for i in range(n)],  # a code: still dropped
            "y": np.arange(n) % 2,
        }
    )
    folder = tmp_path / "comp"
    folder.mkdir()
    frame.write_csv(folder / "train.csv")
    spec, why = infer_spec("placeholders", folder / "train.csv", target="y", preset="fast")
    assert spec["data"]["drop"] == ["ticket"], why
    spec["data"] |= {"na_values": ["?"], "thousands": ","}
    data = load_competition(build_spec(spec))
    assert {"x", "amount"} <= set(data.features)
    assert data.train["amount"][1] == 1037.01 and data.train["x"].null_count() == 2


def test_init_keeps_amounts_written_with_a_unit_and_decimal_commas_as_features(tmp_path: Path) -> None:
    """'5.034,19 €' reads as two words to init's lenient read: it went to data.text (TF-IDF on amounts), where the
    run never reads it as numbers, even once decimal = ',' and thousands = '.' are set."""
    n = 120
    frame = pl.DataFrame(
        {
            "id": range(n),
            "amount": [
                f"{1000 + 37 * i:,}.{i % 100:02d} €".replace(",", "X").replace(".", ",").replace("X", ".")
                for i in range(n)
            ],
            "y": np.arange(n) % 2,
        }
    )
    folder = tmp_path / "comp"
    folder.mkdir()
    frame.write_csv(folder / "train.csv", separator=";")
    spec, why = infer_spec("amounts", folder / "train.csv", target="y", preset="fast")
    assert "amount" not in spec["data"].get("text", []) + spec["data"].get("drop", []), why
    assert any("set thousands = '.' and decimal = ','" in line for line in why), why
    spec["data"] |= {"decimal": ",", "thousands": "."}
    with pytest.warns(DataWarning, match="written with a unit"):
        data = load_competition(build_spec(spec))
    assert "amount" in data.features and data.train["amount"][1] == 1037.01


def test_init_drops_the_train_columns_test_lacks_and_the_config_runs(tmp_path: Path) -> None:
    """Bike Sharing: train has casual and registered beside the target count, test has neither. init wrote them as
    features, and run refused the config it had just written ('test lacks feature column(s) ...'). They go to
    data.drop with a line saying why; a test column headed otherwise (' X1') is train's x1, not a lack."""
    n = 120
    rng = np.random.default_rng(2)
    casual, registered = rng.integers(0, 50, n), rng.integers(0, 200, n)
    train = pl.DataFrame(
        {
            "id": range(n),
            "x1": rng.normal(size=n),
            "casual": casual,
            "registered": registered,
            "count": casual + registered,
        }
    )
    folder = tmp_path / "comp"
    folder.mkdir()
    train.write_csv(folder / "train.csv")
    test = pl.DataFrame({"id": range(n, n + 30), " X1": rng.normal(size=30)})
    test.write_csv(folder / "test.csv")
    test.select("id", count=pl.lit(0)).write_csv(folder / "sample_submission.csv")
    with pytest.warns(DataWarning, match="read as train's: ' X1' as 'x1'"):  # init reads the files as run will
        spec, why = infer_spec("bikes", folder / "train.csv", preset="fast")
    assert spec["data"]["target"] == "count" and spec["data"]["drop"] == ["casual", "registered"], why
    assert "drop = ['casual', 'registered'] (train column(s) the test file lacks" in "\n".join(why)
    with pytest.warns(DataWarning, match="read as train's: ' X1' as 'x1'"):
        data = load_competition(build_spec(spec))
    assert data.features == ("x1",)


def test_a_new_test_file_read_with_a_runs_keys_is_told_to_fix_the_file_not_a_key(tmp_path: Path) -> None:
    """`kaggle-kit predict` reads a new file with the finished run's [data] keys, which it cannot change: the message
    named data.na_values / data.thousands to set and data.categorical (the models read the column as numbers)."""
    path = tmp_path / "new_test.csv"
    path.write_text('id,x\n1,"1,500.5"\n2,-\n3,"2,000.25"\n4,7\n')
    with pytest.raises(DataError) as caught:
        read_table(path, role="test", options=ReadOptions(from_run=True))
    message = str(caught.value)
    assert "holds numbers written like '1,500.5' and is numbers but for '-' (1 row), which the run's [data]" in message
    assert "write these values as the training file wrote them" in message
    assert "data.na_values" not in message and "data.categorical" not in message and "thousands =" not in message


def test_version_numbers_stay_text_not_dates_of_the_first_century(tmp_path: Path) -> None:
    """polars read '1.2.3' (and '1/2/3', '4-0-1') as a date in the year 3: a version column became dates without a
    word. Such columns stay text, and no usual date format reads a one-digit year."""
    path = tmp_path / "train.csv"
    path.write_text("id,version,ratio,y\n1,1.2.3,1/2/3,0.5\n2,4.0.1,4/5/6,1.5\n3,2.10.7,2/3/4,2.5\n")
    frame = read_table(path, role="train")
    assert frame["version"].to_list() == ["1.2.3", "4.0.1", "2.10.7"] and frame.schema["ratio"] == pl.String
    spec = build_spec(
        {
            "name": "v",
            "task": "regression",
            "metric": "rmse",
            "data": {"train": "train.csv", "target": "y"},
            "models": [{"name": "lgbm", "kind": "lightgbm"}],
        },
        base_dir=tmp_path,
    )
    assert prepare_competition(spec, frame, None).train.schema["version"] == pl.String


def test_an_accountants_negative_amounts_in_parentheses_are_read_as_negative_numbers(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text('id,balance,label\n1,"($1,200.50)",(A)\n2,$3.00,(B)\n3,(5.00),(A)\n')
    with pytest.warns(DataWarning, match=r"'balance' \(e.g. '\(\$1,200.50\)'\).*an accountant's parentheses"):
        frame = read_table(path, role="train")
    assert frame["balance"].to_list() == [-1200.5, 3.0, -5.0]
    assert frame["label"].to_list() == ["(A)", "(B)", "(A)"]  # no number inside: text as written


def test_init_says_when_most_of_many_text_classes_hold_one_row(tmp_path: Path) -> None:
    """A free-text target (or an id named as the target): hundreds of distinct texts, most of them once. It is read
    as classes like any text target, and init says that no fold can learn a class it sees once."""
    n = 300
    folder = tmp_path / "comp"
    folder.mkdir()
    texts = [f"review {i} of the film" for i in range(250)] + ["good"] * 25 + ["bad"] * 25
    pl.DataFrame({"id": range(n), "x": np.arange(n) * 0.1, "y": texts}).write_csv(folder / "train.csv")
    spec, why = infer_spec("texty", folder / "train.csv", target="y", preset="fast")
    assert spec["task"] == "multiclass"
    line = next(line for line in why if line.startswith("task = 'multiclass' (252 distinct target values"))
    assert "250 of them hold one row each, which no fold can learn: check that --target names" in line, line
    pl.DataFrame({"id": range(n), "x": np.arange(n) * 0.1, "y": [f"c{i % 60}" for i in range(n)]}).write_csv(
        folder / "train.csv"
    )  # 60 classes of 5 rows: nothing said
    _, why = infer_spec("classes", folder / "train.csv", target="y", preset="fast")
    assert not any("no fold can learn" in line for line in why), why
