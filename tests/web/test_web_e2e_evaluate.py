"""End to end in headless Debian chromium: the evaluation pages on the demo's indicator data.

Plan overview with status colours, an indicator's chart and ranked regions, the map coloured by
an indicator (value, then status) and drilled down to a city, a report download, the language
switch. The server is the real ``healthwatch serve`` on a database holding the built-in data and
the demo indicator panel (``load_demo_data``, as ``healthwatch demo`` loads it). Screenshots go
to the test's tmp dir and to ``$HEALTHWATCH_SCREENSHOTS`` when set (docs/web.md's pictures).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from _webhelp import (
    PASSWORD,
    browser_page,
    screenshot,
    serving_populated,
)

from healthwatch.services.data import load_demo_data
from healthwatch.users import LOCAL_ADMIN

LIAONING, ANSHAN = "liaoning-2021-2025", "anshan-2021-2025"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("e2e-eval")
    demo = functools.partial(load_demo_data, actor=LOCAL_ADMIN)
    with serving_populated(folder, ("analyst",), demo) as base:
        yield base


def test_evaluation_pages(server: str, tmp_path: Path) -> None:
    # the first evaluation of the province takes seconds
    with browser_page(timeout_ms=120_000) as pg:
        _walk(pg, server, tmp_path)


def _walk(pg, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg.goto(f"{server}/plans?plan={LIAONING}")
    pg.fill("input[name=username]", "analyst")
    pg.fill("input[name=password]", PASSWORD)
    pg.click("#login-button")
    pg.wait_for_selector("#indicators")

    # plan overview: latest value and a coloured status per indicator, binding first
    rows = pg.locator("#indicators tbody tr")
    assert rows.first.get_attribute("class") == "nature-binding"
    gps = pg.locator("#indicators tr[data-code=gps_per_10000]")
    badge = gps.locator(".status")
    assert badge.inner_text() == "滞后"
    colour = badge.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(249, 168, 37)"  # the reports' lagging colour
    assert "(2025)" in gps.locator("td.latest").inner_text()
    assert pg.locator("#indicators .status").count() >= 20
    pg.wait_for_timeout(800)
    screenshot(pg, tmp_path, "eval-plans-status")

    # indicator page: the chart and the cities ranked
    gps.locator("a").click()
    pg.wait_for_url(f"**/indicators/{LIAONING}/gps_per_10000")
    pg.select_option("select[name=as_of]", "2023")
    pg.click("form.toolbar button")
    pg.wait_for_url("**as_of=2023**")
    pg.wait_for_selector("#indicator-chart canvas")
    pg.wait_for_selector("#regions-chart canvas")
    assert pg.locator("#regions-ranked tbody tr").count() == 14
    assert pg.locator("#indicator-status").inner_text() == "滞后"
    pg.wait_for_timeout(1200)
    screenshot(pg, tmp_path, "eval-indicator")

    # map: coloured by the indicator's value, then its status; drill down to Anshan
    pg.goto(f"{server}/map")
    pg.wait_for_function("() => document.querySelectorAll('#map-table tbody tr').length === 14")
    pg.select_option("#map-plan", LIAONING)
    pg.select_option("#map-year", "2023")
    pg.select_option("#map-indicator", "gps_per_10000")
    pg.wait_for_function(
        "() => document.querySelectorAll('#map-table tbody tr[data-status]').length === 14"
    )
    assert "2023" in pg.inner_text("#map-value-head")
    pg.select_option("#map-by", "status")
    pg.wait_for_function(
        "() => { const c = echarts.getInstanceByDom(document.getElementById('region-map'));"
        " return c && c.getOption().visualMap[0].type === 'piecewise'; }"
    )
    pg.wait_for_timeout(1000)
    screenshot(pg, tmp_path, "eval-map-status")
    pg.click("#map-table tbody tr[data-adcode='210300']")
    pg.wait_for_function(
        "() => document.getElementById('map-crumbs').textContent.includes('鞍山市')"
    )
    pg.wait_for_function(
        "() => document.querySelectorAll('#map-table tbody tr[data-status]').length === 7"
    )
    names = pg.locator("#map-table tbody tr td:nth-child(2)").all_inner_texts()
    assert "铁东区" in names and "海城市" in names
    pg.wait_for_timeout(1000)
    screenshot(pg, tmp_path, "eval-map-anshan")
    pg.click("#map-up")
    pg.wait_for_function("() => document.querySelectorAll('#map-table tbody tr').length === 14")

    # evaluations: download the report, run an evaluation, switch the language
    pg.goto(f"{server}/evaluations?plan={ANSHAN}&as_of=2024")
    with pg.expect_download() as info:
        pg.click("a.report-link[data-format=html][data-lang=zh]")
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.name == "鞍山市卫生健康事业发展“十四五”规划-2024-zh.html"  # filename* (UTF-8)
    assert "人均预期寿命" in saved.read_text(encoding="utf-8")
    pg.click("#run-button")
    pg.wait_for_selector("#saved")
    assert pg.locator("#evaluations tbody tr[data-id]").count() == 1
    screenshot(pg, tmp_path, "eval-evaluations")
    pg.click("#lang-switch")
    pg.wait_for_load_state()
    assert pg.inner_text("h1") == "Evaluations and reports"
    assert "Report downloads" in pg.inner_text("main")
    pg.goto(f"{server}/plans?plan={LIAONING}")
    assert pg.locator("#indicators tr[data-code=gps_per_10000] .status").inner_text() == "lagging"
    screenshot(pg, tmp_path, "eval-plans-status-en")
    assert pg.errors == []  # no script errors, no CSP violations
