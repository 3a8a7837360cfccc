"""Aggregation of an indicator up the hierarchy: county -> city -> province, from counts.

A city's infant mortality is the sum of its counties' infant deaths over the sum of their live
births x 1000, never the mean of the county rates (which would weigh a county of 30,000 people
like one of 900,000). Only counties that reported both numerator and denominator enter the sums,
and every aggregate says how many of the counties under it did (completeness), so an aggregate
from 6 of 7 counties is never mistaken for the whole. A parent's own figure (its own reported
counts, or a rate it reported itself, e.g. a baseline in its plan) is shown beside the aggregate;
a relative gap above ``tolerance`` is a finding.

Pure pandas on a long table; no database (see :mod:`healthwatch.services.data`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from healthwatch.data.elements import IndicatorDefinition

__all__ = ["GAP_TOLERANCE", "aggregate_indicator"]

GAP_TOLERANCE = 0.01  # relative difference between own figure and aggregate that is a finding

COLUMNS = [
    "region",
    "level",
    "period",
    "indicator",
    "own",
    "own_source",
    "aggregate",
    "numerator",
    "denominator",
    "counties_reported",
    "counties_total",
    "completeness",
    "missing_counties",
    "gap",
    "gap_finding",
]


def _rate(num: np.ndarray, den: np.ndarray | None, ind: IndicatorDefinition) -> np.ndarray:
    if den is None:
        return num.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0) * ind.factor, np.nan)


def aggregate_indicator(
    values: pd.DataFrame,
    ind: IndicatorDefinition,
    regions: pd.DataFrame,
    periods: list[str] | None = None,
    tolerance: float = GAP_TOLERANCE,
) -> pd.DataFrame:
    """One row per region and period: own figure, aggregate of counties, completeness, gap.

    ``values``: long table region, period, element, value (current values; the indicator's
    elements and, for reported figures, its own code). ``regions``: adcode, level, parent.
    Computed on arrays (regions x periods); a few milliseconds for a whole province.
    """
    codes = list(dict.fromkeys([*ind.elements(), ind.code]))
    values = values[values["element"].isin(codes)]
    if periods is None:
        periods = sorted(values["period"].unique().tolist())
    adcodes = regions["adcode"].tolist()
    level = dict(zip(adcodes, regions["level"], strict=True))
    parent = dict(zip(adcodes, regions["parent"], strict=True))
    r_index = pd.Index(adcodes)
    n_r, n_p = len(adcodes), len(periods)
    grid = np.full((len(codes), n_r, n_p), np.nan)
    ri = r_index.get_indexer(values["region"])
    pi = pd.Index(periods).get_indexer(values["period"])
    ei = pd.Index(codes).get_indexer(values["element"])
    ok = (ri >= 0) & (pi >= 0)
    grid[ei[ok], ri[ok], pi[ok]] = values["value"].to_numpy(dtype=float)[ok]
    num = grid[0]
    den = grid[codes.index(ind.denominator)] if ind.denominator else None
    reported = ~np.isnan(num) if den is None else ~np.isnan(num) & ~np.isnan(den)
    # which counties lie under each region (itself for a county)
    is_county = np.array([level[a] == "county" for a in adcodes])
    member = np.zeros((n_r, n_r), dtype=bool)
    for j, a in enumerate(adcodes):
        if not is_county[j]:
            continue
        node: str | None = a
        while node is not None:
            member[r_index.get_loc(node), j] = True
            up = parent.get(node)
            node = up if isinstance(up, str) and up in level else None
    m = member.astype(float)
    rep = reported & is_county[:, None]
    num0 = np.where(rep, num, 0.0)
    counties_reported = m @ rep.astype(float)
    counties_total = np.repeat(member.sum(axis=1)[:, None], n_p, axis=1).astype(float)
    num_sum = m @ num0
    den_sum = m @ np.where(rep, den, 0.0) if den is not None else None
    has = counties_reported > 0
    if ind.direct:
        aggregate = np.full((n_r, n_p), np.nan)
        num_out = den_out = np.full((n_r, n_p), np.nan)
    else:
        aggregate = np.where(has, _rate(num_sum, den_sum, ind), np.nan)
        num_out = np.where(has, num_sum, np.nan)
        den_out = (
            np.where(has, den_sum, np.nan) if den_sum is not None else np.full_like(num_out, np.nan)
        )
    computed = _rate(num, den, ind)
    reported_own = grid[codes.index(ind.code)] if ind.code not in ind.elements() else None
    own = computed.copy()
    source = np.full(computed.shape, None, dtype=object)
    source[~np.isnan(computed)] = "value" if ind.direct else "counts"
    if reported_own is not None:
        use = np.isnan(computed) & ~np.isnan(reported_own)
        own[use] = reported_own[use]
        source[use] = "reported"
    with np.errstate(divide="ignore", invalid="ignore"):
        completeness = np.where(counties_total > 0, counties_reported / counties_total, np.nan)
        gap = own - aggregate
        rel = np.abs(gap) / np.where(np.abs(aggregate) > 0, np.abs(aggregate), np.nan)
    finding = np.nan_to_num(rel, nan=0.0) > tolerance
    missing: list[list[str]] = []
    county_idx = np.flatnonzero(is_county)
    for i in range(n_r):
        under = county_idx[member[i, county_idx]]
        for k in range(n_p):
            missing.append([adcodes[j] for j in under if not reported[j, k]])
    order = {"province": 0, "city": 1, "county": 2}
    frame = pd.DataFrame(
        {
            "region": np.repeat(adcodes, n_p),
            "level": np.repeat([level[a] for a in adcodes], n_p),
            "period": np.tile(periods, n_r),
            "indicator": ind.code,
            "own": own.ravel(),
            "own_source": source.ravel(),
            "aggregate": aggregate.ravel(),
            "numerator": num_out.ravel(),
            "denominator": den_out.ravel(),
            "counties_reported": counties_reported.ravel().astype(int),
            "counties_total": counties_total.ravel().astype(int),
            "completeness": completeness.ravel(),
            "missing_counties": missing,
            "gap": gap.ravel(),
            "gap_finding": finding.ravel(),
        }
    )
    rank = frame["level"].map(order).to_numpy()
    sort = np.lexsort((frame["region"].to_numpy(), rank, frame["period"].to_numpy()))
    return frame.iloc[sort].reset_index(drop=True)[COLUMNS]


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows (NaN -> None), built column by column."""
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype.kind == "f":
            arr = col.to_numpy()
            columns[name] = [None if v != v else float(v) for v in arr.tolist()]
        elif col.dtype.kind in "iu":
            columns[name] = [int(v) for v in col.tolist()]
        elif col.dtype.kind == "b":
            columns[name] = [bool(v) for v in col.tolist()]
        else:
            columns[name] = col.tolist()
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
