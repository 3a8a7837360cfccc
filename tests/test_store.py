"""Storage on both backends: sessions, versioned plans, regions, populations, audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from healthwatch.errors import HealthwatchError, InputError, NotFoundError
from healthwatch.plans import Plan, builtin_plans
from healthwatch.regions.hierarchy import get_region, liaoning_regions
from healthwatch.regions.population import PopulationRow
from healthwatch.store.audit import audit_trail, revert_change
from healthwatch.store.db import resolve_url, session_scope
from healthwatch.store.models import AuditEntry, Indicator, Population
from healthwatch.store.plans import (
    document_sha256,
    get_plan,
    list_plans,
    plan_indicators,
    plan_versions,
    restore_plan_version,
    save_plan,
)
from healthwatch.store.regions import (
    list_regions,
    population_records,
    populations,
    save_populations,
    save_regions,
)


def small_plan(**changes: object) -> Plan:
    """A small valid plan: Anshan's first two indicators under another id (``changes`` apply)."""
    document = builtin_plans()[1].to_json()
    document.update(id="test-plan", name_zh="测试规划", name_en="Test plan", projects=[])
    document.update(indicators=document["indicators"][:2])
    document.update(projects_total=None, supplementary_targets=[], context_figures=[])
    document.update(changes)
    return Plan.from_json(document)


def _indicators(start: int, stop: int) -> list[dict[str, object]]:
    return builtin_plans()[1].to_json()["indicators"][start:stop]


def test_resolve_url(tmp_path, monkeypatch):
    monkeypatch.delenv("HEALTHWATCH_DB")
    monkeypatch.chdir(tmp_path)
    assert resolve_url() == f"sqlite:///{tmp_path / 'healthwatch.sqlite'}"
    assert resolve_url("x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    assert resolve_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    monkeypatch.setenv("HEALTHWATCH_DB", "sqlite:////tmp/a.sqlite")
    assert resolve_url() == "sqlite:////tmp/a.sqlite"
    assert resolve_url("b.sqlite") == f"sqlite:///{tmp_path / 'b.sqlite'}"


def test_sqlite_file_is_wal_with_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    with session_scope(url, create=True) as s:
        assert s.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_opening_a_session_never_creates_or_fills_a_database(tmp_path, db_url):
    # A mistyped --db must not silently become a new database: reading refuses, creates nothing.
    missing = tmp_path / "typo.sqlite"
    with pytest.raises(NotFoundError) as info, session_scope(str(missing)):
        pass
    assert not missing.exists()
    assert "healthwatch demo" in info.value.render() and "不存在" in info.value.render()
    # An empty (never migrated) database is refused for reading, also on PostgreSQL.
    with pytest.raises(NotFoundError), session_scope(db_url):
        pass
    # Creating gives the schema and no rows at all: seeding is a separate, explicit step.
    with session_scope(db_url, create=True) as s:
        assert list_regions(s) == [] and list_plans(s) == []


def test_unsupported_database_urls_are_one_clear_error():
    for url in ("mysql://u@h/db", "foo://x", "postgresql+asyncpg://u@h/d"):
        with pytest.raises(HealthwatchError) as info:
            resolve_url(url)
        assert "不支持的数据库地址" in info.value.render() and "Unsupported" in info.value.render()


def test_importing_the_store_leaves_other_sessions_unaudited(tmp_path):
    # The audit hook is on healthwatch's own session class, not on every SQLAlchemy session.
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from healthwatch.store.db import upgrade
    from healthwatch.store.models import Region

    url = f"sqlite:///{tmp_path / 'plain.sqlite'}"
    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as plain, plain.begin():
        plain.add(Region(adcode="210000", name="辽宁省", level="province", kind="province"))
    with Session(engine) as plain:
        assert plain.scalar(select(func.count()).select_from(AuditEntry)) == 0
    engine.dispose()


def test_builtin_data_are_loaded_explicitly(db_url):
    from healthwatch.services.database import install_builtin

    assert install_builtin(db_url) == {"regions": 115, "populations": 15, "plans": 2}
    with session_scope(db_url) as s:
        regions = list_regions(s)
        assert len(regions) == 115
        assert [r["adcode"] for r in regions if r["level"] == "province"] == ["210000"]
        assert len(list_regions(s, parent="210000")) == 14
        anshan = list_regions(s, parent="210300")
        assert {r["name"] for r in anshan} == {
            "铁东区", "铁西区", "立山区", "千山区", "台安县", "岫岩满族自治县", "海城市"
        }  # fmt: skip
        pop = populations(s, 2021)
        assert len(pop) == 15
        assert pop["210300"] == pytest.approx(3_282_000)
        assert sum(v for k, v in pop.items() if k != "210000") == pytest.approx(42_294_000)
        assert all(not r["synthetic"] for r in population_records(s, 2021))
    # Loading again changes nothing.
    assert install_builtin(db_url) == {"regions": 0, "populations": 0, "plans": 0}
    with session_scope(db_url) as s:
        assert len(list_regions(s)) == 115
        assert s.scalar(select(func.count()).select_from(Population)) == 15


def test_list_regions_unknown_parent(db_url):
    with session_scope(db_url, create=True) as s, pytest.raises(NotFoundError):
        list_regions(s, parent="999999")


def test_plan_versions_only_when_document_changes(db_url):
    with session_scope(db_url, create=True) as s:
        assert save_plan(s, small_plan(), actor="alice") == 1
        assert save_plan(s, small_plan(), actor="alice") == 1  # unchanged: no new version
        assert save_plan(s, small_plan(name_en="Test plan, revised"), actor="bob") == 2
    with session_scope(db_url, create=True) as s:
        rows = list_plans(s)
        assert rows == [
            {
                "id": "test-plan",
                "name_zh": "测试规划",
                "name_en": "Test plan, revised",
                "region": "210300",
                "start_year": 2021,
                "end_year": 2025,
                "indicators": 2,
                "version": 2,
            }
        ]
        versions = plan_versions(s, "test-plan")
        assert [(v["version"], v["actor"], v["current"]) for v in versions] == [
            (1, "alice", False),
            (2, "bob", True),
        ]
        assert versions[0]["sha256"] == document_sha256(small_plan().to_json())
        assert get_plan(s, "test-plan") == small_plan(name_en="Test plan, revised").to_json()
        assert get_plan(s, "test-plan", version=1) == small_plan().to_json()  # Chinese text
        # Stored exactly as given, key order included (plain JSON on PostgreSQL too).
        assert list(get_plan(s, "test-plan")) == list(small_plan().to_json())
        with pytest.raises(NotFoundError):
            get_plan(s, "no-such-plan")
        with pytest.raises(NotFoundError):
            get_plan(s, "test-plan", version=7)


def test_restore_and_resave_old_version_reuse_rows(db_url):
    with session_scope(db_url, create=True) as s:
        save_plan(s, small_plan(), actor="alice")
        three = small_plan(indicators=_indicators(2, 3))
        only = three.indicators[0].code
        assert save_plan(s, three, actor="alice") == 2
        assert [i["code"] for i in plan_indicators(s, "test-plan")] == [only]
        assert restore_plan_version(s, "test-plan", 1, actor="carol") == 1
        first_two = [i["code"] for i in _indicators(0, 2)]
        assert [i["code"] for i in plan_indicators(s, "test-plan")] == first_two
        assert list_plans(s)[0]["indicators"] == 2
        # Saving a document equal to version 2 makes version 2 current; no third row.
        assert save_plan(s, three, actor="dave") == 2
        assert len(plan_versions(s, "test-plan")) == 2
        assert s.scalar(select(func.count()).select_from(Indicator)) == 1
        with pytest.raises(NotFoundError):
            restore_plan_version(s, "test-plan", 9, actor="carol")
        trail = audit_trail(s, entity="plans", entity_key="test-plan")
        assert [(e["action"], e["actor"]) for e in trail] == [
            ("insert", "alice"),
            ("update", "alice"),
            ("update", "carol"),
            ("update", "dave"),
        ]
        assert trail[2]["before"]["current_version"] == 2
        assert trail[2]["after"]["current_version"] == 1


def test_save_plan_takes_only_a_validated_plan(db_url):
    # A raw dict could hold anything (no id, repeated codes, NaN targets): it is refused whole.
    with session_scope(db_url, create=True) as s:
        with pytest.raises(InputError) as info:
            save_plan(s, small_plan().to_json(), actor="x")  # type: ignore[arg-type]
        assert "healthwatch.plans.Plan" in info.value.render()
        assert list_plans(s) == []


def test_error_rolls_back_everything(db_url):
    with pytest.raises(RuntimeError), session_scope(db_url, create=True) as s:
        save_plan(s, small_plan(), actor="alice")
        save_regions(s, [get_region("210000")], actor="alice")
        raise RuntimeError("boom")
    with session_scope(db_url, create=True) as s:
        assert list_plans(s) == []
        assert list_regions(s) == []
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_populations_replace_with_audit_and_add_missing_regions(db_url):
    with session_scope(db_url, create=True) as s:
        save_regions(s, liaoning_regions()[:1], actor="seed")
        rows = [PopulationRow("210000", 2021, 42_294_000.0)]
        assert save_populations(s, rows, actor="alice", source="yearbook") == 1
        assert save_populations(s, rows, actor="alice", source="yearbook") == 0
        # A Jilin county: its city and province are added from the index.
        jilin = [PopulationRow("220102", 2022, 1_000_000.0)]
        assert save_populations(s, jilin, actor="bob", source="jl") == 1
        assert {r["adcode"] for r in list_regions(s)} == {"210000", "220000", "220100", "220102"}
        new = [PopulationRow("210000", 2021, 42_000_000.0)]
        assert save_populations(s, new, actor="carol", source="revision", synthetic=True) == 1
        assert populations(s, 2021) == {"210000": 42_000_000.0}
        assert populations(s, 2022) == {"220102": 1_000_000.0}
        trail = audit_trail(s, entity="populations", entity_key="210000/2021")
        assert [(e["action"], e["actor"]) for e in trail] == [
            ("insert", "alice"),
            ("update", "carol"),
        ]
        assert trail[1]["before"]["resident_persons"] == 42_294_000.0
        assert trail[1]["before"]["source"] == "yearbook"
        assert trail[1]["after"]["resident_persons"] == 42_000_000.0
        assert trail[1]["after"]["synthetic"] is True
        region_trail = audit_trail(s, entity="regions", entity_key="220100")
        assert region_trail[0]["actor"] == "bob"
        assert region_trail[0]["after"]["name"] == "长春市"


def test_unknown_adcode_writes_nothing(db_url):
    with session_scope(db_url, create=True) as s:
        rows = [PopulationRow("210300", 2021, 1.0), PopulationRow("219999", 2021, 1.0)]
        with pytest.raises(InputError) as info:
            save_populations(s, rows, actor="x", source="y")
        assert "219999" in info.value.render()
        assert populations(s, 2021) == {}
        assert list_regions(s) == []


def test_revert_population_changes(db_url):
    with session_scope(db_url, create=True) as s:
        save_populations(s, [PopulationRow("210300", 2021, 3_282_000.0)], actor="a", source="x")
        save_populations(s, [PopulationRow("210300", 2021, 1.0)], actor="b", source="typo")
        update = audit_trail(s, entity="populations")[-1]
        assert update["action"] == "update"
        revert_change(s, update["id"], actor="c")
        assert populations(s, 2021) == {"210300": 3_282_000.0}
        assert population_records(s, 2021)[0]["source"] == "x"
        insert = audit_trail(s, entity="populations")[0]
        revert_change(s, insert["id"], actor="c")
        assert populations(s, 2021) == {}
        delete = audit_trail(s, entity="populations")[-1]
        assert (delete["action"], delete["actor"]) == ("delete", "c")
        revert_change(s, delete["id"], actor="d")  # undoing the undo brings it back
        assert populations(s, 2021) == {"210300": 3_282_000.0}
        with pytest.raises(NotFoundError):
            revert_change(s, 10_000, actor="d")


def test_quick_reads_equal_the_orm_on_both_backends(seeded_db_url):
    db_url = seeded_db_url
    """QuickRead (the web app's per-request lookups on the driver's cursor) gives the same
    typed values as the ORM: datetimes parsed on SQLite, bound parameters in either style."""
    from datetime import datetime

    from sqlalchemy import bindparam

    from healthwatch.services.users import add_user, issue_token
    from healthwatch.store.audit import latest_change
    from healthwatch.store.db import read_connection
    from healthwatch.store.quick import QuickRead
    from healthwatch.store.user_models import ApiToken, User
    from healthwatch.users import LOCAL_ADMIN

    with session_scope(db_url, create=True) as s:
        add_user(s, LOCAL_ADMIN, "quick", "Liaoning#Health-2025", "analyst")
        issue_token(s, LOCAL_ADMIN, "quick", name="t")
    with session_scope(db_url) as s:
        newest = s.scalar(select(func.max(AuditEntry.id)))
        token = s.scalars(select(ApiToken)).one()
        token_hash, created_at = token.token_hash, token.created_at
        role = s.scalars(select(User.role).where(User.username == "quick")).one()
    lookup = QuickRead(
        select(ApiToken.created_at, ApiToken.revoked_at, User.username, User.role)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == bindparam("h"))
    )
    with read_connection(db_url) as conn:
        assert latest_change(conn) == newest > 0
        row = conn.first(lookup, h=token_hash)
        assert conn.first(lookup, h="no such hash") is None
    assert isinstance(row.created_at, datetime)
    assert row.created_at.replace(tzinfo=None) == created_at.replace(tzinfo=None)
    assert (row.revoked_at, row.username, row.role) == (None, "quick", role)
