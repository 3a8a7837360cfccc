"""DHIS2 ``dataValueSets`` in JSON and CSV, with codes as ids or UIDs through a mapping file.

DHIS2 keys a value by data element, period, org unit, category option combo and attribute option
combo. healthwatch keeps no disaggregations, so a combo other than DHIS2's default
(``HllvX50cXC0`` / ``default`` / empty) is refused rather than summed silently. With
``idScheme=code`` (the default here) ``dataElement`` and ``orgUnit`` are healthwatch codes
(element code, GB/T 2260 adcode); a mapping CSV ``type,uid,code`` (``type`` = ``dataElement`` or
``orgUnit``) translates DHIS2 UIDs. An id that is neither mapped nor a known code is reported by
the validator as an unknown code, with the path of the value in the document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.data.tables import read_table
from healthwatch.data.validate import Incoming
from healthwatch.errors import InputError, Problem

DEFAULT_COMBOS = {"", "HllvX50cXC0", "default"}
CSV_REQUIRED = ("dataelement", "period", "orgunit", "value")
CSV_OPTIONAL = ("catoptcombo", "attroptcombo", "storedby", "lastupdated", "comment", "followup")


def read_mapping(path: Path | str | None) -> dict[str, dict[str, str]]:
    """``{"dataElement": {uid: code}, "orgUnit": {uid: code}}`` from a mapping CSV."""
    out: dict[str, dict[str, str]] = {"dataElement": {}, "orgUnit": {}}
    if path is None:
        return out
    table = read_table(path, required=("type", "uid", "code"), optional=())
    problems = []
    for i, row in enumerate(table.frame.itertuples(index=False)):
        if row.type not in out:
            problems.append(
                Problem(
                    f"type must be dataElement or orgUnit, not {row.type!r}",
                    f"type 应为 dataElement 或 orgUnit，而不是 {row.type!r}",
                    table.file,
                    table.line(i),
                    "type",
                )
            )
            continue
        out[row.type][row.uid] = row.code
    if problems:
        raise InputError(problems)
    return out


def _finish(frame: pd.DataFrame, mapping: dict[str, dict[str, str]]) -> pd.DataFrame:
    if mapping["dataElement"]:
        frame["element"] = frame["element"].map(lambda v: mapping["dataElement"].get(v, v))
    if mapping["orgUnit"]:
        frame["region"] = frame["region"].map(lambda v: mapping["orgUnit"].get(v, v))
    return frame


def _combo_problems(
    frame: pd.DataFrame, file: str, columns: tuple[str, str], lines: Any, paths: Any
) -> list[Problem]:
    problems = []
    for col, name in zip(("coc", "aoc"), columns, strict=True):
        bad = ~frame[col].isin(DEFAULT_COMBOS)
        for i in np.flatnonzero(bad.to_numpy()):
            where = f"{paths[i]}.{name}" if paths is not None else name
            problems.append(
                Problem(
                    f"disaggregation {frame[col].iloc[i]!r} is not supported; export totals "
                    "(default category option combo)",
                    f"不支持分类组合 {frame[col].iloc[i]!r}；请导出合计（默认分类选项组合）",
                    file,
                    None if lines is None else int(lines[i]),
                    where,
                )
            )
    return problems


def read_dhis2_json(
    path: Path, document: object, mapping_file: Path | str | None = None
) -> Incoming:
    file = str(path)
    if not isinstance(document, dict) or not isinstance(document.get("dataValues"), list):
        raise InputError(
            [
                Problem(
                    "not a DHIS2 dataValueSet: expected an object with a dataValues list",
                    "不是 DHIS2 dataValueSet：应为包含 dataValues 列表的对象",
                    file,
                    field="dataValues",
                )
            ]
        )
    mapping = read_mapping(mapping_file)
    top = {k: str(document.get(k) or "") for k in ("period", "orgUnit")}
    rows = []
    problems = []
    for i, item in enumerate(document["dataValues"]):
        if not isinstance(item, dict):
            problems.append(
                Problem(
                    "each data value must be an object",
                    "每个数据值都必须是对象",
                    file,
                    None,
                    f"dataValues[{i}]",
                )
            )
            continue

        def get(key: str, default: str = "", item: dict[str, Any] = item) -> str:
            value = item.get(key, default)
            return "" if value is None else str(value)

        rows.append(
            {
                "region": get("orgUnit", top["orgUnit"]),
                "period": get("period", top["period"]),
                "element": get("dataElement"),
                "value": get("value"),
                "comment": get("comment"),
                "source": f"DHIS2 storedBy={get('storedBy')}" if get("storedBy") else "",
                "coc": get("categoryOptionCombo"),
                "aoc": get("attributeOptionCombo"),
                "path": f"dataValues[{i}]",
                "line": 0,
            }
        )
    if problems:
        raise InputError(problems)
    frame = pd.DataFrame(
        rows,
        columns=[
            "region",
            "period",
            "element",
            "value",
            "comment",
            "source",
            "coc",
            "aoc",
            "path",
            "line",
        ],
    )
    problems = _combo_problems(
        frame, file, ("categoryOptionCombo", "attributeOptionCombo"), None, frame["path"].tolist()
    )
    if problems:
        raise InputError(problems)
    frame = _finish(frame, mapping)
    return Incoming(
        frame.drop(columns=["coc", "aoc"]),
        file,
        "dhis2-json",
        fields={"region": "orgUnit", "element": "dataElement", "period": "period"},
    )


def read_dhis2_csv(path: Path | str, mapping_file: Path | str | None = None) -> Incoming:
    table = read_table(path, required=CSV_REQUIRED, optional=CSV_OPTIONAL)
    f = table.frame
    lines = np.arange(table.first_line, table.first_line + len(f))
    frame = pd.DataFrame(
        {
            "region": f["orgunit"],
            "period": f["period"],
            "element": f["dataelement"],
            "value": f["value"],
            "comment": f.get("comment", ""),
            "source": ("DHIS2 storedBy=" + f["storedby"]).where(f["storedby"].ne(""), "")
            if "storedby" in f
            else "",
            "coc": f.get("catoptcombo", ""),
            "aoc": f.get("attroptcombo", ""),
            "line": lines,
        }
    )
    problems = _combo_problems(frame, table.file, ("catoptcombo", "attroptcombo"), lines, None)
    if problems:
        raise InputError(problems)
    frame = _finish(frame, read_mapping(mapping_file))
    return Incoming(
        frame.drop(columns=["coc", "aoc"]),
        table.file,
        "dhis2-csv",
        fields={"region": "orgunit", "element": "dataelement", "period": "period"},
        stripped=True,
    )
