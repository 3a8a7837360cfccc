"""Migrations: a database created by an older version is upgraded in place, never dropped."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from healthwatch.errors import HealthwatchError, InputError
from healthwatch.store.db import (
    current_revision,
    get_engine,
    head_revision,
    session_scope,
    upgrade,
)
from healthwatch.store.models import Base
from healthwatch.store.plans import get_plan, list_plans, plan_indicators, save_plan
from healthwatch.store.regions import populations

OLD_DOCUMENT = {
    "id": "old-plan",
    "name_zh": "旧规划",
    "name_en": "Old plan",
    "region": "210000",
    "start_year": 2021,
    "end_year": 2025,
    "indicators": [
        {"code": "a", "name_zh": "指标甲", "unit": "%", "target": {"kind": "at_least", "value": 1}},
        {"code": "b", "name_zh": "指标乙", "unit": "岁"},
    ],
}


def _write_revision_1_data(url: str) -> None:
    """Rows as version 0001 of the schema stored them (raw SQL: no current models involved)."""
    with get_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO regions (adcode, name, level, parent, kind, type_zh) VALUES "
                "('210000', '辽宁省', 'province', NULL, 'province', '省')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO populations (adcode, year, resident_persons, source, synthetic) "
                "VALUES ('210000', 2021, 42294000, 'yearbook', :f)"
            ),
            {"f": False},
        )
        conn.execute(
            text(
                "INSERT INTO plans (id, current_version, name_zh, name_en, region, start_year, "
                "end_year) VALUES ('old-plan', 1, '旧规划', 'Old plan', '210000', 2021, 2025)"
            )
        )
        document = json.dumps(OLD_DOCUMENT, ensure_ascii=False)
        conn.execute(
            text(
                "INSERT INTO plan_versions (plan_id, version, document, sha256, created_at, actor)"
                " VALUES ('old-plan', 1, :doc, 'x', CURRENT_TIMESTAMP, 'old')"
            ),
            {"doc": document},
        )


def test_upgrade_from_revision_1_keeps_data_and_backfills(db_url):
    assert current_revision(db_url) is None
    assert upgrade(db_url, "0001") == "0001"
    _write_revision_1_data(db_url)
    assert upgrade(db_url) == head_revision()
    with session_scope(db_url, create=True) as s:
        assert get_plan(s, "old-plan") == OLD_DOCUMENT
        assert list_plans(s)[0]["indicators"] == 2
        indicators = plan_indicators(s, "old-plan")
        assert [(i["code"], i["name_zh"], i["unit"]) for i in indicators] == [
            ("a", "指标甲", "%"),
            ("b", "指标乙", "岁"),
        ]
        assert indicators[0]["target"] == {"kind": "at_least", "value": 1}
        assert populations(s, 2021) == {"210000": 42294000.0}
        # The upgraded database keeps working: a new version is number 2.
        # Documents stored before plans were validated are kept; new ones must be valid plans.
        with pytest.raises(InputError):
            save_plan(s, dict(OLD_DOCUMENT, name_en="Old plan v2"), actor="t")  # type: ignore[arg-type]


def test_reading_refuses_an_old_database_and_writing_upgrades_it(db_url):
    upgrade(db_url, "0001")
    _write_revision_1_data(db_url)
    with pytest.raises(HealthwatchError, match="db upgrade"), session_scope(db_url):
        pass  # reading never writes, migrations included
    assert current_revision(db_url) == "0001"
    with session_scope(db_url, create=True) as s:  # migrates, adds no rows
        assert current_revision(db_url) == head_revision()
        assert [p["id"] for p in list_plans(s)] == ["old-plan"]
        assert populations(s, 2021) == {"210000": 42294000.0}


def test_upgrade_is_idempotent(db_url):
    assert upgrade(db_url) == head_revision()
    assert upgrade(db_url) == head_revision()


def test_models_match_the_head_migration(db_url):
    upgrade(db_url)
    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_from_revision_2_keeps_data_and_adds_the_facility_registry(db_url):
    from healthwatch.access.facilities import validate_facilities
    from healthwatch.store.facilities import facility_count, list_facilities, save_facilities

    upgrade(db_url, "0001")
    _write_revision_1_data(db_url)
    assert upgrade(db_url, "0002") == "0002"
    assert upgrade(db_url) == head_revision()
    with session_scope(db_url, create=True) as s:
        assert get_plan(s, "old-plan") == OLD_DOCUMENT
        assert populations(s, 2021) == {"210000": 42294000.0}
        assert facility_count(s) == 0
        row = {"id": "h1", "name": "医院", "kind": "hospital", "adcode": "210302"}
        table = validate_facilities(pd.DataFrame([dict(row, lon=122.99, lat=41.11)]))
        counts = save_facilities(s, table, actor="t", source="x")
        assert counts["inserted"] == 1
        # The county and its city were added from the index, under the existing province.
        assert list_facilities(s)["adcode"].tolist() == ["210302"]
