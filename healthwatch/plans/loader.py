"""Load plan files (YAML or JSON) into :class:`~healthwatch.plans.model.Plan`, or reject them whole.

A planning officer edits these files by hand, so every problem is reported with the file, the
line (from YAML's node marks; JSON is read by the same parser), the field path and the reason
in Chinese and English, all at once. Besides the schema, the loader checks what a schema cannot:
duplicate keys and indicator codes, region adcodes, and targets whose kind contradicts the
indicator's direction (an ``at_least`` target on a lower-is-better rate).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from healthwatch.errors import InputError, Problem
from healthwatch.plans.model import TARGET_KINDS, Plan, _TargetBase

BUILTIN_PLAN_IDS = ("liaoning-2021-2025", "anshan-2021-2025")

_ADCODE = re.compile(r"^[1-9]\d{5}$")

Path_ = tuple[str | int, ...]


class _Located:
    """The parsed document plus the line of every node, addressed by its path."""

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = None if mark is None else mark.line + 1
            reason = getattr(exc, "problem", None) or str(exc)
            raise InputError(
                [
                    Problem(
                        f"not valid YAML/JSON: {reason}",
                        f"不是有效的 YAML/JSON：{reason}",
                        file,
                        line,
                    )
                ]
            ) from exc
        self.data: Any = None if node is None else self._build(node, ())

    def _build(self, node: yaml.Node, path: Path_) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                if key in out:
                    self.problems.append(
                        Problem(
                            f"duplicate key {key!r}",
                            f"键 {key!r} 重复",
                            self.file,
                            key_node.start_mark.line + 1,
                            _dotted((*path, key)),
                        )
                    )
                out[key] = self._build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)

    def line_of(self, path: Iterable[str | int]) -> int | None:
        """The line of the deepest existing node on ``path``."""
        p: Path_ = tuple(path)
        while p and p not in self.lines:
            p = p[:-1]
        return self.lines.get(p)


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_problems(exc: ValidationError, doc: _Located) -> list[Problem]:
    problems = []
    for err in exc.errors():
        # Drop the union tag pydantic inserts for discriminated unions (e.g. 'at_least').
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p in _KIND_TAGS)]
        msg = err["msg"]
        problems.append(
            Problem(
                f"{msg}",
                f"字段无效：{msg}",
                doc.file,
                doc.line_of(loc),
                _dotted(loc),
            )
        )
    return problems


_KIND_TAGS = set(TARGET_KINDS)


def parse_plan(
    text: str, file: str = "<plan>", known_adcodes: set[str] | frozenset[str] | None = None
) -> Plan:
    """Parse and validate a plan document given as YAML or JSON text."""
    doc = _Located(text, file)
    problems = list(doc.problems)
    if not isinstance(doc.data, dict):
        problems.append(
            Problem(
                "a plan file must be a mapping", "计划文件必须是键值映射", file, doc.line_of(())
            )
        )
        raise InputError(problems)
    try:
        plan = Plan.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(problems + _pydantic_problems(exc, doc)) from exc
    problems += _semantic_problems(plan, doc, known_adcodes)
    if problems:
        raise InputError(problems)
    return plan


def _semantic_problems(
    plan: Plan, doc: _Located, known_adcodes: set[str] | frozenset[str] | None
) -> list[Problem]:
    problems: list[Problem] = []
    f = doc.file
    if not _ADCODE.match(plan.region):
        problems.append(
            Problem(
                f"region {plan.region!r} is not a 6-digit GB/T 2260 adcode",
                f"地区代码 {plan.region!r} 不是 6 位 GB/T 2260 行政区划代码",
                f,
                doc.line_of(("region",)),
                "region",
            )
        )
    elif known_adcodes is not None and plan.region not in known_adcodes:
        problems.append(
            Problem(
                f"unknown region adcode {plan.region}; use a code from `healthwatch regions list`",
                f"未知的地区代码 {plan.region}，请使用 `healthwatch regions list` 中的代码",
                f,
                doc.line_of(("region",)),
                "region",
            )
        )
    for group in ("indicators", "supplementary_targets"):
        seen: dict[str, int] = {}
        for i, item in enumerate(getattr(plan, group)):
            if item.code in seen:
                problems.append(
                    Problem(
                        f"duplicate code {item.code!r} (first at {group}[{seen[item.code]}])",
                        f"代码 {item.code!r} 重复（首次出现于 {group}[{seen[item.code]}]）",
                        f,
                        doc.line_of((group, i, "code")),
                        f"{group}[{i}].code",
                    )
                )
            else:
                seen[item.code] = i
            targets: list[tuple[Path_, _TargetBase]] = [((group, i, "target"), item.target)]
            targets += [
                ((group, i, "previous_targets", j), t)
                for j, t in enumerate(getattr(item, "previous_targets", []))
            ]
            for path, target in targets:
                wanted = target.implied_direction()
                if item.direction != "band" and wanted is not None and wanted != item.direction:
                    problems.append(
                        Problem(
                            f"target kind {target.kind!r} ({target.text_zh}) asks for "
                            f"{wanted} values but the indicator's direction is "
                            f"{item.direction!r}",
                            f"目标类型 {target.kind}（{target.text_zh}）与指标方向 "
                            f"{item.direction} 相矛盾",
                            f,
                            doc.line_of((*path, "kind")),
                            _dotted((*path, "kind")),
                        )
                    )
    return problems


def load_plan_file(
    path: str | Path, known_adcodes: set[str] | frozenset[str] | None = None
) -> Plan:
    """Load one plan file (``.yaml``, ``.yml`` or ``.json``); InputError if anything is wrong."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            [
                Problem(
                    f"cannot read the file: {exc.strerror}", f"无法读取文件：{exc.strerror}", str(p)
                )
            ]
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem("the file is not UTF-8 text", "文件不是 UTF-8 编码的文本", str(p))]
        ) from exc
    return parse_plan(text, str(p), known_adcodes)


def default_known_adcodes() -> frozenset[str] | None:
    """Known adcodes from the regions module, or None where it is not available."""
    try:
        from healthwatch.regions.hierarchy import known_adcodes
    except ImportError:  # pragma: no cover - the regions module is optional for this layer
        return None
    try:
        return frozenset(known_adcodes())
    except Exception:  # pragma: no cover - boundary data missing: fall back to format checks
        return None


def builtin_plans() -> list[Plan]:
    """The two packaged seed plans, Liaoning first (the parent) then Anshan."""
    known = default_known_adcodes()
    folder = resources.files("healthwatch.plans") / "data"
    plans = []
    for plan_id in BUILTIN_PLAN_IDS:
        resource = folder / f"{plan_id}.yaml"
        plans.append(parse_plan(resource.read_text(encoding="utf-8"), str(resource), known))
    return plans
