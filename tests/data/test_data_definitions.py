"""Definitions: every plan indicator has one, files are validated whole, provinces add their own."""

from __future__ import annotations

import pytest

from healthwatch.data.elements import factor_of, load_definitions, parse_expression
from healthwatch.errors import InputError
from healthwatch.plans import builtin_plans


def test_every_indicator_of_both_plans_has_one_definition():
    defs = load_definitions()
    for plan in builtin_plans():
        for ind in plan.indicators:
            d = defs.indicator(ind.code)
            assert d is not None, f"{plan.id}: {ind.code} has no definition"
            assert d.unit == ind.unit, f"{ind.code}: definition unit {d.unit} != plan {ind.unit}"
    # the same code in both plans is served by one definition object
    assert defs.indicator("infant_mortality").formula() == "infant_deaths / live_births × 1000"


def test_rates_are_computed_from_elements_and_direct_values_are_marked():
    defs = load_definitions()
    assert factor_of("per_100k") == 100000 and factor_of("days") == 1
    mm = defs.indicator("maternal_mortality")
    assert (mm.numerator, mm.denominator, mm.factor) == ("maternal_deaths", "live_births", 1e5)
    assert defs.indicator("life_expectancy").direct
    assert defs.element("life_expectancy").kind == "value"
    assert not defs.indicator("tertiary_alos").proportion  # days per discharge may exceed 1


def test_expressions_parse_terms_weights_and_constants():
    assert parse_expression("#{a} + #{b} * 1.1 + 3") == [("a", 1.0), ("b", 1.1), (None, 3.0)]
    with pytest.raises(ValueError):
        parse_expression("#{a} - #{b}")


def test_another_province_adds_its_own_file(tmp_path):
    extra = tmp_path / "jilin.yaml"
    extra.write_text(
        "elements:\n"
        "  - {code: dental_visits, name_zh: 口腔门诊人次, name_en: dental visits, kind: count}\n"
        "indicators:\n"
        "  - {code: dental_visits_per_1000, numerator: dental_visits,"
        " denominator: resident_population, unit: per_1000}\n",
        encoding="utf-8",
    )
    defs = load_definitions([extra])
    assert defs.indicator("dental_visits_per_1000").factor == 1000
    assert str(extra) in defs.files


def test_bad_definitions_are_rejected_with_every_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "elements:\n"
        "  - {code: live_births, name_zh: 重复, name_en: dup, kind: count}\n"
        "  - {code: Bad-Code, name_zh: x, name_en: x}\n"
        "indicators:\n"
        "  - {code: x_rate, numerator: nowhere, denominator: live_births, unit: percent}\n"
        "  - {code: y_rate, unit: percent}\n"
        "rules:\n"
        "  - {id: r1, name_zh: r, name_en: r, left: '#{ghost}', operator: equal_to,"
        " right: '#{live_births}'}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        load_definitions([bad])
    text = info.value.render()
    assert "live_births" in text and "重复定义" in text  # duplicate across files
    assert "elements.1.code" in text  # the bad code, located
    assert "nowhere" in text  # unknown element in a formula
    assert "indicators.1" in text  # neither value nor numerator
    assert "ghost" in text  # unknown element in a rule
    assert len(info.value.problems) >= 5
