"""Kulldorff's prospective space-time permutation scan statistic over counties.

Implemented from Kulldorff M, Heffernan R, Hartman J, Assunção R, Mostashari F. "A space-time
permutation scan statistic for disease outbreak detection", PLoS Med 2005;2(3):e59, and the
documented behaviour of prospective surveillance (recurrence intervals) in the SaTScan user
guide. No SaTScan code was looked at or ported.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> cases = rng.poisson(3.0, size=(60, 12))         # 60 days x 12 counties
>>> cases[-3:, :3] += 6                             # an outbreak in counties 0-2, last 3 days
>>> coords = np.column_stack([np.arange(12) * 0.3 + 121.0, np.full(12, 41.0)])
>>> result = space_time_permutation_scan(cases, coords, n_replicates=199, seed=1)
>>> top = result.clusters[0]
>>> sorted(top.regions), top.end_day, top.p_value <= 0.01
([0, 1, 2], 59, True)

The statistic, with ``c[d, z]`` the cases on day ``d`` in county ``z`` during the study period
and ``C`` their total:

- expected cases of a cell, conditioning on both margins: ``mu[d, z] = N_d N_z / C`` with
  ``N_d`` the day's total over all counties and ``N_z`` the county's total over all days; for a
  cylinder A (a set of counties Z times a window of days W) ``mu_A = (sum_Z N_z)(sum_W N_d)/C``.
- the Poisson generalised likelihood ratio of A, for ``c_A > mu_A`` (0 otherwise):
  ``LLR = c_A ln(c_A/mu_A) + (C - c_A) ln((C - c_A)/(C - mu_A))``.
- cylinders: circles around each county's centroid, growing by great-circle distance to the
  next centroid (counties at the same distance join together) while the circle holds at most
  ``max_spatial_share`` of all cases; windows of 1..``max_days`` days ending on the last day
  (prospective surveillance looks only at clusters still going on).
- significance: the maximum LLR over all cylinders is compared with the maxima of
  ``n_replicates`` data sets in which the days of the cases are shuffled among the cases, which
  keeps every day's total and every county's total (hence every ``mu``) fixed; the p-value is
  ``(1 + #replicates with max >= LLR) / (n_replicates + 1)``. Secondary clusters (no county in
  common with a more likely one) are judged against the same maxima, as Kulldorff does, which
  is conservative for them.
- recurrence interval: ``1 / (p x analyses per day)`` days, the expected time between clusters
  this unusual by chance when the scan is run that often (SaTScan user guide); with one analysis
  a day a p-value of 0.001 recurs once in 1,000 days.

Speed: a replicate needs only the cases of the last ``max_days`` days. Which cases fall on those
days is a draw without replacement from all cases, done as a partial Fisher-Yates shuffle of the
cases' county labels (undone afterwards, so every replicate starts from the same order and the
result does not depend on the number of threads); each replicate has its own random stream
derived from ``seed``. The scan of a replicate walks each circle outward once with running sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from healthwatch.errors import InputError, Problem
from healthwatch.jit import numba

__all__ = [
    "EARTH_RADIUS_KM",
    "Cluster",
    "ScanResult",
    "circles",
    "great_circle_km",
    "space_time_llr",
    "space_time_permutation_scan",
]

#: mean Earth radius (IUGG), km
EARTH_RADIUS_KM = 6371.0088
#: centroids whose distances from a centre differ by less than this (1 mm) are equally far
_TIE_KM = 1e-6


@dataclass(frozen=True)
class Cluster:
    """One space-time cluster: counties ``regions`` (indices into the columns of ``cases``) on
    days ``start_day..end_day`` (0-based rows of ``cases``, inclusive).

    center: index of the county whose centroid is the circle's centre; radius_km: distance from
    it to the farthest centroid inside. ``relative_risk`` = observed / expected inside.
    """

    regions: tuple[int, ...]
    center: int
    radius_km: float
    start_day: int
    end_day: int
    observed: int
    expected: float
    llr: float
    p_value: float
    recurrence_interval_days: float

    @property
    def relative_risk(self) -> float:
        return self.observed / self.expected if self.expected > 0 else float("inf")

    @property
    def n_days(self) -> int:
        return self.end_day - self.start_day + 1

    def to_dict(self, region_names: Sequence[str] | None = None) -> dict[str, Any]:
        """Plain JSON values; ``region_names`` (one per column of ``cases``) adds the names."""
        out: dict[str, Any] = {
            "regions": list(self.regions),
            "center": self.center,
            "radius_km": self.radius_km,
            "start_day": self.start_day,
            "end_day": self.end_day,
            "n_days": self.n_days,
            "observed": self.observed,
            "expected": self.expected,
            "relative_risk": self.relative_risk,
            "llr": self.llr,
            "p_value": self.p_value,
            "recurrence_interval_days": self.recurrence_interval_days,
        }
        if region_names is not None:
            out["region_names"] = [str(region_names[z]) for z in self.regions]
            out["center_name"] = str(region_names[self.center])
        return out


@dataclass
class ScanResult:
    """Clusters by decreasing LLR (most likely first, then secondary clusters sharing no county
    with a more likely one), the replicates' maximum LLRs and the settings used."""

    clusters: list[Cluster]
    replicate_llr: np.ndarray = field(repr=False)
    n_days: int
    n_regions: int
    total_cases: int
    n_candidates: int
    settings: dict[str, float | int] = field(default_factory=dict)

    @property
    def most_likely(self) -> Cluster | None:
        return self.clusters[0] if self.clusters else None

    def significant(self, alpha: float = 0.05) -> list[Cluster]:
        return [c for c in self.clusters if c.p_value <= alpha]

    def to_dict(self, region_names: Sequence[str] | None = None) -> dict[str, Any]:
        """Plain JSON values (no NaN): the clusters, the settings and the totals."""
        return {
            "clusters": [c.to_dict(region_names) for c in self.clusters],
            "n_days": self.n_days,
            "n_regions": self.n_regions,
            "total_cases": self.total_cases,
            "n_candidates": self.n_candidates,
            "n_replicates": int(self.replicate_llr.size),
            "settings": dict(self.settings),
        }


# -- geometry -----------------------------------------------------------------------------------


def great_circle_km(coords: np.ndarray) -> np.ndarray:
    """Haversine distances (km) between all pairs of ``[lon, lat]`` points in degrees."""
    lon = np.radians(coords[:, 0])
    lat = np.radians(coords[:, 1])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    d = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    np.fill_diagonal(d, 0.0)
    return np.asarray(d)


def circles(
    distances: np.ndarray,
    region_cases: np.ndarray,
    max_spatial_share: float,
    max_radius_km: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidate circles: for each centre, counties by increasing distance.

    Returns ``order`` (regions x regions: row i lists counties nearest-first from centre i, ties
    by index), ``valid`` (regions x regions bool: True at position k-1 when the k nearest
    counties form a circle, i.e. the k-th is nearer than the (k+1)-th (by more than 1 mm) and
    the circle holds at most ``max_spatial_share`` of all cases) and ``radius`` (distance to
    the k-th). Growth stops at the first circle above the share.
    """
    n = distances.shape[0]
    order = np.argsort(distances, axis=1, kind="stable")
    radius = np.take_along_axis(distances, order, axis=1)
    total = float(region_cases.sum())
    share = np.cumsum(region_cases[order], axis=1) / total if total > 0 else np.zeros((n, n))
    boundary = np.ones((n, n), dtype=bool)
    boundary[:, :-1] = radius[:, 1:] - radius[:, :-1] > _TIE_KM
    small = share <= max_spatial_share + 1e-12
    if max_radius_km is not None:
        small &= radius <= max_radius_km
    within = np.cumprod(small, axis=1).astype(bool)
    return order, boundary & within, radius


# -- statistic ----------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def _llr(c: float, mu: float, total: float) -> float:
    """Poisson GLR of a cylinder with c observed and mu expected out of total (0 unless c > mu)."""
    if c <= mu:
        return 0.0
    out = c * np.log(c / mu)
    rest = total - c
    if rest > 0.0:
        out += rest * np.log(rest / (total - mu))
    return out


def space_time_llr(c: float, mu: float, total: float) -> float:
    """The log-likelihood ratio of one cylinder (see the module docstring)."""
    return float(_llr(float(c), float(mu), float(total)))


@numba.njit(cache=True)
def _scan_max(
    window_cases: np.ndarray,
    order: np.ndarray,
    valid: np.ndarray,
    region_cases: np.ndarray,
    window_total: np.ndarray,
    total: float,
    min_cases: float,
) -> tuple[float, int, int, int]:
    """Maximum LLR over all circles x windows and where it is (centre, k, window length).

    window_cases[L-1, z]: cases of county z in the last L days; window_total[L-1]: cases of all
    counties in the last L days. Ties keep the first in (centre, k, L) order.
    """
    n = order.shape[0]
    n_len = window_cases.shape[0]
    best = 0.0
    bi, bk, bl = -1, -1, -1
    acc = np.zeros(n_len)
    for i in range(n):
        acc[:] = 0.0
        space = 0.0
        for k in range(n):
            z = order[i, k]
            space += region_cases[z]
            for w in range(n_len):
                acc[w] += window_cases[w, z]
            if valid[i, k]:
                for w in range(n_len):
                    c = acc[w]
                    if c >= min_cases:
                        v = _llr(c, space * window_total[w] / total, total)
                        if v > best:
                            best = v
                            bi, bk, bl = i, k + 1, w + 1
    return best, bi, bk, bl


@numba.njit(cache=True)
def _all_candidates(
    window_cases: np.ndarray,
    order: np.ndarray,
    valid: np.ndarray,
    region_cases: np.ndarray,
    window_total: np.ndarray,
    total: float,
    min_cases: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every cylinder with LLR > 0: centre, k, window length, observed, expected, LLR."""
    n = order.shape[0]
    n_len = window_cases.shape[0]
    m = int(valid.sum()) * n_len
    ci = np.empty(m, np.int64)
    ck = np.empty(m, np.int64)
    cl = np.empty(m, np.int64)
    co = np.empty(m)
    ce = np.empty(m)
    cv = np.empty(m)
    j = 0
    acc = np.zeros(n_len)
    for i in range(n):
        acc[:] = 0.0
        space = 0.0
        for k in range(n):
            z = order[i, k]
            space += region_cases[z]
            for w in range(n_len):
                acc[w] += window_cases[w, z]
            if valid[i, k]:
                for w in range(n_len):
                    c = acc[w]
                    mu = space * window_total[w] / total
                    v = _llr(c, mu, total) if c >= min_cases else 0.0
                    if v > 0.0:
                        ci[j], ck[j], cl[j], co[j], ce[j], cv[j] = i, k + 1, w + 1, c, mu, v
                        j += 1
    return ci[:j], ck[:j], cl[:j], co[:j], ce[:j], cv[:j]


@numba.njit(cache=True, inline="always")
def _splitmix(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    """One step of SplitMix64 (Steele, Lea, Flood 2014): new state and a 64-bit output."""
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def _replicate(
    labels: np.ndarray,
    swaps: np.ndarray,
    day_sizes: np.ndarray,
    n_regions: int,
    seed: np.uint64,
    window_cases: np.ndarray,
) -> None:
    """One permuted data set's last-days counts into ``window_cases`` (cumulative by window).

    day_sizes[j]: cases on the j-th last day (j = 0 is the last day). The first sum(day_sizes)
    positions of a partial Fisher-Yates shuffle of ``labels`` are a uniform draw without
    replacement of the cases landing on those days; the swaps are undone afterwards.
    """
    n_total = labels.shape[0]
    n_draw = swaps.shape[0]
    state = seed
    scale = 1.0 / 9007199254740992.0  # 2**-53
    for i in range(n_draw):
        state, r = _splitmix(state)
        u = float(r >> np.uint64(11)) * scale
        j = i + int(u * (n_total - i))
        swaps[i] = j
        tmp = labels[i]
        labels[i] = labels[j]
        labels[j] = tmp
    window_cases[:, :] = 0.0
    pos = 0
    for d in range(day_sizes.shape[0]):
        for _ in range(day_sizes[d]):
            window_cases[d, labels[pos]] += 1.0
            pos += 1
    for d in range(1, day_sizes.shape[0]):
        for z in range(n_regions):
            window_cases[d, z] += window_cases[d - 1, z]
    for i in range(n_draw - 1, -1, -1):
        j = swaps[i]
        tmp = labels[i]
        labels[i] = labels[j]
        labels[j] = tmp


@numba.njit(parallel=True, cache=True)
def _replicate_maxima(
    labels: np.ndarray,
    day_sizes: np.ndarray,
    seeds: np.ndarray,
    order: np.ndarray,
    valid: np.ndarray,
    region_cases: np.ndarray,
    window_total: np.ndarray,
    total: float,
    min_cases: float,
    n_blocks: int,
) -> np.ndarray:
    """Maximum LLR of each permuted data set; blocks of replicates run in parallel, each block
    with its own copy of the labels (restored after every replicate)."""
    n_rep = seeds.shape[0]
    n_regions = order.shape[0]
    n_draw = int(day_sizes.sum())
    out = np.empty(n_rep)
    for b in numba.prange(n_blocks):
        own = labels.copy()
        swaps = np.empty(n_draw, np.int64)
        wc = np.empty((day_sizes.shape[0], n_regions))
        for r in range(b, n_rep, n_blocks):
            _replicate(own, swaps, day_sizes, n_regions, seeds[r], wc)
            out[r] = _scan_max(wc, order, valid, region_cases, window_total, total, min_cases)[0]
    return out


# -- public function ----------------------------------------------------------------------------


def _check(
    cases: np.ndarray,
    coords: np.ndarray,
    max_spatial_share: float,
    max_days: int,
    n_replicates: int,
    study_days: int | None,
    analyses_per_day: float,
    max_radius_km: float | None = None,
) -> None:
    problems: list[Problem] = []

    def bad(en: str, zh: str, name: str) -> None:
        problems.append(Problem(en, zh, field=name))

    if cases.ndim != 2:
        bad(
            f"cases must be a 2-D array (days x regions), got {cases.ndim} dimensions",
            f"cases 必须是二维数组（天 × 地区），实际为 {cases.ndim} 维",
            "cases",
        )
    elif cases.size and (
        not np.all(np.isfinite(cases)) or cases.min() < 0 or np.any(cases != np.round(cases))
    ):
        bad(
            "cases must be non-negative integers without missing values",
            "cases 必须为非负整数且不能有缺失值",
            "cases",
        )
    if (
        coords.ndim != 2
        or coords.shape[1] != 2
        or (cases.ndim == 2 and len(coords) != cases.shape[1])
    ):
        bad(
            "coords must be a (regions x 2) array of longitude and latitude, one row per column "
            "of cases",
            "coords 必须是（地区 × 2）的经度、纬度数组，每行对应 cases 的一列",
            "coords",
        )
    elif not (np.all(np.abs(coords[:, 0]) <= 180) and np.all(np.abs(coords[:, 1]) <= 90)):
        bad(
            "coords must be longitude (-180..180) and latitude (-90..90) in degrees",
            "coords 必须为以度为单位的经度（-180..180）和纬度（-90..90）",
            "coords",
        )
    if not 0 < max_spatial_share <= 1:
        bad(
            f"max_spatial_share must be in (0, 1], got {max_spatial_share}",
            f"max_spatial_share 必须在 (0, 1] 之间，实际为 {max_spatial_share}",
            "max_spatial_share",
        )
    if int(max_days) != max_days or max_days < 1:
        bad(
            f"max_days must be an integer >= 1, got {max_days}",
            f"max_days 必须为不小于 1 的整数，实际为 {max_days}",
            "max_days",
        )
    if int(n_replicates) != n_replicates or n_replicates < 0:
        bad(
            f"n_replicates must be an integer >= 0 (999 or more for a p-value), got {n_replicates}",
            f"n_replicates 必须为不小于 0 的整数（计算 p 值应不少于 999），实际为 {n_replicates}",
            "n_replicates",
        )
    if study_days is not None and (int(study_days) != study_days or study_days < 1):
        bad(
            f"study_days must be an integer >= 1, got {study_days}",
            f"study_days 必须为不小于 1 的整数，实际为 {study_days}",
            "study_days",
        )
    if not analyses_per_day > 0:
        bad(
            f"analyses_per_day must be > 0, got {analyses_per_day}",
            f"analyses_per_day 必须大于 0，实际为 {analyses_per_day}",
            "analyses_per_day",
        )
    if max_radius_km is not None and not max_radius_km >= 0:
        bad(
            f"max_radius_km must be >= 0, got {max_radius_km}",
            f"max_radius_km 必须不小于 0，实际为 {max_radius_km}",
            "max_radius_km",
        )
    if problems:
        raise InputError(problems)


def space_time_permutation_scan(
    cases: np.ndarray,
    coords: np.ndarray,
    *,
    max_spatial_share: float = 0.5,
    max_days: int = 7,
    n_replicates: int = 999,
    seed: int = 0,
    study_days: int | None = None,
    min_cases: int = 2,
    analyses_per_day: float = 1.0,
    max_clusters: int | None = 10,
    max_radius_km: float | None = None,
) -> ScanResult:
    """Prospective space-time permutation scan of daily counts (see the module docstring).

    cases: (days x regions) non-negative integer counts, the last row being the analysis day.
    coords: (regions x 2) centroid longitude and latitude in degrees (WGS84).
    max_spatial_share: largest share of the study period's cases a circle may hold.
    max_days: longest window (days ending on the last day).
    n_replicates: Monte Carlo replicates (999 or more for reporting; 0 gives p-values of 1).
    study_days: use only the last ``study_days`` rows as the study period (default all); the
      expected counts are conditioned on this period's margins.
    min_cases: a cylinder needs at least this many cases to count (SaTScan's default is 2).
    analyses_per_day: how often the scan is run, for the recurrence interval (1 = daily).
    max_clusters: how many clusters to report (None: every non-overlapping one with LLR > 0).
    max_radius_km: optionally also cap a circle's radius (SaTScan's maximum circle size in km),
      so that a large rural county does not pull in a whole city's districts.
    """
    cases = np.asarray(cases)
    coords = np.asarray(coords, dtype=np.float64)
    _check(
        cases,
        coords,
        max_spatial_share,
        max_days,
        n_replicates,
        study_days,
        analyses_per_day,
        max_radius_km,
    )
    if study_days is not None:
        cases = cases[-int(study_days) :]
    counts = cases.astype(np.int64)
    n_days, n_regions = counts.shape
    max_days = int(min(max_days, n_days))
    total = int(counts.sum())
    settings: dict[str, float | int] = {
        "max_spatial_share": float(max_spatial_share),
        "max_days": max_days,
        "n_replicates": int(n_replicates),
        "seed": int(seed),
        "min_cases": int(min_cases),
        "analyses_per_day": float(analyses_per_day),
    }
    if max_radius_km is not None:
        settings["max_radius_km"] = float(max_radius_km)
    if total == 0 or n_regions == 0:
        return ScanResult([], np.zeros(0), n_days, n_regions, total, 0, settings)

    region_cases = counts.sum(axis=0).astype(np.float64)
    day_cases = counts.sum(axis=1)
    recent = counts[::-1][:max_days].astype(np.float64)  # row j: the j-th last day
    window_cases = np.cumsum(recent, axis=0)
    window_total = window_cases.sum(axis=1)
    distances = great_circle_km(coords)
    order, valid, radius = circles(distances, region_cases, max_spatial_share, max_radius_km)

    ci, ck, cl, co, ce, cv = _all_candidates(
        window_cases, order, valid, region_cases, window_total, float(total), float(min_cases)
    )

    if n_replicates > 0:
        labels = np.repeat(np.arange(n_regions, dtype=np.int32), counts.sum(axis=0))
        day_sizes = day_cases[::-1][:max_days].astype(np.int64)
        seeds = np.random.SeedSequence(seed).generate_state(int(n_replicates), dtype=np.uint64)
        # one copy of the labels per block: as many blocks as threads bounds the memory
        n_blocks = max(1, min(int(n_replicates), numba.get_num_threads()))
        maxima = _replicate_maxima(
            labels,
            day_sizes,
            seeds,
            order,
            valid,
            region_cases,
            window_total,
            float(total),
            float(min_cases),
            n_blocks,
        )
    else:
        maxima = np.zeros(0)
    sorted_maxima = np.sort(maxima)

    clusters: list[Cluster] = []
    taken = np.zeros(n_regions, dtype=bool)
    limit = n_regions if max_clusters is None else int(max_clusters)
    for j in np.argsort(-cv, kind="stable"):
        if len(clusters) >= limit:
            break
        members = order[ci[j], : ck[j]]
        if taken[members].any():
            continue
        taken[members] = True
        llr = float(cv[j])
        # replicates with a maximum >= llr (a relative tolerance absorbs rounding of equal sums)
        exceed = maxima.size - np.searchsorted(sorted_maxima, llr * (1 - 1e-12), side="left")
        p = (1.0 + exceed) / (maxima.size + 1.0)
        clusters.append(
            Cluster(
                regions=tuple(int(z) for z in np.sort(members)),
                center=int(ci[j]),
                radius_km=float(radius[ci[j], ck[j] - 1]),
                start_day=n_days - int(cl[j]),
                end_day=n_days - 1,
                observed=round(float(co[j])),
                expected=float(ce[j]),
                llr=llr,
                p_value=float(p),
                recurrence_interval_days=float(1.0 / (p * analyses_per_day)),
            )
        )
    return ScanResult(
        clusters, maxima, n_days, n_regions, total, int(valid.sum()) * max_days, settings
    )
