"""`healthwatch users ...` and `--as USER`, run as real subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import strict_json_loads

GOOD = "Liaoning#2025"


@pytest.fixture
def env(seeded_sqlite: str) -> dict[str, str]:
    """The environment of a CLI run against a database holding the built-in regions."""
    return {"HEALTHWATCH_DB": seeded_sqlite}


def test_add_list_role_disable_enable(run_cli, env: dict[str, str]) -> None:
    added = run_cli(
        "users", "add", "anshan", "--role", "reporter", "--region", "210300",
        "--name", "鞍山市填报员", "--password-stdin", "--json", env=env, input=GOOD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    row = strict_json_loads(added.stdout)
    assert (row["username"], row["role"], row["region"]) == ("anshan", "reporter", "210300")
    assert GOOD not in added.stdout + added.stderr

    listed = run_cli("users", "list", "--json", env=env)
    assert [u["display_name"] for u in strict_json_loads(listed.stdout)] == ["鞍山市填报员"]

    changed = run_cli("users", "role", "anshan", "analyst", "--no-region-limit", "--json", env=env)
    assert changed.returncode == 0, changed.stderr
    assert strict_json_loads(changed.stdout)["region"] is None

    disabled = run_cli("users", "disable", "anshan", "--json", env=env)
    assert strict_json_loads(disabled.stdout)["disabled"] is True
    enabled = run_cli("users", "enable", "anshan", env=env)
    assert enabled.returncode == 0 and "已启用" in enabled.stdout

    log = run_cli("users", "log", "--verify", "--json", env=env)
    assert log.returncode == 0, log.stderr
    result = strict_json_loads(log.stdout)
    assert result["verification"]["ok"] is True
    assert [e["event"] for e in result["entries"]] == [
        "user_enabled",
        "user_disabled",
        "role_changed",
        "user_added",
    ]


def test_weak_password_is_refused_in_both_languages(run_cli, env: dict[str, str]) -> None:
    out = run_cli(
        "users", "add", "wang", "--role", "viewer", "--password-stdin", env=env, input="wang123\n"
    )
    assert out.returncode == 2
    assert "密码长度至少为 8 位" in out.stderr and "at least 8 characters" in out.stderr
    assert "不得包含用户名" in out.stderr and "Traceback" not in out.stderr
    assert strict_json_loads(run_cli("users", "list", "--json", env=env).stdout) == []


def test_password_is_read_from_a_hidden_prompt_with_confirmation(
    run_cli, env: dict[str, str]
) -> None:
    out = run_cli("users", "add", "zhang", "--role", "viewer", env=env, input=f"{GOOD}\n{GOOD}\n")
    assert out.returncode == 0, out.stderr
    assert GOOD not in out.stdout


def test_as_user_acts_with_that_users_rights(run_cli, env: dict[str, str]) -> None:
    for name, role, region in (("boss", "admin", "210300"), ("viewer1", "viewer", "210300")):
        out = run_cli(
            "users", "add", name, "--role", role, "--region", region, "--password-stdin",
            env=env, input=GOOD + "\n",
        )  # fmt: skip
        assert out.returncode == 0, out.stderr

    refused = run_cli("users", "list", "--as", "viewer1", env=env)
    assert refused.returncode == 2 and "无权" in refused.stderr and "may not" in refused.stderr

    # The city administrator (HEALTHWATCH_USER) may add users in its city only.
    as_boss = {**env, "HEALTHWATCH_USER": "boss"}
    outside = run_cli(
        "users", "add", "dalian", "--role", "viewer", "--region", "210200", "--password-stdin",
        env=as_boss, input=GOOD + "\n",
    )  # fmt: skip
    assert outside.returncode == 2 and "210300" in outside.stderr
    inside = run_cli(
        "users", "add", "tiedong", "--role", "reporter", "--region", "210302",
        "--password-stdin", "--json", env=as_boss, input=GOOD + "\n",
    )  # fmt: skip
    assert inside.returncode == 0, inside.stderr
    log = strict_json_loads(run_cli("users", "log", "--json", env=env).stdout)
    assert log[0]["event"] == "user_added" and log[0]["actor"] == "boss"

    unknown = run_cli("users", "list", "--as", "ghost", env=env)
    assert unknown.returncode == 2 and "没有用户 'ghost'" in unknown.stderr
    assert "No user 'ghost'" in unknown.stderr and "Traceback" not in unknown.stderr


def test_token_issue_list_revoke(run_cli, env: dict[str, str]) -> None:
    run_cli("users", "add", "bot", "--role", "reporter", "--password-stdin", env=env, input=GOOD)
    issued = run_cli("users", "token", "issue", "bot", "--name", "dhis2", "--json", env=env)
    assert issued.returncode == 0, issued.stderr
    token = strict_json_loads(issued.stdout)
    assert token["token"].startswith("hw_") and len(token["token"]) > 40

    listed = strict_json_loads(run_cli("users", "token", "list", "--json", env=env).stdout)
    assert [(t["id"], t["name"], t["revoked_at"]) for t in listed] == [(token["id"], "dhis2", None)]
    assert "token" not in listed[0] and token["token"] not in str(listed)

    revoked = run_cli("users", "token", "revoke", str(token["id"]), "--json", env=env)
    assert strict_json_loads(revoked.stdout)["revoked_at"] is not None
    missing = run_cli("users", "token", "revoke", "999", env=env)
    assert missing.returncode == 2 and "999" in missing.stderr


def test_first_user_on_a_fresh_installation_and_reading_never_creates(
    run_cli, tmp_path: Path
) -> None:
    path = tmp_path / "fresh.sqlite"
    fresh = {"HEALTHWATCH_DB": str(path)}
    listed = run_cli("users", "list", "--json", env=fresh)
    assert listed.returncode == 2 and "不存在" in listed.stderr
    assert "There is no database" in listed.stderr and "Traceback" not in listed.stderr
    assert not path.exists()  # a read command (or a typo in --db) never creates a database

    added = run_cli(
        "users", "add", "admin1", "--role", "admin", "--password-stdin", "--json",
        env=fresh, input=GOOD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = run_cli("users", "list", "--json", env=fresh)
    assert [u["username"] for u in strict_json_loads(listed.stdout)] == ["admin1"]
