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
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance import calendar

if TYPE_CHECKING:  # pandas is imported where a table is built: detection needs none of it
    import pandas as pd

__all__ = ["Counts", "DetectionResult", "evaluable_range", "resolve_range"]


_FREQ_EN = {52: "weekly", 12: "monthly", 365: "daily", 1: "yearly"}
_FREQ_ZH = {52: "周", 12: "月", 365: "日", 1: "年"}


def _numbers(column: pd.Series) -> np.ndarray:
    """A column as numbers: numeric columns as they are, text through ``pd.to_numeric``.

    Text that is not a number (and empty cells) becomes NaN; the caller decides what that means.
    """
    import pandas as pd

    if column.dtype.kind in "iufb":
        return column.to_numpy()
    text = column.astype(str).str.strip()
    return pd.to_numeric(text.where(text != "", None), errors="coerce").to_numpy(dtype=np.float64)


def _factorize(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values as text, in order of first appearance; code of each row).

    Works on text, numbers and categoricals alike without turning every cell into a string.
    """
    import pandas as pd

    codes, uniques = pd.factorize(column, sort=False)
    labels = np.asarray([str(u) for u in np.asarray(uniques, dtype=object)], dtype=object)
    if codes.size and codes.min() < 0:  # missing cells: their own label
        labels = np.append(labels, "")
        codes = np.where(codes < 0, labels.size - 1, codes)
    if len(set(labels.tolist())) != labels.size:  # e.g. 1 and "1": merge by text
        text_codes, text_labels = pd.factorize(pd.Series(labels[codes], dtype=object))
        return np.asarray(text_labels, dtype=object), text_codes.astype(np.int64)
    return labels, codes.astype(np.int64)


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
    freq: 52 for weeks, 12 for months, 365 for days (1 for years); 0 (the default) takes it
      from the dates, or 52 when there are none. Beside dates a different freq is an error.
    start: (year, period-within-year) of the first row, as R's ``start``.
    epoch: optional datetime64[D] of each row (for ISO weeks their Monday, for months their
      first day). With dates, the Farrington methods find each past year's reference period
      by calendar, as R does for an ``sts`` with ``epochAsDate = TRUE`` (see
      :mod:`healthwatch.surveillance.calendar`); the dates must follow each other at ``freq``
      without gaps or repeats.
    population: optional (T, N) array (offset for farringtonFlexible, rates elsewhere).
    state: optional (T, N) boolean array marking true outbreak cells (for evaluation).
    """

    observed: np.ndarray
    freq: int = 0
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
        if self.epoch is not None:
            problems.extend(self._check_epoch(t))
        elif self.freq == 0:
            self.freq = 52
        if self.freq not in (1, 12, 52, 365):
            problems.append(
                Problem(
                    f"freq must be 52 (weekly), 12 (monthly), 365 (daily) or 1, got {self.freq}",
                    f"freq 必须为 52（周）、12（月）、365（日）或 1，实际为 {self.freq}",
                    field="freq",
                )
            )
        a = self.observed
        with np.errstate(invalid="ignore"):  # NaN (a missing count) compares False
            whole = np.count_nonzero((a >= 0) & (a == np.rint(a)))
        if whole + np.count_nonzero(np.isnan(a)) != a.size:
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
        if problems:
            raise InputError(problems)

    def _check_epoch(self, t: int) -> list[Problem]:
        """Dates: one per time point, increasing at ``freq`` without gaps; infers ``freq``."""
        try:
            epoch = np.asarray(self.epoch, dtype="datetime64[D]")
        except (ValueError, TypeError) as exc:
            return [
                Problem(f"epoch must be dates: {exc}", f"epoch 必须为日期：{exc}", field="epoch")
            ]
        self.epoch = epoch
        if epoch.shape != (t,):
            return [
                Problem(
                    f"epoch has {epoch.size} dates for {t} time points",
                    f"epoch 有 {epoch.size} 个日期，但时间点有 {t} 个",
                    field="epoch",
                )
            ]
        if np.isnat(epoch).any():
            i = int(np.flatnonzero(np.isnat(epoch))[0])
            return [Problem(f"t={i + 1} has no date", f"t={i + 1} 没有日期", field="epoch")]
        inferred = calendar.infer_freq(epoch)
        if self.freq == 0:
            self.freq = inferred
        elif self.freq != inferred and self.freq != 1:
            name = {52: "weekly (52)", 12: "monthly (12)", 365: "daily (365)", 1: "yearly (1)"}[
                inferred
            ]
            name_zh = {52: "周（52）", 12: "月（12）", 365: "日（365）", 1: "年（1）"}[inferred]
            return [
                Problem(
                    f"freq={self.freq} was given but the dates are {name}; leave freq out "
                    "(it is taken from the dates) or give the dates of the right periods",
                    f"指定了 freq={self.freq}，但日期为{name_zh}数据；"
                    "请不要指定 freq（将由日期推断），"
                    "或提供正确的日期",
                    field="freq",
                )
            ]
        return [
            Problem(p.en, p.zh, field="epoch") for p in calendar.irregularities(epoch, self.freq)
        ] or (
            [
                Problem(
                    "epoch dates must be strictly increasing",
                    "epoch 日期必须严格递增",
                    field="epoch",
                )
            ]
            if t > 1 and np.any(np.diff(epoch.astype(np.int64)) <= 0)
            else []
        )

    # -- shape -----------------------------------------------------------------------------
    @property
    def calendar(self) -> bool:
        """Whether methods that R aligns by date (Farrington) use the calendar here."""
        return self.epoch is not None and self.freq in calendar.CALENDAR_FREQS

    def dates_of(self, t: np.ndarray) -> np.ndarray | None:
        """The dates of the 1-based time points ``t`` (None for a series without dates)."""
        if self.epoch is None:
            return None
        return self.epoch[np.asarray(t, dtype=np.int64) - 1]

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
        freq: int = 0,
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
    def from_wide(cls, frame: pd.DataFrame, *, freq: int = 0, **kw: Any) -> Counts:
        """One column per series, one row per time point; a DatetimeIndex becomes the epoch."""
        import pandas as pd

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
        freq: int = 0,
        start: tuple[int, int] = (2000, 1),
        file: str | None = None,
        first_line: int = 2,
    ) -> Counts:
        """Columns ``series, count`` and ``t`` and/or ``date`` [, ``population``][, ``state``].

        ``t`` numbers the time points 1..T; ``date`` gives them as dates (``2024-07-01``), ISO
        weeks (``2024-W53``) or months (``2024-07``), and then ``t`` may be left out (it follows
        from the dates) and ``freq`` too (it follows from the spacing; another ``freq`` is an
        error). Every series must cover the same time points without gaps or repeats; errors
        name the row (``first_line`` is the file line of the frame's first row: 2 below a
        header, as a spreadsheet counts). Columns may hold strings or numbers.
        """
        problems: list[Problem] = []

        def bad(i: int, en: str, zh: str, fld: str) -> None:
            problems.append(Problem(en, zh, file=file, line=int(i) + first_line, field=fld))

        has_date = "date" in frame.columns
        missing = [c for c in ("series", "count") if c not in frame.columns]
        if "t" not in frame.columns and not has_date:
            missing.append("t")
        if missing:
            raise InputError(
                [
                    Problem(
                        f"missing column(s) {', '.join(missing)}; expected series,t,count "
                        "or series,date,count",
                        f"缺少列 {', '.join(missing)}；应为 series,t,count 或 series,date,count",
                        file=file,
                        line=1,
                    )
                ]
            )
        n_rows = len(frame)
        if n_rows == 0:
            raise InputError(
                [Problem("the file has no data rows", "文件没有数据行", file=file, line=first_line)]
            )
        c_col = _numbers(frame["count"])
        raw_count = frame["count"]
        if raw_count.dtype.kind not in "iufb":
            blank = (
                raw_count.isna().to_numpy() | raw_count.astype(str).str.strip().eq("").to_numpy()
            )
        else:
            blank = np.isnan(c_col) if c_col.dtype.kind == "f" else np.zeros(n_rows, bool)
        c_val = c_col.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad_count = ~blank & ~(np.isfinite(c_val) & (c_val >= 0) & (c_val == np.round(c_val)))
            bad_count |= ~blank & (c_val > 2**53)
        for i in np.flatnonzero(bad_count)[:50]:
            bad(
                i,
                "count must be a non-negative integer (empty for missing), "
                f"got '{raw_count.iloc[i]}'",
                f"count 必须为非负整数（缺失请留空），实际为 '{raw_count.iloc[i]}'",
                "count",
            )
        t_val: np.ndarray | None = None
        if "t" in frame.columns:
            t_num = _numbers(frame["t"]).astype(np.float64)
            with np.errstate(invalid="ignore"):
                bad_t = ~(np.isfinite(t_num) & (t_num >= 1) & (t_num == np.round(t_num)))
                bad_t |= t_num > 10_000_000
            for i in np.flatnonzero(bad_t)[:50]:
                bad(
                    i,
                    f"t must be an integer >= 1, got '{frame['t'].iloc[i]}'",
                    f"t 必须为不小于 1 的整数，实际为 '{frame['t'].iloc[i]}'",
                    "t",
                )
            if not bad_t.any():
                t_val = t_num.astype(np.int64)
        row_dates: np.ndarray | None = None
        date_freq = 0
        if has_date:
            labels, label_idx = _factorize(frame["date"])
            try:
                uniq, date_freq = calendar.parse_periods(list(labels))
            except ValueError as exc:
                first_row = np.zeros(len(labels), dtype=np.int64)
                first_row[label_idx[::-1]] = np.arange(n_rows)[::-1]
                for p in exc.args[0][:50]:
                    bad(int(first_row[p.position]), p.en, p.zh, "date")
            else:
                row_dates = uniq[label_idx]
        if problems:
            raise InputError(problems[:50])
        names_arr, col = _factorize(frame["series"])
        names = [str(x) for x in names_arr]
        if row_dates is not None:
            days = row_dates.astype(np.int64)
            epoch_days = np.unique(days)
            date_row = np.searchsorted(epoch_days, days)
            epoch = epoch_days.astype("datetime64[D]")
            if freq and date_freq and freq != date_freq and freq != 1:
                raise InputError(
                    [
                        Problem(
                            f"--freq {freq} was given but the dates are "
                            f"{_FREQ_EN[date_freq]} ({date_freq}); leave --freq out, it is "
                            "taken from the dates",
                            f"指定了 --freq {freq}，但日期为{_FREQ_ZH[date_freq]}数据"
                            f"（{date_freq}）；"
                            "请不要指定 --freq，它由日期推断",
                            file=file,
                            field="date",
                        )
                    ]
                )
            freq = freq or date_freq
            # gaps and repeats in the calendar, located at the first row of the later date
            first_row = np.full(epoch.size, n_rows, dtype=np.int64)
            np.minimum.at(first_row, date_row, np.arange(n_rows))
            for p in calendar.irregularities(epoch, freq)[:50]:
                bad(int(first_row[p.position]), p.en, p.zh, "date")
            if t_val is not None:
                # t and date must tell the same story
                expect = np.full(epoch.size, -1, dtype=np.int64)
                expect[date_row] = t_val
                clash = np.flatnonzero(t_val != expect[date_row])
                off = np.flatnonzero(t_val - 1 != date_row)
                for i in (clash if clash.size else off)[:20]:
                    bad(
                        i,
                        f"t={t_val[i]} does not match date '{frame['date'].iloc[i]}' (t counts "
                        "the dates from 1)",
                        f"t={t_val[i]} 与日期 '{frame['date'].iloc[i]}' 不一致"
                        "（t 从 1 开始为日期编号）",
                        "t",
                    )
            row = date_row
            what, what_zh = "date", "日期"
        else:
            assert t_val is not None
            epoch = None
            row = t_val - 1
            what, what_zh = "t", "t"
        if problems:
            raise InputError(problems[:50])
        n_times = int(row.max()) + 1
        key = col.astype(np.int64) * n_times + row
        if np.bincount(key, minlength=len(names) * n_times).max() > 1:
            import pandas as pd

            dup = pd.Series(key).duplicated(keep="first").to_numpy()
        else:
            dup = np.zeros(0, dtype=bool)
        for i in np.flatnonzero(dup)[:50]:
            label = frame["date"].iloc[i] if epoch is not None else int(row[i]) + 1
            bad(
                i,
                f"series {names[col[i]]!r} has {what} {label} twice",
                f"序列 {names[col[i]]!r} 的{what_zh} {label} 重复",
                what,
            )
        if problems:
            raise InputError(problems[:50])
        per_series = np.bincount(col, minlength=len(names))
        for s in np.flatnonzero(per_series != n_times)[:50]:
            have = np.zeros(n_times, dtype=bool)
            have[row[col == s]] = True
            gone = np.flatnonzero(~have)
            where = (
                ", ".join(str(epoch[g]) for g in gone[:3])
                if epoch is not None
                else ", ".join(f"t={g + 1}" for g in gone[:3])
            )
            problems.append(
                Problem(
                    f"series {names[s]!r} has {per_series[s]} of the {n_times} time points; "
                    f"missing {where}{' ...' if gone.size > 3 else ''} (write an empty count "
                    "for a missing value)",
                    f"序列 {names[s]!r} 只有 {n_times} 个时间点中的 {per_series[s]} 个；缺少 "
                    f"{where}{' ...' if gone.size > 3 else ''}（缺失值请将 count 留空）",
                    file=file,
                    field=what,
                )
            )
        if problems:
            raise InputError(problems[:50])
        observed = np.full((n_times, len(names)), np.nan)
        observed[row, col] = np.where(blank, np.nan, c_val)
        population = None
        if "population" in frame.columns:
            pop = _numbers(frame["population"]).astype(np.float64)
            with np.errstate(invalid="ignore"):
                bad_pop = ~(np.isfinite(pop) & (pop > 0) & (pop < 1e13))
            for i in np.flatnonzero(bad_pop)[:50]:
                bad(
                    i,
                    f"population must be a positive number, got '{frame['population'].iloc[i]}'",
                    f"population 必须为正数，实际为 '{frame['population'].iloc[i]}'",
                    "population",
                )
            population = np.full_like(observed, np.nan)
            population[row, col] = pop
        state = None
        if "state" in frame.columns:
            st = _numbers(frame["state"]).astype(np.float64)
            for i in np.flatnonzero(~np.isin(st, (0.0, 1.0)))[:50]:
                bad(
                    i,
                    f"state must be 0 or 1, got '{frame['state'].iloc[i]}'",
                    f"state 必须为 0 或 1，实际为 '{frame['state'].iloc[i]}'",
                    "state",
                )
            state = np.zeros(observed.shape, dtype=bool)
            state[row, col] = st == 1.0
        if problems:
            raise InputError(problems[:50])
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
        import pandas as pd

        t, n = self.observed.shape
        out = pd.DataFrame(
            {
                "series": np.tile(np.asarray(self.names, dtype=object), t),
                "t": np.repeat(np.arange(1, t + 1), n),
                "count": self.observed.reshape(-1),
            }
        )
        if self.epoch is not None:
            out["date"] = np.repeat(self.epoch, n).astype(str)
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
    where the method defines none. ``t`` holds the 1-based time points of the rows, ``dates``
    their dates when the counts had dates (None otherwise).
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
    dates: np.ndarray | None = None

    def date_strings(self) -> list[str] | None:
        """The dates of the rows as ISO strings (``2024-07-01``), or None without dates."""
        if self.dates is None:
            return None
        return np.asarray(self.dates, dtype="datetime64[D]").astype(str).tolist()

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        r, n = self.expected.shape
        columns: dict[str, Any] = {
            "series": np.tile(np.asarray(self.names, dtype=object), r),
            "t": np.repeat(self.t, n),
        }
        if self.dates is not None:
            columns["date"] = np.repeat(np.asarray(self.dates, dtype="datetime64[D]"), n)
        return pd.DataFrame(
            {
                **columns,
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
            "dates": self.date_strings(),
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

    def json_chunks(self) -> Iterator[str]:
        """:meth:`to_json` as strict JSON text, in pieces (one per series), written fast.

        The same document as ``json.dumps(strict(self.to_json()))`` (NaN and infinities as
        null), but numbers are formatted a row at a time instead of through a tree of Python
        objects: for thousands of series this is what keeps printing the result from taking
        longer than computing it. One series per line, so a large output stays readable.
        """
        alarm = np.asarray(self.alarm, dtype=bool)
        head = {
            "method": self.method,
            "control": None,
            "t": self.t.tolist(),
            "dates": self.date_strings(),
        }
        text = json.dumps(head, ensure_ascii=False, allow_nan=False)
        control = ", ".join(
            f"{json.dumps(str(k), ensure_ascii=False)}: {_json_text(v)}"
            for k, v in self.control.items()
        )
        yield text.replace('"control": null', '"control": {' + control + "}", 1)[:-1]
        yield ', "series": [\n'
        columns = [
            _rows_text(np.asarray(a, dtype=np.float64).T)
            for a in (self.observed, self.expected, self.upperbound, self.score)
        ]
        flags = _rows_text(alarm.T)
        last = len(self.names) - 1
        for j, name in enumerate(self.names):
            obs, exp, upp, sco = (c[j] for c in columns)
            sep = ",\n" if j < last else "\n"
            yield (
                f'{{"name": {json.dumps(name, ensure_ascii=False)}, "observed": {obs}, '
                f'"expected": {exp}, "upperbound": {upp}, '
                f'"alarm": {flags[j]}, "score": {sco}}}{sep}'
            )
        yield f'], "alarms": {int(alarm.sum())}}}\n'

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
            dates=first.dates,
        )


_BOOL = ("false", "true")


def _floats(row: np.ndarray) -> str:
    """Comma-separated JSON numbers of a float row; NaN and infinities as null."""
    return _rows_text(np.asarray(row, dtype=np.float64)[None, :], whole=False)[0][1:-1]


def _whole_numbers(a: np.ndarray) -> np.ndarray | None:
    """``a`` as int64 with -1 for NaN when every finite value is a whole number >= 0, else None."""
    finite = np.isfinite(a)
    if not (np.isnan(a) | finite).all():
        return None  # infinities: written as null by _floats
    vals = a[finite]
    if vals.size and (vals.min() < 0 or vals.max() > 2**53 or not np.all(vals == np.floor(vals))):
        return None
    return np.where(finite, a, -1).astype(np.int64)


def _rows_text(a: np.ndarray, whole: bool = True) -> list[str]:
    """Each row of a 2-D float or bool array as a JSON array (``[1,2.5,null]``), NaN as null.

    The whole matrix is formatted by one ``orjson`` call (the shortest round-trip text of each
    number, NaN and infinities as null, about ten times faster than Python's ``repr``) and cut
    into rows: writing the result of thousands of series costs no Python call per number.
    With ``whole``, a matrix of whole numbers (counts, quantile bounds) is written as integers.
    """
    if a.shape[0] == 0:
        return []
    if a.dtype.kind == "b":
        text = orjson.dumps(np.ascontiguousarray(a), option=orjson.OPT_SERIALIZE_NUMPY)
    else:
        ints = _whole_numbers(a) if whole else None
        matrix = np.ascontiguousarray(ints if ints is not None else a)
        text = orjson.dumps(matrix, option=orjson.OPT_SERIALIZE_NUMPY)
        if ints is not None and b"-" in text:
            text = text.replace(b"-1", b"null")  # the only negative number: a missing count
    return ["[" + row + "]" for row in text.decode("ascii")[2:-2].split("],[")]


def _json_text(value: Any) -> str:
    """A control value as strict JSON text; float arrays through :func:`_floats`."""
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.dtype.kind in "fiub":
        if value.ndim == 2 and value.dtype.kind in "fb" and value.shape[0] > 0:
            # a (week, series) table such as phi or trend_kept: one orjson call for all rows
            a = value if value.dtype.kind == "b" else value.astype(np.float64)
            return "[" + ", ".join(_rows_text(a, whole=False)) + "]"
        if value.ndim == 1:
            if value.dtype.kind == "b":
                return "[" + ",".join(_BOOL[int(v)] for v in value) + "]"
            if value.dtype.kind in "iu":
                return "[" + ",".join(map(str, value.tolist())) + "]"
            return "[" + _floats(value.astype(np.float64)) + "]"
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    return json.dumps(_json_value(value), ensure_ascii=False, allow_nan=False, default=str)


def _json_number(x: Any) -> Any:
    """NaN and infinities as None (JSON null); anything else unchanged."""
    return None if isinstance(x, float) and not np.isfinite(x) else x


def _json_value(value: Any) -> Any:
    """A control value as JSON: tuples and arrays become lists, NaN becomes null."""
    if isinstance(value, np.ndarray):
        return _json_value(value.tolist())
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return _json_value(value.item())
    return _json_number(value)
