"""Inequality across regions: the WHO HEAT summary measures for non-ordered subgroups.

Regions (cities, counties) have no natural order, so HEAT's measures for non-ordered dimensions
apply (WHO Health Equity Assessment Toolkit, technical notes). With p_j the population share of
region j, y_j its value, mu = sum p_j y_j the population-weighted mean, y_ref the best region's
value (highest for a favourable indicator, lowest for an adverse one):

=========  ==============================  ===========================================
D          difference                      y_max - y_min (highest minus lowest region)
R          ratio                           y_max / y_min
MDB        mean difference from the best   sum p_j |y_j - y_ref|
MDM        mean difference from the mean   sum p_j |y_j - mu|
BGV        between-group variance          sum p_j (y_j - mu)^2
IDis       index of disparity              100 * sum p_j |y_j - mu| / mu
PAR        population attributable risk    y_ref - mu
PAF        ... fraction                    100 * (y_ref - mu) / mu
TI         Theil index                     sum p_j r_j ln r_j,  r_j = y_j / mu
MLD        mean log deviation              sum p_j (-ln r_j)
=========  ==============================  ===========================================

HEAT prints TI and MLD multiplied by 1,000; here they are plain (``theil * 1000`` for HEAT's
figure). All measures work on a (K, J) matrix: K indicator-years at once over J regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

MEASURES: tuple[str, ...] = (
    "difference",
    "ratio",
    "mean_difference_from_best",
    "mean_difference_from_mean",
    "between_group_variance",
    "index_of_disparity",
    "par",
    "paf",
    "theil",
    "mean_log_deviation",
)
MEASURE_ZH = {
    "difference": "差值（最高−最低）",
    "ratio": "比值（最大/最小）",
    "mean_difference_from_best": "与最佳地区的加权平均差",
    "mean_difference_from_mean": "与均值的加权平均差",
    "between_group_variance": "组间方差",
    "index_of_disparity": "差异指数",
    "par": "人群归因危险度",
    "paf": "人群归因分值（%）",
    "theil": "泰尔指数",
    "mean_log_deviation": "平均对数偏差",
}


@dataclass
class Inequality:
    """The measures for K rows (indicator-years); each field has shape (K,)."""

    mean: FloatArray
    best: FloatArray
    worst: FloatArray
    difference: FloatArray
    ratio: FloatArray
    mean_difference_from_best: FloatArray
    mean_difference_from_mean: FloatArray
    between_group_variance: FloatArray
    index_of_disparity: FloatArray
    par: FloatArray
    paf: FloatArray
    theil: FloatArray
    mean_log_deviation: FloatArray
    n_regions: NDArray[np.int64]

    def row(self, k: int) -> dict[str, float | int]:
        out: dict[str, float | int] = {m: float(getattr(self, m)[k]) for m in MEASURES}
        out.update(
            mean=float(self.mean[k]),
            best=float(self.best[k]),
            worst=float(self.worst[k]),
            n_regions=int(self.n_regions[k]),
        )
        return out


def heat_measures(
    values: FloatArray, population: FloatArray, direction: NDArray[np.int64] | int
) -> Inequality:
    """HEAT measures for each row of ``values`` (K, J); NaN values leave the region out.

    ``population`` is (J,) or (K, J) persons (shares are taken within the regions reporting);
    ``direction`` +1 where higher is better, -1 where lower is better (per row or one for all).
    """
    y = np.atleast_2d(np.asarray(values, dtype=float))
    k, j = y.shape
    pop = np.broadcast_to(np.asarray(population, dtype=float), (k, j))
    d = np.broadcast_to(np.asarray(direction), (k,))
    ok = ~np.isnan(y) & ~np.isnan(pop) & (pop > 0)
    w = np.where(ok, pop, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = w / w.sum(axis=1, keepdims=True)
        yy = np.where(ok, y, 0.0)
        mu = (p * yy).sum(axis=1)
        ymax = np.where(ok, y, -np.inf).max(axis=1)
        ymin = np.where(ok, y, np.inf).min(axis=1)
        best = np.where(d > 0, ymax, ymin)
        worst = np.where(d > 0, ymin, ymax)
        dev = np.where(ok, y - mu[:, None], 0.0)
        mdm = (p * np.abs(dev)).sum(axis=1)
        mdb = (p * np.abs(np.where(ok, y - best[:, None], 0.0))).sum(axis=1)
        bgv = (p * dev**2).sum(axis=1)
        r = np.where(ok, y / mu[:, None], 1.0)
        theil = (p * r * np.log(r)).sum(axis=1)
        mld = (p * -np.log(r)).sum(axis=1)
        ratio = ymax / ymin
    n = ok.sum(axis=1)
    none = n == 0
    nan = np.nan

    def f(a: FloatArray) -> FloatArray:
        return np.where(none, nan, a)

    return Inequality(
        mean=f(mu),
        best=f(best),
        worst=f(worst),
        difference=f(ymax - ymin),
        ratio=f(ratio),
        mean_difference_from_best=f(mdb),
        mean_difference_from_mean=f(mdm),
        between_group_variance=f(bgv),
        index_of_disparity=f(100 * mdm / mu),
        par=f(best - mu),
        paf=f(100 * (best - mu) / mu),
        theil=f(theil),
        mean_log_deviation=f(mld),
        n_regions=n.astype(np.int64),
    )


def rank_regions(values: FloatArray, direction: NDArray[np.int64] | int) -> NDArray[np.int64]:
    """Rank of each region in each row (1 = best; ties share the better rank; NaN -> 0)."""
    y = np.atleast_2d(np.asarray(values, dtype=float))
    d = np.broadcast_to(np.asarray(direction), (y.shape[0],))
    key = np.where(d[:, None] > 0, -y, y)
    key = np.where(np.isnan(key), np.inf, key)
    # rank = 1 + number of regions strictly better
    ranks = 1 + (key[:, None, :] < key[:, :, None]).sum(axis=2)
    return np.where(np.isnan(y), 0, ranks).astype(np.int64)
