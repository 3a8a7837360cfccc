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


def _rate(num: pd.Series, den: pd.Series | None, ind: IndicatorDefinition) -> pd.Series:
    if den is None:
        return num.astype(float)
    d = den.astype(float)
    return num.astype(float) / d.where(d > 0) * ind.factor


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
    """
    values = values[values["element"].isin({*ind.elements(), ind.code})]
    if periods is None:
        periods = sorted(values["period"].unique().tolist())
    wide = values.pivot_table(
        index=["region", "period"], columns="element", values="value", aggfunc="last"
    )
    for col in {*ind.elements(), ind.code}:
        if col not in wide:
            wide[col] = np.nan
    reg = regions.set_index("adcode")
    level = reg["level"]
    parent = reg["parent"]
    counties = level.index[level.eq("county")]
    # every county x period, so that non-reporting counties count in completeness
    grid = pd.MultiIndex.from_product([counties, periods], names=["region", "period"])
    cw = wide.reindex(grid)
    if ind.direct:
        reported = cw[ind.elements()[0]].notna()
    else:
        reported = cw[list(ind.elements())].notna().all(axis=1)
    cframe = pd.DataFrame(
        {
            "county": grid.get_level_values(0),
            "period": grid.get_level_values(1),
            "num": cw[ind.elements()[0]].to_numpy(dtype=float),
            "den": (
                cw[ind.denominator].to_numpy(dtype=float)
                if ind.denominator is not None
                else np.ones(len(cw))
            ),
            "reported": reported.to_numpy(),
        }
    )
    cframe["city"] = cframe["county"].map(parent)
    cframe["province"] = cframe["city"].map(parent)
    parts = []
    for key in ("county", "city", "province"):
        g = cframe.assign(
            num=cframe["num"].where(cframe["reported"], 0.0),
            den=cframe["den"].where(cframe["reported"], 0.0),
        ).groupby([key, "period"])
        agg = pd.DataFrame(
            {
                "numerator": g["num"].sum(),
                "denominator": g["den"].sum(),
                "counties_reported": g["reported"].sum(),
                "counties_total": g["reported"].size(),
                "missing_counties": cframe[~cframe["reported"]]
                .groupby([key, "period"])["county"]
                .agg(sorted),
            }
        )
        agg.index = agg.index.set_names(["region", "period"])
        parts.append(agg)
    agg = pd.concat(parts)
    agg = agg[~agg.index.duplicated(keep="first")]
    all_regions = pd.MultiIndex.from_product(
        [level.index, periods], names=["region", "period"]
    )
    out = agg.reindex(all_regions)
    out["counties_reported"] = out["counties_reported"].fillna(0).astype(int)
    out["counties_total"] = out["counties_total"].fillna(0).astype(int)
    out["missing_counties"] = [
        m if isinstance(m, list) else [] for m in out["missing_counties"].tolist()
    ]
    if ind.direct:
        out["aggregate"] = np.nan
        out["numerator"] = np.nan
        out["denominator"] = np.nan
    else:
        has = out["counties_reported"] > 0
        rate = _rate(out["numerator"], out["denominator"] if ind.denominator else None, ind)
        out["aggregate"] = rate.where(has)
        out.loc[~has, ["numerator", "denominator"]] = np.nan
        if ind.denominator is None:
            out["denominator"] = np.nan
    own_wide = wide.reindex(all_regions)
    if ind.direct:
        computed = own_wide[ind.elements()[0]]
    else:
        computed = _rate(
            own_wide[ind.elements()[0]],
            own_wide[ind.denominator] if ind.denominator else None,
            ind,
        )
    reported_own = own_wide[ind.code] if ind.code not in ind.elements() else computed * np.nan
    out["own"] = computed.where(computed.notna(), reported_own)
    out["own_source"] = np.where(
        computed.notna(), "counts" if not ind.direct else "value",
        np.where(reported_own.notna(), "reported", None),
    )
    out["completeness"] = np.where(
        out["counties_total"] > 0, out["counties_reported"] / out["counties_total"].clip(lower=1),
        np.nan,
    )
    out["gap"] = out["own"] - out["aggregate"]
    rel = out["gap"].abs() / out["aggregate"].abs().where(out["aggregate"].abs() > 0)
    out["gap_finding"] = (rel > tolerance).fillna(False)
    out = out.reset_index()
    out["level"] = out["region"].map(level)
    out["indicator"] = ind.code
    order = {"province": 0, "city": 1, "county": 2}
    out = out.sort_values(
        ["period", "level", "region"], key=lambda s: s.map(order) if s.name == "level" else s
    )
    return out[COLUMNS].reset_index(drop=True)


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows (NaN -> None)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for r in records:
        for key in ("counties_reported", "counties_total"):
            if r.get(key) is not None:
                r[key] = int(r[key])
        if r.get("gap_finding") is not None:
            r["gap_finding"] = bool(r["gap_finding"])
    return records
