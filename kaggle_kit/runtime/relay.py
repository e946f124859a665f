"""Warnings a fold raised in a worker process, raised again in the process that runs the competition.

A worker's ``warnings.warn`` (a pipeline step that makes a constant column 0, a library's convergence warning) went
to the worker's own standard error: the command line printed it there, but a Python caller (a script, a notebook,
``pytest.warns``, ``warnings.catch_warnings(record=True)``) never saw it, and a notebook showed it, if at all, in the
kernel's log. The worker records the warnings of each task (:func:`recording`) and hands them back with its result;
the parent warns them again (:func:`warn_again`), each (category, message) once per run, under the parent's own
filters too, as a fold fitted in the parent would have.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

#: a warning as it crosses between processes: its category's ``module:qualname`` and its message
Caught = tuple[str, str]


def recording(fn: Callable[..., T], *args: Any) -> tuple[T, tuple[Caught, ...]]:
    """``fn(*args)`` and the warnings it raised, in order, each (category, message) once; none is shown here.

    The filters in force here still apply (what this process would have shown is what is handed back): a library's
    own, set when it was imported here (the parent may not import it), and Python's defaults (no DeprecationWarning).
    """
    with warnings.catch_warnings(record=True) as caught:
        value = fn(*args)
    out: dict[Caught, None] = {}
    for w in caught:
        out.setdefault((f"{w.category.__module__}:{w.category.__qualname__}", str(w.message)))
    return value, tuple(out)


def _category(name: str) -> type[Warning]:
    """The warning class ``module:qualname`` names (imported here as the parent's), else UserWarning."""
    module, _, qualname = name.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return UserWarning
    return found if isinstance(found, type) and issubclass(found, Warning) else UserWarning


def warn_again(caught: Iterable[Caught], seen: set[Caught]) -> None:
    """Warn each of ``caught`` not in ``seen`` (which it joins) in this process."""
    for item in caught:
        if item in seen:
            continue
        seen.add(item)
        warnings.warn(item[1], _category(item[0]), stacklevel=2)
