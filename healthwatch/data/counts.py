"""Reading a counts file into :class:`~healthwatch.surveillance.Counts`.

``surveillance/`` does no I/O; this is where a file on disk becomes the arrays its methods take.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance.series import Counts

__all__ = ["read_counts"]


def read_counts(path: Path | str, freq: int) -> Counts:
    """The long CSV ``series,t,count[,date][,population][,state]`` as Counts.

    A missing or unreadable file raises :class:`InputError` naming the file; problems in the
    rows (a bad count, a gap in t) are located by :meth:`Counts.from_long` with file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            [Problem("file not found", "找不到文件", file=str(path))],
            "The counts file could not be read.",
            "无法读取计数文件。",
        )
    try:
        frame = pd.read_csv(path, dtype={"series": str}, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            [
                Problem(
                    f"not a readable CSV file: {exc}", f"不是可读的 CSV 文件：{exc}", file=str(path)
                )
            ]
        ) from exc
    return Counts.from_long(frame, freq=freq, file=str(path))
