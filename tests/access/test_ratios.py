"""Resource ratios and absolute gaps against the plan's own targets, every expected number
computed by hand in the comments (targets: the packaged Liaoning plan)."""

from __future__ import annotations

import functools

import pandas as pd
import pytest

from healthwatch.access.facilities import normalise_registry
from healthwatch.access.ratios import Targets, _need, targets_from_plan
from healthwatch.access.ratios import resource_ratios as _resource_ratios
from healthwatch.plans import Plan, builtin_plans


@functools.cache
def liaoning() -> Plan:
    return builtin_plans()[0]


def resource_ratios(*args, targets: Targets | None = None, **kw):  # type: ignore[no-untyped-def]
    return _resource_ratios(*args, targets=targets or targets_from_plan(liaoning()), **kw)


NAMES = {"211300": "朝阳市", "211302": "双塔区", "211321": "朝阳县", "211100": "盘锦市",
         "210000": "辽宁省"}  # fmt: skip


def _fac(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"name": "x", "kind": "hospital", "lon": 120.4, "lat": 41.6,
                               "year": 2021}  # fmt: skip
    return {**base, **kw}


def _registry(rows: list[dict[str, object]]) -> pd.DataFrame:
    return normalise_registry(pd.DataFrame(rows))


def test_nurses_gap_matches_the_issue_example() -> None:
    # 朝阳市 2,840,000 residents x 3.8 / 1,000 = 10,792 nurses; 9,552 there -> 1,240 more.
    fac = _registry([_fac(id="a", adcode="211302", nurses=9552)])
    report = resource_ratios(fac, {"211300": 2_840_000}, levels=["city"], names=NAMES)
    row = next(r for r in report.resources if r.resource == "nurses")
    assert row.required == 10_792 and row.gap == 1_240 and row.status == "below"
    assert row.rate == pytest.approx(9552 / 2840)
    assert (
        "needs 1,240 more registered nurses to reach the target ≥3.8 名 per 1,000" in row.message_en
    )
    assert "注册护士 1,240" in row.message_zh
    assert report.gap("211300", "nurses") == 1_240


def test_ceiling_is_robust_to_floating_point() -> None:
    # 0.54 x 450,000 / 1,000 is 243.00000000000003 in binary floating point; 243 are needed.
    assert 0.54 * 450_000 / 1000 != 243
    assert _need(0.54, 450_000, 1000) == 243
    assert _need(3.8, 2_840_000, 1000) == 10_792
    assert _need(0.54, 2_840_000, 1000) == 1534  # 1,533.6 rounds up


def test_gps_per_10000_and_pharmacists_met_exactly() -> None:
    # GPs: 4.6 x 2,840,000 / 10,000 = 1,306.4 -> 1,307 needed; 1,000 there -> 307 more.
    # Pharmacists: 0.54 x 2,840 = 1,533.6 -> 1,534; 1,534 there -> met, gap 0.
    fac = _registry([_fac(id="a", adcode="211302", gps=1000, pharmacists=1534)])
    report = resource_ratios(fac, {"211300": 2_840_000}, levels=["city"], names=NAMES)
    assert report.gap("211300", "gps") == 307
    pharm = next(r for r in report.resources if r.resource == "pharmacists")
    assert pharm.gap == 0 and pharm.status == "met"


def test_ambulances_and_negative_pressure_share() -> None:
    # 2,840,000 / 30,000 = 94.67 -> 95 ambulances; 83 there -> 12 more.
    # Negative-pressure: 30% of max(83, 95) = 28.5 -> 29; 20 there -> 9 more.
    fac = _registry([_fac(id="a", adcode="211302", kind="ems_station", ambulances=83,
                          negative_pressure=20)])  # fmt: skip
    report = resource_ratios(fac, {"211300": 2_840_000}, levels=["city"], names=NAMES)
    (amb,) = report.ambulances
    assert (amb.required, amb.gap) == (95, 12)
    assert (amb.negative_pressure_required, amb.negative_pressure_gap) == (29, 9)
    assert amb.negative_pressure_share == pytest.approx(20 / 83)
    assert "12 more ambulances" in amb.message_en and "负压救护车 9 辆" in amb.message_zh


def test_more_ambulances_than_required_raise_the_negative_pressure_need() -> None:
    # 300,000 residents -> 10 ambulances required; 20 there -> no gap; 30% of 20 = 6 NP needed.
    fac = _registry([_fac(id="a", adcode="211302", kind="ems_station", ambulances=20,
                          negative_pressure=6)])  # fmt: skip
    report = resource_ratios(fac, {"211300": 300_000}, levels=["city"], names=NAMES)
    (amb,) = report.ambulances
    assert amb.gap == 0 and amb.negative_pressure_required == 6 and amb.negative_pressure_gap == 0
    assert "meets" in amb.message_en


def test_aggregation_from_counties_to_city_and_province() -> None:
    # Two counties of 朝阳市 and one of 盘锦市, county populations only.
    fac = _registry([
        _fac(id="a", adcode="211302", beds=3000, physicians=700),
        _fac(id="b", adcode="211321", beds=1000, physicians=300),
        _fac(id="c", adcode="211102", beds=2000, physicians=500, lon=122.0, lat=41.1),
    ])  # fmt: skip
    pops = {"211302": 400_000, "211321": 300_000, "211102": 250_000}
    report = resource_ratios(fac, pops, levels=["county", "city", "province"], names=NAMES)
    beds = {r.adcode: r for r in report.resources if r.resource == "beds"}
    # Beds are "8张左右" (about 8, tolerance 0.5): the lower end is 7.5 per 1,000.
    # County 211302: 3,000 for 400,000 is 7.5 per 1,000 -> about 8, met, no gap.
    assert beds["211302"].gap == 0 and beds["211302"].status == "met" and beds["211302"].met
    # City 211300: population 700,000 (sum of counties) -> 7.5 x 700 = 5,250; 4,000 -> 1,250.
    assert beds["211300"].population == 700_000 and beds["211300"].gap == 1_250
    # City 211100: 250,000 -> 8.0 per 1,000 -> met.
    assert beds["211100"].gap == 0 and beds["211100"].status == "met"
    # Province: 950,000 -> 7.5 x 950 = 7,125 needed, 6,000 there -> 1,125.
    assert beds["210000"].gap == 1_125
    # Physicians at the province: 4 x 950 = 3,800, 1,500 there -> 2,300.
    assert report.gap("210000", "physicians") == 2_300


def test_beds_about_target_reports_excess() -> None:
    # 100,000 residents, 900 beds = 9.0 per 1,000, above "8张左右" (at most 8.5 -> 850): 50 over.
    fac = _registry([_fac(id="a", adcode="211302", beds=900)])
    report = resource_ratios(fac, {"211300": 100_000}, levels=["city"], names=NAMES)
    beds = next(r for r in report.resources if r.resource == "beds")
    assert beds.gap == 0 and beds.status == "above" and beds.met is False
    assert "has 50 beds more than the target 8张左右" in beds.message_en


def test_about_8_is_read_as_the_plan_model_reads_it() -> None:
    # The issue's example: Liaoning, 42,294,000 residents, 7.59 beds per 1,000 = 321,011 beds.
    # The plan model says "8张左右" is met by 7.59; ratios must agree (it asked for 17,195 more).
    target = liaoning().indicator("beds_per_1000")
    assert target is not None and target.target.evaluate(7.59) is True
    fac = _registry([_fac(id="a", adcode="211302", beds=321_011)])
    report = resource_ratios(fac, {"210000": 42_294_000}, levels=["province"], names=NAMES)
    beds = next(r for r in report.resources if r.resource == "beds")
    assert beds.rate == pytest.approx(7.59, abs=1e-4)
    assert (beds.status, beds.gap, beds.met) == ("met", 0, True)


def test_year_filter_and_missing_population() -> None:
    fac = _registry([
        _fac(id="a", adcode="211302", nurses=100, year=2020),
        _fac(id="b", adcode="211302", nurses=50, year=2021),
    ])  # fmt: skip
    report = resource_ratios(fac, {"211300": 100_000}, year=2021, levels=["city", "province"],
                             names=NAMES)  # fmt: skip
    nurses = next(r for r in report.resources if r.resource == "nurses" and r.adcode == "211300")
    assert nurses.have == 50 and nurses.gap == 380 - 50
    # The province has no population figure and not every county has one: listed, not guessed.
    assert report.missing_population == ["210000"]


def test_ems_centre_in_every_city() -> None:
    fac = _registry([
        _fac(id="a", adcode="211302", kind="ems_centre", ambulances=3),
        _fac(id="b", adcode="211102", kind="hospital", lon=122.0, lat=41.1),
    ])  # fmt: skip
    report = resource_ratios(fac, {"211300": 1, "211100": 1}, levels=["city"], names=NAMES)
    checks = {c.adcode: c for c in report.ems_centres}
    assert checks["211300"].ok and checks["211300"].centres == 1
    assert not checks["211100"].ok and "no EMS" in checks["211100"].message_en


def test_targets_are_the_plans_own_and_nothing_falls_back() -> None:
    targets = targets_from_plan(liaoning())
    by = {t.resource: t for t in targets.resources}
    assert by["beds"].target.kind == "approximately" and by["beds"].text_zh == "8张左右"
    assert by["beds"].source == "plan:liaoning-2021-2025:beds_per_1000"
    assert by["gps"].per == 10_000 and by["gps"].target.value == 4.6
    assert targets.ambulances.persons_per_ambulance == 30_000
    assert targets.ambulances.negative_pressure_share == pytest.approx(0.30)
    # A plan without a beds target: beds are not assessed (no number written in the code).
    document = liaoning().to_json()
    document["indicators"] = [i for i in document["indicators"] if i["code"] != "beds_per_1000"]
    document["supplementary_targets"] = [
        t for t in document["supplementary_targets"] if not t["code"].startswith("ambulances")
    ]
    bare = targets_from_plan(Plan.from_json(document))
    assert "beds" not in {t.resource for t in bare.resources}
    assert bare.ambulances.persons_per_ambulance is None
    fac = _registry([_fac(id="a", adcode="211302", beds=10, ambulances=1, kind="ems_station")])
    report = resource_ratios(fac, {"211300": 100_000}, levels=["city"], targets=bare)
    assert report.unassessed == ["beds"]
    assert not [r for r in report.resources if r.resource == "beds"]
    # The negative-pressure share is still the plan's; the ambulance count is not assessed.
    (amb,) = report.ambulances
    assert amb.required == 0 and amb.negative_pressure_required == 1


def test_a_plan_without_resource_targets_assesses_nothing() -> None:
    # Anshan's plan states beds per 1,000 only as a context figure (7.12 in 2020), no target:
    # nothing is invented for it.
    targets = targets_from_plan(builtin_plans()[1])
    assert targets.resources == ()
    fac = _registry([_fac(id="a", adcode="210302", beds=100, lon=122.99, lat=41.11)])
    report = resource_ratios(fac, {"210300": 100_000}, levels=["city"], targets=targets)
    assert report.resources == [] and len(report.unassessed) == 5
