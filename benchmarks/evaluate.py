"""Speed of the evaluation: status and forecast for 3,000 regions x 50 indicators x 10 years,
and a full province report (Liaoning and its 14 cities) in HTML, Excel and PDF.

    python benchmarks/evaluate.py

Targets (issue 10): status + forecast <= 2 s; a full province report <= 30 s. Prints the
figures and the ratio to the target. The values are synthetic (log-linear trends with noise
and gaps); the timings do not depend on the values.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from healthwatch.evaluate.forecast import forecast
from healthwatch.evaluate.status import Bounds, evaluate_status

N_REGIONS, N_INDICATORS, N_YEARS = 3000, 50, 10
STATUS_TARGET_S, REPORT_TARGET_S = 2.0, 30.0


def panel(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Bounds, np.ndarray]:
    n = N_REGIONS * N_INDICATORS
    years = np.arange(2016, 2016 + N_YEARS)
    level = rng.uniform(1, 100, n)
    growth = rng.normal(0.01, 0.03, n)
    noise = rng.normal(0, 0.02, (n, N_YEARS))
    values = level[:, None] * np.exp(growth[:, None] * (years - 2016)[None, :] + noise)
    values[rng.random((n, N_YEARS)) < 0.05] = np.nan  # 5 % of reports missing
    higher = np.repeat(rng.random(N_INDICATORS) < 0.5, N_REGIONS)
    goal = level * np.exp(np.where(higher, 1, -1) * rng.uniform(0.0, 0.3, n))
    bounds = Bounds(np.where(higher, goal, np.nan), np.where(higher, np.nan, goal))
    return years, values, bounds, np.where(higher, 1, -1)


def bench_status() -> float:
    years, values, bounds, direction = panel(np.random.default_rng(0))
    forecast(years, values[:10], 2027)  # compile the kernel (cached on disk)
    evaluate_status(
        years[:3],
        values[:10, :3],
        Bounds(bounds.low[:10], bounds.high[:10]),
        direction[:10],
        2020,
        2027,
    )  # warm-up
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        res = evaluate_status(years, values, bounds, direction, 2020, 2027)
        fc = forecast(years, values, 2027)
        p = fc.probability_within(bounds.low, bounds.high)
        best = min(best, time.perf_counter() - t0)
    assert len(res.schedule) == len(p) == N_REGIONS * N_INDICATORS
    return best


def bench_report(tmp: Path) -> dict[str, float]:
    from healthwatch.evaluate.early_warning import early_warnings
    from healthwatch.evaluate.plan import evaluate_values, plan_items
    from healthwatch.evaluate.projects import earned_value, project_register
    from healthwatch.plans import builtin_plans
    from healthwatch.plans.checks import check_plans
    from healthwatch.regions.hierarchy import all_regions, descendants
    from healthwatch.regions.population import builtin_city_populations
    from healthwatch.reports import ReportData, render

    liaoning, anshan = builtin_plans()
    cities = [r.adcode for r in descendants(liaoning.region) if r.level == "city"]
    regions = [liaoning.region, *cities]
    rng = np.random.default_rng(1)
    rows = []
    for item in plan_items(liaoning):
        start = float(item.target.value or item.target.low or 50.0) * rng.uniform(0.8, 1.0)
        for region in regions:
            lvl = start * rng.uniform(0.9, 1.1)
            g = rng.normal(0.01, 0.01)
            for y in range(2016, 2026):
                rows.append(
                    (item.code, region, y, lvl * np.exp(g * (y - 2016) + rng.normal(0, 0.01)))
                )
    values = pd.DataFrame(rows, columns=["indicator", "region", "year", "value"])
    pops = {r.adcode: r.persons for r in builtin_city_populations()}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ev = evaluate_values(liaoning, values, 2025, regions=regions, populations=pops)
    doc = {
        "plan": liaoning.id,
        "as_of": 2025,
        "kind": "final",
        "region": liaoning.region,
        "data_version": "sha256:benchmark",
        "data_source": "store",
        "results": ev.results,
        "warnings": early_warnings(ev.results, liaoning.region, pops),
        "inequality": ev.inequality,
        "projects": earned_value(
            project_register(anshan), None, datetime(2025, 12, 31).date()
        ).to_json(),
    }
    data = ReportData(
        plan=liaoning,
        doc=doc,
        findings=[f.to_json() for f in check_plans([liaoning]) if f.plan == liaoning.id],
        series=ev.series,
        region_names={c: r.name for c, r in all_regions().items()},
        sub_regions=regions,
        generated=datetime.now(UTC).isoformat(),
    )
    timings["evaluate"] = time.perf_counter() - t0
    for fmt in ("html", "xlsx", "pdf"):
        t1 = time.perf_counter()
        (tmp / f"liaoning.{fmt}").write_bytes(render(data, fmt, "zh"))
        timings[fmt] = time.perf_counter() - t1
    timings["total"] = time.perf_counter() - t0
    timings["results"] = float(len(ev.results))
    return timings


def main() -> int:
    import tempfile

    s = bench_status()
    n = N_REGIONS * N_INDICATORS
    print(
        f"status (3 methods) + forecast + P(meet): {N_REGIONS:,} regions x {N_INDICATORS} "
        f"indicators x {N_YEARS} years = {n:,} series"
    )
    print(
        f"  {s:.3f} s (target {STATUS_TARGET_S} s; {STATUS_TARGET_S / s:.1f}x faster than "
        f"the target), {n / s / 1e3:,.0f}k series/s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        r = bench_report(Path(tmp))
    print(f"full province report (Liaoning + 14 cities, {int(r['results'])} results):")
    print(
        f"  evaluate {r['evaluate']:.2f} s, html {r['html']:.2f} s, xlsx {r['xlsx']:.2f} s, "
        f"pdf {r['pdf']:.2f} s; total {r['total']:.2f} s (target {REPORT_TARGET_S} s; "
        f"{REPORT_TARGET_S / r['total']:.1f}x faster than the target)"
    )
    return 0 if s <= STATUS_TARGET_S and r["total"] <= REPORT_TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
