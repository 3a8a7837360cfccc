"""One day's detection over many configured series: pure functions on arrays.

Why grouped: a province watches tens of thousands of series, and the detection engine is
vectorised over series. Calling it once per series would spend the day in Python overhead; so
series whose configurations share method and parameters are stacked into one
:class:`~healthwatch.surveillance.Counts` matrix (days x series) and the engine is called once per
group, evaluating only the last day (``range=[T]``). The engine can run the group on a Dask
cluster (``client=``) with the same result.

A signal is a series whose method alarms on the day. Each carries a one-sided p-value so that
signals from different sources can be combined (Fisher/Stouffer in the fusion step):

- EARS C1/C2: the score is the standardised excess ``(x - mean) / sd``, so ``p = 1 - Phi(score)``;
- other count methods: the Poisson upper tail ``P(X >= x | mean = expected)``, a plain
  statement of how surprising the count is (for the CIDARS moving percentile method ``x`` is
  the 7-day sum and ``expected`` the median of the baseline 7-day sums);
- CIDARS fixed-threshold diseases: every case is a signal of its own, ``single_case`` True and
  ``p = 0`` (they go straight to red).

>>> import numpy as np
>>> cfg = DetectionConfig("cholera", "notifiable", "cidars_fixed", {})
>>> m = np.zeros((1, 3)); m[0, 1] = 2
>>> group = SeriesGroup(cfg, m, ["210102", "210103", "210104"])
>>> s = detect_day([group], np.datetime64("2024-05-01"))
>>> s[["region", "observed", "single_case"]].to_dict("records")
[{'region': '210103', 'observed': 2.0, 'single_case': True}]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance import METHODS
from healthwatch.surveillance.engine import run as run_engine
from healthwatch.surveillance.series import Counts
from healthwatch.warning.catalogue import SYNDROMES

__all__ = [
    "SIGNAL_COLUMNS",
    "DetectionConfig",
    "SeriesGroup",
    "default_config",
    "detect_day",
    "history_days",
]

SIGNAL_COLUMNS = (
    "date",
    "region",
    "source",
    "syndrome",
    "method",
    "observed",
    "expected",
    "threshold",
    "score",
    "p_value",
    "single_case",
)

#: methods a daily configuration may use (weekly methods such as Farrington are not daily)
DAILY_METHODS = ("ears_c1", "ears_c2", "ears_c3", "cidars_fixed", "cidars_mpm")


#: EARS C2 as the platform runs it by default: four weeks of baseline (so that the weekly
#: pattern averages out) and a standard deviation of at least one case (a flat baseline of small
#: counts would otherwise alarm on any single extra case)
EARS_DEFAULTS: dict[str, Any] = {"alpha": 0.001, "baseline": 28, "min_sigma": 1.0}


def history_days(method: str, params: Mapping[str, Any]) -> int:
    """Days of data (ending on the day evaluated) that ``method`` needs to evaluate one day."""
    baseline = int(params.get("baseline", 7))
    if method == "ears_c1":
        return baseline + 1
    if method == "ears_c2":
        return baseline + 3
    if method == "ears_c3":
        return baseline + 5
    if method == "cidars_fixed":
        return 1
    if method == "cidars_mpm":
        return int(params.get("years", 3)) * 365 + 2 * 7 + 7
    raise InputError(
        [
            Problem(
                f"method {method!r} cannot run daily; choose one of {', '.join(DAILY_METHODS)}",
                f"方法 {method!r} 不能按日运行；可选：{', '.join(DAILY_METHODS)}",
                field="method",
            )
        ]
    )


@dataclass(frozen=True)
class DetectionConfig:
    """How one syndrome from one source is watched (the method's keyword arguments in params)."""

    syndrome: str
    source: str
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def history(self) -> int:
        return history_days(self.method, self.params)

    def group_key(self) -> str:
        return self.method + json.dumps(dict(self.params), sort_keys=True)

    def check(self) -> None:
        if self.method not in METHODS or self.method not in DAILY_METHODS:
            history_days(self.method, self.params)  # raises with the list of daily methods
        if self.syndrome not in SYNDROMES:
            raise InputError(
                [
                    Problem(
                        f"unknown syndrome or disease {self.syndrome!r}",
                        f"未知的症候群或病种 {self.syndrome!r}",
                        field="syndrome",
                    )
                ]
            )


def default_config(syndrome: str, source: str) -> DetectionConfig:
    """The CIDARS rule for a disease (fixed: one case; else EARS C2), EARS C2 for a syndrome.

    The moving percentile method needs three years of history; a new installation rarely has
    it, so it is opt-in (``warning config``) rather than the default.
    """
    entry = SYNDROMES[syndrome]
    if entry.cidars == "fixed":
        return DetectionConfig(syndrome, source, "cidars_fixed", {"threshold": 1})
    return DetectionConfig(syndrome, source, "ears_c2", dict(EARS_DEFAULTS))


@dataclass
class SeriesGroup:
    """One configuration's history: ``matrix`` (history days x counties) ending on the day."""

    config: DetectionConfig
    matrix: np.ndarray
    regions: Sequence[str]


def _p_values(method: str, observed: np.ndarray, expected: np.ndarray, score: np.ndarray) -> Any:
    from scipy.stats import norm, poisson  # scipy.stats is slow to import: only when signalling

    if method in ("ears_c1", "ears_c2"):
        return norm.sf(score)
    if method == "cidars_fixed":
        return np.zeros_like(observed)
    mu = np.maximum(np.nan_to_num(expected, nan=0.0), 0.5)  # a zero baseline: 0.5 expected
    if method == "cidars_mpm":  # score and expected are sums over the 7-day window
        return poisson.sf(score - 1, mu)
    return poisson.sf(observed - 1, mu)


def detect_day(
    groups: Sequence[SeriesGroup], day: np.datetime64, *, client: Any = None
) -> pd.DataFrame:
    """Signals of ``day`` (the last row of every group's matrix), one row per alarming series.

    Groups of the same method and parameters are stacked and run through the engine once.
    Returns a frame with :data:`SIGNAL_COLUMNS`; use :func:`detect_day_stats` for counts too.
    """
    return detect_day_stats(groups, day, client=client)[0]


def detect_day_stats(
    groups: Sequence[SeriesGroup], day: np.datetime64, *, client: Any = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """:func:`detect_day` and counts: series evaluated, missing on the day, signals."""
    by_key: dict[str, list[SeriesGroup]] = {}
    for group in groups:
        by_key.setdefault(group.config.group_key(), []).append(group)
    frames = []
    series = missing = 0
    for members in by_key.values():
        config = members[0].config
        rows = config.history
        matrix = np.concatenate([_last_rows(g.matrix, rows) for g in members], axis=1)
        if matrix.shape[1] == 0:
            continue
        regions = np.concatenate([np.asarray(g.regions, dtype=object) for g in members])
        sources = np.repeat([g.config.source for g in members], [len(g.regions) for g in members])
        syndromes = np.repeat(
            [g.config.syndrome for g in members], [len(g.regions) for g in members]
        )
        counts = Counts(observed=matrix, freq=365)
        result = run_engine(
            counts, config.method, client=client, range=np.array([rows]), **dict(config.params)
        )
        obs = result.observed[-1]
        series += len(obs)
        missing += int(np.isnan(obs).sum())
        hit = np.flatnonzero(result.alarm[-1])
        if not hit.size:
            continue
        observed, expected = obs[hit], result.expected[-1][hit]
        score = result.score[-1][hit]
        frames.append(
            pd.DataFrame(
                {
                    "date": np.full(hit.size, day, dtype="datetime64[D]"),
                    "region": regions[hit],
                    "source": sources[hit],
                    "syndrome": syndromes[hit],
                    "method": config.method,
                    "observed": observed,
                    "expected": expected,
                    "threshold": result.upperbound[-1][hit],
                    "score": score,
                    "p_value": _p_values(config.method, observed, expected, score),
                    "single_case": config.method == "cidars_fixed",
                }
            )
        )
    signals = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({c: [] for c in SIGNAL_COLUMNS})
    )
    return signals, {"series": series, "missing": missing, "signals": len(signals)}


def _last_rows(matrix: np.ndarray, rows: int) -> np.ndarray:
    """The last ``rows`` days, padded with missing days at the top when history is shorter."""
    if matrix.shape[0] >= rows:
        return matrix[matrix.shape[0] - rows :]
    pad = np.full((rows - matrix.shape[0], matrix.shape[1]), np.nan)
    return np.concatenate([pad, matrix])
