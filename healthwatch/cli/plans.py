"""`healthwatch plans` commands: list, show, check and load plans kept in the database."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from healthwatch.cli._common import DbOption, JsonOption, console, friendly_errors, print_json
from healthwatch.plans.checks import Finding, check_plans
from healthwatch.plans.loader import builtin_plans, default_known_adcodes, load_plan_file
from healthwatch.plans.model import NATURE_ZH, UNITS, Baseline, Plan

app = typer.Typer(help="规划：列表、查看、一致性检查、导入 / plans", no_args_is_help=True)

_PlanArg = typer.Argument(..., metavar="PLAN", help="规划编号 / plan id")
_VersionOption = typer.Option(None, "--version", help="版本号，默认当前版 / version number")
_PlanIdsArg = typer.Argument(
    None, metavar="[PLAN]...", help="规划编号，默认全部 / plan ids (default: all)"
)
_BuiltinOption = typer.Option(
    False, "--builtin", help="检查随软件提供的规划文件，不读数据库 / check the packaged files"
)
_FileArg = typer.Argument(..., metavar="FILE", help="YAML 或 JSON 规划文件 / plan file")
_ActorOption = typer.Option(
    getpass.getuser(), "--actor", help="操作人（记入审计）/ who is loading (audit trail)"
)
_SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}
_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _store() -> Any:
    """The store modules, imported late so that `--help` works without a database."""
    from healthwatch.store import db, plans, regions

    return db, plans, regions


@app.command("list")
@friendly_errors
def list_cmd(json_out: bool = JsonOption, db: str | None = DbOption) -> None:
    """列出数据库中的规划 / List the plans in the database."""
    store_db, store_plans, _ = _store()
    with store_db.session_scope(db) as session:
        rows = store_plans.list_plans(session)
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


def _stored_plan(session: Any, store_plans: Any, plan_id: str, version: int | None = None) -> Plan:
    return Plan.from_json(store_plans.get_plan(session, plan_id, version))


@app.command("show")
@friendly_errors
def show_cmd(
    plan_id: str = _PlanArg,
    version: int | None = _VersionOption,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """显示一个规划的指标、补充目标和项目 / Show a plan's indicators, targets and projects."""
    store_db, store_plans, _ = _store()
    with store_db.session_scope(db) as session:
        plan = _stored_plan(session, store_plans, plan_id, version)
    if json_out:
        print_json(plan.to_json())
        return
    _print_plan(plan)


def _print_plan(plan: Plan) -> None:
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
    sign = {"exact": "", "at_least": "≥", "at_most": "≤"}[b.qualifier]
    return f"{b.year}: {sign}{b.value:g}{UNITS[b.unit_printed or unit][0]}"


def _populations(session: Any, store_regions: Any, plans: list[Plan]) -> dict[str, float]:
    """Resident population for the plans' first year, else their base or last year."""
    for year in sorted({y for p in plans for y in (p.start_year, p.base_year, p.end_year)}):
        found = store_regions.populations(session, year)
        if found:
            return dict(found)
    return {}


@app.command("check")
@friendly_errors
def check_cmd(
    plan_ids: list[str] | None = _PlanIdsArg,
    builtin: bool = _BuiltinOption,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """一致性检查 / Consistency checks: looser than parent, regressions, units, gaps."""
    if builtin:
        plans = builtin_plans()
        populations: dict[str, float] | None = None
        known = {p.id: p for p in plans}
    else:
        store_db, store_plans, store_regions = _store()
        with store_db.session_scope(db) as session:
            ids = [r["id"] for r in store_plans.list_plans(session)]
            known = {i: _stored_plan(session, store_plans, i) for i in ids}
            populations = _populations(session, store_regions, list(known.values()))
    wanted = plan_ids or list(known)
    for plan_id in wanted:
        if plan_id not in known:
            # Raises the store's NotFoundError with its bilingual message.
            if builtin:
                from healthwatch.errors import NotFoundError

                raise NotFoundError(
                    f"No built-in plan {plan_id!r}; built-in plans: {', '.join(known)}.",
                    f"没有内置规划 {plan_id!r}；内置规划：{'、'.join(known)}。",
                )
            with store_db.session_scope(db) as session:
                store_plans.get_plan(session, plan_id)
    # Parents are needed for the cross-level checks even when not asked for.
    selected = _with_parents(wanted, known)
    findings = [f for f in check_plans(selected, populations) if f.plan in wanted]
    if json_out:
        print_json({"findings": [f.to_json() for f in findings]})
        return
    _print_findings(findings)


def _with_parents(wanted: list[str], known: dict[str, Plan]) -> list[Plan]:
    order: list[str] = []

    def add(plan_id: str) -> None:
        plan = known[plan_id]
        if plan.parent and plan.parent in known and plan.parent not in order:
            add(plan.parent)
        if plan_id not in order:
            order.append(plan_id)

    for plan_id in wanted:
        add(plan_id)
    return [known[i] for i in order]


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


@app.command("load")
@friendly_errors
def load_cmd(
    file: Path = _FileArg,
    actor: str = _ActorOption,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """校验并导入一个规划文件 / Validate a plan file and store it as a new version."""
    plan = load_plan_file(file, default_known_adcodes())
    store_db, store_plans, _ = _store()
    with store_db.session_scope(db, actor=actor) as session:
        version = store_plans.save_plan(session, plan.to_json(), actor=actor)
    result = {"id": plan.id, "version": version, "indicators": len(plan.indicators)}
    if json_out:
        print_json(result)
        return
    console.print(
        f"已导入 {plan.name_zh}（{plan.id}），第 {version} 版，{len(plan.indicators)} 个指标。\n"
        f"Loaded {plan.id} as version {version} with {len(plan.indicators)} indicators."
    )
