"""The platform's only two calls into the pure fusion and scan methods.

Why a seam: the multi-point fusion (:mod:`healthwatch.warning.fusion`) and Kulldorff's
space-time permutation scan (:mod:`healthwatch.warning.scan`) are pure methods developed on their
own; the platform (runs, store, alerts) calls each through exactly one function here, which turns
their results into plain dicts the services store. If a build lacks the fusion module, a plain
interim rule is used and says so in every alert it makes (``method`` ``"interim-grouping"``):
signals of one county and syndrome in the window become one alert, p-values combined by
Fisher's method (which assumes independent sources), level by the number of sources; single-case
diseases red. Without the scan module, :func:`scan_clusters` refuses with a clear message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import combine_pvalues

from healthwatch.errors import HealthwatchError

__all__ = ["fuse", "scan_clusters"]

LEVELS = ("blue", "yellow", "orange", "red")


def _iso(value: Any) -> str:
    if isinstance(value, (date, np.datetime64, pd.Timestamp)):
        return str(pd.Timestamp(value).date())
    return str(value)


def fuse(
    signals: pd.DataFrame, neighbours: Mapping[str, set[str]], rules: Any = None
) -> list[dict[str, Any]]:
    """Alerts from the signals of a window: one dict per alert (see the module docstring).

    ``signals`` has columns region, date, source, syndrome, p_value, score, single_case.
    """
    if signals.empty:
        return []
    try:
        from healthwatch.warning import fusion
    except ImportError:
        return _interim_fuse(signals)
    fused = fusion.fuse_signals(
        signals, dict(neighbours), rules if rules is not None else fusion.FusionRules()
    )
    out = []
    for a in fused:
        evidence = a.signals
        if isinstance(evidence, pd.DataFrame):
            evidence = evidence.to_dict("records")
        out.append(
            {
                "region": a.region,
                "syndrome": a.syndrome,
                "first_date": _iso(a.first_date),
                "last_date": _iso(a.last_date),
                "sources": sorted(a.sources),
                "signals": [{k: _jsonable(v) for k, v in dict(s).items()} for s in evidence],
                "p_value": float(a.p_combined) if a.p_combined is not None else None,
                "method": str(a.method),
                "level": str(a.level),
                "reason_zh": a.reason_zh,
                "reason_en": a.reason_en,
            }
        )
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.datetime64, pd.Timestamp, date)):
        return _iso(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _interim_fuse(signals: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    records = [{k: _jsonable(v) for k, v in row.items()} for row in signals.to_dict("records")]
    for (region, syndrome), index in signals.groupby(
        ["region", "syndrome"], sort=True
    ).indices.items():
        group = signals.iloc[index]
        sources = sorted(set(group["source"]))
        single = bool(group["single_case"].any())
        p = group["p_value"].to_numpy(dtype=float)
        p = np.clip(p[np.isfinite(p)], 1e-300, 1.0)
        combined = float(combine_pvalues(p, method="fisher").pvalue) if p.size > 1 else None
        if combined is None and p.size:
            combined = float(p[0])
        level = "red" if single else LEVELS[min(len(sources), 3) - 1]
        out.append(
            {
                "region": str(region),
                "syndrome": str(syndrome),
                "first_date": _iso(group["date"].min()),
                "last_date": _iso(group["date"].max()),
                "sources": sources,
                "signals": [records[i] for i in index],
                "p_value": combined,
                "method": "interim-grouping",
                "level": level,
                "reason_zh": f"{len(sources)} 个来源在窗口内发出信号"
                + ("（单病例即预警病种）" if single else ""),
                "reason_en": f"{len(sources)} source(s) signalled in the window"
                + (" (single-case disease)" if single else ""),
            }
        )
    return out


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
    try:
        from healthwatch.warning import scan
    except ImportError:
        raise HealthwatchError(
            "The space-time scan is not part of this build yet.",
            "本版本尚未包含时空扫描统计量。",
        ) from None
    result = scan.space_time_permutation_scan(
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
