"""Helpers shared by the web tests: a database with one user per role, logged-in clients."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from conftest import free_port
from fastapi.testclient import TestClient

from healthwatch.services import users as services_users
from healthwatch.services.database import load_builtin
from healthwatch.services.users import add_user, issue_token
from healthwatch.store.db import dispose_engine, session_scope
from healthwatch.users import LOCAL_ADMIN, passwords

PASSWORD = "Liaoning#2025"
CHROMIUM = "/usr/bin/chromium"

#: username -> (role, region scope)
USERS: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "cityadmin": ("admin", "210300"),
    "analyst": ("analyst", None),
    "anshan": ("reporter", "210300"),
    "tiedong": ("reporter", "210302"),
    "dalian": ("reporter", "210200"),
    "viewer": ("viewer", "210000"),
    "duty": ("duty_officer", "210300"),
}


@functools.cache
def _one_hash(password: str) -> str:
    return passwords.hash_password(password)


def populate(db: str, names: tuple[str, ...] | None = None) -> dict[str, str]:
    """Create the users (all by default); returns a bearer token for each.

    Argon2 is slow by design (about 1 s per hash on a loaded 2-core machine), so the fixture
    users share one genuine Argon2 hash of :data:`PASSWORD`; add_user's own hashing is tested
    in tests/users. The database is created and the built-in reference data (regions,
    populations, plans) loaded first, as ``healthwatch demo`` does for a user: opening a session
    never creates or fills one.
    """
    tokens: dict[str, str] = {}
    with (
        mock.patch.object(services_users, "hash_password", _one_hash),
        session_scope(db, create=True) as s,
    ):
        load_builtin(s)
        for name, (role, region) in USERS.items():
            if names is None or name in names:
                add_user(s, LOCAL_ADMIN, name, PASSWORD, role, region=region)
                tokens[name] = issue_token(s, LOCAL_ADMIN, name, name="test")[0]
    return tokens


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the API; returns the CSRF token (the cookie stays in the client)."""
    r = client.post("/api/v1/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["user"]["csrf_token"]
    return token


def login_form(
    client: TestClient, username: str, next_: str = "/plans", password: str = PASSWORD
) -> TestClient:
    """Log in through the login page as a browser does (its CSRF token, then the form);
    the session cookie stays in ``client``, which is returned."""
    page = client.get(f"/login?next={next_}", headers={"accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"username": username, "password": password, "csrf_token": token.group(1), "next": next_}
    r = client.post("/login", data=form, headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == next_, r.text
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(r: Any, status: int, code: str) -> dict[str, Any]:
    """The answer is the JSON error format: code, both messages, problems."""
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    assert body["message_zh"] and body["message_en"]
    assert isinstance(body["problems"], list)
    return body


def require_chromium() -> str:
    """Debian's chromium and the Playwright package, or skip (but fail under CI=true)."""
    missing = []
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        missing.append("chromium (apt-get install chromium, or scripts/setup-web)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python playwright package")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must run them", pytrace=False)
        pytest.skip(message)
    return CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))


REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def serving(db_file: str | Path, folder: Path) -> Iterator[str]:
    """The real ``healthwatch serve`` on ``db_file`` in a subprocess; yields its address.

    The server's output goes to ``folder/server.log``, shown if it dies before answering.
    """
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HEALTHWATCH_DB": str(db_file)}
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "healthwatch", "serve", "--port", str(port), "--db",
             str(db_file)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    with urllib.request.urlopen(f"{base}/api/v1/health", timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None:
                        pytest.fail(log_path.read_text())
                    time.sleep(0.5)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@contextlib.contextmanager
def serving_populated(
    folder: Path, names: tuple[str, ...], *extra: Callable[[str], Any]
) -> Iterator[str]:
    """For browser tests: the real server on a new SQLite database in ``folder`` holding the
    test users ``names`` (and what each ``extra(url)`` adds); yields its address."""
    require_chromium()
    db = folder / "e2e.sqlite"
    url = f"sqlite:///{db}"
    populate(url, names)
    for add in extra:
        add(url)
    dispose_engine(url)
    with serving(db, folder) as base:
        yield base


def screenshot(pg: Any, tmp_path: Path, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot as a test artefact (and to ``$HEALTHWATCH_SCREENSHOTS``, which
    ``HEALTHWATCH_SCREENSHOTS=docs/web`` points at docs/web.md's pictures)."""
    path = tmp_path / f"{name}.png"
    pg.screenshot(path=str(path), full_page=full_page)
    target = os.environ.get("HEALTHWATCH_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
    assert path.stat().st_size > 10_000  # a drawn page, not a blank one
    return path


@contextlib.contextmanager
def browser_page(timeout_ms: int = 90_000) -> Iterator[Any]:
    """A page in headless Debian chromium (Playwright), 1400x900, zh-CN, downloads accepted.

    ``page.errors`` collects script errors and console errors (CSP violations included), so a
    test can assert that a page ran cleanly. The timeout is generous for a loaded 2-core CI
    machine; pages normally take well under a second (benchmarks/web_pages.py).
    """
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(
            viewport={"width": 1400, "height": 900}, locale="zh-CN", accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.errors = errors
        try:
            yield page
        finally:
            context.close()
            browser.close()
