"""Dated series: R's calendar rules (ISO weeks, 53-week years, leap days, months) against R
surveillance with ``epochAsDate = TRUE`` (golden files and live), and the calendar helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _golden import assert_matches, load_cases, run_case, run_r_script

from healthwatch.errors import InputError
from healthwatch.surveillance import Counts, calendar
from healthwatch.surveillance.farrington import farrington_flexible

FAMILY = "calendar"
CASES = load_cases(FAMILY)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_r_golden(case):
    assert case.counts.epoch is not None and case.counts.calendar
    assert_matches(run_case(case), case)


def test_golden_coverage():
    """Weekly (53-week years, weekdays other than Monday), monthly and daily (leap days)."""
    by_freq = {f: [c for c in CASES if c.counts.freq == f] for f in (52, 12, 365)}
    assert all(by_freq.values())
    for method in ("farrington", "farrington_flexible"):
        for f, cases in by_freq.items():
            assert any(c.method == method for c in cases), (method, f)
    flex = [c for c in CASES if c.method == "farrington_flexible"]
    assert {c.control.get("threshold_method", "delta") for c in flex} == {
        "delta",
        "nbPlugin",
        "muan",
    }
    assert any(c.control.get("population_offset") for c in flex)
    assert any(c.control.get("no_periods", 1) > 1 for c in flex)
    # the data cross 53-week ISO years and 29 February inside the baselines
    weekly = by_freq[52]
    assert any("-W53" in "".join(calendar.period_labels(c.counts.epoch, 52)) for c in weekly)
    daily = by_freq[365]
    assert any(np.datetime64("2024-02-29") in c.counts.epoch[c.range - 1] for c in daily)
    assert {
        int(c.counts.epoch[0].astype("datetime64[D]").astype(np.int64) + 4) % 7 for c in weekly
    } >= {
        0,
        1,
        4,
    }  # Sunday, Monday and Thursday weeks
    assert sum(int(np.nansum(c.alarm)) for c in CASES) > 5


def test_calendar_changes_the_answer():
    """On the dated cases positions would give other bounds: the calendar rule is exercised."""
    differs = 0
    for case in CASES:
        if case.method not in ("farrington", "farrington_flexible"):
            continue
        positional = Counts.from_array(
            case.counts.observed,
            freq=case.counts.freq,
            names=case.counts.names,
            population=case.counts.population,
        )
        try:
            res = run_case(case.__class__(**{**case.__dict__, "counts": positional}))
        except InputError:  # positions cannot reach back as far as the calendar
            differs += 1
            continue
        a, b = res.upperbound, case.upperbound
        if not np.allclose(a, b, rtol=1e-6, equal_nan=True):
            differs += 1
    assert differs >= 10


@pytest.mark.r
@pytest.mark.slow
def test_matches_r_live(tmp_path):
    run_r_script(FAMILY, tmp_path)
    live = load_cases(FAMILY, tmp_path)
    assert len(live) == len(CASES)
    for case in live:
        assert_matches(run_case(case), case)


# -- the calendar rules themselves ------------------------------------------------------------


def _weeks(start: str, n: int) -> np.ndarray:
    return np.datetime64(start, "D") + 7 * np.arange(n)


def test_reference_weeks_follow_the_calendar_over_53_week_years():
    # Mondays from 2014-12-29 (ISO 2015-W01); 2015 and 2020 have 53 ISO weeks
    epoch = _weeks("2014-12-29", 420)
    k = int(np.flatnonzero(epoch == np.datetime64("2021-03-01"))[0])
    pos = calendar.classic_reference(epoch, k, b=5, w=0, freq=52)
    back = k - pos
    # the same date i years back, moved to the nearest Monday: the weekday drifts by a day a
    # year (two in leap years) until a 53-week year takes a week back: 157 rather than 156
    assert back.tolist() == [52, 104, 157, 209, 261]
    dates = epoch[pos]
    assert [str(d) for d in dates] == [
        "2020-03-02",
        "2019-03-04",
        "2018-02-26",
        "2017-02-27",
        "2016-02-29",
    ]


def test_flexible_blocks_use_actual_offsets():
    epoch = _weeks("2014-12-29", 420)
    k = int(np.flatnonzero(epoch == np.datetime64("2021-03-01"))[0])
    idx, lev = calendar.flexible_reference(
        epoch, k, b=3, w=1, no_periods=3, past_weeks_not_included=1, freq=52
    )
    back = k - idx
    assert sorted(back[lev == 0]) == [51, 52, 53, 103, 104, 105, 156, 157, 158]
    # between the windows 157 and 104 weeks back lie 50 weeks (53 - 2*1 - 1): 25 + 25 ...
    assert np.bincount(lev[(back > 105) & (back < 156)]).tolist() == [0, 25, 25]
    # ... between 104 and 52 weeks back 49 weeks: 25 + 24, the first block one longer
    assert np.bincount(lev[(back > 53) & (back < 103)]).tolist() == [0, 25, 24]
    assert back.min() == 2  # the current week and past_weeks_not_included=1 are left out


def test_leap_day_goes_to_first_of_march():
    days = np.arange(np.datetime64("2019-01-01"), np.datetime64("2024-12-31"))
    k = int(np.flatnonzero(days == np.datetime64("2024-02-29"))[0])
    idx, _lev = calendar.flexible_reference(
        days, k, b=2, w=0, no_periods=1, past_weeks_not_included=0, freq=365
    )
    assert [str(d) for d in days[idx]] == ["2022-03-01", "2023-03-01"]
    k = int(np.flatnonzero(days == np.datetime64("2024-03-01"))[0])
    pos = calendar.classic_reference(days, k, b=2, w=0, freq=365)
    # a year back over 29 February is 366 days, the year before 365
    assert (k - pos).tolist() == [366, 731]
    assert days[pos].astype(str).tolist() == ["2023-03-01", "2022-03-01"]


def test_months_roll_over_like_r():
    d = np.array(["2024-03-31", "2024-01-31"], "datetime64[D]")
    assert calendar.shift_months(d, -1).astype(str).tolist() == ["2024-03-02", "2023-12-31"]
    assert calendar.shift_months(d[1:], 1).astype(str).tolist() == ["2024-03-02"]


def test_monthly_trend_runs_in_days():
    epoch = np.arange(np.datetime64("2020-01"), np.datetime64("2020-05")).astype("datetime64[D]")
    tc = calendar.time_coordinate(epoch, 4, 12)
    assert np.allclose(tc, np.array([0, 31, 60, 91]) / 31)


def test_first_evaluable_week_moves_with_the_calendar():
    # weekly from Monday 2015-03-02. By position b=3, w=1 first evaluates t = 3*52 + 1 + 1 = 158.
    # By calendar, t=158 is 2018-03-05; three years back is Thursday 2015-03-05, whose nearest
    # Monday is 2015-03-02, the first week, so its window would start before the series; t=159
    # (2018-03-12) looks back to 2015-03-09, 157 weeks (29 February 2016 lies between)
    y = np.random.default_rng(0).poisson(5, size=(200, 1))
    dated = Counts.from_array(y, epoch=_weeks("2015-03-02", 200))
    plain = Counts.from_array(y)
    assert farrington_flexible(plain, b=3, w=1).t[0] == 158
    assert farrington_flexible(dated, b=3, w=1).t[0] == 159
    with pytest.raises(InputError, match="t>=159"):
        farrington_flexible(dated, b=3, w=1, range="158:170")


def test_positional_series_are_unchanged():
    """Without dates the methods are positional: same as giving freq-regular non-calendar input."""
    rng = np.random.default_rng(3)
    y = rng.poisson(6, size=(320, 2))
    a = farrington_flexible(Counts.from_array(y, freq=52), range="300:320")
    b = farrington_flexible(Counts.from_array(y, freq=52), range="300:320")
    assert np.array_equal(a.upperbound, b.upperbound, equal_nan=True)
    assert a.dates is None


# -- dates in Counts ------------------------------------------------------------------------------


def test_iso_weeks_months_and_dates_in_long_frames():
    frame = pd.DataFrame(
        {
            "series": ["a", "a", "a"],
            "date": ["2020-W52", "2020-W53", "2021-W01"],
            "count": [1, 2, 3],
        }
    )
    c = Counts.from_long(frame)
    assert c.freq == 52 and c.epoch.astype(str).tolist() == [
        "2020-12-21",
        "2020-12-28",
        "2021-01-04",
    ]
    months = pd.DataFrame({"series": ["a", "a"], "date": ["2024-07", "2024-08"], "count": [1, 2]})
    assert Counts.from_long(months).freq == 12
    days = pd.DataFrame(
        {"series": ["a", "a"], "date": ["2024-02-28", "2024-02-29"], "count": [1, 2]}
    )
    assert Counts.from_long(days).freq == 365


def test_wrong_freq_beside_dates_is_an_error():
    frame = pd.DataFrame({"series": ["a", "a"], "date": ["2024-07", "2024-08"], "count": [1, 2]})
    with pytest.raises(InputError, match="dates are monthly"):
        Counts.from_long(frame, freq=52)
    with pytest.raises(InputError, match="dates are weekly"):
        Counts.from_array([1, 2], freq=365, epoch=_weeks("2024-01-01", 2))


def test_gaps_and_duplicates_are_rejected_with_the_row():
    gap = pd.DataFrame(
        {
            "series": ["a"] * 3 + ["b"] * 3,
            "date": ["2024-W01", "2024-W02", "2024-W04"] * 2,
            "count": [1] * 6,
        }
    )
    with pytest.raises(InputError) as info:
        Counts.from_long(gap, file="x.csv")
    assert info.value.problems[0].line == 4 and "1 weekly period(s) missing" in str(info.value)
    dup = pd.DataFrame(
        {
            "series": ["a", "a", "a"],
            "date": ["2024-W01", "2024-W02", "2024-W02"],
            "count": [1, 2, 3],
        }
    )
    with pytest.raises(InputError) as info:
        Counts.from_long(dup, file="x.csv")
    assert info.value.problems[0].line == 4 and "twice" in str(info.value)
    bad = pd.DataFrame({"series": ["a", "a"], "date": ["2021-W53", "2021-W52"], "count": [1, 2]})
    with pytest.raises(InputError) as info:
        Counts.from_long(bad, file="x.csv")
    assert info.value.problems[0].line == 2 and "ISO week" in str(info.value)


def test_results_carry_dates():
    epoch = _weeks("2014-12-29", 300)
    y = np.random.default_rng(1).poisson(4, size=(300, 2))
    res = farrington_flexible(Counts.from_array(y, epoch=epoch), range="290:300", b=4)
    assert res.dates is not None and res.dates[0] == epoch[289]
    assert res.to_frame()["date"].iloc[0] == pd.Timestamp(epoch[289])
    assert res.to_json()["dates"][0] == str(epoch[289])


def test_yearly_dates_are_positional():
    frame = pd.DataFrame(
        {
            "series": ["a"] * 3,
            "date": ["2019-01-01", "2020-01-01", "2021-01-01"],
            "count": [1, 2, 3],
        }
    )
    c = Counts.from_long(frame)
    assert c.freq == 1 and not c.calendar
