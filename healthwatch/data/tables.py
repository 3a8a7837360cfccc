"""Reading a user's table file (CSV or Excel) into strings, or refusing it with a clear reason.

Every file reader in healthwatch (facilities, populations, counts, indicator values, warning
feeds) starts here, so that each gets the same answers to the same bad files: a county's CSV
saved from Excel is GBK or UTF-8 with a BOM, a file may be empty, binary, a truncated xlsx, or
have columns that are unknown or missing. Cells come back as stripped strings ("" for empty);
converting and checking values is the caller's job, which knows the field's meaning.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "beds.csv"
>>> _ = p.write_bytes("区县,beds\\n铁东区,120\\n".encode("gbk"))
>>> t = read_table(p, required=["beds"], optional=["区县"])
>>> t.encoding, t.frame.to_dict("records"), t.line(0)
('gb18030', [{'区县': '铁东区', 'beds': '120'}], 2)
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from healthwatch.errors import InputError, Problem

__all__ = ["ENCODINGS", "Table", "decode_text", "read_table"]

#: Tried in this order: UTF-8 (a BOM is dropped), then GB 18030, a superset of GBK and GB 2312.
ENCODINGS = ("utf-8-sig", "gb18030")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Table:
    """A file's rows as strings, with where they came from.

    ``frame`` has one column per header cell (stripped) and one row per data row; ``first_line``
    is the file line (CSV) or sheet row (Excel) of ``frame``'s first row, so that
    :meth:`line` names the line a user sees in an editor.
    """

    frame: pd.DataFrame
    file: str
    encoding: str | None
    first_line: int = 2
    sheet: str | None = None

    def line(self, position: int) -> int:
        """The file line (or sheet row) of the row at ``position`` (0-based) in :attr:`frame`."""
        return self.first_line + position


def _refuse(file: str, en: str, zh: str, field: str | None = None) -> InputError:
    return InputError([Problem(en, zh, file=file, field=field)])


def decode_text(data: bytes, file: str) -> tuple[str, str]:
    """``data`` as text in the first of :data:`ENCODINGS` that decodes it, and that encoding.

    Binary data (a NUL byte) and data no encoding decodes are refused, naming the encodings tried.
    """
    if b"\x00" in data[:8192]:
        raise _refuse(
            file,
            "this is a binary file, not a text (CSV) file; save it as CSV (UTF-8) or .xlsx",
            "这是二进制文件而不是文本（CSV）文件；请另存为 CSV（UTF-8）或 .xlsx",
        )
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    tried = ", ".join(ENCODINGS)
    raise _refuse(
        file,
        f"cannot decode the file as text (tried {tried}); save it as CSV in UTF-8",
        f"无法按文本解码该文件（已尝试 {tried}）；请另存为 UTF-8 编码的 CSV",
    )


def _read_csv(data: bytes, file: str) -> Table:
    text, encoding = decode_text(data, file)
    if not text.strip():
        raise _refuse(file, "the file is empty", "文件为空")
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _refuse(
            file, f"not a well-formed CSV file: {reason}", f"不是格式正确的 CSV 文件：{reason}"
        ) from None
    return Table(frame=frame, file=file, encoding=encoding)


def _read_excel(data: bytes, file: str, sheet: str | int) -> Table:
    if not data.startswith(_ZIP_MAGIC):
        raise _refuse(file, "not an Excel .xlsx workbook", "不是 Excel .xlsx 工作簿", field=None)
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="openpyxl")
        name = book.sheet_names[sheet] if isinstance(sheet, int) else sheet
        frame = pd.read_excel(
            book, sheet_name=name, dtype=str, keep_default_na=False, na_filter=False
        )
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as exc:
        reason = str(exc).strip() or type(exc).__name__
        raise _refuse(
            file,
            f"the workbook is damaged or incomplete ({reason}); open it in Excel and save again",
            f"工作簿已损坏或不完整（{reason}）；请用 Excel 打开后重新保存",
        ) from None
    frame = frame.map(lambda v: "" if v is None else str(v))
    return Table(frame=frame, file=file, encoding=None, sheet=str(name))


def _stripped(column: pd.Series) -> pd.Series:
    """``column`` with its cells stripped, stripping each distinct value once (a million rows
    of a long table hold a few hundred distinct codes); the column itself when nothing changes.
    Missing cells (a short CSV row) stay missing."""
    codes, uniques = pd.factorize(column)
    stripped = [str(u).strip() for u in uniques]
    if all(a == b for a, b in zip(stripped, uniques, strict=True)):
        return column
    table = np.array([*stripped, np.nan], dtype=object)  # code -1 (missing) -> NaN
    return pd.Series(table[codes], index=column.index, dtype=column.dtype, name=column.name)


def _check_columns(table: Table, required: Iterable[str], optional: Iterable[str] | None) -> None:
    columns = list(table.frame.columns)
    problems: list[Problem] = []
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            problems.append(
                Problem(
                    "the column appears twice",
                    "该列出现了两次",
                    file=table.file,
                    line=1,
                    field=column,
                )
            )
        seen.add(column)
    required = list(required)
    for column in required:
        if column not in seen:
            problems.append(
                Problem(
                    f"required column {column!r} is missing",
                    f"缺少必需的列 {column!r}",
                    file=table.file,
                    line=1,
                    field=column,
                )
            )
    if optional is not None:
        allowed = set(required) | set(optional)
        known = "、".join([*required, *optional])
        for column in columns:
            if column not in allowed:
                problems.append(
                    Problem(
                        f"unknown column {str(column)!r} "
                        f"(known columns: {', '.join([*required, *optional])})",
                        f"未知的列 {str(column)!r}（可用的列：{known}）",
                        file=table.file,
                        line=1,
                        field=str(column),
                    )
                )
    if problems:
        raise InputError(problems)


def read_table(
    path: Path | str,
    *,
    required: Iterable[str] = (),
    optional: Iterable[str] | None = None,
    sheet: str | int = 0,
) -> Table:
    """Read a CSV (UTF-8, UTF-8 with BOM, GBK/GB 18030) or .xlsx file as a :class:`Table`.

    ``required`` columns must all be there; when ``optional`` is given, any column that is
    neither required nor optional is an error too (a header ``bed`` where ``beds`` was meant is
    not silently ignored). Every failure is an :class:`InputError` naming the file.
    """
    path = Path(path)
    file = str(path)
    if path.is_dir():
        raise _refuse(file, "this is a folder, not a file", "这是文件夹而不是文件")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _refuse(file, "file not found", "找不到文件") from None
    except OSError as exc:
        raise _refuse(
            file, f"cannot read the file: {exc.strerror}", f"无法读取文件：{exc.strerror}"
        ) from None
    if not data.strip():
        raise _refuse(file, "the file is empty", "文件为空")
    if path.suffix.lower() in EXCEL_SUFFIXES or data.startswith(_ZIP_MAGIC):
        table = _read_excel(data, file, sheet)
    else:
        table = _read_csv(data, file)
    table.frame.columns = [str(c).strip().lstrip("\ufeff") for c in table.frame.columns]
    for column in table.frame.columns:
        table.frame[column] = _stripped(table.frame[column])
    _check_columns(table, required, optional)
    return table
