"""The one data structure every detection method takes, and the one result every method returns.

Like R's ``sts`` object, :class:`Counts` holds counts over time x series; unlike it, one object
holds thousands of series so methods run on all of them at once. Time points are numbered
``t = 1..T`` as in R (the ``range`` argument of every method uses these numbers).

>>> import numpy as np
>>> c = Counts.from_array(np.array([[1, 0], [2, 3], [0, 1]]), freq=52, start=(2020, 1))
>>> c.n_times, c.n_series, c.names
(3, 2, ['1', '2'])
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.errors import InputError, Problem

__all__ = ["Counts", "DetectionResult", "evaluable_range", "resolve_range"]


def _as_2d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(
            [
                Problem(
                    f"{name} must be a 1-D or 2-D array (time x series), got {arr.ndim} dimensions",
                    f"{name} 必须是一维或二维数组（时间 × 序列），实际为 {arr.ndim} 维",
                    field=name,
                )
            ]
        )
    return arr


@dataclass
class Counts:
    """Counts over time (rows) x series (columns).

    observed: float64 array (T, N); NaN marks a missing count.
    freq: 52 for ISO weeks, 365 for days (12 months, 1 years also allowed).
    start: (year, period-within-year) of the first row, as R's ``start``.
    epoch: optional datetime64[D] of each row (the week's Monday for weekly data).
    population: optional (T, N) array (offset for farringtonFlexible, rates elsewhere).
    state: optional (T, N) boolean array marking true outbreak cells (for evaluation).
    """

    observed: np.ndarray
    freq: int = 52
    start: tuple[int, int] = (2000, 1)
    names: list[str] = field(default_factory=list)
    epoch: np.ndarray | None = None
    population: np.ndarray | None = None
    state: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.observed = _as_2d(self.observed, "observed")
        t, n = self.observed.shape
        if not self.names:
            self.names = [str(i + 1) for i in range(n)]
        self.names = [str(x) for x in self.names]
        problems: list[Problem] = []
        if len(self.names) != n:
            problems.append(
                Problem(
                    f"{len(self.names)} names for {n} series",
                    f"序列名称 {len(self.names)} 个，但序列有 {n} 条",
                    field="names",
                )
            )
        if self.freq not in (1, 12, 52, 365):
            problems.append(
                Problem(
                    f"freq must be 52 (weekly), 365 (daily), 12 or 1, got {self.freq}",
                    f"freq 必须为 52（周）、365（日）、12 或 1，实际为 {self.freq}",
                    field="freq",
                )
            )
        obs = self.observed[~np.isnan(self.observed)]
        if obs.size and (obs.min() < 0 or not np.all(obs == np.round(obs))):
            finite = ~np.isnan(self.observed)
            bad = np.argwhere(
                finite & ((self.observed < 0) | (self.observed != np.round(self.observed)))
            )
            r, s = (int(bad[0, 0]), int(bad[0, 1])) if bad.size else (0, 0)
            problems.append(
                Problem(
                    f"counts must be non-negative integers; series {self.names[s]!r} "
                    f"at t={r + 1} has {self.observed[r, s]}",
                    f"计数必须为非负整数；序列 {self.names[s]!r} 在 t={r + 1} 处为 "
                    f"{self.observed[r, s]}",
                    field="count",
                )
            )
        for name in ("population", "state"):
            value = getattr(self, name)
            if value is None:
                continue
            raw = np.asarray(value, dtype=np.float64)
            arr = np.broadcast_to(raw if raw.ndim == 0 else _as_2d(raw, name), (t, n)).copy()
            if name == "state":
                arr = arr.astype(bool)
            setattr(self, name, arr)
        if self.epoch is not None:
            self.epoch = np.asarray(self.epoch, dtype="datetime64[D]")
            if self.epoch.shape != (t,):
                problems.append(
                    Problem(
                        f"epoch has {self.epoch.shape[0]} dates for {t} time points",
                        f"epoch 有 {self.epoch.shape[0]} 个日期，但时间点有 {t} 个",
                        field="epoch",
                    )
                )
            elif t > 1 and np.any(np.diff(self.epoch.astype(np.int64)) <= 0):
                problems.append(
                    Problem(
                        "epoch dates must be strictly increasing",
                        "epoch 日期必须严格递增",
                        field="epoch",
                    )
                )
        if problems:
            raise InputError(problems)

    # -- shape -----------------------------------------------------------------------------
    @property
    def n_times(self) -> int:
        return int(self.observed.shape[0])

    @property
    def n_series(self) -> int:
        return int(self.observed.shape[1])

    @property
    def t(self) -> np.ndarray:
        """Time point numbers 1..T, as R numbers them."""
        return np.arange(1, self.n_times + 1)

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_array(
        cls,
        observed: Any,
        *,
        freq: int = 52,
        start: tuple[int, int] = (2000, 1),
        names: Sequence[str] | None = None,
        population: Any = None,
        state: Any = None,
        epoch: Any = None,
    ) -> Counts:
        return cls(
            observed=np.asarray(observed, dtype=np.float64),
            freq=freq,
            start=start,
            names=list(names) if names is not None else [],
            population=population,
            state=state,
            epoch=epoch,
        )

    @classmethod
    def from_wide(cls, frame: pd.DataFrame, *, freq: int = 52, **kw: Any) -> Counts:
        """One column per series, one row per time point; a DatetimeIndex becomes the epoch."""
        epoch = None
        if isinstance(frame.index, pd.DatetimeIndex):
            epoch = frame.index.values.astype("datetime64[D]")
        return cls.from_array(
            frame.to_numpy(dtype=np.float64),
            freq=freq,
            names=[str(c) for c in frame.columns],
            epoch=epoch,
            **kw,
        )

    @classmethod
    def from_long(
        cls,
        frame: pd.DataFrame,
        *,
        freq: int = 52,
        start: tuple[int, int] = (2000, 1),
        file: str | None = None,
    ) -> Counts:
        """Columns ``series, t, count[, date][, population][, state]``; t is 1-based.

        Every series must cover the same t = 1..T without gaps or repeats; errors name the row
        (counting the header as line 1, as a spreadsheet does).
        """
        problems: list[Problem] = []
        missing = [c for c in ("series", "t", "count") if c not in frame.columns]
        if missing:
            raise InputError(
                [
                    Problem(
                        f"missing column(s) {', '.join(missing)}; expected series,t,count",
                        f"缺少列 {', '.join(missing)}；应为 series,t,count",
                        file=file,
                        line=1,
                    )
                ]
            )
        t_col = pd.to_numeric(frame["t"], errors="coerce")
        c_col = pd.to_numeric(frame["count"], errors="coerce")
        for i in np.flatnonzero(t_col.isna() | (t_col < 1) | (t_col != np.round(t_col))):
            problems.append(
                Problem(
                    f"t must be an integer >= 1, got '{frame['t'].iloc[i]}'",
                    f"t 必须为不小于 1 的整数，实际为 '{frame['t'].iloc[i]}'",
                    file=file,
                    line=int(i) + 2,
                    field="t",
                )
            )
        raw_count = frame["count"]
        blank = raw_count.isna() | raw_count.astype(str).str.strip().eq("")
        bad_count = ~blank & (c_col.isna() | (c_col < 0) | (c_col != np.round(c_col)))
        for i in np.flatnonzero(bad_count.to_numpy()):
            problems.append(
                Problem(
                    f"count must be a non-negative integer (empty for missing), "
                    f"got '{raw_count.iloc[i]}'",
                    f"count 必须为非负整数（缺失请留空），实际为 '{raw_count.iloc[i]}'",
                    file=file,
                    line=int(i) + 2,
                    field="count",
                )
            )
        if problems:
            raise InputError(problems[:50])
        series = frame["series"].astype(str)
        dup = pd.DataFrame({"s": series, "t": t_col}).duplicated(keep="first")
        for i in np.flatnonzero(dup.to_numpy()):
            problems.append(
                Problem(
                    f"series {series.iloc[i]!r} has t={int(t_col.iloc[i])} twice",
                    f"序列 {series.iloc[i]!r} 的 t={int(t_col.iloc[i])} 重复",
                    file=file,
                    line=int(i) + 2,
                    field="t",
                )
            )
        names = list(dict.fromkeys(series))
        n_times = int(t_col.max()) if len(t_col) else 0
        col = pd.Index(names).get_indexer(series)
        row = t_col.to_numpy(dtype=np.int64) - 1
        per_series = np.bincount(col, minlength=len(names))
        for s in np.flatnonzero(per_series != n_times):
            problems.append(
                Problem(
                    f"series {names[s]!r} has {per_series[s]} time points, expected t=1..{n_times} "
                    "without gaps (write an empty count for a missing value)",
                    f"序列 {names[s]!r} 有 {per_series[s]} 个时间点，应为 t=1..{n_times} 且无缺口"
                    "（缺失值请将 count 留空）",
                    file=file,
                    field="t",
                )
            )
        if problems:
            raise InputError(problems[:50])
        observed = np.full((n_times, len(names)), np.nan)
        observed[row, col] = c_col.to_numpy(dtype=np.float64)
        population = None
        if "population" in frame.columns:
            population = np.full_like(observed, np.nan)
            population[row, col] = pd.to_numeric(frame["population"]).to_numpy(np.float64)
        state = None
        if "state" in frame.columns:
            state = np.zeros(observed.shape, dtype=bool)
            state[row, col] = frame["state"].astype(bool).to_numpy()
        epoch = None
        if "date" in frame.columns:
            dates = np.full(n_times, np.datetime64("NaT"), dtype="datetime64[D]")
            dates[row] = pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[D]")
            epoch = dates
        return cls(
            observed=observed,
            freq=freq,
            start=start,
            names=names,
            population=population,
            state=state,
            epoch=epoch,
        )

    # -- selection -------------------------------------------------------------------------
    def select(self, columns: slice | Sequence[int] | np.ndarray) -> Counts:
        """Some of the series (used for chunking and for distributing across workers).

        A slice gives views on this object's arrays (no copy); indices or a boolean mask give
        copies. The piece is not validated again: its data were checked when this object was
        built, and re-checking every chunk of a large batch cost more than detecting on it.
        """

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[:, columns]

        if isinstance(columns, slice):
            names = self.names[columns]
        else:
            columns = np.arange(self.n_series)[columns].reshape(-1)  # ints or a boolean mask
            names = [self.names[i] for i in columns]
        piece = copy.copy(self)  # a shallow copy: no __post_init__, so no re-validation
        piece.observed = self.observed[:, columns]
        piece.names = names
        piece.population = pick(self.population)
        piece.state = pick(self.state)
        return piece

    def to_long(self) -> pd.DataFrame:
        t, n = self.observed.shape
        out = pd.DataFrame(
            {
                "series": np.tile(np.asarray(self.names, dtype=object), t),
                "t": np.repeat(np.arange(1, t + 1), n),
                "count": self.observed.reshape(-1),
            }
        )
        if self.population is not None:
            out["population"] = self.population.reshape(-1)
        return out


def resolve_range(counts: Counts, range: Any, default_start: int) -> np.ndarray:
    """Turn R's ``range`` (1-based time points) into a sorted int array, validated.

    ``None`` means ``default_start..T``; a ``slice`` or ``"a:b"`` string is inclusive like R's
    ``a:b``.
    """
    n = counts.n_times
    if range is None:
        rng = np.arange(max(default_start, 1), n + 1)
    elif isinstance(range, str):
        a, _, b = range.partition(":")
        rng = np.arange(int(a), int(b or a) + 1)
    elif isinstance(range, slice):
        rng = np.arange(range.start or 1, (range.stop or n) + 1)
    else:
        rng = np.asarray(range, dtype=np.int64).reshape(-1)
    if rng.size == 0 or rng.min() < 1 or rng.max() > n:
        raise InputError(
            [
                Problem(
                    f"range must lie within t=1..{n}",
                    f"range 必须位于 t=1..{n} 之内",
                    field="range",
                )
            ]
        )
    if np.any(np.diff(rng) <= 0):
        raise InputError([Problem("range must be increasing", "range 必须严格递增", field="range")])
    return rng


def evaluable_range(
    counts: Counts,
    range: Any,
    first: int,
    *,
    method: str,
    need_en: str,
    need_zh: str,
    method_zh: str | None = None,
) -> np.ndarray:
    """``resolve_range`` for a method that can evaluate only ``t >= first``.

    Refuses, with the first time point that can be evaluated and why (``need_en``/``need_zh``,
    e.g. "b years of reference weeks"), both a history too short for any evaluation and a range
    that starts too early, instead of the cryptic errors R gives for the same input.
    """
    name_zh = method_zh or method
    if counts.n_times < first:
        raise InputError(
            [
                Problem(
                    f"{method} needs at least {first} time points ({need_en}), the series have "
                    f"{counts.n_times}",
                    f"{name_zh} 至少需要 {first} 个时间点（{need_zh}），"
                    f"序列只有 {counts.n_times} 个",
                    field="range",
                )
            ]
        )
    rng = resolve_range(counts, range, first)
    if rng[0] < first:
        raise InputError(
            [
                Problem(
                    f"{method} can evaluate t >= {first} only ({need_en}); range starts at "
                    f"t={rng[0]}",
                    f"{name_zh} 只能评估 t >= {first} 的时间点（{need_zh}）；"
                    f"range 从 t={rng[0]} 开始",
                    field="range",
                )
            ]
        )
    return rng


@dataclass
class DetectionResult:
    """What every method returns, one row per evaluated time point and one column per series.

    expected: the baseline prediction; upperbound: the alarm threshold; alarm: the decision;
    score: the method's statistic (e.g. (y - mu)/(U - mu) for Farrington, C for EARS); NaN
    where the method defines none. ``t`` holds the 1-based time points of the rows.
    """

    method: str
    t: np.ndarray
    names: list[str]
    expected: np.ndarray
    upperbound: np.ndarray
    alarm: np.ndarray
    score: np.ndarray
    observed: np.ndarray
    control: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        r, n = self.expected.shape
        return pd.DataFrame(
            {
                "series": np.tile(np.asarray(self.names, dtype=object), r),
                "t": np.repeat(self.t, n),
                "observed": self.observed.reshape(-1),
                "expected": self.expected.reshape(-1),
                "upperbound": self.upperbound.reshape(-1),
                "alarm": self.alarm.reshape(-1),
                "score": self.score.reshape(-1),
            }
        )

    def to_json(self) -> dict[str, Any]:
        """The result as plain JSON values: one object per series, NaN as null.

        ``control`` keeps the parameters the method ran with (tuples and arrays as lists);
        ``alarms`` counts the alarms over all series.
        """
        alarm = np.asarray(self.alarm, dtype=bool)

        def col(a: np.ndarray, j: int) -> list[float | None]:
            return [_json_number(float(v)) for v in a[:, j]]

        return {
            "method": self.method,
            "control": {k: _json_value(v) for k, v in self.control.items()},
            "t": self.t.tolist(),
            "series": [
                {
                    "name": name,
                    "observed": col(self.observed, j),
                    "expected": col(self.expected, j),
                    "upperbound": col(self.upperbound, j),
                    "alarm": [bool(a) for a in alarm[:, j]],
                    "score": col(self.score, j),
                }
                for j, name in enumerate(self.names)
            ],
            "alarms": int(alarm.sum()),
        }

    @staticmethod
    def concat(parts: Sequence[DetectionResult]) -> DetectionResult:
        """Join results computed on disjoint groups of series (chunks, Dask partitions)."""
        first = parts[0]
        return DetectionResult(
            method=first.method,
            t=first.t,
            names=[n for p in parts for n in p.names],
            expected=np.hstack([p.expected for p in parts]),
            upperbound=np.hstack([p.upperbound for p in parts]),
            alarm=np.hstack([p.alarm for p in parts]),
            score=np.hstack([p.score for p in parts]),
            observed=np.hstack([p.observed for p in parts]),
            control=first.control,
        )


def _json_number(x: Any) -> Any:
    """NaN as None (JSON null); anything else unchanged."""
    return None if isinstance(x, float) and np.isnan(x) else x


def _json_value(value: Any) -> Any:
    """A control value as JSON: tuples and arrays become lists, NaN becomes null."""
    if isinstance(value, np.ndarray):
        return _json_value(value.tolist())
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return _json_value(value.item())
    return _json_number(value)
