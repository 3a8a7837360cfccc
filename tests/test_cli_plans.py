"""`healthwatch plans` through the CLI against a fresh SQLite database."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from healthwatch.cli import app
from healthwatch.plans import builtin_plans

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    from healthwatch.services.database import install_builtin

    path = str(tmp_path_factory.mktemp("plans") / "hw.sqlite")
    install_builtin(path)  # opening a session no longer seeds: load the built-in plans
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_list_json(db: str) -> None:
    code, out, _ = invoke("plans", "list", "--json", "--db", db)
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["liaoning-2021-2025"]["indicators"] == 30
    assert rows["anshan-2021-2025"]["indicators"] == 15
    for r in rows.values():
        assert {"id", "name_zh", "name_en", "region", "start_year", "end_year", "indicators"} <= (
            r.keys()
        )


def test_show_json_reproduces_the_tables(db: str) -> None:
    # The packaged plans are checked row by row against the seed texts in test_plans_data;
    # here the stored-and-shown documents must be those plans, every row.
    for plan in builtin_plans():
        code, out, _ = invoke("plans", "show", plan.id, "--json", "--db", db)
        assert code == 0
        shown = json.loads(out)
        assert shown["indicators"] == plan.to_json()["indicators"]
        assert shown == plan.to_json()
    code, out, _ = invoke("plans", "show", "anshan-2021-2025", "--json", "--db", db)
    doc = json.loads(out)
    rows = [(i["name_zh"], i["target"]["text_zh"]) for i in doc["indicators"]]
    assert rows[1] == ("婴儿死亡率", "≤5.0‰")
    assert rows[-1] == ("开展门诊预约服务的公立医院比例", "100%")
    assert len(doc["projects"]) == 5
    assert {"kind", "value", "low", "high", "year", "text_zh"} <= doc["indicators"][0][
        "target"
    ].keys()


def test_show_human_and_unknown_plan(db: str) -> None:
    code, out, _ = invoke("plans", "show", "liaoning-2021-2025", "--db", db)
    assert code == 0 and "人均预期寿命" in out and "约束性" in out
    code, _, err = invoke("plans", "show", "nowhere-2021-2025", "--db", db)
    assert code == 2 and "nowhere-2021-2025" in err


def test_check_json(db: str) -> None:
    code, out, _ = invoke("plans", "check", "--json", "--db", db)
    assert code == 0
    findings = json.loads(out)["findings"]
    kinds = {f["kind"] for f in findings}
    assert kinds == {
        "looser-than-parent",
        "target-regresses",
        "already-met",
        "unit",
        "implied-rate",
        "missing",
    }
    # The populations come from the database (2021 resident population).
    (rate,) = [f for f in findings if f["kind"] == "implied-rate"]
    assert rate["indicator"] == "hiv_living_cases" and "1.22%" in rate["message_en"]


def test_check_one_plan_uses_its_parent(db: str) -> None:
    code, out, _ = invoke("plans", "check", "anshan-2021-2025", "--json", "--db", db)
    assert code == 0
    findings = json.loads(out)["findings"]
    assert {f["plan"] for f in findings} == {"anshan-2021-2025"}
    assert any(f["kind"] == "looser-than-parent" for f in findings)
    code, out, _ = invoke("plans", "check", "--db", db)
    assert code == 0 and "一致性检查" in out
    counts = {s: sum(f["severity"] == s for f in findings) for s in ("error", "warning", "info")}
    code, out, _ = invoke("plans", "check", "anshan-2021-2025", "--db", db)
    assert f"错误 error: {counts['error']}  警告 warning: {counts['warning']}" in out


def test_check_builtin_without_database() -> None:
    code, out, _ = invoke("plans", "check", "--builtin", "--json")
    assert code == 0
    assert any(f["kind"] == "unit" for f in json.loads(out)["findings"])


def _anshan_copy(tmp_path: Path, **changes: object) -> tuple[Path, str]:
    text = (resources.files("healthwatch.plans") / "data" / "anshan-2021-2025.yaml").read_text(
        "utf-8"
    )
    doc = yaml.safe_load(text)
    doc.update(changes)
    path = tmp_path / "plan.yaml"
    dumped = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    path.write_text(dumped, encoding="utf-8")
    return path, dumped


def test_load_file_and_reject_bad_file(db: str, tmp_path: Path) -> None:
    path, _ = _anshan_copy(tmp_path, id="anshan-draft-2021-2025")
    code, out, _ = invoke("plans", "load", str(path), "--json", "--db", db)
    assert code == 0 and json.loads(out) == {
        "id": "anshan-draft-2021-2025",
        "version": 1,
        "indicators": 15,
    }
    code, out, _ = invoke("plans", "load", str(path), "--json", "--db", db)
    assert json.loads(out)["version"] == 1  # identical document: no new version

    bad, text = _anshan_copy(tmp_path, id="anshan-bad-2021-2025", region="21030")
    code, _, err = invoke("plans", "load", str(bad), "--db", db)
    assert code == 2
    line = next(i + 1 for i, t in enumerate(text.splitlines()) if t.startswith("region:"))
    assert f"plan.yaml:{line} [region]" in re.sub(r"\s+", " ", err)
    code, out, _ = invoke("plans", "list", "--json", "--db", db)
    assert "anshan-bad-2021-2025" not in {r["id"] for r in json.loads(out)}


def test_load_and_evaluate_act_as_a_stored_user_inside_its_region(
    db: str, tmp_path: Path, run_cli: Any
) -> None:
    """``--as`` gives plans load and evaluate the user's role and region; a free-text actor
    (which used to become an administrator) is gone."""
    from healthwatch.services.users import add_user
    from healthwatch.store.db import session_scope
    from healthwatch.users import LOCAL_ADMIN

    with session_scope(db, actor="test") as session:
        add_user(session, LOCAL_ADMIN, "dalian", "Liaodong#2026-plans", "reporter", region="210200")
        add_user(session, LOCAL_ADMIN, "viewer", "Looker#2026-plans", "viewer")
    path, _ = _anshan_copy(tmp_path, id="anshan-as-2021-2025")
    out = run_cli("plans", "load", str(path), "--db", db, "--as", "dalian")
    assert out.returncode != 0 and "210300" in out.stderr and "Traceback" not in out.stderr
    _, listed, _ = invoke("plans", "list", "--json", "--db", db)
    assert "anshan-as-2021-2025" not in {r["id"] for r in json.loads(listed)}
    out = run_cli("plans", "load", str(path), "--db", db, "--actor", "x")
    assert out.returncode == 2 and "--actor" in out.stderr
    out = run_cli(
        "evaluate", "--plan", "anshan-2021-2025", "--as-of", "2025", "--db", db,
        "--as", "viewer",
    )  # fmt: skip
    assert out.returncode != 0 and "viewer" in out.stderr and "Traceback" not in out.stderr
