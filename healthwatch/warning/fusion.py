"""Combining the evidence of several surveillance sources into one alert with a level.

Three parts, all pure functions:

- :func:`combine_pvalues`: one p-value from the p-values of several sources (Fisher or
  Stouffer), with the dependence between sources accounted for. Sources fed by the same patients
  (fever-clinic visits, laboratory positives and case reports of one outbreak) are positively
  correlated; treating them as independent makes the combined p-value far too small.
- :func:`estimate_source_correlation`: the correlation matrix those corrections need, from
  historical scores of the sources (mostly outbreak-free days).
- :func:`fuse_signals`: the rule engine: signals of different sources for one county (and its
  neighbours) and syndrome within a window become one :class:`FusedAlert` with its evidence, a
  combined p-value and a level blue / yellow / orange / red; single-case diseases (CIDARS fixed
  threshold) go straight to red.

>>> import numpy as np
>>> round(combine_pvalues(np.array([0.01, 0.02, 0.04]), "fisher"), 6)
0.000653
>>> rho = np.array([[1, 0.6, 0.6], [0.6, 1, 0.6], [0.6, 0.6, 1]])
>>> round(combine_pvalues(np.array([0.01, 0.02, 0.04]), "fisher", correlation=rho), 4)
0.0096

Fisher with dependence (Brown 1975, Biometrics 31:987; Kost & McDermott 2002, Stat Probab Lett
60:183): ``X = -2 sum ln p_i`` has mean ``2k`` and, for p-values of normal statistics with
correlations ``rho_ij``, variance ``4k + 2 sum_{i<j} cov_ij`` with
``cov_ij ~= 3.263 rho + 0.710 rho^2 + 0.027 rho^3`` (Kost & McDermott's polynomial); X is then
approximated by ``c chi2(f)`` with ``c = var/(2 mean)`` and ``f = 2 mean^2/var``.

Stouffer with dependence: ``Z = sum w_i z_i / sqrt(sum_ij w_i w_j rho_ij)`` with
``z_i = Phi^-1(1 - p_i)``, exact for jointly normal z (the variance of the weighted sum).
"""

from __future__ import annotations

import math
import warnings
from collections import ChainMap
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from scipy import stats

from healthwatch.errors import InputError, Problem
from healthwatch.warning.reasons import fused_reason, single_case_reason

__all__ = [
    "DEFAULT_LEVELS",
    "FusedAlert",
    "FusionRules",
    "LevelRule",
    "SourceCorrelation",
    "brown_scale",
    "combine_pvalues",
    "combine_pvalues_many",
    "correlation_from_counts",
    "estimate_source_correlation",
    "fuse_signals",
    "kost_mcdermott_cov",
    "window_pvalues",
]

Method = Literal["fisher", "stouffer"]

#: smallest p-value used (a p of 0 would make Fisher's statistic infinite)
P_FLOOR = 1e-300


# -- combining p-values ------------------------------------------------------------------------


def kost_mcdermott_cov(rho: np.ndarray) -> np.ndarray:
    """Approximate cov(-2 ln p_i, -2 ln p_j) of two one-sided normal p-values with correlation
    rho (Kost & McDermott 2002); exact at rho = 0 (0) and close to 4 at rho = 1."""
    rho = np.asarray(rho, dtype=np.float64)
    return np.asarray(3.263 * rho + 0.710 * rho**2 + 0.027 * rho**3)


def brown_scale(correlation: np.ndarray) -> tuple[float, float]:
    """Scale c and degrees of freedom f of Brown's approximation ``X ~ c chi2(f)``."""
    r = np.asarray(correlation, dtype=np.float64)
    k = r.shape[0]
    mean = 2.0 * k
    off = kost_mcdermott_cov(r)
    np.fill_diagonal(off, 0.0)
    var = 4.0 * k + float(off.sum())  # the sum counts each pair twice: 2 sum_{i<j}
    var = max(var, 1e-12)
    c = var / (2.0 * mean)
    f = 2.0 * mean**2 / var
    if f > 2.0 * k:  # negative dependence cannot make Fisher more than independent-exact
        return 1.0, 2.0 * k
    return c, f


def _check_inputs(
    p: np.ndarray, correlation: np.ndarray | None, weights: np.ndarray | None, method: str
) -> None:
    problems: list[Problem] = []
    k = p.shape[-1] if p.ndim else 0
    if p.ndim == 0 or k == 0:
        problems.append(Problem("no p-values given", "未提供 p 值", field="p"))
    elif not np.all((p >= 0) & (p <= 1)):  # NaN fails too
        problems.append(
            Problem(
                "p-values must lie in [0, 1] without missing values",
                "p 值必须在 [0, 1] 之间且不能缺失",
                field="p",
            )
        )
    if method not in ("fisher", "stouffer"):
        problems.append(
            Problem(
                f"method must be 'fisher' or 'stouffer', got {method!r}",
                f"method 必须为 'fisher' 或 'stouffer'，实际为 {method!r}",
                field="method",
            )
        )
    if correlation is not None:
        ok = correlation.shape == (k, k) and bool(np.all(np.isfinite(correlation)))
        if ok:
            ok = bool(
                np.allclose(correlation, correlation.T)
                and np.allclose(np.diag(correlation), 1.0)
                and np.all(np.abs(correlation) <= 1.0 + 1e-12)
            )
        if not ok:
            problems.append(
                Problem(
                    f"correlation must be a symmetric {k} x {k} matrix with unit diagonal and "
                    "entries in [-1, 1]",
                    f"correlation 必须为 {k} × {k} 的对称矩阵，对角线为 1，元素在 [-1, 1] 之间",
                    field="correlation",
                )
            )
    if weights is not None and (weights.shape != (k,) or not np.all(np.isfinite(weights))):
        problems.append(
            Problem(
                f"weights must be {k} finite numbers",
                f"weights 必须为 {k} 个有限数值",
                field="weights",
            )
        )
    if problems:
        raise InputError(problems)


def combine_pvalues_many(
    p: np.ndarray,
    method: Method = "fisher",
    correlation: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`combine_pvalues` over the last axis of ``p`` (any leading shape), vectorised.

    The same correlation applies to every row, so Brown's constants are computed once.
    """
    p = np.asarray(p, dtype=np.float64)
    corr = None if correlation is None else np.asarray(correlation, dtype=np.float64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    _check_inputs(p, corr, w, method)
    k = p.shape[-1]
    q = np.clip(p, P_FLOOR, 1.0)
    if method == "fisher":
        if w is not None:
            raise InputError(
                [
                    Problem(
                        "weights apply to Stouffer's method only",
                        "权重仅适用于 Stouffer 方法",
                        field="weights",
                    )
                ]
            )
        x = -2.0 * np.log(q).sum(axis=-1)
        c, f = (1.0, 2.0 * k) if corr is None else brown_scale(corr)
        return np.asarray(stats.chi2.sf(x / c, f))
    w = np.ones(k) if w is None else w
    z = stats.norm.isf(q)
    r = np.eye(k) if corr is None else corr
    sd = float(np.sqrt(max(float(w @ r @ w), 1e-300)))
    return np.asarray(stats.norm.sf((z @ w) / sd))


def combine_pvalues(
    p: np.ndarray | Sequence[float],
    method: Method = "fisher",
    correlation: np.ndarray | None = None,
    weights: np.ndarray | Sequence[float] | None = None,
) -> float:
    """One p-value from the one-sided p-values of k sources.

    method: "fisher" (sensitive to one very small p) or "stouffer" (to consistent moderate
      evidence; ``weights`` e.g. the square root of each source's expected count).
    correlation: k x k correlation of the sources' normal scores ``Phi^-1(1 - p)`` under no
      outbreak (:func:`estimate_source_correlation`); None means independent sources, which
      reproduces ``scipy.stats.combine_pvalues``.
    """
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    return float(combine_pvalues_many(np.asarray(p, dtype=np.float64), method, correlation, w))


# -- estimating the dependence -----------------------------------------------------------------


@dataclass(frozen=True)
class SourceCorrelation:
    """Correlation of the sources' normal scores; ``n_pairs[i, j]`` observations behind each."""

    sources: tuple[str, ...]
    matrix: np.ndarray
    n_pairs: np.ndarray

    def sub(self, sources: Sequence[str]) -> np.ndarray:
        """The matrix for some of the sources (a source never seen gets correlation 0)."""
        index = {s: i for i, s in enumerate(self.sources)}
        k = len(sources)
        out = np.eye(k)
        for a, sa in enumerate(sources):
            for b, sb in enumerate(sources):
                if a != b and sa in index and sb in index:
                    out[a, b] = self.matrix[index[sa], index[sb]]
        return out


def _nearest_correlation(r: np.ndarray) -> np.ndarray:
    """Clip negative eigenvalues and rescale to unit diagonal (pairwise estimates need not be
    positive semi-definite, and Stouffer's variance must not be negative)."""
    vals, vecs = np.linalg.eigh((r + r.T) / 2)
    if vals.min() >= 0:
        return r
    fixed = (vecs * np.clip(vals, 1e-10, None)) @ vecs.T
    d = np.sqrt(np.diag(fixed))
    out = fixed / np.outer(d, d)
    np.fill_diagonal(out, 1.0)
    return np.asarray(out)


def estimate_source_correlation(
    scores: np.ndarray | pd.DataFrame,
    *,
    sources: Sequence[str] | None = None,
    kind: Literal["p", "z"] = "p",
    value: str = "p_value",
    min_pairs: int = 30,
) -> SourceCorrelation:
    """Correlation between sources from their history, for :func:`combine_pvalues`.

    scores: either an array (observations x sources), one row per county-day, or a long
      DataFrame with columns region, date, source and ``value`` (p-values or z-scores), which is
      pivoted to county-days x sources.
    kind: "p" converts p-values to normal scores ``Phi^-1(1 - p)`` first (the scale on which
      both corrections are defined); "z" takes the values as normal scores already.
    min_pairs: pairs of sources seen together on fewer county-days get correlation 0 (unknown
      dependence is treated as none rather than guessed from noise).

    Use days without known outbreaks: outbreaks raise all sources together and inflate the
    estimate (which errs on the conservative side). Correlations are Pearson's, pairwise over
    the observations where both sources have a value; the matrix is made positive semi-definite.
    """
    if isinstance(scores, pd.DataFrame):
        missing = [c for c in ("region", "date", "source", value) if c not in scores.columns]
        if missing:
            raise InputError(
                [
                    Problem(
                        f"missing column(s) {', '.join(missing)}",
                        f"缺少列 {', '.join(missing)}",
                        field="scores",
                    )
                ]
            )
        wide = scores.pivot_table(
            index=["region", "date"], columns="source", values=value, aggfunc="mean"
        )
        names = tuple(str(c) for c in wide.columns)
        x = wide.to_numpy(dtype=np.float64)
    else:
        x = np.asarray(scores, dtype=np.float64)
        if x.ndim != 2:
            raise InputError(
                [
                    Problem(
                        "scores must be a 2-D array (observations x sources)",
                        "scores 必须是二维数组（观测 × 来源）",
                        field="scores",
                    )
                ]
            )
        names = tuple(sources) if sources is not None else tuple(str(i) for i in range(x.shape[1]))
    if kind == "p":
        x = stats.norm.isf(np.clip(x, P_FLOOR, 1.0 - 1e-16))
    return SourceCorrelation(names, *_pairwise_pearson(x, min_pairs))


def _pairwise_pearson(x: np.ndarray, min_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of every pair of columns over the rows where both have a value,
    by matrix products (one pass, no loop over pairs), and the number of such rows.

    ``sum_ij`` below is over the rows where columns i and j are both observed: with ``m`` the
    observed mask and ``x0`` the values with 0 for missing, ``sum x_i = (x0' m)_ij``,
    ``sum x_i^2 = (x0^2' m)_ij`` and ``sum x_i x_j = (x0' x0)_ij``. Pairs on fewer than
    ``max(min_pairs, 3)`` rows, or constant on them, get 0.
    """
    ok = np.isfinite(x)
    m = ok.astype(np.float64)
    x0 = np.where(ok, x, 0.0)
    n = (m.T @ m).round().astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sx = x0.T @ m  # sx[i, j]: sum of column i where both are observed
        sxx = (x0 * x0).T @ m
        sxy = x0.T @ x0
        cov = sxy - sx * sx.T / n
        var_i = sxx - sx * sx / n
        var_j = var_i.T
        r = cov / np.sqrt(var_i * var_j)
    tiny = 1e-12 * np.maximum(sxx, sxx.T).clip(min=1.0)
    keep = (n >= max(min_pairs, 3)) & (var_i > tiny) & (var_j > tiny) & np.isfinite(r)
    r = np.where(keep, np.clip(r, -1.0, 1.0), 0.0)
    np.fill_diagonal(r, 1.0)
    return _nearest_correlation(r), n


def correlation_from_counts(
    counts: Mapping[str, np.ndarray], *, min_pairs: int = 30
) -> SourceCorrelation:
    """Correlation between sources from their daily counts of one syndrome (as stored).

    counts: source -> matrix (days x counties), all on the same days and counties (NaN missing).

    Why residuals: what fusion needs is how the sources' detection statistics move together on
    ordinary days. Each county's counts are turned into standardised residuals
    ``(x - county mean) / county sd`` over the days given, which removes the county's size (two
    sources are not correlated merely because big counties have more of both) but keeps what the
    detection methods see too: the shared weekly pattern, weather, holidays, common patients.
    The residuals are pooled over counties (county-days x sources) and passed to
    :func:`estimate_source_correlation` as normal scores. Outbreak days in the history raise the
    estimate, which makes fusion more conservative, never less.
    """
    names = tuple(counts)
    if not names:
        return SourceCorrelation((), np.eye(0), np.zeros((0, 0), dtype=np.int64))
    columns = []
    for name in names:
        x = np.asarray(counts[name], dtype=np.float64)
        x = np.where(np.isfinite(x), x, np.nan)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # a county with no values at all
            mean = np.nanmean(x, axis=0)
            sd = np.nanstd(x, axis=0)
            z = (x - mean) / np.where(sd > 0, sd, np.nan)
        columns.append(z.reshape(-1))
    shapes = {np.asarray(counts[n]).shape for n in names}
    if len(shapes) != 1:
        raise InputError(
            [
                Problem(
                    "every source's count matrix must cover the same days and counties",
                    "各来源的计数矩阵须覆盖相同的日期和区县",
                    field="counts",
                )
            ]
        )
    return estimate_source_correlation(
        np.column_stack(columns), sources=names, kind="z", min_pairs=min_pairs
    )


def window_pvalues(p: np.ndarray, window_days: int, *, axis: int = 0) -> np.ndarray:
    """Each day's evidence of a source over the last ``window_days`` days: the smallest p-value
    in the window, Šidák-adjusted for the ``window_days`` looks: ``1 - (1 - min p)^w``.

    Sources report with different delays, so the same outbreak shows on different days; the
    window lines them up. NaN (no data) counts as no evidence (p = 1) inside a window; a window
    with no value at all stays NaN.
    """
    p = np.moveaxis(np.asarray(p, dtype=np.float64), axis, 0)
    w = int(window_days)
    filled = np.where(np.isnan(p), 1.0, p)
    out = np.empty_like(p)
    seen = np.zeros(p.shape, dtype=np.int64)
    valid = (~np.isnan(p)).astype(np.int64)
    for t in range(p.shape[0]):
        lo = max(0, t - w + 1)
        out[t] = filled[lo : t + 1].min(axis=0)
        seen[t] = valid[lo : t + 1].sum(axis=0)
    adjusted = -np.expm1(w * np.log1p(-np.clip(out, 0.0, 1.0 - 1e-16)))
    adjusted = np.where(out >= 1.0, 1.0, adjusted)
    adjusted = np.where(seen > 0, adjusted, np.nan)
    return np.moveaxis(adjusted, 0, axis)


# -- the rule engine ---------------------------------------------------------------------------


LEVELS = ("blue", "yellow", "orange", "red")


@dataclass(frozen=True)
class LevelRule:
    """A level applies when the combined p-value is at most ``max_p`` and at least
    ``min_sources`` independent sources signalled."""

    level: Literal["blue", "yellow", "orange", "red"]
    max_p: float
    min_sources: int


#: checked from red down; the first that holds gives the level
DEFAULT_LEVELS: tuple[LevelRule, ...] = (
    LevelRule("red", 1e-8, 3),
    LevelRule("orange", 1e-6, 2),
    LevelRule("yellow", 1e-4, 2),
    LevelRule("blue", 1e-2, 2),
)


@dataclass(frozen=True)
class FusionRules:
    """How signals become alerts.

    min_sources: independent sources needed within ``window_days`` (CIDARS-style multi-point
      triggering: e.g. two sources in 7 days). Sources in the same ``source_groups`` group
      (e.g. fever clinic and laboratory positives fed by the same patients) count once.
    include_neighbours: signals of neighbouring counties count for a county (an alert still
      needs a signal in the county itself).
    method, correlation: how per-source p-values combine (see :func:`combine_pvalues`);
      ``correlations`` (syndrome -> correlation) overrides ``correlation`` for those syndromes
      (sources move together differently for each syndrome).
    levels: level rules, checked from the first; no rule holding means no alert.
    adjust_window: Šidák-adjust each source's smallest p-value in the window for the number of
      county-days it had to signal (window days x counties considered).
    source_names_zh / source_names_en: display names of sources in the reasons.
    """

    min_sources: int = 2
    window_days: int = 7
    include_neighbours: bool = True
    method: Method = "fisher"
    correlation: SourceCorrelation | None = None
    correlations: Mapping[str, SourceCorrelation] = field(default_factory=dict)
    levels: tuple[LevelRule, ...] = DEFAULT_LEVELS
    adjust_window: bool = True
    source_groups: Mapping[str, str] = field(default_factory=dict)
    source_names_zh: Mapping[str, str] = field(default_factory=dict)
    source_names_en: Mapping[str, str] = field(default_factory=dict)
    syndrome_names_zh: Mapping[str, str] = field(default_factory=dict)
    syndrome_names_en: Mapping[str, str] = field(default_factory=dict)
    region_names_zh: Mapping[str, str] = field(default_factory=dict)
    region_names_en: Mapping[str, str] = field(default_factory=dict)

    def names(self) -> tuple[Mapping[str, str], Mapping[str, str]]:
        """(zh, en) code -> name lookups for the reason texts (sources, syndromes, regions)."""
        # the region lookup is large and only read: chained, not copied
        regions_zh = cast(MutableMapping[str, str], self.region_names_zh)
        regions_en = cast(MutableMapping[str, str], self.region_names_en)
        return (
            ChainMap(dict(self.source_names_zh), dict(self.syndrome_names_zh), regions_zh),
            ChainMap(dict(self.source_names_en), dict(self.syndrome_names_en), regions_en),
        )

    def correlation_for(self, syndrome: str) -> SourceCorrelation | None:
        """The correlation between the sources of ``syndrome`` (None: independent)."""
        return self.correlations.get(syndrome, self.correlation)


@dataclass
class FusedAlert:
    """One alert: a county and syndrome, its dates, the evidence and the level with reasons."""

    region: str
    syndrome: str
    first_date: pd.Timestamp
    last_date: pd.Timestamp
    sources: list[str]
    signals: pd.DataFrame
    p_combined: float
    method: str
    level: str
    reason_zh: str
    reason_en: str
    regions: list[str] = field(default_factory=list)  # the county and neighbours with signals

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (dates as ISO strings, NaN as None)."""
        p = None if not np.isfinite(self.p_combined) else float(self.p_combined)
        rows = self.signals.assign(date=self.signals["date"].dt.strftime("%Y-%m-%d"))
        rows = rows.astype(object).where(rows.notna(), None)
        return {
            "region": self.region,
            "syndrome": self.syndrome,
            "first_date": self.first_date.strftime("%Y-%m-%d"),
            "last_date": self.last_date.strftime("%Y-%m-%d"),
            "sources": list(self.sources),
            "regions": list(self.regions),
            "p_combined": p,
            "method": self.method,
            "level": self.level,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
            "signals": rows.to_dict(orient="records"),
        }


_SIGNAL_COLUMNS = ("region", "date", "source", "syndrome", "p_value", "score", "single_case")


def _check_signals(signals: pd.DataFrame, rules: FusionRules) -> pd.DataFrame:
    missing = [c for c in _SIGNAL_COLUMNS if c not in signals.columns]
    problems: list[Problem] = []
    if missing:
        problems.append(
            Problem(
                f"signals lack column(s) {', '.join(missing)}; "
                f"expected {', '.join(_SIGNAL_COLUMNS)}",
                f"signals 缺少列 {', '.join(missing)}；应为 {', '.join(_SIGNAL_COLUMNS)}",
                field="signals",
            )
        )
        raise InputError(problems)
    out = signals.copy()
    out["region"] = out["region"].astype(str)
    out["source"] = out["source"].astype(str)
    out["syndrome"] = out["syndrome"].astype(str)
    out["date"] = pd.to_datetime(out["date"], errors="coerce")
    raw_p = out["p_value"]
    out["p_value"] = pd.to_numeric(raw_p, errors="coerce")
    blank = raw_p.isna() | raw_p.astype(str).str.strip().isin(("", "nan", "NaN", "None"))
    for i in np.flatnonzero((out["p_value"].isna() & ~blank).to_numpy()):
        problems.append(
            Problem(
                f"row {i + 1}: p_value {raw_p.iloc[i]!r} is not a number (leave it empty if the "
                "method gives none)",
                f"第 {i + 1} 行：p_value {raw_p.iloc[i]!r} 不是数值（方法不提供 p 值时请留空）",
                line=int(i) + 1,
                field="p_value",
            )
        )
    out["score"] = pd.to_numeric(out["score"], errors="coerce")
    flag = out["single_case"]
    if not pd.api.types.is_bool_dtype(flag):  # text or numbers from a CSV or JSON
        text = flag.astype(str).str.strip().str.lower()
        flag = text.isin(("true", "1", "1.0", "yes", "y", "t", "是"))
    out["single_case"] = flag.fillna(False).astype(bool)
    for i in np.flatnonzero(out["date"].isna().to_numpy()):
        problems.append(
            Problem(
                f"row {i + 1}: date is missing or not a date",
                f"第 {i + 1} 行：日期缺失或格式有误",
                line=int(i) + 1,
                field="date",
            )
        )
    p = out["p_value"].to_numpy()
    for i in np.flatnonzero(~np.isnan(p) & ((p < 0) | (p > 1))):
        problems.append(
            Problem(
                f"row {i + 1}: p_value {p[i]} is outside [0, 1]",
                f"第 {i + 1} 行：p_value {p[i]} 不在 [0, 1] 之间",
                line=int(i) + 1,
                field="p_value",
            )
        )
    if rules.min_sources < 1 or rules.window_days < 1:
        problems.append(
            Problem(
                "rules need min_sources >= 1 and window_days >= 1",
                "规则要求 min_sources >= 1 且 window_days >= 1",
                field="rules",
            )
        )
    if problems:
        raise InputError(problems[:50])
    return out.reset_index(drop=True)


def _episodes(dates: np.ndarray, window_days: int) -> np.ndarray:
    """Episode number of each sorted date: a gap of more than ``window_days`` starts a new one."""
    if dates.size == 0:
        return np.zeros(0, dtype=np.int64)
    gaps = np.diff(dates.astype("datetime64[D]").astype(np.int64)) > window_days
    return np.concatenate([[0], np.cumsum(gaps)])


def _single_case_alerts(sig: pd.DataFrame, rules: FusionRules) -> list[FusedAlert]:
    out: list[FusedAlert] = []
    names_zh, names_en = rules.names()
    for (region, syndrome), g in sig.groupby(["region", "syndrome"], sort=True):
        g = g.sort_values("date", kind="stable")
        for _, e in g.groupby(_episodes(g["date"].to_numpy(), rules.window_days)):
            srcs = sorted(e["source"].unique())
            reason_zh, reason_en = single_case_reason(
                region=str(region),
                syndrome=str(syndrome),
                n_cases=len(e),
                sources=srcs,
                names_zh=names_zh,
                names_en=names_en,
            )
            out.append(
                FusedAlert(
                    region=str(region),
                    syndrome=str(syndrome),
                    first_date=e["date"].min(),
                    last_date=e["date"].max(),
                    sources=srcs,
                    signals=e.reset_index(drop=True),
                    p_combined=float("nan"),
                    method="single_case",
                    level="red",
                    reason_zh=reason_zh,
                    reason_en=reason_en,
                    regions=[str(region)],
                )
            )
    return out


def _level(p: float, n_groups: int, rules: FusionRules) -> str | None:
    for rule in rules.levels:
        if n_groups >= rule.min_sources and (p <= rule.max_p or rule.max_p >= 1.0):
            return rule.level
    return None


def _sidak(p: np.ndarray, looks: np.ndarray | float) -> np.ndarray:
    """``1 - (1 - p)^looks``: the chance of a p-value this small in ``looks`` tries."""
    return np.asarray(-np.expm1(looks * np.log1p(-np.minimum(p, 1.0 - 1e-16))))


def _most_in_window(day: np.ndarray, group: np.ndarray, window_days: int) -> int:
    """Most distinct groups among rows whose days lie within one ``window_days`` window."""
    best = 0
    for d in np.unique(day):
        inside = (day > d - window_days) & (day <= d)
        best = max(best, len(np.unique(group[inside])))
    return best


@dataclass
class _Expanded:
    """Signals repeated once per county whose place (itself and neighbours) they belong to,
    sorted by syndrome, anchor county, date, region and source, with episode boundaries."""

    frame: pd.DataFrame
    anchor: np.ndarray
    day: np.ndarray
    group: np.ndarray
    source: np.ndarray
    p: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    n_places: dict[str, int]


def _expand(
    regular: pd.DataFrame, neighbours: Mapping[str, set[str]], rules: FusionRules
) -> _Expanded:
    own = sorted(set(regular["region"]))
    places = {
        a: [a]
        + (
            sorted(str(n) for n in neighbours.get(a, set()) if str(n) != a)
            if rules.include_neighbours
            else []
        )
        for a in own
    }
    anchors_of: dict[str, list[str]] = {}
    for a, pl in places.items():
        for g in pl:
            anchors_of.setdefault(g, []).append(a)
    rows: list[np.ndarray] = []
    anchors: list[np.ndarray] = []
    for g, idx in regular.groupby("region", sort=True).indices.items():
        for a in anchors_of.get(str(g), []):
            rows.append(idx)
            anchors.append(np.full(len(idx), a, dtype=object))
    ex = regular.iloc[np.concatenate(rows)].reset_index(drop=True)
    ex["_anchor"] = np.concatenate(anchors)
    ex = ex.sort_values(["syndrome", "_anchor", "date", "region", "source"], kind="stable")
    ex = ex.reset_index(drop=True)
    day = ex["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    anchor = ex["_anchor"].to_numpy(dtype=object)
    syndrome = ex["syndrome"].to_numpy(dtype=object)
    new = np.ones(len(ex), dtype=bool)
    new[1:] = (
        (anchor[1:] != anchor[:-1])
        | (syndrome[1:] != syndrome[:-1])
        | (np.diff(day) > rules.window_days)
    )
    starts = np.flatnonzero(new)
    stops = np.append(starts[1:], len(ex))
    source = ex["source"].to_numpy(dtype=object)
    group = np.array([rules.source_groups.get(x, x) for x in source], dtype=object)
    return _Expanded(
        frame=ex.drop(columns="_anchor"),
        anchor=anchor,
        day=day,
        group=group,
        source=source,
        p=ex["p_value"].to_numpy(dtype=np.float64),
        starts=starts,
        stops=stops,
        n_places={a: len(pl) for a, pl in places.items()},
    )


def _sidak1(p: float, looks: float) -> float:
    return -math.expm1(looks * math.log1p(-min(p, 1.0 - 1e-16)))


def _episode_evidence(
    source: np.ndarray, p: np.ndarray, n_places: int, rules: FusionRules
) -> tuple[list[float], list[str]]:
    """An episode's p-value per independence group and the source that gave it: per source its
    smallest p-value (Šidák-adjusted for the county-days it had to signal, if asked); per group
    the smallest of its sources, Šidák-adjusted for the number of sources in the group."""
    best: dict[str, float] = {}
    for src, v in zip(source.tolist(), p.tolist(), strict=True):
        if v == v and v < best.get(src, 2.0):
            best[src] = v
    looks = rules.window_days * n_places if rules.adjust_window else 1
    per_group: dict[str, list[tuple[float, str]]] = {}
    for src, v in best.items():
        per_group.setdefault(rules.source_groups.get(src, src), []).append((_sidak1(v, looks), src))
    values, reps = [], []
    for members in per_group.values():
        v, src = min(members)
        values.append(_sidak1(v, len(members)))
        reps.append(src)
    return values, reps


def _combine_episodes(
    evidence: list[tuple[list[float], list[str]]],
    rules: FusionRules,
    syndromes: Sequence[str] | None = None,
) -> np.ndarray:
    """Combined p-value of every episode at once (NaN where no source gave a p-value).

    Episodes differ in which sources they have, so Brown's constants (or Stouffer's variance)
    are computed once per set of sources and the distribution functions run vectorised.
    """
    n = len(evidence)
    stat = np.full(n, np.nan)
    scale = np.ones(n)
    df = np.ones(n)
    cache: dict[tuple[str, ...], tuple[float, float]] = {}
    for i, (values, reps) in enumerate(evidence):
        if not values:
            continue
        k = len(values)
        key = (syndromes[i] if syndromes else "", *reps)
        if key not in cache:
            corr = None
            known = rules.correlation_for(syndromes[i]) if syndromes else rules.correlation
            if known is not None and k > 1:
                corr = known.sub(reps)
            if rules.method == "fisher":
                cache[key] = (1.0, 2.0 * k) if corr is None else brown_scale(corr)
            else:
                r = np.eye(k) if corr is None else corr
                cache[key] = (float(np.sqrt(max(float(r.sum()), 1e-300))), 0.0)
        scale[i], df[i] = cache[key]
        q = np.clip(np.asarray(values), P_FLOOR, 1.0)
        if rules.method == "fisher":
            stat[i] = -2.0 * float(np.log(q).sum())
        else:
            stat[i] = float(stats.norm.isf(q).sum())
    out = np.full(n, np.nan)
    ok = ~np.isnan(stat)
    if rules.method == "fisher":
        out[ok] = stats.chi2.sf(stat[ok] / scale[ok], df[ok])
    else:
        out[ok] = stats.norm.sf(stat[ok] / scale[ok])
    return out


def _fused_alert(
    region: str,
    syndrome: str,
    e: pd.DataFrame,
    first: pd.Timestamp,
    last: pd.Timestamp,
    sources: list[str],
    others: list[str],
    p: float,
    level: str,
    n_groups: int,
    rules: FusionRules,
) -> FusedAlert:
    names_zh, names_en = rules.names()
    reason_zh, reason_en = fused_reason(
        first=first.date(),
        last=last.date(),
        n_groups=n_groups,
        sources=sources,
        region=region,
        others=others,
        syndrome=syndrome,
        p=float(p),
        method=rules.method,
        corrected=rules.correlation_for(syndrome) is not None,
        level=level,
        names_zh=names_zh,
        names_en=names_en,
    )
    return FusedAlert(
        region=region,
        syndrome=syndrome,
        first_date=first,
        last_date=last,
        sources=sources,
        signals=e,
        p_combined=float(p),
        method=rules.method,
        level=level,
        reason_zh=reason_zh,
        reason_en=reason_en,
        regions=[region, *others],
    )


def _multi_source_alerts(
    regular: pd.DataFrame, neighbours: Mapping[str, set[str]], rules: FusionRules
) -> list[FusedAlert]:
    ex = _expand(regular, neighbours, rules)
    region = ex.frame["region"].to_numpy(dtype=object)
    syndrome = ex.frame["syndrome"].to_numpy(dtype=object)
    own = region == ex.anchor
    has_own = np.maximum.reduceat(own.astype(np.int8), ex.starts) > 0
    episode = np.repeat(np.arange(ex.starts.size), ex.stops - ex.starts)
    group_code = pd.factorize(ex.group)[0]
    width = int(group_code.max()) + 1
    pairs = np.unique(episode * width + group_code)
    n_groups = np.bincount(pairs // width, minlength=ex.starts.size)
    chosen = []
    for k in np.flatnonzero(has_own & (n_groups >= rules.min_sources)):
        a, b = int(ex.starts[k]), int(ex.stops[k])
        if _most_in_window(ex.day[a:b], group_code[a:b], rules.window_days) >= rules.min_sources:
            chosen.append(int(k))
    evidence = [
        _episode_evidence(
            ex.source[ex.starts[k] : ex.stops[k]],
            ex.p[ex.starts[k] : ex.stops[k]],
            ex.n_places[str(ex.anchor[ex.starts[k]])],
            rules,
        )
        for k in chosen
    ]
    combined = _combine_episodes(evidence, rules, [str(syndrome[ex.starts[k]]) for k in chosen])
    epoch = np.datetime64("1970-01-01", "D")
    out: list[FusedAlert] = []
    for ep, p in zip(chosen, combined.tolist(), strict=True):
        level = _level(p if np.isfinite(p) else 1.0, int(n_groups[ep]), rules)
        if level is None:
            continue
        a, b = int(ex.starts[ep]), int(ex.stops[ep])
        anchor = str(ex.anchor[a])
        out.append(
            _fused_alert(
                anchor,
                str(syndrome[a]),
                ex.frame.iloc[a:b],
                pd.Timestamp(epoch + ex.day[a]),
                pd.Timestamp(epoch + ex.day[b - 1]),
                sorted(set(ex.source[a:b].tolist())),
                sorted(set(region[a:b].tolist()) - {anchor}),
                p,
                level,
                int(n_groups[ep]),
                rules,
            )
        )
    return out


def fuse_signals(
    signals: pd.DataFrame,
    neighbours: Mapping[str, set[str]] | None = None,
    rules: FusionRules | None = None,
) -> list[FusedAlert]:
    """Alerts from per-source signals (one row per signal of a source for a county-day).

    signals: columns region, date, source, syndrome, p_value (NaN when the method gives none),
      score, single_case (True for diseases alerting on one case).
    neighbours: county -> neighbouring counties (used when ``rules.include_neighbours``).

    Per county and syndrome, the county's own signals and (optionally) its neighbours' are put in
    date order and cut into episodes wherever ``window_days`` pass without a signal; an episode
    with a signal in the county itself and at least ``min_sources`` independent sources becomes
    an alert if a level rule holds. Its p-value combines, per source, the smallest p-value of the
    episode. Single-case signals give red alerts at once, whatever the other rules say. A county
    and its neighbour both signalling give one alert each (one per county and disease, as CIDARS
    verifies them), each listing the other's signals as evidence.

    Alerts are sorted by level (red first), then first date, county and syndrome.
    """
    rules = rules or FusionRules()
    sig = _check_signals(signals, rules)
    neighbours = neighbours or {}
    alerts = _single_case_alerts(sig[sig["single_case"]], rules)
    regular = sig[~sig["single_case"]].reset_index(drop=True)
    if len(regular):
        alerts += _multi_source_alerts(regular, neighbours, rules)
    rank = {lvl: i for i, lvl in enumerate(reversed(LEVELS))}
    alerts.sort(key=lambda a: (rank[a.level], a.first_date, a.region, a.syndrome))
    return alerts
