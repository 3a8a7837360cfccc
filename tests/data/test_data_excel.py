"""The Excel template: what a county statistician sees, and that a filled one imports back."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from test_data_store import write_csv

from healthwatch.data.excel import ENTRY_HEADERS, fill_template
from healthwatch.plans import builtin_plans
from healthwatch.services import data as svc
from healthwatch.users import LOCAL_ADMIN


@pytest.fixture
def db_url(db_url: str) -> str:
    """The empty database of conftest with the built-in reference data loaded (plans, regions)."""
    from healthwatch.services.database import install_builtin

    install_builtin(db_url)
    return db_url


def test_template_has_chinese_headers_last_year_targets_validation_and_protection(db_url, tmp_path):
    write = [
        ("210302", 2023, "live_births", 1200),
        ("210302", 2023, "deliveries", 1190),
        ("210302", 2023, "infant_deaths", 4),
    ]
    svc.import_file(write_csv(tmp_path / "a.csv", write), actor=LOCAL_ADMIN, db=db_url)
    path = tmp_path / "t.xlsx"
    info = svc.template(
        path, plan="liaoning-2021-2025", region="210302", year=2024, actor=LOCAL_ADMIN, db=db_url
    )
    assert info["indicators"] == 30
    wb = load_workbook(path)
    entry = wb["填报"]
    assert [c.value for c in entry[1]] == ENTRY_HEADERS
    rows = {r[0].value: r for r in entry.iter_rows(min_row=2)}
    births = rows["live_births"]
    assert births[1].value == "活产数" and births[2].value == "人"
    assert births[5].value == 1200  # last year's value
    assert "婴儿死亡率（≤4.5‰）" in births[8].value  # plan target beside the row
    assert entry.protection.sheet is True
    assert births[6].protection.locked is False and births[0].protection.locked is True
    validations = entry.data_validations.dataValidation
    assert {v.type for v in validations} == {"whole", "decimal"}
    whole = next(v for v in validations if v.type == "whole")
    assert f"G{births[0].row}" in str(whole.sqref)
    ind = wb["指标"]
    im = next(r for r in ind.iter_rows(min_row=2) if r[0].value == "infant_mortality")
    assert im[5].value == "≤4.5‰"
    assert im[6].value == pytest.approx(4 / 1200 * 1000)
    assert str(im[7].value).startswith("=IF(") and "*1000" in im[7].value
    assert ind.protection.sheet is True
    assert wb["_meta"].sheet_state == "hidden"


def test_filled_template_imports_back_unchanged_in_meaning(db_url, tmp_path):
    path = tmp_path / "t.xlsx"
    svc.template(
        path, plan="anshan-2021-2025", region="210303", year=2024, actor=LOCAL_ADMIN, db=db_url
    )
    filled = tmp_path / "filled.xlsx"
    values = {"live_births": 800, "deliveries": 795, "infant_deaths": 2, "life_expectancy": 79.8}
    fill_template(path, values, filled)
    result = svc.import_file(filled, actor=LOCAL_ADMIN, db=db_url)
    assert result.format == "xlsx" and result.inserted == 4  # blank rows are "not reported"
    stored = svc.current_values(db_url, actor=LOCAL_ADMIN, region="210303")
    assert dict(zip(stored["element"], stored["value"], strict=True)) == values
    again = svc.import_file(filled, actor=LOCAL_ADMIN, db=db_url)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    plan = next(p for p in builtin_plans() if p.id == "anshan-2021-2025")
    assert plan.indicator("infant_mortality") is not None


def test_template_cells_with_text_are_refused_naming_the_sheet_row(db_url, tmp_path):
    path = tmp_path / "t.xlsx"
    svc.template(
        path, plan="anshan-2021-2025", region="210303", year=2024, actor=LOCAL_ADMIN, db=db_url
    )
    bad = tmp_path / "bad.xlsx"
    fill_template(path, {"live_births": "八百"}, bad)
    try:
        svc.import_file(bad, actor=LOCAL_ADMIN, db=db_url)
    except Exception as exc:
        problems = exc.problems  # type: ignore[attr-defined]
    else:
        raise AssertionError("a text value was accepted")
    (p,) = problems
    assert p.field == "本年值" and p.line >= 2 and "八百" in p.reason_zh
