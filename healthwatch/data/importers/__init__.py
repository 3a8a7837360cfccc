"""Readers that turn each file format into one :class:`~healthwatch.data.validate.Incoming`.

All formats end in the same table (region, period, element, raw value, comment, source, where)
so that one validator checks them all the same way. The format is taken from ``format`` or
guessed: ``.json`` is DHIS2 ``dataValueSets`` or FHIR (by ``resourceType``), ``.xlsx`` is the
healthwatch template (sheet 填报) or a long table, ``.csv`` is DHIS2 CSV when its header has
``dataelement`` and ``orgunit``, else the long CSV ``region,period,element,value[,comment]``.
"""

from __future__ import annotations

import json
from pathlib import Path

from healthwatch.data.elements import Definitions
from healthwatch.data.importers.csv_long import read_long
from healthwatch.data.importers.dhis2 import read_dhis2_csv, read_dhis2_json
from healthwatch.data.importers.fhir import read_fhir
from healthwatch.data.validate import Incoming
from healthwatch.errors import InputError, Problem

__all__ = ["FORMATS", "detect_format", "read_incoming"]

FORMATS = ("csv", "xlsx", "dhis2-json", "dhis2-csv", "fhir")


def _head(path: Path, size: int = 4096) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def detect_format(path: Path | str) -> str:
    """The format of ``path`` from its name and first bytes (see the module docstring)."""
    p = Path(path)
    suffix = p.suffix.lower()
    head = _head(p)
    if suffix in (".xlsx", ".xlsm") or head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if suffix == ".json" or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        try:
            text = head.decode("utf-8", errors="ignore")
        except UnicodeDecodeError:  # pragma: no cover - errors="ignore"
            text = ""
        return "fhir" if '"resourceType"' in text else "dhis2-json"
    first = head.split(b"\n", 1)[0].lower()
    if b"dataelement" in first and b"orgunit" in first:
        return "dhis2-csv"
    return "csv"


def read_incoming(
    path: Path | str,
    format: str | None = None,
    mapping: Path | str | None = None,
    defs: Definitions | None = None,
) -> Incoming:
    """Read ``path`` in ``format`` (guessed when None) into rows for validation."""
    p = Path(path)
    fmt = format or detect_format(p)
    if fmt not in FORMATS:
        raise InputError(
            [
                Problem(
                    f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})",
                    f"未知的格式 {fmt!r}（可用：{'、'.join(FORMATS)}）",
                    str(p),
                )
            ]
        )
    if fmt == "csv":
        return read_long(p)
    if fmt == "xlsx":
        from healthwatch.data.excel import is_template, read_template

        return read_template(p, defs) if is_template(p) else read_long(p, format="xlsx")
    if fmt == "dhis2-csv":
        return read_dhis2_csv(p, mapping)
    document = load_json(p)
    if fmt == "dhis2-json":
        return read_dhis2_json(p, document, mapping)
    return read_fhir(p, document, defs)


def load_json(path: Path) -> object:
    """The JSON document in ``path`` (UTF-8, BOM allowed), or an InputError naming the line."""
    file = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem("file not found", "找不到文件", file)]) from None
    except OSError as exc:
        raise InputError(
            [Problem(f"cannot read the file: {exc}", f"无法读取文件：{exc}", file)]
        ) from None
    if not data.strip():
        raise InputError([Problem("the file is empty", "文件为空", file)])
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(
            [Problem("JSON must be UTF-8 encoded", "JSON 文件须为 UTF-8 编码", file)]
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            [
                Problem(
                    f"not valid JSON: {exc.msg} (column {exc.colno})",
                    f"不是有效的 JSON：{exc.msg}（第 {exc.colno} 列）",
                    file,
                    exc.lineno,
                )
            ]
        ) from None
