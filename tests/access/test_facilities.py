"""Facility registry: import, validation (every problem at once, zh + en), GCJ-02, geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthwatch.access.facilities import (
    FACILITY_COLUMNS,
    KIND_CODES,
    FacilityKind,
    parse_kind,
    parse_level,
    summarise,
    validate_facilities,
)
from healthwatch.data.facilities import read_facilities
from healthwatch.errors import InputError
from healthwatch.regions.geo import (
    locate_counties,
    point_in_region,
    points_in_geometry,
    wgs84_to_gcj02,
)

# Points checked against the regions package's own point-in-polygon (an independent oracle).
DALIAN_ZHONGSHAN = (121.65, 38.91)  # 210202 中山区, 大连市
SHENYANG_HEPING = (123.38, 41.77)  # 210102 和平区, 沈阳市
BEIJING = (116.40, 39.90)

HEADER = (
    "id,name,kind,level,adcode,lon,lat,beds,physicians,nurses,gps,pharmacists,"
    "ambulances,negative_pressure,year\n"
)


def _write(tmp_path: Path, body: str, name: str = "f.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def test_oracle_points_are_where_the_tests_say() -> None:
    assert point_in_region(*DALIAN_ZHONGSHAN, "210202")
    assert point_in_region(*SHENYANG_HEPING, "210102")


def test_valid_csv_is_read_with_levels_and_kinds_normalised(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "H1,大连医院,医院,三级甲等,210202,121.65,38.91,1200,500,700,20,60,0,0,2021\n"
        "E1,大连急救站,ems_station,,210202,121.651,38.911,0,4,4,0,0,5,2,2021\n"
        "T1,沈阳卫生院,乡镇卫生院,,,123.38,41.77,30,5,6,3,1,0,0,2021\n",
    )
    summary = read_facilities(path)
    df = summary.facilities
    assert list(df.columns) == list(FACILITY_COLUMNS)
    assert df["kind"].tolist() == ["hospital", "ems_station", "township_health_centre"]
    assert df["level"].tolist()[0] == "3A" and df["level"].isna().tolist()[1:] == [True, True]
    # The empty adcode was filled from the point: 和平区.
    assert df.loc[2, "adcode"] == "210102" and summary.located_by_point == 1
    assert df["beds"].tolist() == [1200, 0, 30]
    assert df["negative_pressure"].tolist() == [0, 2, 0]
    counts = summarise(df).set_index("kind")
    assert counts.loc["hospital", "facilities"] == 1
    assert counts.loc["ems_station", "ambulances"] == 5


def test_chinese_headers_and_excel(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "编号": ["H1"],
            "名称": ["大连医院"],
            "类型": ["医院"],
            "等级": ["二甲"],
            "区划代码": ["210202"],
            "经度": [121.65],
            "纬度": [38.91],
            "床位数": [300],
            "救护车": [2],
            "负压救护车": [1],
        }
    )
    path = tmp_path / "f.xlsx"
    frame.to_excel(path, index=False, engine="openpyxl")
    df = read_facilities(path).facilities
    assert df.loc[0, "level"] == "2A" and df.loc[0, "beds"] == 300 and df.loc[0, "ambulances"] == 2


def test_every_problem_is_reported_with_line_and_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "H1,ok,hospital,3A,210202,121.65,38.91,10,1,1,1,1,0,0,2021\n"  # line 2: fine
        "H2,neg,hospital,3A,210202,121.65,38.91,-5,1,1,1,1,0,0,2021\n"  # 3: negative beds
        "H3,np,ems_station,,210202,121.65,38.91,0,1,1,1,1,2,3,2021\n"  # 4: NP > ambulances
        "H4,kind,spaceport,,210202,121.65,38.91,0,0,0,0,0,0,0,2021\n"  # 5: unknown kind
        "H5,lvl,ems_station,3A,210202,121.65,38.91,0,0,0,0,0,0,0,2021\n"  # 6: level on non-hospital
        "H6,swap,hospital,,210202,38.91,121.65,0,0,0,0,0,0,0,2021\n"  # 7: swapped
        "H7,bj,hospital,,,116.40,39.90,0,0,0,0,0,0,0,2021\n"  # 8: Beijing, outside Liaoning
        "H8,county,hospital,,210202,123.38,41.77,0,0,0,0,0,0,0,2021\n"  # 9: wrong county
        "H1,dup,hospital,,210202,121.65,38.91,0,0,0,0,0,0,0,2021\n"  # 10: duplicate id
        "H9,adc,hospital,,110101,121.65,38.91,0,0,0,0,0,0,0,2021\n",  # 11: not a Liaoning county
    )
    with pytest.raises(InputError) as info:
        read_facilities(path)
    found = {(p.line, p.field) for p in info.value.problems}
    assert found == {
        (3, "beds"),
        (4, "negative_pressure"),
        (5, "kind"),
        (6, "level"),
        (7, "lon/lat"),
        (8, "lon/lat"),
        (9, "adcode"),
        (10, "id"),
        (11, "adcode"),
    }
    for p in info.value.problems:
        assert p.file == str(path) and p.reason_en and p.reason_zh
    swapped = next(p for p in info.value.problems if p.line == 7)
    assert "swapped" in swapped.reason_en and "写反" in swapped.reason_zh
    outside = next(p for p in info.value.problems if p.line == 8)
    assert "outside 辽宁省 (210000)" in outside.reason_en  # the province the other rows name
    county = next(p for p in info.value.problems if p.line == 9)
    assert "210202" in county.reason_en and "中山区" in county.reason_zh


def test_missing_required_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "H1,x,hospital,210202\n", header="id,name,kind,adcode\n")
    with pytest.raises(InputError) as info:
        read_facilities(path)
    assert {(p.line, p.field) for p in info.value.problems} == {(1, "lon"), (1, "lat")}


def test_gcj02_input_is_converted_to_wgs84(tmp_path: Path) -> None:
    wgs = np.array([121.65, 123.38]), np.array([38.91, 41.77])
    glon, glat = wgs84_to_gcj02(*wgs)
    # The offset in Liaoning is several hundred metres: make sure the test means something.
    assert np.all(np.abs(glon - wgs[0]) > 0.004)
    body = (
        f"A,a,hospital,,210202,{glon[0]:.9f},{glat[0]:.9f},0,0,0,0,0,0,0,2021,GCJ02\n"
        f"B,b,hospital,,210102,{glon[1]:.9f},{glat[1]:.9f},0,0,0,0,0,0,0,2021,gcj-02\n"
    )
    path = _write(tmp_path, body, header=HEADER.rstrip("\n") + ",crs\n")
    summary = read_facilities(path)
    assert summary.converted_from_gcj02 == 2
    np.testing.assert_allclose(summary.facilities["lon"], wgs[0], atol=1e-7)
    np.testing.assert_allclose(summary.facilities["lat"], wgs[1], atol=1e-7)
    # The same file read with the argument instead of a column.
    path2 = _write(tmp_path, body.replace(",GCJ02", "").replace(",gcj-02", ""), "g.csv")
    again = read_facilities(path2, crs="GCJ02").facilities
    np.testing.assert_allclose(again["lon"], wgs[0], atol=1e-7)


def test_parse_kind_and_level() -> None:
    assert parse_kind("急救中心") == "ems_centre" and parse_kind("EMS_STATION") == "ems_station"
    assert parse_kind("nonsense") is None
    assert parse_level("三级甲等") == "3A" and parse_level("三甲") == "3A"
    assert parse_level("二级") == "2" and parse_level("一级丙等") == "1C"
    assert parse_level("未定级") == "unrated" and parse_level("2b") == "2B"
    assert parse_level("四级") is None


def test_point_in_polygon_square_with_hole_by_hand() -> None:
    square = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]
    geom = {"type": "Polygon", "coordinates": [square, hole]}
    x = np.array([0.5, 2.0, 3.5, 5.0, 2.0])
    y = np.array([0.5, 2.0, 3.5, 2.0, 0.5])
    assert points_in_geometry(x, y, geom).tolist() == [True, False, True, False, True]


def test_locate_counties() -> None:
    found = locate_counties(
        np.array([DALIAN_ZHONGSHAN[0], SHENYANG_HEPING[0], BEIJING[0]]),
        np.array([DALIAN_ZHONGSHAN[1], SHENYANG_HEPING[1], BEIJING[1]]),
        "210000",
    )
    assert found == ["210202", "210102", None]
    # Any province: Beijing's 东城区 from the Beijing boundaries.
    assert locate_counties([BEIJING[0]], [BEIJING[1]], "110000") == ["110101"]


def test_one_schema_kinds_and_synthetic_flags() -> None:
    # The stored kind codes are the enum's values, not a hand-made copy.
    assert tuple(k.value for k in FacilityKind) == KIND_CODES
    raw = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "name": ["x", "y", "z"],
            "kind": ["hospital"] * 3,
            "lon": [121.65] * 3,
            "lat": [38.91] * 3,
            "synthetic": ["y", "否", "maybe"],
        }
    )
    with pytest.raises(InputError) as info:
        validate_facilities(raw, check_boundaries=False)
    assert [(p.line, p.field) for p in info.value.problems] == [(4, "synthetic")]
    out = validate_facilities(raw.iloc[:2], check_boundaries=False).facilities
    assert out["synthetic"].tolist() == [True, False]


def test_validate_frame_without_boundaries_is_pure() -> None:
    raw = pd.DataFrame(
        {"id": ["a"], "name": ["x"], "kind": ["hospital"], "lon": [121.65], "lat": [38.91]}
    )
    out = validate_facilities(raw, check_boundaries=False).facilities
    assert out.loc[0, "beds"] == 0 and not out.loc[0, "synthetic"]


def test_access_models_are_pure_and_the_store_has_no_cycle() -> None:
    # A fresh interpreter: importing the access models loads no database code (and so hooks no
    # audit listener), and the store's session module imports neither plans nor regions.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import healthwatch.access.facilities, healthwatch.access.ratios\n"
        "import healthwatch.access.coverage, healthwatch.access.siting\n"
        "import healthwatch.access.accessibility, healthwatch.access.svgmap\n"
        "bad = [m for m in sys.modules if m.startswith(('sqlalchemy', 'healthwatch.store',"
        " 'healthwatch.data', 'healthwatch.services'))]\n"
        "assert not bad, bad\n"
    )
    store = (
        "import sys\n"
        "import healthwatch.store.db\n"
        "assert not [m for m in sys.modules if m.startswith(('healthwatch.plans',"
        " 'healthwatch.regions'))], 'store.db imports plans/regions'\n"
    )
    for program in (code, store):
        result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
