"""The assessment: calibration really equalises false alerts, p-values are calibrated under no
outbreak, scoring counts what it says, and the documented examples run."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthwatch.warning.assess import (
    Detector,
    alarm_onsets,
    assess_multisource,
    calibrate_threshold,
    detector_levels,
    score_detector,
    source_pvalues,
    stouffer_weights,
)
from healthwatch.warning.multisource import simulate_multisource

DOC = Path(__file__).resolve().parents[2] / "docs" / "warning-methods.md"


@pytest.fixture(scope="module")
def pair():
    null = simulate_multisource(20, 500, n_outbreaks=0, seed=21)
    sim = simulate_multisource(20, 500, n_outbreaks=60, seed=22)
    return sim, null


def test_alarm_onsets() -> None:
    a = np.array([[0, 1], [1, 1], [1, 0], [0, 1], [1, 1]], dtype=bool)
    assert alarm_onsets(a).astype(int).tolist() == [[0, 1], [1, 0], [0, 0], [0, 1], [1, 0]]


def test_calibration_meets_the_target_and_is_the_largest_such_threshold() -> None:
    rng = np.random.default_rng(0)
    level = rng.uniform(size=(730, 30))
    for target in (1.0, 5.0, 20.0):
        thr = calibrate_threshold(level, target)
        county_years = 730 * 30 / 365
        onsets = alarm_onsets(level <= thr).sum()
        assert onsets <= target * county_years
        above = np.sort(np.unique(level))
        nxt = above[np.searchsorted(above, thr, side="right")]
        # the next larger threshold breaks the target (onsets grow almost monotonically here)
        assert alarm_onsets(level <= nxt).sum() > target * county_years or nxt - thr < 1e-9
    assert calibrate_threshold(level, 0.0) < level.min()


def test_empirical_pvalues_are_uniform_without_outbreaks(pair) -> None:
    _, null = pair
    p = source_pvalues(null, control={"baseline": 28})
    test = p[250:][~np.isnan(p[250:])]
    assert test.mean() == pytest.approx(0.5, abs=0.03)
    assert np.mean(test <= 0.05) == pytest.approx(0.05, abs=0.015)
    assert np.nanmin(p) > 0 and np.nanmax(p) <= 1


def test_score_detector_on_a_hand_made_alarm() -> None:
    sim = simulate_multisource(3, 365, n_outbreaks=0, seed=1)
    sim = dataclasses.replace(
        sim,
        outbreaks=pd.DataFrame(
            {"column": [0, 1, 2], "start": [100, 200, 350], "end": [105, 210, 355]}
        ),
    )
    alarm = np.zeros((365, 3), dtype=bool)
    alarm[102, 0] = True  # outbreak 1 found on its 4th day: 3 days to detection
    alarm[10:12, 2] = True  # one false alert (two days, one onset)
    alarm[300, 0] = True  # another
    alarm[360, 2] = True  # inside outbreak 3's period: not false, but 3 is not judged
    res = score_detector(alarm, sim, detect_days=21)
    assert res["outbreaks"] == 2  # outbreak 3 starts too late to be judged over 21 days
    assert res["pod"] == 0.5
    assert res["median_days_to_detection"] == 3.0
    free_days = 3 * 365 - 22 - 22 - 16  # outbreak periods: start .. start + 21, cut at the end
    assert res["false_alerts_per_county_year"] == pytest.approx(2 / (free_days / 365))


def test_fused_levels_agree_with_direct_combination(pair) -> None:
    from healthwatch.warning.fusion import combine_pvalues, window_pvalues

    sim, _ = pair
    p = source_pvalues(sim)
    corr = np.eye(p.shape[2])
    lv = detector_levels(p, Detector("f", "fisher"), window_days=5, correlation=corr)
    wp = window_pvalues(p, 5)
    t, r = 300, 4
    assert lv[t, r] == pytest.approx(combine_pvalues(wp[t, r], "fisher"))
    k2 = detector_levels(p, Detector("k", "k_of_n", k=2), window_days=5)
    assert k2[t, r] == pytest.approx(np.sort(wp[t, r])[1])


def test_assessment_equalises_false_alerts(pair) -> None:
    sim, null = pair
    target = 5.0
    table = assess_multisource(
        sim, null, false_alerts_per_county_year=target, control={"baseline": 28}
    )
    assert set(table["detector"]) >= {"pharmacy", "fused_fisher", "fused_stouffer", "2_of_5"}
    # on the calibration data every detector is at (or, being discrete, just under) the target
    assert (table["calibrated_false_alerts"] <= target + 1e-9).all()
    assert (table["calibrated_false_alerts"] >= 0.7 * target).all()
    # and the rate measured on the outbreak data's outbreak-free days is of the same order
    assert table["false_alerts_per_county_year"].between(0.3 * target, 2.0 * target).all()
    assert table["pod"].between(0, 1).all()


def test_large_outbreaks_are_all_found_quickly() -> None:
    null = simulate_multisource(10, 500, n_outbreaks=0, seed=31)
    sim = simulate_multisource(10, 500, n_outbreaks=20, outbreak_size=1500.0, seed=32)
    table = assess_multisource(sim, null, false_alerts_per_county_year=4.0).set_index("detector")
    assert table.loc["fused_fisher", "pod"] == 1.0
    assert table.loc["fused_fisher", "median_days_to_detection"] <= 4
    assert table.loc["fever_clinic", "pod"] >= 0.9


def _doc_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_documentation_examples_run() -> None:
    blocks = _doc_blocks()
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # the examples assert their claims


def test_learned_weights_follow_the_signal() -> None:
    from healthwatch.warning.multisource import SourceSpec

    flat = (1, 1, 1, 1, 1, 1, 1)
    spec = (
        SourceSpec("strong", "强", share=0.8, background=5.0, phi=1.2, delay=1.0, dow=flat),
        SourceSpec("blind", "盲", share=0.0, background=5.0, phi=1.2, delay=1.0, dow=flat),
        SourceSpec("weak", "弱", share=0.15, background=20.0, phi=2.0, delay=1.0, dow=flat),
    )
    hist = simulate_multisource(20, 500, sources=spec, n_outbreaks=60, seed=41)
    p = source_pvalues(hist, control={"baseline": 28})
    w = stouffer_weights(p, hist, np.eye(3))
    assert w[0] > 0.6 and w[1] < 0.15, w  # the blind source gets only noise weight
    assert w.sum() == pytest.approx(1.0)
    null = simulate_multisource(20, 500, sources=spec, n_outbreaks=0, seed=42)
    sim = simulate_multisource(20, 500, sources=spec, n_outbreaks=60, seed=43)
    table = assess_multisource(sim, null, false_alerts_per_county_year=2.0, history=hist)
    table = table.set_index("detector")
    # ignoring the blind source beats giving it equal weight
    assert table.loc["fused_weighted", "pod"] >= table.loc["fused_stouffer", "pod"]


def test_compare_detectors_pools_replicates() -> None:
    from healthwatch.warning.assess import compare_detectors

    out = compare_detectors(
        n_regions=8, n_days=400, n_outbreaks=12, targets=(2.0, 6.0), replicates=2, seed=7
    )
    assert list(out["target"].unique()) == [2.0, 6.0]
    assert out.groupby("target")["detector"].count().tolist() == [14, 14]
    assert (out["outbreaks"] > 0).all() and (out["pod_se"] >= 0).all()
    single = ~out["detector"].str.startswith(("fused", "2_of"))
    for _, part in out[single].groupby("target"):
        assert part["vs_best_single"].max() == pytest.approx(1.0)
    w = out.loc[out["detector"] == "fused_weighted", "weights"].iloc[0]
    assert len(w) == 5 and sum(w) == pytest.approx(1.0)
    # one replicate through compare_detectors equals assess_multisource on the same data
    one = compare_detectors(
        n_regions=8, n_days=400, n_outbreaks=12, targets=(2.0,), replicates=1, seed=7,
        learn_weights=False,
    ).set_index("detector")  # fmt: skip
    null = simulate_multisource(8, 400, n_outbreaks=0, seed=7)
    sim = simulate_multisource(8, 400, n_outbreaks=12, seed=8)
    direct = assess_multisource(
        sim, null, false_alerts_per_county_year=2.0, control={"baseline": 28}
    ).set_index("detector")
    assert np.allclose(one.loc[direct.index, "pod"], direct["pod"])
