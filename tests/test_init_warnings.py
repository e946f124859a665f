"""``kaggle-kit init`` reads the train file twice (to infer the roles, then as ``run`` will, with the id's and labels'
spellings kept); a warning about the file is still printed once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kaggle_kit.cli import main


def _train_with_a_repeated_name_and_a_repeated_row(path: Path) -> Path:
    rng = np.random.default_rng(0)
    lines = ["id,a,a,y"] + [f"{i},{rng.normal():.3f},{rng.normal():.3f},{i % 2}" for i in range(40)]
    lines += ["40,0.1,0.2,1", "41,0.1,0.2,1"]  # row 42 repeats row 41's features and target
    path.write_text("\n".join(lines) + "\n")
    return path


def test_init_prints_each_warning_about_the_train_file_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = _train_with_a_repeated_name_and_a_repeated_row(tmp_path / "train.csv")
    args = ["init", "rep", "--train", str(train), "--out", str(tmp_path / "cfg"), "--preset", "fast"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.count("warning: the header of the file") == 1, err
    assert f"{str(train)!r} names column(s) 'a' (2 times)" in err
    assert err.count("warning: 1 train row(s) repeat an earlier row's features and target") == 1, err
    assert (tmp_path / "cfg" / "rep.toml").is_file()


def test_init_on_a_relative_train_path_prints_each_warning_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--train train.csv`, as typed in the competition's folder: the lenient read named 'train.csv', the run's read
    the absolute path, so each warning about the file was printed twice."""
    train = _train_with_a_repeated_name_and_a_repeated_row(tmp_path / "train.csv")
    monkeypatch.chdir(tmp_path)
    assert main(["init", "rel", "--train", "train.csv", "--out", "cfg", "--preset", "fast"]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: the header of the file") == 1, err
    assert f"{str(train)!r} names column(s) 'a' (2 times)" in err


def test_a_second_command_in_the_same_process_warns_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Once per command, not once per process: a notebook (or a test) running init twice sees it each time."""
    train = _train_with_a_repeated_name_and_a_repeated_row(tmp_path / "train.csv")
    for slug in ("one", "two"):
        assert main(["init", slug, "--train", str(train), "--out", str(tmp_path / "cfg"), "--preset", "fast"]) == 0
        assert capsys.readouterr().err.count("warning: the header of the file") == 1


def test_init_on_a_long_table_warns_of_its_header_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A long table is read as train (to infer the roles), then as data.sequences.train: one file, one warning."""
    rng = np.random.default_rng(0)
    rows = [f"{i},{s},{rng.normal():.3f},{rng.normal():.3f},{i % 2}" for i in range(30) for s in range(4)]
    train = tmp_path / "train.csv"
    train.write_text("\n".join(["id,step,a,a,y", *rows]) + "\n")
    assert main(["init", "long", "--train", str(train), "--out", str(tmp_path / "cfg"), "--preset", "fast"]) == 0
    captured = capsys.readouterr()
    assert "long table" in captured.out
    assert captured.err.count("warning: the header of the file") == 1, captured.err
