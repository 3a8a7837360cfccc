"""Synthetic demo data: inside the real boundaries, proportioned to the real city populations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthwatch.access.demo_data import (
    DemoData,
    geometry_area_km2,
    make_demo_data,
    split_exact,
    write_demo_data,
)
from healthwatch.access.distance import haversine_matrix
from healthwatch.data.facilities import read_facilities
from healthwatch.regions.geo import point_in_region

# Two cities keep the test fast: 朝阳市 (mostly rural) and 盘锦市.
CITIES = ("211300", "211100")
REAL_2021 = {"211300": 2_840_000, "211100": 1_390_000}  # shared/reference, 10k persons x 10,000


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return make_demo_data(seed=11, cities=CITIES, demand_points=6000)


def test_demand_adds_up_to_the_real_city_populations(demo: DemoData) -> None:
    assert demo.city_population == REAL_2021
    by_city = demo.demand.groupby(demo.demand["adcode"].str[:4] + "00")["population"].sum()
    assert by_city.to_dict() == REAL_2021
    by_county = demo.demand.groupby("adcode")["population"].sum().to_dict()
    assert by_county == demo.county_population
    assert (demo.demand["population"] >= 0).all()


def test_points_lie_inside_their_county(demo: DemoData) -> None:
    for table in (demo.demand, demo.facilities):
        for adcode, group in table.groupby("adcode"):
            inside = point_in_region(group["lon"], group["lat"], str(adcode))
            assert inside.all(), f"{(~inside).sum()} points outside {adcode}"


def test_every_record_is_labelled_synthetic(demo: DemoData) -> None:
    for table in (demo.demand, demo.facilities, demo.candidates, demo.stations):
        assert table["synthetic"].all()
        assert table["id"].str.startswith("SYN").all()
    assert demo.facilities["name"].str.contains("synthetic").all()


def test_facility_mix_and_ems_centre_per_city(demo: DemoData) -> None:
    kinds = demo.facilities["kind"].value_counts()
    assert kinds["ems_centre"] == len(CITIES)
    for kind in ("hospital", "ems_station", "village_clinic", "township_health_centre"):
        assert kinds[kind] > 0
    fac = demo.facilities
    assert (fac["negative_pressure"] <= fac["ambulances"]).all()
    # Ambulances are around one per 30,000 (city factors 0.72-1.15).
    per_30k = fac["ambulances"].sum() / (sum(REAL_2021.values()) / 30_000)
    assert 0.6 < per_30k < 1.3


def test_lscp_is_feasible_on_the_candidates(demo: DemoData) -> None:
    d = demo.demand
    c = demo.candidates
    dist = haversine_matrix(d["lon"], d["lat"], c["lon"], c["lat"])
    radius = np.where(d["urban"] == 1, 5.0, 15.0)
    assert (dist.min(axis=1) <= radius + 1e-9).all()
    # Existing stations carry their ambulances (MEXCLP's reading); new sites 0.
    existing = c[c["existing"] > 0]
    assert existing["id"].tolist() == demo.stations["id"].tolist()
    assert existing["existing"].tolist() == demo.stations["ambulances"].tolist()
    assert (c["existing"] == 0).sum() > 0


def test_same_seed_same_data() -> None:
    a = make_demo_data(seed=3, cities=("211100",), demand_points=2000)
    b = make_demo_data(seed=3, cities=("211100",), demand_points=2000)
    pd.testing.assert_frame_equal(a.demand, b.demand)
    pd.testing.assert_frame_equal(a.facilities, b.facilities)
    other = make_demo_data(seed=4, cities=("211100",), demand_points=2000)
    assert not np.allclose(other.demand["lon"], a.demand["lon"])  # the seed does matter


def test_split_exact_and_area() -> None:
    assert split_exact(10, np.array([1.0, 1.0, 1.0])).tolist() == [4, 3, 3]
    assert split_exact(7, np.array([0.5, 0.25, 0.25])).sum() == 7
    # A 1 x 1 degree square at the equator is 111.2 x 111.2 km (haversine arc per degree).
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    assert geometry_area_km2(square) == pytest.approx(111.195**2, rel=1e-3)


def test_written_files_reimport(tmp_path: Path, demo: DemoData) -> None:
    paths = write_demo_data(tmp_path, demo)
    assert "SYNTHETIC" in paths["readme"].read_text(encoding="utf-8")
    demand = pd.read_csv(paths["demand"])
    assert list(demand.columns[:5]) == ["id", "lon", "lat", "population", "urban"]
    cand = pd.read_csv(paths["candidates"])
    assert list(cand.columns[:4]) == ["id", "lon", "lat", "existing"]
    again = read_facilities(paths["facilities"]).facilities
    assert len(again) == len(demo.facilities) and again["synthetic"].all()
    pop = pd.read_csv(paths["population"], dtype={"adcode": str})
    assert pop.set_index("adcode").loc["210000", "resident_population"] == sum(REAL_2021.values())
