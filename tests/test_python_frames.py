"""Frames handed to ``run`` / ``refit`` in a notebook: polars or pandas, and train and test together.

A pandas frame had met ``AttributeError: 'Series' object has no attribute 'null_count'`` deep in the id checks; a
test frame without its train frame was dropped for ``data.test``'s file, and a train frame without its test frame
made a run with no test predictions while the spec named a test file (``submit`` then said "its run did not finish").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import CompetitionSpec, build_spec
from kaggle_kit.errors import ConfigError, DataError, StoreError
from kaggle_kit.predict import refit
from kaggle_kit.readers.frames import as_polars
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore
from kaggle_kit.submit import write_submission


def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(3)
    n = 80
    x = rng.normal(size=(n, 2))
    frame = pl.DataFrame({"id": np.arange(100, 100 + n), "a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] > 0).astype(int)})
    return frame[:60], frame[60:].drop("y")


def _spec(tmp_path: Path, name: str, test: str | None = "test.csv") -> CompetitionSpec:
    data = {"train": "train.csv", "id": "id", "target": "y", **({"test": test} if test else {})}
    return build_spec(
        {
            "name": name,
            "task": "binary",
            "metric": "roc_auc",
            "data": data,
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [{"name": "logreg", "kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}],
        },
        base_dir=tmp_path,
    )


def _predictions(run_dir: Path, kind: str) -> pl.DataFrame:
    return RunStore(run_dir).read_predictions("logreg", kind)


def test_pandas_frames_run_as_the_polars_ones(tmp_path: Path) -> None:
    train, test = _frames()
    kwargs = {"runs_root": tmp_path / "runs", "progress": None, "record_history": False}
    polars_run = run(_spec(tmp_path, "pl"), train=train, test=test, **kwargs)
    # the id as the pandas index (df.set_index("id")): kept as the id column, not dropped
    pandas_run = run(_spec(tmp_path, "pd"), train=train.to_pandas().set_index("id"), test=test.to_pandas(), **kwargs)
    for kind in ("oof", "test"):
        assert _predictions(pandas_run.run_dir, kind).equals(_predictions(polars_run.run_dir, kind))
    (result,) = refit(pandas_run.run_dir, ["logreg"], train=train.to_pandas(), progress=None)
    assert result.n_train == train.height


@pytest.mark.parametrize(
    ("given", "test_file", "match"),
    [
        ("test", "test.csv", r"a test frame was given without a train frame; .* pass train= too"),
        ("train", "test.csv", r"a train frame was given without a test frame, but data.test names 'test.csv'.*"
         r"no test predictions .* Pass test= too, or set data.test = None"),
    ],
)  # fmt: skip
def test_one_frame_without_the_other_is_refused(tmp_path: Path, given: str, test_file: str, match: str) -> None:
    train, test = _frames()
    train.write_csv(tmp_path / "train.csv")
    test.write_csv(tmp_path / test_file)
    frames = {"train": train} if given == "train" else {"test": test[:5]}
    with pytest.raises(ConfigError, match=match):
        run(_spec(tmp_path, "one"), runs_root=tmp_path / "runs", progress=None, record_history=False, **frames)
    assert not (tmp_path / "runs" / "one").exists()  # refused before the run folder is written


def test_a_train_frame_alone_runs_when_the_spec_has_no_test_file(tmp_path: Path) -> None:
    train, _ = _frames()
    result = run(_spec(tmp_path, "cv", test=None), train=train, runs_root=tmp_path, progress=None, record_history=False)
    assert _predictions(result.run_dir, "oof").height == train.height
    # a finished run without test rows: submit says so and how to predict them (it said "its run did not finish")
    with pytest.raises(StoreError, match=r"no test predictions .*: the run had no test rows \(no data.test\); "
                       r"predict the test file with `kaggle-kit predict .* --test FILE --model logreg`"):  # fmt: skip
        write_submission(result.run_dir, "logreg")


def test_other_objects_are_refused_naming_the_argument() -> None:
    with pytest.raises(DataError, match=r"the train data must be a polars or pandas DataFrame; got list"):
        as_polars([[1, 2]], "train")


def test_a_pandas_column_of_mixed_types_is_named_with_its_cast() -> None:
    """polars' TypeError ("'int' object is not an instance of 'str'") named no column."""
    import pandas as pd

    frame = pd.DataFrame({"id": [1, 2, 3], "ok": [0.5, 1.5, None], "mixed": ["x", 2, 3.5]})
    with pytest.raises(DataError, match=r"the test data's column 'mixed' holds values of several types \(float, int, "
                       r"str\), .* df\['mixed'\] = df\['mixed'\].astype\(str\)"):  # fmt: skip
        as_polars(frame, "test")
    from kaggle_kit.predict.new_rows import _table

    with pytest.raises(DataError, match=r"the test data's column 'mixed' holds values of several types"):
        _table(frame, "test", None)  # kaggle_kit.predict's reading of a pandas test frame
    assert _table(frame[["id", "ok"]].set_index("id"), "test", None).columns == ["id", "ok"]  # the named index kept

    class Point:  # one type, but no table column's: not "several types (Point)"
        pass

    with pytest.raises(DataError, match=r"the test data's column 'p' holds Python objects \(Point\), which a table"):
        as_polars(pd.DataFrame({"p": [Point(), Point()]}), "test")


def test_a_pandas_frame_with_a_column_named_twice_is_named_as_such() -> None:
    """polars' "duplicate column names" had been taken for a column of mixed types ("several types (str)")."""
    import pandas as pd

    with pytest.raises(DataError, match=r"the train data has more than one column named 'a'; give each column its own"):
        as_polars(pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"]), "train")


def test_a_pandas_index_is_kept_only_where_it_is_named_and_no_column_holds_it() -> None:
    """``set_index("id", drop=False)`` had been refused ("indices and column names must not overlap"), and an unnamed
    level of a MultiIndex made a feature column called 'None'."""
    import pandas as pd

    frame = pd.DataFrame({"id": [7, 8], "a": [0.5, 1.5]})
    assert as_polars(frame.set_index("id", drop=False), "train").columns == ["id", "a"]
    both = pd.MultiIndex.from_tuples([(1, 2), (3, 4)], names=["id", None])
    converted = as_polars(pd.DataFrame({"a": [0.5, 1.5]}, index=both), "train")
    assert converted.columns == ["id", "a"] and converted["id"].to_list() == [1, 3]
    assert as_polars(frame.iloc[1:], "train").columns == ["id", "a"]  # a RangeIndex's row numbers: no column
