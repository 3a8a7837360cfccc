"""The pandas-free CSV reader: it accepts only what the general reader would read, and then gives
exactly the same Counts; everything else goes to the general reader (same messages as before)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import healthwatch.data.counts as counts_module
from healthwatch.data.counts import read_counts
from healthwatch.data.counts_fast import fast_counts
from healthwatch.errors import InputError
from healthwatch.surveillance import Counts
from healthwatch.surveillance.calendar import period_labels


def _general(path: Path, freq: int = 0) -> Counts:
    """read_counts without the fast path (pandas and Counts.from_long)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(counts_module, "fast_counts", lambda *_a: None)
    try:
        return read_counts(path, freq)
    finally:
        mp.undo()


def _same(a: Counts, b: Counts) -> None:
    assert a.names == b.names
    assert a.freq == b.freq
    np.testing.assert_array_equal(a.observed, b.observed)
    assert (a.epoch is None) == (b.epoch is None)
    if a.epoch is not None:
        np.testing.assert_array_equal(a.epoch, b.epoch)
    assert a.population is None and a.state is None


def _table(n_series: int, n_times: int, *, start: str, freq: int, seed: int = 0) -> list[list[str]]:
    gen = np.random.default_rng(seed)
    dates = period_labels(
        np.datetime64(start) + (7 if freq == 52 else 1) * np.arange(n_times), freq
    )
    names = [f"铁东区{i}" if i % 3 == 0 else f"s{i}" for i in range(n_series)]
    rows = []
    for i, d in enumerate(dates):
        for s, name in enumerate(names):
            count = "" if gen.random() < 0.05 else str(int(gen.poisson(3 + s)))
            rows.append([name, d, str(i + 1), count])
    return rows


def _write(tmp: Path, rows: list[list[str]], columns: tuple[str, ...], name: str = "c.csv") -> Path:
    index = {"series": 0, "date": 1, "t": 2, "count": 3}
    text = ",".join(columns) + "\n"
    text += "".join(",".join(r[index[c]] for c in columns) + "\n" for r in rows)
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "columns",
    [
        ("series", "date", "count"),
        ("date", "series", "count"),
        ("series", "t", "count"),
        ("count", "t", "date", "series"),
    ],
)
@pytest.mark.parametrize("order", ["date-major", "series-major", "shuffled"])
def test_fast_path_equals_general_reader(tmp_path: Path, columns: tuple, order: str) -> None:
    rows = _table(7, 120, start="2019-01-07", freq=52)
    if order == "series-major":
        rows = sorted(rows, key=lambda r: (r[0], int(r[2])))
    elif order == "shuffled":
        rows = [rows[i] for i in np.random.default_rng(3).permutation(len(rows))]
    path = _write(tmp_path, rows, columns)
    fast = fast_counts(path)
    assert fast is not None
    _same(fast, _general(path))
    _same(read_counts(path), fast)


def test_daily_and_monthly_dates_and_given_freq(tmp_path: Path) -> None:
    daily = _write(
        tmp_path, _table(3, 40, start="2024-02-20", freq=365), ("series", "date", "count")
    )
    fast = fast_counts(daily)
    assert fast is not None and fast.freq == 365
    _same(fast, _general(daily))
    text = "series,date,count\na,2024-07,1\nb,2024-07,2\na,2024-08,\nb,2024-08,4\n"
    monthly = tmp_path / "m.csv"
    monthly.write_text(text)
    fast = fast_counts(monthly)
    assert fast is not None and fast.freq == 12
    _same(fast, _general(monthly))
    yearly = fast_counts(monthly, 1)  # freq 1 beside dates is allowed, as in from_long
    assert yearly is not None
    _same(yearly, _general(monthly, 1))
    # a contradicting freq: the general reader's message
    assert fast_counts(monthly, 52) is None
    with pytest.raises(InputError, match="dates are monthly"):
        read_counts(monthly, 52)


@pytest.mark.parametrize(
    "text",
    [
        'series,t,count\n"a",1,3\n',  # quotes
        "series,t,count\r\na,1,3\r\n",  # CRLF
        "series,t,count\na,1,3\n\na,2,4\n",  # blank line
        "series,t,count\na ,1,3\n",  # space after a name
        "series,t,count\na,1,3.0\n",  # a count that is not plain digits
        "series,t,count\na,1,-1\n",
        "series,t,count\na,1,1e3\n",
        "series,t,count\na,1,1234567890123456\n",  # 16 digits
        "series,t,count\na,0,3\n",  # t below 1
        "series,t,count\na,1,3\na,1,4\n",  # a repeated cell
        "series,t,count\na,1,3\na,3,4\n",  # a gap
        "series,t,count\na,1,3\nb,2,4\n",  # missing cells
        "series,t,count\na,1,3,4\n",  # too many fields
        "series,t,count\na,1\n",  # too few
        "series,t,count,population\na,1,3,100\n",  # another column: the general reader
        "series,date,count\na,2024-W01,1\na,2024-W03,2\n",  # a calendar gap
        "series,date,count\na,2024-13,1\n",  # not a date
        "series,date,t,count\na,2024-W01,2,1\n",  # t and date disagree
        "series,count\na,1\n",  # no time column
        "serie,t,count\na,1,3\n",
        "",
    ],
)
def test_anything_unusual_goes_to_the_general_reader(tmp_path: Path, text: str) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(text, encoding="utf-8", newline="")
    assert fast_counts(path) is None


def test_refusals_keep_their_messages(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("series,t,count\na,1,3\na,1,4\n")
    with pytest.raises(InputError) as err:
        read_counts(path)
    problem = err.value.problems[0]
    assert problem.line == 3 and problem.field == "t" and "twice" in problem.reason_en


def test_other_files_are_not_taken(tmp_path: Path) -> None:
    gbk = tmp_path / "g.csv"
    gbk.write_bytes("series,t,count\n铁东区,1,3\n".encode("gbk"))
    assert fast_counts(gbk) is None
    assert read_counts(gbk).names == ["铁东区"]
    assert fast_counts(tmp_path / "missing.csv") is None
    assert fast_counts(tmp_path) is None
    txt = tmp_path / "c.txt"
    txt.write_text("series,t,count\na,1,3\n")
    assert fast_counts(txt) is None


def test_reading_a_clean_file_does_not_import_pandas(tmp_path: Path) -> None:
    path = _write(tmp_path, _table(4, 60, start="2020-01-06", freq=52), ("series", "date", "count"))
    code = (
        "import sys\nfrom healthwatch.data.counts import read_counts\n"
        f"c = read_counts({str(path)!r})\nprint(c.n_series, 'pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.split() == ["4", "False"]


_NAMES = st.sampled_from(["a", "b", "铁东区", "铁西区很长的名字", "1", "01", "x y", "NA"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(_NAMES, min_size=1, max_size=4, unique=True),
    n_times=st.integers(1, 6),
    counts=st.lists(st.sampled_from(["0", "3", "", "12", "007"]), min_size=24, max_size=24),
    dated=st.booleans(),
    drop=st.integers(-1, 30),
    shuffle_seed=st.integers(0, 5),
)
def test_fuzz_fast_equals_general(
    names: list[str], n_times: int, counts: list[str], dated: bool, drop: int, shuffle_seed: int
) -> None:
    """Whenever the fast path accepts a file, the general reader reads the same Counts."""
    labels = period_labels(np.datetime64("2020-12-21") + 7 * np.arange(n_times), 52)
    rows = [
        [name, labels[i] if dated else str(i + 1), counts[(i * len(names) + j) % 24]]
        for i in range(n_times)
        for j, name in enumerate(names)
    ]
    if 0 <= drop < len(rows):
        del rows[drop]
    rows = [rows[i] for i in np.random.default_rng(shuffle_seed).permutation(len(rows))]
    header = "series,date,count" if dated else "series,t,count"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows))
        fast = fast_counts(path)
        try:
            general = _general(path)
        except InputError:
            assert fast is None
            return
        if fast is not None:
            _same(fast, general)
