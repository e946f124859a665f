"""Warnings a fold raised in a worker process, raised again in the process that runs the competition.

A worker's ``warnings.warn`` (a pipeline step that makes a constant column 0, a library's convergence warning) went
to the worker's own standard error: the command line printed it there, but a Python caller (a script, a notebook,
``pytest.warns``, ``warnings.catch_warnings(record=True)``) never saw it, and a notebook showed it, if at all, in the
kernel's log. The worker records the warnings of each task (:func:`recording`) and hands them back with its result,
or on the exception of a fold that failed (:data:`ATTRIBUTE`: they may tell why it failed); the parent warns them
again (:func:`warn_again`), each (category, message) once per run, under the parent's own filters too, as a fold
fitted in the parent would have. A filter that makes it an error (``simplefilter("error")``, ``pytest -W error``)
does not end the run there: the fold was fitted and stored, and the other workers' folds would be lost with it
(nothing already computed is lost); the warning is shown instead (``warnings.showwarning``, which a
``catch_warnings(record=True)`` records).
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

#: a warning as it crosses between processes: its category's ``module:qualname`` and its message
Caught = tuple[str, str]
#: the attribute of a failed fold's exception that carries the warnings it raised before failing
ATTRIBUTE = "kaggle_kit_warnings"


def recording(fn: Callable[..., T], *args: Any) -> tuple[T, tuple[Caught, ...]]:
    """``fn(*args)`` and the warnings it raised, in order, each (category, message) once; none is shown here. An
    exception of ``fn`` carries them (:data:`ATTRIBUTE`; :func:`relayed_by`).

    The filters in force here still apply (what this process would have shown is what is handed back): a library's
    own, set when it was imported here (the parent may not import it), and Python's defaults (no DeprecationWarning).
    """
    with warnings.catch_warnings(record=True) as caught:
        try:
            value = fn(*args)
        except BaseException as exc:
            with contextlib.suppress(AttributeError):  # one without a __dict__ (__slots__): not told
                setattr(exc, ATTRIBUTE, _unique(caught))
            raise
    return value, _unique(caught)


def _unique(caught: list[warnings.WarningMessage]) -> tuple[Caught, ...]:
    out: dict[Caught, None] = {}
    for w in caught:
        out.setdefault((f"{w.category.__module__}:{w.category.__qualname__}", str(w.message)))
    return tuple(out)


def relayed_by(exc: BaseException | None) -> tuple[Caught, ...]:
    """The warnings a failed fold's exception carries from its worker (none for another exception)."""
    found = getattr(exc, ATTRIBUTE, ()) if exc is not None else ()
    return tuple(found) if isinstance(found, tuple) else ()


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
    """Warn each of ``caught`` not in ``seen`` (which it joins) in this process; never raises it (see the module)."""
    for item in caught:
        if item in seen:
            continue
        seen.add(item)
        category = _category(item[0])
        try:
            warnings.warn(item[1], category, stacklevel=2)
        except Warning:  # an "error" filter: shown, not raised in the middle of the run's folds
            warnings.showwarning(item[1], category, __file__, 0)
