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
