"""`healthwatch demo` on a temporary SQLite file, through the CLI runner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from healthwatch.cli import app
from healthwatch.data.populations import builtin_city_populations
from healthwatch.plans import builtin_plans, check_plans
from healthwatch.services.warning import list_alerts
from healthwatch.store.audit import audit_trail
from healthwatch.store.db import session_scope
from healthwatch.store.plans import list_plans
from healthwatch.store.regions import population_records
from healthwatch.surveillance import METHODS

runner = CliRunner()


def test_demo_loads_everything_and_reports_findings(tmp_path):
    db = str(tmp_path / "demo.sqlite")
    result = runner.invoke(app, ["demo", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
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

    # A second run writes nothing new.
    again = json.loads(runner.invoke(app, ["demo", "--db", db, "--json"]).stdout)
    assert again["regions"]["written"] == 0
    assert again["populations"]["written_real"] == again["populations"]["written_synthetic"] == 0
    assert not any(p["new_version"] for p in again["plans"])
    assert again["warning"] == {"loaded": False, "alerts_open": warning["alerts_open"]}


def test_demo_table_output_is_chinese_first(tmp_path):
    result = runner.invoke(app, ["demo", "--db", str(tmp_path / "d.sqlite")])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("行政区划") < out.index("Regions")
    assert "模拟数据" in out and "SYNTHETIC" in out
    assert "一致性检查 / Consistency findings" in out
    assert "anshan-2021-2025" in out
    assert out.index("指标数据") < out.index("Indicator data")
    assert out.index("预警演示") < out.index("Early warning") and "open alerts" in out
    assert out.index("探测方法内核") < out.index("Detection kernels")
