"""Coverage by great-circle and network distance, per-region totals and GeoJSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from healthwatch.access.coverage import coverage, radius_by_urban
from healthwatch.access.distance import EARTH_RADIUS_KM, haversine_matrix
from healthwatch.access.network import read_osm_xml
from healthwatch.errors import InputError


def test_coverage_equals_brute_force_with_urban_and_rural_radii() -> None:
    rng = np.random.default_rng(11)
    n = 500
    d = rng.uniform([122.8, 41.3], [124.0, 42.3], (n, 2))
    s = rng.uniform([122.8, 41.3], [124.0, 42.3], (15, 2))
    pop = rng.integers(0, 3000, n).astype(float)
    urban = rng.random(n) < 0.4
    radius = radius_by_urban(urban)
    assert set(radius[urban]) == {5.0} and set(radius[~urban]) == {15.0}
    res = coverage(d[:, 0], d[:, 1], pop, radius, s[:, 0], s[:, 1])
    dist = haversine_matrix(d[:, 0], d[:, 1], s[:, 0], s[:, 1])
    expected = (dist <= radius[:, None]).any(axis=1)
    assert np.array_equal(res.covered, expected)
    assert np.array_equal(res.nearest_station, dist.argmin(axis=1))
    assert np.allclose(res.nearest_distance, dist.min(axis=1))
    assert res.covered_population == pytest.approx(pop[expected].sum())
    assert res.share == pytest.approx(pop[expected].sum() / pop.sum())
    assert 0 < res.share < 1


def test_boundary_point_counts_as_covered() -> None:
    arc = EARTH_RADIUS_KM * math.radians(0.1)  # 0.1 degree of latitude
    res = coverage([123.0, 123.0], [41.1, 41.1001], [10, 20], arc, [123.0], [41.0])
    assert res.covered.tolist() == [True, False]
    assert res.covered_population == 10


def test_by_region_and_uncovered_geojson() -> None:
    lon = [123.0, 123.01, 124.0, 124.5]
    lat = [41.0, 41.0, 42.0, 42.0]
    res = coverage(lon, lat, [100, 50, 30, 20], 5.0, [123.0, 124.0], [41.0, 42.0])
    assert res.covered.tolist() == [True, True, True, False]
    table = res.by_region(["210102", "210102", "210124", "210124"])
    rows = table.set_index("region")
    assert rows.loc["210102", "covered_population"] == 150
    assert rows.loc["210124", "population"] == 50
    assert rows.loc["210124", "uncovered_points"] == 1
    assert rows.loc["210124", "share"] == pytest.approx(30 / 50)
    geo = res.uncovered_geojson(lon, lat, ids=np.array(["a", "b", "c", "d"]), region=["x"] * 4)
    json.dumps(geo)
    assert [f["properties"]["id"] for f in geo["features"]] == ["d"]
    assert geo["features"][0]["geometry"]["coordinates"] == [124.5, 42.0]
    assert geo["features"][0]["properties"]["nearest_station"] == 1


def test_network_coverage(tmp_path: Path) -> None:
    osm = tmp_path / "r.osm"
    osm.write_text(
        """<osm><node id="1" lon="123.00" lat="41.0"/><node id="2" lon="123.01" lat="41.0"/>
        <node id="3" lon="123.02" lat="41.0"/><node id="4" lon="123.03" lat="41.0"/>
        <way id="7"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/></way>
        <way id="8"><nd ref="3"/><nd ref="4"/><tag k="highway" v="primary"/>
        <tag k="oneway" v="yes"/></way></osm>"""
    )
    net = read_osm_xml(osm)
    # Station at n4 can't drive to n3 (one-way n3 -> n4); station at n1 is 1.68 km away.
    straight = coverage([123.02], [41.0], [5], 1.0, [123.0, 123.03], [41.0, 41.0])
    assert straight.covered.tolist() == [True]
    by_road = coverage(
        [123.02], [41.0], [5], 1.0, [123.0, 123.03], [41.0, 41.0], metric="network", network=net
    )
    assert by_road.covered.tolist() == [False]
    assert by_road.nearest_station.tolist() == [0]
    assert by_road.metric == "network_km"
    # Two minutes at 60 km/h covers 2 km of primary road: covered by time.
    by_time = coverage(
        [123.02], [41.0], [5], 2.0, [123.0], [41.0], metric="network", network=net, weight="time"
    )
    assert by_time.covered.tolist() == [True]
    with pytest.raises(InputError) as err:
        coverage([123.0, 123.1], [41.0, 41.0], [1, -4], 5.0, [123.0], [41.0])
    assert "row 2" in err.value.render() and err.value.problems[0].field == "population"
    with pytest.raises(InputError, match="road network"):
        coverage([123.0], [41.0], [1], 5.0, [123.0], [41.0], metric="network")
