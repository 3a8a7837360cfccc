"""Writing stored values in the formats they are imported from, so an export imports back unchanged.

* ``csv``: the long table ``region,period,element,value,comment,source`` (UTF-8 with BOM, which
  Excel opens correctly);
* ``xlsx``: the same table in a workbook (sheet ``data``);
* ``dhis2-json``: a ``dataValueSet`` with codes as ids (``idScheme=code``);
* ``fhir``: a Bundle of summary ``MeasureReport``s, one per indicator, region and period whose
  elements are all present (numerator and denominator populations, the computed measureScore;
  ``measureScore`` alone for a direct value). Elements that belong to no indicator, and rates a
  region reported itself, have no place in a MeasureReport and are left out (the CSV keeps all).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from healthwatch.data.elements import Definitions
from healthwatch.data.importers.fhir import ADCODE_SYSTEM, MEASURE_BASE
from healthwatch.data.periods import fhir_period

__all__ = ["EXPORT_FORMATS", "write_export"]

EXPORT_FORMATS = ("csv", "xlsx", "dhis2-json", "fhir")
LONG_COLUMNS = ["region", "period", "element", "value", "comment", "source"]


def _number(value: float) -> str:
    """Shortest text that reads back to the same float (whole numbers without '.0')."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _long(values: pd.DataFrame) -> pd.DataFrame:
    out = values[LONG_COLUMNS].copy()
    out["value"] = out["value"].map(_number)
    return out


def dhis2_document(values: pd.DataFrame, data_set: str = "") -> dict[str, Any]:
    rows = []
    for r in values.itertuples(index=False):
        item: dict[str, Any] = {
            "dataElement": r.element,
            "period": r.period,
            "orgUnit": r.region,
            "value": _number(r.value),
        }
        if r.comment:
            item["comment"] = r.comment
        if getattr(r, "stored_by", ""):
            item["storedBy"] = r.stored_by
        rows.append(item)
    doc: dict[str, Any] = {"dataValues": rows}
    if data_set:
        doc = {"dataSet": data_set, **doc}
    return doc


def fhir_bundle(values: pd.DataFrame, defs: Definitions) -> dict[str, Any]:
    wide = values.pivot_table(
        index=["region", "period"], columns="element", values="value", aggfunc="last"
    )
    entries = []
    for ind in defs.indicators.values():
        if any(e not in wide.columns for e in ind.elements()):
            continue
        sub = wide[list(ind.elements())].dropna()
        for (region, period), row in sub.iterrows():
            start, end = fhir_period(period)
            group: dict[str, Any]
            if ind.value is not None:
                group = {"measureScore": {"value": float(row[ind.value])}}
            else:
                num = float(row[ind.numerator])
                pops = [_population("numerator", num)]
                score = num
                if ind.denominator is not None:
                    den = float(row[ind.denominator])
                    pops.append(_population("denominator", den))
                    if den == 0:
                        continue
                    score = num / den * ind.factor
                group = {"population": pops, "measureScore": {"value": score}}
            entries.append(
                {
                    "resource": {
                        "resourceType": "MeasureReport",
                        "id": f"{ind.code}-{region}-{period}".replace("_", "-"),
                        "status": "complete",
                        "type": "summary",
                        "measure": MEASURE_BASE + ind.code,
                        "subject": {
                            "reference": f"Location/{region}",
                            "identifier": {"system": ADCODE_SYSTEM, "value": region},
                        },
                        "period": {"start": start, "end": end},
                        "group": [group],
                    }
                }
            )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _population(code: str, count: float) -> dict[str, Any]:
    return {
        "code": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/measure-population",
                    "code": code,
                }
            ]
        },
        "count": int(count) if float(count).is_integer() else count,
    }


def write_export(
    values: pd.DataFrame, path: Path | str, format: str, defs: Definitions, data_set: str = ""
) -> int:
    """Write ``values`` (current values as from ``services.data.current_values``); returns rows."""
    p = Path(path)
    if format == "csv":
        _long(values).to_csv(p, index=False, encoding="utf-8-sig")
        return len(values)
    if format == "xlsx":
        _long(values).to_excel(p, index=False, sheet_name="data")
        return len(values)
    if format == "dhis2-json":
        p.write_text(
            json.dumps(dhis2_document(values, data_set), ensure_ascii=False, indent=1), "utf-8"
        )
        return len(values)
    if format == "fhir":
        bundle = fhir_bundle(values, defs)
        p.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), "utf-8")
        return len(bundle["entry"])
    raise ValueError(format)
