"""The demo's logins (healthwatch.services.demo_users) on SQLite and PostgreSQL.

Argon2 is slow by design, so hashing is replaced by a fast stand-in here; the real hashes and
logging in with the printed passwords are tested in tests/test_demo.py.
"""

from __future__ import annotations

import hashlib
from unittest import mock

import pytest

from healthwatch.errors import PermissionDeniedError
from healthwatch.services import users as svc
from healthwatch.services.database import install_builtin
from healthwatch.services.demo_users import (
    DEMO_ACCOUNTS,
    DEMO_MARK,
    ensure_demo_users,
    generate_password,
)
from healthwatch.store.db import session_scope
from healthwatch.store.user_models import User
from healthwatch.users import LOCAL_ADMIN, Actor, Role
from healthwatch.users.passwords import password_problems


def _fast_hash(password: str) -> str:
    return "test$" + hashlib.sha256(password.encode()).hexdigest()


@pytest.fixture
def db(db_url: str) -> str:
    install_builtin(db_url)
    return db_url


def test_generated_passwords_meet_the_policy_and_differ() -> None:
    made = {generate_password("demo-admin") for _ in range(200)}
    assert len(made) == 200
    for password in made:
        assert not password_problems(password, "demo-admin")
        assert len(password) == 23 and password.count("-") == 3
        assert not set(password) & set("0O1lI")  # no look-alikes in a printed password


def test_demo_users_are_created_reset_and_disabled_ones_left_alone(db: str) -> None:
    with mock.patch.object(svc, "hash_password", _fast_hash), session_scope(db) as s:
        first = ensure_demo_users(s, LOCAL_ADMIN)
    assert [r["status"] for r in first] == ["created"] * len(DEMO_ACCOUNTS)
    with session_scope(db) as s:
        svc.set_disabled(s, LOCAL_ADMIN, "demo-admin", True)
        # a lockout is cleared by the reset
        s.query(User).filter_by(username="demo-viewer").one().failed_logins = 4
    with mock.patch.object(svc, "hash_password", _fast_hash), session_scope(db) as s:
        second = {r["username"]: r for r in ensure_demo_users(s, LOCAL_ADMIN)}
    assert second["demo-admin"]["status"] == "disabled"
    assert second["demo-admin"]["password"] is None
    assert second["demo-viewer"]["status"] == "reset"
    with session_scope(db) as s:
        admin = s.query(User).filter_by(username="demo-admin").one()
        viewer = s.query(User).filter_by(username="demo-viewer").one()
        assert admin.disabled  # never re-enabled by the demo
        assert viewer.failed_logins == 0
        assert viewer.password_hash == _fast_hash(second["demo-viewer"]["password"])
        events = [r["event"] for r in svc.security_log(s, LOCAL_ADMIN, subject="demo-viewer")]
    assert events.count("password_changed") == 1 and "user_added" in events


def test_a_real_account_with_a_demo_name_is_not_touched(db: str) -> None:
    with session_scope(db) as s:
        svc.add_user(s, LOCAL_ADMIN, "demo-duty", "Liaoning#2025", "viewer", display_name="王")
        before = s.query(User).filter_by(username="demo-duty").one().password_hash
    with mock.patch.object(svc, "hash_password", _fast_hash), session_scope(db) as s:
        rows = {r["username"]: r for r in ensure_demo_users(s, LOCAL_ADMIN)}
    assert rows["demo-duty"]["status"] == "not_demo" and rows["demo-duty"]["password"] is None
    with session_scope(db) as s:
        user = s.query(User).filter_by(username="demo-duty").one()
        assert (user.password_hash, user.role, user.display_name) == (before, "viewer", "王")
        marked = s.query(User).filter(User.display_name.contains(DEMO_MARK)).count()
    assert marked == len(DEMO_ACCOUNTS) - 1


def test_only_a_province_wide_administrator_creates_them(db: str) -> None:
    city_admin = Actor("cityadmin", Role.ADMIN, "210300")
    with pytest.raises(PermissionDeniedError), session_scope(db) as s:
        ensure_demo_users(s, city_admin)
    with session_scope(db) as s:
        assert s.query(User).count() == 0  # nothing written
