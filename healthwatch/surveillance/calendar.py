"""Calendar time for dated series: ISO weeks, months and days, and R's reference periods on them.

A series whose time points carry dates (R's ``sts`` with ``epochAsDate = TRUE``) is not
analysed by position in R ``surveillance``: the Farrington methods look for each past year's
reference period at the same calendar date ``i`` years back. Years do not have a whole number
of weeks (2015, 2020 and 2026 have 53 ISO weeks) and leap years have a 366th day, so those
periods are not ``i * freq`` positions back. This module holds

- the parsing of the period labels users write (``2024-07-01``, the ISO week ``2024-W53``, the
  month ``2024-07``), the frequency they imply and the check that a series has no gaps;
- the calendar arithmetic R uses: a date ``i`` years back keeps month and day, and a day that
  does not exist rolls over (29 February 2024 one year back is 1 March 2023), as R's
  ``seq(date, by = "-1 year")`` does;
- the reference time points of R's ``algo.farrington`` (``refvalIdxByDate``) and
  ``farringtonFlexible`` (``algo.farrington.referencetimepoints`` and ``blocks``) on dates,
  implemented from their documented behaviour.

>>> import numpy as np
>>> epoch, freq = parse_periods(["2020-W52", "2020-W53", "2021-W01"])
>>> freq, [str(d) for d in epoch]
(52, ['2020-12-21', '2020-12-28', '2021-01-04'])
>>> [str(d) for d in shift_years(np.array(["2024-02-29"], "datetime64[D]"), -1)]
['2023-03-01']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CALENDAR_FREQS",
    "PeriodProblem",
    "classic_reference",
    "flexible_reference",
    "infer_freq",
    "irregularities",
    "parse_periods",
    "period_labels",
    "shift_months",
    "shift_years",
    "time_coordinate",
]

#: frequencies whose dates R aligns by calendar (weeks, months, days)
CALENDAR_FREQS = (52, 12, 365)

_ISO_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_FREQ_NAME = {52: ("weekly", "周"), 12: ("monthly", "月"), 365: ("daily", "日")}


@dataclass(frozen=True)
class PeriodProblem:
    """A label that could not be read, or a date that breaks the series' regularity."""

    position: int  # 0-based position in the input
    en: str
    zh: str


def _weekday(days: np.ndarray) -> np.ndarray:
    """Day of the week as R's ``format(x, "%w")``: 0 = Sunday .. 6 = Saturday."""
    return (days.astype(np.int64) + 4) % 7  # 1970-01-01 was a Thursday


def _iso_week_monday(year: int, week: int) -> np.datetime64 | None:
    """The Monday of ISO week ``week`` of ``year``, or None if the year has no such week."""
    jan4 = np.datetime64(f"{year:04d}-01-04", "D")
    monday1 = jan4 - ((jan4.astype(np.int64) + 3) % 7)  # Monday of the week holding 4 January
    if week < 1 or week > 53:
        return None
    monday = monday1 + 7 * (week - 1)
    if week == 53:
        # the year has 53 weeks iff 1 January or 31 December is a Thursday
        next_monday1 = np.datetime64(f"{year + 1:04d}-01-04", "D")
        next_monday1 = next_monday1 - ((next_monday1.astype(np.int64) + 3) % 7)
        if monday >= next_monday1:
            return None
    return monday


def parse_periods(values: Sequence[object]) -> tuple[np.ndarray, int]:
    """Dates from labels in one of three forms, and the frequency they imply.

    ``2024-07-01`` (a date: the frequency comes from the spacing, see :func:`infer_freq`),
    ``2024-W53`` (an ISO week: its Monday, frequency 52) or ``2024-07`` (a month: its first day,
    frequency 12). All labels must have the same form. Raises ``ValueError`` with a list of
    :class:`PeriodProblem` as its argument.
    """
    n = len(values)
    out = np.empty(n, dtype="datetime64[D]")
    problems: list[PeriodProblem] = []
    first_kind: str | None = None
    mixed: int | None = None
    for i, raw in enumerate(values):
        text = str(raw).strip()
        kind, value = _parse_one(text)
        if value is None:
            problems.append(
                PeriodProblem(
                    i,
                    f"{text!r} is not a date (2024-07-01), an ISO week (2024-W27) or a month "
                    "(2024-07)",
                    f"{text!r} 不是日期（2024-07-01）、ISO 周（2024-W27）或月份（2024-07）",
                )
            )
            continue
        if first_kind is None:
            first_kind = kind
        elif kind != first_kind and mixed is None:
            mixed = i
        out[i] = value
    if mixed is not None:
        problems.append(
            PeriodProblem(
                mixed,
                "dates, ISO weeks and months are mixed in one column; use one form",
                "同一列中混用了日期、ISO 周和月份；请只用一种形式",
            )
        )
    if problems:
        raise ValueError(problems)
    if not n:
        return out, 52
    freq = {"week": 52, "month": 12}.get(first_kind or "") or infer_freq(out)
    return out, freq


def _parse_one(text: str) -> tuple[str, np.datetime64 | None]:
    m = _ISO_WEEK.match(text)
    if m:
        return "week", _iso_week_monday(int(m.group(1)), int(m.group(2)))
    m = _DATE.match(text)
    if m:
        try:
            return "date", np.datetime64(
                f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}", "D"
            )
        except ValueError:
            return "date", None
    m = _MONTH.match(text)
    if m and 1 <= int(m.group(2)) <= 12:
        return "month", np.datetime64(f"{int(m.group(1)):04d}-{int(m.group(2)):02d}", "M").astype(
            "datetime64[D]"
        )
    return "?", None


def infer_freq(epoch: np.ndarray) -> int:
    """52, 12 or 365 from the smallest step between distinct dates.

    A smallest step of a year or more is yearly (1), of 28 days or more monthly, of 7 to 27
    days weekly, else daily (gaps are found afterwards by :func:`irregularities`). A single
    date counts as weekly.
    """
    days = np.unique(np.asarray(epoch, dtype="datetime64[D]"))
    if days.size < 2:
        return 52
    steps = np.diff(days.astype(np.int64))
    smallest = int(steps.min())
    if smallest >= 365:
        return 1  # yearly: no calendar rule applies (R has none for freq 1)
    if smallest >= 28:
        return 12
    if smallest >= 7:
        return 52
    return 365


def _month_index(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[M]").astype(np.int64)


def _day_of_month(days: np.ndarray) -> np.ndarray:
    return (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


def irregularities(epoch: np.ndarray, freq: int) -> list[PeriodProblem]:
    """Duplicates, disorder and gaps in dates that should follow each other at ``freq``.

    The position of each problem is that of the later of the two dates involved.
    """
    days = np.asarray(epoch, dtype="datetime64[D]")
    problems: list[PeriodProblem] = []
    if days.size < 2 or freq not in CALENDAR_FREQS:
        return problems
    unit_en, unit_zh = _FREQ_NAME[freq]
    if freq == 12:
        step = np.diff(_month_index(days))
        dom = _day_of_month(days)
        bad_day = np.flatnonzero(dom[1:] != dom[0]) + 1
    else:
        diff: np.ndarray = np.diff(days.astype(np.int64))
        step = diff // (7 if freq == 52 else 1)
        exact = diff % (7 if freq == 52 else 1) == 0
        bad_day = np.flatnonzero(~exact) + 1
    for i in bad_day[:20]:
        problems.append(
            PeriodProblem(
                int(i),
                f"date {days[i]} is not one {unit_en} step from {days[i - 1]}: the dates of a "
                f"{unit_en} series must fall on the same "
                + ("weekday" if freq == 52 else "day of the month"),
                f"日期 {days[i]} 与 {days[i - 1]} 之间不是整{unit_zh}："
                f"{unit_zh}数据的日期必须落在同一" + ("星期几" if freq == 52 else "月内日期"),
            )
        )
    for i in np.flatnonzero(step == 0)[:20] + 1:
        problems.append(
            PeriodProblem(int(i), f"date {days[i]} appears twice", f"日期 {days[i]} 出现了两次")
        )
    for i in np.flatnonzero(step < 0)[:20] + 1:
        problems.append(
            PeriodProblem(
                int(i),
                f"date {days[i]} comes after {days[i - 1]}: dates must increase",
                f"日期 {days[i]} 排在 {days[i - 1]} 之后：日期必须递增",
            )
        )
    for i in np.flatnonzero(step > 1)[:20] + 1:
        missing = int(step[i - 1]) - 1
        problems.append(
            PeriodProblem(
                int(i),
                f"gap: {missing} {unit_en} period(s) missing between {days[i - 1]} and {days[i]} "
                "(write the missing periods with an empty count)",
                f"缺口：{days[i - 1]} 与 {days[i]} 之间缺少 {missing} 个{unit_zh}"
                "（缺失的时间请写出并将计数留空）",
            )
        )
    problems.sort(key=lambda p: p.position)
    return problems


def shift_months(days: np.ndarray, months: int | np.ndarray) -> np.ndarray:
    """Dates ``months`` calendar months later (earlier if negative), as R's ``seq.Date`` does.

    Month and year move, the day of the month stays; a day the target month lacks rolls over
    into the next month (31 March one month back is 3 March, 29 February a year back 1 March).
    """
    days = np.asarray(days, dtype="datetime64[D]")
    month = days.astype("datetime64[M]")
    dom = days - month.astype("datetime64[D]")
    return (month + np.asarray(months, dtype=np.int64)).astype("datetime64[D]") + dom


def shift_years(days: np.ndarray, years: int | np.ndarray) -> np.ndarray:
    """Dates ``years`` years later (earlier if negative), R's ``seq(date, by = "-1 year")``."""
    return shift_months(days, 12 * np.asarray(years, dtype=np.int64))


def _positions(epoch: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """0-based position of each date in the sorted ``epoch``, -1 where it is not there."""
    pos = np.searchsorted(epoch, dates)
    pos = np.minimum(pos, epoch.size - 1)
    found = epoch[pos] == dates
    return np.where(found, pos, -1)


def _nearest_weekday(dates: np.ndarray, target: np.datetime64) -> np.ndarray:
    """Each date moved to the nearest day with the weekday of ``target`` (at most 3 days)."""
    want = _weekday(np.asarray([target], dtype="datetime64[D]"))[0]
    have = _weekday(dates)
    forward = (want - have) % 7
    backward = (have - want) % 7
    return dates + np.where(forward < backward, forward, -backward).astype("timedelta64[D]")


def classic_reference(epoch: np.ndarray, k: int, *, b: int, w: int, freq: int) -> np.ndarray:
    """R ``algo.farrington``'s reference positions for position ``k`` of a dated series.

    For each of the ``b`` past years the point ``i`` years back by calendar and ``w`` periods
    (weeks, months or days, stepped from that point) either side; weekly points move to the
    nearest day with the weekday of ``epoch[k]``, monthly ones to its day of the month. Dates
    not in the series are left out, as R leaves them out. Returns 0-based positions (years
    from the most recent, each window in time order) and -1 for the dates not found.
    """
    t0 = epoch[k]
    years = -np.arange(1, b + 1)
    refs = shift_years(np.full(b, t0), years)
    j = np.arange(-w, w + 1)
    if freq == 12:
        days = shift_months(np.repeat(refs, j.size), np.tile(j, b))
        dom0 = int(_day_of_month(np.asarray([t0]))[0])
        days = days - (_day_of_month(days) - dom0).astype("timedelta64[D]")
    else:
        step = 7 if freq == 52 else 1
        days = np.repeat(refs, j.size) + (np.tile(j, b) * step).astype("timedelta64[D]")
        if freq == 52:
            days = _nearest_weekday(days, t0)
    return _positions(epoch, days)


def flexible_reference(
    epoch: np.ndarray,
    k: int,
    *,
    b: int,
    w: int,
    no_periods: int,
    past_weeks_not_included: int,
    freq: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """R ``farringtonFlexible``'s baseline of position ``k`` of a dated series.

    The reference points are ``epoch[k]`` ``i = 1..b`` years back by calendar (weekly: moved to
    the nearest date with the same weekday); their positions ``p_i`` replace ``k - i*freq``.
    Each ``p_i`` carries a window ``p_i - w .. p_i + w`` (level 0, as the window before ``k``);
    with ``no_periods > 1`` the stretch between two consecutive windows is cut into
    ``no_periods - 1`` blocks of near-equal length, the first ones one longer (levels
    ``1 .. no_periods - 1``). The last ``past_weeks_not_included`` positions before ``k`` and
    ``k`` itself are left out. Returns (0-based positions in time order, levels), or None when
    a reference point is not in the series or its window starts before the series (R stops
    with "Some reference time points did not exist").
    """
    t0 = epoch[k]
    refs = shift_years(np.full(b, t0), -np.arange(1, b + 1))
    if freq == 52:
        refs = _nearest_weekday(refs, t0)
    pos = _positions(epoch, refs)
    if np.any(pos < 0) or pos[-1] - w < 0:
        return None
    points = np.concatenate([[k], pos])  # descending positions: now, 1 year back, ...
    level = np.full(k + 1, -1, dtype=np.int64)
    level[k - w : k + 1] = 0
    for i in range(1, b + 1):
        ref = int(points[i])
        level[ref - w : ref + w + 1] = 0
        if no_periods > 1:
            period = int(points[i - 1]) - 2 * w - 1 - ref
            if period < no_periods - 1:
                return None
            q, r = divmod(period, no_periods - 1)
            lengths = np.full(no_periods - 1, q)
            lengths[:r] += 1
            start = ref + w + 1
            level[start : start + period] = np.repeat(np.arange(1, no_periods), lengths)
    level[max(k - past_weeks_not_included, 0) : k + 1] = -1
    idx = np.flatnonzero(level >= 0)
    return idx, level[idx]


def time_coordinate(epoch: np.ndarray | None, n: int, freq: int) -> np.ndarray:
    """The trend covariate of ``farringtonFlexible`` at each position, up to shift and scale.

    By position for series without dates; for dated series R uses days since the first
    reference date divided by the length of the series' first step (in days). A common shift
    and scale do not change the fit, so for weekly and daily series (whose steps are all equal)
    this is the position itself, and for months it is days since the first date divided by the
    first step: months have 28 to 31 days, so the trend is not linear in the month number.
    """
    if epoch is None or freq != 12 or n < 2:
        return np.arange(n, dtype=np.float64)
    days = epoch.astype(np.int64)
    return (days - days[0]) / float(days[1] - days[0])


def period_labels(epoch: np.ndarray, freq: int) -> list[str]:
    """Readable labels of dates: ISO weeks (``2020-W53``) for weekly data, else the date.

    Weekly data show the ISO week holding the date; months show ``2024-07``.
    """
    days = np.asarray(epoch, dtype="datetime64[D]")
    if freq == 12:
        return [str(m) for m in days.astype("datetime64[M]")]
    if freq == 52:
        # the ISO week's Thursday decides its year
        thursday = days + (3 - (days.astype(np.int64) + 3) % 7).astype("timedelta64[D]")
        year = thursday.astype("datetime64[Y]")
        week = (thursday - year.astype("datetime64[D]")).astype(np.int64) // 7 + 1
        return [f"{y}-W{int(wk):02d}" for y, wk in zip(year, week, strict=True)]
    return [str(d) for d in days]
