"""A pandas-free reader for the common case: a clean UTF-8 long CSV of counts.

``healthwatch surveil detect`` on thousands of series spent more time importing pandas and
parsing the CSV with it than detecting outbreaks. A surveillance export is nearly always the
same plain shape (``series,date,count`` or ``series,t,count``, no quotes, integers), so this
module parses such a file with a few vectorised numpy passes over its bytes and builds the
:class:`~healthwatch.surveillance.series.Counts` directly.

It only ever *accepts*: anything it is not sure about (another encoding, quotes, carriage
returns, blank lines, other columns, a count that is not plain digits, surrounding spaces, an
irregular calendar, a missing or repeated cell, a date it cannot parse, ...) makes
:func:`fast_counts` return None, and :func:`healthwatch.data.counts.read_counts` then reads the
file the general way, whose checks name the file, line and field of every problem. So an
accepted file gives exactly the Counts that :meth:`Counts.from_long` gives for it, and a
rejected file the same messages as before.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
>>> text = "series,date,count\\na,2024-W01,3\\nb,2024-W01,\\na,2024-W02,1\\nb,2024-W02,0\\n"
>>> _ = p.write_text(text)
>>> c = fast_counts(p)
>>> c.names, c.freq, c.observed.tolist()
(['a', 'b'], 52, [[3.0, nan], [1.0, 0.0]])
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from healthwatch.data import csv_scan
from healthwatch.surveillance import calendar
from healthwatch.surveillance.series import Counts

__all__ = ["fast_counts"]

_BOM = b"\xef\xbb\xbf"
_COLUMNS = frozenset({"series", "t", "date", "count"})
_MAX_LABEL = 64  # longer series names or dates: the general reader
_MAX_DIGITS = 15  # whole numbers below 2**53, exactly as floats
_MAX_T = 10_000_000  # as Counts.from_long
_MAX_BYTES = 2**31 - 1  # field offsets are 32-bit


def fast_counts(path: Path, freq: int = 0) -> Counts | None:
    """The counts of a clean ``.csv`` file, or None when the general reader must decide."""
    if path.suffix.lower() != ".csv" or not path.is_file():
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data.startswith(_BOM):
        data = data[3:]
    if not data or len(data) >= _MAX_BYTES or any(bad in data for bad in (b"\x00", b"\r", b'"')):
        return None
    if not data.endswith(b"\n"):
        data += b"\n"
    whole = np.frombuffer(data, dtype=np.uint8)
    if whole.max() >= 0x80:  # not plain ASCII: then it must be valid UTF-8
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    head_end = data.index(b"\n")
    columns = data[:head_end].decode("utf-8").split(",")
    if (
        len(set(columns)) != len(columns)
        or not set(columns) <= _COLUMNS
        or not {"series", "count"} <= set(columns)
        or not {"t", "date"} & set(columns)
    ):
        return None
    body = memoryview(data)[head_end + 1 :]
    buf = whole[head_end + 1 :]
    numeric = [name in ("t", "count") for name in columns]
    slot = np.cumsum(numeric) - 1
    slot[~np.array(numeric)] = -1
    start, end, numbers, ok = csv_scan.split_fields(buf, len(columns), slot, _MAX_DIGITS)
    if not ok:  # irregular lines, a count that is not plain digits, a label with spaces...
        return None
    fields = {name: (start[j], end[j]) for j, name in enumerate(columns)}
    longest = {name: int((e - s).max()) for name, (s, e) in fields.items()}
    if max(longest.values()) > _MAX_LABEL:
        return None
    values = {name: numbers[slot[j]] for j, name in enumerate(columns) if numeric[j]}
    return _counts(body, buf, fields, values, longest, freq)


def _unique_first(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code of each value, index of the first occurrence of each code), codes numbered in
    order of first appearance, as pandas' factorize numbers them."""
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse.reshape(-1)], first[order]


class _Codes(NamedTuple):
    """The code of every line of a field, kept as its pattern when it has one.

    A time-major file's dates come in ``runs`` (code ``k`` on lines ``k*runs`` to
    ``(k+1)*runs - 1``) and its series in a ``cycle`` (line ``i`` has code ``i % cycle``);
    spelling those out would be megabytes of new memory for nothing.
    """

    first: np.ndarray  # the line where each code first appears
    n: int  # lines
    runs: int = 0
    cycle: int = 0
    explicit: np.ndarray | None = None

    def array(self) -> np.ndarray:
        if self.explicit is not None:
            return self.explicit
        if self.runs:
            return np.repeat(np.arange(self.n // self.runs), self.runs)
        return np.tile(np.arange(self.cycle), self.n // self.cycle)


def _factorize(
    buf: np.ndarray, field: tuple[np.ndarray, np.ndarray], longest: int
) -> _Codes | None:
    """Codes (first appearance order) and first lines of the distinct values of a field.

    A long file repeats its labels in runs (dates of a date-major file) or in a cycle (series
    of a date-major file); both are found in linear time before falling back to a sort.
    None if two different labels share a hash. ``longest`` is the longest field in bytes.
    """
    start, end = field
    packed = longest <= 8
    key = csv_scan.field_keys(buf, start, end, packed)
    n = key.size
    change = key[1:] != key[:-1]
    if np.count_nonzero(change) < n // 4:
        run_start = np.concatenate(([0], np.flatnonzero(change) + 1))
        run_codes, run_first = _unique_first(key[run_start])
        lengths = np.diff(np.append(run_start, n))
        first = run_start[run_first]
        if bool(np.all(lengths == lengths[0])) and np.array_equal(
            run_codes, np.arange(run_codes.size)
        ):
            codes = _Codes(first, n, runs=int(lengths[0]))
        else:
            codes = _Codes(first, n, explicit=np.repeat(run_codes, lengths))
    else:
        same = np.flatnonzero(key == key[0])
        period = int(same[1]) if same.size > 1 else n
        cycle = key[:period]
        if (
            n % period == 0
            and np.unique(cycle).size == period
            and bool(np.all(key.reshape(-1, period) == cycle))
        ):
            codes = _Codes(np.arange(period), n, cycle=period)
        else:
            explicit, first = _unique_first(key)
            codes = _Codes(first, n, explicit=explicit)
    if not packed and not csv_scan.same_labels(buf, start, end, codes.first[codes.array()]):
        return None
    return codes


def _labels(body: memoryview, field: tuple[np.ndarray, np.ndarray], first: np.ndarray) -> list[str]:
    start, end = field
    return [str(body[start[i] : end[i]], "utf-8") for i in first.tolist()]


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _counts(
    body: memoryview,
    buf: np.ndarray,
    fields: dict[str, tuple[np.ndarray, np.ndarray]],
    values: dict[str, np.ndarray],
    longest: dict[str, int],
    freq: int,
) -> Counts | None:
    """Counts.from_long's result for a well-formed file, or None for anything it would refuse.

    ``values`` holds the numbers of the count and t columns (NaN where empty): the split has
    already checked that they are plain digits and that the labels are trimmed.
    """
    count = values["count"]
    t_row = None
    if "t" in values:
        t = values["t"]
        if np.isnan(t).any() or t.min() < 1 or t.max() > _MAX_T:
            return None
        t_row = t.astype(np.int64) - 1
    epoch = None
    if "date" in fields:
        found = _date_rows(body, buf, fields["date"], longest["date"], freq)
        if found is None:
            return None
        rows, epoch, freq = found
        if t_row is not None and not np.array_equal(t_row, rows.array()):
            return None
    else:
        assert t_row is not None
        rows = _Codes(np.empty(0, dtype=np.int64), t_row.size, explicit=t_row)
    col = _factorize(buf, fields["series"], longest["series"])
    if col is None:
        return None
    names = _labels(body, fields["series"], col.first)
    if all(_numeric(name) for name in names):
        return None  # pandas reads such a column as numbers ("01" -> "1"): keep its names
    n_series = len(names)
    if _time_major(rows, col, n_series):  # the usual export: the counts in order
        return Counts(observed=count.reshape(-1, n_series), freq=freq, names=names, epoch=epoch)
    row, col_of = rows.array(), col.array()
    n_times = int(row.max()) + 1
    if row.size != n_times * n_series:
        return None
    seen = np.zeros(n_times * n_series, dtype=np.bool_)
    seen[col_of * n_times + row] = True
    if not seen.all():  # a missing cell, hence (same size) a repeated one
        return None
    observed = np.full((n_times, n_series), np.nan)
    observed[row, col_of] = count
    return Counts(observed=observed, freq=freq, names=names, epoch=epoch)


def _time_major(rows: _Codes, cols: _Codes, n_series: int) -> bool:
    """Whether line ``i`` holds time ``i // n_series`` of series ``i % n_series``: then every
    cell is there once and the counts, in file order, are already the (time, series) table.

    Dates in runs of ``n_series`` and series in a cycle of ``n_series`` say so by their
    pattern; codes spelled out (a ``t`` column, say) are compared line by line.
    """
    if rows.runs == n_series and cols.cycle == n_series:
        return True
    if rows.n % n_series:
        return False
    n_times = rows.n // n_series
    return bool(
        np.all(cols.array().reshape(n_times, n_series) == np.arange(n_series))
        and np.all(rows.array().reshape(n_times, n_series) == np.arange(n_times)[:, None])
    )


def _date_rows(
    body: memoryview,
    buf: np.ndarray,
    field: tuple[np.ndarray, np.ndarray],
    longest: int,
    freq: int,
) -> tuple[_Codes, np.ndarray, int] | None:
    """(time position of each line, the dates, the frequency) of a date column, or None."""
    codes = _factorize(buf, field, longest)
    if codes is None:
        return None
    try:
        dates, date_freq = calendar.parse_periods(_labels(body, field, codes.first))
    except ValueError:
        return None
    days = dates.astype(np.int64)
    epoch_days = np.unique(days)
    if epoch_days.size != days.size:  # two labels for one date: the general reader says so
        return None
    if freq and freq != date_freq and freq != 1:
        return None
    freq = freq or date_freq
    epoch = epoch_days.astype("datetime64[D]")
    if calendar.irregularities(epoch, freq):
        return None
    position = np.searchsorted(epoch_days, days)  # of each distinct date, in the calendar
    if np.array_equal(position, np.arange(position.size)):  # the dates come in order
        return codes, epoch, freq
    return _Codes(codes.first, codes.n, explicit=position[codes.array()]), epoch, freq
