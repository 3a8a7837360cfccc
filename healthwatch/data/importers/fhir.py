"""FHIR R4 ``MeasureReport`` (summary), alone or in a Bundle, as element values.

One MeasureReport is one indicator for one region and period:

* ``measure`` is a canonical URL whose last segment is the indicator code
  (``https://healthwatch.example/fhir/Measure/infant_mortality``);
* ``subject`` names the region: ``{"reference": "Location/210300"}`` or an identifier whose
  value is the GB/T 2260 adcode;
* ``period`` is exactly a year, quarter or month;
* ``group[0].population`` carries the ``numerator`` and ``denominator`` counts, which become
  the indicator's numerator and denominator elements; a direct-value indicator (life expectancy)
  has its value in ``group[0].measureScore.value``.

Parsed with plain code (the document is small and fixed): each problem names the JSON path.
``measureScore`` of a rate is not stored, since rates are computed from counts; when given it
must agree with the counts (checked, a mismatch is an error).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from healthwatch.data.elements import Definitions, load_definitions
from healthwatch.data.periods import from_fhir_period
from healthwatch.data.validate import Incoming
from healthwatch.errors import InputError, Problem

MEASURE_BASE = "https://healthwatch.example/fhir/Measure/"
ADCODE_SYSTEM = "urn:healthwatch:adcode"


def _code(concept: Any) -> str:
    if isinstance(concept, dict):
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and coding.get("code"):
                return str(coding["code"])
        return str(concept.get("text") or "")
    return ""


def _region(subject: Any) -> str:
    if not isinstance(subject, dict):
        return ""
    ident = subject.get("identifier")
    if isinstance(ident, dict) and ident.get("value"):
        return str(ident["value"])
    ref = str(subject.get("reference") or "")
    return ref.rsplit("/", 1)[-1]


def _reports(document: Any, file: str) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(document, dict) or "resourceType" not in document:
        raise InputError(
            [
                Problem(
                    "not a FHIR resource (no resourceType)",
                    "不是 FHIR 资源（缺少 resourceType）",
                    file,
                    field="resourceType",
                )
            ]
        )
    kind = document["resourceType"]
    if kind == "MeasureReport":
        return [("", document)]
    if kind != "Bundle":
        raise InputError(
            [
                Problem(
                    f"resourceType {kind!r} is not a MeasureReport or a Bundle of them",
                    f"resourceType 为 {kind!r}，不是 MeasureReport 或其 Bundle",
                    file,
                    field="resourceType",
                )
            ]
        )
    out = []
    problems = []
    for i, entry in enumerate(document.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        where = f"entry[{i}].resource"
        if not isinstance(resource, dict) or resource.get("resourceType") != "MeasureReport":
            got = resource.get("resourceType") if isinstance(resource, dict) else None
            problems.append(
                Problem(
                    f"resourceType {got!r} is not a MeasureReport",
                    f"resourceType 为 {got!r}，不是 MeasureReport",
                    file,
                    field=f"{where}.resourceType",
                )
            )
            continue
        out.append((where + ".", resource))
    if problems:
        raise InputError(problems)
    if not out:
        raise InputError(
            [Problem("the Bundle has no entries", "Bundle 中没有条目", file, field="entry")]
        )
    return out


def read_fhir(path: Path, document: object, defs: Definitions | None = None) -> Incoming:
    file = str(path)
    defs = defs or load_definitions()
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []

    def bad(where: str, en: str, zh: str) -> None:
        problems.append(Problem(en, zh, file, None, where))

    for prefix, report in _reports(document, file):
        measure = str(report.get("measure") or "")
        code = measure.rstrip("/").rsplit("/", 1)[-1]
        ind = defs.indicator(code)
        if ind is None:
            bad(
                f"{prefix}measure",
                f"unknown measure {measure!r} (last segment must be an indicator code)",
                f"未知的指标 {measure!r}（最后一段应为指标编码）",
            )
            continue
        if report.get("type", "summary") not in ("summary", "data-collection"):
            bad(
                f"{prefix}type",
                "only summary MeasureReports are aggregate data",
                "只接受 summary 类型的 MeasureReport",
            )
            continue
        region = _region(report.get("subject"))
        per = report.get("period") or {}
        period = from_fhir_period(str(per.get("start") or ""), str(per.get("end") or ""))
        if period is None:
            bad(
                f"{prefix}period",
                "period must be exactly one year, quarter or month",
                "period 必须恰好是一年、一季度或一个月",
            )
            continue
        groups = report.get("group") or []
        if not groups or not isinstance(groups[0], dict):
            bad(
                f"{prefix}group",
                "no group with populations or measureScore",
                "缺少含 population 或 measureScore 的 group",
            )
            continue
        group = groups[0]
        gp = f"{prefix}group[0]"
        comment = str(report.get("id") or "")

        def add(
            element: str,
            value: Any,
            where: str,
            comment: str = comment,
            region: str = region,
            period: str = period,
        ) -> None:
            rows.append(
                {
                    "region": region,
                    "period": period,
                    "element": element,
                    "value": "" if value is None else str(value),
                    "comment": "",
                    "source": f"FHIR MeasureReport {comment}".strip(),
                    "path": where,
                    "line": 0,
                }
            )

        if ind.value is not None:
            score = (group.get("measureScore") or {}).get("value")
            add(ind.value, score, f"{gp}.measureScore.value")
            continue
        pops = {
            _code(p.get("code")): (j, p)
            for j, p in enumerate(group.get("population") or [])
            if isinstance(p, dict)
        }
        for role, element in (("numerator", ind.numerator), ("denominator", ind.denominator)):
            if element is None:
                continue
            if role not in pops:
                bad(
                    f"{gp}.population",
                    f"no {role} population for {code}",
                    f"指标 {code} 缺少 {role} 人群计数",
                )
                continue
            j, pop = pops[role]
            add(element, pop.get("count"), f"{gp}.population[{j}].count")
        score = (group.get("measureScore") or {}).get("value")
        if (
            score is not None
            and "numerator" in pops
            and (ind.denominator is None or "denominator" in pops)
        ):
            try:
                num = float(pops["numerator"][1].get("count"))  # type: ignore[arg-type]
                den = (
                    1.0 if ind.denominator is None else float(pops["denominator"][1].get("count"))  # type: ignore[arg-type]
                )
                expected = num / den * ind.factor if den else None
            except (TypeError, ValueError):
                expected = None
            if expected is not None and abs(float(score) - expected) > 1e-6 * max(1, abs(expected)):
                bad(
                    f"{gp}.measureScore.value",
                    f"measureScore {score} disagrees with numerator/denominator ({expected:.6g})",
                    f"measureScore {score} 与分子/分母计算值（{expected:.6g}）不一致",
                )
    if problems:
        raise InputError(problems)
    frame = pd.DataFrame(
        rows, columns=["region", "period", "element", "value", "comment", "source", "path", "line"]
    )
    return Incoming(frame, file, "fhir", fields={"region": "subject", "element": "measure"})
