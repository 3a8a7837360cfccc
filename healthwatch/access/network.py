"""Road networks for network distance and travel time (GraphML or OSM XML).

A :class:`RoadNetwork` is a directed graph held as two scipy CSR matrices over the same edges:
length in km and travel time in minutes. Travel time comes from the edge's own ``travel_time``
(GraphML from OSMnx, seconds), else ``maxspeed``, else a default speed per ``highway`` type
(:data:`DEFAULT_SPEED_KMH`). One-way streets are honoured (``oneway=yes/true/1/-1``).

Points off the network are snapped to their nearest node (great-circle). The snap leg is added
to the network distance as a straight line (and, for travel time, driven at
``access_speed_kmh``), so a demand point far from any road is not treated as if it sat on one.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import networkx as nx
import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from healthwatch.access.distance import (
    RADIUS_TOLERANCE_KM,
    FloatArray,
    IntArray,
    Reach,
    haversine_km,
    unit_vectors,
)
from healthwatch.errors import InputError, Problem

Weight = Literal["length", "time"]

DEFAULT_SPEED_KMH: dict[str, float] = {
    "motorway": 100.0,
    "trunk": 80.0,
    "primary": 60.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 20.0,
    "road": 30.0,
    "track": 20.0,
}
"""Speeds used when an edge has no usable ``maxspeed``; ``*_link`` roads take their parent's."""

FALLBACK_SPEED_KMH = 30.0
MPH_TO_KMH = 1.609344
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")


def parse_maxspeed(value: object) -> float | None:
    """km/h from an OSM ``maxspeed`` value ("60", "50 mph", "60;80", ["50", "70"]); else None."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        speeds = [s for s in (parse_maxspeed(v) for v in value) if s is not None]
        return min(speeds) if speeds else None
    text = str(value).strip().lower()
    match = _NUMBER.search(text)
    if match is None:
        return None
    speed = float(match.group(1))
    if "mph" in text:
        speed *= MPH_TO_KMH
    return speed if speed > 0 else None


def default_speed(highway: object) -> float:
    """Default speed for an OSM ``highway`` tag (lists take the first known type)."""
    kinds = highway if isinstance(highway, list | tuple) else [highway]
    for kind in kinds:
        base = str(kind).removesuffix("_link")
        if base in DEFAULT_SPEED_KMH:
            return DEFAULT_SPEED_KMH[base]
    return FALLBACK_SPEED_KMH


@dataclass(frozen=True)
class RoadNetwork:
    """A directed road graph: node coordinates and edge length (km) / travel time (min)."""

    node_ids: npt.NDArray[np.object_]
    lon: FloatArray
    lat: FloatArray
    length_km: sparse.csr_matrix
    time_min: sparse.csr_matrix

    @property
    def n_nodes(self) -> int:
        return int(self.lon.size)

    def graph(self, weight: Weight) -> sparse.csr_matrix:
        return self.length_km if weight == "length" else self.time_min

    @classmethod
    def from_edges(
        cls,
        node_ids: npt.ArrayLike,
        lon: npt.ArrayLike,
        lat: npt.ArrayLike,
        tail: IntArray,
        head: IntArray,
        length_km: FloatArray,
        time_min: FloatArray,
    ) -> RoadNetwork:
        """Build from edge arrays; parallel edges keep the shortest (and the quickest)."""
        x = np.asarray(lon, dtype=float)
        n = x.size
        # A tiny floor keeps zero-length edges (duplicate nodes) as explicit edges.
        length = np.maximum(np.asarray(length_km, dtype=float), 1e-12)
        minutes = np.maximum(np.asarray(time_min, dtype=float), 1e-12)

        def csr(values: FloatArray) -> sparse.csr_matrix:
            # scipy would sum parallel edges; keep the minimum of each (tail, head) instead.
            order = np.lexsort((values, head, tail))
            t, h, v = tail[order], head[order], values[order]
            first = np.ones(t.size, dtype=bool)
            first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
            return sparse.csr_matrix((v[first], (t[first], h[first])), shape=(n, n))

        return cls(
            np.asarray(node_ids, dtype=object),
            x,
            np.asarray(lat, dtype=float),
            csr(length),
            csr(minutes),
        )

    def snap(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[IntArray, FloatArray]:
        """Nearest node index and the straight-line snap distance (km) for each point."""
        x = np.asarray(lon, dtype=float)
        y = np.asarray(lat, dtype=float)
        _, idx = cKDTree(unit_vectors(self.lon, self.lat)).query(unit_vectors(x, y), k=1)
        idx = np.asarray(idx, dtype=np.int64)
        return idx, haversine_km(x, y, self.lon[idx], self.lat[idx])


def _snap_cost(snap_km: FloatArray, weight: Weight, access_speed_kmh: float) -> FloatArray:
    return snap_km if weight == "length" else snap_km / access_speed_kmh * 60.0


def nearest_by_network(
    network: RoadNetwork,
    station_lon: npt.ArrayLike,
    station_lat: npt.ArrayLike,
    demand_lon: npt.ArrayLike,
    demand_lat: npt.ArrayLike,
    *,
    weight: Weight = "length",
    access_speed_kmh: float = 15.0,
) -> tuple[IntArray, FloatArray]:
    """Nearest station (index, -1 if unreachable) and its network distance (km) or time (min).

    One multi-source Dijkstra from all stations over the network (edges travelled from station
    to demand point); snap legs at both ends are added.
    """
    s_node, s_snap = network.snap(station_lon, station_lat)
    d_node, d_snap = network.snap(demand_lon, demand_lat)
    m = s_node.size
    if m == 0:
        return np.full(d_node.size, -1, np.int64), np.full(d_node.size, np.inf)
    # Each station becomes a virtual node joined to its snap node by its snap leg, so that two
    # stations snapped to the same node are told apart and the leg counts in the distance.
    n = network.n_nodes
    leg = np.maximum(_snap_cost(s_snap, weight, access_speed_kmh), 1e-12)
    legs = sparse.csr_matrix((leg, (np.arange(m), s_node)), shape=(m, n))
    big = sparse.bmat(
        [[network.graph(weight), None], [legs, sparse.csr_matrix((m, m))]], format="csr"
    )
    dist, _, sources = csgraph.dijkstra(
        big, directed=True, indices=np.arange(n, n + m), min_only=True, return_predecessors=True
    )
    total = dist[d_node] + _snap_cost(d_snap, weight, access_speed_kmh)
    reached = np.isfinite(total)
    station = np.where(reached, np.asarray(sources)[d_node] - n, -1).astype(np.int64)
    return station, total


def network_reach(
    network: RoadNetwork,
    demand_lon: npt.ArrayLike,
    demand_lat: npt.ArrayLike,
    radius: npt.ArrayLike,
    site_lon: npt.ArrayLike,
    site_lat: npt.ArrayLike,
    *,
    weight: Weight = "length",
    access_speed_kmh: float = 15.0,
    chunk: int = 64,
) -> Reach:
    """Demand x site pairs whose network distance (km) or time (min) is within ``radius``.

    Bounded Dijkstra (``limit`` = largest radius) from the distinct site nodes, ``chunk`` sources
    at a time so that memory stays ``chunk x nodes``; snap legs are added and each demand
    point's own radius applied. The result plugs into coverage, siting and 2SFCA.
    """
    d_node, d_snap = network.snap(demand_lon, demand_lat)
    s_node, s_snap = network.snap(site_lon, site_lat)
    n, m = d_node.size, s_node.size
    r = np.broadcast_to(np.asarray(radius, dtype=float), (n,))
    if n == 0 or m == 0:
        return Reach(np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0), m)
    d_leg = _snap_cost(d_snap, weight, access_speed_kmh)
    s_leg = _snap_cost(s_snap, weight, access_speed_kmh)
    limit = float(r.max()) + 1e-9
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    dists: list[FloatArray] = []
    for start in range(0, m, chunk):
        sites = np.arange(start, min(start + chunk, m))
        node_dist = csgraph.dijkstra(
            network.graph(weight), directed=True, indices=s_node[sites], limit=limit
        )
        full = node_dist[:, d_node] + s_leg[sites, None] + d_leg[None, :]
        j, i = np.nonzero(full <= r[None, :] + RADIUS_TOLERANCE_KM)
        rows.append(i.astype(np.int64))
        cols.append(sites[j])
        dists.append(full[j, i])
    return Reach.from_pairs(np.concatenate(rows), np.concatenate(cols), np.concatenate(dists), n, m)


def read_graphml(path: str | Path) -> RoadNetwork:
    """Read a GraphML road network (OSMnx layout: node ``x``/``y`` or ``lon``/``lat``).

    Edge ``length`` is taken as metres (OSMnx), ``travel_time`` as seconds; missing lengths are
    computed by haversine; missing times from ``maxspeed`` or the ``highway`` default speed.
    Undirected graphs get edges both ways.
    """
    path = Path(path)
    try:
        g = nx.read_graphml(path)
    except (OSError, ET.ParseError, nx.NetworkXError) as exc:
        problem = Problem(f"cannot read GraphML: {exc}", f"无法读取 GraphML：{exc}", str(path))
        raise InputError([problem]) from exc
    nodes = list(g.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    lon = np.empty(len(nodes))
    lat = np.empty(len(nodes))
    problems: list[Problem] = []
    for i, node in enumerate(nodes):
        data = g.nodes[node]
        x = data.get("x", data.get("lon"))
        y = data.get("y", data.get("lat"))
        if x is None or y is None:
            en, zh = f"node {node} has no x/y (lon/lat)", f"节点 {node} 缺少坐标 x/y"
            problems.append(Problem(en, zh, str(path), None, "x/y"))
            continue
        lon[i], lat[i] = float(x), float(y)
    if problems:
        raise InputError(problems[:20])
    tails: list[int] = []
    heads: list[int] = []
    lengths: list[float] = []
    times: list[float] = []
    edges = g.edges(data=True)
    for u, v, data in edges:
        a, b = index[u], index[v]
        length = data.get("length")
        km = (
            float(length) / 1000.0
            if length is not None
            else float(haversine_km(lon[a], lat[a], lon[b], lat[b]))
        )
        if data.get("travel_time") is not None:
            minutes = float(data["travel_time"]) / 60.0
        else:
            speed = parse_maxspeed(data.get("maxspeed")) or default_speed(data.get("highway"))
            minutes = km / speed * 60.0
        pairs = [(a, b)] if g.is_directed() else [(a, b), (b, a)]
        for t, h in pairs:
            tails.append(t)
            heads.append(h)
            lengths.append(km)
            times.append(minutes)
    return RoadNetwork.from_edges(
        np.array(nodes, dtype=object),
        lon,
        lat,
        np.array(tails, dtype=np.int64),
        np.array(heads, dtype=np.int64),
        np.array(lengths),
        np.array(times),
    )


def read_osm_xml(path: str | Path) -> RoadNetwork:
    """Read an OSM XML extract: ways tagged ``highway`` become edges between consecutive nodes."""
    path = Path(path)
    node_pos: dict[str, tuple[float, float]] = {}
    ways: list[tuple[list[str], dict[str, str]]] = []
    try:
        for _, elem in ET.iterparse(path, events=("end",)):
            if elem.tag == "node":
                node_pos[elem.attrib["id"]] = (float(elem.attrib["lon"]), float(elem.attrib["lat"]))
                elem.clear()
            elif elem.tag == "way":
                tags = {t.attrib["k"]: t.attrib["v"] for t in elem.iter("tag")}
                if "highway" in tags:
                    ways.append(([nd.attrib["ref"] for nd in elem.iter("nd")], tags))
                elem.clear()
    except (OSError, ET.ParseError, KeyError, ValueError) as exc:
        problem = Problem(f"cannot read OSM XML: {exc}", f"无法读取 OSM XML：{exc}", str(path))
        raise InputError([problem]) from exc
    used = sorted({ref for refs, _ in ways for ref in refs if ref in node_pos})
    index = {ref: i for i, ref in enumerate(used)}
    lon = np.array([node_pos[r][0] for r in used])
    lat = np.array([node_pos[r][1] for r in used])
    tails: list[int] = []
    heads: list[int] = []
    speeds: list[float] = []
    for refs, tags in ways:
        known = [index[r] for r in refs if r in index]
        oneway = tags.get("oneway", "no").lower()
        speed = parse_maxspeed(tags.get("maxspeed")) or default_speed(tags.get("highway"))
        for a, b in itertools.pairwise(known):
            if oneway in ("yes", "true", "1"):
                pairs = [(a, b)]
            elif oneway == "-1":
                pairs = [(b, a)]
            else:
                pairs = [(a, b), (b, a)]
            for t, h in pairs:
                tails.append(t)
                heads.append(h)
                speeds.append(speed)
    tail = np.array(tails, dtype=np.int64)
    head = np.array(heads, dtype=np.int64)
    km = haversine_km(lon[tail], lat[tail], lon[head], lat[head]) if tail.size else np.zeros(0)
    minutes = km / np.array(speeds) * 60.0 if tail.size else np.zeros(0)
    return RoadNetwork.from_edges(np.array(used, dtype=object), lon, lat, tail, head, km, minutes)


def read_network(path: str | Path) -> RoadNetwork:
    """Read GraphML (``.graphml``) or OSM XML (``.osm``/``.xml``), chosen by the file suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".graphml":
        return read_graphml(path)
    if suffix in (".osm", ".xml"):
        return read_osm_xml(path)
    raise InputError(
        [
            Problem(
                f"unknown road network format '{suffix}': use .graphml or .osm",
                f"无法识别的路网格式“{suffix}”：请使用 .graphml 或 .osm",
                str(path),
            )
        ]
    )


__all__ = [
    "RADIUS_TOLERANCE_KM",
    "RoadNetwork",
    "nearest_by_network",
    "network_reach",
    "read_graphml",
    "read_network",
    "read_osm_xml",
]
