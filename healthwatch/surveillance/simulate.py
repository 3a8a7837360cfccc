"""Series with known outbreaks, to measure how well a method detects them.

Two designs:

- :func:`simulate_noufaily`: the weekly design of Noufaily et al. (Stat Med 2013;32:1206), 42
  scenarios (7 parameter sets x trend {0, beta} x harmonics m {0, 1, 2}); 624 weeks; baseline
  negative binomial with mean mu(t) and variance phi*mu(t); four outbreaks starting in weeks
  313-575 (sizes k = 2, 3, 5, 10 baseline standard deviations) and, optionally, one starting in
  the evaluation weeks 576-624.
- :func:`simulate_daily`: a daily analogue with day-of-week effects (reporting dips at weekends),
  yearly seasonality and the same outbreak mechanism.

Outbreak cases: a Poisson(k x sd) number of cases, sd the baseline standard deviation
sqrt(phi x mu) at the start week; each case lands floor(LogNormal(meanlog, sdlog)) steps after the
start (meanlog 0, sdlog 0.5 weekly as in Noufaily). ``Counts.state`` marks every time point from
an outbreak's start to its last case. Everything is drawn with numpy Generators from one seed:
the baseline, the past outbreaks and the current outbreak use separate streams, so the series
with and without the current outbreak share the same baseline (common random numbers).

>>> sim = simulate_noufaily(1, n_series=3, seed=1)
>>> sim.counts.observed.shape, sim.counts.freq
((624, 3), 52)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance.series import Counts

__all__ = [
    "NOUFAILY_EVALUATION_WEEKS",
    "DailyDesign",
    "NoufailyScenario",
    "Simulation",
    "noufaily_scenarios",
    "simulate_daily",
    "simulate_noufaily",
]

#: the weeks on which Noufaily et al. measure POD and false positive rate (1-based, inclusive)
NOUFAILY_EVALUATION_WEEKS = (576, 624)

# (theta, beta, gamma1, gamma2, phi) of the seven base parameter sets
_NOUFAILY_SETS: tuple[tuple[float, float, float, float, float], ...] = (
    (0.1, 0.0025, 0.6, 0.6, 1.5),
    (-2.0, 0.005, 0.1, 0.3, 2.0),
    (1.5, 0.003, 0.2, -0.4, 1.0),
    (0.5, 0.002, 0.5, 0.5, 5.0),
    (2.5, 0.001, 1.0, 0.1, 3.0),
    (3.75, 0.001, 0.1, -0.1, 1.1),
    (5.0, 0.0001, 0.05, 0.01, 1.2),
)


@dataclass(frozen=True)
class NoufailyScenario:
    """One of the 42 scenarios. Numbered set by set; within a set trend 0 first, m = 0, 1, 2."""

    number: int
    parameter_set: int
    theta: float
    beta: float
    gamma1: float
    gamma2: float
    phi: float
    trend: bool
    m: int

    def mean(self, t: np.ndarray, period: float = 52.0) -> np.ndarray:
        """Baseline mean mu(t) at the 1-based time points ``t``."""
        eta = self.theta + (self.beta * t if self.trend else 0.0)
        for j in range(1, self.m + 1):
            eta = eta + self.gamma1 * np.cos(2 * np.pi * j * t / period)
            eta = eta + self.gamma2 * np.sin(2 * np.pi * j * t / period)
        return np.exp(eta) * np.ones_like(t, dtype=float)


def noufaily_scenarios() -> list[NoufailyScenario]:
    """All 42 scenarios, numbered 1..42."""
    out: list[NoufailyScenario] = []
    for s, (theta, beta, g1, g2, phi) in enumerate(_NOUFAILY_SETS, start=1):
        for trend in (False, True):
            for m in (0, 1, 2):
                out.append(NoufailyScenario(len(out) + 1, s, theta, beta, g1, g2, phi, trend, m))
    return out


@dataclass
class Simulation:
    """Simulated counts (with ``state`` marking outbreak cells) and the outbreaks drawn.

    outbreaks: one row per outbreak: series (name), column, start, end (last week with a case
    inside the series), k, cases (drawn), current (True for the outbreak in the evaluation weeks).
    """

    counts: Counts
    outbreaks: pd.DataFrame
    evaluation: tuple[int, int]
    label: str = ""


def _scenario(scenario: int | NoufailyScenario) -> NoufailyScenario:
    if isinstance(scenario, NoufailyScenario):
        return scenario
    if not 1 <= int(scenario) <= 42:
        raise InputError(
            [
                Problem(
                    f"Noufaily scenario must be 1..42, got {scenario}",
                    f"Noufaily 情景编号必须为 1..42，实际为 {scenario}",
                    field="scenario",
                )
            ]
        )
    return noufaily_scenarios()[int(scenario) - 1]


def _negative_binomial(gen: np.random.Generator, mu: np.ndarray, phi: float) -> np.ndarray:
    """Counts with mean mu and variance phi*mu (Poisson when phi == 1)."""
    if phi <= 1.0:
        return gen.poisson(mu).astype(np.float64)
    size = mu / (phi - 1.0)
    return gen.negative_binomial(size, 1.0 / phi).astype(np.float64)


def _add_outbreaks(
    gen: np.random.Generator,
    y: np.ndarray,
    state: np.ndarray,
    starts: np.ndarray,
    k: np.ndarray,
    sd: np.ndarray,
    meanlog: float,
    sdlog: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Add outbreaks to ``y`` in place. starts, k: (N, J) 1-based start times and sizes.

    Returns (cases per outbreak, last time point with a case) as (N, J) arrays.
    """
    n_times = y.shape[0]
    n_per = starts.shape[1]
    cases = gen.poisson(k * sd)
    flat_cases = cases.reshape(-1)
    total = int(flat_cases.sum())
    owner = np.repeat(np.arange(flat_cases.size), flat_cases)
    delay = np.floor(gen.lognormal(meanlog, sdlog, size=total)).astype(np.int64)
    when = starts.reshape(-1)[owner] - 1 + delay  # 0-based row
    col = owner // n_per
    inside = when < n_times
    np.add.at(y, (when[inside], col[inside]), 1.0)
    last = starts.reshape(-1).copy() - 1
    np.maximum.at(last, owner[inside], when[inside])
    last_2d = last.reshape(starts.shape)
    # mark start..last of every outbreak that has at least one case
    for j in range(n_per):
        has = cases[:, j] > 0
        a, b = starts[has, j] - 1, last_2d[has, j]
        rows = np.arange(n_times)[:, None]
        state[:, has] |= (rows >= a[None, :]) & (rows <= b[None, :])
    return cases, last_2d + 1


def _outbreak_rows(
    names: list[str],
    start: np.ndarray,
    end: np.ndarray,
    k: np.ndarray,
    cases: np.ndarray,
    current: bool,
) -> pd.DataFrame:
    """The outbreak table's rows for one outbreak in every series (column j = series j)."""
    return pd.DataFrame(
        {
            "series": names,
            "column": np.arange(len(names)),
            "start": start,
            "end": end,
            "k": k,
            "cases": cases,
            "current": current,
        }
    )


def _current_k(k_current: int | Sequence[int] | None, n_series: int) -> np.ndarray:
    """Size ``k`` of each series' current outbreak: the given value(s), else 1..10 in turn."""
    if k_current is None:
        return (1 + np.arange(n_series) % 10).astype(float)
    return np.broadcast_to(np.asarray(k_current, dtype=float), (n_series,)).copy()


def simulate_noufaily(
    scenario: int | NoufailyScenario,
    n_series: int = 100,
    *,
    seed: int | Sequence[int] = 0,
    current_outbreak: bool = True,
    k_current: int | Sequence[int] | None = None,
    n_weeks: int = 624,
    past_weeks: tuple[int, int] = (313, 575),
    past_k: Sequence[float] = (2, 3, 5, 10),
    current_weeks: tuple[int, int] = NOUFAILY_EVALUATION_WEEKS,
) -> Simulation:
    """``n_series`` replicates of one Noufaily scenario.

    k_current: the size of the outbreak in the evaluation weeks, in baseline standard
    deviations; by default replicate i gets k = 1 + (i mod 10), so POD can be read per k.
    With ``current_outbreak=False`` the same series (same seed) come without it, which is how
    the false positive rate on outbreak-free weeks is measured.
    """
    sc = _scenario(scenario)
    root = np.random.SeedSequence(seed)
    g_base, g_past, g_now = (np.random.default_rng(s) for s in root.spawn(3))
    t = np.arange(1, n_weeks + 1, dtype=np.float64)
    mu = sc.mean(t)
    y = _negative_binomial(g_base, np.broadcast_to(mu[:, None], (n_weeks, n_series)), sc.phi)
    state = np.zeros_like(y, dtype=bool)
    sd = np.sqrt(sc.phi * mu)
    k_past = np.broadcast_to(np.asarray(past_k, dtype=float), (n_series, len(past_k)))
    starts = g_past.integers(past_weeks[0], past_weeks[1] + 1, size=k_past.shape)
    past_cases, past_end = _add_outbreaks(
        g_past, y, state, starts, k_past, sd[starts - 1], 0.0, 0.5
    )
    names = [f"sc{sc.number}_r{i + 1}" for i in range(n_series)]
    rows = [
        _outbreak_rows(names, starts[:, j], past_end[:, j], k_past[:, j], past_cases[:, j], False)
        for j in range(k_past.shape[1])
    ]
    k_now = _current_k(k_current, n_series)
    now_start = g_now.integers(current_weeks[0], current_weeks[1] + 1, size=(n_series, 1))
    if current_outbreak:
        now_cases, now_end = _add_outbreaks(
            g_now, y, state, now_start, k_now[:, None], sd[now_start - 1], 0.0, 0.5
        )
        rows.append(
            _outbreak_rows(names, now_start[:, 0], now_end[:, 0], k_now, now_cases[:, 0], True)
        )
    counts = Counts.from_array(y, freq=52, start=(2000, 1), names=names, state=state)
    table = pd.concat(rows, ignore_index=True).sort_values(["column", "start"], kind="stable")
    return Simulation(
        counts, table.reset_index(drop=True), current_weeks, label=f"noufaily{sc.number}"
    )


@dataclass(frozen=True)
class DailyDesign:
    """Daily counts: NB(mu, phi*mu) with yearly seasonality, a trend and day-of-week effects.

    dow: relative level Monday..Sunday (the default is a weekday-heavy reporting pattern with
    weekend dips); they are normalised to a geometric mean of 1.
    """

    theta: float = 1.5
    beta: float = 0.0002
    gamma1: float = 0.4
    gamma2: float = 0.2
    phi: float = 1.5
    dow: tuple[float, ...] = (1.3, 1.15, 1.1, 1.05, 1.0, 0.7, 0.6)
    first_weekday: int = 0  # weekday of day 1 (0 = Monday)
    n_days: int = 4 * 365
    evaluation_days: int = 90
    past_k: tuple[float, ...] = (2, 3, 5, 10)
    meanlog: float = 1.0  # outbreak cases spread over ~e^1 days
    sdlog: float = 0.5

    def mean(self, t: np.ndarray) -> np.ndarray:
        eta = self.theta + self.beta * t
        eta = eta + self.gamma1 * np.cos(2 * np.pi * t / 365.25)
        eta = eta + self.gamma2 * np.sin(2 * np.pi * t / 365.25)
        dow = np.log(np.asarray(self.dow, dtype=float))
        dow = dow - dow.mean()
        weekday = (self.first_weekday + t.astype(np.int64) - 1) % 7
        return np.asarray(np.exp(eta + dow[weekday]))


def simulate_daily(
    n_series: int = 100,
    *,
    design: DailyDesign | None = None,
    seed: int | Sequence[int] = 0,
    current_outbreak: bool = True,
    k_current: int | Sequence[int] | None = None,
    **overrides: float,
) -> Simulation:
    """``n_series`` daily series of ``design`` (fields may be overridden by keyword).

    Past outbreaks start in the year before the evaluation days; the current one starts in the
    evaluation days (the last ``evaluation_days``).
    """
    d = replace(design or DailyDesign(), **overrides)  # type: ignore[arg-type]
    n = d.n_days
    eval_from = n - d.evaluation_days + 1
    if eval_from <= 366:
        raise InputError(
            [
                Problem(
                    f"n_days={n} leaves no year of history before {d.evaluation_days} "
                    "evaluation days",
                    f"n_days={n} 在 {d.evaluation_days} 个评估日之前不足一年历史",
                    field="n_days",
                )
            ]
        )
    root = np.random.SeedSequence(seed)
    g_base, g_past, g_now = (np.random.default_rng(s) for s in root.spawn(3))
    t = np.arange(1, n + 1, dtype=np.float64)
    mu = d.mean(t)
    y = _negative_binomial(g_base, np.broadcast_to(mu[:, None], (n, n_series)), d.phi)
    state = np.zeros_like(y, dtype=bool)
    sd = np.sqrt(d.phi * mu)
    k_past = np.broadcast_to(np.asarray(d.past_k, dtype=float), (n_series, len(d.past_k)))
    starts = g_past.integers(eval_from - 365, eval_from - 14, size=k_past.shape)
    past_cases, past_end = _add_outbreaks(
        g_past, y, state, starts, k_past, sd[starts - 1], d.meanlog, d.sdlog
    )
    names = [f"d_r{i + 1}" for i in range(n_series)]
    frames = [
        _outbreak_rows(names, starts[:, j], past_end[:, j], k_past[:, j], past_cases[:, j], False)
        for j in range(k_past.shape[1])
    ]
    k_now = _current_k(k_current, n_series)
    now_start = g_now.integers(eval_from, n + 1, size=(n_series, 1))
    if current_outbreak:
        cases, end = _add_outbreaks(
            g_now, y, state, now_start, k_now[:, None], sd[now_start - 1], d.meanlog, d.sdlog
        )
        frames.append(_outbreak_rows(names, now_start[:, 0], end[:, 0], k_now, cases[:, 0], True))
    epoch = np.datetime64("2020-01-06") + np.arange(n) + d.first_weekday
    counts = Counts.from_array(y, freq=365, start=(2020, 1), names=names, state=state, epoch=epoch)
    table = pd.concat(frames, ignore_index=True).sort_values(["column", "start"], kind="stable")
    return Simulation(counts, table.reset_index(drop=True), (eval_from, n), label="daily")
