"""Both plans reproduce their source documents: every table row, every figure, every sentence.

The reference is the seed text itself (/work/shared/seeds): the indicator tables are parsed here
from the text, independently of the YAML, and compared row by row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from healthwatch.plans import Indicator, Plan, SupplementaryTarget, builtin_plans

Item = Indicator | SupplementaryTarget

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
ANSHAN_TXT = SEEDS / "000_14fe07d2ce9f326d.txt"
LIAONING_TXT = SEEDS / "003_2b4deb73e30e62d3.txt"


@pytest.fixture(autouse=True)
def _seed_texts() -> None:
    """The seed texts live in ../shared: skipped without them, a failure under CI."""
    from conftest import require_shared

    require_shared("seeds")


def normalise(text: str) -> str:
    """Undo the PDF extraction's line breaks (and read table tabs as spaces)."""
    return re.sub(r"\s*\n\s*", "", text).replace("\t", " ")


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {p.id: p for p in builtin_plans()}


@pytest.fixture(scope="module")
def liaoning(plans: dict[str, Plan]) -> Plan:
    return plans["liaoning-2021-2025"]


@pytest.fixture(scope="module")
def anshan(plans: dict[str, Plan]) -> Plan:
    return plans["anshan-2021-2025"]


# ------------------------------------------------------------------------------------------
# Parsing the tables from the text
# ------------------------------------------------------------------------------------------

LIAONING_CATEGORIES = (
    "健康水平和健康保障",
    "健康服务",
    "妇幼健康",
    "医疗服务",
    "医疗卫生服务体系",
    "健康生活",
)
# The target column's forms in the Liaoning table: an operator and a figure, a figure with
# 左右, or a statement.
_TARGET = re.compile(
    r"(?:[≥≤＜]\s*[\d.]+\s*(?:/10 万|‰|%|岁|天|个|名)?"
    r"|[\d.]+%左右|\d+张左右|同比例提高|上升趋势减缓|力争每年下降[\d.]+ 个百分点)$"
)


def parse_liaoning_table() -> list[dict[str, str]]:
    text = normalise(LIAONING_TXT.read_text("utf-8"))
    start = text.index("指标类别 指标名称 2025 年目标值 指标性质") + len(
        "指标类别 指标名称 2025 年目标值 指标性质"
    )
    body = text[start : text.index("三、构建完善强大的公共卫生防控体系")]
    rows = []
    category = ""
    for chunk, nature in re.findall(r"(.+?)\s*(预期性|约束性)", body):
        chunk = chunk.strip()
        for cat in LIAONING_CATEGORIES:
            if chunk.startswith(cat):
                category, chunk = cat, chunk[len(cat) :].strip()
        match = _TARGET.search(chunk)
        assert match, f"no target found in row {chunk!r}"
        rows.append(
            {
                "category": category,
                "name": chunk[: match.start()].strip(),
                "target": match.group(0),
                "nature": nature,
            }
        )
    return rows


def parse_anshan_table() -> list[dict[str, str]]:
    lines = ANSHAN_TXT.read_text("utf-8").splitlines()
    start = lines.index("指标类别\t指标名称\t2020年\t2025年") + 1
    rows, category = [], ""
    for line in lines[start:]:
        if not line.strip():
            continue
        cells = line.split("\t")
        assert len(cells) == 4, line
        category = cells[0] or category
        rows.append({"category": category, "name": cells[1], "y2020": cells[2], "y2025": cells[3]})
    return rows


def test_liaoning_table_has_30_indicators_in_6_categories() -> None:
    rows = parse_liaoning_table()
    assert len(rows) == 30
    assert len({r["category"] for r in rows}) == 6
    assert "6 类 30 个" in normalise(LIAONING_TXT.read_text("utf-8"))


def test_liaoning_rows_reproduced_exactly(liaoning: Plan) -> None:
    rows = parse_liaoning_table()
    nature_zh = {"binding": "约束性", "expected": "预期性"}
    assert len(liaoning.indicators) == len(rows)
    for ind, row in zip(liaoning.indicators, rows, strict=True):
        assert ind.name_zh == row["name"]
        assert ind.category_zh == row["category"]
        assert ind.target.text_zh == row["target"]
        assert nature_zh[ind.nature] == row["nature"], ind.code
        assert ind.target.year == 2025


def test_anshan_table_rows_reproduced_exactly(anshan: Plan) -> None:
    rows = parse_anshan_table()
    # The table has 15 rows; the last one has no line break after it in the extraction.
    assert len(rows) == 15
    assert [r["category"] for r in rows].count("妇幼健康") == 4
    assert len(anshan.indicators) == 15
    for ind, row in zip(anshan.indicators, rows, strict=True):
        assert ind.name_zh == row["name"]
        assert ind.category_zh == row["category"]
        assert ind.target.text_zh == row["y2025"]
        assert ind.target.year == 2025
        # The 2020 column is the earlier plan's target, stored as a previous target.
        from_table = [
            t for t in ind.previous_targets if t.year == 2020 and t.text_zh == row["y2020"]
        ]
        assert len(from_table) == 1, ind.code
        assert ind.nature == "not_stated"  # the Anshan table has no 属性 column


# ------------------------------------------------------------------------------------------
# Structured values agree with the printed wording
# ------------------------------------------------------------------------------------------


def numbers_in(text: str) -> set[float]:
    found = set()
    for num, wan in re.findall(r"(\d+(?:\.\d+)?)\s*(万)?", text):
        found.add(float(num) * (10000 if wan and "/10" not in text else 1))
        found.add(float(num))
    return found


def all_targets(plan: Plan) -> Iterator[tuple[Item, Any]]:
    items: list[Item] = [*plan.indicators, *plan.supplementary_targets]
    for item in items:
        yield item, item.target
        yield from ((item, t) for t in getattr(item, "previous_targets", []))


def test_structured_numbers_come_from_the_wording(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        for item, target in all_targets(plan):
            printed = numbers_in(target.text_zh)
            if not printed:
                if target.kind in ("trend", "proportional"):
                    assert target.value is None and target.statement
                else:  # the only other wording without digits is 全部 (all): 100%
                    assert "全部" in target.text_zh and target.value == 100, target.text_zh
                continue
            fields = ["value", "low", "high"]
            if target.kind == "annual_change":  # counted from the plan's base year
                assert target.base_year == plan.base_year
            elif target.base_year is not None:  # 较2020年 / 比 2015 年: printed
                fields.append("base_year")
            for field in fields:
                number = getattr(target, field)
                if number is not None:
                    assert abs(number) in printed, (item.code, field, number, target.text_zh)


def test_every_source_and_wording_is_in_the_document(plans: dict[str, Plan]) -> None:
    texts = {
        "liaoning-2021-2025": normalise(LIAONING_TXT.read_text("utf-8")),
        "anshan-2021-2025": normalise(ANSHAN_TXT.read_text("utf-8")),
    }

    def walk(node: object, path: str, text: str) -> int:
        n = 0
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("source", "text_zh", "name_zh") and isinstance(value, str):
                    if key == "name_zh" and not path.startswith("indicators"):
                        continue  # names of figures outside the tables describe, not quote
                    assert normalise(value) in text, f"{path}.{key}: {value!r}"
                    n += 1
                n += walk(value, f"{path}.{key}", text)
        elif isinstance(node, list):
            n += sum(walk(v, f"{path}[{i}]", text) for i, v in enumerate(node))
        return n

    for plan_id, plan in plans.items():
        doc = plan.to_json()
        checked = sum(
            walk(doc[part], part, texts[plan_id])
            for part in ("indicators", "supplementary_targets", "projects", "context_figures")
        )
        assert checked > 50


def test_every_target_and_figure_has_a_source(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        for ind in plan.indicators:
            assert ind.target.source
            assert all(t.source for t in ind.previous_targets)
            assert all(b.source for b in ind.baselines)
        assert all(s.source for s in plan.supplementary_targets)
        assert all(p.source for p in plan.projects)


def test_baseline_values_are_printed_in_their_sentences(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        figures = [(i.code, b) for i in plan.indicators for b in i.baselines]
        figures += [(c.code, c.baseline) for c in plan.context_figures]
        for code, b in figures:
            assert b.value in numbers_in(b.source), (code, b.value)
            if b.unit_printed == "percent":
                assert f"{b.value:.2f}%" in b.source.replace(" ", ""), code


def test_stated_liaoning_baselines(liaoning: Plan) -> None:
    expected = {
        "life_expectancy": 79,
        "maternal_mortality": 10.8,
        "infant_mortality": 3.4,
        "health_literacy": 25.18,
        "beds_per_1000": 7.4,
        "physicians_per_1000": 2.96,
        "nurses_per_1000": 3.35,
        "maternal_system_management": 92.3,
        "child_0_6_health_management": 94.3,
    }
    for code, value in expected.items():
        ind = liaoning.indicator(code)
        assert ind is not None and ind.baselines[-1].value == value
        assert ind.baselines[-1].year == 2020


def test_anshan_2015_and_2019_figures(anshan: Plan) -> None:
    le = anshan.indicator("life_expectancy")
    assert le is not None
    assert [(b.year, b.value) for b in le.baselines] == [(2015, 78.90), (2019, 79.39)]
    for code, value in (("maternal_mortality", 10.23), ("infant_mortality", 3.53)):
        ind = anshan.indicator(code)
        assert ind is not None and (ind.baselines[0].year, ind.baselines[0].value) == (2019, value)


# ------------------------------------------------------------------------------------------
# Supplementary targets and projects
# ------------------------------------------------------------------------------------------


def test_supplementary_targets_named_in_the_brief(liaoning: Plan, anshan: Plan) -> None:
    sup = {s.code: s for s in liaoning.supplementary_targets}
    assert sup["ambulances_per_30000"].target.value == 1
    assert sup["negative_pressure_ambulance_share"].target.value == 30
    assert sup["ems_radius_urban"].target.kind == "at_most"
    assert sup["ems_radius_urban"].target.value == 5
    assert (sup["ems_radius_rural"].target.low, sup["ems_radius_rural"].target.high) == (10, 20)
    assert sup["county_visit_share"].target.value == 90
    assert sup["antimicrobial_use_intensity"].target.value == 40
    assert sup["salt_intake"].target.value == 8 and sup["cooking_oil_intake"].target.value == 30
    assert {s.code for s in anshan.supplementary_targets} >= {"county_visit_share"}


def test_anshan_projects_match_the_text(anshan: Plan) -> None:
    text = normalise(ANSHAN_TXT.read_text("utf-8"))
    head = re.search(r"拟规划实施(\d+)大类(\d+)个项目，涉及资金([\d.]+)亿元", text)
    assert head
    parsed = re.findall(r"以“([^“”]+)”为代表的“([^“”]+)”项目(\d+)个、总投资([\d.]+)亿元", text)
    assert len(parsed) == int(head.group(1)) == len(anshan.projects) == 5
    for project, (name, category, count, amount) in zip(anshan.projects, parsed, strict=True):
        assert (project.name, project.category, project.count) == (name, category, int(count))
        assert project.amount_10k_yuan == pytest.approx(float(amount) * 10000)
    total = anshan.projects_total
    assert total is not None
    assert sum(p.count for p in anshan.projects) == total.count == int(head.group(2)) == 43
    assert sum(p.amount_10k_yuan for p in anshan.projects) == pytest.approx(total.amount_10k_yuan)
    assert total.amount_10k_yuan == pytest.approx(float(head.group(3)) * 10000)


def test_shared_codes_link_the_two_levels(liaoning: Plan, anshan: Plan) -> None:
    shared = {i.code for i in anshan.indicators} & {i.code for i in liaoning.indicators}
    assert shared == {
        "life_expectancy",
        "infant_mortality",
        "maternal_mortality",
        "under5_mortality",
        "health_literacy",
        "immunization_coverage_township",
        "premature_ncd_mortality",
        "maternal_system_management",
    }
    for code in shared:
        a, b = anshan.indicator(code), liaoning.indicator(code)
        assert a is not None and b is not None
        assert a.name_zh == b.name_zh and a.unit == b.unit, code
    assert anshan.parent == liaoning.id
