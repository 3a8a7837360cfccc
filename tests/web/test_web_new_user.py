"""What a new user met on the demo's pages (issue 12), on SQLite and PostgreSQL.

Each test reads the page as a browser gets it (HTML through TestClient) and checks what the user
sees: the target cells of /access, the plan a region-bound user lands on and the links it offers,
the error page's layout, the indicator chart's target line, the default of /projects, the
post/redirect/get of /data uploads and the users form after a refusal.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from _webhelp import login_form, populate
from conftest import postgres_database
from fastapi.testclient import TestClient

from healthwatch.services.data import load_demo_data
from healthwatch.store.db import dispose_engine
from healthwatch.users import LOCAL_ADMIN
from healthwatch.web import create_app

HTML = {"accept": "text/html"}
LIAONING, ANSHAN = "liaoning-2021-2025", "anshan-2021-2025"
SIGN = {"at_least": "≥", "at_most": "≤", "equal": "=", "below": "<"}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The demo's data (plans, synthetic panel, facilities) and one user per role and scope."""
    if request.param == "sqlite":
        db = f"sqlite:///{tmp_path_factory.mktemp('newuser') / 'demo.sqlite'}"
        populate(db)
        load_demo_data(db, actor=LOCAL_ADMIN)
        yield create_app(db)
        dispose_engine(db)
    else:
        for db in postgres_database():
            populate(db)
            load_demo_data(db, actor=LOCAL_ADMIN)
            yield create_app(db)


def _client(app: Any, username: str) -> TestClient:
    """One logged-in client per user and app: logging in again for every test would run into
    the login rate limit (all test clients share one address)."""
    clients: dict[str, TestClient] = app.state.__dict__.setdefault("test_clients", {})
    if username not in clients:
        clients[username] = _login(app, username)
    return clients[username]


def _login(app: Any, username: str) -> TestClient:
    return login_form(TestClient(app), username)


def _page_data(html: str) -> Any:
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html)
    assert found is not None
    return json.loads(found.group(1))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_access_target_cells_show_the_comparator_of_the_target_kind(app: Any, lang: str) -> None:
    client = _client(app, "viewer")
    by_name = {}  # the resource column shows the target's name in the page's language
    for t in client.get("/api/v1/access/ratios").json()["targets"]["resources"]:
        by_name[t["name_zh"]] = by_name[t["name_en"]] = t["target"]
    html = client.get(f"/access?lang={lang}", headers=HTML).text
    assert "comparator_" not in html
    table = re.search(r'<table id="ratios".*?</table>', html, flags=re.S)
    assert table is not None
    rows = re.findall(r"<tr class=\"status-\w+\">(.*?)</tr>", table.group(0), flags=re.S)
    assert rows
    kinds = set()
    for row in rows:
        name = re.findall(r"<td>(.*?)</td>", row)[1]
        cell = re.search(r'<td class="target">(.*?)</td>', row)
        assert cell is not None
        target = by_name[name]
        kinds.add(target["kind"])
        value = f"{target['value']:g}"
        if target["kind"] == "approximately":
            assert cell.group(1) == ("about " if lang == "en" else "约 ") + value
        else:
            assert cell.group(1) == f"{SIGN[target['kind']]} {value}"
    assert {"at_least", "approximately"} <= kinds


@pytest.mark.parametrize("username", ["anshan", "tiedong", "duty", "dalian"])
def test_region_bound_users_land_on_a_plan_they_may_read_and_every_link_opens(
    app: Any, username: str
) -> None:
    client = _client(app, username)
    plans = client.get("/api/v1/plans").json()
    for query in ["", *(f"?plan={p['id']}" for p in plans)]:
        html = client.get(f"/plans{query}", headers=HTML).text
        links = [h.replace("&amp;", "&") for h in re.findall(r'href="(/indicators/[^"]+)"', html)]
        for link in links:
            assert client.get(link, headers=HTML).status_code == 200, (username, link)
        if not query:  # the default is a plan with indicator pages this user can open
            assert links, username
    for page in ("/plans", "/projects", "/evaluations"):
        assert client.get(page, headers=HTML).status_code == 200, (username, page)
    for link in re.findall(r"<nav>(.*?)</nav>", client.get("/plans", headers=HTML).text, re.S):
        for href in re.findall(r'href="(/[^"/][^"]*)"', link):
            if not href.startswith("/api"):
                assert client.get(href, headers=HTML).status_code == 200, (username, href)


def test_a_city_user_opens_its_city_plan_by_default(app: Any) -> None:
    html = _client(app, "anshan").get("/plans", headers=HTML).text
    assert f'<option value="{ANSHAN}" selected>' in html
    assert f'href="/indicators/{ANSHAN}/' in html
    html = _client(app, "viewer").get("/plans", headers=HTML).text  # a provincial user
    assert f'<option value="{LIAONING}" selected>' in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_error_page_keeps_the_navigation_and_the_language_switch(app: Any, lang: str) -> None:
    client = _client(app, "anshan")
    code = re.search(
        rf'href="/indicators/{LIAONING}/(\w+)',
        client.get(f"/plans?plan={LIAONING}", headers=HTML).text,
    )
    assert code is not None
    r = client.get(f"/indicators/{LIAONING}/{code.group(1)}?lang={lang}", headers=HTML)
    assert r.status_code == 403
    assert "<nav>" in r.text and 'href="/projects"' in r.text
    assert 'id="lang-switch"' in r.text and 'id="current-user">anshan<' in r.text
    assert ("210300" in r.text) and ('role="alert"' in r.text)


@pytest.mark.parametrize("username", ["viewer", "admin", "anshan", "duty"])
def test_projects_opens_a_plan_with_projects_that_the_user_may_read(
    app: Any, username: str
) -> None:
    client = _client(app, username)
    html = client.get("/projects", headers=HTML).text
    assert 'id="projects"' in html and 'data-project="' in html, username
    options = re.findall(r'<option value="([^"]+)"', html)
    assert {LIAONING, ANSHAN} <= set(options)  # the plan chooser is still there
    chosen = re.search(r'<option value="([^"]+)" selected', html)
    assert chosen is not None
    api = client.get(f"/api/v1/evaluation/{chosen.group(1)}/projects")
    assert api.status_code == 200 and api.json()["projects"]
    liaoning = client.get(f"/projects?plan={LIAONING}", headers=HTML)
    assert liaoning.status_code == 200 and 'id="projects"' not in liaoning.text


def test_indicator_chart_draws_the_target_of_every_kind_and_names_the_forecast_year(
    app: Any,
) -> None:
    client = _client(app, "viewer")
    status = client.get(f"/api/v1/evaluation/{LIAONING}/status").json()
    kinds: dict[str, str] = {}
    for row in status["indicators"]:
        kind = row["target"].get("kind")
        if kind in ("at_least", "at_most") and row["target"].get("value") is not None:
            kinds.setdefault(kind, row["code"])
    assert set(kinds) == {"at_least", "at_most"}
    for kind, code in kinds.items():
        html = client.get(f"/indicators/{LIAONING}/{code}?lang=en", headers=HTML).text
        data = _page_data(html)
        detail = data["detail"]
        target = detail["indicator"]["target"]
        goal = target["goal"] if target["goal"] is not None else target["value"]
        assert detail["target_path"] and detail["target_path"][-1] == [target["year"], goal]
        assert detail["target_goal"] == goal, kind
        bound = "low" if kind == "at_least" else "high"
        assert detail["target_band"][bound] == goal, kind
        label = data["labels"]["forecast_value"]
        assert re.fullmatch(r"Forecast for \d{4}", label), label


@pytest.mark.parametrize(
    ("entries", "zh", "en"),
    [
        ({"password": "weak", "region": "210381"}, "密码长度至少为 8 位", "at least 8"),
        ({"region": "999999"}, "999999", "999999"),
    ],
)
def test_a_refused_new_user_is_shown_on_the_users_page_with_the_entries_kept(
    app: Any, entries: dict[str, str], zh: str, en: str
) -> None:
    client = _client(app, "admin")
    page = client.get("/users", headers=HTML).text
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
    assert csrf is not None
    secret = "Unique#Secret-" + secrets.token_hex(4)
    form = {"csrf_token": csrf.group(1), "username": "haicheng2", "display_name": "海城 填报员",
            "password": secret, "role": "duty_officer", **entries}  # fmt: skip
    r = client.post("/users", data=form, headers=HTML, follow_redirects=False)
    assert r.status_code in (400, 403, 404, 422), r.text
    assert 'id="add-user"' in r.text and 'id="users"' in r.text  # the users page, not an error page
    shown = r.text.split('id="add-user-error"')[1].split("</section>")[0]
    assert zh in shown and en in shown.lower()  # Chinese and English
    kept = r.text.split('id="add-user"')[1].split("</form>")[0]
    assert 'name="username" required maxlength="64" value="haicheng2"' in kept
    assert 'value="海城 填报员"' in kept
    assert '<option value="duty_officer" selected>' in kept
    assert f'value="{form["region"]}"' in kept
    assert secret not in r.text and form["password"] not in kept.split('name="password"')[1][:80]
    assert "haicheng2" not in client.get("/users", headers=HTML).text.split('id="add-user"')[0]


@pytest.mark.parametrize(
    ("username", "start", "above"),
    [
        ("duty", "210300", ["210000"]),  # a duty officer of Anshan
        ("tiedong", "210302", ["210000", "210300"]),  # a county reporter
        ("dalian", "210200", ["210000"]),
        ("viewer", "210000", []),  # a provincial user
        ("admin", "210000", []),  # no region: the province
    ],
)
def test_the_map_opens_at_the_users_own_region_with_the_way_up(
    app: Any, username: str, start: str, above: list[str]
) -> None:
    client = _client(app, username)
    data = _page_data(client.get("/map", headers=HTML).text)
    assert data["start"] == start and data["above"] == above
    for adcode in [*above, start]:  # every step up draws
        assert client.get(f"/api/v1/regions/{adcode}/map").status_code == 200
    named = _page_data(client.get("/map?region=210000", headers=HTML).text)
    assert named["start"] == "210000" and named["above"] == []
