"""The evaluation API and pages: plan status, indicator detail, map values, projects, stored
evaluations, running one (who may), report downloads (they parse), both languages.

One database for the module: the built-in data plus the demo's indicator panel
(``load_demo_data``: the plans' baselines and the synthetic 2015-2025 panel, as ``healthwatch
demo`` loads it) and one user per role; one application, so the evaluations it caches are
computed once for all tests.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from _webhelp import assert_error, bearer, login, login_form, populate
from fastapi import FastAPI
from fastapi.testclient import TestClient

from healthwatch.services.data import load_demo_data
from healthwatch.store.db import dispose_engine
from healthwatch.users import LOCAL_ADMIN
from healthwatch.web import create_app

LIAONING, ANSHAN = "liaoning-2021-2025", "anshan-2021-2025"
STATUSES = {"achieved", "on_schedule", "lagging", "moving_away", "insufficient_data"}
HTML = {"accept": "text/html"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _no_nan(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], FastAPI]]:
    db = f"sqlite:///{tmp_path_factory.mktemp('webeval') / 'demo.sqlite'}"
    tokens = populate(db, ("admin", "analyst", "viewer", "anshan"))
    load_demo_data(db, actor=LOCAL_ADMIN)
    yield db, tokens, create_app(db)
    dispose_engine(db)


@pytest.fixture(scope="module")
def api(env: tuple[str, dict[str, str], FastAPI]) -> TestClient:
    return TestClient(env[2])


def _get(api: TestClient, env: Any, who: str, path: str) -> Any:
    r = api.get(path, headers=bearer(env[1][who]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return _no_nan(r.text)


def test_plan_status_every_indicator_binding_first(api: TestClient, env: Any) -> None:
    body = _get(api, env, "viewer", f"/api/v1/evaluation/{LIAONING}/status?as_of=2025")
    rows = body["indicators"]
    assert body["as_of"] == 2025 and body["region"] == "210000"
    assert len({r["code"] for r in rows}) >= 25
    binding = [r["binding"] for r in rows]
    assert binding == sorted(binding, reverse=True) and binding[0]
    assert {r["status"] for r in rows} <= STATUSES
    gps = next(r for r in rows if r["code"] == "gps_per_10000")
    # the synthetic panel plants this lagging binding indicator (about 3.5 against >= 4.6)
    assert gps["status"] == "lagging" and gps["binding"]
    assert gps["latest"]["year"] == 2025 and 3.0 < gps["latest"]["value"] < 4.0
    assert gps["target"]["goal"] == 4.6 and gps["forecast"]["year"] == 2025
    assert gps["status_colour"].startswith("#")
    en = _get(api, env, "viewer", f"/api/v1/evaluation/{LIAONING}/status?as_of=2025&lang=en")
    assert en["indicators"][0]["code"] == rows[0]["code"]
    assert not CJK.search(en["statuses"]["lagging"]["label"])


def test_indicator_detail_series_path_band_and_ranking(api: TestClient, env: Any) -> None:
    url = f"/api/v1/evaluation/{LIAONING}/indicators/gps_per_10000?as_of=2023"
    d = _get(api, env, "viewer", url)
    years = [p["year"] for p in d["series"]]
    assert years == sorted(years) and years[-1] == 2023  # nothing after the as-of year
    assert d["target_path"][-1] == [2025, 4.6]
    assert d["target_path"][0][0] == d["indicator"]["baseline"]["year"]
    start, end = d["forecast_fan"]
    assert start["year"] == 2023 and end["year"] == 2025
    assert end["low"] <= end["value"] <= end["high"]
    ranked = d["regions"]
    assert len(ranked) == 14 and {r["adcode"][:2] for r in ranked} == {"21"}
    values = [r["value"] for r in ranked if r["value"] is not None]
    assert values == sorted(values, reverse=True)  # higher is better: best first
    assert [r["rank"] for r in ranked[: len(values)]] == list(range(1, len(values) + 1))
    assert all(r["status"] in STATUSES for r in ranked)
    r = api.get(
        f"/api/v1/evaluation/{LIAONING}/indicators/no_such_code", headers=bearer(env[1]["viewer"])
    )
    assert_error(r, 404, "not_found")


def test_map_values_status_and_drill_down(api: TestClient, env: Any) -> None:
    base = f"/api/v1/evaluation/{LIAONING}/map?indicator=gps_per_10000&year=2023"
    fc = _get(api, env, "viewer", base)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 14
    assert fc["region"]["adcode"] == "210000" and fc["year"] == 2023
    detail = _get(
        api, env, "viewer", f"/api/v1/evaluation/{LIAONING}/indicators/gps_per_10000?as_of=2023"
    )
    ranked = {r["adcode"]: r for r in detail["regions"]}
    for f in fc["features"]:
        code = f["properties"]["adcode"]
        assert f["properties"]["value"] == pytest.approx(ranked[code]["value"])
        assert fc["statuses"][code] == ranked[code]["status"]
    city = _get(api, env, "viewer", base + "&region=210300")
    names = {f["properties"]["name"] for f in city["features"]}
    assert len(names) == 7 and "铁东区" in names
    assert city["region"]["level"] == "city" and set(city["statuses"]) <= {
        f["properties"]["adcode"] for f in city["features"]
    }
    county = _get(api, env, "viewer", base + "&region=210302")
    assert [f["properties"]["adcode"] for f in county["features"]] == ["210302"]


def test_region_scope_is_respected(api: TestClient, env: Any) -> None:
    """A reporter of Anshan may read Anshan, not the province's evaluation."""
    h = bearer(env[1]["anshan"])
    assert_error(
        api.get(f"/api/v1/evaluation/{LIAONING}/status", headers=h), 403, "permission_denied"
    )
    r = api.get(
        f"/api/v1/evaluation/{LIAONING}/map?indicator=gps_per_10000&region=210300", headers=h
    )
    assert r.status_code == 200, r.text
    report = f"/api/v1/evaluation/{LIAONING}/report?format=xlsx"
    assert_error(api.get(report, headers=h), 403, "permission_denied")


def test_projects_progress(api: TestClient, env: Any) -> None:
    body = _get(api, env, "viewer", f"/api/v1/evaluation/{ANSHAN}/projects?as_of=2024")
    assert body["listed"] == len(body["projects"]) > 0
    assert body["reported"] == 0  # the demo has no progress reports
    p = body["projects"][0]
    assert p["pv"] == pytest.approx(p["budget_10k_yuan"] * p["planned_percent"] / 100)
    assert _get(api, env, "viewer", f"/api/v1/evaluation/{LIAONING}/projects")["projects"] == []


def test_viewer_cannot_run_an_evaluation_analyst_can(api: TestClient, env: Any) -> None:
    before = _get(api, env, "viewer", "/api/v1/evaluations")
    body = {"plan": ANSHAN, "as_of": 2024, "kind": "annual"}
    r = api.post("/api/v1/evaluations", json=body, headers=bearer(env[1]["viewer"]))
    assert_error(r, 403, "permission_denied")
    assert _get(api, env, "viewer", "/api/v1/evaluations") == before  # nothing stored
    r = api.post("/api/v1/evaluations", json=body, headers=bearer(env[1]["analyst"]))
    assert r.status_code == 201, r.text
    made = _no_nan(r.text)
    assert made["evaluation_id"] and made["data_version"].startswith("sha256:")
    listed = _get(api, env, "viewer", f"/api/v1/evaluations?plan={ANSHAN}")
    assert listed[0]["id"] == made["evaluation_id"] and listed[0]["actor"] == "analyst"
    assert listed[0]["summary"] == made["summary"]
    bad = api.post(
        "/api/v1/evaluations", json={**body, "kind": "weekly"}, headers=bearer(env[1]["analyst"])
    )
    assert_error(bad, 422, "invalid_request")


def test_session_post_needs_csrf(env: Any) -> None:
    client = TestClient(env[2])
    token = login(client, "analyst")
    body = {"plan": ANSHAN, "as_of": 2024}
    assert_error(client.post("/api/v1/evaluations", json=body), 403, "permission_denied")
    r = client.post("/api/v1/evaluations", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_downloads_parse(api: TestClient, env: Any, lang: str) -> None:
    import openpyxl

    h = bearer(env[1]["viewer"])
    before = len(_get(api, env, "viewer", "/api/v1/evaluations"))
    base = f"/api/v1/evaluation/{ANSHAN}/report?as_of=2024&lang={lang}"
    html = api.get(base + "&format=html", headers=h)
    assert html.status_code == 200, html.text
    assert html.headers["content-type"].startswith("text/html")
    disposition = html.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f'{ANSHAN}-2024-{lang}.html"' in disposition
    status = _get(api, env, "viewer", f"/api/v1/evaluation/{ANSHAN}/status?as_of=2024")
    names = {r["name_zh"] if lang == "zh" else r["name_en"] for r in status["indicators"]}
    assert len(names) > 5 and all(n in html.text for n in names)  # every indicator named
    assert html.headers["x-data-version"] in html.text
    pdf = api.get(base + "&format=pdf", headers=h)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    xlsx = api.get(base + "&format=xlsx", headers=h)
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    cells = [
        str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row
    ]
    assert all(any(n in c for c in cells) for n in names)
    # a download only reads: no evaluation record is stored for it
    assert len(_get(api, env, "viewer", "/api/v1/evaluations")) == before
    assert_error(api.get(base + "&format=docx", headers=h), 422, "invalid_request")


def test_unknown_plan_and_anonymous(api: TestClient, env: Any) -> None:
    r = api.get("/api/v1/evaluation/no-such-plan/status", headers=bearer(env[1]["viewer"]))
    assert_error(r, 404, "not_found")
    assert_error(
        TestClient(env[2]).get(f"/api/v1/evaluation/{ANSHAN}/status"), 401, "not_authenticated"
    )


# --- pages ---------------------------------------------------------------------------------


def _page_client(env: Any, username: str) -> TestClient:
    return login_form(TestClient(env[2]), username)


def test_plan_overview_page_has_latest_and_status(env: Any) -> None:
    client = _page_client(env, "viewer")
    html = client.get(f"/plans?plan={LIAONING}", headers=HTML).text
    rows = re.findall(r'<tr class="nature-(\w+)" data-code="(\w+)">(.*?)</tr>', html, flags=re.S)
    assert rows and rows[0][0] == "binding"
    gps = next(body for _, code, body in rows if code == "gps_per_10000")
    assert 'class="status status-lagging"' in gps and "(2025)" in gps
    assert f'href="/indicators/{LIAONING}/gps_per_10000"' in gps
    # a reporter of Anshan sees the province's targets but is told why there is no status
    other = _page_client(env, "anshan").get(f"/plans?plan={LIAONING}", headers=HTML)
    assert other.status_code == 200 and "无权查看" in other.text


@pytest.mark.parametrize(
    "path",
    [
        f"/indicators/{LIAONING}/gps_per_10000?as_of=2023",
        f"/projects?plan={ANSHAN}",
        f"/evaluations?plan={ANSHAN}",
        "/map",
    ],
)
def test_pages_in_both_languages(env: Any, path: str) -> None:
    client = _page_client(env, "viewer")
    zh = client.get(path, headers=HTML)
    assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text
    sep = "&" if "?" in path else "?"
    en = client.get(f"{path}{sep}lang=en", headers=HTML)
    assert en.status_code == 200 and '<html lang="en">' in en.text
    chrome = re.findall(r"<(?:nav|h1|h2|th|button)[^>]*>(.*?)</", en.text, flags=re.S)
    assert chrome and not [c for c in chrome if CJK.search(c)]


def test_indicator_page_ranks_regions(env: Any) -> None:
    html = _page_client(env, "viewer").get(
        f"/indicators/{LIAONING}/gps_per_10000?as_of=2023", headers=HTML
    )
    assert 'id="indicator-chart"' in html.text
    assert len(re.findall(r'<tr data-adcode="\d{6}">', html.text)) == 14
    data = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html.text)
    assert data is not None and _no_nan(data.group(1))["detail"]["target_path"][-1] == [2025, 4.6]


def test_evaluations_page_run_form_needs_csrf_and_write(env: Any) -> None:
    viewer = _page_client(env, "viewer").get(f"/evaluations?plan={ANSHAN}", headers=HTML).text
    assert 'id="run-form"' not in viewer
    assert len(re.findall(r'class="report-link"', viewer)) == 6  # 2 languages x 3 formats
    client = _page_client(env, "analyst")
    html = client.get(f"/evaluations?plan={ANSHAN}", headers=HTML).text
    assert 'id="run-form"' in html
    csrf = re.search(r'data-csrf="([0-9a-f]{64})"', html)
    assert csrf is not None
    form = {"plan": ANSHAN, "as_of": "2023", "kind": "midterm", "level": ""}
    refused = client.post("/evaluations", data={**form, "csrf_token": "x"}, headers=HTML)
    assert refused.status_code == 403
    r = client.post(
        "/evaluations",
        data={**form, "csrf_token": csrf.group(1)},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303 and "saved=" in r.headers["location"]
    page = client.get(r.headers["location"], headers=HTML).text
    assert 'id="saved"' in page and "中期评估" in page


@pytest.mark.postgres
def test_the_same_on_postgresql(postgres_url: str) -> None:
    """Status, a stored run and a report download on PostgreSQL (the rest runs on SQLite)."""
    tokens = populate(postgres_url, ("analyst", "viewer"))
    load_demo_data(postgres_url, actor=LOCAL_ADMIN)
    client = TestClient(create_app(postgres_url))
    status = client.get(
        f"/api/v1/evaluation/{ANSHAN}/status?as_of=2024", headers=bearer(tokens["viewer"])
    )
    assert status.status_code == 200, status.text
    assert {r["status"] for r in _no_nan(status.text)["indicators"]} <= STATUSES
    body = {"plan": ANSHAN, "as_of": 2024}
    refused = client.post("/api/v1/evaluations", json=body, headers=bearer(tokens["viewer"]))
    assert_error(refused, 403, "permission_denied")
    made = client.post("/api/v1/evaluations", json=body, headers=bearer(tokens["analyst"]))
    assert made.status_code == 201, made.text
    listed = client.get("/api/v1/evaluations", headers=bearer(tokens["viewer"])).json()
    assert [e["id"] for e in listed] == [made.json()["evaluation_id"]]
    xlsx = client.get(
        f"/api/v1/evaluation/{ANSHAN}/report?as_of=2024&format=xlsx",
        headers=bearer(tokens["viewer"]),
    )
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"  # a zip: the XLSX container
    dispose_engine(postgres_url)


def test_a_new_figure_shows_on_the_map_at_once(tmp_path: Any) -> None:
    """The evaluation behind the map is cached, but only until the figures change: an import
    (audited) makes the next request compute again."""
    from healthwatch.services.data import import_file

    db = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    tokens = populate(db, ("anshan",))
    client = TestClient(create_app(db))
    url = f"/api/v1/evaluation/{LIAONING}/map?indicator=infant_mortality&year=2025&region=210300"

    def taian() -> Any:
        r = client.get(url, headers=bearer(tokens["anshan"]))
        assert r.status_code == 200, r.text
        return next(f for f in r.json()["features"] if f["properties"]["adcode"] == "210321")

    def store(deaths: int) -> None:
        path = tmp_path / f"taian-{deaths}.csv"
        path.write_text(
            "region,period,element,value\n"
            f"210321,2025,live_births,2000\n210321,2025,infant_deaths,{deaths}\n"
            f"210321,2025,under5_deaths,{deaths + 2}\n",
            encoding="utf-8",
        )
        import_file(path, db=db, actor=LOCAL_ADMIN)

    store(8)
    assert taian()["properties"]["value"] == pytest.approx(4.0)
    store(6)
    assert taian()["properties"]["value"] == pytest.approx(3.0)
    dispose_engine(db)
