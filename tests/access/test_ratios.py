"""Resource ratios and absolute gaps, every expected number computed by hand in the comments."""

from __future__ import annotations

import pandas as pd
import pytest

from healthwatch.access.facilities import normalise_registry
from healthwatch.access.ratios import (
    FALLBACK_TARGETS,
    _need,
    resource_ratios,
    targets_from_plan,
)

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
    assert "needs 1,240 more registered nurses to reach 3.8 per 1,000" in row.message_en
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
    # County 211302: 8 x 400 = 3,200 needed, 3,000 there -> 200.
    assert beds["211302"].gap == 200
    # City 211300: population 700,000 (sum of counties) -> 5,600 needed, 4,000 there -> 1,600.
    assert beds["211300"].population == 700_000 and beds["211300"].gap == 1_600
    # City 211100: 250,000 -> 2,000 needed, 2,000 there -> met.
    assert beds["211100"].gap == 0 and beds["211100"].status == "met"
    # Province: 950,000 -> 7,600 needed, 6,000 there -> 1,600.
    assert beds["210000"].gap == 1_600
    # Physicians at the province: 4 x 950 = 3,800, 1,500 there -> 2,300.
    assert report.gap("210000", "physicians") == 2_300


def test_beds_about_target_reports_excess() -> None:
    # 100,000 residents -> 800 beds for 8 per 1,000; 900 there -> 100 above, gap 0.
    fac = _registry([_fac(id="a", adcode="211302", beds=900)])
    report = resource_ratios(fac, {"211300": 100_000}, levels=["city"], names=NAMES)
    beds = next(r for r in report.resources if r.resource == "beds")
    assert beds.gap == 0 and beds.status == "above" and "100" in beds.message_en


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


def test_targets_from_a_plan_overlay_the_fallback() -> None:
    plan = {
        "id": "liaoning-2021",
        "indicators": [
            {"code": "beds_per_1000", "name": "每千常住人口床位数", "target": 8.5},
            {"code": "gp_per_10k", "name": "每万人口全科医生数", "target": {"value": 5.0}},
            {"code": "np_share", "name": "负压救护车占比", "target": 30},
            {
                "code": "ambulances_per_30000",
                "name": "救护车配置（每3万人口）",
                "unit": "per_30000",
                "target": {"value": 2},
            },
            {"code": "unrelated", "name": "孕产妇系统管理率", "target": 90},
        ],
    }
    targets = targets_from_plan(plan)
    by = {t.resource: t for t in targets.resources}
    assert by["beds"].value == 8.5 and by["beds"].source == "plan:liaoning-2021:beds_per_1000"
    assert by["gps"].value == 5.0 and by["gps"].per == 10000
    assert by["nurses"] == next(t for t in FALLBACK_TARGETS.resources if t.resource == "nurses")
    assert targets.ambulances.negative_pressure_share == pytest.approx(0.30)
    assert targets.ambulances.persons_per_ambulance == 15_000  # 2 per 30,000


def test_builtin_liaoning_plan_targets_match_the_notes() -> None:
    # The plan data (plans helper) and shared/notes/access.md must agree on the numbers.
    from healthwatch.access.ratios import liaoning_targets

    targets = liaoning_targets()
    assert {t.resource: t.value for t in targets.resources} == {
        t.resource: t.value for t in FALLBACK_TARGETS.resources
    }
    assert targets.ambulances.persons_per_ambulance == 30_000
    assert targets.ambulances.negative_pressure_share == pytest.approx(0.30)
