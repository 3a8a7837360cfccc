"""`healthwatch access ...` through Typer's CliRunner, on small synthetic files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import strict_json_loads
from typer.testing import CliRunner

from healthwatch.access.demo_data import make_demo_data, write_demo_data
from healthwatch.cli import app

runner = CliRunner()
STABLE_KEYS = {
    "model",
    "status",
    "objective",
    "gap",
    "selected",
    "covered_population",
    "total_population",
    "seconds",
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("demo")
    data = make_demo_data(seed=5, cities=("211100",), demand_points=6000)  # 盘锦市 only
    return write_demo_data(out, data)


def _json(args: list[str]) -> dict[str, Any]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("model", ["lscp", "mclp", "mexclp"])
def test_site_json_has_exactly_the_stable_keys(files: dict[str, Path], model: str) -> None:
    out = _json(
        [
            "access",
            "site",
            "--model",
            model,
            "--p",
            "3",
            "--demand",
            str(files["demand"]),
            "--candidates",
            str(files["candidates"]),
            "--json",
        ]
    )
    assert set(out) == STABLE_KEYS
    assert out["model"] == model and out["status"] == "optimal"
    selected = out["selected"]
    assert isinstance(selected, list) and selected
    assert all(set(s) == {"id", "lon", "lat", "ambulances"} for s in selected)
    total = pd.read_csv(files["demand"])["population"].sum()
    assert out["total_population"] == total
    if model == "lscp":
        assert out["covered_population"] == total  # LSCP covers everyone
        assert out["objective"] == len(selected)


@pytest.mark.slow
def test_site_geojson_and_map(files: dict[str, Path], tmp_path: Path) -> None:
    gj = tmp_path / "site.geojson"
    result = runner.invoke(
        app,
        [
            "access",
            "site",
            "--model",
            "mclp",
            "--p",
            "2",
            "--demand",
            str(files["demand"]),
            "--candidates",
            str(files["candidates"]),
            "--geojson",
            str(gj),
        ],
    )
    assert result.exit_code == 0, result.output
    layer = json.loads(gj.read_text(encoding="utf-8"))
    kinds = {f["properties"]["kind"] for f in layer["features"]}
    assert "site" in kinds
    svg = tmp_path / "m.svg"
    result = runner.invoke(app, ["access", "map", str(svg), "--geojson", str(gj)])
    assert result.exit_code == 0, result.output
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<svg") and text.count("<path") >= 100  # county boundaries
    n_sites = sum(1 for f in layer["features"] if f["properties"]["kind"] == "site")
    assert text.count("<rect x=") + text.count("<polygon") >= n_sites


def test_map_json_and_a_bad_layer_writes_nothing(files: dict[str, Path], tmp_path: Path) -> None:
    good = tmp_path / "cov.geojson"
    cov = ["access", "coverage", "--demand", str(files["demand"]), "--stations"]
    result = runner.invoke(app, [*cov, str(files["stations"]), "--geojson", str(good)])
    assert result.exit_code == 0, result.output
    svg = tmp_path / "m.svg"
    out = _json(["access", "map", str(svg), "--geojson", str(good), "--title", "t", "--json"])
    assert out == {"file": str(svg), "layers": 1, "title": "t", "synthetic": False}
    assert svg.read_text(encoding="utf-8").startswith("<svg")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    never = tmp_path / "never.svg"
    result = runner.invoke(
        app, ["access", "map", str(never), "--geojson", str(good), "--geojson", str(bad)]
    )
    assert result.exit_code == 2 and str(bad) in result.output and "GeoJSON" in result.output
    assert not never.exists()


def test_bad_demand_rows_are_named(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,lon,lat,population,urban\n"
        "a,122.07,41.12,100,1\n"
        "b,41.12,122.07,100,1\n"  # swapped
        "c,122.07,41.12,-5,0\n"  # negative population
        "d,100.0,30.0,10,0\n",  # outside Liaoning
        encoding="utf-8",
    )
    result = runner.invoke(
        app,
        [
            "access",
            "site",
            "--model",
            "lscp",
            "--demand",
            str(bad),
            "--candidates",
            str(files["candidates"]),
            "--province",
            "210000",
        ],
    )
    assert result.exit_code == 2
    text = result.output
    assert "swap" in text and "population" in text and "outside" in text
    assert f"{bad}:3" in text and f"{bad}:4" in text and f"{bad}:5" in text


def test_infeasible_lscp_names_the_point(tmp_path: Path) -> None:
    demand = tmp_path / "d.csv"
    demand.write_text(
        "id,lon,lat,population,urban\nnear,122.07,41.12,10,1\nfar,124.0,42.0,10,0\n",
        encoding="utf-8",
    )
    cand = tmp_path / "c.csv"
    cand.write_text("id,lon,lat,existing\nc1,122.071,41.121,0\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["access", "site", "--model", "lscp", "--demand", str(demand), "--candidates", str(cand)],
    )
    assert result.exit_code == 2
    assert "far" in result.output and "infeasible" in result.output


def test_coverage_json_and_geojson(files: dict[str, Path], tmp_path: Path) -> None:
    gj = tmp_path / "cov.geojson"
    out = _json(
        [
            "access",
            "coverage",
            "--demand",
            str(files["demand"]),
            "--stations",
            str(files["stations"]),
            "--geojson",
            str(gj),
            "--json",
        ]
    )
    demand = pd.read_csv(files["demand"])
    assert out["total_population"] == demand["population"].sum()
    assert 0 < out["share"] <= 1
    assert out["covered_population"] == pytest.approx(out["share"] * out["total_population"])
    features = json.loads(gj.read_text(encoding="utf-8"))["features"]
    stations = pd.read_csv(files["stations"])
    assert len(features) == len(demand) + len(stations)
    uncovered = sum(1 for f in features if f["properties"].get("covered") is False)
    assert uncovered == out["uncovered_points"]
    # Widening the radii can only cover more people.
    wide = _json(
        [
            "access",
            "coverage",
            "--demand",
            str(files["demand"]),
            "--stations",
            str(files["stations"]),
            "--radius-urban",
            "20",
            "--radius-rural",
            "40",
            "--json",
        ]
    )
    assert wide["covered_population"] >= out["covered_population"]


def test_two_sfca_conserves_supply(files: dict[str, Path]) -> None:
    # 2SFCA identity: sum_i P_i A_i = total supply of facilities with people in their catchment.
    out = _json(
        [
            "access",
            "2sfca",
            "--demand",
            str(files["demand"]),
            "--facilities",
            str(files["facilities"]),
            "--resource",
            "beds",
            "--catchment",
            "30",
            "--json",
        ]
    )
    rows = out["by_region"]
    assert isinstance(rows, list)
    total_access = sum(r["mean_per_1000"] * r["population"] / 1000 for r in rows)
    beds = pd.read_csv(files["facilities"])["beds"].sum()
    # Every facility of one small city has people within 30 km.
    assert total_access == pytest.approx(beds, rel=1e-9)


def test_ratios_and_facilities_on_files(files: dict[str, Path]) -> None:
    out = _json(
        [
            "access",
            "ratios",
            "--facilities",
            str(files["facilities"]),
            "--population",
            str(files["population"]),
            "--year",
            "2021",
            "--json",
        ]
    )
    fac = pd.read_csv(files["facilities"])
    nurses = next(
        r for r in out["resources"] if r["adcode"] == "211100" and r["resource"] == "nurses"
    )
    assert nurses["have"] == fac["nurses"].sum() and nurses["population"] == 1_390_000
    assert nurses["gap"] == max(0, -(-38 * 1_390_000 // 10_000) - fac["nurses"].sum())
    assert all(c["ok"] for c in out["ems_centres"])
    listed = _json(["access", "facilities", "check", str(files["facilities"]), "--json"])
    assert listed["count"] == len(fac) and listed["synthetic"] is True


def test_bad_options_are_named_in_both_languages() -> None:
    result = runner.invoke(app, ["access", "ratios", "--level", "city", "--level", "town"])
    assert result.exit_code == 2
    assert "[--level]" in result.output and "未知层级 'town'" in result.output
    assert "Unknown level 'town'" in result.output and "'city'" not in result.output
    result = runner.invoke(app, ["access", "site", "--model", "pmedian"])
    assert result.exit_code == 2 and "[--model]" in result.output
    assert "未知模型 'pmedian'" in result.output and "use lscp, mclp or mexclp" in result.output


def test_facilities_bad_file_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "f.csv"
    bad.write_text("id,name,kind,lon,lat,beds\nh,x,hospital,122.07,41.12,-1\n", encoding="utf-8")
    result = runner.invoke(app, ["access", "facilities", "check", str(bad)])
    assert result.exit_code == 2 and "beds" in result.output and f"{bad}:2" in result.output


@pytest.mark.slow
def test_defaults_use_demo_data_and_say_so() -> None:
    result = runner.invoke(app, ["access", "ratios"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output and "朝阳市" in result.output
    out = _json(["access", "ratios", "--json"])
    cities = {r["adcode"] for r in out["ambulances"]}
    assert len(cities) == 15  # province + 14 cities


@pytest.mark.slow
def test_demo_data_command(tmp_path: Path) -> None:
    out = _json(["access", "demo-data", str(tmp_path / "d"), "--json"])
    assert out["synthetic"] is True
    assert (tmp_path / "d" / "demand.csv").exists()
    assert "SYNTHETIC" in (tmp_path / "d" / "README.txt").read_text(encoding="utf-8")


def test_facilities_without_a_subcommand_lists_the_demo_registry_when_none_is_stored() -> None:
    result = runner.invoke(app, ["access", "facilities"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output and "synthetic demo" in result.output
    out = _json(["access", "facilities", "list", "--kind", "ems_centre", "--json"])
    assert out["source"] == "synthetic demo" and out["synthetic"] is True
    assert out["count"] == 14  # one EMS centre per city in the demo data


# --------------------------------------------------------------------------------------------
# Issue 8: clear bilingual errors, nothing written, no traceback (real subprocesses)
# --------------------------------------------------------------------------------------------


def _refused(result: Any, *words: str) -> None:
    """Exit 2, no traceback, and every word in the message (a subprocess or a CliRunner run)."""
    code = getattr(result, "returncode", getattr(result, "exit_code", None))
    assert code == 2, result.stdout + result.stderr
    exception = getattr(result, "exception", None)  # CliRunner: an escaped exception
    assert exception is None or isinstance(exception, SystemExit), exception
    assert "Traceback" not in result.stderr
    flat = " ".join(result.stderr.split())
    for word in words:
        assert word in flat, (word, flat)


def _cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_cli_refusals_are_bilingual_and_write_nothing(run_cli: Any, tmp_path: Path) -> None:
    fac = tmp_path / "f.csv"
    fac.write_text(
        "id,name,kind,adcode,lon,lat,bed\nH1,铁东医院,hospital,210302,122.99,41.11,800\n",
        encoding="utf-8",
    )
    db = tmp_path / "hw.sqlite"
    # Two as real processes (what a user sees), the rest through the runner (faster).
    _refused(
        run_cli("access", "facilities", "import", str(fac), "--db", str(db)), "未知的列", "bed"
    )
    assert not db.exists()  # a bad file creates no database
    _refused(run_cli("access", "facilities", "history", "--db", "foo://x"), "不支持的数据库地址")
    _refused(
        _cli("access", "facilities", "history", "--db", "mysql://u@h/db"), "不支持的数据库地址"
    )
    # A read command on a mistyped --db says so and creates nothing.
    typo = tmp_path / "typo.sqlite"
    _refused(_cli("access", "facilities", "history", "--db", str(typo)), "不存在", "demo")
    assert not typo.exists()
    _refused(_cli("regions", "load", str(tmp_path), "--db", str(db)), "文件夹", "folder")
    assert not db.exists()
    # Unwritable outputs are refused before any work.
    nowhere = tmp_path / "no" / "such" / "dir" / "x.geojson"
    _refused(_cli("access", "coverage", "--geojson", str(nowhere)), "无法写入", "--geojson")
    _refused(_cli("access", "map", str(tmp_path)), "无法写入", "folder")


def test_revert_twice_is_a_clear_error(tmp_path: Path) -> None:
    fac = tmp_path / "f.csv"
    fac.write_text(
        "id,name,kind,adcode,lon,lat,beds\nH1,铁东医院,hospital,210302,122.99,41.11,800\n",
        encoding="utf-8",
    )
    db = str(tmp_path / "hw.sqlite")
    assert _cli("access", "facilities", "import", str(fac), "--db", db).exit_code == 0
    fac.write_text(fac.read_text(encoding="utf-8").replace("800", "900"), encoding="utf-8")
    assert _cli("access", "facilities", "import", str(fac), "--db", db).exit_code == 0
    history = strict_json_loads(
        _cli("access", "facilities", "history", "--db", db, "--json").stdout
    )
    update = next(h for h in history if h["action"] == "update")
    first = _cli("access", "facilities", "revert", str(update["id"]), "--db", db, "--json")
    assert first.exit_code == 0 and strict_json_loads(first.stdout)["action"] == "update"
    _refused(
        _cli("access", "facilities", "revert", str(update["id"]), "--db", db),
        "无法撤销",
        "already undone",
    )


def test_access_help_is_chinese_first() -> None:
    for args in (
        ("access", "--help"),
        ("access", "facilities", "--help"),
        ("access", "ratios", "--help"),
    ):
        out = _cli(*args).stdout
        description = next(
            line.strip() for line in out.splitlines()[2:] if line.strip() and "Usage" not in line
        )
        assert "\u4e00" <= description[0] <= "\u9fff", (args, description)
