"""`warning simulate` and `warning assess` (the pure simulator and assessment) from the CLI."""

from __future__ import annotations

import pytest
from conftest import strict_json_loads

pytest.importorskip("healthwatch.warning.multisource")
pytest.importorskip("healthwatch.warning.assess")


def test_simulated_feed_is_ingestable_and_assess_prints_both_kinds(run_cli, tmp_path):
    out = tmp_path / "sim.csv"
    r = run_cli(
        "warning",
        "simulate",
        "--out",
        str(out),
        "--regions",
        "6",
        "--days",
        "90",
        "--outbreaks",
        "2",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    summary = strict_json_loads(r.stdout)
    assert summary["rows"] == 90 * 6 * 5 and len(summary["outbreaks"]) == 2
    db = str(tmp_path / "hw.sqlite")
    r = run_cli("warning", "ingest", str(out), "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    assert strict_json_loads(r.stdout)["values_new"] == 90 * 6 * 5
    r = run_cli(
        "warning",
        "assess",
        "--regions",
        "10",
        "--days",
        "400",
        "--outbreaks",
        "10",
        "--targets",
        "4",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    rows = strict_json_loads(r.stdout)
    detectors = {row["detector"] for row in rows}
    assert any(d.startswith("fused") for d in detectors) and "fever_clinic" in detectors
    assert all(0 <= row["pod"] <= 1 for row in rows)
