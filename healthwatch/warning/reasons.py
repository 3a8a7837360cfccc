"""Why an alert was raised, in Chinese and English, from the alert's structured fields.

Why a module of its own: the same sentence is written when the fusion raises an alert
(:mod:`healthwatch.warning.fusion`) and again when a page shows an alert stored earlier, so that
alerts stored with codes in their text (``就 fever 发出信号``) read with names as well. Every
code is turned into a name by the caller's lookups; a code with no name is shown as it is. Pure:
no database, no scipy (the alert pages import it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date

__all__ = ["LEVELS_ZH", "METHOD_NAMES", "fused_reason", "method_name", "single_case_reason"]

LEVELS_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}

#: how an alert's level was decided -> (Chinese, English) name
METHOD_NAMES: dict[str, tuple[str, str]] = {
    "fisher": ("Fisher 法", "Fisher"),
    "stouffer": ("Stouffer 法", "Stouffer"),
    "single_case": ("单病例即预警（CIDARS 固定阈值法）", "single case (CIDARS fixed threshold)"),
    "space-time permutation scan": ("时空重排扫描", "space-time permutation scan"),
}


def method_name(method: str, lang: str) -> str:
    """The method's name in ``lang`` (``zh`` or ``en``); an unknown method as it is."""
    names = METHOD_NAMES.get(method)
    if names is None:
        return method
    return names[1] if lang == "en" else names[0]


def _each(codes: Sequence[str], names: Mapping[str, str]) -> list[str]:
    return [names.get(c, c) for c in codes]


def fused_reason(
    *,
    first: date,
    last: date,
    n_groups: int,
    sources: Sequence[str],
    region: str,
    others: Sequence[str],
    syndrome: str,
    p: float | None,
    method: str,
    corrected: bool,
    level: str,
    names_zh: Mapping[str, str],
    names_en: Mapping[str, str],
) -> tuple[str, str]:
    """(zh, en) reason of a multi-source alert; ``names_*`` map source, syndrome and region
    codes to names (one lookup per language: the codes of the three kinds do not collide)."""
    where_zh = names_zh.get(region, region) + (
        f" 及邻近地区 {'、'.join(_each(others, names_zh))}" if others else ""
    )
    where_en = names_en.get(region, region) + (
        f" and neighbouring {', '.join(_each(others, names_en))}" if others else ""
    )
    dep_zh = "，已按来源间相关性校正" if corrected else "，假定来源相互独立"
    dep_en = (
        ", corrected for the correlation between sources"
        if corrected
        else ", sources assumed independent"
    )
    finite = p is not None and math.isfinite(p)
    p_zh = f"{p:.2g}" if finite else "无"
    p_en = f"{p:.2g}" if finite else "n/a"
    zh = (
        f"{first:%Y-%m-%d} 至 {last:%Y-%m-%d}，{n_groups} 个独立来源"
        f"（{'、'.join(_each(sources, names_zh))}）在 {where_zh} "
        f"就{names_zh.get(syndrome, syndrome)}发出信号；"
        f"合并 p 值 {p_zh}（{method_name(method, 'zh')}{dep_zh}），"
        f"预警级别：{LEVELS_ZH.get(level, level)}。"
    )
    en = (
        f"{first:%Y-%m-%d} to {last:%Y-%m-%d}: {n_groups} independent source(s) "
        f"({', '.join(_each(sources, names_en))}) signalled "
        f"{names_en.get(syndrome, syndrome)} in {where_en}; combined p = {p_en} "
        f"({method_name(method, 'en')}{dep_en}); level {level}."
    )
    return zh, en


def single_case_reason(
    *,
    region: str,
    syndrome: str,
    n_cases: int,
    sources: Sequence[str],
    names_zh: Mapping[str, str],
    names_en: Mapping[str, str],
) -> tuple[str, str]:
    """(zh, en) reason of a single-case alert (a disease for which one case is an alert)."""
    zh = (
        f"{names_zh.get(syndrome, syndrome)}属于单病例即预警的疾病（CIDARS 固定阈值法），"
        f"{names_zh.get(region, region)} 报告 {n_cases} 条信号"
        f"（来源：{'、'.join(_each(sources, names_zh))}），"
        "直接定为红色预警，须在 24 小时内核实。"
    )
    en = (
        f"{names_en.get(syndrome, syndrome)} alerts on a single case (CIDARS fixed threshold); "
        f"{names_en.get(region, region)} reported {n_cases} signal(s) "
        f"(sources: {', '.join(_each(sources, names_en))}): "
        "red, to be verified within 24 hours."
    )
    return zh, en
