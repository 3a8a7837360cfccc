"""`healthwatch serve`: the web pages and the REST API (uvicorn); `healthwatch demo` ends here."""

from __future__ import annotations

import errno
import socket
import sys
from typing import Any

import typer

from healthwatch.cli._common import DbOption, console, err_console, friendly_errors
from healthwatch.errors import HealthwatchError

HostOption = typer.Option("127.0.0.1", "--host", help="监听地址 / address to listen on")
PortOption = typer.Option(8000, "--port", help="端口 / port", min=1, max=65535)
WorkersOption = typer.Option(
    1, "--workers", min=1, help="进程数（建议不超过 CPU 核数）/ worker processes (up to the cores)"
)


def address(host: str, port: int) -> str:
    """The URL users open (an IPv6 literal in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def check_port(host: str, port: int) -> None:
    """Refuse, in both languages, an address that cannot be listened on (port in use, no
    permission, unknown host), before any work is done and instead of uvicorn's traceback-free
    but English-only exit."""
    try:
        family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        raise HealthwatchError(
            f"Cannot listen on {host!r}: no such address. Give --host 127.0.0.1 (this machine "
            "only) or 0.0.0.0 (every interface).",
            f"无法监听 {host!r}：没有这个地址。请用 --host 127.0.0.1（仅本机）或 0.0.0.0"
            "（所有网卡）。",
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(where)
        except OSError as exc:
            raise _bind_error(host, port, exc) from None


def _bind_error(host: str, port: int, exc: OSError) -> HealthwatchError:
    if exc.errno == errno.EADDRINUSE:
        return HealthwatchError(
            f"Port {port} on {host} is already in use (another healthwatch or another "
            f"program). Stop it, or choose another port: --port {port + 1}.",
            f"{host} 的端口 {port} 已被占用（另一个 healthwatch 或其他程序）。请先停止它，"
            f"或换一个端口：--port {port + 1}。",
        )
    if exc.errno == errno.EACCES:
        return HealthwatchError(
            f"No permission to listen on port {port} (ports below 1024 need root); use --port "
            "8000 or another port above 1024.",
            f"无权监听端口 {port}（1024 以下的端口需要 root 权限）；请用 --port 8000 或其他大于 "
            "1024 的端口。",
        )
    return HealthwatchError(
        f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
        f"无法监听 {host}:{port}：{exc.strerror or exc}。",
    )


def run_server(
    url: str,
    host: str,
    port: int,
    *,
    workers: int = 1,
    secure_cookies: bool = False,
    json_stdout: bool = False,
) -> None:
    """Serve database ``url`` until Ctrl-C (or SIGTERM), then say so and return.

    The address line is flushed at once so that a script or test reading the output through a
    pipe sees it before the first request. With ``json_stdout`` (``demo --json``: stdout holds
    the JSON and nothing else) the messages go to stderr.
    """
    out = err_console if json_stdout else console
    import os

    import uvicorn

    from healthwatch.web.workers import balanced, run_workers

    check_port(host, port)
    os.environ["HEALTHWATCH_DB"] = url
    if secure_cookies:
        os.environ["HEALTHWATCH_SECURE_COOKIES"] = "1"
    out.print(
        f"healthwatch 网页服务 / web: {address(host, port)}  接口文档 / API docs: "
        f"{address(host, port)}api/docs  （按 Ctrl-C 停止 / press Ctrl-C to stop）",
        highlight=False,
        soft_wrap=True,
    )
    sys.stdout.flush()
    options: dict[str, Any] = dict(
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="warning",
        timeout_graceful_shutdown=10,
        access_log=False,
        # httptools (a declared dependency) halves the CPU per request against h11. The event
        # loop is asyncio's, not uvloop: under load uvloop served some connections 0.3-1 s
        # late while others were answered (p99 300 ms at 50 connections on one worker, against
        # 47 ms with asyncio, which was also faster: benchmarks/web.py, docs/web.md#speed)
        loop="asyncio",
        http="httptools",
    )
    try:
        if workers > 1 and balanced():  # a listening socket per worker (see web/workers.py)
            run_workers(uvicorn.Config("healthwatch.web:app_from_environment", **options), workers)
        else:
            uvicorn.run("healthwatch.web:app_from_environment", **options)
    except SystemExit as exc:  # uvicorn exits 1 when it could not start (it logged why)
        if exc.code:
            raise HealthwatchError(
                f"The web server could not start on {host}:{port} (see the message above).",
                f"网页服务无法在 {host}:{port} 启动（原因见上方信息）。",
            ) from None
    out.print("healthwatch 网页服务已停止 / web server stopped", highlight=False)
    sys.stdout.flush()


@friendly_errors
def serve(
    host: str = HostOption,
    port: int = PortOption,
    db: str | None = DbOption,
    workers: int = WorkersOption,
    secure_cookies: bool = typer.Option(
        False,
        "--secure-cookies",
        help="总是设置 Secure Cookie（HTTPS 之后）/ always mark cookies Secure (behind TLS)",
    ),
) -> None:
    """启动网页与接口服务 / Serve the web pages and the REST API (/api/v1, docs at /api/docs)."""
    from healthwatch.store.db import resolve_url, session_scope, shown_url

    url = resolve_url(db)
    # Refuse a missing or old database before listening (reading never creates or migrates it:
    # `healthwatch demo` or `healthwatch db upgrade` prepares one), not on the first request.
    with session_scope(url):
        pass
    check_port(host, port)
    console.print(f"数据库 / database: {shown_url(url)}", highlight=False, soft_wrap=True)
    run_server(url, host, port, workers=workers, secure_cookies=secure_cookies)
