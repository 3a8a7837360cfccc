"""SVG charts for the reports: an indicator's trend against its target path, and a status map.

Plain SVG built in Python: it is embedded in the HTML (one self-contained file), rendered by
WeasyPrint into the PDF, and needs no plotting library or network. Text in the SVG uses the
report's CJK font stack so Chinese renders in the PDF too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

STATUS_COLOUR = {
    "achieved": "#2e7d32",
    "on_schedule": "#66bb6a",
    "lagging": "#f9a825",
    "moving_away": "#c62828",
    "insufficient_data": "#bdbdbd",
}
FONT = "'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif"


def _nice(lo: float, hi: float) -> tuple[float, float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 1.0
    if hi - lo < 1e-9:
        pad = abs(hi) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def trend_svg(
    points: Mapping[int, float],
    *,
    start_year: int,
    target_year: int,
    baseline: tuple[int, float] | None,
    goal: float | None,
    band: tuple[float | None, float | None],
    forecast: Mapping[str, Any] | None,
    labels: Mapping[str, str],
    width: int = 360,
    height: int = 190,
) -> str:
    """Reported values (dots and line), the target path (dashed, base value to goal), the
    acceptable band (shaded) and the forecast fan (interval at the target year)."""
    years = sorted(points)
    x0 = min([*years, start_year, baseline[0] if baseline else start_year])
    x1 = max([*years, target_year])
    ys = [points[y] for y in years]
    for v in (goal, *(b for b in band if b is not None)):
        if v is not None:
            ys.append(v)
    if baseline:
        ys.append(baseline[1])
    if forecast and forecast.get("value") is not None:
        ys += [forecast["low"], forecast["high"], forecast["value"]]
    ys = [y for y in ys if y is not None and math.isfinite(y)]
    lo, hi = _nice(min(ys, default=0.0), max(ys, default=1.0))
    left, right, top, bottom = 44, 10, 10, 26
    pw, ph = width - left - right, height - top - bottom

    def sx(y: float) -> float:
        return left + (y - x0) / max(x1 - x0, 1) * pw

    def sy(v: float) -> float:
        return top + (hi - v) / (hi - lo) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="10">',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>',
    ]
    b_lo, b_hi = band
    if b_lo is not None or b_hi is not None:
        ya = sy(min(b_hi if b_hi is not None else hi, hi))
        yb = sy(max(b_lo if b_lo is not None else lo, lo))
        out.append(
            f'<rect x="{left}" y="{ya:.1f}" width="{pw}" height="{max(yb - ya, 0):.1f}" '
            f'fill="#c8e6c9" opacity="0.55"><title>{escape(labels["target_band"])}</title></rect>'
        )
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(
            f'<text x="{left - 4}" y="{sy(v) + 3:.1f}" text-anchor="end" fill="#555">{v:.3g}</text>'
        )
    step = max(1, math.ceil((x1 - x0) / 8))
    for y in range(x0, x1 + 1, step):
        out.append(
            f'<text x="{sx(y):.1f}" y="{height - 8}" text-anchor="middle" fill="#555">{y}</text>'
        )
    if baseline and goal is not None:
        out.append(
            f'<line x1="{sx(baseline[0]):.1f}" y1="{sy(baseline[1]):.1f}" '
            f'x2="{sx(target_year):.1f}" y2="{sy(goal):.1f}" stroke="#1565c0" '
            f'stroke-dasharray="4,3" stroke-width="1.5">'
            f"<title>{escape(labels['target_path'])}</title></line>"
        )
    if forecast and forecast.get("value") is not None and years:
        ly, lv = years[-1], points[years[-1]]
        fy = forecast["year"]
        out.append(
            f'<polygon points="{sx(ly):.1f},{sy(lv):.1f} {sx(fy):.1f},{sy(forecast["high"]):.1f} '
            f'{sx(fy):.1f},{sy(forecast["low"]):.1f}" fill="#ff8f00" opacity="0.25">'
            f"<title>{escape(labels['forecast_fan'])}</title></polygon>"
        )
        out.append(
            f'<line x1="{sx(ly):.1f}" y1="{sy(lv):.1f}" x2="{sx(fy):.1f}" '
            f'y2="{sy(forecast["value"]):.1f}" stroke="#ef6c00" stroke-dasharray="2,2"/>'
        )
    if len(years) > 1:
        pts = " ".join(f"{sx(y):.1f},{sy(points[y]):.1f}" for y in years)
        out.append(f'<polyline points="{pts}" fill="none" stroke="#212121" stroke-width="1.6"/>')
    for y in years:
        out.append(
            f'<circle cx="{sx(y):.1f}" cy="{sy(points[y]):.1f}" r="3" fill="#212121">'
            f"<title>{y}: {points[y]:.4g}</title></circle>"
        )
    if not years:
        out.append(
            f'<text x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle" fill="#888">'
            f"{escape(labels['no_data'])}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _rings(geometry: Mapping[str, Any]) -> list[np.ndarray]:
    polys = (
        geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    )
    return [np.asarray(ring, dtype=float) for poly in polys for ring in poly]


def _ring_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _label_point(ring: np.ndarray) -> tuple[float, float]:
    """Area centroid of a ring (shoelace formula); the vertex mean where the area is zero."""
    x, y = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    a = cross.sum() / 2
    if abs(a) < 1e-12:
        return float(x.mean()), float(y.mean())
    return float(((x + x1) * cross).sum() / (6 * a)), float(((y + y1) * cross).sum() / (6 * a))


def status_map_svg(
    statuses: Mapping[str, str],
    names: Mapping[str, str],
    legend: Mapping[str, str],
    title: str,
    width: int = 420,
) -> str:
    """Regions (cities or counties) filled by status; boundaries from ``healthwatch.regions``."""
    from healthwatch.regions.geo import boundary_geojson

    shapes: list[tuple[str, list[np.ndarray]]] = []
    for code in statuses:
        try:
            shapes.append((code, _rings(boundary_geojson(code))))
        except Exception:  # no boundary for this code: left off the map
            continue
    if not shapes:
        return ""
    allpts = np.vstack([r for _, rings in shapes for r in rings])
    xmin, ymin = allpts.min(axis=0)
    xmax, ymax = allpts.max(axis=0)
    kx = math.cos(math.radians((ymin + ymax) / 2))
    margin = 8
    scale = (width - 2 * margin) / ((xmax - xmin) * kx)
    map_h = (ymax - ymin) * scale + 2 * margin
    height = int(map_h + 24 + 16 * math.ceil(len(legend) / 3))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="10">',
        f'<text x="{margin}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
        '<g transform="translate(0,20)">',
    ]
    for code, rings in shapes:
        d = []
        for ring in rings:
            x = (ring[:, 0] - xmin) * kx * scale + margin
            y = (ymax - ring[:, 1]) * scale + margin
            # snap to a half-pixel grid and drop repeats: dense boundaries shrink to what shows
            pts = np.round(np.column_stack([x, y]) * 2) / 2
            keep = np.ones(len(pts), dtype=bool)
            keep[1:] = np.any(np.diff(pts, axis=0) != 0, axis=1)
            pts = pts[keep]
            if len(pts) >= 3:
                d.append("M" + " L".join(f"{a:g},{b:g}" for a, b in pts) + "Z")
        status = statuses[code]
        out.append(
            f'<path d="{" ".join(d)}" fill="{STATUS_COLOUR.get(status, "#eee")}" '
            f'stroke="#fff" stroke-width="0.8"><title>{escape(names.get(code, code))}: '
            f"{escape(legend.get(status, status))}</title></path>"
        )
    for code, rings in shapes:  # names on top of every shape, at the largest ring's centroid
        cx, cy = _label_point(max(rings, key=_ring_area))
        cx = (cx - xmin) * kx * scale + margin
        cy = (ymax - cy) * scale + margin
        out.append(
            f'<text x="{cx:.0f}" y="{cy:.0f}" text-anchor="middle" font-size="8" '
            f'fill="#212121" stroke="#fff" stroke-width="2" paint-order="stroke">'
            f"{escape(names.get(code, code))}</text>"
        )
    out.append("</g>")
    for i, (key, text) in enumerate(legend.items()):
        lx = margin + (i % 3) * (width - 2 * margin) / 3
        ly = map_h + 26 + 16 * (i // 3)
        out.append(
            f'<rect x="{lx:.0f}" y="{ly - 9:.0f}" width="10" height="10" '
            f'fill="{STATUS_COLOUR[key]}"/>'
            f'<text x="{lx + 14:.0f}" y="{ly:.0f}">{escape(text)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def dominant_status(statuses: Sequence[str]) -> str:
    """The status a region's map colour shows: the most common one among evaluated targets
    (insufficient data only where nothing else is known); ties go to the worse status."""
    order = ["moving_away", "lagging", "on_schedule", "achieved"]
    known = [s for s in statuses if s != "insufficient_data"]
    if not known:
        return "insufficient_data"
    return max(order, key=lambda s: (known.count(s), -order.index(s)))


def worst_status(statuses: Sequence[str]) -> str:
    """The worst known status (moving away < lagging < on schedule < achieved); insufficient
    data only where nothing is known."""
    order = ["moving_away", "lagging", "on_schedule", "achieved"]
    known = [s for s in statuses if s in order]
    return min(known, key=order.index) if known else "insufficient_data"
