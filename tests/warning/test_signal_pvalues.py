"""Each signal's p-value is the upper tail of its method's predictive distribution."""

from __future__ import annotations

import numpy as np
import pytest

from healthwatch.surveillance.engine import run as run_engine
from healthwatch.surveillance.series import Counts
from healthwatch.warning.detection import _p_values, ears_c3_tail


@pytest.mark.parametrize("method", ["ears_c1", "ears_c2"])
def test_ears_p_values_are_uniform_on_normal_data(method: str) -> None:
    """Under the model EARS C1/C2 assume (independent normal days) the p-value is exact:
    a test at level a rejects a share a of series (the plain normal tail would not)."""
    rng = np.random.default_rng(5)
    baseline = 7
    data = rng.normal(1000.0, 30.0, size=(baseline + 3, 40_000)).round()  # counts are integers
    result = run_engine(
        Counts(observed=data, freq=365), method, range=np.array([baseline + 3]), baseline=baseline
    )
    p = _p_values(method, result.observed[-1], result.expected[-1], result.score[-1],
                  {"baseline": baseline})  # fmt: skip
    for level in (0.1, 0.01):
        share = float(np.mean(p <= level))
        assert share == pytest.approx(level, rel=0.12)
    # the plain normal tail ignores that mean and sd are estimated from 7 days: 3.6 %, not 1 %
    naive = float(np.mean(result.score[-1] >= 2.326))
    assert naive == pytest.approx(0.036, rel=0.15)


def test_ears_c3_tail_matches_simulation() -> None:
    rng = np.random.default_rng(9)
    z = rng.standard_normal((4_000_000, 3))
    c3 = np.maximum(z - 1.0, 0.0).sum(axis=1)
    grid = np.array([0.25, 1.0, 2.0, 3.0])
    p = ears_c3_tail(grid)
    simulated = np.array([(c3 >= c).mean() for c in grid])
    assert p == pytest.approx(simulated, rel=0.05)
    assert np.all(p >= simulated * 0.99)  # never less conservative than the truth (beyond noise)
    # monotone, 1 at 0, tiny but positive far out, NaN kept
    far = ears_c3_tail(np.array([0.0, 10.0, 60.0, np.nan]))
    assert far[0] == 1.0 and 0 < far[2] < far[1] < 1e-10 and np.isnan(far[3])
