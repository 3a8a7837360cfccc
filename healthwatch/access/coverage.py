"""EMS coverage: who lives within the service radius of a station.

The plan sets a pre-hospital service radius of at most 5 km in cities and 10-20 km in the
countryside. :func:`coverage` applies one radius per demand point (see :func:`radius_by_urban`),
measures distance along the great circle (haversine, mean Earth radius 6,371.0088 km) or over a
road network (km or minutes), and counts a point exactly at the radius as covered.

A demand point is covered when its *nearest* station is within its radius: with one radius per
point the nearest station decides, so nothing is lost by looking at it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from healthwatch.access.distance import (
    RADIUS_TOLERANCE_KM,
    FloatArray,
    IntArray,
    check_points,
    nearest_site,
    plain,
    point_feature,
)
from healthwatch.access.network import RoadNetwork, Weight, nearest_by_network
from healthwatch.errors import InputError, Problem

URBAN_RADIUS_KM = 5.0
RURAL_RADIUS_KM = 15.0


def radius_by_urban(
    urban: npt.ArrayLike, urban_km: float = URBAN_RADIUS_KM, rural_km: float = RURAL_RADIUS_KM
) -> FloatArray:
    """Per-point radius: ``urban_km`` where ``urban`` is true (city district), else ``rural_km``."""
    return np.where(np.asarray(urban, dtype=bool), urban_km, rural_km).astype(float)


@dataclass(frozen=True)
class CoverageResult:
    """Coverage of each demand point and the population totals.

    ``nearest_distance`` is in km (haversine or network length) or minutes (network time);
    ``nearest_station`` is -1 where no station can be reached.
    """

    covered: npt.NDArray[np.bool_]
    nearest_station: IntArray
    nearest_distance: FloatArray
    radius: FloatArray
    population: FloatArray
    metric: str

    @property
    def total_population(self) -> float:
        return float(self.population.sum())

    @property
    def covered_population(self) -> float:
        return float(self.population[self.covered].sum())

    @property
    def share(self) -> float:
        """Covered share of the population (NaN when the population is zero)."""
        total = self.total_population
        return self.covered_population / total if total > 0 else float("nan")

    def by_region(self, region: npt.ArrayLike) -> pd.DataFrame:
        """Totals per region code (county adcode, township ...), one row per distinct code."""
        frame = pd.DataFrame(
            {
                "region": np.asarray(region),
                "points": 1,
                "uncovered_points": (~self.covered).astype(int),
                "population": self.population,
                "covered_population": np.where(self.covered, self.population, 0.0),
            }
        )
        out = frame.groupby("region", sort=True).sum().reset_index()
        total = out["population"].to_numpy(dtype=float)
        share = np.divide(
            out["covered_population"].to_numpy(dtype=float),
            total,
            out=np.full(total.size, np.nan),
            where=total > 0,
        )
        out["share"] = share
        return out

    def uncovered_geojson(
        self,
        lon: npt.ArrayLike,
        lat: npt.ArrayLike,
        ids: npt.ArrayLike | None = None,
        region: npt.ArrayLike | None = None,
    ) -> dict[str, Any]:
        """GeoJSON FeatureCollection of the uncovered demand points (WGS84/GCJ-02 as given)."""
        x = np.asarray(lon, dtype=float)
        y = np.asarray(lat, dtype=float)
        features = []
        for i in np.flatnonzero(~self.covered):
            props: dict[str, Any] = {
                "id": plain(ids[i]) if ids is not None else int(i),  # type: ignore[index]
                "population": float(self.population[i]),
                "radius": float(self.radius[i]),
                "nearest_station": int(self.nearest_station[i]),
                "nearest_distance": _finite_or_none(self.nearest_distance[i]),
                "metric": self.metric,
            }
            if region is not None:
                props["region"] = plain(np.asarray(region)[i])
            features.append(point_feature(x[i], y[i], props))
        return {"type": "FeatureCollection", "features": features}


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def coverage(
    demand_lon: npt.ArrayLike,
    demand_lat: npt.ArrayLike,
    population: npt.ArrayLike,
    radius_km: npt.ArrayLike,
    station_lon: npt.ArrayLike,
    station_lat: npt.ArrayLike,
    *,
    metric: Literal["haversine", "network"] = "haversine",
    network: RoadNetwork | None = None,
    weight: Weight = "length",
    access_speed_kmh: float = 15.0,
) -> CoverageResult:
    """Which demand points lie within their radius of the nearest station.

    ``radius_km`` is a scalar or one value per point; with ``metric="network"`` and
    ``weight="time"`` it is read as minutes. Missing coordinates and negative populations are
    rejected here; files are checked against real region boundaries (and swapped lon/lat
    named) by :func:`healthwatch.data.points.read_points` before they get here.
    """
    lon = np.asarray(demand_lon, dtype=float)
    lat = np.asarray(demand_lat, dtype=float)
    pop = np.asarray(population, dtype=float)
    radius = np.broadcast_to(np.asarray(radius_km, dtype=float), lon.shape).copy()
    if pop.shape != lon.shape or lat.shape != lon.shape:
        raise InputError(
            [
                Problem(
                    "demand lon, lat and population must have the same length",
                    "需求点的经度、纬度与人口长度必须一致",
                )
            ]
        )
    check_points(lon, lat, pop, bbox=None)
    if metric == "haversine":
        station, dist = nearest_site(lon, lat, station_lon, station_lat)
        label = "haversine_km"
    elif metric == "network":
        if network is None:
            raise InputError(
                [
                    Problem(
                        "metric 'network' needs a road network (GraphML or OSM XML)",
                        "按路网计算覆盖需要提供路网文件（GraphML 或 OSM XML）",
                    )
                ]
            )
        station, dist = nearest_by_network(
            network,
            station_lon,
            station_lat,
            lon,
            lat,
            weight=weight,
            access_speed_kmh=access_speed_kmh,
        )
        label = "network_km" if weight == "length" else "network_min"
    else:
        raise InputError(
            [Problem(f"unknown metric {metric!r}", f"未知的距离度量 {metric!r}", field="metric")]
        )
    covered = dist <= radius + RADIUS_TOLERANCE_KM
    return CoverageResult(covered, station, dist, radius, pop, label)
