"""`healthwatch evaluate`: stored evaluation records, data version, stable JSON, errors."""

from __future__ import annotations

import pytest
from conftest import strict_json_loads

from healthwatch.errors import InputError, PermissionDeniedError
from healthwatch.services.evaluate import evaluate_plan, stored_evaluations
from healthwatch.store.db import session_scope
from healthwatch.users import Actor, Role

RESULT_KEYS = {
    "indicator",
    "region",
    "latest",
    "target",
    "status",
    "method_verdicts",
    "required_annual_change",
    "observed_annual_change",
    "forecast",
    "binding",
}


def test_evaluation_is_stored_with_its_data_version(seeded_db_url) -> None:
    with session_scope(seeded_db_url) as s:
        first = evaluate_plan(s, "liaoning-2021-2025", 2025)
    with session_scope(seeded_db_url) as s:
        second = evaluate_plan(s, "liaoning-2021-2025", 2025, kind="midterm")
        records = stored_evaluations(s, "liaoning-2021-2025")
    assert first["data_version"].startswith("sha256:")
    assert second["data_version"] == first["data_version"]
    assert second["reproduces"] == [first["evaluation_id"]]
    assert [r["id"] for r in records] == [second["evaluation_id"], first["evaluation_id"]]
    assert records[0]["kind"] == "midterm"
    assert records[0]["summary"] == second["summary"]
    phys = next(r for r in first["results"] if r["indicator"] == "physicians_per_1000")
    assert phys["status"] == "lagging"


def test_viewer_outside_region_may_not_evaluate(seeded_db_url) -> None:
    outsider = Actor("dalian", Role.ANALYST, "210200")
    with session_scope(seeded_db_url) as s, pytest.raises(PermissionDeniedError):
        evaluate_plan(s, "liaoning-2021-2025", 2025, actor=outsider)
    viewer = Actor("v", Role.VIEWER, None)
    with session_scope(seeded_db_url) as s, pytest.raises(PermissionDeniedError):
        evaluate_plan(s, "liaoning-2021-2025", 2025, actor=viewer)  # may read, not store
    with session_scope(seeded_db_url) as s:
        doc = evaluate_plan(s, "liaoning-2021-2025", 2025, actor=viewer, store=False)
        assert "evaluation_id" not in doc


def test_bad_options_are_all_reported(seeded_db_url) -> None:
    with session_scope(seeded_db_url) as s, pytest.raises(InputError) as info:
        evaluate_plan(s, "liaoning-2021-2025", 1800, kind="yearly", level="village")
    assert {p.field for p in info.value.problems} == {"--as-of", "--kind", "--level"}


def test_cli_json_is_stable_and_strict(run_cli, seeded_sqlite) -> None:
    db = seeded_sqlite
    out = run_cli(
        "evaluate", "--plan", "liaoning-2021-2025", "--as-of", "2025", "--json", "--db", db
    )
    assert out.returncode == 0, out.stderr
    doc = strict_json_loads(out.stdout)
    assert {
        "plan",
        "as_of",
        "kind",
        "data_version",
        "results",
        "warnings",
        "inequality",
        "projects",
    } <= set(doc)
    assert doc["plan"] == "liaoning-2021-2025" and doc["as_of"] == 2025 and doc["kind"] == "final"
    for r in doc["results"]:
        assert set(r) >= RESULT_KEYS
        assert set(r["latest"]) == {"year", "value", "source", "missing_counties"}
        assert r["latest"]["source"] in (None, "plan_baseline")  # a fresh database: seeds only
        assert {"year", "value", "low", "high", "p_meet"} <= set(r["forecast"])
        assert set(r["method_verdicts"]) == {"schedule", "open_sdg", "unsd"}
    infant = next(r for r in doc["results"] if r["indicator"] == "infant_mortality")
    assert infant["status"] == "achieved"
    assert any(w["indicator"] == "physicians_per_1000" for w in doc["warnings"])


def test_cli_table_and_error(run_cli, seeded_sqlite) -> None:
    db = seeded_sqlite
    out = run_cli("evaluate", "--plan", "anshan-2021-2025", "--as-of", "2025", "--db", db)
    assert out.returncode == 0, out.stderr
    assert "婴儿死亡率" in out.stdout and "已达标" in out.stdout
    bad = run_cli("evaluate", "--plan", "nope", "--as-of", "2025", "--db", db)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "nope" in bad.stderr


def test_project_progress_import_and_flags(run_cli, seeded_sqlite, tmp_path) -> None:
    db = seeded_sqlite
    f = tmp_path / "progress.csv"
    f.write_text(
        "project_id,report_date,percent_complete,spent_10k_yuan,budget_10k_yuan,planned_percent\n"
        "P01-01,2023-06-30,30,1200,2000,50\n"
        "P02-01,2023-06-30,80,500,1000,60\n",
        encoding="utf-8",
    )
    r = run_cli("plans", "progress", "anshan-2021-2025", str(f), "--json", "--db", db)
    assert r.returncode == 0, r.stderr
    assert strict_json_loads(r.stdout) == {"inserted": 2, "updated": 0}
    again = run_cli("plans", "progress", "anshan-2021-2025", str(f), "--json", "--db", db)
    assert strict_json_loads(again.stdout) == {"inserted": 0, "updated": 2}
    out = run_cli("evaluate", "--plan", "anshan-2021-2025", "--as-of", "2023", "--json", "--db", db)
    projects = {p["project_id"]: p for p in strict_json_loads(out.stdout)["projects"]}
    assert len(projects) == 43
    assert projects["P01-01"]["spi"] == pytest.approx(0.6) and projects["P01-01"]["delayed"]
    assert projects["P01-01"]["cpi"] == pytest.approx(0.5) and projects["P01-01"]["over_budget"]
    assert projects["P02-01"]["spi"] == pytest.approx(80 / 60) and not projects["P02-01"]["delayed"]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "project_id,report_date,percent_complete,spent_10k_yuan\nX9,2023-01-01,5,1\n",
        encoding="utf-8",
    )
    refused = run_cli("plans", "progress", "anshan-2021-2025", str(bad), "--db", db)
    assert refused.returncode == 2 and "X9" in refused.stderr and "bad.csv:2" in refused.stderr
