"""What each `healthwatch access` command does, as plain functions the CLI and the web app share.

This is the one place where the facility store, the file readers of :mod:`healthwatch.data` and
the pure models of :mod:`healthwatch.access` meet. Each function chooses its inputs (a file when
one is given, else the stored facility registry, else the seeded synthetic demo data of
:mod:`healthwatch.access.demo_data`), runs the models and returns plain data: dicts ready for
JSON, plus the model result where a caller draws its own table. Every result says where its
inputs came from and whether any of them is synthetic, so that no caller can present made-up
figures as real ones. Functions that write take an :class:`~healthwatch.users.Actor` and check
it with :func:`~healthwatch.users.require`; files to be written are checked before any work.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.access import demo_data as demo
from healthwatch.access.coverage import CoverageResult, coverage, radius_by_urban
from healthwatch.access.facilities import ems_stations, provinces_of, region_prefix, summarise
from healthwatch.access.ratios import RatioReport, resource_ratios, targets_from_plan
from healthwatch.data.facilities import read_facilities
from healthwatch.data.points import read_points
from healthwatch.data.populations import read_populations
from healthwatch.errors import HealthwatchError, InputError, NotFoundError, Problem
from healthwatch.plans import Plan, builtin_plans
from healthwatch.regions.hierarchy import LIAONING, region_names
from healthwatch.store.audit import revert_change
from healthwatch.store.db import session_scope, shown_url, sqlite_file_missing
from healthwatch.store.facilities import (
    facility_count,
    facility_history,
    save_facilities,
)
from healthwatch.store.facilities import (
    list_facilities as stored_facilities,
)
from healthwatch.store.models import AuditEntry
from healthwatch.store.plans import list_plans, stored_plan
from healthwatch.store.regions import populations
from healthwatch.users import Actor, require

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
    #: For the demo fallback: the database that was looked at and held no facility.
    instead_of: str | None = None


def stored_registry(
    db: str | None = None, *, county: str | None = None, kind: str | None = None
) -> pd.DataFrame | None:
    """The registry stored in ``db``, or None when it holds no facility or does not exist.

    Reading never creates a database: a missing SQLite file is None, not a new empty file.
    """
    if sqlite_file_missing(db):
        return None
    with session_scope(db) as session:
        if not facility_count(session):
            return None
        return stored_facilities(session, county=county, kind=kind)


def registry(db: str | None, county: str | None = None, kind: str | None = None) -> Sourced:
    """The stored facility registry when the database has one, else the demo data (filtered).

    The demo's source names the database that was looked at, so that a mistyped ``--db`` shows
    as such rather than as quietly made-up figures.
    """
    stored = stored_registry(db, county=county, kind=kind)
    if stored is not None:
        return Sourced(stored, f"database {shown_url(db)}", False)
    table = demo.demo_data().facilities
    if county is not None:
        table = table[table["adcode"].str.startswith(region_prefix(county))]
    if kind is not None:
        table = table[table["kind"] == kind]
    return Sourced(table.reset_index(drop=True), DEMO_SOURCE, True, shown_url(db))


def _facilities(path: Path | None, db: str | None) -> Sourced:
    """Facilities from a file when given, else the registry (stored or demo)."""
    if path is None:
        return registry(db)
    return Sourced(read_facilities(path).facilities, str(path), False)


def _demand(path: Path | None, province: str | None = None) -> Sourced:
    if path is None:
        return Sourced(demo.demo_data().demand, DEMO_SOURCE, True)
    return Sourced(read_points(path, "demand", province=province), str(path), False)


def check_writable(path: Path | None, what: str = "--geojson") -> None:
    """Refuse (InputError) an output path that cannot be written, before any work is done."""
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path(".")
    reason = None
    if path.is_dir():
        reason = ("it is a folder", "这是文件夹")
    elif not parent.is_dir():
        reason = ("its folder does not exist", "所在文件夹不存在")
    elif not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        reason = ("permission denied", "没有写入权限")
    if reason is not None:
        raise InputError(
            [
                Problem(
                    f"Cannot write the file: {reason[0]}.",
                    f"无法写入该文件：{reason[1]}。",
                    file=str(path),
                    field=what,
                )
            ]
        )


def write_text_file(path: Path, text: str, what: str) -> None:
    """Write an output file, turning an OS error into a bilingual InputError."""
    check_writable(path, what)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(
            [
                Problem(
                    f"Cannot write the file: {exc.strerror}.",
                    f"无法写入该文件：{exc.strerror}。",
                    file=str(path),
                    field=what,
                )
            ]
        ) from None


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
    """The registry (stored, else demo) as :func:`registry_summary` data; for the demo,
    ``no_facilities_in`` names the database that was looked at."""
    found = registry(db, county, kind)
    summary = registry_summary(found.table, found.source)
    if found.instead_of is not None:
        summary["no_facilities_in"] = found.instead_of
    return summary


def check_facilities(
    file: Path, crs: str | None = None, province: str | None = None
) -> dict[str, Any]:
    """Check a facility file without storing it; :func:`registry_summary` data."""
    summary = read_facilities(file, crs=crs, province=province)
    return registry_summary(
        summary.facilities, str(file), summary.converted_from_gcj02, summary.located_by_point
    )


def import_facilities(
    file: Path,
    *,
    actor: Actor,
    crs: str | None = None,
    replace: str | None = None,
    source: str | None = None,
    db: str | None = None,
    province: str | None = None,
) -> dict[str, Any]:
    """Check a facility file and store it in one transaction: a bad file writes nothing.

    The file is checked before the database is opened (a bad file creates no database), and
    ``actor`` must be allowed to write in every county the file names.
    """
    summary = read_facilities(file, crs=crs, province=province)
    for adcode in sorted(set(summary.facilities["adcode"])):
        require(actor, "write", str(adcode))
    with session_scope(db, actor=actor.username, create=True) as session:
        counts = save_facilities(
            session,
            summary,
            actor=actor.username,
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


def revert_facility_change(db: str | None, audit_id: int, *, actor: Actor) -> dict[str, Any]:
    """Undo one registry change; refuses an audit entry that is not about a facility, and one
    that was already undone (see :func:`healthwatch.store.audit.revert_change`)."""
    with session_scope(db, actor=actor.username) as session:
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
        if entry is not None:
            require(actor, "write", (entry.after or entry.before or {}).get("adcode") or None)
        return revert_change(session, audit_id, actor=actor.username)


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
    """A ratio report with the year used, where facilities and populations came from, the plan
    whose targets were used and any warnings (e.g. inputs from different provinces)."""

    report: RatioReport
    year: int
    facilities_source: str
    population_source: str
    synthetic: bool
    plan_id: str = ""
    warnings: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.report.to_dict(),
            "plan": self.plan_id,
            "facilities_source": self.facilities_source,
            "population_source": self.population_source,
            "warnings": [{"message_zh": zh, "message_en": en} for zh, en in self.warnings],
        }


def _plans(db: str | None) -> list[Plan]:
    """The stored plans when the database has any, else the packaged ones."""
    if not sqlite_file_missing(db):
        try:
            with session_scope(db) as session:
                stored = [stored_plan(session, row["id"]) for row in list_plans(session)]
        except HealthwatchError:
            stored = []
        if stored:
            return stored
    return list(builtin_plans())


def choose_plan(province: str, plan_id: str | None, db: str | None) -> Plan:
    """The plan whose targets ``access ratios`` uses: ``plan_id``, else the province's own."""
    plans = _plans(db)
    if plan_id is not None:
        for plan in plans:
            if plan.id == plan_id:
                return plan
        raise NotFoundError(
            f"No plan {plan_id!r}. `healthwatch plans list` shows the stored plans.",
            f"没有规划 {plan_id!r}。可用 `healthwatch plans list` 查看已存的规划。",
        )
    for plan in plans:
        if plan.region == province:
            return plan
    name = region_names().get(province, province)
    raise NotFoundError(
        f"No plan for province {province} ({name}) holds the resource targets: load the "
        "province's plan with `healthwatch plans load FILE`, or name one with --plan.",
        f"没有{name}（{province}）的规划可提供资源配置目标：请用 `healthwatch plans load FILE` "
        "载入该省规划，或用 --plan 指定。",
    )


def _province_warnings(facilities: pd.DataFrame, pops: dict[str, float]) -> list[tuple[str, str]]:
    """A warning when facilities and populations belong to different provinces."""
    fac = provinces_of(facilities["adcode"])
    pop = provinces_of(pops)
    if not fac or not pop or set(fac) == set(pop):
        return []
    names = region_names()
    shown_f = "、".join(names.get(p, p) for p in fac)
    shown_p = "、".join(names.get(p, p) for p in pop)
    return [
        (
            f"机构属于{shown_f}，人口数属于{shown_p}：二者不是同一省份，比率可能无意义。",
            f"The facilities belong to {', '.join(fac)} and the populations to "
            f"{', '.join(pop)}: different provinces, so the ratios may mean nothing.",
        )
    ]


def ratios(
    *,
    year: int | None = None,
    facilities_file: Path | None = None,
    population_file: Path | None = None,
    levels: list[str] | tuple[str, ...] = ("province", "city"),
    db: str | None = None,
    plan_id: str | None = None,
) -> RatiosRun:
    """Resource ratios against the targets of the plan of the facilities' province.

    Populations come from ``population_file`` when given; else, when the facilities are the
    stored registry, from the database (for ``year`` or the registry's newest year); else from
    the demo data. The targets are the plan's own (:func:`choose_plan`), judged by the plan
    model's own evaluation.
    """
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise InputError(
            [Problem(f"Unknown level {b!r}.", f"未知层级 {b!r}。", field="--level") for b in bad]
        )
    fac = _facilities(facilities_file, db)
    if population_file is not None:
        rows = read_populations(population_file, year=year)
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
    provinces = provinces_of(fac.table["adcode"]) or provinces_of(pops)
    if not provinces:
        raise InputError([Problem("No facilities and no populations.", "没有机构，也没有人口数。")])
    plan = choose_plan(provinces[0], plan_id, db)
    report = resource_ratios(
        fac.table,
        pops,
        year=year,
        levels=levels,  # type: ignore[arg-type]
        targets=targets_from_plan(plan),
    )
    warnings = _province_warnings(fac.table, pops)
    if len(provinces) > 1:
        warnings.append(
            (
                f"机构分属多个省份（{'、'.join(provinces)}）：目标取自 {plan.id}。",
                f"The facilities span several provinces ({', '.join(provinces)}): the targets "
                f"are those of {plan.id}.",
            )
        )
    return RatiosRun(
        report,
        year,
        fac.source,
        pop_source,
        fac.synthetic or pop_source == DEMO_SOURCE,
        plan.id,
        tuple(warnings),
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
    geojson: Path | None = None,
    db: str | None = None,
    province: str | None = None,
    with_geojson: bool = False,
) -> CoverageRun:
    """Population within the service radius of an EMS station, in total and per city.

    ``geojson``, when given, is checked writable before any work and then written; the layer is
    also built (returned in ``.geojson``, not written) with ``with_geojson`` (the web map).
    """
    check_writable(geojson)
    demand = _demand(demand_file, province)
    if stations_file is None:
        reg = registry(db)
        stations = Sourced(
            demo.demo_data().stations if reg.synthetic else ems_stations(reg.table),
            reg.source,
            reg.synthetic,
        )
    else:
        found = read_points(stations_file, "stations", province=province)
        stations = Sourced(found, str(stations_file), False)
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
    if geojson is not None or with_geojson:
        from healthwatch.access.svgmap import coverage_geojson

        layer = coverage_geojson(
            result.covered, points, sites, distance=result.nearest_distance, radius=radius
        )
    if geojson is not None:
        write_text_file(geojson, json.dumps(layer, ensure_ascii=False), "--geojson")
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
    geojson: Path | None = None,
    province: str | None = None,
) -> SiteRun:
    """Optimal EMS station or ambulance siting with LSCP, MCLP (``p`` new sites) or MEXCLP.

    ``geojson``, when given, is checked writable before solving and then written.
    """
    from healthwatch.access import siting

    check_writable(geojson)
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
    demand = _demand(demand_file, province)
    if candidates_file is None:
        cand = Sourced(demo.demo_data().candidates, DEMO_SOURCE, True)
    else:
        found = read_points(candidates_file, "candidates", province=province)
        cand = Sourced(found, str(candidates_file), False)
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
    layer = result.to_geojson()
    if geojson is not None:
        write_text_file(geojson, json.dumps(layer, ensure_ascii=False), "--geojson")
    return SiteRun(stable, full, layer, cand.synthetic or demand.synthetic)


def accessibility(
    *,
    demand_file: Path | None = None,
    facilities_file: Path | None = None,
    resource: str = "beds",
    catchment: float = 15.0,
    enhanced: bool = False,
    db: str | None = None,
    province: str | None = None,
) -> dict[str, Any]:
    """Spatial accessibility (2SFCA, or E2SFCA over 5/10/15 km bands) per 1,000, by city."""
    from healthwatch.access.accessibility import DISTANCE_BANDS_KM, e2sfca, two_sfca
    from healthwatch.access.distance import within_radius

    demand = _demand(demand_file, province)
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
    except (OSError, ValueError) as exc:
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


def draw_map(
    out: Path,
    layers: list[Path] | None = None,
    title: str = "",
    province: str = LIAONING,
) -> dict[str, Any]:
    """Draw ``province``'s county boundaries with GeoJSON layers as SVG; no layers: the demo
    EMS coverage.

    The output path is checked and every layer read before anything is written, so a bad
    layer or an unwritable path leaves no file behind.
    """
    from healthwatch.access.svgmap import coverage_geojson, render_svg

    check_writable(out, "OUT")
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
    svg = render_svg(data, title=title, note=note, province=province)
    write_text_file(out, svg, "OUT")
    return {"file": str(out), "layers": len(data), "title": title, "synthetic": not layers}
