"""The early-warning API and pages: visibility by region, lifecycle rights, 409, ingest, JSON.

Two outbreaks are fed and detected: one in 铁东区 (210302, Anshan, the duty officer's city) and
one in 和平区 (210102, Shenyang). The duty officer of Anshan sees and answers the first only; the
viewer sees both and changes neither.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from _warninghelp import ANSHAN, END, SHENYANG, prepare
from _webhelp import assert_error, bearer, login
from fastapi.testclient import TestClient

from healthwatch.store.db import dispose_engine
from healthwatch.web import create_app


@pytest.fixture
def world(db_url: str, tmp_path) -> Iterator[tuple[TestClient, dict[str, str], dict[str, int]]]:
    """A client, a token per user, and the alert id of each outbreak county."""
    tokens = prepare(db_url, tmp_path)
    client = TestClient(create_app(db_url))
    alerts = client.get("/api/v1/warning/alerts", headers=bearer(tokens["admin"])).json()
    ids = {a["region"]: a["id"] for a in alerts}
    assert {ANSHAN, SHENYANG} <= set(ids), alerts
    yield client, tokens, ids
    if db_url.startswith("sqlite"):
        dispose_engine(db_url)


def _strict(r) -> object:
    """The body parses as strict JSON (no NaN or Infinity)."""
    return json.loads(r.text, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))


def test_duty_officer_sees_and_answers_only_its_region(world) -> None:
    client, tokens, ids = world
    duty = bearer(tokens["duty"])
    seen = _strict(client.get("/api/v1/warning/alerts", headers=duty))
    assert {a["region"] for a in seen} == {ANSHAN}
    assert all(a["region"].startswith("2103") for a in seen)
    everyone = client.get("/api/v1/warning/alerts", headers=bearer(tokens["viewer"])).json()
    assert {ANSHAN, SHENYANG} <= {a["region"] for a in everyone}
    # city B's alert is absent for Anshan's duty officer: neither readable nor changeable
    assert_error(
        client.get(f"/api/v1/warning/alerts/{ids[SHENYANG]}", headers=duty), 404, "not_found"
    )
    r = client.post(f"/api/v1/warning/alerts/{ids[SHENYANG]}/acknowledge", json={}, headers=duty)
    assert_error(r, 404, "not_found")
    r = client.post(
        f"/api/v1/warning/alerts/{ids[ANSHAN]}/acknowledge",
        json={"note": "电话核实中"},
        headers=duty,
    )
    assert r.status_code == 200, r.text
    body = _strict(r)
    assert body["status"] == "acknowledged"
    assert body["events"][-1]["actor"] == "duty" and body["events"][-1]["note"] == "电话核实中"
    # Shenyang's alert is untouched
    other = client.get(f"/api/v1/warning/alerts/{ids[SHENYANG]}", headers=bearer(tokens["admin"]))
    assert other.json()["status"] == "new"


def test_viewer_cannot_change_any_alert(world) -> None:
    client, tokens, ids = world
    viewer = bearer(tokens["viewer"])
    for county in (ANSHAN, SHENYANG):
        r = client.post(
            f"/api/v1/warning/alerts/{ids[county]}/acknowledge", json={}, headers=viewer
        )
        assert_error(r, 403, "permission_denied")
        assert (
            client.get(f"/api/v1/warning/alerts/{ids[county]}", headers=viewer).json()["status"]
            == "new"
        )


def test_invalid_transition_is_409_with_both_languages_and_changes_nothing(world) -> None:
    client, tokens, ids = world
    admin = bearer(tokens["admin"])
    url = f"/api/v1/warning/alerts/{ids[ANSHAN]}"
    body = assert_error(
        client.post(f"{url}/close", json={}, headers=admin), 409, "invalid_transition"
    )
    assert "acknowledge" in body["problems"][0]["reason_en"]
    assert "签收" in body["problems"][0]["reason_zh"]
    assert client.get(url, headers=admin).json()["status"] == "new"
    assert_error(client.post(f"{url}/dance", json={}, headers=admin), 422, "invalid_input")
    # the whole path works step by step, and a closed alert takes no further step
    for step, status in (
        ("acknowledge", "acknowledged"),
        ("investigate", "investigating"),
        ("rule_out", "ruled_out"),
        ("close", "closed"),
    ):
        r = client.post(f"{url}/{step}", json={"note": step}, headers=admin)
        assert r.status_code == 200 and r.json()["status"] == status
    assert_error(
        client.post(f"{url}/acknowledge", json={}, headers=admin), 409, "invalid_transition"
    )
    assert [e["action"] for e in client.get(url, headers=admin).json()["events"]] == [
        "raise", "acknowledge", "investigate", "rule_out", "close",
    ]  # fmt: skip


def test_alert_detail_has_each_sources_evidence(world) -> None:
    client, tokens, ids = world
    r = client.get(f"/api/v1/warning/alerts/{ids[ANSHAN]}?days=21", headers=bearer(tokens["duty"]))
    detail = _strict(r)
    assert detail["level"] in ("yellow", "orange", "red") and 0 < detail["p_value"] < 1e-4
    assert detail["actions"] == ["acknowledge"]
    by_source = {s["source"]: s for s in detail["series"]}
    assert set(by_source) == {"fever_clinic", "pharmacy_antipyretic"}
    for s in by_source.values():
        assert len(s["dates"]) == 21 and s["dates"][-1] == END.isoformat()
        assert s["method"] == "ears_c2"
        # the outbreak's last day is above its threshold and marked as a signal
        assert s["observed"][-1] > s["threshold"][-1] > s["expected"][-1]
        assert s["signal"][-1] and s["alarm"][-1]
        assert not any(s["signal"][:-3])  # quiet before the outbreak
    signals = detail["evidence"]["signals"]
    assert {g["source"] for g in signals} == set(by_source)
    assert all(0 <= g["p_value"] < 0.01 for g in signals)
    correlation = detail["evidence"]["correlation"]
    assert correlation["sources"] == sorted(by_source)


def test_list_filters(world) -> None:
    client, tokens, ids = world
    admin = bearer(tokens["admin"])
    get = lambda q: client.get(f"/api/v1/warning/alerts?{q}", headers=admin)  # noqa: E731
    assert {a["id"] for a in get("region=210300").json()} == {ids[ANSHAN]}
    assert get("level=blue%2B").json() == get("").json()
    assert get("date_from=2024-04-01").json() == []
    assert {a["id"] for a in get("date_to=2024-03-31&status=new").json()} >= set(ids.values())
    assert_error(get("level=purple"), 422, "invalid_input")
    assert_error(get("status=asleep"), 422, "invalid_input")
    assert_error(get("region=abc"), 422, "invalid_request")


def test_map_and_configs(world) -> None:
    client, tokens, _ = world
    duty = bearer(tokens["duty"])
    fc = _strict(client.get("/api/v1/warning/map", headers=duty))
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) >= 90
    values = {f["properties"]["adcode"]: f["properties"]["value"] for f in fc["features"]}
    assert values[ANSHAN] is not None and values[SHENYANG] is None  # not the officer's business
    assert ANSHAN in fc["levels"] and SHENYANG not in fc["levels"]
    configs = _strict(client.get("/api/v1/warning/configs", headers=duty))
    assert {(c["source"], c["syndrome"]) for c in configs} == {
        ("fever_clinic", "fever"),
        ("pharmacy_antipyretic", "fever"),
    }


def test_ingest_csv_and_json_with_a_token_and_region_checks(world, tmp_path) -> None:
    client, tokens, _ = world
    csv = "date,region,source,syndrome,count\n2024-03-30,210302,school_absence,fever,7\n"
    files = {"file": ("feed.csv", csv.encode(), "text/csv")}
    r = client.post("/api/v1/warning/ingest", files=files, headers=bearer(tokens["anshan"]))
    assert r.status_code == 201, r.text
    assert r.json()["values_new"] == 1 and r.json()["stale_runs"] == []
    # a reporter of Anshan cannot send Dalian's data; nothing is written
    outside = csv.replace("210302", "210202")
    r = client.post(
        "/api/v1/warning/ingest",
        files={"file": ("feed.csv", outside.encode(), "text/csv")},
        headers=bearer(tokens["anshan"]),
    )
    assert_error(r, 403, "permission_denied")
    bad = "date,region,source,syndrome,count\n2024-03-30,210302,school_absence,fever,-3\n"
    r = client.post(
        "/api/v1/warning/ingest",
        files={"file": ("bad.csv", bad.encode(), "text/csv")},
        headers=bearer(tokens["admin"]),
    )
    body = assert_error(r, 422, "invalid_input")
    assert body["problems"][0]["file"] == "bad.csv" and body["problems"][0]["line"] == 2
    records = [
        {"date": "2024-03-31", "region": ANSHAN, "source": "fever_clinic", "syndrome": "fever",
         "count": 300},
        {"date": "2024-03-29", "region": ANSHAN, "source": "school_absence", "syndrome": "fever",
         "count": None},
    ]  # fmt: skip
    r = client.post("/api/v1/warning/records", json=records, headers=bearer(tokens["admin"]))
    assert r.status_code == 201, r.text
    assert r.json()["values_revised"] == 1 and r.json()["stale_runs"] == [END.isoformat()]
    assert_error(
        client.post("/api/v1/warning/records", json=records, headers=bearer(tokens["viewer"])),
        403,
        "permission_denied",
    )


def test_session_clients_need_csrf_for_steps(world) -> None:
    client, _, ids = world
    csrf = login(client, "duty")
    url = f"/api/v1/warning/alerts/{ids[ANSHAN]}/acknowledge"
    assert_error(client.post(url, json={}), 403, "permission_denied")
    r = client.post(url, json={"note": "ok"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"


# --- pages -----------------------------------------------------------------------------------


def _form_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


def test_pages_show_only_usable_buttons_and_steps_need_csrf(world) -> None:
    client, _, ids = world
    login(client, "duty")
    page = client.get("/warning")
    assert page.status_code == 200
    assert (
        f'data-alert="{ids[ANSHAN]}"' in page.text
        and f'data-alert="{ids[SHENYANG]}"' not in page.text
    )
    assert "预警处置" in page.text and "/static/warning.js" in page.text
    detail = client.get(f"/warning/alerts/{ids[ANSHAN]}")
    assert 'data-action="acknowledge"' in detail.text and 'data-action="close"' not in detail.text
    assert client.get(f"/warning/alerts/{ids[SHENYANG]}").status_code == 404
    url = f"/warning/alerts/{ids[ANSHAN]}/acknowledge"
    assert client.post(url, data={"note": "x", "csrf_token": "0" * 64}).status_code == 403
    r = client.post(
        url,
        data={"note": "已电话核实", "csrf_token": _form_csrf(detail.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("done=acknowledge")
    after = client.get(r.headers["location"])
    assert "已签收" in after.text and "已电话核实" in after.text
    assert 'data-action="investigate"' in after.text
    # the same step again: refused with 409 on an error page
    again = client.post(url, data={"csrf_token": _form_csrf(after.text)})
    assert again.status_code == 409
    english = client.get(f"/warning/alerts/{ids[ANSHAN]}?lang=en")
    assert "Acknowledged" in english.text and "Evidence per source" in english.text


def test_viewer_page_has_no_buttons(world) -> None:
    client, _, ids = world
    login(client, "viewer")
    detail = client.get(f"/warning/alerts/{ids[SHENYANG]}")
    assert detail.status_code == 200
    assert "data-action=" not in detail.text and 'id="no-actions"' in detail.text
    r = client.post(
        f"/warning/alerts/{ids[SHENYANG]}/acknowledge", data={"csrf_token": _form_csrf(detail.text)}
    )
    assert r.status_code == 403


def test_alerts_name_their_regions_in_both_languages(world) -> None:
    """The list, the detail, the map and the pages name the county with its city, not a bare
    adcode; English pages add the code to the Chinese name (the hierarchy has no English)."""
    from healthwatch.regions.hierarchy import all_regions

    client, tokens, ids = world
    regions = all_regions()
    anshan = regions[regions[ANSHAN].parent or ""].name + regions[ANSHAN].name
    assert anshan == "鞍山市铁东区"
    admin = bearer(tokens["admin"])
    rows = {a["region"]: a for a in _strict(client.get("/api/v1/warning/alerts", headers=admin))}
    assert rows[ANSHAN]["region_name_zh"] == anshan
    assert rows[ANSHAN]["region_name_en"] == f"{anshan} ({ANSHAN})"
    assert rows[SHENYANG]["region_name_zh"] == "沈阳市和平区"
    detail = _strict(client.get(f"/api/v1/warning/alerts/{ids[ANSHAN]}", headers=admin))
    assert detail["region_name_zh"] == anshan
    fc = _strict(client.get("/api/v1/warning/map", headers=admin))
    names = {f["properties"]["adcode"]: f["properties"]["name"] for f in fc["features"]}
    assert names[ANSHAN] == anshan
    login(client, "duty")
    for lang, shown in (("zh", anshan), ("en", f"{anshan} ({ANSHAN})")):
        page = client.get(f"/warning?lang={lang}").text
        row = re.search(rf'data-alert="{ids[ANSHAN]}".*?</tr>', page, re.S)
        assert row and f'<td class="regions">{shown}</td>' in row.group(0)
        alert = client.get(f"/warning/alerts/{ids[ANSHAN]}?lang={lang}").text
        assert f'<dd id="alert-regions">{shown}</dd>' in alert
        signals = re.search(r'<table id="signals".*?</table>', alert, re.S)
        assert signals and f"<td>{shown}</td>" in signals.group(0)


def _row(page: str, alert_id: int) -> str:
    found = re.search(rf'data-alert="{alert_id}".*?</tr>', page, re.S)
    assert found, page
    return found.group(0)


def test_stored_alert_reasons_read_with_names_not_codes(world, db_url) -> None:
    """Issue 12: an alert stored with codes in its reason (``就 fever 发出信号``, ``in 210302``)
    reads with the syndrome's and county's names on both pages, in Chinese and English."""
    from sqlalchemy import update

    from healthwatch.store.db import session_scope
    from healthwatch.store.warning_models import WarningAlert

    client, _, ids = world
    with session_scope(db_url) as session:
        session.execute(
            update(WarningAlert)
            .where(WarningAlert.id == ids[ANSHAN])
            .values(
                reason_zh=f"2 个独立来源在 {ANSHAN} 就 fever 发出信号",
                reason_en=f"2 sources signalled fever in {ANSHAN}",
            )
        )
    login(client, "duty")
    zh = client.get(f"/warning/alerts/{ids[ANSHAN]}").text
    lead = re.search(r'<p class="lead">(.*?)</p>', zh, re.S)
    assert lead and "就发热发出信号" in lead.group(1) and "鞍山市铁东区" in lead.group(1)
    assert "fever" not in lead.group(1) and ANSHAN not in lead.group(1)
    en = client.get(f"/warning/alerts/{ids[ANSHAN]}?lang=en").text
    lead = re.search(r'<p class="lead">(.*?)</p>', en, re.S)
    assert lead and f"signalled fever in 鞍山市铁东区 ({ANSHAN})" in lead.group(1)


def test_sources_are_named_in_the_page_language(world) -> None:
    """Issue 12: the Sources column and the signals table name each source (``发热门诊就诊`` /
    ``fever-clinic visits``), not its code (``fever_clinic``)."""
    from healthwatch.warning.catalogue import SOURCES

    client, _, ids = world
    login(client, "duty")
    for lang in ("zh", "en"):
        names = [
            getattr(SOURCES[code], f"name_{lang}")
            for code in ("fever_clinic", "pharmacy_antipyretic")
        ]
        row = _row(client.get(f"/warning?lang={lang}").text, ids[ANSHAN])
        assert all(name in row for name in names) and "fever_clinic" not in row
        alert = client.get(f"/warning/alerts/{ids[ANSHAN]}?lang={lang}").text
        signals = re.search(r'<table id="signals".*?</table>', alert, re.S)
        assert signals and all(f"<td>{name}</td>" in signals.group(0) for name in names)
        assert "fever_clinic" not in signals.group(0)


def test_the_raise_note_is_in_the_page_language(world) -> None:
    """Issue 12: the system's note of the "Raised" step reads in English on the English page
    (it was stored in Chinese only); a person's note stays as it was written."""
    client, tokens, ids = world
    r = client.post(
        f"/api/v1/warning/alerts/{ids[ANSHAN]}/acknowledge",
        json={"note": "电话核实中"},
        headers=bearer(tokens["duty"]),
    )
    assert r.status_code == 200, r.text
    login(client, "duty")
    for lang, raised, other in (("zh", "发出预警", "独立来源"), ("en", "Raised", "independent")):
        page = client.get(f"/warning/alerts/{ids[ANSHAN]}?lang={lang}").text
        events = re.search(r'<table id="events".*?</table>', page, re.S)
        assert events, page
        row = re.search(rf"<td>{raised}</td>.*?</tr>", events.group(0), re.S)
        assert row and other in row.group(0)
        if lang == "en":
            assert not re.search(r"[\u4e00-\u9fff]", row.group(0).replace("鞍山市铁东区", ""))
        assert "电话核实中" in events.group(0)


def test_syndrome_and_method_are_named_in_the_page_language(world, db_url) -> None:
    """Issue 12: the syndrome reads by its name in English too (``hand, foot and mouth
    disease``, not the code ``hfmd``) and the combined p-value's method by its name."""
    from sqlalchemy import update

    from healthwatch.store.db import session_scope
    from healthwatch.store.warning_models import WarningAlert

    client, _, ids = world
    with session_scope(db_url) as session:
        session.execute(
            update(WarningAlert).where(WarningAlert.id == ids[ANSHAN]).values(syndrome="hfmd")
        )
    login(client, "duty")
    for lang, name, method in (
        ("zh", "手足口病", "(Fisher 法)"),
        ("en", "hand, foot and mouth disease", "(Fisher)"),
    ):
        row = _row(client.get(f"/warning?lang={lang}").text, ids[ANSHAN])
        assert f"<td>{name}</td>" in row and "hfmd" not in row
        page = client.get(f"/warning/alerts/{ids[ANSHAN]}?lang={lang}").text
        facts = re.search(r'<dl class="facts">.*?</dl>', page, re.S)
        assert facts and f"<dd>{name}</dd>" in facts.group(0)
        p_value = re.search(r'<dd id="combined-p">(.*?)</dd>', page, re.S)
        assert p_value and p_value.group(1).endswith(method)
