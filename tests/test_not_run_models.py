"""A run folder after `kaggle-kit run CONFIG --only lr` on a config that lists other models (`knn`, `tree`) never
fitted: every command that reads the run works on the finished models, names the others in one line with the command
that fits them, and never ranks or blends them; a command asked for one of them by name refuses, naming that command.

Before: `report` stopped at the first of them ("model 'knn' has no finished results ... run it first"), `leaderboard`,
`blend`, `submit --best` and `predict --best` left them out unsaid, and `submit --model knn` said its run "did not
finish" (it never started)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kaggle_kit.cli import main

CONFIG = """name = "only"
task = "binary"
metric = "roc_auc"

[data]
train = "train.csv"
test = "test.csv"
id = "id"
target = "y"

[folds]
n_splits = 2

[run]
n_jobs = 1
threads_per_task = 1

[[models]]
name = "lr"
kind = "sklearn"
estimator = "sklearn.linear_model.LogisticRegression"

[[models]]
name = "knn"
kind = "sklearn"
estimator = "sklearn.neighbors.KNeighborsClassifier"
params = {n_neighbors = 3}

[[models]]
name = "tree"
kind = "sklearn"
estimator = "sklearn.tree.DecisionTreeClassifier"
params = {max_depth = 2}
"""

NOTE = (
    "listed but not run yet (not ranked or blended): knn, tree; run them with "
    "`kaggle-kit run CONFIG --only knn,tree` (finished folds are reused)"
)


def _write(folder: Path) -> Path:
    rows = "".join(f"{i},{(i * 7) % 11 / 10},{(i * 5) % 13 / 10},{int((i * 7) % 11 > 5)}\n" for i in range(40))
    (folder / "train.csv").write_text("id,x,z,y\n" + rows)
    (folder / "test.csv").write_text("id,x,z\n" + "".join(f"{100 + i},{i / 10},{i / 20}\n" for i in range(6)))
    (folder / "comp.toml").write_text(CONFIG)
    return folder / "comp.toml"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def only_lr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder after `run --only lr` (the baseline runs too)."""
    folder = tmp_path_factory.mktemp("only")
    config = _write(folder)
    assert main(["run", str(config), "--runs-root", str(folder / "runs"), "--only", "lr"]) == 0
    return folder / "runs" / "only"


def test_report_works_on_the_finished_models_and_names_the_others(only_lr: Path, tmp_path: Path, capsys) -> None:
    from kaggle_kit.report import collect_report

    report = collect_report(only_lr, adversarial=False, history_db=tmp_path / "h.sqlite")
    assert [e.name for e in report.entries] == ["lr", "baseline"] and report.best.name == "lr"
    assert report.notes.count(NOTE) == 1
    code, out, err = _cli(["report", str(only_lr), "--no-adversarial", "--out", str(tmp_path / "r")], capsys)
    assert code == 0, err
    assert f"note: {NOTE}" in out and " knn " not in out and " tree " not in out
    assert NOTE in (tmp_path / "r" / "report.md").read_text()


def test_leaderboard_names_the_models_not_run(only_lr: Path, capsys) -> None:
    from kaggle_kit.leaderboard import leaderboard

    rows = leaderboard(only_lr)
    assert [r.name for r in rows] == ["lr", "baseline"] and rows.not_run == NOTE
    code, out, _ = _cli(["leaderboard", str(only_lr)], capsys)
    assert code == 0 and out.rstrip().endswith(f"note: {NOTE}")


def test_blend_weighs_the_finished_models_and_says_so(only_lr: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "only"  # a copy: the blend stored here must not change what the other tests read
    shutil.copytree(only_lr, run)
    code, out, err = _cli(["blend", str(run), "--method", "mean"], capsys)
    assert code == 0, err
    assert f"Note: {NOTE}." in out and "weights" in out
    weights = next(line for line in out.splitlines() if line.lstrip().startswith("1 "))
    assert "lr 1.00" in weights and "knn" not in weights and "tree" not in weights
    from kaggle_kit.predict import best_choice

    choice = best_choice(run, new_rows=False)  # a blend stored now: the verdict weighs it, the note stays
    assert "'mean'" in choice.verdict and choice.not_run == NOTE


@pytest.mark.parametrize(
    "argv",
    [
        ["blend", "{run}", "--models", "lr,knn"],
        ["blend", "{run}", "--method", "mean", "--group", "g=lr,knn"],
        ["submit", "{run}", "--model", "knn"],
        ["predict", "{run}", "--test", "{test}", "--model", "knn", "--out", "{out}"],
        ["refit", "{run}", "--model", "knn"],
    ],
)
def test_a_model_not_run_asked_for_by_name_is_refused_naming_the_command(
    only_lr: Path, tmp_path: Path, capsys, argv: list[str]
) -> None:
    """`submit --model knn` had said its run "did not finish"; `blend --models` "run it first", no command."""
    test = only_lr.parent.parent / "test.csv"
    args = [a.format(run=only_lr, test=test, out=tmp_path / "s.csv") for a in argv]
    code, out, err = _cli(args, capsys)
    assert code == 2, out + err
    assert err == (
        f"error: model 'knn' has not been run yet in {only_lr} (its config lists it; no finished results); run it "
        "with `kaggle-kit run CONFIG --only knn` (finished folds are reused)\n"
    )
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("command", ["submit", "predict"])
def test_best_submits_a_finished_model_and_names_the_others(only_lr: Path, tmp_path: Path, capsys, command) -> None:
    from kaggle_kit.predict import best_choice

    choice = best_choice(only_lr, new_rows=command == "predict")
    assert choice.name == "lr" and choice.not_run == NOTE
    test = only_lr.parent.parent / "test.csv"
    out_csv = tmp_path / "s.csv"
    extra = ["--test", str(test)] if command == "predict" else []
    code, out, err = _cli([command, str(only_lr), "--best", *extra, "--out", str(out_csv)], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("--best: model 'lr'.") and lines[1] == f"note: {NOTE}" and out_csv.is_file()


def test_only_the_baseline_finished_the_blend_names_the_command(tmp_path: Path, capsys) -> None:
    """`run --only lr` where lr fails leaves the baseline alone: nothing to blend, and `blend` says how to fit the
    models not run (it had said "run its models first")."""
    config = _write(tmp_path)
    broken = 'estimator = "sklearn.neighbors.KNeighborsClassifier"\nparams = {n_neighbors = 1000}'
    config.write_text(CONFIG.replace('estimator = "sklearn.linear_model.LogisticRegression"', broken, 1))
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--only", "lr"]) == 1  # lr failed
    capsys.readouterr()
    code, _, err = _cli(["blend", str(tmp_path / "runs" / "only")], capsys)
    assert code == 2 and "has no finished model to blend; run them with `kaggle-kit run CONFIG --only knn,tree`" in err


def test_a_run_of_every_model_says_nothing_of_models_not_run(tmp_path: Path, capsys) -> None:
    """The default path: every model run, no note anywhere (the outputs are as before)."""
    from kaggle_kit.leaderboard import leaderboard
    from kaggle_kit.predict import best_choice
    from kaggle_kit.report import collect_report

    config = _write(tmp_path)
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs")]) == 0
    run = tmp_path / "runs" / "only"
    capsys.readouterr()
    assert leaderboard(run).not_run is None and "not run yet" not in str(leaderboard(run))
    assert not any("not run yet" in n for n in collect_report(run, adversarial=False).notes)
    assert best_choice(run).not_run is None
    code, out, _ = _cli(["blend", str(run), "--method", "mean"], capsys)
    assert code == 0 and "not run yet" not in out


def test_the_command_named_for_a_pseudo_labelling_round_is_a_run_without_only() -> None:
    """``--only`` skips [pseudo_label]'s rounds: a round not run yet (``lgbm@pl1``) is fitted by a plain run."""
    from kaggle_kit.runtime.store import fit_command

    assert fit_command(["knn", "tree"]) == "`kaggle-kit run CONFIG --only knn,tree` (finished folds are reused)"
    assert fit_command(["knn", "lgbm@pl1"]) == "`kaggle-kit run CONFIG` (finished folds are reused)"
