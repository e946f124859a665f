"""The command line's flags over a competition config (`kaggle-kit run CONFIG --only/--preset/--time-limit/...`): a
flag that conflicts with another or with the config is said, one that names nothing is refused, and each is checked
before the data is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaggle_kit.cli import main

CONFIG = """name = "flags"
task = "binary"
metric = "roc_auc"
{top}
[data]
train = "{train}"
id = "id"
target = "y"
{data}
[folds]
n_splits = 2

[[models]]
name = "ridge"
kind = "sklearn"
estimator = "sklearn.linear_model.LogisticRegression"
"""


def _config(folder: Path, *, train: str = "train.csv", top: str = "", data: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{i},{(i * 7) % 11 / 10},{int((i * 7) % 11 > 5)}\n" for i in range(24))
    (folder / "train.csv").write_text("id,x,y\n" + rows)
    path = folder / "comp.toml"
    path.write_text(CONFIG.format(train=train, top=top, data=data))
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("only", ["", ",", " , "])
def test_an_only_naming_no_model_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], only: str) -> None:
    """`--only ""` (a script's `--only "$MODELS"`, the variable empty) fitted every model of the config."""
    config = _config(tmp_path, train="missing.csv")
    code, _, err = _run(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--only", only], capsys)
    assert code == 2 and err.startswith("error: --only names no model"), err
    assert "or leave it out" in err and not (tmp_path / "runs").exists()


def test_an_unknown_only_name_is_refused_before_the_data_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was refused once the data was read (its warnings printed first; here: the missing train file's error)."""
    config = _config(tmp_path, train="missing.csv")
    code, _, err = _run(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--only", "ridg"], capsys)
    assert code == 2 and err == "error: no model named 'ridg'; the spec has 'ridge'. Did you mean 'ridge'?\n", err


def test_a_ray_address_with_the_local_executor_names_both_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said `run.ray_address is only used with run.executor = 'ray'`: keys of a config that set neither."""
    config = _config(tmp_path)
    argv = ["run", str(config), "--runs-root", str(tmp_path / "runs"), "--ray-address", "auto", "--executor", "local"]
    code, _, err = _run(argv, capsys)
    assert code == 2 and "--ray-address (ray_address=) runs the tasks on Ray, and --executor" in err, err
    assert "asks for 'local': leave one of them out" in err and "run.ray_address" not in err


def test_a_preset_flag_replacing_the_configs_preset_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--preset fast over a config's preset = 'best' dropped the config's portfolio without a word."""
    config = _config(tmp_path, train="missing.csv", top='preset = "best"')
    code, out, err = _run(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--preset", "fast"], capsys)
    assert "note: --preset fast replaces the config's preset = 'best': its models are not fitted" in out
    assert code == 2 and "missing.csv" in err  # the note comes before the data is read
    code, out, _ = _run(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--preset", "best"], capsys)
    assert "note:" not in out  # the same preset: nothing replaced


def test_a_time_limited_run_without_test_rows_ends_without_a_submission(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--time-limit` blends and submits; with no data.test the submission failed after every fit (exit status 2,
    `model 'ridge' has no test predictions`)."""
    config = _config(tmp_path)
    runs = tmp_path / "runs"
    code, out, err = _run(["run", str(config), "--runs-root", str(runs), "--time-limit", "120", "--jobs", "1"], capsys)
    assert code == 0, err
    assert "no submission: the run has no test rows (no data.test)" in out
    assert f"`kaggle-kit predict {runs / 'flags'} --test FILE --best`" in out
    assert not (runs / "flags" / "submissions").exists()


@pytest.mark.parametrize(
    ("flag", "says"),
    [
        (["--models", "ridge"], "unrecognized arguments: --models ridge. Did you mean '--only'?"),  # blend's flag
        (["--time_limit", "60"], "unrecognized arguments: --time_limit 60. Did you mean '--time-limit'?"),
        (["--jbos", "2"], "unrecognized arguments: --jbos 2. Did you mean '--jobs'?"),
        (["--bogus"], "unrecognized arguments: --bogus.\n"),  # nothing close: no guess
    ],
)
def test_an_unknown_flag_names_the_commands_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str], says: str
) -> None:
    """argparse said `unrecognized arguments: --models ridge` alone; `--models` is blend's flag, run's is --only."""
    config = _config(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(config), *flag])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: kaggle-kit run") and f"kaggle-kit run: error: {says}" in err, err


@pytest.mark.parametrize("flag", [["--verbose"], ["--jobs=2"], ["--jobs", "2"], ["--jobs", "2", "--verbose"]])
def test_a_commands_flag_before_the_command_says_where_it_goes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    """`kaggle-kit --verbose run CONFIG` said `unrecognized arguments: --verbose. Did you mean '--verbose'?`: the
    flag suggested for itself; `kaggle-kit --jobs 2 run CONFIG` said `invalid choice: '2'` (the value read as the
    command)."""
    config = _config(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main([*flag, "run", str(config)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    given = flag[0].split("=")[0]
    says = f"unrecognized arguments: {' '.join(flag)}. {given} is a flag of `kaggle-kit run`: write it after `run`\n"
    assert f"kaggle-kit run: error: {says}" in err, err


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--he", "run"], 0),
        (["--help", "run"], 0),
        (["-h", "blend"], 0),
        (["--jobs", "run", "-h"], 0),
        (["--verbose", "blend", "--help"], 0),
        (["--", "run", "x.toml"], 2),
    ],
)
def test_a_top_level_flag_before_the_command_is_left_to_argparse(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int
) -> None:
    """Only a flag that is not ``kaggle-kit``'s own is said to belong after the command: ``--he`` (argparse's
    abbreviation of ``--help``) prints the help as before (it was refused: `unrecognized arguments: --he. Did you mean
    '--help'?`), ``--`` is argparse's to read, and a help asked after the command prints that command's help (it was
    refused)."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == code
    out, err = capsys.readouterr()
    assert "write it after" not in err and "unrecognized arguments" not in err, err
    usage = f"usage: kaggle-kit {argv[1]} " if argv[0] in ("--jobs", "--verbose") else "usage: kaggle-kit [-h] COMMAND"
    assert (out.startswith(usage) and not err) if code == 0 else "invalid choice" in err


def test_the_spec_a_run_folder_holds_reruns_that_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`kaggle-kit run RUN_DIR/spec.toml` (the spec as it ran: a preset's models listed) looked for the data in the
    run folder (`the train file 'runs/flags/train.csv' does not exist`); its paths are the config's, and it refits
    nothing."""
    config = _config(tmp_path / "comp")
    runs = tmp_path / "runs"
    code, out, err = _run(["run", str(config), "--runs-root", str(runs), "--jobs", "1"], capsys)
    assert code == 0 and "fitted 4 fold(s), reused 0" in out, err
    code, out, err = _run(["run", str(runs / "flags" / "spec.toml"), "--runs-root", str(runs), "--jobs", "1"], capsys)
    assert code == 0 and "fitted 0 fold(s), reused 4" in out, err


def test_a_boosting_params_typo_is_said_before_the_data_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A LightGBM name typo was said once the data was read (minutes for a large table; here: the missing file)."""
    config = _config(tmp_path, train="missing.csv")
    text = config.read_text().replace(
        'kind = "sklearn"\nestimator = "sklearn.linear_model.LogisticRegression"',
        'kind = "lightgbm"\nparams = { num_leavs = 15 }',
    )
    config.write_text(text)
    code, _, err = _run(["run", str(config), "--runs-root", str(tmp_path / "runs")], capsys)
    assert code == 2 and err.startswith("error: model 'ridge': params.num_leavs is not a parameter LightGBM knows"), err
    assert "'num_leaves'" in err


def test_a_boosting_model_only_leaves_out_is_not_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--only ridge` fits ridge alone: another model's params typo (or its library missing: CatBoost's adapter imports
    it) refused the run before the data was read, a model the user did not ask for."""
    config = _config(tmp_path)
    typo = '\n[[models]]\nname = "lgbm"\nkind = "lightgbm"\nparams = { num_leavs = 15 }\n'
    config.write_text(config.read_text() + typo)
    code, out, err = _run(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--only", "ridge"], capsys)
    assert code == 0 and "fitted 4 fold(s)" in out, err


def test_a_local_executor_flag_over_a_configs_ray_keys_names_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--executor local` over a config's `[run] ray_address` said `invalid run options: run.ray_address is only used
    with run.executor = 'ray'; set that, or remove ray_address`, as if the config were wrong alone."""
    config = _config(tmp_path, train="missing.csv")
    config.write_text(config.read_text() + '\n[run]\nexecutor = "ray"\nray_address = "auto"\ngpus_per_task = 0.5\n')
    code, _, err = _run(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--executor", "local"], capsys)
    assert code == 2 and err == (
        "error: --executor (executor=) asks for 'local', and the config's run.ray_address = 'auto' and "
        "run.gpus_per_task = 0.5 are for Ray: leave --executor out to run on Ray, or remove them from [run]\n"
    ), err
