"""`healthwatch users` commands: accounts, roles, API tokens and the security log.

Passwords are never command-line arguments (they would show in ``ps`` and the shell history):
they are typed at a hidden prompt, or read from the first line of standard input with
``--password-stdin`` for scripts.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.table import Table

from healthwatch.cli._actor import resolve_cli_actor
from healthwatch.cli._common import console, friendly_errors, print_json
from healthwatch.cli.options import AsUser, Db, Json

app = typer.Typer(
    help="用户、角色、接口令牌与安全审计日志 / users, roles, API tokens, security log",
    no_args_is_help=True,
)
token_app = typer.Typer(help="接口令牌 / API tokens for machine ingestion", no_args_is_help=True)
app.add_typer(token_app, name="token")

_UserArg = typer.Argument(..., metavar="USER", help="用户名 / user name")
_RoleHelp = "角色 / role: admin, analyst, reporter, duty_officer, viewer"
_RegionOption = typer.Option(
    None, "--region", help="辖区行政区划代码（默认不限）/ region scope adcode (default: none)"
)
_PasswordStdin = typer.Option(
    False,
    "--password-stdin",
    help="从标准输入第一行读取密码（用于脚本）/ read the password from stdin's first line",
)
SOURCE = "cli"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    return value


def _print_user(row: dict[str, Any], verb_zh: str, verb_en: str) -> None:
    region = row["region"] or "全部 all"
    console.print(
        f"{verb_zh}用户 {row['username']}（{row['role_zh']}，辖区 {region}）/ "
        f"{verb_en} user {row['username']} ({row['role']}, region {region})",
        highlight=False,
    )


@app.command("add")
@friendly_errors
def add_cmd(
    username: str = _UserArg,
    role: str = typer.Option(..., "--role", help=_RoleHelp),
    region: str | None = _RegionOption,
    name: str = typer.Option("", "--name", help="姓名或说明 / display name"),
    password_stdin: bool = _PasswordStdin,
    as_user: AsUser = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """新建用户（密码至少 8 位、含三类字符、不含用户名）/ Add a user (password per 等保 level 3)."""
    from healthwatch.services.users import add_user
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    password = _read_password(password_stdin)
    # Adding a user is how a fresh installation gets its accounts: it may create the database
    # (and migrate an old one); every other users command only reads or changes what is there.
    with session_scope(db, create=True) as session:
        row = add_user(
            session, actor, username, password, role, region=region, display_name=name,
            source=SOURCE,
        )  # fmt: skip
    if json_out:
        print_json(row)
        return
    _print_user(row, "已新建", "Added")


@app.command("list")
@friendly_errors
def list_cmd(as_user: AsUser = None, json_out: Json = False, db: Db = None) -> None:
    """列出用户 / List the users (administrators only)."""
    from healthwatch.services.users import list_users
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db) as session:
        rows = list_users(session, actor)
    if json_out:
        print_json(rows)
        return
    table = Table(title=f"用户 / Users ({len(rows)})")
    for col in ("用户名 user", "姓名 name", "角色 role", "辖区 region", "状态 state"):
        table.add_column(col)
    for r in rows:
        state = "停用 disabled" if r["disabled"] else "正常 active"
        if r["locked_until"]:
            state += f"；锁定至 locked until {r['locked_until']}"
        role = f"{r['role_zh']} {r['role']}"
        table.add_row(r["username"], r["display_name"], role, r["region"] or "全部 all", state)
    console.print(table)


def _set_disabled(username: str, disabled: bool, as_user: str | None, json_out: bool,
                  db: str | None) -> None:  # fmt: skip
    from healthwatch.services.users import set_disabled
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db) as session:
        row = set_disabled(session, actor, username, disabled, source=SOURCE)
    if json_out:
        print_json(row)
        return
    _print_user(row, "已停用" if disabled else "已启用", "Disabled" if disabled else "Enabled")


@app.command("disable")
@friendly_errors
def disable_cmd(
    username: str = _UserArg,
    as_user: AsUser = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """停用用户（不能再登录或使用令牌）/ Disable a user: no more logins or token use."""
    _set_disabled(username, True, as_user, json_out, db)


@app.command("enable")
@friendly_errors
def enable_cmd(
    username: str = _UserArg,
    as_user: AsUser = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """启用用户并解除锁定 / Enable a user again and clear a lockout."""
    _set_disabled(username, False, as_user, json_out, db)


@app.command("role")
@friendly_errors
def role_cmd(
    username: str = _UserArg,
    role: str = typer.Argument(..., metavar="ROLE", help=_RoleHelp),
    region: str | None = _RegionOption,
    no_region: bool = typer.Option(
        False, "--no-region-limit", help="取消辖区限制 / remove the region limit"
    ),
    as_user: AsUser = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """修改用户角色或辖区（记入安全审计日志）/ Change a user's role or region (audited)."""
    from healthwatch.services.users import set_role
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db) as session:
        row = set_role(
            session, actor, username, role, region=region,
            change_region=no_region or region is not None, source=SOURCE,
        )  # fmt: skip
    if json_out:
        print_json(row)
        return
    _print_user(row, "已更新", "Updated")


@app.command("password")
@friendly_errors
def password_cmd(
    username: str = _UserArg,
    password_stdin: bool = _PasswordStdin,
    as_user: AsUser = None,
    db: Db = None,
) -> None:
    """重置用户密码（管理员）/ Reset a user's password (administrators)."""
    from healthwatch.services.users import change_password
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    password = _read_password(password_stdin)
    with session_scope(db) as session:
        change_password(session, actor, username, password, source=SOURCE)
    console.print(f"已重置 {username} 的密码 / Password of {username} reset", highlight=False)


@token_app.command("issue")
@friendly_errors
def token_issue_cmd(
    username: str = _UserArg,
    name: str = typer.Option("", "--name", help="令牌用途 / what the token is for"),
    expires_days: int | None = typer.Option(
        None, "--expires-days", help="有效天数（默认不过期）/ days until it expires"
    ),
    as_user: AsUser = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """签发接口令牌（仅显示一次）/ Issue an API token; it is shown once and never stored."""
    from healthwatch.services.users import issue_token
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db) as session:
        token, row = issue_token(
            session, actor, username, name=name, expires_days=expires_days, source=SOURCE
        )
    if json_out:
        print_json({**row, "token": token})
        return
    console.print(
        f"令牌 {row['id']}（{username}）/ token {row['id']} for {username}:\n{token}\n"
        "请立即妥善保存，之后无法再次查看。/ Store it now: it cannot be shown again.",
        highlight=False,
    )


@token_app.command("list")
@friendly_errors
def token_list_cmd(
    username: str | None = typer.Argument(None, metavar="[USER]", help="用户名 / user name"),
    as_user: AsUser = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """列出接口令牌（不含令牌本身）/ List API tokens (never the tokens themselves)."""
    from healthwatch.services.users import list_tokens
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db) as session:
        rows = list_tokens(session, actor, username)
    if json_out:
        print_json(rows)
        return
    table = Table(title=f"接口令牌 / API tokens ({len(rows)})")
    for col in ("编号 id", "用户 user", "用途 name", "开头 hint", "过期 expires", "吊销 revoked"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["id"]), r["username"], r["name"], r["hint"] + "…", r["expires_at"] or "—",
            r["revoked_at"] or "—",
        )  # fmt: skip
    console.print(table)


@token_app.command("revoke")
@friendly_errors
def token_revoke_cmd(
    token_id: int = typer.Argument(..., metavar="ID", help="令牌编号 / token id"),
    as_user: AsUser = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """吊销接口令牌（立即失效）/ Revoke an API token at once."""
    from healthwatch.services.users import revoke_token
    from healthwatch.store.db import session_scope

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db) as session:
        row = revoke_token(session, actor, token_id, source=SOURCE)
    if json_out:
        print_json(row)
        return
    console.print(f"已吊销令牌 {token_id} / Token {token_id} revoked", highlight=False)


@app.command("log")
@friendly_errors
def log_cmd(
    subject: str | None = typer.Option(None, "--user", help="只看该用户 / only this user"),
    limit: int = typer.Option(50, "--limit", help="条数 / number of entries"),
    verify: bool = typer.Option(
        False, "--verify", help="校验哈希链是否完整 / check the hash chain for tampering"
    ),
    as_user: AsUser = None,
    json_out: Json = False,
    db: Db = None,
) -> None:
    """安全审计日志（登录、锁定、权限变更、令牌）/ The security audit log; --verify checks it."""
    from healthwatch.services.users import security_log, verify_security_log
    from healthwatch.store.db import session_scope
    from healthwatch.users import require

    actor = resolve_cli_actor(db, as_user)
    with session_scope(db) as session:
        rows = security_log(session, actor, subject=subject, limit=limit)
        check = None
        if verify:
            require(actor, "manage_users")
            check = verify_security_log(session)
    if json_out:
        print_json({"entries": rows, "verification": check} if verify else rows)
    else:
        table = Table(title=f"安全审计日志 / Security log ({len(rows)})")
        for col in ("编号 id", "时间 at", "事件 event", "操作人 actor", "对象 user", "来源 source"):
            table.add_column(col)
        for r in rows:
            table.add_row(str(r["id"]), r["at"], r["event"], r["actor"], r["subject"], r["source"])
        console.print(table)
        if check is not None:
            if check["ok"]:
                console.print(
                    f"哈希链完整（{check['entries']} 条）/ Hash chain intact "
                    f"({check['entries']} entries)"
                )
            else:
                console.print(f"{check['reason_zh']} / {check['reason_en']}", style="bold red")
    if check is not None and not check["ok"]:
        raise typer.Exit(1)
