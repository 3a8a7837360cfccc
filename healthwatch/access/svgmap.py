"""A plain SVG map of coverage and siting results: county boundaries plus GeoJSON points.

Why SVG and no web map: a commission's planning office often has no internet access on the
machine that runs healthwatch, and a CDN-loaded map library would show nothing there. An SVG
opens in any browser, can be embedded in a report and printed. The projection is equirectangular
with the x axis scaled by cos(mean latitude), which is faithful enough at provincial scale.

Points are styled by the GeoJSON ``properties`` that :mod:`healthwatch.access.coverage` and
:mod:`healthwatch.access.siting` write: ``kind`` = ``station`` / ``site`` / ``demand``, with
``covered`` (bool) on demand points and ``existing`` (bool) on sites.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from healthwatch.access.distance import plain, point_feature
from healthwatch.regions.geo import boundary_geojson, geometry_rings
from healthwatch.regions.hierarchy import LIAONING, descendants

_STYLE = {
    "demand_covered": ("circle", 1.6, "#2e7d32", "covered demand / 已覆盖需求点"),
    "demand_uncovered": ("circle", 2.2, "#e65100", "uncovered demand / 未覆盖需求点"),
    "station": ("square", 3.0, "#c62828", "EMS station / 急救站"),
    "site_existing": ("square", 3.4, "#6a1b9a", "existing site kept / 保留站点"),
    "site_new": ("diamond", 4.2, "#1565c0", "new site / 新增站点"),
}


class _Projection:
    def __init__(self, bounds: tuple[float, float, float, float], width: float, margin: float):
        xmin, ymin, xmax, ymax = bounds
        self.kx = math.cos(math.radians((ymin + ymax) / 2))
        self.xmin, self.ymax = xmin, ymax
        self.scale = (width - 2 * margin) / ((xmax - xmin) * self.kx)
        self.margin = margin
        self.height = (ymax - ymin) * self.scale + 2 * margin

    def __call__(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = (lon - self.xmin) * self.kx * self.scale + self.margin
        y = (self.ymax - lat) * self.scale + self.margin
        return x, y


def _ring_path(ring: np.ndarray, proj: _Projection) -> str:
    x, y = proj(ring[:, 0], ring[:, 1])
    pts = np.round(np.column_stack([x, y]) * 2) / 2  # half-pixel grid
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.any(np.diff(pts, axis=0) != 0, axis=1)  # drop repeats after rounding
    pts = pts[keep]
    if len(pts) < 3:
        return ""
    body = " L".join(f"{px:g},{py:g}" for px, py in pts)
    return f"M{body}Z"


def _marker(shape: str, x: float, y: float, r: float, colour: str, title: str) -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}">{tip}</circle>'
    if shape == "square":
        return (
            f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" '
            f'fill="{colour}" stroke="white" stroke-width="0.6">{tip}</rect>'
        )
    pts = f"{x:.1f},{y - r:.1f} {x + r:.1f},{y:.1f} {x:.1f},{y + r:.1f} {x - r:.1f},{y:.1f}"
    return (
        f'<polygon points="{pts}" fill="{colour}" stroke="white" stroke-width="0.6">{tip}</polygon>'
    )


def _style_key(props: Mapping[str, Any]) -> str:
    kind = props.get("kind", "demand")
    if kind == "site":
        return "site_existing" if props.get("existing") else "site_new"
    if kind == "station":
        return "station"
    return "demand_covered" if props.get("covered", False) else "demand_uncovered"


def render_svg(
    layers: Iterable[Mapping[str, Any]],
    *,
    regions: Sequence[str] | None = None,
    province: str = LIAONING,
    title: str = "",
    note: str = "",
    width: float = 1000.0,
) -> str:
    """An SVG document: the boundaries of ``regions`` (default: the counties of ``province``)
    and the point features of each GeoJSON FeatureCollection in ``layers``, with a legend."""
    if regions is None:
        regions = [r.adcode for r in descendants(province) if r.level == "county"]
    outline = boundary_geojson(province)
    rings = geometry_rings(outline)
    allpts = np.vstack(rings)
    bounds = (
        float(allpts[:, 0].min()),
        float(allpts[:, 1].min()),
        float(allpts[:, 0].max()),
        float(allpts[:, 1].max()),
    )
    proj = _Projection(bounds, width, 20.0)
    height = proj.height + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif">',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#f4f8fb"/>',
        '<g fill="#ffffff" stroke="#90a4ae" stroke-width="0.5">',
    ]
    for code in regions:
        d = "".join(_ring_path(r, proj) for r in geometry_rings(boundary_geojson(code)))
        parts.append(f'<path d="{d}" fill-rule="evenodd"><title>{code}</title></path>')
    parts.append("</g>")
    d = "".join(_ring_path(r, proj) for r in rings)
    parts.append(f'<path d="{d}" fill="none" stroke="#37474f" stroke-width="1.2"/>')
    counts: dict[str, int] = {}
    markers: dict[str, list[str]] = {k: [] for k in _STYLE}
    for layer in layers:
        for feat in layer.get("features", []):
            geom = feat.get("geometry") or {}
            if geom.get("type") != "Point":
                continue
            props = feat.get("properties") or {}
            key = _style_key(props)
            lon, lat = geom["coordinates"][:2]
            x, y = proj(np.array([lon]), np.array([lat]))
            shape, r, colour, _ = _STYLE[key]
            markers[key].append(
                _marker(shape, float(x[0]), float(y[0]), r, colour, str(props.get("id", "")))
            )
            counts[key] = counts.get(key, 0) + 1
    for key in _STYLE:  # demand first, sites on top
        parts += markers[key]
    y0 = 30.0
    parts.append(f'<text x="24" y="{y0}" font-size="16" font-weight="bold">{escape(title)}</text>')
    for i, key in enumerate(k for k in _STYLE if counts.get(k)):
        shape, r, colour, label = _STYLE[key]
        yy = y0 + 22 + 18 * i
        parts.append(_marker(shape, 30, yy - 4, r + 1, colour, ""))
        parts.append(f'<text x="42" y="{yy}" font-size="12">{escape(label)} ({counts[key]})</text>')
    if note:
        parts.append(
            f'<text x="24" y="{height - 12:.0f}" font-size="12" fill="#b71c1c">'
            f"{escape(note)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def coverage_geojson(
    covered: Sequence[bool] | np.ndarray,
    demand: Mapping[str, Any],
    stations: Mapping[str, Any],
    *,
    distance: Sequence[float] | np.ndarray | None = None,
    radius: Sequence[float] | np.ndarray | None = None,
) -> dict[str, Any]:
    """FeatureCollection of every demand point (``covered`` true/false) and every station.

    ``demand`` and ``stations`` are column mappings (DataFrames work) with id, lon, lat and, for
    demand, population.
    """
    feats: list[dict[str, Any]] = []
    for j in range(len(stations["id"])):
        station = {"kind": "station", "id": plain(stations["id"][j])}
        feats.append(point_feature(stations["lon"][j], stations["lat"][j], station))
    cov = np.asarray(covered, dtype=bool)
    for i in range(len(demand["id"])):
        props: dict[str, Any] = {
            "kind": "demand",
            "id": plain(demand["id"][i]),
            "population": float(demand["population"][i]),
            "covered": bool(cov[i]),
        }
        if distance is not None:
            d = float(np.asarray(distance)[i])
            props["nearest_distance"] = d if math.isfinite(d) else None
        if radius is not None:
            props["radius"] = float(np.asarray(radius)[i])
        feats.append(point_feature(demand["lon"][i], demand["lat"][i], props))
    return {"type": "FeatureCollection", "features": feats}
