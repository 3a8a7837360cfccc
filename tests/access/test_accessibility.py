"""2SFCA and E2SFCA against hand computations and PySAL ``access``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import import_or_fail_in_ci

from healthwatch.access.accessibility import (
    TIME_BANDS_MIN,
    band_weights,
    e2sfca,
    two_sfca,
)
from healthwatch.access.distance import Reach, haversine_matrix, within_radius


def test_two_sfca_by_hand() -> None:
    # Two demand points (100, 300 people), two facilities (10, 20 beds), catchment 10.
    d = np.array([[5.0, 12.0], [10.0, 3.0]])
    res = two_sfca([100, 300], [10, 20], d, 10.0)
    # R_0 = 10 / (100 + 300) (d = 10 is inside), R_1 = 20 / 300.
    assert res.ratio.tolist() == pytest.approx([10 / 400, 20 / 300])
    assert res.access.tolist() == pytest.approx([10 / 400, 10 / 400 + 20 / 300])
    # Total supply is conserved when everyone is in some catchment: sum P_i A_i = sum S_j.
    assert float(np.dot([100, 300], res.access)) == pytest.approx(30.0)


def test_e2sfca_by_hand_and_band_edges() -> None:
    assert band_weights([0, 10, 10.01, 20, 29.9, 30, 30.01], TIME_BANDS_MIN).tolist() == [
        1, 1, 0.68, 0.68, 0.22, 0.22, 0,
    ]  # fmt: skip
    d = np.array([[5.0, 25.0], [15.0, 40.0]])
    res = e2sfca([100, 200], [50, 10], d)
    r0 = 50 / (100 * 1 + 200 * 0.68)
    r1 = 10 / (100 * 0.22)
    assert res.ratio.tolist() == pytest.approx([r0, r1])
    assert res.access.tolist() == pytest.approx([r0 + 0.22 * r1, 0.68 * r0])


def test_several_resources_and_sparse_reach_agree_with_dense() -> None:
    rng = np.random.default_rng(3)
    dem = rng.uniform([122.8, 41.5], [123.8, 42.2], (80, 2))
    fac = rng.uniform([122.8, 41.5], [123.8, 42.2], (12, 2))
    pop = rng.integers(0, 2000, 80)
    supply = np.column_stack([rng.integers(10, 300, 12), rng.integers(1, 60, 12)])  # beds, MDs
    dense = haversine_matrix(dem[:, 0], dem[:, 1], fac[:, 0], fac[:, 1])
    reach = within_radius(dem[:, 0], dem[:, 1], 15.0, fac[:, 0], fac[:, 1])
    bands = ((5.0, 1.0), (10.0, 0.68), (15.0, 0.22))
    a = e2sfca(pop, supply, dense, bands)
    b = e2sfca(pop, supply, reach, bands)
    assert a.access.shape == (80, 2)
    assert np.allclose(a.access, b.access) and np.allclose(a.ratio, b.ratio)
    for k in range(2):
        one = e2sfca(pop, supply[:, k], dense, bands)
        assert np.allclose(one.access, a.access[:, k])
    assert isinstance(reach, Reach)


def _pysal_access(dist: np.ndarray, pop: np.ndarray, sup: np.ndarray) -> Any:
    access = import_or_fail_in_ci("access")
    n, m = dist.shape
    return access.Access(
        demand_df=pd.DataFrame({"id": range(n), "pop": pop}),
        demand_index="id",
        demand_value="pop",
        supply_df=pd.DataFrame({"id": range(m), "beds": sup}),
        supply_index="id",
        supply_value="beds",
        cost_df=pd.DataFrame(
            {"o": np.repeat(np.arange(n), m), "d": np.tile(np.arange(m), n), "c": dist.ravel()}
        ),
        cost_origin="o",
        cost_dest="d",
        cost_name="c",
    )


@pytest.mark.filterwarnings("ignore:The inplace keyword")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_pysal_access(seed: int) -> None:
    access = import_or_fail_in_ci("access")
    rng = np.random.default_rng(seed)
    n, m = 40, 9
    dist = rng.uniform(0, 40, (n, m))
    pop = rng.integers(1, 800, n).astype(float)
    sup = rng.integers(1, 80, m).astype(float)
    model = _pysal_access(dist, pop, sup)
    ref2 = model.two_stage_fca(max_cost=20).iloc[:, 0].sort_index().to_numpy()
    assert np.allclose(two_sfca(pop, sup, dist, 20.0).access, ref2)
    step = access.weights.step_fn({10: 1, 20: 0.68, 30: 0.22})
    ref_e = model.enhanced_two_stage_fca(weight_fn=step).iloc[:, 0].sort_index().to_numpy()
    assert np.allclose(e2sfca(pop, sup, dist).access, ref_e)
