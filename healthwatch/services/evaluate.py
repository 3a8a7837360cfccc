"""Evaluate a stored plan and keep the evaluation as a record (``healthwatch evaluate``).

The values come through ONE adapter, :func:`indicator_values`: the stored indicator data (rates
recomputed from the counties' counts by the data layer's aggregation, never averaged), then the
plan's own stated baselines (:func:`healthwatch.evaluate.seed.seed_values`) where the store has
no value; every value says which source it came from. Everything else — status by
three methods, forecasts, warnings, inequality, projects — is the pure ``evaluate`` package.

Each run is stored in ``evaluations`` with the plan version and ``data_version``, the SHA-256 of
the input values in a canonical form, so that a published evaluation can be reproduced (same
plan version + same data version = same result) and compared with a later one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthwatch.errors import HealthwatchError, InputError, NotFoundError, Problem
from healthwatch.evaluate.early_warning import early_warnings
from healthwatch.evaluate.plan import PlanEvaluation, evaluate_values
from healthwatch.evaluate.projects import (
    earned_value,
    project_register,
    read_progress_reports,
)
from healthwatch.evaluate.seed import seed_values
from healthwatch.plans.model import Plan
from healthwatch.store.evaluation_models import Evaluation, ProjectProgress
from healthwatch.store.models import Plan as PlanRow
from healthwatch.store.plans import stored_plan
from healthwatch.users import LOCAL_ADMIN, Actor, require

Kind = Literal["annual", "midterm", "final"]
Level = Literal["province", "city", "county"]
KINDS: tuple[str, ...] = ("annual", "midterm", "final")
LEVELS: tuple[str, ...] = ("province", "city", "county")
KIND_ZH = {"annual": "年度监测", "midterm": "中期评估", "final": "总结评估"}

ProgressCallback = Callable[[int, int, str], None]


@dataclass
class ValueSource:
    """What :func:`indicator_values` returns: the values and where each one came from."""

    frame: pd.DataFrame  # indicator, region, year, value, source
    source: str  # "store+plan_baselines", "store" or "plan_baselines": the mix used
    completeness: pd.DataFrame | None = None  # indicator, region, year, reported, total, missing


#: where a value came from, in order of preference (the ``source`` column of the frame)
SOURCES = {
    "aggregate": "summed from the counts of every county under the region / 由所辖全部县区计数汇总",
    "counts": "computed from the region's own stored counts / 由本地区计数计算",
    "value": "the region's stored value (direct indicator) / 本地区直接上报值",
    "reported": "the region's own reported figure / 本地区自报数",
    "partial_aggregate": (
        "summed from the counties that reported (incomplete) / 由已上报县区汇总（不完整）"
    ),
    "plan_baseline": "the plan's stated baseline / 规划文本所列基线",
}


def _stored_indicator_values(
    session: Session, codes: list[str], actor: Actor = LOCAL_ADMIN
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Annual values of ``codes`` from the store: rates from summed counts, with their source.

    One query for every element involved, then the data layer's aggregation per indicator
    (county counts summed up to cities and the province, rates recomputed, never averaged).
    Per region and year the value is, in order: the complete aggregate of its counties; its own
    figure (own counts, a direct value, or its own reported rate); an aggregate of the counties
    that did report. Returns the values and the completeness of every aggregate.
    """
    from healthwatch.data.aggregate import aggregate_indicator
    from healthwatch.data.elements import load_definitions
    from healthwatch.services.data import current_values
    from healthwatch.store.models import Region

    empty = pd.DataFrame(columns=["indicator", "region", "year", "value", "source"])
    defs = load_definitions()
    inds = [i for i in (defs.indicator(c) for c in codes) if i is not None]
    if not inds:
        return empty, pd.DataFrame()
    elements = {e for i in inds for e in (*i.elements(), i.code)}
    stored = current_values(actor=actor, elements=elements, session=session)
    stored = stored[stored["period"].str.fullmatch(r"\d{4}")]
    if stored.empty:
        return empty, pd.DataFrame()
    regions = pd.DataFrame(
        session.execute(select(Region.adcode, Region.level, Region.parent)).all(),
        columns=["adcode", "level", "parent"],
    )
    frames, complete = [], []
    values = stored.loc[:, ["region", "period", "element", "value"]]
    for ind in inds:
        agg = aggregate_indicator(values, ind, regions)
        if agg.empty:
            continue
        full = agg["completeness"].eq(1.0) & agg["aggregate"].notna()
        own = agg["own"].notna()
        part = agg["aggregate"].notna()
        value = agg["aggregate"].where(full, agg["own"].where(own, agg["aggregate"]))
        source = pd.Series(None, index=agg.index, dtype=object)
        source[part] = "partial_aggregate"
        source[own] = agg.loc[own, "own_source"]
        source[full] = "aggregate"
        county = agg["level"].eq("county") & full
        source[county] = "counts"
        frame = pd.DataFrame(
            {
                "indicator": ind.code,
                "region": agg["region"],
                "year": agg["period"].astype(int),
                "value": value.astype(float),
                "source": source,
            }
        ).dropna(subset=["value"])
        frames.append(frame)
        has = agg["counties_total"].gt(0) & ~agg["level"].eq("county")
        complete.append(
            pd.DataFrame(
                {
                    "indicator": ind.code,
                    "region": agg.loc[has, "region"],
                    "year": agg.loc[has, "period"].astype(int),
                    "reported": agg.loc[has, "counties_reported"],
                    "total": agg.loc[has, "counties_total"],
                    "missing": agg.loc[has, "missing_counties"],
                }
            )
        )
    if not frames:
        return empty, pd.DataFrame()
    return pd.concat(frames, ignore_index=True), pd.concat(complete, ignore_index=True)


def indicator_values(session: Session, plan: Plan, actor: Actor = LOCAL_ADMIN) -> ValueSource:
    """THE adapter between the store and the evaluation: the values to evaluate ``plan`` on.

    Stored indicator data first (rates recomputed from counts by the data layer's definitions
    and aggregation, see :func:`_stored_indicator_values`), then the plan's own stated baselines
    for every indicator, region and year the store has no value for. Each value carries its
    ``source`` (keys of :data:`SOURCES`). Only stored values ``actor`` may read enter (outside
    its region, approved ones: :func:`healthwatch.services.data.current_values`).
    """
    seeds = seed_values(plan).loc[:, ["indicator", "region", "year", "value"]]
    seeds["source"] = "plan_baseline"
    codes = list(dict.fromkeys(i.code for i in plan.indicators))
    stored, complete = _stored_indicator_values(session, codes, actor)
    if stored.empty:
        return ValueSource(seeds, "plan_baselines", None)
    key = ["indicator", "region", "year"]
    known = pd.MultiIndex.from_frame(stored[key])
    extra = seeds[~pd.MultiIndex.from_frame(seeds[key]).isin(known)]
    frame = pd.concat([stored, extra], ignore_index=True)
    frame = frame.sort_values(key, kind="stable").reset_index(drop=True)
    mix = "store+plan_baselines" if len(extra) else "store"
    return ValueSource(frame, mix, complete)


def data_version(frame: pd.DataFrame) -> str:
    """SHA-256 of the values in a canonical form (sorted rows, values as exact reprs)."""
    rows = sorted(
        (str(r.indicator), str(r.region), int(r.year), repr(float(r.value)))
        for r in frame.itertuples(index=False)
    )
    text = "\n".join(f"{a}\t{b}\t{c}\t{d}" for a, b, c, d in rows)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _regions(plan: Plan, region: str | None, level: str | None) -> list[str]:
    """The region evaluated and, with ``level``, every region of that level below it."""
    from healthwatch.regions.hierarchy import all_regions, descendants

    root = region or plan.region
    known = all_regions()
    if root not in known:
        raise InputError(
            [
                Problem(
                    f"unknown region {root}; use a code from `healthwatch regions list`",
                    f"未知的地区代码 {root}，请使用 `healthwatch regions list` 中的代码",
                    field="--region",
                )
            ]
        )
    out = [root]
    if level is not None and level != known[root].level:
        out += [r.adcode for r in descendants(root) if r.level == level]
    return out


def _mix(used: pd.DataFrame) -> str:
    """Which kinds of source the values used came from (the report names it)."""
    kinds = set(used["source"])
    stored = bool(kinds - {"plan_baseline"})
    if stored and "plan_baseline" in kinds:
        return "store+plan_baselines"
    return "store" if stored else "plan_baselines"


def _child_regions(root: str) -> list[str]:
    """The regions directly under ``root`` (cities of a province, counties of a city)."""
    from healthwatch.regions.hierarchy import all_regions

    return sorted(code for code, r in all_regions().items() if r.parent == root)


def _annotate_sources(
    results: list[dict[str, Any]],
    warnings: list[dict[str, Any]],
    used: pd.DataFrame,
    completeness: pd.DataFrame | None,
) -> None:
    """Say where each latest value came from, and which counties had not reported to it."""
    source = {(r.indicator, r.region, int(r.year)): r.source for r in used.itertuples(index=False)}
    missing: dict[tuple[str, str, int], list[str]] = {}
    if completeness is not None and not completeness.empty:
        gaps = completeness[completeness["reported"] < completeness["total"]]
        for c in gaps.itertuples(index=False):
            missing[(c.indicator, c.region, int(c.year))] = list(c.missing)
    for r in results:
        year = r["latest"].get("year")
        key = (r["indicator"], r["region"], int(year)) if year is not None else None
        r["latest"]["source"] = source.get(key) if key else None
        r["latest"]["missing_counties"] = missing.get(key, []) if key else []
    # a warning's "latest" is its region's result "latest": annotated above
    del warnings


def _populations(session: Session, year: int, actor: Actor = LOCAL_ADMIN) -> dict[str, float]:
    """Population weights: the region table's figures, overridden by the stored
    ``resident_population`` reported for the latest year up to ``year`` (counties included)."""
    from healthwatch.services.data import current_values
    from healthwatch.store.regions import populations

    out: dict[str, float] = {}
    for y in (year, year - 1, 2021, 2020):
        pops = populations(session, y)
        if pops:
            out = dict(pops)
            break
    stored = current_values(actor=actor, elements=["resident_population"], session=session)
    stored = stored[stored["period"].str.fullmatch(r"\d{4}")]
    stored = stored[stored["period"].astype(int) <= year]
    if not stored.empty:
        latest = stored.sort_values("period").groupby("region")["value"].last()
        out.update({str(k): float(v) for k, v in latest.items() if v > 0})
    return out


def _check_options(as_of: int, kind: str, level: str | None) -> None:
    problems = []
    if kind not in KINDS:
        problems.append(
            Problem(
                f"kind must be one of {', '.join(KINDS)}",
                f"评估类型须为 {'、'.join(KINDS)} 之一",
                field="--kind",
            )
        )
    if level is not None and level not in LEVELS:
        problems.append(
            Problem(
                f"level must be one of {', '.join(LEVELS)}",
                f"层级须为 {'、'.join(LEVELS)} 之一",
                field="--level",
            )
        )
    if not 1990 <= as_of <= 2100:
        problems.append(Problem("as-of year out of range", "评估年份超出范围", field="--as-of"))
    if problems:
        raise InputError(problems)


def run_evaluation(
    session: Session,
    plan_id: str,
    as_of: int,
    region: str | None = None,
    level: str | None = None,
    kind: str = "final",
    progress: ProgressCallback | None = None,
    *,
    actor: Actor = LOCAL_ADMIN,
) -> tuple[dict[str, Any], PlanEvaluation, Plan]:
    """Compute (without storing) the evaluation document of ``evaluate --json`` from the
    values ``actor`` may read."""
    _check_options(as_of, kind, level)
    plan = stored_plan(session, plan_id)
    regions = _regions(plan, region, level)
    values = indicator_values(session, plan, actor)
    # the values used: the regions evaluated and the root's children (which name the regions
    # dragging an aggregate down), up to the as-of year; data_version hashes exactly these
    kids = [k for k in _child_regions(regions[0]) if k not in regions]
    scope = [*regions, *kids]
    used = values.frame[
        values.frame["region"].isin(scope) & (values.frame["year"] <= as_of)
    ].reset_index(drop=True)
    pops = _populations(session, as_of, actor)
    if progress:
        progress(0, 3, "values")
    # inequality across the sub-regions of one level: the --level regions, else the children
    main = regions if len(regions) > 1 else scope
    ev = evaluate_values(plan, used, as_of, regions=main, populations=pops, aggregate=regions[0])
    if progress:
        progress(1, 3, "status")
    rows = ev.results
    if len(regions) > 1 and kids:  # --level county: the cities, for the warnings only
        rows = rows + evaluate_values(plan, used, as_of, regions=[regions[0], *kids]).results
    warnings = early_warnings(rows, regions[0], pops)
    wanted = set(regions)
    ev.results = [r for r in ev.results if r["region"] in wanted]
    _annotate_sources(ev.results, warnings, used, values.completeness)
    projects: list[dict[str, Any]] = []
    if plan.projects:
        reports = stored_progress(session, plan.id)
        projects = earned_value(project_register(plan), reports, date(as_of, 12, 31)).to_json()
    if progress:
        progress(2, 3, "warnings")
    version = session.scalar(select(PlanRow.current_version).where(PlanRow.id == plan_id))
    doc = {
        "plan": plan.id,
        "plan_version": version,
        "as_of": as_of,
        "kind": kind,
        "kind_zh": KIND_ZH[kind],
        "region": regions[0],
        "level": level,
        "data_version": data_version(used),
        "data_source": _mix(used),
        "value_sources": {str(k): int(v) for k, v in used["source"].value_counts().items()},
        "summary": ev.by_status(),
        "results": ev.results,
        "warnings": warnings,
        "inequality": ev.inequality,
        "projects": projects,
    }
    if progress:
        progress(3, 3, "done")
    return doc, ev, plan


def evaluate_plan(
    session: Session,
    plan_id: str,
    as_of: int,
    region: str | None = None,
    level: str | None = None,
    kind: str = "final",
    *,
    actor: Actor = LOCAL_ADMIN,
    store: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Evaluate a stored plan and store the evaluation record; returns the JSON document.

    The document gains ``evaluation_id`` (the stored record) and ``reproduces`` (ids of earlier
    evaluations of the same plan version, as-of year, scope and data version: the same result).
    """
    return _evaluate(
        session, plan_id, as_of, region, level, kind, actor=actor, store=store, progress=progress
    )[0]


def _evaluate(
    session: Session,
    plan_id: str,
    as_of: int,
    region: str | None,
    level: str | None,
    kind: str,
    *,
    actor: Actor,
    store: bool,
    progress: ProgressCallback | None,
) -> tuple[dict[str, Any], PlanEvaluation, Plan]:
    plan_region = region
    if plan_region is None:
        row = session.get(PlanRow, plan_id)
        if row is None:
            raise NotFoundError(
                f"No plan {plan_id!r}; see `healthwatch plans list`.",
                f"没有规划 {plan_id!r}，请查看 `healthwatch plans list`。",
            )
        plan_region = row.region
    require(actor, "read", plan_region)
    doc, ev, plan = run_evaluation(
        session, plan_id, as_of, region, level, kind, progress, actor=actor
    )
    same = session.scalars(
        select(Evaluation.id).where(
            Evaluation.plan_id == plan_id,
            Evaluation.plan_version == doc["plan_version"],
            Evaluation.as_of == as_of,
            Evaluation.region == doc["region"],
            Evaluation.data_version == doc["data_version"],
        )
    ).all()
    doc["reproduces"] = list(same)
    if store:
        require(actor, "write", plan_region)
        record = Evaluation(
            plan_id=plan_id,
            plan_version=doc["plan_version"],
            as_of=as_of,
            kind=kind,
            region=doc["region"],
            level=level,
            data_version=doc["data_version"],
            data_source=doc["data_source"],
            summary=doc["summary"],
            document=_jsonable(doc),
            actor=actor.username,
            note="",
        )
        session.add(record)
        session.flush()
        doc["evaluation_id"] = record.id
    return doc, ev, plan


def report_kind(plan: Plan, as_of: int) -> str:
    """final at or after the end year, midterm in the plan's third year, else annual."""
    if as_of >= plan.end_year:
        return "final"
    if as_of == plan.start_year + 2:
        return "midterm"
    return "annual"


def write_report(
    session: Session,
    plan_id: str,
    as_of: int,
    fmt: str,
    lang: str,
    out: Path,
    region: str | None = None,
    level: str | None = "city",
    *,
    actor: Actor = LOCAL_ADMIN,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Evaluate (storing the record) and write the report file; returns what was written.

    The report names the evaluation's data version, so the filed document can be reproduced.
    """
    step = (lambda i, what: progress(i, 5, what)) if progress else (lambda i, what: None)
    content, info = render_report(
        session, plan_id, as_of, fmt, lang, region, level, actor=actor, store=True, step=step
    )
    step(4, "write")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    step(5, "done")
    return {"file": str(out), **info}


def render_report(
    session: Session,
    plan_id: str,
    as_of: int,
    fmt: str,
    lang: str,
    region: str | None = None,
    level: str | None = "city",
    *,
    actor: Actor = LOCAL_ADMIN,
    store: bool = True,
    step: Callable[[int, str], None] | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Evaluate and render the report in memory: its bytes and what was rendered.

    ``store=False`` is for a download (a web GET, a viewer): it needs only ``read`` and writes
    nothing; the report still names the data version, so it can be reproduced.
    """
    from datetime import UTC, datetime

    from healthwatch.regions.hierarchy import all_regions
    from healthwatch.reports import FORMATS, LANGS, ReportData, render
    from healthwatch.services.plans import check_stored_plans

    problems = []
    if fmt not in FORMATS:
        problems.append(
            Problem(
                f"format must be one of {', '.join(FORMATS)}",
                "格式须为 html、pdf 或 xlsx",
                field="--format",
            )
        )
    if lang not in LANGS:
        problems.append(Problem("lang must be zh or en", "语言须为 zh 或 en", field="--lang"))
    if problems:
        raise InputError(problems)
    step = step or (lambda i, what: None)
    row = session.get(PlanRow, plan_id)
    kind = report_kind(stored_plan(session, plan_id), as_of) if row is not None else "final"
    step(0, "evaluate")
    doc, ev, plan = _evaluate(
        session, plan_id, as_of, region, level, kind, actor=actor, store=store, progress=None
    )
    step(1, "findings")
    findings = [f.to_json() for f in check_stored_plans(session, [plan_id])]
    names = {code: r.name for code, r in all_regions().items()}
    regions = list(dict.fromkeys(r["region"] for r in doc["results"]))
    data = ReportData(
        plan=plan,
        doc=_jsonable(doc),
        findings=findings,
        series=ev.series,
        region_names=names,
        sub_regions=regions,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    step(2, f"render {fmt}")
    content = render(data, fmt, lang)
    info = {
        "format": fmt,
        "lang": lang,
        "bytes": len(content),
        "evaluation_id": doc.get("evaluation_id"),
        "data_version": doc["data_version"],
    }
    return content, info


def stored_evaluations(session: Session, plan_id: str | None = None) -> list[dict[str, Any]]:
    """The stored evaluation records (newest first), without their documents."""
    query = select(Evaluation).order_by(Evaluation.id.desc())
    if plan_id is not None:
        query = query.where(Evaluation.plan_id == plan_id)
    return [
        {
            "id": e.id,
            "plan": e.plan_id,
            "plan_version": e.plan_version,
            "as_of": e.as_of,
            "kind": e.kind,
            "region": e.region,
            "level": e.level,
            "data_version": e.data_version,
            "data_source": e.data_source,
            "summary": e.summary,
            "created_at": e.created_at.isoformat() if e.created_at else None,
            "actor": e.actor,
        }
        for e in session.scalars(query)
    ]


def _jsonable(data: Any) -> Any:
    """The document as strict JSON types (NaN -> None) for the JSON column."""
    import math

    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {str(k): _jsonable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_jsonable(v) for v in data]
    if hasattr(data, "item"):
        return _jsonable(data.item())
    if isinstance(data, (date,)):
        return data.isoformat()
    return data


__all__ = [
    "KINDS",
    "LEVELS",
    "HealthwatchError",
    "data_version",
    "evaluate_plan",
    "indicator_values",
    "run_evaluation",
    "stored_evaluations",
]


def draft_next_plan(
    session: Session, from_plan: str, to_year: int = 2030, probability: float = 0.8
) -> dict[str, Any]:
    """Draft the next plan from the final evaluation of ``from_plan``; checked, loadable YAML.

    The draft is checked with the existing consistency checks against the parent's plan (its
    current one, until the parent's next plan is stored) and parsed by the plan loader, so the
    YAML returned is a file ``plans load`` accepts.
    """
    import yaml

    from healthwatch.evaluate.draft import _next_id, draft_plan
    from healthwatch.plans.checks import check_plans
    from healthwatch.plans.loader import default_known_adcodes, parse_plan

    problems = []
    if not 0.05 <= probability <= 0.95:
        problems.append(
            Problem(
                "probability must be between 0.05 and 0.95",
                "实现概率须在 0.05 到 0.95 之间",
                field="--probability",
            )
        )
    plan = stored_plan(session, from_plan)
    if to_year <= plan.end_year:
        problems.append(
            Problem(
                f"--to-year must be after {plan.end_year}",
                f"目标年须晚于 {plan.end_year}",
                field="--to-year",
            )
        )
    if problems:
        raise InputError(problems)
    doc, ev, _ = run_evaluation(session, from_plan, plan.end_year, kind="final")
    parent_now = stored_plan(session, plan.parent) if plan.parent else None
    parent_next = _next_id(plan.parent, plan.end_year + 1, to_year) if plan.parent else None
    waiting = None  # the parent's next plan, named in the draft only once it is stored
    if parent_next and session.get(PlanRow, parent_next) is not None:
        parent_now = stored_plan(session, parent_next)
    elif parent_next:
        waiting, parent_next = parent_next, None  # `plans load` refuses an unstored parent
    document, reasoning = draft_plan(
        plan, ev.results, ev.series, to_year, probability, doc["data_version"], parent_next
    )
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
    draft = parse_plan(text, f"{document['id']}.yaml", default_known_adcodes())
    checked = (
        [parent_now, draft.model_copy(update={"parent": parent_now.id})] if parent_now else [draft]
    )
    findings = [f.to_json() for f in check_plans(checked) if f.plan == draft.id]
    header = (
        f"# {document['name_zh']}\n# Drafted by `healthwatch plans draft --from {from_plan} "
        f"--to-year {to_year} --probability {probability}`; data {doc['data_version']}.\n"
    )
    if waiting:
        header += (
            f"# 上级规划 {waiting} 尚未入库：入库后请加上 parent: {waiting} 并重新检查。\n"
            f"# The parent plan {waiting} is not stored yet: add `parent: {waiting}` once it is.\n"
        )
    return {"plan": document, "yaml": header + text, "reasoning": reasoning, "findings": findings}


PROGRESS_FIELDS = (
    "percent_complete",
    "spent_10k_yuan",
    "budget_10k_yuan",
    "planned_start",
    "planned_end",
    "planned_percent",
    "milestone",
)


def import_project_progress(
    session: Session, plan_id: str, path: str | Path, *, actor: Actor = LOCAL_ADMIN
) -> dict[str, int]:
    """Import a progress file for the plan's projects (insert, or update by project and date).

    The whole file is checked first (unknown project ids, dates, numbers, ranges: every problem
    with its line); nothing is written unless all rows are valid.
    """
    plan = stored_plan(session, plan_id)
    require(actor, "write", plan.region)
    if not plan.projects:
        raise InputError(
            [Problem(f"plan {plan_id} lists no projects", f"规划 {plan_id} 未列项目", str(path))]
        )
    known = set(project_register(plan)["project_id"])
    frame = read_progress_reports(path, known)
    counts = {"inserted": 0, "updated": 0}
    existing = {
        (p.project_id, p.report_date): p
        for p in session.scalars(select(ProjectProgress).where(ProjectProgress.plan_id == plan_id))
    }
    for rec in frame.to_dict("records"):
        values = {k: _none_if_nan(rec.get(k)) for k in PROGRESS_FIELDS}
        values["milestone"] = values["milestone"] or ""
        row = existing.get((rec["project_id"], rec["report_date"]))
        if row is None:
            session.add(
                ProjectProgress(
                    plan_id=plan_id,
                    project_id=rec["project_id"],
                    report_date=rec["report_date"],
                    source=str(path),
                    **values,
                )
            )
            counts["inserted"] += 1
        else:
            for k, v in values.items():
                setattr(row, k, v)
            row.source = str(path)
            counts["updated"] += 1
    session.flush()
    return counts


def _none_if_nan(x: Any) -> Any:
    import math

    return None if isinstance(x, float) and math.isnan(x) else x


def stored_progress(session: Session, plan_id: str) -> pd.DataFrame | None:
    """The plan's stored progress reports as the frame :func:`earned_value` reads, or None."""
    rows = session.scalars(select(ProjectProgress).where(ProjectProgress.plan_id == plan_id)).all()
    if not rows:
        return None
    return pd.DataFrame(
        [
            {
                "project_id": r.project_id,
                "report_date": r.report_date,
                **{k: getattr(r, k) for k in PROGRESS_FIELDS},
            }
            for r in rows
        ]
    ).astype({"budget_10k_yuan": float, "planned_percent": float})


def evaluation_with_series(
    session: Session,
    plan_id: str,
    as_of: int,
    region: str | None = None,
    level: str | None = None,
    *,
    actor: Actor = LOCAL_ADMIN,
) -> tuple[dict[str, Any], PlanEvaluation, Plan]:
    """Evaluate without storing, for a reader (``read`` in the region): the document, the
    evaluation with its value series (the web's trend charts and maps need them), the plan."""
    return _evaluate(
        session, plan_id, as_of, region, level, "annual", actor=actor, store=False, progress=None
    )
