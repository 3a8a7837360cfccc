"""Feed validation, GB 11643 identity numbers and pseudonymised line lists (pure, no database)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import numpy as np
import pandas as pd
import pytest

from healthwatch.errors import InputError
from healthwatch.warning.feeds import count_line_list, records_frame, validate_counts
from healthwatch.warning.identity import (
    KEY_ENV,
    MissingKeyError,
    check_character,
    pseudonymise,
    validate_id_number,
)

REGIONS = {"210302", "210303", "210102"}
KEY = "a-test-key-of-32-characters-long"


def make_id(region: str, born: str, seq: str) -> str:
    """A valid number built with the check rule written out from GB 11643 (independent code)."""
    body = region + born + seq
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]  # as printed in the standard
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


def test_check_character_matches_the_standards_example_and_printed_weights():
    # GB 11643-1999's own example number
    assert check_character("11010519491231002") == "X"
    for seq in ("001", "123", "998"):
        number = make_id("210302", "19800229", seq)
        assert validate_id_number(number) is None
        assert check_character(number[:17]) == number[17]


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("21030219800229001", "18 characters"),
        ("2103021980022900A1", "digits"),
        ("210302198002300011", "birth date"),
        ("210302209901010011", "impossible"),
        ("990302198001010011", "province"),
    ],
)
def test_malformed_numbers_are_refused_with_a_reason(number, reason):
    result = validate_id_number(number, today=date(2024, 1, 1))
    assert result is not None and reason in result[0]
    assert number not in result[0] and number not in result[1]


def test_a_wrong_check_digit_is_refused():
    good = make_id("210302", "19750101", "011")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    assert "check digit" in validate_id_number(bad)[0]


def test_pseudonym_is_the_keyed_hmac_and_depends_on_the_key():
    number = make_id("210302", "19750101", "011")
    expected = hmac.new(KEY.encode(), number.encode(), hashlib.sha256).hexdigest()
    assert pseudonymise(number, KEY.encode()) == expected
    assert pseudonymise(number.lower(), KEY.encode()) == expected
    assert pseudonymise(number, b"another-key-of-sufficient-size") != expected


def rows(*items):
    return pd.DataFrame(
        [
            dict(zip(("date", "region", "source", "syndrome", "count"), r, strict=True))
            for r in items
        ]
    )


def test_missing_is_not_zero():
    frame = rows(
        ("2024-03-01", "210302", "fever_clinic", "fever", "0"),
        ("2024-03-02", "210302", "fever_clinic", "fever", ""),
        ("2024-03-03", "210302", "fever_clinic", "fever", "NA"),
        ("2024-03-04", "210302", "fever_clinic", "fever", "7"),
    )
    out = validate_counts(frame, regions=REGIONS, today="2024-03-05")
    counts = out["count"].to_numpy()
    assert counts[0] == 0 and np.isnan(counts[1]) and np.isnan(counts[2]) and counts[3] == 7


def test_every_problem_is_reported_with_line_and_field():
    frame = rows(
        ("2024-03-01", "999999", "fever_clinic", "fever", "1"),  # line 2: region
        ("2024-03-01", "210302", "fever_clinc", "fever", "1"),  # line 3: source
        ("2024-03-01", "210302", "fever_clinic", "fevr", "1"),  # line 4: syndrome
        ("2024-03-01", "210303", "fever_clinic", "fever", "-2"),  # line 5: negative
        ("2024-03-01", "210303", "fever_clinic", "cough", "1.5"),  # line 6: not whole
        ("2030-01-01", "210303", "fever_clinic", "ili", "1"),  # line 7: future
        ("2024-13-01", "210303", "fever_clinic", "rash", "1"),  # line 8: not a date
        ("2024-03-02", "210102", "laboratory", "influenza", "1"),  # line 9
        ("2024-03-02", "210102", "laboratory", "influenza", "2"),  # line 10: duplicate of 9
    )
    with pytest.raises(InputError) as info:
        validate_counts(frame, regions=REGIONS, today="2024-03-05", file="f.csv")
    found = {(p.line, p.field) for p in info.value.problems}
    assert found == {
        (2, "region"),
        (3, "source"),
        (4, "syndrome"),
        (5, "count"),
        (6, "count"),
        (7, "date"),
        (8, "date"),
        (10, "date,region,source,syndrome"),
    }
    by_line = {p.line: p for p in info.value.problems}
    assert "negative" in by_line[5].reason_en and "负数" in by_line[5].reason_zh
    assert "future" in by_line[7].reason_en and "line 9" in by_line[10].reason_en
    assert "第 9 行" in by_line[10].reason_zh


def test_json_records_refuse_unknown_fields_and_take_null_as_missing():
    frame = records_frame(
        [
            {
                "date": "2024-03-01",
                "region": "210302",
                "source": "laboratory",
                "syndrome": "influenza",
                "count": None,
            }
        ]
    )
    out = validate_counts(frame, regions=REGIONS, today="2024-03-02")
    assert np.isnan(out["count"].iloc[0])
    with pytest.raises(InputError) as info:
        records_frame([{"date": "2024-03-01", "county": "210302"}])
    assert "county" in info.value.problems[0].reason_en


def line_list(numbers, dates, regions=None, diseases=None):
    n = len(numbers)
    return pd.DataFrame(
        {
            "id_number": numbers,
            "name": ["张三"] * n,
            "date": dates,
            "region": regions or ["210302"] * n,
            "syndrome": diseases or ["influenza"] * n,
        }
    )


def test_line_list_merges_duplicates_and_counts_with_zero_days(monkeypatch):
    a = make_id("210302", "19800101", "011")
    b = make_id("210302", "19900101", "022")
    frame = line_list(
        [a, b, a.lower(), b],
        ["2024-03-01", "2024-03-01", "2024-03-02", "2024-03-03"],
        diseases=["influenza", "influenza", "influenza", "hfmd"],
    )
    counts, stats = count_line_list(frame, regions=REGIONS, key=KEY, today="2024-03-05")
    assert stats == {"rows": 4, "duplicates_merged": 1, "cases": 3}
    flu = counts[counts["syndrome"] == "influenza"].set_index("date")["count"]
    assert flu.to_dict() == {
        np.datetime64("2024-03-01"): 2.0,
        np.datetime64("2024-03-02"): 0.0,  # the same person reported again: merged
        np.datetime64("2024-03-03"): 0.0,
    }
    assert set(counts.columns) == {"date", "region", "source", "syndrome", "count"}
    assert "id_number" not in counts.columns and "name" not in counts.columns


def test_line_list_refused_without_a_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    frame = line_list([make_id("210302", "19800101", "011")], ["2024-03-01"])
    with pytest.raises(MissingKeyError) as info:
        count_line_list(frame, regions=REGIONS, today="2024-03-05")
    assert KEY_ENV in info.value.message_en and KEY_ENV in info.value.message_zh


def test_line_list_errors_never_quote_numbers_or_names():
    good = make_id("210302", "19800101", "011")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    frame = line_list([good, bad, "123"], ["2024-03-01"] * 3, regions=["210302", good, "210302"])
    with pytest.raises(InputError) as info:
        count_line_list(frame, regions=REGIONS, key=KEY, today="2024-03-05", file="cases.csv")
    text = info.value.render()
    assert {(p.line, p.field) for p in info.value.problems} == {
        (3, "id_number"),
        (4, "id_number"),
        (3, "region"),
    }
    for secret in (good, bad, good[:14], "张三"):
        assert secret not in text
