"""Region-scoped reads: inside the reader's region every value, outside only approved ones.

Through the library (values, aggregate, completeness, export, the evaluation's values) on SQLite
and PostgreSQL, and through the CLI as a stored user (``--as``) in a real subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healthwatch.services import data as svc
from healthwatch.services.database import install_builtin
from healthwatch.store.db import dispose_engine, session_scope
from healthwatch.users import LOCAL_ADMIN, Actor, Role

TIEDONG, LISHAN = "210302", "210303"
TIE = Actor("tiedong", Role.REPORTER, TIEDONG)
DALIAN = Actor("dalian", Role.REPORTER, "210200")


def _births(path: Path, region: str, period: str, births: int, deaths: int) -> Path:
    path.write_text(
        "region,period,element,value\n"
        f"{region},{period},live_births,{births}\n"
        f"{region},{period},deliveries,{births - 5}\n"
        f"{region},{period},infant_deaths,{deaths}\n",
        encoding="utf-8",
    )
    return path


def _load(db: str, tmp_path: Path) -> None:
    install_builtin(db)
    svc.import_file(_births(tmp_path / "t.csv", TIEDONG, "2026", 1180, 4), actor=TIE, db=db)
    svc.import_file(_births(tmp_path / "l.csv", LISHAN, "2026", 2000, 10), actor=LOCAL_ADMIN, db=db)
    svc.import_file(_births(tmp_path / "m.csv", LISHAN, "202601", 170, 1), actor=LOCAL_ADMIN, db=db)


def _city(rows: list[dict[str, object]]) -> dict[str, object]:
    return next(r for r in rows if r["region"] == "210300" and r["period"] == "2026")


def test_reads_show_drafts_inside_the_region_and_approved_values_outside(
    db_url: str, tmp_path: Path
) -> None:
    _load(db_url, tmp_path)
    assert set(svc.current_values(db_url, actor=TIE)["region"]) == {TIEDONG}
    assert set(svc.current_values(db_url, actor=LOCAL_ADMIN)["region"]) == {TIEDONG, LISHAN}
    assert svc.current_values(db_url, actor=DALIAN).empty
    agg = svc.aggregate("infant_mortality", db=db_url, periods=["2026"], actor=TIE)
    assert _city(agg)["numerator"] == 4 and _city(agg)["counties_reported"] == 1
    comp = svc.completeness("2026", plan="anshan-2021-2025", region="210300", db=db_url, actor=TIE)
    imr = next(r for r in comp if r["indicator"] == "infant_mortality")
    assert LISHAN in imr["missing_counties"]
    out = tmp_path / "export.csv"
    assert svc.export(out, region="210300", actor=TIE, db=db_url)["values"] == 3
    assert LISHAN not in out.read_text(encoding="utf-8")

    # the evaluation reads the same way
    from healthwatch.services.evaluate import indicator_values
    from healthwatch.store.plans import stored_plan

    with session_scope(db_url) as s:
        plan = stored_plan(s, "anshan-2021-2025")
        mine = indicator_values(s, plan, TIE).frame
        everything = indicator_values(s, plan, LOCAL_ADMIN).frame
    key = (mine["region"] == LISHAN) & (mine["year"] == 2026)
    assert not key.any()
    assert ((everything["region"] == LISHAN) & (everything["year"] == 2026)).any()

    # approving Lishan's year publishes its yearly and monthly values
    svc.submit(LISHAN, "2026", actor=LOCAL_ADMIN, db=db_url)
    svc.approve(LISHAN, "2026", actor=LOCAL_ADMIN, db=db_url)
    seen = svc.current_values(db_url, actor=DALIAN)
    assert set(seen["region"]) == {LISHAN} and set(seen["period"]) == {"2026", "202601"}
    agg = svc.aggregate("infant_mortality", db=db_url, periods=["2026"], actor=TIE)
    assert _city(agg)["numerator"] == 14
    dispose_engine(db_url)


def test_cli_reads_as_a_stored_user(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from healthwatch.services.users import add_user

    db = str(tmp_path / "scope.sqlite")
    _load(db, tmp_path)
    with session_scope(db) as s:
        add_user(s, LOCAL_ADMIN, "tiedong", "Liaoning#2025", "reporter", region=TIEDONG)
    dispose_engine(db)
    as_tie = ("--db", db, "--as", "tiedong", "--json")
    r = run_cli("data", "values", "--period", "2026", *as_tie)
    assert r.returncode == 0, r.stderr
    assert {row["region"] for row in json.loads(r.stdout)} == {TIEDONG}
    r = run_cli("data", "aggregate", "infant_mortality", "--period", "2026", *as_tie)
    assert r.returncode == 0, r.stderr
    assert _city(json.loads(r.stdout))["numerator"] == 4
    r = run_cli("data", "completeness", "--period", "2026", "--region", "210300", *as_tie)
    assert r.returncode == 0, r.stderr
    rows = [row for row in json.loads(r.stdout) if row["indicator"] == "infant_mortality"]
    assert LISHAN in rows[0]["missing_counties"]
    r = run_cli("data", "values", "--period", "2026", "--db", db, "--json")  # local admin
    assert {row["region"] for row in json.loads(r.stdout)} == {TIEDONG, LISHAN}


@pytest.mark.parametrize("reader", [TIE, DALIAN])
def test_history_and_status_stay_inside_the_region(reader: Actor, tmp_path: Path) -> None:
    from healthwatch.errors import PermissionDeniedError

    db = str(tmp_path / "h.sqlite")
    _load(db, tmp_path)
    with pytest.raises(PermissionDeniedError):
        svc.history(LISHAN, "2026", db=db, actor=reader)
    with pytest.raises(PermissionDeniedError):
        svc.status("2026", region=LISHAN, db=db, actor=reader)
    assert LISHAN not in {r["region"] for r in svc.status("2026", db=db, actor=reader)}
    dispose_engine(db)
