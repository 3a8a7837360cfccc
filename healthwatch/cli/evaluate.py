"""`healthwatch evaluate`, `healthwatch report` and `healthwatch plans draft`: thin shells.

``register(app)`` adds the commands to the main app and ``draft`` to the ``plans`` group, so
``cli/__init__.py`` needs one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress
from rich.table import Table

from healthwatch.cli._actor import AsOption, resolve_cli_actor
from healthwatch.cli._common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    friendly_errors,
    print_json,
)

_PlanOption = typer.Option(..., "--plan", help="规划编号 / plan id")
_AsOfOption = typer.Option(..., "--as-of", help="评估年份（使用截至该年的数据）/ evaluation year")
_RegionOption = typer.Option(None, "--region", help="地区代码，默认规划地区 / region adcode")
_LevelOption = typer.Option(
    None, "--level", help="同时评估下级地区：province|city|county / also evaluate regions of level"
)
_KindOption = typer.Option("final", "--kind", help="annual|midterm|final 年度/中期/总结")


def _progress_bar() -> tuple[Progress, Any]:
    bar = Progress(console=err_console, transient=True)
    task = bar.add_task("评估中 / evaluating", total=3)

    def callback(done: int, total: int, what: str) -> None:
        bar.update(task, completed=done, total=total, description=f"评估 / {what}")

    return bar, callback


@friendly_errors
def evaluate_cmd(
    plan: str = _PlanOption,
    as_of: int = _AsOfOption,
    region: str | None = _RegionOption,
    level: str | None = _LevelOption,
    kind: str = _KindOption,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
    as_user: str | None = AsOption,
) -> None:
    """评估规划目标进展并保存评估记录 / Evaluate a plan's targets and store the evaluation."""
    from healthwatch.services.evaluate import evaluate_plan
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    bar, callback = _progress_bar()
    with bar, session_scope(db, actor=actor.username) as session:
        doc = evaluate_plan(
            session, plan, as_of, region, level, kind, actor=actor, progress=callback
        )
    if json_out:
        print_json(doc)
        return
    _print_evaluation(doc)


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _print_evaluation(doc: dict[str, Any]) -> None:
    head = doc["region"]
    table = Table(
        title=f"{doc['plan']} {doc['kind_zh']} / {doc['kind']} evaluation, {doc['as_of']}"
    )
    for col in (
        "指标 indicator",
        "最新 latest",
        "目标 target",
        "状态 status",
        "三法 methods",
        "预测 forecast",
    ):
        table.add_column(col)
    for r in doc["results"]:
        if r["region"] != head:
            continue
        mv = r["method_verdicts"]
        methods = " / ".join(mv[m]["status_zh"] for m in ("schedule", "open_sdg", "unsd"))
        fc = r["forecast"]
        table.add_row(
            ("★ " if r["binding"] else "") + r["name_zh"],
            f"{_fmt(r['latest']['value'])} ({_fmt(r['latest']['year'])})",
            r["target"]["text_zh"],
            r["status_zh"],
            methods,
            "—" if fc["value"] is None else f"{fc['value']:.4g} P={_fmt(fc['p_meet'])}",
        )
    console.print(table)
    console.print(f"数据版本 data version: {doc['data_version']} ({doc['data_source']})")
    for w in doc["warnings"]:
        console.print(f"[yellow]预警[/yellow] {w['message_zh']} / {w['message_en']}")
    if "evaluation_id" in doc:
        console.print(f"已保存评估记录 / stored evaluation #{doc['evaluation_id']}")


_FormatOption = typer.Option("html", "--format", help="html|pdf|xlsx")
_LangOption = typer.Option("zh", "--lang", help="zh|en")
_OutOption = typer.Option(None, "--out", help="输出文件 / output file")


@friendly_errors
def report_cmd(
    plan: str = _PlanOption,
    as_of: int = _AsOfOption,
    fmt: str = _FormatOption,
    lang: str = _LangOption,
    out: Path | None = _OutOption,
    region: str | None = _RegionOption,
    level: str | None = typer.Option(
        "city", "--level", help="地图与表格的下级地区层级 / sub-regions shown"
    ),
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """生成评估报告（HTML/PDF/Excel）/ Write the evaluation report (HTML, PDF or Excel)."""
    from healthwatch.services.evaluate import write_report
    from healthwatch.store.db import session_scope

    target = out or Path(f"{plan}-{as_of}-{lang}.{fmt}")
    bar = Progress(console=err_console, transient=True)
    task = bar.add_task("报告 / report", total=5)

    def callback(done: int, total: int, what: str) -> None:
        bar.update(task, completed=done, total=total, description=f"报告 / {what}")

    with bar, session_scope(db) as session:
        info = write_report(
            session, plan, as_of, fmt, lang, target, region=region, level=level, progress=callback
        )
    if json_out:
        print_json(info)
        return
    console.print(f"已写入 / written: {info['file']} ({info['bytes']:,} bytes)")


_FromOption = typer.Option(..., "--from", help="依据的规划 / plan to build on")
_ToYearOption = typer.Option(2030, "--to-year", help="新规划目标年 / target year")
_ProbOption = typer.Option(
    0.8, "--probability", help="目标实现概率：0.3 进取，0.8 稳妥 / chance of meeting each target"
)


@friendly_errors
def draft_cmd(
    from_plan: str = _FromOption,
    to_year: int = _ToYearOption,
    probability: float = _ProbOption,
    out: Path | None = _OutOption,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """按实现概率起草下一期规划目标 / Draft the next plan's targets at a chosen probability."""
    from healthwatch.services.evaluate import draft_next_plan
    from healthwatch.store.db import session_scope

    with session_scope(db) as session:
        result = draft_next_plan(session, from_plan, to_year, probability)
    target = out or Path(f"{result['plan']['id']}.yaml")
    target.write_text(result["yaml"], encoding="utf-8")
    info = {
        "file": str(target),
        "plan": result["plan"]["id"],
        "targets": result["reasoning"],
        "findings": result["findings"],
    }
    if json_out:
        print_json(info)
        return
    table = Table(title=f"{result['plan']['name_zh']} 目标草案 / draft targets")
    for col in ("指标 indicator", "目标 target", "理由 reasoning"):
        table.add_column(col)
    for r in result["reasoning"]:
        table.add_row(r["indicator"], r["text_zh"], r["reason_zh"])
    console.print(table)
    for f in result["findings"]:
        console.print(f"[yellow]{f['kind']}[/yellow] {f['message_zh']}")
    console.print(f"已写入 / written: {target}（可用 `healthwatch plans load` 导入）")


_PlanArg = typer.Argument(..., metavar="PLAN", help="规划编号 / plan id")
_ProgressFileArg = typer.Argument(..., metavar="FILE", help="项目进度 CSV/Excel / progress file")


@friendly_errors
def progress_cmd(
    plan: str = _PlanArg,
    file: Path = _ProgressFileArg,
    json_out: bool = JsonOption,
    db: str | None = DbOption,
    as_user: str | None = AsOption,
) -> None:
    """导入重大项目进度（完成百分比、已用资金、里程碑）/ Import project progress reports."""
    from healthwatch.services.evaluate import import_project_progress
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db, actor=actor.username) as session:
        counts = import_project_progress(session, plan, file, actor=actor)
    if json_out:
        print_json(counts)
        return
    console.print(
        f"已导入 / imported: 新增 inserted {counts['inserted']}，更新 updated {counts['updated']}"
    )


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and ``report`` to the main app, ``draft`` and ``progress`` to ``plans``."""
    from healthwatch.cli import plans

    app.command("evaluate")(evaluate_cmd)
    app.command("report")(report_cmd)
    if not any(c.callback is draft_cmd for c in plans.app.registered_commands):  # once a process
        plans.app.command("draft")(draft_cmd)
        plans.app.command("progress")(progress_cmd)
