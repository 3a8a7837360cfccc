"""The web app's fast paths keep their promises (SQLite and PostgreSQL).

Authentication reads the session or token rows on every request (one indexed read, nothing
written within the touch interval), so a change made anywhere, even straight in the database as
another process would, acts at once; the dashboard answers are cached under the newest audit id,
so an audited change is shown at once; large answers go out gzip-compressed to clients that
accept it, with the same content.
"""

from __future__ import annotations

from datetime import timedelta

from _webhelp import assert_error, bearer, login, populate
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from healthwatch.plans import builtin_plans
from healthwatch.store.db import session_scope
from healthwatch.store.plans import save_plan
from healthwatch.store.user_models import ApiToken, SecurityEvent, User, WebSession
from healthwatch.web import create_app


def test_a_cached_answer_follows_an_audited_change_at_once(db_url: str) -> None:
    tokens = populate(db_url, ("analyst",))
    client = TestClient(create_app(db_url))
    auth = bearer(tokens["analyst"])
    before = {p["id"]: p for p in client.get("/api/v1/plans", headers=auth).json()}
    assert client.get("/api/v1/plans", headers=auth).json() == list(before.values())  # cached
    plan = builtin_plans()[1]
    changed = plan.model_copy(update={"name_en": plan.name_en + " (revised)"})
    with session_scope(db_url, actor="test") as s:
        assert save_plan(s, changed, actor="test") == before[plan.id]["version"] + 1
    after = {p["id"]: p for p in client.get("/api/v1/plans", headers=auth).json()}
    assert after[plan.id]["version"] == before[plan.id]["version"] + 1
    overview = client.get(f"/api/v1/plans/{plan.id}/overview?lang=en", headers=auth).json()
    assert overview["plan"]["version"] == after[plan.id]["version"]
    assert overview["plan"]["name_en"].endswith("(revised)")


def test_reads_write_nothing_within_a_minute_and_touch_after_it(db_url: str) -> None:
    populate(db_url, ("anshan",))
    client = TestClient(create_app(db_url))
    login(client, "anshan")
    with session_scope(db_url) as s:
        seen = s.scalars(select(WebSession.last_seen_at)).one()
        events = len(s.scalars(select(SecurityEvent)).all())
    for _ in range(5):
        assert client.get("/api/v1/plans").status_code == 200
    with session_scope(db_url) as s:
        assert s.scalars(select(WebSession.last_seen_at)).one() == seen  # nothing written
        assert len(s.scalars(select(SecurityEvent)).all()) == events
        s.execute(update(WebSession).values(last_seen_at=seen - timedelta(minutes=2)))
    assert client.get("/api/v1/me").status_code == 200  # due for a touch: written now
    with session_scope(db_url) as s:
        touched = s.scalars(select(WebSession.last_seen_at)).one()
    assert touched.replace(tzinfo=None) > seen.replace(tzinfo=None)


def test_a_touch_due_is_written_once_while_concurrent_requests_are_served(
    db_url: str, monkeypatch
) -> None:
    """Fifty connections of one client arrive together: one request writes the last-seen time,
    the others are answered without queueing for the same row (they used to stall the server)."""
    import asyncio

    import httpx

    from healthwatch.web import security

    populate(db_url, ("anshan",))
    app = create_app(db_url)
    client = TestClient(app)
    login(client, "anshan")
    cookies = dict(client.cookies)
    with session_scope(db_url) as s:
        seen = s.scalars(select(WebSession.last_seen_at)).one()
        s.execute(update(WebSession).values(last_seen_at=seen - timedelta(minutes=2)))
    writes = []
    real = security._writing_auth

    def counted(*args, **kwargs):
        writes.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(security, "_writing_auth", counted)

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", cookies=cookies
        ) as ac:
            answers = await asyncio.gather(*(ac.get("/api/v1/me") for _ in range(30)))
        return [a.status_code for a in answers]

    assert asyncio.run(burst()) == [200] * 30
    assert 1 <= len(writes) <= 2  # one, or two when a read overtook the first commit
    with session_scope(db_url) as s:
        touched = s.scalars(select(WebSession.last_seen_at)).one()
    assert touched.replace(tzinfo=None) > seen.replace(tzinfo=None)


def test_changes_made_outside_the_app_act_on_the_next_request(db_url: str) -> None:
    """As `healthwatch users disable` or `token revoke` in another process would."""
    tokens = populate(db_url, ("anshan", "viewer"))
    client = TestClient(create_app(db_url))
    login(client, "anshan")
    assert client.get("/api/v1/plans").status_code == 200
    assert client.get("/api/v1/plans", headers=bearer(tokens["viewer"])).status_code == 200
    with session_scope(db_url) as s:
        s.execute(update(User).where(User.username == "anshan").values(role="viewer"))
    assert client.get("/api/v1/me").json()["role"] == "viewer"
    with session_scope(db_url) as s:
        s.execute(update(User).where(User.username == "anshan").values(disabled=True))
        s.execute(update(ApiToken).values(revoked_at=ApiToken.created_at))
    assert_error(client.get("/api/v1/plans"), 401, "not_authenticated")
    refused = client.get("/api/v1/plans", headers=bearer(tokens["viewer"]))
    assert_error(refused, 401, "not_authenticated")


def test_large_answers_are_gzip_for_clients_that_accept_it(db_url: str) -> None:
    tokens = populate(db_url, ("viewer",))
    client = TestClient(create_app(db_url))
    auth = bearer(tokens["viewer"])
    for path in ("/api/v1/regions/210000/map", "/api/v1/findings"):
        zipped = client.get(path, headers={**auth, "Accept-Encoding": "gzip"})
        plain = client.get(path, headers={**auth, "Accept-Encoding": "identity"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert "Accept-Encoding" in zipped.headers["vary"]
        assert zipped.json() == plain.json()  # httpx decompresses: same content
        assert int(zipped.headers["content-length"]) < len(plain.content) / 2
        assert zipped.headers["cache-control"] == "no-store"  # headers still added


def test_a_cached_evaluation_answer_needs_no_thread_pool_hop_however_old(
    db_url: str, monkeypatch
) -> None:
    """The plan rows an evaluation request checks are kept per data version, so they do not
    go stale after ``cache_seconds``: a cached answer is served on the event loop (a hop to
    the thread pool per request cost 0.3 ms and put one endpoint's p95 over the target)."""
    from healthwatch.web import api_evaluate

    tokens = populate(db_url, ("analyst",))
    app = create_app(db_url)
    client = TestClient(app)
    auth = bearer(tokens["analyst"])
    path = "/api/v1/evaluation/liaoning-2021-2025/projects"
    first = client.get(path, headers=auth)
    assert first.status_code == 200
    app.state.settings.cache_seconds = 0.0  # every entry not keyed on the version is stale
    hops = []
    real = api_evaluate.run_in_threadpool

    async def counted(*args, **kwargs):
        hops.append(args[0])
        return await real(*args, **kwargs)

    monkeypatch.setattr(api_evaluate, "run_in_threadpool", counted)
    again = client.get(path, headers=auth)
    assert again.status_code == 200 and again.json() == first.json()
    assert hops == []
