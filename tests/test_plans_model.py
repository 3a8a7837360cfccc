"""The plan model: every target kind evaluates as its wording says; JSON and schema round-trip."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from healthwatch.plans import (
    TARGET_KINDS,
    Indicator,
    Plan,
    SupplementaryTarget,
    Target,
    builtin_plans,
    plan_json_schema,
)

target_adapter: TypeAdapter[Target] = TypeAdapter(Target)


def t(**kw: object) -> Target:
    kw.setdefault("text_zh", "x")
    return target_adapter.validate_python(kw)


LOOKUP = {2015: 78.90, 2020: 79.5}.get


@pytest.mark.parametrize(
    ("target", "value", "expected"),
    [
        ({"kind": "at_least", "value": 80}, 80.0, True),
        ({"kind": "at_least", "value": 80}, 79.99, False),
        ({"kind": "at_most", "value": 4.5}, 4.5, True),
        ({"kind": "at_most", "value": 4.5}, 4.51, False),
        ({"kind": "below", "value": 0.17}, 0.17, False),  # ＜ is strict
        ({"kind": "below", "value": 0.17}, 0.169, True),
        ({"kind": "approximately", "value": 8, "tolerance": 0.5}, 8.5, True),
        ({"kind": "approximately", "value": 8, "tolerance": 0.5}, 7.4, False),
        ({"kind": "range", "low": 103, "high": 107}, 103, True),
        ({"kind": "range", "low": 103, "high": 107}, 107.1, False),
        ({"kind": "unchanged", "value": 90, "op": "at_least"}, 90, True),
        ({"kind": "unchanged", "value": 90, "op": "at_least"}, 89.9, False),
        ({"kind": "unchanged", "value": 5, "op": "at_most"}, 5.1, False),
        ({"kind": "equal", "value": 100}, 100, True),
        ({"kind": "equal", "value": 100}, 99.9, False),
        ({"kind": "count_cap", "value": 40000}, 40000, True),
        ({"kind": "count_cap", "value": 40000}, 40001, False),
    ],
)
def test_level_targets_evaluate(target: dict[str, object], value: float, expected: bool) -> None:
    assert t(**target).evaluate(value, None) is expected


def test_change_abs_uses_the_base_year_value() -> None:
    # 较2020年增加0.5岁 with 79.5 in 2020: 80.0 is needed.
    target = t(kind="change_abs", value=0.5, base_year=2020, year=2025)
    assert target.evaluate(80.0, LOOKUP) is True
    assert target.evaluate(79.99, LOOKUP) is False
    assert target.evaluate(80.0, None) is None  # no base value: not decidable
    assert target.evaluate(80.0, {2015: 1.0}.get) is None


def test_change_pct_decrease() -> None:
    # 比2020年降低10%: from 20.0 the target is 18.0 or less.
    target = t(kind="change_pct", value=-10, base_year=2020, year=2025)
    lookup = {2020: 20.0}.get
    assert target.evaluate(18.0, lookup) is True
    assert target.evaluate(18.01, lookup) is False


def test_annual_change_accumulates_over_the_years() -> None:
    # 力争每年下降0.5个百分点 from 52.7% in 2020: 50.2% by 2025.
    target = t(kind="annual_change", value=-0.5, base_year=2020, year=2025)
    lookup = {2020: 52.7}.get
    assert target.evaluate(50.2, lookup) is True
    assert target.evaluate(50.3, lookup) is False


def test_statements_are_not_machine_evaluable() -> None:
    assert t(kind="trend", statement="the upward trend slows").evaluate(1.0, LOOKUP) is None
    assert t(kind="proportional", statement="same proportion").evaluate(1.0, LOOKUP) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "at_least"},  # no value
        {"kind": "range", "low": 107, "high": 103},  # reversed
        {"kind": "range", "low": 103},
        {"kind": "approximately", "value": 8},  # no tolerance
        {"kind": "change_pct", "value": -10},  # no base year
        {"kind": "unchanged", "value": 90},  # no side
        {"kind": "trend"},  # no statement
        {"kind": "more_or_less", "value": 1},  # unknown kind
        {"kind": "at_least", "value": 1, "colour": "red"},  # unknown field
    ],
)
def test_incomplete_targets_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        t(**bad)


def test_interface_fields_of_a_target() -> None:
    data = t(kind="range", low=103, high=107, year=2025, text_zh="103-107").to_json()
    for key in ("kind", "value", "low", "high", "year", "text_zh"):
        assert key in data
    assert (data["low"], data["high"], data["value"]) == (103, 107, None)


def test_every_target_kind_occurs_in_the_seed_plans() -> None:
    kinds = set()
    for plan in builtin_plans():
        items: list[Indicator | SupplementaryTarget] = [
            *plan.indicators,
            *plan.supplementary_targets,
        ]
        for item in items:
            kinds.add(item.target.kind)
            kinds.update(p.kind for p in getattr(item, "previous_targets", []))
    assert kinds == set(TARGET_KINDS)


def test_plan_json_round_trip_and_interface_keys() -> None:
    for plan in builtin_plans():
        doc = plan.to_json()
        assert Plan.from_json(json.loads(json.dumps(doc))) == plan
        assert plan.summary().keys() == {
            "id",
            "name_zh",
            "name_en",
            "region",
            "start_year",
            "end_year",
            "indicators",
        }
        for ind in doc["indicators"]:
            assert {"code", "name_zh", "name_en", "category_zh", "unit", "direction", "nature"} <= (
                ind.keys()
            )
            assert all({"year", "value", "source"} <= b.keys() for b in ind["baselines"])
            assert {"kind", "value", "low", "high", "year", "text_zh"} <= ind["target"].keys()
        assert "supplementary_targets" in doc and "projects" in doc


def _published_schema() -> dict[str, object]:
    text = (resources.files("healthwatch.plans") / "schema" / "plan.schema.json").read_text("utf-8")
    return json.loads(text)


def test_published_schema_is_the_models_schema() -> None:
    # Regenerate with: python -c "import json; from healthwatch.plans import plan_json_schema; ..."
    # (see docs/plans.md). A mismatch means the model changed without republishing the schema.
    assert _published_schema() == plan_json_schema()


def test_seed_yaml_files_validate_against_the_published_schema() -> None:
    schema = _published_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for name in ("liaoning-2021-2025.yaml", "anshan-2021-2025.yaml"):
        text = (resources.files("healthwatch.plans") / "data" / name).read_text("utf-8")
        doc = yaml.safe_load(text)
        errors = list(validator.iter_errors(doc))
        assert errors == [], [e.message for e in errors[:3]]
        broken = json.loads(json.dumps(doc))
        broken["indicators"][0]["target"]["kind"] = "more_or_less"
        assert list(validator.iter_errors(broken)), "the schema must reject an unknown kind"


def test_length_limits_are_the_database_columns() -> None:
    """The model refuses what a column cannot hold, so SQLite and PostgreSQL refuse alike."""
    from healthwatch.plans.model import CODE_MAX_LENGTH, PLAN_ID_MAX_LENGTH
    from healthwatch.store import models

    assert models.Plan.__table__.c.id.type.length == PLAN_ID_MAX_LENGTH
    assert models.PlanVersion.__table__.c.plan_id.type.length == PLAN_ID_MAX_LENGTH
    assert models.Indicator.__table__.c.plan_id.type.length == PLAN_ID_MAX_LENGTH
    assert models.Indicator.__table__.c.code.type.length == CODE_MAX_LENGTH
    assert models.Plan.__table__.c.region.type.length == 6  # the 6-digit adcode rule


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("id",), "a" * 101, "at most 100 characters"),
        (("indicators", 0, "code"), "c" * 101, "at most 100 characters"),
        (("start_year",), 1899, "greater than or equal to 1949"),
        (("indicators", 0, "target", "value"), float("nan"), "finite"),
        (("indicators", 1, "target", "value"), -5, "cannot be negative"),
        (("indicators", 0, "baselines", 0, "value"), 1e300, "less than or equal to"),
        (("name_zh",), "a\x00b", "control character"),
    ],
)
def test_model_refuses_what_no_plan_can_say(
    path: tuple[str | int, ...], value: object, reason: str
) -> None:
    doc = builtin_plans()[1].to_json()
    target = doc
    for part in path[:-1]:
        target = target[part]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    with pytest.raises(ValidationError, match=reason):
        Plan.model_validate(doc)
