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

import functools
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


def _p_values(
    method: str,
    observed: np.ndarray,
    expected: np.ndarray,
    score: np.ndarray,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """Each signal's one-sided p-value: the upper tail of the method's predictive distribution
    at the observed statistic (see the module docstring and docs/warning-methods.md)."""
    from scipy.stats import poisson, t  # scipy.stats is slow to import: only when signalling

    params = params or {}
    if method in ("ears_c1", "ears_c2"):
        n = int(params.get("baseline", 7))
        # a new count of a normal series whose mean and sd come from n baseline days:
        # (x - mean) / (s sqrt(1 + 1/n)) follows Student's t with n - 1 degrees of freedom
        return t.sf(score / np.sqrt(1.0 + 1.0 / n), df=max(n - 1, 1))
    if method == "ears_c3":
        return ears_c3_tail(score)
    if method == "cidars_fixed":
        return np.zeros_like(observed)
    mu = np.maximum(np.nan_to_num(expected, nan=0.0), 0.5)  # a zero baseline: 0.5 expected
    if method == "cidars_mpm":  # score and expected are sums over the 7-day window
        return poisson.sf(score - 1, mu)
    return poisson.sf(observed - 1, mu)


_C3_STEP = 0.005
_C3_MAX = 40.0


@functools.cache
def _c3_table() -> np.ndarray:
    """P(C3 >= grid point) for ``C3 = sum_{i=0..2} max(0, Z_i - 1)``, Z_i independent N(0, 1).

    Each term is 0 with probability Phi(1), else continuous; the distribution of the sum is the
    three-fold convolution of the term's distribution, computed on a grid (direct convolution,
    so tail probabilities far below 1e-16 keep their precision). Each bin's probability is put at
    its upper end, so the tail is slightly overstated (p-values err on the conservative side).
    """
    from scipy.stats import norm

    edges = 1.0 + _C3_STEP * np.arange(int(_C3_MAX / _C3_STEP) + 1)
    mass = np.empty(edges.size)
    mass[0] = norm.cdf(1.0)
    mass[1:] = norm.sf(edges[:-1]) - norm.sf(edges[1:])  # bin (k-1, k] steps above 0 -> k
    total = np.convolve(np.convolve(mass, mass), mass)
    tail = np.cumsum(total[::-1])[::-1]
    return np.asarray(np.minimum(tail, 1.0))


def ears_c3_tail(c3: np.ndarray) -> np.ndarray:
    """Upper-tail p-value of EARS C3's statistic under the model C1-C3 assume (each day's
    standardised count N(0, 1), independent): ``P(C3 >= c3)``.

    >>> [round(float(p), 4) for p in ears_c3_tail(np.array([0.0, 1.0, 3.0]))]
    [1.0, 0.0817, 0.0008]
    """
    from scipy.stats import norm

    c = np.asarray(c3, dtype=np.float64)
    table = _c3_table()
    index = np.ceil(np.nan_to_num(c, nan=0.0) / _C3_STEP - 1e-9).astype(np.int64)
    inside = np.clip(index, 0, table.size - 1)
    p = np.where(index < table.size, table[inside], 0.0)
    # beyond the grid: C3 >= Z_0 + Z_1 + Z_2 - 3, whose tail is a lower bound everywhere
    p = np.maximum(p, norm.sf((c + 3.0) / np.sqrt(3.0)))
    return np.where(np.isnan(c), np.nan, np.where(c <= 0, 1.0, p))


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
                    "p_value": _p_values(config.method, observed, expected, score, config.params),
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
