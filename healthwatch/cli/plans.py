"""`healthwatch plans` commands: list, show, check and load plans kept in the database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from healthwatch.cli._actor import AsOption, resolve_cli_actor
from healthwatch.cli._common import (
    DbOption,
    JsonOption,
    ZhHelpCommand,
    ZhHelpGroup,
    console,
    friendly_errors,
    print_json,
)

if TYPE_CHECKING:
    from healthwatch.plans.checks import Finding
    from healthwatch.plans.model import Baseline, Plan

app = typer.Typer(
    cls=ZhHelpGroup,
    help="五年规划：列表、查看、一致性检查、导入 / five-year plans: list, show, check, load",
    no_args_is_help=True,
)

_PlanArg = typer.Argument(..., metavar="PLAN", help="规划编号 / plan id")
_VersionOption = typer.Option(
    None, "--version", help="版本号（默认当前版本）/ version number (default: the current one)"
)
_PlanIdsArg = typer.Argument(
    None, metavar="[PLAN]...", help="规划编号，默认全部 / plan ids (default: all)"
)
_BuiltinOption = typer.Option(
    False,
    "--builtin",
    help="检查随软件提供的规划文件，不读数据库 / check the packaged plan files, not the database",
)
_FilesArg = typer.Argument(
    ...,
    metavar="FILE",
    help="YAML 或 JSON 规划文件，可多个，上级规划先存（--json：一个文件输出对象，多个输出列表）"
    " / YAML or JSON plan files, parents stored first (--json: an object for one file, a list "
    "for several)",
)
_SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}
_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


@app.command("list", cls=ZhHelpCommand)
@friendly_errors
def list_cmd(json_out: bool = JsonOption, db: str | None = DbOption) -> None:
    """列出数据库中的规划 / List the plans in the database."""
    from healthwatch.store.db import session_scope
    from healthwatch.store.plans import list_plans

    with session_scope(db) as session:
        rows = list_plans(session)
    if json_out:
        print_json(rows)
        return
    table = Table(title="规划 / Plans")
    for col in ("编号 id", "名称", "Name", "地区 region", "年份 years", "指标 indicators"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["id"],
            r["name_zh"],
            r["name_en"],
            r["region"],
            f"{r['start_year']}–{r['end_year']}",
            str(r["indicators"]),
        )
    console.print(table)


@app.command("show", cls=ZhHelpCommand)
@friendly_errors
def show_cmd(
    plan_id: str = _PlanArg,
    version: int | None = _VersionOption,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """显示一个规划的指标、补充目标和项目 / Show a plan's indicators, targets and projects."""
    from healthwatch.store.db import session_scope
    from healthwatch.store.plans import stored_plan

    with session_scope(db) as session:
        plan = stored_plan(session, plan_id, version)
    if json_out:
        print_json(plan.to_json())
        return
    _print_plan(plan)


def _print_plan(plan: Plan) -> None:
    from healthwatch.plans.model import NATURE_ZH

    console.print(f"[bold]{plan.name_zh}[/bold]  {plan.name_en}")
    console.print(
        f"编号 id: {plan.id}   地区 region: {plan.region}   "
        f"{plan.start_year}–{plan.end_year}   基期 base year: {plan.base_year}"
        + (f"   上级规划 parent: {plan.parent}" if plan.parent else "")
    )
    table = Table(title="主要指标 / Key indicators")
    for col in ("类别", "指标名称", "性质", "基期值", "早期目标", "目标"):
        table.add_column(col)
    for ind in plan.indicators:
        earlier = "\n".join(f"{t.year}: {t.text_zh}" for t in ind.previous_targets)
        table.add_row(
            ind.category_zh,
            ind.name_zh,
            NATURE_ZH[ind.nature],
            "\n".join(_baseline_text(b, ind.unit) for b in ind.baselines),
            earlier,
            f"{ind.target.year}: {ind.target.text_zh}",
        )
    console.print(table)
    if plan.supplementary_targets:
        sup = Table(title="表外量化目标 / Supplementary targets")
        for col in ("章节 section", "名称", "目标", "kind"):
            sup.add_column(col)
        for s in plan.supplementary_targets:
            sup.add_row(
                s.section, f"{s.name_zh}\n[dim]{s.name_en}[/dim]", s.target.text_zh, s.target.kind
            )
        console.print(sup)
    if plan.projects:
        proj = Table(title="项目 / Projects")
        for col in ("类别 category", "代表项目", "个数 count", "投资（万元）"):
            proj.add_column(col)
        for p in plan.projects:
            proj.add_row(p.category, p.name, str(p.count), f"{p.amount_10k_yuan:,.0f}")
        if plan.projects_total:
            t = plan.projects_total
            proj.add_row("合计 total", "", str(t.count), f"{t.amount_10k_yuan:,.0f}")
        console.print(proj)


def _baseline_text(b: Baseline, unit: str) -> str:
    from healthwatch.plans.model import UNITS

    sign = {"exact": "", "at_least": "≥", "at_most": "≤"}[b.qualifier]
    return f"{b.year}: {sign}{b.value:g}{UNITS[b.unit_printed or unit][0]}"


@app.command("check", cls=ZhHelpCommand)
@friendly_errors
def check_cmd(
    plan_ids: list[str] | None = _PlanIdsArg,
    builtin: bool = _BuiltinOption,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """一致性检查：低于上级规划、目标倒退、已达标、单位、缺项；有发现也以 0 退出 /
    Consistency checks: looser than the parent, regressions, already met, units, gaps (exit 0
    whatever the findings)."""
    if builtin:
        from healthwatch.plans.checks import check_builtin

        findings = check_builtin(plan_ids)
    else:
        from healthwatch.services.plans import check_stored_plans
        from healthwatch.store.db import session_scope

        with session_scope(db) as session:
            findings = check_stored_plans(session, plan_ids)
    if json_out:
        print_json({"findings": [f.to_json() for f in findings]})
        return
    _print_findings(findings)


def _print_findings(findings: list[Finding]) -> None:
    if not findings:
        console.print("未发现问题 / No findings.")
        return
    table = Table(title=f"一致性检查 / Consistency findings ({len(findings)})", show_lines=True)
    for col in ("严重程度", "类型 kind", "规划 plan", "指标 indicator", "说明 message"):
        table.add_column(col)
    for f in findings:
        indicator = f.indicator or ""
        if f.related_indicator and f.related_plan:
            indicator += f"\n↔ {f.related_plan}:{f.related_indicator}"
        table.add_row(
            f"[{_SEVERITY_STYLE[f.severity]}]{_SEVERITY_ZH[f.severity]} {f.severity}[/]",
            f.kind,
            f.plan,
            indicator,
            f"{f.message_zh}\n[dim]{f.message_en}[/dim]",
        )
    console.print(table)
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    console.print(
        "  ".join(f"{_SEVERITY_ZH[s]} {s}: {n}" for s, n in counts.items()),
        highlight=False,
    )


@app.command("load", cls=ZhHelpCommand)
@friendly_errors
def load_cmd(
    files: list[Path] = _FilesArg,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
    as_user: str | None = AsOption,
) -> None:
    """校验并导入规划文件（可多个，上级规划须已导入或同时导入）；有误则整体拒绝，
    内容未变不新增版本 / Validate plan files and store each as a new version; a plan's
    parent must be stored or loaded with it. A bad file writes nothing; an unchanged one adds
    no version."""
    from healthwatch.services.plans import import_plan_files

    loaded = import_plan_files(files, actor=resolve_cli_actor(db, as_user), db=db)
    rows = [
        {"id": plan.id, "version": version, "indicators": len(plan.indicators)}
        for plan, version in loaded
    ]
    if json_out:
        print_json(rows[0] if len(files) == 1 else rows)
        return
    for plan, version in loaded:
        console.print(
            f"已导入 {plan.name_zh}（{plan.id}），第 {version} 版，"
            f"{len(plan.indicators)} 个指标。\n"
            f"Loaded {plan.id} as version {version} with {len(plan.indicators)} indicators.",
            highlight=False,
        )
