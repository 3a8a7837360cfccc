"""Does combining sources detect outbreaks better than each source alone? Measured fairly.

Every detector is judged at the SAME false-alert rate per county-year: its threshold is
calibrated on an outbreak-free simulation of the same design, then it runs on data with planted
outbreaks and is scored on

- probability of detection (POD): share of outbreaks with an alarm in their county between the
  outbreak's start and ``detect_days`` later;
- days to detection: from the start to the first such alarm (median over detected outbreaks);
- false alerts per county-year: alarm onsets (an alarm day after a day without) outside the
  outbreaks' periods, per county-year of outbreak-free time, measured on the outbreak data.

Detectors (each reduces to a p-value-like level L[t, county], alarming when L <= threshold):

- each single source: its per-source p-value (``<source>``), and the same over the fusion
  window (``<source>_window``: its smallest p-value in the last ``window_days``), so that a
  gain of the fused detectors is not just the window's;
- ``fused_fisher`` / ``fused_stouffer``: per source the smallest p-value over the last
  ``window_days`` (Šidák-adjusted), combined over sources with the correlation estimated on
  the training days (:func:`healthwatch.warning.fusion.combine_pvalues_many`);
- ``k_of_n``: the k-th smallest of those windowed p-values (alarm when at least k sources signal
  within the window), the multi-point rule of CIDARS-style platforms.

Per-source p-values come from the detection engine (:func:`healthwatch.surveillance.detect`,
EARS C2 by default) on each source's daily series: its score is turned into a p-value by the
empirical distribution of the same series' scores on the training days (``pvalues="empirical"``;
the methods' own normal or Poisson approximations are badly calibrated on daily counts with
day-of-week effects) or by the normal tail (``"normal"``).

>>> from healthwatch.warning.multisource import simulate_multisource
>>> null = simulate_multisource(8, 500, n_outbreaks=0, seed=1)
>>> data = simulate_multisource(8, 500, n_outbreaks=16, seed=2)
>>> table = assess_multisource(data, null, false_alerts_per_county_year=6.0)
>>> list(table.columns[:4])
['detector', 'threshold', 'pod', 'median_days_to_detection']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance import detect
from healthwatch.warning.fusion import (
    combine_pvalues_many,
    estimate_source_correlation,
    window_pvalues,
)
from healthwatch.warning.multisource import MultiSourceSimulation

__all__ = [
    "Detector",
    "alarm_onsets",
    "assess_multisource",
    "calibrate_threshold",
    "compare_detectors",
    "default_detectors",
    "detector_levels",
    "score_detector",
    "source_pvalues",
    "stouffer_weights",
]


def _scores(sim: MultiSourceSimulation, method: str, control: Mapping[str, Any]) -> np.ndarray:
    """The engine's score for every day x county x source (NaN where it evaluates nothing)."""
    n_days, n_regions, n_src = sim.counts.shape
    out = np.full((n_days, n_regions, n_src), np.nan)
    for j, name in enumerate(sim.source_names):
        res = detect(sim.counts_of(name), method, **control)
        out[res.t - 1, :, j] = res.score
    return out


def source_pvalues(
    sim: MultiSourceSimulation,
    *,
    method: str = "ears_c2",
    control: Mapping[str, Any] | None = None,
    training_days: int | None = None,
    pvalues: Literal["empirical", "normal"] = "empirical",
    reference: MultiSourceSimulation | None = None,
    pool_counties: bool = True,
) -> np.ndarray:
    """One-sided p-values (days x counties x sources) of each source's daily detection score.

    empirical: ``(1 + #training scores >= s) / (n_training + 1)`` per county and source, the
      training scores being those of the first ``training_days`` days of ``reference`` (default
      ``sim`` itself; the default training period is the days before the first outbreak may
      start, i.e. half the series). Infinite scores (a flat baseline) count as larger than any.
    normal: the normal upper tail of the score.
    pool_counties: one training distribution per source over all counties (scores are already
      standardised by each county's own baseline; pooling gives p-values fine enough to
      calibrate low false-alert rates, which one county's year of history is not).
    """
    control = dict(control or {})
    scores = _scores(sim, method, control)
    if pvalues == "normal":
        return np.where(np.isnan(scores), np.nan, stats.norm.sf(np.nan_to_num(scores, nan=0.0)))
    ref = scores if reference is None else _scores(reference, method, control)
    n_train = int(training_days or sim.counts.shape[0] // 2)
    train = ref[:n_train]
    out = np.full(scores.shape, np.nan)
    groups = [[slice(None)]] if pool_counties else [[r] for r in range(scores.shape[1])]
    for cols in groups:
        for j in range(scores.shape[2]):
            h = train[:, cols[0], j].reshape(-1)
            h = np.sort(h[~np.isnan(h)])
            if h.size == 0:
                continue
            s = scores[:, cols[0], j]
            ok = ~np.isnan(s)
            exceed = h.size - np.searchsorted(h, s[ok], side="left")
            piece = np.full(s.shape, np.nan)
            piece[ok] = (1.0 + exceed) / (h.size + 1.0)
            out[:, cols[0], j] = piece
    return out


@dataclass(frozen=True)
class Detector:
    """A named detector: how to reduce per-source p-values to a level L[t, county]."""

    name: str
    kind: Literal["source", "source_window", "fisher", "stouffer", "k_of_n"]
    source: int = -1
    k: int = 2
    weights: tuple[float, ...] | None = None  # Stouffer weights per source


def detector_levels(
    p: np.ndarray,
    detector: Detector,
    *,
    window_days: int = 7,
    correlation: np.ndarray | None = None,
) -> np.ndarray:
    """The detector's level L (days x counties); it alarms where L <= its threshold."""
    if detector.kind == "source":
        return np.asarray(p[:, :, detector.source])
    if detector.kind == "source_window":
        return np.asarray(window_pvalues(p[:, :, detector.source], window_days, axis=0))
    wp = window_pvalues(p, window_days, axis=0)
    if detector.kind == "k_of_n":
        return np.asarray(np.sort(np.where(np.isnan(wp), 1.0, wp), axis=2)[:, :, detector.k - 1])
    valid = ~np.isnan(wp).any(axis=2)
    level = np.full(wp.shape[:2], np.nan)
    weights = None if detector.weights is None else np.asarray(detector.weights)
    level[valid] = combine_pvalues_many(
        wp[valid], detector.kind, correlation=correlation, weights=weights
    )
    return level


def alarm_onsets(alarm: np.ndarray) -> np.ndarray:
    """Days (x counties) on which an alarm starts: alarm today, none yesterday."""
    prev = np.zeros_like(alarm)
    prev[1:] = alarm[:-1]
    return np.asarray(alarm & ~prev)


def calibrate_threshold(
    level: np.ndarray,
    target_per_county_year: float,
    *,
    from_day: int = 0,
) -> float:
    """The largest threshold whose alarm onsets on outbreak-free ``level`` (rows from
    ``from_day`` on) stay at or below the target rate per county-year.

    The number of onsets is not exactly monotone in the threshold (merging alarm runs), so the
    search runs over the sorted distinct levels and keeps the largest one meeting the target.
    """
    lv = np.where(np.isnan(level[from_day:]), np.inf, level[from_day:])
    county_years = lv.shape[0] * lv.shape[1] / 365.0
    allowed = target_per_county_year * county_years
    candidates = np.unique(lv[np.isfinite(lv)])
    if candidates.size == 0:
        return 0.0
    lo, hi = 0, candidates.size - 1  # find the largest index meeting the target (bisection)

    def ok(i: int) -> bool:
        return int(alarm_onsets(lv <= candidates[i]).sum()) <= allowed

    if not ok(0):
        return float(np.nextafter(candidates[0], -np.inf))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return float(candidates[lo])


def _outbreak_mask(sim: MultiSourceSimulation, detect_days: int) -> np.ndarray:
    """Days x counties inside an outbreak's period (start to end + detect_days)."""
    mask = np.zeros(sim.counts.shape[:2], dtype=bool)
    for row in sim.outbreaks.itertuples():
        a = int(row.start) - 1
        b = max(int(row.end), a + detect_days)
        mask[a : b + 1, int(row.column)] = True
    return mask


def score_detector(
    alarm: np.ndarray,
    sim: MultiSourceSimulation,
    *,
    detect_days: int = 21,
    from_day: int = 0,
) -> dict[str, float]:
    """POD, median and mean days to detection, false alerts per county-year of ``alarm``."""
    delays = []
    n = 0
    for row in sim.outbreaks.itertuples():
        a = int(row.start) - 1
        if a + detect_days > alarm.shape[0]:
            continue  # not enough days left to judge this outbreak
        n += 1
        hits = np.flatnonzero(alarm[a : a + detect_days, int(row.column)])
        if hits.size:
            delays.append(int(hits[0]))
    mask = _outbreak_mask(sim, detect_days)[from_day:]
    onsets = alarm_onsets(alarm)[from_day:]
    free_county_years = float((~mask).sum()) / 365.0
    d = np.asarray(delays, dtype=np.float64)
    return {
        "pod": len(delays) / n if n else float("nan"),
        "median_days_to_detection": float(np.median(d)) if d.size else float("nan"),
        "mean_days_to_detection": float(d.mean()) if d.size else float("nan"),
        "false_alerts_per_county_year": float((onsets & ~mask).sum()) / free_county_years
        if free_county_years > 0
        else float("nan"),
        "outbreaks": float(n),
    }


def stouffer_weights(
    p: np.ndarray,
    sim: MultiSourceSimulation,
    correlation: np.ndarray,
    *,
    window_days: int = 7,
    detect_days: int = 14,
) -> np.ndarray:
    """Stouffer weights learned from past outbreaks: ``w = R^-1 delta`` (clipped at 0).

    ``delta`` is each source's mean shift of the windowed normal score ``Phi^-1(1 - p)`` on
    county-days of known outbreaks (start to ``detect_days`` later) against all other days,
    ``R`` the sources' correlation. For normal scores this is the linear combination that best
    separates outbreak days from the rest (Fisher's discriminant), so it says how much better
    fusion gets when the platform knows from its own history which sources carry the signal.
    """
    wp = window_pvalues(p, window_days, axis=0)
    z = stats.norm.isf(np.clip(wp, 1e-300, 1.0 - 1e-16))
    inside = _outbreak_mask(sim, detect_days)
    ok = ~np.isnan(z).any(axis=2)
    delta = z[inside & ok].mean(axis=0) - z[~inside & ok].mean(axis=0)
    w = np.clip(np.linalg.solve(correlation, delta), 0.0, None)
    if not np.any(w > 0):
        return np.ones(p.shape[2]) / p.shape[2]
    return np.asarray(w / w.sum())


def default_detectors(source_names: Sequence[str], k: int = 2) -> list[Detector]:
    """Each source alone (as is and over the fusion window), Fisher, Stouffer and k-of-n."""
    return [
        *[Detector(name, "source", source=j) for j, name in enumerate(source_names)],
        *[
            Detector(f"{name}_window", "source_window", source=j)
            for j, name in enumerate(source_names)
        ],
        Detector("fused_fisher", "fisher"),
        Detector("fused_stouffer", "stouffer"),
        Detector(f"{k}_of_{len(source_names)}", "k_of_n", k=k),
    ]


@dataclass
class _Levels:
    """Every detector's levels on the outbreak-free and the outbreak data (computed once, then
    thresholded for each false-alert target)."""

    detectors: list[Detector]
    null: list[np.ndarray]
    sim: list[np.ndarray]
    n_train: int


def _check_pair(sim: MultiSourceSimulation, other: MultiSourceSimulation, name: str) -> None:
    if other.counts.shape != sim.counts.shape:
        raise InputError(
            [
                Problem(
                    f"the {name} simulation must have the same days, counties and sources",
                    f"{name} 模拟必须与评估数据的天数、县和来源相同",
                    field=name,
                )
            ]
        )


def _levels(
    sim: MultiSourceSimulation,
    null: MultiSourceSimulation,
    history: MultiSourceSimulation | None,
    detectors: Sequence[Detector] | None,
    method: str,
    control: Mapping[str, Any] | None,
    window_days: int,
    training_days: int | None,
    pvalues: Literal["empirical", "normal"],
) -> _Levels:
    _check_pair(sim, null, "null")
    if history is not None:
        _check_pair(sim, history, "history")
    n_train = int(training_days or sim.counts.shape[0] // 2)
    kw: dict[str, Any] = {
        "method": method,
        "control": control,
        "training_days": n_train,
        "pvalues": pvalues,
    }
    p_null = source_pvalues(null, **kw)
    p_sim = source_pvalues(sim, **kw)
    train = p_null[:n_train].reshape(-1, p_null.shape[2])
    corr = estimate_source_correlation(train, sources=sim.source_names).matrix
    chosen = list(detectors or default_detectors(sim.source_names))
    if history is not None:
        w = stouffer_weights(source_pvalues(history, **kw), history, corr, window_days=window_days)
        chosen.append(Detector("fused_weighted", "stouffer", weights=tuple(float(x) for x in w)))
    return _Levels(
        detectors=chosen,
        null=[
            detector_levels(p_null, d, window_days=window_days, correlation=corr) for d in chosen
        ],
        sim=[detector_levels(p_sim, d, window_days=window_days, correlation=corr) for d in chosen],
        n_train=n_train,
    )


def _evaluate(
    levels: _Levels, sim: MultiSourceSimulation, target: float, detect_days: int
) -> pd.DataFrame:
    rows = []
    n_train = levels.n_train
    for det, lv_null, lv_sim in zip(levels.detectors, levels.null, levels.sim, strict=True):
        thr = calibrate_threshold(lv_null, target, from_day=n_train)
        alarm = np.where(np.isnan(lv_sim), False, lv_sim <= thr)
        alarm_null = np.where(np.isnan(lv_null), False, lv_null <= thr)
        null_rate = alarm_onsets(alarm_null)[n_train:].sum() / (
            (alarm.shape[0] - n_train) * alarm.shape[1] / 365.0
        )
        score = score_detector(alarm, sim, detect_days=detect_days, from_day=n_train)
        rows.append(
            {
                "detector": det.name,
                "threshold": thr,
                **{k: v for k, v in score.items() if k != "outbreaks"},
                "calibrated_false_alerts": float(null_rate),
                "outbreaks": int(score["outbreaks"]),
                "weights": None if det.weights is None else list(det.weights),
            }
        )
    return pd.DataFrame(rows)


def assess_multisource(
    sim: MultiSourceSimulation,
    null: MultiSourceSimulation,
    *,
    false_alerts_per_county_year: float = 4.0,
    method: str = "ears_c2",
    control: Mapping[str, Any] | None = None,
    window_days: int = 7,
    detect_days: int = 21,
    training_days: int | None = None,
    pvalues: Literal["empirical", "normal"] = "empirical",
    detectors: Sequence[Detector] | None = None,
    history: MultiSourceSimulation | None = None,
) -> pd.DataFrame:
    """Single sources against fused detection at the same false-alert rate (module docstring).

    sim: data with planted outbreaks; null: an outbreak-free simulation of the same design
    (same counties, sources and length; another seed), on which thresholds are calibrated.
    Both use the first ``training_days`` (default half the series) as the history that turns
    scores into p-values and estimates the correlation between sources; thresholds are
    calibrated, and detectors scored, on the days after it.

    history: a third simulation with outbreaks (past years whose outbreaks are known): if
    given, a detector ``fused_weighted`` (Stouffer with :func:`stouffer_weights` learned on it)
    is added.

    Returns one row per detector: detector, threshold, pod, median_days_to_detection,
    mean_days_to_detection, false_alerts_per_county_year (measured on ``sim``),
    calibrated_false_alerts (on ``null``), outbreaks, weights (``fused_weighted`` only).
    """
    levels = _levels(
        sim, null, history, detectors, method, control, window_days, training_days, pvalues
    )
    return _evaluate(levels, sim, false_alerts_per_county_year, detect_days)


def compare_detectors(
    *,
    n_regions: int = 100,
    n_days: int = 730,
    n_outbreaks: int = 200,
    targets: Sequence[float] = (1.0, 2.0, 4.0, 8.0),
    replicates: int = 3,
    seed: int = 1000,
    learn_weights: bool = True,
    method: str = "ears_c2",
    control: Mapping[str, Any] | None = None,
    window_days: int = 7,
    detect_days: int = 21,
    **simulation: Any,
) -> pd.DataFrame:
    """The whole comparison (what ``benchmarks/warning_assess.py`` prints): replicated
    simulations, every detector calibrated to each false-alert target, results pooled.

    Replicate r simulates an outbreak-free calibration set (seed ``seed + 2r``), the evaluated
    data (``seed + 2r + 1``) and, if ``learn_weights``, a history with known outbreaks
    (``seed + 4000 + r``) for ``fused_weighted``; ``simulation`` passes further keywords to
    :func:`simulate_multisource` (e.g. ``sources``, ``outbreak_size``). ``control`` defaults to
    EARS C2 with a 28-day baseline.

    Returns one row per target and detector: target, detector, pod (outbreaks detected over
    all replicates / outbreaks), pod_se (binomial standard error), median_days_to_detection
    and false_alerts_per_county_year and calibrated_false_alerts (means over replicates),
    outbreaks, vs_best_single (POD over the best single-source detector's at that target) and
    weights (mean learned weights, ``fused_weighted`` only).
    """
    from healthwatch.warning.multisource import simulate_multisource

    control = {"baseline": 28} if control is None else control
    frames = []
    for rep in range(int(replicates)):
        null = simulate_multisource(
            n_regions, n_days, n_outbreaks=0, seed=seed + 2 * rep, **simulation
        )
        sim = simulate_multisource(
            n_regions, n_days, n_outbreaks=n_outbreaks, seed=seed + 2 * rep + 1, **simulation
        )
        history = None
        if learn_weights:
            history = simulate_multisource(
                n_regions, n_days, n_outbreaks=n_outbreaks, seed=seed + 4000 + rep, **simulation
            )
        levels = _levels(sim, null, history, None, method, control, window_days, None, "empirical")
        for target in targets:
            frames.append(
                _evaluate(levels, sim, float(target), detect_days).assign(
                    target=float(target), replicate=rep
                )
            )
    allr = pd.concat(frames, ignore_index=True)
    allr["detected"] = allr["pod"] * allr["outbreaks"]
    out = (
        allr.groupby(["target", "detector"], sort=False)
        .agg(
            detected=("detected", "sum"),
            outbreaks=("outbreaks", "sum"),
            median_days_to_detection=("median_days_to_detection", "mean"),
            false_alerts_per_county_year=("false_alerts_per_county_year", "mean"),
            calibrated_false_alerts=("calibrated_false_alerts", "mean"),
        )
        .reset_index()
    )
    out["pod"] = out["detected"] / out["outbreaks"]
    out["pod_se"] = np.sqrt(out["pod"] * (1 - out["pod"]) / out["outbreaks"])
    single = ~out["detector"].str.startswith(("fused", "2_of"))
    best = out[single].groupby("target")["pod"].max()
    out["vs_best_single"] = out["pod"] / out["target"].map(best)
    weighted = allr.dropna(subset=["weights"])
    mean_w = (
        np.mean(np.array(weighted["weights"].tolist()), axis=0).tolist() if len(weighted) else None
    )
    out["weights"] = [mean_w if d == "fused_weighted" else None for d in out["detector"]]
    columns = [
        "target", "detector", "pod", "pod_se", "median_days_to_detection",
        "false_alerts_per_county_year", "calibrated_false_alerts", "outbreaks",
        "vs_best_single", "weights",
    ]  # fmt: skip
    return out[columns]
