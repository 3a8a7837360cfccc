"""The long table ``region,period,element,value[,comment][,source]`` (CSV in UTF-8/GBK, or xlsx)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from healthwatch.data.tables import read_table
from healthwatch.data.validate import Incoming

LONG_REQUIRED = ("region", "period", "element", "value")
LONG_OPTIONAL = ("comment", "source")


def read_long(path: Path | str, format: str = "csv") -> Incoming:
    """Read the long format through :func:`healthwatch.data.tables.read_table`."""
    table = read_table(path, required=LONG_REQUIRED, optional=LONG_OPTIONAL)
    frame = table.frame
    frame["line"] = np.arange(table.first_line, table.first_line + len(frame))
    return Incoming(frame, table.file, format, meta={"encoding": table.encoding}, stripped=True)
