"""`healthwatch demo`: build the demo database, print the demo logins, serve the web app."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.markup import escape

from healthwatch.cli._common import DbOption, JsonOption, console, friendly_errors, print_json
from healthwatch.cli.serve import HostOption, PortOption, WorkersOption, address, check_port

SEVERITY_ZH = {"error": "错误 error", "warning": "警告 warning", "info": "提示 info"}
LEVEL_ZH = {"province": "省", "city": "地级市", "county": "县级单位"}
STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
KIND_ZH = {"urban_district": "市辖区", "county_level": "县、县级市、自治县"}


@friendly_errors
def demo(
    db: str | None = DbOption,
    json: bool = JsonOption,
    no_serve: bool = typer.Option(
        False,
        "--no-serve",
        help="只建演示数据库后退出（脚本、CI 用）/ build the demo database and exit (scripts, CI)",
    ),
    host: str = HostOption,
    port: int = PortOption,
    workers: int = WorkersOption,
) -> None:
    """演示：载入辽宁省行政区划、人口（县级为模拟数据）、辽宁与鞍山两部规划（并检查一致性）、
    指标数据面板与预警演示数据（运行探测），预编译探测内核，为每种角色生成演示账户与密码，
    然后启动网页服务（--no-serve 则退出）/
    Demo: load Liaoning's regions, populations (county figures made up), the Liaoning and Anshan
    plans (checked), the indicator data panel and the early-warning demo feeds (detection run),
    compile the detection kernels, create a demo login per role with a new password, then serve
    the web app (or exit with --no-serve)."""
    from healthwatch.demo import run_demo

    if not no_serve:
        check_port(host, port)  # before a minute of loading, not after
    summary = run_demo(db)
    summary["address"] = None if no_serve else address(host, port)
    if json:
        print_json(summary)
    else:
        _print(summary)
        _print_logins(summary["logins"])
    sys.stdout.flush()
    if no_serve:
        return
    from healthwatch.cli.serve import run_server
    from healthwatch.store.db import resolve_url

    run_server(resolve_url(db), host, port, workers=workers, json_stdout=json)


_STATUS = {
    "created": ("新建", "created"),
    "reset": ("已重设密码", "password reset"),
    "disabled": ("已停用，未改动", "disabled, left as it is"),
    "not_demo": ("同名账户不是演示账户，未改动", "a real account of this name, left alone"),
}


def _print_logins(logins: list[dict[str, Any]]) -> None:
    console.print(
        "\n[bold]演示登录 / Demo logins[/bold]（每次运行演示都会生成新密码，只显示这一次；"
        "演示账户不得出现在生产环境中：`healthwatch users disable demo-admin` 等 / new passwords "
        "on every run, shown only now; demo accounts must not exist in production: "
        "`healthwatch users disable demo-admin` etc.）",
        highlight=False,
        soft_wrap=True,
    )
    for row in logins:
        zh, en = _STATUS[row["status"]]
        password = row["password"] or "—"
        console.print(
            f"  {row['username']:<13} {escape(password):<24} {row['about_zh']} / "
            f"{row['about_en']}  [{zh} / {en}]",
            highlight=False,
            soft_wrap=True,
        )


def _print(s: dict[str, Any]) -> None:
    regions, pops = s["regions"], s["populations"]
    console.rule("healthwatch 演示 / demo")
    console.print(f"数据库 / database: {s['database']}", highlight=False)
    levels = "，".join(f"{LEVEL_ZH[k]} {v}" for k, v in regions["by_level"].items())
    kinds = "，".join(f"{KIND_ZH.get(k, k)} {v}" for k, v in regions["counties_by_kind"].items())
    console.print(
        f"行政区划：辽宁省共 {regions['total']} 个（{levels}；其中 {kinds}），本次写入 "
        f"{regions['written']} 个。\nRegions: {regions['total']} (1 province, 14 cities, 100 "
        f"counties), {regions['written']} written this run.",
        highlight=False,
    )
    console.print(
        f"人口（{pops['year']} 年）：真实数据 {pops['real']} 条（{pops['real_source']}）；"
        f"[bold]模拟数据[/bold] {pops['synthetic']} 条（{pops['synthetic_source']}）。\n"
        f"Populations {pops['year']}: {pops['real']} real, {pops['synthetic']} SYNTHETIC "
        f"(county figures are made up; load real ones with `healthwatch regions load`).",
        highlight=False,
    )
    data = s["indicator_data"]
    console.print(
        f"指标数据：规划基线 {data['baselines']['values']} 条（真实，附原文）；"
        "[bold]模拟面板[/bold] "
        f"{data['synthetic']['values']} 条（{data['synthetic']['years']}，含预置问题）。\n"
        f"Indicator data: {data['baselines']['values']} plan baselines (real, with source "
        f"sentence); SYNTHETIC panel of {data['synthetic']['values']} values "
        f"({data['synthetic']['years']}, with planted problems; see docs/data.md).",
        highlight=False,
    )
    w = s["warning"]
    if w.get("loaded"):
        console.print(
            f"预警演示：{w['series']} 条模拟多源监测序列（{w['start']} 至 {w['end']}，"
            f"预置暴发 {len(w['planted'])} 起），已运行探测，待处置预警 {w['alerts_open']} 条"
            "（`healthwatch warning alerts`）。\n"
            f"Early warning: {w['series']} SIMULATED multi-source series ({w['start']} to "
            f"{w['end']}, {len(w['planted'])} planted outbreaks), detection run, "
            f"{w['alerts_open']} open alerts (`healthwatch warning alerts`).",
            highlight=False,
        )
    else:
        console.print(
            f"预警演示：已载入（未重复载入），待处置预警 {w['alerts_open']} 条。\n"
            f"Early warning: demo feeds already loaded (not loaded again), "
            f"{w['alerts_open']} open alerts.",
            highlight=False,
        )
    k = s["kernels"]
    console.print(
        f"探测方法内核：{k['methods']} 种方法已编译或从缓存载入（{k['seconds']:.1f} 秒）。\n"
        f"Detection kernels: {k['methods']} methods compiled or loaded from the cache "
        f"({k['seconds']:.1f} s).",
        highlight=False,
    )
    console.print("\n[bold]规划 / Plans[/bold]")
    for p in s["plans"]:
        new = "，本次新存 / new" if p["new_version"] else ""
        console.print(
            f"  {escape(p['id'])}  {escape(p['name_zh'])}（{p['region']}，{p['years']}，"
            f"第 {p['version']} 版 / version {p['version']}{new}）\n"
            f"    {escape(p['name_en'])}\n"
            f"    指标 {p['indicators']} indicators · 其他目标 {p['supplementary_targets']} "
            f"supplementary targets · 项目 {p['projects']} 个（{p['project_categories']} 类） "
            f"projects in {p['project_categories']} categories",
            highlight=False,
        )
    counts = s["findings_by_severity"]
    by_severity = "，".join(f"{SEVERITY_ZH[k]} {counts.get(k, 0)}" for k in SEVERITY_ZH)
    console.print(
        f"\n[bold]一致性检查 / Consistency findings: {len(s['findings'])}[/bold]（{by_severity}）"
    )
    for f in s["findings"]:
        where = " · ".join(x for x in (f["kind"], f["plan"], f["indicator"]) if x)
        style = STYLE.get(f["severity"], "")
        console.print(
            f"  [{style}]{SEVERITY_ZH.get(f['severity'], f['severity'])}[/{style}] "
            f"{escape(where)}\n    {escape(f['message_zh'])}\n    {escape(f['message_en'])}",
            highlight=False,
        )
