"""What each `healthwatch access` command does, as plain functions the CLI and the web layer share.

Each function chooses its inputs (a file when one is given, else the stored facility registry, else
the seeded synthetic demo data of :mod:`healthwatch.access.demo_data`), runs the pure models of
:mod:`healthwatch.access` and returns plain data: dicts ready for JSON, plus the model result where
a caller draws its own table. Every result says where its inputs came from and whether any of
them is synthetic, so that no caller can present made-up figures as real ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.access import demo_data as demo
from healthwatch.access.coverage import CoverageResult, coverage, radius_by_urban
from healthwatch.access.facilities import read_facilities, region_names, summarise
from healthwatch.access.ratios import RatioReport, resource_ratios
from healthwatch.errors import InputError, Problem
from healthwatch.store.audit import revert_change
from healthwatch.store.db import session_scope, shown_url
from healthwatch.store.facilities import (
    ems_stations,
    facility_count,
    facility_history,
    region_prefix,
    save_facilities,
    stored_registry,
)
from healthwatch.store.models import AuditEntry
from healthwatch.store.regions import populations

DEMO_SOURCE = "synthetic demo"
LEVELS = ("province", "city", "county")
SITING_MODELS = ("lscp", "mclp", "mexclp")
SITE_JSON_KEYS = (
    "model",
    "status",
    "objective",
    "gap",
    "selected",
    "covered_population",
    "total_population",
    "seconds",
)
SELECTED_KEYS = ("id", "lon", "lat", "ambulances")


@dataclass(frozen=True)
class Sourced:
    """A table and where it came from: a file name, the database or the synthetic demo."""

    table: pd.DataFrame
    source: str
    synthetic: bool


def registry(db: str | None, county: str | None = None, kind: str | None = None) -> Sourced:
    """The stored facility registry when the database has one, else the demo data (filtered)."""
    stored = stored_registry(db, county=county, kind=kind)
    if stored is not None:
        return Sourced(stored, f"database {shown_url(db)}", False)
    table = demo.demo_data().facilities
    if county is not None:
        table = table[table["adcode"].str.startswith(region_prefix(county))]
    if kind is not None:
        table = table[table["kind"] == kind]
    return Sourced(table.reset_index(drop=True), DEMO_SOURCE, True)


def _facilities(path: Path | None, db: str | None) -> Sourced:
    """Facilities from a file when given, else the registry (stored or demo)."""
    if path is None:
        return registry(db)
    return Sourced(read_facilities(path).facilities, str(path), False)


def _demand(path: Path | None) -> Sourced:
    if path is None:
        return Sourced(demo.demo_data().demand, DEMO_SOURCE, True)
    return Sourced(demo.read_points(path, "demand"), str(path), False)


def _demand_radius(demand: pd.DataFrame, radius_urban: float, radius_rural: float) -> np.ndarray:
    urban = demand["urban"] if "urban" in demand else np.zeros(len(demand), dtype=int)
    return radius_by_urban(urban, radius_urban, radius_rural)


def _city_of_points(demand: pd.DataFrame) -> pd.Series:
    """Each demand point's city adcode (``all`` when the file has no adcode column)."""
    if "adcode" in demand:
        return demand["adcode"].astype(str).str[:4] + "00"
    return pd.Series(["all"] * len(demand))


def registry_summary(
    table: pd.DataFrame, source: str, converted: int = 0, located: int = 0
) -> dict[str, Any]:
    """Counts by kind plus every facility, as JSON-ready data."""
    return {
        "source": source,
        "synthetic": bool(table["synthetic"].all()) if len(table) else False,
        "count": len(table),
        "converted_from_gcj02": converted,
        "located_by_point": located,
        "by_kind": summarise(table).to_dict(orient="records"),
        "facilities": json.loads(table.to_json(orient="records", force_ascii=False)),
    }


def list_facilities(
    db: str | None, county: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    """The registry (stored, else demo) as :func:`registry_summary` data."""
    found = registry(db, county, kind)
    return registry_summary(found.table, found.source)


def check_facilities(file: Path, crs: str | None = None) -> dict[str, Any]:
    """Check a facility file without storing it; :func:`registry_summary` data."""
    summary = read_facilities(file, crs=crs)
    return registry_summary(
        summary.facilities, str(file), summary.converted_from_gcj02, summary.located_by_point
    )


def import_facilities(
    file: Path,
    *,
    actor: str,
    crs: str | None = None,
    replace: str | None = None,
    source: str | None = None,
    db: str | None = None,
) -> dict[str, Any]:
    """Check a facility file and store it in one transaction: a bad file writes nothing."""
    summary = read_facilities(file, crs=crs)
    with session_scope(db, actor=actor) as session:
        counts = save_facilities(
            session,
            summary.facilities,
            actor=actor,
            source=source or file.name,
            replace_scope=replace,
        )
        total = facility_count(session)
    return {
        "file": str(file),
        "database": shown_url(db),
        "rows": len(summary.facilities),
        **counts,
        "stored": total,
        "converted_from_gcj02": summary.converted_from_gcj02,
        "located_by_point": summary.located_by_point,
        "synthetic": bool(summary.facilities["synthetic"].any()),
    }


def registry_history(db: str | None, facility_id: str | None = None) -> list[dict[str, Any]]:
    """Audit trail of the registry, oldest first."""
    with session_scope(db) as session:
        return facility_history(session, facility_id)


def changed_fields(entry: dict[str, Any]) -> list[str]:
    """The fields an audited update changed (empty for inserts and deletes)."""
    if entry["action"] != "update":
        return []
    before, after = entry["before"] or {}, entry["after"] or {}
    return [k for k in {**before, **after} if before.get(k) != after.get(k)]


def revert_facility_change(db: str | None, audit_id: int, *, actor: str) -> dict[str, Any]:
    """Undo one registry change; refuses an audit entry that is not about a facility."""
    with session_scope(db, actor=actor) as session:
        entry = session.get(AuditEntry, audit_id)
        if entry is not None and entry.entity != "facilities":
            raise InputError(
                [
                    Problem(
                        f"Audit entry {audit_id} is a change to {entry.entity}, not to a facility.",
                        f"审计记录 {audit_id} 不是机构的变更（而是 {entry.entity}）。",
                        field="AUDIT_ID",
                    )
                ]
            )
        return revert_change(session, audit_id, actor=actor)


def _stored_populations(db: str | None, year: int) -> dict[str, float]:
    with session_scope(db) as session:
        pops = populations(session, year)
    if not pops:
        raise InputError(
            [
                Problem(
                    f"The database has no populations for {year}: load them with "
                    "`healthwatch regions load FILE`, or pass --population / --year.",
                    f"数据库中没有 {year} 年的人口数：请用 `healthwatch regions load FILE` 载入，"
                    "或给出 --population / --year。",
                    field="--year",
                )
            ]
        )
    return dict(pops)


@dataclass(frozen=True)
class RatiosRun:
    """A ratio report with the year used and where facilities and populations came from."""

    report: RatioReport
    year: int
    facilities_source: str
    population_source: str
    synthetic: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.report.to_dict(),
            "facilities_source": self.facilities_source,
            "population_source": self.population_source,
        }


def ratios(
    *,
    year: int | None = None,
    facilities_file: Path | None = None,
    population_file: Path | None = None,
    levels: list[str] | tuple[str, ...] = ("province", "city"),
    db: str | None = None,
) -> RatiosRun:
    """Resource ratios against the plan's targets.

    Populations come from ``population_file`` when given; else, when the facilities are the
    stored registry, from the database (for ``year`` or the registry's newest year); else from
    the demo data.
    """
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise InputError(
            [Problem(f"Unknown level {b!r}.", f"未知层级 {b!r}。", field="--level") for b in bad]
        )
    fac = _facilities(facilities_file, db)
    if population_file is not None:
        from healthwatch.regions.population import read_population_csv

        rows = read_population_csv(population_file, year=year)
        year = year if year is not None else max(r.year for r in rows)
        pops: dict[str, float] = {r.adcode: r.persons for r in rows if r.year == year}
        pop_source = str(population_file)
    elif facilities_file is None and not fac.synthetic:
        years = fac.table["year"].dropna()
        year = year if year is not None else int(years.max()) if len(years) else demo.DEMO_YEAR
        pops, pop_source = _stored_populations(db, year), fac.source
    else:
        data = demo.demo_data()
        pops = dict(data.populations())
        year = year if year is not None else data.year
        pop_source = DEMO_SOURCE
    report = resource_ratios(fac.table, pops, year=year, levels=levels)  # type: ignore[arg-type]
    return RatiosRun(
        report, year, fac.source, pop_source, fac.synthetic or pop_source == DEMO_SOURCE
    )


@dataclass(frozen=True)
class CoverageRun:
    """EMS coverage: the JSON summary, the model result and the optional GeoJSON layer."""

    summary: dict[str, Any]
    result: CoverageResult
    by_region: pd.DataFrame
    geojson: dict[str, Any] | None


def ems_coverage(
    *,
    demand_file: Path | None = None,
    stations_file: Path | None = None,
    radius_urban: float = demo.DEMO_RADIUS_URBAN_KM,
    radius_rural: float = demo.DEMO_RADIUS_RURAL_KM,
    network_file: Path | None = None,
    with_geojson: bool = False,
    db: str | None = None,
) -> CoverageRun:
    """Population within the service radius of an EMS station, in total and per city."""
    demand = _demand(demand_file)
    if stations_file is None:
        reg = registry(db)
        stations = Sourced(
            demo.demo_data().stations if reg.synthetic else ems_stations(reg.table),
            reg.source,
            reg.synthetic,
        )
    else:
        stations = Sourced(demo.read_points(stations_file, "stations"), str(stations_file), False)
    points, sites = demand.table, stations.table
    radius = _demand_radius(points, radius_urban, radius_rural)
    network = None
    if network_file is not None:
        from healthwatch.access.network import read_network

        network = read_network(network_file)
    result = coverage(
        points["lon"],
        points["lat"],
        points["population"],
        radius,
        sites["lon"],
        sites["lat"],
        metric="network" if network is not None else "haversine",
        network=network,
    )
    layer = None
    if with_geojson:
        from healthwatch.access.svgmap import coverage_geojson

        layer = coverage_geojson(
            result.covered, points, sites, distance=result.nearest_distance, radius=radius
        )
    names = region_names()
    by = result.by_region(_city_of_points(points).to_numpy())
    by["name"] = [names.get(str(c), str(c)) for c in by["region"]]
    summary = {
        "metric": result.metric,
        "radius_urban_km": radius_urban,
        "radius_rural_km": radius_rural,
        "points": len(points),
        "stations": len(sites),
        "uncovered_points": int((~result.covered).sum()),
        "total_population": result.total_population,
        "covered_population": result.covered_population,
        "share": result.share,
        "synthetic": demand.synthetic or stations.synthetic,
        "stations_source": stations.source,
        "by_region": json.loads(by.to_json(orient="records", force_ascii=False)),
    }
    return CoverageRun(summary, result, by, layer)


@dataclass(frozen=True)
class SiteRun:
    """A siting solution: stable JSON keys, full JSON, GeoJSON, and whether inputs are synthetic."""

    stable: dict[str, Any]
    full: dict[str, Any]
    geojson: dict[str, Any]
    synthetic: bool


def site_stations(
    model: str,
    *,
    p: int = 10,
    radius_urban: float = demo.DEMO_RADIUS_URBAN_KM,
    radius_rural: float = demo.DEMO_RADIUS_RURAL_KM,
    demand_file: Path | None = None,
    candidates_file: Path | None = None,
    busy: float = 0.3,
    time_limit: float = 300.0,
) -> SiteRun:
    """Optimal EMS station or ambulance siting with LSCP, MCLP (``p`` new sites) or MEXCLP."""
    from healthwatch.access import siting

    if model not in SITING_MODELS:
        raise InputError(
            [
                Problem(
                    f"Unknown model {model!r}: use lscp, mclp or mexclp.",
                    f"未知模型 {model!r}：请用 lscp、mclp 或 mexclp。",
                    field="--model",
                )
            ]
        )
    demand = _demand(demand_file)
    if candidates_file is None:
        cand = Sourced(demo.demo_data().candidates, DEMO_SOURCE, True)
    else:
        cand = Sourced(demo.read_points(candidates_file, "candidates"), str(candidates_file), False)
    points, sites = demand.table, cand.table
    d = siting.Demand(
        points["lon"],
        points["lat"],
        points["population"],
        _demand_radius(points, radius_urban, radius_rural),
        ids=points["id"],
    )
    c = siting.Candidates(sites["lon"], sites["lat"], sites.get("existing"), ids=sites["id"])
    options = siting.SolveOptions(time_limit=time_limit)
    if model == "lscp":
        result = siting.lscp(d, c, options=options)
    elif model == "mclp":
        result = siting.mclp(d, c, p, options=options)
    else:
        result = siting.mexclp(d, c, p, busy, options=options)
    full = result.to_json()
    stable = {k: full[k] for k in SITE_JSON_KEYS}
    stable["selected"] = [{k: row[k] for k in SELECTED_KEYS} for row in full["selected"]]
    return SiteRun(stable, full, result.to_geojson(), cand.synthetic or demand.synthetic)


def accessibility(
    *,
    demand_file: Path | None = None,
    facilities_file: Path | None = None,
    resource: str = "beds",
    catchment: float = 15.0,
    enhanced: bool = False,
    db: str | None = None,
) -> dict[str, Any]:
    """Spatial accessibility (2SFCA, or E2SFCA over 5/10/15 km bands) per 1,000, by city."""
    from healthwatch.access.accessibility import DISTANCE_BANDS_KM, e2sfca, two_sfca
    from healthwatch.access.distance import within_radius

    demand = _demand(demand_file)
    fac = _facilities(facilities_file, db)
    if resource not in fac.table.columns or resource in ("id", "lon", "lat"):
        raise InputError(
            [
                Problem(
                    f"Unknown resource {resource!r}.",
                    f"未知资源 {resource!r}。",
                    field="--resource",
                )
            ]
        )
    points = demand.table
    supply_rows = fac.table[fac.table[resource] > 0].reset_index(drop=True)
    reach_km = max(b[0] for b in DISTANCE_BANDS_KM) if enhanced else catchment
    reach = within_radius(
        points["lon"], points["lat"], reach_km, supply_rows["lon"], supply_rows["lat"]
    )
    supply = supply_rows[resource].to_numpy(float)
    if enhanced:
        res = e2sfca(points["population"], supply, reach, DISTANCE_BANDS_KM)
    else:
        res = two_sfca(points["population"], supply, reach, catchment)
    frame = pd.DataFrame(
        {
            "region": _city_of_points(points).to_numpy(),
            "population": points["population"].to_numpy(float),
            "a": res.access * 1000,
        }
    )
    names = region_names()
    rows = []
    for region, g in frame.groupby("region", sort=True):
        w = g["population"].to_numpy()
        mean = float(np.average(g["a"], weights=w)) if w.sum() > 0 else float("nan")
        rows.append(
            {
                "region": region,
                "name": names.get(str(region), str(region)),
                "population": float(w.sum()),
                "mean_per_1000": mean,
                "min_per_1000": float(g["a"].min()),
                "max_per_1000": float(g["a"].max()),
                "population_without_access": float(w[g["a"].to_numpy() == 0].sum()),
            }
        )
    return {
        "method": "e2sfca" if enhanced else "2sfca",
        "resource": resource,
        "catchment_km": None if enhanced else catchment,
        "bands_km": [list(b) for b in DISTANCE_BANDS_KM] if enhanced else None,
        "points": len(points),
        "facilities": len(supply_rows),
        "synthetic": demand.synthetic or fac.synthetic,
        "facilities_source": fac.source,
        "by_region": rows,
    }


def write_demo_files(outdir: Path, seed: int | None = None) -> dict[str, Any]:
    """Write the synthetic demo data (facilities, demand, candidates, stations) as CSV files."""
    seed = demo.DEMO_SEED if seed is None else seed
    data = demo.demo_data(seed)
    paths = demo.write_demo_data(outdir, data)
    return {
        "synthetic": True,
        "seed": seed,
        "files": {k: str(v) for k, v in paths.items()},
        "rows": {
            "facilities": len(data.facilities),
            "demand": len(data.demand),
            "candidates": len(data.candidates),
            "stations": len(data.stations),
        },
    }


def _read_layer(path: Path) -> dict[str, Any]:
    try:
        layer: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(
            [
                Problem(
                    f"Not a readable GeoJSON file ({exc}).",
                    "不是可读取的 GeoJSON 文件。",
                    file=str(path),
                )
            ]
        ) from None
    return layer


def draw_map(out: Path, layers: list[Path] | None = None, title: str = "") -> dict[str, Any]:
    """Draw county boundaries with GeoJSON layers as SVG; no layers: the demo EMS coverage.

    Every layer is read before anything is written, so a bad layer leaves no file behind.
    """
    from healthwatch.access.svgmap import coverage_geojson, render_svg

    note = ""
    if layers:
        data = [_read_layer(path) for path in layers]
    else:
        d = demo.demo_data()
        res = coverage(
            d.demand["lon"],
            d.demand["lat"],
            d.demand["population"],
            radius_by_urban(d.demand["urban"]),
            d.stations["lon"],
            d.stations["lat"],
        )
        data = [coverage_geojson(res.covered, d.demand, d.stations)]
        title = title or f"急救覆盖 / EMS coverage 5 km urban, 15 km rural: {res.share:.1%}"
        note = "模拟数据 SYNTHETIC demo data — not real facilities"
    out.write_text(render_svg(data, title=title, note=note), encoding="utf-8")
    return {"file": str(out), "layers": len(data), "title": title, "synthetic": not layers}
