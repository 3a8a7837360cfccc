"""`healthwatch data …` as a user runs it: real subprocesses, strict JSON, bilingual errors."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import strict_json_loads

ROWS = (
    "region,period,element,value,comment\n"
    "210302,2023,live_births,1200,\n210302,2023,deliveries,1190,\n210302,2023,infant_deaths,4,\n"
    "210303,2023,live_births,800,\n210303,2023,deliveries,795,\n210303,2023,infant_deaths,3,\n"
)


def _db(tmp_path: Path) -> list[str]:
    """A database prepared as `healthwatch demo` would (built-in data; reading never creates)."""
    from healthwatch.services.database import install_builtin
    from healthwatch.store.db import dispose_engine

    path = str(tmp_path / "cli.sqlite")
    if not Path(path).exists():
        install_builtin(path)
        dispose_engine(path)
    return ["--db", path]


def test_import_dry_run_import_values_history_and_revert(run_cli, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text(ROWS, encoding="utf-8")
    db = _db(tmp_path)
    out = run_cli("data", "import", str(f), "--dry-run", "--json", *db)
    assert out.returncode == 0, out.stderr
    dry = strict_json_loads(out.stdout)
    assert dry["dry_run"] is True and dry["inserted"] == 6
    out = run_cli("data", "values", "--json", *db)
    assert strict_json_loads(out.stdout) == []
    out = run_cli("data", "import", str(f), "--json", *db)
    assert strict_json_loads(out.stdout)["inserted"] == 6
    f.write_text(ROWS.replace("infant_deaths,4", "infant_deaths,5"), encoding="utf-8")
    out = run_cli("data", "import", str(f), *db)
    assert out.returncode == 0 and "1 updated" in out.stdout.replace("\n", " ")
    out = run_cli(
        "data",
        "history",
        "--region",
        "210302",
        "--period",
        "2023",
        "--element",
        "infant_deaths",
        "--json",
        *db,
    )
    versions = strict_json_loads(out.stdout)["versions"]
    assert [(v["old"], v["new"]) for v in versions] == [(None, 4.0), (4.0, 5.0)]
    out = run_cli(
        "data",
        "revert",
        "--region",
        "210302",
        "--period",
        "2023",
        "--element",
        "infant_deaths",
        "--version",
        "1",
        "--reason",
        "录入错误",
        "--json",
        *db,
    )
    assert strict_json_loads(out.stdout)["new_version"] == 3
    out = run_cli(
        "data", "values", "--element", "infant_deaths", "--region", "210302", "--json", *db
    )
    assert [r["value"] for r in strict_json_loads(out.stdout)] == [4.0]


def test_bad_file_is_refused_in_both_languages_without_traceback(run_cli, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("region,period,element,value\n210302,2023,beds,很多\n", encoding="utf-8")
    out = run_cli("data", "import", str(f), *_db(tmp_path))
    assert out.returncode == 2
    assert "不是数字" in out.stderr and "not a number" in out.stderr and ":2" in out.stderr
    assert "Traceback" not in out.stderr


def test_workflow_aggregate_completeness_and_status(run_cli, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text(ROWS, encoding="utf-8")
    db = _db(tmp_path)
    run_cli("data", "import", str(f), *db)
    out = run_cli("data", "aggregate", "infant_mortality", "--period", "2023", "--json", *db)
    rows = {r["region"]: r for r in strict_json_loads(out.stdout)}
    assert rows["210300"]["aggregate"] == (4 + 3) / (1200 + 800) * 1000
    assert rows["210300"]["counties_reported"] == 2 and "210302" not in rows  # levels shown
    out = run_cli(
        "data",
        "completeness",
        "--period",
        "2023",
        "--plan",
        "anshan-2021-2025",
        "--region",
        "210300",
        "--json",
        *db,
    )
    im = [r for r in strict_json_loads(out.stdout) if r["indicator"] == "infant_mortality"]
    assert im[0]["counties_total"] == 7
    assert (
        strict_json_loads(
            run_cli(
                "data", "submit", "--region", "210302", "--period", "2023", "--json", *db
            ).stdout
        )["status"]
        == "submitted"
    )
    out = run_cli("data", "approve", "--region", "210302", "--period", "2023", "--json", *db)
    assert strict_json_loads(out.stdout)["locked"] is True
    assert run_cli("data", "submit", "--region", "210300", "--period", "2023", *db).returncode == 0
    out = run_cli("data", "approve", "--region", "210300", "--period", "2023", *db)
    assert out.returncode == 2 and "210303" in out.stderr and "Traceback" not in out.stderr
    out = run_cli(
        "data",
        "unlock",
        "--region",
        "210302",
        "--period",
        "2023",
        "--reason",
        "更正",
        "--json",
        *db,
    )
    assert strict_json_loads(out.stdout)["locked"] is False
    out = run_cli("data", "status", "--period", "2023", "--region", "210300", "--json", *db)
    assert {r["region"] for r in strict_json_loads(out.stdout)} >= {"210300", "210302"}
    assert run_cli("data", "aggregate", "infant_mortality", *db).returncode == 0  # table output


def test_export_template_and_definitions(run_cli, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text(ROWS, encoding="utf-8")
    db = _db(tmp_path)
    run_cli("data", "import", str(f), *db)
    for fmt, name in (
        ("csv", "e.csv"),
        ("dhis2-json", "e.json"),
        ("fhir", "f.json"),
        ("xlsx", "e.xlsx"),
    ):
        out = run_cli("data", "export", str(tmp_path / name), "--format", fmt, "--json", *db)
        assert out.returncode == 0, out.stderr
        again = run_cli("data", "import", str(tmp_path / name), "--format", fmt, "--json", *db)
        result = strict_json_loads(again.stdout)
        assert (result["inserted"], result["updated"]) == (0, 0), fmt
    doc = json.loads((tmp_path / "f.json").read_text("utf-8"))
    assert {e["resource"]["resourceType"] for e in doc["entry"]} == {"MeasureReport"}
    out = run_cli(
        "data",
        "template",
        "--plan",
        "anshan-2021-2025",
        "--region",
        "210302",
        "--year",
        "2024",
        "--out",
        str(tmp_path / "t.xlsx"),
        "--json",
        *db,
    )
    assert strict_json_loads(out.stdout)["indicators"] == 15
    out = run_cli("data", "definitions", "--json")
    defs = strict_json_loads(out.stdout)
    assert {"infant_mortality", "life_expectancy"} <= {i["code"] for i in defs["indicators"]}


def test_as_user_writes_only_inside_its_region(run_cli, seeded_sqlite, tmp_path):
    env = {"HEALTHWATCH_DB": seeded_sqlite}
    added = run_cli(
        "users", "add", "tiedong", "--role", "reporter", "--region", "210302", "--password-stdin",
        env=env, input="Liaoning#2025\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    both = tmp_path / "both.csv"
    both.write_text(ROWS, encoding="utf-8")
    refused = run_cli("data", "import", str(both), "--as", "tiedong", env=env)
    assert refused.returncode == 2, refused.stdout
    assert "210303" in refused.stderr and "只能" in refused.stderr
    assert "Traceback" not in refused.stderr
    own = tmp_path / "own.csv"
    own.write_text("".join(ROWS.splitlines(keepends=True)[:4]), encoding="utf-8")
    ok = run_cli("data", "import", str(own), "--json", env={**env, "HEALTHWATCH_USER": "tiedong"})
    assert ok.returncode == 0, ok.stderr
    assert strict_json_loads(ok.stdout)["inserted"] == 3
