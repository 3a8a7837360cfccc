"""`healthwatch surveil`: detect, simulate, assess, methods; bad input gets a located error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from healthwatch.cli import app
from healthwatch.cli.surveil import parse_params
from healthwatch.errors import InputError
from healthwatch.surveillance import Counts, DetectionResult, detect

runner = CliRunner()


def write_long(path: Path, y: np.ndarray, names: list[str] | None = None) -> Path:
    counts = Counts.from_array(y, names=names)
    frame = counts.to_long()
    frame["count"] = frame["count"].map(lambda v: "" if np.isnan(v) else str(int(v)))
    frame.to_csv(path, index=False)
    return path


@pytest.fixture()
def counts_file(tmp_path: Path) -> Path:
    gen = np.random.default_rng(3)
    y = gen.poisson(5, size=(40, 3)).astype(float)
    y[35, 1] = 30
    return write_long(tmp_path / "counts.csv", y, ["a", "b", "c"])


def test_parse_params_types() -> None:
    got = parse_params(["b=4", "alpha=0.01", "reweight=FALSE", "trend=true", "limit54=5,4", "x=ab"])
    assert got == {
        "b": 4,
        "alpha": 0.01,
        "reweight": False,
        "trend": True,
        "limit54": (5, 4),
        "x": "ab",
    }
    assert isinstance(got["b"], int) and isinstance(got["alpha"], float)
    with pytest.raises(InputError, match="name=value"):
        parse_params(["b4"])


def test_detect_json_equals_library(counts_file: Path) -> None:
    out = runner.invoke(
        app,
        [
            "surveil",
            "detect",
            str(counts_file),
            "--method",
            "ears_c1",
            "--range",
            "30:40",
            "--param",
            "alpha=0.01",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    frame = pd.read_csv(counts_file, dtype={"series": str})
    ref = detect(Counts.from_long(frame), "ears_c1", range="30:40", alpha=0.01)
    assert data["t"] == list(range(30, 41))
    assert [s["name"] for s in data["series"]] == ["a", "b", "c"]
    for j, s in enumerate(data["series"]):
        np.testing.assert_allclose(s["upperbound"], ref.upperbound[:, j], rtol=1e-12)
        np.testing.assert_allclose(s["expected"], ref.expected[:, j], rtol=1e-12)
        assert s["alarm"] == ref.alarm[:, j].tolist()
    assert data["series"][1]["alarm"][36 - 30] is True  # the spike planted at t=36
    table = runner.invoke(app, ["surveil", "detect", str(counts_file), "-m", "c1", "--rows", "500"])
    assert table.exit_code == 0 and "ALARM" in table.stdout


def test_detect_unknown_method_and_param(counts_file: Path) -> None:
    out = runner.invoke(app, ["surveil", "detect", str(counts_file), "-m", "nosuch"])
    assert out.exit_code == 2 and "nosuch" in out.output
    out = runner.invoke(
        app, ["surveil", "detect", str(counts_file), "-m", "ears_c1", "-p", "bogus=1"]
    )
    assert out.exit_code == 2 and "bogus" in out.output
    out = runner.invoke(
        app, ["surveil", "detect", str(counts_file), "-m", "ears_c1", "--range", "x:y"]
    )
    assert out.exit_code == 2 and "--range" in out.output


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("series,t,count\na,1,3\na,2,-1\na,3,2\n", ":3 [count]"),  # negative
        ("series,t,count\na,1,3\na,2,2.5\na,3,2\n", ":3 [count]"),  # non-integer
        ("series,t,count\na,1,3\na,2,x\na,3,2\n", ":3 [count]"),  # not a number
        ("series,t,count\na,1,3\na,3,2\nb,1,1\nb,2,1\nb,3,1\n", "[t]"),  # gap in series a
        ("series,t,count\na,1,3\na,1,2\na,2,2\n", ":3 [t]"),  # repeated t
        ("series,t,count\na,0,3\na,1,2\n", ":2 [t]"),  # t not 1-based
        ("series,time,count\na,1,3\n", ":1"),  # wrong header
    ],
)
def test_bad_csv_names_line_and_field(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    out = runner.invoke(app, ["surveil", "detect", str(path), "-m", "ears_c1"])
    assert out.exit_code == 2, out.output
    flat = "".join(out.output.split())  # Rich wraps long lines
    assert "".join(f"{path}{needle}".split()) in flat
    assert "Traceback" not in out.output


def test_unsorted_rows_are_accepted_in_time_order(tmp_path: Path) -> None:
    """Rows may come in any order; t (not the row order) places each count."""
    path = tmp_path / "unsorted.csv"
    path.write_text("series,t,count\na,3,9\na,1,3\na,2,2\n")
    frame = pd.read_csv(path, dtype={"series": str})
    c = Counts.from_long(frame, file=str(path))
    assert c.observed[:, 0].tolist() == [3, 2, 9]


def test_missing_file(tmp_path: Path) -> None:
    out = runner.invoke(app, ["surveil", "detect", str(tmp_path / "nope.csv"), "-m", "c1"])
    assert out.exit_code == 2 and "nope.csv" in out.output


def test_simulate_writes_state_and_assess_reads_it(tmp_path: Path) -> None:
    out_file = tmp_path / "sim.csv"
    out = runner.invoke(
        app,
        [
            "surveil",
            "simulate",
            "--scenario",
            "37",
            "-n",
            "5",
            "--seed",
            "2",
            "--out",
            str(out_file),
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["series"] == 5 and summary["time_points"] == 624
    frame = pd.read_csv(out_file)
    assert list(frame.columns) == ["series", "t", "count", "state"]
    assert len(frame) == 5 * 624 and frame.state.sum() == summary["outbreak_cells"] > 0
    from healthwatch.surveillance.simulate import simulate_noufaily

    sim = simulate_noufaily(37, 5, seed=2 + 37)
    np.testing.assert_array_equal(
        frame.pivot(index="t", columns="series", values="count")[sim.counts.names].to_numpy(),
        sim.counts.observed,
    )
    both = runner.invoke(app, ["surveil", "simulate", "--scenario", "3", "--all"])
    assert both.exit_code == 2
    res = runner.invoke(
        app, ["surveil", "assess", str(out_file), "-m", "ears_c1", "--range", "576:624", "--json"]
    )
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)[0]
    assert row["TP"] + row["FP"] + row["TN"] + row["FN"] == 5 * 49
    assert 0 <= row["pod"] <= 1


def test_assess_needs_state(counts_file: Path) -> None:
    out = runner.invoke(app, ["surveil", "assess", str(counts_file), "-m", "c1"])
    assert out.exit_code == 2 and "state" in out.output


def test_assess_on_simulated_scenario() -> None:
    out = runner.invoke(
        app, ["surveil", "assess", "-m", "ears_c1", "--scenario", "37", "-n", "20", "--json"]
    )
    assert out.exit_code == 0, out.output
    row = json.loads(out.stdout)[0]
    assert row["scenario"] == 37 and 0 <= row["fpr"] < 0.2 and row["pod"] > 0.3


def test_methods_lists_defaults() -> None:
    out = runner.invoke(app, ["surveil", "methods", "--json"])
    assert out.exit_code == 0
    listing = {m["method"]: m for m in json.loads(out.stdout)}
    assert set(listing) >= {"ears_c1", "farrington_flexible", "cusum"}
    if listing["ears_c1"]["available"]:
        assert listing["ears_c1"]["parameters"]["alpha"] == 0.001
    _ = DetectionResult  # the CLI prints this structure


@pytest.mark.slow
def test_detect_on_a_dask_scheduler_equals_local(counts_file: Path) -> None:
    """`--scheduler ADDRESS` spreads the series over a cluster's workers; the answer is the same."""
    distributed = pytest.importorskip("distributed")
    args = ["surveil", "detect", str(counts_file), "-m", "ears_c2", "--range", "20:40", "--json"]
    local = runner.invoke(app, args)
    assert local.exit_code == 0, local.output
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = runner.invoke(app, [*args, "--scheduler", cluster.scheduler_address])
        with distributed.Client(cluster.scheduler_address) as client:
            prefixes = client.run_on_scheduler(
                lambda dask_scheduler: set(dask_scheduler.task_prefixes)
            )
    assert remote.exit_code == 0, remote.output
    assert prefixes, "the scheduler ran no task: --scheduler was ignored"
    assert json.loads(remote.stdout) == json.loads(local.stdout)


# -- real processes: what a user sees on stdout and stderr ------------------------------------


def _dated_file(tmp_path: Path, n_series: int = 3, n_weeks: int = 320) -> Path:
    """Weekly counts labelled by ISO week from 2015-W01 (2015 and 2020 have 53 weeks)."""
    from healthwatch.surveillance.calendar import period_labels

    gen = np.random.default_rng(5)
    y = gen.poisson(6, size=(n_weeks, n_series))
    y[-2, 0] = 40
    labels = period_labels(np.datetime64("2014-12-29") + 7 * np.arange(n_weeks), 52)
    rows = [f"s{j},{labels[i]},{y[i, j]}" for i in range(n_weeks) for j in range(n_series)]
    path = tmp_path / "dated.csv"
    path.write_text("series,date,count\n" + "\n".join(rows) + "\n")
    return path


def test_detect_dated_json_carries_dates_and_equals_library(tmp_path: Path, run_cli) -> None:
    from conftest import strict_json_loads

    from healthwatch.data.counts import read_counts

    path = _dated_file(tmp_path)
    proc = run_cli(
        "surveil",
        "detect",
        str(path),
        "-m",
        "farrington_flexible",
        "-p",
        "b=4",
        "--range",
        "300:320",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = strict_json_loads(proc.stdout)
    assert data["dates"][0] == "2020-09-21" and len(data["dates"]) == 21
    ref = detect(read_counts(path), "farrington_flexible", b=4, range="300:320")
    assert ref.dates is not None
    for j, s in enumerate(data["series"]):
        np.testing.assert_allclose(
            np.array(s["upperbound"], dtype=float), ref.upperbound[:, j], rtol=1e-12
        )
        assert s["alarm"] == ref.alarm[:, j].tolist()
    assert "Traceback" not in proc.stderr


def test_detect_wrong_freq_beside_dates_is_refused(tmp_path: Path, run_cli) -> None:
    proc = run_cli("surveil", "detect", str(_dated_file(tmp_path)), "-m", "c1", "--freq", "365")
    assert proc.returncode == 2 and "dates are weekly" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    bad = run_cli("surveil", "detect", str(_dated_file(tmp_path)), "-m", "c1", "--freq", "7")
    assert bad.returncode == 2 and "--freq" in bad.stderr


def test_large_result_prints_a_limited_summary(tmp_path: Path) -> None:
    gen = np.random.default_rng(2)
    path = write_long(tmp_path / "many.csv", gen.poisson(4, size=(60, 500)).astype(float))
    out = runner.invoke(app, ["surveil", "detect", str(path), "-m", "c1", "--rows", "15"])
    assert out.exit_code == 0, out.output
    assert "summary per series (15 of 500" in out.stdout
    assert "485 more series not listed" in out.stdout
    # one row per listed series, not one per cell
    assert out.stdout.count("\n") < 60


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-n", "-5", "--scenario", "1"], "--n-series"),
        (["-n", "0", "--daily"], "--n-series"),
        (["--scenario", "43"], "--scenario"),
        (["--scenario", "1", "--seed", "-1"], "--seed"),
    ],
)
def test_simulate_refuses_bad_numbers(run_cli, args: list[str], needle: str) -> None:
    proc = run_cli("surveil", "simulate", *args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "必须" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_simulate_json_without_out_prints_json(run_cli) -> None:
    from conftest import strict_json_loads

    proc = run_cli("surveil", "simulate", "--scenario", "2", "-n", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    data = strict_json_loads(proc.stdout)
    assert data["series"] == 2 and data["columns"][:2] == ["series", "t"]
    assert len(data["rows"]) == 2 * data["time_points"]


def test_help_is_chinese_first_with_short_option(run_cli) -> None:
    for command in ([], ["detect"], ["simulate"], ["assess"], ["methods"]):
        proc = run_cli("surveil", *command, "-h")
        assert proc.returncode == 0, proc.stderr
        text = proc.stdout
        assert "Usage" in text
    detect_help = run_cli("surveil", "detect", "--help").stdout
    assert "对文件中每条序列运行探测方法 / run a detection method" in detect_help
    assert all(x in detect_help for x in ("52", "12", "365"))  # --freq as it behaves


def test_first_run_says_it_compiles(monkeypatch, capsys) -> None:
    from healthwatch.cli import surveil
    from healthwatch.surveillance import warm as warm_module

    calls: list[list[str]] = []
    monkeypatch.setattr(warm_module, "cold_methods", lambda methods: ["ears_c1"])
    monkeypatch.setattr(
        warm_module, "warm", lambda methods, progress=None: calls.append(list(methods))
    )
    surveil._warm_first("ears_c1")
    captured = capsys.readouterr()
    assert calls == [["ears_c1"]]
    assert captured.out == ""  # never on stdout
    monkeypatch.setattr(warm_module, "cold_methods", lambda methods: [])
    surveil._warm_first("ears_c1")
    assert calls == [["ears_c1"]]  # nothing to compile: no notice, no warm-up


def test_warm_compiles_every_method() -> None:
    from healthwatch.surveillance import METHODS
    from healthwatch.surveillance.warm import cold_methods, warm

    took = warm(["ears_c1", "farrington_flexible"])
    assert set(took) == {"ears_c1", "farrington_flexible"}
    assert cold_methods(["ears_c1", "farrington_flexible"]) == []
    assert set(METHODS) >= set(took)


def test_detect_ends_quickly_with_its_whole_output(tmp_path: Path, run_cli) -> None:
    """The real process skips Python's tear-down after detect (cli.ProcessEnd): what it wrote
    must still arrive whole, JSON of several megabytes through a pipe and the text table."""
    from conftest import strict_json_loads

    y = np.random.default_rng(5).poisson(4, size=(300, 400)).astype(float)
    path = write_long(tmp_path / "many.csv", y, [f"county {i}" for i in range(400)])
    proc = run_cli("surveil", "detect", str(path), "-m", "ears_c1", "--json")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) > 1_000_000 and proc.stdout.endswith("}\n")
    data = strict_json_loads(proc.stdout)
    assert [s["name"] for s in data["series"]] == [f"county {i}" for i in range(400)]
    proc = run_cli("surveil", "detect", str(path), "-m", "ears_c1", "--rows", "5")
    assert proc.returncode == 0, proc.stderr
    assert "395 more series not listed" in proc.stdout.splitlines()[-1]
