"""The command line: run / leaderboard / submit / demo, exit codes, and submissions scored against hidden labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import COMPETITIONS, demo_spec, fast_models
from sklearn.metrics import accuracy_score, roc_auc_score

from kaggle_kit.cli import main


@pytest.fixture(scope="module")
def cli_runs(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """Both demo competitions run through `kaggle-kit run` with quick models."""
    tmp = tmp_path_factory.mktemp("cli")
    configs = {}
    for name in ("demo-breast-cancer", "demo-digits"):
        spec = demo_spec(name, demo_data, models=fast_models(), run={"n_jobs": 2, "threads_per_task": 1})
        configs[name] = tmp / f"{name}.toml"
        configs[name].write_text(spec.to_toml())
    return tmp, configs


def test_run_prints_progress_and_leaderboard(cli_runs, capsys: pytest.CaptureFixture[str]) -> None:
    tmp, configs = cli_runs
    assert main(["run", str(configs["demo-breast-cancer"]), "--runs-root", str(tmp / "runs")]) == 0
    out = capsys.readouterr().out
    assert "xgb            CV roc_auc 0." in out and " repeat 0 fold " not in out  # a line per model, not per fold
    assert "xgb            repeat 0 fold 1/5  roc_auc" in (tmp / "runs" / "demo-breast-cancer" / "run.log").read_text()
    assert "CV leaderboard (roc_auc, higher is better; ranked by the fold mean)" in out
    lines = [line for line in out.splitlines() if line[:3].strip().isdigit()]
    assert lines[-1].split()[1] == "baseline"  # the baseline ranks last: both GBDTs beat it
    assert "fitted 15 fold(s), reused 0" in out
    run_dir = tmp / "runs" / "demo-breast-cancer"
    assert f"next: `kaggle-kit blend {run_dir} --method all`, then `kaggle-kit submit {run_dir} --best`" in out

    assert main(["leaderboard", str(tmp / "runs" / "demo-breast-cancer")]) == 0
    assert "baseline" in capsys.readouterr().out


@pytest.mark.parametrize(("name", "model"), [("demo-breast-cancer", "xgb"), ("demo-digits", "lgbm")])
def test_submission_matches_sample_and_scores_well(cli_runs, demo_data: Path, name: str, model: str) -> None:
    tmp, configs = cli_runs
    runs = tmp / "runs"
    assert main(["run", str(configs[name]), "--runs-root", str(runs)]) == 0
    out = tmp / f"{name}-{model}.csv"
    assert main(["submit", str(runs / name), "--model", model, "--out", str(out)]) == 0
    assert main(["submit", str(runs / name), "--model", "baseline", "--out", str(tmp / "base.csv")]) == 0

    sample = pl.read_csv(demo_data / name / "sample_submission.csv")
    solution = pl.read_csv(demo_data / name / "solution.csv")
    sub, base = pl.read_csv(out), pl.read_csv(tmp / "base.csv")
    assert sub.columns == sample.columns and sub["id"].to_list() == sample["id"].to_list()
    truth = solution.join(sub, on="id", suffix="_pred")
    truth_base = solution.join(base, on="id", suffix="_pred")
    if name == "demo-breast-cancer":  # AUC: the submission holds P(malignant), the second label in sorted order
        y = (truth["diagnosis"] == "malignant").to_numpy()
        assert sub["diagnosis"].dtype == pl.Float64
        assert roc_auc_score(y, truth["diagnosis_pred"]) > 0.97
        assert roc_auc_score(y, truth_base["diagnosis_pred"]) == 0.5
    else:  # accuracy: the submission holds labels
        score = accuracy_score(truth["label"], truth["label_pred"])
        assert score > 0.9 > accuracy_score(truth_base["label"], truth_base["label_pred"])
        assert np.isin(sub["label"].to_numpy(), np.arange(10)).all()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "missing.toml"], "config file 'missing.toml' does not exist"),
        (["leaderboard", "nowhere"], "'nowhere' is not a run directory"),
    ],
)
def test_errors_exit_2_with_one_clear_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_submit_unknown_model_says_did_you_mean(cli_runs, capsys: pytest.CaptureFixture[str]) -> None:
    tmp, configs = cli_runs
    main(["run", str(configs["demo-breast-cancer"]), "--runs-root", str(tmp / "runs")])
    capsys.readouterr()
    assert main(["submit", str(tmp / "runs" / "demo-breast-cancer"), "--model", "xgbb"]) == 2
    err = capsys.readouterr().err
    assert "no model named 'xgbb'" in err and "Did you mean 'xgb'?" in err


def test_missing_data_file_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    text = (COMPETITIONS / "demo-breast-cancer.toml").read_text().replace("../data/", "./nowhere/")
    config.write_text(text)
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "the train file" in err and "does not exist; check data.train" in err


@pytest.mark.slow
def test_demo_command_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's demo command, from a working folder without competitions/ (as from an installed wheel: the
    configs the package ships): data created under ./data, the named demo run under ./runs, a submission written
    (tests/test_demos.py runs every demo config in full). It had read ./competitions/NAME.toml, there or nowhere."""
    monkeypatch.chdir(tmp_path)
    name = "demo-breast-cancer"
    assert main(["demo", name]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "data" / name / "train.csv").is_file()
    assert list((tmp_path / "runs" / name / "submissions").glob("*.csv"))
    assert f"=== {name} (the config the package ships)" in out
    assert out.count("CV leaderboard") == 1


def test_blend_report_history_and_lb_commands(cli_runs, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole evening loop from the command line: run, blend, submit the blend, report, history, lb add."""
    tmp, configs = cli_runs
    runs = tmp / "runs-loop"
    run_dir = runs / "demo-breast-cancer"
    assert main(["run", str(configs["demo-breast-cancer"]), "--runs-root", str(runs)]) == 0
    assert main(["blend", str(run_dir), "--method", "nelder_mead,mean"]) == 0
    assert "nelder_mead" in capsys.readouterr().out
    sub = tmp / "blend.csv"
    assert main(["submit", str(run_dir), "--blend", "nelder_mead", "--out", str(sub)]) == 0
    assert main(["report", str(run_dir), "--no-adversarial"]) == 0
    out = capsys.readouterr().out
    assert "report.html" in out and (run_dir / "report" / "report.html").is_file()
    assert main(["lb", "add", str(sub), "0.987", "--runs-root", str(runs)]) == 0
    assert main(["history", "--runs-root", str(runs), "--submissions"]) == 0
    out = capsys.readouterr().out
    assert "0.987" in out and "blend.csv" in out
    assert main(["history", "--runs-root", str(runs)]) == 0
    assert "demo-breast-cancer" in capsys.readouterr().out


def test_the_blends_of_a_time_limited_run_end_one_percent_before_the_limit(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The blends' deadline is the command's start + the limit, less 1 % of it (at least 1 s) for the submission
    file and the report: 59 s of a 60 s limit, 495 s of 500 s."""
    from kaggle_kit import cli
    from kaggle_kit.runtime import runner

    started: list[float] = []
    deadlines: list[float] = []
    real_run = runner.run

    def recording_run(*args: object, **kwargs: object) -> object:
        started.append(kwargs["started"])  # type: ignore[arg-type]
        return real_run(*args, **kwargs)

    monkeypatch.setattr(runner, "run", recording_run)
    monkeypatch.setattr(cli, "_select_and_submit", lambda run_dir, deadline: deadlines.append(deadline))
    config = tmp_path / "c.toml"
    config.write_text(demo_spec("demo-breast-cancer", demo_data, models=fast_models(("lightgbm",))).to_toml())
    for limit in ("60", "500"):
        assert main(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--time-limit", limit]) == 0
    assert [d - s for d, s in zip(deadlines, started, strict=True)] == pytest.approx([59.0, 495.0])


def test_a_time_limit_counts_from_each_command_not_from_the_import(
    demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one process (a notebook, this suite) main() is called many times: each command's limit counts from its own
    start. Counting from the module's import once left a later command no time at all (seen in CI: a 120 s search
    that started nothing, 355 s after the import)."""
    import time

    from kaggle_kit.runtime import runner

    seen: list[float] = []

    class Stop(Exception):
        pass

    def record(*args: object, started: float, **kwargs: object) -> None:
        seen.append(started)
        raise Stop

    monkeypatch.setattr(runner, "run", record)
    config = tmp_path / "c.toml"
    config.write_text(demo_spec("demo-breast-cancer", demo_data, models=fast_models(("lightgbm",))).to_toml())
    for _ in range(2):
        before = time.monotonic()
        with pytest.raises(Stop):
            main(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--time-limit", "60"])
        assert before <= seen[-1] <= time.monotonic()
