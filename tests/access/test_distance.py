"""Haversine distances, the KD-tree reach structure and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from healthwatch.access.distance import (
    EARTH_RADIUS_KM,
    Reach,
    check_points,
    haversine_km,
    haversine_matrix,
    nearest_site,
    within_radius,
)
from healthwatch.errors import InputError


def test_haversine_known_distances() -> None:
    # A quarter of a great circle and one degree of latitude, by hand from R = 6371.0088 km.
    assert haversine_km(0, 0, 90, 0) == pytest.approx(EARTH_RADIUS_KM * math.pi / 2, rel=1e-12)
    assert haversine_km(123.0, 41.0, 123.0, 42.0) == pytest.approx(
        EARTH_RADIUS_KM * math.pi / 180, rel=1e-12
    )
    # Along a parallel at latitude phi: 2R asin(cos(phi) sin(dlam/2)).
    phi = math.radians(41.8)
    expected = 2 * EARTH_RADIUS_KM * math.asin(math.cos(phi) * math.sin(math.radians(0.5) / 2))
    assert haversine_km(123.0, 41.8, 123.5, 41.8) == pytest.approx(expected, rel=1e-12)
    assert haversine_km(121.6, 38.9, 121.6, 38.9) == 0.0


def test_matrix_matches_elementwise_in_chunks() -> None:
    rng = np.random.default_rng(1)
    a = rng.uniform([119, 39], [125, 43], (37, 2))
    b = rng.uniform([119, 39], [125, 43], (11, 2))
    dense = haversine_matrix(a[:, 0], a[:, 1], b[:, 0], b[:, 1], chunk_rows=5)
    for i in range(37):
        for j in range(11):
            assert dense[i, j] == pytest.approx(haversine_km(a[i, 0], a[i, 1], b[j, 0], b[j, 1]))


def test_within_radius_equals_brute_force_with_per_point_radii() -> None:
    rng = np.random.default_rng(7)
    n, m = 400, 60
    d = rng.uniform([122.5, 41.0], [123.5, 42.0], (n, 2))
    s = rng.uniform([122.5, 41.0], [123.5, 42.0], (m, 2))
    radius = np.where(rng.random(n) < 0.5, 5.0, 15.0)
    reach = within_radius(d[:, 0], d[:, 1], radius, s[:, 0], s[:, 1])
    dense = haversine_matrix(d[:, 0], d[:, 1], s[:, 0], s[:, 1])
    expected = Reach.from_dense(dense, radius)
    assert np.array_equal(reach.indptr, expected.indptr)
    assert np.array_equal(reach.indices, expected.indices)
    assert np.allclose(reach.distance, expected.distance)
    assert reach.indices.size > 0
    # The 0/1 matrix has a_ij = 1 exactly where d_ij <= r_i.
    assert np.array_equal(reach.matrix().toarray() > 0, dense <= radius[:, None])


def test_point_exactly_at_radius_is_covered() -> None:
    # Site one degree of latitude north; radius equal to that arc, computed independently.
    radius = EARTH_RADIUS_KM * math.pi / 180
    reach = within_radius([123.0], [41.0], radius, [123.0, 123.0], [42.0, 42.0001])
    assert reach.indices.tolist() == [0]
    assert reach.distance[0] == pytest.approx(radius)
    # A zero distance is kept as an explicit pair.
    same = within_radius([123.0], [41.0], 0.0, [123.0], [41.0])
    assert same.counts.tolist() == [1]
    assert same.matrix().nnz == 1


def test_nearest_site() -> None:
    idx, dist = nearest_site([123.0, 121.6], [41.0, 38.9], [121.6, 123.1], [38.95, 41.0])
    assert idx.tolist() == [1, 0]
    assert dist[0] == pytest.approx(haversine_km(123.0, 41.0, 123.1, 41.0))
    idx, dist = nearest_site([123.0], [41.0], [], [])
    assert idx.tolist() == [-1] and np.isinf(dist[0])


def test_check_points_names_rows_and_reasons() -> None:
    with pytest.raises(InputError) as err:
        check_points(
            [123.0, 41.5, 150.0, np.nan],
            [41.0, 122.9, 30.0, 41.0],
            [10, 5, 3, -2],
            ids=["a", "b", "c", "d"],
            file="demand.csv",
            bbox=(118.5, 38.4, 126.2, 43.8),  # a caller's box; files are checked on polygons
        )
    problems = err.value.problems
    text = "\n".join(p.reason_en for p in problems)
    assert "id b" in text and "swap" in text
    assert "id c" in text and "outside" in text
    assert "id d" in text and "missing" in text
    assert any(p.field == "population" and "id d" in p.reason_en for p in problems)
    # Lines are CSV lines (header = line 1).
    assert {p.line for p in problems} == {3, 4, 5}
    check_points([123.0], [41.0], [0])  # a valid point passes
