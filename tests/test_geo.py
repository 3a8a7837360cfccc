"""GCJ-02 <-> WGS84 against published reference points, and boundaries in WGS84."""

from __future__ import annotations

import json

import numpy as np
import pytest

from healthwatch.errors import NotFoundError
from healthwatch.regions.geo import (
    boundary_geojson,
    gcj02_to_wgs84,
    point_in_region,
    points_in_geometry,
    wgs84_to_gcj02,
)
from healthwatch.regions.hierarchy import boundary_path

# The published test vectors of the eviltransform project (go/transform_test.go):
# (WGS84 lat, lon) -> (GCJ-02 lat, lon) for Shanghai, Shenzhen and Beijing.
REFERENCE = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
]


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_published_reference_points(wgs, gcj):
    lon, lat = wgs84_to_gcj02(wgs[1], wgs[0])
    assert float(lat) == pytest.approx(gcj[0], abs=1e-9)
    assert float(lon) == pytest.approx(gcj[1], abs=1e-9)
    back_lon, back_lat = gcj02_to_wgs84(gcj[1], gcj[0])
    assert float(back_lat) == pytest.approx(wgs[0], abs=1e-8)
    assert float(back_lon) == pytest.approx(wgs[1], abs=1e-8)


def test_round_trip_over_china_is_below_1e_6_degrees():
    rng = np.random.default_rng(7)
    lon = rng.uniform(73.0, 135.0, 20_000)
    lat = rng.uniform(3.9, 53.5, 20_000)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    shift = np.hypot(g_lon - lon, g_lat - lat)
    assert shift.min() > 1e-4  # every point in the rectangle is really moved (hundreds of m)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert np.max(np.abs(w_lon - lon)) < 1e-6
    assert np.max(np.abs(w_lat - lat)) < 1e-6
    assert w_lon.shape == lon.shape


def test_outside_china_is_unchanged_and_shapes_broadcast():
    lon = np.array([[-0.1276, 2.35], [151.2, 10.0]])
    lat = np.array([[51.5072, 48.86], [-33.87, 60.0]])
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert np.array_equal(g_lon, lon) and np.array_equal(g_lat, lat)
    w_lon, w_lat = gcj02_to_wgs84(lon, lat)
    assert np.array_equal(w_lon, lon) and np.array_equal(w_lat, lat)
    assert g_lon.shape == (2, 2)


def test_boundary_is_the_cnmaps_gcj02_boundary_converted():
    raw = json.loads(boundary_path("210302").read_text(encoding="utf-8"))
    converted = boundary_geojson("210302")
    assert converted["type"] == raw["type"] == "MultiPolygon"
    raw_ring = np.asarray(raw["coordinates"][0][0])
    ring = np.asarray(converted["coordinates"][0][0])
    assert ring.shape == raw_ring.shape
    # Converting back gives the published GCJ-02 coordinates (to the 1e-7 rounding).
    g_lon, g_lat = wgs84_to_gcj02(ring[:, 0], ring[:, 1])
    assert np.max(np.abs(g_lon - raw_ring[:, 0])) < 2e-7
    assert np.max(np.abs(g_lat - raw_ring[:, 1])) < 2e-7
    # In Anshan the WGS84 boundary lies west and south of the GCJ-02 one by a few hundred metres.
    assert 0.004 < np.mean(raw_ring[:, 0] - ring[:, 0]) < 0.008
    assert 0.0 < np.mean(raw_ring[:, 1] - ring[:, 1]) < 0.003


def test_unknown_boundary():
    with pytest.raises(NotFoundError):
        boundary_geojson("219999")


def test_point_in_region():
    # Anshan city centre, Shenyang city centre, Beijing (WGS84).
    lon = np.array([122.994, 123.431, 116.391])
    lat = np.array([41.108, 41.805, 39.907])
    assert point_in_region(lon, lat, "210300").tolist() == [True, False, False]
    assert point_in_region(lon, lat, "210100").tolist() == [False, True, False]
    assert point_in_region(lon, lat, "210000").tolist() == [True, True, False]


def test_points_in_polygon_with_hole():
    square = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]
    geometry = {"type": "Polygon", "coordinates": [square, hole]}
    inside = points_in_geometry([0.5, 2.0, 3.5, 5.0], [0.5, 2.0, 3.5, 2.0], geometry)
    assert inside.tolist() == [True, False, True, False]
