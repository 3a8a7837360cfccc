"""Road networks: OSM XML and GraphML readers, snapping, Dijkstra, on a hand-built network."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from healthwatch.access.distance import haversine_km
from healthwatch.access.network import (
    DEFAULT_SPEED_KMH,
    nearest_by_network,
    network_reach,
    parse_maxspeed,
    read_graphml,
    read_network,
    read_osm_xml,
)
from healthwatch.errors import InputError

# n1 - n2 - n3 (primary, 60 km/h), n3 -> n4 (residential, one-way), n1 - n5 (track, 30 mph).
OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lon="123.00" lat="41.00"/>
  <node id="2" lon="123.01" lat="41.00"/>
  <node id="3" lon="123.02" lat="41.00"/>
  <node id="4" lon="123.03" lat="41.00"/>
  <node id="5" lon="123.00" lat="41.01"/>
  <node id="9" lon="124.00" lat="42.00"/>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="primary"/><tag k="maxspeed" v="60"/></way>
  <way id="101"><nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
  <way id="102"><nd ref="1"/><nd ref="5"/>
    <tag k="highway" v="track"/><tag k="maxspeed" v="30 mph"/></way>
  <way id="103"><nd ref="9"/><nd ref="1"/><tag k="waterway" v="river"/></way>
</osm>
"""

SEG = float(haversine_km(123.00, 41.0, 123.01, 41.0))  # about 0.84 km


@pytest.fixture
def osm_file(tmp_path: Path) -> Path:
    path = tmp_path / "roads.osm"
    path.write_text(OSM, encoding="utf-8")
    return path


def test_parse_maxspeed() -> None:
    assert parse_maxspeed("60") == 60
    assert parse_maxspeed("30 mph") == pytest.approx(48.28032)
    assert parse_maxspeed(["50", "70"]) == 50
    assert parse_maxspeed("none") is None and parse_maxspeed(None) is None


def test_osm_edges_lengths_times_and_oneway(osm_file: Path) -> None:
    net = read_osm_xml(osm_file)
    assert sorted(net.node_ids.tolist()) == ["1", "2", "3", "4", "5"]  # non-highway way ignored
    i = {nid: k for k, nid in enumerate(net.node_ids)}
    length, minutes = net.length_km.toarray(), net.time_min.toarray()
    assert length[i["1"], i["2"]] == pytest.approx(SEG)
    assert minutes[i["1"], i["2"]] == pytest.approx(SEG / 60 * 60)
    assert length[i["3"], i["4"]] == pytest.approx(float(haversine_km(123.02, 41, 123.03, 41)))
    assert length[i["4"], i["3"]] == 0  # one-way
    res = DEFAULT_SPEED_KMH["residential"]
    assert minutes[i["3"], i["4"]] == pytest.approx(length[i["3"], i["4"]] / res * 60)
    track = float(haversine_km(123.0, 41.0, 123.0, 41.01))
    assert minutes[i["5"], i["1"]] == pytest.approx(track / 48.28032 * 60)


def test_nearest_station_follows_the_roads(osm_file: Path) -> None:
    net = read_network(osm_file)
    # Stations at n1 and n4; demand at n3. n4 is closer in a straight line, but the one-way
    # street runs n3 -> n4, so only n1 reaches n3: 2 segments.
    station, dist = nearest_by_network(net, [123.0, 123.03], [41.0, 41.0], [123.02], [41.0])
    assert station.tolist() == [0]
    assert dist[0] == pytest.approx(2 * SEG, rel=1e-9)
    # Travel time: 2 segments at 60 km/h.
    _, minutes = nearest_by_network(
        net, [123.0, 123.03], [41.0, 41.0], [123.02], [41.0], weight="time"
    )
    assert minutes[0] == pytest.approx(2 * SEG, rel=1e-9)
    # Demand at n4 is served by the station standing on it (distance 0).
    station, dist = nearest_by_network(net, [123.0, 123.03], [41.0, 41.0], [123.03], [41.0])
    assert station.tolist() == [1] and dist[0] == pytest.approx(0, abs=1e-9)


def test_snap_leg_is_added(osm_file: Path) -> None:
    net = read_osm_xml(osm_file)
    # A demand point 0.01 degrees south of n2 snaps to n2 with a straight leg.
    leg = float(haversine_km(123.01, 40.995, 123.01, 41.0))
    _, dist = nearest_by_network(net, [123.0], [41.0], [123.01], [40.995])
    assert dist[0] == pytest.approx(SEG + leg)
    _, minutes = nearest_by_network(
        net, [123.0], [41.0], [123.01], [40.995], weight="time", access_speed_kmh=10.0
    )
    assert minutes[0] == pytest.approx(SEG + leg / 10 * 60)


def test_network_reach_matches_hand_values(osm_file: Path) -> None:
    net = read_osm_xml(osm_file)
    demand_lon, demand_lat = [123.01, 123.02, 123.03], [41.0, 41.0, 41.0]
    reach = network_reach(
        net, demand_lon, demand_lat, [1.0, 1.0, 3.0], [123.0, 123.03], [41.0, 41.0]
    )
    # n2: n1 at 1 SEG (<= 1 km); n3: n1 at 2 SEG (> 1 km), n4 cannot reach it; n4: both.
    assert reach.counts.tolist() == [1, 0, 2]
    assert reach.indices.tolist() == [0, 0, 1]
    assert reach.distance.tolist() == pytest.approx([SEG, 3 * SEG, 0.0], abs=1e-9)


def test_graphml_osmnx_layout(tmp_path: Path) -> None:
    g = nx.MultiDiGraph()
    g.add_node("a", x=123.0, y=41.0)
    g.add_node("b", x=123.01, y=41.0)
    g.add_node("c", x=123.02, y=41.0)
    g.add_edge("a", "b", length=900.0, highway="primary")  # metres; time from default 60 km/h
    g.add_edge("b", "c", length=1000.0, travel_time=120.0)  # seconds
    g.add_edge("a", "b", length=1200.0, highway="primary")  # a longer parallel edge
    path = tmp_path / "roads.graphml"
    nx.write_graphml(g, path)
    net = read_graphml(path)
    i = {nid: k for k, nid in enumerate(net.node_ids)}
    assert net.length_km[i["a"], i["b"]] == pytest.approx(0.9)  # parallel edges: the shortest
    assert net.time_min[i["a"], i["b"]] == pytest.approx(0.9 / 60 * 60)
    assert net.time_min[i["b"], i["c"]] == pytest.approx(2.0)
    assert net.length_km[i["c"], i["b"]] == 0  # directed
    _, dist = nearest_by_network(net, [123.0], [41.0], [123.02], [41.0])
    assert dist[0] == pytest.approx(1.9)


def test_bad_network_files(tmp_path: Path) -> None:
    bad = tmp_path / "roads.shp"
    bad.write_text("x")
    with pytest.raises(InputError, match="graphml"):
        read_network(bad)
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1'")
    with pytest.raises(InputError, match="OSM XML"):
        read_osm_xml(broken)
    assert np.isfinite(SEG)


def test_network_reach_drives_siting(osm_file: Path) -> None:
    from healthwatch.access.siting import Candidates, Demand, mclp

    net = read_osm_xml(osm_file)
    demand = Demand([123.02, 123.03], [41.0, 41.0], [100, 10], 2.0)
    cands = Candidates([123.0, 123.03], [41.0, 41.0], ids=["n1", "n4"])
    # Straight line: the site at n4 reaches both points (0.84 km and 0).
    assert mclp(demand, cands, 1).selected_rows()[0]["id"] == "n4"
    # By road the one-way street stops n4 from reaching n3; n1 reaches it in 1.68 km.
    reach = network_reach(net, [123.02, 123.03], [41.0, 41.0], 2.0, [123.0, 123.03], [41.0, 41.0])
    result = mclp(demand, cands, 1, reach=reach)
    assert result.selected_rows()[0]["id"] == "n1"
    assert result.objective == 100


def test_multi_source_and_chunked_reach_equal_brute_force(tmp_path: Path) -> None:
    from scipy.sparse import csgraph

    g = nx.Graph()
    for a, b in nx.grid_2d_graph(15, 15).nodes:
        g.add_node(f"{a}_{b}", x=123 + a * 0.01, y=41 + b * 0.01)
    for u, v in nx.grid_2d_graph(15, 15).edges:
        g.add_edge(f"{u[0]}_{u[1]}", f"{v[0]}_{v[1]}", highway="secondary")
    path = tmp_path / "grid.graphml"
    nx.write_graphml(g, path)
    net = read_graphml(path)
    rng = np.random.default_rng(0)
    d = rng.uniform([123, 41], [123.14, 41.14], (120, 2))
    s = rng.uniform([123, 41], [123.14, 41.14], (25, 2))
    radius = np.where(rng.random(120) < 0.5, 2.0, 4.0)
    sn, s_leg = net.snap(s[:, 0], s[:, 1])
    dn, d_leg = net.snap(d[:, 0], d[:, 1])
    full = csgraph.dijkstra(net.length_km, indices=sn)[:, dn] + s_leg[:, None] + d_leg[None, :]
    station, dist = nearest_by_network(net, s[:, 0], s[:, 1], d[:, 0], d[:, 1])
    assert np.allclose(dist, full.min(axis=0))
    assert np.allclose(full[station, np.arange(120)], dist)
    reach = network_reach(net, d[:, 0], d[:, 1], radius, s[:, 0], s[:, 1], chunk=4)
    assert np.array_equal(reach.matrix().toarray() > 0, radius[:, None] >= full.T)
