"""Users store and service (healthwatch.services.users) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from healthwatch.errors import InputError, NotFoundError, PermissionDeniedError
from healthwatch.services import users as svc
from healthwatch.store.db import get_engine, session_scope
from healthwatch.store.user_models import ApiToken, SecurityEvent, User, WebSession
from healthwatch.users import LOCAL_ADMIN, Actor, Role
from healthwatch.users.passwords import AuthenticationError, password_problems

GOOD = "Liaoning#2025"


def _add(db: str, username: str, role: str = "reporter", region: str | None = "210300") -> None:
    with session_scope(db) as s:
        svc.add_user(s, LOCAL_ADMIN, username, GOOD, role, region=region)


def _events(db: str, subject: str | None = None) -> list[str]:
    with session_scope(db) as s:
        rows = svc.security_log(s, LOCAL_ADMIN, subject=subject)
    return [r["event"] for r in reversed(rows)]


@pytest.mark.parametrize(
    ("password", "broken"),
    [
        ("Ab1#", {"length"}),
        ("abcdefgh1", {"classes"}),
        ("ABCDEFGH", {"classes"}),
        ("Xwang-2025", {"username"}),
        ("xWANG2025a", {"username"}),
        ("aaaa#bbb", {"classes"}),
        (" Ab1#cdef", {"spaces"}),
        ("Ab1#cdef", set()),
        (
            "短密码Ab1",
            {"classes"},
        ),  # Chinese characters count as "other"; no digits/upper? see below
    ],
)
def test_password_complexity(password: str, broken: set[str]) -> None:
    reasons = {p.reason_en for p in password_problems(password, "wang")}
    keys = {
        "length": "at least 8",
        "classes": "three of",
        "username": "user name",
        "spaces": "spaces",
    }
    if password == "短密码Ab1":
        # 6 characters: too short; four classes present (upper, lower, digit, other).
        assert any(keys["length"] in r for r in reasons)
        assert not any(keys["classes"] in r for r in reasons)
        return
    found = {k for k, v in keys.items() if any(v in r for r in reasons)}
    assert found == broken


def test_add_user_stores_argon2_and_refuses_every_problem_at_once(seeded_db_url: str) -> None:
    with session_scope(seeded_db_url) as s:
        row = svc.add_user(s, LOCAL_ADMIN, "anshan", GOOD, "reporter", region="210300")
    assert row["role"] == "reporter" and row["region"] == "210300" and not row["disabled"]
    with session_scope(seeded_db_url) as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "anshan"))
    assert stored is not None and stored.startswith("$argon2id$") and GOOD not in stored

    with session_scope(seeded_db_url) as s, pytest.raises(InputError) as err:
        svc.add_user(s, LOCAL_ADMIN, "anshan", "short", "boss", region="999999")
    fields = sorted(p.field or "" for p in err.value.problems)
    # duplicate name, bad role, unknown region, two password rules
    assert fields == ["password", "password", "region", "role", "username"]
    with session_scope(seeded_db_url) as s:
        assert [u["username"] for u in svc.list_users(s, LOCAL_ADMIN)] == ["anshan"]


def test_only_admins_in_scope_manage_users(seeded_db_url: str) -> None:
    _add(seeded_db_url, "anshan")
    city_admin = Actor("cityadmin", Role.ADMIN, "210300")
    analyst = Actor("ana", Role.ANALYST, None)
    with session_scope(seeded_db_url) as s:
        with pytest.raises(PermissionDeniedError):
            svc.add_user(s, analyst, "x1", GOOD, "viewer")
        with pytest.raises(PermissionDeniedError):
            svc.add_user(s, city_admin, "dalian1", GOOD, "reporter", region="210200")
        with pytest.raises(PermissionDeniedError):  # province-wide account from a city admin
            svc.add_user(s, city_admin, "wide1", GOOD, "viewer", region=None)
        svc.add_user(s, city_admin, "tiedong", GOOD, "reporter", region="210302")
        with pytest.raises(PermissionDeniedError):  # moving a user out of the admin's city
            svc.set_role(s, city_admin, "tiedong", "reporter", region="210202", change_region=True)
        with pytest.raises(PermissionDeniedError):
            svc.set_role(s, analyst, "anshan", "admin")
        with pytest.raises(PermissionDeniedError):
            svc.set_disabled(s, analyst, "anshan")
        assert [u["username"] for u in svc.list_users(s, city_admin)] == ["anshan", "tiedong"]


def test_role_and_region_changes_are_in_the_security_log(seeded_db_url: str) -> None:
    _add(seeded_db_url, "anshan")
    with session_scope(seeded_db_url) as s:
        row = svc.set_role(s, LOCAL_ADMIN, "anshan", "analyst", region=None, change_region=True)
    assert (row["role"], row["region"]) == ("analyst", None)
    with session_scope(seeded_db_url) as s:
        entry = svc.security_log(s, LOCAL_ADMIN, event="role_changed")[0]
    assert entry["actor"] == "local-admin" and entry["subject"] == "anshan"
    assert entry["detail"] == {
        "before": {"role": "reporter", "region": "210300"},
        "after": {"role": "analyst", "region": None},
    }


def test_authenticate_locks_after_five_failures_for_fifteen_minutes(seeded_db_url: str) -> None:
    _add(seeded_db_url, "anshan")
    actor = svc.authenticate(seeded_db_url, "anshan", GOOD, source="test")
    assert actor == Actor("anshan", Role.REPORTER, "210300")
    for _ in range(4):
        with pytest.raises(AuthenticationError, match="用户名或密码错误"):
            svc.authenticate(seeded_db_url, "anshan", "Wrong#pass1")
    with pytest.raises(AuthenticationError, match="locked until"):
        svc.authenticate(seeded_db_url, "anshan", "Wrong#pass1")
    # Locked: even the right password is refused, and that refusal is logged too.
    with pytest.raises(AuthenticationError, match="锁定"):
        svc.authenticate(seeded_db_url, "anshan", GOOD)
    assert _events(seeded_db_url, "anshan") == [
        "user_added",
        "login",
        *["login_failed"] * 5,
        "lockout",
        "login_refused",
    ]
    with session_scope(seeded_db_url) as s:
        user = s.scalar(select(User).where(User.username == "anshan"))
        assert user is not None and user.locked_until is not None
        locked_for = svc._aware(user.locked_until) - svc._aware(user.password_changed_at)
        assert timedelta(minutes=14) < locked_for < timedelta(minutes=16)
        # The lockout expires: move it into the past and the right password works again.
        user.locked_until = user.locked_until - timedelta(minutes=16)
    assert svc.authenticate(seeded_db_url, "anshan", GOOD).username == "anshan"


def test_unknown_user_and_wrong_password_give_the_same_answer(seeded_db_url: str) -> None:
    _add(seeded_db_url, "anshan")
    with pytest.raises(AuthenticationError) as unknown:
        svc.authenticate(seeded_db_url, "nobody", GOOD)
    with pytest.raises(AuthenticationError) as wrong:
        svc.authenticate(seeded_db_url, "anshan", "Wrong#pass1")
    assert unknown.value.message_en == wrong.value.message_en


def test_disabled_user_cannot_log_in_act_or_use_tokens(seeded_db_url: str) -> None:
    _add(seeded_db_url, "anshan")
    with session_scope(seeded_db_url) as s:
        token, _ = svc.issue_token(s, LOCAL_ADMIN, "anshan", name="ingest")
        assert svc.resolve_token(s, token).username == "anshan"
        svc.set_disabled(s, LOCAL_ADMIN, "anshan")
    with pytest.raises(AuthenticationError, match="停用"):
        svc.authenticate(seeded_db_url, "anshan", GOOD)
    with session_scope(seeded_db_url) as s:
        with pytest.raises(AuthenticationError):
            svc.resolve_token(s, token)
        with pytest.raises(PermissionDeniedError, match="已停用"):
            svc.actor_for(s, "anshan")
        with pytest.raises(NotFoundError, match="nobody"):
            svc.actor_for(s, "nobody")
        svc.set_disabled(s, LOCAL_ADMIN, "anshan", False)
        assert svc.actor_for(s, "anshan") == Actor("anshan", Role.REPORTER, "210300")


def test_tokens_are_stored_hashed_resolve_revoke_and_expire(seeded_db_url: str) -> None:
    _add(seeded_db_url, "anshan")
    with session_scope(seeded_db_url) as s:
        token, row = svc.issue_token(s, LOCAL_ADMIN, "anshan", name="ingest")
        short, _ = svc.issue_token(s, LOCAL_ADMIN, "anshan", expires_days=1)
    with session_scope(seeded_db_url) as s:
        stored = list(s.scalars(select(ApiToken.token_hash)))
        assert token not in stored and len(stored) == 2
        assert svc.resolve_token(s, token) == Actor("anshan", Role.REPORTER, "210300")
        with pytest.raises(AuthenticationError):
            svc.resolve_token(s, token + "x")
        expiring = s.scalar(select(ApiToken).where(ApiToken.id != row["id"]))
        assert expiring is not None and expiring.expires_at is not None
        expiring.expires_at = expiring.expires_at - timedelta(days=2)
    with session_scope(seeded_db_url) as s:
        with pytest.raises(AuthenticationError):
            svc.resolve_token(s, short)
        svc.revoke_token(s, LOCAL_ADMIN, row["id"])
    with session_scope(seeded_db_url) as s:
        with pytest.raises(AuthenticationError):
            svc.resolve_token(s, token)
        with pytest.raises(PermissionDeniedError):  # a reporter may not revoke others' tokens
            svc.revoke_token(s, Actor("other", Role.REPORTER, "210200"), row["id"])
    assert _events(seeded_db_url, "anshan")[-3:] == [
        "token_issued",
        "token_issued",
        "token_revoked",
    ]


def test_security_log_is_append_only_in_the_database(seeded_db_url: str) -> None:
    _add(seeded_db_url, "anshan")
    engine = get_engine(seeded_db_url)
    for statement in ("UPDATE security_log SET actor = 'x'", "DELETE FROM security_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with pytest.raises(PermissionDeniedError), session_scope(seeded_db_url) as s:
        entry = s.scalars(select(SecurityEvent)).first()
        assert entry is not None
        s.delete(entry)
    assert _events(seeded_db_url) == ["user_added"]


def test_hash_chain_detects_a_changed_row(seeded_db_url: str) -> None:
    _add(seeded_db_url, "anshan")
    _add(seeded_db_url, "tiedong")
    with pytest.raises(AuthenticationError):
        svc.authenticate(seeded_db_url, "anshan", "Wrong#pass1")
    with session_scope(seeded_db_url) as s:
        assert svc.verify_security_log(s) == {
            "ok": True,
            "entries": 3,
            "first_bad_id": None,
            "reason_en": "",
            "reason_zh": "",
        }
        second = s.scalars(select(SecurityEvent).order_by(SecurityEvent.id)).all()[1]
        second_id = second.id
    # Someone with database owner rights drops the trigger and rewrites entry 2.
    engine = get_engine(seeded_db_url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER security_log_no_update"))
        else:
            conn.execute(text("DROP TRIGGER security_log_no_change ON security_log"))
        conn.execute(
            text("UPDATE security_log SET actor = 'nobody' WHERE id = :i"), {"i": second_id}
        )
    with session_scope(seeded_db_url) as s:
        result = svc.verify_security_log(s)
    assert result["ok"] is False and result["first_bad_id"] == second_id
    assert "篡改" in result["reason_zh"]


def test_users_manage_their_own_password_and_tokens(seeded_db_url: str) -> None:
    _add(seeded_db_url, "anshan")
    me = Actor("anshan", Role.REPORTER, "210300")
    with session_scope(seeded_db_url) as s:
        with pytest.raises(AuthenticationError):
            svc.change_password(s, me, "anshan", "Newpass#2026", old_password="Wrong#1x")
        with pytest.raises(InputError):
            svc.change_password(s, me, "anshan", "weak", old_password=GOOD)
        svc.change_password(s, me, "anshan", "Newpass#2026", old_password=GOOD)
        token, _ = svc.issue_token(s, me, "anshan")
        assert svc.list_tokens(s, me, "anshan")[0]["hint"] == token[:7]
        assert "password_changed" in [e["event"] for e in svc.security_log(s, LOCAL_ADMIN)]
    assert svc.authenticate(seeded_db_url, "anshan", "Newpass#2026") == me


def test_upgrade_from_revision_3_keeps_data_and_adds_the_user_tables(db_url: str) -> None:
    from healthwatch.store.db import current_revision, head_revision, upgrade

    assert upgrade(db_url, "0003") == "0003"
    with get_engine(db_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO regions (adcode, name, level, parent, kind, type_zh) VALUES "
                "('210000', '辽宁省', 'province', NULL, 'province', '省')"
            )
        )
    assert upgrade(db_url) == head_revision() == current_revision(db_url)
    with session_scope(db_url) as s:
        svc.add_user(s, LOCAL_ADMIN, "wang", GOOD, "viewer", region="210000")
        assert [u["username"] for u in svc.list_users(s, LOCAL_ADMIN)] == ["wang"]
        assert s.scalar(text("SELECT name FROM regions WHERE adcode = '210000'")) == "辽宁省"


def test_sessions_end_on_logout_idle_age_and_disabling(seeded_db_url: str) -> None:
    _add(seeded_db_url, "anshan")
    actor = Actor("anshan", Role.REPORTER, "210300")
    with session_scope(seeded_db_url) as s:
        tokens = [svc.start_session(s, actor, source="t") for _ in range(4)]
        stored = list(s.scalars(select(WebSession.token_hash)))
        assert not set(tokens) & set(stored)  # only hashes are kept
        assert svc.resolve_session(s, tokens[0]) == actor
        assert svc.end_session(s, tokens[0]) is True
        assert svc.end_session(s, tokens[0]) is False
    with session_scope(seeded_db_url) as s:
        with pytest.raises(AuthenticationError):
            svc.resolve_session(s, tokens[0])
        rows = {r.token_hash: r for r in s.scalars(select(WebSession))}
        from healthwatch.users.passwords import hash_token

        idle, old = rows[hash_token(tokens[1])], rows[hash_token(tokens[2])]
        idle.last_seen_at = idle.last_seen_at - svc.IDLE_TIMEOUT - timedelta(seconds=1)
        old.created_at = old.created_at - svc.SESSION_MAX_AGE - timedelta(seconds=1)
    for token in tokens[1:3]:
        with session_scope(seeded_db_url) as s, pytest.raises(AuthenticationError):
            svc.resolve_session(s, token)
    with session_scope(seeded_db_url) as s:
        assert svc.resolve_session(s, tokens[3]) == actor
        svc.set_disabled(s, LOCAL_ADMIN, "anshan")
    with session_scope(seeded_db_url) as s, pytest.raises(AuthenticationError):
        svc.resolve_session(s, tokens[3])
    with session_scope(seeded_db_url) as s:
        ended = svc.security_log(s, LOCAL_ADMIN, event="session_ended")
        reasons = sorted(e["detail"]["reason"] for e in ended)
    assert reasons == ["disabled", "idle", "max_age"]
    assert "logout" in _events(seeded_db_url, "anshan")
