"""Same config, same OOF; a rerun reuses exactly the folds whose predictions cannot have changed.

Tiny tables written to tmp_path, every run in this process (``n_jobs=1``) unless a test says otherwise: each test
names the spec change it makes and whether that change must refit (its stored predictions would be wrong to reuse)
or must not (a cosmetic change)."""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from kaggle_kit import run
from kaggle_kit.config import ModelSpec, build_spec
from kaggle_kit.errors import ConfigError
from kaggle_kit.models.files import file_digest
from kaggle_kit.runtime.store import FoldResult, RunStore
from kaggle_kit.runtime.threads import MachineLoad

SEQUENTIAL = {"n_jobs": 1, "threads_per_task": 1}


def _competition(tmp_path: Path, n: int = 150) -> dict[str, Any]:
    """A binary task of text labels ('no' / 'yes'), 3 folds, one linear model: its raw spec."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    y = np.where(x[:, 0] + rng.normal(size=n) > 0, "yes", "no")
    frame = pl.DataFrame({"id": range(n), "a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})
    frame[: n - 30].write_csv(tmp_path / "train.csv")
    frame[n - 30 :].drop("y").write_csv(tmp_path / "test.csv")
    return {
        "name": "det",
        "task": "binary",
        "metric": "log_loss",
        "data": {"train": "train.csv", "test": "test.csv", "id": "id", "target": "y"},
        "folds": {"n_splits": 3},
        "run": SEQUENTIAL,
        "models": [{"name": "logreg", "kind": "linear"}],
    }


def _run(raw: dict[str, Any], tmp_path: Path, runs: str = "runs"):
    return run(build_spec(copy.deepcopy(raw), base_dir=tmp_path), runs_root=tmp_path / runs, progress=None)


def _oof(run_dir: Path, model: str) -> pl.DataFrame:
    return RunStore(run_dir).read_predictions(model, "oof")


def _fold_dir(run_dir: Path, model: str, fold: int) -> Path:
    store = RunStore(run_dir)
    return store.fold_dir(model, store.current_models()[model], 0, fold)


def _fold_results(run_dir: Path, model: str) -> list[FoldResult]:
    store = RunStore(run_dir)
    key = store.current_models()[model]
    return [store.finished(model, key, 0, k) for k in range(3)]  # type: ignore[misc]


def test_reordered_classes_refit_and_give_a_fresh_runs_predictions(tmp_path: Path) -> None:
    """data.classes = ['yes', 'no'] swaps the class codes: the folds stored under the old order predicted the other
    class in each column (they were reused: CV 1.2 instead of 0.56, a submission of flipped probabilities)."""
    raw = _competition(tmp_path)
    _run(raw, tmp_path)
    raw["data"]["classes"] = ["no", "yes"]  # the order the labels have anyway: nothing changes
    assert _run(raw, tmp_path).fitted == 0
    raw["data"]["classes"] = ["yes", "no"]
    swapped = _run(raw, tmp_path)
    assert swapped.fitted == 6  # (baseline + logreg) x 3 folds
    fresh = _run(raw, tmp_path, runs="fresh")
    for model in ("baseline", "logreg"):
        assert _oof(swapped.run_dir, model).equals(_oof(fresh.run_dir, model))
    assert [m.cv for m in swapped.models] == [m.cv for m in fresh.models]


def _load(monkeypatch: pytest.MonkeyPatch, others: float) -> None:
    """The machine as the thread rule sees it: 2 cores, ``others`` of them kept busy by other processes."""
    import kaggle_kit.runtime.executors as executors
    import kaggle_kit.runtime.runner as runner

    def load(workers: object = (), *, wait: bool = True) -> MachineLoad:
        return MachineLoad(cores=2, load=others, own=0.0)

    monkeypatch.setattr(runner, "machine_load", load)
    monkeypatch.setattr(executors, "machine_load", load)
    monkeypatch.setattr(runner, "cpu_count", lambda: 2)


def test_a_net_resumed_on_an_idle_machine_keeps_its_folds_thread_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run on a busy machine fits the net's folds on 1 thread; killed before its last fold and resumed when the
    machine is idle, the last fold had 2 threads (a torch net's CPU sums split otherwise): its OOF rows differed
    from the uninterrupted run's. A resumed model's folds take the thread count its finished folds were fitted
    with."""
    raw = _competition(tmp_path)
    raw["run"] = {"n_jobs": 1}  # threads: the load-aware rule
    raw["models"] = [{"name": "net", "kind": "mlp", "params": {"epochs": 3}}]
    _load(monkeypatch, others=1.0)  # busy: 1 core left
    whole = _run(raw, tmp_path, runs="whole")
    assert {f.threads for f in _fold_results(whole.run_dir, "net")} == {1}
    killed = _run(raw, tmp_path)
    shutil.rmtree(_fold_dir(killed.run_dir, "net", 2))  # as if killed before its third fold was written
    _load(monkeypatch, others=0.0)  # idle: 2 cores
    resumed = _run(raw, tmp_path)
    assert resumed.fitted == 1
    assert {f.threads for f in _fold_results(resumed.run_dir, "net")} == {1}
    assert _oof(resumed.run_dir, "net").equals(_oof(whole.run_dir, "net"))
    assert not _oof(_run(raw, tmp_path, runs="idle").run_dir, "net").equals(_oof(whole.run_dir, "net"))  # 2 threads


@pytest.mark.slow  # worker processes importing torch: CI runs it, `make test-fast` leaves it out
def test_a_net_resumed_in_a_worker_pool_with_more_threads_asked_keeps_its_folds_count(tmp_path: Path) -> None:
    """The same in the process pool, where the count reaches the worker through the task (and a resumed run that
    asks run.threads_per_task = 2 still fits a net whose finished folds had 1 thread on 1)."""
    raw = _competition(tmp_path)
    raw["models"] = [{"name": "net", "kind": "mlp", "params": {"epochs": 3}}]
    whole = _run(raw, tmp_path, runs="whole")  # 1 thread
    killed = _run(raw, tmp_path)
    for fold in (1, 2):
        shutil.rmtree(_fold_dir(killed.run_dir, "net", fold))
    raw["run"] = {"n_jobs": 2, "threads_per_task": 2}
    resumed = _run(raw, tmp_path)
    assert resumed.fitted == 2
    assert {f.threads for f in _fold_results(resumed.run_dir, "net")} == {1}
    assert _oof(resumed.run_dir, "net").equals(_oof(whole.run_dir, "net"))


def test_a_weights_file_rewritten_in_place_under_its_old_modification_time_is_hashed_again(tmp_path: Path) -> None:
    """A checkpoint replaced by another of the same size whose modification time was set back (``cp -p``, ``touch
    -r``, an archive's extraction) kept the first one's digest in this process: the model's key did not change and
    a rerun in the same notebook reused the folds fitted on the old weights."""
    weights = tmp_path / "backbone.pth"
    weights.write_bytes(b"A" * 64)
    first = file_digest(weights, model="net", key="pretrained")
    stat = weights.stat()
    time.sleep(0.05)  # past the file system's clock tick: the rewrite's change time is another
    weights.write_bytes(b"B" * 64)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert weights.stat().st_mtime_ns == stat.st_mtime_ns and weights.stat().st_size == stat.st_size
    assert first == hashlib.sha256(b"A" * 64).hexdigest()
    assert file_digest(weights, model="net", key="pretrained") == hashlib.sha256(b"B" * 64).hexdigest()


@pytest.mark.slow  # two 13-config searches, one in worker processes: CI runs it, `make test-fast` leaves it out
def test_a_tpe_search_asks_the_same_configs_at_any_worker_count(tmp_path: Path) -> None:
    """TPE was asked a batch of the worker count at a time, each batch's configs before any of them was told: at
    ``n_jobs`` 2 its 11th config was asked with the 10th still pending (so still at random), at 1 of TPE's model: other
    configs, other OOF, from one seed and spec (on a Kaggle notebook's 4 cores unlike a laptop's 8). The batch is
    ``search.batch`` now."""
    pytest.importorskip("optuna")
    raw = _competition(tmp_path, n=200)
    raw["models"] = []
    raw["search"] = {
        "families": ["lightgbm"],
        "n_configs": 13,
        "sampler": "tpe",
        "overrides": {"lightgbm": {"num_boost_round": 10, "early_stopping_rounds": 0}},
    }
    one = _run(raw, tmp_path, runs="one")
    raw["run"] = {"n_jobs": 2, "threads_per_task": 1}
    two = _run(raw, tmp_path, runs="two")
    configs = [RunStore(r.run_dir).read_meta()["search"]["configs"] for r in (one, two)]
    assert len(configs[0]) == 13 and configs[0] == configs[1]
    for name in configs[0]:
        assert _oof(one.run_dir, name).equals(_oof(two.run_dir, name))


def test_a_train_file_edited_in_place_under_its_old_size_and_time_refits(tmp_path: Path) -> None:
    """The data's fingerprint hashes the rows read, not the file's size and modification time: one value changed to
    another of as many characters, the time set back, refits every model (and a cosmetic change, the models' order
    or a comment, refits none)."""
    raw = _competition(tmp_path)
    raw["models"] = [{"name": "logreg", "kind": "linear"}, {"name": "ridge", "kind": "linear", "params": {"C": 0.5}}]
    _run(raw, tmp_path)
    raw["models"].reverse()
    assert _run(raw, tmp_path).fitted == 0
    train = tmp_path / "train.csv"
    stat, text = train.stat(), train.read_text()
    line = text.splitlines()[1]
    edited = line.replace(line.split(",")[1], "9" * len(line.split(",")[1]), 1)
    train.write_text(text.replace(line, edited, 1))
    os.utime(train, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert train.stat().st_size == stat.st_size
    assert _run(raw, tmp_path).fitted == 9  # (baseline + 2 models) x 3 folds


def test_a_pseudo_labelled_net_resumed_on_an_idle_machine_keeps_its_folds_thread_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a resumed net of the run, a pseudo-labelling round's net (``net@pl1``) fits its remaining folds on the
    count its finished folds recorded."""
    raw = _competition(tmp_path)
    raw["run"] = {"n_jobs": 1}
    raw["models"] = [{"name": "net", "kind": "mlp", "params": {"epochs": 2}}]
    raw["pseudo_label"] = {"source": "net", "threshold": 0.6}
    _load(monkeypatch, others=1.0)  # busy: 1 core left
    whole = _run(raw, tmp_path, runs="whole")
    killed = _run(raw, tmp_path)
    shutil.rmtree(_fold_dir(killed.run_dir, "net@pl1", 2))
    _load(monkeypatch, others=0.0)  # idle: 2 cores
    resumed = _run(raw, tmp_path)
    assert resumed.fitted == 1
    assert {f.threads for f in _fold_results(resumed.run_dir, "net@pl1")} == {1}
    assert _oof(resumed.run_dir, "net@pl1").equals(_oof(whole.run_dir, "net@pl1"))


def test_a_run_refused_before_any_fit_leaves_the_run_folders_target_as_it_was(tmp_path: Path) -> None:
    """target.parquet was written as the run opened, before its checks: labels fixed in train.csv beside a model the
    checks refuse left the new labels beside run.json's old models, whose OOF `kaggle-kit blend` and `report` then
    scored (and blended) against labels they were not fitted on. It is written with run.json now."""
    raw = _competition(tmp_path)
    raw["folds"] = {"strategy": "kfold", "n_splits": 3}  # the folds do not follow the labels
    first = _run(raw, tmp_path)
    before = RunStore(first.run_dir).read_target()
    train = tmp_path / "train.csv"
    text = train.read_text().splitlines()
    row = text[1].split(",")
    row[-1] = "yes" if row[-1] == "no" else "no"  # a label fixed
    train.write_text("\n".join([text[0], ",".join(row), *text[2:]]) + "\n")
    raw["models"].append({"name": "bad", "kind": "linear", "params": {"no_such_param": 1}})
    with pytest.raises(ConfigError, match="no_such_param"):
        _run(raw, tmp_path)
    np.testing.assert_array_equal(RunStore(first.run_dir).read_target(), before)
    raw["models"].pop()
    again = _run(raw, tmp_path)  # the run goes on with the fixed label: its target is the new one
    assert again.fitted == 6 and RunStore(again.run_dir).read_target()[0] != before[0]


def test_the_pinned_count_is_the_first_finished_folds_at_most_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run folder moved to a machine of fewer cores fits a resumed net's folds on its cores (8 threads on 2: each
    fold waited for every core, at 4x the threads); a family whose predictions do not depend on the count is not
    pinned."""
    import kaggle_kit.runtime.executors as executors

    def fold(k: int, threads: int) -> FoldResult:
        return FoldResult("m", "key", 0, k, 0.5, None, 10, 5, 0.0, 0.0, "cpu", threads)

    net, lgbm = ModelSpec(name="net", kind="mlp"), ModelSpec(name="lgbm", kind="lightgbm")
    monkeypatch.setattr(executors, "cpu_count", lambda: 2)
    assert executors.pinned_threads(net, [fold(2, 1), fold(0, 2)]) == 2  # fold 0's
    assert executors.pinned_threads(net, [fold(0, 1), fold(1, 2)]) == 1
    assert executors.pinned_threads(net, [fold(0, 8)]) == 2
    assert executors.pinned_threads(net, []) is None
    assert executors.pinned_threads(lgbm, [fold(0, 1)]) is None


@pytest.mark.parametrize(
    ("labels", "classes", "fingerprint"),
    [
        ("text", None, "69363e00514fc0af"),
        ("text", ["no", "yes"], "69363e00514fc0af"),  # data.classes in the labels' own order
        ("numbers", None, "5f1bf36763a1a244"),
        ("numbers", [3, 7], "5f1bf36763a1a244"),
    ],
)
def test_the_labels_own_order_keeps_the_data_fingerprint_of_earlier_kit_versions(
    tmp_path: Path, labels: str, classes: list[object] | None, fingerprint: str
) -> None:
    """The values the kit computed before data.classes entered the fingerprint (74c2db6): a run folder of those
    versions reuses every fold. Hashing data.classes whenever it is set (the default order included: a classification
    task always has its classes) changed every classification run's models' keys, refitting them all; no other test
    saw it, as each compared two runs of the same code."""
    from kaggle_kit.readers.competition import load_competition

    raw = _competition(tmp_path)
    if labels == "numbers":
        train = pl.read_csv(tmp_path / "train.csv")
        train.with_columns(pl.col("y").replace_strict({"no": 3, "yes": 7})).write_csv(tmp_path / "train.csv")
    if classes is not None:
        raw["data"]["classes"] = classes
    data = load_competition(build_spec(raw, base_dir=tmp_path))
    assert data.fingerprint() == fingerprint


def test_a_run_refused_by_its_folders_task_or_metric_leaves_the_folders_target_as_it_was(tmp_path: Path) -> None:
    """run.json's check that the folder holds a run of the spec's task and metric comes before target.parquet is
    written: labels fixed and the metric changed in one edit are refused (StoreError) with the folder's target as its
    models were fitted on (written first, the new labels stood beside the old models' OOF for blend and report)."""
    from kaggle_kit.errors import StoreError

    raw = _competition(tmp_path)
    raw["folds"] = {"strategy": "kfold", "n_splits": 3}  # the folds do not follow the labels
    first = _run(raw, tmp_path)
    before = RunStore(first.run_dir).read_target()
    train = tmp_path / "train.csv"
    text = train.read_text().splitlines()
    row = text[1].split(",")
    row[-1] = "yes" if row[-1] == "no" else "no"  # a label fixed
    train.write_text("\n".join([text[0], ",".join(row), *text[2:]]) + "\n")
    raw["metric"] = "auc"
    with pytest.raises(StoreError, match="scored by 'log_loss'"):
        _run(raw, tmp_path)
    np.testing.assert_array_equal(RunStore(first.run_dir).read_target(), before)


@pytest.mark.parametrize("batch", [0, -1, 1025, True, 2.5, "4"])
def test_a_search_batch_that_is_not_a_whole_number_from_1_to_1024_is_refused(tmp_path: Path, batch: object) -> None:
    """A batch of 0 asked no config: the search ended at once with only the spec's models, without a word."""
    raw = _competition(tmp_path)
    raw["search"] = {"families": ["lightgbm"], "sampler": "tpe", "batch": batch}
    with pytest.raises(ConfigError, match=r"search\.batch"):
        build_spec(raw, base_dir=tmp_path)
