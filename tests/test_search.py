"""Searches over model families and the run's time limit: sampled configs as models of the run, resumes that refit
nothing, a TPE study in the run folder, waves planned under a wall-clock budget, seed bags."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import demo_spec

from kaggle_kit.config import ModelSpec, SearchSpec, build_spec
from kaggle_kit.errors import ConfigError
from kaggle_kit.leaderboard import leaderboard
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.search import SPACES, Choice, Float, Int, Layers, random_configs, sample_params
from kaggle_kit.runtime.search.budget import SIZING_UNITS, CostModel, bag_floor, plan_wave, probe_limit, with_cap
from kaggle_kit.runtime.store import FoldResult, RunStore

FAST = {"num_boost_round": 12, "early_stopping_rounds": 0}
SEQUENTIAL = {"n_jobs": 1, "threads_per_task": 1}
FOLDS = {"strategy": "stratified", "n_splits": 3}


def _search(n: int | dict[str, int] = 2, families: tuple[str, ...] = ("lightgbm", "xgboost"), **over: object):
    return {"families": list(families), "n_configs": n, "overrides": {f: FAST for f in families}, **over}


def _spec(demo_data: Path, search: dict | None = None, **over: object):
    over.setdefault("run", SEQUENTIAL)
    over.setdefault("folds", FOLDS)
    return demo_spec("demo-breast-cancer", demo_data, models=[], search=search or _search(), **over)


def _oof(run_dir: Path, model: str) -> np.ndarray:
    return RunStore(run_dir).read_predictions(model, "oof").drop("id").to_numpy()


def _fold_stamps(run_dir: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in run_dir.glob("models/*/*/folds/*/result.json")}


# ------------------------------------------------------------------------------------------------ spaces, sampler
@pytest.mark.parametrize("family", sorted(SPACES))
def test_sampled_values_lie_in_their_declared_ranges(family: str) -> None:
    space = SPACES[family]
    for index in range(1, 150):
        params = sample_params(space, seed=7, index=index)
        assert list(params) == list(space.params)
        for name, value in params.items():
            assert space.params[name].contains(value), f"{family}.{name} = {value!r} outside {space.params[name]}"
            json.dumps(value)  # plain Python values: they go to run.json, TOML and the content key


def _share_below_geometric_middle(dim: Float | Int, n: int = 600) -> float:
    rng = np.random.default_rng(0)
    values = np.array([dim.sample(rng) for _ in range(n)], dtype=float)
    return float(np.mean(values < math.sqrt(dim.low * dim.high)))


def test_log_uniform_dims_are_spread_on_the_log_scale() -> None:
    lr = SPACES["lightgbm"].params["learning_rate"]
    leaves = SPACES["lightgbm"].params["num_leaves"]
    assert isinstance(lr, Float) and lr.log and isinstance(leaves, Int) and leaves.log
    # half the draws lie below the geometric middle on the log scale; a uniform draw would put 18 % (lr) and 9 %
    # (num_leaves) there
    assert 0.42 < _share_below_geometric_middle(lr) < 0.58
    assert 0.38 < _share_below_geometric_middle(leaves) < 0.58
    assert _share_below_geometric_middle(Float(5e-3, 0.1)) < 0.25  # the check tells the two apart
    # and a uniform dim stays uniform: half below the arithmetic middle
    frac = SPACES["lightgbm"].params["feature_fraction"]
    rng = np.random.default_rng(1)
    assert 0.42 < np.mean([frac.sample(rng) < 0.7 for _ in range(600)]) < 0.58


def test_int_choice_and_layers_dims() -> None:
    rng = np.random.default_rng(0)
    depth = Int(4, 8)
    assert {depth.sample(rng) for _ in range(300)} == {4, 5, 6, 7, 8}  # both ends reachable
    choice = Choice((1, 2, 3, 4, 5, 10, 20, 40, 80))
    assert {choice.sample(rng) for _ in range(500)} == set(choice.values)
    assert not choice.contains(True) and not Int(1, 5).contains(True)
    layers = Layers(depth=Int(1, 4), width=Int(32, 512, log=True))
    for _ in range(100):
        value = layers.sample(rng)
        assert layers.contains(value) and 1 <= len(value) <= 4 and len(set(value)) == 1


def test_config_i_depends_on_seed_family_and_index_only(demo_data: Path) -> None:
    small = random_configs(SearchSpec.model_validate(_search(3)), _spec(demo_data))
    large = random_configs(SearchSpec.model_validate(_search(6)), _spec(demo_data))
    names = [c.model.name for c in small]
    assert names == ["lightgbm_c000", "xgboost_c000", "lightgbm_c001", "xgboost_c001", "lightgbm_c002", "xgboost_c002"]
    assert [c.model for c in large[: len(small)]] == [c.model for c in small]  # a larger N keeps every config
    assert small[0].params == {} and small[0].model.params == {"bagging_freq": 1}  # c000: the default
    other = random_configs(SearchSpec.model_validate(_search(3, seed=1)), _spec(demo_data))
    assert other[2].params != small[2].params and other[0].params == small[0].params
    assert small[2].model.num_boost_round == 12 and small[2].model.early_stopping_rounds is None  # overrides


# ------------------------------------------------------------------------------------------------ runs
@pytest.fixture(scope="module")
def searched(demo_data: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("search")
    return root, run(_spec(demo_data), runs_root=root, progress=None, record_history=False)


def test_every_config_is_a_model_of_the_run(searched) -> None:
    _, result = searched
    assert result.fitted == 5 * 3 and result.reused == 0  # (baseline + 2 families x 2 configs) x 3 folds
    store = RunStore(result.run_dir)
    meta = store.read_meta()
    assert list(meta["models"]) == ["baseline", "lightgbm_c000", "xgboost_c000", "lightgbm_c001", "xgboost_c001"]
    assert len(set(meta["models"].values())) == 5  # a content key each
    configs = meta["search"]["configs"]
    assert configs["lightgbm_c001"]["family"] == "lightgbm" and configs["lightgbm_c001"]["index"] == 1
    sampled = configs["lightgbm_c001"]["params"]
    assert sampled == sample_params(SPACES["lightgbm"], seed=42, index=1)  # the spec's seed by default
    assert {r.name for r in leaderboard(result.run_dir)} == set(meta["models"])
    for r in result.models:
        assert r.status == "ok" and len(r.fold_scores) == 3
        assert r.name == "baseline" or r.cv > 0.9


def test_rerun_refits_nothing_and_a_larger_n_fits_only_the_new_configs(searched, demo_data: Path) -> None:
    root, first = searched
    stamps = _fold_stamps(first.run_dir)
    again = run(_spec(demo_data), runs_root=root, progress=None, record_history=False)
    assert again.fitted == 0 and again.reused == 15
    assert _fold_stamps(first.run_dir) == stamps
    larger = run(_spec(demo_data, _search(3)), runs_root=root, progress=None, record_history=False)
    assert larger.fitted == 2 * 3 and larger.reused == 15  # lightgbm_c002 and xgboost_c002 only
    assert {p: s for p, s in _fold_stamps(first.run_dir).items() if p in stamps} == stamps
    assert [m.name for m in larger.models][-2:] == ["lightgbm_c002", "xgboost_c002"]


def test_same_seed_same_configs_and_same_oof(searched, demo_data: Path, tmp_path: Path) -> None:
    _, first = searched
    other = run(_spec(demo_data), runs_root=tmp_path, progress=None, record_history=False)
    a, b = RunStore(first.run_dir).read_meta(), RunStore(other.run_dir).read_meta()
    assert list(b["models"]) == ["baseline", "lightgbm_c000", "xgboost_c000", "lightgbm_c001", "xgboost_c001"]
    for name in b["models"]:  # (the first run may have grown since: a larger N)
        assert a["models"][name] == b["models"][name]
        assert a["search"]["configs"].get(name) == b["search"]["configs"].get(name)
    for name in ("lightgbm_c001", "xgboost_c001"):
        np.testing.assert_array_equal(_oof(first.run_dir, name), _oof(other.run_dir, name))
    reseeded = run(_spec(demo_data, _search(2, seed=5)), runs_root=tmp_path / "s5", progress=None, record_history=False)
    assert (
        RunStore(reseeded.run_dir).read_meta()["search"]["configs"]["lightgbm_c001"]
        != a["search"]["configs"]["lightgbm_c001"]
    )


def test_a_killed_search_resumes_with_zero_refits(demo_data: Path, tmp_path: Path) -> None:
    spec = _spec(demo_data)
    config = tmp_path / "search.toml"
    config.write_text(spec.to_toml())
    runs = tmp_path / "runs"
    # killed right after the 8th fold folder is renamed into place
    env = {**os.environ, "KAGGLE_KIT_FAULT": "fold-renamed:8"}
    cmd = [sys.executable, "-m", "kaggle_kit.cli", "search", str(config), "--runs-root", str(runs)]
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    run_dir = runs / spec.run_name
    before = {p: s for p, s in _fold_stamps(run_dir).items() if not p.parent.name.startswith(".")}
    assert len(before) == 8  # baseline 3, lightgbm_c000 3, xgboost_c000 2 of its 3 folds

    # no time to start anything: the config with 2 of 3 folds is "incomplete", not ranked, not blended
    cut = run(spec, runs_root=runs, time_limit=0.01, progress=None, record_history=False)
    assert cut.fitted == 0 and cut.incomplete == ("xgboost_c000",)
    status = {r.name: r.status for r in cut.models}
    assert status == {"baseline": "ok", "lightgbm_c000": "ok", "xgboost_c000": "incomplete"}
    summary = RunStore(run_dir).read_summary("xgboost_c000")
    assert summary.error == "incomplete: time limit (2 of 3 folds)" and len(summary.fold_scores) == 2
    assert [r.name for r in leaderboard(run_dir)] == ["lightgbm_c000", "baseline"]
    assert "incomplete (time limit, not ranked or blended): xgboost_c000" in cut.leaderboard()
    assert "xgboost_c000" not in cut.leaderboard().split("incomplete")[0]
    from kaggle_kit.blend.inputs import default_models

    assert default_models(run_dir) == ["lightgbm_c000"]  # what a blend takes when no models are named

    resumed = run(spec, runs_root=runs, progress=None, record_history=False)
    assert resumed.reused == 8 and resumed.fitted == 15 - 8
    assert {p: _fold_stamps(run_dir)[p] for p in before} == before
    assert all(r.status == "ok" for r in resumed.models)


def test_run_search_flag_and_search_command(demo_data: Path, tmp_path: Path, capsys) -> None:
    from kaggle_kit.cli import main

    spec = demo_spec(
        "demo-breast-cancer",
        demo_data,
        run=SEQUENTIAL,
        folds=FOLDS,
        models=[{"name": "lgbm", "kind": "lightgbm", **FAST}],
    )
    config = tmp_path / "c.toml"
    config.write_text(spec.to_toml())
    assert main(["run", str(config), "--runs-root", str(tmp_path / "runs"), "--search", "2"]) == 0
    out = capsys.readouterr().out
    assert "lightgbm_c001" in out and "search (random, seed 42): 2 of 2 config(s) of lightgbm started" in out
    meta = RunStore(tmp_path / "runs" / spec.run_name).read_meta()
    assert list(meta["models"]) == ["baseline", "lgbm", "lightgbm_c000", "lightgbm_c001"]


def test_run_search_searches_on_the_pipeline_its_models_of_that_kind_read() -> None:
    """``kaggle-kit run CONFIG --search N`` over the families of the models: their configs ran on the base encoding
    although every LightGBM model of the spec read its pipeline (another feature set, not shown anywhere)."""
    from kaggle_kit.cli import _search

    pipes = {"fe": {"steps": [{"step": "log1p", "columns": ["x"]}]}, "other": {"steps": []}}
    lgbm = {"kind": "lightgbm", "pipeline": "fe"}
    base = {"name": "s", "task": "binary", "metric": "roc_auc", "data": {"train": "t.csv", "target": "y"}}
    spec = build_spec({**base, "pipelines": pipes, "models": [{"name": "a", **lgbm}, {"name": "b", "kind": "xgboost"}]})
    assert _search(spec, 3).overrides == {"lightgbm": {"pipeline": "fe"}}  # xgboost's model reads none
    mixed = [{"name": "a", **lgbm}, {"name": "b", **lgbm, "pipeline": "other"}]
    assert _search(build_spec({**base, "pipelines": pipes, "models": mixed}), 3).overrides == {}  # no one pipeline


# ------------------------------------------------------------------------------------------------ TPE
@pytest.mark.slow
def test_tpe_study_is_stored_in_the_run_folder_and_reopens_with_optuna(demo_data: Path, tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    search = _search(4, families=("lightgbm",), sampler="tpe")
    result = run(_spec(demo_data, search), runs_root=tmp_path, progress=None, record_history=False)
    db = result.run_dir / "search" / "search.db"
    assert db.is_file()
    study = optuna.load_study(study_name="search", storage=f"sqlite:///{db}")
    trials = study.get_trials()
    assert [t.user_attrs["model"] for t in trials] == ["lightgbm_c001", "lightgbm_c002", "lightgbm_c003"]
    cv = {r.name: r.cv for r in result.models}
    for t in trials:
        assert t.state == optuna.trial.TrialState.COMPLETE and t.value == pytest.approx(cv[t.user_attrs["model"]])
        config = RunStore(result.run_dir).read_meta()["search"]["configs"][t.user_attrs["model"]]["params"]
        assert t.params["lightgbm.learning_rate"] == pytest.approx(config["learning_rate"])
        assert SPACES["lightgbm"].params["num_leaves"].contains(config["num_leaves"])
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE  # roc_auc
    again = run(_spec(demo_data, search), runs_root=tmp_path, progress=None, record_history=False)
    assert again.fitted == 0 and len(optuna.load_study(study_name="search", storage=f"sqlite:///{db}").trials) == 3
    more = run(_spec(demo_data, {**search, "n_configs": 5}), runs_root=tmp_path, progress=None, record_history=False)
    assert more.fitted == 3 and len(optuna.load_study(study_name="search", storage=f"sqlite:///{db}").trials) == 4
    # a search grown in two runs asks what one run asks: the sampler is seeded from (seed, trial number)
    fresh = run(_spec(demo_data, {**search, "n_configs": 5}), runs_root=tmp_path / "fresh", progress=None)
    grown = RunStore(more.run_dir).read_meta()["search"]["configs"]
    assert RunStore(fresh.run_dir).read_meta()["search"]["configs"] == grown


def test_tpe_without_optuna_names_the_extra(demo_data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    spec = _spec(demo_data, _search(2, sampler="tpe"))
    with pytest.raises(ConfigError, match=r"sampler = 'tpe' needs Optuna.*pip install 'kaggle-kit\[search\]'"):
        run(spec, runs_root=tmp_path, progress=None, record_history=False)


# ------------------------------------------------------------------------------------------------ the budget
def _known(kind: str, per_unit: float, units: int, overhead: float = 0.0) -> CostModel:
    cost = CostModel(overhead=overhead)
    cost.per_unit[kind], cost.units[kind] = [per_unit], [units]
    return cost


def test_plan_wave_gives_a_config_all_its_folds_or_none() -> None:
    m = ModelSpec(name="a", kind="lightgbm", num_boost_round=100, early_stopping_rounds=0)
    cost = _known("lightgbm", per_unit=0.01, units=100)  # a fold: 1.2 s (1.2 safety)
    wave = plan_wave([(m, 5, True)], cost, remaining=100.0, jobs=2)
    assert [(a.model, a.n_tasks, a.shrunk_from) for a in wave] == [(m, 5, None)]
    # 5 folds on 2 workers need 3 folds' time; with 2.5 s left the cap is lowered to what fits in SHRUNK_SLACK of
    # it (a shortened config runs every round): 2.5 x 0.85 / 3 / 0.012 = 59
    wave = plan_wave([(m, 5, True)], cost, remaining=2.5, jobs=2)
    assert len(wave) == 1 and wave[0].n_tasks == 5 and wave[0].shrunk_from == 100
    assert wave[0].model.num_boost_round == 59 and wave[0].model.name == "a"
    # a config that may not be shortened (started) and does not fit is not started
    assert plan_wave([(m, 5, False)], cost, remaining=2.5, jobs=2) == []
    # nor one whose cap would fall below the minimum worth fitting (50 rounds)
    assert plan_wave([(m, 5, True)], cost, remaining=0.5, jobs=2) == []


def test_a_seed_bag_is_shortened_to_no_less_than_half_its_config() -> None:
    """Seen on digits at a 120 s limit: the CNN's bag of 30 epochs did not fit in the last 21 s, which went unused.
    A bag is shortened like a config, but not below half its config's cap (bag_floor)."""
    config = ModelSpec(name="cnn", kind="mlp", params={"epochs": 30, "patience": 0})
    bag = ModelSpec(name="cnn_s43", kind="mlp", params={"epochs": 30, "patience": 0}, seed=43)
    assert bag_floor(config) == 15 and bag_floor(ModelSpec(name="l", kind="lightgbm", num_boost_round=101)) == 51
    assert bag_floor(ModelSpec(name="r", kind="random_forest")) is None
    cost = _known("mlp", per_unit=0.1, units=30)  # an epoch: 0.12 s; 5 folds on 2 workers: 3 folds' time
    # 20 epochs fit in 3 x 20 x 0.12 = 7.2 <= 8.5 x 0.85: above the floor, the bag is shortened
    wave = plan_wave([(bag, 5, True)], cost, remaining=8.5, jobs=2, floors={"cnn_s43": 15})
    assert [(a.model.params["epochs"], a.n_tasks, a.shrunk_from) for a in wave] == [(20, 5, 30)]
    # 11 epochs fit in 5 s: a plain config gets them, the bag is not started
    assert plan_wave([(bag, 5, True)], cost, remaining=5.0, jobs=2)[0].model.params["epochs"] == 11
    assert plan_wave([(bag, 5, True)], cost, remaining=5.0, jobs=2, floors={"cnn_s43": 15}) == []


def test_a_seed_bag_whose_expected_cost_fits_is_started_whole() -> None:
    """A bag's cost is its config's, measured: as before bags could be shortened, one is started at its full cap
    when its expected cost fits, though its worst case (every round to the cap, which early stopping makes
    unlikely) does not; it is not refused because that worst case at its floor does not fit either."""
    bag = ModelSpec(name="l_s43", kind="lightgbm", num_boost_round=400, early_stopping_rounds=5, seed=43)
    cost = _known("lightgbm", per_unit=0.01, units=40)  # early stopping at 40 rounds: a fold 0.48 s, at worst 4.8 s
    # 5 folds on 2 workers: 3 folds' time, 1.44 s expected, 14.4 s at worst (2.4 s per fold at the floor, 200)
    wave = plan_wave([(bag, 5, True)], cost, remaining=3.0, jobs=2, floors={"l_s43": 200})
    assert [(a.model, a.n_tasks, a.shrunk_from) for a in wave] == [(bag, 5, None)]
    # a config that may be shortened still wants its worst case in time: shortened to what fits (70 rounds)
    config = bag.model_copy(update={"name": "l", "seed": None})
    (short,) = plan_wave([(config, 5, True)], cost, remaining=3.0, jobs=2)
    assert short.shrunk_from == 400 and short.model.num_boost_round == 70


def test_plan_wave_probes_unmeasured_kinds_cheapest_first_and_shortens_epochs() -> None:
    lgbm = ModelSpec(name="l", kind="lightgbm", num_boost_round=50)
    mlp = ModelSpec(name="m", kind="mlp", params={"epochs": 40, "patience": 0})
    xgb = ModelSpec(name="x", kind="xgboost", num_boost_round=50)
    cost = _known("lightgbm", 0.001, 50)
    wave = plan_wave([(lgbm, 3, True), (mlp, 3, True), (xgb, 3, True)], cost, remaining=60.0, jobs=1)
    # the whole config first, then the probes, the cheapest kind first (xgboost before a net)
    assert [(a.model.name, a.n_tasks, a.probe) for a in wave] == [("l", 3, False), ("x", 1, True), ("m", 1, True)]
    # a probe is stopped when its one fold leaves no time for the other two: 60 / (1 + 2) on one worker
    assert [a.max_seconds for a in wave] == [None, pytest.approx(20.0), pytest.approx(20.0)]
    assert probe_limit(60.0, 5, 2) == pytest.approx(20.0) and probe_limit(60.0, 1, 2) == pytest.approx(60.0)
    # a kind whose probe was stopped is not started again
    cost.too_slow.add("mlp")
    assert [a.model.name for a in plan_wave([(mlp, 3, True), (xgb, 3, True)], cost, 60.0, jobs=1)] == ["x"]
    cost.too_slow.clear()
    cost.per_unit["mlp"], cost.units["mlp"] = [0.1], [40]  # an epoch: 0.12 s; 3 folds x 40 epochs = 14.4 s
    wave = plan_wave([(mlp, 3, True)], cost, remaining=6.0, jobs=1)
    assert wave[0].model.params["epochs"] == 14 and wave[0].shrunk_from == 40  # 3 x 14 x 0.12 = 5.04 <= 6 x 0.85


def test_without_a_whole_model_the_cheapest_capped_kinds_are_first_measured_on_one_short_fold() -> None:
    """Before anything is whole or measured, a full-size fold of even the cheapest kind may outlast the limit
    (LightGBM, 5 classes, 200,000 rows, 1 thread: > 160 s a fold): the cheapest capped kinds, one per worker, get one
    sizing fold each at SIZING_UNITS (its own content key: the config keeps its size), beside the baseline. The other
    kinds wait: sizing all five of a preset first had left a 60 s limit one linear model."""
    tabm = ModelSpec(name="t", kind="tabm")
    cat = ModelSpec(name="c", kind="catboost")
    lgbm = ModelSpec(name="l", kind="lightgbm")
    lgbm2 = ModelSpec(name="l2", kind="lightgbm", num_boost_round=800)
    linear = ModelSpec(name="lin", kind="linear")
    dummy = ModelSpec(name="baseline", kind="dummy")
    cands = [(dummy, 5, False), (tabm, 5, True), (cat, 5, True), (linear, 5, True), (lgbm2, 5, True), (lgbm, 5, True)]
    wave = plan_wave(cands, CostModel(), remaining=60.0, jobs=2, anchor=True)
    got = [(a.model.name, a.n_tasks, a.probe, a.sizing) for a in wave]
    assert got == [("baseline", 5, False, False), ("l2", 1, True, True), ("c", 1, True, True)]
    assert wave[1].model.num_boost_round == SIZING_UNITS["rounds"] and lgbm2.num_boost_round == 800
    # stopped where even a config of sizing-fold folds could not finish: 60 / (1 + ceil(4 / 2))
    assert wave[1].max_seconds == pytest.approx(20.0)
    assert [a.model.name for a in plan_wave(cands, CostModel(), 60.0, jobs=1, anchor=True)] == ["baseline", "l2"]
    # once a kind is measured, its configs are whole (shortened to the time) and the other capped kinds are sized
    # after them, the cheapest uncapped kind anchoring beside them
    cost = CostModel()
    sized = with_cap(lgbm2, 50)
    cost.observe(sized, FoldResult("l2", "l2-50", 0, 0, 0.5, 50, 80, 20, 1.0, 0.0, "cpu", 1), sizing=True)
    xgb = ModelSpec(name="x", kind="xgboost")  # capped and cheaper than the linear model: sized, never anchored
    wave = plan_wave([*cands[1:], (xgb, 5, True)], cost, remaining=60.0, jobs=2, anchor=True)
    got = [(a.model.name, a.n_tasks, a.sizing) for a in wave]
    assert got == [("lin", 5, False), ("l2", 5, False), ("x", 1, True), ("c", 1, True), ("t", 1, True)]
    assert wave[2].model.num_boost_round == SIZING_UNITS["rounds"] and wave[4].model.params["epochs"] == 2
    # a whole model exists: a capped kind is still measured by a sizing fold, an uncapped one by a full-size probe
    wave = plan_wave(cands, CostModel(), remaining=60.0, jobs=2)
    assert [(a.model.name, a.n_tasks, a.sizing, a.probe) for a in wave] == [
        ("baseline", 5, False, False),
        ("l2", 1, True, True),
        ("lin", 1, False, True),
        ("c", 1, True, True),
        ("t", 1, True, True),
    ]


def test_a_config_whose_sizing_fold_is_stored_runs_at_that_size_on_its_other_folds_when_nothing_longer_fits() -> None:
    """The sizing fold is fold 0 of the config at SIZING_UNITS rounds: where 5 folds of even 50 rounds do not fit the
    time (3 after one another on 2 workers) but the 4 others do (2), that config is started on those 4. Seen at a 60 s
    limit on 200,000 rows: nothing but a linear model was whole, LightGBM at 50 rounds would have scored 0.556."""
    lgbm = ModelSpec(name="l", kind="lightgbm", num_boost_round=1000)
    cost = CostModel()
    cost.observe(with_cap(lgbm, 50), FoldResult("l", "l-50", 0, 0, 0.5, 50, 80, 20, 5.0, 0.0, "cpu", 1), sizing=True)
    # a 50-round fold: 0.1 s x 1.2 x 50 = 6 s; 3 in a row 18 s > 0.85 x 20 s; 2 in a row 12 s fit
    assert plan_wave([(lgbm, 5, True)], cost, remaining=20.0, jobs=2, startup=0.0) == []
    wave = plan_wave([(lgbm, 5, True)], cost, remaining=20.0, jobs=2, startup=0.0, sized={"l"})
    assert [(a.model.num_boost_round, a.n_tasks, a.shrunk_from) for a in wave] == [(SIZING_UNITS["rounds"], 4, 1000)]
    assert wave[0].model == with_cap(lgbm, SIZING_UNITS["rounds"])  # the sizing fold's config: its key
    # the 4 folds run every round, so they keep to 0.85 of the time left: 12 s > 0.85 x 13 s; 12 s <= 0.85 x 14.5 s
    assert plan_wave([(lgbm, 5, True)], cost, remaining=13.0, jobs=2, startup=0.0, sized={"l"}) == []
    assert [a.n_tasks for a in plan_wave([(lgbm, 5, True)], cost, 14.5, jobs=2, startup=0.0, sized={"l"})] == [4]
    # a config of one fold (its sizing fold) has no other folds to start: nothing, rather than a wave of no task
    assert plan_wave([(lgbm, 1, True)], cost, remaining=5.0, jobs=2, startup=0.0, sized={"l"}) == []
    # another config of the kind (its sizing fold is not stored) gets no such start
    other = lgbm.model_copy(update={"name": "l2"})
    assert plan_wave([(other, 5, True)], cost, remaining=20.0, jobs=2, startup=0.0, sized={"l"}) == []
    # with a longer cap that fits, the config runs all its folds at that cap as before; a library's first use in
    # the workers (0.5 s on each) does not make the wave's first config keep to a quarter of the time left
    cost.first_use["lightgbm"] = 0.5
    wave = plan_wave([(lgbm, 5, True)], cost, remaining=40.0, jobs=2, startup=0.0, sized={"l"})
    assert wave[0].n_tasks == 5 and wave[0].model.num_boost_round > 80  # 3 x 0.12 x 93 + 0.5 <= 0.85 x 40


def test_a_later_sizing_fold_is_of_the_config_the_first_wave_would_have_sized() -> None:
    """Once a kind is measured, an unmeasured capped kind is sized after the whole configs by the same config the
    first wave would have taken: the first of the kind with a cap worth sizing (``x``, 1000 rounds), not one of 30
    rounds that comes before it (sized at 50 rounds, more than its own, it left ``x`` no sizing fold to start from)."""
    cost = CostModel()
    lgbm = ModelSpec(name="l", kind="lightgbm", num_boost_round=1000)
    cost.observe(with_cap(lgbm, 50), FoldResult("l", "l-50", 0, 0, 0.5, 50, 80, 20, 5.0, 0.0, "cpu", 1), sizing=True)
    x30 = ModelSpec(name="x30", kind="xgboost", num_boost_round=30)
    x = ModelSpec(name="x", kind="xgboost", num_boost_round=1000)
    cands = [(lgbm, 5, True), (x30, 5, True), (x, 3, True)]  # x's probe limit: 100 / 2 (x30's: 100 / 3)
    for anchor in (True, False):
        wave = plan_wave(cands, cost, remaining=100.0, jobs=2, startup=0.0, anchor=anchor)
        sizing = [a for a in wave if a.sizing]
        assert [a.model for a in sizing] == [with_cap(x, SIZING_UNITS["rounds"])]
        assert sizing[0].max_seconds == pytest.approx(probe_limit(100.0, 3, 2))
    first = plan_wave(cands[1:], CostModel(), remaining=100.0, jobs=2, startup=0.0, anchor=True)
    assert [a.model for a in first] == [with_cap(x, SIZING_UNITS["rounds"])]


def test_once_measured_only_by_sizing_folds_a_kind_is_expected_to_run_its_whole_cap() -> None:
    """A sizing fold ran all its 50 rounds, which says nothing of where early stopping ends: the next wave expects
    a config to run every round of its cap (it packed four shrunk configs into one wave when it expected one round
    each, and two were stopped at the deadline); a kind whose capped kinds are all measured anchors the old way."""
    cost = CostModel()
    lgbm = ModelSpec(name="l", kind="lightgbm", num_boost_round=1000)
    xt = ModelSpec(name="x", kind="lightgbm_xt", num_boost_round=1000)
    linear = ModelSpec(name="lin", kind="linear")
    sized = [with_cap(lgbm, 50), with_cap(xt, 50)]
    folds = [(m, FoldResult(m.name, f"{m.name}-50", 0, 0, 0.5, 50, 80, 20, 5.0, 0.0, "cpu", 1)) for m in sized]
    cost.observe_wave(10.0, folds, jobs=2, fresh=True, sizing=frozenset(f"{m.name}-50" for m in sized))
    assert cost.most_units("lightgbm") is None and cost.knows("lightgbm")
    # a fold: 0.1 s a round x 1.2 x 1000 rounds, expected as well as at worst
    assert cost.fold_cost(lgbm) == pytest.approx((120.0, 120.0))
    wave = plan_wave([(lgbm, 5, True), (xt, 5, True), (linear, 5, True)], cost, remaining=300.0, jobs=2, anchor=True)
    # linear (uncapped, unmeasured) anchors with all its folds; lgbm is cut to what fits; xt does not fit beside it
    assert [(a.model.name, a.n_tasks) for a in wave[:2]] == [("lin", 5), ("l", 5)]
    # (300 s - the wave's 5 s beyond its tasks) x 0.85 / (3 folds on the busier worker x 0.12 s a round) = 696
    assert wave[1].shrunk_from == 1000 and wave[1].model.num_boost_round == 696
    assert "x" not in [a.model.name for a in wave]


def test_two_models_of_one_kind_on_differently_priced_pipelines_get_their_own_costs() -> None:
    """Preset 'best''s ``lgbm_ar`` (lightgbm_xt on the arithmetic pairs) runs about twice as long a round as
    ``lgbm_xt`` (the same kind on the base encoding); one per-kind cost had predicted the dearer one at the cheaper
    one's price (and the reverse), so a wave planned from it overran. Each is predicted from its own folds, and a
    kind on a pipeline not yet measured is sized again rather than priced as the kind's other models."""
    cost = CostModel()
    xt = ModelSpec(name="lgbm_xt", kind="lightgbm_xt", num_boost_round=100, early_stopping_rounds=0)
    ar = xt.model_copy(update={"name": "lgbm_ar", "pipeline": "arithmetic"})
    wide = xt.model_copy(update={"name": "lgbm_wide", "pipeline": "wide"})

    def fold(m: ModelSpec, seconds: float) -> FoldResult:
        return FoldResult(m.name, m.name, 0, 0, 0.5, 100, 80, 20, seconds, 0.0, "cpu", 1)

    cost.observe_wave(3.0, [(xt, fold(xt, 1.0)), (ar, fold(ar, 2.0))], jobs=1, fresh=False)
    # 100 rounds a fold: 0.01 s (xt) and 0.02 s (ar) a round, x 1.2
    assert cost.fold_cost(xt) == pytest.approx((1.2, 1.2))
    assert cost.fold_cost(ar) == pytest.approx((2.4, 2.4))
    wave = plan_wave([(wide, 3, True)], cost, remaining=100.0, jobs=1, startup=0.0)
    assert [(a.model.name, a.probe) for a in wave] == [("lgbm_wide", True)]  # measured first, not priced as xt


def test_a_librarys_import_is_not_a_folds_cost() -> None:
    """The first fold of a kind in a worker imports its library (``import lightgbm``: 2 s under load); that fold,
    the kind's only measure, had priced every fold of it at 2 s beyond its fit, so nothing fitted in the time left."""
    cost = CostModel()
    m = ModelSpec(name="l", kind="lightgbm", num_boost_round=100, early_stopping_rounds=0)
    first = FoldResult("l", "k", 0, 0, 0.5, 100, 80, 20, 0.04, 0.01, "cpu", 1, task_seconds=2.06, import_seconds=2.0)
    cost.observe_wave(2.1, [(m, first)], jobs=1, fresh=True)
    expected, _ = cost.fold_cost(m)
    assert expected == pytest.approx((0.01 + 0.05) * 1.2)  # the rest of its task, and its 100 rounds


@pytest.mark.slow  # an end-to-end run: CI runs it, `make test-fast` leaves it out
def test_a_time_limited_search_ends_within_the_limit_and_ranks_only_whole_configs(
    demo_data: Path, tmp_path: Path
) -> None:
    limit = 14.0
    spec = _spec(demo_data, _search(400))  # 800 configs: far more than 14 s allows, even on an idle machine
    config = tmp_path / "search.toml"
    config.write_text(spec.to_toml())
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "kaggle_kit.cli", "search", str(config), "--runs-root", str(runs)]
    start = time.monotonic()
    proc = subprocess.run([*cmd, "--time-limit", str(limit)], capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the command itself ends within 5 % of the limit; the margin on top covers starting Python on a loaded machine
    assert wall <= limit * 1.05 + 3.0, proc.stdout[-3000:]
    run_dir = runs / spec.run_name
    meta = RunStore(run_dir).read_meta()
    assert meta["time_limit"]["limit_s"] == pytest.approx(limit, rel=0.2)
    assert len(meta["search"]["configs"]) < 800  # the limit stopped it: not every config was started
    assert "time limit" in proc.stdout
    # the command also selected an ensemble over every config and submitted the verdict's pick, inside the limit
    assert "submission (" in proc.stdout and list((run_dir / "submissions").glob("*.csv"))
    ranked = leaderboard(run_dir)
    assert len(ranked) >= 3
    for r in ranked:  # every ranked config has all its folds
        assert r.status == "ok" and len(r.fold_scores) == 3, r
    for name in meta["time_limit"]["incomplete"]:
        assert RunStore(run_dir).read_summary(name).status == "incomplete"
        assert name not in {r.name for r in ranked}


@pytest.mark.slow
def test_time_left_over_goes_to_seed_bags_of_the_best_configs(demo_data: Path, tmp_path: Path) -> None:
    search = _search(2, families=("lightgbm",))
    result = run(_spec(demo_data, search), runs_root=tmp_path, time_limit=120, progress=None, record_history=False)
    meta = RunStore(result.run_dir).read_meta()
    bags = meta["bags"]
    assert set(bags) == {"lightgbm_c000", "lightgbm_c001"}  # the best configs (both, with 2 of them)
    for config, bag in bags.items():
        assert bag["models"] == [config] + [f"{config}_s{s}" for s in range(43, 47)]
        assert bag["seeds"] == [42, 43, 44, 45, 46]
        for name in bag["models"]:
            assert meta["models"][name] and RunStore(result.run_dir).read_summary(name).status == "ok"
    # another seed, another model: same params, other OOF (LightGBM's row and column sampling follow the seed)
    assert not np.array_equal(_oof(result.run_dir, "lightgbm_c001"), _oof(result.run_dir, "lightgbm_c001_s43"))
    assert result.models[-1].name.startswith("lightgbm_c") and "_s" in result.models[-1].name
    assert any("seed bag" in note for note in result.notes)
    assert meta["time_limit"]["used_s"] < 120  # bags stop after their rounds, long before the limit


def test_a_model_seed_changes_the_fit_and_the_key(demo_data: Path, tmp_path: Path) -> None:
    lgbm = {"name": "lgbm", "kind": "lightgbm", **FAST}
    spec = demo_spec("demo-breast-cancer", demo_data, run=SEQUENTIAL, folds=FOLDS, models=[lgbm])
    a = run(spec, runs_root=tmp_path / "a", progress=None, record_history=False)
    seeded = demo_spec("demo-breast-cancer", demo_data, run=SEQUENTIAL, folds=FOLDS, models=[{**lgbm, "seed": 42}])
    b = run(seeded, runs_root=tmp_path / "b", progress=None, record_history=False)
    np.testing.assert_array_equal(_oof(a.run_dir, "lgbm"), _oof(b.run_dir, "lgbm"))  # seed 42 = the spec's
    assert RunStore(a.run_dir).current_models()["lgbm"] != RunStore(b.run_dir).current_models()["lgbm"]


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("search", "match"),
    [
        ({"families": ["lightgmb"]}, r"search.families: unknown family 'lightgmb'.*Did you mean 'lightgbm'\?"),
        ({"families": []}, r"search.families"),
        ({"families": ["xgboost", "xgboost"]}, r"lists 'xgboost' more than once"),
        ({"families": ["xgboost"], "n_configs": 0}, r"search.n_configs: must be a whole number from 1 to 1000"),
        ({"families": ["xgboost"], "n_configs": "many"}, r"got 'many'"),
        ({"families": ["xgboost"], "n_configs": {"lightgbm": 3}}, r"names 'lightgbm', which is not in search.families"),
        ({"families": ["xgboost"], "sampler": "tpx"}, r"search.sampler must be one of.*Did you mean 'tpe'\?"),
        ({"families": ["xgboost"], "overrides": {"xgboost": {"rounds": 5}}}, r"overrides.xgboost.rounds is not a"),
        ({"families": ["xgboost"], "overrides": {"xgboost": {"pipeline": "nn"}}}, r"'nn': the spec declares no pipel"),
        # a bad override's value: a TypeError's traceback (params = 5) or pydantic's own text once the search started
        ({"families": ["lightgbm"], "overrides": {"lightgbm": {"params": 5}}}, r"overrides.lightgbm.params must be a"),
        (
            {"families": ["lightgbm"], "overrides": {"lightgbm": {"num_boost_round": 0}}},
            r"overrides\.lightgbm\.num_boost_round must be at least 1; got 0",
        ),
        (
            {"families": ["xgboost"], "overrides": {"xgboost": {"early_stopping_rounds": "x"}}},
            r"overrides\.xgboost\.early_stopping_rounds: must be a whole number .*; got 'x'",
        ),
    ],
)
def test_bad_search_specs_are_config_errors(search: dict, match: str) -> None:
    raw = {
        "name": "x",
        "task": "binary",
        "metric": "roc_auc",
        "data": {"train": "train.csv", "target": "y"},
        "search": search,
    }
    with pytest.raises(ConfigError, match=match):
        build_spec(raw)


def test_a_family_whose_kind_is_not_registered_is_a_config_error(demo_data: Path, tmp_path: Path) -> None:
    from kaggle_kit.models import ADAPTERS

    if "catboost" in ADAPTERS:
        pytest.skip("catboost is registered in this installation")
    spec = _spec(demo_data, _search(2, families=("catboost",)))
    with pytest.raises(ConfigError, match=r"search family 'catboost' runs as model kind 'catboost', which this"):
        run(spec, runs_root=tmp_path, progress=None, record_history=False)


@pytest.mark.slow
def test_a_config_a_time_limit_shortened_is_resumed_not_refitted(demo_data: Path, tmp_path: Path) -> None:
    # a first run fitted lightgbm_c001 with 12 rounds; as if a time limit had shortened it from 30 (which raises its
    # learning rate 30 / 12 times: 0.04 -> 0.1)
    short = {**FAST, "params": {"learning_rate": 0.1}}
    search = {**_search(2, families=("lightgbm",)), "overrides": {"lightgbm": short}}
    first = run(_spec(demo_data, search), runs_root=tmp_path, progress=None)
    store = RunStore(first.run_dir)
    before = store.current_models()
    key12 = before["lightgbm_c001"]
    stamps = _fold_stamps(first.run_dir)
    meta = store.read_meta()
    meta["time_limit"] = {"shortened": {"lightgbm_c001": {"from": 30, "to": 12}}}
    store.write_meta(meta)

    longer = {**FAST, "num_boost_round": 30, "params": {"learning_rate": 0.04}}
    spec = _spec(demo_data, {**_search(2, families=("lightgbm",)), "overrides": {"lightgbm": longer}})
    again = run(spec, runs_root=tmp_path, time_limit=120, progress=None, record_history=False)
    after = RunStore(again.run_dir).read_meta()
    assert after["models"]["lightgbm_c001"] == key12  # its 12-round folds, resumed
    assert after["time_limit"]["shortened"]["lightgbm_c001"] == {"from": 30, "to": 12}
    assert after["models"]["lightgbm_c000"] != before["lightgbm_c000"]  # not shortened before: 30 rounds, refitted
    assert all(_fold_stamps(first.run_dir)[p] == s for p, s in stamps.items())
    without_limit = run(spec, runs_root=tmp_path, progress=None, record_history=False)  # no limit: full size
    assert RunStore(without_limit.run_dir).read_meta()["models"]["lightgbm_c001"] != key12


def test_extra_models_are_models_of_the_run(demo_data: Path, tmp_path: Path) -> None:
    lgbm = {"name": "lgbm", "kind": "lightgbm", **FAST}
    spec = demo_spec("demo-breast-cancer", demo_data, run=SEQUENTIAL, folds=FOLDS, models=[lgbm])
    extra = ModelSpec(name="lgbm_wide", kind="lightgbm", num_boost_round=12, params={"num_leaves": 63})
    result = run(spec, runs_root=tmp_path, extra_models=[extra], progress=None, record_history=False)
    assert [m.name for m in result.models] == ["baseline", "lgbm", "lgbm_wide"] and result.fitted == 9
    assert list(RunStore(result.run_dir).current_models()) == ["baseline", "lgbm", "lgbm_wide"]
    with pytest.raises(ConfigError, match=r"extra_models: 'lgbm' is the name of another model of the run"):
        run(spec, runs_root=tmp_path, extra_models=[ModelSpec(name="lgbm", kind="xgboost")], progress=None)


def test_sampled_configs_are_valid_models_of_their_kind() -> None:
    """Every sampled config of a family whose kind is here passes its adapter's own parameter checks (the mlp's
    schema, the GBDTs' reserved keys), so a search never fails on a name or a type it made up."""
    from kaggle_kit.metrics import get_metric
    from kaggle_kit.models import ADAPTERS, FitContext, make_adapter
    from kaggle_kit.runtime.search.plan import build_model

    ctx = FitContext("binary", 2, get_metric("roc_auc"), 0, "cpu", threads=1)
    families = [f for f in SPACES if SPACES[f].kind in ADAPTERS]
    assert {"lightgbm", "xgboost", "mlp"} <= set(families)
    search = SearchSpec(families=families, n_configs=30)
    for family in families:
        for index in range(30):
            params = {} if index == 0 else sample_params(SPACES[family], seed=3, index=index)
            model = build_model(search, family, index, params)
            assert model.name == f"{family}_c{index:03d}" and model.kind == SPACES[family].kind
            make_adapter(model).check(ctx)


@pytest.mark.slow
def test_a_time_limit_that_leaves_no_whole_model_fails_the_command(demo_data: Path, tmp_path: Path) -> None:
    """Nothing to blend or submit is a failure of what the user asked for: exit 1 with the fix, never exit 0."""
    spec = _spec(demo_data, _search(2, families=("lightgbm",)))
    config = tmp_path / "search.toml"
    config.write_text(spec.to_toml())
    cmd = [sys.executable, "-m", "kaggle_kit.cli", "search", str(config), "--runs-root", str(tmp_path / "runs")]
    proc = subprocess.run([*cmd, "--time-limit", "2.5"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "error: the time limit left no model with all its folds" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_boosting_config_cut_short_learns_faster() -> None:
    """Cut from 5,000 to 200 rounds, LightGBM's learning rate goes from its default 0.05 to 0.2 (at most 4x; measured
    on 160,000 rows: 0.554 -> 0.498 validation log loss); a user's rate is scaled under the alias they wrote; a cut
    from 300 rounds is scaled by 300 / 200; no cut below 800 rounds, no change; nets' epochs keep their params."""
    from kaggle_kit.models.catboost_adapter import DEFAULTS as CATBOOST
    from kaggle_kit.models.lightgbm_adapter import DEFAULTS as LIGHTGBM
    from kaggle_kit.models.xgboost_adapter import DEFAULTS as XGBOOST
    from kaggle_kit.runtime.search.budget import DEFAULT_LEARNING_RATE

    rates = {LIGHTGBM["lightgbm"]["learning_rate"], LIGHTGBM["lightgbm_xt"]["learning_rate"]}
    assert rates | {XGBOOST["learning_rate"], CATBOOST["learning_rate"]} == {DEFAULT_LEARNING_RATE}
    lgbm = ModelSpec(name="l", kind="lightgbm", num_boost_round=5000)
    assert with_cap(lgbm, 200).params == {"learning_rate": 0.2}
    assert with_cap(lgbm, 50).params == {"learning_rate": 0.2}  # at most 4x
    assert with_cap(lgbm, 400).params == {"learning_rate": 0.1}
    assert with_cap(lgbm, 900).params == {}
    xgb = ModelSpec(name="x", kind="xgboost", num_boost_round=5000, params={"eta": 0.1, "max_depth": 4})
    assert with_cap(xgb, 400).params == {"eta": 0.2, "max_depth": 4}
    short = ModelSpec(name="s", kind="lightgbm", num_boost_round=300, params={"learning_rate": 0.1})
    assert with_cap(short, 200).params == {"learning_rate": pytest.approx(0.15)}
    mlp = ModelSpec(name="m", kind="mlp", params={"epochs": 40, "lr": 0.001})
    assert with_cap(mlp, 10).params == {"epochs": 10, "lr": 0.001}


def test_a_cut_kind_of_a_users_family_gets_no_learning_rate_it_did_not_have(monkeypatch: pytest.MonkeyPatch) -> None:
    """A family a user registers with ``budget="rounds"`` may run as a kind without a ``learning_rate`` parameter
    (its adapter would reject one it did not know): cut short, its rounds change and its params stay as they were;
    a rate the user gave it by one of the names is still scaled."""
    from kaggle_kit.runtime.search.spaces import Space

    space = Space(family="my_rounds", kind="random_forest", params={}, budget="rounds")
    monkeypatch.setitem(SPACES, "my_rounds", space)
    model = ModelSpec(name="r", kind="random_forest", num_boost_round=2000, params={"max_depth": 6})
    cut = with_cap(model, 100)
    assert cut.num_boost_round == 100 and cut.params == {"max_depth": 6}
    given = ModelSpec(name="r", kind="random_forest", num_boost_round=2000, params={"learning_rate": 0.1})
    assert with_cap(given, 100).params == {"learning_rate": 0.4}


def test_beside_sized_configs_only_a_cheap_kind_without_a_cap_anchors_with_all_its_folds() -> None:
    """Once the sizing folds have measured LightGBM, a random forest (no cap, unmeasured) is probed with one fold
    stopped at its probe limit, not started with all five at full size ahead of the sized LightGBM (which could
    again leave nothing whole on a large table); a linear model still anchors; with nothing measured, so does a
    forest (nothing else could be whole)."""
    cost = CostModel()
    lgbm = ModelSpec(name="l", kind="lightgbm", num_boost_round=1000)
    rf = ModelSpec(name="rf", kind="random_forest")
    linear = ModelSpec(name="lin", kind="linear")
    sized = with_cap(lgbm, 50)
    fold = FoldResult("l", "l-50", 0, 0, 0.5, 50, 80, 20, 5.0, 0.0, "cpu", 1)
    cost.observe_wave(10.0, [(sized, fold)], jobs=2, fresh=True, sizing=frozenset({"l-50"}))
    wave = plan_wave([(rf, 5, True), (lgbm, 5, True)], cost, remaining=170.0, jobs=2, anchor=True)
    got = {a.model.name: (a.n_tasks, a.probe, a.max_seconds) for a in wave}
    assert got["rf"] == (1, True, pytest.approx(probe_limit(170.0 - 5.0, 5, 2)))
    assert got["l"][:2] == (5, False)
    wave = plan_wave([(linear, 5, True), (lgbm, 5, True)], cost, remaining=170.0, jobs=2, anchor=True)
    assert (wave[0].model.name, wave[0].n_tasks, wave[0].probe) == ("lin", 5, False)
    wave = plan_wave([(rf, 5, True)], CostModel(), remaining=170.0, jobs=2, anchor=True)
    assert [(a.model.name, a.n_tasks) for a in wave] == [("rf", 5)]


def test_a_resumed_sizing_fold_measures_the_kind_but_not_where_its_early_stopping_ends() -> None:
    """CostModel.observe of a sizing fold found in the store (a resumed run): its seconds a round count, its 50
    rounds do not bound the config's expected rounds; a full-size fold's do."""
    lgbm = ModelSpec(name="l", kind="lightgbm", num_boost_round=1000, early_stopping_rounds=20)
    fold = FoldResult("l", "l-50", 0, 0, 0.5, 50, 80, 20, 5.0, 0.0, "cpu", 1)
    cost = CostModel()
    cost.observe(with_cap(lgbm, 50), fold, sizing=True)
    assert cost.knows("lightgbm") and cost.most_units("lightgbm") is None
    assert cost.fold_cost(lgbm)[0] == pytest.approx(0.1 * 1.2 * 1000)  # the whole cap expected
    cost.observe(lgbm, FoldResult("l", "l-1000", 0, 1, 0.5, 300, 80, 20, 32.0, 0.0, "cpu", 1))
    assert cost.most_units("lightgbm") == 320  # 300 kept rounds + 20 of patience


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def remaining(self) -> float:
        return self.seconds


class _Session:
    """What the driver's planning asks of a run session: 5 folds per model, the stored (name, key, fold) ones done."""

    jobs, pool = 2, None

    def __init__(self, stored: dict[tuple[str, str, int], FoldResult]) -> None:
        self.stored = stored
        self.store = type("Store", (), {"exists": staticmethod(lambda: False)})()

    def key(self, model: ModelSpec) -> str:
        return model.model_dump_json()

    def tasks(self, model: ModelSpec):  # type: ignore[no-untyped-def]
        from kaggle_kit.runtime.executors import Task

        key = self.key(model)
        todo = [Task(model, key, 0, k) for k in range(5) if (model.name, key, k) not in self.stored]
        return todo, [self.stored[(model.name, key, k)] for k in range(5) if (model.name, key, k) in self.stored]


def test_a_sizing_fold_found_in_the_store_replans_the_wave_before_any_config_is_shortened() -> None:
    """A resumed run finds ``x``'s sizing fold stored: the wave is planned again with xgboost measured. The first
    plan had shortened ``l`` (LightGBM), which the second leaves out of the wave (``x`` takes the time first): ``l``
    keeps its full size and is not recorded as shortened (it was left at the first plan's cap, and a later wave
    would have cut it again from there, compounding its learning rate and a key a resumed run cannot find)."""
    from kaggle_kit.runtime.search.driver import Item, _State

    x = ModelSpec(name="x", kind="xgboost", num_boost_round=1000)
    lgbm = ModelSpec(name="l", kind="lightgbm", num_boost_round=1000)
    small_x = with_cap(x, SIZING_UNITS["rounds"])
    key = small_x.model_dump_json()
    session = _Session({("x", key, 0): FoldResult("x", key, 0, 0, 0.5, 50, 80, 20, 5.0, 0.0, "cpu", 1)})
    state = _State(session, None, ())  # type: ignore[arg-type]
    state.budget = _Budget(40.0)  # type: ignore[assignment]
    state.cost.observe(with_cap(lgbm, 50), FoldResult("l", "k", 0, 0, 0.5, 50, 80, 20, 5.0, 0.0, "cpu", 1), sizing=True)
    queue = [Item(x), Item(lgbm)]
    for item in queue:
        item.todo = session.tasks(item.model)[0]
    wave = state.plan(queue)
    assert [(item.model.name, n) for item, n in wave] == [("x", 5)]
    cut = wave[0][0].model.num_boost_round
    assert cut < 1000 and state.shrunk == {"x": (1000, cut)} and "x" in state.sized
    assert queue[1].model == lgbm


def test_the_time_limit_note_names_the_models_it_left_out(tmp_path: Path) -> None:
    """It said "3 model(s) not started", counting seed bags the spec never asked for, and named none: a model of the
    spec left out is missing from the leaderboard, so the note names it."""
    rng = np.random.default_rng(0)
    train = pl.DataFrame({"id": np.arange(60), "x": rng.normal(size=60), "y": rng.integers(0, 2, 60)})
    logreg = {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
    spec = build_spec(
        {
            "name": "cut",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "t.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 2},
            "run": SEQUENTIAL,
            "models": [{"name": "lr_a", **logreg}, {"name": "lr_b", **logreg}],
        }
    )
    cut = run(spec, runs_root=tmp_path, train=train, time_limit=0.01, progress=None, record_history=False)
    (note,) = [n for n in cut.notes if n.startswith("time limit")]
    assert "3 model(s) not started (baseline, lr_a, lr_b)" in note and "seed bag" not in note
    assert "no fold could start: the limit had gone to what comes before the fits" in note  # not to the models


def test_a_plain_run_after_a_search_names_the_configs_it_no_longer_lists(tmp_path: Path) -> None:
    """A search's configs (here an extra model) are models of the command that fitted them; a later plain run drops
    them from run.json, and so from the leaderboard, blends and submissions. It had said nothing."""
    rng = np.random.default_rng(0)
    train = pl.DataFrame({"id": np.arange(60), "x": rng.normal(size=60), "y": rng.integers(0, 2, 60)})
    logreg = {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
    raw = {
        "name": "dropped",
        "task": "binary",
        "metric": "roc_auc",
        "data": {"train": "t.csv", "id": "id", "target": "y"},
        "folds": {"n_splits": 2},
        "run": SEQUENTIAL,
        "models": [{"name": "lr", **logreg}],
    }
    spec, extra = build_spec(raw), ModelSpec(name="lr_c000", params={"C": 0.1}, **logreg)
    kwargs = {"runs_root": tmp_path, "train": train, "progress": None, "record_history": False}
    first = run(spec, extra_models=[extra], **kwargs)
    assert not any("not models of this one" in n for n in first.notes)
    again = run(spec, **kwargs)
    assert again.reused == 4 and [m.name for m in again.models] == ["baseline", "lr"]
    (note,) = [n for n in again.notes if "not models of this one" in n]
    assert note.startswith("1 model(s) of the run folder's last command are not models of this one: lr_c000.")
    assert not any("not models of this one" in n for n in run(spec, **kwargs).notes)  # said once


def test_a_pipeline_read_by_an_extra_model_is_not_warned_of_as_unused(tmp_path: Path) -> None:
    """run(extra_models=...) in Python: a model reading the declared pipeline had been met by "declared but no model
    reads them" (the check saw the spec's models only); one read by no model is still warned of."""
    import warnings

    rng = np.random.default_rng(0)
    train = pl.DataFrame({"id": np.arange(40), "x": rng.normal(size=40), "y": rng.integers(0, 2, 40)})
    logreg = {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}
    spec = build_spec(
        {
            "name": "piped",
            "task": "binary",
            "metric": "roc_auc",
            "data": {"train": "t.csv", "id": "id", "target": "y"},
            "folds": {"n_splits": 2},
            "run": SEQUENTIAL,
            "pipelines": {"scaled": {"steps": [{"step": "standardize", "columns": "numeric"}]}},
            "models": [{"name": "lr", **logreg}],
        }
    )
    kwargs = {"runs_root": tmp_path, "train": train, "progress": None, "record_history": False}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(spec, extra_models=[ModelSpec(name="lr_scaled", pipeline="scaled", **logreg)], **kwargs)
    assert not [w for w in caught if "declared but no model reads" in str(w.message)]
    with pytest.warns(UserWarning, match=r"pipeline\(s\) 'scaled' are declared but no model reads them"):
        run(spec, **kwargs)


def _tiny(name: str, models: list[dict], n: int = 60, **over: object) -> tuple:
    """A spec of ``models`` on a table of ``n`` rows (one feature), and that table."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    train = pl.DataFrame({"id": np.arange(n), "x": x, "y": (x + rng.normal(size=n) > 0).astype(int)})
    raw = {
        "name": name,
        "task": "binary",
        "metric": "roc_auc",
        "data": {"train": "t.csv", "id": "id", "target": "y"},
        "folds": {"n_splits": 2},
        "run": SEQUENTIAL,
        "models": models,
        **over,
    }
    return build_spec(raw), train


LOGREG = {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}


@pytest.mark.parametrize("limit", [float("inf"), float("nan"), 0, -3.0, True])
def test_run_rejects_a_time_limit_that_is_not_finite_seconds(limit: float, tmp_path: Path) -> None:
    """``run(spec, time_limit=inf)``: a budget all NaN, every fold stopped as it started, a call that never ended."""
    spec, train = _tiny("no_end", [{"name": "lr", **LOGREG}])
    with pytest.raises(ConfigError, match=r"time_limit\) takes seconds, a finite number more than 0; got"):
        run(spec, runs_root=tmp_path, train=train, time_limit=limit, progress=None, record_history=False)
    assert not (tmp_path / "no_end").exists()  # before the run folder


def test_a_time_limited_run_with_one_job_says_why_it_fits_in_a_worker_process(tmp_path: Path) -> None:
    """n_jobs = 1 runs in this process, except under a time limit: only a worker can be ended to stop a fold at the
    deadline. The line had said "a local process pool" for one job, as if n_jobs had been ignored."""
    spec, train = _tiny("one_job", [{"name": "lr", **LOGREG}])
    lines: list[str] = []
    run(spec, runs_root=tmp_path, train=train, time_limit=60, progress=lines.append, record_history=False)
    (line,) = [x for x in lines if x.startswith("fitting ")]
    assert "1 worker(s)" in line and "(one worker process: the time limit stops a fold still running at" in line
