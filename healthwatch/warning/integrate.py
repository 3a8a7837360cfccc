"""The platform's only two calls into the pure fusion and scan methods.

Why a seam: the multi-point fusion (:mod:`healthwatch.warning.fusion`) and Kulldorff's
space-time permutation scan (:mod:`healthwatch.warning.scan`) are pure methods developed on their
own; the platform (runs, store, alerts) calls each through exactly one function here, which turns
their results into plain dicts (JSON-ready) that the services store as alerts and evidence.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from healthwatch.regions.hierarchy import full_names
from healthwatch.warning.catalogue import SOURCES, SYNDROMES

if TYPE_CHECKING:
    from healthwatch.warning.fusion import FusionRules

__all__ = [
    "could_fuse",
    "default_rules",
    "fuse",
    "reason_names",
    "region_names_en",
    "scan_clusters",
]


def _iso(value: Any) -> str:
    if isinstance(value, (date, np.datetime64, pd.Timestamp)):
        return str(pd.Timestamp(value).date())
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.datetime64, pd.Timestamp, date)):
        return str(pd.Timestamp(value).date())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@lru_cache(maxsize=1)
def region_names_en() -> dict[str, str]:
    """Adcode -> the English reader's name of a region: ``鞍山市铁东区 (210302)``.

    Why the code: the region hierarchy names regions in Chinese only (as the pages do, see
    ``healthwatch.web.api_warning.region_label``), so the code lets a reader look the name up.
    """
    return {code: f"{name} ({code})" for code, name in full_names().items()}


def reason_names() -> tuple[Mapping[str, str], Mapping[str, str]]:
    """(zh, en) code -> name lookups of sources, syndromes and regions for the reason texts
    (:mod:`healthwatch.warning.reasons`), without importing the fusion method (scipy)."""
    return (
        ChainMap(
            {c: s.name_zh for c, s in SOURCES.items()},
            {c: s.name_zh for c, s in SYNDROMES.items()},
            full_names(),
        ),
        ChainMap(
            {c: s.name_en for c, s in SOURCES.items()},
            {c: s.name_en for c, s in SYNDROMES.items()},
            region_names_en(),
        ),
    )


def default_rules() -> FusionRules:
    """The fusion rules the platform uses: the method's defaults with the catalogue's names
    (sources, syndromes) and the regions' names, so the reasons read with names, not codes."""
    from healthwatch.warning.fusion import FusionRules

    return FusionRules(
        source_names_zh={code: s.name_zh for code, s in SOURCES.items()},
        source_names_en={code: s.name_en for code, s in SOURCES.items()},
        syndrome_names_zh={code: s.name_zh for code, s in SYNDROMES.items()},
        syndrome_names_en={code: s.name_en for code, s in SYNDROMES.items()},
        region_names_zh=full_names(),
        region_names_en=region_names_en(),
    )


def fuse(
    signals: pd.DataFrame,
    neighbours: Mapping[str, set[str]],
    rules: FusionRules | None = None,
) -> list[dict[str, Any]]:
    """Alerts from the signals of a window, one plain dict each (evidence included).

    ``signals`` has columns region, date, source, syndrome, p_value, score, single_case (and
    any others, kept in the evidence). Calls :func:`healthwatch.warning.fusion.fuse_signals`.
    """
    if signals.empty:
        return []
    from healthwatch.warning.fusion import fuse_signals  # scipy.stats: only when needed

    rules = rules or default_rules()
    useful = signals[could_fuse(signals, neighbours, rules)]
    fused = fuse_signals(useful, dict(neighbours), rules) if len(useful) else []
    out = []
    for alert in fused:
        d = alert.to_dict()
        d["p_value"] = d.pop("p_combined")
        d["signals"] = [{k: _jsonable(v) for k, v in row.items()} for row in d["signals"]]
        d["regions"] = sorted(set(d.get("regions") or []) | {d["region"]})
        out.append(d)
    return out


def could_fuse(
    signals: pd.DataFrame, neighbours: Mapping[str, set[str]], rules: FusionRules
) -> np.ndarray:
    """Which signals can take part in an alert (a boolean mask); the others cannot.

    Why: the fusion method costs tens of milliseconds per county and syndrome, and on a
    province's day most signals are lone signals of one source that no rule can turn into an
    alert. A regular alert for county R needs a signal in R and at least ``min_sources``
    independent sources among R and (with ``include_neighbours``) its neighbours within the
    window; a signal in county C is only ever evidence for C itself or for a county that has C
    as a neighbour. So a signal is kept when C or one of those counties has enough sources in
    the window (counted over the whole window, a superset of any episode) or when it is a
    single-case signal. Dropping the others changes no alert (a test compares both).
    """
    single = signals["single_case"].fillna(False).astype(bool).to_numpy()
    regular = signals[~single]
    group_of = dict(rules.source_groups)
    sources: dict[tuple[str, str], set[str]] = {}
    for (syndrome, region), part in regular.groupby(["syndrome", "region"], sort=False):
        sources[(str(syndrome), str(region))] = {group_of.get(s, s) for s in part["source"]}
    reverse: dict[str, set[str]] = {}
    for county, near in neighbours.items():
        for n in near:
            reverse.setdefault(str(n), set()).add(str(county))

    def around(region: str) -> set[str]:
        if not rules.include_neighbours:
            return {region}
        return {region} | {str(n) for n in neighbours.get(region, set())}

    qualifies = set()
    for syndrome, region in sources:
        found: set[str] = set()
        for place in around(region):
            found |= sources.get((syndrome, place), set())
        if len(found) >= rules.min_sources:
            qualifies.add((syndrome, region))
    useful = set()
    for syndrome, region in sources:
        users = {region} | (reverse.get(region, set()) if rules.include_neighbours else set())
        if any((syndrome, u) in qualifies for u in users):
            useful.add((syndrome, region))
    keys = list(zip(signals["syndrome"].astype(str), signals["region"].astype(str), strict=True))
    return single | np.array([k in useful for k in keys], dtype=bool)


def scan_clusters(
    cases: np.ndarray,
    coords: np.ndarray,
    *,
    max_spatial_share: float = 0.5,
    max_days: int = 7,
    n_replicates: int = 999,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Kulldorff's prospective space-time permutation scan over counties.

    ``cases`` is (days, regions); returns the clusters (region indices, start and end day
    indices, observed, expected, llr, p_value, recurrence_interval_days), most likely first.
    """
    from healthwatch.warning.scan import space_time_permutation_scan  # numba: only when needed

    result = space_time_permutation_scan(
        cases,
        coords,
        max_spatial_share=max_spatial_share,
        max_days=max_days,
        n_replicates=n_replicates,
        seed=seed,
    )
    return [
        {
            "regions": [int(r) for r in c.regions],
            "center": int(c.center),
            "radius_km": float(c.radius_km),
            "start_day": int(c.start_day),
            "end_day": int(c.end_day),
            "observed": float(c.observed),
            "expected": float(c.expected),
            "llr": float(c.llr),
            "p_value": float(c.p_value),
            "recurrence_interval_days": _jsonable(float(c.recurrence_interval_days)),
        }
        for c in result.clusters
    ]
