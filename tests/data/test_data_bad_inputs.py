"""The bad-input corpus: each file rejected with a precise error, and the database unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_data_store import counts, write_csv

from healthwatch.errors import InputError
from healthwatch.services import data as svc
from healthwatch.users import LOCAL_ADMIN

GOOD = (
    "region,period,element,value,comment\n"
    "210302,2023,beds,4100,铁东区\n210302,2023,physicians,1650,\n"
)


@pytest.fixture
def loaded(seeded_db_url, tmp_path) -> str:
    """A database with two values and one import already in it."""
    f = tmp_path / "seed.csv"
    f.write_text(GOOD, encoding="utf-8")
    svc.import_file(f, actor=LOCAL_ADMIN, db=seeded_db_url)
    return seeded_db_url


def reject(db: str, path: Path, **kw) -> list:
    before = counts(db)
    with pytest.raises(InputError) as info:
        svc.import_file(path, actor=LOCAL_ADMIN, db=db, **kw)
    assert counts(db) == before, "a rejected file must write nothing"
    assert info.value.problems, "the error must say what is wrong"
    for p in info.value.problems:
        assert p.reason_en and p.reason_zh and p.file == str(path)
    return info.value.problems


def test_valid_gbk_and_utf8_with_or_without_bom_are_read_alike(seeded_db_url, tmp_path):
    text = GOOD.replace("4100", "4200")
    for name, data in (
        ("gbk.csv", text.encode("gbk")),
        ("bom.csv", b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("plain.csv", text.encode("utf-8")),
    ):
        (tmp_path / name).write_bytes(data)
    first = svc.import_file(tmp_path / "gbk.csv", actor=LOCAL_ADMIN, db=seeded_db_url)
    assert first.inserted == 2
    for name in ("bom.csv", "plain.csv"):
        assert svc.import_file(tmp_path / name, actor=LOCAL_ADMIN, db=seeded_db_url).unchanged == 2
    assert svc.current_values(seeded_db_url, actor=LOCAL_ADMIN)["comment"].tolist() == [
        "铁东区",
        "",
    ]


def test_missing_columns(loaded, tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("region,period,value\n210302,2023,1\n", encoding="utf-8")
    (p,) = reject(loaded, f)
    assert (p.line, p.field) == (1, "element") and "missing" in p.reason_en


def test_text_in_number_cells(loaded, tmp_path):
    f = write_csv(
        tmp_path / "t.csv",
        [("210302", 2023, "beds", "四千"), ("210302", 2023, "nurses", '"1,200"')],
    )
    ps = reject(loaded, f)
    assert [(p.line, p.field) for p in ps] == [(2, "value"), (3, "value")]


def test_unknown_codes(loaded, tmp_path):
    f = write_csv(tmp_path / "u.csv", [("219999", 2023, "beds", 1), ("210302", 2023, "bed", 1)])
    ps = reject(loaded, f)
    assert [(p.line, p.field) for p in ps] == [(2, "region"), (3, "element")]
    assert "219999" in ps[0].reason_zh and "bed" in ps[1].reason_zh


def test_duplicate_rows_with_different_values(loaded, tmp_path):
    f = write_csv(tmp_path / "d.csv", [("210302", 2023, "beds", 10), ("210302", 2023, "beds", 12)])
    ps = reject(loaded, f)
    assert [p.line for p in ps] == [2, 3]


def test_locked_period(loaded, tmp_path):
    svc.submit("210302", "2023", actor=LOCAL_ADMIN, db=loaded)
    svc.approve("210302", "2023", actor=LOCAL_ADMIN, db=loaded)
    f = write_csv(tmp_path / "l.csv", [("210302", 2023, "beds", 4300)])
    (p,) = reject(loaded, f)
    assert p.field == "period" and "锁定" in p.reason_zh


def test_truncated_xlsx(loaded, tmp_path):
    full = tmp_path / "full.xlsx"
    svc.export(full, format="xlsx", actor=LOCAL_ADMIN, db=loaded)
    data = full.read_bytes()
    f = tmp_path / "cut.xlsx"
    f.write_bytes(data[: len(data) // 2])
    (p,) = reject(loaded, f)
    assert "damaged" in p.reason_en or "incomplete" in p.reason_en


def test_dhis2_unknown_ids(loaded, tmp_path):
    mapping = tmp_path / "map.csv"
    mapping.write_text(
        "type,uid,code\ndataElement,fbfJHSPpUQD,beds\norgUnit,DiszpKrYNg8,210302\n",
        encoding="utf-8",
    )
    doc = {
        "dataValues": [
            {
                "dataElement": "fbfJHSPpUQD",
                "period": "2023",
                "orgUnit": "DiszpKrYNg8",
                "value": "4100",
                "comment": "铁东区",
            },
            {
                "dataElement": "cYeuwXTCPkU",
                "period": "2023",
                "orgUnit": "DiszpKrYNg8",
                "value": "5",
            },
            {
                "dataElement": "fbfJHSPpUQD",
                "period": "2023",
                "orgUnit": "ImspTQPwCqd",
                "value": "5",
            },
        ]
    }
    f = tmp_path / "dv.json"
    f.write_text(json.dumps(doc), encoding="utf-8")
    ps = reject(loaded, f, mapping=mapping)
    assert [p.field for p in ps] == ["dataValues[1].dataElement", "dataValues[2].orgUnit"]
    assert "cYeuwXTCPkU" in ps[0].reason_en and "ImspTQPwCqd" in ps[1].reason_en
    # the mapped ids alone import (4100 beds with the same comment: unchanged)
    doc["dataValues"] = doc["dataValues"][:1]
    f.write_text(json.dumps(doc), encoding="utf-8")
    assert svc.import_file(f, actor=LOCAL_ADMIN, db=loaded, mapping=mapping).unchanged == 1


def test_dhis2_disaggregated_values_are_refused(loaded, tmp_path):
    f = tmp_path / "dv.csv"
    f.write_text(
        "dataelement,period,orgunit,catoptcombo,attroptcombo,value\n"
        "beds,2023,210302,Prlt0C1RF0s,,4100\n",
        encoding="utf-8",
    )
    (p,) = reject(loaded, f)
    assert (p.line, p.field) == (2, "catoptcombo")


def test_fhir_resource_that_is_not_a_measure_report(loaded, tmp_path):
    f = tmp_path / "patient.json"
    f.write_text(json.dumps({"resourceType": "Patient", "id": "p1"}), encoding="utf-8")
    (p,) = reject(loaded, f)
    assert p.field == "resourceType" and "Patient" in p.reason_en
    bundle = {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation"}}]}
    f.write_text(json.dumps(bundle), encoding="utf-8")
    (p,) = reject(loaded, f)
    assert p.field == "entry[0].resource.resourceType"


def test_empty_file(loaded, tmp_path):
    for name in ("empty.csv", "empty.json"):
        f = tmp_path / name
        f.write_bytes(b"")
        (p,) = reject(loaded, f)
        assert "empty" in p.reason_en
    f = tmp_path / "header_only.csv"
    f.write_text("region,period,element,value\n", encoding="utf-8")
    (p,) = reject(loaded, f)
    assert "no data rows" in p.reason_en


def test_binary_and_broken_json(loaded, tmp_path):
    f = tmp_path / "bin.csv"
    f.write_bytes(b"\x00\x01\x02binary")
    (p,) = reject(loaded, f)
    assert "binary" in p.reason_en
    g = tmp_path / "broken.json"
    g.write_text('{"dataValues": [\n{"dataElement": "beds",\n', encoding="utf-8")
    (p,) = reject(loaded, g)
    assert p.line == 3 and "JSON" in p.reason_en
