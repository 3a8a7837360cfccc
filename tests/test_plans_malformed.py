"""Malformed plan files: each is refused with an InputError naming the reason, nothing crashes,
and a refused load leaves the database exactly as it was (SQLite and PostgreSQL).

The corpus (``CASES``) is generated here; ``VALID`` is a small plan whose parent is the packaged
Liaoning plan (stored by the built-in load, see the ``seeded_db_url`` fixture).
``test_plans_fuzz`` reuses both.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from sqlalchemy import create_engine, inspect, text

from healthwatch.errors import InputError
from healthwatch.plans import load_plan_file, parse_plan
from healthwatch.plans.loader import load_plan_files

VALID = """\
id: test-city-2021-2025
name_zh: 测试市规划
name_en: Test city plan
region: "210300"
level: city
parent: liaoning-2021-2025
start_year: 2021
end_year: 2025
base_year: 2020
source_document: test.txt
indicators:
  - code: infant_mortality
    name_zh: 婴儿死亡率
    name_en: Infant mortality rate
    category_zh: 健康水平
    category_en: Health status
    unit: permille
    direction: lower
    nature: expected
    baselines:
      - {year: 2020, value: 3.9, source: 2020年婴儿死亡率3.9‰}
    target: {kind: at_most, value: 4.5, year: 2025, text_zh: "≤4.5‰", source: 婴儿死亡率 ≤4.5‰}
  - code: life_expectancy
    name_zh: 人均预期寿命
    name_en: Life expectancy
    category_zh: 健康水平
    category_en: Health status
    unit: years
    direction: higher
    nature: expected
    target: {kind: change_abs, value: 1, base_year: 2020, year: 2025, text_zh: 提高1岁}
projects:
  - {category: 基层, category_en: Primary care, name: 卫生院, count: 3, amount_10k_yuan: 1200,
     source: 项目3个}
"""

# Nine nested lists of nine aliases: 342 bytes that expand to 9**9 (387 million) strings.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
assert len(BILLION_LAUGHS.encode()) == 342


def _sub(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


@dataclass(frozen=True)
class Case:
    """A malformed input: ``make(folder)`` returns the path to give the loader."""

    name: str
    make: Callable[[Path], Path]
    reason: str  # a fragment of the English reason of at least one problem


def _text(name: str, text: str, encoding: str = "utf-8") -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(text.encode(encoding))
        return path

    return make


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


def _folder(folder: Path) -> Path:
    path = folder / "plans.yaml"
    path.mkdir()
    return path


def _missing(folder: Path) -> Path:
    return folder / "nowhere.yaml"


CASES = [
    # ---- the file itself
    Case("billion-laughs", _text("bomb.yaml", BILLION_LAUGHS), "repeats a list or mapping"),
    Case(
        "alias-to-mapping",
        _text("merge.yaml", _sub("level: city\n", "x: &m {a: 1}\nlevel: city\ny: *m\n")),
        "repeats a list or mapping",
    ),
    Case(
        "scalar-alias-flood",
        _text(
            "flood.yaml",
            "a: &s " + "x" * 100_000 + "\nb: [" + ", ".join(["*s"] * 60) + "]\n",
        ),
        "aliases expand to more than",
    ),
    Case("deep-nesting", _text("deep.yaml", "a: " + "[" * 5000 + "]" * 5000), "nested more than"),
    Case("deep-nesting-json", _text("deep.json", "[" * 100_000), "nested more than"),
    Case(
        "unclosed-bracket", _text("syntax.yaml", _sub("code: life_expectancy", "code: [x")), "YAML"
    ),
    Case("tab-indent", _text("tabs.yaml", _sub("  - code: life", "\t- code: life")), "YAML"),
    Case("binary-png", _bytes("plan.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "binary"),
    Case("binary-xlsx", _bytes("plan.yaml", b"PK\x03\x04\x14\x00\x06\x00" + bytes(64)), "binary"),
    Case("undecodable", _bytes("plan.yaml", b"id: \xff\xfe\xff\n"), "tried utf-8-sig, gb18030"),
    Case("control-char", _bytes("plan.yaml", b"id: a\x07b\n"), "YAML"),
    Case("empty", _bytes("empty.yaml", b""), "empty"),
    Case("only-comments", _text("comments.yaml", "# nothing here\n\n"), "empty"),
    Case("folder", _folder, "folder"),
    Case("missing", _missing, "does not exist"),
    Case("too-big", _bytes("big.yaml", b"#" * 1_000_001), "at most 1,000,000"),
    Case(
        "too-many-values", _text("many.yaml", "a: [" + "1," * 30_000 + "1]\n"), "more than 20,000"
    ),
    Case("top-level-list", _text("list.yaml", "- a\n- b\n"), "mapping"),
    Case("top-level-scalar", _text("scalar.yaml", "just text\n"), "mapping"),
    Case(
        "python-tag",
        _text(
            "tag.yaml",
            _sub("name_en: Test city plan", 'name_en: !!python/object/apply:os.system ["echo hi"]'),
        ),
        "tag",
    ),
    Case(
        "binary-tag",
        _text("bin.yaml", _sub("name_en: Test city plan", "name_en: !!binary aGk=")),
        "tag",
    ),
    Case(
        "complex-key",
        _text("key.yaml", _sub("level: city\n", "level: city\n? [a, b]\n: c\n")),
        "key must be text",
    ),
    Case(
        "numeric-key",
        _text("key2.yaml", _sub("level: city\n", "level: city\n2020: c\n")),
        "key must be text",
    ),
    Case(
        "duplicate-key",
        _text("dup.yaml", _sub("level: city\n", "level: city\nlevel: county\n")),
        "duplicate key",
    ),
    # ---- values
    Case("nan", _text("nan.yaml", _sub("value: 3.9", "value: .nan")), "finite"),
    Case("inf", _text("inf.yaml", _sub("value: 4.5", "value: .inf")), "finite"),
    Case("inf-text", _text("inf2.yaml", _sub("value: 4.5", "value: 1e400")), "finite"),
    Case(
        "negative-permille-target", _text("neg.yaml", _sub("value: 4.5", "value: -5")), "negative"
    ),
    Case(
        "negative-baseline",
        _text("negb.yaml", _sub("value: 3.9", "value: -5")),
        "greater than or equal to 0",
    ),
    Case(
        "absurd-persons",
        _text("huge.yaml", _sub("value: 4.5", "value: 1.0e300")),
        "less than or equal to",
    ),
    Case(
        "absurd-amount",
        _text("amount.yaml", _sub("amount_10k_yuan: 1200", "amount_10k_yuan: 1.0e300")),
        "less than or equal to",
    ),
    Case(
        "huge-int",
        _text("int.yaml", _sub("count: 3", "count: " + "9" * 400)),
        "less than or equal to",
    ),
    Case(
        "year-1899",
        _text("y1899.yaml", _sub("start_year: 2021", "start_year: 1899")),
        "greater than or equal to 1949",
    ),
    Case(
        "year-3000",
        _text("y3000.yaml", _sub('year: 2025, text_zh: "≤4.5‰"', 'year: 3000, text_zh: "≤4.5‰"')),
        "less than or equal to 2100",
    ),
    Case(
        "bad-date",
        _text("date.yaml", _sub("start_year: 2021", "start_year: 2020-13-45")),
        "integer",
    ),
    Case(
        "date-as-year",
        _text("date2.yaml", _sub("base_year: 2020", "base_year: 2020-12-31")),
        "integer",
    ),
    Case(
        "year-as-float", _text("yf.yaml", _sub("start_year: 2021", "start_year: 2021.5")), "integer"
    ),
    Case(
        "change-below-minus-100",
        _text("pct.yaml", _sub("kind: change_abs, value: 1", "kind: change_pct, value: -150")),
        "impossible",
    ),
    Case(
        "base-after-year",
        _text("base.yaml", _sub("base_year: 2020, year: 2025", "base_year: 2026, year: 2025")),
        "must be before",
    ),
    Case(
        "nul-in-text",
        _text("nul.yaml", _sub("name_zh: 测试市规划", 'name_zh: "测试\\0市"')),
        "control character",
    ),
    Case(
        "surrogate-in-text",
        _text("sur.yaml", _sub("name_zh: 测试市规划", 'name_zh: "测试\\ud800"')),
        "control character",
    ),
    Case(
        "id-too-long",
        _text("id.yaml", _sub("id: test-city-2021-2025", "id: " + "a" * 101)),
        "at most 100 characters",
    ),
    Case(
        "code-too-long",
        _text("code.yaml", _sub("code: infant_mortality", "code: " + "c" * 101)),
        "at most 100 characters",
    ),
    Case(
        "parent-too-long",
        _text("par.yaml", _sub("parent: liaoning-2021-2025", "parent: " + "p" * 101)),
        "at most 100 characters",
    ),
    Case(
        "own-parent",
        _text("own.yaml", _sub("parent: liaoning-2021-2025", "parent: test-city-2021-2025")),
        "own parent",
    ),
    Case(
        "target-as-baseline",
        _text(
            "column.yaml",
            _sub(
                "      - {year: 2020, value: 3.9, source: 2020年婴儿死亡率3.9‰}\n",
                "      - {year: 2020, value: 5.0, source: 婴儿死亡率 ≤5.0‰ ≤4.5‰}\n",
            ).replace(
                'text_zh: "≤4.5‰", source: 婴儿死亡率 ≤4.5‰}',
                'text_zh: "≤4.5‰", source: 婴儿死亡率 ≤4.5‰}\n    previous_targets:\n'
                '      - {kind: at_most, value: 5.0, year: 2020, text_zh: "≤5.0‰",'
                " source: 婴儿死亡率 ≤5.0‰ ≤4.5‰}",
            ),
        ),
        "a target is not an achieved value",
    ),
    Case(
        "unknown-field",
        _text("extra.yaml", _sub("level: city\n", "level: city\nlevle: city\n")),
        "Extra inputs",
    ),
    Case(
        "wrong-kind",
        _text("kind.yaml", _sub("kind: at_most", "kind: at_mots")),
        "does not match any of the expected tags",
    ),
]
"""Refused inputs with a fragment of their reason (English; the Chinese is checked present)."""

PARENT_MISSING = _sub("parent: liaoning-2021-2025", "parent: nowhere-2021-2025")


# ------------------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------------------


def refused(path: Path, **kw: object) -> InputError:
    with pytest.raises(InputError) as info:
        load_plan_file(path, **kw)  # type: ignore[arg-type]
    return info.value


def test_valid_plan_loads(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(VALID, encoding="utf-8")
    plan = load_plan_file(path, known_plans={"liaoning-2021-2025": None})
    assert plan.id == "test-city-2021-2025" and len(plan.indicators) == 2


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_input_is_refused_with_a_reason(case: Case, tmp_path: Path) -> None:
    path = case.make(tmp_path)
    error = refused(path)
    assert error.problems, "an InputError lists its problems"
    for p in error.problems:
        assert p.file == str(path)
        assert p.reason_en and p.reason_zh
        assert re.search(r"[\u4e00-\u9fff]", p.reason_zh), p.reason_zh
    reasons = " | ".join(p.reason_en for p in error.problems)
    assert case.reason in reasons, reasons


@pytest.mark.parametrize("name", ["nan", "negative-permille-target", "id-too-long", "bad-date"])
def test_problems_inside_the_file_name_their_line(name: str, tmp_path: Path) -> None:
    (case,) = [c for c in CASES if c.name == name]
    path = case.make(tmp_path)
    error = refused(path)
    content = path.read_text(encoding="utf-8").splitlines()
    for p in error.problems:
        assert p.line is not None and p.field, p
        assert p.field.split(".")[-1].split("[")[0] in content[p.line - 1] or "target" in p.field


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_utf8_bom_and_gbk_files_are_read(encoding: str, tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(VALID.encode(encoding))
    assert load_plan_file(path).name_zh == "测试市规划"


def test_billion_laughs_is_refused_quickly_in_a_small_process(tmp_path: Path) -> None:
    """The 342-byte alias bomb, in a real ``plans load`` whose memory is capped at 3 GB.

    Before the aliases were limited the loader expanded all 387 million strings; under the cap
    that ends in a MemoryError (and without it, in all the machine's memory).
    """
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS, encoding="utf-8")

    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    proc = subprocess.run(
        [sys.executable, "-m", "healthwatch", "plans", "load", str(bomb)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "HEALTHWATCH_DB": str(tmp_path / "db.sqlite")},
        preexec_fn=cap if os.name == "posix" else None,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "bomb.yaml:2" in proc.stderr and "别名" in proc.stderr and "alias" in proc.stderr


# ---- parents --------------------------------------------------------------------------------


def test_missing_parent_is_refused_when_the_stored_plans_are_known(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(PARENT_MISSING, encoding="utf-8")
    (p,) = refused(path, known_plans={"liaoning-2021-2025": None}).problems
    assert p.field == "parent" and p.line == 6
    assert "nowhere-2021-2025" in p.reason_en and "not stored" in p.reason_en
    assert "上级规划" in p.reason_zh
    assert load_plan_file(path).parent == "nowhere-2021-2025"  # stored plans unknown: not checked


def test_parent_in_the_same_load_is_accepted_and_stored_first(tmp_path: Path) -> None:
    parent = tmp_path / "province.yaml"
    parent.write_text(
        VALID.replace("id: test-city-2021-2025", "id: nowhere-2021-2025")
        .replace("parent: liaoning-2021-2025\n", "")
        .replace("level: city", "level: province")
        .replace('region: "210300"', 'region: "210000"'),
        encoding="utf-8",
    )
    child = tmp_path / "city.yaml"
    child.write_text(PARENT_MISSING, encoding="utf-8")
    plans = load_plan_files([child, parent], known_plans={})
    assert [p.id for p in plans] == ["nowhere-2021-2025", "test-city-2021-2025"]
    with pytest.raises(InputError) as info:
        load_plan_files([child], known_plans={})
    assert "not stored and not part of this load" in info.value.problems[0].reason_en


def test_cycles_and_duplicates_in_one_load_are_refused(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text(VALID.replace("parent: liaoning-2021-2025", "parent: b-plan"), encoding="utf-8")
    b = tmp_path / "b.yaml"
    b.write_text(
        VALID.replace("id: test-city-2021-2025", "id: b-plan").replace(
            "parent: liaoning-2021-2025", "parent: test-city-2021-2025"
        ),
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        load_plan_files([a, b], known_plans={})
    assert any("cycle" in p.reason_en for p in info.value.problems)
    with pytest.raises(InputError) as info:
        load_plan_files([a, a], known_plans={"b-plan": None})
    assert any("given twice" in p.reason_en for p in info.value.problems)
    # A stored plan re-loaded with a new parent may not close a cycle either.
    with pytest.raises(InputError) as info:
        parse_plan(
            VALID.replace("parent: liaoning-2021-2025", "parent: b-plan"),
            "a.yaml",
            known_plans={"b-plan": "test-city-2021-2025", "test-city-2021-2025": None},
        )
    assert "cycle" in info.value.problems[0].reason_en


# ---- the database is untouched by a refused load, on SQLite and PostgreSQL -----------------


def dump(url: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table (Alembic's included), in primary-key order."""
    engine = create_engine(url)
    try:
        out = {}
        with engine.connect() as conn:
            insp = inspect(conn)
            for table in sorted(insp.get_table_names()):
                cols = [c["name"] for c in insp.get_columns(table)]
                pk = insp.get_pk_constraint(table)["constrained_columns"] or cols
                order = ", ".join(f'"{c}"' for c in pk)
                rows = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY {order}'))
                out[table] = [tuple(map(repr, r)) for r in rows]
        return out
    finally:
        engine.dispose()


def test_refused_loads_leave_the_database_unchanged(seeded_db_url: str, tmp_path: Path) -> None:
    from healthwatch.services.plans import import_plan_files
    from healthwatch.users import Actor, Role

    tester = Actor("tester", Role.ADMIN)
    url = seeded_db_url
    before = dump(url)
    assert before["plans"] and before["audit_log"]
    cases = [*CASES, Case("parent-missing", _text("orphan.yaml", PARENT_MISSING), "not stored")]
    for case in cases:
        folder = tmp_path / case.name
        folder.mkdir()
        path = case.make(folder)
        with pytest.raises(InputError) as info:
            import_plan_files([path], actor=tester, db=url)
        assert case.reason in " | ".join(p.reason_en for p in info.value.problems), case.name
        # One good file with a bad one: nothing of either is written.
        good = folder / "good.yaml"
        good.write_text(VALID, encoding="utf-8")
        with pytest.raises(InputError):
            import_plan_files([good, path], actor=tester, db=url)
        assert dump(url) == before, case.name
    stored = import_plan_files([tmp_path / "missing" / "good.yaml"], actor=tester, db=url)
    assert [(p.id, v) for p, v in stored] == [("test-city-2021-2025", 1)]
    assert dump(url) != before
