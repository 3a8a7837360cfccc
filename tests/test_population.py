"""Population tables: the built-in city table and validation of user files."""

from __future__ import annotations

from pathlib import Path

import pytest

from healthwatch.data.populations import builtin_city_populations
from healthwatch.data.populations import read_populations as read_population_csv
from healthwatch.errors import InputError
from healthwatch.regions.population import PopulationRow, synthetic_county_split


def write(tmp_path: Path, text: str, name: str = "pop.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[InputError]) -> list[tuple[int | None, str | None]]:
    return [(p.line, p.field) for p in exc.value.problems]


def test_builtin_table_matches_the_reference():
    rows = {r.adcode: r for r in builtin_city_populations()}
    assert len(rows) == 15 and all(r.year == 2021 for r in rows.values())
    assert rows["210000"].persons == 42_294_000  # 4229.4 (10k persons)
    assert rows["210100"].persons == 9_118_000  # 沈阳 911.8
    assert rows["211100"].persons == 1_390_000  # 盘锦 139
    # The Bureau's city figures add up to the provincial total exactly.
    assert sum(r.persons for c, r in rows.items() if c != "210000") == rows["210000"].persons


def test_wide_and_long_layouts(tmp_path):
    wide = write(
        tmp_path,
        "\ufeffadcode,name,resident_population_10k_2020,resident_population_10k_2021\n"
        "220000,吉林,2407.35,2375.37\n220100,长春市,906.69,\n",
    )
    assert read_population_csv(wide) == [
        PopulationRow("220000", 2020, 24_073_500.0),
        PopulationRow("220000", 2021, 23_753_700.0),
        PopulationRow("220100", 2020, 9_066_900.0),
    ]
    assert read_population_csv(wide, year=2021) == [PopulationRow("220000", 2021, 23_753_700.0)]
    long = write(tmp_path, 'adcode,year,resident_population\n210302,2022,"512,345"\n', "l.csv")
    assert read_population_csv(long) == [PopulationRow("210302", 2022, 512_345.0)]


def test_every_problem_is_reported_with_line_and_field(tmp_path):
    path = write(
        tmp_path,
        "adcode,name,resident_population_10k_2021\n"
        "210100,沈阳市,911.8\n"
        "21010,沈阳市,911.8\n"  # not six digits
        "219999,某市,10\n"  # unknown adcode
        "210200,大连市,-1\n"  # not positive
        "210300,鞍山市,many\n"  # not a number
        "210100,沈阳市,900\n"  # duplicate
        "210400,本溪市,181.9\n"  # name of another city
        "210500,本溪市\n",  # missing field
    )
    with pytest.raises(InputError) as info:
        read_population_csv(path)
    assert problems(info) == [
        (3, "adcode"),
        (4, "adcode"),
        (5, "resident_population_10k_2021"),
        (6, "resident_population_10k_2021"),
        (7, "resident_population_10k_2021"),
        (8, "name"),
        (9, None),
    ]
    assert all(p.file == str(path) for p in info.value.problems)
    text = info.value.render()
    assert "219999" in text and "未知的行政区划代码" in text and "Unknown adcode" in text


def test_header_problems(tmp_path):
    with pytest.raises(InputError) as info:
        read_population_csv(write(tmp_path, "code,population\n210000,1\n"))
    # unknown columns are named, then what is missing
    assert problems(info) == [(1, "code"), (1, "population"), (1, "adcode"), (1, None)]
    with pytest.raises(InputError, match="empty"):
        read_population_csv(write(tmp_path, "", "e.csv"))
    with pytest.raises(InputError, match="No data rows"):
        read_population_csv(write(tmp_path, "adcode,year,resident_population\n", "h.csv"))
    with pytest.raises(InputError) as info:
        read_population_csv(write(tmp_path, "adcode,year,resident_population\n210000,21,5\n"))
    assert problems(info) == [(2, "year")]
    with pytest.raises(InputError, match="file not found"):
        read_population_csv(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="year 2030"):
        read_population_csv(write(tmp_path, "adcode,year,resident_population\n210000,2021,5\n"),
                            year=2030)  # fmt: skip


def test_synthetic_split_adds_up_exactly():
    cities = [r for r in builtin_city_populations() if r.adcode != "210000"]
    counties = synthetic_county_split(cities)
    assert len(counties) == 100
    anshan = [r for r in counties if r.adcode.startswith("2103")]
    assert len(anshan) == 7
    assert sum(r.persons for r in anshan) == 3_282_000
    assert max(r.persons for r in anshan) - min(r.persons for r in anshan) <= 1
    assert sum(r.persons for r in counties) == 42_294_000
