"""Bad plan files are rejected whole, each problem with its file, line and field."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
import yaml

from healthwatch.errors import InputError, Problem
from healthwatch.plans import builtin_plans, load_plan_file, parse_plan

GOOD = """\
id: test-plan
name_zh: 测试规划
name_en: Test plan
region: "210300"
level: city
parent: liaoning-2021-2025
start_year: 2021
end_year: 2025
base_year: 2020
source_document: none
indicators:
  - code: infant_mortality
    name_zh: 婴儿死亡率
    name_en: Infant mortality rate
    category_zh: 健康水平
    category_en: Health status
    unit: permille
    direction: lower
    nature: expected
    target: {kind: at_most, value: 5.0, year: 2025, text_zh: "≤5.0‰"}
  - code: health_literacy
    name_zh: 居民健康素养水平
    name_en: Health literacy
    category_zh: 疾病防控
    category_en: Disease control
    unit: percent
    direction: higher
    target:
      kind: at_least
      value: 27
      year: 2025
      text_zh: 27%
"""


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing ``needle``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[nth - 1]


def problems(text: str, **kw: object) -> list[Problem]:
    with pytest.raises(InputError) as info:
        parse_plan(text, "plan.yaml", **kw)  # type: ignore[arg-type]
    assert all(p.file == "plan.yaml" for p in info.value.problems)
    assert all(p.reason_zh and p.reason_en for p in info.value.problems)
    return info.value.problems


def test_good_file_loads() -> None:
    plan = parse_plan(GOOD, "plan.yaml", known_adcodes={"210000", "210300"})
    assert [i.code for i in plan.indicators] == ["infant_mortality", "health_literacy"]


def test_wrong_type_names_line_and_field() -> None:
    text = GOOD.replace("      value: 27", "      value: lots")
    (p,) = problems(text)
    assert p.line == line_of(text, "value: lots")
    assert p.field == "indicators[1].target.value"


def test_unknown_target_kind() -> None:
    text = GOOD.replace("kind: at_most", "kind: more_or_less")
    (p,) = problems(text)
    assert p.line == line_of(text, "more_or_less")
    assert p.field is not None and p.field.startswith("indicators[0].target")


def test_missing_required_field() -> None:
    text = GOOD.replace("    unit: percent\n", "")
    (p,) = problems(text)
    assert p.field == "indicators[1].unit"
    assert p.line == line_of(text, "code: health_literacy")  # the indicator that lacks it


def test_yaml_syntax_error_has_a_line() -> None:
    text = GOOD.replace("  - code: health_literacy", "  - code: [health_literacy")
    (p,) = problems(text)
    assert p.line is not None and p.line >= line_of(text, "[health_literacy")


def test_duplicate_indicator_code() -> None:
    text = GOOD.replace("code: health_literacy", "code: infant_mortality")
    (p,) = problems(text)
    assert p.field == "indicators[1].code"
    assert p.line == line_of(text, "code: infant_mortality", nth=2)
    assert "重复" in p.reason_zh and "duplicate" in p.reason_en


def test_duplicate_yaml_key() -> None:
    text = GOOD.replace("base_year: 2020\n", "base_year: 2020\nbase_year: 2019\n")
    (p,) = problems(text)
    assert p.line == line_of(text, "base_year: 2019") and p.field == "base_year"


def test_adcode_format_and_known_codes() -> None:
    (p,) = problems(GOOD.replace('region: "210300"', 'region: "2103"'))
    assert p.field == "region" and p.line == 4 and "GB/T 2260" in p.reason_en
    (p,) = problems(GOOD.replace('region: "210300"', 'region: "219900"'), known_adcodes={"210300"})
    assert p.field == "region" and "unknown" in p.reason_en
    parse_plan(GOOD.replace('region: "210300"', 'region: "219900"'), "x")  # format only: fine


def test_target_kind_contradicting_direction() -> None:
    text = GOOD.replace("kind: at_most, value: 5.0", "kind: at_least, value: 5.0")
    (p,) = problems(text)
    assert p.field == "indicators[0].target.kind"
    assert p.line == line_of(text, "kind: at_least, value: 5.0")
    assert "direction" in p.reason_en and "矛盾" in p.reason_zh


def test_all_problems_reported_at_once() -> None:
    text = GOOD.replace("code: health_literacy", "code: infant_mortality").replace(
        "kind: at_most, value: 5.0", "kind: at_least, value: 5.0"
    )
    assert len(problems(text)) == 2


def test_json_file_with_lines(tmp_path: Path) -> None:
    doc = yaml.safe_load(GOOD)
    doc["indicators"][1]["target"]["value"] = "lots"
    path = tmp_path / "plan.json"
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_plan_file(path)
    (p,) = info.value.problems
    assert p.file == str(path) and p.field == "indicators[1].target.value"
    assert p.line == line_of(text, '"lots"')
    doc["indicators"][1]["target"]["value"] = 27
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert load_plan_file(path).id == "test-plan"


def test_unreadable_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_plan_file(tmp_path / "nope.yaml")
    assert info.value.problems[0].file == str(tmp_path / "nope.yaml")
    (p,) = problems("- just\n- a list\n")
    assert "mapping" in p.reason_en


def test_builtin_plans_load_with_known_adcodes() -> None:
    liaoning, anshan = builtin_plans()
    assert (liaoning.region, anshan.region, anshan.parent) == ("210000", "210300", liaoning.id)
    text = (resources.files("healthwatch.plans") / "data" / "anshan-2021-2025.yaml").read_text(
        "utf-8"
    )
    assert parse_plan(text, "anshan", known_adcodes={"210000", "210300"}) == anshan
