"""Health-resource ratios by region and year against a plan's targets, with absolute gaps.

The targets are the plan's own (:mod:`healthwatch.plans`): each resource is matched to the plan
indicator or supplementary target of the same code (``beds_per_1000``, ``physicians_per_1000``,
``nurses_per_1000``, ``gps_per_10000``, ``pharmacists_per_1000``, ``ambulances_per_30000``,
``negative_pressure_ambulance_share``), and whether a rate meets its target is decided by the
target's own :meth:`~healthwatch.plans.model.Target.evaluate`, so that ``access ratios`` and the
plan model can never read one target two ways: "8张左右" (about 8, tolerance 0.5) is met by 7.59
beds per 1,000. A resource the plan has no target for is not assessed (listed in
``RatioReport.unassessed``); nothing falls back to numbers written here.

A ratio alone does not tell a planner what to do, so every shortfall is also given as a number of
people, beds or vehicles, from the lower end of the target's acceptable interval
(:meth:`~healthwatch.plans.model.Target.bound`):

    required = ceil(low x population / per),   gap = max(0, required - have)

e.g. a city of 2,840,000 residents with 9,552 nurses needs ceil(3.8 x 2,840 000 / 1,000) = 10,792
for "≥3.8" and so 1,240 more. Above the upper end (about-targets) the excess is reported.

Negative-pressure ambulances: the plan's share of the fleet the city should have, i.e. of
``max(ambulances it has, ambulances for one per 30,000)``, so that buying the missing ambulances
does not dilute the share: ``np_required = ceil(share x max(have, required))``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from healthwatch.access.facilities import FacilityKind
from healthwatch.plans.model import UNITS, Plan, Target

Level = Literal["county", "city", "province"]
LEVELS: tuple[Level, ...] = ("province", "city", "county")

#: Plan codes of the per-capita resource targets, and the registry column each one counts.
RESOURCE_CODES: dict[str, str] = {
    "beds_per_1000": "beds",
    "physicians_per_1000": "physicians",
    "nurses_per_1000": "nurses",
    "gps_per_10000": "gps",
    "pharmacists_per_1000": "pharmacists",
}
AMBULANCE_CODE = "ambulances_per_30000"
NEGATIVE_PRESSURE_CODE = "negative_pressure_ambulance_share"


@dataclass(frozen=True)
class ResourceTarget:
    """A plan's per-capita target: ``target`` (the plan's own) on ``resource`` per ``per``."""

    code: str
    resource: str
    per: int
    target: Target
    name_zh: str
    name_en: str
    source: str

    @property
    def text_zh(self) -> str:
        return self.target.text_zh

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "resource": self.resource,
            "per": self.per,
            "target": self.target.to_json(),
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "source": self.source,
        }


@dataclass(frozen=True)
class AmbulanceTargets:
    """One ambulance per ``persons_per_ambulance`` residents, ``negative_pressure_share`` of them
    negative-pressure (None: the plan sets no such target)."""

    persons_per_ambulance: int | None = None
    negative_pressure_share: float | None = None
    source: str = ""


@dataclass(frozen=True)
class Targets:
    """All resource targets of one plan, as :func:`resource_ratios` uses them."""

    plan_id: str
    region: str
    resources: tuple[ResourceTarget, ...]
    ambulances: AmbulanceTargets

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan_id,
            "region": self.region,
            "resources": [t.to_dict() for t in self.resources],
            "ambulances": asdict(self.ambulances),
        }


_RESOURCE_EN = {
    "beds": "beds",
    "physicians": "practising (assistant) physicians",
    "nurses": "registered nurses",
    "gps": "general practitioners",
    "pharmacists": "pharmacists",
}
_RESOURCE_ZH = {
    "beds": "床位",
    "physicians": "执业（助理）医师",
    "nurses": "注册护士",
    "gps": "全科医生",
    "pharmacists": "药师（士）",
}
_UNIT_ZH = {"beds": "张", "physicians": "名", "nurses": "名", "gps": "名", "pharmacists": "名"}


def _need(target: float, population: float, per: float) -> int:
    """ceil(target x population / per), robust to binary floating point (3.8 x 2840000 / 1000)."""
    return math.ceil(round(target * population / per, 6))


def _allow(target: float, population: float, per: float) -> int:
    """floor(target x population / per), robust to binary floating point (the upper end)."""
    return math.floor(round(target * population / per, 6))


def targets_from_plan(plan: Plan) -> Targets:
    """The plan's resource and ambulance targets, matched by code (see the module docstring)."""
    entries = {i.code: i for i in plan.indicators}
    entries.update({t.code: t for t in plan.supplementary_targets})  # type: ignore[misc]
    resources = []
    for code, resource in RESOURCE_CODES.items():
        entry = entries.get(code)
        scale = UNITS[entry.unit][2] if entry is not None else None
        if entry is None or scale is None:
            continue
        resources.append(
            ResourceTarget(
                code,
                resource,
                round(1 / scale),
                entry.target,
                entry.name_zh,
                entry.name_en,
                f"plan:{plan.id}:{code}",
            )
        )
    per_ambulance: int | None = None
    share: float | None = None
    sources = []
    amb = entries.get(AMBULANCE_CODE)
    if amb is not None and amb.target.value and amb.unit == "per_30000":
        per_ambulance = round(30000 / amb.target.value)
        sources.append(f"plan:{plan.id}:{AMBULANCE_CODE}")
    neg = entries.get(NEGATIVE_PRESSURE_CODE)
    if neg is not None and neg.target.value is not None and neg.unit == "percent":
        share = neg.target.value / 100
        sources.append(f"plan:{plan.id}:{NEGATIVE_PRESSURE_CODE}")
    return Targets(
        plan.id,
        plan.region,
        tuple(resources),
        AmbulanceTargets(per_ambulance, share, "; ".join(sources)),
    )


# --------------------------------------------------------------------------------------------
# Ratios
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatioRow:
    """One region x resource: what there is, the rate, the target and the absolute gap."""

    adcode: str
    name: str
    level: str
    year: int | None
    code: str
    resource: str
    have: int
    population: float
    rate: float
    per: int
    target: str
    target_kind: str
    met: bool | None
    required: int
    gap: int
    status: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class AmbulanceRow:
    """One region: ambulances against one per 30,000 and the negative-pressure share."""

    adcode: str
    name: str
    level: str
    year: int | None
    population: float
    ambulances: int
    negative_pressure: int
    per_30000: float
    negative_pressure_share: float | None
    required: int
    gap: int
    negative_pressure_required: int
    negative_pressure_gap: int
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class EmsCentreCheck:
    """Whether a city has the EMS (dispatch) centre the plan requires."""

    adcode: str
    name: str
    centres: int
    ok: bool
    message_zh: str
    message_en: str


@dataclass
class RatioReport:
    """Everything ``healthwatch access ratios`` prints."""

    year: int | None
    targets: Targets
    resources: list[RatioRow] = field(default_factory=list)
    ambulances: list[AmbulanceRow] = field(default_factory=list)
    ems_centres: list[EmsCentreCheck] = field(default_factory=list)
    missing_population: list[str] = field(default_factory=list)
    #: Registry resources the plan sets no target for (not assessed).
    unassessed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "targets": self.targets.to_dict(),
            "unassessed": self.unassessed,
            "resources": [asdict(r) for r in self.resources],
            "ambulances": [asdict(r) for r in self.ambulances],
            "ems_centres": [asdict(r) for r in self.ems_centres],
            "missing_population": self.missing_population,
        }

    def resources_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.resources])

    def gap(self, adcode: str, resource: str) -> int:
        """The absolute gap for one region and resource ('ambulances', 'negative_pressure' too)."""
        if resource in ("ambulances", "negative_pressure"):
            row = next(a for a in self.ambulances if a.adcode == adcode)
            return row.gap if resource == "ambulances" else row.negative_pressure_gap
        return next(r.gap for r in self.resources if r.adcode == adcode and r.resource == resource)


def region_of(adcode: str, level: Level) -> str:
    """The adcode of the county/city/province containing a county adcode (GB/T 2260 prefixes)."""
    code = str(adcode)
    if level == "province":
        return code[:2] + "0000"
    if level == "city":
        return code[:4] + "00"
    return code


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def _fmt_rate(x: float) -> str:
    return f"{x:.2f}"


def _resource_row(
    adcode: str,
    name: str,
    level: str,
    year: int | None,
    target: ResourceTarget,
    have: int,
    population: float,
) -> RatioRow:
    """Rate, the plan target's own verdict on it, and the gap to the lower end of its interval."""
    rate = have / population * target.per if population > 0 else math.nan
    met = target.target.evaluate(rate) if math.isfinite(rate) else None
    low, high = target.target.bound()
    required = _need(low, population, target.per) if low is not None else 0
    per_en = f"per {target.per:,}"
    per_zh = "每千人" if target.per == 1000 else "每万人"
    res_en, res_zh = _RESOURCE_EN[target.resource], _RESOURCE_ZH[target.resource]
    unit_zh, text = _UNIT_ZH[target.resource], target.text_zh
    gap = 0
    if met is None:
        status = "not_evaluable"
        en = f"{name}: {_fmt_rate(rate)} {res_en} {per_en}; the target {text} cannot be decided."
        zh = f"{name}{res_zh}{per_zh} {_fmt_rate(rate)}；目标“{text}”无法据此判定。"
    elif not met and low is not None and have < required:
        status, gap = "below", required - have
        en = (
            f"{name} needs {_fmt(gap)} more {res_en} to reach the target {text} {per_en} "
            f"(has {_fmt(have)}, {_fmt_rate(rate)} {per_en}; needs {_fmt(required)})."
        )
        zh = (
            f"{name}还需增加{res_zh} {_fmt(gap)} {unit_zh}，才能达到{per_zh}“{text}”的目标"
            f"（现有 {_fmt(have)}，{per_zh} {_fmt_rate(rate)}；需 {_fmt(required)}）。"
        )
    elif not met and high is not None:
        status = "above"
        excess = have - _allow(high, population, target.per)
        en = (
            f"{name} has {_fmt(excess)} {res_en} more than the target {text} {per_en} allows "
            f"({_fmt_rate(rate)} {per_en})."
        )
        zh = (
            f"{name}{res_zh}比{per_zh}“{text}”的目标多 {_fmt(excess)} {unit_zh}"
            f"（{per_zh} {_fmt_rate(rate)}）。"
        )
    else:
        status = "met" if met else "not_met"
        verb_en, verb_zh = ("meets", "已达到") if met else ("does not meet", "未达到")
        en = (
            f"{name} {verb_en} the target {text} for {res_en} {per_en} "
            f"({_fmt_rate(rate)} {per_en})."
        )
        zh = f"{name}{res_zh}{verb_zh}{per_zh}“{text}”的目标（{per_zh} {_fmt_rate(rate)}）。"
    return RatioRow(
        adcode,
        name,
        level,
        year,
        target.code,
        target.resource,
        int(have),
        float(population),
        rate,
        target.per,
        text,
        target.target.kind,
        met,
        required,
        gap,
        status,
        zh,
        en,
    )


def _ambulance_row(
    adcode: str,
    name: str,
    level: str,
    year: int | None,
    targets: AmbulanceTargets,
    ambulances: int,
    negative: int,
    population: float,
) -> AmbulanceRow:
    per = targets.persons_per_ambulance or 30_000
    required = _need(1.0, population, per) if targets.persons_per_ambulance else 0
    gap = max(0, required - ambulances)
    np_share = targets.negative_pressure_share
    np_required = _need(np_share, max(ambulances, required), 1) if np_share else 0
    np_gap = max(0, np_required - negative)
    share = negative / ambulances if ambulances else None
    pct = f"{np_share or 0:.0%}"
    parts_en, parts_zh = [], []
    if gap:
        parts_en.append(
            f"needs {_fmt(gap)} more ambulances for one per {per:,} residents "
            f"(has {_fmt(ambulances)}, needs {_fmt(required)})"
        )
        parts_zh.append(
            f"还需增加救护车 {_fmt(gap)} 辆才能达到每 {per // 10000} 万人 1 辆"
            f"（现有 {_fmt(ambulances)}，需 {_fmt(required)}）"
        )
    if np_gap:
        parts_en.append(
            f"needs {_fmt(np_gap)} more negative-pressure ambulances for a {pct} "
            f"share (has {_fmt(negative)}, needs {_fmt(np_required)})"
        )
        parts_zh.append(
            f"还需增加负压救护车 {_fmt(np_gap)} 辆才能达到 {pct}"
            f"（现有 {_fmt(negative)}，需 {_fmt(np_required)}）"
        )
    if parts_en:
        en = f"{name} " + "; ".join(parts_en) + "."
        zh = f"{name}" + "；".join(parts_zh) + "。"
    else:
        en = f"{name} meets one ambulance per {per:,} and the {pct} negative-pressure share."
        zh = f"{name}已达到每 {per // 10000} 万人 1 辆救护车，负压救护车占比达到 {pct}。"
    rate = ambulances / population * per if population > 0 else math.nan
    return AmbulanceRow(
        adcode,
        name,
        level,
        year,
        float(population),
        int(ambulances),
        int(negative),
        rate,
        share,
        required,
        gap,
        np_required,
        np_gap,
        zh,
        en,
    )


def resource_ratios(
    facilities: pd.DataFrame,
    populations: Mapping[str, float],
    *,
    year: int | None = None,
    levels: Iterable[Level] = ("province", "city"),
    targets: Targets,
    names: Mapping[str, str] | None = None,
) -> RatioReport:
    """Ratios, targets and absolute gaps for each region at the requested levels.

    ``facilities`` is a registry (:mod:`healthwatch.access.facilities`) whose ``adcode`` is the
    county; rows of other years are ignored when ``year`` is given (rows without a year count for
    every year). ``populations`` maps adcode -> resident persons; a city or province missing from
    it gets the sum of its counties when every county has a figure. Regions without a population
    are listed in ``missing_population`` and skipped. ``targets`` are a plan's
    (:func:`targets_from_plan`); ``names`` default to the GB/T 2260 names.
    """
    if names is None:
        from healthwatch.regions.hierarchy import region_names

        names = region_names()
    fac = facilities
    if year is not None and "year" in fac:
        fac = fac[fac["year"].isna() | (fac["year"] == year)]
    pops = {str(k): float(v) for k, v in populations.items()}
    report = RatioReport(year=year, targets=targets)
    assessed = {t.resource for t in targets.resources}
    report.unassessed = [r for r in RESOURCE_CODES.values() if r not in assessed]
    counties = {str(c) for c in fac["adcode"]} | {c for c in pops if not c.endswith("00")}
    for level in LEVELS:
        if level not in set(levels):
            continue
        keyed = fac.assign(_region=[region_of(a, level) for a in fac["adcode"]])
        sums = keyed.groupby("_region")[
            [t.resource for t in targets.resources] + ["ambulances", "negative_pressure"]
        ].sum()
        finer = LEVELS[LEVELS.index(level) :]
        regions = set(sums.index) | {region_of(c, level) for c in pops if _level_of(c) in finer}
        for region in sorted(regions):
            pop = pops.get(region)
            if pop is None and level != "county":
                children = [c for c in counties if region_of(c, level) == region]
                if children and all(c in pops for c in children):
                    pop = sum(pops[c] for c in children)
            if pop is None or pop <= 0:
                report.missing_population.append(region)
                continue
            row = sums.loc[region] if region in sums.index else None
            name = names.get(region, region)

            def have(col: str, row: Any = row) -> int:
                return 0 if row is None else int(row[col])

            for target in targets.resources:
                report.resources.append(
                    _resource_row(region, name, level, year, target, have(target.resource), pop)
                )
            if not (
                targets.ambulances.persons_per_ambulance
                or targets.ambulances.negative_pressure_share
            ):
                continue
            report.ambulances.append(
                _ambulance_row(
                    region,
                    name,
                    level,
                    year,
                    targets.ambulances,
                    have("ambulances"),
                    have("negative_pressure"),
                    pop,
                )
            )
    report.ems_centres = ems_centre_check(fac, _cities(fac, pops), names)
    return report


def _level_of(adcode: str) -> Level:
    if adcode.endswith("0000"):
        return "province"
    if adcode.endswith("00"):
        return "city"
    return "county"


def _cities(facilities: pd.DataFrame, pops: Mapping[str, float]) -> list[str]:
    cities = {region_of(a, "city") for a in facilities["adcode"]}
    cities |= {region_of(c, "city") for c in pops if _level_of(c) != "province"}
    return sorted(cities)


def ems_centre_check(
    facilities: pd.DataFrame, cities: Iterable[str], names: Mapping[str, str] | None = None
) -> list[EmsCentreCheck]:
    """One row per city: how many EMS centres (急救中心) it has; ok when at least one."""
    names = names or {}
    centres = facilities[facilities["kind"] == FacilityKind.EMS_CENTRE.value]
    counts = centres.groupby([region_of(a, "city") for a in centres["adcode"]]).size()
    out = []
    for city in cities:
        n = int(counts.get(city, 0))
        name = names.get(city, city)
        if n:
            en, zh = f"{name} has an EMS centre ({n}).", f"{name}已设立急救（指挥）中心（{n} 个）。"
        else:
            en = f"{name} has no EMS (dispatch) centre in the registry."
            zh = f"{name}在机构登记中没有急救（指挥）中心。"
        out.append(EmsCentreCheck(city, name, n, n > 0, zh, en))
    return out
