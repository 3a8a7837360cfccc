"""The indicator-data API and pages: upload and error report, template, values, workflow,
history and revert, export, aggregation; region-scoped reads and writes through every endpoint.

The rule under test (docs/web.md, services.data.current_values): inside a user's region every
value, drafts included; outside it only approved values. Writes (import, submit, approve,
unlock, revert) only inside the region, by role.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from _webhelp import PASSWORD, assert_error, bearer, login_form, populate
from fastapi.testclient import TestClient

from healthwatch.store.db import dispose_engine
from healthwatch.web import create_app

HTML = {"accept": "text/html"}
CJK = re.compile(r"[\u4e00-\u9fff]")
PERIOD = "2026"
TIEDONG, LISHAN = "210302", "210303"  # two counties of Anshan (210300)
GOOD = "region,period,element,value,comment\n" + "".join(
    f"{TIEDONG},{PERIOD},{e},{v},\n"
    for e, v in (("live_births", 1180), ("deliveries", 1172), ("infant_deaths", 4))
)
LISHAN_CSV = "region,period,element,value\n" + "".join(
    f"{LISHAN},{PERIOD},{e},{v}\n"
    for e, v in (("live_births", 2000), ("deliveries", 1990), ("infant_deaths", 10))
)


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """One prepared SQLite file (regions, plans, a user per role); tests copy it."""
    path = tmp_path_factory.mktemp("data-template") / "template.sqlite"
    url = f"sqlite:///{path}"
    tokens = populate(url)
    dispose_engine(url)
    yield path, tokens


@pytest.fixture
def world(
    template_db: tuple[Path, dict[str, str]], tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    """A fresh copy of the prepared database and a client on it."""
    path = tmp_path / "data.sqlite"
    shutil.copy(template_db[0], path)
    url = f"sqlite:///{path}"
    yield TestClient(create_app(url)), template_db[1], url
    dispose_engine(url)


def _upload(
    client: TestClient, token: str, text: str, name: str = "births.csv", **form: str
) -> Any:
    files = {"file": (name, text.encode("utf-8"), "text/csv")}
    return client.post("/api/v1/data/imports", files=files, data=form, headers=bearer(token))


def _post(client: TestClient, token: str, action: str, **body: Any) -> Any:
    return client.post(f"/api/v1/data/{action}", json=body, headers=bearer(token))


def _values(client: TestClient, token: str, **query: Any) -> list[dict[str, Any]]:
    r = client.get("/api/v1/data/values", params=query, headers=bearer(token))
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["values"]
    return rows


def _regions(rows: list[dict[str, Any]]) -> set[str]:
    return {r["region"] for r in rows}


def _county_row(rows: list[dict[str, Any]], region: str) -> dict[str, Any]:
    return next(r for r in rows if r["region"] == region)


# --- the scope rule through every endpoint (SQLite and PostgreSQL) ---------------------------


def test_a_county_reporter_never_reads_or_writes_another_countys_drafts(db_url: str) -> None:
    tokens = populate(db_url)
    client = TestClient(create_app(db_url))
    tie, anshan, dalian = tokens["tiedong"], tokens["anshan"], tokens["dalian"]
    assert _upload(client, tie, GOOD).json()["inserted"] == 3
    r = _upload(client, tokens["admin"], LISHAN_CSV, "lishan.csv")
    assert r.status_code == 200 and r.json()["inserted"] == 3

    # reads: values, export, aggregate, completeness, status, history, template
    assert _regions(_values(client, tie, period=PERIOD)) == {TIEDONG}
    assert _values(client, tie, region=LISHAN) == []
    assert _regions(_values(client, anshan, period=PERIOD)) == {TIEDONG, LISHAN}
    assert _values(client, dalian, period=PERIOD) == []
    r = client.get("/api/v1/data/export", params={"format": "csv"}, headers=bearer(tie))
    assert r.status_code == 200 and TIEDONG in r.text and LISHAN not in r.text
    agg = {"indicator": "infant_mortality", "period": PERIOD, "region": "210300"}
    rows = client.get("/api/v1/data/aggregate", params=agg, headers=bearer(tie)).json()
    city = _county_row(rows, "210300")
    assert city["counties_reported"] == 1 and city["numerator"] == 4  # Lishan's 10 not seen
    rows = client.get("/api/v1/data/aggregate", params=agg, headers=bearer(anshan)).json()
    assert _county_row(rows, "210300")["numerator"] == 14
    assert _county_row(rows, "210300")["counties_reported"] == 2
    comp = {"period": PERIOD, "plan": "anshan-2021-2025", "region": "210300"}
    rows = client.get("/api/v1/data/completeness", params=comp, headers=bearer(tie)).json()
    imr = next(r for r in rows if r["indicator"] == "infant_mortality")
    assert LISHAN in imr["missing_counties"] and TIEDONG not in imr["missing_counties"]
    for path, query in (
        ("status", {"period": PERIOD, "region": LISHAN}),
        ("history", {"period": PERIOD, "region": LISHAN}),
        ("template", {"plan": "anshan-2021-2025", "region": LISHAN, "year": PERIOD}),
        ("export", {"region": LISHAN, "format": "xlsx"}),
    ):
        r = client.get(f"/api/v1/data/{path}", params=query, headers=bearer(tie))
        if path == "export":  # allowed, but only published figures: none yet
            assert r.status_code == 200
            sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
            assert sheet is not None and LISHAN not in {str(c.value) for c in sheet["A"]}
        else:
            assert_error(r, 403, "permission_denied")
    status = client.get("/api/v1/data/status", params={"period": PERIOD}, headers=bearer(tie))
    assert [s["region"] for s in status.json()] == [TIEDONG]

    # writes: import, submit, approve, unlock, revert of Lishan's figures
    r = _upload(client, tie, LISHAN_CSV.replace("2000", "2001"), "lishan.csv")
    assert_error(r, 403, "permission_denied")
    for action, body in (
        ("submit", {"region": LISHAN, "period": PERIOD}),
        ("approve", {"region": LISHAN, "period": PERIOD}),
        ("unlock", {"region": LISHAN, "period": PERIOD, "reason": "x"}),
        (
            "revert",
            {
                "region": LISHAN,
                "period": PERIOD,
                "element": "live_births",
                "version": 1,
                "reason": "x",
            },
        ),
    ):
        assert_error(_post(client, tie, action, **body), 403, "permission_denied")
    assert _county_row(_values(client, anshan, region=LISHAN), LISHAN)["version"] == 1

    # approved figures are published: Dalian's reporter then reads them
    assert _post(client, tie, "submit", region=TIEDONG, period=PERIOD).json()["status"] == (
        "submitted"
    )
    done = _post(client, anshan, "approve", region=TIEDONG, period=PERIOD).json()
    assert done["status"] == "approved" and done["locked"] is True
    assert _regions(_values(client, dalian, period=PERIOD)) == {TIEDONG}
    rows = client.get("/api/v1/data/aggregate", params=agg, headers=bearer(dalian)).json()
    assert _county_row(rows, "210300")["numerator"] == 4
    r = client.get("/api/v1/data/export", params={"region": "210300"}, headers=bearer(dalian))
    assert TIEDONG in r.text and LISHAN not in r.text
    dispose_engine(db_url)


# --- uploads ---------------------------------------------------------------------------------


def test_the_error_report_lists_every_problem_and_nothing_is_written(
    world: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, _ = world
    bad = (
        "region,period,element,value\n"
        f"{TIEDONG},{PERIOD},live_births,abc\n"
        f"{TIEDONG},{PERIOD},no_such_element,5\n"
        f"{TIEDONG},20x6,deliveries,10\n"
        f"{TIEDONG},{PERIOD},infant_deaths,4\n"
    )
    body = assert_error(_upload(client, tokens["tiedong"], bad), 422, "invalid_input")
    lines = {p["line"] for p in body["problems"]}
    assert {2, 3, 4} <= lines and 5 not in lines
    for p in body["problems"]:
        assert p["file"] == "births.csv"  # the user's name, not the server's temporary path
        assert p["field"] and p["reason_zh"] and p["reason_en"]
    assert {"value", "element", "period"} <= {p["field"] for p in body["problems"]}
    assert _values(client, tokens["admin"], region=TIEDONG) == []
    # a dry run validates and writes nothing; then the real import
    r = _upload(client, tokens["tiedong"], GOOD, dry_run="true")
    assert r.status_code == 200 and r.json()["dry_run"] and r.json()["inserted"] == 3
    assert _values(client, tokens["admin"], region=TIEDONG) == []
    assert _upload(client, tokens["tiedong"], GOOD).json()["inserted"] == 3
    again = _upload(client, tokens["tiedong"], GOOD).json()
    assert again["inserted"] == 0 and again["unchanged"] == 3
    r = _upload(client, tokens["tiedong"], GOOD, format="fhir")
    assert_error(r, 422, "invalid_input")
    r = _upload(client, tokens["tiedong"], GOOD, format="pdf")
    assert assert_error(r, 422, "invalid_input")["problems"][0]["field"] == "format"
    assert_error(_upload(client, tokens["viewer"], GOOD), 403, "permission_denied")


def test_dhis2_json_upload_and_export_formats(
    world: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, _ = world
    doc = (
        '{"dataSet": "anshan-2021-2025", "period": "2026", "orgUnit": "210302", "dataValues": ['
        '{"dataElement": "live_births", "value": "1180"}, {"dataElement": "deliveries", '
        '"value": "1172"}, {"dataElement": "infant_deaths", "value": "4"}]}'
    )
    files = {"file": ("births.json", doc.encode(), "application/json")}
    r = client.post(
        "/api/v1/data/imports",
        files=files,
        data={"format": "dhis2-json"},
        headers=bearer(tokens["tiedong"]),
    )
    assert r.status_code == 200 and r.json()["inserted"] == 3, r.text
    for fmt, media in (
        ("csv", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats"),
        ("dhis2-json", "application/json"),
        ("fhir", "application/fhir+json"),
    ):
        r = client.get(
            "/api/v1/data/export",
            params={"format": fmt, "region": TIEDONG},
            headers=bearer(tokens["tiedong"]),
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith(media)
        assert "attachment" in r.headers["content-disposition"]
    r = client.get("/api/v1/data/export", params={"format": "pdf"}, headers=bearer(tokens["admin"]))
    assert_error(r, 422, "invalid_request")
    r = client.get(
        "/api/v1/data/template",
        headers=bearer(tokens["tiedong"]),
        params={"plan": "anshan-2021-2025", "region": TIEDONG, "year": 2027},
    )
    assert r.status_code == 200 and r.content[:2] == b"PK"
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames
    r = client.get(
        "/api/v1/data/template",
        headers=bearer(tokens["tiedong"]),
        params={"plan": "nope", "region": TIEDONG, "year": 2027},
    )
    assert_error(r, 404, "not_found")


# --- workflow ---------------------------------------------------------------------------------


def test_a_city_is_approved_only_when_all_its_counties_are(
    world: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, _ = world
    anshan = tokens["anshan"]
    r = client.get("/api/v1/regions", params={"parent": "210300"}, headers=bearer(anshan))
    counties = [c["adcode"] for c in r.json()]
    assert len(counties) == 7
    csv = "region,period,element,value\n" + "".join(
        f"{c},{PERIOD},live_births,{1000 + i}\n" for i, c in enumerate(counties)
    )
    assert _upload(client, anshan, csv).json()["inserted"] == 7
    assert _post(client, anshan, "submit", region="210300", period=PERIOD).status_code == 200
    for c in counties[:-1]:
        assert _post(client, anshan, "submit", region=c, period=PERIOD).status_code == 200
        assert _post(client, anshan, "approve", region=c, period=PERIOD).status_code == 200
    r = _post(client, anshan, "approve", region="210300", period=PERIOD)
    body = assert_error(r, 400, "refused")
    assert [p["reason_en"] for p in body["problems"]] == [f"{counties[-1]} not approved"]
    # a county reporter cannot approve its city; an analyst without region may
    r = _post(client, tokens["tiedong"], "approve", region="210300", period=PERIOD)
    assert_error(r, 403, "permission_denied")
    assert _post(client, anshan, "submit", region=counties[-1], period=PERIOD).status_code == 200
    assert _post(client, anshan, "approve", region=counties[-1], period=PERIOD).status_code == 200
    done = _post(client, anshan, "approve", region="210300", period=PERIOD)
    assert done.status_code == 200 and done.json()["status"] == "approved"
    rows = client.get(
        "/api/v1/data/status", params={"period": PERIOD, "region": "210300"}, headers=bearer(anshan)
    ).json()
    assert {r["status"] for r in rows} == {"approved"} and len(rows) == 8
    # submitting twice is refused with a clear error, not a crash
    again = _post(client, anshan, "submit", region="210300", period=PERIOD)
    assert_error(again, 400, "refused")


def test_a_locked_period_refuses_import_and_revert_until_an_administrator_unlocks(
    world: tuple[TestClient, dict[str, str], str],
) -> None:
    client, tokens, _ = world
    tie = tokens["tiedong"]
    assert _upload(client, tie, GOOD).status_code == 200
    assert _upload(client, tie, GOOD.replace("1180", "1190")).json()["updated"] == 1
    assert _post(client, tie, "submit", region=TIEDONG, period=PERIOD).status_code == 200
    assert _post(client, tie, "approve", region=TIEDONG, period=PERIOD).status_code == 200
    r = _upload(client, tie, GOOD.replace("1180", "1200"))
    body = assert_error(r, 422, "invalid_input")
    assert any("锁定" in p["reason_zh"] and "lock" in p["reason_en"] for p in body["problems"])
    revert = {
        "region": TIEDONG,
        "period": PERIOD,
        "element": "live_births",
        "version": 1,
        "reason": "核对原始登记",
    }
    assert_error(_post(client, tie, "revert", **revert), 400, "refused")
    unlock = {"region": TIEDONG, "period": PERIOD, "reason": "更正出生数"}
    assert_error(_post(client, tokens["anshan"], "unlock", **unlock), 403, "permission_denied")
    assert_error(
        _post(client, tokens["admin"], "unlock", **{**unlock, "reason": " "}), 400, "refused"
    )
    assert _post(client, tokens["admin"], "unlock", **unlock).json()["status"] == "draft"
    done = _post(client, tie, "revert", **revert)
    assert done.status_code == 200 and done.json()["new_version"] == 3
    assert done.json()["value"] == 1180
    hist = client.get(
        "/api/v1/data/history",
        headers=bearer(tie),
        params={"region": TIEDONG, "period": PERIOD, "element": "live_births"},
    )
    versions = hist.json()["versions"]
    assert [(v["version"], v["old"], v["new"]) for v in versions] == [
        (1, None, 1180),
        (2, 1180, 1190),
        (3, 1190, 1180),
    ]
    assert "核对原始登记" in versions[-1]["reason"] and versions[0]["file"] == "births.csv"
    assert [e["after"]["status"] for e in hist.json()["approvals"]][-1] == "draft"
    unknown = client.get(
        "/api/v1/data/history",
        headers=bearer(tokens["admin"]),
        params={"region": "219999", "period": PERIOD},
    )
    assert "219999" in assert_error(unknown, 404, "not_found")["message_en"]


def test_unsafe_data_requests_with_a_session_need_the_csrf_token(
    world: tuple[TestClient, dict[str, str], str],
) -> None:
    client, _, _ = world
    r = client.post("/api/v1/session", json={"username": "tiedong", "password": PASSWORD})
    csrf = r.json()["user"]["csrf_token"]
    files = {"file": ("births.csv", GOOD.encode(), "text/csv")}
    assert_error(client.post("/api/v1/data/imports", files=files), 403, "permission_denied")
    r = client.post("/api/v1/data/imports", files=files, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["inserted"] == 3
    body = {"region": TIEDONG, "period": PERIOD}
    assert_error(client.post("/api/v1/data/submit", json=body), 403, "permission_denied")
    r = client.post("/api/v1/data/submit", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200


# --- pages ------------------------------------------------------------------------------------


def _login_data(client: TestClient, username: str) -> TestClient:
    return login_form(client, username, "/data")


def _csrf(html: str) -> str:
    found = re.search(r'data-csrf="([0-9a-f]{64})"', html)
    assert found is not None
    return found.group(1)


def _page_upload(
    client: TestClient, csrf: str, text: str, *, follow_redirects: bool = True, **extra: str
) -> Any:
    files = {"file": ("births.csv", text.encode("utf-8"), "text/csv")}
    data = {"csrf_token": csrf, "period": PERIOD, **extra}
    return client.post(
        "/data/upload", files=files, data=data, headers=HTML, follow_redirects=follow_redirects
    )


def test_data_page_upload_report_queue_buttons_and_values(
    world: tuple[TestClient, dict[str, str], str],
) -> None:
    _, _, url = world
    tie = _login_data(TestClient(create_app(url)), "tiedong")
    page = tie.get(f"/data?period={PERIOD}", headers=HTML)
    assert page.status_code == 200 and 'id="upload-form"' in page.text
    csrf = _csrf(page.text)
    r = tie.post(
        "/data/upload",
        files={"file": ("b.csv", b"x", "text/csv")},
        data={"csrf_token": "0" * 64},
        headers=HTML,
    )
    assert r.status_code == 403
    bad = GOOD.replace("1172", "abc").replace("infant_deaths", "infant_deathz")
    r = _page_upload(tie, csrf, bad)
    assert r.status_code == 422 and 'id="error-report"' in r.text
    report = r.text.split('id="error-report"')[1].split("</table>")[0]
    cells = re.findall(r"<tr><td>births.csv</td><td>(\d+)</td><td>(\w+)</td>", report)
    assert {("3", "value"), ("4", "element")} <= set(cells)
    r = _page_upload(tie, csrf, GOOD)
    assert r.status_code == 200 and 'id="import-result"' in r.text
    assert re.search(r"3 行, 3 新增", r.text)
    values = r.text.split('id="values"')[1]
    assert values.count('data-element="') == 3 and "/data/history?region=210302" in values
    queue = r.text.split('id="approval-queue"')[1].split("</table>")[0]
    assert 'class="wf-submit"' in queue and 'class="wf-approve"' not in queue
    # a forged form for another county is refused on the server
    form = {"csrf_token": csrf, "action": "submit", "target": LISHAN, "period": PERIOD}
    r = tie.post("/data/workflow", data=form, headers=HTML)
    assert r.status_code == 403 and "210303" in r.text
    r = tie.post(
        "/data/workflow", data={**form, "target": TIEDONG}, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303
    done = tie.get(r.headers["location"], headers=HTML).text
    assert "已上报。" in done and 'class="wf-approve"' in done  # a reporter approves its own

    # the city reporter sees the county and its approve button; the viewer no forms at all
    city = _login_data(TestClient(create_app(url)), "anshan")
    page = city.get(f"/data?period={PERIOD}&region=210300", headers=HTML).text
    row = page.split(f'data-region="{TIEDONG}" class="status-submitted"')[1].split("</tr>")[0]
    assert 'class="wf-approve"' in row
    form = {
        "csrf_token": _csrf(page),
        "action": "approve",
        "target": TIEDONG,
        "period": PERIOD,
        "region": "210300",
    }
    r = city.post("/data/workflow", data=form, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    r = city.post("/data/workflow", data={**form, "target": "210300"}, headers=HTML)
    assert r.status_code == 400 and "210303" in r.text  # the counties still waiting
    viewer = _login_data(TestClient(create_app(url)), "viewer")
    page = viewer.get(f"/data?period={PERIOD}", headers=HTML).text
    assert "upload-form" not in page and "wf-" not in page
    assert f'data-region="{TIEDONG}"' in page.split('id="values"')[1]

    template = tie.get(
        "/data/template",
        params={"plan": "anshan-2021-2025", "region": TIEDONG, "year": 2027},
        headers=HTML,
    )
    assert template.status_code == 200 and template.content[:2] == b"PK"
    r = tie.get(
        "/data/template",
        params={"plan": "anshan-2021-2025", "region": LISHAN, "year": 2027},
        headers=HTML,
    )
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]


def _imports(url: str) -> int:
    from sqlalchemy import func, select

    from healthwatch.store.data_models import DataImport
    from healthwatch.store.db import session_scope

    with session_scope(url) as session:
        return int(session.execute(select(func.count()).select_from(DataImport)).scalar_one())


def test_an_accepted_upload_answers_with_a_redirect_and_only_its_uploader_sees_it(
    db_url: str,
) -> None:
    """A reload after an upload must not post the file again: an upload that wrote something
    answers 303 to a GET page showing its result, for the uploader only; a refused file and a
    dry run (nothing written, so posting again changes nothing) are answered with the page."""
    populate(db_url, ("tiedong", "anshan"))
    tie = _login_data(TestClient(create_app(db_url)), "tiedong")
    other = _login_data(TestClient(create_app(db_url)), "anshan")
    csrf = _csrf(tie.get(f"/data?period={PERIOD}", headers=HTML).text)

    bad = GOOD.replace("1172", "abc")
    r = _page_upload(tie, csrf, bad, follow_redirects=False)
    assert r.status_code == 422
    report = r.text.split('id="error-report"')[1].split("</table>")[0]
    assert "<tr><td>births.csv</td><td>3</td><td>value</td>" in report

    r = _page_upload(tie, csrf, GOOD, follow_redirects=False, dry_run="1")
    assert r.status_code == 200 and "校验通过" in r.text.split('id="import-result"')[1]
    assert _imports(db_url) == 0

    r = _page_upload(tie, csrf, GOOD, follow_redirects=False)
    assert r.status_code == 303
    where = r.headers["location"]
    assert where.startswith("/data?") and "210302" in where
    assert re.search(r"[?&]import=\d+", where)
    for _ in range(2):
        page = tie.get(where, headers=HTML).text
        assert re.search(r"births.csv \[csv\] —\s+3 行, 3 新增", page)
    assert _imports(db_url) == 1  # reloading the page imported nothing again
    shown = other.get(where, headers=HTML).text  # anshan may read the values, not the result
    assert 'id="import-result"' not in shown and 'id="data-notice"' in shown
    english = tie.get(where.replace("#", "&lang=en#"), headers=HTML).text
    assert "3 rows, 3 inserted" in english


def test_english_counts_after_an_upload_agree_in_number(
    world: tuple[TestClient, dict[str, str], str],
) -> None:
    """ "1 row", not "1 rows": English pages put a count's text in the singular for one."""
    _, _, url = world
    tie = _login_data(TestClient(create_app(url)), "tiedong")
    csrf = _csrf(tie.get(f"/data?period={PERIOD}", headers=HTML).text)
    one = "region,period,element,value\n" + f"{TIEDONG},{PERIOD},live_births,1180\n"
    r = _page_upload(tie, csrf, one, follow_redirects=False)
    chinese = tie.get(r.headers["location"], headers=HTML).text
    assert "1 行, 1 新增" in chinese.split('id="import-result"')[1]
    english = tie.get(r.headers["location"].replace("#", "&lang=en#"), headers=HTML).text
    line = english.split('id="import-result"')[1].split("</p>")[0]
    shown = r"1 row, 1 inserted, 0 updated \(new versions\), 0 unchanged, (\d+) warnings?"
    found = re.search(shown, line)
    assert found is not None and "1 rows" not in line
    assert line.count(" warnings") == (found.group(1) != "1")


def _choices(html: str) -> dict[str, list[str]]:
    """Every region a form of the page offers: each region <select>'s options and each
    hidden region field, by the form's or select's id."""
    out: dict[str, list[str]] = {}
    for sel, body in re.findall(r'<select id="([\w-]*region)"[^>]*>(.*?)</select>', html, re.S):
        out[sel] = re.findall(r'<option value="(\d{6})"', body)
    for form_id, body in re.findall(r'<form[^>]*id="([\w-]+)"(.*?)</form>', html, re.S):
        hidden = re.findall(r'type="hidden" name="region" value="(\d{6})"', body)
        if hidden:
            out[f"{form_id}:hidden"] = hidden
    queue = html.split('id="approval-queue"')[1].split("</table>")[0]
    out["queue"] = re.findall(r'<tr data-region="(\d{6})"', queue)
    out["workflow-targets"] = re.findall(r'name="target" value="(\d{6})"', html)
    return out


@pytest.mark.parametrize(
    ("user", "scope", "writes"),
    [
        ("tiedong", "210302", True),  # county reporter: its county only
        ("anshan", "2103", True),  # city reporter: the city and its counties
        ("analyst", "21", True),  # provincial analyst without a region: everything
        ("admin", "21", True),
        ("viewer", "21", False),  # reads the province, writes nowhere: no reporting forms
        ("duty", "2103", False),
    ],
)
def test_data_page_offers_only_regions_in_the_users_scope(
    world: tuple[TestClient, dict[str, str], str], user: str, scope: str, writes: bool
) -> None:
    """Every region choice of /data (filter, upload, template, queue, workflow buttons) lies in
    the user's scope, and the whole scope is offered; asking for a region outside it falls
    back to the user's own. Non-writers get no upload or template form."""
    from healthwatch.store.db import session_scope
    from healthwatch.store.models import Region

    _, _, url = world
    with session_scope(url) as session:
        stored = sorted(a for (a,) in session.query(Region.adcode))
    expected = [a for a in stored if a.startswith(scope)]
    client = _login_data(TestClient(create_app(url)), user)
    outside = LISHAN if user == "tiedong" else "210200"  # Dalian: outside every scope tested
    query = "" if scope == "21" else f"&region={outside}"
    page = client.get(f"/data?period={PERIOD}{query}", headers=HTML)
    assert page.status_code == 200
    choices = _choices(page.text)
    assert choices["filter-region"] == expected
    assert ("template-region" in choices) is writes
    assert ('id="upload-form"' in page.text) is writes
    if writes:
        assert choices["template-region"] == expected
    offered = {a for found in choices.values() for a in found}
    assert offered and all(a.startswith(scope) for a in offered), sorted(offered)


@pytest.mark.parametrize(
    ("user", "plans"),
    [
        ("tiedong", ["anshan-2021-2025", "liaoning-2021-2025"]),  # a county of Anshan
        ("anshan", ["anshan-2021-2025", "liaoning-2021-2025"]),
        ("dalian", ["liaoning-2021-2025"]),  # Anshan's plan does not cover Dalian
        ("analyst", ["anshan-2021-2025", "liaoning-2021-2025"]),  # province-wide: every plan
        ("admin", ["anshan-2021-2025", "liaoning-2021-2025"]),
    ],
)
def test_template_form_offers_only_the_plans_covering_the_users_region(
    world: tuple[TestClient, dict[str, str], str], user: str, plans: list[str]
) -> None:
    _, _, url = world
    client = _login_data(TestClient(create_app(url)), user)
    page = client.get(f"/data?period={PERIOD}", headers=HTML)
    assert page.status_code == 200
    form = page.text.split('id="template-plan"')[1].split("</select>")[0]
    assert sorted(re.findall(r'<option value="([\w-]+)"', form)) == plans


def test_history_page_and_revert_form(world: tuple[TestClient, dict[str, str], str]) -> None:
    client, tokens, url = world
    assert _upload(client, tokens["tiedong"], GOOD).status_code == 200
    assert _upload(client, tokens["tiedong"], GOOD.replace("1180", "1190")).status_code == 200
    tie = _login_data(TestClient(create_app(url)), "tiedong")
    page = tie.get(f"/data/history?region={TIEDONG}&period={PERIOD}", headers=HTML)
    assert page.status_code == 200
    rows = re.findall(r'data-element="live_births" data-version="(\d)"', page.text)
    assert rows == ["1", "2"] and page.text.count('class="inline revert-form"') == 1
    form = {
        "csrf_token": _csrf(page.text),
        "region": TIEDONG,
        "period": PERIOD,
        "element": "live_births",
        "version": "1",
        "reason": "",
    }
    r = tie.post("/data/revert", data=form, headers=HTML)
    assert r.status_code == 400 and "请填写恢复的原因" in r.text
    r = tie.post(
        "/data/revert", data={**form, "reason": "笔误"}, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303
    page = tie.get(r.headers["location"], headers=HTML).text
    assert "已恢复为新版本。" in page and "笔误" in page
    assert re.findall(r'data-element="live_births" data-version="(\d)"', page) == ["1", "2", "3"]
    dalian = _login_data(TestClient(create_app(url)), "dalian")
    r = dalian.get(f"/data/history?region={TIEDONG}&period={PERIOD}", headers=HTML)
    assert r.status_code == 403


@pytest.mark.parametrize("path", ["/data", f"/data/history?region={TIEDONG}&period={PERIOD}"])
def test_data_pages_in_both_languages(
    world: tuple[TestClient, dict[str, str], str], path: str
) -> None:
    client, tokens, url = world
    assert _upload(client, tokens["tiedong"], GOOD).status_code == 200
    tie = _login_data(TestClient(create_app(url)), "tiedong")
    zh = tie.get(path, headers=HTML)
    assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text
    sep = "&" if "?" in path else "?"
    en = tie.get(f"{path}{sep}lang=en", headers=HTML)
    assert en.status_code == 200 and '<html lang="en">' in en.text
    chrome = re.findall(r"<(?:nav|h1|h2|th|button|label)[^>]*>(.*?)</", en.text, flags=re.S)
    assert chrome and not [c for c in chrome if CJK.search(c)]
    assert 'href="/data" class="active"' in en.text


def test_data_pages_send_anonymous_users_to_the_login_page(
    world: tuple[TestClient, dict[str, str], str],
) -> None:
    client, _, _ = world
    for path in ("/data", "/data/history?region=210302&period=2026"):
        r = client.get(path, headers=HTML, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/data")
    r = client.post("/data/upload", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
