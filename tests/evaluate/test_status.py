"""Status of every target kind, by the three methods, on small series worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from healthwatch.evaluate.status import (
    STATUSES,
    evaluate_status,
    proportional_status,
    target_bounds,
    trend_status,
)
from healthwatch.plans.model import (
    AnnualChange,
    Approximately,
    AtLeast,
    AtMost,
    Below,
    ChangeAbs,
    ChangePct,
    CountCap,
    Equal,
    Range,
    Unchanged,
)

YEARS = np.arange(2018, 2026)


def series(*pairs: tuple[int, float]) -> np.ndarray:
    row = np.full(len(YEARS), np.nan)
    for y, v in pairs:
        row[y - 2018] = v
    return row


def run(rows, target, direction, as_of=2025):
    v = np.array(rows)
    base = v[:, 2020 - 2018] if getattr(target, "base_year", None) == 2020 else None
    b = target_bounds(target, base)
    res = evaluate_status(YEARS, v, b, direction, 2020, 2025, as_of)
    names = lambda codes: [STATUSES[c] for c in codes]  # noqa: E731
    return res, names(res.schedule), names(res.open_sdg_common), names(res.unsd_common)


def test_at_least_schedule_verdicts() -> None:
    t = AtLeast(value=80, year=2025, text_zh="≥80%")
    rows = [
        series((2020, 60), (2023, 75)),  # 75% of the way at 60% of the time: on schedule
        series((2020, 60), (2023, 66)),  # 30% of the way: lagging
        series((2020, 60), (2023, 58)),  # went down: moving away
        series((2020, 60), (2023, 81)),  # achieved early
        series((2020, 60)),  # nothing since the base year, no history: insufficient
        series((2020, 85), (2023, 79)),  # met at base, fell below: moving away
    ]
    res, sch, os, un = run(rows, t, 1, as_of=2023)
    assert sch == [
        "on_schedule",
        "lagging",
        "moving_away",
        "achieved",
        "insufficient_data",
        "moving_away",
    ]
    assert res.schedule_ratio[0] == pytest.approx((15 / 20) / (3 / 5))
    assert res.required_abs[1] == pytest.approx((80 - 66) / 2)
    # Open SDG: R = CAGR_o/|CAGR_r|; the first series grows 7.7 %/yr against 5.9 % needed
    assert os[0] == "on_schedule" and os[2] == "moving_away" and os[3] == "achieved"
    assert un[0] == "on_schedule" and un[2] == "moving_away"


def test_at_most_count_cap_and_below() -> None:
    rows = [series((2020, 50), (2024, 41)), series((2020, 40), (2024, 40))]
    for t in (
        AtMost(value=40, year=2025, text_zh="≤40"),
        CountCap(value=40, year=2025, text_zh="≤4万"),
    ):
        _, sch, _, _ = run(rows, t, -1)
        assert sch == ["on_schedule", "achieved"]
    _, sch, _, _ = run(rows, Below(value=40, year=2025, text_zh="＜40"), -1)
    assert sch[1] != "achieved"  # strictly below: 40 is not < 40


def test_two_sided_targets() -> None:
    rows = [
        series((2020, 7.4), (2024, 7.6)),
        series((2020, 7.4), (2024, 8.6)),
        series((2020, 7.4), (2024, 8.3)),
    ]
    _, sch, os, _ = run(
        rows, Approximately(value=8, tolerance=0.5, year=2025, text_zh="8张左右"), 1
    )
    assert sch == ["achieved", "moving_away", "achieved"]  # 8.6 overshoots: outside 7.5-8.5
    assert os[0] == "achieved" and os[2] == "achieved"
    _, sch, _, _ = run(
        [series((2020, 108), (2024, 106))],
        Range(low=103, high=107, year=2025, text_zh="103-107"),
        0,
    )
    assert sch == ["achieved"]
    _, sch, _, _ = run(
        [series((2020, 80), (2023, 92))], Equal(value=100, year=2025, text_zh="100%"), 1, as_of=2023
    )
    assert sch == ["on_schedule"]  # 60% of the way at 60% of the time
    _, sch, _, _ = run(
        [series((2020, 92))], Unchanged(value=90, op="at_least", year=2025, text_zh="≥90%"), 1
    )
    assert sch == ["achieved"]


def test_change_targets_from_the_base_year() -> None:
    # 比2020年降低10%: 20 -> goal 18
    t = ChangePct(value=-10, base_year=2020, year=2025, text_zh="比2020年降低10%")
    res, sch, _, _ = run(
        [series((2020, 20), (2023, 18.6)), series((2020, 20), (2024, 17.9)), series((2023, 19))],
        t,
        -1,
    )
    assert res.goal[0] == pytest.approx(18)
    assert sch == ["on_schedule", "achieved", "insufficient_data"]
    # 较2020年增加0.5岁
    t2 = ChangeAbs(value=0.5, base_year=2020, year=2025, text_zh="较2020年增加0.5岁")
    _, sch, _, _ = run([series((2020, 79), (2023, 79.1))], t2, 1)
    assert sch == ["lagging"]
    # 每年下降0.5个百分点: 50 -> 47.5 by 2025; by 2023 should be 48.5
    t3 = AnnualChange(value=-0.5, base_year=2020, year=2025, text_zh="每年下降0.5个百分点")
    res, sch, _, _ = run([series((2020, 50), (2023, 48.5)), series((2020, 50), (2023, 49))], t3, -1)
    assert res.goal[0] == pytest.approx(47.5)
    assert sch == ["on_schedule", "lagging"]


def test_pace_comparison_without_reports_after_the_base_year() -> None:
    t = AtLeast(value=4, year=2025, text_zh="≥4名")
    years = np.array([2015, 2020, 2025])
    res = evaluate_status(years, np.array([[2.38, 2.96, np.nan]]), target_bounds(t), 1, 2020, 2025)
    assert STATUSES[res.schedule[0]] == "lagging"
    assert res.required_pct[0] == pytest.approx(6.21, abs=0.01)
    assert res.observed_pct[0] == pytest.approx(4.46, abs=0.01)
    fast = evaluate_status(years, np.array([[2.0, 2.96, np.nan]]), target_bounds(t), 1, 2020, 2025)
    assert STATUSES[fast.schedule[0]] == "on_schedule"  # 8.2 %/yr observed > 6.2 % needed


def test_trend_statement_compares_slopes() -> None:
    years = np.arange(2016, 2026)
    rising_fast = 10 + 0.5 * (years - 2016)
    slowing = np.where(years <= 2020, rising_fast, rising_fast[4] + 0.2 * (years - 2020))
    faster = np.where(years <= 2020, rising_fast, rising_fast[4] + 0.9 * (years - 2020))
    res = trend_status(
        years,
        np.vstack([slowing, faster, np.where(years < 2021, rising_fast, np.nan)]),
        -1,
        2020,
        2025,
    )
    assert [STATUSES[c] for c in res.status] == ["achieved", "moving_away", "insufficient_data"]
    assert res.slope_before[0] == pytest.approx(0.5) and res.slope_after[0] == pytest.approx(0.2)
    early = trend_status(years, slowing[None, :], -1, 2020, 2025, as_of=2023)
    assert STATUSES[early.status[0]] == "on_schedule"


def test_proportional_statement() -> None:
    years = np.arange(2020, 2026)
    le = 79 * 1.002 ** (years - 2020)
    hle_same = 70 * 1.002 ** (years - 2020)
    hle_slow = 70 * 1.001 ** (years - 2020)
    res = proportional_status(
        years, np.vstack([hle_same, hle_slow]), np.vstack([le, le]), 2020, 2025
    )
    assert [STATUSES[c] for c in res.status] == ["achieved", "lagging"]
    assert res.ratio[1] == pytest.approx(0.5, abs=0.01)
