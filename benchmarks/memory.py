"""Memory: peak resident memory (RSS) of a kaggle_kit run per phase, against the data's own size.

A fresh process writes a binary table (``--rows`` x 40 float64 columns + 5 text categoricals, a test set of a quarter
of the rows) to parquet; another fresh process runs the kit on it from the files, as a user would, with the run's
functions wrapped so that each phase's peak is known: the process's own peak (``VmHWM``, reset at each phase change
through ``/proc/self/clear_refs``) and the peak of the process plus its workers (sampled every 10 ms). Phases:
reading and preparing the data, per fold (with ``--jobs 1``, in the process) the feature fit, the encodings, the
model fit and predictions, writing the fold; assembling the OOF; the blends (``blend_report(..., "all")``).

Printed: a table phase -> peak RSS (MB, and as a multiple of the data's size: rows x columns x 8 bytes of the train
and test tables), then each worker's own peak.

    .venv/bin/python benchmarks/memory.py --rows 300000 --jobs 1 --config models   # lightgbm + xgboost + linear
    .venv/bin/python benchmarks/memory.py --rows 300000 --jobs 2 --config fast     # preset = "fast"
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

N_FLOAT, N_CAT = 40, 5


def make_data(rows: int, folder: Path, seed: int = 0) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    n = rows + rows // 4
    X = rng.standard_normal((n, N_FLOAT))
    logit = X[:, :8] @ rng.standard_normal(8)
    cols = {f"f{i}": X[:, i] for i in range(N_FLOAT)}
    for j in range(N_CAT):
        levels = 10 ** (j % 3 + 1)
        codes = rng.integers(0, levels, n)
        logit += 0.3 * np.sin(codes)
        cols[f"c{j}"] = np.char.add("L", codes.astype(str))
    y = (logit + rng.logistic(size=n) > 0).astype(np.int64)
    frame = pl.DataFrame(cols).with_columns(pl.Series("id", np.arange(n)))
    frame[:rows].with_columns(pl.Series("target", y[:rows])).write_parquet(folder / "train.parquet")
    frame[rows:].write_parquet(folder / "test.parquet")


def _spec(folder: Path, config: str, n_jobs: int) -> dict:
    spec: dict = {
        "name": "memory",
        "task": "binary",
        "metric": "roc_auc",
        "seed": 0,
        "device": "cpu",
        "data": {"train": "train.parquet", "test": "test.parquet", "id": "id", "target": "target"},
        "folds": {"strategy": "stratified", "n_splits": 5},
        "run": {"n_jobs": n_jobs},
    }
    if config == "fast":
        spec["preset"] = "fast"
    else:
        spec["models"] = [
            {"name": "lgbm", "kind": "lightgbm", "num_boost_round": 50, "early_stopping_rounds": 0},
            {"name": "xgb", "kind": "xgboost", "num_boost_round": 50, "early_stopping_rounds": 0},
            {"name": "linear", "kind": "linear"},
        ]
    return spec


# ------------------------------------------------------------------------------------------------ the probe
def _rss(pid: int | str = "self") -> tuple[int, int]:
    """(VmRSS, VmHWM) in bytes of a process."""
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return rss, hwm


class Probe:
    """Phase -> peaks: the process's own (VmHWM, reset at each change) and the process tree's (sampled)."""

    def __init__(self) -> None:
        self.stack: list[str] = ["other (imports, between the phases)"]
        self.own: dict[str, int] = {}
        self.tree: dict[str, int] = {}
        self.workers: dict[int, int] = {}
        self.order: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = _rss()[0]
            for child in me.children(recursive=True):
                try:
                    rss, hwm = _rss(child.pid)
                except OSError:
                    continue
                total += rss
                self.workers[child.pid] = max(self.workers.get(child.pid, 0), hwm)
            with self._lock:
                phase = self.stack[-1]
                self.tree[phase] = max(self.tree.get(phase, 0), total)
            time.sleep(0.01)

    def _switch(self) -> None:
        """The peak since the last change belongs to the phase on top; then reset the process's peak."""
        phase = self.stack[-1]
        self.own[phase] = max(self.own.get(phase, 0), _rss()[1])
        if phase not in self.order:
            self.order.append(phase)
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")

    def wrap(self, owner: object, name: str, phase: object) -> None:
        """Wrap ``owner.name`` so that its calls are phase ``phase`` (a string, or a function of the call)."""
        fn = getattr(owner, name)

        def wrapped(*args, **kwargs):
            label = phase(*args, **kwargs) if callable(phase) else phase
            with self._lock:
                self._switch()
                self.stack.append(label)
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self._switch()
                    self.stack.pop()

        setattr(owner, name, wrapped)

    def stop(self) -> None:
        with self._lock:
            self._switch()
        self._stop.set()


def child(folder: Path, config: str, n_jobs: int) -> None:
    import polars as pl

    from kaggle_kit.config import build_spec
    from kaggle_kit.features import TableEncoder
    from kaggle_kit.runtime import fold_fit, runner
    from kaggle_kit.runtime.store import RunStore

    n_test = pl.scan_parquet(folder / "test.parquet").select(pl.len()).collect().item()
    probe = Probe()
    probe.wrap(runner.RunSession, "open", "read + prepare data, folds")
    probe.wrap(fold_fit, "fit_features", "fold: fit features (train rows)")
    probe.wrap(
        TableEncoder,
        "transform",
        lambda self, frame, state: "fold: encode test rows" if frame.height == n_test else "fold: encode rows",
    )
    make = fold_fit.make_adapter

    def make_adapter(*args, **kwargs):
        adapter = make(*args, **kwargs)
        kind = type(adapter).__name__
        for name, label in (("fit", "fold: model fit"), ("predict", "fold: model predict")):
            bound = getattr(adapter, name)
            holder = type("H", (), {name: staticmethod(bound)})
            probe.wrap(holder, name, f"{label} ({kind})")
            object.__setattr__(adapter, name, getattr(holder, name))
        return adapter

    fold_fit.make_adapter = make_adapter
    probe.wrap(RunStore, "write_fold", "fold: write fold")
    probe.wrap(runner, "_assemble", "assemble OOF + test predictions")
    probe.wrap(runner.RunSession, "run_tasks", "fits (workers)" if n_jobs > 1 else "fits: other")
    spec = build_spec(_spec(folder, config, n_jobs), base_dir=folder)
    start = time.perf_counter()
    result = runner.run(spec, runs_root=folder / "runs", progress=None, record_history=False)
    seconds = time.perf_counter() - start
    from kaggle_kit.blend import blend_report

    probe.wrap(sys.modules[__name__], "_blend", "blend (all methods)")
    _blend(blend_report, result.run_dir)
    probe.stop()
    print(
        json.dumps(
            {
                "own": probe.own,
                "tree": probe.tree,
                "order": probe.order,
                "workers": probe.workers,
                "seconds": seconds,
                "cv": {r.name: r.cv for r in result.models},
                "run_dir": str(result.run_dir),
            }
        )
    )


def _blend(blend_report, run_dir: Path) -> None:
    blend_report(run_dir, "all")


# ------------------------------------------------------------------------------------------------ the parent
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--config", choices=("models", "fast"), default="models")
    parser.add_argument("--folder", type=Path, default=None, help="keep the data and run here (reused)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.folder, args.config, args.jobs)
        return
    folder = args.folder or Path(tempfile.mkdtemp(prefix="kk-memory-"))
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "train.parquet").is_file():
        make_data(args.rows, folder)
    import polars as pl

    n_train = pl.scan_parquet(folder / "train.parquet").select(pl.len()).collect().item()
    n_test = pl.scan_parquet(folder / "test.parquet").select(pl.len()).collect().item()
    data_bytes = (n_train + n_test) * (N_FLOAT + N_CAT) * 8
    cmd = [sys.executable, __file__, "--child", "--folder", str(folder), "--config", args.config]
    out = subprocess.run([*cmd, "--jobs", str(args.jobs)], stdout=subprocess.PIPE, text=True, check=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    mb = 2**20
    print(
        f"{n_train:,} train + {n_test:,} test rows x {N_FLOAT + N_CAT} columns: data {data_bytes / mb:,.0f} MB "
        f"(x 8 bytes); config {args.config}, jobs {args.jobs}; run() {res['seconds']:.0f} s; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'phase':<55} {'own peak MB':>12} {'x data':>7} {'tree peak MB':>13} {'x data':>7}")
    for phase in res["order"]:
        own, tree = res["own"].get(phase, 0), res["tree"].get(phase, 0)
        print(f"{phase:<55} {own / mb:>12,.0f} {own / data_bytes:>7.2f} {tree / mb:>13,.0f} {tree / data_bytes:>7.2f}")
    for pid, hwm in res["workers"].items():
        print(f"worker {pid}: own peak {hwm / mb:,.0f} MB ({hwm / data_bytes:.2f} x data)")
    print("CV:", {k: round(v, 5) for k, v in res["cv"].items()}, "run folder:", res["run_dir"])
    if args.json is not None:
        args.json.write_text(json.dumps({**res, "data_bytes": data_bytes, "rows": n_train, "test_rows": n_test}))


if __name__ == "__main__":
    main()
