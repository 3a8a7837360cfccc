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
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from healthwatch.evaluate.inequality import MEASURE_ZH
from healthwatch.plans.model import UNITS, Plan
from healthwatch.reports.charts import (
    STATUS_COLOUR,
    dominant_status,
    status_map_svg,
    trend_svg,
    worst_status,
)

STATUS_KEYS = ("achieved", "on_schedule", "lagging", "moving_away", "insufficient_data")


def _load_text() -> dict[str, Any]:
    raw = resources.files("healthwatch.reports").joinpath("text.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(raw))


_WORDING = _load_text()
#: Labels by language (``TEXT["zh"]["summary"]``), from ``text.yaml``.
TEXT: dict[str, dict[str, str]] = _WORDING["text"]
#: Status names by language.
STATUS_TEXT: dict[str, dict[str, str]] = _WORDING["status"]
#: The methods annex by language: (title, text) pairs.
METHODS_ANNEX: dict[str, list[tuple[str, str]]] = {
    lang: [(m["title"], m["text"]) for m in items] for lang, items in _WORDING["methods"].items()
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
thead { display: table-header-group; }
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
    region_name = data.region_names.get(doc["region"], doc["region"])
    source = t.get("source_" + doc["data_source"], doc["data_source"])
    parts: list[str] = [
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{escape(name)} {escape(kind)}</title>'
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(name)}</h1><div style='font-size:14pt'>{escape(kind)}</div>",
        "<table class='meta'>",
        f"<tr><td>{t['as_of']}</td><td>{doc['as_of']}</td></tr>",
        f"<tr><td>{t['region']}</td><td>{escape(region_name)} ({doc['region']})</td></tr>",
        f"<tr><td>{t['data_source']}</td><td>{escape(source)}</td></tr>",
        f"<tr><td>{t['data_version']}</td><td><code>{escape(doc['data_version'])}</code></td></tr>",
        f"<tr><td>{t['generated']}</td><td>{escape(data.generated)}</td></tr></table>",
    ]
    parts.append(_summary(head, lang))
    parts.append(_warnings(doc["warnings"], lang, data.region_names))
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


def _warnings(warnings: list[dict[str, Any]], lang: str, names: Mapping[str, str]) -> str:
    t = TEXT[lang]
    out = f"<h2>{t['warnings']}</h2>"
    if not warnings:
        return out + f"<p>{t['no_warnings']}</p>"
    for w in warnings:
        cls = "warn" if w["status"] == "moving_away" else "warn lag"
        msg = w["message_zh"] if lang == "zh" else w["message_en"]
        out += f"<div class='{cls}'>{escape(msg)}</div>"  # the message names the draggers
    return out


def _table(data: ReportData, lang: str) -> str:
    t = TEXT[lang]
    out = f"<h2>{t['table']}</h2>"
    for cat, rows in data.categories(lang).items():
        # the header row in <thead>: repeated on every PDF page, never left alone at a page foot
        out += f"<h3>{escape(cat)}</h3><table><thead><tr><th>{t['indicator']}</th>"
        out += f"<th>{t['nature']}</th>"
        out += f"<th>{t['baseline']}</th><th>{t['latest']}</th><th>{t['target']}</th>"
        out += f"<th>{t['status']}</th><th>{t['open_sdg']}</th><th>{t['unsd']}</th>"
        out += f"<th>{t['required']} / {t['observed']}</th><th>{t['forecast']}</th>"
        out += f"<th>{t['p_meet']}</th></tr></thead><tbody>"
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
        out += "</tbody></table>"
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
        # binding targets are what the commission answers for: a region is coloured by the
        # worst of them (a region lagging on one binding target must not look green because
        # most expected targets are met); plans without binding targets: the dominant status
        binding = any(r["binding"] for r in data.doc["results"] if r["region"] in subs)
        by_region: dict[str, list[str]] = {c: [] for c in subs}
        for r in data.doc["results"]:
            if r["region"] in by_region and (r["binding"] or not binding):
                by_region[r["region"]].append(r["status"])
        pick = worst_status if binding else dominant_status
        statuses = {c: pick(v) for c, v in by_region.items()}
        legend = {k: STATUS_TEXT[lang][k] for k in STATUS_KEYS}
        title = t["map_title"] if binding else t["map_title_all"]
        svg = status_map_svg(statuses, data.region_names, legend, title)
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
    heads = [MEASURE_ZH[c] if lang == "zh" else c.replace("_", " ") for c in cols]
    best_label = "最佳地区" if lang == "zh" else "best region"
    out += "".join(f"<th>{escape(h)}</th>" for h in heads) + f"<th>{best_label}</th></tr>"
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
            f"<td class='num'>{fmt(p.get('spi'), 3)}</td>"
            f"<td class='num'>{fmt(p.get('cpi'), 3)}</td>"
            f"<td>{escape(', '.join(flags))}</td></tr>"
        )
    return out + "</table>"
