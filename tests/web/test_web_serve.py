"""`healthwatch serve` as a real process: it refuses a missing database, else listens, answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def test_serve_refuses_a_missing_database_and_creates_none(tmp_path: Path) -> None:
    db = tmp_path / "missing.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = ["serve", "--port", str(free_port()), "--db", str(db)]
    done = subprocess.run(
        [sys.executable, "-m", "healthwatch", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "不存在" in done.stderr and "There is no database" in done.stderr
    assert not db.exists()


def test_serve_answers_on_the_given_port(tmp_path: Path) -> None:
    from healthwatch.services.database import install_builtin
    from healthwatch.store.db import dispose_engine

    db = tmp_path / "serve.sqlite"
    install_builtin(str(db))  # as `healthwatch demo` would, with less data
    dispose_engine(str(db))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "healthwatch", "serve", "--port", str(port), "--db", str(db)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=1) as r:
                    assert json.load(r)["status"] == "ok"
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()[0]
                time.sleep(0.5)
        else:
            raise AssertionError("the server did not answer within 2 minutes")
        with urllib.request.urlopen(f"{base}/login", timeout=10) as r:
            page = r.read().decode()
            assert "登录" in page and r.headers["X-Frame-Options"] == "DENY"
        try:
            urllib.request.urlopen(f"{base}/api/v1/plans", timeout=10)
            raise AssertionError("anonymous request was answered")
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read())
            assert exc.code == 401 and body["code"] == "not_authenticated"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in out and "Traceback" not in out


def _workers(pid: int) -> list[int]:
    """The worker processes of a `serve --workers N` parent (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


def _listening_sockets(port: int) -> int:
    """How many TCP sockets listen on ``port`` (IPv4, /proc/net/tcp)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1
        for line in lines
        if int(line.split()[1].split(":")[1], 16) == port and line.split()[3] == "0A"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing")
def test_serve_workers_each_listen_and_a_dead_worker_is_replaced(tmp_path: Path) -> None:
    """With --workers 2 each worker has its own listening socket on the port, so the kernel
    spreads connections over them; a worker that dies is started again; Ctrl-C stops all."""
    import signal

    from healthwatch.services.database import install_builtin
    from healthwatch.store.db import dispose_engine

    db = tmp_path / "serve.sqlite"
    install_builtin(str(db))
    dispose_engine(str(db))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = ["serve", "--port", str(port), "--db", str(db), "--workers", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "healthwatch", *command],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
                return bool(json.load(r)["status"] == "ok")
        except OSError:
            return False

    def wait(condition, what: str) -> None:
        for _ in range(480):
            if condition():
                return
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.25)
        raise AssertionError(f"{what} within 2 minutes")

    try:
        wait(lambda: len(_workers(proc.pid)) == 2 and _listening_sockets(port) == 2, "2 workers")
        wait(answers, "an answer")
        first, second = _workers(proc.pid)
        os.kill(first, signal.SIGKILL)
        wait(lambda: first not in _workers(proc.pid) and len(_workers(proc.pid)) == 2, "restart")
        assert second in _workers(proc.pid)
        wait(lambda: _listening_sockets(port) == 2 and all(answers() for _ in range(10)), "serve")
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, out
    assert "网页服务已停止 / web server stopped" in out and "Traceback" not in out
