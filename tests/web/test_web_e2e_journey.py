"""The demo as a person uses it: `healthwatch demo` from nothing, then the journey in chromium.

`healthwatch demo --port P` builds a new demo database and serves it (the README's main job);
the test reads the printed demo logins and, in headless Debian chromium:

1. Tai'an County's reporter uploads 2025 figures with an error and sees the error row, uploads
   the fixed file and submits;
2. Anshan's city reporter approves, and the city's map shows the county's new infant mortality
   (read before the upload from the same map);
3. the analyst downloads Anshan's evaluation report;
4. Anshan's duty officer acknowledges the planted Tiedong alert;
5. the language switches to English and the pages follow.

Every figure is read from the demo database before it is changed, never typed in. Screenshots go
to the test's tmp dir (and ``$HEALTHWATCH_SCREENSHOTS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _webhelp import browser_page, require_chromium, screenshot
from conftest import running_demo

pytestmark = pytest.mark.slow
COUNTY, CITY, YEAR = "210321", "210300", "2025"  # Tai'an County, Anshan
PLAN = "liaoning-2021-2025"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], str]]:
    """(address, demo passwords, database) of a running `healthwatch demo --port P`."""
    require_chromium()
    folder = tmp_path_factory.mktemp("journey")
    db = str(folder / "demo.sqlite")
    with running_demo(db, folder, start_s=900) as run:
        yield run.base, run.passwords, db


def _log_in(pg: Any, base: str, username: str, password: str, target: str) -> None:
    pg.goto(f"{base}{target}")
    if "/login" in pg.url:
        pg.fill("input[name=username]", username)
        pg.fill("input[name=password]", password)
        pg.click("#login-button")
        pg.wait_for_url(f"{base}{target}")


def _log_out(pg: Any) -> None:
    pg.click("header form button")
    pg.wait_for_url("**/login?reason=logout")


def _map_value(pg: Any, base: str) -> float:
    """Tai'an's infant mortality in 2025 as the map's table shows it, Anshan drilled down."""
    pg.goto(f"{base}/map?region={CITY}&plan={PLAN}&indicator=infant_mortality&year={YEAR}")
    row = f"#map-table tbody tr[data-adcode='{COUNTY}']"
    pg.wait_for_function(
        f'() => {{ const r = document.querySelector("{row}");'
        " return r && document.getElementById('map-value-head').textContent.includes('2025'); }"
    )
    return float(pg.locator(f"{row} td:nth-child(3)").inner_text())


def _stored(db: str, element: str) -> float:
    from healthwatch.services.data import current_values
    from healthwatch.users import LOCAL_ADMIN

    frame = current_values(db, actor=LOCAL_ADMIN, region=COUNTY, period=YEAR)
    return float(frame.loc[frame["element"] == element, "value"].iloc[0])


def test_the_demo_journey(demo: tuple[str, dict[str, str], str], tmp_path: Path) -> None:
    base, passwords, db = demo
    deaths, births = _stored(db, "infant_deaths"), _stored(db, "live_births")
    new_deaths = max(deaths - 2, 0)  # fewer: under-five deaths must stay >= infant deaths
    before = pytest.approx(deaths / births * 1000, rel=1e-3)  # shown with 4 digits
    after = pytest.approx(new_deaths / births * 1000, rel=1e-3)
    assert abs(deaths - new_deaths) / births * 1000 > 0.01
    with browser_page() as pg:
        # the city's map before: Tai'an's infant mortality in 2025 from the demo's figures
        anshan = passwords["demo-anshan"]
        _log_in(pg, base, "demo-anshan", anshan, f"/data?period={YEAR}&region={CITY}")
        assert _map_value(pg, base) == before
        _log_out(pg)

        # 1. the county reporter: upload with an error, see it, fix it, submit
        _log_in(pg, base, "demo-taian", passwords["demo-taian"], f"/data?period={YEAR}")
        bad = tmp_path / "taian-2025.csv"
        bad.write_text(
            "region,period,element,value,comment\n"
            f"{COUNTY},{YEAR},infant_deaths,{new_deaths:g},县妇幼保健院复核\n"
            f"{COUNTY},{YEAR},live_births,一千九百,\n",
            encoding="utf-8",
        )
        pg.set_input_files("#upload-file", str(bad))
        with pg.expect_navigation():
            pg.click("#upload-button")
        errors = [r.split("\t") for r in pg.locator("#error-report tbody tr").all_inner_texts()]
        assert [(e[0], e[1], e[2]) for e in errors] == [("taian-2025.csv", "3", "value")]
        screenshot(pg, tmp_path, "journey-error")
        assert _stored(db, "infant_deaths") == deaths  # refused whole: nothing written
        pg.errors.clear()  # the browser logs the refused upload's 422
        good = tmp_path / "fixed" / "taian-2025.csv"
        good.parent.mkdir()
        good.write_text(
            bad.read_text(encoding="utf-8").replace("一千九百", f"{births:g}"),
            encoding="utf-8",
        )
        pg.set_input_files("#upload-file", str(good))
        with pg.expect_navigation():
            pg.click("#upload-button")
        assert pg.locator("#import-result").count() == 1
        assert pg.locator("#error-report").count() == 0
        with pg.expect_navigation():
            pg.click(f'#approval-queue tr[data-region="{COUNTY}"] .wf-submit')
        assert "已上报" in pg.inner_text("#data-notice")
        _log_out(pg)

        # 2. the city reporter approves; the map shows the new value
        _log_in(pg, base, "demo-anshan", anshan, f"/data?period={YEAR}&region={CITY}")
        row = pg.locator(f'#approval-queue tr[data-region="{COUNTY}"]')
        with pg.expect_navigation():
            row.locator(".wf-approve").click()
        assert "已审核" in pg.inner_text(f'#approval-queue tr[data-region="{COUNTY}"]')
        assert _map_value(pg, base) == after
        pg.wait_for_timeout(800)
        screenshot(pg, tmp_path, "journey-map")
        _log_out(pg)

        # 3. the analyst downloads Anshan's evaluation report
        analyst = passwords["demo-analyst"]
        _log_in(pg, base, "demo-analyst", analyst, "/evaluations?plan=anshan-2021-2025")
        with pg.expect_download() as info:
            pg.click("a.report-link[data-format=html][data-lang=zh]")
        report = tmp_path / info.value.suggested_filename
        info.value.save_as(report)
        assert "婴儿死亡率" in report.read_text(encoding="utf-8")
        _log_out(pg)

        # 4. the duty officer acknowledges the planted Tiedong alert
        _log_in(pg, base, "demo-duty", passwords["demo-duty"], "/warning")
        tiedong = pg.locator("#alerts tbody tr", has_text="鞍山市铁东区").first  # 210302, by name
        with pg.expect_navigation():
            tiedong.locator("a").click()
        pg.fill("#alert-actions textarea[name=note]", "已电话联系铁东区疾控核实")
        with pg.expect_navigation():
            pg.click("#alert-actions button[data-action=acknowledge]")
        assert pg.inner_text("#alert-status") == "已签收"
        screenshot(pg, tmp_path, "journey-alert")

        # 5. English, everywhere
        pg.click("#lang-switch")
        pg.wait_for_load_state()
        assert pg.locator("html").get_attribute("lang") == "en"
        assert pg.inner_text("#alert-status") == "Acknowledged"
        pg.goto(f"{base}/data?period={YEAR}&region={CITY}")
        assert "approved" in pg.inner_text(f'#approval-queue tr[data-region="{COUNTY}"]')
        assert pg.errors == []  # no script errors, no CSP violations on any page
