"""The multi-source simulator: each source's level, dispersion, weekday pattern, share and delay
come out as specified, outbreaks are where the truth says, and the sources correlate only
through the shared fluctuation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from healthwatch.errors import InputError
from healthwatch.warning.multisource import (
    DEFAULT_SOURCES,
    SourceSpec,
    neighbours_within,
    simulate_multisource,
)

FLAT = (1, 1, 1, 1, 1, 1, 1)


def test_shapes_truth_and_reproducibility() -> None:
    a = simulate_multisource(6, 400, n_outbreaks=5, seed=3)
    b = simulate_multisource(6, 400, n_outbreaks=5, seed=3)
    c = simulate_multisource(6, 400, n_outbreaks=5, seed=4)
    assert a.counts.shape == (400, 6, len(DEFAULT_SOURCES))
    assert np.array_equal(a.counts, b.counts) and not np.array_equal(a.counts, c.counts)
    assert len(a.outbreaks) == 5 and (a.outbreaks["start"] >= 201).all()
    for row in a.outbreaks.itertuples():
        assert a.state[row.start - 1, row.column]
        assert a.regions[row.column] == row.region
        assert row.end >= row.start
    assert a.state.sum() == len(
        {(d, r.column) for r in a.outbreaks.itertuples() for d in range(r.start - 1, r.end)}
    )
    counts = a.counts_of("fever_clinic")
    assert counts.freq == 365 and counts.names == a.regions
    assert np.array_equal(counts.observed, a.counts[:, :, 1])
    with pytest.raises(InputError):
        a.counts_of("twitter")


def test_level_dispersion_and_weekday_pattern() -> None:
    spec = (
        SourceSpec("flat", "平", share=0.0, background=20.0, phi=2.5, delay=0.0, dow=FLAT),
        SourceSpec(
            "school", "校", share=0.0, background=10.0, phi=1.0, delay=0.0,
            dow=(1.2, 1.2, 1.2, 1.2, 1.2, 0.1, 0.1),
        ),
    )  # fmt: skip
    sim = simulate_multisource(
        50, 700, sources=spec, n_outbreaks=0, shared_sd=0.0, season_amplitude=0.0,
        size_sd=0.0, seed=1,
    )  # fmt: skip
    flat = sim.counts[:, :, 0]
    assert flat.mean() == pytest.approx(20.0, rel=0.01)
    assert flat.var() / flat.mean() == pytest.approx(2.5, rel=0.05)
    weekday = (sim.dates.astype(np.int64) + 3) % 7
    school = sim.counts[:, :, 1]
    ratio = school[weekday >= 5].mean() / school[weekday < 5].mean()
    assert ratio == pytest.approx(0.1 / 1.2, rel=0.1)
    assert school.mean() == pytest.approx(10.0, rel=0.02)  # the pattern keeps the weekly mean


def test_outbreak_reports_share_and_delay() -> None:
    spec = tuple(
        SourceSpec(name, name, share=share, background=0.0, phi=1.0, delay=delay, dow=FLAT)
        for name, share, delay in (("fast", 0.8, 0.0), ("slow", 0.3, 4.0))
    )
    sim = simulate_multisource(
        3, 400, sources=spec, n_outbreaks=30, outbreak_size=500.0, seed=2, outbreak_from=100
    )
    inside = sim.outbreaks[sim.outbreaks["start"] < 330]
    cases = inside["cases"].sum()
    assert inside["reports_fast"].sum() / cases == pytest.approx(0.8, rel=0.03)
    assert inside["reports_slow"].sum() / cases == pytest.approx(0.3, rel=0.05)
    # nothing is counted before the first outbreak starts
    assert sim.counts[: int(sim.outbreaks["start"].min()) - 1].sum() == 0
    # mean report day of one large outbreak: the slow source reports 4 days later on average
    one = simulate_multisource(
        1, 200, sources=spec, n_outbreaks=1, outbreak_size=20_000.0, seed=3, outbreak_from=50
    )
    days = np.arange(200)
    fast = (one.counts[:, 0, 0] * days).sum() / one.counts[:, 0, 0].sum()
    slow = (one.counts[:, 0, 1] * days).sum() / one.counts[:, 0, 1].sum()
    assert slow - fast == pytest.approx(4.0, abs=0.15)
    assert fast - (one.outbreaks["start"].iloc[0] - 1) == pytest.approx(
        np.exp(1.5 + 0.5**2 / 2) - 0.5, abs=0.3
    )  # onset = start + floor(LogNormal(1.5, 0.5)): mean exp(mu + s^2/2), floor takes ~0.5


def _residual_corr(sim) -> float:
    resid = (sim.counts - sim.background_mean) / np.sqrt(sim.background_mean)
    a, b = resid[:, :, 0].reshape(-1), resid[:, :, 1].reshape(-1)
    return float(np.corrcoef(a, b)[0, 1])


def test_sources_correlate_through_the_shared_fluctuation_only() -> None:
    spec = tuple(
        SourceSpec(n, n, share=0.0, background=50.0, phi=1.0, delay=0.0, dow=FLAT)
        for n in ("a", "b")
    )
    kw = dict(sources=spec, n_outbreaks=0, season_amplitude=0.0, seed=5)
    independent = simulate_multisource(20, 500, shared_sd=0.0, **kw)
    shared = simulate_multisource(20, 500, shared_sd=0.2, **kw)
    assert abs(_residual_corr(independent)) < 0.03
    # background_mean includes the fluctuation, so residuals around it stay uncorrelated...
    assert abs(_residual_corr(shared)) < 0.03
    # ...while the counts themselves correlate: corr = var(level)/(var(level) + Poisson noise)
    a, b = shared.counts[:, :, 0], shared.counts[:, :, 1]
    r = np.corrcoef((a - a.mean(0)).reshape(-1), (b - b.mean(0)).reshape(-1))[0, 1]
    signal = 50**2 * (np.exp(0.2**2) - 1)
    assert r == pytest.approx(signal / (signal + 50), abs=0.05)


def test_long_format_round_trips() -> None:
    sim = simulate_multisource(3, 60, n_outbreaks=1, seed=1)
    long = sim.to_long()
    assert list(long.columns) == ["date", "region", "source", "syndrome", "count"]
    wide = long.pivot_table(index="date", columns=["region", "source"], values="count")
    for r, region in enumerate(sim.regions):
        for j, source in enumerate(sim.source_names):
            assert np.array_equal(wide[(region, source)].to_numpy(), sim.counts[:, r, j])
    assert pd.to_datetime(long["date"]).min() == pd.Timestamp("2024-01-01")


def test_spill_goes_to_the_nearest_county() -> None:
    coords = np.array([[121.0, 41.0], [121.1, 41.0], [124.0, 42.0]])
    spec = (SourceSpec("a", "a", share=1.0, background=0.0, phi=1.0, delay=0.0, dow=FLAT),)
    sim = simulate_multisource(
        3, 200, sources=spec, coords=coords, n_outbreaks=1, outbreak_size=1000.0,
        spill_share=0.3, seed=3, outbreak_from=50,
    )  # fmt: skip
    origin = int(sim.outbreaks["column"].iloc[0])
    nearest = {0: 1, 1: 0, 2: 1}[origin]
    totals = sim.counts[:, :, 0].sum(axis=0)
    assert totals[nearest] / totals.sum() == pytest.approx(0.3, abs=0.05)
    assert neighbours_within(coords, ["x", "y", "z"], 20.0) == {"x": {"y"}, "y": {"x"}, "z": set()}


def test_bad_settings_are_refused() -> None:
    bad = SourceSpec("x", "x", share=1.5, background=-1, phi=0.5, delay=0.0)
    with pytest.raises(InputError) as err:
        simulate_multisource(0, 10, sources=(bad,), n_outbreaks=-1)
    fields = {p.field for p in err.value.problems}
    assert {"n_regions", "n_days", "n_outbreaks", "sources"} <= fields
