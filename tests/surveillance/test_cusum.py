"""cusum against R surveillance (golden files and live), plus healthwatch-only behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from _golden import GoldenCase, assert_matches, load_cases, run_r_script

from healthwatch.errors import InputError
from healthwatch.surveillance import Counts, detect
from healthwatch.surveillance.cusum import cusum

FAMILY = "cusum_glr"
CASES = [c for c in load_cases(FAMILY) if c.method == "cusum"]


def _check(case: GoldenCase) -> None:
    ctrl = dict(case.control)
    if ctrl.get("m") == "expected":
        ctrl["m"] = case.expected
    assert_matches(detect(case.counts, "cusum", range=case.range, **ctrl), case)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: GoldenCase) -> None:
    _check(case)


def test_golden_covers_enough() -> None:
    assert len({c.dataset for c in CASES}) >= 5
    assert {c.control.get("trans") for c in CASES} >= {"standard", "rossi", "anscombe"}
    assert any(c.control.get("m") == "expected" for c in CASES)
    for option in ("glm", "none", "anscombeNegBin"):
        hits = [c for c in CASES if option in (c.control.get("m"), c.control.get("trans"))]
        assert len({c.dataset for c in hits}) >= 3, option


@pytest.mark.r
@pytest.mark.slow
def test_live_against_r(tmp_path) -> None:
    run_r_script(FAMILY, tmp_path)
    for case in load_cases(FAMILY, tmp_path):
        if case.method == "cusum":
            _check(case)


def test_hand_computed_standard_cusum() -> None:
    # m = mean(2, 4) = 3; z = (x - 3)/sqrt(3); S = max(0, S + z - 1.04)
    x = np.array([2, 4, 3, 9, 8, 1], dtype=float)
    res = cusum(Counts.from_array(x), range="3:6")
    z = (x[2:] - 3) / np.sqrt(3)
    s, expect = 0.0, []
    for v in z:
        s = max(0.0, s + v - 1.04)
        expect.append(s)
    np.testing.assert_allclose(res.score[:, 0], expect)
    assert list(res.alarm[:, 0]) == [e >= 2.26 for e in expect]
    # upper bound: smallest count that reaches h, given the previous sum
    prev = np.r_[0.0, expect[:-1]]
    np.testing.assert_allclose(
        res.upperbound[:, 0], np.ceil(np.maximum(3 + np.sqrt(3) * (2.26 + 1.04 - prev), 0))
    )


def test_many_series_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    x = rng.poisson(4.0, size=(80, 50)).astype(float)
    whole = cusum(Counts.from_array(x), range="40:80", trans="rossi")
    for j in (0, 17, 49):
        one = cusum(Counts.from_array(x[:, j]), range="40:80", trans="rossi")
        np.testing.assert_array_equal(whole.upperbound[:, j], one.upperbound[:, 0])


def test_missing_values() -> None:
    """R returns NA for everything after a missing count (and for all of range when the
    baseline has one); healthwatch leaves missing counts out of the mean and skips missing
    weeks in the sum."""
    x = np.array([3, 5, np.nan, 4, 2, 9, np.nan, 8, 1], dtype=float)
    res = cusum(Counts.from_array(x), range="5:9")
    np.testing.assert_allclose(res.expected[:, 0], 4.0)
    ref = cusum(Counts.from_array(np.array([3, 5, 4, 2, 9, 8, 1.0])), range="4:7")
    assert np.isnan(res.score[2, 0]) and not res.alarm[2, 0]
    np.testing.assert_allclose(np.delete(res.score[:, 0], 2), ref.score[:, 0])


def test_bad_input() -> None:
    c = Counts.from_array(np.arange(10, dtype=float))
    with pytest.raises(InputError, match="trans"):
        cusum(c, range="5:10", trans="bogus")
    with pytest.raises(InputError, match="alpha"):
        cusum(c, range="5:10", trans="anscombeNegBin")
    with pytest.raises(InputError, match="4 counts"):
        cusum(c, range="4:10", m="glm")
    with pytest.raises(InputError, match="alpha"):
        cusum(c, range="5:10", trans="pearsonNegBin")
    with pytest.raises(InputError, match="range"):
        cusum(c, range="1:10")
    with pytest.raises(InputError, match="m has"):
        cusum(c, range="5:10", m=[1.0, 2.0])


def test_none_and_anscombe_negbin_hand_computed() -> None:
    """``none``: z = x; R's upper bound for the transformations it does not invert is
    max(0, h - S_t) (observed with algo.cusum, m=4, k=1, h=30: 28, 25, 18, 10, 0)."""
    x = np.array([3, 5, 2, 4, 6, 3, 4, 8, 9, 12, 3, 2, 1, 0, 5], dtype=float)
    res = cusum(Counts.from_array(x), range="6:15", m=4, trans="none", k=1, h=30)
    np.testing.assert_allclose(res.score[:, 0], [2, 5, 12, 20, 31, 33, 34, 34, 33, 37])
    np.testing.assert_allclose(res.upperbound[:5, 0], [28, 25, 18, 10, 0])
    # anscombeNegBin: the Anscombe transform is the integral of u^(-1/3) (1 + alpha u)^(-1/3);
    # R's values observed for m=4, alpha=0.3, k=0 (x = 8 after 3, 4: S = 1.103157579334139)
    from scipy.integrate import quad

    res = cusum(Counts.from_array(x), range="6:8", m=4, trans="anscombeNegBin", alpha=0.3, k=0)
    np.testing.assert_allclose(res.score[:, 0], [0, 0, 1.103157579334139], atol=1e-9)
    a = lambda y: quad(lambda u: u ** (-1 / 3) * (1 + 0.3 * u) ** (-1 / 3), 0, y)[0]  # noqa: E731
    exact = (a(8) - a(4)) / (4 * (1 + 0.3 * 4)) ** (1 / 6)
    assert res.score[2, 0] == pytest.approx(exact, rel=1e-6)
