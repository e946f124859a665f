"""Messages about a data file that is not where a config or a command's argument says: the path as written, the
working folder a relative one was looked for from, and why it may not be found (a Windows separator or variable,
an unset environment variable)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import DataError


def shown_path(path: Path) -> str:
    """``path`` quoted for a message that it is missing; a relative one with the working folder it was looked for
    from, which a notebook cell may have changed since the spec was built."""
    return f"{str(path)!r}{working_folder_note(path)}{path_hint(path)}"


def path_hint(path: Path) -> str:
    """Why a path written in a config may not be found: a Windows folder separator or environment variable
    (``%DATA%``), an unset environment variable."""
    text = str(path)
    if os.sep == "/" and "\\" in text:
        return " (a '\\' is no folder separator here: write the path with '/', e.g. 'data/train.csv')"
    windows = re.search(r"%([A-Za-z_][A-Za-z0-9_]*)%", text) if os.sep == "/" else None
    if windows:
        name = windows.group(1)
        return f" (%{name}% is how Windows writes an environment variable: write ${name})"
    unset = re.search(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text)  # os.path.expandvars leaves an unset one as written
    return f" (the environment variable {unset.group(1)} is not set)" if unset else ""


def require_given_file(path: Path | str | None, role: str, option: str) -> None:
    """A file a command's argument names (``option``: ``"--test FILE (test= in Python)"``) that is not there, said
    with that argument before any work: :func:`read_table`'s "check data.test in the config" named a config the
    command does not read (``predict``, ``refit``, ``init``), and ``predict`` read its ``--sample`` after predicting."""
    if isinstance(path, (str, Path)) and not Path(path).is_file():
        what = "is a folder, not a file" if Path(path).is_dir() else "does not exist"
        raise DataError(f"the {role} file {shown_path(Path(path))} {what}; check {option}")


def working_folder_note(path: Path) -> str:
    return "" if path.is_absolute() else f" (from the working folder {str(Path.cwd())!r})"
