"""Data elements and indicator definitions: what a county reports and how an indicator is computed.

A county statistician reports *data elements*: raw counts (live births, infant deaths, beds,
physicians), amounts (health expenditure in 万元) and the few figures that can only be reported
as a value (life expectancy). An *indicator* of a plan is defined over elements, identified by
the plan's indicator code and shared by every plan that uses the code:

* ``numerator / denominator x factor`` where the factor comes from the indicator's unit
  (% = 100, ‰ = 1000, per 10 万 = 100000, per 1,000 residents = 1000 …), so a rate is always
  computed from counts, never typed, and aggregates correctly up the region hierarchy;
* ``numerator`` alone (a count indicator such as people living with HIV);
* ``value: ELEMENT`` where only a value exists (life expectancy); such an indicator cannot be
  aggregated and a parent's own figure is the only figure.

The definitions are YAML files (``healthwatch/data/definitions/*.yaml``); another province adds
its own file (``HEALTHWATCH_DATA_DEFINITIONS``, or ``load_definitions(extra=[...])``). Files are
validated whole, each problem reported with file, line (where known) and field in zh and en.

>>> d = load_definitions()
>>> d.indicator("infant_mortality").factor, d.indicator("infant_mortality").elements()
(1000.0, ('infant_deaths', 'live_births'))
>>> d.indicator("life_expectancy").direct
True
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from healthwatch.errors import InputError, Problem
from healthwatch.plans.model import UNITS, Unit

__all__ = [
    "DEFINITIONS_ENV",
    "OPERATORS",
    "DataElement",
    "Definitions",
    "IndicatorDefinition",
    "ValidationRule",
    "factor_of",
    "load_definitions",
]

DEFINITIONS_ENV = "HEALTHWATCH_DATA_DEFINITIONS"

#: The factor that turns numerator/denominator into the unit: 3 deaths / 1000 births x 1000 = 3‰.
_FACTORS: dict[str, float] = {
    "percent": 100.0,
    "permille": 1000.0,
    "per_100k": 100000.0,
    "per_1000": 1000.0,
    "per_10000": 10000.0,
    "per_30000": 30000.0,
    "sex_ratio": 100.0,
    "ddds_per_100_patient_days": 100.0,
}

PeriodType = Literal["year", "quarter", "month"]
ElementKind = Literal["count", "amount", "value"]
Importance = Literal["high", "medium", "low"]
MissingStrategy = Literal["SKIP_IF_ANY_VALUE_MISSING", "SKIP_IF_ALL_VALUES_MISSING", "NEVER_SKIP"]

#: DHIS2 validation-rule operators.
OPERATORS = (
    "equal_to",
    "not_equal_to",
    "greater_than",
    "greater_than_or_equal_to",
    "less_than",
    "less_than_or_equal_to",
    "compulsory_pair",
    "exclusive_pair",
)
OPERATOR_SYMBOL = {
    "equal_to": "=",
    "not_equal_to": "≠",
    "greater_than": ">",
    "greater_than_or_equal_to": "≥",
    "less_than": "<",
    "less_than_or_equal_to": "≤",
    "compulsory_pair": "与",
    "exclusive_pair": "不与",
}

_CODE = r"^[a-z][a-z0-9_]*$"
_TERM = re.compile(r"^\s*#\{([a-z][a-z0-9_]*)\}\s*(?:\*\s*([0-9.]+))?\s*$|^\s*([0-9.]+)\s*$")


def factor_of(unit: str) -> float:
    """The factor of a rate unit (1 for days, persons and other plain quantities)."""
    return _FACTORS.get(unit, 1.0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataElement(_Strict):
    """A raw figure reported by a region for a period."""

    code: str = Field(pattern=_CODE)
    name_zh: str
    name_en: str
    kind: ElementKind = "count"
    unit_zh: str = ""
    periods: tuple[PeriodType, ...] = ("year",)

    @property
    def summable(self) -> bool:
        """Counts and amounts add up over regions; a direct value does not."""
        return self.kind != "value"


class IndicatorDefinition(_Strict):
    """How one plan indicator is computed from data elements (see the module docstring)."""

    code: str = Field(pattern=_CODE)
    unit: Unit
    numerator: str | None = Field(default=None, pattern=_CODE)
    denominator: str | None = Field(default=None, pattern=_CODE)
    value: str | None = Field(default=None, pattern=_CODE)
    proportion: bool = False
    bounds: tuple[float, float] | None = None
    name_zh: str | None = None
    name_en: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> IndicatorDefinition:
        if (self.value is None) == (self.numerator is None):
            raise ValueError("give either value, or numerator (with an optional denominator)")
        if self.denominator is not None and self.numerator is None:
            raise ValueError("a denominator needs a numerator")
        if self.proportion and self.denominator is None:
            raise ValueError("proportion: true needs a denominator")
        if self.bounds is not None and self.bounds[0] > self.bounds[1]:
            raise ValueError("bounds: low must not exceed high")
        return self

    @property
    def direct(self) -> bool:
        """True when the indicator is a reported value, not a computed rate."""
        return self.value is not None

    @property
    def factor(self) -> float:
        return 1.0 if self.denominator is None else factor_of(self.unit)

    def elements(self) -> tuple[str, ...]:
        """The element codes the indicator reads, numerator first."""
        if self.value is not None:
            return (self.value,)
        return tuple(e for e in (self.numerator, self.denominator) if e is not None)

    def formula(self) -> str:
        """The formula as a person reads it (``infant_deaths / live_births x 1000``)."""
        if self.value is not None:
            return self.value
        if self.denominator is None:
            return str(self.numerator)
        return f"{self.numerator} / {self.denominator} × {self.factor:g}"

    @property
    def unit_label_zh(self) -> str:
        return UNITS[self.unit][0]


class ValidationRule(_Strict):
    """A DHIS2-style rule between elements: ``left operator right`` for each region and period.

    Expressions are sums of terms ``#{element}``, ``#{element} * number`` or ``number``. The
    missing-value strategy says when a rule is skipped (``SKIP_IF_ANY_VALUE_MISSING`` by default,
    as in DHIS2); a missing element otherwise counts as 0. A violated rule of importance ``high``
    is an error that rejects the file; ``medium`` and ``low`` are warnings.
    """

    id: str = Field(pattern=_CODE)
    name_zh: str
    name_en: str
    left: str
    operator: Literal[
        "equal_to",
        "not_equal_to",
        "greater_than",
        "greater_than_or_equal_to",
        "less_than",
        "less_than_or_equal_to",
        "compulsory_pair",
        "exclusive_pair",
    ]
    right: str
    missing_value_strategy: MissingStrategy = "SKIP_IF_ANY_VALUE_MISSING"
    importance: Importance = "medium"

    @model_validator(mode="after")
    def _parse(self) -> ValidationRule:
        parse_expression(self.left)
        parse_expression(self.right)
        return self

    def side(self, which: Literal["left", "right"]) -> list[tuple[str | None, float]]:
        return parse_expression(self.left if which == "left" else self.right)

    def elements(self) -> set[str]:
        return {c for c, _ in (*self.side("left"), *self.side("right")) if c is not None}


def parse_expression(text: str) -> list[tuple[str | None, float]]:
    """``"#{a} + #{b} * 2 + 3"`` -> ``[("a", 1), ("b", 2), (None, 3)]`` (None: a constant)."""
    terms: list[tuple[str | None, float]] = []
    for part in text.split("+"):
        match = _TERM.match(part)
        if not match:
            raise ValueError(f"cannot read the term {part.strip()!r} of expression {text!r}")
        code, weight, constant = match.groups()
        if code is not None:
            terms.append((code, float(weight) if weight else 1.0))
        else:
            terms.append((None, float(constant)))
    return terms


@dataclass(frozen=True)
class Definitions:
    """All loaded elements, indicators and rules, addressed by code."""

    elements: dict[str, DataElement]
    indicators: dict[str, IndicatorDefinition]
    rules: tuple[ValidationRule, ...]
    files: tuple[str, ...] = field(default_factory=tuple)

    def element(self, code: str) -> DataElement | None:
        return self.elements.get(code)

    def indicator(self, code: str) -> IndicatorDefinition | None:
        return self.indicators.get(code)

    def storable_codes(self) -> set[str]:
        """Codes a value may be stored under: elements, and indicators as reported figures.

        A region may report an indicator's figure itself (a baseline stated in a plan, a city's
        own published rate); it is kept beside the rate computed from counts, never instead.
        """
        return set(self.elements) | set(self.indicators)

    def indicators_using(self, element: str) -> list[IndicatorDefinition]:
        return [i for i in self.indicators.values() if element in i.elements()]


def _problem(file: str, en: str, zh: str, field: str | None = None) -> Problem:
    return Problem(en, zh, file=file, field=field)


def _parse_file(text: str, file: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        raise InputError(
            [Problem(f"not valid YAML: {exc}", f"不是有效的 YAML：{exc}", file=file, line=line)]
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            [
                _problem(
                    file,
                    "a definitions file is a mapping with elements, indicators and rules",
                    "定义文件应为包含 elements、indicators、rules 的映射",
                )
            ]
        )
    return data


def _validate_items(
    data: dict[str, Any], file: str, problems: list[Problem]
) -> tuple[list[DataElement], list[IndicatorDefinition], list[ValidationRule]]:
    unknown = set(data) - {"id", "name_zh", "name_en", "elements", "indicators", "rules"}
    for key in sorted(unknown):
        problems.append(_problem(file, "unknown key", "未知的键", key))
    out: dict[str, list[Any]] = {"elements": [], "indicators": [], "rules": []}
    models: dict[str, type[BaseModel]] = {
        "elements": DataElement,
        "indicators": IndicatorDefinition,
        "rules": ValidationRule,
    }
    for section, model in models.items():
        items = data.get(section) or []
        if not isinstance(items, list):
            problems.append(_problem(file, "must be a list", "应为列表", section))
            continue
        for i, item in enumerate(items):
            try:
                out[section].append(model.model_validate(item))
            except ValidationError as exc:
                for err in exc.errors():
                    where = ".".join(str(p) for p in (section, i, *err["loc"]))
                    problems.append(_problem(file, err["msg"], f"定义不合格：{err['msg']}", where))
    return out["elements"], out["indicators"], out["rules"]


def _cross_check(defs: Definitions, file_of: dict[str, str], problems: list[Problem]) -> None:
    for ind in defs.indicators.values():
        for code in ind.elements():
            if code not in defs.elements:
                problems.append(
                    _problem(
                        file_of.get(ind.code, ""),
                        f"indicator {ind.code} uses unknown element {code}",
                        f"指标 {ind.code} 引用了未定义的数据项 {code}",
                        f"indicators.{ind.code}",
                    )
                )
        direct = ind.value is not None and ind.value in defs.elements
        if direct and defs.elements[str(ind.value)].kind != "value":
            problems.append(
                _problem(
                    file_of.get(ind.code, ""),
                    f"indicator {ind.code}: a direct value must be an element of kind value",
                    f"指标 {ind.code}：直接填报的值须引用 kind 为 value 的数据项",
                    f"indicators.{ind.code}",
                )
            )
        if ind.code in defs.elements and ind.elements() != (ind.code,):
            problems.append(
                _problem(
                    file_of.get(ind.code, ""),
                    f"code {ind.code} is both an element and an indicator computed from others",
                    f"编码 {ind.code} 既是数据项又是由其他数据项计算的指标",
                    f"indicators.{ind.code}",
                )
            )
    for rule in defs.rules:
        for code in sorted(rule.elements() - set(defs.elements)):
            problems.append(
                _problem(
                    file_of.get(rule.id, ""),
                    f"rule {rule.id} uses unknown element {code}",
                    f"校验规则 {rule.id} 引用了未定义的数据项 {code}",
                    f"rules.{rule.id}",
                )
            )


def _sources(extra: Iterable[Path | str]) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    package = resources.files("healthwatch.data.definitions")
    for entry in sorted(package.iterdir(), key=lambda p: p.name):
        if entry.name.endswith((".yaml", ".yml")):
            texts.append((f"healthwatch/data/definitions/{entry.name}", entry.read_text("utf-8")))
    for path in extra:
        p = Path(path)
        try:
            texts.append((str(p), p.read_text("utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                [_problem(str(p), f"cannot read the file: {exc}", f"无法读取定义文件：{exc}")]
            ) from None
    return texts


def _env_files() -> tuple[str, ...]:
    raw = os.environ.get(DEFINITIONS_ENV, "")
    return tuple(p for p in raw.split(os.pathsep) if p.strip())


def load_definitions(extra: Iterable[Path | str] = ()) -> Definitions:
    """The packaged definitions, ``extra`` files and those in ``$HEALTHWATCH_DATA_DEFINITIONS``.

    A code defined twice (in one file or across files) is an error: one definition serves every
    plan using the code. Every problem of every file is reported at once.
    """
    return _load_cached((*_env_files(), *(str(p) for p in extra)))


@lru_cache(maxsize=8)
def _load_cached(extra: tuple[str, ...]) -> Definitions:
    problems: list[Problem] = []
    elements: dict[str, DataElement] = {}
    indicators: dict[str, IndicatorDefinition] = {}
    rules: dict[str, ValidationRule] = {}
    file_of: dict[str, str] = {}
    files: list[str] = []
    for file, text in _sources(extra):
        files.append(file)
        data = _parse_file(text, file)
        els, inds, rls = _validate_items(data, file, problems)
        for kind, items, target in (
            ("element", els, elements),
            ("indicator", inds, indicators),
            ("rule", rls, rules),
        ):
            for item in items:
                key = item.id if isinstance(item, ValidationRule) else item.code
                if key in target:
                    problems.append(
                        _problem(
                            file,
                            f"{kind} {key} is defined twice (also in {file_of.get(key, file)})",
                            f"{kind} {key} 重复定义（另见 {file_of.get(key, file)}）",
                            key,
                        )
                    )
                    continue
                target[key] = item  # type: ignore[assignment]
                file_of[key] = file
    defs = Definitions(elements, indicators, tuple(rules.values()), tuple(files))
    _cross_check(defs, file_of, problems)
    if problems:
        raise InputError(
            problems,
            "The data definition files were rejected.",
            "数据定义文件有误，已拒绝。",
        )
    return defs


def indicator_names() -> dict[str, tuple[str, str]]:
    """Chinese and English names of every plan indicator and supplementary target, by code."""
    from healthwatch.plans import builtin_plans

    names: dict[str, tuple[str, str]] = {}
    for plan in builtin_plans():
        for ind in plan.indicators:
            names.setdefault(ind.code, (ind.name_zh, ind.name_en))
        for sup in plan.supplementary_targets:
            names.setdefault(sup.code, (sup.name_zh, sup.name_en))
    return names
