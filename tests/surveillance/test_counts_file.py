"""The counts file reader: a corpus of malformed files, each refused with file/line/field, and a
Hypothesis fuzz test (any input either loads or is refused with an InputError, nothing else)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthwatch.data.counts import read_counts
from healthwatch.errors import InputError
from healthwatch.surveillance import Counts

GOOD = "series,t,count\na,1,3\na,2,\nb,1,0\nb,2,7\n"


def _write(tmp: Path, name: str, data: bytes | str) -> Path:
    path = tmp / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_good_file_loads_both_paths(tmp_path: Path) -> None:
    c = read_counts(_write(tmp_path, "c.csv", GOOD))
    assert c.names == ["a", "b"] and c.freq == 52
    assert np.array_equal(c.observed, np.array([[3, 0], [np.nan, 7]]), equal_nan=True)
    # the same table through read_table (GBK with Chinese names, spaces around cells)
    gbk = "series, t ,count\n铁东区,1,3\n铁东区,2,\n铁西区 ,1,0\n铁西区,2, 7\n".encode("gbk")
    c2 = read_counts(_write(tmp_path, "g.csv", gbk))
    assert c2.names == ["铁东区", "铁西区"]
    assert np.array_equal(c2.observed, c.observed, equal_nan=True)


def test_excel_and_bom_and_crlf(tmp_path: Path) -> None:
    frame = pd.DataFrame({"series": ["a", "a"], "date": ["2024-07", "2024-08"], "count": [1, 2]})
    xlsx = tmp_path / "c.xlsx"
    frame.to_excel(xlsx, index=False)
    c = read_counts(xlsx)
    assert c.freq == 12 and c.epoch.astype(str).tolist() == ["2024-07-01", "2024-08-01"]
    bom = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()
    assert read_counts(_write(tmp_path, "bom.csv", bom)).names == ["a", "b"]
    quoted = 'series,t,count\n"a, x",1,3\n"a, x",2,4\n'
    assert read_counts(_write(tmp_path, "q.csv", quoted)).names == ["a, x"]


def test_dated_file_with_iso_weeks(tmp_path: Path) -> None:
    text = "series,date,count\na,2020-W52,1\na,2020-W53,2\na,2021-W01,3\n"
    c = read_counts(_write(tmp_path, "w.csv", text))
    assert c.freq == 52 and str(c.epoch[1]) == "2020-12-28"
    with pytest.raises(InputError, match="dates are weekly"):
        read_counts(_write(tmp_path, "w.csv", text), freq=365)


#: (file name, content, substring of the message, line, field) of files that must be refused
CORPUS: list[tuple[str, bytes | str, str, int | None, str | None]] = [
    ("empty.csv", b"", "empty", None, None),
    ("blank.csv", b"\n\n  \n", "empty", None, None),
    ("binary.csv", b"series,t,count\x00\x01\x02\n", "binary", None, None),
    ("not_text.csv", b"\xff\xfe\xfa\x80\x81 series", "cannot decode", None, None),
    ("truncated.xlsx", b"PK\x03\x04truncated", "damaged", None, None),
    ("header_only.csv", "series,t,count\n", "no data rows", 2, None),
    ("unknown.csv", "series,t,cnt\na,1,1\n", "unknown column 'cnt'", 1, "cnt"),
    ("no_count.csv", "series,t\na,1\n", "required column 'count' is missing", 1, "count"),
    ("no_time.csv", "series,count\na,1\n", "t column", 1, "t"),
    # pandas renames a repeated header to count.1, which read_table then names
    ("twice.csv", "series,t,count,count\na,1,1,1\n", "unknown column", 1, "count.1"),
    ("text_count.csv", "series,t,count\na,1,abc\n", "non-negative integer", 2, "count"),
    ("negative.csv", "series,t,count\na,1,2\na,2,-1\n", "non-negative integer", 3, "count"),
    ("fraction.csv", "series,t,count\na,1,2.5\n", "non-negative integer", 2, "count"),
    ("huge.csv", "series,t,count\na,1,1e300\n", "non-negative integer", 2, "count"),
    ("inf.csv", "series,t,count\na,1,inf\n", "non-negative integer", 2, "count"),
    ("nan.csv", "series,t,count\na,1,NaN\n", "non-negative integer", 2, "count"),
    ("t_zero.csv", "series,t,count\na,0,1\n", "t must be an integer", 2, "t"),
    ("t_fraction.csv", "series,t,count\na,1.5,1\n", "t must be an integer", 2, "t"),
    ("t_huge.csv", "series,t,count\na,99999999999,1\n", "t must be an integer", 2, "t"),
    ("dup.csv", "series,t,count\na,1,1\na,1,2\n", "twice", 3, "t"),
    ("gap_t.csv", "series,t,count\na,1,1\na,2,1\nb,1,1\n", "missing t=2", None, "t"),
    ("bad_date.csv", "series,date,count\na,2020-13-45,1\n", "not a date", 2, "date"),
    ("no_w53.csv", "series,date,count\na,2021-W52,1\na,2021-W53,1\n", "ISO week", 3, "date"),
    (
        "mixed.csv",
        "series,date,count\na,2024-07,1\na,2024-08-01,1\n",
        "mixed",
        3,
        "date",
    ),
    (
        "date_gap.csv",
        "series,date,count\na,2024-01-01,1\na,2024-01-08,1\na,2024-01-22,1\n",
        "missing",
        4,
        "date",
    ),
    (
        "date_dup.csv",
        "series,date,count\na,2024-W01,1\na,2024-W02,1\na,2024-W02,3\n",
        "twice",
        4,
        "date",
    ),
    (
        "weekday.csv",
        "series,date,count\na,2024-01-01,1\na,2024-01-09,1\n",
        "same weekday",
        3,
        "date",
    ),
    (
        "t_vs_date.csv",
        "series,t,date,count\na,1,2024-W01,1\na,5,2024-W02,1\n",
        "does not match",
        3,
        "t",
    ),
    ("population.csv", "series,t,count,population\na,1,1,-5\n", "population", 2, "population"),
    ("state.csv", "series,t,count,state\na,1,1,2\n", "state must be 0 or 1", 2, "state"),
]


@pytest.mark.parametrize(("name", "data", "message", "line", "field"), CORPUS)
def test_malformed_files_are_refused(
    tmp_path: Path,
    name: str,
    data: bytes | str,
    message: str,
    line: int | None,
    field: str | None,
) -> None:
    path = _write(tmp_path, name, data)
    with pytest.raises(InputError) as info:
        read_counts(path)
    text = str(info.value)
    assert message in text, text
    first = info.value.problems[0]
    assert first.file == str(path)
    assert "/" in text and any("\u4e00" <= ch <= "\u9fff" for ch in text)  # bilingual
    if line is not None:
        assert first.line == line, text
    if field is not None:
        assert any(p.field == field for p in info.value.problems), text


def test_folder_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="folder"):
        read_counts(tmp_path)
    with pytest.raises(InputError, match="not found"):
        read_counts(tmp_path / "nope.csv")


# -- fuzzing ------------------------------------------------------------------------------------

_TOKENS = [
    "series",
    "t",
    "date",
    "count",
    "population",
    "state",
    "cnt",
    "a",
    "铁东区",
    "1",
    "2",
    "0",
    "-1",
    "3.5",
    "1e309",
    "nan",
    "inf",
    "",
    " ",
    '"',
    "2024-W01",
    "2024-W02",
    "2021-W53",
    "2024-07",
    "2024-02-29",
    "2020-13-45",
    "99999999999999999999",
]

_csv_like = st.lists(
    st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=6).map(",".join),
    min_size=0,
    max_size=8,
).map("\n".join)


def _load_or_refuse(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            counts = read_counts(path)
        except InputError as exc:
            assert exc.problems, "an InputError must list its problems"
            return
        assert isinstance(counts, Counts)
        assert counts.n_times >= 1 and counts.n_series >= 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_csv_like, header=st.sampled_from(["series,t,count", "series,date,count", ""]))
def test_fuzz_csv_like_text(text: str, header: str) -> None:
    _load_or_refuse(((header + "\n") if header else "").encode() + text.encode(), ".csv")


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".xlsx", ".txt"]))
def test_fuzz_bytes(data: bytes, suffix: str) -> None:
    _load_or_refuse(data, suffix)


@settings(max_examples=150, deadline=None)
@given(text=_csv_like, encoding=st.sampled_from(["gbk", "utf-8-sig", "utf-16"]))
def test_fuzz_encodings(text: str, encoding: str) -> None:
    _load_or_refuse(("series,t,count\n" + text).encode(encoding), ".csv")
