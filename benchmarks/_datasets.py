"""The fixed list of real datasets the portfolio and AutoML benchmarks run on: each ships inside a Python package
(scikit-learn's bundled files, statsmodels' bundled data sets), so nothing is downloaded.

Each entry gives a frame with an ``id`` column, the target column, the task and the competition metric; ``split``
holds out 20 % of the rows (per class, or per decile of a continuous target) as the hidden test set that no side
sees while fitting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str
    metric: str
    target: str
    load: Callable[[], pl.DataFrame]
    source: str


def _sklearn(loader: str, target: str, *, labels: bool = False) -> Callable[[], pl.DataFrame]:
    def load() -> pl.DataFrame:
        import sklearn.datasets

        ds = getattr(sklearn.datasets, loader)()
        frame = pl.DataFrame(ds.data, schema=[str(n).replace(" ", "_") for n in ds.feature_names], orient="row")
        y = np.asarray(ds.target_names)[ds.target] if labels else ds.target
        return frame.with_columns(pl.Series(target, y))

    return load


def _statsmodels(name: str, prepare: Callable[[pl.DataFrame], pl.DataFrame]) -> Callable[[], pl.DataFrame]:
    def load() -> pl.DataFrame:
        import importlib

        module = importlib.import_module(f"statsmodels.datasets.{name}")
        return prepare(pl.from_pandas(module.load_pandas().data))

    return load


def _fair(frame: pl.DataFrame) -> pl.DataFrame:
    # Fair (1978) affairs survey, 6,366 women: did the respondent have an affair (affairs > 0)?
    return frame.with_columns((pl.col("affairs") > 0).cast(pl.Int64).alias("had_affair")).drop("affairs")


def _randhie(frame: pl.DataFrame) -> pl.DataFrame:
    # RAND health insurance experiment, 20,190 person-years: number of outpatient visits (a skewed count)
    return frame


def _anes96(frame: pl.DataFrame) -> pl.DataFrame:
    # 1996 American National Election Studies, 944 voters: party identification on a 7-point scale
    return frame.with_columns(pl.col("PID").cast(pl.Int64)).drop("logpopul")


DATASETS: tuple[Dataset, ...] = (
    Dataset("breast_cancer", "binary", "roc_auc", "diagnosis", _sklearn("load_breast_cancer", "diagnosis", labels=True),
            "scikit-learn: 569 tumours, 30 measurements"),
    Dataset("digits", "multiclass", "log_loss", "label", _sklearn("load_digits", "label"),
            "scikit-learn: 1,797 8x8 digit images"),
    Dataset("diabetes", "regression", "rmse", "progression", _sklearn("load_diabetes", "progression"),
            "scikit-learn: 442 patients, disease progression"),
    Dataset("fair", "binary", "roc_auc", "had_affair", _statsmodels("fair", _fair),
            "statsmodels: 6,366 survey answers, affair yes / no"),
    Dataset("randhie", "regression", "rmse", "mdvis", _statsmodels("randhie", _randhie),
            "statsmodels: 20,190 person-years, outpatient visits"),
    Dataset("anes96", "multiclass", "log_loss", "PID", _statsmodels("anes96", _anes96),
            "statsmodels: 944 voters, 7-point party identification"),
)  # fmt: skip


def _synthetic_classes(rows: int, classes: int) -> Callable[[], pl.DataFrame]:
    def load() -> pl.DataFrame:
        from sklearn.datasets import make_classification

        X, y = make_classification(
            n_samples=rows, n_features=30, n_informative=12, n_classes=classes, flip_y=0.05, random_state=0
        )
        rng = np.random.default_rng(0)
        return pl.DataFrame(X, schema=[f"f{i}" for i in range(X.shape[1])], orient="row").with_columns(
            pl.Series("cat", rng.choice([f"c{i}" for i in range(50)], rows)),
            pl.Series("target", [f"k{v}" for v in y]),
        )

    return load


#: not in DATASETS (the portfolio's small real tables): named on purpose, for the time limit on a large table
LARGE: tuple[Dataset, ...] = (
    Dataset("synthetic_250k", "multiclass", "log_loss", "target", _synthetic_classes(250_000, 5),
            "scikit-learn's make_classification (seed 0): 250,000 rows x 30 numbers + a 50-level text column, "
            "5 classes"),
)  # fmt: skip


def split(ds: Dataset, *, test_fraction: float = 0.2, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train, hidden test with the target) from the dataset, held out per class or per decile of the target."""
    frame = ds.load().with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
    y = frame[ds.target].to_numpy()
    strata = y if ds.task != "regression" else np.searchsorted(np.quantile(y, np.linspace(0, 1, 11)[1:-1]), y)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(frame.height, dtype=bool)
    for label in np.unique(strata):
        rows = np.flatnonzero(strata == label)
        is_test[rng.choice(rows, size=round(len(rows) * test_fraction), replace=False)] = True
    return frame.filter(~is_test), frame.filter(is_test)


def by_name(names: str) -> list[Dataset]:
    known = {d.name: d for d in (*DATASETS, *LARGE)}
    unknown = [n for n in names.split(",") if n not in known]
    if unknown:
        raise SystemExit(f"unknown dataset(s) {unknown}; known: {', '.join(known)}")
    return [known[n] for n in names.split(",")]


def paired(scores: Sequence[float], base: Sequence[float], better: Callable[[float, float], bool]) -> str:
    """``scores`` against ``base`` on the same splits: the mean difference, its standard error and the splits
    better / worse, e.g. ``"-0.01714 (s.e. 0.00273); better on 5, worse on 0 of 5 splits"``."""
    diff = np.asarray(scores, dtype=np.float64) - np.asarray(base, dtype=np.float64)
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    wins = sum(better(s, b) for s, b in zip(scores, base, strict=True))
    losses = sum(better(b, s) for s, b in zip(scores, base, strict=True))
    return f"{diff.mean():+.5f} (s.e. {se:.5f}); better on {wins}, worse on {losses} of {len(diff)} splits"
