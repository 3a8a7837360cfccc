"""The plan model: a five-year health plan as checked data.

A plan (province or city) holds indicators from its key-indicator table, supplementary targets
stated elsewhere in its text, and projects. Every figure carries the sentence it comes from
(``source``), so that a reader can always go back to the document. Targets are explicit about
their kind (``at_least``, ``range``, ``change_pct`` ...) so that progress can be evaluated by
machine where the words allow, and they keep the original wording (``text_zh``) beside the
structured form, because the wording is what the government committed to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# --------------------------------------------------------------------------------------------
# Units and scales
# --------------------------------------------------------------------------------------------

#: Units used by indicators: code -> (Chinese label, English label, scale for rates).
#: ``scale`` converts a rate in that unit to a plain proportion (3.4‰ -> 0.0034); None for
#: quantities that are not rates of persons (years, days, counts ...).
UNITS: dict[str, tuple[str, str, float | None]] = {
    "percent": ("%", "%", 1e-2),
    "permille": ("‰", "‰", 1e-3),
    "per_100k": ("/10万", "per 100,000", 1e-5),
    "per_1000": ("每千人口", "per 1,000 residents", 1e-3),
    "per_10000": ("每万人口", "per 10,000 residents", 1e-4),
    "per_30000": ("每3万人口", "per 30,000 residents", 1.0 / 30000),
    "percentage_points": ("个百分点", "percentage points", None),
    "years": ("岁", "years", None),
    "days": ("天", "days", None),
    "count": ("个", "count", None),
    "persons": ("人", "persons", None),
    "sex_ratio": ("女=100", "males per 100 females", None),
    "km": ("公里", "km", None),
    "grams_per_day": ("克/日", "grams per person per day", None),
    "ddds_per_100_patient_days": ("DDDs/百人天", "DDDs per 100 patient-days", None),
    "yuan_10k": ("万元", "10,000 yuan", None),
}

Unit = Literal[
    "percent",
    "permille",
    "per_100k",
    "per_1000",
    "per_10000",
    "per_30000",
    "percentage_points",
    "years",
    "days",
    "count",
    "persons",
    "sex_ratio",
    "km",
    "grams_per_day",
    "ddds_per_100_patient_days",
    "yuan_10k",
]

Direction = Literal["higher", "lower", "band"]
"""Which way is better: ``higher``, ``lower``, or ``band`` (inside a normal range: sex ratio)."""

Nature = Literal["binding", "expected", "not_stated"]
"""约束性 binding, 预期性 expected, or not stated by the plan."""

NATURE_ZH = {"binding": "约束性", "expected": "预期性", "not_stated": "未注明"}

BaselineLookup = Callable[[int], float | None]
"""Returns an indicator's value in a given year, or None when not known."""


# --------------------------------------------------------------------------------------------
# Limits: what no plan can say, refused the same way whatever database stores the plan
# --------------------------------------------------------------------------------------------

#: Longest plan id and indicator code: the length of ``plans.id`` and ``indicators.code`` in
#: ``healthwatch/store/models.py`` (String(100)). Checked here, in the model, so that SQLite
#: (which would store a longer one) and PostgreSQL (which would raise a DataError) refuse alike;
#: a test keeps these equal to the columns.
PLAN_ID_MAX_LENGTH = 100
CODE_MAX_LENGTH = 100

#: Years a plan can speak of: from 1949 (the first national health statistics) to 2100.
YEAR_MIN, YEAR_MAX = 1949, 2100

#: Largest magnitude of any figure. The biggest true figures in a plan are populations (10⁹
#: persons) and investments (10⁸ 万元); anything beyond 10¹² is a typing error, not a plan.
FIGURE_MAX = 1e12

#: Control characters (other than tab, newline, carriage return) and lone surrogates: never
#: text a person wrote, and PostgreSQL refuses NUL in JSON while SQLite stores it.
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

Year = Annotated[int, Field(ge=YEAR_MIN, le=YEAR_MAX)]
Figure = Annotated[float, Field(ge=-FIGURE_MAX, le=FIGURE_MAX)]
Level = Annotated[float, Field(ge=0, le=FIGURE_MAX)]
"""A level in an indicator's unit: no unit of a plan (rates, shares, persons, years, km …) is
negative; only a change (``change_abs``, ``change_pct``, ``annual_change``) has a sign."""
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=CODE_MAX_LENGTH)]
PlanId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=PLAN_ID_MAX_LENGTH)]


class _Strict(BaseModel):
    """Base of every part of a plan: unknown fields, NaN/±inf and control characters refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _printable_text(cls, value: Any) -> Any:
        if isinstance(value, str) and _BAD_TEXT.search(value):
            raise ValueError(
                "text contains a control character or an invalid code point "
                f"(U+{ord(_BAD_TEXT.search(value).group()):04X})"  # type: ignore[union-attr]
            )
        return value


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


class _TargetBase(_Strict):
    """Fields shared by every target kind, so that the JSON interface is the same for all.

    ``value``/``low``/``high`` carry the numbers; which of them a kind needs is checked by the
    kind's own validator. ``unit_printed`` records the unit as printed when it differs from the
    indicator's unit (an extraction or drafting slip the ``unit`` check reports).
    """

    kind: str
    text_zh: str = Field(description="The target exactly as the plan prints it")
    year: Year | None = Field(default=None, description="Year by which the target applies")
    value: Figure | None = None
    low: Figure | None = None
    high: Figure | None = None
    tolerance: Level | None = Field(default=None, description="approximately: accepted distance")
    base_year: Year | None = Field(default=None, description="change targets: the year compared to")
    op: Literal["at_least", "at_most"] | None = Field(
        default=None, description="unchanged: which side of the kept level is acceptable"
    )
    statement: str | None = Field(
        default=None, description="trend/proportional: the claim in English"
    )
    unit_printed: Unit | None = Field(
        default=None, description="Unit as printed, if not the usual one"
    )
    implicit_operator: bool = Field(
        default=False,
        description="True when the text gives a bare number and the bound is inferred",
    )
    source: str | None = Field(default=None, description="The sentence the target comes from")

    required: ClassVar[tuple[str, ...]] = ("value",)
    #: Which direction of indicator the kind asks for: None = compatible with any.
    wants: ClassVar[Direction | None] = None
    #: True for a level in the indicator's unit (never negative); False for a signed change.
    is_level: ClassVar[bool] = True

    @model_validator(mode="after")
    def _check_required(self) -> _TargetBase:
        missing = [name for name in self.required if getattr(self, name) is None]
        if missing:
            raise ValueError(f"target kind {self.kind!r} needs {', '.join(missing)}")
        if self.is_level:
            negative = [n for n in ("value", "low", "high") if (getattr(self, n) or 0.0) < 0]
            if negative:
                raise ValueError(
                    f"target kind {self.kind!r} is a level and cannot be negative "
                    f"({', '.join(f'{n}={getattr(self, n):g}' for n in negative)})"
                )
        return self

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> bool | None:
        """True when ``value`` (in the target year) meets the target; None if not decidable."""
        raise NotImplementedError  # pragma: no cover - every kind overrides it

    def implied_direction(self) -> Direction | None:
        """The direction the target's wording implies (for contradiction checks)."""
        return self.wants

    def bound(self) -> tuple[float | None, float | None]:
        """Acceptable interval (low, high) for an absolute-level target, else (None, None)."""
        return (None, None)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class AtLeast(_TargetBase):
    """≥ value (…以上, 不低于, 达到)."""

    kind: Literal["at_least"] = "at_least"
    wants: ClassVar[Direction | None] = "higher"

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> bool:
        return value >= _num(self.value)

    def bound(self) -> tuple[float | None, float | None]:
        return (self.value, None)


class AtMost(_TargetBase):
    """≤ value (…以下, 不超过, 控制在)."""

    kind: Literal["at_most"] = "at_most"
    wants: ClassVar[Direction | None] = "lower"

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> bool:
        return value <= _num(self.value)

    def bound(self) -> tuple[float | None, float | None]:
        return (None, self.value)


class Below(_TargetBase):
    """＜ value, strictly below."""

    kind: Literal["below"] = "below"
    wants: ClassVar[Direction | None] = "lower"

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> bool:
        return value < _num(self.value)

    def bound(self) -> tuple[float | None, float | None]:
        return (None, self.value)


class Approximately(_TargetBase):
    """value 左右: met when within ``tolerance`` of value (rounding to the printed precision)."""

    kind: Literal["approximately"] = "approximately"
    required: ClassVar[tuple[str, ...]] = ("value", "tolerance")

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> bool:
        return abs(value - _num(self.value)) <= _num(self.tolerance) + 1e-12

    def bound(self) -> tuple[float | None, float | None]:
        return (_num(self.value) - _num(self.tolerance), _num(self.value) + _num(self.tolerance))


class Range(_TargetBase):
    """low–high inclusive (e.g. sex ratio at birth 103-107)."""

    kind: Literal["range"] = "range"
    required: ClassVar[tuple[str, ...]] = ("low", "high")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if _num(self.low) > _num(self.high):
            raise ValueError("range: low must not exceed high")
        return self

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> bool:
        return _num(self.low) <= value <= _num(self.high)

    def bound(self) -> tuple[float | None, float | None]:
        return (self.low, self.high)


class Unchanged(_TargetBase):
    """The earlier level is kept (≥90% → ≥90%): ``op`` says which side is acceptable."""

    kind: Literal["unchanged"] = "unchanged"
    required: ClassVar[tuple[str, ...]] = ("value", "op")

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> bool:
        return value >= _num(self.value) if self.op == "at_least" else value <= _num(self.value)

    def implied_direction(self) -> Direction | None:
        return "higher" if self.op == "at_least" else "lower"

    def bound(self) -> tuple[float | None, float | None]:
        return (self.value, None) if self.op == "at_least" else (None, self.value)


class Equal(_TargetBase):
    """= value, typically 100% (全覆盖)."""

    kind: Literal["equal"] = "equal"

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> bool:
        return abs(value - _num(self.value)) <= 1e-9

    def bound(self) -> tuple[float | None, float | None]:
        return (self.value, self.value)


class _ChangeBase(_TargetBase):
    """A change relative to the value in ``base_year``: the sign of ``value`` is the direction."""

    required: ClassVar[tuple[str, ...]] = ("value", "base_year")
    is_level: ClassVar[bool] = False

    @model_validator(mode="after")
    def _base_before_target(self) -> _ChangeBase:
        if self.year is not None and self.base_year is not None and self.base_year >= self.year:
            raise ValueError(
                f"a change target's base_year ({self.base_year}) must be before its year "
                f"({self.year})"
            )
        if self.kind == "change_pct" and _num(self.value) <= -100:
            raise ValueError(f"a relative change of {_num(self.value):g}% is impossible (≤ -100%)")
        return self

    def implied_direction(self) -> Direction | None:
        return "higher" if _num(self.value) > 0 else "lower"

    def _goal(self, base: float) -> float:
        raise NotImplementedError  # pragma: no cover

    def goal(self, baseline_lookup: BaselineLookup | None) -> float | None:
        """The absolute level the change implies, when the base-year value is known."""
        if baseline_lookup is None or self.base_year is None:
            return None
        base = baseline_lookup(self.base_year)
        return None if base is None else self._goal(base)

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> bool | None:
        goal = self.goal(baseline_lookup)
        if goal is None:
            return None
        return value >= goal - 1e-12 if _num(self.value) > 0 else value <= goal + 1e-12


class ChangeAbs(_ChangeBase):
    """较2020年增加0.5岁: value is the signed absolute change in the indicator's unit."""

    kind: Literal["change_abs"] = "change_abs"

    def _goal(self, base: float) -> float:
        return base + _num(self.value)


class ChangePct(_ChangeBase):
    """比2020年降低10%: value is the signed relative change in percent (-10)."""

    kind: Literal["change_pct"] = "change_pct"

    def _goal(self, base: float) -> float:
        return base * (1.0 + _num(self.value) / 100.0)


class AnnualChange(_ChangeBase):
    """力争每年下降0.5个百分点: value is the signed change per year, accumulated to ``year``."""

    kind: Literal["annual_change"] = "annual_change"

    def _goal(self, base: float) -> float:
        years = (self.year or 0) - (self.base_year or 0)
        return base + _num(self.value) * years


class Trend(_TargetBase):
    """A statement about a trend (上升趋势减缓): not machine-evaluable from one value."""

    kind: Literal["trend"] = "trend"
    required: ClassVar[tuple[str, ...]] = ("statement",)

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> None:
        return None


class Proportional(_TargetBase):
    """Rise in proportion to another indicator (同比例提高): not evaluable from one value."""

    kind: Literal["proportional"] = "proportional"
    required: ClassVar[tuple[str, ...]] = ("statement",)

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> None:
        return None


class CountCap(_TargetBase):
    """An absolute count that must not be exceeded (≤4万 persons)."""

    kind: Literal["count_cap"] = "count_cap"
    wants: ClassVar[Direction | None] = "lower"

    def evaluate(self, value: float, baseline_lookup: BaselineLookup | None = None) -> bool:
        return value <= _num(self.value)

    def bound(self) -> tuple[float | None, float | None]:
        return (None, self.value)


Target = Annotated[
    AtLeast
    | AtMost
    | Below
    | Approximately
    | Range
    | Unchanged
    | Equal
    | ChangeAbs
    | ChangePct
    | AnnualChange
    | Trend
    | Proportional
    | CountCap,
    Field(discriminator="kind"),
]

TARGET_KINDS: tuple[str, ...] = (
    "at_least",
    "at_most",
    "below",
    "approximately",
    "range",
    "unchanged",
    "equal",
    "change_abs",
    "change_pct",
    "annual_change",
    "trend",
    "proportional",
    "count_cap",
)


def _num(x: float | None) -> float:
    if x is None:  # guarded by the kinds' validators
        raise ValueError("missing number")
    return float(x)


# --------------------------------------------------------------------------------------------
# Indicators, supplementary targets, projects, plan
# --------------------------------------------------------------------------------------------


class Baseline(_Strict):
    """A value the text states for a year, with the sentence it comes from.

    ``qualifier`` keeps 'above/below' wording (达90%以上 is ``at_least`` 90): such a figure is
    a bound, not a point. ``unit_printed`` is set when the text prints another unit than the
    indicator's (e.g. % where ‰ is meant).
    """

    year: Year
    value: Level
    source: str
    qualifier: Literal["exact", "at_least", "at_most"] = "exact"
    unit_printed: Unit | None = None
    note: str | None = None


class ParentLink(_Strict):
    """How an indicator relates to a differently-coded indicator of the parent plan."""

    code: Code
    relation: Literal["related", "count_of_rate"] = Field(
        description="related: a similar but differently defined measure; "
        "count_of_rate: a count whose rate per population is the parent's indicator"
    )
    note: str | None = None


class Indicator(_Strict):
    """One row of a plan's key-indicator table."""

    code: Code = Field(description="Stable code, shared across plans")
    name_zh: str = Field(description="Exactly as printed in the plan's table")
    name_en: str
    category_zh: str
    category_en: str
    unit: Unit
    direction: Direction
    nature: Nature = "not_stated"
    baselines: list[Baseline] = Field(default_factory=list)
    target: Target
    previous_targets: list[Target] = Field(
        default_factory=list, description="Targets for earlier years (e.g. the 2020 column)"
    )
    parent_link: ParentLink | None = None

    @model_validator(mode="after")
    def _targets_are_not_baselines(self) -> Indicator:
        """A figure copied from a target (same sentence, year and number) is not a baseline.

        A 十四五 table's 2020 column holds the 十三五 targets; entered as ``baselines`` they
        would be read as achieved values ("the 2020 value ≥90% already meets the target").
        """
        for i, b in enumerate(self.baselines):
            for t in (self.target, *self.previous_targets):
                numbers = {t.value, t.low, t.high} - {None}
                if b.source == t.source and b.year == t.year and b.value in numbers:
                    raise ValueError(
                        f"baselines[{i}] ({b.year}: {b.value:g}) is the target {t.text_zh!r} "
                        "copied from the same sentence: a target is not an achieved value; "
                        "keep it under previous_targets (or target) only"
                    )
        return self

    def baseline_lookup(self) -> BaselineLookup:
        """Look up an exact baseline by year (bounds like '90%以上' are not point values)."""
        by_year = {b.year: b.value for b in self.baselines if b.qualifier == "exact"}
        return by_year.get

    def latest_baseline(self) -> Baseline | None:
        return max(self.baselines, key=lambda b: b.year, default=None)


class SupplementaryTarget(_Strict):
    """A quantified target stated outside the indicator table (in a section or 专栏 box)."""

    code: Code
    name_zh: str
    name_en: str
    section: str = Field(description="Where in the plan, e.g. '专栏 2 急诊急救能力提升'")
    unit: Unit
    direction: Direction
    target: Target
    source: str
    baselines: list[Baseline] = Field(default_factory=list)


class Project(_Strict):
    """A category of planned projects with its count and investment."""

    category: str
    category_en: str
    name: str = Field(description="The project the plan names as representative")
    count: int = Field(ge=0, le=1_000_000)
    amount_10k_yuan: Level = Field(description="Total investment in 10,000 yuan (万元)")
    source: str


class ProjectsTotal(_Strict):
    """The plan's own stated totals over all project categories."""

    categories: int = Field(ge=0, le=10_000)
    count: int = Field(ge=0, le=1_000_000)
    amount_10k_yuan: Level
    source: str


class ContextFigure(_Strict):
    """A figure the text states for something that is not one of the plan's own indicators.

    Kept so that nothing quantified in the text is lost; ``code`` uses the indicator code of the
    same concept where one exists in another plan.
    """

    code: Code
    name_zh: str
    name_en: str
    unit: Unit
    baseline: Baseline


class Chapter(_Strict):
    number: str
    title_zh: str


class Plan(_Strict):
    """A five-year health plan of one region."""

    id: PlanId
    name_zh: str
    name_en: str
    region: str = Field(description="GB/T 2260 adcode of the region")
    level: Literal["province", "city", "county"]
    parent: PlanId | None = Field(default=None, description="Plan id of the next level up")
    start_year: Year
    end_year: Year
    base_year: Year
    source_document: str
    chapters: list[Chapter] = Field(default_factory=list)
    indicators: list[Indicator]
    supplementary_targets: list[SupplementaryTarget] = Field(default_factory=list)
    projects: list[Project] = Field(default_factory=list)
    projects_total: ProjectsTotal | None = None
    context_figures: list[ContextFigure] = Field(default_factory=list)

    @model_validator(mode="after")
    def _years(self) -> Plan:
        if not self.start_year <= self.end_year:
            raise ValueError("start_year must not be after end_year")
        if self.base_year > self.end_year:
            raise ValueError("base_year must not be after end_year")
        if self.parent == self.id:
            raise ValueError("a plan cannot be its own parent")
        return self

    def indicator(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)

    def summary(self) -> dict[str, Any]:
        """The row of ``plans list --json``."""
        return {
            "id": self.id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "region": self.region,
            "start_year": self.start_year,
            "end_year": self.end_year,
            "indicators": len(self.indicators),
        }

    def to_json(self) -> dict[str, Any]:
        """The interface document of ``plans show --json`` (all fields, JSON types)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls.model_validate(data)


def plan_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a plan document (``schema/plan.schema.json``)."""
    schema = Plan.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://healthwatch.example/schema/plan.schema.json"
    return schema
