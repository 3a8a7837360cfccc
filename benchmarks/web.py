"""Dashboard API latency under load: p95 <= 50 ms at 50 concurrent connections on loopback.

    python benchmarks/web.py [--db demo.sqlite] [--seconds 3] [--concurrency 50]
                             [--workers N] [--auth session|token] [--no-gzip]
                             [--client wrk|python] [--requests 1000]

Uses the demo database: ``--db`` names one made by ``healthwatch demo --no-serve``; without it
the benchmark runs that command into a temporary folder first. It adds a benchmark analyst,
starts the real ``healthwatch serve`` (uvicorn, ``--workers``) in a subprocess, logs in as a
browser does (session cookie; ``--auth token`` uses an API token instead), warms every endpoint
up, then for each dashboard endpoint keeps ``--concurrency`` keep-alive connections busy with
GET requests and prints the latency distribution, the error count and the ratio of p95 to the
50 ms target, and the server's CPU time per request (all its processes): that figure does not
depend on how busy the machine is.

The load generator is ``wrk`` (Debian package ``wrk``; ``--seconds`` per endpoint, one thread):
written in C, it needs a few microseconds of CPU per request, so on a small machine where it
shares the cores with the server it takes almost nothing from the server. Without wrk (or with
``--client python``) a minimal HTTP/1.1 client on asyncio streams sends ``--requests`` per
endpoint instead; it costs a few tenths of a millisecond of CPU per request, taken from the
same cores, so its figures are pessimistic (httpx would cost about 1 ms, as much as the
server's answer). The load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_MS = 50.0
USER, PASSWORD = "bench-analyst", "Bench#Liaoning-2025"
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
    "/api/v1/evaluation/liaoning-2021-2025/status",
    "/api/v1/evaluation/anshan-2021-2025/status?lang=en",
    "/api/v1/evaluation/liaoning-2021-2025/map?indicator=infant_mortality&year=2024",
    "/api/v1/evaluation/liaoning-2021-2025/indicators/infant_mortality",
    "/api/v1/evaluation/anshan-2021-2025/indicators/infant_mortality?region=210302&lang=en",
    "/api/v1/evaluation/liaoning-2021-2025/projects",
    "/api/v1/evaluations",
    "/api/v1/data/status?period=2025",
    "/api/v1/data/values?period=2024&region=210300",
    "/api/v1/data/aggregate?indicator=infant_mortality&period=2024",
    "/api/v1/data/completeness?period=2024&plan=liaoning-2021-2025",
    "/api/v1/data/history?region=210302&period=2024",
    "/api/v1/warning/alerts",
    "/api/v1/warning/alerts?status=open&level=orange%2B",
    "/api/v1/warning/alerts/{alert}",
    "/api/v1/warning/map",
    "/api/v1/warning/configs",
    "/api/v1/me",
]


def newest_alert(db: str) -> int | None:
    """The id of the newest alert of the demo (``{alert}`` in :data:`ENDPOINTS`), if any."""
    from sqlalchemy import func, select

    from healthwatch.store.db import dispose_engine, session_scope
    from healthwatch.store.warning_models import WarningAlert

    with session_scope(db) as s:
        found = s.execute(select(func.max(WarningAlert.id))).scalar()
    dispose_engine(db)
    return None if found is None else int(found)


def endpoints(db: str) -> list[str]:
    """:data:`ENDPOINTS` with the demo's alert id filled in (dropped when it has none)."""
    alert = newest_alert(db)
    return [
        path.replace("{alert}", str(alert))
        for path in ENDPOINTS
        if alert is not None or "{alert}" not in path
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def build_demo(folder: Path) -> str:
    """``healthwatch demo --no-serve`` into ``folder`` (the real command, as a user runs it)."""
    db = str(folder / "demo.sqlite")
    env = _env()
    subprocess.run(
        [sys.executable, "-m", "healthwatch", "demo", "--no-serve", "--json", "--db", db],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return db


def demo_copy(source: str | None, folder: Path) -> str:
    """A copy of the demo database ``source`` in ``folder`` (the benchmarks add a user and
    sessions, so they never work on the original), or a new one when none is given."""
    if source is None:
        print("building the demo database (healthwatch demo --no-serve) ...", flush=True)
        return build_demo(folder)
    db = str(folder / "demo.sqlite")
    shutil.copyfile(source, db)
    for suffix in ("-wal", "-shm"):
        if Path(source + suffix).exists():
            shutil.copyfile(source + suffix, db + suffix)
    return db


def add_bench_user(db: str) -> str:
    """The benchmark's analyst (kept if there) and a fresh API token for it."""
    from healthwatch.services.users import add_user, issue_token
    from healthwatch.store.db import dispose_engine, session_scope
    from healthwatch.store.user_models import User
    from healthwatch.users import LOCAL_ADMIN

    with session_scope(db) as s:
        if s.query(User).filter_by(username=USER).first() is None:
            add_user(s, LOCAL_ADMIN, USER, PASSWORD, "analyst", display_name="benchmark")
        token, _ = issue_token(s, LOCAL_ADMIN, USER, name="benchmark")
    dispose_engine(db)
    return token


def _env() -> dict[str, str]:
    """This checkout first on the path (and whatever $PYTHONPATH adds)."""
    paths = [str(REPO), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def start_server(db: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = _env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "healthwatch", "serve", "--port", str(port), "--db", db,
         "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                message = proc.stderr.read().decode() if proc.stderr else "server died"
                raise SystemExit(message) from None
            time.sleep(0.5)
    raise SystemExit("the server did not answer within 5 minutes")


def log_in(port: int) -> str:
    """POST /api/v1/session as the benchmark analyst; returns the Cookie header value."""
    body = json.dumps({"username": USER, "password": PASSWORD}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/session",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        cookie = r.headers["Set-Cookie"].split(";", 1)[0]
    return cookie


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants (Linux ``/proc``; 0 elsewhere).

    Printed per request, it is the server's cost independent of how busy the machine is.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    except (OSError, IndexError, ValueError):
        pass
    return total


def wait_until_idle(pid: int, quiet: float = 0.05, limit: float = 120.0) -> float:
    """Wait until the server's processes use under ``quiet`` of a core over half a second.

    Why: at start every worker warms its caches in a background thread (boundaries, access
    models, each plan's evaluation); requests timed meanwhile would measure that work. A
    deployed server does it once. Returns the seconds waited.
    """
    start = time.monotonic()
    while time.monotonic() - start < limit:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < quiet * 0.5:
            break
    return time.monotonic() - start


class Connection:
    """One keep-alive HTTP/1.1 connection: just enough of the protocol for GET and JSON."""

    def __init__(self, port: int, header: bytes) -> None:
        self.port = port
        self.header = header
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self, path: str) -> tuple[int, bytes]:
        await self.connect()
        assert self.reader is not None and self.writer is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\n".encode() + self.header)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        if "content-length" in fields:
            body = await self.reader.readexactly(int(fields["content-length"]))
        else:  # chunked
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(p[:-2] for p in parts)
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def load(
    port: int, header: bytes, path: str, n: int, concurrency: int
) -> tuple[np.ndarray, int, set[str], float]:
    """``n`` GETs of ``path`` over ``concurrency`` connections: latencies (ms), errors, kinds."""
    latencies: list[float] = []
    errors = 0
    kinds: set[str] = set()
    left = n

    async def worker(conn: Connection) -> None:
        nonlocal left, errors
        while left > 0:
            left -= 1
            start = time.perf_counter()
            try:
                status, body = await conn.get(path)
                if status != 200:
                    errors += 1
                    kinds.add(f"HTTP {status} {body[:120]!r}")
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors += 1
                kinds.add(type(exc).__name__)
                await conn.close()
            latencies.append((time.perf_counter() - start) * 1000)
        await conn.close()

    # the connections are open before the clock starts: the latencies are those of requests
    # on established keep-alive connections, not of 50 TCP handshakes at once
    conns = [Connection(port, header) for _ in range(concurrency)]
    await asyncio.gather(*(c.connect() for c in conns))
    began = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    return np.array(latencies), errors, kinds, time.perf_counter() - began


# wrk's report of one run, as one JSON line: latencies in microseconds, errors by kind
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "p50": %d, "p90": %d, "p95": %d, "p99": %d, ' ..
    '"max": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, e.connect, e.read, e.write,
    e.status, e.timeout))
end
"""


class Figures(NamedTuple):
    """One endpoint's run: requests, seconds, latency percentiles (ms), errors and their kinds."""

    requests: int
    seconds: float
    p50: float
    p90: float
    p95: float
    p99: float
    max: float
    errors: int
    kinds: list[str]


def run_wrk(
    port: int, headers: list[str], path: str, seconds: int, concurrency: int, script: Path
) -> Figures:
    """``wrk`` with ``concurrency`` connections on one thread for ``seconds`` against ``path``."""
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(script)]  # fmt: skip
    for header in headers:
        command += ["-H", header]
    command.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    kinds = [f"{kind} {report[kind]}" for kind in ("connect", "read", "write", "status",
             "timeout") if report[kind]]  # fmt: skip
    ms = {k: report[k] / 1000 for k in ("p50", "p90", "p95", "p99", "max")}
    errors = sum(report[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Figures(report["requests"], report["seconds"], **ms, errors=errors, kinds=kinds)


def request_head(port: int, headers: list[str]) -> bytes:
    """The header lines the asyncio client sends after its request line."""
    return "".join(f"{h}\r\n" for h in [f"Host: 127.0.0.1:{port}", *headers, ""]).encode()


def run_python(port: int, headers: list[str], path: str, n: int, concurrency: int) -> Figures:
    """The asyncio client: ``n`` requests over ``concurrency`` connections."""
    header = request_head(port, headers)
    # the load generator's own garbage collection would stall every connection at once and
    # be counted as the server's latency: none while timing
    gc.collect()
    gc.disable()
    try:
        lat, errors, kinds, took = asyncio.run(load(port, header, path, n, concurrency))
    finally:
        gc.enable()
    p50, p90, p95, p99 = np.percentile(lat, [50, 90, 95, 99])
    return Figures(len(lat), took, p50, p90, p95, p99, lat.max(), errors, sorted(kinds))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", help="a database made by `healthwatch demo --no-serve`")
    parser.add_argument(
        "--client", choices=("wrk", "python"), help="load generator (default: wrk if installed)"
    )
    parser.add_argument("--seconds", type=int, default=3, help="per endpoint (wrk)")
    parser.add_argument(
        "--requests", type=int, default=1000, help="requests per endpoint (python client)"
    )
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--workers", type=int, default=min(4, os.cpu_count() or 1), help="uvicorn workers"
    )
    parser.add_argument("--auth", choices=("session", "token"), default="session")
    parser.add_argument(
        "--no-gzip", action="store_true", help="do not send Accept-Encoding: gzip (browsers do)"
    )
    args = parser.parse_args()
    client = args.client or ("wrk" if shutil.which("wrk") else "python")
    if client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (or --client python)")
    if client == "python" and args.client is None:
        print("wrk not found (apt-get install wrk): using the asyncio client, whose CPU per "
              "request is taken from the server's cores (pessimistic figures)")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        db = demo_copy(args.db, Path(tmp))
        script = Path(tmp) / "report.lua"
        script.write_text(WRK_REPORT)
        token = add_bench_user(db)
        port = free_port()
        proc = start_server(db, port, args.workers)
        try:
            if args.auth == "session":
                headers = [f"Cookie: {log_in(port)}"]
            else:
                headers = [f"Authorization: Bearer {token}"]
            if not args.no_gzip:
                headers.append("Accept-Encoding: gzip")  # as browsers send
            header = request_head(port, headers)
            timed = endpoints(db)
            # warm-up: every worker's caches, boundaries, access models. Each worker keeps
            # its own answers, and the kernel hands a new connection to whichever worker
            # accepts first, so the warm-up opens as many connections as the timed run does
            for path in timed:
                if client == "wrk":
                    run_wrk(port, headers, path, 1, args.concurrency, script)
                else:
                    asyncio.run(load(port, header, path, 4 * args.concurrency, args.concurrency))
            settled = wait_until_idle(proc.pid)
            print(f"server start-up work (boundaries, access models, evaluations) done "
                  f"after {settled:.1f} s more; the figures are of served answers")  # fmt: skip
            load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
            print("server: uvicorn, asyncio event loop, httptools HTTP parser")
            amount = f"{args.seconds} s" if client == "wrk" else f"{args.requests} GET requests"
            print(f"healthwatch web API, {amount} per endpoint from {client}, "
                  f"{args.concurrency} concurrent keep-alive connections, {args.workers} "
                  f"worker(s), auth {args.auth}, gzip {not args.no_gzip}, loopback, "
                  f"{os.cpu_count()} CPUs, load average before: {load_avg}")  # fmt: skip
            print(f"{'endpoint':72s} {'req/s':>6s} {'p50':>7s} {'p90':>7s} {'p95':>7s} "
                  f"{'p99':>7s} {'max':>7s} {'err':>4s} {'cpu/req':>7s}  p95/50ms")  # fmt: skip
            worst, failed = 0.0, 0
            for path in timed:
                cpu = cpu_seconds(proc.pid)
                if client == "wrk":
                    f = run_wrk(port, headers, path, args.seconds, args.concurrency, script)
                else:
                    f = run_python(port, headers, path, args.requests, args.concurrency)
                cpu_ms = (cpu_seconds(proc.pid) - cpu) * 1000 / max(f.requests, 1)
                worst, failed = max(worst, f.p95), failed + f.errors
                rate, ratio = f.requests / f.seconds, f.p95 / TARGET_MS
                print(f"{path:72s} {rate:6.0f} {f.p50:7.1f} {f.p90:7.1f} {f.p95:7.1f} "
                      f"{f.p99:7.1f} {f.max:7.1f} {f.errors:4d} {cpu_ms:7.2f}  "
                      f"{ratio:5.2f}")  # fmt: skip
                for kind in f.kinds:
                    print(f"    error: {kind}")
            load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
            verdict = "met" if worst <= TARGET_MS and failed == 0 else "NOT met"
            print(f"worst p95 {worst:.1f} ms against the {TARGET_MS:.0f} ms target (ratio "
                  f"{worst / TARGET_MS:.2f}), {failed} errors: target {verdict}; load average "
                  f"after: {load_avg}")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
