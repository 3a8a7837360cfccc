"""Earned value for Anshan's 43 projects: register from the plan, progress file, SPI/CPI flags."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from healthwatch.errors import InputError
from healthwatch.evaluate.projects import earned_value, project_register, read_progress_reports
from healthwatch.plans import builtin_plans


@pytest.fixture(scope="module")
def register():
    return project_register(builtin_plans()[1])


def test_register_has_the_plans_43_projects_and_its_money(register) -> None:
    assert len(register) == 43
    assert register.groupby("category").size().to_dict()["智慧医疗类"] == 20
    assert register["budget_10k_yuan"].sum() == pytest.approx(121400)
    assert "鞍山市中心医院心脑血管专科能力提升项目" in set(register["name"])


def test_spi_cpi_and_flags(register, tmp_path: Path) -> None:
    f = tmp_path / "progress.csv"
    f.write_text(
        "project_id,report_date,percent_complete,spent_10k_yuan,budget_10k_yuan,planned_percent\n"
        "P01-01,2023-12-31,30,1200,2000,50\n"  # EV 600, PV 1000: SPI 0.6; CPI 0.5
        "P01-02,2023-12-31,60,1000,2000,50\n"  # EV 1200, PV 1000: SPI 1.2; CPI 1.2
        "P01-02,2024-12-31,99,9999,2000,50\n",  # after the as-of date: ignored
        encoding="utf-8",
    )
    reports = read_progress_reports(f, set(register["project_id"]))
    ev = earned_value(register, reports, date(2024, 6, 30)).table.set_index("project_id")
    a, b = ev.loc["P01-01"], ev.loc["P01-02"]
    assert a["spi"] == pytest.approx(0.6) and a["cpi"] == pytest.approx(0.5)
    assert bool(a["delayed"]) and bool(a["over_budget"])
    assert b["spi"] == pytest.approx(1.2) and b["cpi"] == pytest.approx(1.2)
    assert not b["delayed"] and not b["over_budget"]
    assert not ev.loc["P02-01", "reported"]


def test_planned_value_follows_the_schedule_line(register, tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text(
        "project_id,report_date,percent_complete,spent_10k_yuan,planned_start,planned_end\n"
        "P03-01,2023-01-01,40,20000,2021-01-01,2025-01-01\n",
        encoding="utf-8",
    )
    ev = earned_value(register, read_progress_reports(f), date(2023, 1, 1)).table
    row = ev.set_index("project_id").loc["P03-01"]
    assert row["planned_percent"] == pytest.approx(50, abs=0.1)  # half of 2021-2025 elapsed
    assert row["spi"] == pytest.approx(0.8, abs=0.01)  # 40% done of 50% planned


def test_bad_file_lists_every_problem(register, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(
        "project_id,report_date,percent_complete,spent_10k_yuan\nP99-01,2023-13-45,120,abc\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        read_progress_reports(f, set(register["project_id"]))
    fields = {p.field for p in info.value.problems}
    assert fields == {"project_id", "report_date", "percent_complete", "spent_10k_yuan"}
    assert all(p.line == 2 for p in info.value.problems)
