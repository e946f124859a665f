"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel, on the demo data, in a scratch folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CODE_COMPETITION = "04_code_competition_predict.ipynb"  # needs a run folder: tests/test_predict.py executes it


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_walkthrough.ipynb",
        "02_blend_imported_predictions.ipynb",
        CODE_COMPETITION,
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name != CODE_COMPETITION], ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    shutil.copy(path, tmp_path / path.name)
    book = nbformat.read(tmp_path / path.name, as_version=4)
    NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "CV leaderboard" in text and "nested" in text.lower()
    submission = pl.read_csv(tmp_path / "submission.csv")
    assert submission.height > 0 and submission.null_count().sum_horizontal().item() == 0
    if path.stem.startswith("01"):
        html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
        assert any("data:image/png;base64" in h for h in html)  # the report's plots, inline


@pytest.mark.slow
def test_code_competition_notebook_predicts_from_a_read_only_run(tmp_path: Path, monkeypatch) -> None:
    """The offline notebook on a small run folder made read-only: the install is skipped (the kit is importable),
    the submission has one row per test id, in the sample's order, equal to the best choice's predictions."""
    import os
    import stat

    import numpy as np
    from sklearn.datasets import load_breast_cancer

    from kaggle_kit import build_spec, fit_blend, run
    from kaggle_kit.predict import best_choice

    X, y = load_breast_cancer(return_X_y=True)
    frame = pl.DataFrame({f"f{j}": X[:, j] for j in range(X.shape[1])}).with_columns(
        pl.Series("id", np.arange(len(y))), pl.Series("target", y)
    )
    comp = tmp_path / "comp"
    comp.mkdir()
    frame[:400].write_csv(comp / "train.csv")
    test = frame[400:].drop("target")
    test.write_csv(comp / "test.csv")
    test.select("id", pl.lit(0.5).alias("target")).reverse().write_csv(comp / "sample_submission.csv")
    spec = build_spec(
        {
            "name": "nb-run",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "target"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [
                {"name": "xgb", "kind": "xgboost", "num_boost_round": 30, "params": {"max_depth": 3}},
                {"name": "linear", "kind": "linear"},
            ],
        },
        base_dir=comp,
    )
    run_dir = run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False).run_dir
    fit_blend(run_dir, "nelder_mead")
    choice = best_choice(run_dir)
    expected = kaggle_kit_predict(run_dir, comp / "test.csv", choice)
    before = _hashes(run_dir)  # chmod does not stop root (the suite may run as root): what is there afterwards is
    for dirpath, _, files in os.walk(run_dir):
        for f in files:
            os.chmod(Path(dirpath) / f, stat.S_IRUSR)
        os.chmod(dirpath, stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.setenv("KIT_RUN_DIR", str(run_dir))
    monkeypatch.setenv("KIT_TEST", str(comp / "test.csv"))
    monkeypatch.setenv("KIT_SAMPLE", str(comp / "sample_submission.csv"))
    work = tmp_path / "work"
    work.mkdir()
    path = next(p for p in NOTEBOOKS if p.name == CODE_COMPETITION)
    book = nbformat.read(path, as_version=4)
    try:
        NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    finally:
        for dirpath, _, files in os.walk(run_dir):
            os.chmod(dirpath, stat.S_IRWXU)
            for f in files:
                os.chmod(Path(dirpath) / f, stat.S_IRUSR | stat.S_IWUSR)
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert _hashes(run_dir) == before  # nothing written into the run folder
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "nothing to install" in text and f"best: {choice.kind} {choice.name!r}" in text
    submission = pl.read_csv(work / "submission.csv")
    assert submission["id"].to_list() == test["id"].reverse().to_list()
    by_id = dict(zip(expected["id"].to_list(), expected["p_1"].to_list(), strict=True))
    np.testing.assert_allclose(submission["target"].to_numpy(), [by_id[i] for i in submission["id"]], atol=1e-6)


def kaggle_kit_predict(run_dir: Path, test: Path, choice) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    import kaggle_kit

    which = {"blend": choice.name} if choice.kind == "blend" else {"model": choice.name}
    return kaggle_kit.predict(run_dir, test, **which, threads=1)


def _hashes(folder: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
        for p in folder.rglob("*")
    }


def test_the_offline_install_cell_says_why_pip_failed_in_the_cell(tmp_path: Path) -> None:
    """The code-competition notebook's install cell where the kit is not importable and the wheels dataset lacks it:
    the error in the cell carries pip's reason and the fix (pip's output goes to the kernel's log, not the cell: the
    cell had said only `CalledProcessError: ... returned non-zero exit status 1`)."""
    import os
    import subprocess
    import sys

    path = next(p for p in NOTEBOOKS if p.name == CODE_COMPETITION)
    cell = next(
        c.source for c in nbformat.read(path, as_version=4).cells if "pip" in c.source and c.cell_type == "code"
    )
    hide_the_kit = (
        "import importlib.util\n"
        "_find = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'kaggle_kit' else _find(name, *a)\n"
    )
    (tmp_path / "wheels").mkdir()  # attached, but without the kit's wheel
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(KIT_WHEELS=str(tmp_path / "wheels"), PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    # this environment has the kit installed: pip is to look past it, and anything it installed would go to tmp_path
    env.update(PIP_IGNORE_INSTALLED="1", PIP_TARGET=str(tmp_path / "site"))
    done = subprocess.run(
        [sys.executable, "-c", hide_the_kit + cell], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert done.returncode != 0
    assert f"RuntimeError: installing kaggle_kit from {tmp_path / 'wheels'} failed (pip exit status 1)" in done.stderr
    assert "No matching distribution found for kaggle_kit" in done.stderr  # pip's reason, in the cell's error
    assert "kaggle-kit offline-wheels" in done.stderr
