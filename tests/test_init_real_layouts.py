"""``kaggle-kit init`` -> ``run`` -> ``submit`` on small folders laid out as real Kaggle competitions are (Otto's test
ids restarting at 1, the toxic comments' text and six 0/1 targets, an image competition without a test table): the
config init writes runs, and the submission has the sample's header, ids and row count."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import numpy as np
import polars as pl

from kaggle_kit.cli import main


def _cli(*argv: str) -> str:
    """Run one command; its exit status must be 0; what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(list(argv)) == 0, printed.getvalue()
    return printed.getvalue()


def _init_run_submit(tmp_path: Path, folder: Path, *, model: str = "lgbm") -> tuple[str, list[list[str]]]:
    """``init FOLDER --preset fast``, ``run``, ``submit --model``: what init said and the submission's rows."""
    out, runs, sub = tmp_path / "competitions", tmp_path / "runs", tmp_path / "submission.csv"
    said = _cli("init", str(folder), "--out", str(out), "--preset", "fast")
    _cli("run", str(out / f"{folder.name}.toml"), "--runs-root", str(runs), "--only", model)
    _cli("submit", str(runs / folder.name), "--model", model, "--out", str(sub))
    return said, _rows(sub)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_a_toxic_comments_table_of_text_and_six_0_1_targets_runs_as_init_writes_it(tmp_path: Path) -> None:
    """Its init config (data.text, multilabel) ran into `model 'baseline': pipeline step 0 ('text') learns from
    the target, which a multilabel task has several columns of`: data.text's own step had its out-of-fold linear
    model on, which a task of several targets cannot fit; it is now off there (TF-IDF SVD and statistics stay)."""
    rng = np.random.default_rng(0)
    words = np.array(["you", "are", "great", "bad", "idiot", "nice", "article", "edit", "stupid", "hello"])
    n, m = 90, 20
    texts = [" ".join(rng.choice(words, rng.integers(3, 12))) for _ in range(n + m)]
    ids = [f"{k:016x}" for k in rng.integers(0, 2**62, n + m)]
    labels = ["toxic", "obscene", "insult"]
    rude = np.array([("idiot" in t or "stupid" in t) for t in texts[:n]])
    folder = tmp_path / "toxic"
    folder.mkdir()
    targets = {c: (rude & (rng.random(n) < 0.9 - 0.2 * j)).astype(int) for j, c in enumerate(labels)}
    pl.DataFrame({"id": ids[:n], "comment_text": texts[:n], **targets}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": ids[n:], "comment_text": texts[n:]}).write_csv(folder / "test.csv")
    pl.DataFrame({"id": ids[n:], **{c: [0.5] * m for c in labels}}).write_csv(folder / "sample_submission.csv")
    said, rows = _init_run_submit(tmp_path, folder)
    assert "task = 'multilabel'" in said and "text = ['comment_text']" in said
    assert rows[0] == ["id", *labels]
    assert [r[0] for r in rows[1:]] == ids[n:]
