"""Import, versions, history, revert, approval, scope and aggregation on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from healthwatch.errors import HealthwatchError, PermissionDeniedError
from healthwatch.services import data as svc
from healthwatch.store.audit import audit_trail
from healthwatch.store.data_models import DataImport, DataValue
from healthwatch.store.db import session_scope
from healthwatch.users import LOCAL_ADMIN, Actor, Role

ANSHAN = ["210302", "210303", "210304", "210311", "210321", "210323", "210381"]


def write_csv(path: Path, rows: list[tuple], header: str = "region,period,element,value") -> Path:
    lines = [header] + [",".join(str(x) for x in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def counts(db: str) -> tuple[int, int]:
    with session_scope(db) as s:
        return (
            s.scalar(select(func.count()).select_from(DataValue)),
            s.scalar(select(func.count()).select_from(DataImport)),
        )


def births(county: str, year: int, births: int, deaths: int) -> list[tuple]:
    return [
        (county, year, "live_births", births),
        (county, year, "deliveries", births - 5),
        (county, year, "infant_deaths", deaths),
    ]


def test_reimport_changes_nothing_and_a_changed_value_is_a_new_version(seeded_db_url, tmp_path):
    f = write_csv(tmp_path / "a.csv", births("210302", 2023, 1200, 4))
    first = svc.import_file(f, actor=LOCAL_ADMIN, db=seeded_db_url)
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    again = svc.import_file(f, actor=LOCAL_ADMIN, db=seeded_db_url)
    assert (again.inserted, again.updated, again.unchanged, again.import_id) == (0, 0, 3, None)
    assert counts(seeded_db_url) == (3, 1)
    g = write_csv(tmp_path / "b.csv", births("210302", 2023, 1200, 5))
    changed = svc.import_file(g, actor=LOCAL_ADMIN, db=seeded_db_url)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 2)
    hist = svc.history("210302", "2023", "infant_deaths", actor=LOCAL_ADMIN, db=seeded_db_url)
    assert [(v["version"], v["old"], v["new"], v["current"]) for v in hist["versions"]] == [
        (1, None, 4.0, False),
        (2, 4.0, 5.0, True),
    ]
    assert hist["versions"][1]["stored_by"] == "local-admin"
    assert hist["versions"][1]["file"].endswith("b.csv")
    # revert restores version 1 as version 3 with the reason kept
    out = svc.revert(
        "210302",
        "2023",
        "infant_deaths",
        1,
        reason="typo in b.csv",
        actor=LOCAL_ADMIN,
        db=seeded_db_url,
    )
    assert (out["new_version"], out["value"]) == (3, 4.0)
    hist = svc.history("210302", "2023", "infant_deaths", actor=LOCAL_ADMIN, db=seeded_db_url)
    assert [v["new"] for v in hist["versions"]] == [4.0, 5.0, 4.0]
    assert "typo in b.csv" in hist["versions"][2]["reason"]
    values = svc.current_values(seeded_db_url, actor=LOCAL_ADMIN, elements=["infant_deaths"])
    assert values["value"].tolist() == [4.0] and values["version"].tolist() == [3]
    # every import and the revert are in the audit log
    with session_scope(seeded_db_url) as s:
        trail = audit_trail(s, entity="data_imports")
    assert [e["after"]["format"] for e in trail] == ["csv", "csv", "revert"]


def test_dry_run_validates_and_writes_nothing(seeded_db_url, tmp_path):
    f = write_csv(tmp_path / "a.csv", births("210302", 2023, 1200, 4))
    result = svc.import_file(f, actor=LOCAL_ADMIN, db=seeded_db_url, dry_run=True)
    assert result.dry_run and result.inserted == 3
    assert counts(seeded_db_url) == (0, 0)


def test_scope_refuses_writes_outside_the_region_and_writes_nothing(seeded_db_url, tmp_path):
    anshan = Actor("anshan-stats", Role.REPORTER, "210300")
    f = write_csv(
        tmp_path / "a.csv", births("210302", 2023, 1200, 4) + births("210202", 2023, 900, 2)
    )
    with pytest.raises(PermissionDeniedError) as info:
        svc.import_file(f, actor=anshan, db=seeded_db_url)
    assert [p.field for p in info.value.problems] == ["region"]
    assert "210202" in info.value.problems[0].reason_en
    assert counts(seeded_db_url) == (0, 0)
    viewer = Actor("v", Role.VIEWER, None)
    with pytest.raises(PermissionDeniedError):
        svc.import_file(
            write_csv(tmp_path / "b.csv", births("210302", 2023, 1, 0)),
            actor=viewer,
            db=seeded_db_url,
        )
    ok = svc.import_file(
        write_csv(tmp_path / "c.csv", births("210302", 2023, 1200, 4)),
        actor=anshan,
        db=seeded_db_url,
    )
    assert ok.inserted == 3
    assert svc.current_values(seeded_db_url, actor=LOCAL_ADMIN)["stored_by"].unique().tolist() == [
        "anshan-stats"
    ]


def test_approval_goes_up_level_by_level_locks_and_unlock_is_audited(seeded_db_url, tmp_path):
    rows = [r for c in ANSHAN for r in births(c, 2023, 1000, 3)] + births("210300", 2023, 7000, 21)
    svc.import_file(write_csv(tmp_path / "a.csv", rows), actor=LOCAL_ADMIN, db=seeded_db_url)
    reporter = Actor("tiedong", Role.REPORTER, "210302")
    with pytest.raises(PermissionDeniedError):
        svc.submit("210303", "2023", actor=reporter, db=seeded_db_url)
    with pytest.raises(HealthwatchError, match="only submitted"):
        svc.approve("210302", "2023", actor=LOCAL_ADMIN, db=seeded_db_url)
    for c in ANSHAN:
        svc.submit(c, "2023", actor=LOCAL_ADMIN, db=seeded_db_url)
    svc.submit("210300", "2023", actor=LOCAL_ADMIN, db=seeded_db_url)
    for c in ANSHAN[:-1]:
        assert svc.approve(c, "2023", actor=LOCAL_ADMIN, db=seeded_db_url)["locked"] is True
    with pytest.raises(HealthwatchError) as info:
        svc.approve("210300", "2023", actor=LOCAL_ADMIN, db=seeded_db_url)
    assert "210381" in info.value.message_en
    svc.approve("210381", "2023", actor=LOCAL_ADMIN, db=seeded_db_url)
    assert (
        svc.approve("210300", "2023", actor=LOCAL_ADMIN, db=seeded_db_url)["status"] == "approved"
    )
    # a locked period refuses imports and reverts, naming the lock
    with pytest.raises(HealthwatchError) as info:
        svc.import_file(
            write_csv(tmp_path / "b.csv", births("210302", 2023, 1000, 4)),
            actor=LOCAL_ADMIN,
            db=seeded_db_url,
        )
    assert "locked" in info.value.render()
    # only an administrator unlocks, with a reason
    with pytest.raises(PermissionDeniedError):
        svc.unlock(
            "210302", "2023", actor=Actor("a", Role.ANALYST, None), reason="x", db=seeded_db_url
        )
    svc.unlock(
        "210302", "2023", actor=LOCAL_ADMIN, reason="county corrected deaths", db=seeded_db_url
    )
    assert (
        svc.import_file(
            write_csv(tmp_path / "c.csv", births("210302", 2023, 1000, 4)),
            actor=LOCAL_ADMIN,
            db=seeded_db_url,
        ).updated
        == 1
    )
    hist = svc.history("210302", "2023", actor=LOCAL_ADMIN, db=seeded_db_url)
    states = [
        (e["action"], (e["after"] or {}).get("status"), (e["after"] or {}).get("locked"))
        for e in hist["approvals"]
    ]
    assert states == [
        ("insert", "submitted", False),
        ("update", "approved", True),
        ("update", "draft", False),
    ]
    assert "county corrected deaths" in hist["approvals"][-1]["after"]["comment"]
    assert hist["approvals"][-1]["before"]["locked"] is True
    status = {
        r["region"]: r
        for r in svc.status("2023", region="210300", actor=LOCAL_ADMIN, db=seeded_db_url)
    }
    assert status["210302"]["status"] == "draft" and status["210300"]["locked"] is True


def test_aggregation_sums_counts_recomputes_rates_and_reports_completeness(seeded_db_url, tmp_path):
    data = {"210302": (2000, 10), "210303": (1000, 2), "210304": (500, 4)}
    rows = [r for c, (b, d) in data.items() for r in births(c, 2023, b, d)]
    rows.append(("210300", 2023, "infant_mortality", 4.0))  # the city's own published rate
    rows.append(("210000", 2023, "infant_mortality", 4.2))
    svc.import_file(write_csv(tmp_path / "a.csv", rows), actor=LOCAL_ADMIN, db=seeded_db_url)
    result = {
        r["region"]: r
        for r in svc.aggregate(
            "infant_mortality", db=seeded_db_url, periods=["2023"], actor=LOCAL_ADMIN
        )
    }
    city = result["210300"]
    expected = (10 + 2 + 4) / (2000 + 1000 + 500) * 1000
    mean_of_rates = (5 + 2 + 8) / 3
    assert city["aggregate"] == pytest.approx(expected)
    assert city["aggregate"] != pytest.approx(mean_of_rates)
    assert (city["counties_reported"], city["counties_total"]) == (3, 7)
    assert city["missing_counties"] == ["210311", "210321", "210323", "210381"]
    assert city["own"] == 4.0 and city["own_source"] == "reported"
    assert city["gap"] == pytest.approx(4.0 - expected) and city["gap_finding"] is True
    province = result["210000"]
    assert province["aggregate"] == pytest.approx(expected)
    assert (province["counties_reported"], province["counties_total"]) == (3, 100)
    assert result["210302"]["own"] == pytest.approx(5.0)
    assert result["210311"]["own"] is None and result["210311"]["completeness"] == 0
    rows = svc.completeness(
        "2023", plan="anshan-2021-2025", region="210300", db=seeded_db_url, actor=LOCAL_ADMIN
    )
    im = next(r for r in rows if r["indicator"] == "infant_mortality" and r["region"] == "210300")
    assert im["counties_reported"] == 3


def test_export_in_every_format_imports_back_unchanged(seeded_db_url, tmp_path):
    rows = [r for c in ANSHAN[:3] for r in births(c, 2023, 1000, 3)]
    rows += [
        ("210302", 2023, "life_expectancy", 79.45),
        ("210302", 2023, "beds", 4100),
        ("210302", 2023, "resident_population", 510000),
    ]
    svc.import_file(write_csv(tmp_path / "a.csv", rows), actor=LOCAL_ADMIN, db=seeded_db_url)
    for fmt in ("csv", "xlsx", "dhis2-json", "fhir"):
        out = tmp_path / f"export.{fmt.replace('-', '.')}"
        info = svc.export(out, format=fmt, actor=LOCAL_ADMIN, db=seeded_db_url, region="210300")
        assert info["values"] == len(rows)
        again = svc.import_file(out, format=fmt, actor=LOCAL_ADMIN, db=seeded_db_url)
        assert (again.inserted, again.updated) == (0, 0), fmt
        assert again.unchanged == (len(rows) if fmt != "fhir" else again.rows)
    # FHIR carries the indicators whose elements are all present
    fhir = svc.export(tmp_path / "x.json", format="fhir", actor=LOCAL_ADMIN, db=seeded_db_url)
    # infant mortality for 3 counties, life expectancy and beds per 1000 for 210302; deliveries
    # feed only indicators whose other element is missing, so FHIR has no place for them
    assert fhir["written"] == 3 + 1 + 1
