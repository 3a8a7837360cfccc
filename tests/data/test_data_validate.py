"""Validation before writing: every problem found at once, warnings kept, nothing guessed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from healthwatch.data.elements import load_definitions
from healthwatch.data.validate import Context, Incoming, modified_z, validate
from healthwatch.errors import InputError
from healthwatch.regions.hierarchy import liaoning_regions

DEFS = load_definitions()
REGIONS = {r.adcode: r.parent for r in liaoning_regions()}
ANSHAN_COUNTIES = sorted(a for a, p in REGIONS.items() if p == "210300")


def incoming(rows: list[tuple[str, str, str, str]], **kw) -> Incoming:
    frame = pd.DataFrame(rows, columns=["region", "period", "element", "value"])
    return Incoming(frame, "in.csv", "csv", **kw)


def ctx(stored: list[tuple[str, str, str, float]] = (), locked=()) -> Context:
    frame = pd.DataFrame(list(stored), columns=["region", "period", "element", "value"])
    return Context(REGIONS, frame, set(locked))


def problems(rows, context=None) -> list:
    with pytest.raises(InputError) as info:
        validate(incoming(rows), DEFS, context or ctx())
    return info.value.problems


def test_valid_rows_pass_and_values_are_floats():
    checked = validate(
        incoming(
            [("210302", "2023", "live_births", "1200"), ("210302", "2023", "infant_deaths", "4")]
        ),
        DEFS,
        ctx(),
    )
    assert checked.values["value"].tolist() == [1200.0, 4.0]


def test_every_row_problem_is_listed_with_line_column_and_code():
    ps = problems(
        [
            ("210302", "2023", "live_births", "1200"),
            ("999999", "2023", "live_births", "1"),  # line 3 unknown region
            ("210302", "2023-01", "live_births", "1"),  # line 4 bad period
            ("210302", "2023", "no_such_code", "1"),  # line 5 unknown code
            ("210303", "2023", "live_births", "十二"),  # line 6 text in a number
            ("210303", "2023", "beds", "-3"),  # line 7 negative count
            ("210303", "2023", "physicians", "2.5"),  # line 8 fractional count
            ("210303", "2023", "smoking_rate_15plus", "120"),  # line 9 percent > 100
            ("210304", "2023", "live_births", ""),  # line 10 missing
            ("210304", "2023", "beds", "nan"),  # line 11 NaN is not a number
            ("210304", "2023Q1", "beds", "5"),  # line 12 beds are yearly only
        ]
    )
    by_line = {p.line: p for p in ps}
    assert sorted(by_line) == list(range(3, 13))
    assert by_line[3].field == "region" and "999999" in by_line[3].reason_en
    assert by_line[4].field == "period"
    assert by_line[5].field == "element" and "no_such_code" in by_line[5].reason_zh
    assert by_line[6].field == "value" and "十二" in by_line[6].reason_zh
    assert "whole number" in by_line[7].reason_en and "whole number" in by_line[8].reason_en
    assert "0-100" in by_line[9].reason_en
    assert "missing" in by_line[10].reason_en
    assert "not a number" in by_line[11].reason_en
    assert by_line[12].field == "period" and "beds" in by_line[12].reason_en
    assert all(p.file == "in.csv" for p in ps)


def test_duplicates_with_different_values_are_errors_identical_ones_a_warning():
    ps = problems([("210302", "2023", "beds", "10"), ("210302", "2023", "beds", "11")])
    assert {p.line for p in ps} == {2, 3} and "different values" in ps[0].reason_en
    checked = validate(
        incoming([("210302", "2023", "beds", "10"), ("210302", "2023", "beds", "10")]), DEFS, ctx()
    )
    assert len(checked.values) == 1
    assert [w["kind"] for w in checked.warnings] == ["duplicate_identical"]


def test_numerator_above_denominator_is_checked_against_stored_values():
    stored = [("210302", "2023", "live_births", 100.0)]
    ps = problems([("210302", "2023", "infant_deaths", "101")], ctx(stored))
    assert len(ps) == 1 and "infant_deaths" in ps[0].reason_en and "live_births" in ps[0].reason_en
    assert ps[0].line == 2
    # the same figures both from the file
    ps = problems(
        [("210302", "2023", "infant_deaths", "5"), ("210302", "2023", "live_births", "4")]
    )
    assert len(ps) == 1
    # not a proportion: inpatient days per discharge may exceed 1
    validate(
        incoming(
            [
                ("210302", "2023", "tertiary_inpatient_days", "9000"),
                ("210302", "2023", "tertiary_discharges", "1000"),
            ]
        ),
        DEFS,
        ctx(),
    )


def test_locked_periods_refuse_values_including_sub_periods_of_a_locked_year():
    ps = problems(
        [
            ("210302", "2023", "beds", "1"),
            ("210302", "202305", "live_births", "1"),
            ("210303", "2023", "beds", "1"),
        ],
        ctx(locked={("210302", "2023")}),
    )
    assert [p.line for p in ps] == [2, 3]
    assert "locked" in ps[0].reason_en and "锁定" in ps[0].reason_zh


def test_high_importance_rule_rejects_medium_rule_warns_with_missing_value_strategy():
    ps = problems(
        [
            ("210302", "2023", "infant_deaths", "5"),
            ("210302", "2023", "under5_deaths", "4"),
            ("210302", "2023", "live_births", "1000"),
            ("210302", "2023", "deliveries", "990"),
        ]
    )
    assert len(ps) == 1 and "under5_deaths_ge_infant_deaths" in ps[0].reason_en
    checked = validate(
        incoming(
            [
                ("210302", "2023", "live_births", "1000"),
                ("210302", "2023", "deliveries", "990"),
                ("210302", "2023", "live_births_male", "520"),
                ("210302", "2023", "live_births_female", "470"),
            ]
        ),
        DEFS,
        ctx(),
    )
    kinds = [(w["kind"], w["code"], w["importance"]) for w in checked.warnings]
    assert kinds == [("rule", "births_by_sex_add_up", "medium")]
    # SKIP_IF_ANY_VALUE_MISSING: the sex split absent -> the rule is skipped
    checked = validate(
        incoming(
            [("210302", "2023", "live_births", "1000"), ("210302", "2023", "deliveries", "990")]
        ),
        DEFS,
        ctx(),
    )
    assert checked.warnings == []


def test_compulsory_pair_warns_when_one_side_is_missing():
    checked = validate(incoming([("210302", "2023", "live_births", "1000")]), DEFS, ctx())
    assert [w["code"] for w in checked.warnings] == ["births_need_deliveries"]
    # the message names the elements and this file's values, never the rule's #{...} syntax
    (w,) = checked.warnings
    births, deliveries = DEFS.elements["live_births"], DEFS.elements["deliveries"]
    assert "#{" not in w["message_zh"] and "#{" not in w["message_en"]
    assert f"{births.name_zh}（1000）须与{deliveries.name_zh}（未填报）同时填报" in w["message_zh"]
    assert (
        f"{births.name_en} (1000) must be reported with {deliveries.name_en} (not reported)"
        in (w["message_en"])
    )


def test_comparison_rule_message_shows_names_values_and_factor():
    rows = [("210302", "2023", "live_births", "1000"), ("210302", "2023", "deliveries", "1200")]
    checked = validate(incoming(rows), DEFS, ctx())
    (w,) = [w for w in checked.warnings if w["code"] == "live_births_vs_deliveries"]
    births, deliveries = DEFS.elements["live_births"], DEFS.elements["deliveries"]
    assert f"{deliveries.name_zh}（1200） ≤ {births.name_zh}（1000） × 1.1" in w["message_zh"]
    assert f"{deliveries.name_en} (1200) ≤ {births.name_en} (1000) × 1.1" in w["message_en"]


def test_modified_z_matches_the_textbook_formula():
    x = pd.Series([3.1, 3.4, 2.9, 3.3, 3.0, 9.0])
    z = modified_z(x, [pd.Series(["a"] * 6)])
    med = np.median(x)
    mad = np.median(np.abs(x - med))
    assert z.tolist() == pytest.approx((0.6745 * (x - med) / mad).tolist())
    assert abs(z.iloc[-1]) > 3.5 > abs(z.iloc[:-1]).max()
    # MAD = 0: mean absolute deviation stands in; all equal: no score
    y = pd.Series([3.0, 3.0, 3.0, 3.0, 9.0])
    zy = modified_z(y, [pd.Series(["a"] * 5)])
    assert zy.iloc[-1] == pytest.approx(6.0 / (1.253314 * 1.2))
    assert modified_z(pd.Series([2.0] * 4), [pd.Series(["a"] * 4)]).isna().all()


def test_outliers_against_own_history_and_peers_are_warnings():
    # ten years of infant mortality around 3.5 permille in 210302, then 14 permille in 2024
    stored = []
    for year in range(2014, 2024):
        stored += [
            ("210302", str(year), "live_births", 2000.0),
            ("210302", str(year), "infant_deaths", 7.0 + (year % 3)),
        ]
    for county in ANSHAN_COUNTIES:
        if county != "210302":
            stored += [
                (county, "2024", "live_births", 1000.0),
                (county, "2024", "infant_deaths", 3.0 + int(county) % 3),
            ]
    checked = validate(
        incoming(
            [
                ("210302", "2024", "live_births", "2000"),
                ("210302", "2024", "infant_deaths", "28"),
                ("210302", "2024", "deliveries", "1990"),
            ]
        ),
        DEFS,
        ctx(stored),
    )
    kinds = {(w["kind"], w["code"]) for w in checked.warnings}
    assert ("outlier_history", "infant_mortality") in kinds
    assert ("outlier_peers", "infant_mortality") in kinds
    assert ("bounds", "infant_mortality") not in kinds  # 14 permille: within 0-15
    assert all(w["region"] == "210302" for w in checked.warnings)


def test_plausible_bounds_of_reported_figures_warn():
    checked = validate(incoming([("210000", "2020", "life_expectancy", "99")]), DEFS, ctx())
    assert [w["kind"] for w in checked.warnings] == ["bounds"]
