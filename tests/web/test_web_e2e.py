"""End to end in headless Debian chromium (Playwright): log in, plan overview, language, map.

The server is the real ``healthwatch serve`` in a subprocess. Screenshots are written to the
test's tmp dir (and copied to ``$HEALTHWATCH_SCREENSHOTS`` when set, which is how docs/web.md's
pictures are made). Skipped locally when chromium or Playwright is missing; under CI=true that
is a failure instead (see ``_webhelp.require_chromium``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _webhelp import (
    PASSWORD,
    browser_page,
    screenshot,
    serving_populated,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_populated(tmp_path_factory.mktemp("e2e"), ("admin", "viewer")) as base:
        yield base


@pytest.fixture
def page(server: str, tmp_path: Path) -> Iterator[object]:
    with browser_page() as pg:
        yield pg


def _log_in(pg, server: str, username: str, tmp_path: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    pg.goto(f"{server}/plans")
    assert "/login" in pg.url
    if tmp_path is not None:
        screenshot(pg, tmp_path, "login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("#login-button")
    pg.wait_for_url(f"{server}/plans")


def test_log_in_overview_language_and_map(page, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg = page
    pg.goto(f"{server}/plans")
    pg.fill("input[name=username]", "viewer")
    pg.fill("input[name=password]", "Wrong#pass1")
    pg.click("#login-button")
    assert "用户名或密码错误" in pg.inner_text("#login-error")
    pg.errors.clear()  # the browser logs the refused login's 401 as a console error

    _log_in(pg, server, "viewer", tmp_path)
    assert pg.inner_text("h1") == "规划指标总览"
    assert pg.inner_text("#current-user") == "viewer"
    rows = pg.locator("#indicators tbody tr")
    assert rows.count() > 10
    assert rows.first.get_attribute("class") == "nature-binding"
    pg.wait_for_selector("#nature-chart canvas")
    pg.wait_for_timeout(1200)  # let the chart finish its entry animation
    screenshot(pg, tmp_path, "plans-zh")

    pg.click("#lang-switch")
    pg.wait_for_load_state()
    assert pg.inner_text("h1") == "Plan indicators overview"
    assert pg.locator("html").get_attribute("lang") == "en"
    assert "binding" in pg.inner_text("#indicators tbody tr >> nth=0")
    pg.wait_for_timeout(1200)
    screenshot(pg, tmp_path, "plans-en")

    pg.goto(f"{server}/findings")
    assert pg.inner_text("h1") == "Plan consistency findings"
    assert pg.locator("#findings tbody tr").count() > 0
    screenshot(pg, tmp_path, "findings-en")

    pg.click("#lang-switch")
    pg.goto(f"{server}/map")
    pg.wait_for_selector("#region-map canvas")
    pg.wait_for_function("() => document.querySelectorAll('#map-table tbody tr').length === 14")
    assert pg.inner_text("#map-crumbs") == "辽宁省"
    pg.wait_for_timeout(800)  # let the map finish its entry animation
    screenshot(pg, tmp_path, "map-province")

    # Click Anshan on the map itself: its position from the chart's own projection.
    box = pg.locator("#region-map").bounding_box()
    x, y = pg.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('region-map'))"
        ".convertToPixel({seriesIndex: 0}, [122.95, 40.85])"
    )
    pg.mouse.click(box["x"] + x, box["y"] + y)
    pg.wait_for_function(
        "() => document.getElementById('map-crumbs').textContent.includes('鞍山市')"
    )
    names = pg.locator("#map-table tbody tr td:nth-child(2)").all_inner_texts()
    assert "铁东区" in names and "海城市" in names and len(names) == 7
    pg.wait_for_timeout(800)
    screenshot(pg, tmp_path, "map-anshan")
    pg.click("#map-up")
    pg.wait_for_function("() => document.querySelectorAll('#map-table tbody tr').length === 14")

    pg.goto(f"{server}/access", timeout=180_000)  # first visit may compute the access models
    pg.wait_for_selector("#coverage-map canvas")
    # data-ready (benchmarks/web_pages.py waits for it) comes once the coverage map is drawn
    pg.wait_for_selector("body[data-ready='1']", state="attached", timeout=60_000)
    drawn = pg.evaluate("() => echarts.getInstanceByDom(document.getElementById('coverage-map'))"
                        ".getOption().series.length")  # fmt: skip
    assert drawn == 3 and int(pg.get_attribute("body", "data-ready-ms") or 0) > 0
    assert pg.locator("#ratios tbody tr").count() > 10
    pg.fill("#siting-form input[name=p]", "3")
    pg.click("#siting-form button")
    pg.wait_for_function("() => document.querySelectorAll('#siting-table tbody tr').length === 3")
    pg.locator("#coverage-share").scroll_into_view_if_needed()
    pg.evaluate("() => document.getElementById('coverage-share').scrollIntoView()")
    pg.wait_for_timeout(800)
    screenshot(pg, tmp_path, "access")

    pg.click("header form button")  # log out
    pg.wait_for_url("**/login?reason=logout")
    assert "已安全退出" in pg.inner_text("main")
    assert pg.errors == []  # no script errors, no CSP violations


def test_outbreak_detection_upload(page, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg = page
    csv = tmp_path / "counts.csv"
    rows = (
        ["series,t,count"] + [f"鞍山,{t},{10 + (t % 5)}" for t in range(1, 120)] + ["鞍山,120,60"]
    )
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("series,t,count\na,1,x\n", encoding="utf-8")
    _log_in(pg, server, "viewer")
    pg.goto(f"{server}/surveillance")
    pg.set_input_files("#detect-form input[type=file]", str(bad))
    pg.select_option("#detect-form select[name=method]", "ears_c1")
    pg.click("#detect-form button")
    pg.wait_for_selector("#detect-error:not([hidden])")
    assert "bad.csv" in pg.inner_text("#detect-error") or "输入有误" in pg.inner_text(
        "#detect-error"
    )
    pg.errors.clear()  # the refused upload's 422 is logged by the browser
    pg.set_input_files("#detect-form input[type=file]", str(csv))
    pg.click("#detect-form button")
    pg.wait_for_selector("#detect-table tbody tr")
    assert "ears_c1" in pg.inner_text("#detect-summary")
    assert pg.locator("#detect-table tbody tr.severity-error").count() >= 1
    pg.wait_for_timeout(600)
    screenshot(pg, tmp_path, "surveillance")
    assert pg.errors == []
