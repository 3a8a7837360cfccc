"""Speed of the prospective space-time permutation scan: 100 counties x 365 days x 999 replicates.

    python benchmarks/warning_scan.py            # the target size (a few seconds)
    python benchmarks/warning_scan.py --quick    # smaller replicate count for the numpy reference

Target (issue 11): <= 10 s for 100 counties x 365 days with 999 Monte Carlo replicates.

Data: Poisson daily counts with county sizes from a log-normal (means 1 to 20 a day, about
700 cases a day in all, 250,000 in the year), a yearly cycle, centroids spread over
Liaoning's bounding box, and an outbreak planted in four neighbouring counties on the last three
days. Settings: max_spatial_share 0.5, max_days 7, 999 replicates.

Printed: numba compilation (first call, or loading it from the cache; not counted), then the
median of three timed runs, the number of cylinders scanned per replicate and the ratio to the
target. As a reference the same statistic is computed by a plain vectorised numpy scan (a full
permutation of the case dates, a membership matrix product for all circles and windows); its
time for a few replicates is extrapolated to 999 and printed with the ratio, and its maximum LLR
on the observed data must equal the kernel's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from healthwatch.warning.scan import (
    circles,
    great_circle_km,
    space_time_permutation_scan,
)

TARGET_S = 10.0


def make_data(n_regions: int = 100, n_days: int = 365, seed: int = 0):
    rng = np.random.default_rng(seed)
    coords = np.column_stack(
        [rng.uniform(119.2, 125.8, n_regions), rng.uniform(38.7, 43.5, n_regions)]
    )
    size = np.clip(np.exp(rng.normal(np.log(6.0), 0.8, n_regions)), 1.0, 20.0)
    t = np.arange(n_days)
    season = 1 + 0.3 * np.cos(2 * np.pi * t / 365)
    cases = rng.poisson(season[:, None] * size[None, :])
    near = np.argsort(great_circle_km(coords)[0])[:4]
    cases[-3:, near] += rng.poisson(3 * size[near], size=(3, 4))
    return cases, coords


def numpy_scan(cases, coords, n_rep, max_share=0.5, max_days=7, seed=0):
    """Reference: the same statistic, vectorised with numpy (membership matrix x windows)."""
    n_days, n = cases.shape
    total = cases.sum()
    nz = cases.sum(axis=0).astype(float)
    order, valid, _ = circles(great_circle_km(coords), nz, max_share)
    rows = []
    for i in range(n):
        for k in np.flatnonzero(valid[i]):
            m = np.zeros(n)
            m[order[i, : k + 1]] = 1
            rows.append(m)
    member = np.array(rows)
    space = member @ nz
    nd = cases.sum(axis=1)
    tl = np.cumsum(nd[::-1][:max_days])
    mu = space[:, None] * tl[None, :] / total

    def max_llr(x):
        wc = np.cumsum(x[::-1][:max_days], axis=0)  # L x regions
        c = member @ wc.T
        with np.errstate(divide="ignore", invalid="ignore"):
            llr = c * np.log(c / mu) + (total - c) * np.log((total - c) / (total - mu))
        llr = np.where((c > mu) & (c >= 2), llr, 0.0)
        return float(np.nanmax(llr))

    observed = max_llr(cases)
    rng = np.random.default_rng(seed)
    region = np.repeat(np.tile(np.arange(n), n_days), cases.reshape(-1))
    day = np.repeat(np.repeat(np.arange(n_days), n), cases.reshape(-1))
    maxima = []
    for _ in range(n_rep):
        sim = np.zeros_like(cases)
        np.add.at(sim, (rng.permutation(day), region), 1)
        maxima.append(max_llr(sim))
    return observed, np.array(maxima), member.shape[0] * max_days


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regions", type=int, default=100)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--replicates", type=int, default=999)
    ap.add_argument("--reference-replicates", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="3 reference replicates")
    args = ap.parse_args()
    ref_reps = 3 if args.quick else args.reference_replicates

    cases, coords = make_data(args.regions, args.days)
    t0 = time.perf_counter()
    space_time_permutation_scan(cases[-30:, :10], coords[:10], n_replicates=9)
    compile_s = time.perf_counter() - t0

    times = []
    result = None
    for _ in range(3):
        t0 = time.perf_counter()
        result = space_time_permutation_scan(cases, coords, n_replicates=args.replicates, seed=1)
        times.append(time.perf_counter() - t0)
    assert result is not None
    median = statistics.median(times)
    top = result.clusters[0]

    t0 = time.perf_counter()
    ref_obs, _, ref_cyl = numpy_scan(cases, coords, ref_reps)
    ref_s = (time.perf_counter() - t0) / (ref_reps + 1) * (args.replicates + 1)

    print(
        f"space-time permutation scan: {args.regions} counties x {args.days} days, "
        f"{result.total_cases:,} cases, {args.replicates} replicates"
    )
    print(f"  numba compile/cache load (not counted): {compile_s:.2f} s")
    print(f"  cylinders per replicate: {result.n_candidates:,} (numpy reference: {ref_cyl:,})")
    print(
        f"  healthwatch: median of 3 runs {median:.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
    )
    print(
        f"  target {TARGET_S:.0f} s: ratio target/healthwatch = {TARGET_S / median:.1f}x "
        f"-> {'PASS' if median <= TARGET_S else 'FAIL'}"
    )
    print(
        f"  numpy reference: {ref_s:.1f} s extrapolated from {ref_reps} replicates; "
        f"ratio reference/healthwatch = {ref_s / median:.0f}x"
    )
    print(
        f"  most likely cluster: counties {list(top.regions)}, days {top.start_day}-"
        f"{top.end_day}, observed {top.observed}, expected {top.expected:.1f}, "
        f"LLR {top.llr:.3f}, p = {top.p_value:.4f}, "
        f"recurrence {top.recurrence_interval_days:.0f} days"
    )
    print(
        f"  observed max LLR: healthwatch {top.llr:.9f}, numpy reference {ref_obs:.9f} "
        f"({'equal' if abs(top.llr - ref_obs) <= 1e-9 * ref_obs else 'DIFFERENT'})"
    )


if __name__ == "__main__":
    main()
