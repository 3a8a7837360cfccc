"""Reading a counts file into :class:`~healthwatch.surveillance.Counts`.

``surveillance/`` does no I/O; this is where a file on disk becomes the arrays its methods take.

The file is a long table, one row per series and time point::

    series,date,count            series,t,count,population
    铁东区,2024-W01,3            a,1,3,120000
    铁东区,2024-W02,             a,2,,120000      (an empty count is a missing value)

with ``t`` (1, 2, ...) and/or ``date`` (``2024-07-01``, ISO week ``2024-W53`` or month
``2024-07``), and optionally ``population`` and ``state`` (0/1, a known outbreak).

Every file goes through :func:`healthwatch.data.tables.read_table`'s rules: CSV in UTF-8 (with
or without BOM) or GBK/GB 18030, or .xlsx; empty, binary, truncated and undecodable files,
unknown and missing columns are refused with the file, line and field. A surveillance export
can hold millions of rows, so a plain UTF-8 CSV whose header is already right is parsed straight
into typed columns by pandas' C reader (several times faster than strings cell by cell), and the
plainest of them (no quotes, whole-number counts) by :mod:`healthwatch.data.counts_fast` without
pandas at all (importing pandas alone took longer than detecting on 3,000 series); anything
else — another encoding, Excel, odd quoting, a header to check — takes ``read_table`` itself.
Both paths end in :meth:`Counts.from_long`, which checks every value and names its row.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from healthwatch.data.counts_fast import fast_counts
from healthwatch.errors import InputError
from healthwatch.surveillance.series import Counts

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "OPTIONAL", "read_counts"]

#: required columns (``t`` may be replaced by ``date``)
COLUMNS = ("series", "count")
#: optional columns
OPTIONAL = ("t", "date", "population", "state")


def read_counts(path: Path | str, freq: int = 0) -> Counts:
    """The long CSV/xlsx ``series,(t|date),count[,population][,state]`` as Counts.

    ``freq`` 0 takes the frequency from the dates (52 without dates); a frequency that
    contradicts the dates is an error. Any problem is an :class:`InputError` naming the file,
    line and field; nothing else is raised.
    """
    path = Path(path)
    counts = fast_counts(path, freq)  # the common clean CSV, without importing pandas
    if counts is not None:
        return counts
    from healthwatch.data.tables import read_table

    frame = _fast_frame(path)
    if frame is not None:
        return Counts.from_long(frame, freq=freq, file=str(path))
    table = read_table(path, required=COLUMNS, optional=OPTIONAL)
    if "t" not in table.frame.columns and "date" not in table.frame.columns:
        from healthwatch.errors import Problem

        raise InputError(
            [
                Problem(
                    "give the time points as a t column (1, 2, ...) or a date column",
                    "请用 t 列（1, 2, ...）或 date 列给出时间点",
                    file=table.file,
                    line=1,
                    field="t",
                )
            ]
        )
    return Counts.from_long(table.frame, freq=freq, file=table.file, first_line=table.first_line)


def _fast_frame(path: Path) -> pd.DataFrame | None:
    """Typed columns of a clean UTF-8 CSV with a known header, or None to take ``read_table``.

    None whenever anything is unusual (not a file, Excel, not UTF-8, a NUL byte, a header with
    unknown, missing, repeated or quoted names, cells with surrounding spaces, a parser error),
    so that every refusal comes from ``read_table`` and ``Counts.from_long`` with their messages.
    """
    import pandas as pd

    from healthwatch.data.tables import EXCEL_SUFFIXES

    if path.suffix.lower() in EXCEL_SUFFIXES or not path.is_file():
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192] or data.startswith(b"PK\x03\x04"):
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head, _, _ = data[:4096].partition(b"\n")
    try:
        header = head.decode("utf-8").rstrip("\r").split(",")
    except UnicodeDecodeError:
        return None
    names = [h.strip() for h in header]
    allowed = set(COLUMNS) | set(OPTIONAL)
    if (
        len(set(names)) != len(names)
        or not set(COLUMNS) <= set(names)
        or not set(names) <= allowed
        or not ({"t", "date"} & set(names))
        or names != header
    ):
        return None
    try:
        data.decode("utf-8")
        frame = pd.read_csv(
            io.BytesIO(data),
            dtype={"series": "category", "date": "category"},
            keep_default_na=False,
            na_values={"count": [""], "population": [""]},
            quoting=csv.QUOTE_MINIMAL,
            engine="c",
        )
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    if frame.empty:
        return None
    for column in ("series", "date"):
        if column in frame.columns:
            labels = frame[column].cat.categories.astype(str)
            if (labels != labels.str.strip()).any():
                return None
    for column in ("t", "count", "population", "state"):
        if column in frame.columns and frame[column].dtype.kind not in "iuf":
            return None  # text in a number column: read_table and from_long name the row
    return frame
