"""Dashboard API latency under load: p95 <= 50 ms at 50 concurrent connections on loopback.

    python benchmarks/web.py [--requests 600] [--concurrency 50] [--workers 1]

Builds the demo database (``healthwatch.demo.run_demo``: regions, populations, both plans) in a
temporary folder, adds an analyst with an API token, starts the real ``healthwatch serve``
(uvicorn) in a subprocess, warms it up, then for each dashboard endpoint sends ``--requests``
GET requests over ``--concurrency`` keep-alive connections (httpx, asyncio) and prints the
latency distribution, the error count and the ratio of p95 to the 50 ms target. The load
generator shares the machine's cores with the server, so the figures are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_MS = 50.0
ENDPOINTS = [
    "/api/v1/plans",
    "/api/v1/plans/liaoning-2021-2025/overview",
    "/api/v1/plans/anshan-2021-2025/overview?lang=en",
    "/api/v1/findings",
    "/api/v1/regions?parent=210000",
    "/api/v1/regions/210000/map",
    "/api/v1/regions/210300/map",
    "/api/v1/access/ratios",
    "/api/v1/access/coverage",
    "/api/v1/me",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _prepare(db: str) -> str:
    from healthwatch.demo import run_demo
    from healthwatch.services.users import add_user, issue_token
    from healthwatch.store.db import session_scope
    from healthwatch.users import LOCAL_ADMIN

    run_demo(db)
    with session_scope(db) as s:
        add_user(s, LOCAL_ADMIN, "bench", "Liaoning#2025", "analyst")
        token, _ = issue_token(s, LOCAL_ADMIN, "bench", name="benchmark")
    return token


async def _load(
    base: str, path: str, token: str, n: int, concurrency: int
) -> tuple[np.ndarray, int]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors = 0
    kinds: set[str] = set()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers, timeout=60) as c:

        async def worker() -> None:
            nonlocal errors
            while True:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                start = time.perf_counter()
                try:
                    r = await c.get(path)
                    await r.aread()
                    ok = r.status_code == 200
                    if not ok:
                        kinds.add(f"HTTP {r.status_code} {r.text[:120]}")
                except httpx.HTTPError as exc:
                    ok = False
                    kinds.add(type(exc).__name__)
                latencies.append((time.perf_counter() - start) * 1000)
                errors += 0 if ok else 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return np.array(latencies), errors, kinds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=600, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.sqlite")
        token = _prepare(db)
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "healthwatch", "serve", "--port", str(port), "--db", db,
             "--workers", str(args.workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            for path in ENDPOINTS:  # warm-up: caches, boundaries, access models
                httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=300)
            print(f"healthwatch web API, {args.requests} GET requests per endpoint, "
                  f"{args.concurrency} concurrent connections, {args.workers} worker(s), "
                  f"loopback, {os.cpu_count()} CPUs")  # fmt: skip
            print(f"{'endpoint':50s} {'req/s':>7s} {'p50':>7s} {'p90':>7s} {'p95':>7s} "
                  f"{'p99':>7s} {'max':>7s} {'err':>4s}  p95/target")  # fmt: skip
            worst = 0.0
            for path in ENDPOINTS:
                start = time.perf_counter()
                lat, errors, kinds = asyncio.run(
                    _load(base, path, token, args.requests, args.concurrency)
                )
                rate = len(lat) / (time.perf_counter() - start)
                p50, p90, p95, p99 = np.percentile(lat, [50, 90, 95, 99])
                worst = max(worst, p95)
                print(f"{path:50s} {rate:7.0f} {p50:7.1f} {p90:7.1f} {p95:7.1f} {p99:7.1f} "
                      f"{lat.max():7.1f} {errors:4d}  {p95 / TARGET_MS:5.2f}")  # fmt: skip
                for kind in sorted(kinds):
                    print(f"    error: {kind}")
            print(f"worst p95 {worst:.1f} ms against the {TARGET_MS:.0f} ms target "
                  f"(ratio {worst / TARGET_MS:.2f}; <= 1 meets it)")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
