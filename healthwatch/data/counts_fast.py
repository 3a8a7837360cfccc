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

import numpy as np

from healthwatch.surveillance import calendar
from healthwatch.surveillance.series import Counts

__all__ = ["fast_counts"]

_BOM = b"\xef\xbb\xbf"
_COLUMNS = frozenset({"series", "t", "date", "count"})
_MAX_LABEL = 64  # longer series names or dates: the general reader
_MAX_DIGITS = 15  # whole numbers below 2**53, exactly as floats
_MAX_T = 10_000_000  # as Counts.from_long


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
    if not data or any(bad in data for bad in (b"\x00", b"\r", b'"')):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not data.endswith(b"\n"):
        data += b"\n"
    head, _, body = data.partition(b"\n")
    columns = head.decode("utf-8").split(",")
    if (
        len(set(columns)) != len(columns)
        or not set(columns) <= _COLUMNS
        or not {"series", "count"} <= set(columns)
        or not {"t", "date"} & set(columns)
    ):
        return None
    fields = _split(np.frombuffer(body, dtype=np.uint8), len(columns))
    if fields is None:
        return None
    return _counts(body, dict(zip(columns, fields, strict=True)), freq)


def _split(buf: np.ndarray, n_cols: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """(start, end) byte offsets of every field of every line, column by column.

    None unless every line, including the last, ends in a newline and holds exactly
    ``n_cols - 1`` commas (no blank lines): the commas are sorted, so each line's first comma
    after its start and last comma before its end means each line has its own.
    """
    ends = np.flatnonzero(buf == 10)
    if ends.size == 0:
        return None
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    if np.any(ends == starts):
        return None
    found = np.flatnonzero(buf == 44)
    if found.size != ends.size * (n_cols - 1):
        return None
    commas = found.reshape(ends.size, n_cols - 1)
    if n_cols > 1 and (np.any(commas[:, 0] < starts) or np.any(commas[:, -1] > ends)):
        return None
    bounds = [starts, *(commas[:, j] + 1 for j in range(n_cols - 1))]
    limits = [*(commas[:, j] for j in range(n_cols - 1)), ends]
    return list(zip(bounds, limits, strict=True))


def _bytes(buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray | None:
    """The fields as rows of a (lines, widest) byte matrix padded with 0, or None if too wide."""
    length = end - start
    width = int(length.max())
    if width > _MAX_LABEL:
        return None
    width = max(width, 1)
    matrix = np.zeros((start.size, width), dtype=np.uint8)
    last = buf.size - 1
    for j in range(width):  # a column at a time: no (lines, width) index array
        matrix[:, j] = buf[np.minimum(start + j, last)]
        matrix[length <= j, j] = 0
    return matrix


def _keys(matrix: np.ndarray) -> np.ndarray:
    """One uint64 per row: the bytes themselves up to 8 bytes, else a hash (checked after)."""
    n, width = matrix.shape
    if width <= 8:
        packed = np.zeros((n, 8), dtype=np.uint8)
        packed[:, :width] = matrix
        return packed.view(np.uint64).reshape(n)
    key = np.full(n, 1469598103934665603, dtype=np.uint64)  # FNV-1a
    with np.errstate(over="ignore"):
        for j in range(width):
            key = (key ^ matrix[:, j].astype(np.uint64)) * np.uint64(1099511628211)
    return key


def _unique_first(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code of each value, index of the first occurrence of each code), codes numbered in
    order of first appearance, as pandas' factorize numbers them."""
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse.reshape(-1)], first[order]


def _factorize(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes (first appearance order) and first rows of the distinct byte rows of ``matrix``.

    A long file repeats its labels in runs (dates of a date-major file) or in a cycle (series
    of a date-major file); both are found in linear time before falling back to a sort.
    None if two different labels share a hash.
    """
    key = _keys(matrix)
    n = key.size
    breaks = np.flatnonzero(key[1:] != key[:-1]) + 1
    if breaks.size < n // 4:
        run_start = np.concatenate(([0], breaks))
        run_codes, run_first = _unique_first(key[run_start])
        codes = np.repeat(run_codes, np.diff(np.append(run_start, n)))
        first = run_start[run_first]
    else:
        same = np.flatnonzero(key == key[0])
        period = int(same[1]) if same.size > 1 else n
        cycle = key[:period]
        if (
            n % period == 0
            and np.unique(cycle).size == period
            and bool(np.all(key.reshape(-1, period) == cycle))
        ):
            codes = np.tile(np.arange(period), n // period)
            first = np.arange(period)
        else:
            codes, first = _unique_first(key)
    if matrix.shape[1] > 8 and not np.array_equal(matrix, matrix[first[codes]]):
        return None
    return codes, first


def _labels(body: bytes, field: tuple[np.ndarray, np.ndarray], first: np.ndarray) -> list[str]:
    start, end = field
    return [body[start[i] : end[i]].decode("utf-8") for i in first.tolist()]


def _digits(matrix: np.ndarray, length: np.ndarray) -> np.ndarray | None:
    """The fields as whole numbers (NaN where empty), or None unless all are plain digits."""
    if matrix.shape[1] > _MAX_DIGITS:
        return None
    value = np.zeros(matrix.shape[0], dtype=np.int64)
    for j in range(matrix.shape[1]):  # a column at a time, as _bytes
        digit = matrix[:, j] - np.uint8(48)  # wraps below "0": one comparison for both ends
        inside = length > j
        if np.any(inside & (digit > 9)):
            return None
        value = np.where(inside, value * 10 + digit, value)
    return np.where(length > 0, value.astype(np.float64), np.nan)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _trimmed(matrix: np.ndarray, length: np.ndarray) -> bool:
    """Whether every field is non-empty without spaces or tabs at either end."""
    if np.any(length == 0):
        return False
    last = matrix[np.arange(length.size), length - 1]
    return not bool(np.any(np.isin(matrix[:, 0], (9, 32)) | np.isin(last, (9, 32))))


def _counts(
    body: bytes, fields: dict[str, tuple[np.ndarray, np.ndarray]], freq: int
) -> Counts | None:
    """Counts.from_long's result for a well-formed file, or None for anything it would refuse."""
    buf = np.frombuffer(body, dtype=np.uint8)
    matrices = {}
    for name, (start, end) in fields.items():
        matrix = _bytes(buf, start, end)
        if matrix is None:
            return None
        matrices[name] = matrix
    lengths = {name: end - start for name, (start, end) in fields.items()}
    count = _digits(matrices["count"], lengths["count"])
    if count is None or not _trimmed(matrices["series"], lengths["series"]):
        return None
    t_row = None
    if "t" in fields:
        t = _digits(matrices["t"], lengths["t"])
        if t is None or np.isnan(t).any() or t.min() < 1 or t.max() > _MAX_T:
            return None
        t_row = t.astype(np.int64) - 1
    epoch = None
    if "date" in fields:
        found = _date_rows(body, fields["date"], matrices["date"], lengths["date"], freq)
        if found is None:
            return None
        row, epoch, freq = found
        if t_row is not None and not np.array_equal(t_row, row):
            return None
    else:
        assert t_row is not None
        row = t_row
    series = _factorize(matrices["series"])
    if series is None:
        return None
    col, first = series
    names = _labels(body, fields["series"], first)
    if all(_numeric(name) for name in names):
        return None  # pandas reads such a column as numbers ("01" -> "1"): keep its names
    n_times, n_series = int(row.max()) + 1, len(names)
    if row.size != n_times * n_series:
        return None
    seen = np.zeros(n_times * n_series, dtype=np.bool_)
    seen[col * n_times + row] = True
    if not seen.all():  # a missing cell, hence (same size) a repeated one
        return None
    observed = np.full((n_times, n_series), np.nan)
    observed[row, col] = count
    return Counts(observed=observed, freq=freq, names=names, epoch=epoch)


def _date_rows(
    body: bytes,
    field: tuple[np.ndarray, np.ndarray],
    matrix: np.ndarray,
    length: np.ndarray,
    freq: int,
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(time position of each line, the dates, the frequency) of a date column, or None."""
    if not _trimmed(matrix, length):
        return None
    found = _factorize(matrix)
    if found is None:
        return None
    codes, first = found
    try:
        dates, date_freq = calendar.parse_periods(_labels(body, field, first))
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
    return np.searchsorted(epoch_days, days)[codes], epoch, freq
