"""The seam to the fusion method: leaving out signals that cannot fuse changes no alert."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from healthwatch.warning.fusion import FusionRules, fuse_signals
from healthwatch.warning.integrate import could_fuse, default_rules, fuse


def random_signals(seed: int, n: int = 160) -> tuple[pd.DataFrame, dict[str, set[str]]]:
    rng = np.random.default_rng(seed)
    regions = [f"2103{i:02d}" for i in range(12)]
    neighbours = {r: set() for r in regions}
    for i, r in enumerate(regions):  # a ring: each county next to two others
        for j in (i - 1, i + 1):
            neighbours[r].add(regions[j % len(regions)])
    sources = ["fever_clinic", "pharmacy_antipyretic", "school_absence", "laboratory"]
    frame = pd.DataFrame(
        {
            "region": rng.choice(regions, n),
            "date": pd.Timestamp("2024-05-25") + pd.to_timedelta(rng.integers(0, 7, n), "D"),
            "source": rng.choice(sources, n),
            "syndrome": rng.choice(["fever", "diarrhoea", "cholera"], n, p=[0.6, 0.35, 0.05]),
            "p_value": 10.0 ** -rng.uniform(1, 8, n),
            "score": rng.uniform(1, 9, n),
        }
    )
    frame["single_case"] = frame["syndrome"] == "cholera"
    return frame.drop_duplicates(["region", "date", "source", "syndrome"]), neighbours


def as_dicts(alerts):
    return [a.to_dict() for a in alerts]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("include_neighbours", [True, False])
def test_leaving_out_signals_that_cannot_fuse_changes_no_alert(seed, include_neighbours):
    signals, neighbours = random_signals(seed, n=60 + 40 * seed)
    rules = FusionRules(include_neighbours=include_neighbours, min_sources=2 + seed % 2)
    mask = could_fuse(signals, neighbours, rules)
    assert as_dicts(fuse_signals(signals[mask], neighbours, rules)) == as_dicts(
        fuse_signals(signals, neighbours, rules)
    )


def test_lone_signals_are_left_out_and_their_neighbours_evidence_kept():
    neighbours = {"A": {"B"}, "B": {"A", "C"}, "C": {"B"}, "D": set()}
    rows = [
        ("A", "fever_clinic", False),  # A with B's pharmacy: two sources around A and B
        ("B", "pharmacy_antipyretic", False),
        ("C", "fever_clinic", False),  # C: B's pharmacy is next door -> kept
        ("D", "fever_clinic", False),  # D: alone, one source -> left out
        ("D", "notifiable", True),  # a single-case disease signal is always kept
    ]
    signals = pd.DataFrame(
        {
            "region": [r[0] for r in rows],
            "date": pd.Timestamp("2024-05-31"),
            "source": [r[1] for r in rows],
            "syndrome": ["fever"] * 4 + ["cholera"],
            "p_value": 1e-4,
            "score": 4.0,
            "single_case": [r[2] for r in rows],
        }
    )
    mask = could_fuse(signals, neighbours, FusionRules())
    assert mask.tolist() == [True, True, True, False, True]
    alone = could_fuse(signals, neighbours, FusionRules(include_neighbours=False))
    assert alone.tolist() == [False, False, False, False, True]


def test_fuse_returns_json_ready_alerts_with_catalogue_names():
    signals, neighbours = random_signals(1, n=200)
    out = fuse(signals, neighbours)
    assert out and {"region", "regions", "p_value", "level", "signals"} <= set(out[0])
    assert all(isinstance(s["date"], str) for a in out for s in a["signals"])
    assert any("发热门诊就诊" in a["reason_zh"] for a in out)
    assert fuse(signals.iloc[:0], neighbours) == []
    assert default_rules().source_names_en["laboratory"] == "laboratory positives"


def test_reasons_name_syndromes_sources_and_counties_in_both_languages():
    """Issue 12: reasons read ``就发热发出信号`` (not ``就 fever 发出信号``) and name counties."""
    from healthwatch.regions.hierarchy import full_names
    from healthwatch.warning.catalogue import SOURCES, SYNDROMES

    signals, neighbours = random_signals(3)
    alerts = fuse(signals, neighbours)
    assert {a["method"] for a in alerts} >= {"single_case", "fisher"}
    for a in alerts:
        syndrome, county = SYNDROMES[a["syndrome"]], full_names().get(a["region"], a["region"])
        assert syndrome.name_zh in a["reason_zh"] and county in a["reason_zh"]
        assert syndrome.name_en in a["reason_en"] and county in a["reason_en"]
        for code in a["sources"]:
            assert SOURCES[code].name_zh in a["reason_zh"]
            assert SOURCES[code].name_en in a["reason_en"]
        # no code of a syndrome or source in the Chinese text, no bare known county in either
        assert a["syndrome"] not in a["reason_zh"]
        assert not any(code in a["reason_zh"] for code in a["sources"])
        for region in a["regions"]:
            if region in full_names():
                assert a["reason_zh"].count(region) == 0
                assert a["reason_en"].count(region) == a["reason_en"].count(f"({region})")
