"""MCLP benchmark: healthwatch (HiGHS, exact preprocessing) vs PySAL spopt (PuLP + CBC).

One command::

    python benchmarks/access_mclp.py            # 20,000 demand x 1,000 candidates, p = 50
    python benchmarks/access_mclp.py --demand 2000 --candidates 200 --p 10   # quick look

The instance is seeded: demand points cluster around Liaoning's 14 city seats (urban, 5 km
radius) and around random rural towns (15 km radius), with log-normal populations; candidate
sites mix city and countryside. spopt has one service radius per model, so each demand point's
own radius is passed to it exactly by scaling row ``i`` of the cost matrix by ``1 / S_i`` with a
service radius of 1 (``d_ij <= S_i`` <=> ``d_ij / S_i <= 1``). Both solvers see the same
coverage sets; the objectives must agree. Times include building the model from coordinates
(the distance matrix for spopt, the sparse reach for healthwatch).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

from healthwatch.access.distance import RADIUS_TOLERANCE_KM, haversine_matrix
from healthwatch.access.siting import Candidates, Demand, SolveOptions, mclp

CITY_SEATS = np.array(
    [
        (123.43, 41.80), (121.61, 38.91), (122.99, 41.11), (123.96, 41.88), (123.77, 41.29),
        (124.38, 40.12), (121.13, 41.10), (122.24, 40.67), (121.67, 42.02), (123.17, 41.27),
        (122.07, 41.12), (123.84, 42.29), (120.45, 41.57), (120.84, 40.71),
    ]
)  # fmt: skip
BBOX = (118.9, 38.8, 125.7, 43.4)


@dataclass
class Instance:
    demand: Demand
    candidates: Candidates
    p: int


def make_instance(n_demand: int, n_candidates: int, p: int, seed: int = 20240601) -> Instance:
    """Seeded clustered instance in Liaoning's bounding box."""
    rng = np.random.default_rng(seed)
    n_urban = int(0.55 * n_demand)
    seat = rng.integers(0, len(CITY_SEATS), n_urban)
    urban_xy = CITY_SEATS[seat] + rng.normal(0.0, 0.07, (n_urban, 2))
    n_towns = 120
    towns = np.column_stack(
        [rng.uniform(BBOX[0], BBOX[2], n_towns), rng.uniform(BBOX[1], BBOX[3], n_towns)]
    )
    n_rural = n_demand - n_urban
    town = rng.integers(0, n_towns, n_rural)
    rural_xy = towns[town] + rng.normal(0.0, 0.12, (n_rural, 2))
    xy = np.vstack([urban_xy, rural_xy])
    urban = np.r_[np.ones(n_urban, bool), np.zeros(n_rural, bool)]
    population = np.round(rng.lognormal(6.5, 1.0, n_demand))
    radius = np.where(urban, 5.0, 15.0)
    n_c_urban = n_candidates // 2
    c_urban = CITY_SEATS[rng.integers(0, len(CITY_SEATS), n_c_urban)] + rng.normal(
        0.0, 0.08, (n_c_urban, 2)
    )
    n_c_rural = n_candidates - n_c_urban
    c_rural = towns[rng.integers(0, n_towns, n_c_rural)] + rng.normal(0.0, 0.15, (n_c_rural, 2))
    cxy = np.vstack([c_urban, c_rural])
    return Instance(
        Demand(xy[:, 0], xy[:, 1], population, radius),
        Candidates(cxy[:, 0], cxy[:, 1]),
        p,
    )


def solve_healthwatch(inst: Instance, time_limit: float) -> tuple[float, float, str, float | None]:
    start = time.perf_counter()
    result = mclp(inst.demand, inst.candidates, inst.p, options=SolveOptions(time_limit=time_limit))
    seconds = time.perf_counter() - start
    assert result.objective is not None
    return result.objective, seconds, result.status, result.gap


def solve_spopt(inst: Instance) -> tuple[float, float, str]:
    import pulp
    from spopt.locate import MCLP

    start = time.perf_counter()
    lon, lat, pop, radius = inst.demand.arrays()
    c_lon, c_lat, _ = inst.candidates.arrays()
    dist = haversine_matrix(lon, lat, c_lon, c_lat)
    # Per-demand radius through row scaling; the tolerance matches healthwatch's d <= r + 1e-9.
    scaled = dist / (radius + RADIUS_TOLERANCE_KM)[:, None]
    model = MCLP.from_cost_matrix(scaled, pop, service_radius=1.0, p_facilities=inst.p)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    seconds = time.perf_counter() - start
    status = pulp.LpStatus[model.problem.status]
    return float(pulp.value(model.problem.objective)), seconds, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demand", type=int, default=20_000)
    parser.add_argument("--candidates", type=int, default=1_000)
    parser.add_argument("--p", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--skip-spopt", action="store_true")
    args = parser.parse_args(argv)

    inst = make_instance(args.demand, args.candidates, args.p, args.seed)
    print(f"MCLP instance: {args.demand} demand x {args.candidates} candidates, p = {args.p}, "
          f"radius 5 km urban / 15 km rural, seed {args.seed}")  # fmt: skip
    hw_obj, hw_s, hw_status, hw_gap = solve_healthwatch(inst, args.time_limit)
    print(f"healthwatch (HiGHS): {hw_s:8.2f} s  objective {hw_obj:,.0f}  status {hw_status}  "
          f"gap {hw_gap}")  # fmt: skip
    if args.skip_spopt:
        return 0
    sp_obj, sp_s, sp_status = solve_spopt(inst)
    print(f"spopt (PuLP CBC):    {sp_s:8.2f} s  objective {sp_obj:,.0f}  status {sp_status}")
    same = abs(hw_obj - sp_obj) <= 1e-6 * max(1.0, abs(sp_obj))
    print(f"speed-up: {sp_s / hw_s:.1f}x   same objective: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
