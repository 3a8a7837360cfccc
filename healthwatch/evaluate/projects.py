"""Project tracking by earned value: is each planned project on time and on budget?

For a project with budget BAC, planned start s and end e, at date t:

* PV (planned value) = BAC x planned share done by t (straight line from s to e, or the
  ``planned_percent`` a progress report states);
* EV (earned value) = BAC x percent complete;
* AC (actual cost) = money spent;
* SPI = EV / PV (schedule), CPI = EV / AC (cost). Below 0.9 is the usual warning line:
  ``delayed`` (SPI < 0.9) and ``over_budget`` (CPI < 0.9).

Anshan's plan lists 43 projects in 5 categories with the category totals only
(:func:`project_register` makes the register: the named representative project plus numbered
ones, each with an equal share of the category's money until a progress file gives budgets).
Progress reports are read like indicator data, from CSV or Excel (:func:`read_progress_reports`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from healthwatch.data.tables import read_table
from healthwatch.errors import InputError, Problem
from healthwatch.plans.model import Plan

WARNING_LINE = 0.9

REPORT_COLUMNS = (
    "project_id",
    "report_date",
    "percent_complete",
    "spent_10k_yuan",
)
OPTIONAL_COLUMNS = (
    "budget_10k_yuan",
    "planned_start",
    "planned_end",
    "planned_percent",
    "milestone",
    "name",
)


def project_register(plan: Plan, start: int | None = None, end: int | None = None) -> pd.DataFrame:
    """One row per planned project: id, category, name, budget, planned start and end.

    The plan states counts and totals per category; the representative project keeps its name,
    the others are numbered. Budgets are the category total split equally (``budget_basis`` says
    so) and planned dates span the plan period, until a progress file states better ones.
    """
    start = start or plan.start_year
    end = end or plan.end_year
    rows = []
    for c, proj in enumerate(plan.projects, start=1):
        share = proj.amount_10k_yuan / proj.count if proj.count else 0.0
        for i in range(1, proj.count + 1):
            rows.append(
                {
                    "project_id": f"P{c:02d}-{i:02d}",
                    "category": proj.category,
                    "category_en": proj.category_en,
                    "name": proj.name if i == 1 else f"{proj.category}项目 {i}",
                    "budget_10k_yuan": share,
                    "budget_basis": "equal_share_of_category",
                    "planned_start": date(start, 1, 1),
                    "planned_end": date(end, 12, 31),
                }
            )
    return pd.DataFrame(rows)


def _parse_date(raw: str) -> date | None:
    try:
        return pd.Timestamp(raw).date()
    except (ValueError, TypeError):
        return None


def read_progress_reports(path: str | Path, known_ids: set[str] | None = None) -> pd.DataFrame:
    """Read a progress file; every bad cell is reported at once (file, line, field, reason)."""
    table = read_table(path, required=REPORT_COLUMNS, optional=OPTIONAL_COLUMNS)
    problems: list[Problem] = []
    rows = []
    for pos, rec in enumerate(table.frame.to_dict("records")):
        line = table.line(pos)
        row: dict[str, object] = {"project_id": rec["project_id"]}
        if not rec["project_id"]:
            problems.append(
                Problem("project_id is empty", "项目编号为空", table.file, line, "project_id")
            )
        elif known_ids is not None and rec["project_id"] not in known_ids:
            problems.append(
                Problem(
                    f"unknown project {rec['project_id']!r}",
                    f"未知的项目编号 {rec['project_id']!r}",
                    table.file,
                    line,
                    "project_id",
                )
            )
        for field in ("report_date", "planned_start", "planned_end"):
            raw = rec.get(field, "")
            if raw == "" and field != "report_date":
                row[field] = None
                continue
            d = _parse_date(raw)
            if d is None:
                problems.append(
                    Problem(f"not a date: {raw!r}", f"不是日期：{raw!r}", table.file, line, field)
                )
            row[field] = d
        for field, lo, hi in (
            ("percent_complete", 0, 100),
            ("spent_10k_yuan", 0, None),
            ("budget_10k_yuan", 0, None),
            ("planned_percent", 0, 100),
        ):
            raw = rec.get(field, "")
            if raw == "" and field in OPTIONAL_COLUMNS:
                row[field] = np.nan
                continue
            try:
                x = float(raw)
            except ValueError:
                problems.append(
                    Problem(f"not a number: {raw!r}", f"不是数字：{raw!r}", table.file, line, field)
                )
                continue
            if x < lo or (hi is not None and x > hi):
                rng = f"{lo}-{hi}" if hi is not None else f">= {lo}"
                problems.append(
                    Problem(f"{x} is outside {rng}", f"{x} 超出范围 {rng}", table.file, line, field)
                )
            row[field] = x
        row["milestone"] = rec.get("milestone", "")
        rows.append(row)
    if problems:
        raise InputError(problems)
    return pd.DataFrame(rows)


@dataclass
class EarnedValue:
    """The earned-value table: one row per project (latest report up to the as-of date)."""

    table: pd.DataFrame

    def flagged(self) -> pd.DataFrame:
        return self.table[self.table["delayed"] | self.table["over_budget"]]

    def to_json(self) -> list[dict[str, object]]:
        out = []
        for rec in self.table.to_dict("records"):
            out.append(
                {
                    k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                    for k, v in rec.items()
                    if k not in ("planned_start", "planned_end", "report_date")
                }
                | {
                    "report_date": None
                    if rec.get("report_date") is None
                    else str(rec["report_date"])
                }
            )
        return out


def earned_value(register: pd.DataFrame, reports: pd.DataFrame | None, as_of: date) -> EarnedValue:
    """SPI, CPI and flags per project from its latest report on or before ``as_of``."""
    reg = register.copy()
    if reports is not None and len(reports):
        rep = reports[reports["report_date"] <= as_of].sort_values("report_date")
        latest = rep.groupby("project_id").tail(1).set_index("project_id")
        for col in ("budget_10k_yuan", "planned_start", "planned_end"):
            if col in latest:
                better = (
                    latest[col].dropna()
                    if latest[col].dtype != object
                    else latest[col][latest[col].notna()]
                )
                reg[col] = reg["project_id"].map(better).combine_first(reg[col])
        reg = reg.join(
            latest[["report_date", "percent_complete", "spent_10k_yuan", "planned_percent"]],
            on="project_id",
        )
    else:
        for col in ("report_date", "percent_complete", "spent_10k_yuan", "planned_percent"):
            reg[col] = np.nan if col != "report_date" else None
    bac = reg["budget_10k_yuan"].astype(float).to_numpy()
    start = pd.to_datetime(reg["planned_start"]).to_numpy()
    end = pd.to_datetime(reg["planned_end"]).to_numpy()
    t = np.datetime64(pd.Timestamp(as_of))
    with np.errstate(divide="ignore", invalid="ignore"):
        planned_line = np.clip((t - start) / (end - start), 0.0, 1.0).astype(float)
    planned = reg["planned_percent"].astype(float).to_numpy() / 100
    planned = np.where(np.isnan(planned), planned_line, planned)
    pv = bac * planned
    ev = bac * reg["percent_complete"].astype(float).to_numpy() / 100
    ac = reg["spent_10k_yuan"].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        spi = np.where(pv > 0, ev / pv, np.nan)
        cpi = np.where(ac > 0, ev / ac, np.where(ev > 0, np.inf, np.nan))
    reg["planned_percent"] = planned * 100
    reg["pv"], reg["ev"], reg["ac"], reg["spi"], reg["cpi"] = pv, ev, ac, spi, cpi
    reg["delayed"] = spi < WARNING_LINE
    reg["over_budget"] = cpi < WARNING_LINE
    reg["reported"] = ~np.isnan(ev)
    return EarnedValue(reg)
