"""The Excel reporting template a county statistician fills in, and reading it back.

``write_template`` makes one workbook per plan, region and year:

* sheet ``填报`` (entry): one row per data element the plan's indicators need, with Chinese
  headers, the unit, last year's stored value, the indicators the element feeds with their plan
  targets, and the cell to fill (``本年值``) under data validation (whole numbers >= 0 for counts,
  numbers >= 0 for amounts and values). Only ``本年值`` and ``备注`` are unlocked; the sheet is
  protected so codes and labels cannot be overwritten by accident;
* sheet ``指标`` (indicators): each indicator with its formula, target, last year's figure and a
  protected Excel formula computing this year's figure from the entry sheet as it is filled;
* sheet ``说明`` (instructions) and a hidden sheet ``_meta`` that marks the workbook as a
  healthwatch template.

``read_template`` reads ``填报`` through :func:`healthwatch.data.tables.read_table`; a row left
blank in ``本年值`` is "not reported" (not an error), so a partly filled template imports what
was filled.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from healthwatch.data.elements import Definitions
from healthwatch.data.tables import read_table
from healthwatch.data.validate import Incoming

__all__ = ["ENTRY_SHEET", "is_template", "read_template", "write_template"]

ENTRY_SHEET = "填报"
INDICATOR_SHEET = "指标"
META_SHEET = "_meta"
ENTRY_HEADERS = [
    "编码",
    "数据项",
    "单位",
    "地区",
    "期间",
    "上年值",
    "本年值",
    "备注",
    "相关指标及规划目标",
]
REQUIRED = ("编码", "地区", "期间", "本年值")
VALUE_COL = ENTRY_HEADERS.index("本年值") + 1
COMMENT_COL = ENTRY_HEADERS.index("备注") + 1
_FILL = PatternFill("solid", fgColor="FFF2CC")
_HEAD = PatternFill("solid", fgColor="DDEBF7")


def is_template(path: Path | str) -> bool:
    """True when ``path`` is a workbook with the healthwatch template's sheets."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.read("xl/workbook.xml").decode("utf-8", errors="ignore")
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    return f'name="{ENTRY_SHEET}"' in names and f'name="{META_SHEET}"' in names


def write_template(
    path: Path | str,
    *,
    plan: Any,
    region: str,
    region_name: str,
    year: int,
    defs: Definitions,
    last_year: dict[str, float],
) -> dict[str, Any]:
    """Write the template for ``plan`` (a :class:`healthwatch.plans.Plan`), ``region``, ``year``.

    ``last_year`` maps element and indicator codes to the region's stored values of ``year - 1``.
    """
    wb = Workbook()
    entry = wb.active
    entry.title = ENTRY_SHEET
    entry.append(ENTRY_HEADERS)
    indicators = [i for i in plan.indicators if i.code in defs.indicators]
    feeds: dict[str, list[str]] = {}
    order: list[str] = []
    for ind in indicators:
        for code in defs.indicators[ind.code].elements():
            feeds.setdefault(code, []).append(f"{ind.name_zh}（{ind.target.text_zh}）")
            if code not in order:
                order.append(code)
    row_of: dict[str, int] = {}
    for code in order:
        el = defs.elements[code]
        prev = last_year.get(code)
        entry.append(
            [
                code,
                el.name_zh,
                el.unit_zh,
                region,
                str(year),
                prev,
                None,
                None,
                "；".join(feeds[code]),
            ]
        )
        row_of[code] = entry.max_row
    _protect_entry(entry, order, defs)
    ind_sheet = wb.create_sheet(INDICATOR_SHEET)
    ind_sheet.append(
        [
            "指标编码",
            "指标名称",
            "单位",
            "属性",
            "计算公式",
            "规划目标",
            "上年值",
            "本年值（自动计算）",
        ]
    )
    for ind in indicators:
        d = defs.indicators[ind.code]
        cells = {
            c: f"'{ENTRY_SHEET}'!{get_column_letter(VALUE_COL)}{row_of[c]}" for c in d.elements()
        }
        if d.value is not None:
            formula = f'=IF({cells[d.value]}="","",{cells[d.value]})'
        elif d.denominator is None:
            formula = f'=IF({cells[d.numerator]}="","",{cells[d.numerator]})'  # type: ignore[index]
        else:
            num, den = cells[d.numerator], cells[d.denominator]  # type: ignore[index]
            formula = f'=IF(OR({num}="",{den}="",{den}=0),"",{num}/{den}*{d.factor:g})'
        prev = last_year.get(ind.code)
        if prev is None and d.value is None and d.denominator is not None:
            n, m = last_year.get(d.numerator or ""), last_year.get(d.denominator)
            prev = n / m * d.factor if n is not None and m else None
        ind_sheet.append(
            [
                ind.code,
                ind.name_zh,
                d.unit_label_zh,
                {"binding": "约束性", "expected": "预期性"}.get(ind.nature, ""),
                d.formula(),
                ind.target.text_zh,
                prev,
                formula,
            ]
        )
    _style(ind_sheet, widths=[28, 40, 10, 8, 46, 24, 10, 16])
    ind_sheet.protection.sheet = True
    readme = wb.create_sheet("说明")
    for line in (
        [f"{plan.name_zh}：{region_name}（{region}）{year} 年指标数据填报表"],
        [f"{plan.name_en}: indicator data for {region} in {year}"],
        ["请只在黄色的“本年值”和“备注”列填写；计数须为不小于 0 的整数。空白表示未填报。"],
        [
            "Fill in only the yellow columns 本年值 (value) and 备注 (comment); counts are whole "
            "numbers >= 0; a blank cell means not reported."
        ],
        ["填写完成后导入：healthwatch data import 本文件.xlsx"],
    ):
        readme.append(line)
    readme.column_dimensions["A"].width = 110
    meta = wb.create_sheet(META_SHEET)
    for key, value in (
        ("template", "healthwatch-data/1"),
        ("plan", plan.id),
        ("region", region),
        ("year", year),
    ):
        meta.append([key, value])
    meta.sheet_state = "hidden"
    meta.protection.sheet = True
    wb.save(path)
    return {
        "file": str(path),
        "plan": plan.id,
        "region": region,
        "year": year,
        "elements": len(order),
        "indicators": len(indicators),
    }


def _style(ws: Any, widths: list[int]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        cell.fill = _HEAD
        cell.alignment = Alignment(wrap_text=True)
    ws.freeze_panes = "A2"


def _protect_entry(ws: Any, order: list[str], defs: Definitions) -> None:
    _style(ws, widths=[28, 36, 8, 9, 8, 12, 14, 20, 60])
    whole = DataValidation(
        type="whole",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="数值有误",
        error="请填写不小于 0 的整数 / whole number >= 0",
    )
    decimal = DataValidation(
        type="decimal",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="数值有误",
        error="请填写不小于 0 的数 / number >= 0",
    )
    ws.add_data_validation(whole)
    ws.add_data_validation(decimal)
    for r, code in enumerate(order, start=2):
        value = ws.cell(row=r, column=VALUE_COL)
        comment = ws.cell(row=r, column=COMMENT_COL)
        for cell in (value, comment):
            cell.protection = Protection(locked=False)
            cell.fill = _FILL
        (whole if defs.elements[code].kind == "count" else decimal).add(value)
    ws.protection.sheet = True
    ws.protection.formatCells = False
    ws.protection.formatColumns = False


def read_template(path: Path | str, defs: Definitions | None = None) -> Incoming:
    """The filled rows of a template's entry sheet (blank 本年值 = not reported)."""
    table = read_table(
        path,
        required=REQUIRED,
        optional=[h for h in ENTRY_HEADERS if h not in REQUIRED],
        sheet=ENTRY_SHEET,
    )
    f = table.frame
    lines = np.arange(table.first_line, table.first_line + len(f))
    frame = pd.DataFrame(
        {
            "region": f["地区"],
            "period": f["期间"].str.replace(r"\.0$", "", regex=True),
            "element": f["编码"],
            "value": f["本年值"],
            "comment": f.get("备注", ""),
            "source": f"Excel 填报表 {Path(path).name}",
            "line": lines,
        }
    )
    frame = frame[frame["value"].astype(str).str.strip().ne("")].reset_index(drop=True)
    return Incoming(
        frame,
        table.file,
        "xlsx",
        fields={
            "region": "地区",
            "period": "期间",
            "element": "编码",
            "value": "本年值",
            "comment": "备注",
        },
        stripped=True,
    )


def fill_template(path: Path | str, values: dict[str, float], out: Path | str) -> None:
    """Fill 本年值 of a template (what a county statistician does; used by tests and the demo)."""
    wb = load_workbook(path)
    ws = wb[ENTRY_SHEET]
    for r in range(2, ws.max_row + 1):
        code = ws.cell(row=r, column=1).value
        if code in values:
            ws.cell(row=r, column=VALUE_COL).value = values[code]
    wb.save(out)
