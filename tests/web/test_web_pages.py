"""The HTML pages without a browser: login form, CSRF on forms, both languages, permissions."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from _webhelp import PASSWORD, login_form, populate
from fastapi.testclient import TestClient

from healthwatch.store.db import dispose_engine
from healthwatch.web import create_app
from healthwatch.web.i18n import SINGULAR_EN, TEXTS, counted

HTML = {"accept": "text/html"}
PAGES = ["/plans", "/findings", "/map", "/access", "/surveillance"]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'pages.sqlite'}"
    populate(db, ("admin", "anshan", "viewer"))
    yield db
    dispose_engine(db)


def _csrf(html: str) -> str:
    found = re.search(r'data-csrf="([0-9a-f]{64})"', html)
    assert found is not None
    return found.group(1)


def test_every_text_has_both_languages() -> None:
    symbols = {"switch_language", "comparator_>=", "comparator_<="}  # "English", "≥", "≤"
    for key, (zh, en) in TEXTS.items():
        assert zh.strip() and en.strip(), key
        assert CJK.search(zh) or key in symbols, key
        assert not CJK.search(en) or key == "switch_language", key


def test_counts_take_the_english_singular_for_one() -> None:
    assert set(SINGULAR_EN) <= set(TEXTS)
    assert counted("en", "data_rows", 1) == "1 row"
    assert counted("en", "data_rows", 2) == "2 rows"
    assert counted("en", "data_warnings", 0) == "0 warnings"
    assert counted("en", "data_warnings", 1) == "1 warning"
    assert counted("zh", "data_warnings", 1) == "1 条警告"
    assert counted("en", "data_inserted", 1) == "1 inserted"


def test_pages_send_anonymous_users_to_the_login_page(url: str) -> None:
    client = TestClient(create_app(url))
    for path in [*PAGES, "/users"]:
        r = client.get(path, headers=HTML, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"


def test_login_form_needs_its_csrf_cookie_and_refuses_foreign_redirects(url: str) -> None:
    client = TestClient(create_app(url))
    r = client.post("/login", data={"username": "viewer", "password": PASSWORD, "csrf_token": "x"},
                    headers=HTML, follow_redirects=False)  # fmt: skip
    assert r.status_code == 403 and "CSRF" not in r.text.split("<main>")[0]
    assert "表单已过期" in r.text or "CSRF" in r.text
    page = client.get("/login?next=//evil.example/x", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post("/login", data={"username": "viewer", "password": PASSWORD,
                                    "csrf_token": token.group(1), "next": "//evil.example/x"},
                    headers=HTML, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/plans"


def test_wrong_password_shows_the_message_in_the_chosen_language(url: str) -> None:
    client = TestClient(create_app(url))
    for lang, text in (("zh", "用户名或密码错误"), ("en", "Wrong user name or password")):
        client.cookies.set("hw_lang", lang)
        page = client.get("/login", headers=HTML)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        r = client.post("/login", data={"username": "viewer", "password": "Nope#12345",
                                        "csrf_token": token.group(1)}, headers=HTML)  # fmt: skip
        assert r.status_code == 401 and text in r.text


@pytest.mark.parametrize("path", PAGES)
def test_every_page_in_chinese_and_english(url: str, path: str) -> None:
    client = login_form(TestClient(create_app(url)), "viewer")
    zh = client.get(path, headers=HTML)
    assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text
    en = client.get(f"{path}?lang=en", headers=HTML)
    assert en.status_code == 200 and '<html lang="en">' in en.text
    # The interface (navigation, headings, table headers, buttons) has no Chinese left.
    chrome = re.findall(r"<(?:nav|h1|h2|th|button|label)[^>]*>(.*?)</", en.text, flags=re.S)
    assert chrome and not [c for c in chrome if CJK.search(c)]
    assert en.cookies.get("hw_lang") == "en" or client.cookies.get("hw_lang") == "en"
    assert '<html lang="en">' in client.get(path, headers=HTML).text  # the choice is kept


def test_plan_overview_page_shows_binding_first(url: str) -> None:
    client = login_form(TestClient(create_app(url)), "viewer")
    page = client.get("/plans?plan=liaoning-2021-2025", headers=HTML).text
    natures = re.findall(r'<tr class="nature-(\w+)"', page)
    assert natures[0] == "binding" and natures == sorted(
        natures, key=["binding", "expected", "not_stated"].index
    )
    assert len(natures) == 30 and "≥80 岁" in page


def test_logout_form_checks_csrf_and_ends_the_session(url: str) -> None:
    client = login_form(TestClient(create_app(url)), "viewer")
    csrf = _csrf(client.get("/plans", headers=HTML).text)
    r = client.post("/logout", data={"csrf_token": "bad"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?reason=logout"
    assert client.get("/plans", headers=HTML, follow_redirects=False).status_code == 303


def test_users_page_is_for_administrators_and_its_forms_need_csrf(url: str) -> None:
    reporter = login_form(TestClient(create_app(url)), "anshan")
    r = reporter.get("/users", headers=HTML)
    assert r.status_code == 403 and "manage_users" in r.text
    assert 'href="/users"' not in reporter.get("/plans", headers=HTML).text

    admin = login_form(TestClient(create_app(url)), "admin")
    page = admin.get("/users", headers=HTML)
    assert page.status_code == 200 and "哈希链完整" in page.text
    form = {"username": "haicheng", "password": PASSWORD, "role": "reporter", "region": "210381"}
    r = admin.post("/users", data=form, headers=HTML, follow_redirects=False)
    assert r.status_code == 403
    r = admin.post("/users", data={**form, "csrf_token": _csrf(page.text)}, headers=HTML,
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    listing = admin.get("/users", headers=HTML).text
    assert "haicheng" in listing and "user_added" in listing
    r = admin.post("/users/haicheng/disable", data={"csrf_token": _csrf(listing)}, headers=HTML,
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    weak = admin.post("/users", data={**form, "username": "x2", "password": "weak",
                                      "csrf_token": _csrf(listing)}, headers=HTML)  # fmt: skip
    assert weak.status_code == 422 and "密码长度至少为 8 位" in weak.text


def test_security_headers_and_no_cdn(url: str) -> None:
    client = login_form(TestClient(create_app(url)), "viewer")
    r = client.get("/map", headers=HTML)
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', r.text)
    assert scripts and all(s.startswith("/") for s in scripts)
    assert "/vendor/echarts/echarts.min.js" in scripts
    assert client.get("/vendor/echarts/echarts.min.js").status_code == 200


@pytest.mark.parametrize(
    "page",
    [
        "/map?plan=anshan-2021-2025&indicator=infant_mortality",
        "/data?period=2024&region=210302",
        "/plans",
    ],
)
def test_language_switch_keeps_the_path_and_query(url: str, page: str) -> None:
    """The switch link names this page with its query (less ``lang``); following it sets the
    cookie and lands on the same page with the same query, in the other language."""
    client = login_form(TestClient(create_app(url)), "admin")
    html = client.get(page + ("&" if "?" in page else "?") + "lang=zh", headers=HTML).text
    link = re.search(r'id="lang-switch" href="([^"]+)"', html)
    assert link is not None
    href = link.group(1).replace("&amp;", "&")
    assert href.startswith("/lang/en?next=")
    r = client.get(href, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == page  # path and query kept, the stale lang=zh dropped
    assert r.cookies.get("hw_lang") == "en" or "hw_lang=en" in r.headers["set-cookie"]
    back = client.get(r.headers["location"], headers=HTML)
    assert back.status_code == 200 and '<html lang="en">' in back.text


def test_every_page_form_post_goes_through_handle_form(url: str) -> None:
    """Each page's form post (users, data, evaluations, alert steps) takes the one path of
    :func:`healthwatch.web.forms.handle_form` (session, CSRF, the service with the user's actor,
    303), so none can skip a step. Login (no session yet; its own CSRF cookie) and logout (ends
    the session) are the two exceptions."""
    import importlib
    import inspect
    import pkgutil

    from fastapi.routing import APIRoute

    import healthwatch.web

    exempt = {"/login", "/logout"}
    modules = [
        importlib.import_module(f"healthwatch.web.{m.name}")
        for m in pkgutil.iter_modules(healthwatch.web.__path__)
        if m.name.startswith("pages")
    ]
    posts = [
        r
        for module in modules
        for r in module.router.routes
        if isinstance(r, APIRoute) and "POST" in r.methods
    ]
    paths = {r.path for r in posts}
    assert {"/users", "/users/{username}/{action}", "/warning/alerts/{alert_id}/{action}"} <= paths
    by_hand = [
        r.path
        for r in posts
        if r.path not in exempt and "handle_form(" not in inspect.getsource(r.endpoint)
    ]
    assert by_hand == []


def test_an_unknown_user_action_is_404_after_the_csrf_check(url: str) -> None:
    admin = login_form(TestClient(create_app(url)), "admin")
    csrf = _csrf(admin.get("/users", headers=HTML).text)
    r = admin.post("/users/anshan/frobnicate", data={"csrf_token": "0" * 64}, headers=HTML)
    assert r.status_code == 403
    r = admin.post("/users/anshan/frobnicate", data={"csrf_token": csrf}, headers=HTML)
    assert r.status_code == 404 and "没有这个操作。" in r.text
    r = admin.post("/users/anshan/frobnicate?lang=en", data={"csrf_token": csrf}, headers=HTML)
    assert r.status_code == 404 and "No such action." in r.text
