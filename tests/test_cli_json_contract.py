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
from pathlib import Path
from typing import Any

import pytest
import typer
from conftest import _run_cli, strict_json_loads
from test_plans_malformed import VALID

from healthwatch.cli import app

COUNTY = "210302"  # 鞍山市铁东区: one county keeps the inputs small


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


#: command path -> variants, each a function of the inputs giving the arguments (no --json).
TABLE: dict[str, list[Row | KnownBug]] = {
    "demo": [_args("demo")],
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
        KnownBug(
            _args("surveil", "simulate", "--scenario", "1", "-n", "1"),
            "issue 8: `surveil simulate --json` without --out prints CSV (fixed on the surveil "
            "branch; the xfail is strict, so this mark must go when the fix lands)",
        ),
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
}


def test_every_json_command_is_in_the_table() -> None:
    found = set(_json_commands())
    assert "plans load" in found and "access facilities" in found
    missing = sorted(found - set(TABLE))
    assert not missing, f"commands with --json and no row in TABLE: {missing}"
    stale = sorted(set(TABLE) - found)
    assert not stale, f"rows in TABLE for commands that do not exist or lost --json: {stale}"


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
    # A migrated and seeded database that every run starts from (a copy), so that no run
    # spends its time creating one.
    from healthwatch.store.db import dispose_engine, session_scope

    url = f"sqlite:///{folder / 'template.sqlite'}"
    with session_scope(url):
        pass
    dispose_engine(url)
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
    proc: subprocess.CompletedProcess[str] = _run_cli(*args, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = strict_json_loads(proc.stdout)  # raises on NaN, Infinity, or anything around the JSON
    assert isinstance(data, dict | list) and data
