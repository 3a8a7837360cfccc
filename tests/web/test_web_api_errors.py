"""FastAPI's own request validation errors (422 ``invalid_request``) in both languages.

Why: pydantic words its errors in English only; wrapping that text in a Chinese frame
(``参数 reason 无效：Field required``) left a Chinese reader with English. Each common error
type must read as Chinese on its own, name the field as the API's other errors do (no
``body.`` / ``query.`` prefix), and malformed JSON must say so and where.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from _webhelp import assert_error, bearer, populate
from fastapi.testclient import TestClient

from healthwatch.store.db import dispose_engine
from healthwatch.web import create_app

LATIN_WORD = re.compile(r"[A-Za-z]{4,}")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    path = tmp_path_factory.mktemp("api-errors") / "db.sqlite"
    url = f"sqlite:///{path}"
    tokens = populate(url, ("admin",))
    yield TestClient(create_app(url)), tokens
    dispose_engine(url)


def _problems(r: Any) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = assert_error(r, 422, "invalid_request")["problems"]
    assert problems
    for p in problems:
        assert p["reason_en"] and p["reason_zh"]
        assert not (p["field"] or "").startswith(("body", "query.")) or p["field"] == "body"
    return problems


def _zh_only(text: str, allowed: tuple[str, ...] = ()) -> None:
    """No English words left in a Chinese reason (field names and values excepted)."""
    for word in allowed:
        text = text.replace(word, "")
    assert not LATIN_WORD.search(text), text


def test_missing_fields(api) -> None:
    client, _ = api
    problems = _problems(client.post("/api/v1/session", json={}))
    assert {p["field"] for p in problems} == {"username", "password"}
    for p in problems:
        assert p["reason_zh"] == f"缺少必填参数 {p['field']}"
        assert "required" in p["reason_en"].lower() and p["field"] in p["reason_en"]


def test_too_long(api) -> None:
    client, _ = api
    (p,) = _problems(client.post("/api/v1/session", json={"username": "x" * 65, "password": "y"}))
    assert p["field"] == "username"
    assert "过长" in p["reason_zh"] and "64" in p["reason_zh"]
    _zh_only(p["reason_zh"], ("username",))


def test_malformed_json_names_the_body_and_position(api) -> None:
    client, _ = api
    r = client.post(
        "/api/v1/session",
        content=b'{"username": "a", "password": }',
        headers={"content-type": "application/json"},
    )
    (p,) = _problems(r)
    assert p["field"] == "body"
    assert "JSON" in p["reason_zh"] and "第 31 个字符" in p["reason_zh"]
    assert "character 31" in p["reason_en"] and "JSON" in p["reason_en"]
    _zh_only(p["reason_zh"], ("JSON",))


def test_query_types_patterns_and_limits(api) -> None:
    client, tokens = api
    h = bearer(tokens["admin"])
    (p,) = _problems(client.get("/api/v1/warning/alerts?date_from=2024-13-45", headers=h))
    assert p["field"] == "date_from" and "日期" in p["reason_zh"]
    _zh_only(p["reason_zh"], ("date_from", "YYYY-MM-DD"))
    (p,) = _problems(client.get("/api/v1/warning/alerts?region=abc", headers=h))
    assert p["field"] == "region" and "格式" in p["reason_zh"]
    (p,) = _problems(client.get("/api/v1/plans/x/overview?lang=fr", headers=h))
    assert p["field"] == "lang"
    url = "/api/v1/users/admin/tokens"
    (p,) = _problems(client.post(url, json={"expires_days": 0}, headers=h))
    assert p["field"] == "expires_days" and "大于或等于 1" in p["reason_zh"]
    (p,) = _problems(client.post(url, json={"expires_days": "soon"}, headers=h))
    assert p["field"] == "expires_days" and p["reason_zh"] == "参数 expires_days 须为整数"
    (p,) = _problems(client.post(url, json=[1], headers=h))
    assert p["field"] is None and "对象" in p["reason_zh"]


# --- API details (issue 12.4) ----------------------------------------------------------------

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$")


def test_values_times_are_iso_utc_like_history(api) -> None:
    client, tokens = api
    h = bearer(tokens["admin"])
    text = (
        "region,period,element,value\n210302,2026,live_births,1180\n210302,2026,deliveries,1172\n"
    )
    files = {"file": ("births.csv", text.encode("utf-8"), "text/csv")}
    r = client.post("/api/v1/data/imports", files=files, headers=h)
    assert r.status_code == 200, r.text
    rows = client.get("/api/v1/data/values?region=210302&period=2026", headers=h).json()["values"]
    assert rows and all(ISO_UTC.match(row["stored_at"]) for row in rows), rows
    hist = client.get("/api/v1/data/history?region=210302&period=2026", headers=h)
    assert hist.status_code == 200, hist.text
    assert ISO_UTC.match(hist.json()["versions"][0]["stored_at"])


def test_unknown_region_of_values_is_404(api) -> None:
    client, tokens = api
    r = client.get("/api/v1/data/values?region=999999", headers=bearer(tokens["admin"]))
    body = assert_error(r, 404, "not_found")
    assert "999999" in body["message_zh"] and "999999" in body["message_en"]


def test_refused_alert_filter_does_not_speak_of_writing(api) -> None:
    client, tokens = api
    r = client.get("/api/v1/warning/alerts?status=bogus", headers=bearer(tokens["admin"]))
    body = assert_error(r, 422, "invalid_input")
    assert "written" not in body["message_en"] and "写入" not in body["message_zh"]
    (p,) = body["problems"]
    assert p["field"] == "status" and "bogus" in p["reason_zh"]
    assert "," not in p["reason_zh"] and "、open" in p["reason_zh"]  # one list separator


def test_evaluation_year_outside_the_plan_is_refused(api) -> None:
    client, tokens = api
    h = bearer(tokens["admin"])
    plan = client.get("/api/v1/plans", headers=h).json()[0]
    base = f"/api/v1/evaluation/{plan['id']}/status"
    for year in (1999, plan["start_year"] - 2, plan["end_year"] + 1):
        body = assert_error(client.get(f"{base}?as_of={year}", headers=h), 422, "invalid_input")
        (p,) = body["problems"]
        assert p["field"] == "as_of" and str(year) in p["reason_zh"]
        assert (
            str(plan["start_year"] - 1) in p["reason_en"]
            and str(plan["end_year"]) in p["reason_en"]
        )
    for year in (plan["start_year"] - 1, plan["end_year"]):
        assert client.get(f"{base}?as_of={year}", headers=h).status_code == 200
