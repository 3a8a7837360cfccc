"""Does multi-point fusion detect simulated outbreaks better than single sources? (issue 11, 6)

    python benchmarks/warning_assess.py            # 3 replicates, 100 counties, 2 years
    python benchmarks/warning_assess.py --quick    # 1 replicate, 40 counties

Design (healthwatch.warning.multisource defaults, five ILI sources: pharmacy sales, fever
clinic, school absenteeism, case reports, laboratory positives), per replicate: an
outbreak-free simulation (calibration); a "history" with 200 outbreaks of its own (known past
outbreaks, from which ``fused_weighted`` learns Stouffer weights); and the evaluated simulation
with 200 outbreaks (sizes 30, 60, 120 cases) planted in the second year; 100 counties x 730
days each. The first year is the history that turns EARS C2 scores (baseline 28 days) into
empirical p-values and estimates the correlation between sources. Every detector's threshold
is calibrated to the same number of false alerts per county-year on the outbreak-free data,
for each of several targets (an AMOC-style sweep).

A second part times the rule engine (``fusion.fuse_signals``) on random signal tables of a
daily run's size: 100 counties, 40 syndromes, 10 sources, signals over the last 7 days, with
2,800 and 12,000 signals (1 % and 4 % of the 40,000 series signalling a day); printed: seconds
and alerts. ``--fusion-only`` runs only this part.

Printed per target and detector: POD (mean over replicates, with the binomial standard error
over all outbreaks), median days to detection, false alerts per county-year measured on the
outbreak data, and the ratio of POD to the best single source (as is or windowed). Timing: the
seconds per replicate (simulation + detection + calibration for every detector and target).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from healthwatch.warning.assess import compare_detectors
from healthwatch.warning.multisource import DEFAULT_SOURCES

SOURCES = [s.name for s in DEFAULT_SOURCES]


def fusion_speed() -> None:
    from healthwatch.warning.fusion import FusionRules, fuse_signals

    rng = np.random.default_rng(0)
    regions = [f"2101{i:02d}" for i in range(100)]
    ring = {r: {regions[(i + 1) % 100], regions[(i - 1) % 100]} for i, r in enumerate(regions)}
    fuse_signals(
        pd.DataFrame(
            [(regions[0], "2025-01-01", "s0", "y0", 0.01, 1.0, False)],
            columns=["region", "date", "source", "syndrome", "p_value", "score", "single_case"],
        ),
        ring,
    )  # imports and first-call overhead
    print("\nrule engine (fuse_signals), 100 counties x 40 syndromes x 10 sources, 7 days:")
    for n in (2_800, 12_000):
        sig = pd.DataFrame(
            {
                "region": rng.choice(regions, n),
                "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 7, n), "D"),
                "source": rng.choice([f"s{i}" for i in range(10)], n),
                "syndrome": rng.choice([f"y{i}" for i in range(40)], n),
                "p_value": rng.uniform(0, 0.01, n),
                "score": 3.0,
                "single_case": rng.uniform(size=n) < 0.01,
            }
        )
        t0 = time.perf_counter()
        alerts = fuse_signals(sig, ring, FusionRules())
        print(f"  {n:>6,} signals -> {len(alerts):,} alerts in {time.perf_counter() - t0:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=3)
    ap.add_argument("--regions", type=int, default=100)
    ap.add_argument("--outbreaks", type=int, default=200)
    ap.add_argument("--targets", default="1,2,4,8")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--fusion-only", action="store_true", help="only time the rule engine")
    args = ap.parse_args()
    if args.fusion_only:
        fusion_speed()
        return
    if args.quick:
        args.replicates, args.regions, args.outbreaks = 1, 40, 80
    targets = [float(x) for x in args.targets.split(",")]

    t0 = time.perf_counter()
    out = compare_detectors(
        n_regions=args.regions,
        n_days=730,
        n_outbreaks=args.outbreaks,
        targets=targets,
        replicates=args.replicates,
        seed=1000,
    )
    per_rep = (time.perf_counter() - t0) / args.replicates
    print(
        f"multi-source assessment: {args.replicates} replicate(s) x {args.regions} counties x "
        f"730 days, {args.outbreaks} outbreaks each; {per_rep:.1f} s per replicate "
        f"({len(targets)} targets x {out['detector'].nunique()} detectors)"
    )
    w = out.loc[out["detector"] == "fused_weighted", "weights"].iloc[0]
    print(
        "  fused_weighted: mean learned Stouffer weights "
        + ", ".join(f"{n} {x:.2f}" for n, x in zip(SOURCES, w, strict=True))
    )
    for target in targets:
        part = out[out["target"] == target]
        print(f"\nfalse alerts per county-year calibrated to {target:g}:")
        if args.markdown:
            print("| detector | POD (± se) | median days | false alerts/county-year | vs best |")
            print("|---|---|---|---|---|")
        for row in part.itertuples():
            days, fa = row.median_days_to_detection, row.false_alerts_per_county_year
            if args.markdown:
                print(
                    f"| {row.detector} | {row.pod:.3f} ± {row.pod_se:.3f} | {days:.1f} "
                    f"| {fa:.2f} | {row.vs_best_single:.2f} |"
                )
            else:
                print(
                    f"  {row.detector:<22} POD {row.pod:.3f} ± {row.pod_se:.3f}  "
                    f"median days {days:4.1f}  false alerts {fa:5.2f} "
                    f"(calibration {row.calibrated_false_alerts:4.2f})  "
                    f"vs best single {row.vs_best_single:.2f}"
                )
    fusion_speed()


if __name__ == "__main__":
    main()
