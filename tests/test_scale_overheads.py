"""What the kit does outside the fits on a competition-sized table stays linear and cheap: no table read more often
than it needs, no column turned into Python objects row by row. Structural checks (which reads, which calls), never
timings: the sizes that made the slow paths show are in the commit messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import kaggle_kit.init_config as init_config
from kaggle_kit.config import load_spec
from kaggle_kit.init_config import write_config


def _competition(folder: Path, n: int = 60) -> Path:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {"id": range(n), "x": rng.normal(size=n), "c": rng.choice(["a", "b"], n), "y": np.arange(n) % 2}
    )
    frame.head(n - 12).write_csv(folder / "train.csv")
    frame.tail(12).drop("y").write_csv(folder / "test.csv")
    return folder / "train.csv"


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[str, ...]]]:
    reads: list[tuple[str, tuple[str, ...]]] = []
    real = init_config.read_table

    def counted(path: Path, *, role: str, options: Any = None) -> pl.DataFrame:
        reads.append((role, tuple(options.keep_text) if options is not None else ()))
        return real(path, role=role, options=options)

    monkeypatch.setattr(init_config, "read_table", counted)
    return reads


def test_init_reads_train_and_test_once_where_no_folder_beside_them_could_hold_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Integer ids and no folder beside train: the ids as text (for image files they might name) were read again
    with the whole train and test files (1M rows x 60 columns and a 400k test: 20 s of a 70 s init), for nothing."""
    (tmp_path / "data").mkdir()
    train = _competition(tmp_path / "data")
    reads = _counting_reads(monkeypatch)
    path, _ = write_config("plain", train, tmp_path / "cfg", preset="fast")
    assert reads.count(("train", ())) == 1 and reads.count(("test", ())) == 1, reads
    assert not any(keep for _, keep in reads), reads  # no read keeping the id's spelling: no image lookup
    spec = load_spec(path)
    assert spec.data.images is None and spec.data.id == "id"


def test_init_still_reads_the_ids_as_written_where_a_folder_beside_train_may_hold_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder beside train: the ids are read as written ('0007' names 0007.png), as before."""
    (tmp_path / "data" / "train").mkdir(parents=True)
    train = _competition(tmp_path / "data")
    reads = _counting_reads(monkeypatch)
    write_config("folder", train, tmp_path / "cfg", preset="fast")
    assert ("train", ("id",)) in reads and ("test", ("id",)) in reads, reads
