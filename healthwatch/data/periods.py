"""Reporting periods as DHIS2 writes them: ``2024``, ``2024Q1`` (quarter), ``202403`` (month).

Periods are kept as these strings everywhere (database, files, exports) so that a DHIS2 export
imports without conversion; :func:`period_types` classifies a whole column at once.

>>> period_types(pd.Series(["2024", "2024Q3", "202412", "2024-13", "24"])).tolist()
['year', 'quarter', 'month', None, None]
>>> period_year("2024Q3"), fhir_period("2024Q3"), from_fhir_period("2024-07-01", "2024-09-30")
(2024, ('2024-07-01', '2024-09-30'), '2024Q3')
"""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd

__all__ = [
    "fhir_period",
    "from_fhir_period",
    "period_type",
    "period_types",
    "period_year",
]

_YEAR = r"^(19|20)\d\d$"
_QUARTER = r"^(19|20)\d\dQ[1-4]$"
_MONTH = r"^(19|20)\d\d(0[1-9]|1[0-2])$"


def period_types(periods: pd.Series) -> pd.Series:
    """``year``/``quarter``/``month`` for each period string, None where it is not a period."""
    unique = pd.Series(pd.unique(periods.astype(str)))  # a few hundred distinct periods
    out = np.select(
        [unique.str.match(_YEAR), unique.str.match(_QUARTER), unique.str.match(_MONTH)],
        ["year", "quarter", "month"],
        default="",
    )
    kinds = {p: (k or None) for p, k in zip(unique.tolist(), out.tolist(), strict=True)}
    found = periods.astype(str).map(kinds).astype(object)
    # map() turns the None values into NaN; callers test ``is None`` (as documented)
    return pd.Series(found.where(found.notna(), None), index=periods.index, dtype=object)


def period_type(period: str) -> str | None:
    return period_types(pd.Series([period])).iloc[0]


def period_year(period: str) -> int:
    return int(str(period)[:4])


def fhir_period(period: str) -> tuple[str, str]:
    """The first and last day of a period (FHIR ``period.start`` / ``period.end``)."""
    year = period_year(period)
    kind = period_type(period)
    if kind == "quarter":
        q = int(period[-1])
        first, last = 3 * q - 2, 3 * q
    elif kind == "month":
        first = last = int(period[4:6])
    else:
        first, last = 1, 12
    end_day = calendar.monthrange(year, last)[1]
    return f"{year}-{first:02d}-01", f"{year}-{last:02d}-{end_day:02d}"


def from_fhir_period(start: str, end: str) -> str | None:
    """The period string for a FHIR period that is exactly a year, quarter or month, else None."""
    try:
        y1, m1, d1 = (int(x) for x in start[:10].split("-"))
        y2, m2, d2 = (int(x) for x in end[:10].split("-"))
    except ValueError:
        return None
    if y1 != y2 or d1 != 1 or d2 != calendar.monthrange(y2, m2)[1]:
        return None
    if (m1, m2) == (1, 12):
        return f"{y1}"
    if m1 == m2:
        return f"{y1}{m1:02d}"
    if m2 - m1 == 2 and m1 % 3 == 1:
        return f"{y1}Q{(m1 + 2) // 3}"
    return None
