"""`healthwatch serve` as a real process: it migrates the database, listens, answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_answers_on_the_given_port(tmp_path: Path) -> None:
    db = tmp_path / "serve.sqlite"
    port = _free_port()
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
        assert db.exists()  # migrated and seeded before listening
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in out and "Traceback" not in out
