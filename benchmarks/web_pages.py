"""Every page interactive in <= 1 s in headless chromium, on the demo database.

    python benchmarks/web_pages.py [--db demo.sqlite] [--repeat 5] [--lang zh|en]

Uses a database made by ``healthwatch demo --no-serve`` (``--db``; without it the benchmark runs
that command into a temporary folder), starts the real ``healthwatch serve``, logs in through
the login page in Debian's chromium (Playwright, headless, ``/usr/bin/chromium``) and opens
every page the app serves (the navigation, ``healthwatch.web.pages.NAV``, and the pages
listed in ``EXTRA_PAGES``: data, history, indicator, projects, evaluations, an alert, users;
it refuses to run when the app serves a page neither names) and the login page ``--repeat``
times each, after one unmeasured round that starts the browser and fills the server's caches;
the measured visits start from a fresh browser context (empty cache). For each page it prints,
from the browser's own clock (milliseconds since navigation start), the time to DOMContentLoaded and
the time until the page's charts and maps are drawn (``<body data-ready>``, set by
``static/app.js`` when everything drawn on load has rendered), first visit (browser cache cold
for that page) and median of the others, against the 1 s target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import web as api_bench  # noqa: E402  (benchmarks/web.py: demo database, server, bench user)

TARGET_MS = 1000.0
CHROMIUM = "/usr/bin/chromium"

_TIMES = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return [nav.domContentLoadedEventEnd, Number(document.body.dataset.readyMs)];
}"""


#: Every page the app serves beyond the navigation, with the query or path parameters that
#: show it filled (``{alert}``: the demo's newest alert). Checked against the app's routes.
EXTRA_PAGES = [
    "/data?period=2024&region=210300",
    "/data/history?region=210302&period=2024",
    "/indicators/liaoning-2021-2025/infant_mortality",
    "/projects",
    "/evaluations",
    "/warning/alerts/{alert}",
    "/users",
]
#: GET routes that are not pages: redirects, downloads, API documentation.
NOT_PAGES = {"/", "/lang/{code}", "/login", "/data/template", "/api/docs"}


def _route_of(page: str) -> str:
    """The route template a page URL is served by (``/indicators/{plan_id}/{code}`` ...)."""
    import re

    path = page.split("?", 1)[0]
    path = re.sub(r"^/indicators/[^/]+/[^/]+$", "/indicators/{plan_id}/{code}", path)
    return re.sub(r"^/warning/alerts/[^/]+$", "/warning/alerts/{alert_id}", path)


def pages(db: str) -> list[str]:
    """The navigation's pages (``healthwatch.web.pages.NAV``, so pages added there are measured
    too) and :data:`EXTRA_PAGES`; refuses to run when the app serves a page left out here."""
    from fastapi.routing import APIRoute

    from healthwatch.web import create_app
    from healthwatch.web.pages import NAV

    listed = [href for href, _ in NAV] + EXTRA_PAGES
    routes = [_route_of(p) for p in listed]
    if len(set(routes)) != len(routes):
        raise SystemExit(f"a page is listed twice: {sorted(routes)}")
    served = {
        r.path
        for r in create_app(db).routes
        if isinstance(r, APIRoute) and "GET" in (r.methods or ()) and not r.path.startswith("/api/")
    } - NOT_PAGES
    missing = served - set(routes)
    if missing:
        raise SystemExit(f"pages not measured (add them to EXTRA_PAGES): {sorted(missing)}")
    alert = api_bench.newest_alert(db)
    return [
        p.replace("{alert}", str(alert)) for p in listed if alert is not None or "{alert}" not in p
    ]


def measure(page: object, url: str) -> tuple[float, float]:
    """(DOMContentLoaded, data-ready) in ms since navigation start, for one visit of ``url``."""
    page.goto(url, wait_until="domcontentloaded")  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-ready]", state="attached", timeout=60_000)  # type: ignore[attr-defined]
    dcl, ready = page.evaluate(_TIMES)  # type: ignore[attr-defined]
    return float(dcl), float(ready)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", help="a database made by `healthwatch demo --no-serve`")
    parser.add_argument("--repeat", type=int, default=5, help="visits per page")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        db = api_bench.demo_copy(args.db, Path(tmp))
        api_bench.add_bench_user(db)
        from healthwatch.services.users import set_role
        from healthwatch.store.db import dispose_engine, session_scope
        from healthwatch.users import LOCAL_ADMIN

        with session_scope(db) as s:  # an administrator, so that the users page is measured too
            set_role(s, LOCAL_ADMIN, api_bench.USER, "admin")
        dispose_engine(db)
        measured = pages(db)
        port = api_bench.free_port()
        proc = api_bench.start_server(db, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()  # warm the browser and the server once (not measured)
                page.goto(f"{base}/login?lang={args.lang}")
                page.fill("input[name=username]", api_bench.USER)
                page.fill("input[name=password]", api_bench.PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/plans**")
                for path in measured:
                    page.goto(base + path)
                    page.wait_for_selector("body[data-ready]", state="attached", timeout=120_000)
                context.clear_cookies()
                context.close()
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()  # a cold browser cache for the measured visits
                login_url = f"{base}/login?lang={args.lang}"
                results = {"/login": [measure(page, login_url) for _ in range(args.repeat)]}
                page.fill("input[name=username]", api_bench.USER)
                page.fill("input[name=password]", api_bench.PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/plans**")
                for path in measured:
                    results[path] = [measure(page, base + path) for _ in range(args.repeat)]
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"healthwatch pages in headless chromium ({CHROMIUM}), {args.repeat} visits per page, "
          f"language {args.lang}, {os.cpu_count()} CPUs, load average {load_avg}; ms since "
          "navigation start")  # fmt: skip
    print(f"{'page':48s} {'DOM first':>10s} {'ready first':>12s} {'DOM median':>11s} "
          f"{'ready median':>13s}  worst/1s")  # fmt: skip
    worst = 0.0
    for path, visits in results.items():
        dcl = [v[0] for v in visits]
        ready = [v[1] for v in visits]
        rest_dcl = statistics.median(dcl[1:] or dcl)
        rest_ready = statistics.median(ready[1:] or ready)
        worst_page = max(ready + dcl)
        worst = max(worst, worst_page)
        print(f"{path:48s} {dcl[0]:10.0f} {ready[0]:12.0f} {rest_dcl:11.0f} {rest_ready:13.0f}  "
              f"{worst_page / TARGET_MS:5.2f}")  # fmt: skip
    verdict = "met" if worst <= TARGET_MS else "NOT met"
    print(f"slowest visit {worst:.0f} ms against the {TARGET_MS:.0f} ms target (ratio "
          f"{worst / TARGET_MS:.2f}): target {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
