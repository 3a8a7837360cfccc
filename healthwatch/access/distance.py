"""Great-circle distances and sparse "who is within reach of whom" structures.

Every access model (coverage, siting, accessibility) starts from the same question: which
stations or candidate sites lie within each demand point's service radius? For 20,000 demand
points x 1,000 sites a dense matrix is wasteful, so :func:`within_radius` finds the candidate
pairs with a k-d tree on 3-D unit vectors (the chord length is a monotone function of the
great-circle angle, so a chord query with the converted radius returns exactly the pairs whose
great-circle distance is within the radius, plus floating-point stragglers) and then re-checks every
pair with the haversine formula.

Boundary rule: a point exactly at the radius is covered (``d <= r``). Because two formulas
evaluated in floating point may disagree in the last bits, the comparison uses
``d <= r + RADIUS_TOLERANCE_KM`` (one micrometre), far below any meaningful distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.spatial import cKDTree

from healthwatch.errors import InputError, Problem

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), the one the plan's service radii are measured with."""

RADIUS_TOLERANCE_KM = 1e-9
"""Slack added to every ``d <= r`` test so that a point exactly on the radius counts as covered."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def haversine_km(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in km between points given in degrees (numpy broadcasting)."""
    lam1, phi1, lam2, phi2 = (
        np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2)
    )
    h = (
        np.sin((phi2 - phi1) / 2.0) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2.0) ** 2
    )
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def haversine_matrix(
    lon_a: npt.ArrayLike,
    lat_a: npt.ArrayLike,
    lon_b: npt.ArrayLike,
    lat_b: npt.ArrayLike,
    *,
    chunk_rows: int = 2048,
) -> FloatArray:
    """Dense ``len(a) x len(b)`` distance matrix in km, computed in row chunks to bound memory."""
    la, pa = np.asarray(lon_a, dtype=float), np.asarray(lat_a, dtype=float)
    lb, pb = np.asarray(lon_b, dtype=float), np.asarray(lat_b, dtype=float)
    out = np.empty((la.size, lb.size))
    for start in range(0, la.size, chunk_rows):
        stop = min(start + chunk_rows, la.size)
        out[start:stop] = haversine_km(
            la[start:stop, None], pa[start:stop, None], lb[None, :], pb[None, :]
        )
    return out


def unit_vectors(lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
    """Points on the unit sphere (n x 3), so that Euclidean chord order = great-circle order."""
    lam = np.radians(np.asarray(lon, dtype=float))
    phi = np.radians(np.asarray(lat, dtype=float))
    cos_phi = np.cos(phi)
    return np.column_stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)])


def chord_for_km(distance_km: npt.ArrayLike) -> FloatArray:
    """Chord length on the unit sphere for a great-circle distance in km."""
    angle = np.minimum(np.asarray(distance_km, dtype=float) / EARTH_RADIUS_KM, np.pi)
    return np.asarray(2.0 * np.sin(angle / 2.0))


def km_for_chord(chord: npt.ArrayLike) -> FloatArray:
    """Great-circle distance in km for a chord length on the unit sphere."""
    c = np.clip(np.asarray(chord, dtype=float) / 2.0, 0.0, 1.0)
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(c))


@dataclass(frozen=True)
class Reach:
    """Sparse demand x site reachability in CSR layout, with the distance of every kept pair.

    Row ``i`` lists the sites ``indices[indptr[i]:indptr[i+1]]`` within demand point ``i``'s
    radius, sorted by site index, and ``distance[...]`` their distances (km, or minutes for
    travel-time networks). Zero distances are kept explicitly, which a scipy sparse matrix with
    distances as values would silently drop; :meth:`matrix` gives the 0/1 pattern instead.
    """

    indptr: IntArray
    indices: IntArray
    distance: FloatArray
    n_sites: int

    @property
    def n_demand(self) -> int:
        return int(self.indptr.size - 1)

    @property
    def counts(self) -> IntArray:
        """Number of sites within reach of each demand point."""
        return np.diff(self.indptr)

    def matrix(self) -> sparse.csr_matrix:
        """0/1 coverage matrix ``a_ij`` (demand x site) as ``float64`` CSR."""
        data = np.ones(self.indices.size)
        return sparse.csr_matrix(
            (data, self.indices, self.indptr), shape=(self.n_demand, self.n_sites)
        )

    @classmethod
    def from_pairs(
        cls, rows: IntArray, cols: IntArray, dist: FloatArray, n_demand: int, n_sites: int
    ) -> Reach:
        """Build from unordered (demand, site, distance) triples."""
        order = np.lexsort((cols, rows))
        rows, cols, dist = rows[order], cols[order], dist[order]
        indptr = np.zeros(n_demand + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_demand), out=indptr[1:])
        return cls(indptr, cols.astype(np.int64), dist.astype(float), n_sites)

    @classmethod
    def from_dense(cls, dist: npt.ArrayLike, radius: npt.ArrayLike) -> Reach:
        """Build from a dense distance matrix and per-row (or scalar) radius, ``d <= r`` kept."""
        d = np.asarray(dist, dtype=float)
        r = np.broadcast_to(np.asarray(radius, dtype=float), (d.shape[0],))
        rows, cols = np.nonzero(d <= r[:, None] + RADIUS_TOLERANCE_KM)
        return cls.from_pairs(rows, cols, d[rows, cols], d.shape[0], d.shape[1])


def within_radius(
    demand_lon: npt.ArrayLike,
    demand_lat: npt.ArrayLike,
    radius_km: npt.ArrayLike,
    site_lon: npt.ArrayLike,
    site_lat: npt.ArrayLike,
) -> Reach:
    """All (demand, site) pairs with great-circle distance ``<= radius`` of that demand point.

    ``radius_km`` is a scalar or one radius per demand point (urban 5 km, rural 15 km ...).
    """
    d_lon = np.asarray(demand_lon, dtype=float)
    s_lon = np.asarray(site_lon, dtype=float)
    n, m = d_lon.size, s_lon.size
    radius = np.broadcast_to(np.asarray(radius_km, dtype=float), (n,))
    if n == 0 or m == 0:
        return Reach(np.zeros(n + 1, dtype=np.int64), np.zeros(0, np.int64), np.zeros(0), m)
    demand_xyz = unit_vectors(d_lon, demand_lat)
    site_xyz = unit_vectors(s_lon, site_lat)
    # Query with the largest radius (slightly widened), then apply each point's own radius exactly.
    max_chord = float(chord_for_km(radius.max())) * (1 + 1e-9) + 1e-12
    pairs = cKDTree(demand_xyz).sparse_distance_matrix(
        cKDTree(site_xyz), max_chord, output_type="ndarray"
    )
    rows = pairs["i"].astype(np.int64)
    cols = pairs["j"].astype(np.int64)
    dist = haversine_km(
        d_lon[rows],
        np.asarray(demand_lat, dtype=float)[rows],
        s_lon[cols],
        np.asarray(site_lat, dtype=float)[cols],
    )
    keep = dist <= radius[rows] + RADIUS_TOLERANCE_KM
    return Reach.from_pairs(rows[keep], cols[keep], dist[keep], n, m)


def nearest_site(
    demand_lon: npt.ArrayLike,
    demand_lat: npt.ArrayLike,
    site_lon: npt.ArrayLike,
    site_lat: npt.ArrayLike,
) -> tuple[IntArray, FloatArray]:
    """Index of and haversine distance (km) to the nearest site for each demand point.

    With no sites, index is -1 and distance +inf.
    """
    d_lon = np.asarray(demand_lon, dtype=float)
    d_lat = np.asarray(demand_lat, dtype=float)
    s_lon = np.asarray(site_lon, dtype=float)
    s_lat = np.asarray(site_lat, dtype=float)
    if s_lon.size == 0:
        return np.full(d_lon.size, -1, dtype=np.int64), np.full(d_lon.size, np.inf)
    _, idx = cKDTree(unit_vectors(s_lon, s_lat)).query(unit_vectors(d_lon, d_lat), k=1)
    idx = np.asarray(idx, dtype=np.int64)
    return idx, haversine_km(d_lon, d_lat, s_lon[idx], s_lat[idx])


def check_points(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    population: npt.ArrayLike | None = None,
    *,
    ids: npt.ArrayLike | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    file: str | None = None,
    line_offset: int = 2,
) -> None:
    """Reject missing or out-of-region coordinates, swapped lon/lat and negative populations.

    All bad rows are reported at once. ``line`` in each problem is ``index + line_offset``
    (2 = a CSV file with one header line); the row's id is named in the message when given.
    ``bbox=None`` only checks the global ranges (lon in [-180, 180], lat in [-90, 90]).
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    names = None if ids is None else [str(v) for v in np.asarray(ids, dtype=object)]
    problems: list[Problem] = []

    def add(i: int, field: str, en: str, zh: str) -> None:
        tag_en = f"row {i + 1}" + (f" (id {names[i]})" if names is not None else "")
        tag_zh = f"第 {i + 1} 行" + (f"（编号 {names[i]}）" if names is not None else "")
        line = i + line_offset if file is not None else None
        problems.append(Problem(f"{tag_en}: {en}", f"{tag_zh}：{zh}", file, line, field))

    def inside(px: FloatArray, py: FloatArray) -> npt.NDArray[np.bool_]:
        if bbox is None:
            return (np.abs(px) <= 180) & (np.abs(py) <= 90)
        x0, y0, x1, y1 = bbox
        return (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)

    finite = np.isfinite(x) & np.isfinite(y)
    ok = finite & inside(x, y)
    swapped = finite & ~ok & inside(y, x)
    region = "the region"
    if bbox is not None:
        region += f" (lon {bbox[0]}..{bbox[2]}, lat {bbox[1]}..{bbox[3]})"
    for i in np.flatnonzero(~ok):
        if not finite[i]:
            add(int(i), "lon/lat", "coordinate is missing or not a number", "坐标缺失或不是数字")
        elif swapped[i]:
            add(
                int(i),
                "lon/lat",
                f"lon={x[i]}, lat={y[i]} look swapped: swap the lon and lat columns",
                f"经度={x[i]}，纬度={y[i]} 似乎颠倒，请交换经纬度两列",
            )
        else:
            add(
                int(i),
                "lon/lat",
                f"lon={x[i]}, lat={y[i]} is outside {region}",
                f"经度={x[i]}，纬度={y[i]} 超出区域范围",
            )
    if population is not None:
        pop = np.asarray(population, dtype=float)
        for i in np.flatnonzero(~np.isfinite(pop) | (pop < 0)):
            add(
                int(i),
                "population",
                f"population {pop[i]} must be a number >= 0",
                f"人口 {pop[i]} 必须是不小于 0 的数字",
            )
    if problems:
        raise InputError(
            problems,
            "Some points have bad coordinates or populations; nothing was computed.",
            "部分点的坐标或人口有误，未进行计算。",
        )


def point_feature(lon: Any, lat: Any, props: dict[str, Any]) -> dict[str, Any]:
    """One GeoJSON Point feature; coordinates as plain floats so that ``json.dumps`` takes them."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
        "properties": props,
    }


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value ``json.dumps`` accepts; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value
