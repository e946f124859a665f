"""The ``arithmetic_pairs`` step: which columns it pairs, what it computes, and what a model gains from it."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from kaggle_kit.errors import ConfigError, DataError
from kaggle_kit.features import ArithmeticPairs, Pipeline


def _ratio_table(n: int, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    """y is a ratio: ``b`` alone says nothing of it (its correlation with y is 0), only divided into ``a``."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rng.uniform(0.5, 2.0, size=n)
    frame = pl.DataFrame({"a": a, "noise1": rng.normal(size=n), "b": b, "noise2": rng.normal(size=n)})
    return frame, a / b + 0.05 * rng.normal(size=n)


def test_the_pairs_are_the_columns_a_target_needs_together() -> None:
    frame, y = _ratio_table(1500)
    out, state = Pipeline([ArithmeticPairs(top=2)]).fit_transform(frame, y, task="regression")
    step = state["steps"][0]["state"]
    assert step["columns"] == ["a", "b"] and step["pairs"] == [["a", "b"]]  # the divisor too, not a noise column
    assert out.columns == [*frame.columns, "a__plus__b", "a__minus__b", "a__times__b", "a__over__b"]


def test_the_combinations_equal_numpy_on_new_rows_with_missing_and_zero_divisors() -> None:
    frame, y = _ratio_table(800)
    pipe = Pipeline([ArithmeticPairs(top=3, ops=["subtract", "divide"])])
    state = pipe.fit(frame, y, task="regression")
    a, b = state["steps"][0]["state"]["pairs"][0]
    new = pl.DataFrame(
        {"a": [1.0, 2.0, None, 4.0, float("nan"), 0.0], "noise1": [0.0] * 6, "b": [2.0, 0.0, 1.0, -8.0, 1.0, 0.0],
         "noise2": [3.0, 1.0, 1.0, 0.5, 2.0, 1.0]}
    )  # fmt: skip
    out = pipe.transform(new, state)
    x, z = new[a].fill_nan(None).to_numpy().astype(float), new[b].to_numpy().astype(float)
    np.testing.assert_array_equal(out[f"{a}__minus__{b}"].to_numpy(), x - z)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isfinite(x / z), x / z, np.nan)  # 2 / 0 and 0 / 0 missing
    np.testing.assert_array_equal(out[f"{a}__over__{b}"].fill_null(np.nan).to_numpy(), ratio)
    assert f"{a}__plus__{b}" not in out.columns  # only the operations asked for
    huge = new.with_columns(pl.lit(1e30).alias(a), pl.lit(1e-20).alias(b))
    assert pipe.transform(huge, state)[f"{a}__over__{b}"].null_count() == len(huge)  # 1e50: no float32 inf
    assert len([c for c in out.columns if "__over__" in c]) == 3  # 3 columns: 3 pairs


def test_the_state_is_seeded_and_a_constant_or_empty_column_is_never_paired() -> None:
    frame, y = _ratio_table(600)
    frame = frame.with_columns(flat=pl.lit(3.0), empty=pl.lit(None, pl.Float64))
    states = [Pipeline([ArithmeticPairs(top=6)]).fit(frame, y, task="regression", seed=s) for s in (1, 1)]
    assert states[0] == states[1]
    chosen = states[0]["steps"][0]["state"]["columns"]
    assert "flat" not in chosen and "empty" not in chosen and len(chosen) == 4
    pipe = Pipeline([ArithmeticPairs(top=6)])
    rebuilt = Pipeline.from_state(json.loads(json.dumps(states[0])))  # what a run folder keeps, and predict reads
    assert rebuilt.transform(frame, states[0]).equals(pipe.transform(frame, states[0]))


def test_classes_pick_their_columns_too_and_one_numeric_column_adds_nothing(monkeypatch) -> None:
    import kaggle_kit.features.arithmetic as arithmetic

    frame, y = _ratio_table(900)
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    state = Pipeline([ArithmeticPairs(top=2)]).fit(frame, labels, task="multiclass")
    assert state["steps"][0]["state"]["columns"] == ["a", "b"]
    lone = pl.DataFrame({"a": frame["a"], "kind": ["x", "y", "z"] * 300})
    monkeypatch.setattr(arithmetic, "column_gains", None)  # no pair to make: nothing to score
    out, state = Pipeline([ArithmeticPairs()]).fit_transform(lone, labels, task="multiclass")
    assert out.columns == lone.columns and state["steps"][0]["state"]["pairs"] == []


def test_the_columns_go_best_first_whatever_their_names_or_places() -> None:
    """The pairs' names put the better column first (``w__minus__a``): the order is the scores', not the frame's or
    the names'."""
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({c: rng.normal(size=800) for c in ("b", "a", "w")})
    y = (4 * frame["w"] + 2 * frame["a"] + frame["b"]).to_numpy()
    state = Pipeline([ArithmeticPairs()]).fit(frame, y, task="regression")["steps"][0]["state"]
    assert state["columns"] == ["w", "a", "b"] and state["pairs"] == [["w", "a"], ["w", "b"], ["a", "b"]]
    assert state["scores"] == sorted(state["scores"], reverse=True)


def test_classes_are_scored_as_classes_not_as_numbers() -> None:
    """``x`` tells class 1 from the others without moving the mean class code (0 or 2 at random where x > 0): a
    regression on the codes would find nothing in it."""
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"noise": rng.normal(size=900), "x": rng.normal(size=900)})
    labels = np.where(frame["x"].to_numpy() > 0, 2 * rng.integers(0, 2, size=900), 1)
    state = Pipeline([ArithmeticPairs()]).fit(frame, labels, task="multiclass")["steps"][0]["state"]
    assert state["columns"][0] == "x" and state["scores"][0] > 4 * state["scores"][1]


def test_thirty_classes_cost_the_quick_lightgbm_about_the_trees_of_a_binary_target(monkeypatch) -> None:
    """A multiclass round fits a tree per class: 30 classes at 100 rounds would be 3,000 trees, 30x a binary's."""
    import lightgbm

    trees: list[tuple[str, int]] = []
    train = lightgbm.train

    def counted(params: dict, data: object, num_boost_round: int, **kw: object) -> object:
        trees.append((params["objective"], num_boost_round * params.get("num_class", 1)))
        return train(params, data, num_boost_round=num_boost_round, **kw)

    monkeypatch.setattr(lightgbm, "train", counted)
    frame, y = _ratio_table(600)
    labels = np.digitize(y, np.quantile(y, np.linspace(0, 1, 31)[1:-1]))
    Pipeline([ArithmeticPairs()]).fit(frame, labels, task="multiclass", classes=list(range(30)))
    Pipeline([ArithmeticPairs()]).fit(frame, labels > 15, task="binary")
    assert trees == [("multiclass", 300), ("binary", 100)]  # gains of the log loss, not of L2 on the codes


def test_it_needs_the_target_and_refuses_a_name_clash_and_bad_params() -> None:
    frame, y = _ratio_table(200)
    with pytest.raises(ConfigError, match="needs the target"):
        Pipeline([ArithmeticPairs()]).fit(frame)
    clash = frame.with_columns(a__plus__b=pl.lit(0.0))
    with pytest.raises(DataError, match="'a__plus__b', which the frame already has"):
        Pipeline([ArithmeticPairs(top=2)]).fit(clash, y, task="regression")
    with pytest.raises(ConfigError, match="more than once"):
        Pipeline.from_config([{"step": "arithmetic_pairs", "ops": ["add", "add"]}])
    # names around '__' that run together: (a, b__plus__c) and (a__plus__b, c) both make a__plus__b__plus__c
    rng = np.random.default_rng(0)
    runs = pl.DataFrame({c: rng.normal(size=400) for c in ("a", "b__plus__c", "a__plus__b", "c")})
    weighted = (runs["a"] * 8 + runs["b__plus__c"] * 4 + runs["a__plus__b"] * 2 + runs["c"]).to_numpy()
    with pytest.raises(DataError, match=r"make column 'a__plus__b__plus__c' twice.*rename one"):
        Pipeline([ArithmeticPairs(ops=["add"])]).fit(runs, weighted, task="regression")
    with pytest.raises(ConfigError, match="top"):
        Pipeline.from_config([{"step": "arithmetic_pairs", "top": 1}])
    text = frame.with_columns(shop=pl.lit("s1"))
    with pytest.raises(DataError, match="needs numeric columns, but 'shop' is String; leave it out"):
        Pipeline.from_config([{"step": "arithmetic_pairs", "columns": ["a", "shop"]}]).fit(text, y, task="regression")


def test_an_extra_trees_lightgbm_gains_from_the_pairs_in_a_run(tmp_path) -> None:
    from kaggle_kit import run
    from kaggle_kit.config import build_spec

    frame, y = _ratio_table(1200, seed=3)
    spec = build_spec(
        {"name": "pairs", "task": "regression", "metric": "rmse", "seed": 0,
         "data": {"train": "t.csv", "target": "y"}, "folds": {"n_splits": 3},
         "run": {"n_jobs": 1, "threads_per_task": 1},
         "pipelines": {"pairs": {"steps": [{"step": "arithmetic_pairs", "top": 2}]}},
         "models": [{"name": "plain", "kind": "lightgbm_xt"},
                    {"name": "paired", "kind": "lightgbm_xt", "pipeline": "pairs"}]}
    )  # fmt: skip
    result = run(spec, runs_root=tmp_path, train=frame.with_columns(y=pl.Series(y)), progress=None,
                 record_history=False)  # fmt: skip
    cv = {m.name: m.cv for m in result.models}
    assert cv["paired"] < 0.92 * cv["plain"]  # the ratio read off one column instead of two


def test_a_large_table_is_scored_on_rows_drawn_by_the_seed(monkeypatch) -> None:
    import kaggle_kit.features.arithmetic as arithmetic

    frame, y = _ratio_table(1500)
    full = Pipeline([ArithmeticPairs(top=2)]).fit(frame, y, task="regression")["steps"][0]["state"]
    monkeypatch.setattr(arithmetic, "_SCORE_ROWS", 700)
    drawn = [Pipeline([ArithmeticPairs(top=2)]).fit(frame, y, task="regression", seed=s) for s in (0, 0, 1)]
    states = [d["steps"][0]["state"] for d in drawn]
    assert all(s["columns"] == ["a", "b"] for s in states)  # each row's target stays with its row
    assert states[0] == states[1] and states[0]["scores"] != states[2]["scores"] != full["scores"]
