"""Benchmark: import 1,000,000 indicator values with full validation; aggregate one indicator.

    python benchmarks/data_import.py [--values 1000000] [--skip-postgres]

Targets (issue 9, on the 2-core development machine): the import of a CSV of 1,000,000 values
(read, every validation of docs/data.md, versioning, write) in <= 10 s into SQLite and into
PostgreSQL, peak memory <= 1 GB; aggregating one indicator for all 115 regions and 11 years
(the demo panel) in <= 100 ms. Each import runs in a fresh process on a fresh database, so its
peak resident memory (``ru_maxrss``) is that of the import alone (interpreter and libraries
included). PostgreSQL: a throw-away database on 127.0.0.1:5432 (user postgres), dropped after.

The wall-clock figures depend on what else runs: on a shared machine (load average above the
number of CPUs) they can be several times the idle figures, so the CPU time of the importing
process is printed too (for PostgreSQL the server's own work is not in it), and so are the
phases of the import (read and strip the file, load what the database knows, validate, plan the
new versions, write, commit), each as wall/CPU seconds. On PostgreSQL the write phase's wall
time includes the server storing the rows (binary COPY), which its CPU time does not.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PG_ADMIN = os.environ.get("HEALTHWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IMPORT_TARGET_S = 10.0
MEMORY_TARGET_MB = 1024.0
AGGREGATE_TARGET_MS = 100.0


def _one_import(db: str, path: str) -> None:
    """Child process: prepare the database (untimed), then time the import of ``path``."""
    from healthwatch.services.data import current_values, import_file
    from healthwatch.services.database import install_builtin
    from healthwatch.users import LOCAL_ADMIN

    install_builtin(db)  # create, migrate and load the built-in regions before the clock starts
    current_values(db, actor=LOCAL_ADMIN)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    start = time.perf_counter()
    result = import_file(path, actor=LOCAL_ADMIN, db=db)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_s": cpu,
                "inserted": result.inserted,
                "warnings": len(result.warnings),
                "peak_mb": usage.ru_maxrss / 1024,
                "phases": result.phases,
                "cpu_phases": result.cpu_phases,
            }
        )
    )


def _aggregate(db: str, repeats: int = 7) -> dict[str, float]:
    """Load the demo panel (untimed) and time aggregate() of one indicator, median of repeats."""
    from healthwatch.services.data import aggregate, load_demo_data
    from healthwatch.services.database import install_builtin
    from healthwatch.users import LOCAL_ADMIN

    install_builtin(db)
    load_demo_data(db, actor=LOCAL_ADMIN)
    times = []
    rows = []
    for _ in range(repeats):
        start = time.perf_counter()
        rows = aggregate("infant_mortality", db=db, actor=LOCAL_ADMIN)
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "median_ms": times[len(times) // 2] * 1000,
        "best_ms": times[0] * 1000,
        "rows": len(rows),
    }


def _run_child(db: str, path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", db, str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if out.returncode != 0:
        raise SystemExit(f"import failed on {db}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _postgres_db() -> tuple[str, str] | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            name = f"hw_bench_{secrets.token_hex(4)}"
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        print(f"PostgreSQL unreachable ({type(exc).__name__}); skipped")
        return None
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", name


def _drop_postgres(name: str) -> None:
    import psycopg

    from healthwatch.store.db import dispose_engines

    dispose_engines()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _report(backend: str, r: dict[str, Any], n: int) -> None:
    rate = n / r["seconds"]
    print(
        f"{backend:10s} import {n:,} values: {r['seconds']:.2f} s = {rate:,.0f} values/s "
        f"(target <= {IMPORT_TARGET_S:.0f} s: ratio {r['seconds'] / IMPORT_TARGET_S:.2f}); "
        f"CPU of the importing process {r['cpu_s']:.2f} s; "
        f"peak memory {r['peak_mb']:.0f} MB (target <= {MEMORY_TARGET_MB:.0f} MB: ratio "
        f"{r['peak_mb'] / MEMORY_TARGET_MB:.2f}); {int(r['warnings'])} warnings"
    )
    phases = ", ".join(
        f"{name} {wall:.2f}/{r['cpu_phases'].get(name, 0.0):.2f}"
        for name, wall in r["phases"].items()
    )
    print(f"{'':10s} phases, wall/CPU s: {phases}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("DB", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _one_import(*args.child)
        return
    from healthwatch.data.synthetic import bulk_frame

    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (figures scale with load)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "values.csv"
        frame = bulk_frame(args.values)
        frame.to_csv(path, index=False)
        n = len(frame)
        del frame
        print(
            f"file: {path.stat().st_size / 1e6:.0f} MB, {n:,} values "
            "(115 regions; monthly, quarterly and yearly periods)"
        )
        sqlite = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        _report("SQLite", _run_child(sqlite, path), n)
        agg = _aggregate(f"sqlite:///{Path(tmp) / 'panel.sqlite'}")
        print(
            f"SQLite     aggregate infant_mortality, 115 regions x 11 years ({agg['rows']} rows): "
            f"median {agg['median_ms']:.1f} ms, best {agg['best_ms']:.1f} ms (target <= "
            f"{AGGREGATE_TARGET_MS:.0f} ms: ratio {agg['median_ms'] / AGGREGATE_TARGET_MS:.2f})"
        )
        if args.skip_postgres:
            return
        pg = _postgres_db()
        if pg is None:
            return
        url, name = pg
        try:
            _report("PostgreSQL", _run_child(url, path), n)
        finally:
            _drop_postgres(name)
        pg = _postgres_db()
        if pg is None:
            return
        url, name = pg
        try:
            agg = _aggregate(url)
            print(
                f"PostgreSQL aggregate infant_mortality ({agg['rows']} rows): median "
                f"{agg['median_ms']:.1f} ms, best {agg['best_ms']:.1f} ms (ratio "
                f"{agg['median_ms'] / AGGREGATE_TARGET_MS:.2f})"
            )
        finally:
            _drop_postgres(name)


if __name__ == "__main__":
    main()
