"""`healthwatch access` commands: facilities, resource ratios, EMS coverage, siting, 2SFCA, maps.

Thin shells over :mod:`healthwatch.services.access`, which chooses the inputs (the files given,
else the stored registry, else the seeded synthetic demo data) and runs the models; each command
here says where its inputs came from and prints a Rich table, or JSON with ``--json``. The
library is imported inside each command so that ``healthwatch --help`` stays fast.
"""

from __future__ import annotations

import getpass
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from healthwatch.cli._common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    friendly_errors,
    print_json,
)

if TYPE_CHECKING:
    from healthwatch.users import Actor

app = typer.Typer(
    help="卫生资源与急救可及性：机构登记、资源配置比率、急救覆盖、选址、两步移动搜索法、"
    "模拟数据、地图 / resources and emergency access: facilities, ratios, coverage, site, "
    "2sfca, demo-data, map",
    no_args_is_help=True,
)

DemandOption = typer.Option(
    None,
    "--demand",
    help="需求点文件 id,lon,lat,population[,urban,adcode]（默认：模拟数据）/ demand file "
    "(default: demo)",
)
RadiusUrbanOption = typer.Option(
    5.0, "--radius-urban", help="城区服务半径（公里）/ urban radius, km"
)
RadiusRuralOption = typer.Option(
    15.0, "--radius-rural", help="农村服务半径（公里）/ rural radius, km"
)
GeojsonOption = typer.Option(
    None, "--geojson", help="输出 GeoJSON 图层文件 / write a GeoJSON map layer"
)
_CRS = typer.Option(None, "--crs", help="坐标系 WGS84（默认）或 GCJ02 / coordinate system")
_YEAR = typer.Option(
    None,
    "--year",
    help="年份（默认：登记中最新的年份）/ year (default: the newest in the registry)",
)
_FACILITIES_FILE = typer.Option(
    None,
    "--facilities",
    help="机构文件 CSV/Excel（默认：已存登记，否则模拟数据）/ facility file (default: stored, "
    "else demo)",
)
_POPULATION_FILE = typer.Option(
    None,
    "--population",
    help="人口文件（regions load 的格式）/ population file (as regions load reads)",
)
_LEVEL = typer.Option(
    ["province", "city"],
    "--level",
    help="层级 province、city、county（可重复）/ levels (repeatable)",
)
_STATIONS_FILE = typer.Option(
    None,
    "--stations",
    help="急救站文件 id,lon,lat[,ambulances,adcode]（默认：已存登记或模拟数据）/ stations file",
)
_NETWORK_FILE = typer.Option(
    None, "--network", help="路网 GraphML/OSM XML（按道路公里计）/ road network (km along roads)"
)
_MODEL = typer.Option(..., "--model", help="选址模型 lscp | mclp | mexclp / siting model")
_P = typer.Option(
    10, "--p", help="新增站点数（mclp）或救护车数（mexclp）/ new stations or ambulances"
)
_CANDIDATES_FILE = typer.Option(
    None,
    "--candidates",
    help="候选点文件 id,lon,lat[,existing,adcode]（默认：模拟数据）/ candidates file",
)
_BUSY = typer.Option(0.3, "--busy", help="繁忙率 q（MEXCLP）/ MEXCLP busy fraction")
_TIME_LIMIT = typer.Option(300.0, "--time-limit", help="求解时限（秒）/ solver time limit, s")
_RESOURCE = typer.Option(
    "beds", "--resource", help="资源 beds、physicians、nurses …… / resource column"
)
_CATCHMENT = typer.Option(15.0, "--catchment", help="服务范围（公里，2SFCA）/ catchment, km")
_ENHANCED = typer.Option(
    False, "--enhanced", help="按 5/10/15 公里分段加权（E2SFCA）/ enhanced 2SFCA bands"
)
_OUTDIR = typer.Argument(..., help="输出目录 / folder for the CSV files")
_SEED = typer.Option(None, "--seed", help="随机种子（默认：演示种子）/ random seed")
_OUT = typer.Argument(..., help="输出 SVG 文件 / SVG file to write")
_LAYERS = typer.Option(
    [],
    "--geojson",
    help="图层：coverage/site --geojson 输出的文件（可重复）/ GeoJSON layers (repeatable)",
)
_PROVINCE = typer.Option(
    None,
    "--province",
    help="无 adcode 列时坐标所在的省份代码（如 220000）/ province adcode for points without an "
    "adcode column",
)
_PLAN = typer.Option(
    None, "--plan", help="提供目标的规划编号（默认：机构所在省的规划）/ plan whose targets to use"
)
_TITLE = typer.Option("", "--title", help="地图标题 / map title")


def _actor() -> Actor:
    """The CLI's user: the local administrator, recorded under the login name."""
    from healthwatch.users import LOCAL_ADMIN

    return replace(LOCAL_ADMIN, username=f"cli:{getpass.getuser()}")


def _synthetic_notice(synthetic: bool, as_json: bool) -> None:
    if synthetic and not as_json:
        err_console.print(
            "[yellow]使用模拟演示数据（非真实数据） / using SYNTHETIC demo data[/yellow]"
        )


def _say_sources(as_json: bool, **sources: str) -> None:
    """Tell the user (on stderr) where each input came from: a file, the database or the demo."""
    if not as_json:
        shown = "; ".join(f"{k}: {v}" for k, v in sources.items())
        err_console.print(f"数据来源 / inputs: {shown}", highlight=False)


def _said_geojson(path: Path | None, as_json: bool) -> None:
    if path is not None and not as_json:
        err_console.print(f"GeoJSON → {path}")


facilities_app = typer.Typer(
    help="医疗机构登记：导入、列出、校验、变更记录、撤销（不带子命令：列出已存登记，"
    "无则模拟数据）/ facility registry: import, list, check, history, revert",
)
app.add_typer(facilities_app, name="facilities")
_IMPORT_FILE = typer.Argument(..., help="机构文件 CSV 或 Excel / facility file")
_COUNTY = typer.Option(None, "--county", help="区县（或市）代码 / county or city adcode")
_KIND = typer.Option(
    None, "--kind", help="机构类型 hospital、township_health_centre …… / facility kind"
)
_REPLACE = typer.Option(
    None,
    "--replace",
    help="替换范围：同时删除文件中没有的已存机构 counties | source | all / also delete stored "
    "facilities the file lacks",
)
_SOURCE = typer.Option(
    None, "--source", help="数据来源（默认：文件名）/ source label (default: file name)"
)
_FACILITY_ID = typer.Argument(None, help="机构编号（默认：全部）/ facility id (default: all)")
_AUDIT_ID = typer.Argument(..., help="审计记录编号（见 history）/ audit entry id from `history`")


def _print_registry(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(info)
        return
    out = Table(title=f"医疗机构 / facilities: {info['source']} ({info['count']})")
    by_kind = info["by_kind"]
    for col in by_kind[0] if by_kind else ():
        out.add_column(col, justify="left" if col == "kind" else "right")
    for row in by_kind:
        out.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row.values()])
    console.print(out)
    converted, located = info["converted_from_gcj02"], info["located_by_point"]
    if converted or located:
        console.print(f"GCJ-02 → WGS84: {converted}; 按坐标定位区县 / located by point: {located}")


def _list_registry(db: str | None, county: str | None, kind: str | None, as_json: bool) -> None:
    from healthwatch.services import access as service

    info = service.list_facilities(db, county, kind)
    _synthetic_notice(info["source"] == service.DEMO_SOURCE, as_json)
    if "no_facilities_in" in info and not as_json:
        err_console.print(
            f"[yellow]数据库 {info['no_facilities_in']} 不存在或没有机构 / no facilities in "
            f"{info['no_facilities_in']}[/yellow]",
            highlight=False,
        )
    _print_registry(info, as_json)


@facilities_app.callback(invoke_without_command=True)
@friendly_errors
def facilities(ctx: typer.Context, db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """医疗机构登记 / facility registry"""
    if ctx.invoked_subcommand is None:
        _list_registry(db, None, None, as_json)


@facilities_app.command("list")
@friendly_errors
def facilities_list(
    county: str | None = _COUNTY,
    kind: str | None = _KIND,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """列出医疗机构（无已存登记时为模拟数据）/ list the stored registry (else the demo data)"""
    _list_registry(db, county, kind, as_json)


@facilities_app.command("check")
@friendly_errors
def facilities_check(
    file: Path = _IMPORT_FILE,
    crs: str | None = _CRS,
    province: str | None = _PROVINCE,
    as_json: bool = JsonOption,
) -> None:
    """校验机构文件（不写入），按类型汇总 / check a facility file without storing it"""
    from healthwatch.services import access as service

    _print_registry(service.check_facilities(file, crs=crs, province=province), as_json)


@facilities_app.command("import")
@friendly_errors
def facilities_import(
    file: Path = _IMPORT_FILE,
    crs: str | None = _CRS,
    replace: str | None = _REPLACE,
    source: str | None = _SOURCE,
    province: str | None = _PROVINCE,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """导入机构文件（整体校验，有误则不写入）/ check a facility file and store it"""
    from healthwatch.services import access as service

    info = service.import_facilities(
        file,
        actor=_actor(),
        crs=crs,
        replace=replace,
        source=source,
        db=db,
        province=province,
    )
    if as_json:
        print_json(info)
        return
    console.print(
        f"已导入 {file.name}：{info['rows']} 个机构，新增 {info['inserted']}，更新 "
        f"{info['updated']}，未变 {info['unchanged']}，删除 {info['deleted']}；"
        f"库中共 {info['stored']} 个。\n"
        f"Imported {file.name}: {info['rows']} facilities, {info['inserted']} new, "
        f"{info['updated']} changed, {info['unchanged']} unchanged, {info['deleted']} "
        f"deleted; {info['stored']} stored.",
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
    """机构变更记录：谁改了什么，改前改后 / audit trail of the registry"""
    from healthwatch.services import access as service

    rows = service.registry_history(db, facility_id)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"机构变更记录 / facility history ({len(rows)})")
    for col in ("id", "at", "actor", "action", "facility", "changed"):
        table.add_column(col)
    for r in rows[-200:]:
        shown = ", ".join(service.changed_fields(r))
        table.add_row(str(r["id"]), r["at"], r["actor"], r["action"], r["entity_key"], shown)
    console.print(table)


@facilities_app.command("revert")
@friendly_errors
def facilities_revert(
    audit_id: int = _AUDIT_ID, db: str | None = DbOption, as_json: bool = JsonOption
) -> None:
    """撤销一次机构变更（撤销本身也记录在案）/ undo one registry change"""
    from healthwatch.services import access as service

    undone = service.revert_facility_change(db, audit_id, actor=_actor())
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
    plan: str | None = _PLAN,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """资源配置比率与规划目标差距（按规划自身判定）/ resource ratios vs the plan's targets"""
    from healthwatch.services import access as service

    run = service.ratios(
        year=year,
        facilities_file=facilities_file,
        population_file=population_file,
        levels=level,
        db=db,
        plan_id=plan,
    )
    _synthetic_notice(run.synthetic, as_json)
    _say_sources(
        as_json,
        facilities=run.facilities_source,
        population=run.population_source,
        plan=run.plan_id,
    )
    for zh, en in run.warnings:
        err_console.print(f"[yellow]注意：{zh} / warning: {en}[/yellow]", highlight=False)
    if as_json:
        print_json(run.to_dict())
        return
    report = run.report
    table = Table(title=f"卫生资源与规划目标 / resources vs targets, {run.year}")
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
        gap = f"[red]{r.gap:,}[/red]" if r.gap else "0"
        table.add_row(r.name, r.resource, f"{r.have:,}", rate, r.target, gap)
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
    province: str | None = _PROVINCE,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """急救服务半径覆盖人口 / population within the service radius of an EMS station"""
    from healthwatch.services import access as service

    run = service.ems_coverage(
        demand_file=demand_file,
        stations_file=stations_file,
        radius_urban=radius_urban,
        radius_rural=radius_rural,
        network_file=network_file,
        geojson=geojson,
        db=db,
        province=province,
    )
    summary, result = run.summary, run.result
    _synthetic_notice(summary["synthetic"], as_json)
    _say_sources(as_json, stations=summary["stations_source"])
    _said_geojson(geojson, as_json)
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
    for row in run.by_region.itertuples(index=False):
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
    p: int = _P,
    radius_urban: float = RadiusUrbanOption,
    radius_rural: float = RadiusRuralOption,
    demand_file: Path | None = DemandOption,
    candidates_file: Path | None = _CANDIDATES_FILE,
    busy: float = _BUSY,
    time_limit: float = _TIME_LIMIT,
    geojson: Path | None = GeojsonOption,
    province: str | None = _PROVINCE,
    as_json: bool = JsonOption,
) -> None:
    """急救站点与救护车选址：LSCP、MCLP、MEXCLP / optimal EMS station or ambulance siting"""
    from healthwatch.services import access as service

    run = service.site_stations(
        model,
        p=p,
        radius_urban=radius_urban,
        radius_rural=radius_rural,
        demand_file=demand_file,
        candidates_file=candidates_file,
        busy=busy,
        time_limit=time_limit,
        geojson=geojson,
        province=province,
    )
    _synthetic_notice(run.synthetic, as_json)
    _said_geojson(geojson, as_json)
    if as_json:
        print_json(run.stable)
        return
    full = run.full
    share = full["covered_population"] / max(full["total_population"], 1.0)
    console.print(
        f"{model.upper()}: {full['status']}, objective {full['objective']}, gap {full['gap']}, "
        f"{full['seconds']:.2f} s"
    )
    console.print(
        f"站点 / sites: {len(full['selected'])} (new {full.get('new_sites', '?')}); "
        f"覆盖人口 / covered {full['covered_population']:,.0f} of "
        f"{full['total_population']:,.0f} ({share:.1%})"
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
    province: str | None = _PROVINCE,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """两步移动搜索法空间可及性（每千人）/ spatial accessibility (2SFCA / E2SFCA) per 1,000"""
    from healthwatch.services import access as service

    out = service.accessibility(
        demand_file=demand_file,
        facilities_file=facilities_file,
        resource=resource,
        catchment=catchment,
        enhanced=enhanced,
        db=db,
        province=province,
    )
    _say_sources(as_json, facilities=out["facilities_source"])
    _synthetic_notice(out["synthetic"], as_json)
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
    for r in out["by_region"]:
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
    seed: int | None = _SEED,
    as_json: bool = JsonOption,
) -> None:
    """写出模拟演示数据（机构、需求点、候选点、急救站）/ write the synthetic demo data"""
    from healthwatch.access.demo_data import SYNTHETIC_NOTE
    from healthwatch.services import access as service

    info = service.write_demo_files(outdir, seed)
    if as_json:
        print_json(info)
        return
    console.print(SYNTHETIC_NOTE)
    for k, v in info["files"].items():
        console.print(f"  {k}: {v}")


@app.command("map")
@friendly_errors
def map_cmd(
    out: Path = _OUT,
    layers: list[Path] = _LAYERS,
    title: str = _TITLE,
    province: str = typer.Option(
        "210000", "--province", help="绘制其区县边界的省份代码 / province whose counties to draw"
    ),
    as_json: bool = JsonOption,
) -> None:
    """绘制区县边界与覆盖或选址结果（SVG）/ draw county boundaries with points as SVG"""
    from healthwatch.services import access as service

    info = service.draw_map(out, layers, title, province)
    if as_json:
        print_json(info)
        return
    console.print(f"SVG → {out}")
