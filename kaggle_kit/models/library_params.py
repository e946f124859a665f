"""Library parameters pass through, canonicalised (STYLE.md practice 16).

A model's ``params`` reach XGBoost, LightGBM or CatBoost under the names the user wrote, but each library has
aliases (``eta`` = ``learning_rate``; ``min_child_samples`` = ``min_data_in_leaf``; ...). Each adapter resolves them
with the library's *own* table or parser and hands the result to :func:`canonicalise`, which

* rejects a name the library does not know, with close matches from the library's own parameter list,
* rejects two names of one parameter given together,
* rejects a parameter the kit sets itself (threads, device, seed, rounds), under any of its names,
* and returns the user's parameters keyed by canonical name, so that :func:`merge` lets them win over the kit's
  defaults whatever alias the user wrote (without it a kit default ``learning_rate`` and the user's ``eta`` would
  both reach the library, and which one wins would be the library's accident).

Values are checked by the adapters before any fold is fitted, by the library itself: XGBoost and LightGBM train one
round on a few rows (:func:`probe_rows`; :func:`quiet` keeps their console output of such probes away from the
user), CatBoost runs its option parser.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError


def close_matches(word: str, choices: Iterable[str], n: int = 3) -> str:
    """``" Close matches: 'a', 'b'."`` (case ignored), or ``""`` when nothing is close."""
    by_lower: dict[str, str] = {}
    for choice in sorted(set(choices)):
        by_lower.setdefault(choice.lower(), choice)
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=n, cutoff=0.6)
    if not close:
        return ""
    return " Close matches: " + ", ".join(repr(by_lower[c]) for c in close) + "."


@dataclass(frozen=True)
class Resolved:
    """The user's parameters under canonical names, and the name each was given as."""

    params: dict[str, Any]
    given_as: dict[str, str]

    def user_key(self, canonical: str) -> str:
        return self.given_as.get(canonical, canonical)


def canonicalise(
    model: str,
    library: str,
    params: dict[str, Any],
    canonical_of: Callable[[str], str | None],
    known: Callable[[], Iterable[str]],
    reserved: dict[str, str],
    context: str = "",
) -> Resolved:
    """Resolve every key of ``params`` to its canonical name (``canonical_of`` returns None for an unknown name).

    ``reserved`` maps a name the kit sets (canonical, or a name the library does not know but users reach for,
    such as ``n_estimators``) to the spec key that controls it instead. ``known`` lists the library's parameter
    names for the "close matches" of an unknown one (called only then); ``context`` says when the library knows
    a name only in some settings (" with booster 'gbtree' and objective 'binary:logistic'").
    """
    out: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, value in params.items():
        if key in reserved:
            raise ConfigError(f"model {model!r}: params.{key} is set by the kit; {reserved[key]}")
        canonical = canonical_of(key)
        if canonical is None:
            raise ConfigError(
                f"model {model!r}: params.{key} is not a parameter {library} knows{context}."
                f"{close_matches(key, known())}"
            )
        if canonical in reserved:
            raise ConfigError(
                f"model {model!r}: params.{key} is set by the kit ({library} reads it as {canonical}); "
                f"{reserved[canonical]}"
            )
        if canonical in given_as:
            raise ConfigError(
                f"model {model!r}: params.{given_as[canonical]} and params.{key} are two names of {library}'s "
                f"parameter {canonical}; keep one"
            )
        given_as[canonical] = key
        out[canonical] = value
    return Resolved(out, given_as)


def merge(defaults: dict[str, Any], resolved: Resolved, *, drop: Iterable[str] = ()) -> dict[str, Any]:
    """The kit's defaults (canonical names) overridden by the user's parameters; ``drop`` names defaults to leave
    out (e.g. one the user's choices make meaningless)."""
    left_out = set(drop)
    return {**{k: v for k, v in defaults.items() if k not in left_out}, **resolved.params}


def rejected_value(model: str, library: str, key: str, value: Any, message: str) -> ConfigError:
    """The error for a value the library refused to parse, quoting the library's own reason."""
    reason = " ".join(message.split())
    return ConfigError(f"model {model!r}: params.{key} = {value!r} is rejected by {library}: {reason}")


def find_culprit(
    kit: dict[str, Any], user: dict[str, Any], probe: Callable[[dict[str, Any]], str | None]
) -> tuple[str, str] | None:
    """The user parameter (canonical name) a library refused, and its reason: the first that fails beside the kit's
    parameters alone, else the first whose removal makes the whole set pass (one that is wrong only in the context of
    the others); None when no single parameter is at fault."""
    for key, value in user.items():
        reason = probe({**kit, key: value})
        if reason is not None:
            return key, reason
    for key in user:
        rest = {k: v for k, v in user.items() if k != key}
        if probe({**kit, **rest}) is None:
            reason = probe({**kit, **user})
            return key, reason or ""
    return None


def probe_rows(task: str, n_classes: int, n_features: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """A few rows of the task's kind (labels 0/1, 0..C-1, or positive values) to let a library parse params on."""
    n = max(40, 4 * n_classes)
    X = np.random.default_rng(0).normal(size=(n, n_features))
    if task == "regression":
        # in (0, 1): poisson / gamma / tweedie objectives accept it, and so do the cross-entropy ones of a target of
        # shares or soft labels (LightGBM's xentropy, XGBoost's reg:logistic), which values above 1 had made refused
        y = (1.0 + np.arange(n, dtype=np.float64)) / (n + 1)
    else:
        y = (np.arange(n) % max(2, n_classes)).astype(np.float64)
    return X, y


def per_feature(value: Any) -> bool:
    """True for values that describe each feature or group of features (``monotone_constraints = [1, -1]``,
    ``interaction_constraints = "[[0, 1]]"``): they can only be checked against the real columns, at fit time."""
    if isinstance(value, (list, tuple, dict)):
        return True
    return isinstance(value, str) and value.lstrip()[:1] in ("(", "[", "{")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence what a library prints or warns while the kit probes parameters on a few rows: Python's output, and
    what its C++ core writes to the process's own stdout / stderr (LightGBM's ``[Fatal]`` lines)."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), _quiet_fds():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def _quiet_fds() -> Iterator[None]:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
    except (OSError, ValueError):  # no such descriptors (a detached process): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def check_objective(
    model: str,
    library: str,
    key: str,
    value: Any,
    task: str,
    probability: dict[str, tuple[str, ...]],
    classification: tuple[str, ...],
    *,
    fold_case: bool = False,
) -> None:
    """Refuse an objective whose predictions are not what the kit reads for the task, before any fit: class
    probabilities for a binary or multiclass task (``probability[task]``: the library's objectives that give them),
    one value per row for a regression (none of the library's ``classification`` objectives). ``fold_case``: the
    library reads the name in any case (LightGBM: 'Binary' is 'binary'), so it is compared lower-cased.

    Without it XGBoost's ``multi:softmax`` (one class label per row) stopped a fold with numpy's reshape error, and
    ``binary:logitraw`` margins or a regression objective's values were stored as probabilities."""
    if not isinstance(value, str):
        return
    name = value.strip().lower() if fold_case else value.strip()
    allowed = probability.get(task)
    if allowed is not None and name not in allowed:
        raise ConfigError(
            f"model {model!r}: params.{key} = {value!r} does not make {library} predict class probabilities, which "
            f"a {task} model of the kit predicts; use {' or '.join(repr(a) for a in allowed)}"
        )
    if allowed is None and name in classification:
        shares = _SHARE_OBJECTIVES.get(name)
        hint = f" ({shares!r} fits the same log loss to a target of shares in [0, 1])" if shares else ""
        raise ConfigError(
            f"model {model!r}: params.{key} = {value!r} is a classification objective and the task is {task}; "
            f"leave params.{key} out for {library}'s regression default, or give a regression objective{hint}"
        )


#: a binary objective -> the regression objective of the same loss, which takes a target of shares (``reg:logistic``
#: is XGBoost's ``binary:logistic`` for targets in [0, 1]; LightGBM's ``xentropy`` its ``binary``)
_SHARE_OBJECTIVES = {"binary:logistic": "reg:logistic", "binary": "xentropy"}


def check_monotone(
    model: str, library: str, key: str, value: Any, names: tuple[str, ...], categorical: tuple[int, ...], *, exact: bool
) -> None:
    """Refuse, before a fold's fit, a monotone constraint the library cannot apply to the fold's columns: one on a
    categorical column (LightGBM aborted the whole process, ``terminate called without an active exception``;
    CatBoost failed every fold; XGBoost ignored it) and, where the library needs one value per column (``exact``:
    LightGBM), a list of another length. ``value`` is a list, a ``"(1,0,-1)"`` / ``"1,0,-1"`` string, or a dict
    keyed by column name (XGBoost, CatBoost)."""
    if isinstance(value, dict):  # keyed by column name, or (CatBoost) by column position
        position = {name: i for i, name in enumerate(names)} | {str(i): i for i in range(len(names))}
        unknown = [str(k) for k in value if str(k) not in position]
        if unknown:
            raise ConfigError(
                f"model {model!r}: params.{key} names column {unknown[0]!r}, which the model's matrix does not have; "
                f"its columns: {', '.join(names)}"
            )
        signs = [0] * len(names)
        for k, v in value.items():
            signs[position[str(k)]] = v
    elif isinstance(value, (list, tuple)):
        signs = list(value)
    elif isinstance(value, str):
        text = value.strip().strip("()[]")
        try:
            signs = [int(float(part)) for part in text.split(",") if part.strip()]
        except ValueError:
            return  # the library's own parser names it
    else:
        return
    if exact:
        check_length(model, library, key, signs, names)
    on_categories = [names[i] for i in categorical if i < len(signs) and _nonzero(signs[i])]
    if on_categories:
        raise ConfigError(
            f"model {model!r}: params.{key} constrains categorical column(s) {', '.join(map(repr, on_categories))}, "
            f"whose levels have no order; {library} constrains numeric columns only: give them 0"
        )


def check_length(model: str, library: str, key: str, value: Any, names: tuple[str, ...]) -> None:
    """Refuse a per-column list (``max_bin_by_feature``, ``feature_contri``, ...) whose length is not the model's
    column count, naming the columns in order: the kit's pipeline decides them, and the library's own check named
    only its C++ source line, from every fold."""
    values = _as_list(value)
    if values is not None and len(values) != len(names):
        raise ConfigError(
            f"model {model!r}: params.{key} has {len(values)} values and the model's matrix has {len(names)} "
            f"columns; {library} takes one per column, in this order: {', '.join(names)}"
        )


def _as_list(value: Any) -> list[str] | None:
    """A list, or a comma-separated string (LightGBM's form), as its items; None for anything else."""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, str):
        return [part for part in value.strip().strip("()[]").split(",") if part.strip()]
    return None


def _nonzero(sign: Any) -> bool:
    try:
        return float(sign) != 0
    except (TypeError, ValueError):
        return False
