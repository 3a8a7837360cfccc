"""Malformed input to the facility and population readers: a corpus and a Hypothesis fuzz test.

Every input either loads or is refused with a bilingual InputError, and a refused input leaves
the database byte-for-byte unchanged (a dump of every table before and after), on SQLite and
PostgreSQL. Also: points checked on real boundaries (not Liaoning's bounding box), other
provinces usable, and the CLI's clear errors for the cases issue 8 lists.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from healthwatch.data.facilities import read_facilities
from healthwatch.data.points import read_points
from healthwatch.data.populations import read_populations
from healthwatch.errors import HealthwatchError, InputError
from healthwatch.services.access import import_facilities
from healthwatch.services.regions import load_population_file
from healthwatch.store.db import get_engine
from healthwatch.store.models import Base
from healthwatch.users import LOCAL_ADMIN

HEADER = "id,name,kind,adcode,lon,lat,beds,ambulances,negative_pressure,year"
GOOD_ROW = "H1,铁东医院,hospital,210302,122.99,41.11,800,2,1,2021"
PYONGYANG = (125.75, 39.02)
QINHUANGDAO = (119.60, 39.93)  # Hebei, inside Liaoning's bounding box


def dump(url: str) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Every row of every table, in primary-key order: equal dumps mean an unchanged database."""
    engine = get_engine(url)
    out = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out.append((table.name, [tuple(r) for r in rows]))
    return out


def _xlsx_bytes() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame([GOOD_ROW.split(",")], columns=HEADER.split(",")).to_excel(buf, index=False)
    return buf.getvalue()


# name -> file bytes; each must be refused (InputError) and write nothing.
BAD_FACILITY_FILES: dict[str, bytes] = {
    "bed_header.csv": (HEADER.replace("beds", "bed") + "\n" + GOOD_ROW + "\n").encode(),
    "missing_lat.csv": b"id,name,kind,lon\nH1,x,hospital,122.99\n",
    "binary.csv": bytes(range(256)) * 4,
    "empty.csv": b"",
    "blank.csv": b"\n\n  \n",
    "truncated.xlsx": _xlsx_bytes()[:200],
    "not_zip.xlsx": b"PK\x03\x04 broken",
    "overflow.csv": (HEADER + "\nH1,x,hospital,210302,122.99,41.11,1e400,0,0,2021\n").encode(),
    "huge_int.csv": (
        HEADER + "\nH1,x,hospital,210302,122.99,41.11,99999999999999999999999,0,0,2021\n"
    ).encode(),
    "count_inf.csv": (HEADER + "\nH1,x,hospital,210302,122.99,41.11,inf,0,0,2021\n").encode(),
    "count_nan.csv": (HEADER + "\nH1,x,hospital,210302,122.99,41.11,nan,0,0,2021\n").encode(),
    "negative.csv": (HEADER + "\nH1,x,hospital,210302,122.99,41.11,-5,0,0,2021\n").encode(),
    "absurd.csv": (HEADER + "\nH1,x,hospital,210302,122.99,41.11,1e300,0,0,2021\n").encode(),
    "year_1899.csv": (HEADER + "\nH1,x,hospital,210302,122.99,41.11,5,0,0,1899\n").encode(),
    "lon_nan.csv": (HEADER + "\nH1,x,hospital,210302,nan,41.11,5,0,0,2021\n").encode(),
    "lat_inf.csv": (HEADER + "\nH1,x,hospital,210302,122.99,inf,5,0,0,2021\n").encode(),
    "pyongyang.csv": (
        HEADER + f"\nH1,x,hospital,,{PYONGYANG[0]},{PYONGYANG[1]},5,0,0,2021\n"
        f"H2,y,hospital,210302,122.99,41.11,5,0,0,2021\n"
    ).encode(),
    "qinhuangdao.csv": (
        HEADER + f"\nH1,x,hospital,,{QINHUANGDAO[0]},{QINHUANGDAO[1]},5,0,0,2021\n"
        f"H2,y,hospital,210302,122.99,41.11,5,0,0,2021\n"
    ).encode(),
    "id_too_long.csv": (
        HEADER + "\n" + "H" * 101 + ",x,hospital,210302,122.99,41.11,5,0,0,2021\n"
    ).encode(),
    "synthetic_word.csv": (HEADER + ",synthetic\n" + GOOD_ROW + ",perhaps\n").encode(),
}

BAD_POPULATION_FILES: dict[str, bytes] = {
    "negative.csv": b"adcode,year,resident_population\n210302,2022,-5\n",
    "absurd.csv": b"adcode,year,resident_population\n210302,2022,1e300\n",
    "inf.csv": b"adcode,year,resident_population\n210302,2022,inf\n",
    "nan.csv": b"adcode,year,resident_population\n210302,2022,nan\n",
    "overflow.csv": b"adcode,year,resident_population\n210302,2022,1e400\n",
    "year_1899.csv": b"adcode,year,resident_population\n210302,1899,5000\n",
    "wide_1899.csv": b"adcode,resident_population_10k_1899\n210300,300\n",
    "unknown_column.csv": b"adcode,year,resident_population,note\n210302,2022,5000,x\n",
    "binary.csv": b"\x00\x01\x02" * 100,
    "empty.csv": b"",
    "truncated.xlsx": _xlsx_bytes()[:300],
}


@pytest.fixture
def ready_db(db_url: str) -> str:
    """A database at the newest schema (the imports may then write into it)."""
    from healthwatch.store.db import upgrade

    upgrade(db_url)
    return db_url


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_facility_corpus_is_refused_whole_and_writes_nothing(ready_db: str, tmp_path: Path) -> None:
    seed = _write(tmp_path, "seed.csv", (HEADER + "\n" + GOOD_ROW + "\n").encode())
    import_facilities(seed, actor=LOCAL_ADMIN, db=ready_db)
    before = dump(ready_db)
    for name, data in BAD_FACILITY_FILES.items():
        path = _write(tmp_path, name, data)
        with pytest.raises(InputError) as info:
            import_facilities(path, actor=LOCAL_ADMIN, db=ready_db)
        text = info.value.render()
        assert str(path) in text, name
        assert all(p.reason_zh and p.reason_en for p in info.value.problems), name
        assert dump(ready_db) == before, name


def test_population_corpus_is_refused_whole_and_writes_nothing(
    ready_db: str, tmp_path: Path
) -> None:
    before = dump(ready_db)
    for name, data in BAD_POPULATION_FILES.items():
        path = _write(tmp_path, name, data)
        with pytest.raises(InputError) as info:
            load_population_file(path, actor=LOCAL_ADMIN, db=ready_db)
        assert str(path) in info.value.render(), name
        assert dump(ready_db) == before, name


def test_gbk_and_bom_files_are_read(tmp_path: Path) -> None:
    text = HEADER.replace("beds", "床位数") + "\n" + GOOD_ROW + "\n"
    for encoding in ("gbk", "utf-8-sig", "utf-8"):
        path = _write(tmp_path, f"f-{encoding}.csv", text.encode(encoding))
        assert read_facilities(path).facilities.loc[0, "beds"] == 800
        pop = _write(
            tmp_path,
            f"p-{encoding}.csv",
            "adcode,name,year,resident_population\n210302,铁东区,2022,500000\n".encode(encoding),
        )
        assert read_populations(pop)[0].persons == 500_000


def test_the_bed_header_is_named() -> None:
    # The case: it used to import with exit 0 and 0 beds.
    from healthwatch.access.facilities import validate_facilities

    raw = pd.DataFrame([GOOD_ROW.split(",")], columns=HEADER.replace("beds", "bed").split(","))
    with pytest.raises(InputError) as info:
        validate_facilities(raw)
    assert [(p.line, p.field) for p in info.value.problems] == [(1, "bed")]
    assert "未知的列" in info.value.render() and "unknown column" in info.value.render()


# --------------------------------------------------------------------------------------------
# Geography: real boundaries, any province
# --------------------------------------------------------------------------------------------


def test_points_outside_the_province_polygon_are_refused(tmp_path: Path) -> None:
    demand = _write(
        tmp_path,
        "d.csv",
        (
            "id,lon,lat,population\n"
            f"pyongyang,{PYONGYANG[0]},{PYONGYANG[1]},10\n"
            f"qinhuangdao,{QINHUANGDAO[0]},{QINHUANGDAO[1]},10\n"
            "shenyang,123.38,41.77,10\n"
        ).encode(),
    )
    with pytest.raises(InputError) as info:
        read_points(demand, "demand", province="210000")
    assert {p.line for p in info.value.problems} == {2, 3}
    assert all("辽宁省" in p.reason_zh for p in info.value.problems)


def test_a_point_outside_its_county_is_refused(tmp_path: Path) -> None:
    # Shenyang's coordinates labelled as Anshan's 铁东区.
    path = _write(tmp_path, "s.csv", b"id,lon,lat,adcode\ns1,123.38,41.77,210302\n")
    with pytest.raises(InputError) as info:
        read_points(path, "stations")
    assert "铁东区" in info.value.render() and "km outside" in info.value.render()


def test_another_province_can_use_the_access_tools(tmp_path: Path) -> None:
    # Jilin: 长春市 朝阳区 (220104) and a point in Changchun without an adcode.
    fac = _write(
        tmp_path,
        "jilin.csv",
        (
            HEADER + "\nJ1,长春医院,hospital,220104,125.30,43.86,500,0,0,2021\n"
            "J2,长春卫生院,乡镇卫生院,,125.32,43.88,20,0,0,2021\n"
        ).encode(),
    )
    registry = read_facilities(fac).facilities
    assert registry["adcode"].str.startswith("2201").all()
    demand = _write(tmp_path, "d.csv", b"id,lon,lat,population\na,125.31,43.87,1000\n")
    assert len(read_points(demand, "demand", province="220000")) == 1
    with pytest.raises(InputError):
        read_points(demand, "demand", province="210000")  # not in Liaoning


def test_ratios_warn_when_facilities_and_populations_differ(tmp_path: Path) -> None:
    from healthwatch.services.access import ratios

    fac = _write(tmp_path, "f.csv", (HEADER + "\n" + GOOD_ROW + "\n").encode())
    pop = _write(tmp_path, "p.csv", b"adcode,year,resident_population\n220100,2021,9000000\n")
    run = ratios(facilities_file=fac, population_file=pop, levels=["city"])
    assert run.plan_id == "liaoning-2021-2025"
    (zh, en), *_ = run.warnings
    assert "不是同一省份" in zh and "different provinces" in en and "220000" in en
    same = _write(tmp_path, "q.csv", b"adcode,year,resident_population\n210300,2021,3282000\n")
    assert ratios(facilities_file=fac, population_file=same, levels=["city"]).warnings == ()


# --------------------------------------------------------------------------------------------
# Fuzzing: any input loads or is refused, and a refusal writes nothing
# --------------------------------------------------------------------------------------------

_COLUMNS = [*HEADER.split(","), "bed", "床位数", "synthetic", "crs", "nurses", "名称", ""]
_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "nan",
            "inf",
            "-inf",
            "-5",
            "1e300",
            "1e400",
            "0",
            "3",
            "2021",
            "1899",
            "122.99",
            "41.11",
            "210302",
            "hospital",
            "医院",
            "y",
            "GCJ02",
            "三甲",
            "99999999999999999999",
        ]
    ),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    pd.DataFrame(rows, columns=range(len(header))).to_csv(buf, header=header, index=False)
    return buf.getvalue()


@st.composite
def facility_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["csv", "bytes", "xlsx-cut"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    header = draw(st.lists(st.sampled_from(_COLUMNS), min_size=1, max_size=12))
    rows = draw(st.lists(st.lists(_CELLS, min_size=len(header), max_size=len(header)), max_size=4))
    text = _csv(header, rows)
    if kind == "xlsx-cut":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("x.xml", text)
        data = buf.getvalue()
        return data[: draw(st.integers(0, len(data)))]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    return text.encode(encoding, errors="replace")


@st.composite
def population_files(draw: st.DrawFn) -> bytes:
    header = draw(
        st.lists(
            st.sampled_from(
                [
                    "adcode",
                    "name",
                    "year",
                    "resident_population",
                    "resident_population_10k_2021",
                    "resident_population_10k_1899",
                    "registered_population_10k_2021",
                    "note",
                ]
            ),
            min_size=1,
            max_size=5,
        )
    )
    rows = draw(st.lists(st.lists(_CELLS, min_size=len(header), max_size=len(header)), max_size=4))
    return _csv(header, rows).encode(draw(st.sampled_from(["utf-8", "gb18030"])), "replace")


def _loads_or_refuses(call: Any, url: str) -> None:
    before = dump(url)
    try:
        call()
    except HealthwatchError as exc:
        assert exc.message_zh and exc.message_en and exc.render()
        assert dump(url) == before


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=facility_files(), suffix=st.sampled_from([".csv", ".xlsx", ".txt"]))
def test_fuzz_facility_files(ready_db: str, tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    _loads_or_refuses(lambda: import_facilities(path, actor=LOCAL_ADMIN, db=ready_db), ready_db)


@FUZZ
@given(data=population_files())
def test_fuzz_population_files(ready_db: str, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    _loads_or_refuses(lambda: load_population_file(path, actor=LOCAL_ADMIN, db=ready_db), ready_db)
