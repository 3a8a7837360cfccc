"""EARS C1/C2/C3 against R's earsC (golden files and live) and against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from _golden import assert_matches, load_cases, run_r_script

from healthwatch.surveillance import detect

FAMILY = "ears_family"
METHODS = ("ears_c1", "ears_c2", "ears_c3")
CASES = [c for c in load_cases(FAMILY) if c.method in METHODS]


def _run(case):
    return detect(case.counts, case.method, range=case.range, **case.control)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_r_golden(case):
    assert_matches(_run(case), case)


def test_golden_coverage():
    for method in METHODS:
        cases = [c for c in CASES if c.method == method]
        assert len({c.dataset for c in cases}) >= 5
        assert len({tuple(sorted(c.control.items())) for c in cases}) >= 3
    assert any(np.isnan(c.counts.observed).any() for c in CASES)


@pytest.mark.r
def test_matches_r_live(tmp_path):
    run_r_script(FAMILY, tmp_path)
    live = [c for c in load_cases(FAMILY, tmp_path) if c.method in METHODS]
    assert len(live) == len(CASES)
    for case in live:
        assert_matches(_run(case), case)
