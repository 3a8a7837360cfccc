"""Simulated outbreaks seen by several surveillance sources at once, with the truth kept.

An outbreak in a county makes people ill on known days; each source sees a share of them, later
and noisier in its own way: a pharmacy sells cough medicine the same day, a fever clinic sees
the patient a day later, a laboratory confirms four days later, schools record absences only on
weekdays. Each source also counts plenty of people who have nothing to do with the outbreak.
This module simulates that, so that :mod:`healthwatch.warning.assess` can show what combining
sources gains (or not) against each source alone.

>>> sim = simulate_multisource(n_regions=4, n_days=400, n_outbreaks=2, seed=1)
>>> sim.counts.shape                     # days x counties x sources
(400, 4, 5)
>>> list(sim.outbreaks.columns[:4])
['outbreak', 'region', 'column', 'start']
>>> sim.counts_of("fever_clinic").observed.shape
(400, 4)

Model, per county r, source s and day t (1-based):

- background: ``B[t, r, s] = size_r x background_s x season(t)^seasonality_s x dow_s(t) x
  exp(e[t, r])``. ``size_r`` is a county's relative size (log-normal), ``season`` a yearly
  cycle, ``dow_s`` the source's day-of-week pattern (mean 1 over a week) and ``e`` a shared
  AR(1) fluctuation of the county's illness level (the same for every source: it is what makes
  sources correlated outside outbreaks). Counts are negative binomial with mean B and variance
  ``phi_s x B``.
- outbreaks: ``n_outbreaks`` in random counties, starting on random days from ``outbreak_from``
  on; an outbreak has Poisson(size) cases with onset ``start + floor(LogNormal(meanlog,
  sdlog))`` days. Source s reports each case with probability ``share_s`` after a
  Poisson(``delay_s``) delay, scaled by its day-of-week pattern: the expected outbreak reports
  on day t are ``share_s x dow_s(t) x sum_o cases(o) P(delay = t - o)``, drawn as Poisson.
  ``spill_share`` of the cases (if > 0) fall in the nearest county instead.
- truth: ``outbreaks`` (one row per outbreak: county, start, last onset day, cases drawn and
  reports per source) and ``state`` (days x counties: True from an outbreak's start to its last
  onset day).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance.series import Counts
from healthwatch.warning.scan import great_circle_km

__all__ = [
    "DEFAULT_SOURCES",
    "LIAONING_BOX",
    "MultiSourceSimulation",
    "SourceSpec",
    "neighbours_within",
    "simulate_multisource",
]

#: longitude and latitude bounds used to place simulated counties (roughly Liaoning)
LIAONING_BOX = (119.2, 125.8, 38.7, 43.5)


@dataclass(frozen=True)
class SourceSpec:
    """How one source sees a syndrome.

    share: probability that an outbreak case appears in this source.
    background: mean daily count unrelated to the outbreak in a county of relative size 1.
    phi: overdispersion of the background (variance = phi x mean; 1 is Poisson).
    delay: mean reporting delay in days (Poisson), from onset to the day it is counted.
    dow: relative level Monday..Sunday (normalised to mean 1).
    seasonality: exponent on the common yearly cycle (0: no seasonality).
    """

    name: str
    name_zh: str
    share: float
    background: float
    phi: float
    delay: float
    dow: tuple[float, float, float, float, float, float, float] = (1, 1, 1, 1, 1, 1, 1)
    seasonality: float = 1.0

    def dow_factor(self) -> np.ndarray:
        d = np.asarray(self.dow, dtype=np.float64)
        return np.asarray(d / d.mean())


#: five sources of an influenza-like-illness syndrome, from fast and noisy to slow and specific
DEFAULT_SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        "pharmacy", "药店退热止咳药销售", share=0.35, background=30.0, phi=2.0, delay=0.5,
        dow=(1.0, 0.95, 0.95, 0.95, 1.0, 1.1, 1.05),
    ),
    SourceSpec(
        "fever_clinic", "发热门诊就诊", share=0.45, background=12.0, phi=1.5, delay=1.0,
        dow=(1.3, 1.1, 1.05, 1.0, 1.0, 0.8, 0.75),
    ),
    SourceSpec(
        "school_absence", "学校因症缺勤", share=0.2, background=5.0, phi=1.4, delay=1.5,
        dow=(1.2, 1.15, 1.15, 1.15, 1.1, 0.15, 0.1), seasonality=0.5,
    ),
    SourceSpec(
        "case_reports", "法定传染病报告", share=0.2, background=1.5, phi=1.2, delay=3.0,
        dow=(1.3, 1.2, 1.1, 1.1, 1.0, 0.7, 0.6),
    ),
    SourceSpec(
        "lab_positive", "实验室检测阳性", share=0.1, background=0.6, phi=1.1, delay=4.0,
        dow=(1.2, 1.2, 1.1, 1.1, 1.1, 0.7, 0.6),
    ),
)  # fmt: skip


@dataclass
class MultiSourceSimulation:
    """Simulated counts (days x counties x sources) and the truth behind them."""

    counts: np.ndarray
    sources: tuple[SourceSpec, ...]
    regions: list[str]
    coords: np.ndarray
    dates: np.ndarray
    outbreaks: pd.DataFrame
    state: np.ndarray
    background_mean: np.ndarray = field(repr=False)
    syndrome: str = "ILI"

    @property
    def source_names(self) -> list[str]:
        return [s.name for s in self.sources]

    def source_index(self, source: str) -> int:
        try:
            return self.source_names.index(source)
        except ValueError:
            raise InputError(
                [
                    Problem(
                        f"unknown source {source!r}; simulated: {', '.join(self.source_names)}",
                        f"未知来源 {source!r}；模拟的来源：{', '.join(self.source_names)}",
                        field="source",
                    )
                ]
            ) from None

    def counts_of(self, source: str) -> Counts:
        """One source as the detection engine's :class:`Counts` (days x counties, daily)."""
        j = self.source_index(source)
        return Counts.from_array(
            self.counts[:, :, j],
            freq=365,
            names=self.regions,
            epoch=self.dates,
            state=self.state,
        )

    def to_long(self) -> pd.DataFrame:
        """``date, region, source, syndrome, count`` rows: the platform's ingestion format."""
        d, r, s = self.counts.shape
        return pd.DataFrame(
            {
                "date": np.repeat(pd.to_datetime(self.dates).strftime("%Y-%m-%d"), r * s),
                "region": np.tile(np.repeat(np.asarray(self.regions, dtype=object), s), d),
                "source": np.tile(np.asarray(self.source_names, dtype=object), d * r),
                "syndrome": self.syndrome,
                "count": self.counts.reshape(-1).astype(np.int64),
            }
        )

    def neighbours(self, km: float = 60.0) -> dict[str, set[str]]:
        return neighbours_within(self.coords, self.regions, km)


def neighbours_within(coords: np.ndarray, names: Sequence[str], km: float) -> dict[str, set[str]]:
    """Counties whose centroids lie within ``km`` of each other (great-circle distance)."""
    d = great_circle_km(np.asarray(coords, dtype=np.float64))
    out: dict[str, set[str]] = {}
    for i, a in enumerate(names):
        out[str(a)] = {str(names[int(j)]) for j in np.flatnonzero(d[i] <= km) if j != i}
    return out


def _negative_binomial(gen: np.random.Generator, mu: np.ndarray, phi: float) -> np.ndarray:
    """Counts with mean mu and variance phi x mu (Poisson when phi <= 1)."""
    if phi <= 1.0:
        return gen.poisson(mu).astype(np.float64)
    return gen.negative_binomial(mu / (phi - 1.0), 1.0 / phi).astype(np.float64)


def _check(
    n_regions: int,
    n_days: int,
    n_outbreaks: int,
    outbreak_from: int,
    sources: Sequence[SourceSpec],
    coords: np.ndarray | None,
    region_names: Sequence[str] | None,
) -> None:
    problems: list[Problem] = []

    def bad(en: str, zh: str, name: str) -> None:
        problems.append(Problem(en, zh, field=name))

    if n_regions < 1:
        bad("n_regions must be >= 1", "n_regions 必须不小于 1", "n_regions")
    if n_days < 28:
        bad("n_days must be >= 28", "n_days 必须不小于 28", "n_days")
    if n_outbreaks < 0:
        bad("n_outbreaks must be >= 0", "n_outbreaks 必须不小于 0", "n_outbreaks")
    if not 1 <= outbreak_from <= n_days:
        bad(
            f"outbreak_from must lie in 1..{n_days}",
            f"outbreak_from 必须位于 1..{n_days}",
            "outbreak_from",
        )
    names = [s.name for s in sources]
    if not sources or len(set(names)) != len(names):
        bad("sources must be non-empty with unique names", "来源不能为空且名称不能重复", "sources")
    for s in sources:
        if not (0 <= s.share <= 1 and s.background >= 0 and s.phi >= 1 and s.delay >= 0):
            bad(
                f"source {s.name!r}: need 0 <= share <= 1, background >= 0, phi >= 1, delay >= 0",
                f"来源 {s.name!r}：要求 0 <= share <= 1、background >= 0、phi >= 1、delay >= 0",
                "sources",
            )
    if coords is not None and np.asarray(coords).shape != (n_regions, 2):
        bad(f"coords must be {n_regions} x 2", f"coords 必须为 {n_regions} × 2", "coords")
    if region_names is not None and len(region_names) != n_regions:
        bad(
            f"region_names must have {n_regions} names",
            f"region_names 必须有 {n_regions} 个名称",
            "region_names",
        )
    if problems:
        raise InputError(problems)


def simulate_multisource(
    n_regions: int = 20,
    n_days: int = 2 * 365,
    *,
    sources: Sequence[SourceSpec] = DEFAULT_SOURCES,
    n_outbreaks: int = 20,
    outbreak_from: int | None = None,
    outbreak_size: float | Sequence[float] = (30.0, 60.0, 120.0),
    meanlog: float = 1.5,
    sdlog: float = 0.5,
    spill_share: float = 0.0,
    shared_sd: float = 0.15,
    shared_ar: float = 0.7,
    season_amplitude: float = 0.4,
    size_sd: float = 0.5,
    coords: np.ndarray | None = None,
    region_names: Sequence[str] | None = None,
    start_date: str = "2024-01-01",
    syndrome: str = "ILI",
    seed: int = 0,
) -> MultiSourceSimulation:
    """Simulate ``n_days`` of ``sources`` in ``n_regions`` counties with planted outbreaks.

    outbreak_from: first day (1-based) an outbreak may start (default: the second half, so the
      first half is an outbreak-free history for training and calibration).
    outbreak_size: mean cases of an outbreak; a sequence is cycled through the outbreaks.
    shared_sd, shared_ar: standard deviation and lag-1 autocorrelation of the county's shared
      daily log-fluctuation (0 makes the sources independent given the season).
    See the module docstring for the model. Everything is drawn from ``seed``.
    """
    _check(
        n_regions,
        n_days,
        n_outbreaks,
        outbreak_from or n_days // 2 + 1,
        sources,
        coords,
        region_names,
    )
    sources = tuple(sources)
    root = np.random.SeedSequence(seed)
    g_geo, g_base, g_shared, g_out, g_rep = (np.random.default_rng(s) for s in root.spawn(5))
    lon0, lon1, lat0, lat1 = LIAONING_BOX
    if coords is None:
        coords = np.column_stack(
            [g_geo.uniform(lon0, lon1, n_regions), g_geo.uniform(lat0, lat1, n_regions)]
        )
    coords = np.asarray(coords, dtype=np.float64)
    names = (
        [str(x) for x in region_names]
        if region_names is not None
        else [f"county_{i + 1:03d}" for i in range(n_regions)]
    )
    size = np.exp(g_geo.normal(-0.5 * size_sd**2, size_sd, n_regions))

    dates = np.datetime64(start_date, "D") + np.arange(n_days)
    weekday = (dates.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was Thu
    t = np.arange(1, n_days + 1, dtype=np.float64)
    season = np.exp(season_amplitude * np.cos(2 * np.pi * (t - 15) / 365.25))

    # the shared AR(1) fluctuation of each county's illness level
    innov = g_shared.normal(0.0, 1.0, (n_days, n_regions))
    e = np.empty((n_days, n_regions))
    e[0] = innov[0] * shared_sd
    scale = shared_sd * np.sqrt(max(1.0 - shared_ar**2, 0.0))
    for d in range(1, n_days):
        e[d] = shared_ar * e[d - 1] + scale * innov[d]
    level = np.exp(e - 0.5 * shared_sd**2)

    n_src = len(sources)
    mean = np.empty((n_days, n_regions, n_src))
    counts = np.empty_like(mean)
    for j, s in enumerate(sources):
        dow = s.dow_factor()[weekday]
        mu = s.background * (season**s.seasonality * dow)[:, None] * size[None, :] * level
        mean[:, :, j] = mu
        counts[:, :, j] = _negative_binomial(g_base, mu, s.phi)

    # outbreaks
    first = int(outbreak_from or n_days // 2 + 1)
    sizes = np.resize(np.atleast_1d(np.asarray(outbreak_size, dtype=np.float64)), n_outbreaks)
    where = g_out.integers(0, n_regions, n_outbreaks)
    start = g_out.integers(first, n_days + 1, n_outbreaks)
    dist = great_circle_km(coords)
    np.fill_diagonal(dist, np.inf)
    state = np.zeros((n_days, n_regions), dtype=bool)
    rows = []
    for k in range(n_outbreaks):
        r = int(where[k])
        n_cases = int(g_out.poisson(sizes[k]))
        onset = start[k] - 1 + np.floor(g_out.lognormal(meanlog, sdlog, n_cases)).astype(np.int64)
        onset = onset[onset < n_days]
        spill = g_out.uniform(size=onset.size) < spill_share if n_regions > 1 else None
        targets = [(r, onset if spill is None else onset[~spill])]
        if spill is not None and spill.any():
            targets.append((int(np.argmin(dist[r])), onset[spill]))
        reports = np.zeros(n_src, dtype=np.int64)
        last = int(onset.max()) if onset.size else int(start[k]) - 1
        for region, days in targets:
            cases_by_day = np.bincount(days, minlength=n_days).astype(np.float64)
            for j, s in enumerate(sources):
                lag = np.arange(0, 31)
                pmf = stats.poisson.pmf(lag, s.delay) if s.delay > 0 else (lag == 0) * 1.0
                expected = np.convolve(cases_by_day, pmf)[:n_days]
                expected *= s.share * s.dow_factor()[weekday]
                drawn = g_rep.poisson(expected)
                counts[:, region, j] += drawn
                reports[j] += int(drawn.sum())
        state[int(start[k]) - 1 : last + 1, r] = True
        rows.append(
            {
                "outbreak": k + 1,
                "region": names[r],
                "column": r,
                "start": int(start[k]),
                "end": last + 1,
                "start_date": str(dates[int(start[k]) - 1]),
                "size": float(sizes[k]),
                "cases": int(onset.size),
                **{f"reports_{s.name}": int(reports[j]) for j, s in enumerate(sources)},
            }
        )
    outbreaks = pd.DataFrame(
        rows,
        columns=[
            "outbreak", "region", "column", "start", "end", "start_date", "size", "cases",
            *[f"reports_{s.name}" for s in sources],
        ],
    )  # fmt: skip
    return MultiSourceSimulation(
        counts=counts,
        sources=sources,
        regions=names,
        coords=coords,
        dates=dates,
        outbreaks=outbreaks,
        state=state,
        background_mean=mean,
        syndrome=syndrome,
    )
