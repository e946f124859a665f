"""A table file zipped on its own, as Kaggle serves many (``train.csv.zip``, ``train.zip`` holding ``train.csv``): read
as the file inside, by every reader of the table (pandas reads them so, and the kit refused them as 'must be .csv or
.parquet'). An archive of several files (a whole competition's download) is an error naming them and the fix."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from ..errors import DataError

#: the files a zip archive may hold for a table: read as that file
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip"


def _files(archive: zipfile.ZipFile) -> list[str]:
    """The archive's files: no folders, nor the ``__MACOSX/`` and dot files a Mac's 'Compress' adds."""
    return [
        n
        for n in archive.namelist()
        if not n.endswith("/") and not n.startswith("__MACOSX/") and not Path(n).name.startswith(".")
    ]


def zip_member(path: Path, role: str = "table") -> str:
    """The one table file in the zip archive ``path``; a :class:`DataError` naming the files and the fix where it
    holds none or several, or a file of another kind."""
    try:
        with zipfile.ZipFile(path) as archive:
            files = _files(archive)
    except zipfile.BadZipFile:
        raise DataError(
            f"the {role} file {str(path)!r} ends in .zip but is no zip archive; download it again"
        ) from None
    unzip = f"unzip it (unzip -o {str(path)!r} -d {str(path.parent)!r}) and point data.{role} at the file to read"
    if len(files) != 1:
        shown = ", ".join(repr(f) for f in files[:5]) + (", .." if len(files) > 5 else "")
        held = f"holds {len(files)} files ({shown})" if files else "holds no file"
        raise DataError(
            f"the {role} file {str(path)!r} is a zip archive that {held}; the kit reads an archive of one CSV or "
            f"parquet file: {unzip}"
        )
    if Path(files[0]).suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(
            f"the {role} file {str(path)!r} is a zip archive of {files[0]!r}, which must be .csv or .parquet: unzip "
            f"it, export the file to CSV or parquet, and point data.{role} at that file"
        )
    return files[0]


def open_member(path: Path, mode: str = "rb", **text: Any) -> Any:
    """The table file in the zip archive ``path``, opened as ``open(path, mode, **text)`` opens a file."""
    archive = zipfile.ZipFile(path)
    raw = archive.open(zip_member(path))
    return raw if "b" in mode else io.TextIOWrapper(raw, **text)


def member_bytes(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(zip_member(path))
