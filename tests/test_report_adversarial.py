"""Adversarial validation flags a planted train/test shift, names the column, and stays quiet on a random split."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from kaggle_kit.errors import DataError
from kaggle_kit.report import adversarial_validation


def _frame(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = date(2020, 1, 1)
    return pl.DataFrame(
        {
            **{f"x{i}": rng.normal(size=n) for i in range(6)},
            "count": rng.poisson(3, n),
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "day": [start + timedelta(days=int(d)) for d in rng.integers(0, 365, n)],
        }
    )


def _split(frame: pl.DataFrame, seed: int, test_share: float = 0.25) -> tuple[pl.DataFrame, pl.DataFrame]:
    is_test = pl.Series(np.random.default_rng(seed).random(frame.height) < test_share)
    return frame.filter(~is_test), frame.filter(is_test)


FEATURES = ["x0", "x1", "x2", "x3", "x4", "x5", "count", "city", "day"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quiet_on_a_random_split(seed: int) -> None:
    train, test = _split(_frame(1200, seed), seed)
    result = adversarial_validation(train, test, FEATURES, categorical=["city"], seed=seed)
    assert result.verdict == "none" and result.auc < 0.6
    assert result.flagged == ()
    assert not result.message.startswith("Warning") and "should carry over" in result.message
    assert (result.n_train, result.n_test) == (train.height, test.height)
    assert abs(sum(f.share for f in result.features) - 1) < 1e-9


@pytest.mark.parametrize(
    ("column", "shift"),
    [
        ("x2", pl.col("x2") + 1.5),  # a number whose distribution moved
        ("city", pl.when(pl.col("city") == "nice").then(pl.lit("cannes")).otherwise(pl.col("city"))),  # a new level
        ("day", pl.col("day") + pl.duration(days=200)),  # a later period: the classic time drift
    ],
)
def test_a_planted_shift_is_flagged_and_named(column: str, shift: pl.Expr) -> None:
    train, test = _split(_frame(1200, 0), 0)
    test = test.with_columns(shift.alias(column))
    result = adversarial_validation(train, test, FEATURES, categorical=["city"])
    assert result.verdict == "strong" and result.auc > 0.75
    assert [f.name for f in result.flagged] == [column]
    assert result.features[0].name == column and result.features[0].p_value < 1e-6
    assert result.message.startswith("Warning") and f"'{column}'" in result.message
    assert "looks clearly different" in result.message


def test_a_mild_shift_is_reported_as_mild() -> None:
    train, test = _split(_frame(1200, 0), 0)
    result = adversarial_validation(train, test.with_columns(pl.col("x1") + 0.7), FEATURES, categorical=["city"])
    assert result.verdict == "mild" and 0.6 <= result.auc < 0.75
    assert "somewhat different" in result.message and "x1" in result.message


def test_test_rows_are_sampled_down_to_max_rows() -> None:
    train, test = _split(_frame(1200, 0), 0)
    result = adversarial_validation(train, test, FEATURES, max_rows=200)
    assert (result.n_train, result.n_test) == (200, 200)


@pytest.mark.parametrize(
    ("features", "test_drop", "match"),
    [
        (["x0", "x1"], "x1", r"test lacks feature column\(s\) \['x1'\]"),
        (["nope"], None, r"needs at least one feature column"),
    ],
)
def test_bad_input(features: list[str], test_drop: str | None, match: str) -> None:
    train, test = _split(_frame(200, 0), 0)
    with pytest.raises(DataError, match=match):
        adversarial_validation(train, test.drop(test_drop) if test_drop else test, features)


@pytest.mark.parametrize("name", ["n_train", "n_test", "level"])
def test_a_category_column_named_as_the_level_counts_is_compared(name: str) -> None:
    """Each file's levels are counted in columns 'n_train' / 'n_test' beside 'level': a category column of either
    name stopped the report (polars' `duplicate column names`)."""
    train, test = _split(_frame(1200, 0), 0)
    shift = pl.when(pl.col("city") == "nice").then(pl.lit("cannes")).otherwise(pl.col("city"))
    train, test = train.rename({"city": name}), test.with_columns(shift.alias("city")).rename({"city": name})
    features = [name if f == "city" else f for f in FEATURES]
    result = adversarial_validation(train, test, features, categorical=[name])
    assert [f.name for f in result.flagged] == [name]
