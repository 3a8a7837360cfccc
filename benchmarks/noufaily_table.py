"""The Noufaily et al. (2013) comparison: farrington vs farrington_flexible on the 42 scenarios.

    python benchmarks/noufaily_table.py [--replicates 100] [--scenarios 1-42] [--out FILE.md]
                                        [--no-matched]

For every scenario, ``--replicates`` series with an outbreak in the evaluation weeks 576-624
(POD) and the same series without it (false positive rate on outbreak-free weeks) are run
through:
- ``farrington``: the original algorithm (Farrington et al. 1996: b=5, w=3, reweighting with
  threshold 1, trend, 2/3-power threshold),
- ``farrington_flexible`` with Noufaily's recommended settings (noPeriods=10, b=4, w=3,
  weightsThreshold=2.58, pastWeeksNotIncluded=26, pThresholdTrend=1, thresholdMethod=nbPlugin).
Both see the same simulated series and both bounds are the one-sided (1 - alpha) quantile:
``farrington`` takes a two-sided alpha (R's ``algo.farrington`` convention: z = qnorm(1 -
alpha/2)), so it is given 2 x alpha; ``farrington_flexible`` takes the one-sided alpha.

Unless ``--no-matched``, the original is also run at smaller levels (``MATCH_LEVELS``) to show
its POD at about the flexible method's mean false positive rate. Writes a Markdown table (and a
CSV next to it).
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

#: one-sided levels at which the original is also run, to compare POD at matched mean FPR
MATCH_LEVELS = (0.002, 0.001, 0.0005, 0.0002, 0.0001)

#: the overdispersed parameter sets (phi >= 1.5)
OVERDISPERSED_SETS = (1, 2, 4, 5)

METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "farrington": ("farrington", {"b": 5, "w": 3, "alpha": 2 * ALPHA}),
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


def methods_at(alpha: float) -> dict[str, tuple[str, dict[str, Any]]]:
    """METHODS with both upper bounds at the one-sided level ``alpha``.

    ``farrington`` is two-sided (z = qnorm(1 - alpha/2)), so it gets 2 x alpha; the flexible
    method is one-sided (z = qnorm(1 - alpha), or the NB (1 - alpha) quantile).
    """
    out = {k: (m, dict(c)) for k, (m, c) in METHODS.items()}
    out["farrington"][1]["alpha"] = 2 * alpha
    out["flexible"][1]["alpha"] = alpha
    return out


def matched(table: pd.DataFrame, n_series: int, seed: int, scenarios: list[int]) -> pd.DataFrame:
    """The original at the one-sided levels MATCH_LEVELS on the same series (mean FPR, POD)."""
    m = {
        f"farrington_{a}": ("farrington", {**METHODS["farrington"][1], "alpha": 2 * a})
        for a in MATCH_LEVELS
    }
    grid = pd.concat(
        [table, noufaily_table(m, scenarios, n_series=n_series, seed=seed)], ignore_index=True
    )
    sets = {s.number: s.parameter_set for s in noufaily_scenarios()}
    grid["overdispersed"] = grid.scenario.map(sets).isin(OVERDISPERSED_SETS)
    rows = []
    for method, g in grid.groupby("method", sort=False):
        od, po = g[g.overdispersed], g[~g.overdispersed]
        rows.append(
            {
                "method": method,
                "fpr": g.fpr.mean(),
                "pod": g.pod.mean(),
                "fpr_overdispersed": od.fpr.mean(),
                "pod_overdispersed": od.pod.mean(),
                "fpr_other": po.fpr.mean(),
                "pod_other": po.pod.mean(),
            }
        )
    return pd.DataFrame(rows)


def matched_markdown(summary: pd.DataFrame, alpha: float) -> str:
    lines = [
        "",
        "POD at matched false positive rate: the original run on the same series at smaller "
        f"one-sided levels (the flexible method at {alpha}); means over the scenarios, and "
        f"separately over the overdispersed sets {', '.join(map(str, OVERDISPERSED_SETS))} "
        "(phi >= 1.5) and the others.",
        "",
        "| method | one-sided level | FPR | POD | FPR overdispersed | POD overdispersed "
        "| FPR other | POD other |",
        "|:---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in summary.iterrows():
        name = str(r["method"])
        if name.startswith("farrington_"):
            label, level = "farrington", name.split("_", 1)[1]
        else:
            label, level = name, str(alpha)
        lines.append(
            f"| {label} | {level} | {r.fpr:.4f} | {r.pod:.3f} | {r.fpr_overdispersed:.4f} "
            f"| {r.pod_overdispersed:.3f} | {r.fpr_other:.4f} | {r.pod_other:.3f} |"
        )
    return "\n".join(lines) + "\n"


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
        f"one-sided level alpha = {alpha} for both upper bounds (farrington, whose alpha is "
        f"two-sided, run at {2 * alpha:g}); {replicates} replicates per scenario; FPR on the "
        "outbreak-free weeks 576-624 of the series without a current outbreak; POD over "
        "outbreak sizes k = 1..10 on the same series "
        f"with one (computed in {seconds:.0f} s by `benchmarks/noufaily_table.py`).",
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
    ap.add_argument("--no-matched", action="store_true", help="skip the matched-FPR runs")
    args = ap.parse_args()
    methods = methods_at(args.alpha)
    scenarios = parse_scenarios(args.scenarios)
    t0 = time.perf_counter()
    table = noufaily_table(
        methods,
        scenarios,
        n_series=args.replicates,
        seed=args.seed,
        progress=lambda msg: print(f"{time.perf_counter() - t0:7.0f} s  {msg}", flush=True),
    )
    seconds = time.perf_counter() - t0
    table.to_csv(args.out.with_suffix(".csv"), index=False)
    text = markdown(table, args.replicates, seconds, args.alpha)
    if not args.no_matched:
        summary = matched(table, args.replicates, args.seed, scenarios)
        summary.to_csv(args.out.with_name(args.out.stem + "_matched.csv"), index=False)
        text += matched_markdown(summary, args.alpha)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
