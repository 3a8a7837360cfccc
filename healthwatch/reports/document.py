"""The evaluation report a commission files, in Chinese or English: content and HTML.

:class:`ReportData` holds what the report shows (the stored evaluation document, the plan, the
consistency findings, the series behind the charts); :func:`render_html` writes one
self-contained HTML file (inline CSS and SVG, no external resources), which is also the source
of the PDF (:mod:`healthwatch.reports.pdf`). Sections: summary (binding and expected
indicators), early warnings, every indicator with its status by each method and its forecast,
charts (trend against the target path with the forecast fan; map of sub-regions by status),
inequality across regions, consistency findings, projects, methods annex.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import pandas as pd

from healthwatch.plans.model import UNITS, Plan
from healthwatch.reports.charts import STATUS_COLOUR, dominant_status, status_map_svg, trend_svg

STATUS_KEYS = ("achieved", "on_schedule", "lagging", "moving_away", "insufficient_data")

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "report": "规划实施评估报告",
        "kind_annual": "年度监测报告",
        "kind_midterm": "中期评估报告",
        "kind_final": "总结评估报告",
        "as_of": "评估年份",
        "region": "评估地区",
        "data_version": "数据版本",
        "data_source": "数据来源",
        "source_plan_baselines": "规划文本所载基期数据（尚无上报数据）",
        "source_store": "数据库中已审核的上报数据",
        "generated": "生成日期",
        "summary": "一、总体情况",
        "binding": "约束性指标",
        "expected": "预期性及未注明属性指标",
        "count": "个数",
        "warnings": "二、预警",
        "no_warnings": "无预警。",
        "table": "三、指标评估明细",
        "category": "类别",
        "indicator": "指标",
        "nature": "属性",
        "baseline": "基期值",
        "latest": "最新值",
        "target": "目标",
        "status": "状态（序时进度）",
        "open_sdg": "增长率比法",
        "unsd": "UNSD 预测法",
        "forecast": "目标年预测（80%区间）",
        "p_meet": "实现概率",
        "required": "需年均变化",
        "observed": "实际年均变化",
        "charts": "四、趋势与目标路径",
        "chart_note": "黑线：实际值；蓝色虚线：从基期到目标的路径；绿色带：目标区间；橙色扇形：预测区间（80%）。",
        "map": "各地区评估状态",
        "map_title": "下级地区状态（多数指标所处状态）",
        "inequality": "五、地区间差异（WHO HEAT 指标）",
        "no_inequality": "尚无下级地区数据，无法计算地区差异。",
        "findings": "六、规划一致性检查",
        "no_findings": "未发现问题。",
        "projects": "七、重大项目进展（挣值法）",
        "no_projects": "本规划未列重大项目。",
        "project": "项目",
        "budget": "预算（万元）",
        "spi": "进度绩效指数 SPI",
        "cpi": "成本绩效指数 CPI",
        "flag": "提示",
        "delayed": "进度滞后",
        "over_budget": "超支",
        "not_reported": "未报进度",
        "methods": "附录：评估方法",
        "target_band": "目标区间",
        "target_path": "目标路径",
        "forecast_fan": "预测区间",
        "no_data": "暂无数据",
        "gap": "差距",
        "regions_dragging": "拖后地区",
        "binding_yes": "约束性",
        "expected_yes": "预期性",
        "not_stated": "未注明",
        "measure": "指标",
        "year": "年份",
        "value": "值",
    },
    "en": {
        "report": "Plan Implementation Evaluation Report",
        "kind_annual": "Annual monitoring report",
        "kind_midterm": "Mid-term evaluation report",
        "kind_final": "Final evaluation report",
        "as_of": "As of",
        "region": "Region",
        "data_version": "Data version",
        "data_source": "Data source",
        "source_plan_baselines": "baselines stated in the plan text (no reported values yet)",
        "source_store": "approved reported values in the database",
        "generated": "Generated",
        "summary": "1. Summary",
        "binding": "Binding indicators",
        "expected": "Expected and unstated indicators",
        "count": "Count",
        "warnings": "2. Early warnings",
        "no_warnings": "No warnings.",
        "table": "3. Every indicator",
        "category": "Category",
        "indicator": "Indicator",
        "nature": "Nature",
        "baseline": "Baseline",
        "latest": "Latest",
        "target": "Target",
        "status": "Status (time-proportional)",
        "open_sdg": "Growth ratio",
        "unsd": "UNSD projection",
        "forecast": "Forecast for the target year (80% interval)",
        "p_meet": "P(meet)",
        "required": "Needed per year",
        "observed": "Observed per year",
        "charts": "4. Trends against the target path",
        "chart_note": "Black: reported values; blue dashed: path from the base value to the target; green band: acceptable range; orange fan: 80% forecast interval.",
        "map": "Status by region",
        "map_title": "Sub-regions by status (the status most of their targets have)",
        "inequality": "5. Inequality across regions (WHO HEAT measures)",
        "no_inequality": "No values for sub-regions yet: inequality cannot be measured.",
        "findings": "6. Plan consistency findings",
        "no_findings": "No findings.",
        "projects": "7. Major projects (earned value)",
        "no_projects": "The plan lists no projects.",
        "project": "Project",
        "budget": "Budget (10k yuan)",
        "spi": "SPI",
        "cpi": "CPI",
        "flag": "Flag",
        "delayed": "delayed",
        "over_budget": "over budget",
        "not_reported": "no progress report",
        "methods": "Annex: methods",
        "target_band": "acceptable range",
        "target_path": "target path",
        "forecast_fan": "forecast interval",
        "no_data": "no data",
        "gap": "Gap",
        "regions_dragging": "Regions dragging",
        "binding_yes": "binding",
        "expected_yes": "expected",
        "not_stated": "not stated",
        "measure": "Measure",
        "year": "Year",
        "value": "Value",
    },
}

STATUS_TEXT = {
    "zh": {
        "achieved": "已达标",
        "on_schedule": "达到序时进度",
        "lagging": "滞后",
        "moving_away": "逆向变化",
        "insufficient_data": "数据不足",
    },
    "en": {
        "achieved": "achieved",
        "on_schedule": "on schedule",
        "lagging": "lagging",
        "moving_away": "moving away",
        "insufficient_data": "insufficient data",
    },
}

METHODS_ANNEX = {
    "zh": [
        (
            "序时进度",
            "规划期 b..T 的第 t 年，应完成从基期值到目标值距离的 (t−b)/(T−b)。实际完成比例不低于此比例为"
            "“达到序时进度”，为正但不足为“滞后”，为负为“逆向变化”，已满足目标为“已达标”。基期后尚无数据时，"
            "比较基期前实际年均增速与实现目标所需年均增速（例：每千人口执业医师需年均 6.2%，实际 4.5%，滞后）。",
        ),
        (
            "增长率比法（Eurostat / Open SDG）",
            "R = d × CAGR实际 / |CAGR所需|；R ≥ 0.95 实质进展，0.6–0.95 中等，0–0.6 有限，R < 0 恶化。"
            "状态和得分与 Open SDG 官方实现（sdg-build ProgressMeasure）逐一一致。",
        ),
        (
            "联合国统计司预测法（UNSD）",
            "按实际年均增速外推到目标年 x̂T = xt(1+CAGR)^(T−t)，Q = (x̂T − xb)/(x*T − xb)；Q ≥ 0.95 可实现，"
            "0.10–0.95 需加速，0–0.10 停滞，< 0 倒退。",
        ),
        (
            "预测模型",
            "对数尺度上带稳健漂移的随机游走：漂移取最近四个年变化的中位数；80% 区间考虑年际波动、漂移估计误差和"
            "增速变化，用 t 分布。回测（185 国预期寿命与婴儿死亡率）：80% 区间覆盖 85.6% 的留出值。实现概率为预测"
            "分布落在目标区间内的概率。",
        ),
        (
            "趋势与同比例目标",
            "“上升趋势减缓”比较基期前后两段的最小二乘斜率；“同比例提高”比较本指标与参照指标自基期以来的相对变化。",
        ),
        (
            "地区差异",
            "WHO HEAT 非有序分组指标，按人口加权：差值、比值、与最佳地区的加权平均差、差异指数、泰尔指数、平均对数偏差、"
            "人群归因危险度及分值。",
        ),
        (
            "项目挣值",
            "计划价值 PV、挣值 EV = 预算 × 完成百分比、实际成本 AC；SPI = EV/PV，CPI = EV/AC，低于 0.9 提示。",
        ),
    ],
    "en": [
        (
            "Time-proportional progress (序时进度)",
            "By year t of a plan b..T, the share (t−b)/(T−b) of the distance from the base value to the "
            "target should be covered. At least that share: on schedule; less but positive: lagging; "
            "negative: moving away; target met: achieved. With no value after the base year, the "
            "annual growth observed before it is compared with the growth the target needs (e.g. "
            "physicians: 6.2 %/year needed, 4.5 % observed: lagging).",
        ),
        (
            "Growth ratio (Eurostat / Open SDG)",
            "R = d × CAGR_observed / |CAGR_required|; R ≥ 0.95 substantial, 0.6–0.95 moderate, 0–0.6 "
            "limited, R < 0 deterioration. Status and score equal those of Open SDG's own "
            "implementation (sdg-build ProgressMeasure) case by case.",
        ),
        (
            "UNSD projection",
            "x̂_T = x_t (1+CAGR)^(T−t), Q = (x̂_T − x_b)/(x*_T − x_b); Q ≥ 0.95 on track, 0.10–0.95 "
            "acceleration needed, 0–0.10 stagnation, < 0 regression.",
        ),
        (
            "Forecast model",
            "Random walk with a robust drift on the log scale: the drift is the median of the last four "
            "annual changes; the 80 % interval allows for year-to-year noise, drift error and shifts of "
            "pace, with a t quantile. Backtest on life expectancy and infant mortality of 185 countries: "
            "the 80 % interval covered 85.6 % of held-out values. P(meet) is the predictive "
            "probability of lying in the target range.",
        ),
        (
            "Trend and proportional targets",
            "'The rise slows' compares least-squares slopes before and after the base year; 'rises in "
            "the same proportion' compares relative changes since the base year with the reference "
            "indicator's.",
        ),
        (
            "Inequality",
            "WHO HEAT measures for non-ordered groups, population weighted: difference, ratio, weighted "
            "mean difference from the best region, index of disparity, Theil index, mean log deviation, "
            "population attributable risk and fraction.",
        ),
        (
            "Projects (earned value)",
            "PV planned value, EV = budget × percent complete, AC actual cost; SPI = EV/PV, CPI = EV/AC; "
            "flagged below 0.9.",
        ),
    ],
}


@dataclass
class ReportData:
    """Everything a report shows."""

    plan: Plan
    doc: dict[str, Any]
    findings: list[dict[str, Any]]
    series: Mapping[tuple[str, str], pd.Series]
    region_names: Mapping[str, str]
    sub_regions: Sequence[str] = field(default_factory=list)
    generated: str = ""

    def head_results(self) -> list[dict[str, Any]]:
        region = self.doc["region"]
        return [r for r in self.doc["results"] if r["region"] == region]

    def categories(self, lang: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for r in self.head_results():
            out.setdefault(r["category_zh"] if lang == "zh" else r["category_en"], []).append(r)
        return out


def fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def unit_label(unit: str, lang: str) -> str:
    zh, en, _ = UNITS.get(unit, (unit, unit, None))
    return zh if lang == "zh" else en


def nature_text(r: Mapping[str, Any], lang: str) -> str:
    t = TEXT[lang]
    return {"binding": t["binding_yes"], "expected": t["expected_yes"]}.get(
        r.get("nature", ""), t["not_stated"]
    )


def pace_text(change: Mapping[str, Any]) -> str:
    if change.get("percent") is not None:
        return f"{change['percent']:+.2f}%"
    if change.get("absolute") is not None:
        return f"{change['absolute']:+.3g}"
    return "—"


def forecast_text(f: Mapping[str, Any]) -> str:
    if f.get("value") is None:
        return "—"
    return f"{f['value']:.4g} [{f['low']:.4g}, {f['high']:.4g}]"


def _badge(status: str, lang: str) -> str:
    ink = "#212121" if status in ("insufficient_data", "lagging", "on_schedule") else "#fff"
    return (
        f'<span class="badge" style="background:{STATUS_COLOUR[status]};color:{ink}">'
        f"{escape(STATUS_TEXT[lang][status])}</span>"
    )


CSS = """
@page { size: A4 landscape; margin: 12mm 12mm; }
body { font-family: 'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei','PingFang SC',sans-serif;
       font-size: 10.5pt; color: #212121; line-height: 1.45; max-width: 1100px; margin: auto; }
h1 { font-size: 20pt; margin-bottom: 4px; } h2 { font-size: 14pt; border-bottom: 2px solid #1565c0;
  padding-bottom: 2px; margin-top: 22px; page-break-after: avoid; }
h3 { font-size: 11.5pt; margin: 12px 0 4px; page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 9pt; }
th, td { border: 1px solid #cfd8dc; padding: 3px 5px; vertical-align: top; }
th { background: #e3f2fd; text-align: left; } tr { page-break-inside: avoid; }
.badge { color: #fff; border-radius: 3px; padding: 0 4px; white-space: nowrap; font-size: 8.5pt; }
.meta td { border: none; padding: 1px 8px 1px 0; } .meta { width: auto; }
.charts { font-size: 0; }
.chart { display: inline-block; vertical-align: top; margin: 0 8px 8px 0; font-size: 10pt;
  border: 1px solid #eceff1; padding: 4px; width: 368px; page-break-inside: avoid; }
.chart .title { font-size: 9pt; font-weight: bold; }
.warn { border-left: 4px solid #c62828; background: #fff8f8; padding: 4px 8px; margin: 4px 0;
  page-break-inside: avoid; }
.warn.lag { border-left-color: #f9a825; background: #fffdf3; }
.note { color: #555; font-size: 9pt; } .num { text-align: right; white-space: nowrap; }
"""


def render_html(data: ReportData, lang: str = "zh") -> str:
    """The report as one self-contained HTML document."""
    t = TEXT[lang]
    doc = data.doc
    plan = data.plan
    name = plan.name_zh if lang == "zh" else plan.name_en
    kind = t[f"kind_{doc['kind']}"]
    head = data.head_results()
    parts: list[str] = [
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{escape(name)} {escape(kind)}</title>'
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(name)}</h1><div style='font-size:14pt'>{escape(kind)}</div>",
        "<table class='meta'>",
        f"<tr><td>{t['as_of']}</td><td>{doc['as_of']}</td></tr>",
        f"<tr><td>{t['region']}</td><td>{escape(data.region_names.get(doc['region'], doc['region']))}"
        f" ({doc['region']})</td></tr>",
        f"<tr><td>{t['data_source']}</td><td>{escape(t.get('source_' + doc['data_source'], doc['data_source']))}</td></tr>",
        f"<tr><td>{t['data_version']}</td><td><code>{escape(doc['data_version'])}</code></td></tr>",
        f"<tr><td>{t['generated']}</td><td>{escape(data.generated)}</td></tr></table>",
    ]
    parts.append(_summary(head, lang))
    parts.append(_warnings(doc["warnings"], lang))
    parts.append(_table(data, lang))
    parts.append(_charts(data, lang))
    parts.append(_inequality(doc["inequality"], data, lang))
    parts.append(_findings(data.findings, lang))
    parts.append(_projects(doc["projects"], lang))
    parts.append(f"<h2>{t['methods']}</h2>")
    for title, text in METHODS_ANNEX[lang]:
        parts.append(f"<h3>{escape(title)}</h3><p>{escape(text)}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def _summary(head: list[dict[str, Any]], lang: str) -> str:
    t = TEXT[lang]
    rows = []
    for label, pick in ((t["binding"], True), (t["expected"], False)):
        group = [r for r in head if r["binding"] is pick]
        cells = "".join(
            f"<td class='num'>{sum(r['status'] == s for r in group)}</td>" for s in STATUS_KEYS
        )
        rows.append(f"<tr><th>{escape(label)}</th><td class='num'>{len(group)}</td>{cells}</tr>")
    header = "".join(f"<th>{_badge(s, lang)}</th>" for s in STATUS_KEYS)
    out = f"<h2>{t['summary']}</h2><table><tr><th></th><th>{t['count']}</th>{header}</tr>"
    out += "".join(rows) + "</table>"
    binding = [r for r in head if r["binding"]]
    if binding:
        out += f"<h3>{t['binding']}</h3><table><tr><th>{t['indicator']}</th><th>{t['latest']}</th>"
        out += f"<th>{t['target']}</th><th>{t['status']}</th></tr>"
        for r in binding:
            name = r["name_zh"] if lang == "zh" else r["name_en"]
            out += (
                f"<tr><td>{escape(name)}</td><td>{fmt(r['latest']['value'])} "
                f"({fmt(r['latest']['year'])})</td><td>{escape(r['target']['text_zh'])}</td>"
                f"<td>{_badge(r['status'], lang)}</td></tr>"
            )
        out += "</table>"
    return out


def _warnings(warnings: list[dict[str, Any]], lang: str) -> str:
    t = TEXT[lang]
    out = f"<h2>{t['warnings']}</h2>"
    if not warnings:
        return out + f"<p>{t['no_warnings']}</p>"
    for w in warnings:
        cls = "warn" if w["status"] == "moving_away" else "warn lag"
        msg = w["message_zh"] if lang == "zh" else w["message_en"]
        drag = ", ".join(d["region"] for d in w["regions_dragging"][:5])
        extra = f"<div class='note'>{t['regions_dragging']}: {escape(drag)}</div>" if drag else ""
        out += f"<div class='{cls}'>{escape(msg)}{extra}</div>"
    return out


def _table(data: ReportData, lang: str) -> str:
    t = TEXT[lang]
    out = f"<h2>{t['table']}</h2>"
    for cat, rows in data.categories(lang).items():
        out += f"<h3>{escape(cat)}</h3><table><tr><th>{t['indicator']}</th><th>{t['nature']}</th>"
        out += f"<th>{t['baseline']}</th><th>{t['latest']}</th><th>{t['target']}</th>"
        out += f"<th>{t['status']}</th><th>{t['open_sdg']}</th><th>{t['unsd']}</th>"
        out += f"<th>{t['required']} / {t['observed']}</th><th>{t['forecast']}</th>"
        out += f"<th>{t['p_meet']}</th></tr>"
        for r in rows:
            name = r["name_zh"] if lang == "zh" else r["name_en"]
            mv = r["method_verdicts"]
            b, la = r["baseline"], r["latest"]
            out += (
                f"<tr><td>{escape(name)}<div class='note'>{escape(unit_label(r['unit'], lang))}"
                f"</div></td><td>{escape(nature_text(r, lang))}</td>"
                f"<td class='num'>{fmt(b['value'])}<div class='note'>{fmt(b['year'])}</div></td>"
                f"<td class='num'>{fmt(la['value'])}<div class='note'>{fmt(la['year'])}</div></td>"
                f"<td>{escape(r['target']['text_zh'])}</td>"
                f"<td>{_badge(mv['schedule']['status'], lang)}</td>"
                f"<td>{_badge(mv['open_sdg']['status'], lang)}</td>"
                f"<td>{_badge(mv['unsd']['status'], lang)}</td>"
                f"<td class='num'>{pace_text(r['required_annual_change'])} / "
                f"{pace_text(r['observed_annual_change'])}</td>"
                f"<td class='num'>{forecast_text(r['forecast'])}</td>"
                f"<td class='num'>{fmt(r['forecast']['p_meet'], 2)}</td></tr>"
            )
        out += "</table>"
    return out


def _charts(data: ReportData, lang: str) -> str:
    t = TEXT[lang]
    labels = {k: t[k] for k in ("target_band", "target_path", "forecast_fan", "no_data")}
    out = f"<h2>{t['charts']}</h2><p class='note'>{t['chart_note']}</p><div class='charts'>"
    region = data.doc["region"]
    for r in data.head_results():
        s = data.series.get((r["indicator"], region))
        if s is None or s.empty:
            continue
        tg = r["target"]
        b = r["baseline"]
        band = (tg["low"], tg["high"])
        if tg["kind"] in ("at_least", "unchanged") and tg["value"] is not None:
            band = (tg["value"], None) if r["direction"] != "lower" else (None, tg["value"])
        elif tg["kind"] in ("at_most", "below", "count_cap"):
            band = (None, tg["value"])
        svg = trend_svg(
            {int(k): float(v) for k, v in s.items()},
            start_year=data.plan.base_year,
            target_year=tg["year"],
            baseline=(b["year"], b["value"]) if b["value"] is not None else None,
            goal=tg["goal"],
            band=band,
            forecast=r["forecast"],
            labels=labels,
        )
        name = r["name_zh"] if lang == "zh" else r["name_en"]
        out += (
            f"<div class='chart'><div class='title'>{escape(name)} {_badge(r['status'], lang)}"
            f"</div>{svg}</div>"
        )
    out += "</div>"
    subs = [c for c in data.sub_regions if c != region]
    if subs:
        by_region: dict[str, list[str]] = {c: [] for c in subs}
        for r in data.doc["results"]:
            if r["region"] in by_region:
                by_region[r["region"]].append(r["status"])
        statuses = {c: dominant_status(v) for c, v in by_region.items()}
        legend = {k: STATUS_TEXT[lang][k] for k in STATUS_KEYS}
        svg = status_map_svg(statuses, data.region_names, legend, t["map_title"])
        out += f"<h3>{t['map']}</h3>{svg}"
    return out


def _inequality(rows: list[dict[str, Any]], data: ReportData, lang: str) -> str:
    t = TEXT[lang]
    out = f"<h2>{t['inequality']}</h2>"
    if not rows:
        return out + f"<p>{t['no_inequality']}</p>"
    latest: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["indicator"] not in latest or r["year"] > latest[r["indicator"]]["year"]:
            latest[r["indicator"]] = r
    names = {i.code: (i.name_zh if lang == "zh" else i.name_en) for i in data.plan.indicators}
    cols = (
        "difference",
        "ratio",
        "mean_difference_from_best",
        "index_of_disparity",
        "theil",
        "mean_log_deviation",
        "paf",
    )
    out += f"<table><tr><th>{t['indicator']}</th><th>{t['year']}</th>"
    out += "".join(f"<th>{c}</th>" for c in cols) + "<th>1st</th></tr>"
    for code, r in latest.items():
        first = r["ranking"][0]["region"] if r["ranking"] else "—"
        out += (
            f"<tr><td>{escape(names.get(code, code))}</td><td>{r['year']}</td>"
            + "".join(f"<td class='num'>{fmt(r[c], 3)}</td>" for c in cols)
            + f"<td>{escape(data.region_names.get(first, first))}</td></tr>"
        )
    return out + "</table>"


def _findings(findings: list[dict[str, Any]], lang: str) -> str:
    t = TEXT[lang]
    out = f"<h2>{t['findings']}</h2>"
    if not findings:
        return out + f"<p>{t['no_findings']}</p>"
    out += "<table>"
    for f in findings:
        msg = f["message_zh"] if lang == "zh" else f["message_en"]
        out += (
            f"<tr><td>{escape(f['severity'])}</td><td>{escape(f['kind'])}</td>"
            f"<td>{escape(f['indicator'] or '')}</td><td>{escape(msg)}</td></tr>"
        )
    return out + "</table>"


def _projects(projects: list[dict[str, Any]], lang: str) -> str:
    t = TEXT[lang]
    out = f"<h2>{t['projects']}</h2>"
    if not projects:
        return out + f"<p>{t['no_projects']}</p>"
    reported = sum(1 for p in projects if p.get("reported"))
    out += f"<p class='note'>{len(projects)} / {reported} reported</p>"
    out += f"<table><tr><th>ID</th><th>{t['category']}</th><th>{t['project']}</th>"
    out += f"<th>{t['budget']}</th><th>{t['spi']}</th><th>{t['cpi']}</th><th>{t['flag']}</th></tr>"
    for p in projects:
        flags = []
        if not p.get("reported"):
            flags.append(t["not_reported"])
        if p.get("delayed"):
            flags.append(t["delayed"])
        if p.get("over_budget"):
            flags.append(t["over_budget"])
        cat = p["category"] if lang == "zh" else p.get("category_en", p["category"])
        out += (
            f"<tr><td>{escape(p['project_id'])}</td><td>{escape(cat)}</td>"
            f"<td>{escape(p['name'])}</td><td class='num'>{fmt(p['budget_10k_yuan'], 6)}</td>"
            f"<td class='num'>{fmt(p.get('spi'), 3)}</td><td class='num'>{fmt(p.get('cpi'), 3)}</td>"
            f"<td>{escape(', '.join(flags))}</td></tr>"
        )
    return out + "</table>"
