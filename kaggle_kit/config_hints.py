"""The messages of an invalid competition spec: one line per fault pydantic finds, naming the key (and the model
it belongs to) and the fix: the closest allowed key ("did you mean ...?"), the spec's name for another tool's key
(``n_estimators``: ``num_boost_round``), where a library's parameter goes, the bound a value breaks, and a table or
list written in the other TOML shape (``[models]`` for ``[[models]]``)."""

from __future__ import annotations

import re
from typing import Any

import tomli_w
from pydantic import BaseModel, ValidationError

from .config import (
    CompetitionSpec,
    DataSpec,
    DistributionSpec,
    FoldSpec,
    ImageFilesSpec,
    ModelSpec,
    PipelineSpec,
    PseudoLabelSpec,
    RunSpec,
    SearchSpec,
    SequenceSpec,
)
from .errors import allowed, did_you_mean

#: the spec's table that holds a key, by the name of the section the key is in
_SECTION_MODELS: dict[str, type[BaseModel]] = {
    "": CompetitionSpec,
    "data": DataSpec,
    "sequences": SequenceSpec,
    "images": ImageFilesSpec,
    "folds": FoldSpec,
    "run": RunSpec,
    "models": ModelSpec,
    "search": SearchSpec,
    "pseudo_label": PseudoLabelSpec,
    "distribution": DistributionSpec,
}


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _section_of(loc: tuple[Any, ...]) -> type[BaseModel]:
    names = [p for p in loc[:-1] if isinstance(p, str)]
    if len(names) == 2 and names[0] == "pipelines":  # pipelines.<name>.<key>
        return PipelineSpec
    return _SECTION_MODELS.get(names[-1] if names else "", CompetitionSpec)


#: other tools' names of the spec's keys: scikit-learn's, the libraries' own, other kits'
_KEY_SYNONYMS = {
    "n_estimators": "num_boost_round",
    "num_iterations": "num_boost_round",
    "iterations": "num_boost_round",
    "num_rounds": "num_boost_round",
    "nrounds": "num_boost_round",
    "early_stopping": "early_stopping_rounds",
    "random_state": "seed",
    "random_seed": "seed",
    "cv": "n_splits",
    "folds": "n_splits",
    "nfold": "n_splits",
}


def _unknown_key_hint(section: type[BaseModel], key: str, value: Any, fields: list[str]) -> str:
    """What an unknown key meant: the spec's name for another tool's (``n_estimators``: it suggested 'estimator'),
    the closest allowed key, or, in a model, where a library's parameter goes (``learning_rate = 0.05`` beside
    ``kind``: it was "unknown key" and the list of allowed keys)."""
    same = _KEY_SYNONYMS.get(key)
    if same in fields:
        return f" Did you mean {same!r}?"
    if same == "seed" and section is FoldSpec:
        return " The spec's top-level seed = ... fixes the folds."
    close = did_you_mean(key, fields)
    if close or section is not ModelSpec:
        return close
    return f" A library's parameter goes in the model's params table: params = {{ {_inline(key, value)} }}"


def _inline(key: str, value: Any) -> str:
    """``key = value`` on one line, as TOML writes it (tomli_w writes a list one item a line); the key alone where the
    value is no TOML scalar or list of them (a Python caller's None: tomli_w's TypeError)."""
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, (str, int, float, bool)) for v in items):
        return key
    parts = [tomli_w.dumps({key: v}).strip().split(" = ", 1) for v in items]
    values = [part[1] for part in parts]
    return f"{parts[0][0] if parts else key} = " + (f"[{', '.join(values)}]" if isinstance(value, list) else values[0])


#: pydantic's bound errors, as a message states the bound
_BOUNDS = {
    "greater_than_equal": "at least",
    "greater_than": "more than",
    "less_than_equal": "at most",
    "less_than": "less than",
}


#: what a message on these keys adds to say the fix
_KEY_HINTS = {"early_stopping_rounds": " (0 turns early stopping off)", "n_jobs": " (0 = one task per CPU core)"}


def explain(error: dict[str, Any], data: Any = None) -> str:
    """One fault of a pydantic error as a line of the message (``data``: as :func:`validation_message`)."""
    loc = tuple(error["loc"])
    key = _key_path(loc)
    owner = ""
    if len(loc) > 2 and loc[0] == "models" and loc[2] != "name" and isinstance(loc[1], int) and isinstance(data, dict):
        models = data.get("models")  # models[3] alone sends the user counting tables: name the model too
        model = models[loc[1]] if isinstance(models, list) and loc[1] < len(models) else None
        if isinstance(model, dict) and isinstance(model.get("name"), str):
            owner = f" (model {model['name']!r})"
    kind = error["type"]
    if kind == "extra_forbidden":
        section = _section_of(loc)
        fields = [f for f, info in section.model_fields.items() if not info.exclude]
        hint = _unknown_key_hint(section, str(loc[-1]), error.get("input"), fields)
        return f"unknown key {key!r}{owner}; allowed here: {allowed(fields)}.{hint}"
    if kind == "missing":
        return f"missing required key {key!r}{owner}"
    key += owner
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{key} must be one of {expected}; got {error.get('input')!r}.{_literal_hint(error)}"
    message = str(error["msg"]).removeprefix("Value error, ")
    bound = _BOUNDS.get(kind)
    if bound is not None:  # pydantic's "Input should be greater than or equal to 2" names neither key nor value
        limit = next(iter(error.get("ctx", {}).values()), "?")
        hint = _KEY_HINTS.get(str(loc[-1]), "") if loc else ""
        shown = f"{limit:g}" if isinstance(limit, float) else limit  # 0.0 as 0; a 32-bit seed's bound in full
        return f"{key} must be {bound} {shown}{hint}; got {error.get('input')!r}"
    shape = _shape_slip(kind, loc, key, error.get("input"))
    if shape:
        return shape
    if kind == "int_from_float":
        return f"{key} must be a whole number; got {error.get('input')!r}"
    if kind == "dict_type" and loc[-1] == "params":
        example = "{ num_leaves = 31 }"
        return f"{key} must be a table of the library's parameters, such as {example}; got {error['input']!r}"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{key}: {message}; got {error.get('input')!r}"
    if loc and message.startswith("["):  # a list item named by the validator itself: steps[2] (clip): ...
        return f"{key}{message}"
    if kind != "value_error" and "input" in error and isinstance(error["input"], (int, float, str)):
        message += f"; got {error['input']!r}"  # pydantic's own text names no value
    return f"{key}: {message}" if loc else message


def _shape_slip(kind: str, loc: tuple[Any, ...], key: str, got: Any) -> str:
    """A table, array of tables or list written in the other TOML shape, said with the shape to write; "" for any
    other fault. (pydantic said "Input should be a valid dictionary or instance of DataSpec".)"""
    if kind == "list_type" and loc == ("models",) and isinstance(got, dict):
        return "models must be [[models]] tables (two brackets), one per model; got one [models] table"
    if kind == "list_type" and isinstance(got, (str, int, float)):
        return f"{key} must be a list; write [{got!r}] for one item; got {got!r}"
    tables = all(isinstance(part, str) for part in loc)
    if kind == "dict_type" and loc == ("pipelines",) and isinstance(got, list):
        return "pipelines are tables by name, [pipelines.NAME] with steps = [...]; got [[pipelines]] (a list)"
    if kind == "model_type" and tables and isinstance(got, list):
        return f"{key} must be one [{key}] table (one bracket); got [[{key}]] (a list of {len(got)} table(s))"
    if kind == "model_type":
        return f"{key} must be a table of keys (key = value lines, or {{ key = value, ... }}); got {got!r}"
    return ""


def _literal_hint(error: dict[str, Any]) -> str:
    expected = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
    got = error.get("input")
    return did_you_mean(got, expected) if isinstance(got, str) else ""


def validation_message(exc: ValidationError, source: str, data: Any = None) -> str:
    """One line per fault of ``exc``; ``data``, the validated dict, lets a model's fault name the model."""
    lines = [explain(e, data) for e in exc.errors()]
    return f"{source}: invalid competition spec:\n  - " + "\n  - ".join(lines)
