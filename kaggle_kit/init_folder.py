"""What ``kaggle-kit init`` reads when it is given a competition's data folder instead of ``--train FILE``.

``kaggle-kit init data/titanic`` (or ``kaggle-kit init .`` inside it) finds the training table in the folder, as
Kaggle names it (``train.csv``; ``train_features.csv`` beside its targets, ``train_sequences.csv`` beside its labels,
or the one table whose name starts with ``train``), and names the competition after the folder; ``test.*`` and
``sample_submission.*`` beside it are found as for ``--train``. ``kaggle-kit init SLUG DATA_DIR`` names it SLUG.
Without a folder or ``--train`` the command says what to pass (argparse's "the following arguments are required:
--train" did not say that a folder would do, nor that ``.`` had been taken for the competition's name).
"""

from __future__ import annotations

import re
from pathlib import Path

from .config import SAFE_NAME
from .errors import ConfigError
from .init_config import TABLE_SUFFIXES
from .readers.paths import require_given_file

#: training tables by the names Kaggle gives them, preferred in this order over any other ``train*`` table
_TRAIN_STEMS = ("train", "train_features", "train_sequences")


def _tables(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES) and p.name[0] != "."
    )


def _stem(path: Path) -> str:
    name = path.name.lower()
    return next(name[: -len(s)] for s in TABLE_SUFFIXES if name.endswith(s))


def find_train(folder: Path) -> Path:
    """The training table of the competition folder ``folder``; a :class:`ConfigError` saying what to pass where
    there is none, or several that no name tells apart."""
    tables = _tables(folder)
    by_stem: dict[str, Path] = {}
    for t in tables:
        by_stem.setdefault(_stem(t), t)
    for stem in _TRAIN_STEMS:
        if stem in by_stem:
            return by_stem[stem]
    trains = [t for t in tables if _is_train(t)]
    if len(trains) == 1:
        return trains[0]
    if trains:
        names = ", ".join(t.name for t in trains)
        raise ConfigError(
            f"the folder {str(folder)!r} holds several training tables ({names}); pass the one of features with "
            f"--train FILE (targets kept in a file of their own: init says how to join them to it)"
        )
    seen = ", ".join(t.name for t in tables[:8]) + (", ..." if len(tables) > 8 else "") if tables else "no table"
    zips = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(".zip"))
    if zips and not tables:  # the competition's download, not unpacked
        seen += f"; {zips[0]}: unzip it here first, kaggle competitions download writes one zip"
    images = (
        " (its train/ folder of images needs a train table of ids and labels beside it)"
        if (folder / "train").is_dir()
        else ""
    )
    raise ConfigError(
        f"no training table in {str(folder)!r} (train.csv, train.parquet, train.csv.gz or train.csv.zip; it holds "
        f"{seen}){images}{_inner(folder)}; pass the training file with --train FILE"
    )


def _inner(folder: Path) -> str:
    """The folders in ``folder`` that hold a training table, as the command for each (``/kaggle/input`` holds one
    folder per competition or dataset)."""
    try:
        inner = sorted(d for d in folder.iterdir() if d.is_dir() and any(_is_train(t) for t in _tables(d)))
    except OSError:
        return ""
    if not inner:
        return ""
    which = f"its folder {inner[0].name} holds one" if len(inner) == 1 else "its folders hold them"
    return f"; {which}: " + ", ".join(f"kaggle-kit init {d}" for d in inner[:4]) + (", ..." if len(inner) > 4 else "")


def _is_train(table: Path) -> bool:
    return _stem(table).startswith("train")


def slug_of(folder: Path) -> str:
    """A competition name from a folder's name (``data/House Prices`` -> ``House-Prices``)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.resolve().name).strip("-._")[:64]
    if not SAFE_NAME.match(name):
        raise ConfigError(
            f"cannot name the competition after the folder {str(folder)!r}; name it: kaggle-kit init SLUG {folder}"
        )
    return name


def _train_file(train: Path) -> Path:
    """``--train``: a file, or a folder holding the training table (a folder of images without one is left to
    init's own message, which tells how to write that table)."""
    if train.is_dir() and any(_is_train(t) for t in _tables(train)):
        return find_train(train)
    if not train.is_dir():  # a folder without a table: init's own message tells how to write one
        require_given_file(train, "train", "--train FILE")
    return train


def init_inputs(slug: str, folder: str | None, train: str | None) -> tuple[str, Path]:
    """``kaggle-kit init``'s competition name and training file from its arguments: ``SLUG --train FILE``,
    ``SLUG DATA_DIR``, or ``DATA_DIR`` alone (a ``SLUG`` that is an existing folder, ``.`` among them)."""
    if folder is not None and train is not None:
        raise ConfigError(
            f"give the data folder ({folder!r}) or --train FILE, not both: the folder's training table is its train.*"
        )
    if folder is not None:
        where = Path(folder)
        if not where.is_dir():
            raise ConfigError(f"the data folder {folder!r} does not exist (or is a file: pass a file with --train)")
        return slug, find_train(where)
    named = Path(slug)
    is_folder = named.is_dir() and (slug in (".", "..") or "/" in slug or "\\" in slug or not SAFE_NAME.match(slug))
    if train is not None:
        return (slug_of(named) if is_folder else slug), _train_file(Path(train))
    if named.is_dir():
        return slug_of(named), find_train(named)
    raise ConfigError(
        f"init needs the competition's data: its folder (kaggle-kit init {slug} DATA_DIR, or kaggle-kit init DATA_DIR; "
        "train.*, test.* and sample_submission.* are found in it) or its training file (kaggle-kit init "
        f"{slug} --train FILE; test.* and sample_submission.* beside it are found). {slug!r} is no folder here"
    )
