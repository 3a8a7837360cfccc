"""`healthwatch warning` as a user runs it: real subprocesses, strict JSON, no personal data."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from conftest import strict_json_loads

from healthwatch.warning.demo_data import PLANTED

from .test_warning_feeds import make_id

KEY = "cli-test-key-0123456789abcdef"


def write_feed(path, end: date, days: int = 40) -> None:
    rng = np.random.default_rng(7)
    lines = ["date,region,source,syndrome,count"]
    for k in range(days):
        day = end - timedelta(days=days - 1 - k)
        for county in ("210302", "210303", "210102"):
            for source in ("fever_clinic", "pharmacy_antipyretic"):
                value = int(rng.poisson(20))
                if county == "210302" and k >= days - 2:
                    value += 80
                lines.append(f"{day},{county},{source},fever,{value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def add_officers(db: str) -> None:
    from healthwatch.services.database import load_builtin
    from healthwatch.services.users import add_user
    from healthwatch.store.db import session_scope
    from healthwatch.users import LOCAL_ADMIN

    with session_scope(db, create=True) as s:
        load_builtin(s)
        for name, region in (("sy", "210100"), ("as", "210300")):
            add_user(s, LOCAL_ADMIN, name, "Duty-officer-2024!", "duty_officer", region=region)


def test_the_whole_flow_from_the_command_line(run_cli, tmp_path):
    db = str(tmp_path / "hw.sqlite")
    end = date(2024, 5, 31)
    feed = tmp_path / "feed.csv"
    write_feed(feed, end)
    out = run_cli("warning", "ingest", str(feed), "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    assert strict_json_loads(out.stdout)["values_new"] == 40 * 3 * 2

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,region,source,syndrome,count\n2024-05-01,210302,fever_clinc,fever,-3\n",
        encoding="utf-8",
    )
    out = run_cli("warning", "ingest", str(bad), "--db", db)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "未知的数据来源" in out.stderr and "unknown source" in out.stderr
    assert "bad.csv:2 [count]" in out.stderr

    out = run_cli("warning", "run", "--date", str(end), "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    (result,) = strict_json_loads(out.stdout)
    assert result["alerts_new"] == 1 and result["series"] == 6

    out = run_cli("warning", "alerts", "--status", "open", "--db", db, "--json")
    (alert,) = strict_json_loads(out.stdout)
    assert alert["region"] == "210302" and alert["status"] == "new"
    aid = str(alert["id"])
    add_officers(db)
    shenyang = ("--as", "sy")
    anshan = ("--as", "as")
    out = run_cli("warning", "alerts", "--db", db, "--json", *shenyang)
    assert strict_json_loads(out.stdout) == []
    out = run_cli("warning", "ack", aid, "--db", db, *shenyang)
    assert out.returncode == 2 and "没有编号为" in out.stderr

    out = run_cli("warning", "ack", aid, "--note", "已电话核实", "--db", db, "--json", *anshan)
    assert strict_json_loads(out.stdout)["status"] == "acknowledged"
    out = run_cli("warning", "resolve", aid, "--outcome", "closed", "--db", db, *anshan)
    assert out.returncode == 2 and "不能对状态为" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("warning", "assign", aid, "--to", "王医生", "--db", db, "--json", *anshan)
    assert strict_json_loads(out.stdout)["assigned_to"] == "王医生"
    out = run_cli("warning", "resolve", aid, "--outcome", "investigating", "--db", db, *anshan)
    assert out.returncode == 0 and "调查核实中" in out.stdout
    out = run_cli("warning", "show", aid, "--db", db, "--json")
    detail = strict_json_loads(out.stdout)
    assert [e["action"] for e in detail["events"]] == [
        "raise",
        "acknowledge",
        "assign",
        "investigate",
    ]
    assert detail["events"][1]["note"] == "已电话核实" and detail["events"][1]["actor"] == "as"
    assert {s["source"] for s in detail["evidence"]["signals"]} == {
        "fever_clinic",
        "pharmacy_antipyretic",
    }
    out = run_cli("warning", "show", aid, "--db", db)
    assert out.returncode == 0 and "证据 / evidence" in out.stdout

    out = run_cli("warning", "config", "--db", db, "--json")
    configs = strict_json_loads(out.stdout)
    assert {(c["source"], c["method"]) for c in configs} == {
        ("fever_clinic", "ears_c2"),
        ("pharmacy_antipyretic", "ears_c2"),
    }
    out = run_cli("warning", "catalogue", "--json")
    catalogue = strict_json_loads(out.stdout)
    assert len(catalogue["sources"]) >= 10 and len(catalogue["syndromes"]) >= 40


def test_line_lists_need_the_key_and_leave_no_identity_anywhere(run_cli, tmp_path):
    db = tmp_path / "hw.sqlite"
    ids = [make_id("210302", "19850505", f"{k:03d}") for k in range(1, 4)]
    names = ["李雷雷", "韩梅梅", "王小明"]
    rows = ["id_number,name,date,region,syndrome"]
    for k, (number, name) in enumerate(zip(ids, names, strict=True)):
        rows.append(f"{number},{name},2024-05-0{k + 1},210302,influenza")
    rows.append(f"{ids[0].lower()},{names[0]},2024-05-03,210302,influenza")  # duplicate
    good = tmp_path / "cases.csv"
    good.write_text("\n".join(rows) + "\n", encoding="utf-8")
    bad = tmp_path / "cases_bad.csv"
    broken = ids[1][:17] + ("0" if ids[1][17] != "0" else "1")
    bad.write_text(rows[0] + f"\n{broken},{names[1]},2024-05-01,210302,influenza\n", "utf-8")

    outputs = []
    out = run_cli(
        "warning",
        "ingest",
        str(good),
        "--line-list",
        "--db",
        str(db),
        env={"HEALTHWATCH_PSEUDONYM_KEY": ""},
    )
    outputs.append(out)
    assert out.returncode == 2 and "HEALTHWATCH_PSEUDONYM_KEY" in out.stderr
    env = {"HEALTHWATCH_PSEUDONYM_KEY": KEY}
    out = run_cli("warning", "ingest", str(bad), "--line-list", "--db", str(db), env=env)
    outputs.append(out)
    assert out.returncode == 2 and "校验码不符" in out.stderr and "cases_bad.csv:2" in out.stderr
    out = run_cli("warning", "ingest", str(good), "--line-list", "--db", str(db), "--json", env=env)
    outputs.append(out)
    result = strict_json_loads(out.stdout)
    assert (result["cases"], result["duplicates_merged"]) == (3, 1)
    out = run_cli("warning", "run", "--date", "2024-05-03", "--db", str(db), "--json", env=env)
    outputs.append(out)
    out = run_cli("warning", "alerts", "--db", str(db), "--json")
    outputs.append(out)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("hw.sqlite*"))
    for secret in [*ids, broken, *names]:
        for o in outputs:
            assert secret not in o.stdout and secret not in o.stderr
            assert secret.lower() not in o.stdout
        assert secret.encode() not in stored and secret.encode("gb18030") not in stored
        assert secret.encode("utf-16-le") not in stored


def test_demo_run_finds_the_planted_outbreaks(run_cli, tmp_path):
    db = str(tmp_path / "demo.sqlite")
    end = date(2024, 6, 30)
    out = run_cli("warning", "demo", "--end", str(end), "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    assert strict_json_loads(out.stdout)["loaded"] is True
    out = run_cli("warning", "run", "--date", str(end), "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    out = run_cli("warning", "alerts", "--status", "open", "--db", db, "--json")
    alerts = strict_json_loads(out.stdout)
    found = {(a["region"], a["syndrome"]): a for a in alerts}
    expected = {p.regions[0]: p for p in PLANTED[:3]}
    for region, planted in expected.items():
        assert (region, planted.syndrome) in found, planted.name_en
    tiedong = found[("210302", "fever")]
    assert len(tiedong["sources"]) >= 2 and tiedong["level"] in ("orange", "red")
    assert found[("210211", "cholera")]["level"] == "red"
    assert set(found[("210102", "diarrhoea")]["sources"]) >= {
        "intestinal_clinic",
        "pharmacy_antidiarrhoeal",
    }
    # few false alarms: the planted outbreaks are most of what is open
    assert len(alerts) <= 3 + 8
