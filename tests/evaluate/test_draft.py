"""`plans draft`: next-plan targets at a chosen probability, checked, loadable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import strict_json_loads

from healthwatch.evaluate.draft import draft_plan
from healthwatch.evaluate.plan import evaluate_values
from healthwatch.plans import builtin_plans
from healthwatch.plans.loader import parse_plan


@pytest.fixture(scope="module")
def liaoning():
    return builtin_plans()[0]


def _values(plan) -> pd.DataFrame:
    """Seven years: physicians per 1,000 rising 4.5 %/year, infant mortality falling."""
    rng = np.random.default_rng(1)
    years = np.arange(2019, 2026)
    rows = []
    for code, start, growth in (
        ("physicians_per_1000", 2.8, 0.045),
        ("infant_mortality", 3.6, -0.04),
    ):
        for y in years:
            v = start * np.exp(growth * (y - 2019) + rng.normal(0, 0.01))
            rows.append({"indicator": code, "region": plan.region, "year": int(y), "value": v})
    return pd.DataFrame(rows)


def _draft(plan, probability):
    ev = evaluate_values(plan, _values(plan), 2025)
    return draft_plan(plan, ev.results, ev.series, 2030, probability, "sha256:test")


def test_probability_orders_the_targets(liaoning) -> None:
    safe, why_safe = _draft(liaoning, 0.8)
    bold, _ = _draft(liaoning, 0.3)
    t = {i["code"]: i["target"] for i in safe["indicators"]}
    b = {i["code"]: i["target"] for i in bold["indicators"]}
    # higher is better: the ambitious target is higher; lower is better: lower
    assert b["physicians_per_1000"]["value"] > t["physicians_per_1000"]["value"] >= 4
    assert b["infant_mortality"]["value"] < t["infant_mortality"]["value"] <= 4.5
    assert t["physicians_per_1000"]["kind"] == "at_least"
    reason = next(r for r in why_safe if r["indicator"] == "physicians_per_1000")
    assert "80%" in reason["reason_zh"] and "2030" in reason["reason_en"]
    # the latest value is the new baseline, the old target kept as previous
    phys = next(i for i in safe["indicators"] if i["code"] == "physicians_per_1000")
    assert phys["baselines"][0]["year"] == 2025
    assert phys["previous_targets"][0]["text_zh"] == "≥4名"


def test_draft_is_a_valid_plan(liaoning) -> None:
    import yaml

    doc, _ = _draft(liaoning, 0.8)
    plan = parse_plan(yaml.safe_dump(doc, allow_unicode=True), "draft.yaml")
    assert plan.id == "liaoning-2026-2030" and plan.base_year == 2025 and plan.end_year == 2030
    myopia = plan.indicator("child_myopia")
    assert myopia is not None and myopia.target.base_year == 2025


def test_cli_draft_writes_a_file_plans_load_accepts(run_cli, seeded_sqlite, tmp_path) -> None:
    db = seeded_sqlite
    out = tmp_path / "anshan-2026-2030.yaml"
    r = run_cli(
        "plans",
        "draft",
        "--from",
        "anshan-2021-2025",
        "--to-year",
        "2030",
        "--probability",
        "0.3",
        "--out",
        str(out),
        "--json",
        "--db",
        db,
    )
    assert r.returncode == 0, r.stderr
    info = strict_json_loads(r.stdout)
    assert info["plan"] == "anshan-2026-2030"
    assert {t["indicator"] for t in info["targets"]} >= {"infant_mortality", "life_expectancy"}
    assert all(f["plan"] == "anshan-2026-2030" for f in info["findings"])
    text = out.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["parent"] is None and "liaoning-2026-2030" in text  # noted
    loaded = run_cli("plans", "load", str(out), "--db", db)
    assert loaded.returncode == 0, loaded.stderr
    # once the province's next plan is stored, the city's draft names it as its parent
    province = tmp_path / "liaoning-2026-2030.yaml"
    args = ("plans", "draft", "--to-year", "2030", "--json", "--db", db)
    assert run_cli(*args, "--from", "liaoning-2021-2025", "--out", str(province)).returncode == 0
    assert run_cli("plans", "load", str(province), "--db", db).returncode == 0
    again = run_cli(*args, "--from", "anshan-2021-2025", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["parent"] == "liaoning-2026-2030"
    bad = run_cli(
        "plans",
        "draft",
        "--from",
        "anshan-2021-2025",
        "--to-year",
        "2024",
        "--probability",
        "1.5",
        "--db",
        db,
    )
    assert bad.returncode == 2 and "--probability" in bad.stderr and "--to-year" in bad.stderr
