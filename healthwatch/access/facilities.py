"""Facility registry: hospitals, primary-care centres, village clinics and EMS sites as one table.

The registry is a pandas DataFrame with the columns of :data:`FACILITY_COLUMNS` (one row per
facility and year) so that ratios, coverage and siting work on whole columns at once. Files are
imported from CSV or Excel through :func:`read_facilities`, which checks every row and every field
before returning anything: unknown kinds or levels, negative beds/staff/ambulances, more
negative-pressure ambulances than ambulances, coordinates outside Liaoning or outside the named
county, swapped longitude/latitude. All problems are reported together in one
:class:`~healthwatch.errors.InputError` naming file, row and field, in Chinese and English.

Coordinates are stored in WGS84. A file in GCJ-02 (the coordinates of Amap and most Chinese web
maps) says so with a ``crs`` column or the ``crs=`` argument and is converted on import.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.errors import InputError, Problem
from healthwatch.regions.geo import boundary_geojson
from healthwatch.store.facilities import (  # defined below access, shared with the database
    COUNT_COLUMNS,
    FACILITY_COLUMNS,
    normalise_registry,
)

LIAONING = "210000"
EARTH_RADIUS_KM = 6371.0088


class FacilityKind(StrEnum):
    """Kinds of facility the registry knows, with their Chinese names in :data:`KIND_ZH`."""

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
_REQUIRED = ("id", "name", "kind", "lon", "lat")
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
# Geometry: boundaries, point in polygon, distance to a boundary
# --------------------------------------------------------------------------------------------


def boundary(adcode: str) -> dict[str, Any]:
    """The WGS84 GeoJSON geometry of a region (a fresh copy of :mod:`healthwatch.regions.geo`'s
    cached boundary)."""
    return boundary_geojson(str(adcode))


def geometry_rings(geometry: Mapping[str, Any]) -> list[np.ndarray]:
    """All rings (outer and holes) of a Polygon/MultiPolygon as (n, 2) arrays of lon, lat."""
    coords = geometry["coordinates"]
    polygons = [coords] if geometry["type"] == "Polygon" else coords
    return [np.asarray(ring, dtype=float)[:, :2] for poly in polygons for ring in poly]


def _ring_contains_numpy(ring: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd ray casting of many points against one ring, vectorised in chunks of points."""
    x0, y0 = ring[:-1, 0], ring[:-1, 1]
    x1, y1 = ring[1:, 0], ring[1:, 1]
    inside = np.zeros(x.shape, dtype=bool)
    chunk = max(1, 2_000_000 // max(len(x0), 1))
    for start in range(0, len(x), chunk):
        px = x[start : start + chunk, None]
        py = y[start : start + chunk, None]
        straddles = (y0 > py) != (y1 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
        crossings = straddles & (px < x_cross)
        inside[start : start + chunk] = (np.count_nonzero(crossings, axis=1) % 2) == 1
    return inside


def _ring_contains(
    ring: np.ndarray, x: np.ndarray, y: np.ndarray, use_matplotlib: bool
) -> np.ndarray:
    if use_matplotlib:
        try:
            from matplotlib.path import Path as MplPath
        except ImportError:  # pragma: no cover - matplotlib is optional
            pass
        else:
            return np.asarray(MplPath(ring).contains_points(np.column_stack([x, y])), dtype=bool)
    return _ring_contains_numpy(ring, x, y)


def points_in_geometry(
    lon: Sequence[float] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    geometry: Mapping[str, Any],
    *,
    use_matplotlib: bool = True,
) -> np.ndarray:
    """Which points lie inside a GeoJSON Polygon/MultiPolygon (even-odd rule over all rings).

    Uses ``matplotlib.path`` when it is installed and a vectorised numpy ray casting otherwise;
    both give the same answer (tested). Points are first filtered by each ring's bounding box.
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    inside = np.zeros(x.shape, dtype=bool)
    for ring in geometry_rings(geometry):
        (xmin, ymin), (xmax, ymax) = ring.min(axis=0), ring.max(axis=0)
        cand = np.flatnonzero((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
        if cand.size:
            inside[cand] ^= _ring_contains(ring, x[cand], y[cand], use_matplotlib)
    return inside


def distance_to_boundary_km(
    lon: Sequence[float] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    geometry: Mapping[str, Any],
) -> np.ndarray:
    """Shortest distance (km, local equirectangular) from each point to the geometry's edges."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    best = np.full(x.shape, np.inf)
    for ring in geometry_rings(geometry):
        kx = np.cos(np.radians(ring[:, 1].mean())) * math.pi / 180 * EARTH_RADIUS_KM
        ky = math.pi / 180 * EARTH_RADIUS_KM
        ax, ay = ring[:-1, 0] * kx, ring[:-1, 1] * ky
        bx, by = ring[1:, 0] * kx, ring[1:, 1] * ky
        dx, dy = bx - ax, by - ay
        seg2 = np.where(dx * dx + dy * dy > 0, dx * dx + dy * dy, 1.0)
        for i in range(len(x)):
            px, py = x[i] * kx, y[i] * ky
            t = np.clip(((px - ax) * dx + (py - ay) * dy) / seg2, 0.0, 1.0)
            d2 = (ax + t * dx - px) ** 2 + (ay + t * dy - py) ** 2
            best[i] = min(best[i], float(np.sqrt(d2.min())))
    return best


def bbox(geometry: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a geometry."""
    rings = geometry_rings(geometry)
    allpts = np.vstack(rings)
    return (
        float(allpts[:, 0].min()),
        float(allpts[:, 1].min()),
        float(allpts[:, 0].max()),
        float(allpts[:, 1].max()),
    )


# --------------------------------------------------------------------------------------------
# Region look-ups (through healthwatch.regions)
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def liaoning_counties() -> dict[str, tuple[str, str]]:
    """County adcode -> (county name, city adcode) for Liaoning's 100 county-level regions."""
    from healthwatch.regions.hierarchy import liaoning_regions

    return {
        r.adcode: (r.name, r.parent or r.adcode[:4] + "00")
        for r in liaoning_regions()
        if r.level == "county"
    }


@lru_cache(maxsize=1)
def region_names() -> dict[str, str]:
    """Adcode -> Chinese name for Liaoning, its cities and counties."""
    from healthwatch.regions.hierarchy import liaoning_regions

    return {r.adcode: r.name for r in liaoning_regions()}


# --------------------------------------------------------------------------------------------
# The registry table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    """What an import found: the validated table and how many rows were converted from GCJ-02."""

    facilities: pd.DataFrame
    converted_from_gcj02: int
    located_by_point: int


def empty_registry() -> pd.DataFrame:
    """A registry with no rows and the right columns and dtypes."""
    return normalise_registry(pd.DataFrame({c: [] for c in FACILITY_COLUMNS}))


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
        or (isinstance(value, float) and math.isnan(value))
        or str(value).strip() == ""
    )


def _rename_headers(columns: Iterable[Any]) -> dict[Any, str]:
    mapping: dict[Any, str] = {}
    for col in columns:
        key = str(col).strip()
        mapping[col] = _HEADER_ALIASES.get(key, _HEADER_ALIASES.get(key.lower(), key.lower()))
    return mapping


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=object, engine="openpyxl")
    if suffix == ".csv":
        return pd.read_csv(path, dtype=object, encoding="utf-8-sig", keep_default_na=False)
    raise InputError(
        [
            Problem(
                f"Unsupported file type {suffix!r}: give a .csv or .xlsx file.",
                f"不支持的文件类型 {suffix!r}：请提供 .csv 或 .xlsx 文件。",
                file=str(path),
            )
        ]
    )


def read_facilities(
    path: str | Path, *, crs: str | None = None, tolerance_km: float = 1.0
) -> ImportSummary:
    """Read and validate a facility file (CSV or Excel); raise InputError listing every problem.

    ``crs`` ('WGS84' or 'GCJ02') applies to rows without their own ``crs`` column value; the
    default is WGS84. Rows with an empty ``adcode`` are placed in the county that contains them.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            [Problem("File not found.", "文件不存在。", file=str(path))],
        )
    raw = _read_table(path)
    return validate_facilities(raw, file=str(path), crs=crs, tolerance_km=tolerance_km)


def validate_facilities(
    raw: pd.DataFrame,
    *,
    file: str = "<table>",
    crs: str | None = None,
    tolerance_km: float = 1.0,
    check_boundaries: bool = True,
) -> ImportSummary:
    """Validate a raw table (strings or numbers) into a registry; see :func:`read_facilities`.

    Line numbers count the header as line 1, as a spreadsheet shows them. ``tolerance_km`` lets a
    facility sit that close outside its county's (simplified) boundary.
    """
    df = raw.rename(columns=_rename_headers(raw.columns))
    problems: list[Problem] = []
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            [
                _problem(
                    file,
                    1,
                    c,
                    f"Required column {c!r} is missing.",
                    f"缺少必需的列 {c!r}（{COLUMN_ZH[c]}）。",
                )
                for c in missing
            ]
        )
    default_crs = _CRS_ALIASES.get(str(crs or "WGS84").strip().lower())
    if default_crs is None and crs is not None:
        raise InputError(
            [
                Problem(
                    f"Unknown coordinate system {crs!r}: use WGS84 or GCJ02.",
                    f"未知坐标系 {crs!r}：请用 WGS84 或 GCJ02。",
                    file=file,
                )
            ]
        )
    default_crs = default_crs or "WGS84"
    counties = liaoning_counties()
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    gcj_rows: list[int] = []
    for idx, rec in enumerate(df.to_dict(orient="records")):
        line = idx + 2
        row: dict[str, Any] = {}
        bad = False

        def add(field: str | None, en: str, zh: str, line: int = line) -> None:
            nonlocal bad
            bad = True
            problems.append(_problem(file, line, field, en, zh))

        fid = "" if _is_blank(rec.get("id")) else str(rec["id"]).strip()
        if not fid:
            add("id", "Facility id is empty.", "机构编号为空。")
        elif fid in seen:
            add(
                "id",
                f"Duplicate id {fid!r} (also on line {seen[fid]}).",
                f"编号 {fid!r} 重复（第 {seen[fid]} 行已有）。",
            )
        else:
            seen[fid] = line
        row["id"] = fid
        row["name"] = "" if _is_blank(rec.get("name")) else str(rec["name"]).strip()
        if not row["name"]:
            add("name", "Facility name is empty.", "机构名称为空。")

        kind = parse_kind(rec.get("kind", ""))
        if kind is None:
            allowed = ", ".join(k.value for k in FacilityKind)
            add(
                "kind",
                f"Unknown facility kind {rec.get('kind')!r}; use one of {allowed}.",
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
            if _is_blank(value):
                row[col] = 0
                continue
            try:
                num = float(str(value).replace(",", ""))
            except ValueError:
                add(
                    col,
                    f"{col} must be a whole number, got {value!r}.",
                    f"{COLUMN_ZH[col]}应为整数，实为 {value!r}。",
                )
                row[col] = 0
                continue
            if not math.isfinite(num) or num != int(num):
                add(
                    col,
                    f"{col} must be a whole number, got {value!r}.",
                    f"{COLUMN_ZH[col]}应为整数，实为 {value!r}。",
                )
            elif num < 0:
                add(
                    col,
                    f"{col} must not be negative, got {value!r}.",
                    f"{COLUMN_ZH[col]}不能为负数，实为 {value!r}。",
                )
            row[col] = int(num) if math.isfinite(num) else 0
        if row["negative_pressure"] > row["ambulances"]:
            add(
                "negative_pressure",
                f"{row['negative_pressure']} negative-pressure ambulances but only "
                f"{row['ambulances']} ambulances in all.",
                f"负压救护车 {row['negative_pressure']} 辆多于救护车总数 {row['ambulances']} 辆。",
            )

        year_raw = rec.get("year")
        row["year"] = None
        if not _is_blank(year_raw):
            try:
                year = float(str(year_raw))
                if year != int(year) or not 1949 <= year <= 2100:
                    raise ValueError
                row["year"] = int(year)
            except ValueError:
                add("year", f"Year {year_raw!r} is not a year.", f"年份 {year_raw!r} 无效。")

        syn = rec.get("synthetic")
        row["synthetic"] = (not _is_blank(syn)) and str(syn).strip().lower() in (
            "1",
            "true",
            "yes",
            "y",
            "是",
        )

        row_crs = default_crs
        if not _is_blank(rec.get("crs")):
            found = _CRS_ALIASES.get(str(rec["crs"]).strip().lower())
            if found is None:
                add(
                    "crs",
                    f"Unknown coordinate system {rec['crs']!r}: use WGS84 or GCJ02.",
                    f"未知坐标系 {rec['crs']!r}：请用 WGS84 或 GCJ02。",
                )
            row_crs = found or default_crs

        try:
            lon = float(str(rec.get("lon")).strip())
            lat = float(str(rec.get("lat")).strip())
            if not (math.isfinite(lon) and math.isfinite(lat)):
                raise ValueError
        except ValueError:
            add(
                "lon/lat",
                f"Coordinates {rec.get('lon')!r}, {rec.get('lat')!r} are not numbers.",
                f"坐标 {rec.get('lon')!r}, {rec.get('lat')!r} 不是数字。",
            )
            lon, lat = math.nan, math.nan
        else:
            if 118 <= lat <= 126 and 38 <= lon <= 44:
                add(
                    "lon/lat",
                    f"Longitude {lon} and latitude {lat} look swapped (Liaoning is about "
                    "lon 118-126, lat 38-44): exchange the two columns.",
                    f"经度 {lon}、纬度 {lat} 似乎写反了（辽宁约为经度 118-126、纬度 38-44），"
                    "请交换两列。",
                )
            elif not (-180 <= lon <= 180 and -90 <= lat <= 90):
                add(
                    "lon/lat",
                    f"Coordinates {lon}, {lat} are not valid degrees.",
                    f"坐标 {lon}, {lat} 不是有效的经纬度。",
                )
            elif row_crs == "GCJ02":
                gcj_rows.append(len(rows))
        row["lon"], row["lat"] = lon, lat

        adcode = "" if _is_blank(rec.get("adcode")) else str(rec["adcode"]).strip()
        if adcode.endswith(".0"):
            adcode = adcode[:-2]
        if adcode and adcode not in counties:
            add(
                "adcode",
                f"{adcode!r} is not a county-level adcode of Liaoning.",
                f"{adcode!r} 不是辽宁省的县级区划代码。",
            )
        row["adcode"] = adcode
        row["_line"] = line
        row["_bad"] = bad
        rows.append(row)

    table = pd.DataFrame(rows)
    if table.empty:
        if problems:
            raise InputError(problems)
        return ImportSummary(empty_registry(), 0, 0)
    if gcj_rows:
        from healthwatch.regions.geo import gcj02_to_wgs84

        rows_gcj = np.asarray(gcj_rows)
        wlon, wlat = gcj02_to_wgs84(
            table.loc[rows_gcj, "lon"].to_numpy(float), table.loc[rows_gcj, "lat"].to_numpy(float)
        )
        table.loc[rows_gcj, "lon"] = np.asarray(wlon, dtype=float)
        table.loc[rows_gcj, "lat"] = np.asarray(wlat, dtype=float)

    located = 0
    if check_boundaries:
        located = _check_locations(table, counties, file, problems, tolerance_km)
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise InputError(problems)
    table = table.drop(columns=["_line", "_bad"])
    return ImportSummary(normalise_registry(table), len(gcj_rows), located)


def _check_locations(
    table: pd.DataFrame,
    counties: Mapping[str, tuple[str, str]],
    file: str,
    problems: list[Problem],
    tolerance_km: float,
) -> int:
    """Check points lie in Liaoning and in their county; fill empty adcodes; return how many."""
    ok = (~table["_bad"]) & np.isfinite(table["lon"]) & np.isfinite(table["lat"])
    lon = table["lon"].to_numpy(float)
    lat = table["lat"].to_numpy(float)
    province = boundary(LIAONING)
    in_prov = np.zeros(len(table), dtype=bool)
    in_prov[ok.to_numpy()] = points_in_geometry(lon[ok], lat[ok], province)
    outside = np.flatnonzero(ok.to_numpy() & ~in_prov)
    if outside.size:
        dist = distance_to_boundary_km(lon[outside], lat[outside], province)
        for i, d in zip(outside, dist, strict=True):
            if d <= tolerance_km:
                in_prov[i] = True
                continue
            problems.append(
                _problem(
                    file,
                    int(table.at[i, "_line"]),
                    "lon/lat",
                    f"Point ({lon[i]:.5f}, {lat[i]:.5f}) is {d:.1f} km outside Liaoning.",
                    f"坐标 ({lon[i]:.5f}, {lat[i]:.5f}) 在辽宁省界外 {d:.1f} 公里。",
                )
            )
    located = 0
    usable = ok.to_numpy() & in_prov
    for adcode, group in table[usable].groupby("adcode"):
        idx = group.index.to_numpy()
        if adcode == "":
            continue
        geom = boundary(str(adcode))
        inside = points_in_geometry(lon[idx], lat[idx], geom)
        far = idx[~inside]
        if far.size:
            dist = distance_to_boundary_km(lon[far], lat[far], geom)
            for i, d in zip(far, dist, strict=True):
                if d > tolerance_km:
                    name = counties[str(adcode)][0]
                    problems.append(
                        _problem(
                            file,
                            int(table.at[i, "_line"]),
                            "adcode",
                            f"Point ({lon[i]:.5f}, {lat[i]:.5f}) is {d:.1f} km outside "
                            f"county {adcode} ({name}): check the coordinates or the adcode.",
                            f"坐标 ({lon[i]:.5f}, {lat[i]:.5f}) 在 {name}（{adcode}）界外 "
                            f"{d:.1f} 公里：请核对坐标或区划代码。",
                        )
                    )
    blank = np.flatnonzero(usable & (table["adcode"] == "").to_numpy())
    if blank.size:
        found = locate_counties(lon[blank], lat[blank])
        for i, code in zip(blank, found, strict=True):
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


def locate_counties(lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
    """The Liaoning county containing each point (None where none does)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    result: list[str | None] = [None] * len(lon)
    todo = np.ones(len(lon), dtype=bool)
    for code in sorted(liaoning_counties()):
        if not todo.any():
            break
        geom = boundary(code)
        xmin, ymin, xmax, ymax = bbox(geom)
        near = np.flatnonzero(todo & (lon >= xmin) & (lon <= xmax) & (lat >= ymin) & (lat <= ymax))
        if near.size == 0:
            continue
        hit = near[points_in_geometry(lon[near], lat[near], geom)]
        for i in hit:
            result[int(i)] = code
        todo[hit] = False
    return result


def registry_to_csv(facilities: pd.DataFrame, path: str | Path) -> Path:
    """Write a registry as a CSV that :func:`read_facilities` reads back unchanged."""
    path = Path(path)
    out = normalise_registry(facilities)
    out.to_csv(path, index=False, encoding="utf-8")
    return path


def summarise(facilities: pd.DataFrame) -> pd.DataFrame:
    """Counts by kind: facilities, beds, staff and ambulances (for ``access facilities``)."""
    grouped = facilities.groupby("kind", sort=True)
    out = grouped[list(COUNT_COLUMNS)].sum()
    out.insert(0, "facilities", grouped.size())
    return out.reset_index()
