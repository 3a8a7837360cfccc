"""Feeds: daily counts by county x source x syndrome, from a file, JSON records or a line list.

Why one validator for every way in: a count that reaches detection must be a known county, a
known source and syndrome, a date not in the future, a non-negative whole number or an explicit
"missing", and appear once. Files, JSON posted by a reporting system and case line lists all end
as the same validated frame, so the three ways in cannot disagree about what is acceptable. Every
problem of a file is reported at once (file, line, field, reason in Chinese and English) and
nothing is written when any problem exists.

Missing is not zero: an empty ``count`` (or ``NA``) says the source reported that it has no
figure for that day; a day the source did not send at all is also missing. Both become NaN,
which the detection methods treat as missing (no signal), while ``0`` is a real zero.

Case line lists (NNDRS-like, one row per reported case) carry the resident identity number; see
:func:`count_line_list`: numbers are validated, duplicates of the same person and disease merged,
identities pseudonymised with a keyed hash and then only the counts leave this module. No error
message ever quotes an identity number or a name.

>>> import pandas as pd
>>> rows = [{"date": "2024-03-01", "region": "210302", "source": "fever_clinic",
...          "syndrome": "fever", "count": "12"}]
>>> validate_counts(pd.DataFrame(rows), regions={"210302"}, today="2024-03-02")["count"].tolist()
[12.0]
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.data.tables import read_table
from healthwatch.errors import InputError, Problem
from healthwatch.warning.catalogue import SOURCES, SYNDROMES
from healthwatch.warning.identity import pseudonym_key, pseudonymise, validate_id_number

__all__ = [
    "COUNT_COLUMNS",
    "LINE_LIST_COLUMNS",
    "count_line_list",
    "read_counts_file",
    "read_line_list",
    "records_frame",
    "validate_counts",
]

COUNT_COLUMNS = ("date", "region", "source", "syndrome", "count")
#: line lists: id_number and the case's date, county and disease; name and sex are accepted
#: (and dropped at once) because NNDRS exports carry them
LINE_LIST_COLUMNS = ("id_number", "date", "region", "syndrome")
LINE_LIST_OPTIONAL = ("source", "name", "sex", "age", "case_id")
MISSING_MARKERS = frozenset({"", "na", "n/a", "null", "missing", "缺失", "缺报"})
MAX_PROBLEMS = 200


def _today(today: date | str | None) -> np.datetime64:
    return np.datetime64(str(today or date.today()), "D")


def _shown(value: str) -> str:
    """A rejected cell as quoted in a message, unless it could be an identity number.

    A misplaced column can put an identity number where a region or code belongs; such a cell
    (ten or more digits) is never echoed.
    """
    if sum(c.isdigit() for c in value) >= 10:
        return "<withheld: looks like an identity number / 疑似身份证号，不予显示>"
    return repr(value)


def _problem(en: str, zh: str, file: str | None, line: int, field: str) -> Problem:
    return Problem(en, zh, file=file, line=line, field=field)


def validate_counts(
    frame: pd.DataFrame,
    *,
    regions: Collection[str],
    today: date | str | None = None,
    file: str | None = None,
    first_line: int = 2,
    allow_duplicates: bool = False,
) -> pd.DataFrame:
    """The rows as a typed frame, or InputError listing every problem.

    ``frame`` has string cells in columns ``date, region, source, syndrome, count``; ``regions``
    are the county adcodes that may report. Returns columns date (datetime64[D]), region, source,
    syndrome (str) and count (float64, NaN = reported missing). ``allow_duplicates`` is for
    line lists, where every case is a row.
    """
    problems: list[Problem] = []
    missing_cols = [c for c in COUNT_COLUMNS if c not in frame.columns]
    if missing_cols:
        raise InputError(
            [
                _problem(f"required column {c!r} is missing", f"缺少必需的列 {c!r}", file, 1, c)
                for c in missing_cols
            ]
        )
    n = len(frame)
    lines = np.arange(first_line, first_line + n)
    text = {c: frame[c].astype(str).str.strip() for c in COUNT_COLUMNS}

    dates = pd.to_datetime(text["date"], format="%Y-%m-%d", errors="coerce")
    bad_date = dates.isna().to_numpy()
    for i in np.flatnonzero(bad_date):
        problems.append(
            _problem(
                f"not a date in the form YYYY-MM-DD: {_shown(text['date'].iloc[i])}",
                f"日期格式应为 YYYY-MM-DD：{_shown(text['date'].iloc[i])}",
                file,
                int(lines[i]),
                "date",
            )
        )
    day = dates.to_numpy().astype("datetime64[D]")
    limit = _today(today)
    future = ~bad_date & (day > limit)
    for i in np.flatnonzero(future):
        problems.append(
            _problem(
                f"date {text['date'].iloc[i]} is in the future (today is {limit})",
                f"日期 {text['date'].iloc[i]} 晚于今天（{limit}）",
                file,
                int(lines[i]),
                "date",
            )
        )
    known_regions = set(regions)
    for column, known, en, zh in (
        ("region", known_regions, "unknown county adcode", "未知的区县代码"),
        ("source", set(SOURCES), "unknown source", "未知的数据来源"),
        ("syndrome", set(SYNDROMES), "unknown syndrome or disease", "未知的症候群或病种"),
    ):
        bad = ~text[column].isin(known).to_numpy()
        hint_en = hint_zh = ""
        if column != "region":
            sample = ", ".join(sorted(known)[:12])
            hint_en = f" (known: {sample}, ...; see `healthwatch warning catalogue`)"
            hint_zh = f"（可用：{sample} 等；见 `healthwatch warning catalogue`）"
        for i in np.flatnonzero(bad):
            value = text[column].iloc[i]
            problems.append(
                _problem(
                    f"{en} {_shown(value)}{hint_en}",
                    f"{zh} {_shown(value)}{hint_zh}",
                    file,
                    int(lines[i]),
                    column,
                )
            )
    raw = text["count"]
    is_missing = raw.str.lower().isin(MISSING_MARKERS).to_numpy()
    numbers = pd.to_numeric(raw.where(~is_missing), errors="coerce").to_numpy(dtype=float)
    bad_count = ~is_missing & (
        np.isnan(numbers) | (numbers < 0) | (numbers != np.round(numbers)) | (numbers > 1e9)
    )
    for i in np.flatnonzero(bad_count):
        negative = numbers[i] < 0
        problems.append(
            _problem(
                ("count must not be negative" if negative else "count must be a whole number")
                + f", got {_shown(raw.iloc[i])} (leave it empty if the figure is missing)",
                ("计数不能为负数" if negative else "计数必须为整数")
                + f"，实际为 {_shown(raw.iloc[i])}（数据缺失请留空）",
                file,
                int(lines[i]),
                "count",
            )
        )
    key = pd.DataFrame(
        {"d": text["date"], "r": text["region"], "s": text["source"], "y": text["syndrome"]}
    )
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any() and not allow_duplicates:
        first_of = key[dup].reset_index().groupby(["d", "r", "s", "y"])["index"].transform("min")
        for pos, first_pos in zip(np.flatnonzero(dup), first_of.to_numpy(), strict=True):
            if pos == first_pos:
                continue
            problems.append(
                _problem(
                    f"duplicated row: same date, region, source and syndrome as line "
                    f"{int(lines[first_pos])}",
                    f"重复的行：日期、区县、来源和症候群与第 {int(lines[first_pos])} 行相同",
                    file,
                    int(lines[pos]),
                    "date,region,source,syndrome",
                )
            )
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        more = len(problems) - MAX_PROBLEMS
        shown = problems[:MAX_PROBLEMS]
        if more > 0:
            shown.append(
                Problem(f"... and {more} more problems", f"……另有 {more} 处问题", file=file)
            )
        raise InputError(shown)
    return pd.DataFrame(
        {
            "date": day,
            "region": text["region"].to_numpy(),
            "source": text["source"].to_numpy(),
            "syndrome": text["syndrome"].to_numpy(),
            "count": np.where(is_missing, np.nan, numbers),
        }
    )


def read_counts_file(
    path: Path | str, *, regions: Collection[str], today: date | str | None = None
) -> pd.DataFrame:
    """Read and validate a ``date,region,source,syndrome,count`` CSV or .xlsx file."""
    table = read_table(path, required=COUNT_COLUMNS, optional=())
    return validate_counts(
        table.frame, regions=regions, today=today, file=table.file, first_line=table.first_line
    )


def records_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """JSON records (``[{"date": ..., "region": ..., ...}]``) as string cells for validation.

    A count of ``null`` means reported missing; numbers become their text.
    """
    rows = []
    for record in records:
        row = {}
        for column in COUNT_COLUMNS:
            value = record.get(column)
            row[column] = "" if value is None else str(value)
        unknown = set(record) - set(COUNT_COLUMNS)
        if unknown:
            row["__unknown__"] = ",".join(sorted(unknown))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*COUNT_COLUMNS, "__unknown__"], dtype=object).fillna("")
    bad = frame["__unknown__"] != ""
    if bad.any():
        raise InputError(
            [
                Problem(
                    f"unknown field(s) {frame['__unknown__'].iloc[i]}; expected "
                    + ", ".join(COUNT_COLUMNS),
                    f"未知字段 {frame['__unknown__'].iloc[i]}；应为 " + "、".join(COUNT_COLUMNS),
                    file="records",
                    line=int(i) + 1,
                )
                for i in np.flatnonzero(bad.to_numpy())
            ]
        )
    return frame.drop(columns="__unknown__")


def read_line_list(path: Path | str) -> tuple[pd.DataFrame, str, int]:
    """A line-list file's cells, its display name and the file line of its first row."""
    table = read_table(path, required=LINE_LIST_COLUMNS, optional=LINE_LIST_OPTIONAL)
    return table.frame, table.file, table.first_line


def count_line_list(
    frame: pd.DataFrame,
    *,
    regions: Collection[str],
    key: str | bytes | None = None,
    today: date | str | None = None,
    file: str | None = None,
    first_line: int = 2,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Daily counts from a case line list, and what was done (rows, duplicates merged).

    Steps: refuse when no key is configured (before looking at any row); validate every
    identity number (GB 11643), date, county and disease; replace each number by its keyed
    pseudonym and drop names; merge reports of the same person and disease (the earliest date
    and its county count, as NNDRS deduplicates); count per date, county, source and disease.
    The line list is taken as complete for the days it spans: every listed county gets a zero
    on days without a case. Error messages name lines and fields, never the numbers.
    """
    secret = pseudonym_key(key)
    problems: list[Problem] = []
    frame = frame.copy()
    if "source" not in frame.columns:
        frame["source"] = "notifiable"
    frame["source"] = frame["source"].replace("", "notifiable")
    lines = np.arange(first_line, first_line + len(frame))
    ids = frame["id_number"].astype(str).str.strip().str.upper()
    pseudonyms = np.empty(len(frame), dtype=object)
    limit = date.fromisoformat(str(today)) if today else None
    for i, value in enumerate(ids):
        reason = validate_id_number(value, limit)
        if reason is not None:
            problems.append(
                _problem(
                    f"malformed resident identity number: {reason[0]}",
                    f"居民身份证号码有误：{reason[1]}",
                    file,
                    int(lines[i]),
                    "id_number",
                )
            )
        else:
            pseudonyms[i] = pseudonymise(value, secret)
    del ids
    counts_frame = frame[["date", "region", "source", "syndrome"]].assign(count="1")
    try:
        cases = validate_counts(
            counts_frame,
            regions=regions,
            today=today,
            file=file,
            first_line=first_line,
            allow_duplicates=True,  # one row per case: many per county-day
        )
    except InputError as exc:
        problems.extend(exc.problems)
        cases = None
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise InputError(problems[:MAX_PROBLEMS])
    assert cases is not None
    cases["person"] = pseudonyms
    cases = cases.sort_values("date", kind="stable")
    merged = cases.drop_duplicates(["person", "syndrome"], keep="first")
    stats = {"rows": len(frame), "duplicates_merged": len(cases) - len(merged)}
    daily = merged.groupby(["date", "region", "source", "syndrome"]).size().rename("count")
    days = pd.date_range(merged["date"].min(), merged["date"].max()).values.astype("datetime64[D]")
    combos = merged[["source", "syndrome"]].drop_duplicates().itertuples(index=False)
    full = pd.MultiIndex.from_tuples(
        [(d, r, s, y) for s, y in combos for d in days for r in sorted(set(merged["region"]))],
        names=["date", "region", "source", "syndrome"],
    )
    out = daily.reindex(full, fill_value=0).astype(float).reset_index()
    out["date"] = out["date"].to_numpy().astype("datetime64[D]")
    stats["cases"] = len(merged)
    return out, stats
