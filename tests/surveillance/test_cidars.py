"""CIDARS fixed threshold and moving percentile method, checked by hand.

R has no CIDARS methods, so these tests spell out the windows and percentiles by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from healthwatch.errors import InputError
from healthwatch.surveillance import Counts, detect
from healthwatch.surveillance.cidars import (
    DISEASE_PERCENTILES,
    cidars_fixed,
    cidars_mpm,
    percentile_linear,
)


def _daily_example() -> np.ndarray:
    """1116 days; evaluated day t=1116 (1-based), 3 years back, 7-day windows.

    Current window: days 1110..1116. Baseline windows end at t - 365 i + 7 j (j = -2..2):
    year 1 ends 737, 744, 751, 758, 765; year 2 ends 372, .., 400; year 3 ends 7, .., 35.
    """
    y = np.zeros(1116)

    def put(day: int, n: float) -> None:  # 1-based day
        y[day - 1] = n

    put(751, 1)  # year 1, window 745..751 (j = 0)
    put(760, 2)  # year 1, window 759..765 (j = +2)
    put(380, 4)  # year 2, window 380..386 (j = 0)
    put(15, 3)  # year 3, window 15..21 (j = 0)
    put(8, 5)  # year 3, window 8..14 (j = -1)
    put(1109, 7)  # just before the current window: not counted
    put(1116, 1)  # current window sum = 1
    return y


def test_mpm_daily_by_hand():
    y = _daily_example()
    c = Counts.from_array(y, freq=365)
    # baseline: 1, 2, 4, 3, 5 and ten zeros -> sorted 0 x10, 1, 2, 3, 4, 5 (15 values)
    p75 = cidars_mpm(c, disease="chickenpox")  # h = 14 * 0.75 = 10.5 -> 1 + 0.5 * (2 - 1)
    assert p75.t.tolist() == [1116]
    assert p75.score[0, 0] == 1
    assert p75.upperbound[0, 0] == 1.5
    assert p75.expected[0, 0] == 0  # median: v_7 = 0
    assert not p75.alarm[0, 0]
    p45 = cidars_mpm(c, disease="风疹")  # rubella P45: h = 6.3 -> 0
    assert p45.upperbound[0, 0] == 0 and p45.alarm[0, 0]
    p80 = cidars_mpm(c, percentile=80)  # h = 11.2 -> 2 + 0.2 * (3 - 2)
    assert p80.upperbound[0, 0] == pytest.approx(2.2)


def test_mpm_missing_day_drops_that_baseline_window():
    y = _daily_example()
    y[8] = np.nan  # day 9 lies in window 8..14: that baseline value is left out
    res = cidars_mpm(Counts.from_array(y, freq=365), percentile=75)
    # 14 values: 0 x10, 1, 2, 3, 4 -> h = 13 * 0.75 = 9.75 -> 0 + 0.75 * (1 - 0)
    assert res.upperbound[0, 0] == pytest.approx(0.75)
    y[1112] = np.nan  # a missing day in the current window: no score, no signal
    res = cidars_mpm(Counts.from_array(y, freq=365), percentile=75)
    assert np.isnan(res.score[0, 0]) and not res.alarm[0, 0]


def test_mpm_weekly_and_five_years():
    t = 3 * 52 + 3  # first evaluable week with 3 years: 159
    y = np.zeros(t)
    weeks = [w for i in (1, 2, 3) for w in range(t - 52 * i - 2, t - 52 * i + 3)]
    assert sorted(weeks) == [*range(1, 6), *range(53, 58), *range(105, 110)]
    y[np.array(weeks) - 1] = np.arange(1, 16)
    y[t - 1] = 12
    res = cidars_mpm(Counts.from_array(y, freq=52), percentile=75)
    assert res.t.tolist() == [159]
    assert res.upperbound[0, 0] == 11.5  # h = 10.5 between 11 and 12
    assert res.alarm[0, 0]
    mumps = cidars_mpm(Counts.from_array(y, freq=52), disease="mumps")  # P80: h = 11.2
    assert mumps.upperbound[0, 0] == pytest.approx(12.2)
    assert not mumps.alarm[0, 0]
    long = np.zeros(5 * 52 + 3)
    assert cidars_mpm(Counts.from_array(long, freq=52), years=5).t.tolist() == [263]


def test_percentile_matches_numpy_linear():
    rng = np.random.default_rng(2)
    v = rng.poisson(5, size=(15, 40, 7)).astype(float)
    for q in (45, 50, 75, 80):
        np.testing.assert_allclose(percentile_linear(v, q), np.percentile(v, q, axis=0))
    v[3, 0, 0] = np.nan
    assert percentile_linear(v, 75)[0, 0] == np.percentile(np.delete(v[:, 0, 0], 3), 75)


def test_mpm_vectorised_equals_one_by_one_and_detect():
    rng = np.random.default_rng(4)
    x = rng.poisson(1.0, size=(3 * 365 + 60, 30)).astype(float)
    c = Counts.from_array(x, freq=365)
    whole = detect(c, "cidars_mpm", disease="influenza")
    one = cidars_mpm(c.select([11]), percentile=75)
    np.testing.assert_array_equal(whole.upperbound[:, [11]], one.upperbound)
    assert whole.t[0] == 3 * 365 + 21 and whole.t[-1] == 3 * 365 + 60
    assert whole.upperbound.shape == (40, 30)


def test_mpm_defaults_table():
    assert DISEASE_PERCENTILES == {
        "chickenpox": 75, "mumps": 80, "influenza": 75, "rubella": 45, "hfmd": 75,
        "scarlet_fever": 80,
    }  # fmt: skip
    y = np.zeros(3 * 52 + 3)
    c = Counts.from_array(y, freq=52)
    assert cidars_mpm(c, disease="HFMD").control["percentile"] == 75
    assert cidars_mpm(c, disease="手足口病").control["percentile"] == 75
    assert cidars_mpm(c, disease="Scarlet fever").control["percentile"] == 80
    assert cidars_mpm(c).control["percentile"] == 80


@pytest.mark.parametrize(
    ("kwargs", "n", "freq", "field"),
    [
        ({"disease": "plague"}, 200, 52, "disease"),
        ({"percentile": 120}, 200, 52, "percentile"),
        ({"years": 0}, 200, 52, "years"),
        ({}, 100, 52, "range"),
        ({"range": [150, 160]}, 200, 52, "range"),
        ({}, 200, 12, "freq"),
    ],
)
def test_mpm_bad_input(kwargs, n, freq, field):
    with pytest.raises(InputError) as err:
        cidars_mpm(Counts.from_array(np.zeros(n), freq=freq), **kwargs)
    assert err.value.problems[0].field == field


def test_fixed_threshold():
    x = np.array([[0, 2], [1, 0], [np.nan, 0], [0, 3]], dtype=float)
    res = cidars_fixed(Counts.from_array(x, freq=365))
    assert res.alarm.tolist() == [[False, True], [True, False], [False, False], [False, True]]
    assert np.all(res.upperbound == 0)
    assert cidars_fixed(Counts.from_array(x), threshold=3).alarm.sum() == 1
    with pytest.raises(InputError):
        cidars_fixed(Counts.from_array(x), threshold=0)
