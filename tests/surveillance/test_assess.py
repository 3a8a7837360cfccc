"""Detection metrics: hand-checked values and R's algo.quality as the reference."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthwatch.errors import InputError
from healthwatch.surveillance import DetectionResult
from healthwatch.surveillance.assess import assess, noufaily_assessment, quality

GOLDEN = Path(__file__).parent / "golden" / "quality"
R_SCRIPT = Path(__file__).parent / "r" / "quality.R"


def make_result(alarm: np.ndarray, t0: int = 1) -> DetectionResult:
    alarm = np.asarray(alarm)
    r, n = alarm.shape
    z = np.zeros((r, n))
    return DetectionResult(
        method="toy",
        t=np.arange(t0, t0 + r),
        names=[f"s{i}" for i in range(n)],
        expected=z,
        upperbound=z,
        alarm=alarm,
        score=z,
        observed=z,
    )


def test_hand_checked_metrics() -> None:
    #            t: 1  2  3  4  5  6  7  8
    state = np.array(
        [
            [0, 1, 1, 0, 0, 1, 1, 1],  # outbreaks at t=2..3 (missed) and t=6..8 (alarm at 7)
            [0, 0, 0, 0, 0, 0, 0, 0],  # no outbreak; one false alarm
        ],
        dtype=bool,
    ).T
    alarm = np.array(
        [
            [1, 0, 0, 0, 0, 0, 1, 1],
            [0, 0, 0, 1, 0, 0, 0, 0],
        ],
        dtype=bool,
    ).T
    a = assess(make_result(alarm), state)
    assert (a.tp, a.fp, a.tn, a.fn) == (2, 2, 9, 3)
    assert a.sensitivity == pytest.approx(2 / 5)
    assert a.specificity == pytest.approx(9 / 11)
    assert a.fpr == pytest.approx(2 / 11)
    assert (a.n_outbreaks, a.n_detected, a.pod) == (2, 1, 0.5)
    assert a.delays.tolist() == [1.0]
    assert a.per_outbreak.start.tolist() == [2, 6]
    assert a.per_outbreak.length.tolist() == [2, 3]
    # a range starting at t=3 cuts the first outbreak to one cell, still an outbreak
    b = assess(make_result(alarm[2:], t0=3), state)
    assert b.per_outbreak.start.tolist() == [3, 6]


def test_nan_alarm_cells_are_left_out() -> None:
    state = np.array([[0], [1], [0]], dtype=bool)
    alarm = np.array([[np.nan], [1.0], [0.0]])
    a = assess(make_result(alarm), state)
    assert (a.tp, a.fp, a.tn, a.fn) == (1, 0, 1, 0)


def test_missing_or_misshaped_state_is_a_clear_error() -> None:
    res = make_result(np.zeros((4, 2), dtype=bool))
    with pytest.raises(InputError, match="state"):
        assess(res, None)
    with pytest.raises(InputError, match="shape"):
        assess(res, np.zeros((4, 3), dtype=bool))


def _check_against(folder: Path) -> int:
    cases = pd.read_csv(folder / "cases.csv")
    for _, row in cases.iterrows():
        cells = pd.read_csv(folder / f"{row['case']}.csv")
        q = quality(cells.alarm, cells.state, penalty=int(row.penalty))
        for key in ("TP", "FP", "TN", "FN"):
            assert q[key] == row[key], (row["case"], key)
        for key in ("sens", "spec", "dist", "mlag"):
            ref = row[key]
            if pd.isna(ref):
                assert np.isnan(q[key]), (row["case"], key)
            else:
                assert q[key] == pytest.approx(ref, rel=1e-12), (row["case"], key)
        # the batch metrics agree with R's counts on the same alarms
        full = np.zeros((int(row.range_to), 1), dtype=bool)
        full[cells.t.to_numpy() - 1, 0] = cells.state.to_numpy(dtype=bool)
        a = assess(
            make_result(cells.alarm.to_numpy(dtype=bool)[:, None], int(row.range_from)), full
        )
        assert (a.tp, a.fp, a.tn, a.fn) == (row.TP, row.FP, row.TN, row.FN)
        if not pd.isna(row.sens):
            assert a.sensitivity == pytest.approx(row.sens, rel=1e-12)
        assert a.specificity == pytest.approx(row.spec, rel=1e-12)
    return len(cases)


def test_quality_matches_committed_r_golden() -> None:
    assert _check_against(GOLDEN) >= 8


@pytest.mark.r
def test_quality_matches_live_r(tmp_path: Path) -> None:
    import subprocess

    exe = shutil.which("Rscript")
    if exe is None:
        pytest.skip("Rscript is not installed")
    subprocess.run([exe, "--vanilla", str(R_SCRIPT), str(tmp_path)], check=True, timeout=300)
    assert _check_against(tmp_path) >= 8


def test_noufaily_assessment_with_a_simple_detector() -> None:
    """A threshold at the true mean + 3 sd: FPR near its nominal size, POD rising with k."""
    from healthwatch.surveillance.simulate import noufaily_scenarios

    sc = noufaily_scenarios()[36]  # set 7: mu ~ 148, nearly Gaussian counts

    def oracle(counts, *, range=None):
        t = np.arange(576, 625)
        mu = sc.mean(t.astype(float))[:, None] * np.ones((1, counts.n_series))
        ub = mu + 3 * np.sqrt(sc.phi * mu)
        y = counts.observed[t - 1]
        return DetectionResult("oracle", t, counts.names, mu, ub, y > ub, y - ub, y)

    row = noufaily_assessment(oracle, 37, n_series=200, seed=1)
    assert row["fpr"] == pytest.approx(0.00135, abs=0.002)  # P(Z > 3)
    assert row["pod_k1"] < row["pod_k5"] <= row["pod_k10"]
    assert row["pod_k10"] >= 0.9  # an outbreak starting in week 624 keeps only half its cases
    assert 0 <= row["mean_delay"] < 2


def test_noufaily_benchmark_bounds_at_the_same_level() -> None:
    """Both methods of benchmarks/noufaily_table.py use the one-sided 99.5 % bound (z = 2.576).

    farrington's alpha is two-sided (z = qnorm(1 - alpha/2)), farrington_flexible's one-sided.
    """
    import importlib.util

    from scipy import stats

    from healthwatch.surveillance.farrington import farrington
    from healthwatch.surveillance.simulate import simulate_noufaily

    path = Path(__file__).parents[2] / "benchmarks" / "noufaily_table.py"
    spec = importlib.util.spec_from_file_location("noufaily_table", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    methods = mod.methods_at(0.005)
    a_far = methods["farrington"][1]["alpha"]
    a_flex = methods["flexible"][1]["alpha"]
    assert stats.norm.ppf(1 - a_far / 2) == pytest.approx(2.5758, abs=1e-4)
    assert stats.norm.ppf(1 - a_flex) == pytest.approx(2.5758, abs=1e-4)
    # the bug that was fixed: alpha = 0.005 gave farrington the higher z = 2.81 bound
    sim = simulate_noufaily(37, n_series=1, seed=3)
    a = farrington(sim.counts, range="600:610", b=5, w=3, alpha=a_far)
    b = farrington(sim.counts, range="600:610", b=5, w=3, alpha=0.005)
    assert np.all(np.asarray(a.upperbound) < np.asarray(b.upperbound))
