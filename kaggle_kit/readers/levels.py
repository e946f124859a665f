"""Test categories no training row has: told once per run, from the whole train file.

A fold's pipeline would find them again in each fold (and in each fold's validation rows, where a level new to the
fold's training rows is what K-fold CV is made of), so the runner turns its steps' checks off and this module tells
the user once. Every model reads such a level as it reads an unseen one in CV: the base encoding makes it missing
(the GBDTs' learned default branch), the encodings give it their fallback (the training mean, a count of zero).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from ..errors import name_a_few
from .polars_versions import is_in


def levels_missing_from_train(train: pl.DataFrame, test: pl.DataFrame, categorical: Sequence[str]) -> str | None:
    """A warning's text naming the categorical columns whose test rows hold levels no training row holds (with the
    rows, the levels and an example), or None when there are none."""
    return unseen_levels_message(training_levels(train, categorical), test)


def training_levels(train: pl.DataFrame, categorical: Sequence[str]) -> dict[str, pl.Series]:
    """Each categorical column's distinct training levels (missing values aside), as text: what a run records
    (``levels.parquet``) for ``kaggle-kit predict`` to tell a new file's unseen levels as the run told its test
    file's."""
    # in order of first appearance: the same levels.parquet, byte for byte, from the same train file (unique() alone
    # ordered them by thread timing)
    return {
        c: train.get_column(c).drop_nulls().unique(maintain_order=True).cast(pl.String)
        for c in categorical
        if c in train.columns
    }


def unseen_levels_message(known: Mapping[str, pl.Series], test: pl.DataFrame) -> str | None:
    """:func:`levels_missing_from_train`'s warning, against the training levels ``known`` (column -> levels)."""
    found = []
    in_test = set(test.columns)  # each access rebuilds the list: once, not per column
    for col, levels in known.items():
        if col not in in_test:
            continue
        values = test.get_column(col).cast(pl.String)  # codes declared categorical may be numbers in one file only
        new = values.filter(values.is_not_null() & ~is_in(values, levels))
        if new.len():
            found.append((col, new.len(), new.n_unique(), new[0]))
    if not found:
        return None
    described = name_a_few(
        [
            f"column {col!r}: {rows} row(s), {levels} level(s) (e.g. {str(example)!r})"
            for col, rows, levels, example in found
        ],
        "column(s)",
    )
    return (
        f"test rows hold categories that no training row has ({described}): no model learnt anything of "
        "them; each reads them as a level unseen in training (missing to the GBDTs, the training mean to a target "
        "encoding, a count of 0), as the CV's validation rows read the levels their folds lacked"
    )
