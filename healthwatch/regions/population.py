"""Populations: resident (常住) population of a region in a year, and the synthetic county split.

The values live here (pure, no I/O); reading and checking population files is
:mod:`healthwatch.data.populations`, storing them :mod:`healthwatch.store.regions`.

The built-in table ``data/liaoning_city_population_2021.csv`` is a copy of
``shared/reference/liaoning_city_population_2021.csv``: year-end 2021 resident and registered
population of Liaoning and its 14 cities, in 10,000 persons, as published by the Liaoning
Provincial Bureau of Statistics (the city figures add up to the provincial 4229.4); read it with
:func:`healthwatch.data.populations.builtin_city_populations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from healthwatch.regions.hierarchy import all_regions

BUILTIN_CITY_POPULATION = Path(__file__).parent / "data" / "liaoning_city_population_2021.csv"
BUILTIN_SOURCE = "辽宁省统计局 2021年末常住人口 / Liaoning Provincial Bureau of Statistics, 2021"

MIN_YEAR, MAX_YEAR = 1949, 2100
#: More persons than this in one region is a typing error (China has about 1.41 billion).
MAX_PERSONS = 2_000_000_000


@dataclass(frozen=True)
class PopulationRow:
    """Resident population of one region in one year, in persons."""

    adcode: str
    year: int
    persons: float


def synthetic_county_split(city_rows: list[PopulationRow]) -> list[PopulationRow]:
    """Made-up county populations: each city's figure split equally among its counties.

    Why: county populations are user data that the project does not ship; the demo still needs a
    county layer to show per-capita figures. The split is a placeholder, always stored with the
    synthetic flag, in whole persons, adding up exactly to the city's figure (largest remainder).
    """
    regions = all_regions()
    children: dict[str, list[str]] = {}
    for region in regions.values():
        if region.level == "county" and region.parent:
            children.setdefault(region.parent, []).append(region.adcode)
    out: list[PopulationRow] = []
    for row in city_rows:
        counties = sorted(children.get(row.adcode, []))
        if regions[row.adcode].level != "city" or not counties:
            continue
        total = round(row.persons)
        base, extra = divmod(total, len(counties))
        out += [
            PopulationRow(code, row.year, float(base + (1 if i < extra else 0)))
            for i, code in enumerate(counties)
        ]
    return out
