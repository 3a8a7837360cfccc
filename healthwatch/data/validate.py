"""Checking reported values before anything is written, vectorised over the whole file.

Every importer turns its file into an :class:`Incoming` table (region, period, element, raw
value, comment, source, and where each row came from). :func:`validate` then checks all of it
at once with pandas/numpy, so a million values take about a second:

errors (the whole file is rejected, every problem listed with file, line, column and code):
  unknown region, period or element codes; a period type the element is not collected for; text,
  blanks, NaN or infinity where a number belongs; negative or fractional counts; percentages
  outside 0–100; numerator > denominator for a proportion; two rows for the same region, period
  and element with different values; a value in a locked (approved) period; a violated
  validation rule of importance ``high``.

warnings (imported, and kept with the import with their reason):
  validation rules of importance medium/low; values outside an indicator's plausible bounds;
  outliers by the modified z-score (Iglewicz & Hoaglin: ``0.6745 (x - median) / MAD``, flagged
  when ``|z| > 3.5``) against the region's own history of the indicator and against its peers
  (the regions of the same level, county or city, in the same period: a city's 4 to 13
  counties are too few for a stable median absolute deviation); identical duplicate rows.

The checks of rules, proportions and outliers see the file's values *over* the values already
stored, so a file that brings only the numerator is checked against the stored denominator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.data.elements import OPERATOR_SYMBOL, Definitions, ValidationRule
from healthwatch.data.periods import period_types
from healthwatch.errors import InputError, Problem

__all__ = ["Checked", "Context", "Incoming", "compute_indicators", "validate"]

Z_THRESHOLD = 3.5
MIN_HISTORY = 4  # values of the same indicator needed before an outlier can be judged
MIN_PEERS = 5

FIELDS = ("region", "period", "element", "value")


@dataclass
class Incoming:
    """Rows read from a file, all cells still strings; ``line`` locates each row in the file.

    ``fields`` names the file's column for each logical field (``orgunit`` for ``region`` in a
    DHIS2 CSV) so that a problem names the column the user sees; a ``path`` column, where present,
    replaces it (a JSON path inside a DHIS2 or FHIR document).
    """

    frame: pd.DataFrame
    file: str
    format: str
    fields: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    stripped: bool = False  # cells already stripped (read_table does it)

    def __post_init__(self) -> None:
        for col in ("comment", "source"):
            if col not in self.frame:
                self.frame[col] = ""
        if "line" not in self.frame:
            self.frame["line"] = np.arange(2, len(self.frame) + 2)

    def column(self, name: str) -> str:
        return self.fields.get(name, name)


@dataclass
class Context:
    """What the database knows: regions (adcode -> parent), stored values and locked periods."""

    regions: dict[str, str | None]
    stored: pd.DataFrame  # region, period, element, value (current, non-null)
    locked: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def empty(cls, regions: dict[str, str | None]) -> Context:
        return cls(regions, pd.DataFrame(columns=["region", "period", "element", "value"]))


@dataclass
class Checked:
    """A validated file: one row per (region, period, element) with a float value, and warnings."""

    values: pd.DataFrame
    warnings: list[dict[str, Any]]
    file: str
    format: str


class _Problems:
    """Collects problems as small frames (one per check), rendered once at the end."""

    def __init__(self, incoming: Incoming) -> None:
        self.incoming = incoming
        self.parts: list[tuple[pd.Series, pd.Series, str, str, str]] = []
        self.extra: list[Problem] = []

    def add(self, mask: pd.Series, field: str, en: str, zh: str) -> None:
        """Rows where ``mask`` is true have a problem in ``field``; {code}/{value} are filled in."""
        if mask.any():
            rows = self.incoming.frame.loc[mask]
            self.parts.append((rows.index.to_series(), rows["line"], field, en, zh))

    def problems(self) -> list[Problem]:
        frame = self.incoming.frame
        has_path = "path" in frame
        out: list[tuple[int, int, Problem]] = []
        for index, lines, fld, en, zh in self.parts:
            column = self.incoming.column(fld)
            for i, line in zip(index.tolist(), lines.tolist(), strict=True):
                row = frame.loc[i]
                fmt = {
                    "code": row["element"],
                    "value": row["value"],
                    "region": row["region"],
                    "period": row["period"],
                }
                where = f"{row['path']}.{column}" if has_path and row["path"] else column
                ln = int(line) if line and line > 0 else None
                problem = Problem(en.format(**fmt), zh.format(**fmt), self.incoming.file, ln, where)
                out.append((ln or 0, int(i), problem))
        out.sort(key=lambda t: (t[0], t[1]))
        return [p for _, _, p in out] + self.extra


def _parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Floats, and masks of blank cells and of cells that are not finite numbers."""
    text = raw
    blank = text.eq("")
    number = pd.to_numeric(text.where(~blank, None), errors="coerce").astype(float)
    not_number = ~blank & ~np.isfinite(number)
    return number, blank, not_number


def _indicator_bounds(defs: Definitions) -> dict[str, tuple[str, float, float]]:
    """Code stored as a figure (indicator code or direct element) -> (indicator, low, high)."""
    out: dict[str, tuple[str, float, float]] = {}
    for ind in defs.indicators.values():
        if ind.bounds is None:
            continue
        out[ind.code] = (ind.code, ind.bounds[0], ind.bounds[1])
        if ind.value is not None:
            out[ind.value] = (ind.code, ind.bounds[0], ind.bounds[1])
    return out


def _percent_codes(defs: Definitions) -> set[str]:
    codes = {i.code for i in defs.indicators.values() if i.unit == "percent"}
    codes |= {i.value for i in defs.indicators.values() if i.unit == "percent" and i.value}
    return codes


def _objects(column: pd.Series) -> np.ndarray:
    """The column as a NumPy object array: pandas factorises that about twice as fast as its
    own string dtype (the hashing is the same, the per-value checks are not)."""
    return column.to_numpy(dtype=object)


class _Codes:
    """A string column factorised once: per-row codes and the distinct values.

    A file of a million values has a few hundred distinct regions, periods and elements; every
    membership test and lookup is done on those and spread to the rows by integer indexing.
    """

    def __init__(self, column: pd.Series) -> None:
        self.index = column.index
        self.codes, uniques = pd.factorize(_objects(column), sort=True)
        self.uniques = [str(u) for u in uniques]

    def isin(self, values: set[str] | Any) -> pd.Series:
        table = np.array([u in values for u in self.uniques] + [False])
        return pd.Series(table[self.codes], index=self.index)

    def map(self, mapping: dict[str, Any], default: Any = None) -> pd.Series:
        table = np.array([mapping.get(u, default) for u in self.uniques] + [default], dtype=object)
        return pd.Series(table[self.codes], index=self.index)

    def eq(self, value: str) -> pd.Series:
        return self.isin({value})


def _row_checks(
    incoming: Incoming, defs: Definitions, ctx: Context, p: _Problems, c: dict[str, _Codes]
) -> pd.Series:
    """Per-row checks; returns the parsed values (NaN where invalid)."""
    f = incoming.frame
    for col in ("region", "period", "element"):
        p.add(c[col].eq(""), col, "empty cell", "空单元格")
    region_ok = c["region"].isin(ctx.regions.keys())
    p.add(
        ~region_ok & ~c["region"].eq(""),
        "region",
        "unknown region code {region} (use a GB/T 2260 adcode of a stored region)",
        "未知的行政区划代码 {region}（请使用已载入的 GB/T 2260 代码）",
    )
    kinds = period_types(pd.Series(c["period"].uniques, dtype=object))
    ptype = c["period"].map(dict(zip(c["period"].uniques, kinds.tolist(), strict=True)))
    p.add(
        ptype.isna() & ~c["period"].eq(""),
        "period",
        "not a period: {period} (write 2024, 2024Q1 or 202401)",
        "不是有效的期间：{period}（应写作 2024、2024Q1 或 202401）",
    )
    known = c["element"].isin(defs.storable_codes())
    p.add(
        ~known & ~c["element"].eq(""),
        "element",
        "unknown data element or indicator code {code}",
        "未知的数据项或指标编码 {code}",
    )
    allowed_ok = ~c["element"].isin(set(defs.elements)) | ptype.isna()
    for kind in ("year", "quarter", "month"):
        collected = {code for code, e in defs.elements.items() if kind in e.periods}
        allowed_ok |= ptype.eq(kind) & c["element"].isin(collected)
    p.add(
        known & ~allowed_ok,
        "period",
        "{code} is not collected for periods like {period}",
        "数据项 {code} 不按 {period} 这样的期间收集",
    )
    number, blank, not_number = _parse_numbers(f["value"])
    p.add(blank, "value", "missing value for {code}", "{code} 缺少数值")
    p.add(
        not_number,
        "value",
        "not a number: {value!r} for {code}",
        "{code} 的值 {value!r} 不是数字",
    )
    kind = c["element"].map({code: e.kind for code, e in defs.elements.items()})
    ok = np.isfinite(number)
    p.add(
        kind.eq("count") & ok & ((number < 0) | (number != np.round(number))),
        "value",
        "{code} is a count: it must be a whole number >= 0, not {value}",
        "{code} 是计数，应为不小于 0 的整数，而不是 {value}",
    )
    p.add(
        kind.eq("amount") & ok & (number < 0),
        "value",
        "{code} must not be negative ({value})",
        "{code} 不能为负数（{value}）",
    )
    pct = c["element"].isin(_percent_codes(defs)) & ok
    p.add(
        pct & ((number < 0) | (number > 100)),
        "value",
        "{code} is a percentage: {value} is outside 0-100",
        "{code} 是百分比，{value} 超出 0–100",
    )
    locked = pd.Series(False, index=f.index)
    if ctx.locked:
        regions_locked = {r for r, _ in ctx.locked}
        maybe = c["region"].isin(regions_locked)
        if maybe.any():
            sub = f.loc[maybe, ["region", "period"]]
            keys = set(ctx.locked)
            hit = [
                (r, per) in keys or (r, per[:4]) in keys
                for r, per in zip(sub["region"], sub["period"], strict=True)
            ]
            locked.loc[sub.index] = hit
    p.add(
        locked,
        "period",
        "region {region} period {period} is approved and locked; ask an administrator to unlock",
        "{region} 的 {period} 期数据已审核并锁定，须由管理员解锁后才能修改",
    )
    return number


def _duplicates(
    incoming: Incoming, number: pd.Series, p: _Problems, c: dict[str, _Codes]
) -> tuple[pd.Series, int]:
    """Rows repeating a key: an error when values differ; identical repeats are dropped."""
    f = incoming.frame
    n_p = len(c["period"].uniques) + 1
    n_e = len(c["element"].uniques) + 1
    key = pd.Series(
        (c["region"].codes.astype(np.int64) * n_p + c["period"].codes) * n_e + c["element"].codes,
        index=f.index,
    )
    dup = key.duplicated(keep=False)
    if not dup.any():
        return pd.Series(True, index=f.index), 0
    values = pd.DataFrame({"k": key[dup], "v": number[dup]})
    spread = values.groupby("k")["v"].transform(lambda s: s.nunique(dropna=False))
    conflicting = pd.Series(False, index=f.index)
    conflicting.loc[spread.index] = spread.to_numpy() > 1
    p.add(
        conflicting,
        "value",
        "{region} {period} {code} appears more than once with different values",
        "{region} {period} {code} 出现多次且数值不同",
    )
    keep = ~key.duplicated(keep="first")
    return keep, int((dup & ~conflicting).sum() - (dup & ~conflicting & keep).sum())


def _merged(values: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """File values over stored ones: region, period, element, value, from_file."""
    mine = values[["region", "period", "element", "value"]].assign(from_file=True)
    stored = ctx.stored
    if len(stored):
        stored = stored[["region", "period", "element", "value"]].assign(from_file=False)
        both = pd.concat([stored, mine], ignore_index=True)
        both = both.drop_duplicates(["region", "period", "element"], keep="last")
        return both
    return mine


def _wide(merged: pd.DataFrame, columns: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, from_file) pivoted to one row per (region, period), one column per element.

    Filled through integer codes rather than ``pivot_table`` (a million string keys would be
    hashed several times over); when a key repeats, the last row wins, as in :func:`_merged`.
    """
    sub = merged[merged["element"].isin(columns)]
    if sub.empty:
        empty = pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=["region", "period"]))
        return empty, empty
    r_codes, r_uni = pd.factorize(_objects(sub["region"]))
    p_codes, p_uni = pd.factorize(_objects(sub["period"]))
    e_codes, e_uni = pd.factorize(_objects(sub["element"]))
    rp = r_codes.astype(np.int64) * len(p_uni) + p_codes
    rp_codes, rp_uni = pd.factorize(rp, sort=True)
    vals = np.full((len(rp_uni), len(e_uni)), np.nan)
    vals[rp_codes, e_codes] = sub["value"].to_numpy(dtype=float)
    touched = np.zeros((len(rp_uni), len(e_uni)), dtype=bool)
    touched[rp_codes, e_codes] = sub["from_file"].to_numpy(dtype=bool)
    index = pd.MultiIndex.from_arrays(
        [
            np.asarray(r_uni, dtype=object)[rp_uni // len(p_uni)],
            np.asarray(p_uni, dtype=object)[rp_uni % len(p_uni)],
        ],
        names=["region", "period"],
    )
    cols = pd.Index([str(e) for e in e_uni], name="element")
    return pd.DataFrame(vals, index=index, columns=cols), pd.DataFrame(
        touched, index=index, columns=cols
    )


def compute_indicators(
    wide: pd.DataFrame, defs: Definitions, codes: list[str] | None = None
) -> pd.DataFrame:
    """Indicator values from a wide table of elements: long frame region, period, indicator, value.

    A rate is numerator / denominator x factor; it is missing where either is missing or the
    denominator is 0. Reported indicator figures (a stored value under the indicator's own code)
    are not used here: this is the figure computed from counts.
    """
    frames = []
    for ind in defs.indicators.values():
        if codes is not None and ind.code not in codes:
            continue
        if any(e not in wide.columns for e in ind.elements()):
            continue
        if ind.value is not None:
            value = wide[ind.value]
        elif ind.denominator is None:
            value = wide[ind.numerator]
        else:
            den = wide[ind.denominator].astype(float)
            value = wide[ind.numerator].astype(float) / den.where(den > 0) * ind.factor
        arr = value.to_numpy(dtype=float)
        rows = np.flatnonzero(~np.isnan(arr))
        frames.append(pd.DataFrame({"row": rows, "indicator": ind.code, "value": arr[rows]}))
    if not frames:
        return pd.DataFrame(columns=["region", "period", "indicator", "value", "row"])
    out = pd.concat(frames, ignore_index=True)
    rows = out["row"].to_numpy()
    out["region"] = wide.index.get_level_values(0).to_numpy()[rows]
    out["period"] = wide.index.get_level_values(1).to_numpy()[rows]
    return out[["region", "period", "indicator", "value", "row"]]


def _side(wide: pd.DataFrame, terms: list[tuple[str | None, float]]) -> tuple[Any, Any, Any]:
    """Sum of a rule side with missing as 0, and masks any-missing / all-missing."""
    total = np.zeros(len(wide))
    present = []
    for code, weight in terms:
        if code is None:
            total = total + weight
            continue
        col = wide[code] if code in wide.columns else pd.Series(np.nan, index=wide.index)
        arr = col.to_numpy(dtype=float)
        present.append(~np.isnan(arr))
        total = total + np.nan_to_num(arr) * weight
    if not present:
        ones = np.ones(len(wide), dtype=bool)
        return total, ~ones, ~ones
    stack = np.vstack(present)
    return total, ~stack.all(axis=0), ~stack.any(axis=0)


def _rule_violations(rule: ValidationRule, wide: pd.DataFrame) -> np.ndarray:
    left, left_any, left_all = _side(wide, rule.side("left"))
    right, right_any, right_all = _side(wide, rule.side("right"))
    op = rule.operator
    if op == "compulsory_pair":
        return left_all != right_all  # one side reported, the other not
    if op == "exclusive_pair":
        return ~left_all & ~right_all
    if rule.missing_value_strategy == "SKIP_IF_ANY_VALUE_MISSING":
        skip = left_any | right_any
    elif rule.missing_value_strategy == "SKIP_IF_ALL_VALUES_MISSING":
        skip = left_all & right_all
    else:
        skip = np.zeros(len(wide), dtype=bool)
    tol = 1e-9 * np.maximum(1.0, np.abs(right))
    ok = {
        "equal_to": np.abs(left - right) <= tol,
        "not_equal_to": np.abs(left - right) > tol,
        "greater_than": left > right,
        "greater_than_or_equal_to": left >= right - tol,
        "less_than": left < right,
        "less_than_or_equal_to": left <= right + tol,
    }[op]
    return ~skip & ~ok


def _cross_checks(
    checked: pd.DataFrame, incoming: Incoming, defs: Definitions, ctx: Context
) -> tuple[list[Problem], list[dict[str, Any]], pd.DataFrame, pd.DataFrame]:
    """Proportions and validation rules on file-over-stored values."""
    merged = _merged(checked, ctx)
    needed: set[str] = set()
    for ind in defs.indicators.values():
        needed.update(ind.elements())
    for rule in defs.rules:
        needed.update(rule.elements())
    wide, touched = _wide(merged, needed)
    errors: list[Problem] = []
    warnings: list[dict[str, Any]] = []
    if wide.empty:
        return errors, warnings, wide, touched

    def first_lines(codes: list[str], keys: pd.MultiIndex) -> list[int | None]:
        """The first file line of each (region, period) among rows of ``codes``."""
        if len(keys) == 0:  # the usual case: no problem found, nothing to look up
            return []
        sub = checked[checked["element"].isin(codes)]
        first = sub.groupby(["region", "period"])["line"].min().reindex(keys)
        return [int(x) if pd.notna(x) and x > 0 else None for x in first.tolist()]

    for ind in defs.indicators.values():
        if not ind.proportion or ind.numerator is None or ind.denominator is None:
            continue
        if ind.numerator not in wide or ind.denominator not in wide:
            continue
        num, den = wide[ind.numerator], wide[ind.denominator]
        hit = (num > den) & (touched[ind.numerator] | touched[ind.denominator])
        keys = hit[hit].index
        lines = first_lines([ind.numerator, ind.denominator], keys)
        for (region, period), ln in zip(keys, lines, strict=True):
            n, d = num.loc[(region, period)], den.loc[(region, period)]
            errors.append(
                Problem(
                    f"{region} {period}: numerator {ind.numerator} ({n:g}) exceeds denominator "
                    f"{ind.denominator} ({d:g}) of {ind.code}",
                    f"{region} {period}：指标 {ind.code} 的分子 {ind.numerator}（{n:g}）大于分母 "
                    f"{ind.denominator}（{d:g}）",
                    incoming.file,
                    ln,
                    incoming.column("value"),
                )
            )
    for rule in defs.rules:
        codes = sorted(rule.elements())
        cols = [c for c in codes if c in touched.columns]
        if not cols:
            continue
        mine = touched[cols].any(axis=1).to_numpy()
        bad = _rule_violations(rule, wide) & mine
        keys = wide.index[bad]
        lines = first_lines(codes, keys)
        for (region, period), ln in zip(keys, lines, strict=True):
            row = wide.loc[(region, period)]
            text_zh = _rule_text(rule, defs, row, "zh")
            text_en = _rule_text(rule, defs, row, "en")
            en = (
                f"{region} {period}: validation rule {rule.id} violated ({rule.name_en}: {text_en})"
            )
            zh = f"{region} {period}：违反校验规则 {rule.id}（{rule.name_zh}：{text_zh}）"
            if rule.importance == "high":
                errors.append(Problem(en, zh, incoming.file, ln, incoming.column("value")))
            else:
                warnings.append(
                    _warning("rule", region, period, rule.id, en, zh, ln, rule.importance)
                )
    return errors, warnings, wide, touched


def _rule_text(rule: ValidationRule, defs: Definitions, row: pd.Series, lang: str) -> str:
    """A rule as a reader can check it: element names and this region-period's values.

    Why: the rule's own expression (``#{live_births} 与 #{deliveries}``) is configuration
    syntax; a reporter needs to see which of their figures disagree, in their language.
    """
    zh = lang == "zh"

    def term(code: str | None, weight: float) -> str:
        if code is None:
            return f"{weight:g}"
        element = defs.elements.get(code)
        name = (element.name_zh if zh else element.name_en) if element is not None else code
        value = row.get(code) if code in row.index else None
        if value is None or pd.isna(value):
            shown = "未填报" if zh else "not reported"
        else:
            shown = f"{float(value):g}"
        text = f"{name}（{shown}）" if zh else f"{name} ({shown})"
        return text if weight == 1 else f"{text} × {weight:g}"

    left = " + ".join(term(c, w) for c, w in rule.side("left"))
    right = " + ".join(term(c, w) for c, w in rule.side("right"))
    if rule.operator == "compulsory_pair":
        return f"{left}须与{right}同时填报" if zh else f"{left} must be reported with {right}"
    if rule.operator == "exclusive_pair":
        return f"{left}不得与{right}同时填报" if zh else f"{left} must not be reported with {right}"
    return f"{left} {OPERATOR_SYMBOL[rule.operator]} {right}"


def _warning(
    kind: str,
    region: str,
    period: str,
    code: str,
    en: str,
    zh: str,
    line: int | None,
    importance: str = "medium",
) -> dict[str, Any]:
    return {
        "kind": kind,
        "region": region,
        "period": period,
        "code": code,
        "line": line,
        "importance": importance,
        "message_en": en,
        "message_zh": zh,
    }


def modified_z(values: pd.Series, groups: list[pd.Series]) -> pd.Series:
    """Modified z-score of each value within its group: 0.6745 (x - median) / MAD.

    NaN where every value of the group is the same (nothing to compare against).
    """
    grouped = values.groupby(groups)
    median = grouped.transform("median")
    mad = (values - median).abs().groupby(groups).transform("median")
    z = 0.6745 * (values - median) / mad.where(mad > 0)
    # MAD = 0 (more than half the values equal): the mean absolute deviation scaled to the
    # standard deviation of a normal (x 1.253314) stands in, as commonly done after Iglewicz.
    mean_ad = (values - median).abs().groupby(groups).transform("mean")
    fallback = (values - median) / (1.253314 * mean_ad.where(mean_ad > 0))
    return z.where(mad > 0, fallback)


def _levels(adcodes: pd.Series) -> pd.Series:
    """province / city / county from the GB/T 2260 pattern (xx0000, xxxx00, other)."""
    a = adcodes.astype(str)
    return pd.Series(
        np.where(
            a.str.endswith("0000"), "province", np.where(a.str.endswith("00"), "city", "county")
        ),
        index=adcodes.index,
    )


def _outliers(
    wide: pd.DataFrame,
    touched: pd.DataFrame,
    checked: pd.DataFrame,
    defs: Definitions,
    ctx: Context,
) -> list[dict[str, Any]]:
    """Bounds and modified z-scores of the indicators computed from the touched rows."""
    ind = compute_indicators(wide, defs)
    # reported indicator figures and direct values are judged as they are
    direct = checked[checked["element"].isin(set(defs.indicators))][
        ["region", "period", "element", "value"]
    ].rename(columns={"element": "indicator"})
    if len(ind) == 0 and len(direct) == 0:
        return []
    touched_any = touched.any(axis=1).to_numpy()
    ind["touched"] = touched_any[ind["row"].to_numpy(dtype=np.int64)]
    ind = ind.drop(columns="row")
    ind["computed"] = True
    direct = direct.assign(touched=True, computed=False)
    direct = direct[
        ~direct["indicator"].isin({i.code for i in defs.indicators.values() if i.direct})
    ]
    frame = pd.concat([ind, direct], ignore_index=True)
    frame["value"] = frame["value"].astype(float)
    out: list[dict[str, Any]] = []
    mine = frame[frame["touched"]]
    bounds = {i.code: i.bounds for i in defs.indicators.values() if i.bounds is not None}
    low = mine["indicator"].map({c: b[0] for c, b in bounds.items()}).fillna(-np.inf)
    high = mine["indicator"].map({c: b[1] for c, b in bounds.items()}).fillna(np.inf)
    outside = (mine["value"] < low) | (mine["value"] > high)
    for row, lo, hi in zip(
        mine[outside].itertuples(index=False), low[outside], high[outside], strict=True
    ):
        out.append(
            _warning(
                "bounds",
                row.region,
                row.period,
                row.indicator,
                f"{row.region} {row.period}: {row.indicator} = {row.value:.4g} is outside the "
                f"plausible range {lo:g}-{hi:g}",
                f"{row.region} {row.period}：{row.indicator} = {row.value:.4g} 超出合理范围 "
                f"{lo:g}–{hi:g}",
                None,
            )
        )
    computed = frame[frame["computed"]].copy()
    if computed.empty:
        return out
    region = _Codes(computed["region"])
    period = _Codes(computed["period"])
    indicator = pd.factorize(_objects(computed["indicator"]))[0].astype(np.int64)
    kinds = period_types(pd.Series(period.uniques, dtype=object))
    ptype = pd.factorize(np.asarray(kinds.fillna("").tolist(), dtype=object)[period.codes])[0]
    level = pd.factorize(_levels(pd.Series(region.uniques, dtype=object)).to_numpy()[region.codes])[
        0
    ]
    n_i = int(indicator.max()) + 1
    # one integer key per group: faster than grouping by several string columns
    own_key = (region.codes.astype(np.int64) * n_i + indicator) * 4 + ptype
    peer_key = (period.codes.astype(np.int64) * n_i + indicator) * 4 + level
    own = pd.Series(own_key, index=computed.index)
    peer = pd.Series(peer_key, index=computed.index)
    size_own = computed["value"].groupby(own).transform("size")
    z_own = modified_z(computed["value"], [own])
    size_peer = computed["value"].groupby(peer).transform("size")
    z_peer = modified_z(computed["value"], [peer])
    flag_own = computed["touched"] & (size_own >= MIN_HISTORY) & (z_own.abs() > Z_THRESHOLD)
    # a count without a denominator grows with the region's size: no peer comparison
    counts = {i.code for i in defs.indicators.values() if i.numerator and not i.denominator}
    comparable = ~computed["indicator"].isin(counts)
    flag_peer = (
        computed["touched"] & comparable & (size_peer >= MIN_PEERS) & (z_peer.abs() > Z_THRESHOLD)
    )
    for mask, z, kind, en_what, zh_what in (
        (flag_own, z_own, "outlier_history", "its own history", "本地区历年数据"),
        (flag_peer, z_peer, "outlier_peers", "its peers", "同级地区"),
    ):
        for row, score in zip(computed[mask].itertuples(index=False), z[mask], strict=True):
            out.append(
                _warning(
                    kind,
                    row.region,
                    row.period,
                    row.indicator,
                    f"{row.region} {row.period}: {row.indicator} = {row.value:.4g} is an outlier "
                    f"against {en_what} (modified z = {score:.1f})",
                    f"{row.region} {row.period}：{row.indicator} = {row.value:.4g} 与{zh_what}相比"
                    f"异常（修正 z 值 {score:.1f}）",
                    None,
                )
            )
    return out


def validate(incoming: Incoming, defs: Definitions, ctx: Context) -> Checked:
    """Check every row of ``incoming``; raise :class:`InputError` listing all errors, or return.

    Nothing here touches the database: the caller writes the returned values only when this
    returns, so a rejected file writes nothing.
    """
    f = incoming.frame
    if f.empty:
        raise InputError([Problem("the file has no data rows", "文件中没有数据行", incoming.file)])
    for col in FIELDS:
        f[col] = f[col].astype(str)
        if not incoming.stripped:
            f[col] = f[col].str.strip()
    p = _Problems(incoming)
    codes = {col: _Codes(f[col]) for col in ("region", "period", "element")}
    number = _row_checks(incoming, defs, ctx, p, codes)
    keep, identical = _duplicates(incoming, number, p, codes)
    row_problems = p.problems()
    if row_problems:
        raise InputError(row_problems)
    checked = pd.DataFrame(
        {
            "region": f["region"],
            "period": f["period"],
            "element": f["element"],
            "value": number,
            "comment": f["comment"].astype(str),
            "source": f["source"].astype(str),
            "line": f["line"],
        }
    )[keep].reset_index(drop=True)
    errors, warnings, wide, touched = _cross_checks(checked, incoming, defs, ctx)
    if errors:
        raise InputError(errors)
    if identical:
        warnings.append(
            _warning(
                "duplicate_identical",
                "",
                "",
                "",
                f"{identical} repeated rows with the same value were imported once",
                f"{identical} 行重复且数值相同，只导入一次",
                None,
                "low",
            )
        )
    if not wide.empty:
        warnings += _outliers(wide, touched, checked, defs, ctx)
    return Checked(checked, warnings, incoming.file, incoming.format)
