"""`healthwatch db` and `healthwatch regions` through the CLI runner, on both backends."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from healthwatch.cli import app
from healthwatch.store.db import head_revision, session_scope
from healthwatch.store.regions import population_records

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_head_is_the_newest_migration_file():
    from pathlib import Path

    import healthwatch.store.migrations as migrations

    versions = Path(migrations.__file__).parent / "versions"
    newest = max(p.name.split("_")[0] for p in versions.glob("[0-9]*.py"))
    assert head_revision() == newest


def test_db_upgrade_and_current(db_url):
    head = head_revision()
    result = invoke("db", "current", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["current"] is None
    result = invoke("db", "upgrade", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["to"] == head
    result = invoke("db", "current", "--db", db_url, "--json")
    assert json.loads(result.stdout) | {"database": None} == {
        "database": None,
        "current": head,
        "head": head,
        "up_to_date": True,
    }
    result = invoke("db", "upgrade", "--db", db_url)
    assert result.exit_code == 0 and head in result.stdout


def test_db_unreachable_is_a_clear_error():
    result = invoke("db", "current", "--db", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    assert result.exit_code == 2
    assert "无法打开数据库" in result.stderr and "Cannot open the database" in result.stderr


def test_regions_list(seeded_db_url):
    db_url = seeded_db_url
    result = invoke("regions", "list", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 115
    result = invoke("regions", "list", "--parent", "210300", "--db", db_url, "--json")
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows][:2] == ["铁东区", "铁西区"]
    assert len(rows) == 7 and all(r["parent"] == "210300" for r in rows)
    table = invoke("regions", "list", "--parent", "210300", "--db", db_url)
    assert table.exit_code == 0 and "海城市" in table.stdout
    missing = invoke("regions", "list", "--parent", "999999", "--db", db_url)
    assert missing.exit_code == 2 and "999999" in missing.stderr


def test_regions_load_other_province(db_url, tmp_path):
    path = tmp_path / "jilin.csv"
    path.write_text(
        "adcode,name,resident_population_10k_2021,resident_population_10k_2022\n"
        "220000,吉林省,2375.37,2347.69\n220100,长春市,908.72,910.19\n",
        encoding="utf-8",
    )
    result = invoke("regions", "load", str(path), "--year", "2022", "--db", db_url, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["changed"], summary["years"]) == (2, 2, [2022])
    listed = json.loads(invoke("regions", "list", "--parent", "220000", "--db", db_url, "--json")
                        .stdout)  # fmt: skip
    assert [r["adcode"] for r in listed] == ["220100"]
    with session_scope(db_url) as s:
        jilin = {r["adcode"]: r for r in population_records(s, 2022)}
    assert jilin["220100"]["resident_persons"] == 9_101_900
    assert jilin["220100"]["source"] == "jilin.csv" and not jilin["220100"]["synthetic"]


def test_regions_load_bad_file_writes_nothing(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short path: Rich wraps long lines on stderr
    path = tmp_path / "bad.csv"
    path.write_text(
        "adcode,year,resident_population\n210302,2022,500000\n210399,2022,1000\n",
        encoding="utf-8",
    )
    result = invoke("regions", "load", "bad.csv", "--db", db_url)
    assert result.exit_code == 2
    flat = " ".join(result.stderr.split())
    assert "bad.csv:3 [adcode]" in flat
    assert "未知的行政区划代码 210399" in flat and "Unknown adcode 210399" in flat
    with session_scope(db_url, create=True) as s:
        assert population_records(s, 2022) == []
