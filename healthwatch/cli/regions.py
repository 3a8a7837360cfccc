"""`healthwatch regions` commands: list the stored hierarchy, load population tables."""

from __future__ import annotations

import getpass
from dataclasses import replace
from pathlib import Path

import typer
from rich.table import Table

from healthwatch.cli._common import (
    DbOption,
    JsonOption,
    ZhHelpCommand,
    ZhHelpGroup,
    console,
    friendly_errors,
    print_json,
)

app = typer.Typer(
    cls=ZhHelpGroup,
    help="行政区划与人口：列表、载入人口表 / regions and populations: list, load",
    no_args_is_help=True,
)

FileArgument = typer.Argument(
    ...,
    help="常住人口表：adcode,year,resident_population（人）或统计年鉴宽表 "
    "resident_population_10k_<年份>（万人）/ resident population table: long "
    "(adcode,year,resident_population in persons) or yearbook-wide (10,000 persons)",
)
LEVEL_ZH = {"province": "省级", "city": "地级", "county": "县级"}


@app.command("list", cls=ZhHelpCommand)
@friendly_errors
def list_command(
    parent: str | None = typer.Option(
        None, "--parent", help="只列出该代码的直接下级 / only the direct children of this adcode"
    ),
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """列出已存的行政区划（代码、名称、级别、类型、上级）/ List the stored regions (adcode,
    name, level, kind, parent)."""
    from healthwatch.store.db import session_scope
    from healthwatch.store.regions import list_regions

    with session_scope(db) as session:
        rows = list_regions(session, parent=parent)
    if json:
        print_json(rows)
        return
    table = Table(title=f"行政区划 / Regions ({len(rows)})")
    for header in ("代码 adcode", "名称 name", "级别 level", "类型 type", "上级 parent"):
        table.add_column(header)
    for r in rows:
        level = f"{LEVEL_ZH.get(r['level'], r['level'])} {r['level']}"
        table.add_row(r["adcode"], r["name"], level, f"{r['type_zh']} {r['kind']}", r["parent"])
    console.print(table)


@app.command("load", cls=ZhHelpCommand)
@friendly_errors
def load_command(
    file: Path = FileArgument,
    year: int | None = typer.Option(None, "--year", help="只载入该年份 / load only this year"),
    source: str | None = typer.Option(
        None, "--source", help="数据来源（默认为文件名）/ source (default: the file name)"
    ),
    synthetic: bool = typer.Option(
        False, "--synthetic", help="标记为模拟数据（非真实统计）/ mark the figures as made up"
    ),
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """载入人口表（整表校验，有误则不写入）/ Load a population table; a bad file writes nothing."""
    from healthwatch.services.regions import load_population_file
    from healthwatch.users import LOCAL_ADMIN

    actor = replace(LOCAL_ADMIN, username=f"cli:{getpass.getuser()}")
    summary = load_population_file(
        file, actor=actor, year=year, source=source, synthetic=synthetic, db=db
    )
    if json:
        print_json(summary)
        return
    years = ", ".join(map(str, summary["years"]))
    console.print(
        f"已载入 {file.name}：{summary['rows']} 条人口数据（{summary['regions']} 个行政区，"
        f"年份 {years}），其中 {summary['changed']} 条新增或更新。\n"
        f"Loaded {file.name}: {summary['rows']} population figures for {summary['regions']} "
        f"regions ({years}); {summary['changed']} new or changed."
    )
