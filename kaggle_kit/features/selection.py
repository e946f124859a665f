"""Column selection steps: keep (``select``) or remove (``drop``) feature columns by name or regular expression.

Models that share one frame often read different columns: trees the per-sequence statistics, nets the steps
(``<column>__t<k>``). ``{ step = "drop", pattern = '.+__t\\d+' }`` removes the step columns from a tree's
pipeline; ``{ step = "select", columns = ["age", "fare"] }`` keeps just those. A ``pattern`` matches whole names
(``re.fullmatch``) of the columns that are features at that step (in their order); explicit ``columns`` must be
features, and an unknown name is an error with "did you mean ...?". Neither step reads the target or any values,
so the fitted state is just the list of columns kept.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from pydantic import model_validator

from ..errors import DataError, did_you_mean
from .base import Columns, Roles, Step, StepContext, register


class _Selection(Step):
    columns: Columns | None = None
    pattern: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> _Selection:
        if (self.columns is None) == (self.pattern is None):
            raise ValueError(
                "give exactly one of columns (a list of names, or 'numeric' / 'categorical' / ...) and pattern "
                "(a regular expression matching whole names)"
            )
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r} is not a valid regular expression ({exc})") from None
        return self

    def _matched(self, frame: pl.LazyFrame, ctx: StepContext) -> list[str]:
        """The feature columns the step names, in the features' order."""
        schema = frame.collect_schema()
        features = [c for c in ctx.roles.features if c in schema]
        if self.pattern is not None:
            rx = re.compile(self.pattern)
            matched = [c for c in features if rx.fullmatch(c)]
            if not matched:
                raise DataError(
                    f"{ctx.where}: pattern {self.pattern!r} matches none of the feature columns "
                    f"{features[:10]}{' ...' if len(features) > 10 else ''}"
                )
            return matched
        names = ctx.resolve(self.columns, schema, reads=False)  # type: ignore[arg-type]  # explicit names must exist
        not_features = [c for c in names if c not in features]
        if not_features:
            raise DataError(
                f"{ctx.where}: column {not_features[0]!r} is not a feature column (id, target and data.drop columns "
                f"are not).{did_you_mean(not_features[0], features)}"
            )
        wanted = set(names)
        return [c for c in features if c in wanted]

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        present = set(frame.collect_schema())
        return frame.drop([c for c in state["dropped"] if c in present])

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        roles.remove(state["dropped"])

    def inputs(self, state: dict[str, Any]) -> list[str]:
        return []  # reads no values


@register
class Select(_Selection):
    """Keep only the named (or matching) feature columns; the other features are removed."""

    kind = "select"

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        kept = self._matched(frame, ctx)
        if not kept:  # a shortcut that picks nothing (no categorical column): no feature would be left
            raise DataError(
                f"{ctx.where}: columns = {self.columns!r} picks no feature column, so select would keep none; name "
                "the columns to keep (columns = [...])"
            )
        return {"kept": kept, "dropped": [c for c in ctx.roles.features if c not in set(kept)]}


@register
class Drop(_Selection):
    """Remove the named (or matching) feature columns."""

    kind = "drop"

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        dropped = self._matched(frame, ctx)
        kept = [c for c in ctx.roles.features if c not in set(dropped)]
        if not kept:
            raise DataError(f"{ctx.where}: it would drop every feature column; drop fewer")
        return {"kept": kept, "dropped": dropped}
