"""What ranks stored blends and imported predictions (``submit --best``, ``kaggle-kit report``) against what one
``blend`` call decides: the stacked-overfitting guard across calls, imports without test predictions, imports whose
folds could not be checked, and a repeated run's fold columns."""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import demo_spec

from kaggle_kit.blend import blend_report, fit_blend, import_predictions
from kaggle_kit.blend.engine import stored_guard
from kaggle_kit.cli import main
from kaggle_kit.errors import ConfigError, DataError
from kaggle_kit.metrics import get_metric
from kaggle_kit.predict.best import best_choice, stored_report
from kaggle_kit.report import History, build_report, collect_report, record_run
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

NB = {"name": "nb", "kind": "sklearn", "estimator": "sklearn.naive_bayes.GaussianNB"}
LR = {
    "name": "lr",
    "kind": "sklearn",
    "estimator": "sklearn.linear_model.LogisticRegression",
    "params": {"max_iter": 500},
}


def _run(demo_data: Path, root: Path, n_repeats: int) -> Path:
    spec = demo_spec(
        "demo-breast-cancer",
        demo_data,
        models=[NB, LR],
        folds={"strategy": "stratified", "n_splits": 5, "n_repeats": n_repeats},
        run={"n_jobs": 1, "threads_per_task": 1},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the logistic regression's convergence
        return run(spec, runs_root=root, progress=None).run_dir


@pytest.fixture(scope="module")
def built(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Breast cancer with naive Bayes and a logistic regression: 5 folds, and 2 x 5 folds."""
    return {n: _run(demo_data, tmp_path_factory.mktemp(f"stored{n}"), n) for n in (1, 2)}


@pytest.fixture
def single(built: dict[int, Path], tmp_path: Path) -> Path:
    """A copy of the 5-fold run, for a test to store blends and imports in."""
    return Path(shutil.copytree(built[1], tmp_path / "run"))


def _export(run_dir: Path, folder: Path, folds: dict[str, str] | None) -> tuple[Path, Path]:
    """naive Bayes' OOF (with ``folds``: file column -> folds.parquet column) and test predictions, as files."""
    store = RunStore(run_dir)
    oof = store.read_predictions("nb", "oof")
    if folds:
        ids = pl.read_parquet(store.folds_path)
        oof = oof.join(ids.select("id", *(pl.col(c).alias(f) for f, c in folds.items())), on="id")
    oof_path, test_path = folder / "oof.csv", folder / "test.csv"
    oof.write_csv(oof_path)
    store.read_predictions("nb", "test").write_csv(test_path)
    return oof_path, test_path


# ------------------------------------------------------------------------------- the guard across calls
def test_a_stacker_the_guard_drops_keeps_an_earlier_one_of_its_name(single: Path) -> None:
    """`blend --method stack` over nb and lr is stored as 'stack'; a later call over nb alone drops its own stacker.
    The earlier 'stack' is another blend (over nb and lr, which no selection over nb and lr beat): it had been
    deleted, computed work lost, and `submit --best` could no longer pick it. It stays, ranked as stored blends are,
    and the note says so."""
    fit_blend(single, "stack", models=["nb", "lr"])
    report = blend_report(single, "hill_climb,stack", models=["nb"])
    assert [b.name for b, _ in report.dropped] == ["stack"]  # the precondition: this call's guard drops it
    assert "the blend 'stack' stored by an earlier call (over 'lr', 'nb') is kept" in report.text()
    assert RunStore(single).root.joinpath("blends", "stack", "summary.json").is_file()
    assert "stack" in {b.name for b in stored_report(single, new_rows=False).blends}


def test_an_earlier_stacker_over_the_same_models_is_kept_but_left_out_of_the_ranking(single: Path) -> None:
    """The earlier 'stack' over the very models of a later call whose guard drops its stacker: kept on disk (nothing
    computed is lost), left out of what ranks stored blends by the guard over stored blends, as the call says."""
    fit_blend(single, "stack", models=["nb"])
    report = blend_report(single, "hill_climb,stack", models=["nb"])
    assert [b.name for b, _ in report.dropped] == ["stack"]
    assert "is kept" in report.text() and "left out of `submit --best` and the report" in report.text()
    assert (single / "blends" / "stack" / "summary.json").is_file()
    stored = stored_report(single, new_rows=False)
    assert [(b.name, s.name) for b, s in stored.dropped] == [("stack", "hill_climb")]
    assert best_choice(single, new_rows=False).name != "stack"


def test_stored_stackers_are_guarded_across_calls(single: Path) -> None:
    """`--method stack` and then `--method hill_climb`, each alone, over the same models: one call of both drops
    the stacker (it does not beat the selection); what ranks stored blends now drops it too, and says why."""
    stack = fit_blend(single, "stack", models=["nb"])
    selection = fit_blend(single, "hill_climb", models=["nb"])
    assert stack.mean < selection.mean  # the precondition (ROC AUC): the guard of one call would drop it
    report = stored_report(single, new_rows=False)
    assert [b.name for b in report.blends] == ["hill_climb"]
    assert [(b.name, s.name) for b, s in report.dropped] == [("stack", "hill_climb")]
    assert "Stacking left out (stacked-overfitting guard, over stored blends): 'stack'" in report.text()
    entries = collect_report(single, adversarial=False).entries
    assert "stack" not in {e.name for e in entries} and "hill_climb" in {e.name for e in entries}


# ------------------------------------------------------------------------------- imports the report ranks
def test_imports_without_test_predictions_are_ranked_but_never_named_the_best(single: Path, tmp_path: Path) -> None:
    """An OOF file near the truth, imported without test predictions, ranks first; `submit --best` cannot submit
    it, and the report had named it the best all the same."""
    y = pl.read_parquet(single / "target.parquet")["y"].to_numpy()
    oof = RunStore(single).read_predictions("nb", "oof")
    p = np.clip(0.9 * y + 0.05, 0, 1)
    oof.with_columns(p_benign=pl.Series(1 - p), p_malignant=pl.Series(p)).write_csv(tmp_path / "oracle.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no fold column, no test file: both said
        import_predictions(single, "oracle", tmp_path / "oracle.csv")
    report = collect_report(single, adversarial=False)
    oracle = next(e for e in report.entries if e.name == "oracle")
    assert report.entries[0] is oracle and oracle.label == "external (no test predictions, folds unchecked)"
    with pytest.warns(UserWarning, match="'oracle' have no test predictions: left out of the blends"):
        choice = best_choice(single, new_rows=False)
    assert report.best is not None and report.best.name == choice.name != "oracle"
    assert any("without --test: 'oracle')" in n and "submit --best" in n for n in report.notes)


def test_blends_of_imports_whose_folds_were_not_checked_are_marked(single: Path, tmp_path: Path) -> None:
    """(The import is a noisy copy of the target, whose errors owe nothing to lr's, so that the mean of the two beats
    both whatever the split: naive Bayes' OOF had beaten lr with it on some splits only, and the demo's split had
    changed from one session to the next.)"""
    _, test_path = _export(single, tmp_path, None)
    y = pl.read_parquet(single / "target.parquet")["y"].to_numpy()
    p = np.clip(0.45 * y + 0.55 * np.random.default_rng(0).random(len(y)), 0, 1)
    oof = (
        RunStore(single).read_predictions("nb", "oof").with_columns(p_benign=pl.Series(1 - p), p_malignant=pl.Series(p))
    )
    oof_path = tmp_path / "noisy.csv"
    oof.write_csv(oof_path)
    with pytest.warns(UserWarning, match="no fold column"):
        import_predictions(single, "nofolds", oof_path, test_path)
    report = blend_report(single, "mean", models=["lr", "nofolds"])
    assert report.unchecked == ("nofolds",)
    text = report.text()
    assert "Folds unchecked: the imported predictions 'nofolds'" in text and "blends of them ('mean')" in text
    assert "external, folds unchecked" in text and "folds unchecked; " in text  # the rows of the leaderboard
    assert report.beats_best_model  # the precondition: the verdict names a blend of them
    assert "Its nested CV is optimistic, though, if 'nofolds'" in report.verdict()
    choice = best_choice(single, new_rows=False)  # what `submit --best` prints
    assert choice.name == "mean" and "Its nested CV is optimistic, though, if 'nofolds'" in choice.verdict
    entries = {e.name: e for e in collect_report(single, adversarial=False).entries}
    assert entries["nofolds"].unchecked and entries["mean"].unchecked and not entries["lr"].unchecked
    assert entries["mean"].label == "blend: mean (folds unchecked)"


# ------------------------------------------------------------------------------- a repeated run's fold columns
def test_a_repeated_runs_folds_joined_are_checked_repeat_by_repeat(built: dict[int, Path], tmp_path: Path) -> None:
    """folds.parquet joined (as the no-fold-column warning advises) gives fold_r0 and fold_r1: the second had been
    taken for a prediction column and the file refused."""
    run_dir = Path(shutil.copytree(built[2], tmp_path / "run"))
    oof_path, test_path = _export(run_dir, tmp_path, {"fold_r0": "fold_r0", "fold_r1": "fold_r1"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        imported = import_predictions(run_dir, "joined", oof_path, test_path)
    assert imported.folds_checked and imported.fold_repeats == (0, 1)


def test_a_repeated_runs_single_fold_column_is_checked_against_each_repeat(
    built: dict[int, Path], tmp_path: Path
) -> None:
    """One fold column on a run of 2 repeats: it had been compared with repeat 0 only, so a file made on repeat 1's
    folds was refused, and one made on repeat 0's passed as checked without a word about repeat 1; folds.parquet's
    fold_r1 alone had been taken for a prediction column."""
    run_dir = Path(shutil.copytree(built[2], tmp_path / "run"))
    for repeat, column in (("fold_r1", "fold"), ("fold_r0", "fold"), ("fold_r1", "fold_r1")):
        oof_path, test_path = _export(run_dir, tmp_path, {column: repeat})
        with pytest.warns(UserWarning, match=rf"repeats its folds 2 times .* match {repeat} only"):
            imported = import_predictions(run_dir, f"{column}_on_{repeat}", oof_path, test_path)
        assert not imported.folds_checked and imported.fold_repeats == (int(repeat[-1]),)
    assert stored_report(run_dir, new_rows=False).unchecked == (
        "fold_on_fold_r0",
        "fold_on_fold_r1",
        "fold_r1_on_fold_r1",
    )


def test_the_import_command_says_which_repeats_it_checked(
    built: dict[int, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One fold column, repeat 1's, on a run of 2 repeats: checked on that repeat only, as the command now says (not
    `folds NOT checked`, nor `folds checked`)."""
    run_dir = Path(shutil.copytree(built[2], tmp_path / "run"))
    oof_path, test_path = _export(run_dir, tmp_path, {"fold": "fold_r1"})
    assert main(["import-predictions", str(run_dir), "p", "--oof", str(oof_path), "--test", str(test_path)]) == 0
    assert "folds checked on fold_r1 only;" in capsys.readouterr().out


@pytest.fixture(scope="module")
def three_repeats(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(demo_data, tmp_path_factory.mktemp("stored3"), 3)


@pytest.mark.parametrize(
    ("folds", "repeats"),
    [
        ({"fold_r0": "fold_r0", "fold_r1": "fold_r1", "fold_r2": "fold_r2"}, (0, 1, 2)),
        ({"fold_r0": "fold_r0", "fold_r2": "fold_r2"}, (0, 2)),  # a repeat's column left out
        ({"fold": "fold_r2"}, (2,)),  # one fold column, the last repeat's
        ({"FOLD_R2": "fold_r2"}, (2,)),
    ],
)
def test_three_repeats_fold_columns(three_repeats: Path, tmp_path: Path, folds: dict[str, str], repeats: tuple) -> None:
    """n_repeats=3: each repeat's column checked against its repeat, a single one against each repeat; unless every
    repeat is checked, the import warns and is marked folds unchecked."""
    run_dir = Path(shutil.copytree(three_repeats, tmp_path / "run"))
    oof_path, test_path = _export(run_dir, tmp_path, folds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imported = import_predictions(run_dir, "p", oof_path, test_path)
    assert imported.fold_repeats == repeats and imported.folds_checked == (len(repeats) == 3)
    said = [str(w.message) for w in caught if "repeats its folds 3 times" in str(w.message)]
    if len(repeats) < 3:
        assert len(said) == 1 and f"match {', '.join(f'fold_r{r}' for r in repeats)} only" in said[0]
        assert stored_report(run_dir, new_rows=False).unchecked == ("p",)
    else:
        assert not said and stored_report(run_dir, new_rows=False).unchecked == ()


@pytest.mark.parametrize(
    ("folds", "match"),
    [
        ({"fold_r0": "fold_r0", "fold_r1": "fold_r0"}, r"fold column 'fold_r1' .* splits the rows differently"),
        ({"fold_r0": "fold_r0", "fold_r2": "fold_r1"}, r"'fold_r2' .* names repeat 2, but the run has 2 repeat"),
    ],
)
def test_a_repeated_runs_fold_columns_that_do_not_match_are_refused(
    built: dict[int, Path], tmp_path: Path, folds: dict[str, str], match: str
) -> None:
    run_dir = Path(shutil.copytree(built[2], tmp_path / "run"))
    oof_path, test_path = _export(run_dir, tmp_path, folds)
    with pytest.raises(DataError, match=match):
        import_predictions(run_dir, "bad", oof_path, test_path)


# ------------------------------------------------------------------------------- blends written by hand
def test_a_hand_written_blend_in_another_row_order_is_scored_on_its_own_rows(single: Path) -> None:
    """The report's tolerant layout (a blend written elsewhere): its OOF rows in another order had been scored
    against other rows' targets, and one row short stopped the report with an IndexError."""
    store = RunStore(single)
    oof = store.read_predictions("nb", "oof")
    for name, frame in (("shuffled", oof.sample(fraction=1.0, shuffle=True, seed=3)), ("short", oof.slice(5))):
        folder = single / "blends" / name
        folder.mkdir(parents=True)
        frame.write_parquet(folder / "oof.parquet")
        store.read_predictions("nb", "test").write_parquet(folder / "test.parquet")
        summary = {"name": name, "method": "mean", "models": ["nb"], "weights": [1.0], "cv": 0.5, "nested_cv": 0.5}
        (folder / "summary.json").write_text(json.dumps(summary))
    report = collect_report(single, adversarial=False)
    entries = {e.name: e for e in report.entries}
    assert entries["shuffled"].fold_scores == entries["nb"].fold_scores  # nb's OOF, weight 1: nb's scores
    assert entries["shuffled"].label == "blend: mean"
    assert "short" not in entries
    assert any(n.startswith("Blend 'short' left out: the ids of") and "(451 row(s)" in n for n in report.notes)


def test_a_blend_named_as_a_model_of_a_blend_is_refused_naming_its_models(single: Path) -> None:
    """`--models hill_climb,nb`: it had said "no model or imported predictions named 'hill_climb'", as for a typo."""
    fit_blend(single, "hill_climb", models=["nb", "lr"])
    with pytest.raises(ConfigError, match=r"'hill_climb' is a blend of the run, not a model: .* --models nb,lr$"):
        fit_blend(single, "mean", models=["hill_climb", "nb"])


def test_a_hand_written_blend_named_with_markup_stays_text_in_the_report(single: Path, tmp_path: Path) -> None:
    """A blend written elsewhere names itself in its summary: its name had ended the weights table's id attribute
    in report.html, and the rest of it became markup."""
    store = RunStore(single)
    folder = single / "blends" / "odd"
    folder.mkdir(parents=True)
    y = pl.read_parquet(single / "target.parquet")["y"].to_numpy()
    p = np.clip(0.9 * y + 0.05, 0, 1)  # better than every model: the report's best
    oof = store.read_predictions("nb", "oof").with_columns(p_benign=pl.Series(1 - p), p_malignant=pl.Series(p))
    oof.write_parquet(folder / "oof.parquet")
    store.read_predictions("nb", "test").write_parquet(folder / "test.parquet")
    name = 'a"><i>x</i>|b *c*'
    summary = {"name": name, "method": "mean", "models": ["nb"], "weights": [1.0], "cv": 0.5, "nested_cv": 0.5}
    (folder / "summary.json").write_text(json.dumps(summary))
    files = build_report(single, out_dir=tmp_path / "report", adversarial=False)
    html = files.html.read_text()
    assert "<i>x</i>" not in html and 'id="blend-a&quot;&gt;&lt;i&gt;x&lt;/i&gt;|b *c*-weights"' in html
    md = files.markdown.read_text()  # its markup had been left raw in report.md (only the table's bar escaped)
    assert "<i>" not in md and "*c*" not in md
    assert md.count(r'a"\>\<i\>x\</i\>\|b \*c\*') >= 3  # the best, the leaderboard's row, the blend's line
    assert r'**Best: a"\>\<i\>x\</i\>\|b \*c\***' in md


def test_blends_tied_by_nested_cv_are_named_alike_by_the_verdict_submit_best_and_the_report(single: Path) -> None:
    """Blends scoring the same, better than every model: one call's verdict had named the first in its method order,
    `submit --best` (stored blends, listed by name) and the report the first by name (calibrated_hill_climb before
    hill_climb). All now name the simpler method, then the first by name."""
    fit_blend(single, "mean", models=["nb", "lr"])
    for report in (
        blend_report(single, "mean", models=["nb", "lr"], save=False),
        stored_report(single, new_rows=False),
    ):
        mean = next(b for b in report.blends if b.method == "mean")
        won = replace(mean, fold_scores=tuple(1.0 for _ in mean.fold_scores))  # better than every model
        tied = tuple(replace(won, name=n, method=m) for n, m in (("aa", "stack"), ("zz", "mean"), ("bb", "mean")))
        for order in (tied, tied[::-1]):
            assert replace(report, blends=order).choice() == ("blend", "bb")
    y = pl.read_parquet(single / "target.parquet")["y"].to_numpy()
    p = np.clip(0.9 * y + 0.05, 0, 1)
    oof = (
        RunStore(single).read_predictions("nb", "oof").with_columns(p_benign=pl.Series(1 - p), p_malignant=pl.Series(p))
    )
    for method in ("calibrated_hill_climb", "hill_climb"):  # the same predictions, better than every model
        folder = single / "blends" / method
        folder.mkdir(parents=True)
        oof.write_parquet(folder / "oof.parquet")
        RunStore(single).read_predictions("nb", "test").write_parquet(folder / "test.parquet")
        summary = {
            "name": method,
            "method": method,
            "models": ["nb", "lr"],
            "weights": None,
            "cv": 0.5,
            "nested_cv": 0.5,
        }
        (folder / "summary.json").write_text(json.dumps(summary))
    best = collect_report(single, adversarial=False).best
    assert best is not None and best.name == "hill_climb"


# ------------------------------------------------------------------------------- the history's best of the run
def test_the_historys_best_is_one_submit_best_could_pick(single: Path, tmp_path: Path) -> None:
    """`kaggle-kit history` named a blend without test predictions (which `submit --best` cannot submit and the
    report never names the best) the run's best, and recorded a stacker the guard over stored blends leaves out."""
    folder = single / "blends" / "untested"
    folder.mkdir(parents=True)
    RunStore(single).read_predictions("nb", "oof").write_parquet(folder / "oof.parquet")  # no test.parquet
    scores = [0.9999] * 5
    summary = {"name": "untested", "method": "mean", "models": ["nb"], "weights": [1.0], "cv": 0.9999}
    (folder / "summary.json").write_text(json.dumps({**summary, "nested_cv": 0.9999, "nested_fold_scores": scores}))
    fit_blend(single, "stack", models=["nb"])
    fit_blend(single, "hill_climb", models=["nb"])  # the stacker does not beat it (test above)
    db = tmp_path / "history.sqlite"
    run_id = record_run(single, db=db)
    with History(db) as h:
        record = next(r for r in h.runs() if r.id == run_id)
        recorded = {b.name: b for b in h.blends(run_id)}
    assert record.best is not None and record.best != "untested"
    assert "untested" in recorded and not recorded["untested"].submittable  # recorded, marked
    assert "stack" not in recorded and "hill_climb" in recorded


def test_the_guard_over_stored_blends_leaves_out_a_stack_not_calibrated_hill_climb(single: Path) -> None:
    """calibrated_hill_climb is an ensemble selection (one call's guard keeps it too): a stored one scoring no
    better than hill_climb is ranked, and the tie goes to hill_climb; a stack of that score is left out."""
    report = blend_report(single, "hill_climb", models=["nb", "lr"], save=False)
    (selection,) = report.blends
    rivals = [replace(selection, name=m, method=m) for m in ("calibrated_hill_climb", "stack")]
    kept, dropped = stored_guard([*rivals, selection], get_metric(report.metric))
    assert [b.name for b in kept] == ["calibrated_hill_climb", "hill_climb"]
    assert [(b.name, s.name) for b, s in dropped] == [("stack", "hill_climb")]
    won = [replace(b, fold_scores=tuple(1.0 for _ in b.fold_scores)) for b in kept]
    assert replace(report, blends=tuple(won)).choice() == ("blend", "hill_climb")
    # a tempered selection (hill_climb_temperature) is not the selection one call's guard compares with: no rival
    tempered = replace(selection, name="hill_climb_temperature", temperature=1.5)
    assert stored_guard([rivals[1], tempered], get_metric(report.metric))[1] == []
