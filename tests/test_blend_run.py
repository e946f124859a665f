"""Blending real runs of the demo competitions: the store layout, the report, the CLI, submitting a blend, the
target read back from the run's data, and predictions imported from files (checked against the run's ids/folds)."""

from __future__ import annotations

import json
import math
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import demo_spec, fast_models
from sklearn.metrics import roc_auc_score

import kaggle_kit
from kaggle_kit.blend import blend_report, fit_blend, import_predictions, read_blend
from kaggle_kit.blend.inputs import load_run
from kaggle_kit.blend.storage import read_blend_predictions
from kaggle_kit.cli import main
from kaggle_kit.errors import ConfigError, DataError, StoreError
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore
from kaggle_kit.submit import write_submission

SEQUENTIAL = {"n_jobs": 1, "threads_per_task": 1}
QUICK = {"nelder_mead": {"restarts": 2}}
NAIVE_BAYES = {"name": "nb", "kind": "sklearn", "estimator": "sklearn.naive_bayes.GaussianNB"}


@pytest.fixture(scope="module")
def runs(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both demo competitions, run once with quick models: GBDTs and naive Bayes (a model of another kind)."""
    root = tmp_path_factory.mktemp("blend-runs")
    out = {}
    for name, models in (
        ("demo-breast-cancer", [*fast_models(), NAIVE_BAYES]),
        ("demo-digits", [*fast_models(("lightgbm",)), NAIVE_BAYES]),
    ):
        spec = demo_spec(name, demo_data, models=models, run=SEQUENTIAL)
        out[name] = run(spec, runs_root=root, progress=None).run_dir
    return out


def _target(demo_data: Path, name: str) -> np.ndarray:
    from kaggle_kit.readers.competition import load_competition

    return load_competition(demo_spec(name, demo_data, models=fast_models())).y


# ------------------------------------------------------------------------------------------ blends of a run
@pytest.mark.parametrize("name", ["demo-breast-cancer", "demo-digits"])
def test_blend_report_on_the_demo_runs(runs: dict[str, Path], name: str) -> None:
    run_dir = runs[name]
    report = blend_report(run_dir, "all", options=QUICK)
    methods = {b.method for b in report.blends}
    dropped = {b.method for b, _ in report.dropped}  # a stacker that does not beat the selection is dropped
    assert methods | dropped == (
        {"mean", "rank", "nelder_mead", "hill_climb", "stack"}
        # log loss (digits): the calibrated selection too, and no rank average (AUC only)
        ^ ({"rank", "calibrated_hill_climb"} if name == "demo-digits" else set())
    )
    assert not methods & dropped and dropped <= {"stack"}
    metric = load_run(run_dir).metric
    for stacker, selection in report.dropped:
        assert selection.method == "hill_climb" and not metric.better(stacker.mean, selection.mean)
        assert "Stacking dropped" in report.text() and f"{stacker.mean:.5f}" in report.text()
    for b in report.blends:
        folder = run_dir / "blends" / b.name
        assert {p.name for p in folder.iterdir()} >= {"oof.parquet", "test.parquet", "summary.json"}
        assert read_blend(run_dir, b.name).to_json() == b.to_json()
        if b.weights is not None:
            assert min(b.weights) >= 0 and math.isclose(sum(b.weights), 1.0)
        assert len(b.fold_scores) == 5 and not math.isnan(b.mean)
        oof = pl.read_parquet(folder / "oof.parquet")
        assert oof.columns == RunStore(run_dir).read_predictions("lgbm", "oof").columns
    text = report.text()
    assert "Blend leaderboard" in text and "honest CV" in text and "in-sample" in text and "gap" in text
    verdict = report.verdict()
    assert verdict.startswith("The best blend") if report.beats_best_model else verdict.startswith("No blend beats")
    best = report.best_model
    wins = metric.better(report.best_blend.mean, report.model_mean(best))  # the rule, from the scores themselves
    assert report.choice() == (("blend", report.best_blend.name) if wins else ("model", best.name))
    assert "% of the" in text  # the blend's time against the models' fitting time
    if name == "demo-digits":
        assert "rank average left out" in text
        nm = next(b for b in report.blends if b.method == "nelder_mead")
        assert nm.objective == "log_loss" and nm.metric == "accuracy"


def test_groups_report_best_single_best_of_each_group_and_the_blend_of_all(runs: dict[str, Path]) -> None:
    run_dir = runs["demo-breast-cancer"]
    report = blend_report(
        run_dir, "nelder_mead", groups={"trees": ["xgb", "lgbm"], "bayes": ["nb"]}, options=QUICK, save=False
    )
    assert {m.name for m in report.models} == {"xgb", "lgbm", "nb"}
    assert report.group_blends == {"trees": "trees_nelder_mead", "trees+bayes": "nelder_mead"}  # no blend of one
    text = report.text()
    assert "best single model:" in text and "trees      best model" in text and "trees + bayes: blend of 3" in text
    assert not (run_dir / "blends" / "trees_nelder_mead").exists()  # save=False stores nothing


def test_nested_scores_only_use_other_folds_on_a_real_run(runs: dict[str, Path]) -> None:
    """Recompute one held-out fold's score by hand: weights fitted on the other folds' OOF only."""
    run_dir = runs["demo-breast-cancer"]
    result = fit_blend(run_dir, "nelder_mead", options={"restarts": 2}, save=False)
    preds = load_run(run_dir)
    from kaggle_kit.blend import NelderMead, weighted_sum

    stack = np.stack([preds.oof[n] for n in preds.names])
    train_idx, valid_idx = preds.folds.train_valid(0, 2)
    fitted = NelderMead(restarts=2).fit(
        stack[:, train_idx],
        preds.y[train_idx],
        preds.metric,
        np.random.default_rng([0, 0, 2]),
        preds.folds.ids[0][train_idx],
    )
    expected = preds.metric.score(preds.y[valid_idx], weighted_sum(fitted.weights, stack[:, valid_idx]))
    assert result.fold_scores[result.folds.index((0, 2))] == pytest.approx(expected, abs=1e-12)


def test_target_is_read_from_the_run_folder(runs: dict[str, Path], demo_data: Path, tmp_path: Path) -> None:
    run_dir = runs["demo-breast-cancer"]
    preds = load_run(run_dir)
    np.testing.assert_array_equal(preds.y, _target(demo_data, "demo-breast-cancer"))
    with pytest.raises(DataError, match=r"y has shape \(3,\) but the run has \d+ training rows"):
        load_run(run_dir, y=np.array([0, 1, 0]))
    copy = tmp_path / "run"
    copy.mkdir()
    for f in ("run.json", "folds.parquet"):
        (copy / f).write_bytes((run_dir / f).read_bytes())
    with pytest.raises(StoreError, match=r"target.parquet is missing; run the competition again"):
        fit_blend(copy, "mean", models=["xgb"])


# ------------------------------------------------------------------------------------------ CLI and submission
def test_cli_blend_then_submit_the_blend(runs: dict[str, Path], demo_data: Path, tmp_path: Path, capsys) -> None:
    run_dir = runs["demo-breast-cancer"]
    argv = ["blend", str(run_dir), "--method", "mean,nelder_mead", "--restarts", "2", "--group", "trees=xgb,lgbm"]
    assert main([*argv, "--group", "bayes=nb"]) == 0
    out = capsys.readouterr().out
    assert "Blend leaderboard (roc_auc" in out and "Groups" in out and "blends stored in" in out

    path = tmp_path / "blend.csv"
    assert main(["submit", str(run_dir), "--blend", "nelder_mead", "--out", str(path)]) == 0
    sub = pl.read_csv(path)
    sample = pl.read_csv(demo_data / "demo-breast-cancer" / "sample_submission.csv")
    assert sub.columns == sample.columns and sub["id"].to_list() == sample["id"].to_list()
    truth = pl.read_csv(demo_data / "demo-breast-cancer" / "solution.csv").join(sub, on="id", suffix="_pred")
    assert roc_auc_score(truth["diagnosis"] == "malignant", truth["diagnosis_pred"]) > 0.95

    assert main(["submit", str(run_dir), "--blend", "nelder_maed"]) == 2
    assert "no blend named 'nelder_maed'" in capsys.readouterr().err


def test_a_blend_of_refit_models_is_not_submitted(runs: dict[str, Path]) -> None:
    run_dir = runs["demo-breast-cancer"]
    fit_blend(run_dir, "mean", name="stale_mean")
    summary = run_dir / "blends" / "stale_mean" / "summary.json"
    data = json.loads(summary.read_text())
    data["model_keys"]["xgb"] = "0000000000000000"  # as if xgb had been refit since
    summary.write_text(json.dumps(data))
    with pytest.raises(StoreError, match=r"earlier versions of 'xgb'.*kaggle-kit blend"):
        write_submission(run_dir, blend="stale_mean")


# ------------------------------------------------------------------------------------------ imported predictions
@pytest.fixture(autouse=True)
def _forget_imports(request: pytest.FixtureRequest):
    """Imported predictions join a run's default models: remove them after each test that made some."""
    yield
    if "runs" in request.fixturenames:
        for run_dir in request.getfixturevalue("runs").values():
            shutil.rmtree(run_dir / "external", ignore_errors=True)


def _export(run_dir: Path, model: str, folder: Path, *, with_folds: bool = True) -> tuple[Path, Path]:
    """Write a model's OOF (with the run's fold column) and test predictions as a teammate's CSVs would be."""
    store = RunStore(run_dir)
    oof = store.read_predictions(model, "oof")
    if with_folds:
        folds = pl.read_parquet(store.folds_path)
        oof = oof.with_columns(fold=folds["fold_r0"] + 10)  # other fold numbers, the same split
    oof_path, test_path = folder / f"{model}_oof.csv", folder / f"{model}_test.csv"
    oof.sample(fraction=1.0, shuffle=True, seed=1).write_csv(oof_path)  # any row order
    store.read_predictions(model, "test").write_csv(test_path)
    return oof_path, test_path


def test_imported_predictions_blend_like_the_runs_own(runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = runs["demo-digits"]
    oof_path, test_path = _export(run_dir, "lgbm", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a model's own files: no warning (fold-pooled test probabilities of a class
        # lie above its OOF median by nature: no scale check on probabilities)
        imported = import_predictions(run_dir, "teammate", oof_path, test_path)
    assert imported.folds_checked and imported.n_rows == RunStore(run_dir).read_meta()["n_train"]
    own = fit_blend(run_dir, "nelder_mead", models=["nb", "lgbm"], options={"restarts": 2}, save=False)
    theirs = fit_blend(run_dir, "nelder_mead", models=["nb", "teammate"], options={"restarts": 2}, save=False)
    assert theirs.weights == own.weights and theirs.fold_scores == own.fold_scores
    report = blend_report(run_dir, "mean", options=QUICK, save=False)
    assert "teammate" in {m.name for m in report.models}  # imports join the default models
    assert next(m for m in report.models if m.name == "teammate").kind == "external"


def test_import_without_a_fold_column_warns(runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = runs["demo-breast-cancer"]
    oof_path, test_path = _export(run_dir, "xgb", tmp_path, with_folds=False)
    with pytest.warns(UserWarning, match=r"no fold column \(none named 'fold', 'kfold', .*optimistic"):
        imported = import_predictions(run_dir, "nofolds", oof_path, test_path)
    assert not imported.folds_checked


def _drop_first(f: pl.DataFrame) -> pl.DataFrame:
    return f.slice(1)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_drop_first, r"do not match the run's training ids: 1 of the run's training id\(s\) are missing \(e\.g\. "),
        (
            lambda f: f.with_columns(
                pl.when(pl.int_range(pl.len()) == 0).then(10**9).otherwise(pl.col("id")).alias("id")
            ),
            r"1 of the run's training id\(s\) are missing .*; 1 id\(s\) are not training ids of the run "
            r"\(e\.g\. '1000000000'\)",
        ),
        (lambda f: pl.concat([f, f.head(1)]), r"repeats 1 id\(s\).*one row per id"),
        (lambda f: f.rename({"id": "row_id"}), r"has no id column 'id'.*id_column"),
        (
            lambda f: f.with_columns(fold=pl.int_range(pl.len()) % 5),
            r"splits the rows differently from the run's folds",
        ),
        (
            lambda f: f.rename({"p_malignant": "x", "p_benign": "z"}),
            r"has columns \['z', 'x'\]; the run needs the columns \['p_benign', 'p_malignant'\]",
        ),
        (lambda f: f.with_columns(p_malignant=pl.col("p_malignant") * 3), r"within \[0, 1\] \(export the model"),
        (
            lambda f: f.with_columns(p_malignant=pl.col("p_malignant") - 0.5),
            r"\(logits or log-probabilities\? apply a sigmoid",
        ),
        (
            lambda f: f.with_columns(p_malignant=pl.lit(None, dtype=pl.Float64)),
            r"missing or infinite predictions \(e\.g\. id ",
        ),
    ],
)
def test_import_of_mismatched_predictions_fails_clearly(
    runs: dict[str, Path], tmp_path: Path, edit, match: str
) -> None:
    run_dir = runs["demo-breast-cancer"]
    oof_path, test_path = _export(run_dir, "xgb", tmp_path)
    edit(pl.read_csv(oof_path)).write_csv(oof_path)
    with pytest.raises(DataError, match=match):
        import_predictions(run_dir, "bad", oof_path, test_path)
    assert not (run_dir / "external" / "bad").exists()


def test_import_of_mismatched_test_ids_fails(runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = runs["demo-breast-cancer"]
    oof_path, test_path = _export(run_dir, "xgb", tmp_path)
    pl.read_csv(test_path).slice(3).write_csv(test_path)
    with pytest.raises(DataError, match=r"do not match the run's test ids: 3 of the run's test id\(s\) are missing"):
        import_predictions(run_dir, "bad_test", oof_path, test_path)


def test_cli_import_predictions(runs: dict[str, Path], tmp_path: Path, capsys) -> None:
    run_dir = runs["demo-breast-cancer"]
    oof_path, test_path = _export(run_dir, "lgbm", tmp_path)
    assert main(["import-predictions", str(run_dir), "friend", "--oof", str(oof_path), "--test", str(test_path)]) == 0
    assert "imported 'friend'" in capsys.readouterr().out
    assert json.loads((run_dir / "external" / "friend" / "source.json").read_text())["folds_checked"] is True
    assert main(["import-predictions", str(run_dir), "xgb", "--oof", str(oof_path)]) == 2
    assert "is the name of a model of the run" in capsys.readouterr().err


def test_a_deadline_leaves_out_every_method_after_the_first_with_a_note(runs: dict[str, Path]) -> None:
    """A time-limited command's blends: with its deadline already passed, the selection (the first method) still
    runs, so there is a blend to submit; the calibrated selection and the stacker are left out, each with a note."""
    run_dir = runs["demo-digits"]  # accuracy: hill_climb, calibrated_hill_climb, stack (no temperature: not log loss)
    report = blend_report(run_dir, "auto", deadline=time.monotonic(), save=False)
    assert [b.method for b in report.blends] == ["hill_climb"]
    left = [n for n in report.notes if " left out: " in n]
    assert [n.split()[0] for n in left] == ["'calibrated_hill_climb'", "'stack'"]
    full = blend_report(run_dir, "auto", deadline=time.monotonic() + 600, save=False)
    assert {b.method for b in full.blends} | {b.method for b, _ in full.dropped} == {
        "hill_climb",
        "calibrated_hill_climb",
        "stack",
    }


def test_under_log_loss_auto_also_tempers_the_selection(runs: dict[str, Path], demo_data: Path, tmp_path: Path) -> None:
    """``hill_climb_temperature``: the same selection (same weights), its probabilities through a temperature fitted
    on the OOF rows: its stored test predictions are the plain selection's sharpened or softened by that T. Not
    under ROC AUC (a temperature moves no ranking), nor where the methods are named."""
    from kaggle_kit.blend.api import TEMPERED
    from kaggle_kit.blend.calibration import apply_temperature
    from kaggle_kit.blend.storage import reblend_hint
    from kaggle_kit.report.blends import read_blends

    spec = demo_spec("demo-digits", demo_data, models=fast_models(("lightgbm",)), run=SEQUENTIAL, metric="log_loss")
    run_dir = run(spec, runs_root=tmp_path, progress=None).run_dir
    report = blend_report(run_dir, "auto", deadline=time.monotonic() + 600)
    assert [n.split()[0] for n in report.notes if " left out: " in n] == []
    names = [b.name for b in report.blends]
    assert names[:2] == ["hill_climb", TEMPERED]
    plain, tempered = report.blends[0], report.blends[1]
    assert tempered.method == "hill_climb" and tempered.weights == plain.weights
    assert tempered.temperature is not None and plain.temperature is None
    assert abs(tempered.temperature - 1.0) > 1e-3  # the fit moved it
    stored = {b: pl.read_parquet(run_dir / "blends" / b / "test.parquet").drop("id").to_numpy() for b in names[:2]}
    np.testing.assert_allclose(stored[TEMPERED], apply_temperature(stored["hill_climb"], tempered.temperature),
                               atol=1e-5)  # fmt: skip
    test = demo_data / "demo-digits" / "test.csv"
    got = kaggle_kit.predict(run_dir, test, blend=TEMPERED, threads=1)  # predict applies the stored temperature
    np.testing.assert_allclose(got.drop("id").to_numpy(), stored[TEMPERED], atol=1e-5)
    # the command a stale or damaged blend's error names makes the tempered selection again, not the plain one
    hint = reblend_hint(run_dir, tempered)
    shutil.rmtree(run_dir / "blends" / TEMPERED)
    assert main(hint.split("`")[1].split()[1:]) == 0
    again = read_blend(run_dir, TEMPERED)
    assert again.weights == tempered.weights and again.temperature == pytest.approx(tempered.temperature)
    (summary,) = [b for b in read_blends(run_dir) if b.name == TEMPERED]  # the report's reading names it alike
    (run_dir / "blends" / TEMPERED / "oof.parquet").write_bytes(b"damaged")
    with pytest.raises(StoreError, match="--calibrate temperature"):
        summary.oof()
    auc = blend_report(runs["demo-breast-cancer"], "auto", save=False)
    assert TEMPERED not in {b.name for b in auc.blends} | {b.name for b, _ in auc.dropped}
    named = blend_report(run_dir, "hill_climb,nelder_mead", save=False)  # methods named: exactly those
    assert [b.name for b in named.blends] == ["hill_climb", "nelder_mead"]
    every = blend_report(run_dir, "all", save=False)
    assert TEMPERED in {b.name for b in every.blends}
    # a teammate's predictions imported under that name (the blend removed first): auto runs without it, and says so
    shutil.rmtree(run_dir / "blends" / TEMPERED)
    oof_path, test_path = _export(run_dir, "lgbm", tmp_path)
    import_predictions(run_dir, TEMPERED, oof_path, test_path)
    taken = blend_report(run_dir, "auto", save=True)
    assert TEMPERED not in {b.name for b in taken.blends} and "hill_climb" in {b.name for b in taken.blends}
    assert f"({TEMPERED!r} left out: it is the name of a model of the run.)" in taken.notes


def test_a_time_limited_command_says_which_methods_its_deadline_left_out_and_still_submits(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line's step after a time-limited run's fits, its deadline passed: the selection alone is fitted
    and submitted; the calibrated selection and the stacker are named as left out, with the reason."""
    from kaggle_kit.cli import _select_and_submit

    run_dir = Path(shutil.copytree(runs["demo-digits"], tmp_path / "run"))
    shutil.rmtree(run_dir / "blends", ignore_errors=True)  # the module's other tests store blends in its runs
    shutil.rmtree(run_dir / "submissions", ignore_errors=True)
    _select_and_submit(run_dir, deadline=time.monotonic())
    out = capsys.readouterr().out
    assert "'calibrated_hill_climb' left out: the time limit was reached before it started." in out
    assert "'stack' left out: the time limit was reached before it started." in out
    assert [p.name for p in (run_dir / "blends").iterdir()] == ["hill_climb"]
    assert "submission (" in out and len(list((run_dir / "submissions").glob("*.csv"))) == 1


def test_submit_best_counts_imported_predictions_and_their_blends(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``submit --best`` writes the run's own test rows, so imported predictions (with test predictions) rank beside
    the models and blends of them are candidates, as the blend report ranks them (it had submitted the best run
    model, the report's best being an import); ``predict --best`` (new rows) still leaves them out."""
    from kaggle_kit.blend.target import run_target
    from kaggle_kit.predict.best import best_choice, stored_report

    run_dir = Path(shutil.copytree(runs["demo-breast-cancer"], tmp_path / "run"))
    for folder in ("blends", "submissions", "external"):
        shutil.rmtree(run_dir / folder, ignore_errors=True)
    store = RunStore(run_dir)
    y = run_target(store)
    ids = store.read_predictions("xgb", "oof")["id"]
    sure = 0.1 + 0.8 * y  # the labels, blurred: better than any model of the run (AUC 1)
    folds = pl.read_parquet(store.folds_path)["fold_r0"]
    pl.DataFrame({"id": ids, "p_malignant": sure, "fold": folds}).write_csv(tmp_path / "oof.csv")
    test = store.read_predictions("xgb", "test").with_columns(p_malignant=1 - pl.col("p_malignant")).drop("p_benign")
    test.write_csv(tmp_path / "test.csv")
    import_predictions(run_dir, "teammate", tmp_path / "oof.csv", tmp_path / "test.csv")
    with pytest.warns(UserWarning, match="no test predictions given"):
        import_predictions(run_dir, "notest", tmp_path / "oof.csv")  # no test file: not a candidate
    assert main(["submit", str(run_dir), "--best"]) == 0
    assert "--best: model 'teammate'" in capsys.readouterr().out
    written = pl.read_csv(run_dir / "submissions" / "teammate.csv")
    expected = written.select("id").join(test, on="id", how="left")["p_malignant"].to_numpy()
    np.testing.assert_allclose(written["diagnosis"].to_numpy(), expected, rtol=1e-6)  # the sample's column
    with pytest.raises(StoreError, match=r"'notest' have no test predictions.*--test TEST_FILE"):
        write_submission(run_dir, "notest")
    shutil.rmtree(run_dir / "external" / "notest")
    fit_blend(run_dir, "mean", models=["teammate", "nb"])
    fit_blend(run_dir, "nelder_mead", models=["xgb", "nb"], options={"restarts": 2})
    assert {b.name for b in stored_report(run_dir, new_rows=False).blends} == {"mean", "nelder_mead"}
    assert {b.name for b in stored_report(run_dir).blends} == {"nelder_mead"}
    assert best_choice(run_dir).name != "teammate"  # predict: no model here predicts new rows for it


@pytest.mark.parametrize("column", ["p_benign", "benign", "p_malignant", "malignant"])
def test_one_column_of_either_class_is_read_as_that_class(runs: dict[str, Path], tmp_path: Path, column: str) -> None:
    """A binary file with one column named by the negative class holds that class's probability: it had been read as
    the positive class's, silently inverting the import (a ROC AUC of 1 - AUC)."""
    run_dir = runs["demo-breast-cancer"]
    oof_path, test_path = _export(run_dir, "xgb", tmp_path)
    label = column.removeprefix("p_")
    for path in (oof_path, test_path):
        frame = pl.read_csv(path)
        frame.select(
            "id", pl.col(f"p_{label}").alias(column), *(["fold"] if "fold" in frame.columns else [])
        ).write_csv(path)
    import_predictions(run_dir, "one_column", oof_path, test_path)
    store = RunStore(run_dir)
    for kind in ("oof", "test"):
        got = pl.read_parquet(run_dir / "external" / "one_column" / f"{kind}.parquet")
        np.testing.assert_allclose(got.drop("id").to_numpy(), store.read_predictions("xgb", kind).drop("id").to_numpy(),
                                   atol=1e-6)  # fmt: skip


def test_labels_imported_as_probabilities_are_named(runs: dict[str, Path], tmp_path: Path) -> None:
    """0 / 1 labels (a notebook's ``predict``, not ``predict_proba``) pass every check; the import names them."""
    run_dir = runs["demo-breast-cancer"]
    oof_path, _ = _export(run_dir, "xgb", tmp_path)
    frame = pl.read_csv(oof_path)
    frame.select("id", (pl.col("p_malignant") > 0.5).cast(pl.Int64).alias("diagnosis"), "fold").write_csv(oof_path)
    with pytest.warns(UserWarning, match=r"all 0 or 1: class labels, not probabilities.*predict_proba"):
        import_predictions(run_dir, "labels", oof_path)


def _rmsle_run(tmp_path: Path, scale: float = 1.0, folds: dict | None = None, more: tuple[str, ...] = ()) -> Path:
    """A small regression run scored by RMSLE: one ridge (and a ridge named as each of ``more``), 60 training and 20
    test rows, targets ``scale * e^x``; a column ``t`` (12 steps of 5 rows) for time folds."""
    from kaggle_kit.config import build_spec

    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 2))
    frame = pl.DataFrame(
        {"id": np.arange(80), "a": x[:, 0], "b": x[:, 1], "t": np.arange(80) // 5, "y": scale * np.exp(x[:, 0])}
    )
    ridge = {"name": "ridge", "kind": "sklearn", "estimator": "sklearn.linear_model.Ridge"}
    spec = build_spec(
        {
            "name": "rmsle",
            "task": "regression",
            "metric": "rmsle",
            "data": {"train": "t.csv", "test": "u.csv", "id": "id", "target": "y"},
            "folds": folds or {"strategy": "kfold", "n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [ridge, *({**ridge, "name": name} for name in more)],
        }
    )
    return run(spec, train=frame[:60], test=frame[60:].drop("y"), runs_root=tmp_path, progress=None).run_dir


def test_imported_values_outside_the_metrics_domain_are_clipped_as_the_runs_are(tmp_path: Path) -> None:
    """RMSLE scores values >= 0: negative imported predictions were stored as they were, scored clipped, and
    submitted negative (alone, or in a blend of them); they are clipped into the domain as a model's are, said."""
    run_dir = _rmsle_run(tmp_path)
    store = RunStore(run_dir)
    oof = store.read_predictions("ridge", "oof").with_columns(pl.col("prediction") - 3)
    oof.with_columns(fold=pl.read_parquet(store.folds_path)["fold_r0"]).write_csv(tmp_path / "oof.csv")
    store.read_predictions("ridge", "test").with_columns(pl.col("prediction") - 3).write_csv(tmp_path / "test.csv")
    with pytest.warns(UserWarning, match=r"prediction value\(s\) of 'low' were outside \[0, inf\], what rmsle scores"):
        import_predictions(run_dir, "low", tmp_path / "oof.csv", tmp_path / "test.csv")
    for kind in ("oof", "test"):
        stored = pl.read_parquet(run_dir / "external" / "low" / f"{kind}.parquet")["prediction"].to_numpy()
        assert stored.min() == 0.0  # some were below 0
    fit_blend(run_dir, "mean", models=["ridge", "low"])
    assert pl.read_csv(write_submission(run_dir, blend="mean"))["y"].min() >= 0


def test_test_predictions_on_another_scale_than_the_oof_are_named(tmp_path: Path) -> None:
    """An OOF file of values and a test file left in log space (a forgotten ``expm1``) passed every check, and a blend
    applied its OOF-fitted weights to the mix of scales; the import now says so. The same model's files pass."""
    run_dir = _rmsle_run(tmp_path, scale=100.0)  # prices, say: log1p of them lies far below
    store = RunStore(run_dir)
    oof = store.read_predictions("ridge", "oof").with_columns(fold=pl.read_parquet(store.folds_path)["fold_r0"])
    oof.write_csv(tmp_path / "oof.csv")
    test = store.read_predictions("ridge", "test")
    test.write_csv(tmp_path / "test.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the model's own files: no warning
        import_predictions(run_dir, "same", tmp_path / "oof.csv", tmp_path / "test.csv")
    test.with_columns(pl.col("prediction").log1p()).write_csv(tmp_path / "test.csv")
    with pytest.warns(UserWarning, match=r"not on the scale of the OOF predictions: 100% of the test values of "):
        import_predictions(run_dir, "log_test", tmp_path / "oof.csv", tmp_path / "test.csv")


@pytest.mark.parametrize(
    "edit",
    [
        lambda f: f.rename({"id": "ID"}),  # the id column spelled otherwise (case)
        lambda f: f.with_columns(pl.col("id").cast(pl.Float64)),  # integer ids written 1000.0 (pandas, once a gap)
        lambda f: f.rename({c: c.removeprefix("p_").title() for c in f.columns if c.startswith("p_")}),  # 'Benign'
    ],
)
def test_ids_and_columns_spelled_otherwise_are_matched(runs: dict[str, Path], tmp_path: Path, edit) -> None:
    """A Kaggler's files spell what the run's do otherwise: they had been refused (`has no id column 'id'`; all 300
    ids `missing`, `'1000.0'` unknown; `the run needs the columns ...`); they import as the exact spelling does."""
    run_dir = runs["demo-breast-cancer"]
    oof_path, test_path = _export(run_dir, "xgb", tmp_path)
    for path in (oof_path, test_path):
        edit(pl.read_csv(path)).write_csv(path)
    import_predictions(run_dir, "spelled", oof_path, test_path)
    store = RunStore(run_dir)
    for kind in ("oof", "test"):
        got = pl.read_parquet(run_dir / "external" / "spelled" / f"{kind}.parquet")
        assert got.equals(store.read_predictions("xgb", kind))


@pytest.mark.parametrize("as_codes", [False, True])
def test_a_target_column_beside_the_predictions_is_checked_against_the_run(
    runs: dict[str, Path], tmp_path: Path, as_codes: bool
) -> None:
    """A notebook's OOF file often keeps the labels (as labels or as codes 0 / 1): it had been refused (`has column(s)
    ['diagnosis'] besides the run's prediction columns`); it imports, and it is the one check that shows ids which
    do not name the rows the run's ids name (here: the ids renumbered 0..n-1 over rows in another order), which
    matched every prediction to another row's label without a word."""
    from kaggle_kit.blend.target import run_target

    run_dir = runs["demo-breast-cancer"]
    store = RunStore(run_dir)
    oof_path, test_path = _export(run_dir, "xgb", tmp_path)
    y = pl.DataFrame({"id": store.read_predictions("xgb", "oof")["id"], "code": run_target(store)})
    frame = pl.read_csv(oof_path).join(y, on="id")
    label = (
        pl.col("code")
        if as_codes
        else pl.when(pl.col("code") == 1).then(pl.lit("malignant")).otherwise(pl.lit("benign"))
    )
    frame.with_columns(diagnosis=label).drop("code").write_csv(oof_path)
    import_predictions(run_dir, "with_labels", oof_path, test_path)
    got = pl.read_parquet(run_dir / "external" / "with_labels" / "oof.parquet")
    assert got.equals(store.read_predictions("xgb", "oof"))
    renumbered = pl.read_csv(oof_path).sort("p_malignant").with_columns(id=pl.Series(sorted(y["id"].to_list())))
    renumbered.drop("fold").write_csv(oof_path)
    with pytest.raises(DataError, match=r"target column 'diagnosis' of .* disagrees with the run's target on \d+ of"):
        import_predictions(run_dir, "renumbered", oof_path, test_path)


def test_imports_without_test_predictions_are_left_out_of_the_blends_not_stopping_them(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """The import said such predictions `can be scored and compared`, but every blend of the run (and a time-limited
    run's submission, after all its fits) then stopped with `have no test predictions`; they are left out, said. Named
    with --models, they are still refused."""
    run_dir = Path(shutil.copytree(runs["demo-breast-cancer"], tmp_path / "run"))
    shutil.rmtree(run_dir / "blends", ignore_errors=True)
    oof_path, _ = _export(run_dir, "xgb", tmp_path)
    with pytest.warns(UserWarning, match="the blends leave it out"):
        import_predictions(run_dir, "oof_only", oof_path)
    with pytest.warns(UserWarning, match=r"'oof_only' have no test predictions: left out of the blends"):
        report = blend_report(run_dir, "mean", options=QUICK)
    assert "oof_only" not in {m.name for m in report.models} and "oof_only" not in report.blends[0].models
    assert write_submission(run_dir, blend="mean").is_file()
    with pytest.raises(StoreError, match="'oof_only' have no test predictions"):
        fit_blend(run_dir, "mean", models=["xgb", "oof_only"], save=False)


@pytest.mark.parametrize("column", ["kfold", "Fold", "fold_r0"])
def test_a_fold_column_named_as_notebooks_name_it_is_checked(
    runs: dict[str, Path], tmp_path: Path, column: str
) -> None:
    """`kfold` (notebooks), `Fold`, or `fold_r0` (the run's folds.parquet joined, as the no-fold-column warning
    advises) had been taken for a prediction column and the file refused (`has column(s) ['kfold'] besides the run's
    prediction columns`); it is the fold column, checked against the run's folds: other folds are refused."""
    run_dir = runs["demo-breast-cancer"]
    oof_path, test_path = _export(run_dir, "xgb", tmp_path)
    frame = pl.read_csv(oof_path).rename({"fold": column})
    frame.write_csv(oof_path)
    assert import_predictions(run_dir, "notebook_folds", oof_path, test_path).folds_checked
    frame.with_columns(pl.int_range(pl.len()).mod(5).alias(column)).write_csv(oof_path)
    with pytest.raises(DataError, match=f"the fold column '{column}' of .* splits the rows differently"):
        import_predictions(run_dir, "other_folds", oof_path, test_path)


def test_time_folds_rows_never_validated_may_have_no_fold_in_the_file(tmp_path: Path) -> None:
    """Time folds never validate the first block: a file made on the run's folds leaves those rows' prediction and
    fold empty. It had been refused (`the fold column 'fold' ... has 15 empty value(s)`); an empty fold on a row
    the run validates still is."""
    run_dir = _rmsle_run(tmp_path, folds={"strategy": "time", "n_splits": 3, "time": "t"})
    store = RunStore(run_dir)
    fold = pl.read_parquet(store.folds_path)["fold_r0"]
    oof = store.read_predictions("ridge", "oof").with_columns(fold=pl.when(fold >= 0).then(fold))
    assert oof["fold"].null_count() > 0 and oof["prediction"].is_nan().sum() == oof["fold"].null_count()
    oof.write_csv(tmp_path / "oof.csv")
    store.read_predictions("ridge", "test").write_csv(tmp_path / "test.csv")
    with pytest.warns(
        UserWarning, match=r"cannot show what each fold's model trained on: the run's train on the earlie"
    ):
        assert import_predictions(run_dir, "on_time", tmp_path / "oof.csv", tmp_path / "test.csv").folds_checked
    validated = int(fold.arg_max() or 0)  # a row the run validates, its fold left empty
    oof.with_columns(fold=pl.when(pl.int_range(pl.len()) == validated).then(None).otherwise(pl.col("fold"))).write_csv(
        tmp_path / "oof.csv"
    )
    with pytest.raises(DataError, match=r"has 1 empty value\(s\) on rows the run validates"):
        import_predictions(run_dir, "gap", tmp_path / "oof.csv", tmp_path / "test.csv")


def test_one_column_of_labels_for_many_classes_is_named(runs: dict[str, Path], tmp_path: Path) -> None:
    """A multiclass notebook's `predict` (one column of labels): refused, the message saying what it likely is."""
    run_dir = runs["demo-digits"]
    oof_path, test_path = _export(run_dir, "lgbm", tmp_path)
    pl.read_csv(oof_path).select("id", pl.lit(3).alias("label"), "fold").write_csv(oof_path)
    with pytest.raises(DataError, match=r"one column for 10 classes: labels\? export one probability per class"):
        import_predictions(run_dir, "labels", oof_path, test_path)


@pytest.mark.parametrize("taken_by", ["import", "blend"])
def test_a_model_named_as_an_import_or_a_blend_is_refused_before_any_fit(tmp_path: Path, taken_by: str) -> None:
    """Names are unique across models, blends and imports: a model added under an import's name had been fitted on
    every fold, and then the blend and submission after them stopped (`model(s) 'friend' are named more than
    once`); it is refused before anything trains, naming the folder that holds the name."""
    run_dir = _rmsle_run(tmp_path)
    store = RunStore(run_dir)
    if taken_by == "import":
        oof = store.read_predictions("ridge", "oof").with_columns(fold=pl.read_parquet(store.folds_path)["fold_r0"])
        oof.write_csv(tmp_path / "oof.csv")
        store.read_predictions("ridge", "test").write_csv(tmp_path / "test.csv")
        import_predictions(run_dir, "friend", tmp_path / "oof.csv", tmp_path / "test.csv")
    else:
        fit_blend(run_dir, "mean", name="friend")
    folder = "external" if taken_by == "import" else "blends"
    with pytest.raises(ConfigError, match=f"model 'friend' has the name of .*delete .*{folder}/friend"):
        _rmsle_run(tmp_path, more=("friend",))
    assert not (run_dir / "models" / "friend").exists()  # nothing fitted


def _binary_run(tmp_path: Path, metric: str = "roc_auc", more: tuple[str, ...] = ()) -> Path:
    """A small binary run of classes 0 / 1 (a logistic regression ``lr``, and a weaker one named as each of
    ``more``; 60 training and 30 test rows)."""
    from kaggle_kit.config import build_spec

    rng = np.random.default_rng(3)
    x = rng.normal(size=(90, 2))
    frame = pl.DataFrame(
        {"id": np.arange(90), "a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] + rng.normal(size=90) > 0).astype(int)}
    )
    logreg = {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
    spec = build_spec(
        {
            "name": "zero_one",
            "task": "binary",
            "metric": metric,
            "data": {"train": "t.csv", "test": "u.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [{"name": "lr", **logreg}, *({"name": n, **logreg, "params": {"C": 0.1}} for n in more)],
        }
    )
    return run(spec, train=frame[:60], test=frame[60:].drop("y"), runs_root=tmp_path, progress=None).run_dir


def test_one_column_named_0_as_pandas_names_it_is_the_positive_class(tmp_path: Path) -> None:
    """``pd.DataFrame(model.predict_proba(X)[:, 1])`` names its column 0: for classes 0 / 1 that is the negative
    class's label, and the one column was read as class 0's probability, inverting the import without a word. A
    number names no class for sure: read as the positive class's, as any one column is, and said."""
    run_dir = _binary_run(tmp_path)
    store = RunStore(run_dir)
    folds = pl.read_parquet(store.folds_path)["fold_r0"]
    for kind in ("oof", "test"):
        frame = store.read_predictions("lr", kind)
        extra = [folds.alias("fold")] if kind == "oof" else []
        frame.select(pl.col("p_1").alias("0"), "id", *extra).write_csv(tmp_path / f"{kind}.csv")
    with pytest.warns(UserWarning, match=r"one prediction column '0' of .* positive class '1' .* name it 'p_0'"):
        import_predictions(run_dir, "pandas", tmp_path / "oof.csv", tmp_path / "test.csv")
    for kind in ("oof", "test"):
        got = pl.read_parquet(run_dir / "external" / "pandas" / f"{kind}.parquet")
        np.testing.assert_allclose(got["p_1"].to_numpy(), store.read_predictions("lr", kind)["p_1"].to_numpy(),
                                   atol=1e-6)  # fmt: skip


def test_a_stack_applied_to_new_rows_stays_in_the_metrics_domain(tmp_path: Path) -> None:
    """RMSLE scores values >= 0: a stack's level-2 ridge extrapolates below 0 for new rows its models predict 0 for
    (clipped there, as a model's predictions are); ``predict`` applied the stored fold models, or fitted them again
    where they were not stored, without clipping, and submitted negative values."""
    from kaggle_kit.blend.base import Fitted
    from kaggle_kit.blend.registry import make_blender
    from kaggle_kit.blend.storage import read_level2
    from kaggle_kit.predict.blends import apply_blend
    from kaggle_kit.predict.run_folder import RunFolder

    run_dir = _rmsle_run(tmp_path, more=("twin",))
    result = fit_blend(run_dir, "stack", models=["ridge", "twin"])
    rows = {"ridge": np.array([[0.0], [4.0]]), "twin": np.array([[0.0], [4.0]])}  # new rows' predictions
    level2 = read_level2(run_dir, result, "blend again")
    assert level2 is not None
    stacker, stacked = make_blender("stack", result.options), np.stack(list(rows.values())).astype(np.float32)
    raw = [stacker.predict(Fitted(model=m), stacked)[0, 0] for m in level2]
    assert max(raw) < 0  # the premise: every fold's ridge predicts below 0 for the first row
    folder = RunFolder.open(run_dir)
    stored = apply_blend(folder, result, rows)
    for name in ("level2.json", "level2.npz"):  # a stack stored without them: fitted again
        (run_dir / "blends" / "stack" / name).unlink()
    again = apply_blend(folder, result, rows)
    for got in (stored, again):
        assert got[0, 0] == 0.0 and got[1, 0] > 0  # clipped into [0, inf]; the other row as the stack predicts it


def test_imported_predictions_are_submitted_as_labels_at_their_own_threshold(tmp_path: Path) -> None:
    """A label metric's submission of imported predictions labels them at the threshold chosen on their own OOF, as
    a model's is: a model's copy imported submits what the model submits."""
    run_dir = _binary_run(tmp_path, "accuracy")
    store = RunStore(run_dir)
    oof = store.read_predictions("lr", "oof").with_columns(fold=pl.read_parquet(store.folds_path)["fold_r0"])
    oof.write_csv(tmp_path / "oof.csv")
    store.read_predictions("lr", "test").write_csv(tmp_path / "test.csv")
    import_predictions(run_dir, "copy", tmp_path / "oof.csv", tmp_path / "test.csv")
    theirs = pl.read_csv(write_submission(run_dir, "copy"))
    assert theirs.equals(pl.read_csv(write_submission(run_dir, "lr"))) and set(theirs["y"]) <= {0, 1}


def test_a_binary_file_with_its_classes_swapped_is_named(runs: dict[str, Path], tmp_path: Path) -> None:
    """A column named by one class holding the other's probability passed every check, and every blend of it was
    wrong (its OOF ROC AUC 1 - AUC); the import names the swap. The model's own files say nothing."""
    run_dir = runs["demo-breast-cancer"]
    oof_path, test_path = _export(run_dir, "xgb", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import_predictions(run_dir, "same", oof_path, test_path)
    for path in (oof_path, test_path):
        frame = pl.read_csv(path)
        frame.with_columns(p_benign=pl.col("p_malignant"), p_malignant=pl.col("p_benign")).write_csv(path)
    with pytest.warns(UserWarning, match=r"far below chance \(OOF ROC AUC 0\.0\d+ as the probability of 'p_malignant'"):
        import_predictions(run_dir, "swapped", oof_path, test_path)


def test_a_regression_files_target_column_is_checked_as_values(tmp_path: Path) -> None:
    """A regression OOF file keeping the target beside its predictions: the same values (to 4 digits) import; the
    target transformed (log1p) or text disagrees, said, with the hint (text had raised a bare ValueError)."""
    from kaggle_kit.blend.target import run_target

    run_dir = _rmsle_run(tmp_path)
    store = RunStore(run_dir)
    oof = store.read_predictions("ridge", "oof").with_columns(
        fold=pl.read_parquet(store.folds_path)["fold_r0"], y=pl.Series(run_target(store)).round_sig_figs(6)
    )
    oof.write_csv(tmp_path / "oof.csv")
    store.read_predictions("ridge", "test").write_csv(tmp_path / "test.csv")
    import_predictions(run_dir, "kept", tmp_path / "oof.csv", tmp_path / "test.csv")
    for y in (pl.col("y").log1p(), pl.lit("n/a")):
        oof.with_columns(y=y).write_csv(tmp_path / "oof.csv")
        with pytest.raises(DataError, match=r"target column 'y' .* disagrees .*transformed \(e\.g\. log1p\): drop it"):
            import_predictions(run_dir, "other", tmp_path / "oof.csv", tmp_path / "test.csv")


def test_several_methods_blend_when_a_model_has_a_methods_name(tmp_path: Path) -> None:
    """A model named as a blend method (``mean``, ``stack``): every blend of several methods stopped (`the blend name
    'mean' is the name of a model ...: --name mean_blend`, which several methods cannot take), and a time-limited
    run's selection and submission after all its fits with them; that method's blend is stored under another name,
    said. One method without a name is still refused, naming --name."""
    run_dir = _binary_run(tmp_path, more=("mean",))
    report = blend_report(run_dir, "mean,nelder_mead", options=QUICK)
    assert [b.name for b in report.blends] == ["mean_blend", "nelder_mead"]
    assert "('mean' stored as 'mean_blend': 'mean' names a model or imported predictions of the run.)" in report.notes
    assert read_blend(run_dir, "mean_blend").method == "mean"
    with pytest.raises(ConfigError, match=r"the blend name 'mean' is the name of a model .*--name mean_blend"):
        fit_blend(run_dir, "mean")


def test_values_outside_the_domain_by_rounding_are_clipped_without_a_word(tmp_path: Path) -> None:
    """A value a hair below 0 (rounding: 1 - 1.0000000000000002) is clipped, as any is, but the warning counts only
    values outside by more than rounding: it had said the file held values the metric cannot score."""
    run_dir = _rmsle_run(tmp_path)
    store = RunStore(run_dir)
    oof = store.read_predictions("ridge", "oof").with_columns(fold=pl.read_parquet(store.folds_path)["fold_r0"])
    oof.with_columns(prediction=pl.when(pl.int_range(pl.len()) == 0).then(-1e-12).otherwise("prediction")).write_csv(
        tmp_path / "oof.csv"
    )
    store.read_predictions("ridge", "test").write_csv(tmp_path / "test.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import_predictions(run_dir, "hair", tmp_path / "oof.csv", tmp_path / "test.csv")
    assert pl.read_parquet(run_dir / "external" / "hair" / "oof.parquet")["prediction"].min() == 0.0


def _with_bag(run_dir: Path, tmp_path: Path, members: list[str]) -> Path:
    """A copy of ``run_dir`` whose run.json records ``members`` as a seed bag of the first (as a time limit does)."""
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    store = RunStore(copy)
    meta = store.read_meta()
    store.write_meta({**meta, "bags": {members[0]: {"models": members, "seeds": list(range(42, 42 + len(members)))}}})
    return copy


def test_the_default_blends_add_each_seed_bags_mean(runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = _with_bag(runs["demo-digits"], tmp_path, ["lgbm", "nb"])
    report = blend_report(run_dir, "auto")
    bag = next(b for b in report.blends if b.name == "lgbm_bag")
    assert bag.method == "mean" and list(bag.models) == ["lgbm", "nb"]
    preds = load_run(run_dir, ["lgbm", "nb"])
    expected = (preds.oof["lgbm"] + preds.oof["nb"]) / 2  # an independent mean of the two models' OOF
    stored = read_blend_predictions(run_dir, "lgbm_bag", "oof").drop("id").to_numpy()
    np.testing.assert_allclose(stored, expected, rtol=1e-5, atol=1e-6)
    assert "lgbm_bag" in {b.name for b in blend_report(run_dir, "all", options=QUICK).blends}


@pytest.mark.parametrize(
    ("members", "methods"),
    [(["lgbm", "nb"], "hill_climb"), (["lgbm", "gone"], "auto"), (["lgbm"], "auto")],
    ids=["a-named-method", "a-member-not-in-the-run", "a-bag-of-one"],
)
def test_no_bag_mean_where_it_was_not_asked_for_or_cannot_be(
    runs: dict[str, Path], tmp_path: Path, members: list[str], methods: str
) -> None:
    run_dir = _with_bag(runs["demo-digits"], tmp_path, members)
    assert not [b for b in blend_report(run_dir, methods).blends if b.name.endswith("_bag")]


def test_no_bag_mean_of_copies(runs: dict[str, Path], tmp_path: Path) -> None:
    # a kind that ignores the seed (a linear model): its bag is a copy of it, and its mean that model again
    run_dir = _with_bag(runs["demo-digits"], tmp_path, ["nb", "nb_s43"])
    store = RunStore(run_dir)
    key = store.current_models()["nb"]
    shutil.copytree(store.model_dir("nb", key), store.model_dir("nb_s43", key))
    summary = json.loads((store.model_dir("nb_s43", key) / "summary.json").read_text())
    (store.model_dir("nb_s43", key) / "summary.json").write_text(json.dumps({**summary, "name": "nb_s43"}))
    store.write_meta({**store.read_meta(), "models": {**store.current_models(), "nb_s43": key}})
    assert "nb_s43" in load_run(run_dir).names
    assert not [b for b in blend_report(run_dir, "auto").blends if b.name.endswith("_bag")]
