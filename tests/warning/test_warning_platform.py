"""Feeds, runs, alerts and their lifecycle against the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from healthwatch.errors import InputError, NotFoundError, PermissionDeniedError
from healthwatch.services import warning as svc
from healthwatch.store.audit import audit_trail
from healthwatch.store.db import session_scope
from healthwatch.store.warning_models import (
    WarningFeedBatch,
    WarningSeriesBlock,
    WarningSignal,
)
from healthwatch.users import Actor, Role

END = date(2024, 3, 31)
DAYS = 45
COUNTIES = ["210302", "210303", "210304", "210102"]
OUTBREAK = "210302"  # Tiedong, Anshan


def feed_csv(tmp_path, *, outbreak: bool = True, seed: int = 1) -> str:
    """45 days of fever-clinic and pharmacy fever counts; an outbreak in both on the last 3."""
    rng = np.random.default_rng(seed)
    lines = ["date,region,source,syndrome,count"]
    for k in range(DAYS):
        day = END - timedelta(days=DAYS - 1 - k)
        for county in COUNTIES:
            for source, mean in (("fever_clinic", 20), ("pharmacy_antipyretic", 40)):
                value = int(rng.poisson(mean))
                if outbreak and county == OUTBREAK and k >= DAYS - 3:
                    value += 40 + 15 * (k - DAYS + 3)
                lines.append(f"{day},{county},{source},fever,{value}")
    path = tmp_path / "feed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_ingest_stores_values_keeps_revisions_and_refuses_bad_files(db_url, tmp_path):
    result = svc.ingest_file(feed_csv(tmp_path), db=db_url, today="2024-04-01")
    assert result["values_new"] == DAYS * len(COUNTIES) * 2
    assert result["values_revised"] == 0 and result["stale_runs"] == []
    with session_scope(db_url) as s:
        m, regions = svc.read_series(s, [("fever_clinic", "fever", DAYS)], END)[
            ("fever_clinic", "fever")
        ]
        assert m.shape == (DAYS, 4) and sorted(regions) == sorted(COUNTIES)
        first = float(m[-1, regions.index(OUTBREAK)])
    # a late revision of one value, and an explicit "missing" for another
    revision = tmp_path / "revision.csv"
    revision.write_text(
        "date,region,source,syndrome,count\n"
        f"{END},{OUTBREAK},fever_clinic,fever,{int(first) + 5}\n"
        f"{END},210102,fever_clinic,fever,\n",
        encoding="utf-8",
    )
    again = svc.ingest_file(revision, db=db_url, today="2024-04-01")
    assert (again["values_new"], again["values_revised"]) == (0, 2)
    with session_scope(db_url) as s:
        versions = svc.value_versions(s, END, OUTBREAK, "fever_clinic", "fever")
        assert [v["count"] for v in versions] == [first, first + 5]
        assert [v["version"] for v in versions] == [1, 2]
        m, regions = svc.read_series(s, [("fever_clinic", "fever", 1)], END)[
            ("fever_clinic", "fever")
        ]
        assert np.isnan(m[0, regions.index("210102")])  # reported missing, not zero
        batches = s.scalar(select(func.count()).select_from(WarningFeedBatch))
        blocks = [b.values for b in s.scalars(select(WarningSeriesBlock))]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,region,source,syndrome,count\n"
        f"{END},{OUTBREAK},fever_clinic,fever,3\n"
        f"{END},{OUTBREAK},fever_clinic,fever,4\n"  # duplicated row
        f"{END},210302,fever_clinic,fever,-1\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError):
        svc.ingest_file(bad, db=db_url, today="2024-04-01")
    with session_scope(db_url) as s:  # nothing written
        assert s.scalar(select(func.count()).select_from(WarningFeedBatch)) == batches
        assert [b.values for b in s.scalars(select(WarningSeriesBlock))] == blocks
        assert audit_trail(s, entity="warning_feed_batches")[-1]["after"]["values_revised"] == 2


def test_json_records_way_in(db_url):
    records = [
        {
            "date": "2024-03-01",
            "region": "210302",
            "source": "laboratory",
            "syndrome": "influenza",
            "count": 3,
        },
        {
            "date": "2024-03-02",
            "region": "210302",
            "source": "laboratory",
            "syndrome": "influenza",
            "count": None,
        },
    ]
    out = svc.ingest_records(records, db=db_url, today="2024-04-01")
    assert out["values_new"] == 1 and out["values_unchanged"] == 1
    with pytest.raises(InputError) as info:
        svc.ingest_records([dict(records[0], region="219999")], db=db_url, today="2024-04-01")
    assert info.value.problems[0].field == "region"


def test_run_finds_the_multi_source_outbreak_and_is_idempotent(db_url, tmp_path):
    svc.ingest_file(feed_csv(tmp_path), db=db_url, today="2024-04-01")
    first = svc.run_day(END, db=db_url, notify=False)
    assert first["series"] == 8 and first["signals"] >= 2
    with session_scope(db_url) as s:
        alerts = svc.list_alerts(s, status="open")
        signals = sorted((x.region, x.source, x.observed) for x in s.scalars(select(WarningSignal)))
    hit = [a for a in alerts if a["region"] == OUTBREAK and a["syndrome"] == "fever"]
    assert len(hit) == 1
    assert set(hit[0]["sources"]) == {"fever_clinic", "pharmacy_antipyretic"}
    assert hit[0]["level"] in ("yellow", "orange", "red")
    assert all(a["region"] == OUTBREAK for a in alerts)  # the quiet counties raise nothing
    second = svc.run_day(END, db=db_url, notify=False)
    assert second["times_run"] == 2 and second["alerts_new"] == 0
    with session_scope(db_url) as s:
        assert [a["id"] for a in svc.list_alerts(s, status="open")] == [a["id"] for a in alerts]
        again = sorted((x.region, x.source, x.observed) for x in s.scalars(select(WarningSignal)))
        assert again == signals
        detail = svc.alert_detail(s, hit[0]["id"])
        evidence = detail["evidence"]["signals"]
        assert {e["source"] for e in evidence} == {"fever_clinic", "pharmacy_antipyretic"}
        assert all(e["p_value"] is not None and e["p_value"] < 0.01 for e in evidence)


def test_late_data_marks_the_day_stale_and_run_due_runs_it_again(db_url, tmp_path):
    svc.ingest_file(feed_csv(tmp_path, outbreak=False), db=db_url, today="2024-04-01")
    svc.run_day(END, db=db_url, notify=False)
    with session_scope(db_url) as s:
        assert svc.list_alerts(s) == []
    late = tmp_path / "late.csv"
    late.write_text(
        "date,region,source,syndrome,count\n"
        f"{END},{OUTBREAK},fever_clinic,fever,150\n"
        f"{END},{OUTBREAK},pharmacy_antipyretic,fever,200\n",
        encoding="utf-8",
    )
    result = svc.ingest_file(late, db=db_url, today="2024-04-01")
    assert result["stale_runs"] == [END.isoformat()]
    runs = svc.run_due(END + timedelta(days=1), db=db_url, notify=False)
    assert [r["date"] for r in runs] == [END.isoformat(), (END + timedelta(days=1)).isoformat()]
    assert runs[0]["times_run"] == 2
    with session_scope(db_url) as s:
        assert [a["region"] for a in svc.list_alerts(s)] == [OUTBREAK]
    # nothing is stale any more: the next run_due runs only the day asked for
    assert len(svc.run_due(END + timedelta(days=1), db=db_url, notify=False)) == 1


def test_single_case_disease_goes_straight_to_red(db_url):
    svc.ingest_records(
        [
            {
                "date": "2024-03-30",
                "region": "210211",
                "source": "notifiable",
                "syndrome": "cholera",
                "count": 1,
            }
        ],
        db=db_url,
        today="2024-04-01",
    )
    svc.run_day("2024-03-30", db=db_url, notify=False)
    with session_scope(db_url) as s:
        (alert,) = svc.list_alerts(s)
    assert (alert["region"], alert["syndrome"], alert["level"]) == ("210211", "cholera", "red")


def test_lifecycle_scope_overdue_and_audit(db_url, tmp_path):
    svc.ingest_file(feed_csv(tmp_path), db=db_url, today="2024-04-01")
    svc.run_day(END, db=db_url, notify=False)
    officer = Actor("duty-anshan", Role.DUTY_OFFICER, "210300")
    other = Actor("duty-shenyang", Role.DUTY_OFFICER, "210100")
    viewer = Actor("viewer", Role.VIEWER, "210300")
    with session_scope(db_url) as s:
        (alert,) = svc.list_alerts(s, actor=officer)
        assert svc.list_alerts(s, actor=other) == []
        later = datetime.now(UTC) + timedelta(hours=25)
        assert svc.list_alerts(s, status="overdue", now=later)[0]["id"] == alert["id"]
        assert svc.list_alerts(s, status="overdue") == []
    aid = alert["id"]
    with session_scope(db_url) as s:
        with pytest.raises(NotFoundError):
            svc.change_alert(s, aid, "acknowledge", actor=other)
        with pytest.raises(PermissionDeniedError):
            svc.change_alert(s, aid, "acknowledge", actor=viewer)
        with pytest.raises(InputError) as info:
            svc.change_alert(s, aid, "close", actor=officer)
        assert "acknowledge" in info.value.problems[0].reason_en
    steps = [
        ("acknowledge", "acknowledged"),
        ("assign", "acknowledged"),
        ("investigate", "investigating"),
        ("rule_out", "ruled_out"),
        ("close", "closed"),
    ]
    for action, status in steps:
        with session_scope(db_url, actor=officer.username) as s:
            out = svc.change_alert(
                s, aid, action, actor=officer, note=f"note {action}", assignee="王医生"
            )
            assert out["status"] == status
    with session_scope(db_url) as s:
        detail = svc.alert_detail(s, aid)
        assert [e["action"] for e in detail["events"]] == ["raise"] + [a for a, _ in steps]
        assert all(e["actor"] == "duty-anshan" for e in detail["events"][1:])
        assert detail["assigned_to"] == "王医生" and detail["verified_at"] is not None
        assert not svc.list_alerts(s, status="overdue", now=datetime.now(UTC) + timedelta(days=3))
        with pytest.raises(InputError):
            svc.change_alert(s, aid, "acknowledge", actor=officer)
        trail = audit_trail(s, entity="warning_alerts", entity_key=str(aid))
        assert [t["after"]["status"] for t in trail if t["action"] == "update"][-1] == "closed"
        assert {t["actor"] for t in trail if t["action"] == "update"} == {"duty-anshan"}
        events = audit_trail(s, entity="warning_alert_events")
        assert len(events) == len(steps) + 1


def test_reporter_outside_its_region_cannot_ingest(db_url, tmp_path):
    reporter = Actor("anshan", Role.REPORTER, "210300")
    with pytest.raises(PermissionDeniedError):
        svc.ingest_file(feed_csv(tmp_path), db=db_url, actor=reporter, today="2024-04-01")


def test_dask_client_gives_the_local_signals(tmp_path):
    distributed = pytest.importorskip("distributed")
    db = f"sqlite:///{tmp_path / 'dask.sqlite'}"
    svc.ingest_file(feed_csv(tmp_path), db=db, today="2024-04-01")
    local = svc.run_day(END, db=db, notify=False)
    with session_scope(db) as s:
        before = sorted((x.region, x.source, x.p_value) for x in s.scalars(select(WarningSignal)))
    with distributed.Client(processes=False, n_workers=1, dashboard_address=None) as client:
        remote = svc.run_day(END, db=db, notify=False, client=client)
    with session_scope(db) as s:
        after = sorted((x.region, x.source, x.p_value) for x in s.scalars(select(WarningSignal)))
    assert after == before and remote["signals"] == local["signals"] > 0
    assert remote["alerts_new"] == 0  # the same day again: the alert is updated, not repeated


def test_space_time_cluster_becomes_an_alert_with_its_counties(tmp_path):
    from healthwatch.warning.geography import neighbours_within

    db = f"sqlite:///{tmp_path / 'scan.sqlite'}"
    counties = svc.county_codes_builtin()[:40]
    core = "210302"
    ring = sorted(neighbours_within(counties)[core])[:2]
    cluster = {core, *ring}
    rng = np.random.default_rng(5)
    records = []
    for k in range(56):
        day = END - timedelta(days=55 - k)
        for county in counties:
            n = int(rng.poisson(3)) + (12 if county in cluster and k >= 53 else 0)
            records.append(
                {
                    "date": str(day),
                    "region": county,
                    "source": "kindergarten_absence",
                    "syndrome": "rash",
                    "count": n,
                }
            )
    svc.ingest_records(records, db=db, today="2024-04-01")
    result = svc.scan_day(
        END, syndrome="rash", source="kindergarten_absence", db=db, replicates=199, seed=3
    )
    top = result["clusters"][0]
    assert set(top["counties"]) >= cluster and top["p_value"] <= 0.01
    assert top["end"] == END.isoformat()
    with session_scope(db) as s:
        (alert,) = [a for a in svc.list_alerts(s) if a["kind"] == "cluster"]
        detail = svc.alert_detail(s, alert["id"])
    assert set(alert["regions"]) == set(top["counties"]) and alert["syndrome"] == "rash"
    assert detail["evidence"]["cluster"]["llr"] == pytest.approx(top["llr"])
    # scanning the same day again does not raise a second alert
    again = svc.scan_day(
        END, syndrome="rash", source="kindergarten_absence", db=db, replicates=199, seed=3
    )
    assert again["alerts_new"] == []
