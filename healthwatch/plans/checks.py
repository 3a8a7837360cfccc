"""Consistency checks on plans: what a reviewer of a draft plan would flag.

Each check looks at figures the plans state and reports a :class:`Finding` with its evidence
(the source sentences) and a message in Chinese and English. The checks:

``looser-than-parent``
    A city target for the same indicator code (or a linked, related indicator) asks for less
    than the province's target.
``target-regresses``
    A target is weaker than the same plan's earlier target for the same indicator (the 2020
    column of a 十四五 table, or a 2020 target quoted in the text).
``already-met``
    The latest baseline the plan itself states already meets the target.
``unit``
    A figure is printed in a unit or scale that is implausible for the indicator (a mortality
    rate in % where ‰ is meant, antimicrobial DDDs as a percentage).
``implied-rate``
    A count cap that, divided by the region's population, implies a rate beyond the parent's
    cap for the corresponding rate indicator.
``missing``
    An indicator states no nature (约束性/预期性) or has no baseline in the text.
``parent-missing``
    The plan names a parent plan that is not among the plans checked, so none of the
    comparisons with the parent could be made (they would otherwise silently vanish).

Only what a plan reports as achieved counts as a value: a target (the 2020 column of a 十四五
table holds the 十三五 targets) is never read as a baseline, and neither is a sentence that only
says an earlier target was reached ("均达 90% 以上" where the 2020 target was ≥90%), which shows
no level beyond that target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal, get_args

from healthwatch.plans.model import (
    NATURE_ZH,
    UNITS,
    AtLeast,
    AtMost,
    Baseline,
    BaselineLookup,
    Indicator,
    Plan,
    SupplementaryTarget,
    Target,
    _ChangeBase,
    _TargetBase,
)

Severity = Literal["error", "warning", "info"]
FindingKind = Literal[
    "looser-than-parent",
    "target-regresses",
    "already-met",
    "unit",
    "implied-rate",
    "missing",
    "parent-missing",
]
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
FINDING_KINDS: tuple[str, ...] = get_args(FindingKind)


@dataclass(frozen=True)
class Finding:
    """One thing a reviewer should look at, with the sentences that show it."""

    kind: FindingKind
    severity: Severity
    plan: str
    indicator: str | None
    message_zh: str
    message_en: str
    sources: list[str] = field(default_factory=list)
    related_plan: str | None = None
    related_indicator: str | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


Item = Indicator | SupplementaryTarget


def check_plans(plans: list[Plan], populations: Mapping[str, float] | None = None) -> list[Finding]:
    """Run every check on ``plans``; ``populations`` maps adcode -> resident persons.

    A city plan is compared with its parent only when the parent is among ``plans``. Without
    ``populations`` the implied-rate check cannot run and reports nothing.
    """
    by_id = {p.id: p for p in plans}
    findings: list[Finding] = []
    for plan in plans:
        parent = by_id.get(plan.parent) if plan.parent else None
        if plan.parent and parent is None:
            findings.append(_parent_missing(plan))
        if parent is not None:
            findings += _looser_than_parent(plan, parent)
            if populations is not None:
                findings += _implied_rate(plan, parent, populations)
        findings += _regressions(plan)
        findings += _already_met(plan)
        findings += _units(plan)
        findings += _missing(plan)
    findings.sort(key=lambda f: (plans.index(by_id[f.plan]), SEVERITY_RANK[f.severity]))
    return findings


def check_selected(
    known: Mapping[str, Plan],
    wanted: Iterable[str] | None = None,
    populations: Mapping[str, float] | None = None,
) -> list[Finding]:
    """Check the ``wanted`` plans of ``known`` (default: all) and report findings on them only.

    Each wanted plan's ancestors among ``known`` are checked with it, parents first, because
    the cross-level checks need them. Every wanted id must be in ``known``.
    """
    wanted = list(known) if wanted is None else list(wanted)
    order: list[str] = []
    for plan_id in wanted:
        chain: list[str] = []
        current: str | None = plan_id
        # Walk up to the first plan already ordered, a plan not known, or (stored plans are
        # checked for cycles on load, but be safe) a plan seen on this walk.
        while current is not None and current in known and current not in order:
            if current in chain:
                break
            chain.append(current)
            current = known[current].parent
        order += reversed(chain)
    findings = check_plans([known[i] for i in order], populations)
    return [f for f in findings if f.plan in wanted]


def check_builtin(plan_ids: Iterable[str] | None = None) -> list[Finding]:
    """Check the packaged plans (default: all) without a database or populations."""
    from healthwatch.errors import NotFoundError
    from healthwatch.plans.loader import builtin_plans

    known = {p.id: p for p in builtin_plans()}
    for plan_id in plan_ids or ():
        if plan_id not in known:
            raise NotFoundError(
                f"No built-in plan {plan_id!r}; built-in plans: {', '.join(known)}.",
                f"没有内置规划 {plan_id!r}；内置规划：{'、'.join(known)}。",
            )
    return check_selected(known, plan_ids or None)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _items(plan: Plan) -> list[Item]:
    return [*plan.indicators, *plan.supplementary_targets]


def _item_source(item: Item) -> str | None:
    return item.source if isinstance(item, SupplementaryTarget) else item.target.source


def _sources(*texts: str | None) -> list[str]:
    out: list[str] = []
    for t in texts:
        if t and t not in out:
            out.append(t)
    return out


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:g}"


def _unit_label(unit: str) -> str:
    return UNITS[unit][0]


def _looser(child: _TargetBase, parent: _TargetBase, direction: str) -> str | None:
    """Why ``child`` asks for less than ``parent``, or None when it does not (or cannot say)."""
    c_lo, c_hi = child.bound()
    p_lo, p_hi = parent.bound()
    if direction in ("higher", "band") and p_lo is not None:
        if c_lo is None and c_hi is not None:
            return "no lower bound"
        if c_lo is not None and c_lo < p_lo:
            return f"lower bound {_fmt(c_lo)} < {_fmt(p_lo)}"
    if direction in ("lower", "band") and p_hi is not None:
        if c_hi is None and c_lo is not None:
            return "no upper bound"
        if c_hi is not None and c_hi > p_hi:
            return f"upper bound {_fmt(c_hi)} > {_fmt(p_hi)}"
    return None


# --------------------------------------------------------------------------------------------
# parent-missing
# --------------------------------------------------------------------------------------------


def _parent_missing(plan: Plan) -> Finding:
    return Finding(
        kind="parent-missing",
        severity="error",
        plan=plan.id,
        indicator=None,
        message_zh=(
            f"{plan.name_zh}的上级规划 {plan.parent} 不在所检查的规划中（未导入或编号有误），"
            "因此未能与上级规划比较（低于上级目标、折算率等检查均未进行）。"
        ),
        message_en=(
            f"{plan.id}: the parent plan {plan.parent} is not among the plans checked (not "
            "loaded, or a wrong id), so no comparison with the parent was made "
            "(looser-than-parent and implied-rate checks did not run)."
        ),
    )


# --------------------------------------------------------------------------------------------
# looser-than-parent
# --------------------------------------------------------------------------------------------


def _looser_than_parent(plan: Plan, parent: Plan) -> list[Finding]:
    parent_items = {i.code: i for i in _items(parent)}
    out = []
    for item in _items(plan):
        link = item.parent_link if isinstance(item, Indicator) else None
        if link is not None and link.relation == "count_of_rate":
            continue  # a count against a rate: the implied-rate check compares those
        related = link is not None and link.relation == "related"
        p_item = parent_items.get(link.code if link else item.code)
        if p_item is None or item.unit != p_item.unit:
            continue
        why = _looser(item.target, p_item.target, item.direction)
        binding = isinstance(p_item, Indicator) and p_item.nature == "binding"
        severity: Severity = "info" if related else ("error" if binding else "warning")
        caveat_en = caveat_zh = ""
        extra_sources: list[str | None] = []
        if why is None and isinstance(item.target, _ChangeBase):
            implied = _implied_level(item, item.target)
            if implied is not None:
                level, used, exact = implied
                rising = (item.target.value or 0) > 0
                as_level = (AtLeast if rising else AtMost)(value=level, text_zh="")
                why = _looser(as_level, p_item.target, item.direction)
                if why is not None:
                    extra_sources.append(used.source)
                    if not exact:
                        severity = "info"
                    stand_in = (
                        ""
                        if exact
                        else f" using the {used.year} value {_fmt(used.value)} as a stand-in "
                        f"for {item.target.base_year}"
                    )
                    caveat_en = (
                        f" The change target implies about {level:.4g} in {item.target.year}"
                        f"{stand_in}."
                    )
                    caveat_zh = (
                        f"按{'' if exact else f'{used.year}年的 {_fmt(used.value)} 代替'}"
                        f"{item.target.base_year}年基数推算，{item.target.year}年约为 "
                        f"{level:.4g}。"
                    )
        if why is None:
            continue
        if related:
            caveat_en = (
                f" The two are differently defined ({item.name_zh} vs {p_item.name_zh}); "
                "compare with care."
            )
            caveat_zh = f"两者口径不同（{item.name_zh} 与 {p_item.name_zh}），比较时须谨慎。"
        out.append(
            Finding(
                kind="looser-than-parent",
                severity=severity,
                plan=plan.id,
                indicator=item.code,
                related_plan=parent.id,
                related_indicator=p_item.code,
                message_zh=(
                    f"{plan.name_zh}的“{item.name_zh}”目标 {item.target.text_zh} 低于"
                    f"{parent.name_zh}同一指标的目标 {p_item.target.text_zh}。{caveat_zh}"
                ),
                message_en=(
                    f"{plan.id}: target {item.target.text_zh} for {item.name_en} is looser than "
                    f"the parent plan {parent.id}'s {p_item.target.text_zh} ({why}).{caveat_en}"
                ),
                sources=_sources(_item_source(item), _item_source(p_item), *extra_sources),
            )
        )
    return out


def _implied_level(item: Item, target: _ChangeBase) -> tuple[float, Baseline, bool] | None:
    """The level a change target implies: (level, baseline used, whether it is the base year).

    When the plan states no value for the base year, the latest earlier value stands in for it
    (the result is then approximate and reported as such).
    """
    if target.base_year is None:
        return None
    earlier = [b for b in item.baselines if b.qualifier == "exact" and b.year <= target.base_year]
    if not earlier:
        return None
    used = max(earlier, key=lambda b: b.year)
    return target._goal(used.value), used, used.year == target.base_year


# --------------------------------------------------------------------------------------------
# target-regresses
# --------------------------------------------------------------------------------------------


def _pace(target: _ChangeBase) -> float | None:
    """Required change per year of a change target, in percent for change_pct."""
    if target.year is None or target.base_year is None or target.value is None:
        return None
    years = target.year - target.base_year
    if years <= 0:
        return None
    return target.value if target.kind == "annual_change" else target.value / years


def _regressions(plan: Plan) -> list[Finding]:
    out = []
    for ind in plan.indicators:
        new = ind.target
        for old in ind.previous_targets:
            if old.unit_printed is not None and old.unit_printed != ind.unit:
                continue  # printed in another unit: the unit check reports it, no comparison
            why_en = why_zh = None
            severity: Severity = "warning"
            if isinstance(new, _ChangeBase) and isinstance(old, _ChangeBase):
                if new.kind == old.kind:
                    p_new, p_old = _pace(new), _pace(old)
                    if p_new is not None and p_old is not None and abs(p_new) < abs(p_old) - 1e-9:
                        why_en = (
                            f"the required change per year falls from {_fmt(p_old)} to "
                            f"{_fmt(p_new)}"
                        )
                        why_zh = f"每年所需变化由 {_fmt(p_old)} 降至 {_fmt(p_new)}"
            else:
                why = _looser(new, old, ind.direction)
                if why is not None:
                    why_en, why_zh = why, why
                    if ind.direction == "band":
                        severity = "info"
                        why_en += (
                            "; the new range may deliberately follow the normal range "
                            "of the measure"
                        )
                        why_zh += "；新区间可能是有意采用该指标的正常范围"
            if why_en is None:
                continue
            reached = [b for b in ind.baselines if restates_earlier_target(ind, b) is old]
            reached_en = reached_zh = ""
            if reached:
                qual = {"at_least": "≥", "at_most": "≤"}[reached[0].qualifier]
                level = f"{qual}{_fmt(reached[0].value)}{_unit_label(ind.unit)}"
                reached_en = f" The text reports that {old.year} target as reached ({level})."
                reached_zh = f"文中称{old.year}年目标已经达到（{level}）。"
            out.append(
                Finding(
                    kind="target-regresses",
                    severity=severity,
                    plan=plan.id,
                    indicator=ind.code,
                    message_zh=(
                        f"“{ind.name_zh}”{new.year}年目标 {new.text_zh} 弱于本规划{old.year}年"
                        f"目标 {old.text_zh}（{why_zh}）。{reached_zh}"
                    ),
                    message_en=(
                        f"{ind.name_en}: the {new.year} target {new.text_zh} is weaker than the "
                        f"plan's {old.year} target {old.text_zh} ({why_en}).{reached_en}"
                    ),
                    sources=_sources(new.source, old.source, *(b.source for b in reached[:1])),
                )
            )
    return out


# --------------------------------------------------------------------------------------------
# already-met
# --------------------------------------------------------------------------------------------


def _baseline_meets(ind: Item, baseline: Baseline) -> bool | None:
    target = ind.target
    if baseline.qualifier == "exact":
        return target.evaluate(baseline.value, _lookup(ind))
    lo, hi = target.bound()
    if lo is None and hi is None:
        return None
    b_lo = baseline.value if baseline.qualifier == "at_least" else None
    b_hi = baseline.value if baseline.qualifier == "at_most" else None
    inside_lo = lo is None or (b_lo is not None and b_lo >= lo)
    inside_hi = hi is None or (b_hi is not None and b_hi <= hi)
    return True if inside_lo and inside_hi else None


def _lookup(ind: Item) -> BaselineLookup:
    return {b.year: b.value for b in ind.baselines if b.qualifier == "exact"}.get


def restates_earlier_target(item: Item, baseline: Baseline) -> Target | None:
    """The earlier target that ``baseline`` only says was reached, or None.

    "均达 90% 以上" reported for 2020 where the 2020 target was ≥90% is a bound equal to that
    target on the same side: it says the target was met, and shows no level beyond it. Such a
    figure is not an achieved value for the already-met check (the regression from the earlier
    target is reported by target-regresses, which cites it).
    """
    if baseline.qualifier == "exact" or not isinstance(item, Indicator):
        return None
    side = 0 if baseline.qualifier == "at_least" else 1
    for target in item.previous_targets:
        if target.year == baseline.year and target.bound()[side] == baseline.value:
            return target
    return None


def _achieved(item: Item) -> list[Baseline]:
    """The baselines that report an achieved level (not a restated earlier target)."""
    return [b for b in item.baselines if restates_earlier_target(item, b) is None]


def _already_met(plan: Plan) -> list[Finding]:
    out = []
    for ind in _items(plan):
        achieved = _achieved(ind)
        if not achieved:
            continue
        latest = max(achieved, key=lambda b: b.year)
        if _baseline_meets(ind, latest) is not True:
            continue
        qual = {"exact": "", "at_least": "≥", "at_most": "≤"}[latest.qualifier]
        shown = f"{qual}{_fmt(latest.value)}{_unit_label(ind.unit)}"
        note_en = note_zh = ""
        if latest.unit_printed is not None and latest.unit_printed != ind.unit:
            note_en = (
                f" (printed as {_fmt(latest.value)}{_unit_label(latest.unit_printed)}, read in "
                f"the indicator's unit {_unit_label(ind.unit)}; see the unit finding)"
            )
            note_zh = (
                f"（原文印作 {_fmt(latest.value)}{_unit_label(latest.unit_printed)}，此处按"
                f"{_unit_label(ind.unit)}理解，见单位问题）"
            )
        binding = isinstance(ind, Indicator) and ind.nature == "binding"
        out.append(
            Finding(
                kind="already-met",
                severity="warning" if binding else "info",
                plan=plan.id,
                indicator=ind.code,
                message_zh=(
                    f"“{ind.name_zh}”{latest.year}年已达 {shown}{note_zh}，已满足"
                    f"{ind.target.year}年目标 {ind.target.text_zh}，目标缺乏挑战性。"
                ),
                message_en=(
                    f"{ind.name_en}: the {latest.year} value {shown}{note_en} already meets the "
                    f"{ind.target.year} target {ind.target.text_zh}; the target asks for no "
                    "progress."
                ),
                sources=_sources(latest.source, _item_source(ind)),
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# unit
# --------------------------------------------------------------------------------------------

#: Plausible ranges of values for units (outside them a figure is suspect whatever it means).
_PLAUSIBLE: dict[str, tuple[float, float]] = {
    "percent": (0.0, 100.0),
    "permille": (0.0, 1000.0),
    "per_100k": (0.0, 100000.0),
    "years": (0.0, 130.0),
    "sex_ratio": (80.0, 150.0),
}


def _all_targets(item: Item) -> list[Target]:
    """The final target and, for a key indicator, the earlier ones the plan also sets."""
    targets: list[Target] = [item.target]
    if isinstance(item, Indicator):
        targets += item.previous_targets
    return targets


def _unit_figures(item: Item) -> Iterable[tuple[str, float | None, str | None, str | None]]:
    """(what, value, printed unit, source) for every figure of an item."""
    for b in item.baselines:
        yield (f"{b.year} baseline", b.value, b.unit_printed, b.source)
    for t in _all_targets(item):
        source = t.source or _item_source(item)
        lo, hi = t.bound()  # only absolute levels; changes and trends are not levels
        value = hi if hi is not None else lo
        if value is None and t.unit_printed is None:
            continue
        yield (f"{t.year} target {t.text_zh}", value, t.unit_printed, source)


def _same_unit_figures(item: Item) -> list[str]:
    """The item's target wordings printed in its own unit (evidence for the right scale)."""
    return [
        t.text_zh
        for t in _all_targets(item)
        if t.unit_printed is None and t.bound() != (None, None)
    ]


def _units(plan: Plan) -> list[Finding]:
    out = []
    for item in _items(plan):
        for what, value, printed, source in _unit_figures(item):
            expected = item.unit
            if printed is not None and printed != expected:
                exp_scale, got_scale = UNITS[expected][2], UNITS[printed][2]
                if exp_scale is not None and got_scale is not None and value is not None:
                    as_printed = value * got_scale / exp_scale
                    factor = got_scale / exp_scale
                    others = ", ".join(_same_unit_figures(item)) or "-"
                    detail_en = (
                        f"taken literally {_fmt(value)}{_unit_label(printed)} = "
                        f"{as_printed:.4g}{_unit_label(expected)}, {factor:g} times what the "
                        f"indicator's own unit gives (its other figures: {others}); "
                        f"{_unit_label(expected)} is almost certainly meant"
                    )
                    detail_zh = (
                        f"按字面 {_fmt(value)}{_unit_label(printed)} 即 "
                        f"{as_printed:.4g}{_unit_label(expected)}，是按该指标单位读数的 "
                        f"{factor:g} 倍（该指标其他数字：{others}），应为 {_unit_label(expected)}"
                    )
                else:
                    detail_en = (
                        f"{item.name_en} is measured in {UNITS[expected][1]}, not "
                        f"{UNITS[printed][1]}; the figure cannot be evaluated as printed"
                    )
                    detail_zh = (
                        f"{item.name_zh}的计量单位是 {UNITS[expected][0]}，不是 "
                        f"{UNITS[printed][0]}，按原文无法评价"
                    )
                out.append(
                    Finding(
                        kind="unit",
                        severity="error",
                        plan=plan.id,
                        indicator=item.code,
                        message_zh=f"“{item.name_zh}”的数字单位不合理：{detail_zh}。",
                        message_en=(
                            f"{item.name_en}, {what}: implausible unit as printed "
                            f"({UNITS[printed][1]}); {detail_en}."
                        ),
                        sources=_sources(source),
                    )
                )
                continue
            bounds = _PLAUSIBLE.get(expected)
            if bounds and value is not None and not bounds[0] <= value <= bounds[1]:
                out.append(
                    Finding(
                        kind="unit",
                        severity="error",
                        plan=plan.id,
                        indicator=item.code,
                        message_zh=(
                            f"“{item.name_zh}”的数值 {_fmt(value)}{_unit_label(expected)} 超出"
                            f"该单位的合理范围 {bounds[0]:g}–{bounds[1]:g}。"
                        ),
                        message_en=(
                            f"{item.name_en}, {what}: {_fmt(value)} is outside the plausible "
                            f"range {bounds[0]:g}-{bounds[1]:g} for {UNITS[expected][1]}."
                        ),
                        sources=_sources(source),
                    )
                )
    return out


# --------------------------------------------------------------------------------------------
# implied-rate
# --------------------------------------------------------------------------------------------


def _implied_rate(plan: Plan, parent: Plan, populations: Mapping[str, float]) -> list[Finding]:
    out: list[Finding] = []
    population = populations.get(plan.region)
    if not population:
        return out
    for ind in plan.indicators:
        link = ind.parent_link
        if ind.target.kind != "count_cap" or link is None or link.relation != "count_of_rate":
            continue
        p_ind = parent.indicator(link.code)
        if p_ind is None:
            continue
        scale = UNITS[p_ind.unit][2]
        _, cap = p_ind.target.bound()
        if scale is None or cap is None or ind.target.value is None:
            continue
        rate = ind.target.value / population / scale
        if rate <= cap:
            continue
        allowed = cap * scale * population
        u = _unit_label(p_ind.unit)
        out.append(
            Finding(
                kind="implied-rate",
                severity="error",
                plan=plan.id,
                indicator=ind.code,
                related_plan=parent.id,
                related_indicator=p_ind.code,
                message_zh=(
                    f"“{ind.name_zh}”上限 {ind.target.text_zh}，按常住人口 {population:,.0f} 人"
                    f"折算为 {rate:.3g}{u}，是{parent.name_zh}“{p_ind.name_zh}”目标 "
                    f"{p_ind.target.text_zh} 的 {rate / cap:.1f} 倍；按省级目标，上限约为 "
                    f"{allowed:,.0f} 人。"
                ),
                message_en=(
                    f"{ind.name_en}: the cap {ind.target.text_zh} ({ind.target.value:,.0f}) over "
                    f"a resident population of {population:,.0f} implies {rate:.3g}{u}, "
                    f"{rate / cap:.1f} times the parent's {p_ind.name_en} target "
                    f"{p_ind.target.text_zh}; the parent's cap allows about {allowed:,.0f}."
                ),
                sources=_sources(ind.target.source, p_ind.target.source),
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# missing
# --------------------------------------------------------------------------------------------


def _missing(plan: Plan) -> list[Finding]:
    out = []
    for ind in plan.indicators:
        gaps_en, gaps_zh = [], []
        if ind.nature == "not_stated":
            gaps_en.append("no nature (binding/expected)")
            gaps_zh.append(f"未注明指标性质（{NATURE_ZH['binding']}/{NATURE_ZH['expected']}）")
        if not ind.baselines:
            gaps_en.append("no baseline value in the text")
            gaps_zh.append("文中没有基期值")
        elif not _achieved(ind):
            gaps_en.append(
                "no baseline value in the text (it only says an earlier target was reached)"
            )
            gaps_zh.append("文中没有基期值（只称早期目标已经达到）")
        if not gaps_en:
            continue
        out.append(
            Finding(
                kind="missing",
                severity="warning" if ind.nature == "not_stated" else "info",
                plan=plan.id,
                indicator=ind.code,
                message_zh=f"“{ind.name_zh}”：{'；'.join(gaps_zh)}。",
                message_en=f"{ind.name_en}: {'; '.join(gaps_en)}.",
                sources=_sources(ind.target.source),
            )
        )
    return out
