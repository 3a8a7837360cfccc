"""The answer cache of the evaluation, data and warning reads (``api.cached_answer``).

What must hold, on SQLite and PostgreSQL: a second identical request is served from the cache
(the read function is not called again); an answer cached for one reader never reaches a reader
of another region (county reporters, duty officers); a write (upload, submission, approval,
alert step) changes the very next answer; permissions are checked on every request even when
the answer is cached; alert answers, whose ``overdue`` flag depends on the clock, are kept
until the first of their alerts turns overdue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _warninghelp import ANSHAN, SHENYANG, prepare
from _webhelp import bearer, populate
from fastapi.testclient import TestClient

from healthwatch.services import data as data_svc
from healthwatch.services import warning as warning_svc
from healthwatch.services.users import add_user, issue_token
from healthwatch.store.db import dispose_engine, session_scope
from healthwatch.users import LOCAL_ADMIN
from healthwatch.web import api_evaluate, create_app
from healthwatch.web import app as app_module

PERIOD = "2026"
TIEDONG, LISHAN = "210302", "210303"  # two counties of Anshan (210300)


def _csv(region: str, births: int) -> str:
    return "region,period,element,value\n" + "".join(
        f"{region},{PERIOD},{e},{v}\n"
        for e, v in (("live_births", births), ("deliveries", births - 5), ("infant_deaths", 4))
    )


def _extra_user(url: str, name: str, role: str, region: str) -> str:
    """One more user (the shared fixture has one county reporter only); its API token."""
    from unittest import mock

    from _webhelp import _one_hash

    from healthwatch.services import users as services_users

    with (
        mock.patch.object(services_users, "hash_password", _one_hash),
        session_scope(url) as s,
    ):
        add_user(s, LOCAL_ADMIN, name, "Liaoning#2025", role, region=region)
        return issue_token(s, LOCAL_ADMIN, name, name="test")[0]


class Counter:
    """Wraps a function and counts its outermost calls (how many answers were computed; some
    services call themselves once more with an open session)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
        self.calls = 0
        self.depth = 0
        real: Callable[..., Any] = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += self.depth == 0
            self.depth += 1
            try:
                return real(*args, **kwargs)
            finally:
                self.depth -= 1

        monkeypatch.setattr(owner, name, counted)


@pytest.fixture
def data_world(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    tokens = populate(db_url)
    tokens["lishan"] = _extra_user(db_url, "lishan", "reporter", LISHAN)
    yield TestClient(create_app(db_url)), tokens
    if db_url.startswith("sqlite"):
        dispose_engine(db_url)


def _get(client: TestClient, token: str, path: str, **params: Any) -> Any:
    r = client.get(f"/api/v1{path}", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def _upload(client: TestClient, token: str, text: str) -> None:
    files = {"file": ("v.csv", text.encode("utf-8"), "text/csv")}
    r = client.post("/api/v1/data/imports", files=files, headers=bearer(token))
    assert r.status_code == 200, r.text


def test_a_county_reporters_cached_data_never_reaches_another_county(
    data_world: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, tokens = data_world
    tie, lishan = tokens["tiedong"], tokens["lishan"]
    _upload(client, tie, _csv(TIEDONG, 1180))
    _upload(client, lishan, _csv(LISHAN, 2000))
    values = Counter(monkeypatch, data_svc, "current_values")
    status = Counter(monkeypatch, data_svc, "status")
    aggregate = Counter(monkeypatch, data_svc, "aggregate")

    def regions(token: str) -> set[str]:
        return {v["region"] for v in _get(client, token, "/data/values", period=PERIOD)["values"]}

    assert regions(tie) == {TIEDONG}
    assert regions(tie) == {TIEDONG} and values.calls == 1  # the repeat came from the cache
    assert regions(lishan) == {LISHAN} and values.calls == 2  # same URL, other scope: computed
    assert [s["region"] for s in _get(client, tie, "/data/status", period=PERIOD)] == [TIEDONG]
    assert [s["region"] for s in _get(client, lishan, "/data/status", period=PERIOD)] == [LISHAN]
    assert status.calls == 2

    def births(token: str) -> dict[str, Any]:
        rows = _get(
            client, token, "/data/aggregate", indicator="infant_mortality", period=[PERIOD],
            level=["county"],
        )  # fmt: skip
        return {r["region"]: r["numerator"] for r in rows if r["region"] in (TIEDONG, LISHAN)}

    mine, theirs = births(tie), births(lishan)
    assert births(tie) == mine and aggregate.calls == 2
    assert mine != theirs  # each sees its own draft only
    # the city reporter reads both counties' drafts: a third scope, its own answer
    assert regions(tokens["anshan"]) == {TIEDONG, LISHAN} and values.calls == 3


def _aggregate_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {r["region"]: r for r in rows}


def test_uploads_and_workflow_steps_change_the_next_answer_at_once(
    data_world: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, tokens = data_world
    tie, city, dalian = tokens["tiedong"], tokens["anshan"], tokens["dalian"]
    values = Counter(monkeypatch, data_svc, "current_values")
    assert _get(client, tie, "/data/values", period=PERIOD)["count"] == 0
    assert _get(client, tie, "/data/values", period=PERIOD)["count"] == 0
    assert values.calls == 1
    _upload(client, tie, _csv(TIEDONG, 1180))
    after = _get(client, tie, "/data/values", period=PERIOD)
    assert after["count"] == 3 and values.calls == 2
    _upload(client, tie, _csv(TIEDONG, 1190))  # a correction: a new version
    rows = _get(client, tie, "/data/values", period=PERIOD)["values"]
    assert {v["element"]: v["value"] for v in rows}["live_births"] == 1190

    def state(token: str) -> str:
        rows = _get(client, token, "/data/status", period=PERIOD, region=TIEDONG)
        return str(rows[0]["status"])

    assert state(tie) == "draft"
    r = client.post("/api/v1/data/submit", json={"region": TIEDONG, "period": PERIOD},
                    headers=bearer(tie))  # fmt: skip
    assert r.status_code == 200, r.text
    assert state(tie) == "submitted"
    # Dalian's reporter sees Tiedong's figures only once approved: then at once
    assert _get(client, dalian, "/data/values", period=PERIOD, region="210300")["count"] == 0
    r = client.post("/api/v1/data/approve", json={"region": TIEDONG, "period": PERIOD},
                    headers=bearer(city))  # fmt: skip
    assert r.status_code == 200, r.text
    assert state(tie) == "approved"
    assert _get(client, dalian, "/data/values", period=PERIOD, region="210300")["count"] == 3


def test_evaluation_answers_are_cached_but_permission_is_checked_every_time(
    data_world: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, tokens = data_world
    status = Counter(monkeypatch, api_evaluate, "plan_status")
    detail = Counter(monkeypatch, api_evaluate, "indicator_detail")
    path = "/evaluation/anshan-2021-2025"
    first = _get(client, tokens["anshan"], f"{path}/status", lang="en")
    assert _get(client, tokens["anshan"], f"{path}/status", lang="en") == first
    assert status.calls == 1
    # another reader allowed in Anshan gets the same answer from the cache
    assert _get(client, tokens["admin"], f"{path}/status", lang="en") == first
    assert status.calls == 1
    zh = _get(client, tokens["anshan"], f"{path}/status")  # the language is part of the key
    assert status.calls == 2 and zh["indicators"][0]["name"] != first["indicators"][0]["name"]
    # a county reporter may not read the city's evaluation, cached or not
    r = client.get(
        f"/api/v1{path}/status", params={"lang": "en"}, headers=bearer(tokens["tiedong"])
    )
    assert r.status_code == 403 and status.calls == 2
    r = client.get(f"/api/v1{path}/status", headers=bearer(tokens["dalian"]))
    assert r.status_code == 403

    one = _get(client, tokens["anshan"], f"{path}/indicators/infant_mortality")
    assert _get(client, tokens["anshan"], f"{path}/indicators/infant_mortality") == one
    assert detail.calls == 1
    county = _get(client, tokens["anshan"], f"{path}/indicators/infant_mortality", region=TIEDONG)
    assert detail.calls == 2 and county["region"]["adcode"] == TIEDONG
    r = client.get(
        f"/api/v1{path}/indicators/infant_mortality", params={"region": TIEDONG},
        headers=bearer(tokens["lishan"]),
    )  # fmt: skip
    assert r.status_code == 403

    # new data: the next answer is computed afresh and shows it
    _upload(client, tokens["anshan"], _csv(TIEDONG, 1180))
    _get(client, tokens["anshan"], f"{path}/status", lang="en")
    assert status.calls == 3


@pytest.fixture
def warning_world(
    db_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, dict[str, str], dict[str, int]]]:
    tokens = prepare(db_url, tmp_path)
    tokens["duty_shenyang"] = _extra_user(db_url, "duty-sy", "duty_officer", "210100")
    client = TestClient(create_app(db_url))
    alerts = client.get("/api/v1/warning/alerts", headers=bearer(tokens["admin"])).json()
    ids = {a["region"]: a["id"] for a in alerts}
    assert {ANSHAN, SHENYANG} <= set(ids), alerts
    yield client, tokens, ids
    if db_url.startswith("sqlite"):
        dispose_engine(db_url)


def test_alert_answers_are_scoped_changed_by_steps_and_short_lived(
    warning_world: tuple[TestClient, dict[str, str], dict[str, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, tokens, ids = warning_world
    listed = Counter(monkeypatch, warning_svc, "list_alerts")
    levels = Counter(monkeypatch, warning_svc, "open_levels")
    anshan, shenyang = tokens["duty"], tokens["duty_shenyang"]

    def regions(token: str, **query: Any) -> set[str]:
        return {a["region"] for a in _get(client, token, "/warning/alerts", **query)}

    assert regions(anshan) == {ANSHAN}
    assert regions(anshan) == {ANSHAN} and listed.calls == 1
    assert regions(shenyang) == {SHENYANG} and listed.calls == 2  # never Anshan's answer
    assert regions(anshan, status="new") == {ANSHAN} and listed.calls == 3  # the filter is keyed

    def map_levels(token: str) -> dict[str, str]:
        return dict(_get(client, token, "/warning/map")["levels"])

    assert set(map_levels(anshan)) == {ANSHAN}
    assert set(map_levels(shenyang)) == {SHENYANG} and levels.calls == 2
    assert set(map_levels(anshan)) == {ANSHAN} and levels.calls == 2
    # the detail of another region's alert stays absent, cached or not
    assert _get(client, anshan, f"/warning/alerts/{ids[ANSHAN]}")["status"] == "new"
    r = client.get(f"/api/v1/warning/alerts/{ids[ANSHAN]}", headers=bearer(shenyang))
    assert r.status_code == 404

    # acknowledging changes the next list and detail at once
    r = client.post(f"/api/v1/warning/alerts/{ids[ANSHAN]}/acknowledge", json={"note": "ok"},
                    headers=bearer(anshan))  # fmt: skip
    assert r.status_code == 200, r.text
    status = {a["id"]: a["status"] for a in _get(client, anshan, "/warning/alerts")}
    assert status[ids[ANSHAN]] == "acknowledged"
    assert _get(client, anshan, f"/warning/alerts/{ids[ANSHAN]}")["status"] == "acknowledged"
    assert regions(anshan, status="new") == set()
    assert set(map_levels(anshan)) == {ANSHAN}  # acknowledged is still open

    # the overdue flag depends on the clock: an alert answer is kept until the first of its
    # unverified alerts reaches its deadline, the map (open or not does not depend on the
    # clock) as long as the data version
    settings = client.app.state.settings  # type: ignore[attr-defined]
    rows = _get(client, anshan, "/warning/alerts")
    pending = [a for a in rows if a["status"] in ("new", "acknowledged") and not a["overdue"]]
    assert pending, rows
    first_due = min(datetime.fromisoformat(a["due_at"]).timestamp() for a in pending)
    before_list, before_map = listed.calls, levels.calls
    regions(anshan)
    map_levels(anshan)
    assert (listed.calls, levels.calls) == (before_list, before_map)  # both cached
    monkeypatch.setattr(app_module.time, "time", lambda: first_due - 1.0)
    regions(anshan)
    assert listed.calls == before_list  # a second before the deadline: still true
    monkeypatch.setattr(app_module.time, "time", lambda: first_due + 1.0)
    regions(anshan)
    map_levels(anshan)
    assert listed.calls == before_list + 1  # recomputed: that alert is now overdue
    assert levels.calls == before_map  # still cached
    assert settings.deadlines, "the alert answers carry their deadline"


def test_versioned_entries_outlive_cache_seconds_and_others_expire() -> None:
    """An entry keyed on the data version is never stale by age (only a new version replaces
    it); unversioned results expire after ``cache_seconds``; ``max_age`` caps both."""
    from healthwatch.web.app import Settings

    settings = Settings(cache_seconds=0.0)
    calls: list[str] = []

    def compute(name: str) -> str:
        calls.append(name)
        return name

    assert settings.cached("json:7:a", lambda: compute("a"), versioned=True) == "a"
    assert settings.cached("json:7:a", lambda: compute("a"), versioned=True) == "a"
    assert settings.peek("json:7:a", versioned=True) == "a"
    assert calls == ["a"]
    settings.cached("plain", lambda: compute("p"))
    settings.cached("plain", lambda: compute("p"))
    assert calls == ["a", "p", "p"]
    assert settings.peek("json:7:a", max_age=0.0, versioned=True) is None


def test_storing_an_evaluation_changes_the_cached_list_and_is_audited(
    data_world: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    """The evaluations list is cached; running one (an audited insert that does not copy the
    result document into the audit log) shows in the very next answer."""
    from healthwatch.store.audit import audit_trail

    client, tokens = data_world
    listing = Counter(monkeypatch, api_evaluate, "stored")
    before = _get(client, tokens["admin"], "/evaluations")
    assert _get(client, tokens["anshan"], "/evaluations") == before
    assert listing.calls == 1
    r = client.post(
        "/api/v1/evaluations",
        json={"plan": "anshan-2021-2025", "as_of": 2024},
        headers=bearer(tokens["anshan"]),
    )
    assert r.status_code == 201, r.text
    new_id = r.json()["evaluation_id"]
    after = _get(client, tokens["admin"], "/evaluations")
    assert listing.calls == 2 and len(after) == len(before) + 1
    assert after[0]["id"] == new_id
    with session_scope(db_url) as s:
        entries = audit_trail(s, entity="evaluations", entity_key=str(new_id))
    assert len(entries) == 1 and entries[0]["action"] == "insert"
    assert entries[0]["after"]["plan_id"] == "anshan-2021-2025"
    assert "document" not in entries[0]["after"] and "summary" not in entries[0]["after"]
