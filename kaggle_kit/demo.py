"""Demo competitions materialised from data that ships with scikit-learn, in the Kaggle file layout.

Each demo folder holds ``train.csv``, ``test.csv`` (no target), ``sample_submission.csv`` and ``solution.csv`` (the
hidden test labels, kept aside so tests can score a submission). They go through the same loading path as a real
competition.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from .errors import ConfigError, allowed


def _breast_cancer() -> tuple[pl.DataFrame, str]:
    from sklearn.datasets import load_breast_cancer

    ds = load_breast_cancer()
    frame = pl.DataFrame(ds.data, schema=[str(n) for n in ds.feature_names], orient="row")
    labels = np.asarray(ds.target_names)[ds.target]  # 'malignant' / 'benign', as a real file would have them
    return frame.with_columns(pl.Series("diagnosis", labels)), "diagnosis"


def _digits() -> tuple[pl.DataFrame, str]:
    from sklearn.datasets import load_digits

    ds = load_digits()
    frame = pl.DataFrame(ds.data.astype(np.int64), schema=[f"pixel{i}" for i in range(64)], orient="row")
    return frame.with_columns(pl.Series("label", ds.target.astype(np.int64))), "label"


#: name -> (loader, the sample submission's placeholder: a probability for AUC, a label for accuracy)
DEMOS: dict[str, tuple[Callable[[], tuple[pl.DataFrame, str]], float | int]] = {
    "demo-breast-cancer": (_breast_cancer, 0.5),
    "demo-digits": (_digits, 0),
}


def make_demo(name: str, out_dir: Path | str, *, test_fraction: float = 0.2, seed: int = 0) -> Path:
    """Write demo ``name`` into ``out_dir/name`` (skipped if already there); returns that folder."""
    if name not in DEMOS:
        raise ConfigError(f"unknown demo {name!r}; available: {allowed(DEMOS)}")
    folder = Path(out_dir) / name
    if all((folder / f).is_file() for f in ("train.csv", "test.csv", "sample_submission.csv", "solution.csv")):
        return folder
    loader, placeholder = DEMOS[name]
    frame, target = loader()
    rng = np.random.default_rng(seed)
    frame = frame.with_row_index("id", offset=1000).with_columns(pl.col("id").cast(pl.Int64))
    is_test = np.zeros(frame.height, dtype=bool)
    # stratified hold-out: the same class balance in test as in train
    for label in frame[target].unique().to_list():
        rows = np.flatnonzero((frame[target] == label).to_numpy())
        is_test[rng.choice(rows, size=round(len(rows) * test_fraction), replace=False)] = True
    train, test = frame.filter(~is_test), frame.filter(is_test)
    folder.mkdir(parents=True, exist_ok=True)
    train.write_csv(folder / "train.csv")
    test.drop(target).write_csv(folder / "test.csv")
    test.select("id", target).write_csv(folder / "solution.csv")
    test.select("id", pl.lit(placeholder).alias(target)).write_csv(folder / "sample_submission.csv")
    return folder
