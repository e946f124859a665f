"""Messy competitions made on the fly: the ways real competition files differ from a clean table, combined.

:func:`make_messy` writes a small competition (train, test, sample submission, config) whose files have any mix of:
numbers with thousands separators (``"51,257.30"``), a ``"?"`` placeholder among numbers, ``inf`` / ``-inf``, column
names model libraries refuse (``x[1]``, ``y<2>``, ``a:b``, ``{c}``, ``"q"``, ``größe``), a saved pandas index
(an unnamed first column), zero-padded ids (``"007"``), text class labels (in an order only the config knows), a
test column that is empty, and ``;`` (with decimal commas) or tab separated files. The returned :class:`Messy`
says what a correct run must produce: the parsed values and the submission's exact ids and label spellings.

It is a test helper, not part of the package: a user's own files are checked by the same data checks it exercises.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

N_TRAIN, N_TEST = 60, 20
#: names XGBoost or LightGBM refuse ([, ], <, :, braces, quotes) or rewrite (unicode)
ODD_NAMES = ("x[1]", "y<2>", "a:b", "{c}", '"q"', "größe")
LEVELS = ("low", "mid", "high")  # ordinal text labels, deliberately not in alphabetical order


@dataclass(frozen=True)
class Messy:
    """A written messy competition and what a correct run of it must give."""

    folder: Path
    config: Path
    task: str
    metric: str
    test_ids: tuple[str, ...]  # the submission's ids, spelled as the sample submission spells them, in its order
    labels: tuple[str, ...]  # class labels as the train file spells them (empty for regression)
    parsed: dict[str, list[float | None]] = field(default_factory=dict)  # train column -> values once read
    flags: tuple[str, ...] = ()


def make_messy(
    folder: Path,
    *,
    task: str = "binary",
    separator: str = ",",
    thousands: bool = False,
    placeholder: bool = False,
    inf: bool = False,
    odd_names: bool = False,
    unnamed_index: bool = False,
    zero_padded_ids: bool = False,
    text_labels: bool = False,
    empty_test_column: bool = False,
    models: tuple[str, ...] = ("lightgbm",),
    seed: int = 0,
) -> Messy:
    """Write a messy competition into ``folder``; see the module docstring for what each flag does."""
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    decimal = "," if separator == ";" else "."
    signal = rng.normal(size=n)
    amount = np.round(np.exp(rng.normal(8.0, 1.0, size=n)) + 1000 * signal, 2)
    score = np.round(signal + 0.3 * rng.normal(size=n), 3)
    ratio = np.round(rng.normal(size=n), 4)
    cols: dict[str, list[object]] = {}
    parsed: dict[str, list[float | None]] = {}

    ids = [f"{i:03d}" if zero_padded_ids else str(i) for i in range(1, n + 1)]
    if unnamed_index:
        cols[""] = list(range(N_TRAIN)) + list(range(N_TEST))  # pandas' to_csv of each frame
    cols["id"] = ids

    def number(v: float) -> str:
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        text = f"{v:,.2f}" if thousands else repr(float(v))
        if decimal == ",":  # 1,234.5 -> 1.234,5
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    cols["amount"] = [number(v) for v in amount]
    score_text = [number(v) for v in score]
    if placeholder:
        for i in (2, 11, 40, N_TRAIN + 3):
            score_text[i] = "?"
    cols["score"] = score_text
    if inf:
        for i, v in ((5, math.inf), (17, -math.inf), (N_TRAIN + 1, math.inf)):
            ratio[i] = v
    cols["ratio"] = [number(v) for v in ratio]
    cols["color"] = [("red", "green", "blue")[int(i)] for i in rng.integers(0, 3, size=n)]
    if odd_names:
        for j, name in enumerate(ODD_NAMES):
            cols[name] = [number(v) for v in np.round(signal * (j + 1) + rng.normal(size=n), 3)]
    if empty_test_column:
        cols["blank"] = [number(v) for v in rng.normal(size=N_TRAIN)] + [""] * N_TEST

    if task == "regression":
        target = [number(float(v)) for v in np.round(np.exp(3 + signal), 2)]
        labels: tuple[str, ...] = ()
        metric = "rmsle"
    elif task == "multiclass":
        cuts = np.quantile(signal, [1 / 3, 2 / 3])
        codes = np.searchsorted(cuts, signal)
        labels = LEVELS if text_labels else ("1", "2", "3")
        target = [labels[c] for c in codes]
        metric = "qwk"
    else:
        labels = ("False", "True") if text_labels else ("0", "1")
        target = [labels[int(v > 0)] for v in signal]
        metric = "accuracy"

    folder.mkdir(parents=True, exist_ok=True)
    names = list(cols)
    rows = [[cols[c][i] for c in names] for i in range(n)]
    _write(
        folder / "train.csv",
        [*names, "target"],
        [[*r, t] for r, t in zip(rows[:N_TRAIN], target[:N_TRAIN], strict=True)],
        separator,
    )
    _write(folder / "test.csv", names, rows[N_TRAIN:], separator)
    placeholder_label = labels[0] if labels else "0"
    sample_ids = ids[N_TRAIN:][::-1]  # the sample decides the row order
    _write(folder / "sample_submission.csv", ["id", "target"], [[i, placeholder_label] for i in sample_ids], ",")

    data = ['train = "train.csv"', 'test = "test.csv"', 'sample_submission = "sample_submission.csv"']
    data += ['id = "id"', 'target = "target"']
    if thousands:
        data.append(f'thousands = "{"." if decimal == "," else ","}"')
    if decimal == ",":
        data.append('decimal = ","')
    if placeholder:
        data.append('na_values = ["?"]')
    if task == "multiclass" and text_labels:
        data.append(f"classes = [{', '.join(repr(c).replace(chr(39), chr(34)) for c in LEVELS)}]")
    model_tables = "\n".join(_MODELS[m] for m in models)
    config = folder / "messy.toml"
    config.write_text(
        f'name = "messy"\ntask = "{task}"\nmetric = "{metric}"\nseed = 0\n\n[data]\n'
        + "\n".join(data)
        + '\n\n[folds]\nn_splits = 2\nstrategy = "kfold"\n\n[run]\nn_jobs = 1\nthreads_per_task = 1\n\n'
        + model_tables
    )
    group = ("." if decimal == "," else ",") if thousands else None
    for name in ("amount", "score", "ratio"):  # what the written text means, by plain Python string handling
        parsed[name] = [_meaning(str(t), group, decimal) for t in cols[name][:N_TRAIN]]
    if task == "regression":
        parsed["target"] = [_meaning(t, group, decimal) for t in target[:N_TRAIN]]
    flags = tuple(
        k
        for k, v in dict(
            thousands=thousands,
            placeholder=placeholder,
            inf=inf,
            odd_names=odd_names,
            unnamed_index=unnamed_index,
            zero_padded_ids=zero_padded_ids,
            text_labels=text_labels,
            empty_test_column=empty_test_column,
        ).items()
        if v
    )
    return Messy(folder, config, task, metric, tuple(sample_ids), labels, parsed, (f"sep={separator!r}", *flags))


_MODELS = {
    "lightgbm": '[[models]]\nname = "lgbm"\nkind = "lightgbm"\nnum_boost_round = 20\nearly_stopping_rounds = 0\n'
    "params = { num_leaves = 4, min_data_in_leaf = 5 }\n",
    "xgboost": '[[models]]\nname = "xgb"\nkind = "xgboost"\nnum_boost_round = 20\nearly_stopping_rounds = 0\n'
    "params = { max_depth = 2 }\n",
    "ridge": '[[models]]\nname = "ridge"\nkind = "sklearn"\nestimator = "sklearn.linear_model.Ridge"\n',
}


def _meaning(text: str, group: str | None, decimal: str) -> float | None:
    """The value a written number stands for once read: missing for '?' and for infinity (read as missing)."""
    if text == "?" or text.lstrip("+-") == "inf":
        return None
    return float((text.replace(group, "") if group else text).replace(decimal, "."))


def _write(path: Path, header: list[str], rows: list[list[object]], separator: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=separator, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
