"""The demo competitions' data: one seed, one split, whatever order polars lists a column's values in."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from kaggle_kit.demo import make_demo


@pytest.mark.parametrize("name", ["demo-breast-cancer", "demo-diabetes"])
def test_the_demo_split_does_not_depend_on_the_order_of_unique_values(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strata were drawn in the order of polars' ``unique()``, which varies from one process to the next for
    text labels: the same seed gave breast cancer another hold-out in each (a test's precondition held in one pytest
    run and not in the next)."""
    folder = make_demo(name, tmp_path / "a")
    first = pl.read_csv(folder / "test.csv")["id"].to_list()
    unique = pl.Series.unique
    monkeypatch.setattr(pl.Series, "unique", lambda self, *a, **k: unique(self, *a, **k).reverse())
    again = pl.read_csv(make_demo(name, tmp_path / "b") / "test.csv")["id"].to_list()
    rows = len(first) + pl.read_csv(folder / "train.csv").height
    assert first == again and abs(len(first) / rows - 0.2) < 0.01
