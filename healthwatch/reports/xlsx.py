"""The evaluation report as an Excel workbook: a summary sheet and one sheet per category.

Extra sheets hold the early warnings, the projects and the methods, so the whole report can be
filtered and re-used in a spreadsheet. Cells hold numbers as numbers (not text).
"""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from healthwatch.reports.charts import STATUS_COLOUR
from healthwatch.reports.document import (
    METHODS_ANNEX,
    STATUS_KEYS,
    STATUS_TEXT,
    TEXT,
    ReportData,
    nature_text,
    unit_label,
)

_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(name: str, used: set[str]) -> str:
    base = _BAD.sub(" ", name)[:28].strip() or "sheet"
    title, k = base, 2
    while title in used:
        title = f"{base[:26]}~{k}"
        k += 1
    used.add(title)
    return title


def _fill(status: str) -> PatternFill:
    colour = STATUS_COLOUR[status].lstrip("#")
    return PatternFill("solid", start_color=colour, end_color=colour)


def _autosize(ws: Any) -> None:
    for col in ws.columns:
        width = max(len(str(c.value or "")) for c in col)
        ws.column_dimensions[get_column_letter(col[0].column)].width = min(max(8, width + 2), 48)


def render_xlsx(data: ReportData, lang: str = "zh") -> bytes:
    """The workbook as bytes (open with openpyxl or any spreadsheet program)."""
    t = TEXT[lang]
    st = STATUS_TEXT[lang]
    doc = data.doc
    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    assert ws is not None
    ws.title = _sheet_title("汇总" if lang == "zh" else "Summary", used)
    name = data.plan.name_zh if lang == "zh" else data.plan.name_en
    ws.append([name])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([t[f"kind_{doc['kind']}"]])
    ws.append([t["as_of"], doc["as_of"]])
    ws.append([t["region"], doc["region"]])
    ws.append([t["data_version"], doc["data_version"]])
    ws.append([t["data_source"], t.get("source_" + doc["data_source"], doc["data_source"])])
    ws.append([])
    ws.append(["", t["count"], *[st[s] for s in STATUS_KEYS]])
    head = data.head_results()
    for label, pick in ((t["binding"], True), (t["expected"], False)):
        group = [r for r in head if r["binding"] is pick]
        ws.append([label, len(group), *[sum(r["status"] == s for r in group) for s in STATUS_KEYS]])
    for j, s in enumerate(STATUS_KEYS, start=3):
        ws.cell(row=8, column=j).fill = _fill(s)
        ws.cell(row=8, column=j).font = Font(color="FFFFFF", bold=True)
    _autosize(ws)

    columns = [
        t["indicator"],
        "code",
        t["nature"],
        "unit",
        f"{t['baseline']} year",
        t["baseline"],
        f"{t['latest']} year",
        t["latest"],
        t["target"],
        t["status"],
        t["open_sdg"],
        t["unsd"],
        "Open SDG score",
        "UNSD Q",
        f"{t['required']} %",
        f"{t['observed']} %",
        f"{t['required']} abs",
        f"{t['observed']} abs",
        "forecast",
        "low 80%",
        "high 80%",
        t["p_meet"],
    ]
    for cat, rows in data.categories(lang).items():
        cs = wb.create_sheet(_sheet_title(cat, used))
        cs.append(columns)
        for c in cs[1]:
            c.font = Font(bold=True)
            c.alignment = Alignment(wrap_text=True)
        for r in rows:
            mv = r["method_verdicts"]
            cs.append(
                [
                    r["name_zh"] if lang == "zh" else r["name_en"],
                    r["indicator"],
                    nature_text(r, lang),
                    unit_label(r["unit"], lang),
                    r["baseline"]["year"],
                    r["baseline"]["value"],
                    r["latest"]["year"],
                    r["latest"]["value"],
                    r["target"]["text_zh"],
                    st[mv["schedule"]["status"]],
                    st[mv["open_sdg"]["status"]],
                    st[mv["unsd"]["status"]],
                    mv["open_sdg"].get("score"),
                    mv["unsd"].get("q"),
                    r["required_annual_change"]["percent"],
                    r["observed_annual_change"]["percent"],
                    r["required_annual_change"]["absolute"],
                    r["observed_annual_change"]["absolute"],
                    r["forecast"]["value"],
                    r["forecast"]["low"],
                    r["forecast"]["high"],
                    r["forecast"]["p_meet"],
                ]
            )
            row = cs.max_row
            for col, key in ((10, "schedule"), (11, "open_sdg"), (12, "unsd")):
                cs.cell(row=row, column=col).fill = _fill(mv[key]["status"])
        _autosize(cs)

    wsw = wb.create_sheet(_sheet_title("预警" if lang == "zh" else "Warnings", used))
    wsw.append(
        [
            t["indicator"],
            t["nature"],
            t["status"],
            t["gap"],
            t["required"],
            t["observed"],
            t["p_meet"],
            t["regions_dragging"],
            "说明" if lang == "zh" else "message",
        ]
    )
    for w in doc["warnings"]:
        wsw.append(
            [
                w["name_zh"] if lang == "zh" else w["name_en"],
                t["binding_yes"] if w["binding"] else t["not_stated"],
                st[w["status"]],
                w["gap"],
                w["required_annual_change"]["percent"] or w["required_annual_change"]["absolute"],
                w["observed_annual_change"]["percent"] or w["observed_annual_change"]["absolute"],
                w["p_meet"],
                ("、" if lang == "zh" else ", ").join(
                    f"{data.region_names.get(d['region'], d['region'])} ({d['region']})"
                    for d in w["regions_dragging"]
                ),
                w["message_zh"] if lang == "zh" else w["message_en"],
            ]
        )
    _autosize(wsw)
    if doc["projects"]:
        wsp = wb.create_sheet(_sheet_title("项目" if lang == "zh" else "Projects", used))
        keys = [
            "project_id",
            "category",
            "name",
            "budget_10k_yuan",
            "planned_percent",
            "percent_complete",
            "pv",
            "ev",
            "ac",
            "spi",
            "cpi",
            "delayed",
            "over_budget",
            "reported",
        ]
        wsp.append(keys)
        for p in doc["projects"]:
            wsp.append([p.get(k) for k in keys])
        _autosize(wsp)
    wsm = wb.create_sheet(_sheet_title("方法" if lang == "zh" else "Methods", used))
    for title, text in METHODS_ANNEX[lang]:
        wsm.append([title, text])
    wsm.column_dimensions["A"].width = 30
    wsm.column_dimensions["B"].width = 120
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
