"""Consistency checks: on the two seed plans every expected finding is present and true, and
nothing else is reported; each check also on small hand-made plans, both ways."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from healthwatch.errors import NotFoundError
from healthwatch.plans import Finding, Plan, builtin_plans, check_plans
from healthwatch.plans.checks import check_builtin, check_selected

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
POPULATION_CSV = REFERENCE / "liaoning_city_population_2021.csv"


def reference_populations() -> dict[str, float]:
    """Year-end 2021 resident population, persons (published in units of 10,000)."""
    if not POPULATION_CSV.exists():
        # The two figures the checks need, from the same table.
        return {"210000": 42_294_000.0, "210300": 3_282_000.0}
    with POPULATION_CSV.open(encoding="utf-8") as f:
        return {
            r["adcode"]: float(r["resident_population_10k_2021"]) * 1e4 for r in csv.DictReader(f)
        }


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    return check_plans(builtin_plans(), reference_populations())


L, A = "liaoning-2021-2025", "anshan-2021-2025"

# (kind, plan, indicator, related indicator, severity) - justified one by one in docs/plans.md.
EXPECTED = [
    # Anshan asks for less than Liaoning on the same indicator.
    ("looser-than-parent", A, "infant_mortality", "infant_mortality", "warning"),  # 5.0 > 4.5‰
    ("looser-than-parent", A, "under5_mortality", "under5_mortality", "warning"),  # 6.0 > 5.5‰
    ("looser-than-parent", A, "health_literacy", "health_literacy", "warning"),  # 27 < 30%
    (
        "looser-than-parent",
        A,
        "maternal_system_management",
        "maternal_system_management",
        "warning",
    ),
    # 79.39 (2019) + 0.5 = 79.89 < 80: approximate, since 2019 stands in for 2020.
    ("looser-than-parent", A, "life_expectancy", "life_expectancy", "info"),
    # 系统管理率 vs 健康管理率: related, differently defined.
    ("looser-than-parent", A, "child_u3_system_management", "child_u3_health_management", "info"),
    # Weaker than Anshan's own 2020 column.
    ("target-regresses", A, "maternal_system_management", None, "warning"),  # 90 -> 87.5
    ("target-regresses", A, "child_u3_system_management", None, "warning"),  # 90 -> 87.5
    ("target-regresses", A, "life_expectancy", None, "warning"),  # +1 in 5y -> +0.5 in 5y
    ("target-regresses", A, "sex_ratio_at_birth", None, "info"),  # ≤106 -> 103-107
    # Baselines the texts state already meet the 2025 targets.
    ("already-met", L, "infant_mortality", None, "info"),  # 3.4 ≤ 4.5‰
    ("already-met", L, "maternal_system_management", None, "info"),  # 92.3 ≥ 90%
    ("already-met", L, "child_0_6_health_management", None, "info"),  # 94.3 ≥ 90%
    ("already-met", A, "infant_mortality", None, "info"),  # 3.53 ≤ 5.0‰ (printed %)
    ("already-met", A, "under5_mortality", None, "info"),  # 4.40 ≤ 6.0‰ (printed %)
    ("already-met", A, "maternal_mortality", None, "info"),  # 10.23 ≤ 10.5/10万
    # Not Anshan's maternal / under-3 systematic management: "均达 90% 以上" only says the
    # 2020 target ≥90% was reached; target-regresses reports 90 -> 87.5 and cites it.
    # Units: % printed where ‰ is meant; DDDs as a percentage.
    ("unit", L, "antimicrobial_use_intensity", None, "error"),
    ("unit", A, "infant_mortality", None, "error"),  # 2019 value 3.53%
    ("unit", A, "infant_mortality", None, "error"),  # 2020 target 8%
    ("unit", A, "under5_mortality", None, "error"),  # 2019 value 4.40%
    ("unit", A, "under5_mortality", None, "error"),  # 2020 target 9%
    # 40,000 people living with HIV in a city of 3.28 million is 1.22%, the province caps 0.17%.
    ("implied-rate", A, "hiv_living_cases", "hiv_prevalence", "error"),
]

# Liaoning indicators for which the text states no baseline.
LIAONING_NO_BASELINE = {
    "healthy_life_expectancy",
    "under5_mortality",
    "oop_share",
    "immunization_coverage_township",
    "hiv_prevalence",
    "smi_management",
    "premature_ncd_mortality",
    "elderly_health_management",
    "workplace_hazard_monitoring_pass",
    "child_u3_health_management",
    "prenatal_screening",
    "child_myopia",
    "childcare_places_per_1000",
    "tertiary_alos",
    "nosocomial_infection_rate",
    "pharmacists_per_1000",
    "national_hygienic_city_share",
    "smoking_rate_15plus",
}
ANSHAN_WITH_BASELINE = {
    "life_expectancy",
    "infant_mortality",
    "maternal_mortality",
    "under5_mortality",
}
# Their only figure is "均达 90% 以上", the 2020 target ≥90% reported as reached: no level.
ANSHAN_ONLY_TARGET_REACHED = {"maternal_system_management", "child_u3_system_management"}


def key(f: Finding) -> tuple[Any, ...]:
    return (f.kind, f.plan, f.indicator, f.related_indicator, f.severity)


def test_seed_findings_are_exactly_the_expected_ones(findings: list[Finding]) -> None:
    found = sorted((key(f) for f in findings if f.kind != "missing"), key=str)
    # Compared as lists: two Anshan indicators each have two unit findings.
    assert found == sorted(EXPECTED, key=str), set(found) ^ set(EXPECTED)


def test_missing_findings(findings: list[Finding]) -> None:
    missing = {(f.plan, f.indicator): f for f in findings if f.kind == "missing"}
    liaoning_missing = {i for p, i in missing if p == L}
    assert liaoning_missing == LIAONING_NO_BASELINE
    anshan = builtin_plans()[1]
    # Anshan's table has no nature column: every indicator is flagged, as a warning.
    assert {i for p, i in missing if p == A} == {i.code for i in anshan.indicators}
    for (plan, code), f in missing.items():
        if plan == A:
            assert f.severity == "warning" and "nature" in f.message_en
            assert ("baseline" in f.message_en) == (code not in ANSHAN_WITH_BASELINE)
            assert ("earlier target was reached" in f.message_en) == (
                code in ANSHAN_ONLY_TARGET_REACHED
            )
        else:
            assert f.severity == "info" and "nature" not in f.message_en


def test_implied_rate_figures_are_right(findings: list[Finding]) -> None:
    (f,) = [f for f in findings if f.kind == "implied-rate"]
    # 40,000 / 3,282,000 = 1.2188% = 7.17 x 0.17%; 0.17% of 3,282,000 = 5,579.4 persons.
    assert "1.22%" in f.message_en and "7.2 times" in f.message_en and "5,579" in f.message_en
    assert f.related_plan == L
    assert "存活的艾滋病感染者和病人数 ≤4万 ≤4万" in f.sources
    assert "艾滋病全人群感染率 ＜0.17% 预期性" in f.sources


def test_unit_findings_explain_the_scale(findings: list[Finding]) -> None:
    units = [f for f in findings if f.kind == "unit"]
    messages = " ".join(f.message_en for f in units)
    for literal in ("3.53% = 35.3‰", "4.4% = 44‰", "8% = 80‰", "9% = 90‰"):
        assert literal in messages
    ddd = next(f for f in units if f.indicator == "antimicrobial_use_intensity")
    assert "DDDs per 100 patient-days" in ddd.message_en
    assert any("降低到40%以下" in s for s in ddd.sources)


def test_every_finding_carries_messages_and_sources(findings: list[Finding]) -> None:
    for f in findings:
        assert f.message_zh and f.message_en and f.sources
        assert f.severity in ("error", "warning", "info")
        assert set(f.to_json()) == {
            "kind",
            "severity",
            "plan",
            "indicator",
            "related_plan",
            "related_indicator",
            "message_zh",
            "message_en",
            "sources",
        }
        if f.kind in ("looser-than-parent", "implied-rate"):
            assert f.related_plan == L and f.related_indicator


def test_without_populations_no_implied_rate() -> None:
    assert not [f for f in check_plans(builtin_plans()) if f.kind == "implied-rate"]


def test_without_the_parent_an_error_says_the_comparisons_were_not_made() -> None:
    anshan = builtin_plans()[1]
    found = check_plans([anshan], reference_populations())
    kinds = {f.kind for f in found}
    assert "looser-than-parent" not in kinds and "implied-rate" not in kinds
    (f,) = [f for f in found if f.kind == "parent-missing"]
    assert f.severity == "error" and f.plan == anshan.id
    assert "liaoning-2021-2025" in f.message_en and "上级规划" in f.message_zh
    assert "parent-missing" not in {f.kind for f in check_plans(builtin_plans())}


def test_anshan_2020_column_is_never_an_achieved_value(findings: list[Finding]) -> None:
    """The 十三五 targets (2020 column, and "均达 90% 以上" which restates them) are not values."""
    anshan = builtin_plans()[1]
    for code in ANSHAN_ONLY_TARGET_REACHED:
        assert ("already-met", A, code) not in {(f.kind, f.plan, f.indicator) for f in findings}
        (reg,) = [
            f for f in findings if (f.kind, f.plan, f.indicator) == ("target-regresses", A, code)
        ]
        assert "reports that 2020 target as reached (≥90%)" in reg.message_en
        assert "2020年目标已经达到（≥90%）" in reg.message_zh
        ind = anshan.indicator(code)
        assert ind is not None and ind.baselines[0].source in reg.sources
    # Every already-met finding rests on a figure the text reports as measured, not a target.
    for f in findings:
        if f.kind == "already-met":
            plan_ = {p.id: p for p in builtin_plans()}[f.plan]
            ind = plan_.indicator(f.indicator or "")
            assert ind is not None
            targets = {(t.year, t.value) for t in ind.previous_targets}
            assert all(
                (b.year, b.value) not in targets or b.qualifier == "exact" for b in ind.baselines
            )


def test_check_selected_survives_a_cycle_of_parents() -> None:
    a = plan("a", [indicator("x", {"kind": "at_least", "value": 60})], parent="b")
    b = plan("b", [indicator("x", {"kind": "at_least", "value": 60})], parent="a")
    found = check_selected({"a": a, "b": b}, ["a"])
    assert all(f.plan == "a" for f in found)


def test_check_selected_brings_the_parent_but_reports_only_the_wanted_plan() -> None:
    liaoning, anshan = builtin_plans()
    pops = reference_populations()
    known = {liaoning.id: liaoning, anshan.id: anshan}
    both = check_plans([liaoning, anshan], pops)
    only_anshan = check_selected(known, [anshan.id], pops)
    assert only_anshan == [f for f in both if f.plan == anshan.id]
    assert any(f.kind == "looser-than-parent" for f in only_anshan)
    assert check_selected(known, None, pops) == both


def test_check_builtin_names_an_unknown_plan() -> None:
    assert check_builtin() == check_plans(builtin_plans())
    with pytest.raises(NotFoundError) as err:
        check_builtin(["nowhere-2021-2025"])
    text = err.value.render()
    assert "nowhere-2021-2025" in text and "没有内置规划" in text and "anshan-2021-2025" in text


# ------------------------------------------------------------------------------------------
# Each check on hand-made plans
# ------------------------------------------------------------------------------------------


def indicator(code: str, target: dict[str, Any], **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": code,
        "name_zh": code,
        "name_en": code,
        "category_zh": "c",
        "category_en": "c",
        "unit": "percent",
        "direction": "higher",
        "nature": "expected",
        "baselines": [{"year": 2020, "value": 50, "source": "s"}],
        "target": {"text_zh": "t", "year": 2025, "source": "row", **target},
    }
    base.update(kw)
    return base


def plan(pid: str, indicators: list[dict[str, Any]], **kw: Any) -> Plan:
    doc = {
        "id": pid,
        "name_zh": pid,
        "name_en": pid,
        "region": "210000" if kw.get("level", "province") == "province" else "210300",
        "level": "province",
        "start_year": 2021,
        "end_year": 2025,
        "base_year": 2020,
        "source_document": "x",
        "indicators": indicators,
    }
    doc.update(kw)
    return Plan.model_validate(doc)


def run(*plans: Plan, populations: dict[str, float] | None = None) -> set[tuple[str, str | None]]:
    return {(f.kind, f.indicator) for f in check_plans(list(plans), populations)}


def test_looser_than_parent_both_ways() -> None:
    prov = plan("p", [indicator("x", {"kind": "at_least", "value": 90}, nature="binding")])
    city_loose = plan(
        "c", [indicator("x", {"kind": "at_least", "value": 85})], level="city", parent="p"
    )
    city_same = plan(
        "c", [indicator("x", {"kind": "at_least", "value": 90})], level="city", parent="p"
    )
    out = check_plans([prov, city_loose])
    (f,) = [f for f in out if f.kind == "looser-than-parent"]
    assert f.severity == "error"  # the parent's indicator is binding
    assert ("looser-than-parent", "x") not in run(prov, city_same)


def test_target_regresses_both_ways() -> None:
    weaker = indicator(
        "x",
        {"kind": "at_most", "value": 6},
        direction="lower",
        previous_targets=[{"kind": "at_most", "value": 5, "year": 2020, "text_zh": "≤5"}],
    )
    stronger = indicator(
        "x",
        {"kind": "at_most", "value": 4},
        direction="lower",
        previous_targets=[{"kind": "at_most", "value": 5, "year": 2020, "text_zh": "≤5"}],
    )
    assert ("target-regresses", "x") in run(plan("p", [weaker]))
    assert ("target-regresses", "x") not in run(plan("p", [stronger]))


def test_already_met_both_ways() -> None:
    met = indicator("x", {"kind": "at_least", "value": 50})  # baseline 50
    not_met = indicator("x", {"kind": "at_least", "value": 50.1})
    bound_only = indicator(
        "x",
        {"kind": "at_least", "value": 60},
        baselines=[{"year": 2020, "value": 50, "qualifier": "at_least", "source": "s"}],
    )
    assert ("already-met", "x") in run(plan("p", [met]))
    assert ("already-met", "x") not in run(plan("p", [not_met]))
    assert ("already-met", "x") not in run(plan("p", [bound_only]))  # ≥50 may or may not be ≥60


def test_a_restated_earlier_target_is_not_an_achieved_value() -> None:
    """≥90 reported for 2020 where the 2020 target was ≥90: the target was met, nothing more."""
    earlier = [{"kind": "at_least", "value": 90, "year": 2020, "text_zh": "≥90%", "source": "t"}]

    def ind(reported: float) -> dict[str, Any]:
        return indicator(
            "x",
            {"kind": "at_least", "value": 87.5},
            baselines=[
                {"year": 2020, "value": reported, "qualifier": "at_least", "source": "达到"}
            ],
            previous_targets=earlier,
        )

    restated = run(plan("p", [ind(90)]))
    assert ("already-met", "x") not in restated
    assert ("target-regresses", "x") in restated
    assert ("missing", "x") in restated  # no achieved value at all
    beyond = run(plan("p", [ind(92)]))  # "92% 以上" says more than the old target
    assert ("already-met", "x") in beyond
    assert ("missing", "x") not in beyond


def test_unit_check_both_ways() -> None:
    misprinted = indicator(
        "x",
        {"kind": "at_most", "value": 5},
        unit="permille",
        direction="lower",
        baselines=[{"year": 2020, "value": 3, "unit_printed": "percent", "source": "3%"}],
    )
    fine = indicator("x", {"kind": "at_most", "value": 5}, unit="permille", direction="lower")
    impossible = indicator("x", {"kind": "at_least", "value": 120})  # 120% of a share
    assert ("unit", "x") in run(plan("p", [misprinted]))
    assert ("unit", "x") not in run(plan("p", [fine]))
    assert ("unit", "x") in run(plan("p", [impossible]))


def test_implied_rate_both_ways() -> None:
    prov = plan(
        "p", [indicator("rate", {"kind": "below", "value": 0.17}, direction="lower", baselines=[])]
    )

    def city(cap: float) -> Plan:
        ind = indicator(
            "count",
            {"kind": "count_cap", "value": cap},
            unit="persons",
            direction="lower",
            parent_link={"code": "rate", "relation": "count_of_rate"},
        )
        return plan("c", [ind], level="city", parent="p")

    pops = {"210300": 1_000_000.0}
    assert ("implied-rate", "count") in run(prov, city(2000), populations=pops)  # 0.2%
    assert ("implied-rate", "count") not in run(prov, city(1600), populations=pops)  # 0.16%


def test_missing_both_ways() -> None:
    no_nature = indicator("x", {"kind": "at_least", "value": 60}, nature="not_stated")
    no_baseline = indicator("y", {"kind": "at_least", "value": 60}, baselines=[])
    complete = indicator("z", {"kind": "at_least", "value": 60})
    out = run(plan("p", [no_nature, no_baseline, complete]))
    assert ("missing", "x") in out and ("missing", "y") in out
    assert ("missing", "z") not in out
