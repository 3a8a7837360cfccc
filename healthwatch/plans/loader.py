"""Load plan files (YAML or JSON) into :class:`~healthwatch.plans.model.Plan`, or reject them whole.

A planning officer edits these files by hand, so every problem is reported with the file, the
line (from YAML's node marks; JSON is read by the same parser), the field path and the reason
in Chinese and English, all at once. Besides the schema, the loader checks what a schema cannot:
duplicate keys and indicator codes, region adcodes, targets whose kind contradicts the
indicator's direction (an ``at_least`` target on a lower-is-better rate), and — given the plans
already stored — that a plan's parent exists and the parents do not form a cycle.

A plan file is untrusted input. The parser is PyYAML's safe loader with three more limits, so
that no file can exhaust memory or the stack or crash the reader:

* aliases (``*name``) may only repeat a single value (a source sentence), within a budget: a
  few hundred bytes of nested aliases to lists ("billion laughs") expand to billions of nodes;
* nesting at most :data:`MAX_DEPTH` levels, at most :data:`MAX_NODES` values, files at most
  :data:`MAX_FILE_BYTES`;
* only plain data (text, numbers, true/false, null, lists, mappings): no tags such as
  ``!!binary`` or ``!!python/...``, and no implicit dates (``2020-13-45`` is just text, which the
  schema then refuses where a year is expected).

Files are read as UTF-8 (with or without BOM) or, failing that, GB 18030 (a superset of GBK).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from healthwatch.errors import InputError, Problem
from healthwatch.plans.model import TARGET_KINDS, Plan, _TargetBase

BUILTIN_PLAN_IDS = ("liaoning-2021-2025", "anshan-2021-2025")

_ADCODE = re.compile(r"^[1-9]\d{5}$")

#: Deepest nesting of lists and mappings accepted (a plan needs 5).
MAX_DEPTH = 32
#: Largest plan file accepted (the packaged plans are 22 and 34 kB).
MAX_FILE_BYTES = 1_000_000
#: Most YAML nodes (values, lists, mappings) in one file (the packaged plans have 1,825 and 1,154).
#: The pure-Python parser needs 0.1-0.4 ms a node, so this also bounds the time to refuse.
MAX_NODES = 20_000
#: Encodings tried in order: UTF-8 (a BOM is dropped), then GB 18030 (GBK, GB 2312).
ENCODINGS = ("utf-8-sig", "gb18030")

Path_ = tuple[str | int, ...]

KnownPlans = Mapping[str, str | None]
"""Plans already stored: plan id -> its parent's id (None for a top-level plan)."""

_PLAIN_TAGS = frozenset(
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "seq", "map")
)


class _Refused(Exception):
    """A limit of the plan reader was hit; carries the bilingual reason and the line."""

    def __init__(self, en: str, zh: str, line: int | None) -> None:
        super().__init__(en)
        self.en, self.zh, self.line = en, zh, line


class _PlanLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases or implicit timestamps, with a nesting limit."""

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's class-level registry, replaced whole
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._alias_chars = 0
        self._nodes = 0

    def _check_alias(self, event: yaml.AliasEvent) -> None:
        """An alias may repeat a text (a source sentence), never a list or mapping.

        Aliases to lists or mappings multiply: nine nested lists of nine aliases each are a
        342-byte file that expands to 9⁹ items. Repeated texts are allowed up to a budget of
        :data:`MAX_FILE_BYTES` characters in all, so the expanded document stays small too.
        """
        line = None if event.start_mark is None else event.start_mark.line + 1
        node = self.anchors.get(event.anchor)
        if node is None:
            return  # PyYAML reports the undefined alias itself
        if not isinstance(node, yaml.ScalarNode):
            raise _Refused(
                f"the YAML alias *{event.anchor} repeats a list or mapping; in plan files an "
                "alias may only repeat a single value (write the list or mapping out)",
                f"YAML 别名 *{event.anchor} 引用了列表或映射；规划文件中的别名只能引用单个取值"
                "（请直接写出该列表或映射）",
                line,
            )
        self._alias_chars += len(node.value)
        if self._alias_chars > MAX_FILE_BYTES:
            raise _Refused(
                f"YAML aliases expand to more than {MAX_FILE_BYTES:,} characters",
                f"YAML 别名展开后超过 {MAX_FILE_BYTES:,} 个字符",
                line,
            )

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._check_alias(self.peek_event())
            return super().compose_node(parent, index)
        self._depth += 1
        self._nodes += 1
        try:
            if self._nodes > MAX_NODES:
                mark = self.peek_event().start_mark
                raise _Refused(
                    f"more than {MAX_NODES:,} values in one file; a plan has a few thousand",
                    f"文件中的取值超过 {MAX_NODES:,} 个；一个规划只有几千个",
                    mark.line + 1,
                )
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(
                    f"nested more than {MAX_DEPTH} levels deep",
                    f"嵌套超过 {MAX_DEPTH} 层",
                    mark.line + 1,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Located:
    """The parsed document plus the line of every node, addressed by its path."""

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")
        loader: _PlanLoader | None = None
        try:
            loader = _PlanLoader(text)  # checks the characters first (a ReaderError)
            node = loader.get_single_node()
        except _Refused as exc:
            raise InputError([Problem(exc.en, exc.zh, file, exc.line)]) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = None if mark is None else mark.line + 1
            if isinstance(exc, yaml.reader.ReaderError):
                line = text.count("\n", 0, max(exc.position, 0)) + 1
            reason = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
            raise InputError(
                [
                    Problem(
                        f"not valid YAML/JSON: {reason}",
                        f"不是有效的 YAML/JSON：{reason}",
                        file,
                        line,
                    )
                ]
            ) from None
        finally:
            if loader is not None:
                loader.dispose()
        self.data: Any = None if node is None else self._build(node, ())

    def _problem(self, node: yaml.Node, path: Path_, en: str, zh: str) -> None:
        self.problems.append(Problem(en, zh, self.file, node.start_mark.line + 1, _dotted(path)))

    def _build(self, node: yaml.Node, path: Path_) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if node.tag not in _PLAIN_TAGS:
            self._problem(
                node,
                path,
                f"YAML tag {node.tag!r} is not allowed: only text, numbers, true/false, null, "
                "lists and mappings",
                f"不允许使用 YAML 标签 {node.tag!r}：只能是文本、数字、true/false、null、"
                "列表和映射",
            )
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                scalar = isinstance(key_node, yaml.ScalarNode)
                key = self._scalar(key_node, path) if scalar else None
                if not isinstance(key, str):
                    self._problem(
                        key_node,
                        path,
                        "a key must be text (a field name)",
                        "键必须是文本（字段名）",
                    )
                    continue
                if key in out:
                    self._problem(
                        key_node, (*path, key), f"duplicate key {key!r}", f"键 {key!r} 重复"
                    )
                out[key] = self._build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Path_) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            self._problem(
                node,
                path,
                f"cannot read the value {node.value!r}: {exc}",
                f"无法读取取值 {node.value!r}：{exc}",
            )
            return None

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


#: Chinese for pydantic's error types (its messages are English only); ``{...}`` from ``ctx``.
_PYDANTIC_ZH = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段（拼写错误？）",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数（不能有小数）",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限数字（不能是 NaN 或无穷大）",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表",
    "dict_type": "应为映射（键值对）",
    "model_type": "应为映射（键值对）",
    "model_attributes_type": "应为映射（键值对）",
    "literal_error": "取值应为 {expected} 之一",
    "union_tag_invalid": "未知的类型 {tag}，可用：{expected_tags}",
    "union_tag_not_found": "缺少 {discriminator} 字段",
    "string_pattern_mismatch": "格式不符（应匹配 {pattern}）",
    "string_too_long": "过长：最多 {max_length} 个字符",
    "greater_than_equal": "应不小于 {ge}",
    "less_than_equal": "应不大于 {le}",
    "greater_than": "应大于 {gt}",
    "less_than": "应小于 {lt}",
}


def _zh_reason(err: Any) -> str:
    """The Chinese reason for one pydantic error (ValueErrors of the model keep its text)."""
    if err["type"] == "value_error":
        return f"取值无效：{str(err['msg']).removeprefix('Value error, ')}"
    template = _PYDANTIC_ZH.get(err["type"])
    if template is None:
        return f"字段无效：{err['msg']}"
    try:
        return template.format(**err.get("ctx", {}))
    except (KeyError, IndexError, ValueError):
        return f"字段无效：{err['msg']}"


def _pydantic_problems(exc: ValidationError, doc: _Located) -> list[Problem]:
    problems = []
    for err in exc.errors():
        # Drop the union tag pydantic inserts for discriminated unions (e.g. 'at_least').
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p in _KIND_TAGS)]
        problems.append(
            Problem(
                str(err["msg"]).removeprefix("Value error, "),
                _zh_reason(err),
                doc.file,
                doc.line_of(loc),
                _dotted(loc),
            )
        )
    return problems


_KIND_TAGS = set(TARGET_KINDS)


def parse_plan(
    text: str,
    file: str = "<plan>",
    known_adcodes: set[str] | frozenset[str] | None = None,
    known_plans: KnownPlans | None = None,
) -> Plan:
    """Parse and validate a plan document given as YAML or JSON text.

    With ``known_plans`` (the stored plans: id -> parent id) the plan's parent must be one of
    them, and no cycle of parents may result; without it the parent is not checked.
    """
    plan, parent_line = _parse(text, file, known_adcodes)
    if known_plans is not None:
        problems = parent_problems([plan], known_plans, [file], [parent_line])
        if problems:
            raise InputError(problems)
    return plan


def _parse(
    text: str, file: str, known_adcodes: set[str] | frozenset[str] | None
) -> tuple[Plan, int | None]:
    """The validated plan and the line of its ``parent`` field."""
    doc = _Located(text, file)
    problems = list(doc.problems)
    if doc.data is None and not problems:
        raise InputError([Problem("the file is empty", "文件为空", file)])
    if not isinstance(doc.data, dict):
        problems.append(
            Problem(
                "a plan file must be a mapping (field: value lines)",
                "规划文件必须是键值映射（“字段: 取值”形式）",
                file,
                doc.line_of(()),
            )
        )
        raise InputError(problems)
    try:
        plan = Plan.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(problems + _pydantic_problems(exc, doc)) from None
    problems += _semantic_problems(plan, doc, known_adcodes)
    if problems:
        raise InputError(problems)
    return plan, doc.line_of(("parent",))


def parent_problems(
    plans: Sequence[Plan],
    known_plans: KnownPlans | None,
    files: Sequence[str | None] | None = None,
    lines: Sequence[int | None] | None = None,
) -> list[Problem]:
    """Why ``plans`` (loaded together) cannot be stored beside ``known_plans``, if they cannot.

    Each plan's parent must be stored already or be among ``plans``; a plan cannot appear twice
    in one load; and following parents must end at a top-level plan (no cycle). Without these
    checks a missing parent makes every comparison with it silently vanish. ``known_plans``
    None means the stored plans are not known: parents outside ``plans`` are then not checked.
    """
    files = files or [None] * len(plans)
    lines = lines or [None] * len(plans)
    problems: list[Problem] = []
    parents: dict[str, str | None] = dict(known_plans or {})
    seen: dict[str, str | None] = {}
    for plan, file in zip(plans, files, strict=True):
        if plan.id in seen:
            problems.append(
                Problem(
                    f"plan {plan.id!r} is given twice in one load (also in {seen[plan.id]})",
                    f"同一次导入中规划 {plan.id!r} 出现两次（另见 {seen[plan.id]}）",
                    file,
                    None,
                    "id",
                )
            )
        seen[plan.id] = file
        parents[plan.id] = plan.parent
    for plan, file, line in zip(plans, files, lines, strict=True):
        if plan.parent is None:
            continue
        if plan.parent not in parents:
            if known_plans is None:
                continue
            problems.append(
                Problem(
                    f"the parent plan {plan.parent!r} is not stored and not part of this load; "
                    "load the parent plan first (or in the same command), or correct `parent` "
                    "(`healthwatch plans list` shows the stored plans)",
                    f"上级规划 {plan.parent!r} 既未存入数据库，也不在本次导入中；请先导入上级规划"
                    "（或在同一命令中一起导入），或更正 parent（`healthwatch plans list` "
                    "可查看已存的规划）",
                    file,
                    line,
                    "parent",
                )
            )
            continue
        chain: list[str] = [plan.id]
        current: str | None = plan.parent
        while current is not None and current not in chain:
            chain.append(current)
            current = parents.get(current)
        if current is not None:
            cycle = " -> ".join([*chain[chain.index(current) :], current])
            problems.append(
                Problem(
                    f"the parents form a cycle: {cycle}",
                    f"上级规划形成循环：{cycle}",
                    file,
                    line,
                    "parent",
                )
            )
    return problems


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


def read_plan_text(path: str | Path) -> str:
    """The text of a plan file, or an InputError saying plainly why it cannot be a plan file.

    Missing files, folders, files over :data:`MAX_FILE_BYTES`, binary files and files in no
    encoding of :data:`ENCODINGS` are refused, naming the encodings tried.
    """
    p = Path(path)
    file = str(p)

    def refuse(en: str, zh: str) -> InputError:
        return InputError([Problem(en, zh, file)])

    try:
        if p.is_dir():
            raise refuse("this is a folder, not a plan file", "这是文件夹，不是规划文件")
        if not p.exists():
            raise refuse("the file does not exist", "文件不存在")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise refuse(
                f"the file is {size:,} bytes; a plan file has at most {MAX_FILE_BYTES:,}",
                f"文件大小为 {size:,} 字节，规划文件最多 {MAX_FILE_BYTES:,} 字节",
            )
        data = p.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise refuse(f"cannot read the file ({reason})", f"无法读取文件（{reason}）") from None
    if b"\x00" in data:
        raise refuse(
            "this is a binary file, not a YAML or JSON text file",
            "这是二进制文件，不是 YAML 或 JSON 文本文件",
        )
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    tried = ", ".join(ENCODINGS)
    raise refuse(
        f"cannot decode the file as text (tried {tried}); save it as UTF-8",
        f"无法按文本解码（已尝试 {tried}）；请以 UTF-8 编码保存",
    )


def load_plan_file(
    path: str | Path,
    known_adcodes: set[str] | frozenset[str] | None = None,
    known_plans: KnownPlans | None = None,
) -> Plan:
    """Load one plan file (``.yaml``, ``.yml`` or ``.json``); InputError if anything is wrong."""
    return parse_plan(read_plan_text(path), str(Path(path)), known_adcodes, known_plans)


def load_plan_files(
    paths: Sequence[str | Path],
    known_adcodes: set[str] | frozenset[str] | None = None,
    known_plans: KnownPlans | None = None,
) -> list[Plan]:
    """Load plan files together, parents first; one InputError listing every file's problems.

    A plan's parent may be stored already (``known_plans``: id -> parent id) or be one of
    ``paths``. Without ``known_plans`` parents outside ``paths`` are not checked.
    """
    plans: list[Plan] = []
    files: list[str] = []
    lines: list[int | None] = []
    problems: list[Problem] = []
    for path in paths:
        file = str(Path(path))
        try:
            plan, line = _parse(read_plan_text(path), file, known_adcodes)
        except InputError as exc:
            problems += exc.problems
            continue
        plans.append(plan)
        files.append(file)
        lines.append(line)
    problems += parent_problems(plans, known_plans, files, lines)
    if problems:
        raise InputError(problems)
    return parents_first(plans)


def parents_first(plans: Sequence[Plan]) -> list[Plan]:
    """``plans`` ordered so that a parent among them comes before its children (no cycles)."""
    by_id = {p.id: p for p in plans}
    done: set[str] = set()
    ordered: list[Plan] = []
    for plan in plans:
        chain: list[Plan] = []
        current: Plan | None = plan
        while current is not None and current.id not in done and current not in chain:
            chain.append(current)
            current = by_id.get(current.parent) if current.parent else None
        for item in reversed(chain):
            done.add(item.id)
            ordered.append(item)
    return ordered


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
