"""The facility registry in the database, on SQLite and PostgreSQL: import, upsert, audit, revert.

The registry is the synthetic 盘锦市 (211100) part of the demo data, written to a CSV and read
back through the file reader, so the database and the file path are compared on the same table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from healthwatch.access.demo_data import make_demo_data
from healthwatch.access.facilities import (
    KIND_CODES,
    FacilityKind,
    ImportSummary,
    ems_stations,
    validate_facilities,
)
from healthwatch.cli import app
from healthwatch.data.facilities import read_facilities, registry_to_csv
from healthwatch.errors import InputError, NotFoundError
from healthwatch.services.access import stored_registry
from healthwatch.store.audit import revert_change
from healthwatch.store.db import session_scope
from healthwatch.store.facilities import (
    FACILITY_COLUMNS,
    facility_count,
    facility_history,
    facility_sources,
    get_facility,
    list_facilities,
)
from healthwatch.store.facilities import save_facilities as _save_facilities
from healthwatch.store.models import AuditEntry

runner = CliRunner()


@pytest.fixture(scope="module")
def registry_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = make_demo_data(seed=5, cities=("211100",), demand_points=300)
    return registry_to_csv(data.facilities, tmp_path_factory.mktemp("reg") / "facilities.csv")


@pytest.fixture(scope="module")
def registry(registry_csv: Path) -> pd.DataFrame:
    return read_facilities(registry_csv).facilities


def save_facilities(session, table: pd.DataFrame, **kw):  # type: ignore[no-untyped-def]
    """Validate (the one validator, without boundaries: the rows came from a checked file)
    and save, as every caller of the store must."""
    file = kw.get("source", "<table>")
    return _save_facilities(
        session, validate_facilities(table, file=file, check_boundaries=False), **kw
    )


def _audit_rows(session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry)))


def test_kind_codes_are_the_access_kinds() -> None:
    assert tuple(k.value for k in FacilityKind) == KIND_CODES


def test_the_store_saves_only_a_validated_registry(db_url: str, registry: pd.DataFrame) -> None:
    with session_scope(db_url, create=True) as s:
        with pytest.raises(InputError, match="validated registry"):
            _save_facilities(s, registry, actor="t", source="f")  # type: ignore[arg-type]
        assert facility_count(s) == 0
        counts = _save_facilities(s, ImportSummary(registry, 0, 0), actor="t", source="f")
        assert counts["inserted"] == len(registry)


def test_import_then_list_gives_the_file_table_back(db_url: str, registry: pd.DataFrame) -> None:
    with session_scope(db_url, create=True, actor="alice") as s:
        counts = save_facilities(s, registry, actor="alice", source="facilities.csv")
    assert counts == {"inserted": len(registry), "updated": 0, "unchanged": 0, "deleted": 0}
    with session_scope(db_url, create=True) as s:
        stored = list_facilities(s)
        expected = registry.sort_values("id").reset_index(drop=True)
        pd.testing.assert_frame_equal(stored, expected)  # same columns, dtypes and values
        assert list(stored.columns) == list(FACILITY_COLUMNS)
        inserts = [r for r in facility_history(s) if r["action"] == "insert"]
        assert len(inserts) == len(registry) and {r["actor"] for r in inserts} == {"alice"}
        first = registry.sort_values("id").iloc[0]
        one = get_facility(s, str(first["id"]))
        assert one["source"] == "facilities.csv" and one["beds"] == int(first["beds"])
        assert facility_sources(s) == [
            {
                "source": "facilities.csv",
                "facilities": len(registry),
                "year": 2021,
                "synthetic": len(registry),
            }
        ]
        with pytest.raises(NotFoundError):
            get_facility(s, "no-such-id")


def test_filters_by_county_city_and_kind(db_url: str, registry: pd.DataFrame) -> None:
    with session_scope(db_url, create=True) as s:
        save_facilities(s, registry, actor="t", source="f")
        assert len(list_facilities(s, county="211100")) == len(registry)  # the city
        assert len(list_facilities(s, county="210000")) == len(registry)  # the province
        county = list_facilities(s, county="211102")
        assert len(county) == int((registry["adcode"] == "211102").sum()) > 0
        assert set(county["adcode"]) == {"211102"}
        ems = list_facilities(s, kind="ems_station")
        assert len(ems) == int((registry["kind"] == "ems_station").sum()) > 0
        assert list_facilities(s, county="210300").empty  # 鞍山市: none stored
        with pytest.raises(InputError):
            list_facilities(s, kind="spa")
    stations = ems_stations(registry)
    assert set(stations["id"]) == set(
        registry.loc[
            registry["kind"].isin(["ems_station", "ems_centre"]) & (registry["ambulances"] > 0),
            "id",
        ]
    )


def test_reimport_updates_in_place_without_duplicates(db_url: str, registry: pd.DataFrame) -> None:
    with session_scope(db_url, create=True) as s:
        save_facilities(s, registry, actor="t", source="f")
    changed = registry.copy()
    target = str(changed.loc[0, "id"])
    old_beds = int(changed.loc[0, "beds"])
    changed.loc[0, "beds"] = old_beds + 7
    with session_scope(db_url, create=True) as s:
        before = _audit_rows(s)
        counts = save_facilities(s, changed, actor="bob", source="f")
        assert counts == {
            "inserted": 0,
            "updated": 1,
            "unchanged": len(registry) - 1,
            "deleted": 0,
        }
        assert facility_count(s) == len(registry)
        assert _audit_rows(s) == before + 1  # one audit row: only the changed facility
        last = facility_history(s, target)[-1]
        assert last["action"] == "update" and last["actor"] == "bob"
        assert (last["before"]["beds"], last["after"]["beds"]) == (old_beds, old_beds + 7)
    with session_scope(db_url, create=True) as s:
        assert get_facility(s, target)["beds"] == old_beds + 7


def test_a_bad_table_writes_nothing(db_url: str, registry: pd.DataFrame) -> None:
    with session_scope(db_url, create=True) as s:
        save_facilities(s, registry.iloc[:5], actor="t", source="f")
    bad = registry.copy()
    bad.loc[3, "beds"] = -1
    bad.loc[4, "kind"] = "spa"
    bad.loc[6, "negative_pressure"] = int(bad.loc[6, "ambulances"]) + 1
    bad.loc[7, "id"] = bad.loc[8, "id"]
    bad.loc[9, "adcode"] = "999999"
    with session_scope(db_url, create=True) as s:
        rows, audits = facility_count(s), _audit_rows(s)
    with pytest.raises(InputError) as err, session_scope(db_url, create=True) as s:
        save_facilities(s, bad, actor="t", source="bad.csv")
    found = {(p.line, p.field) for p in err.value.problems}
    assert found == {
        (5, "beds"),
        (6, "kind"),
        (8, "negative_pressure"),
        (10, "id"),  # repeats the id that line 9 now has
        (11, "adcode"),
    }
    assert all(p.file == "bad.csv" and p.reason_zh for p in err.value.problems)
    with session_scope(db_url, create=True) as s:
        assert (facility_count(s), _audit_rows(s)) == (rows, audits)


def test_an_error_after_saving_rolls_the_import_back(db_url: str, registry: pd.DataFrame) -> None:
    with session_scope(db_url, create=True) as s:
        base = (facility_count(s), _audit_rows(s))
    with pytest.raises(RuntimeError), session_scope(db_url, create=True) as s:
        save_facilities(s, registry, actor="t", source="f")
        s.flush()
        raise RuntimeError("disk full")
    with session_scope(db_url, create=True) as s:
        assert (facility_count(s), _audit_rows(s)) == base


def test_replace_scopes_delete_what_the_file_lacks(db_url: str, registry: pd.DataFrame) -> None:
    in_county = registry[registry["adcode"] == "211102"]
    with session_scope(db_url, create=True) as s:
        save_facilities(s, registry, actor="t", source="all.csv")
        counts = save_facilities(
            s, in_county.iloc[1:], actor="t", source="all.csv", replace_scope="counties"
        )
        assert counts["deleted"] == 1 and facility_count(s) == len(registry) - 1
        counts = save_facilities(
            s, in_county.iloc[1:], actor="t", source="all.csv", replace_scope="source"
        )
        assert counts["deleted"] == len(registry) - len(in_county)
        assert set(list_facilities(s)["id"]) == set(in_county["id"].iloc[1:])
        with pytest.raises(InputError):
            save_facilities(s, registry, actor="t", source="x", replace_scope="everything")


def test_revert_undoes_update_delete_and_insert(db_url: str, registry: pd.DataFrame) -> None:
    first = str(registry.loc[0, "id"])
    with session_scope(db_url, create=True) as s:
        save_facilities(s, registry.iloc[:3], actor="t", source="f")
        changed = registry.iloc[:2].copy()
        changed.loc[0, "nurses"] = 999
        save_facilities(s, changed, actor="t", source="f", replace_scope="all")  # deletes row 3
    with session_scope(db_url, create=True) as s:
        history = facility_history(s)
        update = next(r for r in history if r["action"] == "update")
        delete = next(r for r in history if r["action"] == "delete")
        revert_change(s, update["id"], actor="carol")
        revert_change(s, delete["id"], actor="carol")
    with session_scope(db_url, create=True) as s:
        restored = list_facilities(s)
        expected = registry.iloc[:3].sort_values("id").reset_index(drop=True)
        pd.testing.assert_frame_equal(restored, expected)
        assert get_facility(s, first)["nurses"] == int(registry.loc[0, "nurses"])
        undo = facility_history(s)[-2:]
        assert [r["actor"] for r in undo] == ["carol", "carol"]
        insert = next(r for r in facility_history(s, first) if r["action"] == "insert")
        revert_change(s, insert["id"], actor="carol")
        assert facility_count(s) == 2


def test_stored_registry_never_creates_a_database(tmp_path: Path, registry: pd.DataFrame) -> None:
    path = tmp_path / "none.sqlite"
    assert stored_registry(str(path)) is None and not path.exists()
    with session_scope(str(path), create=True) as s:
        save_facilities(s, registry, actor="t", source="f")
    assert len(stored_registry(str(path), kind="hospital")) == int(  # type: ignore[arg-type]
        (registry["kind"] == "hospital").sum()
    )


def _invoke(args: list[str]) -> dict[str, object]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_import_list_history_revert(db_url: str, registry_csv: Path, tmp_path: Path) -> None:
    n = len(pd.read_csv(registry_csv))
    out = _invoke(["access", "facilities", "import", str(registry_csv), "--db", db_url, "--json"])
    assert (out["inserted"], out["stored"], out["synthetic"]) == (n, n, True)
    again = _invoke(["access", "facilities", "import", str(registry_csv), "--db", db_url, "--json"])
    assert (again["inserted"], again["unchanged"], again["stored"]) == (0, n, n)

    listed = _invoke(
        ["access", "facilities", "list", "--county", "211102", "--db", db_url, "--json"]
    )
    assert str(listed["source"]).startswith("database")
    facilities = listed["facilities"]
    assert isinstance(facilities, list) and listed["count"] == len(facilities) > 0
    assert {f["adcode"] for f in facilities} == {"211102"}

    # A bad file is rejected whole: line and field named, nothing written.
    bad = tmp_path / "bad.csv"
    text = registry_csv.read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("beds")] = "-3"
    renamed = text[2].split(",")
    renamed[0] = "NEW-1"
    bad.write_text("\n".join([text[0], ",".join(renamed), ",".join(row)]) + "\n", "utf-8")
    result = runner.invoke(app, ["access", "facilities", "import", str(bad), "--db", db_url])
    assert result.exit_code == 2 and f"{bad}:3" in result.output and "beds" in result.output
    with session_scope(db_url, create=True) as s:
        assert facility_count(s) == n

    history = _invoke(["access", "facilities", "history", "--db", db_url, "--json"])
    assert isinstance(history, list) and len(history) == n
    undone = _invoke(
        ["access", "facilities", "revert", str(history[0]["id"]), "--db", db_url, "--json"]
    )
    assert undone["action"] == "insert"
    with session_scope(db_url, create=True) as s:
        assert facility_count(s) == n - 1


def test_cli_ratios_and_coverage_use_the_stored_registry(
    tmp_path: Path, registry_csv: Path, registry: pd.DataFrame
) -> None:
    db = str(tmp_path / "hw.sqlite")
    demo_out = _invoke(["access", "ratios", "--db", db, "--level", "city", "--json"])
    assert demo_out["facilities_source"] == "synthetic demo" and not Path(db).exists()
    _invoke(["access", "facilities", "import", str(registry_csv), "--db", db, "--json"])
    no_pop = runner.invoke(app, ["access", "ratios", "--db", db, "--level", "city"])
    assert no_pop.exit_code == 2 and "regions load" in no_pop.output  # nothing was seeded
    from healthwatch.services.database import install_builtin

    install_builtin(db)
    out = _invoke(["access", "ratios", "--db", db, "--level", "city", "--json"])
    assert out["plan"] == "liaoning-2021-2025" and out["warnings"] == []
    assert str(out["facilities_source"]).startswith("database")
    nurses = next(
        r
        for r in out["resources"]  # type: ignore[attr-defined]
        if r["adcode"] == "211100" and r["resource"] == "nurses"
    )
    # 盘锦市's real 2021 population, loaded into the database, against the stored nurses.
    assert nurses["population"] == 1_390_000 and nurses["have"] == registry["nurses"].sum()
    cov = _invoke(["access", "coverage", "--db", db, "--json"])
    assert str(cov["stations_source"]).startswith("database")
    assert cov["stations"] == len(ems_stations(registry))
