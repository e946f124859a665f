"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel, on the demo data, in a scratch folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import polars as pl
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == ["01_walkthrough.ipynb", "02_blend_imported_predictions.ipynb"]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
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
