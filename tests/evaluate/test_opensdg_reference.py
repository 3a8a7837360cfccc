"""The Open SDG growth ratio gives the same status and score as Open SDG's own code.

``golden/opensdg_progress.json`` holds answers of sdg-build's published
``sdg/ProgressMeasure.py`` on 315 series and settings (hand-picked edge cases and random series
around the thresholds), written by ``golden/make_opensdg_goldens.py`` from a checkout of
sdg-build. Every case is run through :func:`opensdg_progress` at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from healthwatch.evaluate.status import OPEN_SDG_STATUSES, opensdg_progress

GOLDEN = json.loads((Path(__file__).parent / "golden" / "opensdg_progress.json").read_text())


def _matrix(cases: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    years = sorted({y for c in cases for y in c["input"]["years"]})
    col = {y: i for i, y in enumerate(years)}
    values = np.full((len(cases), len(years)), np.nan)
    for i, c in enumerate(cases):
        for y, v in zip(c["input"]["years"], c["input"]["values"], strict=True):
            values[i, col[y]] = np.nan if v is None else v
    return np.array(years), values


def _run(cases: list[dict]):
    years, values = _matrix(cases)
    inp = [c["input"] for c in cases]
    return opensdg_progress(
        years,
        values,
        np.array([c["base_year"] for c in inp]),
        np.array([np.nan if c.get("target") is None else c["target"] for c in inp]),
        np.array([c["target_year"] for c in inp]),
        np.array([1 if c["direction"] == "positive" else -1 for c in inp]),
        np.array([c.get("limit", np.nan) for c in inp]),
    )


def test_golden_file_covers_every_status() -> None:
    seen = {c["open_sdg"]["series_status"] for c in GOLDEN["cases"]}
    assert seen == set(OPEN_SDG_STATUSES)
    assert len(GOLDEN["cases"]) >= 300


def test_same_status_and_score_as_open_sdg() -> None:
    cases = GOLDEN["cases"]
    res = _run(cases)
    mismatches = []
    for i, c in enumerate(cases):
        ref = c["open_sdg"]
        got_status = OPEN_SDG_STATUSES[res.status[i]]
        got_ind = OPEN_SDG_STATUSES[res.indicator_status[i]]
        want_ind = ref["indicator_status"] or "not_available"
        if got_status != ref["series_status"] or got_ind != want_ind:
            mismatches.append((i, got_status, ref["series_status"], got_ind, want_ind))
            continue
        for key, got in (("score", res.score[i]), ("progress_value", res.progress_value[i])):
            want = ref[key]
            if want is None:
                if not np.isnan(got):
                    mismatches.append((i, key, got, None))
            elif got != pytest.approx(want, rel=1e-09, abs=1e-12):
                mismatches.append((i, key, got, want))
        if ref["base_year_used"] is not None and res.base_year[i] != ref["base_year_used"]:
            mismatches.append((i, "base_year", res.base_year[i], ref["base_year_used"]))
    assert mismatches == []


def test_physicians_example_is_moderate_progress() -> None:
    """The Liaoning physicians series from the issue, in Open SDG's own terms."""
    res = _run(GOLDEN["cases"][:1])
    assert OPEN_SDG_STATUSES[res.status[0]] == "moderate_progress"
    assert res.progress_value[0] == pytest.approx(0.8366, abs=1e-4)
