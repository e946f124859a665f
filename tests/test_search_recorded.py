"""What a time-limited run fitted and recorded (seed bags, shortened models) is kept by a later ``--only`` or plain
run, unless the user changed that model's spec."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from kaggle_kit.config import ModelSpec, build_spec
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.search.budget import with_cap
from kaggle_kit.runtime.search.recorded import Recorded
from kaggle_kit.runtime.store import RunStore

LGBM = {"kind": "lightgbm", "num_boost_round": 12, "early_stopping_rounds": 0}


def _spec(leaves_b: int = 7, *extra: dict):
    raw = {
        "name": "bags",
        "task": "binary",
        "metric": "roc_auc",
        "data": {"train": "t.csv", "id": "id", "target": "y"},
        "folds": {"n_splits": 2},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "models": [
            {"name": "lgb_a", **LGBM},
            {"name": "lgb_b", **LGBM, "params": {"num_leaves": leaves_b, "bagging_fraction": 0.7, "bagging_freq": 1}},
            *extra,
        ],
    }
    return build_spec(raw)


def _train() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    y = (x[:, 0] + x[:, 1] + rng.normal(size=120) > 0).astype(int)
    return pl.DataFrame({"id": np.arange(120), "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "y": y})


def test_only_and_plain_runs_keep_the_seed_bags_a_time_limited_run_fitted(tmp_path: Path) -> None:
    """They were dropped from run.json (so from the leaderboard, blends and submissions), and only a note said so; a
    bag of a model whose spec changed is dropped (its key is another), the others stay."""
    kwargs = {"runs_root": tmp_path, "train": _train(), "progress": None, "record_history": False}
    first = run(_spec(), time_limit=60, **kwargs)
    bags = RunStore(first.run_dir).read_meta()["bags"]
    assert set(bags) == {"lgb_a", "lgb_b"} and len(bags["lgb_b"]["models"]) > 1
    listed = list(RunStore(first.run_dir).read_meta()["models"])
    # the worker's first LightGBM fold imported the library: recorded apart from the fold's cost (search.budget)
    imports = [json.loads(p.read_text())["import_seconds"] for p in first.run_dir.glob("models/lgb_*/*/folds/*/res*")]
    assert sum(s > 0.05 for s in imports) == 1, imports

    only = run(_spec(), only=["lgb_a"], **kwargs)
    meta = RunStore(first.run_dir).read_meta()
    assert set(meta["models"]) == set(listed) and meta["bags"] == bags  # lgb_b's bags too, not fitted by --only
    assert only.fitted == 0 and not any("not models of this one" in n for n in only.notes)
    assert set(bags["lgb_a"]["models"]) <= {m.name for m in only.models}  # lgb_a's bags are models of the command

    limited = run(_spec(), only=["lgb_b"], time_limit=60, **kwargs)  # the same under a time limit
    meta = RunStore(first.run_dir).read_meta()
    assert set(meta["models"]) >= set(listed) and meta["bags"]["lgb_a"] == bags["lgb_a"]
    assert not any("not models of this one" in n for n in limited.notes)

    plain = run(_spec(), **kwargs)
    assert plain.fitted == 0 and RunStore(first.run_dir).read_meta()["bags"] == bags
    assert {m.name for m in plain.models} == set(listed)

    changed = run(_spec(leaves_b=5), **kwargs)  # lgb_b's spec changed: its bags are not lgb_b's any more
    meta = RunStore(first.run_dir).read_meta()
    assert set(meta["bags"]) == {"lgb_a"} and not set(bags["lgb_b"]["models"][1:]) & set(meta["models"])
    (note,) = [n for n in changed.notes if "not models of this one" in n]
    assert bags["lgb_b"]["models"][1] in note

    # a model of the spec named as a kept bag is that model: run.json lists one key a name, and it is the model's
    taken = bags["lgb_a"]["models"][1]
    logreg = {"name": taken, "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
    run(_spec(5, logreg), **kwargs)
    meta = RunStore(first.run_dir).read_meta()
    assert meta["kinds"][taken] == "sklearn" and taken not in meta.get("bags", {}).get("lgb_a", {}).get("models", [])


def test_a_model_a_time_limit_shortened_is_listed_at_that_size_with_its_bags() -> None:
    """A model ``--only`` leaves out was listed at its full size, a key with no folds, though the time-limited run
    fitted it shortened; it is listed as fitted when the key run.json records is that one's, and not when the spec
    changed."""
    model = ModelSpec(name="m", **LGBM | {"num_boost_round": 400})
    short = with_cap(model, 120)
    bag = ModelSpec.model_validate({**short.model_dump(), "name": "m_s43", "seed": 43})

    def key(m: ModelSpec) -> str:
        return m.model_dump_json()

    recorded = Recorded(
        keys={"m": key(short), "m_s43": key(bag)},
        shortened={"m": {"from": 400, "to": 120}},
        bags={"m": (("m_s43", 43),)},
    )
    assert recorded.as_fitted(model, key) == short and recorded.lowered(short)
    assert recorded.bags_of(short, key, lambda m: True) == [bag]
    assert recorded.bags_of(short, key, lambda m: False) == []  # not whole in the store
    changed = model.model_copy(update={"params": {"num_leaves": 5}})
    assert recorded.as_fitted(changed, key) is None
    meta = recorded.meta({"m": [bag]}, [short, bag], seed=42)
    assert meta == {
        "bags": {"m": {"models": ["m", "m_s43"], "seeds": [42, 43]}},
        "time_limit": {"shortened": {"m": {"from": 400, "to": 120}}},
    }


def test_only_lists_a_model_left_out_at_the_size_a_time_limit_fitted_it(tmp_path: Path) -> None:
    """The store holds ``m`` at the 30 rounds a time limit cut it to (with_cap: a larger learning rate too) and
    run.json says so; ``--only lr`` (plain, and under a time limit) listed ``m`` at its full 400 rounds, a key with no
    folds: the leaderboard, blends and submissions had lost it."""
    full = ModelSpec(name="m", **LGBM | {"num_boost_round": 400})
    short = with_cap(full, 30)
    logreg = {"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}

    def spec(m: ModelSpec):
        raw = _spec().model_dump(mode="json", exclude_none=True)
        return build_spec({**raw, "models": [m.model_dump(mode="json", exclude_none=True), logreg]})

    kwargs = {"runs_root": tmp_path, "train": _train(), "progress": None, "record_history": False}
    first = run(spec(short), **kwargs)
    store = RunStore(first.run_dir)
    meta = store.read_meta()
    store.write_meta({**meta, "time_limit": {"shortened": {"m": {"from": 400, "to": 30}}}})
    extra = ModelSpec.model_validate({**logreg, "name": "lr2"})
    for limit, more in ((None, ()), (60, ()), (None, (extra,))):  # plain; time-limited; fitted without a budget
        again = run(spec(full), only=["lr"], time_limit=limit, extra_models=more, **kwargs)
        assert again.fitted == 0 or limit is not None or more  # (a time limit's seed bags of lr; lr2)
        after = store.read_meta()
        assert after["models"]["m"] == meta["models"]["m"], limit  # the shortened key, whose folds are stored
        assert after["time_limit"]["shortened"]["m"] == {"from": 400, "to": 30}  # and the next command knows it


def test_a_plain_run_refitting_a_shortened_model_at_full_size_drops_the_bags_of_its_shortened_size(
    tmp_path: Path,
) -> None:
    """``m`` was fitted shortened (30 of 400 rounds) with a seed bag ``m_s43`` of that size. ``--only lr`` keeps both
    as they were fitted; a plain run refits ``m`` at its full size, and ``m_s43`` is no bag of that model (a search
    without a time limit dropped it, a plain run had kept it beside the full-size ``m`` in run.json's ``bags``)."""
    full = ModelSpec(name="m", **LGBM | {"num_boost_round": 400})
    short = with_cap(full, 30)
    bag = ModelSpec.model_validate({**short.model_dump(), "name": "m_s43", "seed": 43})
    logreg = {"name": "lr", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}

    def spec(*models: ModelSpec):
        raw = _spec().model_dump(mode="json", exclude_none=True)
        return build_spec({**raw, "models": [*(m.model_dump(mode="json", exclude_none=True) for m in models), logreg]})

    kwargs = {"runs_root": tmp_path, "train": _train(), "progress": None, "record_history": False}
    store = RunStore(run(spec(short, bag), **kwargs).run_dir)
    meta = store.read_meta()
    recorded = {"bags": {"m": {"models": ["m", "m_s43"], "seeds": [42, 43]}}}
    store.write_meta({**meta, **recorded, "time_limit": {"shortened": {"m": {"from": 400, "to": 30}}}})
    run(spec(full), only=["lr"], **kwargs)
    assert store.read_meta()["bags"] == recorded["bags"] and "m_s43" in store.read_meta()["models"]
    plain = run(spec(full), **kwargs)
    after = store.read_meta()
    assert after["models"]["m"] != meta["models"]["m"]  # refitted at 400 rounds
    assert "m_s43" not in after["models"] and "bags" not in after
    assert any("m_s43" in note for note in plain.notes)  # named among the models no longer listed


def test_a_time_limited_run_keeps_recorded_bags_of_every_round_and_never_lists_a_model_as_a_bag(
    tmp_path: Path,
) -> None:
    """A round of seed bags an earlier command fitted (kept) has none to add: the later rounds are still made (their
    folds reused), not skipped. A model of the spec named as a recorded bag is that model, also under a time limit
    (run.json lists one key a name)."""
    kwargs = {"runs_root": tmp_path, "train": _train(), "progress": None, "record_history": False}
    first = run(_spec(), time_limit=60, **kwargs)
    store = RunStore(first.run_dir)
    meta = store.read_meta()
    bags = meta["bags"]
    assert len(bags["lgb_a"]["models"]) > 2  # the model and the bags of two rounds at least
    cut = {c: {"models": b["models"][:2], "seeds": b["seeds"][:2]} for c, b in bags.items()}  # round 1 only
    later = {m for b in bags.values() for m in b["models"][2:]}
    store.write_meta({**meta, "bags": cut, "models": {n: k for n, k in meta["models"].items() if n not in later}})
    again = run(_spec(), time_limit=60, **kwargs)
    assert again.fitted == 0 and store.read_meta()["bags"] == bags

    taken = bags["lgb_a"]["models"][1]
    logreg = {"name": taken, "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
    named = run(_spec(7, logreg), time_limit=60, **kwargs)
    meta = store.read_meta()
    assert meta["kinds"][taken] == "sklearn" and taken not in meta["bags"]["lgb_a"]["models"]
    assert [m.kind for m in named.models if m.name == taken] == ["sklearn"]
