"""Test categories no training row has: told once per run, from the whole train file.

A fold's pipeline would find them again in each fold (and in each fold's validation rows, where a level new to the
fold's training rows is what K-fold CV is made of), so the runner turns its steps' checks off and this module tells
the user once. Every model reads such a level as it reads an unseen one in CV: the base encoding makes it missing
(the GBDTs' learned default branch), the encodings give it their fallback (the training mean, a count of zero).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ..errors import name_a_few


def levels_missing_from_train(train: pl.DataFrame, test: pl.DataFrame, categorical: Sequence[str]) -> str | None:
    """A warning's text naming the categorical columns whose test rows hold levels no training row holds (with the
    rows, the levels and an example), or None when there are none."""
    found = []
    in_test = set(test.columns)  # each access rebuilds the list: once, not per column
    for col in categorical:
        if col not in in_test:
            continue
        known, values = train.get_column(col), test.get_column(col)
        if known.dtype != values.dtype:  # e.g. codes declared categorical, read as numbers in one file only
            known, values = known.cast(pl.String), values.cast(pl.String)
        new = values.filter(values.is_not_null() & ~values.is_in(known.drop_nulls().unique().implode()))
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
