"""The kit's exceptions: every message names the key, column or file at fault and the fix.

All derive from :class:`KitError` (a ``ValueError``), so a notebook can catch one type, and the CLI prints the message
without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


class KitError(ValueError):
    """Bad input the user can fix; the message says what was wrong and how to fix it."""


class ConfigError(KitError):
    """The competition spec is malformed, has unknown keys, wrong types or impossible combinations."""


class DataError(KitError):
    """A data file or column does not match what the spec promises."""


class StoreError(KitError):
    """The run directory is unusable, corrupted, or belongs to a different run."""


class DataWarning(UserWarning):
    """Something in the data the kit handled in a documented way (a column dropped, values read as missing) that
    the user should know of; the message names the column and what was done. The CLI prints it as one
    ``warning: ...`` line."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or ``""`` when nothing is close.

    Case is ignored when comparing (``"ID"`` finds ``"id"``); the suggestion keeps the choice's own spelling."""
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(str(choice).lower(), str(choice))
    lower = str(word).lower()
    close = difflib.get_close_matches(lower, list(by_lower), n=3, cutoff=0.6)
    if not close:
        return ""
    # of the closest alike, two letters swapped ("tets") is the likelier slip: 'test' before 'text' (difflib takes the
    # alphabetically last of a tie)
    best = difflib.SequenceMatcher(None, lower, close[0]).ratio()
    tied = [c for c in close if difflib.SequenceMatcher(None, lower, c).ratio() == best]
    swapped = [c for c in tied if sorted(c) == sorted(lower)]
    return f" Did you mean {by_lower[(swapped or close)[0]]!r}?"


def allowed(choices: Iterable[str]) -> str:
    """Format a set of allowed values for a message: ``'a', 'b' or 'c'``."""
    items = sorted(repr(c) for c in choices)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


#: the items (columns, classes) a message names; the rest are counted
MAX_NAMED = 5


def name_a_few(parts: Sequence[str], what: str, sep: str = "; ") -> str:
    """The first :data:`MAX_NAMED` of ``parts`` joined by ``sep``, then ``"and N more <what>"`` for the rest."""
    shown = sep.join(parts[:MAX_NAMED])
    return shown + (f"{sep}and {len(parts) - MAX_NAMED} more {what}" if len(parts) > MAX_NAMED else "")
