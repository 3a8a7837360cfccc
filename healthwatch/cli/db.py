"""`healthwatch db` commands: migrate the database and show its schema revision."""

from __future__ import annotations

import typer

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
    help="数据库：升级结构、查看结构版本 / database: migrate the schema, show its revision",
    no_args_is_help=True,
)


@app.command("upgrade", cls=ZhHelpCommand)
@friendly_errors
def upgrade_command(db: str | None = DbOption, json: bool = JsonOption) -> None:
    """升级数据库结构到最新版本（保留全部数据） / Migrate the database to the newest schema."""
    from healthwatch.store.db import current_revision, resolve_url, shown_url, upgrade

    url = resolve_url(db)
    before = current_revision(url)
    after = upgrade(url)
    if json:
        print_json({"database": shown_url(url), "from": before, "to": after})
        return
    if before == after:
        console.print(f"数据库已是最新版本 {after} / Already at revision {after}: {shown_url(url)}")
    else:
        console.print(
            f"数据库已从 {before or '空库'} 升级到 {after} / Upgraded from "
            f"{before or 'empty'} to {after}: {shown_url(url)}"
        )


@app.command("current", cls=ZhHelpCommand)
@friendly_errors
def current_command(db: str | None = DbOption, json: bool = JsonOption) -> None:
    """显示数据库结构版本 / Show the database's schema revision (changes nothing)."""
    from healthwatch.store.db import current_revision, head_revision, resolve_url, shown_url

    url = resolve_url(db)
    current, head = current_revision(url), head_revision()
    if json:
        print_json(
            {
                "database": shown_url(url),
                "current": current,
                "head": head,
                "up_to_date": current == head,
            }
        )
        return
    state = "最新 / up to date" if current == head else "需升级 / run `healthwatch db upgrade`"
    console.print(f"{shown_url(url)}: {current or '空库 / empty'} (最新 / head {head}) — {state}")
