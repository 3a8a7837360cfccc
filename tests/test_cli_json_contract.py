"""Every command that takes ``--json`` prints strict JSON on stdout and nothing else.

The commands are found by walking the Typer app, so a new command with ``--json`` fails
``test_every_json_command_is_in_the_table`` until a row for it is added to ``TABLE``. Each row is
run as a real process (``run_cli``: ``python -m healthwatch`` of this checkout), because output
that C libraries write straight to file descriptor 1 (the HiGHS banner) is invisible in-process.
stdout is parsed with ``strict_json_loads``: no NaN/Infinity, nothing before or after the JSON.
Inputs are small (one county of the synthetic demo data) and each run gets its own database.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from conftest import _run_cli, strict_json_loads
from test_plans_malformed import VALID

from healthwatch.cli import app

COUNTY = "210302"  # 鞍山市铁东区: one county keeps the inputs small
PLAN = "anshan-2021-2025"
USER = "zhao"  # an analyst in the prepared database, with API token 1
PASSWORD = "Contract-test-2024!"
FEED_END = "2024-05-31"  # last day of the prepared warning feed; its run raised alert 1
DATA_ROWS = (
    "region,period,element,value,comment\n"
    f"{COUNTY},2023,live_births,1200,\n{COUNTY},2023,deliveries,1190,\n"
    f"{COUNTY},2023,infant_deaths,4,\n"
)


@dataclass(frozen=True)
class Inputs:
    """Small input files, made once per test session, and the folder for a command's output."""

    folder: Path
    out: Path

    def file(self, name: str) -> str:
        return str(self.folder / name)


def _json_commands() -> Iterator[str]:
    """Paths ("plans load", "access facilities") of every command or group taking --json."""

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[str]:
        ctx = typer.Context(cmd, info_name=path[-1] if path else "healthwatch")
        if any("--json" in getattr(p, "opts", ()) for p in cmd.get_params(ctx)):
            yield " ".join(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


def _revert_args(i: Inputs, env: dict[str, str]) -> list[str]:
    """Import the facilities, then revert the last change the history shows."""
    done = _run_cli("access", "facilities", "import", i.file("facilities.csv"), env=env)
    assert done.returncode == 0, done.stderr
    history = strict_json_loads(
        _run_cli("access", "facilities", "history", "--json", env=env).stdout
    )
    return ["access", "facilities", "revert", str(history[0]["id"])]


def _after_import(*args: str) -> Callable[[Inputs, dict[str, str]], list[str]]:
    def prepare(i: Inputs, env: dict[str, str]) -> list[str]:
        done = _run_cli("access", "facilities", "import", i.file("facilities.csv"), env=env)
        assert done.returncode == 0, done.stderr
        return list(args)

    return prepare


Row = Callable[[Inputs, dict[str, str]], list[str]]


@dataclass(frozen=True)
class KnownBug:
    """A row that fails today for a reported reason: run as a strict xfail (an XPASS fails)."""

    row: Row
    reason: str


def _args(*args: str | Callable[[Inputs], str]) -> Row:
    def make(i: Inputs, env: dict[str, str]) -> list[str]:
        return [a if isinstance(a, str) else a(i) for a in args]

    return make


def _f(name: str) -> Callable[[Inputs], str]:
    return lambda i: i.file(name)


def _o(name: str) -> Callable[[Inputs], str]:
    return lambda i: str(i.out / name)


def _prepared(*steps: tuple[str, ...]) -> Callable[..., Row]:
    """A row that first runs ``steps`` (each must succeed), then the command under test."""

    def row(*args: str) -> Row:
        def prepare(i: Inputs, env: dict[str, str]) -> list[str]:
            for step in steps:
                done = _run_cli(*step, env=env)
                assert done.returncode == 0, done.stderr
            return list(args)

        return prepare

    return row


_SUBMIT = ("data", "submit", "--region", COUNTY, "--period", "2023")
_APPROVE = ("data", "approve", "--region", COUNTY, "--period", "2023")
_submitted = _prepared(_SUBMIT)
_approved = _prepared(_SUBMIT, _APPROVE)
_acknowledged = _prepared(("warning", "ack", "1"))


def _with_input(text: str, *args: str) -> Row:
    """A row whose command reads ``text`` on stdin (a password given with --password-stdin)."""

    def make(i: Inputs, env: dict[str, str]) -> list[str]:
        env["HW_TEST_STDIN"] = text
        return list(args)

    return make


#: command path -> variants, each a function of the inputs giving the arguments (no --json).
TABLE: dict[str, list[Row | KnownBug]] = {
    "demo": [_args("demo", "--no-serve")],
    "db upgrade": [_args("db", "upgrade")],
    "db current": [_args("db", "current")],
    "regions list": [_args("regions", "list"), _args("regions", "list", "--parent", "210300")],
    "regions load": [_args("regions", "load", _f("population.csv"))],
    "plans list": [_args("plans", "list")],
    "plans show": [_args("plans", "show", "anshan-2021-2025")],
    "plans check": [_args("plans", "check"), _args("plans", "check", "--builtin")],
    "plans load": [_args("plans", "load", _f("plan.yaml"))],
    "surveil methods": [_args("surveil", "methods")],
    "surveil simulate": [
        _args("surveil", "simulate", "--scenario", "1", "-n", "1"),
        _args("surveil", "simulate", "--scenario", "1", "-n", "1", "-o", _o("sim.csv")),
    ],
    "surveil detect": [_args("surveil", "detect", _f("counts.csv"), "-m", "cidars_fixed")],
    "surveil assess": [
        _args("surveil", "assess", _f("counts.csv"), "-m", "cidars_fixed"),
        _args("surveil", "assess", "--scenario", "1", "-n", "2", "-m", "cidars_fixed"),
    ],
    "access ratios": [_args("access", "ratios", "--facilities", _f("facilities.csv"))],
    "access coverage": [
        _args(
            "access",
            "coverage",
            "--demand",
            _f("demand.csv"),
            "--stations",
            _f("stations.csv"),
            "--geojson",
            _o("coverage.geojson"),
        )
    ],
    "access site": [
        _args(
            "access",
            "site",
            "--model",
            model,
            "--p",
            "2",
            "--demand",
            _f("demand.csv"),
            "--candidates",
            _f("candidates.csv"),
        )
        for model in ("lscp", "mclp", "mexclp")
    ],
    "access 2sfca": [
        _args("access", "2sfca", "--demand", _f("demand.csv"), "--facilities", _f("facilities.csv"))
    ],
    "access demo-data": [_args("access", "demo-data", _o("demo"))],
    "access map": [_args("access", "map", _o("map.svg"), "--title", "测试")],
    "access facilities": [_args("access", "facilities")],
    "access facilities list": [
        _args("access", "facilities", "list"),
        _after_import("access", "facilities", "list", "--county", COUNTY),
    ],
    "access facilities check": [_args("access", "facilities", "check", _f("facilities.csv"))],
    "access facilities import": [_args("access", "facilities", "import", _f("facilities.csv"))],
    "access facilities history": [_after_import("access", "facilities", "history")],
    "access facilities revert": [_revert_args],
    "data import": [_args("data", "import", _f("data.csv"), "--dry-run")],
    "data template": [
        _args(
            "data",
            "template",
            "--plan",
            PLAN,
            "--region",
            COUNTY,
            "--year",
            "2024",
            "--out",
            _o("t.xlsx"),
        )
    ],
    "data export": [_args("data", "export", _o("export.csv"), "--region", COUNTY)],
    "data values": [_args("data", "values", "--region", COUNTY)],
    "data history": [_args("data", "history", "--region", COUNTY, "--period", "2023")],
    "data revert": [
        _args(
            "data",
            "revert",
            "--region",
            COUNTY,
            "--period",
            "2023",
            "--element",
            "infant_deaths",
            "--version",
            "1",
            "--reason",
            "核对",
        )
    ],
    "data submit": [_args("data", "submit", "--region", COUNTY, "--period", "2023")],
    "data approve": [_submitted("data", "approve", "--region", COUNTY, "--period", "2023")],
    "data unlock": [
        _approved("data", "unlock", "--region", COUNTY, "--period", "2023", "--reason", "更正")
    ],
    "data status": [_args("data", "status", "--period", "2023", "--region", "210300")],
    "data aggregate": [_args("data", "aggregate", "infant_mortality", "--period", "2023")],
    "data completeness": [
        _args("data", "completeness", "--period", "2023", "--plan", PLAN, "--region", "210300")
    ],
    "data definitions": [_args("data", "definitions")],
    "evaluate": [_args("evaluate", "--plan", PLAN, "--as-of", "2023", "--region", "210300")],
    "report": [
        _args(
            "report",
            "--plan",
            PLAN,
            "--as-of",
            "2023",
            "--format",
            "xlsx",
            "--out",
            _o("report.xlsx"),
        )
    ],
    "plans draft": [
        _args("plans", "draft", "--from", PLAN, "--to-year", "2030", "--out", _o("draft.yaml"))
    ],
    "plans progress": [_args("plans", "progress", PLAN, _f("progress.csv"))],
    "users add": [
        _with_input(PASSWORD, "users", "add", "li", "--role", "viewer", "--password-stdin")
    ],
    "users list": [_args("users", "list")],
    "users disable": [_args("users", "disable", USER)],
    "users enable": [_args("users", "enable", USER)],
    "users role": [_args("users", "role", USER, "analyst", "--no-region-limit")],
    "users log": [_args("users", "log", "--verify")],
    "users token issue": [_args("users", "token", "issue", USER, "--name", "feed")],
    "users token list": [_args("users", "token", "list"), _args("users", "token", "list", USER)],
    "users token revoke": [_args("users", "token", "revoke", "1")],
    "warning catalogue": [_args("warning", "catalogue")],
    "warning ingest": [_args("warning", "ingest", _f("feed.csv"))],
    "warning run": [_args("warning", "run", "--date", FEED_END)],
    "warning alerts": [_args("warning", "alerts"), _args("warning", "alerts", "--status", "open")],
    "warning show": [_args("warning", "show", "1")],
    "warning ack": [_args("warning", "ack", "1", "--note", "已核实")],
    "warning assign": [_args("warning", "assign", "1", "--to", "王医生")],
    "warning resolve": [_acknowledged("warning", "resolve", "1", "--outcome", "investigating")],
    "warning scan": [
        _args(
            "warning",
            "scan",
            "--syndrome",
            "fever",
            "--source",
            "fever_clinic",
            "--date",
            FEED_END,
            "--days",
            "7",
            "--replicates",
            "19",
        )
    ],
    "warning simulate": [
        _args(
            "warning",
            "simulate",
            "--out",
            _o("sim"),
            "--regions",
            "3",
            "--days",
            "60",
            "--outbreaks",
            "2",
        )
    ],
    "warning assess": [
        _args(
            "warning",
            "assess",
            "--regions",
            "3",
            "--days",
            "120",
            "--outbreaks",
            "4",
            "--replicates",
            "1",
        )
    ],
    "warning recipient": [
        _args(
            "warning",
            "recipient",
            "--name",
            "值班",
            "--channel",
            "email",
            "--address",
            "duty@example.org",
        )
    ],
    "warning notify": [_args("warning", "notify")],
    "warning config": [_args("warning", "config")],
    "warning demo": [_args("warning", "demo", "--end", FEED_END)],
}


def test_every_json_command_is_in_the_table() -> None:
    found = set(_json_commands())
    assert "plans load" in found and "access facilities" in found
    missing = sorted(found - set(TABLE))
    assert not missing, f"commands with --json and no row in TABLE: {missing}"
    stale = sorted(set(TABLE) - found)
    assert not stale, f"rows in TABLE for commands that do not exist or lost --json: {stale}"


def _write_feed(path: Path, days: int = 40) -> None:
    """Two sources in two counties; Tiedong's last two days jump (one alert when run)."""
    end = date.fromisoformat(FEED_END)
    lines = ["date,region,source,syndrome,count"]
    for k in range(days):
        day = end - timedelta(days=days - 1 - k)
        for county in (COUNTY, "210303"):
            for n, source in enumerate(("fever_clinic", "pharmacy_antipyretic")):
                value = 18 + (k * 7 + n * 3) % 5
                if county == COUNTY and k >= days - 2:
                    value += 80
                lines.append(f"{day},{county},{source},fever,{value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    """One county of the synthetic demo data, a plan file and a short count series."""
    folder = tmp_path_factory.mktemp("json-contract-inputs")
    demo = folder / "demo"
    made = _run_cli("access", "demo-data", str(demo))
    assert made.returncode == 0, made.stderr
    for name in ("demand", "candidates", "stations", "facilities"):
        with (demo / f"{name}.csv").open(encoding="utf-8", newline="") as src:
            rows = [r for r in csv.DictReader(src) if r["adcode"] == COUNTY]
        assert rows, name
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as dst:
            writer = csv.DictWriter(dst, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    (folder / "population.csv").write_text(
        "adcode,year,resident_population\n210300,2021,3282000\n", encoding="utf-8"
    )
    (folder / "plan.yaml").write_text(VALID, encoding="utf-8")
    lines = ["series,t,count,state"]
    lines += [f"a,{t},{(t * 7) % 5},{int(t > 100)}" for t in range(1, 105)]
    lines += [f"b,{t},{(t * 3) % 4},0" for t in range(1, 105)]
    (folder / "counts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "data.csv").write_text(DATA_ROWS, encoding="utf-8")
    (folder / "progress.csv").write_text(
        "project_id,report_date,percent_complete,spent_10k_yuan,budget_10k_yuan,planned_percent\n"
        "P01-01,2023-06-30,30,1200,2000,50\n",
        encoding="utf-8",
    )
    _write_feed(folder / "feed.csv")
    # One prepared database per test session (per xdist worker) that every run starts from (a
    # copy): built-in reference data, indicator values, a user with a token, a warning feed and
    # its run's alert, so that no run spends its time creating them.
    from healthwatch.services.database import install_builtin
    from healthwatch.store.db import dispose_engine

    template = str(folder / "template.sqlite")
    install_builtin(template)
    dispose_engine(template)
    env = {"HEALTHWATCH_DB": template, "HEALTHWATCH_LOG_DIR": str(folder)}
    for args, stdin in (
        (("data", "import", str(folder / "data.csv")), None),
        (("users", "add", USER, "--role", "analyst", "--password-stdin"), PASSWORD),
        (("users", "token", "issue", USER, "--name", "feed"), None),
        (("warning", "ingest", str(folder / "feed.csv")), None),
        (("warning", "run", "--date", FEED_END), None),
    ):
        done = _run_cli(*args, env=env, input=stdin)
        assert done.returncode == 0, (args, done.stderr)
    return Inputs(folder, folder)


def _cases() -> Iterator[Any]:
    for command, rows in TABLE.items():
        for n, row in enumerate(rows):
            if isinstance(row, KnownBug):
                mark = pytest.mark.xfail(strict=True, reason=row.reason)
                yield pytest.param(command, row.row, marks=mark, id=f"{command}[{n}]")
            else:
                yield pytest.param(command, row, id=f"{command}[{n}]")


@pytest.mark.parametrize(("command", "row"), list(_cases()))
def test_json_output_is_strict_json_and_nothing_else(
    command: str, row: Row, inputs: Inputs, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite"
    shutil.copyfile(inputs.folder / "template.sqlite", db)
    env = {"HEALTHWATCH_DB": str(db), "HEALTHWATCH_LOG_DIR": str(tmp_path)}
    i = Inputs(inputs.folder, tmp_path)
    args = row(i, env)
    assert " ".join(args).startswith(command)
    stdin = env.pop("HW_TEST_STDIN", None)
    proc: subprocess.CompletedProcess[str] = _run_cli(*args, "--json", env=env, input=stdin)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = strict_json_loads(proc.stdout)  # raises on NaN, Infinity, or anything around the JSON
    assert isinstance(data, dict | list) and data
