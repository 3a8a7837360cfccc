"""Compiled passes over the bytes of a plain CSV file, for :mod:`healthwatch.data.counts_fast`.

A long file of counts has a million short lines. Splitting it into fields, packing or hashing
the labels and reading the digits of the counts with numpy takes a column of bytes at a time
and a pass per character position: about half a second for 3,000 weekly series over six
years, longer than detecting outbreaks in them. One compiled pass over the bytes does the same
in a few hundredths of a second. Everything here only *looks*: the caller decides what a field
means and falls back to the general reader whenever a pass reports something unusual.

>>> import numpy as np
>>> buf = np.frombuffer(b"a,2024-W01,3\\nbb,2024-W02,\\n", dtype=np.uint8)
>>> start, end, numbers, ok = split_fields(buf, 3, np.array([-1, -1, 0]), 15)
>>> ok, start[2].tolist(), end[2].tolist(), numbers[0].tolist()
(True, [11, 25], [12, 25], [3.0, nan])
"""

from __future__ import annotations

import numpy as np

from healthwatch.jit import numba

__all__ = ["field_keys", "same_labels", "split_fields"]

_NEWLINE, _COMMA, _TAB, _SPACE, _ZERO = 10, 44, 9, 32, 48
_FNV_OFFSET, _FNV_PRIME = 1469598103934665603, 1099511628211


@numba.njit(cache=True, nogil=True)
def split_fields(
    buf: np.ndarray, n_cols: int, slot: np.ndarray, max_digits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Split the lines into fields and check them, in one pass over the bytes.

    Returns (start, end, numbers, ok): the byte offsets of every field, each ``(n_cols,
    lines)`` (a column is one contiguous row); ``numbers[slot[j]]`` the values of column ``j``
    where ``slot[j] >= 0`` (NaN where a field is empty); and whether the file is as the fast
    reader needs it: every line, the last included, ends in a newline and holds exactly
    ``n_cols - 1`` commas (so no blank lines), every number is plain digits, at most
    ``max_digits`` of them (exact as floats), and every other field is non-empty without a
    space or tab at either end.
    """
    n_lines = 0
    for i in range(buf.size):
        n_lines += buf[i] == _NEWLINE
    # 32-bit offsets (the caller sends larger files elsewhere): half the fresh memory to fault in
    start = np.empty((n_cols, n_lines), dtype=np.int32)
    end = np.empty((n_cols, n_lines), dtype=np.int32)
    n_numbers = 0
    for j in range(n_cols):
        n_numbers += slot[j] >= 0
    numbers = np.empty((n_numbers, n_lines))
    line = col = 0
    field_start = 0
    value = 0
    for i in range(buf.size):
        c = buf[i]
        if c != _COMMA and c != _NEWLINE:
            if slot[col] >= 0:
                d = int(c) - _ZERO
                if d < 0 or d > 9 or i - field_start >= max_digits:
                    return start, end, numbers, False
                value = value * 10 + d
            continue
        if (c == _NEWLINE) != (col == n_cols - 1):
            return start, end, numbers, False
        start[col, line] = field_start
        end[col, line] = i
        if slot[col] >= 0:
            numbers[slot[col], line] = value if i > field_start else np.nan
            value = 0
        elif i == field_start or _blank(buf[field_start]) or _blank(buf[i - 1]):
            return start, end, numbers, False
        if c == _NEWLINE:
            line += 1
            col = 0
        else:
            col += 1
        field_start = i + 1
    return start, end, numbers, n_lines > 0 and field_start == buf.size


@numba.njit(cache=True, nogil=True)
def _blank(c: np.uint8) -> bool:
    return c in (_SPACE, _TAB)


@numba.njit(cache=True, nogil=True)
def field_keys(buf: np.ndarray, start: np.ndarray, end: np.ndarray, packed: bool) -> np.ndarray:
    """One uint64 per field: its bytes themselves when ``packed`` (every field of at most 8
    bytes, none of them NUL, so two fields differ exactly when their keys do), else an FNV-1a
    hash of the bytes and the length (equal fields, equal keys; the caller checks the rest)."""
    key = np.empty(start.size, dtype=np.uint64)
    for r in range(start.size):
        k = np.uint64(0) if packed else np.uint64(_FNV_OFFSET)
        for j in range(end[r] - start[r]):
            byte = np.uint64(buf[start[r] + j])
            if packed:
                k |= byte << np.uint64(8 * j)
            else:
                k = (k ^ byte) * np.uint64(_FNV_PRIME)
        if not packed:
            k = (k ^ np.uint64(end[r] - start[r])) * np.uint64(_FNV_PRIME)
        key[r] = k
    return key


@numba.njit(cache=True, nogil=True)
def same_labels(buf: np.ndarray, start: np.ndarray, end: np.ndarray, ref: np.ndarray) -> bool:
    """Whether every field ``r`` has the same bytes as field ``ref[r]`` (no hash collision)."""
    for r in range(start.size):
        o = ref[r]
        if o == r:
            continue
        n = end[r] - start[r]
        if n != end[o] - start[o]:
            return False
        for j in range(n):
            if buf[start[r] + j] != buf[start[o] + j]:
                return False
    return True
