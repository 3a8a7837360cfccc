"""Reading facility files (CSV in UTF-8, UTF-8 with BOM or GBK, or .xlsx) into the registry.

The file is read by :func:`healthwatch.data.tables.read_table` (which refuses binary, empty,
undecodable and damaged files) and checked by the registry's one validator,
:func:`healthwatch.access.facilities.validate_facilities`: headers in English or Chinese
(``beds`` or 床位数), unknown or missing columns refused, every row and field checked, every
problem reported in one :class:`~healthwatch.errors.InputError`.
"""

from __future__ import annotations

from pathlib import Path

from healthwatch.access.facilities import ImportSummary, normalise_registry, validate_facilities
from healthwatch.data.tables import read_table

__all__ = ["read_facilities", "registry_to_csv"]


def read_facilities(
    path: str | Path,
    *,
    crs: str | None = None,
    tolerance_km: float = 1.0,
    province: str | None = None,
) -> ImportSummary:
    """Read and validate a facility file; raise InputError listing every problem.

    ``crs`` ('WGS84' or 'GCJ02') applies to rows without their own ``crs`` value (default
    WGS84). Rows with an empty ``adcode`` must lie in ``province`` (default: the province the
    other rows name) and are placed in the county that contains them.
    """
    table = read_table(path)
    return validate_facilities(
        table.frame,
        file=table.file,
        first_line=table.first_line,
        crs=crs,
        tolerance_km=tolerance_km,
        province=province,
    )


def registry_to_csv(facilities: ImportSummary | object, path: str | Path) -> Path:
    """Write a registry (DataFrame) as a UTF-8 CSV that :func:`read_facilities` reads back."""
    import pandas as pd

    frame = facilities.facilities if isinstance(facilities, ImportSummary) else facilities
    assert isinstance(frame, pd.DataFrame)
    path = Path(path)
    normalise_registry(frame).to_csv(path, index=False, encoding="utf-8")
    return path
