"""The SVG charts: map shapes keep their area after simplification; trend chart content."""

from __future__ import annotations

import re

import numpy as np

from healthwatch.regions.hierarchy import descendants
from healthwatch.reports.charts import dominant_status, status_map_svg, trend_svg

LABELS = {"target_band": "b", "target_path": "p", "forecast_fan": "f", "no_data": "n"}


def _area(d: str) -> float:
    total = 0.0
    for ring in re.findall(r"M([^Z]+)Z", d):
        pts = np.array([[float(v) for v in p.split(",")] for p in ring.split(" L")])
        x, y = pts[:, 0], pts[:, 1]
        total += abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2
    return total


def test_map_shapes_keep_their_relative_area() -> None:
    cities = [r for r in descendants("210000") if r.level == "city"]
    statuses = {c.adcode: "lagging" for c in cities}
    svg = status_map_svg(statuses, {c.adcode: c.name for c in cities}, {"lagging": "滞后"}, "t")
    paths = re.findall(r'<path d="([^"]+)" fill="#f9a825"[^>]*><title>([^:]+):', svg)
    assert len(paths) == 14
    areas = {name: _area(d) for d, name in paths}
    share = {k: v / sum(areas.values()) for k, v in areas.items()}
    # Tieling and Dalian are among the larger cities; Panjin and Liaoyang the smallest
    assert share["铁岭市"] > 0.07 and share["大连市"] > 0.07
    assert share["盘锦市"] < 0.04 and share["辽阳市"] < 0.04
    assert "铁岭市</text>" in svg  # labelled


def test_trend_chart_draws_points_path_band_and_fan() -> None:
    svg = trend_svg(
        {2020: 2.96, 2021: 3.05, 2022: 3.2},
        start_year=2020,
        target_year=2025,
        baseline=(2020, 2.96),
        goal=4.0,
        band=(4.0, None),
        forecast={"year": 2025, "value": 3.6, "low": 3.3, "high": 3.9},
        labels=LABELS,
    )
    assert svg.count("<circle") == 3
    assert "stroke-dasharray" in svg and "<polygon" in svg and "#c8e6c9" in svg
    empty = trend_svg(
        {},
        start_year=2020,
        target_year=2025,
        baseline=None,
        goal=None,
        band=(None, None),
        forecast=None,
        labels=LABELS,
    )
    assert ">n</text>" in empty


def test_dominant_status() -> None:
    assert dominant_status(["achieved", "lagging", "lagging"]) == "lagging"
    assert dominant_status(["achieved", "moving_away"]) == "moving_away"  # ties: the worse
    assert dominant_status(["insufficient_data"]) == "insufficient_data"
