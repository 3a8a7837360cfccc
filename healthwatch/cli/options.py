"""The options nearly every command takes (``--db``, ``--as``, ``--json``), declared once.

Why here: these options are part of the CLI's contract (scripts pass them, ``--help`` shows
them), so each is declared in one place and reads the same in every command group; a command
takes them as ``Annotated`` aliases with the default in its own signature::

    def values(db: Db = None, as_user: AsUser = None, json: Json = False) -> None: ...

``DbOption``, ``AsOption`` and ``JsonOption`` are the same options in Typer's older
default-value style, for the command modules that still use that style.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer


def _db(default: Any = ...) -> Any:
    return typer.Option(
        default,
        "--db",
        envvar="HEALTHWATCH_DB",
        help="数据库地址或 SQLite 文件（默认 ./healthwatch.sqlite）/ "
        "database URL or SQLite file (default ./healthwatch.sqlite)",
    )


def _as_user(default: Any = ...) -> Any:
    return typer.Option(
        default,
        "--as",
        envvar="HEALTHWATCH_USER",
        metavar="USER",
        help="以该用户的角色和辖区执行（默认本机管理员）/ act as this user (default: local admin)",
    )


def _json(default: Any = ...) -> Any:
    return typer.Option(
        default, "--json", help="输出 JSON（而非表格）/ print JSON instead of a table"
    )


Db = Annotated[str | None, _db()]
"""``--db`` / ``$HEALTHWATCH_DB``: the database (``db: Db = None``)."""

AsUser = Annotated[str | None, _as_user()]
"""``--as USER`` / ``$HEALTHWATCH_USER``: act as a stored user (``as_user: AsUser = None``)."""

Json = Annotated[bool, _json()]
"""``--json``: strict JSON on stdout instead of a table (``json: Json = False``)."""

DbOption = _db(None)
AsOption = _as_user(None)
JsonOption = _json(False)
