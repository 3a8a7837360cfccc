"""Facility registry: hospitals, primary-care centres, village clinics and EMS sites as one table.

This module is the registry's one schema and one validator, pure (no database, no file I/O):
the file reader :func:`healthwatch.data.facilities.read_facilities` and the database
(:mod:`healthwatch.store.facilities`) both use it, so a file, the store and the models can never
disagree about what a valid facility is.

The registry is a pandas DataFrame with the columns of :data:`FACILITY_COLUMNS` (one row per
facility and year) so that ratios, coverage and siting work on whole columns at once.
:func:`validate_facilities` checks every row and every field before returning anything: unknown
or missing columns, unknown kinds or levels, counts that are negative, not whole, infinite or
absurd (more than :data:`MAX_COUNT`), more negative-pressure ambulances than ambulances, years
outside 1949-2100, unknown ``synthetic`` flags, coordinates outside the named county's real
boundary (any province; rows without an adcode: outside the province, then placed in the county
that contains them), swapped longitude/latitude. All problems are reported together in one
:class:`~healthwatch.errors.InputError` naming file, row and field, in Chinese and English.

Coordinates are stored in WGS84. A file in GCJ-02 (the coordinates of Amap and most Chinese web
maps) says so with a ``crs`` column or the ``crs=`` argument and is converted on import.

>>> raw = pd.DataFrame({"id": ["H1"], "name": ["铁东医院"], "kind": ["医院"], "level": ["三甲"],
...                     "adcode": ["210302"], "lon": ["122.99"], "lat": ["41.11"], "床位": ["800"]})
>>> row = validate_facilities(raw).facilities.iloc[0]
>>> row["kind"], row["level"], int(row["beds"])
('hospital', '3A', 800)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.errors import InputError, Problem
from healthwatch.regions.geo import gcj02_to_wgs84, locate_counties, within_region
from healthwatch.regions.hierarchy import all_regions

#: Non-negative whole-number columns: beds, staff by category, ambulances.
COUNT_COLUMNS: tuple[str, ...] = (
    "beds",
    "physicians",
    "nurses",
    "gps",
    "pharmacists",
    "ambulances",
    "negative_pressure",
)
#: Columns of a validated registry, in order (files and database alike).
FACILITY_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "kind",
    "level",
    "adcode",
    "lon",
    "lat",
    *COUNT_COLUMNS,
    "year",
    "synthetic",
)
#: More than this many beds, staff or ambulances in one facility is a typing error (the largest
#: hospitals in China have about 10,000 beds).
MAX_COUNT = 100_000
MIN_YEAR, MAX_YEAR = 1949, 2100
#: Accepted spellings of the ``synthetic`` flag (made-up rows), lower-cased.
SYNTHETIC_TRUE = frozenset({"1", "true", "yes", "y", "是"})
SYNTHETIC_FALSE = frozenset({"0", "false", "no", "n", "否"})


class FacilityKind(StrEnum):
    """Kinds of facility the registry knows, with their Chinese names in :data:`KIND_ZH`.

    The database stores the value (``hospital`` ...); :data:`KIND_CODES` lists them.
    """

    HOSPITAL = "hospital"
    COMMUNITY_HEALTH_CENTRE = "community_health_centre"
    TOWNSHIP_HEALTH_CENTRE = "township_health_centre"
    VILLAGE_CLINIC = "village_clinic"
    EMS_CENTRE = "ems_centre"
    EMS_STATION = "ems_station"


KIND_ZH: dict[FacilityKind, str] = {
    FacilityKind.HOSPITAL: "医院",
    FacilityKind.COMMUNITY_HEALTH_CENTRE: "社区卫生服务中心",
    FacilityKind.TOWNSHIP_HEALTH_CENTRE: "乡镇卫生院",
    FacilityKind.VILLAGE_CLINIC: "村卫生室",
    FacilityKind.EMS_CENTRE: "急救中心",
    FacilityKind.EMS_STATION: "急救站",
}
#: The stored kind codes, in :class:`FacilityKind` order.
KIND_CODES: tuple[str, ...] = tuple(k.value for k in FacilityKind)
_KIND_ALIASES: dict[str, FacilityKind] = {
    **{k.value: k for k in FacilityKind},
    **{zh: k for k, zh in KIND_ZH.items()},
    "急救指挥中心": FacilityKind.EMS_CENTRE,
    "急救（指挥）中心": FacilityKind.EMS_CENTRE,
    "急救分站": FacilityKind.EMS_STATION,
    "卫生院": FacilityKind.TOWNSHIP_HEALTH_CENTRE,
}

#: Hospital grades (等级): level 3/2/1 with grade A/B/C (甲/乙/丙), a bare level, or unrated.
HOSPITAL_LEVELS: tuple[str, ...] = (
    "3A",
    "3B",
    "3C",
    "3",
    "2A",
    "2B",
    "2C",
    "2",
    "1A",
    "1B",
    "1C",
    "1",
    "unrated",
)
_LEVEL_ZH_NUM = {"三": "3", "二": "2", "一": "1"}
_GRADE_ZH = {"甲": "A", "乙": "B", "丙": "C"}

COLUMN_ZH: dict[str, str] = {
    "id": "编号",
    "name": "名称",
    "kind": "类型",
    "level": "等级",
    "adcode": "区划代码",
    "lon": "经度",
    "lat": "纬度",
    "beds": "床位数",
    "physicians": "执业（助理）医师",
    "nurses": "注册护士",
    "gps": "全科医生",
    "pharmacists": "药师（士）",
    "ambulances": "救护车",
    "negative_pressure": "负压救护车",
    "year": "年份",
    "synthetic": "模拟数据",
    "crs": "坐标系",
}
_HEADER_ALIASES: dict[str, str] = {
    **{zh: en for en, zh in COLUMN_ZH.items()},
    "执业医师": "physicians",
    "药师": "pharmacists",
    "床位": "beds",
    "longitude": "lon",
    "latitude": "lat",
    "lng": "lon",
    "type": "kind",
    "negative_pressure_ambulances": "negative_pressure",
    "general_practitioners": "gps",
}
REQUIRED_COLUMNS: tuple[str, ...] = ("id", "name", "kind", "lon", "lat")
#: Every column a facility file may have (after header aliases): anything else is an error.
FILE_COLUMNS: tuple[str, ...] = (*FACILITY_COLUMNS, "crs")
_CRS_ALIASES = {
    "wgs84": "WGS84",
    "wgs-84": "WGS84",
    "epsg:4326": "WGS84",
    "gcj02": "GCJ02",
    "gcj-02": "GCJ02",
    "gcj": "GCJ02",
    "amap": "GCJ02",
    "火星坐标": "GCJ02",
}


# --------------------------------------------------------------------------------------------
# The registry table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    """A validated registry (the only thing the store saves) and what validation did to it."""

    facilities: pd.DataFrame
    converted_from_gcj02: int
    located_by_point: int


def normalise_registry(df: pd.DataFrame) -> pd.DataFrame:
    """Put an already valid table into the registry's column order and dtypes."""
    out = df.copy()
    for col in FACILITY_COLUMNS:
        if col not in out:
            out[col] = 0 if col in COUNT_COLUMNS else False if col == "synthetic" else None
    out = out[list(FACILITY_COLUMNS)]
    for col in COUNT_COLUMNS:
        out[col] = pd.to_numeric(out[col]).fillna(0).astype("int64")
    out["lon"] = out["lon"].astype(float)
    out["lat"] = out["lat"].astype(float)
    out["synthetic"] = out["synthetic"].fillna(False).astype(bool)
    out["year"] = pd.to_numeric(out["year"]).astype("Int64")
    for col in ("id", "name", "kind", "adcode"):
        out[col] = out[col].astype(str)
    level = out["level"].astype(object)
    out["level"] = level.where(level.notna(), None)
    return out.reset_index(drop=True)


def empty_registry() -> pd.DataFrame:
    """A registry with no rows and the right columns and dtypes."""
    return normalise_registry(pd.DataFrame({c: [] for c in FACILITY_COLUMNS}))


def region_prefix(code: str) -> str:
    """'210000' -> '21', '210300' -> '2103', '210302' -> '210302': the adcodes a region holds."""
    code = code.strip()
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def summarise(facilities: pd.DataFrame) -> pd.DataFrame:
    """Counts by kind: facilities, beds, staff and ambulances (for ``access facilities``)."""
    grouped = facilities.groupby("kind", sort=True)
    out = grouped[list(COUNT_COLUMNS)].sum()
    out.insert(0, "facilities", grouped.size())
    return out.reset_index()


def ems_stations(registry: pd.DataFrame) -> pd.DataFrame:
    """EMS centres and stations with ambulances, as the coverage and siting models take them."""
    ems = registry[
        registry["kind"].isin([FacilityKind.EMS_STATION.value, FacilityKind.EMS_CENTRE.value])
        & (registry["ambulances"] > 0)
    ]
    columns = ["id", "lon", "lat", "ambulances", "negative_pressure", "adcode", "synthetic"]
    return ems[columns].reset_index(drop=True)


def provinces_of(adcodes: Iterable[str]) -> list[str]:
    """The distinct province adcodes (``21`` + ``0000``) of some region adcodes, sorted."""
    return sorted({str(a)[:2] + "0000" for a in adcodes if str(a).strip()})


# --------------------------------------------------------------------------------------------
# Parsing cells
# --------------------------------------------------------------------------------------------


def _problem(file: str, line: int, field: str | None, en: str, zh: str) -> Problem:
    return Problem(reason_en=en, reason_zh=zh, file=file, line=line, field=field)


def parse_kind(value: Any) -> FacilityKind | None:
    """A facility kind from its English code or Chinese name, or None when unknown."""
    return _KIND_ALIASES.get(str(value).strip().lower()) or _KIND_ALIASES.get(str(value).strip())


def parse_level(value: Any) -> str | None:
    """A hospital level as one of :data:`HOSPITAL_LEVELS`, from '3A', '三级甲等', '三甲', '二级'."""
    text = str(value).strip().replace(" ", "")
    if not text or text.lower() in ("nan", "none"):
        return None
    up = text.upper()
    if up in HOSPITAL_LEVELS or text.lower() == "unrated":
        return "unrated" if text.lower() == "unrated" else up
    if text in ("未定级", "未评级"):
        return "unrated"
    if text[0] in _LEVEL_ZH_NUM:
        num = _LEVEL_ZH_NUM[text[0]]
        rest = text[1:].removeprefix("级").removesuffix("等").removesuffix("级")
        if rest == "":
            return num
        if rest in _GRADE_ZH:
            return num + _GRADE_ZH[rest]
    return None


def _is_blank(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
        or str(value).strip() == ""
    )


def _number(value: Any) -> float | None:
    """A float from a number or numeric text ("1,200"); None when it is not a number."""
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).strip().replace(",", ""))
    except (ValueError, OverflowError):
        return None


def canonical_column(header: Any) -> str:
    """The registry column a file header means (``床位`` -> ``beds``), else the header itself."""
    key = str(header).strip()
    return _HEADER_ALIASES.get(key, _HEADER_ALIASES.get(key.lower(), key.lower()))


def check_columns(columns: Iterable[Any], file: str) -> dict[Any, str]:
    """Map headers to registry columns; InputError for unknown, repeated or missing columns.

    A misspelt header (``bed`` for ``beds``) is an error, never a column silently ignored.
    """
    mapping = {col: canonical_column(col) for col in columns}
    problems: list[Problem] = []
    seen: dict[str, Any] = {}
    known = "、".join(FILE_COLUMNS)
    for col, name in mapping.items():
        if name not in FILE_COLUMNS:
            problems.append(
                _problem(
                    file,
                    1,
                    str(col),
                    f"unknown column (known: {', '.join(FILE_COLUMNS)}, or their Chinese names)",
                    f"未知的列（可用：{known}，或对应的中文列名）",
                )
            )
        elif name in seen:
            problems.append(
                _problem(
                    file,
                    1,
                    str(col),
                    f"column {name!r} appears twice (also as {seen[name]!r})",
                    f"列 {name!r} 出现了两次（另见 {seen[name]!r}）",
                )
            )
        else:
            seen[name] = col
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            problems.append(
                _problem(
                    file,
                    1,
                    name,
                    f"Required column {name!r} is missing.",
                    f"缺少必需的列 {name!r}（{COLUMN_ZH[name]}）。",
                )
            )
    if problems:
        raise InputError(problems)
    return mapping


def _crs(value: Any, default: str | None) -> str | None:
    return _CRS_ALIASES.get(str(value).strip().lower()) if not _is_blank(value) else default


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def validate_facilities(
    raw: pd.DataFrame,
    *,
    file: str = "<table>",
    first_line: int = 2,
    crs: str | None = None,
    tolerance_km: float = 1.0,
    check_boundaries: bool = True,
    province: str | None = None,
) -> ImportSummary:
    """Validate a raw table (strings or numbers) into a registry; InputError lists every problem.

    ``first_line`` is the file line of the first row (2 below a header, as a spreadsheet shows
    it). ``crs`` ('WGS84' or 'GCJ02') applies to rows without their own ``crs`` value.
    ``province`` is where rows without an ``adcode`` must lie (default: the province most of
    the other rows name); such rows are placed in the county that contains them.
    ``tolerance_km`` lets a facility sit that close outside its (simplified) boundary.
    """
    df = raw.rename(columns=check_columns(raw.columns, file))
    default_crs = _crs(crs, "WGS84")
    if default_crs is None:
        raise InputError(
            [
                Problem(
                    f"Unknown coordinate system {crs!r}: use WGS84 or GCJ02.",
                    f"未知坐标系 {crs!r}：请用 WGS84 或 GCJ02。",
                    file=file,
                )
            ]
        )
    regions = all_regions()
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for idx, rec in enumerate(df.to_dict(orient="records")):
        line = first_line + idx
        row, found = _validate_row(rec, line, file, default_crs, regions)
        if row["id"] and row["id"] in seen:
            found.append(
                _problem(
                    file,
                    line,
                    "id",
                    f"Duplicate id {row['id']!r} (also on line {seen[row['id']]}).",
                    f"编号 {row['id']!r} 重复（第 {seen[row['id']]} 行已有）。",
                )
            )
        seen.setdefault(row["id"], line)
        row["_line"], row["_bad"] = line, bool(found)
        problems += found
        rows.append(row)
    if not rows:
        if problems:
            raise InputError(problems)
        return ImportSummary(empty_registry(), 0, 0)
    table = pd.DataFrame(rows)
    gcj = np.flatnonzero((table["_crs"] == "GCJ02").to_numpy() & ~table["_bad"].to_numpy())
    if gcj.size:
        wlon, wlat = gcj02_to_wgs84(
            table.loc[gcj, "lon"].to_numpy(float), table.loc[gcj, "lat"].to_numpy(float)
        )
        table.loc[gcj, "lon"] = np.asarray(wlon, dtype=float)
        table.loc[gcj, "lat"] = np.asarray(wlat, dtype=float)
    located = 0
    if check_boundaries:
        located = _check_locations(table, file, problems, tolerance_km, province)
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise InputError(problems)
    table = table.drop(columns=["_line", "_bad", "_crs"])
    return ImportSummary(normalise_registry(table), int(gcj.size), located)


def _validate_row(
    rec: Mapping[str, Any], line: int, file: str, default_crs: str, regions: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """One row's registry values and everything wrong with it."""
    problems: list[Problem] = []

    def add(field: str, en: str, zh: str) -> None:
        problems.append(_problem(file, line, field, en, zh))

    row: dict[str, Any] = {}
    for col, zh in (("id", "机构编号"), ("name", "机构名称")):
        row[col] = "" if _is_blank(rec.get(col)) else str(rec[col]).strip()
        if not row[col]:
            add(col, f"Facility {col} is empty.", f"{zh}为空。")
        elif len(row[col]) > (100 if col == "id" else 500):
            add(col, f"Facility {col} is too long.", f"{zh}过长。")

    kind = parse_kind(rec.get("kind", ""))
    if kind is None:
        add(
            "kind",
            f"Unknown facility kind {rec.get('kind')!r}; use one of {', '.join(KIND_CODES)}.",
            f"未知机构类型 {rec.get('kind')!r}；可用：{'、'.join(KIND_ZH.values())}。",
        )
    row["kind"] = kind.value if kind else None

    level_raw = rec.get("level")
    level = None if _is_blank(level_raw) else parse_level(level_raw)
    if not _is_blank(level_raw) and level is None:
        add(
            "level",
            f"Unknown hospital level {level_raw!r}; use e.g. 3A, 2B, 1, unrated.",
            f"未知医院等级 {level_raw!r}；例如 三级甲等、二级乙等、一级、未定级。",
        )
    elif level is not None and kind is not None and kind is not FacilityKind.HOSPITAL:
        add(
            "level",
            "Only hospitals have a level; leave it empty for this kind.",
            "只有医院有等级；该类型机构请留空。",
        )
    row["level"] = level

    for col in COUNT_COLUMNS:
        value = rec.get(col)
        num = 0.0 if _is_blank(value) else _number(value)
        if num is None or not math.isfinite(num) or num != int(num):
            add(
                col,
                f"{col} must be a whole number, got {value!r}.",
                f"{COLUMN_ZH[col]}应为整数，实为 {value!r}。",
            )
            num = 0.0
        elif num < 0:
            add(
                col,
                f"{col} must not be negative, got {value!r}.",
                f"{COLUMN_ZH[col]}不能为负数，实为 {value!r}。",
            )
        elif num > MAX_COUNT:
            add(
                col,
                f"{col} {value!r} is more than {MAX_COUNT:,} for one facility: a typo?",
                f"{COLUMN_ZH[col]} {value!r} 超过单个机构的上限 {MAX_COUNT:,}，请核对。",
            )
            num = 0.0
        row[col] = int(num)
    if row["negative_pressure"] > row["ambulances"]:
        add(
            "negative_pressure",
            f"{row['negative_pressure']} negative-pressure ambulances but only "
            f"{row['ambulances']} ambulances in all.",
            f"负压救护车 {row['negative_pressure']} 辆多于救护车总数 {row['ambulances']} 辆。",
        )

    year_raw = rec.get("year")
    year = None if _is_blank(year_raw) else _number(year_raw)
    if year is not None and math.isfinite(year) and year == int(year):
        row["year"] = int(year)
    else:
        row["year"] = None
    if not _is_blank(year_raw) and not (row["year"] and MIN_YEAR <= row["year"] <= MAX_YEAR):
        add(
            "year",
            f"Year {year_raw!r} is not a year between {MIN_YEAR} and {MAX_YEAR}.",
            f"年份 {year_raw!r} 不是 {MIN_YEAR} 至 {MAX_YEAR} 之间的年份。",
        )
        row["year"] = None

    syn = rec.get("synthetic")
    flag = "" if _is_blank(syn) else str(syn).strip().lower()
    if flag and flag not in SYNTHETIC_TRUE | SYNTHETIC_FALSE:
        add(
            "synthetic",
            f"synthetic must be yes/no (1/0, 是/否), got {syn!r}.",
            f"模拟数据标记应为 是/否（1/0），实为 {syn!r}。",
        )
    row["synthetic"] = flag in SYNTHETIC_TRUE

    row_crs = _crs(rec.get("crs"), default_crs)
    if row_crs is None:
        add(
            "crs",
            f"Unknown coordinate system {rec['crs']!r}: use WGS84 or GCJ02.",
            f"未知坐标系 {rec['crs']!r}：请用 WGS84 或 GCJ02。",
        )
    row["_crs"] = row_crs or default_crs

    lon, lat = _number(rec.get("lon")), _number(rec.get("lat"))
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        add(
            "lon/lat",
            f"Coordinates {rec.get('lon')!r}, {rec.get('lat')!r} are not numbers.",
            f"坐标 {rec.get('lon')!r}, {rec.get('lat')!r} 不是数字。",
        )
        lon, lat = math.nan, math.nan
    elif not (-180 <= lon <= 180 and -90 <= lat <= 90):
        if -180 <= lat <= 180 and -90 <= lon <= 90:
            add(
                "lon/lat",
                f"Longitude {lon} and latitude {lat} look swapped: exchange the two columns.",
                f"经度 {lon}、纬度 {lat} 似乎写反了，请交换两列。",
            )
        else:
            add(
                "lon/lat",
                f"Coordinates {lon}, {lat} are not valid degrees.",
                f"坐标 {lon}, {lat} 不是有效的经纬度。",
            )
        lon, lat = math.nan, math.nan
    row["lon"], row["lat"] = lon, lat

    adcode = "" if _is_blank(rec.get("adcode")) else str(rec["adcode"]).strip()
    adcode = adcode.removesuffix(".0")
    region = regions.get(adcode) if adcode else None
    if adcode and (region is None or region.level != "county"):
        add(
            "adcode",
            f"{adcode!r} is not a county-level adcode (GB/T 2260).",
            f"{adcode!r} 不是县级行政区划代码（GB/T 2260）。",
        )
    row["adcode"] = adcode
    return row, problems


def _check_locations(
    table: pd.DataFrame,
    file: str,
    problems: list[Problem],
    tolerance_km: float,
    province: str | None,
) -> int:
    """Check points against their county's boundary (or the province's when no adcode is
    given, then fill the county); return how many counties were filled from the point."""
    names = {code: r.name for code, r in all_regions().items()}
    ok = ~table["_bad"].to_numpy()
    lon = table["lon"].to_numpy(float)
    lat = table["lat"].to_numpy(float)
    adcodes = table["adcode"].to_numpy(str)

    def outside(i: int, code: str, dist: float, field: str) -> None:
        name = names.get(code, code)
        if within_region(lat[i], lon[i], code, tolerance_km)[0][0]:
            en = f"Longitude {lon[i]} and latitude {lat[i]} look swapped: exchange the columns."
            zh = f"经度 {lon[i]}、纬度 {lat[i]} 似乎写反了，请交换两列。"
            field = "lon/lat"
        else:
            en = (
                f"Point ({lon[i]:.5f}, {lat[i]:.5f}) is {dist:.1f} km outside {name} ({code}): "
                "check the coordinates or the adcode."
            )
            zh = (
                f"坐标 ({lon[i]:.5f}, {lat[i]:.5f}) 在{name}（{code}）界外 {dist:.1f} 公里："
                "请核对坐标或区划代码。"
            )
        problems.append(_problem(file, int(table.at[i, "_line"]), field, en, zh))

    for code in sorted(set(adcodes[ok & (adcodes != "")])):
        idx = np.flatnonzero(ok & (adcodes == code))
        inside, dist = within_region(lon[idx], lat[idx], code, tolerance_km)
        for i, d in zip(idx[~inside], dist[~inside], strict=True):
            outside(int(i), code, float(d), "adcode")

    blank = np.flatnonzero(ok & (adcodes == ""))
    if blank.size == 0:
        return 0
    if province is None:
        named = [str(a)[:2] + "0000" for a in adcodes if a]
        if not named:
            problems += [
                _problem(
                    file,
                    int(table.at[i, "_line"]),
                    "adcode",
                    "No adcode and no province given: fill the adcode column (or give the "
                    "province) so the point can be checked.",
                    "未填区划代码，也未指定省份：请填写区划代码（或指定省份），以便核对坐标。",
                )
                for i in blank
            ]
            return 0
        province = max(sorted(set(named)), key=named.count)
    inside, dist = within_region(lon[blank], lat[blank], province, tolerance_km)
    for i, d in zip(blank[~inside], dist[~inside], strict=True):
        outside(int(i), province, float(d), "lon/lat")
    located = 0
    todo = blank[inside]
    for i, code in zip(todo, locate_counties(lon[todo], lat[todo], province), strict=True):
        if code is None:
            problems.append(
                _problem(
                    file,
                    int(table.at[i, "_line"]),
                    "adcode",
                    "No county contains this point: give the adcode.",
                    "没有区县包含该坐标：请填写区划代码。",
                )
            )
        else:
            table.at[i, "adcode"] = code
            located += 1
    return located
