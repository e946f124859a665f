"""What differs between the polars versions the kit supports (``polars>=`` in pyproject.toml, up to polars 2).

``Series.is_in(other)``: polars 2 deprecates a plain Series of the same type for ``other`` (ambiguous: a list per row,
or one set of values?) and asks for ``other.implode()``; polars before 1.28 reads that imploded list as one value per
row and stops (``shapes don't match: expected 3 elements in 'is_in' comparison, got 1``). :func:`is_in` gives each
version the spelling it reads as one set of values.
"""

from __future__ import annotations

import polars as pl


def _reads_imploded() -> bool:
    try:
        pl.Series([1, 2]).is_in(pl.Series([1]).implode())
    except pl.exceptions.PolarsError:
        return False
    return True


_IMPLODED = _reads_imploded()


def is_in(values: pl.Series, other: pl.Series) -> pl.Series:
    """Per value of ``values``, whether ``other`` holds it (a missing value stays missing), on any supported polars."""
    return values.is_in(other.implode() if _IMPLODED else other)
