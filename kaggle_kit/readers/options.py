"""How a table file is to be read (:class:`ReadOptions`): the [data] keys that say how its missing values, numbers
and separator are written, and which columns keep their spelling; and the missing-value strings every CSV file is
read with."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..config import CompetitionSpec

#: Strings read as missing in CSV files: pandas' defaults, which Kaggle's files are written for (House Prices marks
#: missing values "NA"; without this a numeric column holding one "NA" would be read as text).
NA_VALUES = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]


@dataclass(frozen=True)
class ReadOptions:
    """How a table file is read: extra missing-value strings, how its numbers are written, its separator, and which
    columns keep their text spelling (the id and class labels) or are never parsed as numbers (data.categorical)."""

    na_values: tuple[str, ...] = ()
    thousands: str | None = None
    decimal: str = "."
    separator: str | None = None
    keep_text: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    lenient: bool = False  # keep a mostly-numeric text column as text instead of stopping (kaggle-kit init)
    decimals: tuple[tuple[str, str], ...] = ()  # data.decimal given per file: (file, mark); a file not named: '.'
    encoding: str | None = None  # data.encoding; None: UTF-8, or Windows-1252 for a file that is not UTF-8
    #: data.drop: columns whose values no model reads, so never refused for how they write numbers (read as any
    #: column where they parse; else kept as text): a column dropped for its junk stopped the run all the same
    dropped: tuple[str, ...] = ()
    #: the keys are a finished run's (``kaggle-kit predict`` reading a new test file): a value they do not read is
    #: the file's to fix, so a message names no [data] key to set
    from_run: bool = False
    #: every column as text, spelled as the file writes it, no value read as missing but an empty one (a sample
    #: submission: its ids are written back as it spells them, "007" and "NA" alike)
    as_text: bool = False
    #: columns read as text whatever they hold, spaces around a name and case aside: train's text columns, when its
    #: test file is read (a category whose test rows hold only numbers, '7' and '8', is read as train's levels; it
    #: was Int64, which `run` refused, or numbers but for a level, refused as a placeholder)
    text: tuple[str, ...] = ()
    #: the id columns (of ``keep_text``), whose text a CSV file never writes for a missing value: an id 'NA'
    #: (Namibia), 'None' or 'nan' (a word) is that id (it was read as missing: "the id column 'id' of train has 1
    #: missing value(s)", with nothing to set)
    ids: tuple[str, ...] = ()

    @classmethod
    def from_spec(cls, spec: CompetitionSpec) -> ReadOptions:
        d = spec.data
        labels = d.target if spec.task in ("binary", "multiclass") else None  # multi-target labels are numbers
        keep = [c for c in (d.id, labels) if c]
        never_numbers = (*(d.categorical or ()), *(d.text or ()))  # free text is never parsed as numbers
        per_file = tuple(d.decimal.items()) if isinstance(d.decimal, dict) else ()
        decimal = "." if isinstance(d.decimal, dict) else d.decimal
        return cls(
            tuple(d.na_values),
            d.thousands,
            decimal,
            d.separator,
            tuple(keep),
            never_numbers,
            decimals=per_file,
            encoding=d.encoding,
            dropped=tuple(d.drop),
            ids=(d.id,) if d.id else (),
        )

    def for_file(self, role: str) -> ReadOptions:
        """These options with the decimal mark data.decimal gives the file ``role`` (a long table's: its split's)."""
        if not self.decimals:
            return self
        return replace(self, decimal=dict(self.decimals).get(file_key(role), "."))


def file_key(role: str) -> str:
    """The file ``role`` names as data.decimal keys it per file: ``train``, ``test``, ``labels``; a long table's
    (``sequences.train``) by its split."""
    return role.removeprefix("sequences.")
