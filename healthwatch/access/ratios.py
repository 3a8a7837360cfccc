"""Health-resource ratios by region and year against the plan's targets, with absolute gaps.

Liaoning's 14th five-year health plan (专栏 2 and chapter 4) sets, per resident (常住) population:
beds about 8 per 1,000; practising (assistant) physicians >= 4 per 1,000; registered nurses
>= 3.8 per 1,000; general practitioners >= 4.6 per 10,000; pharmacists >= 0.54 per 1,000; one
ambulance per 30,000 residents of which 30 % negative-pressure in each city; an EMS (dispatch)
centre in every city. A ratio alone does not tell a planner what to do, so every shortfall is
also given as a number of people, beds or vehicles:

    required = ceil(target x population / per),   gap = max(0, required - have)

e.g. a city of 2,840,000 residents with 9,552 nurses needs ceil(3.8 x 2,840 000 / 1,000) = 10,792
and so 1,240 more to reach 3.8 per 1,000.

Negative-pressure ambulances: 30 % of the fleet the city should have, i.e. of
``max(ambulances it has, ambulances for one per 30,000)``, so that buying the missing ambulances
does not dilute the share: ``np_required = ceil(0.30 x max(have, required))``.

Targets are read from the Liaoning plan in :func:`healthwatch.plans.builtin_plans` when that plan
carries them (matched by indicator / supplementary-target code); the numbers above, from
``shared/notes/access.md`` and the plan text, are the documented fallback.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import pandas as pd

from healthwatch.access.facilities import FacilityKind

Level = Literal["county", "city", "province"]
LEVELS: tuple[Level, ...] = ("province", "city", "county")


@dataclass(frozen=True)
class ResourceTarget:
    """A per-capita target: ``value`` units of ``resource`` per ``per`` residents."""

    code: str
    resource: str
    per: int
    value: float
    comparator: Literal[">=", "about"]
    name_zh: str
    name_en: str
    unit_zh: str
    source: str = "notes"


@dataclass(frozen=True)
class AmbulanceTargets:
    """One ambulance per ``persons_per_ambulance`` residents, ``negative_pressure_share`` of them
    negative-pressure; service radii in km; one EMS centre per city."""

    persons_per_ambulance: int = 30_000
    negative_pressure_share: float = 0.30
    radius_urban_km: float = 5.0
    radius_rural_km: tuple[float, float] = (10.0, 20.0)
    ems_centre_per_city: bool = True
    source: str = "notes"


@dataclass(frozen=True)
class Targets:
    """All resource targets used by :func:`resource_ratios`."""

    resources: tuple[ResourceTarget, ...]
    ambulances: AmbulanceTargets

    def to_dict(self) -> dict[str, Any]:
        return {
            "resources": [asdict(t) for t in self.resources],
            "ambulances": asdict(self.ambulances),
        }


#: The Liaoning plan's numbers (专栏 2, chapter 4), used when the plan data does not carry them.
FALLBACK_TARGETS = Targets(
    resources=(
        ResourceTarget(
            "beds_per_1000",
            "beds",
            1000,
            8.0,
            "about",
            "每千常住人口床位数",
            "beds per 1,000 residents",
            "张",
        ),
        ResourceTarget(
            "physicians_per_1000",
            "physicians",
            1000,
            4.0,
            ">=",
            "每千常住人口执业（助理）医师数",
            "practising (assistant) physicians per 1,000",
            "名",
        ),
        ResourceTarget(
            "nurses_per_1000",
            "nurses",
            1000,
            3.8,
            ">=",
            "每千常住人口注册护士数",
            "registered nurses per 1,000",
            "名",
        ),
        ResourceTarget(
            "gps_per_10000",
            "gps",
            10000,
            4.6,
            ">=",
            "每万人口全科医生数",
            "general practitioners per 10,000",
            "名",
        ),
        ResourceTarget(
            "pharmacists_per_1000",
            "pharmacists",
            1000,
            0.54,
            ">=",
            "每千人口药师（士）数",
            "pharmacists per 1,000",
            "名",
        ),
    ),
    ambulances=AmbulanceTargets(),
)

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
# Words in a plan indicator's name that identify the resource it measures.
_NAME_KEYS: tuple[tuple[str, str], ...] = (
    ("床位", "beds"),
    ("全科医生", "gps"),
    ("执业", "physicians"),
    ("注册护士", "nurses"),
    ("药师", "pharmacists"),
)


def _need(target: float, population: float, per: float) -> int:
    """ceil(target x population / per), robust to binary floating point (3.8 x 2840000 / 1000)."""
    return math.ceil(round(target * population / per, 6))


# --------------------------------------------------------------------------------------------
# Targets from the plan data
# --------------------------------------------------------------------------------------------


def liaoning_targets() -> Targets:
    """The Liaoning plan's resource targets, from the plan data where present, else the fallback.

    Each target found in the plan (an indicator or supplementary target whose name or code names
    the resource and whose unit is per 1,000 / 10,000) replaces the fallback value and records
    its source as ``plan:<plan id>:<code>``.
    """
    try:
        from healthwatch.plans import builtin_plans  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return FALLBACK_TARGETS
    try:
        plans = builtin_plans()
    except Exception:  # pragma: no cover - a broken plan file must not stop resource planning
        return FALLBACK_TARGETS
    plan = _find_liaoning(plans)
    if plan is None:
        return FALLBACK_TARGETS
    return targets_from_plan(plan)


def _find_liaoning(plans: Any) -> Any:
    items = plans.values() if isinstance(plans, Mapping) else plans
    for plan in items:
        region = str(_get(plan, "region", "") or _get(plan, "adcode", "") or "")
        ident = str(_get(plan, "id", "") or _get(plan, "code", "") or "")
        if region.startswith("210000") or "liaoning" in ident.lower():
            return plan
    return None


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _plan_entries(plan: Any) -> Iterable[Any]:
    for attr in ("indicators", "supplementary_targets", "targets"):
        entries = _get(plan, attr) or []
        yield from (entries.values() if isinstance(entries, Mapping) else entries)


def _target_number(entry: Any) -> float | None:
    for attr in ("target", "target_value", "value", "threshold"):
        raw = _get(entry, attr)
        if raw is None:
            continue
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        inner = _get(raw, "value")
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return float(inner)
    return None


def targets_from_plan(plan: Any) -> Targets:
    """Overlay the targets a plan carries on :data:`FALLBACK_TARGETS` (see liaoning_targets)."""
    plan_id = str(_get(plan, "id", "") or _get(plan, "code", "") or "plan")
    by_resource = {t.resource: t for t in FALLBACK_TARGETS.resources}
    amb = FALLBACK_TARGETS.ambulances
    for entry in _plan_entries(plan):
        code = str(_get(entry, "code", "") or _get(entry, "id", ""))
        name = str(_get(entry, "name_zh", "") or _get(entry, "name", "") or "")
        text = f"{code} {name}".lower()
        value = _target_number(entry)
        if value is None:
            continue
        source = f"plan:{plan_id}:{code}"
        if "救护车" in name or "ambulance" in text:
            if "负压" in name or "negative" in text:
                share = value / 100 if value > 1 else value
                amb = replace(amb, negative_pressure_share=share, source=source)
            elif value >= 1000:  # given as persons per ambulance
                amb = replace(amb, persons_per_ambulance=int(value), source=source)
            elif value > 0 and "30000" in f"{text} {_get(entry, 'unit', '')}":
                # given as ambulances per 30,000 residents (the plan's own wording)
                amb = replace(amb, persons_per_ambulance=round(30000 / value), source=source)
            continue
        if "半径" in name or "radius" in text:
            if "城" in name or "urban" in text:
                amb = replace(amb, radius_urban_km=value, source=source)
            continue
        per = 10000 if ("每万" in name or "10000" in text or "10k" in text) else 1000
        for key, resource in _NAME_KEYS:
            if key in name or resource in text:
                old = by_resource[resource]
                if per == old.per and abs(value - old.value) / old.value < 10:
                    by_resource[resource] = replace(old, value=value, source=source)
                break
    return Targets(tuple(by_resource[t.resource] for t in FALLBACK_TARGETS.resources), amb)


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
    target: float
    comparator: str
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "targets": self.targets.to_dict(),
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
    required = _need(target.value, population, target.per)
    rate = have / population * target.per if population > 0 else math.nan
    gap = max(0, required - have)
    per_en = f"per {target.per:,}"
    per_zh = "每千人" if target.per == 1000 else "每万人"
    res_en, res_zh = _RESOURCE_EN[target.resource], _RESOURCE_ZH[target.resource]
    tgt = f"{target.value:g}"
    if gap > 0:
        status = "below"
        en = (
            f"{name} needs {_fmt(gap)} more {res_en} to reach {tgt} {per_en} "
            f"(has {_fmt(have)}, {_fmt_rate(rate)} {per_en}; needs {_fmt(required)})."
        )
        zh = (
            f"{name}还需增加{res_zh} {_fmt(gap)} {target.unit_zh}，才能达到{per_zh} {tgt}"
            f"（现有 {_fmt(have)}，{per_zh} {_fmt_rate(rate)}；需 {_fmt(required)}）。"
        )
    elif target.comparator == "about" and have > required:
        status = "above"
        en = (
            f"{name} has {_fmt(have - required)} {res_en} more than about {tgt} {per_en} "
            f"({_fmt_rate(rate)} {per_en})."
        )
        zh = (
            f"{name}{res_zh}比{per_zh} {tgt} 左右的目标多 {_fmt(have - required)} "
            f"{target.unit_zh}（{per_zh} {_fmt_rate(rate)}）。"
        )
    else:
        status = "met"
        en = f"{name} meets {tgt} {res_en} {per_en} ({_fmt_rate(rate)} {per_en})."
        zh = f"{name}{res_zh}已达到{per_zh} {tgt}（{per_zh} {_fmt_rate(rate)}）。"
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
        target.value,
        target.comparator,
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
    per = targets.persons_per_ambulance
    required = _need(1.0, population, per)
    gap = max(0, required - ambulances)
    np_required = _need(targets.negative_pressure_share, max(ambulances, required), 1)
    np_gap = max(0, np_required - negative)
    share = negative / ambulances if ambulances else None
    pct = f"{targets.negative_pressure_share:.0%}"
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


def _default_names() -> dict[str, str]:
    try:
        from healthwatch.access.facilities import region_names

        return region_names()
    except Exception:  # pragma: no cover - names are cosmetic
        return {}


def resource_ratios(
    facilities: pd.DataFrame,
    populations: Mapping[str, float],
    *,
    year: int | None = None,
    levels: Iterable[Level] = ("province", "city"),
    targets: Targets | None = None,
    names: Mapping[str, str] | None = None,
) -> RatioReport:
    """Ratios, targets and absolute gaps for each region at the requested levels.

    ``facilities`` is a registry (:mod:`healthwatch.access.facilities`) whose ``adcode`` is the
    county; rows of other years are ignored when ``year`` is given (rows without a year count for
    every year). ``populations`` maps adcode -> resident persons; a city or province missing from
    it gets the sum of its counties when every county has a figure. Regions without a population
    are listed in ``missing_population`` and skipped.
    """
    targets = targets or liaoning_targets()
    names = dict(names) if names is not None else _default_names()
    fac = facilities
    if year is not None and "year" in fac:
        fac = fac[fac["year"].isna() | (fac["year"] == year)]
    pops = {str(k): float(v) for k, v in populations.items()}
    report = RatioReport(year=year, targets=targets)
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
    if targets.ambulances.ems_centre_per_city:
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
            en = f"{name} has no EMS (dispatch) centre: the plan requires one in every city."
            zh = f"{name}尚未设立急救（指挥）中心：规划要求每个设区的市设立一个。"
        out.append(EmsCentreCheck(city, name, n, n > 0, zh, en))
    return out
