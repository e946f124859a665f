"""Streamed sequences (``data.sequences.layout = "streamed"``): the compact store and its batches, the mask that
makes a net's output independent of its batch's padding, the same OOF as the wide layout on sequences of one
length, a planted order task, predict from a finished run, and the memory promise (no ``ids x steps`` array)."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import pickle
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.errors import ConfigError, DataError, StoreError
from kaggle_kit.features.sequence_store import (
    SEQUENCE_ROW,
    build_sequence_store,
    concat_stores,
    open_sequence_store,
)
from kaggle_kit.readers.competition import load_competition
from kaggle_kit.readers.sequences import join_sequences, read_sequences

torch = pytest.importorskip("torch")

from kaggle_kit.models.nn.architectures.cnn1d import CNN1D, MaskedBatchNorm1d  # noqa: E402
from kaggle_kit.models.nn.architectures.rnn import RNN  # noqa: E402
from kaggle_kit.models.nn.device import plan_device  # noqa: E402
from kaggle_kit.models.nn.sequence_batches import SequenceBatches, fit_streamed, shift_within  # noqa: E402


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Any:
    """One intra-op thread, as the runner gives a fold on this 2-core machine (two threads spin against the load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def long_table(lengths: dict[int, int], *, seed: int = 0) -> pl.DataFrame:
    """``id, step, a, b`` rows in random order; ``a`` = id + step / 100 (every value checkable), ``b`` random."""
    rng = np.random.default_rng(seed)
    rows = [(i, t, i + t / 100, float(rng.normal())) for i, n in lengths.items() for t in range(n)]
    frame = pl.DataFrame(rows, schema=["id", "step", "a", "b"], orient="row")
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)


LENGTHS = {7: 3, 3: 6, 5: 1, 9: 4}


def raw_spec(layout: str = "streamed", **sequences: Any) -> dict[str, Any]:
    return {
        "name": "seq",
        "task": "binary",
        "metric": "accuracy",
        "seed": 3,
        "data": {
            "train": "y_train.csv",
            "id": "id",
            "target": "label",
            "sequences": {
                "train": "X_train.csv",
                "test": "X_test.csv",
                "order_by": "step",
                "layout": layout,
                **sequences,
            },
        },
        "folds": {"n_splits": 2},
        "run": {"n_jobs": 1, "threads_per_task": 1},
        "models": [{"name": "lgbm", "kind": "lightgbm", "num_boost_round": 20}],
    }


# ---------------------------------------------------------------------------------------------- the store
def test_store_holds_each_sequence_in_order_end_to_end() -> None:
    long = long_table(LENGTHS)
    ids = pl.Series("id", [9, 5, 3, 7])
    store = build_sequence_store(long, "id", ["a", "b"], ids=ids, order_by="step")
    assert store.values.shape == (sum(LENGTHS.values()), 2) and store.values.dtype == np.float32
    assert store.lengths.tolist() == [4, 1, 6, 3]  # the ids' order, not the table's
    for row, i in enumerate(ids):
        seq = store.values[store.offsets[row] : store.offsets[row + 1]]
        np.testing.assert_allclose(seq[:, 0], [i + t / 100 for t in range(LENGTHS[i])], rtol=1e-6)
    x, lengths = store.batch(np.array([1, 2]))  # ids 5 (1 step) and 3 (6 steps): padded to 6, not more
    assert x.shape == (2, 6, 2) and lengths.tolist() == [1, 6]
    assert np.isnan(x[0, 1:]).all() and not np.isnan(x[1]).any()
    flat, _ = store.steps(np.array([3, 0]))
    np.testing.assert_array_equal(flat, np.concatenate([store.values[11:14], store.values[0:4]]))


@pytest.mark.parametrize(("keep", "first_step"), [("first", 0), ("last", 2)])
def test_store_cuts_long_sequences_as_the_wide_layout_does(keep: str, first_step: int) -> None:
    store = build_sequence_store(
        long_table(LENGTHS), "id", ["a"], ids=pl.Series("id", [3, 5]), order_by="step", max_len=4, keep=keep
    )
    assert store.lengths.tolist() == [4, 1]
    np.testing.assert_allclose(store.values[:4, 0], [3 + (first_step + t) / 100 for t in range(4)], rtol=1e-6)


def test_saved_store_is_memory_mapped_and_travels_as_its_folder(tmp_path: Path) -> None:
    store = build_sequence_store(long_table(LENGTHS), "id", ["a", "b"], ids=pl.Series("id", [3, 7]), order_by="step")
    saved = store.save(tmp_path / "sequences")
    assert isinstance(saved.values, np.memmap) and saved.digest == store.digest and saved.path is not None
    np.testing.assert_array_equal(saved.values, store.values)
    again = pickle.loads(pickle.dumps(saved))  # what a worker process receives: the folder, read memory-mapped
    assert isinstance(again.values, np.memmap) and len(pickle.dumps(saved)) < 1000
    both = concat_stores(store, store)
    assert both.n == 4 and both.offsets.tolist() == [0, 6, 9, 15, 18] and both.digest != store.digest
    (tmp_path / "sequences" / "store.json").write_text("{}")
    with pytest.raises(StoreError, match=r"store\.json does not describe .* rerun"):
        open_sequence_store(tmp_path / "sequences")


def _exact_long(lengths: dict[int, int]) -> pl.DataFrame:
    """``id, step, a, b`` with exact float32 values: a = 10 id + step, b = step / 4 (rows in reverse order)."""
    rows = [(i, t, float(i * 10 + t), t / 4) for i, n in lengths.items() for t in range(n)]
    return pl.DataFrame(rows[::-1], schema=["id", "step", "a", "b"], orient="row")


def _exact_store() -> Any:
    labels = pl.DataFrame({"id": [3, 7, 5], "label": [0, 1, 0]})
    _, _, store = read_sequences(
        build_spec(raw_spec()), _exact_long({3: 2, 7: 3, 5: 1}), _exact_long({8: 2, 1: 1}), labels=labels
    )
    assert store is not None
    return store


def test_store_digest_is_the_hash_of_its_documented_bytes() -> None:
    """The digest is part of the run's data fingerprint: runs made before keep their keys only while it stays
    sha256(json columns, int64 offsets, float32 values row by row)[:16] of the train then test sequences."""
    store = _exact_store()
    offsets = np.array([0, 2, 5, 6, 7, 9], dtype=np.int64)  # train ids 3, 7, 5 then test ids 1, 8 (table order)
    steps = [(3, 0), (3, 1), (7, 0), (7, 1), (7, 2), (5, 0), (1, 0), (8, 0), (8, 1)]
    values = np.array([[10 * i + t, t / 4] for i, t in steps], dtype=np.float32)
    np.testing.assert_array_equal(store.offsets, offsets)
    np.testing.assert_array_equal(store.values, values)
    expected = hashlib.sha256(json.dumps(["a", "b"]).encode() + offsets.tobytes() + values.tobytes()).hexdigest()
    assert store.digest == expected[:16] == "7fb5c3a4bc2c5698"


def test_store_digest_hashes_each_byte_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Reading train and test sequences hashes the (train then test) values once, not each part and then again
    their concatenation; saving the store and reading it back hashes nothing more."""
    import kaggle_kit.features.sequence_store as module

    hashed = [0]

    class Counted:
        def __init__(self, data: bytes = b"") -> None:
            self._h = hashlib.sha256()
            self.update(data)

        def update(self, data: Any) -> None:
            hashed[0] += memoryview(data).nbytes
            self._h.update(data)

        def hexdigest(self) -> str:
            return self._h.hexdigest()

    monkeypatch.setattr(module, "hashlib", SimpleNamespace(sha256=Counted))
    store = _exact_store()
    digest = store.digest
    assert hashed[0] == len(json.dumps(["a", "b"])) + store.offsets.nbytes + store.values.nbytes
    saved = store.save(tmp_path / "sequences")
    again = store.save(tmp_path / "sequences")  # already there: compared by digest, not rewritten
    assert store.digest == saved.digest == again.digest == pickle.loads(pickle.dumps(store)).digest == digest
    assert digest == "7fb5c3a4bc2c5698"
    assert hashed[0] == len(json.dumps(["a", "b"])) + store.offsets.nbytes + store.values.nbytes


def test_streamed_reader_builds_no_ids_by_steps_array(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory: the frames hold one row per id and no step columns, the store one value per existing step; the
    wide builder is never called (it is made to fail here)."""
    import kaggle_kit.readers.sequences as readers

    def wide(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the streamed layout built the wide (ids x steps) frame")

    monkeypatch.setattr(readers, "sequence_wide", wide)
    lengths = {i: 300 if i == 7 else 2 + i % 4 for i in range(30)}  # one long sequence, the others 2 .. 5 steps
    spec = build_spec(raw_spec(aggregates=["mean", "last"]))
    labels = pl.DataFrame({"id": list(lengths), "label": [i % 2 for i in lengths]})
    test_long = long_table({100 + i: 5 for i in range(4)}, seed=1)
    train, test, store = read_sequences(spec, long_table(lengths), test_long, labels=labels)
    assert store is not None and test is not None
    assert train.columns == ["id", "label", SEQUENCE_ROW, "n_steps", "a__mean", "a__last", "b__mean", "b__last"]
    assert train[SEQUENCE_ROW].to_list() == list(range(30)) and test[SEQUENCE_ROW].to_list() == list(range(30, 34))
    total = sum(lengths.values()) + 20
    assert store.values.shape == (total, 2) and store.offsets.shape == (35,)
    assert store.values.nbytes == total * 2 * 4 < 30 * 300 * 2 * 4 / 10  # the wide array: 30 x 300 x 2
    assert train["n_steps"].to_list() == list(lengths.values())


def test_streamed_statistics_equal_the_wide_layouts() -> None:
    labels = pl.DataFrame({"id": [3, 7, 5, 9], "label": [0, 1, 0, 1]})
    stats = ["mean", "std", "max", "argmax", "last"]
    streamed, _, _ = read_sequences(build_spec(raw_spec(aggregates=stats)), long_table(LENGTHS), labels=labels)
    wide, _ = join_sequences(build_spec(raw_spec("wide", aggregates=stats)), long_table(LENGTHS), labels=labels)
    same = [c for c in streamed.columns if c != SEQUENCE_ROW]
    assert wide.select(same).equals(streamed.select(same))


def test_streamed_layout_errors() -> None:
    spec = build_spec(raw_spec())
    with pytest.raises(ConfigError, match=r"keeps the steps in a store beside the frames: read them with"):
        join_sequences(spec, long_table(LENGTHS))
    from kaggle_kit.readers.competition import prepare_competition

    with pytest.raises(DataError, match=r'layout = "streamed": give the long tables'):
        prepare_competition(spec, pl.DataFrame({"id": [1], "label": [0], "a__t0": [1.0]}), None)
    with pytest.raises(ConfigError, match=r"layout must be one of 'wide' or 'streamed'"):
        build_spec(raw_spec("packed"))


# ---------------------------------------------------------------------------------------------- the mask
def _alone_and_padded(net: torch.nn.Module, n_features: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each of 3 short sequences run on its own (no padding), and in one batch with a 37-step sequence."""
    g = torch.Generator().manual_seed(0)
    lengths = [5, 9, 12, 37]
    seqs = [torch.randn(n, n_features, generator=g) for n in lengths]
    net.eval()
    with torch.no_grad():
        alone = torch.cat([net(s[None], torch.tensor([len(s)])) for s in seqs[:3]])
        batch = torch.zeros(4, 37, n_features)
        for i, s in enumerate(seqs):
            batch[i, : len(s)] = s
        padded = net(batch, torch.tensor(lengths))[:3]
    return alone, padded


@pytest.mark.parametrize("pooling", ["mean", "max", "last"])
def test_rnn_output_does_not_depend_on_the_batchs_padding(pooling: str) -> None:
    torch.manual_seed(0)
    alone, padded = _alone_and_padded(RNN(3, 2, hidden=8, layers=2, pooling=pooling), 3)
    torch.testing.assert_close(padded, alone, rtol=1e-5, atol=1e-6)


def test_cnn1d_output_does_not_depend_on_the_batchs_padding() -> None:
    torch.manual_seed(0)
    net = CNN1D(3, 2, channels=[8, 16, 16], blocks_per_stage=2, kernel_size=5)
    net.train()  # a few steps of training so the running statistics are not the identity
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(6, 20, 3), torch.tensor([20, 5, 9, 13, 3, 17]))
    alone, padded = _alone_and_padded(net, 3)
    torch.testing.assert_close(padded, alone, rtol=1e-5, atol=1e-5)


def test_masked_batch_norm_uses_the_valid_steps_only() -> None:
    torch.manual_seed(0)
    bn, ref = MaskedBatchNorm1d(4), torch.nn.BatchNorm1d(4)
    x = torch.randn(3, 4, 10)
    lengths = torch.tensor([10, 4, 7])
    mask = torch.arange(10)[None] < lengths[:, None]
    x_padded = x.masked_fill(~mask[:, None], 123.0)  # padding far off: must not move the statistics
    out = bn(x_padded, mask)
    valid = torch.cat([x[i, :, : lengths[i]] for i in range(3)], 1)  # (C, sum of lengths): the valid steps alone
    expected = ref(valid[None])[0]
    got = torch.cat([out[i, :, : lengths[i]] for i in range(3)], 1)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(bn.running_mean, ref.running_mean)
    torch.testing.assert_close(bn.running_var, ref.running_var)


def test_batches_pad_each_batch_to_its_own_longest_and_standardise_like_the_wide_layout() -> None:
    long = long_table(LENGTHS)
    store = build_sequence_store(long, "id", ["a", "b"], ids=pl.Series("id", [7, 3, 5, 9]), order_by="step")
    rows = np.array([2, 0, 3, 1])
    state = fit_streamed(store, rows[:3])
    flat = np.concatenate([store.values[store.offsets[r] : store.offsets[r + 1]] for r in rows[:3]])
    np.testing.assert_allclose(state["mean"], flat.astype(np.float64).mean(0))
    np.testing.assert_allclose(state["std"], flat.astype(np.float64).std(0))
    y = np.arange(4, dtype=np.int64)
    batches = SequenceBatches(store, rows, [y], state=state, batch_size=2, plan=plan_device("cpu"))
    shapes = [(x.shape, lens.tolist(), t.tolist()) for x, lens, t in batches]
    assert shapes == [((2, 3, 2), [1, 3], [0, 1]), ((2, 6, 2), [4, 6], [2, 3])]
    x, _, _ = next(iter(batches))
    expected = (store.values[0:3] - np.float32(state["mean"])) / np.float32(state["std"])  # row 0: id 7
    np.testing.assert_allclose(x[1].numpy(), expected, rtol=1e-6)
    assert (x[0, 1:] == 0).all()  # padding is zero after standardisation


@pytest.mark.parametrize("kind", ["rnn", "cnn1d"])
def test_fitted_net_predicts_a_sequence_alike_alone_or_batched_with_longer_ones(kind: str) -> None:
    """Through the whole streamed path (store -> batches -> net): predictions one row per batch (no padding) equal
    those of batches of 64 padded to their longest sequence (up to 60 steps here)."""
    from kaggle_kit.features import FeatureMatrix
    from kaggle_kit.models.nn.families import FAMILIES
    from kaggle_kit.models.nn.net import fit_net, predict_net

    rng = np.random.default_rng(0)
    lengths = {i: int(n) for i, n in enumerate(rng.integers(2, 61, 80))}
    store = build_sequence_store(long_table(lengths), "id", ["a", "b"], ids=pl.Series("id", list(lengths)))
    X = FeatureMatrix(np.arange(80, dtype=np.float32)[:, None], (SEQUENCE_ROW,), ())
    y = rng.integers(0, 2, 80)
    extra = {"hidden": 8, "layers": 2} if kind == "rnn" else {"channels": [8, 8]}
    params = FAMILIES[kind].validate("m", {"epochs": 2, "batch_size": 16, **extra})
    fitted, _ = fit_net("m", kind, params, X, y, None, None, task="binary", n_classes=2, scorer=None, seed=0,
                        threads=1, sequences=store)  # fmt: skip
    assert fitted.config["inputs"]["source"] == "store"
    one = predict_net(fitted, X, sequences=store)
    fitted.config["params"] = {**params, "eval_batch_size": 1}
    alone = predict_net(fitted, X, sequences=store)
    np.testing.assert_allclose(one, alone, rtol=1e-5, atol=1e-6)
    assert one.std(axis=0).max() > 1e-4  # rows do differ
    other = build_sequence_store(long_table(lengths).rename({"b": "c"}), "id", ["a", "c"], ids=pl.Series(list(lengths)))
    with pytest.raises(DataError, match=r"fit on the sequence columns \['a', 'b'\] but these sequences hold"):
        predict_net(fitted, X, sequences=other)
    with pytest.raises(DataError, match=r"reads streamed sequences but none were handed to it"):
        predict_net(fitted, X)


def test_training_shifts_stay_within_each_sequence() -> None:
    """A shift moves a sequence by up to ``shift`` steps, repeating its own first / last valid step; it never pulls
    padding in, and padding stays zero."""
    torch.manual_seed(0)
    lengths = torch.tensor([3, 7, 5])
    x = torch.zeros(3, 7, 1)
    for i, n in enumerate(lengths.tolist()):
        x[i, :n, 0] = torch.arange(1, n + 1, dtype=torch.float32)  # 1 .. n, padding 0
    moved = False
    for _ in range(20):
        out = shift_within(x, lengths, 2)
        moved |= not torch.equal(out, x)
        for i, n in enumerate(lengths.tolist()):
            valid = out[i, :n, 0]
            assert (out[i, n:] == 0).all() and (valid >= 1).all() and (valid <= n).all()
            assert set(valid.diff().tolist()) <= {0.0, 1.0}  # a contiguous run of the sequence, edges repeated
            assert valid[0] <= 3 and valid[-1] >= n - 2  # moved by at most 2 steps
    assert moved


# ---------------------------------------------------------------------------------------------- runs
def _write(folder: Path, n: int, lengths: Any, seed: int, *, offset: int = 0) -> None:
    """A planted order task: label 1 when the +3 spike comes before the -3 spike (order-free statistics are
    the same for both classes)."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for i in range(n):
        size = int(lengths(rng))
        x = rng.normal(0, 0.3, size)
        up, down = rng.choice(np.arange(1, size - 1), 2, replace=False)
        x[up], x[down] = 3.0, -3.0
        second = rng.normal(size=size)
        rows += [(offset + i, t, float(x[t]), float(second[t])) for t in range(size)]
        labels.append((offset + i, int(up < down)))
    long = pl.DataFrame(rows, schema=["id", "step", "x", "noise"], orient="row").sample(fraction=1.0, seed=seed)
    role = "test" if offset else "train"
    long.write_csv(folder / f"X_{role}.csv")
    pl.DataFrame(labels, schema=["id", "label"], orient="row").write_csv(folder / f"y_{role}.csv")


def _run(folder: Path, raw: dict[str, Any]) -> Any:
    from kaggle_kit.runtime.runner import run

    return run(build_spec(raw, base_dir=folder), runs_root=folder / "runs", progress=None, record_history=False)


def _oof(run_dir: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(next((run_dir / "models" / name).rglob("oof*.parquet")))


NET_PARAMS = {"epochs": 3, "patience": 0, "batch_size": 16, "lr": 1e-2}


def test_streamed_oof_equal_the_wide_layouts_on_sequences_of_one_length(tmp_path: Path) -> None:
    """Same seed, same folds, sequences of one length: the streamed batches are the wide ones (same rows, same
    order, same standardisation, same random shifts), so the nets' OOF and test predictions are the same bit for
    bit."""
    _write(tmp_path, 80, lambda rng: 16, seed=0)
    _write(tmp_path, 10, lambda rng: 16, seed=1, offset=1000)
    nets = [
        {"name": "gru", "kind": "rnn", "params": {**NET_PARAMS, "hidden": 8, "layers": 1}},
        {"name": "cnn", "kind": "cnn1d", "params": {**NET_PARAMS, "channels": [8, 8], "augment_shift": 2}},
    ]
    wide = raw_spec("wide")
    wide["run"]["name"] = "wide"
    wide["models"] = copy.deepcopy(nets)
    for m in wide["models"]:
        m["params"]["columns"] = r".+__t\d+"
    streamed = raw_spec("streamed")
    streamed["models"] = nets
    a, b = _run(tmp_path, wide), _run(tmp_path, streamed)
    for name in ("gru", "cnn"):
        oof_wide, oof_streamed = _oof(a.run_dir, name), _oof(b.run_dir, name)
        assert oof_wide["id"].equals(oof_streamed["id"])
        np.testing.assert_array_equal(oof_streamed["p_1"].to_numpy(), oof_wide["p_1"].to_numpy())
        test_wide, test_streamed = (
            pl.read_parquet(next((r.run_dir / "models" / name).rglob("test.parquet"))) for r in (a, b)
        )
        assert test_wide.equals(test_streamed)
        assert oof_wide["p_1"].std() > 0.01  # the nets did learn something per row


@pytest.mark.slow  # ~20 s on the 2-core machine; CI runs it
def test_planted_order_task_rnn_beats_the_trees_and_predict_reads_new_sequences(tmp_path: Path) -> None:
    """Variable lengths 8-20; the label is in the order of steps only, so the trees on the statistics stay near
    chance while the GRU learns it. Then ``kaggle-kit predict RUN_DIR --sequences`` on new (longer) sequences
    gives the run's own test predictions for the run's test rows."""
    from kaggle_kit.cli import main
    from kaggle_kit.predict import predict

    _write(tmp_path, 240, lambda rng: rng.integers(8, 21), seed=0)
    _write(tmp_path, 20, lambda rng: rng.integers(8, 21), seed=1, offset=1000)
    raw = raw_spec()
    raw["folds"] = {"n_splits": 3}
    raw["models"] = [
        {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 100, "early_stopping_rounds": 20},
        {
            "name": "gru",
            "kind": "rnn",
            "params": {"hidden": 16, "layers": 1, "epochs": 16, "patience": 0, "lr": 1e-2, "batch_size": 24},
        },
    ]
    result = _run(tmp_path, raw)
    cv = {m.name: m.cv for m in result.models}
    assert all(m.status == "ok" for m in result.models), [m.error for m in result.models]
    assert cv["gru"] >= 0.85 and cv["lgbm"] <= 0.65, cv
    assert (result.run_dir / "sequences" / "values.npy").is_file()
    oof = _oof(result.run_dir, "gru")
    assert sorted(oof["id"].to_list()) == list(range(240))  # one row per id, each once

    stored = pl.read_parquet(next((result.run_dir / "models" / "gru").rglob("test.parquet")))
    again = predict(result.run_dir, sequences=tmp_path / "X_test.csv", model="gru")
    assert again["id"].to_list() == stored["id"].to_list()
    np.testing.assert_allclose(again["p_1"].to_numpy(), stored["p_1"].to_numpy(), atol=1e-5)
    ids = pl.DataFrame({"id": stored["id"].to_list()[::-1]})  # --test: the ids (and their order) from a table
    by_ids = predict(result.run_dir, ids, sequences=tmp_path / "X_test.csv", model="gru")
    assert by_ids["id"].to_list() == ids["id"].to_list()
    np.testing.assert_allclose(by_ids["p_1"].to_numpy(), again["p_1"].to_numpy()[::-1], atol=1e-6)

    longer = tmp_path / "X_new.csv"  # new ids, sequences longer than any in training
    _write(tmp_path, 6, lambda rng: 60, seed=5, offset=5000)
    (tmp_path / "X_test.csv").rename(longer)
    out = tmp_path / "sub.csv"
    command = ["predict", str(result.run_dir), "--sequences", str(longer), "--model", "gru", "--out", str(out)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(command) == 0
    sub = pl.read_csv(out)
    assert sub["id"].to_list() == list(range(5000, 5006))


def test_streamed_net_rejects_wide_layout_params(tmp_path: Path) -> None:
    _write(tmp_path, 30, lambda rng: 8, seed=0)
    raw = raw_spec()
    raw["data"]["sequences"].pop("test")
    raw["models"] = [{"name": "gru", "kind": "rnn", "params": {**NET_PARAMS, "columns": r".+__t\d+"}}]
    with pytest.raises(
        ConfigError, match=r"model 'gru': data\.sequences\.layout = \"streamed\" .* remove params\.columns"
    ):
        _run(tmp_path, raw)


def test_changed_sequence_values_change_the_data_fingerprint(tmp_path: Path) -> None:
    """Two steps of one series swapped: the frames (id, label, position, means) are the same, only the store's
    digest tells the change, so stored results are not reused for other sequences."""
    _write(tmp_path, 20, lambda rng: 8, seed=0)
    raw = raw_spec(aggregates=["mean"])
    raw["data"]["sequences"].pop("test")
    data = load_competition(build_spec(raw, base_dir=tmp_path))
    long = pl.read_csv(tmp_path / "X_train.csv")
    swap = {2: 3, 3: 2}
    swapped = pl.when((pl.col("id") == 4) & pl.col("step").is_in([2, 3])).then(pl.col("step").replace(swap))
    long.with_columns(swapped.otherwise("step").alias("step")).write_csv(tmp_path / "X_train.csv")
    again = load_competition(build_spec(raw, base_dir=tmp_path))
    assert again.train.equals(data.train) and again.fingerprint() != data.fingerprint()
    assert again.sequences is not None and data.sequences is not None
    assert not np.array_equal(again.sequences.values, data.sequences.values)
    raw["data"]["sequences"]["aggregates"] = []
    with pytest.raises(DataError, match=r"no feature columns left .* 'streamed' .*aggregates: list some"):
        load_competition(build_spec(raw, base_dir=tmp_path))


@pytest.mark.slow  # ~20 s on the 2-core machine; CI runs it
def test_worker_processes_read_the_streamed_sequences_alike(tmp_path: Path) -> None:
    """Two worker processes (each reads the spec again and builds its own store) give the OOF of one process."""
    _write(tmp_path, 40, lambda rng: rng.integers(6, 15), seed=0)
    oof = {}
    for jobs in (1, 2):
        raw = raw_spec()
        raw["data"]["sequences"].pop("test")
        raw["run"] = {"n_jobs": jobs, "threads_per_task": 1, "name": f"jobs{jobs}"}
        raw["models"] = [{"name": "cnn", "kind": "cnn1d", "params": {**NET_PARAMS, "epochs": 1, "channels": [4]}}]
        result = _run(tmp_path, raw)
        assert all(m.status == "ok" for m in result.models), [m.error for m in result.models]
        oof[jobs] = _oof(result.run_dir, "cnn")
    assert oof[1].equals(oof[2])


def test_streamed_frames_without_their_store_are_refused(tmp_path: Path) -> None:
    from kaggle_kit.runtime.runner import run

    spec = build_spec(raw_spec())
    labels = pl.DataFrame({"id": [3, 7, 5, 9], "label": [0, 1, 0, 1]})
    train, _, store = read_sequences(spec, long_table(LENGTHS), labels=labels)
    assert store is not None
    with pytest.raises(DataError, match=r"keeps the steps in a store the frames given do not carry"):
        run(spec, train=train, runs_root=tmp_path, progress=None, record_history=False)
    assert not (tmp_path / "seq").exists()  # refused before the run folder is written
