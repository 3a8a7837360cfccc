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


def ears_available() -> bool:
    try:
        from healthwatch.surveillance import ears  # noqa: F401
    except ImportError:
        return False
    return True


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


@pytest.mark.skipif(not ears_available(), reason="EARS not written yet")
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
    table = runner.invoke(app, ["surveil", "detect", str(counts_file), "-m", "c1"])
    assert table.exit_code == 0 and "ALARM" in table.stdout


def test_detect_unknown_method_and_param(counts_file: Path) -> None:
    out = runner.invoke(app, ["surveil", "detect", str(counts_file), "-m", "nosuch"])
    assert out.exit_code == 2 and "nosuch" in out.output
    if ears_available():
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
    if not ears_available():
        return
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


@pytest.mark.skipif(not ears_available(), reason="EARS not written yet")
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
