"""Benchmark: the early-warning platform's daily run, end to end, against the 10 s target.

    python benchmarks/warning_run.py [--sqlite-only] [--pg URL] [--years 5]
    python benchmarks/warning_run.py --national [--counties 3000] [--workers 1,2]

Liaoning scale (the target): 100 counties x 10 sources x 40 syndromes = 40,000 series with
5 years of daily history already stored. Timed, end to end: reading and validating the day's
feed file (40,000 rows, ``warning ingest``), storing it, reading every series' history from the
store, detection (CIDARS fixed threshold for the 9 single-case diseases, CIDARS moving
percentile with 3 years for the 21 other diseases, EARS C2 for the 10 syndromes), storing the
signals, fusion into alerts and storing them (``warning run``). Done on SQLite and on
PostgreSQL (a fresh database on 127.0.0.1:5432, dropped afterwards). Setting up the history is
not timed. Printed: seconds per step, the total and its ratio to the 10 s target.

National scale (``--national``): 3,000 counties x 400 = 1,200,000 series, detection only (no
store: a national database is not a single-machine benchmark) on a Dask LocalCluster with 1 and
then 2 worker processes, printing the seconds and the speed-up. To fit a 24 GB machine the
moving percentile diseases run with one year of history (``years=1``: 386 days) instead of
three; everything else as above.

Data are synthetic Poisson counts (seasonal, with county sizes), so the signal counts are
whatever such data give; the benchmark measures time, not detection quality.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from healthwatch.warning.catalogue import SOURCES, SYNDROMES
from healthwatch.warning.detection import DetectionConfig, SeriesGroup, detect_day_stats

TARGET_S = 10.0
PG_ADMIN = os.environ.get("HEALTHWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DAY = date(2025, 12, 31)


def bench_sources() -> list[str]:
    return [s for s in SOURCES if s != "station_screening"][:10]


#: sources where a case of a fixed-threshold disease is a case (a screening or laboratory
#: positive, a notified case); elsewhere the disease's counts are watched with EARS
CASE_SOURCES = frozenset({"notifiable", "laboratory", "port_screening", "station_screening"})


def config_for(syndrome: str, source: str, years: int = 3) -> DetectionConfig:
    """CIDARS as China runs it: the moving percentile method on notified cases (NNDRS) of the
    mpm diseases, the fixed threshold on cases of single-case diseases; EARS C2 elsewhere."""
    entry = SYNDROMES[syndrome]
    if entry.cidars == "fixed" and source in CASE_SOURCES:
        return DetectionConfig(syndrome, source, "cidars_fixed", {"threshold": 1})
    if entry.cidars == "mpm" and source == "notifiable":
        params: dict[str, float] = {"years": years}
        if entry.percentile is not None:
            params["percentile"] = entry.percentile
        return DetectionConfig(syndrome, source, "cidars_mpm", params)
    return DetectionConfig(
        syndrome, source, "ears_c2", {"alpha": 0.001, "baseline": 28, "min_sigma": 1.0}
    )


def means(n_regions: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    size = rng.lognormal(0, 0.4, n_regions)
    out = {}
    for code, s in SYNDROMES.items():
        base = 0.002 if s.cidars == "fixed" else (1.5 if s.kind == "disease" else 12.0)
        out[code] = base * size
    return out


def counts(days: int, mean: np.ndarray, start_doy: int, rng: np.random.Generator) -> np.ndarray:
    doy = (start_doy + np.arange(days)) % 365
    season = np.exp(0.2 * np.cos(2 * np.pi * (doy - 15) / 365))[:, None]
    return rng.poisson(mean[None, :] * season).astype(np.float64)


# -- Liaoning scale -------------------------------------------------------------------------------


def setup(db: str, years: int) -> tuple[Path, list[str]]:
    from healthwatch.services.database import load_builtin
    from healthwatch.services.warning import county_codes, set_config, write_history
    from healthwatch.store.db import session_scope
    from healthwatch.users import LOCAL_ADMIN

    rng = np.random.default_rng(1)
    history_days = 365 * years + 1
    start = DAY - timedelta(days=history_days)  # history ends the day before DAY
    t0 = time.perf_counter()
    with session_scope(db, actor="bench", create=True) as s:
        load_builtin(s)
        regions = county_codes(s)
        mu = means(len(regions), rng)
        for source in bench_sources():
            for syndrome in SYNDROMES:
                c = config_for(syndrome, source)
                set_config(s, syndrome, source, c.method, dict(c.params), actor=LOCAL_ADMIN)
                m = counts(history_days, mu[syndrome], start.timetuple().tm_yday, rng)
                write_history(s, source, syndrome, start, regions, m, actor=LOCAL_ADMIN)
    # the day's feed: one row per series
    lines = ["date,region,source,syndrome,count"]
    for source in bench_sources():
        for syndrome in SYNDROMES:
            values = rng.poisson(mu[syndrome])
            lines += [
                f"{DAY},{r},{source},{syndrome},{v}" for r, v in zip(regions, values, strict=False)
            ]
    feed = Path(tempfile.mkdtemp()) / "feed.csv"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(
        f"  set-up (not timed): {len(regions)} counties x {len(bench_sources())} sources x "
        f"{len(SYNDROMES)} syndromes = {len(regions) * len(bench_sources()) * len(SYNDROMES):,} "
        f"series, {history_days} days of history, {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    return feed, regions


def timed_run(db: str, feed: Path) -> dict[str, float]:
    from healthwatch.services.warning import ingest_file, run_day

    t0 = time.perf_counter()
    ingested = ingest_file(feed, db=db, today=DAY + timedelta(days=1))
    t1 = time.perf_counter()
    result = run_day(DAY, db=db, notify=False)
    t2 = time.perf_counter()
    print(
        f"  ingest {ingested['rows']:,} rows ({ingested['values_new']:,} new values): "
        f"{t1 - t0:.2f} s; run: {result['series']:,} series, {result['signals']} signals, "
        f"{result['alerts_new']} alerts: {t2 - t1:.2f} s\n    run steps (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in result["seconds"].items()),
        flush=True,
    )
    return {"ingest": t1 - t0, "run": t2 - t1, "total": t2 - t0}


def liaoning(backend: str, db: str, years: int) -> float:
    print(f"\n== Liaoning daily run on {backend} ==", flush=True)
    feed, _ = setup(db, years)
    times = timed_run(db, feed)
    print(
        f"  END TO END {times['total']:.2f} s (target {TARGET_S:.0f} s; ratio to target "
        f"{times['total'] / TARGET_S:.2f})",
        flush=True,
    )
    again = timed_run(db, feed)  # the same day again: idempotent, nothing new
    print(f"  re-run of the same day: {again['total']:.2f} s", flush=True)
    return times["total"]


def postgres_db(admin: str) -> tuple[str, str]:
    import psycopg

    name = f"hw_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", name


def drop_postgres(admin: str, name: str) -> None:
    import psycopg

    from healthwatch.store.db import dispose_engines

    dispose_engines()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- national scale -------------------------------------------------------------------------------


def national(n_counties: int, workers: list[int]) -> None:
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(2)
    regions = [f"{i:06d}" for i in range(n_counties)]
    mu = means(n_counties, rng)
    groups = []
    t0 = time.perf_counter()
    for source in bench_sources():
        for syndrome in SYNDROMES:
            c = config_for(syndrome, source, years=1)
            m = counts(c.history, mu[syndrome], 0, rng)
            groups.append(SeriesGroup(c, m, regions))
    n_series = n_counties * len(groups)
    print(
        f"\n== national detection: {n_counties:,} counties x {len(groups)} = {n_series:,} "
        f"series (data {time.perf_counter() - t0:.1f} s, not timed) ==",
        flush=True,
    )
    t0 = time.perf_counter()
    _, stats = detect_day_stats(groups, np.datetime64(DAY))
    local = time.perf_counter() - t0
    print(f"  local (no Dask): {local:.2f} s, {stats['signals']:,} signals", flush=True)
    base = None
    for n in workers:
        with (
            LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                memory_limit="8GB",
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            t0 = time.perf_counter()
            _, s2 = detect_day_stats(groups, np.datetime64(DAY), client=client)
            took = time.perf_counter() - t0
        assert s2 == stats, "the cluster must give the local result"
        base = base or took
        print(
            f"  Dask LocalCluster, {n} worker(s): {took:.2f} s, speed-up {base / took:.2f}x "
            f"vs 1 worker, {n_series / took:,.0f} series/s",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--national", action="store_true")
    parser.add_argument("--counties", type=int, default=3000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--pg", default=PG_ADMIN, help="admin URL of a PostgreSQL server")
    args = parser.parse_args()
    if args.national:
        national(args.counties, [int(w) for w in args.workers.split(",")])
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = liaoning("SQLite", str(Path(tmp) / "bench.sqlite"), args.years)
    if not args.sqlite_only:
        url, name = postgres_db(args.pg)
        try:
            results["PostgreSQL"] = liaoning("PostgreSQL", url, args.years)
        finally:
            drop_postgres(args.pg, name)
    print("\nSummary (end to end, target 10 s):")
    for backend, seconds in results.items():
        print(f"  {backend:<11} {seconds:6.2f} s  ratio to target {seconds / TARGET_S:.2f}")


if __name__ == "__main__":
    main()
