"""A dependency-free progress bar for long command-line work (``kaggle-kit report``)::

    report  [##########..........]  4/8  errors

On a terminal the line is redrawn in place; elsewhere (a log, CI) each step is one line.
"""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressBar:
    """Call as ``bar(done, total, label)``; the report builder does (its ``progress=`` argument)."""

    def __init__(self, title: str = "report", *, stream: TextIO | None = None, width: int = 24) -> None:
        self.title = title
        self.stream = stream if stream is not None else sys.stderr
        self.width = width

    def __call__(self, done: int, total: int, label: str) -> None:
        total = max(total, 1)
        filled = round(self.width * min(done, total) / total)
        line = f"{self.title}  [{'#' * filled}{'.' * (self.width - filled)}] {done:>3}/{total}  {label}"
        if self.stream.isatty():
            end = "\n" if done >= total else ""
            self.stream.write(f"\r{line:<80}{end}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
