"""`healthwatch demo`: the demo database, its logins, and serving it (a real subprocess).

The demo is built once per module (``--no-serve``, through the CLI runner) and the later tests
run on it or on copies of it: a demo run loads a year of early-warning feeds and compiles the
detection kernels, too slow to repeat in every test.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import running_demo, strict_json_loads
from typer.testing import CliRunner

from healthwatch.cli import app
from healthwatch.data.populations import builtin_city_populations
from healthwatch.plans import builtin_plans, check_plans
from healthwatch.services.demo_users import DEMO_ACCOUNTS, DEMO_MARK
from healthwatch.services.users import authenticate
from healthwatch.services.warning import list_alerts
from healthwatch.store.audit import audit_trail
from healthwatch.store.db import dispose_engine, session_scope
from healthwatch.store.plans import list_plans
from healthwatch.store.regions import population_records
from healthwatch.store.user_models import SecurityEvent, User
from healthwatch.surveillance import METHODS
from healthwatch.users.passwords import AuthenticationError, password_problems

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """A demo database made by ``healthwatch demo --no-serve --json`` and its first summary."""
    db = str(tmp_path_factory.mktemp("demo") / "demo.sqlite")
    result = runner.invoke(app, ["demo", "--no-serve", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    return db, strict_json_loads(result.stdout)


def test_demo_loads_everything_and_reports_findings(built: tuple[str, dict[str, Any]]) -> None:
    db, summary = built
    assert summary["regions"]["by_level"] == {"province": 1, "city": 14, "county": 100}
    assert summary["regions"]["written"] == 115
    pops = summary["populations"]
    assert (pops["real"], pops["synthetic"]) == (15, 100)
    assert pops["province_total"] == 42_294_000
    plans = {p["id"]: p for p in summary["plans"]}
    for plan in builtin_plans():
        row = plans[plan.id]
        assert row["indicators"] == len(plan.indicators)
        assert row["projects"] == sum(pr.count or 1 for pr in plan.projects)
        assert row["project_categories"] == len({pr.category for pr in plan.projects})
        assert row["version"] == 1 and row["new_version"]
    # the plan text: "拟规划实施5大类43个项目"
    assert (
        plans["anshan-2021-2025"]["projects"],
        plans["anshan-2021-2025"]["project_categories"],
    ) == (43, 5)
    # The findings are those of the plans as read back from the database: same as in memory.
    expected = check_plans(
        builtin_plans(), {r.adcode: r.persons for r in builtin_city_populations()}
    )
    assert len(summary["findings"]) == len(expected) > 0
    assert {f["kind"] for f in summary["findings"]} == {f.kind for f in expected}

    with session_scope(db) as s:
        records = population_records(s, 2021)
        assert all(r["synthetic"] == (r["adcode"][4:] != "00") for r in records)
        counties = [r for r in records if r["synthetic"]]
        assert sum(r["resident_persons"] for r in counties) == 42_294_000
        assert "模拟数据" in counties[0]["source"] and "synthetic" in counties[0]["source"]
        assert {p["id"] for p in list_plans(s)} == set(plans)
        assert audit_trail(s, entity="plans")[0]["actor"] == "demo"

    # the indicator data panel, the early-warning demo with open alerts, every kernel warmed
    data = summary["indicator_data"]
    assert data["baselines"]["values"] > 0 and data["synthetic"]["values"] > 0
    warning = summary["warning"]
    assert warning["loaded"] is True and warning["runs"] and warning["alerts_open"] > 0
    assert summary["kernels"]["methods"] == len(METHODS)
    with session_scope(db) as s:
        assert len(list_alerts(s, status="open")) == warning["alerts_open"]
        # the demo also scans for space-time clusters: the planted Jinzhou HFMD cluster
        clusters = [a for a in list_alerts(s, status="open") if a["kind"] == "cluster"]
    assert warning["scans"][0]["alerts_new"] == len(clusters) > 0
    assert set().union(*(a["regions"] for a in clusters)) <= {"210703", "210711", "210726"}
    assert summary["address"] is None  # --no-serve: nothing is served


def test_demo_logins_one_per_role_with_strong_printed_passwords(
    built: tuple[str, dict[str, Any]],
) -> None:
    db, summary = built
    logins = {row["username"]: row for row in summary["logins"]}
    assert set(logins) == {a.username for a in DEMO_ACCOUNTS}
    assert {row["role"] for row in logins.values()} == {
        "admin",
        "analyst",
        "reporter",
        "duty_officer",
        "viewer",
    }
    assert logins["demo-anshan"]["region"] == "210300"  # a city reporter
    assert logins["demo-taian"]["region"] == "210321"  # a county reporter in Anshan
    assert logins["demo-taian"]["region_name"] == "台安县"
    passwords = [row["password"] for row in logins.values()]
    assert len(set(passwords)) == len(passwords)  # generated, not one shared password
    for row in logins.values():
        assert row["status"] == "created"
        assert not password_problems(row["password"], row["username"])
        assert len(row["password"]) >= 16
    with session_scope(db) as s:
        for row in logins.values():
            user = s.query(User).filter_by(username=row["username"]).one()
            assert (user.role, user.region) == (row["role"], row["region"])
            assert DEMO_MARK in user.display_name and not user.disabled
            assert row["password"] not in user.password_hash  # only the Argon2 hash is stored
        logged = json.dumps([e.detail for e in s.query(SecurityEvent)], ensure_ascii=False)
    assert not any(p in logged for p in passwords)  # never in the security log
    for row in (logins["demo-admin"], logins["demo-taian"]):  # the printed passwords work
        actor = authenticate(db, row["username"], row["password"])
        assert (actor.role.value, actor.region) == (row["role"], row["region"])


def test_a_second_run_writes_nothing_new_and_resets_the_demo_passwords(
    built: tuple[str, dict[str, Any]],
) -> None:
    db, first = built
    result = runner.invoke(app, ["demo", "--no-serve", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    again = strict_json_loads(result.stdout)
    assert again["regions"]["written"] == 0
    assert again["populations"]["written_real"] == again["populations"]["written_synthetic"] == 0
    assert not any(p["new_version"] for p in again["plans"])
    assert again["warning"] == {"loaded": False, "alerts_open": first["warning"]["alerts_open"]}
    old = {row["username"]: row["password"] for row in first["logins"]}
    new = {row["username"]: row for row in again["logins"]}
    assert {row["status"] for row in new.values()} == {"reset"}
    assert all(new[name]["password"] != old[name] for name in old)
    with pytest.raises(AuthenticationError):
        authenticate(db, "demo-viewer", old["demo-viewer"])
    assert authenticate(db, "demo-viewer", new["demo-viewer"]["password"]).username == (
        "demo-viewer"
    )


def test_demo_table_output_is_chinese_first_with_the_logins(
    built: tuple[str, dict[str, Any]],
) -> None:
    db, _ = built
    result = runner.invoke(app, ["demo", "--no-serve", "--db", db])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("行政区划") < out.index("Regions")
    assert "模拟数据" in out and "SYNTHETIC" in out
    assert "一致性检查 / Consistency findings" in out
    assert "anshan-2021-2025" in out
    assert out.index("指标数据") < out.index("Indicator data")
    assert out.index("预警演示") < out.index("Early warning") and "open alerts" in out
    assert out.index("探测方法内核") < out.index("Detection kernels")
    assert "演示登录 / Demo logins" in out and "users disable demo-admin" in out
    assert all(f"  {a.username} " in out for a in DEMO_ACCOUNTS)
    assert "http://" not in out  # --no-serve: no address


def _copy_db(db: str, folder: Path) -> str:
    dispose_engine(db)  # checkpoint the WAL into the file before copying it
    target = folder / "served.sqlite"
    shutil.copyfile(db, target)
    return str(target)


def test_demo_serves_and_a_printed_login_works(
    built: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    """`healthwatch demo --port P`: prints the logins and the address, serves, stops on Ctrl-C."""
    db = _copy_db(built[0], tmp_path)
    with running_demo(db, tmp_path, start_s=600) as demo:
        base, passwords = demo.base, demo.passwords
        assert set(passwords) == {a.username for a in DEMO_ACCOUNTS}
        body = json.dumps({"username": "demo-analyst", "password": passwords["demo-analyst"]})
        login = urllib.request.Request(
            f"{base}/api/v1/session",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(login, timeout=30) as r:
            assert json.load(r)["user"]["role"] == "analyst"
            cookie = r.headers["Set-Cookie"].split(";", 1)[0]
        plans = urllib.request.Request(f"{base}/api/v1/plans", headers={"Cookie": cookie})
        with urllib.request.urlopen(plans, timeout=30) as r:
            assert {p["id"] for p in json.load(r)} >= {"liaoning-2021-2025", "anshan-2021-2025"}
    out, err = demo.output, demo.errors
    assert demo.proc.returncode == 0, err  # Ctrl-C stops it cleanly
    assert "Traceback" not in err and "Traceback" not in out
    assert "演示登录 / Demo logins" in out and "网页服务已停止 / web server stopped" in out


def test_a_busy_port_is_refused_before_any_work(tmp_path: Path) -> None:
    from healthwatch.services.database import install_builtin

    missing = tmp_path / "never.sqlite"
    existing = str(tmp_path / "ready.sqlite")
    install_builtin(existing)
    dispose_engine(existing)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for command, db in (("demo", str(missing)), ("serve", existing)):
            done = subprocess.run(
                [sys.executable, "-m", "healthwatch", command, "--port", str(port), "--db", db],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert done.returncode == 2, (command, done.stderr)
            assert "Traceback" not in done.stderr
            assert f"端口 {port} 已被占用" in done.stderr
            assert f"Port {port} on 127.0.0.1 is already in use" in done.stderr
    assert not missing.exists()  # the demo refused before it built anything
