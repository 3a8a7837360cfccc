"""`healthwatch plans load` as a real process: several files in one load, parents checked."""

from __future__ import annotations

from pathlib import Path

from conftest import strict_json_loads
from test_plans_malformed import PARENT_MISSING, VALID


def _province(text: str) -> str:
    return (
        text.replace("id: test-city-2021-2025", "id: nowhere-2021-2025")
        .replace("parent: liaoning-2021-2025\n", "")
        .replace("level: city", "level: province")
        .replace('region: "210300"', 'region: "210000"')
    )


def test_orphan_plan_is_refused_and_nothing_is_stored(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"HEALTHWATCH_DB": str(tmp_path / "db.sqlite")}
    orphan = tmp_path / "orphan.yaml"
    orphan.write_text(PARENT_MISSING, encoding="utf-8")
    proc = run_cli("plans", "load", str(orphan), env=env)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{orphan}:6 [parent]" in proc.stderr
    assert "上级规划 'nowhere-2021-2025' 既未存入数据库" in proc.stderr
    listed = strict_json_loads(run_cli("plans", "list", "--json", env=env).stdout)
    assert "test-city-2021-2025" not in {r["id"] for r in listed}


def test_parent_and_child_in_one_load(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"HEALTHWATCH_DB": str(tmp_path / "db.sqlite")}
    child, parent = tmp_path / "child.yaml", tmp_path / "parent.yaml"
    child.write_text(PARENT_MISSING, encoding="utf-8")
    parent.write_text(_province(VALID), encoding="utf-8")
    proc = run_cli("plans", "load", str(child), str(parent), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = strict_json_loads(proc.stdout)
    assert [r["id"] for r in rows] == ["nowhere-2021-2025", "test-city-2021-2025"]
    assert all(r["version"] == 1 for r in rows)
    one = run_cli("plans", "load", str(child), "--json", env=env)
    assert strict_json_loads(one.stdout) == {
        "id": "test-city-2021-2025",
        "version": 1,
        "indicators": 2,
    }
    found = strict_json_loads(run_cli("plans", "check", "--json", env=env).stdout)["findings"]
    assert not [f for f in found if f["kind"] == "parent-missing"]
