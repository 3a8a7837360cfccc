"""End to end in headless chromium: a duty officer answers an alert of the early-warning platform.

Log in as Anshan's duty officer, see the alerts list and the map, open the alert, see the
evidence charts, acknowledge it with a note and see the status change, switch language. The
server is the real ``healthwatch serve``; screenshots go to the test's tmp dir and to
``$HEALTHWATCH_SCREENSHOTS`` when set (``HEALTHWATCH_SCREENSHOTS=docs/web`` makes docs/web.md's).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _warninghelp import ANSHAN, SHENYANG, prepare
from _webhelp import PASSWORD, browser_page, require_chromium, screenshot, serving

from healthwatch.store.db import dispose_engine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    folder = tmp_path_factory.mktemp("e2e-warning")
    db = str(folder / "e2e.sqlite")
    prepare(f"sqlite:///{db}", folder, ("admin", "duty"))
    dispose_engine(f"sqlite:///{db}")
    with serving(db, folder) as base:
        yield base


def test_duty_officer_acknowledges_an_alert(server: str, tmp_path: Path) -> None:
    with browser_page() as pg:
        pg.goto(f"{server}/warning")
        assert "/login" in pg.url
        pg.fill("input[name=username]", "duty")
        pg.fill("input[name=password]", PASSWORD)
        pg.click("#login-button")
        pg.wait_for_url(f"{server}/warning")

        # the list: only Anshan's alert, with its level colour and status
        assert pg.inner_text("h1") == "多点触发预警"
        rows = pg.locator("#alerts tbody tr")
        assert rows.count() == 1
        # named by county and city, not by a bare adcode
        assert "鞍山市铁东区" in rows.first.inner_text()
        assert "沈阳市和平区" not in rows.first.inner_text()
        assert SHENYANG not in rows.first.inner_text()
        assert "新预警" in pg.inner_text("#alerts tbody tr td.status")
        # the map: drawn, with Anshan's county coloured
        pg.wait_for_selector("#warning-map[data-ready='1'] canvas")
        assert "鞍山市铁东区" in _map_tooltip(pg, "鞍山市铁东区")
        pg.wait_for_timeout(1000)
        screenshot(pg, tmp_path, full_page=True, name="warning-list")

        pg.click("#alerts tbody tr a")
        pg.wait_for_url("**/warning/alerts/*")
        assert pg.inner_text("#alert-status") == "新预警"
        charts = pg.locator("#evidence-charts .chart")
        assert charts.count() == 2
        pg.wait_for_selector("#evidence-0[data-ready='1'] canvas")
        pg.wait_for_selector("#evidence-1[data-ready='1'] canvas")
        assert pg.locator("#alert-actions button").all_inner_texts() == ["签收"]
        pg.wait_for_timeout(1000)
        screenshot(pg, tmp_path, full_page=True, name="warning-alert")

        pg.fill("#alert-actions textarea[name=note]", "已电话联系铁东区疾控，正在核实")
        pg.click("#alert-actions button[data-action=acknowledge]")
        pg.wait_for_url("**done=acknowledge")
        assert pg.inner_text("#alert-status") == "已签收"
        assert "已电话联系铁东区疾控" in pg.inner_text("#events")
        assert pg.locator("#alert-actions button").all_inner_texts() == ["开始调查核实"]

        pg.click("#lang-switch")
        pg.wait_for_load_state()
        assert pg.inner_text("#alert-status") == "Acknowledged"
        assert pg.locator("html").get_attribute("lang") == "en"
        assert "Evidence per source" in pg.inner_text("main")
        pg.wait_for_selector("#evidence-0[data-ready='1'] canvas")
        pg.wait_for_timeout(1000)
        screenshot(pg, tmp_path, full_page=True, name="warning-alert-en")
        pg.goto(f"{server}/warning?status=all")
        assert "Acknowledged" in pg.inner_text("#alerts tbody tr td.status")
        assert f"鞍山市铁东区 ({ANSHAN})" in pg.inner_text("#alerts tbody tr td.regions")
        pg.wait_for_selector("#warning-map[data-ready='1'] canvas")
        assert f"鞍山市铁东区 ({ANSHAN})" in _map_tooltip(pg, "鞍山市铁东区")
        assert pg.errors == []  # no script errors, no CSP violations


def _map_tooltip(pg: Any, county: str) -> str:
    """The text of the alert map's tooltip shown for ``county`` (as hovering would show it)."""
    pg.evaluate(
        """name => echarts.getInstanceByDom(document.getElementById("warning-map"))
             .dispatchAction({ type: "showTip", seriesIndex: 0, name: name })""",
        county,
    )
    tip = pg.locator("#warning-map > div").filter(has_text=county).last
    tip.wait_for(state="visible")
    return str(tip.inner_text())
