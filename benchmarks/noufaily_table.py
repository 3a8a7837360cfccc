"""The Noufaily et al. (2013) comparison: farrington vs farrington_flexible on the 42 scenarios.

    python benchmarks/noufaily_table.py [--replicates 100] [--scenarios 1-42] [--out FILE.md]

For every scenario, ``--replicates`` series with an outbreak in the evaluation weeks 576-624
(POD) and the same series without it (false positive rate on outbreak-free weeks) are run
through:
- ``farrington``: the original algorithm (Farrington et al. 1996: b=5, w=3, reweighting with
  threshold 1, trend, 2/3-power threshold),
- ``farrington_flexible`` with Noufaily's recommended settings (noPeriods=10, b=4, w=3,
  weightsThreshold=2.58, pastWeeksNotIncluded=26, pThresholdTrend=1, thresholdMethod=nbPlugin).
Both see the same simulated series. Writes a Markdown table (and a CSV next to it).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pandas as pd

from healthwatch.surveillance.assess import noufaily_table
from healthwatch.surveillance.simulate import noufaily_scenarios

#: one-sided level of both upper bounds: the 99.5% quantile (z = 2.58) of the surveillance
#: systems Noufaily et al. studied; R's default alpha = 0.05 is available with --alpha 0.05
ALPHA = 0.005

METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "farrington": ("farrington", {"b": 5, "w": 3, "alpha": ALPHA}),
    "flexible": (
        "farrington_flexible",
        {
            "b": 4,
            "w": 3,
            "no_periods": 10,
            "weights_threshold": 2.58,
            "past_weeks_not_included": 26,
            "p_threshold_trend": 1,
            "threshold_method": "nbPlugin",
            "alpha": ALPHA,
        },
    ),
}


def parse_scenarios(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def markdown(table: pd.DataFrame, replicates: int, seconds: float, alpha: float) -> str:
    wide = table.pivot(index="scenario", columns="method", values=["fpr", "pod", "mean_delay"])
    sc = {s.number: s for s in noufaily_scenarios()}
    lines = [
        f"alpha = {alpha} for both methods; {replicates} replicates per scenario; FPR on the "
        "outbreak-free weeks 576-624 of the series without a current outbreak; POD over "
        "outbreak sizes k = 1..10 on the same series "
        f"with one (computed in {seconds / 60:.0f} min by `benchmarks/noufaily_table.py`).",
        "",
        "| scenario | set | trend | m | FPR farrington | FPR flexible | POD farrington "
        "| POD flexible | delay farrington | delay flexible |",
        "|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, row in wide.iterrows():
        s = sc[int(n)]
        lines.append(
            f"| {n} | {s.parameter_set} | {'yes' if s.trend else 'no'} | {s.m} "
            f"| {row[('fpr', 'farrington')]:.4f} | {row[('fpr', 'flexible')]:.4f} "
            f"| {row[('pod', 'farrington')]:.3f} | {row[('pod', 'flexible')]:.3f} "
            f"| {row[('mean_delay', 'farrington')]:.2f} | {row[('mean_delay', 'flexible')]:.2f} |"
        )
    mean = table.groupby("method")[["fpr", "pod"]].mean()
    lines += [
        f"| **mean** | | | | **{mean.loc['farrington', 'fpr']:.4f}** "
        f"| **{mean.loc['flexible', 'fpr']:.4f}** | **{mean.loc['farrington', 'pod']:.3f}** "
        f"| **{mean.loc['flexible', 'pod']:.3f}** | | |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--scenarios", default="1-42")
    ap.add_argument("--seed", type=int, default=2013)
    ap.add_argument("--alpha", type=float, default=ALPHA, help="one-sided level of both bounds")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/noufaily_table.md"))
    args = ap.parse_args()
    methods = {k: (m, {**c, "alpha": args.alpha}) for k, (m, c) in METHODS.items()}
    t0 = time.perf_counter()
    table = noufaily_table(
        methods,
        parse_scenarios(args.scenarios),
        n_series=args.replicates,
        seed=args.seed,
        progress=lambda msg: print(f"{time.perf_counter() - t0:7.0f} s  {msg}", flush=True),
    )
    seconds = time.perf_counter() - t0
    table.to_csv(args.out.with_suffix(".csv"), index=False)
    text = markdown(table, args.replicates, seconds, args.alpha)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
