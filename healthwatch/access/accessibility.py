"""Spatial accessibility of beds and physicians: 2SFCA and E2SFCA.

* 2SFCA (Luo & Wang 2003): ``R_j = S_j / sum_{k: d_kj <= d0} P_k`` (supply per person in the
  catchment of facility ``j``), then ``A_i = sum_{j: d_ij <= d0} R_j``.
* E2SFCA (Luo & Qi 2009): distance (or time) bands with weights ``W_r`` in both steps:
  ``R_j = S_j / sum_k P_k W(d_kj)``, ``A_i = sum_j R_j W(d_ij)``. Default bands (minutes)
  0-10 -> 1, 10-20 -> 0.68, 20-30 -> 0.22; :data:`DISTANCE_BANDS_KM` is a km analogue.

A distance on a band's upper edge belongs to that band (``d <= upper``), as in PySAL ``access``'s
step function; beyond the last edge the weight is 0. Distances come as a dense demand x supply
matrix or, for large problems, as a sparse :class:`~healthwatch.access.distance.Reach` built with
a radius at least the catchment (pairs beyond it weigh 0, so leaving them out is exact).

Units: ``A_i`` is supply per person (multiply by 1,000 for beds per 1,000). A facility with no
population in its catchment has ``R_j = 0`` (it serves nobody in the data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from healthwatch.access.distance import FloatArray, IntArray, Reach
from healthwatch.errors import InputError, Problem

Bands = Sequence[tuple[float, float]]

TIME_BANDS_MIN: tuple[tuple[float, float], ...] = ((10.0, 1.0), (20.0, 0.68), (30.0, 0.22))
"""Luo & Qi (2009) travel-time bands: (upper edge in minutes, weight)."""

DISTANCE_BANDS_KM: tuple[tuple[float, float], ...] = ((5.0, 1.0), (10.0, 0.68), (15.0, 0.22))
"""The same weights on distance bands (km), for use without a road network."""


@dataclass(frozen=True)
class FcaResult:
    """Facility ratios ``R`` (supply x resources) and accessibility ``A`` (demand x resources).

    With a 1-D supply the arrays are 1-D.
    """

    ratio: FloatArray
    access: FloatArray


def band_weights(distance: npt.ArrayLike, bands: Bands) -> FloatArray:
    """Weight of each distance: the first band with ``d <= upper`` gives its weight, else 0."""
    d = np.asarray(distance, dtype=float)
    uppers = np.array([b[0] for b in bands], dtype=float)
    weights = np.array([b[1] for b in bands], dtype=float)
    if uppers.size == 0 or np.any(np.diff(uppers) <= 0) or np.any(weights < 0):
        raise InputError(
            [
                Problem(
                    "bands must have strictly increasing upper edges and weights >= 0",
                    "距离分段的上界必须严格递增，权重必须不小于 0",
                    field="bands",
                )
            ]
        )
    idx = np.searchsorted(uppers, d, side="left")  # first upper >= d
    out = np.zeros(d.shape)
    inside = (idx < uppers.size) & np.isfinite(d)
    out[inside] = weights[idx[inside]]
    return out


def _triplets(distance: npt.ArrayLike | Reach) -> tuple[IntArray, IntArray, FloatArray, int, int]:
    if isinstance(distance, Reach):
        rows = np.repeat(np.arange(distance.n_demand), distance.counts)
        return rows, distance.indices, distance.distance, distance.n_demand, distance.n_sites
    d = np.asarray(distance, dtype=float)
    if d.ndim != 2:
        raise InputError(
            [Problem("distance must be a demand x supply matrix", "距离必须是需求点×机构矩阵")]
        )
    rows, cols = np.nonzero(np.isfinite(d))
    return rows, cols, d[rows, cols], d.shape[0], d.shape[1]


def _fca(
    population: npt.ArrayLike,
    supply: npt.ArrayLike,
    rows: IntArray,
    cols: IntArray,
    weight: FloatArray,
    n: int,
    m: int,
) -> FcaResult:
    pop = np.asarray(population, dtype=float)
    sup = np.asarray(supply, dtype=float)
    one_d = sup.ndim == 1
    sup2 = sup[:, None] if one_d else sup
    problems = []
    if pop.shape != (n,):
        problems.append(
            Problem(
                f"population has {pop.size} values for {n} demand points", "人口数与需求点数不符"
            )
        )
    if sup2.shape[0] != m:
        problems.append(
            Problem(f"supply has {sup2.shape[0]} rows for {m} facilities", "供给数与机构数不符")
        )
    if problems:
        raise InputError(problems)
    bad = np.flatnonzero(~np.isfinite(pop) | (pop < 0))
    if bad.size:
        raise InputError(
            [
                Problem(
                    f"demand row {i + 1}: population {pop[i]} must be >= 0",
                    f"第 {i + 1} 行需求点：人口 {pop[i]} 必须不小于 0",
                    field="population",
                )
                for i in bad[:50]
            ]
        )
    keep = weight > 0
    rows, cols, weight = rows[keep], cols[keep], weight[keep]
    demand_in_catchment = np.bincount(cols, weights=pop[rows] * weight, minlength=m)
    ratio = np.divide(
        sup2,
        demand_in_catchment[:, None],
        out=np.zeros(sup2.shape),
        where=demand_in_catchment[:, None] > 0,
    )
    access = np.zeros((n, sup2.shape[1]))
    for r in range(sup2.shape[1]):
        access[:, r] = np.bincount(rows, weights=ratio[cols, r] * weight, minlength=n)
    if one_d:
        return FcaResult(ratio[:, 0], access[:, 0])
    return FcaResult(ratio, access)


def two_sfca(
    population: npt.ArrayLike,
    supply: npt.ArrayLike,
    distance: npt.ArrayLike | Reach,
    catchment: float,
) -> FcaResult:
    """2SFCA with a single catchment ``d0`` (same unit as ``distance``; ``d <= d0`` inside)."""
    rows, cols, d, n, m = _triplets(distance)
    weight = (d <= catchment).astype(float)
    return _fca(population, supply, rows, cols, weight, n, m)


def e2sfca(
    population: npt.ArrayLike,
    supply: npt.ArrayLike,
    distance: npt.ArrayLike | Reach,
    bands: Bands = TIME_BANDS_MIN,
) -> FcaResult:
    """E2SFCA with weighted bands ``[(upper, weight), ...]`` (defaults: Luo & Qi, minutes)."""
    rows, cols, d, n, m = _triplets(distance)
    return _fca(population, supply, rows, cols, band_weights(d, bands), n, m)
