"""Test that what the kit writes and says does not follow polars' thread timing or Python's hash seed: a seed fixes
a run's files and messages. polars' value_counts, group_by and unique without maintain_order, and its joins, order
rows by thread timing; a set of strings iterates in an order each process's hash seed picks."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.errors import DataError
from kaggle_kit.features import GroupAggregate, Pipeline
from kaggle_kit.features.base import FeatureWarning
from kaggle_kit.readers.image_folders import _pattern
from kaggle_kit.readers.sequences import _check_wide, _labels_from_long
from kaggle_kit.readers.test_ids import _alike_rows, check_test_ids
from kaggle_kit.report.adversarial import _encode, _feature_shift
from kaggle_kit.runtime.runner import _largest_group

N = 3000  # enough rows that polars' joins and group_bys go their parallel, reordering ways


def test_the_chance_pairs_of_shared_ids_follow_the_train_file() -> None:
    """Each train row is set beside the test row of the shared id before it in train's order: test's row of id k
    equals train's row of id k + 1, so every such pair is alike by chance. An inner join without maintain_order came out
    in test's (reversed) order, no pair alike, and the count that weighs error against warning moved with it."""
    train = pl.DataFrame({"id": np.arange(N), "x": np.arange(N, dtype=np.float64)})
    test = pl.DataFrame({"id": np.arange(N)[::-1], "x": np.arange(N)[::-1] + 1.0})
    assert _alike_rows(train, test, "id", [], False, None, None) == (0, N - 1)


def test_a_shared_id_named_is_train_files_first() -> None:
    train = pl.DataFrame({"id": np.arange(N), "x": np.zeros(N)})
    test = pl.DataFrame({"id": np.arange(N)[::-1], "x": np.ones(N)})
    said: list[str] = []
    check_test_ids(train, test, "id", [], said.append)
    assert len(said) == 1 and f"{N} test id(s) in column 'id' are also train ids (e.g. 0)" in said[0]


def test_the_largest_group_named_is_of_tied_ones_the_first_in_file_order() -> None:
    """value_counts(sort=True) ordered groups of the same size by thread timing: the folds.group warning named one
    of them at random."""
    groups = np.random.default_rng(0).permutation(1000)
    values = pl.Series("shop", np.repeat(groups, 3))
    assert _largest_group(values) == (groups[0], 3)
    assert _largest_group(pl.Series("count", [4, 7, 7, 4, 4])) == (4, 3)  # the largest still, named 'count'


def test_a_varying_target_is_shown_with_its_first_values_in_file_order() -> None:
    values = np.random.default_rng(1).permutation(1000)
    frame = pl.DataFrame({"seq": np.zeros(1000, dtype=np.int64), "y": values})
    with pytest.raises(DataError, match=re.escape(f"(e.g. {values[:3].tolist()};")):
        _labels_from_long(frame, "seq", "id", "y")


def test_the_longest_sequence_named_is_of_tied_ones_the_first_in_file_order() -> None:
    ids = np.random.default_rng(2).permutation(N)
    frame = pl.DataFrame({"seq": np.repeat(ids, 2), "v": np.zeros(2 * N)})
    with pytest.raises(DataError, match=f"the longest sequence, id {ids[0]} of "):
        _check_wide(10**9, 1, [("train", frame)], "seq", None)


def test_an_unseen_group_key_named_is_the_first_in_the_frame() -> None:
    """The anti join of the frame's keys against the training keys (many more: the join builds on the frame's side)
    came out in thread order, and the warning's example with it."""
    train = pl.DataFrame({"store": [f"t{i}" for i in range(10 * N)], "sales": np.ones(10 * N)})
    unseen = np.random.default_rng(3).permutation(N)
    test = pl.DataFrame({"store": [f"s{v}" for v in unseen], "sales": np.zeros(N)})
    pipe = Pipeline([GroupAggregate(by="store", columns=["sales"], stats=["mean"])])
    _, state = pipe.fit_transform(train)
    for _ in range(5):  # thread timing: one transform alone came out in file order now and then
        with pytest.warns(FeatureWarning, match=f"{N} row\\(s\\) hold keys not seen .*\\(e.g. 's{unseen[0]}'\\)"):
            pipe.transform(test, state)


def test_adversarial_category_codes_and_top_levels_do_not_follow_the_threads() -> None:
    """The adversarial classifier read a Categorical's physical codes, which number levels in the order the string
    cache met them; the levels shown for a category kept value_counts' order among tied shares."""
    levels = [f"L{v:04d}" for v in np.random.default_rng(4).permutation(1000)]
    pooled = pl.DataFrame({"c": [*levels, None, levels[0]]})
    codes = _encode(pooled, ["c"])[:, 0]
    assert np.isnan(codes[-2]) and codes[-1] == codes[0]
    np.testing.assert_array_equal(codes[:-2], [int(v[1:]) for v in levels])  # the sorted order's codes
    tr = pl.Series("c", levels * 2)
    shift = _feature_shift("c", 0.5, tr, pl.Series("c", list(reversed(levels))), categorical=True)
    assert shift.train_summary == shift.test_summary == "L0000 0%, L0001 0%, L0002 0%"


def test_an_image_extension_is_chosen_whatever_the_order_of_the_folders_files(tmp_path: Path) -> None:
    """Every id has a .png and a .jpg file (tied counts): the set of file names iterated in its hash seed's order, and
    init chose one or the other by the process."""
    ids = pl.Series("id", ["a", "b", "c"])
    names = [f"{v}{e}" for v in ("a", "b", "c") for e in (".png", ".jpg")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = {_pattern(ids, dict.fromkeys(order).keys(), tmp_path) for order in (names, names[::-1])}  # type: ignore[arg-type]
    assert found == {"{id}.jpg"}
