"""Property: any input either loads as a plan or is refused with an InputError; never anything
else (a crash, a hang, a traceback). A refused load leaves the database exactly as it was, and
an accepted one stores what was loaded; on SQLite and PostgreSQL.

Three generators: arbitrary bytes; the valid plan with random edits to its text (values swapped
for hostile ones, lines dropped or repeated, characters inserted); and the valid plan's data with
one field replaced by arbitrary data, written as YAML or JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_plans_malformed import VALID, dump

from healthwatch.errors import InputError
from healthwatch.plans import Plan, parse_plan

HOSTILE_SCALARS = [
    ".nan",
    ".inf",
    "-.inf",
    "-5",
    "1.0e300",
    "1e400",
    "9" * 60,
    "-0",
    "2020-13-45",
    "2020-02-30",
    "1899",
    "3000",
    "''",
    "null",
    "~",
    "true",
    "[]",
    "{}",
    '"\\0"',
    '"\\ud800"',
    '"\\x07"',
    "*nowhere",
    "&a x",
    "!!binary aGk=",
    "!!python/name:os.system",
    "!!timestamp 2020-01-01",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "? x",
    "<<: {a: 1}",
    "|",
    ">-",
    "'unterminated",
    '"unterminated',
    "a" * 200,
    "liaoning-2021-2025",
    "at_least",
    "change_pct",
    "%",
    "@",
    "`",
    "\t",
]

_LINES = VALID.splitlines(keepends=True)


@st.composite
def edited_text(draw: st.DrawFn) -> str:
    """The valid plan with a few random edits to its text."""
    lines = list(_LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["value", "drop", "repeat", "insert", "indent"]))
        line = lines[i]
        if action == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[i] = f"{key}: {draw(st.sampled_from(HOSTILE_SCALARS))}\n"
        elif action == "drop":
            del lines[i]
        elif action == "repeat":
            lines.insert(i, line)
        elif action == "insert":
            pos = draw(st.integers(0, len(line)))
            lines[i] = line[:pos] + draw(st.text(max_size=5)) + line[pos:]
        else:
            lines[i] = draw(st.sampled_from([" ", "  ", "\t", ""])) + line.lstrip(" ")
        if not lines:
            break
    return "".join(lines)


json_data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

_VALID_DATA = yaml.safe_load(VALID)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


_FIELD_PATHS = [p for p in _paths(_VALID_DATA) if p]


@st.composite
def replaced_field(draw: st.DrawFn) -> str:
    """The valid plan's data with one field set to arbitrary data, as YAML or JSON text."""
    data = json.loads(json.dumps(_VALID_DATA))
    path = draw(st.sampled_from(_FIELD_PATHS))
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = draw(json_data)
    if draw(st.booleans()):
        return json.dumps(data, ensure_ascii=draw(st.booleans()))
    return yaml.safe_dump(data, allow_unicode=True)


any_input = st.one_of(
    st.binary(max_size=400).map(lambda b: ("bytes", b)),
    edited_text().map(lambda t: ("text", t.encode("utf-8"))),
    replaced_field().map(lambda t: ("text", t.encode("utf-8"))),
)


def _load(tmp: Path, data: bytes) -> Plan | InputError:
    from healthwatch.plans import load_plan_file

    path = tmp / "plan.yaml"
    path.write_bytes(data)
    try:
        return load_plan_file(path)
    except InputError as exc:
        return exc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=any_input)
def test_any_input_loads_or_is_refused_with_reasons(
    case: tuple[str, bytes], tmp_path_factory: Any
) -> None:
    result = _load(tmp_path_factory.mktemp("fuzz"), case[1])
    if isinstance(result, InputError):
        assert result.problems
        for p in result.problems:
            assert p.reason_en and p.reason_zh
    else:
        # What loads is a plan whose JSON document loads back to the same plan.
        assert Plan.from_json(json.loads(json.dumps(result.to_json(), allow_nan=False))) == result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_any_text_parses_or_is_refused(text: str) -> None:
    try:
        parse_plan(text, "fuzz.yaml")
    except InputError as exc:
        assert exc.problems and all(p.file == "fuzz.yaml" for p in exc.problems)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=any_input)
def test_database_unchanged_unless_the_plan_loads(
    seeded_db_url: str, tmp_path_factory: Any, case: tuple[str, bytes]
) -> None:
    from healthwatch.services.plans import import_plan_files
    from healthwatch.store.db import session_scope
    from healthwatch.store.plans import stored_plan
    from healthwatch.users import Actor, Role

    url = seeded_db_url
    path = tmp_path_factory.mktemp("fuzzdb") / "plan.yaml"
    path.write_bytes(case[1])
    before = dump(url)
    try:
        ((plan, version),) = import_plan_files([path], actor=Actor("fuzz", Role.ADMIN), db=url)
    except InputError as exc:
        assert exc.problems
        assert dump(url) == before
        return
    with session_scope(url) as session:
        assert stored_plan(session, plan.id, version) == plan
