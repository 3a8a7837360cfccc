"""How well a method detects known outbreaks: POD, sensitivity, specificity, FPR, delay.

Input is a :class:`DetectionResult` and the true outbreak cells (``Counts.state``). An outbreak is
a run of consecutive outbreak cells of one series inside the evaluated range.

- POD (probability of detection): the share of outbreaks with at least one alarm in one of
  their cells.
- sensitivity = TP / (TP + FN), specificity = TN / (TN + FP), per cell, as R's ``algo.quality``.
- false positive rate = FP / (FP + TN): the share of outbreak-free cells with an alarm.
- delay: time points from an outbreak's first cell to its first alarm, for detected outbreaks.
- ``mlag``: R's lag (first alarm within ``penalty`` time points of each outbreak start, before
  the next start; ``penalty`` when there is none), averaged over outbreaks.

:func:`noufaily_assessment` runs a method on a Noufaily scenario as Noufaily et al. (2013) did:
POD on series with an outbreak in the evaluation weeks, false positive rate on the same series
without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance.series import Counts, DetectionResult

__all__ = [
    "Assessment",
    "assess",
    "noufaily_assessment",
    "noufaily_table",
    "quality",
]


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


@dataclass
class Assessment:
    """Metrics of one method on one set of series; ``per_outbreak`` has one row per outbreak."""

    method: str
    tp: int
    fp: int
    tn: int
    fn: int
    n_outbreaks: int
    n_detected: int
    delays: np.ndarray
    per_outbreak: pd.DataFrame = field(repr=False)

    @property
    def sensitivity(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> float:
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def fpr(self) -> float:
        """False positive rate on outbreak-free cells."""
        return _ratio(self.fp, self.fp + self.tn)

    @property
    def pod(self) -> float:
        return _ratio(self.n_detected, self.n_outbreaks)

    @property
    def mean_delay(self) -> float:
        return float(self.delays.mean()) if self.delays.size else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "TP": self.tp,
            "FP": self.fp,
            "TN": self.tn,
            "FN": self.fn,
            "sensitivity": self.sensitivity,
            "specificity": self.specificity,
            "fpr": self.fpr,
            "outbreaks": self.n_outbreaks,
            "detected": self.n_detected,
            "pod": self.pod,
            "mean_delay": self.mean_delay,
            "median_delay": float(np.median(self.delays)) if self.delays.size else float("nan"),
        }


def _state_in_range(result: DetectionResult, state: Counts | np.ndarray | None) -> np.ndarray:
    if isinstance(state, Counts):
        state = state.state
    if state is None:
        raise InputError(
            [
                Problem(
                    "no outbreak state given: simulate series or add a 'state' column",
                    "未提供真实暴发状态：请使用模拟序列或添加 state 列",
                    field="state",
                )
            ]
        )
    state = np.asarray(state, dtype=bool)
    if state.ndim == 1:
        state = state[:, None]
    n = result.expected.shape[1]
    if state.shape[1] != n or state.shape[0] < int(result.t.max()):
        raise InputError(
            [
                Problem(
                    f"state has shape {state.shape}, the result covers t={int(result.t.max())} "
                    f"x {n} series",
                    f"state 的形状为 {state.shape}，结果覆盖 t={int(result.t.max())} x {n} 条序列",
                    field="state",
                )
            ]
        )
    return np.asarray(state[result.t - 1])


def _alarm_matrix(result: DetectionResult) -> tuple[np.ndarray, np.ndarray]:
    """(alarm as bool, cells where the method gave a decision)."""
    raw = np.asarray(result.alarm)
    if raw.dtype == bool:
        return raw, np.ones(raw.shape, dtype=bool)
    vals = raw.astype(float)
    known = ~np.isnan(vals)
    return np.where(known, vals, 0.0) > 0, known


def assess(
    result: DetectionResult,
    state: Counts | np.ndarray | None,
    *,
    outbreak_filter: np.ndarray | None = None,
) -> Assessment:
    """Metrics of ``result`` against the true outbreak cells ``state`` (T x N, or a Counts).

    Cells where the method gave no decision (NaN alarm) are left out of the counts.
    outbreak_filter: optional (N,) bool; only outbreaks of those series count towards POD.
    """
    st = _state_in_range(result, state)
    alarm, known = _alarm_matrix(result)
    tp = int((alarm & st & known).sum())
    fp = int((alarm & ~st & known).sum())
    tn = int((~alarm & ~st & known).sum())
    fn = int((~alarm & st & known).sum())
    # runs of outbreak cells, numbered over series-major order
    r, n = st.shape
    stT, alT = st.T, (alarm & known).T  # (N, R): runs along time
    begin = stT & ~np.concatenate([np.zeros((n, 1), bool), stT[:, :-1]], axis=1)
    run_id = np.cumsum(begin.reshape(-1)).reshape(n, r) - 1
    n_runs = int(begin.sum())
    col, start = np.nonzero(begin)
    pos = np.broadcast_to(np.arange(r), (n, r))
    hit = stT & alT
    first = np.full(n_runs, np.iinfo(np.int64).max)
    np.minimum.at(first, run_id[hit], pos[hit])
    detected = first < np.iinfo(np.int64).max
    keep = np.ones(n_runs, dtype=bool) if outbreak_filter is None else outbreak_filter[col]
    delay = np.where(detected, first - start, -1)
    per = pd.DataFrame(
        {
            "series": np.asarray(result.names, dtype=object)[col],
            "start": result.t[start],
            "length": np.bincount(run_id[stT], minlength=n_runs),
            "detected": detected,
            "delay": np.where(detected, delay, np.nan),
        }
    )[keep]
    return Assessment(
        method=result.method,
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
        n_outbreaks=int(keep.sum()),
        n_detected=int((detected & keep).sum()),
        delays=delay[detected & keep].astype(float),
        per_outbreak=per.reset_index(drop=True),
    )


def quality(alarm: Any, state: Any, penalty: int = 20) -> dict[str, float]:
    """R's ``algo.quality`` for one series: TP, FP, TN, FN, sens, spec, dist, mlag.

    dist is the distance of (1 - spec, sens) from (0, 1); mlag the mean lag over outbreak starts
    (a start is a state cell after a non-state cell, or the first cell), each lag the steps to the
    first alarm within ``penalty`` steps and before the next start, ``penalty`` if none.
    """
    a = np.asarray(alarm, dtype=bool).reshape(-1)
    s = np.asarray(state, dtype=bool).reshape(-1)
    tp, fp = int((a & s).sum()), int((a & ~s).sum())
    tn, fn = int((~a & ~s).sum()), int((~a & s).sum())
    sens, spec = _ratio(tp, tp + fn), _ratio(tn, tn + fp)
    starts = np.flatnonzero(s & ~np.concatenate([[False], s[:-1]]))
    ends = np.append(starts[1:], a.size)[: starts.size]
    lags = []
    for b, e in zip(starts, ends, strict=True):
        window = np.flatnonzero(a[b : min(e, b + penalty)])
        lags.append(int(window[0]) if window.size else penalty)
    return {
        "TP": tp,
        "FP": fp,
        "TN": tn,
        "FN": fn,
        "sens": sens,
        "spec": spec,
        "dist": float(np.hypot(1 - spec, 1 - sens)),
        "mlag": float(np.mean(lags)) if lags else 0.0,
    }


RunFn = Callable[..., DetectionResult]


def noufaily_assessment(
    method: str | RunFn,
    scenario: int,
    *,
    n_series: int = 100,
    seed: int = 0,
    client: Any = None,
    label: str | None = None,
    **control: Any,
) -> dict[str, Any]:
    """One Noufaily scenario: POD, sensitivity, delay with the current outbreak; FPR without it.

    The method is run on the evaluation weeks 576-624 of ``n_series`` replicates (through the
    engine, so ``client`` may be a Dask client). POD counts only the outbreak that starts in
    the evaluation weeks; POD by outbreak size k is returned as ``pod_k1`` .. ``pod_k10``.
    """
    from healthwatch.surveillance import engine
    from healthwatch.surveillance.simulate import simulate_noufaily

    with_now = simulate_noufaily(scenario, n_series, seed=seed)
    without = simulate_noufaily(scenario, n_series, seed=seed, current_outbreak=False)
    lo, hi = with_now.evaluation
    rng = f"{lo}:{hi}"
    res_now = engine.run(with_now.counts, method, client=client, range=rng, **control)
    res_free = engine.run(without.counts, method, client=client, range=rng, **control)
    a_now = assess(res_now, with_now.counts)
    a_free = assess(res_free, without.counts)
    now = with_now.outbreaks[with_now.outbreaks.current & (with_now.outbreaks.cases > 0)]
    # detection of the current outbreak: an alarm between its start and its last case
    alarm, _ = _alarm_matrix(res_now)
    rows = np.arange(alarm.shape[0])[:, None]
    a0, a1 = now.start.to_numpy() - lo, now.end.to_numpy() - lo
    inside = (rows >= a0[None, :]) & (rows <= a1[None, :])
    hits = alarm[:, now.column.to_numpy()] & inside
    detected = hits.any(axis=0)
    delays = np.where(detected, hits.argmax(axis=0) - a0, -1)
    out: dict[str, Any] = {
        "scenario": scenario,
        "method": label or (method if isinstance(method, str) else res_now.method),
        "n_series": n_series,
        "fpr": a_free.fpr,
        "pod": _ratio(detected.sum(), len(now)),
        "sensitivity": a_now.sensitivity,
        "specificity": a_now.specificity,
        "mean_delay": float(delays[detected].mean()) if detected.any() else float("nan"),
    }
    for k in range(1, 11):
        sel = now.k.to_numpy() == k
        out[f"pod_k{k}"] = _ratio(detected[sel].sum(), sel.sum())
    return out


def noufaily_table(
    methods: Mapping[str, tuple[str | RunFn, Mapping[str, Any]]],
    scenarios: Iterable[int] = range(1, 43),
    *,
    n_series: int = 100,
    seed: int = 0,
    client: Any = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Noufaily assessments of several methods (label -> (method, control)) on many scenarios.

    Every method sees the same simulated series of a scenario (seed + scenario number).
    """
    rows = []
    for sc in scenarios:
        for label, (method, control) in methods.items():
            rows.append(
                noufaily_assessment(
                    method,
                    sc,
                    n_series=n_series,
                    seed=seed + sc,
                    client=client,
                    label=label,
                    **dict(control),
                )
            )
            if progress is not None:
                progress(f"scenario {sc} {label}")
    return pd.DataFrame(rows)
