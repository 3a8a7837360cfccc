"""`healthwatch data`: indicator data import, template, export, approval, history, aggregation.

Thin shells over :mod:`healthwatch.services.data`; every command prints a Rich table or, with
``--json``, strict JSON. Commands that read or write values act as ``--as USER`` /
``$HEALTHWATCH_USER`` (its role and region scope), else as the local administrator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from healthwatch.cli._actor import resolve_cli_actor
from healthwatch.cli._common import console, friendly_errors, print_json
from healthwatch.cli.options import AsUser, Db, Json
from healthwatch.users import Actor

app = typer.Typer(
    help="指标数据：导入、模板、导出、审核、历史、汇总 / indicator data: import, template, export, "
    "approval, history, aggregation",
    no_args_is_help=True,
)

_REGION = typer.Option(..., "--region", help="GB/T 2260 adcode / 行政区划代码")
_PERIOD = typer.Option(..., "--period", help="2024, 2024Q1 or 202401 / 期间")
_DRY = typer.Option(False, "--dry-run", help="Validate only, write nothing / 只校验不写入")
_FILE = typer.Argument(..., help="CSV, xlsx, DHIS2 JSON/CSV or FHIR file / 数据文件")
_IMPORT_FORMAT = typer.Option(
    None, "--format", help="csv | xlsx | dhis2-json | dhis2-csv | fhir (default: guessed)"
)
_MAPPING = typer.Option(
    None, "--mapping", help="DHIS2 UID mapping CSV type,uid,code / DHIS2 编码映射"
)
_DEFINITIONS = typer.Option(
    [], "--definitions", help="Extra definitions YAML (repeatable) / 额外的指标定义"
)
_TEMPLATE_OUT = typer.Option(None, "--out", help="Workbook to write / 输出文件")
_EXPORT_OUT = typer.Argument(..., help="File to write / 输出文件")
_ELEMENTS = typer.Option([], "--element", help="Element code (repeatable) / 数据项")
_PERIODS = typer.Option([], "--period", help="Period(s) / 期间（可重复）")
_LEVELS = typer.Option(["province", "city"], "--level", help="Levels shown / 层级")
RegionSubtree = Annotated[str | None, typer.Option("--region", help="Region subtree / 地区")]
Comment = Annotated[str, typer.Option("--comment", help="Comment / 说明")]
_REASON = typer.Option(..., "--reason", help="Why / 原因")


def _actor(db: str | None, as_user: str | None) -> Actor:
    """The user the CLI acts as: ``--as USER`` / ``$HEALTHWATCH_USER``, else the local admin."""
    return resolve_cli_actor(db, as_user)


def _print_warnings(warnings: list[dict[str, Any]], limit: int = 30) -> None:
    for w in warnings[:limit]:
        console.print(
            f"  [yellow]警告 warning[/yellow] {escape(w['message_zh'])}\n"
            f"    {escape(w['message_en'])}",
            highlight=False,
        )
    if len(warnings) > limit:
        console.print(f"  … 另有 {len(warnings) - limit} 条警告 / {len(warnings) - limit} more")


@app.command("import")
@friendly_errors
def import_(
    file: Path = _FILE,
    format: str | None = _IMPORT_FORMAT,
    mapping: Path | None = _MAPPING,
    definitions: list[Path] = _DEFINITIONS,
    dry_run: bool = _DRY,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """导入指标数据（整体校验，全部成功或全部拒绝）/ Import values, validated whole."""
    from healthwatch.services.data import import_file

    result = import_file(
        file,
        actor=_actor(db, as_user),
        db=db,
        format=format,
        mapping=mapping,
        dry_run=dry_run,
        definitions=definitions,
    )
    if json:
        print_json(result.to_json())
        return
    what = (
        "校验通过（未写入）/ valid, nothing written (dry run)" if dry_run else "已导入 / imported"
    )
    console.print(
        f"{what}: {escape(result.file)} [{result.format}] — {result.rows} 行 rows，新增 "
        f"{result.inserted} inserted，更新 {result.updated} updated（新版本 new versions），未变 "
        f"{result.unchanged} unchanged，警告 {len(result.warnings)} warnings，"
        f"{result.seconds:.2f} s",
        highlight=False,
    )
    _print_warnings(result.warnings)


@app.command("template")
@friendly_errors
def template(
    plan: str = typer.Option(..., "--plan", help="Plan id / 规划"),
    region: str = _REGION,
    year: int = typer.Option(..., "--year", help="Year to report / 填报年份"),
    out: Path | None = _TEMPLATE_OUT,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """生成 Excel 填报模板 / Write the Excel reporting template."""
    from healthwatch.services.data import template as write

    path = out or Path(f"{plan}-{region}-{year}.xlsx")
    result = write(path, plan=plan, region=region, year=year, actor=_actor(db, as_user), db=db)
    if json:
        print_json(result)
        return
    console.print(
        f"已生成填报模板 / template written: {escape(str(path))}（{result['elements']} 个数据项 "
        f"elements，{result['indicators']} 个指标 indicators）",
        highlight=False,
    )


@app.command("export")
@friendly_errors
def export(
    out: Path = _EXPORT_OUT,
    format: str = typer.Option("csv", "--format", help="csv | xlsx | dhis2-json | fhir"),
    plan: str | None = typer.Option(None, "--plan", help="Only this plan's indicators / 规划"),
    region: RegionSubtree = None,
    period: str | None = typer.Option(
        None, "--period", help="Period (a year includes its quarters and months) / 期间"
    ),
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """导出指标数据（可再导入）/ Export values (imports back unchanged)."""
    from healthwatch.services.data import export as run

    result = run(
        out,
        format=format,
        plan=plan,
        region=region,
        period=period,
        actor=_actor(db, as_user),
        db=db,
    )
    if json:
        print_json(result)
        return
    console.print(
        f"已导出 / exported {result['values']} 个值 values -> {escape(str(out))} [{format}]",
        highlight=False,
    )


@app.command("values")
@friendly_errors
def values(
    region: RegionSubtree = None,
    period: str | None = typer.Option(None, "--period", help="Period / 期间"),
    element: list[str] = _ELEMENTS,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """列出当前值（含审核状态；辖区外仅已审核）/ List current values with their status
    (outside the user's region only approved ones)."""
    from healthwatch.services.data import current_values

    frame = current_values(
        db,
        actor=_actor(db, as_user),
        elements=element or None,
        region=region,
        period=period,
    )
    frame["stored_at"] = frame["stored_at"].astype(str)
    rows = frame.to_dict("records")
    if json:
        print_json(rows)
        return
    table = Table(
        "地区 region",
        "期间 period",
        "数据项 element",
        "值 value",
        "版本 v",
        "状态 status",
        "模拟 synthetic",
    )
    for r in rows[:500]:
        table.add_row(
            r["region"],
            r["period"],
            r["element"],
            f"{r['value']:g}",
            str(r["version"]),
            r["status"] + (" 🔒" if r["locked"] else ""),
            "是" if r["synthetic"] else "",
        )
    console.print(table)
    if len(rows) > 500:
        console.print(f"… 共 {len(rows)} 行 / {len(rows)} rows (use --json for all)")


@app.command("history")
@friendly_errors
def history(
    region: str = _REGION,
    period: str = _PERIOD,
    element: str | None = typer.Option(None, "--element", help="Element code / 数据项"),
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """修改历史：谁、何时、旧值、新值、原因 / History: who, when, old, new, why."""
    from healthwatch.services.data import history as run

    result = run(region, period, element, db=db, actor=_actor(db, as_user))
    if json:
        print_json(result)
        return
    table = Table(
        "数据项 element",
        "版本 v",
        "旧值 old",
        "新值 new",
        "填报人 by",
        "时间 at",
        "来源/原因 source/why",
    )
    for v in result["versions"]:
        why = v["reason"] or v["comment"] or v["source"]
        table.add_row(
            v["element"],
            str(v["version"]) + (" *" if v["current"] else ""),
            "" if v["old"] is None else f"{v['old']:g}",
            "删除" if v["new"] is None else f"{v['new']:g}",
            v["stored_by"],
            v["stored_at"][:19],
            escape(why or ""),
        )
    console.print(table)
    for e in result["approvals"]:
        after = e["after"] or {}
        console.print(
            f"  审核 approval {e['at'][:19]} {e['actor']}: {after.get('status')} "
            f"locked={after.get('locked')} {escape(after.get('comment') or '')}",
            highlight=False,
        )


@app.command("revert")
@friendly_errors
def revert(
    region: str = _REGION,
    period: str = _PERIOD,
    element: str = typer.Option(..., "--element", help="Element code / 数据项"),
    version: int = typer.Option(..., "--version", help="Version to restore / 要恢复的版本"),
    reason: str = _REASON,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """恢复某一版本（作为新版本）/ Restore a version (as a new version)."""
    from healthwatch.services.data import revert as run

    result = run(region, period, element, version, reason=reason, actor=_actor(db, as_user), db=db)
    if json:
        print_json(result)
        return
    console.print(
        f"已恢复 / restored {element} {region} {period}: 第 {version} 版 -> 第 "
        f"{result['new_version']} 版 (value {result['value']:g})",
        highlight=False,
    )


def _workflow(
    action: str,
    region: str,
    period: str,
    text: str,
    db: str | None,
    json: bool,
    as_user: str | None,
) -> None:
    from healthwatch.services import data as svc

    actor = _actor(db, as_user)
    if action == "unlock":
        result = svc.unlock(region, period, actor=actor, reason=text, db=db)
    else:
        result = getattr(svc, action)(region, period, actor=actor, db=db, comment=text)
    if json:
        print_json(result)
        return
    lock = "，已锁定 locked" if result["locked"] else ""
    console.print(
        f"{region} {period}: {result['status_zh']} {result['status']}{lock}", highlight=False
    )


@app.command("submit")
@friendly_errors
def submit(
    region: str = _REGION,
    period: str = _PERIOD,
    comment: Comment = "",
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """上报（草稿 -> 已上报）/ Submit (draft -> submitted)."""
    _workflow("submit", region, period, comment, db, json, as_user)


@app.command("approve")
@friendly_errors
def approve(
    region: str = _REGION,
    period: str = _PERIOD,
    comment: Comment = "",
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """审核并锁定（下级须全部审核）/ Approve and lock (all regions below first)."""
    _workflow("approve", region, period, comment, db, json, as_user)


@app.command("unlock")
@friendly_errors
def unlock(
    region: str = _REGION,
    period: str = _PERIOD,
    reason: str = _REASON,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """管理员解锁（记入审计）/ Administrator unlock (audited)."""
    _workflow("unlock", region, period, reason, db, json, as_user)


@app.command("status")
@friendly_errors
def status(
    period: str = _PERIOD,
    region: RegionSubtree = None,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """各地区审核状态 / Approval state of every region."""
    from healthwatch.services.data import status as run

    rows = run(period, region=region, db=db, actor=_actor(db, as_user))
    if json:
        print_json(rows)
        return
    table = Table("地区 region", "层级 level", "状态 status", "锁定 locked")
    for r in rows:
        table.add_row(r["region"], r["level"], r["status"], "🔒" if r["locked"] else "")
    console.print(table)


def _fmt(x: Any, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


@app.command("aggregate")
@friendly_errors
def aggregate(
    indicator: str = typer.Argument(..., help="Indicator code / 指标编码"),
    period: list[str] = _PERIODS,
    region: RegionSubtree = None,
    level: list[str] = _LEVELS,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """逐级汇总（由计数重算比率）及完整性 / Aggregate from counts, with completeness."""
    from healthwatch.services.data import aggregate as run

    rows = [
        r
        for r in run(
            indicator,
            db=db,
            periods=period or None,
            region=region,
            actor=_actor(db, as_user),
        )
        if r["level"] in level
    ]
    if json:
        print_json(rows)
        return
    table = Table(
        "期间 period",
        "地区 region",
        "本级填报 own",
        "汇总 aggregate",
        "完整性 complete",
        "差异 gap",
        title=f"{indicator}",
    )
    for r in rows:
        gap = _fmt(r["gap"]) + (" [red]⚠[/red]" if r["gap_finding"] else "")
        table.add_row(
            r["period"],
            r["region"],
            _fmt(r["own"]),
            _fmt(r["aggregate"]),
            f"{r['counties_reported']}/{r['counties_total']}",
            gap,
        )
    console.print(table)


@app.command("completeness")
@friendly_errors
def completeness(
    period: str = _PERIOD,
    plan: str | None = typer.Option(None, "--plan", help="Plan id / 规划"),
    region: RegionSubtree = None,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """哪些县已填报 / Which counties have reported, per indicator."""
    from healthwatch.services.data import completeness as run

    rows = run(period, plan=plan, region=region, db=db, actor=_actor(db, as_user))
    if json:
        print_json(rows)
        return
    table = Table("指标 indicator", "地区 region", "已报 reported", "未报县 missing")
    for r in rows:
        missing = r["missing_counties"]
        shown = ", ".join(missing[:6]) + (" …" if len(missing) > 6 else "")
        table.add_row(
            r["indicator"], r["region"], f"{r['counties_reported']}/{r['counties_total']}", shown
        )
    console.print(table)


@app.command("definitions")
@friendly_errors
def definitions(json: Json = False) -> None:
    """数据项与指标定义 / Data elements and indicator definitions."""
    from healthwatch.data.elements import indicator_names, load_definitions

    defs = load_definitions()
    names = indicator_names()
    rows = [
        {
            "code": d.code,
            "name_zh": d.name_zh or names.get(d.code, ("", ""))[0],
            "name_en": d.name_en or names.get(d.code, ("", ""))[1],
            "unit": d.unit,
            "formula": d.formula(),
            "direct": d.direct,
            "bounds": d.bounds,
        }
        for d in defs.indicators.values()
    ]
    if json:
        print_json(
            {
                "indicators": rows,
                "elements": [e.model_dump(mode="json") for e in defs.elements.values()],
                "rules": [r.model_dump(mode="json") for r in defs.rules],
                "files": list(defs.files),
            }
        )
        return
    table = Table("指标 indicator", "名称 name", "公式 formula", "单位 unit")
    for r in rows:
        table.add_row(str(r["code"]), str(r["name_zh"] or ""), str(r["formula"]), str(r["unit"]))
    console.print(table)
