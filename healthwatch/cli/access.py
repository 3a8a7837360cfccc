"""`healthwatch access` commands: facilities, resource ratios, EMS coverage, siting, 2SFCA, maps.

Thin shells over :mod:`healthwatch.access`: each command reads its files (or, when none are
given, the seeded synthetic demo data of :mod:`healthwatch.access.demo_data`, and says so), calls
the library and prints a Rich table, or JSON with ``--json``.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from healthwatch.access import demo_data as demo
from healthwatch.access.coverage import coverage as run_coverage
from healthwatch.access.coverage import radius_by_urban
from healthwatch.access.facilities import read_facilities, region_names, summarise
from healthwatch.access.ratios import resource_ratios
from healthwatch.cli._common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    friendly_errors,
    print_json,
)
from healthwatch.errors import InputError, Problem
from healthwatch.store.audit import revert_change
from healthwatch.store.db import resolve_url, session_scope
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

app = typer.Typer(
    help="卫生资源与急救可及性 / resources and emergency access: facilities, ratios, coverage, "
    "site, 2sfca, demo-data, map",
    no_args_is_help=True,
)

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

DemandOption = typer.Option(
    None, "--demand", help="Demand CSV id,lon,lat,population[,urban] (default: demo) / 需求点"
)
RadiusUrbanOption = typer.Option(5.0, "--radius-urban", help="Urban radius km / 城区服务半径")
RadiusRuralOption = typer.Option(15.0, "--radius-rural", help="Rural radius km / 农村服务半径")
GeojsonOption = typer.Option(None, "--geojson", help="Write a GeoJSON map layer / 输出 GeoJSON")
_FILE = typer.Argument(None, help="CSV or Excel facility file / 机构文件")
_CRS = typer.Option(None, "--crs", help="WGS84 (default) or GCJ02 / 坐标系")
_YEAR = typer.Option(None, "--year", help="Year (default: 2021 demo) / 年份")
_FACILITIES_FILE = typer.Option(
    None, "--facilities", help="Facility CSV/Excel (default: demo) / 机构文件"
)
_POPULATION_FILE = typer.Option(
    None, "--population", help="Population CSV (regions format) / 人口文件"
)
_LEVEL = typer.Option(
    ["province", "city"], "--level", help="province, city, county (repeatable) / 层级"
)
_STATIONS_FILE = typer.Option(
    None, "--stations", help="Stations CSV id,lon,lat[,ambulances] (default: demo) / 急救站"
)
_NETWORK_FILE = typer.Option(
    None, "--network", help="Road network GraphML/OSM XML (km along roads) / 路网"
)
_MODEL = typer.Option(..., "--model", help="lscp | mclp | mexclp / 选址模型")
_P_9 = typer.Option(10, "--p", help="New stations (mclp) or ambulances (mexclp) / 新增数")
_CANDIDATES_FILE = typer.Option(
    None, "--candidates", help="Candidates CSV id,lon,lat[,existing] (default: demo) / 候选点"
)
_BUSY = typer.Option(0.3, "--busy", help="MEXCLP busy fraction q / 繁忙率")
_TIME_LIMIT = typer.Option(300.0, "--time-limit", help="Solver seconds / 求解时限")
_RESOURCE = typer.Option("beds", "--resource", help="beds, physicians, nurses ... / 资源")
_CATCHMENT = typer.Option(15.0, "--catchment", help="Catchment km (2SFCA) / 服务范围")
_ENHANCED = typer.Option(False, "--enhanced", help="E2SFCA km bands 5/10/15 / 分段权重")
_OUTDIR = typer.Argument(..., help="Folder for the CSV files / 输出目录")
_SEED = typer.Option(demo.DEMO_SEED, "--seed", help="Random seed / 随机种子")
_OUT = typer.Argument(..., help="SVG file to write / 输出 SVG 文件")
_LAYERS = typer.Option(
    [], "--geojson", help="GeoJSON from coverage/site --geojson (repeatable) / 图层"
)
_TITLE = typer.Option("", "--title", help="Map title / 标题")


def _synthetic_notice(used_demo: bool, as_json: bool) -> None:
    if used_demo and not as_json:
        err_console.print(
            "[yellow]使用模拟演示数据（非真实数据） / using SYNTHETIC demo data[/yellow]"
        )


def _demand(path: Path | None) -> tuple[pd.DataFrame, bool]:
    if path is None:
        return demo.demo_data().demand, True
    return demo.read_points(path, "demand"), False


def _write_geojson(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        err_console.print(f"GeoJSON → {path}")


def _names() -> dict[str, str]:
    return region_names()


facilities_app = typer.Typer(
    help="医疗机构登记 / facility registry: import, list, check, history, revert "
    "(no subcommand: list the stored registry, or the demo data when none is stored)",
)
app.add_typer(facilities_app, name="facilities")
_IMPORT_FILE = typer.Argument(..., help="CSV or Excel facility file / 机构文件")
_COUNTY = typer.Option(None, "--county", help="County (or city) adcode / 区县代码")
_KIND = typer.Option(None, "--kind", help="hospital, township_health_centre, ... / 机构类型")
_REPLACE = typer.Option(
    None,
    "--replace",
    help="Also delete stored facilities the file lacks: counties | source | all / 替换范围",
)
_SOURCE = typer.Option(None, "--source", help="Source label (default: file name) / 数据来源")
_FACILITY_ID = typer.Argument(None, help="Facility id (default: all) / 机构编号")
_AUDIT_ID = typer.Argument(..., help="Audit entry id from `history` / 审计记录编号")


def _registry(
    db: str | None, county: str | None = None, kind: str | None = None
) -> tuple[pd.DataFrame, str, bool]:
    """The stored registry when the database has one, else the demo data: (table, source, demo)."""
    stored = stored_registry(db, county=county, kind=kind)
    if stored is not None:
        return stored, f"database {_shown_db(db)}", False
    table = demo.demo_data().facilities
    if county is not None:
        table = table[table["adcode"].str.startswith(region_prefix(county))]
    if kind is not None:
        table = table[table["kind"] == kind]
    return table.reset_index(drop=True), "synthetic demo", True


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


def _say_sources(as_json: bool, **sources: str) -> None:
    """Tell the user (on stderr) where each input came from: a file, the database or the demo."""
    if not as_json:
        shown = "; ".join(f"{k}: {v}" for k, v in sources.items())
        err_console.print(f"数据来源 / inputs: {shown}", highlight=False)


def _shown_db(db: str | None) -> str:
    from sqlalchemy.engine import make_url

    return make_url(resolve_url(db)).render_as_string(hide_password=True)


def _print_registry(
    table: pd.DataFrame, source: str, as_json: bool, converted: int = 0, located: int = 0
) -> None:
    by_kind = summarise(table)
    if as_json:
        print_json(
            {
                "source": source,
                "synthetic": bool(table["synthetic"].all()) if len(table) else False,
                "count": len(table),
                "converted_from_gcj02": converted,
                "located_by_point": located,
                "by_kind": by_kind.to_dict(orient="records"),
                "facilities": json.loads(table.to_json(orient="records", force_ascii=False)),
            }
        )
        return
    out = Table(title=f"医疗机构 / facilities: {source} ({len(table)})")
    for col in by_kind.columns:
        out.add_column(col, justify="left" if col == "kind" else "right")
    for row in by_kind.itertuples(index=False):
        out.add_row(*[f"{v:,}" if isinstance(v, int | np.integer) else str(v) for v in row])
    console.print(out)
    if converted or located:
        console.print(f"GCJ-02 → WGS84: {converted}; 按坐标定位区县 / located by point: {located}")


@facilities_app.callback(invoke_without_command=True)
@friendly_errors
def facilities(ctx: typer.Context, db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """Facility registry / 医疗机构登记"""
    if ctx.invoked_subcommand is None:
        table, source, used_demo = _registry(db)
        _synthetic_notice(used_demo, as_json)
        _print_registry(table, source, as_json)


@facilities_app.command("list")
@friendly_errors
def facilities_list(
    county: str | None = _COUNTY,
    kind: str | None = _KIND,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """List the stored registry (or the demo data when none is stored) / 列出医疗机构"""
    table, source, used_demo = _registry(db, county, kind)
    _synthetic_notice(used_demo, as_json)
    _print_registry(table, source, as_json)


@facilities_app.command("check")
@friendly_errors
def facilities_check(
    file: Path = _IMPORT_FILE, crs: str | None = _CRS, as_json: bool = JsonOption
) -> None:
    """Check a facility file without storing it; counts by kind / 校验机构文件（不写入）"""
    summary = read_facilities(file, crs=crs)
    _print_registry(
        summary.facilities,
        str(file),
        as_json,
        summary.converted_from_gcj02,
        summary.located_by_point,
    )


@facilities_app.command("import")
@friendly_errors
def facilities_import(
    file: Path = _IMPORT_FILE,
    crs: str | None = _CRS,
    replace: str | None = _REPLACE,
    source: str | None = _SOURCE,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Check a facility file and store it in one transaction (a bad file writes nothing) / 导入"""
    summary = read_facilities(file, crs=crs)
    actor = f"cli:{getpass.getuser()}"
    with session_scope(db, actor=actor) as session:
        counts = save_facilities(
            session,
            summary.facilities,
            actor=actor,
            source=source or file.name,
            replace_scope=replace,
        )
        total = facility_count(session)
    info = {
        "file": str(file),
        "database": _shown_db(db),
        "rows": len(summary.facilities),
        **counts,
        "stored": total,
        "converted_from_gcj02": summary.converted_from_gcj02,
        "located_by_point": summary.located_by_point,
        "synthetic": bool(summary.facilities["synthetic"].any()),
    }
    if as_json:
        print_json(info)
        return
    console.print(
        f"已导入 {file.name}：{info['rows']} 个机构，新增 {counts['inserted']}，更新 "
        f"{counts['updated']}，未变 {counts['unchanged']}，删除 {counts['deleted']}；"
        f"库中共 {total} 个。\n"
        f"Imported {file.name}: {info['rows']} facilities, {counts['inserted']} new, "
        f"{counts['updated']} changed, {counts['unchanged']} unchanged, {counts['deleted']} "
        f"deleted; {total} stored.",
        highlight=False,
    )
    if info["synthetic"]:
        console.print("[yellow]含模拟数据 / contains SYNTHETIC rows[/yellow]")


@facilities_app.command("history")
@friendly_errors
def facilities_history(
    facility_id: str | None = _FACILITY_ID,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Audit trail of the registry: who changed what, before/after / 变更记录"""
    with session_scope(db) as session:
        rows = facility_history(session, facility_id)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"机构变更记录 / facility history ({len(rows)})")
    for col in ("id", "at", "actor", "action", "facility", "changed"):
        table.add_column(col)
    for r in rows[-200:]:
        before, after = r["before"] or {}, r["after"] or {}
        changed = [k for k in {**before, **after} if before.get(k) != after.get(k)]
        shown = ", ".join(changed) if r["action"] == "update" else ""
        table.add_row(str(r["id"]), r["at"], r["actor"], r["action"], r["entity_key"], shown)
    console.print(table)


@facilities_app.command("revert")
@friendly_errors
def facilities_revert(
    audit_id: int = _AUDIT_ID, db: str | None = DbOption, as_json: bool = JsonOption
) -> None:
    """Undo one registry change (the undo is audited too) / 撤销一次变更"""
    actor = f"cli:{getpass.getuser()}"
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
        undone = revert_change(session, audit_id, actor=actor)
    if as_json:
        print_json(undone)
        return
    console.print(
        f"已撤销 {undone['id']}（{undone['action']} {undone['key']}）/ "
        f"reverted {undone['action']} of {undone['key']}",
        highlight=False,
    )


@app.command("ratios")
@friendly_errors
def ratios(
    year: int | None = _YEAR,
    facilities_file: Path | None = _FACILITIES_FILE,
    population_file: Path | None = _POPULATION_FILE,
    level: list[str] = _LEVEL,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Resource ratios vs the plan's targets, with absolute gaps / 资源配置与目标差距"""
    bad = [lv for lv in level if lv not in ("province", "city", "county")]
    if bad:
        raise InputError(
            [Problem(f"Unknown level {b!r}.", f"未知层级 {b!r}。", field="level") for b in bad]
        )
    if facilities_file is not None:
        fac, fac_source, fac_demo = (
            read_facilities(facilities_file).facilities,
            str(facilities_file),
            False,
        )
    else:
        fac, fac_source, fac_demo = _registry(db)
    if population_file is not None:
        from healthwatch.regions.population import read_population_csv

        rows = read_population_csv(population_file, year=year)
        year = year if year is not None else max(r.year for r in rows)
        pops: dict[str, float] = {r.adcode: r.persons for r in rows if r.year == year}
        pop_source = str(population_file)
    elif facilities_file is None and not fac_demo:
        years = fac["year"].dropna()
        year = year if year is not None else int(years.max()) if len(years) else demo.DEMO_YEAR
        pops, pop_source = _stored_populations(db, year), fac_source
    else:
        data = demo.demo_data()
        pops = dict(data.populations())
        year = year if year is not None else data.year
        pop_source = "synthetic demo"
    _synthetic_notice(fac_demo or pop_source == "synthetic demo", as_json)
    _say_sources(as_json, facilities=fac_source, population=pop_source)
    report = resource_ratios(fac, pops, year=year, levels=level)  # type: ignore[arg-type]
    if as_json:
        print_json(
            {**report.to_dict(), "facilities_source": fac_source, "population_source": pop_source}
        )
        return
    table = Table(title=f"卫生资源与规划目标 / resources vs targets, {year}")
    for col in (
        "地区 region",
        "指标 indicator",
        "现有 have",
        "比率 rate",
        "目标 target",
        "缺口 gap",
    ):
        table.add_column(col, justify="left" if "region" in col or "indic" in col else "right")
    for r in report.resources:
        rate = f"{r.rate:.2f}/{r.per // 1000}k"
        cmp = "≈" if r.comparator == "about" else "≥"
        gap = f"[red]{r.gap:,}[/red]" if r.gap else "0"
        table.add_row(r.name, r.resource, f"{r.have:,}", rate, f"{cmp}{r.target:g}", gap)
    console.print(table)
    amb = Table(title="救护车 / ambulances (1 per 30,000; 30% negative-pressure)")
    for col in (
        "地区 region",
        "救护车 have",
        "需 need",
        "缺口 gap",
        "负压 NP",
        "负压需 need",
        "负压缺口 gap",
    ):
        amb.add_column(col, justify="left" if "region" in col else "right")
    for a in report.ambulances:
        amb.add_row(
            a.name,
            f"{a.ambulances:,}",
            f"{a.required:,}",
            f"{a.gap:,}",
            f"{a.negative_pressure:,}",
            f"{a.negative_pressure_required:,}",
            f"{a.negative_pressure_gap:,}",
        )
    console.print(amb)
    for check in report.ems_centres:
        if not check.ok:
            console.print(f"[red]{check.message_zh} / {check.message_en}[/red]")
    ok = sum(c.ok for c in report.ems_centres)
    console.print(f"急救中心 / EMS centres: {ok}/{len(report.ems_centres)} cities")
    for r in report.resources:
        if r.gap and r.level != "county":
            console.print(f"• {r.message_zh} / {r.message_en}")
    if report.missing_population:
        console.print(f"无人口数 / no population: {', '.join(report.missing_population)}")


@app.command("coverage")
@friendly_errors
def coverage_cmd(
    demand_file: Path | None = DemandOption,
    stations_file: Path | None = _STATIONS_FILE,
    radius_urban: float = RadiusUrbanOption,
    radius_rural: float = RadiusRuralOption,
    network_file: Path | None = _NETWORK_FILE,
    geojson: Path | None = GeojsonOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Population within the service radius of an EMS station / 急救服务半径覆盖"""
    demand, used_demo = _demand(demand_file)
    if stations_file is None:
        registry, stations_source, stations_demo = _registry(db)
        stations = demo.demo_data().stations if stations_demo else ems_stations(registry)
        used_demo = used_demo or stations_demo
    else:
        stations, stations_source = demo.read_points(stations_file, "stations"), str(stations_file)
    _synthetic_notice(used_demo, as_json)
    _say_sources(as_json, stations=stations_source)
    urban = demand["urban"] if "urban" in demand else np.zeros(len(demand), dtype=int)
    radius = radius_by_urban(urban, radius_urban, radius_rural)
    network = None
    if network_file is not None:
        from healthwatch.access.network import read_network

        network = read_network(network_file)
    result = run_coverage(
        demand["lon"],
        demand["lat"],
        demand["population"],
        radius,
        stations["lon"],
        stations["lat"],
        metric="network" if network is not None else "haversine",
        network=network,
    )
    if geojson is not None:
        from healthwatch.access.svgmap import coverage_geojson

        layer = coverage_geojson(
            result.covered, demand, stations, distance=result.nearest_distance, radius=radius
        )
        _write_geojson(geojson, layer)
    names = _names()
    region = (
        demand["adcode"].astype(str).str[:4] + "00"
        if "adcode" in demand
        else pd.Series(["all"] * len(demand))
    )
    by = result.by_region(region.to_numpy())
    by["name"] = [names.get(str(c), str(c)) for c in by["region"]]
    summary = {
        "metric": result.metric,
        "radius_urban_km": radius_urban,
        "radius_rural_km": radius_rural,
        "points": len(demand),
        "stations": len(stations),
        "uncovered_points": int((~result.covered).sum()),
        "total_population": result.total_population,
        "covered_population": result.covered_population,
        "share": result.share,
        "synthetic": used_demo,
        "stations_source": stations_source,
        "by_region": json.loads(by.to_json(orient="records", force_ascii=False)),
    }
    if as_json:
        print_json(summary)
        return
    table = Table(
        title=f"急救覆盖 / EMS coverage ({result.metric}; urban {radius_urban:g}, "
        f"rural {radius_rural:g})"
    )
    for col in (
        "地区 region",
        "人口 population",
        "覆盖 covered",
        "覆盖率 share",
        "未覆盖点 uncovered",
    ):
        table.add_column(col, justify="left" if "region" in col else "right")
    for row in by.itertuples(index=False):
        table.add_row(
            str(row.name),
            f"{row.population:,.0f}",
            f"{row.covered_population:,.0f}",
            f"{row.share:.1%}",
            f"{row.uncovered_points}",
        )
    table.add_row(
        "合计 total",
        f"{result.total_population:,.0f}",
        f"{result.covered_population:,.0f}",
        f"{result.share:.1%}",
        f"{summary['uncovered_points']}",
    )
    console.print(table)


@app.command("site")
@friendly_errors
def site(
    model: str = _MODEL,
    p: int = _P_9,
    radius_urban: float = RadiusUrbanOption,
    radius_rural: float = RadiusRuralOption,
    demand_file: Path | None = DemandOption,
    candidates_file: Path | None = _CANDIDATES_FILE,
    busy: float = _BUSY,
    time_limit: float = _TIME_LIMIT,
    geojson: Path | None = GeojsonOption,
    as_json: bool = JsonOption,
) -> None:
    """Optimal EMS station / ambulance siting: LSCP, MCLP, MEXCLP / 急救站点选址"""
    from healthwatch.access import siting

    if model not in ("lscp", "mclp", "mexclp"):
        raise InputError(
            [
                Problem(
                    f"Unknown model {model!r}: use lscp, mclp or mexclp.",
                    f"未知模型 {model!r}：请用 lscp、mclp 或 mexclp。",
                    field="--model",
                )
            ]
        )
    demand, used_demo = _demand(demand_file)
    if candidates_file is None:
        cand, used_demo = demo.demo_data().candidates, True
    else:
        cand = demo.read_points(candidates_file, "candidates")
    _synthetic_notice(used_demo, as_json)
    urban = demand["urban"] if "urban" in demand else np.zeros(len(demand), dtype=int)
    d = siting.Demand(
        demand["lon"],
        demand["lat"],
        demand["population"],
        radius_by_urban(urban, radius_urban, radius_rural),
        ids=demand["id"],
    )
    existing = cand.get("existing")
    c = siting.Candidates(cand["lon"], cand["lat"], existing, ids=cand["id"])
    options = siting.SolveOptions(time_limit=time_limit)
    if model == "lscp":
        result = siting.lscp(d, c, options=options)
    elif model == "mclp":
        result = siting.mclp(d, c, p, options=options)
    else:
        result = siting.mexclp(d, c, p, busy, options=options)
    _write_geojson(geojson, result.to_geojson())
    full = result.to_json()
    stable = {k: full[k] for k in SITE_JSON_KEYS}
    stable["selected"] = [{k: row[k] for k in SELECTED_KEYS} for row in full["selected"]]
    if as_json:
        print_json(stable)
        return
    share = result.covered_population / max(result.total_population, 1.0)
    console.print(
        f"{model.upper()}: {result.status}, objective {result.objective}, gap {result.gap}, "
        f"{result.seconds:.2f} s"
    )
    console.print(
        f"站点 / sites: {len(full['selected'])} (new {full.get('new_sites', '?')}); "
        f"覆盖人口 / covered {result.covered_population:,.0f} of "
        f"{result.total_population:,.0f} ({share:.1%})"
    )
    new = [r for r in full["selected"] if not r.get("existing")]
    table = Table(title="新增站点 / new sites (first 30)")
    for col in ("id", "lon", "lat", "ambulances"):
        table.add_column(col)
    for r in new[:30]:
        table.add_row(str(r["id"]), f"{r['lon']:.5f}", f"{r['lat']:.5f}", str(r["ambulances"]))
    console.print(table)


@app.command("2sfca")
@friendly_errors
def two_step(
    demand_file: Path | None = DemandOption,
    facilities_file: Path | None = _FACILITIES_FILE,
    resource: str = _RESOURCE,
    catchment: float = _CATCHMENT,
    enhanced: bool = _ENHANCED,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Spatial accessibility (2SFCA / E2SFCA) per 1,000 residents / 两步移动搜索法可及性"""
    from healthwatch.access.accessibility import DISTANCE_BANDS_KM, e2sfca, two_sfca
    from healthwatch.access.distance import within_radius

    demand, used_demo = _demand(demand_file)
    if facilities_file is None:
        fac, fac_source, fac_demo = _registry(db)
        used_demo = used_demo or fac_demo
    else:
        fac, fac_source = read_facilities(facilities_file).facilities, str(facilities_file)
    _say_sources(as_json, facilities=fac_source)
    if resource not in fac.columns or resource in ("id", "lon", "lat"):
        raise InputError(
            [
                Problem(
                    f"Unknown resource {resource!r}.",
                    f"未知资源 {resource!r}。",
                    field="--resource",
                )
            ]
        )
    _synthetic_notice(used_demo, as_json)
    supply_rows = fac[fac[resource] > 0].reset_index(drop=True)
    reach_km = max(b[0] for b in DISTANCE_BANDS_KM) if enhanced else catchment
    reach = within_radius(
        demand["lon"], demand["lat"], reach_km, supply_rows["lon"], supply_rows["lat"]
    )
    supply = supply_rows[resource].to_numpy(float)
    if enhanced:
        res = e2sfca(demand["population"], supply, reach, DISTANCE_BANDS_KM)
    else:
        res = two_sfca(demand["population"], supply, reach, catchment)
    per_1000 = res.access * 1000
    frame = pd.DataFrame(
        {
            "region": demand["adcode"].astype(str).str[:4] + "00" if "adcode" in demand else "all",
            "population": demand["population"].to_numpy(float),
            "a": per_1000,
        }
    )
    names = _names()
    rows = []
    for region, g in frame.groupby("region", sort=True):
        w = g["population"].to_numpy()
        mean = float(np.average(g["a"], weights=w)) if w.sum() > 0 else float("nan")
        no_access = float(w[g["a"].to_numpy() == 0].sum())
        rows.append(
            {
                "region": region,
                "name": names.get(str(region), str(region)),
                "population": float(w.sum()),
                "mean_per_1000": mean,
                "min_per_1000": float(g["a"].min()),
                "max_per_1000": float(g["a"].max()),
                "population_without_access": no_access,
            }
        )
    out = {
        "method": "e2sfca" if enhanced else "2sfca",
        "resource": resource,
        "catchment_km": None if enhanced else catchment,
        "bands_km": [list(b) for b in DISTANCE_BANDS_KM] if enhanced else None,
        "points": len(demand),
        "facilities": len(supply_rows),
        "synthetic": used_demo,
        "facilities_source": fac_source,
        "by_region": rows,
    }
    if as_json:
        print_json(out)
        return
    method = "E2SFCA" if enhanced else "2SFCA"
    table = Table(title=f"{method} {resource} per 1,000 / 每千人可及性")
    for col in (
        "地区 region",
        "人口 population",
        "均值 mean",
        "最小 min",
        "最大 max",
        "无可及人口 no access",
    ):
        table.add_column(col, justify="left" if "region" in col else "right")
    for r in rows:
        table.add_row(
            r["name"],
            f"{r['population']:,.0f}",
            f"{r['mean_per_1000']:.2f}",
            f"{r['min_per_1000']:.2f}",
            f"{r['max_per_1000']:.2f}",
            f"{r['population_without_access']:,.0f}",
        )
    console.print(table)


@app.command("demo-data")
@friendly_errors
def demo_data_cmd(
    outdir: Path = _OUTDIR,
    seed: int = _SEED,
    as_json: bool = JsonOption,
) -> None:
    """Write the synthetic demo data (facilities, demand, candidates, stations) / 写出模拟数据"""
    data = demo.demo_data(seed)
    paths = demo.write_demo_data(outdir, data)
    info = {
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
    if as_json:
        print_json(info)
        return
    console.print(demo.SYNTHETIC_NOTE)
    for k, v in paths.items():
        console.print(f"  {k}: {v}")


@app.command("map")
@friendly_errors
def map_cmd(
    out: Path = _OUT,
    layers: list[Path] = _LAYERS,
    title: str = _TITLE,
) -> None:
    """Draw county boundaries with coverage or siting points as a plain SVG / 绘制地图"""
    from healthwatch.access.svgmap import coverage_geojson, render_svg

    note = ""
    if layers:
        data = []
        for path in layers:
            try:
                data.append(json.loads(path.read_text(encoding="utf-8")))
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
    else:
        d = demo.demo_data()
        radius = radius_by_urban(d.demand["urban"])
        res = run_coverage(
            d.demand["lon"],
            d.demand["lat"],
            d.demand["population"],
            radius,
            d.stations["lon"],
            d.stations["lat"],
        )
        data = [coverage_geojson(res.covered, d.demand, d.stations)]
        title = title or f"急救覆盖 / EMS coverage 5 km urban, 15 km rural: {res.share:.1%}"
        note = "模拟数据 SYNTHETIC demo data — not real facilities"
    out.write_text(render_svg(data, title=title, note=note), encoding="utf-8")
    console.print(f"SVG → {out}")
