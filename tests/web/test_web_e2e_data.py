"""End to end in headless Debian chromium (Playwright): indicator data from upload to approval.

A county reporter uploads a CSV with errors and sees the error rows, uploads the fixed file and
submits; the city reporter approves; the value is in the values table and in
``/api/v1/data/aggregate``; the page switches to English; the history page shows the version.
The server is the real ``healthwatch serve`` in a subprocess. Screenshots go to the test's tmp
dir (and ``$HEALTHWATCH_SCREENSHOTS`` when set, as for docs/web.md). Skipped locally without
chromium or Playwright; a failure under CI=true (``_webhelp.require_chromium``).
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
PERIOD = "2026"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_populated(tmp_path_factory.mktemp("e2e-data"), ("tiedong", "anshan")) as base:
        yield base


@pytest.fixture
def page(server: str) -> Iterator[object]:
    with browser_page() as pg:
        yield pg


def _log_in(pg, server: str, username: str, target: str) -> None:  # type: ignore[no-untyped-def]
    pg.goto(f"{server}{target}")
    assert "/login" in pg.url
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("#login-button")
    pg.wait_for_url(f"{server}{target}")


def _upload(pg, path: Path) -> None:  # type: ignore[no-untyped-def]
    pg.set_input_files("#upload-file", str(path))
    with pg.expect_navigation():
        pg.click("#upload-button")


def test_upload_fix_submit_approve_and_read_back(page, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg = page
    bad = tmp_path / "births.csv"
    bad.write_text(
        "region,period,element,value,comment\n"
        f"210302,{PERIOD},live_births,1180,\n"
        f"210302,{PERIOD},deliveries,一千,\n"
        f"210302,{PERIOD},infant_deathz,4,铁东区妇幼保健院核实\n",
        encoding="utf-8",
    )
    _log_in(pg, server, "tiedong", f"/data?period={PERIOD}")
    assert pg.inner_text("h1") == "指标数据填报与审核"
    _upload(pg, bad)
    rows = pg.locator("#error-report tbody tr")
    assert rows.count() >= 2
    cells = [r.split("\t") for r in rows.all_inner_texts()]
    assert {(c[0], c[1], c[2]) for c in cells} >= {
        ("births.csv", "3", "value"),
        ("births.csv", "4", "element"),
    }
    pg.locator("#import-report").scroll_into_view_if_needed()
    screenshot(pg, tmp_path, "data-error")
    pg.errors.clear()  # the refused upload's 422 is logged by the browser

    good = tmp_path / "fixed" / "births.csv"
    good.parent.mkdir()
    good.write_text(
        bad.read_text(encoding="utf-8").replace("一千", "1172").replace("deathz", "deaths"),
        encoding="utf-8",
    )
    _upload(pg, good)
    assert "3 新增" in pg.inner_text("#import-result")
    assert pg.locator("#values tbody tr").count() == 3
    screenshot(pg, tmp_path, "data-imported")
    with pg.expect_navigation():
        pg.click('#approval-queue tr[data-region="210302"] .wf-submit')
    assert "已上报" in pg.inner_text("#data-notice")
    assert pg.locator(".wf-approve").count() == 1  # a county reporter may approve its own
    pg.click("header form button")  # log out
    pg.wait_for_url("**/login?reason=logout")

    _log_in(pg, server, "anshan", f"/data?period={PERIOD}&region=210300")
    row = pg.locator('#approval-queue tr[data-region="210302"]')
    assert "已上报" in row.inner_text()
    with pg.expect_navigation():
        row.locator(".wf-approve").click()
    assert "已审核" in pg.inner_text("#data-notice")
    assert "已审核" in pg.inner_text('#approval-queue tr[data-region="210302"]')
    births = pg.locator('#values tr[data-region="210302"][data-element="live_births"]')
    assert "1180" in births.inner_text() and "已审核" in births.inner_text()
    screenshot(pg, tmp_path, "data-approved")
    answer = pg.request.get(
        f"{server}/api/v1/data/aggregate?indicator=infant_mortality&period={PERIOD}&region=210300"
    )
    city = next(r for r in answer.json() if r["region"] == "210300")
    assert city["numerator"] == 4 and city["denominator"] == 1180
    assert city["counties_reported"] == 1

    pg.click("#lang-switch")
    pg.wait_for_load_state()
    assert pg.locator("html").get_attribute("lang") == "en"
    pg.goto(f"{server}/data?period={PERIOD}&region=210300")  # the switch keeps the path only
    assert pg.inner_text("h1") == "Indicator data: reporting and approval"
    assert "approved" in pg.inner_text('#approval-queue tr[data-region="210302"]')
    screenshot(pg, tmp_path, "data-en")
    with pg.expect_navigation():
        births.locator("a").click()
    assert pg.locator('#versions tr[data-element="live_births"]').count() == 1
    assert "tiedong" in pg.inner_text("#versions")
    assert pg.locator(".revert-form").count() == 0  # approved and locked: no revert
    screenshot(pg, tmp_path, "data-history")
    assert pg.errors == []  # no script errors, no CSP violations
