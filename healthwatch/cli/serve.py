"""`healthwatch serve`: the web pages and the REST API (uvicorn)."""

from __future__ import annotations

import typer

from healthwatch.cli._common import DbOption, console, friendly_errors


@friendly_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址 / address to listen on"),
    port: int = typer.Option(8000, "--port", help="端口 / port"),
    db: str | None = DbOption,
    workers: int = typer.Option(1, "--workers", help="进程数 / worker processes"),
    secure_cookies: bool = typer.Option(
        False,
        "--secure-cookies",
        help="总是设置 Secure Cookie（HTTPS 之后）/ always mark cookies Secure (behind TLS)",
    ),
) -> None:
    """启动网页与接口服务 / Serve the web pages and the REST API (/api/v1, docs at /api/docs)."""
    import os

    import uvicorn

    from healthwatch.store.db import resolve_url, session_scope, shown_url

    url = resolve_url(db)
    # Refuse a missing or old database before listening (reading never creates or migrates it:
    # `healthwatch demo` or `healthwatch db upgrade` prepares one), not on the first request.
    with session_scope(url):
        pass
    os.environ["HEALTHWATCH_DB"] = url
    if secure_cookies:
        os.environ["HEALTHWATCH_SECURE_COOKIES"] = "1"
    console.print(
        f"healthwatch 网页服务 / web: http://{host}:{port}/  接口文档 / API docs: "
        f"http://{host}:{port}/api/docs  数据库 / database: {shown_url(url)}",
        highlight=False,
    )
    uvicorn.run(
        "healthwatch.web:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="warning",
    )
