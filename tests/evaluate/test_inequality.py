"""HEAT measures against the technical notes' formulas, worked by hand on small examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from healthwatch.evaluate.inequality import heat_measures, rank_regions

# Three regions: coverage 10 %, 20 %, 30 % with population shares 0.5, 0.3, 0.2 (favourable).
Y = np.array([[10.0, 20.0, 30.0]])
POP = np.array([500.0, 300.0, 200.0])


def test_worked_example_favourable() -> None:
    m = heat_measures(Y, POP, 1)
    # mu = 0.5*10 + 0.3*20 + 0.2*30 = 17
    assert m.mean[0] == pytest.approx(17.0)
    assert m.difference[0] == pytest.approx(20.0)  # highest 30 - lowest 10
    assert m.ratio[0] == pytest.approx(3.0)
    # MDB = 0.5*|10-30| + 0.3*|20-30| + 0 = 13
    assert m.mean_difference_from_best[0] == pytest.approx(13.0)
    # MDM = 0.5*7 + 0.3*3 + 0.2*13 = 7
    assert m.mean_difference_from_mean[0] == pytest.approx(7.0)
    # BGV = 0.5*49 + 0.3*9 + 0.2*169 = 61
    assert m.between_group_variance[0] == pytest.approx(61.0)
    assert m.index_of_disparity[0] == pytest.approx(100 * 7 / 17)  # 41.18
    assert m.par[0] == pytest.approx(13.0)  # 30 - 17
    assert m.paf[0] == pytest.approx(100 * 13 / 17)  # 76.47
    theil = 0.5 * (10 / 17) * math.log(10 / 17) + 0.3 * (20 / 17) * math.log(20 / 17)
    theil += 0.2 * (30 / 17) * math.log(30 / 17)
    assert m.theil[0] == pytest.approx(theil)  # 0.1018
    assert m.theil[0] == pytest.approx(0.10176, abs=1e-5)
    mld = -(0.5 * math.log(10 / 17) + 0.3 * math.log(20 / 17) + 0.2 * math.log(30 / 17))
    assert m.mean_log_deviation[0] == pytest.approx(mld)  # 0.1030
    assert m.mean_log_deviation[0] == pytest.approx(0.10296, abs=1e-5)


def test_adverse_indicator_best_is_lowest() -> None:
    m = heat_measures(Y, POP, -1)
    assert m.best[0] == 10.0 and m.worst[0] == 30.0
    assert m.difference[0] == pytest.approx(20.0)  # HEAT: highest minus lowest, always
    assert m.par[0] == pytest.approx(10 - 17)  # negative for adverse indicators, as HEAT
    assert m.mean_difference_from_best[0] == pytest.approx(0.3 * 10 + 0.2 * 20)


def test_equal_regions_have_no_inequality_and_missing_are_left_out() -> None:
    m = heat_measures(np.array([[5.0, 5.0, np.nan], [np.nan, np.nan, np.nan]]), POP, 1)
    assert m.theil[0] == pytest.approx(0.0) and m.index_of_disparity[0] == pytest.approx(0.0)
    assert m.n_regions.tolist() == [2, 0]
    assert np.isnan(m.mean[1])


def test_ranking() -> None:
    assert rank_regions(np.array([[3.0, 1.0, 3.0, np.nan]]), 1).tolist() == [[1, 3, 1, 0]]
    assert rank_regions(np.array([[3.0, 1.0, 2.0]]), -1).tolist() == [[3, 1, 2]]
