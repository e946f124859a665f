"""What the report's leaderboard ranks beside the models, read as ``kaggle-kit blend`` and ``submit --best`` read it:
a stored blend's OOF in the run's training row order (a blend written by hand may list its rows otherwise), and the
marks of rows ``submit --best`` cannot pick (no test predictions: never named the best) or whose nested CV may be
optimistic (imported predictions whose folds were not checked, and blends of them)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl

from ..blend.inputs import train_ids
from ..blend.storage import external_sources, read_external_predictions
from ..errors import KitError, allowed
from ..readers.polars_versions import is_in
from ..runtime.store import RunStore
from .blends import BlendSummary
from .entries import Entry


def blend_oofs(
    store: RunStore, blends: list[BlendSummary], oofs: dict[str, np.ndarray], notes: list[str]
) -> list[BlendSummary]:
    """The blends whose stored OOF can be scored, their OOF added to ``oofs`` in the run's training row order. A blend
    written by hand (the tolerant layout of :mod:`.blends`) may list its rows in another order (put in the run's, by
    id: they had been scored against other rows' targets) or lack some (left out, with a note: an ``IndexError``
    had stopped the report)."""
    try:
        ids = train_ids(store).cast(pl.String)
    except KitError:
        ids = None  # no folds.parquet: the ranking falls back to recorded scores (the report says so)
    kept = []
    for b in blends:
        frame = b.oof()
        if frame is None or ids is None or b.name in oofs:
            kept.append(b)
            continue
        theirs = frame[frame.columns[0]].cast(pl.String)
        if theirs.len() == ids.len() and bool((theirs == ids).all()):
            oofs[b.name] = matrix(frame)
        elif theirs.len() == ids.len() and theirs.n_unique() == ids.len() and bool(is_in(theirs, ids).all()):
            order = pl.DataFrame({"__id": ids}).join(
                pl.DataFrame({"__id": theirs, "__row": np.arange(frame.height)}),
                on="__id",
                how="left",
                maintain_order="left",
            )["__row"]
            oofs[b.name] = matrix(frame)[order.to_numpy()]
        else:
            notes.append(
                f"Blend {b.name!r} left out: the ids of {b.folder / 'oof.parquet'} are not the run's {ids.len()} "
                f"training ids ({theirs.len()} row(s), {theirs.n_unique()} distinct); write one row per training row"
            )
            continue
        kept.append(b)
    return kept


def marked(entries: list[Entry], store: RunStore, blends: list[BlendSummary], notes: list[str]) -> list[Entry]:
    """The entries marked as ``submit --best`` sees them: imported predictions without test predictions (where the run
    has test rows), and blends without them, cannot be submitted, so are never named the best; imports whose folds
    were not checked, and blends of them, may score optimistically by nested CV. Each with a note saying so."""
    has_test = int(store.read_meta().get("n_test") or 0) > 0
    sources = external_sources(store.root)
    unchecked = {n for n, src in sources.items() if not src.get("folds_checked")}
    folders = {b.name: b.folder for b in blends}
    out, untested, flagged_names = [], [], []
    for e in entries:
        if e.is_blend:
            tested = not has_test or (folders[e.name] / "test.parquet").is_file()
            flagged = any(m in unchecked for m in next(b.models for b in blends if b.name == e.name))
        elif e.name in sources:
            tested = not has_test or read_external_predictions(store.root, e.name, "test") is not None
            flagged = e.name in unchecked
        else:
            out.append(e)
            continue
        if not tested:
            untested.append(e.name)
        if flagged:
            flagged_names.append(e.name)
        out.append(replace(e, submittable=tested, unchecked=flagged))
    imports = [n for n in untested if n in sources]
    if imports:
        notes.append(
            f"Imported predictions without test predictions (imported without --test: {allowed(imports)}): ranked "
            "by their CV, but `kaggle-kit submit --best` cannot submit them, so the report never names them the "
            "best; import them again with their test file (--test)"
        )
    if len(imports) < len(untested):
        notes.append(
            f"The blend(s) {allowed([n for n in untested if n not in sources])} have no test predictions "
            "(test.parquet): ranked, but `kaggle-kit submit --best` cannot submit them, so the report never names "
            "them the best; blend again (`kaggle-kit blend`)"
        )
    if flagged_names:
        blended = [n for n in flagged_names if n not in unchecked]
        what = f"the nested CV of the blends of them ({allowed(blended)}) is" if blended else "a blend of them would be"
        notes.append(
            f"Folds unchecked (imported without a fold column matching the run's folds, every repeat's: "
            f"{allowed(sorted(unchecked))}): {what} optimistic if they were made on other folds; import them again "
            "with their fold column (--fold-column)"
        )
    return out


def matrix(frame: pl.DataFrame) -> np.ndarray:
    """A stored prediction frame (id + prediction columns) as its float matrix."""
    return frame.drop(frame.columns[0]).to_numpy().astype(np.float64)
