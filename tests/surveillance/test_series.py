"""The Counts data structure and the uniform DetectionResult."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthwatch.errors import InputError
from healthwatch.surveillance import Counts, DetectionResult, resolve_range


def test_from_long_builds_time_by_series_grid_with_missing_values() -> None:
    frame = pd.DataFrame(
        {"series": ["b", "a", "b", "a"], "t": [2, 1, 1, 2], "count": [4, 1, 3, None]}
    )
    counts = Counts.from_long(frame)
    assert counts.names == ["b", "a"]
    np.testing.assert_array_equal(counts.observed, [[3.0, 1.0], [4.0, np.nan]])


@pytest.mark.parametrize(
    ("frame", "line", "field"),
    [
        (pd.DataFrame({"series": ["a", "a"], "t": [1, 2], "count": [1, -2]}), 3, "count"),
        (pd.DataFrame({"series": ["a", "a"], "t": [1, 2], "count": [1, 2.5]}), 3, "count"),
        (pd.DataFrame({"series": ["a", "a"], "t": [1, "x"], "count": [1, 2]}), 3, "t"),
        (pd.DataFrame({"series": ["a", "a"], "t": [1, 1], "count": [1, 2]}), 3, "t"),
    ],
)
def test_from_long_names_file_line_and_field(frame: pd.DataFrame, line: int, field: str) -> None:
    with pytest.raises(InputError) as info:
        Counts.from_long(frame, file="cases.csv")
    problem = info.value.problems[0]
    assert (problem.file, problem.line, problem.field) == ("cases.csv", line, field)
    assert problem.reason_zh and problem.reason_en


def test_from_long_rejects_gaps_per_series() -> None:
    frame = pd.DataFrame({"series": ["a", "a", "b"], "t": [1, 2, 2], "count": [1, 1, 1]})
    with pytest.raises(InputError, match="series 'b' has 1 of the 2 time points; missing t=1"):
        Counts.from_long(frame, file="x.csv")


def test_missing_columns_are_reported() -> None:
    with pytest.raises(InputError, match="missing column"):
        Counts.from_long(pd.DataFrame({"series": ["a"], "count": [1]}))


def test_counts_rejects_negative_and_fractional_arrays() -> None:
    with pytest.raises(InputError, match="non-negative integers"):
        Counts.from_array([[1.0], [-1.0]])
    with pytest.raises(InputError, match="non-negative integers"):
        Counts.from_array([[1.0], [0.5]])


def test_epoch_must_increase() -> None:
    with pytest.raises(InputError, match="dates must increase"):
        Counts.from_array([1, 2], epoch=np.array(["2024-01-08", "2024-01-01"], "datetime64[D]"))


def test_select_and_long_round_trip() -> None:
    counts = Counts.from_array(np.arange(12).reshape(4, 3), names=["x", "y", "z"], population=100)
    part = counts.select([0, 2])
    assert part.names == ["x", "z"]
    np.testing.assert_array_equal(part.observed[:, 1], [2, 5, 8, 11])
    assert part.population is not None and part.population.shape == (4, 2)
    back = Counts.from_long(counts.to_long())
    np.testing.assert_array_equal(back.observed, counts.observed)


def test_resolve_range_is_one_based_and_inclusive() -> None:
    counts = Counts.from_array(np.zeros((10, 1)))
    np.testing.assert_array_equal(resolve_range(counts, "3:5", 1), [3, 4, 5])
    np.testing.assert_array_equal(resolve_range(counts, None, 8), [8, 9, 10])
    with pytest.raises(InputError, match=r"t=1\.\.10"):
        resolve_range(counts, [0, 1], 1)


def test_concat_joins_series_in_order() -> None:
    def part(names: list[str], value: float) -> DetectionResult:
        shape = (2, len(names))
        full = np.full(shape, value)
        return DetectionResult("m", np.array([1, 2]), names, full, full, full > 0, full, full)

    joined = DetectionResult.concat([part(["a"], 1.0), part(["b", "c"], 0.0)])
    assert joined.names == ["a", "b", "c"]
    np.testing.assert_array_equal(joined.alarm, [[True, False, False]] * 2)
    frame = joined.to_frame()
    assert list(frame.columns) == [
        "series",
        "t",
        "observed",
        "expected",
        "upperbound",
        "alarm",
        "score",
    ]
    assert len(frame) == 6


def test_select_slice_is_a_view_and_indices_copy() -> None:
    counts = Counts.from_array(np.arange(12.0).reshape(4, 3), names=["x", "y", "z"])
    part = counts.select(slice(1, 3))
    assert part.names == ["y", "z"] and np.shares_memory(part.observed, counts.observed)
    np.testing.assert_array_equal(part.observed, counts.observed[:, 1:3])
    masked = counts.select(np.array([True, False, True]))
    assert masked.names == ["x", "z"] and not np.shares_memory(masked.observed, counts.observed)
    one = counts.select([2])
    assert one.observed.shape == (4, 1) and one.names == ["z"]
    assert counts.names == ["x", "y", "z"]  # the original is untouched


def test_to_json_gives_null_for_nan_and_lists_for_tuples() -> None:
    res = DetectionResult(
        method="m",
        t=np.array([3, 4]),
        names=["a"],
        expected=np.array([[1.5], [np.nan]]),
        upperbound=np.array([[2.0], [np.nan]]),
        alarm=np.array([[False], [True]]),
        score=np.array([[np.nan], [0.5]]),
        observed=np.array([[1.0], [4.0]]),
        control={"limit54": (5, 4), "alpha": np.float64(0.01), "w": np.nan},
    )
    assert res.to_json() == {
        "method": "m",
        "control": {"limit54": [5, 4], "alpha": 0.01, "w": None},
        "dates": None,
        "t": [3, 4],
        "series": [
            {
                "name": "a",
                "observed": [1.0, 4.0],
                "expected": [1.5, None],
                "upperbound": [2.0, None],
                "alarm": [False, True],
                "score": [None, 0.5],
            }
        ],
        "alarms": 1,
    }


def test_read_counts_names_the_file(tmp_path: Path) -> None:
    from healthwatch.data.counts import read_counts

    with pytest.raises(InputError) as err:
        read_counts(tmp_path / "none.csv", 52)
    assert err.value.problems[0].file == str(tmp_path / "none.csv")
    path = tmp_path / "c.csv"
    path.write_text("series,t,count\na,1,3\na,2,\n", encoding="utf-8")
    counts = read_counts(path, 52)
    np.testing.assert_array_equal(counts.observed, [[3.0], [np.nan]])


def test_json_chunks_equal_to_json() -> None:
    """The fast streaming JSON is the document to_json describes (NaN/inf as null)."""
    import json

    from healthwatch.cli._common import strict_json

    res = DetectionResult(
        method="m",
        t=np.array([3, 4, 5]),
        names=["a", "区县 b"],
        expected=np.array([[1.5, np.nan], [np.inf, 2.0], [0.1, 1e-300]]),
        upperbound=np.array([[2.0, 3.0], [np.nan, 4.0], [5.0, 6.0]]),
        alarm=np.array([[False, True], [True, False], [False, False]]),
        score=np.array([[np.nan, 0.5], [-np.inf, 1.0], [2.0, 3.0]]),
        observed=np.array([[1.0, 4.0], [np.nan, 2.0], [0.0, 7.0]]),
        control={
            "limit54": (5, 4),
            "phi": np.array([[1.0, np.nan]] * 3),
            "kept": np.ones(2, bool),
            "trend_kept": np.array([[True, False]] * 3),
            "none": np.zeros((2, 0)),
            "steps": np.array([[1, -2], [3, 4]]),
        },
        dates=np.array(["2024-01-01", "2024-01-08", "2024-01-15"], dtype="datetime64[D]"),
    )

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    got = json.loads("".join(res.json_chunks()), parse_constant=refuse)
    assert got == strict_json(res.to_json())
    assert got["dates"] == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert got["series"][0]["observed"] == [1, None, 0]
