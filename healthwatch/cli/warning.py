"""`healthwatch warning`: the multi-point early-warning platform from the command line.

Thin shells over :mod:`healthwatch.services.warning`: each command parses its arguments, calls
one library function and prints a Rich table or, with ``--json``, strict JSON. Who is acting is
``--as USER`` (a stored user; default the local administrator of a single-user installation); a
duty officer sees and answers only the alerts of its region.
"""

from __future__ import annotations

import json as jsonlib
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from healthwatch.cli._actor import resolve_cli_actor
from healthwatch.cli._common import console, friendly_errors, print_json
from healthwatch.cli.options import AsUser, Db, Json
from healthwatch.errors import InputError, Problem

app = typer.Typer(
    help="多点触发传染病预警 / multi-point early warning: ingest, run, alerts, scan, assess",
    no_args_is_help=True,
)

NoteOption = typer.Option("", "--note", help="备注 / note recorded with the step")
FileArgument = typer.Argument(
    ..., help="date,region,source,syndrome,count 的 CSV/xlsx，或个案列表 / counts or line list"
)
OutOption = typer.Option(..., "--out", "-o", help="写出的 CSV 文件 / CSV file to write")
AlertArgument = typer.Argument(..., help="预警编号 / alert id")
DateOption = typer.Option(None, "--date", help="日期 YYYY-MM-DD（默认今天）/ day (default today)")
Seed = Annotated[int, typer.Option("--seed", help="随机种子 / random seed")]
Counties = Annotated[int, typer.Option("--regions", help="区县数 / counties")]
Days = Annotated[int, typer.Option("--days", help="天数 / days")]

LEVEL_STYLE = {"red": "bold red", "orange": "dark_orange", "yellow": "yellow", "blue": "cyan"}
LEVEL_ZH = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}


def _public(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("_")}


@app.command("catalogue")
@friendly_errors
def catalogue(json: Json = False) -> None:
    """内置数据来源与症候群/病种目录 / built-in sources and the syndrome-disease catalogue."""
    from healthwatch.warning.catalogue import SOURCES, SYNDROMES

    data = {
        "sources": [vars(s) for s in SOURCES.values()],
        "syndromes": [vars(s) for s in SYNDROMES.values()],
    }
    if json:
        print_json(data)
        return
    table = Table(title="数据来源 / sources")
    for col in ("code", "名称", "name"):
        table.add_column(col)
    for s in SOURCES.values():
        table.add_row(s.code, s.name_zh, s.name_en)
    console.print(table)
    table = Table(title="症候群与病种 / syndromes and diseases")
    for col in ("code", "名称", "name", "CIDARS"):
        table.add_column(col)
    for y in SYNDROMES.values():
        table.add_row(y.code, y.name_zh, y.name_en, y.cidars or "")
    console.print(table)


@app.command("ingest")
@friendly_errors
def ingest(
    file: Path = FileArgument,
    line_list: bool = typer.Option(
        False,
        "--line-list",
        help="个案列表（含身份证号，需 HEALTHWATCH_PSEUDONYM_KEY）/ case line list (needs the key)",
    ),
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """导入监测数据（整体校验，有错不写入）/ Load feed counts or a case line list."""
    from healthwatch.services.warning import ingest_file

    result = ingest_file(file, db=db, actor=resolve_cli_actor(db, as_user), line_list=line_list)
    if json:
        print_json(result)
        return
    console.print(
        f"已导入批次 {result['batch']}：{result['rows']} 行，新增 {result['values_new']} 个值，"
        f"修订 {result['values_revised']} 个，未变 {result['values_unchanged']} 个。\n"
        f"Batch {result['batch']}: {result['rows']} rows, {result['values_new']} new values, "
        f"{result['values_revised']} revised, {result['values_unchanged']} unchanged.",
        highlight=False,
    )
    if "cases" in result:
        console.print(
            f"个案 {result['cases']} 例（合并重复报告 {result['duplicates_merged']} 条）/ "
            f"{result['cases']} cases ({result['duplicates_merged']} duplicate reports merged)",
            highlight=False,
        )
    if result["stale_runs"]:
        days = ", ".join(result["stale_runs"])
        console.print(
            f"这些日期收到迟报数据，`warning run` 将重新运行：{days}\n"
            f"Late data for days already run; `warning run` runs them again: {days}",
            highlight=False,
        )


@app.command("run")
@friendly_errors
def run(
    day: str | None = DateOption,
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask 调度器地址 tcp://host:8786 / Dask scheduler address"
    ),
    min_level: str = typer.Option(
        "yellow", "--min-level", help="生成预警的最低级别 / lowest level raised as an alert"
    ),
    notify: bool = typer.Option(True, "--notify/--no-notify", help="发送通知 / send notifications"),
    wait: float = typer.Option(
        30.0, "--wait", help="等待通知发送的最长秒数 / seconds to wait for notifications"
    ),
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """运行当日探测（并重跑收到迟报数据的日期）/ Run the day's detection (and stale days)."""
    from healthwatch.services.warning import run_due

    results = run_due(
        day,
        db=db,
        actor=resolve_cli_actor(db, as_user),
        scheduler=scheduler,
        notify=notify,
        min_level=min_level,
    )
    for r in results:
        thread = r.get("_delivery")
        if thread is not None:
            thread.join(wait)
            r["notifications_pending"] = thread.is_alive()
    if json:
        print_json([_public(r) for r in results])
        return
    for r in results:
        console.print(
            f"{r['date']}：{r['series']} 条序列（当日缺报 {r['missing']}），"
            f"信号 {r['signals']} 个，"
            f"新预警 {r['alerts_new']} 条，更新 {r['alerts_updated']} 条"
            f"（低于预警级别的信号组 {r['below_alert_level']} 个）。\n"
            f"{r['date']}: {r['series']} series ({r['missing']} missing today), "
            f"{r['signals']} signals, {r['alerts_new']} new alerts, {r['alerts_updated']} "
            f"updated ({r['below_alert_level']} signal groups below the alert level).",
            highlight=False,
        )


def _alerts_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="预警 / alerts")
    for col in (
        "id",
        "级别 level",
        "状态 status",
        "病种 syndrome",
        "区县 county",
        "日期 dates",
        "来源 sources",
        "超时 overdue",
    ):
        table.add_column(col)
    for a in rows:
        style = LEVEL_STYLE.get(a["level"], "")
        table.add_row(
            str(a["id"]),
            f"[{style}]{LEVEL_ZH.get(a['level'], a['level'])} {a['level']}[/{style}]",
            f"{a['status_zh']} {a['status']}",
            escape(f"{a['syndrome_zh']} {a['syndrome']}"),
            ", ".join(a["regions"]),
            f"{a['first_date']}–{a['last_date']}",
            ", ".join(a["sources"]),
            "⚠ 超时 overdue" if a["overdue"] else "",
        )
    return table


@app.command("alerts")
@friendly_errors
def alerts(
    status: str | None = typer.Option(
        None,
        "--status",
        help="new/acknowledged/investigating/confirmed/ruled_out/closed/open/overdue",
    ),
    region: str | None = typer.Option(None, "--region", help="区域代码 / region adcode"),
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """列出预警（值班人员只见本辖区）/ List alerts (duty officers: their region only)."""
    from healthwatch.services.warning import list_alerts
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db) as session:
        rows = list_alerts(session, actor=actor, status=status, region=region)
    if json:
        print_json(rows)
        return
    console.print(_alerts_table(rows))


@app.command("show")
@friendly_errors
def show(
    alert: int = AlertArgument,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """预警详情：证据、处置记录与通知 / One alert with evidence, steps and notifications."""
    from healthwatch.services.warning import alert_detail
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db) as session:
        data = alert_detail(session, alert, actor=actor)
    if json:
        print_json(data)
        return
    _print_detail(data)


def _print_detail(a: dict[str, Any]) -> None:
    console.print(_alerts_table([a]))
    console.print(f"{escape(a['reason_zh'])}\n{escape(a['reason_en'])}", highlight=False)
    signals = (a.get("evidence") or {}).get("signals", [])
    if signals:
        table = Table(title="证据 / evidence")
        for col in ("date", "region", "source", "method", "observed", "expected", "p"):
            table.add_column(col)
        for s in signals:
            p = s.get("p_value")
            table.add_row(
                str(s.get("date")),
                str(s.get("region")),
                str(s.get("source")),
                str(s.get("method", "")),
                f"{s.get('observed')}",
                "" if s.get("expected") is None else f"{s['expected']:.1f}",
                "" if p is None else f"{p:.2g}",
            )
        console.print(table)
    for e in a.get("events", []):
        console.print(
            f"  {e['at']}  {escape(e['actor'])}  {e['action']}  {e['from']} → {e['to']}  "
            f"{escape(e['note'])}",
            highlight=False,
        )


def _step(
    alert: int, action: str, note: str, db: str | None, actor: Any, json: bool, assignee: str | None
) -> None:
    from healthwatch.services.warning import change_alert
    from healthwatch.store.db import session_scope

    with session_scope(db, actor=actor.username) as session:
        data = change_alert(session, alert, action, actor=actor, note=note, assignee=assignee)
    if json:
        print_json(data)
        return
    console.print(
        f"预警 {alert} 现为“{data['status_zh']}”/ alert {alert} is now {data['status']}",
        highlight=False,
    )


@app.command("ack")
@friendly_errors
def ack(
    alert: int = AlertArgument,
    note: str = NoteOption,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """签收预警 / Acknowledge an alert."""
    _step(alert, "acknowledge", note, db, resolve_cli_actor(db, as_user), json, None)


@app.command("assign")
@friendly_errors
def assign(
    alert: int = AlertArgument,
    to: str = typer.Option(..., "--to", help="负责人 / person to assign"),
    note: str = NoteOption,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """指派预警负责人 / Assign an alert to a person."""
    _step(alert, "assign", note, db, resolve_cli_actor(db, as_user), json, to)


RESOLVE_ACTIONS = {
    "investigating": "investigate",
    "confirmed": "confirm",
    "ruled_out": "rule_out",
    "closed": "close",
}


@app.command("resolve")
@friendly_errors
def resolve(
    alert: int = AlertArgument,
    outcome: str = typer.Option(
        ...,
        "--outcome",
        help="investigating（开始调查）/ confirmed（确认）/ ruled_out（排除）/ closed（关闭）",
    ),
    note: str = NoteOption,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """推进处置：调查、确认或排除、关闭 / Investigate, confirm or rule out, close."""
    if outcome not in RESOLVE_ACTIONS:
        raise InputError(
            [
                Problem(
                    f"--outcome must be one of {', '.join(RESOLVE_ACTIONS)}",
                    f"--outcome 须为 {'、'.join(RESOLVE_ACTIONS)} 之一",
                    field="--outcome",
                )
            ]
        )
    _step(alert, RESOLVE_ACTIONS[outcome], note, db, resolve_cli_actor(db, as_user), json, None)


@app.command("scan")
@friendly_errors
def scan(
    syndrome: str = typer.Option(..., "--syndrome", help="症候群/病种代码 / syndrome code"),
    source: str = typer.Option(..., "--source", help="数据来源代码 / source code"),
    day: str | None = DateOption,
    days: int = typer.Option(56, "--days", help="研究期天数 / study period in days"),
    max_days: int = typer.Option(7, "--max-days", help="聚集最长天数 / longest cluster"),
    replicates: int = typer.Option(999, "--replicates", help="蒙特卡罗次数 / Monte Carlo"),
    seed: Seed = 0,
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """时空重排扫描（Kulldorff），显著聚集生成预警 / Space-time permutation scan."""
    from healthwatch.services.warning import scan_day

    result = scan_day(
        day,
        syndrome=syndrome,
        source=source,
        db=db,
        actor=resolve_cli_actor(db, as_user),
        days=days,
        max_days=max_days,
        replicates=replicates,
        seed=seed,
    )
    if json:
        print_json(result)
        return
    table = Table(title=f"时空聚集 / space-time clusters: {syndrome} ({source})")
    for col in ("区县 counties", "日期 dates", "观察 obs", "期望 exp", "LLR", "P", "重现期(天)"):
        table.add_column(col)
    for c in result["clusters"]:
        table.add_row(
            ", ".join(c["counties"]),
            f"{c['start']}–{c['end']}",
            f"{c['observed']:.0f}",
            f"{c['expected']:.1f}",
            f"{c['llr']:.2f}",
            f"{c['p_value']:.3f}",
            str(c["recurrence_interval_days"]),
        )
    console.print(table)
    console.print(f"新预警 / new alerts: {result['alerts_new']}", highlight=False)


@app.command("simulate")
@friendly_errors
def simulate(
    out: Path = OutOption,
    regions: Counties = 100,
    days: Days = 730,
    outbreaks: int = typer.Option(20, "--outbreaks", help="暴发数 / planted outbreaks"),
    seed: Seed = 0,
    json: Json = False,
) -> None:
    """模拟多源暴发数据（可直接 ingest）/ Simulate multi-source feeds with planted outbreaks."""
    from healthwatch.services.warning import simulate_feed

    feed, planted = simulate_feed(n_regions=regions, n_days=days, n_outbreaks=outbreaks, seed=seed)
    feed.to_csv(out, index=False)
    table_rows = planted.astype(object).where(planted.notna(), None).to_dict("records")
    summary = {"file": str(out), "rows": len(feed), "outbreaks": table_rows}
    if json:
        print_json(summary)
        return
    console.print(
        f"已写出 {len(feed):,} 行到 {out}（模拟数据，含 {len(planted)} 起暴发）/ "
        f"wrote {len(feed):,} rows of SYNTHETIC feeds with {len(planted)} planted outbreaks",
        highlight=False,
    )


@app.command("assess")
@friendly_errors
def assess(
    regions: Counties = 100,
    days: Days = 730,
    outbreaks: int = typer.Option(200, "--outbreaks", help="暴发数 / outbreaks"),
    targets: str = typer.Option(
        "1,2,4", "--targets", help="每区县每年误报数 / false alerts per county-year"
    ),
    replicates: int = typer.Option(1, "--replicates", help="重复次数 / replicates"),
    seed: Seed = 1000,
    json: Json = False,
) -> None:
    """单一来源与多点融合的比较（相同误报率）/ Single sources vs fused detection."""
    from healthwatch.services.warning import assess_fusion

    try:
        wanted = [float(t) for t in targets.split(",") if t.strip()]
    except ValueError:
        raise InputError(
            [Problem("--targets: numbers separated by commas", "--targets 应为逗号分隔的数字")]
        ) from None
    rows = assess_fusion(
        n_regions=regions,
        n_days=days,
        n_outbreaks=outbreaks,
        targets=wanted,
        replicates=replicates,
        seed=seed,
    )
    if json:
        print_json(rows)
        return
    table = Table(title="融合与单一来源 / fused vs single sources")
    for col in ("误报/县年 target", "detector", "检出率 POD", "中位延迟(天)", "误报/县年"):
        table.add_column(col)
    for r in rows:
        delay = r["median_days_to_detection"]
        table.add_row(
            f"{r['target']:g}",
            str(r["detector"]),
            f"{r['pod']:.2f}",
            "" if delay is None else f"{delay:.1f}",
            f"{r['false_alerts_per_county_year']:.2f}",
        )
    console.print(table)


@app.command("recipient")
@friendly_errors
def recipient(
    name: str = typer.Option(..., "--name", help="接收人 / recipient name"),
    channel: str = typer.Option(..., "--channel", help="webhook 或 email"),
    address: str = typer.Option(..., "--address", help="URL 或邮箱 / URL or e-mail address"),
    region: str = typer.Option("210000", "--region", help="负责区域 / region"),
    min_level: str = typer.Option("yellow", "--min-level", help="最低级别 / lowest level"),
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """添加预警通知接收人 / Add someone to notify about new alerts."""
    from healthwatch.services.warning import add_recipient
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db, actor=actor.username) as session:
        data = add_recipient(
            session,
            name=name,
            channel=channel,
            address=address,
            region=region,
            min_level=min_level,
            actor=actor,
        )
    if json:
        print_json(data)
        return
    console.print(f"已添加接收人 {data['id']} / recipient {data['id']} added", highlight=False)


@app.command("notify")
@friendly_errors
def notify(
    retry_failed: bool = typer.Option(
        False, "--retry-failed", help="重发失败的通知 / queue failed notifications again"
    ),
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """发送待发通知并列出投递记录 / Deliver pending notifications and list deliveries."""
    from healthwatch.services.warning import deliver_pending, notifications
    from healthwatch.services.warning import retry_failed as retry
    from healthwatch.store.db import session_scope

    if retry_failed:
        actor = resolve_cli_actor(db, as_user)
        with session_scope(db, actor=actor.username) as session:
            retry(session, actor=actor)
    outcome = deliver_pending(db)
    with session_scope(db) as session:
        rows = notifications(session)
    if json:
        print_json({"outcome": outcome, "notifications": rows})
        return
    console.print(
        f"发送成功 {outcome['sent']}，失败 {outcome['failed']} / sent {outcome['sent']}, "
        f"failed {outcome['failed']}",
        highlight=False,
    )


@app.command("config")
@friendly_errors
def config(
    syndrome: str | None = typer.Option(None, "--syndrome", help="症候群/病种 / syndrome"),
    source: str | None = typer.Option(None, "--source", help="来源 / source"),
    method: str | None = typer.Option(
        None, "--method", help="ears_c1/ears_c2/ears_c3/cidars_fixed/cidars_mpm"
    ),
    params: str = typer.Option("{}", "--params", help='方法参数 JSON，如 {"years": 3}'),
    db: Db = None,
    as_user: AsUser = None,
    json: Json = False,
) -> None:
    """查看或设置探测配置 / List detection configurations, or set one."""
    from healthwatch.services.warning import list_configs, set_config
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db, actor=actor.username) as session:
        if syndrome or source or method:
            if not (syndrome and source and method):
                raise InputError(
                    [
                        Problem(
                            "give --syndrome, --source and --method together",
                            "请同时给出 --syndrome、--source 和 --method",
                        )
                    ]
                )
            try:
                parsed = jsonlib.loads(params)
            except jsonlib.JSONDecodeError as exc:
                raise InputError(
                    [Problem(f"--params is not JSON: {exc}", f"--params 不是 JSON：{exc}")]
                ) from None
            set_config(session, syndrome, source, method, parsed, actor=actor)
        rows = list_configs(session)
    if json:
        print_json(rows)
        return
    table = Table(title="探测配置 / detection configurations")
    for col in ("syndrome", "source", "method", "params", "history"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["syndrome"],
            r["source"],
            r["method"],
            jsonlib.dumps(r["params"]),
            str(r["history_days"]),
        )
    console.print(table)


@app.command("demo")
@friendly_errors
def demo(
    end: str | None = typer.Option(None, "--end", help="最后一天（默认昨天）/ last day"),
    db: Db = None,
    json: Json = False,
) -> None:
    """载入一年模拟多源数据（含预置暴发）并运行探测 / Load the simulated demo feeds and run."""
    from healthwatch.services.warning import load_demo
    from healthwatch.store.db import session_scope

    with session_scope(db, actor="demo", create=True) as session:
        result = load_demo(session, end=date.fromisoformat(end) if end else None)
    if json:
        print_json(result)
        return
    console.print(
        f"模拟数据已载入，未处置预警 {result['alerts_open']} 条 / simulated feeds loaded, "
        f"{result['alerts_open']} open alerts (`healthwatch warning alerts`).",
        highlight=False,
    )
